/* The content cache: file data of compressed layers, stored as independent
 * zstd frames so that a read at any offset decodes one frame. */
#ifndef IMGFS_CACHE_I_H
#define IMGFS_CACHE_I_H

#include <stddef.h>
#include <stdint.h>

#include "imgfs/imgfs.h"

/* Uncompressed bytes per frame: a read decodes at most this much more than
 * it returns, and a 128 KiB FUSE read touches one frame or two. */
#define IMGFS_CHUNK (1u << 20)
/* Fast level: indexing must keep up with gzip decompression. */
#define IMGFS_CACHE_LEVEL 1

struct imgfs_cache_writer {
	int fd;
	char *path;
	uint64_t off;
	void *ctx;     /* ZSTD_CCtx */
	void *out;
	size_t out_cap;
	struct imgfs_err *err;
};

/* Creates the cache file PATH.  0 or -errno with ERR set. */
int imgfs_cache_writer_open(struct imgfs_cache_writer *w, const char *path,
			    struct imgfs_err *err);
/* Compresses LEN bytes (at most IMGFS_CHUNK) as one frame and appends it;
 * stores where in *OFF and *CSIZE. */
int imgfs_cache_put(struct imgfs_cache_writer *w, const void *data, size_t len,
		    uint64_t *off, uint32_t *csize);
/* Flushes and closes; 0 or -errno. */
int imgfs_cache_writer_close(struct imgfs_cache_writer *w);

/* Reads and decodes the frame at OFF/CSIZE of FD into DST (IMGFS_CHUNK
 * bytes); SCRATCH holds CSIZE bytes; CTX is a ZSTD_DCtx.  Returns the
 * decoded length or -EIO. */
ssize_t imgfs_cache_frame(int fd, uint64_t off, uint32_t csize, void *scratch, void *dst,
			  void *ctx);

#endif
