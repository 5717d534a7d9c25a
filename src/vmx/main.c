/*
 * main.c — seam-vmx's entry: one binary, four modes.
 *
 *   seam-vmx run OPTIONS         start a VM (the keeper; keeper.c)
 *   seam-vmx ctl SOCKET CMD ...  talk to a running VM (ctl.c)
 *   seam-vmx worker              internal: a successor worker exec'd by the
 *                                keeper during FSR (fsr.c)
 *   seam-vmx --version           print the version
 */
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "keeper.h"
#include "log.h"
#include "vmx.h"

int fsr_worker_main(void);

static int main_usage(void)
{
	fprintf(
	    stderr,
	    "usage: seam-vmx run --name NAME --kernel PATH [--cmdline STR]\n"
	    "                    [--mem SIZE] [--vcpus N] --serial-log PATH\n"
	    "                    --control PATH\n"
	    "       seam-vmx run --restore SNAPSHOT [--name NAME] "
	    "[--serial-log PATH]\n"
	    "                    [--control PATH]\n"
	    "       seam-vmx run --incoming ADDR:PORT --token TOKEN --name "
	    "NAME\n"
	    "                    --serial-log PATH --control PATH\n"
	    "       seam-vmx ctl SOCKET COMMAND [ARGS]\n"
	    "       seam-vmx --version\n");
	return 2;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return main_usage();
	if (strcmp(argv[1], "--version") == 0 ||
	    strcmp(argv[1], "version") == 0) {
		printf("seam-vmx %s\n", SEAM_VMX_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "ctl") == 0)
		return ctl_main(argc - 2, argv + 2);
	log_init("vmx", LOG_LEVEL_INFO);
	if (strcmp(argv[1], "run") == 0)
		return keeper_main(argc - 2, argv + 2);
	if (strcmp(argv[1], "worker") == 0)
		return fsr_worker_main();
	return main_usage();
}
