/*
 * args.c — see args.h. Options are looked up by name in the given tables,
 * first table first, so a command may not redefine a global option.
 */
#include "args.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct ctl_opt *args_find(const struct ctl_opt *const *tabs,
				       int ntabs, const char *name,
				       size_t namelen, char shortc)
{
	const struct ctl_opt *o;
	int t;

	for (t = 0; t < ntabs; t++)
		for (o = tabs[t]; o && o->name; o++)
			if (shortc ? o->shortc == shortc
				   : strlen(o->name) == namelen &&
					 !strncmp(o->name, name, namelen))
				return o;
	return NULL;
}

static int args_add(struct ctl_args *out, const struct ctl_opt *o,
		    const char *val, char *err, size_t errlen)
{
	if (out->nopt >= CTL_MAX_OPTS) {
		snprintf(err, errlen, "too many options");
		return -1;
	}
	out->opts[out->nopt].opt = o;
	out->opts[out->nopt].val = val;
	out->nopt++;
	return 0;
}

int ctl_args_parse(const struct ctl_opt *const *tabs, int ntabs, int argc,
		   char **argv, struct ctl_args *out, char *err, size_t errlen)
{
	bool only_pos = false;
	int i;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < argc; i++) {
		const char *w = argv[i], *val = NULL, *eq;
		const struct ctl_opt *o;

		if (only_pos || w[0] != '-' || !w[1]) {
			if (out->npos >= CTL_MAX_POS) {
				snprintf(err, errlen, "too many arguments");
				return -1;
			}
			out->pos[out->npos++] = w;
			continue;
		}
		if (!strcmp(w, "--")) {
			only_pos = true;
			continue;
		}
		if (w[1] == '-') {
			eq = strchr(w + 2, '=');
			o = args_find(tabs, ntabs, w + 2,
				      eq ? (size_t)(eq - w - 2) : strlen(w + 2),
				      0);
			if (eq)
				val = eq + 1;
		} else {
			if (w[2]) {
				snprintf(err, errlen, "unknown option '%s'", w);
				return -1;
			}
			o = args_find(tabs, ntabs, NULL, 0, w[1]);
		}
		if (!o) {
			snprintf(err, errlen, "unknown option '%.*s'",
				 (int)(strchr(w, '=') ? strchr(w, '=') - w
						      : (long)strlen(w)),
				 w);
			return -1;
		}
		if (!o->arg && val) {
			snprintf(err, errlen, "option '--%s' takes no value",
				 o->name);
			return -1;
		}
		if (o->arg && !val) {
			if (i + 1 >= argc) {
				snprintf(err, errlen,
					 "option '--%s' needs a value (%s)",
					 o->name, o->arg);
				return -1;
			}
			val = argv[++i];
		}
		if (args_add(out, o, val ? val : "", err, errlen) < 0)
			return -1;
	}
	return 0;
}

const char *ctl_arg_nth(const struct ctl_args *a, const char *name, int n)
{
	int i, k = 0;

	for (i = 0; i < a->nopt; i++)
		if (!strcmp(a->opts[i].opt->name, name) && k++ == n)
			return a->opts[i].val;
	return NULL;
}

const char *ctl_arg(const struct ctl_args *a, const char *name)
{
	const char *v = NULL;
	int i;

	for (i = 0; i < a->nopt; i++)
		if (!strcmp(a->opts[i].opt->name, name))
			v = a->opts[i].val;
	return v;
}

bool ctl_arg_has(const struct ctl_args *a, const char *name)
{
	return ctl_arg(a, name) != NULL;
}

/* The typed JSON value of a settings word's right-hand side. */
static json_t *args_value(const char *v)
{
	json_error_t je;
	char *end;
	long long n;

	if (!v[0] || !strcmp(v, "null"))
		return json_null();
	if (!strcmp(v, "true"))
		return json_true();
	if (!strcmp(v, "false"))
		return json_false();
	n = strtoll(v, &end, 10);
	if (!*end && (v[0] == '-' || (v[0] >= '0' && v[0] <= '9')))
		return json_integer(n);
	if (v[0] == '[' || v[0] == '{' || v[0] == '"')
		return json_loads(v, JSON_DECODE_ANY, &je);
	return json_string(v);
}

int ctl_args_kv(const char *word, json_t *obj, char *err, size_t errlen)
{
	const char *eq = strchr(word, '='), *k = word, *dot;
	json_t *at = obj, *v;
	char key[128];

	if (!eq || eq == word) {
		snprintf(err, errlen, "'%s' is not key=value", word);
		return -1;
	}
	v = args_value(eq + 1);
	if (!v) {
		snprintf(err, errlen, "'%s': the value is not valid JSON",
			 word);
		return -1;
	}
	/* The key is checked whole first: a bad word changes nothing. */
	for (dot = word; dot <= eq; dot++)
		if ((*dot == '.' || dot == eq) &&
		    (dot == word || dot[-1] == '.')) {
			json_decref(v);
			snprintf(err, errlen, "bad key in '%s'", word);
			return -1;
		}
	while ((dot = memchr(k, '.', (size_t)(eq - k)))) {
		json_t *next;

		if (dot == k || (size_t)(dot - k) >= sizeof(key)) {
			json_decref(v);
			snprintf(err, errlen, "bad key in '%s'", word);
			return -1;
		}
		snprintf(key, sizeof(key), "%.*s", (int)(dot - k), k);
		next = json_object_get(at, key);
		if (!json_is_object(next)) {
			next = json_object();
			json_object_set_new(at, key, next);
		}
		at = next;
		k = dot + 1;
	}
	if (k == eq || (size_t)(eq - k) >= sizeof(key)) {
		json_decref(v);
		snprintf(err, errlen, "bad key in '%s'", word);
		return -1;
	}
	snprintf(key, sizeof(key), "%.*s", (int)(eq - k), k);
	json_object_set_new(at, key, v);
	return 0;
}
