#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The copy engine behind offload read and write (requests 5-8), asserted
# on data: a slab-aligned copy is a remap (used slabs unchanged, shared
# slabs up) and reads back equal; writes and discards into shared slabs
# copy on write and leave the other sharer alone; an unaligned copy is a
# data copy and reads back equal; a point-in-time token keeps its data
# when the source is overwritten, a change-vulnerable one is revoked;
# pinned slabs are bounded, shown and given back; odxctl copy releases
# its tokens (copies in a row under a small pinned-space limit) and waits,
# bounded, when the quota is full; odxctl release; a copy to a volume on
# another data device; fio with verify on the source while copies run;
# an asynchronous copy's status, and abort. odxctl check after each
# removal.

. "$(dirname "$0")/lib.sh"

ktap_print_header
odx_require_root

V=${ODX_TEST_PREFIX}-off
V2=${ODX_TEST_PREFIX}-off2
DEV=/dev/mapper/$V
DEV2=/dev/mapper/$V2
# the second volume: metadata and data on another disk
DATA2=${ODX_SPARE_DEV:-/dev/vdc}
MIB=$((1024 * 1024))
W=/tmp/odx-offload
rm -rf $W
mkdir -p $W
odx_token_tool $W || ktap_exit_fail_msg "cannot build odx_token"
odx_need_cmd fio python3 setpriv
odx_need_odxctl

ktap_set_plan 39

odx_cleanup
odx_load || ktap_exit_fail_msg "cannot load dm-odx"

# 1 GiB virtual over 1 GiB of data, 64 KiB slabs; 96 MiB of a pattern
odx_mkvol $V 1024 1024 128 || ktap_exit_fail_msg "cannot create the volume"
head -c $((96 * MIB)) /dev/urandom > $W/src
dd if=$W/src of=$DEV bs=1M oflag=direct status=none ||
	ktap_exit_fail_msg "cannot write the pattern"

shared() { odx_field $V 4; }
pinned() { odx_field $V 10; }

# --- an aligned copy is a remap ---------------------------------------------
used=$(odx_used_slabs $V)
sh=$(shared)
tok read $DEV $W/t1 pit 0 0:$((64 * MIB))
tok write $DEV $W/t1 $((256 * MIB)) $((64 * MIB)) 0
odx_result "aligned 64 MiB copy: all written" \
	expect "ok written $((64 * MIB)) result 0"
odx_result "aligned copy reads back equal" \
	same_as $W/src 0 $DEV $((256 * MIB)) $((64 * MIB))
odx_result "aligned copy: used slabs unchanged ($used -> $(odx_used_slabs $V))" \
	test "$(odx_used_slabs $V)" = "$used"
odx_result "aligned copy: 1024 more shared slabs ($sh -> $(shared))" \
	test "$(shared)" = $((sh + 1024))

# --- copy on write --------------------------------------------------------------
head -c $MIB /dev/urandom > $W/new
dd if=$W/new of=$DEV bs=1M seek=260 oflag=direct status=none
odx_result "a write into shared slabs: the destination has it" \
	same_as $W/new 0 $DEV $((260 * MIB)) $MIB
odx_result "and the source is untouched" \
	same_as $W/src 0 $DEV 0 $((64 * MIB))
odx_result "16 slabs copied on write: used +16, shared -16" \
	test "$(odx_used_slabs $V) $(shared)" = "$((used + 16)) $((sh + 1008))"
blkdiscard -o $((264 * MIB)) -l $((8 * MIB)) $DEV
odx_result "a discard of shared slabs: zeros there, the source untouched" \
	all odx_is_zero $DEV $((264 * MIB)) $((8 * MIB)) -- \
	same_as $W/src 0 $DEV 0 $((64 * MIB))
odx_result "it only dropped references: used unchanged, shared -128" \
	test "$(odx_used_slabs $V) $(shared)" = "$((used + 16)) $((sh + 880))"
# a partial discard inside a shared slab copies it first
blkdiscard -o $((272 * MIB + 4096)) -l 8192 $DEV
dd if=/dev/zero of=$W/z bs=8192 count=1 status=none
odx_result "a partial discard of a shared slab: those blocks zero, the rest and the source intact" \
	all same_as $W/z 0 $DEV $((272 * MIB + 4096)) 8192 -- \
	same_as $W/src $((16 * MIB)) $DEV $((272 * MIB)) 4096 -- \
	same_as $W/src $((16 * MIB + 12288)) $DEV $((272 * MIB + 12288)) 53248 -- \
	same_as $W/src 0 $DEV 0 $((64 * MIB))

# --- an unaligned copy is a data copy ----------------------------------------
L=$((5 * MIB + 8192))
tok read $DEV $W/t2 pit 0 $((MIB + 4096)):$L
tok write $DEV $W/t2 $((400 * MIB + 12288)) $L 0
odx_result "unaligned copy: all written" expect "ok written $L result 0"
odx_result "unaligned copy reads back equal, the blocks around it zero" \
	all same_as $W/src $((MIB + 4096)) $DEV $((400 * MIB + 12288)) $L -- \
	odx_is_zero $DEV $((400 * MIB)) 12288 -- \
	odx_is_zero $DEV $((400 * MIB + 12288 + L)) 4096
# two ranges, a TransferOffset into the second, short destination
tok read $DEV $W/t3 pit 0 $((8 * MIB)):$MIB $((32 * MIB)):$((2 * MIB))
tok write $DEV $W/t3 $((420 * MIB)) $((4 * MIB)) $((MIB + 65536))
odx_result "TransferOffset into the second range: the rest of the token written (short)" \
	expect "ok written $((2 * MIB - 65536)) result 0"
odx_result "and it reads back equal" \
	same_as $W/src $((32 * MIB + 65536)) $DEV $((420 * MIB)) $((2 * MIB - 65536))

# --- the page cache of a destination -----------------------------------------
# An offload write into a range that starts and ends inside pages (512-byte
# blocks, 4 KiB pages), over pages in the cache, one of them dirtied next
# to the range: buffered reads then see the copied blocks, and writeback
# keeps both the copied blocks and the dirtied ones. The shell holds the
# device open: the last close of a block device drops its page cache.
D=$((704 * MIB))
head -c 16384 /dev/urandom > $W/pc-old
head -c 512 /dev/urandom > $W/pc-dirty
dd if=$W/pc-old of=$DEV bs=16k seek=$((D / 16384)) oflag=direct status=none
exec {hold}<$DEV
dd if=$DEV of=/dev/null bs=4k skip=$((D / 4096)) count=4 status=none
dd if=$W/pc-dirty of=$DEV bs=512 seek=$(((D + 11776) / 512)) conv=notrunc \
	status=none
cp $W/pc-old $W/pc-want
dd if=$W/src of=$W/pc-want bs=8192 iflag=skip_bytes skip=$((2 * MIB)) \
	count=1 oflag=seek_bytes seek=512 conv=notrunc status=none
dd if=$W/pc-dirty of=$W/pc-want bs=512 oflag=seek_bytes seek=11776 \
	conv=notrunc status=none
tok read $DEV $W/pc pit 0 $((2 * MIB)):8192
tok write $DEV $W/pc $((D + 512)) 8192 0
buffered() {
	cmp -s $W/pc-want <(dd if=$DEV bs=4k skip=$((D / 4096)) count=4 \
		status=none)
}
odx_result "offload write inside cached pages: buffered reads see the copied blocks and the dirtied ones" \
	all expect "ok written 8192 result 0" -- buffered
blockdev --flushbufs $DEV
odx_result "and after writeback the device has them too (no zeroed or stale page written)" \
	same_as $W/pc-want 0 $DEV $D 16384
exec {hold}<&-

# --- who may pin how much ------------------------------------------------------
# Pinning makes the volume's writers copy on write and holds space: a
# point-in-time token made through an fd without write access, by a
# caller without CAP_SYS_ADMIN, pins within the readers' share
# (max_pinned_by_readers_percent, 5 % of the data slabs: 819 of 16384
# here); root's read-only fd pins up to the volume's limit.
R=$W/reader
mkdir -p $R && chmod 777 $R
ctl_mode=$(stat -c %a /dev/odx-control)
dev_mode=$(stat -c %a $DEV)
chmod o+rw /dev/odx-control
chmod o+r $DEV
as_reader() { setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"; }
# a reload first: the tokens so far would expire (and unpin) at their own
# time, under these counts
dmsetup table $V | dmsetup reload $V && dmsetup resume $V
p0=$(pinned)
big=$(as_reader "$ODX_TOKEN" read $DEV $R/big pit 0 0:$((64 * MIB)) 2>&1)
small=$(as_reader "$ODX_TOKEN" read $DEV $R/small pit 0 0:$((32 * MIB)) 2>&1)
p1=$(pinned)
tok read $DEV $W/rootbig pit 0 0:$((64 * MIB))
p2=$(pinned)
chmod "$ctl_mode" /dev/odx-control
chmod "$dev_mode" $DEV
odx_diag "a reader's 64 MiB: $big; its 32 MiB: $small; pinned $p0 -> $p1 -> $p2"
odx_result "a reader pins within the readers' share (1024 slabs refused, EDQUOT; 512 pinned), root's read-only fd up to the limit (1024)" \
	all test "${big%% *}" = EDQUOT -- test "${small%% *}" = ok -- \
	expect "ok bytes $((64 * MIB)) lifetime [0-9]+" -- \
	test "$p1 $p2" = "$((p0 + 512)) $((p0 + 1536))"

# --- point in time and change vulnerable -------------------------------------
# a reload first: the tokens so far would expire (and unpin) at their own
# time, under this count
dmsetup table $V | dmsetup reload $V && dmsetup resume $V
p0=$(pinned)
tok read $DEV $W/pit pit 0 $((64 * MIB)):$((8 * MIB))
tok read $DEV $W/cv cv 0 $((72 * MIB)):$((8 * MIB))
odx_result "a point-in-time token pins its 128 slabs, a change-vulnerable one none ($p0 -> $(pinned))" \
	test "$(pinned)" = $((p0 + 128))
head -c $((16 * MIB)) /dev/urandom > $W/over
dd if=$W/over of=$DEV bs=1M seek=64 oflag=direct status=none
tok write $DEV $W/pit $((512 * MIB)) $((8 * MIB)) 0
odx_result "source overwritten after offload read: point in time writes the old data" \
	expect "ok written $((8 * MIB)) result 0"
odx_result "the old data reads back, the source has the new" \
	all same_as $W/src $((64 * MIB)) $DEV $((512 * MIB)) $((8 * MIB)) -- \
	same_as $W/over 0 $DEV $((64 * MIB)) $((16 * MIB))
tok write $DEV $W/cv $((528 * MIB)) $((8 * MIB)) 0
odx_result "change vulnerable: token invalid (EKEYREVOKED), nothing written" \
	all expect "EKEYREVOKED written 0 result 1" -- \
	odx_is_zero $DEV $((528 * MIB)) $((8 * MIB))

# a reload revokes every token: the pins go, the orphans are freed
dmsetup table $V | dmsetup reload $V && dmsetup resume $V
sleep 2
read -r free total < <($ODXCTL info --json $DEV | python3 -c \
	'import json, sys; d = json.load(sys.stdin); print(d["free_slabs"], d["total_slabs"])')
odx_result "after a reload: nothing pinned, free = total - used ($free = $total - $(odx_used_slabs $V))" \
	test "$(pinned)" = 0 -a "$free" = $((total - $(odx_used_slabs $V)))

# pinned space is bounded: max_pinned_percent 1 (163 of 16384 slabs)
P=/sys/module/dm_odx/parameters/max_pinned_percent
echo 1 > $P
dmsetup table $V | dmsetup reload $V && dmsetup resume $V
tok read $DEV $W/small pit 0 0:$((8 * MIB))
r1=$OUT
tok read $DEV $W/big pit 0 $((8 * MIB)):$((16 * MIB))
odx_result "pinning past the limit: EDQUOT, nothing more pinned ($r1 / $OUT)" \
	test "${r1%% *} $OUT $(pinned)" = "ok EDQUOT 128"

# odxctl copy in a script (issue 12, item 4): 8 copies of 8 MiB in a row,
# the source rewritten before each, under that limit. Each copy pins 128
# slabs; a copy whose tokens kept their pins for their lifetime (5 s)
# would leave the next one EDQUOT. odxctl releases them: every copy
# succeeds at once (not a word on stderr: it never had to wait), nothing
# is left pinned or live, and each destination has the source as it was
# at its copy.
dmsetup table $V | dmsetup reload $V && dmsetup resume $V
in_a_row() {
	local i err rc
	for i in 0 1 2 3 4 5 6 7; do
		head -c $((8 * MIB)) /dev/urandom > $W/row$i
		dd if=$W/row$i of=$DEV bs=1M seek=128 oflag=direct status=none ||
			return 1
		err=$($ODXCTL copy --quiet $DEV $((128 * MIB)) \
			$(((160 + 8 * i) * MIB)) $((8 * MIB)) 2>&1)
		rc=$?
		[ $rc = 0 ] && [ -z "$err" ] ||
			{ odx_diag "copy $i: exit $rc: $err"; return 1; }
	done
	[ "$(pinned) $(odx_field $V 9)" = "0 0" ] ||
		{ odx_diag "left pinned, live: $(pinned) $(odx_field $V 9)"; return 1; }
	for i in 0 1 2 3 4 5 6 7; do
		same_as $W/row$i 0 $DEV $(((160 + 8 * i) * MIB)) $((8 * MIB)) ||
			{ odx_diag "copy $i differs from its source"; return 1; }
	done
}
odx_result "8 odxctl copies in a row under a 163-slab pinned limit: all succeed without waiting, none left pinned, each equal to its source then" \
	in_a_row
# the quota full for 3 s (another token pins 128 slabs): copy waits,
# saying so in one line, and copies once that token expired
odx_save $DEV $((128 * MIB)) $((8 * MIB)) $W/rowsrc ||
	odx_diag "cannot read the source"
tok read $DEV $W/hold pit 3 $((128 * MIB)):$((8 * MIB))
err=$($ODXCTL copy --quiet $DEV $((128 * MIB)) $((224 * MIB)) $((8 * MIB)) 2>&1)
rc=$?
odx_diag "$err"
odx_result "the quota full for 3 s: odxctl copy waits (one line saying so), then copies; equal" \
	all test $rc = 0 -- test "$(wc -l <<<"$err")" = 1 -- \
	grep -q "waiting up to 30 s" <<<"$err" -- \
	same_as $W/rowsrc 0 $DEV $((224 * MIB)) $((8 * MIB))
# full for longer than --wait: one waiting line, one error line, exit 1
tok read $DEV $W/hold pit 600 $((128 * MIB)):$((8 * MIB))
err=$($ODXCTL copy --quiet --wait 2 $DEV $((128 * MIB)) $((232 * MIB)) \
	$((8 * MIB)) 2>&1)
rc=$?
odx_diag "$err"
odx_result "the quota full past --wait 2: exit 1, a waiting line and one EDQUOT line, nothing written" \
	all test $rc = 1 -- test "$(wc -l <<<"$err")" = 2 -- \
	grep -q "Disk quota exceeded.*waited 2 s" <<<"$err" -- \
	odx_is_zero $DEV $((232 * MIB)) $((8 * MIB))
p1=$(pinned)
out=$($ODXCTL release --token $W/hold $DEV 2>&1)
rc=$?
err=$($ODXCTL release --token $W/hold $DEV 2>&1)
odx_diag "$out / $err"
odx_result "odxctl release: exit 0, the 128 pinned slabs gone at once ($p1 -> $(pinned)); again: exit 1, token invalid: released" \
	all test "$rc $p1 $(pinned)" = "0 128 0" -- \
	grep -q "token invalid: released" <<<"$err"
echo 50 > $P
dmsetup table $V | dmsetup reload $V && dmsetup resume $V

# --- another volume, on another data device ----------------------------------
dd if=/dev/zero of=$DATA2 bs=1M count=1 oflag=direct status=none
odx_linear $V2-meta $DATA2 0 16 && odx_linear $V2-data $DATA2 16 512 &&
	echo "0 $((512 * 2048)) odx /dev/mapper/$V2-meta /dev/mapper/$V2-data 128" |
		dmsetup create $V2 || ktap_exit_fail_msg "cannot create the second volume"
tok read $DEV $W/x pit 0 $((MIB)):$((32 * MIB))
tok write $DEV2 $W/x $((4 * MIB)) $((32 * MIB)) 0
odx_result "a copy to a volume on another data device: all written" \
	expect "ok written $((32 * MIB)) result 0"
odx_result "it reads back equal there (a data copy: 512 slabs used, none shared)" \
	all same_as $W/src $MIB $DEV2 $((4 * MIB)) $((32 * MIB)) -- \
	test "$(odx_used_slabs $V2) $(odx_field $V2 4)" = "512 0"
dmsetup remove --retry $V2 && odx_check_meta /dev/mapper/$V2-meta
dmsetup remove --retry $V2-meta $V2-data

# --- fio with verify on the source and the destination while copies run ---
# fio rewrites and verifies [768M, 768M + FIOSZ) (the source) and the
# blocks right before and after the unaligned destination
# [928M + 4K, 936M + 4K), in the same slabs as the copy's first and last
# blocks; meanwhile the source is copied (point in time) again and again,
# aligned (a remap) and not (a data copy into those shared slabs). fio
# must verify, and every copy round must write all it was asked.
FIOSZ=16m
[ "${ODX_KERNEL:-}" = debug ] && FIOSZ=8m
fio --filename=$DEV --rw=randwrite --bs=4k --direct=1 --ioengine=psync \
	--verify=crc32c --do_verify=1 --verify_fatal=1 --loops=2 \
	--name=src --offset=768m --size=$FIOSZ \
	--name=dst-before --offset=$((920 * MIB)) --size=$((8 * MIB + 4096)) \
	--name=dst-after --offset=$((936 * MIB + 4096)) --size=$((8 * MIB - 4096)) \
	--output=$W/fio.out >/dev/null 2>&1 &
fio_pid=$!
copies=0
bad=0
while kill -0 $fio_pid 2>/dev/null; do
	# 30 s of inactivity: the rounds' pins do not pile up (5 s expired
	# between the read and the writes on a busy debug kernel)
	tok read $DEV $W/f pit 30 $((768 * MIB)):$((16 * MIB))
	expect "ok bytes .*" || { bad=$((bad + 1)); break; }
	tok write $DEV $W/f $((896 * MIB)) $((16 * MIB)) 0
	expect "ok written $((16 * MIB)) result 0" || bad=$((bad + 1))
	tok write $DEV $W/f $((928 * MIB + 4096)) $((8 * MIB)) $((4 * MIB))
	expect "ok written $((8 * MIB)) result 0" || bad=$((bad + 1))
	copies=$((copies + 1))
done
wait $fio_pid
fio_rc=$?
odx_diag "fio: $(grep -E 'err=|verify' $W/fio.out | head -6)"
odx_result "fio with verify next to the destination and on the source passed during $copies copy rounds" \
	test $fio_rc = 0 -a $copies -gt 0 -a $bad = 0
# an idle point-in-time copy of what fio left (read once, the reference)
odx_save $DEV $((768 * MIB)) $((16 * MIB)) $W/fio-range ||
	odx_diag "cannot read the fio range"
idle_copy() {
	tok read $DEV $W/f pit 0 $((768 * MIB)):$((16 * MIB))
	expect "ok bytes .*" || return 1
	tok write $DEV $W/f $((896 * MIB)) $((16 * MIB)) 0
	expect "ok written $((16 * MIB)) result 0" &&
	same_as $W/fio-range 0 $DEV $((896 * MIB)) $((16 * MIB)) &&
	same_as $W/fio-range 0 $DEV $((768 * MIB)) $((16 * MIB))
}
odx_result "an idle copy of the fio range: all written, reads back equal to what fio left" \
	idle_copy

# --- asynchronous copies ------------------------------------------------------
# a reload revokes the tokens so far (their pins count against the limit)
dmsetup table $V | dmsetup reload $V && dmsetup resume $V
# unaligned, so a data copy that takes a while
A=$((128 * MIB))
odx_save $DEV 4096 $A $W/async-src || odx_diag "cannot read the async source"
tok read $DEV $W/a pit 0 $((4096)):$A
tok write $DEV $W/a $((600 * MIB + 8192)) $A 0 immediate
odx_result "immediate: in progress, with an id" \
	expect "ok written 0 result 2 id [0-9]+"
id=${OUT##* }
tok status $DEV $id
odx_result "status at once: in progress (0x10-0x12)" \
	expect "ok status 0x1[012] .*"
tok_wait $DEV $id
odx_result "then done: 0x01, transfer count 128 MiB in bytes, no sense" \
	expect "ok status 0x01 count $A units 0 error 0 sense 00/00/00"
odx_result "the asynchronous copy reads back equal (to the source as read before it)" \
	same_as $W/async-src 0 $DEV $((600 * MIB + 8192)) $A
# 512 MiB of data copy (source and destination out of phase): aborted
# before its end
B=$((512 * MIB))
tok read $DEV $W/b pit 0 $((4096)):$B
tok write $DEV $W/b $((500 * MIB + 8192)) $B 0 immediate
id=${OUT##* }
tok abort $DEV $id
a=$OUT
tok_wait $DEV $id
done_bytes=$(sed 's/.* count \([0-9]*\) .*/\1/' <<<"$OUT")
odx_result "abort: accepted, then terminated (0x60, COPY ABORTED) short of 512 MiB" \
	all test "$a" = ok -- \
	expect "ok status 0x60 count [0-9]+ units 0 error -125 sense 0a/00/00" -- \
	test "$done_bytes" -lt $B

# --- odxctl ------------------------------------------------------------------
# copy in 3 MiB offload reads and writes (the hidden --batch), unaligned
read -r copied reads < <($ODXCTL copy --json --batch 3M $DEV $((MIB + 4096)) \
	$((960 * MIB + 8192)) $((10 * MIB)) | python3 -c \
	'import json, sys; d = json.load(sys.stdin); print(d["copied"], d["reads"])')
odx_result "odxctl copy: 10 MiB in $reads offload reads, reads back equal" \
	all test "$copied" = $((10 * MIB)) -- test "${reads:-0}" -ge 4 -- \
	same_as $W/src $((MIB + 4096)) $DEV $((960 * MIB + 8192)) $((10 * MIB))
err=$($ODXCTL offload-write --token $W/cv $DEV 0 1M 2>&1)
rc=$?
odx_diag "$err"
odx_result "odxctl offload-write of a revoked token: exit 1, one line saying token invalid" \
	all test $rc = 1 -- test "$(wc -l <<<"$err")" = 1 -- \
	grep -q "token invalid" <<<"$err"

odx_rmvol $V
odx_check_result
rm -rf $W
ktap_finished
