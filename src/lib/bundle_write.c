/*
 * bundle_write.c — build and sign bundles.
 *
 * The writer makes the archive the reader wants and nothing more: stored
 * (uncompressed) entries — payloads are compressed already — with fixed
 * timestamps and modes, so the same inputs give the same bytes. Every
 * bundle is written aside and renamed into place (afile), and every bundle
 * built is first validated with the reader's own manifest parser, so the
 * tool cannot produce a bundle Seam would refuse for its manifest.
 * Signing rewrites the archive with a new manifest.sig, copying payloads
 * from the verified original and hashing them again on the way through.
 */
#include "bundle.h"

#include "afile.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WRITE_BLOCK (64 * 1024)
#define WRITE_MTIME 315532800 /* 1980-01-01, the zip epoch */

struct zipw {
	struct afile zw_file;
	struct archive *zw_a;
};

static int zipw_error(struct zipw *z, const char *what, struct seam_err *e)
{
	return err_set(e, EIO, "%s: writing zip: %s: %s", z->zw_file.af_path,
		       what, archive_error_string(z->zw_a));
}

static int zipw_open(struct zipw *z, const char *path, struct seam_err *e)
{
	int rc;

	z->zw_a = NULL;
	rc = afile_open(&z->zw_file, path, 0644, e);
	if (rc < 0)
		return rc;
	z->zw_a = archive_write_new();
	if (!z->zw_a) {
		afile_abort(&z->zw_file);
		return err_set(e, ENOMEM, "out of memory");
	}
	if (archive_write_set_format_zip(z->zw_a) != ARCHIVE_OK ||
	    archive_write_set_format_option(z->zw_a, "zip", "compression",
					    "store") != ARCHIVE_OK ||
	    archive_write_open_fd(z->zw_a, z->zw_file.af_fd) != ARCHIVE_OK) {
		rc = zipw_error(z, "open", e);
		archive_write_free(z->zw_a);
		afile_abort(&z->zw_file);
		return rc;
	}
	return 0;
}

static void zipw_abort(struct zipw *z)
{
	if (z->zw_a)
		archive_write_free(z->zw_a);
	z->zw_a = NULL;
	afile_abort(&z->zw_file);
}

static int zipw_commit(struct zipw *z, struct seam_err *e)
{
	int rc;

	if (archive_write_close(z->zw_a) != ARCHIVE_OK) {
		rc = zipw_error(z, "close", e);
		zipw_abort(z);
		return rc;
	}
	archive_write_free(z->zw_a);
	z->zw_a = NULL;
	return afile_commit(&z->zw_file, e);
}

static int zipw_header(struct zipw *z, const char *name, uint64_t size,
		       struct seam_err *e)
{
	struct archive_entry *entry = archive_entry_new();
	int r;

	if (!entry)
		return err_set(e, ENOMEM, "out of memory");
	archive_entry_set_pathname(entry, name);
	archive_entry_set_filetype(entry, AE_IFREG);
	archive_entry_set_perm(entry, 0644);
	archive_entry_set_size(entry, (la_int64_t)size);
	archive_entry_set_mtime(entry, WRITE_MTIME, 0);
	r = archive_write_header(z->zw_a, entry);
	archive_entry_free(entry);
	if (r != ARCHIVE_OK)
		return zipw_error(z, name, e);
	return 0;
}

static int zipw_data(struct zipw *z, const char *name, const void *buf,
		     size_t len, struct seam_err *e)
{
	if (len && archive_write_data(z->zw_a, buf, len) != (la_ssize_t)len)
		return zipw_error(z, name, e);
	return 0;
}

static int zipw_add_bytes(struct zipw *z, const char *name, const void *buf,
			  size_t len, struct seam_err *e)
{
	int rc = zipw_header(z, name, len, e);

	return rc < 0 ? rc : zipw_data(z, name, buf, len, e);
}

/* Add a file's bytes, checking they still have the digest and size. */
static int zipw_add_file(struct zipw *z, const char *name, const char *path,
			 const char *digest, uint64_t size, struct seam_err *e)
{
	unsigned char md[crypto_hash_sha256_BYTES];
	char block[WRITE_BLOCK], hex[BUNDLE_DIGEST_HEX];
	crypto_hash_sha256_state h;
	uint64_t total = 0;
	ssize_t n;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, "%s: cannot open", path);
	crypto_hash_sha256_init(&h);
	rc = zipw_header(z, name, size, e);
	while (rc == 0 && (n = read(fd, block, sizeof(block))) != 0) {
		if (n < 0) {
			rc = err_sys(e, "%s: read", path);
			break;
		}
		total += (uint64_t)n;
		if (total > size)
			break;
		crypto_hash_sha256_update(&h, (unsigned char *)block,
					  (size_t)n);
		rc = zipw_data(z, name, block, (size_t)n, e);
	}
	close(fd);
	crypto_hash_sha256_final(&h, md);
	sodium_bin2hex(hex, sizeof(hex), md, sizeof(md));
	if (rc == 0 && (total != size || strcmp(hex, digest) != 0))
		rc = err_set(e, EIO, "%s: changed while the bundle was built",
			     path);
	return rc;
}

/* Build. */

struct build_payload {
	const char *bp_path;
	char bp_digest[BUNDLE_DIGEST_HEX];
	uint64_t bp_size;
	bool bp_used;
	bool bp_written;
};

static struct build_payload *build_find(struct build_payload *p, size_t n,
					const char *file, const char *digest)
{
	char tmp[4096];
	size_t i;

	for (i = 0; i < n; i++) {
		if (digest && strcmp(p[i].bp_digest, digest) == 0)
			return &p[i];
		if (file) {
			snprintf(tmp, sizeof(tmp), "%s", p[i].bp_path);
			if (strcmp(basename(tmp), file) == 0)
				return &p[i];
		}
	}
	return NULL;
}

/* Replace one component's "payload" with {"sha256", "size"}. */
static int build_fill_payload(json_t *comp, size_t idx, struct build_payload *p,
			      size_t n, struct seam_err *e)
{
	json_t *pl = json_object_get(comp, "payload");
	const char *file = NULL, *digest = NULL;
	struct build_payload *bp;

	if (!json_is_object(pl))
		return err_set(e, EINVAL,
			       "input manifest: components[%zu]: "
			       "'payload' must be {\"file\": NAME} or "
			       "{\"sha256\": HEX}",
			       idx);
	file = json_string_value(json_object_get(pl, "file"));
	digest = json_string_value(json_object_get(pl, "sha256"));
	bp = build_find(p, n, file, file ? NULL : digest);
	if (!bp)
		return err_set(e, ENOENT,
			       "input manifest: components[%zu]: "
			       "payload %s \"%.80s\" is not among the payload "
			       "files given",
			       idx, file ? "file" : "sha256",
			       file	? file
			       : digest ? digest
					: "(none)");
	bp->bp_used = true;
	pl = json_pack("{s:s, s:I}", "sha256", bp->bp_digest, "size",
		       (json_int_t)bp->bp_size);
	if (!pl || json_object_set_new(comp, "payload", pl) != 0)
		return err_set(e, ENOMEM, "out of memory");
	return 0;
}

static int build_fill(json_t *root, struct build_payload *p, size_t n,
		      struct seam_err *e)
{
	json_t *comps = json_object_get(root, "components"), *comp;
	size_t i;
	int rc;

	if (!json_is_array(comps))
		return err_set(e, EINVAL,
			       "input manifest: 'components' must "
			       "be an array");
	json_array_foreach(comps, i, comp)
	{
		if (!json_is_object(comp))
			return err_set(e, EINVAL,
				       "input manifest: "
				       "components[%zu] must be an object",
				       i);
		rc = build_fill_payload(comp, i, p, n, e);
		if (rc < 0)
			return rc;
	}
	for (i = 0; i < n; i++)
		if (!p[i].bp_used)
			return err_set(e, EINVAL,
				       "payload file %s is not used "
				       "by any component",
				       p[i].bp_path);
	return 0;
}

static int build_write(const char *out, const char *manifest,
		       struct build_payload *p, size_t n, struct seam_err *e)
{
	char name[sizeof(BUNDLE_PAYLOAD_PREFIX) + BUNDLE_DIGEST_HEX];
	struct zipw z;
	size_t i, j;
	int rc;

	rc = zipw_open(&z, out, e);
	if (rc < 0)
		return rc;
	rc = zipw_add_bytes(&z, BUNDLE_MANIFEST_NAME, manifest,
			    strlen(manifest), e);
	for (i = 0; rc == 0 && i < n; i++) {
		for (j = 0; j < i; j++) /* same bytes given twice: once */
			if (strcmp(p[j].bp_digest, p[i].bp_digest) == 0)
				break;
		if (j < i)
			continue;
		snprintf(name, sizeof(name), BUNDLE_PAYLOAD_PREFIX "%s",
			 p[i].bp_digest);
		rc = zipw_add_file(&z, name, p[i].bp_path, p[i].bp_digest,
				   p[i].bp_size, e);
	}
	if (rc < 0) {
		zipw_abort(&z);
		return rc;
	}
	return zipw_commit(&z, e);
}

int bundle_build(const char *manifest_json, const char *const *payloads,
		 size_t npayloads, const char *out, struct seam_err *e)
{
	struct bundle_manifest check;
	struct build_payload *p;
	json_error_t jerr;
	char *text = NULL;
	json_t *root;
	size_t i;
	int rc;

	p = calloc(npayloads + 1, sizeof(*p));
	if (!p)
		return err_set(e, ENOMEM, "out of memory");
	root = json_loads(manifest_json, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		rc = err_set(e, EINVAL,
			     "input manifest is not valid JSON: line "
			     "%d column %d: %s",
			     jerr.line, jerr.column, jerr.text);
		goto out;
	}
	for (i = 0; i < npayloads; i++) {
		p[i].bp_path = payloads[i];
		rc = bundle_hash_file(payloads[i], BUNDLE_MAX_PAYLOAD,
				      p[i].bp_digest, &p[i].bp_size, e);
		if (rc < 0)
			goto out;
	}
	if ((rc = build_fill(root, p, npayloads, e)) < 0)
		goto out;
	text = json_dumps(root, JSON_INDENT(2));
	if (!text) {
		rc = err_set(e, ENOMEM, "out of memory");
		goto out;
	}
	if (strlen(text) + 1 > BUNDLE_MAX_MANIFEST) {
		rc = err_set(e, EFBIG,
			     "manifest: oversized: more than %u "
			     "bytes",
			     BUNDLE_MAX_MANIFEST);
		goto out;
	}
	{ /* newline-terminated, like any text file */
		size_t len = strlen(text);
		char *t = realloc(text, len + 2);
		if (!t) {
			rc = err_set(e, ENOMEM, "out of memory");
			goto out;
		}
		text = t;
		memcpy(text + len, "\n", 2);
	}
	rc = bundle_manifest_parse(text, strlen(text), &check, e);
	if (rc < 0)
		goto out;
	bundle_manifest_release(&check);
	rc = build_write(out, text, p, npayloads, e);
out:
	free(text);
	json_decref(root);
	free(p);
	return rc;
}

/* Sign. */

static int sign_copy_entry(struct zipw *z, struct archive *a, const char *name,
			   const struct bundle_component *c, struct seam_err *e)
{
	unsigned char md[crypto_hash_sha256_BYTES];
	char block[WRITE_BLOCK], hex[BUNDLE_DIGEST_HEX];
	crypto_hash_sha256_state h;
	uint64_t total = 0;
	la_ssize_t n;
	int rc;

	rc = zipw_header(z, name, c->c_size, e);
	if (rc < 0)
		return rc;
	crypto_hash_sha256_init(&h);
	while ((n = archive_read_data(a, block, sizeof(block))) > 0) {
		total += (uint64_t)n;
		if (total > c->c_size)
			break;
		crypto_hash_sha256_update(&h, (unsigned char *)block,
					  (size_t)n);
		if ((rc = zipw_data(z, name, block, (size_t)n, e)) < 0)
			return rc;
	}
	if (n < 0)
		return err_set(e, EIO, "%s: reading: %s", name,
			       archive_error_string(a));
	crypto_hash_sha256_final(&h, md);
	sodium_bin2hex(hex, sizeof(hex), md, sizeof(md));
	if (total != c->c_size || strcmp(hex, c->c_digest) != 0)
		return err_set(e, EBADMSG, "%s: changed since it was verified",
			       name);
	return 0;
}

static int sign_copy_payloads(struct zipw *z, const struct bundle *b,
			      struct seam_err *e)
{
	const struct bundle_component *c = NULL;
	struct archive_entry *entry;
	struct archive *a;
	const char *name;
	size_t i, copied = 0, plen = strlen(BUNDLE_PAYLOAD_PREFIX);
	int r = ARCHIVE_OK, rc = 0;

	if (lseek(b->b_fd, 0, SEEK_SET) < 0)
		return err_sys(e, "%s: seek", b->b_path);
	a = archive_read_new();
	if (!a)
		return err_set(e, ENOMEM, "out of memory");
	archive_read_support_format_zip_seekable(a);
	if (archive_read_open_fd(a, b->b_fd, WRITE_BLOCK) != ARCHIVE_OK) {
		rc = err_set(e, EIO, "%s: %s", b->b_path,
			     archive_error_string(a));
		archive_read_free(a);
		return rc;
	}
	while (rc == 0 &&
	       (r = archive_read_next_header(a, &entry)) == ARCHIVE_OK) {
		name = archive_entry_pathname(entry);
		if (!name || strncmp(name, BUNDLE_PAYLOAD_PREFIX, plen) != 0)
			continue;
		for (i = 0, c = NULL; i < b->b_manifest.m_ncomponents; i++)
			if (strcmp(b->b_manifest.m_components[i].c_digest,
				   name + plen) == 0)
				c = &b->b_manifest.m_components[i];
		if (!c) {
			rc = err_set(e, EBADMSG,
				     "%s: changed since it was "
				     "verified",
				     name);
			break;
		}
		rc = sign_copy_entry(z, a, name, c, e);
		if (rc == 0)
			copied++;
	}
	if (rc == 0 && r != ARCHIVE_EOF)
		rc = err_set(e, EIO, "%s: reading: %s", b->b_path,
			     archive_error_string(a));
	if (rc == 0 && copied != b->b_npayloads)
		rc = err_set(e, EBADMSG, "%s: changed since it was verified",
			     b->b_path);
	archive_read_free(a);
	return rc;
}

int bundle_sign(const char *path, const unsigned char secret[BUNDLE_SECRET_LEN],
		struct seam_err *e)
{
	struct bundle_policy inspect = {.bp_inspect = true};
	struct bundle *b = NULL;
	char *sig = NULL;
	struct zipw z;
	int rc;

	b = bundle_open(path, &inspect, e);
	if (!b)
		return e ? -e->code : -EINVAL;
	rc = bundle_sig_make(b->b_manifest_bytes, b->b_manifest_len, secret,
			     &sig, e);
	if (rc < 0)
		goto out;
	rc = zipw_open(&z, path, e);
	if (rc < 0)
		goto out;
	if ((rc = zipw_add_bytes(&z, BUNDLE_MANIFEST_NAME, b->b_manifest_bytes,
				 b->b_manifest_len, e)) < 0 ||
	    (rc = zipw_add_bytes(&z, BUNDLE_SIG_NAME, sig, strlen(sig), e)) <
		0 ||
	    (rc = sign_copy_payloads(&z, b, e)) < 0) {
		zipw_abort(&z);
		goto out;
	}
	rc = zipw_commit(&z, e);
out:
	free(sig);
	bundle_free(b);
	return rc;
}
