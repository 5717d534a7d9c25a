/*
 * fsr.c — fast suspend-resume (issue 3). Not built yet: the command answers
 * with an error and the VM carries on.
 */
#include "fsr.h"

json_t *fsr_command(struct control *c, struct control_conn *conn,
		    const struct vmx_request *req, enum cmd_after *after)
{
	(void)c;
	(void)conn;
	(void)req;
	(void)after;
	return control_error("fsr is not implemented yet");
}

int fsr_worker_main(void);
int fsr_worker_main(void)
{
	return VMX_EXIT_FAILURE;
}
