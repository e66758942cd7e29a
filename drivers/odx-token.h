/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dm-odx: offload tokens, without any I/O.
 *
 * The wire form (struct odx_token, include/uapi/linux/dm-odx.h) is
 * encoded and decoded here, and each volume keeps the tokens it issued in
 * a struct odx_token_table: what each stands for (its source ranges), its
 * secret, its lifetime, and why it died once it did. The control device
 * (offload read and write) and the copy engine use it; KUnit drives it
 * directly, with a clock of its own.
 *
 * Life of a token. odx_token_create() issues one: it is live. It dies
 * when its inactivity time passes with no use, when it reaches the
 * table's maximum age whatever its use (expired), when a write overlaps
 * the ranges of a change-vulnerable token, when odx_token_revoke() or
 * odx_token_revoke_all() (the volume goes away) is called (revoked),
 * or when its caller gives it back with odx_token_release() (released).
 * Expiry is checked against the table's clock whenever the table is used
 * and by odx_token_reap(), which the owner calls now and then so that
 * the resources of idle tokens go back promptly. A dead token's record
 * stays for a while (up to limits.max_dead of them, oldest forgotten
 * first) so that using it reports why it died; a forgotten one is
 * unknown (-ENOKEY).
 *
 * What a live token stands for is a struct odx_token_data, reference
 * counted: the table holds one reference while the token lives, and a
 * successful odx_token_lookup() gives the caller one for the duration
 * of its copy, so a token that dies meanwhile keeps its data (and its
 * pinned slabs) until that copy is done.
 *
 * Pinning. A point-in-time token keeps its data even after its source is
 * written: the copy engine pins the source slabs (a write into a pinned
 * slab copies it first) and unpins them when the token's data is freed.
 * This layer only provides the hooks: odx_token_set_pin() attaches the
 * engine's unpin callback and context to a new token (called between
 * odx_token_create() and handing the token to the caller), and
 * odx_token_charge_pinned() accounts the pinned slabs against the
 * table's limit (limits.max_pinned, -EDQUOT beyond), and those of a
 * reader's token (made through an fd without write access, by a caller
 * without CAP_SYS_ADMIN) against the readers' share of it as well
 * (limits.max_pinned_by_readers). The charge is given
 * back when the token dies; ops->unpin runs at the last reference.
 *
 * Locking. A table has one spinlock (irq-safe), held only for short
 * bounded work: everything may be called from process context, and
 * odx_token_invalidate_range() and odx_token_stats() also from atomic
 * context. Allocations and the final odx_token_put() (which calls the
 * unpin hook, which may sleep) happen outside the lock: odx_token_put()
 * must be called from process context.
 */
#ifndef DM_ODX_TOKEN_H
#define DM_ODX_TOKEN_H

#include <linux/hashtable.h>
#include <linux/list.h>
#include <linux/refcount.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <uapi/linux/dm-odx.h>

/* Defaults of struct odx_token_limits */
#define ODX_TOKEN_DEFAULT_MAX_TOKENS	256U	/* live, per volume */
#define ODX_TOKEN_DEFAULT_MAX_DEAD	64U	/* records kept of dead ones */
#define ODX_TOKEN_DEFAULT_LIFETIME	60U	/* s of inactivity */
#define ODX_TOKEN_DEFAULT_MAX_LIFETIME	600U	/* s of inactivity */
#define ODX_TOKEN_DEFAULT_MAX_AGE	3600U	/* s since created */

#define ODX_TOKEN_VOLUME_ID_SIZE	16
#define ODX_TOKEN_HASH_BITS		6

struct odx_token_limits {
	u32 max_tokens;			/* live tokens; 0: none issued */
	u32 max_dead;			/* records of dead tokens */
	u32 default_lifetime;		/* s: asked for 0 */
	u32 max_lifetime;		/* s: more asked is cut to this */
	u32 max_age;			/* s: even a busy token dies then */
	u64 max_pinned;			/* slabs pinned by all live tokens */
	u64 max_pinned_by_readers;	/* of which by readers' tokens */
};

void odx_token_default_limits(struct odx_token_limits *limits);

/* A token's fields, as decoded from or encoded to its wire form. */
struct odx_token_info {
	u32 type;			/* ODX_TOKEN_* */
	u8 volume_id[ODX_TOKEN_VOLUME_ID_SIZE];
	u64 instance;
	u64 id;
	u64 bytes;
	u32 range_count;
	u32 lifetime;			/* s */
	u8 secret[ODX_TOKEN_SECRET_SIZE];
};

void odx_token_encode(const struct odx_token_info *info,
		      struct odx_token *tok);

/*
 * Decode @len bytes at @buf. Errors: -EMSGSIZE (fewer than
 * ODX_TOKEN_SIZE bytes, or the length field is not ODX_TOKEN_LENGTH),
 * -EPROTONOSUPPORT (unknown type), -EKEYREJECTED (a reserved byte set, a
 * zero token with any other byte set, or fields no volume issues: no
 * bytes, no range or too many). The zero token decodes with bytes =
 * U64_MAX and everything else zero.
 */
int odx_token_decode(const void *buf, size_t len, struct odx_token_info *info);

/* The well-known zero token. */
void odx_token_make_zero(struct odx_token *tok);

static inline bool odx_token_is_zero(const struct odx_token_info *info)
{
	return info->type == ODX_TOKEN_ZERO;
}

/*
 * The SCSI additional sense code qualifier (ASC 0x23, invalid token
 * operation) of a token errno: ODX_ASCQ_*, or 0 when @err is not one.
 */
u8 odx_token_ascq(int err);

struct odx_token_data;

/* The copy engine's hook: see "Pinning" above. */
struct odx_token_pin_ops {
	/* the last reference to @data went: release what it pinned */
	void (*unpin)(struct odx_token_data *data, void *ctx);
};

/* What a live token stands for. Immutable but for the pin fields. */
struct odx_token_data {
	refcount_t ref;
	u32 type;
	u64 id;
	u64 bytes;			/* the ranges' lengths added up */
	struct list_head put_link;	/* odx-token.c: put after unlocking */
	u64 pinned;			/* slabs charged: under the table lock */
	bool by_reader;			/* charged to the readers' share too */
	const struct odx_token_pin_ops *pin_ops;
	void *pin_ctx;
	u32 nr_ranges;
	struct odx_range ranges[] __counted_by(nr_ranges);
};

void odx_token_get(struct odx_token_data *data);
/* Process context: the last one calls pin_ops->unpin. */
void odx_token_put(struct odx_token_data *data);

/*
 * Map a byte offset into a token's data (@transfer_offset) to the
 * volume: *@offset is where it lies on the source, *@len how many bytes
 * from there lie in the same range. -ERANGE when @transfer_offset is not
 * inside the data.
 */
int odx_token_data_locate(const struct odx_token_data *data,
			  u64 transfer_offset, u64 *offset, u64 *len);

/* The record of an issued token, live or dead: odx-token.c only. */
struct odx_token_entry;

struct odx_token_stats {
	u32 live;
	u32 dead;			/* records kept */
	u32 change_vulnerable;		/* live ones */
	u64 pinned;			/* slabs charged by live tokens */
	u64 pinned_by_readers;		/* of which by readers' tokens */
	u64 created;
	u64 expired;
	u64 revoked;
	u64 released;
};

struct odx_token_table {
	spinlock_t lock;		/* protects everything below */
	u8 volume_id[ODX_TOKEN_VOLUME_ID_SIZE];
	u64 instance;			/* random, at init */
	u64 next_id;
	struct odx_token_limits limits;
	u64 (*clock)(void *ctx);	/* ms, monotonic */
	void *clock_ctx;
	DECLARE_HASHTABLE(hash, ODX_TOKEN_HASH_BITS); /* entries by id */
	struct list_head live;		/* oldest first */
	struct list_head dead;		/* longest dead first */
	u32 nr_live, nr_dead, nr_cv;
	u64 pinned;
	u64 pinned_by_readers;		/* of pinned, by readers' tokens */
	u64 created, expired, revoked, released;
	bool closed;			/* revoke_all: issues no more */
};

/*
 * @clock returns milliseconds of a monotonic clock; NULL means boot time
 * (which goes on during suspend, so tokens expire across it). The
 * instance is chosen at random.
 */
void odx_token_table_init(struct odx_token_table *tbl,
			  const u8 volume_id[ODX_TOKEN_VOLUME_ID_SIZE],
			  const struct odx_token_limits *limits,
			  u64 (*clock)(void *ctx), void *clock_ctx);
/* Revokes every token and frees every record (process context). */
void odx_token_table_destroy(struct odx_token_table *tbl);

/*
 * Issue a token of @type (0: ODX_TOKEN_PIT) for @nr_ranges ranges (1 ..
 * ODX_OFFLOAD_MAX_RANGES, each nonzero, already cut by the caller to
 * what the token is to represent), inactivity time @lifetime seconds (0:
 * the default; cut to the maximum). Writes the token to @tok and, if
 * @datap, gives the caller a reference to its data (for the pin hooks).
 * Errors: -EPROTONOSUPPORT (type), -EINVAL (no range, an empty one, or
 * the total overflows), -E2BIG (too many ranges), -EDQUOT (the table
 * holds its maximum of live tokens), -ENODEV (the table was revoked),
 * -ENOMEM.
 */
int odx_token_create(struct odx_token_table *tbl, u32 type, u32 lifetime,
		     const struct odx_range *ranges, u32 nr_ranges,
		     struct odx_token *tok, struct odx_token_data **datap);

/* The pin hooks of a token just created, before anyone else sees it. */
void odx_token_set_pin(struct odx_token_data *data,
		       const struct odx_token_pin_ops *ops, void *ctx);
/*
 * Charge @slabs more pinned slabs to a live token: -EDQUOT past the limit,
 * or past the readers' share when @by_reader (the token's every charge
 * must say the same).
 */
int odx_token_charge_pinned(struct odx_token_table *tbl,
			    struct odx_token_data *data, u64 slabs,
			    bool by_reader);

/*
 * Find the live token @info (decoded) stands for and check it: the
 * volume (-EXDEV), the instance (-EKEYREVOKED: an earlier activation's),
 * the id (-ENOKEY), the secret, in constant time, and the other fields
 * (-EKEYREJECTED), then why it died if it did (-EKEYEXPIRED,
 * -EKEYREVOKED, -EIDRM: released). A use counts as activity. On success
 * *@datap is a reference to its data (odx_token_put() it); for the zero
 * token it is NULL and @tbl is not used (it may be NULL).
 */
int odx_token_lookup(struct odx_token_table *tbl,
		     const struct odx_token_info *info,
		     struct odx_token_data **datap);

/*
 * Is token @id still live (0), or why did it die (its errno; -ENOKEY
 * once forgotten)? Does not count as a use. Any context.
 */
int odx_token_state(struct odx_token_table *tbl, u64 id);

/*
 * A caller is done with the token @info (decoded): it dies now, and a
 * use later reports -EIDRM. Its pinned slabs stop counting against the
 * limit at once and are unpinned here, unless a copy still holds the
 * token's data (then at that copy's odx_token_put()). Checked as
 * odx_token_lookup() does, except that a token of another volume and an
 * id not known here (never issued, or forgotten) are both -ENOENT, and
 * the zero token, no volume's, is -EPROTONOSUPPORT. A dead token reports
 * why it died. Process context.
 */
int odx_token_release(struct odx_token_table *tbl,
		      const struct odx_token_info *info);

/* Revoke the live token @id (a token whose pinning failed). */
void odx_token_revoke(struct odx_token_table *tbl, u64 id);
/* Revoke every live token and issue no more (the volume goes away). */
void odx_token_revoke_all(struct odx_token_table *tbl);
/*
 * A write to [offset, offset + length): revokes the live
 * change-vulnerable tokens whose ranges it overlaps; returns how many.
 * Costs nothing while there are none.
 */
unsigned int odx_token_invalidate_range(struct odx_token_table *tbl,
					u64 offset, u64 length);
/* Expire the tokens whose time has come; returns how many. */
unsigned int odx_token_reap(struct odx_token_table *tbl);

void odx_token_stats(struct odx_token_table *tbl, struct odx_token_stats *st);

/*
 * The identities of the volumes that went away (most recent
 * ODX_TOKEN_GRAVEYARD_SIZE), so that a token of a removed volume is
 * reported revoked rather than foreign. Any context.
 */
#define ODX_TOKEN_GRAVEYARD_SIZE	64U

struct odx_token_graveyard {
	spinlock_t lock;
	unsigned int next, count;
	u8 ids[ODX_TOKEN_GRAVEYARD_SIZE][ODX_TOKEN_VOLUME_ID_SIZE];
};

void odx_token_graveyard_init(struct odx_token_graveyard *gy);
void odx_token_graveyard_add(struct odx_token_graveyard *gy,
			     const u8 volume_id[ODX_TOKEN_VOLUME_ID_SIZE]);
bool odx_token_graveyard_has(struct odx_token_graveyard *gy,
			     const u8 volume_id[ODX_TOKEN_VOLUME_ID_SIZE]);

#endif
