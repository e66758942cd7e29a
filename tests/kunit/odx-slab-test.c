// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit: slab arithmetic and range splitting.
 */
#include <kunit/test.h>

#include "odx-slab.h"

static const struct odx_geometry g128 = { .slab_sectors = 128, .slab_shift = 7 };

static void odx_slab_numbers(struct kunit *test)
{
	const struct odx_geometry g1g = {
		.slab_sectors = 2097152, .slab_shift = 21
	};

	KUNIT_EXPECT_EQ(test, odx_slab_of(&g128, 0), 0ULL);
	KUNIT_EXPECT_EQ(test, odx_slab_of(&g128, 127), 0ULL);
	KUNIT_EXPECT_EQ(test, odx_slab_of(&g128, 128), 1ULL);
	KUNIT_EXPECT_EQ(test, odx_slab_start(&g128, 3), (sector_t)384);
	KUNIT_EXPECT_EQ(test, odx_offset_in_slab(&g128, 385), (sector_t)1);
	KUNIT_EXPECT_EQ(test, odx_slabs_for(&g128, 0), 0ULL);
	KUNIT_EXPECT_EQ(test, odx_slabs_for(&g128, 1), 1ULL);
	KUNIT_EXPECT_EQ(test, odx_slabs_for(&g128, 128), 1ULL);
	KUNIT_EXPECT_EQ(test, odx_slabs_for(&g128, 129), 2ULL);
	KUNIT_EXPECT_EQ(test, odx_whole_slabs(&g128, 129), 1ULL);
	KUNIT_EXPECT_EQ(test, odx_whole_slabs(&g128, 127), 0ULL);

	/* 16 TiB at 64 KiB slabs: 2^28 slabs, no overflow */
	KUNIT_EXPECT_EQ(test, odx_slabs_for(&g128, 1ULL << 35), 1ULL << 28);
	KUNIT_EXPECT_EQ(test, odx_slab_start(&g128, 1ULL << 28),
			(sector_t)1 << 35);
	KUNIT_EXPECT_EQ(test, odx_slab_of(&g1g, (sector_t)5 << 21), 5ULL);
}

struct split_case {
	sector_t start, len;
	struct odx_split want;
};

static const struct split_case split_cases[] = {
	/* empty */
	{ 100, 0, { } },
	/* one whole slab */
	{ 0, 128, { 0, 0, 0, 1, 128, 0 } },
	/* inside one slab */
	{ 10, 20, { 10, 20, 0, 0, 0, 0 } },
	/* ends on a boundary, no whole slab */
	{ 100, 28, { 100, 28, 0, 0, 0, 0 } },
	/* starts on a boundary, partial */
	{ 128, 50, { 128, 50, 0, 0, 0, 0 } },
	/* straddles one boundary */
	{ 100, 100, { 100, 28, 0, 0, 128, 72 } },
	/* head, two whole, tail */
	{ 100, 300, { 100, 28, 1, 2, 384, 16 } },
	/* aligned start, tail */
	{ 256, 200, { 256, 0, 2, 1, 384, 72 } },
	/* head, aligned end */
	{ 1, 383, { 1, 127, 1, 2, 384, 0 } },
	/* far out: 16 TiB volume, last slab */
	{ (1ULL << 35) - 128, 128, { (1ULL << 35) - 128, 0, (1ULL << 28) - 1, 1,
				     1ULL << 35, 0 } },
};

static void split_case_desc(const struct split_case *c, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "start %llu len %llu",
		 (unsigned long long)c->start, (unsigned long long)c->len);
}

KUNIT_ARRAY_PARAM(odx_split, split_cases, split_case_desc);

static void odx_split_test(struct kunit *test)
{
	const struct split_case *c = test->param_value;
	struct odx_split sp;

	odx_split_range(&g128, c->start, c->len, &sp);
	KUNIT_EXPECT_EQ(test, sp.head_start, c->want.head_start);
	KUNIT_EXPECT_EQ(test, sp.head_len, c->want.head_len);
	KUNIT_EXPECT_EQ(test, sp.first_slab, c->want.first_slab);
	KUNIT_EXPECT_EQ(test, sp.nr_slabs, c->want.nr_slabs);
	KUNIT_EXPECT_EQ(test, sp.tail_len, c->want.tail_len);
	if (c->want.tail_len)
		KUNIT_EXPECT_EQ(test, sp.tail_start, c->want.tail_start);
	/* the pieces always add up to the range */
	KUNIT_EXPECT_EQ(test, sp.head_len + sp.tail_len +
			odx_slab_start(&g128, sp.nr_slabs), c->len);
}

static struct kunit_case odx_slab_cases[] = {
	KUNIT_CASE(odx_slab_numbers),
	KUNIT_CASE_PARAM(odx_split_test, odx_split_gen_params),
	{}
};

static struct kunit_suite odx_slab_suite = {
	.name = "dm-odx-slab",
	.test_cases = odx_slab_cases,
};

kunit_test_suite(odx_slab_suite);
