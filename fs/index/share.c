/* This file contains the sharing of content caches between indexes.  The
 * gzip and the zstd form of one image (or two copies of it) each wrote a
 * 375 MB content cache, byte for byte the same one: the cache holds the
 * merged tree's files from the uncompressed layers, which do not depend
 * on how the blobs were compressed.  After a build, a byte-identical
 * cache of another complete index in the same directory is hard-linked in
 * place of the new one: the chunk offsets of both indexes are valid in
 * either, each index still names its own path, and a prune that removes
 * one name leaves the other's file whole.
 *
 * Only a cache whose own index is complete and names it with its size is
 * a candidate, checked under that index's build lock (shared, without
 * waiting): a cache being written grows, and linking it would let its
 * build append to ours.  The comparison is of the bytes themselves, not
 * of a hash, so a crafted file in the directory can at worst be linked
 * when it is exactly what we would serve anyway. */
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

/* 1 when files A and B hold the same bytes (their sizes are equal). */
static int same_bytes(const char *a, const char *b)
{
	char *x = malloc(CMP_BLOCK), *y = malloc(CMP_BLOCK);
	int fa = open(a, O_RDONLY | O_CLOEXEC), fb = open(b, O_RDONLY | O_CLOEXEC), same = 0;
	ssize_t n, m;

	if (!x || !y || fa < 0 || fb < 0)
		goto out;
	for (;;) {
		n = read(fa, x, CMP_BLOCK);
		m = read(fb, y, CMP_BLOCK);
		if (n < 0 || n != m || memcmp(x, y, (size_t)n))
			break;
		if (n == 0) {
			same = 1;
			break;
		}
	}
out:
	if (fa >= 0)
		close(fa);
	if (fb >= 0)
		close(fb);
	free(x);
	free(y);
	return same;
}

void imgfs_cache_share(const char *index, const char *cache)
{
	char dir[PATH_MAX], home[PATH_MAX], other[PATH_MAX], stem[PATH_MAX], lock[PATH_MAX + 8],
		tmp[PATH_MAX + 16];
	const char *slash = strrchr(cache, '/'), *islash = strrchr(index, '/');
	struct stat me, st;
	struct dirent *e;
	DIR *d;

	if (!slash || !islash || stat(cache, &me) != 0 || me.st_size == 0 ||
	    (size_t)(slash - cache) >= sizeof(dir) || (size_t)(islash - index) >= sizeof(home))
		return;
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - cache), cache);
	snprintf(home, sizeof(home), "%.*s", (int)(islash - index), index);
	d = opendir(dir);
	if (!d)
		return;
	while ((e = readdir(d))) {
		size_t n;
		int lfd, ok;

		if (imgfs_cache_classify(e->d_name, &n) != IMGFS_CK_CACHE ||
		    (size_t)snprintf(other, sizeof(other), "%s/%s", dir, e->d_name) >= sizeof(other) ||
		    (size_t)snprintf(stem, sizeof(stem), "%s/%.*s", home, (int)n, e->d_name) >= sizeof(stem) ||
		    !strcmp(stem, index) || lstat(other, &st) != 0 || !S_ISREG(st.st_mode) ||
		    st.st_size != me.st_size || (st.st_dev == me.st_dev && st.st_ino == me.st_ino))
			continue;
		snprintf(lock, sizeof(lock), "%s.lock", stem);
		lfd = imgfs_lock_take(lock, LOCK_SH | LOCK_NB, 0);
		if (lfd < 0)
			continue; /* being built (or pruned): not a candidate now */
		ok = names(stem, other, st.st_size) && same_bytes(cache, other);
		/* the link is made under a temporary index's name, which the
		 * next build's sweep removes should we die before the rename */
		if (ok && (size_t)snprintf(tmp, sizeof(tmp), "%s/%s.tmp.%d", dir, islash + 1,
					   (int)getpid()) < sizeof(tmp)) {
			unlink(tmp);
			if (link(other, tmp) == 0 && rename(tmp, cache) != 0)
				unlink(tmp);
		}
		close(lfd);
		if (ok)
			break;
	}
	closedir(d);
}
