#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Read and replay a dm-log-writes log; the model checker of crash.sh.

The log (drivers/md/dm-log-writes.c): a super at byte 0 (magic, version,
nr_entries, sectorsize), then nr_entries entries from byte sectorsize on,
each one sectorsize block of header {sector, nr_sectors, flags, data_len}
(little-endian u64s; a mark's name follows the header in the same block)
followed by nr_sectors * sectorsize bytes of data (none for a discard or
a mark). sector and nr_sectors count sectorsize units. Writes are logged
when a flush that covers them completes (FUA writes when they complete),
so a prefix of the log is what a disk with a volatile write cache could
hold after a power cut.

Entries are numbered from 1; "entry N" is the state after entries 1..N.

  replay-log.py list LOG
      one line per entry: number, flags, sector, sectors, mark name (after
      a first line "# N entries, sector size S, B bytes")
  replay-log.py marks LOG
      the marks and the flush/FUA entries only
  replay-log.py replay LOG TARGET (--entry N | --until-mark NAME) [--from M]
      apply entries M+1..N to TARGET (default M = 0: from the start; a
      larger M replays incrementally onto a TARGET that holds entry M);
      discards are applied as poison (see below); prints the entry reached
  replay-log.py poison TARGET --offset BYTES --length BYTES
      write the poison over a range of TARGET (crash.sh: the replay's
      data device before the replay, a data device of unknown content)
  replay-log.py points LOG --ops OPS [--random K] [--seed X] [--marks M]
      crash.sh's replay points, sorted: the mark of every durability
      operation of OPS (with --marks, M of them chosen with seed X: one of
      each kind first, the last one among them), and K more entries
      chosen with seed X: half at
      commit points (more just before than just after a superblock write:
      a 4 KiB FUA write to the first 8 KiB of the logged device, where
      crash.sh puts the metadata device), the others anywhere
  replay-log.py check LOG --ops OPS --entry N --dev DEV --map MAP
                      --data-slabs TOTAL
      read volume DEV (activated on the state after entry N; MAP: its
      "odxctl map --json", TOTAL: its data slabs) and check it against the
      workload OPS (see check_point() for the rules)

Poison: a discarded range reads back undefined (the block layer promises
no zeros after a discard; dm-odx must zero a slab it reuses), so the
replay writes the poison there, and the check reports any block that
reads it: a slab reused, or newly allocated on a poisoned data device,
without zeroing. Each 4 KiB block of it holds "odx-poison" lines.

OPS, written by crash.sh: one line per operation "OP KIND BLOCK COUNT",
operations numbered from 1 in the order they ran, KIND W (write), U (FUA
write), Z (discard, or write-zeroes that the volume serves), O (writes of
zeros: write-zeroes the kernel emulates), F (fsync), C (volume removed),
R (volume removed and created again), X (offload copy) or Y
(copy_file_range copy);
after operation OP completed the log got mark "opOP" (and "op0" once the
volume was created). Block B written by operation OP holds 64 lines of
"odx-crash blk=%08d op=%04d" padded to 63 characters and a newline.
"""
import argparse
import json
import mmap
import os
import random
import struct
import sys

MAGIC = 0x6a736677736872
FLUSH, FUA, DISCARD, MARK, METADATA = 1, 2, 4, 8, 16
FLAG_NAMES = ((FLUSH, "FLUSH"), (FUA, "FUA"), (DISCARD, "DISCARD"),
              (MARK, "MARK"), (METADATA, "META"))
HDR = struct.Struct("<QQQQ")

BLOCK = 4096
SLAB_BLOCKS = 16            # 64 KiB slabs (crash.sh)
SLAB_BYTES = SLAB_BLOCKS * BLOCK
CHUNK = 4 << 20
POISON_LINE = b"odx-poison: discarded or never zeroed".ljust(63) + b"\n"
POISON_BLOCK = POISON_LINE * (BLOCK // 64)
POISON_CHUNK = POISON_BLOCK * (CHUNK // BLOCK)


class Entry:
    __slots__ = ("nr", "sector", "nr_sectors", "flags", "mark", "data_off")

    def describe(self):
        f = "|".join(n for bit, n in FLAG_NAMES if self.flags & bit) or "-"
        s = "%d %s %d %d" % (self.nr, f, self.sector, self.nr_sectors)
        return s + (" " + self.mark if self.mark is not None else "")


class Log:
    def __init__(self, path):
        self.f = open(path, "rb")
        magic, version, nr, ss = struct.unpack("<QQQI", self.f.read(28))
        if magic != MAGIC:
            sys.exit("%s: not a dm-log-writes log (magic %#x)" % (path, magic))
        if version != 1:
            sys.exit("%s: log version %d, not 1" % (path, version))
        if ss < 512 or ss & (ss - 1):
            sys.exit("%s: bad sector size %d" % (path, ss))
        self.sectorsize = ss
        self.entries = []
        off = ss
        for i in range(1, nr + 1):
            self.f.seek(off)
            blk = self.f.read(ss)
            if len(blk) != ss:
                sys.exit("%s: entry %d beyond the end of the log" % (path, i))
            e = Entry()
            e.nr = i
            e.sector, e.nr_sectors, e.flags, dlen = HDR.unpack_from(blk)
            if e.flags & ~0x1f:
                sys.exit("%s: entry %d at byte %d: bad flags %#x"
                         % (path, i, off, e.flags))
            e.mark = None
            if e.flags & MARK:
                e.mark = blk[HDR.size:HDR.size + dlen].decode(errors="replace")
            e.data_off = off + ss
            off += ss
            if not e.flags & DISCARD:
                off += e.nr_sectors * ss
            self.entries.append(e)
        self.end = off

    def mark_entry(self, name):
        for e in self.entries:
            if e.mark == name:
                return e.nr
        return None

    def marks(self):
        return {e.mark: e.nr for e in self.entries if e.mark is not None}


def cmd_list(args, only_marks=False):
    log = Log(args.log)
    print("# %d entries, sector size %d, %d bytes" % (
        len(log.entries), log.sectorsize, log.end))
    for e in log.entries:
        if only_marks and not e.flags & (MARK | FLUSH | FUA):
            continue
        print(e.describe())


def cmd_replay(args):
    log = Log(args.log)
    if args.until_mark is not None:
        end = log.mark_entry(args.until_mark)
        if end is None:
            sys.exit("replay: no mark '%s' in the log" % args.until_mark)
    else:
        end = args.entry
    if end < 0 or end > len(log.entries):
        sys.exit("replay: entry %d: the log has %d" % (end, len(log.entries)))
    if args.start > end:
        sys.exit("replay: --from %d is past entry %d" % (args.start, end))
    ss = log.sectorsize
    fd = os.open(args.target, os.O_WRONLY)
    try:
        for e in log.entries[args.start:end]:
            if e.flags & MARK or not e.nr_sectors:
                continue
            pos, left = e.sector * ss, e.nr_sectors * ss
            if e.flags & DISCARD:
                poison(fd, pos, left)
                continue
            log.f.seek(e.data_off)
            while left:
                buf = log.f.read(min(left, CHUNK))
                if not buf:
                    sys.exit("replay: entry %d: log truncated" % e.nr)
                os.pwrite(fd, buf, pos)
                pos += len(buf)
                left -= len(buf)
        os.fsync(fd)
    finally:
        os.close(fd)
    print(end)


def poison(fd, pos, left):
    """Write the poison over [pos, pos + left) of fd (whole sectors)."""
    while left:
        # the pattern is block-periodic: keep it aligned to the device
        skip = pos % BLOCK
        n = min(left, CHUNK - skip)
        os.pwrite(fd, POISON_CHUNK[skip:skip + n], pos)
        pos += n
        left -= n


def cmd_poison(args):
    fd = os.open(args.target, os.O_WRONLY)
    try:
        poison(fd, args.offset, args.length)
        os.fsync(fd)
    finally:
        os.close(fd)


# --- the crash test's workload model -----------------------------------------

def read_ops(path):
    ops = []
    with open(path) as f:
        for line in f:
            f = line.split()
            # a copy (X: offload write, Y: copy_file_range) has a fifth
            # field: its source block; R: removed and created again
            op, kind, blk, count = f[:4]
            src = int(f[4]) if len(f) > 4 else -1
            ops.append((int(op), kind, int(blk), int(count), src))
    for i, o in enumerate(ops):
        if o[0] != i + 1 or o[1] not in "WUZOFCRXY" or \
                (o[1] in "XY") != (o[4] >= 0):
            sys.exit("%s: bad operation line %d: %s" % (path, i + 1, o))
    return ops


def op_marks(log, ops):
    """pos[j]: the entry of mark "op<j>" (after operation j completed)."""
    marks = log.marks()
    pos = []
    for j in range(len(ops) + 1):
        if "op%d" % j not in marks:
            sys.exit("the log has no mark op%d" % j)
        pos.append(marks["op%d" % j])
    return pos


def cmd_points(args):
    log = Log(args.log)
    ops = read_ops(args.ops)
    pos = op_marks(log, ops)
    ss = log.sectorsize
    points = {}
    for op, kind, _, _, _ in ops:
        if kind in "FUCX":
            points[pos[op]] = "mark op%d (after op %d: %s)" % (
                op, op, {"F": "fsync", "U": "FUA write",
                         "C": "volume removed", "X": "offload copy"}[kind])
    rng = random.Random(args.seed)
    if args.marks is not None and args.marks < len(points):
        # one of each kind (the last mark, the volume's removal, among
        # them), then any others
        by_kind = {}
        for n in sorted(points):
            by_kind.setdefault(points[n].split(": ")[1], []).append(n)
        keep = {max(points)}
        for kind in sorted(by_kind):
            if not keep & set(by_kind[kind]):
                keep.add(rng.choice(by_kind[kind]))
        rest = sorted(set(points) - keep)
        keep |= set(rng.sample(rest, max(0, min(len(rest),
                                                args.marks - len(keep)))))
        points = {n: points[n] for n in keep}
    # superblock writes: FUA, one 4 KiB block in the first 8 KiB
    sb = {e.nr for e in log.entries
          if e.flags & FUA and not e.flags & DISCARD and
          e.nr_sectors * ss == 4096 and e.sector * ss < 8192}
    before = sorted(s - 1 for s in sb if s > 1 and s - 1 not in points)
    after = sorted(s for s in sb if s not in points)
    labels = {}
    edges = (args.random + 1) // 2
    for n in rng.sample(before, min(len(before), (edges + 1) // 2)):
        labels[n] = "just before the superblock write at entry %d" % (n + 1)
    after = [n for n in after if n not in labels]
    for n in rng.sample(after, min(len(after), edges - len(labels))):
        labels[n] = "just after the superblock write at entry %d" % n
    rest = [n for n in range(1, len(log.entries) + 1)
            if n not in points and n not in labels]
    for n in rng.sample(rest, min(len(rest), args.random - len(labels))):
        labels[n] = "random entry"
    points.update(labels)
    for n in sorted(points):
        print(n, points[n])


def pattern(blk, op):
    line = ("odx-crash blk=%08d op=%04d" % (blk, op)).ljust(63) + "\n"
    return (line * (BLOCK // 64)).encode()


def describe_value(v):
    if not v:
        return "zeros"
    return "data of op %d%s" % (v[1], "" if v[0] < 0 else
                                " for block %d" % v[0])


MAP, UNMAP, UNKNOWN = "mapped", "unmapped", "either"


def map_effects(ops, last):
    """
    effects[slab]: [(op, effect)] in order, for the operations 1..last
    that change whether a virtual slab is mapped: a write (W, U, O) maps
    every slab it touches; a discard (Z) unmaps the whole slabs it covers
    (a partial one is zeroed in place and stays as it was); a copy (X, Y)
    maps a destination slab that gets data from a source slab mapped when
    it ran (a remap or a data copy), and leaves a slab it fills from
    unmapped source slabs either way (UNKNOWN). running[slab]: mapped
    after every operation so far (the live volume's view).
    """
    effects = {}
    running = {}
    for op, kind, blk, count, src in ops[:last]:
        first, end = blk // SLAB_BLOCKS, (blk + count - 1) // SLAB_BLOCKS + 1
        if kind in "WUO":
            for s in range(first, end):
                effects.setdefault(s, []).append((op, MAP))
                running[s] = MAP
        elif kind == "Z":
            for s in range(-(-blk // SLAB_BLOCKS), (blk + count) // SLAB_BLOCKS):
                effects.setdefault(s, []).append((op, UNMAP))
                running[s] = UNMAP
        elif kind in "XY":
            got = {}
            for i in range(count):
                d = (blk + i) // SLAB_BLOCKS
                got[d] = got.get(d, False) or \
                    running.get((src + i) // SLAB_BLOCKS) == MAP
            for d, m in got.items():
                e = MAP if m else UNKNOWN
                effects.setdefault(d, []).append((op, e))
                running[d] = e
    return effects


def check_point(log, ops, n, dev, mapped, total, out):
    """
    The rules for the state after entry N of the log. pos[j] is the entry
    of mark "op<j>".

     - Operation j may have reached the log by entry N iff j was started
       before entry N: pos[j - 1] < N (it started after mark op<j-1>).
     - Operation i is durable at N iff an fsync (F), the removal of the
       volume (C, R) or an offload copy j > i completed by N
       (pos[j] <= N), or i is itself a FUA write (U) or an offload copy
       (X) that completed by N: the flush or FUA was acknowledged.
     - An offload copy (X) ends with a flush: it and everything before it
       are durable once it completed. Each destination block gets the
       value its source block had when the copy ran (the workload runs one
       operation at a time, so that is the source's last value).
     - A copy_file_range() copy (Y) gets its values the same way but
       flushes nothing: like a write, it is durable after the next fsync.
     - Each 4 KiB block must hold exactly one of the values written to it
       (zeros for a discard, and before the first write): the value of its
       last durable operation (zeros if none), or the value of a later
       operation that may have reached the log. Anything else (an older
       value, another block's data, a torn block, the poison of a
       discarded or never zeroed slab) fails. A value is the (block,
       operation) its pattern names: a copied block names its source.
     - Mapped virtual slabs, as a set (MAP: odxctl map): a slab is mapped
       or not as its last durable operation left it (map_effects(); not
       mapped if none), or as a later operation that may have reached the
       log left it. A slab that must be mapped and is not, or must not be
       and is, fails: a lost mapping (even of a slab that reads zeros)
       and a leaked one do not cancel out. Every slab that reads non-zero
       is mapped, and no more slabs than TOTAL (the data slabs) are.
    """
    pos = op_marks(log, ops)
    started = [j for j in range(1, len(ops) + 1) if pos[j - 1] < n]
    last = started[-1] if started else 0
    fmax = max([j for j in range(1, len(ops) + 1)
                if ops[j - 1][1] in "FCRX" and pos[j] <= n], default=0)

    def durable(i):
        return i < fmax or (ops[i - 1][1] in "UX" and pos[i] <= n)

    # versions[blk]: [(op, value)] in order; value = (block, op) of the
    # pattern (W/U: its own), that of the source block (X), or 0 (Z/O)
    versions = {}
    for op, kind, blk, count, src in ops[:last]:
        if kind in "WUZO":
            for b in range(blk, blk + count):
                versions.setdefault(b, [(0, 0)]).append(
                    (op, (b, op) if kind in "WU" else 0))
        elif kind in "XY":
            vals = [versions.get(src + i, [(0, 0)])[-1][1]
                    for i in range(count)]
            for i, v in enumerate(vals):
                versions.setdefault(blk + i, [(0, 0)]).append((op, v))
    allowed = {}
    for b, vs in versions.items():
        d = max(k for k, (op, _) in enumerate(vs) if op == 0 or durable(op))
        allowed[b] = {v for _, v in vs[d:]}

    # may[slab]: the mapping states the slab may be in
    may = {}
    for s, evs in map_effects(ops, last).items():
        evs = [(0, UNMAP)] + evs
        d = max(k for k, (op, _) in enumerate(evs) if op == 0 or durable(op))
        st = {e for _, e in evs[d:]}
        may[s] = {MAP, UNMAP} if UNKNOWN in st else st

    per_chunk = CHUNK // BLOCK
    touched_chunks = {b // per_chunk for b in allowed}
    errors = []
    nonzero = set()
    fd = os.open(dev, os.O_RDONLY | os.O_DIRECT)
    size = os.lseek(fd, 0, os.SEEK_END)
    buf = mmap.mmap(-1, CHUNK)
    zero_chunk = bytes(CHUNK)
    zero_block = bytes(BLOCK)
    try:
        off = 0
        while off < size:
            n_read = os.preadv(fd, [buf], off)
            if n_read != CHUNK:
                errors.append("short read at byte %d" % off)
                break
            data = buf[:]
            first_blk = off // BLOCK
            nblk = per_chunk
            if off // CHUNK not in touched_chunks and data == zero_chunk:
                off += CHUNK
                continue
            for i in range(nblk):
                b = first_blk + i
                blk = data[i * BLOCK:(i + 1) * BLOCK]
                if blk == zero_block:
                    val = 0
                else:
                    nonzero.add(b // SLAB_BLOCKS)
                    if blk == POISON_BLOCK:
                        errors.append("block %d (slab %d): the poison (a "
                                      "discarded or never written block of "
                                      "the data device, not zeroed)"
                                      % (b, b // SLAB_BLOCKS))
                        continue
                    head = blk[:64].decode(errors="replace")
                    try:
                        hb = int(head[14:22])
                        val = int(head[26:30])
                    except ValueError:
                        hb, val = -1, -1
                    if hb < 0 or val <= 0 or blk != pattern(hb, val):
                        errors.append("block %d (slab %d): unexpected data "
                                      "%r..." % (b, b // SLAB_BLOCKS,
                                                 blk[:40]))
                        continue
                    val = (hb, val)
                ok = allowed.get(b, {0})
                if val not in ok:
                    errors.append(
                        "block %d (slab %d): %s, allowed %s" % (
                            b, b // SLAB_BLOCKS, describe_value(val),
                            ", ".join(describe_value(v) for v in
                                      sorted(ok, key=str))))
            off += CHUNK
    finally:
        os.close(fd)

    must = {s for s, st in may.items() if st == {MAP}}
    either = {s for s, st in may.items() if len(st) > 1}
    for s in sorted(must - mapped):
        errors.append("slab %d not mapped: its last durable operation "
                      "mapped it (a lost mapping)" % s)
    for s in sorted(mapped - must - either):
        errors.append("slab %d mapped: %s" % (
            s, "nothing mapped it" if s not in may else
            "its last durable operation unmapped it (a leaked mapping)"))
    for s in sorted(nonzero - mapped):
        errors.append("slab %d reads non-zero but is not mapped" % s)
    if len(mapped) > total:
        errors.append("mapped slabs %d above the %d data slabs"
                      % (len(mapped), total))
    out.append("entry %d: ops 1..%d started, durable through op %d%s; "
               "%d slabs mapped: %d must be, %d may be" % (
                   n, last, fmax, "" if not fmax else " (fsync/removal)",
                   len(mapped), len(must), len(either)))
    return errors


def read_map(path):
    """The virtual slabs of an 'odxctl map --json' (whole slabs only)."""
    with open(path) as f:
        d = json.load(f)
    slabs = set()
    for r in d["ranges"]:
        o, n = r["offset"], r["length"]
        if o % SLAB_BYTES or n % SLAB_BYTES or n <= 0:
            sys.exit("%s: range %d:%d is not whole slabs" % (path, o, n))
        slabs.update(range(o // SLAB_BYTES, (o + n) // SLAB_BYTES))
    if len(slabs) * SLAB_BYTES != d["allocated_bytes"]:
        sys.exit("%s: allocated_bytes %d, the ranges hold %d slabs"
                 % (path, d["allocated_bytes"], len(slabs)))
    return slabs


def cmd_check(args):
    log = Log(args.log)
    ops = read_ops(args.ops)
    mapped = read_map(args.map)
    out = []
    errors = check_point(log, ops, args.entry, args.dev, mapped,
                         args.data_slabs, out)
    for line in out:
        print("#", line)
    for line in errors[:12]:
        print("#   FAIL:", line)
    if len(errors) > 12:
        print("#   ... and %d more" % (len(errors) - 12))
    return 1 if errors else 0


def main():
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("list")
    s.add_argument("log")
    s = sub.add_parser("marks")
    s.add_argument("log")
    s = sub.add_parser("replay")
    s.add_argument("log")
    s.add_argument("target")
    g = s.add_mutually_exclusive_group(required=True)
    g.add_argument("--entry", type=int)
    g.add_argument("--until-mark")
    s.add_argument("--from", dest="start", type=int, default=0)
    s = sub.add_parser("points")
    s.add_argument("log")
    s.add_argument("--ops", required=True)
    s.add_argument("--random", type=int, default=12)
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--marks", type=int)
    s = sub.add_parser("check")
    s.add_argument("log")
    s.add_argument("--ops", required=True)
    s.add_argument("--entry", type=int, required=True)
    s.add_argument("--dev", required=True)
    s.add_argument("--map", required=True)
    s.add_argument("--data-slabs", type=int, required=True)
    s = sub.add_parser("poison")
    s.add_argument("target")
    s.add_argument("--offset", type=int, required=True)
    s.add_argument("--length", type=int, required=True)
    args = p.parse_args()
    if args.cmd == "list":
        return cmd_list(args)
    if args.cmd == "marks":
        return cmd_list(args, only_marks=True)
    if args.cmd == "replay":
        return cmd_replay(args)
    if args.cmd == "points":
        return cmd_points(args)
    if args.cmd == "poison":
        return cmd_poison(args)
    return cmd_check(args)


if __name__ == "__main__":
    sys.exit(main())
