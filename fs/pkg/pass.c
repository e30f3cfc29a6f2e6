/* This file contains what every package database reader shares: the
 * warning line, the fatal errors, the bounds on the work of the pass and
 * string vectors. */
#include "pkg/pass_i.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/err_i.h"

/* Bounds on the work of the pass.  The databases are the image's: one
 * 60 MiB .list of "/a/../a/.."-padded lines hardlinked as 1,000 packages'
 * lists is a 150 KB image, and without these it cost about 10 hours of
 * lookups (issue 13).  Each bound is far above what a real system needs;
 * past one, attribution stops with one warning and the index is built
 * with what was found so far. */
/* Lookups in the tree (a path component, an entry listed) over the whole
 * pass: a listed path costs about 1.4 of them (its directory is resolved
 * once for a run of paths in it: pyapp's 38,753 lines took 54,454), so
 * this is some 5 million listed paths, ten times the files of a large
 * desktop install; at ~1 us a lookup it is ~10 s of work at most. */
#define PKG_STEPS_MAX 8000000ull
/* Lines of database files over the whole pass: each may become a path
 * held in memory and sorted; the same eight times a large desktop. */
#define PKG_LINES_MAX 8000000ull
/* Bytes of database files one database reads (its files read whole and
 * split): a full desktop's dpkg status and every .list are ~60 MiB. */
#define PKG_DB_BYTES_MAX (256ull << 20)

void pkg_warn(const struct pkg_ctx *c, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "imgfs: warning: %s: packages: ", c->image);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("; skipped\n", stderr);
}

int pkg_nomem(struct pkg_ctx *c)
{
	return imgfs_errf(c->err, -ENOMEM, 0, "index: packages: out of memory");
}

int pkg_sqlfail(struct pkg_ctx *c)
{
	return imgfs_errf(c->err, -EIO, 0, "index: packages: %s", sqlite3_errmsg(c->db));
}

int pkg_fatal(struct pkg_ctx *c, int rc)
{
	if (rc == -ENOMEM)
		return pkg_nomem(c);
	if (rc == -EIO)
		return imgfs_errf(c->err, -EIO, 0, "index: packages: reading the tree: %s",
				  strerror(EIO));
	return 0;
}

void pkg_stop(struct pkg_ctx *c, const char *bound)
{
	if (!c->stop)
		fprintf(stderr, "imgfs: warning: %s: packages: %s; attribution stopped there, "
			"the files not reached are unowned\n", c->image, bound);
	c->stop = 1;
}

int pkg_spend_steps(struct pkg_ctx *c, uint64_t n)
{
	c->steps += n;
	if (c->steps > PKG_STEPS_MAX)
		pkg_stop(c, "more than 8000000 lookups in the tree (PKG_STEPS_MAX)");
	return pkg_stopped(c);
}

int pkg_spend_lines(struct pkg_ctx *c, uint64_t n)
{
	c->lines += n;
	if (c->lines > PKG_LINES_MAX)
		pkg_stop(c, "more than 8000000 lines of database files (PKG_LINES_MAX)");
	return pkg_stopped(c);
}

int pkg_spend_bytes(struct pkg_ctx *c, uint64_t n)
{
	if (c->db_stop || n > PKG_DB_BYTES_MAX - c->db_bytes) {
		if (!c->db_stop && !c->stop)
			fprintf(stderr, "imgfs: warning: %s: packages: %s: more than 256 MiB of "
				"database files (PKG_DB_BYTES_MAX); its attribution stopped there, "
				"the files not reached are unowned\n", c->image, c->db_name);
		c->db_stop = 1;
		return 1;
	}
	c->db_bytes += n;
	return pkg_stopped(c);
}

int pkg_vec_add(struct pkg_ctx *c, struct strvec *v, const char *s, size_t len)
{
	char *d;

	if (len > PKG_PATH_MAX) {
		v->toolong++;
		return 0;
	}
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 64;
		char **nv = realloc(v->v, cap * sizeof(*nv));

		if (!nv)
			return pkg_nomem(c);
		v->v = nv;
		v->cap = cap;
	}
	d = malloc(len + 1);
	if (!d)
		return pkg_nomem(c);
	memcpy(d, s, len);
	d[len] = '\0';
	v->v[v->n++] = d;
	return 0;
}

void pkg_vec_free(struct strvec *v)
{
	size_t i;

	for (i = 0; i < v->n; i++)
		free(v->v[i]);
	free(v->v);
	memset(v, 0, sizeof(*v));
}
