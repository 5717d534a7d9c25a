/*
 * fmt.c — see fmt.h. One pass over the format; numbers are converted
 * backwards into a small scratch buffer, then padded and copied.
 */
#include "fmt.h"

#include <stdint.h>

struct fmt_out {
	char *buf;
	size_t size;
	size_t len;
};

static void fmt_put(struct fmt_out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len++] = c;
}

static void fmt_num(struct fmt_out *o, uint64_t v, int neg, unsigned int base,
		    unsigned int width, char pad)
{
	static const char digits[] = "0123456789abcdef";
	char tmp[24];
	unsigned int n = 0;

	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v);
	if (neg && pad == '0')
		fmt_put(o, '-');
	while (width > n + (neg ? 1u : 0u)) {
		fmt_put(o, pad);
		width--;
	}
	if (neg && pad != '0')
		fmt_put(o, '-');
	while (n)
		fmt_put(o, tmp[--n]);
}

static void fmt_str(struct fmt_out *o, const char *s, unsigned int width)
{
	unsigned int n = 0;

	if (!s)
		s = "(null)";
	while (s[n])
		n++;
	while (width-- > n)
		fmt_put(o, ' ');
	while (*s)
		fmt_put(o, *s++);
}

/* Fetch an integer argument of the given size (0 int, 1 long, 2 long long). */
static uint64_t fmt_arg(va_list *ap, int lng, int is_signed, int *neg)
{
	int64_t s;

	*neg = 0;
	if (!is_signed) {
		if (lng == 2)
			return va_arg(*ap, unsigned long long);
		if (lng == 1)
			return va_arg(*ap, unsigned long);
		return va_arg(*ap, unsigned int);
	}
	if (lng == 2)
		s = va_arg(*ap, long long);
	else if (lng == 1)
		s = va_arg(*ap, long);
	else
		s = va_arg(*ap, int);
	if (s < 0) {
		*neg = 1;
		return (uint64_t)0 - (uint64_t)s;
	}
	return (uint64_t)s;
}

size_t fmt_vbuf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct fmt_out o = {buf, size, 0};
	va_list aq;

	va_copy(aq, ap);
	for (; *fmt; fmt++) {
		unsigned int width = 0;
		char pad = ' ';
		int lng = 0, neg;
		uint64_t v;

		if (*fmt != '%') {
			fmt_put(&o, *fmt);
			continue;
		}
		fmt++;
		if (*fmt == '0') {
			pad = '0';
			fmt++;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (unsigned int)(*fmt++ - '0');
		while (*fmt == 'l' || *fmt == 'z') {
			lng = *fmt == 'z' ? 1 : lng + 1;
			fmt++;
		}
		switch (*fmt) {
		case 'd':
		case 'i':
			v = fmt_arg(&aq, lng, 1, &neg);
			fmt_num(&o, v, neg, 10, width, pad);
			break;
		case 'u':
		case 'x':
			v = fmt_arg(&aq, lng, 0, &neg);
			fmt_num(&o, v, 0, *fmt == 'x' ? 16 : 10, width, pad);
			break;
		case 's':
			fmt_str(&o, va_arg(aq, const char *), width);
			break;
		case 'c':
			fmt_put(&o, (char)va_arg(aq, int));
			break;
		case '%':
			fmt_put(&o, '%');
			break;
		case '\0':
			fmt--;
			break;
		default:
			fmt_put(&o, '%');
			fmt_put(&o, *fmt);
			break;
		}
	}
	va_end(aq);
	if (size)
		buf[o.len] = '\0';
	return o.len;
}

size_t fmt_buf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	n = fmt_vbuf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
