/* This file contains the driver of package attribution: after the index
 * is committed, it runs each database reader of the table below (dpkg,
 * apk, pip's dist-info and egg-info, npm's node_modules: pkg/dpkg.c ...)
 * over the merged tree, then records which packages claim each inode
 * (pkgfile), each package's totals (pkg), the package owning most
 * bytes under each directory (pkgdir) and the dependency graph with its
 * retained bytes (pkg/graph.c). */
#include "pkg/attribute_i.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "read/fs_i.h"
#include "util/err_i.h"
#include "store/schema_i.h"
#include "imgfs/imgfs.h"
#include "pkg/db_i.h"
#include "pkg/graph_i.h"
#include "pkg/view_i.h"

/* The databases, in the order they are read: a claim's rank among equally
 * specific claims is the order found. */
static const struct pkg_db dbs[] = {
	{ "dpkg", pkg_scan_dpkg },
	{ "apk", pkg_scan_apk },
	{ "pip", pkg_scan_pip },
	{ "npm", pkg_scan_npm },
};

static int cmp_claim(const void *a, const void *b)
{
	const struct claim *x = a, *y = b;

	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	if (x->cls != y->cls)
		return x->cls < y->cls ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int db_fail(sqlite3 *db, struct imgfs_err *err)
{
	return imgfs_errf(err, -EIO, 0, "index: packages: %s", sqlite3_errmsg(db));
}

/* What follows the rows: each package's totals over its regular files,
 * then the directory owners bottom up, one depth level per statement as
 * merge.c sums directory sizes, each file counted under its rank-0 owner
 * (hardlinks under each of their names). */
static const char totals_sql[] =
	"UPDATE pkg SET files = c.n, bytes = c.b FROM (SELECT f.pkg AS p, count(*) AS n,"
	" sum(i.size) AS b FROM pkgfile f JOIN inode i ON i.ino = f.ino"
	" WHERE " IMGFS_SQL_IS_REG("i.mode") " GROUP BY f.pkg) AS c WHERE pkg.id = c.p;"
	"UPDATE pkg SET layers = c.l FROM (SELECT p, group_concat(layer, ',') AS l FROM"
	" (SELECT DISTINCT f.pkg AS p, i.layer AS layer FROM pkgfile f JOIN inode i ON i.ino = f.ino"
	" WHERE " IMGFS_SQL_IS_REG("i.mode") " ORDER BY 1, 2) GROUP BY p) AS c WHERE pkg.id = c.p;"
	"INSERT INTO lvl SELECT d.depth, d.parent, d.ino, f.pkg, i.size FROM dentry d"
	" JOIN inode i ON i.ino = d.ino LEFT JOIN pkgfile f ON f.ino = d.ino AND f.rank = 0"
	" WHERE d.view = " IMGFS_SQL(IMGFS_VIEW_MERGED) " AND (" IMGFS_SQL_IS_DIR("i.mode")
	" OR (" IMGFS_SQL_IS_REG("i.mode") " AND f.pkg IS NOT NULL));"
	"CREATE INDEX temp.lvl_depth ON lvl(depth);";

/* Bytecode no database lists belongs to the owners of its source: the
 * interpreter (or py3compile, or compileall in a Dockerfile) writes
 * DIR/__pycache__/MOD.TAG.pyc beside DIR/MOD.py, and Python 2 and
 * `compileall -b` write DIR/MOD.pyc; pip's RECORD and dpkg's .list name
 * only what the installer wrote.  A module name holds no '.', so MOD is the
 * name up to its first '.'.  SQLite runs the SELECT to its end before the
 * first insert, so a claim added here is not a source for another.  Names
 * are blobs: text compares unequal to every blob and LIKE matches none,
 * hence the casts and substr. */
static const char bytecode_sql[] =
	"INSERT OR IGNORE INTO pkgfile SELECT b.ino, f.pkg, f.rank FROM dentry b"
	" JOIN dentry s ON s.view = b.view AND s.name = CAST(substr(b.name, 1, instr(b.name, '.') - 1) || '.py' AS BLOB)"
	"  AND s.parent = coalesce((SELECT c.parent FROM dentry c WHERE c.view = b.view"
	"   AND c.ino = b.parent AND c.name = CAST('__pycache__' AS BLOB)), b.parent)"
	" JOIN pkgfile f ON f.ino = s.ino"
	" WHERE b.view = " IMGFS_SQL(IMGFS_VIEW_MERGED) " AND substr(b.name, -4) = CAST('.pyc' AS BLOB) AND instr(b.name, '.') > 1"
	" AND NOT EXISTS (SELECT 1 FROM pkgfile o WHERE o.ino = b.ino);";

static const char level_sql[] =
	"INSERT INTO dirpkg SELECT parent, pkg, sum(b) FROM ("
	" SELECT parent, pkg, size AS b FROM lvl WHERE depth = ?1 AND pkg IS NOT NULL"
	" UNION ALL SELECT l.parent, x.pkg, x.bytes FROM lvl l JOIN dirpkg x ON x.dir = l.ino"
	" WHERE l.depth = ?1 AND l.pkg IS NULL) GROUP BY parent, pkg";

static const char owners_sql[] =
	"INSERT INTO pkgdir SELECT dir, pkg FROM (SELECT dir, pkg, row_number() OVER"
	" (PARTITION BY dir ORDER BY bytes DESC, pkg) AS rn FROM dirpkg) WHERE rn = 1;"
	"DROP TABLE temp.lvl; DROP TABLE temp.dirpkg;";

static int write_rows(struct pkg_ctx *c, struct imgfs_err *err)
{
	sqlite3_stmt *q = NULL, *level = NULL;
	size_t i;
	uint64_t ino = 0;
	int rank = 0, rc = 0;
	int64_t d;

	if (sqlite3_exec(c->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(c->db, "INSERT INTO pkg(id, manager, name, version, arch, missing)"
			       " VALUES(?1, ?2, ?3, ?4, ?5, ?6)", -1, &q, NULL) != SQLITE_OK)
		goto fail;
	for (i = 0; i < c->n_pkgs; i++) {
		const struct pkg *p = &c->pkgs[i];

		sqlite3_bind_int64(q, 1, (sqlite3_int64)i + 1);
		sqlite3_bind_text(q, 2, p->manager, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 3, p->name, -1, SQLITE_STATIC);
		if (p->version)
			sqlite3_bind_text(q, 4, p->version, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(q, 4);
		if (p->arch)
			sqlite3_bind_text(q, 5, p->arch, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(q, 5);
		sqlite3_bind_int64(q, 6, p->missing);
		if (sqlite3_step(q) != SQLITE_DONE)
			goto fail;
		sqlite3_reset(q);
	}
	sqlite3_finalize(q);
	q = NULL;
	if (c->n_claims) /* qsort of NULL, 0 is undefined */
		qsort(c->claims, c->n_claims, sizeof(*c->claims), cmp_claim);
	if (sqlite3_prepare_v2(c->db, "INSERT OR IGNORE INTO pkgfile VALUES(?1, ?2, ?3)", -1, &q,
			       NULL) != SQLITE_OK)
		goto fail;
	for (i = 0; i < c->n_claims; i++) {
		const struct claim *cl = &c->claims[i];

		if (i == 0 || cl->ino != ino)
			rank = 0;
		ino = cl->ino;
		sqlite3_bind_int64(q, 1, (sqlite3_int64)cl->ino);
		sqlite3_bind_int64(q, 2, (sqlite3_int64)cl->pkg + 1);
		sqlite3_bind_int(q, 3, rank);
		if (sqlite3_step(q) != SQLITE_DONE)
			goto fail;
		sqlite3_reset(q);
		rank += sqlite3_changes(c->db) > 0; /* a package listing a file twice */
	}
	sqlite3_finalize(q);
	q = NULL;
	if (sqlite3_exec(c->db, bytecode_sql, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(c->db, imgfs_scratch_pkg, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(c->db, totals_sql, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(c->db, "SELECT coalesce(max(depth), 0) FROM lvl", -1, &q, NULL) != SQLITE_OK ||
	    sqlite3_step(q) != SQLITE_ROW)
		goto fail;
	d = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	q = NULL;
	if (sqlite3_prepare_v2(c->db, level_sql, -1, &level, NULL) != SQLITE_OK)
		goto fail;
	/* a directory's entries sit one level deeper: each level is complete
	 * before its parents sum it */
	for (; d >= 1; d--) {
		sqlite3_bind_int64(level, 1, d);
		if (sqlite3_step(level) != SQLITE_DONE)
			goto fail;
		sqlite3_reset(level);
	}
	sqlite3_finalize(level);
	level = NULL;
	if (sqlite3_exec(c->db, owners_sql, NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	rc = pkg_graph_write(c);
	if (rc)
		goto undo;
	if (sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	return 0;
fail:
	rc = db_fail(c->db, err);
undo:
	/* the detail is taken: the half-written rows go */
	if (!sqlite3_get_autocommit(c->db))
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_finalize(level);
	sqlite3_finalize(q);
	return rc;
}

/* The image's path recorded by the build, into c->image for the warnings
 * (the index's path when there is none).  Returns 0 or a fatal -errno. */
static int image_name(struct pkg_ctx *c, const char *index_path)
{
	sqlite3_stmt *q = NULL;
	const char *v = index_path;
	int r, rc = 0;

	if (sqlite3_prepare_v2(c->db, "SELECT value FROM meta WHERE key = ?1", -1, &q, NULL) !=
	    SQLITE_OK)
		return pkg_sqlfail(c);
	sqlite3_bind_text(q, 1, IMGFS_META_IMAGE, -1, SQLITE_STATIC);
	r = sqlite3_step(q);
	if (r == SQLITE_ROW && sqlite3_column_type(q, 0) == SQLITE_TEXT)
		v = (const char *)sqlite3_column_text(q, 0);
	else if (r != SQLITE_ROW && r != SQLITE_DONE)
		rc = pkg_sqlfail(c);
	if (!rc) {
		c->image = strdup(v);
		if (!c->image)
			rc = pkg_nomem(c);
	}
	sqlite3_finalize(q);
	return rc;
}

int imgfs_packages_build(sqlite3 *db, const char *index_path, struct imgfs_err *err)
{
	struct pkg_ctx *c = calloc(1, sizeof(*c)); /* pkg_resolve()'s buffers: 16 KiB */
	size_t i;
	int rc;

	if (!c)
		return imgfs_errf(err, -ENOMEM, 0, "index: packages: out of memory");
	c->db = db;
	c->err = err;
	rc = image_name(c, index_path);
	if (rc)
		goto out;
	rc = imgfs_fs_open_unsealed(&c->fs, index_path, err);
	if (rc)
		goto out;
	/* each database has its own byte budget; the pass's bounds hold over
	 * all of them */
	for (i = 0; i < sizeof(dbs) / sizeof(dbs[0]) && !rc && !c->stop; i++) {
		c->db_name = dbs[i].name;
		c->db_bytes = 0;
		c->db_stop = 0;
		rc = dbs[i].scan(c);
	}
	/* the reader is closed before the writer changes the file under it */
	imgfs_fs_close(c->fs);
	c->fs = NULL;
	if (!rc && c->n_pkgs)
		rc = write_rows(c, err);
	if (!rc && c->n_pkgs)
		rc = pkg_view_build(c->db, err);
out:
	for (i = 0; i < c->n_pkgs; i++) {
		free(c->pkgs[i].name);
		free(c->pkgs[i].version);
		free(c->pkgs[i].arch);
		free(c->pkgs[i].location);
		free(c->pkgs[i].deps);
		free(c->pkgs[i].provides);
	}
	free(c->pkgs);
	free(c->claims);
	free(c->last_dir);
	free(c->image);
	free(c);
	return rc;
}
