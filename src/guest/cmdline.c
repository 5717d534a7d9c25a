/*
 * cmdline.c — see cmdline.h. A table maps each key to its field, so adding
 * an option is one line; words are scanned in place, nothing is copied
 * except the offending word of an error.
 */
#include "cmdline.h"

struct cmdline_key {
	const char *name;
	size_t offset;
};

#define OPT(f) offsetof(struct guest_opts, f)
static const struct cmdline_key cmdline_keys[] = {
    {"heartbeat", OPT(heartbeat_ms)},
    {"verify", OPT(verify_mb)},
    {"dirty", OPT(dirty_mbps)},
    {"dirty_mb", OPT(dirty_mb)},
    {"shutdown", OPT(shutdown_ms)},
    {"triple_fault", OPT(triple_fault_ms)},
    {"panic", OPT(panic_ms)},
    {"fault", OPT(fault_ms)},
    {"hz", OPT(hz)},
};

static int cmdline_is_sep(char c)
{
	return c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void cmdline_copy(char *dst, size_t size, const char *src, size_t len)
{
	size_t i;

	if (!size)
		return;
	for (i = 0; i < len && i + 1 < size; i++)
		dst[i] = src[i];
	dst[i] = '\0';
}

/* A decimal number in [1, 2^31 - 1] filling s[0..len); -1 otherwise. */
static int64_t cmdline_number(const char *s, size_t len)
{
	int64_t v = 0;
	size_t i;

	if (len == 0)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
		if (v > 0x7FFFFFFF)
			return -1;
	}
	return v ? v : -1;
}

static const struct cmdline_key *cmdline_find(const char *s, size_t len)
{
	size_t i, j;

	for (i = 0; i < sizeof(cmdline_keys) / sizeof(cmdline_keys[0]); i++) {
		const char *n = cmdline_keys[i].name;

		for (j = 0; j < len && n[j] == s[j]; j++)
			;
		if (j == len && n[j] == '\0')
			return &cmdline_keys[i];
	}
	return NULL;
}

static int cmdline_word(const char *w, size_t len, struct guest_opts *o)
{
	const struct cmdline_key *k;
	size_t eq;
	int64_t v;

	for (eq = 0; eq < len && w[eq] != '='; eq++)
		;
	k = cmdline_find(w, eq);
	if (!k || eq == len)
		return CMDLINE_UNKNOWN;
	v = cmdline_number(w + eq + 1, len - eq - 1);
	if (v < 0)
		return CMDLINE_BAD_VALUE;
	*(uint32_t *)((char *)o + k->offset) = (uint32_t)v;
	return CMDLINE_OK;
}

int cmdline_parse(const char *s, struct guest_opts *o, char *bad,
		  size_t bad_size)
{
	static const struct guest_opts zero;

	*o = zero;
	cmdline_copy(bad, bad_size, "", 0);
	while (s && *s) {
		size_t len = 0;
		int r;

		if (cmdline_is_sep(*s)) {
			s++;
			continue;
		}
		while (s[len] && !cmdline_is_sep(s[len]))
			len++;
		r = cmdline_word(s, len, o);
		if (r != CMDLINE_OK) {
			cmdline_copy(bad, bad_size, s, len);
			return r;
		}
		s += len;
	}
	return CMDLINE_OK;
}
