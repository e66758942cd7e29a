#!/bin/bash
# A fresh machine, the way that would have caught the missing rsync: a
# minimal Debian 12 root (debootstrap --variant=minbase, from the archive
# apt already uses here), this tree copied into it, and under chroot:
# tests/deps.sh (make is not in minbase: make deps is tests/deps.sh), then
# make deps again (now a no-op), tests/check-deps.sh, the build (make all
# and the stock module), the kselftest install of make check (with the
# linux-source the chroot's make deps installed) and one stock-kernel VM.
# Not part of make check: it downloads about 1 GiB and takes a while.
#
#   tests/fresh-machine.sh [ROOT]     (default build/fresh; removed after
#                                      unless ODX_KEEP=1)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
root=${1:-$top/build/fresh}
root=$(mkdir -p "$root" && cd "$root" && pwd)

# the archive apt uses here (deb822 or one-line sources)
mirror=$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null |
	grep -v security | head -n 1)
[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" && $3 !~ /security/ { print $2; exit }' \
	/etc/apt/sources.list 2>/dev/null)
[ -n "$mirror" ] || { echo "fresh: no Debian archive found in /etc/apt" >&2; exit 1; }

umount_all() {
	for m in dev/pts dev proc sys; do
		mountpoint -q "$root/$m" && umount -l "$root/$m"
	done
	return 0
}
trap umount_all EXIT

if [ ! -x "$root/usr/bin/apt-get" ]; then
	echo "fresh: debootstrap --variant=minbase bookworm $root $mirror"
	debootstrap --variant=minbase bookworm "$root" "$mirror" > "$root.debootstrap.log" 2>&1 ||
		{ tail -n 20 "$root.debootstrap.log"; exit 1; }
fi
# the same sources as this machine (security updates too)
rm -f "$root"/etc/apt/sources.list
cp /etc/apt/sources.list.d/*.sources "$root/etc/apt/sources.list.d/" 2>/dev/null ||
	cp /etc/apt/sources.list "$root/etc/apt/sources.list"
for m in proc sys dev dev/pts; do
	mountpoint -q "$root/$m" || mount --bind "/$m" "$root/$m"
done

echo "fresh: copying the tree (without build/ and .git) to $root/src/dm-odx"
rm -rf "$root/src/dm-odx"
mkdir -p "$root/src/dm-odx"
tar -C "$top" --exclude=./build --exclude=./.git --exclude='*.ko' --exclude='*.o' \
	--exclude=./userspace/odxctl -cf - . | tar -C "$root/src/dm-odx" -xf -

run() {
	echo
	echo "fresh: chroot: $*"
	chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		TERM=dumb LANG=C.UTF-8 /bin/bash -c "cd /src/dm-odx && $*"
}
fails=0
step() {
	local t=$SECONDS
	if run "$@"; then
		echo "fresh: ok ($((SECONDS - t)) s): $*"
	else
		echo "fresh: FAILED ($((SECONDS - t)) s): $*"
		fails=$((fails + 1))
	fi
}

step 'command -v make rsync dkms gnuplot || true; tests/deps.sh 2>&1 | grep -v "^\(Get\|Selecting\|Preparing\|Unpacking\|Setting up\|Processing\)" | tail -n 5; test ${PIPESTATUS[0]} = 0'
step 'make deps'
step 'tests/check-deps.sh'
step 'make -s all build/stock/dm-odx.ko 2>&1 | tail -n 5; test -f build/stock/dm-odx.ko -a -x userspace/odxctl'
# the kselftest install exactly as make check does it, from a source tree
# of the linux-source package the chroot installed
step 'rm -rf /tmp/ksrc && mkdir /tmp/ksrc && tar -C /tmp/ksrc -xf /usr/src/linux-source-6.12.tar.xz && tests/selftests/install.sh /tmp/ksrc/linux-source-6.12 build/kselftest && ls build/kselftest/run_kselftest.sh build/kselftest/dm-odx/odx_token'
step 'tests/vm/run.sh --kernel stock --timeout 300 --disk 256M --disk 1G -- build/kselftest/run_kselftest.sh -t dm-odx:load_unload.sh | tail -n 3; grep -q "^ok 1 selftests: dm-odx: load_unload.sh" build/vm/stock-*/output'

umount_all
if [ "${ODX_KEEP:-0}" != 1 ]; then
	rm -rf "$root" "$root.debootstrap.log"
fi
echo
if [ $fails = 0 ]; then
	echo "fresh: make deps, check-deps, the build, the kselftest install and a VM pass in a minimal Debian 12 root"
else
	echo "fresh: $fails step(s) failed"
fi
[ $fails = 0 ]
