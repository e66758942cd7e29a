/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dm-odx: the copy engine of offloaded data transfer.
 *
 * An offload read pins what a point-in-time token stands for; an offload
 * write copies a token's data to a destination volume: slab-aligned parts
 * on the token's own volume by remapping (the destination slab points at
 * the source slab, which becomes shared: metadata only), everything else
 * by an in-kernel data copy (dm-kcopyd) from the source slabs to the
 * mapped destination device, through its ordinary write path.
 *
 * Callers (the control device) hold the volumes for the whole call: both
 * stay resumed or the engine stops with -EBUSY at the next piece.
 */
#ifndef DM_ODX_COPY_H
#define DM_ODX_COPY_H

#include <linux/types.h>

struct block_device;
struct odx_range;
struct odx_token;
struct odx_token_data;
struct odx_volume;

/* The most bytes one token stands for, and one offload write copies. */
#define ODX_COPY_MAX_BYTES	(1ULL << 30)
/* Data copied or remapped between two looks at abort and suspend. */
#define ODX_COPY_CHUNK		(64ULL << 20)

/*
 * Offload read: issue a token of @type (ODX_TOKEN_PIT or
 * ODX_TOKEN_CHANGE_VULNERABLE) for @ranges (checked by the caller), cut
 * to ODX_COPY_MAX_BYTES; a point-in-time token pins the slabs mapped
 * under them, within the readers' share when @by_reader (see
 * odx_token_charge_pinned()). *@lifetime in: asked, out: granted;
 * *@bytes: represented.
 */
int odx_copy_populate(struct odx_volume *vol, u32 type, u32 *lifetime,
		      const struct odx_range *ranges, u32 count,
		      bool by_reader, struct odx_token *tok, u64 *bytes);

struct odx_xfer {
	struct odx_volume *dvol;	/* destination */
	struct block_device *dbdev;	/* its mapped device */
	struct odx_volume *svol;	/* the token's volume; NULL: zero */
	struct odx_token_data *data;	/* NULL: the zero token */
	u64 offset, length;		/* destination, bytes */
	u64 transfer_offset;		/* into the token's data */
	u64 done;			/* bytes written so far */
	bool remapped;			/* some of it by remapping */
	bool *abort;			/* set: stop at the next piece */
};

/*
 * Offload write: copy @x->length bytes (fewer if the token's data ends
 * first) and flush the destination. @x->done is updated as pieces
 * complete (a status request reads it). Errors: a token's errno when it
 * died meanwhile (change-vulnerable), -EBUSY (a volume is suspending),
 * -ECANCELED (aborted), -EINTR, -EIO, -ENOSPC, -ENOMEM.
 */
int odx_copy_run(struct odx_xfer *x);

/*
 * Remap whole slabs [@src, @src + @nr) to [@dst, @dst + @nr) of one
 * volume, at most a batch (4096) at a time, the source pinned meanwhile:
 * the slab-aligned part of a copy, for the REQ_OP_COPY path. *@done:
 * remapped, from the first. Returns 0 when some were; when none were,
 * -EBUSY (the first destination slab is being filled by a write: try
 * again), -EMLINK (a reference count is full: copy the data), or the
 * error (-ENOMEM; -EIO and the volume failed).
 */
int odx_copy_remap_slabs(struct odx_volume *vol, u64 dst, u64 src, u32 nr,
			 u32 *done);

int odx_copy_module_init(void);
void odx_copy_module_exit(void);

#endif
