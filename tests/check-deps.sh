#!/bin/bash
# Dependencies that cannot drift (run by make lint): every external
# command that the build, make check, make bench, make demo and make shell
# run must come from a package that make deps installs.
#
# The commands: every command word of the project's scripts (the first
# word of each simple command in tests/**/*.sh and the Makefile's
# recipes, after keywords, assignments and wrappers such as env, timeout,
# xargs), kept when it is an executable on PATH and not a shell builtin
# or a function of the scripts; plus EXTRA below, the commands run by
# programs that are not ours (the kernel's and kselftest's Makefiles,
# dkms, python's subprocess calls).
#
# A command is satisfied when the file it resolves to (symlinks and
# alternatives followed; /bin and /usr/bin both tried, for usrmerge) is
# owned, per dpkg -S, by a package in tests/deps.sh's list, by a package
# that those depend on (Depends and Pre-Depends, recursively, over the
# installed packages, taking the installed one of an alternative and the
# installed providers of a virtual package: what apt pulled in), or by an
# Essential or Priority: required package (present on every Debian
# system, debootstrap --variant=minbase included). Anything else fails,
# naming the command, where it is used and the package that owns it.
#
#   tests/check-deps.sh [--list]      (--list: print command -> package)
#   ODX_DEPS_DROP="rsync"             pretend these packages are not in
#                                     deps.sh's list (to see this fail)
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

# Commands run on our behalf by programs that are not ours, and where.
EXTRA="
rsync:tools/testing/selftests/Makefile(kselftest install)
gcc:kselftest C tests, kbuild
make:everything
bc:kernel build
bison:kernel build
flex:kernel build
perl:kernel build, checkpatch
pahole:kernel build (BTF)
cpio:kernel build (kheaders), initramfs
xz:kernel build, stock modules
gzip:initramfs
depmod:kernel build, dkms
dkms:tests/dkms-test.sh
gnuplot:tests/bench/bench.sh (chart)
qemu-img:tests/demo-guest.sh
sparse:make lint (C=2)
python3:ktap_summary.py, kunit.py
"

# shellcheck source=../kernel.env
. "$top/kernel.env"
# the package list, as deps.sh has it (names only)
pkgs=$(KERNEL_ABI=$KERNEL_ABI bash -c '
	set -e
	eval "$(sed -n "/^pkgs=(/,/^)/p" tests/deps.sh)"
	printf "%s\n" "${pkgs[@]}"' |
	sed 's/=.*//')
if [ -z "$pkgs" ]; then
	echo "check-deps: no package list found in tests/deps.sh" >&2
	exit 1
fi

files=$(ls tests/*.sh tests/vm/*.sh tests/bench/*.sh tests/kernel/*.sh \
	tests/selftests/*.sh tests/selftests/dm-odx/*.sh 2>/dev/null |
	grep -vx tests/deps.sh)

# shellcheck disable=SC2086
KERNEL_ABI=$KERNEL_ABI PKGS=$pkgs EXTRA=$EXTRA DROP=${ODX_DEPS_DROP:-} \
	LIST=${1:-} exec python3 - Makefile $files <<'EOF'
import os, re, shutil, subprocess, sys

files = sys.argv[1:]
builtins = set("""
. : [ [[ ]] alias bg bind break builtin caller case cd command compgen
complete continue declare dirs disown do done echo elif else enable esac
eval exec exit export false fc fg fi for function getopts hash help
history if in jobs kill let local logout mapfile popd printf pushd pwd
read readarray readonly return select set shift shopt source suspend
test then time times trap true type typeset ulimit umask unalias unset
until wait while { } ! coproc
""".split())
wrappers = {"env", "timeout", "xargs", "exec", "command", "nice",
            "ionice", "sudo", "setsid", "stdbuf", "nohup", "time",
            "chroot", "unshare"}
word_re = re.compile(r"[A-Za-z_][A-Za-z0-9_.+-]*$")

def functions(text):
    return set(re.findall(r"^\s*(?:function\s+)?([A-Za-z_][A-Za-z0-9_-]*)\s*\(\)",
                          text, re.M))

def strip_quoted(line):
    # drop the contents of quoted strings (messages), keep $( ... )
    out, q, i = [], None, 0
    while i < len(line):
        c = line[i]
        if q is None:
            if c in "'\"":
                q = c
            elif c == "#" and (i == 0 or line[i - 1] in " \t;|&("):
                break
            out.append(c)
        elif q == "'":
            if c == "'":
                q = None
                out.append(c)
        else:  # double quotes: keep command substitutions
            if c == "\\":
                i += 1
            elif c == '"':
                q = None
                out.append(c)
            elif line.startswith("$(", i):
                depth, j = 0, i
                while j < len(line):
                    if line.startswith("$(", j):
                        depth += 1
                        j += 1
                    elif line[j] == ")":
                        depth -= 1
                        if depth == 0:
                            break
                    j += 1
                out.append(" " + line[i:j + 1] + " ")
                i = j
        i += 1
    return "".join(out)

def commands(path):
    text = open(path, errors="replace").read()
    if os.path.basename(path) == "Makefile":
        lines = [l[1:] for l in text.splitlines() if l.startswith("\t")]
    else:
        # here-documents are data (the guest's init is busybox's business,
        # python programs are python)
        lines, heredoc = [], None
        for l in text.splitlines():
            if heredoc:
                if l.strip() == heredoc:
                    heredoc = None
                continue
            m = re.search(r"<<-?\s*'?\"?([A-Za-z_]+)'?\"?", l)
            if m:
                heredoc = m.group(1)
            lines.append(l)
    found = set()
    for l in lines:
        l = strip_quoted(l)
        for part in re.split(r"\|\||&&|[|;&`]|\$\(|\(|\)|\bthen\b|\bdo\b|\belse\b", l):
            toks = part.split()
            while toks:
                t = toks[0]
                if t in ("if", "elif", "while", "until", "!", "{", "}",
                         "time", "exec", "then", "do", "else", "[", "[["):
                    toks.pop(0)
                elif re.match(r"^[A-Za-z_][A-Za-z0-9_]*(\[.*\])?\+?=", t):
                    toks.pop(0)       # VAR=value
                elif t in wrappers and len(toks) > 1:
                    found.add(toks.pop(0))
                    while toks and (toks[0].startswith("-") or
                                    re.match(r"^[0-9.]+[smh]?$", toks[0]) or
                                    "=" in toks[0]):
                        toks.pop(0)
                else:
                    break
            if toks:
                t = toks[0].strip("\"'")
                if t.startswith("$") or t.startswith("-"):
                    continue
                found.add(os.path.basename(t) if t.startswith("/") else t)
    return found, functions(text)

where, funcs = {}, set()
for f in files:
    cmds, fn = commands(f)
    lib = os.path.join(os.path.dirname(f), "lib.sh")
    if os.path.exists(lib):
        fn |= commands(lib)[1]
    for c in cmds - fn:
        where.setdefault(c, set()).add(f)
extra = set()
for item in os.environ["EXTRA"].split("\n"):
    if item.strip():
        c, w = item.split(":", 1)
        extra.add(c)
        where.setdefault(c, set()).add(w)

path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
cmds = {}
for c in sorted(where):
    if c in builtins or c in funcs or not word_re.match(c):
        continue
    p = shutil.which(c, path=path)
    if p is None:
        # a word of a script that is no command here is taken for
        # none (a local program, a word the scan misread); EXTRA's must be
        if c in extra:
            cmds[c] = None
        continue
    cmds[c] = p

# packages: the list, what they depend on (installed), Essential/required
st = subprocess.run(["dpkg-query", "-W", "-f",
                     "${Package}\t${db:Status-Abbrev}\t${Essential}\t${Priority}\t"
                     "${Depends}\t${Pre-Depends}\t${Provides}\n"],
                    capture_output=True, text=True).stdout
inst, deps, prov, base = set(), {}, {}, set()
for line in st.splitlines():
    f = line.split("\t")
    if len(f) < 7 or not f[1].startswith("ii"):
        continue
    name = f[0]
    inst.add(name)
    deps[name] = [d for d in (f[4] + "," + f[5]).split(",") if d.strip()]
    for p in f[6].split(","):
        p = p.strip().split(" ")[0]
        if p:
            prov.setdefault(p, set()).add(name)
    if f[2] == "yes" or f[3] == "required":
        base.add(name)

def resolve(alt):
    for a in alt.split("|"):
        n = a.strip().split(" ")[0].split(":")[0]
        if n in inst:
            return {n}
        if n in prov:
            return prov[n]
    return set()

drop = set(os.environ["DROP"].split())
listed = [p for p in os.environ["PKGS"].split() if p not in drop]
closure, todo = set(), [p for p in listed] + sorted(base)
while todo:
    p = todo.pop()
    if p in closure or p not in inst:
        continue
    closure.add(p)
    for d in deps.get(p, []):
        todo.extend(resolve(d) - closure)
for p in listed:
    if p not in inst:
        print(f"check-deps: package {p} of tests/deps.sh is not installed: run 'make deps'")

def variants(p):
    cands = [p, os.path.realpath(p)]
    for c in list(cands):
        cands.append(c[4:] if c.startswith("/usr/") else "/usr" + c)
    return cands

allc = sorted({v for p in cmds.values() if p for v in variants(p)})
owners = {}
r = subprocess.run(["dpkg", "-S"] + allc, capture_output=True, text=True)
for line in r.stdout.splitlines():
    if line.startswith("diversion") or ": " not in line:
        continue
    pk, f = line.rsplit(": ", 1)
    owners.setdefault(f, set()).update(x.strip().split(":")[0] for x in pk.split(","))

def owner(p):
    own = set()
    for c in variants(p):
        own |= owners.get(c, set())
    return sorted(own)

bad = 0
for c, p in sorted(cmds.items()):
    used = ", ".join(sorted(where[c]))
    if p is None:
        print(f"check-deps: {c}: not installed (used in {used}): add its package to tests/deps.sh")
        bad += 1
        continue
    own = owner(p)
    ok = [o for o in own if o in closure]
    if os.environ["LIST"] == "--list":
        print(f"{c:20} {p:34} {','.join(own) or '?':24} {'ok' if ok else 'MISSING'}")
    if not ok:
        why = (f"owned by {', '.join(own)}, which tests/deps.sh does not install"
               if own else "owned by no package (installed by hand?)")
        print(f"check-deps: {c} ({p}): {why} (used in {used})")
        bad += 1
print(f"check-deps: {len(cmds)} commands, {len(listed)} listed packages "
      f"({len(closure)} with their dependencies and the base system): "
      + ("all provided" if not bad else f"{bad} not provided"))
sys.exit(1 if bad else 0)
EOF
