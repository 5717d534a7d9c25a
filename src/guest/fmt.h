/*
 * fmt.h — a tiny printf into a caller's buffer.
 *
 * The guest has no libc. fmt_buf() knows what the guest prints: %d %u %x
 * with the l, ll and z length modifiers, a zero-pad flag and a width, %s,
 * %c and %%. It always NUL-terminates, truncates rather than overflows, and
 * returns the length written (not the length it would have needed). Pure
 * C: the unit tests build it for the host.
 */
#ifndef GUEST_FMT_H
#define GUEST_FMT_H

#include <stdarg.h>
#include <stddef.h>

size_t fmt_vbuf(char *buf, size_t size, const char *fmt, va_list ap);
size_t fmt_buf(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
