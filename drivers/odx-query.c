// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-odx: query arithmetic (see odx-query.h).
 */
#include <linux/errno.h>
#include <linux/math64.h>
#include <linux/minmax.h>
#include <linux/overflow.h>

#include "odx-query.h"

int odx_q_check_range(u64 offset, u64 length, u32 lbs, u64 size)
{
	u64 end;

	if ((offset | length) & (lbs - 1))
		return -EINVAL;
	if (check_add_overflow(offset, length, &end))
		return -EOVERFLOW;
	if (end > size)
		return -ERANGE;
	return 0;
}

void odx_q_bitmap_adjust(u64 offset, u64 length, u64 slab_bytes, u64 size,
			 struct odx_q_bitmap_span *span)
{
	u64 rem = offset & (slab_bytes - 1);
	u64 start = offset, end = offset + length;

	span->delta = rem ? slab_bytes - rem : 0;
	span->first = 0;
	span->nr = 0;
	if (length <= span->delta) {
		/* nothing left after moving to the boundary */
		if (!length)
			span->delta = 0;
		return;
	}
	start += span->delta;
	span->first = div64_u64(start, slab_bytes);
	if (end >= size)
		span->nr = div64_u64(size - start + slab_bytes - 1, slab_bytes);
	else
		span->nr = div64_u64(end - start, slab_bytes);
}

void odx_q_ranges_init(struct odx_q_ranges *b, u64 start, u64 end)
{
	b->start = start;
	b->end = end;
	b->pending = false;
}

bool odx_q_ranges_feed(struct odx_q_ranges *b, u64 run_start, u64 run_end,
		       u64 *out_start, u64 *out_end)
{
	run_start = max(run_start, b->start);
	run_end = min(run_end, b->end);
	if (run_start >= run_end)
		return false;
	if (b->pending && run_start == b->pend_end) {
		b->pend_end = run_end;
		return false;
	}
	if (b->pending) {
		*out_start = b->pend_start;
		*out_end = b->pend_end;
	}
	b->pend_start = run_start;
	b->pend_end = run_end;
	if (!b->pending) {
		b->pending = true;
		return false;
	}
	return true;
}

bool odx_q_ranges_finish(struct odx_q_ranges *b, u64 *out_start,
			 u64 *out_end)
{
	if (!b->pending)
		return false;
	*out_start = b->pend_start;
	*out_end = b->pend_end;
	b->pending = false;
	return true;
}
