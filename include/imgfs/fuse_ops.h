/* The FUSE adapter: a thin low-level-API translation over the core. */
#ifndef IMGFS_FUSE_OPS_H
#define IMGFS_FUSE_OPS_H

#include "imgfs/imgfs.h"

struct imgfs_mount_opts {
	const char *mountpoint;
	const char *fsname;      /* shown in /proc/mounts */
	const char *extra;       /* user's -o options, appended, or NULL */
	int foreground;
	int debug;
};

/* Mounts the images of SET (read-only, nosuid, nodev, default_permissions),
 * daemonizes unless foreground, and serves requests until unmounted or
 * signalled.  Returns 0, or a negative errno with a message printed to
 * stderr. */
int imgfs_fuse_run(struct imgfs_set *set, const struct imgfs_mount_opts *o);

#endif
