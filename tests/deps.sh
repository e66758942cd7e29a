#!/bin/bash
# Install every Debian package the build and the tests need (make deps).
# Idempotent: installs only what is missing, and runs apt-get update only
# then. The kernel packages are the ones pinned in kernel.env.
# tests/check-deps.sh (make lint) checks that every command the build and
# the tests run comes from a package listed here (or one they depend on).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../kernel.env
. "$top/kernel.env"

pkgs=(
	# module and utility build
	build-essential make gcc libc6-dev pahole
	"linux-headers-$KERNEL_ABI=$KERNEL_DEB_VERSION"
	# the test kernel, built from the distribution's source
	"linux-source-6.12=$KERNEL_DEB_VERSION"
	bc bison flex libelf-dev libssl-dev cpio kmod xz-utils perl python3
	# the kselftest install (the kernel's selftests Makefile copies with it)
	rsync
	# the stock kernel the tests also boot, with its modules
	"linux-image-$KERNEL_ABI-unsigned=$KERNEL_DEB_VERSION"
	# the VM and the tools used inside it
	qemu-system-x86 busybox-static dmsetup util-linux procps fio xfsprogs
	e2fsprogs coreutils qemu-utils
	# the DKMS install the README describes (tests/dkms-test.sh)
	dkms
	# make bench's chart
	gnuplot-nox
	# tests/fresh-machine.sh (a minimal Debian root to check make deps in)
	debootstrap
	# lint
	sparse
)

missing=()
for p in "${pkgs[@]}"; do
	name=${p%%=*}
	want=${p#*=}
	[ "$want" = "$p" ] && want=
	have=$(dpkg-query -W -f='${db:Status-Abbrev}${Version}' "$name" 2>/dev/null || true)
	case "$have" in
	ii*) [ -z "$want" ] || [ "${have#ii }" = "$want" ] || missing+=("$p") ;;
	*) missing+=("$p") ;;
	esac
done

if [ ${#missing[@]} = 0 ]; then
	echo "deps: all ${#pkgs[@]} packages present"
	exit 0
fi
echo "deps: installing ${missing[*]}"
sudo=
[ "$(id -u)" = 0 ] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
