#!/bin/bash
# The README's DKMS install, checked: dkms add, build and install of this
# tree for the pinned kernel (KERNEL_ABI in kernel.env), then a boot of the
# stock kernel in which the installed module is found by depmod and loaded
# with a plain 'modprobe dm-odx', used and unloaded. KTAP on stdout; the
# exit status is non-zero if anything failed.
#
# It never changes the real system: dkms runs with its source, build and
# install trees (--sourcetree, --dkmstree, --installtree) and its signing
# key under build/dkms, and with --no-depmod; depmod then runs over a copy
# of /lib/modules/<kernel> (links to the kernel's modules, and the
# installed updates/dkms) in build/dkms/modroot, which the guest's modprobe
# is pointed at (-d). build/dkms is removed at the end (ODX_KEEP=1 keeps it).
#
#   tests/dkms-test.sh           (about two minutes on 2 cores)
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
# shellcheck source=../kernel.env
. "$top/kernel.env"

name=dm-odx
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' dkms.conf)
kver=$KERNEL_ABI
s=$top/build/dkms
n=0
fails=0
ok() {
	n=$((n + 1))
	echo "ok $n $*"
}
notok() {
	n=$((n + 1))
	fails=$((fails + 1))
	echo "not ok $n $*"
}
# run a command, its output indented as KTAP diagnostics
diag() {
	local t=$SECONDS
	"$@" > "$s/log" 2>&1
	local rc=$?
	took="$((SECONDS - t)) s"
	[ $rc = 0 ] || sed 's/^/# /' "$s/log" | tail -n 30
	return $rc
}

echo "TAP version 13"
echo "1..10"

rm -rf "$s"
mkdir -p "$s/src/$name-$ver" "$s/tree" "$s/install/$kver"
# dkms wants the kernel's build tree under the install tree
ln -s "/lib/modules/$kver/build" "$s/install/$kver/build"
dk=(--sourcetree "$s/src" --dkmstree "$s/tree" --installtree "$s/install")
# the key dkms makes to sign modules (if openssl is there) stays here too
export mok_signing_key=$s/mok.key mok_certificate=$s/mok.pub

# the source as the README installs it (cp -r . /usr/src/dm-odx-0.1.0),
# without the build products
tar -C "$top" --exclude=./build --exclude=./.git --exclude='*.ko' \
	--exclude='*.o' --exclude=./userspace/odxctl -cf - . |
	tar -C "$s/src/$name-$ver" -xf -

if diag dkms add "${dk[@]}" -m "$name" -v "$ver"; then
	ok "dkms add $name/$ver ($took)"
else
	notok "dkms add $name/$ver"
fi
if diag dkms build "${dk[@]}" -m "$name" -v "$ver" -k "$kver"; then
	ok "dkms build for $kver ($took)"
else
	notok "dkms build for $kver"
	cat "$s/tree/$name/$ver/build/make.log" 2>/dev/null | tail -n 20 | sed 's/^/# /'
fi
if diag dkms install "${dk[@]}" --no-depmod -m "$name" -v "$ver" -k "$kver"; then
	ok "dkms install for $kver ($took)"
else
	notok "dkms install for $kver"
fi
inst=$(ls "$s/install/$kver/updates/dkms/$name.ko"* 2>/dev/null | head -n 1)
if [ -n "$inst" ] && diag dkms status "${dk[@]}" -m "$name" -v "$ver" -k "$kver" &&
   grep -q "$name/$ver, $kver, .*: installed" "$s/log"; then
	ok "installed in updates/dkms ($(basename "$inst")), dkms status says installed"
else
	sed 's/^/# /' "$s/log"
	notok "installed in updates/dkms, dkms status says installed"
fi
# nothing of it reached the real system
if ! ls /lib/modules/"$kver"/updates/dkms/"$name".ko* >/dev/null 2>&1 &&
   [ ! -e "/var/lib/dkms/$name" ]; then
	ok "the real /lib/modules and /var/lib/dkms untouched"
else
	notok "the real /lib/modules and /var/lib/dkms untouched"
fi

# depmod, as dkms install does without --no-depmod, but over a copy of
# the module tree: the kernel's own modules (a link) and updates/dkms
mods=$s/modroot/lib/modules/$kver
mkdir -p "$mods"
ln -s "/lib/modules/$kver/kernel" "$mods/kernel"
cp /lib/modules/"$kver"/modules.order /lib/modules/"$kver"/modules.builtin* "$mods/"
cp -r "$s/install/$kver/updates" "$mods/updates"
if ! depmod -b "$s/modroot" "$kver" ||
   ! grep -q "^updates/dkms/$name.ko[.a-z]*: .*dm-bufio" "$mods/modules.dep"; then
	echo "# depmod over $mods did not list $name with its dependencies"
	inst=
fi

# the stock guest: modprobe the installed module
if [ -n "$inst" ]; then
	t=$SECONDS
	tests/vm/run.sh --kernel stock --quiet --timeout 600 --out build/vm/dkms \
		--disk 64M --disk 256M -- \
		bash tests/dkms-guest.sh "$s/modroot" "$n" > "$s/vm.log" 2>&1
	rc=$?
	echo "# the guest: $((SECONDS - t)) s"
	grep -E '^(not )?ok |^#' build/vm/dkms/output
	got=$(grep -cE '^ok ' build/vm/dkms/output)
	n=$((n + 4))
	if [ "$rc" != 0 ] || [ "$got" != 4 ]; then
		fails=$((fails + 1))
		[ "$got" = 4 ] || echo "# the guest reported $got of 4 results (run.sh exit $rc)"
		sed 's/^/# /' "$s/vm.log" | tail -n 20
	fi
else
	for t in "modprobe dm-odx loads the installed module" \
		"a volume works" "rmmod unloads it" "the guest's kernel log is clean"; do
		notok "$t # nothing was installed"
	done
fi

if diag dkms remove "${dk[@]}" -m "$name" -v "$ver" --all &&
   ! ls "$s/install/$kver/updates/dkms/$name.ko"* >/dev/null 2>&1; then
	ok "dkms remove"
else
	notok "dkms remove"
fi
[ "${ODX_KEEP:-0}" = 1 ] || rm -rf "$s"
echo "# $((n - fails)) passed, $fails failed"
[ $fails = 0 ]
