/* Reading one package database file of the image: whole, split in lines,
 * "Key: value" fields. */
#ifndef IMGFS_DBFILE_I_H
#define IMGFS_DBFILE_I_H

#include <stddef.h>
#include <stdint.h>

#include "pkg/pass_i.h"

/* The whole content of regular file INO into *BUF (NUL-terminated,
 * malloc'd, the caller's) and *LEN.  Returns 0, *BUF NULL when the file
 * was skipped (too large, unreadable, holding NUL bytes: a warning naming
 * WHAT said so; or a bound of the pass reached), or a fatal -errno. */
int pkg_read_whole(struct pkg_ctx *c, uint64_t ino, const char *what, char **buf, size_t *len);
/* Splits BUF into lines in place: (*LINES)[i] points at each (no '\n', a
 * final '\r' cut), *N of them; *LINES is malloc'd, the caller's.  Returns
 * 0, *N 0 when the file was skipped (over LINES_MAX, with a warning naming
 * WHAT; or a bound of the pass reached), or -ENOMEM. */
int pkg_split_lines(struct pkg_ctx *c, char *buf, size_t len, const char *what, char ***lines,
		    size_t *n);
/* The value of field KEY in LINE ("Key: value"), or NULL. */
const char *pkg_field(const char *line, const char *key);

#endif
