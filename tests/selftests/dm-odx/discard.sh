#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Discards against I/O still in flight to the slabs they free: a freed
# slab is neither handed out again nor discarded on the data device while
# a bio that found it is in flight. The data device is a dm-delay device,
# so that such a bio stays in flight for 8 s, deterministically:
#  1. a discard that zeroes part of a slab (kcopyd, writes delayed) while
#     a whole-slab discard and a flush free the slab: the commit must wait
#     for the zeroing, or the late zero would land in the slab's next
#     owner;
#  2. a read of a slab that a token pins (reads delayed) while the slab
#     is overwritten, the token released and the volume flushed: the
#     commit must not discard the orphan on the data device before the
#     read is done, or the read returns zeros (neither old nor new data).

. "$(dirname "$0")/lib.sh"

ktap_print_header
odx_require_root
ktap_set_plan 3

V=${ODX_TEST_PREFIX}-disc
DEV=/dev/mapper/$V
W=/tmp/odx-discard
SLAB=65536
DELAY=8000		# ms
rm -rf $W
mkdir -p $W
odx_cleanup
odx_load || ktap_exit_fail_msg "cannot load dm-odx"
odx_need_odxctl
odx_token_tool $W || ktap_exit_fail_msg "cannot build odx_token"
dmsetup targets | grep -q '^delay' || ktap_exit_fail_msg "no dm-delay target"

# mkvol READ_MS WRITE_MS FEATURES...: $V, 64 MiB over a 64 MiB dm-delay
# slice of $DATA (flushes not delayed)
mkvol() {
	local rd=$1 wr=$2
	shift 2
	dd if=/dev/zero of="$META" bs=1M count=1 oflag=direct status=none &&
	echo "0 131072 delay $DATA 0 $rd $DATA 0 $wr $DATA 0 0" |
		dmsetup create $V-data &&
	odx_loadvol $V 64 128 "$@"
}

# free_slabs: $V's allocatable slabs (odxctl info)
free_slabs() {
	"$ODXCTL" info --json $DEV |
		python3 -c 'import json, sys; print(json.load(sys.stdin)["free_slabs"])'
}

# fsync DEV: a flush of DEV (a commit of the volume)
fsync_dev() {
	python3 -c 'import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY)
os.fsync(fd)' "$1"
}

# --- 1: a partial zero in flight, the slab freed by a trim -----------------
# The partial discard goes through a dm-linear device over the volume:
# BLKDISCARD holds its device's invalidate lock until it completes, and
# a discard through the volume itself would wait for it there.
mkvol 0 $DELAY no_discard_passdown skip_zeroing &&
	echo "0 131072 linear $DEV 0" | dmsetup create $V-top ||
	ktap_exit_fail_msg "cannot create the volume"
dd if=/dev/urandom of=$DEV bs=$SLAB seek=5 count=1 oflag=direct status=none
f0=$(free_slabs)
blkdiscard -o $((5 * SLAB + 4096)) -l 4096 /dev/mapper/$V-top &
zpid=$!
odx_waits_in_kernel $zpid || odx_diag "the partial discard did not wait"
# the whole slab discarded (-f: the linear device holds $DEV) and a flush:
# this commit, or the periodic one a second later, frees slab 5; until
# the zero has landed, it must not be allocatable
blkdiscard -f -o $((5 * SLAB)) -l $SLAB $DEV && fsync_dev $DEV
trc=$?
sleep 2
f1=$(free_slabs)
zeroing=done
odx_bio_waiting $zpid && zeroing="in flight"
wait $zpid
zrc=$?
# and once it has, the slab is released (by the next commit)
f2=
for _ in $(seq 20); do
	f2=$(free_slabs)
	[ "$f2" = $((f0 + 1)) ] && break
	sleep 0.5
done
odx_diag "free slabs: $f0 before, $f1 with the zeroing $zeroing, then $f2; discard and flush exit $trc, partial discard exit $zrc"
odx_result "a freed slab is not allocatable while a partial zero to it is in flight" \
	test $trc = 0 -a $zrc = 0 -a "$f2" = $((f0 + 1)) -a \
	\( "$zeroing" = done -o "$f1" = "$f0" \)
dmsetup remove $V-top
odx_rmvol $V

# --- 2: a read of a pinned slab in flight, the orphan freed -------------------
mkvol $DELAY 0 || ktap_exit_fail_msg "cannot create the volume"
head -c $SLAB /dev/urandom > $W/old
head -c $SLAB /dev/urandom > $W/new
dd if=$W/old of=$DEV bs=$SLAB seek=3 oflag=direct status=none
tok read $DEV $W/tok pit 60 $((3 * SLAB)):$SLAB
dd if=$DEV of=$W/read bs=$SLAB skip=3 count=1 iflag=direct status=none &
rpid=$!
odx_waits_in_kernel $rpid || odx_diag "the read did not wait"
# a whole-slab write: straight to a new slab, the old one an orphan the
# token pins; released, it is freed by the next commit
dd if=$W/new of=$DEV bs=$SLAB seek=3 oflag=direct status=none
tok release $DEV $W/tok
fsync_dev $DEV
reading=done
odx_bio_waiting $rpid && reading="still in flight"
wait $rpid
got=other
cmp -s $W/read $W/old && got=old
cmp -s $W/read $W/new && got=new
cmp -s -n $SLAB $W/read /dev/zero && got=zeros
odx_diag "after the flush the read was $reading; it returned the $got data"
odx_result "a read of a freed orphan in flight returns data, not what a passdown discard left" \
	test $got = old -o $got = new
odx_rmvol $V

odx_check_result
rm -rf $W
ktap_finished
