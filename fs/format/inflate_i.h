/* gzip layers decoded with ISA-L's igzip instead of libarchive's zlib
 * filter: the index build of a gzip image is mostly inflate (issue 18),
 * and igzip decodes deflate two to three times faster than zlib. */
#ifndef IMGFS_INFLATE_I_H
#define IMGFS_INFLATE_I_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct imgfs_inflate;

/* A decoder of one gzip file (one member or several, concatenated, as
 * gzip -d and libarchive read them).  NULL when out of memory. */
struct imgfs_inflate *imgfs_inflate_new(void);
void imgfs_inflate_free(struct imgfs_inflate *z);

/* Where the next stored bytes go: at most *CAP of them (never 0), read
 * there by the caller and then given with imgfs_inflate_fill.  The decoder
 * owns the buffer, so no byte is copied twice; call only when
 * imgfs_inflate_wants_input says so. */
void *imgfs_inflate_space(struct imgfs_inflate *z, size_t *cap);
void imgfs_inflate_fill(struct imgfs_inflate *z, size_t n);

/* 1 when every byte fed so far has been consumed (or kept back) and more
 * are needed to go on. */
int imgfs_inflate_wants_input(const struct imgfs_inflate *z);

/* Decodes into OUT (at most LEN bytes).  Returns the bytes written (0 with
 * more input wanted, or at the end), or -EINVAL for data that is no valid
 * gzip (the reason in imgfs_inflate_error).  AT_EOF says no more input
 * will come: a member still open then is a truncated stream (-EINVAL). */
ssize_t imgfs_inflate_run(struct imgfs_inflate *z, void *out, size_t len, int at_eof);

/* 1 once the last member has ended and what follows it (nothing, or bytes
 * that start no gzip member: ignored, as libarchive ignores them). */
int imgfs_inflate_ended(const struct imgfs_inflate *z);

/* Why the last imgfs_inflate_run failed. */
const char *imgfs_inflate_error(const struct imgfs_inflate *z);

#endif
