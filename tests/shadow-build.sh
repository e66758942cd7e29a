#!/bin/bash
# Build dm-odx.ko against KDIR in OUTDIR, a tree of links to the sources,
# so that builds for different kernels keep their objects apart.
#   tests/shadow-build.sh KDIR OUTDIR
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
kdir=$1
out=$2
[ -e "$kdir/Makefile" ] || { echo "shadow-build: no kernel build tree at $kdir (run 'make deps')" >&2; exit 1; }
mkdir -p "$out"
out=$(cd "$out" && pwd)
# links to sources only: never objects or .cmd files of another build
find "$out" -type l -delete
(cd "$top" && find Kbuild drivers include tests/kunit -type f \
	\( -name Kbuild -o -name '*.c' -o -name '*.h' \)) |
while read -r f; do
	mkdir -p "$out/$(dirname "$f")"
	ln -s "$top/$f" "$out/$f"
done
make -C "$kdir" M="$out" ${W:+W=$W} ${C:+C=$C} modules
