/* Which layers touch each path: user.imgfs.layers, computed once per
 * build rather than per getxattr. */
#ifndef IMGFS_LAYERSET_I_H
#define IMGFS_LAYERSET_I_H

#include <sqlite3.h>

struct imgfs_err;

/* Fills table inode_layers: for every inode of the merged tree, the layers
 * whose own tree has an explicit entry, or a whiteout, at one of its
 * names' paths ("3,4,13", ascending; no row when none: a directory only
 * implied); the root gets every layer.  Runs after the last layer, on the
 * build connection DB, before the finish drops anything; 0 or -errno with
 * ERR set. */
int imgfs_layerset_build(sqlite3 *db, struct imgfs_err *err);

#endif
