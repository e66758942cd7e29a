/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * odxctl: what the subcommand files share.
 *
 *   odxctl.c   main, the command table, help, version
 *   util.c     size parsing and printing, errors, JSON output helpers
 *   query.c    info, map, bitmap, trim (the control device's ioctls 1-4)
 *   offload.c  offload-read, offload-write, copy, status, abort, release (5-9)
 *   check.c    check (the offline metadata checker)
 *
 * Exit status of every command: 0 success, 1 the operation failed or
 * found problems, 2 bad usage.
 */
#ifndef ODXCTL_H
#define ODXCTL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define ODXCTL_VERSION "0.2.0"

#define ODX_EXIT_OK	0
#define ODX_EXIT_FAIL	1
#define ODX_EXIT_USAGE	2

/*
 * util.c: shared by the commands.
 */

/* odx_parse_size: "4096", "4K", "1M", "2GiB", "1t", "3P" (binary
 * multiples). 0, or -1 for garbage, a sign, an empty string or overflow. */
int odx_parse_size(const char *s, uint64_t *out);
/* odx_parse_u32, odx_parse_u64: a plain decimal number that fits */
int odx_parse_u32(const char *s, uint32_t *out);
int odx_parse_u64(const char *s, uint64_t *out);
/* "OFFSET:LENGTH", both sizes as odx_parse_size: 0 or -1 */
struct odx_range;
int odx_parse_range(const char *s, struct odx_range *rg);
/* "64 KiB", "1.5 GiB": a byte count for humans (buf of ODX_SIZE_BUF) */
#define ODX_SIZE_BUF 32
const char *odx_human_size(uint64_t bytes, char *buf);

/* One error line on stderr: "odxctl CMD[ DEV]: <message>". */
void odx_err(const char *cmd, const char *dev, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* "odxctl CMD: bad usage: <message> (see 'odxctl CMD --help')", returns 2 */
int odx_usage_err(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * The next option of a command's option loop: an option letter of
 * @allowed (its value in optarg), ODX_OPT_END after the last, or
 * ODX_OPT_EXIT with *@status the exit status: --help printed (0), or a
 * usage error (2, after its one line: an unknown option, an option of
 * another command, a missing value). Set optind = 1 and opterr = 0 first.
 */
#define ODX_OPT_END	(-1)
#define ODX_OPT_EXIT	(-2)
struct option;
int odx_next_opt(const char *cmd, const char *help, int argc, char **argv,
		 const char *optstring, const struct option *longopts,
		 const char *allowed, int *status);

/* Open the control device; on failure print the error (with a hint when
 * it is missing) for CMD and DEV and return -1. */
int odx_open_control(const char *cmd, const char *dev);
/* Open the volume's mapped device (O_RDONLY or O_WRONLY); -1 after an
 * error line. */
int odx_open_volume(const char *cmd, const char *dev, int flags);
/* Both: the control device and the volume; -1 after an error line
 * (errno kept). odx_close_both closes them. */
int odx_open_both(const char *cmd, const char *dev, int vflags, int *ctl,
		  int *vfd);
void odx_close_both(int ctl, int vfd);
/* A hint for an errno of the control device's requests, or "" */
const char *odx_errno_hint(int err);

/*
 * JSON output, one document on stdout. Values are written in the order
 * they are given; the writer keeps track of commas and indentation.
 */
#define ODX_JSON_DEPTH 8
struct odx_json {
	FILE *f;
	int depth;
	bool first[ODX_JSON_DEPTH];	/* nothing written yet at this depth */
	bool flat[ODX_JSON_DEPTH];	/* this level on one line */
};
void odx_json_init(struct odx_json *j, FILE *f);
/* @key NULL inside an array; @flat: the whole value on one line */
void odx_json_begin_object(struct odx_json *j, const char *key, bool flat);
void odx_json_end_object(struct odx_json *j);
void odx_json_begin_array(struct odx_json *j, const char *key, bool flat);
void odx_json_end_array(struct odx_json *j);
void odx_json_u64(struct odx_json *j, const char *key, uint64_t v);
void odx_json_bool(struct odx_json *j, const char *key, bool v);
void odx_json_string(struct odx_json *j, const char *key, const char *v);
/* a number with 3 decimals (seconds) */
void odx_json_double(struct odx_json *j, const char *key, double v);
/* the end of the document (a newline) */
void odx_json_finish(struct odx_json *j);

/* query.c */
int cmd_info(int argc, char **argv);
int cmd_map(int argc, char **argv);
int cmd_bitmap(int argc, char **argv);
int cmd_trim(int argc, char **argv);

/* offload.c */
int cmd_offload_read(int argc, char **argv);
int cmd_offload_write(int argc, char **argv);
int cmd_copy(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_abort(int argc, char **argv);
int cmd_release(int argc, char **argv);

/* check.c */
int cmd_check(int argc, char **argv);

#endif
