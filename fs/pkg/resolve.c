/* This file contains path resolution through the merged tree as its users
 * see it (symlinked directories followed, ".." never above the root) and
 * the directory listings and searches the database readers need. */
#include "pkg/resolve_i.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store/schema_i.h"

/* Symlinks followed while resolving one path: Linux's MAXSYMLINKS. */
#define LINKS_MAX 40
/* A path component: the kernel refuses a longer name, so users of the
 * mount cannot reach a file through one; such a path resolves to
 * -ENAMETOOLONG, as it would for them. */
#define COMP_MAX NAME_MAX
/* A symlink target the kernel would follow: shorter than PATH_MAX; a
 * longer one is -ENAMETOOLONG, as the kernel's readlink would fail. */
#define TARGET_MAX (PATH_MAX - 1)

struct listing {
	struct dirlist *dl;
	int rc;
};

static int list_fn(void *ctx, const char *name, const struct imgfs_attr *a, uint64_t next)
{
	struct listing *l = ctx;
	struct dirlist *dl = l->dl;

	(void)next;
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return 0;
	if (dl->n == dl->cap) {
		size_t cap = dl->cap ? dl->cap * 2 : 32;
		struct entry *nv = realloc(dl->v, cap * sizeof(*nv));

		if (!nv) {
			l->rc = -ENOMEM;
			return 1;
		}
		dl->v = nv;
		dl->cap = cap;
	}
	dl->v[dl->n].name = strdup(name);
	if (!dl->v[dl->n].name) {
		l->rc = -ENOMEM;
		return 1;
	}
	dl->v[dl->n].ino = a->ino;
	dl->v[dl->n].mode = a->mode;
	dl->n++;
	return 0;
}

void pkg_dirlist_free(struct dirlist *dl)
{
	size_t i;

	for (i = 0; i < dl->n; i++)
		free(dl->v[i].name);
	free(dl->v);
	memset(dl, 0, sizeof(*dl));
}

/* The entries are collected first: a read-side call made from inside a
 * readdir callback would reset the listing's statement. */
int pkg_list_dir(struct pkg_ctx *c, uint64_t ino, struct dirlist *dl)
{
	struct listing l = { .dl = dl, .rc = 0 };
	int rc;

	memset(dl, 0, sizeof(*dl));
	rc = imgfs_fs_readdir(c->fs, ino, 0, list_fn, &l);
	if (l.rc)
		rc = l.rc;
	if (rc == 0 && pkg_spend_steps(c, 1 + dl->n))
		rc = -ECANCELED;
	if (rc)
		pkg_dirlist_free(dl);
	if (pkg_is_fatal(rc))
		return pkg_fatal(c, rc);
	return rc;
}

static int dotdot_fn(void *ctx, const char *name, const struct imgfs_attr *a, uint64_t next)
{
	(void)next;
	if (strcmp(name, ".."))
		return 0;
	*(uint64_t *)ctx = a->ino;
	return 1;
}

/* The parent of directory INO into *OUT; ".." of the root is the root, so
 * no path climbs out of the image.  0 or a fatal -errno. */
static int parent_of(struct pkg_ctx *c, uint64_t ino, uint64_t *out)
{
	int rc;

	*out = IMGFS_ROOT_INO;
	if (ino == IMGFS_ROOT_INO)
		return 0;
	rc = imgfs_fs_readdir(c->fs, ino, 0, dotdot_fn, out);
	if (rc)
		*out = IMGFS_ROOT_INO;
	return pkg_is_fatal(rc) ? rc : 0;
}

static int resolve(struct pkg_ctx *c, uint64_t base, const char *path, int follow_last,
		   struct imgfs_attr *out)
{
	char (*buf)[RPATH_MAX] = c->rbuf;
	char comp[COMP_MAX + 1], target[TARGET_MAX + 1];
	uint64_t dir = path[0] == '/' ? IMGFS_ROOT_INO : base;
	struct imgfs_attr a;
	int cur = 0, links = 0, rc;
	const char *p;

	if (strlen(path) >= RPATH_MAX)
		return -ENAMETOOLONG;
	strcpy(buf[0], path);
	p = buf[0];
	for (;;) {
		size_t len;
		int last;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		len = strcspn(p, "/");
		if (len > COMP_MAX)
			return -ENAMETOOLONG;
		memcpy(comp, p, len);
		comp[len] = '\0';
		p += len;
		last = p[strspn(p, "/")] == '\0';
		if (!strcmp(comp, "."))
			continue;
		if (pkg_spend_steps(c, 1))
			return -ECANCELED;
		if (!strcmp(comp, "..")) {
			rc = parent_of(c, dir, &dir);
			if (rc)
				return rc;
			continue;
		}
		rc = imgfs_fs_lookup(c->fs, dir, comp, &a);
		if (rc)
			return rc;
		if (S_ISLNK(a.mode) && (!last || follow_last)) {
			ssize_t n;

			if (++links > LINKS_MAX)
				return -ELOOP;
			/* one byte more than a target may have tells a longer
			 * one, which the read side would cut, from one that fits */
			n = imgfs_fs_readlink(c->fs, a.ino, target, sizeof(target));
			if (n < 0 && pkg_is_fatal((int)n))
				return (int)n;
			if (n <= 0)
				return -ENOENT;
			if ((size_t)n > TARGET_MAX)
				return -ENAMETOOLONG;
			target[n] = '\0';
			if ((size_t)snprintf(buf[!cur], RPATH_MAX, "%s/%s", target, p) >= RPATH_MAX)
				return -ENAMETOOLONG;
			cur = !cur;
			p = buf[cur];
			if (target[0] == '/')
				dir = IMGFS_ROOT_INO;
			continue;
		}
		if (last) {
			*out = a;
			return 0;
		}
		if (!S_ISDIR(a.mode))
			return -ENOTDIR;
		dir = a.ino;
	}
	return imgfs_fs_getattr(c->fs, dir, out);
}

int pkg_resolve(struct pkg_ctx *c, uint64_t base, const char *path, int follow_last,
		struct imgfs_attr *out)
{
	int rc = resolve(c, base, path, follow_last, out);

	return pkg_is_fatal(rc) ? pkg_fatal(c, rc) : rc;
}

int pkg_resolve_file(struct pkg_ctx *c, uint64_t base, const char *path, struct imgfs_attr *out)
{
	const char *slash, *name;
	size_t dlen, end = strlen(path);
	char *dir;
	int rc;

	while (end > 1 && path[end - 1] == '/')
		end--;
	for (slash = path + end; slash > path && slash[-1] != '/'; slash--)
		;
	name = slash;
	if (name == path + end || (path + end - name == 1 && name[0] == '.') ||
	    (path + end - name == 2 && name[0] == '.' && name[1] == '.'))
		return pkg_resolve(c, base, path, 0, out);
	dlen = (size_t)(name - path);
	if (!c->last_dir || c->last_base != base || strlen(c->last_dir) != dlen ||
	    memcmp(c->last_dir, path, dlen)) {
		struct imgfs_attr d;

		free(c->last_dir);
		c->last_dir = strndup(path, dlen);
		if (!c->last_dir)
			return pkg_nomem(c);
		c->last_base = base;
		c->last_rc = dlen ? pkg_resolve(c, base, c->last_dir, 1, &d) :
				    imgfs_fs_getattr(c->fs, base, &d);
		if (c->last_rc == 0 && !S_ISDIR(d.mode))
			c->last_rc = -ENOTDIR;
		c->last_ino = d.ino;
		if (pkg_is_fatal(c->last_rc) || c->last_rc == -ECANCELED) {
			/* not an answer about this directory: asked again */
			rc = c->last_rc;
			free(c->last_dir);
			c->last_dir = NULL;
			return pkg_is_fatal(rc) ? pkg_fatal(c, rc) : rc;
		}
	}
	if (c->last_rc)
		return c->last_rc;
	if (path + end - name > COMP_MAX)
		return -ENAMETOOLONG;
	dir = strndup(name, (size_t)(path + end - name));
	if (!dir)
		return pkg_nomem(c);
	rc = pkg_spend_steps(c, 1) ? -ECANCELED : imgfs_fs_lookup(c->fs, c->last_ino, dir, out);
	free(dir);
	return pkg_is_fatal(rc) ? pkg_fatal(c, rc) : rc;
}

int pkg_dirs_named(struct pkg_ctx *c, const char *name1, const char *name2, uint64_t **out,
		   size_t *count)
{
	sqlite3_stmt *q = NULL;
	size_t n = 0, cap = 0;
	uint64_t *v = NULL;
	int r, rc = 0;

	*out = NULL;
	*count = 0;
	if (sqlite3_prepare_v2(c->db, "SELECT d.ino FROM dentry d JOIN inode i ON i.ino = d.ino "
			       "WHERE d.view = " IMGFS_SQL(IMGFS_VIEW_MERGED) " AND CAST(d.name AS TEXT) IN (?1, ?2) "
			       "AND " IMGFS_SQL_IS_DIR("i.mode") " ORDER BY d.id", -1, &q, NULL) != SQLITE_OK)
		return pkg_sqlfail(c);
	sqlite3_bind_text(q, 1, name1, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, name2, -1, SQLITE_STATIC);
	while ((r = sqlite3_step(q)) == SQLITE_ROW) {
		if (n == cap) {
			uint64_t *nv = realloc(v, (cap = cap ? cap * 2 : 16) * sizeof(*nv));

			if (!nv) {
				rc = pkg_nomem(c);
				goto out;
			}
			v = nv;
		}
		v[n++] = (uint64_t)sqlite3_column_int64(q, 0);
	}
	if (r != SQLITE_DONE) {
		rc = pkg_sqlfail(c);
		goto out;
	}
	*out = v;
	*count = n;
	v = NULL;
out:
	sqlite3_finalize(q);
	free(v);
	return rc;
}

int pkg_path_of(struct pkg_ctx *c, uint64_t ino, char *buf, size_t size)
{
	sqlite3_stmt *q = NULL;
	size_t at = size - 1;
	int r, rc = 0, depth = 0;

	buf[at] = '\0';
	if (sqlite3_prepare_v2(c->db, "SELECT parent, name FROM dentry WHERE view = "
			       IMGFS_SQL(IMGFS_VIEW_MERGED) " AND ino = ?1 ORDER BY id LIMIT 1",
			       -1, &q, NULL) != SQLITE_OK)
		return pkg_sqlfail(c);
	/* built from the end: each name goes before what is there; a
	 * directory has one name, so the walk climbs to the root, and a path
	 * deeper than SIZE components cannot fit in SIZE bytes */
	while (ino != IMGFS_ROOT_INO && !rc) {
		size_t l;

		sqlite3_bind_int64(q, 1, (sqlite3_int64)ino);
		r = sqlite3_step(q);
		if (r == SQLITE_DONE || ++depth > (int)size) {
			rc = -ENOENT;
			break;
		}
		if (r != SQLITE_ROW) {
			rc = pkg_sqlfail(c);
			break;
		}
		l = (size_t)sqlite3_column_bytes(q, 1);
		if (l + 1 > at) {
			rc = -ENAMETOOLONG;
			break;
		}
		at -= l;
		memcpy(buf + at, sqlite3_column_blob(q, 1), l);
		buf[--at] = '/';
		ino = (uint64_t)sqlite3_column_int64(q, 0);
		sqlite3_reset(q);
	}
	sqlite3_finalize(q);
	if (rc)
		return rc;
	if (at == size - 1)
		buf[--at] = '/';
	memmove(buf, buf + at, size - at);
	return 0;
}
