/*
 * proto.c — see proto.h.
 *
 * proto_buf keeps unconsumed bytes at the front of data[]; a line handed out
 * is consumed on the next call (the buffer is compacted lazily), so a caller
 * may use the line in place without copying.
 */
#include "proto.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

static const char *const proto_names[VMX_CMD_COUNT] = VMX_PROTO_CMD_NAMES;

const char *proto_cmd_name(enum vmx_cmd cmd)
{
	return (unsigned int)cmd < VMX_CMD_COUNT ? proto_names[cmd] : "?";
}

int proto_cmd_from_name(const char *name)
{
	for (int i = 0; i < VMX_CMD_COUNT; i++)
		if (strcmp(name, proto_names[i]) == 0)
			return i;
	return -1;
}

static int proto_get_path(json_t *o, const char *key, char *dst, size_t cap,
			  int required, struct seam_err *e)
{
	json_t *v = json_object_get(o, key);
	const char *s;

	if (!v) {
		if (required)
			return err_set(e, EINVAL, "missing \"%s\"", key);
		return 0;
	}
	if (!json_is_string(v))
		return err_set(e, EINVAL, "\"%s\" must be a string", key);
	s = json_string_value(v);
	if (!s[0] || strlen(s) >= cap)
		return err_set(e, EINVAL, "\"%s\" is empty or too long", key);
	memcpy(dst, s, strlen(s) + 1);
	return 0;
}

static int proto_get_uint(json_t *o, const char *key, unsigned int *out,
			  struct seam_err *e)
{
	json_t *v = json_object_get(o, key);

	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 1 ||
	    json_integer_value(v) > 86400000)
		return err_set(e, EINVAL,
			       "\"%s\" must be a whole number from 1 to "
			       "86400000",
			       key);
	*out = (unsigned int)json_integer_value(v);
	return 0;
}

static int proto_parse_migrate(json_t *o, struct vmx_request *req,
			       struct seam_err *e)
{
	int r = proto_get_path(o, "to", req->path, sizeof(req->path), 1, e);

	if (r == 0)
		r = proto_get_path(o, "token", req->token, sizeof(req->token),
				   1, e);
	if (r == 0)
		r = proto_get_uint(o, "max_downtime_ms", &req->max_downtime_ms,
				   e);
	if (r == 0)
		r = proto_get_uint(o, "timeout_s", &req->timeout_s, e);
	return r;
}

static int proto_parse_args(json_t *o, struct vmx_request *req,
			    struct seam_err *e)
{
	switch (req->cmd) {
	case VMX_CMD_FSR: {
		int r = proto_get_path(o, "binary", req->path,
				       sizeof(req->path), 1, e);
		if (r < 0)
			return r;
		return proto_get_path(o, "fail_stage", req->fail_stage,
				      sizeof(req->fail_stage), 0, e);
	}
	case VMX_CMD_SNAPSHOT:
		return proto_get_path(o, "path", req->path, sizeof(req->path),
				      1, e);
	case VMX_CMD_MIGRATE:
		return proto_parse_migrate(o, req, e);
	default:
		return 0;
	}
}

int proto_parse(const char *line, size_t len, struct vmx_request *req,
		struct seam_err *e)
{
	json_error_t jerr;
	json_t *o, *cmd;
	int c, r;

	memset(req, 0, sizeof(*req));
	o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!o)
		return err_set(e, EINVAL, "not JSON: %s", jerr.text);
	if (!json_is_object(o)) {
		json_decref(o);
		return err_set(e, EINVAL, "request is not a JSON object");
	}
	cmd = json_object_get(o, "cmd");
	if (!json_is_string(cmd)) {
		json_decref(o);
		return err_set(e, EINVAL, "request has no \"cmd\" string");
	}
	c = proto_cmd_from_name(json_string_value(cmd));
	if (c < 0) {
		r = err_set(e, EINVAL, "unknown command \"%.64s\"",
			    json_string_value(cmd));
		json_decref(o);
		return r;
	}
	req->cmd = (enum vmx_cmd)c;
	r = proto_parse_args(o, req, e);
	json_decref(o);
	return r;
}

static void proto_buf_compact(struct proto_buf *b)
{
	if (!b->consumed)
		return;
	memmove(b->data, b->data + b->consumed, b->len - b->consumed);
	b->len -= b->consumed;
	b->consumed = 0;
}

char *proto_buf_space(struct proto_buf *b, size_t *room)
{
	proto_buf_compact(b);
	*room = VMX_PROTO_LINE_MAX - b->len;
	return b->data + b->len;
}

void proto_buf_commit(struct proto_buf *b, size_t n)
{
	b->len += n;
}

enum proto_next proto_buf_next(struct proto_buf *b, char **line, size_t *len)
{
	char *nl;

	proto_buf_compact(b);
	nl = memchr(b->data, '\n', b->len);
	if (!nl)
		return b->len >= VMX_PROTO_LINE_MAX ? PROTO_TOO_LONG
						    : PROTO_NEED_MORE;
	*nl = '\0';
	*line = b->data;
	*len = (size_t)(nl - b->data);
	b->consumed = *len + 1;
	return PROTO_LINE;
}
