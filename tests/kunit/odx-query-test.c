// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit: the control device's query arithmetic: request range checks,
 * the bitmap adjustment rules of DEVICE_DATA_SET_LB_PROVISIONING_STATE,
 * and clipping and merging of allocated ranges.
 */
#include <kunit/test.h>
#include <linux/errno.h>
#include <linux/sizes.h>

#include "odx-query.h"

#define SLAB	SZ_64K
#define MIB	SZ_1M

static void odx_q_check_range_test(struct kunit *test)
{
	const u64 size = 16 * MIB;

	KUNIT_EXPECT_EQ(test, odx_q_check_range(0, size, 512, size), 0);
	KUNIT_EXPECT_EQ(test, odx_q_check_range(0, 0, 512, size), 0);
	KUNIT_EXPECT_EQ(test, odx_q_check_range(size, 0, 512, size), 0);
	KUNIT_EXPECT_EQ(test, odx_q_check_range(512, 1024, 512, size), 0);
	/* unaligned offset or length */
	KUNIT_EXPECT_EQ(test, odx_q_check_range(1, 512, 512, size), -EINVAL);
	KUNIT_EXPECT_EQ(test, odx_q_check_range(0, 511, 512, size), -EINVAL);
	KUNIT_EXPECT_EQ(test, odx_q_check_range(512, 512, 4096, size),
			-EINVAL);
	/* past the end, by one block or starting beyond it */
	KUNIT_EXPECT_EQ(test, odx_q_check_range(0, size + 512, 512, size),
			-ERANGE);
	KUNIT_EXPECT_EQ(test, odx_q_check_range(size, 512, 512, size),
			-ERANGE);
	KUNIT_EXPECT_EQ(test, odx_q_check_range(size + 512, 0, 512, size),
			-ERANGE);
	/* the end wraps around */
	KUNIT_EXPECT_EQ(test, odx_q_check_range(U64_MAX - 511, 1024, 512,
						size), -EOVERFLOW);
	KUNIT_EXPECT_EQ(test, odx_q_check_range(512, U64_MAX - 511, 512,
						size), -EOVERFLOW);
	/* alignment is checked before overflow and range */
	KUNIT_EXPECT_EQ(test, odx_q_check_range(U64_MAX, 1, 512, size),
			-EINVAL);
}

struct bitmap_case {
	const char *name;
	u64 offset, length, size;
	struct odx_q_bitmap_span want;
};

static const struct bitmap_case bitmap_cases[] = {
	{ "aligned", 0, 4 * SLAB, 16 * MIB, { 0, 4, 0 } },
	{ "aligned, not at 0", 3 * SLAB, 2 * SLAB, 16 * MIB, { 3, 2, 0 } },
	/* the seed: start moved to the next boundary, delta reported */
	{ "unaligned start", SLAB + 512, 3 * SLAB, 16 * MIB,
	  { 2, 2, SLAB - 512 } },
	/* the length, after the move, reduced to whole slabs */
	{ "unaligned start and end", SLAB + 4096, 3 * SLAB, 16 * MIB,
	  { 2, 2, SLAB - 4096 } },
	{ "partial length", 0, SLAB + SLAB / 2, 16 * MIB, { 0, 1, 0 } },
	{ "less than a slab", 0, SLAB - 512, 16 * MIB, { 0, 0, 0 } },
	{ "inside one slab", 512, 4096, 16 * MIB, { 0, 0, SLAB - 512 } },
	{ "up to the boundary only", 512, SLAB - 512, 16 * MIB,
	  { 0, 0, SLAB - 512 } },
	{ "zero length", 0, 0, 16 * MIB, { 0, 0, 0 } },
	{ "zero length, unaligned", 512, 0, 16 * MIB, { 0, 0, 0 } },
	{ "whole volume", 0, 16 * MIB, 16 * MIB, { 0, 256, 0 } },
	/* a volume ending inside a slab: a range to its end keeps it */
	{ "partial last slab", 0, 16 * MIB + 4096, 16 * MIB + 4096,
	  { 0, 257, 0 } },
	{ "partial last slab only", 16 * MIB, 4096, 16 * MIB + 4096,
	  { 256, 1, 0 } },
	{ "not to the end: last partial slab dropped", 0, 16 * MIB + 2048,
	  16 * MIB + 4096, { 0, 256, 0 } },
	{ "start inside the partial last slab", 16 * MIB + 512, 3584,
	  16 * MIB + 4096, { 0, 0, SLAB - 512 } },
	{ "1 GiB slabs", SZ_1G - 512, 2ULL * SZ_1G + 512, 4ULL * SZ_1G,
	  { 1, 2, 512 } },
};

static void bitmap_case_desc(const struct bitmap_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(odx_q_bitmap, bitmap_cases, bitmap_case_desc);

static void odx_q_bitmap_test(struct kunit *test)
{
	const struct bitmap_case *c = test->param_value;
	u64 slab = strstr(c->name, "1 GiB") ? SZ_1G : SLAB;
	struct odx_q_bitmap_span s;

	KUNIT_ASSERT_EQ(test, odx_q_check_range(c->offset, c->length, 512,
						c->size), 0);
	odx_q_bitmap_adjust(c->offset, c->length, slab, c->size, &s);
	KUNIT_EXPECT_EQ(test, s.nr, c->want.nr);
	KUNIT_EXPECT_EQ(test, s.delta, c->want.delta);
	if (c->want.nr) {
		KUNIT_EXPECT_EQ(test, s.first, c->want.first);
		/* the adjusted range starts delta bytes later, on a slab */
		KUNIT_EXPECT_EQ(test, s.first * slab, c->offset + s.delta);
		/* and never reaches past the query or the volume */
		KUNIT_EXPECT_LE(test, (s.first + s.nr - 1) * slab,
				c->offset + c->length - 1);
		KUNIT_EXPECT_LE(test, (s.first + s.nr - 1) * slab, c->size - 1);
	}
}

static void odx_q_bitmap_words_test(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, odx_q_bitmap_words(0), 0ULL);
	KUNIT_EXPECT_EQ(test, odx_q_bitmap_words(1), 1ULL);
	KUNIT_EXPECT_EQ(test, odx_q_bitmap_words(31), 1ULL);
	KUNIT_EXPECT_EQ(test, odx_q_bitmap_words(32), 1ULL);
	KUNIT_EXPECT_EQ(test, odx_q_bitmap_words(33), 2ULL);
	KUNIT_EXPECT_EQ(test, odx_q_bitmap_words(1ULL << 28), 1ULL << 23);
}

/* Feed runs [a, b) of slabs and collect the ranges the builder emits. */
struct range_run {
	u64 first, end;		/* slabs */
};

static unsigned int collect(struct odx_q_ranges *b, const struct range_run *runs,
			    unsigned int nr, u64 *out, unsigned int max)
{
	unsigned int i, n = 0;
	u64 s, e;

	for (i = 0; i < nr; i++)
		if (odx_q_ranges_feed(b, runs[i].first * SLAB,
				      runs[i].end * SLAB, &s, &e) && n < max) {
			out[2 * n] = s;
			out[2 * n + 1] = e;
			n++;
		}
	if (odx_q_ranges_finish(b, &s, &e) && n < max) {
		out[2 * n] = s;
		out[2 * n + 1] = e;
		n++;
	}
	return n;
}

static void odx_q_ranges_merge_test(struct kunit *test)
{
	/* slabs 2-3, 4 (adjacent: merged), 7, 9-10 */
	static const struct range_run runs[] = {
		{ 2, 4 }, { 4, 5 }, { 7, 8 }, { 9, 11 },
	};
	struct odx_q_ranges b;
	u64 out[8];
	unsigned int n;

	odx_q_ranges_init(&b, 0, 16 * SLAB);
	n = collect(&b, runs, ARRAY_SIZE(runs), out, 4);
	KUNIT_ASSERT_EQ(test, n, 3U);
	KUNIT_EXPECT_EQ(test, out[0], 2ULL * SLAB);
	KUNIT_EXPECT_EQ(test, out[1], 5ULL * SLAB);
	KUNIT_EXPECT_EQ(test, out[2], 7ULL * SLAB);
	KUNIT_EXPECT_EQ(test, out[3], 8ULL * SLAB);
	KUNIT_EXPECT_EQ(test, out[4], 9ULL * SLAB);
	KUNIT_EXPECT_EQ(test, out[5], 11ULL * SLAB);

	/* nothing mapped: nothing emitted */
	odx_q_ranges_init(&b, 0, 16 * SLAB);
	KUNIT_EXPECT_EQ(test, collect(&b, runs, 0, out, 4), 0U);
}

static void odx_q_ranges_clip_test(struct kunit *test)
{
	static const struct range_run runs[] = {
		{ 0, 2 }, { 3, 4 }, { 6, 8 },
	};
	struct odx_q_ranges b;
	u64 out[8];
	unsigned int n;

	/* a query from inside slab 1 to inside slab 6 */
	odx_q_ranges_init(&b, SLAB + 4096, 6 * SLAB + 512);
	n = collect(&b, runs, ARRAY_SIZE(runs), out, 4);
	KUNIT_ASSERT_EQ(test, n, 3U);
	KUNIT_EXPECT_EQ(test, out[0], (u64)SLAB + 4096);
	KUNIT_EXPECT_EQ(test, out[1], 2ULL * SLAB);
	KUNIT_EXPECT_EQ(test, out[2], 3ULL * SLAB);
	KUNIT_EXPECT_EQ(test, out[3], 4ULL * SLAB);
	KUNIT_EXPECT_EQ(test, out[4], 6ULL * SLAB);
	KUNIT_EXPECT_EQ(test, out[5], 6ULL * SLAB + 512);

	/* runs wholly outside the query are dropped */
	odx_q_ranges_init(&b, 2 * SLAB, 3 * SLAB);
	KUNIT_EXPECT_EQ(test, collect(&b, runs, ARRAY_SIZE(runs), out, 4), 0U);

	/* a query inside one mapped slab: one range, the query itself */
	odx_q_ranges_init(&b, 6 * SLAB + 512, 6 * SLAB + 1024);
	n = collect(&b, runs, ARRAY_SIZE(runs), out, 4);
	KUNIT_ASSERT_EQ(test, n, 1U);
	KUNIT_EXPECT_EQ(test, out[0], 6ULL * SLAB + 512);
	KUNIT_EXPECT_EQ(test, out[1], 6ULL * SLAB + 1024);
}

/* Runs split at walk-piece boundaries still merge into one range. */
static void odx_q_ranges_pieces_test(struct kunit *test)
{
	static const struct range_run runs[] = {
		{ 0, 2048 }, { 2048, 4096 }, { 4096, 4100 },
	};
	struct odx_q_ranges b;
	u64 out[4];

	odx_q_ranges_init(&b, 0, 8192ULL * SLAB);
	KUNIT_ASSERT_EQ(test, collect(&b, runs, ARRAY_SIZE(runs), out, 2), 1U);
	KUNIT_EXPECT_EQ(test, out[0], 0ULL);
	KUNIT_EXPECT_EQ(test, out[1], 4100ULL * SLAB);
}

static struct kunit_case odx_query_cases[] = {
	KUNIT_CASE(odx_q_check_range_test),
	KUNIT_CASE_PARAM(odx_q_bitmap_test, odx_q_bitmap_gen_params),
	KUNIT_CASE(odx_q_bitmap_words_test),
	KUNIT_CASE(odx_q_ranges_merge_test),
	KUNIT_CASE(odx_q_ranges_clip_test),
	KUNIT_CASE(odx_q_ranges_pieces_test),
	{}
};

static struct kunit_suite odx_query_suite = {
	.name = "dm-odx-query",
	.test_cases = odx_query_cases,
};

kunit_test_suite(odx_query_suite);
