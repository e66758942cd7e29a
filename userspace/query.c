// SPDX-License-Identifier: GPL-2.0-only
/*
 * odxctl info, map, bitmap, trim: the control device's queries.
 */
#include <stdio.h>

#include "odxctl.h"

static int not_yet(const char *name)
{
	fprintf(stderr, "odxctl %s: not implemented yet\n", name);
	return ODX_EXIT_FAIL;
}

int cmd_info(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return not_yet("info");
}

int cmd_map(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return not_yet("map");
}

int cmd_bitmap(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return not_yet("bitmap");
}

int cmd_trim(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return not_yet("trim");
}
