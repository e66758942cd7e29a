#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The module loads, registers the odx target type, unloads cleanly, and
# can do so repeatedly; while a device uses it, it cannot be unloaded.

. "$(dirname "$0")/lib.sh"

ktap_print_header
odx_require_root
ktap_set_plan 6

odx_cleanup
odx_unload

odx_klog_mark
if odx_load && odx_module_loaded; then
	ktap_test_pass "module loads"
else
	ktap_test_fail "module loads"
fi

if dmsetup targets | grep -Eq '^odx +v[0-9]+\.[0-9]+\.[0-9]+$'; then
	ktap_test_pass "odx target type registered"
else
	ktap_test_fail "odx target type registered"
fi

odx_wipe
ok=1
echo "0 262144 odx $META $DATA 128" | dmsetup create ${ODX_TEST_PREFIX}-busy || ok=0
if [ $ok = 1 ]; then
	# a live table pins the module
	rmmod dm_odx 2>/dev/null && ok=0
	odx_module_loaded || ok=0
	odx_rmodx ${ODX_TEST_PREFIX}-busy || ok=0
fi
[ $ok = 1 ] && ktap_test_pass "module pinned while a table uses it" ||
	ktap_test_fail "module pinned while a table uses it"

if odx_unload && ! odx_module_loaded &&
   ! dmsetup targets | grep -q '^odx '; then
	ktap_test_pass "module unloads and the target type is gone"
else
	ktap_test_fail "module unloads and the target type is gone"
fi

ok=1
odx_klog_mark
for i in 1 2 3 4 5; do
	odx_load || ok=0
	odx_unload || ok=0
done
odx_module_loaded && ok=0
if ! odx_klog_marked; then
	odx_diag "the kernel log lacks the mark $ODX_MARK"
	ok=0
elif odx_klog_since | grep -E 'device-mapper: odx|BUG:|WARNING:'; then
	ok=0
fi
[ $ok = 1 ] && ktap_test_pass "five load/unload cycles, nothing logged" ||
	ktap_test_fail "five load/unload cycles, nothing logged"

odx_check_result
ktap_finished
