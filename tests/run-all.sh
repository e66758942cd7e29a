#!/bin/bash
# The test command (make check): build everything, run the KUnit suites on
# the test kernel and the kselftests on both kernels, each in its own VM,
# and end with one line 'N passed, N failed, N skipped'.
#
# Environment:
#   ODX_KERNELS   which kernels run the kselftests (default "debug stock")
#   ODX_TIMEOUT   per-VM timeout in seconds (default 4500: the debug
#                 kernel's first VM took 50-60 min next to the stock
#                 ones on two cores, more on a busy machine)
#   ODX_LATE      the kselftests the debug kernel runs in a second VM
#                 after the stock VM (default "tokens.sh copy.sh
#                 crash.sh"; ""
#                 for none)
#   ODX_KSRC      use this built test kernel tree instead of building or
#                 finding the one tests/kernel/build.sh describes
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
kernels=${ODX_KERNELS:-debug stock}
tmo=${ODX_TIMEOUT:-4500}
res=$top/build/results
start=$SECONDS

step() { printf '\n### %s (%ds)\n' "$*" $((SECONDS - start)); }

rm -rf "$res"
mkdir -p "$res"
summary=()

step "building the test kernel (cached after the first run)"
if [ -n "${ODX_KSRC:-}" ]; then
	ksrc=$ODX_KSRC
elif ! ksrc=$(tests/kernel/build.sh); then
	echo "run-all: the test kernel did not build" >&2
	python3 tests/ktap_summary.py --fail "build=test kernel build failed"
	exit 1
fi

step "building dm-odx.ko for both kernels and odxctl"
if ! make -s all modules-test KSRC="$ksrc" > "$res/build.log" 2>&1 ||
   ! tests/selftests/install.sh "$ksrc" build/kselftest >> "$res/build.log" 2>&1; then
	tail -n 40 "$res/build.log" >&2
	python3 tests/ktap_summary.py --fail "build=module, odxctl or kselftest build failed"
	exit 1
fi

# run_vm LABEL KERNEL ARGS...: run in a VM (tests/vm/run.sh ARGS)
run_vm() {
	local label=$1 kernel=$2
	shift 2
	tests/vm/run.sh --kernel "$kernel" --ksrc "$ksrc" --timeout "$tmo" \
		--out "build/vm/$label" "$@"
}

# The summary's own tests: every way a run can go wrong must reach the
# summary line (tests/ktap_summary_test.py)
step "the summary's own tests"
python3 tests/ktap_summary_test.py > "$res/summary-test.tap" 2>&1
summary+=(--tap "summary self-test=$res/summary-test.tap"
	  --exit-status "summary self-test=$?")
grep -v '^ok' "$res/summary-test.tap"

# vm_time LABEL SECONDS: each VM's time, printed where it ends
vm_time() { echo "# the $1 VM took $2 s"; }

# The README's DKMS install (tests/dkms-test.sh: dkms add/build/install
# in scratch trees, modprobe in the stock guest), beside the KUnit VM
step "the DKMS install (beside the KUnit VM)"
{ vm_start=$SECONDS
  tests/dkms-test.sh > "$res/dkms.tap" 2>&1
  echo $? > "$res/dkms.rc"
  vm_time "DKMS test's" $((SECONDS - vm_start)) >> "$res/dkms.tap"; } &
dkms_pid=$!

step "KUnit on the test kernel"
# the boot-time executor prints an empty KTAP run of the built-in suites:
# keep only what loading the module printed; the command fails if the
# module does not load or unload
vm_start=$SECONDS
run_vm kunit debug --quiet -- sh -c \
	'dmesg -C; insmod "$ODX_KO" && rmmod dm_odx; rc=$?; dmesg > "$ODX_OUT/kunit.log"; exit $rc'
kunit_vm=$?
vm_time kunit $((SECONDS - vm_start))
# the suites the module must run, from the sources
suites=$(sed -n 's/^\s*\.name\s*=\s*"\(dm-odx-[a-z0-9-]*\)".*/\1/p' tests/kunit/*.c)
kunit_parse=0
if [ -s build/vm/kunit/kunit.log ]; then
	python3 "$ksrc/tools/testing/kunit/kunit.py" parse \
		--json="$res/kunit.json" "$top/build/vm/kunit/kunit.log" > "$res/kunit.txt" 2>&1
	kunit_parse=$?
	grep -E '^\[|Testing complete|FAILED|CRASHED' "$res/kunit.txt" | tail -n 60
fi
# a missing log or JSON is a failure in the summary, never no entry
summary+=(--kunit "debug=$res/kunit.json" --expect-suites "$suites")
if [ $kunit_vm != 0 ]; then
	summary+=(--exit-status "debug KUnit=$kunit_vm")
else
	summary+=(--exit-status "debug KUnit=$kunit_parse")
fi

wait $dkms_pid
step "the DKMS install: its output"
cat "$res/dkms.tap"
summary+=(--tap "DKMS test=$res/dkms.tap"
	  --exit-status "DKMS test=$(cat "$res/dkms.rc" 2>/dev/null || echo 125)")

# The kernels' kselftests run at the same time, each in its own VM: a
# TCG guest with one vCPU keeps one host core busy, and there are two.
# The debug kernel's scripts take longer than the stock kernel's, so when
# both run, the scripts in ODX_LATE (default: tokens.sh; copy.sh, which
# only the test kernel can run; and crash.sh, the longest: about 5, 14 and
# 11 min there) go to a second debug VM that starts when the stock VM
# (about 25 min) is done: both cores stay busy to the end, and each chain
# takes about as long as the other (about 55 min each on a loaded
# machine, 2026-12-02).
late=${ODX_LATE-tokens.sh copy.sh crash.sh}
list=$(cat build/kselftest/kselftest-list.txt)
early_args=()
late_args=()
for t in $list; do
	case " $late " in
	*" ${t#*:} "*) late_args+=(-t "$t") ;;
	*) early_args+=(-t "$t") ;;
	esac
done
case " $kernels " in *" debug "*) ;; *) late_args=() ;; esac
case " $kernels " in *" stock "*) ;; *) late_args=() ;; esac
[ ${#late_args[@]} = 0 ] && early_args=()

# kselftests LABEL KERNEL [-t COLLECTION:TEST]...: one VM; its output
# in $res/kselftest-LABEL.log, its exit status in .rc
kselftests() {
	local label=$1 kernel=$2
	shift 2
	local vm_start=$SECONDS
	# the suites already ran above: not again at every module load
	run_vm "kselftest-$label" "$kernel" --append kunit.enable=0 \
		--disk 256M --disk 4G --disk 4G --disk 4G -- \
		"$top/build/kselftest/run_kselftest.sh" "$@" \
		> "$res/kselftest-$label.log" 2>&1
	echo $? > "$res/kselftest-$label.rc"
	vm_time "kselftest-$label" $((SECONDS - vm_start)) >> "$res/kselftest-$label.log"
}

labels=
step "kselftests on: $kernels (in parallel)"
for k in $kernels; do
	if [ $k = debug ]; then
		kselftests debug debug "${early_args[@]}" &
	elif [ $k = stock ] && [ ${#late_args[@]} != 0 ]; then
		{ kselftests stock stock
		  kselftests debug-late debug "${late_args[@]}"; } &
	else
		kselftests $k $k &
	fi
	labels="$labels $k"
done
[ ${#late_args[@]} = 0 ] || labels="$labels debug-late"
wait
for k in $labels; do
	step "kselftests in the $k VM: its output"
	cat "$res/kselftest-$k.log"
	# a VM that left no output or no status is a failure in the summary
	cp "build/vm/kselftest-$k/output" "$res/kselftest-$k.tap" 2>/dev/null
	summary+=(--kselftest "$k=$res/kselftest-$k.tap"
		  --exit-status "$k kselftest=$(cat "$res/kselftest-$k.rc" 2>/dev/null || echo 125)")
done

step "power-off and boot again on the same disks"
vm_start=$SECONDS
tests/reboot-test.sh "$ksrc" > "$res/reboot.tap" 2>&1
summary+=(--tap "reboot test=$res/reboot.tap" --exit-status "reboot test=$?")
cat "$res/reboot.tap"
vm_time "reboot test's two" $((SECONDS - vm_start))

step "summary"
python3 tests/ktap_summary.py "${summary[@]}"
