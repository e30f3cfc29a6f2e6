/* This file contains the writer and the frame reader of the zstd content
 * cache that serves reads from compressed layers. */
#include "cache_i.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "err_i.h"
#include "layer_i.h"

int imgfs_cache_writer_open(struct imgfs_cache_writer *w, const char *path,
			    struct imgfs_err *err)
{
	memset(w, 0, sizeof(*w));
	w->err = err;
	w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (w->fd < 0)
		return imgfs_errf(err, -errno, 0, "%s: %s", path, strerror(errno));
	w->path = strdup(path);
	w->ctx = ZSTD_createCCtx();
	w->out_cap = ZSTD_compressBound(IMGFS_CHUNK);
	w->out = malloc(w->out_cap);
	if (!w->path || !w->ctx || !w->out) {
		imgfs_cache_writer_close(w);
		return -ENOMEM;
	}
	ZSTD_CCtx_setParameter(w->ctx, ZSTD_c_compressionLevel, IMGFS_CACHE_LEVEL);
	/* The frame table in the index already knows each frame's size. */
	ZSTD_CCtx_setParameter(w->ctx, ZSTD_c_checksumFlag, 1);
	return 0;
}

int imgfs_cache_put(struct imgfs_cache_writer *w, const void *data, size_t len,
		    uint64_t *off, uint32_t *csize)
{
	size_t n = ZSTD_compress2(w->ctx, w->out, w->out_cap, data, len);
	ssize_t wr;
	int rc;

	if (ZSTD_isError(n))
		return imgfs_errf(w->err, -EIO, 0, "cache: %s", ZSTD_getErrorName(n));
	rc = imgfs_space_check(w->path, n, w->err);
	if (rc)
		return rc;
	wr = pwrite(w->fd, w->out, n, (off_t)w->off);
	if (wr != (ssize_t)n)
		return imgfs_errf(w->err, wr < 0 ? -errno : -ENOSPC, 0, "%s: write: %s", w->path,
				  wr < 0 ? strerror(errno) : "short write");
	*off = w->off;
	*csize = (uint32_t)n;
	w->off += n;
	return 0;
}

int imgfs_cache_writer_close(struct imgfs_cache_writer *w)
{
	int rc = 0;

	if (w->fd >= 0 && close(w->fd) != 0)
		rc = imgfs_errf(w->err, -errno, 0, "%s: %s", w->path, strerror(errno));
	ZSTD_freeCCtx(w->ctx);
	free(w->out);
	free(w->path);
	memset(w, 0, sizeof(*w));
	w->fd = -1;
	return rc;
}

ssize_t imgfs_cache_frame(int fd, uint64_t off, uint32_t csize, void *scratch, void *dst,
			  void *ctx)
{
	ssize_t n = pread(fd, scratch, csize, (off_t)off);
	size_t d;

	if (n != (ssize_t)csize)
		return -EIO;
	d = ZSTD_decompressDCtx(ctx, dst, IMGFS_CHUNK, scratch, csize);
	if (ZSTD_isError(d))
		return -EIO;
	return (ssize_t)d;
}
