#!/bin/bash
# Build (or find in the cache) the dm-odx test kernel: the pinned Debian
# linux-source-6.12 with the project's patches (tests/kernel/patches/) and
# config fragment (tests/kernel/debug.config) on top of x86_64_defconfig and
# kvm_guest.config.
#
# The built tree lives outside the checkout, under $ODX_CACHE (default
# ~/.cache/dm-odx), in a directory named after a hash of everything that
# goes into it, so a second run finds it and builds nothing.
#
# Prints the path of the built kernel tree on stdout; progress on stderr.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../../kernel.env
. "$top/kernel.env"

cache=${ODX_CACHE:-$HOME/.cache/dm-odx}
tarball=/usr/src/linux-source-6.12.tar.xz

have=$(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null || true)
if [ "$have" != "$KERNEL_DEB_VERSION" ]; then
	echo "build.sh: linux-source-6.12 $KERNEL_DEB_VERSION is not installed (found '${have:-nothing}'); run 'make deps'" >&2
	exit 1
fi

key=$( { echo "$KERNEL_DEB_VERSION"; cat "$top/tests/kernel/debug.config" "$0";
	 cat "$top"/tests/kernel/patches/*.patch 2>/dev/null || true; } |
	sha256sum | cut -c1-16)
dir=$cache/kernel-$key
src=$dir/linux-source-6.12

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9

if [ -f "$dir/.built" ]; then
	echo "test kernel: cached at $dir" >&2
	echo "$src"
	exit 0
fi

echo "test kernel: building in $dir (log: $dir/build.log)" >&2
rm -rf "$dir"
mkdir -p "$dir"
log=$dir/build.log
start=$SECONDS

tar -C "$dir" -xf "$tarball"
for p in "$top"/tests/kernel/patches/*.patch; do
	[ -e "$p" ] || continue
	echo "test kernel: applying $(basename "$p")" >&2
	patch -d "$src" -p1 --quiet --forward < "$p" >>"$log" 2>&1
done

{
	make -C "$src" x86_64_defconfig
	"$src/scripts/kconfig/merge_config.sh" -m -O "$src" "$src/.config" \
		"$src/kernel/configs/kvm_guest.config" \
		"$top/tests/kernel/debug.config"
	make -C "$src" olddefconfig
} >>"$log" 2>&1

# merge_config only warns when an option does not survive olddefconfig;
# a missing option here would silently weaken every test, so refuse.
missing=0
while read -r line; do
	case "$line" in
	CONFIG_*=*)
		grep -qx "$line" "$src/.config" ||
			{ echo "test kernel: $line did not take effect" >&2; missing=1; } ;;
	"# CONFIG_"*" is not set")
		opt=${line#\# }; opt=${opt%% *}
		if grep -q "^$opt=" "$src/.config"; then
			echo "test kernel: $opt should be unset" >&2; missing=1
		fi ;;
	esac
done < "$top/tests/kernel/debug.config"
[ $missing = 0 ] || exit 1

if ! make -C "$src" -j"$(nproc)" >>"$log" 2>&1; then
	tail -n 40 "$log" >&2
	echo "test kernel: build failed, see $log" >&2
	exit 1
fi
touch "$dir/.built"
echo "test kernel: built in $((SECONDS - start)) s" >&2

# Keep the cache from growing without bound: drop other kernel builds.
for old in "$cache"/kernel-*; do
	[ "$old" = "$dir" ] || rm -rf "$old"
done
echo "$src"
