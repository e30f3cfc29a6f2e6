/* This file contains the package dependency graph: each requirement a
 * database lists resolved to the installed packages it names (dpkg: the
 * package or a provider of the name, each alternative of "a | b"; pip: the
 * PEP 503 name in the same site-packages directory; apk: a D: token's
 * package or its p: providers; npm: the package directory Node would load,
 * the name under the nearest node_modules upward), the roots (the dpkg
 * packages apt did not mark automatic, and each package of a strongly
 * connected component no edge enters and holding none of those), the
 * dominator tree below a virtual
 * root above them all (Cooper, Harvey and Kennedy's iterative algorithm,
 * "A Simple, Fast Dominance Algorithm", 2001) and the retained bytes: a
 * regular file's bytes go to the nearest common dominator of the packages
 * claiming it, and each package retains its dominator subtree's. */
#include "pkg/graph_i.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/schema_i.h"

/* Edges over the whole graph: a full Debian install has about 60k
 * packages and 300k edges.  A hostile database could ask for far more
 * (one name provided by every package, required by every package: a
 * 1.5 MB status file makes 6 million); each costs a row of pkgdep, about
 * 6 us to write, so past this bound (some 6 s) the graph is cut, with a
 * warning. */
#define GRAPH_EDGES_MAX 1000000u
/* Steps of the dominator iteration and of the claims' common dominators
 * (a step climbs one dominator tree edge): real graphs take a few per
 * node; a crafted one could make both quadratic.  About a second. */
#define GRAPH_STEPS_MAX 400000000ull

/* A name a package answers to: its own, or one it provides. */
struct key {
	const char *manager;
	uint64_t scope;
	const char *name;
	uint32_t pkg;
};

struct edge {
	uint32_t from, to;
};

struct graph {
	struct pkg_ctx *c;
	size_t n;                /* packages; node n is the virtual root */
	struct key *keys;
	size_t n_keys;
	char **names;            /* pip's names normalised, by package */
	struct edge *e;
	size_t n_e, cap_e;
	int cut;                 /* GRAPH_EDGES_MAX reached */
	uint32_t *out_start, *out;  /* CSR of the edges by source */
	uint32_t *in_start, *in;    /* and by target */
	unsigned char *root;
	uint32_t *po;            /* postorder number from the virtual root; 0: unreached */
	uint32_t *by_po;         /* node of each postorder number - 1 */
	uint32_t *idom;          /* in node numbers; UINT32_MAX: none */
	int64_t *retained;
	uint64_t steps;
	int stopped;             /* GRAPH_STEPS_MAX reached */
};

static int cmp_key(const void *a, const void *b)
{
	const struct key *x = a, *y = b;
	int r = strcmp(x->manager, y->manager);

	if (r)
		return r;
	if (x->scope != y->scope)
		return x->scope < y->scope ? -1 : 1;
	r = strcmp(x->name, y->name);
	return r ? r : (x->pkg > y->pkg) - (x->pkg < y->pkg);
}

static int cmp_edge(const void *a, const void *b)
{
	const struct edge *x = a, *y = b;

	if (x->from != y->from)
		return x->from < y->from ? -1 : 1;
	return (x->to > y->to) - (x->to < y->to);
}

/* PEP 503, as pip.c writes the requirements. */
static char *normalised(const char *name)
{
	char *o = malloc(strlen(name) + 1);
	size_t i, n = 0;

	if (!o)
		return NULL;
	for (i = 0; name[i]; i++) {
		if (name[i] == '-' || name[i] == '_' || name[i] == '.') {
			if (!n || o[n - 1] != '-')
				o[n++] = '-';
		} else {
			o[n++] = (char)tolower((unsigned char)name[i]);
		}
	}
	o[n] = '\0';
	return o;
}

static int add_key(struct graph *g, size_t *cap, const char *manager, uint64_t scope,
		   const char *name, size_t pkg)
{
	if (g->n_keys == *cap) {
		size_t nc = *cap ? *cap * 2 : 256;
		struct key *k = realloc(g->keys, nc * sizeof(*k));

		if (!k)
			return -ENOMEM;
		g->keys = k;
		*cap = nc;
	}
	g->keys[g->n_keys++] = (struct key){ manager, scope, name, (uint32_t)pkg };
	return 0;
}

/* The keys: each package's name (pip's normalised), each dpkg Provides
 * line; sorted for lookups. */
static int make_keys(struct graph *g)
{
	struct pkg_ctx *c = g->c;
	size_t cap = 0, i;

	g->names = calloc(g->n ? g->n : 1, sizeof(*g->names));
	if (!g->names)
		return -ENOMEM;
	for (i = 0; i < g->n; i++) {
		struct pkg *p = &c->pkgs[i];
		const char *name = p->name;
		char *s;

		if (!strcmp(p->manager, "pip")) {
			g->names[i] = normalised(p->name);
			if (!g->names[i])
				return -ENOMEM;
			name = g->names[i];
		}
		/* npm resolves by directory, not by name */
		if (!strcmp(p->manager, "npm")) {
			if (!p->location)
				continue;
			name = p->location;
		}
		if (add_key(g, &cap, p->manager, p->scope, name, i))
			return -ENOMEM;
		/* provides is "a\nb\n": cut in place into names */
		for (s = p->provides; s && *s;) {
			char *nl = strchr(s, '\n');

			if (nl)
				*nl = '\0';
			if (*s && add_key(g, &cap, p->manager, p->scope, s, i))
				return -ENOMEM;
			s = nl ? nl + 1 : s + strlen(s);
		}
	}
	if (g->n_keys)
		qsort(g->keys, g->n_keys, sizeof(*g->keys), cmp_key);
	return 0;
}

/* The first key of (MANAGER, SCOPE, NAME of LEN bytes), or g->n_keys. */
static size_t find_key(const struct graph *g, const char *manager, uint64_t scope,
		       const char *name, size_t len)
{
	size_t lo = 0, hi = g->n_keys;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const struct key *k = &g->keys[mid];
		int r = strcmp(k->manager, manager);

		if (!r)
			r = k->scope < scope ? -1 : k->scope > scope;
		if (!r) {
			r = strncmp(k->name, name, len);
			if (!r && k->name[len])
				r = 1;
		}
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < g->n_keys && !strcmp(g->keys[lo].manager, manager) && g->keys[lo].scope == scope &&
	    !strncmp(g->keys[lo].name, name, len) && !g->keys[lo].name[len])
		return lo;
	return g->n_keys;
}

static int add_edge(struct graph *g, size_t from, size_t to)
{
	if (g->cut)
		return 0;
	if (g->n_e >= GRAPH_EDGES_MAX) {
		pkg_warn(g->c, "more than %u dependency edges (GRAPH_EDGES_MAX); the rest",
			 GRAPH_EDGES_MAX);
		g->cut = 1;
		return 0;
	}
	if (g->n_e == g->cap_e) {
		size_t nc = g->cap_e ? g->cap_e * 2 : 1024;
		struct edge *e = realloc(g->e, nc * sizeof(*e));

		if (!e)
			return -ENOMEM;
		g->e = e;
		g->cap_e = nc;
	}
	g->e[g->n_e++] = (struct edge){ (uint32_t)from, (uint32_t)to };
	return 0;
}

/* Node's resolution of NAME (LEN bytes) required by the npm package in
 * directory DIR: DIR/node_modules/NAME, then the same in each directory
 * above (but those named node_modules), to the root.  The package found,
 * or g->n. */
static size_t npm_find(const struct graph *g, const char *dir, const char *name, size_t len)
{
	char path[2 * PKG_PATH_MAX + 2];
	size_t dl = strlen(dir);

	if (dl > PKG_PATH_MAX || len > PKG_PATH_MAX)
		return g->n;
	memcpy(path, dir, dl);
	for (;;) {
		const char *base;
		size_t k, l;

		while (dl > 1 && path[dl - 1] == '/')
			dl--;
		path[dl] = '\0';
		base = strrchr(path, '/');
		base = base ? base + 1 : path;
		if (strcmp(base, "node_modules")) {
			/* the root's is "/node_modules/NAME" */
			size_t at = dl == 1 && path[0] == '/' ? 0 : dl;

			l = at + (size_t)snprintf(path + at, sizeof(path) - at, "/node_modules/%.*s",
						  (int)len, name);
			k = find_key(g, "npm", 0, path, l);
			if (k < g->n_keys)
				return g->keys[k].pkg;
			path[dl] = '\0';
		}
		if (dl <= 1)
			return g->n;
		while (dl > 0 && path[dl - 1] != '/')
			dl--;
		if (dl > 1)
			dl--;
	}
}

/* Package P's requirements ("a|b\nc\n") resolved: an edge to every
 * package installed under each alternative, a row of pkgmissing for each
 * group that names none ("a | b"). */
static int resolve_deps(struct graph *g, size_t p, sqlite3_stmt *miss)
{
	const struct pkg *pk = &g->c->pkgs[p];
	const char *s = pk->deps;

	while (s && *s) {
		size_t glen = strcspn(s, "\n"), found = 0;
		const char *a = s, *end = s + glen;

		while (a < end && !strcmp(pk->manager, "npm")) {
			size_t alen = strcspn(a, "|\n"), q = pk->location ? npm_find(g, pk->location, a, alen) : g->n;

			if (q < g->n) {
				found++;
				if (q != p && add_edge(g, p, q))
					return -ENOMEM;
			}
			a += alen + (a[alen] == '|');
		}
		while (a < end) {
			size_t alen = strcspn(a, "|\n"), k;

			for (k = find_key(g, pk->manager, pk->scope, a, alen);
			     k < g->n_keys && !strncmp(g->keys[k].name, a, alen) && !g->keys[k].name[alen] &&
			     g->keys[k].scope == pk->scope && !strcmp(g->keys[k].manager, pk->manager);
			     k++) {
				found++;
				if (g->keys[k].pkg != p && add_edge(g, p, g->keys[k].pkg))
					return -ENOMEM;
			}
			a += alen + (a[alen] == '|');
		}
		if (!found) {
			char text[PKG_WARN_NAME * 2 + 1];
			size_t o = 0, i;

			/* the group as written, alternatives " | "-separated */
			for (i = 0; i < glen && o + 4 < sizeof(text); i++) {
				if (s[i] == '|') {
					memcpy(text + o, " | ", 3);
					o += 3;
				} else {
					text[o++] = s[i];
				}
			}
			sqlite3_bind_int64(miss, 1, (sqlite3_int64)p + 1);
			sqlite3_bind_text(miss, 2, text, (int)o, SQLITE_TRANSIENT);
			if (sqlite3_step(miss) != SQLITE_DONE)
				return -EIO;
			sqlite3_reset(miss);
		}
		s = end + (*end == '\n');
	}
	return 0;
}

/* The edges sorted, duplicates gone, in both CSR forms. */
static int make_csr(struct graph *g)
{
	size_t i, o = 0;

	if (g->n_e)
		qsort(g->e, g->n_e, sizeof(*g->e), cmp_edge);
	for (i = 0; i < g->n_e; i++)
		if (!o || g->e[o - 1].from != g->e[i].from || g->e[o - 1].to != g->e[i].to)
			g->e[o++] = g->e[i];
	g->n_e = o;
	g->out_start = calloc(g->n + 2, sizeof(uint32_t));
	g->in_start = calloc(g->n + 2, sizeof(uint32_t));
	g->out = malloc((g->n_e + 1) * sizeof(uint32_t));
	g->in = malloc((g->n_e + 1) * sizeof(uint32_t));
	if (!g->out_start || !g->in_start || !g->out || !g->in)
		return -ENOMEM;
	for (i = 0; i < g->n_e; i++) {
		g->out_start[g->e[i].from + 1]++;
		g->in_start[g->e[i].to + 1]++;
	}
	for (i = 0; i < g->n + 1; i++) {
		g->out_start[i + 1] += g->out_start[i];
		g->in_start[i + 1] += g->in_start[i];
	}
	/* sorted by source: the out lists are the targets in order */
	for (i = 0; i < g->n_e; i++)
		g->out[i] = g->e[i].to;
	{
		uint32_t *fill = malloc((g->n + 1) * sizeof(uint32_t));

		if (!fill)
			return -ENOMEM;
		memcpy(fill, g->in_start, (g->n + 1) * sizeof(uint32_t));
		for (i = 0; i < g->n_e; i++)
			g->in[fill[g->e[i].to]++] = g->e[i].from;
		free(fill);
	}
	return 0;
}

/* 1 for a dpkg package apt did not mark automatic. */
static int manual(const struct pkg *p)
{
	return !strcmp(p->manager, "dpkg") && !p->autoinst;
}

/* The roots: the dpkg packages apt did not mark automatic, and each
 * package of a strongly connected component no edge enters from outside
 * and holding no such package (Tarjan's algorithm, iterative: a chain of
 * 200000 packages would overflow the stack). */
static int find_roots(struct graph *g)
{
	size_t n = g->n, i, sp = 0, cs = 0;
	uint32_t *idx = malloc(n * sizeof(uint32_t)), *low = malloc(n * sizeof(uint32_t));
	uint32_t *comp = malloc(n * sizeof(uint32_t)), *stack = malloc(n * sizeof(uint32_t));
	uint32_t *call = malloc(n * sizeof(uint32_t)), *pos = malloc(n * sizeof(uint32_t));
	unsigned char *entered = calloc(n, 1), *on = calloc(n, 1);
	uint32_t next = 1, ncomp = 0;
	int rc = -ENOMEM;

	g->root = calloc(n, 1);
	if (!idx || !low || !comp || !stack || !call || !pos || !entered || !on || !g->root)
		goto out;
	memset(idx, 0, n * sizeof(uint32_t));
	for (i = 0; i < n; i++) {
		if (idx[i])
			continue;
		call[cs++] = (uint32_t)i;
		idx[i] = low[i] = next++;
		pos[i] = g->out_start[i];
		stack[sp++] = (uint32_t)i;
		on[i] = 1;
		while (cs) {
			uint32_t v = call[cs - 1];

			if (pos[v] < g->out_start[v + 1]) {
				uint32_t w = g->out[pos[v]++];

				if (!idx[w]) {
					idx[w] = low[w] = next++;
					pos[w] = g->out_start[w];
					stack[sp++] = w;
					on[w] = 1;
					call[cs++] = w;
				} else if (on[w] && idx[w] < low[v]) {
					low[v] = idx[w];
				}
				continue;
			}
			if (low[v] == idx[v]) {
				uint32_t w;

				do {
					w = stack[--sp];
					on[w] = 0;
					comp[w] = ncomp;
				} while (w != v);
				ncomp++;
			}
			cs--;
			if (cs && low[v] < low[call[cs - 1]])
				low[call[cs - 1]] = low[v];
		}
	}
	for (i = 0; i < g->n_e; i++)
		if (comp[g->e[i].from] != comp[g->e[i].to])
			entered[comp[g->e[i].to]] = 1;
	/* a source component holding a manual package is held by it: apt
	 * autoremoves the rest of it with it (build-essential's cycle with
	 * dpkg-dev, which apt installed for it); "entered" marks those too */
	for (i = 0; i < n; i++)
		if (manual(&g->c->pkgs[i]))
			entered[comp[i]] = 1;
	for (i = 0; i < n; i++)
		g->root[i] = !entered[comp[i]] || manual(&g->c->pkgs[i]);
	rc = 0;
out:
	free(idx);
	free(low);
	free(comp);
	free(stack);
	free(call);
	free(pos);
	free(entered);
	free(on);
	return rc;
}

/* Postorder numbers of a depth-first walk from the virtual root (node n),
 * whose successors are the roots. */
static int number(struct graph *g)
{
	size_t n = g->n, cs = 0, i;
	uint32_t *call = malloc((n + 1) * sizeof(uint32_t)), *pos = malloc((n + 1) * sizeof(uint32_t));
	uint32_t next = 1;

	g->po = calloc(n + 1, sizeof(uint32_t));
	g->by_po = malloc((n + 1) * sizeof(uint32_t));
	if (!call || !pos || !g->po || !g->by_po) {
		free(call);
		free(pos);
		return -ENOMEM;
	}
	/* po doubles as "seen" while walking: UINT32_MAX until finished */
	for (i = 0; i < n; i++) {
		if (!g->root[i] || g->po[i])
			continue;
		g->po[i] = UINT32_MAX;
		pos[i] = g->out_start[i];
		call[cs++] = (uint32_t)i;
		while (cs) {
			uint32_t v = call[cs - 1];

			if (pos[v] < g->out_start[v + 1]) {
				uint32_t w = g->out[pos[v]++];

				if (!g->po[w]) {
					g->po[w] = UINT32_MAX;
					pos[w] = g->out_start[w];
					call[cs++] = w;
				}
				continue;
			}
			g->by_po[next - 1] = v;
			g->po[v] = next++;
			cs--;
		}
	}
	g->by_po[next - 1] = (uint32_t)n;
	g->po[n] = next;
	free(call);
	free(pos);
	return 0;
}

/* The nearest common dominator of A and B (both reached, idom set). */
static uint32_t intersect(struct graph *g, uint32_t a, uint32_t b)
{
	while (a != b && !g->stopped) {
		while (g->po[a] < g->po[b] && ++g->steps)
			a = g->idom[a];
		while (g->po[b] < g->po[a] && ++g->steps)
			b = g->idom[b];
		if (g->steps > GRAPH_STEPS_MAX)
			g->stopped = 1;
	}
	return a;
}

/* Cooper-Harvey-Kennedy: in reverse postorder, each node's idom is the
 * common dominator of its processed predecessors, until nothing changes. */
static int dominators(struct graph *g)
{
	size_t n = g->n, i, k;
	uint32_t top = g->po[n];
	int changed = 1;

	g->idom = malloc((n + 1) * sizeof(uint32_t));
	if (!g->idom)
		return -ENOMEM;
	for (i = 0; i <= n; i++)
		g->idom[i] = UINT32_MAX;
	g->idom[n] = (uint32_t)n;
	while (changed && !g->stopped) {
		changed = 0;
		for (k = top - 1; k >= 1 && !g->stopped; k--) {
			uint32_t b = g->by_po[k - 1], nd = UINT32_MAX;

			if (g->root[b])
				nd = (uint32_t)n;
			for (i = g->in_start[b]; i < g->in_start[b + 1]; i++) {
				uint32_t p = g->in[i];

				if (g->idom[p] == UINT32_MAX)
					continue;
				nd = nd == UINT32_MAX ? p : intersect(g, p, nd);
			}
			if (nd != g->idom[b]) {
				g->idom[b] = nd;
				changed = 1;
			}
		}
	}
	return 0;
}

/* Each regular file's bytes to the common dominator of its claimers (the
 * virtual root: nobody's), then summed up the dominator tree: in
 * postorder a node's dominator-tree descendants come before it. */
static int retain(struct graph *g)
{
	struct pkg_ctx *c = g->c;
	sqlite3_stmt *q = NULL;
	uint64_t ino = 0;
	uint32_t lca = UINT32_MAX, k;
	int64_t size = 0;
	int r, any = 0;

	g->retained = calloc(g->n + 1, sizeof(int64_t));
	if (!g->retained)
		return -ENOMEM;
	if (sqlite3_prepare_v2(c->db, "SELECT f.ino, f.pkg, i.size FROM pkgfile f JOIN inode i"
			       " ON i.ino = f.ino WHERE " IMGFS_SQL_IS_REG("i.mode") " ORDER BY f.ino",
			       -1, &q, NULL) != SQLITE_OK)
		return -EIO;
	while ((r = sqlite3_step(q)) == SQLITE_ROW && !g->stopped) {
		uint64_t i = (uint64_t)sqlite3_column_int64(q, 0);
		sqlite3_int64 id = sqlite3_column_int64(q, 1);
		uint32_t p = id >= 1 && (size_t)id <= g->n ? (uint32_t)(id - 1) : (uint32_t)g->n;

		if (!any || i != ino) {
			if (any && lca != g->n)
				g->retained[lca] += size;
			ino = i;
			size = sqlite3_column_int64(q, 2);
			lca = p;
			any = 1;
		} else if (lca != g->n) {
			lca = g->idom[p] == UINT32_MAX || p == g->n ? (uint32_t)g->n : intersect(g, lca, p);
		}
		if (g->idom[lca] == UINT32_MAX)
			lca = (uint32_t)g->n;
	}
	if (any && lca != g->n)
		g->retained[lca] += size;
	sqlite3_finalize(q);
	if (r != SQLITE_DONE && r != SQLITE_ROW)
		return -EIO;
	for (k = 1; k < g->po[g->n]; k++) {
		uint32_t v = g->by_po[k - 1];

		if (g->idom[v] != UINT32_MAX && g->idom[v] != g->n)
			g->retained[g->idom[v]] += g->retained[v];
	}
	return 0;
}

/* The layer holding most of each package's bytes (the lower on a tie):
 * the step that installed it, for --why. */
static const char layer_sql[] =
	"UPDATE pkg SET layer = c.l FROM (SELECT p, l FROM (SELECT f.pkg AS p, i.layer AS l,"
	" row_number() OVER (PARTITION BY f.pkg ORDER BY sum(i.size) DESC, i.layer) AS rn"
	" FROM pkgfile f JOIN inode i ON i.ino = f.ino WHERE " IMGFS_SQL_IS_REG("i.mode")
	" GROUP BY f.pkg, i.layer) WHERE rn = 1) AS c WHERE pkg.id = c.p";

static int write_graph(struct graph *g)
{
	struct pkg_ctx *c = g->c;
	sqlite3_stmt *up = NULL, *dep = NULL;
	size_t i;
	int rc = -EIO;

	if (sqlite3_prepare_v2(c->db, "UPDATE pkg SET location = ?2, auto = ?3, root = ?4,"
			       " idom = ?5, retained_bytes = ?6 WHERE id = ?1", -1, &up, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(c->db, "INSERT INTO pkgdep(pkg, dep) VALUES(?1, ?2)", -1, &dep,
			       NULL) != SQLITE_OK)
		goto out;
	for (i = 0; i < g->n; i++) {
		const struct pkg *p = &c->pkgs[i];

		sqlite3_bind_int64(up, 1, (sqlite3_int64)i + 1);
		if (p->location)
			sqlite3_bind_text(up, 2, p->location, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(up, 2);
		sqlite3_bind_int(up, 3, p->autoinst);
		sqlite3_bind_int(up, 4, g->root[i]);
		if (!g->stopped && g->idom[i] != UINT32_MAX && g->idom[i] != g->n)
			sqlite3_bind_int64(up, 5, (sqlite3_int64)g->idom[i] + 1);
		else
			sqlite3_bind_null(up, 5);
		if (!g->stopped)
			sqlite3_bind_int64(up, 6, g->retained[i]);
		else
			sqlite3_bind_null(up, 6);
		if (sqlite3_step(up) != SQLITE_DONE)
			goto out;
		sqlite3_reset(up);
	}
	for (i = 0; i < g->n_e; i++) {
		sqlite3_bind_int64(dep, 1, (sqlite3_int64)g->e[i].from + 1);
		sqlite3_bind_int64(dep, 2, (sqlite3_int64)g->e[i].to + 1);
		if (sqlite3_step(dep) != SQLITE_DONE)
			goto out;
		sqlite3_reset(dep);
	}
	if (sqlite3_exec(c->db, layer_sql, NULL, NULL, NULL) != SQLITE_OK)
		goto out;
	rc = 0;
out:
	sqlite3_finalize(up);
	sqlite3_finalize(dep);
	return rc;
}

int pkg_graph_write(struct pkg_ctx *c)
{
	struct graph g = { .c = c, .n = c->n_pkgs };
	sqlite3_stmt *miss = NULL;
	size_t i;
	int rc = make_keys(&g);

	if (!rc && sqlite3_prepare_v2(c->db, "INSERT OR IGNORE INTO pkgmissing(pkg, name) VALUES(?1, ?2)", -1,
				      &miss, NULL) != SQLITE_OK)
		rc = -EIO;
	for (i = 0; i < g.n && !rc; i++)
		rc = resolve_deps(&g, i, miss);
	if (!rc)
		rc = make_csr(&g);
	if (!rc)
		rc = find_roots(&g);
	if (!rc)
		rc = number(&g);
	if (!rc)
		rc = dominators(&g);
	if (!rc && !g.stopped)
		rc = retain(&g);
	if (!rc && g.stopped)
		pkg_warn(c, "more than %llu steps finding dominators (GRAPH_STEPS_MAX): retained "
			 "bytes", (unsigned long long)GRAPH_STEPS_MAX);
	if (!rc)
		rc = write_graph(&g);
	sqlite3_finalize(miss);
	for (i = 0; g.names && i < g.n; i++)
		free(g.names[i]);
	free(g.names);
	free(g.keys);
	free(g.e);
	free(g.out_start);
	free(g.out);
	free(g.in_start);
	free(g.in);
	free(g.root);
	free(g.po);
	free(g.by_po);
	free(g.idom);
	free(g.retained);
	if (rc == -ENOMEM)
		return pkg_nomem(c);
	return rc ? pkg_sqlfail(c) : 0;
}
