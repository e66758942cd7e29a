// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit: the table line's slab size and feature arguments.
 */
#include <kunit/test.h>
#include <linux/device-mapper.h>

#include "odx-table.h"

static void odx_slab_size_valid(struct kunit *test)
{
	static const char * const ok[] = { "128", "256", "4096", "2097152" };
	static const u32 want[] = { 128, 256, 4096, 2097152 };
	char *error = NULL;
	unsigned int i;
	u32 v;

	for (i = 0; i < ARRAY_SIZE(ok); i++) {
		KUNIT_EXPECT_EQ_MSG(test, odx_parse_slab_size(ok[i], &v, &error),
				    0, "slab size %s", ok[i]);
		KUNIT_EXPECT_EQ(test, v, want[i]);
	}
	KUNIT_EXPECT_NULL(test, error);
}

static void odx_slab_size_invalid(struct kunit *test)
{
	static const char * const bad[] = {
		"0", "64", "127", "129", "192", "4194304", "-128", "", "12k",
		"0x80", "99999999999999999999",
	};
	unsigned int i;
	u32 v = 12345;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		char *error = NULL;

		KUNIT_EXPECT_EQ_MSG(test, odx_parse_slab_size(bad[i], &v, &error),
				    -EINVAL, "slab size '%s'", bad[i]);
		KUNIT_EXPECT_STREQ(test, error, "Invalid slab size");
	}
	KUNIT_EXPECT_EQ(test, v, 12345U);
}

struct feature_case {
	const char *line;	/* space-separated feature group */
	int result;
	const char *error;	/* expected ti->error text on failure */
	unsigned long set;
	u64 lwm;
	const char *printed;	/* expected table status on success */
};

#define BIT_F(x) (1UL << ODX_FEAT_##x)

static const struct feature_case feature_cases[] = {
	{ "", 0, NULL, 0, 0, "" },
	{ "0", 0, NULL, 0, 0, "" },
	{ "1 skip_zeroing", 0, NULL, BIT_F(SKIP_ZEROING), 0, " 1 skip_zeroing" },
	{ "2 read_only ignore_discard", 0, NULL,
	  BIT_F(READ_ONLY) | BIT_F(IGNORE_DISCARD), 0,
	  " 2 read_only ignore_discard" },
	{ "3 error_if_no_space low_water_mark 10", 0, NULL,
	  BIT_F(ERROR_IF_NO_SPACE) | BIT_F(LOW_WATER_MARK), 10,
	  " 3 error_if_no_space low_water_mark 10" },
	{ "7 low_water_mark 0 skip_zeroing ignore_discard no_discard_passdown error_if_no_space read_only",
	  0, NULL, BIT_F(LOW_WATER_MARK) | BIT_F(SKIP_ZEROING) |
	  BIT_F(IGNORE_DISCARD) | BIT_F(NO_DISCARD_PASSDOWN) |
	  BIT_F(ERROR_IF_NO_SPACE) | BIT_F(READ_ONLY), 0,
	  " 7 low_water_mark 0 skip_zeroing ignore_discard no_discard_passdown error_if_no_space read_only" },
	{ "1 no_such_feature", -EINVAL, "Unrecognised feature argument" },
	{ "1 Skip_Zeroing", -EINVAL, "Unrecognised feature argument" },
	{ "2 skip_zeroing skip_zeroing", -EINVAL, "Feature given more than once" },
	{ "1 low_water_mark", -EINVAL, "Missing low_water_mark value" },
	{ "2 low_water_mark ten", -EINVAL, "Invalid low_water_mark" },
	{ "2 low_water_mark -1", -EINVAL, "Invalid low_water_mark" },
	{ "2 skip_zeroing", -EINVAL, "Invalid number of feature arguments" },
	{ "1 skip_zeroing extra", -EINVAL, "Too many arguments" },
	{ "x", -EINVAL, "Invalid number of feature arguments" },
	{ "8 a b c d e f g h", -EINVAL, "Invalid number of feature arguments" },
};

static void feature_case_desc(const struct feature_case *c, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "'%s'", c->line);
}

KUNIT_ARRAY_PARAM(odx_features, feature_cases, feature_case_desc);

static void odx_features_parse(struct kunit *test)
{
	const struct feature_case *c = test->param_value;
	char *words, *cur, *tok, *argv[16];
	struct odx_features f, untouched;
	struct dm_arg_set as;
	char printed[256];
	char *error = NULL;
	unsigned int argc = 0;

	words = kunit_kstrdup(test, c->line, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, words);
	cur = words;
	while ((tok = strsep(&cur, " ")) && argc < ARRAY_SIZE(argv))
		if (*tok)
			argv[argc++] = tok;
	as.argc = argc;
	as.argv = argv;

	memset(&f, 0xa5, sizeof(f));
	untouched = f;
	KUNIT_ASSERT_EQ(test, odx_parse_features(&as, &f, &error), c->result);
	if (c->result) {
		KUNIT_EXPECT_STREQ(test, error, c->error);
		/* a refused line changes nothing */
		KUNIT_EXPECT_MEMEQ(test, &f, &untouched, sizeof(f));
		return;
	}
	KUNIT_EXPECT_EQ(test, f.set, c->set);
	if (c->set & BIT_F(LOW_WATER_MARK))
		KUNIT_EXPECT_EQ(test, f.low_water_mark, c->lwm);
	KUNIT_EXPECT_EQ(test, as.argc, 0U);

	memset(printed, 0, sizeof(printed));
	odx_emit_features(&f, printed, 0, sizeof(printed));
	KUNIT_EXPECT_STREQ(test, printed, c->printed);
}

static struct kunit_case odx_table_cases[] = {
	KUNIT_CASE(odx_slab_size_valid),
	KUNIT_CASE(odx_slab_size_invalid),
	KUNIT_CASE_PARAM(odx_features_parse, odx_features_gen_params),
	{}
};

static struct kunit_suite odx_table_suite = {
	.name = "dm-odx-table",
	.test_cases = odx_table_cases,
};

kunit_test_suite(odx_table_suite);
