// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-odx: encode, decode and check the on-disk metadata format described
 * in include/dm-odx-format.h. Pure functions on 4 KiB buffers, no I/O:
 * the metadata layer calls them on dm-bufio buffers, KUnit on plain ones,
 * and odxctl check (userspace/check-format.c builds this file) on its own.
 */
#ifdef __KERNEL__
#include <linux/crc32c.h>
#include <linux/limits.h>
#include <linux/module.h>
#include <linux/string.h>

#include "dm-odx-format.h"

/* crc32c() comes from libcrc32c, which needs a crc32c crypto driver */
MODULE_SOFTDEP("pre: crc32c");
#else
/*
 * Userspace (odxctl check) compiles this very file: userspace/check-format.c
 * includes it after its shims for the kernel types, memchr_inv() and
 * crc32c(), so that the checker and the kernel share one implementation.
 */
#include "dm-odx-format.h"
#endif

/* ---- block header ---------------------------------------------------------- */

struct odx_block_msgs {
	const char *zero, *csum, *type, *blocknr, *txn, *reserved;
};

static const struct odx_block_msgs odx_sb_msgs = {
	.zero = "superblock is all zeros",
	.csum = "bad superblock checksum",
	.type = "superblock has the wrong block type",
	.blocknr = "superblock has the wrong block number",
	.txn = "superblock from a later transaction",
	.reserved = "nonzero reserved field in superblock header",
};

static const struct odx_block_msgs odx_journal_msgs = {
	.zero = "journal header is all zeros",
	.csum = "bad journal header checksum",
	.type = "journal header has the wrong block type",
	.blocknr = "journal header has the wrong block number",
	.txn = "journal header from a later transaction",
	.reserved = "nonzero reserved field in journal header",
};

static const struct odx_block_msgs odx_refcount_msgs = {
	.zero = "refcount block is all zeros",
	.csum = "bad refcount block checksum",
	.type = "refcount block has the wrong block type",
	.blocknr = "refcount block has the wrong block number",
	.txn = "refcount block from a later transaction",
	.reserved = "nonzero reserved field in refcount block header",
};

static const struct odx_block_msgs odx_map_msgs = {
	.zero = "map block is all zeros",
	.csum = "bad map block checksum",
	.type = "map block has the wrong block type",
	.blocknr = "map block has the wrong block number",
	.txn = "map block from a later transaction",
	.reserved = "nonzero reserved field in map block header",
};

static const struct odx_block_msgs odx_unknown_msgs = {
	.zero = "block is all zeros",
	.csum = "bad block checksum",
	.type = "block has the wrong block type",
	.blocknr = "block has the wrong block number",
	.txn = "block from a later transaction",
	.reserved = "nonzero reserved field in block header",
};

static const struct odx_block_msgs *odx_msgs(u32 type)
{
	switch (type) {
	case ODX_BLOCK_SUPER:
		return &odx_sb_msgs;
	case ODX_BLOCK_JOURNAL:
		return &odx_journal_msgs;
	case ODX_BLOCK_REFCOUNT:
		return &odx_refcount_msgs;
	case ODX_BLOCK_MAP:
		return &odx_map_msgs;
	}
	return &odx_unknown_msgs;
}

int odx_block_is_zero(const void *block)
{
	return !memchr_inv(block, 0, ODX_BLOCK_SIZE);
}

void odx_block_prepare(void *block, u32 type, u64 blocknr, u64 txn_id)
{
	struct odx_block_header *h = block;

	h->type = cpu_to_le32(type);
	h->blocknr = cpu_to_le64(blocknr);
	h->txn_id = cpu_to_le64(txn_id);
	h->reserved = 0;
	h->csum = cpu_to_le32(odx_block_csum(block, crc32c));
}

int odx_block_check(const void *block, u32 type, u64 blocknr, u64 max_txn,
		    const char **err)
{
	const struct odx_block_header *h = block;
	const struct odx_block_msgs *m = odx_msgs(type);

	if (le32_to_cpu(h->csum) != odx_block_csum(block, crc32c)) {
		if (odx_block_is_zero(block)) {
			*err = m->zero;
			return -ENODATA;
		}
		*err = m->csum;
		return -EBADMSG;
	}
	if (le32_to_cpu(h->type) != type) {
		*err = m->type;
		return -EMEDIUMTYPE;
	}
	if (le64_to_cpu(h->blocknr) != blocknr) {
		*err = m->blocknr;
		return -ENOTBLK;
	}
	if (le64_to_cpu(h->txn_id) > max_txn) {
		*err = m->txn;
		return -ESTALE;
	}
	if (h->reserved) {
		*err = m->reserved;
		return -EINVAL;
	}
	return 0;
}

/* ---- superblock ------------------------------------------------------------ */

void odx_sb_encode(void *block, const struct odx_sb *sb)
{
	struct odx_superblock *d = block;
	const struct odx_layout *l = &sb->layout;
	unsigned int slot = odx_txn_slot(sb->txn_id);

	memset(d, 0, sizeof(*d));
	d->magic = cpu_to_le64(ODX_SB_MAGIC);
	d->version = cpu_to_le32(ODX_FORMAT_VERSION);
	d->flags = cpu_to_le32(sb->flags);
	d->compat = cpu_to_le32(sb->compat);
	d->ro_compat = cpu_to_le32(sb->ro_compat);
	d->incompat = cpu_to_le32(sb->incompat);
	d->slab_sectors = cpu_to_le32(sb->slab_sectors);
	memcpy(d->uuid, sb->uuid, sizeof(d->uuid));
	d->data_slabs = cpu_to_le64(sb->data_slabs);
	d->virtual_sectors = cpu_to_le64(sb->virtual_sectors);
	d->used_slabs = cpu_to_le64(sb->used_slabs);
	d->shared_slabs = cpu_to_le64(sb->shared_slabs);
	d->meta_blocks = cpu_to_le64(l->meta_blocks);
	d->journal_slot = cpu_to_le32(slot);
	d->journal_entries = cpu_to_le32(sb->journal_entries);
	d->layout.journal_start = cpu_to_le64(l->journal_start);
	d->layout.journal_slot_blocks = cpu_to_le32(ODX_JOURNAL_SLOT_BLOCKS);
	d->layout.journal_max_entries = cpu_to_le32(ODX_JOURNAL_MAX_ENTRIES);
	d->layout.refcount_start = cpu_to_le64(l->refcount_start);
	d->layout.refcount_blocks = cpu_to_le64(l->refcount_blocks);
	d->layout.map_start = cpu_to_le64(l->map_start);
	d->layout.map_blocks = cpu_to_le64(l->map_blocks);
	d->layout.max_data_slabs = cpu_to_le64(l->max_data_slabs);
	d->layout.max_virtual_slabs = cpu_to_le64(l->max_virtual_slabs);
	odx_block_prepare(block, ODX_BLOCK_SUPER, slot, sb->txn_id);
}

static bool odx_slab_sectors_valid(u32 s)
{
	return s >= ODX_FMT_MIN_SLAB_SECTORS && s <= ODX_FMT_MAX_SLAB_SECTORS &&
	       !(s & (s - 1));
}

int odx_sb_decode(const void *block, unsigned int slot, struct odx_sb *sb,
		  const char **err)
{
	const struct odx_superblock *d = block;
	struct odx_layout *l = &sb->layout;
	int r;

	if (slot >= ODX_SB_SLOTS) {
		*err = "no such superblock slot";
		return -EINVAL;
	}
	r = odx_block_check(block, ODX_BLOCK_SUPER, slot, U64_MAX, err);
	if (r)
		return r;
	if (le64_to_cpu(d->magic) != ODX_SB_MAGIC) {
		*err = "bad superblock magic";
		return -EILSEQ;
	}
	if (le32_to_cpu(d->version) != ODX_FORMAT_VERSION) {
		*err = "unsupported metadata format version";
		return -EOPNOTSUPP;
	}

	memset(sb, 0, sizeof(*sb));
	sb->txn_id = le64_to_cpu(d->hdr.txn_id);
	sb->flags = le32_to_cpu(d->flags);
	sb->compat = le32_to_cpu(d->compat);
	sb->ro_compat = le32_to_cpu(d->ro_compat);
	sb->incompat = le32_to_cpu(d->incompat);
	sb->slab_sectors = le32_to_cpu(d->slab_sectors);
	sb->journal_entries = le32_to_cpu(d->journal_entries);
	memcpy(sb->uuid, d->uuid, sizeof(sb->uuid));
	sb->data_slabs = le64_to_cpu(d->data_slabs);
	sb->virtual_sectors = le64_to_cpu(d->virtual_sectors);
	sb->used_slabs = le64_to_cpu(d->used_slabs);
	sb->shared_slabs = le64_to_cpu(d->shared_slabs);
	l->meta_blocks = le64_to_cpu(d->meta_blocks);
	l->max_data_slabs = le64_to_cpu(d->layout.max_data_slabs);
	l->max_virtual_slabs = le64_to_cpu(d->layout.max_virtual_slabs);
	l->journal_start = le64_to_cpu(d->layout.journal_start);
	l->refcount_start = le64_to_cpu(d->layout.refcount_start);
	l->refcount_blocks = le64_to_cpu(d->layout.refcount_blocks);
	l->map_start = le64_to_cpu(d->layout.map_start);
	l->map_blocks = le64_to_cpu(d->layout.map_blocks);

	if (odx_txn_slot(sb->txn_id) != slot) {
		*err = "superblock transaction id does not match its slot";
		return -ESTALE;
	}
	if (sb->incompat & ~ODX_INCOMPAT_KNOWN) {
		*err = "unsupported incompatible features in superblock";
		return -EOPNOTSUPP;
	}
	if (sb->flags & ~ODX_SB_KNOWN_FLAGS) {
		*err = "unknown superblock flags";
		return -EINVAL;
	}
	if (!odx_slab_sectors_valid(sb->slab_sectors)) {
		*err = "bad slab size in superblock";
		return -EINVAL;
	}
	if (le32_to_cpu(d->layout.journal_slot_blocks) !=
	    ODX_JOURNAL_SLOT_BLOCKS ||
	    le32_to_cpu(d->layout.journal_max_entries) !=
	    ODX_JOURNAL_MAX_ENTRIES) {
		*err = "bad journal geometry in superblock";
		return -EINVAL;
	}
	r = odx_layout_validate(l, U64_MAX, err);
	if (r)
		return r;
	if (!sb->data_slabs || sb->data_slabs > l->max_data_slabs) {
		*err = "superblock data size out of range";
		return -EINVAL;
	}
	if (!sb->virtual_sectors ||
	    odx_sb_virtual_slabs(sb) > l->max_virtual_slabs) {
		*err = "superblock virtual size out of range";
		return -EINVAL;
	}
	if (sb->used_slabs > sb->data_slabs) {
		*err = "superblock used slab count above the data size";
		return -EINVAL;
	}
	if (sb->shared_slabs > sb->used_slabs) {
		*err = "superblock shared slab count above the used count";
		return -EINVAL;
	}
	if (le32_to_cpu(d->journal_slot) != slot) {
		*err = "superblock journal slot does not match its transaction";
		return -EINVAL;
	}
	if (sb->journal_entries > ODX_JOURNAL_MAX_ENTRIES) {
		*err = "superblock journal descriptor too long";
		return -EINVAL;
	}
	if (memchr_inv(d->reserved, 0, sizeof(d->reserved))) {
		*err = "nonzero reserved bytes in superblock";
		return -EINVAL;
	}
	return 0;
}

int odx_sb_select(int r0, const struct odx_sb *sb0, int r1,
		  const struct odx_sb *sb1, const char **note,
		  const char **err)
{
	const struct odx_sb *newer, *older;

	*note = NULL;
	if (!r0 && !r1) {
		newer = sb0->txn_id > sb1->txn_id ? sb0 : sb1;
		older = newer == sb0 ? sb1 : sb0;
		if (memcmp(sb0->uuid, sb1->uuid, sizeof(sb0->uuid))) {
			*err = "superblock slots belong to different volumes";
			return -EINVAL;
		}
		if (newer->txn_id != older->txn_id + 1) {
			*err = "superblock slots out of sequence";
			return -ESTALE;
		}
		if (newer->slab_sectors != older->slab_sectors ||
		    memcmp(&newer->layout, &older->layout,
			   sizeof(newer->layout))) {
			*err = "superblock slots disagree on the layout";
			return -EINVAL;
		}
		return newer == sb0 ? 0 : 1;
	}
	if (!r0) {
		/* slot 1 is still empty until transaction 1 */
		if (r1 != -ENODATA)
			*note = "superblock slot 1 damaged, using slot 0";
		else if (sb0->txn_id)
			*note = "superblock slot 1 is all zeros, using slot 0";
		return 0;
	}
	if (!r1) {
		*note = r0 == -ENODATA ?
			"superblock slot 0 is all zeros, using slot 1" :
			"superblock slot 0 damaged, using slot 1";
		return 1;
	}
	if (r0 == -ENODATA && r1 == -ENODATA) {
		*err = "metadata device is not formatted";
		return -ENODATA;
	}
	*err = "no valid superblock in either slot";
	return r0 != -ENODATA ? r0 : r1;
}

int odx_sb_check_table(const struct odx_sb *sb, u32 slab_sectors,
		       u64 meta_dev_blocks, u64 data_dev_sectors,
		       u64 virtual_sectors, u64 *data_slabs, const char **err)
{
	const struct odx_layout *l = &sb->layout;
	u64 d;
	int r;

	if (slab_sectors != sb->slab_sectors) {
		*err = "slab size differs from the one in the metadata";
		return -EINVAL;
	}
	r = odx_layout_validate(l, meta_dev_blocks, err);
	if (r)
		return r;
	d = odx_min_u64(odx_div_u64(data_dev_sectors, slab_sectors),
			l->max_data_slabs);
	if (d < sb->data_slabs) {
		*err = "data device smaller than the metadata records";
		return -EINVAL;
	}
	if (virtual_sectors < sb->virtual_sectors) {
		*err = "virtual size smaller than the metadata records";
		return -EINVAL;
	}
	if (odx_div_up(virtual_sectors, slab_sectors) > l->max_virtual_slabs) {
		*err = "virtual size beyond what the metadata was formatted for";
		return -ENOSPC;
	}
	*data_slabs = d;
	return 0;
}

/* ---- map and refcount blocks ---------------------------------------------- */

static_assert(ODX_UNMAPPED == 0xffffffffU, "a map block is initialised by memset");

void odx_map_block_init(void *block)
{
	struct odx_map_block *b = block;

	memset(&b->hdr, 0, sizeof(b->hdr));
	memset(b->entries, 0xff, sizeof(b->entries));
}

void odx_refcount_block_init(void *block)
{
	memset(block, 0, ODX_BLOCK_SIZE);
}

int odx_map_block_validate(const void *block, u64 index, u64 virtual_slabs,
			   u64 data_slabs, const char **err)
{
	const struct odx_map_block *b = block;
	u64 first = index * ODX_MAP_ENTRIES_PER_BLOCK;
	unsigned int i;
	int mapped = 0;

	for (i = 0; i < ODX_MAP_ENTRIES_PER_BLOCK; i++) {
		u32 p = le32_to_cpu(b->entries[i]);

		if (p == ODX_UNMAPPED)
			continue;
		if (first + i >= virtual_slabs) {
			*err = "map entry beyond the virtual size";
			return -EINVAL;
		}
		if (p >= data_slabs) {
			*err = "map entry beyond the data device";
			return -EINVAL;
		}
		mapped++;
	}
	return mapped;
}

int odx_refcount_block_validate(const void *block, u64 index,
				u64 data_slabs, u32 *used, u32 *shared,
				const char **err)
{
	const struct odx_refcount_block *b = block;
	u64 first = index * ODX_REFCOUNTS_PER_BLOCK;
	unsigned int i;

	*used = 0;
	*shared = 0;
	for (i = 0; i < ODX_REFCOUNTS_PER_BLOCK; i++) {
		u16 c = le16_to_cpu(b->counts[i]);

		if (!c)
			continue;
		if (first + i >= data_slabs) {
			*err = "reference count beyond the data device";
			return -EINVAL;
		}
		(*used)++;
		if (c > 1)
			(*shared)++;
	}
	return 0;
}

/* ---- journal ---------------------------------------------------------------- */

void odx_journal_init(void *jblock)
{
	memset(jblock, 0, ODX_BLOCK_SIZE);
}

int odx_journal_add(void *jblock, const void *payload, const char **err)
{
	struct odx_journal_header *jh = jblock;
	const struct odx_block_header *ph = payload;
	u32 n = le32_to_cpu(jh->nr_entries);
	u64 target = le64_to_cpu(ph->blocknr);

	if (n >= ODX_JOURNAL_MAX_ENTRIES) {
		*err = "journal full";
		return -ENOSPC;
	}
	if (target > U32_MAX) {
		*err = "journal target beyond 32 bits";
		return -EINVAL;
	}
	if (n && target <= le32_to_cpu(jh->entries[n - 1].target)) {
		*err = "journal entries not in ascending order";
		return -EINVAL;
	}
	jh->entries[n].target = cpu_to_le32(target);
	jh->entries[n].csum = ph->csum;
	jh->nr_entries = cpu_to_le32(n + 1);
	return 0;
}

void odx_journal_seal(void *jblock, const struct odx_layout *l, u64 txn_id)
{
	unsigned int slot = odx_txn_slot(txn_id);

	odx_block_prepare(jblock, ODX_BLOCK_JOURNAL,
			  odx_journal_slot_start(l, slot), txn_id);
}

u64 odx_journal_target(const void *jblock, unsigned int i)
{
	const struct odx_journal_header *jh = jblock;

	return le32_to_cpu(jh->entries[i].target);
}

int odx_journal_check(const void *jblock, const struct odx_sb *sb,
		      const char **err)
{
	const struct odx_journal_header *jh = jblock;
	const struct odx_layout *l = &sb->layout;
	u64 start = odx_journal_slot_start(l, odx_txn_slot(sb->txn_id));
	u32 n, i;
	u64 prev = 0;
	int r;

	r = odx_block_check(jblock, ODX_BLOCK_JOURNAL, start, sb->txn_id, err);
	if (r)
		return r;
	if (le64_to_cpu(jh->hdr.txn_id) != sb->txn_id) {
		*err = "journal header from another transaction";
		return -ESTALE;
	}
	n = le32_to_cpu(jh->nr_entries);
	if (n != sb->journal_entries) {
		*err = "journal length differs from the superblock's";
		return -EINVAL;
	}
	if (jh->reserved) {
		*err = "nonzero reserved field in journal header";
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		u64 t = le32_to_cpu(jh->entries[i].target);

		if (t < l->refcount_start || t >= odx_layout_end(l)) {
			*err = "journal target outside the refcount and map areas";
			return -EINVAL;
		}
		if (i && t <= prev) {
			*err = "journal entries not in ascending order";
			return -EINVAL;
		}
		prev = t;
	}
	if (memchr_inv(&jh->entries[n], 0,
		       (ODX_JOURNAL_MAX_ENTRIES - n) * sizeof(jh->entries[0]))) {
		*err = "nonzero unused journal entries";
		return -EINVAL;
	}
	return 0;
}

int odx_journal_payload_check(const void *payload, const void *jblock,
			      const struct odx_sb *sb, unsigned int i,
			      const char **err)
{
	const struct odx_journal_header *jh = jblock;
	const struct odx_block_header *ph = payload;
	u64 target;
	u32 type;
	int r;

	if (i >= le32_to_cpu(jh->nr_entries)) {
		*err = "no such journal entry";
		return -EINVAL;
	}
	target = le32_to_cpu(jh->entries[i].target);
	type = target < sb->layout.map_start ? ODX_BLOCK_REFCOUNT :
					       ODX_BLOCK_MAP;
	r = odx_block_check(payload, type, target, sb->txn_id, err);
	if (r)
		return r;
	if (le64_to_cpu(ph->txn_id) != sb->txn_id) {
		*err = "journal payload from another transaction";
		return -ESTALE;
	}
	if (ph->csum != jh->entries[i].csum) {
		*err = "journal payload does not match its header entry";
		return -EBADMSG;
	}
	return 0;
}
