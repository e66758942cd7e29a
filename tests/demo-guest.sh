#!/bin/bash
# The demo's guest half (run by tests/demo.sh inside the VM): a narrated
# tour of what dm-odx is for. Every step says what it shows and checks it;
# the exit status is the number of failed checks (0: all shown working).
#   /dev/vda  metadata (256 MiB), /dev/vdb  data (4 GiB)
set -uo pipefail
MIB=$((1024 * 1024))
GIB=$((1024 * MIB))
V=/dev/mapper/demo
fails=0
t0=$SECONDS

say() { printf '\n== %s\n' "$*"; }
note() { printf '   %s\n' "$*"; }
show() {
	printf '$ %s\n' "$*"
	"$@"
}
check() {
	local what=$1
	shift
	if "$@"; then
		printf '   ok: %s\n' "$what"
	else
		printf '   FAILED: %s\n' "$what"
		fails=$((fails + 1))
	fi
}
field() { dmsetup status demo | awk -v f="$1" '{ print $f }'; }
used() { field 6 | cut -d/ -f1; }
shared() { field 7; }
rd() { dd if=$V bs=4M iflag=direct,skip_bytes,count_bytes skip="$1" count="$2" status=none; }
# same OFFSET1 OFFSET2 LENGTH: the two ranges of the volume hold the same data
same() { cmp -s <(rd "$1" "$3") <(rd "$2" "$3"); }
elapsed() {
	local t
	t=$(date +%s.%N)
	"$@" > /dev/null
	echo "$(date +%s.%N) - $t" | bc
}

say "dm-odx: a thin-provisioned device-mapper target with discard and copy offload"
show insmod "$ODX_KO"
show dmsetup targets
check "the odx target type is registered" bash -c 'dmsetup targets | grep -q "^odx "'

say "1. An over-committed volume: 16 GiB virtual on a 4 GiB data disk, 64 KiB slabs"
note "table: <start> <length> odx <metadata dev> <data dev> <slab sectors>"
echo "0 $((16 * GIB / 512)) odx /dev/vda /dev/vdb 128" | dmsetup create demo
show dmsetup table demo
show dmsetup status demo
note "status: <transaction> <used>/<total metadata blocks> <used>/<total slabs> <shared> <mode> ..."
check "virtual size 16 GiB" test "$(blockdev --getsize64 $V)" = $((16 * GIB))
check "4 GiB of data slabs, none used" test "$(field 6)" = "0/65536"

say "2. XFS on it: only what is written takes space"
show mkfs.xfs -q $V
mkdir -p /tmp/mnt
check "mounted" mount $V /tmp/mnt
u0=$(used)
note "writing 16 files of 8 MiB"
for i in $(seq 1 16); do
	head -c $((8 * MIB)) /dev/urandom > /tmp/mnt/file$i
done
sync
(cd /tmp/mnt && sha256sum file*) > /tmp/sums
show df -h /tmp/mnt
u1=$(used)
note "used slabs: $u0 after mkfs, $u1 after the files ($(((u1 - u0) * 64)) KiB)"
check "used slabs rose by at least 128 MiB worth ($u0 -> $u1)" test $((u1 - u0)) -ge 2048
check "but far less than the volume (a 16 GiB thick volume would use 262144)" test "$u1" -lt 8192

say "3. fstrim gives the slabs of deleted files back"
rm /tmp/mnt/file{1..8}
show fstrim -v /tmp/mnt
u2=$(used)
note "used slabs: $u1 before, $u2 after deleting half the files and fstrim"
check "at least 48 MiB worth of slabs came back ($u1 -> $u2)" test $((u1 - u2)) -ge 768
echo 3 > /proc/sys/vm/drop_caches
check "the other files read back intact" bash -c "cd /tmp/mnt && grep -E 'file(9|1[0-6])\$' /tmp/sums | sha256sum -c --quiet"

say "4. odxctl asks the volume what it holds (ioctls on /dev/odx-control)"
show "$ODXCTL" info $V
show "$ODXCTL" map $V | head -n 8
show "$ODXCTL" bitmap --length 16M $V | head -n 6
iused=$("$ODXCTL" info --json $V | python3 -c 'import json, sys; print(json.load(sys.stdin)["used_slabs"])')
check "odxctl info's used slabs ($iused) = the status line's ($(used))" test "$iused" = "$(used)"
mapped=$("$ODXCTL" map --json $V | python3 -c '
import json, sys
print(sum(r["length"] for r in json.load(sys.stdin)["ranges"]) // 65536)')
check "odxctl map's ranges cover the used slabs ($mapped)" test "$mapped" = "$(used)"
show umount /tmp/mnt
show blkdiscard -f $V
check "a discard of the whole volume frees every slab" test "$(used)" = 0

say "5. Offload copy: 1 GiB inside the volume, by remapping slabs, beside dd"
note "writing 1 GiB of random data at 0"
dd if=/dev/urandom of=$V bs=4M count=256 oflag=direct status=none
u3=$(used)
note "dd of the same 1 GiB to 2 GiB (direct I/O: every byte read and written)"
tdd=$(elapsed dd if=$V of=$V bs=4M count=256 skip=0 seek=512 iflag=direct oflag=direct status=none)
u4=$(used)
note "odxctl copy of the same 1 GiB to 4 GiB (offload read: a token; offload write: a remap)"
todx=$(elapsed "$ODXCTL" copy --quiet $V 0 $((4 * GIB)) $GIB)
sync
u5=$(used)
printf '   dd: %.1f s   odxctl copy: %.2f s   ratio: %.0fx\n' "$tdd" "$todx" \
	"$(echo "$tdd / $todx" | bc -l)"
check "dd's copy reads back equal" same 0 $((2 * GIB)) $GIB
check "odxctl copy's copy reads back equal" same 0 $((4 * GIB)) $GIB
check "dd took 16384 new slabs ($u3 -> $u4)" test $((u4 - u3)) = 16384
check "the offload copy took none: the slabs are shared ($u4 -> $u5, shared $(shared))" \
	test "$u5" = "$u4" -a "$(shared)" = 16384
note "a write into a shared slab copies it first (copy on write): the source stays"
dd if=/dev/zero of=$V bs=1M count=1 seek=4096 oflag=direct status=none
check "after overwriting 1 MiB of the copy, the source is unchanged (= dd's copy)" \
	same 0 $((2 * GIB)) $GIB

say "6. Tokens (the ODX protocol): point in time, change vulnerable, zero"
at=$((8 * GIB))
head -c $MIB /dev/urandom > /tmp/a
head -c $MIB /dev/urandom > /tmp/b
dd if=/tmp/a of=$V bs=1M seek=$((at / MIB)) oflag=direct status=none
show "$ODXCTL" offload-read --type pit --token /tmp/pit $V $at:1M
show "$ODXCTL" offload-read --type cv --token /tmp/cv $V $at:1M
note "now the source is overwritten with other data"
dd if=/tmp/b of=$V bs=1M seek=$((at / MIB)) oflag=direct status=none
show "$ODXCTL" offload-write --token /tmp/pit $V $((9 * GIB)) 1M
check "the point-in-time token still writes the data as it was when it was made" \
	cmp -n $MIB /tmp/a <(dd if=$V bs=1M skip=$((9 * GIB / MIB)) count=1 iflag=direct status=none)
printf '$ %s\n' "$ODXCTL offload-write --token /tmp/cv $V $((10 * GIB)) 1M"
err=$("$ODXCTL" offload-write --token /tmp/cv $V $((10 * GIB)) 1M 2>&1)
rc=$?
echo "$err"
check "the change-vulnerable token is refused (exit $rc, revoked by the overwrite)" \
	bash -c "[ $rc = 1 ] && grep -qi 'revoked' <<<\"\$0\"" "$err"
show "$ODXCTL" offload-write --token zero $V 0 64M
check "the zero token: 64 MiB read back as zeros" \
	cmp -n $((64 * MIB)) /dev/zero <(dd if=$V bs=1M count=64 iflag=direct status=none)
nmap=$("$ODXCTL" map --json --offset 0 --length 64M $V | python3 -c 'import json, sys; print(len(json.load(sys.stdin)["ranges"]))')
check "and those 64 MiB were unmapped, not written: odxctl map shows $nmap ranges there" test "$nmap" = 0

if [ -e /sys/block/"$(basename "$(readlink -f $V)")"/queue/copy_max_bytes ]; then
	say "7. copy_file_range() on the volume (the test kernel's REQ_OP_COPY series)"
	q=/sys/block/$(basename "$(readlink -f $V)")/queue
	note "copy_max_bytes $(cat $q/copy_max_bytes), copy_granularity $(cat $q/copy_granularity)"
	s0=$(shared)
	u6=$(used)
	show xfs_io -c "copy_range -s 0 -d $((12 * GIB)) -l $((256 * MIB))" $V
	sync
	check "xfs_io copy_range: 256 MiB read back equal" \
		same 0 $((12 * GIB)) $((256 * MIB))
	check "it was a remap: 4096 more shared slabs ($s0 -> $(shared)), no new ones ($u6 -> $(used))" \
		test $(($(shared) - s0)) -ge 4096 -a "$(used)" -le "$u6"
	s1=$(shared)
	show qemu-img convert -C -n \
		--image-opts driver=raw,offset=$((64 * MIB)),size=$((256 * MIB)),file.driver=host_device,file.filename=$V \
		--target-image-opts driver=raw,offset=$((13 * GIB)),size=$((256 * MIB)),file.driver=host_device,file.filename=$V
	sync
	check "qemu-img convert -C (copy offloading): 256 MiB read back equal" \
		same $((64 * MIB)) $((13 * GIB)) $((256 * MIB))
	check "it was a remap too: $(($(shared) - s1)) more shared slabs" \
		test $(($(shared) - s1)) -ge 4096
else
	say "7. copy_file_range() offload needs the test kernel (make demo KERNEL=debug)"
fi

say "8. The metadata, checked offline by odxctl check"
show dmsetup status demo
show dmsetup remove demo
show "$ODXCTL" check /dev/vda /dev/vdb
check "odxctl check: the metadata is consistent" "$ODXCTL" check --quiet /dev/vda /dev/vdb
show rmmod dm_odx

say "Done in $((SECONDS - t0)) s: $fails check(s) failed"
exit $fails
