// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-odx: offload tokens (see odx-token.h).
 */
#include <crypto/utils.h>
#include <linux/errno.h>
#include <linux/hash.h>
#include <linux/ktime.h>
#include <linux/overflow.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/timekeeping.h>

#include "odx-token.h"

static_assert(sizeof(struct odx_token) == ODX_TOKEN_SIZE);
static_assert(offsetof(struct odx_token, type) == 0);
static_assert(offsetof(struct odx_token, length) == 6);
static_assert(offsetof(struct odx_token, volume_id) == 8);
static_assert(offsetof(struct odx_token, secret) == 56);
static_assert(ODX_TOKEN_SIZE - 8 == ODX_TOKEN_LENGTH);
static_assert(ODX_TOKEN_SECRET_SIZE >= 16, "at least 128 bits of secret");

/* The record of an issued token. */
struct odx_token_entry {
	struct hlist_node node;		/* tbl->hash, by id */
	struct list_head list;		/* tbl->live or tbl->dead */
	u64 id;
	u32 type;
	u32 lifetime;			/* s */
	u64 bytes;
	u32 range_count;
	int state;			/* 0 live, else what a use reports */
	u64 created, last_used;		/* ms of the table clock */
	struct odx_token_data *data;	/* live: the table's reference */
	u8 secret[ODX_TOKEN_SECRET_SIZE];
};

void odx_token_default_limits(struct odx_token_limits *limits)
{
	*limits = (struct odx_token_limits){
		.max_tokens = ODX_TOKEN_DEFAULT_MAX_TOKENS,
		.max_dead = ODX_TOKEN_DEFAULT_MAX_DEAD,
		.default_lifetime = ODX_TOKEN_DEFAULT_LIFETIME,
		.max_lifetime = ODX_TOKEN_DEFAULT_MAX_LIFETIME,
		.max_age = ODX_TOKEN_DEFAULT_MAX_AGE,
		.max_pinned = U64_MAX,
		.max_pinned_by_readers = U64_MAX,
	};
}

/* The wire form */

void odx_token_encode(const struct odx_token_info *info,
		      struct odx_token *tok)
{
	memset(tok, 0, sizeof(*tok));
	tok->type = cpu_to_be32(info->type);
	tok->length = cpu_to_be16(ODX_TOKEN_LENGTH);
	if (info->type == ODX_TOKEN_ZERO)
		return;
	memcpy(tok->volume_id, info->volume_id, sizeof(tok->volume_id));
	tok->instance = cpu_to_be64(info->instance);
	tok->id = cpu_to_be64(info->id);
	tok->bytes = cpu_to_be64(info->bytes);
	tok->range_count = cpu_to_be32(info->range_count);
	tok->lifetime = cpu_to_be32(info->lifetime);
	memcpy(tok->secret, info->secret, sizeof(tok->secret));
}

void odx_token_make_zero(struct odx_token *tok)
{
	struct odx_token_info zero = { .type = ODX_TOKEN_ZERO };

	odx_token_encode(&zero, tok);
}

int odx_token_decode(const void *buf, size_t len, struct odx_token_info *info)
{
	const struct odx_token *tok = buf;
	const u8 *bytes = buf;

	memset(info, 0, sizeof(*info));
	if (len < ODX_TOKEN_SIZE || be16_to_cpu(tok->length) != ODX_TOKEN_LENGTH)
		return -EMSGSIZE;
	info->type = be32_to_cpu(tok->type);
	switch (info->type) {
	case ODX_TOKEN_ZERO:
		/* every byte but the type and the length is zero */
		if (memchr_inv(tok->reserved1, 0, sizeof(tok->reserved1)) ||
		    memchr_inv(bytes + 8, 0, ODX_TOKEN_SIZE - 8))
			return -EKEYREJECTED;
		info->bytes = U64_MAX;
		return 0;
	case ODX_TOKEN_PIT:
	case ODX_TOKEN_CHANGE_VULNERABLE:
		break;
	default:
		return -EPROTONOSUPPORT;
	}
	if (memchr_inv(tok->reserved1, 0, sizeof(tok->reserved1)) ||
	    memchr_inv(tok->reserved2, 0, sizeof(tok->reserved2)))
		return -EKEYREJECTED;
	memcpy(info->volume_id, tok->volume_id, sizeof(info->volume_id));
	info->instance = be64_to_cpu(tok->instance);
	info->id = be64_to_cpu(tok->id);
	info->bytes = be64_to_cpu(tok->bytes);
	info->range_count = be32_to_cpu(tok->range_count);
	info->lifetime = be32_to_cpu(tok->lifetime);
	memcpy(info->secret, tok->secret, sizeof(info->secret));
	if (!info->bytes || !info->range_count ||
	    info->range_count > ODX_OFFLOAD_MAX_RANGES)
		return -EKEYREJECTED;
	return 0;
}

u8 odx_token_ascq(int err)
{
	switch (err) {
	case -EMSGSIZE:
		return ODX_ASCQ_INVALID_LENGTH;
	case -EPROTONOSUPPORT:
		return ODX_ASCQ_UNSUPPORTED_TYPE;
	case -EKEYREJECTED:
		return ODX_ASCQ_TOKEN_CORRUPT;
	case -EKEYEXPIRED:
		return ODX_ASCQ_TOKEN_EXPIRED;
	case -EKEYREVOKED:
		return ODX_ASCQ_TOKEN_REVOKED;
	case -ENOKEY:
		return ODX_ASCQ_TOKEN_UNKNOWN;
	case -EXDEV:
		return ODX_ASCQ_REMOTE_TOKEN;
	case -EIDRM:
		return ODX_ASCQ_TOKEN_DELETED;
	}
	return 0;
}

/* A token's data */

void odx_token_get(struct odx_token_data *data)
{
	refcount_inc(&data->ref);
}

void odx_token_put(struct odx_token_data *data)
{
	if (!data || !refcount_dec_and_test(&data->ref))
		return;
	if (data->pin_ops && data->pin_ops->unpin)
		data->pin_ops->unpin(data, data->pin_ctx);
	kfree(data);
}

int odx_token_data_locate(const struct odx_token_data *data,
			  u64 transfer_offset, u64 *offset, u64 *len)
{
	u64 skip = transfer_offset;
	u32 i;

	for (i = 0; i < data->nr_ranges; i++) {
		const struct odx_range *rg = &data->ranges[i];

		if (skip < rg->length) {
			*offset = rg->offset + skip;
			*len = rg->length - skip;
			return 0;
		}
		skip -= rg->length;
	}
	return -ERANGE;
}

/* The table */

static u64 odx_token_boottime_ms(void *ctx)
{
	return ktime_to_ms(ktime_get_boottime());
}

static u64 odx_token_now(struct odx_token_table *tbl)
{
	return tbl->clock(tbl->clock_ctx);
}

void odx_token_table_init(struct odx_token_table *tbl,
			  const u8 volume_id[ODX_TOKEN_VOLUME_ID_SIZE],
			  const struct odx_token_limits *limits,
			  u64 (*clock)(void *ctx), void *clock_ctx)
{
	memset(tbl, 0, sizeof(*tbl));
	spin_lock_init(&tbl->lock);
	memcpy(tbl->volume_id, volume_id, sizeof(tbl->volume_id));
	tbl->instance = get_random_u64();
	tbl->next_id = 1;
	tbl->limits = *limits;
	tbl->clock = clock ? clock : odx_token_boottime_ms;
	tbl->clock_ctx = clock_ctx;
	hash_init(tbl->hash);
	INIT_LIST_HEAD(&tbl->live);
	INIT_LIST_HEAD(&tbl->dead);
}

static void odx_token_forget(struct odx_token_table *tbl,
			     struct odx_token_entry *e)
{
	hash_del(&e->node);
	list_del(&e->list);
	tbl->nr_dead--;
	kfree_sensitive(e);
}

/*
 * The live token @e dies: from now on a use reports @why. Its data goes
 * on @puts, for the caller to put after unlocking. The oldest dead
 * records beyond the limit are forgotten.
 */
static void odx_token_kill(struct odx_token_table *tbl,
			   struct odx_token_entry *e, int why,
			   struct list_head *puts)
{
	struct odx_token_data *data = e->data;

	lockdep_assert_held(&tbl->lock);
	e->state = why;
	e->data = NULL;
	tbl->pinned -= data->pinned;
	if (data->by_reader)
		tbl->pinned_by_readers -= data->pinned;
	if (e->type == ODX_TOKEN_CHANGE_VULNERABLE)
		WRITE_ONCE(tbl->nr_cv, tbl->nr_cv - 1);
	if (why == -EKEYEXPIRED)
		tbl->expired++;
	else if (why == -EIDRM)
		tbl->released++;
	else
		tbl->revoked++;
	list_add_tail(&data->put_link, puts);
	list_move_tail(&e->list, &tbl->dead);
	tbl->nr_live--;
	tbl->nr_dead++;
	while (tbl->nr_dead > tbl->limits.max_dead)
		odx_token_forget(tbl, list_first_entry(&tbl->dead,
						       struct odx_token_entry,
						       list));
}

static void odx_token_put_list(struct list_head *puts)
{
	struct odx_token_data *data, *tmp;

	list_for_each_entry_safe(data, tmp, puts, put_link) {
		list_del(&data->put_link);
		odx_token_put(data);
	}
}

static bool odx_token_due(struct odx_token_table *tbl,
			  struct odx_token_entry *e, u64 now)
{
	return now - e->last_used >= (u64)e->lifetime * MSEC_PER_SEC ||
	       now - e->created >= (u64)tbl->limits.max_age * MSEC_PER_SEC;
}

static unsigned int odx_token_expire(struct odx_token_table *tbl, u64 now,
				     struct list_head *puts)
{
	struct odx_token_entry *e, *tmp;
	unsigned int n = 0;

	list_for_each_entry_safe(e, tmp, &tbl->live, list) {
		if (odx_token_due(tbl, e, now)) {
			odx_token_kill(tbl, e, -EKEYEXPIRED, puts);
			n++;
		}
	}
	return n;
}

unsigned int odx_token_reap(struct odx_token_table *tbl)
{
	unsigned long flags;
	unsigned int n;
	LIST_HEAD(puts);
	u64 now = odx_token_now(tbl);

	spin_lock_irqsave(&tbl->lock, flags);
	n = odx_token_expire(tbl, now, &puts);
	spin_unlock_irqrestore(&tbl->lock, flags);
	odx_token_put_list(&puts);
	return n;
}

void odx_token_revoke_all(struct odx_token_table *tbl)
{
	struct odx_token_entry *e, *tmp;
	unsigned long flags;
	LIST_HEAD(puts);

	spin_lock_irqsave(&tbl->lock, flags);
	tbl->closed = true;
	list_for_each_entry_safe(e, tmp, &tbl->live, list)
		odx_token_kill(tbl, e, -EKEYREVOKED, &puts);
	spin_unlock_irqrestore(&tbl->lock, flags);
	odx_token_put_list(&puts);
}

void odx_token_table_destroy(struct odx_token_table *tbl)
{
	struct odx_token_entry *e, *tmp;
	unsigned long flags;

	odx_token_revoke_all(tbl);
	spin_lock_irqsave(&tbl->lock, flags);
	list_for_each_entry_safe(e, tmp, &tbl->dead, list)
		odx_token_forget(tbl, e);
	spin_unlock_irqrestore(&tbl->lock, flags);
}

static struct odx_token_entry *odx_token_find(struct odx_token_table *tbl,
					      u64 id)
{
	struct odx_token_entry *e;

	hash_for_each_possible(tbl->hash, e, node, id)
		if (e->id == id)
			return e;
	return NULL;
}

int odx_token_create(struct odx_token_table *tbl, u32 type, u32 lifetime,
		     const struct odx_range *ranges, u32 nr_ranges,
		     struct odx_token *tok, struct odx_token_data **datap)
{
	struct odx_token_info info = { 0 };
	struct odx_token_data *data;
	struct odx_token_entry *e;
	unsigned long flags;
	u64 bytes = 0, now;
	LIST_HEAD(puts);
	int r = 0;
	u32 i;

	if (!type)
		type = ODX_TOKEN_PIT;
	if (type != ODX_TOKEN_PIT && type != ODX_TOKEN_CHANGE_VULNERABLE)
		return -EPROTONOSUPPORT;
	if (!nr_ranges)
		return -EINVAL;
	if (nr_ranges > ODX_OFFLOAD_MAX_RANGES)
		return -E2BIG;
	for (i = 0; i < nr_ranges; i++)
		if (!ranges[i].length ||
		    check_add_overflow(bytes, ranges[i].length, &bytes))
			return -EINVAL;
	if (!lifetime)
		lifetime = tbl->limits.default_lifetime;
	lifetime = min(lifetime, tbl->limits.max_lifetime);

	data = kzalloc(struct_size(data, ranges, nr_ranges), GFP_KERNEL);
	e = kzalloc(sizeof(*e), GFP_KERNEL);
	if (!data || !e) {
		kfree(data);
		kfree(e);
		return -ENOMEM;
	}
	refcount_set(&data->ref, 1);
	data->type = type;
	data->bytes = bytes;
	data->nr_ranges = nr_ranges;
	memcpy(data->ranges, ranges, nr_ranges * sizeof(*ranges));
	e->type = type;
	e->lifetime = lifetime;
	e->bytes = bytes;
	e->range_count = nr_ranges;
	e->data = data;
	get_random_bytes(e->secret, sizeof(e->secret));

	spin_lock_irqsave(&tbl->lock, flags);
	now = odx_token_now(tbl);
	/* room made by tokens whose time has come */
	odx_token_expire(tbl, now, &puts);
	if (tbl->closed)
		r = -ENODEV;
	else if (tbl->nr_live >= tbl->limits.max_tokens)
		r = -EDQUOT;
	if (r) {
		spin_unlock_irqrestore(&tbl->lock, flags);
		odx_token_put_list(&puts);
		kfree(data);
		kfree_sensitive(e);
		return r;
	}
	e->id = tbl->next_id++;
	data->id = e->id;
	e->created = now;
	e->last_used = now;
	hash_add(tbl->hash, &e->node, e->id);
	list_add_tail(&e->list, &tbl->live);
	tbl->nr_live++;
	tbl->created++;
	if (type == ODX_TOKEN_CHANGE_VULNERABLE)
		WRITE_ONCE(tbl->nr_cv, tbl->nr_cv + 1);
	if (datap) {
		odx_token_get(data);
		*datap = data;
	}
	info.type = type;
	memcpy(info.volume_id, tbl->volume_id, sizeof(info.volume_id));
	info.instance = tbl->instance;
	info.id = e->id;
	info.bytes = bytes;
	info.range_count = nr_ranges;
	info.lifetime = lifetime;
	memcpy(info.secret, e->secret, sizeof(info.secret));
	spin_unlock_irqrestore(&tbl->lock, flags);

	odx_token_put_list(&puts);
	odx_token_encode(&info, tok);
	memzero_explicit(&info, sizeof(info));
	return 0;
}

void odx_token_set_pin(struct odx_token_data *data,
		       const struct odx_token_pin_ops *ops, void *ctx)
{
	data->pin_ops = ops;
	data->pin_ctx = ctx;
}

int odx_token_charge_pinned(struct odx_token_table *tbl,
			    struct odx_token_data *data, u64 slabs,
			    bool by_reader)
{
	struct odx_token_entry *e;
	unsigned long flags;
	u64 total, readers = 0;
	int r = 0;

	spin_lock_irqsave(&tbl->lock, flags);
	e = odx_token_find(tbl, data->id);
	if (!e || e->data != data)
		r = -EKEYREVOKED;	/* died meanwhile */
	else if (data->pinned && data->by_reader != by_reader)
		r = -EINVAL;		/* charged as someone else before */
	else if (check_add_overflow(tbl->pinned, slabs, &total) ||
		 total > tbl->limits.max_pinned)
		r = -EDQUOT;
	else if (by_reader &&
		 (check_add_overflow(tbl->pinned_by_readers, slabs,
				     &readers) ||
		  readers > tbl->limits.max_pinned_by_readers))
		r = -EDQUOT;
	if (!r) {
		tbl->pinned = total;
		if (by_reader)
			tbl->pinned_by_readers = readers;
		data->by_reader = by_reader;
		data->pinned += slabs;
	}
	spin_unlock_irqrestore(&tbl->lock, flags);
	return r;
}

/*
 * The live entry the token @info (of this table's volume and instance)
 * stands for, checked as odx_token_lookup() says; one found due dies now.
 */
static int odx_token_match(struct odx_token_table *tbl,
			   const struct odx_token_info *info,
			   struct odx_token_entry **ep, struct list_head *puts)
{
	struct odx_token_entry *e;

	lockdep_assert_held(&tbl->lock);
	e = odx_token_find(tbl, info->id);
	if (!e)
		return -ENOKEY;
	if (crypto_memneq(e->secret, info->secret, sizeof(e->secret)) ||
	    e->type != info->type || e->bytes != info->bytes ||
	    e->range_count != info->range_count ||
	    e->lifetime != info->lifetime)
		return -EKEYREJECTED;
	if (e->state)
		return e->state;
	if (odx_token_due(tbl, e, odx_token_now(tbl))) {
		odx_token_kill(tbl, e, -EKEYEXPIRED, puts);
		return -EKEYEXPIRED;
	}
	*ep = e;
	return 0;
}

int odx_token_lookup(struct odx_token_table *tbl,
		     const struct odx_token_info *info,
		     struct odx_token_data **datap)
{
	struct odx_token_entry *e;
	unsigned long flags;
	LIST_HEAD(puts);
	int r;

	*datap = NULL;
	if (odx_token_is_zero(info))
		return 0;
	if (memcmp(info->volume_id, tbl->volume_id, sizeof(tbl->volume_id)))
		return -EXDEV;
	if (info->instance != tbl->instance)
		return -EKEYREVOKED;

	spin_lock_irqsave(&tbl->lock, flags);
	r = odx_token_match(tbl, info, &e, &puts);
	if (!r) {
		e->last_used = odx_token_now(tbl);
		odx_token_get(e->data);
		*datap = e->data;
	}
	spin_unlock_irqrestore(&tbl->lock, flags);
	odx_token_put_list(&puts);
	return r;
}

int odx_token_release(struct odx_token_table *tbl,
		      const struct odx_token_info *info)
{
	struct odx_token_entry *e;
	unsigned long flags;
	LIST_HEAD(puts);
	int r;

	if (odx_token_is_zero(info))
		return -EPROTONOSUPPORT;
	/* another volume's token is not there for this one */
	if (memcmp(info->volume_id, tbl->volume_id, sizeof(tbl->volume_id)))
		return -ENOENT;
	if (info->instance != tbl->instance)
		return -EKEYREVOKED;

	spin_lock_irqsave(&tbl->lock, flags);
	r = odx_token_match(tbl, info, &e, &puts);
	if (r == -ENOKEY)
		r = -ENOENT;
	else if (!r)
		odx_token_kill(tbl, e, -EIDRM, &puts);
	spin_unlock_irqrestore(&tbl->lock, flags);
	/* the last reference unpins now: a copy under way holds its own */
	odx_token_put_list(&puts);
	return r;
}

int odx_token_state(struct odx_token_table *tbl, u64 id)
{
	struct odx_token_entry *e;
	unsigned long flags;
	int r;

	spin_lock_irqsave(&tbl->lock, flags);
	e = odx_token_find(tbl, id);
	r = e ? e->state : -ENOKEY;
	spin_unlock_irqrestore(&tbl->lock, flags);
	return r;
}

void odx_token_revoke(struct odx_token_table *tbl, u64 id)
{
	struct odx_token_entry *e;
	unsigned long flags;
	LIST_HEAD(puts);

	spin_lock_irqsave(&tbl->lock, flags);
	e = odx_token_find(tbl, id);
	if (e && !e->state)
		odx_token_kill(tbl, e, -EKEYREVOKED, &puts);
	spin_unlock_irqrestore(&tbl->lock, flags);
	odx_token_put_list(&puts);
}

static bool odx_token_overlaps(const struct odx_token_data *data, u64 start,
			       u64 end)
{
	u32 i;

	for (i = 0; i < data->nr_ranges; i++) {
		const struct odx_range *rg = &data->ranges[i];

		if (rg->offset < end && start < rg->offset + rg->length)
			return true;
	}
	return false;
}

unsigned int odx_token_invalidate_range(struct odx_token_table *tbl,
					u64 offset, u64 length)
{
	struct odx_token_entry *e, *tmp;
	u64 end = offset + length;
	unsigned long flags;
	unsigned int n = 0;
	LIST_HEAD(puts);

	if (!length || !READ_ONCE(tbl->nr_cv))
		return 0;
	if (end < offset)
		end = U64_MAX;
	spin_lock_irqsave(&tbl->lock, flags);
	list_for_each_entry_safe(e, tmp, &tbl->live, list) {
		if (e->type != ODX_TOKEN_CHANGE_VULNERABLE ||
		    !odx_token_overlaps(e->data, offset, end))
			continue;
		odx_token_kill(tbl, e, -EKEYREVOKED, &puts);
		n++;
	}
	spin_unlock_irqrestore(&tbl->lock, flags);
	/*
	 * A change-vulnerable token pins nothing, so this is not the last
	 * reference's unpin but a plain free, fine in atomic context, unless
	 * a copy holds the data, in which case its odx_token_put() frees it.
	 */
	odx_token_put_list(&puts);
	return n;
}

void odx_token_stats(struct odx_token_table *tbl, struct odx_token_stats *st)
{
	unsigned long flags;

	spin_lock_irqsave(&tbl->lock, flags);
	st->live = tbl->nr_live;
	st->dead = tbl->nr_dead;
	st->change_vulnerable = tbl->nr_cv;
	st->pinned = tbl->pinned;
	st->pinned_by_readers = tbl->pinned_by_readers;
	st->created = tbl->created;
	st->expired = tbl->expired;
	st->revoked = tbl->revoked;
	st->released = tbl->released;
	spin_unlock_irqrestore(&tbl->lock, flags);
}

/* The graveyard */

void odx_token_graveyard_init(struct odx_token_graveyard *gy)
{
	memset(gy, 0, sizeof(*gy));
	spin_lock_init(&gy->lock);
}

static bool odx_token_graveyard_find(struct odx_token_graveyard *gy,
				     const u8 *volume_id)
{
	unsigned int i;

	for (i = 0; i < gy->count; i++)
		if (!memcmp(gy->ids[i], volume_id, ODX_TOKEN_VOLUME_ID_SIZE))
			return true;
	return false;
}

void odx_token_graveyard_add(struct odx_token_graveyard *gy,
			     const u8 volume_id[ODX_TOKEN_VOLUME_ID_SIZE])
{
	unsigned long flags;

	spin_lock_irqsave(&gy->lock, flags);
	if (!odx_token_graveyard_find(gy, volume_id)) {
		memcpy(gy->ids[gy->next], volume_id, ODX_TOKEN_VOLUME_ID_SIZE);
		gy->next = (gy->next + 1) % ODX_TOKEN_GRAVEYARD_SIZE;
		if (gy->count < ODX_TOKEN_GRAVEYARD_SIZE)
			gy->count++;
	}
	spin_unlock_irqrestore(&gy->lock, flags);
}

bool odx_token_graveyard_has(struct odx_token_graveyard *gy,
			     const u8 volume_id[ODX_TOKEN_VOLUME_ID_SIZE])
{
	unsigned long flags;
	bool found;

	spin_lock_irqsave(&gy->lock, flags);
	found = odx_token_graveyard_find(gy, volume_id);
	spin_unlock_irqrestore(&gy->lock, flags);
	return found;
}
