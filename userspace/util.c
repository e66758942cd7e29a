// SPDX-License-Identifier: GPL-2.0-only
/*
 * odxctl: what the commands share: sizes, error lines, opening the
 * control device and volumes, JSON output.
 */
#include <errno.h>
#include <getopt.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/dm-odx.h>

#include "odxctl.h"

/* --- sizes ---------------------------------------------------------------- */

static int parse_digits(const char **sp, uint64_t *out)
{
	const char *s = *sp;
	uint64_t v = 0;

	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*sp = s;
	*out = v;
	return 0;
}

int odx_parse_size(const char *s, uint64_t *out)
{
	static const char units[] = "KMGTP";
	const char *u;
	uint64_t v;
	unsigned int shift = 0;

	if (!s || parse_digits(&s, &v))
		return -1;
	if (*s) {
		u = strchr(units, *s >= 'a' && *s <= 'z' ? *s - 'a' + 'A' : *s);
		if (!u || !*u)
			return -1;
		shift = 10 * (unsigned int)(u - units + 1);
		s++;
		/* K, KiB, KB (all binary) */
		if (!strcmp(s, "iB") || !strcmp(s, "ib") || !strcmp(s, "B") ||
		    !strcmp(s, "b"))
			s += strlen(s);
		if (*s)
			return -1;
		if (v > (UINT64_MAX >> shift))
			return -1;
		v <<= shift;
	}
	*out = v;
	return 0;
}

int odx_parse_u64(const char *s, uint64_t *out)
{
	uint64_t v;

	if (!s || parse_digits(&s, &v) || *s)
		return -1;
	*out = v;
	return 0;
}

int odx_parse_u32(const char *s, uint32_t *out)
{
	uint64_t v;

	if (!s || parse_digits(&s, &v) || *s || v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

int odx_parse_range(const char *s, struct odx_range *rg)
{
	const char *colon = strchr(s, ':');
	char *off;
	uint64_t o, l;
	int r;

	if (!colon)
		return -1;
	off = strndup(s, (size_t)(colon - s));
	if (!off)
		return -1;
	r = odx_parse_size(off, &o) || odx_parse_size(colon + 1, &l);
	free(off);
	if (r)
		return -1;
	rg->offset = o;
	rg->length = l;
	return 0;
}

const char *odx_human_size(uint64_t bytes, char *buf)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB",
					     "PiB", "EiB" };
	double v = (double)bytes;
	int i = -1;

	if (bytes < 1024) {
		snprintf(buf, ODX_SIZE_BUF, "%" PRIu64 " B", bytes);
		return buf;
	}
	while (v >= 1024 && i < 5) {
		v /= 1024;
		i++;
	}
	if (v == (double)(uint64_t)v)
		snprintf(buf, ODX_SIZE_BUF, "%.0f %s", v, units[i]);
	else
		snprintf(buf, ODX_SIZE_BUF, "%.1f %s", v, units[i]);
	return buf;
}

/* --- errors ---------------------------------------------------------------- */

void odx_err(const char *cmd, const char *dev, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "odxctl %s%s%s: ", cmd, dev ? " " : "", dev ? dev : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int odx_usage_err(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "odxctl %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see 'odxctl %s --help')\n", cmd);
	return ODX_EXIT_USAGE;
}

int odx_next_opt(const char *cmd, const char *help, int argc, char **argv,
		 const char *optstring, const struct option *longopts,
		 const char *allowed, int *status)
{
	int c, li = -1;

	c = getopt_long(argc, argv, optstring, longopts, &li);
	if (c == -1)
		return ODX_OPT_END;
	if (c == 'h') {
		fputs(help, stdout);
		*status = ODX_EXIT_OK;
	} else if (c == ':') {
		*status = odx_usage_err(cmd, "option '%s' needs a value",
					argv[optind - 1]);
	} else if (c == '?') {
		if (optopt && optopt < 0x100)
			*status = odx_usage_err(cmd, "unknown option '-%c'",
						optopt);
		else
			*status = odx_usage_err(cmd, "unknown option '%s'",
						argv[optind - 1]);
	} else if (!strchr(allowed, c)) {
		/* an option of another command */
		if (li >= 0)
			*status = odx_usage_err(cmd, "unknown option '--%s'",
						longopts[li].name);
		else
			*status = odx_usage_err(cmd, "unknown option '-%c'", c);
	} else {
		return c;
	}
	return ODX_OPT_EXIT;
}

const char *odx_errno_hint(int err)
{
	switch (err) {
	case ENODEV:
		return " (not a resumed dm-odx volume)";
	case ENOTBLK:
		return " (give the volume's mapped device, e.g. /dev/mapper/NAME)";
	case EBUSY:
		return " (suspended, or held exclusively)";
	case EIO:
		return " (the volume's metadata failed: it needs a check)";
	case EOPNOTSUPP:
		return " (the volume ignores discards)";
	case EROFS:
		return " (the volume is read-only)";
	case EACCES:
	case EPERM:
		return " (the control device needs root)";
	}
	return "";
}

int odx_open_control(const char *cmd, const char *dev)
{
	int fd = open(ODX_CONTROL_PATH, O_RDWR | O_CLOEXEC);
	int e;

	if (fd >= 0)
		return fd;
	e = errno;
	odx_err(cmd, dev, "%s: %s%s", ODX_CONTROL_PATH, strerror(e),
		e == ENOENT || e == ENXIO || e == ENODEV ?
		" (is the dm-odx module loaded?)" : odx_errno_hint(e));
	errno = e;
	return -1;
}

int odx_open_volume(const char *cmd, const char *dev, int flags)
{
	int fd = open(dev, flags | O_CLOEXEC);
	int e;

	if (fd >= 0)
		return fd;
	e = errno;
	odx_err(cmd, dev, "%s", strerror(e));
	errno = e;
	return -1;
}

int odx_open_both(const char *cmd, const char *dev, int vflags, int *ctl,
		  int *vfd)
{
	*ctl = odx_open_control(cmd, dev);
	if (*ctl < 0)
		return -1;
	*vfd = odx_open_volume(cmd, dev, vflags);
	if (*vfd < 0) {
		int e = errno;

		close(*ctl);
		errno = e;
		return -1;
	}
	return 0;
}

void odx_close_both(int ctl, int vfd)
{
	close(vfd);
	close(ctl);
}

/* --- JSON ----------------------------------------------------------------- */

void odx_json_init(struct odx_json *j, FILE *f)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
	j->first[0] = true;
}

static void json_indent(struct odx_json *j)
{
	int i;

	fputc('\n', j->f);
	for (i = 0; i < j->depth; i++)
		fputs("  ", j->f);
}

static void json_string_body(FILE *f, const char *s)
{
	const unsigned char *p;

	fputc('"', f);
	for (p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		default:
			if (*p < 0x20)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

/* what goes before a value: comma, newline and indentation, the key */
static void json_value(struct odx_json *j, const char *key)
{
	if (j->depth > 0) {
		if (!j->first[j->depth])
			fputc(',', j->f);
		if (j->flat[j->depth]) {
			if (!j->first[j->depth])
				fputc(' ', j->f);
		} else {
			json_indent(j);
		}
	}
	j->first[j->depth] = false;
	if (key) {
		json_string_body(j->f, key);
		fputs(": ", j->f);
	}
}

static void json_open(struct odx_json *j, const char *key, char c, bool flat)
{
	json_value(j, key);
	fputc(c, j->f);
	if (j->depth + 1 >= ODX_JSON_DEPTH)
		abort();
	j->depth++;
	j->first[j->depth] = true;
	/* inside a flat value everything is flat */
	j->flat[j->depth] = flat || j->flat[j->depth - 1];
}

static void json_close(struct odx_json *j, char c)
{
	bool empty = j->first[j->depth], flat = j->flat[j->depth];

	j->depth--;
	if (!empty && !flat)
		json_indent(j);
	fputc(c, j->f);
}

void odx_json_begin_object(struct odx_json *j, const char *key, bool flat)
{
	json_open(j, key, '{', flat);
}

void odx_json_end_object(struct odx_json *j)
{
	json_close(j, '}');
}

void odx_json_begin_array(struct odx_json *j, const char *key, bool flat)
{
	json_open(j, key, '[', flat);
}

void odx_json_end_array(struct odx_json *j)
{
	json_close(j, ']');
}

void odx_json_u64(struct odx_json *j, const char *key, uint64_t v)
{
	json_value(j, key);
	fprintf(j->f, "%" PRIu64, v);
}

void odx_json_bool(struct odx_json *j, const char *key, bool v)
{
	json_value(j, key);
	fputs(v ? "true" : "false", j->f);
}

void odx_json_string(struct odx_json *j, const char *key, const char *v)
{
	json_value(j, key);
	json_string_body(j->f, v);
}

void odx_json_double(struct odx_json *j, const char *key, double v)
{
	json_value(j, key);
	fprintf(j->f, "%.3f", v == v && v > -1e300 && v < 1e300 ? v : 0.0);
}

void odx_json_finish(struct odx_json *j)
{
	fputc('\n', j->f);
	fflush(j->f);
}
