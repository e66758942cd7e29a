#!/bin/bash
# The benchmark report (run by make bench after its VMs): from the tables
# the guests wrote (build/vm/bench/bench.tsv, build/vm/bench-cfr/bench.tsv)
# writes build/bench/report.md and a chart of dm-odx's ratios to dm-linear
# and dm-thin, build/bench/ratios.png and .svg (gnuplot, log scale: > 1 is
# dm-odx faster). tests/bench/report.sh [TSV...]
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
out=build/bench
mkdir -p "$out"
if [ $# = 0 ]; then
	for f in build/vm/bench/bench.tsv build/vm/bench-cfr/bench.tsv; do
		[ -s "$f" ] && set -- "$@" "$f"
	done
fi
[ $# -gt 0 ] || { echo "report: no bench.tsv (run make bench)" >&2; exit 1; }
cat "$@" > "$out/bench.tsv"

cpu=$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1)
when=$(date -u '+%Y-%m-%d %H:%M UTC')
where="$(nproc) cores ($cpu), host kernel $(uname -r); guests under QEMU TCG (software emulation)"

# chart data: one row per result, dm-odx against dm-linear and dm-thin
awk -F'\t' '
	$1 == "io" { printf "\"%s\" %s %s\n", $2, $7, $8 }
	$1 == "copy" && $2 ~ /odxctl/ { printf "\"%s\" %s %s\n", $2, $5, $6 }
	$1 == "cfr" && $2 ~ /^odx, (slab|both|unal)/ { printf "\"cfr: %s\" %s %s\n", $2, $5, $6 }
' "$out/bench.tsv" | grep -v ' - ' > "$out/ratios.dat" || true

{
	echo "# dm-odx benchmark report"
	echo
	echo "Measured $when on $where. Ratios matter, not absolute numbers."
	echo
	echo "![dm-odx against dm-linear and dm-thin](ratios.png)"
	if grep -q '^io' "$out/bench.tsv"; then
		echo
		echo "## fio (stock kernel; IOPS, MiB/s for the sequential write, seconds for blkdiscard)"
		echo
		echo "| benchmark | dm-linear | dm-thin | dm-odx | /linear | /thin | odx skip_zeroing | /linear | /thin |"
		echo "|---|---|---|---|---|---|---|---|---|"
		awk -F'\t' '$1 == "io" { printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $2, $3, $4, $5, $7, $8, $6, $9, $10 }' "$out/bench.tsv"
	fi
	if grep -q '^copy' "$out/bench.tsv"; then
		echo
		echo "## copy 1 GiB on the same volume (stock kernel; seconds, ratios to dd)"
		echo
		echo "| copy | seconds | /dd odx | /dd linear | /dd thin |"
		echo "|---|---|---|---|---|"
		awk -F'\t' '$1 == "copy" { printf "| %s | %s | %s | %s | %s |\n", $2, $3, $4, $5, $6 }' "$out/bench.tsv"
	fi
	if grep -q '^cfr' "$out/bench.tsv"; then
		echo
		echo "## copy_file_range() 1 GiB (test kernel, KASAN and lockdep; ratios to the read/write fallbacks)"
		echo
		echo "| copy | seconds | /odx fallback | /linear | /thin |"
		echo "|---|---|---|---|---|"
		awk -F'\t' '$1 == "cfr" { printf "| %s | %s | %s | %s | %s |\n", $2, $3, $4, $5, $6 }' "$out/bench.tsv"
	fi
} > "$out/report.md"

if [ -s "$out/ratios.dat" ]; then
	for term in "pngcairo size 1100,560 font ',10'" "svg size 1100,560 font 'sans,10'"; do
		ext=png
		case "$term" in svg*) ext=svg ;; esac
		gnuplot <<-EOF
		set terminal $term
		set output '$out/ratios.$ext'
		set title "dm-odx against dm-linear and dm-thin (> 1: dm-odx faster; $when, TCG)"
		set logscale y 10
		set yrange [0.1:*]
		set grid ytics
		set ylabel 'ratio (log scale)'
		set style data histograms
		set style histogram cluster gap 1
		set style fill solid 0.8 border -1
		set boxwidth 0.9
		set xtics rotate by -25 left nomirror
		set bmargin 8
		set rmargin 12
		set key top left
		set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2
		plot '$out/ratios.dat' using 2:xtic(1) title 'vs dm-linear', \
		     '' using 3 title 'vs dm-thin'
		EOF
	done
fi
echo "report: $out/report.md, $out/ratios.png, $out/ratios.svg"
