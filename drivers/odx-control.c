// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-odx: the control device, /dev/odx-control.
 *
 * Device-mapper forwards block-device ioctls to the underlying device, so
 * a target cannot receive its own: the requests of include/uapi/linux/
 * dm-odx.h come through this misc device instead and name their volume by
 * a file descriptor of the opened mapped device.
 *
 * Finding the volume. A volume is entered in odx_ctl_volumes, keyed by the
 * dev_t of its mapped device, when its table is resumed and it is the only
 * target of that table; it is marked not live when the table is
 * suspended (live again when the suspend is interrupted: presuspend_undo),
 * and leaves when it is destroyed (a reload enters the new table's volume
 * in place of the old one). A request takes a reference on its volume
 * (odx_ctl_get(), under the table's lock, only while it is live) and
 * drops it when done with the volume (odx_ctl_put()). Suspending and
 * destroying wait for that volume's references only, so a volume never
 * goes away under a request and a request never sees a suspended volume's
 * state change under it (a grown map, a swapped table), while requests on
 * other volumes go on. No request holds its reference while it touches
 * user memory, which can wait without bound (userfaultfd, FUSE, a mapping
 * of a suspended device): the queries take it for each piece of their
 * walk and write to user memory between pieces.
 *
 * No request holds a lock for long: the queries walk the map in pieces of
 * ODX_CTL_CHUNK slabs, taking the metadata lock for one piece at a time,
 * and trim is ordinary discard I/O to the mapped device (the same path as
 * blkdiscard, so a trimmed range behaves exactly as a discarded one)
 * followed by a flush, which commits.
 */
#include <linux/bitmap.h>
#include <linux/blkdev.h>
#include <linux/device-mapper.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/pagemap.h>
#include <linux/random.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/xarray.h>

#include "odx.h"
#include "odx-control.h"
#include "odx-copy.h"
#include "odx-query.h"
#include "odx-token.h"

#define DM_MSG_PREFIX "odx"

/* Slabs per piece of a map walk. */
#define ODX_CTL_CHUNK	2048U
/* Ranges written to user memory at once. */
#define ODX_CTL_RANGE_BATCH	32U

static_assert(sizeof(struct odx_describe) == ODX_DESCRIBE_SIZE_VER1);
static_assert(sizeof(struct odx_allocated_ranges) ==
	      ODX_ALLOCATED_RANGES_SIZE_VER0);
static_assert(sizeof(struct odx_slab_bitmap) == ODX_SLAB_BITMAP_SIZE_VER0);
static_assert(sizeof(struct odx_trim) == ODX_TRIM_SIZE_VER0);
static_assert(sizeof(struct odx_range) == 16);
static_assert(sizeof(struct odx_offload_read) == ODX_OFFLOAD_READ_SIZE_VER0);
static_assert(sizeof(struct odx_offload_write) ==
	      ODX_OFFLOAD_WRITE_SIZE_VER0);
static_assert(sizeof(struct odx_operation_status) ==
	      ODX_OPERATION_STATUS_SIZE_VER0);
static_assert(sizeof(struct odx_operation_abort) ==
	      ODX_OPERATION_ABORT_SIZE_VER0);
static_assert(sizeof(struct odx_token_release) ==
	      ODX_TOKEN_RELEASE_SIZE_VER0);
static_assert(offsetof(struct odx_offload_read, token) % 8 == 0);
static_assert(offsetof(struct odx_offload_write, token) % 8 == 0);

static DEFINE_XARRAY(odx_ctl_volumes);
static DEFINE_MUTEX(odx_ctl_lock);	/* serialises changes of the table */
/* volumes that went away: their tokens are revoked, not foreign */
static struct odx_token_graveyard odx_ctl_graveyard;
static atomic64_t odx_ctl_instances = ATOMIC64_INIT(0);

static dev_t odx_ctl_devt(struct odx_volume *vol)
{
	return disk_devt(dm_disk(dm_table_get_md(vol->ti->table)));
}

void odx_ctl_volume_init(struct odx_volume *vol)
{
	init_completion(&vol->ctl_unused);
	atomic_set(&vol->ctl_users, 0);
	vol->ctl_instance = atomic64_inc_return(&odx_ctl_instances);
}

/*
 * A volume's references (struct odx_volume, ctl_users): one per request
 * using it, plus one that the volume holds itself while it is live.
 * ctl_live changes under the table's xa_lock, where odx_ctl_get() tests
 * it: once odx_ctl_close() has cleared it, no request takes a new
 * reference, and the last one dropped completes ctl_unused.
 *
 * Suspend, resume, presuspend_undo and destruction of one mapped device
 * never run at once (device-mapper serialises them), so opening and
 * closing need no lock of their own; and they take no lock that another
 * volume's requests or suspends wait for while they wait.
 */
static void odx_ctl_open(struct odx_volume *vol)
{
	if (vol->ctl_live)
		return;
	reinit_completion(&vol->ctl_unused);
	atomic_set(&vol->ctl_users, 1);
	xa_lock(&odx_ctl_volumes);
	WRITE_ONCE(vol->ctl_live, true);
	xa_unlock(&odx_ctl_volumes);
}

static void odx_ctl_put(struct odx_volume *vol)
{
	if (atomic_dec_and_test(&vol->ctl_users))
		complete(&vol->ctl_unused);
}

static void odx_ctl_close(struct odx_volume *vol)
{
	if (!vol->ctl_live)
		return;
	xa_lock(&odx_ctl_volumes);
	WRITE_ONCE(vol->ctl_live, false);
	xa_unlock(&odx_ctl_volumes);
	odx_ctl_put(vol);
	wait_for_completion(&vol->ctl_unused);
}

/* A reference on @vol, found under the table's xa_lock; or an error. */
static int odx_ctl_get_locked(struct odx_volume *vol)
{
	lockdep_assert_held(&odx_ctl_volumes.xa_lock);
	if (!vol)
		return -ENODEV;
	if (!vol->ctl_live)
		return -EBUSY;
	atomic_inc(&vol->ctl_users);
	return 0;
}

void odx_ctl_register(struct odx_volume *vol)
{
	struct dm_target *ti = vol->ti;
	sector_t capacity = get_capacity(dm_disk(dm_table_get_md(ti->table)));
	void *old;

	/* only a table of this one target spanning the device */
	if (ti->begin || ti->len != capacity)
		return;
	mutex_lock(&odx_ctl_lock);
	vol->ctl_devt = odx_ctl_devt(vol);
	old = xa_store(&odx_ctl_volumes, vol->ctl_devt, vol, GFP_KERNEL);
	if (xa_is_err(old)) {
		DMWARN("%s: cannot register with the control device: error %d",
		       dm_table_device_name(ti->table), xa_err(old));
	} else {
		vol->ctl_registered = true;
		odx_ctl_open(vol);
	}
	mutex_unlock(&odx_ctl_lock);
}

/* Only this volume's requests are waited for. */
void odx_ctl_suspend(struct odx_volume *vol)
{
	if (vol->ctl_registered)
		odx_ctl_close(vol);
}

void odx_ctl_suspend_undo(struct odx_volume *vol)
{
	if (vol->ctl_registered)
		odx_ctl_open(vol);
}

void odx_ctl_unregister(struct odx_volume *vol)
{
	if (!vol->ctl_registered)
		return;
	mutex_lock(&odx_ctl_lock);
	/* a reload may have entered its own volume in our place */
	xa_cmpxchg(&odx_ctl_volumes, vol->ctl_devt, vol, NULL, GFP_KERNEL);
	odx_token_graveyard_add(&odx_ctl_graveyard, vol->tokens.volume_id);
	vol->ctl_registered = false;
	mutex_unlock(&odx_ctl_lock);
	/* out of the table: no request finds it again; wait for the rest */
	odx_ctl_close(vol);
}

/*
 * A request names its volume by the mapped device @file is open on;
 * @fmode is what @file must be open for. A reference on the volume, which
 * stays valid until odx_ctl_put().
 */
static int odx_ctl_get(struct file *file, fmode_t fmode,
		       struct odx_volume **volp)
{
	struct odx_volume *vol;
	int r;

	if (!S_ISBLK(file_inode(file)->i_mode))
		return -ENOTBLK;
	if ((file->f_mode & fmode) != fmode)
		return -EBADF;
	xa_lock(&odx_ctl_volumes);
	vol = xa_load(&odx_ctl_volumes, file_bdev(file)->bd_dev);
	r = odx_ctl_get_locked(vol);
	xa_unlock(&odx_ctl_volumes);
	if (!r)
		*volp = vol;
	return r;
}

/*
 * A reference on the same table instance as before, for a request that
 * dropped its reference to touch user memory: -EBUSY if the volume is
 * suspended or its table was replaced meanwhile.
 */
static int odx_ctl_get_again(struct file *file, u64 instance,
			     struct odx_volume **volp)
{
	int r = odx_ctl_get(file, 0, volp);

	if (r == -ENODEV || (!r && (*volp)->ctl_instance != instance)) {
		if (!r)
			odx_ctl_put(*volp);
		return -EBUSY;
	}
	return r;
}

/* The file @ufd names and a reference on its volume; see odx_ctl_get(). */
static int odx_ctl_volume(int ufd, fmode_t fmode, struct file **filep,
			  struct odx_volume **volp)
{
	struct file *file = fget(ufd);
	int r;

	if (!file)
		return -EBADF;
	r = odx_ctl_get(file, fmode, volp);
	if (r) {
		fput(file);
		return r;
	}
	*filep = file;
	return 0;
}

/* Done with the request's file and volume. */
static void odx_ctl_release(struct file *file, struct odx_volume *vol)
{
	odx_ctl_put(vol);
	fput(file);
}

static u64 odx_ctl_size(struct odx_volume *vol)
{
	return (u64)vol->ti->len << SECTOR_SHIFT;
}

static u64 odx_ctl_slab_bytes(struct odx_volume *vol)
{
	return (u64)vol->geo.slab_sectors << SECTOR_SHIFT;
}

static u32 odx_ctl_lbs(struct file *file)
{
	return bdev_logical_block_size(file_bdev(file));
}

/*
 * Copy a request in: @size (its first field) must be at least the first
 * version's and at most a page; bytes this kernel does not know must be
 * zero.
 */
static int odx_ctl_copy_in(void *req, size_t ksize, size_t ver0,
			   const void __user *arg, u32 *usize)
{
	if (get_user(*usize, (const u32 __user *)arg))
		return -EFAULT;
	if (*usize < ver0)
		return -EINVAL;
	if (*usize > PAGE_SIZE)
		return -E2BIG;
	return copy_struct_from_user(req, ksize, arg, *usize);
}

static int odx_ctl_copy_out(void __user *arg, const void *req, size_t ksize,
			    u32 usize)
{
	return copy_to_user(arg, req, min_t(size_t, ksize, usize)) ?
		-EFAULT : 0;
}

/* 1: the provisioning and offload descriptor */
static void odx_ctl_describe(struct odx_volume *vol, struct file *file,
			     struct odx_describe *d)
{
	const struct odx_features *f = &vol->features;
	struct odx_token_stats ts;
	struct odx_md_stats st;
	enum odx_mode mode = READ_ONCE(vol->mode);

	odx_md_stats(vol->md, &st);
	d->flags = ODX_DESC_THIN | ODX_DESC_READ_ZEROES_AFTER_UNMAP;
	if (!odx_feature(f, ODX_FEAT_IGNORE_DISCARD)) {
		d->flags |= ODX_DESC_UNMAP;
		if (!odx_feature(f, ODX_FEAT_NO_DISCARD_PASSDOWN))
			d->flags |= ODX_DESC_UNMAP_PASSDOWN;
	}
	if (odx_feature(f, ODX_FEAT_SKIP_ZEROING))
		d->flags |= ODX_DESC_SKIP_ZEROING;
	if (mode == ODX_MODE_RO)
		d->flags |= ODX_DESC_READ_ONLY;
	if (st.needs_check)
		d->flags |= ODX_DESC_NEEDS_CHECK;
	d->logical_block_size = odx_ctl_lbs(file);
	d->virtual_size = odx_ctl_size(vol);
	d->slab_size = odx_ctl_slab_bytes(vol);
	d->unmap_alignment = 0;
	d->max_unmap_bytes = round_down(d->virtual_size,
					(u64)d->logical_block_size);
	d->max_unmap_ranges = ODX_TRIM_MAX_RANGES;
	switch (mode) {
	case ODX_MODE_RW:
		d->mode = ODX_DESC_MODE_RW;
		break;
	case ODX_MODE_RO:
		d->mode = ODX_DESC_MODE_RO;
		break;
	case ODX_MODE_OUT_OF_DATA_SPACE:
		d->mode = ODX_DESC_MODE_OUT_OF_DATA_SPACE;
		break;
	case ODX_MODE_FAIL:
		d->mode = ODX_DESC_MODE_FAIL;
		break;
	}
	d->total_slabs = st.data_slabs;
	d->used_slabs = st.used_slabs;
	d->free_slabs = st.free_slabs;
	d->shared_slabs = st.shared_slabs;
	d->virtual_slabs = odx_slabs_for(&vol->geo, vol->ti->len);
	d->transaction_id = st.txn_id;

	odx_token_stats(&vol->tokens, &ts);
	d->flags |= ODX_DESC_OFFLOAD;
	d->max_token_lifetime = vol->tokens.limits.max_lifetime;
	d->default_token_lifetime = vol->tokens.limits.default_lifetime;
	d->max_transfer_bytes = ODX_COPY_MAX_BYTES;
	d->optimal_transfer_bytes = max(d->slab_size, ODX_COPY_CHUNK);
	d->max_copy_ranges = ODX_OFFLOAD_MAX_RANGES;
	d->max_tokens = vol->tokens.limits.max_tokens;
	d->live_tokens = ts.live;
	d->pinned_slabs = ts.pinned;
	d->max_pinned_slabs = vol->tokens.limits.max_pinned;
}

static int odx_ctl_ioc_describe(void __user *arg)
{
	struct odx_describe d;
	struct odx_volume *vol;
	struct file *file;
	u32 usize;
	int r;

	r = odx_ctl_copy_in(&d, sizeof(d), ODX_DESCRIBE_SIZE_VER0, arg, &usize);
	if (r)
		return r;
	r = odx_ctl_volume(d.fd, FMODE_READ, &file, &vol);
	if (r)
		return r;
	d = (struct odx_describe){ .size = d.size, .fd = d.fd };
	odx_ctl_describe(vol, file, &d);
	odx_ctl_release(file, vol);
	return odx_ctl_copy_out(arg, &d, sizeof(d), usize);
}

/*
 * A query's walk of the map in pieces: what it needs of its volume, read
 * once under the request's reference, and each piece's bits, read under a
 * reference of its own; user memory is written between pieces, with no
 * reference held.
 */
struct odx_ctl_walk {
	struct file *file;
	u64 instance;			/* of the volume's table */
	u64 slab_bytes;
	u64 size;			/* of the volume, bytes */
	unsigned long *mapped;
	unsigned long *shared;
};

static void odx_ctl_walk_init(struct odx_ctl_walk *w, struct file *file,
			      struct odx_volume *vol)
{
	w->file = file;
	w->instance = vol->ctl_instance;
	w->slab_bytes = odx_ctl_slab_bytes(vol);
	w->size = odx_ctl_size(vol);
	w->mapped = NULL;
	w->shared = NULL;
}

static int odx_ctl_walk_alloc(struct odx_ctl_walk *w, bool shared)
{
	w->mapped = bitmap_zalloc(ODX_CTL_CHUNK, GFP_KERNEL);
	w->shared = shared ? bitmap_zalloc(ODX_CTL_CHUNK, GFP_KERNEL) : NULL;
	if (!w->mapped || (shared && !w->shared)) {
		bitmap_free(w->mapped);
		bitmap_free(w->shared);
		w->mapped = NULL;
		w->shared = NULL;
		return -ENOMEM;
	}
	return 0;
}

static void odx_ctl_walk_free(struct odx_ctl_walk *w)
{
	bitmap_free(w->mapped);
	bitmap_free(w->shared);
}

/* -EINTR on a fatal signal, -EBUSY if the volume was suspended. */
static int odx_ctl_walk_piece(struct odx_ctl_walk *w, u64 first,
			      unsigned int nr)
{
	struct odx_volume *vol;
	int r;

	if (fatal_signal_pending(current))
		return -EINTR;
	cond_resched();
	r = odx_ctl_get_again(w->file, w->instance, &vol);
	if (r)
		return r;
	odx_md_slab_bits(vol->md, first, nr, w->mapped, w->shared);
	odx_ctl_put(vol);
	return 0;
}

/*
 * Is the user array at @uaddr writable for @nr entries of @esize bytes? A
 * NULL array never is (even for no entries). Faults the pages in without
 * writing to them.
 */
static int odx_ctl_probe(u64 uaddr, size_t esize, u64 nr)
{
	void __user *p = u64_to_user_ptr(uaddr);
	u64 bytes;

	if (!uaddr || check_mul_overflow(nr, (u64)esize, &bytes) ||
	    bytes > SIZE_MAX || !access_ok(p, bytes))
		return -EFAULT;
	if (bytes && fault_in_safe_writeable(p, bytes))
		return -EFAULT;
	return 0;
}

/* Slabs [offset, offset + length) touches. */
static u64 odx_ctl_slabs_in(u64 slab, u64 offset, u64 length)
{
	if (!length)
		return 0;
	return div64_u64(offset + length - 1, slab) -
		div64_u64(offset, slab) + 1;
}

/* 2: allocated ranges */
struct odx_ctl_ranges_out {
	struct odx_range __user *user;
	u32 capacity, count;
	unsigned int nr;			/* in buf */
	struct odx_range buf[ODX_CTL_RANGE_BATCH];
};

static int odx_ctl_ranges_flush(struct odx_ctl_ranges_out *o)
{
	if (o->nr && copy_to_user(o->user + o->count - o->nr, o->buf,
				  o->nr * sizeof(o->buf[0])))
		return -EFAULT;
	o->nr = 0;
	return 0;
}

/* 1: stored, 0: no room (the caller reports "more data"), or an error */
static int odx_ctl_ranges_put(struct odx_ctl_ranges_out *o, u64 start,
			      u64 end)
{
	int r;

	if (o->count == o->capacity)
		return 0;
	o->buf[o->nr].offset = start;
	o->buf[o->nr].length = end - start;
	o->nr++;
	o->count++;
	if (o->nr == ODX_CTL_RANGE_BATCH) {
		r = odx_ctl_ranges_flush(o);
		if (r)
			return r;
	}
	return 1;
}

static int odx_ctl_allocated(struct odx_ctl_walk *w,
			     struct odx_allocated_ranges *q,
			     struct odx_ctl_ranges_out *o)
{
	u64 slab = w->slab_bytes;
	u64 end = q->offset + q->length;
	u64 first, last, base, s, e;
	struct odx_q_ranges b;
	unsigned int nr, i, j;
	int r = 0;

	if (!q->length)
		return 0;
	r = odx_ctl_walk_alloc(w, false);
	if (r)
		return r;
	odx_q_ranges_init(&b, q->offset, end);
	first = div64_u64(q->offset, slab);
	last = div64_u64(end - 1, slab);
	for (base = first; base <= last; base += nr) {
		nr = min_t(u64, ODX_CTL_CHUNK, last - base + 1);
		r = odx_ctl_walk_piece(w, base, nr);
		if (r)
			goto out;
		for (i = find_first_bit(w->mapped, nr); i < nr;
		     i = find_next_bit(w->mapped, nr, j)) {
			j = find_next_zero_bit(w->mapped, nr, i);
			if (!odx_q_ranges_feed(&b, (base + i) * slab,
					       (base + j) * slab, &s, &e))
				continue;
			r = odx_ctl_ranges_put(o, s, e);
			if (r <= 0)
				goto full;
		}
	}
	r = 1;
	if (odx_q_ranges_finish(&b, &s, &e))
		r = odx_ctl_ranges_put(o, s, e);
full:
	if (!r) {
		/* [s, e) did not fit: the caller asks again from there */
		q->flags |= ODX_RANGES_MORE_DATA;
		q->resume_offset = s;
	}
	r = r < 0 ? r : 0;
out:
	odx_ctl_walk_free(w);
	return r;
}

static int odx_ctl_ioc_allocated(void __user *arg)
{
	struct odx_ctl_ranges_out *o;
	struct odx_allocated_ranges q;
	struct odx_volume *vol;
	struct odx_ctl_walk w;
	struct file *file;
	u32 usize;
	int r;

	r = odx_ctl_copy_in(&q, sizeof(q), ODX_ALLOCATED_RANGES_SIZE_VER0, arg,
			    &usize);
	if (r)
		return r;
	if (q.reserved)
		return -EINVAL;
	q.count = 0;
	q.flags = 0;
	q.resume_offset = 0;
	o = kzalloc(sizeof(*o), GFP_KERNEL);
	if (!o)
		return -ENOMEM;
	o->user = u64_to_user_ptr(q.ranges);
	o->capacity = q.capacity;

	r = odx_ctl_volume(q.fd, FMODE_READ, &file, &vol);
	if (r)
		goto out;
	odx_ctl_walk_init(&w, file, vol);
	/* the walk's pieces take references of their own */
	odx_ctl_put(vol);
	r = odx_q_check_range(q.offset, q.length, odx_ctl_lbs(file), w.size);
	if (!r && !q.capacity)
		r = -ENOBUFS;
	/* as many entries as the query could need must be writable */
	if (!r && odx_ctl_probe(q.ranges, sizeof(o->buf[0]),
				min_t(u64, q.capacity,
				      odx_ctl_slabs_in(w.slab_bytes, q.offset,
						       q.length))))
		r = -EFAULT;
	if (!r)
		r = odx_ctl_allocated(&w, &q, o);
	if (!r)
		r = odx_ctl_ranges_flush(o);
	fput(file);
out:
	if (!r) {
		q.count = o->count;
		r = odx_ctl_copy_out(arg, &q, sizeof(q), usize);
	}
	kfree(o);
	return r;
}

/* 3: slab allocation bitmap */
static int odx_ctl_bitmap(struct odx_ctl_walk *w, struct odx_slab_bitmap *q)
{
	u32 __user *ubits = u64_to_user_ptr(q->bitmap);
	u32 __user *ushared = u64_to_user_ptr(q->shared_bitmap);
	struct odx_q_bitmap_span span;
	u32 *words;
	u64 done, words_off;
	unsigned int nr, nw;
	int r;

	q->slab_size = w->slab_bytes;
	odx_q_bitmap_adjust(q->offset, q->length, q->slab_size, w->size,
			    &span);
	q->offset_delta = span.delta;
	q->bit_count = min_t(u64, span.nr, (u64)q->capacity * 32);
	q->bitmap_length = odx_q_bitmap_words(q->bit_count);
	if (span.nr > q->bit_count)
		q->flags |= ODX_BITMAP_MORE_DATA;
	/* the words the answer needs must be writable */
	if (odx_ctl_probe(q->bitmap, sizeof(u32), q->bitmap_length) ||
	    (q->shared_bitmap &&
	     odx_ctl_probe(q->shared_bitmap, sizeof(u32), q->bitmap_length)))
		return -EFAULT;
	if (!q->bit_count)
		return 0;

	words = kmalloc_array(ODX_CTL_CHUNK / 32, sizeof(*words), GFP_KERNEL);
	if (!words)
		return -ENOMEM;
	r = odx_ctl_walk_alloc(w, ushared);
	if (r)
		goto out_words;
	for (done = 0; done < q->bit_count; done += nr) {
		nr = min_t(u64, ODX_CTL_CHUNK, q->bit_count - done);
		nw = odx_q_bitmap_words(nr);
		words_off = done / 32;
		r = odx_ctl_walk_piece(w, span.first + done, nr);
		if (r)
			break;
		bitmap_to_arr32(words, w->mapped, nr);
		if (copy_to_user(ubits + words_off, words, nw * sizeof(u32))) {
			r = -EFAULT;
			break;
		}
		if (!ushared)
			continue;
		bitmap_to_arr32(words, w->shared, nr);
		if (copy_to_user(ushared + words_off, words,
				 nw * sizeof(u32))) {
			r = -EFAULT;
			break;
		}
	}
	odx_ctl_walk_free(w);
out_words:
	kfree(words);
	return r;
}

static int odx_ctl_ioc_bitmap(void __user *arg)
{
	struct odx_slab_bitmap q;
	struct odx_volume *vol;
	struct odx_ctl_walk w;
	struct file *file;
	u32 usize;
	int r;

	r = odx_ctl_copy_in(&q, sizeof(q), ODX_SLAB_BITMAP_SIZE_VER0, arg,
			    &usize);
	if (r)
		return r;
	if (q.reserved)
		return -EINVAL;
	q.flags = 0;

	r = odx_ctl_volume(q.fd, FMODE_READ, &file, &vol);
	if (r)
		return r;
	odx_ctl_walk_init(&w, file, vol);
	/* the walk's pieces take references of their own */
	odx_ctl_put(vol);
	r = odx_q_check_range(q.offset, q.length, odx_ctl_lbs(file), w.size);
	if (!r && !q.capacity)
		r = -ENOBUFS;
	if (!r)
		r = odx_ctl_bitmap(&w, &q);
	fput(file);
	return r ? r : odx_ctl_copy_out(arg, &q, sizeof(q), usize);
}

/* 4: trim */

/*
 * The page cache of a range that a trim or an offload write changes below
 * it. As BLKDISCARD does: the device is claimed while its pages go,
 * unless the caller's own fd holds it exclusively, and the mapping's
 * invalidate lock is held from before the change until after it, so that
 * no fault or readahead reads the old blocks back in meanwhile. Unlike
 * BLKDISCARD:
 *  - a device someone else holds exclusively (a mounted file system) is
 *    refused with -EBUSY: changing blocks under a file system destroys it;
 *  - a page the range starts or ends inside (512-byte blocks in 4 KiB
 *    pages) is written back and dropped whole, never truncated: truncating
 *    zeroes its part of the range in the cache, which buffered reads then
 *    return and, were the page dirty, writeback lays over the new blocks.
 *    Pages wholly inside the range are dropped unwritten, their data is
 *    being replaced.
 */
static int odx_ctl_cache_drop(struct file *file, u64 start, u64 end)
{
	struct block_device *bdev = file_bdev(file);
	struct address_space *mapping = bdev->bd_mapping;
	bool claim = !(file->f_flags & O_EXCL);
	u64 inner_start = round_up(start, PAGE_SIZE);
	u64 inner_end = round_down(end, PAGE_SIZE);
	int r;

	if (claim && bd_prepare_to_claim(bdev, odx_ctl_cache_drop, NULL))
		return -EBUSY;
	if (inner_start < inner_end)
		truncate_inode_pages_range(mapping, inner_start, inner_end - 1);
	/* what is left in the range: the pages it starts and ends in */
	r = filemap_write_and_wait_range(mapping, start, end - 1);
	if (!r)
		r = invalidate_inode_pages2_range(mapping, start >> PAGE_SHIFT,
						  (end - 1) >> PAGE_SHIFT);
	if (claim)
		bd_abort_claiming(bdev, odx_ctl_cache_drop);
	return r;
}

/* Before changing [start, end) below the cache: see odx_ctl_cache_drop(). */
static int odx_ctl_cache_begin(struct file *file, u64 start, u64 end)
{
	struct address_space *mapping = file_bdev(file)->bd_mapping;
	int r;

	filemap_invalidate_lock(mapping);
	r = odx_ctl_cache_drop(file, start, end);
	if (r)
		filemap_invalidate_unlock(mapping);
	return r;
}

/*
 * After the change: pages a buffered write brought in meanwhile go too.
 * As after a direct write, a page that cannot go (dirtied again) is the
 * racing writer's; the change itself is done and stands.
 */
static void odx_ctl_cache_end(struct file *file, u64 start, u64 end)
{
	odx_ctl_cache_drop(file, start, end);
	filemap_invalidate_unlock(file_bdev(file)->bd_mapping);
}

static int odx_ctl_trim(struct odx_volume *vol, struct file *file,
			const struct odx_range *ranges, u32 count,
			u32 *processed)
{
	struct block_device *bdev = file_bdev(file);
	u32 lbs = odx_ctl_lbs(file);
	u64 size = odx_ctl_size(vol);
	const struct odx_range *rg;
	struct odx_ctl_io cio;
	int r = 0, f;
	u32 i;

	for (i = 0; i < count; i++) {
		rg = &ranges[i];
		if (!READ_ONCE(vol->ctl_live)) {
			r = -EBUSY;
			break;
		}
		if (fatal_signal_pending(current)) {
			r = -EINTR;
			break;
		}
		r = odx_q_check_range(rg->offset, rg->length, lbs, size);
		if (r)
			break;
		if (!rg->length)
			continue;
		/*
		 * A noflush suspend fails the discard (and the writeback of
		 * a page the range starts or ends in) if it waits for space,
		 * instead of holding the suspend: -EBUSY.
		 */
		odx_io_ctl_begin(vol, &cio, rg->offset, rg->length);
		r = odx_ctl_cache_begin(file, rg->offset,
					rg->offset + rg->length);
		if (!r) {
			r = blkdev_issue_discard(bdev,
						 rg->offset >> SECTOR_SHIFT,
						 rg->length >> SECTOR_SHIFT,
						 GFP_KERNEL);
			odx_ctl_cache_end(file, rg->offset,
					  rg->offset + rg->length);
		}
		r = odx_io_ctl_end(vol, &cio) ?: r;
		if (r)
			break;
	}
	*processed = i;
	if (i) {
		/* what was trimmed is durable before the call returns */
		f = blkdev_issue_flush(bdev);
		if (f && !r)
			r = f;
	}
	return r;
}

static int odx_ctl_ioc_trim(void __user *arg)
{
	struct odx_range *ranges = NULL;
	struct odx_volume *vol;
	struct odx_trim q;
	struct file *file;
	u32 usize;
	int r;

	r = odx_ctl_copy_in(&q, sizeof(q), ODX_TRIM_SIZE_VER0, arg, &usize);
	if (r)
		return r;
	q.processed = 0;
	if (q.flags || q.reserved || !q.count) {
		r = -EINVAL;
		goto done;
	}
	if (q.count > ODX_TRIM_MAX_RANGES) {
		r = -E2BIG;
		goto done;
	}
	/* the whole array first: a bad one changes nothing */
	ranges = memdup_array_user(u64_to_user_ptr(q.ranges), q.count,
				   sizeof(*ranges));
	if (IS_ERR(ranges)) {
		r = PTR_ERR(ranges);
		ranges = NULL;
		goto done;
	}

	r = odx_ctl_volume(q.fd, FMODE_WRITE, &file, &vol);
	if (r)
		goto done;
	if (odx_feature(&vol->features, ODX_FEAT_IGNORE_DISCARD))
		r = -EOPNOTSUPP;
	else if (READ_ONCE(vol->mode) == ODX_MODE_FAIL)
		r = -EIO;
	else if (READ_ONCE(vol->mode) == ODX_MODE_RO ||
		 bdev_read_only(file_bdev(file)))
		r = -EROFS;
	else
		r = odx_ctl_trim(vol, file, ranges, q.count, &q.processed);
	odx_ctl_release(file, vol);
done:
	kfree(ranges);
	/* the number processed goes back also when the trim failed */
	if (put_user(q.processed, &((struct odx_trim __user *)arg)->processed))
		return -EFAULT;
	return r;
}

/*
 * 5-9: offloaded data transfer: tokens (odx-token.c) and the copy engine
 * (odx-copy.c) behind requests 5 and 6, the records of asynchronous
 * operations for requests 7 and 8, and token release (9).
 */

/* 5: offload read (populate token) */
static int odx_ctl_offload_read(struct odx_volume *vol, struct file *file,
				struct odx_offload_read *q,
				const struct odx_range *ranges, u32 type)
{
	u32 lbs = odx_ctl_lbs(file);
	u64 size = odx_ctl_size(vol);
	bool by_reader;
	int r;
	u32 i;

	if (READ_ONCE(vol->mode) == ODX_MODE_FAIL)
		return -EIO;
	for (i = 0; i < q->count; i++) {
		r = odx_q_check_range(ranges[i].offset, ranges[i].length, lbs,
				      size);
		if (r)
			return r;
		if (!ranges[i].length)
			return -EINVAL;
	}
	/*
	 * Pinning makes the volume's writers copy on write and holds space:
	 * a reader (no write access, no CAP_SYS_ADMIN) pins within the
	 * readers' share (max_pinned_by_readers_percent).
	 */
	by_reader = !(file->f_mode & FMODE_WRITE) &&
		    !ns_capable_noaudit(&init_user_ns, CAP_SYS_ADMIN);
	return odx_copy_populate(vol, type, &q->lifetime, ranges, q->count,
				 by_reader, &q->token, &q->bytes);
}

static int odx_ctl_ioc_offload_read(void __user *arg)
{
	struct odx_range *ranges = NULL;
	struct odx_offload_read *q;
	struct odx_volume *vol;
	struct file *file;
	u32 usize, type;
	int r;

	q = kmalloc(sizeof(*q), GFP_KERNEL);
	if (!q)
		return -ENOMEM;
	r = odx_ctl_copy_in(q, sizeof(*q), ODX_OFFLOAD_READ_SIZE_VER0, arg,
			    &usize);
	if (r)
		goto out;
	type = q->token_type ? q->token_type : ODX_TOKEN_PIT;
	if (q->flags || q->reserved || !q->count) {
		r = -EINVAL;
		goto out;
	}
	if (q->count > ODX_OFFLOAD_MAX_RANGES) {
		r = -E2BIG;
		goto out;
	}
	if (type != ODX_TOKEN_PIT && type != ODX_TOKEN_CHANGE_VULNERABLE) {
		r = -EPROTONOSUPPORT;
		goto out;
	}
	ranges = memdup_array_user(u64_to_user_ptr(q->ranges), q->count,
				   sizeof(*ranges));
	if (IS_ERR(ranges)) {
		r = PTR_ERR(ranges);
		ranges = NULL;
		goto out;
	}
	q->bytes = 0;
	memset(&q->token, 0, sizeof(q->token));

	r = odx_ctl_volume(q->fd, FMODE_READ, &file, &vol);
	if (!r) {
		r = odx_ctl_offload_read(vol, file, q, ranges, type);
		odx_ctl_release(file, vol);
	}
	if (!r)
		r = odx_ctl_copy_out(arg, q, sizeof(*q), usize);
out:
	kfree(ranges);
	kfree_sensitive(q);
	return r;
}

/*
 * The live token @info stands for, from the volume that issued it (any
 * registered volume, this one or another), with a reference on that
 * volume (odx_ctl_token_put()). A volume that went away revoked its
 * tokens; one never seen here makes the token foreign.
 */
static int odx_ctl_token_lookup(const struct odx_token_info *info,
				struct odx_token_data **datap,
				struct odx_volume **svolp)
{
	struct odx_volume *vol;
	unsigned long devt;
	int r = -ENODEV;

	*datap = NULL;
	*svolp = NULL;
	if (odx_token_is_zero(info))
		return 0;
	xa_lock(&odx_ctl_volumes);
	xa_for_each(&odx_ctl_volumes, devt, vol) {
		if (!memcmp(vol->tokens.volume_id, info->volume_id,
			    sizeof(info->volume_id))) {
			r = odx_ctl_get_locked(vol);
			break;
		}
	}
	xa_unlock(&odx_ctl_volumes);
	if (r == -ENODEV)
		return odx_token_graveyard_has(&odx_ctl_graveyard,
					       info->volume_id) ?
			-EKEYREVOKED : -EXDEV;
	if (r)
		return r;
	r = odx_token_lookup(&vol->tokens, info, datap);
	if (r) {
		odx_ctl_put(vol);
		return r;
	}
	*svolp = vol;
	return 0;
}

/* Done with what odx_ctl_token_lookup() found. */
static void odx_ctl_token_put(struct odx_token_data *data,
			      struct odx_volume *svol)
{
	odx_token_put(data);
	if (svol)
		odx_ctl_put(svol);
}

static bool odx_ctl_token_error(int r)
{
	return odx_token_ascq(r) != 0;
}

/* 6: offload write (write using token) */

/* Checks of a write request against its destination volume. */
static int odx_ctl_write_check(struct odx_volume *vol, struct file *file,
			       const struct odx_offload_write *q)
{
	u32 lbs = odx_ctl_lbs(file);
	int r;

	r = odx_q_check_range(q->offset, q->length, lbs, odx_ctl_size(vol));
	if (r)
		return r;
	if (q->transfer_offset & (lbs - 1))
		return -EINVAL;
	if (READ_ONCE(vol->mode) == ODX_MODE_FAIL)
		return -EIO;
	if (READ_ONCE(vol->mode) == ODX_MODE_RO ||
	    bdev_read_only(file_bdev(file)))
		return -EROFS;
	return 0;
}

/*
 * Copy @info's data to @vol, whose mapped device @file is: the transfer
 * of @x (offset, length, transfer offset, abort filled in), under a
 * reference on @vol. *@token_bad says the token was the problem.
 */
static int odx_ctl_transfer(struct odx_volume *vol, struct file *file,
			    const struct odx_token_info *info,
			    struct odx_xfer *x, bool *token_bad)
{
	struct odx_token_data *data;
	struct odx_volume *svol;
	u64 end;
	int r;

	*token_bad = false;
	r = odx_ctl_token_lookup(info, &data, &svol);
	if (r) {
		*token_bad = odx_ctl_token_error(r);
		return r;
	}
	if (data && x->transfer_offset >= data->bytes) {
		odx_ctl_token_put(data, svol);
		return -ERANGE;
	}
	x->dvol = vol;
	x->dbdev = file_bdev(file);
	x->svol = svol;
	x->data = data;
	x->done = 0;
	if (data)
		x->length = min(x->length, data->bytes - x->transfer_offset);
	x->length = min(x->length, ODX_COPY_MAX_BYTES);
	if (!x->length) {
		odx_ctl_token_put(data, svol);
		return 0;
	}
	end = x->offset + x->length;
	/* as trim: the page cache of the range goes before and after */
	r = odx_ctl_cache_begin(file, x->offset, end);
	if (!r) {
		r = odx_copy_run(x);
		odx_ctl_cache_end(file, x->offset, end);
	}
	odx_ctl_token_put(data, svol);
	*token_bad = odx_ctl_token_error(r);
	return r;
}

/* --- asynchronous operations (ODX_WRITE_IMMEDIATE) ---------------------- */

/*
 * An offload write started with ODX_WRITE_IMMEDIATE runs on odx_ctl_wq;
 * its record stays in odx_ctl_ops (by id) until ODX_CTL_OPS_KEPT newer
 * ones have ended after it. The operation holds its destination's file,
 * not its volumes: it takes references on them, as a request does, when
 * it starts.
 *
 * An operation belongs to its destination's mapped device (the disk's
 * diskseq, which a reload keeps and a new device never reuses): status
 * and abort through any other volume answer ENOENT, as for an id never
 * issued. Ids are random, so that one volume's ids say nothing of
 * another's.
 */
#define ODX_CTL_OPS_KEPT	64U
#define ODX_CTL_OPS_MAX		1024U	/* running at once */

struct odx_ctl_op {
	u64 id;
	u64 diskseq;			/* of the destination's mapped device */
	struct work_struct work;
	struct file *file;
	struct odx_token_info info;
	struct odx_xfer x;
	u64 length;			/* asked */
	bool abort;
	bool running;
	u8 status;			/* ODX_OP_* */
	int error;
	bool token_bad;
	struct list_head ended;		/* odx_ctl_ops_ended, oldest first */
};

static DEFINE_XARRAY(odx_ctl_ops);
static DEFINE_SPINLOCK(odx_ctl_ops_lock);	/* the records' outputs */
static LIST_HEAD(odx_ctl_ops_ended);
static unsigned int odx_ctl_nr_ended, odx_ctl_nr_running;
static struct workqueue_struct *odx_ctl_wq;

static u8 odx_ctl_op_result(struct odx_ctl_op *op)
{
	if (op->abort && op->error == -ECANCELED)
		return ODX_OP_TERMINATED;
	if (op->error)
		return ODX_OP_FAILED;
	if (op->x.done < op->length)
		return ODX_OP_DONE_RESIDUAL;
	return ODX_OP_DONE;
}

static void odx_ctl_op_work(struct work_struct *work)
{
	struct odx_ctl_op *op = container_of(work, struct odx_ctl_op, work);
	struct odx_ctl_op *old = NULL;
	struct odx_volume *vol;
	bool bad = false;
	int r;

	r = odx_ctl_get(op->file, FMODE_WRITE, &vol);
	if (!r) {
		r = odx_ctl_transfer(vol, op->file, &op->info, &op->x, &bad);
		odx_ctl_put(vol);
	}
	memzero_explicit(op->info.secret, sizeof(op->info.secret));
	fput(op->file);
	op->file = NULL;

	spin_lock(&odx_ctl_ops_lock);
	op->error = r;
	op->token_bad = bad;
	op->status = odx_ctl_op_result(op);
	op->running = false;
	odx_ctl_nr_running--;
	list_add_tail(&op->ended, &odx_ctl_ops_ended);
	if (++odx_ctl_nr_ended > ODX_CTL_OPS_KEPT) {
		old = list_first_entry(&odx_ctl_ops_ended, struct odx_ctl_op,
				       ended);
		list_del(&old->ended);
		odx_ctl_nr_ended--;
		/* status requests look records up under the lock */
		xa_erase(&odx_ctl_ops, old->id);
	}
	spin_unlock(&odx_ctl_ops_lock);
	kfree(old);
	module_put(THIS_MODULE);
}

static int odx_ctl_op_start(struct file *file, struct odx_offload_write *q,
			    const struct odx_token_info *info)
{
	struct odx_ctl_op *op;
	unsigned int tries;
	u32 id;
	int r;

	op = kzalloc(sizeof(*op), GFP_KERNEL);
	if (!op)
		return -ENOMEM;
	op->info = *info;
	op->x.offset = q->offset;
	op->x.length = q->length;
	op->x.transfer_offset = q->transfer_offset;
	op->x.abort = &op->abort;
	op->length = q->length;
	op->diskseq = file_bdev(file)->bd_disk->diskseq;
	op->running = true;
	op->status = ODX_OP_IN_PROGRESS_BACKGROUND;
	INIT_LIST_HEAD(&op->ended);
	INIT_WORK(&op->work, odx_ctl_op_work);
	spin_lock(&odx_ctl_ops_lock);
	if (odx_ctl_nr_running >= ODX_CTL_OPS_MAX) {
		spin_unlock(&odx_ctl_ops_lock);
		kfree_sensitive(op);
		return -EAGAIN;
	}
	odx_ctl_nr_running++;
	spin_unlock(&odx_ctl_ops_lock);
	/*
	 * A random id (never 0): at most ODX_CTL_OPS_MAX + ODX_CTL_OPS_KEPT
	 * of 2^32 are taken, so a collision is rare and a few tries end it.
	 * From here on a status request may find it.
	 */
	for (tries = 0; tries < 16; tries++) {
		id = get_random_u32_inclusive(1, U32_MAX);
		r = xa_insert(&odx_ctl_ops, id, op, GFP_KERNEL);
		if (r != -EBUSY)
			break;
	}
	if (r) {
		spin_lock(&odx_ctl_ops_lock);
		odx_ctl_nr_running--;
		spin_unlock(&odx_ctl_ops_lock);
		kfree_sensitive(op);
		return r;
	}
	op->id = id;
	get_file(file);
	op->file = file;
	__module_get(THIS_MODULE);
	q->operation_id = id;
	q->result |= ODX_WRITE_IN_PROGRESS;
	queue_work(odx_ctl_wq, &op->work);
	return 0;
}

static int odx_ctl_offload_write(struct odx_volume *vol, struct file *file,
				 struct odx_offload_write *q)
{
	struct odx_token_info info;
	struct odx_xfer x = { };
	bool bad;
	int r;

	r = odx_ctl_write_check(vol, file, q);
	if (r)
		return r;
	r = odx_token_decode(&q->token, sizeof(q->token), &info);
	if (r) {
		q->result |= ODX_WRITE_TOKEN_INVALID;
		return r;
	}
	if (q->flags & ODX_WRITE_IMMEDIATE) {
		struct odx_token_data *data;
		struct odx_volume *svol;

		/* a token that cannot be used fails here, not later */
		r = odx_ctl_token_lookup(&info, &data, &svol);
		if (!r && data && q->transfer_offset >= data->bytes)
			r = -ERANGE;
		odx_ctl_token_put(data, svol);
		if (odx_ctl_token_error(r))
			q->result |= ODX_WRITE_TOKEN_INVALID;
		if (!r)
			r = odx_ctl_op_start(file, q, &info);
	} else {
		x.offset = q->offset;
		x.length = q->length;
		x.transfer_offset = q->transfer_offset;
		r = odx_ctl_transfer(vol, file, &info, &x, &bad);
		q->written = x.done;
		if (bad)
			q->result |= ODX_WRITE_TOKEN_INVALID;
	}
	memzero_explicit(&info, sizeof(info));
	return r;
}

static int odx_ctl_ioc_offload_write(void __user *arg)
{
	struct odx_offload_write __user *uq = arg;
	struct odx_offload_write *q;
	struct odx_volume *vol;
	struct file *file;
	int r;
	u32 usize;

	q = kmalloc(sizeof(*q), GFP_KERNEL);
	if (!q)
		return -ENOMEM;
	r = odx_ctl_copy_in(q, sizeof(*q), ODX_OFFLOAD_WRITE_SIZE_VER0, arg,
			    &usize);
	if (r)
		goto out;
	q->result = 0;
	q->written = 0;
	q->operation_id = 0;
	if ((q->flags & ~ODX_WRITE_IMMEDIATE) || q->reserved) {
		r = -EINVAL;
		goto done;
	}
	r = odx_ctl_volume(q->fd, FMODE_WRITE, &file, &vol);
	if (!r) {
		r = odx_ctl_offload_write(vol, file, q);
		odx_ctl_release(file, vol);
	}
done:
	/* the outputs go back also when the write failed */
	if (put_user(q->result, &uq->result) ||
	    put_user(q->written, &uq->written) ||
	    put_user(q->operation_id, &uq->operation_id))
		r = -EFAULT;
out:
	kfree_sensitive(q);
	return r;
}

/*
 * 7: operation status. Every output is set: none echoes what the caller
 * left in its struct (the inputs, checked before, stay as they were).
 */
static void odx_ctl_op_status(struct odx_ctl_op *op,
			      struct odx_operation_status *st)
{
	struct odx_operation_status in = *st;
	u8 ascq;

	memset(st, 0, sizeof(*st));
	st->size = in.size;
	st->fd = in.fd;
	st->operation_id = in.operation_id;
	st->service_action = ODX_SA_WRITE_USING_TOKEN;
	st->operation_counter = 1;
	st->transfer_count_units = ODX_UNITS_BYTES;
	st->transfer_count = READ_ONCE(op->x.done);
	st->segments_processed = 0;
	if (op->running) {
		st->operation_status = op->abort ? ODX_OP_IN_PROGRESS :
			ODX_OP_IN_PROGRESS_BACKGROUND;
		st->status_update_delay = 100;
		st->completion_status = ODX_SCSI_GOOD;
		return;
	}
	st->operation_status = op->status;
	st->status_update_delay = 0;
	st->error = op->error;
	st->completion_status = op->error ? ODX_SCSI_CHECK_CONDITION :
		ODX_SCSI_GOOD;
	ascq = op->token_bad ? odx_token_ascq(op->error) : 0;
	if (ascq) {
		st->sense_key = ODX_SENSE_ILLEGAL_REQUEST;
		st->asc = ODX_ASC_INVALID_TOKEN_OP;
		st->ascq = ascq;
	} else if (op->status == ODX_OP_TERMINATED) {
		st->sense_key = ODX_SENSE_COPY_ABORTED;
	}
}

/* 7 and 8 */
static int odx_ctl_ioc_operation(void __user *arg, bool abort)
{
	union {
		struct odx_operation_status status;
		struct odx_operation_abort abort;
	} q;
	struct odx_volume *vol;
	struct odx_ctl_op *op;
	struct file *file;
	u32 usize;
	u64 id;
	int r;

	if (abort) {
		r = odx_ctl_copy_in(&q.abort, sizeof(q.abort),
				    ODX_OPERATION_ABORT_SIZE_VER0, arg, &usize);
		if (!r && (q.abort.flags || q.abort.reserved))
			r = -EINVAL;
		id = q.abort.operation_id;
	} else {
		r = odx_ctl_copy_in(&q.status, sizeof(q.status),
				    ODX_OPERATION_STATUS_SIZE_VER0, arg, &usize);
		if (!r && (q.status.flags || q.status.reserved1 ||
			   q.status.reserved2))
			r = -EINVAL;
		id = q.status.operation_id;
	}
	if (r)
		return r;

	r = odx_ctl_volume(abort ? q.abort.fd : q.status.fd,
			   abort ? FMODE_WRITE : FMODE_READ, &file, &vol);
	if (r)
		return r;
	spin_lock(&odx_ctl_ops_lock);
	op = id && id <= U32_MAX ? xa_load(&odx_ctl_ops, id) : NULL;
	/* another volume's operation is not there for this one */
	if (op && op->diskseq != file_bdev(file)->bd_disk->diskseq)
		op = NULL;
	if (!op) {
		r = -ENOENT;
	} else if (abort) {
		if (op->running)
			WRITE_ONCE(op->abort, true);
		else
			r = -EALREADY;
	} else {
		odx_ctl_op_status(op, &q.status);
	}
	spin_unlock(&odx_ctl_ops_lock);
	odx_ctl_release(file, vol);
	if (!r && !abort)
		r = odx_ctl_copy_out(arg, &q.status, sizeof(q.status), usize);
	return r;
}

/*
 * 9: token release. Answered by the volume @fd names only, as an
 * operation is: its own table decides (another volume's token, ENOENT).
 */
static int odx_ctl_ioc_token_release(void __user *arg)
{
	struct odx_token_release *q;
	struct odx_token_info info;
	struct odx_volume *vol;
	struct file *file;
	u32 usize;
	int r;

	q = kmalloc(sizeof(*q), GFP_KERNEL);
	if (!q)
		return -ENOMEM;
	r = odx_ctl_copy_in(q, sizeof(*q), ODX_TOKEN_RELEASE_SIZE_VER0, arg,
			    &usize);
	if (!r && (q->flags || q->reserved))
		r = -EINVAL;
	if (!r)
		r = odx_token_decode(&q->token, sizeof(q->token), &info);
	if (r)
		goto out;

	r = odx_ctl_volume(q->fd, FMODE_READ, &file, &vol);
	if (!r) {
		r = odx_token_release(&vol->tokens, &info);
		odx_ctl_release(file, vol);
	}
out:
	memzero_explicit(&info, sizeof(info));
	kfree_sensitive(q);
	return r;
}

static long odx_ctl_ioctl(struct file *file, unsigned int cmd,
			  unsigned long uarg)
{
	void __user *arg = (void __user *)uarg;

	/* the size field, not the ioctl number's size bits, is the version */
	if (_IOC_TYPE(cmd) != ODX_IOCTL_MAGIC ||
	    _IOC_DIR(cmd) != (_IOC_READ | _IOC_WRITE))
		return -ENOTTY;
	switch (_IOC_NR(cmd)) {
	case _IOC_NR(ODX_IOC_DESCRIBE):
		return odx_ctl_ioc_describe(arg);
	case _IOC_NR(ODX_IOC_ALLOCATED_RANGES):
		return odx_ctl_ioc_allocated(arg);
	case _IOC_NR(ODX_IOC_SLAB_BITMAP):
		return odx_ctl_ioc_bitmap(arg);
	case _IOC_NR(ODX_IOC_TRIM):
		return odx_ctl_ioc_trim(arg);
	case _IOC_NR(ODX_IOC_OFFLOAD_READ):
		return odx_ctl_ioc_offload_read(arg);
	case _IOC_NR(ODX_IOC_OFFLOAD_WRITE):
		return odx_ctl_ioc_offload_write(arg);
	case _IOC_NR(ODX_IOC_OPERATION_STATUS):
		return odx_ctl_ioc_operation(arg, false);
	case _IOC_NR(ODX_IOC_OPERATION_ABORT):
		return odx_ctl_ioc_operation(arg, true);
	case _IOC_NR(ODX_IOC_TOKEN_RELEASE):
		return odx_ctl_ioc_token_release(arg);
	}
	return -ENOTTY;
}

static const struct file_operations odx_ctl_fops = {
	.owner		= THIS_MODULE,
	.open		= nonseekable_open,
	.unlocked_ioctl	= odx_ctl_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
};

static struct miscdevice odx_ctl_misc = {
	.minor		= MISC_DYNAMIC_MINOR,
	.name		= ODX_CONTROL_NAME,
	.mode		= 0600,
	.fops		= &odx_ctl_fops,
};

int odx_ctl_init(void)
{
	int r;

	odx_token_graveyard_init(&odx_ctl_graveyard);
	odx_ctl_wq = alloc_workqueue("kodxcopy", WQ_UNBOUND, 0);
	if (!odx_ctl_wq)
		return -ENOMEM;
	r = odx_copy_module_init();
	if (r) {
		destroy_workqueue(odx_ctl_wq);
		return r;
	}
	r = misc_register(&odx_ctl_misc);
	if (r) {
		DMERR("cannot register %s: error %d", ODX_CONTROL_PATH, r);
		odx_copy_module_exit();
		destroy_workqueue(odx_ctl_wq);
	}
	return r;
}

void odx_ctl_exit(void)
{
	struct odx_ctl_op *op;
	unsigned long id;

	misc_deregister(&odx_ctl_misc);
	/* running operations hold the module: none is left */
	destroy_workqueue(odx_ctl_wq);
	xa_for_each(&odx_ctl_ops, id, op)
		kfree(op);
	xa_destroy(&odx_ctl_ops);
	odx_copy_module_exit();
	WARN_ON(!xa_empty(&odx_ctl_volumes));
}
