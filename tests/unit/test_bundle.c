/*
 * test_bundle.c — bundles: the good ones open, every defect is refused with
 * its own message, and nothing is extracted from a refused bundle.
 *
 * Each defective bundle is made here with libarchive directly (not with the
 * library's writer, which refuses to make most of them), in a fresh
 * temporary directory. Every refusal is checked for a distinctive substring
 * of its message, and for leaving the extraction directory empty.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle.h"
#include "payload.h"

#define PAYLOAD_LEN 100000

static struct {
	char dir[1024];
	char trust[1280];
	char keys[1280];
	char out[1280];			     /* extraction target directory */
	unsigned char sk[BUNDLE_SECRET_LEN]; /* trusted (certified) */
	unsigned char partner_sk[BUNDLE_SECRET_LEN];
	unsigned char other_sk[BUNDLE_SECRET_LEN]; /* untrusted */
	unsigned char *payload;			   /* PAYLOAD_LEN bytes */
	char digest[BUNDLE_DIGEST_HEX];
	int seq;
} F;

struct zent {
	const char *name;
	const void *data;
	size_t len;
	mode_t type;	  /* 0: regular */
	const char *link; /* symlink target / hardlink target */
	int hardlink;
};

/* Helpers. */

static void path_in(char *buf, const char *fmt, ...)
{
	char tail[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(tail, sizeof(tail), fmt, ap);
	va_end(ap);
	snprintf(buf, 1280, "%s/%s", F.dir, tail);
}

static void hex_digest(const void *data, size_t len, char *hex)
{
	unsigned char md[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(md, data, len);
	sodium_bin2hex(hex, BUNDLE_DIGEST_HEX, md, sizeof(md));
}

static void write_zip(const char *path, const struct zent *ents, size_t n)
{
	struct archive *a = archive_write_new();
	struct archive_entry *e;
	size_t i;

	assert_non_null(a);
	assert_int_equal(archive_write_set_format_zip(a), ARCHIVE_OK);
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	for (i = 0; i < n; i++) {
		e = archive_entry_new();
		archive_entry_set_pathname(e, ents[i].name);
		archive_entry_set_filetype(e, ents[i].type ? ents[i].type
							   : AE_IFREG);
		archive_entry_set_perm(e, 0644);
		if (ents[i].hardlink)
			archive_entry_set_hardlink(e, ents[i].link);
		else if (ents[i].type == AE_IFLNK)
			archive_entry_set_symlink(e, ents[i].link);
		archive_entry_set_size(e, (la_int64_t)ents[i].len);
		assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
		if (ents[i].len)
			assert_int_equal(
			    archive_write_data(a, ents[i].data, ents[i].len),
			    (la_ssize_t)ents[i].len);
		archive_entry_free(e);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
}

/* A manifest with one component `vmx` whose payload is (digest, size). */
static char *manifest_text(int format, const char *version, const char *level,
			   const char *digest, unsigned long long size,
			   const char *extra)
{
	char *m = malloc(4096);

	assert_non_null(m);
	snprintf(m, 4096,
		 "{\"format\": %d, \"name\": \"test\",\n"
		 " \"base_images\": [{\"version\": \"1.0.0.0100\", "
		 "\"components\": {\"vmx\": \"%s\"}, "
		 "\"live_patch_from\": [\"1.0.0.0\"]}],\n"
		 " \"components\": [{\"name\": \"vmx\", \"version\": \"%s\", "
		 "\"acceptance\": \"%s\", \"payload\": {\"sha256\": \"%s\", "
		 "\"size\": %llu}, \"scripts\": [\"03_vmx-scan\", "
		 "\"03_vmx-apply\"], \"live_patch_from\": [\"1.0.0.0\"], "
		 "\"fsr_required\": true%s}]}\n",
		 format, version, version, level, digest, size,
		 extra ? extra : "");
	return m;
}

static char *good_manifest(void)
{
	return manifest_text(1, "1.0.0.0100", "certified", F.digest,
			     PAYLOAD_LEN, NULL);
}

static char *sign(const char *manifest, const unsigned char *sk)
{
	char *sig = NULL;
	struct seam_err e = {0};

	assert_int_equal(
	    bundle_sig_make(manifest, strlen(manifest), sk, &sig, &e), 0);
	return sig;
}

/* Write a zip: manifest, optional signature by `sk`, then `extra` entries. */
static void make_bundle(char *path, const char *manifest,
			const unsigned char *sk, const struct zent *extra,
			size_t nextra)
{
	struct zent ents[16];
	char *sig = sk ? sign(manifest, sk) : NULL;
	size_t n = 0, i;

	path_in(path, "b%d.zip", ++F.seq);
	ents[n++] = (struct zent){
	    BUNDLE_MANIFEST_NAME, manifest, strlen(manifest), 0, NULL, 0};
	if (sig)
		ents[n++] = (struct zent){
		    BUNDLE_SIG_NAME, sig, strlen(sig), 0, NULL, 0};
	for (i = 0; i < nextra; i++)
		ents[n++] = extra[i];
	write_zip(path, ents, n);
	free(sig);
}

static struct zent payload_entry(char *name)
{
	snprintf(name, 128, BUNDLE_PAYLOAD_PREFIX "%s", F.digest);
	return (struct zent){name, F.payload, PAYLOAD_LEN, 0, NULL, 0};
}

/* The usual good bundle, signed by the trusted key. */
static void make_good(char *path)
{
	char name[128], *m = good_manifest();
	struct zent p = payload_entry(name);

	make_bundle(path, m, F.sk, &p, 1);
	free(m);
}

static struct bundle_policy policy(void)
{
	struct bundle_policy p = {0};

	p.bp_trust_dir = F.trust;
	return p;
}

static int dir_entries(const char *dir)
{
	struct dirent *de;
	int n = 0;
	DIR *d = opendir(dir);

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* Open must fail, the message must contain `needle`, nothing extracted. */
static void expect_refused_p(const char *path, const struct bundle_policy *p,
			     const char *needle)
{
	struct seam_err e = {0};
	struct bundle *b;

	b = bundle_open(path, p, &e);
	if (b)
		fail_msg("bundle %s was accepted; expected refusal with "
			 "\"%s\"",
			 path, needle);
	assert_true(e.code > 0);
	if (!strstr(e.msg, needle))
		fail_msg("refusal message \"%s\" lacks \"%s\"", e.msg, needle);
	print_message("    refused: %s\n", e.msg);
	assert_int_equal(dir_entries(F.out), 0);
}

static void expect_refused(const char *path, const char *needle)
{
	struct bundle_policy p = policy();

	expect_refused_p(path, &p, needle);
}

static struct bundle *expect_open(const char *path,
				  const struct bundle_policy *p)
{
	struct seam_err e = {0};
	struct bundle *b = bundle_open(path, p, &e);

	if (!b)
		fail_msg("bundle %s refused: %s", path, e.msg);
	assert_non_null(b);
	return b;
}

static void copy_file(const char *from, const char *to)
{
	char buf[1024];
	FILE *in = fopen(from, "r"), *out = fopen(to, "w");
	size_t n;

	assert_non_null(in);
	assert_non_null(out);
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		assert_int_equal(fwrite(buf, 1, n, out), n);
	fclose(in);
	fclose(out);
}

static void make_key(const char *name, const char *level, unsigned char *sk)
{
	char from[PATH_MAX], to[PATH_MAX], sub[2048];
	struct seam_err e = {0};

	assert_int_equal(bundle_key_generate(F.keys, name, &e), 0);
	snprintf(from, sizeof(from), "%s/%s.sec", F.keys, name);
	assert_int_equal(bundle_key_load_secret(from, sk, &e), 0);
	if (!level)
		return;
	snprintf(sub, sizeof(sub), "%s/%s", F.trust, level);
	mkdir(sub, 0755);
	snprintf(from, sizeof(from), "%s/%s.pub", F.keys, name);
	snprintf(to, sizeof(to), "%s/%s.pub", sub, name);
	copy_file(from, to);
}

static int group_setup(void **state)
{
	const char *tmp = getenv("TMPDIR");
	size_t i;

	if (sodium_init() < 0)
		return -1;
	snprintf(F.dir, sizeof(F.dir), "%s/seam-test-bundle.XXXXXX",
		 tmp ? tmp : "/tmp");
	if (!mkdtemp(F.dir))
		return -1;
	snprintf(F.trust, sizeof(F.trust), "%s/trust", F.dir);
	snprintf(F.keys, sizeof(F.keys), "%s/keys", F.dir);
	snprintf(F.out, sizeof(F.out), "%s/out", F.dir);
	mkdir(F.trust, 0755);
	mkdir(F.keys, 0755);
	mkdir(F.out, 0755);
	make_key("dev", "certified", F.sk);
	make_key("partner", "partner", F.partner_sk);
	make_key("stranger", NULL, F.other_sk);
	F.payload = malloc(PAYLOAD_LEN);
	if (!F.payload)
		return -1;
	for (i = 0; i < PAYLOAD_LEN; i++)
		F.payload[i] = (unsigned char)(i * 7 + i / 251);
	hex_digest(F.payload, PAYLOAD_LEN, F.digest);
	return 0;
}

static int group_teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	free(F.payload);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", F.dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Good bundles. */

static void test_good_signed_opens_and_extracts(void **state)
{
	struct bundle_policy p = policy();
	const struct bundle_component *c;
	struct seam_version v, from;
	char path[PATH_MAX], dest[PATH_MAX];
	struct seam_err e = {0};
	unsigned char *buf;
	struct bundle *b;
	struct stat st;
	FILE *f;

	make_good(path);
	b = expect_open(path, &p);
	assert_true(b->b_signer.s_signed);
	assert_true(b->b_signer.s_trusted);
	assert_int_equal(b->b_level, BUNDLE_LEVEL_CERTIFIED);
	assert_int_equal(b->b_manifest.m_ncomponents, 1);
	version_parse("1.0.0.0100", &v, NULL);
	version_parse("1.0.0.0", &from, NULL);
	c = bundle_find_component(b, "vmx", &v);
	assert_non_null(c);
	assert_string_equal(c->c_digest, F.digest);
	assert_int_equal(c->c_size, PAYLOAD_LEN);
	assert_true(c->c_fsr_required);
	assert_true(bundle_component_live_patchable_from(c, &from));
	assert_false(bundle_component_live_patchable_from(c, &v));
	assert_int_equal(c->c_nscripts, 2);
	assert_string_equal(c->c_scripts[0], "03_vmx-apply");
	assert_non_null(bundle_find_base_image(b, &v));
	assert_true(bundle_base_live_patchable_from(
	    bundle_find_base_image(b, &v), &from));

	path_in(dest, "extracted");
	assert_int_equal(bundle_extract_payload(b, F.digest, dest, &e), 0);
	assert_int_equal(stat(dest, &st), 0);
	assert_int_equal(st.st_size, PAYLOAD_LEN);
	buf = malloc(PAYLOAD_LEN);
	f = fopen(dest, "r");
	assert_int_equal(fread(buf, 1, PAYLOAD_LEN, f), PAYLOAD_LEN);
	fclose(f);
	assert_memory_equal(buf, F.payload, PAYLOAD_LEN);
	free(buf);
	unlink(dest);

	assert_int_equal(bundle_extract_payloads(b, F.out, &e), 0);
	assert_int_equal(dir_entries(F.out), 1);
	snprintf(dest, sizeof(dest), "%s/%s", F.out, F.digest);
	assert_int_equal(stat(dest, &st), 0);
	unlink(dest);
	/* An unknown digest is refused. */
	assert_true(bundle_extract_payload(b, "00", dest, &e) < 0);
	assert_non_null(strstr(e.msg, "no component names payload"));
	bundle_free(b);
	bundle_free(NULL);
}

static void test_unsigned_only_with_community(void **state)
{
	struct bundle_policy p = policy();
	char path[PATH_MAX], name[128];
	struct zent pe = payload_entry(name);
	char *m = manifest_text(1, "1.0.0.0100", "community", F.digest,
				PAYLOAD_LEN, NULL);
	struct bundle *b;

	make_bundle(path, m, NULL, &pe, 1);
	free(m);
	expect_refused(path, "unsigned bundle: no manifest.sig");
	p.bp_min_level = BUNDLE_LEVEL_CERTIFIED;
	expect_refused_p(path, &p, "unsigned bundle");
	p.bp_min_level = BUNDLE_LEVEL_COMMUNITY;
	b = expect_open(path, &p);
	assert_false(b->b_signer.s_signed);
	assert_int_equal(b->b_level, BUNDLE_LEVEL_COMMUNITY);
	bundle_free(b);
}

static void test_unsigned_cannot_claim_certified(void **state)
{
	struct bundle_policy p = policy();
	char path[PATH_MAX], name[128];
	struct zent pe = payload_entry(name);
	char *m = good_manifest();

	make_bundle(path, m, NULL, &pe, 1);
	free(m);
	p.bp_min_level = BUNDLE_LEVEL_COMMUNITY;
	expect_refused_p(path, &p,
			 "declares acceptance level certified, but "
			 "the bundle is only trusted at community (unsigned)");
}

static void test_partner_key_levels(void **state)
{
	struct bundle_policy p = policy();
	char path[PATH_MAX], name[128];
	struct zent pe = payload_entry(name);
	char *m = good_manifest();
	struct bundle *b;

	make_bundle(path, m, F.partner_sk, &pe, 1);
	free(m);
	expect_refused(path, "only trusted at partner");
	m = manifest_text(1, "1.0.0.0100", "partner", F.digest, PAYLOAD_LEN,
			  NULL);
	make_bundle(path, m, F.partner_sk, &pe, 1);
	free(m);
	b = expect_open(path, &p);
	assert_int_equal(b->b_level, BUNDLE_LEVEL_PARTNER);
	bundle_free(b);
	p.bp_min_level = BUNDLE_LEVEL_CERTIFIED;
	expect_refused_p(path, &p,
			 "trusted at level partner, below the "
			 "lowest accepted level certified");
}

static void test_inspect_skips_trust(void **state)
{
	struct bundle_policy p = {.bp_inspect = true};
	char path[PATH_MAX], name[128];
	struct zent pe = payload_entry(name);
	char *m = good_manifest();
	struct bundle *b;

	make_bundle(path, m, F.other_sk, &pe, 1);
	free(m);
	b = expect_open(path, &p);
	assert_true(b->b_signer.s_signed);
	assert_false(b->b_trust_checked);
	bundle_free(b);
	expect_refused(path, "untrusted key");
}

/* Archive defects. */

static void test_refuse_absolute_path(void **state)
{
	char path[PATH_MAX], name[128];
	struct zent ex[] = {payload_entry(name),
			    {"/etc/seam-evil", "x", 1, 0, NULL, 0}};
	char *m = good_manifest();

	make_bundle(path, m, F.sk, ex, 2);
	free(m);
	expect_refused(path, "entry '/etc/seam-evil': absolute path");
}

static void test_refuse_dotdot(void **state)
{
	char path[PATH_MAX], name[128];
	struct zent ex[] = {payload_entry(name),
			    {"payloads/../../evil", "x", 1, 0, NULL, 0}};
	char *m = good_manifest();

	make_bundle(path, m, F.sk, ex, 2);
	free(m);
	expect_refused(path, "entry 'payloads/../../evil': '..' path "
			     "component");
}

static void test_refuse_symlink(void **state)
{
	char path[PATH_MAX], name[128];
	struct zent ex[] = {
	    payload_entry(name),
	    {"payloads/link", NULL, 0, AE_IFLNK, "/etc/passwd", 0}};
	char *m = good_manifest();

	make_bundle(path, m, F.sk, ex, 2);
	free(m);
	expect_refused(path, "entry 'payloads/link': symbolic link (to "
			     "'/etc/passwd')");
}

static void test_refuse_hardlink(void **state)
{
	struct archive_entry *entry = archive_entry_new();
	enum bundle_entry_kind kind;
	struct seam_err e = {0};
	char path[PATH_MAX], name[128];
	struct zent ex[] = {payload_entry(name),
			    {"payloads/hard", NULL, 0, 0, "manifest.json", 1}};
	char *m = good_manifest();

	/*
	 * The zip format has no hard links: libarchive writes one as an
	 * empty regular file. The header check refuses a hard link whatever
	 * the archive format; feed it one directly ...
	 */
	archive_entry_set_pathname(entry, "payloads/hard");
	archive_entry_set_filetype(entry, AE_IFREG);
	archive_entry_set_hardlink(entry, "manifest.json");
	assert_true(bundle_check_entry(entry, &kind, &e) < 0);
	assert_non_null(strstr(e.msg, "entry 'payloads/hard': hard link (to "
				      "'manifest.json') not allowed"));
	archive_entry_free(entry);
	/* ... and a zip written with a hard link entry is still refused. */
	make_bundle(path, m, F.sk, ex, 2);
	free(m);
	expect_refused(path, "entry 'payloads/hard'");
}

static void test_refuse_directory(void **state)
{
	char path[PATH_MAX], name[128];
	struct zent ex[] = {{"payloads/", NULL, 0, AE_IFDIR, NULL, 0},
			    payload_entry(name)};
	char *m = good_manifest();

	make_bundle(path, m, F.sk, ex, 2);
	free(m);
	expect_refused(path, "entry 'payloads/': directory not allowed");
}

/*
 * Rewrite the zip's central directory so the payload entry claims Unix mode
 * `mode`: what a zip crafted by another tool could carry.
 */
static void patch_mode(const char *path, unsigned mode)
{
	unsigned char *buf;
	struct stat st;
	size_t i, patched = 0;
	FILE *f;

	assert_int_equal(stat(path, &st), 0);
	buf = malloc((size_t)st.st_size);
	f = fopen(path, "r+");
	assert_int_equal(fread(buf, 1, (size_t)st.st_size, f), st.st_size);
	/* Central directory headers: PK\1\2; external attributes at +38. */
	for (i = 0; i + 46 < (size_t)st.st_size; i++) {
		if (memcmp(buf + i, "PK\1\2", 4) != 0 ||
		    memcmp(buf + i + 46, "payloads/", 9) != 0)
			continue;
		buf[i + 5] = 3; /* made by: Unix */
		buf[i + 38] = buf[i + 39] = 0;
		buf[i + 40] = (unsigned char)(mode & 0xff);
		buf[i + 41] = (unsigned char)(mode >> 8);
		patched++;
	}
	assert_int_equal(patched, 1);
	rewind(f);
	assert_int_equal(fwrite(buf, 1, (size_t)st.st_size, f), st.st_size);
	fclose(f);
	free(buf);
}

static void test_refuse_link_by_mode(void **state)
{
	char path[PATH_MAX], name[128], hex[BUNDLE_DIGEST_HEX];
	struct zent pe = {name, "/etc/passwd", 11, 0, NULL, 0};
	char *m = good_manifest();

	hex_digest("/etc/passwd", 11, hex);
	snprintf(name, sizeof(name), BUNDLE_PAYLOAD_PREFIX "%s", hex);
	make_bundle(path, m, F.sk, &pe, 1);
	free(m);
	patch_mode(path, 0120777);
	expect_refused(path, "symbolic link (to '/etc/passwd') not allowed");
}

static void test_refuse_special_files(void **state)
{
	static const struct {
		mode_t type;
		const char *needle;
	} cases[] = {
	    {AE_IFIFO, "named pipe not allowed"},
	    {AE_IFCHR, "character device not allowed"},
	    {AE_IFBLK, "block device not allowed"},
	    {AE_IFSOCK, "socket not allowed"},
	};
	enum bundle_entry_kind kind;
	struct seam_err e = {0};
	size_t i;

	/* libarchive's zip reader only yields files, directories and
	 * symlinks; the header check refuses the other types regardless. */
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct archive_entry *entry = archive_entry_new();
		archive_entry_set_pathname(entry, "payloads/x");
		archive_entry_set_filetype(entry, cases[i].type);
		assert_true(bundle_check_entry(entry, &kind, &e) < 0);
		if (!strstr(e.msg, cases[i].needle))
			fail_msg("\"%s\" lacks \"%s\"", e.msg, cases[i].needle);
		archive_entry_free(entry);
	}
}

static void test_refuse_duplicate(void **state)
{
	char path[PATH_MAX], name[128];
	struct zent ex[] = {payload_entry(name), payload_entry(name)};
	char *m = good_manifest();

	make_bundle(path, m, F.sk, ex, 2);
	free(m);
	expect_refused(path, "duplicate name");
}

static void test_refuse_duplicate_manifest(void **state)
{
	char path[PATH_MAX], name[128];
	char *m = good_manifest();
	struct zent ex[] = {payload_entry(name),
			    {BUNDLE_MANIFEST_NAME, m, strlen(m), 0, NULL, 0}};

	make_bundle(path, m, F.sk, ex, 2);
	free(m);
	expect_refused(path, "entry 'manifest.json': duplicate name");
}

static void test_refuse_truncated(void **state)
{
	char path[PATH_MAX];
	struct stat st;

	make_good(path);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(truncate(path, st.st_size / 2), 0);
	expect_refused(path, "truncated or corrupt archive");
	assert_int_equal(truncate(path, 0), 0);
	expect_refused(path, "truncated or corrupt archive");
}

static void test_refuse_corrupt_payload_bytes(void **state)
{
	char path[PATH_MAX];
	unsigned char byte;
	struct stat st;
	int fd;

	/* Flip a byte in the middle of the stored payload: the CRC fails. */
	make_good(path);
	assert_int_equal(stat(path, &st), 0);
	fd = open(path, O_RDWR);
	assert_true(pread(fd, &byte, 1, st.st_size / 2) == 1);
	byte ^= 0xff;
	assert_true(pwrite(fd, &byte, 1, st.st_size / 2) == 1);
	close(fd);
	expect_refused(path, "truncated or corrupt archive");
}

static void test_refuse_not_zip(void **state)
{
	char path[PATH_MAX];
	FILE *f;

	path_in(path, "notzip.zip");
	f = fopen(path, "w");
	fputs("this is not a zip archive at all\n", f);
	fclose(f);
	expect_refused(path, "truncated or corrupt archive");
}

static void test_refuse_unexpected_name(void **state)
{
	char path[PATH_MAX], name[128];
	struct zent ex[] = {payload_entry(name),
			    {"README", "hi", 2, 0, NULL, 0}};
	char *m = good_manifest();

	make_bundle(path, m, F.sk, ex, 2);
	free(m);
	expect_refused(path, "entry 'README': unexpected name");
}

static void test_refuse_no_manifest(void **state)
{
	char path[PATH_MAX], name[128];
	struct zent ex[] = {payload_entry(name)};

	path_in(path, "nomanifest.zip");
	write_zip(path, ex, 1);
	expect_refused(path, "no manifest.json");
}

/* Signature defects. */

static void test_refuse_bad_signature(void **state)
{
	char path[PATH_MAX], name[128];
	struct zent pe = payload_entry(name);
	char *m = good_manifest(), *sig = sign(m, F.sk);
	struct zent ents[3];

	/* Same length, one character changed after signing. */
	m[strlen(m) - 4] = m[strlen(m) - 4] == 'e' ? 'E' : 'e';
	path_in(path, "badsig.zip");
	ents[0] = (struct zent){BUNDLE_MANIFEST_NAME, m, strlen(m), 0, NULL, 0};
	ents[1] = (struct zent){BUNDLE_SIG_NAME, sig, strlen(sig), 0, NULL, 0};
	ents[2] = pe;
	write_zip(path, ents, 3);
	free(m);
	free(sig);
	expect_refused(path, "bad signature: manifest.sig does not verify");
}

static void test_refuse_malformed_sig(void **state)
{
	char path[PATH_MAX], name[128];
	char *m = good_manifest();
	struct zent ex[] = {
	    {BUNDLE_SIG_NAME, "{\"format\": 1}", 13, 0, NULL, 0},
	    payload_entry(name)};

	make_bundle(path, m, NULL, ex, 2);
	free(m);
	expect_refused(path, "manifest.sig: malformed");
}

static void test_refuse_untrusted_key(void **state)
{
	char path[PATH_MAX], name[128];
	struct zent pe = payload_entry(name);
	char *m = good_manifest();
	struct bundle_policy p = policy();

	make_bundle(path, m, F.other_sk, &pe, 1);
	free(m);
	expect_refused(path, "untrusted key: manifest signed with key");
	/* Accepting community does not make an unknown signer acceptable. */
	p.bp_min_level = BUNDLE_LEVEL_COMMUNITY;
	expect_refused_p(path, &p, "untrusted key");
}

/* Payload defects. */

static void test_refuse_digest_mismatch(void **state)
{
	char path[PATH_MAX], name[128];
	struct zent pe = payload_entry(name);
	unsigned char *other = malloc(PAYLOAD_LEN);
	char *m = good_manifest();

	memcpy(other, F.payload, PAYLOAD_LEN);
	other[12345] ^= 1;
	pe.data = other;
	make_bundle(path, m, F.sk, &pe, 1);
	free(m);
	free(other);
	expect_refused(path, "digest mismatch: entry 'payloads/");
}

static void test_refuse_size_mismatch(void **state)
{
	char path[PATH_MAX], name[128];
	struct zent pe = payload_entry(name);
	char *m = manifest_text(1, "1.0.0.0100", "certified", F.digest,
				PAYLOAD_LEN + 1, NULL);

	make_bundle(path, m, F.sk, &pe, 1);
	free(m);
	expect_refused(path, "size mismatch: component 'vmx' 1.0.0.0100");
}

static void test_refuse_missing_payload(void **state)
{
	char path[PATH_MAX];
	char *m = good_manifest();

	make_bundle(path, m, F.sk, NULL, 0);
	free(m);
	expect_refused(path, "missing payload: component 'vmx' 1.0.0.0100 "
			     "names payload");
}

static void test_refuse_unreferenced_payload(void **state)
{
	char path[PATH_MAX], name[128], name2[128], d2[BUNDLE_DIGEST_HEX];
	struct zent ex[] = {payload_entry(name),
			    {name2, "extra", 5, 0, NULL, 0}};
	char *m = good_manifest();

	hex_digest("extra", 5, d2);
	snprintf(name2, sizeof(name2), BUNDLE_PAYLOAD_PREFIX "%s", d2);
	make_bundle(path, m, F.sk, ex, 2);
	free(m);
	expect_refused(path, "unreferenced payload");
}

static void test_refuse_oversized_payload(void **state)
{
	struct bundle_policy p = policy();
	char path[PATH_MAX];

	make_good(path);
	p.bp_max_payload = PAYLOAD_LEN - 1;
	expect_refused_p(path, &p, "oversized");
	p.bp_max_payload = 0;
	p.bp_max_entries = 2;
	expect_refused_p(path, &p, "oversized: more than 2 entries");
}

static void test_refuse_oversized_manifest(void **state)
{
	char path[PATH_MAX];
	size_t len = BUNDLE_MAX_MANIFEST + 16;
	char *big = malloc(len + 1);
	struct zent ex[] = {{BUNDLE_MANIFEST_NAME, big, len, 0, NULL, 0}};

	memset(big, ' ', len);
	big[0] = '{';
	big[len - 1] = '}';
	path_in(path, "bigmanifest.zip");
	write_zip(path, ex, 1);
	free(big);
	expect_refused(path, "entry 'manifest.json': oversized");
}

/* Manifest defects. */

static void manifest_refused(const char *manifest, const char *needle)
{
	char path[PATH_MAX], name[128];
	struct zent pe = payload_entry(name);

	make_bundle(path, manifest, F.sk, &pe, 1);
	expect_refused(path, needle);
}

static void test_refuse_manifest_not_json(void **state)
{
	manifest_refused("{\"format\": 1, \"components\": [",
			 "manifest.json "
			 "is not valid JSON");
	manifest_refused("not json at all", "is not valid JSON");
	manifest_refused("[1, 2]", "top level must be a JSON object");
}

static void test_refuse_unknown_format(void **state)
{
	char *m = manifest_text(2, "1.0.0.0100", "certified", F.digest,
				PAYLOAD_LEN, NULL);

	manifest_refused(m, "unknown manifest format 2");
	free(m);
	manifest_refused("{\"components\": []}", "field 'format' missing");
}

static void test_refuse_bad_version(void **state)
{
	char *m = manifest_text(1, "1.0.x.0100", "certified", F.digest,
				PAYLOAD_LEN, NULL);

	manifest_refused(m, "components[0] ('vmx'): field 'version': version "
			    "\"1.0.x.0100\": UPDATE field is not a decimal");
	free(m);
	m = manifest_text(1, "1.0.0.0100", "certified", F.digest, PAYLOAD_LEN,
			  ", \"build\": \"x\"");
	manifest_refused(m, "field 'build' must be an integer");
	free(m);
}

static void test_refuse_bad_component_version(void **state)
{
	char m[2048];

	snprintf(m, sizeof(m),
		 "{\"format\": 1, \"components\": [{\"name\": \"vmx\", "
		 "\"version\": \"1.0.0\", \"acceptance\": \"certified\", "
		 "\"payload\": {\"sha256\": \"%s\", \"size\": %d}}]}",
		 F.digest, PAYLOAD_LEN);
	manifest_refused(m, "components[0] ('vmx'): field 'version': version "
			    "\"1.0.0\"");
	snprintf(m, sizeof(m),
		 "{\"format\": 1, \"components\": [{\"name\": \"vmx\", "
		 "\"version\": \"1.0.0.0\", \"acceptance\": \"certified\", "
		 "\"live_patch_from\": [\"1.0.0.0\", \"one\"], "
		 "\"payload\": {\"sha256\": \"%s\", \"size\": %d}}]}",
		 F.digest, PAYLOAD_LEN);
	manifest_refused(m, "field 'live_patch_from[1]': version \"one\"");
}

static void test_refuse_unknown_level(void **state)
{
	char *m =
	    manifest_text(1, "1.0.0.0100", "gold", F.digest, PAYLOAD_LEN, NULL);

	manifest_refused(m, "unknown acceptance level \"gold\"");
	free(m);
}

static void test_refuse_manifest_fields(void **state)
{
	char *m = manifest_text(1, "1.0.0.0100", "certified", F.digest,
				PAYLOAD_LEN, ", \"colour\": \"blue\"");

	manifest_refused(m, "components[0] ('vmx'): unknown field 'colour'");
	free(m);
	m = manifest_text(1, "1.0.0.0100", "certified", F.digest, PAYLOAD_LEN,
			  ", \"name\": \"vmx2\"");
	manifest_refused(m, "duplicate object key");
	free(m);
	m = manifest_text(1, "1.0.0.0100", "certified", "abc", PAYLOAD_LEN,
			  NULL);
	manifest_refused(m, "sha256 \"abc\" is not 64 lowercase hex");
	free(m);
	m = manifest_text(1, "1.0.0.0100", "certified", F.digest, PAYLOAD_LEN,
			  ", \"scripts\": [\"03_hostd-scan\"]");
	manifest_refused(m, "duplicate object key");
	free(m);
}

static void test_refuse_bad_script_and_refs(void **state)
{
	char m[2048];

	snprintf(m, sizeof(m),
		 "{\"format\": 1, \"components\": [{\"name\": \"vmx\", "
		 "\"version\": \"1.0.0.0\", \"acceptance\": \"certified\", "
		 "\"scripts\": [\"03_hostd-scan\"], "
		 "\"payload\": {\"sha256\": \"%s\", \"size\": %d}}]}",
		 F.digest, PAYLOAD_LEN);
	manifest_refused(m, "scripts[0] \"03_hostd-scan\" is not a script "
			    "name");
	snprintf(m, sizeof(m),
		 "{\"format\": 1, \"base_images\": [{\"version\": \"1.0.0.0\","
		 " \"components\": {\"hostd\": \"1.0.0.0\"}}], "
		 "\"components\": [{\"name\": \"vmx\", "
		 "\"version\": \"1.0.0.0\", \"acceptance\": \"certified\", "
		 "\"payload\": {\"sha256\": \"%s\", \"size\": %d}}]}",
		 F.digest, PAYLOAD_LEN);
	manifest_refused(m, "base image 1.0.0.0: component 'hostd' 1.0.0.0 is "
			    "not in this bundle");
}

static void test_addons(void **state)
{
	struct bundle_policy p = policy();
	char m[2048], path[PATH_MAX], name[128];
	struct zent pe = payload_entry(name);
	const struct bundle_addon *a;
	struct bundle *b;
	static const char fmt[] =
	    "{\"format\": 1, \"addons\": [{\"name\": \"acme\", "
	    "\"version\": \"1.2.0.0\", \"build\": 7, "
	    "\"base_versions\": [%s], \"components\": {\"vmx\": \"%s\"}}], "
	    "\"components\": [{\"name\": \"vmx\", \"version\": "
	    "\"1.0.0.0\", \"acceptance\": \"certified\", \"payload\": "
	    "{\"sha256\": \"%s\", \"size\": %d}}]}";

	snprintf(m, sizeof(m), fmt, "\"1.0.0.0\", \"1.0.0.0100\"", "1.0.0.0",
		 F.digest, PAYLOAD_LEN);
	make_bundle(path, m, F.sk, &pe, 1);
	b = expect_open(path, &p);
	assert_int_equal(b->b_manifest.m_naddons, 1);
	a = &b->b_manifest.m_addons[0];
	assert_string_equal(a->a_name, "acme");
	assert_int_equal(a->a_version.v_build, 7);
	assert_int_equal(a->a_nbase_versions, 2);
	assert_int_equal(a->a_version.v_field[1], 2);
	assert_int_equal(a->a_ncomponents, 1);
	assert_string_equal(a->a_components[0].r_name, "vmx");
	bundle_free(b);
	snprintf(m, sizeof(m), fmt, "", "1.0.0.0", F.digest, PAYLOAD_LEN);
	manifest_refused(m, "addons[0] ('acme'): field 'base_versions' must "
			    "list at least one");
	snprintf(m, sizeof(m), fmt, "\"1.0.0.0\"", "9.0.0.0", F.digest,
		 PAYLOAD_LEN);
	manifest_refused(m,
			 "add-on 'acme' 1.2.0.0-7: component 'vmx' 9.0.0.0 is "
			 "not "
			 "in this bundle");
}

/* Extraction re-checks what it writes. */

static void test_extract_after_tamper_writes_nothing(void **state)
{
	struct bundle_policy p = policy();
	char path[PATH_MAX], bad[PATH_MAX], name[128], dest[PATH_MAX];
	struct zent pe = payload_entry(name);
	unsigned char *other = malloc(PAYLOAD_LEN);
	struct seam_err e = {0};
	struct bundle *b;
	char *m = good_manifest();

	/* Verified, then replaced in place (same inode) by a bundle whose
	 * payload bytes differ under the same name. */
	make_good(path);
	b = expect_open(path, &p);
	memcpy(other, F.payload, PAYLOAD_LEN);
	other[777] ^= 1;
	pe.data = other;
	make_bundle(bad, m, F.sk, &pe, 1);
	free(m);
	free(other);
	copy_file(bad, path);
	snprintf(dest, sizeof(dest), "%s/payload", F.out);
	assert_true(bundle_extract_payload(b, F.digest, dest, &e) < 0);
	print_message("    refused: %s\n", e.msg);
	assert_non_null(strstr(e.msg, "mismatch on extraction"));
	assert_int_equal(dir_entries(F.out), 0);
	assert_true(bundle_extract_payloads(b, F.out, &e) < 0);
	assert_int_equal(dir_entries(F.out), 0);
	bundle_free(b);
}

/* The library's own writer: build, sign, re-sign. */

static void test_build_and_sign(void **state)
{
	struct bundle_policy p = policy();
	char in[PATH_MAX], out[PATH_MAX], manifest[1024];
	const char *payloads[1];
	struct seam_err e = {0};
	struct bundle *b;
	FILE *f;

	path_in(in, "payload.bin");
	f = fopen(in, "w");
	assert_int_equal(fwrite(F.payload, 1, PAYLOAD_LEN, f), PAYLOAD_LEN);
	fclose(f);
	payloads[0] = in;
	snprintf(manifest, sizeof(manifest),
		 "{\"format\": 1, \"components\": [{\"name\": \"vmx\", "
		 "\"version\": \"1.0.0.0\", \"acceptance\": \"certified\", "
		 "\"payload\": {\"file\": \"payload.bin\"}}]}");
	path_in(out, "built.zip");
	if (bundle_build(manifest, payloads, 1, out, &e) < 0)
		fail_msg("build: %s", e.msg);
	expect_refused(out, "unsigned bundle");
	assert_int_equal(bundle_sign(out, F.other_sk, &e), 0);
	expect_refused(out, "untrusted key");
	assert_int_equal(bundle_sign(out, F.sk, &e), 0);
	b = expect_open(out, &p);
	assert_string_equal(b->b_manifest.m_components[0].c_digest, F.digest);
	assert_int_equal(b->b_manifest.m_components[0].c_size, PAYLOAD_LEN);
	bundle_free(b);
	/* An unused payload file is an error, and nothing is written. */
	path_in(out, "built2.zip");
	snprintf(manifest, sizeof(manifest),
		 "{\"format\": 1, \"components\": [{\"name\": \"vmx\", "
		 "\"version\": \"1.0.0.0\", \"acceptance\": \"certified\", "
		 "\"payload\": {\"file\": \"other.bin\"}}]}");
	assert_true(bundle_build(manifest, payloads, 1, out, &e) < 0);
	assert_non_null(strstr(e.msg, "\"other.bin\" is not among"));
	assert_true(access(out, F_OK) < 0);
}

static void test_payload_round_trip(void **state)
{
	char src[PATH_MAX], tgz[PATH_MAX], dir[2048], got[PATH_MAX];
	struct payload_file files[2];
	struct seam_err e = {0};
	struct stat st;
	FILE *f;

	path_in(src, "prog");
	f = fopen(src, "w");
	fputs("#!/bin/sh\necho hi\n", f);
	fclose(f);
	files[0] = (struct payload_file){"bin/seam-vmx", src};
	files[1] = (struct payload_file){"scripts/03_vmx-scan", src};
	path_in(tgz, "p.tar.gz");
	assert_int_equal(payload_build(tgz, files, 2, &e), 0);
	path_in(dir, "unpacked");
	mkdir(dir, 0755);
	if (payload_unpack(tgz, dir, &e) < 0)
		fail_msg("unpack: %s", e.msg);
	snprintf(got, sizeof(got), "%s/bin/seam-vmx", dir);
	assert_int_equal(stat(got, &st), 0);
	assert_true(st.st_mode & 0100);
	snprintf(got, sizeof(got), "%s/scripts/03_vmx-scan", dir);
	assert_int_equal(stat(got, &st), 0);
	/* Unpacking into a directory that is not empty is refused. */
	assert_true(payload_unpack(tgz, dir, &e) < 0);
	assert_non_null(strstr(e.msg, "directory not empty"));
}

/* A tar.gz with one good file, then `bad`; unpack must refuse it whole. */
static void payload_refused(const struct zent *bad, const char *needle)
{
	char tgz[PATH_MAX], dir[PATH_MAX];
	struct archive *a = archive_write_new();
	struct archive_entry *en;
	struct seam_err e = {0};
	const struct zent *z;
	const struct zent good = {"bin/seam-vmx", "ok\n", 3, 0, NULL, 0};
	int i;

	path_in(tgz, "bad%d.tar.gz", ++F.seq);
	path_in(dir, "unpack%d", F.seq);
	mkdir(dir, 0755);
	archive_write_set_format_pax_restricted(a);
	archive_write_add_filter_gzip(a);
	assert_int_equal(archive_write_open_filename(a, tgz), ARCHIVE_OK);
	for (i = 0; i < 2; i++) {
		z = i == 0 ? &good : bad;
		en = archive_entry_new();
		archive_entry_set_pathname(en, z->name);
		archive_entry_set_filetype(en, z->type ? z->type : AE_IFREG);
		archive_entry_set_perm(en, 0644);
		if (z->hardlink)
			archive_entry_set_hardlink(en, z->link);
		else if (z->type == AE_IFLNK)
			archive_entry_set_symlink(en, z->link);
		archive_entry_set_size(en, (la_int64_t)z->len);
		assert_int_equal(archive_write_header(a, en), ARCHIVE_OK);
		if (z->len)
			archive_write_data(a, z->data, z->len);
		archive_entry_free(en);
	}
	archive_write_close(a);
	archive_write_free(a);
	assert_true(payload_unpack(tgz, dir, &e) < 0);
	if (!strstr(e.msg, needle))
		fail_msg("\"%s\" lacks \"%s\"", e.msg, needle);
	print_message("    refused: %s\n", e.msg);
	assert_int_equal(dir_entries(dir), 0); /* nothing left behind */
}

static void test_payload_unpack_refusals(void **state)
{
	const struct zent abs = {"/tmp/evil", "x", 1, 0, NULL, 0};
	const struct zent dotdot = {"bin/../../evil", "x", 1, 0, NULL, 0};
	const struct zent sym = {"bin/link", NULL, 0, AE_IFLNK, "/etc", 0};
	const struct zent hard = {"bin/hard", NULL, 0, 0, "bin/seam-vmx", 1};
	const struct zent fifo = {"bin/fifo", NULL, 0, AE_IFIFO, NULL, 0};
	const struct zent dup = {"bin/seam-vmx", "again", 5, 0, NULL, 0};

	payload_refused(&abs, "absolute path not allowed");
	payload_refused(&dotdot, "'..' path component not allowed");
	payload_refused(&sym, "links not allowed");
	payload_refused(&hard, "links not allowed");
	payload_refused(&fifo, "not a regular file or directory");
	payload_refused(&dup, "create bin/seam-vmx: File exists");
}

static void test_trust_and_keys(void **state)
{
	unsigned char key[BUNDLE_KEY_LEN];
	struct bundle_trust *t;
	struct seam_err e = {0};
	char path[PATH_MAX];
	struct stat st;
	FILE *f;

	assert_int_equal(bundle_trust_load(F.trust, &t, &e), 0);
	assert_int_equal(bundle_trust_count(t), 2);
	snprintf(path, sizeof(path), "%s/dev.pub", F.keys);
	assert_int_equal(bundle_key_load_public(path, key, &e), 0);
	assert_int_equal(bundle_trust_lookup(t, key), BUNDLE_LEVEL_CERTIFIED);
	snprintf(path, sizeof(path), "%s/stranger.pub", F.keys);
	assert_int_equal(bundle_key_load_public(path, key, &e), 0);
	assert_int_equal(bundle_trust_lookup(t, key), BUNDLE_LEVEL_UNSET);
	bundle_trust_free(t);
	bundle_trust_free(NULL);
	/* Secret keys are private; keygen refuses to overwrite one. */
	snprintf(path, sizeof(path), "%s/dev.sec", F.keys);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_true(bundle_key_generate(F.keys, "dev", &e) < 0);
	assert_non_null(strstr(e.msg, "already exists"));
	/* A malformed key in the store is an error naming the file. */
	snprintf(path, sizeof(path), "%s/community", F.trust);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/community/bad.pub", F.trust);
	f = fopen(path, "w");
	fputs("ssh-ed25519 AAAA\n", f);
	fclose(f);
	assert_true(bundle_trust_load(F.trust, &t, &e) < 0);
	assert_non_null(strstr(e.msg, "bad.pub: not a Seam key file"));
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good_signed_opens_and_extracts),
	    cmocka_unit_test(test_unsigned_only_with_community),
	    cmocka_unit_test(test_unsigned_cannot_claim_certified),
	    cmocka_unit_test(test_partner_key_levels),
	    cmocka_unit_test(test_inspect_skips_trust),
	    cmocka_unit_test(test_refuse_absolute_path),
	    cmocka_unit_test(test_refuse_dotdot),
	    cmocka_unit_test(test_refuse_symlink),
	    cmocka_unit_test(test_refuse_hardlink),
	    cmocka_unit_test(test_refuse_directory),
	    cmocka_unit_test(test_refuse_link_by_mode),
	    cmocka_unit_test(test_refuse_special_files),
	    cmocka_unit_test(test_refuse_duplicate),
	    cmocka_unit_test(test_refuse_duplicate_manifest),
	    cmocka_unit_test(test_refuse_truncated),
	    cmocka_unit_test(test_refuse_corrupt_payload_bytes),
	    cmocka_unit_test(test_refuse_not_zip),
	    cmocka_unit_test(test_refuse_unexpected_name),
	    cmocka_unit_test(test_refuse_no_manifest),
	    cmocka_unit_test(test_refuse_bad_signature),
	    cmocka_unit_test(test_refuse_malformed_sig),
	    cmocka_unit_test(test_refuse_untrusted_key),
	    cmocka_unit_test(test_refuse_digest_mismatch),
	    cmocka_unit_test(test_refuse_size_mismatch),
	    cmocka_unit_test(test_refuse_missing_payload),
	    cmocka_unit_test(test_refuse_unreferenced_payload),
	    cmocka_unit_test(test_refuse_oversized_payload),
	    cmocka_unit_test(test_refuse_oversized_manifest),
	    cmocka_unit_test(test_refuse_manifest_not_json),
	    cmocka_unit_test(test_refuse_unknown_format),
	    cmocka_unit_test(test_refuse_bad_version),
	    cmocka_unit_test(test_refuse_bad_component_version),
	    cmocka_unit_test(test_refuse_unknown_level),
	    cmocka_unit_test(test_refuse_manifest_fields),
	    cmocka_unit_test(test_refuse_bad_script_and_refs),
	    cmocka_unit_test(test_addons),
	    cmocka_unit_test(test_extract_after_tamper_writes_nothing),
	    cmocka_unit_test(test_build_and_sign),
	    cmocka_unit_test(test_payload_round_trip),
	    cmocka_unit_test(test_payload_unpack_refusals),
	    cmocka_unit_test(test_trust_and_keys),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
