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

int pkg_read_whole(struct pkg_ctx *c, uint64_t ino, const char *what, char **out, size_t *len)
{
	struct imgfs_attr a;
	size_t done = 0;
	char *buf;
	int rc;

	*out = NULL;
	*len = 0;
	rc = imgfs_fs_getattr(c->fs, ino, &a);
	if (pkg_is_fatal(rc))
		return pkg_fatal(c, rc);
	if (rc || !S_ISREG(a.mode)) {
		pkg_warn(c, "%s: %s", what, "not a regular file");
		return 0;
	}
	if (a.size > DB_FILE_MAX) {
		pkg_warn(c, "%s: %s", what, "larger than 64 MiB");
		return 0;
	}
	if (pkg_spend_bytes(c, a.size))
		return 0;
	buf = malloc((size_t)a.size + 1);
	if (!buf)
		return pkg_nomem(c);
	while (done < a.size) {
		ssize_t n = imgfs_fs_read(c->fs, ino, buf + done, (size_t)a.size - done, done);

		if (n == -ENOMEM) {
			free(buf);
			return pkg_nomem(c);
		}
		if (n <= 0) {
			/* -EIO here may be the image's (a layer that changed
			 * under us): this file is skipped, the rest goes on */
			pkg_warn(c, "%s: %s", what, n < 0 ? strerror((int)-n) : "short read");
			free(buf);
			return 0;
		}
		done += (size_t)n;
	}
	buf[done] = '\0';
	if (memchr(buf, '\0', done)) {
		pkg_warn(c, "%s: %s", what, "holds NUL bytes");
		free(buf);
		return 0;
	}
	*out = buf;
	*len = done;
	return 0;
}

int pkg_split_lines(struct pkg_ctx *c, char *buf, size_t len, const char *what, char ***lines,
		    size_t *count)
{
	size_t n = 0, i, cap = 1;
	char *p, *nl, *e = buf + len;

	*lines = NULL;
	*count = 0;
	for (p = buf; p < e; p++)
		cap += *p == '\n';
	if (cap > LINES_MAX) {
		pkg_warn(c, "%s: %s", what, "more than 2000000 lines");
		return 0;
	}
	if (pkg_spend_lines(c, cap))
		return 0;
	*lines = malloc(cap * sizeof(**lines));
	if (!*lines)
		return pkg_nomem(c);
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
	*count = n;
	return 0;
}

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
