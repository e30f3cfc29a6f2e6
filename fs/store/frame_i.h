/* The content cache's format: file data of compressed layers, stored as
 * independent zstd frames so that a read at any offset decodes one frame.
 * The build writes it (build/cache_write), the read side decodes it. */
#ifndef IMGFS_FRAME_I_H
#define IMGFS_FRAME_I_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "imgfs/imgfs.h"

/* Uncompressed bytes per frame of a large file: a read decodes at most
 * this much more than it returns, and a 128 KiB FUSE read touches one frame
 * or two. */
#define IMGFS_CHUNK (1u << 20)
/* Files up to this size share frames with their neighbours (in archive
 * order, so a directory's files tend to share one): small files compress
 * poorly alone, and one frame per 2 KiB file would cost a read each. */
#define IMGFS_SMALL (64u << 10)
/* A shared frame is closed once it holds this much. */
#define IMGFS_GROUP (128u << 10)

/* Reads and decodes the frame at OFF/CSIZE of FD into DST (IMGFS_CHUNK
 * bytes); SCRATCH holds CSIZE bytes; CTX is a ZSTD_DCtx.  Returns the
 * decoded length or -EIO. */
ssize_t imgfs_cache_frame(int fd, uint64_t off, uint32_t csize, void *scratch, void *dst,
			  void *ctx);

#endif
