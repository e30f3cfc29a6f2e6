/* Writing the content cache: compressing threads fed by the build, the
 * frames' places handed back as pieces for the chunk table. */
#ifndef IMGFS_CACHE_WRITE_I_H
#define IMGFS_CACHE_WRITE_I_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "imgfs/imgfs.h"
#include "store/frame_i.h"

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

#endif
