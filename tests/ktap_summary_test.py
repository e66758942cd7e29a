#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Tests of tests/ktap_summary.py: the summary line is what CI and every
reader trust, so each way a run can go wrong must show up in it. Each
case feeds the summary a file (or an exit status) and checks the counts
it prints and its exit status. Prints TAP; exit status 1 on a failure.

  tests/ktap_summary_test.py
"""
import contextlib
import io
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ktap_summary  # noqa: E402

RUNNER_OK = """TAP version 13
1..2
# timeout set to 1800
# selftests: dm-odx: a.sh
# TAP version 13
# 1..2
# ok 1 first
# ok 2 second
# # a.sh took 3s
ok 1 selftests: dm-odx: a.sh
# selftests: dm-odx: b.sh
# TAP version 13
# 1..1
# ok 1 only
ok 2 selftests: dm-odx: b.sh
"""

CASES = [
    # (name, kind, text, exit status, expected (passed, failed, skipped))
    ('a clean runner output counts every result', 'kselftest',
     RUNNER_OK, 0, (3, 0, 0)),
    ('plan 1..14 with one ok: 13 missing results fail', 'tap',
     'TAP version 13\n1..14\nok 1 one\n', 0, (1, 13, 0)),
    ('reboot test: 1..2 with only ok 1 fails', 'tap',
     'TAP version 13\n1..2\nok 1 boot 1\n', 0, (1, 1, 0)),
    ('a host TAP file that passed but exited 1 fails', 'tap',
     'TAP version 13\n1..1\nok 1 x\n', 1, (1, 1, 0)),
    ('a program cut short: its results count, the rest of its plan fails',
     'kselftest',
     'TAP version 13\n1..1\n# selftests: dm-odx: a.sh\n# TAP version 13\n'
     '# 1..4\n# ok 1 a\n# ok 2 b\n', 0, (2, 3, 0)),
    ('nested results with no runner line after them still count',
     'kselftest',
     'TAP version 13\n1..2\n# selftests: dm-odx: a.sh\n# 1..1\n# ok 1 a\n'
     'ok 1 selftests: dm-odx: a.sh\n# selftests: dm-odx: b.sh\n# 1..2\n'
     '# not ok 1 b\n# ok 2 c\n', 0, (2, 2, 0)),
    ('a runner whose plan promised 3 programs and ran 1', 'kselftest',
     RUNNER_OK.replace('1..2\n# timeout', '1..4\n# timeout'), 0, (3, 2, 0)),
    ('a program that failed with all its results ok (exit=1)', 'kselftest',
     'TAP version 13\n1..1\n# selftests: dm-odx: a.sh\n# 1..1\n# ok 1 a\n'
     'not ok 1 selftests: dm-odx: a.sh # exit=1\n', 0, (1, 1, 0)),
    ('a program that timed out', 'kselftest',
     'TAP version 13\n1..1\n# selftests: dm-odx: a.sh\n# 1..1\n# ok 1 a\n'
     '#\nnot ok 1 selftests: dm-odx: a.sh # TIMEOUT 1800 seconds\n', 0,
     (1, 1, 0)),
    ('a skip with a reason is a skip', 'kselftest',
     'TAP version 13\n1..1\n# selftests: dm-odx: c.sh\n'
     '# 1..0 # SKIP no REQ_OP_COPY\nok 1 selftests: dm-odx: c.sh # SKIP\n',
     0, (0, 0, 1)),
    ('a program that ran zero tests fails', 'kselftest',
     'TAP version 13\n1..1\n# selftests: dm-odx: c.sh\n# 1..0\n'
     'ok 1 selftests: dm-odx: c.sh\n', 0, (0, 1, 0)),
    ('a program that printed no KTAP counts as its runner line', 'kselftest',
     'TAP version 13\n1..1\n# selftests: dm-odx: a.sh\n'
     'ok 1 selftests: dm-odx: a.sh\n', 0, (1, 0, 0)),
    ('a runner with no plan fails', 'kselftest',
     '# selftests: dm-odx: a.sh\n# 1..1\n# ok 1 a\n'
     'ok 1 selftests: dm-odx: a.sh\n', 0, (1, 1, 0)),
    ('an empty output fails', 'kselftest', '', 0, (0, 1, 0)),
    ('all passed but the VM exited 137 (killed)', 'kselftest', RUNNER_OK,
     137, (3, 1, 0)),
    ('all passed but the guest kernel reported a problem (126)',
     'kselftest', RUNNER_OK, 126, (3, 1, 0)),
    ('a VM that exited 2 and left no output at all', 'kselftest', None, 2,
     (0, 1, 0)),
    ('KUnit: a case the parser found missing fails', 'kunit',
     {'name': 'KUnit Test Group', 'test_cases': [], 'sub_groups': [
         {'name': 'dm-odx-slab', 'sub_groups': [], 'test_cases': [
             {'name': 'a', 'status': 'PASS'},
             {'name': '', 'status': 'ERROR'}]},
         {'name': 'dm-odx-table', 'sub_groups': [], 'test_cases': [
             {'name': 'b', 'status': 'PASS'}]}]}, 0, (2, 1, 0)),
    ('KUnit: a suite that did not run fails', 'kunit',
     {'name': 'KUnit Test Group', 'test_cases': [], 'sub_groups': [
         {'name': 'dm-odx-slab', 'sub_groups': [], 'test_cases': [
             {'name': 'a', 'status': 'PASS'}]}]}, 0, (1, 1, 0)),
    ('KUnit: kunit.py parse exited 1 with every case passed', 'kunit',
     {'name': 'KUnit Test Group', 'test_cases': [], 'sub_groups': [
         {'name': 'dm-odx-slab', 'sub_groups': [], 'test_cases': [
             {'name': 'a', 'status': 'PASS'}]},
         {'name': 'dm-odx-table', 'sub_groups': [], 'test_cases': [
             {'name': 'b', 'status': 'PASS'}]}]}, 1, (2, 1, 0)),
]


def run_case(tmp, kind, text, status):
    label = 'x'
    path = os.path.join(tmp, 'input')
    if os.path.exists(path):
        os.unlink(path)
    if text is not None:
        with open(path, 'w') as f:
            if kind == 'kunit':
                json.dump(text, f)
            else:
                f.write(text)
    args = [f'--{kind}', f'{label}={path}']
    if kind == 'kunit':
        args += ['--expect-suites', 'dm-odx-slab dm-odx-table']
    printed = {'kunit': 'x KUnit', 'kselftest': 'x kselftest', 'tap': 'x'}
    if status:
        args += ['--exit-status', f'{printed[kind]}={status}']
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = ktap_summary.main(args)
    last = out.getvalue().strip().splitlines()[-1]
    counts = tuple(int(w) for w in last.replace(',', '').split()[::2])
    return counts, rc, out.getvalue()


def main():
    print('TAP version 13')
    print(f'1..{len(CASES)}')
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for i, (name, kind, text, status, want) in enumerate(CASES, 1):
            got, rc, out = run_case(tmp, kind, text, status)
            want_rc = 1 if want[1] or not want[0] + want[2] else 0
            if got == want and rc == want_rc:
                print(f'ok {i} {name}')
            else:
                failed += 1
                for line in out.splitlines():
                    print(f'# {line}')
                print(f'not ok {i} {name}: counts {got} exit {rc}, '
                      f'expected {want} exit {want_rc}')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
