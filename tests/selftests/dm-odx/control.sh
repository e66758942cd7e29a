#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The control device and the life of a volume: which devices it answers
# for (a dm device whose live, resumed table is one odx target), and that
# it stays correct while tables are suspended, reloaded and removed under
# running queries (on the debug kernel KASAN and lockdep watch the same
# runs). Answers are compared with what the volume holds, not just
# checked for success.

. "$(dirname "$0")/lib.sh"

ktap_print_header
odx_require_root
ktap_set_plan 15

V=${ODX_TEST_PREFIX}-ctl
DEV=/dev/mapper/$V
W=/tmp/odx-ctl
ODXCTL=${ODXCTL:-odxctl}
rm -rf $W
mkdir -p $W
odx_cleanup
odx_load || ktap_exit_fail_msg "cannot load dm-odx"
[ -c /dev/odx-control ] || ktap_exit_fail_msg "no /dev/odx-control"
odx_ioctl_tool $W || ktap_exit_fail_msg "cannot build odx_ioctl"

# odxctl_fails ERRNO_TEXT ODXCTL_ARGS...: exits 1 with one line naming it
odxctl_fails() {
	local want=$1 out rc
	shift
	out=$("$ODXCTL" "$@" 2>&1 >/dev/null)
	rc=$?
	if [ $rc = 1 ] && [ "$(wc -l <<<"$out")" = 1 ] &&
	   grep -q "$want" <<<"$out"; then
		return 0
	fi
	odx_diag "odxctl $*: exit $rc: $out (wanted exit 1 and '$want')"
	return 1
}

# 256 MiB over 128 MiB of data, 64 KiB slabs; a few scattered slabs
odx_mkvol $V 256 128 128 || ktap_exit_fail_msg "cannot create the volume"
TABLE=$(dmsetup table $V)
for s in 0 1 2 7 100 101 2000 4095; do
	dd if=/dev/urandom of=$DEV bs=64k seek=$s count=1 oflag=direct status=none
done
"$ODXCTL" map --json $DEV > $W/map.ref 2> $W/err ||
	ktap_exit_fail_msg "odxctl map failed: $(cat $W/err)"
odx_result "the reference map lists the written slabs" \
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
r = d["ranges"] if isinstance(d, dict) else d
got = [(x["offset"], x["length"]) for x in r]
k = 65536
want = [(0, 3 * k), (7 * k, k), (100 * k, 2 * k), (2000 * k, k), (4095 * k, k)]
sys.exit(got != want)' $W/map.ref

odx_result "a dm-linear device is not a volume (ENODEV)" \
	odxctl_fails "No such device" info /dev/mapper/$V-data
odx_result "a regular file is not a volume (ENOTBLK)" \
	odxctl_fails "Block device required" info $W/map.ref

# a table of two targets: the volume, and a linear target after it
dmsetup suspend $V
echo -e "0 524288 odx $META /dev/mapper/$V-data 128\n524288 2048 linear $DATA 0" |
	dmsetup reload $V
dmsetup resume $V
odx_result "a table with another target besides odx is refused (ENODEV)" \
	odxctl_fails "No such device" info $DEV
dmsetup suspend $V
dmsetup reload $V --table "$TABLE"
dmsetup resume $V

dmsetup suspend $V
odx_result "a suspended volume answers EBUSY" \
	odxctl_fails "busy" map $DEV
dmsetup resume $V
odx_result "after resume the map is the same" \
	cmp -s $W/map.ref <("$ODXCTL" map --json $DEV)

# the same device with a dm-linear table, then odx again
dmsetup suspend $V
dmsetup reload $V --table "0 524288 linear $DATA 0"
dmsetup resume $V
odx_result "reloaded as dm-linear: ENODEV" \
	odxctl_fails "No such device" map $DEV
dmsetup suspend $V
dmsetup reload $V --table "$TABLE"
dmsetup resume $V
odx_result "reloaded as odx again: the same map" \
	cmp -s $W/map.ref <("$ODXCTL" map --json $DEV)

# A request that waits in user memory holds no volume. The output of a
# bitmap query of $V is a private mapping of a suspended device, so the
# query waits in its first write to it (as it would for userfaultfd or
# FUSE). Suspending another volume, and $V itself, must not wait for it;
# then, with both resumed, the device comes back and the query completes.
V2=${ODX_TEST_PREFIX}-ctl2
SLOW=${ODX_TEST_PREFIX}-ctl-slow
dd if=/dev/zero of=$DATA bs=1M seek=512 count=1 oflag=direct status=none
{ odx_linear $V2-meta $DATA 512 16 && odx_linear $V2-data $DATA 528 64 &&
  odx_linear $SLOW $DATA 600 1 &&
  echo "0 131072 odx /dev/mapper/$V2-meta /dev/mapper/$V2-data 128" |
	dmsetup create $V2; } || ktap_exit_fail_msg "cannot set up $V2 and $SLOW"
dmsetup suspend $SLOW
"$ODX_IOCTL" $DEV --bitmap-into-mapping /dev/mapper/$SLOW > $W/blocked 2>&1 &
bpid=$!
# until it waits in the kernel (D: the page read, killable), at most 60 s
state=D
odx_waits_in_kernel $bpid || state="not waiting"
odx_diag "the query: state $state, wchan $(cat /proc/$bpid/wchan 2>/dev/null)"
dmsetup suspend $V2 &
s2pid=$!
dmsetup suspend $V &
s1pid=$!
# each suspend of an idle volume takes well under a second; 60 s bound
for _ in $(seq 120); do
	kill -0 $s2pid 2>/dev/null || kill -0 $s1pid 2>/dev/null || break
	sleep 0.5
done
other_done=yes
own_done=yes
kill -0 $s2pid 2>/dev/null && other_done=no
kill -0 $s1pid 2>/dev/null && own_done=no
odx_diag "with the query waiting (state $state): $V2 suspended: $other_done, $V suspended: $own_done"
[ $other_done = yes ] && dmsetup resume $V2
[ $own_done = yes ] && dmsetup resume $V
dmsetup resume $SLOW
wait $s2pid $s1pid
for d in $V $V2; do
	dmsetup info $d | grep -q SUSPENDED && dmsetup resume $d
done
wait $bpid
brc=$?
odx_diag "the query: exit $brc: $(tr '\n' ' ' < $W/blocked)"
odx_result "suspending another volume does not wait for a query waiting in user memory" \
	test "$state" = D -a $other_done = yes
odx_result "suspending the volume does not wait for its own query waiting in user memory" \
	test "$state" = D -a $own_done = yes
odx_result "that query then completes with the volume's 8 mapped slabs" \
	grep -q "^bitmap: got 0 (accepted), 8 slabs mapped" $W/blocked
dmsetup remove $V2 && dmsetup remove $V2-meta $V2-data $SLOW

# queries in a loop while the table is suspended, reloaded and resumed:
# every answer is the right map, or EBUSY/ENODEV while suspended
query_loop() {
	local i=0 rc
	while [ ! -e $W/stop ]; do
		i=$((i + 1))
		"$ODXCTL" map --json $DEV > $W/q.out 2> $W/q.err
		rc=$?
		if [ $rc = 0 ]; then
			cmp -s $W/map.ref $W/q.out && echo ok || echo wrong
		elif grep -qE "busy|No such device" $W/q.err; then
			echo refused
		else
			echo "unexpected $rc $(cat $W/q.err)"
		fi
		"$ODXCTL" bitmap --shared $DEV > /dev/null 2>&1
		"$ODXCTL" info $DEV > /dev/null 2>&1
	done > $W/answers
}
: > $W/answers
query_loop &
qpid=$!
# at least 12 reload cycles, and on until 40 queries were answered (10
# under the debug kernel, where each costs seconds)
want=40
[ "${ODX_KERNEL:-}" = debug ] && want=10
cycles=0
while [ $cycles -lt 12 ] ||
      { [ "$(wc -l < $W/answers)" -lt $want ] && [ $cycles -lt 200 ]; }; do
	dmsetup suspend $V
	dmsetup reload $V --table "$TABLE"
	dmsetup resume $V
	cycles=$((cycles + 1))
done
touch $W/stop
wait $qpid
ok=$(grep -c '^ok$' $W/answers)
refused=$(grep -c '^refused$' $W/answers)
bad=$(grep -vcE '^(ok|refused)$' $W/answers)
grep -vE '^(ok|refused)$' $W/answers | head -3 | sed 's/^/# /'
odx_result "queries during $cycles reloads: $ok right maps, $refused refused, $bad wrong" \
	test "$ok" -gt 0 -a "$bad" = 0

# trims racing with reloads: what is trimmed is gone, the rest intact
rm -f $W/stop
( while [ ! -e $W/stop ]; do
	"$ODXCTL" trim $DEV 6553600:65536 > /dev/null 2>&1  # slab 100
  done ) &
tpid=$!
for i in $(seq 5); do
	dmsetup suspend $V
	dmsetup reload $V --table "$TABLE"
	dmsetup resume $V
done
touch $W/stop
wait $tpid
"$ODXCTL" trim $DEV 6553600:65536 > /dev/null 2>&1
odx_result "trims during reloads: slab 100 released, 101 and the others kept" \
	python3 -c '
import json, sys
d = json.load(sys.stdin)
r = d["ranges"] if isinstance(d, dict) else d
got = [(x["offset"], x["length"]) for x in r]
k = 65536
want = [(0, 3 * k), (7 * k, k), (101 * k, k), (2000 * k, k), (4095 * k, k)]
sys.exit(got != want)' < <("$ODXCTL" map --json $DEV)

odx_rmvol $V
odx_check_result

# the module cannot go while the control device is open
exec 8< /dev/odx-control
rmmod dm_odx 2> /dev/null
busy=$?
exec 8<&-
odx_result "rmmod refused while /dev/odx-control is open, then succeeds" \
	test $busy != 0 -a "$(odx_unload && echo gone)" = gone

rm -rf $W
ktap_finished
