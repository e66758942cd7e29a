#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The expected state of a dm-odx volume, computed without the kernel,
for query.sh.

A model is a JSON file {"size": bytes, "slab": bytes, "slabs": [mapped
slab numbers]}. Its rules are the spec's: a write maps every slab it
touches; a discard or trim releases the slabs wholly inside its range and
leaves partial ones mapped (zeroed).

  write-pattern DEV MODEL SLAB SEED N   N seeded random writes (4 KiB to
                                        1 MiB, O_DIRECT) and a few
                                        discards, from an empty volume
  trim-plan MODEL SEED N OUT            N ranges to trim (some overlapping,
                                        some partial slabs, a few empty)
  apply MODEL RANGES [COUNT] > MODEL2   the model after trimming the first
                                        COUNT ranges of RANGES
  ranges MODEL OFFSET LENGTH            the expected allocated ranges
  check-map MODEL MAPJSON OFF LEN       odxctl map --json of the range
                                        requested (OFF, LEN bytes; LEN
                                        'end': to the end) equals the model
  check-bitmap MODEL BITMAPJSON OFF LEN SHARED
                                        odxctl bitmap --json of the range
                                        requested equals it, with the
                                        seed's rules (delta, whole slabs,
                                        partial last slab); SHARED 1: it
                                        was asked for the shared slabs,
                                        which must be there, all clear
  used MODEL                            the number of mapped slabs
  snapshot DEV FILE                     copy DEV to a sparse FILE
  verify DEV BEFORE RANGES [COUNT]      DEV reads zeros in the first COUNT
                                        ranges and BEFORE everywhere else
"""
import fcntl
import json
import mmap
import os
import random
import struct
import sys

MIB = 1 << 20
BLKGETSIZE64 = 0x80081272
BLKDISCARD = 0x1277


def dev_size(fd):
    buf = fcntl.ioctl(fd, BLKGETSIZE64, b"\0" * 8)
    return struct.unpack("Q", buf)[0]


def load(path):
    with open(path) as f:
        m = json.load(f)
    m["slabs"] = set(m["slabs"])
    return m


def save(m, f):
    json.dump({"size": m["size"], "slab": m["slab"],
               "slabs": sorted(m["slabs"])}, f)
    f.write("\n")


def read_ranges(path, count=None):
    out = []
    with open(path) as f:
        for line in f:
            line = line.split("#")[0].split()
            if line:
                out.append((int(line[0]), int(line[1])))
    return out if count is None else out[:int(count)]


def release(m, off, length):
    """A discard/trim of [off, off + length): whole slabs inside go."""
    slab = m["slab"]
    first = -(-off // slab)
    end = (off + length) // slab
    for s in range(first, end):
        m["slabs"].discard(s)


def write_pattern(dev, model, slab, seed, n):
    slab, n = int(slab), int(n)
    rnd = random.Random(int(seed))
    fd = os.open(dev, os.O_RDWR | os.O_DIRECT)
    size = dev_size(fd)
    m = {"size": size, "slab": slab, "slabs": set()}
    buf = mmap.mmap(-1, MIB)
    ops = []
    for i in range(n):
        length = rnd.randrange(1, 257) * 4096
        off = rnd.randrange(0, (size - length) // 4096 + 1) * 4096
        ops.append(("w", off, length))
        if i % 40 == 39:
            # a discard of up to 4 MiB, 512-byte aligned, often partial
            dl = rnd.randrange(1, 8193) * 512
            do = rnd.randrange(0, (size - dl) // 512 + 1) * 512
            ops.append(("d", do, dl))
    for op, off, length in ops:
        if op == "w":
            buf.seek(0)
            buf.write(rnd.randbytes(length))
            done = os.pwritev(fd, [memoryview(buf)[:length]], off)
            assert done == length, (off, length, done)
            for s in range(off // slab, (off + length - 1) // slab + 1):
                m["slabs"].add(s)
        else:
            fcntl.ioctl(fd, BLKDISCARD, struct.pack("QQ", off, length))
            release(m, off, length)
    os.fsync(fd)
    os.close(fd)
    with open(model, "w") as f:
        save(m, f)
    print("# %d writes and %d discards, %d slabs mapped" %
          (n, len(ops) - n, len(m["slabs"])))


def trim_plan(model, seed, n, out):
    m = load(model)
    rnd = random.Random(int(seed))
    size, slab = m["size"], m["slab"]
    mapped = sorted(m["slabs"])
    ranges = []
    for i in range(int(n)):
        kind = i % 5
        if kind == 0 and ranges:
            # overlapping the previous one
            po, pl = ranges[-1]
            off = po + rnd.randrange(0, max(pl, 512) // 512) * 512
            length = rnd.randrange(1, 512) * 512
        elif kind == 1:
            # inside one mapped slab: partial, only zeroes
            s = rnd.choice(mapped) if mapped else 0
            off = s * slab + rnd.randrange(0, slab // 512 - 1) * 512
            length = rnd.randrange(1, (s + 1) * slab // 512 - off // 512 + 1) * 512
        elif kind == 2:
            # whole slabs from a mapped one, with a partial head and tail
            s = rnd.choice(mapped) if mapped else 0
            off = s * slab + rnd.choice([0, 512, 4096, slab // 2])
            length = rnd.randrange(1, 5) * slab + rnd.choice([0, 512, 8192])
        elif kind == 3 and i % 20 == 3:
            off, length = rnd.randrange(0, size // 512) * 512, 0
        else:
            length = rnd.randrange(1, 4096) * 512
            off = rnd.randrange(0, (size - length) // 512 + 1) * 512
        if off + length > size:
            length = (size - off) // 512 * 512
        ranges.append((off, length))
    with open(out, "w") as f:
        for off, length in ranges:
            f.write("%d %d\n" % (off, length))


def apply(model, rpath, count=None):
    m = load(model)
    for off, length in read_ranges(rpath, count):
        release(m, off, length)
    save(m, sys.stdout)


def expected_ranges(m, off, length):
    slab = m["slab"]
    out = []
    end = off + length
    for s in sorted(m["slabs"]):
        a, b = max(s * slab, off), min((s + 1) * slab, end, m["size"])
        if a >= b:
            continue
        if out and out[-1][0] + out[-1][1] == a:
            out[-1][1] += b - a
        else:
            out.append([a, b - a])
    return out


def requested(m, off, length):
    """The range asked for (never the one odxctl echoes back)."""
    off = int(off)
    return off, (max(m["size"] - off, 0) if length == "end" else int(length))


def check_echo(what, d, off, length):
    """odxctl's JSON names the range that was asked for."""
    if (d["offset"], d["length"]) == (off, length):
        return True
    print("# %s of %d+%d: the answer names %d+%d" %
          (what, off, length, d["offset"], d["length"]))
    return False


def check_map(model, mapjson, off, length):
    m = load(model)
    off, length = requested(m, off, length)
    with open(mapjson) as f:
        d = json.load(f)
    got = [[r["offset"], r["length"]] for r in d["ranges"]]
    want = expected_ranges(m, off, length)
    ok = got == want and d["count"] == len(want) and \
        d["allocated_bytes"] == sum(r[1] for r in want)
    ok = check_echo("map", d, off, length) and ok
    if not ok:
        print("# map of %d+%d: %d ranges, want %d" %
              (off, length, len(got), len(want)))
        for i, (g, w) in enumerate(zip(got + [None] * len(want),
                                       want + [None] * len(got))):
            if g != w:
                print("# first difference at %d: got %s, want %s" % (i, g, w))
                break
    return 0 if ok else 1


def check_bitmap(model, bmjson, off, length, shared):
    m = load(model)
    off, length = requested(m, off, length)
    with open(bmjson) as f:
        d = json.load(f)
    slab, size = m["slab"], m["size"]
    rem = off % slab
    delta = slab - rem if rem else 0
    if length <= delta:
        delta, first, nr = (0 if length == 0 else delta), 0, 0
    else:
        start = off + delta
        first = start // slab
        end = off + length
        nr = -(-(size - start) // slab) if end >= size else (end - start) // slab
    want_bits = "".join("1" if first + i in m["slabs"] else "0"
                        for i in range(nr))
    errs = [] if check_echo("bitmap", d, off, length) else \
        ["it names another range"]
    for key, want in (("slab_size", slab), ("offset_delta", delta),
                      ("bit_count", nr), ("bitmap_length", -(-nr // 32)),
                      ("mapped_slabs", want_bits.count("1"))):
        if d[key] != want:
            errs.append("%s %d, want %d" % (key, d[key], want))
    if d["bits"] != want_bits:
        i = next((i for i, (a, b) in enumerate(zip(d["bits"], want_bits))
                  if a != b), min(len(d["bits"]), len(want_bits)))
        errs.append("bits differ from slab %d" % (first + i))
    # the words are the bits: bit i is word i / 32, bit i % 32
    words = [0] * (-(-nr // 32))
    for i, c in enumerate(want_bits):
        if c == "1":
            words[i // 32] |= 1 << (i % 32)
    if d["bitmap"] != words:
        errs.append("bitmap words differ")
    if shared == "1":
        if any(k not in d for k in ("shared_bits", "shared_slabs",
                                    "shared_bitmap")):
            errs.append("no shared slabs in the answer, asked for them")
        elif (d["shared_bits"] != "0" * nr or d["shared_slabs"] != 0 or
              len(d["shared_bitmap"]) != len(words) or
              any(d["shared_bitmap"])):
            errs.append("shared slabs where nothing is shared")
    elif "shared_bits" in d:
        errs.append("shared slabs in the answer, not asked for")
    for e in errs:
        print("# bitmap of %d+%d: %s" % (off, length, e))
    return 1 if errs else 0


def used(model):
    print(len(load(model)["slabs"]))


def _reader(dev):
    fd = os.open(dev, os.O_RDONLY | os.O_DIRECT)
    size = dev_size(fd)
    buf = mmap.mmap(-1, MIB)

    def chunks():
        for off in range(0, size, MIB):
            n = os.preadv(fd, [buf], off)
            yield off, buf[:n]
        os.close(fd)
    return size, chunks()


def snapshot(dev, path):
    size, chunks = _reader(dev)
    zero = bytes(MIB)
    with open(path, "wb") as f:
        for off, data in chunks:
            if data != zero[:len(data)]:
                f.seek(off)
                f.write(data)
        f.truncate(size)


def verify(dev, before, rpath, count=None):
    ranges = sorted((o, o + l) for o, l in read_ranges(rpath, count) if l)
    size, chunks = _reader(dev)
    bad = 0
    with open(before, "rb") as f:
        for off, data in chunks:
            old = f.read(len(data))
            end = off + len(data)
            # the parts of this chunk inside some range must be zeros
            pos = off
            segs = []
            for a, b in ranges:
                if b <= off or a >= end:
                    continue
                segs.append((max(a, off), min(b, end)))
            segs.sort()
            merged = []
            for a, b in segs:
                if merged and a <= merged[-1][1]:
                    merged[-1][1] = max(merged[-1][1], b)
                else:
                    merged.append([a, b])
            for a, b in merged + [[end, end]]:
                if data[pos - off:a - off] != old[pos - off:a - off]:
                    bad += 1
                    if bad <= 3:
                        print("# data changed in %d..%d" % (pos, a))
                if data[a - off:b - off] != bytes(b - a):
                    bad += 1
                    if bad <= 3:
                        print("# not zeros in trimmed %d..%d" % (a, b))
                pos = b
    return 1 if bad else 0


def main():
    cmds = {"write-pattern": write_pattern, "trim-plan": trim_plan,
            "apply": apply, "check-map": check_map,
            "check-bitmap": check_bitmap, "used": used,
            "snapshot": snapshot, "verify": verify,
            "ranges": lambda m, o, l: print(json.dumps(
                expected_ranges(load(m), int(o), int(l))))}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        print(__doc__, file=sys.stderr)
        return 2
    return cmds[sys.argv[1]](*sys.argv[2:]) or 0


if __name__ == "__main__":
    sys.exit(main())
