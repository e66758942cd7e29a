/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dm-odx: the metadata layer.
 *
 * It owns the metadata device: formats it on first activation, validates
 * and recovers it (journal replay), keeps the slab map and the reference
 * counts in memory, and commits changes with the protocol described at
 * the top of include/dm-odx-format.h, doing its I/O through dm-bufio.
 *
 * One struct odx_metadata exists per metadata device and is shared by
 * every table instance using it (a table reload constructs the new
 * instance while the old one is still live): odx_md_get() finds or opens
 * it, odx_md_put() drops a reference and closes it with the last one.
 *
 * Concurrency:
 *  - odx_md_lookup() is lockless and may be called from map() in any
 *    context: the in-memory map entries are read with READ_ONCE().
 *  - odx_md_stats() may be called from any process context (status).
 *  - Every other call is serialised by the caller: the target's single
 *    worker thread (process context, may sleep).
 *
 * Data before metadata: the target calls odx_md_insert() only after the
 * data the new mapping points to (zeroing, the write) has completed, so
 * any commit, including one odx_md_insert() starts itself when the open
 * transaction is full, finds that data complete; the commit flushes the
 * data device before its commit point.
 *
 * Slab reuse: a slab whose last reference goes in transaction T is not
 * handed out before T is committed and the target has released it with
 * odx_md_release_freed(), after making sure no bio still in flight can
 * touch it and after passing discards down.
 */
#ifndef DM_ODX_METADATA_H
#define DM_ODX_METADATA_H

#include <linux/blk_types.h>
#include <linux/types.h>

struct block_device;
struct mapped_device;
struct odx_metadata;

/* A map entry of an unmapped virtual slab; equal to ODX_UNMAPPED on disk */
#define ODX_MD_UNMAPPED	0xffffffffU

struct odx_md_config {
	/*
	 * The mapped device whose table this is: a metadata device serves
	 * one mapped device (its reloads share it), never two at once.
	 */
	struct mapped_device *owner;
	struct block_device *meta_bdev;
	struct block_device *data_bdev;	/* flushed by every commit */
	u32 slab_sectors;
	u64 data_slabs;			/* whole slabs on the data device */
	sector_t virtual_sectors;	/* the table length */
	bool read_only;			/* never write the metadata device */
};

struct odx_md_stats {
	u64 txn_id;
	u64 meta_used_blocks;
	u64 meta_total_blocks;
	u64 used_slabs;		/* reference count > 0 */
	u64 data_slabs;
	u64 shared_slabs;	/* reference count > 1 */
	u64 free_slabs;		/* allocatable now */
	u64 pinned_slabs;	/* pinned by offload tokens */
	u64 orphan_slabs;	/* pinned, no longer mapped */
	bool needs_check;	/* the superblock flag */
	bool failed;		/* metadata I/O or validation failed: read-only */
};

/*
 * Find the metadata object of cfg->meta_bdev or open it: an all-zero
 * superblock area is formatted, otherwise the superblock is validated
 * against @cfg (magic, checksum, version, slab size, sizes) and the last
 * committed transaction's journal replayed. A data device or virtual size
 * larger than recorded is picked up by odx_md_resize(), not here; one
 * smaller than recorded is refused. On failure returns an ERR_PTR and
 * sets *error to a short text for ti->error; the kernel log has the
 * details.
 */
struct odx_metadata *odx_md_get(const struct odx_md_config *cfg, char **error);
void odx_md_put(struct odx_metadata *md);
/* A read_only table is resumed: from now on nothing is written. */
void odx_md_set_read_only(struct odx_metadata *md);

/* Lockless: the physical slab mapped at @vslab, or ODX_MD_UNMAPPED. */
u32 odx_md_lookup(struct odx_metadata *md, u64 vslab);

/*
 * Bits 0 .. @nr - 1 of @mapped (and of @shared, if not NULL) say whether
 * virtual slab @first + i is mapped (shared: its physical slab has more
 * than one reference). Takes the metadata lock for the call only: callers
 * walking a large range go in pieces of a few thousand slabs.
 */
void odx_md_slab_bits(struct odx_metadata *md, u64 first, unsigned int nr,
		      unsigned long *mapped, unsigned long *shared);

/* Grow the data device and/or the virtual size (on resume after reload). */
int odx_md_resize(struct odx_metadata *md, u64 data_slabs,
		  sector_t virtual_sectors);

/*
 * Reserve a free slab for a new mapping. The reservation lives in memory
 * only (a crash forgets it); it ends with odx_md_insert() or
 * odx_md_unreserve(). -ENOSPC when no slab is free.
 */
int odx_md_reserve(struct odx_metadata *md, u32 *pslab);
void odx_md_unreserve(struct odx_metadata *md, u32 pslab);

/*
 * Map @vslab (which must be unmapped) to the reserved slab @pslab with a
 * reference count of one, in the open transaction; commits first if the
 * transaction is full. Errors: -EIO (the metadata failed: it is now
 * read-only and needs a check), -EROFS (read-only).
 */
int odx_md_insert(struct odx_metadata *md, u64 vslab, u32 pslab);

/*
 * Unmap @vslab in the open transaction and drop the reference it held;
 * *@freed is the physical slab if that was its last reference, else
 * ODX_MD_UNMAPPED. Unmapping an unmapped slab is a no-op.
 */
int odx_md_remove(struct odx_metadata *md, u64 vslab, u32 *freed);

/*
 * Point @vslab at @pslab in the open transaction, in place of whatever it
 * pointed at, whose reference is dropped (*@freed as odx_md_remove()).
 * @reserved: @pslab was reserved and gets its first reference (copy on
 * write); else it is in use (or a pinned orphan) and gains one (a copy by
 * remapping: -EMLINK when its count is full). The two changes are one
 * transaction. Errors as odx_md_insert().
 */
int odx_md_remap(struct odx_metadata *md, u64 vslab, u32 pslab,
		 bool reserved, u32 *freed);

/*
 * Pins, for offload tokens, in memory only: a pinned slab is never
 * written in place nor freed (see odx-md-core.h). odx_md_pin() needs a
 * slab in use or already pinned (-EINVAL); the last odx_md_unpin() of an
 * unreferenced slab frees it (reusable after the next commit).
 */
int odx_md_pin(struct odx_metadata *md, u32 pslab);
void odx_md_unpin(struct odx_metadata *md, u32 pslab);

/* Lockless, from map(): must a write to @pslab copy it first? */
bool odx_md_must_copy(struct odx_metadata *md, u32 pslab);

/* Does the open transaction hold any change? */
bool odx_md_dirty(struct odx_metadata *md);

/*
 * Commit the open transaction (nothing happens when it is clean). When it
 * returns 0 every change made before the call is durable, and so is every
 * write to the data device completed before the call.
 */
int odx_md_commit(struct odx_metadata *md);

/*
 * Slabs freed by committed transactions and not released yet: whether
 * there are any; calls @fn for each run of adjacent slabs, with the
 * metadata lock held (@fn must not call back into odx_md_*()); then
 * odx_md_release_freed() makes them all allocatable. Only a commit adds
 * to them.
 */
bool odx_md_has_freed(struct odx_metadata *md);
void odx_md_freed_runs(struct odx_metadata *md,
		       void (*fn)(void *ctx, u32 first, u32 count), void *ctx);
void odx_md_release_freed(struct odx_metadata *md);

void odx_md_stats(struct odx_metadata *md, struct odx_md_stats *st);

/* The volume's identity: the uuid set when the metadata was formatted. */
void odx_md_uuid(struct odx_metadata *md, u8 uuid[16]);

/* Mark the metadata failed and, if possible, set needs_check on disk. */
void odx_md_fail(struct odx_metadata *md, const char *why);

#endif
