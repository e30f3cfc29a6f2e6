/* This file contains the sharing of content caches between indexes.  The
 * gzip and the zstd form of pyapp each wrote a 375 MB content cache with
 * the same frames: the cache holds the merged tree's files from the
 * uncompressed layers, which do not depend on how the blobs were
 * compressed, cut into the same chunks and compressed at the same level.
 * Only their order differs, as the compressing threads claim offsets when
 * they finish.  So before a new index is sealed, another complete index
 * in the directory whose cache has the same size is read: when it has the
 * same chunk rows (inode, chunk, compressed size, offset in the frame)
 * and the compressed bytes of every frame are equal, the new index's
 * chunks are pointed at that cache's offsets and its cache is replaced by
 * a hard link to it.  Each index still names its own path; a prune that
 * removes one name leaves the other's file whole.
 *
 * Only a cache whose own index is complete and names it with its size is
 * a candidate, checked under that index's build lock (shared, without
 * waiting): a cache being written grows, and linking it would let its
 * build append to ours.  Frames are compared byte for byte, not by hash,
 * so a crafted file in the directory is at worst linked when it holds
 * exactly what we would serve anyway. */
#include "index/share_i.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "index/cachedir_i.h"
#include "index/lock_i.h"
#include "read/pin_i.h"
#include "store/schema_i.h"
#include "store/seal_i.h"

#define CMP_BLOCK (1 << 20)

/* 1 when the sealed index INDEX names CACHE as its content cache of SIZE
 * bytes. */
static int names(const char *index, const char *cache, off_t size)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	int fd = open(index, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOATIME), yes = 0;

	if (fd < 0 && errno == EPERM)
		fd = open(index, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 || imgfs_seal_check(fd) != 0 || imgfs_pin_open(fd, &db) != 0)
		goto out;
	if (sqlite3_prepare_v2(db, "SELECT (SELECT value FROM meta WHERE key='" IMGFS_META_CACHE "'),"
			       " (SELECT value FROM meta WHERE key='" IMGFS_META_CACHE_BYTES "')", -1, &q,
			       NULL) != SQLITE_OK || sqlite3_step(q) != SQLITE_ROW)
		goto out;
	yes = sqlite3_column_text(q, 0) && !strcmp((const char *)sqlite3_column_text(q, 0), cache) &&
	      sqlite3_column_type(q, 1) != SQLITE_NULL && sqlite3_column_int64(q, 1) == size;
out:
	sqlite3_finalize(q);
	sqlite3_close(db);
	if (fd >= 0)
		close(fd);
	return yes;
}

/* One chunk row of an index, and its new offset. */
struct row {
	sqlite3_int64 ino, idx, off, csize, foff, newoff;
};

static int load(sqlite3 *db, struct row **out, size_t *n)
{
	sqlite3_stmt *q = NULL;
	struct row *v = NULL;
	size_t cap = 0;

	*n = 0;
	if (sqlite3_prepare_v2(db, "SELECT ino, idx, off, csize, foff FROM chunk ORDER BY ino, idx", -1, &q,
			       NULL) != SQLITE_OK)
		return -EIO;
	while (sqlite3_step(q) == SQLITE_ROW) {
		if (*n == cap) {
			struct row *w = realloc(v, (cap = cap ? 2 * cap : 1024) * sizeof(*v));

			if (!w) {
				free(v);
				sqlite3_finalize(q);
				return -ENOMEM;
			}
			v = w;
		}
		v[*n].ino = sqlite3_column_int64(q, 0);
		v[*n].idx = sqlite3_column_int64(q, 1);
		v[*n].off = sqlite3_column_int64(q, 2);
		v[*n].csize = sqlite3_column_int64(q, 3);
		v[*n].foff = sqlite3_column_int64(q, 4);
		(*n)++;
	}
	sqlite3_finalize(q);
	*out = v;
	return 0;
}

/* 1 when the CSIZE bytes at OFF of FA are those at OFF2 of FB (a frame
 * of incompressible data is a little over a chunk: compared in pieces). */
static int same_frame(int fa, int fb, off_t off, off_t off2, size_t csize, char *x, char *y)
{
	while (csize) {
		size_t n = csize < CMP_BLOCK ? csize : CMP_BLOCK;

		if (pread(fa, x, n, off) != (ssize_t)n || pread(fb, y, n, off2) != (ssize_t)n ||
		    memcmp(x, y, n))
			return 0;
		off += (off_t)n;
		off2 += (off_t)n;
		csize -= n;
	}
	return 1;
}

/* Fills MINE[i].newoff with the offset of the same frame in OTHER's cache
 * (whose index is STEM): 1 when every chunk has one. */
static int map(struct row *mine, size_t n, const char *stem, const char *cache, const char *other)
{
	sqlite3 *db = NULL;
	struct row *theirs = NULL;
	size_t m = 0, i;
	char *x = malloc(CMP_BLOCK), *y = malloc(CMP_BLOCK);
	int fd = open(stem, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOATIME), ok = 0;
	int fa = open(cache, O_RDONLY | O_CLOEXEC), fb = open(other, O_RDONLY | O_CLOEXEC);
	sqlite3_int64 last = -1, last2 = -1;

	if (fd < 0 && errno == EPERM)
		fd = open(stem, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (!x || !y || fd < 0 || fa < 0 || fb < 0 || imgfs_seal_check(fd) != 0 ||
	    imgfs_pin_open(fd, &db) != 0 || load(db, &theirs, &m) != 0 || m != n)
		goto out;
	for (i = 0; i < n; i++) {
		struct row *a = &mine[i], *b = &theirs[i];

		if (a->ino != b->ino || a->idx != b->idx || a->csize != b->csize || a->foff != b->foff)
			goto out;
		/* chunks of one frame follow each other: compare it once */
		if (!(a->off == last && b->off == last2) &&
		    !same_frame(fa, fb, a->off, b->off, (size_t)a->csize, x, y))
			goto out;
		last = a->off;
		last2 = b->off;
		a->newoff = b->off;
	}
	ok = 1;
out:
	free(theirs);
	sqlite3_close(db);
	if (fd >= 0)
		close(fd);
	if (fa >= 0)
		close(fa);
	if (fb >= 0)
		close(fb);
	free(x);
	free(y);
	return ok;
}

/* Points DB's chunks at their new offsets: 0 or -EIO (rolled back). */
static int repoint(sqlite3 *db, const struct row *v, size_t n)
{
	sqlite3_stmt *q = NULL;
	size_t i;
	int rc = 0;

	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return -EIO;
	if (sqlite3_prepare_v2(db, "UPDATE chunk SET off = ?3 WHERE ino = ?1 AND idx = ?2", -1, &q, NULL) !=
	    SQLITE_OK)
		rc = -EIO;
	for (i = 0; rc == 0 && i < n; i++) {
		sqlite3_bind_int64(q, 1, v[i].ino);
		sqlite3_bind_int64(q, 2, v[i].idx);
		sqlite3_bind_int64(q, 3, v[i].newoff);
		if (sqlite3_step(q) != SQLITE_DONE)
			rc = -EIO;
		sqlite3_reset(q);
	}
	sqlite3_finalize(q);
	if (rc == 0 && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		rc = -EIO;
	if (rc)
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

int imgfs_cache_share(sqlite3 *db, const char *index, const char *cache)
{
	char dir[PATH_MAX], home[PATH_MAX], other[PATH_MAX], stem[PATH_MAX], lock[PATH_MAX + 8],
		tmp[PATH_MAX + 16];
	const char *slash = strrchr(cache, '/'), *islash = strrchr(index, '/');
	struct row *mine = NULL;
	size_t n = 0;
	struct stat me, st;
	struct dirent *e;
	DIR *d;
	int rc = 0;

	if (!slash || !islash || stat(cache, &me) != 0 || me.st_size == 0 ||
	    (size_t)(slash - cache) >= sizeof(dir) || (size_t)(islash - index) >= sizeof(home) ||
	    load(db, &mine, &n) != 0 || n == 0) {
		free(mine);
		return 0;
	}
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - cache), cache);
	snprintf(home, sizeof(home), "%.*s", (int)(islash - index), index);
	d = opendir(dir);
	if (!d) {
		free(mine);
		return 0;
	}
	while (rc == 0 && (e = readdir(d))) {
		size_t k;
		int lfd;

		if (imgfs_cache_classify(e->d_name, &k) != IMGFS_CK_CACHE ||
		    (size_t)snprintf(other, sizeof(other), "%s/%s", dir, e->d_name) >= sizeof(other) ||
		    (size_t)snprintf(stem, sizeof(stem), "%s/%.*s", home, (int)k, e->d_name) >= sizeof(stem) ||
		    !strcmp(stem, index) || lstat(other, &st) != 0 || !S_ISREG(st.st_mode) ||
		    st.st_size != me.st_size || (st.st_dev == me.st_dev && st.st_ino == me.st_ino))
			continue;
		snprintf(lock, sizeof(lock), "%s.lock", stem);
		lfd = imgfs_lock_take(lock, LOCK_SH | LOCK_NB, 0);
		if (lfd < 0)
			continue; /* being built (or pruned): not a candidate now */
		/* the link is made under a temporary index's name, which the
		 * next build's sweep removes should we die before the rename */
		if (names(stem, other, st.st_size) && map(mine, n, stem, cache, other) &&
		    (size_t)snprintf(tmp, sizeof(tmp), "%s/%s.tmp.%d-link", dir, islash + 1, (int)getpid()) <
			    sizeof(tmp)) {
			unlink(tmp);
			if (link(other, tmp) == 0) {
				if (repoint(db, mine, n) != 0)
					unlink(tmp);
				else if (rename(tmp, cache) != 0)
					rc = -errno; /* DB points into OTHER's layout: fail */
				else
					rc = 1;
				if (rc < 0)
					unlink(tmp);
			}
		}
		close(lfd);
	}
	closedir(d);
	free(mine);
	return rc;
}
