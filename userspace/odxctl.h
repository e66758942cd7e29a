/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * odxctl: what the subcommand files share.
 *
 *   odxctl.c   main, the command table, help, version
 *   util.c     size parsing and printing, errors, JSON output helpers
 *   query.c    info, map, bitmap, trim (the control device's ioctls)
 *   check.c    check (the offline metadata checker)
 *
 * Exit status of every command: 0 success, 1 the operation failed or
 * found problems, 2 bad usage.
 */
#ifndef ODXCTL_H
#define ODXCTL_H

#define ODXCTL_VERSION "0.2.0"

#define ODX_EXIT_OK	0
#define ODX_EXIT_FAIL	1
#define ODX_EXIT_USAGE	2

/* query.c */
int cmd_info(int argc, char **argv);
int cmd_map(int argc, char **argv);
int cmd_bitmap(int argc, char **argv);
int cmd_trim(int argc, char **argv);

/* check.c */
int cmd_check(int argc, char **argv);

#endif
