/*
 * fsr.h — fast suspend-resume: the old worker's side (fsr_command,
 * fsr_finish) and the new worker's side (fsr_worker_main). See fsr.c.
 */
#ifndef SEAM_VMX_FSR_H
#define SEAM_VMX_FSR_H

#include "control.h"

/* Environment variable that enables the test-only "fail_stage" argument. */
#define FSR_FAULTS_ENV "SEAM_VMX_TEST_FAULTS"
/* How long the old worker waits for each step of its successor (ms). */
#define FSR_TIMEOUT_ENV "SEAM_FSR_TIMEOUT_MS"
#define FSR_TIMEOUT_MS 10000

json_t *fsr_command(struct control *c, struct control_conn *conn,
		    const struct vmx_request *req, enum cmd_after *after);
/* After the ok reply is written: release the successor, end this worker. */
void fsr_finish(struct vm *vm);
/* `seam-vmx worker`: a successor exec'd by the keeper. */
int fsr_worker_main(void);

#endif
