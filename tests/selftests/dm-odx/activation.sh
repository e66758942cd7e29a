#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Activation against existing metadata: the first activation formats,
# later ones validate the superblock against the table line and refuse,
# with a log line that says why, anything that does not match. read_only
# activates without writing and refuses writes.

. "$(dirname "$0")/lib.sh"

ktap_print_header
odx_require_root
ktap_set_plan 12

V=${ODX_TEST_PREFIX}-act
DEV=/dev/mapper/$V
MIB=$((1024 * 1024))
odx_cleanup
odx_load || ktap_exit_fail_msg "cannot load dm-odx"

# the kernel's name of the metadata devices (%pg in its log lines)
MN=$(basename "$(readlink -f "$META")")

# klog_line REGEX: a line the kernel logged since the mark is, without its
# timestamp, exactly REGEX (extended)
klog_line() {
	odx_klog_since | sed 's/^\[[^]]*\] //' | grep -Eqx -- "$1"
}

# refused "<description>" "<kernel log line>" "<table>": creating $V with
# the table over the existing metadata fails, logs the line (a regex, see
# klog_line), leaves no device, writes nothing to the metadata and data
# devices the table names.
refused() {
	local desc=$1 want=$2 table=$3 mdev ddev msum dsum ok=1
	read -r _ _ _ mdev ddev _ <<<"$table"
	msum=$(odx_devsum "$mdev")
	dsum=$(odx_devsum "$ddev")
	odx_klog_mark
	if echo "$table" | dmsetup create $V 2>/dev/null; then
		odx_diag "'$table' was accepted"
		dmsetup remove $V
		ok=0
	fi
	if ! klog_line "$want"; then
		odx_diag "kernel log lacks the line '$want':"
		odx_klog_since | sed 's/^/#   /'
		ok=0
	fi
	[ "$(odx_devsum "$mdev")" = "$msum" ] ||
		{ odx_diag "metadata device $mdev written"; ok=0; }
	[ "$(odx_devsum "$ddev")" = "$dsum" ] ||
		{ odx_diag "data device $ddev written"; ok=0; }
	[ $ok = 1 ] && ktap_test_pass "refused: $desc" || ktap_test_fail "refused: $desc"
}

odx_klog_mark
odx_mkvol $V 256 64 128 || ktap_exit_fail_msg "cannot create the volume"
odx_result "first activation formats the metadata and says so" \
	klog_line "device-mapper: odx: formatted metadata device $MN: [0-9]+ KiB, slab size 64 KiB, 1024 data slabs \(room for [0-9]+\), 4096 virtual slabs \(room for [0-9]+\)"
head -c $((2 * MIB)) /dev/urandom > /tmp/odx-act
dd if=/tmp/odx-act of=$DEV bs=1M seek=10 oflag=direct status=none
odx_rmodx $V

DATADEV=/dev/mapper/$V-data
refused "different slab size" \
	"device-mapper: odx: $MN: slab size differs from the one in the metadata \(table: slab size 256 sectors, 512 data slabs, 524288 sectors; metadata: slab size 128 sectors, 1024 data slabs, 524288 sectors, [0-9]+ blocks\)" \
	"0 524288 odx $META $DATADEV 256"
SPARE=${ODX_SPARE_DEV:-/dev/vdc}
dd if=/dev/zero of=$SPARE bs=1M count=1 oflag=direct status=none
refused "unformatted metadata with read_only" \
	"device-mapper: odx: $(basename "$(readlink -f "$SPARE")"): metadata device is not formatted, and a read_only table does not format it" \
	"0 524288 odx $SPARE $DATADEV 128 1 read_only"

# read_only: data readable, writes refused, nothing written
msum=$(odx_devsum "$META")
odx_loadvol $V 256 128 read_only || ktap_exit_fail_msg "read_only activation failed"
odx_result "read_only: status mode is ro" test "$(odx_field $V 5)" = ro
odx_result "read_only: data reads back" \
	cmp -s /tmp/odx-act <(dd if=$DEV bs=1M skip=10 count=2 iflag=direct status=none)
write_fails() {
	! dd if=/dev/zero of=$DEV bs=4k count=1 oflag=direct status=none 2>/dev/null
}
odx_result "read_only: a write fails" write_fails
odx_rmodx $V
odx_result "read_only: the metadata device was not written" \
	test "$(odx_devsum "$META")" = "$msum"

# growing the virtual size on reload
odx_loadvol $V 256 128 || ktap_exit_fail_msg "cannot activate again"
dmsetup suspend $V
dmsetup reload $V --table "0 $((512 * 2048)) odx $META $DATADEV 128"
dmsetup resume $V
odx_result "virtual size grown on reload: 512 MiB" \
	test "$(blockdev --getsize64 $DEV)" = $((512 * MIB))
dd if=/tmp/odx-act of=$DEV bs=1M seek=500 oflag=direct status=none
grown_ok() {
	cmp -s /tmp/odx-act <(dd if=$DEV bs=1M skip=10 count=2 iflag=direct status=none) &&
	cmp -s /tmp/odx-act <(dd if=$DEV bs=1M skip=500 count=2 iflag=direct status=none)
}
odx_result "grown volume: old data intact, new space writable" grown_ok
odx_rmodx $V

# a smaller data device than the metadata records
dmsetup remove $V-data
echo "0 $((32 * 2048)) linear $DATA 0" | dmsetup create $V-data
refused "data device smaller than recorded" \
	"device-mapper: odx: $MN: data device smaller than the metadata records \(table: slab size 128 sectors, 512 data slabs, 524288 sectors; metadata: slab size 128 sectors, 1024 data slabs, 1048576 sectors, [0-9]+ blocks\)" \
	"0 524288 odx $META $DATADEV 128"

# both superblock slots damaged: flip a byte in the middle of each
for blk in 0 1; do
	printf '\xff' | dd of="$META" bs=1 seek=$((blk * 4096 + 2000)) conv=notrunc status=none
done
dmsetup remove $V-data
echo "0 $((64 * 2048)) linear $DATA 0" | dmsetup create $V-data
refused "both superblocks damaged" \
	"device-mapper: odx: $MN: no valid superblock in either slot \(slot 0: bad superblock checksum; slot 1: bad superblock checksum\)" \
	"0 524288 odx $META $DATADEV 128"

# $V was refused: odx_rmvol removes only $V-data and checks nothing (the
# superblocks are damaged on purpose)
odx_rmvol $V
odx_check_result
ktap_finished
