/* This file contains user.imgfs.layers at index time.  Walking each
 * layer's own tree along an inode's paths at getxattr time cost names x
 * layers x depth index probes (32 s for one call on 256 layers and 100
 * names, an unkillable caller, every FUSE worker taken by a few such
 * calls): here each layer's tree is walked once, beside the merged tree,
 * and the answer stored per inode. */
#include "build/layerset_i.h"

#include <errno.h>

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
	"INSERT OR IGNORE INTO lhit SELECT " IMGFS_SQL(IMGFS_ROOT_INO) ", num FROM layer;";

/* One row per inode, in the order of ino: appended, not updated in place
 * (writing the list into inode rows cost a third of a 200,000-entry
 * build).  The subquery's order is the order group_concat sees the
 * layers in (SQLite 3.40's group_concat has no ORDER BY of its own;
 * tests/hostile.sh's layers-many and mount_selfbuilt.sh check the order). */
static const char lists_sql[] =
	"INSERT INTO inode_layers SELECT ino, group_concat(layer, ',') FROM"
	" (SELECT ino, layer FROM lhit ORDER BY ino, layer) GROUP BY ino ORDER BY ino;";

int imgfs_layerset_build(sqlite3 *db, struct imgfs_err *err)
{
	int rc = 0;

	if (sqlite3_exec(db, pairs_sql, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(db, lists_sql, NULL, NULL, NULL) != SQLITE_OK)
		rc = fail(db, err);
	sqlite3_exec(db, "DROP TABLE IF EXISTS temp.lpair; DROP TABLE IF EXISTS temp.lhit;", NULL,
		     NULL, NULL);
	return rc;
}
