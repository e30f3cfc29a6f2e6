/* This file contains the ELF figures the index holds (table elf, filled
 * by fs/elf/elf_pass.c at build time) read back for `imgfs elf`: each ELF
 * file with its path and layer, and the totals. */
#include "imgfs/imgfs.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sqlite3.h>

#include "store/schema_i.h"

/* Each selected file's paths, built from its name up through the merged
 * tree's directories (which have one name each); a hardlinked file is
 * shown by the first of its paths. */
static const char list_sql[] =
	"WITH RECURSIVE p(ino, parent, path) AS ("
	" SELECT d.ino, d.parent, '/' || d.name FROM dentry d JOIN elf e ON e.ino = d.ino"
	" WHERE d.view = " IMGFS_SQL(IMGFS_VIEW_MERGED) " AND e.strip_bytes >= ?1"
	" UNION ALL SELECT p.ino, d.parent, '/' || d.name || p.path FROM p JOIN dentry d"
	" ON d.ino = p.parent AND d.view = " IMGFS_SQL(IMGFS_VIEW_MERGED) ")"
	" SELECT p.ino, min(p.path), i.size, e.strip_bytes, e.debug_bytes, e.symtab_bytes, i.layer"
	" FROM p JOIN elf e ON e.ino = p.ino JOIN inode i ON i.ino = p.ino"
	" WHERE p.parent = " IMGFS_SQL(IMGFS_ROOT_INO)
	" GROUP BY p.ino ORDER BY e.strip_bytes DESC, 2";

static int db_fail(sqlite3 *db, struct imgfs_fs *fs, struct imgfs_err *err)
{
	snprintf(err->msg, sizeof(err->msg), "%s: %s", imgfs_fs_path(fs),
		 db ? sqlite3_errmsg(db) : "cannot open");
	err->code = -EIO;
	err->input = 0;
	return -EIO;
}

int imgfs_fs_elf(struct imgfs_fs *fs, int64_t min, struct imgfs_elf_totals *t, imgfs_elf_fn fn,
		 void *ctx, struct imgfs_err *err)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	int r, rc = 0;

	memset(t, 0, sizeof(*t));
	if (sqlite3_open_v2(imgfs_fs_path(fs), &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "SELECT count(*) FROM elf", -1, &q, NULL) != SQLITE_OK ||
	    sqlite3_step(q) != SQLITE_ROW) {
		rc = db_fail(db, fs, err);
		goto out;
	}
	t->elf_files = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	q = NULL;
	if (sqlite3_prepare_v2(db, list_sql, -1, &q, NULL) != SQLITE_OK) {
		rc = db_fail(db, fs, err);
		goto out;
	}
	sqlite3_bind_int64(q, 1, min);
	while ((r = sqlite3_step(q)) == SQLITE_ROW) {
		struct imgfs_elf_info e = {
			.ino = (uint64_t)sqlite3_column_int64(q, 0),
			.path = (const char *)sqlite3_column_text(q, 1),
			.size = sqlite3_column_int64(q, 2),
			.strip_bytes = sqlite3_column_int64(q, 3),
			.debug_bytes = sqlite3_column_int64(q, 4),
			.symtab_bytes = sqlite3_column_int64(q, 5),
			.layer = sqlite3_column_int(q, 6),
		};

		t->files++;
		t->size += e.size;
		t->strip_bytes += e.strip_bytes;
		t->debug_bytes += e.debug_bytes;
		t->symtab_bytes += e.symtab_bytes;
		rc = fn(ctx, &e);
		if (rc)
			goto out;
	}
	if (r != SQLITE_DONE)
		rc = db_fail(db, fs, err);
out:
	sqlite3_finalize(q);
	sqlite3_close(db);
	return rc;
}
