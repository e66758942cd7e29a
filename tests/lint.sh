#!/bin/bash
# make lint: tests/check-deps.sh, checkpatch (--no-tree) over the kernel C, then a build of the
# module against the pinned headers with W=1 and sparse (C=2). Any
# report is a failure.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
# shellcheck source=../kernel.env
. "$top/kernel.env"

# checkpatch and its data files from the pinned kernel source: from the
# test kernel's tree if it is built, else extracted once into build/.
cp=
for t in "${ODX_CACHE:-$HOME/.cache/dm-odx}"/kernel-*/linux-source-6.12; do
	[ -x "$t/scripts/checkpatch.pl" ] && cp=$t/scripts/checkpatch.pl
done
if [ -z "$cp" ]; then
	mkdir -p build/lint
	if [ ! -x build/lint/linux-source-6.12/scripts/checkpatch.pl ]; then
		tar -C build/lint -xf /usr/src/linux-source-6.12.tar.xz \
			linux-source-6.12/scripts/checkpatch.pl \
			linux-source-6.12/scripts/spelling.txt \
			linux-source-6.12/scripts/const_structs.checkpatch || exit 1
	fi
	cp=build/lint/linux-source-6.12/scripts/checkpatch.pl
fi

fail=0
# every command the build and the tests run comes from a package that
# make deps installs
tests/check-deps.sh || fail=1

files=$(ls drivers/*.[ch] include/*.h include/uapi/linux/*.h tests/kunit/*.c 2>/dev/null)
echo "lint: checkpatch over $(echo "$files" | wc -w) files"
# shellcheck disable=SC2086
if ! "$cp" --no-tree --quiet --show-types -f $files; then
	fail=1
fi

echo "lint: W=1 and sparse (C=2) build against $KERNEL_ABI"
rm -rf build/lint-build
log=$(W=1 C=2 tests/shadow-build.sh "/usr/src/linux-headers-$KERNEL_ABI" build/lint-build 2>&1)
rc=$?
reports=$(grep -E 'warning:|error:' <<<"$log")
if [ $rc != 0 ] || [ -n "$reports" ]; then
	echo "${reports:-$log}"
	fail=1
fi

# The kernel patch series (tests/kernel/patches), as a submitter would
# check it: checkpatch --strict on each patch.
pfiles=$(ls "$top"/tests/kernel/patches/*.patch 2>/dev/null)
cpabs=$(realpath "$cp")
if [ -n "$pfiles" ]; then
	echo "lint: checkpatch --strict over $(echo "$pfiles" | wc -w) kernel patches"
	# from outside this repository: run inside a git work tree,
	# checkpatch reports a patch's blank context lines as trailing
	# whitespace
	# shellcheck disable=SC2086
	if ! (cd / && "$cpabs" --no-tree --strict --quiet --show-types \
		$pfiles); then
		fail=1
	fi
fi

# The REQ_OP_COPY code (odx-copybio.c) is compiled only against a kernel
# with the series: W=1 and sparse against the built test kernel too, when
# there is one (ODX_KSRC, or the cache; make check builds it).
ksrc=${ODX_KSRC:-}
if [ -z "$ksrc" ]; then
	for t in "${ODX_CACHE:-$HOME/.cache/dm-odx}"/kernel-*/linux-source-6.12; do
		[ -f "$t/../.built" ] && ksrc=$t
	done
fi
if [ -n "$ksrc" ]; then
	echo "lint: W=1 and sparse (C=2) build against the test kernel $ksrc"
	rm -rf build/lint-build-test
	log=$(W=1 C=2 tests/shadow-build.sh "$ksrc" build/lint-build-test 2>&1)
	rc=$?
	reports=$(grep -E 'warning:|error:' <<<"$log")
	if [ $rc != 0 ] || [ -n "$reports" ]; then
		echo "${reports:-$log}"
		fail=1
	fi
else
	echo "lint: no built test kernel: the REQ_OP_COPY code was not compiled (make check builds one)"
fi

if [ $fail = 0 ]; then
	echo "lint: clean"
else
	echo "lint: problems found" >&2
fi
exit $fail
