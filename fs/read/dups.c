/* This file contains `imgfs duplicates`: regular files with the same
 * content and different inodes, in the merged tree and among the copies
 * lower layers ship and the merged tree hides.  As fdupes does, only files
 * whose size another file has are read, and those are hashed (sha256,
 * nettle); the sums are kept beside the index (INDEX.sums, an SQLite file
 * tied to the index by its seal), so a second run reads no file. */
#include "imgfs/imgfs.h"

#include <errno.h>
#include <nettle/sha2.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/schema_i.h"

/* Files are read in steps of this size: the content cache's chunk. */
#define DUPS_STEP (1u << 20)

struct cand {
	uint64_t ino, size;
	unsigned char sum[32];
};

static int by_size_sum(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;
	int c;

	if (x->size != y->size)
		return x->size > y->size ? -1 : 1; /* the biggest first */
	c = memcmp(x->sum, y->sum, sizeof(x->sum));
	if (c)
		return c;
	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

_Static_assert(SHA256_DIGEST_SIZE == 32, "struct cand's sum");

/* The sums file: open (or create) PATH.sums for the index whose seal is
 * SEAL; a file of another build is emptied.  NULL when it cannot be
 * written (a read-only cache): the sums are then computed each run. */
static sqlite3 *sums_open(const char *path, int64_t seal)
{
	char p[4096];
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	int64_t have = -1;

	if ((size_t)snprintf(p, sizeof(p), "%s.sums", path) >= sizeof(p))
		return NULL;
	if (sqlite3_open_v2(p, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK)
		goto fail;
	if (sqlite3_exec(db, "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;"
			 "CREATE TABLE IF NOT EXISTS sum(ino INTEGER PRIMARY KEY, size INT, sha256 BLOB);"
			 "CREATE TABLE IF NOT EXISTS seal(v INT)", NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	if (sqlite3_prepare_v2(db, "SELECT v FROM seal", -1, &q, NULL) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW)
		have = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	q = NULL;
	if (have != seal) {
		/* another build's inode numbers: none of its sums holds */
		if (sqlite3_exec(db, "DELETE FROM sum; DELETE FROM seal", NULL, NULL, NULL) != SQLITE_OK ||
		    sqlite3_prepare_v2(db, "INSERT INTO seal VALUES(?1)", -1, &q, NULL) != SQLITE_OK)
			goto fail;
		sqlite3_bind_int64(q, 1, seal);
		if (sqlite3_step(q) != SQLITE_DONE)
			goto fail;
		sqlite3_finalize(q);
	}
	return db;
fail:
	sqlite3_finalize(q);
	sqlite3_close(db);
	return NULL;
}

/* The sha256 of inode INO's SIZE bytes, read through FS. */
static int hash_file(struct imgfs_fs *fs, uint64_t ino, uint64_t size, unsigned char *buf,
		     unsigned char sum[SHA256_DIGEST_SIZE])
{
	struct sha256_ctx h;
	uint64_t off = 0;

	sha256_init(&h);
	while (off < size) {
		ssize_t n = imgfs_fs_read(fs, ino, buf, DUPS_STEP, off);

		if (n < 0)
			return (int)n;
		if (n == 0)
			return -EIO; /* shorter than its size: the index says otherwise */
		sha256_update(&h, (size_t)n, buf);
		off += (uint64_t)n;
	}
	sha256_digest(&h, SHA256_DIGEST_SIZE, sum);
	return 0;
}

/* The paths of INO: its names in the merged tree and in the hidden views,
 * each built by walking the directories up (a directory has one name). */
static const char paths_sql[] =
	"WITH RECURSIVE p(id, view, layer, parent, path) AS ("
	" SELECT d.id, d.view, CASE WHEN d.view = " IMGFS_SQL(IMGFS_VIEW_MERGED) " THEN i.layer ELSE d.layer END,"
	"  d.parent, CAST(d.name AS TEXT) FROM dentry d JOIN inode i ON i.ino = d.ino"
	"  WHERE d.ino = ?1 AND d.view IN (" IMGFS_SQL(IMGFS_VIEW_MERGED) ", " IMGFS_SQL(IMGFS_VIEW_HIDDEN) ")"
	" UNION ALL"
	" SELECT p.id, p.view, p.layer, d.parent, CAST(d.name AS TEXT) || '/' || p.path FROM p"
	"  JOIN dentry d ON d.ino = p.parent)"
	" SELECT '/' || path, view, layer FROM p"
	" WHERE NOT EXISTS (SELECT 1 FROM dentry d WHERE d.ino = p.parent) ORDER BY view, path";

static int report(sqlite3_stmt *paths, const struct cand *c, size_t n, imgfs_dup_fn fn, void *ctx)
{
	struct imgfs_dup_file *f = NULL;
	size_t nf = 0, cap = 0;
	char hex[65];
	int rc = 0, r;

	for (size_t k = 0; k < n; k++) {
		sqlite3_bind_int64(paths, 1, (sqlite3_int64)c[k].ino);
		while ((r = sqlite3_step(paths)) == SQLITE_ROW) {
			if (nf == cap) {
				struct imgfs_dup_file *g = realloc(f, (cap = cap ? 2 * cap : 8) * sizeof(*f));

				if (!g) {
					rc = -ENOMEM;
					break;
				}
				f = g;
			}
			f[nf].ino = c[k].ino;
			f[nf].hidden = sqlite3_column_int(paths, 1) == IMGFS_VIEW_HIDDEN;
			f[nf].layer = sqlite3_column_int(paths, 2);
			f[nf].path = strdup((const char *)sqlite3_column_text(paths, 0));
			if (!f[nf].path) {
				rc = -ENOMEM;
				break;
			}
			nf++;
		}
		if (r != SQLITE_DONE && !rc)
			rc = -EIO;
		sqlite3_reset(paths);
		if (rc)
			break;
	}
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", c[0].sum[i]);
	if (!rc)
		rc = fn(ctx, c[0].size, n, hex, f, nf) ? 1 : 0;
	for (size_t k = 0; k < nf; k++)
		free((char *)f[k].path);
	free(f);
	return rc;
}

/* Files of a size no other file has cannot be a copy: only the others are
 * read.  Hidden copies count (what a later layer deleted or replaced). */
static const char cand_sql[] =
	"WITH c AS (SELECT i.ino, i.size FROM inode i WHERE " IMGFS_SQL_IS_REG("i.mode")
	" AND i.size >= ?1 AND EXISTS (SELECT 1 FROM dentry d WHERE d.ino = i.ino"
	"  AND d.view IN (" IMGFS_SQL(IMGFS_VIEW_MERGED) ", " IMGFS_SQL(IMGFS_VIEW_HIDDEN) ")))"
	" SELECT ino, size FROM c WHERE size IN (SELECT size FROM c GROUP BY size HAVING count(*) > 1)";

int imgfs_fs_duplicates(struct imgfs_fs *fs, uint64_t min_size, imgfs_dup_fn fn, void *ctx,
			struct imgfs_dup_stats *st)
{
	const char *path = imgfs_fs_path(fs);
	sqlite3 *db = NULL, *sums = NULL;
	sqlite3_stmt *q = NULL, *get = NULL, *put = NULL, *paths = NULL;
	struct cand *c = NULL;
	unsigned char *buf = NULL;
	size_t n = 0, cap = 0, i, j;
	int64_t seal = 0;
	int rc = -EIO, r;

	memset(st, 0, sizeof(*st));
	if (!path || sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		goto out;
	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &q, NULL) != SQLITE_OK ||
	    sqlite3_step(q) != SQLITE_ROW)
		goto out;
	seal = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	q = NULL;
	if (sqlite3_prepare_v2(db, cand_sql, -1, &q, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(q, 1, (sqlite3_int64)(min_size ? min_size : 1));
	while ((r = sqlite3_step(q)) == SQLITE_ROW) {
		if (n == cap) {
			struct cand *g = realloc(c, (cap = cap ? 2 * cap : 256) * sizeof(*c));

			if (!g) {
				rc = -ENOMEM;
				goto out;
			}
			c = g;
		}
		c[n].ino = (uint64_t)sqlite3_column_int64(q, 0);
		c[n].size = (uint64_t)sqlite3_column_int64(q, 1);
		n++;
	}
	if (r != SQLITE_DONE)
		goto out;
	sums = sums_open(path, seal);
	if (sums && (sqlite3_prepare_v2(sums, "SELECT sha256 FROM sum WHERE ino = ?1 AND size = ?2", -1,
					&get, NULL) != SQLITE_OK ||
		     sqlite3_prepare_v2(sums, "INSERT OR REPLACE INTO sum VALUES(?1, ?2, ?3)", -1, &put,
					NULL) != SQLITE_OK))
		goto out;
	if (sums)
		sqlite3_exec(sums, "BEGIN", NULL, NULL, NULL);
	buf = malloc(DUPS_STEP);
	if (!buf) {
		rc = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		int have = 0;

		if (get) {
			sqlite3_bind_int64(get, 1, (sqlite3_int64)c[i].ino);
			sqlite3_bind_int64(get, 2, (sqlite3_int64)c[i].size);
			if (sqlite3_step(get) == SQLITE_ROW && sqlite3_column_bytes(get, 0) == 32) {
				memcpy(c[i].sum, sqlite3_column_blob(get, 0), 32);
				have = 1;
			}
			sqlite3_reset(get);
		}
		if (have)
			continue;
		rc = hash_file(fs, c[i].ino, c[i].size, buf, c[i].sum);
		if (rc)
			goto out;
		st->hashed_files++;
		st->hashed_bytes += c[i].size;
		if (put) {
			sqlite3_bind_int64(put, 1, (sqlite3_int64)c[i].ino);
			sqlite3_bind_int64(put, 2, (sqlite3_int64)c[i].size);
			sqlite3_bind_blob(put, 3, c[i].sum, 32, SQLITE_STATIC);
			sqlite3_step(put); /* a sum not kept is computed again next time */
			sqlite3_reset(put);
		}
	}
	if (sums)
		sqlite3_exec(sums, "COMMIT", NULL, NULL, NULL);
	st->candidates = n;
	if (n)
		qsort(c, n, sizeof(*c), by_size_sum);
	if (sqlite3_prepare_v2(db, paths_sql, -1, &paths, NULL) != SQLITE_OK)
		goto out;
	rc = 0;
	for (i = 0; i < n && rc == 0; i = j) {
		for (j = i + 1; j < n && c[j].size == c[i].size && !memcmp(c[j].sum, c[i].sum, 32); j++)
			;
		if (j - i < 2)
			continue;
		st->groups++;
		st->copies += j - i;
		st->saving += c[i].size * (j - i - 1);
		rc = report(paths, c + i, j - i, fn, ctx);
		if (rc == 1) {
			rc = 0; /* the caller stopped */
			break;
		}
	}
out:
	sqlite3_finalize(paths);
	sqlite3_finalize(get);
	sqlite3_finalize(put);
	sqlite3_finalize(q);
	sqlite3_close(sums);
	sqlite3_close(db);
	free(buf);
	free(c);
	return rc;
}
