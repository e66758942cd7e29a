// SPDX-License-Identifier: GPL-2.0-only
/*
 * odxctl info, map, bitmap, trim: the control device's requests 1-4
 * (include/uapi/linux/dm-odx.h). Each opens /dev/odx-control and the
 * volume's mapped device (for reading, or for writing to trim) and names
 * the volume by that fd.
 *
 * map and bitmap ask in batches and follow the kernel's "more data"
 * continuation until the whole range is answered; the hidden option
 * --batch N sets the batch (entries, bitmap words, ranges per trim
 * request) so that tests can make every step a continuation.
 */
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
#include <unistd.h>

#include <linux/fs.h>
#include <linux/dm-odx.h>

#include "odxctl.h"

#define MAP_BATCH	1024U	/* ranges per request */
#define BITMAP_BATCH	1024U	/* words per request: 32768 slabs */

struct qopts {
	const char *cmd;
	bool json;
	bool shared;
	bool have_offset, have_length;
	uint64_t offset, length;
	uint32_t batch;
	const char *ranges_from;
};


static const struct option long_opts[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "json", no_argument, NULL, 'j' },
	{ "offset", required_argument, NULL, 'o' },
	{ "length", required_argument, NULL, 'l' },
	{ "shared", no_argument, NULL, 's' },
	{ "ranges-from", required_argument, NULL, 'f' },
	{ "batch", required_argument, NULL, 'b' },	/* long only */
	{ NULL, 0, NULL, 0 },
};

static const char *const help_info =
	"usage: odxctl info [--json] DEV\n"
	"\n"
	"Describe the dm-odx volume DEV (its mapped device, e.g.\n"
	"/dev/mapper/NAME): thin provisioning, slab size, unmap limits, used\n"
	"and free slabs, mode, copy-offload limits.\n"
	"\n"
	"  -j, --json     one JSON object on stdout\n"
	"  -h, --help     this help\n";

static const char *const help_map =
	"usage: odxctl map [--json] [--offset O] [--length L] DEV\n"
	"\n"
	"List the allocated ranges of the volume DEV inside [O, O + L)\n"
	"(default: the whole volume): clipped to the range, adjacent slabs\n"
	"merged, in order. Sizes take the suffixes K, M, G, T, P (binary).\n"
	"\n"
	"  -o, --offset O  start of the range in bytes (a multiple of the\n"
	"                  logical block size; default 0)\n"
	"  -l, --length L  length in bytes (default: to the end)\n"
	"  -j, --json      one JSON object on stdout\n"
	"  -h, --help      this help\n";

static const char *const help_bitmap =
	"usage: odxctl bitmap [--json] [--shared] [--offset O] [--length L] DEV\n"
	"\n"
	"Show which slabs of [O, O + L) of the volume DEV are mapped (default:\n"
	"the whole volume). A start that is not on a slab boundary moves to\n"
	"the next one (the offset delta); the length is cut to whole slabs,\n"
	"except that a range reaching the end of the volume keeps its last,\n"
	"partial slab. Human output: one character per slab, '#' mapped, '.'\n"
	"not, 'S' mapped and shared.\n"
	"\n"
	"  -o, --offset O  start of the range in bytes (default 0)\n"
	"  -l, --length L  length in bytes (default: to the end)\n"
	"  -s, --shared    also the bitmap of shared slabs\n"
	"  -j, --json      one JSON object on stdout\n"
	"  -h, --help      this help\n";

static const char *const help_trim =
	"usage: odxctl trim [--json] DEV OFFSET:LENGTH...\n"
	"       odxctl trim [--json] --ranges-from FILE|- DEV [OFFSET:LENGTH...]\n"
	"\n"
	"Give back the space of byte ranges of the volume DEV: whole slabs are\n"
	"released, the parts of partial slabs zeroed; every range reads as\n"
	"zeros afterwards and the result is durable when odxctl returns.\n"
	"Offsets and lengths must be multiples of the logical block size;\n"
	"ranges may overlap and are processed in order. On an error the ranges\n"
	"before the failing one stay trimmed; the number processed is printed\n"
	"either way.\n"
	"\n"
	"  -f, --ranges-from FILE  read ranges from FILE ('-': standard input),\n"
	"                          one 'OFFSET LENGTH' per line; '#' comments\n"
	"  -j, --json              one JSON object on stdout\n"
	"  -h, --help              this help\n";

/*
 * Parse the options of a command; returns -1 to go on, else the exit
 * status (help printed, or a usage error).
 */
static int parse_opts(struct qopts *o, const char *cmd, const char *help,
		      const char *allowed, int argc, char **argv)
{
	int c, st;

	memset(o, 0, sizeof(*o));
	o->cmd = cmd;
	optind = 1;
	opterr = 0;
	while ((c = odx_next_opt(cmd, help, argc, argv, ":hjo:l:sf:",
				 long_opts, allowed, &st)) != ODX_OPT_END) {
		if (c == ODX_OPT_EXIT)
			return st;
		switch (c) {
		case 'j':
			o->json = true;
			break;
		case 's':
			o->shared = true;
			break;
		case 'o':
			if (odx_parse_size(optarg, &o->offset))
				return odx_usage_err(cmd,
					"invalid size '%s' for --offset", optarg);
			o->have_offset = true;
			break;
		case 'l':
			if (odx_parse_size(optarg, &o->length))
				return odx_usage_err(cmd,
					"invalid size '%s' for --length", optarg);
			o->have_length = true;
			break;
		case 'f':
			o->ranges_from = optarg;
			break;
		case 'b':
			if (odx_parse_u32(optarg, &o->batch) || !o->batch)
				return odx_usage_err(cmd,
					"invalid number '%s' for --batch", optarg);
			break;
		}
	}
	return -1;
}

/* the one DEV argument of info, map, bitmap */
static int one_dev(const char *cmd, int argc, char **argv, const char **dev)
{
	if (optind >= argc)
		return odx_usage_err(cmd, "no device given");
	if (optind + 1 < argc)
		return odx_usage_err(cmd, "unexpected argument '%s'",
				     argv[optind + 1]);
	*dev = argv[optind];
	return -1;
}

/* an ioctl failed: one line, with a hint where there is one */
static int ioctl_err(const char *cmd, const char *dev, int e)
{
	odx_err(cmd, dev, "%s%s", strerror(e), odx_errno_hint(e));
	return ODX_EXIT_FAIL;
}

/* The range of a map or bitmap query: default the whole volume. */
static int query_range(struct qopts *o, const char *dev, int vfd)
{
	uint64_t size;

	if (o->have_length)
		return 0;
	if (ioctl(vfd, BLKGETSIZE64, &size)) {
		odx_err(o->cmd, dev, "cannot read the size: %s", strerror(errno));
		return -1;
	}
	o->length = size > o->offset ? size - o->offset : 0;
	return 0;
}

/* --- info ---------------------------------------------------------------- */

static const char *mode_name(uint32_t mode)
{
	switch (mode) {
	case ODX_DESC_MODE_RW:
		return "rw";
	case ODX_DESC_MODE_RO:
		return "ro";
	case ODX_DESC_MODE_OUT_OF_DATA_SPACE:
		return "out_of_data_space";
	case ODX_DESC_MODE_FAIL:
		return "fail";
	}
	return "unknown";
}

static const struct {
	uint32_t flag;
	const char *name;
} desc_flags[] = {
	{ ODX_DESC_THIN, "thin" },
	{ ODX_DESC_READ_ZEROES_AFTER_UNMAP, "read_zeroes_after_unmap" },
	{ ODX_DESC_UNMAP, "unmap" },
	{ ODX_DESC_UNMAP_PASSDOWN, "unmap_passdown" },
	{ ODX_DESC_SKIP_ZEROING, "skip_zeroing" },
	{ ODX_DESC_READ_ONLY, "read_only" },
	{ ODX_DESC_NEEDS_CHECK, "needs_check" },
	{ ODX_DESC_OFFLOAD, "offload" },
};

#define NR_DESC_FLAGS (sizeof(desc_flags) / sizeof(desc_flags[0]))

static void info_json(const char *dev, const struct odx_describe *d)
{
	struct odx_json j;
	size_t i;

	odx_json_init(&j, stdout);
	odx_json_begin_object(&j, NULL, false);
	odx_json_string(&j, "device", dev);
	odx_json_u64(&j, "logical_block_size", d->logical_block_size);
	odx_json_u64(&j, "virtual_size", d->virtual_size);
	odx_json_u64(&j, "slab_size", d->slab_size);
	odx_json_string(&j, "mode", mode_name(d->mode));
	odx_json_u64(&j, "flags", d->flags);
	for (i = 0; i < NR_DESC_FLAGS; i++)
		odx_json_bool(&j, desc_flags[i].name,
			      d->flags & desc_flags[i].flag);
	odx_json_u64(&j, "unmap_alignment", d->unmap_alignment);
	odx_json_u64(&j, "max_unmap_bytes", d->max_unmap_bytes);
	odx_json_u64(&j, "max_unmap_ranges", d->max_unmap_ranges);
	odx_json_u64(&j, "total_slabs", d->total_slabs);
	odx_json_u64(&j, "used_slabs", d->used_slabs);
	odx_json_u64(&j, "free_slabs", d->free_slabs);
	odx_json_u64(&j, "shared_slabs", d->shared_slabs);
	odx_json_u64(&j, "virtual_slabs", d->virtual_slabs);
	odx_json_u64(&j, "transaction_id", d->transaction_id);
	odx_json_u64(&j, "max_token_lifetime", d->max_token_lifetime);
	odx_json_u64(&j, "default_token_lifetime", d->default_token_lifetime);
	odx_json_u64(&j, "max_transfer_bytes", d->max_transfer_bytes);
	odx_json_u64(&j, "optimal_transfer_bytes", d->optimal_transfer_bytes);
	odx_json_u64(&j, "max_copy_ranges", d->max_copy_ranges);
	odx_json_u64(&j, "max_tokens", d->max_tokens);
	odx_json_u64(&j, "live_tokens", d->live_tokens);
	odx_json_u64(&j, "pinned_slabs", d->pinned_slabs);
	odx_json_u64(&j, "max_pinned_slabs", d->max_pinned_slabs);
	odx_json_end_object(&j);
	odx_json_finish(&j);
}

static void info_human(const char *dev, const struct odx_describe *d)
{
	char a[ODX_SIZE_BUF], b[ODX_SIZE_BUF];
	const char *sep = "";
	size_t i;

	printf("%-18s %s\n", "device", dev);
	printf("%-18s %s (%" PRIu64 " bytes)\n", "virtual size",
	       odx_human_size(d->virtual_size, a), (uint64_t)d->virtual_size);
	printf("%-18s %s (%" PRIu64 " bytes)\n", "slab size",
	       odx_human_size(d->slab_size, a), (uint64_t)d->slab_size);
	printf("%-18s %u bytes\n", "logical block", d->logical_block_size);
	printf("%-18s %s\n", "mode", mode_name(d->mode));
	printf("%-18s ", "features");
	for (i = 0; i < NR_DESC_FLAGS; i++) {
		if (d->flags & desc_flags[i].flag) {
			printf("%s%s", sep, desc_flags[i].name);
			sep = " ";
		}
	}
	printf("\n");
	printf("%-18s %" PRIu64 " used, %" PRIu64 " free, %" PRIu64
	       " total, %" PRIu64 " shared\n", "data slabs",
	       (uint64_t)d->used_slabs, (uint64_t)d->free_slabs,
	       (uint64_t)d->total_slabs, (uint64_t)d->shared_slabs);
	printf("%-18s %" PRIu64 "\n", "virtual slabs",
	       (uint64_t)d->virtual_slabs);
	printf("%-18s %" PRIu64 "\n", "transaction id",
	       (uint64_t)d->transaction_id);
	printf("%-18s alignment %" PRIu64 ", up to %s per range, %u ranges per request\n",
	       "unmap", (uint64_t)d->unmap_alignment,
	       odx_human_size(d->max_unmap_bytes, a), d->max_unmap_ranges);
	if (!(d->flags & ODX_DESC_OFFLOAD)) {
		printf("%-18s not offered\n", "copy offload");
		return;
	}
	printf("%-18s token lifetime %u s (default %u s), %u tokens of %u live\n",
	       "copy offload", d->max_token_lifetime,
	       d->default_token_lifetime, d->live_tokens, d->max_tokens);
	printf("%-18s up to %s per write, optimal %s, %u ranges per read\n",
	       "", odx_human_size(d->max_transfer_bytes, a),
	       odx_human_size(d->optimal_transfer_bytes, b),
	       d->max_copy_ranges);
	printf("%-18s %" PRIu64 " slabs pinned by tokens, at most %" PRIu64 "\n",
	       "", (uint64_t)d->pinned_slabs, (uint64_t)d->max_pinned_slabs);
}

int cmd_info(int argc, char **argv)
{
	struct odx_describe d;
	struct qopts o;
	const char *dev;
	int r, ctl, vfd, e;

	r = parse_opts(&o, "info", help_info, "j", argc, argv);
	if (r >= 0)
		return r;
	r = one_dev("info", argc, argv, &dev);
	if (r >= 0)
		return r;
	if (odx_open_both("info", dev, O_RDONLY, &ctl, &vfd))
		return ODX_EXIT_FAIL;
	memset(&d, 0, sizeof(d));
	d.size = sizeof(d);
	d.fd = vfd;
	r = ioctl(ctl, ODX_IOC_DESCRIBE, &d);
	e = errno;
	odx_close_both(ctl, vfd);
	if (r)
		return ioctl_err("info", dev, e);
	if (o.json)
		info_json(dev, &d);
	else
		info_human(dev, &d);
	return ODX_EXIT_OK;
}

/* --- map ----------------------------------------------------------------- */

struct range_list {
	struct odx_range *v;
	size_t nr, cap;
};

static int range_push(struct range_list *l, uint64_t offset, uint64_t length)
{
	struct odx_range *n;

	/* adjacent to the last one (across batches): one range */
	if (l->nr && l->v[l->nr - 1].offset + l->v[l->nr - 1].length == offset) {
		l->v[l->nr - 1].length += length;
		return 0;
	}
	if (l->nr == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 64;
		n = realloc(l->v, l->cap * sizeof(*n));
		if (!n)
			return -1;
		l->v = n;
	}
	l->v[l->nr].offset = offset;
	l->v[l->nr].length = length;
	l->nr++;
	return 0;
}

/* Every allocated range of [offset, offset + length), in batches. */
static int map_query(const struct qopts *o, const char *dev, int ctl, int vfd,
		     struct range_list *out)
{
	uint32_t cap = o->batch ? o->batch : MAP_BATCH;
	uint64_t cur = o->offset, end = o->offset + o->length, last_end;
	struct odx_allocated_ranges q;
	struct odx_range *buf;
	uint32_t i;
	int r = 0;

	buf = calloc(cap, sizeof(*buf));
	if (!buf) {
		odx_err(o->cmd, dev, "%s", strerror(ENOMEM));
		return -1;
	}
	for (;;) {
		memset(&q, 0, sizeof(q));
		q.size = sizeof(q);
		q.fd = vfd;
		q.offset = cur;
		/* past the end or overflowing: the kernel says which */
		q.length = cur == o->offset ? o->length : end - cur;
		q.ranges = (uintptr_t)buf;
		q.capacity = cap;
		if (ioctl(ctl, ODX_IOC_ALLOCATED_RANGES, &q)) {
			ioctl_err(o->cmd, dev, errno);
			r = -1;
			break;
		}
		if (q.count > cap) {
			odx_err(o->cmd, dev, "the kernel returned %u ranges for %u",
				q.count, cap);
			r = -1;
			break;
		}
		last_end = cur;
		for (i = 0; i < q.count; i++) {
			if (range_push(out, buf[i].offset, buf[i].length)) {
				odx_err(o->cmd, dev, "%s", strerror(ENOMEM));
				r = -1;
				goto out;
			}
			last_end = buf[i].offset + buf[i].length;
		}
		if (!(q.flags & ODX_RANGES_MORE_DATA))
			break;
		/* a resume point must make progress and lose nothing */
		if (q.resume_offset <= cur || q.resume_offset < last_end ||
		    q.resume_offset >= end) {
			odx_err(o->cmd, dev,
				"bad resume offset %" PRIu64 " after %" PRIu64,
				(uint64_t)q.resume_offset, cur);
			r = -1;
			break;
		}
		cur = q.resume_offset;
	}
out:
	free(buf);
	return r;
}

static void map_json(const struct qopts *o, const char *dev,
		     const struct range_list *l)
{
	struct odx_json j;
	uint64_t total = 0;
	size_t i;

	for (i = 0; i < l->nr; i++)
		total += l->v[i].length;
	odx_json_init(&j, stdout);
	odx_json_begin_object(&j, NULL, false);
	odx_json_string(&j, "device", dev);
	odx_json_u64(&j, "offset", o->offset);
	odx_json_u64(&j, "length", o->length);
	odx_json_u64(&j, "count", l->nr);
	odx_json_u64(&j, "allocated_bytes", total);
	odx_json_begin_array(&j, "ranges", false);
	for (i = 0; i < l->nr; i++) {
		odx_json_begin_object(&j, NULL, true);
		odx_json_u64(&j, "offset", l->v[i].offset);
		odx_json_u64(&j, "length", l->v[i].length);
		odx_json_end_object(&j);
	}
	odx_json_end_array(&j);
	odx_json_end_object(&j);
	odx_json_finish(&j);
}

static void map_human(const struct qopts *o, const struct range_list *l)
{
	char a[ODX_SIZE_BUF], b[ODX_SIZE_BUF];
	uint64_t total = 0;
	size_t i;

	if (l->nr)
		printf("%20s %20s %20s  %s\n", "OFFSET", "LENGTH", "END", "SIZE");
	for (i = 0; i < l->nr; i++) {
		total += l->v[i].length;
		printf("%20" PRIu64 " %20" PRIu64 " %20" PRIu64 "  %s\n",
		       (uint64_t)l->v[i].offset, (uint64_t)l->v[i].length,
		       (uint64_t)(l->v[i].offset + l->v[i].length),
		       odx_human_size(l->v[i].length, a));
	}
	printf("%zu range%s, %s allocated in %" PRIu64 "+%" PRIu64 " (%s)\n",
	       l->nr, l->nr == 1 ? "" : "s", odx_human_size(total, a),
	       o->offset, o->length, odx_human_size(o->length, b));
}

int cmd_map(int argc, char **argv)
{
	struct range_list l = { 0 };
	struct qopts o;
	const char *dev;
	int r, ctl, vfd;

	r = parse_opts(&o, "map", help_map, "jolb", argc, argv);
	if (r >= 0)
		return r;
	r = one_dev("map", argc, argv, &dev);
	if (r >= 0)
		return r;
	if (odx_open_both("map", dev, O_RDONLY, &ctl, &vfd))
		return ODX_EXIT_FAIL;
	r = query_range(&o, dev, vfd) || map_query(&o, dev, ctl, vfd, &l);
	odx_close_both(ctl, vfd);
	if (!r) {
		if (o.json)
			map_json(&o, dev, &l);
		else
			map_human(&o, &l);
	}
	free(l.v);
	return r ? ODX_EXIT_FAIL : ODX_EXIT_OK;
}

/* --- bitmap -------------------------------------------------------------- */

struct bitmap_result {
	uint64_t slab_size, offset_delta, bit_count;
	uint32_t *bits, *shared;	/* words */
	size_t words, cap;
};

static int words_grow(struct bitmap_result *b, size_t add)
{
	size_t cap = b->cap ? b->cap : 64;
	uint32_t *n;

	while (cap < b->words + add)
		cap *= 2;
	if (cap == b->cap)
		return 0;
	n = realloc(b->bits, cap * sizeof(*n));
	if (!n)
		return -1;
	b->bits = n;
	n = realloc(b->shared, cap * sizeof(*n));
	if (!n)
		return -1;
	b->shared = n;
	b->cap = cap;
	return 0;
}

static int bitmap_query(const struct qopts *o, const char *dev, int ctl,
			int vfd, struct bitmap_result *b)
{
	uint32_t cap = o->batch ? o->batch : BITMAP_BATCH;
	uint64_t cur = o->offset, end = o->offset + o->length, next;
	struct odx_slab_bitmap q;
	uint32_t *bits, *shared = NULL;
	bool first = true;
	int r = 0;

	bits = calloc(cap, sizeof(*bits));
	if (o->shared)
		shared = calloc(cap, sizeof(*shared));
	if (!bits || (o->shared && !shared)) {
		odx_err(o->cmd, dev, "%s", strerror(ENOMEM));
		r = -1;
		goto out;
	}
	for (;;) {
		memset(&q, 0, sizeof(q));
		q.size = sizeof(q);
		q.fd = vfd;
		q.offset = cur;
		q.length = first ? o->length : end - cur;
		q.bitmap = (uintptr_t)bits;
		q.shared_bitmap = (uintptr_t)shared;
		q.capacity = cap;
		if (ioctl(ctl, ODX_IOC_SLAB_BITMAP, &q)) {
			ioctl_err(o->cmd, dev, errno);
			r = -1;
			break;
		}
		if (q.bitmap_length > cap || q.bit_count > (uint64_t)cap * 32 ||
		    q.bitmap_length != (q.bit_count + 31) / 32 ||
		    (!first && (q.offset_delta || q.slab_size != b->slab_size)) ||
		    ((q.flags & ODX_BITMAP_MORE_DATA) &&
		     q.bit_count != (uint64_t)cap * 32)) {
			odx_err(o->cmd, dev,
				"inconsistent answer at %" PRIu64 ": %" PRIu64
				" bits in %u words, delta %" PRIu64, cur,
				(uint64_t)q.bit_count, q.bitmap_length,
				(uint64_t)q.offset_delta);
			r = -1;
			break;
		}
		if (first) {
			b->slab_size = q.slab_size;
			b->offset_delta = q.offset_delta;
		}
		first = false;
		if (words_grow(b, q.bitmap_length)) {
			odx_err(o->cmd, dev, "%s", strerror(ENOMEM));
			r = -1;
			break;
		}
		memcpy(b->bits + b->words, bits, q.bitmap_length * sizeof(*bits));
		if (shared)
			memcpy(b->shared + b->words, shared,
			       q.bitmap_length * sizeof(*shared));
		else
			memset(b->shared + b->words, 0,
			       q.bitmap_length * sizeof(*shared));
		b->words += q.bitmap_length;
		b->bit_count += q.bit_count;
		if (!(q.flags & ODX_BITMAP_MORE_DATA))
			break;
		next = cur + q.offset_delta + q.bit_count * q.slab_size;
		if (next <= cur || next >= end) {
			odx_err(o->cmd, dev, "bad continuation after %" PRIu64,
				cur);
			r = -1;
			break;
		}
		cur = next;
	}
out:
	free(bits);
	free(shared);
	return r;
}

static bool bit(const uint32_t *w, uint64_t i)
{
	return w[i / 32] >> (i % 32) & 1;
}

static void bits_string(struct odx_json *j, const char *key,
			const uint32_t *w, uint64_t n)
{
	char *s = malloc(n + 1);
	uint64_t i;

	if (!s) {
		perror("odxctl bitmap");
		exit(ODX_EXIT_FAIL);
	}
	for (i = 0; i < n; i++)
		s[i] = bit(w, i) ? '1' : '0';
	s[n] = 0;
	odx_json_string(j, key, s);
	free(s);
}

static uint64_t count_bits(const uint32_t *w, uint64_t n)
{
	uint64_t i, c = 0;

	for (i = 0; i < n; i++)
		c += bit(w, i);
	return c;
}

static void bitmap_json(const struct qopts *o, const char *dev,
			const struct bitmap_result *b)
{
	struct odx_json j;
	size_t i;

	odx_json_init(&j, stdout);
	odx_json_begin_object(&j, NULL, false);
	odx_json_string(&j, "device", dev);
	odx_json_u64(&j, "offset", o->offset);
	odx_json_u64(&j, "length", o->length);
	odx_json_u64(&j, "slab_size", b->slab_size);
	odx_json_u64(&j, "offset_delta", b->offset_delta);
	odx_json_u64(&j, "first_slab", b->slab_size ?
		     (o->offset + b->offset_delta) / b->slab_size : 0);
	odx_json_u64(&j, "bit_count", b->bit_count);
	odx_json_u64(&j, "bitmap_length", b->words);
	odx_json_u64(&j, "mapped_slabs", count_bits(b->bits, b->bit_count));
	bits_string(&j, "bits", b->bits, b->bit_count);
	odx_json_begin_array(&j, "bitmap", true);
	for (i = 0; i < b->words; i++)
		odx_json_u64(&j, NULL, b->bits[i]);
	odx_json_end_array(&j);
	if (o->shared) {
		odx_json_u64(&j, "shared_slabs",
			     count_bits(b->shared, b->bit_count));
		bits_string(&j, "shared_bits", b->shared, b->bit_count);
		odx_json_begin_array(&j, "shared_bitmap", true);
		for (i = 0; i < b->words; i++)
			odx_json_u64(&j, NULL, b->shared[i]);
		odx_json_end_array(&j);
	}
	odx_json_end_object(&j);
	odx_json_finish(&j);
}

#define BITS_PER_LINE 64

static void bitmap_human(const struct qopts *o, const struct bitmap_result *b)
{
	char a[ODX_SIZE_BUF];
	uint64_t start = o->offset + b->offset_delta, i;

	printf("slab size %s, offset delta %" PRIu64 ", %" PRIu64
	       " slabs from %" PRIu64 " (slab %" PRIu64 "): %" PRIu64
	       " mapped", odx_human_size(b->slab_size, a), b->offset_delta,
	       b->bit_count, start, b->slab_size ? start / b->slab_size : 0,
	       count_bits(b->bits, b->bit_count));
	if (o->shared)
		printf(", %" PRIu64 " shared", count_bits(b->shared, b->bit_count));
	printf("\n");
	for (i = 0; i < b->bit_count; i++) {
		if (i % BITS_PER_LINE == 0)
			printf("%s%16" PRIu64 " ", i ? "\n" : "",
			       start + i * b->slab_size);
		putchar(!bit(b->bits, i) ? '.' :
			o->shared && bit(b->shared, i) ? 'S' : '#');
	}
	if (b->bit_count)
		printf("\n");
}

int cmd_bitmap(int argc, char **argv)
{
	struct bitmap_result b = { 0 };
	struct qopts o;
	const char *dev;
	int r, ctl, vfd;

	r = parse_opts(&o, "bitmap", help_bitmap, "jolsb", argc, argv);
	if (r >= 0)
		return r;
	r = one_dev("bitmap", argc, argv, &dev);
	if (r >= 0)
		return r;
	if (odx_open_both("bitmap", dev, O_RDONLY, &ctl, &vfd))
		return ODX_EXIT_FAIL;
	r = query_range(&o, dev, vfd) || bitmap_query(&o, dev, ctl, vfd, &b);
	odx_close_both(ctl, vfd);
	if (!r) {
		if (o.json)
			bitmap_json(&o, dev, &b);
		else
			bitmap_human(&o, &b);
	}
	free(b.bits);
	free(b.shared);
	return r ? ODX_EXIT_FAIL : ODX_EXIT_OK;
}

/* --- trim ---------------------------------------------------------------- */

/* Ranges from a file, one "OFFSET LENGTH" (or OFFSET:LENGTH) a line. */
static int read_ranges(const char *path, struct range_list *l)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	const char *name = strcmp(path, "-") ? path : "standard input";
	char *line = NULL, *p, *a, *b, *rest;
	struct odx_range rg, *n;
	uint64_t ro, rl;
	size_t len = 0;
	unsigned int lineno = 0;
	int r = -1;

	if (!f) {
		odx_err("trim", NULL, "%s: %s", path, strerror(errno));
		return ODX_EXIT_FAIL;
	}
	while (getline(&line, &len, f) != -1) {
		lineno++;
		p = strchr(line, '#');
		if (p)
			*p = 0;
		a = strtok_r(line, " \t\r\n", &rest);
		if (!a)
			continue;
		b = strtok_r(NULL, " \t\r\n", &rest);
		if (b ? strtok_r(NULL, " \t\r\n", &rest) ||
			odx_parse_size(a, &ro) || odx_parse_size(b, &rl) :
			odx_parse_range(a, &rg)) {
			r = odx_usage_err("trim", "%s:%u: not a range ('OFFSET LENGTH')",
					  name, lineno);
			goto out;
		}
		if (b) {
			rg.offset = ro;
			rg.length = rl;
		}
		if (l->nr == l->cap) {
			l->cap = l->cap ? 2 * l->cap : 256;
			n = realloc(l->v, l->cap * sizeof(*n));
			if (!n) {
				odx_err("trim", NULL, "%s", strerror(ENOMEM));
				r = ODX_EXIT_FAIL;
				goto out;
			}
			l->v = n;
		}
		l->v[l->nr++] = rg;
	}
	if (ferror(f)) {
		odx_err("trim", NULL, "%s: %s", name, strerror(errno));
		r = ODX_EXIT_FAIL;
	}
out:
	free(line);
	if (f != stdin)
		fclose(f);
	return r;
}

static int range_append(struct range_list *l, const struct odx_range *rg)
{
	struct odx_range *n;

	if (l->nr == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 64;
		n = realloc(l->v, l->cap * sizeof(*n));
		if (!n)
			return -1;
		l->v = n;
	}
	l->v[l->nr++] = *rg;
	return 0;
}

/* errnos that a range itself causes: the error line names the range */
static bool range_errno(int e)
{
	return e == EINVAL || e == ERANGE || e == EOVERFLOW;
}

static void trim_report(const struct qopts *o, const char *dev,
			const struct range_list *l, size_t processed, int e)
{
	char a[ODX_SIZE_BUF];
	struct odx_json j;
	uint64_t bytes = 0;
	size_t i;

	for (i = 0; i < processed && i < l->nr; i++)
		bytes += l->v[i].length;
	if (!o->json) {
		printf("trimmed %zu of %zu range%s (%s)\n", processed, l->nr,
		       l->nr == 1 ? "" : "s", odx_human_size(bytes, a));
		return;
	}
	odx_json_init(&j, stdout);
	odx_json_begin_object(&j, NULL, false);
	odx_json_string(&j, "device", dev);
	odx_json_u64(&j, "ranges", l->nr);
	odx_json_u64(&j, "processed", processed);
	odx_json_u64(&j, "bytes", bytes);
	if (e) {
		odx_json_string(&j, "error", strerror(e));
		odx_json_u64(&j, "errno", (uint64_t)e);
	}
	odx_json_end_object(&j);
	odx_json_finish(&j);
}

int cmd_trim(int argc, char **argv)
{
	struct range_list l = { 0 };
	struct odx_range rg;
	struct odx_trim q;
	struct qopts o;
	const char *dev;
	size_t done = 0, n;
	uint32_t batch;
	int r, i, ctl, vfd, e = 0;

	r = parse_opts(&o, "trim", help_trim, "jfb", argc, argv);
	if (r >= 0)
		return r;
	if (optind >= argc)
		return odx_usage_err("trim", "no device given");
	dev = argv[optind];
	batch = o.batch && o.batch < ODX_TRIM_MAX_RANGES ? o.batch :
		ODX_TRIM_MAX_RANGES;
	if (o.ranges_from) {
		r = read_ranges(o.ranges_from, &l);
		if (r >= 0)
			goto out;
	}
	for (i = optind + 1; i < argc; i++) {
		if (odx_parse_range(argv[i], &rg)) {
			r = odx_usage_err("trim",
				"invalid range '%s' (want OFFSET:LENGTH, e.g. 1M:64K)",
				argv[i]);
			goto out;
		}
		if (range_append(&l, &rg)) {
			odx_err("trim", dev, "%s", strerror(ENOMEM));
			r = ODX_EXIT_FAIL;
			goto out;
		}
	}
	if (!l.nr) {
		r = odx_usage_err("trim", "no ranges given");
		goto out;
	}
	if (odx_open_both("trim", dev, O_WRONLY, &ctl, &vfd)) {
		/* the count goes out on every failure, here 0 */
		trim_report(&o, dev, &l, 0, errno);
		r = ODX_EXIT_FAIL;
		goto out;
	}
	while (done < l.nr) {
		n = l.nr - done < batch ? l.nr - done : batch;
		memset(&q, 0, sizeof(q));
		q.size = sizeof(q);
		q.fd = vfd;
		q.ranges = (uintptr_t)(l.v + done);
		q.count = (uint32_t)n;
		if (ioctl(ctl, ODX_IOC_TRIM, &q)) {
			e = errno;
			if (q.processed <= n)
				done += q.processed;
			break;
		}
		done += n;
	}
	odx_close_both(ctl, vfd);
	trim_report(&o, dev, &l, done, e);
	if (!e) {
		r = ODX_EXIT_OK;
	} else if (done < l.nr && range_errno(e)) {
		odx_err("trim", dev, "range %zu (%" PRIu64 ":%" PRIu64 "): %s",
			done, (uint64_t)l.v[done].offset,
			(uint64_t)l.v[done].length, strerror(e));
		r = ODX_EXIT_FAIL;
	} else {
		odx_err("trim", dev, "%s%s (after %zu of %zu ranges)",
			strerror(e), odx_errno_hint(e), done, l.nr);
		r = ODX_EXIT_FAIL;
	}
out:
	free(l.v);
	return r;
}
