/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dm-odx: the table line.
 *
 *   <start> <length> odx <metadata dev> <data dev> <slab size in sectors>
 *       [<#feature args> <arg>...]
 *
 * Parsing is kept apart from the target so that KUnit can drive it
 * without any device.
 */
#ifndef DM_ODX_TABLE_H
#define DM_ODX_TABLE_H

#include <linux/types.h>
#include <uapi/linux/dm-odx.h>

struct dm_arg_set;

enum odx_feature {
	ODX_FEAT_SKIP_ZEROING,
	ODX_FEAT_IGNORE_DISCARD,
	ODX_FEAT_NO_DISCARD_PASSDOWN,
	ODX_FEAT_ERROR_IF_NO_SPACE,
	ODX_FEAT_READ_ONLY,
	ODX_FEAT_LOW_WATER_MARK,	/* takes one argument: slabs */
	ODX_NR_FEATURES
};

struct odx_features {
	unsigned long set;		/* bit per enum odx_feature */
	u64 low_water_mark;		/* slabs, valid if the bit is set */
	/* the order the features were given in, for the table status */
	u8 order[ODX_NR_FEATURES];
	u8 nr;
};

static inline bool odx_feature(const struct odx_features *f,
			       enum odx_feature feat)
{
	return f->set & (1UL << feat);
}

int odx_parse_slab_size(const char *arg, u32 *slab_sectors, char **error);
int odx_parse_features(struct dm_arg_set *as, struct odx_features *f,
		       char **error);
unsigned int odx_emit_features(const struct odx_features *f, char *result,
			       unsigned int sz, unsigned int maxlen);

#endif
