// SPDX-License-Identifier: GPL-2.0-only
/*
 * odxctl check: the kernel's on-disk format code (drivers/odx-format.c),
 * built into odxctl with the few kernel helpers it uses supplied here,
 * and a table-driven CRC-32C.
 */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include <linux/types.h>

#include "check.h"

typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;

#define U32_MAX ((u32)~0U)
#define U64_MAX ((u64)~0ULL)

/* The first byte that is not @c, or NULL (lib/string.c). */
static void *memchr_inv(const void *start, int c, size_t bytes)
{
	const unsigned char *p = start;
	size_t i;

	for (i = 0; i < bytes; i++)
		if (p[i] != (unsigned char)c)
			return (void *)(p + i);
	return NULL;
}

/* CRC-32C, reflected polynomial 0x82f63b78, slicing by 8 */
static __u32 crc32c_table[8][256];
static int crc32c_ready;

static void crc32c_init(void)
{
	__u32 c;
	int i, j;

	for (i = 0; i < 256; i++) {
		c = i;
		for (j = 0; j < 8; j++)
			c = (c >> 1) ^ (c & 1 ? 0x82f63b78U : 0);
		crc32c_table[0][i] = c;
	}
	for (i = 0; i < 256; i++)
		for (j = 1; j < 8; j++)
			crc32c_table[j][i] = (crc32c_table[j - 1][i] >> 8) ^
				crc32c_table[0][crc32c_table[j - 1][i] & 0xff];
	crc32c_ready = 1;
}

__u32 odx_check_crc32c(__u32 crc, const void *data, unsigned int len)
{
	const unsigned char *p = data;
	__u32 lo, hi;

	if (!crc32c_ready)
		crc32c_init();
	while (len >= 8) {
		lo = crc ^ ((__u32)p[0] | (__u32)p[1] << 8 |
			    (__u32)p[2] << 16 | (__u32)p[3] << 24);
		hi = (__u32)p[4] | (__u32)p[5] << 8 | (__u32)p[6] << 16 |
		     (__u32)p[7] << 24;
		crc = crc32c_table[7][lo & 0xff] ^
		      crc32c_table[6][(lo >> 8) & 0xff] ^
		      crc32c_table[5][(lo >> 16) & 0xff] ^
		      crc32c_table[4][lo >> 24] ^
		      crc32c_table[3][hi & 0xff] ^
		      crc32c_table[2][(hi >> 8) & 0xff] ^
		      crc32c_table[1][(hi >> 16) & 0xff] ^
		      crc32c_table[0][hi >> 24];
		p += 8;
		len -= 8;
	}
	while (len--)
		crc = crc32c_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc;
}

#define crc32c odx_check_crc32c

#include "../drivers/odx-format.c"
