/* This file contains the tree of "imgfs report": the merged tree read
 * breadth first through the public interface (readdir, getattr and the
 * user.imgfs.* attributes), each inode's bytes counted once, and the view
 * of one directory with its small children merged and its hidden bytes. */
#include "report_i.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* A child weighing less than 1/REPORT_SHARE of the image is merged into
 * "N files under X": it could not be seen on the map, and merging keeps
 * the page of an image of 185k entries at about that many nodes (a few
 * MB) whatever the image holds. */
#define REPORT_SHARE 20000
/* Sanity limit on the nodes held in memory (about 100 bytes each): more
 * than any real image has entries. */
#define REPORT_NODES_MAX (64u << 20)

/* ---- two small open-addressing sets: hard-linked inodes, package names ---- */

struct inoset {
	uint64_t *k;
	size_t cap, len;
};

/* 1: INO was there, 0: added, -ENOMEM */
static int inoset_add(struct inoset *s, uint64_t ino)
{
	size_t i;

	if (2 * (s->len + 1) > s->cap) {
		struct inoset t = { .cap = s->cap ? 2 * s->cap : 1024 };

		t.k = calloc(t.cap, sizeof(*t.k));
		if (!t.k)
			return -ENOMEM;
		for (i = 0; i < s->cap; i++)
			if (s->k[i])
				inoset_add(&t, s->k[i]);
		free(s->k);
		*s = t;
	}
	for (i = (size_t)(ino * 0x9E3779B97F4A7C15ull) & (s->cap - 1); s->k[i];
	     i = (i + 1) & (s->cap - 1))
		if (s->k[i] == ino)
			return 1;
	s->k[i] = ino;
	s->len++;
	return 0;
}

struct walk {
	struct report *r;
	struct inoset links;
	int32_t *pslot;   /* package table: index + 1 per slot, 0 empty */
	size_t pcap;
	uint32_t parent;
	int rc;
};

static uint64_t strhash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

/* The index of package NAME in r->pkgs, added if new; -ENOMEM. */
static int32_t pkg_id(struct walk *w, const char *name)
{
	struct report *r = w->r;
	size_t i;

	if (2 * (r->npkgs + 1) > w->pcap) {
		size_t cap = w->pcap ? 2 * w->pcap : 256, k;
		int32_t *t = calloc(cap, sizeof(*t));
		struct rpkg *p = realloc(r->pkgs, cap / 2 * sizeof(*p));

		if (!t || !p) {
			free(t);
			if (p)
				r->pkgs = p;
			return -ENOMEM;
		}
		r->pkgs = p;
		for (k = 0; k < r->npkgs; k++) {
			for (i = strhash(p[k].name) & (cap - 1); t[i]; i = (i + 1) & (cap - 1))
				;
			t[i] = (int32_t)k + 1;
		}
		free(w->pslot);
		w->pslot = t;
		w->pcap = cap;
	}
	for (i = strhash(name) & (w->pcap - 1); w->pslot[i]; i = (i + 1) & (w->pcap - 1))
		if (!strcmp(r->pkgs[w->pslot[i] - 1].name, name))
			return w->pslot[i] - 1;
	r->pkgs[r->npkgs].name = strdup(name);
	if (!r->pkgs[r->npkgs].name)
		return -ENOMEM;
	r->pkgs[r->npkgs].bytes = 0;
	r->pkgs[r->npkgs].retained = -1;
	w->pslot[i] = (int32_t)r->npkgs + 1;
	return (int32_t)r->npkgs++;
}

/* A user.imgfs.* number of INO, or -1 when there is none. */
static long long xnum(struct imgfs_fs *fs, uint64_t ino, const char *name)
{
	char buf[32];
	ssize_t n = imgfs_fs_getxattr(fs, ino, name, buf, sizeof(buf) - 1);

	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return strtoll(buf, NULL, 10);
}

/* The first (most specific) claim on INO as "manager:name", or -1. */
static int32_t file_pkg(struct walk *w, uint64_t ino)
{
	char buf[4096], *cut;
	ssize_t n = imgfs_fs_getxattr(w->r->fs, ino, "user.imgfs.package", buf, sizeof(buf) - 1);

	if (n <= 0)
		return -1; /* none, or a claim list longer than the buffer: no colour */
	buf[n] = '\0';
	if ((cut = strchr(buf, ',')))
		*cut = '\0';
	if ((cut = strchr(buf, '=')))
		*cut = '\0';
	return pkg_id(w, buf);
}

static int add_child(void *ctx, const char *name, const struct imgfs_attr *a, uint64_t next)
{
	struct walk *w = ctx;
	struct report *r = w->r;
	struct rnode *n, *p;
	uint32_t i;

	(void)next;
	if (!strcmp(name, ".") || !strcmp(name, "..") || !(S_ISDIR(a->mode) || S_ISREG(a->mode)))
		return 0; /* a symlink, device or fifo weighs nothing on the map */
	if (r->len == r->cap) {
		size_t cap = r->cap * 2;
		struct rnode *t;

		if (cap > REPORT_NODES_MAX) {
			w->rc = -EFBIG;
			return 1;
		}
		t = realloc(r->n, cap * sizeof(*t));
		if (!t) {
			w->rc = -ENOMEM;
			return 1;
		}
		r->n = t;
		r->cap = cap;
	}
	i = (uint32_t)r->len;
	n = &r->n[i];
	memset(n, 0, sizeof(*n));
	n->name = strdup(name);
	if (!n->name) {
		w->rc = -ENOMEM;
		return 1;
	}
	r->len++;
	n->ino = a->ino;
	n->parent = w->parent;
	n->first = RN_NONE;
	n->pkg = -1;
	/* children go on the list in reverse; the views sort them anyway */
	p = &r->n[w->parent];
	n->next = p->first;
	p->first = i;
	if (S_ISDIR(a->mode)) {
		long long v = xnum(r->fs, a->ino, "user.imgfs.wasted");

		n->kind = RN_DIR;
		n->w = v > 0 ? (uint64_t)v : 0;
		n->layer = RL_NONE;
		return 0;
	}
	n->kind = RN_FILE;
	n->files = 1;
	n->layer = (int32_t)xnum(r->fs, a->ino, "user.imgfs.layer");
	n->pkg = file_pkg(w, a->ino);
	if (n->pkg < -1) {
		w->rc = n->pkg;
		return 1;
	}
	/* a hard link counts once, where the walk meets it first */
	if (a->nlink > 1) {
		int seen = inoset_add(&w->links, a->ino);

		if (seen < 0) {
			w->rc = seen;
			return 1;
		}
		if (seen)
			return 0;
	}
	r->n[i].m = a->size;
	if (n->pkg >= 0)
		r->pkgs[n->pkg].bytes += a->size;
	return 0;
}

/* What directory D's files share: the same layer (package), or none. */
static int32_t merge_tag(int32_t d, int32_t c, int first)
{
	return first || d == c ? c : RL_MIXED;
}

int report_walk(struct report *r)
{
	struct walk w = { .r = r };
	size_t i;
	int rc = -ENOMEM;

	r->cap = 1024;
	r->n = calloc(r->cap, sizeof(*r->n));
	if (!r->n)
		goto out;
	r->len = 1;
	r->n[0].name = strdup("/");
	if (!r->n[0].name)
		goto out;
	r->n[0].ino = IMGFS_ROOT_INO;
	r->n[0].parent = r->n[0].first = r->n[0].next = RN_NONE;
	r->n[0].kind = RN_DIR;
	r->n[0].layer = RL_NONE;
	r->n[0].pkg = -1;
	{
		long long v = xnum(r->fs, IMGFS_ROOT_INO, "user.imgfs.wasted");

		r->n[0].w = v > 0 ? (uint64_t)v : 0;
	}
	/* breadth first: the nodes array is the queue, and each child comes
	 * after its parent, which the sums below rely on */
	for (i = 0; i < r->len; i++) {
		if (r->n[i].kind != RN_DIR)
			continue;
		w.parent = (uint32_t)i;
		rc = imgfs_fs_readdir(r->fs, r->n[i].ino, 0, add_child, &w);
		if (rc == 0)
			rc = w.rc;
		if (rc) {
			char path[4096];

			report_path(r, (uint32_t)i, path, sizeof(path));
			r->err->code = rc;
			r->err->input = rc == -EFBIG;
			snprintf(r->err->msg, sizeof(r->err->msg), "%.400s: reading %.400s: %s", r->image, path,
				 rc == -EFBIG ? "more entries than a report can hold" : strerror(-rc));
			goto out;
		}
	}
	for (i = r->len - 1; i > 0; i--) {
		struct rnode *c = &r->n[i], *p = &r->n[c->parent];
		int first = p->files == 0;

		if (c->files == 0)
			continue;
		p->layer = merge_tag(p->layer, c->layer, first);
		p->pkg = merge_tag(p->pkg, c->pkg, first) < -1 ? -1 : merge_tag(p->pkg, c->pkg, first);
		p->m += c->m;
		p->files += c->files;
	}
	r->threshold = report_bytes(r, 0) / REPORT_SHARE;
	rc = 0;
out:
	free(w.links.k);
	free(w.pslot);
	return rc;
}

void report_free(struct report *r)
{
	size_t i;

	for (i = 0; i < r->len; i++)
		free(r->n[i].name);
	free(r->n);
	for (i = 0; i < r->npkgs; i++)
		free(r->pkgs[i].name);
	free(r->pkgs);
	for (i = 0; i < r->nlayers; i++) {
		free(r->layers[i].digest);
		free(r->layers[i].created_by);
	}
	free(r->layers);
}

uint64_t report_bytes(const struct report *r, uint32_t i)
{
	return r->n[i].m + (r->n[i].kind == RN_DIR ? r->n[i].w : 0);
}

static int by_bytes(const void *a, const void *b)
{
	const struct ritem *x = a, *y = b;

	return x->bytes < y->bytes ? 1 : x->bytes > y->bytes ? -1 : 0;
}

int report_view(const struct report *r, uint32_t dir, struct ritem **out)
{
	const struct rnode *d = &r->n[dir];
	struct ritem *v, agg = { .kind = RN_AGG, .node = dir, .layer = RL_NONE, .pkg = -1 };
	uint64_t hidden = d->w;
	size_t n = 2, k = 0;
	uint32_t c;
	int first = 1;

	for (c = d->first; c != RN_NONE; c = r->n[c].next)
		n++;
	v = malloc(n * sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (c = d->first; c != RN_NONE; c = r->n[c].next) {
		const struct rnode *x = &r->n[c];
		uint64_t b = report_bytes(r, c);

		if (b == 0)
			continue;
		if (b >= r->threshold && b > 0) {
			v[k++] = (struct ritem){ .kind = x->kind, .node = c, .bytes = b,
						 .count = x->files, .layer = x->layer, .pkg = x->pkg };
			if (x->kind == RN_DIR)
				hidden = hidden > x->w ? hidden - x->w : 0;
			continue;
		}
		/* merged: its files into "N files under X", its hidden bytes
		 * stay in this directory's hidden region */
		if (x->m) {
			agg.layer = merge_tag(agg.layer, x->layer, first);
			agg.pkg = merge_tag(agg.pkg, x->pkg, first) < -1 ? -1
									 : merge_tag(agg.pkg, x->pkg, first);
			first = 0;
			agg.bytes += x->m;
			agg.count += x->files;
		}
	}
	if (agg.bytes)
		v[k++] = agg;
	if (hidden)
		v[k++] = (struct ritem){ .kind = RN_HIDDEN, .node = dir, .bytes = hidden,
					 .layer = RL_NONE, .pkg = -1 };
	qsort(v, k, sizeof(*v), by_bytes);
	*out = v;
	return (int)k;
}

void report_path(const struct report *r, uint32_t i, char *buf, size_t len)
{
	size_t need = 0, pos;
	uint32_t j;

	if (i == 0 || len < 2) {
		snprintf(buf, len, "/");
		return;
	}
	for (j = i; j != 0; j = r->n[j].parent)
		need += strlen(r->n[j].name) + 1;
	if (need >= len) {
		snprintf(buf, len, "%s", r->n[i].name); /* too deep to spell: the name */
		return;
	}
	buf[need] = '\0';
	for (pos = need, j = i; j != 0; j = r->n[j].parent) {
		size_t l = strlen(r->n[j].name);

		pos -= l;
		memcpy(buf + pos, r->n[j].name, l);
		buf[--pos] = '/';
	}
}
