/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dm-odx: the in-memory half of the metadata layer, without any I/O.
 *
 * struct odx_mdc holds the slab map, the reference counts and the state
 * the allocator and the commit need (which blocks the open transaction
 * dirtied, which slabs it freed). drivers/odx-metadata.c wraps it with
 * the metadata device; KUnit drives it directly.
 *
 * Concurrency: odx_mdc_lookup() is lockless (RCU for the map array, which
 * odx_mdc_grow() replaces; READ_ONCE() on the entries) and
 * odx_mdc_counts() takes only the counters' spinlock; every other call
 * must be serialised by the caller.
 */
#ifndef DM_ODX_MD_CORE_H
#define DM_ODX_MD_CORE_H

#include <linux/bitops.h>
#include <linux/rcupdate.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/xarray.h>

/* The map array, replaced as a whole (under RCU) when the volume grows. */
struct odx_mdc_map {
	u64 nr;			/* virtual slabs */
	u32 e[];		/* physical slab, or ODX_UNMAPPED */
};

struct odx_mdc {
	struct odx_mdc_map __rcu *map;
	u16 *refcounts;			/* by physical slab */
	/*
	 * Per physical slab: busy = not allocatable (reference count > 0,
	 * reserved, or freed and not released yet); the allocator looks for
	 * a clear bit. reserved, freed (by the open transaction) and cfreed
	 * (freed by a committed transaction, not released) say why.
	 */
	unsigned long *busy, *reserved, *freed, *cfreed;
	/*
	 * Per physical slab: pinned by an offload token (in memory only:
	 * tokens do not survive a restart). A pinned slab is never written
	 * in place (writes copy it first) and never freed: one whose last
	 * reference goes stays busy (an orphan) until its last pin goes.
	 * The bit is read locklessly by the bio path; pins holds the
	 * count of each pinned slab.
	 */
	unsigned long *pinned;
	struct xarray pins;
	/* Blocks the open transaction changed, by index in their area. */
	unsigned long *dirty_rc, *dirty_map;
	u64 data_slabs, virtual_slabs;
	u64 rc_blocks, map_blocks;	/* blocks covering those */
	u64 cursor;			/* next-fit allocator position */
	unsigned int nr_dirty;		/* bits set in dirty_rc + dirty_map */
	u64 nr_freed, nr_cfreed;
	u64 nr_pinned, nr_orphans;	/* pinned slabs; pinned, unreferenced */

	spinlock_t lock;		/* the counters below */
	u64 used, shared, nr_busy;
};

struct odx_mdc_counts {
	u64 data_slabs;
	u64 virtual_slabs;
	u64 used;		/* reference count > 0 */
	u64 shared;		/* reference count > 1 */
	u64 free;		/* allocatable now */
	u64 pending_free;	/* freed, not released yet */
	u64 pinned;		/* pinned by tokens */
	u64 orphans;		/* pinned and no longer referenced */
};

/* A metadata block of the refcount or map area, by index in its area. */
struct odx_mdc_blk {
	bool map;
	u64 index;
};

int odx_mdc_init(struct odx_mdc *c, u64 data_slabs, u64 virtual_slabs);
void odx_mdc_destroy(struct odx_mdc *c);
/* Grow to these sizes (never shrinks); the new part is unmapped/free. */
int odx_mdc_grow(struct odx_mdc *c, u64 data_slabs, u64 virtual_slabs);

u32 odx_mdc_lookup(struct odx_mdc *c, u64 vslab);
u16 odx_mdc_refcount(struct odx_mdc *c, u32 pslab);

int odx_mdc_reserve(struct odx_mdc *c, u32 *pslab);
int odx_mdc_unreserve(struct odx_mdc *c, u32 pslab);

/* Blocks the operation would newly dirty (0, 1 or 2). */
unsigned int odx_mdc_insert_cost(struct odx_mdc *c, u64 vslab, u32 pslab);
unsigned int odx_mdc_remove_cost(struct odx_mdc *c, u64 vslab);
int odx_mdc_insert(struct odx_mdc *c, u64 vslab, u32 pslab);
int odx_mdc_remove(struct odx_mdc *c, u64 vslab, u32 *freed);

/*
 * Point @vslab at @pslab, whatever it pointed at before (that reference
 * is dropped as odx_mdc_remove() drops it, *@freed says if it was the
 * last): with @reserved, @pslab is a reserved slab that gets its first
 * reference (a copy on write); otherwise it is a slab in use, or a pinned
 * orphan, that gains one (a copy by remapping). Errors: -EINVAL (out of
 * range, or @pslab neither reserved nor in use), -EMLINK (@pslab has the
 * most references a count holds), -EUCLEAN (the arrays disagree).
 */
int odx_mdc_remap(struct odx_mdc *c, u64 vslab, u32 pslab, bool reserved,
		  u32 *freed);
/* Blocks odx_mdc_remap() would newly dirty, at most. */
unsigned int odx_mdc_remap_cost(struct odx_mdc *c, u64 vslab, u32 pslab);

/*
 * Pin a slab in use (or already pinned); unpin it. The last unpin of an
 * orphan frees it in the open transaction (*@freed = @pslab, else
 * ODX_UNMAPPED). Errors: -EINVAL (out of range, not in use), -ENOMEM.
 */
int odx_mdc_pin(struct odx_mdc *c, u32 pslab);
int odx_mdc_unpin(struct odx_mdc *c, u32 pslab, u32 *freed);

/*
 * Lockless, from the bio path: must a write to @pslab copy it first
 * (shared, or pinned)? The arrays are only replaced (odx_mdc_grow())
 * while no bio is mapped: on resume.
 */
static inline bool odx_mdc_must_copy(struct odx_mdc *c, u32 pslab)
{
	return test_bit(pslab, c->pinned) ||
	       READ_ONCE(c->refcounts[pslab]) > 1;
}

/* The open transaction's dirty blocks, refcount area first, ascending. */
unsigned int odx_mdc_dirty_blocks(struct odx_mdc *c, struct odx_mdc_blk *out,
				  unsigned int max);
/* The open transaction committed: its freed slabs become cfreed. */
void odx_mdc_committed(struct odx_mdc *c);
/* Mark a block dirty (the whole block is rewritten by the next commit). */
void odx_mdc_mark_dirty(struct odx_mdc *c, const struct odx_mdc_blk *b);

void odx_mdc_freed_runs(struct odx_mdc *c,
			void (*fn)(void *ctx, u32 first, u32 count),
			void *ctx);
void odx_mdc_release_freed(struct odx_mdc *c);

/* Block contents: the entries part of a map or refcount block. */
void odx_mdc_encode(struct odx_mdc *c, const struct odx_mdc_blk *b,
		    void *block);
/* Load a block (validated by the format helpers) into the arrays. */
void odx_mdc_load(struct odx_mdc *c, const struct odx_mdc_blk *b,
		  const void *block);
/*
 * After loading: check that every reference count equals the number of
 * map entries pointing at the slab, and derive the counters.
 */
int odx_mdc_recount(struct odx_mdc *c, const char **err);

void odx_mdc_counts(struct odx_mdc *c, struct odx_mdc_counts *out);

#endif
