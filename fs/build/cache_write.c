/* This file contains the writer and the frame reader of the zstd content
 * cache that serves reads from compressed layers.  Frames are compressed
 * and written by a thread of their own, so that on two cores the
 * decompression of the layer (main thread) and the compression of the cache
 * overlap. */
#include "build/cache_write_i.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "util/err_i.h"
#include "util/guard_i.h"

struct imgfs_cache_job {
	unsigned char *buf;
	size_t len;
	struct imgfs_piece *pieces;
	size_t n, cap;
	struct imgfs_cache_job *next;
};

static void job_free(struct imgfs_cache_job *j)
{
	if (!j)
		return;
	free(j->buf);
	free(j->pieces);
	free(j);
}

static struct imgfs_cache_job *job_new(size_t cap)
{
	struct imgfs_cache_job *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->buf = malloc(cap);
	if (!j->buf) {
		free(j);
		return NULL;
	}
	return j;
}

static int job_piece(struct imgfs_cache_job *j, int64_t ino, int64_t idx, size_t len)
{
	if (j->n == j->cap) {
		size_t cap = j->cap ? j->cap * 2 : 8;
		struct imgfs_piece *p = realloc(j->pieces, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		j->pieces = p;
		j->cap = cap;
	}
	j->pieces[j->n++] = (struct imgfs_piece){ .ino = ino, .idx = idx,
						   .foff = (uint32_t)j->len, .len = (uint32_t)len };
	return 0;
}

/* A compressing thread: takes a queued frame, compresses it, claims the
 * next stretch of the cache file for it and moves it to the done list. */
static void *worker(void *arg)
{
	struct imgfs_cache_writer *w = arg;
	ZSTD_CCtx *cctx = ZSTD_createCCtx();
	size_t cap = ZSTD_compressBound(IMGFS_CHUNK);
	void *out = malloc(cap);

	if (cctx) {
		ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, IMGFS_CACHE_LEVEL);
		ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
	}
	for (;;) {
		struct imgfs_cache_job *j;
		char msg[sizeof(w->msg)] = "";
		size_t n;
		int rc = 0;
		size_t i;

		pthread_mutex_lock(&w->lock);
		while (!w->todo && !w->stop)
			pthread_cond_wait(&w->wake, &w->lock);
		j = w->todo;
		if (!j) {
			pthread_mutex_unlock(&w->lock);
			break;
		}
		w->todo = j->next;
		if (!w->todo)
			w->todo_tail = NULL;
		rc = w->rc;
		pthread_mutex_unlock(&w->lock);

		if (rc == 0 && (!cctx || !out)) {
			rc = -ENOMEM; /* the worker's detail goes to MSG, not W->err */
			snprintf(msg, sizeof(msg), "cache: out of memory");
		}
		if (rc == 0) {
			n = ZSTD_compress2(cctx, out, cap, j->buf, j->len);
			if (ZSTD_isError(n)) {
				rc = -EIO;
				snprintf(msg, sizeof(msg), "cache: %s", ZSTD_getErrorName(n));
			} else if ((rc = imgfs_space_check(w->path, n, NULL)) != 0) {
				snprintf(msg, sizeof(msg), "%.150s: less than %llu MiB of disk left; "
					 "stopped before filling it", w->path, IMGFS_DISK_MARGIN >> 20);
			} else {
				uint64_t at;
				ssize_t wr;

				pthread_mutex_lock(&w->lock);
				at = w->off;
				w->off += n;
				pthread_mutex_unlock(&w->lock);
				wr = pwrite(w->fd, out, n, (off_t)at);
				if (wr != (ssize_t)n) {
					rc = wr < 0 ? -errno : -ENOSPC;
					snprintf(msg, sizeof(msg), "%.200s: write: %s", w->path,
						 wr < 0 ? strerror(errno) : "disk full");
				} else {
					for (i = 0; i < j->n; i++) {
						j->pieces[i].off = at;
						j->pieces[i].csize = (uint32_t)n;
					}
				}
			}
		}
		free(j->buf);
		j->buf = NULL;
		j->next = NULL;
		pthread_mutex_lock(&w->lock);
		if (rc && !w->rc) {
			w->rc = rc;
			memcpy(w->msg, msg, sizeof(msg)); /* the first error's words */
		}
		if (w->done_tail)
			w->done_tail->next = j;
		else
			w->done = j;
		w->done_tail = j;
		w->inflight--;
		pthread_cond_broadcast(&w->wake);
		pthread_mutex_unlock(&w->lock);
	}
	ZSTD_freeCCtx(cctx);
	free(out);
	return NULL;
}

int imgfs_cache_writer_open(struct imgfs_cache_writer *w, const char *path,
			    struct imgfs_err *err)
{
	memset(w, 0, sizeof(*w));
	w->err = err;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->wake, NULL);
	w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (w->fd < 0)
		return imgfs_errf(err, -errno, 0, "%s: %s", path, strerror(errno));
	w->path = strdup(path);
	if (!w->path)
		goto fail;
	for (; w->started < IMGFS_CACHE_THREADS; w->started++)
		if (pthread_create(&w->thread[w->started], NULL, worker, w) != 0)
			goto fail;
	return 0;
fail:
	imgfs_cache_writer_close(w);
	return imgfs_errf(err, -ENOMEM, 0, "cache: cannot start the compressing threads");
}

/* Hands job J to the thread, waiting for a free slot first. */
static int submit(struct imgfs_cache_writer *w, struct imgfs_cache_job *j)
{
	int rc;

	pthread_mutex_lock(&w->lock);
	while (w->inflight >= IMGFS_INFLIGHT && !w->rc)
		pthread_cond_wait(&w->wake, &w->lock);
	rc = w->rc;
	if (rc == 0) {
		if (w->todo_tail)
			w->todo_tail->next = j;
		else
			w->todo = j;
		w->todo_tail = j;
		w->inflight++;
		pthread_cond_broadcast(&w->wake);
	}
	pthread_mutex_unlock(&w->lock);
	if (rc) {
		job_free(j);
		return imgfs_errf(w->err, rc, 0, "%s", w->msg);
	}
	return 0;
}

int imgfs_cache_add(struct imgfs_cache_writer *w, int64_t ino, int64_t idx,
		    const void *data, size_t len)
{
	struct imgfs_cache_job *j;
	int rc;

	w->bytes_in += len;
	if (len <= IMGFS_SMALL && idx == 0) {
		if (!w->group && !(w->group = job_new(IMGFS_GROUP + IMGFS_SMALL)))
			return imgfs_errf(w->err, -ENOMEM, 0, "out of memory");
		j = w->group;
		rc = job_piece(j, ino, 0, len);
		if (rc)
			return imgfs_errf(w->err, rc, 0, "out of memory");
		memcpy(j->buf + j->len, data, len);
		j->len += len;
		if (j->len < IMGFS_GROUP)
			return 0;
		w->group = NULL;
		return submit(w, j);
	}
	j = job_new(len ? len : 1);
	if (!j)
		return imgfs_errf(w->err, -ENOMEM, 0, "out of memory");
	rc = job_piece(j, ino, idx, len);
	if (rc) {
		job_free(j);
		return imgfs_errf(w->err, rc, 0, "out of memory");
	}
	memcpy(j->buf, data, len);
	j->len = len;
	return submit(w, j);
}

int imgfs_cache_drain(struct imgfs_cache_writer *w, int all,
		      int (*fn)(void *ctx, const struct imgfs_piece *p), void *ctx)
{
	struct imgfs_cache_job *list, *j;
	int rc = 0;

	/* by pieces, not bytes: a frame of empty files has pieces to hand over */
	if (all && w->group && w->group->n) {
		j = w->group;
		w->group = NULL;
		rc = submit(w, j);
		if (rc)
			return rc;
	}
	pthread_mutex_lock(&w->lock);
	while (all && w->inflight > 0)
		pthread_cond_wait(&w->wake, &w->lock);
	list = w->done;
	w->done = w->done_tail = NULL;
	if (w->rc)
		rc = w->rc;
	pthread_mutex_unlock(&w->lock);
	while ((j = list)) {
		size_t i;

		list = j->next;
		for (i = 0; i < j->n && rc == 0; i++)
			rc = fn(ctx, &j->pieces[i]);
		job_free(j);
	}
	if (rc < 0 && w->msg[0])
		return imgfs_errf(w->err, rc, 0, "%s", w->msg);
	return rc;
}

int imgfs_cache_writer_close(struct imgfs_cache_writer *w)
{
	struct imgfs_cache_job *j;
	int rc = 0;

	if (w->started) {
		int i;

		pthread_mutex_lock(&w->lock);
		w->stop = 1;
		pthread_cond_broadcast(&w->wake);
		pthread_mutex_unlock(&w->lock);
		for (i = 0; i < w->started; i++)
			pthread_join(w->thread[i], NULL);
	}
	while ((j = w->todo)) {
		w->todo = j->next;
		job_free(j);
	}
	while ((j = w->done)) {
		w->done = j->next;
		job_free(j);
	}
	job_free(w->group);
	if (w->fd >= 0 && close(w->fd) != 0)
		rc = imgfs_errf(w->err, -errno, 0, "%s: %s", w->path, strerror(errno));
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->wake);
	free(w->path);
	memset(w, 0, sizeof(*w));
	w->fd = -1;
	return rc;
}
