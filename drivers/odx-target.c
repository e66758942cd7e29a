// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-odx: the device-mapper target "odx".
 *
 * This file holds the target's life cycle: the constructor that checks
 * the table line and opens the devices, the destructor, status and the
 * module glue. The volume's own logic lives in files of its own.
 */
#include <linux/device-mapper.h>
#include <linux/log2.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "odx.h"
#include "odx-control.h"

#define DM_MSG_PREFIX "odx"

static unsigned int max_pinned_percent = 50;
module_param(max_pinned_percent, uint, 0644);
MODULE_PARM_DESC(max_pinned_percent,
		 "Slabs the live point-in-time tokens of a volume may pin, in percent of its data slabs (read at table load)");

static unsigned int max_pinned_by_readers_percent = 5;
module_param(max_pinned_by_readers_percent, uint, 0644);
MODULE_PARM_DESC(max_pinned_by_readers_percent,
		 "Of those, what tokens made through an fd without write access (by a caller without CAP_SYS_ADMIN) may pin, in percent of the data slabs (read at table load)");

static int odx_open_dev(struct dm_target *ti, const char *path,
			const char *role, blk_mode_t mode,
			struct dm_dev **dev)
{
	int r = dm_get_device(ti, path, mode, dev);

	if (r) {
		DMERR("cannot open %s device '%s': error %d", role, path, r);
		ti->error = "Error opening device";
	}
	return r;
}

/*
 * <metadata dev> <data dev> <slab size in sectors> [<#features> <arg>...]
 */
static int odx_ctr(struct dm_target *ti, unsigned int argc, char **argv)
{
	struct dm_arg_set as = { .argc = argc, .argv = argv };
	struct odx_md_config cfg = { };
	struct odx_token_limits limits;
	struct odx_md_stats st;
	struct odx_volume *ot;
	u8 uuid[16];
	blk_mode_t mode;
	u32 slab_sectors;
	int r;

	if (argc < 3) {
		DMERR("expected <metadata dev> <data dev> <slab size in sectors> [<#feature args> <arg>...], got %u argument(s)",
		      argc);
		ti->error = "Not enough arguments";
		return -EINVAL;
	}

	ot = kzalloc(sizeof(*ot), GFP_KERNEL);
	if (!ot) {
		ti->error = "Cannot allocate target context";
		return -ENOMEM;
	}
	ot->ti = ti;

	dm_consume_args(&as, 3);
	r = odx_parse_slab_size(argv[2], &slab_sectors, &ti->error);
	if (r)
		goto bad;
	ot->geo.slab_sectors = slab_sectors;
	ot->geo.slab_shift = ilog2(slab_sectors);

	r = odx_parse_features(&as, &ot->features, &ti->error);
	if (r)
		goto bad;

	mode = dm_table_get_mode(ti->table);
	if (odx_feature(&ot->features, ODX_FEAT_READ_ONLY))
		mode &= ~BLK_OPEN_WRITE;

	r = odx_open_dev(ti, argv[0], "metadata", mode, &ot->meta_dev);
	if (r)
		goto bad;
	r = odx_open_dev(ti, argv[1], "data", mode, &ot->data_dev);
	if (r)
		goto bad_meta;

	if (ot->meta_dev->bdev == ot->data_dev->bdev) {
		DMERR("metadata device '%s' and data device '%s' are the same device",
		      argv[0], argv[1]);
		ti->error = "Metadata and data devices must differ";
		r = -EINVAL;
		goto bad_data;
	}

	ot->mode = (mode & BLK_OPEN_WRITE) ? ODX_MODE_RW : ODX_MODE_RO;
	cfg.owner = dm_table_get_md(ti->table);
	cfg.meta_bdev = ot->meta_dev->bdev;
	cfg.data_bdev = ot->data_dev->bdev;
	cfg.slab_sectors = slab_sectors;
	cfg.data_slabs = odx_whole_slabs(&ot->geo,
					 bdev_nr_sectors(ot->data_dev->bdev));
	cfg.virtual_sectors = ti->len;
	cfg.read_only = ot->mode == ODX_MODE_RO;
	ot->md = odx_md_get(&cfg, &ti->error);
	if (IS_ERR(ot->md)) {
		r = PTR_ERR(ot->md);
		goto bad_data;
	}

	odx_md_uuid(ot->md, uuid);
	odx_token_default_limits(&limits);
	limits.max_pinned = max_t(u64, 1, div_u64(cfg.data_slabs *
						  max_pinned_percent, 100));
	limits.max_pinned_by_readers =
		min(limits.max_pinned,
		    div_u64(cfg.data_slabs * max_pinned_by_readers_percent,
			    100));
	odx_token_table_init(&ot->tokens, uuid, &limits, NULL, NULL);

	odx_md_stats(ot->md, &st);
	if (st.needs_check && ot->mode == ODX_MODE_RW) {
		DMWARN("%s: metadata needs a check: activating read-only",
		       dm_table_device_name(ti->table));
		ot->mode = ODX_MODE_RO;
	}

	odx_ctl_volume_init(ot);
	r = odx_io_init(ot);
	if (r) {
		ti->error = "Cannot set up the I/O path";
		goto bad_md;
	}

	r = dm_set_target_max_io_len(ti, slab_sectors);
	if (r) {
		ti->error = "Cannot set the slab size as the largest I/O";
		goto bad_io;
	}
	ti->num_flush_bios = 1;
	ti->flush_supported = true;
	ti->num_write_zeroes_bios = 1;
	if (!odx_feature(&ot->features, ODX_FEAT_IGNORE_DISCARD)) {
		ti->num_discard_bios = 1;
		ti->discards_supported = true;
	}
	ti->per_io_data_size = sizeof(struct odx_bio);
	ti->accounts_remapped_io = true;
	odx_copybio_setup(ot);
	ti->private = ot;
	return 0;

bad_io:
	odx_io_exit(ot);
bad_md:
	odx_token_table_destroy(&ot->tokens);
	odx_md_put(ot->md);
bad_data:
	dm_put_device(ti, ot->data_dev);
bad_meta:
	dm_put_device(ti, ot->meta_dev);
bad:
	kfree(ot);
	return r;
}

static void odx_dtr(struct dm_target *ti)
{
	struct odx_volume *ot = ti->private;

	odx_ctl_unregister(ot);
	odx_io_exit(ot);
	/* no request or bio uses them now */
	odx_token_table_destroy(&ot->tokens);
	odx_md_put(ot->md);
	dm_put_device(ti, ot->data_dev);
	dm_put_device(ti, ot->meta_dev);
	kfree(ot);
}

static void odx_status(struct dm_target *ti, status_type_t type,
		       unsigned int status_flags, char *result,
		       unsigned int maxlen)
{
	static const char * const modes[] = {
		[ODX_MODE_RW] = "rw",
		[ODX_MODE_RO] = "ro",
		[ODX_MODE_OUT_OF_DATA_SPACE] = "out_of_data_space",
		[ODX_MODE_FAIL] = "fail",
	};
	struct odx_volume *ot = ti->private;
	struct odx_token_stats ts;
	struct odx_md_stats st;
	unsigned int sz = 0;

	switch (type) {
	case STATUSTYPE_INFO:
		odx_md_stats(ot->md, &st);
		odx_token_stats(&ot->tokens, &ts);
		DMEMIT("%llu %llu/%llu %llu/%llu %llu %s %s %s %s %u %llu",
		       st.txn_id, st.meta_used_blocks, st.meta_total_blocks,
		       st.used_slabs, st.data_slabs, st.shared_slabs,
		       modes[READ_ONCE(ot->mode)],
		       odx_feature(&ot->features, ODX_FEAT_IGNORE_DISCARD) ?
				"ignore_discard" :
		       odx_feature(&ot->features, ODX_FEAT_NO_DISCARD_PASSDOWN) ?
				"no_discard_passdown" : "discard_passdown",
		       odx_feature(&ot->features, ODX_FEAT_ERROR_IF_NO_SPACE) ?
				"error_if_no_space" : "queue_if_no_space",
		       st.needs_check ? "needs_check" : "-", ts.live,
		       ts.pinned);
		break;
	case STATUSTYPE_TABLE:
		DMEMIT("%s %s %u", ot->meta_dev->name, ot->data_dev->name,
		       ot->geo.slab_sectors);
		sz = odx_emit_features(&ot->features, result, sz, maxlen);
		break;
	case STATUSTYPE_IMA:
		*result = '\0';
		break;
	}
}

/*
 * dmsetup message <dev> 0 low_water_mark <slabs>
 *   change the low water mark (in free slabs); the table status
 *   shows the new value.
 */
static int odx_message(struct dm_target *ti, unsigned int argc, char **argv,
		       char *result, unsigned int maxlen)
{
	struct odx_volume *ot = ti->private;
	struct odx_features *f = &ot->features;
	u64 lwm;

	if (argc == 2 && !strcmp(argv[0], "low_water_mark")) {
		if (kstrtou64(argv[1], 10, &lwm)) {
			DMERR("%s: invalid low_water_mark '%s': must be a number of slabs",
			      dm_table_device_name(ti->table), argv[1]);
			return -EINVAL;
		}
		if (!odx_feature(f, ODX_FEAT_LOW_WATER_MARK)) {
			f->order[f->nr++] = ODX_FEAT_LOW_WATER_MARK;
			f->set |= 1UL << ODX_FEAT_LOW_WATER_MARK;
		}
		WRITE_ONCE(f->low_water_mark, lwm);
		WRITE_ONCE(ot->lwm_armed, true);
		return 0;
	}
	DMERR("%s: unknown message '%s' (expected: low_water_mark <slabs>)",
	      dm_table_device_name(ti->table), argc ? argv[0] : "");
	return -EINVAL;
}

/*
 * With noflush: first no control request's I/O waits for space, so that
 * odx_ctl_suspend() does not wait for space to come; then no bio waits
 * for space (odx-io.c).
 */
static void odx_presuspend(struct dm_target *ti)
{
	odx_io_presuspend_ctl(ti->private);
	odx_ctl_suspend(ti->private);
	odx_io_presuspend(ti->private);
}

/*
 * The suspend was interrupted (a signal while I/O drained, or the file
 * system would not freeze): the table stays live. The bios presuspend
 * requeued come back from device-mapper.
 */
static void odx_presuspend_undo(struct dm_target *ti)
{
	odx_io_presuspend_undo(ti->private);
	odx_ctl_suspend_undo(ti->private);
}

static void odx_postsuspend(struct dm_target *ti)
{
	odx_io_postsuspend(ti->private);
}

/*
 * Pick up a grown data device or table length; a read-only table stops
 * the metadata being written (it may follow a read-write one).
 */
static int odx_preresume(struct dm_target *ti)
{
	struct odx_volume *ot = ti->private;
	int r;

	if (ot->mode == ODX_MODE_RO) {
		odx_md_set_read_only(ot->md);
		return 0;
	}
	r = odx_md_resize(ot->md,
			  odx_whole_slabs(&ot->geo,
					  bdev_nr_sectors(ot->data_dev->bdev)),
			  ti->len);
	if (r)
		DMERR("%s: cannot grow the volume: error %d",
		      dm_table_device_name(ti->table), r);
	return r;
}

static void odx_resume(struct dm_target *ti)
{
	odx_io_resume(ti->private);
	odx_ctl_register(ti->private);
}

static void odx_io_hints(struct dm_target *ti, struct queue_limits *limits)
{
	struct odx_volume *ot = ti->private;
	unsigned int slab_bytes = ot->geo.slab_sectors << SECTOR_SHIFT;

	limits->max_write_zeroes_sectors = UINT_MAX >> SECTOR_SHIFT;
	odx_copybio_limits(ot, limits);
	if (odx_feature(&ot->features, ODX_FEAT_IGNORE_DISCARD)) {
		limits->max_hw_discard_sectors = 0;
		return;
	}
	/* whole slabs are released; reads after any discard return zeros */
	limits->discard_granularity = slab_bytes;
	limits->max_hw_discard_sectors = UINT_MAX >> SECTOR_SHIFT;
}

static int odx_iterate_devices(struct dm_target *ti,
			       iterate_devices_callout_fn fn, void *data)
{
	struct odx_volume *ot = ti->private;

	/* the virtual size may exceed the data device: report the latter */
	return fn(ti, ot->data_dev, 0, bdev_nr_sectors(ot->data_dev->bdev),
		  data);
}

static struct target_type odx_target_type = {
	.name			= "odx",
	.version		= {0, 1, 0},
	.module			= THIS_MODULE,
	.ctr			= odx_ctr,
	.dtr			= odx_dtr,
	.map			= odx_map,
	.end_io			= odx_end_io,
	.presuspend		= odx_presuspend,
	.presuspend_undo	= odx_presuspend_undo,
	.postsuspend		= odx_postsuspend,
	.preresume		= odx_preresume,
	.resume			= odx_resume,
	.status			= odx_status,
	.message		= odx_message,
	.io_hints		= odx_io_hints,
	.iterate_devices	= odx_iterate_devices,
};

static int __init dm_odx_init(void)
{
	int r = odx_io_module_init();

	if (r)
		return r;
	r = odx_copybio_module_init();
	if (r)
		goto bad_copybio;
	r = odx_ctl_init();
	if (r)
		goto bad_ctl;
	r = dm_register_target(&odx_target_type);
	if (r) {
		DMERR("cannot register the odx target: error %d", r);
		goto bad_target;
	}
	return 0;

bad_target:
	odx_ctl_exit();
bad_ctl:
	odx_copybio_module_exit();
bad_copybio:
	odx_io_module_exit();
	return r;
}

static void __exit dm_odx_exit(void)
{
	dm_unregister_target(&odx_target_type);
	odx_ctl_exit();
	odx_copybio_module_exit();
	odx_io_module_exit();
}

module_init(dm_odx_init);
module_exit(dm_odx_exit);

MODULE_DESCRIPTION(DM_NAME " thin-provisioned target with discard and copy offload");
MODULE_AUTHOR("dm-odx developers");
MODULE_LICENSE("GPL");
