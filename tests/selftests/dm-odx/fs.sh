#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A file system on the volume: mkfs.xfs, files written, fstrim gives the
# space back, and after unmount, device removal and creation, and mount
# again, the files are intact.

. "$(dirname "$0")/lib.sh"

ktap_print_header
odx_require_root
ktap_set_plan 6

V=${ODX_TEST_PREFIX}-fs
DEV=/dev/mapper/$V
MNT=/tmp/odx-fs
odx_cleanup
odx_load || ktap_exit_fail_msg "cannot load dm-odx"
command -v mkfs.xfs >/dev/null || { ktap_skip_all "mkfs.xfs not installed"; exit "$KSFT_SKIP"; }

odx_mkvol $V 2048 512 128 || ktap_exit_fail_msg "cannot create the volume"
mkdir -p $MNT
mkfs.xfs -q -f $DEV && mount $DEV $MNT ||
	ktap_exit_fail_msg "cannot make and mount xfs"

for i in 1 2 3 4; do
	head -c $((16 * 1024 * 1024)) /dev/urandom > $MNT/f$i
done
(cd $MNT && sha256sum f1 f2 f3 f4) > /tmp/odx-fs.sums
sync
full=$(odx_used_slabs $V)
odx_result "64 MiB of files use at least 1024 slabs ($full)" \
	test "$full" -ge 1024

rm $MNT/f2 $MNT/f4
fstrim $MNT
trimmed=$(odx_used_slabs $V)
odx_result "fstrim after deleting 32 MiB released at least 480 slabs ($full -> $trimmed)" \
	test $((full - trimmed)) -ge 480

umount $MNT
odx_rmodx $V
odx_loadvol $V 2048 128 || ktap_exit_fail_msg "cannot create the volume again"
repair_clean() {
	xfs_repair -n $DEV > /tmp/odx-repair.out 2>&1 ||
		{ sed 's/^/# /' /tmp/odx-repair.out; return 1; }
}
odx_result "xfs_repair -n finds the file system clean" repair_clean
mount $DEV $MNT || ktap_exit_fail_msg "cannot mount again"
files_ok() {
	(cd $MNT && grep -E ' (f1|f3)$' /tmp/odx-fs.sums | sha256sum -c --quiet)
}
odx_result "files intact after remount" files_ok
odx_result "used slabs unchanged after remount ($trimmed)" \
	test "$(odx_used_slabs $V)" = "$trimmed"
umount $MNT
odx_rmvol $V
odx_check_result
ktap_finished
