/* This file contains the retained bytes of "imgfs report": for each
 * package the walk met (and each the graph knows that owns no file drawn,
 * such as a metapackage), what removing it and what only it pulls in would
 * free, read from the package graph through the public interface. */
#include "report_i.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Sanity limit on a "manager:name" key: more than any package database
 * spells; a longer name is left uncoloured rather than truncated into
 * another's. */
#define RETAINED_NAME_MAX 1024

struct retained {
	struct report *r;
	uint32_t *by_name;  /* indices of r->pkgs sorted by name */
	size_t nknown;      /* r->pkgs entries when the index was built */
};

static int by_name(const void *a, const void *b, void *ctx)
{
	const struct rpkg *p = ctx;

	return strcmp(p[*(const uint32_t *)a].name, p[*(const uint32_t *)b].name);
}

/* The index of NAME in r->pkgs, or -1: a binary search on the sorted
 * indices (a hash would need the walk's table, gone by now). */
static int32_t find(const struct retained *t, const char *name)
{
	size_t lo = 0, hi = t->nknown;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, t->r->pkgs[t->by_name[mid]].name);

		if (c == 0)
			return (int32_t)t->by_name[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

static int add(void *ctx, const struct imgfs_pkg_info *p)
{
	struct retained *t = ctx;
	struct report *r = t->r;
	char key[RETAINED_NAME_MAX];
	struct rpkg *n;
	int32_t i;

	if (p->retained_bytes < 0 ||
	    snprintf(key, sizeof(key), "%s:%s", p->manager, p->name) >= (int)sizeof(key))
		return 0;
	i = find(t, key);
	if (i >= 0) {
		/* two architectures of one dpkg name share one colour: the larger */
		if (r->pkgs[i].retained < p->retained_bytes)
			r->pkgs[i].retained = p->retained_bytes;
		return 0;
	}
	if (p->retained_bytes == 0)
		return 0; /* owns nothing drawn and frees nothing: not worth a row */
	n = realloc(r->pkgs, (r->npkgs + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	r->pkgs = n;
	n = &r->pkgs[r->npkgs];
	n->name = strdup(key);
	if (!n->name)
		return -ENOMEM;
	n->bytes = 0;
	n->retained = p->retained_bytes;
	r->npkgs++;
	return 0;
}

int report_retained(struct report *r)
{
	struct retained t = { .r = r, .nknown = r->npkgs };
	struct imgfs_pkg_totals tot;
	size_t i;
	int rc;

	for (i = 0; i < r->npkgs; i++)
		r->pkgs[i].retained = -1;
	t.by_name = malloc((r->npkgs ? r->npkgs : 1) * sizeof(*t.by_name));
	if (!t.by_name)
		return -ENOMEM;
	for (i = 0; i < r->npkgs; i++)
		t.by_name[i] = (uint32_t)i;
	qsort_r(t.by_name, r->npkgs, sizeof(*t.by_name), by_name, r->pkgs);
	rc = imgfs_fs_packages_graph(r->fs, IMGFS_PKG_BY_RETAINED, 0, &tot, add, &t, r->err);
	free(t.by_name);
	if (rc && !r->err->msg[0])
		snprintf(r->err->msg, sizeof(r->err->msg), "%.400s: the package graph: %s", r->image,
			 strerror(rc < 0 ? -rc : ENOMEM));
	return rc < 0 ? rc : rc ? -ENOMEM : 0;
}
