#!/bin/bash
# The demo's guest half (run by tests/demo.sh inside the VM).
set -euo pipefail
show() { printf '\n$ %s\n' "$*"; "$@"; }

show insmod "$ODX_KO"
show dmsetup targets
echo "# a 2 GiB volume over a 512 MiB data disk, 64 KiB slabs"
echo "0 4194304 odx /dev/vda /dev/vdb 128 3 low_water_mark 64 skip_zeroing" |
	dmsetup create demo
show dmsetup table demo
show dmsetup status demo
show blockdev --getsize64 /dev/mapper/demo
echo "# a bad table line is refused, and the kernel log says why"
echo "0 4194304 odx /dev/vda /dev/vdb 100" | dmsetup create demo-bad || true
dmesg | grep 'device-mapper: odx' | tail -n 1
show dmsetup remove demo
show rmmod dm_odx
show "$ODXCTL" --version
