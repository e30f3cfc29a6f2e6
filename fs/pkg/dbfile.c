/* This file contains the reading of one package database file: whole and
 * bounded, then split in lines or "Key: value" fields. */
#include "pkg/dbfile_i.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Sanity limits: low enough that a crafted image cannot make us allocate
 * extreme amounts of memory, high enough for any real system. */
/* Bytes of one database file read whole: the dpkg status of a full desktop
 * install is about 10 MiB, an npm package.json a few KiB. */
#define DB_FILE_MAX (64u << 20)
/* Lines of one database file: each becomes a path held in memory. */
#define LINES_MAX 2000000

/* The whole content of regular file INO, NUL-terminated, malloc'd; NULL
 * (with a warning naming WHAT) when it is too large or unreadable. */
char *pkg_read_whole(struct pkg_ctx *c, uint64_t ino, const char *what, size_t *len)
{
	struct imgfs_attr a;
	size_t done = 0;
	char *buf;

	if (imgfs_fs_getattr(c->fs, ino, &a) != 0 || !S_ISREG(a.mode)) {
		pkg_warn(what, "not a regular file");
		return NULL;
	}
	if (a.size > DB_FILE_MAX) {
		pkg_warn(what, "larger than 64 MiB");
		return NULL;
	}
	buf = malloc((size_t)a.size + 1);
	if (!buf) {
		c->nomem = 1;
		return NULL;
	}
	while (done < a.size) {
		ssize_t n = imgfs_fs_read(c->fs, ino, buf + done, (size_t)a.size - done, done);

		if (n <= 0) {
			pkg_warn(what, n < 0 ? strerror((int)-n) : "short read");
			free(buf);
			return NULL;
		}
		done += (size_t)n;
	}
	buf[done] = '\0';
	if (memchr(buf, '\0', done)) {
		pkg_warn(what, "holds NUL bytes");
		free(buf);
		return NULL;
	}
	*len = done;
	return buf;
}

/* Splits BUF into lines in place: *LINES points at each (no '\n', a final
 * '\r' cut).  Returns the count, or -1 (with a warning) over LINES_MAX. */
long pkg_split_lines(struct pkg_ctx *c, char *buf, size_t len, const char *what, char ***lines)
{
	size_t n = 0, i, cap = 1;
	char *p, *nl, *e = buf + len;

	for (p = buf; p < e; p++)
		cap += *p == '\n';
	if (cap > LINES_MAX) {
		pkg_warn(what, "more than 2000000 lines");
		return -1;
	}
	*lines = malloc(cap * sizeof(**lines));
	if (!*lines) {
		c->nomem = 1;
		return -1;
	}
	for (p = buf; p < e; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(e - p));
		if (!nl)
			nl = e;
		*nl = '\0';
		i = (size_t)(nl - p);
		if (i && p[i - 1] == '\r')
			p[i - 1] = '\0';
		(*lines)[n++] = p;
	}
	return (long)n;
}

/* The value of field KEY in LINE ("Key: value"), or NULL. */
const char *pkg_field(const char *line, const char *key)
{
	size_t l = strlen(key);

	if (strncmp(line, key, l) || line[l] != ':')
		return NULL;
	line += l + 1;
	while (*line == ' ' || *line == '\t')
		line++;
	return line;
}
