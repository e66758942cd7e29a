/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dm-odx: the on-disk metadata format, version 1.
 *
 * This one header is shared by the kernel module and by the userspace
 * checker (odxctl check). It builds in the kernel and in userspace C
 * (-Iinclude -Iinclude/uapi); the small shim below supplies the kernel's
 * endian helpers to userspace.
 *
 * Blocks
 * ------
 * The metadata device is read and written through dm-bufio in 4 KiB
 * blocks. All fields are little-endian and fixed-width; structures have
 * explicit padding only (sizes and offsets are checked below). Every block
 * starts with struct odx_block_header:
 *
 *   csum     crc32c of bytes 4..4095 of the block (everything but itself),
 *            see odx_block_csum()
 *   type     what the block is (ODX_BLOCK_*, four ASCII letters)
 *   blocknr  where the block lives, so a misdirected write is caught
 *   txn_id   the transaction that wrote it; never above the superblock's
 *
 * The checksum is set when a block is prepared for writing and verified
 * whenever a block is read (odx_block_prepare(), odx_block_check()). A
 * block that fails is never used: the volume goes read-only and the
 * superblock gets ODX_SB_NEEDS_CHECK.
 *
 * Layout (block numbers, v1; odx_layout_place() is the one definition)
 * --------------------------------------------------------------------
 *   0, 1            superblock slots A and B (struct odx_superblock)
 *   2 .. 1017       journal slots 0 and 1, 508 blocks each: one header
 *                   (struct odx_journal_header) and 507 payload blocks
 *   refcount_start  reference counts, one __le16 per physical slab,
 *                   2032 per block (struct odx_refcount_block)
 *   map_start       slab map, one __le32 per virtual slab, 1016 per
 *                   block (struct odx_map_block); ODX_UNMAPPED = unmapped
 *   end ..          unused
 *
 * A reference count of 0 means the physical slab is free; free space is
 * derived from the counts, with no bitmap to keep consistent. 16 bits,
 * not 8: an offload copy shares slabs, and copying one image to a few
 * hundred volumes is ordinary; 8 bits would stop sharing at 255 for a
 * saving of 1/3 of the metadata (the map dominates). A count at
 * ODX_REFCOUNT_MAX takes no further reference: that copy is done by
 * copying data instead. The superblock keeps the used and shared slab
 * counts for the status line; the checker recomputes them.
 *
 * Sizes. The layout is fixed at format time for a maximum data size and a
 * maximum virtual size, which the superblock records; the data device and
 * the virtual size may grow up to those maxima on reload (blocks newly
 * covered are initialised and flushed before the superblock that records
 * the new size is committed). odx_layout_compute() derives the maxima
 * from the metadata device size: the data size first grows to the virtual
 * size (a volume can then be backed fully), what is left is shared so
 * that both grow by the same factor. Shrinking is refused. A volume of V
 * virtual slabs on a data device of D slabs needs
 *
 *   1018 + ceil(D / 2032) + ceil(V / 1016) blocks of 4 KiB,
 *
 * about 6 bytes per slab plus 4 MiB (97 MiB per TiB at 64 KiB slabs, 6 MiB
 * per TiB at 1 MiB slabs): 16 TiB virtual at 64 KiB slabs (V = D = 2^28)
 * needs 397332 blocks (1552 MiB), or 265228 blocks (1036 MiB) on a
 * one-slab data device.
 * At most ODX_MAX_SLABS slabs on either side (so that a slab number fits
 * a map entry), which bounds the useful metadata device at about 24 GiB.
 *
 * Commit protocol: a redo journal of whole blocks, with two superblock
 * slots and two journal slots used alternately
 * ---------------------------------------------------------------------
 * Transaction T uses superblock slot T & 1 (block T & 1) and journal slot
 * T & 1. Changes of the open transaction are staged outside dm-bufio:
 * bufio may write a dirty buffer back at any moment, so no home block is
 * changed in a bufio buffer before the superblock that commits it is on
 * the disk. Commit of T:
 *
 *  1. Wait for the writes of the data that T maps (newly allocated slabs,
 *     their zeroing, copy-on-write copies) and for the home writes of
 *     T - 1 (step 5 of the previous commit) to complete.
 *  2. Prepare each dirty block with txn_id T and its home block number,
 *     and write it to journal slot T & 1 (payload i at header + 1 + i),
 *     then the journal header: txn_id T and, for each payload, its home
 *     block and checksum, sorted by home block.
 *  3. Flush the data device.
 *  4. Write the superblock (txn_id T, journal_slot T & 1, journal_entries
 *     N) to its slot with REQ_PREFLUSH | REQ_FUA: the preflush makes the
 *     journal and T - 1's home writes durable, the FUA makes this the
 *     commit point. Every flush waiting for T completes now.
 *  5. Copy the blocks into their home locations (through bufio; written
 *     back asynchronously, made durable by step 4 of the next commit).
 *
 * Recovery: read both superblock slots and take the valid one with the
 * higher txn_id (odx_sb_select()); replay its journal, if it has one: check
 * the header and each payload against it, write each payload home, flush.
 * Replay is idempotent, and a crash during it just replays again. Why it
 * holds: the journal of the committed T is complete before its superblock
 * is written (step 4 preflush); the journal of T + 1 goes to the other
 * slot, so it never overwrites T's while T may still be replayed; T's home
 * blocks are durable before the superblock of T + 1 (steps 1 and 4). A
 * torn superblock write fails its checksum and recovery falls back to the
 * other slot, i.e. to T - 1, whose journal slot T has not touched; T was
 * not acknowledged, as no flush completes before step 4 does.
 *
 * Bound: one transaction journals at most ODX_JOURNAL_MAX_ENTRIES (507)
 * distinct blocks, as many as one header block lists. Before an operation
 * dirties blocks it reserves room for the blocks it may newly dirty (an
 * allocation: one map block and one refcount block); if the transaction
 * cannot take them, the metadata layer commits first (a commit like any
 * other, waiting for the data) and the operation goes into the next
 * transaction. Operations that touch many blocks (discard of a large
 * range, offload copy) are cut into steps that each fit and each leave
 * the metadata consistent. The superblock itself is not journaled.
 *
 * Allocator rule the protocol relies on: a slab freed in transaction T
 * is not handed out again before T is committed, or a crash could leave
 * the old mapping pointing at another volume range's new data.
 *
 * Versions: ODX_FORMAT_VERSION changes only for an incompatible layout.
 * Additions use the feature masks: unknown compat features are ignored,
 * unknown ro_compat features allow read-only activation only, unknown
 * incompat features refuse activation. Reserved bytes must be zero.
 *
 * Checksums: odx_block_csum() takes the crc32c function as a parameter,
 * the raw CRC-32C update with the kernel's crc32c() signature (no pre- or
 * post-inversion: crc32c(~0, "123456789", 9) ^ ~0 == 0xe3069283). The
 * kernel passes crc32c() from <linux/crc32c.h>; the checker passes its
 * own table-driven one.
 */
#ifndef DM_ODX_FORMAT_H
#define DM_ODX_FORMAT_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/errno.h>
#include <linux/stddef.h>
#include <linux/build_bug.h>
#include <linux/math64.h>
#include <asm/byteorder.h>
#define odx_div_u64(n, d) div64_u64(n, d)
#else
#include <linux/types.h>
#include <assert.h>
#include <errno.h>
#include <stddef.h>
#ifndef static_assert
#define static_assert _Static_assert
#endif
#ifndef le16_to_cpu
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define le16_to_cpu(x) ((__u16)(x))
#define le32_to_cpu(x) ((__u32)(x))
#define le64_to_cpu(x) ((__u64)(x))
#else
#define le16_to_cpu(x) __builtin_bswap16(x)
#define le32_to_cpu(x) __builtin_bswap32(x)
#define le64_to_cpu(x) __builtin_bswap64(x)
#endif
#define cpu_to_le16(x) le16_to_cpu(x)
#define cpu_to_le32(x) le32_to_cpu(x)
#define cpu_to_le64(x) le64_to_cpu(x)
#endif
#define odx_div_u64(n, d) ((n) / (d))
#endif

#define ODX_BLOCK_SIZE		4096U
#define ODX_BLOCK_SHIFT		12
#define ODX_SECTORS_PER_BLOCK	(ODX_BLOCK_SIZE >> 9)

#define ODX_FORMAT_VERSION	1U
/* "dm-odx\0\0" */
#define ODX_SB_MAGIC		0x000078646f2d6d64ULL

/* Block types: "ODXS", "ODXJ", "ODXR", "ODXM" as bytes on disk */
#define ODX_BLOCK_SUPER		0x5358444fU
#define ODX_BLOCK_JOURNAL	0x4a58444fU
#define ODX_BLOCK_REFCOUNT	0x5258444fU
#define ODX_BLOCK_MAP		0x4d58444fU

/* Superblock flags */
#define ODX_SB_NEEDS_CHECK	(1U << 0)
#define ODX_SB_KNOWN_FLAGS	ODX_SB_NEEDS_CHECK

/* Feature masks known to this version (none yet) */
#define ODX_COMPAT_KNOWN	0U
#define ODX_RO_COMPAT_KNOWN	0U
#define ODX_INCOMPAT_KNOWN	0U

/* Slab size bounds, as in the table line (64 KiB .. 1 GiB) */
#define ODX_FMT_MIN_SLAB_SECTORS	128U
#define ODX_FMT_MAX_SLAB_SECTORS	2097152U

/*
 * Slab counts on either side: physical slab numbers are 0 ..
 * ODX_MAX_SLABS - 1, so that ODX_UNMAPPED is never one.
 */
#define ODX_MAX_SLABS		0xffffffffULL
#define ODX_UNMAPPED		0xffffffffU
#define ODX_REFCOUNT_MAX	0xffffU

/* ---- common block header ---------------------------------------------- */

struct odx_block_header {
	__le32 csum;		/* crc32c of bytes 4 .. ODX_BLOCK_SIZE - 1 */
	__le32 type;		/* ODX_BLOCK_* */
	__le64 blocknr;		/* this block's own location */
	__le64 txn_id;		/* transaction that wrote it */
	__le64 reserved;	/* zero */
};

#define ODX_CSUM_START		4U

static_assert(sizeof(struct odx_block_header) == 32, "block header size");
static_assert(offsetof(struct odx_block_header, csum) == 0,
	      "csum comes first, outside the checksummed range");
static_assert(offsetof(struct odx_block_header, type) == ODX_CSUM_START,
	      "everything after csum is checksummed");
static_assert(offsetof(struct odx_block_header, txn_id) == 16,
	      "block header txn_id");

/* ---- superblock ----------------------------------------------------------- */

#define ODX_SB_SLOTS		2U

struct odx_disk_layout {
	__le64 journal_start;		/* journal slot 0 header */
	__le32 journal_slot_blocks;	/* ODX_JOURNAL_SLOT_BLOCKS */
	__le32 journal_max_entries;	/* ODX_JOURNAL_MAX_ENTRIES */
	__le64 refcount_start;
	__le64 refcount_blocks;
	__le64 map_start;
	__le64 map_blocks;
	__le64 max_data_slabs;		/* what the refcount area can hold */
	__le64 max_virtual_slabs;	/* what the map area can hold */
};

static_assert(sizeof(struct odx_disk_layout) == 64, "disk layout size");

struct odx_superblock {
	struct odx_block_header hdr;	/* blocknr: the slot, txn_id & 1 */
	__le64 magic;			/* ODX_SB_MAGIC */
	__le32 version;			/* ODX_FORMAT_VERSION */
	__le32 flags;			/* ODX_SB_* */
	__le32 compat;
	__le32 ro_compat;
	__le32 incompat;
	__le32 slab_sectors;
	__u8 uuid[16];
	__le64 data_slabs;		/* slabs of the data device in use */
	__le64 virtual_sectors;		/* the table length */
	__le64 used_slabs;		/* physical slabs with refcount > 0 */
	__le64 shared_slabs;		/* physical slabs with refcount > 1 */
	__le64 meta_blocks;		/* metadata device size at format */
	__le32 journal_slot;		/* txn_id & 1 */
	__le32 journal_entries;		/* blocks in that slot to replay */
	struct odx_disk_layout layout;
	__u8 reserved[ODX_BLOCK_SIZE - 192];	/* zero */
};

static_assert(sizeof(struct odx_superblock) == ODX_BLOCK_SIZE,
	      "superblock size");
static_assert(offsetof(struct odx_superblock, magic) == 32, "sb magic");
static_assert(offsetof(struct odx_superblock, uuid) == 64, "sb uuid");
static_assert(offsetof(struct odx_superblock, data_slabs) == 80,
	      "sb data_slabs");
static_assert(offsetof(struct odx_superblock, journal_slot) == 120,
	      "sb journal descriptor");
static_assert(offsetof(struct odx_superblock, layout) == 128, "sb layout");
static_assert(offsetof(struct odx_superblock, reserved) == 192,
	      "sb reserved");

/* ---- journal ---------------------------------------------------------------- */

struct odx_journal_entry {
	__le32 target;		/* home block of the payload */
	__le32 csum;		/* the payload's header csum */
};

#define ODX_JOURNAL_MAX_ENTRIES \
	((ODX_BLOCK_SIZE - 40U) / sizeof(struct odx_journal_entry))
#define ODX_JOURNAL_SLOT_BLOCKS	(1U + ODX_JOURNAL_MAX_ENTRIES)
#define ODX_JOURNAL_SLOTS	2U

struct odx_journal_header {
	struct odx_block_header hdr;	/* blocknr: slot start, txn_id: T */
	__le32 nr_entries;
	__le32 reserved;		/* zero */
	/* sorted by target, strictly ascending; the rest zero */
	struct odx_journal_entry entries[ODX_JOURNAL_MAX_ENTRIES];
};

static_assert(sizeof(struct odx_journal_entry) == 8, "journal entry size");
static_assert(ODX_JOURNAL_MAX_ENTRIES == 507, "journal entries per txn");
static_assert(sizeof(struct odx_journal_header) == ODX_BLOCK_SIZE,
	      "journal header size");
static_assert(offsetof(struct odx_journal_header, entries) == 40,
	      "journal entries offset");

/* ---- reference counts and slab map ------------------------------------------ */

#define ODX_REFCOUNTS_PER_BLOCK \
	((ODX_BLOCK_SIZE - sizeof(struct odx_block_header)) / sizeof(__le16))
#define ODX_MAP_ENTRIES_PER_BLOCK \
	((ODX_BLOCK_SIZE - sizeof(struct odx_block_header)) / sizeof(__le32))

struct odx_refcount_block {
	struct odx_block_header hdr;
	__le16 counts[ODX_REFCOUNTS_PER_BLOCK];	/* by physical slab */
};

struct odx_map_block {
	struct odx_block_header hdr;
	__le32 entries[ODX_MAP_ENTRIES_PER_BLOCK];	/* by virtual slab */
};

static_assert(ODX_REFCOUNTS_PER_BLOCK == 2032, "refcounts per block");
static_assert(ODX_MAP_ENTRIES_PER_BLOCK == 1016, "map entries per block");
static_assert(sizeof(struct odx_refcount_block) == ODX_BLOCK_SIZE,
	      "refcount block size");
static_assert(sizeof(struct odx_map_block) == ODX_BLOCK_SIZE,
	      "map block size");
static_assert(offsetof(struct odx_map_block, entries) == 32,
	      "map entries offset");

/* ---- layout ----------------------------------------------------------------- */

#define ODX_JOURNAL_START	ODX_SB_SLOTS
#define ODX_FIXED_BLOCKS \
	(ODX_JOURNAL_START + ODX_JOURNAL_SLOTS * ODX_JOURNAL_SLOT_BLOCKS)

static_assert(ODX_FIXED_BLOCKS == 1018, "superblocks and journal");

/* The layout in CPU byte order. */
struct odx_layout {
	__u64 meta_blocks;		/* metadata device size at format */
	__u64 max_data_slabs;
	__u64 max_virtual_slabs;
	__u64 journal_start;
	__u64 refcount_start, refcount_blocks;
	__u64 map_start, map_blocks;
};

static inline __u64 odx_div_up(__u64 n, __u64 d)
{
	__u64 q = odx_div_u64(n, d);

	return q + (q * d != n);
}

static inline __u64 odx_min_u64(__u64 a, __u64 b)
{
	return a < b ? a : b;
}

/* Refcount blocks holding @data_slabs slabs. */
static inline __u64 odx_refcount_blocks_for(__u64 data_slabs)
{
	return odx_div_up(data_slabs, ODX_REFCOUNTS_PER_BLOCK);
}

/* Map blocks holding @virtual_slabs slabs. */
static inline __u64 odx_map_blocks_for(__u64 virtual_slabs)
{
	return odx_div_up(virtual_slabs, ODX_MAP_ENTRIES_PER_BLOCK);
}

/* Where the refcount of physical slab @pslab lives. */
static inline __u64 odx_refcount_block_of(const struct odx_layout *l,
					  __u64 pslab, unsigned int *index)
{
	__u64 b = odx_div_u64(pslab, ODX_REFCOUNTS_PER_BLOCK);

	*index = pslab - b * ODX_REFCOUNTS_PER_BLOCK;
	return l->refcount_start + b;
}

/* Where the map entry of virtual slab @vslab lives. */
static inline __u64 odx_map_block_of(const struct odx_layout *l, __u64 vslab,
				     unsigned int *index)
{
	__u64 b = odx_div_u64(vslab, ODX_MAP_ENTRIES_PER_BLOCK);

	*index = vslab - b * ODX_MAP_ENTRIES_PER_BLOCK;
	return l->map_start + b;
}

/* First block of journal slot @slot (its header). */
static inline __u64 odx_journal_slot_start(const struct odx_layout *l,
					   unsigned int slot)
{
	return l->journal_start + (__u64)slot * ODX_JOURNAL_SLOT_BLOCKS;
}

/* First block after the layout. */
static inline __u64 odx_layout_end(const struct odx_layout *l)
{
	return l->map_start + l->map_blocks;
}

/* Blocks in use for a volume of these sizes (status: used metadata). */
static inline __u64 odx_meta_used_blocks(__u64 data_slabs,
					 __u64 virtual_slabs)
{
	return ODX_FIXED_BLOCKS + odx_refcount_blocks_for(data_slabs) +
	       odx_map_blocks_for(virtual_slabs);
}

/*
 * The canonical v1 placement for these maxima; @l->meta_blocks is left
 * alone. The only definition of where things are.
 */
static inline void odx_layout_place(struct odx_layout *l,
				    __u64 max_data_slabs,
				    __u64 max_virtual_slabs)
{
	l->max_data_slabs = max_data_slabs;
	l->max_virtual_slabs = max_virtual_slabs;
	l->journal_start = ODX_JOURNAL_START;
	l->refcount_start = ODX_FIXED_BLOCKS;
	l->refcount_blocks = odx_refcount_blocks_for(max_data_slabs);
	l->map_start = l->refcount_start + l->refcount_blocks;
	l->map_blocks = odx_map_blocks_for(max_virtual_slabs);
}

/*
 * Format time: the layout for a metadata device of @meta_blocks blocks, a
 * data device of @data_slabs and a virtual size of @virtual_slabs. The
 * spare space raises the maxima (see the top of this file). Returns 0,
 * -EINVAL for a size of 0 or above ODX_MAX_SLABS, or -ENOSPC if the
 * device is too small; @min_blocks (may be NULL) gets the minimum size
 * in every case but -EINVAL.
 */
static inline int odx_layout_compute(__u64 meta_blocks, __u64 data_slabs,
				     __u64 virtual_slabs,
				     struct odx_layout *l, __u64 *min_blocks)
{
	const __u64 rc_cap = odx_refcount_blocks_for(ODX_MAX_SLABS);
	const __u64 map_cap = odx_map_blocks_for(ODX_MAX_SLABS);
	__u64 rc, map, need, spare, grow;

	if (!data_slabs || data_slabs > ODX_MAX_SLABS ||
	    !virtual_slabs || virtual_slabs > ODX_MAX_SLABS)
		return -EINVAL;
	rc = odx_refcount_blocks_for(data_slabs);
	map = odx_map_blocks_for(virtual_slabs);
	need = ODX_FIXED_BLOCKS + rc + map;
	if (min_blocks)
		*min_blocks = need;
	if (meta_blocks < need)
		return -ENOSPC;
	/* never more than both areas at their caps: bounds the products */
	spare = odx_min_u64(meta_blocks - need, rc_cap - rc + map_cap - map);

	/* first the data device may grow to the virtual size */
	if (virtual_slabs > data_slabs) {
		grow = odx_min_u64(spare,
				   odx_refcount_blocks_for(virtual_slabs) - rc);
		rc += grow;
		spare -= grow;
	}
	/* then both grow by the same factor */
	grow = odx_div_u64(spare * rc, rc + map);
	rc += grow;
	map += spare - grow;
	/* and what one side cannot use goes to the other */
	if (rc > rc_cap) {
		map += rc - rc_cap;
		rc = rc_cap;
	}
	if (map > map_cap) {
		rc = odx_min_u64(rc + map - map_cap, rc_cap);
		map = map_cap;
	}

	l->meta_blocks = meta_blocks;
	odx_layout_place(l,
			 odx_min_u64(rc * ODX_REFCOUNTS_PER_BLOCK,
				     ODX_MAX_SLABS),
			 odx_min_u64(map * ODX_MAP_ENTRIES_PER_BLOCK,
				     ODX_MAX_SLABS));
	return 0;
}

/*
 * The inverse: is @l (from a superblock) the canonical layout for its own
 * maxima, and does it fit a metadata device of @dev_blocks blocks?
 */
static inline int odx_layout_validate(const struct odx_layout *l,
				      __u64 dev_blocks, const char **err)
{
	struct odx_layout want = { .meta_blocks = l->meta_blocks };

	if (!l->max_data_slabs || l->max_data_slabs > ODX_MAX_SLABS ||
	    !l->max_virtual_slabs || l->max_virtual_slabs > ODX_MAX_SLABS) {
		*err = "layout maxima out of range";
		return -EINVAL;
	}
	odx_layout_place(&want, l->max_data_slabs, l->max_virtual_slabs);
	if (want.journal_start != l->journal_start ||
	    want.refcount_start != l->refcount_start ||
	    want.refcount_blocks != l->refcount_blocks ||
	    want.map_start != l->map_start ||
	    want.map_blocks != l->map_blocks) {
		*err = "layout does not match its maxima";
		return -EINVAL;
	}
	if (odx_layout_end(l) > l->meta_blocks) {
		*err = "layout larger than the metadata device it was made for";
		return -EINVAL;
	}
	if (odx_layout_end(l) > dev_blocks) {
		*err = "metadata device smaller than its layout";
		return -ENOSPC;
	}
	return 0;
}

/* ---- checksum ----------------------------------------------------------------- */

#define ODX_CSUM_SEED		0xffffffffU

/*
 * The checksum a block must carry in hdr.csum (CPU order). @crc is the raw
 * CRC-32C update, as the kernel's crc32c().
 */
static inline __u32 odx_block_csum(const void *block,
				   __u32 (*crc)(__u32 crc, const void *p,
						unsigned int len))
{
	return crc(ODX_CSUM_SEED, (const __u8 *)block + ODX_CSUM_START,
		   ODX_BLOCK_SIZE - ODX_CSUM_START) ^ ODX_CSUM_SEED;
}

/* ---- decoded superblock, encode/decode/check (drivers/odx-format.c) ----------- */

/* The superblock in CPU byte order. */
struct odx_sb {
	__u64 txn_id;
	__u32 flags;			/* ODX_SB_* */
	__u32 compat, ro_compat, incompat;
	__u32 slab_sectors;
	__u32 journal_entries;
	__u8 uuid[16];
	__u64 data_slabs;
	__u64 virtual_sectors;
	__u64 used_slabs;
	__u64 shared_slabs;
	struct odx_layout layout;
};

/* Virtual slabs of a volume (the last one may be partial). */
static inline __u64 odx_sb_virtual_slabs(const struct odx_sb *sb)
{
	return odx_div_up(sb->virtual_sectors, sb->slab_sectors);
}

/* Superblock slot, and journal slot, of transaction @txn_id. */
static inline unsigned int odx_txn_slot(__u64 txn_id)
{
	return txn_id & 1;
}

/* Unknown ro_compat features: the volume may be activated read-only. */
static inline int odx_sb_read_only(const struct odx_sb *sb)
{
	return (sb->ro_compat & ~ODX_RO_COMPAT_KNOWN) != 0;
}

/*
 * The functions below return 0 or a negative errno and, on error, point
 * @err at a static message that says what is wrong:
 *   -ENODATA     the block is all zeros (never written)
 *   -EBADMSG     bad checksum
 *   -EMEDIUMTYPE wrong block type
 *   -ENOTBLK     wrong block number (misdirected write)
 *   -ESTALE      transaction id out of place
 *   -EILSEQ      bad superblock magic
 *   -EOPNOTSUPP  unsupported format version or incompatible feature
 *   -EINVAL      a field out of range or inconsistent
 *   -ENOSPC      sizes beyond what the layout can hold
 */

/* Fill the header (type, @blocknr, @txn_id) and the checksum. */
void odx_block_prepare(void *block, __u32 type, __u64 blocknr,
		       __u64 txn_id);
/* Check a block read from @blocknr; its txn_id must not exceed @max_txn. */
int odx_block_check(const void *block, __u32 type, __u64 blocknr,
		    __u64 max_txn, const char **err);
int odx_block_is_zero(const void *block);

/* Whole superblock block, prepared for slot odx_txn_slot(sb->txn_id). */
void odx_sb_encode(void *block, const struct odx_sb *sb);
/* Decode and validate the block read from superblock slot @slot. */
int odx_sb_decode(const void *block, unsigned int slot, struct odx_sb *sb,
		  const char **err);
/*
 * Which slot to use, given both slots' odx_sb_decode() results: 0 or 1,
 * -ENODATA if both are all zeros (unformatted), or an error. @note gets a
 * message if one slot was passed over as damaged (else NULL).
 */
int odx_sb_select(int r0, const struct odx_sb *sb0, int r1,
		  const struct odx_sb *sb1, const char **note,
		  const char **err);
/*
 * Reload: may this volume run with these devices? @data_slabs gets the
 * data slabs to use (the data device clamped to the layout's maximum).
 */
int odx_sb_check_table(const struct odx_sb *sb, __u32 slab_sectors,
		       __u64 meta_dev_blocks, __u64 data_dev_sectors,
		       __u64 virtual_sectors, __u64 *data_slabs,
		       const char **err);

/* Fresh map and refcount blocks (header filled at prepare). */
void odx_map_block_init(void *block);
void odx_refcount_block_init(void *block);
/*
 * Content checks of map block @index / refcount block @index, after
 * odx_block_check(): no entry beyond the volume's sizes, no slab number
 * out of range. The map check returns the number of mapped entries; the
 * refcount check gives the used and shared counts.
 */
int odx_map_block_validate(const void *block, __u64 index,
			   __u64 virtual_slabs, __u64 data_slabs,
			   const char **err);
int odx_refcount_block_validate(const void *block, __u64 index,
				__u64 data_slabs, __u32 *used,
				__u32 *shared, const char **err);

/* Journal header: build it entry by entry, then seal it for @txn_id. */
void odx_journal_init(void *jblock);
int odx_journal_add(void *jblock, const void *payload, const char **err);
void odx_journal_seal(void *jblock, const struct odx_layout *l,
		      __u64 txn_id);
/* Check the header of the journal the committed superblock @sb names. */
int odx_journal_check(const void *jblock, const struct odx_sb *sb,
		      const char **err);
/* Check payload @i of that journal (read from its journal block). */
int odx_journal_payload_check(const void *payload, const void *jblock,
			      const struct odx_sb *sb, unsigned int i,
			      const char **err);
__u64 odx_journal_target(const void *jblock, unsigned int i);

#endif
