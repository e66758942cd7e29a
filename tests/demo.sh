#!/bin/bash
# make demo [KERNEL=stock|debug]: boot a kernel in a VM and take a narrated
# tour of dm-odx (tests/demo-guest.sh): an over-committed volume, XFS and
# fstrim, the queries, a 1 GiB offload copy beside dd, tokens, and on the
# test kernel (debug) copy_file_range() and qemu-img convert -C as remaps;
# odxctl check at the end. Each step is checked: the exit status is
# non-zero if one failed. About five minutes on the stock kernel.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
. tests/vm/kernel-args.sh demo
args=("${vm_args[@]}")
exec tests/vm/run.sh "${args[@]}" --disk 256M --disk 4G \
	--timeout 3600 --out "build/vm/demo-$kernel" -- bash tests/demo-guest.sh
