/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dm-odx: slab arithmetic.
 *
 * The virtual device and the data device are both cut into slabs of
 * 2^shift sectors. These helpers turn sector ranges into slab numbers and
 * split a range into a partial head, whole slabs and a partial tail (how
 * discard and write-zeroes treat a range).
 */
#ifndef DM_ODX_SLAB_H
#define DM_ODX_SLAB_H

#include <linux/blk_types.h>
#include <linux/math.h>

struct odx_geometry {
	u32 slab_sectors;	/* a power of two */
	unsigned int slab_shift;
};

static inline u64 odx_slab_of(const struct odx_geometry *g, sector_t s)
{
	return s >> g->slab_shift;
}

static inline sector_t odx_slab_start(const struct odx_geometry *g, u64 slab)
{
	return (sector_t)slab << g->slab_shift;
}

static inline sector_t odx_offset_in_slab(const struct odx_geometry *g,
					  sector_t s)
{
	return s & (g->slab_sectors - 1);
}

/* Number of slabs needed to hold @sectors (the last one may be partial). */
static inline u64 odx_slabs_for(const struct odx_geometry *g, sector_t sectors)
{
	return (sectors + g->slab_sectors - 1) >> g->slab_shift;
}

/* Number of whole slabs in @sectors. */
static inline u64 odx_whole_slabs(const struct odx_geometry *g,
				  sector_t sectors)
{
	return sectors >> g->slab_shift;
}

/*
 * [start, start + len) as a partial head, a run of whole slabs and a
 * partial tail. Any of the three may be empty; a range inside one slab
 * that covers it only partly is all head.
 */
struct odx_split {
	sector_t head_start, head_len;
	u64 first_slab, nr_slabs;
	sector_t tail_start, tail_len;
};

static inline void odx_split_range(const struct odx_geometry *g,
				   sector_t start, sector_t len,
				   struct odx_split *sp)
{
	sector_t end = start + len;
	sector_t first_whole = round_up(start, (sector_t)g->slab_sectors);
	sector_t last_whole = round_down(end, (sector_t)g->slab_sectors);

	*sp = (struct odx_split){ };
	if (!len)
		return;
	if (first_whole >= last_whole) {
		/* no whole slab inside: one piece, or two across a boundary */
		sp->head_start = start;
		sp->head_len = len;
		if (first_whole == last_whole && first_whole > start &&
		    first_whole < end) {
			sp->head_len = first_whole - start;
			sp->tail_start = first_whole;
			sp->tail_len = end - first_whole;
		}
		return;
	}
	sp->head_start = start;
	sp->head_len = first_whole - start;
	sp->first_slab = odx_slab_of(g, first_whole);
	sp->nr_slabs = odx_slab_of(g, last_whole) - sp->first_slab;
	sp->tail_start = last_whole;
	sp->tail_len = end - last_whole;
}

#endif
