/*
 * stream.h — the two transfers http_client.h does not do: a file uploaded
 * as the request body with progress (depot import), and a server-sent event
 * stream read as it arrives (events --follow).
 *
 * Both pin the center exactly as http_client does (see http_client.h): a
 * handshake-only probe checks the certificate's thumbprint against the one
 * in the config, and the public key pin derived from it is set on the
 * transfer, so no byte of the request (nor the token) leaves before the
 * server proved it is the pinned one.
 */
#ifndef SEAM_CTL_STREAM_H
#define SEAM_CTL_STREAM_H

#include <jansson.h>
#include <stdint.h>

#include "ctl.h"

typedef void (*ctl_upload_progress_fn)(void *ctx, uint64_t done,
				       uint64_t total);

/* POST file as the body of path; reply JSON and status as ctl_call. */
int ctl_upload(struct ctl *c, const char *path, const char *file,
	       const char *content_type, ctl_upload_progress_fn fn, void *ctx,
	       json_t **reply);

/* One parsed SSE event: its id, its type and its data (parsed JSON). */
typedef int (*ctl_sse_fn)(void *ctx, const char *id, const char *type,
			  json_t *data);

/* GET path as an event stream until the server ends it or fn returns != 0. */
int ctl_sse(struct ctl *c, const char *path, ctl_sse_fn fn, void *ctx);

#endif
