#!/bin/bash
# dm-odx VM runner: the one way a test or a demo reaches a kernel.
#
#   tests/vm/run.sh [options] -- COMMAND [ARG...]
#
#   --kernel stock|debug  stock: the pinned Debian kernel and its modules;
#                         debug: the project's test kernel (KUnit, KASAN,
#                         lockdep, kmemleak), see tests/kernel/build.sh
#   --ksrc DIR            the built test kernel tree (debug; default: ask
#                         tests/kernel/build.sh)
#   --disk SIZE           add a sparse virtio disk (repeatable; /dev/vda,
#                         /dev/vdb, ... in order)
#   --disk-dir DIR        keep the disk images in DIR and reuse the ones
#                         there (to boot again on the same disks); by
#                         default they are made in the output directory
#                         and deleted after the run
#   --mem MIB             guest memory (default 3072)
#   --smp N               guest CPUs (default: host CPUs)
#   --timeout SECONDS     kill the guest after this long (default 1800)
#   --out DIR             keep the console log, dmesg and output here
#                         (default build/vm/<kernel>-<pid>)
#   --append ARGS         extra kernel command line
#   --quiet               do not stream the command's output
#   --interactive         the guest's serial console on this terminal, the
#                         command on it (make shell); Ctrl-A X quits qemu
#
# The guest boots a busybox initramfs that loads the kernel's modules,
# mounts the host's root read-only over 9p (the host's tools, the built
# module and odxctl are at the same paths in the guest) and the output
# directory read-write, then runs COMMAND with bash as root, with
# DM_DISABLE_UDEV=1 and ODX_KO set to the module built for that kernel.
#
# Exit status: the command's, or 124 if the guest timed out, 125 if the
# guest died before the command finished, 126 if the kernel log shows a
# BUG, WARNING, KASAN, lockdep or kmemleak report (even if the command
# passed).
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../../kernel.env
. "$top/kernel.env"

flavor=stock
ksrc=
disks=()
diskdir=
mem=3072
smp=$(nproc)
tmo=1800
out=
quiet=0
interactive=0
append=

die() { echo "vm: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
	case "$1" in
	--kernel) flavor=$2; shift 2 ;;
	--ksrc) ksrc=$2; shift 2 ;;
	--disk) disks+=("$2"); shift 2 ;;
	--disk-dir) diskdir=$2; shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	--smp) smp=$2; shift 2 ;;
	--timeout) tmo=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--append) append="$append $2"; shift 2 ;;
	--quiet) quiet=1; shift ;;
	--interactive) interactive=1; quiet=1; shift ;;
	--) shift; break ;;
	*) die "unknown option '$1' (see the top of $0)" ;;
	esac
done
[ $# -gt 0 ] || die "no command given"

case "$flavor" in
stock)
	kver=$KERNEL_ABI
	kernel=/boot/vmlinuz-$kver
	moddir=/lib/modules/$kver
	ko=$top/build/stock/dm-odx.ko
	[ -r "$kernel" ] || die "$kernel missing: run 'make deps'"
	;;
debug)
	[ -n "$ksrc" ] || ksrc=$("$top/tests/kernel/build.sh")
	kernel=$ksrc/arch/x86/boot/bzImage
	kver=$(cat "$ksrc/include/config/kernel.release")
	moddir=
	ko=$top/build/debug/dm-odx.ko
	[ -r "$kernel" ] || die "$kernel missing: run tests/kernel/build.sh"
	;;
*) die "--kernel must be stock or debug, not '$flavor'" ;;
esac
[ -r "$ko" ] || die "$ko missing: run 'make modules-test'"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing: run 'make deps'"
[ -x /bin/busybox ] || die "/bin/busybox missing: run 'make deps'"

[ -n "$out" ] || out=$top/build/vm/$flavor-$$
# qemu's option syntax (-virtfs path=..., -drive file=...) splits at
# commas, and Kbuild refuses a module directory with spaces or colons:
# refuse such paths here, before anything is booted.
for p in "$top" "$out" "$diskdir"; do
	case "$p" in
	*[[:space:],:]*) die "the path '$p' has a space, comma or colon: qemu's options and Kbuild cannot take it; use a checkout (and --out, --disk-dir) path without them" ;;
	esac
done
rm -rf "$out"
mkdir -p "$out"
out=$(cd "$out" && pwd)

# --- initramfs: busybox, the modules the guest needs, and /init -----------
initrd_root=$out/initramfs
mkdir -p "$initrd_root"/{bin,proc,sys,dev,host,lib/modules}
cp /bin/busybox "$initrd_root/bin/busybox"

# Modules of the stock kernel, decompressed (busybox insmod cannot read
# .ko.xz) and listed in dependency order.
guest_modules="virtio_blk 9pnet_virtio 9p dm-mod dm-bufio dm-thin-pool
	dm-flakey dm-log-writes dm-delay dm-zero brd loop xfs"
: > "$initrd_root/modules.order"
if [ -n "$moddir" ]; then
	depflags=(-S "$kver")
	if [ ! -e "$moddir/modules.dep" ]; then
		# the package shipped no modules.dep: make one in a copy
		mroot=$top/build/vm/modroot
		mkdir -p "$mroot/lib/modules"
		ln -sfn "$moddir" "$mroot/lib/modules/$kver"
		depmod -b "$mroot" "$kver"
		depflags+=(-d "$mroot")
	fi
	for m in $guest_modules; do
		modprobe "${depflags[@]}" --show-depends "$m" |
			awk '$1 == "insmod" { print $2 }'
	done | awk '!seen[$0]++' | while read -r path; do
		name=$(basename "${path%.xz}")
		case "$path" in
		*.xz) xz -dc "$path" > "$initrd_root/lib/modules/$name" ;;
		*) cp "$path" "$initrd_root/lib/modules/$name" ;;
		esac
		echo "$name" >> "$initrd_root/modules.order"
	done
fi

cat > "$initrd_root/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
echo "<5>odx-vm: init started" > /dev/kmsg
for m in $(cat /modules.order); do
	insmod /lib/modules/$m || echo "odx-vm: insmod $m failed"
done
# the checkout and the output directory: files written by run.sh (no
# kernel command line to split them; run.sh refuses spaces, commas
# and colons, which qemu's options and Kbuild cannot take)
out=$(cat /odxvm_out)
top=$(cat /odxvm_top)
opts=trans=virtio,version=9p2000.L,msize=262144
fail() {
	echo "odx-vm: $*"
	echo o > /proc/sysrq-trigger
	sleep 10
}
mount -t 9p -o $opts,ro,cache=loose hostroot /host ||
	fail "cannot mount the host's root"
# A clean /tmp, /run, /var/tmp and /root in the guest, but the checkout
# (and the output directory, mounted after them) may live under one of
# them: the checkout is bind-mounted aside first and moved back on top.
mkdir -p /keep
mount --bind "/host$top" /keep || fail "cannot bind $top"
for d in tmp run var/tmp root; do
	mount -t tmpfs -o mode=1777 tmpfs /host/$d
done
mkdir -p "/host$top" 2>/dev/null
mount --move /keep "/host$top" || fail "cannot move $top back into place"
mkdir -p "/host$out" 2>/dev/null
mount -t 9p -o $opts odxout "/host$out" || fail "cannot mount $out"
[ -r "/host$top/tests/vm/guest.sh" ] || fail "$top/tests/vm/guest.sh not visible in the guest"
mount --move /dev /host/dev
mount --move /proc /host/proc
mount --move /sys /host/sys
exec switch_root /host /bin/bash "$top/tests/vm/guest.sh" "$out"
EOF
chmod +x "$initrd_root/init"
printf '%s\n' "$top" > "$initrd_root/odxvm_top"
printf '%s\n' "$out" > "$initrd_root/odxvm_out"
(cd "$initrd_root" && find . | cpio -o -H newc --quiet | gzip -1) > "$out/initramfs.cpio.gz"
rm -rf "$initrd_root"

# --- what the guest runs --------------------------------------------------
{
	echo "export ODX_TOP=$(printf %q "$top")"
	echo "export ODX_KO=$(printf %q "$ko")"
	echo "export ODX_KERNEL=$(printf %q "$flavor")"
	echo "export ODX_KVER=$(printf %q "$kver")"
	echo "export ODX_KSRC=$(printf %q "$ksrc")"
	echo "export ODX_OUT=$(printf %q "$out")"
	echo "export ODXCTL=$(printf %q "$top/userspace/odxctl")"
	printf 'cd %q\n' "$top"
	printf '%q ' "$@"
	echo
} > "$out/cmd.sh"

drives=()
i=0
for size in "${disks[@]}"; do
	img=${diskdir:-$out}/disk$i.img
	mkdir -p "$(dirname "$img")"
	[ -n "$diskdir" ] && [ -e "$img" ] || truncate -s "$size" "$img"
	drives+=(-drive "file=$img,if=virtio,format=raw,cache=unsafe,discard=unmap")
	i=$((i + 1))
done

: > "$out/output"
if [ $quiet = 0 ]; then
	tail -n +1 -F "$out/output" 2>/dev/null &
	tailpid=$!
	trap 'kill $tailpid 2>/dev/null || true' EXIT
fi

# interactive: the console on stdio (and still logged), the monitor
# multiplexed on it (Ctrl-A C), the command on the guest's ttyS0
serial=(-serial "file:$out/console.log")
qout=$out/qemu.log
fg=()
if [ $interactive = 1 ]; then
	touch "$out/interactive"
	serial=(-chardev "stdio,id=con,mux=on,signal=off,logfile=$out/console.log"
		-serial chardev:con -mon chardev=con)
	qout=/dev/stdout
	fg=(--foreground)
	append="$append loglevel=4"
fi

# no_timer_check: at boot the IO-APIC setup counts timer ticks over a
# short wait; a TCG guest on a loaded host (load 6 on two cores) missed
# them and panicked "IO-APIC + timer doesn't work!" before init. The
# check proves nothing about emulated hardware (KVM guests skip it too).
set +e
timeout "${fg[@]}" --signal=KILL "$tmo" qemu-system-x86_64 \
	-machine q35 -accel tcg,thread=multi -cpu max -smp "$smp" -m "$mem" \
	-nodefaults -display none -no-reboot \
	"${serial[@]}" \
	-kernel "$kernel" -initrd "$out/initramfs.cpio.gz" \
	-append "console=ttyS0 panic=-1 loglevel=6 no_timer_check$append" \
	-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap" \
	-virtfs "local,path=$out,mount_tag=odxout,security_model=none,multidevs=remap" \
	"${drives[@]}" > "$qout" 2>&1
qrc=$?
set -e
sleep 0.3
[ $quiet = 1 ] || kill "$tailpid" 2>/dev/null || true
[ -n "$diskdir" ] || rm -f "$out"/disk*.img

# --- verdict ---------------------------------------------------------------
splat='BUG:|WARNING:|KASAN:|UBSAN:|Kernel panic|Oops|general protection fault|kernel BUG at|possible circular locking|possible recursive locking|inconsistent lock state|suspicious RCU usage|blocked for more than|unreferenced object'
# Reports from before init runs cannot come from dm-odx (it is loaded
# later); they are the emulated machine's or the kernel's own, and one was
# seen here once (KASAN in handle_edge_irq during identify_cpu under TCG).
# They are shown, not counted.
initline=$(grep -n -m1 'odx-vm: init started' "$out/console.log" 2>/dev/null | cut -d: -f1 || true)
if [ -n "$initline" ]; then
	head -n "$initline" "$out/console.log" | grep -E "$splat" |
		sed 's/^/vm: ignored, before init: /' >&2 || true
	tail -n +"$initline" "$out/console.log" > "$out/console.after-init"
	logs=("$out/console.after-init")
else
	logs=("$out/console.log")
fi
[ -e "$out/kmemleak" ] && logs+=("$out/kmemleak")
# (grep exits 2, not 0, when one of its files is missing)
if grep -E "$splat" "${logs[@]}" > "$out/splats"; then
	echo "vm: the guest kernel reported a problem ($out/console.log):" >&2
	head -n 20 "$out/splats" >&2
	exit 126
fi
if [ $qrc = 137 ]; then
	echo "vm: guest timed out after $tmo s ($out/console.log):" >&2
	tail -n 20 "$out/console.log" >&2
	exit 124
fi
if [ ! -s "$out/rc" ]; then
	echo "vm: the guest died before the command finished (qemu exit $qrc, $out/console.log):" >&2
	tail -n 20 "$out/console.log" "$out/qemu.log" >&2
	exit 125
fi
exit "$(cat "$out/rc")"
