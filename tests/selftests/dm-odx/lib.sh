#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Shared helpers for the dm-odx kselftests. Sourced, never run.
#
# Environment (set by the VM runner, tests/vm/run.sh):
#   ODX_KO        the dm-odx.ko built for the running kernel; if unset the
#                 tests use 'modprobe dm-odx' (an installed module)
#   ODX_META_DEV  metadata device (default /dev/vda)
#   ODX_DATA_DEV  data device (default /dev/vdb)
#   ODXCTL        the odxctl to run 'odxctl check' with after removals
#                 (default: odxctl on the PATH; without one that result
#                 is skipped)

ksft_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# The installed layout has kselftest/ next to dm-odx/.
for h in "$ksft_dir/../kselftest/ktap_helpers.sh" \
	 "${ODX_KSRC:-/nonexistent}/tools/testing/selftests/kselftest/ktap_helpers.sh"; do
	if [ -r "$h" ]; then
		# shellcheck disable=SC1090
		. "$h"
		break
	fi
done
type ktap_print_header >/dev/null 2>&1 || {
	echo "Bail out! ktap_helpers.sh not found"; exit 1; }

# how long each script took, as a diagnostic line at its end
trap 'echo "# $(basename "$0") took ${SECONDS}s"' EXIT

# and where: a result that came 5 s or more after the one before has a
# diagnostic line with that time before it (every result goes through
# ktap_helpers.sh's __ktap_test)
ODX_LAST_RESULT=$SECONDS
eval "odx_ktap_$(declare -f __ktap_test)"
__ktap_test() {
	local t=$((SECONDS - ODX_LAST_RESULT))

	[ $t -ge 5 ] && echo "# ${t}s since the previous result"
	ODX_LAST_RESULT=$SECONDS
	odx_ktap___ktap_test "$@"
}

META=${ODX_META_DEV:-/dev/vda}
DATA=${ODX_DATA_DEV:-/dev/vdb}
ODX_TEST_PREFIX=odxtest

odx_require_root() {
	if [ "$(id -u)" != 0 ]; then
		ktap_skip_all "must be run as root"
		exit "$KSFT_SKIP"
	fi
}

odx_module_loaded() {
	grep -q '^dm_odx ' /proc/modules
}

odx_load() {
	odx_module_loaded && return 0
	if [ -n "${ODX_KO:-}" ]; then
		insmod "$ODX_KO"
	else
		modprobe dm-odx
	fi
}

odx_unload() {
	odx_module_loaded || return 0
	rmmod dm_odx
}

# Remove every device-mapper device this test suite made.
odx_cleanup() {
	local d
	for d in $(dmsetup ls 2>/dev/null | awk '{print $1}'); do
		case "$d" in
		"$ODX_TEST_PREFIX"*) dmsetup remove --retry "$d" >/dev/null 2>&1 ;;
		esac
	done
}

# Zero the start of both devices: a clean volume.
odx_wipe() {
	dd if=/dev/zero of="$META" bs=1M count=4 oflag=direct status=none
	dd if=/dev/zero of="$DATA" bs=1M count=4 oflag=direct status=none
}

# Put a marker in the kernel log; odx_klog_since prints what followed it.
odx_klog_mark() {
	ODX_MARK="odx-selftest-mark-$$-$RANDOM$RANDOM"
	echo "$ODX_MARK" > /dev/kmsg
}

odx_klog_since() {
	dmesg | sed -n "/$ODX_MARK/,\$p" | tail -n +2
}

# odx_klog_marked: the last mark reached the kernel log (without it,
# odx_klog_since prints nothing, and "nothing logged" would prove nothing)
odx_klog_marked() {
	dmesg | grep -qF -- "$ODX_MARK"
}

odx_sectors() {
	blockdev --getsz "$1"
}

# Print a diagnostic line (goes into the KTAP stream as a comment).
odx_diag() {
	echo "# $*"
}

# odx_readsum DEV BS SKIP COUNT: md5sum of COUNT blocks of BS bytes of DEV
# from block SKIP, read with O_DIRECT. A read error fails, with a
# diagnostic and, in place of a sum, a string no other call prints: two
# unreadable ranges never compare equal.
odx_readsum() {
	local sum

	if sum=$(set -o pipefail
		 dd if="$1" bs="$2" skip="$3" count="$4" iflag=direct \
			 status=none | md5sum); then
		echo "${sum%% *}"
		return 0
	fi
	echo "# cannot read $4 x $2 bytes of $1 from block $3" >&2
	echo "unreadable-$1-$BASHPID-$RANDOM$RANDOM"
	return 1
}

# Checksum of the first MiBs of a device, to prove nothing was written
# (fails as odx_readsum does).
odx_devsum() {
	odx_readsum "$1" 1M 0 "${2:-1}"
}

# --- volumes ----------------------------------------------------------------

# odx_mkvol NAME VIRTUAL_MIB DATA_MIB [SLAB_SECTORS [FEATURES...]]
# A fresh volume /dev/mapper/NAME: the data device is a dm-linear slice
# ${NAME}-data of $DATA (so tests can grow it), the metadata device is
# $META, wiped first.
odx_mkvol() {
	local name=$1 vmib=$2 dmib=$3 slab=${4:-128}
	shift 4 2>/dev/null || shift $#
	dd if=/dev/zero of="$META" bs=1M count=1 oflag=direct status=none || return 1
	echo "0 $((dmib * 2048)) linear $DATA 0" | dmsetup create "$name-data" || return 1
	odx_loadvol "$name" "$vmib" "$slab" "$@"
}

# odx_loadvol NAME VIRTUAL_MIB SLAB_SECTORS [FEATURES...]: create the odx
# device over an existing ${NAME}-data (no wiping).
odx_loadvol() {
	local name=$1 vmib=$2 slab=$3 feat=
	shift 3
	[ $# -gt 0 ] && feat=" $# $*"
	echo "0 $((vmib * 2048)) odx $META /dev/mapper/$name-data $slab$feat" |
		dmsetup create "$name"
}

# odx_rmvol NAME: remove NAME and NAME-data; if NAME was there, check its
# metadata ($META) after (odx_check_meta).
odx_rmvol() {
	local removed=0
	dmsetup remove --retry "$1" 2>/dev/null && removed=1
	dmsetup remove --retry "$1-data" 2>/dev/null
	[ $removed = 1 ] && odx_check_meta "$META"
	return 0
}

# --- odxctl check after every removal ------------------------------------
# As dm-thin's tests run thin_check on the metadata of every pool they
# tear down, every script runs 'odxctl check' on the metadata device of
# every volume it removes cleanly, and reports all of them as its last
# KTAP result (odx_check_result; one more in its plan). Metadata that a
# test damages on purpose is never removed through these helpers.

ODXCTL=${ODXCTL:-$(command -v odxctl 2>/dev/null)}
ODX_CHECKS=0
ODX_CHECK_FAILS=0

# odx_check_meta [DEV]: odxctl check DEV (default $META), an inactive
# volume's metadata device; a failure is counted and its output logged.
odx_check_meta() {
	local dev=${1:-$META} out rc
	[ -n "$ODXCTL" ] && [ -x "$ODXCTL" ] || return 0
	ODX_CHECKS=$((ODX_CHECKS + 1))
	out=$("$ODXCTL" check "$dev" 2>&1)
	rc=$?
	if [ $rc != 0 ]; then
		ODX_CHECK_FAILS=$((ODX_CHECK_FAILS + 1))
		odx_diag "odxctl check $dev after a removal: exit $rc"
		sed 's/^/#   /' <<<"$out"
	fi
	return $rc
}

# odx_rmodx NAME [META_DEV]: remove the odx device NAME (not its data
# device), then odx_check_meta META_DEV. Fails if either fails.
odx_rmodx() {
	dmsetup remove --retry "$1" || return 1
	odx_check_meta "${2:-$META}"
}

# odx_check_result: the script's one result for every odx_check_meta
odx_check_result() {
	if [ -z "$ODXCTL" ] || [ ! -x "$ODXCTL" ]; then
		ktap_test_skip "odxctl check clean after every removal (no odxctl: set ODXCTL)"
	elif [ "$ODX_CHECKS" = 0 ]; then
		ktap_test_fail "odxctl check clean after every removal (none ran)"
	elif [ "$ODX_CHECK_FAILS" = 0 ]; then
		ktap_test_pass "odxctl check clean after every removal ($ODX_CHECKS checks)"
	else
		ktap_test_fail "odxctl check clean after every removal ($ODX_CHECK_FAILS of $ODX_CHECKS failed)"
	fi
}

# odx_field NAME N: the Nth field of the odx status (1-based):
#   1 txn  2 meta used/total  3 slabs used/total  4 shared  5 mode
#   6 discard mode  7 no-space mode  8 needs_check  9 tokens
odx_field() {
	dmsetup status "$1" | awk -v n="$2" '{ print $(n + 3) }'
}

odx_used_slabs() {
	odx_field "$1" 3 | cut -d/ -f1
}

# odx_sum DEV OFFSET_MIB LEN_MIB: checksum of a range, read with O_DIRECT;
# a read error fails and prints a sum that equals no other (odx_readsum)
odx_sum() {
	odx_readsum "$1" 1M "$2" "$3"
}

# odx_is_zero DEV OFFSET_BYTES LEN_BYTES: the range reads as zeros
odx_is_zero() {
	cmp -s -n "$3" <(dd if="$1" bs=1M iflag=direct,skip_bytes,count_bytes \
		skip="$2" count="$3" status=none) /dev/zero
}

# all CMD... [-- CMD...]...: every command succeeds (one result for many
# checks)
all() {
	local a cmd=()
	for a in "$@" --; do
		if [ "$a" = -- ]; then
			"${cmd[@]}" || return 1
			cmd=()
		else
			cmd+=("$a")
		fi
	done
}

# same_as FILE FILE_OFFSET DEV DEV_OFFSET LENGTH (bytes): the range of DEV
# (read with O_DIRECT) holds what the range of FILE holds
same_as() {
	cmp -s -n "$5" <(dd if="$1" bs=4096 iflag=skip_bytes,count_bytes \
				skip="$2" count="$5" status=none) \
		<(dd if="$3" bs=1M iflag=direct,skip_bytes,count_bytes \
			skip="$4" count="$5" status=none)
}

# odx_result "description" COMMAND [ARG...]: one KTAP result, pass if the
# command succeeds. (odx_result expands its command unquoted, which
# splits arguments that contain spaces.)
odx_result() {
	local desc=$1
	shift
	if "$@"; then
		ktap_test_pass "$desc"
	else
		ktap_test_fail "$desc"
	fi
}

# --- device slices (crash tests) -------------------------------------------

# odx_zero DEV OFFSET_MIB LEN_MIB: zero a range (write-zeroes, else dd)
odx_zero() {
	blkdiscard -z -o $(($2 * 1048576)) -l $(($3 * 1048576)) "$1" 2>/dev/null ||
		dd if=/dev/zero of="$1" bs=1M seek="$2" count="$3" \
			oflag=direct status=none
}

# odx_fill DEV OFFSET_MIB LEN_MIB: write a pattern (bytes 0x5a, never
# zeros) over a range, with O_DIRECT: what a slab holds before it is used
odx_fill() {
	xfs_io -d -c "pwrite -q -S 0x5a -b 1m $(($2 * 1048576)) $(($3 * 1048576))" "$1"
}

# odx_linear NAME DEV OFFSET_MIB LEN_MIB: /dev/mapper/NAME, a dm-linear
# slice of DEV
odx_linear() {
	echo "0 $(($4 * 2048)) linear $2 $(($3 * 2048))" | dmsetup create "$1"
}


# odx_waits_in_kernel PID [SECONDS]: wait (60 s by default) until PID
# sleeps uninterruptibly (state D: waiting for I/O or a page); fails if
# it never does or has ended
odx_waits_in_kernel() {
	local i state=

	for ((i = 0; i < 2 * ${2:-60}; i++)); do
		read -r _ _ state _ < "/proc/$1/stat" 2>/dev/null || return 1
		[ "$state" = D ] && return 0
		sleep 0.5
	done
	return 1
}

# odx_bio_waiting PID: PID is still asleep where a task waits for its
# bio (/proc/PID/wchan, which has no newline: read returns 1)
odx_bio_waiting() {
	local w=

	read -r w < "/proc/$1/wchan" 2>/dev/null
	case $w in
	submit_bio_wait|blk_io_schedule)
		return 0 ;;
	esac
	return 1
}

# odx_tool VAR NAME DIR: $VAR, the helper program NAME (odx_ioctl:
# requests to the control device; odx_token: the offload requests;
# odx_cfr: copy_file_range()), unless VAR names one already: installed
# next to the scripts by the kselftest Makefile; in the repository, built
# in DIR from NAME.c
odx_tool() {
	local path=${!1:-$ksft_dir/$2}

	if [ ! -x "$path" ]; then
		path=$3/$2
		cc -O2 -Wall -D_GNU_SOURCE \
			-I"$ksft_dir/../../../include/uapi" \
			-o "$path" "$ksft_dir/$2.c" || return 1
	fi
	printf -v "$1" %s "$path"
}

odx_ioctl_tool() { odx_tool ODX_IOCTL odx_ioctl "$1"; }
odx_token_tool() { odx_tool ODX_TOKEN odx_token "$1"; }
odx_cfr_tool() { odx_tool ODX_CFR odx_cfr "$1"; }

# --- offload tokens -------------------------------------------------------------


# tok ARGS...: odx_token ARGS; its output line in $OUT (never fails)
tok() {
	OUT=$("$ODX_TOKEN" "$@" 2>&1)
	odx_diag "odx_token $*: $OUT"
	return 0
}

# expect PATTERN: the last output matches the extended regex PATTERN
expect() {
	grep -Eq "^($1)\$" <<<"$OUT"
}

# tok_wait DEV ID: poll the status of operation ID until it ended (60 s)
tok_wait() {
	local i
	for i in $(seq 300); do
		tok status "$1" "$2"
		expect "ok status 0x1[012] .*" || return 0
		sleep 0.2
	done
}

# --- REQ_OP_COPY and copy_file_range ------------------------------------------


# odx_queue NAME ATTR: /sys/block/<dm-N of NAME>/queue/ATTR (the path)
odx_queue() {
	echo "/sys/block/dm-$(dmsetup info -c --noheadings -o minor "$1" | tr -d ' ')/queue/$2"
}

# odx_copy_max NAME: the device's queue/copy_max_bytes; empty when the
# kernel has no block-layer copy operation
odx_copy_max() {
	cat "$(odx_queue "$1" copy_max_bytes)" 2>/dev/null
}

# --- what this kernel and this test bed must have ----------------------------
# The one place that decides whether a missing feature is a skip or a
# failure. The test kernel (ODX_KERNEL=debug) carries the patch series, so
# it must have "copy" (REQ_OP_COPY: queue/copy_max_bytes, copy_file_range()
# on block devices); the test bed (ODX_KERNEL set: run by tests/vm/run.sh)
# must have every tool and target the scripts use: "fio", "odxctl",
# "python3", "xfs_io", "log-writes" (dm-log-writes). Anywhere else (the
# stock kernel; a script run by hand) a missing feature skips.

# odx_required WHAT: WHAT must be there on this run (exit status 0)
odx_required() {
	case $1 in
	copy)	[ "${ODX_KERNEL:-}" = debug ] ;;
	*)	[ -n "${ODX_KERNEL:-}" ] ;;
	esac
}

# odx_lacks WHAT REASON: WHAT is missing: bail out (a failure) where it
# is required, else skip the whole script with REASON
odx_lacks() {
	if odx_required "$1"; then
		ktap_exit_fail_msg "$2: ODX_KERNEL=${ODX_KERNEL:-} must have $1"
	fi
	ktap_skip_all "$2"
	exit "$KSFT_SKIP"
}

# odx_need_cmd CMD...: each command is on the PATH (odx_lacks CMD if not)
odx_need_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null || odx_lacks "$c" "$c missing"
	done
}

# odx_need_odxctl: $ODXCTL is an executable (odx_lacks odxctl if not)
odx_need_odxctl() {
	[ -n "$ODXCTL" ] && [ -x "$ODXCTL" ] ||
		odx_lacks odxctl "no odxctl (set ODXCTL)"
}

# odx_feature_result WHAT HAVE DESC: one KTAP result for an optional part
# of a script: pass if HAVE is 1, else a failure where WHAT is required
# and a skip elsewhere
odx_feature_result() {
	if [ "$2" = 1 ]; then
		ktap_test_pass "$3"
	elif odx_required "$1"; then
		ktap_test_fail "$3: missing, and ODX_KERNEL=${ODX_KERNEL:-} must have $1"
	else
		ktap_test_skip "$3: this kernel has no $1"
	fi
}

# odx_save DEV OFFSET LENGTH FILE (bytes): FILE holds the range of DEV,
# read with O_DIRECT; fails if the read fails or comes back short (a
# reference to compare copies against, not another read of the device)
odx_save() {
	dd if="$1" of="$4" bs=1M iflag=direct,skip_bytes,count_bytes \
		skip="$2" count="$3" status=none &&
	[ "$(stat -c %s "$4")" = "$3" ]
}
