#!/bin/bash
# make demo: boot the stock kernel in a VM, set up a dm-odx volume on two
# scratch disks and show it working. What it shows grows with the target.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
make -s build/stock/dm-odx.ko odxctl
exec tests/vm/run.sh --kernel stock --disk 64M --disk 512M --timeout 600 \
	--out build/vm/demo -- bash tests/demo-guest.sh
