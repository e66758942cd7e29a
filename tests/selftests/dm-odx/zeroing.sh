#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A new slab never shows what its previous owner left: partial writes
# into reused slabs read zeros around them, with and without
# skip_zeroing; with skip_zeroing a whole-slab write goes straight down.

. "$(dirname "$0")/lib.sh"

ktap_print_header
odx_require_root
ktap_set_plan 7

V=${ODX_TEST_PREFIX}-zero
DEV=/dev/mapper/$V
odx_cleanup
odx_load || ktap_exit_fail_msg "cannot load dm-odx"

for feat in "" skip_zeroing; do
	# 16 MiB virtual over 1 MiB of data: 16 slabs, all reused below
	odx_mkvol $V 16 1 128 $feat || ktap_exit_fail_msg "cannot create the volume"
	tag=${feat:-default}
	head -c $((1024 * 1024)) /dev/urandom > /tmp/odx-z
	dd if=/tmp/odx-z of=$DEV bs=64k count=16 oflag=direct status=none
	odx_result "$tag: 16 whole-slab writes read back, 16 slabs used" \
		test "$(odx_used_slabs $V)" = 16 -a \
		"$(odx_sum $DEV 0 1)" = "$(md5sum < /tmp/odx-z | cut -c1-32)"
	blkdiscard $DEV
	sync	# commit: the freed slabs become reusable
	# 4 KiB into the middle of 16 other slabs: each reuses an old slab
	for i in $(seq 0 15); do
		dd if=/tmp/odx-z of=$DEV bs=4k count=1 seek=$(((64 + i) * 16 + 5)) \
			oflag=direct status=none
	done
	reused_ok() {
		local i
		[ "$(odx_used_slabs $V)" = 16 ] || return 1
		for i in $(seq 0 15); do
			odx_is_zero $DEV $(((64 + i) * 65536)) 20480 &&
			odx_is_zero $DEV $(((64 + i) * 65536 + 24576)) 40960 ||
				return 1
		done
	}
	odx_result "$tag: partial writes into reused slabs read zeros around them" reused_ok
	odx_rmodx $V
	odx_loadvol $V 16 128 $feat
	odx_result "$tag: and still do after remove and create" reused_ok
	odx_rmvol $V
done
odx_check_result
ktap_finished
