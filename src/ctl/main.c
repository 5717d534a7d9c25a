/*
 * main.c — seamctl, the command-line client of seam-center. Everything is in
 * ctl_main (commands.c) so that the tests can drive it without a process.
 */
#include "commands.h"

int main(int argc, char **argv)
{
	return ctl_main(argc, argv);
}
