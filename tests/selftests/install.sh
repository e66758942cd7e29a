#!/bin/bash
# Install the dm-odx kselftests with the kernel's own kselftest machinery:
# copy tests/selftests/dm-odx into KSRC's tools/testing/selftests and run
# its install target, which lays out run_kselftest.sh, kselftest-list.txt
# and the kselftest/ helpers next to our tests.
#   tests/selftests/install.sh KSRC INSTALL_PATH
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
ksrc=$1
dest=$2
sel=$ksrc/tools/testing/selftests
[ -d "$sel/kselftest" ] || { echo "install.sh: no selftests in $ksrc" >&2; exit 1; }
rm -rf "$sel/dm-odx" "$dest"
cp -r "$top/tests/selftests/dm-odx" "$sel/dm-odx"
mkdir -p "$dest"
dest=$(cd "$dest" && pwd)
# ODX_UAPI: where the C tests find include/uapi/linux/dm-odx.h
make -s -C "$sel" TARGETS=dm-odx INSTALL_PATH="$dest" \
	ODX_UAPI="$top/include/uapi" install >/dev/null
