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
 *   EBUSY       the volume is suspended (or, for trim and offload write,
 *               the device is held exclusively by someone else, e.g. a
 *               mounted file system; for offload write, the volume that
 *               issued the token is suspended)
 *   EINVAL      size below the first version's, unaligned offset or
 *               length, nonzero reserved field or unknown flag, zero
 *               range count
 *   E2BIG       size larger than this kernel knows with nonzero bytes
 *               beyond, or more ranges than the request's maximum
 *   EOVERFLOW   offset + length overflows
 *   ERANGE      a range extends past the end of the volume, or (offload
 *               write) the transfer offset is not inside the token's data
 *   ENOBUFS     the output array cannot hold even one entry
 *   EFAULT      a user address is NULL, or an array is not accessible for
 *               the whole length given (an output array: for as many
 *               entries as the query could need, up to its capacity)
 *   EROFS       a change requested on a read-only volume
 *   EOPNOTSUPP  trim on a volume loaded with ignore_discard
 *   EIO         the volume's metadata failed (it needs a check)
 *   EINTR       a fatal signal interrupted a long request
 *   ENOTTY      not an ioctl of this device
 * Offload (requests 5-9) adds these. A token that cannot be used fails
 * with an errno of its own for each reason, so callers can tell them
 * apart; the operation status (request 7) reports the same reasons as
 * SCSI sense data (ILLEGAL REQUEST, additional sense 0x23, the
 * qualifier in brackets):
 *   EMSGSIZE    the token's length field is not ODX_TOKEN_LENGTH, or the
 *               token is truncated (invalid token length, 0x0A)
 *   EPROTONOSUPPORT  unknown token type, or a type the request cannot
 *               use (unsupported token type, 0x01)
 *   EKEYREJECTED  the token is corrupt: its secret does not match, a
 *               reserved byte is set, or its fields disagree with what
 *               the volume issued (token corrupt, 0x05)
 *   EKEYEXPIRED the token's lifetime or inactivity time passed (token
 *               expired, 0x07)
 *   EKEYREVOKED the token was revoked: its volume was removed or
 *               activated again since, or the data of a change-
 *               vulnerable token was written (token revoked, 0x06)
 *   ENOKEY      the creating volume does not know the token (never
 *               issued, or forgotten long after it died) (token unknown,
 *               0x04)
 *   EXDEV       the token was created by no volume of this system
 *               (remote token usage not supported, 0x02)
 *   EDQUOT      offload read: the volume has its maximum of live tokens,
 *               or pinning the source would exceed the pinned-space limit
 *   EIDRM       the token was released (request 9) by a caller done
 *               with it (token deleted, 0x09)
 *   ENOENT      operation status or abort: no such operation id on
 *               this volume (an operation answers only through the
 *               mapped device it writes to; ids are random); token
 *               release: no such token on this volume (never issued
 *               here, issued by another volume, or forgotten)
 *   EALREADY    abort: the operation has already completed
 *   EAGAIN      offload write with ODX_WRITE_IMMEDIATE: too many
 *               operations running
 *   ECANCELED   (operation status error) the operation was aborted
 *   EBUSY       (trim, offload write) a volume of the request began to
 *               suspend meanwhile, or the request's I/O was waiting for
 *               space when a noflush suspend began; what was done before
 *               stays done
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
	/* version 1 */
	__u64 pinned_slabs;		/* pinned by live point-in-time tokens */
	__u64 max_pinned_slabs;		/* the volume's limit */
};
#define ODX_DESCRIBE_SIZE_VER0	144
#define ODX_DESCRIBE_SIZE_VER1	160

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

/*
 * Offloaded data transfer (requests 5-9), after FSCTL_OFFLOAD_READ/WRITE
 * and SCSI POPULATE TOKEN / WRITE USING TOKEN / RECEIVE ROD TOKEN
 * INFORMATION.
 *
 * The token. An offload read returns a 512-byte token standing for the
 * data of its source ranges; an offload write writes (part of) that data
 * elsewhere, on the same volume or another. It has the layout of a SCSI
 * ROD token: every multi-byte field is big-endian, the type comes first,
 * the length of what follows the first 8 bytes (ODX_TOKEN_LENGTH = 0x1F8)
 * at offset 6. The rest is dm-odx's own:
 *   volume_id  the creating volume: the uuid in its metadata superblock
 *              (set when the metadata was formatted)
 *   instance   random, chosen when the volume was activated: a token of
 *              an earlier activation of the same volume is revoked
 *   id         the token's identifier, unique within an instance
 *   bytes      the number of bytes the token represents (the source
 *              ranges one after the other, possibly fewer than asked)
 *   range_count, lifetime  informational: the source ranges the token
 *              covers and the inactivity time granted, in seconds
 *   secret     256 random bits from the kernel RNG, compared in constant
 *              time: knowing a token's id does not let anyone forge it
 * The source ranges are not in the token: the creating volume keeps them
 * (with the slabs it pins) under the token's id; the token refers to
 * them. Callers treat a token as opaque and must not modify it; reserved
 * bytes are zero.
 *
 * The well-known zero token (ODX_TOKEN_ZERO) stands for zeros of any
 * length and needs no offload read: the type, the length field
 * ODX_TOKEN_LENGTH and every other byte zero.
 */
#define ODX_TOKEN_SIZE			512
#define ODX_TOKEN_LENGTH		0x1F8	/* bytes after offset 8 */
#define ODX_TOKEN_SECRET_SIZE		32

/* Token (ROD) types, the SCSI ROD type codes */
#define ODX_TOKEN_PIT			0x00800000U /* point in time (default) */
#define ODX_TOKEN_CHANGE_VULNERABLE	0x00800001U /* ... change vulnerable */
#define ODX_TOKEN_ZERO			0xFFFF0001U /* block device zero */

struct odx_token {
	__be32 type;			/* ODX_TOKEN_* */
	__u8 reserved1[2];
	__be16 length;			/* ODX_TOKEN_LENGTH */
	__u8 volume_id[16];		/* the creating volume's uuid */
	__be64 instance;		/* its activation */
	__be64 id;
	__be64 bytes;			/* represented */
	__be32 range_count;
	__be32 lifetime;		/* seconds of inactivity allowed */
	__u8 secret[ODX_TOKEN_SECRET_SIZE];
	__u8 reserved2[424];
};

/* Source ranges per offload read */
#define ODX_OFFLOAD_MAX_RANGES		64U

/*
 * 5. ODX_IOC_OFFLOAD_READ (populate token): a token for the data of
 * @count source ranges, taken one after the other (logical-block
 * aligned, inside the volume, nonzero length). @token_type is
 * ODX_TOKEN_PIT (0 means the same) or ODX_TOKEN_CHANGE_VULNERABLE.
 * @lifetime is the inactivity time asked for in seconds (0: the
 * volume's default; more than its maximum: the maximum) and on return
 * the time granted. @bytes is the number of bytes the token represents:
 * it may be less than the ranges hold (from the start of the first); the
 * caller asks again for the rest. A point-in-time token keeps its data
 * even when the source is written afterwards (its slabs are pinned and
 * written by copy on write); a change-vulnerable one is revoked by any
 * write overlapping its ranges.
 */
struct odx_offload_read {
	__u32 size;			/* in */
	__s32 fd;			/* in: opened for reading */
	__u64 ranges;			/* in: address of odx_range[count] */
	__u32 count;			/* in: 1 .. ODX_OFFLOAD_MAX_RANGES */
	__u32 flags;			/* in: 0 */
	__u32 token_type;		/* in: ODX_TOKEN_PIT or _CHANGE_VULNERABLE */
	__u32 lifetime;			/* in/out: seconds */
	__u64 bytes;			/* out: represented by the token */
	__u64 reserved;			/* in: 0 */
	struct odx_token token;		/* out */
};
#define ODX_OFFLOAD_READ_SIZE_VER0	560

/*
 * 6. ODX_IOC_OFFLOAD_WRITE (write using token): write @length bytes of
 * the token's data, starting @transfer_offset bytes into it, at @offset.
 * All three are logical-block aligned; the token may come from another
 * volume. @written may be less than @length (the token represents less,
 * or the transfer was cut at the volume's maximum): the caller continues
 * from there. A token that cannot be used fails with its own errno (see
 * above) and sets ODX_WRITE_TOKEN_INVALID; @written and @result are
 * written back also when the call fails. With ODX_WRITE_IMMEDIATE the
 * call returns once the operation is started, with
 * ODX_WRITE_IN_PROGRESS and its @operation_id for request 7.
 */
struct odx_offload_write {
	__u32 size;			/* in */
	__s32 fd;			/* in: opened for writing */
	__u64 offset;			/* in: destination, bytes */
	__u64 length;			/* in: bytes */
	__u64 transfer_offset;		/* in: bytes into the token's data */
	__u32 flags;			/* in: ODX_WRITE_IMMEDIATE */
	__u32 result;			/* out: ODX_WRITE_* result flags */
	__u64 written;			/* out: bytes */
	__u64 operation_id;		/* out: nonzero */
	__u64 reserved;			/* in: 0 */
	struct odx_token token;		/* in */
};
#define ODX_OFFLOAD_WRITE_SIZE_VER0	576

/* odx_offload_write.flags */
#define ODX_WRITE_IMMEDIATE		(1U << 0)
/* odx_offload_write.result */
#define ODX_WRITE_TOKEN_INVALID		(1U << 0)
#define ODX_WRITE_IN_PROGRESS		(1U << 1)

/*
 * 7. ODX_IOC_OPERATION_STATUS: how an offload operation is going, in
 * the fields of RECEIVE_TOKEN_INFORMATION_HEADER (host byte order here).
 * @fd is any volume of the operation (the destination of a write).
 * The status of an operation is kept for a while after it ends.
 */
struct odx_operation_status {
	__u32 size;			/* in */
	__s32 fd;			/* in: opened for reading */
	__u64 operation_id;		/* in */
	__u8 service_action;		/* out: ODX_SA_* */
	__u8 operation_status;		/* out: ODX_OP_* */
	__u16 operation_counter;	/* out: commands processed */
	__u32 status_update_delay;	/* out: ms to wait before asking again */
	__u8 completion_status;		/* out: SCSI status, ODX_SCSI_* */
	__u8 transfer_count_units;	/* out: ODX_UNITS_* */
	__u16 segments_processed;	/* out */
	__u8 sense_key;			/* out: ODX_SENSE_*, or 0 */
	__u8 asc;			/* out: additional sense code */
	__u8 ascq;			/* out: its qualifier, ODX_ASCQ_* */
	__u8 reserved1;			/* in: 0 */
	__u64 transfer_count;		/* out: in transfer_count_units */
	__s32 error;			/* out: 0 or the negative errno */
	__u32 flags;			/* in: 0 */
	__u64 reserved2;		/* in: 0 */
};
#define ODX_OPERATION_STATUS_SIZE_VER0	56

/* service_action: the SCSI service actions */
#define ODX_SA_POPULATE_TOKEN		0x10
#define ODX_SA_WRITE_USING_TOKEN	0x11

/* operation_status */
#define ODX_OP_DONE			0x01
#define ODX_OP_FAILED			0x02
#define ODX_OP_DONE_PARTIAL_TOKEN	0x03 /* done, token partly used */
#define ODX_OP_DONE_RESIDUAL		0x04 /* done, check the count */
#define ODX_OP_IN_PROGRESS		0x10 /* foreground/background unknown */
#define ODX_OP_IN_PROGRESS_FOREGROUND	0x11
#define ODX_OP_IN_PROGRESS_BACKGROUND	0x12
#define ODX_OP_TERMINATED		0x60 /* aborted */

/* completion_status */
#define ODX_SCSI_GOOD			0x00
#define ODX_SCSI_CHECK_CONDITION	0x02

/* transfer_count_units: a power of two, or logical blocks */
#define ODX_UNITS_BYTES			0x00
#define ODX_UNITS_KIBIBYTES		0x01
#define ODX_UNITS_MEBIBYTES		0x02
#define ODX_UNITS_GIBIBYTES		0x03
#define ODX_UNITS_TEBIBYTES		0x04
#define ODX_UNITS_PEBIBYTES		0x05
#define ODX_UNITS_EXBIBYTES		0x06
#define ODX_UNITS_BLOCKS		0xF1

/* sense data */
#define ODX_SENSE_ILLEGAL_REQUEST	0x05
#define ODX_SENSE_COPY_ABORTED		0x0A
#define ODX_ASC_INVALID_TOKEN_OP	0x23
#define ODX_ASCQ_UNSUPPORTED_TYPE	0x01
#define ODX_ASCQ_REMOTE_TOKEN		0x02
#define ODX_ASCQ_TOKEN_UNKNOWN		0x04
#define ODX_ASCQ_TOKEN_CORRUPT		0x05
#define ODX_ASCQ_TOKEN_REVOKED		0x06
#define ODX_ASCQ_TOKEN_EXPIRED		0x07
#define ODX_ASCQ_TOKEN_CANCELLED	0x08
#define ODX_ASCQ_TOKEN_DELETED		0x09
#define ODX_ASCQ_INVALID_LENGTH		0x0A

/*
 * 8. ODX_IOC_OPERATION_ABORT: terminate an operation started with
 * ODX_WRITE_IMMEDIATE; its status becomes ODX_OP_TERMINATED (what it
 * wrote before stays written).
 */
struct odx_operation_abort {
	__u32 size;			/* in */
	__s32 fd;			/* in: opened for writing */
	__u64 operation_id;		/* in */
	__u32 flags;			/* in: 0 */
	__u32 reserved;			/* in: 0 */
};
#define ODX_OPERATION_ABORT_SIZE_VER0	24

/*
 * 9. ODX_IOC_TOKEN_RELEASE: give back a token the caller is done with
 * (as SCSI WRITE USING TOKEN's DEL_TKN). The token dies at once: its
 * pinned slabs stop counting against the volume's limit and its live
 * token slot is free on return; the slabs themselves are unpinned on
 * return too, unless a copy with the token is still under way, which
 * keeps them until it ends (then they go at once; a copy with a
 * change-vulnerable token, which checks its token after every piece,
 * fails there with EIDRM instead). A pinned slab whose source was
 * overwritten since becomes free at the next commit (about a second).
 * Any later use of the token fails with EIDRM and
 * ODX_WRITE_TOKEN_INVALID (token deleted).
 *
 * @fd is the volume that issued the token, opened for reading (as for
 * the offload read that made it): through any other volume, and for an
 * id this volume never issued (or forgot, long after the token died),
 * ENOENT. The token must be intact: EMSGSIZE, EKEYREJECTED (its secret
 * or fields), as for an offload write; the zero token is no volume's
 * (EPROTONOSUPPORT). A token that already died fails with why:
 * EKEYEXPIRED, EKEYREVOKED (also a token of an earlier activation of this
 * volume), EIDRM (released already); it holds nothing any more.
 */
struct odx_token_release {
	__u32 size;			/* in */
	__s32 fd;			/* in: the issuing volume, for reading */
	__u32 flags;			/* in: 0 */
	__u32 reserved;			/* in: 0 */
	struct odx_token token;		/* in */
};
#define ODX_TOKEN_RELEASE_SIZE_VER0	528

#define ODX_IOC_DESCRIBE \
	_IOWR(ODX_IOCTL_MAGIC, 1, struct odx_describe)
#define ODX_IOC_ALLOCATED_RANGES \
	_IOWR(ODX_IOCTL_MAGIC, 2, struct odx_allocated_ranges)
#define ODX_IOC_SLAB_BITMAP \
	_IOWR(ODX_IOCTL_MAGIC, 3, struct odx_slab_bitmap)
#define ODX_IOC_TRIM \
	_IOWR(ODX_IOCTL_MAGIC, 4, struct odx_trim)
#define ODX_IOC_OFFLOAD_READ \
	_IOWR(ODX_IOCTL_MAGIC, 5, struct odx_offload_read)
#define ODX_IOC_OFFLOAD_WRITE \
	_IOWR(ODX_IOCTL_MAGIC, 6, struct odx_offload_write)
#define ODX_IOC_OPERATION_STATUS \
	_IOWR(ODX_IOCTL_MAGIC, 7, struct odx_operation_status)
#define ODX_IOC_OPERATION_ABORT \
	_IOWR(ODX_IOCTL_MAGIC, 8, struct odx_operation_abort)
#define ODX_IOC_TOKEN_RELEASE \
	_IOWR(ODX_IOCTL_MAGIC, 9, struct odx_token_release)

#endif /* _UAPI_LINUX_DM_ODX_H */
