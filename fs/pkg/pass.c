/* This file contains what every package database reader shares: the
 * warning line, the fatal errors, stopping the pass and string vectors. */
#include "pkg/pass_i.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/err_i.h"

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
