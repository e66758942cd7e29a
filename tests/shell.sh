#!/bin/bash
# make shell [KERNEL=stock|debug] [DISKS="256M 4G 4G"]: an interactive
# shell in a guest (the serial console on this terminal) with dm-odx
# loaded, odxctl on the PATH and scratch disks /dev/vda, /dev/vdb, ...
# (sparse files, deleted afterwards). 'exit' or Ctrl-D powers the guest
# off; Ctrl-A X kills it. The guest's console log is in build/vm/shell-*.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
. tests/vm/kernel-args.sh shell
args=("${vm_args[@]}")
for d in ${DISKS:-256M 4G 4G}; do
	args+=(--disk "$d")
done
exec tests/vm/run.sh "${args[@]}" --interactive \
	--timeout "${ODX_SHELL_TIMEOUT:-86400}" --out "build/vm/shell-$kernel" -- \
	bash tests/shell-guest.sh
