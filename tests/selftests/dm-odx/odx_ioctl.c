// SPDX-License-Identifier: GPL-2.0
/*
 * odx_ioctl: malformed (and a few well-formed) requests to the dm-odx
 * control device, each checked for the errno include/uapi/linux/dm-odx.h
 * promises.
 *
 *   odx_ioctl --list                  the case names, one a line
 *   odx_ioctl DEV CASE [NOT_ODX_DEV]  run one case against the volume DEV
 *   odx_ioctl DEV --bitmap-into-mapping OTHER
 *                                     a slab bitmap query of DEV whose
 *                                     output is a private mapping of the
 *                                     block device OTHER (see below)
 *
 * A case prints one line, "CASE: got EXXX, want EYYY" (plus what else it
 * checked), and exits 0 iff it got the errno it wanted (0: accepted) and
 * its other checks held, 1 if not, 2 on bad usage or when it could not
 * set itself up. NOT_ODX_DEV is a block device that is not an odx volume
 * (a dm-linear device), for the ENODEV cases.
 *
 * Requests that could change the volume name all of it: the trim cases
 * ask to trim [0, size) (or more) so that a request that wrongly went
 * through would show in the volume's status and data; query.sh compares
 * both before and after every case.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/fs.h>
#include <linux/dm-odx.h>

static const char *dev, *other_dev;
static int ctl = -1;
static uint64_t vol_size;
static uint32_t lbs;
static size_t page;
static bool extra_failed;
static char extra_msg[512];

/* an extra check of a case failed: say which */
static void extra_fail(const char *fmt, ...)
{
	size_t n = strlen(extra_msg);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(extra_msg + n, sizeof(extra_msg) - n, fmt, ap);
	va_end(ap);
	extra_failed = true;
}

static void check_u64(const char *what, uint64_t got, uint64_t want)
{
	if (got != want)
		extra_fail("; %s %" PRIu64 ", want %" PRIu64, what, got, want);
}

static void __attribute__((noreturn)) setup_fail(const char *what)
{
	fprintf(stderr, "odx_ioctl: %s: %s\n", what, strerror(errno));
	exit(2);
}

static int open_vol(int flags)
{
	int fd = open(dev, flags);

	if (fd < 0)
		setup_fail(dev);
	return fd;
}

static int open_other(void)
{
	int fd;

	if (!other_dev) {
		fprintf(stderr, "odx_ioctl: this case needs NOT_ODX_DEV\n");
		exit(2);
	}
	fd = open(other_dev, O_RDWR);
	if (fd < 0)
		setup_fail(other_dev);
	return fd;
}

/* an open regular file (already unlinked) */
static int open_regular(void)
{
	char path[] = "/tmp/odx_ioctl.XXXXXX";
	int fd = mkstemp(path);

	if (fd < 0)
		setup_fail("mkstemp");
	unlink(path);
	if (ftruncate(fd, 1 << 20))
		setup_fail("ftruncate");
	return fd;
}

/* A page of read-write memory followed by a PROT_NONE page. */
static void *guarded_page(void)
{
	char *p = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		setup_fail("mmap");
	if (mprotect(p + page, page, PROT_NONE))
		setup_fail("mprotect");
	memset(p, 0, page);
	return p;
}

static void *zalloc(size_t n)
{
	void *p = calloc(1, n);

	if (!p)
		setup_fail("calloc");
	return p;
}

static int do_ioctl(unsigned long nr, void *arg)
{
	return ioctl(ctl, nr, arg) ? errno : 0;
}

/* --- request builders: a valid request of each kind --------------------- */

static struct odx_range *out_ranges;	/* 4096 entries */
static uint32_t *out_bits, *out_shared;	/* 4096 words each */

static void describe_init(struct odx_describe *d, int fd)
{
	memset(d, 0, sizeof(*d));
	d->size = sizeof(*d);
	d->fd = fd;
}

static void ranges_init(struct odx_allocated_ranges *q, int fd)
{
	memset(q, 0, sizeof(*q));
	q->size = sizeof(*q);
	q->fd = fd;
	q->offset = 0;
	q->length = vol_size;
	q->ranges = (uintptr_t)out_ranges;
	q->capacity = 4096;
}

static void bitmap_init(struct odx_slab_bitmap *q, int fd)
{
	memset(q, 0, sizeof(*q));
	q->size = sizeof(*q);
	q->fd = fd;
	q->offset = 0;
	q->length = vol_size;
	q->bitmap = (uintptr_t)out_bits;
	q->shared_bitmap = (uintptr_t)out_shared;
	q->capacity = 4096;
}

#define PROCESSED_UNSET 0xdeadbeefU

/* the whole volume, @n times */
static struct odx_range *whole_volume(uint32_t n)
{
	struct odx_range *r = zalloc(n * sizeof(*r));
	uint32_t i;

	for (i = 0; i < n; i++) {
		r[i].offset = 0;
		r[i].length = vol_size;
	}
	return r;
}

static void trim_init(struct odx_trim *q, int fd, struct odx_range *r,
		      uint32_t count)
{
	memset(q, 0, sizeof(*q));
	q->size = sizeof(*q);
	q->fd = fd;
	q->ranges = (uintptr_t)r;
	q->count = count;
	q->processed = PROCESSED_UNSET;
}

/* After a trim that failed: the header says @processed is written back
 * also then (the index of the first range not processed). */
static void check_processed(const struct odx_trim *q, uint32_t want)
{
	if (q->processed == PROCESSED_UNSET)
		extra_fail("; processed not written back");
	else
		check_u64("processed", q->processed, want);
}

/* --- sizes: every request, the same rules --------------------------------- */

enum req { DESCRIBE, RANGES, BITMAP, TRIM };

static const struct {
	unsigned long nr;
	size_t ksize, ver0;
} reqs[] = {
	[DESCRIBE] = { ODX_IOC_DESCRIBE, sizeof(struct odx_describe),
		       ODX_DESCRIBE_SIZE_VER0 },
	[RANGES] = { ODX_IOC_ALLOCATED_RANGES,
		     sizeof(struct odx_allocated_ranges),
		     ODX_ALLOCATED_RANGES_SIZE_VER0 },
	[BITMAP] = { ODX_IOC_SLAB_BITMAP, sizeof(struct odx_slab_bitmap),
		     ODX_SLAB_BITMAP_SIZE_VER0 },
	[TRIM] = { ODX_IOC_TRIM, sizeof(struct odx_trim), ODX_TRIM_SIZE_VER0 },
};

/*
 * A valid request of kind @k in a buffer of @bufsize bytes (zero beyond
 * the struct), its size field set to @size. A trim names a zero-length
 * range (processed, changes nothing).
 */
static void *sized_request(enum req k, size_t bufsize, uint32_t size, int *fdp)
{
	void *buf = zalloc(bufsize < page ? page : bufsize);
	static struct odx_range empty = { 0, 0 };
	int fd = open_vol(k == TRIM ? O_WRONLY : O_RDONLY);

	switch (k) {
	case DESCRIBE:
		describe_init(buf, fd);
		break;
	case RANGES:
		ranges_init(buf, fd);
		break;
	case BITMAP:
		bitmap_init(buf, fd);
		break;
	case TRIM:
		trim_init(buf, fd, &empty, 1);
		break;
	}
	*(uint32_t *)buf = size;
	*fdp = fd;
	return buf;
}

static int size_case(enum req k, int how)
{
	size_t ks = reqs[k].ksize;
	uint32_t size = 0;
	size_t bufsize = ks + 64;
	unsigned char *buf;
	struct odx_describe ref;
	int fd, e;

	switch (how) {
	case 0:			/* size 0 */
		size = 0;
		break;
	case 1:			/* one word short of the first version */
		size = (uint32_t)reqs[k].ver0 - 4;
		break;
	case 2:			/* larger, nonzero byte beyond */
	case 3:			/* larger, zeros beyond */
		size = (uint32_t)ks + 64;
		break;
	case 4:			/* more than a page, zeros beyond */
		size = (uint32_t)page + 8;
		bufsize = page + 8;
		break;
	}
	buf = sized_request(k, bufsize, size, &fd);
	if (how == 2)
		buf[ks + 63] = 1;
	e = do_ioctl(reqs[k].nr, buf);
	if (how == 3 && !e) {
		/* an answer as good as a plain one's; nothing beyond touched */
		for (size_t i = ks; i < ks + 64; i++)
			if (buf[i]) {
				extra_fail("; byte %zu beyond the struct written", i);
				break;
			}
		if (k == DESCRIBE) {
			describe_init(&ref, fd);
			if (do_ioctl(ODX_IOC_DESCRIBE, &ref))
				extra_fail("; plain describe failed");
			check_u64("slab_size",
				  ((struct odx_describe *)buf)->slab_size,
				  ref.slab_size);
			check_u64("virtual_size",
				  ((struct odx_describe *)buf)->virtual_size,
				  vol_size);
		}
		if (k == TRIM)
			check_u64("processed",
				  ((struct odx_trim *)buf)->processed, 1);
	}
	close(fd);
	return e;
}

#define SIZE_CASES(k, p)						\
static int p##_size0(void) { return size_case(k, 0); }			\
static int p##_size_small(void) { return size_case(k, 1); }		\
static int p##_size_big_tail(void) { return size_case(k, 2); }		\
static int p##_size_big_zero(void) { return size_case(k, 3); }		\
static int p##_size_page(void) { return size_case(k, 4); }

SIZE_CASES(DESCRIBE, describe)
SIZE_CASES(RANGES, ranges)
SIZE_CASES(BITMAP, bitmap)
SIZE_CASES(TRIM, trim)

/* --- the fd naming the volume, for every request ------------------------- */

enum fdkind { FD_NEG, FD_CLOSED, FD_REGULAR, FD_NOT_ODX, FD_WRONG_MODE,
	      FD_CONTROL };

static int fd_case(enum req k, enum fdkind how)
{
	struct odx_describe d;
	struct odx_allocated_ranges r;
	struct odx_slab_bitmap b;
	struct odx_trim t;
	struct odx_range *whole = whole_volume(1);
	int fd = -1, e = 0;

	switch (how) {
	case FD_NEG:
		fd = -1;
		break;
	case FD_CLOSED:
		fd = open_vol(O_RDWR);
		close(fd);
		break;
	case FD_REGULAR:
		fd = open_regular();
		break;
	case FD_NOT_ODX:
		fd = open_other();
		break;
	case FD_WRONG_MODE:
		/* trim needs writing, the queries reading */
		fd = open_vol(k == TRIM ? O_RDONLY : O_WRONLY);
		break;
	case FD_CONTROL:
		fd = ctl;
		break;
	}
	switch (k) {
	case DESCRIBE:
		describe_init(&d, fd);
		e = do_ioctl(ODX_IOC_DESCRIBE, &d);
		break;
	case RANGES:
		ranges_init(&r, fd);
		e = do_ioctl(ODX_IOC_ALLOCATED_RANGES, &r);
		break;
	case BITMAP:
		bitmap_init(&b, fd);
		e = do_ioctl(ODX_IOC_SLAB_BITMAP, &b);
		break;
	case TRIM:
		trim_init(&t, fd, whole, 1);
		e = do_ioctl(ODX_IOC_TRIM, &t);
		if (e)
			check_processed(&t, 0);
		break;
	}
	if (fd >= 0 && fd != ctl)
		close(fd);
	free(whole);
	return e;
}

#define FD_CASES(k, p)							\
static int p##_fd_neg(void) { return fd_case(k, FD_NEG); }		\
static int p##_fd_closed(void) { return fd_case(k, FD_CLOSED); }	\
static int p##_fd_regular(void) { return fd_case(k, FD_REGULAR); }	\
static int p##_fd_not_odx(void) { return fd_case(k, FD_NOT_ODX); }	\
static int p##_fd_wrong_mode(void) { return fd_case(k, FD_WRONG_MODE); } \
static int p##_fd_control(void) { return fd_case(k, FD_CONTROL); }

FD_CASES(DESCRIBE, describe)
FD_CASES(RANGES, ranges)
FD_CASES(BITMAP, bitmap)
FD_CASES(TRIM, trim)

/* --- the argument itself -------------------------------------------------- */

static int arg_null(void)
{
	return do_ioctl(ODX_IOC_DESCRIBE, NULL);
}

/* the request struct runs into a PROT_NONE page */
static int arg_prot_none(void)
{
	char *p = guarded_page();
	struct odx_describe *d = (void *)(p + page - 16);

	d->size = sizeof(*d);
	return do_ioctl(ODX_IOC_DESCRIBE, d);
}

static int ioctl_unknown_nr(void)
{
	struct odx_describe d;
	int fd = open_vol(O_RDONLY), e;

	describe_init(&d, fd);
	e = do_ioctl(_IOWR(ODX_IOCTL_MAGIC, 99, struct odx_describe), &d);
	close(fd);
	return e;
}

static int ioctl_wrong_dir(void)
{
	struct odx_describe d;
	int fd = open_vol(O_RDONLY), e;

	describe_init(&d, fd);
	e = do_ioctl(_IOR(ODX_IOCTL_MAGIC, 1, struct odx_describe), &d);
	close(fd);
	return e;
}

static int ioctl_wrong_magic(void)
{
	struct odx_describe d;
	int fd = open_vol(O_RDONLY), e;

	describe_init(&d, fd);
	e = do_ioctl(_IOWR(0xDE, 1, struct odx_describe), &d);
	close(fd);
	return e;
}

/* --- allocated ranges ------------------------------------------------------ */

static int ranges_run(void (*tweak)(struct odx_allocated_ranges *),
		      struct odx_allocated_ranges *out)
{
	struct odx_allocated_ranges q;
	int fd = open_vol(O_RDONLY), e;

	ranges_init(&q, fd);
	tweak(&q);
	e = do_ioctl(ODX_IOC_ALLOCATED_RANGES, &q);
	if (out)
		*out = q;
	close(fd);
	return e;
}

static void t_unaligned_offset(struct odx_allocated_ranges *q)
{
	q->offset = lbs / 2;
	q->length = lbs;
}

static void t_unaligned_length(struct odx_allocated_ranges *q)
{
	q->length = lbs + 1;
}

static void t_past_end(struct odx_allocated_ranges *q)
{
	q->offset = vol_size - lbs;
	q->length = 2 * lbs;
}

static void t_offset_past_end(struct odx_allocated_ranges *q)
{
	q->offset = vol_size + lbs;
	q->length = 0;
}

static void t_overflow(struct odx_allocated_ranges *q)
{
	q->offset = UINT64_MAX - lbs + 1;	/* aligned */
	q->length = 2 * (uint64_t)lbs;
}

static void t_capacity0(struct odx_allocated_ranges *q)
{
	q->capacity = 0;
}

static void t_null_output(struct odx_allocated_ranges *q)
{
	q->ranges = 0;
}

/* room for a page of entries, a capacity of one more */
static void t_short_output(struct odx_allocated_ranges *q)
{
	q->ranges = (uintptr_t)guarded_page();
	q->capacity = page / sizeof(struct odx_range) + 1;
}

static void t_reserved(struct odx_allocated_ranges *q)
{
	q->reserved = 1;
}

/* output fields are ignored on input */
static void t_output_garbage(struct odx_allocated_ranges *q)
{
	q->count = 7;
	q->flags = ~0U;
	q->resume_offset = 12345;
}

static void t_length0(struct odx_allocated_ranges *q)
{
	q->offset = vol_size / 2;
	q->length = 0;
}

#define RANGES_CASE(name, tweak)					\
static int ranges_##name(void) { return ranges_run(tweak, NULL); }

RANGES_CASE(unaligned_offset, t_unaligned_offset)
RANGES_CASE(unaligned_length, t_unaligned_length)
RANGES_CASE(past_end, t_past_end)
RANGES_CASE(offset_past_end, t_offset_past_end)
RANGES_CASE(overflow, t_overflow)
RANGES_CASE(capacity0, t_capacity0)
RANGES_CASE(null_output, t_null_output)
RANGES_CASE(short_output, t_short_output)
RANGES_CASE(reserved, t_reserved)

/* the request as ranges_init() builds it */
static void t_none(struct odx_allocated_ranges *q)
{
	(void)q;
}

/*
 * The answer to a request with garbage in its output fields is the answer
 * to the same request without: the count, the flags, the resume offset
 * and every range (the output buffer filled with other garbage first).
 */
static int ranges_output_garbage(void)
{
	static struct odx_range clean_ranges[4096];
	struct odx_allocated_ranges clean, q;
	uint32_t i;
	int e = ranges_run(t_none, &clean);

	if (e) {
		extra_fail("; the clean request failed: %s", strerror(e));
		return e;
	}
	if (clean.count > 4096) {
		extra_fail("; the clean request answered %u ranges", clean.count);
		return e;
	}
	memcpy(clean_ranges, out_ranges, clean.count * sizeof(*out_ranges));
	memset(out_ranges, 0xa5, 4096 * sizeof(*out_ranges));
	e = ranges_run(t_output_garbage, &q);
	if (e)
		return e;
	check_u64("count", q.count, clean.count);
	check_u64("flags", q.flags, clean.flags);
	check_u64("resume_offset", q.resume_offset, clean.resume_offset);
	for (i = 0; i < q.count && i < clean.count; i++) {
		if (out_ranges[i].offset != clean_ranges[i].offset ||
		    out_ranges[i].length != clean_ranges[i].length) {
			extra_fail("; range %u is %llu+%llu, want %llu+%llu", i,
				   (unsigned long long)out_ranges[i].offset,
				   (unsigned long long)out_ranges[i].length,
				   (unsigned long long)clean_ranges[i].offset,
				   (unsigned long long)clean_ranges[i].length);
			break;
		}
	}
	printf("# %u ranges, as without the garbage\n", clean.count);
	return e;
}

static int ranges_length0(void)
{
	struct odx_allocated_ranges q;
	int e = ranges_run(t_length0, &q);

	if (!e) {
		check_u64("count", q.count, 0);
		check_u64("flags", q.flags, 0);
	}
	return e;
}

/*
 * One entry at a time: MORE_DATA and the resume offset (the start of the
 * first range not returned) walk the same list as one big answer.
 */
static int ranges_continuation(void)
{
	struct odx_allocated_ranges all, q;
	struct odx_range one;
	int fd = open_vol(O_RDONLY), e;
	uint32_t i = 0;

	ranges_init(&all, fd);
	e = do_ioctl(ODX_IOC_ALLOCATED_RANGES, &all);
	if (e || (all.flags & ODX_RANGES_MORE_DATA)) {
		close(fd);
		if (!e)
			extra_fail("; more than 4096 ranges");
		return e;
	}
	ranges_init(&q, fd);
	for (;;) {
		q.ranges = (uintptr_t)&one;
		q.capacity = 1;
		e = do_ioctl(ODX_IOC_ALLOCATED_RANGES, &q);
		if (e)
			break;
		if (i >= all.count && q.count) {
			extra_fail("; more ranges than %u", all.count);
			break;
		}
		if (q.count && (one.offset != out_ranges[i].offset ||
				one.length != out_ranges[i].length)) {
			extra_fail("; range %u is %llu+%llu, want %llu+%llu", i,
				   (unsigned long long)one.offset,
				   (unsigned long long)one.length,
				   (unsigned long long)out_ranges[i].offset,
				   (unsigned long long)out_ranges[i].length);
			break;
		}
		i += q.count;
		if (!(q.flags & ODX_RANGES_MORE_DATA))
			break;
		if (i >= all.count) {
			extra_fail("; MORE_DATA after the last range");
			break;
		}
		check_u64("resume_offset", q.resume_offset,
			  out_ranges[i].offset);
		if (extra_failed)
			break;
		q.length = q.offset + q.length - q.resume_offset;
		q.offset = q.resume_offset;
	}
	if (!e)
		check_u64("ranges walked", i, all.count);
	printf("# %u ranges walked one at a time\n", i);
	close(fd);
	return e;
}

/* --- slab bitmap ---------------------------------------------------------- */

static int bitmap_run(void (*tweak)(struct odx_slab_bitmap *),
		      struct odx_slab_bitmap *out)
{
	struct odx_slab_bitmap q;
	int fd = open_vol(O_RDONLY), e;

	bitmap_init(&q, fd);
	tweak(&q);
	e = do_ioctl(ODX_IOC_SLAB_BITMAP, &q);
	if (out)
		*out = q;
	close(fd);
	return e;
}

static void b_unaligned_offset(struct odx_slab_bitmap *q)
{
	q->offset = lbs / 2;
	q->length = 1 << 20;
}

static void b_unaligned_length(struct odx_slab_bitmap *q)
{
	q->length = (1 << 20) + 1;
}

static void b_past_end(struct odx_slab_bitmap *q)
{
	q->offset = vol_size - lbs;
	q->length = 2 * lbs;
}

static void b_overflow(struct odx_slab_bitmap *q)
{
	q->offset = UINT64_MAX - lbs + 1;
	q->length = 2 * (uint64_t)lbs;
}

static void b_capacity0(struct odx_slab_bitmap *q)
{
	q->capacity = 0;
}

static void b_null_output(struct odx_slab_bitmap *q)
{
	q->bitmap = 0;
}

/* 64 words before a PROT_NONE page, a capacity for the whole volume */
static void b_short_output(struct odx_slab_bitmap *q)
{
	q->bitmap = (uintptr_t)((char *)guarded_page() + page - 256);
}

static void b_short_shared(struct odx_slab_bitmap *q)
{
	q->shared_bitmap = (uintptr_t)((char *)guarded_page() + page - 256);
}

static void b_reserved(struct odx_slab_bitmap *q)
{
	q->reserved = 1;
}

static void b_no_shared(struct odx_slab_bitmap *q)
{
	q->shared_bitmap = 0;
}

#define BITMAP_CASE(name, tweak)					\
static int bitmap_##name(void) { return bitmap_run(tweak, NULL); }

BITMAP_CASE(unaligned_offset, b_unaligned_offset)
BITMAP_CASE(unaligned_length, b_unaligned_length)
BITMAP_CASE(past_end, b_past_end)
BITMAP_CASE(overflow, b_overflow)
BITMAP_CASE(capacity0, b_capacity0)
BITMAP_CASE(null_output, b_null_output)
BITMAP_CASE(short_output, b_short_output)
BITMAP_CASE(short_shared, b_short_shared)
BITMAP_CASE(reserved, b_reserved)

/* without the shared bitmap: the slab size and every slab's bit */
static int bitmap_no_shared(void)
{
	struct odx_slab_bitmap q;
	struct odx_describe d;
	int fd = open_vol(O_RDONLY), e;

	describe_init(&d, fd);
	e = do_ioctl(ODX_IOC_DESCRIBE, &d);
	close(fd);
	if (e || !d.slab_size) {
		extra_fail("; describe: %s, slab size %llu",
			   e ? strerror(e) : "accepted",
			   (unsigned long long)d.slab_size);
		return e;
	}
	e = bitmap_run(b_no_shared, &q);
	if (!e) {
		check_u64("slab_size", q.slab_size, d.slab_size);
		check_u64("bit_count", q.bit_count,
			  (vol_size + d.slab_size - 1) / d.slab_size);
	}
	return e;
}

/* --- trim ----------------------------------------------------------------- */

static int trim_run(struct odx_range *r, uint32_t count, uint32_t flags,
		    uint32_t reserved, uint32_t want_processed)
{
	struct odx_trim q;
	int fd = open_vol(O_WRONLY), e;

	trim_init(&q, fd, r, count);
	q.flags = flags;
	q.reserved = reserved;
	e = do_ioctl(ODX_IOC_TRIM, &q);
	if (e)
		check_processed(&q, want_processed);
	close(fd);
	return e;
}

static int trim_count0(void)
{
	struct odx_range *r = whole_volume(1);

	return trim_run(r, 0, 0, 0, 0);
}

static int trim_count_max(void)
{
	struct odx_range *r = whole_volume(ODX_TRIM_MAX_RANGES + 1);

	return trim_run(r, ODX_TRIM_MAX_RANGES + 1, 0, 0, 0);
}

static int trim_null_ranges(void)
{
	return trim_run(NULL, 1, 0, 0, 0);
}

/* the first range (all of the volume) readable, the second not */
static int trim_ranges_prot_none(void)
{
	struct odx_range *r = (void *)((char *)guarded_page() + page -
				       sizeof(*r));

	r->offset = 0;
	r->length = vol_size;
	return trim_run(r, 2, 0, 0, 0);
}

static int trim_flags(void)
{
	return trim_run(whole_volume(1), 1, 1, 0, 0);
}

static int trim_reserved(void)
{
	return trim_run(whole_volume(1), 1, 0, 1, 0);
}

static int trim_bad_range(int how)
{
	struct odx_range r[2];

	switch (how) {
	case 0:
		r[0].offset = lbs / 2;
		r[0].length = lbs;
		break;
	case 1:
		r[0].offset = 0;
		r[0].length = lbs / 2;
		break;
	case 2:
		r[0].offset = vol_size - lbs;
		r[0].length = 2 * lbs;
		break;
	case 3:
		r[0].offset = UINT64_MAX - lbs + 1;
		r[0].length = 2 * (uint64_t)lbs;
		break;
	}
	/* never reached: the first one stops the request */
	r[1].offset = 0;
	r[1].length = vol_size;
	return trim_run(r, 2, 0, 0, 0);
}

static int trim_unaligned_offset(void) { return trim_bad_range(0); }
static int trim_unaligned_length(void) { return trim_bad_range(1); }
static int trim_past_end(void) { return trim_bad_range(2); }
static int trim_overflow(void) { return trim_bad_range(3); }

/* --- the table ------------------------------------------------------------ */

static const struct test_case {
	const char *name;
	int want;
	int (*run)(void);
} cases[] = {
#define SIZES(p)							\
	{ #p "_size0", EINVAL, p##_size0 },				\
	{ #p "_size_small", EINVAL, p##_size_small },			\
	{ #p "_size_big_tail", E2BIG, p##_size_big_tail },		\
	{ #p "_size_big_zero", 0, p##_size_big_zero },			\
	{ #p "_size_page", E2BIG, p##_size_page }
#define FDS(p, wrong_mode)						\
	{ #p "_fd_neg", EBADF, p##_fd_neg },				\
	{ #p "_fd_closed", EBADF, p##_fd_closed },			\
	{ #p "_fd_regular", ENOTBLK, p##_fd_regular },			\
	{ #p "_fd_not_odx", ENODEV, p##_fd_not_odx },			\
	{ #p "_fd_" wrong_mode, EBADF, p##_fd_wrong_mode },		\
	{ #p "_fd_control", ENOTBLK, p##_fd_control }
	SIZES(describe),
	FDS(describe, "wronly"),
	SIZES(ranges),
	FDS(ranges, "wronly"),
	SIZES(bitmap),
	FDS(bitmap, "wronly"),
	SIZES(trim),
	FDS(trim, "rdonly"),
	{ "arg_null", EFAULT, arg_null },
	{ "arg_prot_none", EFAULT, arg_prot_none },
	{ "ioctl_unknown_nr", ENOTTY, ioctl_unknown_nr },
	{ "ioctl_wrong_dir", ENOTTY, ioctl_wrong_dir },
	{ "ioctl_wrong_magic", ENOTTY, ioctl_wrong_magic },
	{ "ranges_unaligned_offset", EINVAL, ranges_unaligned_offset },
	{ "ranges_unaligned_length", EINVAL, ranges_unaligned_length },
	{ "ranges_past_end", ERANGE, ranges_past_end },
	{ "ranges_offset_past_end", ERANGE, ranges_offset_past_end },
	{ "ranges_overflow", EOVERFLOW, ranges_overflow },
	{ "ranges_capacity0", ENOBUFS, ranges_capacity0 },
	{ "ranges_null_output", EFAULT, ranges_null_output },
	{ "ranges_short_output", EFAULT, ranges_short_output },
	{ "ranges_reserved", EINVAL, ranges_reserved },
	{ "ranges_output_garbage", 0, ranges_output_garbage },
	{ "ranges_length0", 0, ranges_length0 },
	{ "ranges_continuation", 0, ranges_continuation },
	{ "bitmap_unaligned_offset", EINVAL, bitmap_unaligned_offset },
	{ "bitmap_unaligned_length", EINVAL, bitmap_unaligned_length },
	{ "bitmap_past_end", ERANGE, bitmap_past_end },
	{ "bitmap_overflow", EOVERFLOW, bitmap_overflow },
	{ "bitmap_capacity0", ENOBUFS, bitmap_capacity0 },
	{ "bitmap_null_output", EFAULT, bitmap_null_output },
	{ "bitmap_short_output", EFAULT, bitmap_short_output },
	{ "bitmap_short_shared", EFAULT, bitmap_short_shared },
	{ "bitmap_reserved", EINVAL, bitmap_reserved },
	{ "bitmap_no_shared", 0, bitmap_no_shared },
	{ "trim_count0", EINVAL, trim_count0 },
	{ "trim_count_max", E2BIG, trim_count_max },
	{ "trim_null_ranges", EFAULT, trim_null_ranges },
	{ "trim_ranges_prot_none", EFAULT, trim_ranges_prot_none },
	{ "trim_flags", EINVAL, trim_flags },
	{ "trim_reserved", EINVAL, trim_reserved },
	{ "trim_unaligned_offset", EINVAL, trim_unaligned_offset },
	{ "trim_unaligned_length", EINVAL, trim_unaligned_length },
	{ "trim_past_end", ERANGE, trim_past_end },
	{ "trim_overflow", EOVERFLOW, trim_overflow },
};

#define NR_CASES (sizeof(cases) / sizeof(cases[0]))

static const char *errno_name(int e)
{
	static char buf[16];

	switch (e) {
	case 0: return "0";
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case EIO: return "EIO";
	case EBADF: return "EBADF";
	case ENOMEM: return "ENOMEM";
	case EACCES: return "EACCES";
	case EFAULT: return "EFAULT";
	case ENOTBLK: return "ENOTBLK";
	case EBUSY: return "EBUSY";
	case ENODEV: return "ENODEV";
	case EINVAL: return "EINVAL";
	case ENOTTY: return "ENOTTY";
	case EROFS: return "EROFS";
	case E2BIG: return "E2BIG";
	case ERANGE: return "ERANGE";
	case EOVERFLOW: return "EOVERFLOW";
	case ENOBUFS: return "ENOBUFS";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case EINTR: return "EINTR";
	}
	snprintf(buf, sizeof(buf), "errno %d", e);
	return buf;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: odx_ioctl --list\n"
		   "       odx_ioctl DEV CASE [NOT_ODX_DEV]\n"
		   "       odx_ioctl DEV --all [NOT_ODX_DEV]\n"
		   "       odx_ioctl DEV --bitmap-into-mapping OTHER\n");
}

/*
 * --bitmap-into-mapping OTHER: a slab bitmap query of the whole volume
 * whose output is a private mapping of the block device OTHER that nothing
 * has touched yet: the kernel's first write to it reads OTHER's page in,
 * and waits as long as OTHER is suspended. Prints "waiting" before the
 * request and "bitmap: got E (...), N slabs mapped" when it returns; exits
 * 0 iff it succeeded. control.sh suspends volumes while it waits.
 */
static int bitmap_into_mapping(void)
{
	struct odx_slab_bitmap q;
	int fd = open_vol(O_RDONLY), ofd, e, n = 0;
	uint32_t *bits;
	uint64_t i;

	ofd = open(other_dev, O_RDONLY);
	if (ofd < 0)
		setup_fail(other_dev);
	bits = mmap(NULL, 4096 * sizeof(*bits), PROT_READ | PROT_WRITE,
		    MAP_PRIVATE, ofd, 0);
	if (bits == MAP_FAILED)
		setup_fail("mmap");
	bitmap_init(&q, fd);
	q.bitmap = (uintptr_t)bits;
	q.shared_bitmap = 0;
	printf("waiting\n");
	fflush(stdout);
	e = ioctl(ctl, ODX_IOC_SLAB_BITMAP, &q) ? errno : 0;
	for (i = 0; !e && i < q.bit_count; i++)
		n += !!(bits[i / 32] & (1U << (i % 32)));
	printf("bitmap: got %s (%s), %d slabs mapped\n", errno_name(e),
	       e ? strerror(e) : "accepted", n);
	return e ? 1 : 0;
}

/*
 * What a malformed request must not change: the describe counters and the
 * whole list of allocated ranges, as the kernel reports them.
 */
struct vol_state {
	struct odx_describe d;
	uint32_t n, flags;
	struct odx_range r[4096];
};

static int snap(struct vol_state *st)
{
	struct odx_allocated_ranges q = { .size = sizeof(q) };
	int fd = open_vol(O_RDONLY), e = 0;

	memset(st, 0, sizeof(*st));
	st->d.size = sizeof(st->d);
	st->d.fd = fd;
	q.fd = fd;
	q.length = vol_size;
	q.ranges = (uintptr_t)st->r;
	q.capacity = 4096;
	if (ioctl(ctl, ODX_IOC_DESCRIBE, &st->d) ||
	    ioctl(ctl, ODX_IOC_ALLOCATED_RANGES, &q))
		e = errno;
	st->d.fd = 0;
	st->n = q.count;
	st->flags = q.flags;
	close(fd);
	return e;
}

static bool same_state(const struct vol_state *a, const struct vol_state *b)
{
	return a->d.used_slabs == b->d.used_slabs &&
	       a->d.free_slabs == b->d.free_slabs &&
	       a->d.shared_slabs == b->d.shared_slabs &&
	       a->d.mode == b->d.mode && a->d.flags == b->d.flags &&
	       a->n == b->n && a->flags == b->flags &&
	       !memcmp(a->r, b->r, a->n * sizeof(a->r[0]));
}

/*
 * --all: every case in this one process (process creation costs seconds
 * under the debug kernel), each checked to change nothing; one line each:
 * "ok|not ok<TAB>CASE<TAB>what happened".
 */
static int run_all(void)
{
	static struct vol_state before, after;
	size_t i;
	int e;

	for (i = 0; i < NR_CASES; i++) {
		const struct test_case *c = &cases[i];
		bool changed;

		extra_failed = false;
		extra_msg[0] = '\0';
		if (snap(&before))
			setup_fail("the volume's state");
		e = c->run();
		if (snap(&after))
			setup_fail("the volume's state");
		changed = !same_state(&before, &after);
		printf("%s\t%s\tgot %s (%s), want %s%s%s%s\n",
		       e == c->want && !extra_failed && !changed ? "ok" : "not ok",
		       c->name, errno_name(e), e ? strerror(e) : "accepted",
		       errno_name(c->want), extra_msg,
		       extra_failed ? ": FAIL" : "",
		       changed ? ": the volume changed" : "");
		fflush(stdout);
	}
	return 0;
}

int main(int argc, char **argv)
{
	const struct test_case *c = NULL;
	size_t i;
	int fd, e;

	if (argc == 2 && !strcmp(argv[1], "--list")) {
		for (i = 0; i < NR_CASES; i++)
			printf("%s\n", cases[i].name);
		return 0;
	}
	if (argc < 3 || argc > 4) {
		usage(stderr);
		return 2;
	}
	dev = argv[1];
	other_dev = argc > 3 ? argv[3] : NULL;
	for (i = 0; i < NR_CASES; i++)
		if (!strcmp(argv[2], cases[i].name))
			c = &cases[i];
	if (!c && strcmp(argv[2], "--all") &&
	    (strcmp(argv[2], "--bitmap-into-mapping") || !other_dev)) {
		fprintf(stderr, "odx_ioctl: no case '%s' (see --list)\n", argv[2]);
		return 2;
	}
	page = (size_t)sysconf(_SC_PAGESIZE);
	ctl = open(ODX_CONTROL_PATH, O_RDWR);
	if (ctl < 0)
		setup_fail(ODX_CONTROL_PATH);
	fd = open_vol(O_RDONLY);
	if (ioctl(fd, BLKGETSIZE64, &vol_size) || ioctl(fd, BLKSSZGET, &e))
		setup_fail("the volume's size");
	lbs = (uint32_t)e;
	close(fd);
	out_ranges = zalloc(4096 * sizeof(*out_ranges));
	out_bits = zalloc(4096 * sizeof(*out_bits));
	out_shared = zalloc(4096 * sizeof(*out_shared));

	if (!c && other_dev && !strcmp(argv[2], "--bitmap-into-mapping"))
		return bitmap_into_mapping();
	if (!c)
		return run_all();
	e = c->run();
	printf("%s: got %s (%s), want %s%s%s\n", c->name, errno_name(e),
	       e ? strerror(e) : "accepted", errno_name(c->want),
	       extra_msg, extra_failed ? ": FAIL" : "");
	return e == c->want && !extra_failed ? 0 : 1;
}
