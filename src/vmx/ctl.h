/*
 * ctl.h — `seam-vmx ctl SOCKET COMMAND [ARGS]`, the control client.
 */
#ifndef SEAM_VMX_CTL_H
#define SEAM_VMX_CTL_H

int ctl_main(int argc, char **argv);

#endif
