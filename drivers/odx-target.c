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

#include "odx-slab.h"
#include "odx-table.h"

#define DM_MSG_PREFIX "odx"

struct odx_target {
	struct dm_target *ti;
	struct dm_dev *meta_dev;
	struct dm_dev *data_dev;
	struct odx_geometry geo;
	struct odx_features features;
};

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
	struct odx_target *ot;
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

	ti->private = ot;
	return 0;

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
	struct odx_target *ot = ti->private;

	dm_put_device(ti, ot->data_dev);
	dm_put_device(ti, ot->meta_dev);
	kfree(ot);
}

/*
 * The volume's I/O path arrives with the thin-provisioning core; until
 * then every bio is refused rather than pretending to store data.
 */
static int odx_map(struct dm_target *ti, struct bio *bio)
{
	return DM_MAPIO_KILL;
}

static void odx_status(struct dm_target *ti, status_type_t type,
		       unsigned int status_flags, char *result,
		       unsigned int maxlen)
{
	struct odx_target *ot = ti->private;
	unsigned int sz = 0;

	switch (type) {
	case STATUSTYPE_INFO:
		DMEMIT("0 0/0 0/0 0 %s %s %s - 0",
		       odx_feature(&ot->features, ODX_FEAT_READ_ONLY) ?
				"ro" : "rw",
		       odx_feature(&ot->features, ODX_FEAT_IGNORE_DISCARD) ?
				"ignore_discard" :
		       odx_feature(&ot->features, ODX_FEAT_NO_DISCARD_PASSDOWN) ?
				"no_discard_passdown" : "discard_passdown",
		       odx_feature(&ot->features, ODX_FEAT_ERROR_IF_NO_SPACE) ?
				"error_if_no_space" : "queue_if_no_space");
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

static int odx_iterate_devices(struct dm_target *ti,
			       iterate_devices_callout_fn fn, void *data)
{
	struct odx_target *ot = ti->private;

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
	.status			= odx_status,
	.iterate_devices	= odx_iterate_devices,
};

static int __init dm_odx_init(void)
{
	int r = dm_register_target(&odx_target_type);

	if (r)
		DMERR("cannot register the odx target: error %d", r);
	return r;
}

static void __exit dm_odx_exit(void)
{
	dm_unregister_target(&odx_target_type);
}

module_init(dm_odx_init);
module_exit(dm_odx_exit);

MODULE_DESCRIPTION(DM_NAME " thin-provisioned target with discard and copy offload");
MODULE_AUTHOR("dm-odx developers");
MODULE_LICENSE("GPL");
