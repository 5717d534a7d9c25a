/*
 * proto.h — parsing and framing of the control protocol (vmx_proto.h).
 *
 * Pure: no sockets here. proto_parse() turns one line into a request;
 * struct proto_buf gathers bytes from a stream and hands out whole lines,
 * refusing any longer than VMX_PROTO_LINE_MAX.
 */
#ifndef SEAM_VMX_PROTOPARSE_H
#define SEAM_VMX_PROTOPARSE_H

#include <stddef.h>

#include "err.h"
#include "vmx_proto.h"

int proto_parse(const char *line, size_t len, struct vmx_request *req,
		struct seam_err *e);
const char *proto_cmd_name(enum vmx_cmd cmd);
int proto_cmd_from_name(const char *name);

struct proto_buf {
	size_t len;
	size_t consumed; /* bytes of the line last handed out */
	char data[VMX_PROTO_LINE_MAX + 1];
};

enum proto_next {
	PROTO_NEED_MORE = 0,
	PROTO_LINE = 1,
	PROTO_TOO_LONG = -1,
};

/* Space to read into, and how much (after compacting). */
char *proto_buf_space(struct proto_buf *b, size_t *room);
void proto_buf_commit(struct proto_buf *b, size_t n);
/*
 * The next whole line (NUL-terminated, without '\n'), valid until the next
 * call. PROTO_TOO_LONG when VMX_PROTO_LINE_MAX bytes hold no newline.
 */
enum proto_next proto_buf_next(struct proto_buf *b, char **line,
			       size_t *len);

#endif
