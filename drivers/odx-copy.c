// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-odx: the copy engine (see odx-copy.h).
 *
 * Point in time. An offload read of a point-in-time token looks up the
 * slabs under its ranges and pins them (odx_md_pin()), in the worker so
 * that no metadata change interleaves, then waits for an io_srcu grace
 * period: a write that saw the slab unpinned has completed by then, and
 * every later write into a pinned slab copies it first. The token keeps
 * the slab numbers; a slab whose last mapping goes stays allocated (an
 * orphan) until the token's data is freed. So the token's data is its
 * slabs, whatever happens to the source afterwards.
 *
 * Change vulnerable. Nothing is pinned; any write overlapping the
 * token's ranges revokes it (odx-io.c). A copy reads the source's current
 * slabs and checks the token is still live after each piece: a write
 * that raced with the piece revoked it by then, and the copy fails with
 * the token's errno. The token is fenced against changes already under
 * way when it is made: each change revokes the tokens over its range
 * where it is made, inside an io_srcu read section that lasts until it
 * is complete, and the offload read waits for an io_srcu grace period
 * once its token is live. A change complete by then is in the token's
 * data; any other saw the token and revoked it, however long it waited
 * (for a slab, for space) after map(). So the offload read waits for
 * I/O in flight to the data device, never for space.
 *
 * Remapping. A whole destination slab whose source is a whole slab of
 * the same volume is copied by pointing the destination at the source
 * slab (odx_md_remap(): old reference dropped, new one taken, one
 * transaction), in the worker. Afterwards an io_srcu grace period lets
 * the writes that were already on their way to the old destination slab,
 * or to a source slab that was not shared before, complete: the copy
 * happened at the instant of the remap, after them. A slab being filled
 * by the bio path at that moment (allocation, copy on write) is left to
 * the data copy, which goes through the same path and so waits for it.
 *
 * Data copy. Everything else is read from the source's data device and
 * written to the destination's mapped device (which allocates, copies on
 * write and revokes change-vulnerable tokens as for any write); a source
 * slab that is not mapped is written as zeros.
 *
 * The zero token. Whole destination slabs are unmapped by the worker, as
 * a discard unmaps them; the part of a slab at either end is zeroed
 * through the mapped device if the slab is mapped (an unmapped one reads
 * zeros already). Never by the block layer's zeroing over the whole
 * range: device-mapper hides REQ_OP_WRITE_ZEROES when the data device
 * lacks it, and the block layer then writes zero pages, which would
 * allocate every slab of the range.
 */
#include <linux/blkdev.h>
#include <linux/dm-kcopyd.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "odx.h"
#include "odx-copy.h"
#include "odx-token.h"

#define DM_MSG_PREFIX "odx"

/* Slabs remapped by one piece of work of the worker. */
#define ODX_COPY_REMAP_BATCH	4096U

static struct dm_kcopyd_client *odx_copy_kc;

/* --- what a point-in-time token pins -------------------------------------- */

struct odx_pinset {
	struct odx_volume *vol;
	u32 nr;
	u32 pslab[] __counted_by(nr);	/* per slab of each range, in order */
};

static u64 odx_copy_slab_bytes(struct odx_volume *vol)
{
	return (u64)vol->geo.slab_sectors << SECTOR_SHIFT;
}

static unsigned int odx_copy_shift(struct odx_volume *vol)
{
	return vol->geo.slab_shift + SECTOR_SHIFT;
}

/* Slabs [first, last] under a range of nonzero length. */
static void odx_copy_range_slabs(struct odx_volume *vol,
				 const struct odx_range *rg, u64 *first,
				 u64 *last)
{
	*first = rg->offset >> odx_copy_shift(vol);
	*last = (rg->offset + rg->length - 1) >> odx_copy_shift(vol);
}

static void odx_pins_release(struct odx_token_data *data, void *ctx)
{
	struct odx_pinset *ps = ctx;
	u32 i;

	for (i = 0; i < ps->nr; i++)
		if (ps->pslab[i] != ODX_MD_UNMAPPED)
			odx_io_unpin(ps->vol, ps->pslab[i]);
	kvfree(ps);
}

static const struct odx_token_pin_ops odx_pin_ops = {
	.unpin = odx_pins_release,
};

struct odx_pin_wop {
	struct odx_wop wop;
	struct odx_pinset *ps;
	const struct odx_range *ranges;
	u32 count;
	u64 pinned;
	bool barrier;		/* wait for writes that saw them unpinned */
	int error;
};

static void odx_pin_fn(struct odx_volume *vol, struct odx_wop *wop)
{
	struct odx_pin_wop *pw = container_of(wop, struct odx_pin_wop, wop);
	u64 first, last, s;
	u32 i, n = 0, p;
	int r = 0;

	for (i = 0; i < pw->count && !r; i++) {
		odx_copy_range_slabs(vol, &pw->ranges[i], &first, &last);
		for (s = first; s <= last; s++, n++) {
			p = odx_md_lookup(vol->md, s);
			if (p == ODX_MD_UNMAPPED)
				continue;
			r = odx_md_pin(vol->md, p);
			if (r)
				break;
			pw->ps->pslab[n] = p;
			pw->pinned++;
		}
	}
	pw->error = r;
	/* writes that saw these slabs unpinned are done after this */
	if (pw->barrier)
		synchronize_srcu(&vol->io_srcu);
}

int odx_copy_populate(struct odx_volume *vol, u32 type, u32 *lifetime,
		      const struct odx_range *ranges, u32 count,
		      bool by_reader, struct odx_token *tok, u64 *bytes)
{
	struct odx_range cut[ODX_OFFLOAD_MAX_RANGES];
	struct odx_token_data *data;
	struct odx_pin_wop pw = { };
	u64 left = ODX_COPY_MAX_BYTES, first, last, nr = 0;
	u32 i, n;
	int r;

	for (n = 0; n < count && left; n++) {
		cut[n] = ranges[n];
		cut[n].length = min(cut[n].length, left);
		left -= cut[n].length;
	}
	r = odx_token_create(&vol->tokens, type, *lifetime, cut, n, tok,
			     &data);
	if (r)
		return r;
	*bytes = data->bytes;
	*lifetime = be32_to_cpu(tok->lifetime);
	if (type != ODX_TOKEN_PIT) {
		odx_token_put(data);
		/*
		 * The fence (see the top of the file): a change that looked
		 * for tokens before this one was live is complete after this.
		 */
		synchronize_srcu(&vol->io_srcu);
		return 0;
	}

	for (i = 0; i < n; i++) {
		odx_copy_range_slabs(vol, &cut[i], &first, &last);
		nr += last - first + 1;
	}
	pw.ps = kvmalloc(struct_size(pw.ps, pslab, nr), GFP_KERNEL);
	if (!pw.ps) {
		r = -ENOMEM;
		goto bad;
	}
	pw.ps->vol = vol;
	pw.ps->nr = nr;
	memset(pw.ps->pslab, 0xff, nr * sizeof(u32));	/* ODX_MD_UNMAPPED */
	odx_token_set_pin(data, &odx_pin_ops, pw.ps);

	pw.wop.fn = odx_pin_fn;
	pw.ranges = cut;
	pw.count = n;
	pw.barrier = true;
	odx_io_run(vol, &pw.wop);
	r = pw.error;
	if (!r)
		r = odx_token_charge_pinned(&vol->tokens, data, pw.pinned,
					    by_reader);
	if (r)
		goto bad;
	odx_token_put(data);
	return 0;

bad:
	/* the token dies; its pins go with the last reference */
	odx_token_revoke(&vol->tokens, data->id);
	odx_token_put(data);
	memset(tok, 0, sizeof(*tok));
	*bytes = 0;
	return r;
}

/* --- where a byte of the token's data is --------------------------------- */

struct odx_src {
	u64 offset;		/* on the source volume */
	u64 run;		/* bytes from there in the same range */
	u32 pin;		/* index in the pinset of offset's slab */
};

static int odx_copy_locate(struct odx_xfer *x, u64 t, struct odx_src *src)
{
	const struct odx_token_data *data = x->data;
	u64 first, last, base = 0;
	u32 i;

	for (i = 0; i < data->nr_ranges; i++) {
		const struct odx_range *rg = &data->ranges[i];

		odx_copy_range_slabs(x->svol, rg, &first, &last);
		if (t < rg->length) {
			src->offset = rg->offset + t;
			src->run = rg->length - t;
			src->pin = base + (src->offset >>
					   odx_copy_shift(x->svol)) - first;
			return 0;
		}
		t -= rg->length;
		base += last - first + 1;
	}
	return -ERANGE;
}

/* A change-vulnerable token is checked after every piece. */
static int odx_copy_token_live(struct odx_xfer *x)
{
	if (!x->data || x->data->type == ODX_TOKEN_PIT)
		return 0;
	return odx_token_state(&x->svol->tokens, x->data->id);
}

/* --- data copy ------------------------------------------------------------- */

struct odx_batch {
	atomic_t pending;
	struct completion done;
	int error;
};

static void odx_batch_put(struct odx_batch *b)
{
	if (atomic_dec_and_test(&b->pending))
		complete(&b->done);
}

static void odx_batch_cb(int read_err, unsigned long write_err, void *ctx)
{
	struct odx_batch *b = ctx;

	if (read_err || write_err)
		b->error = -EIO;
	odx_batch_put(b);
}

/*
 * The source slabs of a change-vulnerable token, pinned for the length
 * of one data copy so that none is freed and reused while it is read (a
 * write meanwhile goes to a copy and revokes the token, which the copy
 * then reports). The range is inside one of the token's ranges.
 */
static struct odx_pinset *odx_copy_pin_cv(struct odx_xfer *x, u64 offset,
					  u64 len)
{
	struct odx_range rg = { .offset = offset, .length = len };
	struct odx_pin_wop pw = { .ranges = &rg, .count = 1 };
	u64 first, last;

	odx_copy_range_slabs(x->svol, &rg, &first, &last);
	pw.ps = kvmalloc(struct_size(pw.ps, pslab, last - first + 1),
			 GFP_KERNEL);
	if (!pw.ps)
		return ERR_PTR(-ENOMEM);
	pw.ps->vol = x->svol;
	pw.ps->nr = last - first + 1;
	memset(pw.ps->pslab, 0xff, pw.ps->nr * sizeof(u32));
	pw.wop.fn = odx_pin_fn;
	odx_io_run(x->svol, &pw.wop);
	if (pw.error) {
		odx_pins_release(NULL, pw.ps);
		return ERR_PTR(pw.error);
	}
	return pw.ps;
}

/*
 * Copy @len bytes of the token's data from @t to @dst, by pieces that
 * stay in one source slab, all in flight at once. @len is inside one of
 * the token's ranges.
 */
static int odx_copy_data(struct odx_xfer *x, u64 t, u64 dst, u64 len)
{
	u64 slab = odx_copy_slab_bytes(x->svol), pos, n, off;
	struct odx_pinset *ps = x->data->pin_ctx, *cv = NULL;
	struct dm_io_region from, to;
	struct odx_ctl_io cio;
	struct odx_batch b;
	struct odx_src src;
	u32 p, base = 0;
	int r, cut;

	r = odx_copy_locate(x, t, &src);
	if (r)
		return r;
	if (x->data->type != ODX_TOKEN_PIT) {
		cv = odx_copy_pin_cv(x, src.offset, len);
		if (IS_ERR(cv))
			return PTR_ERR(cv);
		ps = cv;
		base = src.pin;		/* cv->pslab[0] is src.offset's slab */
	}

	atomic_set(&b.pending, 1);
	init_completion(&b.done);
	b.error = 0;
	/* a noflush suspend fails the writes if they wait for space: -EBUSY */
	odx_io_ctl_begin(x->dvol, &cio, dst, len);
	for (pos = 0; pos < len; pos += n) {
		r = odx_copy_locate(x, t + pos, &src);
		if (r)
			break;
		off = src.offset & (slab - 1);
		n = min3(len - pos, src.run, slab - off);
		to.bdev = x->dbdev;
		to.sector = (dst + pos) >> SECTOR_SHIFT;
		to.count = n >> SECTOR_SHIFT;
		p = ps->pslab[src.pin - base];
		atomic_inc(&b.pending);
		if (p == ODX_MD_UNMAPPED) {
			dm_kcopyd_zero(odx_copy_kc, 1, &to, 0, odx_batch_cb, &b);
			continue;
		}
		from.bdev = x->svol->data_dev->bdev;
		from.sector = odx_slab_start(&x->svol->geo, p) +
			      (off >> SECTOR_SHIFT);
		from.count = to.count;
		dm_kcopyd_copy(odx_copy_kc, &from, 1, &to, 0, odx_batch_cb, &b);
	}
	odx_batch_put(&b);
	wait_for_completion(&b.done);
	cut = odx_io_ctl_end(x->dvol, &cio);
	if (cv)
		odx_pins_release(NULL, cv);
	if (!r)
		r = cut ?: b.error;
	if (!r)
		r = odx_copy_token_live(x);
	return r;
}

/* --- remapping ----------------------------------------------------------- */

struct odx_remap_wop {
	struct odx_wop wop;
	struct odx_xfer *x;	/* NULL: a copy bio */
	bool pin_src;		/* look the source up and pin it meanwhile */
	u64 dst;		/* first destination slab */
	u64 src;		/* first source slab (pin_src) */
	u32 *pslab;		/* source slabs: pinned ones, or scratch */
	u32 nr;
	u32 done;		/* remapped, from the first */
	int stop;		/* why fewer: -EBUSY being filled, -EMLINK full */
	int error;
};

static void odx_remap_fn(struct odx_volume *vol, struct odx_wop *wop)
{
	struct odx_remap_wop *rw = container_of(wop, struct odx_remap_wop,
						wop);
	unsigned int shift = odx_copy_shift(vol);
	u32 i, pinned = 0, freed, p;
	int r = 0, idx;

	if (rw->pin_src) {
		/* pin the source for the length of the remap, as a token would */
		for (; pinned < rw->nr; pinned++) {
			p = odx_md_lookup(vol->md, rw->src + pinned);
			rw->pslab[pinned] = p;
			if (p != ODX_MD_UNMAPPED && odx_md_pin(vol->md, p))
				break;
		}
		rw->nr = pinned;
		/* writes that saw the source unpinned land before the copy */
		synchronize_srcu(&vol->io_srcu);
		if (rw->x)
			r = odx_copy_token_live(rw->x);
	}
	/*
	 * The destination changes without a write: its change-vulnerable
	 * tokens are revoked as a write's are, here where it changes, under
	 * io_srcu until the remaps are in (the fence: see the top of the
	 * file).
	 */
	idx = srcu_read_lock(&vol->io_srcu);
	if (!r)
		odx_token_invalidate_range(&vol->tokens, rw->dst << shift,
					   (u64)rw->nr << shift);
	for (i = 0; !r && i < rw->nr; i++) {
		if (odx_io_busy_slab(vol, rw->dst + i)) {
			rw->stop = -EBUSY;
			break;		/* being filled: the data copy waits */
		}
		odx_io_changing(vol);
		p = rw->pslab[i];
		if (p == ODX_MD_UNMAPPED)
			r = odx_md_remove(vol->md, rw->dst + i, &freed);
		else
			r = odx_md_remap(vol->md, rw->dst + i, p, false, &freed);
		if (r == -EMLINK) {
			rw->stop = r;
			r = 0;
			break;		/* its count is full: copy the data */
		}
		if (r)
			odx_io_set_failed(vol, "cannot remap a slab");
		else
			rw->done++;
	}
	srcu_read_unlock(&vol->io_srcu, idx);
	rw->error = r;
	/* writes on their way to the old slabs finish before the copy */
	if (rw->done)
		synchronize_srcu(&vol->io_srcu);
	if (rw->pin_src) {
		for (i = 0; i < pinned; i++)
			if (rw->pslab[i] != ODX_MD_UNMAPPED)
				odx_md_unpin(vol->md, rw->pslab[i]);
	}
}

/*
 * Remap up to @nr whole slabs from @src (token offset @t) to @dst; returns
 * how many were, from the first (0: copy the first by data).
 */
static int odx_copy_remap(struct odx_xfer *x, const struct odx_src *src,
			  u64 dst, u32 nr, u32 *done)
{
	struct odx_pinset *ps = x->data->pin_ctx;
	unsigned int shift = odx_copy_shift(x->svol);
	struct odx_remap_wop rw = {
		.x = x,
		.pin_src = x->data->type != ODX_TOKEN_PIT,
		.dst = dst >> shift,
		.src = src->offset >> shift,
		.nr = nr,
	};
	u32 *scratch = NULL;

	if (!rw.pin_src) {
		rw.pslab = &ps->pslab[src->pin];
	} else {
		scratch = kvmalloc_array(nr, sizeof(u32), GFP_KERNEL);
		if (!scratch)
			return -ENOMEM;
		rw.pslab = scratch;
	}
	rw.wop.fn = odx_remap_fn;
	odx_io_run(x->svol, &rw.wop);
	kvfree(scratch);
	*done = rw.done;
	if (rw.done)
		x->remapped = true;
	return rw.error;
}

int odx_copy_remap_slabs(struct odx_volume *vol, u64 dst, u64 src, u32 nr,
			 u32 *done)
{
	struct odx_remap_wop rw = {
		.pin_src = true,
		.dst = dst,
		.src = src,
		.nr = min(nr, ODX_COPY_REMAP_BATCH),
	};

	rw.pslab = kvmalloc_array(rw.nr, sizeof(u32), GFP_NOIO);
	if (!rw.pslab)
		return -ENOMEM;
	rw.wop.fn = odx_remap_fn;
	odx_io_run(vol, &rw.wop);
	kvfree(rw.pslab);
	*done = rw.done;
	if (rw.error)
		return rw.error;
	return rw.done ? 0 : (rw.stop ?: -EMLINK);
}

/* --- the zero token -------------------------------------------------------- */

struct odx_unmap_wop {
	struct odx_wop wop;
	u64 first;		/* virtual slab */
	u32 nr;
	u32 done;		/* unmapped (or were), from the first */
	int error;
};

static void odx_unmap_fn(struct odx_volume *vol, struct odx_wop *wop)
{
	struct odx_unmap_wop *uw = container_of(wop, struct odx_unmap_wop,
						wop);
	unsigned int shift = odx_copy_shift(vol);
	u64 vslab;
	u32 freed;
	int r = 0, idx;

	/*
	 * The range changes without a write: its change-vulnerable tokens
	 * are revoked as a write's are, here, under io_srcu until the
	 * mappings are gone (the fence: see the top of the file).
	 */
	idx = srcu_read_lock(&vol->io_srcu);
	odx_token_invalidate_range(&vol->tokens, uw->first << shift,
				   (u64)uw->nr << shift);
	for (; uw->done < uw->nr; uw->done++) {
		vslab = uw->first + uw->done;
		/* being filled: zeroed through the write path, after it */
		if (odx_io_busy_slab(vol, vslab))
			break;
		if (odx_md_lookup(vol->md, vslab) == ODX_MD_UNMAPPED)
			continue;
		odx_io_changing(vol);
		/* a slab still being written to is reused after a commit */
		r = odx_md_remove(vol->md, vslab, &freed);
		if (r) {
			odx_io_set_failed(vol, "cannot remove a mapping");
			break;
		}
	}
	srcu_read_unlock(&vol->io_srcu, idx);
	uw->error = r;
}

/* Zero [dst, dst + len), inside one slab, through the mapped device. */
static int odx_zero_through(struct odx_xfer *x, u64 dst, u64 len)
{
	struct odx_ctl_io cio;
	int r;

	odx_io_ctl_begin(x->dvol, &cio, dst, len);
	r = blkdev_issue_zeroout(x->dbdev, dst >> SECTOR_SHIFT,
				 len >> SECTOR_SHIFT, GFP_KERNEL, 0);
	return odx_io_ctl_end(x->dvol, &cio) ?: r;
}

/*
 * A piece of a zero-token write from @dst, at most @left bytes: the rest
 * of the slab @dst is in, or a batch of whole slabs. *@written: bytes.
 */
static int odx_zero_piece(struct odx_xfer *x, u64 dst, u64 left,
			  u64 *written)
{
	struct odx_volume *vol = x->dvol;
	u64 slab = odx_copy_slab_bytes(vol), n;
	unsigned int shift = odx_copy_shift(vol);
	struct odx_unmap_wop uw = { .wop.fn = odx_unmap_fn };
	int r;

	if ((dst & (slab - 1)) || left < slab) {
		n = min(left, slab - (dst & (slab - 1)));
		/* unmapped, and not being filled: reads zeros already */
		if (odx_md_lookup(vol->md, dst >> shift) != ODX_MD_UNMAPPED ||
		    odx_io_busy_slab(vol, dst >> shift)) {
			r = odx_zero_through(x, dst, n);
			if (r)
				return r;
		}
		*written = n;
		return 0;
	}
	uw.first = dst >> shift;
	uw.nr = min_t(u64, left >> shift, ODX_COPY_REMAP_BATCH);
	odx_io_run(vol, &uw.wop);
	if (uw.error)
		return uw.error;
	if (!uw.done) {
		/* the first is being filled: zero it after that */
		r = odx_zero_through(x, dst, slab);
		if (r)
			return r;
		uw.done = 1;
	}
	*written = (u64)uw.done << shift;
	return 0;
}

/* --- the transfer ---------------------------------------------------------- */

static int odx_copy_check(struct odx_xfer *x)
{
	if (x->abort && READ_ONCE(*x->abort))
		return -ECANCELED;
	if (!READ_ONCE(x->dvol->ctl_live) ||
	    (x->svol && !READ_ONCE(x->svol->ctl_live)))
		return -EBUSY;
	if (fatal_signal_pending(current))
		return -EINTR;
	return 0;
}

/* One piece of at most ODX_COPY_CHUNK bytes; returns the bytes written. */
static int odx_copy_piece(struct odx_xfer *x, u64 *written)
{
	u64 dst = x->offset + x->done, t = x->transfer_offset + x->done;
	u64 left = x->length - x->done, slab, n;
	struct odx_src src;
	u32 nr, done;
	int r;

	*written = 0;
	if (!x->data)
		return odx_zero_piece(x, dst, left, written);
	r = odx_copy_locate(x, t, &src);
	if (r)
		return r;
	n = min3(left, src.run, ODX_COPY_CHUNK);
	slab = odx_copy_slab_bytes(x->svol);
	if (x->svol == x->dvol && !(dst & (slab - 1)) &&
	    !(src.offset & (slab - 1)) && n >= slab) {
		nr = min_t(u64, n / slab, ODX_COPY_REMAP_BATCH);
		r = odx_copy_remap(x, &src, dst, nr, &done);
		if (r || done) {
			*written = (u64)done * slab;
			return r;
		}
		n = slab;	/* this one could not be remapped */
	} else if (x->svol == x->dvol && (dst & (slab - 1)) &&
		   !((dst ^ src.offset) & (slab - 1))) {
		/* up to the next slab boundary: the rest may remap */
		n = min(n, slab - (dst & (slab - 1)));
	}
	r = odx_copy_data(x, t, dst, n);
	if (!r)
		*written = n;
	return r;
}

int odx_copy_run(struct odx_xfer *x)
{
	u64 written;
	int r = 0, f;

	while (x->done < x->length) {
		r = odx_copy_check(x);
		if (r)
			break;
		r = odx_copy_piece(x, &written);
		WRITE_ONCE(x->done, x->done + written);
		if (r == -ERANGE && x->done) {
			r = 0;		/* the token's data ends here */
			break;
		}
		if (r)
			break;
	}
	if (x->done) {
		/* what was copied is durable before the call returns */
		f = blkdev_issue_flush(x->dbdev);
		if (f && !r)
			r = f;
	}
	return r;
}

int odx_copy_module_init(void)
{
	odx_copy_kc = dm_kcopyd_client_create(NULL);
	if (IS_ERR(odx_copy_kc)) {
		int r = PTR_ERR(odx_copy_kc);

		odx_copy_kc = NULL;
		return r;
	}
	return 0;
}

void odx_copy_module_exit(void)
{
	dm_kcopyd_client_destroy(odx_copy_kc);
}
