/* Reading one package database file of the image: whole, split in lines,
 * "Key: value" fields. */
#ifndef IMGFS_DBFILE_I_H
#define IMGFS_DBFILE_I_H

#include <stddef.h>
#include <stdint.h>

#include "pkg/pass_i.h"

/* The whole content of regular file INO, NUL-terminated, malloc'd; NULL
 * (with a warning naming WHAT) when it is too large or unreadable. */
char *pkg_read_whole(struct pkg_ctx *c, uint64_t ino, const char *what, size_t *len);
/* Splits BUF into lines in place: *LINES points at each (no '\n', a final
 * '\r' cut).  Returns the count, or -1 (with a warning) over LINES_MAX. */
long pkg_split_lines(struct pkg_ctx *c, char *buf, size_t len, const char *what, char ***lines);
/* The value of field KEY in LINE ("Key: value"), or NULL. */
const char *pkg_field(const char *line, const char *key);

#endif
