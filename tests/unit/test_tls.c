/*
 * test_tls.c — TLS identity and thumbprints (src/lib/tls.c).
 *
 * The thumbprint is what an operator confirms and a peer pins, so its form is
 * tested exactly: SHA-256 of the DER bytes, 64 lowercase hex digits; the
 * display form and the parser round-trip; an identity reloads with the same
 * thumbprint and its key is 0600.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fsutil.h"
#include "tls.h"

static void test_thumbprint_der_vector(void **state)
{
	char out[TLS_THUMBPRINT_SIZE];

	/* SHA-256("abc"), FIPS 180-2 appendix B.1. */
	tls_thumbprint_der("abc", 3, out);
	assert_string_equal(out, "ba7816bf8f01cfea414140de5dae2223"
				 "b00361a396177a9cb410ff61f20015ad");
}

static void test_thumbprint_format_parse(void **state)
{
	const char *hex = "ba7816bf8f01cfea414140de5dae2223"
			  "b00361a396177a9cb410ff61f20015ad";
	char fmt[TLS_THUMBPRINT_FMT_SIZE], back[TLS_THUMBPRINT_SIZE];
	struct seam_err e = {0};

	assert_int_equal(tls_thumbprint_format(hex, fmt, sizeof(fmt)), 0);
	assert_int_equal(strlen(fmt), 95);
	assert_memory_equal(fmt, "BA:78:16:BF:", 12);
	assert_int_equal(tls_thumbprint_parse(fmt, back, &e), 0);
	assert_string_equal(back, hex);
	assert_int_equal(tls_thumbprint_parse(hex, back, &e), 0);
	assert_string_equal(back, hex);
	assert_int_equal(tls_thumbprint_parse("abc", back, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "SHA-256"));
	assert_int_equal(tls_thumbprint_parse("zz", back, &e), -EINVAL);
	assert_int_equal(tls_thumbprint_format("abc", fmt, sizeof(fmt)),
			 -EINVAL);
}

static void test_identity_create_reload(void **state)
{
	char dir[] = "/tmp/seam-test-tls-XXXXXX", sub[PATH_MAX], key[PATH_MAX];
	struct tls_identity *a = NULL, *b = NULL;
	struct seam_err e = {0};
	char tp[TLS_THUMBPRINT_SIZE], pin[128];
	struct stat st;

	assert_non_null(mkdtemp(dir));
	fs_path(sub, sizeof(sub), "%s/tls", dir);
	assert_int_equal(tls_identity_load_or_create(sub, "h1", &a, &e), 0);
	assert_int_equal(strlen(a->thumbprint), TLS_THUMBPRINT_HEX);
	assert_non_null(strstr(a->cert_pem, "BEGIN CERTIFICATE"));
	fs_path(key, sizeof(key), "%s/key.pem", sub);
	assert_int_equal(stat(key, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* Reload: same certificate, same thumbprint. */
	assert_int_equal(tls_identity_load_or_create(sub, "h1", &b, &e), 0);
	assert_string_equal(a->thumbprint, b->thumbprint);
	assert_int_equal(tls_thumbprint_pem(a->cert_pem, a->cert_len, tp, &e),
			 0);
	assert_string_equal(tp, a->thumbprint);
	assert_int_equal(
	    tls_pubkey_pin_pem(a->cert_pem, a->cert_len, pin, sizeof(pin), &e),
	    0);
	assert_memory_equal(pin, "sha256//", 8);
	assert_int_equal(strlen(pin), 8 + 44);
	assert_int_equal(tls_thumbprint_pem("junk", 4, tp, &e), -EIO);
	tls_identity_free(a);
	tls_identity_free(b);
	tls_identity_free(NULL);
	fs_remove_tree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_thumbprint_der_vector),
	    cmocka_unit_test(test_thumbprint_format_parse),
	    cmocka_unit_test(test_identity_create_reload),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
