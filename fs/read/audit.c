/* This file contains the image-level audit figures: dive's efficiency,
 * wasted bytes and user-wasted fraction, computed from the layers' own trees
 * in the index exactly as dive defines them, and imgfs's hidden bytes. */
#include "imgfs/imgfs.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "store/schema_i.h"

/* dive visits the leaves of each layer's tree: files, empty directories and
 * whiteouts (named for the path they delete, sized by what they hid when it
 * was a directory).  Per path: CumulativeSize = the sum over layers, and the
 * smallest copy.  efficiency = sum(smallest) / sum(cumulative); wasted =
 * sum(cumulative) of the paths seen more than once. */
static const char dive_sql[] =
	"WITH RECURSIVE t(ino, dir, name, tsize, mode) AS ("
	" SELECT d.ino, '', d.name, d.tsize, i.mode FROM layer l"
	"  JOIN dentry d ON d.parent = l.view_ino JOIN inode i ON i.ino = d.ino"
	" UNION ALL"
	" SELECT d.ino, t.dir || t.name || '/', d.name, d.tsize, i.mode FROM t"
	"  JOIN dentry d ON d.parent = t.ino JOIN inode i ON i.ino = d.ino"
	"  WHERE " IMGFS_SQL_IS_DIR("t.mode") "),"
	" leaf(path, size) AS ("
	" SELECT t.dir || CASE WHEN substr(t.name, 1, 4) = X'2E77682E' AND t.name <> X'2E77682E2E77682E2E6F7071'"
	"  THEN substr(CAST(t.name AS TEXT), 5) ELSE CAST(t.name AS TEXT) END, max(t.tsize, 0) FROM t"
	"  WHERE NOT EXISTS (SELECT 1 FROM dentry c WHERE c.parent = t.ino)),"
	" g(mn, cum, n) AS (SELECT min(size), sum(size), count(*) FROM leaf GROUP BY path)"
	" SELECT coalesce(sum(mn), 0), coalesce(sum(cum), 0),"
	"  coalesce(sum(CASE WHEN n > 1 THEN cum ELSE 0 END), 0) FROM g";

int imgfs_fs_dive_stats(struct imgfs_fs *fs, struct imgfs_dive_stats *s)
{
	const char *path = imgfs_fs_path(fs);
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	int rc = -EIO;

	memset(s, 0, sizeof(*s));
	if (!path)
		return -EIO;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		goto out;
	if (sqlite3_prepare_v2(db, "SELECT coalesce(sum(tar_bytes), 0), "
			       "coalesce(sum(CASE WHEN num > 0 THEN tar_bytes ELSE 0 END), 0), "
			       "(SELECT wasted FROM inode WHERE ino = 1) FROM layer", -1, &q, NULL) != SQLITE_OK ||
	    sqlite3_step(q) != SQLITE_ROW)
		goto out;
	s->size_bytes = (uint64_t)sqlite3_column_int64(q, 0);
	s->user_size_bytes = (uint64_t)sqlite3_column_int64(q, 1);
	s->hidden_bytes = (uint64_t)sqlite3_column_int64(q, 2);
	sqlite3_finalize(q);
	q = NULL;
	if (sqlite3_prepare_v2(db, dive_sql, -1, &q, NULL) != SQLITE_OK || sqlite3_step(q) != SQLITE_ROW)
		goto out;
	{
		double mn = (double)sqlite3_column_int64(q, 0), cum = (double)sqlite3_column_int64(q, 1);

		s->efficiency = cum == 0 ? 1.0 : mn / cum;
		s->wasted_bytes = (uint64_t)sqlite3_column_int64(q, 2);
	}
	/* dive divides by zero here too, giving +Inf or NaN; keep it finite */
	s->user_wasted_percent = s->user_size_bytes ?
		(double)s->wasted_bytes / (double)s->user_size_bytes : 0.0;
	rc = 0;
out:
	sqlite3_finalize(q);
	sqlite3_close(db);
	return rc;
}
