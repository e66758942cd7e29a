#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The thin volume's data path, asserted on data: zeros where nothing was
# written, what was written reads back (also after the device is removed
# and created again), slabs are allocated on first write and released by
# discard (write-zeroes without unmapping keeps them: it provisions),
# partial slabs are zeroed (over a data device that holds a pattern).

. "$(dirname "$0")/lib.sh"

ktap_print_header
odx_require_root
ktap_set_plan 22

V=${ODX_TEST_PREFIX}-io
DEV=/dev/mapper/$V
MIB=$((1024 * 1024))
odx_cleanup
odx_load || ktap_exit_fail_msg "cannot load dm-odx"

# a pattern (no zeros) on the 512 MiB the data device will be: a new
# slab the module did not zero shows it (the guest's disks read zeros
# where nothing was written)
odx_fill "$DATA" 0 512 || ktap_exit_fail_msg "cannot write the pattern to $DATA"
# 1 GiB virtual over 512 MiB of data, 64 KiB slabs
odx_mkvol $V 1024 512 128 || ktap_exit_fail_msg "cannot create the volume"

odx_result "fresh volume: no slab used, 8192 slabs in all" \
	test "$(odx_field $V 3)" = "0/8192"
odx_result "fresh volume reads zeros" \
	odx_is_zero $DEV 0 $((16 * MIB))
odx_result "fresh volume reads zeros at the end" \
	odx_is_zero $DEV $((1008 * MIB)) $((16 * MIB))

# 4 MiB of random data at 100 MiB: 64 slabs
head -c $((4 * MIB)) /dev/urandom > /tmp/pat
dd if=/tmp/pat of=$DEV bs=1M seek=100 oflag=direct status=none
odx_result "written data reads back" \
	cmp -s /tmp/pat <(dd if=$DEV bs=1M skip=100 count=4 iflag=direct status=none)
odx_result "64 slabs used after writing 4 MiB" \
	test "$(odx_used_slabs $V)" = 64

# 4 KiB at 8 KiB into the slab at 200 MiB: the rest of the slab is zeros
head -c 4096 /tmp/pat > /tmp/pat4k
dd if=/tmp/pat4k of=$DEV bs=4096 seek=$((200 * 256 + 2)) oflag=direct status=none
slab_ok() {
	odx_is_zero $DEV $((200 * MIB)) 8192 &&
	cmp -s /tmp/pat4k <(dd if=$DEV bs=4096 skip=$((200 * 256 + 2)) count=1 iflag=direct status=none) &&
	odx_is_zero $DEV $((200 * MIB + 12288)) $((65536 - 12288))
}
odx_result "partial write: the rest of its new slab reads zeros" slab_ok

# 16 writers at once into 16 different 4 KiB blocks of one new slab:
# one allocation, every block there
before=$(odx_used_slabs $V)
for i in $(seq 0 15); do
	head -c 4096 /dev/urandom > /tmp/odx-c$i
	dd if=/tmp/odx-c$i of=$DEV bs=4k seek=$((300 * 256 + i)) oflag=direct \
		status=none &
done
wait
concurrent_ok() {
	local i
	[ "$(odx_used_slabs $V)" = $((before + 1)) ] || return 1
	for i in $(seq 0 15); do
		cmp -s /tmp/odx-c$i <(dd if=$DEV bs=4k skip=$((300 * 256 + i)) \
			count=1 iflag=direct status=none) || return 1
	done
}
odx_result "16 concurrent writes to one new slab: one allocation, all data there" \
	concurrent_ok

queue=/sys/dev/block/$(dmsetup info -c --noheadings -o major,minor --separator : $V)/queue
odx_result "lsblk -D: discard granularity is the slab size" \
	test "$(lsblk -D -b -n -o DISC-GRAN $DEV | tr -d " ")" = 65536
odx_result "write-zeroes advertised" \
	test "$(cat $queue/write_zeroes_max_bytes)" -gt 0

# 6144 random 4 KiB writes (about 4700 new slabs); half as many under the
# debug kernel's KASAN, where each costs ten times as much
FIO_IO=24m
[ "${ODX_KERNEL:-}" = debug ] && FIO_IO=12m
fio_verify() {
	fio --name=verify --filename=$DEV --direct=1 --ioengine=libaio \
		--iodepth=16 --rw=randwrite --bs=4k --offset=256m --size=768m \
		--io_size=$FIO_IO --verify=crc32c --verify_fatal=1 --do_verify=1 \
		--randseed=1234 --verify_state_save=0 --output=/tmp/fio.out ||
		{ sed 's/^/# /' /tmp/fio.out; return 1; }
}
odx_result "fio randwrite ($FIO_IO) with crc32c verify over a 2x over-committed volume" \
	fio_verify

used=$(odx_used_slabs $V)
sum=$(odx_sum $DEV 0 1024)
odx_rmodx $V
odx_loadvol $V 1024 128 || ktap_exit_fail_msg "cannot create the volume again"
odx_result "same data after remove and create" \
	test "$(odx_sum $DEV 0 1024)" = "$sum"
odx_result "same used slabs after remove and create ($used)" \
	test "$(odx_used_slabs $V)" = "$used"

# unaligned discard inside the 4 MiB written at 100 MiB: from 100 MiB + 4 KiB,
# 200 KiB long: partial head slab, two whole slabs, partial tail slab
before=$(odx_used_slabs $V)
blkdiscard -o $((100 * MIB + 4096)) -l $((200 * 1024)) $DEV
odx_result "unaligned discard: the range reads zeros" \
	odx_is_zero $DEV $((100 * MIB + 4096)) $((200 * 1024))
edges_ok() {
	cmp -s <(head -c 4096 /tmp/pat) \
		<(dd if=$DEV bs=4096 skip=$((100 * 256)) count=1 iflag=direct status=none) &&
	cmp -s <(tail -c +$((4096 + 200 * 1024 + 1)) /tmp/pat) \
		<(dd if=$DEV bs=1M skip=100 count=4 iflag=direct status=none |
		  tail -c +$((4096 + 200 * 1024 + 1)))
}
odx_result "unaligned discard: data around the range intact" edges_ok
odx_result "unaligned discard released the two whole slabs" \
	test "$(odx_used_slabs $V)" = $((before - 2))

# write-zeroes (BLKZEROOUT, which does not unmap) over 1 MiB at 101 MiB,
# all of it mapped: its 16 slabs stay mapped (zeroing.sh has the rest)
before=$(odx_used_slabs $V)
blkdiscard -z -o $((101 * MIB)) -l $MIB $DEV
odx_result "write-zeroes: the range reads zeros" \
	odx_is_zero $DEV $((101 * MIB)) $MIB
odx_result "write-zeroes kept its 16 slabs mapped ($before used before, $(odx_used_slabs $V) after)" \
	test "$(odx_used_slabs $V)" = "$before"

# fallocate --punch-hole on the block device: write-zeroes that unmaps
before=$(odx_used_slabs $V)
fallocate -p -o $((101 * MIB)) -l $MIB $DEV
odx_result "fallocate --punch-hole: the range reads zeros" \
	odx_is_zero $DEV $((101 * MIB)) $MIB
odx_result "fallocate --punch-hole released its 16 whole slabs" \
	test "$(odx_used_slabs $V)" = $((before - 16))

blkdiscard $DEV
odx_result "whole-volume discard: no slab used" \
	test "$(odx_used_slabs $V)" = 0
odx_result "whole-volume discard: reads zeros" \
	odx_is_zero $DEV 0 $((1024 * MIB))

odx_rmvol $V
odx_check_result
ktap_finished
