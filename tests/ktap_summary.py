#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Count the results of a dm-odx test run and print the summary line.

  ktap_summary.py [--kunit LABEL=kunit.json] [--kselftest LABEL=output]
                  [--tap LABEL=output] [--fail LABEL=reason]
                  [--exit-status 'LABEL KIND=N'] [--expect-suites 'A B ...']

--kunit      JSON written by 'kunit.py parse --json'; every leaf test case
             (each parameter of a parameterised case) counts once, a case
             the parser found missing (a crash) counts as a failure, and
             every suite named by --expect-suites must be there.
--kselftest  the output of run_kselftest.sh (KTAP, each program's output
             nested under '# '). Every result counts once, and so does
             every result a plan promised and nobody printed: the runner's
             plan '1..N' (one result per program) and each program's own
             plan. A program that printed results but no result line of
             its own (the runner or the guest died) has its results
             counted and one failure added; a program that failed without
             a failing result of its own (crash, timeout, exit status)
             adds one failure; a program that printed no results at all
             counts as one result itself; a plan of 1..0 is a skip with a
             reason ('# SKIP ...') and a failure without one.
--tap        like --kselftest, for a host-side test that prints TAP
--fail       a run that produced no results (guest crash, kernel splat,
             build failure) counts as one failure.
--exit-status  the exit status of what produced a file above, named by
             the label the summary prints ('debug kselftest', 'reboot
             test'): 124 (timed out), 125 (the guest died) and 126 (the
             guest kernel reported a problem) are each a failure; any
             other non-zero status is a failure when no result of that
             file failed (so an exit status is never the only sign of a
             problem, and never lost).

A file that cannot be read, or that holds no results, is a failure. The
last line is 'N passed, N failed, N skipped'. Exit status 1 if anything
failed or nothing ran.
"""
import argparse
import json
import re
import sys

RESULT = re.compile(r'^(not ok|ok)\s+(\d+)\s*(?:-\s*)?(.*?)(?:\s+#\s*(.*))?$')
PLAN = re.compile(r'^1\.\.(\d+)\s*(?:#\s*(\w+)\b\s*(.*))?$')
NESTED = re.compile(r'^#\s(.*)$')
RUNNER_HEADER = re.compile(r'^#\s+selftests:\s+(.*)$')

DIRECTIVES = ('SKIP', 'TODO', 'XFAIL', 'TIMEOUT')


def parse_result(text):
    """'ok 3 name # SKIP why' -> ('ok', 'name', 'SKIP', 'SKIP why')"""
    m = RESULT.match(text)
    if not m:
        return None
    result, _, name, tail = m.groups()
    tail = (tail or '').strip()
    word = tail.split(None, 1)[0].upper() if tail else ''
    return result, name, word if word in DIRECTIVES else None, tail


STATUS_REASONS = {
    124: 'timed out',
    125: 'the guest died before the command finished',
    126: 'the guest kernel reported a problem (see its splats file)',
    137: 'killed (SIGKILL)',
}


class Tally:
    def __init__(self, label):
        self.label = label
        self.passed = self.failed = self.skipped = 0
        self.failures = []
        self.notes = []

    def total(self):
        return self.passed + self.failed + self.skipped

    def add(self, name, result, directive=None):
        directive = (directive or '').upper()
        if directive == 'SKIP' and result == 'ok':
            self.skipped += 1
        elif result == 'ok' or directive in ('XFAIL', 'TODO'):
            self.passed += 1
        else:
            self.failed += 1
            self.failures.append(name)

    def fail(self, name, count=1):
        for i in range(count):
            self.add(name if count == 1 else f'{name} ({i + 1} of {count})',
                     'not ok')


def kunit(tally, path, expect_suites=()):
    with open(path) as f:
        group = json.load(f)
    seen = set()

    def walk(g, prefix, depth):
        name = g.get('name') or ''
        if depth == 1:
            seen.add(name)
        here = f'{prefix}.{name}' if prefix and name else (prefix or name)
        for case in g.get('test_cases', []):
            status = case.get('status')
            cname = case.get('name') or '(a case the parser found missing)'
            if depth == 0:
                # a suite without cases is a leaf of the top group
                seen.add(case.get('name') or '')
                if status != 'PASS' and cname in expect_suites:
                    cname += ' (the suite ran zero tests or crashed)'
            tally.add(f'{here}.{cname}',
                      'ok' if status in ('PASS', 'SKIP') else 'not ok',
                      'SKIP' if status == 'SKIP' else None)
        for sub in g.get('sub_groups', []):
            walk(sub, here, depth + 1)

    walk(group, '', 0)
    for suite in expect_suites:
        if suite not in seen:
            tally.fail(f'suite {suite} did not run')


class Program:
    """One program's nested output under a runner (or the whole file)."""

    def __init__(self, name):
        self.name = name
        self.plan = None
        self.plan_directive = None
        self.plan_reason = ''
        self.results = []


def close_program(tally, prog, runner_line):
    """Count a program's results against its plan. runner_line is the
    runner's (result, directive, tail) for the program, None if the
    runner printed none, or 'flat' for a file that is one program."""
    name = prog.name
    for r, n, d in prog.results:
        tally.add(f'{name}: {n}', r, d)
    got = len(prog.results)
    if prog.plan is not None:
        if prog.plan == 0:
            if prog.plan_directive == 'SKIP' and prog.plan_reason.strip():
                tally.add(f'{name} (skipped: {prog.plan_reason.strip()})',
                          'ok', 'SKIP')
            elif prog.plan_directive == 'SKIP':
                tally.fail(f'{name}: skipped without a reason (1..0 # SKIP)')
            else:
                tally.fail(f'{name}: ran zero tests (plan 1..0)')
        elif got < prog.plan:
            tally.fail(f'{name}: plan 1..{prog.plan} but {got} result(s): '
                       'missing result', prog.plan - got)
        elif got > prog.plan:
            tally.fail(f'{name}: plan 1..{prog.plan} but {got} results')
    elif prog.results:
        tally.fail(f'{name}: results without a plan')
    if runner_line == 'flat':
        return
    if runner_line is None:
        tally.fail(f'{name}: no result line for the program (the runner '
                   'or the guest stopped in it)')
        return
    result, directive, tail = runner_line
    if not prog.results and prog.plan is None:
        # printed no KTAP of its own: the runner's line is the result
        tally.add(name, result, directive)
        return
    if result != 'ok' and not any(r != 'ok' for r, *_ in prog.results) \
            and got >= (prog.plan or 0):
        tally.add(f'{name} (the runner says: not ok # {tail})', result,
                  directive)


def read_plan(prog, text):
    m = PLAN.match(text)
    if not m:
        return False
    if prog.plan is None:
        prog.plan = int(m.group(1))
        prog.plan_directive = (m.group(2) or '').upper() or None
        prog.plan_reason = m.group(3) or ''
    return True


def kselftest(tally, path):
    """A runner's KTAP: top-level results are programs, each program's
    own KTAP is nested under '# '. A file without nesting (a host-side
    TAP test) is one program whose results are the top-level ones."""
    with open(path, errors='replace') as f:
        lines = [line.rstrip('\n') for line in f]

    def is_nested_ktap(line):
        m = NESTED.match(line)
        return bool(m and (RESULT.match(m.group(1)) or
                           PLAN.match(m.group(1))))

    if not any(is_nested_ktap(line) for line in lines):
        prog = Program(tally.label)
        for line in lines:
            if read_plan(prog, line):
                continue
            res = parse_result(line)
            if res:
                prog.results.append(res[:3])
        if prog.plan is not None or prog.results:
            close_program(tally, prog, 'flat')
        return

    top_plan = None
    top_seen = 0
    prog = None
    for line in lines:
        m = RUNNER_HEADER.match(line)
        if m:
            # the runner starts a program
            if prog is not None and (prog.results or prog.plan is not None):
                close_program(tally, prog, None)
                top_seen += 1
            prog = Program(m.group(1).strip())
            continue
        m = NESTED.match(line)
        if m:
            if prog is None:
                prog = Program(f'program {top_seen + 1}')
            if read_plan(prog, m.group(1)):
                continue
            res = parse_result(m.group(1))
            if res:
                prog.results.append(res[:3])
            continue
        if top_plan is None and PLAN.match(line):
            top_plan = int(PLAN.match(line).group(1))
            continue
        res = parse_result(line)
        if res:
            result, name, directive, tail = res
            if prog is None:
                prog = Program(name)
            prog.name = name or prog.name
            close_program(tally, prog, (result, directive, tail))
            top_seen += 1
            prog = None
    if prog is not None and (prog.results or prog.plan is not None):
        close_program(tally, prog, None)
        top_seen += 1
    if top_plan is None:
        tally.fail('the runner printed no plan (1..N)')
    elif top_seen < top_plan:
        tally.fail(f'runner plan 1..{top_plan} but {top_seen} program '
                   'result(s): missing program', top_plan - top_seen)


def exit_status(tally, status):
    if status == 0:
        return
    reason = STATUS_REASONS.get(status, f'exited {status}')
    if status in (124, 125, 126):
        tally.fail(f'exit status {status}: {reason}')
    elif tally.failed == 0:
        tally.fail(f'exit status {status} ({reason}) with no failing result')


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument('--kunit', action='append', default=[])
    ap.add_argument('--kselftest', action='append', default=[])
    ap.add_argument('--tap', action='append', default=[])
    ap.add_argument('--fail', action='append', default=[])
    ap.add_argument('--exit-status', action='append', default=[])
    ap.add_argument('--expect-suites', default='')
    args = ap.parse_args(argv)

    statuses = {}
    for item in args.exit_status:
        label, status = item.rsplit('=', 1)
        statuses[label] = int(status)
    suites = args.expect_suites.split()

    tallies = []
    for kind, items, fn in (('KUnit', args.kunit,
                             lambda t, p: kunit(t, p, suites)),
                            ('kselftest', args.kselftest, kselftest),
                            ('', args.tap, kselftest)):
        for item in items:
            label, path = item.split('=', 1)
            t = Tally(f'{label} {kind}'.strip())
            try:
                fn(t, path)
            except (OSError, ValueError) as e:
                t.fail(f'reading {path}: {e}')
            if t.total() == 0:
                t.fail(f'no results in {path}')
            exit_status(t, statuses.pop(t.label, 0))
            tallies.append(t)
    for label, status in statuses.items():
        t = Tally(label)
        t.fail(f'exit status {status} and no results file')
        tallies.append(t)
    for item in args.fail:
        label, reason = item.split('=', 1)
        t = Tally(label)
        t.fail(reason)
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
