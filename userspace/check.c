// SPDX-License-Identifier: GPL-2.0-only
/*
 * odxctl check: the offline metadata checker.
 */
#include <stdio.h>

#include "odxctl.h"

int cmd_check(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "odxctl check: not implemented yet\n");
	return ODX_EXIT_FAIL;
}
