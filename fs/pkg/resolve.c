/* This file contains path resolution through the merged tree as its users
 * see it (symlinked directories followed, ".." never above the root) and
 * the directory listings and searches the database readers need. */
#include "pkg/resolve_i.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store/schema_i.h"

/* Symlinks followed while resolving one path: Linux's MAXSYMLINKS. */
#define LINKS_MAX 40

static int list_fn(void *ctx, const char *name, const struct imgfs_attr *a, uint64_t next)
{
	struct dirlist *dl = ctx;

	(void)next;
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return 0;
	if (dl->n == dl->cap) {
		size_t cap = dl->cap ? dl->cap * 2 : 32;
		struct entry *nv = realloc(dl->v, cap * sizeof(*nv));

		if (!nv) {
			dl->nomem = 1;
			return 1;
		}
		dl->v = nv;
		dl->cap = cap;
	}
	dl->v[dl->n].name = strdup(name);
	if (!dl->v[dl->n].name) {
		dl->nomem = 1;
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

/* The entries of directory INO, collected first: a read-side call made
 * from inside a readdir callback would reset the listing's statement. */
int pkg_list_dir(struct pkg_ctx *c, uint64_t ino, struct dirlist *dl)
{
	int rc;

	memset(dl, 0, sizeof(*dl));
	rc = imgfs_fs_readdir(c->fs, ino, 0, list_fn, dl);
	if (dl->nomem) {
		c->nomem = 1;
		rc = -ENOMEM;
	}
	if (rc)
		pkg_dirlist_free(dl);
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

/* The parent of directory INO; ".." of the root is the root, so no path
 * climbs out of the image. */
static uint64_t parent_of(struct pkg_ctx *c, uint64_t ino)
{
	uint64_t p = IMGFS_ROOT_INO;

	if (ino == IMGFS_ROOT_INO || imgfs_fs_readdir(c->fs, ino, 0, dotdot_fn, &p) != 0)
		return IMGFS_ROOT_INO;
	return p;
}

/* Resolves PATH inside the image, from directory BASE when relative, the
 * way the kernel would with the image as root: symlinks followed in every
 * component but the last (and the last too when FOLLOW_LAST), ".." taken
 * physically.  Returns 0 and *OUT, or -ENOENT, -ENOTDIR, -ELOOP,
 * -ENAMETOOLONG. */
int pkg_resolve(struct pkg_ctx *c, uint64_t base, const char *path, int follow_last,
		   struct imgfs_attr *out)
{
	char (*buf)[RPATH_MAX] = c->rbuf;
	char comp[256], target[RPATH_MAX];
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
		if (len >= sizeof(comp))
			return -ENAMETOOLONG;
		memcpy(comp, p, len);
		comp[len] = '\0';
		p += len;
		last = p[strspn(p, "/")] == '\0';
		if (!strcmp(comp, "."))
			continue;
		if (!strcmp(comp, "..")) {
			dir = parent_of(c, dir);
			continue;
		}
		rc = imgfs_fs_lookup(c->fs, dir, comp, &a);
		if (rc)
			return rc;
		if (S_ISLNK(a.mode) && (!last || follow_last)) {
			ssize_t n;

			if (++links > LINKS_MAX)
				return -ELOOP;
			n = imgfs_fs_readlink(c->fs, a.ino, target, sizeof(target) - 1);
			if (n <= 0)
				return -ENOENT;
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

/* pkg_resolve() of PATH's last component not followed, its directory part
 * resolved once for a run of paths in the same directory. */
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
		if (!c->last_dir) {
			c->nomem = 1;
			return -ENOMEM;
		}
		c->last_base = base;
		c->last_rc = dlen ? pkg_resolve(c, base, c->last_dir, 1, &d) : imgfs_fs_getattr(c->fs, base, &d);
		if (c->last_rc == 0 && !S_ISDIR(d.mode))
			c->last_rc = -ENOTDIR;
		c->last_ino = d.ino;
	}
	if (c->last_rc)
		return c->last_rc;
	dir = strndup(name, (size_t)(path + end - name));
	if (!dir) {
		c->nomem = 1;
		return -ENOMEM;
	}
	rc = imgfs_fs_lookup(c->fs, c->last_ino, dir, out);
	free(dir);
	return rc;
}

/* The inodes of the merged tree's directories named NAME1 or NAME2, in
 * tree order.  Found with one scan of the dentry table: the read API has
 * no search by name, and walking the whole tree through it would cost a
 * readdir per directory of the image.  Returns the count or -1. */
long pkg_dirs_named(struct pkg_ctx *c, const char *name1, const char *name2, uint64_t **out)
{
	sqlite3_stmt *q = NULL;
	size_t n = 0, cap = 0;
	uint64_t *v = NULL;

	*out = NULL;
	if (sqlite3_prepare_v2(c->db, "SELECT d.ino FROM dentry d JOIN inode i ON i.ino = d.ino "
			       "WHERE d.view = " IMGFS_SQL(IMGFS_VIEW_MERGED) " AND CAST(d.name AS TEXT) IN (?1, ?2) "
			       "AND " IMGFS_SQL_IS_DIR("i.mode") " ORDER BY d.id", -1, &q, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(q, 1, name1, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, name2, -1, SQLITE_STATIC);
	while (sqlite3_step(q) == SQLITE_ROW) {
		if (n == cap) {
			uint64_t *nv = realloc(v, (cap = cap ? cap * 2 : 16) * sizeof(*nv));

			if (!nv) {
				c->nomem = 1;
				break;
			}
			v = nv;
		}
		v[n++] = (uint64_t)sqlite3_column_int64(q, 0);
	}
	sqlite3_finalize(q);
	*out = v;
	return c->nomem ? -1 : (long)n;
}
