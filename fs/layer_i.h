/* Reading one layer tar (any compression) into the merged tree. */
#ifndef IMGFS_LAYER_I_H
#define IMGFS_LAYER_I_H

#include <stdint.h>

#include "imgfs/imgfs.h"
#include "source_i.h"

struct archive;
struct imgfs_build;

/* Sanity limits.  A gzip stream cannot exceed about 1032:1, zstd and xz can
 * go far higher; past this ratio (once the stream is large enough to matter)
 * we treat the input as a decompression bomb.  IMGFS_MAX_RATIO in the
 * environment overrides it for images that really hold huge zero files. */
#define IMGFS_BOMB_RATIO 1024
#define IMGFS_BOMB_MIN (1ull << 30)
/* Never let the content cache or a spool leave less than this free. */
#define IMGFS_DISK_MARGIN (256ull << 20)
/* Entries in one layer: far beyond any real image (the largest seen hold a
 * few hundred thousand), low enough to bound index size and time. */
#define IMGFS_LAYER_ENTRIES_MAX (16ull << 20)
/* Extended attributes: libarchive already caps values at 16 MiB; we keep
 * fewer and smaller ones, like Linux's XATTR_SIZE_MAX. */
#define IMGFS_XATTR_VALUE_MAX 65536
#define IMGFS_XATTRS_PER_ENTRY 128

/* A libarchive reader over region R (tar, any compression, or empty).
 * Free with imgfs_region_archive_free.  NULL only when out of memory. */
struct archive *imgfs_region_archive(const struct imgfs_region *r);
void imgfs_region_archive_free(struct archive *a);

/* -EFBIG with ERR set when OUT bytes from IN bytes passes the bomb limit. */
int imgfs_bomb_check(const char *what, uint64_t out, uint64_t in, struct imgfs_err *err);
/* -ENOSPC with ERR set when writing ADD more bytes near PATH would leave
 * less than IMGFS_DISK_MARGIN free. */
int imgfs_space_check(const char *path, uint64_t add, struct imgfs_err *err);

/* Applies layer NUM, stored in region R, to the tree being built in B.
 * Fills *ENTRIES, *SIZE (uncompressed bytes) and *COMPRESSION.
 * Returns 0 or a negative errno with B's error set. */
int imgfs_layer_apply(struct imgfs_build *b, int num, const struct imgfs_region *r,
		      int hide_estargz, uint64_t *entries, uint64_t *size,
		      const char **compression);

/* Stores the rows of cache frames written so far; with ALL, waits for the
 * last ones.  0 or -errno. */
int imgfs_layer_drain(struct imgfs_build *b, int all);

#endif
