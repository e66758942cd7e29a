// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-odx: the bio path.
 *
 * map() serves what it can at once, without a lock: a read or write of a
 * mapped slab is remapped to the data device, a read of an unmapped slab
 * is answered with zeros. Everything else goes to one worker per volume
 * (an ordered workqueue), which is also the only writer of the metadata:
 *
 *  - a write to an unmapped slab reserves a slab, has kcopyd zero it, and
 *    only then inserts the mapping and sends the write (and any other
 *    write that arrived for that slab meanwhile) on, so a mapping never
 *    points at data that was not written;
 *  - discard and write-zeroes unmap the whole slabs in their range and
 *    have kcopyd zero the partial ones that are mapped; a write-zeroes
 *    with REQ_NOUNMAP (fallocate -z, BLKZEROOUT) instead leaves every
 *    slab of its range mapped: it allocates the unmapped ones (zeroed as
 *    any new slab is) and has kcopyd zero the others in place, whole
 *    slabs included (REQ_OP_WRITE_ZEROES below, where the data device
 *    has it);
 *  - a flush, or a FUA write, while the metadata has changes not committed
 *    waits for a commit; one commit serves every flush waiting for it.
 *    The metadata is also committed about once a second when it changed,
 *    and on suspend.
 *
 * A bio that was remapped to a data slab holds io_srcu until it completes;
 * slabs freed by a commit are released for reuse only after a grace
 * period, so no bio that looked up the old mapping can still reach them.
 *
 * Change-vulnerable tokens are fenced the same way. Whatever changes the
 * data of a range (a write sent to its slab, a whole-slab write's mapping
 * inserted, a discard's unmapping and zeroing, a remap by the copy
 * engine) first revokes the change-vulnerable tokens over the range, and
 * holds io_srcu from before that check until the change is complete; a
 * new token is live before its maker waits for an io_srcu grace period
 * (odx_copy_populate()). So a change either is complete when the token is
 * handed out (the token's data includes it) or saw the token and revoked
 * it. The check is made where the change is made, not once in map(): a
 * write that waits in the worker (for a slab, for space, for a commit)
 * holds no io_srcu meanwhile, and is checked again when it goes on.
 */
#include <linux/dm-io.h>
#include <linux/dm-kcopyd.h>
#include <linux/jiffies.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "odx.h"

#define DM_MSG_PREFIX "odx"

static unsigned int no_space_timeout_secs = 60;
module_param_named(no_space_timeout, no_space_timeout_secs, uint, 0644);
MODULE_PARM_DESC(no_space_timeout,
		 "Seconds a write waits for the data device to grow before it fails with ENOSPC (0: wait for ever)");

#define ODX_COMMIT_PERIOD	HZ

static struct kmem_cache *odx_alloc_cache;
static struct kmem_cache *odx_zero_op_cache;

static inline struct odx_bio *odx_bio_data(struct bio *bio)
{
	return dm_per_bio_data(bio, sizeof(struct odx_bio));
}

static inline sector_t odx_vsector(struct odx_volume *vol, struct bio *bio)
{
	return dm_target_offset(vol->ti, bio->bi_iter.bi_sector);
}

/*
 * io_srcu is held from a bio's lookup to its completion, across contexts
 * (srcu_down_read()/srcu_up_read()); tell sparse the imbalance is meant.
 */
static int odx_hold_io(struct odx_volume *vol)
{
	int idx = srcu_down_read(&vol->io_srcu);

	__release(&vol->io_srcu);
	return idx;
}

static void odx_drop_io(struct odx_volume *vol, struct odx_bio *ob)
{
	if (ob->srcu_idx < 0)
		return;
	__acquire(&vol->io_srcu);
	srcu_up_read(&vol->io_srcu, ob->srcu_idx);
	ob->srcu_idx = -1;
}

static void odx_wake(struct odx_volume *vol)
{
	queue_work(vol->wq, &vol->worker);
}

static void odx_defer(struct odx_volume *vol, struct bio_list *list,
		      struct bio *bio)
{
	unsigned long flags;

	spin_lock_irqsave(&vol->lock, flags);
	bio_list_add(list, bio);
	spin_unlock_irqrestore(&vol->lock, flags);
	odx_wake(vol);
}

static bool odx_uncommitted(struct odx_volume *vol)
{
	/*
	 * The map entry was read before: pairs with the smp_wmb() in
	 * odx_mark_uncommitted().
	 */
	smp_rmb();
	return READ_ONCE(vol->uncommitted);
}

/* Before a metadata change becomes visible to map(). Worker only. */
static void odx_mark_uncommitted(struct odx_volume *vol)
{
	WRITE_ONCE(vol->uncommitted, true);
	/*
	 * A FUA write that sees the new mapping must see the flag too; pairs
	 * with the smp_rmb() in odx_uncommitted().
	 */
	smp_wmb();
}

static bool odx_writes_refused(struct odx_volume *vol)
{
	enum odx_mode mode = READ_ONCE(vol->mode);

	return mode == ODX_MODE_RO || mode == ODX_MODE_FAIL;
}

bool odx_io_writes_refused(struct odx_volume *vol)
{
	return odx_writes_refused(vol);
}

void odx_io_set_failed(struct odx_volume *vol, const char *why)
{
	if (READ_ONCE(vol->mode) == ODX_MODE_FAIL)
		return;
	DMERR("%s: %s: volume is now read-only and needs a check",
	      dm_table_device_name(vol->ti->table), why);
	WRITE_ONCE(vol->mode, ODX_MODE_FAIL);
	odx_md_fail(vol->md, why);
}

/*
 * A change to [@start, @start + @len) of the volume (bytes) revokes the
 * change-vulnerable tokens whose ranges it overlaps (nothing to do, at
 * the cost of one read, while there are none). The caller holds io_srcu
 * from before this until the change is complete: see the top of the
 * file. Point-in-time tokens are the copy engine's business: their slabs
 * are pinned.
 */
static void odx_tokens_change(struct odx_volume *vol, u64 start, u64 len)
{
	odx_token_invalidate_range(&vol->tokens, start, len);
}

static void odx_tokens_write(struct odx_volume *vol, struct bio *bio)
{
	odx_tokens_change(vol, (u64)odx_vsector(vol, bio) << SECTOR_SHIFT,
			  bio->bi_iter.bi_size);
}

/*
 * Look @bio's slab up and send it to the data device. Returns false, and
 * leaves the bio alone, if the slab is not mapped, or if the bio writes
 * and the slab must be copied first (shared, or pinned by a token).
 *
 * Why a write that passed that test cannot land in a slab after it became
 * shared or pinned: whatever makes a slab so (a copy by remapping, a
 * point-in-time token) waits for an io_srcu grace period before it goes
 * on, and this bio holds io_srcu from before its test to its completion.
 * A write revokes change-vulnerable tokens here, under io_srcu, every
 * time it is looked up: in map() (early, even if it then waits) and
 * again when the worker sends it on.
 */
static bool odx_remap(struct odx_volume *vol, struct bio *bio, u64 vslab)
{
	struct odx_bio *ob = odx_bio_data(bio);
	sector_t offset;
	u32 pslab;

	ob->srcu_idx = odx_hold_io(vol);
	if (op_is_write(bio_op(bio)))
		odx_tokens_write(vol, bio);
	pslab = odx_md_lookup(vol->md, vslab);
	if (pslab == ODX_MD_UNMAPPED ||
	    (op_is_write(bio_op(bio)) && odx_md_must_copy(vol->md, pslab))) {
		odx_drop_io(vol, ob);
		return false;
	}
	offset = odx_offset_in_slab(&vol->geo, odx_vsector(vol, bio));
	ob->sector = bio->bi_iter.bi_sector;
	bio_set_dev(bio, vol->data_dev->bdev);
	bio->bi_iter.bi_sector = odx_slab_start(&vol->geo, pslab) + offset;
	return true;
}

/*
 * Take back odx_remap() from a bio that waits after all (for a commit):
 * it is looked up again when it goes on.
 */
static void odx_unremap(struct odx_volume *vol, struct bio *bio)
{
	struct odx_bio *ob = odx_bio_data(bio);

	bio->bi_iter.bi_sector = ob->sector;
	odx_drop_io(vol, ob);
}

int odx_map(struct dm_target *ti, struct bio *bio)
{
	struct odx_volume *vol = ti->private;
	struct odx_bio *ob = odx_bio_data(bio);
	u64 vslab;

	ob->srcu_idx = -1;
	ob->alloc = NULL;
	ob->nospace_waited = false;

	if (bio->bi_opf & REQ_PREFLUSH) {
		/* device-mapper sends flushes as empty bios */
		if (odx_uncommitted(vol)) {
			odx_defer(vol, &vol->flushes, bio);
			return DM_MAPIO_SUBMITTED;
		}
		bio_set_dev(bio, vol->data_dev->bdev);
		return DM_MAPIO_REMAPPED;
	}

	switch (bio_op(bio)) {
	case REQ_OP_READ:
		break;
	case REQ_OP_WRITE:
		if (odx_writes_refused(vol))
			return DM_MAPIO_KILL;
		break;
	case REQ_OP_DISCARD:
	case REQ_OP_WRITE_ZEROES:
		if (odx_writes_refused(vol))
			return DM_MAPIO_KILL;
		/* its tokens are revoked where it changes the map */
		ob->zero_next = odx_vsector(vol, bio);
		ob->zero_fresh = U64_MAX;
		odx_defer(vol, &vol->discards, bio);
		return DM_MAPIO_SUBMITTED;
#ifdef ODX_REQ_OP_COPY
	case REQ_OP_COPY:
		return odx_copybio_map(vol, bio);
#endif
	default:
		return DM_MAPIO_KILL;
	}

	/* max_io_len keeps reads and writes inside one slab */
	vslab = odx_slab_of(&vol->geo, odx_vsector(vol, bio));
	if (odx_remap(vol, bio, vslab)) {
		if (!(bio->bi_opf & REQ_FUA) || !odx_uncommitted(vol))
			return DM_MAPIO_REMAPPED;
		/* the mapping itself is not durable yet */
		odx_unremap(vol, bio);
		odx_defer(vol, &vol->flushes, bio);
		return DM_MAPIO_SUBMITTED;
	}

	if (bio_data_dir(bio) == READ) {
		zero_fill_bio(bio);
		bio_endio(bio);
		return DM_MAPIO_SUBMITTED;
	}
	odx_defer(vol, &vol->deferred, bio);
	return DM_MAPIO_SUBMITTED;
}

int odx_end_io(struct dm_target *ti, struct bio *bio, blk_status_t *error)
{
	struct odx_volume *vol = ti->private;
	struct odx_bio *ob = odx_bio_data(bio);
	struct odx_alloc *a = ob->alloc;
	unsigned long flags;

	odx_drop_io(vol, ob);
	if (!a)
		return DM_ENDIO_DONE;

	/* a whole-slab write to a new slab: map it before completing */
	ob->alloc = NULL;
	a->error = *error ? -EIO : 0;
	a->written = bio;
	spin_lock_irqsave(&vol->lock, flags);
	list_add_tail(&a->done, &vol->allocs_done);
	spin_unlock_irqrestore(&vol->lock, flags);
	odx_wake(vol);
	return DM_ENDIO_INCOMPLETE;
}

/* --- the worker's side ---------------------------------------------------- */

static void odx_start_write(struct odx_volume *vol, struct bio *bio);

/* Send a bio the worker holds on, now that its slab may be mapped. */
static void odx_issue(struct odx_volume *vol, struct bio *bio,
		      struct bio_list *need_commit)
{
	u64 vslab = odx_slab_of(&vol->geo, odx_vsector(vol, bio));

	if (!odx_remap(vol, bio, vslab)) {
		/* unmapped again meanwhile, by a discard */
		odx_start_write(vol, bio);
		return;
	}
	if ((bio->bi_opf & REQ_FUA) && odx_uncommitted(vol)) {
		/* its mapping is not durable yet: after the next commit */
		odx_unremap(vol, bio);
		if (need_commit)
			bio_list_add(need_commit, bio);
		else
			odx_defer(vol, &vol->flushes, bio);
		return;
	}
	dm_submit_bio_remap(bio, NULL);
}

static struct odx_alloc *odx_alloc_find(struct odx_volume *vol, u64 vslab)
{
	struct rb_node *n = vol->allocs.rb_node;

	while (n) {
		struct odx_alloc *a = rb_entry(n, struct odx_alloc, node);

		if (vslab < a->vslab)
			n = n->rb_left;
		else if (vslab > a->vslab)
			n = n->rb_right;
		else
			return a;
	}
	return NULL;
}

static void odx_alloc_insert(struct odx_volume *vol, struct odx_alloc *new)
{
	struct rb_node **p = &vol->allocs.rb_node, *parent = NULL;

	while (*p) {
		struct odx_alloc *a = rb_entry(*p, struct odx_alloc, node);

		parent = *p;
		p = new->vslab < a->vslab ? &(*p)->rb_left : &(*p)->rb_right;
	}
	rb_link_node(&new->node, parent, p);
	rb_insert_color(&new->node, &vol->allocs);
}

static void odx_alloc_zeroed(int read_err, unsigned long write_err,
			     void *context)
{
	struct odx_alloc *a = context;
	struct odx_volume *vol = a->vol;
	unsigned long flags;

	if (a->srcu_idx >= 0) {
		/* the old slab was read */
		__acquire(&vol->io_srcu);
		srcu_up_read(&vol->io_srcu, a->srcu_idx);
		a->srcu_idx = -1;
	}
	a->error = (read_err || write_err) ? -EIO : 0;
	spin_lock_irqsave(&vol->lock, flags);
	list_add_tail(&a->done, &vol->allocs_done);
	spin_unlock_irqrestore(&vol->lock, flags);
	odx_wake(vol);
}

static void odx_check_low_water(struct odx_volume *vol)
{
	struct odx_md_stats st;

	if (!odx_feature(&vol->features, ODX_FEAT_LOW_WATER_MARK) ||
	    !READ_ONCE(vol->lwm_armed))
		return;
	odx_md_stats(vol->md, &st);
	if (st.free_slabs > vol->features.low_water_mark)
		return;
	WRITE_ONCE(vol->lwm_armed, false);
	DMINFO("%s: reached low water mark of %llu free slabs, sending event",
	       dm_table_device_name(vol->ti->table),
	       vol->features.low_water_mark);
	dm_table_event(vol->ti->table);
}

static void odx_bio_fail(struct bio *bio, blk_status_t status)
{
	bio->bi_status = status;
	bio_endio(bio);
}

static int odx_commit(struct odx_volume *vol);

/*
 * What a bio that would wait for space gets while a noflush suspend is
 * under way: if a control request waits for it, it fails (BLK_STS_NOSPC,
 * and the request -EBUSY: odx_io_ctl_end()); in ODX_REQUEUE_ALL any other
 * goes back to device-mapper (BLK_STS_DM_REQUEUE), which holds it and
 * sends it again to the table resumed next; else (BLK_STS_OK) it waits.
 * Under vol->lock.
 */
static blk_status_t odx_requeue_status(struct odx_volume *vol,
				       struct bio *bio)
{
	u64 start = (u64)odx_vsector(vol, bio) << SECTOR_SHIFT;
	u64 end = start + bio->bi_iter.bi_size;
	struct odx_ctl_io *cio;

	/*
	 * The device-mapper flag too: an interrupted suspend clears it
	 * before presuspend_undo clears ours, and a bio requeued in between
	 * would fail with EIO.
	 */
	if (vol->requeue == ODX_REQUEUE_OFF ||
	    !dm_noflush_suspending(vol->ti))
		return BLK_STS_OK;
	list_for_each_entry(cio, &vol->ctl_ios, list) {
		if (start < cio->end && cio->start < end) {
			cio->cut = true;
			return BLK_STS_NOSPC;
		}
	}
	return vol->requeue == ODX_REQUEUE_ALL ? BLK_STS_DM_REQUEUE :
						 BLK_STS_OK;
}

/*
 * @bio waits for space: from its first wait on, not from its latest
 * (a commit that frees slabs retries every waiting bio, and most come
 * back). vol->nospace_since is the oldest waiting bio's. During a
 * noflush suspend, odx_requeue_status() may say otherwise.
 */
static void odx_no_space(struct odx_volume *vol, struct bio *bio)
{
	struct odx_bio *ob = odx_bio_data(bio);
	unsigned long flags;
	blk_status_t status;

	if (odx_feature(&vol->features, ODX_FEAT_ERROR_IF_NO_SPACE)) {
		odx_bio_fail(bio, BLK_STS_NOSPC);
		return;
	}
	if (!ob->nospace_waited) {
		ob->nospace_waited = true;
		ob->nospace_since = jiffies;
	}
	spin_lock_irqsave(&vol->lock, flags);
	status = odx_requeue_status(vol, bio);
	if (status) {
		spin_unlock_irqrestore(&vol->lock, flags);
		odx_bio_fail(bio, status);
		return;
	}
	if (bio_list_empty(&vol->nospace) ||
	    time_before(ob->nospace_since, vol->nospace_since))
		vol->nospace_since = ob->nospace_since;
	bio_list_add(&vol->nospace, bio);
	if (vol->mode == ODX_MODE_RW) {
		vol->mode = ODX_MODE_OUT_OF_DATA_SPACE;
		DMWARN("%s: out of data space, writes that need a slab wait up to %u s for the data device to grow",
		       dm_table_device_name(vol->ti->table),
		       no_space_timeout_secs);
	}
	spin_unlock_irqrestore(&vol->lock, flags);
}

static int odx_reserve(struct odx_volume *vol, u32 *pslab)
{
	int r = odx_md_reserve(vol->md, pslab);

	if (r != -ENOSPC || !odx_md_dirty(vol->md))
		return r;
	/* slabs freed by the open transaction come back after a commit */
	r = odx_commit(vol);
	return r ? r : odx_md_reserve(vol->md, pslab);
}

static void odx_process_discard(struct odx_volume *vol, struct bio *bio);

/* A bio that waited for a slab goes on: a write is sent, a discard redone. */
static void odx_resume_bio(struct odx_volume *vol, struct bio *bio,
			   struct bio_list *need_commit)
{
	if (bio_op(bio) == REQ_OP_WRITE)
		odx_issue(vol, bio, need_commit);
	else
		odx_defer(vol, &vol->discards, bio);
}

bool odx_io_busy_slab(struct odx_volume *vol, u64 vslab)
{
	bool busy;

	spin_lock_irq(&vol->lock);
	busy = odx_alloc_find(vol, vslab);
	spin_unlock_irq(&vol->lock);
	return busy;
}

/*
 * @bio needs @vslab writable in place: a slab of its own, mapped, neither
 * shared nor pinned. If it is, the bio goes on at once; otherwise a slab
 * is reserved and filled (zeroed, or copied from the shared or pinned
 * one: copy on write) and the bio waits for the new mapping. A write that
 * covers the whole slab fills it itself (without FUA; for a slab never
 * mapped, only with skip_zeroing).
 */
static void odx_claim_slab(struct odx_volume *vol, u64 vslab,
			   struct bio *bio)
{
	struct dm_io_region from, to;
	struct odx_alloc *a;
	u32 pslab, old;
	bool whole;
	int r;

	if (odx_writes_refused(vol)) {
		odx_bio_fail(bio, BLK_STS_IOERR);
		return;
	}

	spin_lock_irq(&vol->lock);
	a = odx_alloc_find(vol, vslab);
	if (a) {
		bio_list_add(&a->bios, bio);
		spin_unlock_irq(&vol->lock);
		return;
	}
	spin_unlock_irq(&vol->lock);

	old = odx_md_lookup(vol->md, vslab);
	if (old != ODX_MD_UNMAPPED && !odx_md_must_copy(vol->md, old)) {
		odx_resume_bio(vol, bio, NULL);
		return;
	}

	r = odx_reserve(vol, &pslab);
	if (r == -ENOSPC) {
		odx_no_space(vol, bio);
		return;
	}
	if (r) {
		if (r != -EROFS)
			odx_io_set_failed(vol, "cannot allocate a slab");
		odx_bio_fail(bio, BLK_STS_IOERR);
		return;
	}
	odx_check_low_water(vol);

	a = kmem_cache_alloc(odx_alloc_cache, GFP_NOIO);
	if (!a) {
		odx_md_unreserve(vol->md, pslab);
		odx_bio_fail(bio, BLK_STS_RESOURCE);
		return;
	}
	/*
	 * Copy on write: the old slab stays pinned until the new mapping is
	 * in, so that writes keep coming here (and wait) even if it stops
	 * being shared meanwhile. It is shared or pinned already, so no
	 * write that went straight to it can still be in flight.
	 */
	if (old != ODX_MD_UNMAPPED && odx_md_pin(vol->md, old)) {
		kmem_cache_free(odx_alloc_cache, a);
		odx_md_unreserve(vol->md, pslab);
		odx_bio_fail(bio, BLK_STS_RESOURCE);
		return;
	}
	a->vol = vol;
	a->vslab = vslab;
	a->pslab = pslab;
	a->copy_from = old;
	a->srcu_idx = -1;
	a->error = 0;
	a->written = NULL;
	bio_list_init(&a->bios);
	spin_lock_irq(&vol->lock);
	odx_alloc_insert(vol, a);
	spin_unlock_irq(&vol->lock);

	whole = bio_op(bio) == REQ_OP_WRITE &&
		bio_sectors(bio) == vol->geo.slab_sectors &&
		!(bio->bi_opf & REQ_FUA);
	if (whole && (old != ODX_MD_UNMAPPED ||
		      odx_feature(&vol->features, ODX_FEAT_SKIP_ZEROING))) {
		/* the write covers the slab: it is all the filling needed */
		odx_bio_data(bio)->alloc = a;
		bio_set_dev(bio, vol->data_dev->bdev);
		bio->bi_iter.bi_sector = odx_slab_start(&vol->geo, pslab);
		dm_submit_bio_remap(bio, NULL);
		return;
	}

	bio_list_add(&a->bios, bio);
	to.bdev = vol->data_dev->bdev;
	to.sector = odx_slab_start(&vol->geo, pslab);
	to.count = vol->geo.slab_sectors;
	if (old == ODX_MD_UNMAPPED) {
		/* zero the whole slab: the rest of it must read as zeros */
		dm_kcopyd_zero(vol->kcopyd, 1, &to, 0, odx_alloc_zeroed, a);
		return;
	}
	from = to;
	from.sector = odx_slab_start(&vol->geo, old);
	a->srcu_idx = odx_hold_io(vol);
	dm_kcopyd_copy(vol->kcopyd, &from, 1, &to, 0, odx_alloc_zeroed, a);
}

/*
 * A write to a slab that was unmapped, shared or pinned when map() looked;
 * or a discard or write-zeroes that waited for space: it is done again
 * (from where it was: odx_process_provision()).
 */
static void odx_start_write(struct odx_volume *vol, struct bio *bio)
{
	if (bio_op(bio) != REQ_OP_WRITE) {
		odx_defer(vol, &vol->discards, bio);
		return;
	}
	odx_claim_slab(vol, odx_slab_of(&vol->geo, odx_vsector(vol, bio)), bio);
}

/*
 * Filling done: insert the mapping (or, for a copy on write, replace the
 * old one) and let the waiting bios go. A copy on write whose virtual
 * slab was remapped meanwhile (discarded, or the target of a copy) is
 * dropped and its bios start again, unless a write filled the whole slab.
 */
static void odx_finish_allocs(struct odx_volume *vol, struct list_head *done,
			      struct bio_list *need_commit)
{
	struct odx_alloc *a, *tmp;
	u64 slab_bytes = (u64)vol->geo.slab_sectors << SECTOR_SHIFT;
	struct bio_list bios;
	struct bio *bio;
	bool stale;
	u32 freed;
	int r, idx;

	list_for_each_entry_safe(a, tmp, done, done) {
		r = a->error;
		stale = !r && a->copy_from != ODX_MD_UNMAPPED && !a->written &&
			odx_md_lookup(vol->md, a->vslab) != a->copy_from;
		if (!r && !stale) {
			/*
			 * A whole-slab write's data becomes the slab's here,
			 * with the mapping: its tokens are revoked now (it
			 * may have waited since map()), as for any change.
			 */
			idx = srcu_read_lock(&vol->io_srcu);
			if (a->written)
				odx_tokens_change(vol, a->vslab * slab_bytes,
						  slab_bytes);
			odx_mark_uncommitted(vol);
			if (a->copy_from == ODX_MD_UNMAPPED)
				r = odx_md_insert(vol->md, a->vslab, a->pslab);
			else
				r = odx_md_remap(vol->md, a->vslab, a->pslab,
						 true, &freed);
			srcu_read_unlock(&vol->io_srcu, idx);
			if (r)
				odx_io_set_failed(vol, "cannot insert a mapping");
		}
		if (r || stale)
			odx_md_unreserve(vol->md, a->pslab);
		if (a->copy_from != ODX_MD_UNMAPPED)
			odx_md_unpin(vol->md, a->copy_from);

		spin_lock_irq(&vol->lock);
		rb_erase(&a->node, &vol->allocs);
		bio_list_init(&bios);
		bio_list_merge(&bios, &a->bios);
		spin_unlock_irq(&vol->lock);

		if (a->written) {
			/* its data is in place: complete it (a second time) */
			if (r)
				a->written->bi_status = BLK_STS_IOERR;
			bio_endio(a->written);
		}
		while ((bio = bio_list_pop(&bios))) {
			if (r)
				odx_bio_fail(bio, BLK_STS_IOERR);
			else if (stale)
				odx_defer(vol, bio_op(bio) == REQ_OP_WRITE ?
					  &vol->deferred : &vol->discards, bio);
			else
				odx_resume_bio(vol, bio, need_commit);
		}
		list_del(&a->done);
		kmem_cache_free(odx_alloc_cache, a);
	}
}

/* --- discard and write-zeroes ---------------------------------------------- */

/* A pass over @bio, holding io_srcu; NULL if out of memory. */
static struct odx_zero_op *odx_zero_op_new(struct odx_volume *vol,
					   struct bio *bio)
{
	struct odx_zero_op *op = kmem_cache_alloc(odx_zero_op_cache,
						  GFP_NOIO);

	if (!op)
		return NULL;
	op->vol = vol;
	op->bio = bio;
	op->error = 0;
	op->again = false;
	atomic_set(&op->pending, 1);
	/*
	 * The partial slabs are zeroed where the lookups find them: until
	 * the zeroing ends, a whole-slab discard or a remap that frees one
	 * must not let it be reused (the commit's grace period waits).
	 */
	op->srcu_idx = odx_hold_io(vol);
	return op;
}

static void odx_zero_op_free(struct odx_zero_op *op)
{
	__acquire(&op->vol->io_srcu);
	srcu_up_read(&op->vol->io_srcu, op->srcu_idx);
	kmem_cache_free(odx_zero_op_cache, op);
}

static void odx_zero_op_put(struct odx_zero_op *op)
{
	struct odx_volume *vol = op->vol;
	struct bio *bio = op->bio;
	bool again;
	int error;

	if (!atomic_dec_and_test(&op->pending))
		return;
	error = op->error;
	again = op->again && !error;
	odx_zero_op_free(op);
	if (again) {
		odx_defer(vol, &vol->discards, bio);
		return;
	}
	bio->bi_status = error ? BLK_STS_IOERR : BLK_STS_OK;
	bio_endio(bio);
}

static void odx_partial_zeroed(int read_err, unsigned long write_err,
			       void *context)
{
	struct odx_zero_op *op = context;

	if (read_err || write_err)
		op->error = -EIO;
	odx_zero_op_put(op);
}

/*
 * Have kcopyd zero [start, start + len) of the volume, inside one slab,
 * in @pslab: by REQ_OP_WRITE_ZEROES if the data device has it, else by
 * writes of its own zero page.
 */
static void odx_zero_in_slab(struct odx_volume *vol, struct odx_zero_op *op,
			     u32 pslab, sector_t start, sector_t len)
{
	struct dm_io_region region;

	region.bdev = vol->data_dev->bdev;
	region.sector = odx_slab_start(&vol->geo, pslab) +
			odx_offset_in_slab(&vol->geo, start);
	region.count = len;
	atomic_inc(&op->pending);
	dm_kcopyd_zero(vol->kcopyd, 1, &region, 0, odx_partial_zeroed, op);
}

/* Zero [start, start + len) of the volume, inside one slab, if mapped. */
static void odx_zero_partial(struct odx_volume *vol, struct odx_zero_op *op,
			     sector_t start, sector_t len)
{
	u32 pslab;

	if (!len)
		return;
	pslab = odx_md_lookup(vol->md, odx_slab_of(&vol->geo, start));
	if (pslab == ODX_MD_UNMAPPED)
		return;		/* reads as zeros already */
	odx_zero_in_slab(vol, op, pslab, start, len);
}

/*
 * A partial slab the discard must zero in place: if it is shared, pinned
 * or being filled, the discard waits for a slab of its own there (and is
 * then done again from the start).
 */
static bool odx_discard_waits(struct odx_volume *vol, struct bio *bio,
			      sector_t start, sector_t len)
{
	u64 vslab = odx_slab_of(&vol->geo, start);
	u32 pslab;

	if (!len)
		return false;
	pslab = odx_md_lookup(vol->md, vslab);
	if (!odx_io_busy_slab(vol, vslab) &&
	    (pslab == ODX_MD_UNMAPPED || !odx_md_must_copy(vol->md, pslab)))
		return false;
	odx_claim_slab(vol, vslab, bio);
	return true;
}

/*
 * A write-zeroes with REQ_NOUNMAP: the range stays provisioned (what
 * fallocate's zero range and BLKZEROOUT ask for). From where the last
 * pass stopped, each slab is zeroed in place while it is mapped to a slab
 * of its own; at the first that is not (unmapped, shared, pinned, or
 * being filled) the pass stops, and once its pieces are done the bio
 * waits for that slab as a write would (allocated and zeroed, or copied:
 * a slab of its own; or for space) and goes on from there. It never
 * waits while pieces are in flight, so a wait that fails it (or a noflush
 * suspend that requeues it) leaves nothing behind. A slab it allocated
 * itself reads zeros already and is not zeroed again.
 */
static void odx_process_provision(struct odx_volume *vol, struct bio *bio)
{
	struct odx_bio *ob = odx_bio_data(bio);
	sector_t end = odx_vsector(vol, bio) + bio_sectors(bio);
	sector_t s = ob->zero_next, len;
	struct odx_zero_op *op;
	u32 pslab = ODX_MD_UNMAPPED;
	u64 vslab = 0;

	op = odx_zero_op_new(vol, bio);
	if (!op) {
		odx_bio_fail(bio, BLK_STS_RESOURCE);
		return;
	}
	/* each pass changes the range: as a discard (odx_process_discard()) */
	odx_tokens_write(vol, bio);
	for (; s < end; s += len) {
		vslab = odx_slab_of(&vol->geo, s);
		len = min(end, odx_slab_start(&vol->geo, vslab + 1)) - s;
		pslab = odx_md_lookup(vol->md, vslab);
		if (pslab == ODX_MD_UNMAPPED ||
		    odx_md_must_copy(vol->md, pslab) ||
		    odx_io_busy_slab(vol, vslab))
			break;
		if (vslab != ob->zero_fresh)
			odx_zero_in_slab(vol, op, pslab, s, len);
	}
	ob->zero_next = s;
	if (s == end) {
		odx_zero_op_put(op);
		return;
	}
	if (atomic_read(&op->pending) > 1) {
		op->again = true;
		odx_zero_op_put(op);
		return;
	}
	odx_zero_op_free(op);
	/* an unmapped slab is allocated zeroed: the wait zeroes it */
	ob->zero_fresh = pslab == ODX_MD_UNMAPPED ? vslab : U64_MAX;
	odx_claim_slab(vol, vslab, bio);
}

static void odx_process_discard(struct odx_volume *vol, struct bio *bio)
{
	struct odx_zero_op *op;
	struct odx_split sp;
	u64 s;
	u32 freed;
	int r;

	if (bio_op(bio) == REQ_OP_WRITE_ZEROES && (bio->bi_opf & REQ_NOUNMAP)) {
		odx_process_provision(vol, bio);
		return;
	}
	odx_split_range(&vol->geo, odx_vsector(vol, bio), bio_sectors(bio), &sp);
	if (odx_discard_waits(vol, bio, sp.head_start, sp.head_len) ||
	    odx_discard_waits(vol, bio, sp.tail_start, sp.tail_len))
		return;

	op = odx_zero_op_new(vol, bio);
	if (!op) {
		odx_bio_fail(bio, BLK_STS_RESOURCE);
		return;
	}
	/*
	 * The discard changes the range from here until its last partial
	 * zeroing completes: it revokes the tokens over the range now (it
	 * may have waited since map()), holding io_srcu until then (a new
	 * change-vulnerable token waits for that; see the top of the file).
	 */
	odx_tokens_write(vol, bio);

	for (s = sp.first_slab; s < sp.first_slab + sp.nr_slabs; s++) {
		if (odx_md_lookup(vol->md, s) == ODX_MD_UNMAPPED)
			continue;
		odx_mark_uncommitted(vol);
		r = odx_md_remove(vol->md, s, &freed);
		if (r) {
			odx_io_set_failed(vol, "cannot remove a mapping");
			op->error = r;
			break;
		}
	}
	if (!op->error) {
		odx_zero_partial(vol, op, sp.head_start, sp.head_len);
		odx_zero_partial(vol, op, sp.tail_start, sp.tail_len);
	}
	odx_zero_op_put(op);
}

/* --- work for the copy engine ---------------------------------------------- */

void odx_io_run(struct odx_volume *vol, struct odx_wop *wop)
{
	init_completion(&wop->done);
	spin_lock_irq(&vol->lock);
	list_add_tail(&wop->list, &vol->wops);
	spin_unlock_irq(&vol->lock);
	odx_wake(vol);
	wait_for_completion(&wop->done);
}

void odx_io_changing(struct odx_volume *vol)
{
	odx_mark_uncommitted(vol);
}

void odx_io_unpin(struct odx_volume *vol, u32 pslab)
{
	odx_md_unpin(vol->md, pslab);
	/* an orphan it freed is released by a commit: the periodic one */
	spin_lock_irq(&vol->lock);
	vol->commit_requested = true;
	spin_unlock_irq(&vol->lock);
}

/* --- commits ---------------------------------------------------------------- */

static void odx_passdown_run(void *context, u32 first, u32 count)
{
	struct odx_volume *vol = context;

	if (odx_feature(&vol->features, ODX_FEAT_NO_DISCARD_PASSDOWN) ||
	    !bdev_max_discard_sectors(vol->data_dev->bdev))
		return;
	/* best effort: a data device that fails a discard keeps the data */
	blkdev_issue_discard(vol->data_dev->bdev,
			     odx_slab_start(&vol->geo, first),
			     odx_slab_start(&vol->geo, count), GFP_NOIO);
}

/*
 * Commit the metadata, or just flush the data device if nothing changed,
 * then release the slabs the commit freed.
 */
static int odx_commit(struct odx_volume *vol)
{
	struct bio_list retry;
	int r;

	if (!odx_md_dirty(vol->md)) {
		r = blkdev_issue_flush(vol->data_dev->bdev);
		if (!r)
			WRITE_ONCE(vol->uncommitted, false);
		return r;
	}
	r = odx_md_commit(vol->md);
	if (r) {
		odx_io_set_failed(vol, "metadata commit failed");
		return r;
	}
	WRITE_ONCE(vol->uncommitted, false);

	if (!odx_md_has_freed(vol->md))
		return 0;
	/*
	 * No bio that looked up a freed slab (a read of a pinned orphan, a
	 * partial zero) is still in flight once the grace period ends: only
	 * then may the slab be discarded below and handed out again.
	 */
	synchronize_srcu(&vol->io_srcu);
	odx_md_freed_runs(vol->md, odx_passdown_run, vol);
	odx_md_release_freed(vol->md);

	/* writes waiting for space may fit now */
	bio_list_init(&retry);
	spin_lock_irq(&vol->lock);
	bio_list_merge_init(&retry, &vol->nospace);
	if (vol->mode == ODX_MODE_OUT_OF_DATA_SPACE)
		vol->mode = ODX_MODE_RW;
	bio_list_merge_init(&vol->deferred, &retry);
	spin_unlock_irq(&vol->lock);
	return 0;
}

struct odx_commit_wop {
	struct odx_wop wop;
	int error;
};

static void odx_commit_fn(struct odx_volume *vol, struct odx_wop *wop)
{
	struct odx_commit_wop *cw = container_of(wop, struct odx_commit_wop,
						 wop);

	cw->error = odx_commit(vol);
}

int odx_io_commit(struct odx_volume *vol)
{
	struct odx_commit_wop cw = { .wop.fn = odx_commit_fn };

	odx_io_run(vol, &cw.wop);
	return cw.error;
}

static void odx_fail_list(struct bio_list *bios, blk_status_t status)
{
	struct bio *bio;

	while ((bio = bio_list_pop(bios)))
		odx_bio_fail(bio, status);
}

/* Fail the bios that have waited for space longer than no_space_timeout. */
static void odx_expire_nospace(struct odx_volume *vol)
{
	unsigned long timeout = (unsigned long)no_space_timeout_secs * HZ;
	struct bio_list expired, waiting;
	struct odx_bio *ob;
	struct bio *bio;

	if (!no_space_timeout_secs)
		return;
	bio_list_init(&expired);
	bio_list_init(&waiting);
	spin_lock_irq(&vol->lock);
	if (!bio_list_empty(&vol->nospace) &&
	    time_after(jiffies, vol->nospace_since + timeout)) {
		while ((bio = bio_list_pop(&vol->nospace))) {
			ob = odx_bio_data(bio);
			if (time_after(jiffies, ob->nospace_since + timeout)) {
				bio_list_add(&expired, bio);
				continue;
			}
			if (bio_list_empty(&waiting) ||
			    time_before(ob->nospace_since,
					vol->nospace_since))
				vol->nospace_since = ob->nospace_since;
			bio_list_add(&waiting, bio);
		}
		bio_list_merge(&vol->nospace, &waiting);
	}
	spin_unlock_irq(&vol->lock);
	if (!bio_list_empty(&expired)) {
		DMWARN("%s: no data space came within %u s, failing the waiting writes",
		       dm_table_device_name(vol->ti->table),
		       no_space_timeout_secs);
		odx_fail_list(&expired, BLK_STS_NOSPC);
	}
}

static void odx_worker(struct work_struct *work)
{
	struct odx_volume *vol = container_of(work, struct odx_volume, worker);
	struct bio_list deferred, discards, flushes, need_commit;
	struct odx_wop *wop, *next;
	LIST_HEAD(done);
	LIST_HEAD(wops);
	struct bio *bio;
	bool commit;

	bio_list_init(&deferred);
	bio_list_init(&discards);
	bio_list_init(&flushes);
	bio_list_init(&need_commit);

	spin_lock_irq(&vol->lock);
	bio_list_merge_init(&deferred, &vol->deferred);
	bio_list_merge_init(&discards, &vol->discards);
	bio_list_merge_init(&flushes, &vol->flushes);
	list_splice_init(&vol->allocs_done, &done);
	list_splice_init(&vol->wops, &wops);
	commit = vol->commit_requested;
	vol->commit_requested = false;
	spin_unlock_irq(&vol->lock);

	odx_finish_allocs(vol, &done, &need_commit);
	while ((bio = bio_list_pop(&deferred)))
		odx_start_write(vol, bio);
	while ((bio = bio_list_pop(&discards)))
		odx_process_discard(vol, bio);
	list_for_each_entry_safe(wop, next, &wops, list) {
		list_del_init(&wop->list);
		wop->fn(vol, wop);
		complete(&wop->done);
	}

	bio_list_merge(&flushes, &need_commit);
	if (!bio_list_empty(&flushes) ||
	    (commit && (odx_uncommitted(vol) || odx_md_dirty(vol->md)))) {
		if (odx_commit(vol)) {
			odx_fail_list(&flushes, BLK_STS_IOERR);
		} else {
			while ((bio = bio_list_pop(&flushes))) {
				if (bio_op(bio) == REQ_OP_WRITE &&
				    bio_sectors(bio))
					odx_issue(vol, bio, NULL);
				else
					bio_endio(bio);
			}
		}
	}
	odx_expire_nospace(vol);

	/* writes released by a commit above */
	spin_lock_irq(&vol->lock);
	if (!bio_list_empty(&vol->deferred))
		odx_wake(vol);
	spin_unlock_irq(&vol->lock);
}

static void odx_periodic(struct work_struct *work)
{
	struct odx_volume *vol = container_of(to_delayed_work(work),
					      struct odx_volume, periodic);

	spin_lock_irq(&vol->lock);
	vol->commit_requested = true;
	spin_unlock_irq(&vol->lock);
	odx_wake(vol);
	/* idle tokens give back what they hold */
	odx_token_reap(&vol->tokens);
	queue_delayed_work(vol->wq, &vol->periodic, ODX_COMMIT_PERIOD);
}

/* --- life cycle --------------------------------------------------------------- */

int odx_io_init(struct odx_volume *vol)
{
	int r;

	spin_lock_init(&vol->lock);
	bio_list_init(&vol->deferred);
	bio_list_init(&vol->discards);
	bio_list_init(&vol->flushes);
	bio_list_init(&vol->nospace);
	vol->allocs = RB_ROOT;
	INIT_LIST_HEAD(&vol->allocs_done);
	INIT_LIST_HEAD(&vol->wops);
	INIT_LIST_HEAD(&vol->ctl_ios);
	INIT_WORK(&vol->worker, odx_worker);
	INIT_DELAYED_WORK(&vol->periodic, odx_periodic);
	vol->lwm_armed = true;

	r = init_srcu_struct(&vol->io_srcu);
	if (r)
		return r;
	vol->wq = alloc_ordered_workqueue("kodxd", WQ_MEM_RECLAIM);
	if (!vol->wq) {
		r = -ENOMEM;
		goto bad_srcu;
	}
	vol->kcopyd = dm_kcopyd_client_create(NULL);
	if (IS_ERR(vol->kcopyd)) {
		r = PTR_ERR(vol->kcopyd);
		goto bad_wq;
	}
	return 0;

bad_wq:
	destroy_workqueue(vol->wq);
bad_srcu:
	cleanup_srcu_struct(&vol->io_srcu);
	return r;
}

void odx_io_exit(struct odx_volume *vol)
{
	cancel_delayed_work_sync(&vol->periodic);
	flush_workqueue(vol->wq);
	dm_kcopyd_client_destroy(vol->kcopyd);
	destroy_workqueue(vol->wq);
	cleanup_srcu_struct(&vol->io_srcu);
}

/* Enter @mode; the waiting bios it does not let wait go. */
static void odx_requeue_set(struct odx_volume *vol, enum odx_requeue mode)
{
	struct bio_list keep, requeue, cut;
	blk_status_t status;
	struct bio *bio;

	bio_list_init(&keep);
	bio_list_init(&requeue);
	bio_list_init(&cut);
	spin_lock_irq(&vol->lock);
	vol->requeue = mode;
	while ((bio = bio_list_pop(&vol->nospace))) {
		status = odx_requeue_status(vol, bio);
		bio_list_add(status == BLK_STS_DM_REQUEUE ? &requeue :
			     status ? &cut : &keep, bio);
	}
	/* vol->nospace_since may now be older than the oldest: harmless */
	bio_list_merge(&vol->nospace, &keep);
	spin_unlock_irq(&vol->lock);
	odx_fail_list(&requeue, BLK_STS_DM_REQUEUE);
	odx_fail_list(&cut, BLK_STS_NOSPC);
}

/*
 * A noflush suspend, before presuspend waits for control requests: the
 * I/O of a control request stops waiting for space (the request then
 * ends with -EBUSY), now and until resume or presuspend_undo, so that
 * the wait does not depend on space coming.
 */
void odx_io_presuspend_ctl(struct odx_volume *vol)
{
	if (dm_noflush_suspending(vol->ti))
		odx_requeue_set(vol, ODX_REQUEUE_CTL);
}

/*
 * A noflush suspend, at the end of presuspend: every bio waiting for
 * space, and every one that would start waiting until resume or
 * presuspend_undo (still queued for the worker, or arriving before
 * device-mapper blocks I/O), goes back to device-mapper, which holds it
 * for the next table (a reload with a larger data device: the documented
 * recovery), as dm-thin's requeue mode does; without this the suspend
 * would wait for them (with no_space_timeout 0, for ever). Last, because
 * until device-mapper blocks I/O it sends a requeued bio straight back.
 * A requeued bio comes back as a new one: its no_space_timeout counts
 * again from then. Without noflush the suspend waits for them, as for
 * any bio in flight.
 */
void odx_io_presuspend(struct odx_volume *vol)
{
	if (dm_noflush_suspending(vol->ti))
		odx_requeue_set(vol, ODX_REQUEUE_ALL);
}

/* The suspend was interrupted: bios wait for space again. */
void odx_io_presuspend_undo(struct odx_volume *vol)
{
	spin_lock_irq(&vol->lock);
	vol->requeue = ODX_REQUEUE_OFF;
	spin_unlock_irq(&vol->lock);
}

void odx_io_ctl_begin(struct odx_volume *vol, struct odx_ctl_io *cio,
		      u64 offset, u64 len)
{
	cio->start = offset;
	cio->end = offset + len;
	cio->cut = false;
	spin_lock_irq(&vol->lock);
	list_add_tail(&cio->list, &vol->ctl_ios);
	spin_unlock_irq(&vol->lock);
}

int odx_io_ctl_end(struct odx_volume *vol, struct odx_ctl_io *cio)
{
	bool cut;

	spin_lock_irq(&vol->lock);
	list_del(&cio->list);
	cut = cio->cut;
	spin_unlock_irq(&vol->lock);
	return cut ? -EBUSY : 0;
}

/* All I/O has drained: stop the timer and commit what is left. */
void odx_io_postsuspend(struct odx_volume *vol)
{
	cancel_delayed_work_sync(&vol->periodic);
	flush_workqueue(vol->wq);
	if (!odx_writes_refused(vol) && odx_md_dirty(vol->md))
		odx_commit(vol);
}

void odx_io_resume(struct odx_volume *vol)
{
	struct bio_list bios;

	bio_list_init(&bios);
	spin_lock_irq(&vol->lock);
	vol->requeue = ODX_REQUEUE_OFF;
	if (vol->mode == ODX_MODE_OUT_OF_DATA_SPACE)
		vol->mode = ODX_MODE_RW;
	bio_list_merge_init(&bios, &vol->nospace);
	bio_list_merge_init(&vol->deferred, &bios);
	spin_unlock_irq(&vol->lock);
	WRITE_ONCE(vol->lwm_armed, true);
	queue_delayed_work(vol->wq, &vol->periodic, ODX_COMMIT_PERIOD);
	odx_wake(vol);
}

int odx_io_module_init(void)
{
	odx_alloc_cache = KMEM_CACHE(odx_alloc, 0);
	if (!odx_alloc_cache)
		return -ENOMEM;
	odx_zero_op_cache = KMEM_CACHE(odx_zero_op, 0);
	if (!odx_zero_op_cache) {
		kmem_cache_destroy(odx_alloc_cache);
		return -ENOMEM;
	}
	return 0;
}

void odx_io_module_exit(void)
{
	kmem_cache_destroy(odx_zero_op_cache);
	kmem_cache_destroy(odx_alloc_cache);
}
