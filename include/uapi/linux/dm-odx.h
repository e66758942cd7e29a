/* SPDX-License-Identifier: GPL-2.0-only WITH Linux-syscall-note */
/*
 * dm-odx user interface.
 *
 * The control interface is a misc character device, /dev/odx-control,
 * whose ioctls name a volume by a file descriptor of its opened mapped
 * device (device-mapper forwards block-device ioctls to the underlying
 * device, so a target cannot receive its own). Every request struct
 * starts with its own size, for versioning.
 *
 * The requests themselves are defined as they are implemented; this
 * header holds what is fixed already.
 */
#ifndef _UAPI_LINUX_DM_ODX_H
#define _UAPI_LINUX_DM_ODX_H

#include <linux/types.h>

#define ODX_TARGET_NAME		"odx"
#define ODX_CONTROL_NAME	"odx-control"
#define ODX_CONTROL_PATH	"/dev/" ODX_CONTROL_NAME

/* ioctl type byte of the control device */
#define ODX_IOCTL_MAGIC		0xDD

/* Slab size limits of the table line, in 512-byte sectors */
#define ODX_SLAB_SECTORS_MIN	128U		/* 64 KiB */
#define ODX_SLAB_SECTORS_MAX	2097152U	/* 1 GiB */

#endif /* _UAPI_LINUX_DM_ODX_H */
