/* This file contains the unit tests of the hidden side of an image
 * (fs/build/hidden.c, imgfs_hidden_build): the views /.imgfs/hidden/N and the
 * user.imgfs.wasted totals.  waste has no interface outside the merge, so
 * each test writes layer tables, builds the index through
 * imgfs_index_prepare and reads the results through the public read API;
 * the expected results come from a small overlay model in this file that
 * replays the same tables (whiteouts, opaque directories, hardlinks), never
 * from imgfs's output. */
#include "imgfs/imgfs.h"

#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "testutil.h"

#define F(p, c) { .path = (p), .type = TU_FILE, .content = (c) }
#define FM(p, c, m) { .path = (p), .type = TU_FILE, .content = (c), .mode = (m) }
#define D(p) { .path = (p), .type = TU_DIR }
#define WH(p) { .path = (p), .type = TU_FILE }
#define SL(p, t) { .path = (p), .type = TU_SYMLINK, .link = (t) }
#define HL(p, t) { .path = (p), .type = TU_HARDLINK, .link = (t) }

struct lspec {
	const struct tu_entry *e;
	size_t n;
};
#define L(arr) { (arr), sizeof(arr) / sizeof((arr)[0]) }

static char *dir, *image;
static struct imgfs_fs *fs;

/* This test binary's strdup, which the core library linked into it calls:
 * it fails for the name FAIL_STRDUP (when set), so one allocation of the
 * hidden-byte walk can be made to fail and nothing else. */
static const char *fail_strdup;

char *strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p;

	if (fail_strdup && !strcmp(s, fail_strdup))
		return NULL;
	p = malloc(n);
	return p ? memcpy(p, s, n) : NULL;
}

static void setup(void)
{
	dir = tu_tmpdir();
	if (asprintf(&image, "%s/image.tar", dir) < 0)
		abort();
	fs = NULL;
}

static void teardown(void)
{
	imgfs_fs_close(fs);
	fs = NULL;
	tu_rm_rf(dir);
	free(dir);
	free(image);
}

/* ---- the model: the layers replayed with overlay rules ---- */

#define MAXN 128
#define PATHLEN 256

struct minode {
	enum tu_type type;        /* TU_HARDLINK never: a link shares its target's */
	uint64_t size;
	int layer;
	const char *content;
	char first[PATHLEN];      /* its first name in its layer, in tar order */
};

struct mname {
	char path[PATHLEN];
	int ino;                  /* into model.ino */
	int layer;
	int live;
};

struct model {
	struct minode ino[MAXN];
	int nino;
	struct mname merged[MAXN];   /* the merged tree; live ones count */
	int nmerged;
	struct mname view[MAXN];     /* every layer's own names, whiteouts not */
	int nview;
	int nlayers;
};

/* "./a/b/" -> "a/b" */
static void norm(char *out, const char *in)
{
	size_t n;

	while (in[0] == '.' && in[1] == '/')
		in += 2;
	snprintf(out, PATHLEN, "%s", in);
	n = strlen(out);
	while (n > 0 && out[n - 1] == '/')
		out[--n] = '\0';
}

/* 1 when P is Q or beneath it ("" is the root: everything is beneath) */
static int at_or_under(const char *p, const char *q)
{
	size_t n = strlen(q);

	return n == 0 || (strncmp(p, q, n) == 0 && (p[n] == '\0' || p[n] == '/'));
}

static struct mname *find(struct model *m, const char *p)
{
	int i;

	for (i = 0; i < m->nmerged; i++)
		if (m->merged[i].live && strcmp(m->merged[i].path, p) == 0)
			return &m->merged[i];
	return NULL;
}

/* Removes P and everything beneath it from the merged tree; with BELOW,
 * only entries beneath P that lower layers than BELOW put there. */
static void drop(struct model *m, const char *p, int self, int below)
{
	int i;

	for (i = 0; i < m->nmerged; i++) {
		struct mname *e = &m->merged[i];

		if (!e->live || !at_or_under(e->path, p))
			continue;
		if (!self && strcmp(e->path, p) == 0)
			continue;
		if (below >= 0 && e->layer >= below)
			continue;
		e->live = 0;
	}
}

static int new_inode(struct model *m, enum tu_type t, uint64_t size, int layer,
		     const char *content, const char *path)
{
	struct minode *n = &m->ino[m->nino];

	ck_assert_int_lt(m->nino, MAXN);
	*n = (struct minode){ .type = t, .size = size, .layer = layer, .content = content };
	snprintf(n->first, sizeof(n->first), "%s", path);
	return m->nino++;
}

static void put(struct model *m, const char *p, int ino, int layer)
{
	ck_assert_int_lt(m->nmerged, MAXN);
	m->merged[m->nmerged++] = (struct mname){ .ino = ino, .layer = layer, .live = 1 };
	snprintf(m->merged[m->nmerged - 1].path, PATHLEN, "%s", p);
}

/* Makes the parents of P directories of the merged tree (a parent that is
 * no directory is replaced, as a layer writing beneath it implies). */
static void parents(struct model *m, const char *p, int layer)
{
	char a[PATHLEN];
	char *s;

	snprintf(a, sizeof(a), "%s", p);
	for (s = strchr(a, '/'); s; s = strchr(s + 1, '/')) {
		struct mname *e;

		*s = '\0';
		e = find(m, a);
		if (!e || m->ino[e->ino].type != TU_DIR) {
			if (e)
				drop(m, a, 1, -1);
			put(m, a, new_inode(m, TU_DIR, 0, layer, NULL, a), layer);
		}
		*s = '/';
	}
}

static void model_layer(struct model *m, const struct tu_entry *e, size_t n, int layer)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char p[PATHLEN], d[PATHLEN];
		const char *base;
		int ino;

		norm(p, e[i].path);
		base = strrchr(p, '/') ? strrchr(p, '/') + 1 : p;
		snprintf(d, sizeof(d), "%.*s", (int)(base > p ? base - p - 1 : 0), p);
		parents(m, p, layer);
		if (strcmp(base, ".wh..wh..opq") == 0) {
			drop(m, d, 0, layer);
			continue;
		}
		if (strncmp(base, ".wh.", 4) == 0) {
			char t[PATHLEN * 2 + 2];

			snprintf(t, sizeof(t), "%s%s%s", d, d[0] ? "/" : "", base + 4);
			drop(m, t, 1, -1);
			continue;
		}
		if (e[i].type == TU_DIR) {
			struct mname *old = find(m, p);

			if (old && m->ino[old->ino].type == TU_DIR) {
				ino = old->ino;
			} else {
				drop(m, p, 1, -1);
				ino = new_inode(m, TU_DIR, 0, layer, NULL, p);
				put(m, p, ino, layer);
			}
		} else if (e[i].type == TU_HARDLINK) {
			char t[PATHLEN];
			struct mname *target;

			norm(t, e[i].link);
			target = find(m, t);
			ck_assert_msg(target, "model: hardlink %s to missing %s", p, t);
			ino = target->ino;
			drop(m, p, 1, -1);
			put(m, p, ino, layer);
		} else {
			const char *c = e[i].type == TU_FILE ? e[i].content : NULL;

			drop(m, p, 1, -1);
			ino = new_inode(m, e[i].type, c ? strlen(c) : 0, layer, c, p);
			put(m, p, ino, layer);
		}
		ck_assert_int_lt(m->nview, MAXN);
		m->view[m->nview] = (struct mname){ .ino = ino, .layer = layer, .live = 1 };
		snprintf(m->view[m->nview++].path, PATHLEN, "%s", p);
	}
}

/* 1 when no name of the merged tree reaches inode I. */
static int hidden(const struct model *m, int i)
{
	int k;

	for (k = 0; k < m->nmerged; k++)
		if (m->merged[k].live && m->merged[k].ino == i)
			return 0;
	return 1;
}

/* The README's user.imgfs.wasted: bytes of hidden regular files at or
 * beneath path P, each hidden inode once, along the first name it had. */
static uint64_t wasted(const struct model *m, const char *p)
{
	uint64_t sum = 0;
	int i;

	for (i = 0; i < m->nino; i++)
		if (m->ino[i].type == TU_FILE && hidden(m, i) && at_or_under(m->ino[i].first, p))
			sum += m->ino[i].size;
	return sum;
}

/* ---- what imgfs shows ---- */

struct entry {
	char path[PATHLEN];
	struct imgfs_attr a;
};

struct tree {
	struct entry e[MAXN * 2];
	int n;
};

struct rd {
	char names[MAXN][PATHLEN];
	struct imgfs_attr a[MAXN];
	int n;
};

static int rd_add(void *ctx, const char *name, const struct imgfs_attr *a, uint64_t next)
{
	struct rd *r = ctx;

	(void)next;
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return 0;
	ck_assert_int_lt(r->n, MAXN);
	snprintf(r->names[r->n], PATHLEN, "%s", name);
	r->a[r->n++] = *a;
	return 0;
}

/* Every entry beneath directory INO, paths relative to it. */
static void walk(uint64_t ino, const char *prefix, struct tree *t)
{
	struct rd *r = calloc(1, sizeof(*r));
	int i;

	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(imgfs_fs_readdir(fs, ino, 0, rd_add, r), 0);
	for (i = 0; i < r->n; i++) {
		struct entry *e = &t->e[t->n++];

		ck_assert_int_lt(t->n, MAXN * 2);
		snprintf(e->path, PATHLEN, "%s%s%s", prefix, prefix[0] ? "/" : "", r->names[i]);
		e->a = r->a[i];
		if (S_ISDIR(e->a.mode))
			walk(e->a.ino, e->path, t);
	}
	free(r);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorts the N strings S and joins them with ';' into a malloc'd string. */
static char *joined(char **s, int n)
{
	size_t len = 1;
	char *out;
	int i;

	qsort(s, (size_t)n, sizeof(*s), cmp_str);
	for (i = 0; i < n; i++)
		len += strlen(s[i]) + 1;
	out = calloc(1, len);
	ck_assert_ptr_nonnull(out);
	for (i = 0; i < n; i++) {
		strcat(out, s[i]);
		strcat(out, ";");
	}
	return out;
}

static uint64_t wasted_of(uint64_t ino)
{
	char *v = tu_xattr(fs, ino, "user.imgfs.wasted"), *end;
	uint64_t n;

	ck_assert_msg(v, "ino %" PRIu64 ": no user.imgfs.wasted", ino);
	n = strtoull(v, &end, 10);
	ck_assert_msg(*v && !*end, "user.imgfs.wasted \"%s\" is no number", v);
	free(v);
	return n;
}

/* Builds the image of layers LS, replays them in the model, and compares:
 * the merged tree's names (the precondition), user.imgfs.wasted of every
 * merged entry, and each /.imgfs/hidden/N (names, inodes shared with
 * /.imgfs/layers/N, sizes, contents, its user.imgfs.size).  Returns the
 * model's total for the tests' own sanity checks. */
static uint64_t check_image(const struct lspec *ls, int n)
{
	struct tu_layer *l = calloc((size_t)n, sizeof(*l));
	struct model *m = calloc(1, sizeof(*m));
	struct tree *t = calloc(1, sizeof(*t));
	struct imgfs_err err;
	char *want[MAXN], *got[MAXN * 2], *ws, *gs, bad[4096] = "";
	struct imgfs_attr root;
	int i, k, nw, rc;
	uint64_t total;

	ck_assert(l && m && t);
	for (i = 0; i < n; i++) {
		tu_tar(&l[i].tar, ls[i].e, ls[i].n, 0);
		l[i].created_by = "step";
		model_layer(m, ls[i].e, ls[i].n, i);
	}
	m->nlayers = n;
	tu_docker_archive(image, l, (size_t)n);
	for (i = 0; i < n; i++)
		tu_blob_free(&l[i].tar);
	free(l);
	rc = tu_open(image, dir, &fs, &err);
	ck_assert_msg(rc == 0, "build: %d %s", rc, err.msg);

	/* the merged tree must be the model's, or the rest means nothing */
	walk(IMGFS_ROOT_INO, "", t);
	for (i = 0, nw = 0; i < m->nmerged; i++)
		if (m->merged[i].live)
			want[nw++] = m->merged[i].path;
	for (i = 0; i < t->n; i++)
		got[i] = t->e[i].path;
	ws = joined(want, nw);
	gs = joined(got, t->n);
	ck_assert_msg(!strcmp(ws, gs), "merged tree: model %s, imgfs %s", ws, gs);
	free(ws);
	free(gs);

	/* user.imgfs.wasted everywhere */
	ck_assert_int_eq(imgfs_fs_getattr(fs, IMGFS_ROOT_INO, &root), 0);
	total = wasted(m, "");
	if (wasted_of(IMGFS_ROOT_INO) != total)
		snprintf(bad, sizeof(bad), " /: %" PRIu64 " not %" PRIu64, wasted_of(IMGFS_ROOT_INO),
			 total);
	for (i = 0; i < t->n; i++) {
		uint64_t w = wasted(m, t->e[i].path), g = wasted_of(t->e[i].a.ino);

		if (w != g)
			snprintf(bad + strlen(bad), sizeof(bad) - strlen(bad),
				 " %s: %" PRIu64 " not %" PRIu64, t->e[i].path, g, w);
	}
	ck_assert_msg(!bad[0], "user.imgfs.wasted:%s", bad);

	/* /.imgfs/hidden holds one directory per layer */
	{
		struct imgfs_attr h;
		struct rd *r = calloc(1, sizeof(*r));
		char *names[MAXN], *exp[MAXN], num[MAXN][8];

		ck_assert_ptr_nonnull(r);
		ck_assert_int_eq(tu_walk(fs, ".imgfs/hidden", &h), 0);
		ck_assert_int_eq(imgfs_fs_readdir(fs, h.ino, 0, rd_add, r), 0);
		for (i = 0; i < r->n; i++)
			names[i] = r->names[i];
		for (i = 0; i < n; i++) {
			snprintf(num[i], sizeof(num[i]), "%d", i);
			exp[i] = num[i];
		}
		ws = joined(exp, n);
		gs = joined(names, r->n);
		ck_assert_str_eq(gs, ws);
		free(ws);
		free(gs);
		free(r);
	}

	/* each hidden/N: the layer's names whose inode is hidden, and their
	 * parent directories */
	for (k = 0; k < n; k++) {
		struct imgfs_attr h;
		char hp[64], *dirs[MAXN];
		uint64_t bytes = 0;
		int nd = 0;

		snprintf(hp, sizeof(hp), ".imgfs/hidden/%d", k);
		ck_assert_int_eq(tu_walk(fs, hp, &h), 0);
		memset(t, 0, sizeof(*t));
		walk(h.ino, "", t);
		for (i = 0, nw = 0; i < m->nview; i++) {
			const struct mname *v = &m->view[i];
			char a[PATHLEN], *s;
			int j, dup;

			if (v->layer != k || m->ino[v->ino].type == TU_DIR || !hidden(m, v->ino))
				continue;
			want[nw++] = (char *)v->path;
			if (m->ino[v->ino].type == TU_FILE && !strcmp(m->ino[v->ino].first, v->path))
				bytes += m->ino[v->ino].size;
			/* its parents, once each */
			snprintf(a, sizeof(a), "%s", v->path);
			while ((s = strrchr(a, '/'))) {
				*s = '\0';
				for (j = 0, dup = 0; j < nd; j++)
					dup |= !strcmp(dirs[j], a);
				if (!dup) {
					ck_assert_int_lt(nd, MAXN);
					dirs[nd++] = strdup(a);
				}
			}
		}
		for (i = 0; i < nd && nw < MAXN; i++)
			want[nw++] = dirs[i];
		for (i = 0; i < t->n; i++)
			got[i] = t->e[i].path;
		ws = joined(want, nw);
		gs = joined(got, t->n);
		ck_assert_msg(!strcmp(ws, gs), "hidden/%d: model %s, imgfs %s", k, ws, gs);
		free(ws);
		free(gs);
		for (i = 0; i < nd; i++)
			free(dirs[i]);

		/* same inodes as the layer's own view; files keep their bytes */
		for (i = 0; i < t->n; i++) {
			struct imgfs_attr la;
			char lp[PATHLEN + 64];
			int j;

			if (S_ISDIR(t->e[i].a.mode))
				continue;
			snprintf(lp, sizeof(lp), ".imgfs/layers/%d/%s", k, t->e[i].path);
			ck_assert_msg(tu_walk(fs, lp, &la) == 0, "%s: missing", lp);
			ck_assert_uint_eq(la.ino, t->e[i].a.ino);
			for (j = 0; j < m->nview; j++) {
				const struct minode *mi = &m->ino[m->view[j].ino];
				char *c;

				if (m->view[j].layer != k || strcmp(m->view[j].path, t->e[i].path) ||
				    mi->type != TU_FILE)
					continue;
				ck_assert_uint_eq(t->e[i].a.size, mi->size);
				c = tu_read_all(fs, t->e[i].a.ino, NULL);
				ck_assert_ptr_nonnull(c);
				ck_assert_str_eq(c, mi->content ? mi->content : "");
				free(c);
			}
		}
		/* what the audit reads: the bytes layer N still ships hidden */
		{
			char *v = tu_xattr(fs, h.ino, "user.imgfs.size");

			ck_assert_ptr_nonnull(v);
			ck_assert_msg(strtoull(v, NULL, 10) == bytes,
				      "user.imgfs.size of hidden/%d: %s, model %" PRIu64, k, v, bytes);
			free(v);
		}
	}
	free(t);
	free(m);
	return total;
}
#define CHECK(...) check_image((const struct lspec[]){ __VA_ARGS__ }, \
	(int)(sizeof((const struct lspec[]){ __VA_ARGS__ }) / sizeof(struct lspec)))

/* A file overwritten by a later layer: the lower copy is hidden in
 * hidden/0 and counted on the file now at its path and on its parents. */
START_TEST(overwritten)
{
	static const struct tu_entry l0[] = { D("a/"), F("a/f", "0123456789012345678901234"),
					      F("a/keep", "stays") };
	static const struct tu_entry l1[] = { F("a/f", "new") };

	ck_assert_uint_eq(CHECK(L(l0), L(l1)), 25);
}
END_TEST

/* A file deleted by a whiteout; the marker itself is no hidden content. */
START_TEST(whiteout)
{
	static const struct tu_entry l0[] = { D("a/"), F("a/f", "deleted bytes"), F("a/g", "x") };
	static const struct tu_entry l1[] = { D("a/"), WH("a/.wh.f") };

	ck_assert_uint_eq(CHECK(L(l0), L(l1)), 13);
}
END_TEST

/* A directory deleted with its subtree: every file beneath it hidden,
 * counted on / only, the symlink listed but no bytes. */
START_TEST(deleted_dir)
{
	static const struct tu_entry l0[] = { D("d/"), F("d/x", "0123456789"), D("d/sub/"),
					      F("d/sub/y", "01234567890123456789"),
					      SL("d/sub/z", "../x"), F("other", "o") };
	static const struct tu_entry l1[] = { WH(".wh.d") };

	ck_assert_uint_eq(CHECK(L(l0), L(l1)), 30);
}
END_TEST

/* An opaque directory hides what lower layers put in it, not what its own
 * layer puts there. */
START_TEST(opaque)
{
	static const struct tu_entry l0[] = { D("o/"), F("o/a", "eleven char"), D("o/b/"),
					      F("o/b/c", "thirteen char"), F("o/n", "old n") };
	static const struct tu_entry l1[] = { D("o/"), WH("o/.wh..wh..opq"), F("o/n", "new") };

	ck_assert_uint_eq(CHECK(L(l0), L(l1)), 11 + 13 + 5);
}
END_TEST

/* A chmod-only rewrite (same bytes, new mode) ships the file twice: the
 * lower copy is hidden. */
START_TEST(chmod_only)
{
	static const struct tu_entry l0[] = { D("bin/"), FM("bin/tool", "#!/bin/sh\necho tool\n", 0644) };
	static const struct tu_entry l1[] = { D("bin/"), FM("bin/tool", "#!/bin/sh\necho tool\n", 0755) };

	ck_assert_uint_eq(CHECK(L(l0), L(l1)), 20);
}
END_TEST

/* A hardlinked file with both names gone: one inode, counted once, both
 * names listed in hidden/0 with the same inode. */
START_TEST(hardlink_hidden)
{
	static const struct tu_entry l0[] = { D("h/"), F("h/a", "three hundred-ish bytes"),
					      HL("h/b", "h/a"), F("h/c", "c") };
	static const struct tu_entry l1[] = { D("h/"), WH("h/.wh.a"), F("h/b", "other") };

	ck_assert_uint_eq(CHECK(L(l0), L(l1)), 23);
}
END_TEST

/* A hardlinked file with one name gone: the other still reaches the
 * inode, so nothing is hidden. */
START_TEST(hardlink_survives)
{
	static const struct tu_entry l0[] = { D("h/"), F("h/a", "still reachable"),
					      HL("h/b", "h/a") };
	static const struct tu_entry l1[] = { D("h/"), WH("h/.wh.a") };

	ck_assert_uint_eq(CHECK(L(l0), L(l1)), 0);
}
END_TEST

/* Nested directories over three layers: each directory's total is the sum
 * over its subtree, a path overwritten twice counts both lower copies. */
START_TEST(nested)
{
	static const struct tu_entry l0[] = {
		D("r/"), D("r/a/"), F("r/a/1", "1111111111"), D("r/a/b/"),
		F("r/a/b/2", "22222222222222222222"), D("r/a/b/c/"), F("r/a/b/c/3", "333"),
		F("r/x", "xxxx"), D("s/"), F("s/t", "t"),
	};
	static const struct tu_entry l1[] = {
		D("r/"), D("r/a/"), WH("r/a/.wh.1"), D("r/a/b/"), D("r/a/b/c/"),
		F("r/a/b/c/3", "3333"), F("s/t", "tt"),
	};
	static const struct tu_entry l2[] = {
		D("r/"), D("r/a/"), D("r/a/b/"), F("r/a/b/2", "2"), D("r/a/b/c/"),
		F("r/a/b/c/3", "33333"),
	};

	ck_assert_uint_eq(CHECK(L(l0), L(l1), L(l2)), 10 + 20 + 3 + 4 + 1);
}
END_TEST

/* A file replaced by a directory: its bytes are charged to the directory
 * now at its path. */
START_TEST(dir_replaces_file)
{
	static const struct tu_entry l0[] = { F("y", "seven b"), F("k", "k") };
	static const struct tu_entry l1[] = { D("y/"), F("y/z", "z") };

	ck_assert_uint_eq(CHECK(L(l0), L(l1)), 7);
}
END_TEST

/* A file that replaces a directory: the files beneath the old directory
 * are hidden at paths beneath the file's, so by README ("at or beneath
 * this path") and waste_i.h ("every overwritten file ... at or under its
 * path") their bytes are charged to the file x as well as to /. */
START_TEST(file_replaces_dir)
{
	static const struct tu_entry l0[] = { D("x/"), F("x/a", "five!"), D("x/d/"), F("x/d/b", "bb") };
	static const struct tu_entry l1[] = { F("x", "now a file") };

	ck_assert_uint_eq(CHECK(L(l0), L(l1)), 7);
}
END_TEST

/* A file that replaces a directory deeper down, over files two levels
 * beneath it: the file and every directory above it get their bytes. */
START_TEST(file_replaces_subdir)
{
	static const struct tu_entry l0[] = { D("x/"), F("x/a", "a"), D("x/d/"), F("x/d/b", "bb"),
					      D("x/d/e/"), F("x/d/e/c", "ccc") };
	static const struct tu_entry l1[] = { D("x/"), F("x/d", "now a file") };

	ck_assert_uint_eq(CHECK(L(l0), L(l1)), 5);
}
END_TEST

/* Layers that only add: 0 everywhere and every hidden/N empty. */
/* The walk that charges a group of hidden files copies the names of its
 * directory's path: one copy failing must fail the build with -ENOMEM, not
 * charge the group to a directory one level off (the deleted file's bytes
 * went to / and x, never to x/onlyhere). */
START_TEST(name_copy_fails)
{
	static const struct tu_entry l0[] = { D("x/"), D("x/onlyhere/"), F("x/onlyhere/f", "gone"),
					      F("x/onlyhere/g", "kept") };
	static const struct tu_entry l1[] = { WH("x/onlyhere/.wh.f") };
	struct tu_layer l[2] = { { .created_by = "a" }, { .created_by = "b" } };
	struct imgfs_err err;
	int rc;

	tu_tar(&l[0].tar, l0, sizeof(l0) / sizeof(l0[0]), 0);
	tu_tar(&l[1].tar, l1, sizeof(l1) / sizeof(l1[0]), 0);
	tu_docker_archive(image, l, 2);
	tu_blob_free(&l[0].tar);
	tu_blob_free(&l[1].tar);
	fail_strdup = "onlyhere";
	rc = tu_open(image, dir, &fs, &err);
	fail_strdup = NULL;
	ck_assert_msg(rc == -ENOMEM, "build: %d, expected -ENOMEM", rc);
	ck_assert_ptr_null(fs);
	ck_assert_int_eq(err.code, -ENOMEM);
}
END_TEST

START_TEST(nothing_hidden)
{
	static const struct tu_entry l0[] = { D("a/"), F("a/f", "f"), SL("a/l", "f") };
	static const struct tu_entry l1[] = { D("a/"), F("a/g", "gg"), D("b/"), F("b/h", "hhh") };

	ck_assert_uint_eq(CHECK(L(l0), L(l1)), 0);
}
END_TEST

static Suite *waste_suite(void)
{
	Suite *s = suite_create("waste");
	TCase *tc = tcase_create("hidden");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, overwritten);
	tcase_add_test(tc, whiteout);
	tcase_add_test(tc, deleted_dir);
	tcase_add_test(tc, opaque);
	tcase_add_test(tc, chmod_only);
	tcase_add_test(tc, hardlink_hidden);
	tcase_add_test(tc, hardlink_survives);
	tcase_add_test(tc, nested);
	tcase_add_test(tc, dir_replaces_file);
	tcase_add_test(tc, file_replaces_dir);
	tcase_add_test(tc, file_replaces_subdir);
	tcase_add_test(tc, nothing_hidden);
	tcase_add_test(tc, name_copy_fails);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	setlocale(LC_CTYPE, "C.UTF-8");
	sr = srunner_create(waste_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
