/* Guards on what hostile input can make the build write. */
#ifndef IMGFS_GUARD_I_H
#define IMGFS_GUARD_I_H

#include <stddef.h>
#include <stdint.h>

#include "imgfs/imgfs.h"

/* Sanity limits.  A gzip stream cannot exceed about 1032:1, zstd and xz can
 * go far higher; past this ratio (once the stream is large enough to matter)
 * we treat the input as a decompression bomb.  imgfs_opts.max_ratio (the
 * command's IMGFS_MAX_RATIO) overrides it for images that really hold huge
 * zero files. */
#define IMGFS_BOMB_RATIO 1024
#define IMGFS_BOMB_MIN (1ull << 30)
/* Never let the content cache or a spool leave less than this free. */
#define IMGFS_DISK_MARGIN (256ull << 20)
/* -EFBIG with ERR set when OUT bytes from IN bytes passes RATIO (0:
 * IMGFS_BOMB_RATIO) once OUT is past IMGFS_BOMB_MIN. */
int imgfs_bomb_check(const char *what, uint64_t out, uint64_t in, uint64_t ratio,
		     struct imgfs_err *err);
/* -ENOSPC with ERR set when writing ADD more bytes near PATH would leave
 * less than IMGFS_DISK_MARGIN free. */
int imgfs_space_check(const char *path, uint64_t add, struct imgfs_err *err);
/* Appends the N bytes at P to the malloc'd *BODY of *LEN bytes, kept
 * NUL-terminated, as long as it stays within MAX (what a server may send
 * back: an error message, a manifest).  0, -EFBIG past MAX or -ENOMEM. */
int imgfs_body_append(char **body, size_t *len, size_t max, const void *p, size_t n);

#endif
