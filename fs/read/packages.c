/* This file contains the package figures the index holds (filled by
 * fs/pkg at build time), read back for `imgfs packages`: per package with
 * its place in the dependency graph, per layer, and the bytes no package
 * claims. */
#include "imgfs/imgfs.h"

#include <errno.h>
#include <stdio.h>
#include <sqlite3.h>
#include <string.h>

#include "store/schema_i.h"

#define MERGED "i.ino IN (SELECT ino FROM dentry WHERE view = " IMGFS_SQL(IMGFS_VIEW_MERGED) ")"

/* One row per package, largest first; first_bytes: the bytes of the files
 * whose first (most specific) claim is this package, so that those and the
 * unowned bytes add up to the image's size. */
#define PACKAGES_SQL(where, order) \
	"SELECT p.manager, p.name, p.version, p.arch, p.files, p.bytes, p.layers, p.missing," \
	" coalesce(o.b, 0), p.id, p.location, p.root, coalesce(p.retained_bytes, -1)" \
	" FROM pkg p LEFT JOIN (SELECT f.pkg AS pkg, sum(i.size) AS b" \
	" FROM pkgfile f JOIN inode i ON i.ino = f.ino WHERE f.rank = 0 AND " \
	IMGFS_SQL_IS_REG("i.mode") " GROUP BY f.pkg) o ON o.pkg = p.id " where \
	" ORDER BY " order "p.bytes DESC, p.manager, p.name, p.id"
static const char *const packages_sql[2][2] = {
	{ PACKAGES_SQL("", ""), PACKAGES_SQL("WHERE p.root", "") },
	{ PACKAGES_SQL("", "coalesce(p.retained_bytes, -1) DESC, "),
	  PACKAGES_SQL("WHERE p.root", "coalesce(p.retained_bytes, -1) DESC, ") },
};

/* The graph's lists of package ?1: "manager:name" lines, sorted. */
#define LIST_SQL(from) \
	"SELECT group_concat(s, char(10)) FROM (SELECT p.manager || ':' || p.name AS s " from \
	" ORDER BY 1)"
static const char *const lists_sql[] = {
	LIST_SQL("FROM pkgdep d JOIN pkg p ON p.id = d.dep WHERE d.pkg = ?1"),
	LIST_SQL("FROM pkgdep d JOIN pkg p ON p.id = d.pkg WHERE d.dep = ?1"),
	"SELECT group_concat(name, char(10)) FROM (SELECT name FROM pkgmissing WHERE pkg = ?1"
	" ORDER BY 1)",
	/* the dominator subtree, walked down idom (no cycle: a tree) */
	"WITH RECURSIVE sub(id) AS (SELECT id FROM pkg WHERE id = ?1 AND retained_bytes IS NOT NULL"
	" UNION ALL SELECT p.id FROM pkg p JOIN sub ON p.idom = sub.id) "
	LIST_SQL("FROM sub JOIN pkg p ON p.id = sub.id"),
};
#define N_LISTS (sizeof(lists_sql) / sizeof(lists_sql[0]))

/* Size of the merged tree (hardlinks once), then its regular files that
 * no package claims. */
static const char totals_sql[] =
	"SELECT (SELECT sub_bytes FROM inode WHERE ino = 1), count(*), coalesce(sum(i.size), 0)"
	" FROM inode i WHERE " IMGFS_SQL_IS_REG("i.mode") " AND " MERGED
	" AND NOT EXISTS (SELECT 1 FROM pkgfile f WHERE f.ino = i.ino)";

static const char by_layer_sql[] =
	"SELECT i.layer, p.manager, p.name, p.version, count(*), sum(i.size) FROM pkgfile f"
	" JOIN inode i ON i.ino = f.ino JOIN pkg p ON p.id = f.pkg WHERE " IMGFS_SQL_IS_REG("i.mode")
	" GROUP BY i.layer, p.id ORDER BY i.layer, 6 DESC, p.manager, p.name, p.id";

static const char layer_totals_sql[] =
	"SELECT l.num, l.created_by, coalesce(t.b, 0), coalesce(t.uf, 0), coalesce(t.ub, 0)"
	" FROM layer l LEFT JOIN (SELECT layer, sum(size) AS b, sum(u) AS uf, sum(u * size) AS ub"
	" FROM (SELECT i.layer AS layer, i.size AS size, NOT EXISTS (SELECT 1 FROM pkgfile f"
	" WHERE f.ino = i.ino) AS u FROM inode i WHERE " IMGFS_SQL_IS_REG("i.mode") " AND " MERGED ")"
	" GROUP BY layer) t ON t.layer = l.num ORDER BY l.num";

static const char *text(sqlite3_stmt *q, int col)
{
	return (const char *)sqlite3_column_text(q, col);
}

static int open_index(struct imgfs_fs *fs, sqlite3 **db, struct imgfs_err *err)
{
	const char *path = imgfs_fs_path(fs);

	if (sqlite3_open_v2(path, db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		snprintf(err->msg, sizeof(err->msg), "%s: %s", path,
			 *db ? sqlite3_errmsg(*db) : "cannot open");
		err->code = -EIO;
		return -EIO;
	}
	return 0;
}

static int db_fail(sqlite3 *db, struct imgfs_fs *fs, struct imgfs_err *err)
{
	snprintf(err->msg, sizeof(err->msg), "%s: %s", imgfs_fs_path(fs), sqlite3_errmsg(db));
	err->code = -EIO;
	err->input = 0;
	return -EIO;
}

static int packages(struct imgfs_fs *fs, enum imgfs_pkg_sort sort, int flags, int graph,
		    struct imgfs_pkg_totals *t, imgfs_pkg_fn fn, void *ctx, struct imgfs_err *err)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL, *tq = NULL, *lq[N_LISTS] = { 0 };
	size_t k;
	int r, rc;

	memset(t, 0, sizeof(*t));
	rc = open_index(fs, &db, err);
	if (rc)
		goto out;
	if (sqlite3_prepare_v2(db, totals_sql, -1, &tq, NULL) != SQLITE_OK ||
	    sqlite3_step(tq) != SQLITE_ROW ||
	    sqlite3_prepare_v2(db, packages_sql[sort == IMGFS_PKG_BY_RETAINED][!!(flags & IMGFS_PKG_ROOTS_ONLY)], -1, &q,
			       NULL) != SQLITE_OK) {
		rc = db_fail(db, fs, err);
		goto out;
	}
	for (k = 0; (flags & IMGFS_PKG_LISTS) && k < N_LISTS; k++)
		if (sqlite3_prepare_v2(db, lists_sql[k], -1, &lq[k], NULL) != SQLITE_OK) {
			rc = db_fail(db, fs, err);
			goto out;
		}
	t->total_bytes = sqlite3_column_int64(tq, 0);
	t->unowned_files = sqlite3_column_int64(tq, 1);
	t->unowned_bytes = sqlite3_column_int64(tq, 2);
	while ((r = sqlite3_step(q)) == SQLITE_ROW) {
		struct imgfs_pkg_info p = {
			.manager = text(q, 0), .name = text(q, 1), .version = text(q, 2),
			.arch = text(q, 3), .files = sqlite3_column_int64(q, 4),
			.bytes = sqlite3_column_int64(q, 5), .layers = text(q, 6),
			.missing = sqlite3_column_int64(q, 7), .first_bytes = sqlite3_column_int64(q, 8),
		};
		const char **lists[N_LISTS] = { &p.requires, &p.required_by, &p.missing_requires,
						&p.retained };

		if (graph) {
			p.location = text(q, 10);
			p.root = sqlite3_column_int(q, 11);
			p.retained_bytes = sqlite3_column_int64(q, 12);
		}
		for (k = 0; (flags & IMGFS_PKG_LISTS) && k < N_LISTS; k++) {
			sqlite3_reset(lq[k]);
			sqlite3_bind_int64(lq[k], 1, sqlite3_column_int64(q, 9));
			if (sqlite3_step(lq[k]) != SQLITE_ROW) {
				rc = db_fail(db, fs, err);
				goto out;
			}
			*lists[k] = text(lq[k], 0);
		}
		rc = fn(ctx, &p);
		if (rc)
			goto out;
	}
	if (r != SQLITE_DONE)
		rc = db_fail(db, fs, err);
out:
	for (k = 0; k < N_LISTS; k++)
		sqlite3_finalize(lq[k]);
	sqlite3_finalize(q);
	sqlite3_finalize(tq);
	sqlite3_close(db);
	return rc;
}

int imgfs_fs_packages(struct imgfs_fs *fs, struct imgfs_pkg_totals *t, imgfs_pkg_fn fn,
		      void *ctx, struct imgfs_err *err)
{
	return packages(fs, IMGFS_PKG_BY_BYTES, 0, 0, t, fn, ctx, err);
}

int imgfs_fs_packages_graph(struct imgfs_fs *fs, enum imgfs_pkg_sort sort, int flags,
			    struct imgfs_pkg_totals *t, imgfs_pkg_fn fn, void *ctx,
			    struct imgfs_err *err)
{
	return packages(fs, sort, flags, 1, t, fn, ctx, err);
}

int imgfs_fs_packages_by_layer(struct imgfs_fs *fs, imgfs_pkg_layer_fn lfn, imgfs_pkg_fn pfn,
			       void *ctx, struct imgfs_err *err)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *l = NULL, *q = NULL;
	int r, rq = SQLITE_DONE, rc;

	rc = open_index(fs, &db, err);
	if (rc)
		goto out;
	if (sqlite3_prepare_v2(db, layer_totals_sql, -1, &l, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, by_layer_sql, -1, &q, NULL) != SQLITE_OK) {
		rc = db_fail(db, fs, err);
		goto out;
	}
	rq = sqlite3_step(q);
	while ((r = sqlite3_step(l)) == SQLITE_ROW) {
		struct imgfs_pkg_layer pl = {
			.layer = sqlite3_column_int(l, 0), .created_by = text(l, 1),
			.bytes = sqlite3_column_int64(l, 2), .unowned_files = sqlite3_column_int64(l, 3),
			.unowned_bytes = sqlite3_column_int64(l, 4),
		};

		rc = lfn(ctx, &pl);
		/* the package rows are ordered by layer: this layer's, then on */
		for (; rc == 0 && rq == SQLITE_ROW && sqlite3_column_int(q, 0) <= pl.layer;
		     rq = sqlite3_step(q)) {
			struct imgfs_pkg_info p = {
				.manager = text(q, 1), .name = text(q, 2), .version = text(q, 3),
				.files = sqlite3_column_int64(q, 4), .bytes = sqlite3_column_int64(q, 5),
			};

			if (sqlite3_column_int(q, 0) == pl.layer)
				rc = pfn(ctx, &p);
		}
		if (rc == 0)
			rc = lfn(ctx, NULL);
		if (rc)
			goto out;
	}
	if (r != SQLITE_DONE || (rq != SQLITE_DONE && rq != SQLITE_ROW))
		rc = db_fail(db, fs, err);
out:
	sqlite3_finalize(l);
	sqlite3_finalize(q);
	sqlite3_close(db);
	return rc;
}
