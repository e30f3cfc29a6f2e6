/* What a registry would store for an uncompressed layer: docker push
 * gzips a layer at gzip's default level, so the estimate is the size of
 * that gzip stream, computed with zlib over the layer's bytes. */
#ifndef IMGFS_ESTIMATE_I_H
#define IMGFS_ESTIMATE_I_H

#include <stdint.h>

#include "format/source_i.h"
#include "imgfs/imgfs.h"

/* The bytes of R compressed by zlib as gzip -6 does (a gzip header and
 * trailer, deflate level 6, a 32 KiB window) into *OUT.  Returns 0, or a
 * negative errno with ERR set (IMAGE and LAYER name what was read). */
int imgfs_estimate_gzip(const struct imgfs_region *r, const char *image, const char *layer,
			uint64_t *out, struct imgfs_err *err);

#endif
