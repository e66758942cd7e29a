#!/bin/bash
# make bench: fio in a VM (stock kernel) against dm-odx, dm-linear and
# dm-thin on the same backing disks, same slab/block size, same run; each
# result printed with its ratio to dm-linear and to dm-thin. Timings, not
# tests: nothing here passes or fails on a number.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
make -s build/stock/dm-odx.ko odxctl
exec tests/vm/run.sh --kernel stock --disk 512M --disk 4G --timeout 3600 \
	--out build/vm/bench -- bash tests/bench/bench-guest.sh
