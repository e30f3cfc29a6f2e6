/* The content cache: file data of compressed layers, stored as independent
 * zstd frames so that a read at any offset decodes one frame. */
#ifndef IMGFS_CACHE_I_H
#define IMGFS_CACHE_I_H

#include <pthread.h>
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
/* Frames queued for the compressing thread: bounds memory to this many
 * chunk buffers whatever the image. */
#define IMGFS_INFLIGHT 8
/* Compressing threads: with zstd layers the main thread's decompression is
 * light and compression is the bottleneck, so both cores compress. */
#define IMGFS_CACHE_THREADS 2
/* Fast level: indexing must keep up with gzip decompression. */
#define IMGFS_CACHE_LEVEL 1

/* Where one file's bytes (or one chunk of them) ended up. */
struct imgfs_piece {
	int64_t ino;
	int64_t idx;       /* chunk number within the file */
	uint32_t foff;     /* offset of the bytes within the decoded frame */
	uint32_t len;
	uint64_t off;      /* the frame's offset in the cache file */
	uint32_t csize;    /* the frame's compressed size */
};

struct imgfs_cache_job;

struct imgfs_cache_writer {
	int fd;
	char *path;
	struct imgfs_err *err;
	pthread_t thread[IMGFS_CACHE_THREADS];
	int started;
	pthread_mutex_t lock;
	pthread_cond_t wake;       /* work queued, or a slot freed */
	/* protected by lock: */
	struct imgfs_cache_job *todo, *todo_tail, *done, *done_tail;
	int inflight, stop, rc;
	char msg[256];
	uint64_t off;              /* where the next frame goes */
	/* main thread only: */
	struct imgfs_cache_job *group;
	uint64_t bytes_in;
};

/* Creates the cache file PATH and starts the compressing thread.
 * 0 or -errno with ERR set. */
int imgfs_cache_writer_open(struct imgfs_cache_writer *w, const char *path,
			    struct imgfs_err *err);
/* Queues the LEN bytes of chunk IDX of inode INO (a whole file when
 * LEN <= IMGFS_SMALL and IDX is 0: it may share a frame).  Blocks while
 * IMGFS_INFLIGHT frames are queued.  0 or -errno with ERR set. */
int imgfs_cache_add(struct imgfs_cache_writer *w, int64_t ino, int64_t idx,
		    const void *data, size_t len);
/* Hands each piece written so far to FN (on the calling thread); with
 * ALL, first closes the open shared frame and waits for every frame.
 * Returns 0, FN's non-zero result, or -errno with ERR set. */
int imgfs_cache_drain(struct imgfs_cache_writer *w, int all,
		      int (*fn)(void *ctx, const struct imgfs_piece *p), void *ctx);
/* Stops the thread and closes the file; 0 or -errno. */
int imgfs_cache_writer_close(struct imgfs_cache_writer *w);

/* Reads and decodes the frame at OFF/CSIZE of FD into DST (IMGFS_CHUNK
 * bytes); SCRATCH holds CSIZE bytes; CTX is a ZSTD_DCtx.  Returns the
 * decoded length or -EIO. */
ssize_t imgfs_cache_frame(int fd, uint64_t off, uint32_t csize, void *scratch, void *dst,
			  void *ctx);

#endif
