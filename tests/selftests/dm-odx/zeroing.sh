#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A new slab never shows what its previous owner left: partial writes
# into reused slabs read zeros around them, with and without
# skip_zeroing; with skip_zeroing a whole-slab write goes straight down.
# Zeroing a range: a write-zeroes with REQ_NOUNMAP (fallocate -z,
# BLKZEROOUT) leaves every slab of it mapped and zeroed, each slab zeroed
# once; without it (fallocate -p) whole slabs are released. Over a data
# device without write-zeroes (device-mapper then hides it from the
# volume) the zero token still unmaps, on a full pool.
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
ktap_set_plan 19

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

# --- zeroing a range ----------------------------------------------------------
# 16 MiB virtual over 4 MiB of data (64 slabs of 64 KiB).
odx_mkvol $V 16 4 128 || ktap_exit_fail_msg "cannot create the volume"
wz=$(cat "$(odx_queue $V write_zeroes_max_bytes)")
odx_diag "write_zeroes_max_bytes: $DATA $(cat /sys/class/block/$(basename "$(readlink -f "$DATA")")/queue/write_zeroes_max_bytes), the volume $wz"
# the checks below need write-zeroes to reach the target: without it the
# block layer writes zero pages, which keep slabs mapped anyway
odx_result "write-zeroes: the volume has it (its data device does)" \
	test "${wz:-0}" -gt 0
head -c $((2 * MIB)) /dev/urandom > /tmp/odx-z
dd if=/tmp/odx-z of=$DEV bs=64k count=16 oflag=direct status=none
w0=$(data_written)
fallocate -z -o 0 -l $MIB $DEV
written=$(($(data_written) - w0))
odx_result "fallocate -z over 16 mapped slabs: they stay mapped ($(odx_used_slabs $V) used, 16 before), read zeros, zeroed in place: 2048 sectors ($written)" \
	all test "$(odx_used_slabs $V)" = 16 -- test "$written" = 2048 -- \
	    odx_is_zero $DEV 0 $MIB
# 8 mapped slabs and 9 unmapped ones, the first and last partly:
# [1 MiB + 4 KiB, 2 MiB + 4 KiB) after [1 MiB, 1.5 MiB) was written
dd if=/tmp/odx-z of=$DEV bs=64k count=8 seek=16 skip=16 oflag=direct \
	status=none
w0=$(data_written)
fallocate -z -o $((MIB + 4096)) -l $MIB $DEV
written=$(($(data_written) - w0))
odx_result "fallocate -z over 8 mapped and 9 unmapped slabs, unaligned: all 17 mapped ($(odx_used_slabs $V) used, 33 wanted), each zeroed once: 1016 sectors in place + 9 new slabs of 128 ($written)" \
	all test "$(odx_used_slabs $V)" = 33 -- test "$written" = 2168 -- \
	    same_as /tmp/odx-z $MIB $DEV $MIB 4096 -- \
	    odx_is_zero $DEV $((MIB + 4096)) $MIB
dd if=/tmp/odx-z of=$DEV bs=64k count=16 oflag=direct status=none
blkdiscard -z -o 0 -l $MIB $DEV
odx_result "blkdiscard -z (BLKZEROOUT) over 16 mapped slabs: they stay mapped ($(odx_used_slabs $V) used, 33 wanted), read zeros" \
	all test "$(odx_used_slabs $V)" = 33 -- odx_is_zero $DEV 0 $MIB
fallocate -p -o 0 -l $MIB $DEV
sync
odx_result "fallocate -p (no NOUNMAP) over 16 mapped slabs: released ($(odx_used_slabs $V) used, 17 wanted), read zeros" \
	all test "$(odx_used_slabs $V)" = 17 -- odx_is_zero $DEV 0 $MIB
odx_rmvol $V

# A data device without write-zeroes (dm-delay has none): the volume
# shows none either. 16 MiB virtual over 1 MiB, all of it mapped.
dd if=/dev/zero of="$META" bs=1M count=1 oflag=direct status=none
echo "0 2048 delay $DATA 0 0" | dmsetup create $V-data ||
	ktap_exit_fail_msg "cannot create the dm-delay data device"
odx_loadvol $V 16 128 error_if_no_space ||
	ktap_exit_fail_msg "cannot create the volume"
odx_result "over a data device without write-zeroes the volume has none" \
	test "$(cat "$(odx_queue $V write_zeroes_max_bytes)")" = 0
dd if=/tmp/odx-z of=$DEV bs=64k count=16 oflag=direct status=none
odx_token_tool /tmp || ktap_exit_fail_msg "cannot build odx_token"
tok zero /tmp/odx-zero.tok
tok write $DEV /tmp/odx-zero.tok 4096 $((16 * MIB - 8192)) 0
odx_result "zero token over 16 MiB of a full 16-slab pool: written ($OUT), whole slabs unmapped ($(odx_used_slabs $V) used, 1 wanted), reads zeros" \
	all expect "ok written $((16 * MIB - 8192)) result 0" -- \
	    test "$(odx_used_slabs $V)" = 1 -- \
	    same_as /tmp/odx-z 0 $DEV 0 4096 -- \
	    odx_is_zero $DEV 4096 $((16 * MIB - 8192))
dd if=/tmp/odx-z of=$DEV bs=64k count=16 oflag=direct status=none
if fallocate -p -o 0 -l $MIB $DEV 2>/dev/null; then
	odx_diag "fallocate -p: done"
else
	odx_diag "fallocate -p: refused (no write-zeroes)"
fi
blkdiscard -z -o 0 -l $MIB $DEV
odx_result "blkdiscard -z over 16 mapped slabs (zero pages, no write-zeroes): they stay mapped ($(odx_used_slabs $V) used), read zeros" \
	all test "$(odx_used_slabs $V)" = 16 -- odx_is_zero $DEV 0 $MIB
odx_rmvol $V
rm -f /tmp/odx-z /tmp/odx-zero.tok
odx_check_result
ktap_finished
