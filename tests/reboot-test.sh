#!/bin/bash
# Data written to a volume survives a guest power-off and a boot on the
# same disks, without the volume being removed first: boot 1 writes and
# flushes, records a checksum and powers off; boot 2 (the other kernel)
# activates the volume and compares. Prints KTAP; exit status 0 on pass.
#   tests/reboot-test.sh KSRC
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
ksrc=$1
dir=$top/build/vm/reboot
rm -rf "$dir"
mkdir -p "$dir"

vm() {
	local label=$1 kernel=$2
	shift 2
	tests/vm/run.sh --kernel "$kernel" --ksrc "$ksrc" --quiet \
		--append kunit.enable=0 --timeout 900 --out "$dir/$label" \
		--disk-dir "$dir/disks" --disk 64M --disk 1G -- bash -c "$*"
}

echo "TAP version 13"
echo "1..2"
vm boot1 stock '
	set -e
	insmod "$ODX_KO"
	echo "0 2097152 odx /dev/vda /dev/vdb 128" | dmsetup create rb
	fio --name=w --filename=/dev/mapper/rb --rw=randwrite --bs=16k \
		--size=1g --io_size=32m --direct=1 --randseed=7 \
		--output=/dev/null
	sync /dev/mapper/rb	# a flush: the volume commits
	dd if=/dev/mapper/rb bs=1M iflag=direct status=none | sha256sum > "$ODX_OUT/sum"
	dmsetup status rb | awk "{print \$6}" > "$ODX_OUT/used"
	# power off with the volume still active'
rc1=$?
if [ $rc1 = 0 ] && [ -s "$dir/boot1/sum" ]; then
	echo "ok 1 boot 1 (stock): 32 MiB written, flushed, powered off"
else
	echo "not ok 1 boot 1 (stock): exit $rc1"
fi

vm boot2 debug '
	set -e
	insmod "$ODX_KO"
	echo "0 2097152 odx /dev/vda /dev/vdb 128" | dmsetup create rb
	dd if=/dev/mapper/rb bs=1M iflag=direct status=none | sha256sum > "$ODX_OUT/sum"
	dmsetup status rb | awk "{print \$6}" > "$ODX_OUT/used"
	dmsetup remove rb'
rc2=$?
if [ $rc2 = 0 ] && [ -s "$dir/boot2/sum" ] &&
   cmp -s "$dir/boot1/sum" "$dir/boot2/sum" &&
   cmp -s "$dir/boot1/used" "$dir/boot2/used"; then
	echo "ok 2 boot 2 (debug): same data and used slabs ($(cat "$dir/boot2/used"))"
else
	echo "# boot1: $(cat "$dir/boot1/sum" "$dir/boot1/used" 2>/dev/null | tr '\n' ' ')"
	echo "# boot2: $(cat "$dir/boot2/sum" "$dir/boot2/used" 2>/dev/null | tr '\n' ' ')"
	echo "not ok 2 boot 2 (debug): exit $rc2, data or used slabs differ"
fi
rm -rf "$dir/disks"
[ $rc1 = 0 ] && [ $rc2 = 0 ] && cmp -s "$dir/boot1/sum" "$dir/boot2/sum"
