#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Test-only: edit the metadata of an INACTIVE dm-odx volume on purpose.

    odx-corrupt.py META info                       key=value lines
    odx-corrupt.py META mapped                     "VSLAB PSLAB" per mapped slab
    odx-corrupt.py META get-map VSLAB
    odx-corrupt.py META get-refcount PSLAB
    odx-corrupt.py META set-map VSLAB PSLAB|unmapped [--stale-csum]
    odx-corrupt.py META set-refcount PSLAB COUNT     [--stale-csum]
    odx-corrupt.py META break-csum map VSLAB | refcount PSLAB | super
    odx-corrupt.py META set-needs-check [0|1]

The layout follows include/dm-odx-format.h (format v1): the superblock
in use is the valid slot with the higher transaction, and the refcount
and map blocks are found from it (the layout is checked to be the
canonical one, odx_layout_place()). An edit rewrites the block's crc32c
unless --stale-csum (break-csum flips a payload byte and keeps the old
checksum).

Journal: the kernel replays the committed transaction's journal over the
home blocks at activation, so an edit of a home block that the journal
also holds would be undone. The tool refuses that case (deactivate the
volume cleanly first: a clean close leaves an empty journal). The device
is opened O_EXCL (refused while a volume uses it) and read and written
with O_DIRECT (no stale page cache on either side).

Exit status: 0 done, 1 error (one line on stderr), 2 bad usage.
"""
import mmap
import os
import struct
import sys

BLOCK = 4096
SB_MAGIC = 0x000078646f2d6d64
VERSION = 1
T_SUPER, T_JOURNAL, T_REFCOUNT, T_MAP = 0x5358444f, 0x4a58444f, 0x5258444f, 0x4d58444f
NEEDS_CHECK = 1
UNMAPPED = 0xffffffff
HDR = 32
REFCOUNTS_PER_BLOCK = (BLOCK - HDR) // 2      # 2032
MAP_PER_BLOCK = (BLOCK - HDR) // 4            # 1016
JOURNAL_MAX = (BLOCK - 40) // 8               # 507
JOURNAL_SLOT_BLOCKS = 1 + JOURNAL_MAX         # 508
SB_SLOTS = 2
FIXED_BLOCKS = SB_SLOTS + 2 * JOURNAL_SLOT_BLOCKS   # 1018


class Fail(Exception):
    pass


def _table():
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ (0x82f63b78 if c & 1 else 0)
        t.append(c)
    return t


CRC_TABLE = _table()


def crc32c(crc, data):
    """Raw update, as the kernel's crc32c() (no inversions)."""
    t = CRC_TABLE
    for b in data:
        crc = t[(crc ^ b) & 0xff] ^ (crc >> 8)
    return crc


def block_csum(blk):
    """odx_block_csum(): crc32c of bytes 4..4095, seed and xor ~0."""
    return crc32c(0xffffffff, blk[4:BLOCK]) ^ 0xffffffff


def div_up(n, d):
    return (n + d - 1) // d


class Dev:
    def __init__(self, path, write):
        self.path = path
        flags = (os.O_RDWR if write else os.O_RDONLY) | os.O_EXCL | os.O_CLOEXEC
        try:
            try:
                self.fd = os.open(path, flags | os.O_DIRECT)
            except OSError as e:
                if e.errno != 22:   # EINVAL: a file without O_DIRECT
                    raise
                self.fd = os.open(path, flags)
        except OSError as e:
            if e.errno == 16:
                raise Fail(f"{path} is in use ({e.strerror}): "
                           "deactivate the volume first")
            raise Fail(f"cannot open {path}: {e.strerror}")
        self.buf = mmap.mmap(-1, BLOCK)     # page aligned, for O_DIRECT

    def read(self, nr):
        if os.preadv(self.fd, [self.buf], nr * BLOCK) != BLOCK:
            raise Fail(f"short read of block {nr}")
        return bytearray(self.buf[:])

    def write(self, nr, data):
        self.buf[:] = bytes(data)
        if os.pwritev(self.fd, [self.buf], nr * BLOCK) != BLOCK:
            raise Fail(f"short write of block {nr}")
        os.fsync(self.fd)
        if self.read(nr) != data:
            raise Fail(f"block {nr} reads back differently")


def header(blk):
    csum, typ, blocknr, txn, _ = struct.unpack_from("<IIQQQ", blk, 0)
    return csum, typ, blocknr, txn


def seal(blk):
    struct.pack_into("<I", blk, 0, block_csum(blk))


def decode_sb(blk, slot):
    """The fields we need, or None if the slot is not a valid superblock."""
    csum, typ, blocknr, txn = header(blk)
    if csum != block_csum(blk) or typ != T_SUPER or blocknr != slot:
        return None
    magic, version, flags = struct.unpack_from("<QII", blk, 32)
    if magic != SB_MAGIC or version != VERSION or txn & 1 != slot:
        return None
    slab_sectors, = struct.unpack_from("<I", blk, 60)
    data_slabs, virtual_sectors, used, shared, meta_blocks = \
        struct.unpack_from("<QQQQQ", blk, 80)
    journal_slot, journal_entries = struct.unpack_from("<II", blk, 120)
    (journal_start, jsb, jmax, rc_start, rc_blocks, map_start, map_blocks,
     max_data, max_virt) = struct.unpack_from("<QIIQQQQQQ", blk, 128)
    return dict(slot=slot, txn=txn, flags=flags, slab_sectors=slab_sectors,
                data_slabs=data_slabs, virtual_sectors=virtual_sectors,
                virtual_slabs=div_up(virtual_sectors, slab_sectors),
                used_slabs=used, shared_slabs=shared, meta_blocks=meta_blocks,
                journal_slot=journal_slot, journal_entries=journal_entries,
                journal_start=journal_start, journal_slot_blocks=jsb,
                journal_max_entries=jmax, refcount_start=rc_start,
                refcount_blocks=rc_blocks, map_start=map_start,
                map_blocks=map_blocks, max_data_slabs=max_data,
                max_virtual_slabs=max_virt)


class Volume:
    def __init__(self, path, write=False):
        self.dev = Dev(path, write)
        sbs = [decode_sb(self.dev.read(s), s) for s in range(SB_SLOTS)]
        valid = [s for s in sbs if s]
        if not valid:
            raise Fail(f"{path}: no valid superblock in either slot")
        if len(valid) == 2 and abs(valid[0]["txn"] - valid[1]["txn"]) != 1:
            raise Fail(f"{path}: superblock slots out of sequence")
        self.sb = max(valid, key=lambda s: s["txn"])
        sb = self.sb
        # odx_layout_place(): the one definition of where things are
        want = dict(journal_start=SB_SLOTS, journal_slot_blocks=JOURNAL_SLOT_BLOCKS,
                    journal_max_entries=JOURNAL_MAX, refcount_start=FIXED_BLOCKS,
                    refcount_blocks=div_up(sb["max_data_slabs"], REFCOUNTS_PER_BLOCK))
        want["map_start"] = want["refcount_start"] + want["refcount_blocks"]
        want["map_blocks"] = div_up(sb["max_virtual_slabs"], MAP_PER_BLOCK)
        for k, v in want.items():
            if sb[k] != v:
                raise Fail(f"{path}: superblock layout {k} is {sb[k]}, not {v}")
        self.journal_targets = self._journal()

    def _journal(self):
        """Home blocks the committed journal would replay (empty if none)."""
        sb = self.sb
        n = sb["journal_entries"]
        if not n:
            return set()
        start = sb["journal_start"] + (sb["txn"] & 1) * JOURNAL_SLOT_BLOCKS
        jh = self.dev.read(start)
        csum, typ, blocknr, txn = header(jh)
        if csum != block_csum(jh) or typ != T_JOURNAL or blocknr != start \
                or txn != sb["txn"]:
            raise Fail(f"journal of transaction {sb['txn']} at block {start} "
                       "is not valid: cannot tell what the kernel would replay")
        nr, = struct.unpack_from("<I", jh, 32)
        if nr != n:
            raise Fail(f"journal length {nr}, the superblock says {n}")
        return {struct.unpack_from("<I", jh, 40 + 8 * i)[0] for i in range(n)}

    def home_ok(self, nr):
        if nr in self.journal_targets:
            raise Fail(f"block {nr} has a newer copy in the journal of "
                       f"transaction {self.sb['txn']}, which the kernel replays "
                       "at activation: deactivate the volume cleanly first")

    def map_loc(self, v):
        if v >= self.sb["virtual_slabs"]:
            raise Fail(f"virtual slab {v} beyond the volume "
                       f"({self.sb['virtual_slabs']} slabs)")
        return self.sb["map_start"] + v // MAP_PER_BLOCK, HDR + 4 * (v % MAP_PER_BLOCK)

    def rc_loc(self, p):
        if p >= self.sb["data_slabs"]:
            raise Fail(f"slab {p} beyond the data device ({self.sb['data_slabs']} slabs)")
        return (self.sb["refcount_start"] + p // REFCOUNTS_PER_BLOCK,
                HDR + 2 * (p % REFCOUNTS_PER_BLOCK))

    def get(self, loc, fmt):
        return struct.unpack_from(fmt, self.dev.read(loc[0]), loc[1])[0]

    def edit(self, nr, fn, stale=False):
        self.home_ok(nr)
        blk = self.dev.read(nr)
        fn(blk)
        if not stale:
            seal(blk)
        self.dev.write(nr, blk)

    def mapped(self):
        sb = self.sb
        for b in range(div_up(sb["virtual_slabs"], MAP_PER_BLOCK)):
            blk = self.dev.read(sb["map_start"] + b)
            for i in range(MAP_PER_BLOCK):
                v = b * MAP_PER_BLOCK + i
                p, = struct.unpack_from("<I", blk, HDR + 4 * i)
                if v < sb["virtual_slabs"] and p != UNMAPPED:
                    yield v, p


def num(s):
    try:
        return int(s, 0)
    except ValueError:
        raise Fail(f"not a number: '{s}'")


def main(argv):
    stale = "--stale-csum" in argv
    args = [a for a in argv if a != "--stale-csum"]
    if len(args) < 2:
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        return 2
    path, cmd, rest = args[0], args[1], args[2:]
    write = cmd.startswith("set-") or cmd == "break-csum"
    vol = Volume(path, write)
    sb = vol.sb
    if cmd == "info" and not rest:
        for k in ("slot", "txn", "flags", "slab_sectors", "data_slabs",
                  "virtual_slabs", "used_slabs", "shared_slabs",
                  "journal_entries", "refcount_start", "map_start"):
            print(f"{k}={sb[k]}")
        print(f"needs_check={sb['flags'] & NEEDS_CHECK}")
    elif cmd == "mapped" and not rest:
        for v, p in vol.mapped():
            print(v, p)
    elif cmd == "get-map" and len(rest) == 1:
        p = vol.get(vol.map_loc(num(rest[0])), "<I")
        print("unmapped" if p == UNMAPPED else p)
    elif cmd == "get-refcount" and len(rest) == 1:
        print(vol.get(vol.rc_loc(num(rest[0])), "<H"))
    elif cmd == "set-map" and len(rest) == 2:
        nr, off = vol.map_loc(num(rest[0]))
        p = UNMAPPED if rest[1] == "unmapped" else num(rest[1])
        vol.edit(nr, lambda b: struct.pack_into("<I", b, off, p), stale)
    elif cmd == "set-refcount" and len(rest) == 2:
        nr, off = vol.rc_loc(num(rest[0]))
        vol.edit(nr, lambda b: struct.pack_into("<H", b, off, num(rest[1])), stale)
    elif cmd == "break-csum" and rest and rest[0] in ("map", "refcount", "super"):
        if rest[0] == "super":
            nr, off = sb["slot"], 2000
        elif len(rest) == 2:
            nr, off = (vol.map_loc if rest[0] == "map" else vol.rc_loc)(num(rest[1]))
        else:
            return main([])

        def flip(b):
            b[off] ^= 0x5a
        vol.edit(nr, flip, stale=True)
    elif cmd == "set-needs-check" and len(rest) <= 1:
        on = num(rest[0]) if rest else 1

        def flag(b):
            f, = struct.unpack_from("<I", b, 44)
            struct.pack_into("<I", b, 44, f | NEEDS_CHECK if on else f & ~NEEDS_CHECK)
        vol.edit(sb["slot"], flag, stale)
    else:
        return main([])
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except Fail as e:
        print(f"odx-corrupt: {e}", file=sys.stderr)
        sys.exit(1)
