#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Crash consistency (SPEC section 2): record every write a volume makes to
# its metadata and data devices with dm-log-writes while a workload of
# known content runs (writes, overwrites, discards, write-zeroes, fsync,
# FUA writes, periodic commits, offload copies by remapping and by data
# copy, copy on write, and copy_file_range() copies where the kernel has
# REQ_OP_COPY), then replay the log to the mark after
# every fsync / FUA write and to more entries in between (half of them
# just before or after a superblock write, the commit point), activate the
# volume on each replayed state, and check that it activates, that every
# block holds a value it may hold (at least what was acknowledged by the
# last flush: see check_point() in replay-log.py), that no block reads
# the poison the replay puts where the data device was discarded or never
# written (a slab mapped without zeroing), and that the set of mapped
# virtual slabs (odxctl map) agrees with what the workload mapped and
# unmapped. The workload removes and recreates the volume once, so that
# discarded data slabs are reused.
#
# Layout: lw = log-writes over $ODX_CRASH_DEV (default /dev/vdc) logging to
# $ODX_CRASH_LOG (/dev/vdd); the volume's metadata (8 MiB) and data
# (128 MiB) devices are dm-linear slices of lw, so one log orders the
# writes of both (256 MiB virtual, 64 KiB slabs). Replay goes to the same
# layout on $DATA (/dev/vdb), incrementally, in entry order; each check
# activates on a copy of the replayed metadata (on $META, /dev/vda) so
# that its journal replay and clean close leave the replayed state alone
# for the next, later point.
#
# What one log cannot show: a flush of either slice flushes lw, so a
# missing flush of the data device alone (commit step 3) is covered by the
# metadata flushes; and a prefix of the log is one order of the writes
# that were in flight, not every order.
#
# odxctl check runs on the recorded metadata after the volume's removal,
# and on each replayed state before activation (it replays the journal in
# memory) and after removal: one more result for them all at the end.
#
# ODX_CRASH_POINTS   entries checked besides the flush marks (default 6, 2
#                    under the debug kernel)
# ODX_CRASH_MARKS    how many of the flush marks are checked (default all;
#                    6 under the debug kernel, one of each kind among them,
#                    chosen with the seed: the stock kernel checks them all,
#                    the debug kernel a sample for KASAN and lockdep)
# ODX_CRASH_SEED     seed that chooses them (default: random, printed)
# ODX_CRASH_KEEP     a directory to keep the log and the workload record in
#                    (replay-log.py can check any entry of them again)

. "$(dirname "$0")/lib.sh"

ktap_print_header
odx_require_root

REC=${ODX_CRASH_DEV:-/dev/vdc}
LOGDEV=${ODX_CRASH_LOG:-/dev/vdd}
REPLAY=$DATA
SCRATCH=$META
POINTS=${ODX_CRASH_POINTS:-6}
# under the debug kernel each point costs half a minute: fewer seeded ones
# and a sample of the flush and FUA marks (the stock kernel checks them all)
[ "${ODX_KERNEL:-}" = debug ] && [ -z "${ODX_CRASH_POINTS:-}" ] && POINTS=2
MARKS=${ODX_CRASH_MARKS:-}
[ "${ODX_KERNEL:-}" = debug ] && [ -z "$MARKS" ] && MARKS=6
SEED=${ODX_CRASH_SEED:-$(( (RANDOM << 15) | RANDOM ))}
REPLAY_LOG="python3 $(dirname "$0")/replay-log.py"
W=/tmp/odx-crash
META_MIB=8
DATA_MIB=128
VIRT_MIB=256
SLAB=128	# sectors: 64 KiB, 16 blocks of 4 KiB
P=${ODX_TEST_PREFIX}-crash
LW=$P-lw
V=$P-vol
DEV=/dev/mapper/$V
CV=$P-chk

for d in "$REC" "$LOGDEV" "$REPLAY" "$SCRATCH"; do
	[ -b "$d" ] || { ktap_skip_all "no disk $d (the VM runner gives four)"; exit "$KSFT_SKIP"; }
done
odx_need_cmd python3 fio
odx_need_odxctl

crash_cleanup() {
	local d
	for d in $V $CV $P-rmeta $P-rdata $P-cmeta $P-cdata $LW; do
		dmsetup remove --retry $d >/dev/null 2>&1
	done
}
crash_cleanup
odx_cleanup
odx_load || ktap_exit_fail_msg "cannot load dm-odx"
modprobe dm-log-writes 2>/dev/null
dmsetup targets | grep -q '^log-writes' ||
	odx_lacks log-writes "no dm-log-writes target"
rm -rf $W
mkdir -p $W
odx_token_tool $W || ktap_exit_fail_msg "cannot build odx_token"
t0=$SECONDS

# --- record -----------------------------------------------------------------

OP=0
FAILED=
mark() {
	dmsetup message $LW 0 mark "op$OP" 2>> $W/ops.err ||
		FAILED="$FAILED mark-op$OP"
}

# record KIND BLOCK COUNT: operation $OP ran; its mark follows
record() {
	echo "$OP $1 $2 $3" >> $W/ops
	mark
}

# the content of BLOCK as written by operation OP, see replay-log.py
emit() {
	local b line s
	for ((b = $1; b < $1 + $2; b++)); do
		printf -v line 'odx-crash blk=%08d op=%04d' "$b" "$OP"
		printf -v line '%-63s\n' "$line"
		s=$line$line; s=$s$s; s=$s$s; s=$s$s; s=$s$s; s=$s$s
		printf '%s' "$s"
	done
}

# w BLOCK COUNT: write COUNT 4 KiB blocks (O_DIRECT, no flush)
w() {
	OP=$((OP + 1))
	emit "$1" "$2" | dd of=$DEV bs=4096 seek="$1" count="$2" \
		iflag=fullblock oflag=direct status=none 2>> $W/ops.err ||
		FAILED="$FAILED w$OP"
	record W "$1" "$2"
}

# fua BLOCK: one 4 KiB write with REQ_FUA only (async O_DSYNC direct
# I/O: the synchronous path would add an fsync)
fua() {
	OP=$((OP + 1))
	emit "$1" 1 > $W/fua.blk
	fio --name=fua --filename=$DEV --rw=write --bs=4k --size=4k \
		--offset=$(($1 * 4096)) --ioengine=libaio --iodepth=1 \
		--direct=1 --sync=dsync --invalidate=0 \
		--buffer_pattern="'$W/fua.blk'" --output=$W/fio.out \
		2>> $W/ops.err || FAILED="$FAILED fua$OP"
	record U "$1" 1
}

# discard BLOCK COUNT [-z]: discard (or write-zeroes) the range. Without
# write-zeroes in the volume's queue limits the kernel writes zeros
# instead (O): the range is then written, not unmapped.
discard() {
	local kind=Z
	OP=$((OP + 1))
	blkdiscard $3 -o $(($1 * 4096)) -l $(($2 * 4096)) $DEV 2>> $W/ops.err ||
		FAILED="$FAILED discard$OP"
	[ "$3" = -z ] && [ "$WZ" = 0 ] && kind=O
	record $kind "$1" "$2"
}

# xcopy SRC DST COUNT: an offload copy of COUNT blocks (a point-in-time
# token of the source, written to the destination: remapped where whole
# slabs line up, data-copied elsewhere; flushed when it returns)
xcopy() {
	OP=$((OP + 1))
	"$ODX_TOKEN" read $DEV $W/tok pit 0 $(($1 * 4096)):$(($3 * 4096)) \
		>> $W/ops.err 2>&1 &&
	"$ODX_TOKEN" write $DEV $W/tok $(($2 * 4096)) $(($3 * 4096)) 0 \
		>> $W/ops.err 2>&1 || FAILED="$FAILED xcopy$OP"
	echo "$OP X $2 $3 $1" >> $W/ops
	mark
}

# ccopy SRC DST COUNT: copy_file_range() of COUNT blocks on the volume
# (REQ_OP_COPY: whole slabs remapped, partial ends read and written by the
# block layer); unlike an offload write it does not flush
ccopy() {
	OP=$((OP + 1))
	"$ODX_CFR" $DEV $(($1 * 4096)) $DEV $(($2 * 4096)) $(($3 * 4096)) \
		>> $W/ops.err 2>&1 || FAILED="$FAILED ccopy$OP"
	echo "$OP Y $2 $3 $1" >> $W/ops
	mark
}

# reopen: remove the volume (a clean close) and create it again; the new
# volume allocates from the first free data slab on, so the slabs freed
# and discarded so far are reused (they must be zeroed: the replay writes
# the poison over discarded ranges)
reopen() {
	OP=$((OP + 1))
	dmsetup remove --retry $V 2>> $W/ops.err || FAILED="$FAILED remove$OP"
	odx_check_meta /dev/mapper/$P-rmeta
	echo "0 $((VIRT_MIB * 2048)) odx /dev/mapper/$P-rmeta /dev/mapper/$P-rdata $SLAB" |
		dmsetup create $V 2>> $W/ops.err || FAILED="$FAILED create$OP"
	record R 0 0
}

# fsync the volume: a REQ_PREFLUSH
flush() {
	OP=$((OP + 1))
	sync $DEV 2>> $W/ops.err || FAILED="$FAILED sync$OP"
	record F 0 0
}

S=16	# blocks per slab
# A map block holds 1016 slabs (63.5 MiB of the volume): the rounds below
# move between map blocks 0..4, so that one transaction journals blocks
# the one before did not (a commit that writes a block home too early,
# or a recovery that takes the wrong journal, then shows).
M=1016

workload() {
	# new slabs in map block 0: partial, whole, across two slabs
	w $((1 * S)) 1
	w $((2 * S + 5)) 2
	w $((3 * S)) 16
	w $((5 * S + 8)) 16
	w $((10 * S + 15)) 1
	w $((12 * S + 3)) 2
	flush
	# overwrites in place, and a new slab in map block 1
	w $((1 * S)) 1
	w $((3 * S + 4)) 4
	w $(((M + 20) * S)) 4
	w $((2 * S + 5)) 1
	flush
	# whole-slab discard, partial discard, whole-slab write-zeroes; a new
	# slab in map block 2; slab 12 zeroed by a partial discard (mapped,
	# and it reads zeros: only the map shows a lost mapping of it)
	discard $((3 * S)) 16
	discard $((5 * S + 10)) 4
	discard $(((M + 20) * S)) 16 -z
	w $(((2 * M + 30) * S)) 2
	discard $((12 * S + 3)) 2
	flush
	# a new volume on the metadata: the data slabs freed above come first
	reopen
	# the discarded slab written again (into a reused data slab), two
	# whole slabs in map block 3
	w $((3 * S + 2)) 1
	w $(((3 * M + 40) * S)) 32
	flush
	# no flush for a while: the periodic commit (about 1 s) commits each
	w $(((4 * M + 20) * S)) 1
	sleep 1.5
	w $(((M + 51) * S + 3)) 1
	sleep 1.5
	w $((1 * S + 1)) 1
	sleep 1.5
	discard $((10 * S)) 16
	sleep 1.5
	flush
	# FUA writes: into a new slab, and over a mapped block
	w $(((2 * M + 60) * S)) 1
	fua $(((M + 61) * S))
	fua $((1 * S))
	w $(((3 * M + 62) * S)) 1
	flush
	# seeded random writes all over the volume, now and then a discard
	# of the slab just written
	local i b
	RANDOM=4242
	for ((i = 1; i <= 16; i++)); do
		b=$((((RANDOM << 15) | RANDOM) % (4096 * S - 4)))
		w $b $((1 + RANDOM % 4))
		[ $((i % 8)) = 4 ] && discard $((b / S * S)) 16
		[ $((i % 8)) = 0 ] && flush
	done
	# 1 MiB, then half of it discarded
	w $(((2 * M + 500) * S)) 256
	discard $(((2 * M + 508) * S)) 128
	flush
	# offload copies: 4 whole slabs (remapped, shared), then writes and a
	# discard into the shared slabs (copy on write, one reference
	# dropped); an unaligned copy (a data copy) and one over it; writes
	# without a flush after each, so that copies are in flight at crash
	# points
	xcopy $(((2 * M + 500) * S)) $(((3 * M + 200) * S)) $((4 * S))
	w $(((3 * M + 200) * S + 3)) 2
	w $(((2 * M + 501) * S + 7)) 1
	discard $(((3 * M + 202) * S)) 16
	xcopy $(((2 * M + 500) * S + 5)) $(((3 * M + 300) * S + 9)) 40
	w $(((3 * M + 300) * S + 20)) 1
	xcopy $(((3 * M + 40) * S)) $(((3 * M + 300) * S)) $((2 * S))
	w $(((3 * M + 40) * S + 1)) 1
	flush
	# copy_file_range, where the kernel has REQ_OP_COPY: 3 whole slabs
	# (remapped), then 37 blocks between equally misaligned ranges (a
	# remapped slab between two partial ends), each followed by a write
	# into its source or destination and no flush until the end, so that
	# crash points fall between a copy and its commit
	if [ "$COPY" = 1 ]; then
		ccopy $(((2 * M + 500) * S)) $(((4 * M + 24) * S)) $((3 * S))
		w $(((4 * M + 25) * S + 2)) 1
		ccopy $(((3 * M + 40) * S + 3)) $(((4 * M + 28) * S + 3)) $((2 * S + 5))
		w $(((3 * M + 40) * S + 4)) 1
		flush
	fi
}

odx_zero "$REC" 0 $((META_MIB + DATA_MIB)) &&
	dd if=/dev/zero of="$LOGDEV" bs=1M count=1 oflag=direct status=none &&
	echo "0 $(((META_MIB + DATA_MIB) * 2048)) log-writes $REC $LOGDEV" |
		dmsetup create $LW &&
	odx_linear $P-rmeta /dev/mapper/$LW 0 $META_MIB &&
	odx_linear $P-rdata /dev/mapper/$LW $META_MIB $DATA_MIB &&
	echo "0 $((VIRT_MIB * 2048)) odx /dev/mapper/$P-rmeta /dev/mapper/$P-rdata $SLAB" |
		dmsetup create $V ||
	{ crash_cleanup; ktap_exit_fail_msg "cannot set up the recording"; }
: > $W/ops
WZ=$(cat "/sys/block/dm-$(dmsetup info -c --noheadings -o minor $V)/queue/write_zeroes_max_bytes")
odx_diag "write_zeroes_max_bytes of the volume: $WZ"
COPY=0
if [ -n "$(odx_copy_max $V)" ] && [ "$(odx_copy_max $V)" != 0 ]; then
	COPY=1
	odx_cfr_tool $W || ktap_exit_fail_msg "cannot build odx_cfr"
fi
odx_diag "copy_file_range copies (REQ_OP_COPY): $([ $COPY = 1 ] && echo yes || echo "no: the kernel has no copy operation")"
mark	# op0: the volume exists
workload
dmsetup remove --retry $V || FAILED="$FAILED remove"
odx_check_meta /dev/mapper/$P-rmeta
OP=$((OP + 1))
record C 0 0
lwstatus=$(dmsetup status $LW)
dmsetup remove --retry $P-rmeta; dmsetup remove --retry $P-rdata
dmsetup remove --retry $LW || FAILED="$FAILED remove-lw"
case "$lwstatus" in *logging_disabled*) FAILED="$FAILED log-full" ;; esac
t1=$SECONDS

# --- replay and check -----------------------------------------------------

if ! $REPLAY_LOG points "$LOGDEV" --ops $W/ops --random "$POINTS" \
	--seed "$SEED" ${MARKS:+--marks "$MARKS"} > $W/points 2> $W/points.err; then
	sed 's/^/# /' $W/points.err
	ktap_exit_fail_msg "cannot read the log"
fi
$REPLAY_LOG list "$LOGDEV" > $W/entries
nentries=$(sed -n '1s/^# \([0-9]*\) entries.*/\1/p' $W/entries)
if [ -n "${ODX_CRASH_KEEP:-}" ]; then
	mkdir -p "$ODX_CRASH_KEEP"
	cp $W/ops $W/points $W/entries "$ODX_CRASH_KEEP"/
	dd if="$LOGDEV" of="$ODX_CRASH_KEEP"/log bs=1M status=none \
		count=$(( ($(sed -n '1s/.* \([0-9]*\) bytes$/\1/p' $W/entries) >> 20) + 1))
	odx_diag "log and workload kept in $ODX_CRASH_KEEP"
fi
ktap_set_plan $((3 + $(wc -l < $W/points)))
odx_diag "seed $SEED (ODX_CRASH_SEED), $POINTS points besides the flush marks (ODX_CRASH_POINTS), ${MARKS:-all} flush marks (ODX_CRASH_MARKS)"
[ -z "$FAILED" ] || sed 's/^/# /' $W/ops.err
odx_result "recorded $OP operations in $nentries log entries, every mark logged (${FAILED:-no failure})" \
	test -z "$FAILED"
odx_feature_result copy $COPY "the workload has copy_file_range() copies (REQ_OP_COPY)"

# the replayed data device starts as poison, not zeros: a data slab is
# zeroed or written whole before a mapping of it commits, or the check
# reads the poison (and so does a discarded one, see replay-log.py)
odx_zero "$REPLAY" 0 $META_MIB &&
	$REPLAY_LOG poison "$REPLAY" --offset $((META_MIB * 1048576)) \
		--length $((DATA_MIB * 1048576)) &&
	odx_linear $P-cmeta "$SCRATCH" 0 $META_MIB &&
	odx_linear $P-cdata "$REPLAY" $META_MIB $DATA_MIB ||
	{ crash_cleanup; ktap_exit_fail_msg "cannot set up the replay"; }

# check_point ENTRY: the volume activated on the state after ENTRY
check_point() {
	local n=$1 ok=1 st
	if ! $REPLAY_LOG replay "$LOGDEV" "$REPLAY" --from "$replayed" \
		--entry "$n" > /dev/null; then
		odx_diag "replay to entry $n failed"
		return 1
	fi
	replayed=$n
	dd if="$REPLAY" of=/dev/mapper/$P-cmeta bs=1M count=$META_MIB \
		iflag=direct oflag=direct status=none || return 1
	# odxctl check replays the journal in memory as the kernel does: the
	# crashed state must check clean (unless the volume was not formatted
	# yet: the kernel formats it then)
	cmp -s -n 8192 /dev/mapper/$P-cmeta /dev/zero ||
		odx_check_meta /dev/mapper/$P-cmeta
	odx_klog_mark
	if ! echo "0 $((VIRT_MIB * 2048)) odx /dev/mapper/$P-cmeta /dev/mapper/$P-cdata $SLAB" |
		dmsetup create $CV 2> $W/create.err; then
		odx_diag "activation refused:"
		sed 's/^/#   /' $W/create.err
		odx_klog_since | sed 's/^/#   /'
		return 1
	fi
	st=$(dmsetup status $CV)
	# fields: start len odx txn meta slabs shared mode discard nospace check
	set -- $st
	if [ "$8 ${11}" != "rw -" ]; then
		odx_diag "status: $st"
		ok=0
	fi
	# the mapped virtual slabs, as a set (copies share slabs: not the
	# used count)
	if ! $ODXCTL map --json /dev/mapper/$CV > $W/map.json 2> $W/map.err; then
		odx_diag "odxctl map failed: $(cat $W/map.err)"
		ok=0
	fi
	$REPLAY_LOG check "$LOGDEV" --ops $W/ops --entry "$n" --dev /dev/mapper/$CV \
		--map $W/map.json --data-slabs "${6#*/}" > $W/check.out 2>&1 || ok=0
	if [ $ok = 0 ]; then
		cat $W/check.out
		odx_diag "status: $st"
		odx_klog_since | sed 's/^/#   /'
	fi
	dmsetup remove --retry $CV || ok=0
	odx_check_meta /dev/mapper/$P-cmeta
	[ $ok = 1 ]
}

replayed=0
while read -r n label; do
	odx_result "entry $n of $nentries, $label: activates, data and used slabs consistent" \
		check_point "$n"
done < $W/points

odx_diag "recording $((t1 - t0)) s, $(wc -l < $W/points) points checked in $((SECONDS - t1)) s"
crash_cleanup
odx_check_result
ktap_finished
