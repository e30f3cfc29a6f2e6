/* Files a layer ships again unchanged: the same bytes as the copy they
 * hide at the same path (what `RUN chown -R`, `chmod -R` or `touch` in a
 * Dockerfile do), per layer. */
#ifndef IMGFS_TOOLS_RESHIPPED_H
#define IMGFS_TOOLS_RESHIPPED_H

#include <stddef.h>
#include <stdint.h>

#include "imgfs/imgfs.h"

struct reshipped_layer {
	int layer;
	uint64_t bytes, files;
	char *created_by;       /* the layer's step, or NULL */
};

struct reshipped {
	struct reshipped_layer *l;  /* layers with re-shipped files, in order */
	size_t n;
	uint64_t bytes, files;
};

/* Fills R from FS (its duplicate groups).  Returns 0 or a negative errno. */
int reshipped_collect(struct imgfs_fs *fs, struct reshipped *r);
void reshipped_free(struct reshipped *r);

#endif
