/* This file contains `imgfs packages --why`: for each root of the
 * dependency graph (pkg.root, pkgdep) that requires a package, directly or
 * through packages that are no roots, every shortest chain of
 * requirements from it to the package: a breadth-first walk back from the
 * package gives each package's distance to it, then each root's chains
 * follow the successors one step nearer. */
#include "imgfs/imgfs.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>

struct node {
	char *manager, *name, *version, *created_by;
	int layer, root;
};

struct why {
	struct node *v;
	size_t n;
	uint32_t *in_start, *in;     /* predecessors, by node */
	uint32_t *out_start, *out;   /* successors */
	uint32_t *dist;              /* steps from the nearest root; UINT32_MAX unreached */
};

static int fail(sqlite3 *db, struct imgfs_fs *fs, struct imgfs_err *err, int code)
{
	snprintf(err->msg, sizeof(err->msg), "%s: %s", imgfs_fs_path(fs),
		 code == -ENOMEM ? "out of memory" : db ? sqlite3_errmsg(db) : "cannot open");
	err->code = code;
	err->input = 0;
	return code;
}

static char *dup_col(sqlite3_stmt *q, int col, int *bad)
{
	const char *s = (const char *)sqlite3_column_text(q, col);
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*bad = 1;
	return d;
}

/* The packages (ids are 1..n in order: fs/pkg writes them so) and the
 * edges, in both directions. */
static int load(sqlite3 *db, struct why *w)
{
	sqlite3_stmt *q = NULL;
	size_t cap = 0, ne = 0, i;
	uint32_t (*e)[2] = NULL;
	int r, bad = 0, damaged = 0, rc = -EIO;

	if (sqlite3_prepare_v2(db, "SELECT p.id, p.manager, p.name, p.version, p.root,"
			       " coalesce(p.layer, -1), l.created_by FROM pkg p LEFT JOIN layer l"
			       " ON l.num = p.layer ORDER BY p.id", -1, &q, NULL) != SQLITE_OK)
		goto out;
	while ((r = sqlite3_step(q)) == SQLITE_ROW) {
		struct node *nd;

		if (sqlite3_column_int64(q, 0) != (sqlite3_int64)w->n + 1) {
			damaged = 1;
			goto out;
		}
		if (w->n == cap) {
			struct node *nv = realloc(w->v, (cap = cap ? cap * 2 : 256) * sizeof(*nv));

			if (!nv) {
				rc = -ENOMEM;
				goto out;
			}
			w->v = nv;
		}
		nd = &w->v[w->n++];
		nd->manager = dup_col(q, 1, &bad);
		nd->name = dup_col(q, 2, &bad);
		nd->version = dup_col(q, 3, &bad);
		nd->root = sqlite3_column_int(q, 4);
		nd->layer = sqlite3_column_int(q, 5);
		nd->created_by = dup_col(q, 6, &bad);
		if (bad || !nd->manager || !nd->name) {
			rc = -ENOMEM;
			goto out;
		}
	}
	if (r != SQLITE_DONE)
		goto out;
	sqlite3_finalize(q);
	q = NULL;
	cap = 0;
	if (sqlite3_prepare_v2(db, "SELECT pkg, dep FROM pkgdep", -1, &q, NULL) != SQLITE_OK)
		goto out;
	while ((r = sqlite3_step(q)) == SQLITE_ROW) {
		sqlite3_int64 a = sqlite3_column_int64(q, 0), b = sqlite3_column_int64(q, 1);

		if (a < 1 || b < 1 || (size_t)a > w->n || (size_t)b > w->n) {
			damaged = 1;
			goto out;
		}
		if (ne == cap) {
			uint32_t (*nv)[2] = realloc(e, (cap = cap ? cap * 2 : 1024) * sizeof(*nv));

			if (!nv) {
				rc = -ENOMEM;
				goto out;
			}
			e = nv;
		}
		e[ne][0] = (uint32_t)(a - 1);
		e[ne++][1] = (uint32_t)(b - 1);
	}
	if (r != SQLITE_DONE)
		goto out;
	rc = -ENOMEM;
	w->in_start = calloc(w->n + 2, sizeof(uint32_t));
	w->out_start = calloc(w->n + 2, sizeof(uint32_t));
	w->in = malloc((ne + 1) * sizeof(uint32_t));
	w->out = malloc((ne + 1) * sizeof(uint32_t));
	w->dist = malloc((w->n + 1) * sizeof(uint32_t));
	if (!w->in_start || !w->out_start || !w->in || !w->out || !w->dist)
		goto out;
	for (i = 0; i < ne; i++) {
		w->out_start[e[i][0] + 2]++;
		w->in_start[e[i][1] + 2]++;
	}
	/* counts at +2, prefix sums to +1: each list is filled from +1 */
	for (i = 2; i < w->n + 2; i++) {
		w->out_start[i] += w->out_start[i - 1];
		w->in_start[i] += w->in_start[i - 1];
	}
	for (i = 0; i < ne; i++) {
		w->out[w->out_start[e[i][0] + 1]++] = e[i][1];
		w->in[w->in_start[e[i][1] + 1]++] = e[i][0];
	}
	rc = 0;
out:
	if (damaged)
		rc = -EBADMSG; /* ids not as fs/pkg writes them */
	sqlite3_finalize(q);
	free(e);
	return rc;
}

/* Steps from each package to T along edges whose inner packages are no
 * roots (a breadth-first walk of the reversed graph from T that does not
 * go on past a root): a chain through another root is that root's. */
static int distances(struct why *w, uint32_t t)
{
	uint32_t *queue = malloc((w->n + 1) * sizeof(uint32_t));
	size_t head = 0, tail = 0, i;

	if (!queue)
		return -ENOMEM;
	for (i = 0; i < w->n; i++)
		w->dist[i] = UINT32_MAX;
	w->dist[t] = 0;
	queue[tail++] = t;
	while (head < tail) {
		uint32_t v = queue[head++];

		if (v != t && w->v[v].root)
			continue;
		for (i = w->in_start[v]; i < w->in_start[v + 1]; i++)
			if (w->dist[w->in[i]] == UINT32_MAX) {
				w->dist[w->in[i]] = w->dist[v] + 1;
				queue[tail++] = w->in[i];
			}
	}
	free(queue);
	return 0;
}

/* PEP 503 equality of A and B. */
static int same_pip(const char *a, const char *b)
{
	for (;;) {
		int x = *a == '-' || *a == '_' || *a == '.', y = *b == '-' || *b == '_' || *b == '.';

		if (x && y) {
			a += strspn(a, "-_.");
			b += strspn(b, "-_.");
			continue;
		}
		if (x != y || tolower((unsigned char)*a) != tolower((unsigned char)*b))
			return 0;
		if (!*a)
			return 1;
		a++;
		b++;
	}
}

static int matches(const struct node *nd, const char *name)
{
	const char *colon = strchr(name, ':');

	if (colon && (size_t)(colon - name) == strlen(nd->manager) &&
	    !strncmp(name, nd->manager, (size_t)(colon - name)))
		name = colon + 1;
	if (!strcmp(nd->manager, "pip"))
		return same_pip(nd->name, name);
	return !strcmp(nd->name, name);
}

/* The shortest chains from root R to T (dist as distances() left it),
 * walked forward along successors one step nearer T at each level, with a
 * stack instead of recursion (a chain may be as long as the graph); at
 * most *LEFT of them, counted down. */
static int chains_from(const struct why *w, uint32_t r, uint32_t t, struct imgfs_pkg_link *links,
		       uint32_t *path, uint32_t *it, size_t *left, imgfs_pkg_chain_fn fn, void *ctx)
{
	uint32_t d = w->dist[r], lvl = 0, i;
	int rc = 0;

	path[0] = r;
	it[0] = w->out_start[r];
	while (lvl != UINT32_MAX && !rc && *left) {
		uint32_t v = path[lvl];

		if (lvl == d) {
			for (i = 0; i <= d; i++) {
				const struct node *nd = &w->v[path[i]];

				links[i] = (struct imgfs_pkg_link){ nd->manager, nd->name, nd->version,
								    nd->layer, nd->created_by };
			}
			rc = fn(ctx, links, (size_t)d + 1);
			--*left;
			lvl--;
			continue;
		}
		while (it[lvl] < w->out_start[v + 1]) {
			uint32_t x = w->out[it[lvl]];

			if (w->dist[x] == d - lvl - 1 && (x == t || !w->v[x].root))
				break;
			it[lvl]++;
		}
		if (it[lvl] == w->out_start[v + 1]) {
			lvl--;
			continue;
		}
		path[lvl + 1] = w->out[it[lvl]++];
		it[lvl + 1] = w->out_start[path[lvl + 1]];
		lvl++;
	}
	return rc;
}

static const struct why *sort_why;

/* Nearest root first, then by manager and name. */
static int cmp_root(const void *a, const void *b)
{
	const struct why *w = sort_why;
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	int r;

	if (w->dist[x] != w->dist[y])
		return w->dist[x] < w->dist[y] ? -1 : 1;
	r = strcmp(w->v[x].manager, w->v[y].manager);
	return r ? r : strcmp(w->v[x].name, w->v[y].name);
}

/* For each root that reaches T, nearest first, its shortest chains. */
static int chains(struct why *w, uint32_t t, imgfs_pkg_chain_fn fn, void *ctx)
{
	uint32_t *roots = malloc((w->n + 1) * sizeof(uint32_t)), *path = NULL, *it = NULL;
	struct imgfs_pkg_link *links = NULL;
	size_t nr = 0, i, left = IMGFS_WHY_CHAINS_MAX;
	uint32_t longest = 0;
	int rc = distances(w, t);

	if (!rc && !roots)
		rc = -ENOMEM;
	for (i = 0; !rc && i < w->n; i++)
		if (w->v[i].root && w->dist[i] != UINT32_MAX) {
			roots[nr++] = (uint32_t)i;
			if (w->dist[i] > longest)
				longest = w->dist[i];
		}
	if (!rc && nr) {
		sort_why = w;
		qsort(roots, nr, sizeof(*roots), cmp_root);
		path = malloc(((size_t)longest + 1) * sizeof(*path));
		it = malloc(((size_t)longest + 1) * sizeof(*it));
		links = malloc(((size_t)longest + 1) * sizeof(*links));
		if (!path || !it || !links)
			rc = -ENOMEM;
	}
	for (i = 0; !rc && i < nr && left; i++)
		rc = chains_from(w, roots[i], t, links, path, it, &left, fn, ctx);
	free(roots);
	free(path);
	free(it);
	free(links);
	return rc;
}

int imgfs_fs_packages_why(struct imgfs_fs *fs, const char *name, imgfs_pkg_chain_fn fn,
			  void *ctx, size_t *found, struct imgfs_err *err)
{
	struct why w = { 0 };
	sqlite3 *db = NULL;
	size_t i;
	int rc;

	*found = 0;
	if (sqlite3_open_v2(imgfs_fs_path(fs), &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		rc = fail(db, fs, err, -EIO);
		goto out;
	}
	rc = load(db, &w);
	for (i = 0; i < w.n && !rc; i++)
		if (matches(&w.v[i], name)) {
			++*found;
			rc = chains(&w, (uint32_t)i, fn, ctx);
		}
	if (rc < 0) {
		fail(db, fs, err, rc);
		if (rc == -EBADMSG)
			snprintf(err->msg, sizeof(err->msg), "%s: the package graph is damaged",
				 imgfs_fs_path(fs));
	}
out:
	for (i = 0; i < w.n; i++) {
		free(w.v[i].manager);
		free(w.v[i].name);
		free(w.v[i].version);
		free(w.v[i].created_by);
	}
	free(w.v);
	free(w.in_start);
	free(w.in);
	free(w.out_start);
	free(w.out);
	free(w.dist);
	sqlite3_close(db);
	return rc;
}
