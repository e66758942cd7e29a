// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-odx: the metadata layer (interface and contract: odx-metadata.h).
 *
 * Commit protocol: a redo journal, as described at the top of
 * include/dm-odx-format.h. Why a journal and not shadow paging (dm-thin's
 * persistent-data btrees): the map and the reference counts are flat
 * arrays at fixed places, so an update is "rewrite these few blocks",
 * which a journal of whole blocks does with two sequential writes and no
 * space management of its own (no shadow allocation, no free-space map of
 * the metadata device that can itself run out or leak). Metadata space
 * therefore never runs out while the volume runs: it is all laid out at
 * format time. The price is a bounded transaction (ODX_JOURNAL_MAX_ENTRIES
 * blocks): odx_md_insert() and odx_md_remove() commit first when the open
 * transaction cannot take the blocks they may dirty.
 *
 * In memory: the whole slab map (a u32 per virtual slab) and all reference
 * counts (a u16 per physical slab) live in memory (kvmalloc), plus four
 * bits per physical slab for the allocator and one per metadata block for
 * dirty tracking: about 4 bytes per virtual slab + 2.5 bytes per physical
 * slab. A 16 TiB volume at 64 KiB slabs (2^28 slabs on both sides) needs
 * 1 GiB + 640 MiB; at 1 MiB slabs, 104 MiB. (A later issue may page them.)
 * Changes are made to these arrays only; a commit encodes each dirty block
 * from them, first into the journal, then, after the commit point, into
 * its home location through dm-bufio. Nothing else ever dirties a bufio
 * buffer of a home block, so bufio's own writeback can only write
 * committed contents.
 *
 * The superblock slots are never cached by dm-bufio: they are read and
 * written with plain bios (the commit point is one REQ_PREFLUSH | REQ_FUA
 * write), everything else goes through dm-bufio.
 *
 * read_only: nothing is written. An unformatted device is refused; a
 * journal that needs replay is replayed into memory only (the blocks it
 * names are read from the journal instead of their home), so a read-only
 * activation after a crash sees the committed state and leaves the disk
 * as it was. A later read-write table on the same metadata device (a
 * reload) replays it to disk. A superblock with needs_check set activates,
 * but refuses changes (-EROFS) until the flag is cleared by a check.
 *
 * The in-memory part without I/O (map, reference counts, allocator,
 * dirty tracking: struct odx_mdc) is in the first half of this file; KUnit
 * drives it through odx-md-core.h.
 */
#include <linux/bio.h>
#include <linux/bitmap.h>
#include <linux/blkdev.h>
#include <linux/bsearch.h>
#include <linux/device-mapper.h>
#include <linux/dm-bufio.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/math64.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/random.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uuid.h>
#include <linux/vmalloc.h>

#include "dm-odx-format.h"
#include "odx-md-core.h"
#include "odx-metadata.h"

#define DM_MSG_PREFIX "odx"

static_assert(ODX_MD_UNMAPPED == ODX_UNMAPPED, "unmapped on disk and in memory");

/* ---- in-memory core --------------------------------------------------------- */

static void *odx_mdc_zalloc(size_t size)
{
	/* kvmalloc() refuses more than INT_MAX bytes */
	if (size > INT_MAX)
		return vzalloc(size);
	return kvzalloc(size, GFP_KERNEL | __GFP_NOWARN);
}

static unsigned long *odx_mdc_bitmap(u64 bits)
{
	return odx_mdc_zalloc(BITS_TO_LONGS(bits) * sizeof(unsigned long));
}

static size_t odx_mdc_bitmap_bytes(u64 bits)
{
	return BITS_TO_LONGS(bits) * sizeof(unsigned long);
}

static struct odx_mdc_map *odx_mdc_map_alloc(u64 nr)
{
	struct odx_mdc_map *m = odx_mdc_zalloc(struct_size(m, e, nr));

	if (!m)
		return NULL;
	m->nr = nr;
	memset(m->e, 0xff, nr * sizeof(m->e[0]));	/* ODX_UNMAPPED */
	return m;
}

static struct odx_mdc_map *odx_mdc_map(struct odx_mdc *c)
{
	/* the writers are serialised by the caller */
	return rcu_dereference_protected(c->map, true);
}

static void odx_mdc_free_arrays(struct odx_mdc *c)
{
	kvfree(rcu_dereference_protected(c->map, true));
	RCU_INIT_POINTER(c->map, NULL);
	kvfree(c->refcounts);
	kvfree(c->busy);
	kvfree(c->reserved);
	kvfree(c->freed);
	kvfree(c->cfreed);
	kvfree(c->pinned);
	kvfree(c->dirty_rc);
	kvfree(c->dirty_map);
	c->refcounts = NULL;
	c->busy = NULL;
	c->reserved = NULL;
	c->freed = NULL;
	c->cfreed = NULL;
	c->pinned = NULL;
	c->dirty_rc = NULL;
	c->dirty_map = NULL;
}

/* Allocate every array of @c for these sizes, all free and unmapped. */
static int odx_mdc_alloc_arrays(struct odx_mdc *c, u64 data_slabs,
				u64 virtual_slabs)
{
	struct odx_mdc_map *m;

	if (!data_slabs || data_slabs > ODX_MAX_SLABS ||
	    !virtual_slabs || virtual_slabs > ODX_MAX_SLABS)
		return -EINVAL;
	m = odx_mdc_map_alloc(virtual_slabs);
	RCU_INIT_POINTER(c->map, m);
	c->refcounts = odx_mdc_zalloc(data_slabs * sizeof(u16));
	c->busy = odx_mdc_bitmap(data_slabs);
	c->reserved = odx_mdc_bitmap(data_slabs);
	c->freed = odx_mdc_bitmap(data_slabs);
	c->cfreed = odx_mdc_bitmap(data_slabs);
	c->pinned = odx_mdc_bitmap(data_slabs);
	c->rc_blocks = odx_refcount_blocks_for(data_slabs);
	c->map_blocks = odx_map_blocks_for(virtual_slabs);
	c->dirty_rc = odx_mdc_bitmap(c->rc_blocks);
	c->dirty_map = odx_mdc_bitmap(c->map_blocks);
	if (!m || !c->refcounts || !c->busy || !c->reserved || !c->freed ||
	    !c->cfreed || !c->pinned || !c->dirty_rc || !c->dirty_map) {
		odx_mdc_free_arrays(c);
		return -ENOMEM;
	}
	c->data_slabs = data_slabs;
	c->virtual_slabs = virtual_slabs;
	return 0;
}

int odx_mdc_init(struct odx_mdc *c, u64 data_slabs, u64 virtual_slabs)
{
	memset(c, 0, sizeof(*c));
	spin_lock_init(&c->lock);
	xa_init(&c->pins);
	return odx_mdc_alloc_arrays(c, data_slabs, virtual_slabs);
}

void odx_mdc_destroy(struct odx_mdc *c)
{
	/* pins are the tokens': every one is gone by now */
	WARN_ON_ONCE(!xa_empty(&c->pins));
	xa_destroy(&c->pins);
	odx_mdc_free_arrays(c);
}

int odx_mdc_grow(struct odx_mdc *c, u64 data_slabs, u64 virtual_slabs)
{
	struct odx_mdc_map *old = odx_mdc_map(c), *m;
	struct odx_mdc n = { };
	int r;

	if (data_slabs < c->data_slabs || virtual_slabs < c->virtual_slabs)
		return -EINVAL;
	if (data_slabs == c->data_slabs && virtual_slabs == c->virtual_slabs)
		return 0;
	r = odx_mdc_alloc_arrays(&n, data_slabs, virtual_slabs);
	if (r)
		return r;

	m = odx_mdc_map(&n);
	memcpy(m->e, old->e, old->nr * sizeof(old->e[0]));
	memcpy(n.refcounts, c->refcounts, c->data_slabs * sizeof(u16));
	memcpy(n.busy, c->busy, odx_mdc_bitmap_bytes(c->data_slabs));
	memcpy(n.reserved, c->reserved, odx_mdc_bitmap_bytes(c->data_slabs));
	memcpy(n.freed, c->freed, odx_mdc_bitmap_bytes(c->data_slabs));
	memcpy(n.cfreed, c->cfreed, odx_mdc_bitmap_bytes(c->data_slabs));
	memcpy(n.pinned, c->pinned, odx_mdc_bitmap_bytes(c->data_slabs));
	memcpy(n.dirty_rc, c->dirty_rc, odx_mdc_bitmap_bytes(c->rc_blocks));
	memcpy(n.dirty_map, c->dirty_map,
	       odx_mdc_bitmap_bytes(c->map_blocks));

	/* lookups may still be reading the old map: swap it under RCU */
	rcu_assign_pointer(c->map, m);
	RCU_INIT_POINTER(n.map, old);
	swap(c->refcounts, n.refcounts);
	swap(c->busy, n.busy);
	swap(c->reserved, n.reserved);
	swap(c->freed, n.freed);
	swap(c->cfreed, n.cfreed);
	swap(c->pinned, n.pinned);
	swap(c->dirty_rc, n.dirty_rc);
	swap(c->dirty_map, n.dirty_map);
	c->rc_blocks = n.rc_blocks;
	c->map_blocks = n.map_blocks;
	spin_lock(&c->lock);
	c->data_slabs = data_slabs;
	c->virtual_slabs = virtual_slabs;
	spin_unlock(&c->lock);

	synchronize_rcu();
	odx_mdc_free_arrays(&n);
	return 0;
}

u32 odx_mdc_lookup(struct odx_mdc *c, u64 vslab)
{
	struct odx_mdc_map *m;
	u32 p = ODX_UNMAPPED;

	rcu_read_lock();
	m = rcu_dereference(c->map);
	if (likely(vslab < m->nr))
		p = READ_ONCE(m->e[vslab]);
	rcu_read_unlock();
	return p;
}

u16 odx_mdc_refcount(struct odx_mdc *c, u32 pslab)
{
	return pslab < c->data_slabs ? c->refcounts[pslab] : 0;
}

int odx_mdc_reserve(struct odx_mdc *c, u32 *pslab)
{
	unsigned long n = c->data_slabs;
	unsigned long start = c->cursor < n ? c->cursor : 0;
	unsigned long p;

	/* next fit: O(1) amortised, and recently freed slabs rest a while */
	p = find_next_zero_bit(c->busy, n, start);
	if (p >= n) {
		p = find_next_zero_bit(c->busy, start, 0);
		if (p >= start)
			return -ENOSPC;
	}
	__set_bit(p, c->busy);
	__set_bit(p, c->reserved);
	c->cursor = p + 1 < n ? p + 1 : 0;
	spin_lock(&c->lock);
	c->nr_busy++;
	spin_unlock(&c->lock);
	*pslab = p;
	return 0;
}

int odx_mdc_unreserve(struct odx_mdc *c, u32 pslab)
{
	if (pslab >= c->data_slabs || !test_bit(pslab, c->reserved))
		return -EINVAL;
	__clear_bit(pslab, c->reserved);
	__clear_bit(pslab, c->busy);
	spin_lock(&c->lock);
	c->nr_busy--;
	spin_unlock(&c->lock);
	return 0;
}

static u64 odx_mdc_map_index(u64 vslab)
{
	return div_u64(vslab, ODX_MAP_ENTRIES_PER_BLOCK);
}

static u64 odx_mdc_rc_index(u32 pslab)
{
	return pslab / ODX_REFCOUNTS_PER_BLOCK;
}

static void odx_mdc_dirty(struct odx_mdc *c, unsigned long *bm, u64 index)
{
	if (!__test_and_set_bit(index, bm))
		WRITE_ONCE(c->nr_dirty, c->nr_dirty + 1);
}

void odx_mdc_mark_dirty(struct odx_mdc *c, const struct odx_mdc_blk *b)
{
	if (b->map) {
		if (b->index < c->map_blocks)
			odx_mdc_dirty(c, c->dirty_map, b->index);
	} else if (b->index < c->rc_blocks) {
		odx_mdc_dirty(c, c->dirty_rc, b->index);
	}
}

unsigned int odx_mdc_insert_cost(struct odx_mdc *c, u64 vslab, u32 pslab)
{
	unsigned int cost = 0;

	if (vslab < c->virtual_slabs &&
	    !test_bit(odx_mdc_map_index(vslab), c->dirty_map))
		cost++;
	if (pslab < c->data_slabs &&
	    !test_bit(odx_mdc_rc_index(pslab), c->dirty_rc))
		cost++;
	return cost;
}

unsigned int odx_mdc_remove_cost(struct odx_mdc *c, u64 vslab)
{
	u32 p;

	if (vslab >= c->virtual_slabs)
		return 0;
	p = odx_mdc_map(c)->e[vslab];
	if (p == ODX_UNMAPPED)
		return 0;
	return odx_mdc_insert_cost(c, vslab, p);
}

int odx_mdc_insert(struct odx_mdc *c, u64 vslab, u32 pslab)
{
	struct odx_mdc_map *m = odx_mdc_map(c);

	if (vslab >= c->virtual_slabs || pslab >= c->data_slabs ||
	    !test_bit(pslab, c->reserved) || c->refcounts[pslab])
		return -EINVAL;
	if (m->e[vslab] != ODX_UNMAPPED)
		return -EEXIST;
	__clear_bit(pslab, c->reserved);
	c->refcounts[pslab] = 1;
	WRITE_ONCE(m->e[vslab], pslab);
	odx_mdc_dirty(c, c->dirty_map, odx_mdc_map_index(vslab));
	odx_mdc_dirty(c, c->dirty_rc, odx_mdc_rc_index(pslab));
	spin_lock(&c->lock);
	c->used++;
	spin_unlock(&c->lock);
	return 0;
}

/*
 * @p lost a reference and has @rc left: the last one frees it (busy
 * until the transaction is committed and the slab released), unless a
 * token pins it, which makes it an orphan until its last unpin.
 */
static void odx_mdc_dropped(struct odx_mdc *c, u32 p, u16 rc, u32 *freed)
{
	bool orphan = !rc && test_bit(p, c->pinned);

	if (!rc && !orphan)
		__set_bit(p, c->freed);
	spin_lock(&c->lock);
	if (rc == 1)
		c->shared--;
	if (!rc) {
		c->used--;
		if (orphan)
			c->nr_orphans++;
		else
			c->nr_freed++;
	}
	spin_unlock(&c->lock);
	if (!rc && !orphan)
		*freed = p;
}

int odx_mdc_remove(struct odx_mdc *c, u64 vslab, u32 *freed)
{
	struct odx_mdc_map *m = odx_mdc_map(c);
	u16 rc;
	u32 p;

	*freed = ODX_UNMAPPED;
	if (vslab >= c->virtual_slabs)
		return -EINVAL;
	p = m->e[vslab];
	if (p == ODX_UNMAPPED)
		return 0;
	if (p >= c->data_slabs || !c->refcounts[p])
		return -EUCLEAN;	/* the arrays disagree: a bug */
	WRITE_ONCE(m->e[vslab], ODX_UNMAPPED);
	rc = --c->refcounts[p];
	odx_mdc_dirty(c, c->dirty_map, odx_mdc_map_index(vslab));
	odx_mdc_dirty(c, c->dirty_rc, odx_mdc_rc_index(p));
	odx_mdc_dropped(c, p, rc, freed);
	return 0;
}

static int odx_mdc_check_remap(struct odx_mdc *c, u64 vslab, u32 pslab,
			       bool reserved)
{
	if (vslab >= c->virtual_slabs || pslab >= c->data_slabs)
		return -EINVAL;
	if (reserved)
		return test_bit(pslab, c->reserved) && !c->refcounts[pslab] ?
			0 : -EINVAL;
	if (!c->refcounts[pslab] && !test_bit(pslab, c->pinned))
		return -EINVAL;
	return c->refcounts[pslab] == U16_MAX ? -EMLINK : 0;
}

unsigned int odx_mdc_remap_cost(struct odx_mdc *c, u64 vslab, u32 pslab)
{
	return odx_mdc_remove_cost(c, vslab) +
	       odx_mdc_insert_cost(c, vslab, pslab);
}

int odx_mdc_remap(struct odx_mdc *c, u64 vslab, u32 pslab, bool reserved,
		  u32 *freed)
{
	struct odx_mdc_map *m = odx_mdc_map(c);
	u32 old;
	u16 rc;
	int r;

	*freed = ODX_UNMAPPED;
	r = odx_mdc_check_remap(c, vslab, pslab, reserved);
	if (r)
		return r;
	old = m->e[vslab];
	if (old == pslab)
		return 0;
	if (old != ODX_UNMAPPED && (old >= c->data_slabs ||
				    !c->refcounts[old]))
		return -EUCLEAN;

	/* the new reference first: @pslab may be an orphan @old pins */
	if (reserved)
		__clear_bit(pslab, c->reserved);
	rc = ++c->refcounts[pslab];
	WRITE_ONCE(m->e[vslab], pslab);
	odx_mdc_dirty(c, c->dirty_map, odx_mdc_map_index(vslab));
	odx_mdc_dirty(c, c->dirty_rc, odx_mdc_rc_index(pslab));
	spin_lock(&c->lock);
	if (rc == 1) {
		c->used++;
		if (!reserved)
			c->nr_orphans--;	/* a pinned orphan in use again */
	} else if (rc == 2) {
		c->shared++;
	}
	spin_unlock(&c->lock);

	if (old == ODX_UNMAPPED)
		return 0;
	rc = --c->refcounts[old];
	odx_mdc_dirty(c, c->dirty_rc, odx_mdc_rc_index(old));
	odx_mdc_dropped(c, old, rc, freed);
	return 0;
}

int odx_mdc_pin(struct odx_mdc *c, u32 pslab)
{
	unsigned long n = 0;
	void *old;

	if (pslab >= c->data_slabs)
		return -EINVAL;
	if (test_bit(pslab, c->pinned))
		n = xa_to_value(xa_load(&c->pins, pslab));
	else if (!c->refcounts[pslab])
		return -EINVAL;
	old = xa_store(&c->pins, pslab, xa_mk_value(n + 1), GFP_NOIO);
	if (xa_is_err(old))
		return xa_err(old);
	if (!n) {
		/* before any write can see it: the bio path reads it */
		set_bit(pslab, c->pinned);
		spin_lock(&c->lock);
		c->nr_pinned++;
		spin_unlock(&c->lock);
	}
	return 0;
}

int odx_mdc_unpin(struct odx_mdc *c, u32 pslab, u32 *freed)
{
	unsigned long n;

	*freed = ODX_UNMAPPED;
	if (pslab >= c->data_slabs || !test_bit(pslab, c->pinned))
		return -EINVAL;
	n = xa_to_value(xa_load(&c->pins, pslab));
	if (n > 1) {
		/* replacing an existing entry allocates nothing */
		xa_store(&c->pins, pslab, xa_mk_value(n - 1), GFP_NOIO);
		return 0;
	}
	xa_erase(&c->pins, pslab);
	clear_bit(pslab, c->pinned);
	spin_lock(&c->lock);
	c->nr_pinned--;
	if (!c->refcounts[pslab]) {
		/* an orphan: freed now, reusable after the next commit */
		c->nr_orphans--;
		c->nr_freed++;
	}
	spin_unlock(&c->lock);
	if (!c->refcounts[pslab]) {
		__set_bit(pslab, c->freed);
		*freed = pslab;
	}
	return 0;
}

unsigned int odx_mdc_dirty_blocks(struct odx_mdc *c, struct odx_mdc_blk *out,
				  unsigned int max)
{
	unsigned int n = 0;
	unsigned long i;

	/* the refcount area comes before the map area on disk */
	for_each_set_bit(i, c->dirty_rc, c->rc_blocks) {
		if (n == max)
			return n;
		out[n].map = false;
		out[n++].index = i;
	}
	for_each_set_bit(i, c->dirty_map, c->map_blocks) {
		if (n == max)
			return n;
		out[n].map = true;
		out[n++].index = i;
	}
	return n;
}

void odx_mdc_committed(struct odx_mdc *c)
{
	if (c->nr_freed) {
		bitmap_or(c->cfreed, c->cfreed, c->freed, c->data_slabs);
		bitmap_zero(c->freed, c->data_slabs);
		spin_lock(&c->lock);
		c->nr_cfreed += c->nr_freed;
		c->nr_freed = 0;
		spin_unlock(&c->lock);
	}
	if (c->nr_dirty) {
		bitmap_zero(c->dirty_rc, c->rc_blocks);
		bitmap_zero(c->dirty_map, c->map_blocks);
		WRITE_ONCE(c->nr_dirty, 0);
	}
}

void odx_mdc_freed_runs(struct odx_mdc *c,
			void (*fn)(void *ctx, u32 first, u32 count),
			void *ctx)
{
	unsigned long n = c->data_slabs, p, e;

	if (!c->nr_cfreed)
		return;
	for (p = find_first_bit(c->cfreed, n); p < n;
	     p = find_next_bit(c->cfreed, n, e)) {
		e = find_next_zero_bit(c->cfreed, n, p);
		fn(ctx, p, e - p);
	}
}

void odx_mdc_release_freed(struct odx_mdc *c)
{
	if (!c->nr_cfreed)
		return;
	bitmap_andnot(c->busy, c->busy, c->cfreed, c->data_slabs);
	bitmap_zero(c->cfreed, c->data_slabs);
	spin_lock(&c->lock);
	c->nr_busy -= c->nr_cfreed;
	c->nr_cfreed = 0;
	spin_unlock(&c->lock);
}

void odx_mdc_encode(struct odx_mdc *c, const struct odx_mdc_blk *b,
		    void *block)
{
	unsigned int i;
	u64 first;

	if (b->map) {
		struct odx_map_block *mb = block;
		const struct odx_mdc_map *m = odx_mdc_map(c);

		memset(&mb->hdr, 0, sizeof(mb->hdr));
		first = b->index * ODX_MAP_ENTRIES_PER_BLOCK;
		for (i = 0; i < ODX_MAP_ENTRIES_PER_BLOCK; i++)
			mb->entries[i] = cpu_to_le32(first + i < m->nr ?
						     m->e[first + i] :
						     ODX_UNMAPPED);
	} else {
		struct odx_refcount_block *rb = block;

		memset(&rb->hdr, 0, sizeof(rb->hdr));
		first = b->index * ODX_REFCOUNTS_PER_BLOCK;
		for (i = 0; i < ODX_REFCOUNTS_PER_BLOCK; i++)
			rb->counts[i] = cpu_to_le16(first + i < c->data_slabs ?
						    c->refcounts[first + i] :
						    0);
	}
}

void odx_mdc_load(struct odx_mdc *c, const struct odx_mdc_blk *b,
		  const void *block)
{
	unsigned int i;
	u64 first;

	if (b->map) {
		const struct odx_map_block *mb = block;
		struct odx_mdc_map *m = odx_mdc_map(c);

		first = b->index * ODX_MAP_ENTRIES_PER_BLOCK;
		for (i = 0; i < ODX_MAP_ENTRIES_PER_BLOCK &&
			    first + i < m->nr; i++)
			WRITE_ONCE(m->e[first + i],
				   le32_to_cpu(mb->entries[i]));
	} else {
		const struct odx_refcount_block *rb = block;

		first = b->index * ODX_REFCOUNTS_PER_BLOCK;
		for (i = 0; i < ODX_REFCOUNTS_PER_BLOCK &&
			    first + i < c->data_slabs; i++)
			c->refcounts[first + i] = le16_to_cpu(rb->counts[i]);
	}
}

int odx_mdc_recount(struct odx_mdc *c, const char **err)
{
	struct odx_mdc_map *m = odx_mdc_map(c);
	u64 v, p, used = 0, shared = 0;
	int r = 0;

	/*
	 * Every reference is a map entry (v1): take each entry's reference
	 * off a count, then all counts must be zero; put them back after.
	 */
	for (v = 0; v < m->nr; v++) {
		p = m->e[v];
		if (p == ODX_UNMAPPED)
			continue;
		if (p >= c->data_slabs) {
			*err = "map entry beyond the data device";
			r = -EINVAL;
			break;
		}
		if (!c->refcounts[p]) {
			*err = "slab mapped more often than its reference count says";
			r = -EINVAL;
			break;
		}
		c->refcounts[p]--;
	}
	if (!r && memchr_inv(c->refcounts, 0, c->data_slabs * sizeof(u16))) {
		*err = "reference count above the number of map entries";
		r = -EINVAL;
	}
	while (v--) {
		p = m->e[v];
		if (p != ODX_UNMAPPED)
			c->refcounts[p]++;
	}
	if (r)
		return r;

	bitmap_zero(c->busy, c->data_slabs);
	for (p = 0; p < c->data_slabs; p++) {
		if (!c->refcounts[p])
			continue;
		__set_bit(p, c->busy);
		used++;
		if (c->refcounts[p] > 1)
			shared++;
	}
	spin_lock(&c->lock);
	c->used = used;
	c->shared = shared;
	c->nr_busy = used;
	spin_unlock(&c->lock);
	return 0;
}

void odx_mdc_counts(struct odx_mdc *c, struct odx_mdc_counts *out)
{
	spin_lock(&c->lock);
	out->data_slabs = c->data_slabs;
	out->virtual_slabs = c->virtual_slabs;
	out->used = c->used;
	out->shared = c->shared;
	out->free = c->data_slabs - c->nr_busy;
	out->pending_free = c->nr_freed + c->nr_cfreed;
	out->pinned = c->nr_pinned;
	out->orphans = c->nr_orphans;
	spin_unlock(&c->lock);
}

/* ---- the metadata device ---------------------------------------------------- */

struct odx_metadata {
	struct list_head list;		/* on odx_md_table */
	struct kref ref;		/* table instances using it */
	/* whose tables these are: the only mapped device that may share it */
	struct mapped_device *owner;
	dev_t meta_dev;
	struct block_device *meta_bdev;
	struct block_device *data_bdev;
	u32 slab_sectors;

	/* serialises everything but odx_md_lookup() and odx_md_stats() */
	struct mutex lock;
	struct dm_bufio_client *bufio;
	struct page *sb_page;		/* superblock I/O, never in bufio */
	struct odx_sb sb;		/* the last committed superblock */
	u64 txn_id;			/* sb.txn_id, for odx_md_stats() */
	sector_t virtual_sectors;	/* current: the next commit records it */
	struct odx_mdc core;
	struct odx_mdc_blk *dirty;	/* commit scratch */

	/* a journal replayed into memory only (read-only activation) */
	u32 *replay_targets;
	unsigned int replay_entries;
	u64 replay_start;		/* journal slot header */

	bool read_only;			/* never write the metadata device */
	bool needs_check;		/* no changes until checked */
	bool failed;			/* mutations fail with -EIO */
	bool io_failed;			/* a metadata write failed */
	bool home_incomplete;		/* a committed txn not all copied home */
	bool sb_dirty;			/* sizes changed: the next commit writes */
};

/* Metadata devices in use, keyed by meta_dev (see dm-thin's pool table). */
static LIST_HEAD(odx_md_table);
static DEFINE_MUTEX(odx_md_table_lock);

/* How many blocks to prefetch, write or forget at once. */
#define ODX_MD_BATCH	256U

static u64 odx_md_home(const struct odx_layout *l, const struct odx_mdc_blk *b)
{
	return (b->map ? l->map_start : l->refcount_start) + b->index;
}

static u32 odx_md_type(const struct odx_mdc_blk *b)
{
	return b->map ? ODX_BLOCK_MAP : ODX_BLOCK_REFCOUNT;
}

static bool odx_md_is_dirty(struct odx_metadata *md)
{
	return READ_ONCE(md->core.nr_dirty) || READ_ONCE(md->sb_dirty);
}

static int odx_md_sb_io(struct odx_metadata *md, unsigned int slot,
			blk_opf_t opf)
{
	struct bio_vec bv;
	struct bio bio;
	int r;

	bio_init(&bio, md->meta_bdev, &bv, 1, opf);
	bio.bi_iter.bi_sector = (sector_t)slot * ODX_SECTORS_PER_BLOCK;
	__bio_add_page(&bio, md->sb_page, ODX_BLOCK_SIZE, 0);
	r = submit_bio_wait(&bio);
	bio_uninit(&bio);
	return r;
}

/* The commit point: one write with REQ_PREFLUSH | REQ_FUA. */
static int odx_md_write_sb(struct odx_metadata *md, const struct odx_sb *sb)
{
	odx_sb_encode(page_address(md->sb_page), sb);
	return odx_md_sb_io(md, odx_txn_slot(sb->txn_id),
			    REQ_OP_WRITE | REQ_SYNC | REQ_META | REQ_PRIO |
			    REQ_PREFLUSH | REQ_FUA);
}

static void __odx_md_fail(struct odx_metadata *md, const char *why, bool io)
{
	struct odx_sb sb;
	int r;

	if (io)
		md->io_failed = true;
	if (md->failed)
		return;
	WRITE_ONCE(md->failed, true);
	WRITE_ONCE(md->needs_check, true);
	DMERR("%pg: metadata failed: %s; no more changes until it is checked",
	      md->meta_bdev, why);
	if (md->read_only || md->io_failed || md->home_incomplete)
		return;

	/*
	 * Record needs_check with an empty transaction on top of the last
	 * committed one: its home writes first, as any commit does (step
	 * 1); the changes of the open transaction are dropped.
	 */
	r = dm_bufio_write_dirty_buffers(md->bufio);
	if (!r) {
		sb = md->sb;
		sb.txn_id++;
		sb.journal_entries = 0;
		sb.flags |= ODX_SB_NEEDS_CHECK;
		r = odx_md_write_sb(md, &sb);
		if (!r) {
			md->sb = sb;
			WRITE_ONCE(md->txn_id, sb.txn_id);
		}
	}
	if (r) {
		md->io_failed = true;
		DMERR("%pg: cannot set needs_check in the superblock: error %d",
		      md->meta_bdev, r);
	}
}

static int odx_md_writable(struct odx_metadata *md)
{
	if (md->failed)
		return -EIO;
	if (md->read_only || md->needs_check)
		return -EROFS;
	return 0;
}

/* Encode block @b of the open transaction, ready for writing as @txn. */
static void odx_md_prepare(struct odx_metadata *md,
			   const struct odx_mdc_blk *b, void *data, u64 txn)
{
	odx_mdc_encode(&md->core, b, data);
	odx_block_prepare(data, odx_md_type(b),
			  odx_md_home(&md->sb.layout, b), txn);
}

static int __odx_md_commit(struct odx_metadata *md)
{
	const struct odx_layout *l = &md->sb.layout;
	struct odx_mdc_counts counts;
	struct dm_buffer *jb, *b;
	u64 txn = md->sb.txn_id + 1;
	u64 jstart = odx_journal_slot_start(l, odx_txn_slot(txn));
	struct odx_sb sb;
	const char *err;
	unsigned int n, i;
	void *jh, *data;
	int r;

	if (md->failed)
		return -EIO;
	if (!odx_md_is_dirty(md))
		return 0;
	if (md->read_only || md->needs_check)
		return -EROFS;

	/* 2. the dirty blocks into journal slot txn & 1, then its header */
	n = odx_mdc_dirty_blocks(&md->core, md->dirty,
				 ODX_JOURNAL_MAX_ENTRIES);
	if (WARN_ON_ONCE(n != md->core.nr_dirty)) {
		__odx_md_fail(md, "transaction larger than the journal", false);
		return -EIO;
	}
	if (n) {
		jh = dm_bufio_new(md->bufio, jstart, &jb);
		if (IS_ERR(jh)) {
			__odx_md_fail(md, "cannot get a journal buffer", true);
			return -EIO;
		}
		odx_journal_init(jh);
		for (i = 0; i < n; i++) {
			data = dm_bufio_new(md->bufio, jstart + 1 + i, &b);
			if (IS_ERR(data)) {
				dm_bufio_release(jb);
				__odx_md_fail(md, "cannot get a journal buffer",
					      true);
				return -EIO;
			}
			odx_md_prepare(md, &md->dirty[i], data, txn);
			r = odx_journal_add(jh, data, &err);
			dm_bufio_mark_buffer_dirty(b);
			dm_bufio_release(b);
			if (r) {
				dm_bufio_release(jb);
				__odx_md_fail(md, err, false);
				return -EIO;
			}
		}
		odx_journal_seal(jh, l, txn);
		dm_bufio_mark_buffer_dirty(jb);
		dm_bufio_release(jb);
	}

	/*
	 * 1 and 2. Write the journal and wait for it and for the home
	 * writes of the previous transaction (this also flushes).
	 */
	r = dm_bufio_write_dirty_buffers(md->bufio);
	if (r) {
		__odx_md_fail(md, "metadata write error", true);
		return -EIO;
	}
	if (n)
		dm_bufio_forget_buffers(md->bufio, jstart, n + 1);

	/* 3. the data this transaction maps */
	r = blkdev_issue_flush(md->data_bdev);
	if (r) {
		__odx_md_fail(md, "cannot flush the data device", false);
		return -EIO;
	}

	/* 4. the commit point */
	odx_mdc_counts(&md->core, &counts);
	sb = md->sb;
	sb.txn_id = txn;
	sb.journal_entries = n;
	sb.data_slabs = counts.data_slabs;
	sb.virtual_sectors = md->virtual_sectors;
	sb.used_slabs = counts.used;
	sb.shared_slabs = counts.shared;
	r = odx_md_write_sb(md, &sb);
	if (r) {
		__odx_md_fail(md, "superblock write error", true);
		return -EIO;
	}
	md->sb = sb;
	WRITE_ONCE(md->txn_id, txn);

	/* 5. home, written back by bufio; the next commit waits for it */
	md->home_incomplete = true;
	for (i = 0; i < n; i++) {
		data = dm_bufio_new(md->bufio, odx_md_home(l, &md->dirty[i]),
				    &b);
		if (IS_ERR(data)) {
			/* the journal has it: the next activation replays */
			__odx_md_fail(md, "cannot get a metadata buffer", true);
			return -EIO;
		}
		odx_md_prepare(md, &md->dirty[i], data, txn);
		dm_bufio_mark_buffer_dirty(b);
		dm_bufio_release(b);
	}
	md->home_incomplete = false;
	dm_bufio_write_dirty_buffers_async(md->bufio);

	odx_mdc_committed(&md->core);
	WRITE_ONCE(md->sb_dirty, false);
	return 0;
}

/*
 * Write initialised refcount (@map false) or map blocks @first .. @end - 1
 * home, stamped @txn, and wait for them.
 */
static int odx_md_init_blocks(struct odx_metadata *md, bool map, u64 first,
			      u64 end, u64 txn)
{
	struct odx_mdc_blk blk = { .map = map };
	u64 start = odx_md_home(&md->sb.layout, &blk);
	u64 batch = first;
	struct dm_buffer *b;
	void *data;
	int r;

	for (blk.index = first; blk.index < end; blk.index++) {
		data = dm_bufio_new(md->bufio, start + blk.index, &b);
		if (IS_ERR(data))
			return PTR_ERR(data);
		if (map)
			odx_map_block_init(data);
		else
			odx_refcount_block_init(data);
		odx_block_prepare(data, odx_md_type(&blk), start + blk.index,
				  txn);
		dm_bufio_mark_buffer_dirty(b);
		dm_bufio_release(b);
		if (blk.index + 1 - batch < ODX_MD_BATCH &&
		    blk.index + 1 < end)
			continue;
		r = dm_bufio_write_dirty_buffers(md->bufio);
		if (r)
			return r;
		dm_bufio_forget_buffers(md->bufio, start + batch,
					blk.index + 1 - batch);
		batch = blk.index + 1;
		cond_resched();
	}
	return 0;
}

static int odx_md_format(struct odx_metadata *md,
			 const struct odx_md_config *cfg, u64 meta_blocks,
			 char **error)
{
	struct odx_sb *sb = &md->sb;
	u64 vslabs, min_blocks = 0;
	int r;

	if (md->read_only) {
		DMERR("%pg: metadata device is not formatted, and a read_only table does not format it",
		      md->meta_bdev);
		*error = "metadata device is not formatted (read_only)";
		return -EINVAL;
	}
	if (!cfg->data_slabs) {
		DMERR("%pg: data device smaller than one slab", md->data_bdev);
		*error = "data device smaller than one slab";
		return -EINVAL;
	}
	vslabs = odx_div_up(cfg->virtual_sectors, cfg->slab_sectors);
	memset(sb, 0, sizeof(*sb));
	r = odx_layout_compute(meta_blocks, cfg->data_slabs, vslabs,
			       &sb->layout, &min_blocks);
	if (r == -ENOSPC) {
		DMERR("%pg: metadata device too small: %llu KiB; %llu data slabs and %llu virtual slabs need at least %llu KiB",
		      md->meta_bdev, meta_blocks * (ODX_BLOCK_SIZE >> 10),
		      cfg->data_slabs, vslabs,
		      min_blocks * (ODX_BLOCK_SIZE >> 10));
		*error = "metadata device too small (the kernel log says how large it must be)";
		return r;
	}
	if (r) {
		DMERR("%pg: volume too large for the metadata format: %llu data slabs, %llu virtual slabs, at most %llu each",
		      md->meta_bdev, cfg->data_slabs, vslabs, ODX_MAX_SLABS);
		*error = "volume too large for the metadata format";
		return r;
	}
	sb->txn_id = 0;
	sb->slab_sectors = cfg->slab_sectors;
	generate_random_uuid(sb->uuid);
	sb->data_slabs = cfg->data_slabs;
	sb->virtual_sectors = cfg->virtual_sectors;

	r = odx_mdc_init(&md->core, sb->data_slabs, vslabs);
	if (r) {
		DMERR("%pg: cannot allocate the in-memory map (%llu virtual slabs, %llu data slabs)",
		      md->meta_bdev, vslabs, sb->data_slabs);
		*error = "cannot allocate the in-memory slab map";
		return r;
	}

	r = odx_md_init_blocks(md, false, 0, md->core.rc_blocks, 0);
	if (!r)
		r = odx_md_init_blocks(md, true, 0, md->core.map_blocks, 0);
	if (!r)
		r = odx_md_write_sb(md, sb);
	if (r) {
		DMERR("%pg: cannot format the metadata device: error %d",
		      md->meta_bdev, r);
		*error = "cannot format the metadata device";
		return r;
	}
	DMINFO("formatted metadata device %pg: %llu KiB, slab size %u KiB, %llu data slabs (room for %llu), %llu virtual slabs (room for %llu)",
	       md->meta_bdev, meta_blocks * (ODX_BLOCK_SIZE >> 10),
	       cfg->slab_sectors >> 1, sb->data_slabs,
	       sb->layout.max_data_slabs, vslabs,
	       sb->layout.max_virtual_slabs);
	return 0;
}

static int odx_md_replay_cmp(const void *key, const void *elt)
{
	u32 a = *(const u32 *)key, b = *(const u32 *)elt;

	return a < b ? -1 : a > b;
}

/*
 * The committed superblock @sb names a journal: check it and, with
 * @to_disk, write it home (and flush); without, remember where its blocks
 * are so that loading reads them from the journal.
 */
static int odx_md_replay(struct odx_metadata *md, const struct odx_sb *sb,
			 bool to_disk, char **error)
{
	u64 jstart = odx_journal_slot_start(&sb->layout,
					    odx_txn_slot(sb->txn_id));
	unsigned int n = sb->journal_entries, i;
	struct dm_buffer *jb, *pb, *hb;
	const char *err = NULL;
	void *jh, *p, *h;
	int r = 0;

	jh = dm_bufio_read(md->bufio, jstart, &jb);
	if (IS_ERR(jh)) {
		DMERR("%pg: cannot read the journal: error %ld",
		      md->meta_bdev, PTR_ERR(jh));
		*error = "cannot read the metadata journal";
		return PTR_ERR(jh);
	}
	r = odx_journal_check(jh, sb, &err);
	/* every payload first: nothing goes home from a damaged journal */
	for (i = 0; !r && i < n; i++) {
		p = dm_bufio_read(md->bufio, jstart + 1 + i, &pb);
		if (IS_ERR(p)) {
			r = PTR_ERR(p);
			err = "cannot read the journal";
			break;
		}
		r = odx_journal_payload_check(p, jh, sb, i, &err);
		dm_bufio_release(pb);
	}
	for (i = 0; !r && to_disk && i < n; i++) {
		p = dm_bufio_read(md->bufio, jstart + 1 + i, &pb);
		if (IS_ERR(p)) {
			r = PTR_ERR(p);
			err = "cannot read the journal";
			break;
		}
		h = dm_bufio_new(md->bufio, odx_journal_target(jh, i), &hb);
		if (IS_ERR(h)) {
			dm_bufio_release(pb);
			r = PTR_ERR(h);
			err = "cannot get a metadata buffer";
			break;
		}
		memcpy(h, p, ODX_BLOCK_SIZE);
		dm_bufio_mark_buffer_dirty(hb);
		dm_bufio_release(hb);
		dm_bufio_release(pb);
	}
	if (!r && !to_disk) {
		kfree(md->replay_targets);
		md->replay_targets = kcalloc(n, sizeof(u32), GFP_KERNEL);
		if (!md->replay_targets) {
			r = -ENOMEM;
			err = "out of memory";
		}
		for (i = 0; !r && i < n; i++)
			md->replay_targets[i] = odx_journal_target(jh, i);
		md->replay_entries = r ? 0 : n;
		md->replay_start = jstart;
	}
	dm_bufio_release(jb);
	if (!r && to_disk) {
		r = dm_bufio_write_dirty_buffers(md->bufio);
		if (r)
			err = "cannot write the journal home";
	}
	if (r) {
		DMERR("%pg: journal of transaction %llu: %s (error %d)",
		      md->meta_bdev, sb->txn_id, err, r);
		*error = (char *)err;
		return r;
	}
	if (to_disk) {
		dm_bufio_forget_buffers(md->bufio, jstart, n + 1);
		DMINFO("%pg: replayed the journal of transaction %llu (%u blocks)",
		       md->meta_bdev, sb->txn_id, n);
	} else {
		DMINFO("%pg: journal of transaction %llu (%u blocks) replayed in memory only (read-only)",
		       md->meta_bdev, sb->txn_id, n);
	}
	return 0;
}

/* Where to read home block @home from: the journal replayed in memory? */
static u64 odx_md_load_source(struct odx_metadata *md, u64 home)
{
	u32 key = home;
	u32 *t;

	if (!md->replay_entries)
		return home;
	t = bsearch(&key, md->replay_targets, md->replay_entries, sizeof(u32),
		    odx_md_replay_cmp);
	return t ? md->replay_start + 1 + (t - md->replay_targets) : home;
}

/* Read, check and load every block of an area covering the sizes. */
static int odx_md_load_area(struct odx_metadata *md, bool map, char **error)
{
	const struct odx_sb *sb = &md->sb;
	struct odx_mdc_blk blk = { .map = map };
	u64 nr = map ? md->core.map_blocks : md->core.rc_blocks;
	u64 start = odx_md_home(&sb->layout, &blk), home, src;
	const char *err = NULL;
	struct dm_buffer *b;
	u32 used, shared;
	void *data;
	int r;

	for (blk.index = 0; blk.index < nr; blk.index++) {
		home = start + blk.index;
		if (!(blk.index % ODX_MD_BATCH)) {
			if (blk.index)
				dm_bufio_forget_buffers(md->bufio,
							home - ODX_MD_BATCH,
							ODX_MD_BATCH);
			dm_bufio_prefetch(md->bufio, home,
					  min_t(u64, nr - blk.index,
						ODX_MD_BATCH));
			cond_resched();
		}
		src = odx_md_load_source(md, home);
		data = dm_bufio_read(md->bufio, src, &b);
		if (IS_ERR(data)) {
			DMERR("%pg: cannot read metadata block %llu: error %ld",
			      md->meta_bdev, src, PTR_ERR(data));
			*error = "metadata read error";
			return PTR_ERR(data);
		}
		r = odx_block_check(data, odx_md_type(&blk), home, sb->txn_id,
				    &err);
		if (!r && map)
			r = odx_map_block_validate(data, blk.index,
						   md->core.virtual_slabs,
						   md->core.data_slabs, &err);
		else if (!r)
			r = odx_refcount_block_validate(data, blk.index,
							md->core.data_slabs,
							&used, &shared, &err);
		if (r >= 0)
			odx_mdc_load(&md->core, &blk, data);
		dm_bufio_release(b);
		if (r < 0) {
			DMERR("%pg: metadata block %llu: %s", md->meta_bdev,
			      src, err);
			*error = (char *)err;
			return r;
		}
	}
	dm_bufio_forget_buffers(md->bufio, start, nr);
	return 0;
}

/* Open a formatted volume whose committed superblock is @sb. */
static int odx_md_activate(struct odx_metadata *md,
			   const struct odx_md_config *cfg,
			   const struct odx_sb *sb, u64 meta_blocks,
			   char **error)
{
	struct odx_mdc_counts counts;
	const char *err = NULL;
	u64 data_slabs;
	int r;

	r = odx_sb_check_table(sb, cfg->slab_sectors, meta_blocks,
			       cfg->data_slabs * cfg->slab_sectors,
			       cfg->virtual_sectors, &data_slabs, &err);
	if (r) {
		DMERR("%pg: %s (table: slab size %u sectors, %llu data slabs, %llu sectors; metadata: slab size %u sectors, %llu data slabs, %llu sectors, %llu blocks)",
		      md->meta_bdev, err, cfg->slab_sectors, cfg->data_slabs,
		      (u64)cfg->virtual_sectors, sb->slab_sectors,
		      sb->data_slabs, sb->virtual_sectors,
		      sb->layout.meta_blocks);
		*error = (char *)err;
		return r;
	}
	if (odx_sb_read_only(sb) && !md->read_only) {
		DMERR("%pg: metadata has features this module can only read (ro_compat %#x): activate with read_only",
		      md->meta_bdev, sb->ro_compat);
		*error = "metadata can only be activated read_only";
		return -EROFS;
	}
	md->needs_check = sb->flags & ODX_SB_NEEDS_CHECK;
	if (md->needs_check)
		DMWARN("%pg: metadata needs a check (needs_check is set): no changes allowed",
		       md->meta_bdev);

	if (sb->journal_entries) {
		r = odx_md_replay(md, sb, !md->read_only && !md->needs_check,
				  error);
		if (r)
			return r;
	}
	md->sb = *sb;

	r = odx_mdc_init(&md->core, sb->data_slabs, odx_sb_virtual_slabs(sb));
	if (r) {
		DMERR("%pg: cannot allocate the in-memory map (%llu virtual slabs, %llu data slabs)",
		      md->meta_bdev, odx_sb_virtual_slabs(sb), sb->data_slabs);
		*error = "cannot allocate the in-memory slab map";
		return r;
	}
	r = odx_md_load_area(md, false, error);
	if (!r)
		r = odx_md_load_area(md, true, error);
	if (r)
		return r;
	r = odx_mdc_recount(&md->core, &err);
	if (r) {
		DMERR("%pg: %s", md->meta_bdev, err);
		*error = (char *)err;
		return r;
	}
	odx_mdc_counts(&md->core, &counts);
	if (counts.used != sb->used_slabs ||
	    counts.shared != sb->shared_slabs) {
		DMERR("%pg: superblock slab counts differ from the reference counts: used %llu/%llu, shared %llu/%llu",
		      md->meta_bdev, sb->used_slabs, counts.used,
		      sb->shared_slabs, counts.shared);
		*error = "superblock slab counts differ from the reference counts";
		return -EINVAL;
	}
	return 0;
}

static void odx_md_free(struct odx_metadata *md)
{
	if (!IS_ERR_OR_NULL(md->bufio))
		dm_bufio_client_destroy(md->bufio);
	odx_mdc_destroy(&md->core);
	if (md->sb_page)
		__free_page(md->sb_page);
	kvfree(md->dirty);
	kfree(md->replay_targets);
	kfree(md);
}

static struct odx_metadata *odx_md_open(const struct odx_md_config *cfg,
					char **error)
{
	const char *err0 = NULL, *err1 = NULL, *note = NULL, *err = NULL;
	struct odx_sb sb0, sb1;
	struct odx_metadata *md;
	u64 meta_blocks;
	int r0, r1, r;

	md = kzalloc(sizeof(*md), GFP_KERNEL);
	if (!md) {
		*error = "out of memory";
		return ERR_PTR(-ENOMEM);
	}
	INIT_LIST_HEAD(&md->list);
	kref_init(&md->ref);
	mutex_init(&md->lock);
	spin_lock_init(&md->core.lock);
	md->owner = cfg->owner;
	md->meta_dev = cfg->meta_bdev->bd_dev;
	md->meta_bdev = cfg->meta_bdev;
	md->data_bdev = cfg->data_bdev;
	md->slab_sectors = cfg->slab_sectors;
	md->read_only = cfg->read_only;

	md->sb_page = alloc_page(GFP_KERNEL);
	md->dirty = kvcalloc(ODX_JOURNAL_MAX_ENTRIES, sizeof(*md->dirty),
			     GFP_KERNEL);
	if (!md->sb_page || !md->dirty) {
		*error = "out of memory";
		r = -ENOMEM;
		goto bad;
	}
	/* the commit holds at most two buffers at once, replay three */
	md->bufio = dm_bufio_client_create(md->meta_bdev, ODX_BLOCK_SIZE, 4,
					   0, NULL, NULL, 0);
	if (IS_ERR(md->bufio)) {
		*error = "cannot create a dm-bufio client for the metadata";
		r = PTR_ERR(md->bufio);
		goto bad;
	}

	meta_blocks = bdev_nr_sectors(md->meta_bdev) >>
		      (ODX_BLOCK_SHIFT - SECTOR_SHIFT);
	if (meta_blocks < ODX_SB_SLOTS) {
		/* too small to hold a superblock; odx_md_format() says more */
		DMERR("%pg: metadata device too small: %llu KiB, it needs at least %llu KiB",
		      md->meta_bdev, meta_blocks * (ODX_BLOCK_SIZE >> 10),
		      (u64)(ODX_FIXED_BLOCKS + 2) * (ODX_BLOCK_SIZE >> 10));
		*error = "metadata device too small (the kernel log says how large it must be)";
		r = -ENOSPC;
		goto bad;
	}

	r0 = odx_md_sb_io(md, 0, REQ_OP_READ | REQ_META | REQ_PRIO);
	if (!r0)
		r0 = odx_sb_decode(page_address(md->sb_page), 0, &sb0, &err0);
	else
		err0 = "read error";
	r1 = odx_md_sb_io(md, 1, REQ_OP_READ | REQ_META | REQ_PRIO);
	if (!r1)
		r1 = odx_sb_decode(page_address(md->sb_page), 1, &sb1, &err1);
	else
		err1 = "read error";
	r = odx_sb_select(r0, &sb0, r1, &sb1, &note, &err);
	if (r == -ENODATA) {
		r = odx_md_format(md, cfg, meta_blocks, error);
	} else if (r < 0) {
		DMERR("%pg: %s (slot 0: %s; slot 1: %s)", md->meta_bdev, err,
		      err0 ?: "valid", err1 ?: "valid");
		*error = (char *)err;
	} else {
		if (note)
			DMWARN("%pg: %s (%s)", md->meta_bdev, note,
			       r ? err0 : err1);
		r = odx_md_activate(md, cfg, r ? &sb1 : &sb0, meta_blocks,
				    error);
	}
	if (r)
		goto bad;
	md->txn_id = md->sb.txn_id;
	md->virtual_sectors = md->sb.virtual_sectors;
	return md;

bad:
	odx_md_free(md);
	return ERR_PTR(r);
}

/*
 * Another table instance for an open metadata device: a reload of the
 * mapped device that holds it. Every table of one mapped device is
 * suspended before the next is resumed, so the two never run at once; a
 * table of any other mapped device is refused, as dm-thin refuses a
 * second pool on one metadata device (two workers and allocators over
 * one map would collide).
 */
static int odx_md_share(struct odx_metadata *md,
			const struct odx_md_config *cfg, char **error)
{
	struct odx_sb sb;
	const char *err;
	u64 data_slabs;
	int r = 0;

	if (cfg->owner != md->owner) {
		char name[DM_NAME_LEN];

		/* the owner lives as long as its tables, which hold @md */
		if (!md->owner || dm_copy_name_and_uuid(md->owner, name, NULL))
			strscpy(name, "(being removed)");
		DMERR("%pg: metadata device in use by mapped device %s (%s)",
		      md->meta_bdev, name,
		      md->owner ? dm_device_name(md->owner) : "-");
		*error = "metadata device is in use by another mapped device";
		return -EBUSY;
	}
	if (cfg->slab_sectors != md->slab_sectors) {
		DMERR("%pg: in use with a slab size of %u sectors, not %u",
		      md->meta_bdev, md->slab_sectors, cfg->slab_sectors);
		*error = "metadata device is in use by another odx volume with a different slab size";
		return -EBUSY;
	}
	if (cfg->data_bdev->bd_dev != md->data_bdev->bd_dev) {
		DMERR("%pg: in use with data device %pg, not %pg",
		      md->meta_bdev, md->data_bdev, cfg->data_bdev);
		*error = "metadata device is in use by another odx volume with a different data device";
		return -EBUSY;
	}

	mutex_lock(&md->lock);
	sb = md->sb;
	sb.data_slabs = md->core.data_slabs;
	sb.virtual_sectors = md->virtual_sectors;
	r = odx_sb_check_table(&sb, cfg->slab_sectors,
			       bdev_nr_sectors(md->meta_bdev) >>
			       (ODX_BLOCK_SHIFT - SECTOR_SHIFT),
			       cfg->data_slabs * cfg->slab_sectors,
			       cfg->virtual_sectors, &data_slabs, &err);
	if (r) {
		DMERR("%pg: %s (table: %llu data slabs, %llu sectors; in use: %llu data slabs, %llu sectors)",
		      md->meta_bdev, err, cfg->data_slabs,
		      (u64)cfg->virtual_sectors, sb.data_slabs,
		      sb.virtual_sectors);
		*error = (char *)err;
		goto out;
	}
	if (md->read_only && !cfg->read_only) {
		/* a read-write table: write what was kept in memory */
		if (odx_sb_read_only(&md->sb)) {
			DMERR("%pg: metadata has features this module can only read (ro_compat %#x): activate with read_only",
			      md->meta_bdev, md->sb.ro_compat);
			*error = "metadata can only be activated read_only";
			r = -EROFS;
			goto out;
		}
		md->read_only = false;
		if (md->replay_entries && !md->needs_check) {
			r = odx_md_replay(md, &md->sb, true, error);
			if (r) {
				md->read_only = true;
				goto out;
			}
			kfree(md->replay_targets);
			md->replay_targets = NULL;
			md->replay_entries = 0;
		}
	}
out:
	mutex_unlock(&md->lock);
	return r;
}

struct odx_metadata *odx_md_get(const struct odx_md_config *cfg, char **error)
{
	struct odx_metadata *md = NULL, *tmp;
	int r;

	mutex_lock(&odx_md_table_lock);
	list_for_each_entry(tmp, &odx_md_table, list) {
		if (tmp->meta_dev == cfg->meta_bdev->bd_dev) {
			md = tmp;
			break;
		}
	}
	if (md) {
		r = odx_md_share(md, cfg, error);
		if (r)
			md = ERR_PTR(r);
		else
			kref_get(&md->ref);
	} else {
		md = odx_md_open(cfg, error);
		if (!IS_ERR(md))
			list_add(&md->list, &odx_md_table);
	}
	mutex_unlock(&odx_md_table_lock);
	return md;
}

/*
 * Last reference: commit, then, once the home writes are on the disk, an
 * empty transaction, so that the next activation has no journal to
 * replay (a replay at activation then means a crash).
 */
static void odx_md_close(struct odx_metadata *md)
{
	struct odx_sb sb;
	int r;

	if (md->failed || md->read_only || md->needs_check ||
	    md->replay_entries)
		return;
	r = __odx_md_commit(md);
	if (!r)
		r = dm_bufio_write_dirty_buffers(md->bufio);
	if (!r && md->sb.journal_entries) {
		sb = md->sb;
		sb.txn_id++;
		sb.journal_entries = 0;
		r = odx_md_write_sb(md, &sb);
		if (!r)
			md->sb = sb;
	}
	if (r)
		DMERR("%pg: cannot close the metadata cleanly: error %d (the next activation replays the journal)",
		      md->meta_bdev, r);
}

/*
 * A read_only table takes over from a read-write one (on its resume: the
 * read-write table is suspended and has made its last commit): close the
 * read-write life as the last reference would (home blocks written, an
 * empty transaction), then write nothing more, not even on close. A later
 * read-write table makes it writable again (odx_md_share()).
 */
void odx_md_set_read_only(struct odx_metadata *md)
{
	mutex_lock(&md->lock);
	if (!md->read_only) {
		odx_md_close(md);
		md->read_only = true;
	}
	mutex_unlock(&md->lock);
}

static void odx_md_release(struct kref *ref)
{
	struct odx_metadata *md = container_of(ref, struct odx_metadata, ref);

	list_del(&md->list);
	mutex_lock(&md->lock);
	odx_md_close(md);
	mutex_unlock(&md->lock);
	odx_md_free(md);
}

void odx_md_put(struct odx_metadata *md)
{
	mutex_lock(&odx_md_table_lock);
	kref_put(&md->ref, odx_md_release);
	mutex_unlock(&odx_md_table_lock);
}

u32 odx_md_lookup(struct odx_metadata *md, u64 vslab)
{
	return odx_mdc_lookup(&md->core, vslab);
}

void odx_md_slab_bits(struct odx_metadata *md, u64 first, unsigned int nr,
		      unsigned long *mapped, unsigned long *shared)
{
	unsigned int i;
	u32 pslab;

	bitmap_zero(mapped, nr);
	if (shared)
		bitmap_zero(shared, nr);
	mutex_lock(&md->lock);
	for (i = 0; i < nr && first + i < md->core.virtual_slabs; i++) {
		pslab = odx_mdc_lookup(&md->core, first + i);
		if (pslab == ODX_UNMAPPED)
			continue;
		__set_bit(i, mapped);
		if (shared && odx_mdc_refcount(&md->core, pslab) > 1)
			__set_bit(i, shared);
	}
	mutex_unlock(&md->lock);
}

int odx_md_resize(struct odx_metadata *md, u64 data_slabs,
		  sector_t virtual_sectors)
{
	const struct odx_layout *l = &md->sb.layout;
	u64 vslabs = odx_div_up(virtual_sectors, md->slab_sectors);
	unsigned int noio;
	int r;

	mutex_lock(&md->lock);
	if (md->failed) {
		r = -EIO;
		goto out;
	}
	if (data_slabs > l->max_data_slabs) {
		if (data_slabs > md->core.data_slabs)
			DMWARN_LIMIT("%pg: the metadata has room for %llu data slabs; the rest of the data device is not used",
				     md->meta_bdev, l->max_data_slabs);
		data_slabs = l->max_data_slabs;
	}
	if (data_slabs < md->core.data_slabs ||
	    virtual_sectors < md->virtual_sectors) {
		DMERR("%pg: cannot shrink the volume", md->meta_bdev);
		r = -EINVAL;
		goto out;
	}
	if (vslabs > l->max_virtual_slabs) {
		DMERR("%pg: the metadata has room for %llu virtual slabs, not %llu",
		      md->meta_bdev, l->max_virtual_slabs, vslabs);
		r = -ENOSPC;
		goto out;
	}
	if (data_slabs == md->core.data_slabs &&
	    virtual_sectors == md->virtual_sectors) {
		r = 0;
		goto out;
	}
	r = odx_md_writable(md);
	if (r)
		goto out;

	/*
	 * The blocks newly covered lie beyond the recorded sizes, so no
	 * committed state reads them: write them home initialised before
	 * the superblock that records the new sizes.
	 */
	r = odx_md_init_blocks(md, false, md->core.rc_blocks,
			       odx_refcount_blocks_for(data_slabs),
			       md->sb.txn_id);
	if (!r)
		r = odx_md_init_blocks(md, true, md->core.map_blocks,
				       odx_map_blocks_for(vslabs),
				       md->sb.txn_id);
	if (r) {
		__odx_md_fail(md, "cannot initialise metadata blocks", true);
		r = -EIO;
		goto out;
	}
	/* the device may be suspended: no I/O from reclaim */
	noio = memalloc_noio_save();
	r = odx_mdc_grow(&md->core, data_slabs, vslabs);
	memalloc_noio_restore(noio);
	if (r) {
		DMERR("%pg: cannot grow the in-memory map to %llu virtual slabs and %llu data slabs",
		      md->meta_bdev, vslabs, data_slabs);
		goto out;
	}
	md->virtual_sectors = virtual_sectors;
	WRITE_ONCE(md->sb_dirty, true);
	r = __odx_md_commit(md);
	if (!r)
		DMINFO("%pg: volume grown to %llu data slabs, %llu virtual sectors",
		       md->meta_bdev, data_slabs, (u64)virtual_sectors);
out:
	mutex_unlock(&md->lock);
	return r;
}

int odx_md_reserve(struct odx_metadata *md, u32 *pslab)
{
	int r;

	mutex_lock(&md->lock);
	r = odx_md_writable(md);
	if (!r)
		r = odx_mdc_reserve(&md->core, pslab);
	mutex_unlock(&md->lock);
	return r;
}

void odx_md_unreserve(struct odx_metadata *md, u32 pslab)
{
	mutex_lock(&md->lock);
	WARN_ON_ONCE(odx_mdc_unreserve(&md->core, pslab));
	mutex_unlock(&md->lock);
}

/*
 * Before a change that may dirty @cost more blocks: the metadata must be
 * writable, and the open transaction is committed first if the change
 * would not fit in it. Under md->lock.
 */
static int odx_md_make_room(struct odx_metadata *md, unsigned int cost)
{
	int r = odx_md_writable(md);

	if (!r && md->core.nr_dirty + cost > ODX_JOURNAL_MAX_ENTRIES)
		r = __odx_md_commit(md);
	return r;
}

/* The in-memory arrays disagree (-EUCLEAN): a bug; the metadata fails. */
static int odx_md_unclean(struct odx_metadata *md, int r)
{
	if (r != -EUCLEAN)
		return r;
	__odx_md_fail(md, "a mapped slab has no reference", false);
	return -EIO;
}

int odx_md_insert(struct odx_metadata *md, u64 vslab, u32 pslab)
{
	int r;

	mutex_lock(&md->lock);
	r = odx_md_make_room(md, odx_mdc_insert_cost(&md->core, vslab, pslab));
	if (!r) {
		r = odx_mdc_insert(&md->core, vslab, pslab);
		if (r)
			DMERR("%pg: cannot map virtual slab %llu to slab %u: error %d",
			      md->meta_bdev, vslab, pslab, r);
	}
	mutex_unlock(&md->lock);
	return r;
}

int odx_md_remove(struct odx_metadata *md, u64 vslab, u32 *freed)
{
	int r;

	*freed = ODX_MD_UNMAPPED;
	mutex_lock(&md->lock);
	r = odx_md_make_room(md, odx_mdc_remove_cost(&md->core, vslab));
	if (!r)
		r = odx_md_unclean(md, odx_mdc_remove(&md->core, vslab, freed));
	mutex_unlock(&md->lock);
	return r;
}

int odx_md_remap(struct odx_metadata *md, u64 vslab, u32 pslab,
		 bool reserved, u32 *freed)
{
	int r;

	*freed = ODX_MD_UNMAPPED;
	mutex_lock(&md->lock);
	r = odx_md_make_room(md, odx_mdc_remap_cost(&md->core, vslab, pslab));
	/* one transaction: never a state with @vslab unmapped */
	if (!r)
		r = odx_md_unclean(md, odx_mdc_remap(&md->core, vslab, pslab,
						     reserved, freed));
	mutex_unlock(&md->lock);
	return r;
}

int odx_md_pin(struct odx_metadata *md, u32 pslab)
{
	int r;

	mutex_lock(&md->lock);
	r = odx_mdc_pin(&md->core, pslab);
	mutex_unlock(&md->lock);
	return r;
}

void odx_md_unpin(struct odx_metadata *md, u32 pslab)
{
	u32 freed;

	mutex_lock(&md->lock);
	WARN_ON_ONCE(odx_mdc_unpin(&md->core, pslab, &freed));
	/* a freed orphan is released by the next commit: make one due */
	if (freed != ODX_UNMAPPED)
		WRITE_ONCE(md->sb_dirty, true);
	mutex_unlock(&md->lock);
}

bool odx_md_must_copy(struct odx_metadata *md, u32 pslab)
{
	return odx_mdc_must_copy(&md->core, pslab);
}

bool odx_md_dirty(struct odx_metadata *md)
{
	return odx_md_is_dirty(md);
}

int odx_md_commit(struct odx_metadata *md)
{
	int r;

	mutex_lock(&md->lock);
	r = __odx_md_commit(md);
	mutex_unlock(&md->lock);
	return r;
}

bool odx_md_has_freed(struct odx_metadata *md)
{
	bool r;

	mutex_lock(&md->lock);
	r = md->core.nr_cfreed != 0;
	mutex_unlock(&md->lock);
	return r;
}

void odx_md_freed_runs(struct odx_metadata *md,
			      void (*fn)(void *ctx, u32 first, u32 count),
			      void *ctx)
{
	mutex_lock(&md->lock);
	odx_mdc_freed_runs(&md->core, fn, ctx);
	mutex_unlock(&md->lock);
}

void odx_md_release_freed(struct odx_metadata *md)
{
	mutex_lock(&md->lock);
	odx_mdc_release_freed(&md->core);
	mutex_unlock(&md->lock);
}

void odx_md_uuid(struct odx_metadata *md, u8 uuid[16])
{
	/* set by format or load, never changed while open */
	memcpy(uuid, md->sb.uuid, sizeof(md->sb.uuid));
}

void odx_md_stats(struct odx_metadata *md, struct odx_md_stats *st)
{
	struct odx_mdc_counts c;

	odx_mdc_counts(&md->core, &c);
	st->txn_id = READ_ONCE(md->txn_id);
	st->meta_used_blocks = odx_meta_used_blocks(c.data_slabs,
						    c.virtual_slabs);
	st->meta_total_blocks = md->sb.layout.meta_blocks;
	st->used_slabs = c.used;
	st->data_slabs = c.data_slabs;
	st->shared_slabs = c.shared;
	st->pinned_slabs = c.pinned;
	st->orphan_slabs = c.orphans;
	st->free_slabs = c.free;
	st->needs_check = READ_ONCE(md->needs_check);
	st->failed = READ_ONCE(md->failed);
}

void odx_md_fail(struct odx_metadata *md, const char *why)
{
	mutex_lock(&md->lock);
	__odx_md_fail(md, why, false);
	mutex_unlock(&md->lock);
}
