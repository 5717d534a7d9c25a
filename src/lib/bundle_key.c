/*
 * bundle_key.c — Ed25519 keys, the trust store, and manifest.sig.
 *
 * Key files are one line of text, so they can be pasted, diffed and mailed:
 *   NAME.pub   "seam-ed25519-public <base64 32-byte key> <key id>\n"
 *   NAME.sec   "seam-ed25519-secret <base64 64-byte libsodium key>\n" (0600)
 * A key id is the first 8 bytes of SHA-256(public key), in hex: short enough
 * to read in a message, long enough not to collide in one trust store.
 *
 * manifest.sig is a small JSON document naming its algorithm, the signer's
 * public key and key id, and the signature over manifest.json's exact bytes.
 * It carries the key so a reader can say *which* key signed an untrusted
 * bundle; trust never comes from the file itself, only from the store.
 */
#include "bundle.h"

#include "afile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEY_PUB_TAG "seam-ed25519-public"
#define KEY_SEC_TAG "seam-ed25519-secret"
#define KEY_FILE_MAX 512
#define SIG_ALGORITHM "ed25519"

struct bundle_trust_key {
	unsigned char tk_key[BUNDLE_KEY_LEN];
	enum bundle_level tk_level;
};

struct bundle_trust {
	struct bundle_trust_key *t_keys;
	size_t t_nkeys;
};

static int key_sodium_init(struct seam_err *e)
{
	if (sodium_init() < 0)
		return err_set(e, EIO, "libsodium failed to initialise");
	return 0;
}

void bundle_key_id(const unsigned char key[BUNDLE_KEY_LEN],
		   char id[BUNDLE_KEY_ID_HEX])
{
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, key, BUNDLE_KEY_LEN);
	sodium_bin2hex(id, BUNDLE_KEY_ID_HEX, h, (BUNDLE_KEY_ID_HEX - 1) / 2);
}

/* Decode exactly `len` bytes of base64. */
static int key_b64_decode(const char *b64, size_t b64_len, unsigned char *out,
			  size_t len)
{
	size_t got = 0;
	const char *end;

	if (sodium_base642bin(out, len, b64, b64_len, NULL, &got, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0)
		return -EINVAL;
	if (got != len || end != b64 + b64_len)
		return -EINVAL;
	return 0;
}

static int key_write_file(const char *path, const char *text, mode_t mode,
			  struct seam_err *e)
{
	struct afile f;
	int rc;

	rc = afile_open(&f, path, mode, e);
	if (rc < 0)
		return rc;
	rc = afile_write(&f, text, strlen(text), e);
	if (rc < 0) {
		afile_abort(&f);
		return rc;
	}
	return afile_commit(&f, e);
}

int bundle_key_generate(const char *dir, const char *name, struct seam_err *e)
{
	unsigned char pk[BUNDLE_KEY_LEN], sk[BUNDLE_SECRET_LEN];
	char pub_b64[sodium_base64_ENCODED_LEN(BUNDLE_KEY_LEN,
					       sodium_base64_VARIANT_ORIGINAL)];
	char sec_b64[sodium_base64_ENCODED_LEN(BUNDLE_SECRET_LEN,
					       sodium_base64_VARIANT_ORIGINAL)];
	char id[BUNDLE_KEY_ID_HEX], path[4096], text[KEY_FILE_MAX];
	struct stat st;
	int rc;

	if ((rc = key_sodium_init(e)) < 0)
		return rc;
	snprintf(path, sizeof(path), "%s/%s.sec", dir, name);
	if (stat(path, &st) == 0)
		return err_set(e, EEXIST,
			       "%s already exists; not overwriting "
			       "a secret key",
			       path);
	crypto_sign_keypair(pk, sk);
	bundle_key_id(pk, id);
	sodium_bin2base64(pub_b64, sizeof(pub_b64), pk, sizeof(pk),
			  sodium_base64_VARIANT_ORIGINAL);
	sodium_bin2base64(sec_b64, sizeof(sec_b64), sk, sizeof(sk),
			  sodium_base64_VARIANT_ORIGINAL);
	sodium_memzero(sk, sizeof(sk));
	/* The secret first: a public key without its secret is useless. */
	snprintf(text, sizeof(text), KEY_SEC_TAG " %s\n", sec_b64);
	sodium_memzero(sec_b64, sizeof(sec_b64));
	rc = key_write_file(path, text, 0600, e);
	sodium_memzero(text, sizeof(text));
	if (rc < 0)
		return rc;
	snprintf(path, sizeof(path), "%s/%s.pub", dir, name);
	snprintf(text, sizeof(text), KEY_PUB_TAG " %s %s\n", pub_b64, id);
	return key_write_file(path, text, 0644, e);
}

/* Read a small key file; `tag` must start it. Returns the base64 word. */
static int key_read_word(const char *path, const char *tag, char *buf,
			 size_t len, const char **word, size_t *word_len,
			 struct seam_err *e)
{
	size_t taglen = strlen(tag);
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, "%s: cannot open key", path);
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return err_sys(e, "%s: read", path);
	buf[n] = '\0';
	if (strncmp(buf, tag, taglen) != 0 || buf[taglen] != ' ')
		return err_set(e, EINVAL,
			       "%s: not a Seam key file (expected "
			       "it to start with \"%s \")",
			       path, tag);
	*word = buf + taglen + 1;
	*word_len = strcspn(*word, " \n");
	return 0;
}

int bundle_key_load_public(const char *path, unsigned char key[BUNDLE_KEY_LEN],
			   struct seam_err *e)
{
	char buf[KEY_FILE_MAX];
	const char *w;
	size_t wl;
	int rc;

	rc = key_read_word(path, KEY_PUB_TAG, buf, sizeof(buf), &w, &wl, e);
	if (rc < 0)
		return rc;
	if (key_b64_decode(w, wl, key, BUNDLE_KEY_LEN) < 0)
		return err_set(e, EINVAL,
			       "%s: public key is not base64 of %d "
			       "bytes",
			       path, BUNDLE_KEY_LEN);
	return 0;
}

int bundle_key_load_secret(const char *path,
			   unsigned char secret[BUNDLE_SECRET_LEN],
			   struct seam_err *e)
{
	char buf[KEY_FILE_MAX];
	const char *w;
	size_t wl;
	int rc;

	if ((rc = key_sodium_init(e)) < 0)
		return rc;
	rc = key_read_word(path, KEY_SEC_TAG, buf, sizeof(buf), &w, &wl, e);
	if (rc == 0 && key_b64_decode(w, wl, secret, BUNDLE_SECRET_LEN) < 0)
		rc = err_set(e, EINVAL,
			     "%s: secret key is not base64 of %d "
			     "bytes",
			     path, BUNDLE_SECRET_LEN);
	sodium_memzero(buf, sizeof(buf));
	return rc;
}

/* Trust store. */

static int trust_add(struct bundle_trust *t, const unsigned char *key,
		     enum bundle_level level, struct seam_err *e)
{
	struct bundle_trust_key *k;

	k = realloc(t->t_keys, (t->t_nkeys + 1) * sizeof(*k));
	if (!k)
		return err_set(e, ENOMEM, "trust store: out of memory");
	t->t_keys = k;
	memcpy(k[t->t_nkeys].tk_key, key, BUNDLE_KEY_LEN);
	k[t->t_nkeys].tk_level = level;
	t->t_nkeys++;
	return 0;
}

static int trust_load_level(struct bundle_trust *t, const char *dir,
			    enum bundle_level level, struct seam_err *e)
{
	unsigned char key[BUNDLE_KEY_LEN];
	char sub[4096], path[4096 + 256];
	struct dirent *de;
	size_t len;
	DIR *d;
	int rc = 0;

	snprintf(sub, sizeof(sub), "%s/%s", dir, bundle_level_name(level));
	d = opendir(sub);
	if (!d)
		return errno == ENOENT ? 0 : err_sys(e, "trust store %s", sub);
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len < 5 ||
		    strcmp(de->d_name + len - 4, ".pub") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", sub, de->d_name);
		if ((rc = bundle_key_load_public(path, key, e)) < 0 ||
		    (rc = trust_add(t, key, level, e)) < 0)
			break;
	}
	closedir(d);
	return rc;
}

int bundle_trust_load(const char *dir, struct bundle_trust **out,
		      struct seam_err *e)
{
	struct bundle_trust *t;
	int level, rc;

	*out = NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return err_set(e, ENOMEM, "trust store: out of memory");
	for (level = BUNDLE_LEVEL_COMMUNITY;
	     dir && level <= BUNDLE_LEVEL_CERTIFIED; level++) {
		rc = trust_load_level(t, dir, (enum bundle_level)level, e);
		if (rc < 0) {
			bundle_trust_free(t);
			return rc;
		}
	}
	*out = t;
	return 0;
}

void bundle_trust_free(struct bundle_trust *t)
{
	if (!t)
		return;
	free(t->t_keys);
	free(t);
}

size_t bundle_trust_count(const struct bundle_trust *t)
{
	return t ? t->t_nkeys : 0;
}

enum bundle_level bundle_trust_lookup(const struct bundle_trust *t,
				      const unsigned char key[BUNDLE_KEY_LEN])
{
	enum bundle_level best = BUNDLE_LEVEL_UNSET;
	size_t i;

	for (i = 0; t && i < t->t_nkeys; i++)
		if (sodium_memcmp(t->t_keys[i].tk_key, key, BUNDLE_KEY_LEN) ==
			0 &&
		    t->t_keys[i].tk_level > best)
			best = t->t_keys[i].tk_level;
	return best;
}

/* manifest.sig */

int bundle_sig_make(const char *manifest, size_t len,
		    const unsigned char secret[BUNDLE_SECRET_LEN],
		    char **sig_json, struct seam_err *e)
{
	unsigned char sig[crypto_sign_BYTES], pk[BUNDLE_KEY_LEN];
	char sig_b64[sodium_base64_ENCODED_LEN(crypto_sign_BYTES,
					       sodium_base64_VARIANT_ORIGINAL)];
	char pk_b64[sodium_base64_ENCODED_LEN(BUNDLE_KEY_LEN,
					      sodium_base64_VARIANT_ORIGINAL)];
	char id[BUNDLE_KEY_ID_HEX];
	json_t *doc;
	char *text;
	int rc;

	*sig_json = NULL;
	if ((rc = key_sodium_init(e)) < 0)
		return rc;
	crypto_sign_ed25519_sk_to_pk(pk, secret);
	crypto_sign_detached(sig, NULL, (const unsigned char *)manifest, len,
			     secret);
	bundle_key_id(pk, id);
	sodium_bin2base64(sig_b64, sizeof(sig_b64), sig, sizeof(sig),
			  sodium_base64_VARIANT_ORIGINAL);
	sodium_bin2base64(pk_b64, sizeof(pk_b64), pk, sizeof(pk),
			  sodium_base64_VARIANT_ORIGINAL);
	doc = json_pack("{s:i, s:s, s:s, s:s, s:s}", "format", BUNDLE_FORMAT,
			"algorithm", SIG_ALGORITHM, "key_id", id, "key", pk_b64,
			"sig", sig_b64);
	if (!doc)
		return err_set(e, ENOMEM, "manifest.sig: out of memory");
	text = json_dumps(doc, JSON_INDENT(2));
	json_decref(doc);
	if (!text)
		return err_set(e, ENOMEM, "manifest.sig: out of memory");
	*sig_json = text;
	return 0;
}

/* Parse manifest.sig into key and signature bytes. */
static int sig_parse(const char *sig, size_t sig_len,
		     unsigned char key[BUNDLE_KEY_LEN],
		     unsigned char sigbuf[crypto_sign_BYTES],
		     struct seam_err *e)
{
	const char *alg = NULL, *id = NULL, *key_b64 = NULL, *sig_b64 = NULL;
	char want_id[BUNDLE_KEY_ID_HEX];
	json_error_t jerr;
	json_int_t format = 0;
	json_t *doc;
	int rc = 0;

	doc = json_loadb(sig, sig_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc)
		return err_set(e, EINVAL,
			       "manifest.sig is not valid JSON: "
			       "line %d: %s",
			       jerr.line, jerr.text);
	if (json_unpack_ex(doc, &jerr, JSON_STRICT, "{s:I, s:s, s:s, s:s, s:s}",
			   "format", &format, "algorithm", &alg, "key_id", &id,
			   "key", &key_b64, "sig", &sig_b64) != 0) {
		rc = err_set(e, EINVAL, "manifest.sig: malformed: %s",
			     jerr.text);
		goto out;
	}
	if (format != BUNDLE_FORMAT || strcmp(alg, SIG_ALGORITHM) != 0) {
		rc = err_set(e, EINVAL,
			     "manifest.sig: unknown format %lld or "
			     "algorithm \"%.32s\" (expected %d, \"%s\")",
			     (long long)format, alg, BUNDLE_FORMAT,
			     SIG_ALGORITHM);
		goto out;
	}
	if (key_b64_decode(key_b64, strlen(key_b64), key, BUNDLE_KEY_LEN) < 0 ||
	    key_b64_decode(sig_b64, strlen(sig_b64), sigbuf,
			   crypto_sign_BYTES) < 0) {
		rc = err_set(e, EINVAL,
			     "manifest.sig: 'key' or 'sig' is not "
			     "base64 of the right length");
		goto out;
	}
	bundle_key_id(key, want_id);
	if (strcmp(id, want_id) != 0)
		rc = err_set(e, EINVAL,
			     "manifest.sig: key_id %.32s does not "
			     "match its key (%s)",
			     id, want_id);
out:
	json_decref(doc);
	return rc;
}

int bundle_sig_check(const char *sig, size_t sig_len, const char *manifest,
		     size_t len, struct bundle_signer *signer,
		     struct seam_err *e)
{
	unsigned char sigbuf[crypto_sign_BYTES];
	int rc;

	memset(signer, 0, sizeof(*signer));
	if ((rc = key_sodium_init(e)) < 0)
		return rc;
	rc = sig_parse(sig, sig_len, signer->s_key, sigbuf, e);
	if (rc < 0)
		return rc;
	bundle_key_id(signer->s_key, signer->s_key_id);
	if (crypto_sign_verify_detached(sigbuf, (const unsigned char *)manifest,
					len, signer->s_key) != 0)
		return err_set(e, EBADMSG,
			       "bad signature: manifest.sig does "
			       "not verify over manifest.json with key %s (the "
			       "manifest was altered or the signature is "
			       "corrupt)",
			       signer->s_key_id);
	signer->s_signed = true;
	return 0;
}
