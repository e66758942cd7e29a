#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Count the results of a dm-odx test run and print the summary line.

  ktap_summary.py [--kunit LABEL=kunit.json] [--kselftest LABEL=output]
                  [--fail LABEL=reason] ...

--kunit      JSON written by 'kunit.py parse --json'; every leaf test case
             (each parameter of a parameterised case) counts once.
--kselftest  the output of run_kselftest.sh; every KTAP result a test
             program printed counts once; a program that failed without a
             failing result of its own (crash, timeout, short plan) adds
             one failure, and a program that printed no results counts as
             one result itself.
--tap        like --kselftest, for a host-side test that prints TAP
--fail       a run that produced no results (guest crash, kernel splat,
             build failure) counts as one failure.

The last line is 'N passed, N failed, N skipped'. Exit status 1 if
anything failed or nothing ran.
"""
import argparse
import json
import re
import sys

TOP = re.compile(r'^(not ok|ok) (\d+) (.*?)(?:\s+#\s*(\w+).*)?$')
NESTED = re.compile(r'^#\s+(not ok|ok) (\d+) (.*?)(?:\s+#\s*(\w+).*)?$')


class Tally:
    def __init__(self, label):
        self.label = label
        self.passed = self.failed = self.skipped = 0
        self.failures = []

    def add(self, name, result, directive=None):
        directive = (directive or '').upper()
        if directive == 'SKIP':
            self.skipped += 1
        elif result == 'ok' or directive in ('XFAIL', 'TODO'):
            self.passed += 1
        else:
            self.failed += 1
            self.failures.append(name)


def kunit(tally, path):
    with open(path) as f:
        group = json.load(f)

    def walk(g, prefix):
        name = g.get('name') or ''
        here = f'{prefix}.{name}' if prefix and name else (prefix or name)
        for case in g.get('test_cases', []):
            status = case.get('status')
            tally.add(f"{here}.{case.get('name')}",
                      'ok' if status == 'PASS' else 'not ok',
                      'SKIP' if status == 'SKIP' else None)
        for sub in g.get('sub_groups', []):
            walk(sub, here)

    walk(group, '')


def kselftest(tally, path):
    nested = []
    with open(path, errors='replace') as f:
        for line in f:
            line = line.rstrip('\n')
            m = NESTED.match(line)
            if m:
                nested.append(m.groups())
                continue
            m = TOP.match(line)
            if not m:
                continue
            result, _, name, directive = m.groups()
            if nested:
                for r, _, n, d in nested:
                    tally.add(f'{name}: {n}', r, d)
                if result != 'ok' and not any(r != 'ok' for r, *_ in nested):
                    tally.add(f'{name} (exit status)', result, directive)
            else:
                tally.add(name, result, directive)
            nested = []


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--kunit', action='append', default=[])
    ap.add_argument('--kselftest', action='append', default=[])
    ap.add_argument('--tap', action='append', default=[])
    ap.add_argument('--fail', action='append', default=[])
    args = ap.parse_args()

    tallies = []
    for kind, items, fn in (('KUnit', args.kunit, kunit),
                            ('kselftest', args.kselftest, kselftest),
                            ('', args.tap, kselftest)):
        for item in items:
            label, path = item.split('=', 1)
            t = Tally(f'{label} {kind}'.strip())
            try:
                fn(t, path)
            except (OSError, ValueError) as e:
                t.add(f'reading {path}: {e}', 'not ok')
            if t.passed + t.failed + t.skipped == 0:
                t.add('no results', 'not ok')
            tallies.append(t)
    for item in args.fail:
        label, reason = item.split('=', 1)
        t = Tally(label)
        t.add(reason, 'not ok')
        tallies.append(t)

    for t in tallies:
        print(f'# {t.label}: {t.passed} passed, {t.failed} failed, '
              f'{t.skipped} skipped')
        for name in t.failures:
            print(f'#   FAILED {name}')
    p = sum(t.passed for t in tallies)
    f = sum(t.failed for t in tallies)
    s = sum(t.skipped for t in tallies)
    print(f'{p} passed, {f} failed, {s} skipped')
    return 1 if f or not p + s else 0


if __name__ == '__main__':
    sys.exit(main())
