#!/bin/bash
# make bench: fio in a VM (stock kernel) against dm-odx, dm-linear and
# dm-thin on the same backing disks, same slab/block size, same run; each
# result printed with its ratio to dm-linear and to dm-thin. Timings, not
# tests: nothing here passes or fails on a number.
# ODX_BENCH_ONLY=io or =copy runs one of the two tables;
# ODX_BENCH_RUNTIME sets the seconds of each fio run (15).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
make -s build/stock/dm-odx.ko odxctl
exec tests/vm/run.sh --kernel stock --disk 512M --disk 4G --timeout 3600 \
	--out build/vm/bench -- env ODX_BENCH_ONLY="${ODX_BENCH_ONLY:-}" \
	ODX_BENCH_RUNTIME="${ODX_BENCH_RUNTIME:-15}" bash tests/bench/bench-guest.sh
