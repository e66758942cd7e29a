#!/bin/bash
# Sourced by make demo and make shell (tests/demo.sh, tests/shell.sh):
# builds dm-odx.ko for the kernel KERNEL names (stock, the default, or
# debug: the test kernel) and odxctl, and sets vm_args to the runner's
# options for that kernel. $1 names the caller in the error line.
# shellcheck disable=SC2034  # vm_args is the caller's
kernel=${KERNEL:-stock}
vm_args=(--kernel "$kernel")
case "$kernel" in
stock) make -s build/stock/dm-odx.ko odxctl ;;
debug)
	ksrc=${ODX_KSRC:-$(tests/kernel/build.sh)}
	make -s build/debug/dm-odx.ko odxctl KSRC="$ksrc"
	vm_args+=(--ksrc "$ksrc" --append kunit.enable=0) ;;
*) echo "$1: KERNEL must be stock or debug, not '$kernel'" >&2; exit 2 ;;
esac
