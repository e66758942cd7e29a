// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit: offload tokens: the 512-byte wire form byte for byte, decoding
 * and its rejections, and the token table (lookup and validation,
 * lifetime and inactivity on a fake clock, the bounds, revocation,
 * change-vulnerable invalidation, the pin hooks, release), and the zero
 * token.
 */
#include <kunit/resource.h>
#include <kunit/test.h>
#include <linux/errno.h>
#include <linux/sizes.h>
#include <linux/string.h>

#include "odx-token.h"

#define SEC	1000ULL		/* ms */

static const u8 vol_a[ODX_TOKEN_VOLUME_ID_SIZE] = {
	0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
	0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
};
static const u8 vol_b[ODX_TOKEN_VOLUME_ID_SIZE] = {
	0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27,
	0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f,
};

static const struct odx_range one_range[] = { { SZ_1M, SZ_256K } };
static const struct odx_range two_ranges[] = {
	{ 0, SZ_64K }, { SZ_1M, SZ_128K },
};

/* The fake clock: KUnit moves time by hand. */
struct fake_clock {
	u64 now;
};

static u64 fake_clock_read(void *ctx)
{
	return ((struct fake_clock *)ctx)->now;
}

struct tok_env {
	struct fake_clock clock;
	struct odx_token_table tbl;
	struct odx_token tok;
	struct odx_token_info info;
};

static void tok_table_destroy(void *p)
{
	odx_token_table_destroy(p);
}

static void tok_data_put(void *p)
{
	odx_token_put(p);
}

/* A table for @vol at time 1000 s with @limits (NULL: the defaults). */
static struct tok_env *tok_env_new(struct kunit *test, const u8 *vol,
				   const struct odx_token_limits *limits)
{
	struct odx_token_limits def;
	struct tok_env *env;

	env = kunit_kzalloc(test, sizeof(*env), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, env);
	if (!limits) {
		odx_token_default_limits(&def);
		limits = &def;
	}
	env->clock.now = 1000 * SEC;
	odx_token_table_init(&env->tbl, vol, limits, fake_clock_read,
			     &env->clock);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test,
							tok_table_destroy,
							&env->tbl), 0);
	return env;
}

/* Create a token and decode it into env->info. */
static int tok_create(struct kunit *test, struct tok_env *env, u32 type,
		      u32 lifetime, const struct odx_range *ranges, u32 nr)
{
	int r = odx_token_create(&env->tbl, type, lifetime, ranges, nr,
				 &env->tok, NULL);

	if (!r)
		KUNIT_EXPECT_EQ(test, odx_token_decode(&env->tok,
						       sizeof(env->tok),
						       &env->info), 0);
	return r;
}

/* Look env->info up; a success's reference is dropped at once. */
static int tok_use(struct tok_env *env, const struct odx_token_info *info)
{
	struct odx_token_data *data;
	int r = odx_token_lookup(&env->tbl, info, &data);

	odx_token_put(data);
	return r;
}

static void odx_token_layout_test(struct kunit *test)
{
	struct odx_token_info in = {
		.type = ODX_TOKEN_PIT,
		.instance = 0x0102030405060708ULL,
		.id = 0x1112131415161718ULL,
		.bytes = 0x2122232425262728ULL,
		.range_count = 0x31323334,
		.lifetime = 0x41424344,
	};
	struct odx_token tok;
	const u8 *b = (const u8 *)&tok;
	unsigned int i;

	memcpy(in.volume_id, vol_a, sizeof(in.volume_id));
	for (i = 0; i < sizeof(in.secret); i++)
		in.secret[i] = 0x80 + i;
	odx_token_encode(&in, &tok);

	KUNIT_EXPECT_EQ(test, sizeof(tok), (size_t)512);
	/* the type, big-endian, at 0; reserved; the length 0x1F8 at 6 */
	KUNIT_EXPECT_EQ(test, b[0], 0x00);
	KUNIT_EXPECT_EQ(test, b[1], 0x80);
	KUNIT_EXPECT_EQ(test, b[2], 0x00);
	KUNIT_EXPECT_EQ(test, b[3], 0x00);
	KUNIT_EXPECT_EQ(test, b[4], 0x00);
	KUNIT_EXPECT_EQ(test, b[5], 0x00);
	KUNIT_EXPECT_EQ(test, b[6], 0x01);
	KUNIT_EXPECT_EQ(test, b[7], 0xF8);
	/* the volume at 8, then big-endian instance, id, bytes */
	KUNIT_EXPECT_EQ(test, memcmp(b + 8, vol_a, 16), 0);
	for (i = 0; i < 8; i++) {
		KUNIT_EXPECT_EQ(test, b[24 + i], 0x01 + i);
		KUNIT_EXPECT_EQ(test, b[32 + i], 0x11 + i);
		KUNIT_EXPECT_EQ(test, b[40 + i], 0x21 + i);
	}
	for (i = 0; i < 4; i++) {
		KUNIT_EXPECT_EQ(test, b[48 + i], 0x31 + i);
		KUNIT_EXPECT_EQ(test, b[52 + i], 0x41 + i);
	}
	/* the secret at 56, then zeros to the end */
	for (i = 0; i < ODX_TOKEN_SECRET_SIZE; i++)
		KUNIT_EXPECT_EQ(test, b[56 + i], 0x80 + i);
	KUNIT_EXPECT_NULL(test, memchr_inv(b + 56 + ODX_TOKEN_SECRET_SIZE, 0,
					   512 - 56 - ODX_TOKEN_SECRET_SIZE));
}

static void odx_token_round_trip_test(struct kunit *test)
{
	struct odx_token_info in = {
		.type = ODX_TOKEN_CHANGE_VULNERABLE,
		.instance = U64_MAX - 1,
		.id = 77,
		.bytes = 3ULL * SZ_1G,
		.range_count = ODX_OFFLOAD_MAX_RANGES,
		.lifetime = 600,
	};
	struct odx_token_info out;
	struct odx_token tok;

	memcpy(in.volume_id, vol_b, sizeof(in.volume_id));
	get_random_bytes(in.secret, sizeof(in.secret));
	odx_token_encode(&in, &tok);
	KUNIT_ASSERT_EQ(test, odx_token_decode(&tok, sizeof(tok), &out), 0);
	KUNIT_EXPECT_EQ(test, memcmp(&in, &out, sizeof(in)), 0);

	in.type = ODX_TOKEN_PIT;
	in.range_count = 1;
	odx_token_encode(&in, &tok);
	KUNIT_ASSERT_EQ(test, odx_token_decode(&tok, sizeof(tok), &out), 0);
	KUNIT_EXPECT_EQ(test, memcmp(&in, &out, sizeof(in)), 0);
	/* one byte short is truncated */
	KUNIT_EXPECT_EQ(test, odx_token_decode(&tok, sizeof(tok) - 1, &out),
			-EMSGSIZE);
}

static void odx_token_decode_reject_test(struct kunit *test)
{
	struct odx_token_info in = {
		.type = ODX_TOKEN_PIT, .id = 1, .bytes = SZ_64K,
		.range_count = 1, .lifetime = 60,
	};
	struct odx_token_info out;
	struct odx_token tok, bad;
	u8 *b = (u8 *)&bad;

	odx_token_encode(&in, &tok);
	KUNIT_ASSERT_EQ(test, odx_token_decode(&tok, sizeof(tok), &out), 0);

	/* truncated */
	KUNIT_EXPECT_EQ(test, odx_token_decode(&tok, 0, &out), -EMSGSIZE);
	KUNIT_EXPECT_EQ(test, odx_token_decode(&tok, 8, &out), -EMSGSIZE);
	KUNIT_EXPECT_EQ(test, odx_token_decode(&tok, 511, &out), -EMSGSIZE);
	/* the length field, each byte, and little-endian */
	bad = tok;
	b[7] = 0xF7;
	KUNIT_EXPECT_EQ(test, odx_token_decode(&bad, 512, &out), -EMSGSIZE);
	bad = tok;
	b[6] = 0x00;
	KUNIT_EXPECT_EQ(test, odx_token_decode(&bad, 512, &out), -EMSGSIZE);
	bad = tok;
	b[6] = 0xF8;
	b[7] = 0x01;
	KUNIT_EXPECT_EQ(test, odx_token_decode(&bad, 512, &out), -EMSGSIZE);
	/* unknown types: another ROD type, little-endian, all zero */
	bad = tok;
	bad.type = cpu_to_be32(0x00800002);	/* persistent */
	KUNIT_EXPECT_EQ(test, odx_token_decode(&bad, 512, &out),
			-EPROTONOSUPPORT);
	bad = tok;
	bad.type = (__force __be32)cpu_to_le32(ODX_TOKEN_PIT);
	KUNIT_EXPECT_EQ(test, odx_token_decode(&bad, 512, &out),
			-EPROTONOSUPPORT);
	bad = tok;
	bad.type = 0;
	KUNIT_EXPECT_EQ(test, odx_token_decode(&bad, 512, &out),
			-EPROTONOSUPPORT);
	/* reserved bytes set */
	bad = tok;
	b[4] = 1;
	KUNIT_EXPECT_EQ(test, odx_token_decode(&bad, 512, &out),
			-EKEYREJECTED);
	bad = tok;
	b[511] = 1;
	KUNIT_EXPECT_EQ(test, odx_token_decode(&bad, 512, &out),
			-EKEYREJECTED);
	/* fields no volume issues */
	bad = tok;
	bad.bytes = 0;
	KUNIT_EXPECT_EQ(test, odx_token_decode(&bad, 512, &out),
			-EKEYREJECTED);
	bad = tok;
	bad.range_count = 0;
	KUNIT_EXPECT_EQ(test, odx_token_decode(&bad, 512, &out),
			-EKEYREJECTED);
	bad = tok;
	bad.range_count = cpu_to_be32(ODX_OFFLOAD_MAX_RANGES + 1);
	KUNIT_EXPECT_EQ(test, odx_token_decode(&bad, 512, &out),
			-EKEYREJECTED);
}

static void odx_token_zero_test(struct kunit *test)
{
	struct odx_token_data *data = (void *)1;
	struct odx_token_info info;
	struct odx_token tok, bad;
	const u8 *b = (const u8 *)&tok;
	struct tok_env *env;

	odx_token_make_zero(&tok);
	KUNIT_EXPECT_EQ(test, b[0], 0xFF);
	KUNIT_EXPECT_EQ(test, b[1], 0xFF);
	KUNIT_EXPECT_EQ(test, b[2], 0x00);
	KUNIT_EXPECT_EQ(test, b[3], 0x01);
	KUNIT_EXPECT_EQ(test, b[6], 0x01);
	KUNIT_EXPECT_EQ(test, b[7], 0xF8);
	KUNIT_EXPECT_NULL(test, memchr_inv(b + 8, 0, 504));
	KUNIT_EXPECT_EQ(test, b[4] | b[5], 0);

	/* what any caller builds by hand decodes the same */
	memset(&bad, 0, sizeof(bad));
	bad.type = cpu_to_be32(0xFFFF0001);
	bad.length = cpu_to_be16(0x1F8);
	KUNIT_EXPECT_EQ(test, memcmp(&bad, &tok, sizeof(tok)), 0);

	KUNIT_ASSERT_EQ(test, odx_token_decode(&tok, sizeof(tok), &info), 0);
	KUNIT_EXPECT_TRUE(test, odx_token_is_zero(&info));
	KUNIT_EXPECT_EQ(test, info.bytes, U64_MAX);

	/* no table entry: with no table, and with any volume's table */
	KUNIT_EXPECT_EQ(test, odx_token_lookup(NULL, &info, &data), 0);
	KUNIT_EXPECT_NULL(test, data);
	env = tok_env_new(test, vol_a, NULL);
	data = (void *)1;
	KUNIT_EXPECT_EQ(test, odx_token_lookup(&env->tbl, &info, &data), 0);
	KUNIT_EXPECT_NULL(test, data);
	KUNIT_EXPECT_EQ(test, env->tbl.nr_live, 0U);

	/* anything else set is a corrupt zero token */
	bad = tok;
	bad.volume_id[3] = 1;
	KUNIT_EXPECT_EQ(test, odx_token_decode(&bad, 512, &info),
			-EKEYREJECTED);
	bad = tok;
	bad.reserved1[1] = 1;
	KUNIT_EXPECT_EQ(test, odx_token_decode(&bad, 512, &info),
			-EKEYREJECTED);
	bad = tok;
	bad.length = cpu_to_be16(0x1F0);
	KUNIT_EXPECT_EQ(test, odx_token_decode(&bad, 512, &info), -EMSGSIZE);
	KUNIT_EXPECT_EQ(test, odx_token_decode(&tok, 100, &info), -EMSGSIZE);

	/* a zero token cannot be populated */
	KUNIT_EXPECT_EQ(test, odx_token_create(&env->tbl, ODX_TOKEN_ZERO, 0,
					       one_range, 1, &tok, NULL),
			-EPROTONOSUPPORT);
}

static void odx_token_create_lookup_test(struct kunit *test)
{
	struct tok_env *env = tok_env_new(test, vol_a, NULL);
	struct odx_token_data *data, *mine;
	struct odx_token_info first;
	u64 off, len;

	KUNIT_ASSERT_EQ(test, odx_token_create(&env->tbl, 0, 0, two_ranges,
					       2, &env->tok, &mine), 0);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, tok_data_put,
							mine), 0);
	KUNIT_ASSERT_EQ(test, odx_token_decode(&env->tok, sizeof(env->tok),
					       &env->info), 0);
	/* type 0 is point in time; the default lifetime; the volume */
	KUNIT_EXPECT_EQ(test, env->info.type, ODX_TOKEN_PIT);
	KUNIT_EXPECT_EQ(test, env->info.lifetime, ODX_TOKEN_DEFAULT_LIFETIME);
	KUNIT_EXPECT_EQ(test, memcmp(env->info.volume_id, vol_a, 16), 0);
	KUNIT_EXPECT_EQ(test, env->info.instance, env->tbl.instance);
	KUNIT_EXPECT_EQ(test, env->info.bytes, (u64)SZ_64K + SZ_128K);
	KUNIT_EXPECT_EQ(test, env->info.range_count, 2U);
	KUNIT_EXPECT_NOT_NULL(test, memchr_inv(env->info.secret, 0,
					       ODX_TOKEN_SECRET_SIZE));

	KUNIT_ASSERT_EQ(test, odx_token_lookup(&env->tbl, &env->info, &data),
			0);
	KUNIT_EXPECT_PTR_EQ(test, data, mine);
	KUNIT_EXPECT_EQ(test, data->type, ODX_TOKEN_PIT);
	KUNIT_EXPECT_EQ(test, data->bytes, (u64)SZ_64K + SZ_128K);
	KUNIT_ASSERT_EQ(test, data->nr_ranges, 2U);
	KUNIT_EXPECT_EQ(test, data->ranges[1].offset, (u64)SZ_1M);

	/* transfer offsets into the data */
	KUNIT_EXPECT_EQ(test, odx_token_data_locate(data, 0, &off, &len), 0);
	KUNIT_EXPECT_EQ(test, off, 0ULL);
	KUNIT_EXPECT_EQ(test, len, (u64)SZ_64K);
	KUNIT_EXPECT_EQ(test, odx_token_data_locate(data, SZ_64K - 512, &off,
						    &len), 0);
	KUNIT_EXPECT_EQ(test, off, (u64)SZ_64K - 512);
	KUNIT_EXPECT_EQ(test, len, 512ULL);
	KUNIT_EXPECT_EQ(test, odx_token_data_locate(data, SZ_64K + 4096, &off,
						    &len), 0);
	KUNIT_EXPECT_EQ(test, off, (u64)SZ_1M + 4096);
	KUNIT_EXPECT_EQ(test, len, (u64)SZ_128K - 4096);
	KUNIT_EXPECT_EQ(test, odx_token_data_locate(data, SZ_64K + SZ_128K,
						    &off, &len), -ERANGE);
	odx_token_put(data);

	/* two tokens: different ids and secrets */
	first = env->info;
	KUNIT_ASSERT_EQ(test, tok_create(test, env, ODX_TOKEN_CHANGE_VULNERABLE,
					 30, one_range, 1), 0);
	KUNIT_EXPECT_NE(test, env->info.id, first.id);
	KUNIT_EXPECT_NE(test, memcmp(env->info.secret, first.secret,
				     ODX_TOKEN_SECRET_SIZE), 0);
	KUNIT_EXPECT_EQ(test, env->info.type, ODX_TOKEN_CHANGE_VULNERABLE);
	KUNIT_EXPECT_EQ(test, env->info.lifetime, 30U);
	KUNIT_EXPECT_EQ(test, tok_use(env, &env->info), 0);
	KUNIT_EXPECT_EQ(test, tok_use(env, &first), 0);
}

static void odx_token_create_args_test(struct kunit *test)
{
	struct tok_env *env = tok_env_new(test, vol_a, NULL);
	const unsigned int nr_many = ODX_OFFLOAD_MAX_RANGES + 1;
	struct odx_range *many;
	const struct odx_range empty[] = { { 0, SZ_64K }, { SZ_1M, 0 } };
	const struct odx_range wrap[] = { { 0, U64_MAX }, { 0, 512 } };
	unsigned int i;

	many = kunit_kmalloc_array(test, nr_many, sizeof(*many), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, many);
	for (i = 0; i < nr_many; i++)
		many[i] = (struct odx_range){ i * SZ_1M, SZ_64K };
	KUNIT_EXPECT_EQ(test, tok_create(test, env, 0x00800002, 0, one_range,
					 1), -EPROTONOSUPPORT);
	KUNIT_EXPECT_EQ(test, tok_create(test, env, 0, 0, one_range, 0),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, tok_create(test, env, 0, 0, empty, 2), -EINVAL);
	KUNIT_EXPECT_EQ(test, tok_create(test, env, 0, 0, wrap, 2), -EINVAL);
	KUNIT_EXPECT_EQ(test, tok_create(test, env, 0, 0, many,
					 ODX_OFFLOAD_MAX_RANGES + 1), -E2BIG);
	KUNIT_EXPECT_EQ(test, env->tbl.nr_live, 0U);
	KUNIT_EXPECT_EQ(test, tok_create(test, env, 0, 0, many,
					 ODX_OFFLOAD_MAX_RANGES), 0);
	KUNIT_EXPECT_EQ(test, env->info.range_count, ODX_OFFLOAD_MAX_RANGES);
	/* a lifetime beyond the maximum is cut to it */
	KUNIT_EXPECT_EQ(test, tok_create(test, env, 0, U32_MAX, one_range, 1),
			0);
	KUNIT_EXPECT_EQ(test, env->info.lifetime,
			ODX_TOKEN_DEFAULT_MAX_LIFETIME);
	KUNIT_EXPECT_EQ(test, tok_use(env, &env->info), 0);
}

static void odx_token_tampered_test(struct kunit *test)
{
	struct tok_env *env = tok_env_new(test, vol_a, NULL);
	struct tok_env *other = tok_env_new(test, vol_b, NULL);
	struct tok_env *again = tok_env_new(test, vol_a, NULL);
	struct odx_token_info t;
	struct odx_token bad;
	unsigned int i;

	KUNIT_ASSERT_EQ(test, tok_create(test, env, 0, 0, one_range, 1), 0);
	KUNIT_ASSERT_EQ(test, tok_use(env, &env->info), 0);

	/* any bit of the secret: decodes, but the volume rejects it */
	for (i = 0; i < ODX_TOKEN_SECRET_SIZE * 8; i += 37) {
		bad = env->tok;
		bad.secret[i / 8] ^= 1 << (i % 8);
		KUNIT_ASSERT_EQ(test, odx_token_decode(&bad, 512, &t), 0);
		KUNIT_EXPECT_EQ(test, tok_use(env, &t), -EKEYREJECTED);
	}
	/* the other fields it was issued with */
	t = env->info;
	t.bytes--;
	KUNIT_EXPECT_EQ(test, tok_use(env, &t), -EKEYREJECTED);
	t = env->info;
	t.type = ODX_TOKEN_CHANGE_VULNERABLE;
	KUNIT_EXPECT_EQ(test, tok_use(env, &t), -EKEYREJECTED);
	t = env->info;
	t.range_count = 2;
	KUNIT_EXPECT_EQ(test, tok_use(env, &t), -EKEYREJECTED);
	t = env->info;
	t.lifetime = 600;
	KUNIT_EXPECT_EQ(test, tok_use(env, &t), -EKEYREJECTED);
	/* an id never issued */
	t = env->info;
	t.id += 1000;
	KUNIT_EXPECT_EQ(test, tok_use(env, &t), -ENOKEY);
	/* another volume's table: foreign */
	KUNIT_EXPECT_EQ(test, tok_use(other, &env->info), -EXDEV);
	t = env->info;
	t.volume_id[15] ^= 1;
	KUNIT_EXPECT_EQ(test, tok_use(env, &t), -EXDEV);
	/* the same volume activated again: revoked */
	KUNIT_EXPECT_NE(test, again->tbl.instance, env->tbl.instance);
	KUNIT_EXPECT_EQ(test, tok_use(again, &env->info), -EKEYREVOKED);

	/* none of that hurt the token */
	KUNIT_EXPECT_EQ(test, tok_use(env, &env->info), 0);
}

static void odx_token_expiry_test(struct kunit *test)
{
	struct tok_env *env = tok_env_new(test, vol_a, NULL);
	struct odx_token_info busy, idle, dflt;
	struct odx_token_stats st;
	unsigned int i;

	KUNIT_ASSERT_EQ(test, tok_create(test, env, 0, 10, one_range, 1), 0);
	busy = env->info;
	KUNIT_ASSERT_EQ(test, tok_create(test, env, 0, 10, one_range, 1), 0);
	idle = env->info;
	KUNIT_ASSERT_EQ(test, tok_create(test, env, 0, 0, one_range, 1), 0);
	dflt = env->info;

	/* just under the inactivity time: alive; a use restarts it */
	env->clock.now += 10 * SEC - 1;
	KUNIT_EXPECT_EQ(test, tok_use(env, &busy), 0);
	env->clock.now += 10 * SEC - 1;
	KUNIT_EXPECT_EQ(test, tok_use(env, &busy), 0);
	/* the idle one's time came */
	KUNIT_EXPECT_EQ(test, tok_use(env, &idle), -EKEYEXPIRED);
	KUNIT_EXPECT_EQ(test, tok_use(env, &idle), -EKEYEXPIRED);
	/* exactly the inactivity time since the last use */
	env->clock.now += 1;
	KUNIT_EXPECT_EQ(test, tok_use(env, &busy), 0);
	env->clock.now += 10 * SEC;
	KUNIT_EXPECT_EQ(test, tok_use(env, &busy), -EKEYEXPIRED);
	/* the default lifetime */
	KUNIT_EXPECT_EQ(test, tok_use(env, &dflt), 0);
	env->clock.now += ODX_TOKEN_DEFAULT_LIFETIME * SEC;
	KUNIT_EXPECT_EQ(test, odx_token_reap(&env->tbl), 1U);
	KUNIT_EXPECT_EQ(test, tok_use(env, &dflt), -EKEYEXPIRED);
	odx_token_stats(&env->tbl, &st);
	KUNIT_EXPECT_EQ(test, st.live, 0U);
	KUNIT_EXPECT_EQ(test, st.expired, 3ULL);
	KUNIT_EXPECT_EQ(test, st.dead, 3U);

	/* the maximum age ends even a busy token */
	KUNIT_ASSERT_EQ(test, tok_create(test, env, 0, 600, one_range, 1), 0);
	for (i = 0; i < ODX_TOKEN_DEFAULT_MAX_AGE / 300 - 1; i++) {
		env->clock.now += 300 * SEC;
		KUNIT_EXPECT_EQ(test, tok_use(env, &env->info), 0);
	}
	env->clock.now += 300 * SEC - 1;
	KUNIT_EXPECT_EQ(test, tok_use(env, &env->info), 0);
	env->clock.now += 1;
	KUNIT_EXPECT_EQ(test, tok_use(env, &env->info), -EKEYEXPIRED);
	KUNIT_EXPECT_EQ(test, odx_token_reap(&env->tbl), 0U);
}

static void odx_token_bounds_test(struct kunit *test)
{
	struct odx_token_limits limits;
	struct odx_token_info t[4];
	struct odx_token_stats st;
	struct tok_env *env;
	unsigned int i;

	odx_token_default_limits(&limits);
	limits.max_tokens = 3;
	limits.max_dead = 2;
	env = tok_env_new(test, vol_a, &limits);

	for (i = 0; i < 3; i++) {
		KUNIT_ASSERT_EQ(test, tok_create(test, env, 0, 10 + 10 * i,
						 one_range, 1), 0);
		t[i] = env->info;
	}
	KUNIT_EXPECT_EQ(test, tok_create(test, env, 0, 0, one_range, 1),
			-EDQUOT);
	KUNIT_EXPECT_EQ(test, odx_token_create(&env->tbl,
					       ODX_TOKEN_CHANGE_VULNERABLE, 0,
					       one_range, 1, &env->tok, NULL),
			-EDQUOT);
	/* a revoked token makes room */
	odx_token_revoke(&env->tbl, t[1].id);
	KUNIT_EXPECT_EQ(test, tok_use(env, &t[1]), -EKEYREVOKED);
	KUNIT_ASSERT_EQ(test, tok_create(test, env, 0, 100, one_range, 1), 0);
	t[3] = env->info;
	KUNIT_EXPECT_EQ(test, tok_create(test, env, 0, 0, one_range, 1),
			-EDQUOT);
	/* so does one whose time came, without a reap */
	env->clock.now += 10 * SEC;
	KUNIT_EXPECT_EQ(test, tok_create(test, env, 0, 0, one_range, 1), 0);
	KUNIT_EXPECT_EQ(test, tok_use(env, &t[0]), -EKEYEXPIRED);
	odx_token_stats(&env->tbl, &st);
	KUNIT_EXPECT_EQ(test, st.live, 3U);
	KUNIT_EXPECT_EQ(test, st.dead, 2U);
	KUNIT_EXPECT_EQ(test, st.created, 5ULL);

	/* dead records beyond max_dead are forgotten, oldest first */
	odx_token_revoke(&env->tbl, t[2].id);
	odx_token_stats(&env->tbl, &st);
	KUNIT_EXPECT_EQ(test, st.dead, 2U);
	KUNIT_EXPECT_EQ(test, tok_use(env, &t[1]), -ENOKEY);
	KUNIT_EXPECT_EQ(test, tok_use(env, &t[0]), -EKEYEXPIRED);
	KUNIT_EXPECT_EQ(test, tok_use(env, &t[2]), -EKEYREVOKED);
	KUNIT_EXPECT_EQ(test, tok_use(env, &t[3]), 0);

	/* a table allowing none issues none */
	limits.max_tokens = 0;
	env = tok_env_new(test, vol_a, &limits);
	KUNIT_EXPECT_EQ(test, tok_create(test, env, 0, 0, one_range, 1),
			-EDQUOT);
}

/* The pin hook: counts its calls. */
struct pin_count {
	int unpinned;
	u64 last_id;
};

static void pin_unpin(struct odx_token_data *data, void *ctx)
{
	struct pin_count *pc = ctx;

	pc->unpinned++;
	pc->last_id = data->id;
}

static const struct odx_token_pin_ops pin_ops = { .unpin = pin_unpin };

static void odx_token_revoke_all_test(struct kunit *test)
{
	struct tok_env *env = tok_env_new(test, vol_a, NULL);
	struct odx_token_data *held, *created, *data;
	struct odx_token_info t[3];
	struct odx_token_stats st;
	struct pin_count pc = { 0 };
	unsigned int i;

	for (i = 0; i < 3; i++) {
		KUNIT_ASSERT_EQ(test, odx_token_create(&env->tbl, 0, 0,
						       one_range, 1, &env->tok,
						       &created), 0);
		odx_token_set_pin(created, &pin_ops, &pc);
		odx_token_put(created);
		KUNIT_ASSERT_EQ(test, odx_token_decode(&env->tok, 512, &t[i]),
				0);
	}
	/* a copy in progress holds the first token's data */
	KUNIT_ASSERT_EQ(test, odx_token_lookup(&env->tbl, &t[0], &held), 0);

	odx_token_revoke_all(&env->tbl);
	/* the others' pins went at once; the held one's waits for its copy */
	KUNIT_EXPECT_EQ(test, pc.unpinned, 2);
	for (i = 0; i < 3; i++)
		KUNIT_EXPECT_EQ(test, tok_use(env, &t[i]), -EKEYREVOKED);
	KUNIT_EXPECT_EQ(test, tok_create(test, env, 0, 0, one_range, 1),
			-ENODEV);
	odx_token_stats(&env->tbl, &st);
	KUNIT_EXPECT_EQ(test, st.live, 0U);
	KUNIT_EXPECT_EQ(test, st.revoked, 3ULL);
	/* the copy still reads what the token stood for */
	KUNIT_EXPECT_EQ(test, held->ranges[0].offset, one_range[0].offset);
	odx_token_put(held);
	KUNIT_EXPECT_EQ(test, pc.unpinned, 3);
	KUNIT_EXPECT_EQ(test, pc.last_id, t[0].id);

	/* destroying forgets every record */
	odx_token_table_destroy(&env->tbl);
	odx_token_stats(&env->tbl, &st);
	KUNIT_EXPECT_EQ(test, st.dead, 0U);
	KUNIT_EXPECT_EQ(test, odx_token_lookup(&env->tbl, &t[1], &data),
			-ENOKEY);
	KUNIT_EXPECT_EQ(test, pc.unpinned, 3);
}

static void odx_token_change_vulnerable_test(struct kunit *test)
{
	struct tok_env *env = tok_env_new(test, vol_a, NULL);
	struct odx_token_info pit, cv1, cv2;
	struct odx_token_stats st;

	/* nothing to invalidate: nothing happens */
	KUNIT_EXPECT_EQ(test, odx_token_invalidate_range(&env->tbl, 0,
							 U64_MAX), 0U);
	KUNIT_ASSERT_EQ(test, tok_create(test, env, ODX_TOKEN_PIT, 0,
					 two_ranges, 2), 0);
	pit = env->info;
	KUNIT_ASSERT_EQ(test, tok_create(test, env,
					 ODX_TOKEN_CHANGE_VULNERABLE, 0,
					 two_ranges, 2), 0);
	cv1 = env->info;
	KUNIT_ASSERT_EQ(test, tok_create(test, env,
					 ODX_TOKEN_CHANGE_VULNERABLE, 0,
					 one_range, 1), 0);
	cv2 = env->info;
	odx_token_stats(&env->tbl, &st);
	KUNIT_EXPECT_EQ(test, st.change_vulnerable, 2U);

	/* writes next to the ranges, not into them */
	KUNIT_EXPECT_EQ(test, odx_token_invalidate_range(&env->tbl, SZ_64K,
							 SZ_1M - SZ_64K), 0U);
	KUNIT_EXPECT_EQ(test, odx_token_invalidate_range(&env->tbl,
							 SZ_1M + SZ_256K,
							 SZ_1M), 0U);
	KUNIT_EXPECT_EQ(test, odx_token_invalidate_range(&env->tbl, 0, 0),
			0U);
	/* one block of the first range: cv1 only */
	KUNIT_EXPECT_EQ(test, odx_token_invalidate_range(&env->tbl,
							 SZ_64K - 512, 512),
			1U);
	KUNIT_EXPECT_EQ(test, tok_use(env, &cv1), -EKEYREVOKED);
	KUNIT_EXPECT_EQ(test, tok_use(env, &cv2), 0);
	KUNIT_EXPECT_EQ(test, tok_use(env, &pit), 0);
	/* a write to the end of the device, wrapping: cv2 */
	KUNIT_EXPECT_EQ(test, odx_token_invalidate_range(&env->tbl, SZ_1M,
							 U64_MAX), 1U);
	KUNIT_EXPECT_EQ(test, tok_use(env, &cv2), -EKEYREVOKED);
	/* point-in-time tokens are never invalidated by writes */
	KUNIT_EXPECT_EQ(test, tok_use(env, &pit), 0);
	odx_token_stats(&env->tbl, &st);
	KUNIT_EXPECT_EQ(test, st.change_vulnerable, 0U);
	KUNIT_EXPECT_EQ(test, st.live, 1U);
}

static void odx_token_pinned_test(struct kunit *test)
{
	struct odx_token_limits limits;
	struct odx_token_data *a, *b;
	struct odx_token_info ta;
	struct odx_token_stats st;
	struct tok_env *env;

	odx_token_default_limits(&limits);
	limits.max_pinned = 10;
	env = tok_env_new(test, vol_a, &limits);

	KUNIT_ASSERT_EQ(test, odx_token_create(&env->tbl, 0, 0, one_range, 1,
					       &env->tok, &a), 0);
	KUNIT_ASSERT_EQ(test, odx_token_decode(&env->tok, 512, &ta), 0);
	KUNIT_ASSERT_EQ(test, odx_token_create(&env->tbl, 0, 0, one_range, 1,
					       &env->tok, &b), 0);
	KUNIT_EXPECT_EQ(test, odx_token_charge_pinned(&env->tbl, a, 6, false), 0);
	KUNIT_EXPECT_EQ(test, odx_token_charge_pinned(&env->tbl, b, 5, false),
			-EDQUOT);
	KUNIT_EXPECT_EQ(test, odx_token_charge_pinned(&env->tbl, b, 4, false), 0);
	KUNIT_EXPECT_EQ(test, odx_token_charge_pinned(&env->tbl, b, U64_MAX, false),
			-EDQUOT);
	odx_token_stats(&env->tbl, &st);
	KUNIT_EXPECT_EQ(test, st.pinned, 10ULL);
	/* a dead token's charge goes back; it cannot be charged again */
	odx_token_revoke(&env->tbl, ta.id);
	odx_token_stats(&env->tbl, &st);
	KUNIT_EXPECT_EQ(test, st.pinned, 4ULL);
	KUNIT_EXPECT_EQ(test, odx_token_charge_pinned(&env->tbl, a, 1, false),
			-EKEYREVOKED);
	KUNIT_EXPECT_EQ(test, odx_token_charge_pinned(&env->tbl, b, 6, false), 0);
	odx_token_put(a);
	odx_token_put(b);
}

/* readers' tokens pin within their share, the others up to the limit */
static void odx_token_pinned_by_readers_test(struct kunit *test)
{
	struct odx_token_data *a, *b, *c;
	struct odx_token_limits limits;
	struct odx_token_stats st;
	struct tok_env *env;

	odx_token_default_limits(&limits);
	limits.max_pinned = 10;
	limits.max_pinned_by_readers = 3;
	env = tok_env_new(test, vol_a, &limits);

	KUNIT_ASSERT_EQ(test, odx_token_create(&env->tbl, 0, 0, one_range, 1,
					       &env->tok, &a), 0);
	KUNIT_ASSERT_EQ(test, odx_token_create(&env->tbl, 0, 0, one_range, 1,
					       &env->tok, &b), 0);
	KUNIT_ASSERT_EQ(test, odx_token_create(&env->tbl, 0, 0, one_range, 1,
					       &env->tok, &c), 0);
	KUNIT_EXPECT_EQ(test, odx_token_charge_pinned(&env->tbl, a, 2, true), 0);
	KUNIT_EXPECT_EQ(test, odx_token_charge_pinned(&env->tbl, a, 2, true),
			-EDQUOT);
	KUNIT_EXPECT_EQ(test, odx_token_charge_pinned(&env->tbl, b, 1, true), 0);
	/* a writer's token is not held to the readers' share */
	KUNIT_EXPECT_EQ(test, odx_token_charge_pinned(&env->tbl, c, 7, false),
			0);
	KUNIT_EXPECT_EQ(test, odx_token_charge_pinned(&env->tbl, c, 1, false),
			-EDQUOT);
	/* a token is charged to one side only */
	KUNIT_EXPECT_EQ(test, odx_token_charge_pinned(&env->tbl, a, 1, false),
			-EINVAL);
	odx_token_stats(&env->tbl, &st);
	KUNIT_EXPECT_EQ(test, st.pinned, 10ULL);
	KUNIT_EXPECT_EQ(test, st.pinned_by_readers, 3ULL);
	/* a dead reader's token gives its charge back to both */
	odx_token_revoke(&env->tbl, a->id);
	odx_token_stats(&env->tbl, &st);
	KUNIT_EXPECT_EQ(test, st.pinned, 8ULL);
	KUNIT_EXPECT_EQ(test, st.pinned_by_readers, 1ULL);
	KUNIT_EXPECT_EQ(test, odx_token_charge_pinned(&env->tbl, b, 2, true), 0);
	odx_token_put(a);
	odx_token_put(b);
	odx_token_put(c);
}

static void odx_token_release_test(struct kunit *test)
{
	struct tok_env *env = tok_env_new(test, vol_a, NULL);
	struct tok_env *other = tok_env_new(test, vol_b, NULL);
	struct odx_token_data *created, *held, *data;
	struct odx_token_info ta, tb, bad, zero;
	struct pin_count pc = { 0 };
	struct odx_token_stats st;

	KUNIT_ASSERT_EQ(test, odx_token_create(&env->tbl, 0, 0, one_range, 1,
					       &env->tok, &created), 0);
	odx_token_set_pin(created, &pin_ops, &pc);
	KUNIT_EXPECT_EQ(test, odx_token_charge_pinned(&env->tbl, created, 4,
						      false), 0);
	odx_token_put(created);
	KUNIT_ASSERT_EQ(test, odx_token_decode(&env->tok, 512, &ta), 0);
	KUNIT_ASSERT_EQ(test, odx_token_create(&env->tbl, 0, 0, one_range, 1,
					       &env->tok, &created), 0);
	odx_token_set_pin(created, &pin_ops, &pc);
	odx_token_put(created);
	KUNIT_ASSERT_EQ(test, odx_token_decode(&env->tok, 512, &tb), 0);

	/* what is not this table's token: nothing happens */
	KUNIT_EXPECT_EQ(test, odx_token_release(&other->tbl, &ta), -ENOENT);
	bad = ta;
	bad.id = 12345;
	KUNIT_EXPECT_EQ(test, odx_token_release(&env->tbl, &bad), -ENOENT);
	bad = ta;
	bad.secret[3] ^= 1;
	KUNIT_EXPECT_EQ(test, odx_token_release(&env->tbl, &bad),
			-EKEYREJECTED);
	bad = ta;
	bad.instance++;
	KUNIT_EXPECT_EQ(test, odx_token_release(&env->tbl, &bad),
			-EKEYREVOKED);
	odx_token_make_zero(&env->tok);
	KUNIT_ASSERT_EQ(test, odx_token_decode(&env->tok, 512, &zero), 0);
	KUNIT_EXPECT_EQ(test, odx_token_release(&env->tbl, &zero),
			-EPROTONOSUPPORT);
	odx_token_stats(&env->tbl, &st);
	KUNIT_EXPECT_EQ(test, st.live, 2U);
	KUNIT_EXPECT_EQ(test, st.pinned, 4ULL);
	KUNIT_EXPECT_EQ(test, pc.unpinned, 0);

	/* released: charge and pins at once, then every use says so */
	KUNIT_EXPECT_EQ(test, odx_token_release(&env->tbl, &ta), 0);
	odx_token_stats(&env->tbl, &st);
	KUNIT_EXPECT_EQ(test, st.live, 1U);
	KUNIT_EXPECT_EQ(test, st.pinned, 0ULL);
	KUNIT_EXPECT_EQ(test, st.released, 1ULL);
	KUNIT_EXPECT_EQ(test, st.revoked, 0ULL);
	KUNIT_EXPECT_EQ(test, pc.unpinned, 1);
	KUNIT_EXPECT_EQ(test, pc.last_id, ta.id);
	KUNIT_EXPECT_EQ(test, tok_use(env, &ta), -EIDRM);
	KUNIT_EXPECT_EQ(test, odx_token_state(&env->tbl, ta.id), -EIDRM);
	KUNIT_EXPECT_EQ(test, odx_token_release(&env->tbl, &ta), -EIDRM);
	KUNIT_EXPECT_EQ(test, odx_token_ascq(-EIDRM), ODX_ASCQ_TOKEN_DELETED);

	/* a copy under way keeps the data (and pins) until it puts them */
	KUNIT_ASSERT_EQ(test, odx_token_lookup(&env->tbl, &tb, &held), 0);
	KUNIT_EXPECT_EQ(test, odx_token_release(&env->tbl, &tb), 0);
	KUNIT_EXPECT_EQ(test, pc.unpinned, 1);
	KUNIT_EXPECT_EQ(test, odx_token_lookup(&env->tbl, &tb, &data),
			-EIDRM);
	KUNIT_EXPECT_EQ(test, held->ranges[0].offset, one_range[0].offset);
	odx_token_put(held);
	KUNIT_EXPECT_EQ(test, pc.unpinned, 2);

	/* an expired token is not released: it says why it died */
	KUNIT_ASSERT_EQ(test, tok_create(test, env, 0, 1, one_range, 1), 0);
	env->clock.now += 2 * SEC;
	KUNIT_EXPECT_EQ(test, odx_token_release(&env->tbl, &env->info),
			-EKEYEXPIRED);
	odx_token_stats(&env->tbl, &st);
	KUNIT_EXPECT_EQ(test, st.live, 0U);
	KUNIT_EXPECT_EQ(test, st.released, 2ULL);
	KUNIT_EXPECT_EQ(test, st.expired, 1ULL);
}

static void odx_token_ascq_test(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, odx_token_ascq(-EMSGSIZE), 0x0A);
	KUNIT_EXPECT_EQ(test, odx_token_ascq(-EKEYREJECTED), 0x05);
	KUNIT_EXPECT_EQ(test, odx_token_ascq(-EKEYREVOKED), 0x06);
	KUNIT_EXPECT_EQ(test, odx_token_ascq(-EKEYEXPIRED), 0x07);
	KUNIT_EXPECT_EQ(test, odx_token_ascq(-ENOKEY), 0x04);
	KUNIT_EXPECT_EQ(test, odx_token_ascq(-EPROTONOSUPPORT), 0x01);
	KUNIT_EXPECT_EQ(test, odx_token_ascq(-EXDEV), 0x02);
	KUNIT_EXPECT_EQ(test, odx_token_ascq(0), 0);
	KUNIT_EXPECT_EQ(test, odx_token_ascq(-EIO), 0);
}

static void odx_token_graveyard_test(struct kunit *test)
{
	struct odx_token_graveyard *gy;
	u8 id[ODX_TOKEN_VOLUME_ID_SIZE];
	unsigned int i;

	gy = kunit_kzalloc(test, sizeof(*gy), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, gy);
	odx_token_graveyard_init(gy);
	KUNIT_EXPECT_FALSE(test, odx_token_graveyard_has(gy, vol_a));
	odx_token_graveyard_add(gy, vol_a);
	odx_token_graveyard_add(gy, vol_a);	/* once only */
	KUNIT_EXPECT_TRUE(test, odx_token_graveyard_has(gy, vol_a));
	KUNIT_EXPECT_FALSE(test, odx_token_graveyard_has(gy, vol_b));
	KUNIT_EXPECT_EQ(test, gy->count, 1U);
	/* bounded: the oldest goes first */
	memset(id, 0xee, sizeof(id));
	for (i = 0; i < ODX_TOKEN_GRAVEYARD_SIZE - 1; i++) {
		id[0] = i;
		odx_token_graveyard_add(gy, id);
	}
	KUNIT_EXPECT_TRUE(test, odx_token_graveyard_has(gy, vol_a));
	odx_token_graveyard_add(gy, vol_b);
	KUNIT_EXPECT_EQ(test, gy->count, ODX_TOKEN_GRAVEYARD_SIZE);
	KUNIT_EXPECT_FALSE(test, odx_token_graveyard_has(gy, vol_a));
	KUNIT_EXPECT_TRUE(test, odx_token_graveyard_has(gy, vol_b));
	id[0] = 0;
	KUNIT_EXPECT_TRUE(test, odx_token_graveyard_has(gy, id));
}

static struct kunit_case odx_token_cases[] = {
	KUNIT_CASE(odx_token_layout_test),
	KUNIT_CASE(odx_token_round_trip_test),
	KUNIT_CASE(odx_token_decode_reject_test),
	KUNIT_CASE(odx_token_zero_test),
	KUNIT_CASE(odx_token_create_lookup_test),
	KUNIT_CASE(odx_token_create_args_test),
	KUNIT_CASE(odx_token_tampered_test),
	KUNIT_CASE(odx_token_expiry_test),
	KUNIT_CASE(odx_token_bounds_test),
	KUNIT_CASE(odx_token_revoke_all_test),
	KUNIT_CASE(odx_token_change_vulnerable_test),
	KUNIT_CASE(odx_token_pinned_test),
	KUNIT_CASE(odx_token_pinned_by_readers_test),
	KUNIT_CASE(odx_token_release_test),
	KUNIT_CASE(odx_token_ascq_test),
	KUNIT_CASE(odx_token_graveyard_test),
	{}
};

static struct kunit_suite odx_token_suite = {
	.name = "dm-odx-token",
	.test_cases = odx_token_cases,
};

kunit_test_suite(odx_token_suite);
