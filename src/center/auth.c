/*
 * auth.c — see auth.h.
 */
#include "auth.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const auth_role_names[] = {"none", "viewer", "operator",
					      "admin"};

const char *auth_role_name(enum auth_role r)
{
	return r <= AUTH_ROLE_ADMIN ? auth_role_names[r] : "none";
}

enum auth_role auth_role_parse(const char *name)
{
	int i;

	for (i = AUTH_ROLE_VIEWER; name && i <= AUTH_ROLE_ADMIN; i++)
		if (!strcmp(name, auth_role_names[i]))
			return (enum auth_role)i;
	return AUTH_ROLE_NONE;
}

static bool auth_prefix(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);

	return !strncmp(path, prefix, n) && (path[n] == '\0' || path[n] == '/');
}

enum auth_role auth_required_role(const char *method, const char *path)
{
	bool read = !strcmp(method, "GET") || !strcmp(method, "HEAD");

	/* Users, tokens, keys and global settings: admins only. */
	if (auth_prefix(path, "/api/v1/users") ||
	    auth_prefix(path, "/api/v1/depot/trust"))
		return read && auth_prefix(path, "/api/v1/depot/trust")
			   ? AUTH_ROLE_VIEWER
			   : AUTH_ROLE_ADMIN;
	/* A host credential is a secret: operators only. */
	{
		size_t n = strlen(path), m = strlen("/depot-credential");

		if (n > m && !strcmp(path + n - m, "/depot-credential"))
			return AUTH_ROLE_OPERATOR;
	}
	if (auth_prefix(path, "/api/v1/settings"))
		return read ? AUTH_ROLE_VIEWER : AUTH_ROLE_ADMIN;
	return read ? AUTH_ROLE_VIEWER : AUTH_ROLE_OPERATOR;
}

bool auth_role_allows(enum auth_role have, enum auth_role need)
{
	return have != AUTH_ROLE_NONE && have >= need;
}

int auth_token_new(char out[AUTH_TOKEN_SIZE])
{
	unsigned char raw[32];

	if (sodium_init() < 0)
		return -1;
	randombytes_buf(raw, sizeof(raw));
	memcpy(out, "seam_", 5);
	sodium_bin2hex(out + 5, AUTH_TOKEN_SIZE - 5, raw, sizeof(raw));
	sodium_memzero(raw, sizeof(raw));
	return 0;
}

void auth_token_hash(const char *token, char out[AUTH_HASH_HEX])
{
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, (const unsigned char *)token, strlen(token));
	sodium_bin2hex(out, AUTH_HASH_HEX, h, sizeof(h));
}

static void auth_host_mac(const unsigned char secret[AUTH_SECRET_LEN],
			  int64_t host_id, char hex[65])
{
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	char msg[64];

	snprintf(msg, sizeof(msg), "seam-depot-host:%lld", (long long)host_id);
	crypto_auth_hmacsha256(mac, (const unsigned char *)msg, strlen(msg),
			       secret);
	sodium_bin2hex(hex, 65, mac, sizeof(mac));
}

void auth_host_token(const unsigned char secret[AUTH_SECRET_LEN],
		     int64_t host_id, char out[AUTH_HOST_TOKEN_SIZE])
{
	char hex[65];

	auth_host_mac(secret, host_id, hex);
	snprintf(out, AUTH_HOST_TOKEN_SIZE, AUTH_HOST_PREFIX "%lld_%s",
		 (long long)host_id, hex);
}

int64_t auth_host_token_check(const unsigned char secret[AUTH_SECRET_LEN],
			      const char *token)
{
	size_t n = strlen(AUTH_HOST_PREFIX);
	char want[AUTH_HOST_TOKEN_SIZE], *end;
	long long id;

	if (!token || strncmp(token, AUTH_HOST_PREFIX, n))
		return -1;
	id = strtoll(token + n, &end, 10);
	if (end == token + n || *end != '_' || id <= 0)
		return -1;
	auth_host_token(secret, id, want);
	if (strlen(want) != strlen(token) ||
	    sodium_memcmp(want, token, strlen(want)) != 0)
		return -1;
	return id;
}

bool auth_host_path(const char *method, const char *path)
{
	return !strcmp(method, "GET") &&
	       !strncmp(path, "/api/v1/depot/payloads/", 23);
}
