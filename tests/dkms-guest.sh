#!/bin/bash
# The guest half of tests/dkms-test.sh: modprobe dm-odx from the module
# tree ROOT/lib/modules/<kernel> that has the module dkms installed (and
# depmod's modules.dep), use it, unload it.
#   tests/dkms-guest.sh ROOT FIRST_TEST_NUMBER_MINUS_ONE
set -uo pipefail
root=$1
n=$2
kver=$(uname -r)
ok() {
	n=$((n + 1))
	echo "ok $n $*"
}
notok() {
	n=$((n + 1))
	echo "not ok $n $*"
}

lib=$root/lib/modules/$kver
mp() { modprobe -d "$root" "$@"; }

dmesg -C
if mp dm-odx && [ -d /sys/module/dm_odx ] &&
   [ "$(modinfo -b "$root" -n dm-odx)" = "$lib/updates/dkms/$(basename "$lib"/updates/dkms/dm-odx.ko*)" ] &&
   dmsetup targets | grep -q '^odx '; then
	ok "modprobe dm-odx loads the installed module ($(modinfo -b "$root" -n dm-odx))"
else
	notok "modprobe dm-odx loads the installed module"
	echo "# modinfo -n: $(modinfo -b "$root" -n dm-odx 2>&1)"
fi

# a small volume: write, read back, remove
if echo "0 1048576 odx /dev/vda /dev/vdb 128" | dmsetup create dkms &&
   head -c 4M /dev/urandom > /tmp/pat &&
   dd if=/tmp/pat of=/dev/mapper/dkms bs=1M oflag=direct status=none &&
   cmp -n 4194304 /tmp/pat /dev/mapper/dkms &&
   dmsetup remove dkms; then
	ok "a volume works (4 MiB written and read back)"
else
	notok "a volume works"
	dmsetup remove dkms 2>/dev/null
fi

# (modprobe -r would also try the dependencies, which others use)
if rmmod dm-odx > /tmp/err 2>&1 && [ ! -d /sys/module/dm_odx ]; then
	ok "rmmod unloads it"
else
	notok "rmmod unloads it"
	sed 's/^/# /' /tmp/err
	lsmod | sed 's/^/# /' | grep -E 'dm_|Module'
fi

if ! dmesg | grep -E 'BUG:|WARNING:|Oops|general protection'; then
	ok "the guest's kernel log is clean"
else
	notok "the guest's kernel log is clean"
fi
