/* The read side's calls for the core only. */
#ifndef IMGFS_FS_I_H
#define IMGFS_FS_I_H

#include "imgfs/imgfs.h"

/* imgfs_fs_open without the seal check: for package attribution, which
 * reads the finished tree before the index is sealed and renamed. */
int imgfs_fs_open_unsealed(struct imgfs_fs **out, const char *path, struct imgfs_err *err);

#endif
