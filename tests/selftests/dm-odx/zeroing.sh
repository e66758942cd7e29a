#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A new slab never shows what its previous owner left: partial writes
# into reused slabs read zeros around them, with and without
# skip_zeroing; with skip_zeroing a whole-slab write goes straight down.
#
# The data device holds a pattern before the volume is made, and the
# volume passes no discards down (no_discard_passdown): a freed slab
# keeps its old data on the data device (the guest's disks would read
# zeros after a discard), so only the module's zeroing can make it read
# zeros. What the module writes to the data device is counted in its
# stat.

. "$(dirname "$0")/lib.sh"

ktap_print_header
odx_require_root
ktap_set_plan 11

V=${ODX_TEST_PREFIX}-zero
DEV=/dev/mapper/$V
MIB=$((1024 * 1024))
odx_cleanup
odx_load || ktap_exit_fail_msg "cannot load dm-odx"

DATA_STAT=/sys/class/block/$(basename "$(readlink -f "$DATA")")/stat
[ -r "$DATA_STAT" ] || ktap_exit_fail_msg "no $DATA_STAT"
# sectors written to $DATA so far
data_written() {
	awk '{ print $7 }' "$DATA_STAT"
}

# same_slabs DEV FILE: DEV's first MiB (read with O_DIRECT) holds the 16
# slabs of FILE, in some order
same_slabs() {
	python3 -c 'import sys
def slabs(f):
    d = f.read(1 << 20)
    return sorted(d[i:i + 65536] for i in range(0, 1 << 20, 65536))
sys.exit(slabs(sys.stdin.buffer) != slabs(open(sys.argv[1], "rb")))' "$2" \
		< <(dd if="$1" bs=1M count=1 iflag=direct status=none)
}

for feat in "" skip_zeroing; do
	tag=${feat:-default}
	# a pattern on the 1 MiB the volume's data device will be
	odx_fill "$DATA" 0 1 || ktap_exit_fail_msg "cannot write the pattern to $DATA"
	# 16 MiB virtual over 1 MiB of data: 16 slabs, all reused below
	odx_mkvol $V 16 1 128 $feat no_discard_passdown ||
		ktap_exit_fail_msg "cannot create the volume"
	head -c $MIB /dev/urandom > /tmp/odx-z
	w0=$(data_written)
	dd if=/tmp/odx-z of=$DEV bs=64k count=16 oflag=direct status=none
	written=$(($(data_written) - w0))
	odx_result "$tag: 16 whole-slab writes read back, 16 slabs used" \
		test "$(odx_used_slabs $V)" = 16 -a \
		"$(odx_sum $DEV 0 1)" = "$(md5sum < /tmp/odx-z | cut -c1-32)"
	if [ -n "$feat" ]; then
		odx_result "$tag: the 16 whole-slab writes went straight down, no zeroing: 2048 sectors written to the data device ($written)" \
			test "$written" = 2048
	else
		odx_result "$tag: the 16 whole-slab writes zeroed their new slabs first: 4096 sectors written to the data device ($written)" \
			test "$written" = 4096
	fi
	blkdiscard $DEV
	sync	# commit: the freed slabs become reusable
	odx_result "$tag: after the discard the data device still holds the 16 slabs' data (nothing passed down)" \
		same_slabs /dev/mapper/$V-data /tmp/odx-z
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
	odx_loadvol $V 16 128 $feat no_discard_passdown
	odx_result "$tag: and still do after remove and create" reused_ok
	odx_rmvol $V
done
odx_check_result
ktap_finished
