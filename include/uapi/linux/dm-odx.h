/* SPDX-License-Identifier: GPL-2.0-only WITH Linux-syscall-note */
/*
 * dm-odx user interface.
 *
 * The control interface is a misc character device, /dev/odx-control
 * (mode 0600), whose ioctls name a volume by a file descriptor of its
 * opened mapped device (device-mapper forwards block-device ioctls to the
 * underlying device, so a target cannot receive its own).
 *
 * Versioning. Every request struct starts with its own size, which the
 * caller sets to sizeof() the struct it was built with. The size field,
 * not the size bits of the ioctl number, says which version the caller
 * speaks: the kernel accepts any size from the first version's
 * (ODX_*_SIZE_VER0) up to one page; bytes beyond what it knows must be
 * zero (else E2BIG), and it writes back no more than the caller's size.
 * All fields are fixed-width; user addresses are __u64 so 32- and 64-bit
 * callers share one layout; reserved fields and input flags must be zero
 * (output fields are ignored on input).
 *
 * The volume. @fd is an open file descriptor of the mapped device
 * (/dev/mapper/NAME or /dev/dm-N) whose live table is a single odx
 * target spanning the device, and which is resumed. Queries need the fd
 * opened for reading, trim for writing. Byte offsets and lengths are
 * relative to the start of the mapped device and must be multiples of its
 * logical block size.
 *
 * Errors (errno). A request that fails changes nothing, except where the
 * request says otherwise (trim: ranges before the one reported stay
 * trimmed).
 *   EBADF       @fd is not open, or not open for reading/writing as needed
 *   ENOTBLK     @fd is not a block device
 *   ENODEV      a block device, but not a dm device whose live table is one
 *               odx target
 *   EBUSY       the volume is suspended (or, for trim, the device is held
 *               exclusively by someone else, e.g. a mounted file system)
 *   EINVAL      size below the first version's, unaligned offset or
 *               length, nonzero reserved field or unknown flag, zero
 *               range count
 *   E2BIG       size larger than this kernel knows with nonzero bytes
 *               beyond, or more ranges than the request's maximum
 *   EOVERFLOW   offset + length overflows
 *   ERANGE      a range extends past the end of the volume
 *   ENOBUFS     the output array cannot hold even one entry
 *   EFAULT      a user address is NULL, or an array is not accessible for
 *               the whole length given (an output array: for as many
 *               entries as the query could need, up to its capacity)
 *   EROFS       a change requested on a read-only volume
 *   EOPNOTSUPP  trim on a volume loaded with ignore_discard
 *   EIO         the volume's metadata failed (it needs a check)
 *   EINTR       a fatal signal interrupted a long request
 *   ENOTTY      not an ioctl of this device
 */
#ifndef _UAPI_LINUX_DM_ODX_H
#define _UAPI_LINUX_DM_ODX_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define ODX_TARGET_NAME		"odx"
#define ODX_CONTROL_NAME	"odx-control"
#define ODX_CONTROL_PATH	"/dev/" ODX_CONTROL_NAME

/* ioctl type byte of the control device */
#define ODX_IOCTL_MAGIC		0xDD

/* Slab size limits of the table line, in 512-byte sectors */
#define ODX_SLAB_SECTORS_MIN	128U		/* 64 KiB */
#define ODX_SLAB_SECTORS_MAX	2097152U	/* 1 GiB */

/* A byte range of the volume. */
struct odx_range {
	__u64 offset;
	__u64 length;
};

/*
 * 1. ODX_IOC_DESCRIBE: the thin-provisioning and copy-offload descriptor.
 * Everything is output but size and fd. The copy-offload limits are zero
 * while the volume does not offer offload (ODX_DESC_OFFLOAD clear).
 */
struct odx_describe {
	__u32 size;			/* in: sizeof(struct odx_describe) */
	__s32 fd;			/* in: the volume, opened for reading */
	__u32 flags;			/* ODX_DESC_* */
	__u32 logical_block_size;	/* bytes */
	__u64 virtual_size;		/* bytes */
	__u64 slab_size;		/* bytes; the optimal unmap granularity */
	__u64 unmap_alignment;		/* bytes: where slabs start (0) */
	__u64 max_unmap_bytes;		/* per range of a trim request */
	__u32 max_unmap_ranges;		/* ranges per trim request */
	__u32 mode;			/* ODX_DESC_MODE_* */
	__u64 total_slabs;		/* whole slabs of the data device */
	__u64 used_slabs;		/* mapped at least once */
	__u64 free_slabs;		/* allocatable now */
	__u64 shared_slabs;		/* mapped more than once */
	__u64 virtual_slabs;		/* slabs of the virtual size */
	__u64 transaction_id;		/* the last committed transaction */
	/* copy offload */
	__u32 max_token_lifetime;	/* seconds */
	__u32 default_token_lifetime;	/* seconds */
	__u64 max_transfer_bytes;	/* per offload write */
	__u64 optimal_transfer_bytes;	/* a multiple of the slab size */
	__u32 max_copy_ranges;		/* ranges per offload read */
	__u32 max_tokens;		/* live tokens per volume */
	__u32 live_tokens;
	__u32 reserved;
};
#define ODX_DESCRIBE_SIZE_VER0	144

#define ODX_DESC_THIN			(1U << 0) /* thin provisioning */
#define ODX_DESC_READ_ZEROES_AFTER_UNMAP (1U << 1) /* deterministic zeros */
#define ODX_DESC_UNMAP			(1U << 2) /* trim/discard accepted */
#define ODX_DESC_UNMAP_PASSDOWN		(1U << 3) /* freed slabs discarded */
#define ODX_DESC_SKIP_ZEROING		(1U << 4)
#define ODX_DESC_READ_ONLY		(1U << 5)
#define ODX_DESC_NEEDS_CHECK		(1U << 6)
#define ODX_DESC_OFFLOAD		(1U << 7) /* tokens and offload copy */

/* odx_describe.mode: the status line's mode word */
#define ODX_DESC_MODE_RW		0
#define ODX_DESC_MODE_RO		1
#define ODX_DESC_MODE_OUT_OF_DATA_SPACE	2
#define ODX_DESC_MODE_FAIL		3

/*
 * 2. ODX_IOC_ALLOCATED_RANGES: the allocated (mapped) ranges that
 * intersect [offset, offset + length), clipped to it, adjacent slabs
 * merged, in ascending order. When they do not all fit in @capacity
 * entries, the first @capacity are returned, ODX_RANGES_MORE_DATA is set
 * and @resume_offset says where to ask again (the start of the first one
 * not returned); @length 0 returns no entries. @capacity 0 fails with
 * ENOBUFS.
 */
struct odx_allocated_ranges {
	__u32 size;			/* in */
	__s32 fd;			/* in: opened for reading */
	__u64 offset;			/* in: bytes */
	__u64 length;			/* in: bytes */
	__u64 ranges;			/* in: address of odx_range[capacity] */
	__u32 capacity;			/* in: entries */
	__u32 count;			/* out: entries written */
	__u32 flags;			/* out: ODX_RANGES_* */
	__u32 reserved;			/* in: 0 */
	__u64 resume_offset;		/* out: with MORE_DATA */
};
#define ODX_ALLOCATED_RANGES_SIZE_VER0	56

#define ODX_RANGES_MORE_DATA		(1U << 0)

/*
 * 3. ODX_IOC_SLAB_BITMAP: which slabs of a range are mapped, and which are
 * shared. As DEVICE_DATA_SET_LB_PROVISIONING_STATE: a start that is not on
 * a slab boundary moves to the next boundary and @offset_delta is the
 * difference; the rest of the range is reduced to whole slabs (except that
 * a range reaching the end of the volume includes its last, partial,
 * slab). Bit i (word i / 32, bit i % 32) stands for slab i of the adjusted
 * range. At most @capacity * 32 bits are returned: @bit_count says how
 * many, @bitmap_length = @bit_count / 32 rounded up words were written to
 * each bitmap, and ODX_BITMAP_MORE_DATA says the range has more slabs (ask
 * again from offset + @offset_delta + @bit_count * @slab_size).
 * @shared_bitmap may be 0 when not wanted. @capacity 0 fails with ENOBUFS.
 */
struct odx_slab_bitmap {
	__u32 size;			/* in */
	__s32 fd;			/* in: opened for reading */
	__u64 offset;			/* in: bytes */
	__u64 length;			/* in: bytes */
	__u64 bitmap;			/* in: address of __u32[capacity] */
	__u64 shared_bitmap;		/* in: address of __u32[capacity], or 0 */
	__u32 capacity;			/* in: words in each bitmap */
	__u32 bitmap_length;		/* out: words written */
	__u64 slab_size;		/* out: bytes */
	__u64 offset_delta;		/* out: bytes */
	__u64 bit_count;		/* out */
	__u32 flags;			/* out: ODX_BITMAP_* */
	__u32 reserved;			/* in: 0 */
};
#define ODX_SLAB_BITMAP_SIZE_VER0	80

#define ODX_BITMAP_MORE_DATA		(1U << 0)

/*
 * 4. ODX_IOC_TRIM: give back the space of an array of ranges (aligned to
 * the logical block size; they may overlap). Whole slabs are released,
 * the parts of partial slabs zeroed; every trimmed range reads as zeros
 * afterwards. The ranges are processed in order and the result is
 * durable when the call returns. @processed is written back also when
 * the call fails: it is then the index of the first range not processed,
 * and the ranges before it stay trimmed. The whole array is read before
 * any range is processed, so an inaccessible array changes nothing.
 */
struct odx_trim {
	__u32 size;			/* in */
	__s32 fd;			/* in: opened for writing */
	__u64 ranges;			/* in: address of odx_range[count] */
	__u32 count;			/* in: 1 .. ODX_TRIM_MAX_RANGES */
	__u32 processed;		/* out */
	__u32 flags;			/* in: 0 */
	__u32 reserved;			/* in: 0 */
};
#define ODX_TRIM_SIZE_VER0		32

#define ODX_TRIM_MAX_RANGES		4096U

#define ODX_IOC_DESCRIBE \
	_IOWR(ODX_IOCTL_MAGIC, 1, struct odx_describe)
#define ODX_IOC_ALLOCATED_RANGES \
	_IOWR(ODX_IOCTL_MAGIC, 2, struct odx_allocated_ranges)
#define ODX_IOC_SLAB_BITMAP \
	_IOWR(ODX_IOCTL_MAGIC, 3, struct odx_slab_bitmap)
#define ODX_IOC_TRIM \
	_IOWR(ODX_IOCTL_MAGIC, 4, struct odx_trim)

#endif /* _UAPI_LINUX_DM_ODX_H */
