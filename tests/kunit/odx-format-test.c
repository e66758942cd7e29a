// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit: the on-disk format (include/dm-odx-format.h): layout, encode,
 * decode and checksum of every block type, the superblock slot choice,
 * the journal.
 */
#include <kunit/test.h>
#include <linux/crc32c.h>
#include <linux/string.h>

#include "dm-odx-format.h"

#define TIB_64K_SLABS	(1ULL << 28)	/* 16 TiB at 64 KiB */

static void *odx_test_block(struct kunit *test)
{
	void *b = kunit_kzalloc(test, ODX_BLOCK_SIZE, GFP_KERNEL);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, b);
	return b;
}

/* A volume: 64 KiB slabs, 1000 data slabs, 3000 virtual slabs. */
static void odx_test_sb(struct kunit *test, struct odx_sb *sb, u64 txn)
{
	static const u8 uuid[16] = {
		0x6f, 0x64, 0x78, 0x01, 0x02, 0x03, 0x04, 0x05,
		0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d,
	};

	memset(sb, 0, sizeof(*sb));
	KUNIT_ASSERT_EQ(test, odx_layout_compute(8192, 1000, 3000,
						 &sb->layout, NULL), 0);
	sb->txn_id = txn;
	sb->slab_sectors = 128;
	memcpy(sb->uuid, uuid, sizeof(uuid));
	sb->data_slabs = 1000;
	sb->virtual_sectors = 3000 * 128 - 5;
	sb->used_slabs = 700;
	sb->shared_slabs = 12;
	sb->journal_entries = 3;
}

/* ---- checksum and constants ------------------------------------------- */

static void odx_fmt_crc(struct kunit *test)
{
	/* the standard CRC-32C check value the userspace checker must match */
	KUNIT_EXPECT_EQ(test, crc32c(ODX_CSUM_SEED, "123456789", 9) ^
			ODX_CSUM_SEED, 0xe3069283U);
}

static void odx_fmt_constants(struct kunit *test)
{
	__le64 magic = cpu_to_le64(ODX_SB_MAGIC);
	__le32 t;

	KUNIT_EXPECT_MEMEQ(test, &magic, "dm-odx\0\0", 8);
	t = cpu_to_le32(ODX_BLOCK_SUPER);
	KUNIT_EXPECT_MEMEQ(test, &t, "ODXS", 4);
	t = cpu_to_le32(ODX_BLOCK_JOURNAL);
	KUNIT_EXPECT_MEMEQ(test, &t, "ODXJ", 4);
	t = cpu_to_le32(ODX_BLOCK_REFCOUNT);
	KUNIT_EXPECT_MEMEQ(test, &t, "ODXR", 4);
	t = cpu_to_le32(ODX_BLOCK_MAP);
	KUNIT_EXPECT_MEMEQ(test, &t, "ODXM", 4);
	KUNIT_EXPECT_EQ(test, ODX_MAP_ENTRIES_PER_BLOCK, 1016);
	KUNIT_EXPECT_EQ(test, ODX_REFCOUNTS_PER_BLOCK, 2032);
	KUNIT_EXPECT_EQ(test, ODX_JOURNAL_MAX_ENTRIES, 507);
	KUNIT_EXPECT_EQ(test, ODX_FIXED_BLOCKS, 1018);
}

/* ---- layout -------------------------------------------------------------- */

static void odx_fmt_layout_16t(struct kunit *test)
{
	struct odx_layout l;
	u64 min = 0;

	/* fully backed: 1018 + 132105 + 264209 blocks = 1552 MiB */
	KUNIT_ASSERT_EQ(test, odx_layout_compute(397332, TIB_64K_SLABS,
						 TIB_64K_SLABS, &l, &min), 0);
	KUNIT_EXPECT_EQ(test, min, 397332ULL);
	KUNIT_EXPECT_EQ(test, l.journal_start, 2ULL);
	KUNIT_EXPECT_EQ(test, l.refcount_start, 1018ULL);
	KUNIT_EXPECT_EQ(test, l.refcount_blocks, 132105ULL);
	KUNIT_EXPECT_EQ(test, l.map_start, 1018ULL + 132105);
	KUNIT_EXPECT_EQ(test, l.map_blocks, 264209ULL);
	KUNIT_EXPECT_EQ(test, odx_layout_end(&l), 397332ULL);
	KUNIT_EXPECT_EQ(test, l.max_data_slabs, 132105ULL * 2032);
	KUNIT_EXPECT_EQ(test, l.max_virtual_slabs, 264209ULL * 1016);
	KUNIT_EXPECT_EQ(test, odx_meta_used_blocks(TIB_64K_SLABS,
						   TIB_64K_SLABS), 397332ULL);

	/* over-committed on a one-slab data device: 1036 MiB */
	KUNIT_EXPECT_EQ(test, odx_layout_compute(0, 1, TIB_64K_SLABS, &l,
						 &min), -ENOSPC);
	KUNIT_EXPECT_EQ(test, min, 265228ULL);
}

static void odx_fmt_layout_enospc(struct kunit *test)
{
	struct odx_layout l = { };
	u64 min = 0;

	KUNIT_EXPECT_EQ(test, odx_layout_compute(397331, TIB_64K_SLABS,
						 TIB_64K_SLABS, &l, &min),
			-ENOSPC);
	KUNIT_EXPECT_EQ(test, min, 397332ULL);
	KUNIT_EXPECT_EQ(test, odx_layout_compute(1000, 1, 1, &l, &min),
			-ENOSPC);
	KUNIT_EXPECT_EQ(test, min, 1020ULL);
	/* sizes the format cannot express */
	KUNIT_EXPECT_EQ(test, odx_layout_compute(1 << 20, 0, 1, &l, NULL),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, odx_layout_compute(1 << 20, 1, 0, &l, NULL),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, odx_layout_compute(1ULL << 40,
						 ODX_MAX_SLABS + 1, 1, &l,
						 NULL), -EINVAL);
	KUNIT_EXPECT_EQ(test, odx_layout_compute(1ULL << 40, 1,
						 ODX_MAX_SLABS + 1, &l,
						 NULL), -EINVAL);
}

static void odx_fmt_layout_one_slab(struct kunit *test)
{
	struct odx_layout l;
	const char *err = NULL;
	u64 min;

	KUNIT_ASSERT_EQ(test, odx_layout_compute(1020, 1, 1, &l, &min), 0);
	KUNIT_EXPECT_EQ(test, min, 1020ULL);
	KUNIT_EXPECT_EQ(test, l.refcount_blocks, 1ULL);
	KUNIT_EXPECT_EQ(test, l.map_blocks, 1ULL);
	KUNIT_EXPECT_EQ(test, l.max_data_slabs, 2032ULL);
	KUNIT_EXPECT_EQ(test, l.max_virtual_slabs, 1016ULL);
	KUNIT_EXPECT_EQ(test, odx_layout_validate(&l, 1020, &err), 0);
	KUNIT_EXPECT_EQ(test, odx_layout_validate(&l, 1019, &err), -ENOSPC);
	KUNIT_EXPECT_STREQ(test, err, "metadata device smaller than its layout");

	/* spare space is all used, both sides grow */
	KUNIT_ASSERT_EQ(test, odx_layout_compute(1027, 1, 1, &l, NULL), 0);
	KUNIT_EXPECT_EQ(test, odx_layout_end(&l), 1027ULL);
	KUNIT_EXPECT_GT(test, l.refcount_blocks, 1ULL);
	KUNIT_EXPECT_GT(test, l.map_blocks, 1ULL);
}

static void odx_fmt_layout_growth(struct kunit *test)
{
	struct odx_layout l;
	const char *err = NULL;
	u64 meta;

	/* over-commit: the data device may first grow to the virtual size */
	meta = odx_meta_used_blocks(1 << 20, 1 << 20);
	KUNIT_ASSERT_EQ(test, odx_layout_compute(meta, 16, 1 << 20, &l, NULL),
			0);
	KUNIT_EXPECT_GE(test, l.max_data_slabs, 1ULL << 20);
	KUNIT_EXPECT_GE(test, l.max_virtual_slabs, 1ULL << 20);
	KUNIT_EXPECT_EQ(test, odx_layout_end(&l), meta);

	/* then in proportion: twice the space, about twice the maxima */
	KUNIT_ASSERT_EQ(test, odx_layout_compute(2 * meta, 16, 1 << 20, &l,
						 NULL), 0);
	KUNIT_EXPECT_GE(test, l.max_data_slabs, 2ULL << 20);
	KUNIT_EXPECT_GE(test, l.max_virtual_slabs, 2ULL << 20);
	KUNIT_EXPECT_LE(test, odx_layout_end(&l), 2 * meta);
	KUNIT_EXPECT_EQ(test, odx_layout_validate(&l, 2 * meta, &err), 0);

	/* a huge device: both maxima capped, the rest unused */
	KUNIT_ASSERT_EQ(test, odx_layout_compute(1ULL << 40, 1, 1, &l, NULL),
			0);
	KUNIT_EXPECT_EQ(test, l.max_data_slabs, ODX_MAX_SLABS);
	KUNIT_EXPECT_EQ(test, l.max_virtual_slabs, ODX_MAX_SLABS);
	KUNIT_EXPECT_EQ(test, l.refcount_blocks, 2113666ULL);
	KUNIT_EXPECT_EQ(test, l.map_blocks, 4227331ULL);
	KUNIT_EXPECT_EQ(test, odx_layout_end(&l), 6342015ULL);
	KUNIT_EXPECT_EQ(test, odx_layout_validate(&l, 1ULL << 40, &err), 0);

	/* exactly the cap on both sides fits in exactly its size */
	KUNIT_ASSERT_EQ(test, odx_layout_compute(6342015, ODX_MAX_SLABS,
						 ODX_MAX_SLABS, &l, NULL), 0);
	KUNIT_EXPECT_EQ(test, l.max_data_slabs, ODX_MAX_SLABS);
	KUNIT_EXPECT_EQ(test, l.max_virtual_slabs, ODX_MAX_SLABS);

	/* a layout edited by hand does not validate */
	l.map_start++;
	KUNIT_EXPECT_EQ(test, odx_layout_validate(&l, 1ULL << 40, &err),
			-EINVAL);
	KUNIT_EXPECT_STREQ(test, err, "layout does not match its maxima");
}

static void odx_fmt_slab_position(struct kunit *test)
{
	struct odx_layout l;
	unsigned int i;

	odx_layout_place(&l, ODX_MAX_SLABS, ODX_MAX_SLABS);
	KUNIT_EXPECT_EQ(test, odx_map_block_of(&l, 0, &i), l.map_start);
	KUNIT_EXPECT_EQ(test, i, 0U);
	KUNIT_EXPECT_EQ(test, odx_map_block_of(&l, 1016, &i), l.map_start + 1);
	KUNIT_EXPECT_EQ(test, i, 0U);
	KUNIT_EXPECT_EQ(test, odx_map_block_of(&l, ODX_MAX_SLABS - 1, &i),
			odx_layout_end(&l) - 1);
	KUNIT_EXPECT_EQ(test, i, (unsigned int)((ODX_MAX_SLABS - 1) % 1016));
	KUNIT_EXPECT_EQ(test, odx_refcount_block_of(&l, 2033, &i),
			l.refcount_start + 1);
	KUNIT_EXPECT_EQ(test, i, 1U);
	KUNIT_EXPECT_EQ(test, odx_refcount_block_of(&l, ODX_MAX_SLABS - 1, &i),
			l.map_start - 1);
	KUNIT_EXPECT_EQ(test, odx_journal_slot_start(&l, 0), 2ULL);
	KUNIT_EXPECT_EQ(test, odx_journal_slot_start(&l, 1), 510ULL);
}

/* ---- block header --------------------------------------------------------- */

/* Every bit of the header, one bit of every other byte: all caught. */
static void odx_fmt_bit_flips(struct kunit *test, void *block, u32 type,
			      u64 blocknr, const char *msg)
{
	const char *err = NULL;
	u8 *p = block;
	unsigned int bit;

	KUNIT_ASSERT_EQ(test, odx_block_check(block, type, blocknr, U64_MAX,
					      &err), 0);
	for (bit = 0; bit < ODX_BLOCK_SIZE * 8; bit++) {
		unsigned int byte = bit / 8;
		u8 mask = 1 << (bit % 8);

		if (byte >= 64 && bit % 8 != byte % 8)
			continue;
		p[byte] ^= mask;
		err = NULL;
		KUNIT_EXPECT_EQ_MSG(test, odx_block_check(block, type, blocknr,
							  U64_MAX, &err),
				    -EBADMSG, "bit %u", bit);
		KUNIT_EXPECT_STREQ(test, err, msg);
		p[byte] ^= mask;
	}
	KUNIT_EXPECT_EQ(test, odx_block_check(block, type, blocknr, U64_MAX,
					      &err), 0);
}

static void odx_fmt_block_check(struct kunit *test)
{
	void *b = odx_test_block(test);
	struct odx_map_block *m = b;
	const char *err = NULL;

	/* never written */
	KUNIT_EXPECT_TRUE(test, odx_block_is_zero(b));
	KUNIT_EXPECT_EQ(test, odx_block_check(b, ODX_BLOCK_MAP, 0, U64_MAX,
					      &err), -ENODATA);
	KUNIT_EXPECT_STREQ(test, err, "map block is all zeros");

	odx_map_block_init(b);
	m->entries[7] = cpu_to_le32(42);
	odx_block_prepare(b, ODX_BLOCK_MAP, 5000, 9);
	KUNIT_EXPECT_EQ(test, le32_to_cpu(m->hdr.csum),
			odx_block_csum(b, crc32c));
	KUNIT_EXPECT_EQ(test, odx_block_check(b, ODX_BLOCK_MAP, 5000, 9, &err),
			0);

	/* misdirected: read from another place */
	KUNIT_EXPECT_EQ(test, odx_block_check(b, ODX_BLOCK_MAP, 5001, 9, &err),
			-ENOTBLK);
	KUNIT_EXPECT_STREQ(test, err, "map block has the wrong block number");
	/* a map block where a refcount block should be */
	KUNIT_EXPECT_EQ(test, odx_block_check(b, ODX_BLOCK_REFCOUNT, 5000, 9,
					      &err), -EMEDIUMTYPE);
	KUNIT_EXPECT_STREQ(test, err,
			   "refcount block has the wrong block type");
	/* written by a transaction the superblock does not know */
	KUNIT_EXPECT_EQ(test, odx_block_check(b, ODX_BLOCK_MAP, 5000, 8, &err),
			-ESTALE);
	KUNIT_EXPECT_STREQ(test, err, "map block from a later transaction");
	/* reserved header field, checksum made to match */
	m->hdr.reserved = cpu_to_le64(1);
	m->hdr.csum = cpu_to_le32(odx_block_csum(b, crc32c));
	KUNIT_EXPECT_EQ(test, odx_block_check(b, ODX_BLOCK_MAP, 5000, 9, &err),
			-EINVAL);
	KUNIT_EXPECT_STREQ(test, err,
			   "nonzero reserved field in map block header");

	odx_block_prepare(b, ODX_BLOCK_MAP, 5000, 9);
	odx_fmt_bit_flips(test, b, ODX_BLOCK_MAP, 5000,
			  "bad map block checksum");
	odx_refcount_block_init(b);
	odx_block_prepare(b, ODX_BLOCK_REFCOUNT, 1018, 0);
	odx_fmt_bit_flips(test, b, ODX_BLOCK_REFCOUNT, 1018,
			  "bad refcount block checksum");
}

/* ---- superblock ------------------------------------------------------------- */

static void odx_fmt_sb_roundtrip(struct kunit *test)
{
	void *b = odx_test_block(test);
	struct odx_superblock *d = b;
	struct odx_sb sb, out;
	const char *err = NULL;

	odx_test_sb(test, &sb, 41);
	sb.flags = ODX_SB_NEEDS_CHECK;
	odx_sb_encode(b, &sb);
	KUNIT_EXPECT_EQ(test, le64_to_cpu(d->hdr.blocknr), 1ULL);
	KUNIT_EXPECT_EQ(test, le32_to_cpu(d->journal_slot), 1U);
	KUNIT_ASSERT_EQ(test, odx_sb_decode(b, 1, &out, &err), 0);
	KUNIT_EXPECT_MEMEQ(test, &out, &sb, sizeof(sb));
	KUNIT_EXPECT_EQ(test, odx_sb_virtual_slabs(&out), 3000ULL);
	KUNIT_EXPECT_FALSE(test, odx_sb_read_only(&out));

	/* slot 0 holds the even transactions */
	KUNIT_EXPECT_EQ(test, odx_sb_decode(b, 0, &out, &err), -ENOTBLK);
	KUNIT_EXPECT_STREQ(test, err, "superblock has the wrong block number");
	KUNIT_EXPECT_EQ(test, odx_sb_decode(b, 2, &out, &err), -EINVAL);

	odx_fmt_bit_flips(test, b, ODX_BLOCK_SUPER, 1,
			  "bad superblock checksum");

	/* the largest volume the format can describe */
	memset(&sb.layout, 0, sizeof(sb.layout));
	KUNIT_ASSERT_EQ(test, odx_layout_compute(1ULL << 40, ODX_MAX_SLABS,
						 ODX_MAX_SLABS, &sb.layout,
						 NULL), 0);
	sb.txn_id = U64_MAX - 1;
	sb.slab_sectors = ODX_FMT_MAX_SLAB_SECTORS;
	sb.data_slabs = ODX_MAX_SLABS;
	sb.virtual_sectors = ODX_MAX_SLABS * ODX_FMT_MAX_SLAB_SECTORS;
	sb.used_slabs = ODX_MAX_SLABS;
	sb.shared_slabs = ODX_MAX_SLABS;
	sb.journal_entries = ODX_JOURNAL_MAX_ENTRIES;
	odx_sb_encode(b, &sb);
	KUNIT_ASSERT_EQ(test, odx_sb_decode(b, 0, &out, &err), 0);
	KUNIT_EXPECT_MEMEQ(test, &out, &sb, sizeof(sb));
}

struct sb_bad_case {
	const char *name;
	void (*mutate)(struct odx_superblock *d);
	int result;
	const char *error;
};

static void sb_magic(struct odx_superblock *d)
{
	d->magic = cpu_to_le64(ODX_SB_MAGIC ^ 1);
}

static void sb_version(struct odx_superblock *d)
{
	d->version = cpu_to_le32(ODX_FORMAT_VERSION + 1);
}

static void sb_type(struct odx_superblock *d)
{
	d->hdr.type = cpu_to_le32(ODX_BLOCK_MAP);
}

static void sb_parity(struct odx_superblock *d)
{
	d->hdr.txn_id = cpu_to_le64(le64_to_cpu(d->hdr.txn_id) + 1);
}

static void sb_incompat(struct odx_superblock *d)
{
	d->incompat = cpu_to_le32(1U << 31);
}

static void sb_flags(struct odx_superblock *d)
{
	d->flags = cpu_to_le32(1U << 7);
}

static void sb_slab_pow2(struct odx_superblock *d)
{
	d->slab_sectors = cpu_to_le32(192);
}

static void sb_slab_small(struct odx_superblock *d)
{
	d->slab_sectors = cpu_to_le32(64);
}

static void sb_journal_geom(struct odx_superblock *d)
{
	d->layout.journal_max_entries = cpu_to_le32(508);
}

static void sb_layout(struct odx_superblock *d)
{
	d->layout.map_blocks = cpu_to_le64(le64_to_cpu(d->layout.map_blocks) +
					   1);
}

static void sb_layout_big(struct odx_superblock *d)
{
	d->meta_blocks = cpu_to_le64(1019);
}

static void sb_data_zero(struct odx_superblock *d)
{
	d->data_slabs = 0;
}

static void sb_data_big(struct odx_superblock *d)
{
	d->data_slabs = cpu_to_le64(le64_to_cpu(d->layout.max_data_slabs) + 1);
}

static void sb_virtual_big(struct odx_superblock *d)
{
	d->virtual_sectors =
		cpu_to_le64(le64_to_cpu(d->layout.max_virtual_slabs) * 128 + 1);
}

static void sb_used(struct odx_superblock *d)
{
	d->used_slabs = cpu_to_le64(1001);
}

static void sb_shared(struct odx_superblock *d)
{
	d->shared_slabs = cpu_to_le64(701);
}

static void sb_jslot(struct odx_superblock *d)
{
	d->journal_slot = cpu_to_le32(1);
}

static void sb_jlen(struct odx_superblock *d)
{
	d->journal_entries = cpu_to_le32(ODX_JOURNAL_MAX_ENTRIES + 1);
}

static void sb_reserved(struct odx_superblock *d)
{
	d->reserved[sizeof(d->reserved) - 1] = 1;
}

static const struct sb_bad_case sb_bad_cases[] = {
	{ "magic", sb_magic, -EILSEQ, "bad superblock magic" },
	{ "version", sb_version, -EOPNOTSUPP,
	  "unsupported metadata format version" },
	{ "type", sb_type, -EMEDIUMTYPE,
	  "superblock has the wrong block type" },
	{ "parity", sb_parity, -ESTALE,
	  "superblock transaction id does not match its slot" },
	{ "incompat", sb_incompat, -EOPNOTSUPP,
	  "unsupported incompatible features in superblock" },
	{ "flags", sb_flags, -EINVAL, "unknown superblock flags" },
	{ "slab_pow2", sb_slab_pow2, -EINVAL, "bad slab size in superblock" },
	{ "slab_small", sb_slab_small, -EINVAL, "bad slab size in superblock" },
	{ "journal_geometry", sb_journal_geom, -EINVAL,
	  "bad journal geometry in superblock" },
	{ "layout", sb_layout, -EINVAL, "layout does not match its maxima" },
	{ "layout_big", sb_layout_big, -EINVAL,
	  "layout larger than the metadata device it was made for" },
	{ "data_zero", sb_data_zero, -EINVAL,
	  "superblock data size out of range" },
	{ "data_big", sb_data_big, -EINVAL,
	  "superblock data size out of range" },
	{ "virtual_big", sb_virtual_big, -EINVAL,
	  "superblock virtual size out of range" },
	{ "used", sb_used, -EINVAL,
	  "superblock used slab count above the data size" },
	{ "shared", sb_shared, -EINVAL,
	  "superblock shared slab count above the used count" },
	{ "journal_slot", sb_jslot, -EINVAL,
	  "superblock journal slot does not match its transaction" },
	{ "journal_len", sb_jlen, -EINVAL,
	  "superblock journal descriptor too long" },
	{ "reserved", sb_reserved, -EINVAL,
	  "nonzero reserved bytes in superblock" },
};

KUNIT_ARRAY_PARAM_DESC(sb_bad, sb_bad_cases, name);

/* Each field made wrong with a valid checksum: refused, and why. */
static void odx_fmt_sb_bad(struct kunit *test)
{
	const struct sb_bad_case *c = test->param_value;
	void *b = odx_test_block(test);
	struct odx_sb sb, out;
	const char *err = NULL;

	odx_test_sb(test, &sb, 40);
	odx_sb_encode(b, &sb);
	c->mutate(b);
	odx_block_prepare(b, le32_to_cpu(((struct odx_block_header *)b)->type),
			  0, le64_to_cpu(((struct odx_block_header *)b)->txn_id));
	KUNIT_EXPECT_EQ(test, odx_sb_decode(b, 0, &out, &err), c->result);
	KUNIT_EXPECT_STREQ(test, err, c->error);
}

static void odx_fmt_sb_features(struct kunit *test)
{
	void *b = odx_test_block(test);
	struct odx_sb sb, out;
	const char *err = NULL;

	/* unknown compat: fine; unknown ro_compat: read-only */
	odx_test_sb(test, &sb, 2);
	sb.compat = 1U << 3;
	odx_sb_encode(b, &sb);
	KUNIT_ASSERT_EQ(test, odx_sb_decode(b, 0, &out, &err), 0);
	KUNIT_EXPECT_FALSE(test, odx_sb_read_only(&out));
	sb.ro_compat = 1U << 5;
	odx_sb_encode(b, &sb);
	KUNIT_ASSERT_EQ(test, odx_sb_decode(b, 0, &out, &err), 0);
	KUNIT_EXPECT_TRUE(test, odx_sb_read_only(&out));
}

static void odx_fmt_sb_select(struct kunit *test)
{
	struct odx_sb a, b;
	const char *note, *err = NULL;

	odx_test_sb(test, &a, 6);
	odx_test_sb(test, &b, 7);
	KUNIT_EXPECT_EQ(test, odx_sb_select(0, &a, 0, &b, &note, &err), 1);
	KUNIT_EXPECT_NULL(test, note);
	b.txn_id = 5;
	KUNIT_EXPECT_EQ(test, odx_sb_select(0, &a, 0, &b, &note, &err), 0);
	/* a torn newer slot: the older one, with a note */
	KUNIT_EXPECT_EQ(test, odx_sb_select(0, &a, -EBADMSG, &b, &note, &err),
			0);
	KUNIT_EXPECT_STREQ(test, note,
			   "superblock slot 1 damaged, using slot 0");
	KUNIT_EXPECT_EQ(test, odx_sb_select(-EBADMSG, &a, 0, &b, &note, &err),
			1);
	KUNIT_EXPECT_STREQ(test, note,
			   "superblock slot 0 damaged, using slot 1");
	/* freshly formatted: slot 1 never written */
	a.txn_id = 0;
	KUNIT_EXPECT_EQ(test, odx_sb_select(0, &a, -ENODATA, &b, &note, &err),
			0);
	KUNIT_EXPECT_NULL(test, note);
	a.txn_id = 6;
	KUNIT_EXPECT_EQ(test, odx_sb_select(0, &a, -ENODATA, &b, &note, &err),
			0);
	KUNIT_EXPECT_STREQ(test, note,
			   "superblock slot 1 is all zeros, using slot 0");
	/* unformatted, and broken */
	KUNIT_EXPECT_EQ(test, odx_sb_select(-ENODATA, &a, -ENODATA, &b, &note,
					    &err), -ENODATA);
	KUNIT_EXPECT_STREQ(test, err, "metadata device is not formatted");
	KUNIT_EXPECT_EQ(test, odx_sb_select(-ENODATA, &a, -EBADMSG, &b, &note,
					    &err), -EBADMSG);
	KUNIT_EXPECT_STREQ(test, err, "no valid superblock in either slot");
	/* two valid slots that do not belong together */
	b.txn_id = 9;
	KUNIT_EXPECT_EQ(test, odx_sb_select(0, &a, 0, &b, &note, &err),
			-ESTALE);
	KUNIT_EXPECT_STREQ(test, err, "superblock slots out of sequence");
	b.txn_id = 7;
	b.uuid[3] ^= 1;
	KUNIT_EXPECT_EQ(test, odx_sb_select(0, &a, 0, &b, &note, &err),
			-EINVAL);
	KUNIT_EXPECT_STREQ(test, err,
			   "superblock slots belong to different volumes");
	b.uuid[3] ^= 1;
	b.layout.max_data_slabs++;
	KUNIT_EXPECT_EQ(test, odx_sb_select(0, &a, 0, &b, &note, &err),
			-EINVAL);
	KUNIT_EXPECT_STREQ(test, err,
			   "superblock slots disagree on the layout");
}

static void odx_fmt_sb_table(struct kunit *test)
{
	struct odx_sb sb;
	const char *err = NULL;
	u64 d = 0;
	u64 maxd, maxv;

	odx_test_sb(test, &sb, 4);
	maxd = sb.layout.max_data_slabs;
	maxv = sb.layout.max_virtual_slabs;

	/* same devices */
	KUNIT_EXPECT_EQ(test, odx_sb_check_table(&sb, 128, 8192, 1000 * 128,
						 sb.virtual_sectors, &d, &err),
			0);
	KUNIT_EXPECT_EQ(test, d, 1000ULL);
	/* grown, a partial slab at the end of the data device unused */
	KUNIT_EXPECT_EQ(test, odx_sb_check_table(&sb, 128, 8192,
						 1500 * 128 + 127, maxv * 128,
						 &d, &err), 0);
	KUNIT_EXPECT_EQ(test, d, 1500ULL);
	/* grown beyond the layout: data clamped, virtual refused */
	KUNIT_EXPECT_EQ(test, odx_sb_check_table(&sb, 128, 8192,
						 (maxd + 5) * 128,
						 sb.virtual_sectors, &d, &err),
			0);
	KUNIT_EXPECT_EQ(test, d, maxd);
	KUNIT_EXPECT_EQ(test, odx_sb_check_table(&sb, 128, 8192, 1000 * 128,
						 maxv * 128 + 1, &d, &err),
			-ENOSPC);
	KUNIT_EXPECT_STREQ(test, err,
			   "virtual size beyond what the metadata was formatted for");
	/* shrunk, wrong slab size, metadata device too small */
	KUNIT_EXPECT_EQ(test, odx_sb_check_table(&sb, 128, 8192, 999 * 128,
						 sb.virtual_sectors, &d, &err),
			-EINVAL);
	KUNIT_EXPECT_STREQ(test, err,
			   "data device smaller than the metadata records");
	KUNIT_EXPECT_EQ(test, odx_sb_check_table(&sb, 128, 8192, 1000 * 128,
						 sb.virtual_sectors - 1, &d,
						 &err), -EINVAL);
	KUNIT_EXPECT_STREQ(test, err,
			   "virtual size smaller than the metadata records");
	KUNIT_EXPECT_EQ(test, odx_sb_check_table(&sb, 256, 8192, 1000 * 128,
						 sb.virtual_sectors, &d, &err),
			-EINVAL);
	KUNIT_EXPECT_STREQ(test, err,
			   "slab size differs from the one in the metadata");
	KUNIT_EXPECT_EQ(test, odx_sb_check_table(&sb, 128,
						 odx_layout_end(&sb.layout) - 1,
						 1000 * 128, sb.virtual_sectors,
						 &d, &err), -ENOSPC);
	KUNIT_EXPECT_STREQ(test, err, "metadata device smaller than its layout");
}

/* ---- map and refcount contents ------------------------------------------------ */

static void odx_fmt_map_content(struct kunit *test)
{
	void *b = odx_test_block(test);
	struct odx_map_block *m = b;
	const char *err = NULL;

	odx_map_block_init(b);
	KUNIT_EXPECT_EQ(test, odx_map_block_validate(b, 0, 1, 1, &err), 0);
	m->entries[0] = cpu_to_le32(0);
	m->entries[1015] = cpu_to_le32(ODX_UNMAPPED - 1);
	/* block 3, last entry: virtual slab 4063 */
	KUNIT_EXPECT_EQ(test, odx_map_block_validate(b, 3, 4064, ODX_MAX_SLABS,
						     &err), 2);
	KUNIT_EXPECT_EQ(test, odx_map_block_validate(b, 3, 4063, ODX_MAX_SLABS,
						     &err), -EINVAL);
	KUNIT_EXPECT_STREQ(test, err, "map entry beyond the virtual size");
	KUNIT_EXPECT_EQ(test, odx_map_block_validate(b, 3, 4064,
						     ODX_MAX_SLABS - 1, &err),
			-EINVAL);
	KUNIT_EXPECT_STREQ(test, err, "map entry beyond the data device");
	/* the last possible map block: virtual slabs up to ODX_MAX_SLABS */
	KUNIT_EXPECT_EQ(test, odx_map_block_validate(b,
						     odx_map_blocks_for(ODX_MAX_SLABS) - 1,
						     ODX_MAX_SLABS,
						     ODX_MAX_SLABS, &err),
			-EINVAL);
	m->entries[1015] = cpu_to_le32(ODX_UNMAPPED);
	KUNIT_EXPECT_EQ(test, odx_map_block_validate(b,
						     odx_map_blocks_for(ODX_MAX_SLABS) - 1,
						     ODX_MAX_SLABS,
						     ODX_MAX_SLABS, &err), 1);
}

static void odx_fmt_refcount_content(struct kunit *test)
{
	void *b = odx_test_block(test);
	struct odx_refcount_block *r = b;
	const char *err = NULL;
	u32 used, shared;

	odx_refcount_block_init(b);
	r->counts[0] = cpu_to_le16(1);
	r->counts[5] = cpu_to_le16(ODX_REFCOUNT_MAX);
	r->counts[2031] = cpu_to_le16(2);
	KUNIT_EXPECT_EQ(test, odx_refcount_block_validate(b, 1, 4064, &used,
							  &shared, &err), 0);
	KUNIT_EXPECT_EQ(test, used, 3U);
	KUNIT_EXPECT_EQ(test, shared, 2U);
	KUNIT_EXPECT_EQ(test, odx_refcount_block_validate(b, 1, 4063, &used,
							  &shared, &err),
			-EINVAL);
	KUNIT_EXPECT_STREQ(test, err, "reference count beyond the data device");
}

/* ---- journal ---------------------------------------------------------------- */

struct odx_jfix {
	struct odx_sb sb;
	void *jh, *p[3];
};

/* Transaction 5: two refcount blocks and one map block. */
static void odx_jfix_build(struct kunit *test, struct odx_jfix *f)
{
	const struct odx_layout *l = &f->sb.layout;
	const char *err = NULL;
	int i;

	odx_test_sb(test, &f->sb, 5);
	f->jh = odx_test_block(test);
	for (i = 0; i < 3; i++)
		f->p[i] = odx_test_block(test);
	odx_refcount_block_init(f->p[0]);
	odx_refcount_block_init(f->p[1]);
	odx_map_block_init(f->p[2]);
	((struct odx_refcount_block *)f->p[1])->counts[3] = cpu_to_le16(1);
	odx_block_prepare(f->p[0], ODX_BLOCK_REFCOUNT, l->refcount_start, 5);
	odx_block_prepare(f->p[1], ODX_BLOCK_REFCOUNT, l->refcount_start + 1,
			  5);
	odx_block_prepare(f->p[2], ODX_BLOCK_MAP, l->map_start + 2, 5);
	odx_journal_init(f->jh);
	for (i = 0; i < 3; i++)
		KUNIT_ASSERT_EQ(test, odx_journal_add(f->jh, f->p[i], &err), 0);
	odx_journal_seal(f->jh, l, 5);
}

static void odx_fmt_journal_roundtrip(struct kunit *test)
{
	struct odx_jfix f;
	const struct odx_layout *l;
	const char *err = NULL;
	unsigned int i;

	odx_jfix_build(test, &f);
	l = &f.sb.layout;
	KUNIT_ASSERT_EQ(test, odx_journal_check(f.jh, &f.sb, &err), 0);
	KUNIT_EXPECT_EQ(test, odx_journal_target(f.jh, 0), l->refcount_start);
	KUNIT_EXPECT_EQ(test, odx_journal_target(f.jh, 2), l->map_start + 2);
	for (i = 0; i < 3; i++)
		KUNIT_EXPECT_EQ(test, odx_journal_payload_check(f.p[i], f.jh,
								&f.sb, i,
								&err), 0);
	/* journal of slot 1 lives at 510 */
	KUNIT_EXPECT_EQ(test, le64_to_cpu(((struct odx_block_header *)f.jh)->blocknr),
			510ULL);
	odx_fmt_bit_flips(test, f.jh, ODX_BLOCK_JOURNAL, 510,
			  "bad journal header checksum");
}

static void odx_fmt_journal_bad(struct kunit *test)
{
	struct odx_jfix f;
	struct odx_journal_header *jh;
	const char *err = NULL;

	odx_jfix_build(test, &f);
	jh = f.jh;

	/* payload i read back in the place of payload j */
	KUNIT_EXPECT_EQ(test, odx_journal_payload_check(f.p[0], f.jh, &f.sb, 1,
							&err), -ENOTBLK);
	KUNIT_EXPECT_STREQ(test, err,
			   "refcount block has the wrong block number");
	KUNIT_EXPECT_EQ(test, odx_journal_payload_check(f.p[2], f.jh, &f.sb, 3,
							&err), -EINVAL);
	/* a payload left over from another transaction with the same target */
	odx_block_prepare(f.p[1], ODX_BLOCK_REFCOUNT,
			  f.sb.layout.refcount_start + 1, 3);
	KUNIT_EXPECT_EQ(test, odx_journal_payload_check(f.p[1], f.jh, &f.sb, 1,
							&err), -ESTALE);
	KUNIT_EXPECT_STREQ(test, err, "journal payload from another transaction");
	/* same transaction and place, other contents */
	((struct odx_refcount_block *)f.p[1])->counts[3] = cpu_to_le16(2);
	odx_block_prepare(f.p[1], ODX_BLOCK_REFCOUNT,
			  f.sb.layout.refcount_start + 1, 5);
	KUNIT_EXPECT_EQ(test, odx_journal_payload_check(f.p[1], f.jh, &f.sb, 1,
							&err), -EBADMSG);
	KUNIT_EXPECT_STREQ(test, err,
			   "journal payload does not match its header entry");

	/* the superblock expects another length, transaction or slot */
	f.sb.journal_entries = 2;
	KUNIT_EXPECT_EQ(test, odx_journal_check(f.jh, &f.sb, &err), -EINVAL);
	KUNIT_EXPECT_STREQ(test, err,
			   "journal length differs from the superblock's");
	f.sb.journal_entries = 3;
	f.sb.txn_id = 7;
	KUNIT_EXPECT_EQ(test, odx_journal_check(f.jh, &f.sb, &err), -ESTALE);
	KUNIT_EXPECT_STREQ(test, err, "journal header from another transaction");
	f.sb.txn_id = 4;
	KUNIT_EXPECT_EQ(test, odx_journal_check(f.jh, &f.sb, &err), -ENOTBLK);
	f.sb.txn_id = 3;
	KUNIT_EXPECT_EQ(test, odx_journal_check(f.jh, &f.sb, &err), -ESTALE);
	KUNIT_EXPECT_STREQ(test, err, "journal header from a later transaction");
	f.sb.txn_id = 5;

	/* a target outside the refcount and map areas */
	jh->entries[2].target = cpu_to_le32(odx_layout_end(&f.sb.layout));
	odx_journal_seal(f.jh, &f.sb.layout, 5);
	KUNIT_EXPECT_EQ(test, odx_journal_check(f.jh, &f.sb, &err), -EINVAL);
	KUNIT_EXPECT_STREQ(test, err,
			   "journal target outside the refcount and map areas");
	jh->entries[2].target = cpu_to_le32(f.sb.layout.refcount_start);
	odx_journal_seal(f.jh, &f.sb.layout, 5);
	KUNIT_EXPECT_EQ(test, odx_journal_check(f.jh, &f.sb, &err), -EINVAL);
	KUNIT_EXPECT_STREQ(test, err, "journal entries not in ascending order");
	jh->entries[2].target = cpu_to_le32(f.sb.layout.map_start + 2);
	jh->entries[3].target = cpu_to_le32(1);
	odx_journal_seal(f.jh, &f.sb.layout, 5);
	KUNIT_EXPECT_EQ(test, odx_journal_check(f.jh, &f.sb, &err), -EINVAL);
	KUNIT_EXPECT_STREQ(test, err, "nonzero unused journal entries");
}

static void odx_fmt_journal_full(struct kunit *test)
{
	struct odx_sb sb;
	void *jh = odx_test_block(test);
	void *p = odx_test_block(test);
	const char *err = NULL;
	unsigned int i;

	odx_test_sb(test, &sb, 2);
	odx_journal_init(jh);
	odx_map_block_init(p);
	for (i = 0; i < ODX_JOURNAL_MAX_ENTRIES; i++) {
		odx_block_prepare(p, ODX_BLOCK_MAP, sb.layout.map_start + i, 2);
		KUNIT_ASSERT_EQ(test, odx_journal_add(jh, p, &err), 0);
	}
	odx_block_prepare(p, ODX_BLOCK_MAP, sb.layout.map_start + i, 2);
	KUNIT_EXPECT_EQ(test, odx_journal_add(jh, p, &err), -ENOSPC);
	KUNIT_EXPECT_STREQ(test, err, "journal full");
	sb.journal_entries = ODX_JOURNAL_MAX_ENTRIES;
	odx_journal_seal(jh, &sb.layout, 2);
	KUNIT_EXPECT_EQ(test, odx_journal_check(jh, &sb, &err), 0);
	KUNIT_EXPECT_EQ(test, odx_journal_target(jh, ODX_JOURNAL_MAX_ENTRIES - 1),
			sb.layout.map_start + ODX_JOURNAL_MAX_ENTRIES - 1);

	/* out of order, or a target a journal entry cannot hold */
	odx_journal_init(jh);
	odx_block_prepare(p, ODX_BLOCK_MAP, sb.layout.map_start + 1, 2);
	KUNIT_ASSERT_EQ(test, odx_journal_add(jh, p, &err), 0);
	KUNIT_EXPECT_EQ(test, odx_journal_add(jh, p, &err), -EINVAL);
	KUNIT_EXPECT_STREQ(test, err, "journal entries not in ascending order");
	odx_block_prepare(p, ODX_BLOCK_MAP, 1ULL << 32, 2);
	KUNIT_EXPECT_EQ(test, odx_journal_add(jh, p, &err), -EINVAL);
	KUNIT_EXPECT_STREQ(test, err, "journal target beyond 32 bits");
}

static struct kunit_case odx_format_cases[] = {
	KUNIT_CASE(odx_fmt_crc),
	KUNIT_CASE(odx_fmt_constants),
	KUNIT_CASE(odx_fmt_layout_16t),
	KUNIT_CASE(odx_fmt_layout_enospc),
	KUNIT_CASE(odx_fmt_layout_one_slab),
	KUNIT_CASE(odx_fmt_layout_growth),
	KUNIT_CASE(odx_fmt_slab_position),
	KUNIT_CASE(odx_fmt_block_check),
	KUNIT_CASE(odx_fmt_sb_roundtrip),
	KUNIT_CASE_PARAM(odx_fmt_sb_bad, sb_bad_gen_params),
	KUNIT_CASE(odx_fmt_sb_features),
	KUNIT_CASE(odx_fmt_sb_select),
	KUNIT_CASE(odx_fmt_sb_table),
	KUNIT_CASE(odx_fmt_map_content),
	KUNIT_CASE(odx_fmt_refcount_content),
	KUNIT_CASE(odx_fmt_journal_roundtrip),
	KUNIT_CASE(odx_fmt_journal_bad),
	KUNIT_CASE(odx_fmt_journal_full),
	{}
};

static struct kunit_suite odx_format_suite = {
	.name = "dm-odx-format",
	.test_cases = odx_format_cases,
};

kunit_test_suite(odx_format_suite);
