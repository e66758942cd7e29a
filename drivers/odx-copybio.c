// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-odx: REQ_OP_COPY bios, where the kernel has them (ODX_REQ_OP_COPY,
 * see odx.h): copy_file_range() on the mapped device, and any other user
 * of blkdev_copy_offload(), is served by the copy engine's remapping.
 *
 * A copy bio carries its destination (bi_iter) and its source
 * (bi_copy_src); device-mapper sends one to this target only when both
 * ranges are inside it, and never splits it. The target advertises copies
 * of up to ODX_COPY_MAX_BYTES with a copy granularity of one slab, so
 * blkdev_copy_offload() cuts a copy at slab boundaries.
 *
 * What is served: a copy whose two ranges start on slab boundaries and
 * are whole slabs. It is done in a work item, by batches of remaps in the
 * worker (odx_copy_remap_slabs(): source slabs pinned for the batch, the
 * destination pointed at them, one metadata transaction), exactly as an
 * offload write of a change-vulnerable token: the data does not move, the
 * slabs become shared, and a later write to either side copies on write.
 * The bio completes when every slab is remapped; like a write, it is
 * durable after the next flush (at once with REQ_FUA).
 *
 * What is refused, with BLK_STS_NOTSUPP, so that blkdev_copy_offload()
 * copies it by reading and writing the data through the device: any other
 * copy (partial slabs, source and destination not equally aligned), a
 * slab whose reference count is full, a destination slab that stays busy
 * with an allocation. Serving those here would mean writing to this very
 * device from inside one of its own bios (the token path's data copy goes
 * through the mapped device): a suspend or a wait for space would then
 * wait on itself. The emulation does the same I/O from outside any bio.
 * A copy refused after some of its slabs were remapped is rewritten whole
 * by the emulation: the result is the same, those slabs lose their
 * sharing.
 *
 * The work waits only for the worker and for io_srcu grace periods (the
 * copy bio holds no io_srcu itself), never for I/O to this device, so a
 * suspend waits for it like for any other bio in flight.
 */
#include <linux/delay.h>
#include <linux/workqueue.h>

#include "odx.h"
#include "odx-copy.h"

#define DM_MSG_PREFIX "odx"

#ifdef ODX_REQ_OP_COPY

/* How long a copy waits for a destination slab being filled: 1-2 s. */
#define ODX_COPYBIO_BUSY_TRIES	1000

static struct workqueue_struct *odx_copybio_wq;

void odx_copybio_setup(struct odx_volume *vol)
{
	vol->ti->copy_supported = vol->mode != ODX_MODE_RO;
}

void odx_copybio_limits(struct odx_volume *vol, struct queue_limits *limits)
{
	if (!vol->ti->copy_supported)
		return;
	limits->max_copy_hw_sectors = ODX_COPY_MAX_BYTES >> SECTOR_SHIFT;
	limits->copy_granularity = vol->geo.slab_sectors << SECTOR_SHIFT;
}

static blk_status_t odx_copybio_serve(struct odx_volume *vol, struct bio *bio)
{
	struct dm_target *ti = vol->ti;
	u64 dst = odx_slab_of(&vol->geo,
			      dm_target_offset(ti, bio->bi_iter.bi_sector));
	u64 src = odx_slab_of(&vol->geo,
			      dm_target_offset(ti, bio->bi_copy_src));
	u64 nr = bio_sectors(bio) >> vol->geo.slab_shift, done = 0;
	unsigned int tries = 0;
	int r = 0;
	u32 n;

	while (done < nr) {
		r = odx_copy_remap_slabs(vol, dst + done, src + done,
					 min_t(u64, nr - done, U32_MAX), &n);
		done += n;
		if (r == -EBUSY && tries++ < ODX_COPYBIO_BUSY_TRIES) {
			/* a write is filling it: its allocation ends soon */
			usleep_range(1000, 2000);
			continue;
		}
		if (r)
			break;
		tries = 0;
	}
	switch (r) {
	case 0:
		break;
	case -EBUSY:
	case -EMLINK:
	case -ENOMEM:
		return BLK_STS_NOTSUPP;
	default:
		return BLK_STS_IOERR;
	}
	if ((bio->bi_opf & REQ_FUA) && odx_io_commit(vol))
		return BLK_STS_IOERR;
	return BLK_STS_OK;
}

static void odx_copybio_work(struct work_struct *work)
{
	struct odx_bio *ob = container_of(work, struct odx_bio, copy_work);
	struct bio *bio = dm_bio_from_per_bio_data(ob, sizeof(*ob));

	bio->bi_status = odx_copybio_serve(ob->copy_vol, bio);
	bio_endio(bio);
}

int odx_copybio_map(struct odx_volume *vol, struct bio *bio)
{
	struct odx_bio *ob = dm_per_bio_data(bio, sizeof(*ob));
	struct dm_target *ti = vol->ti;
	sector_t mask = vol->geo.slab_sectors - 1;

	if (odx_io_writes_refused(vol))
		return DM_MAPIO_KILL;
	if ((dm_target_offset(ti, bio->bi_iter.bi_sector) |
	     dm_target_offset(ti, bio->bi_copy_src) | bio_sectors(bio)) & mask) {
		/* not whole slabs: the submitter copies the data */
		bio->bi_status = BLK_STS_NOTSUPP;
		bio_endio(bio);
		return DM_MAPIO_SUBMITTED;
	}
	ob->copy_vol = vol;
	INIT_WORK(&ob->copy_work, odx_copybio_work);
	queue_work(odx_copybio_wq, &ob->copy_work);
	return DM_MAPIO_SUBMITTED;
}

int odx_copybio_module_init(void)
{
	odx_copybio_wq = alloc_workqueue("kodxcopybio",
					 WQ_MEM_RECLAIM | WQ_UNBOUND, 0);
	return odx_copybio_wq ? 0 : -ENOMEM;
}

void odx_copybio_module_exit(void)
{
	destroy_workqueue(odx_copybio_wq);
}

#else /* !ODX_REQ_OP_COPY */

void odx_copybio_setup(struct odx_volume *vol)
{
}

void odx_copybio_limits(struct odx_volume *vol, struct queue_limits *limits)
{
}

int odx_copybio_map(struct odx_volume *vol, struct bio *bio)
{
	return DM_MAPIO_KILL;
}

int odx_copybio_module_init(void)
{
	return 0;
}

void odx_copybio_module_exit(void)
{
}

#endif /* ODX_REQ_OP_COPY */
