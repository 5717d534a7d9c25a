/*
 * bundle.h — Seam bundles: build, sign, open, verify, extract.
 *
 * A bundle (DESIGN §3, docs/bundles.md) is a zip archive with exactly:
 *   manifest.json        the manifest (format 1), at most 1 MiB
 *   manifest.sig         optional: a detached Ed25519 signature over the
 *                        manifest's exact bytes, with the signer's public key
 *   payloads/<sha256>    one per payload, named by the SHA-256 of its bytes
 * Nothing else: no directories, no links, no other names, no duplicates.
 *
 * bundle_open() reads the whole archive once, hashing every payload as it
 * streams by, and checks everything — the archive's structure, every name,
 * size and digest, the signature and the signer's trust, the manifest — before
 * it returns a bundle. It writes nothing. A refused bundle comes back as a
 * message that names the problem and the entry, field or digest at fault.
 * Payloads are extracted later, one by one, by digest: the entry is re-read,
 * re-hashed while it is written aside, and renamed into place only when its
 * digest and size match the manifest again.
 *
 * Trust: a trust store holds public keys per acceptance level (a directory
 * with certified/, partner/, community/ subdirectories of *.pub files). A
 * signed bundle is trusted at the highest level its key is listed under; an
 * unsigned bundle is `community`. The policy names the lowest level accepted;
 * every component must declare a level no higher than the bundle's trust and
 * no lower than that minimum.
 */
#ifndef SEAM_BUNDLE_H
#define SEAM_BUNDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "version.h"

#define BUNDLE_FORMAT 1
#define BUNDLE_MANIFEST_NAME "manifest.json"
#define BUNDLE_SIG_NAME "manifest.sig"
#define BUNDLE_PAYLOAD_PREFIX "payloads/"
#define BUNDLE_MAX_MANIFEST (1u << 20) /* 1 MiB */
#define BUNDLE_MAX_SIG 4096u
#define BUNDLE_MAX_PAYLOAD (512ull << 20) /* 512 MiB per payload */
#define BUNDLE_MAX_ENTRIES 1024u
#define BUNDLE_DIGEST_LEN 32
#define BUNDLE_DIGEST_HEX 65 /* 64 hex digits + NUL */
#define BUNDLE_KEY_LEN 32    /* Ed25519 public key */
#define BUNDLE_SECRET_LEN 64 /* Ed25519 secret key */
#define BUNDLE_KEY_ID_HEX 17 /* 16 hex digits + NUL */
#define BUNDLE_NAME_MAX 64   /* component / add-on names */

/* Acceptance levels, lowest first. 0 is "unset" (the policy default). */
enum bundle_level {
	BUNDLE_LEVEL_UNSET = 0,
	BUNDLE_LEVEL_COMMUNITY,
	BUNDLE_LEVEL_PARTNER,
	BUNDLE_LEVEL_CERTIFIED,
};

struct bundle_component {
	char *c_name;
	struct seam_version c_version;
	enum bundle_level c_level;
	char c_digest[BUNDLE_DIGEST_HEX]; /* payload SHA-256, hex */
	uint64_t c_size;		  /* payload size in bytes */
	char **c_scripts;		  /* "03_vmx-scan", ... sorted */
	size_t c_nscripts;
	bool c_live_patchable; /* live_patch_from present */
	struct seam_version *c_live_patch_from;
	size_t c_nlive_patch_from;
	bool c_fsr_required; /* running VMs must FSR */
	char *c_description; /* may be NULL */
};

/* A (name, version) reference from a base image or add-on. */
struct bundle_ref {
	char *r_name;
	struct seam_version r_version;
};

struct bundle_base_image {
	struct seam_version bi_version;
	struct bundle_ref *bi_components;
	size_t bi_ncomponents;
	bool bi_live_patchable; /* live_patch_from present */
	struct seam_version *bi_live_patch_from;
	size_t bi_nlive_patch_from;
	char *bi_description; /* may be NULL */
};

struct bundle_addon {
	char *a_name;
	struct seam_version a_version;
	struct seam_version *a_base_versions; /* bases it applies to */
	size_t a_nbase_versions;
	struct bundle_ref *a_components;
	size_t a_ncomponents;
	char *a_description; /* may be NULL */
};

struct bundle_manifest {
	int m_format;
	char *m_name;	     /* may be NULL */
	char *m_description; /* may be NULL */
	struct bundle_base_image *m_base_images;
	size_t m_nbase_images;
	struct bundle_addon *m_addons;
	size_t m_naddons;
	struct bundle_component *m_components;
	size_t m_ncomponents;
};

struct bundle_signer {
	bool s_signed; /* manifest.sig present, valid */
	unsigned char s_key[BUNDLE_KEY_LEN];
	char s_key_id[BUNDLE_KEY_ID_HEX];
	bool s_trusted;		   /* key found in the trust store */
	enum bundle_level s_level; /* its level when trusted */
};

struct bundle {
	char *b_path;
	int b_fd;		/* the opened archive, or -1 */
	char *b_manifest_bytes; /* exactly as signed */
	size_t b_manifest_len;
	struct bundle_manifest b_manifest;
	struct bundle_signer b_signer;
	bool b_trust_checked;	   /* false when opened to inspect */
	enum bundle_level b_level; /* trust: signer's, or community */
	size_t b_npayloads;
};

struct bundle_trust;

struct bundle_policy {
	/* Keys: bp_trust if set, else loaded from bp_trust_dir. */
	const struct bundle_trust *bp_trust;
	const char *bp_trust_dir;
	/* Lowest level accepted; UNSET means partner (signed bundles only). */
	enum bundle_level bp_min_level;
	/* Inspect: check everything except trust (keys and levels). */
	bool bp_inspect;
	/* Limits; 0 means the BUNDLE_MAX_* default. */
	uint64_t bp_max_payload;
	uint64_t bp_max_manifest;
	unsigned bp_max_entries;
};

/* Levels. */
const char *bundle_level_name(enum bundle_level level);
int bundle_level_parse(const char *name, enum bundle_level *level,
		       struct seam_err *e);

/*
 * Opening and reading. bundle_open() returns an owned bundle, verified
 * completely under `policy`, or NULL with `e` saying why (e->code is the
 * errno value). bundle_free(NULL) is a no-op.
 */
struct bundle *bundle_open(const char *path, const struct bundle_policy *policy,
			   struct seam_err *e);
void bundle_free(struct bundle *b);
const struct bundle_component *
bundle_find_component(const struct bundle *b, const char *name,
		      const struct seam_version *version);
const struct bundle_base_image *
bundle_find_base_image(const struct bundle *b,
		       const struct seam_version *version);
bool bundle_component_live_patchable_from(const struct bundle_component *c,
					  const struct seam_version *from);
bool bundle_base_live_patchable_from(const struct bundle_base_image *bi,
				     const struct seam_version *from);

/* Extract one payload to `dest` (written aside, fsync'ed, renamed). */
int bundle_extract_payload(const struct bundle *b, const char *digest,
			   const char *dest, struct seam_err *e);
/* Extract every payload into `dir` as dir/<digest>. */
int bundle_extract_payloads(const struct bundle *b, const char *dir,
			    struct seam_err *e);

/* The manifest alone (used by open and build; exposed for tools/tests). */
int bundle_manifest_parse(const char *bytes, size_t len,
			  struct bundle_manifest *m, struct seam_err *e);
void bundle_manifest_release(struct bundle_manifest *m);

/*
 * One archive entry's header check: name, type, links. Exposed so tests can
 * feed it entries a zip cannot carry (hard links). `what` receives the kind.
 */
struct archive_entry;
enum bundle_entry_kind {
	BUNDLE_ENTRY_MANIFEST,
	BUNDLE_ENTRY_SIG,
	BUNDLE_ENTRY_PAYLOAD,
};
int bundle_check_entry(struct archive_entry *entry,
		       enum bundle_entry_kind *kind, struct seam_err *e);

/* Keys (bundle_key.c). Key files: see docs/bundles.md. */
void bundle_key_id(const unsigned char key[BUNDLE_KEY_LEN],
		   char id[BUNDLE_KEY_ID_HEX]);
int bundle_key_generate(const char *dir, const char *name, struct seam_err *e);
int bundle_key_load_public(const char *path, unsigned char key[BUNDLE_KEY_LEN],
			   struct seam_err *e);
int bundle_key_load_secret(const char *path,
			   unsigned char secret[BUNDLE_SECRET_LEN],
			   struct seam_err *e);

/* Trust store: dir/<level>/NAME.pub. A missing directory is an empty store. */
int bundle_trust_load(const char *dir, struct bundle_trust **out,
		      struct seam_err *e);
void bundle_trust_free(struct bundle_trust *t);
size_t bundle_trust_count(const struct bundle_trust *t);
/* The highest level `key` is trusted at, or UNSET. */
enum bundle_level bundle_trust_lookup(const struct bundle_trust *t,
				      const unsigned char key[BUNDLE_KEY_LEN]);

/* The manifest.sig document for `manifest` signed with `secret`. */
int bundle_sig_make(const char *manifest, size_t len,
		    const unsigned char secret[BUNDLE_SECRET_LEN],
		    char **sig_json, struct seam_err *e);
/* Parse manifest.sig and check the signature over `manifest`. */
int bundle_sig_check(const char *sig, size_t sig_len, const char *manifest,
		     size_t len, struct bundle_signer *signer,
		     struct seam_err *e);

/* Writing (bundle_write.c). */
/*
 * Build a bundle from an input manifest (JSON text) and payload files. Each
 * component's "payload" is either {"file": "<basename of a payload file>"}
 * or {"sha256": "<hex>"} (optionally with "size"); digests and sizes are
 * computed and filled in. Every payload file must be used. The result is
 * unsigned and written atomically to `out`.
 */
int bundle_build(const char *manifest_json, const char *const *payloads,
		 size_t npayloads, const char *out, struct seam_err *e);
/* Sign (or re-sign) the bundle at `path` in place, atomically. */
int bundle_sign(const char *path, const unsigned char secret[BUNDLE_SECRET_LEN],
		struct seam_err *e);

/* SHA-256 of a file, hex; also its size. Fails beyond `max` bytes. */
int bundle_hash_file(const char *path, uint64_t max,
		     char digest[BUNDLE_DIGEST_HEX], uint64_t *size,
		     struct seam_err *e);

#endif
