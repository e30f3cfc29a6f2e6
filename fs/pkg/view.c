/* This file contains the package view, /.imgfs/packages/MANAGER/NAME/:
 * each package's files under their image paths, the same inodes as the
 * merged tree, so that `du -sh` of each /mnt/.imgfs/packages/pip/NAME ranks packages
 * and `find /mnt/.imgfs/packages/dpkg/gcc-12` lists one.  Built after the
 * claims (pkgfile), before the index is sealed.  The view's directories
 * are inodes of their own whose user.imgfs.size counts each inode beneath
 * once, as in the merged tree. */
#include "pkg/view_i.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "imgfs/imgfs.h"
#include "store/schema_i.h"
#include "util/err_i.h"

_Static_assert((S_IFDIR | 0555) == 16749, "the view directories' mode below");

/* Path components of a claimed file, and the view's own levels above them
 * (packages, manager, name and an npm scope): deeper paths are left out of
 * the view, as no kernel path walk would reach them. */
#define VIEW_DEPTH_MAX 128

struct view {
	sqlite3 *db;
	struct imgfs_err *err;
	sqlite3_stmt *ins_inode, *ins_dentry, *anc, *dirs;
	/* the directories of the current path: names and inodes, [0] the
	 * package's directory */
	char *name[VIEW_DEPTH_MAX];
	int64_t ino[VIEW_DEPTH_MAX];
	int64_t depth0;  /* the depth of the package's directory */
	size_t n;
	int64_t up[3];   /* the view's directories above the package's:
			  * packages, its manager, an npm scope */
	size_t n_up;
};

static int fail(struct view *v)
{
	return imgfs_errf(v->err, -EIO, 0, "index: package view: %s", sqlite3_errmsg(v->db));
}

static int run(struct view *v, sqlite3_stmt *q)
{
	int r = sqlite3_step(q);

	sqlite3_reset(q);
	return r == SQLITE_DONE ? 0 : fail(v);
}

/* Makes directory NAME in PARENT (depth DEPTH); its inode into *INO. */
static int mkdir_view(struct view *v, int64_t parent, const char *name, int64_t depth, int64_t *ino)
{
	int rc = run(v, v->ins_inode);

	if (rc)
		return rc;
	*ino = sqlite3_last_insert_rowid(v->db);
	sqlite3_bind_int64(v->dirs, 1, *ino);
	sqlite3_bind_int64(v->dirs, 2, depth);
	if ((rc = run(v, v->dirs)) != 0)
		return rc;
	sqlite3_bind_int64(v->ins_dentry, 1, parent);
	sqlite3_bind_blob(v->ins_dentry, 2, name, (int)strlen(name), SQLITE_TRANSIENT);
	sqlite3_bind_int64(v->ins_dentry, 3, *ino);
	sqlite3_bind_int64(v->ins_dentry, 4, depth);
	return run(v, v->ins_dentry);
}

/* Finds or makes directory NAME in PARENT. */
static int dir_at(struct view *v, int64_t parent, const char *name, int64_t depth, int64_t *ino)
{
	sqlite3_stmt *q = NULL;
	int r;

	if (sqlite3_prepare_v2(v->db, "SELECT ino FROM dentry WHERE parent = ?1 AND name = ?2", -1, &q,
			       NULL) != SQLITE_OK)
		return fail(v);
	sqlite3_bind_int64(q, 1, parent);
	sqlite3_bind_blob(q, 2, name, (int)strlen(name), SQLITE_STATIC);
	r = sqlite3_step(q);
	if (r == SQLITE_ROW)
		*ino = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	if (r == SQLITE_ROW)
		return 0;
	return r == SQLITE_DONE ? mkdir_view(v, parent, name, depth, ino) : fail(v);
}

/* Records that DIR holds file INO beneath it, for a file with several
 * names in the view (hardlinks, or claimed by several packages): a
 * directory holding two of them counts its bytes once (links_sql). */
static int beneath(struct view *v, int64_t dir, int64_t ino)
{
	sqlite3_bind_int64(v->anc, 1, dir);
	sqlite3_bind_int64(v->anc, 2, ino);
	return run(v, v->anc);
}

/* Records the file INO of several names in every directory above it. */
static int beneath_all(struct view *v, int64_t ino, size_t depth)
{
	int rc = 0;

	for (size_t a = 0; a < v->n_up && rc == 0; a++)
		rc = beneath(v, v->up[a], ino);
	for (size_t a = 0; a < depth && rc == 0; a++)
		rc = beneath(v, v->ino[a], ino);
	return rc;
}

static void pop_to(struct view *v, size_t n)
{
	while (v->n > n)
		free(v->name[--v->n]);
}

/* A name a directory entry can have: NUL-free by construction, not "",
 * "." or "..", no '/' (the caller split there). */
static void safe_name(char *s)
{
	if (!s[0] || !strcmp(s, ".") || !strcmp(s, ".."))
		snprintf(s, 2, "_");
}

/* Adds file INO at PATH ("usr/bin/x") under the package's directory: the
 * directories along it are made once, as paths come sorted.  NAMES: its
 * hardlinks plus the other packages claiming it. */
static int add_file(struct view *v, int64_t ino, int64_t names, const char *path)
{
	char *comp[VIEW_DEPTH_MAX];
	char *copy = strdup(path), *s, *save = NULL;
	size_t n = 0, k, same;
	int rc = 0;

	if (!copy)
		return imgfs_errf(v->err, -ENOMEM, 0, "out of memory");
	for (s = strtok_r(copy, "/", &save); s; s = strtok_r(NULL, "/", &save)) {
		if (n == VIEW_DEPTH_MAX - 8)
			goto out; /* deeper than any walk reaches */
		comp[n++] = s;
	}
	if (n == 0)
		goto out;
	/* the directories shared with the previous path stay */
	for (same = 0; same + 1 < v->n && same < n - 1 && !strcmp(v->name[same + 1], comp[same]); same++)
		;
	pop_to(v, same + 1);
	for (k = same; k < n - 1; k++) {
		int64_t d;

		rc = mkdir_view(v, v->ino[v->n - 1], comp[k], v->depth0 + (int64_t)v->n, &d);
		if (rc)
			goto out;
		v->name[v->n] = strdup(comp[k]);
		if (!v->name[v->n]) {
			rc = imgfs_errf(v->err, -ENOMEM, 0, "out of memory");
			goto out;
		}
		v->ino[v->n++] = d;
	}
	sqlite3_bind_int64(v->ins_dentry, 1, v->ino[v->n - 1]);
	sqlite3_bind_blob(v->ins_dentry, 2, comp[n - 1], (int)strlen(comp[n - 1]), SQLITE_TRANSIENT);
	sqlite3_bind_int64(v->ins_dentry, 3, ino);
	sqlite3_bind_int64(v->ins_dentry, 4, v->depth0 + (int64_t)v->n);
	rc = sqlite3_step(v->ins_dentry) == SQLITE_DONE ? 0 : -EEXIST;
	sqlite3_reset(v->ins_dentry);
	if (rc) {
		rc = 0; /* the same name twice: a path listed twice */
		goto out;
	}
	if (names > 1)
		rc = beneath_all(v, ino, v->n);
out:
	free(copy);
	return rc;
}

/* Every merged-tree path of every claimed inode, by package then path:
 * the tree's paths top down, each name visited once (a walk up from each
 * claimed file visited its directories once per file, 0.4 s on pyapp). */
static const char paths_sql[] =
	"WITH RECURSIVE t(ino, mode, path) AS ("
	" SELECT d.ino, i.mode, CAST(d.name AS TEXT) FROM dentry d JOIN inode i ON i.ino = d.ino"
	"  WHERE d.parent = " IMGFS_SQL(IMGFS_ROOT_INO) " AND d.view = " IMGFS_SQL(IMGFS_VIEW_MERGED)
	" UNION ALL"
	" SELECT d.ino, i.mode, t.path || '/' || CAST(d.name AS TEXT) FROM t"
	"  JOIN dentry d ON d.parent = t.ino JOIN inode i ON i.ino = d.ino"
	"  WHERE " IMGFS_SQL_IS_DIR("t.mode") ")"
	" SELECT f.pkg, k.manager, k.name, k.version, t.ino, t.path,"
	"  i.nlink + (SELECT count(*) FROM pkgfile g WHERE g.ino = t.ino) - 1 FROM t"
	" JOIN pkgfile f ON f.ino = t.ino JOIN pkg k ON k.id = f.pkg JOIN inode i ON i.ino = t.ino"
	" WHERE " IMGFS_SQL_NOT_DIR("t.mode") " ORDER BY f.pkg, t.path";

/* The package's directory: /.imgfs/packages/MANAGER/NAME, an npm scope
 * (@scope/name) a directory of its own; a name another package of the
 * manager took gets "@VERSION" (two venvs with the same package), then
 * "~N". */
static int package_dir(struct view *v, int64_t mgr_dir, int64_t pkg, const char *name,
		       const char *version, int64_t *ino)
{
	char buf[512], want[512];
	char *slash;
	int64_t parent = mgr_dir, depth = 4;
	sqlite3_stmt *q = NULL;
	int r, k;

	snprintf(buf, sizeof(buf), "%s", name);
	v->n_up = 2;
	slash = buf[0] == '@' ? strchr(buf, '/') : NULL;
	if (slash) {
		*slash = '\0';
		safe_name(buf);
		if ((r = dir_at(v, mgr_dir, buf, 4, &parent)) != 0)
			return r;
		v->up[v->n_up++] = parent;
		memmove(buf, slash + 1, strlen(slash + 1) + 1);
		depth = 5;
	}
	for (char *c = buf; *c; c++)
		if (*c == '/')
			*c = '_';
	safe_name(buf);
	snprintf(want, sizeof(want), "%s", buf);
	if (sqlite3_prepare_v2(v->db, "SELECT 1 FROM dentry WHERE parent = ?1 AND name = ?2", -1, &q,
			       NULL) != SQLITE_OK)
		return fail(v);
	for (k = 1;; k++) {
		sqlite3_bind_int64(q, 1, parent);
		sqlite3_bind_blob(q, 2, want, (int)strlen(want), SQLITE_STATIC);
		r = sqlite3_step(q);
		sqlite3_reset(q);
		if (r == SQLITE_DONE)
			break;
		if (r != SQLITE_ROW) {
			sqlite3_finalize(q);
			return fail(v);
		}
		if (k == 1 && version)
			snprintf(want, sizeof(want), "%.200s@%.200s", buf, version);
		else
			snprintf(want, sizeof(want), "%.200s~%d", buf, k);
	}
	sqlite3_finalize(q);
	v->depth0 = depth;
	r = mkdir_view(v, parent, want, depth, ino);
	if (r)
		return r;
	/* what removing the package would free (pkg/graph.c), beside its bytes */
	if (sqlite3_prepare_v2(v->db, "INSERT INTO xattr(ino, name, value) SELECT ?1, 'user.imgfs.retained',"
			       " CAST(CAST(retained_bytes AS TEXT) AS BLOB) FROM pkg"
			       " WHERE id = ?2 AND retained_bytes IS NOT NULL", -1, &q, NULL) != SQLITE_OK)
		return fail(v);
	sqlite3_bind_int64(q, 1, *ino);
	sqlite3_bind_int64(q, 2, pkg);
	r = sqlite3_step(q) == SQLITE_DONE ? 0 : fail(v);
	sqlite3_finalize(q);
	return r;
}

/* Each view directory's totals, bottom up as the merge sums the merged
 * tree (build/merge.c), one depth level per statement: a directory's
 * children are one level deeper, so each level is complete before its
 * parents sum it.  Then a directory holding two names of one inode takes
 * its bytes back once per extra name (temp.pkganc lists the hardlinked
 * files under each directory). */
static const char level_sql[] =
	"UPDATE inode SET sub_bytes = c.b, sub_files = c.f FROM (SELECT d.parent AS p,"
	" sum(CASE WHEN " IMGFS_SQL_IS_DIR("i.mode") " THEN i.sub_bytes"
	"  WHEN " IMGFS_SQL_IS_REG("i.mode") " THEN i.size ELSE 0 END) AS b,"
	" sum(CASE WHEN " IMGFS_SQL_IS_DIR("i.mode") " THEN i.sub_files ELSE 0 END) + count(*) AS f"
	" FROM temp.pkgdirs pd JOIN dentry d ON d.parent = pd.ino JOIN inode i ON i.ino = d.ino"
	" WHERE pd.depth = ?1 GROUP BY d.parent) AS c WHERE inode.ino = c.p";

static const char links_sql[] =
	"UPDATE inode SET sub_bytes = sub_bytes - (SELECT coalesce(sum((x.n - 1) * i.size), 0) FROM"
	"  (SELECT a.ino, count(*) AS n FROM temp.pkganc a WHERE a.dir = inode.ino GROUP BY a.ino) x"
	"  JOIN inode i ON i.ino = x.ino)"
	" WHERE ino IN (SELECT dir FROM temp.pkganc);"
	"DROP TABLE temp.pkganc; DROP TABLE temp.pkgdirs;";

static int totals(struct view *v)
{
	sqlite3_stmt *q = NULL;
	int64_t d = 0;
	int rc = 0;

	if (sqlite3_exec(v->db, "CREATE INDEX temp.pkgdirs_depth ON pkgdirs(depth)", NULL, NULL, NULL) !=
		    SQLITE_OK ||
	    sqlite3_prepare_v2(v->db, "SELECT coalesce(max(depth), 0) FROM temp.pkgdirs", -1, &q, NULL) !=
		    SQLITE_OK ||
	    sqlite3_step(q) != SQLITE_ROW) {
		sqlite3_finalize(q);
		return fail(v);
	}
	d = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	if (sqlite3_prepare_v2(v->db, level_sql, -1, &q, NULL) != SQLITE_OK)
		return fail(v);
	/* the directories of each depth, deepest first */
	for (; d >= 2 && rc == 0; d--) {
		sqlite3_bind_int64(q, 1, d);
		rc = run(v, q);
	}
	sqlite3_finalize(q);
	if (rc == 0 && sqlite3_exec(v->db, links_sql, NULL, NULL, NULL) != SQLITE_OK)
		rc = fail(v);
	return rc;
}

int pkg_view_build(sqlite3 *db, struct imgfs_err *err)
{
	struct view v = { .db = db, .err = err };
	sqlite3_stmt *q = NULL;
	int64_t views = 0, top = 0, mgr_dir = 0, pkg = -1;
	char mgr[16] = "";
	int rc = 0, r;

	if (sqlite3_prepare_v2(db, "SELECT ino FROM dentry WHERE parent = ?1 AND name = ?2", -1, &q,
			       NULL) != SQLITE_OK)
		return imgfs_errf(err, -EIO, 0, "index: package view: %s", sqlite3_errmsg(db));
	sqlite3_bind_int64(q, 1, IMGFS_PARENT_VIEWS);
	sqlite3_bind_blob(q, 2, IMGFS_VIEW_NAME, (int)strlen(IMGFS_VIEW_NAME), SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW)
		views = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	q = NULL;
	if (!views)
		return 0; /* no layer: no /.imgfs */
	if (sqlite3_exec(db, "BEGIN; CREATE TEMP TABLE pkganc(dir INT, ino INT);"
			 "CREATE TEMP TABLE pkgdirs(ino INTEGER PRIMARY KEY, depth INT);", NULL, NULL, NULL) !=
		    SQLITE_OK ||
	    sqlite3_prepare_v2(db, "INSERT INTO temp.pkgdirs VALUES(?1, ?2)", -1, &v.dirs, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "INSERT INTO inode(mode, uid, gid, mtime, mtime_ns, size, rdev, layer)"
			       " VALUES(16749, 0, 0, 0, 0, 0, 0, 0)", -1,
			       &v.ins_inode, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "INSERT INTO dentry(parent, name, ino, layer, depth, view)"
			       " VALUES(?1, ?2, ?3, 0, ?4, " IMGFS_SQL(IMGFS_VIEW_LAYER) ")", -1,
			       &v.ins_dentry, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "INSERT INTO temp.pkganc VALUES(?1, ?2)", -1, &v.anc, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, paths_sql, -1, &q, NULL) != SQLITE_OK) {
		rc = fail(&v);
		goto out;
	}
	rc = mkdir_view(&v, views, "packages", 2, &top);
	while (rc == 0 && (r = sqlite3_step(q)) == SQLITE_ROW) {
		const char *m = (const char *)sqlite3_column_text(q, 1);
		const char *name = (const char *)sqlite3_column_text(q, 2);
		const char *ver = (const char *)sqlite3_column_text(q, 3);
		int64_t id = sqlite3_column_int64(q, 0), pdir;

		if (!m || !name)
			continue;
		if (strcmp(m, mgr)) {
			snprintf(mgr, sizeof(mgr), "%s", m);
			rc = dir_at(&v, top, mgr, 3, &mgr_dir);
			v.up[0] = top;
			v.up[1] = mgr_dir;
			pkg = -1;
		}
		if (rc == 0 && id != pkg) {
			pkg = id;
			pop_to(&v, 0);
			rc = package_dir(&v, mgr_dir, id, name, ver, &pdir);
			if (rc == 0) {
				v.name[0] = NULL;
				v.ino[0] = pdir;
				v.n = 1;
			}
		}
		if (rc == 0)
			rc = add_file(&v, sqlite3_column_int64(q, 4), sqlite3_column_int64(q, 6),
				      (const char *)sqlite3_column_text(q, 5));
	}
	if (rc == 0 && r != SQLITE_DONE)
		rc = fail(&v);
	pop_to(&v, 0);
	if (rc == 0)
		rc = totals(&v);
	if (rc == 0 && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		rc = fail(&v);
out:
	if (rc && !sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_finalize(q);
	sqlite3_finalize(v.ins_inode);
	sqlite3_finalize(v.ins_dentry);
	sqlite3_finalize(v.anc);
	sqlite3_finalize(v.dirs);
	return rc;
}
