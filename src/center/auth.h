/*
 * auth.h — who may do what on seam-center.
 *
 * Every request carries a bearer token. A user token is random (32 bytes,
 * hex, prefixed "seam_") and stored only as its SHA-256, so a copy of the
 * database gives no one a working token. Roles are ordered: viewer reads;
 * operator also changes inventory, depot, images and runs tasks; admin also
 * manages users, tokens, the trust store and global settings.
 *
 * Hosts fetch payloads from the depot with a host credential: a token
 * derived from the center's own secret and the host id (HMAC-SHA-256), so
 * the center can hand it to a host at any time without storing it, and
 * refuses it for anything but the depot's payloads.
 *
 * auth_required_role() is the one table that maps a request to the role it
 * needs; it is pure and unit-tested.
 */
#ifndef SEAM_CENTER_AUTH_H
#define SEAM_CENTER_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum auth_role {
	AUTH_ROLE_NONE = 0,
	AUTH_ROLE_VIEWER,
	AUTH_ROLE_OPERATOR,
	AUTH_ROLE_ADMIN,
};

#define AUTH_TOKEN_SIZE 70 /* "seam_" + 64 hex + NUL */
#define AUTH_HASH_HEX 65
#define AUTH_SECRET_LEN 32
#define AUTH_HOST_PREFIX "seamhost_"
#define AUTH_HOST_TOKEN_SIZE 96

const char *auth_role_name(enum auth_role r);
enum auth_role auth_role_parse(const char *name);
/* The role a request needs (method + path). */
enum auth_role auth_required_role(const char *method, const char *path);
bool auth_role_allows(enum auth_role have, enum auth_role need);

int auth_token_new(char out[AUTH_TOKEN_SIZE]);
void auth_token_hash(const char *token, char out[AUTH_HASH_HEX]);

/* Host credentials: "seamhost_<id>_<hex hmac>". */
void auth_host_token(const unsigned char secret[AUTH_SECRET_LEN],
		     int64_t host_id, char out[AUTH_HOST_TOKEN_SIZE]);
/* The host id a credential names when it is genuine, else -1. */
int64_t auth_host_token_check(const unsigned char secret[AUTH_SECRET_LEN],
			      const char *token);
/* Is the path one a host credential may read (depot payloads)? */
bool auth_host_path(const char *method, const char *path);

#endif
