#!/bin/bash
# make bench: fio in a VM (stock kernel) against dm-odx, dm-linear and
# dm-thin on the same backing disks, same slab/block size, same run; each
# result printed with its ratio to dm-linear and to dm-thin. Timings, not
# tests: nothing here passes or fails on a number.
# ODX_BENCH_ONLY=io, =copy or =cfr runs one of the three tables (cfr:
# copy_file_range, in a second VM on the test kernel, which has
# REQ_OP_COPY; ODX_KSRC names a built one);
# ODX_BENCH_RUNTIME sets the seconds of each fio run (15).
# Then build/bench/report.md and a chart of the ratios to dm-linear and
# dm-thin (build/bench/ratios.png, .svg: tests/bench/report.sh).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
make -s build/stock/dm-odx.ko odxctl
only=${ODX_BENCH_ONLY:-}
if [ "$only" != cfr ]; then
	tests/vm/run.sh --kernel stock --disk 512M --disk 4G --timeout 3600 \
		--out build/vm/bench -- env ODX_BENCH_ONLY="$only" \
		ODX_BENCH_RUNTIME="${ODX_BENCH_RUNTIME:-15}" bash tests/bench/bench-guest.sh
fi
tsv=()
[ "$only" = cfr ] || tsv+=(build/vm/bench/bench.tsv)
if [ -n "$only" ] && [ "$only" != cfr ]; then
	tests/bench/report.sh "${tsv[@]}"
	exit 0
fi
# copy_file_range needs the test kernel (the REQ_OP_COPY patch series)
ksrc=${ODX_KSRC:-$(tests/kernel/build.sh)}
make -s build/debug/dm-odx.ko KSRC="$ksrc"
gcc -O2 -Wall -o build/odx_cfr tests/selftests/dm-odx/odx_cfr.c
tests/vm/run.sh --kernel debug --ksrc "$ksrc" --append kunit.enable=0 \
	--disk 512M --disk 4G --timeout 3600 --out build/vm/bench-cfr -- \
	env ODX_BENCH_ONLY=cfr ODX_CFR="$top/build/odx_cfr" \
	bash tests/bench/bench-guest.sh
tsv+=(build/vm/bench-cfr/bench.tsv)
# build/bench/report.md and its chart (ratios.png, ratios.svg)
tests/bench/report.sh "${tsv[@]}"
