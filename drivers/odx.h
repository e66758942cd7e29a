/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dm-odx: the volume, as the target's files share it.
 */
#ifndef DM_ODX_H
#define DM_ODX_H

#include <linux/bio.h>
#include <linux/completion.h>
#include <linux/device-mapper.h>
#include <linux/mutex.h>
#include <linux/rbtree.h>
#include <linux/spinlock.h>
#include <linux/srcu.h>
#include <linux/workqueue.h>

#include "odx-metadata.h"
#include "odx-slab.h"
#include "odx-table.h"
#include "odx-token.h"

struct dm_kcopyd_client;

/*
 * The kernel has a block-layer copy operation (REQ_OP_COPY, copy limits,
 * copy_file_range() on block devices) and device-mapper routes it to
 * targets that opt in: the project's kernel patch series, or a kernel
 * with an equivalent. Detected from the headers, never assumed: without
 * it the module is what it was, and copies go through the token ioctls.
 */
#if defined(HAVE_BLKDEV_COPY_OFFLOAD) && defined(HAVE_DM_COPY_OFFLOAD)
#define ODX_REQ_OP_COPY 1
#endif

enum odx_mode {
	ODX_MODE_RW,
	ODX_MODE_RO,			/* read_only, or metadata read-only */
	ODX_MODE_OUT_OF_DATA_SPACE,	/* writes that need a slab wait */
	ODX_MODE_FAIL,			/* metadata failed: needs a check */
};

/* What a bio that would wait for space does during a noflush suspend. */
enum odx_requeue {
	ODX_REQUEUE_OFF,		/* it waits */
	ODX_REQUEUE_CTL,		/* it fails if a control request waits for it */
	ODX_REQUEUE_ALL,		/* that, or it goes back to device-mapper */
};

/*
 * A slab being allocated for a virtual slab: the slab is reserved and
 * zeroed (or, with skip_zeroing, written whole by the write that asked
 * for it) before the mapping is inserted; writes to the virtual slab that
 * arrive meanwhile wait here. Lives in vol->allocs, under vol->lock.
 */
struct odx_alloc {
	struct odx_volume *vol;
	struct rb_node node;
	u64 vslab;
	u32 pslab;
	u32 copy_from;			/* copy on write: the old slab, pinned */
	int srcu_idx;			/* io_srcu held while reading it, or -1 */
	int error;
	struct bio_list bios;		/* wait for the mapping */
	struct bio *written;		/* wrote the whole slab itself */
	struct list_head done;		/* on vol->allocs_done */
};

/*
 * One pass of the worker over a discard or write-zeroes bio: whole slabs
 * are unmapped by the worker, partial slabs zeroed by kcopyd (with
 * REQ_NOUNMAP every slab is zeroed in place, none unmapped). The pass
 * ends when its last piece does; then the bio completes, or with @again
 * the worker takes it up again where the pass stopped. io_srcu is held
 * meanwhile: no slab the pieces zero is reused by another owner before
 * they land, and a new change-vulnerable token waits for them (odx-io.c).
 */
struct odx_zero_op {
	struct odx_volume *vol;
	struct bio *bio;
	atomic_t pending;
	int error;
	int srcu_idx;			/* io_srcu, held from its lookups on */
	bool again;
};

struct odx_volume {
	struct dm_target *ti;
	struct dm_dev *meta_dev;
	struct dm_dev *data_dev;
	struct odx_geometry geo;
	struct odx_features features;
	struct odx_metadata *md;
	struct dm_kcopyd_client *kcopyd;

	/*
	 * Bios that looked up the map and were sent to a data slab hold this
	 * from lookup to completion; a freed slab is reused only after a
	 * grace period, so no such bio can reach it once it is someone
	 * else's.
	 */
	struct srcu_struct io_srcu;

	struct workqueue_struct *wq;
	struct work_struct worker;
	struct delayed_work periodic;

	spinlock_t lock;		/* protects everything below */
	struct bio_list deferred;	/* writes to unmapped slabs */
	struct bio_list discards;	/* discard and write-zeroes */
	struct bio_list flushes;	/* need a commit before they go on */
	struct bio_list nospace;	/* wait for the data device to grow */
	unsigned long nospace_since;	/* jiffies of the oldest */
	/*
	 * A noflush suspend is under way (presuspend to resume, or to
	 * presuspend_undo): bios do not wait for space (odx-io.c).
	 */
	enum odx_requeue requeue;
	struct list_head ctl_ios;	/* struct odx_ctl_io in flight */
	struct rb_root allocs;		/* struct odx_alloc by vslab */
	struct list_head allocs_done;	/* zeroing finished */
	bool uncommitted;		/* a change not committed yet */
	bool commit_requested;		/* by the periodic timer */
	enum odx_mode mode;
	bool lwm_armed;			/* low water event not raised yet */
	struct list_head wops;		/* struct odx_wop for the worker */

	/*
	 * Offload tokens issued by this volume (odx-token.h). One table per
	 * table instance: a reload starts a new instance, which revokes the
	 * tokens of the previous one.
	 */
	struct odx_token_table tokens;

	/* the control device (odx-control.c) */
	dev_t ctl_devt;			/* of the mapped device */
	bool ctl_registered;		/* entered in its table */
	bool ctl_live;			/* resumed: requests may use it */
	/* requests using the volume, plus one while it is live */
	atomic_t ctl_users;
	struct completion ctl_unused;	/* ctl_users dropped to 0 */
	u64 ctl_instance;		/* tells this table from a reload's */
};

/*
 * I/O a control request (trim, offload write) sends to its volume's mapped
 * device and waits for, from odx_io_ctl_begin() to odx_io_ctl_end(): a
 * bio of that range that would wait for space while the volume is being
 * suspended with noflush fails (and the request with -EBUSY) rather than
 * being held by device-mapper, which would hold the request and with it
 * the suspend that waits for it. Byte offsets into the volume.
 */
struct odx_ctl_io {
	struct list_head list;		/* on vol->ctl_ios, under vol->lock */
	u64 start, end;
	bool cut;			/* a bio of it was failed so */
};

/*
 * Work the copy engine (odx-copy.c) has the worker do, serialised with
 * every other metadata change: odx_io_run() queues it and waits.
 */
struct odx_wop {
	struct list_head list;
	void (*fn)(struct odx_volume *vol, struct odx_wop *wop);
	struct completion done;
};

struct odx_bio {
	int srcu_idx;			/* -1: no io_srcu held */
	sector_t sector;		/* bi_sector before odx_remap() */
	struct odx_alloc *alloc;	/* a whole-slab write to a new slab */
	/*
	 * When it first waited for space (no_space_timeout counts from
	 * then, however often a commit that freed slabs retries it).
	 */
	unsigned long nospace_since;
	bool nospace_waited;
	/*
	 * A write-zeroes with REQ_NOUNMAP (odx_process_provision()): the
	 * volume sector it has zeroed up to, and the slab it last waited
	 * for the allocation of (zeroed whole by it: not zeroed again), or
	 * U64_MAX.
	 */
	sector_t zero_next;
	u64 zero_fresh;
#ifdef ODX_REQ_OP_COPY
	struct work_struct copy_work;	/* a copy bio (odx-copybio.c) */
	struct odx_volume *copy_vol;
#endif
};

/* odx-io.c */
int odx_io_init(struct odx_volume *vol);
void odx_io_exit(struct odx_volume *vol);
int odx_map(struct dm_target *ti, struct bio *bio);
int odx_end_io(struct dm_target *ti, struct bio *bio, blk_status_t *error);
void odx_io_presuspend_ctl(struct odx_volume *vol);
void odx_io_presuspend(struct odx_volume *vol);
void odx_io_presuspend_undo(struct odx_volume *vol);
void odx_io_postsuspend(struct odx_volume *vol);
void odx_io_resume(struct odx_volume *vol);
void odx_io_set_failed(struct odx_volume *vol, const char *why);
void odx_io_run(struct odx_volume *vol, struct odx_wop *wop);
/* Worker only (from an odx_wop): the map is about to change. */
void odx_io_changing(struct odx_volume *vol);
/* Worker only: is an allocation or copy on write of @vslab under way? */
bool odx_io_busy_slab(struct odx_volume *vol, u64 vslab);
/* Any process context: drop a token's pin (odx_md_unpin(), then commit). */
void odx_io_unpin(struct odx_volume *vol, u32 pslab);
/* Process context: commit the metadata (as a flush does), in the worker. */
int odx_io_commit(struct odx_volume *vol);
bool odx_io_writes_refused(struct odx_volume *vol);
void odx_io_ctl_begin(struct odx_volume *vol, struct odx_ctl_io *cio,
		      u64 offset, u64 len);
/* Returns -EBUSY if the I/O was cut short by a suspend, else 0. */
int odx_io_ctl_end(struct odx_volume *vol, struct odx_ctl_io *cio);
int odx_io_module_init(void);
void odx_io_module_exit(void);

/* odx-copybio.c: REQ_OP_COPY bios (a no-op without ODX_REQ_OP_COPY) */
void odx_copybio_setup(struct odx_volume *vol);
void odx_copybio_limits(struct odx_volume *vol, struct queue_limits *limits);
int odx_copybio_map(struct odx_volume *vol, struct bio *bio);
int odx_copybio_module_init(void);
void odx_copybio_module_exit(void);

#endif
