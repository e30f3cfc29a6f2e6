/* The hidden side of an image: what lower layers ship that the merged tree
 * no longer shows. */
#ifndef IMGFS_WASTE_I_H
#define IMGFS_WASTE_I_H

#include "merge_i.h"

/* Fills /.imgfs/hidden/N with the entries of each layer whose inode the
 * merged tree no longer reaches, and stores in inode.wasted, for every
 * directory of the merged tree (and every overwritten file), the bytes of
 * hidden regular files at or under its path, each hidden inode once.
 * Runs after the last layer; 0 or -errno with the error set. */
int imgfs_waste_build(struct imgfs_merge *m);

#endif
