#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The control device's requests through odxctl (info, map, bitmap, trim)
# and odx_ioctl (malformed requests), asserted on data: the answers are
# compared with a model of the volume computed without the kernel
# (query-model.py) from a seeded pattern of writes and discards; trims
# release exactly the slabs the model says, read as zeros and leave
# everything else intact; every malformed request gets its errno and
# changes nothing.

. "$(dirname "$0")/lib.sh"

ktap_print_header
odx_require_root

V=${ODX_TEST_PREFIX}-query
DEV=/dev/mapper/$V
LIN=/dev/mapper/$V-data		# a dm-linear device: not a volume
MIB=$((1024 * 1024))
SLAB=65536
W=/tmp/odx-query
ODXCTL=${ODXCTL:-odxctl}
MODEL="python3 $ksft_dir/query-model.py"
rm -rf $W
mkdir -p $W

# odx_ioctl: installed next to this script by the kselftest Makefile; in
# the repository, built here from the source
odx_ioctl_tool $W || ktap_exit_fail_msg "cannot build odx_ioctl"
CASES=$("$ODX_IOCTL" --list) || ktap_exit_fail_msg "odx_ioctl --list failed"
NCASES=$(wc -l <<<"$CASES")
ktap_set_plan $((39 + NCASES))

odx_cleanup
odx_load || ktap_exit_fail_msg "cannot load dm-odx"
[ -c /dev/odx-control ] || ktap_exit_fail_msg "no /dev/odx-control"

# 1 GiB virtual over as much data, 64 KiB slabs; 512 MiB under the debug
# kernel, where the model's whole-volume reads cost minutes
VMIB=1024
[ "${ODX_KERNEL:-}" = debug ] && VMIB=512
odx_mkvol $V $VMIB $VMIB 128 || ktap_exit_fail_msg "cannot create the volume"

# odxctl_json FILE ARGS...: odxctl ARGS --json into FILE; if it fails,
# FILE is left empty and the call fails
odxctl_json() {
	local f=$1
	shift
	"$ODXCTL" "$@" --json > "$f" 2> $W/err && [ -s "$f" ] && return 0
	odx_diag "odxctl $* --json failed: $(cat $W/err)"
	: > "$f"
	return 1
}

# same_json FILE ARGS...: odxctl ARGS --json succeeds and prints what FILE
# (the output of an odxctl_json that succeeded: never empty) holds
same_json() {
	local f=$1
	shift
	[ -s "$f" ] || { odx_diag "no $f to compare with"; return 1; }
	odxctl_json $W/now.json "$@" && cmp -s "$f" $W/now.json
}

# map_is_model MODEL OFF LEN [ODXCTL MAP ARGS...]: the map of the range
# the ARGS ask for (OFF, LEN in bytes; LEN 'end': to the end of the
# volume) equals the model's
map_is_model() {
	local m=$1 off=$2 len=$3
	shift 3
	odxctl_json $W/map.json map "$@" $DEV &&
		$MODEL check-map "$m" $W/map.json "$off" "$len"
}

# bitmap_is_model MODEL OFF LEN [ODXCTL BITMAP ARGS...]: the same for the
# bitmap; with --shared the shared slabs must be in it (none shared)
bitmap_is_model() {
	local m=$1 off=$2 len=$3 a shared=0
	shift 3
	for a in "$@"; do
		[ "$a" = --shared ] && shared=1
	done
	odxctl_json $W/bm.json bitmap "$@" $DEV &&
		$MODEL check-bitmap "$m" $W/bm.json "$off" "$len" $shared
}

# --- a seeded pattern of writes and discards ---------------------------------

$MODEL write-pattern $DEV $W/model $SLAB 20261121 200 ||
	ktap_exit_fail_msg "the write pattern failed"
nranges=$($MODEL ranges $W/model 0 $((VMIB * MIB)) | python3 -c \
	'import json, sys; print(len(json.load(sys.stdin)))')
odx_result "map: the allocated ranges of the whole volume are the model's ($nranges ranges)" \
	map_is_model $W/model 0 end
# not on slab boundaries, but on logical blocks
SUB_OFF=$((100 * MIB + 12800))
SUB_LEN=$((300 * MIB + 1536))
odx_diag "written, ${SECONDS}s"
odx_result "map of a sub-range not on slab boundaries: clipped to it" \
	map_is_model $W/model $SUB_OFF $SUB_LEN --offset $SUB_OFF --length $SUB_LEN
odx_result "map of a sub-range with size suffixes (1M + 512)" \
	map_is_model $W/model $MIB $((MIB + 512)) -o 1M -l $((MIB + 512))
odx_result "map of an empty range: no ranges" \
	map_is_model $W/model $((512 * MIB)) 0 --offset 512M --length 0
odxctl_json $W/map.full map $DEV
odx_result "map --batch 1: one range per request, the same list" \
	same_json $W/map.full map --batch 1 $DEV
# ioctl_case ARGS...: odx_ioctl, its lines as diagnostics
ioctl_case() {
	local out rc
	out=$("$ODX_IOCTL" "$@" 2>&1)
	rc=$?
	sed 's/^#* */# /' <<<"$out"
	return $rc
}
odx_result "odx_ioctl: allocated ranges one at a time walk the same list" \
	ioctl_case $DEV ranges_continuation
human_map_ok() {
	"$ODXCTL" map $DEV > $W/map.txt &&
	tail -n 1 $W/map.txt | grep -q "^$nranges ranges, " &&
	[ "$(($(wc -l < $W/map.txt) - 2))" = "$nranges" ]
}
odx_result "map without --json: a table of $nranges ranges and a summary" \
	human_map_ok

odx_result "bitmap of the whole volume is the model's, nothing shared" \
	bitmap_is_model $W/model 0 end --shared
odx_result "bitmap of a range not on slab boundaries: moved to the next slab, whole slabs" \
	bitmap_is_model $W/model $SUB_OFF $SUB_LEN --shared --offset $SUB_OFF --length $SUB_LEN
odx_result "bitmap of a range inside one slab: the offset delta, no bits" \
	bitmap_is_model $W/model $((SLAB + 512)) 4096 --offset $((SLAB + 512)) --length 4096
odx_result "bitmap of a range to the end of the volume from inside a slab" \
	bitmap_is_model $W/model $(((VMIB - 24) * MIB + 4096)) end \
	--offset $(((VMIB - 24) * MIB + 4096))
odxctl_json $W/bm.full bitmap --shared $DEV
odx_result "bitmap --batch 1: 32 slabs per request, the same bitmap" \
	same_json $W/bm.full bitmap --shared --batch 1 $DEV

# --- info --------------------------------------------------------------------

info_ok() {
	odxctl_json $W/info.json info $DEV || return 1
	python3 - $W/info.json "$(dmsetup status $V)" "$($MODEL used $W/model)" $VMIB <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
st = sys.argv[2].split()
used, total = (int(x) for x in st[5].split("/"))
vmib = int(sys.argv[4])
want = {"slab_size": 65536, "virtual_size": vmib << 20, "logical_block_size": 512,
        "used_slabs": used, "total_slabs": total, "free_slabs": total - used,
        "shared_slabs": int(st[6]), "virtual_slabs": vmib * 16,
        "transaction_id": int(st[3]), "mode": st[7], "thin": True,
        "read_zeroes_after_unmap": True, "unmap": True,
        "max_unmap_ranges": 4096}
bad = [k for k in want if d[k] != want[k]]
if int(sys.argv[3]) != used:
    bad.append("model's used slabs %s, status %d" % (sys.argv[3], used))
for k in bad:
    print("# info %s: %s, want %s" % (k, d.get(k), want.get(k)))
sys.exit(1 if bad else 0)
PY
}
odx_result "info: slab size, used/free/total/shared slabs, mode as dmsetup status" info_ok
# what a person sees
{ "$ODXCTL" info $DEV; "$ODXCTL" map -l 64M $DEV | head -n 4
  "$ODXCTL" bitmap --shared -o 4100K -l 8M $DEV; } | sed 's/^/# /'
odx_result "info without --json names the slab size" \
	grep -q "^slab size  *64 KiB" <("$ODXCTL" info $DEV)

# --- odxctl's own errors ------------------------------------------------------

# usage_err WANT_EXIT WANT_TEXT ARGS...: one line on stderr, that exit
cli_err() {
	local want=$1 text=$2 out rc
	shift 2
	out=$("$ODXCTL" "$@" 2>&1 >/dev/null)
	rc=$?
	[ $rc = "$want" ] && [ "$(wc -l <<<"$out")" = 1 ] &&
		grep -q -- "$text" <<<"$out" && return 0
	odx_diag "odxctl $*: exit $rc: $out (wanted $want and '$text')"
	return 1
}
cli_errors_ok() {
	cli_err 2 "invalid size '12Q'" map --offset 12Q $DEV &&
	cli_err 2 "invalid size '-1'" bitmap --length -1 $DEV &&
	cli_err 2 "invalid size '16384P'" map --offset 16384P $DEV &&
	cli_err 2 "invalid size '99999999999999999999'" map -l 99999999999999999999 $DEV &&
	cli_err 2 "invalid range '1M'" trim $DEV 1M &&
	cli_err 2 "no ranges given" trim $DEV &&
	cli_err 2 "unknown option '--shared'" map --shared $DEV &&
	cli_err 2 "no device given" info &&
	cli_err 1 "odxctl map $DEV: Numerical result out of range" map -o ${VMIB}M -l 1M $DEV &&
	cli_err 1 "odxctl bitmap $DEV: Invalid argument" bitmap -o 100 $DEV &&
	cli_err 1 "odxctl info $LIN: No such device" info $LIN &&
	cli_err 1 "odxctl info $W/model: Block device required" info $W/model &&
	"$ODXCTL" map --help | grep -q "^usage: odxctl map" &&
	"$ODXCTL" trim --help | grep -q "^usage: odxctl trim"
}
odx_result "odxctl: bad usage exits 2, failed requests 1, one line each" cli_errors_ok

# --- malformed requests: their errno, and nothing changes -------------------

# state FILE: dmsetup status and the map into FILE (fails if either fails)
state() {
	dmsetup status $V > "$1" && odxctl_json $W/state.map map $DEV &&
		cat $W/state.map >> "$1"
}
odx_diag "queries done, ${SECONDS}s"
# all cases in one odx_ioctl process, which checks around each that the
# describe counters and the whole allocated-range list did not change
sum_before=$(odx_sum $DEV 0 $VMIB)
state $W/state.before || : > $W/state.before
"$ODX_IOCTL" $DEV --all $LIN > $W/cases 2> $W/cases.err
seen=0
while IFS=$'\t' read -r res c what; do
	case $res in
	ok | "not ok") ;;
	*) echo "# $res $c $what"; continue ;;	# a case's own diagnostics
	esac
	seen=$((seen + 1))
	if [ "$res" = ok ]; then
		ktap_test_pass "odx_ioctl $c: $what"
	else
		ktap_test_fail "odx_ioctl $c: $what"
	fi
done < $W/cases
sed 's/^/# /' $W/cases.err
# a case that did not report (odx_ioctl died) fails
for i in $(seq $((seen + 1)) $NCASES); do
	ktap_test_fail "odx_ioctl case $i: no result"
done
state_same() {
	[ -s $W/state.before ] && state $W/state.after &&
		cmp -s $W/state.before $W/state.after
}
odx_result "dmsetup status and the map are the same after all the malformed requests" \
	state_same
odx_result "the data is the same after all the malformed requests" \
	test "$(odx_sum $DEV 0 $VMIB)" = "$sum_before"

odx_diag "malformed requests done, ${SECONDS}s"

# --- trim --------------------------------------------------------------------

$MODEL trim-plan $W/model 4242 100 $W/trim100
$MODEL apply $W/model $W/trim100 > $W/model.t100
$MODEL snapshot $DEV $W/before
odx_diag "trimming 100 ranges; the model frees $(( $($MODEL used $W/model) - $($MODEL used $W/model.t100) )) slabs"
"$ODXCTL" trim --json --ranges-from $W/trim100 $DEV > $W/trim.json 2> $W/err
rc=$?
odx_result "trim of 100 ranges succeeds and reports 100 processed" \
	python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(not (sys.argv[2] == "0" and d["processed"] == 100 and d["ranges"] == 100))' \
	$W/trim.json $rc
odx_result "trim: used slabs in dmsetup status are the model's" \
	test "$(odx_used_slabs $V)" = "$($MODEL used $W/model.t100)"
odx_result "trim: the map is the model's" map_is_model $W/model.t100 0 end
odx_result "trim: the trimmed ranges read zeros, everything else unchanged" \
	$MODEL verify $DEV $W/before $W/trim100

# a bad range in the middle stops the trim there: processed is its index,
# the ranges before it trimmed, those after it untouched
# bad_trim NAME INDEX OFFSET LENGTH ERRTEXT [ODXCTL ARGS...]
bad_trim() {
	local name=$1 idx=$2 off=$3 len=$4 text=$5 rc
	shift 5
	$MODEL trim-plan $W/model.cur $((idx * 77)) 12 $W/$name
	sed -i "$((idx + 1))s/.*/$off $len/" $W/$name
	$MODEL apply $W/model.cur $W/$name $idx > $W/model.$name
	$MODEL snapshot $DEV $W/before
	"$ODXCTL" trim "$@" --ranges-from $W/$name $DEV > $W/out 2> $W/err
	rc=$?
	odx_result "trim with a bad range at $idx ($name): exit 1, one line naming range $idx" \
		test $rc = 1 -a "$(wc -l < $W/err)" = 1 -a \
		"$(grep -c "^odxctl trim $DEV: range $idx ($off:$len): $text\$" $W/err)" = 1
	odx_result "trim with a bad range at $idx ($name): $idx of 12 processed" \
		grep -q "^trimmed $idx of 12 ranges" $W/out
	odx_result "trim with a bad range at $idx ($name): the map is the model's after $idx ranges" \
		map_is_model $W/model.$name 0 end
	odx_result "trim with a bad range at $idx ($name): ranges before trimmed, after untouched" \
		$MODEL verify $DEV $W/before $W/$name $idx
	cp $W/model.$name $W/model.cur
}
cp $W/model.t100 $W/model.cur
bad_trim unaligned 5 $((300 * MIB + 256)) 4096 "Invalid argument"
# in batches of 3 ranges: the index counts across requests
bad_trim past_end 7 $((VMIB * MIB - 4096)) 8192 "Numerical result out of range" --batch 3

# trims a volume refuses: nothing changes
odxctl_json $W/map.before map $DEV
# reload_with [FEATURE COUNT AND ARGS]: the same volume, other features
reload_with() {
	dmsetup suspend $V &&
	dmsetup reload $V --table "0 $((VMIB * 2048)) odx $META /dev/mapper/$V-data 128${*:+ $*}" &&
	dmsetup resume $V
}
# trim_refused ERRTEXT: a trim of the whole volume fails with it
trim_refused() {
	local rc
	"$ODXCTL" trim $DEV 0:${VMIB}M 4M:64K > $W/out 2> $W/err
	rc=$?
	[ $rc = 1 ] && [ "$(wc -l < $W/err)" = 1 ] && grep -q "$1" $W/err &&
		grep -q "^trimmed 0 of 2 ranges" $W/out &&
		same_json $W/map.before map $DEV && return 0
	odx_diag "exit $rc: $(cat $W/err) / $(cat $W/out)"
	return 1
}
# held exclusively (as by a mounted file system): EBUSY (dm-odx.h)
python3 -c 'import os, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_EXCL)
open(sys.argv[2], "w").close()
time.sleep(120)' $DEV $W/held &
holder=$!
for i in $(seq 100); do [ -e $W/held ] && break; sleep 0.1; done
odx_result "trim while another process holds the volume exclusively: busy, nothing trimmed" \
	trim_refused "Device or resource busy"
kill $holder
wait $holder 2>/dev/null
odxctl_json $W/map.before map $DEV

reload_with 1 read_only || ktap_exit_fail_msg "cannot reload read-only"
odx_result "trim on a read-only volume: Read-only file system, nothing trimmed" \
	trim_refused "Read-only file system"
odx_result "info on a read-only volume: mode ro, read_only" \
	python3 -c 'import json, sys
d = json.load(sys.stdin)
sys.exit(not (d["mode"] == "ro" and d["read_only"]))' < <("$ODXCTL" info --json $DEV)
reload_with 1 ignore_discard || ktap_exit_fail_msg "cannot reload with ignore_discard"
odx_result "trim on a volume that ignores discards: Operation not supported, nothing trimmed" \
	trim_refused "Operation not supported"
odx_result "info: no unmap on a volume that ignores discards" \
	python3 -c 'import json, sys
d = json.load(sys.stdin)
sys.exit(not (d["mode"] == "rw" and not d["unmap"] and not d["unmap_passdown"]))' \
	< <("$ODXCTL" info --json $DEV)
reload_with || ktap_exit_fail_msg "cannot reload without features"

# durable when the call returns: the metadata on the disk, read while the
# volume is still active (nothing written since), already has the trim of
# 3 whole slabs the model maps
python3 -c 'import json, sys
s = json.load(open(sys.argv[1]))["slabs"]
for i in (1, len(s) // 2, len(s) - 2):
    print(s[i] * 65536, 65536)' $W/model.cur > $W/durable
$MODEL apply $W/model.cur $W/durable > $W/model.durable
before=$(odx_used_slabs $V)
"$ODXCTL" trim --ranges-from $W/durable $DEV > /dev/null
dd if=$META of=$W/meta.img bs=4M iflag=direct status=none
used=$(odx_used_slabs $V)
durable_ok() {
	python3 -c 'import json, sys; d = json.load(sys.stdin)
want = int(sys.argv[1]) - 3
if not (d["clean"] and d["used_slabs"] == want == int(sys.argv[2]) == int(sys.argv[3])):
    print("# on the disk: clean %s, %d used slabs; want %d (status %s, model %s)" %
          (d["clean"], d["used_slabs"], want, sys.argv[2], sys.argv[3]))
    sys.exit(1)' "$before" "$used" "$($MODEL used $W/model.durable)" \
		< <("$ODXCTL" check --json $W/meta.img)
}
odx_result "durable on return: the on-disk metadata counts 3 used slabs fewer after a trim of 3 ($before -> $used)" \
	durable_ok
odx_result "the trim of 3 slabs: the map is the model's" \
	map_is_model $W/model.durable 0 end
odxctl_json $W/map.trimmed map $DEV
odx_rmodx $V
odx_loadvol $V $VMIB 128 || ktap_exit_fail_msg "cannot create the volume again"
odx_result "after remove and create: the same map" \
	same_json $W/map.trimmed map $DEV
odx_result "after remove and create: the same used slabs ($used)" \
	test "$(odx_used_slabs $V)" = "$used"

odx_rmvol $V
odx_check_result
rm -rf $W
ktap_finished
