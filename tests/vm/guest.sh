#!/bin/bash
# Runs inside the guest as init (after the initramfs switched to the
# host's root over 9p): prepares the environment, runs the command the
# host wrote to $out/cmd.sh, records its exit status, checks for leaks,
# and powers the guest off.
out=$1
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TERM=dumb LANG=C.UTF-8
# No udev in the guest: dmsetup makes its own /dev/mapper nodes.
export DM_DISABLE_UDEV=1

mkdir -p /dev/shm /dev/pts
mount -t tmpfs -o mode=1777 shm /dev/shm
mount -t devpts devpts /dev/pts
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
# devtmpfs has none of these links; a missing /dev/stdout silently
# becomes a regular file when something writes to it
ln -sf /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr
ln -sf /proc/mounts /dev/mtab 2>/dev/null
hostname odx-guest 2>/dev/null

kmemleak=/sys/kernel/debug/kmemleak
if [ -w $kmemleak ]; then
	# forget what boot left behind: only leaks from the command count
	echo scan > $kmemleak
	echo clear > $kmemleak
fi

if [ -e "$out/interactive" ]; then
	# make shell: the command on the serial console, its controlling tty
	export TERM=vt100
	setsid -c bash "$out/cmd.sh" <> /dev/ttyS0 >&0 2>&1
	rc=$?
else
	# append: tools that reopen /dev/stdout (the kselftest runner)
	# append too
	bash "$out/cmd.sh" >> "$out/output" 2>&1 < /dev/null
	rc=$?
fi

dmesg > "$out/dmesg"
if [ -w $kmemleak ]; then
	echo scan > $kmemleak
	echo scan > $kmemleak
	cat $kmemleak > "$out/kmemleak"
fi
echo $rc > "$out/rc"
sync
echo o > /proc/sysrq-trigger
sleep 10
