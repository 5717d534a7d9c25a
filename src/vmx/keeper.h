/*
 * keeper.h — `seam-vmx run`: the small long-lived process that is the VM
 * as its supervisor sees it (see keeper.c).
 */
#ifndef SEAM_VMX_KEEPER_H
#define SEAM_VMX_KEEPER_H

int keeper_main(int argc, char **argv);

#endif
