/* This file contains the zstd decoder of the layer reader: libzstd's
 * ZSTD_decompressStream over an input buffer it owns, frame after frame,
 * each frame's checksum checked by libzstd when the writer stored one. */
#include "format/unzstd_i.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

/* Stored bytes read at once: ZSTD_DStreamInSize() is 128 KiB, one block. */
#define IN_CHUNK (1u << 17)
/* The largest window a layer may need: libzstd's default limit (and
 * libarchive's), 128 MiB; a frame asking for more is refused before any
 * memory is taken for it. */
#define WINDOW_LOG_MAX 27

struct imgfs_unzstd {
	ZSTD_DStream *ds;
	ZSTD_inBuffer in;
	int frame_open; /* inside a frame: its end not yet seen */
	int ended;
	const char *error;
	unsigned char buf[IN_CHUNK];
};

struct imgfs_unzstd *imgfs_unzstd_new(void)
{
	struct imgfs_unzstd *z = calloc(1, sizeof(*z));

	if (!z)
		return NULL;
	z->ds = ZSTD_createDStream();
	if (!z->ds || ZSTD_isError(ZSTD_DCtx_setParameter(z->ds, ZSTD_d_windowLogMax, WINDOW_LOG_MAX))) {
		ZSTD_freeDStream(z->ds);
		free(z);
		return NULL;
	}
	z->in.src = z->buf;
	return z;
}

void imgfs_unzstd_free(struct imgfs_unzstd *z)
{
	if (!z)
		return;
	ZSTD_freeDStream(z->ds);
	free(z);
}

int imgfs_unzstd_wants_input(const struct imgfs_unzstd *z)
{
	return !z->ended && z->in.pos == z->in.size;
}

void *imgfs_unzstd_space(struct imgfs_unzstd *z, size_t *cap)
{
	size_t left = z->in.size - z->in.pos;

	memmove(z->buf, z->buf + z->in.pos, left);
	z->in.pos = 0;
	z->in.size = left;
	*cap = sizeof(z->buf) - left;
	return z->buf + left;
}

void imgfs_unzstd_fill(struct imgfs_unzstd *z, size_t n)
{
	z->in.size += n;
}

int imgfs_unzstd_ended(const struct imgfs_unzstd *z)
{
	return z->ended;
}

const char *imgfs_unzstd_error(const struct imgfs_unzstd *z)
{
	return z->error ? z->error : "zstd decoding failed";
}

ssize_t imgfs_unzstd_run(struct imgfs_unzstd *z, void *out, size_t len, int at_eof)
{
	for (;;) {
		ZSTD_outBuffer ob = { out, len, 0 };
		size_t before = z->in.pos, ret;

		if (z->ended)
			return 0;
		if (z->in.pos == z->in.size && !z->frame_open) {
			if (at_eof)
				z->ended = 1;
			return 0;
		}
		ret = ZSTD_decompressStream(z->ds, &ob, &z->in);
		if (ZSTD_isError(ret)) {
			z->error = ZSTD_getErrorName(ret);
			return -EINVAL;
		}
		z->frame_open = ret != 0;
		if (ob.pos)
			return (ssize_t)ob.pos;
		if (!z->frame_open)
			continue; /* a frame ended: the next one, or the end */
		if (z->in.pos == z->in.size) {
			if (at_eof) {
				z->error = "truncated zstd input";
				return -EINVAL;
			}
			return 0;
		}
		/* input left, no output and the frame still open: libzstd
		 * always consumes or produces; guard against a loop anyway */
		if (z->in.pos == before) {
			z->error = "zstd decoding made no progress";
			return -EINVAL;
		}
	}
}
