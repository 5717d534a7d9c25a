/*
 * tls.h — the TLS identity of a Seam daemon, and certificate thumbprints.
 *
 * Seam's daemons speak HTTPS with self-signed certificates made at first
 * start (DESIGN §6); a peer is trusted by pinning the SHA-256 thumbprint of
 * its certificate, which an operator confirms once. So each daemon needs
 * exactly one thing from a TLS library beyond the handshake: make a key and
 * a certificate once, keep them in its state directory, and say what their
 * thumbprint is. The key is ECDSA P-256 (accepted by every GnuTLS peer,
 * libmicrohttpd and curl alike); it is written 0600, aside + fsync + rename.
 *
 * A thumbprint is the SHA-256 of the certificate's DER bytes, written as 64
 * lowercase hex digits without colons (the form stored and compared);
 * tls_thumbprint_format() gives the colon-separated uppercase form people
 * read, and tls_thumbprint_parse() accepts either.
 */
#ifndef SEAM_TLS_H
#define SEAM_TLS_H

#include <stddef.h>

#include "err.h"

#define TLS_THUMBPRINT_HEX 64 /* characters, without the NUL */
#define TLS_THUMBPRINT_SIZE (TLS_THUMBPRINT_HEX + 1)
#define TLS_THUMBPRINT_FMT_SIZE (32 * 3) /* "AB:CD:...:EF" + NUL */

struct tls_identity {
	char *cert_pem; /* NUL-terminated PEM */
	size_t cert_len;
	char *key_pem;
	size_t key_len;
	char thumbprint[TLS_THUMBPRINT_SIZE];
};

/*
 * Load DIR/cert.pem + DIR/key.pem, or create both when either is missing
 * (DIR is created 0700). common_name goes into the subject and the DNS SAN.
 */
int tls_identity_load_or_create(const char *dir, const char *common_name,
				struct tls_identity **out, struct seam_err *e);
void tls_identity_free(struct tls_identity *id);

/* SHA-256 thumbprint of a DER certificate / of the first PEM certificate. */
void tls_thumbprint_der(const void *der, size_t len,
			char out[TLS_THUMBPRINT_SIZE]);
int tls_thumbprint_pem(const char *pem, size_t len,
		       char out[TLS_THUMBPRINT_SIZE], struct seam_err *e);
/* "ab12..." -> "AB:12:..."; out must hold TLS_THUMBPRINT_FMT_SIZE bytes. */
int tls_thumbprint_format(const char *hex, char *out, size_t outlen);
/* Accept "ab12..." or "AB:12:..." and normalise to 64 lowercase hex. */
int tls_thumbprint_parse(const char *in, char out[TLS_THUMBPRINT_SIZE],
			 struct seam_err *e);
/*
 * curl's public-key pin of a PEM certificate: "sha256//BASE64" of the
 * DER SubjectPublicKeyInfo (see http_client.c for why both exist).
 */
int tls_pubkey_pin_pem(const char *pem, size_t len, char *out, size_t outlen,
		       struct seam_err *e);

#endif
