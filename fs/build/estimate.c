/* This file contains the estimate of what a registry would store for an
 * uncompressed layer (imgfs index --estimate-compressed): the layer's
 * bytes deflated by zlib at level 6 in a gzip wrapper, what `docker push`
 * and `gzip -6` write.  Only the compressed length is kept. */
#include "build/estimate_i.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "util/err_i.h"

/* Read and deflate in steps of this many bytes: a few page-cache reads
 * per call. */
#define ESTIMATE_STEP (256u << 10)

int imgfs_estimate_gzip(const struct imgfs_region *r, const char *image, const char *layer,
			uint64_t *out, struct imgfs_err *err)
{
	unsigned char *in = malloc(2 * ESTIMATE_STEP), *sink = in + ESTIMATE_STEP;
	z_stream z;
	uint64_t done = 0;
	int rc = 0, zr = Z_OK;

	memset(&z, 0, sizeof(z));
	/* windowBits 15 + 16: a gzip header and trailer, as gzip writes */
	if (!in || deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
		free(in);
		return imgfs_errf(err, -ENOMEM, 0, "%s: %s: estimate: out of memory", image, layer);
	}
	*out = 0;
	do {
		size_t want = r->size - done < ESTIMATE_STEP ? (size_t)(r->size - done) : ESTIMATE_STEP;
		ssize_t n = want ? pread(r->fd, in, want, (off_t)(r->off + done)) : 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || (want && n == 0)) {
			rc = imgfs_errf(err, n < 0 ? -errno : -EIO, 0, "%s: %s: estimate: %s", image,
					layer, n < 0 ? strerror(errno) : "the image shrank");
			goto out;
		}
		done += (uint64_t)n;
		z.next_in = in;
		z.avail_in = (uInt)n;
		do {
			z.next_out = sink;
			z.avail_out = ESTIMATE_STEP;
			zr = deflate(&z, done == r->size ? Z_FINISH : Z_NO_FLUSH);
			if (zr == Z_STREAM_ERROR) {
				rc = imgfs_errf(err, -EIO, 0, "%s: %s: estimate: deflate failed", image, layer);
				goto out;
			}
			*out += ESTIMATE_STEP - z.avail_out;
		} while (z.avail_out == 0);
	} while (done < r->size);
	/* Z_FINISH until the end of the stream */
	while (zr != Z_STREAM_END) {
		z.next_out = sink;
		z.avail_out = ESTIMATE_STEP;
		zr = deflate(&z, Z_FINISH);
		if (zr == Z_STREAM_ERROR) {
			rc = imgfs_errf(err, -EIO, 0, "%s: %s: estimate: deflate failed", image, layer);
			goto out;
		}
		*out += ESTIMATE_STEP - z.avail_out;
	}
out:
	deflateEnd(&z);
	free(in);
	return rc;
}
