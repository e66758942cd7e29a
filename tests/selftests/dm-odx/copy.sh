#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# REQ_OP_COPY and copy_file_range() on the mapped device (the project's
# kernel patch series, tests/kernel/patches): the volume advertises copies
# (queue/copy_max_bytes, copy_granularity = one slab); copy_file_range()
# through xfs_io and through odx_cfr (a small C program) reads back equal;
# a slab-aligned copy is a remap (shared slabs up, used slabs unchanged),
# congruent ranges with partial ends remap their middle and copy their
# ends, unaligned ranges are copied by the block layer's read and write;
# copy on write afterwards; dm-linear on top passes copies down; copies
# between two volumes and to and from a plain disk fall back to a data
# copy; copy_max_bytes = 0 turns the offload off; a copy revokes a
# change-vulnerable token over its destination; suspends during copies;
# fio with verify while copies run. odxctl check after each removal.
#
# On a kernel without the operation (the stock distribution kernel) the
# whole script is skipped, with the reason; on the test kernel
# (ODX_KERNEL=debug), which carries the patch series, that is a failure
# (odx_lacks).

. "$(dirname "$0")/lib.sh"

ktap_print_header
odx_require_root

V=${ODX_TEST_PREFIX}-cp
V2=${ODX_TEST_PREFIX}-cp2
L=${ODX_TEST_PREFIX}-cplin
DEV=/dev/mapper/$V
DEV2=/dev/mapper/$V2
LDEV=/dev/mapper/$L
DATA2=${ODX_SPARE_DEV:-/dev/vdc}	# the second volume's disk
PLAIN=${ODX_PLAIN_DEV:-/dev/vdd}	# a disk without copy offload
MIB=$((1024 * 1024))
W=/tmp/odx-copy
rm -rf $W
mkdir -p $W

odx_cleanup
odx_load || ktap_exit_fail_msg "cannot load dm-odx"
odx_cfr_tool $W || ktap_exit_fail_msg "cannot build odx_cfr"
odx_token_tool $W || ktap_exit_fail_msg "cannot build odx_token"
for d in "$DATA2" "$PLAIN"; do
	[ -b "$d" ] || { ktap_skip_all "no disk $d (the VM runner gives four)"; exit "$KSFT_SKIP"; }
done
odx_need_cmd xfs_io fio
odx_need_odxctl

# 1 GiB virtual over 1 GiB of data, 64 KiB slabs; 128 MiB of a pattern
odx_mkvol $V 1024 1024 128 || ktap_exit_fail_msg "cannot create the volume"
cmax=$(odx_copy_max $V)
if [ -z "$cmax" ]; then
	odx_rmvol $V
	odx_lacks copy "this kernel ($(uname -r)) has no block-layer copy operation (no queue/copy_max_bytes): copy_file_range() on block devices fails with EINVAL and copies go through the token ioctls"
fi

ktap_set_plan 38

head -c $((128 * MIB)) /dev/urandom > $W/src
dd if=$W/src of=$DEV bs=1M oflag=direct status=none ||
	ktap_exit_fail_msg "cannot write the pattern"

shared() { odx_field $V 4; }

# cfr SRC SRC_OFF DST DST_OFF LEN: odx_cfr; its output line in $OUT
cfr() {
	OUT=$("$ODX_CFR" "$@" 2>&1)
	odx_diag "odx_cfr $*: $OUT"
	return 0
}

# --- what the volume advertises ---------------------------------------------
gran=$(cat "$(odx_queue $V copy_granularity)")
hw=$(cat "$(odx_queue $V copy_max_hw_bytes)")
odx_diag "copy_max_bytes $cmax copy_max_hw_bytes $hw copy_granularity $gran"
odx_result "the volume offloads copies of up to 1 GiB, one slab granularity" \
	test "$cmax $hw $gran" = "1073741824 1073741824 65536"
odx_result "its disks do not (virtio-blk: copy_max_bytes 0)" \
	test "$(cat /sys/block/"$(basename "$DATA")"/queue/copy_max_bytes)" = 0

# --- an aligned copy is a remap ------------------------------------------------
used=$(odx_used_slabs $V)
sh=$(shared)
out=$(xfs_io -c "copy_range -s 0 -d $((256 * MIB)) -l $((64 * MIB)) $DEV" $DEV 2>&1)
rc=$?
odx_diag "xfs_io copy_range: exit $rc $out"
odx_result "xfs_io copy_range of 64 MiB, slab-aligned: succeeds" test $rc = 0
odx_result "xfs_io copy: reads back equal" \
	same_as $W/src 0 $DEV $((256 * MIB)) $((64 * MIB))
odx_result "xfs_io copy: used slabs unchanged ($used -> $(odx_used_slabs $V))" \
	test "$(odx_used_slabs $V)" = "$used"
odx_result "xfs_io copy: 1024 more shared slabs ($sh -> $(shared))" \
	test "$(shared)" = $((sh + 1024))

used=$(odx_used_slabs $V)
sh=$(shared)
cfr $DEV $((64 * MIB)) $DEV $((512 * MIB)) $((32 * MIB))
odx_result "copy_file_range of 32 MiB, slab-aligned: one call copies all" \
	expect "ok copied $((32 * MIB)) calls 1"
odx_result "copy_file_range: reads back equal" \
	same_as $W/src $((64 * MIB)) $DEV $((512 * MIB)) $((32 * MIB))
odx_result "copy_file_range: used unchanged, 512 more shared ($used/$sh -> $(odx_used_slabs $V)/$(shared))" \
	test "$(odx_used_slabs $V) $(shared)" = "$used $((sh + 512))"

# --- copy on write -------------------------------------------------------------
head -c $MIB /dev/urandom > $W/new
used=$(odx_used_slabs $V)
sh=$(shared)
dd if=$W/new of=$DEV bs=1M seek=$((256 + 3)) oflag=direct status=none
odx_result "a write into the copy lands there" \
	same_as $W/new 0 $DEV $((259 * MIB)) $MIB
odx_result "and leaves the source alone" \
	same_as $W/src 0 $DEV 0 $((64 * MIB))
odx_result "16 slabs copied on write: used +16, shared -16" \
	test "$(odx_used_slabs $V) $(shared)" = "$((used + 16)) $((sh - 16))"

# --- partial slabs -----------------------------------------------------------------
# source and destination not equally aligned: nothing can be remapped, the
# block layer reads and writes the data
sh=$(shared)
cfr $DEV $((MIB + 4096)) $DEV $((600 * MIB + 12288)) $((5 * MIB + 8192))
odx_result "unaligned 5 MiB + 8 KiB: copied" \
	expect "ok copied $((5 * MIB + 8192)) calls 1"
odx_result "unaligned: reads back equal, zeros around it" \
	all same_as $W/src $((MIB + 4096)) $DEV $((600 * MIB + 12288)) $((5 * MIB + 8192)) -- \
	odx_is_zero $DEV $((600 * MIB)) 12288 -- \
	odx_is_zero $DEV $((605 * MIB + 20480)) $((MIB - 20480))
odx_result "unaligned: no slab shared ($sh -> $(shared))" test "$(shared)" = "$sh"

# equally misaligned: the block layer cuts the copy at slab boundaries
# (copy_granularity), the 127 whole slabs in the middle are remapped, the
# two partial ends copied as data into two new slabs
used=$(odx_used_slabs $V)
sh=$(shared)
cfr $DEV $((96 * MIB + 4096)) $DEV $((700 * MIB + 4096)) $((8 * MIB))
odx_result "equally misaligned 8 MiB: copied" \
	expect "ok copied $((8 * MIB)) calls 1"
odx_result "equally misaligned: reads back equal" \
	same_as $W/src $((96 * MIB + 4096)) $DEV $((700 * MIB + 4096)) $((8 * MIB))
odx_result "equally misaligned: 127 slabs shared, 2 new ($used/$sh -> $(odx_used_slabs $V)/$(shared))" \
	test "$(odx_used_slabs $V) $(shared)" = "$((used + 2)) $((sh + 127))"

# --- refused ------------------------------------------------------------------
cfr $DEV 0 $DEV $((32 * MIB)) $((64 * MIB))
odx_result "overlapping ranges: EINVAL" expect "EINVAL copied 0 calls 1"
cfr $DEV 0 $DEV $((1024 * MIB)) $MIB
odx_result "a destination at the end of the device: ENOSPC" \
	expect "ENOSPC copied 0 calls 1"
odx_result "refused copies changed nothing (the pattern reads back)" \
	same_as $W/src 0 $DEV 0 $((128 * MIB))

# --- stacked and across devices ------------------------------------------------
odx_linear $L $DEV 0 1024 || ktap_exit_fail_msg "cannot stack dm-linear"
# (sources from here on: slabs not shared yet, so that a remap shows in
# the shared count)
used=$(odx_used_slabs $V)
sh=$(shared)
cfr $LDEV $((104 * MIB)) $LDEV $((800 * MIB)) $((8 * MIB))
odx_result "dm-linear over the volume: offloads too (copy_max_bytes $(odx_copy_max $L)), reads back equal" \
	all expect "ok copied $((8 * MIB)) calls 1" -- \
	same_as $W/src $((104 * MIB)) $DEV $((800 * MIB)) $((8 * MIB))
odx_result "dm-linear over the volume: a remap below (used/shared $used/$sh -> $(odx_used_slabs $V)/$(shared))" \
	test "$(odx_used_slabs $V) $(shared)" = "$used $((sh + 128))"
dmsetup remove --retry $L

dd if=/dev/zero of="$DATA2" bs=1M count=4 oflag=direct status=none
echo "0 $((256 * 2048)) linear $DATA2 0" | dmsetup create $V2-meta &&
echo "0 $((1024 * 2048)) linear $DATA2 $((256 * 2048))" | dmsetup create $V2-data &&
echo "0 $((1024 * 2048)) odx /dev/mapper/$V2-meta /dev/mapper/$V2-data 128" |
	dmsetup create $V2 || ktap_exit_fail_msg "cannot create the second volume"
cfr $DEV 0 $DEV2 0 $((16 * MIB))
odx_result "to another volume: copied (a data copy), reads back equal" \
	all expect "ok copied $((16 * MIB)) calls [0-9]+" -- \
	same_as $W/src 0 $DEV2 0 $((16 * MIB))
odx_result "to another volume: 256 slabs used there, none shared" \
	test "$(odx_used_slabs $V2) $(odx_field $V2 4)" = "256 0"
dmsetup remove --retry $V2 && odx_check_meta /dev/mapper/$V2-meta
dmsetup remove --retry $V2-meta
dmsetup remove --retry $V2-data

cfr $DEV $((16 * MIB)) "$PLAIN" 0 $((8 * MIB))
odx_result "to a plain disk: copied, reads back equal" \
	all expect "ok copied $((8 * MIB)) calls [0-9]+" -- \
	same_as $W/src $((16 * MIB)) "$PLAIN" 0 $((8 * MIB))
used=$(odx_used_slabs $V)
sh=$(shared)
cfr "$PLAIN" 0 $DEV $((900 * MIB)) $((8 * MIB))
odx_result "from a plain disk: copied, reads back equal, written (used +128, shared $sh -> $(shared))" \
	all expect "ok copied $((8 * MIB)) calls [0-9]+" -- \
	same_as $W/src $((16 * MIB)) $DEV $((900 * MIB)) $((8 * MIB)) -- \
	test "$(odx_used_slabs $V) $(shared)" = "$((used + 128)) $sh"

# --- the offload turned off -----------------------------------------------------
q=$(odx_queue $V copy_max_bytes)
echo 1000 > "$q" 2>/dev/null
odx_result "copy_max_bytes: not a multiple of the block size is refused" \
	test "$(cat "$q")" = 1073741824
echo 0 > "$q"
used=$(odx_used_slabs $V)
sh=$(shared)
cfr $DEV $((16 * MIB)) $DEV $((850 * MIB)) $((16 * MIB))
odx_result "copy_max_bytes 0: copied by reading and writing, equal, nothing shared ($used/$sh -> $(odx_used_slabs $V)/$(shared))" \
	all expect "ok copied $((16 * MIB)) calls [0-9]+" -- \
	same_as $W/src $((16 * MIB)) $DEV $((850 * MIB)) $((16 * MIB)) -- \
	test "$(odx_used_slabs $V) $(shared)" = "$((used + 256)) $sh"
echo 1073741824 > "$q"
used=$(odx_used_slabs $V)
sh=$(shared)
cfr $DEV $((112 * MIB)) $DEV $((870 * MIB)) $((16 * MIB))
odx_result "copy_max_bytes back to 1 GiB: a remap again (used/shared $used/$sh -> $(odx_used_slabs $V)/$(shared))" \
	all expect "ok copied $((16 * MIB)) calls 1" -- \
	same_as $W/src $((112 * MIB)) $DEV $((870 * MIB)) $((16 * MIB)) -- \
	test "$(odx_used_slabs $V) $(shared)" = "$used $((sh + 256))"

# --- tokens -----------------------------------------------------------------------
tok read $DEV $W/cv cv 0 $((880 * MIB)):$MIB
cfr $DEV 0 $DEV $((880 * MIB)) $MIB
tok write $DEV $W/cv $((890 * MIB)) $MIB 0
odx_result "a copy into a change-vulnerable token's range revokes it" \
	expect "EKEYREVOKED written 0 result 1"

# --- suspends while copies run ---------------------------------------------------
# four rounds of a 128 MiB aligned copy while the volume is suspended and
# resumed (with and without --noflush) over and over
odx_diag "$SECONDS s so far"
( for _ in 1 2 3 4; do
	"$ODX_CFR" $DEV 0 $DEV $((768 * MIB)) $((128 * MIB)) || exit 1
  done ) > $W/susp.out 2>&1 &
cp_pid=$!
susp=0
sbad=0
while kill -0 $cp_pid 2>/dev/null; do
	if [ $((susp % 2)) = 0 ]; then
		dmsetup suspend $V || sbad=$((sbad + 1))
	else
		dmsetup suspend --noflush $V || sbad=$((sbad + 1))
	fi
	sleep 0.2
	dmsetup resume $V || sbad=$((sbad + 1))
	susp=$((susp + 1))
done
wait $cp_pid
cp_rc=$?
odx_diag "copies: $(tr '\n' ' ' < $W/susp.out); $susp suspends"
odx_result "4 copies of 128 MiB during $susp suspend/resume cycles: all copied" \
	test $cp_rc = 0 -a $sbad = 0 -a "$(grep -c "^ok copied $((128 * MIB)) " $W/susp.out)" = 4
odx_result "and the last reads back equal (to the pattern, and the source still holds it)" \
	all same_as $W/src 0 $DEV $((768 * MIB)) $((128 * MIB)) -- \
	same_as $W/src 0 $DEV 0 $((128 * MIB))
odx_diag "$SECONDS s so far"

# --- fio with verify while copies run -----------------------------------------
# fio rewrites and verifies [768M, 768M + FIOSZ); meanwhile that range is
# copied again and again, aligned (a remap: its slabs become shared, so
# fio's next writes copy on write) and equally misaligned (remap and
# data), and a range nobody writes is copied and checked each round.
FIOSZ=16m
[ "${ODX_KERNEL:-}" = debug ] && FIOSZ=8m
fio --filename=$DEV --rw=randwrite --bs=4k --direct=1 --ioengine=psync \
	--verify=crc32c --do_verify=1 --verify_fatal=1 --loops=2 \
	--name=src --offset=768m --size=$FIOSZ \
	--output=$W/fio.out >/dev/null 2>&1 &
fio_pid=$!
copies=0
bad=0
while kill -0 $fio_pid 2>/dev/null; do
	cfr $DEV $((768 * MIB)) $DEV $((928 * MIB)) $((16 * MIB))
	expect "ok copied $((16 * MIB)) calls 1" || bad=$((bad + 1))
	cfr $DEV $((768 * MIB + 8192)) $DEV $((960 * MIB + 8192)) $((8 * MIB))
	expect "ok copied $((8 * MIB)) calls 1" || bad=$((bad + 1))
	cfr $DEV $((32 * MIB)) $DEV $((992 * MIB)) $((16 * MIB))
	same_as $W/src $((32 * MIB)) $DEV $((992 * MIB)) $((16 * MIB)) ||
		{ odx_diag "round $copies: the idle range's copy differs"; bad=$((bad + 1)); }
	copies=$((copies + 1))
done
wait $fio_pid
fio_rc=$?
odx_diag "fio: $(grep -E 'err=|verify' $W/fio.out | head -6)"
odx_result "fio with verify on the source passed during $copies copy rounds, each copied and equal" \
	test $fio_rc = 0 -a $copies -gt 0 -a $bad = 0
# what fio left, read once: the reference for the idle copy
odx_save $DEV $((768 * MIB)) $((16 * MIB)) $W/fio-range ||
	odx_diag "cannot read the fio range"
cfr $DEV $((768 * MIB)) $DEV $((928 * MIB)) $((16 * MIB))
odx_result "an idle copy of the fio range: one call copies all, reads back equal to what fio left" \
	all expect "ok copied $((16 * MIB)) calls 1" -- \
	same_as $W/fio-range 0 $DEV $((928 * MIB)) $((16 * MIB)) -- \
	same_as $W/fio-range 0 $DEV $((768 * MIB)) $((16 * MIB))

odx_diag "$SECONDS s so far"

# --- durable after a flush ---------------------------------------------------------
# The last copy and a flush; then, with the volume still active (no clean
# close has committed anything), a copy of the metadata device as it is
# on disk: odxctl check replays its journal clean, and a read-only volume
# on that copy and the same data device holds the copies. Then a clean
# close and a reload.
CM=${ODX_TEST_PREFIX}-cpmeta
C=${ODX_TEST_PREFIX}-cpcopy
mmib=$(( $(blockdev --getsize64 "$META") / MIB ))
cfr $DEV 0 $DEV $((256 * MIB)) $((64 * MIB))
flushed_copy() {
	local ok=1
	expect "ok copied $((64 * MIB)) calls 1" || { odx_diag "the last copy: $OUT"; ok=0; }
	sync $DEV || ok=0
	odx_linear $CM "$DATA2" 0 "$mmib" || return 1
	dd if="$META" of=/dev/mapper/$CM bs=1M iflag=direct oflag=direct \
		status=none || ok=0
	test "$(odx_field $V 8)" = - || { odx_diag "status: $(dmsetup status $V)"; ok=0; }
	"$ODXCTL" check /dev/mapper/$CM > $W/check.out 2>&1 ||
		{ sed 's/^/#   /' $W/check.out; ok=0; }
	if echo "0 $((1024 * 2048)) odx /dev/mapper/$CM /dev/mapper/$V-data 128 1 read_only" |
		dmsetup create $C; then
		all same_as $W/src 0 /dev/mapper/$C $((256 * MIB)) $((64 * MIB)) -- \
			same_as $W/src $((96 * MIB + 4096)) /dev/mapper/$C $((700 * MIB + 4096)) $((8 * MIB)) -- \
			same_as $W/fio-range 0 /dev/mapper/$C $((928 * MIB)) $((16 * MIB)) ||
			{ odx_diag "the copy of the metadata lacks copies"; ok=0; }
		dmsetup remove --retry $C || ok=0
	else
		odx_diag "cannot activate the copy of the metadata"
		ok=0
	fi
	dmsetup remove --retry $CM
	[ $ok = 1 ]
}
odx_result "after a flush, the on-disk metadata of the active volume holds the copies (odxctl check clean, read back through a copy of it)" \
	flushed_copy
dmsetup remove --retry $V && odx_check_meta "$META"
odx_loadvol $V 1024 128 || ktap_exit_fail_msg "cannot load the volume again"
odx_result "after a clean close and a reload the copies are there" \
	all same_as $W/src 0 $DEV $((256 * MIB)) $((64 * MIB)) -- \
	same_as $W/src $((96 * MIB + 4096)) $DEV $((700 * MIB + 4096)) $((8 * MIB))

odx_rmvol $V
odx_check_result
ktap_finished
