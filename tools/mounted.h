/* Is a directory already an imgfs mount? */
#ifndef IMGFS_TOOL_MOUNTED_H
#define IMGFS_TOOL_MOUNTED_H

#include <stddef.h>

/* 1 when the directory DIR is the mount point of a fuse.imgfs mount (its
 * source, the image, copied to SOURCE), 0 when not, -1 when
 * /proc/self/mountinfo cannot be read. */
int imgfs_tool_mounted(const char *dir, char *source, size_t len);

#endif
