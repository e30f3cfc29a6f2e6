/* This file contains what every package database reader shares: the
 * warning line and string vectors. */
#include "pkg/pass_i.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void pkg_warn(const char *what, const char *why)
{
	fprintf(stderr, "imgfs: packages: %s: %s; skipped\n", what, why);
}

int pkg_vec_add(struct strvec *v, const char *s, size_t len)
{
	char *d;

	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 64;
		char **nv = realloc(v->v, cap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		v->v = nv;
		v->cap = cap;
	}
	d = malloc(len + 1);
	if (!d)
		return -ENOMEM;
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
