/* This file contains the decoding of one content-cache frame. */
#include "store/frame_i.h"

#include <errno.h>
#include <unistd.h>
#include <zstd.h>

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
