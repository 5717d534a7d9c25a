/*
 * bundle.c — open, verify and extract Seam bundles (see bundle.h).
 *
 * One pass over the archive does all the reading: each entry's header is
 * checked before any of its bytes are read, manifest and signature are read
 * into bounded buffers, and payloads are streamed through SHA-256 with a
 * byte count that stops at the size limit, however large the header claims
 * the entry is (a zip bomb stops at the limit). Only after the pass, with
 * every byte seen, come the decisions that need the whole picture: the
 * signature and its trust, the manifest, and the manifest's digests and
 * sizes against the payloads actually present. The archive is read with
 * libarchive's seekable zip reader, which trusts the central directory —
 * the same view every Seam reader gets.
 */
#include "bundle.h"

#include "afile.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BUNDLE_BLOCK (64 * 1024)

struct scan_payload {
	char sp_digest[BUNDLE_DIGEST_HEX]; /* from the entry name */
	uint64_t sp_size;
};

struct scan {
	uint64_t max_payload;
	uint64_t max_manifest;
	unsigned max_entries;
	char **names;
	size_t nnames;
	char *manifest;
	size_t manifest_len;
	char *sig;
	size_t sig_len;
	struct scan_payload *payloads;
	size_t npayloads;
};

static const char *const level_names[] = {
    [BUNDLE_LEVEL_UNSET] = "unset",
    [BUNDLE_LEVEL_COMMUNITY] = "community",
    [BUNDLE_LEVEL_PARTNER] = "partner",
    [BUNDLE_LEVEL_CERTIFIED] = "certified",
};

const char *bundle_level_name(enum bundle_level level)
{
	if ((unsigned)level > BUNDLE_LEVEL_CERTIFIED)
		return "invalid";
	return level_names[level];
}

int bundle_level_parse(const char *name, enum bundle_level *level,
		       struct seam_err *e)
{
	int i;

	for (i = BUNDLE_LEVEL_COMMUNITY; i <= BUNDLE_LEVEL_CERTIFIED; i++)
		if (strcmp(name, level_names[i]) == 0) {
			*level = (enum bundle_level)i;
			return 0;
		}
	return err_set(e, EINVAL,
		       "unknown acceptance level \"%.40s\" "
		       "(expected certified, partner or community)",
		       name);
}

static void bundle_hex(const unsigned char *bin, size_t len, char *hex)
{
	sodium_bin2hex(hex, len * 2 + 1, bin, len);
}

static bool bundle_is_digest(const char *s)
{
	size_t i;

	for (i = 0; i < BUNDLE_DIGEST_HEX - 1; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[i] == '\0';
}

static bool bundle_has_dotdot(const char *name)
{
	const char *p = name;

	while (*p) {
		size_t len = strcspn(p, "/");
		if (len == 2 && p[0] == '.' && p[1] == '.')
			return true;
		p += len;
		if (*p == '/')
			p++;
	}
	return false;
}

static const char *bundle_type_name(mode_t type)
{
	switch (type) {
	case AE_IFDIR:
		return "directory";
	case AE_IFCHR:
		return "character device";
	case AE_IFBLK:
		return "block device";
	case AE_IFIFO:
		return "named pipe";
	case AE_IFSOCK:
		return "socket";
	default:
		return "non-regular entry";
	}
}

/* The entry's name, in whichever form libarchive could decode. */
static const char *bundle_entry_name(struct archive_entry *entry)
{
	const char *name = archive_entry_pathname(entry);

	return name ? name : archive_entry_pathname_utf8(entry);
}

int bundle_check_entry(struct archive_entry *entry,
		       enum bundle_entry_kind *kind, struct seam_err *e)
{
	const char *name = bundle_entry_name(entry);
	const char *link;

	if (!name || !*name)
		return err_set(e, EINVAL,
			       "entry with an empty or undecodable "
			       "name");
	if (name[0] == '/')
		return err_set(e, EINVAL,
			       "entry '%.200s': absolute path not "
			       "allowed",
			       name);
	if (strchr(name, '\\'))
		return err_set(e, EINVAL,
			       "entry '%.200s': backslash in a name "
			       "not allowed",
			       name);
	if (bundle_has_dotdot(name))
		return err_set(e, EINVAL,
			       "entry '%.200s': '..' path component "
			       "not allowed",
			       name);
	link = archive_entry_hardlink(entry);
	if (link)
		return err_set(e, EINVAL,
			       "entry '%.200s': hard link (to "
			       "'%.200s') not allowed; a bundle holds regular "
			       "files only",
			       name, link);
	if (archive_entry_filetype(entry) == AE_IFLNK) {
		link = archive_entry_symlink(entry);
		return err_set(e, EINVAL,
			       "entry '%.200s': symbolic link (to "
			       "'%.200s') not allowed; a bundle holds regular "
			       "files only",
			       name, link ? link : "?");
	}
	if (archive_entry_filetype(entry) != AE_IFREG)
		return err_set(e, EINVAL,
			       "entry '%.200s': %s not allowed; a "
			       "bundle holds regular files only",
			       name,
			       bundle_type_name(archive_entry_filetype(entry)));
	if (strcmp(name, BUNDLE_MANIFEST_NAME) == 0)
		*kind = BUNDLE_ENTRY_MANIFEST;
	else if (strcmp(name, BUNDLE_SIG_NAME) == 0)
		*kind = BUNDLE_ENTRY_SIG;
	else if (strncmp(name, BUNDLE_PAYLOAD_PREFIX,
			 strlen(BUNDLE_PAYLOAD_PREFIX)) == 0 &&
		 bundle_is_digest(name + strlen(BUNDLE_PAYLOAD_PREFIX)))
		*kind = BUNDLE_ENTRY_PAYLOAD;
	else
		return err_set(e, EINVAL,
			       "entry '%.200s': unexpected name (a "
			       "bundle holds only " BUNDLE_MANIFEST_NAME
			       ", " BUNDLE_SIG_NAME
			       " and " BUNDLE_PAYLOAD_PREFIX "<sha256-hex>)",
			       name);
	return 0;
}

/* Open libarchive's seekable zip reader on `fd`, from its start. */
static int bundle_archive_open(int fd, const char *path, struct archive **out,
			       struct seam_err *e)
{
	struct archive *a;

	*out = NULL;
	if (lseek(fd, 0, SEEK_SET) < 0)
		return err_sys(e, "bundle %s: seek", path);
	a = archive_read_new();
	if (!a)
		return err_set(e, ENOMEM, "bundle %s: out of memory", path);
	if (archive_read_support_format_zip_seekable(a) != ARCHIVE_OK ||
	    archive_read_open_fd(a, fd, BUNDLE_BLOCK) != ARCHIVE_OK) {
		int rc = err_set(e, EINVAL,
				 "bundle %s: truncated or corrupt "
				 "archive (not a readable zip): %s",
				 path, archive_error_string(a));
		archive_read_free(a);
		return rc;
	}
	*out = a;
	return 0;
}

static int bundle_archive_error(struct archive *a, const char *path,
				const char *where, struct seam_err *e)
{
	const char *msg = archive_error_string(a);

	return err_set(e, EINVAL,
		       "bundle %s: truncated or corrupt archive "
		       "%s: %s",
		       path, where, msg ? msg : "unknown error");
}

/*
 * Read the current entry's data: at most `limit` bytes (more is an
 * oversized entry), hashed into `h` when given, kept in *keep when given.
 */
static int scan_read_data(struct archive *a, const char *path, const char *name,
			  const char *what, uint64_t limit,
			  crypto_hash_sha256_state *h, char **keep,
			  uint64_t *size, struct seam_err *e)
{
	char block[BUNDLE_BLOCK], where[300];
	char *buf = NULL;
	uint64_t total = 0;
	la_ssize_t n;

	for (;;) {
		n = archive_read_data(a, block, sizeof(block));
		if (n == 0)
			break;
		if (n < 0) {
			free(buf);
			snprintf(where, sizeof(where), "in entry '%s'", name);
			return bundle_archive_error(a, path, where, e);
		}
		if (total + (uint64_t)n > limit) {
			free(buf);
			return err_set(e, EFBIG,
				       "entry '%s': oversized: more "
				       "than %llu bytes, the limit for %s",
				       name, (unsigned long long)limit, what);
		}
		if (h)
			crypto_hash_sha256_update(h, (unsigned char *)block,
						  (size_t)n);
		if (keep) {
			char *nb = realloc(buf, total + (size_t)n + 1);
			if (!nb) {
				free(buf);
				return err_set(e, ENOMEM,
					       "entry '%s': out of "
					       "memory",
					       name);
			}
			buf = nb;
			memcpy(buf + total, block, (size_t)n);
			buf[total + (size_t)n] = '\0';
		}
		total += (uint64_t)n;
	}
	if (keep) {
		if (!buf)
			buf = calloc(1, 1);
		if (!buf)
			return err_set(e, ENOMEM, "out of memory");
		*keep = buf;
	}
	*size = total;
	return 0;
}

static int scan_payload(struct scan *s, struct archive *a, const char *path,
			const char *name, struct seam_err *e)
{
	unsigned char md[crypto_hash_sha256_BYTES];
	char hex[BUNDLE_DIGEST_HEX];
	crypto_hash_sha256_state h;
	struct scan_payload *sp;
	uint64_t size;
	int rc;

	crypto_hash_sha256_init(&h);
	rc = scan_read_data(a, path, name, "a payload", s->max_payload, &h,
			    NULL, &size, e);
	if (rc < 0)
		return rc;
	crypto_hash_sha256_final(&h, md);
	bundle_hex(md, sizeof(md), hex);
	name += strlen(BUNDLE_PAYLOAD_PREFIX);
	if (strcmp(hex, name) != 0)
		return err_set(e, EBADMSG,
			       "digest mismatch: entry '" BUNDLE_PAYLOAD_PREFIX
			       "%s' holds data whose "
			       "SHA-256 is %s",
			       name, hex);
	sp = realloc(s->payloads, (s->npayloads + 1) * sizeof(*sp));
	if (!sp)
		return err_set(e, ENOMEM, "out of memory");
	s->payloads = sp;
	memcpy(sp[s->npayloads].sp_digest, hex, sizeof(hex));
	sp[s->npayloads].sp_size = size;
	s->npayloads++;
	return 0;
}

static int scan_note_name(struct scan *s, const char *name, struct seam_err *e)
{
	char **names;
	size_t i;

	for (i = 0; i < s->nnames; i++)
		if (strcmp(s->names[i], name) == 0)
			return err_set(e, EINVAL,
				       "entry '%.200s': duplicate "
				       "name (appears more than once)",
				       name);
	names = realloc(s->names, (s->nnames + 1) * sizeof(char *));
	if (!names)
		return err_set(e, ENOMEM, "out of memory");
	s->names = names;
	s->names[s->nnames] = strdup(name);
	if (!s->names[s->nnames])
		return err_set(e, ENOMEM, "out of memory");
	s->nnames++;
	return 0;
}

static int scan_entry(struct scan *s, struct archive *a,
		      struct archive_entry *entry, const char *path,
		      struct seam_err *e)
{
	enum bundle_entry_kind kind;
	const char *name;
	uint64_t limit, size = 0;
	const char *what;
	int rc;

	rc = bundle_check_entry(entry, &kind, e);
	if (rc < 0)
		return rc;
	name = bundle_entry_name(entry);
	rc = scan_note_name(s, name, e);
	if (rc < 0)
		return rc;
	switch (kind) {
	case BUNDLE_ENTRY_MANIFEST:
		limit = s->max_manifest;
		what = "the manifest";
		break;
	case BUNDLE_ENTRY_SIG:
		limit = BUNDLE_MAX_SIG;
		what = "the signature";
		break;
	default:
		limit = s->max_payload;
		what = "a payload";
		break;
	}
	if (archive_entry_size_is_set(entry) &&
	    (uint64_t)archive_entry_size(entry) > limit)
		return err_set(e, EFBIG,
			       "entry '%s': oversized: %lld bytes, "
			       "more than %llu bytes, the limit for %s",
			       name, (long long)archive_entry_size(entry),
			       (unsigned long long)limit, what);
	switch (kind) {
	case BUNDLE_ENTRY_MANIFEST:
		rc = scan_read_data(a, path, name, what, limit, NULL,
				    &s->manifest, &size, e);
		s->manifest_len = (size_t)size;
		return rc;
	case BUNDLE_ENTRY_SIG:
		rc = scan_read_data(a, path, name, what, limit, NULL, &s->sig,
				    &size, e);
		s->sig_len = (size_t)size;
		return rc;
	default:
		return scan_payload(s, a, path, name, e);
	}
}

static int scan_archive(struct scan *s, int fd, const char *path,
			struct seam_err *e)
{
	struct archive_entry *entry;
	struct archive *a;
	unsigned count = 0;
	char where[64];
	int r, rc;

	rc = bundle_archive_open(fd, path, &a, e);
	if (rc < 0)
		return rc;
	for (;;) {
		r = archive_read_next_header(a, &entry);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK) {
			snprintf(where, sizeof(where), "after %u entries",
				 count);
			rc = bundle_archive_error(a, path, where, e);
			break;
		}
		if (++count > s->max_entries) {
			rc = err_set(e, EFBIG,
				     "bundle %s: oversized: more than "
				     "%u entries",
				     path, s->max_entries);
			break;
		}
		rc = scan_entry(s, a, entry, path, e);
		if (rc < 0)
			break;
	}
	archive_read_free(a);
	if (rc == 0 && !s->manifest)
		rc = err_set(e, EINVAL,
			     "bundle %s: no " BUNDLE_MANIFEST_NAME
			     " in the archive",
			     path);
	return rc;
}

static void scan_release(struct scan *s)
{
	size_t i;

	for (i = 0; i < s->nnames; i++)
		free(s->names[i]);
	free(s->names);
	free(s->manifest);
	free(s->sig);
	free(s->payloads);
}

/* Signature and trust: fills b->b_signer and b->b_level. */
static int bundle_check_signature(struct bundle *b, struct scan *s,
				  const struct bundle_policy *p,
				  const struct bundle_trust *trust,
				  const char *trust_name, enum bundle_level min,
				  struct seam_err *e)
{
	struct bundle_signer *sg = &b->b_signer;
	int rc;

	if (s->sig) {
		rc = bundle_sig_check(s->sig, s->sig_len, s->manifest,
				      s->manifest_len, sg, e);
		if (rc < 0)
			return rc;
	}
	b->b_level = BUNDLE_LEVEL_COMMUNITY;
	if (p->bp_inspect)
		return 0;
	b->b_trust_checked = true;
	if (!s->sig) {
		if (min > BUNDLE_LEVEL_COMMUNITY)
			return err_set(e, EPERM,
				       "unsigned bundle: no " BUNDLE_SIG_NAME
				       ", and signatures are "
				       "required (lowest accepted level is "
				       "%s; an unsigned bundle is community "
				       "level and is accepted only when "
				       "community is)",
				       bundle_level_name(min));
		return 0;
	}
	sg->s_level = bundle_trust_lookup(trust, sg->s_key);
	if (sg->s_level == BUNDLE_LEVEL_UNSET)
		return err_set(e, EPERM,
			       "untrusted key: manifest signed with "
			       "key %s, which the trust store (%s) does not "
			       "list at any level",
			       sg->s_key_id, trust_name);
	sg->s_trusted = true;
	b->b_level = sg->s_level;
	if (sg->s_level < min)
		return err_set(e, EPERM,
			       "key %s is trusted at level %s, below "
			       "the lowest accepted level %s",
			       sg->s_key_id, bundle_level_name(sg->s_level),
			       bundle_level_name(min));
	return 0;
}

static int bundle_check_levels(const struct bundle *b, enum bundle_level min,
			       struct seam_err *e)
{
	const struct bundle_manifest *m = &b->b_manifest;
	char vbuf[VERSION_TEXT_MAX];
	size_t i;

	for (i = 0; i < m->m_ncomponents; i++) {
		const struct bundle_component *c = &m->m_components[i];
		if (c->c_level > b->b_level)
			return err_set(
			    e, EPERM,
			    "component '%s' %s declares "
			    "acceptance level %s, but the bundle is "
			    "only trusted at %s%s",
			    c->c_name, VERSION_STR(&c->c_version, vbuf),
			    bundle_level_name(c->c_level),
			    bundle_level_name(b->b_level),
			    b->b_signer.s_signed ? "" : " (unsigned)");
		if (c->c_level < min)
			return err_set(e, EPERM,
				       "component '%s' %s: acceptance "
				       "level %s is below the lowest accepted "
				       "level %s",
				       c->c_name,
				       VERSION_STR(&c->c_version, vbuf),
				       bundle_level_name(c->c_level),
				       bundle_level_name(min));
	}
	return 0;
}

/* Manifest digests and sizes against the payloads actually present. */
static int bundle_check_payloads(const struct bundle *b, const struct scan *s,
				 struct seam_err *e)
{
	const struct bundle_manifest *m = &b->b_manifest;
	char vbuf[VERSION_TEXT_MAX];
	size_t i, j;

	for (i = 0; i < m->m_ncomponents; i++) {
		const struct bundle_component *c = &m->m_components[i];
		for (j = 0; j < s->npayloads; j++)
			if (strcmp(s->payloads[j].sp_digest, c->c_digest) == 0)
				break;
		if (j == s->npayloads)
			return err_set(e, EINVAL,
				       "missing payload: component "
				       "'%s' %s names payload %s, which is not "
				       "in the bundle",
				       c->c_name,
				       VERSION_STR(&c->c_version, vbuf),
				       c->c_digest);
		if (s->payloads[j].sp_size != c->c_size)
			return err_set(
			    e, EINVAL,
			    "size mismatch: component "
			    "'%s' %s payload %s: the manifest says "
			    "%llu bytes, the archive holds %llu",
			    c->c_name, VERSION_STR(&c->c_version, vbuf),
			    c->c_digest, (unsigned long long)c->c_size,
			    (unsigned long long)s->payloads[j].sp_size);
	}
	for (j = 0; j < s->npayloads; j++) {
		for (i = 0; i < m->m_ncomponents; i++)
			if (strcmp(s->payloads[j].sp_digest,
				   m->m_components[i].c_digest) == 0)
				break;
		if (i == m->m_ncomponents)
			return err_set(
			    e, EINVAL,
			    "unreferenced payload: entry " BUNDLE_PAYLOAD_PREFIX
			    "%s is not named "
			    "by any component",
			    s->payloads[j].sp_digest);
	}
	return 0;
}

static void scan_limits(struct scan *s, const struct bundle_policy *p)
{
	s->max_payload =
	    p->bp_max_payload ? p->bp_max_payload : BUNDLE_MAX_PAYLOAD;
	s->max_manifest =
	    p->bp_max_manifest ? p->bp_max_manifest : BUNDLE_MAX_MANIFEST;
	s->max_entries =
	    p->bp_max_entries ? p->bp_max_entries : BUNDLE_MAX_ENTRIES;
}

/* Everything after the archive pass. */
static int bundle_verify(struct bundle *b, struct scan *s,
			 const struct bundle_policy *p, struct seam_err *e)
{
	enum bundle_level min =
	    p->bp_min_level ? p->bp_min_level : BUNDLE_LEVEL_PARTNER;
	struct bundle_trust *loaded = NULL;
	const struct bundle_trust *trust = p->bp_trust;
	const char *trust_name = p->bp_trust	   ? "given"
				 : p->bp_trust_dir ? p->bp_trust_dir
						   : "empty";
	int rc;

	if (!p->bp_inspect && !trust) {
		rc = bundle_trust_load(p->bp_trust_dir, &loaded, e);
		if (rc < 0)
			return rc;
		trust = loaded;
	}
	rc = bundle_check_signature(b, s, p, trust, trust_name, min, e);
	bundle_trust_free(loaded);
	if (rc < 0)
		return rc;
	rc = bundle_manifest_parse(s->manifest, s->manifest_len, &b->b_manifest,
				   e);
	if (rc < 0)
		return rc;
	if (!p->bp_inspect) {
		rc = bundle_check_levels(b, min, e);
		if (rc < 0)
			return rc;
	}
	return bundle_check_payloads(b, s, e);
}

static int bundle_open_checked(const char *path,
			       const struct bundle_policy *policy,
			       struct bundle **out, struct seam_err *e)
{
	struct scan s = {0};
	struct bundle *b;
	struct stat st;
	int rc;

	*out = NULL;
	if (!policy)
		return err_set(e, EINVAL, "bundle %s: no policy given", path);
	if (sodium_init() < 0)
		return err_set(e, EIO, "libsodium failed to initialise");
	b = calloc(1, sizeof(*b));
	if (!b)
		return err_set(e, ENOMEM, "out of memory");
	b->b_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (b->b_fd < 0) {
		rc = err_sys(e, "bundle %s: cannot open", path);
		goto fail;
	}
	if (fstat(b->b_fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		rc = err_set(e, EINVAL, "bundle %s: not a regular file", path);
		goto fail;
	}
	b->b_path = strdup(path);
	if (!b->b_path) {
		rc = err_set(e, ENOMEM, "out of memory");
		goto fail;
	}
	scan_limits(&s, policy);
	rc = scan_archive(&s, b->b_fd, path, e);
	if (rc < 0)
		goto fail;
	rc = bundle_verify(b, &s, policy, e);
	if (rc < 0)
		goto fail;
	b->b_manifest_bytes = s.manifest;
	b->b_manifest_len = s.manifest_len;
	b->b_npayloads = s.npayloads;
	s.manifest = NULL;
	scan_release(&s);
	*out = b;
	return 0;
fail:
	scan_release(&s);
	bundle_free(b);
	return rc;
}

struct bundle *bundle_open(const char *path, const struct bundle_policy *policy,
			   struct seam_err *e)
{
	struct bundle *b = NULL;

	if (bundle_open_checked(path, policy, &b, e) < 0)
		return NULL;
	return b;
}

void bundle_free(struct bundle *b)
{
	if (!b)
		return;
	if (b->b_fd >= 0)
		close(b->b_fd);
	bundle_manifest_release(&b->b_manifest);
	free(b->b_manifest_bytes);
	free(b->b_path);
	free(b);
}

const struct bundle_component *
bundle_find_component(const struct bundle *b, const char *name,
		      const struct seam_version *version)
{
	size_t i;

	for (i = 0; i < b->b_manifest.m_ncomponents; i++) {
		const struct bundle_component *c =
		    &b->b_manifest.m_components[i];
		if (strcmp(c->c_name, name) == 0 &&
		    (!version || version_equal(&c->c_version, version)))
			return c;
	}
	return NULL;
}

const struct bundle_base_image *
bundle_find_base_image(const struct bundle *b,
		       const struct seam_version *version)
{
	size_t i;

	for (i = 0; i < b->b_manifest.m_nbase_images; i++)
		if (version_equal(&b->b_manifest.m_base_images[i].bi_version,
				  version))
			return &b->b_manifest.m_base_images[i];
	return NULL;
}

static bool bundle_version_in(const struct seam_version *list, size_t n,
			      const struct seam_version *v)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (version_equal(&list[i], v))
			return true;
	return false;
}

bool bundle_component_live_patchable_from(const struct bundle_component *c,
					  const struct seam_version *from)
{
	return c->c_live_patchable &&
	       bundle_version_in(c->c_live_patch_from, c->c_nlive_patch_from,
				 from);
}

bool bundle_base_live_patchable_from(const struct bundle_base_image *bi,
				     const struct seam_version *from)
{
	return bi->bi_live_patchable &&
	       bundle_version_in(bi->bi_live_patch_from,
				 bi->bi_nlive_patch_from, from);
}

/* Extraction. */

static const struct bundle_component *
bundle_component_by_digest(const struct bundle *b, const char *digest)
{
	size_t i;

	for (i = 0; i < b->b_manifest.m_ncomponents; i++)
		if (strcmp(b->b_manifest.m_components[i].c_digest, digest) == 0)
			return &b->b_manifest.m_components[i];
	return NULL;
}

/* Copy the current entry to `dest`, re-checking digest and size. */
static int bundle_extract_entry(const struct bundle *b, struct archive *a,
				const struct bundle_component *c,
				const char *dest, struct seam_err *e)
{
	unsigned char md[crypto_hash_sha256_BYTES];
	char block[BUNDLE_BLOCK], hex[BUNDLE_DIGEST_HEX];
	crypto_hash_sha256_state h;
	uint64_t total = 0;
	struct afile f;
	la_ssize_t n;
	int rc;

	rc = afile_open(&f, dest, 0644, e);
	if (rc < 0)
		return rc;
	crypto_hash_sha256_init(&h);
	while ((n = archive_read_data(a, block, sizeof(block))) > 0) {
		total += (uint64_t)n;
		if (total > c->c_size) {
			rc = err_set(e, EBADMSG,
				     "payload %s: larger than its "
				     "%llu bytes (bundle %s changed since it "
				     "was verified?)",
				     c->c_digest, (unsigned long long)c->c_size,
				     b->b_path);
			goto fail;
		}
		crypto_hash_sha256_update(&h, (unsigned char *)block,
					  (size_t)n);
		if ((rc = afile_write(&f, block, (size_t)n, e)) < 0)
			goto fail;
	}
	if (n < 0) {
		rc = bundle_archive_error(a, b->b_path, "while extracting", e);
		goto fail;
	}
	crypto_hash_sha256_final(&h, md);
	bundle_hex(md, sizeof(md), hex);
	if (total != c->c_size || strcmp(hex, c->c_digest) != 0) {
		rc = err_set(e, EBADMSG,
			     "payload %s: digest or size mismatch "
			     "on extraction (bundle %s changed since it was "
			     "verified?)",
			     c->c_digest, b->b_path);
		goto fail;
	}
	return afile_commit(&f, e);
fail:
	afile_abort(&f);
	return rc;
}

/*
 * One pass over the archive: for each payload entry that `want` selects,
 * extract it to the path made by `dest_of`. Stops at the first failure.
 */
static int bundle_extract_pass(const struct bundle *b, const char *digest,
			       const char *dest, const char *dir, size_t *done,
			       char (*done_paths)[4096], struct seam_err *e)
{
	const struct bundle_component *c;
	struct archive_entry *entry;
	struct archive *a;
	char path[4096];
	const char *name, *d;
	size_t plen = strlen(BUNDLE_PAYLOAD_PREFIX);
	int r, rc;

	rc = bundle_archive_open(b->b_fd, b->b_path, &a, e);
	if (rc < 0)
		return rc;
	while ((r = archive_read_next_header(a, &entry)) == ARCHIVE_OK) {
		name = bundle_entry_name(entry);
		if (!name || strncmp(name, BUNDLE_PAYLOAD_PREFIX, plen) != 0)
			continue;
		d = name + plen;
		if (digest && strcmp(d, digest) != 0)
			continue;
		c = bundle_component_by_digest(b, d);
		if (!c) {
			rc = err_set(e, EINVAL,
				     "bundle %s: payload %s is not "
				     "in the verified manifest (bundle "
				     "changed?)",
				     b->b_path, d);
			break;
		}
		if (dir)
			snprintf(path, sizeof(path), "%s/%s", dir, d);
		else
			snprintf(path, sizeof(path), "%s", dest);
		rc = bundle_extract_entry(b, a, c, path, e);
		if (rc < 0)
			break;
		if (done_paths)
			memcpy(done_paths[*done], path, sizeof(path));
		(*done)++;
		if (digest)
			break;
	}
	if (rc == 0 && r != ARCHIVE_OK && r != ARCHIVE_EOF)
		rc = bundle_archive_error(a, b->b_path, "while extracting", e);
	archive_read_free(a);
	return rc;
}

int bundle_extract_payload(const struct bundle *b, const char *digest,
			   const char *dest, struct seam_err *e)
{
	size_t done = 0;
	int rc;

	if (!bundle_component_by_digest(b, digest))
		return err_set(e, ENOENT,
			       "bundle %s: no component names "
			       "payload %.80s",
			       b->b_path, digest);
	rc = bundle_extract_pass(b, digest, dest, NULL, &done, NULL, e);
	if (rc == 0 && done == 0)
		rc = err_set(e, ENOENT,
			     "bundle %s: payload %s not found on "
			     "extraction (bundle changed?)",
			     b->b_path, digest);
	return rc;
}

int bundle_extract_payloads(const struct bundle *b, const char *dir,
			    struct seam_err *e)
{
	char(*paths)[4096];
	size_t done = 0, i;
	int rc;

	paths = calloc(b->b_npayloads + 1, sizeof(*paths));
	if (!paths)
		return err_set(e, ENOMEM, "out of memory");
	rc = bundle_extract_pass(b, NULL, NULL, dir, &done, paths, e);
	if (rc == 0 && done != b->b_npayloads)
		rc = err_set(e, EINVAL,
			     "bundle %s: found %zu payloads on "
			     "extraction, %zu when verified (bundle changed?)",
			     b->b_path, done, b->b_npayloads);
	if (rc < 0) /* all or nothing */
		for (i = 0; i < done; i++)
			unlink(paths[i]);
	free(paths);
	return rc;
}

int bundle_hash_file(const char *path, uint64_t max,
		     char digest[BUNDLE_DIGEST_HEX], uint64_t *size,
		     struct seam_err *e)
{
	unsigned char md[crypto_hash_sha256_BYTES];
	char block[BUNDLE_BLOCK];
	crypto_hash_sha256_state h;
	uint64_t total = 0;
	ssize_t n;
	int fd;

	if (sodium_init() < 0)
		return err_set(e, EIO, "libsodium failed to initialise");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, "%s: cannot open", path);
	crypto_hash_sha256_init(&h);
	while ((n = read(fd, block, sizeof(block))) > 0) {
		total += (uint64_t)n;
		if (total > max) {
			close(fd);
			return err_set(e, EFBIG,
				       "%s: oversized: more than "
				       "%llu bytes",
				       path, (unsigned long long)max);
		}
		crypto_hash_sha256_update(&h, (unsigned char *)block,
					  (size_t)n);
	}
	if (n < 0) {
		int rc = err_sys(e, "%s: read", path);
		close(fd);
		return rc;
	}
	close(fd);
	crypto_hash_sha256_final(&h, md);
	bundle_hex(md, sizeof(md), digest);
	*size = total;
	return 0;
}
