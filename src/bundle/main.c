/*
 * seam-bundle — make, sign, inspect and verify Seam bundles.
 *
 *   seam-bundle keygen --out DIR [--name NAME]
 *   seam-bundle build --manifest M.json --payload FILE... --out B.zip
 *   seam-bundle build --recipe R.json [--programs DIR] [--scripts DIR]
 *                     --out B.zip
 *   seam-bundle sign --key KEY.sec B.zip
 *   seam-bundle inspect [--json] B.zip
 *   seam-bundle verify [--trust DIR] [--accept-community] B.zip
 *   seam-bundle extract [--trust DIR] [--accept-community] --digest HEX
 *                       --out FILE B.zip
 *
 * One function per subcommand, each a thin shell over libseam_bundle: the
 * library does every check, so hostd and center refuse exactly what this tool
 * refuses. Exit status: 0 success, 1 the bundle or an input was refused,
 * 2 usage. The trust store is --trust, else $SEAM_TRUST_DIR, else — when the
 * tool runs from a build tree — the bundles/trust directory `make bundles`
 * made beside it, else /etc/seam/trust.
 */
#include "bundle.h"
#include "payload.h"
#include "recipe.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EXIT_REFUSED 1
#define EXIT_USAGE 2
#define SYSTEM_TRUST_DIR "/etc/seam/trust"

static const char usage_text[] =
    "usage: seam-bundle keygen --out DIR [--name NAME]\n"
    "       seam-bundle build --manifest M.json --payload FILE... "
    "--out B.zip\n"
    "       seam-bundle build --recipe R.json [--programs DIR] "
    "[--scripts DIR] --out B.zip\n"
    "       seam-bundle sign --key KEY.sec B.zip\n"
    "       seam-bundle inspect [--json] B.zip\n"
    "       seam-bundle verify [--trust DIR] [--accept-community] B.zip\n"
    "       seam-bundle extract [--trust DIR] [--accept-community] "
    "--digest HEX --out FILE B.zip\n";

static int usage(void)
{
	fputs(usage_text, stderr);
	return EXIT_USAGE;
}

static int fail(const char *cmd, const struct seam_err *e)
{
	fprintf(stderr, "seam-bundle %s: %s\n", cmd, e->msg);
	return EXIT_REFUSED;
}

/* The trust store to use when --trust is not given. */
static const char *default_trust_dir(void)
{
	static char dir[PATH_MAX];
	char exe[PATH_MAX];
	struct stat st;
	ssize_t n;

	if (getenv("SEAM_TRUST_DIR"))
		return getenv("SEAM_TRUST_DIR");
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		snprintf(dir, sizeof(dir), "%s/bundles/trust", dirname(exe));
		if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
			return dir;
	}
	return SYSTEM_TRUST_DIR;
}

static int cmd_keygen(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"out", required_argument, NULL, 'o'},
	    {"name", required_argument, NULL, 'n'},
	    {NULL, 0, NULL, 0}};
	const char *out = NULL, *name = "key";
	unsigned char key[BUNDLE_KEY_LEN];
	char id[BUNDLE_KEY_ID_HEX], path[PATH_MAX];
	struct seam_err e;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'o')
			out = optarg;
		else if (c == 'n')
			name = optarg;
		else
			return usage();
	}
	if (!out || optind != argc || strchr(name, '/'))
		return usage();
	if (mkdir(out, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "seam-bundle keygen: %s: %s\n", out,
			strerror(errno));
		return EXIT_REFUSED;
	}
	if (bundle_key_generate(out, name, &e) < 0)
		return fail("keygen", &e);
	snprintf(path, sizeof(path), "%s/%s.pub", out, name);
	if (bundle_key_load_public(path, key, &e) < 0)
		return fail("keygen", &e);
	bundle_key_id(key, id);
	printf("key %s: %s/%s.pub, %s/%s.sec\n", id, out, name, out, name);
	return 0;
}

static char *read_text_file(const char *path, struct seam_err *e)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = fopen(path, "re");

	if (!f) {
		err_sys(e, "%s", path);
		return NULL;
	}
	buf = malloc(BUNDLE_MAX_MANIFEST + 1);
	if (buf)
		len = fread(buf, 1, BUNDLE_MAX_MANIFEST + 1, f);
	fclose(f);
	if (!buf) {
		err_set(e, ENOMEM, "out of memory");
		return NULL;
	}
	if (len > BUNDLE_MAX_MANIFEST) {
		free(buf);
		err_set(e, EFBIG, "%s: oversized: more than %u bytes", path,
			BUNDLE_MAX_MANIFEST);
		return NULL;
	}
	buf[len] = '\0';
	return buf;
}

static int build_from_manifest(const char *manifest, const char **payloads,
			       size_t n, const char *out)
{
	struct seam_err e;
	char *text;
	int rc;

	text = read_text_file(manifest, &e);
	if (!text)
		return fail("build", &e);
	rc = bundle_build(text, payloads, n, out, &e);
	free(text);
	return rc < 0 ? fail("build", &e) : 0;
}

static int cmd_build(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"manifest", required_argument, NULL, 'm'},
	    {"payload", required_argument, NULL, 'p'},
	    {"recipe", required_argument, NULL, 'r'},
	    {"programs", required_argument, NULL, 'P'},
	    {"scripts", required_argument, NULL, 'S'},
	    {"out", required_argument, NULL, 'o'},
	    {NULL, 0, NULL, 0}};
	const char *manifest = NULL, *recipe = NULL, *out = NULL;
	const char *programs = "build", *scripts = NULL;
	const char **payloads;
	char sdir[PATH_MAX], rtmp[PATH_MAX];
	struct seam_err e;
	size_t n = 0;
	int c, rc;

	payloads = calloc((size_t)argc + 1, sizeof(char *));
	if (!payloads)
		return EXIT_REFUSED;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			manifest = optarg;
			break;
		case 'p':
			payloads[n++] = optarg;
			break;
		case 'r':
			recipe = optarg;
			break;
		case 'P':
			programs = optarg;
			break;
		case 'S':
			scripts = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		default:
			free(payloads);
			return usage();
		}
	}
	while (optind < argc) /* --payload A B C */
		payloads[n++] = argv[optind++];
	if (!out || (!manifest == !recipe) || (recipe && n)) {
		free(payloads);
		return usage();
	}
	if (manifest) {
		rc = build_from_manifest(manifest, payloads, n, out);
	} else {
		if (!scripts) { /* default: scripts/ beside the recipe */
			snprintf(rtmp, sizeof(rtmp), "%s", recipe);
			snprintf(sdir, sizeof(sdir), "%s/scripts",
				 dirname(rtmp));
			scripts = sdir;
		}
		rc = recipe_build(recipe, programs, scripts, out, &e) < 0
			 ? fail("build", &e)
			 : 0;
	}
	free(payloads);
	if (rc == 0)
		printf("built %s (unsigned)\n", out);
	return rc;
}

static int cmd_sign(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"key", required_argument, NULL, 'k'}, {NULL, 0, NULL, 0}};
	unsigned char secret[BUNDLE_SECRET_LEN], pub[BUNDLE_KEY_LEN];
	char id[BUNDLE_KEY_ID_HEX];
	const char *key = NULL;
	struct seam_err e;
	int c, rc;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'k')
			return usage();
		key = optarg;
	}
	if (!key || optind != argc - 1)
		return usage();
	if (bundle_key_load_secret(key, secret, &e) < 0)
		return fail("sign", &e);
	memcpy(pub, secret + 32, sizeof(pub)); /* libsodium: seed || pk */
	bundle_key_id(pub, id);
	rc = bundle_sign(argv[optind], secret, &e);
	memset(secret, 0, sizeof(secret));
	if (rc < 0)
		return fail("sign", &e);
	printf("signed %s with key %s\n", argv[optind], id);
	return 0;
}

static void print_versions(const char *label, const struct seam_version *v,
			   size_t n)
{
	char buf[VERSION_TEXT_MAX];
	size_t i;

	printf("%s", label);
	for (i = 0; i < n; i++)
		printf("%s%s", i ? ", " : " ", VERSION_STR(&v[i], buf));
	printf("\n");
}

static void print_refs(const struct bundle_ref *r, size_t n)
{
	char buf[VERSION_TEXT_MAX];
	size_t i;

	for (i = 0; i < n; i++)
		printf("%s%s %s", i ? ", " : "", r[i].r_name,
		       VERSION_STR(&r[i].r_version, buf));
	printf("\n");
}

static void print_component(const struct bundle_component *c)
{
	char buf[VERSION_TEXT_MAX];
	size_t i;

	printf("component %s %s  [%s]\n", c->c_name,
	       VERSION_STR(&c->c_version, buf), bundle_level_name(c->c_level));
	printf("    payload   %s  %llu bytes\n", c->c_digest,
	       (unsigned long long)c->c_size);
	printf("    scripts  ");
	for (i = 0; i < c->c_nscripts; i++)
		printf(" %s", c->c_scripts[i]);
	printf("%s\n", c->c_nscripts ? "" : " (none)");
	if (c->c_live_patchable)
		print_versions(c->c_fsr_required
				   ? "    live patch (FSR of running VMs) from"
				   : "    live patch (no FSR) from",
			       c->c_live_patch_from, c->c_nlive_patch_from);
	else
		printf("    live patch: never\n");
}

static void inspect_human(const struct bundle *b)
{
	const struct bundle_manifest *m = &b->b_manifest;
	char buf[VERSION_TEXT_MAX];
	size_t i;

	printf("bundle %s\n", b->b_path);
	printf("name      %s\n", m->m_name ? m->m_name : "(none)");
	printf("format    %d\n", m->m_format);
	if (b->b_signer.s_signed)
		printf("signature valid, key %s (trust not checked: use "
		       "verify)\n",
		       b->b_signer.s_key_id);
	else
		printf("signature none (unsigned: community level at most)\n");
	for (i = 0; i < m->m_nbase_images; i++) {
		const struct bundle_base_image *bi = &m->m_base_images[i];
		printf("base image %s: ", VERSION_STR(&bi->bi_version, buf));
		print_refs(bi->bi_components, bi->bi_ncomponents);
		if (bi->bi_live_patchable)
			print_versions("    live patch from",
				       bi->bi_live_patch_from,
				       bi->bi_nlive_patch_from);
		else
			printf("    live patch: never\n");
	}
	for (i = 0; i < m->m_naddons; i++) {
		const struct bundle_addon *a = &m->m_addons[i];
		printf("add-on %s %s: ", a->a_name,
		       VERSION_STR(&a->a_version, buf));
		print_refs(a->a_components, a->a_ncomponents);
		print_versions("    for base images", a->a_base_versions,
			       a->a_nbase_versions);
	}
	for (i = 0; i < m->m_ncomponents; i++)
		print_component(&m->m_components[i]);
}

static int inspect_json(const struct bundle *b)
{
	json_t *doc, *manifest;
	json_error_t jerr;

	manifest = json_loadb(b->b_manifest_bytes, b->b_manifest_len, 0, &jerr);
	doc = json_pack("{s:s, s:b, s:s?, s:o}", "path", b->b_path, "signed",
			b->b_signer.s_signed, "key_id",
			b->b_signer.s_signed ? b->b_signer.s_key_id : NULL,
			"manifest", manifest);
	if (!doc)
		return EXIT_REFUSED;
	json_dumpf(doc, stdout, JSON_INDENT(2));
	printf("\n");
	json_decref(doc);
	return 0;
}

static int cmd_inspect(int argc, char **argv)
{
	static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
					     {NULL, 0, NULL, 0}};
	struct bundle_policy p = {.bp_inspect = true};
	struct bundle *b;
	struct seam_err e;
	bool json = false;
	int c, rc;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'j')
			return usage();
		json = true;
	}
	if (optind != argc - 1)
		return usage();
	if (!(b = bundle_open(argv[optind], &p, &e)))
		return fail("inspect", &e);
	if (json) {
		rc = inspect_json(b);
	} else {
		inspect_human(b);
		rc = 0;
	}
	bundle_free(b);
	return rc;
}

/* Options shared by verify and extract. */
struct trust_opts {
	const char *trust;
	bool community;
};

static void trust_policy(const struct trust_opts *t, struct bundle_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->bp_trust_dir = t->trust ? t->trust : default_trust_dir();
	p->bp_min_level =
	    t->community ? BUNDLE_LEVEL_COMMUNITY : BUNDLE_LEVEL_PARTNER;
}

static int cmd_verify(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"trust", required_argument, NULL, 't'},
	    {"accept-community", no_argument, NULL, 'c'},
	    {NULL, 0, NULL, 0}};
	struct trust_opts t = {0};
	struct bundle_policy p;
	struct bundle *b;
	struct seam_err e;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 't')
			t.trust = optarg;
		else if (c == 'c')
			t.community = true;
		else
			return usage();
	}
	if (optind != argc - 1)
		return usage();
	trust_policy(&t, &p);
	if (!(b = bundle_open(argv[optind], &p, &e)))
		return fail("verify", &e);
	if (b->b_signer.s_signed)
		printf("%s: OK: signed by key %s, trusted at level %s (trust "
		       "store %s); %zu components, %zu payloads verified\n",
		       argv[optind], b->b_signer.s_key_id,
		       bundle_level_name(b->b_level), p.bp_trust_dir,
		       b->b_manifest.m_ncomponents, b->b_npayloads);
	else
		printf("%s: OK: unsigned, accepted at level community; %zu "
		       "components, %zu payloads verified\n",
		       argv[optind], b->b_manifest.m_ncomponents,
		       b->b_npayloads);
	bundle_free(b);
	return 0;
}

static int cmd_extract(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"trust", required_argument, NULL, 't'},
	    {"accept-community", no_argument, NULL, 'c'},
	    {"digest", required_argument, NULL, 'd'},
	    {"out", required_argument, NULL, 'o'},
	    {NULL, 0, NULL, 0}};
	const char *digest = NULL, *out = NULL;
	struct trust_opts t = {0};
	struct bundle_policy p;
	struct bundle *b;
	struct seam_err e;
	int c, rc;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			t.trust = optarg;
			break;
		case 'c':
			t.community = true;
			break;
		case 'd':
			digest = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		default:
			return usage();
		}
	}
	if (!digest || !out || optind != argc - 1)
		return usage();
	trust_policy(&t, &p);
	if (!(b = bundle_open(argv[optind], &p, &e)))
		return fail("extract", &e);
	rc = bundle_extract_payload(b, digest, out, &e);
	bundle_free(b);
	if (rc < 0)
		return fail("extract", &e);
	printf("extracted payload %s to %s\n", digest, out);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = {
	    {"keygen", cmd_keygen}, {"build", cmd_build},
	    {"sign", cmd_sign},	    {"inspect", cmd_inspect},
	    {"verify", cmd_verify}, {"extract", cmd_extract},
	};
	size_t i;

	if (argc < 2)
		return usage();
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(usage_text, stdout);
		return 0;
	}
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "seam-bundle: unknown command '%s'\n", argv[1]);
	return usage();
}
