/* The hidden side of an image: what lower layers ship that the merged tree
 * no longer shows. */
#ifndef IMGFS_HIDDEN_I_H
#define IMGFS_HIDDEN_I_H

#include <sqlite3.h>

struct imgfs_err;

/* Fills /.imgfs/hidden/N with the entries of each layer whose inode the
 * merged tree no longer reaches, and stores in inode.wasted, for every
 * directory of the merged tree (and every overwritten file), the bytes of
 * hidden regular files at or under its path, each hidden inode once.
 * Runs after the last layer, on the build connection DB; 0 or -errno with
 * ERR set. */
int imgfs_hidden_build(sqlite3 *db, struct imgfs_err *err);

#endif
