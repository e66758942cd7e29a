#!/bin/bash
# make shell [KERNEL=stock|debug] [DISKS="256M 4G 4G"]: an interactive
# shell in a guest (the serial console on this terminal) with dm-odx
# loaded, odxctl on the PATH and scratch disks /dev/vda, /dev/vdb, ...
# (sparse files, deleted afterwards). 'exit' or Ctrl-D powers the guest
# off; Ctrl-A X kills it. The guest's console log is in build/vm/shell-*.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
kernel=${KERNEL:-stock}
args=()
case "$kernel" in
stock) make -s build/stock/dm-odx.ko odxctl ;;
debug)
	ksrc=${ODX_KSRC:-$(tests/kernel/build.sh)}
	make -s build/debug/dm-odx.ko odxctl KSRC="$ksrc"
	args=(--ksrc "$ksrc" --append kunit.enable=0) ;;
*) echo "shell: KERNEL must be stock or debug" >&2; exit 2 ;;
esac
for d in ${DISKS:-256M 4G 4G}; do
	args+=(--disk "$d")
done
exec tests/vm/run.sh --kernel "$kernel" "${args[@]}" --interactive \
	--timeout "${ODX_SHELL_TIMEOUT:-86400}" --out "build/vm/shell-$kernel" -- \
	bash tests/shell-guest.sh
