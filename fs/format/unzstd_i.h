/* zstd layers decoded with libzstd's streaming decoder ahead of
 * libarchive, as gzip layers are by igzip (inflate_i.h, the same calls):
 * the build then sees the layer's tar bytes, which it hashes for the
 * diff_id that keys the shared content cache (issue 14). */
#ifndef IMGFS_UNZSTD_I_H
#define IMGFS_UNZSTD_I_H

#include <stddef.h>
#include <sys/types.h>

struct imgfs_unzstd;

/* A decoder of one zstd file: frames one after another, skippable frames
 * (a zstd:chunked table of contents) passed over.  NULL when out of
 * memory. */
struct imgfs_unzstd *imgfs_unzstd_new(void);
void imgfs_unzstd_free(struct imgfs_unzstd *z);

/* As imgfs_inflate_space, _fill, _wants_input, _run, _ended and _error. */
void *imgfs_unzstd_space(struct imgfs_unzstd *z, size_t *cap);
void imgfs_unzstd_fill(struct imgfs_unzstd *z, size_t n);
int imgfs_unzstd_wants_input(const struct imgfs_unzstd *z);
ssize_t imgfs_unzstd_run(struct imgfs_unzstd *z, void *out, size_t len, int at_eof);
int imgfs_unzstd_ended(const struct imgfs_unzstd *z);
const char *imgfs_unzstd_error(const struct imgfs_unzstd *z);

#endif
