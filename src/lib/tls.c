/*
 * tls.c — see tls.h.
 *
 * The certificate is a plain self-signed leaf: version 3, a random positive
 * 128-bit serial, valid from a day ago (clock skew between hosts) for ten
 * years, key usage digitalSignature, extended usage serverAuth + clientAuth,
 * subject CN and DNS SAN set to the host name. Nobody verifies it against a
 * CA: peers pin its thumbprint, so nothing else in it matters for trust.
 */
#include "tls.h"

#include <ctype.h>
#include <errno.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/x509.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "fsutil.h"

#define TLS_VALID_DAYS (10 * 365)
#define TLS_MAX_PEM (64 * 1024)

static int tls_gnutls_err(struct seam_err *e, int rc, const char *what)
{
	return err_set(e, EIO, "%s: %s", what, gnutls_strerror(rc));
}

static int tls_make_key(gnutls_x509_privkey_t *key, struct seam_err *e)
{
	int rc = gnutls_x509_privkey_init(key);

	if (rc < 0)
		return tls_gnutls_err(e, rc, "key init");
	rc = gnutls_x509_privkey_generate(
	    *key, GNUTLS_PK_ECDSA,
	    GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0);
	if (rc < 0) {
		gnutls_x509_privkey_deinit(*key);
		return tls_gnutls_err(e, rc, "generate ECDSA P-256 key");
	}
	return 0;
}

static int tls_fill_cert(gnutls_x509_crt_t crt, gnutls_x509_privkey_t key,
			 const char *cn)
{
	unsigned char serial[16];
	time_t now = time(NULL);
	int rc;

	if ((rc = gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof(serial))) < 0)
		return rc;
	serial[0] &= 0x7f; /* positive */
	serial[0] |= 0x01; /* and no leading zero byte */
	if ((rc = gnutls_x509_crt_set_version(crt, 3)) < 0 ||
	    (rc = gnutls_x509_crt_set_serial(crt, serial, sizeof(serial))) <
		0 ||
	    (rc = gnutls_x509_crt_set_activation_time(crt, now - 86400)) < 0 ||
	    (rc = gnutls_x509_crt_set_expiration_time(
		 crt, now + (time_t)TLS_VALID_DAYS * 86400)) < 0 ||
	    (rc = gnutls_x509_crt_set_dn_by_oid(
		 crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn, strlen(cn))) < 0 ||
	    (rc = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME,
						       cn, strlen(cn),
						       GNUTLS_FSAN_SET)) < 0 ||
	    (rc = gnutls_x509_crt_set_basic_constraints(crt, 0, -1)) < 0 ||
	    (rc = gnutls_x509_crt_set_key_usage(
		 crt, GNUTLS_KEY_DIGITAL_SIGNATURE)) < 0 ||
	    (rc = gnutls_x509_crt_set_key_purpose_oid(
		 crt, GNUTLS_KP_TLS_WWW_SERVER, 0)) < 0 ||
	    (rc = gnutls_x509_crt_set_key_purpose_oid(
		 crt, GNUTLS_KP_TLS_WWW_CLIENT, 0)) < 0 ||
	    (rc = gnutls_x509_crt_set_key(crt, key)) < 0)
		return rc;
	return gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0);
}

static int tls_write_pem(const char *path, const gnutls_datum_t *d, mode_t mode,
			 struct seam_err *e)
{
	return fs_write_atomic(path, d->data, d->size, mode, e);
}

static int tls_identity_create(const char *dir, const char *cn,
			       struct seam_err *e)
{
	gnutls_x509_privkey_t key;
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t kd = {0}, cd = {0};
	char path[PATH_MAX];
	int rc;

	rc = tls_make_key(&key, e);
	if (rc < 0)
		return rc;
	if ((rc = gnutls_x509_crt_init(&crt)) < 0 ||
	    (rc = tls_fill_cert(crt, key, cn)) < 0 ||
	    (rc = gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, &kd)) <
		0 ||
	    (rc = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &cd)) < 0) {
		rc = tls_gnutls_err(e, rc, "make self-signed certificate");
		goto out;
	}
	snprintf(path, sizeof(path), "%s/key.pem", dir);
	rc = tls_write_pem(path, &kd, 0600, e);
	if (rc < 0)
		goto out;
	snprintf(path, sizeof(path), "%s/cert.pem", dir);
	rc = tls_write_pem(path, &cd, 0644, e);
out:
	gnutls_free(kd.data);
	gnutls_free(cd.data);
	if (crt)
		gnutls_x509_crt_deinit(crt);
	gnutls_x509_privkey_deinit(key);
	return rc;
}

static int tls_identity_load(const char *dir, struct tls_identity *id,
			     struct seam_err *e)
{
	char path[PATH_MAX];
	int rc;

	snprintf(path, sizeof(path), "%s/cert.pem", dir);
	rc = fs_read_file(path, TLS_MAX_PEM, &id->cert_pem, &id->cert_len, e);
	if (rc < 0)
		return rc;
	snprintf(path, sizeof(path), "%s/key.pem", dir);
	rc = fs_read_file(path, TLS_MAX_PEM, &id->key_pem, &id->key_len, e);
	if (rc < 0)
		return rc;
	return tls_thumbprint_pem(id->cert_pem, id->cert_len, id->thumbprint,
				  e);
}

int tls_identity_load_or_create(const char *dir, const char *common_name,
				struct tls_identity **out, struct seam_err *e)
{
	struct tls_identity *id;
	char cert[PATH_MAX], key[PATH_MAX];
	int rc;

	*out = NULL;
	rc = fs_mkdir_p(dir, 0700, e);
	if (rc < 0)
		return rc;
	snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
	snprintf(key, sizeof(key), "%s/key.pem", dir);
	if (!fs_exists(cert) || !fs_exists(key)) {
		/* Key before certificate: a certificate never lacks its key. */
		rc = tls_identity_create(dir, common_name, e);
		if (rc < 0)
			return rc;
	}
	id = calloc(1, sizeof(*id));
	if (!id)
		return err_set(e, ENOMEM, "no memory for TLS identity");
	rc = tls_identity_load(dir, id, e);
	if (rc < 0) {
		tls_identity_free(id);
		return rc;
	}
	*out = id;
	return 0;
}

void tls_identity_free(struct tls_identity *id)
{
	if (!id)
		return;
	free(id->cert_pem);
	if (id->key_pem) {
		explicit_bzero(id->key_pem, id->key_len);
		free(id->key_pem);
	}
	free(id);
}

void tls_thumbprint_der(const void *der, size_t len,
			char out[TLS_THUMBPRINT_SIZE])
{
	unsigned char md[32];
	int i;

	gnutls_hash_fast(GNUTLS_DIG_SHA256, der, len, md);
	for (i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static int tls_crt_import_pem(const char *pem, size_t len,
			      gnutls_x509_crt_t *crt, struct seam_err *e)
{
	gnutls_datum_t d = {(unsigned char *)pem, (unsigned int)len};
	int rc = gnutls_x509_crt_init(crt);

	if (rc < 0)
		return tls_gnutls_err(e, rc, "certificate init");
	rc = gnutls_x509_crt_import(*crt, &d, GNUTLS_X509_FMT_PEM);
	if (rc < 0) {
		gnutls_x509_crt_deinit(*crt);
		return tls_gnutls_err(e, rc, "parse PEM certificate");
	}
	return 0;
}

int tls_thumbprint_pem(const char *pem, size_t len,
		       char out[TLS_THUMBPRINT_SIZE], struct seam_err *e)
{
	gnutls_x509_crt_t crt;
	gnutls_datum_t der = {0};
	int rc;

	rc = tls_crt_import_pem(pem, len, &crt, e);
	if (rc < 0)
		return rc;
	rc = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, &der);
	gnutls_x509_crt_deinit(crt);
	if (rc < 0)
		return tls_gnutls_err(e, rc, "export DER certificate");
	tls_thumbprint_der(der.data, der.size, out);
	gnutls_free(der.data);
	return 0;
}

int tls_thumbprint_format(const char *hex, char *out, size_t outlen)
{
	size_t i, o = 0;

	if (strlen(hex) != TLS_THUMBPRINT_HEX ||
	    outlen < TLS_THUMBPRINT_FMT_SIZE)
		return -EINVAL;
	for (i = 0; i < TLS_THUMBPRINT_HEX; i += 2) {
		if (i)
			out[o++] = ':';
		out[o++] = (char)toupper((unsigned char)hex[i]);
		out[o++] = (char)toupper((unsigned char)hex[i + 1]);
	}
	out[o] = '\0';
	return 0;
}

int tls_thumbprint_parse(const char *in, char out[TLS_THUMBPRINT_SIZE],
			 struct seam_err *e)
{
	size_t n = 0;
	const char *p;

	for (p = in; *p; p++) {
		if (*p == ':')
			continue;
		if (!isxdigit((unsigned char)*p) || n >= TLS_THUMBPRINT_HEX)
			return err_set(e, EINVAL,
				       "thumbprint '%.100s' is not 32 bytes of "
				       "hex (SHA-256)",
				       in);
		out[n++] = (char)tolower((unsigned char)*p);
	}
	if (n != TLS_THUMBPRINT_HEX)
		return err_set(e, EINVAL,
			       "thumbprint '%.100s' is not 32 bytes of hex "
			       "(SHA-256)",
			       in);
	out[n] = '\0';
	return 0;
}

int tls_pubkey_pin_pem(const char *pem, size_t len, char *out, size_t outlen,
		       struct seam_err *e)
{
	gnutls_x509_crt_t crt;
	gnutls_pubkey_t pub = NULL;
	gnutls_datum_t spki = {0}, b64 = {0}, md;
	unsigned char digest[32];
	int rc;

	rc = tls_crt_import_pem(pem, len, &crt, e);
	if (rc < 0)
		return rc;
	if ((rc = gnutls_pubkey_init(&pub)) < 0 ||
	    (rc = gnutls_pubkey_import_x509(pub, crt, 0)) < 0 ||
	    (rc = gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER, &spki)) < 0) {
		rc = tls_gnutls_err(e, rc, "export certificate public key");
		goto out;
	}
	gnutls_hash_fast(GNUTLS_DIG_SHA256, spki.data, spki.size, digest);
	md.data = digest;
	md.size = sizeof(digest);
	rc = gnutls_base64_encode2(&md, &b64);
	if (rc < 0) {
		rc = tls_gnutls_err(e, rc, "base64");
		goto out;
	}
	if ((size_t)snprintf(out, outlen, "sha256//%.*s", (int)b64.size,
			     (const char *)b64.data) >= outlen)
		rc = err_set(e, ENOSPC, "public key pin buffer too small");
	else
		rc = 0;
out:
	gnutls_free(spki.data);
	gnutls_free(b64.data);
	if (pub)
		gnutls_pubkey_deinit(pub);
	gnutls_x509_crt_deinit(crt);
	return rc;
}
