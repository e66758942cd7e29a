// SPDX-License-Identifier: GPL-2.0-only
/*
 * odxctl check: the offline metadata checker, as thin_check is for
 * dm-thin.
 *
 * It does in memory what the kernel's recovery does at activation
 * (drivers/odx-metadata.c: odx_md_open(), odx_md_activate()), with the
 * kernel's own format code (drivers/odx-format.c, built in by
 * check-format.c), and never writes unless asked to clear needs_check:
 *
 *  1. read both superblock slots, take the valid one with the higher
 *     transaction (odx_sb_select());
 *  2. check the superblock: geometry against the metadata device (and
 *     the data device, if given);
 *  3. check the journal of that transaction, if it has one, and replay it
 *     in memory: its blocks are read from the journal instead of their
 *     home;
 *  4. check every refcount and map block covering the recorded sizes
 *     (checksum, type, block number, transaction) and every entry in it
 *     (map entries below the data size or ODX_UNMAPPED, no count or
 *     mapping beyond the recorded sizes);
 *  5. recompute every reference count from the map and compare it with
 *     the stored one, and the used and shared slab counts of the
 *     superblock with the stored reference counts.
 *
 * Unlike the kernel, which stops at the first problem, it goes on and
 * reports every problem it finds, one line each.
 *
 * Exit status: 0 clean, 1 problems found or the check could not be done
 * (device in use, not formatted, I/O error), 2 bad usage. A needs_check
 * flag on otherwise clean metadata is reported but exits 0, as
 * thin_check does.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <linux/fs.h>

#include "dm-odx-format.h"
#include "check.h"
#include "odxctl.h"

#define CHUNK_BLOCKS	256U	/* blocks per read of an area */

struct chk_problem {
	const char *area;
	char *msg;
};

struct chk {
	const char *meta_path, *data_path;
	bool json, quiet, clear;
	int fd;
	bool direct;
	__u64 dev_blocks;
	__u64 data_sectors;

	/* what was found */
	struct chk_problem *problems;
	size_t nr_problems, cap_problems;
	char **notes;
	size_t nr_notes, cap_notes;

	/* the superblock in use */
	bool have_sb, layout_ok;
	unsigned int slot;
	struct odx_sb sb;
	void *sb_block;			/* its raw block */
	__u64 data_slabs, virtual_slabs;

	/* the journal replayed in memory */
	unsigned int nr_journal;	/* valid entries, 0 if none or bad */
	__u64 journal_start;
	void *journal;			/* header + payloads */

	/* the areas */
	bool counted;
	__u16 *stored;			/* reference counts, by data slab */
	__u32 *actual;			/* map entries, by data slab */
	unsigned char *rc_ok;		/* refcount block readable */
	__u64 bad_rc_blocks, bad_map_blocks;
	__u64 mapped, used, shared;
	bool cleared;
};

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	if (!p) {
		fprintf(stderr, "odxctl check: out of memory (%zu x %zu bytes)\n",
			n, size);
		exit(ODX_EXIT_FAIL);
	}
	return p;
}

static void *xalign(size_t n)
{
	void *p;

	if (posix_memalign(&p, ODX_BLOCK_SIZE, n)) {
		fprintf(stderr, "odxctl check: out of memory\n");
		exit(ODX_EXIT_FAIL);
	}
	memset(p, 0, n);
	return p;
}

static char *vfmt(const char *fmt, va_list ap)
{
	char *s;

	if (vasprintf(&s, fmt, ap) < 0) {
		fprintf(stderr, "odxctl check: out of memory\n");
		exit(ODX_EXIT_FAIL);
	}
	return s;
}

/* One problem: a metadata inconsistency, printed as one line. */
static void __attribute__((format(printf, 3, 4)))
problem(struct chk *c, const char *area, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = vfmt(fmt, ap);
	va_end(ap);
	if (c->nr_problems == c->cap_problems) {
		c->cap_problems = c->cap_problems ? 2 * c->cap_problems : 64;
		c->problems = realloc(c->problems,
				      c->cap_problems * sizeof(*c->problems));
		if (!c->problems) {
			fprintf(stderr, "odxctl check: out of memory\n");
			exit(ODX_EXIT_FAIL);
		}
	}
	c->problems[c->nr_problems].area = area;
	c->problems[c->nr_problems++].msg = msg;
	if (!c->json && !c->quiet)
		printf("%s: %s\n", area, msg);
}

/* A note: worth saying, not an inconsistency. */
static void __attribute__((format(printf, 2, 3)))
note(struct chk *c, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = vfmt(fmt, ap);
	va_end(ap);
	if (c->nr_notes == c->cap_notes) {
		c->cap_notes = c->cap_notes ? 2 * c->cap_notes : 16;
		c->notes = realloc(c->notes, c->cap_notes * sizeof(*c->notes));
		if (!c->notes) {
			fprintf(stderr, "odxctl check: out of memory\n");
			exit(ODX_EXIT_FAIL);
		}
	}
	c->notes[c->nr_notes++] = msg;
	if (!c->json && !c->quiet)
		printf("note: %s\n", msg);
}

static void json_str(const char *s)
{
	putchar('"');
	for (; s && *s; s++) {
		unsigned char ch = *s;

		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch == '\n')
			fputs("\\n", stdout);
		else if (ch == '\t')
			fputs("\\t", stdout);
		else if (ch < 0x20)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

static void json_problems_notes(const struct chk *c)
{
	size_t i;

	fputs(",\n  \"problems\": [", stdout);
	for (i = 0; i < c->nr_problems; i++) {
		fputs(i ? ",\n    {\"area\": " : "\n    {\"area\": ", stdout);
		json_str(c->problems[i].area);
		fputs(", \"message\": ", stdout);
		json_str(c->problems[i].msg);
		putchar('}');
	}
	fputs(c->nr_problems ? "\n  ],\n  \"notes\": [" : "],\n  \"notes\": [",
	      stdout);
	for (i = 0; i < c->nr_notes; i++) {
		fputs(i ? ",\n    " : "\n    ", stdout);
		json_str(c->notes[i]);
	}
	fputs(c->nr_notes ? "\n  ]" : "]", stdout);
}

/*
 * The check could not be done: one line on stderr (and, with --json, an
 * object that says so). Exit status 1.
 */
static int __attribute__((format(printf, 2, 3)))
fatal(struct chk *c, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = vfmt(fmt, ap);
	va_end(ap);
	fprintf(stderr, "odxctl check: %s: %s\n", c->meta_path, msg);
	if (c->json) {
		fputs("{\n  \"device\": ", stdout);
		json_str(c->meta_path);
		fputs(",\n  \"clean\": false,\n  \"error\": ", stdout);
		json_str(msg);
		json_problems_notes(c);
		fputs("\n}\n", stdout);
	}
	free(msg);
	return ODX_EXIT_FAIL;
}

/* Read @n blocks from @blocknr into @buf; 0 or -errno (errno set). */
static int read_blocks(struct chk *c, __u64 blocknr, unsigned int n, void *buf)
{
	size_t len = (size_t)n * ODX_BLOCK_SIZE, done = 0;
	off_t off = (off_t)(blocknr * ODX_BLOCK_SIZE);
	ssize_t r;

	while (done < len) {
		r = pread(c->fd, (char *)buf + done, len - done, off + done);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (!r) {
			errno = ENXIO;
			return -ENXIO;
		}
		done += r;
	}
	return 0;
}

static int read_error(struct chk *c, __u64 blocknr, unsigned int n)
{
	if (errno == ENXIO)
		return fatal(c, "cannot read metadata block%s %llu%s: past the end of the device",
			     n > 1 ? "s" : "", (unsigned long long)blocknr,
			     n > 1 ? " and on" : "");
	return fatal(c, "cannot read metadata block %llu: %s",
		     (unsigned long long)blocknr, strerror(errno));
}

/* Open @path exclusively: an active volume's devices are held by dm. */
static int open_excl(struct chk *c, const char *path, int mode, bool *direct,
		     __u64 *bytes)
{
	struct stat st;
	int fd, e;
	__u64 size;

	*direct = true;
	fd = open(path, mode | O_EXCL | O_CLOEXEC | O_DIRECT);
	if (fd < 0 && errno == EINVAL) {
		/* an image on a file system without O_DIRECT */
		*direct = false;
		fd = open(path, mode | O_EXCL | O_CLOEXEC);
	}
	if (fd < 0) {
		e = errno;
		if (e == EBUSY)
			return fatal(c, "%s is in use (%s): the volume is active, or another program holds the device; check only an inactive volume",
				     path, strerror(e)), -1;
		if (path == c->meta_path)
			return fatal(c, "cannot open it: %s", strerror(e)), -1;
		return fatal(c, "cannot open %s: %s", path, strerror(e)), -1;
	}
	if (fstat(fd, &st)) {
		e = errno;
		close(fd);
		return fatal(c, "cannot stat %s: %s", path, strerror(e)), -1;
	}
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &size)) {
			e = errno;
			close(fd);
			return fatal(c, "cannot get the size of %s: %s", path,
				     strerror(e)), -1;
		}
	} else if (S_ISREG(st.st_mode)) {
		size = st.st_size;
	} else {
		close(fd);
		return fatal(c, "%s is neither a block device nor an image file",
			     path), -1;
	}
	*bytes = size;
	return fd;
}

/* ---- superblock ------------------------------------------------------------ */

static int check_superblock(struct chk *c)
{
	const char *err0 = NULL, *err1 = NULL, *note_msg = NULL, *err = NULL;
	struct odx_sb sb0, sb1;
	void *blocks = xalign(2 * ODX_BLOCK_SIZE);
	__u64 ds;
	int r0, r1, r;

	if (c->dev_blocks < ODX_SB_SLOTS)
		return fatal(c, "too small to be a dm-odx metadata device (%llu bytes)",
			     (unsigned long long)c->dev_blocks * ODX_BLOCK_SIZE);
	if (read_blocks(c, 0, 2, blocks))
		return read_error(c, 0, 2);
	memset(&sb0, 0, sizeof(sb0));
	memset(&sb1, 0, sizeof(sb1));
	r0 = odx_sb_decode(blocks, 0, &sb0, &err0);
	r1 = odx_sb_decode((char *)blocks + ODX_BLOCK_SIZE, 1, &sb1, &err1);
	if (!r0)
		err0 = NULL;
	if (!r1)
		err1 = NULL;
	r = odx_sb_select(r0, &sb0, r1, &sb1, &note_msg, &err);
	if (r == -ENODATA)
		return fatal(c, "not formatted: both superblock slots are all zeros (a dm-odx volume formats its metadata device at its first activation)");
	if (r < 0) {
		problem(c, "superblock", "%s (slot 0: %s; slot 1: %s)", err,
			err0 ? err0 : "valid", err1 ? err1 : "valid");
		return 0;
	}
	if (note_msg)
		note(c, "%s (%s)", note_msg, r ? err0 : err1);

	c->have_sb = true;
	c->slot = r;
	c->sb = r ? sb1 : sb0;
	c->sb_block = xalign(ODX_BLOCK_SIZE);
	memcpy(c->sb_block, (char *)blocks + r * ODX_BLOCK_SIZE,
	       ODX_BLOCK_SIZE);
	free(blocks);
	c->data_slabs = c->sb.data_slabs;
	c->virtual_slabs = odx_sb_virtual_slabs(&c->sb);

	if (c->sb.flags & ODX_SB_NEEDS_CHECK)
		note(c, "needs_check is set in the superblock (transaction %llu): the kernel found a problem earlier and activates the volume read-only until the flag is cleared (odxctl check --clear-needs-check)",
		     (unsigned long long)c->sb.txn_id);
	if (c->sb.ro_compat & ~ODX_RO_COMPAT_KNOWN)
		note(c, "unknown read-only compatible features %#x: the kernel activates the volume read-only only",
		     c->sb.ro_compat & ~ODX_RO_COMPAT_KNOWN);
	if (c->sb.compat & ~ODX_COMPAT_KNOWN)
		note(c, "unknown compatible features %#x, not checked",
		     c->sb.compat & ~ODX_COMPAT_KNOWN);

	r = odx_layout_validate(&c->sb.layout, c->dev_blocks, &err);
	if (r) {
		problem(c, "superblock", "%s (the layout ends at block %llu, the metadata device has %llu blocks)",
			err, (unsigned long long)odx_layout_end(&c->sb.layout),
			(unsigned long long)c->dev_blocks);
		return 0;
	}
	c->layout_ok = true;
	if (c->data_path) {
		r = odx_sb_check_table(&c->sb, c->sb.slab_sectors,
				       c->dev_blocks, c->data_sectors,
				       c->sb.virtual_sectors, &ds, &err);
		if (r)
			problem(c, "superblock", "%s: the data device %s has %llu slabs of %u sectors, the metadata records %llu",
				err, c->data_path,
				(unsigned long long)(c->data_sectors /
						     c->sb.slab_sectors),
				c->sb.slab_sectors,
				(unsigned long long)c->data_slabs);
	}
	return 0;
}

/* ---- journal ------------------------------------------------------------------ */

static int check_journal(struct chk *c)
{
	unsigned int n = c->sb.journal_entries, i;
	const char *err = NULL;
	void *jh;
	int r;

	if (!n)
		return 0;
	c->journal_start = odx_journal_slot_start(&c->sb.layout,
						  odx_txn_slot(c->sb.txn_id));
	c->journal = xalign((size_t)(n + 1) * ODX_BLOCK_SIZE);
	if (read_blocks(c, c->journal_start, n + 1, c->journal))
		return read_error(c, c->journal_start, n + 1);
	jh = c->journal;
	r = odx_journal_check(jh, &c->sb, &err);
	if (r) {
		problem(c, "journal", "transaction %llu, header at block %llu: %s (the kernel refuses to activate; the home blocks are checked without the journal)",
			(unsigned long long)c->sb.txn_id,
			(unsigned long long)c->journal_start, err);
		return 0;
	}
	for (i = 0; i < n; i++) {
		r = odx_journal_payload_check((char *)c->journal +
					      (size_t)(i + 1) * ODX_BLOCK_SIZE,
					      jh, &c->sb, i, &err);
		if (r) {
			problem(c, "journal", "transaction %llu, entry %u (block %llu for home block %llu): %s (the kernel refuses to activate; the home blocks are checked without the journal)",
				(unsigned long long)c->sb.txn_id, i,
				(unsigned long long)(c->journal_start + 1 + i),
				(unsigned long long)odx_journal_target(jh, i),
				err);
			return 0;
		}
	}
	c->nr_journal = n;
	note(c, "the journal of transaction %llu (%u blocks) is not yet written home: replayed in memory (the next activation writes it home)",
	     (unsigned long long)c->sb.txn_id, n);
	return 0;
}

/* The journal's copy of home block @home, or NULL. */
static const void *journal_copy(const struct chk *c, __u64 home)
{
	unsigned int lo = 0, hi = c->nr_journal, mid;
	__u64 t;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		t = odx_journal_target(c->journal, mid);
		if (t == home)
			return (const char *)c->journal +
			       (size_t)(mid + 1) * ODX_BLOCK_SIZE;
		if (t < home)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* ---- refcount and map areas ------------------------------------------------- */

typedef void (*block_fn)(struct chk *c, __u64 index, __u64 home,
			 const void *block, const char *src);

/*
 * Read the @nr blocks of the area at @start, check each block's header
 * as the kernel does and hand the good ones to @fn.
 */
static int scan_area(struct chk *c, const char *area, __u32 type,
		     __u64 start, __u64 nr, __u64 per_block, block_fn fn,
		     __u64 *bad)
{
	void *chunk = xalign((size_t)CHUNK_BLOCKS * ODX_BLOCK_SIZE);
	char src[64];
	const char *err = NULL;
	const void *b, *j;
	__u64 i, k, n;
	int r;

	for (i = 0; i < nr; i += n) {
		n = nr - i < CHUNK_BLOCKS ? nr - i : CHUNK_BLOCKS;
		if (read_blocks(c, start + i, n, chunk)) {
			free(chunk);
			return read_error(c, start + i, n);
		}
		for (k = 0; k < n; k++) {
			__u64 home = start + i + k;

			j = journal_copy(c, home);
			b = j ? j : (const char *)chunk + k * ODX_BLOCK_SIZE;
			src[0] = 0;
			if (j)
				snprintf(src, sizeof(src),
					 " (its journal copy, block %llu)",
					 (unsigned long long)(c->journal_start + 1 +
					 ((const char *)j - (const char *)c->journal) /
					 ODX_BLOCK_SIZE - 1));
			r = odx_block_check(b, type, home, c->sb.txn_id, &err);
			if (r) {
				problem(c, area, "block %llu%s, %s %llu-%llu: %s",
					(unsigned long long)home, src,
					type == ODX_BLOCK_MAP ?
					"virtual slabs" : "slabs",
					(unsigned long long)((i + k) * per_block),
					(unsigned long long)((i + k + 1) *
							     per_block - 1),
					err);
				(*bad)++;
				continue;
			}
			fn(c, i + k, home, b, src);
		}
	}
	free(chunk);
	return 0;
}

static void refcount_block(struct chk *c, __u64 index, __u64 home,
			   const void *block, const char *src)
{
	const struct odx_refcount_block *rb = block;
	__u64 first = index * ODX_REFCOUNTS_PER_BLOCK, slab;
	const char *err = NULL;
	unsigned int i, bad = 0;
	__u32 used, shared;
	__u16 v;

	c->rc_ok[index] = 1;
	for (i = 0; i < ODX_REFCOUNTS_PER_BLOCK; i++) {
		slab = first + i;
		v = le16_to_cpu(rb->counts[i]);
		if (slab < c->data_slabs) {
			c->stored[slab] = v;
		} else if (v) {
			problem(c, "refcount", "slab %llu beyond the data device (%llu slabs) has count %u (block %llu%s)",
				(unsigned long long)slab,
				(unsigned long long)c->data_slabs, v,
				(unsigned long long)home, src);
			bad++;
		}
	}
	/* the kernel's own check of the block must agree */
	if (odx_refcount_block_validate(block, index, c->data_slabs, &used,
					&shared, &err) < 0 && !bad)
		problem(c, "refcount", "block %llu%s: %s",
			(unsigned long long)home, src, err);
}

static void map_block(struct chk *c, __u64 index, __u64 home,
		      const void *block, const char *src)
{
	const struct odx_map_block *mb = block;
	__u64 first = index * ODX_MAP_ENTRIES_PER_BLOCK, v;
	const char *err = NULL;
	unsigned int i, bad = 0;
	__u32 p;

	for (i = 0; i < ODX_MAP_ENTRIES_PER_BLOCK; i++) {
		v = first + i;
		p = le32_to_cpu(mb->entries[i]);
		if (p == ODX_UNMAPPED)
			continue;
		if (v >= c->virtual_slabs) {
			problem(c, "map", "virtual slab %llu beyond the virtual size (%llu slabs) -> physical slab %u (block %llu%s)",
				(unsigned long long)v,
				(unsigned long long)c->virtual_slabs, p,
				(unsigned long long)home, src);
			bad++;
			continue;
		}
		if (p >= c->data_slabs) {
			problem(c, "map", "virtual slab %llu -> physical slab %u past the data device (%llu slabs) (block %llu%s)",
				(unsigned long long)v, p,
				(unsigned long long)c->data_slabs,
				(unsigned long long)home, src);
			bad++;
			continue;
		}
		c->mapped++;
		c->actual[p]++;
	}
	if (odx_map_block_validate(block, index, c->virtual_slabs,
				   c->data_slabs, &err) < 0 && !bad)
		problem(c, "map", "block %llu%s: %s", (unsigned long long)home,
			src, err);
}

static void compare_counts(struct chk *c)
{
	__u64 p, unverified = 0;
	const char *what;
	bool all_rc = !c->bad_rc_blocks;
	__u32 s, a;

	for (p = 0; p < c->data_slabs; p++) {
		if (!c->rc_ok[p / ODX_REFCOUNTS_PER_BLOCK])
			continue;
		s = c->stored[p];
		a = c->actual[p];
		if (s) {
			c->used++;
			if (s > 1)
				c->shared++;
		}
		if (s == a)
			continue;
		if (s < a) {
			what = s ? "undercounted" : "free and mapped";
		} else if (c->bad_map_blocks) {
			/* the missing map blocks may hold the references */
			unverified++;
			continue;
		} else {
			what = a ? "overcounted: leaked references" : "leaked";
		}
		problem(c, "refcount", "slab %llu stored %u, mapped %u time(s) (%s)",
			(unsigned long long)p, s, a, what);
	}
	if (unverified)
		note(c, "%llu reference count(s) above the references found not reported: %llu map block(s) could not be read",
		     (unsigned long long)unverified,
		     (unsigned long long)c->bad_map_blocks);
	if (!all_rc) {
		note(c, "the superblock's used and shared slab counts not compared: %llu refcount block(s) could not be read",
		     (unsigned long long)c->bad_rc_blocks);
		return;
	}
	c->counted = true;
	if (c->used != c->sb.used_slabs)
		problem(c, "superblock", "used slab count %llu, the reference counts say %llu",
			(unsigned long long)c->sb.used_slabs,
			(unsigned long long)c->used);
	if (c->shared != c->sb.shared_slabs)
		problem(c, "superblock", "shared slab count %llu, the reference counts say %llu",
			(unsigned long long)c->sb.shared_slabs,
			(unsigned long long)c->shared);
}

static int check_areas(struct chk *c)
{
	const struct odx_layout *l = &c->sb.layout;
	__u64 rc_blocks = odx_refcount_blocks_for(c->data_slabs);
	__u64 map_blocks = odx_map_blocks_for(c->virtual_slabs);
	int r;

	c->stored = xcalloc(c->data_slabs, sizeof(*c->stored));
	c->actual = xcalloc(c->data_slabs, sizeof(*c->actual));
	c->rc_ok = xcalloc(rc_blocks, 1);
	r = scan_area(c, "refcount", ODX_BLOCK_REFCOUNT, l->refcount_start,
		      rc_blocks, ODX_REFCOUNTS_PER_BLOCK, refcount_block,
		      &c->bad_rc_blocks);
	if (!r)
		r = scan_area(c, "map", ODX_BLOCK_MAP, l->map_start,
			      map_blocks, ODX_MAP_ENTRIES_PER_BLOCK, map_block,
			      &c->bad_map_blocks);
	if (r)
		return r;
	compare_counts(c);
	return 0;
}

/* ---- clearing needs_check ------------------------------------------------------ */

static int clear_needs_check(struct chk *c)
{
	struct odx_superblock *d = c->sb_block;
	const char *err = NULL;
	struct odx_sb check;
	void *back;
	ssize_t w;
	int fd = c->fd, e;

	if (c->nr_problems) {
		note(c, "needs_check not cleared: the check found problems");
		return 0;
	}
	if (!(c->sb.flags & ODX_SB_NEEDS_CHECK)) {
		note(c, "needs_check is not set: nothing to clear");
		return 0;
	}
	d->flags = cpu_to_le32(c->sb.flags & ~ODX_SB_NEEDS_CHECK);
	odx_block_prepare(d, ODX_BLOCK_SUPER, c->slot, c->sb.txn_id);
	if (odx_sb_decode(d, c->slot, &check, &err))
		return fatal(c, "internal error: the new superblock does not decode: %s",
			     err);
	do {
		w = pwrite(fd, d, ODX_BLOCK_SIZE,
			   (off_t)c->slot * ODX_BLOCK_SIZE);
	} while (w < 0 && errno == EINTR);
	if (w != ODX_BLOCK_SIZE) {
		e = w < 0 ? errno : EIO;
		return fatal(c, "cannot write superblock slot %u: %s", c->slot,
			     strerror(e));
	}
	if (fsync(fd))
		return fatal(c, "cannot flush superblock slot %u: %s", c->slot,
			     strerror(errno));
	back = xalign(ODX_BLOCK_SIZE);
	if (read_blocks(c, c->slot, 1, back))
		return read_error(c, c->slot, 1);
	if (memcmp(back, d, ODX_BLOCK_SIZE)) {
		free(back);
		return fatal(c, "superblock slot %u reads back differently after the write",
			     c->slot);
	}
	free(back);
	c->cleared = true;
	c->sb.flags &= ~ODX_SB_NEEDS_CHECK;
	if (!c->json && !c->quiet)
		printf("needs_check cleared in superblock slot %u (transaction %llu)\n",
		       c->slot, (unsigned long long)c->sb.txn_id);
	return 0;
}

/* ---- output -------------------------------------------------------------------- */

static void print_summary(const struct chk *c)
{
	if (c->quiet)
		return;
	printf("%s: ", c->meta_path);
	if (c->nr_problems)
		printf("%zu problem(s) found", c->nr_problems);
	else
		printf("clean");
	if (c->have_sb) {
		printf(" (transaction %llu, superblock slot %u",
		       (unsigned long long)c->sb.txn_id, c->slot);
		if (c->counted)
			printf("; %llu data slabs: %llu used, %llu shared, %llu free; %llu virtual slabs: %llu mapped",
			       (unsigned long long)c->data_slabs,
			       (unsigned long long)c->used,
			       (unsigned long long)c->shared,
			       (unsigned long long)(c->data_slabs - c->used),
			       (unsigned long long)c->virtual_slabs,
			       (unsigned long long)c->mapped);
		if (c->sb.flags & ODX_SB_NEEDS_CHECK)
			printf("; needs_check set");
		printf(")");
	}
	printf("\n");
}

static void print_json(const struct chk *c)
{
	fputs("{\n  \"device\": ", stdout);
	json_str(c->meta_path);
	fputs(",\n  \"data_device\": ", stdout);
	if (c->data_path)
		json_str(c->data_path);
	else
		fputs("null", stdout);
	printf(",\n  \"clean\": %s", c->nr_problems ? "false" : "true");
	printf(",\n  \"problem_count\": %zu", c->nr_problems);
	if (c->have_sb) {
		printf(",\n  \"transaction\": %llu,\n  \"superblock_slot\": %u",
		       (unsigned long long)c->sb.txn_id, c->slot);
		printf(",\n  \"needs_check\": %s,\n  \"needs_check_cleared\": %s",
		       c->sb.flags & ODX_SB_NEEDS_CHECK ? "true" : "false",
		       c->cleared ? "true" : "false");
		printf(",\n  \"journal_entries\": %u,\n  \"slab_sectors\": %u",
		       c->sb.journal_entries, c->sb.slab_sectors);
		printf(",\n  \"data_slabs\": %llu,\n  \"virtual_slabs\": %llu",
		       (unsigned long long)c->data_slabs,
		       (unsigned long long)c->virtual_slabs);
		printf(",\n  \"superblock_used_slabs\": %llu,\n  \"superblock_shared_slabs\": %llu",
		       (unsigned long long)c->sb.used_slabs,
		       (unsigned long long)c->sb.shared_slabs);
		if (c->counted)
			printf(",\n  \"used_slabs\": %llu,\n  \"shared_slabs\": %llu,\n  \"free_slabs\": %llu,\n  \"mapped_slabs\": %llu",
			       (unsigned long long)c->used,
			       (unsigned long long)c->shared,
			       (unsigned long long)(c->data_slabs - c->used),
			       (unsigned long long)c->mapped);
	}
	json_problems_notes(c);
	fputs("\n}\n", stdout);
}

/* ---- command ------------------------------------------------------------------ */

static void check_usage(FILE *f)
{
	fprintf(f,
		"usage: odxctl check [--json] [--quiet] [--clear-needs-check] METADATA_DEV [DATA_DEV]\n"
		"\n"
		"Check the metadata of an inactive dm-odx volume, as the kernel's\n"
		"recovery reads it (newer superblock slot, its journal replayed in\n"
		"memory): every block's checksum and header, every map entry in\n"
		"range, every reference count against the map, the superblock's\n"
		"slab counts. With DATA_DEV, also its size against the superblock.\n"
		"\n"
		"  --json               one JSON object on standard output\n"
		"  --quiet, -q          nothing on standard output: the exit status says it\n"
		"  --clear-needs-check  after a clean check, clear the needs_check flag\n"
		"\n"
		"Exit status: 0 clean (also with needs_check set, which is reported),\n"
		"1 problems found or the check could not be done (device in use, not\n"
		"formatted, I/O error), 2 bad usage.\n");
}

int cmd_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "clear-needs-check", no_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct chk c = { .fd = -1 };
	bool data_direct;
	__u64 bytes;
	int o, r, dfd;

	opterr = 0;
	optind = 1;
	while ((o = getopt_long(argc, argv, "+qh", opts, NULL)) != -1) {
		switch (o) {
		case 'j':
			c.json = true;
			break;
		case 'q':
			c.quiet = true;
			break;
		case 'c':
			c.clear = true;
			break;
		case 'h':
			check_usage(stdout);
			return ODX_EXIT_OK;
		default:
			fprintf(stderr, "odxctl check: unknown option '%s' (see 'odxctl check --help')\n",
				argv[optind - 1]);
			return ODX_EXIT_USAGE;
		}
	}
	if (argc - optind < 1 || argc - optind > 2) {
		fprintf(stderr, "odxctl check: %s (see 'odxctl check --help')\n",
			argc - optind < 1 ? "no metadata device given" :
			"too many arguments");
		return ODX_EXIT_USAGE;
	}
	if (c.json)
		c.quiet = false;
	c.meta_path = argv[optind];
	c.data_path = argc - optind == 2 ? argv[optind + 1] : NULL;

	c.fd = open_excl(&c, c.meta_path, c.clear ? O_RDWR : O_RDONLY,
			 &c.direct, &bytes);
	if (c.fd < 0)
		return ODX_EXIT_FAIL;
	c.dev_blocks = bytes / ODX_BLOCK_SIZE;
	if (c.data_path) {
		dfd = open_excl(&c, c.data_path, O_RDONLY, &data_direct,
				&bytes);
		if (dfd < 0)
			return ODX_EXIT_FAIL;
		close(dfd);
		c.data_sectors = bytes >> 9;
	}

	r = check_superblock(&c);
	if (!r && c.have_sb)
		r = check_journal(&c);
	if (!r && c.layout_ok)
		r = check_areas(&c);
	else if (!r && c.have_sb)
		/* the areas are not where the superblock says */
		note(&c, "the map and reference counts were not checked");
	if (!r && c.clear)
		r = clear_needs_check(&c);
	if (r)
		return r;
	close(c.fd);

	if (c.json)
		print_json(&c);
	else
		print_summary(&c);
	return c.nr_problems ? ODX_EXIT_FAIL : ODX_EXIT_OK;
}
