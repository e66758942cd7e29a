// SPDX-License-Identifier: GPL-2.0-only
/*
 * odxctl: the dm-odx utility.
 *
 * Subcommands talk to the dm-odx control device (/dev/odx-control) about
 * a volume named by its mapped device, or read an inactive volume's
 * metadata device (check). See odxctl.h for which file holds what.
 *
 * Exit status: 0 success, 1 the operation failed or found problems,
 * 2 bad usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/dm-odx.h>

#include "odxctl.h"

struct odx_command {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv);
};

static int cmd_version(int argc, char **argv);
static int cmd_help(int argc, char **argv);

static const struct odx_command commands[] = {
	{ "info", "describe a volume: provisioning and offload limits", cmd_info },
	{ "map", "list the allocated ranges of a volume", cmd_map },
	{ "bitmap", "show the slab allocation bitmap of a range", cmd_bitmap },
	{ "trim", "give back the space of ranges", cmd_trim },
	{ "offload-read", "make a token for the data of ranges", cmd_offload_read },
	{ "offload-write", "write the data of a token to a range", cmd_offload_write },
	{ "copy", "copy a range by offload, to the same or another volume", cmd_copy },
	{ "status", "show the status of an offload operation", cmd_status },
	{ "abort", "terminate an offload operation", cmd_abort },
	{ "release", "give back a token: its pins go at once", cmd_release },
	{ "check", "check the metadata of an inactive volume", cmd_check },
	{ "help", "show this help", cmd_help },
	{ "version", "print the version of odxctl", cmd_version },
};

#define NR_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *f)
{
	size_t i;

	fprintf(f,
		"usage: odxctl [--help] [--version] <command> [<args>]\n"
		"\n"
		"Control and inspect dm-odx thin-provisioned volumes (target '%s',\n"
		"control device %s).\n"
		"\n"
		"commands:\n", ODX_TARGET_NAME, ODX_CONTROL_PATH);
	for (i = 0; i < NR_COMMANDS; i++)
		fprintf(f, "  %-14s %s\n", commands[i].name, commands[i].summary);
	fprintf(f,
		"\n"
		"Exit status: 0 success, 1 failure, 2 bad usage.\n"
		"See odxctl(8).\n");
}

static int cmd_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	usage(stdout);
	return 0;
}

static int cmd_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("odxctl %s\n", ODXCTL_VERSION);
	return 0;
}

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return cmd_help(argc - 1, argv + 1);
	if (!strcmp(argv[1], "--version"))
		return cmd_version(argc - 1, argv + 1);

	for (i = 0; i < NR_COMMANDS; i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);

	fprintf(stderr, "odxctl: unknown command '%s' (see 'odxctl --help')\n",
		argv[1]);
	return 2;
}
