/*
 * args.c — the `run` command line.
 *
 * Hand-rolled rather than getopt_long: getopt keeps global state and prints
 * its own messages, and this parser must be callable many times from unit
 * tests and must say exactly which option is wrong. Accepts "--opt value" and
 * "--opt=value".
 */
#include "args.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int args_parse_size(const char *s, uint64_t *out, struct seam_err *e)
{
	static const char units[] = "KMGT";
	unsigned long long v;
	unsigned int shift = 0;
	const char *suffix;
	char *end;

	if (!s || !isdigit((unsigned char)s[0]))
		return err_set(e, EINVAL, "'%s' is not a size", s ? s : "");
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return err_set(e, EINVAL, "'%s' is not a size", s);
	suffix = *end ? strchr(units, toupper((unsigned char)*end)) : NULL;
	if (suffix) {
		shift = 10 * (unsigned int)(suffix - units + 1);
		end++;
	}
	if (shift && (strcmp(end, "iB") == 0 || strcmp(end, "B") == 0))
		end += strlen(end);
	if (*end)
		return err_set(e, EINVAL, "'%s' is not a size", s);
	if (shift && v > (~0ULL >> shift))
		return err_set(e, ERANGE, "size '%s' is too large", s);
	*out = (uint64_t)v << shift;
	return 0;
}

static int args_copy(char *dst, size_t cap, const char *opt, const char *v,
		     struct seam_err *e)
{
	size_t n = strlen(v);

	if (n == 0)
		return err_set(e, EINVAL, "%s: empty value", opt);
	if (n >= cap)
		return err_set(e, ENAMETOOLONG,
			       "%s: value too long (%zu bytes, at most %zu)",
			       opt, n, cap - 1);
	memcpy(dst, v, n + 1);
	return 0;
}

static int args_check_name(const char *name, struct seam_err *e)
{
	for (const char *p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("._-", *p))
			return err_set(e, EINVAL,
				       "--name: '%s' may only hold letters, "
				       "digits, '.', '_' and '-'",
				       name);
	return 0;
}

static int args_set_mem(struct vmx_config *cfg, const char *v,
			struct seam_err *e)
{
	uint64_t m;
	int r;

	r = args_parse_size(v, &m, NULL);
	if (r < 0)
		return err_set(e, -r,
			       "--mem: '%s' is not a size (like 256M "
			       "or 4G)",
			       v);
	if (m < VMX_MEM_MIN)
		return err_set(e, EINVAL,
			       "--mem: %s is too small (at least "
			       "%lluM)",
			       v, VMX_MEM_MIN >> 20);
	if (m > VMX_MEM_MAX)
		return err_set(e, EINVAL,
			       "--mem: %s is too large (at most "
			       "%lluM)",
			       v, VMX_MEM_MAX >> 20);
	if (m % VMX_MEM_ALIGN)
		return err_set(e, EINVAL, "--mem: %s is not a multiple of 2M",
			       v);
	cfg->mem_bytes = m;
	return 0;
}

static int args_set_vcpus(struct vmx_config *cfg, const char *v,
			  struct seam_err *e)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || *end || end == v || n < 1 || n > VMX_VCPUS_MAX)
		return err_set(e, EINVAL,
			       "--vcpus: '%s' is not a number "
			       "from 1 to %d",
			       v, VMX_VCPUS_MAX);
	cfg->vcpus = (unsigned int)n;
	return 0;
}

static int args_set_source(struct vmx_source *src, const char *opt,
			   const char *v, struct seam_err *e)
{
	if (!src)
		return err_set(e, EINVAL, "unknown option '%s'", opt);
	if (strcmp(opt, "--restore") == 0)
		return args_copy(src->restore, sizeof(src->restore), opt, v, e);
	if (strcmp(opt, "--incoming") == 0) {
		const char *colon = strrchr(v, ':');
		if (!colon || colon == v || !colon[1])
			return err_set(e, EINVAL,
				       "--incoming: '%s' is not ADDR:PORT", v);
		return args_copy(src->incoming, sizeof(src->incoming), opt, v,
				 e);
	}
	return args_copy(src->token, sizeof(src->token), opt, v, e);
}

static int args_set(struct vmx_config *cfg, struct vmx_source *src,
		    const char *opt, const char *v, struct seam_err *e)
{
	if (strcmp(opt, "--name") == 0) {
		int r = args_copy(cfg->name, sizeof(cfg->name), opt, v, e);
		return r < 0 ? r : args_check_name(cfg->name, e);
	}
	if (strcmp(opt, "--kernel") == 0)
		return args_copy(cfg->kernel, sizeof(cfg->kernel), opt, v, e);
	if (strcmp(opt, "--cmdline") == 0) {
		if (strlen(v) >= sizeof(cfg->cmdline))
			return err_set(e, E2BIG,
				       "--cmdline: longer than %zu "
				       "bytes",
				       sizeof(cfg->cmdline) - 1);
		memcpy(cfg->cmdline, v, strlen(v) + 1);
		return 0;
	}
	if (strcmp(opt, "--mem") == 0)
		return args_set_mem(cfg, v, e);
	if (strcmp(opt, "--vcpus") == 0)
		return args_set_vcpus(cfg, v, e);
	if (strcmp(opt, "--serial-log") == 0)
		return args_copy(cfg->serial_log, sizeof(cfg->serial_log), opt,
				 v, e);
	if (strcmp(opt, "--control") == 0)
		return args_copy(cfg->control, sizeof(cfg->control), opt, v, e);
	if (strcmp(opt, "--restore") == 0 || strcmp(opt, "--incoming") == 0 ||
	    strcmp(opt, "--token") == 0)
		return args_set_source(src, opt, v, e);
	return err_set(e, EINVAL, "unknown option '%s'", opt);
}

static const char *const args_required[] = {"--name", "--kernel",
					    "--serial-log", "--control"};

static int args_known(const char *opt)
{
	static const char *const known[] = {
	    "--name",	    "--kernel",	 "--cmdline", "--mem",	    "--vcpus",
	    "--serial-log", "--control", "--restore", "--incoming", "--token"};

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(opt, known[i]) == 0)
			return 1;
	return 0;
}

static int args_check_source(const struct vmx_source *src, struct seam_err *e)
{
	if (src->restore[0] && (src->incoming[0] || src->token[0]))
		return err_set(e, EINVAL,
			       "--restore cannot go with --incoming or "
			       "--token");
	if (src->incoming[0] && !src->token[0])
		return err_set(e, EINVAL, "--incoming needs --token");
	if (src->token[0] && !src->incoming[0])
		return err_set(e, EINVAL, "--token goes with --incoming");
	return 0;
}

static int args_check_required(const struct vmx_config *cfg,
			       const struct vmx_source *src, struct seam_err *e)
{
	const char *vals[] = {cfg->name, cfg->kernel, cfg->serial_log,
			      cfg->control};

	if (src && src->restore[0])
		return 0; /* the snapshot has them all */
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
		if (!vals[i][0] && !(i == 1 && src && src->incoming[0]))
			return err_set(e, EINVAL, "missing option %s",
				       args_required[i]);
	return 0;
}

int args_parse_run(int argc, char **argv, struct vmx_config *cfg,
		   struct seam_err *e)
{
	return args_parse_run_source(argc, argv, cfg, NULL, e);
}

int args_parse_run_source(int argc, char **argv, struct vmx_config *cfg,
			  struct vmx_source *src, struct seam_err *e)
{
	int r;

	memset(cfg, 0, sizeof(*cfg));
	if (src)
		memset(src, 0, sizeof(*src));
	cfg->mem_bytes = 256ULL << 20;
	cfg->vcpus = 1;
	for (int i = 0; i < argc; i++) {
		char opt[32];
		const char *v, *eq;

		if (strncmp(argv[i], "--", 2) != 0)
			return err_set(e, EINVAL, "unexpected argument '%s'",
				       argv[i]);
		eq = strchr(argv[i], '=');
		if (eq) {
			size_t n = (size_t)(eq - argv[i]);
			if (n >= sizeof(opt))
				return err_set(e, EINVAL, "unknown option '%s'",
					       argv[i]);
			memcpy(opt, argv[i], n);
			opt[n] = '\0';
			v = eq + 1;
		} else {
			if (strlen(argv[i]) >= sizeof(opt))
				return err_set(e, EINVAL, "unknown option '%s'",
					       argv[i]);
			strcpy(opt, argv[i]);
			if (!args_known(opt))
				return err_set(e, EINVAL, "unknown option '%s'",
					       opt);
			if (i + 1 >= argc)
				return err_set(e, EINVAL,
					       "option %s needs a value", opt);
			v = argv[++i];
		}
		r = args_set(cfg, src, opt, v, e);
		if (r < 0)
			return r;
	}
	r = src ? args_check_source(src, e) : 0;
	return r < 0 ? r : args_check_required(cfg, src, e);
}
