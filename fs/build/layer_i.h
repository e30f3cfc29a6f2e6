/* Reading one layer tar (any compression) into the merged tree. */
#ifndef IMGFS_LAYER_I_H
#define IMGFS_LAYER_I_H

#include <stdint.h>

#include "imgfs/imgfs.h"
#include "build/cache_write_i.h"
#include "build/merge_i.h"
#include "format/source_i.h"

/* What reading one layer needs from the build: where entries and data go,
 * and the three services only the build can give (the content cache opened
 * on first use, the source table, progress).  The build fills it; the
 * reader knows nothing else of it. */
struct imgfs_layer_job {
	struct imgfs_merge *merge;          /* entries, whiteouts, xattrs */
	struct imgfs_cache_writer *cache;   /* data that cannot be read in place */
	struct imgfs_err *err;
	const char *image;                  /* for messages */
	const char *layer_name;             /* "layer 3 (sha256:ab12...)" */
	unsigned char *buf;                 /* IMGFS_CHUNK bytes */
	uint64_t max_ratio;                 /* bomb ratio, 0: IMGFS_BOMB_RATIO */
	uint64_t entries;                   /* entries read so far, all layers */
	void *ctx;                          /* for the callbacks */
	int (*open_cache)(void *ctx);       /* opens CACHE on first use */
	int (*drain)(void *ctx);            /* frames written so far -> chunk rows */
	int (*source_id)(void *ctx, const char *file, int64_t *id);
	void (*progress)(void *ctx, uint64_t done); /* stored bytes of this layer read */
	/* what the layers before this one decompressed from what: the bomb
	 * ratio holds for the whole image as well as for each layer */
	uint64_t prior_out, prior_in;
	/* the reader of the layer being applied: its stored bytes so far */
	struct imgfs_region_io io;
};

/* Entries in one layer: far beyond any real image (the largest seen hold a
 * few hundred thousand), low enough to bound index size and time. */
#define IMGFS_LAYER_ENTRIES_MAX (16ull << 20)
/* The apparent size of one file: 16 TiB, the largest file ext4 (under
 * most container storage) can hold with 4 KiB blocks, so no container
 * ever saw a larger one.  A sparse entry costs nothing for its holes, but
 * a 1 PiB file would still be an endless read for anyone walking the
 * tree; a tar can claim up to 2^63. */
#define IMGFS_FILE_SIZE_MAX (16ull << 40)
/* Extended attributes: libarchive already caps values at 16 MiB; we keep
 * fewer and smaller ones, like Linux's XATTR_SIZE_MAX. */
#define IMGFS_XATTR_VALUE_MAX 65536
#define IMGFS_XATTRS_PER_ENTRY 128

/* Applies layer NUM, stored in region R, through JOB.  Fills *ENTRIES,
 * *SIZE (uncompressed bytes) and *COMPRESSION.  Returns 0 or a negative
 * errno with JOB's error set. */
int imgfs_layer_apply(struct imgfs_layer_job *job, int num, const struct imgfs_region *r,
		      int hide_estargz, uint64_t *entries, uint64_t *size,
		      const char **compression);

#endif
