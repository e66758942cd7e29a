/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dm-odx: the arithmetic of the control device's queries, without any
 * device: checking a byte range of a request, adjusting a bitmap query to
 * whole slabs (the rules of DEVICE_DATA_SET_LB_PROVISIONING_STATE), and
 * turning runs of mapped slabs into clipped, merged byte ranges
 * (FSCTL_QUERY_ALLOCATED_RANGES). drivers/odx-control.c uses it; KUnit
 * drives it directly.
 */
#ifndef DM_ODX_QUERY_H
#define DM_ODX_QUERY_H

#include <linux/types.h>

/*
 * Check [offset, offset + length) of a volume of @size bytes whose
 * logical block size is @lbs (a power of two): -EINVAL if offset or
 * length is not a multiple of @lbs, -EOVERFLOW if the end overflows,
 * -ERANGE if it lies past @size, else 0. A zero length is valid.
 */
int odx_q_check_range(u64 offset, u64 length, u32 lbs, u64 size);

/*
 * A bitmap query adjusted to slabs: the start moves up to the next slab
 * boundary (@delta bytes later), the rest is cut to whole slabs, except
 * that a range ending at the end of the volume keeps its last slab even
 * if the volume ends inside it. @first is the first slab, @nr the number
 * of slabs (bits).
 */
struct odx_q_bitmap_span {
	u64 first;
	u64 nr;
	u64 delta;
};

void odx_q_bitmap_adjust(u64 offset, u64 length, u64 slab_bytes, u64 size,
			 struct odx_q_bitmap_span *span);

/*
 * Builds the allocated ranges of a query [start, end): feed it the runs of
 * mapped slabs as byte ranges in ascending order; each is clipped to the
 * query, and a run that starts where the pending one ends extends it.
 * odx_q_ranges_feed() returns true when the run it was given completed
 * the pending range, which it then stores in @out; odx_q_ranges_finish()
 * returns the last one.
 */
struct odx_q_ranges {
	u64 start, end;			/* the query */
	u64 pend_start, pend_end;	/* the range being built */
	bool pending;
};

void odx_q_ranges_init(struct odx_q_ranges *b, u64 start, u64 end);
bool odx_q_ranges_feed(struct odx_q_ranges *b, u64 run_start, u64 run_end,
		       u64 *out_start, u64 *out_end);
bool odx_q_ranges_finish(struct odx_q_ranges *b, u64 *out_start,
			 u64 *out_end);

/* Words of a bitmap of @bits bits in 32-bit words: bits / 32 rounded up. */
static inline u64 odx_q_bitmap_words(u64 bits)
{
	return bits / 32 + (bits % 32 ? 1 : 0);
}

#endif
