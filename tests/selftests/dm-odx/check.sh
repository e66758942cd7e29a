#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# odxctl check, the offline metadata checker: clean on a healthy volume;
# every kind of damage that odx-corrupt.py makes on purpose (a map entry
# flipped to another slab or out of range, a wrong, zero or leaked
# reference count, a bad block checksum) is caught with exit status 1 and
# a line that names it, and the kernel refuses to activate that metadata
# with a log line that names it too; an active volume is refused; a set
# needs_check is reported and cleared by --clear-needs-check, after which
# the volume activates read-write with its data; --json parses.

. "$(dirname "$0")/lib.sh"

ktap_print_header
odx_require_root

V=${ODX_TEST_PREFIX}-chk
DEV=/dev/mapper/$V
SPARE=${ODX_SPARE_DEV:-/dev/vdc}
CORRUPT="python3 $(dirname "$0")/odx-corrupt.py"
OUT=/tmp/odx-chk.out
PAT=/tmp/odx-chk.pat

odx_need_odxctl
odx_need_cmd python3
[ -b "$SPARE" ] || { ktap_skip_all "no spare disk $SPARE"; exit "$KSFT_SKIP"; }
ktap_set_plan 23

odx_cleanup
odx_load || ktap_exit_fail_msg "cannot load dm-odx"

# fresh: a volume of 64 MiB virtual over 32 MiB of data (1024 and 512
# slabs of 64 KiB), 38 slabs written (40, 5 of them discarded, 3 more far
# away), removed cleanly (its -data stays); odxctl check runs after the
# removal (odx_rmodx). Sets MAPPED to its "VSLAB PSLAB" lines.
fresh() {
	dmsetup remove --retry $V 2>/dev/null
	dmsetup remove --retry $V-data 2>/dev/null
	odx_mkvol $V 64 32 128 || return 1
	dd if=$PAT of=$DEV bs=64k count=40 oflag=direct status=none &&
	blkdiscard -o $((10 * 65536)) -l $((5 * 65536)) $DEV &&
	dd if=$PAT of=$DEV bs=64k seek=500 count=3 oflag=direct status=none &&
	odx_rmodx $V || return 1
	MAPPED=$($CORRUPT $META mapped) || return 1
	[ "$(wc -l <<<"$MAPPED")" = 38 ]
}

# run_check ARGS...: odxctl check ARGS, output (both streams) in $OUT,
# exit status in $RC
run_check() {
	"$ODXCTL" check "$@" > $OUT 2>&1
	RC=$?
}

# caught "<damage>" "<kernel log text>" "<regex the check must print>"...:
# two results: odxctl check exits 1 and prints a line matching each
# regex; the kernel refuses to activate and its log names the damage.
caught() {
	local desc=$1 klog=$2 ok=1 want
	shift 2
	run_check $META
	[ $RC = 1 ] || { odx_diag "exit $RC, expected 1"; ok=0; }
	for want in "$@"; do
		grep -qE -- "$want" $OUT ||
			{ odx_diag "no line matches '$want'"; ok=0; }
	done
	[ $ok = 1 ] || sed 's/^/#   /' $OUT
	[ $ok = 1 ] && ktap_test_pass "check catches $desc" ||
		ktap_test_fail "check catches $desc"
	ok=1
	odx_klog_mark
	if odx_loadvol $V 64 128 2>/dev/null; then
		odx_diag "the kernel activated it: $(dmsetup status $V)"
		dmsetup remove --retry $V
		ok=0
	fi
	if ! odx_klog_since | grep -qF -- "$klog"; then
		odx_diag "kernel log lacks '$klog':"
		odx_klog_since | sed 's/^/#   /'
		ok=0
	fi
	[ $ok = 1 ] && ktap_test_pass "kernel refuses $desc: '$klog'" ||
		ktap_test_fail "kernel refuses $desc: '$klog'"
}

head -c $((64 * 65536)) /dev/urandom > $PAT

# --- healthy --------------------------------------------------------------------

fresh || ktap_exit_fail_msg "cannot set up the volume"
clean_ok() {
	run_check $META && grep -q ': clean (' $OUT &&
	run_check $META /dev/mapper/$V-data && grep -q ': clean (' $OUT ||
		{ sed 's/^/#   /' $OUT; return 1; }
}
odx_result "healthy volume after writes, discards and removal: clean, also with its data device" \
	clean_ok

json_ok() {
	"$ODXCTL" check --json $META > $OUT 2>&1 &&
	python3 -m json.tool $OUT > /dev/null &&
	python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
assert d["clean"] is True and d["problems"] == [] and d["used_slabs"] == 38 \
	and d["mapped_slabs"] == 38 and d["data_slabs"] == 512, d' $OUT ||
		{ sed 's/^/#   /' $OUT; return 1; }
}
odx_result "--json: one object that json.tool parses, clean, 38 slabs used" json_ok

small_data() {
	local ok=1
	echo "0 $((16 * 2048)) linear $DATA 0" | dmsetup create $V-small || return 1
	run_check $META /dev/mapper/$V-small
	[ $RC = 1 ] && grep -q 'data device smaller than the metadata records' $OUT || ok=0
	[ $ok = 1 ] || sed 's/^/#   /' $OUT
	dmsetup remove --retry $V-small
	[ $ok = 1 ]
}
odx_result "a data device smaller than recorded is caught" small_data

active_refused() {
	local ok=1
	odx_loadvol $V 64 128 || return 1
	run_check $META
	[ $RC = 1 ] && grep -q 'in use' $OUT || { sed 's/^/#   /' $OUT; ok=0; }
	odx_rmodx $V || ok=0
	[ $ok = 1 ]
}
odx_result "an active volume is refused (exit 1, 'in use')" active_refused

# --- damage ------------------------------------------------------------------------

# two mapped slabs: V1 -> P1, V2 -> P2
read -r V1 P1 <<<"$(sed -n 1p <<<"$MAPPED")"
read -r V2 P2 <<<"$(sed -n 2p <<<"$MAPPED")"
$CORRUPT $META set-map "$V1" "$P2" || odx_diag "odx-corrupt failed"
caught "a map entry flipped to another mapped slab" \
	"slab mapped more often than its reference count says" \
	"^refcount: slab $P2 stored 1, mapped 2 time\(s\) \(undercounted\)$" \
	"^refcount: slab $P1 stored 1, mapped 0 time\(s\) \(leaked\)$"

fresh || ktap_exit_fail_msg "cannot set up the volume again"
read -r V1 P1 <<<"$(sed -n 1p <<<"$MAPPED")"
$CORRUPT $META set-map "$V1" 517 || odx_diag "odx-corrupt failed"
caught "a map entry past the data device" \
	"map entry beyond the data device" \
	"map: virtual slab $V1 -> physical slab 517 past the data device \(512 slabs\)"

fresh || ktap_exit_fail_msg "cannot set up the volume again"
read -r V1 P1 <<<"$(sed -n 1p <<<"$MAPPED")"
$CORRUPT $META set-refcount "$P1" 3 || odx_diag "odx-corrupt failed"
caught "a wrong reference count" \
	"reference count above the number of map entries" \
	"refcount: slab $P1 stored 3, mapped 1 time\(s\)"

fresh || ktap_exit_fail_msg "cannot set up the volume again"
read -r V1 P1 <<<"$(sed -n 1p <<<"$MAPPED")"
$CORRUPT $META break-csum map "$V1" || odx_diag "odx-corrupt failed"
caught "a map block with a bad checksum" \
	"bad map block checksum" \
	"map: block [0-9]+, virtual slabs 0-1015: bad map block checksum"

fresh || ktap_exit_fail_msg "cannot set up the volume again"
read -r V1 P1 <<<"$(sed -n 1p <<<"$MAPPED")"
$CORRUPT $META set-refcount "$P1" 0 || odx_diag "odx-corrupt failed"
caught "a slab both free and mapped" \
	"slab mapped more often than its reference count says" \
	"refcount: slab $P1 stored 0, mapped 1 time\(s\) \(free and mapped\)"

fresh || ktap_exit_fail_msg "cannot set up the volume again"
# the first slab nobody maps
LEAK=$(awk '{ m[$2] = 1 } END { for (p = 0; p in m; p++); print p }' <<<"$MAPPED")
$CORRUPT $META set-refcount "$LEAK" 1 || odx_diag "odx-corrupt failed"
caught "a leaked slab (count 1, no map entry)" \
	"reference count above the number of map entries" \
	"refcount: slab $LEAK stored 1, mapped 0 time\(s\) \(leaked\)"

# --- needs_check --------------------------------------------------------------------

# on damaged metadata (the leak above) --clear-needs-check clears nothing
clear_refused() {
	$CORRUPT $META set-needs-check 1 || return 1
	run_check --clear-needs-check $META
	[ $RC = 1 ] && grep -q 'needs_check not cleared' $OUT &&
	[ "$($CORRUPT $META info | grep needs_check=)" = needs_check=1 ] ||
		{ sed 's/^/#   /' $OUT; return 1; }
}
odx_result "--clear-needs-check after a check that found problems: exit 1, the flag stays" \
	clear_refused

fresh || ktap_exit_fail_msg "cannot set up the volume again"
needs_check_reported() {
	local ok=1 st
	$CORRUPT $META set-needs-check 1 || return 1
	run_check $META
	[ $RC = 0 ] && grep -q 'needs_check is set' $OUT &&
		grep -q ': clean (.*needs_check set' $OUT || { sed 's/^/#   /' $OUT; ok=0; }
	# the kernel activates it read-only
	odx_loadvol $V 64 128 || return 1
	st=$(odx_field $V 5)/$(odx_field $V 8)
	[ "$st" = ro/needs_check ] || { odx_diag "mode/needs_check: $st"; ok=0; }
	dmsetup remove --retry $V || ok=0
	[ $ok = 1 ]
}
odx_result "needs_check set: reported, exit 0 (clean metadata); the kernel activates read-only" \
	needs_check_reported

needs_check_cleared() {
	local ok=1 st
	run_check --clear-needs-check $META
	[ $RC = 0 ] && grep -q 'needs_check cleared in superblock slot' $OUT ||
		{ sed 's/^/#   /' $OUT; ok=0; }
	run_check $META
	[ $RC = 0 ] && ! grep -q needs_check $OUT || { sed 's/^/#   /' $OUT; ok=0; }
	odx_loadvol $V 64 128 || return 1
	st=$(odx_field $V 5)/$(odx_field $V 8)
	[ "$st" = rw/- ] || { odx_diag "mode/needs_check: $st"; ok=0; }
	cmp -s <(head -c $((10 * 65536)) $PAT) \
		<(dd if=$DEV bs=64k count=10 iflag=direct status=none) &&
	cmp -s <(head -c $((3 * 65536)) $PAT) \
		<(dd if=$DEV bs=64k skip=500 count=3 iflag=direct status=none) ||
		{ odx_diag "data differs"; ok=0; }
	odx_rmodx $V || ok=0
	[ $ok = 1 ]
}
odx_result "--clear-needs-check clears it; the next check is clean, the volume activates read-write, its data reads back" \
	needs_check_cleared

# --- a copy taken while active: the journal is not yet home ----------------------------

journal_copy() {
	local ok=1 n
	odx_loadvol $V 64 128 || return 1
	dd if=$PAT of=$DEV bs=64k seek=700 count=4 oflag=direct status=none
	blkdiscard -o $((20 * 65536)) -l $((2 * 65536)) $DEV
	sync $DEV
	sleep 2
	dd if=$META of=$SPARE bs=1M iflag=direct oflag=direct status=none
	odx_rmodx $V || ok=0
	n=$($CORRUPT $SPARE info | sed -n 's/^journal_entries=//p')
	[ "${n:-0}" -gt 0 ] || { odx_diag "the copy has no pending journal ($n)"; ok=0; }
	run_check $SPARE
	[ $RC = 0 ] && grep -q 'replayed in memory' $OUT &&
		grep -q ' 40 used, ' $OUT || { sed 's/^/#   /' $OUT; ok=0; }
	# the tool will not edit a block the journal holds a newer copy of
	$CORRUPT $SPARE set-map 700 5 2> $OUT && ok=0
	grep -q 'newer copy in the journal' $OUT || { sed 's/^/#   /' $OUT; ok=0; }
	[ $ok = 1 ]
}
odx_result "a copy taken while active (journal pending): replayed in memory, clean, 40 slabs used" \
	journal_copy

not_formatted() {
	dd if=/dev/zero of=$SPARE bs=1M count=8 oflag=direct status=none
	run_check $SPARE
	[ $RC = 1 ] && grep -q 'not formatted' $OUT || { sed 's/^/#   /' $OUT; return 1; }
}
odx_result "an all-zero metadata device: exit 1, 'not formatted'" not_formatted

bad_usage() {
	run_check; [ $RC = 2 ] || return 1
	run_check --no-such-option $META; [ $RC = 2 ] || return 1
	run_check $META $DATA extra; [ $RC = 2 ]
}
odx_result "bad usage: exit 2" bad_usage

odx_rmvol $V
odx_check_result
ktap_finished
