// SPDX-License-Identifier: GPL-2.0-only
/*
 * odxctl offload-read, offload-write, copy, status, abort, release: the
 * control device's requests 5-9 (include/uapi/linux/dm-odx.h). Each opens
 * /dev/odx-control and the volume's mapped device (for reading to make or
 * release a token or ask a status, for reading and writing to write with
 * one, for writing to abort) and names the volume by that fd.
 *
 * copy is the ddpt --odx loop: offload read of what is left of the
 * source, offload writes of what the token represents, until all is
 * copied; each token is released once its writes are done (or failed),
 * and an offload read refused for the volume's token quota (EDQUOT) is
 * retried for up to --wait seconds. The hidden option --batch SIZE caps
 * every offload read and write of a copy, so that tests can make it loop.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <linux/fs.h>
#include <linux/dm-odx.h>

#include "odxctl.h"

_Static_assert(sizeof(struct odx_token) == ODX_TOKEN_SIZE, "token size");

/* copy: how long an offload read refused with EDQUOT is retried */
#define ODX_COPY_DEFAULT_WAIT	30U	/* seconds */
#define ODX_COPY_MAX_WAIT	86400U

struct oopts {
	const char *cmd;
	bool json, quiet, immediate;
	uint32_t type, lifetime, wait;
	const char *token, *to;
	uint64_t transfer_offset, batch;
};

/* long-only options have letters that are not in the short option string */
static const struct option long_opts[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "json", no_argument, NULL, 'j' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "type", required_argument, NULL, 't' },
	{ "lifetime", required_argument, NULL, 'L' },
	{ "token", required_argument, NULL, 'k' },
	{ "transfer-offset", required_argument, NULL, 'x' },
	{ "immediate", no_argument, NULL, 'i' },
	{ "to", required_argument, NULL, 'T' },
	{ "batch", required_argument, NULL, 'b' },
	{ "wait", required_argument, NULL, 'w' },
	{ NULL, 0, NULL, 0 },
};

static const char *const help_offload_read =
	"usage: odxctl offload-read [--json] [--type pit|cv] [--lifetime SECONDS]\n"
	"                           --token FILE|- DEV OFFSET:LENGTH...\n"
	"\n"
	"Make a token for the data of up to 64 ranges of the volume DEV, taken\n"
	"one after the other, and write the 512-byte token to FILE (a new file\n"
	"gets mode 0600; '-': standard output, the report then goes to standard\n"
	"error). The token may represent less than asked: odxctl says so, and\n"
	"where the rest starts.\n"
	"\n"
	"  -t, --type pit|cv    point in time (default: the data is kept if the\n"
	"                       source is written afterwards) or change\n"
	"                       vulnerable (a write to the ranges revokes it)\n"
	"      --lifetime SECS  inactivity time asked for (default: the volume's)\n"
	"      --token FILE     where the token goes (required)\n"
	"  -j, --json           one JSON object\n"
	"  -h, --help           this help\n";

static const char *const help_offload_write =
	"usage: odxctl offload-write [--json] [--transfer-offset N] [--immediate]\n"
	"                            --token FILE|-|zero DEV OFFSET LENGTH\n"
	"\n"
	"One offload write: LENGTH bytes of the token's data, from N bytes into\n"
	"it (default 0), at OFFSET of the volume DEV. The token is read from\n"
	"FILE (exactly 512 bytes; '-': standard input); 'zero' is the well-known\n"
	"zero token (a file named zero is ./zero). Fewer bytes than asked may be\n"
	"written: odxctl says where to continue.\n"
	"\n"
	"      --token FILE|-|zero  the token (required)\n"
	"      --transfer-offset N  bytes into the token's data\n"
	"      --immediate          return once started, with the operation id\n"
	"                           (see 'odxctl status')\n"
	"  -j, --json               one JSON object on stdout\n"
	"  -h, --help               this help\n";

static const char *const help_copy =
	"usage: odxctl copy [--json] [--quiet] [--type pit|cv] [--lifetime S]\n"
	"                   [--wait S] [--to OTHER_DEV]\n"
	"                   DEV SRC_OFFSET DST_OFFSET LENGTH\n"
	"\n"
	"Copy LENGTH bytes from SRC_OFFSET of the volume DEV to DST_OFFSET of DEV\n"
	"(or of OTHER_DEV) by offload reads and writes, until all is copied. Each\n"
	"token is released as soon as its writes are done. On a terminal a\n"
	"progress line is shown on standard error.\n"
	"\n"
	"  -t, --type pit|cv  the tokens' type (default pit)\n"
	"      --lifetime S   the tokens' inactivity time (default 5 s; a\n"
	"                     token left behind goes then)\n"
	"      --wait S       when the volume's token quota (live tokens or\n"
	"                     pinned space) is full, wait up to S seconds for\n"
	"                     room (default 30; 0: fail at once)\n"
	"      --to DEV       the destination volume\n"
	"  -q, --quiet        no progress line, no summary\n"
	"  -j, --json         one JSON object on stdout\n"
	"  -h, --help         this help\n";

static const char *const help_status =
	"usage: odxctl status [--json] DEV OPERATION_ID\n"
	"\n"
	"Show the status of an offload operation of the volume DEV (e.g. one\n"
	"started by 'odxctl offload-write --immediate').\n"
	"\n"
	"  -j, --json     one JSON object on stdout\n"
	"  -h, --help     this help\n";

static const char *const help_abort =
	"usage: odxctl abort [--json] DEV OPERATION_ID\n"
	"\n"
	"Terminate an offload operation of the volume DEV started by 'odxctl\n"
	"offload-write --immediate'; what it wrote stays written.\n"
	"\n"
	"  -j, --json     one JSON object on stdout\n"
	"  -h, --help     this help\n";

static const char *const help_release =
	"usage: odxctl release [--json] --token FILE|- DEV\n"
	"\n"
	"Give back a token made on the volume DEV (by 'odxctl offload-read'):\n"
	"it dies at once, its pinned space and its place among the volume's\n"
	"live tokens are free again, and any later use of it fails (token\n"
	"deleted). The token is read from FILE (512 bytes; '-': standard input).\n"
	"\n"
	"      --token FILE|-  the token (required)\n"
	"  -j, --json          one JSON object on stdout\n"
	"  -h, --help          this help\n";

static int parse_type(const char *s, uint32_t *type)
{
	if (!strcmp(s, "pit"))
		*type = ODX_TOKEN_PIT;
	else if (!strcmp(s, "cv"))
		*type = ODX_TOKEN_CHANGE_VULNERABLE;
	else
		return -1;
	return 0;
}

static const char *type_name(uint32_t type)
{
	return type == ODX_TOKEN_CHANGE_VULNERABLE ? "cv" : "pit";
}

/*
 * Parse the options of a command; returns -1 to go on, else the exit
 * status (help printed, or a usage error). @allowed: its option letters.
 */
static int parse_opts(struct oopts *o, const char *cmd, const char *help,
		      const char *allowed, int argc, char **argv)
{
	int c, st;

	memset(o, 0, sizeof(*o));
	o->cmd = cmd;
	o->type = ODX_TOKEN_PIT;
	o->wait = ODX_COPY_DEFAULT_WAIT;
	optind = 1;
	opterr = 0;
	while ((c = odx_next_opt(cmd, help, argc, argv, ":hjqt:",
				 long_opts, allowed, &st)) != ODX_OPT_END) {
		if (c == ODX_OPT_EXIT)
			return st;
		switch (c) {
		case 'j':
			o->json = true;
			break;
		case 'q':
			o->quiet = true;
			break;
		case 'i':
			o->immediate = true;
			break;
		case 't':
			if (parse_type(optarg, &o->type))
				return odx_usage_err(cmd,
					"invalid token type '%s' (pit or cv)", optarg);
			break;
		case 'L':
			if (odx_parse_u32(optarg, &o->lifetime))
				return odx_usage_err(cmd,
					"invalid number '%s' for --lifetime", optarg);
			break;
		case 'k':
			o->token = optarg;
			break;
		case 'T':
			o->to = optarg;
			break;
		case 'x':
			if (odx_parse_size(optarg, &o->transfer_offset))
				return odx_usage_err(cmd,
					"invalid size '%s' for --transfer-offset", optarg);
			break;
		case 'b':
			if (odx_parse_size(optarg, &o->batch) || !o->batch)
				return odx_usage_err(cmd,
					"invalid size '%s' for --batch", optarg);
			break;
		case 'w':
			if (odx_parse_u32(optarg, &o->wait) ||
			    o->wait > ODX_COPY_MAX_WAIT)
				return odx_usage_err(cmd,
					"invalid number '%s' for --wait (seconds, at most %u)",
					optarg, ODX_COPY_MAX_WAIT);
			break;
		}
	}
	return -1;
}

/* Exactly @n positional arguments named by @names; -1 to go on. */
static int positionals(const char *cmd, int argc, char **argv, int n,
		       const char *const *names)
{
	int have = argc - optind;

	if (have < n)
		return odx_usage_err(cmd, "no %s given", names[have]);
	if (have > n)
		return odx_usage_err(cmd, "unexpected argument '%s'",
				     argv[optind + n]);
	return -1;
}

static int size_arg(const char *cmd, const char *name, const char *s,
		    uint64_t *v)
{
	if (odx_parse_size(s, v))
		return odx_usage_err(cmd, "invalid size '%s' for %s", s, name);
	return -1;
}

/* --- errors -------------------------------------------------------------- */

/* why a token cannot be used, by its errno */
static const struct {
	int e;
	const char *reason;
} token_errnos[] = {
	{ EMSGSIZE, "wrong length field, or truncated" },
	{ EPROTONOSUPPORT, "unknown type, or a type this request cannot use" },
	{ EKEYREJECTED, "corrupt: its secret, reserved bytes or fields do not match what the volume issued" },
	{ EKEYEXPIRED, "expired: its lifetime or inactivity time passed" },
	{ EKEYREVOKED, "revoked: its volume went away or was activated again, or its data was written" },
	{ ENOKEY, "unknown to the volume that created it" },
	{ EXDEV, "created by no volume of this system" },
	{ EIDRM, "released: it was given back by 'odxctl release' or a finished copy" },
};

static const char *token_reason(int e)
{
	size_t i;

	for (i = 0; i < sizeof(token_errnos) / sizeof(token_errnos[0]); i++)
		if (token_errnos[i].e == e)
			return token_errnos[i].reason;
	return NULL;
}

/* "EKEYEXPIRED" */
static const char *errno_name(int e)
{
	const char *n = strerrorname_np(e);

	return n ? n : "unknown";
}

enum req { REQ_READ, REQ_WRITE, REQ_STATUS, REQ_ABORT, REQ_RELEASE };

static const char *offload_hint(enum req req, int e)
{
	switch (e) {
	case EDQUOT:
		return " (the volume has its maximum of live tokens, or its pinned-space limit)";
	case ENOENT:
		if (req == REQ_RELEASE)
			return " (the volume did not issue this token, or has forgotten it)";
		return req >= REQ_STATUS ? " (no such operation id)" : "";
	case EALREADY:
		return " (the operation has already completed)";
	case EOPNOTSUPP:
		return " (not offered by this volume or this version of dm-odx)";
	case EINVAL:
		if (req == REQ_RELEASE)
			return "";
		return " (an offset or length not a multiple of the logical block size, or zero)";
	case EOVERFLOW:
		return " (offset plus length overflows)";
	case ERANGE:
		return req == REQ_WRITE ?
		       " (past the end of the volume, or the transfer offset is not inside the token's data)" :
		       " (past the end of the volume)";
	case EBUSY:
		return req == REQ_WRITE ?
		       " (a volume is suspended, or the destination is held exclusively)" :
		       " (the volume is suspended)";
	}
	return odx_errno_hint(e);
}

/*
 * A request failed: one line, "[WHAT: ]token invalid: REASON (strerror)"
 * for a token that cannot be used, else "[WHAT: ]strerror (hint)".
 */
static void req_err(const char *cmd, const char *dev, const char *what,
		    enum req req, int e, bool invalid, const char *tail)
{
	const char *reason = token_reason(e);

	if (reason || invalid)
		odx_err(cmd, dev, "%s%stoken invalid: %s (%s)%s",
			what ? what : "", what ? ": " : "",
			reason ? reason : "rejected", strerror(e), tail);
	else
		odx_err(cmd, dev, "%s%s%s%s%s", what ? what : "",
			what ? ": " : "", strerror(e), offload_hint(req, e),
			tail);
}

/* error, errno, errno_name of a failed request */
static void json_error(struct odx_json *j, int e)
{
	odx_json_string(j, "error", strerror(e));
	odx_json_u64(j, "errno", (uint64_t)e);
	odx_json_string(j, "errno_name", errno_name(e));
}

/* --- tokens -------------------------------------------------------------- */

static void zero_token(struct odx_token *t)
{
	memset(t, 0, sizeof(*t));
	t->type = htobe32(ODX_TOKEN_ZERO);
	t->length = htobe16(ODX_TOKEN_LENGTH);
}

/* The token of --token: "zero", "-" (stdin) or a file of 512 bytes. */
static int read_token(const char *cmd, const char *dev, const char *path,
		      struct odx_token *t)
{
	unsigned char buf[ODX_TOKEN_SIZE + 1];
	bool in = !strcmp(path, "-");
	const char *name = in ? "standard input" : path;
	size_t n;
	FILE *f;
	int e;

	if (!strcmp(path, "zero")) {
		zero_token(t);
		return 0;
	}
	f = in ? stdin : fopen(path, "rbe");
	if (!f) {
		odx_err(cmd, dev, "token %s: %s", name, strerror(errno));
		return -1;
	}
	n = fread(buf, 1, sizeof(buf), f);
	e = ferror(f) ? errno : 0;
	if (!in)
		fclose(f);
	if (e || n != ODX_TOKEN_SIZE) {
		odx_err(cmd, dev, "token %s: %s", name, e ? strerror(e) :
			n > ODX_TOKEN_SIZE ? "more than 512 bytes, not a token" :
			"fewer than 512 bytes, not a token");
		return -1;
	}
	memcpy(t, buf, sizeof(*t));
	return 0;
}

/*
 * Where a new token goes, opened before it is asked for: a file that
 * odxctl creates (mode 0600) goes away again if there is no token, an
 * existing one is truncated only once there is. NULL after an error line.
 */
static FILE *token_out_open(const char *cmd, const char *dev,
			    const char *path, bool *created)
{
	FILE *f = NULL;
	int fd;

	*created = false;
	if (!strcmp(path, "-"))
		return stdout;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0)
		*created = true;
	else if (errno == EEXIST)
		fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd >= 0)
		f = fdopen(fd, "wb");
	if (f)
		return f;
	odx_err(cmd, dev, "token %s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	if (*created)
		unlink(path);
	return NULL;
}

/* Write token @t (NULL: there is none); 0, or -1 after an error line. */
static int token_out_close(const char *cmd, const char *dev, const char *path,
			   FILE *f, bool created, const struct odx_token *t)
{
	bool out = f == stdout;
	struct stat st;
	int e = 0;

	if (t && !out && !fstat(fileno(f), &st) && S_ISREG(st.st_mode) &&
	    ftruncate(fileno(f), 0))
		e = errno;
	else if (t && (fwrite(t, sizeof(*t), 1, f) != 1 || fflush(f)))
		e = errno;
	if (!out && fclose(f) && t && !e)
		e = errno;
	if (t && !e)
		return 0;
	if (created)
		unlink(path);
	if (e)
		odx_err(cmd, dev, "token %s: %s", out ? "standard output" : path,
			strerror(e));
	return -1;
}

/* --- offload-read -------------------------------------------------------- */

static void read_report(const struct oopts *o, const char *dev,
			const struct odx_range *rg, uint32_t n, uint64_t asked,
			const struct odx_offload_read *q)
{
	/* with the token on stdout, the report goes to stderr */
	FILE *f = strcmp(o->token, "-") ? stdout : stderr;
	char a[ODX_SIZE_BUF], b[ODX_SIZE_BUF];
	uint64_t rest = q->bytes, resume = 0;
	uint32_t i, ri = n;
	struct odx_json j;

	for (i = 0; i < n; i++) {
		if (rest < rg[i].length) {
			ri = i;
			resume = rg[i].offset + rest;
			break;
		}
		rest -= rg[i].length;
	}
	if (!o->json) {
		fprintf(f, "token for %s (%" PRIu64 " bytes) of %s asked, %s, lifetime %u s, in %s\n",
			odx_human_size(q->bytes, a), (uint64_t)q->bytes,
			odx_human_size(asked, b), type_name(o->type),
			q->lifetime, strcmp(o->token, "-") ? o->token :
			"standard output");
		if (ri < n)
			fprintf(f, "short: the token represents less than asked; the rest starts at byte %" PRIu64 " (range %u): offload-read it again\n",
				resume, ri);
		return;
	}
	odx_json_init(&j, f);
	odx_json_begin_object(&j, NULL, false);
	odx_json_string(&j, "device", dev);
	odx_json_string(&j, "token", o->token);
	odx_json_string(&j, "type", type_name(o->type));
	odx_json_u64(&j, "ranges", n);
	odx_json_u64(&j, "asked", asked);
	odx_json_u64(&j, "bytes", q->bytes);
	odx_json_bool(&j, "short", ri < n);
	if (ri < n) {
		odx_json_u64(&j, "resume_offset", resume);
		odx_json_u64(&j, "resume_range", ri);
	}
	odx_json_u64(&j, "lifetime", q->lifetime);
	odx_json_end_object(&j);
	odx_json_finish(&j);
}

int cmd_offload_read(int argc, char **argv)
{
	static const char *const names[] = { "device" };
	struct odx_range rg[ODX_OFFLOAD_MAX_RANGES];
	struct odx_offload_read q;
	uint64_t asked = 0;
	struct oopts o;
	const char *cmd = "offload-read", *dev;
	int r, i, n, ctl, vfd, e;
	bool created;
	FILE *out;

	r = parse_opts(&o, cmd, help_offload_read, "jtLk", argc, argv);
	if (r >= 0)
		return r;
	if (optind >= argc)
		return positionals(cmd, argc, argv, 1, names);
	dev = argv[optind];
	n = argc - optind - 1;
	if (!n)
		return odx_usage_err(cmd, "no ranges given");
	if (n > (int)ODX_OFFLOAD_MAX_RANGES)
		return odx_usage_err(cmd, "%d ranges, at most %u per offload read",
				     n, ODX_OFFLOAD_MAX_RANGES);
	for (i = 0; i < n; i++) {
		if (odx_parse_range(argv[optind + 1 + i], &rg[i]))
			return odx_usage_err(cmd,
				"invalid range '%s' (want OFFSET:LENGTH, e.g. 0:64M)",
				argv[optind + 1 + i]);
		asked = asked + rg[i].length < asked ? UINT64_MAX :
			asked + rg[i].length;
	}
	if (!o.token)
		return odx_usage_err(cmd, "no --token FILE given");
	if (!strcmp(o.token, "-") && isatty(STDOUT_FILENO))
		return odx_usage_err(cmd,
			"refusing to write the binary token to a terminal");
	out = token_out_open(cmd, dev, o.token, &created);
	if (!out)
		return ODX_EXIT_FAIL;
	if (odx_open_both(cmd, dev, O_RDONLY, &ctl, &vfd)) {
		token_out_close(cmd, dev, o.token, out, created, NULL);
		return ODX_EXIT_FAIL;
	}
	memset(&q, 0, sizeof(q));
	q.size = sizeof(q);
	q.fd = vfd;
	q.ranges = (uintptr_t)rg;
	q.count = (uint32_t)n;
	q.token_type = o.type;
	q.lifetime = o.lifetime;
	r = ioctl(ctl, ODX_IOC_OFFLOAD_READ, &q);
	e = errno;
	odx_close_both(ctl, vfd);
	if (r) {
		token_out_close(cmd, dev, o.token, out, created, NULL);
		req_err(cmd, dev, NULL, REQ_READ, e, false, "");
		return ODX_EXIT_FAIL;
	}
	if (token_out_close(cmd, dev, o.token, out, created, &q.token))
		return ODX_EXIT_FAIL;
	read_report(&o, dev, rg, (uint32_t)n, asked, &q);
	return ODX_EXIT_OK;
}

/* --- offload-write ------------------------------------------------------- */

static void write_report(const struct oopts *o, const char *dev,
			 const struct odx_offload_write *q, int e)
{
	bool invalid = q->result & ODX_WRITE_TOKEN_INVALID;
	bool busy = q->result & ODX_WRITE_IN_PROGRESS;
	bool is_short = !e && !busy && q->written < q->length;
	char a[ODX_SIZE_BUF], b[ODX_SIZE_BUF];
	struct odx_json j;

	if (!o->json) {
		printf("wrote %s (%" PRIu64 " bytes) of %s asked at offset %" PRIu64 ", transfer offset %" PRIu64 "%s\n",
		       odx_human_size(q->written, a), (uint64_t)q->written,
		       odx_human_size(q->length, b), (uint64_t)q->offset,
		       (uint64_t)q->transfer_offset,
		       invalid ? ", token invalid" : "");
		if (busy || (o->immediate && !e))
			printf("operation %" PRIu64 "%s (see 'odxctl status %s %" PRIu64 "')\n",
			       (uint64_t)q->operation_id,
			       busy ? " in progress" : " done", dev,
			       (uint64_t)q->operation_id);
		if (is_short)
			printf("short: continue at offset %" PRIu64 ", transfer offset %" PRIu64 ", length %" PRIu64 "\n",
			       (uint64_t)(q->offset + q->written),
			       (uint64_t)(q->transfer_offset + q->written),
			       (uint64_t)(q->length - q->written));
		return;
	}
	odx_json_init(&j, stdout);
	odx_json_begin_object(&j, NULL, false);
	odx_json_string(&j, "device", dev);
	odx_json_string(&j, "token", o->token);
	odx_json_u64(&j, "offset", q->offset);
	odx_json_u64(&j, "length", q->length);
	odx_json_u64(&j, "transfer_offset", q->transfer_offset);
	odx_json_bool(&j, "immediate", o->immediate);
	odx_json_u64(&j, "written", q->written);
	odx_json_bool(&j, "short", is_short);
	odx_json_u64(&j, "result", q->result);
	odx_json_bool(&j, "token_invalid", invalid);
	odx_json_bool(&j, "in_progress", busy);
	odx_json_u64(&j, "operation_id", q->operation_id);
	if (e)
		json_error(&j, e);
	odx_json_end_object(&j);
	odx_json_finish(&j);
}

int cmd_offload_write(int argc, char **argv)
{
	static const char *const names[] = { "device", "OFFSET", "LENGTH" };
	struct odx_offload_write q;
	char wrote[64];
	uint64_t offset, length;
	struct oopts o;
	const char *cmd = "offload-write", *dev;
	int r, ctl, vfd, e;

	r = parse_opts(&o, cmd, help_offload_write, "jkxi", argc, argv);
	if (r >= 0)
		return r;
	r = positionals(cmd, argc, argv, 3, names);
	if (r >= 0)
		return r;
	dev = argv[optind];
	r = size_arg(cmd, "OFFSET", argv[optind + 1], &offset);
	if (r < 0)
		r = size_arg(cmd, "LENGTH", argv[optind + 2], &length);
	if (r >= 0)
		return r;
	if (!o.token)
		return odx_usage_err(cmd, "no --token FILE|-|zero given");

	memset(&q, 0, sizeof(q));
	if (read_token(cmd, dev, o.token, &q.token))
		return ODX_EXIT_FAIL;
	if (odx_open_both(cmd, dev, O_RDWR, &ctl, &vfd))
		return ODX_EXIT_FAIL;
	q.size = sizeof(q);
	q.fd = vfd;
	q.offset = offset;
	q.length = length;
	q.transfer_offset = o.transfer_offset;
	q.flags = o.immediate ? ODX_WRITE_IMMEDIATE : 0;
	r = ioctl(ctl, ODX_IOC_OFFLOAD_WRITE, &q);
	e = r ? errno : 0;
	odx_close_both(ctl, vfd);
	/*
	 * written and result come back also when the request fails: JSON
	 * reports them, the human error line says what was written
	 */
	if (!e || o.json)
		write_report(&o, dev, &q, e);
	if (!e)
		return ODX_EXIT_OK;
	snprintf(wrote, sizeof(wrote), " (wrote %" PRIu64 " bytes)",
		 (uint64_t)q.written);
	req_err(cmd, dev, NULL, REQ_WRITE, e,
		q.result & ODX_WRITE_TOKEN_INVALID, q.written ? wrote : "");
	return ODX_EXIT_FAIL;
}

/* --- copy ---------------------------------------------------------------- */

static double since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) +
	       (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

struct progress {
	bool on;
	int width;		/* of the line on the terminal */
	double last;
	struct timespec start;
};

static void progress_show(struct progress *p, uint64_t done, uint64_t total)
{
	char a[ODX_SIZE_BUF], b[ODX_SIZE_BUF], line[128];
	double s = since(&p->start);
	int n;

	if (!p->on || (p->width && s - p->last < 0.2 && done < total))
		return;
	p->last = s;
	n = snprintf(line, sizeof(line), "%s / %s  %3u%%  %.1f MiB/s",
		     odx_human_size(done, a), odx_human_size(total, b),
		     (unsigned int)(total ? (double)done * 100 / (double)total : 100),
		     s > 0 ? (double)done / 1048576 / s : 0.0);
	if (n < 0)
		return;
	if (n >= (int)sizeof(line))
		n = (int)sizeof(line) - 1;
	fprintf(stderr, "\r%s%*s", line, p->width > n ? p->width - n : 0, "");
	if (n > p->width)
		p->width = n;
	fflush(stderr);
}

static void progress_clear(struct progress *p)
{
	if (!p->on || !p->width)
		return;
	fprintf(stderr, "\r%*s\r", p->width, "");
	fflush(stderr);
	p->width = 0;
}

/* the two fds are one device (st_rdev of block devices, else the inode) */
static bool same_device(int a, int b)
{
	struct stat sa, sb;

	if (fstat(a, &sa) || fstat(b, &sb))
		return false;
	if (S_ISBLK(sa.st_mode) && S_ISBLK(sb.st_mode))
		return sa.st_rdev == sb.st_rdev;
	return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

struct copy {
	const struct oopts *o;
	const char *dev, *to;
	int ctl, src, dst;
	uint64_t src_off, dst_off, length, done, reads, writes, released;
	double waited;		/* seconds, for the token quota */
	bool overlap_ahead;	/* one volume, destination inside, after the source */
	bool said_waiting;
	struct progress p;
	int err;		/* of the failed request, or 0 */
	const char *msg;	/* else what failed */
	char what[160];		/* the request under way */
};

/* A copy failed: one line (once the progress line is gone); -1. */
static int copy_fail(struct copy *c, enum req req, int e, bool invalid,
		     const char *msg)
{
	char tail[96];

	c->err = e;
	c->msg = msg;
	progress_clear(&c->p);
	if (e == EDQUOT && c->waited > 0)
		snprintf(tail, sizeof(tail), " (waited %.0f s; copied %" PRIu64 " of %" PRIu64 " bytes)",
			 c->waited, c->done, c->length);
	else
		snprintf(tail, sizeof(tail), " (copied %" PRIu64 " of %" PRIu64 " bytes)",
			 c->done, c->length);
	if (msg)
		odx_err(c->o->cmd, c->dev, "%s: %s%s", c->what, msg, tail);
	else
		req_err(c->o->cmd, c->dev, c->what, req, e, invalid, tail);
	return -1;
}

#define ODX_COPY_TOKEN_LIFETIME	5U	/* seconds */

static uint64_t batch(const struct copy *c, uint64_t len)
{
	return c->o->batch && len > c->o->batch ? c->o->batch : len;
}

/*
 * Give back a token of the copy, done with or not: its pins go at once.
 * A token that died meanwhile holds nothing; a dm-odx without the
 * request (ENOTTY) lets it expire. Anything else is said, and the copy
 * goes on: the token still goes at the end of its lifetime.
 */
static void copy_release(struct copy *c, const struct odx_token *t)
{
	struct odx_token_release q;
	int e;

	memset(&q, 0, sizeof(q));
	q.size = sizeof(q);
	q.fd = c->src;
	q.token = *t;
	if (!ioctl(c->ctl, ODX_IOC_TOKEN_RELEASE, &q)) {
		c->released++;
		return;
	}
	e = errno;
	if (e == ENOTTY || token_reason(e))
		return;
	progress_clear(&c->p);
	odx_err(c->o->cmd, c->dev, "release of a token (ignored: it expires in its lifetime): %s",
		strerror(e));
}

/*
 * An offload read refused for the token quota (live tokens or pinned
 * space, EDQUOT): others' tokens may give room soon (they are released,
 * or expire). Sleep a while, backing off from 50 ms to 1 s, and say so
 * once; false once the copy has waited --wait seconds in all.
 */
static bool copy_wait_quota(struct copy *c, double *backoff)
{
	double d, left = (double)c->o->wait - c->waited;
	struct timespec ts, t0;

	if (left < 0.001)
		return false;
	if (!c->said_waiting) {
		progress_clear(&c->p);
		odx_err(c->o->cmd, c->dev, "the volume's token quota (live tokens or pinned space) is full: waiting up to %u s for room",
			c->o->wait);
		c->said_waiting = true;
	}
	d = *backoff < left ? *backoff : left;
	ts.tv_sec = (time_t)d;
	ts.tv_nsec = (long)((d - (double)ts.tv_sec) * 1e9);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	nanosleep(&ts, NULL);
	c->waited += since(&t0);
	*backoff = *backoff * 2 > 1.0 ? 1.0 : *backoff * 2;
	return true;
}

/* The offload writes of one token; 0, or -1 after the error line. */
static int copy_token(struct copy *c, const struct odx_offload_read *q,
		      const struct odx_range *rg)
{
	struct odx_offload_write w;
	uint64_t t, len;

	if (!q->bytes || q->bytes > rg->length)
		return copy_fail(c, REQ_READ, 0, false, q->bytes ?
				 "the token represents more than asked" :
				 "the token represents 0 bytes");
	/* in pieces, the writes would overwrite source not yet read */
	if (c->overlap_ahead && q->bytes < c->length)
		return copy_fail(c, REQ_READ, 0, false,
				 "the destination overlaps the source after it and the token represents less than all of it: nothing was written");
	for (t = 0; t < q->bytes; t += w.written) {
		len = batch(c, q->bytes - t);
		memset(&w, 0, sizeof(w));
		w.size = sizeof(w);
		w.fd = c->dst;
		w.offset = c->dst_off + c->done;
		w.length = len;
		w.transfer_offset = t;
		w.token = q->token;
		snprintf(c->what, sizeof(c->what), "offload write to %s at %" PRIu64 " (+%" PRIu64 ", transfer offset %" PRIu64 ")",
			 c->to, (uint64_t)w.offset, len, t);
		c->writes++;
		if (ioctl(c->ctl, ODX_IOC_OFFLOAD_WRITE, &w))
			return copy_fail(c, REQ_WRITE, errno,
					 w.result & ODX_WRITE_TOKEN_INVALID,
					 NULL);
		if (!w.written || w.written > len)
			return copy_fail(c, REQ_WRITE, 0, false, w.written ?
					 "more bytes written than asked" :
					 "0 bytes written without an error");
		c->done += w.written;
		progress_show(&c->p, c->done, c->length);
	}
	return 0;
}

/*
 * Offload read of what is left (the token may represent less), offload
 * writes of what the token represents (each may write less), until all
 * is copied; each token is released after its writes, and on a failure.
 * 0, or -1 after the error line.
 */
static int copy_loop(struct copy *c)
{
	struct odx_offload_read q;
	struct odx_range rg;
	double backoff;
	int r;

	while (c->done < c->length) {
		rg.offset = c->src_off + c->done;
		rg.length = batch(c, c->length - c->done);
		memset(&q, 0, sizeof(q));
		q.size = sizeof(q);
		q.fd = c->src;
		q.ranges = (uintptr_t)&rg;
		q.count = 1;
		q.token_type = c->o->type;
		/* used at once: a short life gives its pins back soon */
		q.lifetime = c->o->lifetime ? c->o->lifetime :
			ODX_COPY_TOKEN_LIFETIME;
		snprintf(c->what, sizeof(c->what), "offload read at %" PRIu64 " (+%" PRIu64 ")",
			 (uint64_t)rg.offset, (uint64_t)rg.length);
		c->reads++;
		backoff = 0.05;
		while ((r = ioctl(c->ctl, ODX_IOC_OFFLOAD_READ, &q)) &&
		       errno == EDQUOT && copy_wait_quota(c, &backoff))
			;
		if (r)
			return copy_fail(c, REQ_READ, errno, false, NULL);
		r = copy_token(c, &q, &rg);
		copy_release(c, &q.token);
		if (r)
			return r;
	}
	return 0;
}

static void copy_report(const struct copy *c, double secs, bool failed)
{
	char a[ODX_SIZE_BUF];
	struct odx_json j;

	if (!c->o->json) {
		if (!failed && !c->o->quiet)
			printf("copied %s (%" PRIu64 " bytes) in %.3f s (%.1f MiB/s): %" PRIu64 " offload read%s, %" PRIu64 " offload write%s\n",
			       odx_human_size(c->done, a), c->done, secs,
			       secs > 0 ? (double)c->done / 1048576 / secs : 0.0,
			       c->reads, c->reads == 1 ? "" : "s", c->writes,
			       c->writes == 1 ? "" : "s");
		return;
	}
	odx_json_init(&j, stdout);
	odx_json_begin_object(&j, NULL, false);
	odx_json_string(&j, "device", c->dev);
	odx_json_string(&j, "to", c->to);
	odx_json_string(&j, "type", type_name(c->o->type));
	odx_json_u64(&j, "src_offset", c->src_off);
	odx_json_u64(&j, "dst_offset", c->dst_off);
	odx_json_u64(&j, "length", c->length);
	odx_json_u64(&j, "copied", c->done);
	odx_json_double(&j, "seconds", secs);
	odx_json_u64(&j, "reads", c->reads);
	odx_json_u64(&j, "writes", c->writes);
	odx_json_u64(&j, "released", c->released);
	odx_json_double(&j, "waited", c->waited);
	if (c->err)
		json_error(&j, c->err);
	else if (failed)
		odx_json_string(&j, "error", c->msg);
	odx_json_end_object(&j);
	odx_json_finish(&j);
}

int cmd_copy(int argc, char **argv)
{
	static const char *const names[] = { "device", "SRC_OFFSET",
					     "DST_OFFSET", "LENGTH" };
	struct oopts o;
	struct copy c;
	double secs;
	int r;

	memset(&c, 0, sizeof(c));
	c.o = &o;
	r = parse_opts(&o, "copy", help_copy, "jqtTbLw", argc, argv);
	if (r >= 0)
		return r;
	r = positionals("copy", argc, argv, 4, names);
	if (r >= 0)
		return r;
	c.dev = argv[optind];
	c.to = o.to ? o.to : c.dev;
	r = size_arg("copy", "SRC_OFFSET", argv[optind + 1], &c.src_off);
	if (r < 0)
		r = size_arg("copy", "DST_OFFSET", argv[optind + 2], &c.dst_off);
	if (r < 0)
		r = size_arg("copy", "LENGTH", argv[optind + 3], &c.length);
	if (r >= 0)
		return r;
	if (!c.length)
		return odx_usage_err("copy", "LENGTH 0: nothing to copy");

	if (odx_open_both("copy", c.dev, O_RDONLY, &c.ctl, &c.src))
		return ODX_EXIT_FAIL;
	c.dst = odx_open_volume("copy", c.to, O_RDWR);
	if (c.dst < 0) {
		odx_close_both(c.ctl, c.src);
		return ODX_EXIT_FAIL;
	}
	c.overlap_ahead = same_device(c.src, c.dst) && c.dst_off > c.src_off &&
			  c.dst_off - c.src_off < c.length;
	c.p.on = !o.quiet && isatty(STDERR_FILENO);
	clock_gettime(CLOCK_MONOTONIC, &c.p.start);
	r = copy_loop(&c);
	secs = since(&c.p.start);
	progress_clear(&c.p);
	close(c.dst);
	odx_close_both(c.ctl, c.src);
	copy_report(&c, secs, r != 0);
	return r ? ODX_EXIT_FAIL : ODX_EXIT_OK;
}

/* --- status, abort ------------------------------------------------------- */

struct code_name {
	unsigned int code;
	const char *name;
};

static const char *code_name(const struct code_name *t, unsigned int code)
{
	for (; t->name; t++)
		if (t->code == code)
			return t->name;
	return "unknown";
}

static const struct code_name service_actions[] = {
	{ ODX_SA_POPULATE_TOKEN, "populate token" },
	{ ODX_SA_WRITE_USING_TOKEN, "write using token" }, { 0, NULL },
};

static const struct code_name op_statuses[] = {
	{ ODX_OP_DONE, "done" }, { ODX_OP_FAILED, "failed" },
	{ ODX_OP_DONE_PARTIAL_TOKEN, "done, partial token usage" },
	{ ODX_OP_DONE_RESIDUAL, "done, residual data" },
	{ ODX_OP_IN_PROGRESS, "in progress" },
	{ ODX_OP_IN_PROGRESS_FOREGROUND, "in progress, foreground" },
	{ ODX_OP_IN_PROGRESS_BACKGROUND, "in progress, background" },
	{ ODX_OP_TERMINATED, "terminated" }, { 0, NULL },
};

static const struct code_name completion_statuses[] = {
	{ ODX_SCSI_GOOD, "good" },
	{ ODX_SCSI_CHECK_CONDITION, "check condition" }, { 0, NULL },
};

static const struct code_name units[] = {
	{ ODX_UNITS_BYTES, "bytes" }, { ODX_UNITS_KIBIBYTES, "KiB" },
	{ ODX_UNITS_MEBIBYTES, "MiB" }, { ODX_UNITS_GIBIBYTES, "GiB" },
	{ ODX_UNITS_TEBIBYTES, "TiB" }, { ODX_UNITS_PEBIBYTES, "PiB" },
	{ ODX_UNITS_EXBIBYTES, "EiB" }, { ODX_UNITS_BLOCKS, "logical blocks" },
	{ 0, NULL },
};

static const struct code_name sense_keys[] = {
	{ 0x00, "no sense" }, { ODX_SENSE_ILLEGAL_REQUEST, "illegal request" },
	{ ODX_SENSE_COPY_ABORTED, "copy aborted" },
	{ 0x0B, "aborted command" }, { 0, NULL },
};

static const struct code_name ascs[] = {
	{ 0x00, "none" }, { ODX_ASC_INVALID_TOKEN_OP, "invalid token operation" },
	{ 0, NULL },
};

/* the qualifiers of additional sense 0x23 */
static const struct code_name token_ascqs[] = {
	{ 0x00, "cause not reportable" },
	{ ODX_ASCQ_UNSUPPORTED_TYPE, "unsupported token type" },
	{ ODX_ASCQ_REMOTE_TOKEN, "remote token usage not supported" },
	{ ODX_ASCQ_TOKEN_UNKNOWN, "token unknown" },
	{ ODX_ASCQ_TOKEN_CORRUPT, "token corrupt" },
	{ ODX_ASCQ_TOKEN_REVOKED, "token revoked" },
	{ ODX_ASCQ_TOKEN_EXPIRED, "token expired" },
	{ ODX_ASCQ_TOKEN_CANCELLED, "token cancelled" },
	{ ODX_ASCQ_TOKEN_DELETED, "token deleted" },
	{ ODX_ASCQ_INVALID_LENGTH, "invalid token length" }, { 0, NULL },
};

/* The transfer count in bytes; false if the units do not say. */
static bool transfer_bytes(const struct odx_operation_status *s,
			   uint32_t lbs, uint64_t *out)
{
	unsigned int shift;

	if (s->transfer_count_units == ODX_UNITS_BLOCKS) {
		if (!lbs || s->transfer_count > UINT64_MAX / lbs)
			return false;
		*out = s->transfer_count * lbs;
		return true;
	}
	if (s->transfer_count_units > ODX_UNITS_EXBIBYTES)
		return false;
	shift = 10U * s->transfer_count_units;
	if (s->transfer_count > UINT64_MAX >> shift)
		return false;
	*out = s->transfer_count << shift;
	return true;
}

/*
 * One field of a status: a JSON member KEY (and KEY_name when the code
 * has a @name), or a line "label  value" ("label  0xNN (name)").
 */
static void field(struct odx_json *j, const char *key, const char *label,
		  uint64_t v, const char *name)
{
	char k[48];

	if (j) {
		odx_json_u64(j, key, v);
		snprintf(k, sizeof(k), "%s_name", key);
		if (name)
			odx_json_string(j, k, name);
	} else if (name) {
		printf("%-20s 0x%02" PRIx64 " (%s)\n", label, v, name);
	} else {
		printf("%-20s %" PRIu64 "\n", label, v);
	}
}

static void status_report(const char *dev, const struct odx_operation_status *s,
			  uint32_t lbs, bool json)
{
	int e = s->error < 0 ? -s->error : s->error;
	struct odx_json jj, *j = json ? &jj : NULL;
	uint64_t bytes;

	if (j) {
		odx_json_init(j, stdout);
		odx_json_begin_object(j, NULL, false);
		odx_json_string(j, "device", dev);
	}
	field(j, "operation_id", "operation", s->operation_id, NULL);
	field(j, "service_action", "service action", s->service_action,
	      code_name(service_actions, s->service_action));
	field(j, "operation_status", "operation status", s->operation_status,
	      code_name(op_statuses, s->operation_status));
	if (j)
		odx_json_bool(j, "in_progress",
			      s->operation_status >= ODX_OP_IN_PROGRESS &&
			      s->operation_status <= ODX_OP_IN_PROGRESS_BACKGROUND);
	field(j, "operation_counter", "operation counter",
	      s->operation_counter, NULL);
	field(j, "status_update_delay", "status delay (ms)",
	      s->status_update_delay, NULL);
	field(j, "completion_status", "completion status", s->completion_status,
	      code_name(completion_statuses, s->completion_status));
	field(j, "transfer_count", "transfer count", s->transfer_count, NULL);
	field(j, "transfer_count_units", "transfer units",
	      s->transfer_count_units, code_name(units, s->transfer_count_units));
	if (transfer_bytes(s, lbs, &bytes))
		field(j, "transfer_bytes", "transfer bytes", bytes, NULL);
	field(j, "segments_processed", "segments processed",
	      s->segments_processed, NULL);
	field(j, "sense_key", "sense key", s->sense_key,
	      code_name(sense_keys, s->sense_key));
	field(j, "asc", "additional sense", s->asc, code_name(ascs, s->asc));
	field(j, "ascq", "qualifier", s->ascq,
	      s->asc == ODX_ASC_INVALID_TOKEN_OP ? code_name(token_ascqs, s->ascq) :
	      s->asc || s->ascq ? "unknown" : "none");
	if (!j) {
		printf("%-20s %s%s%s%s\n", "error", e ? errno_name(e) : "none",
		       e ? " (" : "", e ? strerror(e) : "", e ? ")" : "");
		return;
	}
	odx_json_u64(j, "errno", (uint64_t)e);
	odx_json_string(j, "errno_name", e ? errno_name(e) : "");
	odx_json_string(j, "error", e ? strerror(e) : "");
	odx_json_end_object(j);
	odx_json_finish(j);
}

/* The DEV OPERATION_ID of status and abort; -1 to go on. */
static int dev_and_id(const char *cmd, int argc, char **argv,
		      const char **dev, uint64_t *id)
{
	static const char *const names[] = { "device", "OPERATION_ID" };
	int r = positionals(cmd, argc, argv, 2, names);

	if (r >= 0)
		return r;
	*dev = argv[optind];
	if (odx_parse_u64(argv[optind + 1], id))
		return odx_usage_err(cmd, "invalid operation id '%s'",
				     argv[optind + 1]);
	return -1;
}

int cmd_status(int argc, char **argv)
{
	struct odx_operation_status s;
	struct oopts o;
	const char *dev;
	uint64_t id;
	int r, ctl, vfd, e, bs = 0;

	r = parse_opts(&o, "status", help_status, "j", argc, argv);
	if (r < 0)
		r = dev_and_id("status", argc, argv, &dev, &id);
	if (r >= 0)
		return r;
	if (odx_open_both("status", dev, O_RDONLY, &ctl, &vfd))
		return ODX_EXIT_FAIL;
	memset(&s, 0, sizeof(s));
	s.size = sizeof(s);
	s.fd = vfd;
	s.operation_id = id;
	r = ioctl(ctl, ODX_IOC_OPERATION_STATUS, &s);
	e = errno;
	/* for a transfer count in logical blocks */
	if (!r && ioctl(vfd, BLKSSZGET, &bs))
		bs = 0;
	odx_close_both(ctl, vfd);
	if (r) {
		req_err("status", dev, NULL, REQ_STATUS, e, false, "");
		return ODX_EXIT_FAIL;
	}
	status_report(dev, &s, bs > 0 ? (uint32_t)bs : 0, o.json);
	return ODX_EXIT_OK;
}

int cmd_abort(int argc, char **argv)
{
	struct odx_operation_abort q;
	struct odx_json j;
	struct oopts o;
	const char *dev;
	uint64_t id;
	int r, ctl, vfd, e;

	r = parse_opts(&o, "abort", help_abort, "j", argc, argv);
	if (r < 0)
		r = dev_and_id("abort", argc, argv, &dev, &id);
	if (r >= 0)
		return r;
	if (odx_open_both("abort", dev, O_WRONLY, &ctl, &vfd))
		return ODX_EXIT_FAIL;
	memset(&q, 0, sizeof(q));
	q.size = sizeof(q);
	q.fd = vfd;
	q.operation_id = id;
	r = ioctl(ctl, ODX_IOC_OPERATION_ABORT, &q);
	e = errno;
	odx_close_both(ctl, vfd);
	if (r) {
		req_err("abort", dev, NULL, REQ_ABORT, e, false, "");
		return ODX_EXIT_FAIL;
	}
	if (!o.json) {
		printf("operation %" PRIu64 " aborted\n", id);
		return ODX_EXIT_OK;
	}
	odx_json_init(&j, stdout);
	odx_json_begin_object(&j, NULL, false);
	odx_json_string(&j, "device", dev);
	odx_json_u64(&j, "operation_id", id);
	odx_json_bool(&j, "aborted", true);
	odx_json_end_object(&j);
	odx_json_finish(&j);
	return ODX_EXIT_OK;
}

/* --- release ------------------------------------------------------------- */

int cmd_release(int argc, char **argv)
{
	static const char *const names[] = { "device" };
	struct odx_token_release q;
	const char *cmd = "release", *dev;
	struct odx_json j;
	struct oopts o;
	int r, ctl, vfd, e;

	r = parse_opts(&o, cmd, help_release, "jk", argc, argv);
	if (r < 0)
		r = positionals(cmd, argc, argv, 1, names);
	if (r >= 0)
		return r;
	dev = argv[optind];
	if (!o.token)
		return odx_usage_err(cmd, "no --token FILE|- given");
	memset(&q, 0, sizeof(q));
	if (read_token(cmd, dev, o.token, &q.token))
		return ODX_EXIT_FAIL;
	if (odx_open_both(cmd, dev, O_RDONLY, &ctl, &vfd))
		return ODX_EXIT_FAIL;
	q.size = sizeof(q);
	q.fd = vfd;
	r = ioctl(ctl, ODX_IOC_TOKEN_RELEASE, &q);
	e = errno;
	odx_close_both(ctl, vfd);
	if (r) {
		req_err(cmd, dev, NULL, REQ_RELEASE, e, false, "");
		return ODX_EXIT_FAIL;
	}
	if (!o.json) {
		printf("token %s released\n", strcmp(o.token, "-") ? o.token :
		       "from standard input");
		return ODX_EXIT_OK;
	}
	odx_json_init(&j, stdout);
	odx_json_begin_object(&j, NULL, false);
	odx_json_string(&j, "device", dev);
	odx_json_string(&j, "token", o.token);
	odx_json_bool(&j, "released", true);
	odx_json_end_object(&j);
	odx_json_finish(&j);
	return ODX_EXIT_OK;
}
