/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * odxctl check: what check.c and check-format.c share.
 *
 * check-format.c compiles the kernel's drivers/odx-format.c into odxctl
 * (the encode/decode/validate functions declared in dm-odx-format.h), so
 * that the checker and the kernel share one implementation of the format.
 */
#ifndef ODXCTL_CHECK_H
#define ODXCTL_CHECK_H

#include <linux/types.h>

/* Raw CRC-32C (Castagnoli) update, as the kernel's crc32c(): no pre- or
 * post-inversion. */
__u32 odx_check_crc32c(__u32 crc, const void *p, unsigned int len);

#endif
