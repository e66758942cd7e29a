// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-odx: parsing and printing of the table line's own arguments.
 *
 * Every refusal says what is wrong twice: a short fixed text in
 * ti->error (device-mapper logs it with the table name) and a DMERR line
 * that names the offending value.
 */
#include <linux/device-mapper.h>
#include <linux/kernel.h>
#include <linux/log2.h>
#include <linux/string.h>

#include "odx-table.h"

#define DM_MSG_PREFIX "odx"

static const char * const odx_feature_names[ODX_NR_FEATURES] = {
	[ODX_FEAT_SKIP_ZEROING]		= "skip_zeroing",
	[ODX_FEAT_IGNORE_DISCARD]	= "ignore_discard",
	[ODX_FEAT_NO_DISCARD_PASSDOWN]	= "no_discard_passdown",
	[ODX_FEAT_ERROR_IF_NO_SPACE]	= "error_if_no_space",
	[ODX_FEAT_READ_ONLY]		= "read_only",
	[ODX_FEAT_LOW_WATER_MARK]	= "low_water_mark",
};

int odx_parse_slab_size(const char *arg, u32 *slab_sectors, char **error)
{
	u32 v;

	if (kstrtou32(arg, 10, &v) || !is_power_of_2(v) ||
	    v < ODX_SLAB_SECTORS_MIN || v > ODX_SLAB_SECTORS_MAX) {
		DMERR("invalid slab size '%s': must be a power of two from %u to %u sectors (64 KiB to 1 GiB)",
		      arg, ODX_SLAB_SECTORS_MIN, ODX_SLAB_SECTORS_MAX);
		*error = "Invalid slab size";
		return -EINVAL;
	}
	*slab_sectors = v;
	return 0;
}

static int odx_lookup_feature(const char *name)
{
	int i;

	for (i = 0; i < ODX_NR_FEATURES; i++)
		if (!strcmp(name, odx_feature_names[i]))
			return i;
	return -1;
}

/*
 * Parse "[<#feature args> <arg>...]" from @as. An absent group means no
 * features. @f is only written on success.
 */
int odx_parse_features(struct dm_arg_set *as, struct odx_features *f,
		       char **error)
{
	static const struct dm_arg count_arg = {
		0, ODX_NR_FEATURES + 1, "Invalid number of feature arguments"
	};
	struct odx_features nf = { };
	unsigned int argc;
	const char *name;
	int feat, r;

	if (!as->argc)
		goto done;

	name = as->argv[0];
	r = dm_read_arg_group(&count_arg, as, &argc, error);
	if (r) {
		DMERR("feature argument count '%s' is not a number from 0 to %u that the arguments after it match",
		      name, ODX_NR_FEATURES + 1);
		return r;
	}

	while (argc) {
		name = dm_shift_arg(as);
		argc--;
		feat = odx_lookup_feature(name);
		if (feat < 0) {
			DMERR("unknown feature '%s'", name);
			*error = "Unrecognised feature argument";
			return -EINVAL;
		}
		if (nf.set & (1UL << feat)) {
			DMERR("feature '%s' given more than once", name);
			*error = "Feature given more than once";
			return -EINVAL;
		}
		if (feat == ODX_FEAT_LOW_WATER_MARK) {
			const char *v;

			if (!argc) {
				DMERR("low_water_mark needs a number of slabs");
				*error = "Missing low_water_mark value";
				return -EINVAL;
			}
			v = dm_shift_arg(as);
			argc--;
			if (kstrtou64(v, 10, &nf.low_water_mark)) {
				DMERR("invalid low_water_mark '%s': must be a number of slabs",
				      v);
				*error = "Invalid low_water_mark";
				return -EINVAL;
			}
		}
		nf.set |= 1UL << feat;
		nf.order[nf.nr++] = feat;
	}

	if (as->argc) {
		DMERR("%u unexpected argument(s) after the features, starting at '%s'",
		      as->argc, as->argv[0]);
		*error = "Too many arguments";
		return -EINVAL;
	}
done:
	*f = nf;
	return 0;
}

/*
 * Emit the feature group the way it was given, into @result at @sz.
 * Returns the new length. Nothing is printed when there are no features,
 * as dm-thin does.
 */
unsigned int odx_emit_features(const struct odx_features *f, char *result,
			       unsigned int sz, unsigned int maxlen)
{
	unsigned int i, nargs = f->nr;

	if (!f->nr)
		return sz;
	if (odx_feature(f, ODX_FEAT_LOW_WATER_MARK))
		nargs++;

	DMEMIT(" %u", nargs);
	for (i = 0; i < f->nr; i++) {
		DMEMIT(" %s", odx_feature_names[f->order[i]]);
		if (f->order[i] == ODX_FEAT_LOW_WATER_MARK)
			DMEMIT(" %llu", f->low_water_mark);
	}
	return sz;
}
