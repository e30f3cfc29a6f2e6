/* This file contains user.imgfs.layers at index time.  Walking each
 * layer's own tree along an inode's paths at getxattr time cost names x
 * layers x depth index probes (32 s for one call on 256 layers and 100
 * names, an unkillable caller, every FUSE worker taken by a few such
 * calls): here each layer's tree is walked once, beside the merged tree,
 * and the answer stored per inode. */
#include "build/layerset_i.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imgfs/imgfs.h"
#include "util/err_i.h"
#include "store/schema_i.h"

static int fail(sqlite3 *db, struct imgfs_err *err)
{
	return imgfs_errf(err, -EIO, 0, "index: %s", sqlite3_errmsg(db));
}

/* lpair: each layer's directories that are directories at the same path
 * of the merged tree (the walk goes no further: below a name that is no
 * directory in both trees, no layer entry has a merged path).  lhit: the
 * layer has an entry, not implied, or a whiteout, at a name of the inode. */
static const char pairs_sql[] =
	"CREATE TEMP TABLE lpair AS WITH RECURSIVE pair(num, v, m) AS ("
	" SELECT num, view_ino, " IMGFS_SQL(IMGFS_ROOT_INO) " FROM layer"
	" UNION ALL"
	" SELECT p.num, dv.ino, dm.ino FROM pair p"
	"  JOIN dentry dv ON dv.parent = p.v JOIN inode iv ON iv.ino = dv.ino"
	"  JOIN dentry dm ON dm.parent = p.m AND dm.name = dv.name JOIN inode im ON im.ino = dm.ino"
	"  WHERE " IMGFS_SQL_IS_DIR("iv.mode") " AND " IMGFS_SQL_IS_DIR("im.mode") ")"
	" SELECT num, v, m FROM pair;"
	"CREATE TEMP TABLE lhit(ino INT, layer INT, PRIMARY KEY(ino, layer)) WITHOUT ROWID;"
	"INSERT OR IGNORE INTO lhit SELECT dm.ino, p.num FROM lpair p"
	" JOIN dentry dv ON dv.parent = p.v JOIN dentry dm ON dm.parent = p.m AND dm.name = dv.name"
	" WHERE dv.tsize <> " IMGFS_SQL(IMGFS_TSIZE_IMPLIED) ";"
	/* X'2E77682E' is ".wh.": a whiteout marker names what it deletes */
	"INSERT OR IGNORE INTO lhit SELECT dm.ino, p.num FROM lpair p"
	" JOIN dentry dv ON dv.parent = p.v AND substr(dv.name, 1, 4) = X'2E77682E'"
	" JOIN dentry dm ON dm.parent = p.m AND dm.name = substr(dv.name, 5);"
	"INSERT OR IGNORE INTO lhit SELECT " IMGFS_SQL(IMGFS_ROOT_INO) ", num FROM layer;"
	/* every inode with a merged name answers, if only with "" */
	"UPDATE inode SET layers = '' WHERE ino IN (SELECT ino FROM dentry"
	" WHERE view = " IMGFS_SQL(IMGFS_VIEW_MERGED) ") OR ino = " IMGFS_SQL(IMGFS_ROOT_INO) ";";

/* The text of a layer list: at most IMGFS_LAYERS_MAX (4096) numbers of up
 * to 4 digits and a comma each, so the bound below never cuts one. */
#define LIST_MAX (4096 * 5 + 1)

int imgfs_layerset_build(sqlite3 *db, struct imgfs_err *err)
{
	sqlite3_stmt *hits = NULL, *set = NULL;
	char *list = malloc(LIST_MAX);
	int64_t cur = 0;
	size_t len = 0;
	int rc = 0, step = SQLITE_DONE;

	if (!list)
		return imgfs_errf(err, -ENOMEM, 0, "out of memory");
	if (sqlite3_exec(db, pairs_sql, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "SELECT ino, layer FROM lhit ORDER BY ino, layer", -1, &hits,
			       NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "UPDATE inode SET layers = ?2 WHERE ino = ?1", -1, &set,
			       NULL) != SQLITE_OK) {
		rc = fail(db, err);
		goto out;
	}
	/* one UPDATE per inode, its layers in order (SQLite 3.40's
	 * group_concat has no ORDER BY) */
	for (;;) {
		int64_t ino = 0;
		int layer = 0;

		step = sqlite3_step(hits);
		if (step == SQLITE_ROW) {
			ino = sqlite3_column_int64(hits, 0);
			layer = sqlite3_column_int(hits, 1);
		} else if (step != SQLITE_DONE) {
			rc = fail(db, err);
			break;
		}
		if (cur && (step == SQLITE_DONE || ino != cur)) {
			sqlite3_bind_int64(set, 1, cur);
			sqlite3_bind_text(set, 2, list, (int)len, SQLITE_STATIC);
			if (sqlite3_step(set) != SQLITE_DONE) {
				rc = fail(db, err);
				break;
			}
			sqlite3_reset(set);
			len = 0;
		}
		if (step == SQLITE_DONE)
			break;
		cur = ino;
		if (len + 16 < LIST_MAX)
			len += (size_t)snprintf(list + len, LIST_MAX - len, "%s%d", len ? "," : "", layer);
	}
out:
	sqlite3_finalize(hits);
	sqlite3_finalize(set);
	sqlite3_exec(db, "DROP TABLE IF EXISTS temp.lpair; DROP TABLE IF EXISTS temp.lhit;", NULL,
		     NULL, NULL);
	free(list);
	return rc;
}
