/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dm-odx: the control device (/dev/odx-control) and the volumes it can
 * name. See drivers/odx-control.c.
 */
#ifndef DM_ODX_CONTROL_H
#define DM_ODX_CONTROL_H

struct odx_volume;

int odx_ctl_init(void);
void odx_ctl_exit(void);

/* A new volume (its table's constructor). */
void odx_ctl_volume_init(struct odx_volume *vol);
/* The table was resumed: requests may name the volume. */
void odx_ctl_register(struct odx_volume *vol);
/*
 * The table is being suspended: wait for the requests using this volume to
 * finish (never for other volumes' requests).
 */
void odx_ctl_suspend(struct odx_volume *vol);
/* The suspend did not happen (presuspend_undo): requests may come again. */
void odx_ctl_suspend_undo(struct odx_volume *vol);
/* The table is being destroyed. */
void odx_ctl_unregister(struct odx_volume *vol);

#endif
