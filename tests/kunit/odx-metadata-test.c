// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit: the in-memory half of the metadata layer (drivers/odx-md-core.h):
 * the next-fit allocator, the map and reference counts, dirty block
 * tracking and its journal order, freed slabs and their release, the
 * counters, encoding to and loading from on-disk blocks, growing;
 * remapping (copies and copy on write) and pins (point-in-time tokens).
 */
#include <kunit/test.h>
#include <linux/string.h>

#include "dm-odx-format.h"
#include "odx-md-core.h"

KUNIT_DEFINE_ACTION_WRAPPER(odx_test_core_free, odx_mdc_destroy,
			    struct odx_mdc *);

/* A core freed when the test ends, however it ends. */
static struct odx_mdc *odx_test_core(struct kunit *test, u64 data_slabs,
				     u64 virtual_slabs)
{
	struct odx_mdc *c = kunit_kzalloc(test, sizeof(*c), GFP_KERNEL);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, c);
	KUNIT_ASSERT_EQ(test, odx_mdc_init(c, data_slabs, virtual_slabs), 0);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test,
							odx_test_core_free, c),
			0);
	return c;
}

static void *odx_test_block(struct kunit *test)
{
	void *b = kunit_kzalloc(test, ODX_BLOCK_SIZE, GFP_KERNEL);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, b);
	return b;
}

/* Reserve a slab and map @vslab to it. */
static u32 odx_test_map(struct kunit *test, struct odx_mdc *c, u64 vslab)
{
	u32 p;

	KUNIT_ASSERT_EQ(test, odx_mdc_reserve(c, &p), 0);
	KUNIT_ASSERT_EQ(test, odx_mdc_insert(c, vslab, p), 0);
	return p;
}

static void odx_mdc_test_init(struct kunit *test)
{
	struct odx_mdc *c = odx_test_core(test, 100, 300);
	struct odx_mdc_counts n;
	u64 v;

	for (v = 0; v < 301; v++)
		KUNIT_EXPECT_EQ(test, odx_mdc_lookup(c, v), ODX_UNMAPPED);
	KUNIT_EXPECT_EQ(test, odx_mdc_lookup(c, U64_MAX), ODX_UNMAPPED);
	odx_mdc_counts(c, &n);
	KUNIT_EXPECT_EQ(test, n.data_slabs, 100);
	KUNIT_EXPECT_EQ(test, n.virtual_slabs, 300);
	KUNIT_EXPECT_EQ(test, n.used, 0);
	KUNIT_EXPECT_EQ(test, n.shared, 0);
	KUNIT_EXPECT_EQ(test, n.free, 100);
	KUNIT_EXPECT_EQ(test, c->rc_blocks, 1);
	KUNIT_EXPECT_EQ(test, c->map_blocks, 1);
	KUNIT_EXPECT_EQ(test, c->nr_dirty, 0);
	odx_mdc_destroy(c);

	KUNIT_EXPECT_EQ(test, odx_mdc_init(c, 0, 10), -EINVAL);
	KUNIT_EXPECT_EQ(test, odx_mdc_init(c, 10, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, odx_mdc_init(c, ODX_MAX_SLABS + 1, 10), -EINVAL);
}

static void odx_mdc_test_reserve(struct kunit *test)
{
	struct odx_mdc *c = odx_test_core(test, 8, 8);
	struct odx_mdc_counts n;
	u32 p, i;

	for (i = 0; i < 8; i++) {
		KUNIT_ASSERT_EQ(test, odx_mdc_reserve(c, &p), 0);
		KUNIT_EXPECT_EQ(test, p, i);
	}
	KUNIT_EXPECT_EQ(test, odx_mdc_reserve(c, &p), -ENOSPC);
	odx_mdc_counts(c, &n);
	KUNIT_EXPECT_EQ(test, n.free, 0);

	/* next fit: the search goes on from the last allocation */
	KUNIT_EXPECT_EQ(test, odx_mdc_unreserve(c, 3), 0);
	KUNIT_EXPECT_EQ(test, odx_mdc_unreserve(c, 6), 0);
	odx_mdc_counts(c, &n);
	KUNIT_EXPECT_EQ(test, n.free, 2);
	KUNIT_ASSERT_EQ(test, odx_mdc_reserve(c, &p), 0);
	KUNIT_EXPECT_EQ(test, p, 3);
	KUNIT_EXPECT_EQ(test, odx_mdc_unreserve(c, 2), 0);
	KUNIT_ASSERT_EQ(test, odx_mdc_reserve(c, &p), 0);
	KUNIT_EXPECT_EQ(test, p, 6);
	KUNIT_ASSERT_EQ(test, odx_mdc_reserve(c, &p), 0);
	KUNIT_EXPECT_EQ(test, p, 2);	/* wrapped around */
	KUNIT_EXPECT_EQ(test, odx_mdc_reserve(c, &p), -ENOSPC);

	/* misuse */
	KUNIT_EXPECT_EQ(test, odx_mdc_unreserve(c, 8), -EINVAL);
	KUNIT_EXPECT_EQ(test, odx_mdc_unreserve(c, 5), 0);
	KUNIT_EXPECT_EQ(test, odx_mdc_unreserve(c, 5), -EINVAL);
}

/* Across bitmap words, and the last slab of an odd-sized device. */
static void odx_mdc_test_reserve_words(struct kunit *test)
{
	struct odx_mdc *c = odx_test_core(test, 130, 130);
	u32 p, i;

	for (i = 0; i < 130; i++)
		KUNIT_ASSERT_EQ(test, odx_mdc_reserve(c, &p), 0);
	KUNIT_EXPECT_EQ(test, odx_mdc_reserve(c, &p), -ENOSPC);
	KUNIT_EXPECT_EQ(test, odx_mdc_unreserve(c, 129), 0);
	KUNIT_EXPECT_EQ(test, odx_mdc_unreserve(c, 64), 0);
	KUNIT_EXPECT_EQ(test, odx_mdc_unreserve(c, 63), 0);
	KUNIT_ASSERT_EQ(test, odx_mdc_reserve(c, &p), 0);
	KUNIT_EXPECT_EQ(test, p, 63);
	KUNIT_ASSERT_EQ(test, odx_mdc_reserve(c, &p), 0);
	KUNIT_EXPECT_EQ(test, p, 64);
	KUNIT_ASSERT_EQ(test, odx_mdc_reserve(c, &p), 0);
	KUNIT_EXPECT_EQ(test, p, 129);
	KUNIT_EXPECT_EQ(test, odx_mdc_reserve(c, &p), -ENOSPC);
}

static void odx_mdc_test_insert_remove(struct kunit *test)
{
	/* 3 refcount blocks, 3 map blocks */
	struct odx_mdc *c = odx_test_core(test, 5000, 3000);
	struct odx_mdc_blk blks[8];
	struct odx_mdc_counts n;
	u32 p, q, r, freed;

	KUNIT_EXPECT_EQ(test, c->rc_blocks, 3);
	KUNIT_EXPECT_EQ(test, c->map_blocks, 3);

	KUNIT_ASSERT_EQ(test, odx_mdc_reserve(c, &p), 0);
	KUNIT_EXPECT_EQ(test, odx_mdc_insert_cost(c, 10, p), 2);
	KUNIT_ASSERT_EQ(test, odx_mdc_insert(c, 10, p), 0);
	KUNIT_EXPECT_EQ(test, odx_mdc_lookup(c, 10), p);
	KUNIT_EXPECT_EQ(test, odx_mdc_refcount(c, p), 1);
	KUNIT_EXPECT_EQ(test, c->nr_dirty, 2);
	KUNIT_EXPECT_EQ(test, odx_mdc_insert_cost(c, 11, p + 1), 0);
	KUNIT_EXPECT_EQ(test, odx_mdc_insert_cost(c, 1016, p + 1), 1);
	KUNIT_EXPECT_EQ(test, odx_mdc_insert_cost(c, 11, 2032), 1);
	KUNIT_EXPECT_EQ(test, odx_mdc_insert_cost(c, 2032, 4064), 2);

	KUNIT_ASSERT_EQ(test, odx_mdc_reserve(c, &q), 0);
	KUNIT_ASSERT_EQ(test, odx_mdc_insert(c, 1016, q), 0);
	KUNIT_EXPECT_EQ(test, c->nr_dirty, 3);
	odx_mdc_counts(c, &n);
	KUNIT_EXPECT_EQ(test, n.used, 2);
	KUNIT_EXPECT_EQ(test, n.free, 4998);

	/* misuse changes nothing */
	KUNIT_ASSERT_EQ(test, odx_mdc_reserve(c, &r), 0);
	KUNIT_EXPECT_EQ(test, odx_mdc_insert(c, 10, r), -EEXIST);
	KUNIT_EXPECT_EQ(test, odx_mdc_insert(c, 3000, r), -EINVAL);
	KUNIT_EXPECT_EQ(test, odx_mdc_insert(c, 12, r + 1), -EINVAL);
	KUNIT_EXPECT_EQ(test, odx_mdc_insert(c, 12, p), -EINVAL);
	KUNIT_EXPECT_EQ(test, odx_mdc_insert(c, 12, 5000), -EINVAL);
	KUNIT_EXPECT_EQ(test, odx_mdc_lookup(c, 12), ODX_UNMAPPED);
	KUNIT_EXPECT_EQ(test, c->nr_dirty, 3);
	KUNIT_EXPECT_EQ(test, odx_mdc_unreserve(c, r), 0);

	/* remove: the slab is freed, the blocks were dirty already */
	KUNIT_EXPECT_EQ(test, odx_mdc_remove_cost(c, 10), 0);
	KUNIT_ASSERT_EQ(test, odx_mdc_remove(c, 10, &freed), 0);
	KUNIT_EXPECT_EQ(test, freed, p);
	KUNIT_EXPECT_EQ(test, odx_mdc_lookup(c, 10), ODX_UNMAPPED);
	KUNIT_EXPECT_EQ(test, odx_mdc_refcount(c, p), 0);
	KUNIT_EXPECT_EQ(test, c->nr_dirty, 3);
	KUNIT_EXPECT_EQ(test, odx_mdc_dirty_blocks(c, blks, 8), 3);
	odx_mdc_counts(c, &n);
	KUNIT_EXPECT_EQ(test, n.used, 1);
	KUNIT_EXPECT_EQ(test, n.free, 4998);	/* p waits for a commit */
	/* the slab is not reserved any more: it cannot be inserted again */
	KUNIT_EXPECT_EQ(test, odx_mdc_insert(c, 10, p), -EINVAL);
}

static void odx_mdc_test_dirty_order(struct kunit *test)
{
	struct odx_mdc *c = odx_test_core(test, 5000, 3000);
	struct odx_mdc_blk blks[8];
	u32 p;

	KUNIT_ASSERT_EQ(test, odx_mdc_reserve(c, &p), 0);
	KUNIT_ASSERT_EQ(test, odx_mdc_insert(c, 2999, p), 0);
	KUNIT_ASSERT_EQ(test, odx_mdc_reserve(c, &p), 0);
	KUNIT_ASSERT_EQ(test, odx_mdc_insert(c, 5, p), 0);
	odx_mdc_mark_dirty(c, &(struct odx_mdc_blk){ .map = false,
						     .index = 2 });
	/* beyond the area: ignored */
	odx_mdc_mark_dirty(c, &(struct odx_mdc_blk){ .map = true,
						     .index = 3 });
	KUNIT_EXPECT_EQ(test, c->nr_dirty, 4);
	KUNIT_ASSERT_EQ(test, odx_mdc_dirty_blocks(c, blks, 8), 4);
	KUNIT_EXPECT_FALSE(test, blks[0].map);
	KUNIT_EXPECT_EQ(test, blks[0].index, 0);
	KUNIT_EXPECT_FALSE(test, blks[1].map);
	KUNIT_EXPECT_EQ(test, blks[1].index, 2);
	KUNIT_EXPECT_TRUE(test, blks[2].map);
	KUNIT_EXPECT_EQ(test, blks[2].index, 0);
	KUNIT_EXPECT_TRUE(test, blks[3].map);
	KUNIT_EXPECT_EQ(test, blks[3].index, 2);
	KUNIT_EXPECT_EQ(test, odx_mdc_dirty_blocks(c, blks, 3), 3);

	odx_mdc_committed(c);
	KUNIT_EXPECT_EQ(test, c->nr_dirty, 0);
	KUNIT_EXPECT_EQ(test, odx_mdc_dirty_blocks(c, blks, 8), 0);
	KUNIT_EXPECT_EQ(test, odx_mdc_lookup(c, 5), p);
}

struct odx_test_runs {
	unsigned int n;
	u32 first[8], count[8];
};

static void odx_test_run(void *ctx, u32 first, u32 count)
{
	struct odx_test_runs *runs = ctx;

	if (runs->n < ARRAY_SIZE(runs->first)) {
		runs->first[runs->n] = first;
		runs->count[runs->n] = count;
	}
	runs->n++;
}

static void odx_mdc_test_freed(struct kunit *test)
{
	struct odx_mdc *c = odx_test_core(test, 10, 10);
	struct odx_test_runs runs = { };
	struct odx_mdc_counts n;
	u32 p, freed, v;

	for (v = 0; v < 10; v++)
		KUNIT_ASSERT_EQ(test, odx_test_map(test, c, v), v);
	odx_mdc_committed(c);

	/* removing an unmapped slab is a no-op */
	KUNIT_ASSERT_EQ(test, odx_mdc_remove(c, 3, &freed), 0);
	KUNIT_EXPECT_EQ(test, freed, 3);
	KUNIT_ASSERT_EQ(test, odx_mdc_remove(c, 3, &freed), 0);
	KUNIT_EXPECT_EQ(test, freed, ODX_UNMAPPED);
	KUNIT_EXPECT_EQ(test, odx_mdc_remove(c, 10, &freed), -EINVAL);
	for (v = 4; v <= 5; v++) {
		KUNIT_ASSERT_EQ(test, odx_mdc_remove(c, v, &freed), 0);
		KUNIT_EXPECT_EQ(test, freed, v);
	}
	KUNIT_ASSERT_EQ(test, odx_mdc_remove(c, 8, &freed), 0);
	KUNIT_EXPECT_EQ(test, odx_mdc_lookup(c, 8), ODX_UNMAPPED);
	KUNIT_EXPECT_EQ(test, odx_mdc_refcount(c, 8), 0);

	/* freed in the open transaction: not allocatable, not reported */
	odx_mdc_counts(c, &n);
	KUNIT_EXPECT_EQ(test, n.used, 6);
	KUNIT_EXPECT_EQ(test, n.free, 0);
	KUNIT_EXPECT_EQ(test, n.pending_free, 4);
	KUNIT_EXPECT_EQ(test, odx_mdc_reserve(c, &p), -ENOSPC);
	odx_mdc_freed_runs(c, odx_test_run, &runs);
	KUNIT_EXPECT_EQ(test, runs.n, 0);

	/* committed: reported as runs, still not allocatable */
	odx_mdc_committed(c);
	KUNIT_EXPECT_EQ(test, odx_mdc_reserve(c, &p), -ENOSPC);
	odx_mdc_freed_runs(c, odx_test_run, &runs);
	KUNIT_ASSERT_EQ(test, runs.n, 2);
	KUNIT_EXPECT_EQ(test, runs.first[0], 3);
	KUNIT_EXPECT_EQ(test, runs.count[0], 3);
	KUNIT_EXPECT_EQ(test, runs.first[1], 8);
	KUNIT_EXPECT_EQ(test, runs.count[1], 1);

	/* freed by the next, open, transaction: stays out of the release */
	KUNIT_ASSERT_EQ(test, odx_mdc_remove(c, 9, &freed), 0);
	KUNIT_EXPECT_EQ(test, freed, 9);
	odx_mdc_release_freed(c);
	odx_mdc_counts(c, &n);
	KUNIT_EXPECT_EQ(test, n.free, 4);
	KUNIT_EXPECT_EQ(test, n.pending_free, 1);
	runs.n = 0;
	odx_mdc_freed_runs(c, odx_test_run, &runs);
	KUNIT_EXPECT_EQ(test, runs.n, 0);
	for (v = 0; v < 4; v++) {
		KUNIT_ASSERT_EQ(test, odx_mdc_reserve(c, &p), 0);
		KUNIT_EXPECT_EQ(test, p, v < 3 ? 3 + v : 8);
	}
	KUNIT_EXPECT_EQ(test, odx_mdc_reserve(c, &p), -ENOSPC);

	odx_mdc_committed(c);
	odx_mdc_freed_runs(c, odx_test_run, &runs);
	KUNIT_ASSERT_EQ(test, runs.n, 1);
	KUNIT_EXPECT_EQ(test, runs.first[0], 9);
	KUNIT_EXPECT_EQ(test, runs.count[0], 1);
	odx_mdc_release_freed(c);
	KUNIT_ASSERT_EQ(test, odx_mdc_reserve(c, &p), 0);
	KUNIT_EXPECT_EQ(test, p, 9);
}

/* A run reaching the last slab, and the whole device freed. */
static void odx_mdc_test_freed_all(struct kunit *test)
{
	struct odx_mdc *c = odx_test_core(test, 70, 70);
	struct odx_test_runs runs = { };
	struct odx_mdc_counts n;
	u32 freed, v;

	for (v = 0; v < 70; v++)
		odx_test_map(test, c, v);
	for (v = 0; v < 70; v++)
		KUNIT_ASSERT_EQ(test, odx_mdc_remove(c, v, &freed), 0);
	odx_mdc_committed(c);
	odx_mdc_freed_runs(c, odx_test_run, &runs);
	KUNIT_ASSERT_EQ(test, runs.n, 1);
	KUNIT_EXPECT_EQ(test, runs.first[0], 0);
	KUNIT_EXPECT_EQ(test, runs.count[0], 70);
	odx_mdc_release_freed(c);
	odx_mdc_counts(c, &n);
	KUNIT_EXPECT_EQ(test, n.free, 70);
	KUNIT_EXPECT_EQ(test, n.used, 0);
	KUNIT_EXPECT_EQ(test, n.pending_free, 0);
}

/* Encode blocks, check them with the format helpers, load them back. */
static void odx_mdc_test_encode_load(struct kunit *test)
{
	struct odx_mdc *c = odx_test_core(test, 3000, 2500);
	struct odx_mdc *d = odx_test_core(test, 3000, 2500);
	struct odx_mdc_blk blk;
	struct odx_mdc_counts n;
	struct odx_map_block *mb;
	struct odx_refcount_block *rb;
	const char *err = NULL;
	u32 used, shared;
	u32 p[4];
	u64 v;
	int i;

	/* slabs 2032.. live in refcount block 1; map 2032.. in block 2 */
	for (i = 0; i < 2040; i++) {
		u32 q;

		KUNIT_ASSERT_EQ(test, odx_mdc_reserve(c, &q), 0);
	}
	p[0] = odx_test_map(test, c, 0);
	p[1] = odx_test_map(test, c, 1015);
	p[2] = odx_test_map(test, c, 2032);
	p[3] = odx_test_map(test, c, 2499);

	mb = odx_test_block(test);
	rb = odx_test_block(test);
	for (i = 0; i < 3; i++) {
		blk = (struct odx_mdc_blk){ .map = true, .index = i };
		odx_mdc_encode(c, &blk, mb);
		odx_block_prepare(mb, ODX_BLOCK_MAP, 100 + i, 7);
		KUNIT_EXPECT_EQ(test, odx_block_check(mb, ODX_BLOCK_MAP,
						      100 + i, 7, &err), 0);
		KUNIT_EXPECT_EQ(test, odx_map_block_validate(mb, i, 2500, 3000,
							     &err),
				i == 1 ? 0 : 2);
		odx_mdc_load(d, &blk, mb);
	}
	/* the tail of the last block stays unmapped */
	KUNIT_EXPECT_EQ(test, le32_to_cpu(mb->entries[2499 - 2032]), p[3]);
	KUNIT_EXPECT_EQ(test, le32_to_cpu(mb->entries[2500 - 2032]),
			ODX_UNMAPPED);
	KUNIT_EXPECT_EQ(test, le32_to_cpu(mb->entries[1015]), ODX_UNMAPPED);

	for (i = 0; i < 2; i++) {
		blk = (struct odx_mdc_blk){ .map = false, .index = i };
		odx_mdc_encode(c, &blk, rb);
		odx_block_prepare(rb, ODX_BLOCK_REFCOUNT, 50 + i, 7);
		KUNIT_EXPECT_EQ(test, odx_block_check(rb, ODX_BLOCK_REFCOUNT,
						      50 + i, 7, &err), 0);
		KUNIT_EXPECT_EQ(test, odx_refcount_block_validate(rb, i, 3000,
								  &used,
								  &shared,
								  &err), 0);
		KUNIT_EXPECT_EQ(test, used, i ? 4 : 0);
		KUNIT_EXPECT_EQ(test, shared, 0);
		odx_mdc_load(d, &blk, rb);
	}
	KUNIT_EXPECT_EQ(test, le16_to_cpu(rb->counts[2999 - 2032]), 0);

	KUNIT_ASSERT_EQ(test, odx_mdc_recount(d, &err), 0);
	for (v = 0; v < 2500; v++)
		KUNIT_EXPECT_EQ(test, odx_mdc_lookup(d, v),
				odx_mdc_lookup(c, v));
	odx_mdc_counts(d, &n);
	KUNIT_EXPECT_EQ(test, n.used, 4);
	KUNIT_EXPECT_EQ(test, n.shared, 0);
	KUNIT_EXPECT_EQ(test, n.free, 2996);
	/* loaded slabs are not handed out again */
	for (i = 0; i < 2996; i++) {
		u32 q;

		KUNIT_ASSERT_EQ(test, odx_mdc_reserve(d, &q), 0);
		KUNIT_EXPECT_NE(test, q, p[0]);
		KUNIT_EXPECT_NE(test, q, p[3]);
	}
}

/* Shared slabs (an offload copy) come from disk in v1. */
static void odx_mdc_test_shared(struct kunit *test)
{
	struct odx_mdc *c = odx_test_core(test, 100, 100);
	struct odx_map_block *mb = odx_test_block(test);
	struct odx_refcount_block *rb = odx_test_block(test);
	struct odx_mdc_blk mblk = { .map = true }, rblk = { .map = false };
	struct odx_test_runs runs = { };
	struct odx_mdc_counts n;
	const char *err = NULL;
	u32 freed, p;

	odx_map_block_init(mb);
	odx_refcount_block_init(rb);
	mb->entries[3] = cpu_to_le32(7);
	mb->entries[4] = cpu_to_le32(7);
	mb->entries[5] = cpu_to_le32(8);
	rb->counts[7] = cpu_to_le16(2);
	rb->counts[8] = cpu_to_le16(1);
	odx_mdc_load(c, &mblk, mb);
	odx_mdc_load(c, &rblk, rb);
	KUNIT_ASSERT_EQ(test, odx_mdc_recount(c, &err), 0);
	odx_mdc_counts(c, &n);
	KUNIT_EXPECT_EQ(test, n.used, 2);
	KUNIT_EXPECT_EQ(test, n.shared, 1);
	KUNIT_EXPECT_EQ(test, n.free, 98);

	KUNIT_EXPECT_EQ(test, odx_mdc_remove_cost(c, 3), 2);
	KUNIT_EXPECT_EQ(test, odx_mdc_remove_cost(c, 6), 0);
	KUNIT_ASSERT_EQ(test, odx_mdc_remove(c, 3, &freed), 0);
	KUNIT_EXPECT_EQ(test, freed, ODX_UNMAPPED);
	KUNIT_EXPECT_EQ(test, odx_mdc_refcount(c, 7), 1);
	KUNIT_EXPECT_EQ(test, odx_mdc_lookup(c, 4), 7);
	odx_mdc_counts(c, &n);
	KUNIT_EXPECT_EQ(test, n.used, 2);
	KUNIT_EXPECT_EQ(test, n.shared, 0);
	KUNIT_ASSERT_EQ(test, odx_mdc_remove(c, 4, &freed), 0);
	KUNIT_EXPECT_EQ(test, freed, 7);
	odx_mdc_counts(c, &n);
	KUNIT_EXPECT_EQ(test, n.used, 1);
	KUNIT_EXPECT_EQ(test, n.free, 98);
	odx_mdc_committed(c);
	odx_mdc_freed_runs(c, odx_test_run, &runs);
	KUNIT_ASSERT_EQ(test, runs.n, 1);
	KUNIT_EXPECT_EQ(test, runs.first[0], 7);
	odx_mdc_release_freed(c);
	odx_mdc_counts(c, &n);
	KUNIT_EXPECT_EQ(test, n.free, 99);
	/* slab 8 is still in use */
	for (p = 0; p < 99; p++) {
		u32 q;

		KUNIT_ASSERT_EQ(test, odx_mdc_reserve(c, &q), 0);
		KUNIT_EXPECT_NE(test, q, 8);
	}
}

/* The map and the reference counts must agree. */
static void odx_mdc_test_recount(struct kunit *test)
{
	struct odx_mdc *c = odx_test_core(test, 100, 100);
	struct odx_map_block *mb = odx_test_block(test);
	struct odx_refcount_block *rb = odx_test_block(test);
	struct odx_mdc_blk mblk = { .map = true }, rblk = { .map = false };
	const char *err = NULL;

	/* a count above the number of references */
	odx_map_block_init(mb);
	odx_refcount_block_init(rb);
	mb->entries[1] = cpu_to_le32(5);
	rb->counts[5] = cpu_to_le16(2);
	odx_mdc_load(c, &mblk, mb);
	odx_mdc_load(c, &rblk, rb);
	KUNIT_EXPECT_EQ(test, odx_mdc_recount(c, &err), -EINVAL);
	KUNIT_EXPECT_STREQ(test, err,
			   "reference count above the number of map entries");
	KUNIT_EXPECT_EQ(test, odx_mdc_refcount(c, 5), 2);	/* restored */

	/* more references than the count */
	mb->entries[2] = cpu_to_le32(5);
	mb->entries[3] = cpu_to_le32(5);
	odx_mdc_load(c, &mblk, mb);
	KUNIT_EXPECT_EQ(test, odx_mdc_recount(c, &err), -EINVAL);
	KUNIT_EXPECT_STREQ(test, err,
			   "slab mapped more often than its reference count says");
	KUNIT_EXPECT_EQ(test, odx_mdc_refcount(c, 5), 2);

	/* a mapped slab with no count */
	mb->entries[3] = cpu_to_le32(6);
	odx_mdc_load(c, &mblk, mb);
	KUNIT_EXPECT_EQ(test, odx_mdc_recount(c, &err), -EINVAL);

	/* consistent */
	rb->counts[6] = cpu_to_le16(1);
	odx_mdc_load(c, &rblk, rb);
	KUNIT_EXPECT_EQ(test, odx_mdc_recount(c, &err), 0);
	KUNIT_EXPECT_EQ(test, odx_mdc_refcount(c, 5), 2);
	KUNIT_EXPECT_EQ(test, odx_mdc_refcount(c, 6), 1);
}

static void odx_mdc_test_grow(struct kunit *test)
{
	struct odx_mdc *c = odx_test_core(test, 10, 10);
	struct odx_mdc_blk blks[8];
	struct odx_mdc_counts n;
	u32 p, q, freed;
	int i;

	p = odx_test_map(test, c, 9);
	KUNIT_ASSERT_EQ(test, odx_mdc_remove(c, 9, &freed), 0);
	q = odx_test_map(test, c, 9);
	KUNIT_EXPECT_EQ(test, odx_mdc_grow(c, 9, 10), -EINVAL);
	KUNIT_EXPECT_EQ(test, odx_mdc_grow(c, 10, 9), -EINVAL);
	KUNIT_EXPECT_EQ(test, odx_mdc_grow(c, 10, 10), 0);
	KUNIT_ASSERT_EQ(test, odx_mdc_grow(c, 5000, 3000), 0);

	KUNIT_EXPECT_EQ(test, odx_mdc_lookup(c, 9), q);
	KUNIT_EXPECT_EQ(test, odx_mdc_lookup(c, 2999), ODX_UNMAPPED);
	KUNIT_EXPECT_EQ(test, odx_mdc_refcount(c, q), 1);
	KUNIT_EXPECT_EQ(test, c->rc_blocks, 3);
	KUNIT_EXPECT_EQ(test, c->map_blocks, 3);
	odx_mdc_counts(c, &n);
	KUNIT_EXPECT_EQ(test, n.data_slabs, 5000);
	KUNIT_EXPECT_EQ(test, n.virtual_slabs, 3000);
	KUNIT_EXPECT_EQ(test, n.used, 1);
	KUNIT_EXPECT_EQ(test, n.free, 4998);	/* p is still freed */
	KUNIT_EXPECT_EQ(test, n.pending_free, 1);
	/* the open transaction is kept */
	KUNIT_EXPECT_EQ(test, c->nr_dirty, 2);
	KUNIT_EXPECT_EQ(test, odx_mdc_dirty_blocks(c, blks, 8), 2);

	odx_mdc_committed(c);
	odx_mdc_release_freed(c);
	for (i = 0; i < 4999; i++) {
		u32 r;

		KUNIT_ASSERT_EQ(test, odx_mdc_reserve(c, &r), 0);
		KUNIT_EXPECT_NE(test, r, q);
	}
	KUNIT_EXPECT_EQ(test, odx_mdc_reserve(c, &p), -ENOSPC);
	KUNIT_ASSERT_EQ(test, odx_mdc_insert(c, 2999, 4999), 0);
	KUNIT_EXPECT_EQ(test, odx_mdc_lookup(c, 2999), 4999);
}

/* The dirty blocks of a full transaction make a valid journal. */
static void odx_mdc_test_journal(struct kunit *test)
{
	struct odx_mdc *c = odx_test_core(test, 500000, 600000);
	struct odx_mdc_blk *blks;
	struct odx_sb sb = { };
	const char *err = NULL;
	void *jh = odx_test_block(test);
	void *pl = odx_test_block(test);
	unsigned int n, i;
	u64 v;

	blks = kunit_kcalloc(test, ODX_JOURNAL_MAX_ENTRIES, sizeof(*blks),
			     GFP_KERNEL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, blks);
	KUNIT_ASSERT_EQ(test, odx_layout_compute(8192, 500000, 600000,
						 &sb.layout, NULL), 0);
	sb.txn_id = 5;
	sb.slab_sectors = 128;
	sb.data_slabs = 500000;
	sb.virtual_sectors = 600000ULL * 128;

	/* fill a transaction the way odx_md_insert() does */
	for (v = 0; ; v += ODX_MAP_ENTRIES_PER_BLOCK) {
		u32 p;

		KUNIT_ASSERT_LT(test, v, 600000);
		KUNIT_ASSERT_EQ(test, odx_mdc_reserve(c, &p), 0);
		if (c->nr_dirty + odx_mdc_insert_cost(c, v, p) >
		    ODX_JOURNAL_MAX_ENTRIES) {
			KUNIT_EXPECT_EQ(test, odx_mdc_unreserve(c, p), 0);
			break;
		}
		KUNIT_ASSERT_EQ(test, odx_mdc_insert(c, v, p), 0);
		/* spread the slabs over many refcount blocks too */
		c->cursor = (c->cursor + 5000) % 500000;
	}
	KUNIT_EXPECT_GE(test, c->nr_dirty, ODX_JOURNAL_MAX_ENTRIES - 1);
	n = odx_mdc_dirty_blocks(c, blks, ODX_JOURNAL_MAX_ENTRIES);
	KUNIT_EXPECT_EQ(test, n, c->nr_dirty);

	odx_journal_init(jh);
	for (i = 0; i < n; i++) {
		u64 home = (blks[i].map ? sb.layout.map_start :
				sb.layout.refcount_start) + blks[i].index;

		odx_mdc_encode(c, &blks[i], pl);
		odx_block_prepare(pl, blks[i].map ? ODX_BLOCK_MAP :
				  ODX_BLOCK_REFCOUNT, home, sb.txn_id);
		KUNIT_ASSERT_EQ_MSG(test, odx_journal_add(jh, pl, &err), 0,
				    "%s", err);
	}
	odx_journal_seal(jh, &sb.layout, sb.txn_id);
	sb.journal_entries = n;
	KUNIT_EXPECT_EQ_MSG(test, odx_journal_check(jh, &sb, &err), 0, "%s",
			    err);
}

/* A copy by remapping: a second reference, then each dropped in turn. */
static void odx_mdc_test_remap_link(struct kunit *test)
{
	struct odx_mdc *c = odx_test_core(test, 10, 10);
	struct odx_mdc_counts n;
	u32 p, q, freed;

	p = odx_test_map(test, c, 0);
	q = odx_test_map(test, c, 1);
	KUNIT_EXPECT_FALSE(test, odx_mdc_must_copy(c, p));
	KUNIT_EXPECT_EQ(test, odx_mdc_remap_cost(c, 1, p), 0);
	odx_mdc_committed(c);
	/* at most: both blocks for the removal and for the insertion */
	KUNIT_EXPECT_EQ(test, odx_mdc_remap_cost(c, 1, p), 4);
	/* slab 1 points at p: q loses its only reference */
	KUNIT_ASSERT_EQ(test, odx_mdc_remap(c, 1, p, false, &freed), 0);
	KUNIT_EXPECT_EQ(test, freed, q);
	KUNIT_EXPECT_EQ(test, odx_mdc_lookup(c, 1), p);
	KUNIT_EXPECT_EQ(test, odx_mdc_refcount(c, p), 2);
	KUNIT_EXPECT_TRUE(test, odx_mdc_must_copy(c, p));
	odx_mdc_counts(c, &n);
	KUNIT_EXPECT_EQ(test, n.used, 1);
	KUNIT_EXPECT_EQ(test, n.shared, 1);
	/* the same mapping again changes nothing */
	KUNIT_ASSERT_EQ(test, odx_mdc_remap(c, 1, p, false, &freed), 0);
	KUNIT_EXPECT_EQ(test, odx_mdc_refcount(c, p), 2);
	/* an unmapped slab gains a reference */
	KUNIT_ASSERT_EQ(test, odx_mdc_remap(c, 5, p, false, &freed), 0);
	KUNIT_EXPECT_EQ(test, freed, ODX_UNMAPPED);
	KUNIT_EXPECT_EQ(test, odx_mdc_refcount(c, p), 3);
	KUNIT_ASSERT_EQ(test, odx_mdc_remove(c, 0, &freed), 0);
	KUNIT_ASSERT_EQ(test, odx_mdc_remove(c, 1, &freed), 0);
	KUNIT_EXPECT_EQ(test, freed, ODX_UNMAPPED);
	KUNIT_EXPECT_FALSE(test, odx_mdc_must_copy(c, p));
	odx_mdc_counts(c, &n);
	KUNIT_EXPECT_EQ(test, n.shared, 0);
	KUNIT_ASSERT_EQ(test, odx_mdc_remove(c, 5, &freed), 0);
	KUNIT_EXPECT_EQ(test, freed, p);
	odx_mdc_counts(c, &n);
	KUNIT_EXPECT_EQ(test, n.used, 0);
	KUNIT_EXPECT_EQ(test, n.pending_free, 2);
}

/* A copy on write: the new slab replaces the shared one in one step. */
static void odx_mdc_test_remap_cow(struct kunit *test)
{
	struct odx_mdc *c = odx_test_core(test, 10, 10);
	struct odx_mdc_counts n;
	u32 p, q, freed;

	p = odx_test_map(test, c, 0);
	KUNIT_ASSERT_EQ(test, odx_mdc_remap(c, 1, p, false, &freed), 0);
	KUNIT_ASSERT_EQ(test, odx_mdc_reserve(c, &q), 0);
	/* a reserved slab only with @reserved, and the other way round */
	KUNIT_EXPECT_EQ(test, odx_mdc_remap(c, 1, q, false, &freed), -EINVAL);
	KUNIT_EXPECT_EQ(test, odx_mdc_remap(c, 1, p, true, &freed), -EINVAL);
	KUNIT_ASSERT_EQ(test, odx_mdc_remap(c, 1, q, true, &freed), 0);
	KUNIT_EXPECT_EQ(test, freed, ODX_UNMAPPED);
	KUNIT_EXPECT_EQ(test, odx_mdc_lookup(c, 0), p);
	KUNIT_EXPECT_EQ(test, odx_mdc_lookup(c, 1), q);
	KUNIT_EXPECT_EQ(test, odx_mdc_refcount(c, p), 1);
	KUNIT_EXPECT_EQ(test, odx_mdc_refcount(c, q), 1);
	/* q is not reserved any more */
	KUNIT_EXPECT_EQ(test, odx_mdc_unreserve(c, q), -EINVAL);
	odx_mdc_counts(c, &n);
	KUNIT_EXPECT_EQ(test, n.used, 2);
	KUNIT_EXPECT_EQ(test, n.shared, 0);
	KUNIT_EXPECT_EQ(test, n.free, 8);
}

static void odx_mdc_test_remap_errors(struct kunit *test)
{
	struct odx_mdc *c = odx_test_core(test, 10, 10);
	u32 p, freed;

	p = odx_test_map(test, c, 0);
	/* a free slab, out of range on either side */
	KUNIT_EXPECT_EQ(test, odx_mdc_remap(c, 1, p + 1, false, &freed),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, odx_mdc_remap(c, 10, p, false, &freed), -EINVAL);
	KUNIT_EXPECT_EQ(test, odx_mdc_remap(c, 1, 10, false, &freed), -EINVAL);
	/* a full reference count */
	c->refcounts[p] = U16_MAX;
	KUNIT_EXPECT_EQ(test, odx_mdc_remap(c, 1, p, false, &freed), -EMLINK);
	KUNIT_EXPECT_EQ(test, odx_mdc_lookup(c, 1), ODX_UNMAPPED);
	c->refcounts[p] = 1;
	/* pins: only a slab in use, unpin only a pinned one */
	KUNIT_EXPECT_EQ(test, odx_mdc_pin(c, p + 1), -EINVAL);
	KUNIT_EXPECT_EQ(test, odx_mdc_pin(c, 10), -EINVAL);
	KUNIT_EXPECT_EQ(test, odx_mdc_unpin(c, p, &freed), -EINVAL);
}

/* A pinned slab whose last mapping goes is kept until its last unpin. */
static void odx_mdc_test_pin_orphan(struct kunit *test)
{
	struct odx_mdc *c = odx_test_core(test, 10, 10);
	struct odx_mdc_counts n;
	u32 p, freed;

	p = odx_test_map(test, c, 0);
	KUNIT_ASSERT_EQ(test, odx_mdc_pin(c, p), 0);
	KUNIT_ASSERT_EQ(test, odx_mdc_pin(c, p), 0);
	KUNIT_EXPECT_TRUE(test, odx_mdc_must_copy(c, p));
	KUNIT_ASSERT_EQ(test, odx_mdc_remove(c, 0, &freed), 0);
	KUNIT_EXPECT_EQ(test, freed, ODX_UNMAPPED);
	odx_mdc_counts(c, &n);
	KUNIT_EXPECT_EQ(test, n.used, 0);
	KUNIT_EXPECT_EQ(test, n.pinned, 1);
	KUNIT_EXPECT_EQ(test, n.orphans, 1);
	KUNIT_EXPECT_EQ(test, n.free, 9);
	KUNIT_EXPECT_EQ(test, n.pending_free, 0);
	/* a token's data remapped elsewhere: the orphan is in use again */
	KUNIT_ASSERT_EQ(test, odx_mdc_remap(c, 4, p, false, &freed), 0);
	odx_mdc_counts(c, &n);
	KUNIT_EXPECT_EQ(test, n.used, 1);
	KUNIT_EXPECT_EQ(test, n.orphans, 0);
	KUNIT_ASSERT_EQ(test, odx_mdc_remove(c, 4, &freed), 0);
	KUNIT_EXPECT_EQ(test, freed, ODX_UNMAPPED);
	/* two pins: the first unpin keeps it, the last frees it */
	KUNIT_ASSERT_EQ(test, odx_mdc_unpin(c, p, &freed), 0);
	KUNIT_EXPECT_EQ(test, freed, ODX_UNMAPPED);
	KUNIT_EXPECT_TRUE(test, odx_mdc_must_copy(c, p));
	KUNIT_ASSERT_EQ(test, odx_mdc_unpin(c, p, &freed), 0);
	KUNIT_EXPECT_EQ(test, freed, p);
	KUNIT_EXPECT_FALSE(test, odx_mdc_must_copy(c, p));
	odx_mdc_counts(c, &n);
	KUNIT_EXPECT_EQ(test, n.pinned, 0);
	KUNIT_EXPECT_EQ(test, n.orphans, 0);
	KUNIT_EXPECT_EQ(test, n.pending_free, 1);
	odx_mdc_committed(c);
	odx_mdc_release_freed(c);
	odx_mdc_counts(c, &n);
	KUNIT_EXPECT_EQ(test, n.free, 10);
}

/* Unpinning a slab still in use frees nothing. */
static void odx_mdc_test_pin_in_use(struct kunit *test)
{
	struct odx_mdc *c = odx_test_core(test, 10, 10);
	struct odx_mdc_counts n;
	u32 p, freed;

	p = odx_test_map(test, c, 3);
	KUNIT_ASSERT_EQ(test, odx_mdc_pin(c, p), 0);
	KUNIT_ASSERT_EQ(test, odx_mdc_unpin(c, p, &freed), 0);
	KUNIT_EXPECT_EQ(test, freed, ODX_UNMAPPED);
	KUNIT_EXPECT_FALSE(test, odx_mdc_must_copy(c, p));
	odx_mdc_counts(c, &n);
	KUNIT_EXPECT_EQ(test, n.used, 1);
	KUNIT_EXPECT_EQ(test, n.pending_free, 0);
	KUNIT_ASSERT_EQ(test, odx_mdc_grow(c, 20, 20), 0);
	KUNIT_ASSERT_EQ(test, odx_mdc_pin(c, p), 0);
	/* the pin survives growing */
	KUNIT_ASSERT_EQ(test, odx_mdc_grow(c, 30, 30), 0);
	KUNIT_EXPECT_TRUE(test, odx_mdc_must_copy(c, p));
	KUNIT_ASSERT_EQ(test, odx_mdc_unpin(c, p, &freed), 0);
}

static struct kunit_case odx_metadata_cases[] = {
	KUNIT_CASE(odx_mdc_test_init),
	KUNIT_CASE(odx_mdc_test_reserve),
	KUNIT_CASE(odx_mdc_test_reserve_words),
	KUNIT_CASE(odx_mdc_test_insert_remove),
	KUNIT_CASE(odx_mdc_test_dirty_order),
	KUNIT_CASE(odx_mdc_test_freed),
	KUNIT_CASE(odx_mdc_test_freed_all),
	KUNIT_CASE(odx_mdc_test_encode_load),
	KUNIT_CASE(odx_mdc_test_shared),
	KUNIT_CASE(odx_mdc_test_recount),
	KUNIT_CASE(odx_mdc_test_grow),
	KUNIT_CASE(odx_mdc_test_journal),
	KUNIT_CASE(odx_mdc_test_remap_link),
	KUNIT_CASE(odx_mdc_test_remap_cow),
	KUNIT_CASE(odx_mdc_test_remap_errors),
	KUNIT_CASE(odx_mdc_test_pin_orphan),
	KUNIT_CASE(odx_mdc_test_pin_in_use),
	{}
};

static struct kunit_suite odx_metadata_suite = {
	.name = "dm-odx-metadata",
	.test_cases = odx_metadata_cases,
};

kunit_test_suite(odx_metadata_suite);
