/* This file contains the read side of the core: answering lookups,
 * attributes, directory listings, symlinks, reads and xattrs from an index
 * that never changes, with one SQLite connection per thread and pread on
 * the image, so no lock is taken on the data path. */
#include "imgfs/imgfs.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sqlite3.h>
#include <zstd.h>

#include "read/fs_i.h"
#include "read/pin_i.h"
#include "store/frame_i.h"
#include "store/schema_i.h"
#include "store/seal_i.h"
#include "util/err_i.h"

/* Limits on what an index can make the read side hold.  Source files: one
 * per image file or layout blob (an image has at most IMGFS_LAYERS_MAX
 * layers; this leaves room for far more); each is an open descriptor. */
#define IMGFS_SOURCES_MAX (1 << 20)
/* A name the kernel could be handed: NAME_MAX, 255 bytes on Linux.  The
 * build leaves longer names out (build/layer.c), so one here comes from a
 * damaged index and is left out of readdir too. */
#define IMGFS_NAME_MAX 255
/* A virtual xattr's value: the kernel's XATTR_SIZE_MAX, the longest value
 * a getxattr can return.  user.imgfs.layers of a path in all of 4096
 * layers is 19,370 bytes; user.imgfs.package of a file claimed by many
 * packages can be long too.  Longer values answer -ERANGE. */
#define IMGFS_XATTR_VIRT_MAX 65536

#define ATTR_COLS "i.ino, i.mode, i.uid, i.gid, i.nlink, i.size, i.rdev, i.mtime, i.mtime_ns"

enum {
	Q_GETATTR, Q_LOOKUP, Q_READDIR, Q_PARENT, Q_TARGET, Q_DATA, Q_CHUNK, Q_XGET, Q_XLIST,
	Q_VIRT, Q_LAYERS, Q_CREATED, Q_PKG, Q_STRIP, Q_COUNT
};

static const char *const sql[Q_COUNT] = {
	[Q_GETATTR] = "SELECT " ATTR_COLS " FROM inode i WHERE i.ino=?1",
	[Q_LOOKUP] = "SELECT " ATTR_COLS " FROM dentry d JOIN inode i ON i.ino=d.ino "
		     "WHERE d.parent=?1 AND d.name=?2",
	[Q_READDIR] = "SELECT " ATTR_COLS ", d.id, d.name FROM dentry d JOIN inode i ON i.ino=d.ino "
		      "WHERE d.parent=?1 AND d.id>?2 ORDER BY d.id",
	[Q_PARENT] = "SELECT parent FROM dentry WHERE ino=?1 LIMIT 1",
	[Q_TARGET] = "SELECT target FROM inode WHERE ino=?1",
	[Q_DATA] = "SELECT size, src, off, mode FROM inode WHERE ino=?1",
	[Q_CHUNK] = "SELECT off, csize, foff FROM chunk WHERE ino=?1 AND idx=?2",
	[Q_XGET] = "SELECT value FROM xattr WHERE ino=?1 AND name=?2",
	[Q_XLIST] = "SELECT name FROM xattr WHERE ino=?1 ORDER BY name",
	[Q_VIRT] = "SELECT mode, size, layer, sub_bytes, sub_files, wasted FROM inode WHERE ino=?1",
	/* no row: an inode no layer has an entry for (a directory only
	 * implied, "") or one only the /.imgfs views name (none) */
	[Q_LAYERS] = "SELECT (SELECT layers FROM inode_layers WHERE ino=?1), ?1=" IMGFS_SQL(IMGFS_ROOT_INO)
		     " OR EXISTS (SELECT 1 FROM dentry WHERE ino=?1 AND view=" IMGFS_SQL(IMGFS_VIEW_MERGED) ")",
	[Q_CREATED] = "SELECT l.created_by FROM inode i JOIN layer l ON l.num=i.layer WHERE i.ino=?1",
	/* a file's claims, most specific first; a directory's main owner */
	[Q_PKG] = "SELECT group_concat(v, ',') FROM (SELECT p.manager || ':' || p.name || "
		  "CASE WHEN p.version IS NULL THEN '' ELSE '=' || p.version END AS v "
		  "FROM pkgfile f JOIN pkg p ON p.id = f.pkg WHERE f.ino = ?1 ORDER BY f.rank) "
		  "UNION ALL SELECT p.manager || ':' || p.name || "
		  "CASE WHEN p.version IS NULL THEN '' ELSE '=' || p.version END "
		  "FROM pkgdir d JOIN pkg p ON p.id = d.pkg WHERE d.ino = ?1",
	/* an ELF file strip would shrink (fs/elf at index time) */
	[Q_STRIP] = "SELECT strip_bytes FROM elf WHERE ino=?1 AND strip_bytes > 0",
};

/* Per-thread state: connections are not shared between threads, so the
 * data path takes no lock. */
struct conn {
	sqlite3 *db;
	sqlite3_stmt *q[Q_COUNT];
	ZSTD_DCtx *dctx;
	unsigned char *scratch, *frame;  /* compressed and decoded frame */
	int64_t frame_off;               /* cache offset of the frame FRAME holds, or -1 */
	size_t frame_len;
	struct conn *next;               /* protected by fs->lock */
	int in_use;                      /* protected by fs->lock */
	struct imgfs_fs *fs;
};

struct imgfs_fs {
	char *path;
	int index_fd;                    /* the index pinned at open: every connection reads it */
	pthread_key_t key;
	int *src_fd;                     /* by source id; immutable after open */
	size_t n_src;
	int cache_fd;
	pthread_mutex_t lock;            /* protects conns only */
	struct conn *conns;
};

static void conn_free(struct conn *c)
{
	int i;

	if (!c)
		return;
	for (i = 0; i < Q_COUNT; i++)
		sqlite3_finalize(c->q[i]);
	sqlite3_close(c->db);
	ZSTD_freeDCtx(c->dctx);
	free(c->scratch);
	free(c->frame);
	free(c);
}

/* Why the last conn_get of this thread failed: -ENOMEM or -EIO (an index
 * SQLite cannot read), so a reader sees an I/O error as one. */
static __thread int conn_errno;

static struct conn *conn_open(int index_fd)
{
	struct conn *c = calloc(1, sizeof(*c));
	int i, rc;

	conn_errno = -ENOMEM;
	if (!c)
		return NULL;
	c->frame_off = -1;
	/* On the pinned descriptor, never the path: the index renamed there
	 * since the mount may be another build's. */
	rc = imgfs_pin_open(index_fd, &c->db);
	if (rc) {
		conn_errno = rc;
		goto fail;
	}
	/* No mmap: each connection would map the index anew, and RSS counts
	 * every mapping (big: 187 MB resident for four threads).  A small page
	 * cache per thread over pread of the (OS-cached) file is as fast. */
	sqlite3_exec(c->db, "PRAGMA mmap_size=0; PRAGMA cache_size=-2048;", NULL, NULL, NULL);
	for (i = 0; i < Q_COUNT; i++) {
		rc = sqlite3_prepare_v3(c->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &c->q[i], NULL);
		if (rc != SQLITE_OK) {
			conn_errno = rc == SQLITE_NOMEM ? -ENOMEM : -EIO;
			goto fail;
		}
	}
	return c;
fail:
	conn_free(c);
	return NULL;
}

/* A thread that exits hands its connection back for the next thread:
 * FUSE starts and retires worker threads as load changes. */
static void conn_release(void *p)
{
	struct conn *c = p;

	pthread_mutex_lock(&c->fs->lock);
	c->in_use = 0;
	pthread_mutex_unlock(&c->fs->lock);
}

/* This thread's connection: a released one, or a new one on first use. */
static struct conn *conn_get(struct imgfs_fs *fs)
{
	struct conn *c = pthread_getspecific(fs->key);

	if (c)
		return c;
	pthread_mutex_lock(&fs->lock);
	for (c = fs->conns; c && c->in_use; c = c->next)
		;
	if (c)
		c->in_use = 1;
	pthread_mutex_unlock(&fs->lock);
	if (!c) {
		c = conn_open(fs->index_fd);
		if (!c)
			return NULL;
		c->fs = fs;
		c->in_use = 1;
		pthread_mutex_lock(&fs->lock);
		c->next = fs->conns;
		fs->conns = c;
		pthread_mutex_unlock(&fs->lock);
	}
	pthread_setspecific(fs->key, c);
	return c;
}

/* Opens the index at PATH; SEALED: check its seal first (everything but
 * package attribution, which reads an index not yet sealed). */
static int fs_open(struct imgfs_fs **out, const char *path, int sealed, struct imgfs_err *err)
{
	struct imgfs_fs *fs = calloc(1, sizeof(*fs));
	struct conn *c = NULL;
	sqlite3_stmt *q = NULL;
	struct stat st;
	int rc = 0, step_rc;

	if (!fs)
		return imgfs_errf(err, -ENOMEM, 0, "%s: out of memory", path);
	fs->cache_fd = -1;
	fs->index_fd = -1;
	pthread_mutex_init(&fs->lock, NULL);
	if (pthread_key_create(&fs->key, conn_release) != 0) {
		free(fs);
		return imgfs_errf(err, -ENOMEM, 0, "%s: no thread-specific key left", path);
	}
	fs->path = strdup(path);
	if (!fs->path) {
		rc = imgfs_errf(err, -ENOMEM, 0, "%s: out of memory", path);
		goto fail;
	}
	/* The index is pinned here: a rebuild or rm of the path later changes
	 * nothing this handle serves.  O_NONBLOCK: a FIFO must not block. */
	fs->index_fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fs->index_fd < 0) {
		rc = imgfs_errf(err, -errno, 0, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (fstat(fs->index_fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		rc = imgfs_errf(err, -EIO, 1, "%s: not an imgfs index (not a regular file)", path);
		goto fail;
	}
	if (sealed) {
		rc = imgfs_seal_check(fs->index_fd);
		if (rc == -EBADMSG || rc == -ENODATA) {
			rc = imgfs_errf(err, -EIO, 1, "%s: not an imgfs index or damaged (its checksum does "
					"not match): rebuild it with imgfs index --rebuild", path);
			goto fail;
		}
		if (rc) {
			rc = imgfs_errf(err, rc, 0, "%s: %s", path, strerror(-rc));
			goto fail;
		}
	}
	/* The validation connection is closed before returning: the daemon
	 * forks after this, and SQLite handles must not cross a fork. */
	c = conn_open(fs->index_fd);
	if (!c) {
		rc = conn_errno == -ENOMEM ? imgfs_errf(err, -ENOMEM, 0, "%s: out of memory", path)
					   : imgfs_errf(err, -EIO, 1, "%s: not an imgfs index or corrupt", path);
		goto fail;
	}
	if (sqlite3_prepare_v2(c->db, "SELECT value FROM meta WHERE key='" IMGFS_META_SCHEMA "'", -1, &q, NULL) != SQLITE_OK ||
	    sqlite3_step(q) != SQLITE_ROW || sqlite3_column_int(q, 0) != IMGFS_SCHEMA_VERSION) {
		rc = imgfs_errf(err, -EIO, 1, "%s: index of another schema version or incomplete", path);
		goto fail;
	}
	sqlite3_finalize(q);
	q = NULL;
	if (sqlite3_prepare_v2(c->db, "SELECT id, path FROM source ORDER BY id", -1, &q, NULL) != SQLITE_OK) {
		rc = imgfs_errf(err, -EIO, 1, "%s: %s", path, sqlite3_errmsg(c->db));
		goto fail;
	}
	while ((step_rc = sqlite3_step(q)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(q, 0);
		const char *p = (const char *)sqlite3_column_text(q, 1);
		int *fds;

		if (id < 1 || id > IMGFS_SOURCES_MAX || !p) {
			rc = imgfs_errf(err, -EIO, 1, "%s: corrupt source table", path);
			goto fail;
		}
		if ((size_t)id >= fs->n_src) {
			size_t n = (size_t)id + 1, i;

			fds = realloc(fs->src_fd, n * sizeof(*fds));
			if (!fds) {
				rc = imgfs_errf(err, -ENOMEM, 0, "%s: out of memory", path);
				goto fail;
			}
			for (i = fs->n_src; i < n; i++)
				fds[i] = -1;
			fs->src_fd = fds;
			fs->n_src = n;
		}
		/* The image on the host is opened once, never through a
		 * symlink swapped in after indexing. */
		fs->src_fd[id] = open(p, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fs->src_fd[id] < 0) {
			rc = imgfs_errf(err, -errno, 0, "%s: %s", p, strerror(errno));
			goto fail;
		}
	}
	if (step_rc != SQLITE_DONE) {
		rc = imgfs_errf(err, -EIO, 1, "%s: not an imgfs index or corrupt: %s", path,
				sqlite3_errmsg(c->db));
		goto fail;
	}
	sqlite3_finalize(q);
	q = NULL;
	if (sqlite3_prepare_v2(c->db, "SELECT (SELECT value FROM meta WHERE key='" IMGFS_META_CACHE "'),"
			       " (SELECT value FROM meta WHERE key='" IMGFS_META_CACHE_BYTES "')", -1, &q,
			       NULL) != SQLITE_OK || sqlite3_step(q) != SQLITE_ROW) {
		rc = imgfs_errf(err, -EIO, 1, "%s: not an imgfs index or corrupt: %s", path,
				sqlite3_errmsg(c->db));
		goto fail;
	}
	if (sqlite3_column_text(q, 0)) {
		const char *p = (const char *)sqlite3_column_text(q, 0);

		fs->cache_fd = open(p, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fs->cache_fd < 0) {
			rc = imgfs_errf(err, -errno, 0, "%s: %s", p, strerror(errno));
			goto fail;
		}
		/* A cut cache would answer EIO on every read of its tail. */
		if (sqlite3_column_type(q, 1) != SQLITE_NULL &&
		    (fstat(fs->cache_fd, &st) != 0 || st.st_size != sqlite3_column_int64(q, 1))) {
			rc = imgfs_errf(err, -EIO, 1, "%s: content cache of %lld bytes where the index "
					"wrote %lld: rebuild it with imgfs index --rebuild", p,
					(long long)st.st_size, (long long)sqlite3_column_int64(q, 1));
			goto fail;
		}
	}
	sqlite3_finalize(q);
	conn_free(c);
	*out = fs;
	return 0;
fail:
	sqlite3_finalize(q);
	conn_free(c);
	imgfs_fs_close(fs);
	return rc;
}

int imgfs_fs_open(struct imgfs_fs **out, const char *path, struct imgfs_err *err)
{
	return fs_open(out, path, 1, err);
}

int imgfs_fs_open_unsealed(struct imgfs_fs **out, const char *path, struct imgfs_err *err)
{
	return fs_open(out, path, 0, err);
}

void imgfs_fs_close(struct imgfs_fs *fs)
{
	struct conn *c, *n;
	size_t i;

	if (!fs)
		return;
	/* No thread starts using FS after this; FUSE's workers that retired
	 * earlier handed their connections back under the lock, which taking
	 * it here orders before the frees. */
	pthread_key_delete(fs->key);
	pthread_mutex_lock(&fs->lock);
	c = fs->conns;
	fs->conns = NULL;
	pthread_mutex_unlock(&fs->lock);
	for (; c; c = n) {
		n = c->next;
		conn_free(c);
	}
	for (i = 0; i < fs->n_src; i++)
		if (fs->src_fd[i] >= 0)
			close(fs->src_fd[i]);
	if (fs->cache_fd >= 0)
		close(fs->cache_fd);
	if (fs->index_fd >= 0)
		close(fs->index_fd);
	pthread_mutex_destroy(&fs->lock);
	free(fs->src_fd);
	free(fs->path);
	free(fs);
}

static void row_attr(sqlite3_stmt *q, struct imgfs_attr *a)
{
	a->ino = (uint64_t)sqlite3_column_int64(q, 0);
	a->mode = (uint32_t)sqlite3_column_int64(q, 1);
	a->uid = (uint32_t)sqlite3_column_int64(q, 2);
	a->gid = (uint32_t)sqlite3_column_int64(q, 3);
	a->nlink = (uint32_t)sqlite3_column_int64(q, 4);
	a->size = (uint64_t)sqlite3_column_int64(q, 5);
	a->rdev = (uint64_t)sqlite3_column_int64(q, 6);
	a->mtime = sqlite3_column_int64(q, 7);
	a->mtime_ns = (uint32_t)sqlite3_column_int64(q, 8);
}

/* Steps Q once: 1 for a row, 0 for none, -EIO on error.  Q is left for the
 * caller to read and reset. */
static int step(sqlite3_stmt *q)
{
	int r = sqlite3_step(q);

	return r == SQLITE_ROW ? 1 : r == SQLITE_DONE ? 0 : -EIO;
}

int imgfs_fs_getattr(struct imgfs_fs *fs, uint64_t ino, struct imgfs_attr *a)
{
	struct conn *c = conn_get(fs);
	sqlite3_stmt *q;
	int r;

	if (!c)
		return conn_errno;
	q = c->q[Q_GETATTR];
	sqlite3_bind_int64(q, 1, (sqlite3_int64)ino);
	r = step(q);
	if (r == 1)
		row_attr(q, a);
	sqlite3_reset(q);
	return r == 1 ? 0 : r == 0 ? -ENOENT : r;
}

int imgfs_fs_lookup(struct imgfs_fs *fs, uint64_t parent, const char *name, struct imgfs_attr *a)
{
	struct conn *c = conn_get(fs);
	sqlite3_stmt *q;
	int r;

	if (!c)
		return conn_errno;
	q = c->q[Q_LOOKUP];
	sqlite3_bind_int64(q, 1, (sqlite3_int64)parent);
	sqlite3_bind_blob(q, 2, name, (int)strlen(name), SQLITE_STATIC);
	r = step(q);
	if (r == 1)
		row_attr(q, a);
	sqlite3_reset(q);
	if (r == 0 && parent == IMGFS_ROOT_INO && strcmp(name, IMGFS_VIEW_NAME) == 0) {
		/* The hidden view has no parent row, so readdir of / never
		 * lists it; only a path reaches it (like ZFS's .zfs). */
		sqlite3_bind_int64(q, 1, IMGFS_PARENT_VIEWS);
		sqlite3_bind_blob(q, 2, name, (int)strlen(name), SQLITE_STATIC);
		r = step(q);
		if (r == 1)
			row_attr(q, a);
		sqlite3_reset(q);
	}
	if (r == 0) {
		struct imgfs_attr p;

		/* a miss costs one more probe to tell the two errors apart */
		if (imgfs_fs_getattr(fs, parent, &p) == 0 && !S_ISDIR(p.mode))
			return -ENOTDIR;
	}
	return r == 1 ? 0 : r == 0 ? -ENOENT : r;
}

/* Offsets: 0 start, 1 after ".", 2 after "..", then dentry id + 2. */
int imgfs_fs_readdir(struct imgfs_fs *fs, uint64_t ino, uint64_t off, imgfs_dirent_fn fn, void *ctx)
{
	struct conn *c = conn_get(fs);
	struct imgfs_attr a;
	sqlite3_stmt *q;
	int r;

	if (!c)
		return conn_errno;
	r = imgfs_fs_getattr(fs, ino, &a);
	if (r)
		return r;
	if (!S_ISDIR(a.mode))
		return -ENOTDIR;
	if (off < 1 && fn(ctx, ".", &a, 1))
		return 0;
	if (off < 2) {
		struct imgfs_attr p = a;

		if (ino != IMGFS_ROOT_INO) {
			q = c->q[Q_PARENT];
			sqlite3_bind_int64(q, 1, (sqlite3_int64)ino);
			if (step(q) == 1 && sqlite3_column_int64(q, 0) > 0)
				p.ino = (uint64_t)sqlite3_column_int64(q, 0);
			else
				p.ino = IMGFS_ROOT_INO; /* /.imgfs */
			sqlite3_reset(q);
		}
		if (fn(ctx, "..", &p, 2))
			return 0;
	}
	q = c->q[Q_READDIR];
	sqlite3_bind_int64(q, 1, (sqlite3_int64)ino);
	sqlite3_bind_int64(q, 2, off > 2 ? (sqlite3_int64)(off - 2) : 0);
	while ((r = step(q)) == 1) {
		char name[IMGFS_NAME_MAX + 1];
		int len = sqlite3_column_bytes(q, 10);
		const void *blob = sqlite3_column_blob(q, 10);

		if (len <= 0 || (size_t)len >= sizeof(name))
			continue; /* cannot be a name the kernel accepts */
		memcpy(name, blob, (size_t)len);
		name[len] = '\0';
		row_attr(q, &a);
		if (fn(ctx, name, &a, (uint64_t)sqlite3_column_int64(q, 9) + 2))
			break;
	}
	sqlite3_reset(q);
	return r < 0 ? r : 0;
}

ssize_t imgfs_fs_readlink(struct imgfs_fs *fs, uint64_t ino, char *buf, size_t len)
{
	struct conn *c = conn_get(fs);
	sqlite3_stmt *q;
	ssize_t n = -EINVAL;
	int r;

	if (!c)
		return conn_errno;
	q = c->q[Q_TARGET];
	sqlite3_bind_int64(q, 1, (sqlite3_int64)ino);
	r = step(q);
	if (r == 1 && sqlite3_column_type(q, 0) != SQLITE_NULL) {
		size_t l = (size_t)sqlite3_column_bytes(q, 0);

		if (l > len)
			l = len;
		memcpy(buf, sqlite3_column_blob(q, 0), l);
		n = (ssize_t)l;
	} else if (r < 0) {
		n = r;
	} else if (r == 0) {
		n = -ENOENT;
	}
	sqlite3_reset(q);
	return n;
}

/* Decodes the frame holding chunk IDX of INO into the thread's frame
 * buffer, unless it is already there (sequential reads of 128 KiB share one
 * 1 MiB frame; small files share frames with their neighbours), and stores
 * where the chunk starts in it in *FOFF.  Returns 1 for a chunk without a
 * row: a hole of a sparse file, all zeros (the build writes a row for every
 * chunk a file's data touches). */
static int load_frame(struct imgfs_fs *fs, struct conn *c, uint64_t ino, int64_t idx,
		      size_t *foff)
{
	sqlite3_stmt *q = c->q[Q_CHUNK];
	uint64_t off;
	int64_t csize;
	ssize_t n;
	int r;

	if (!c->dctx) {
		c->dctx = ZSTD_createDCtx();
		c->scratch = malloc(ZSTD_compressBound(IMGFS_CHUNK));
		c->frame = malloc(IMGFS_CHUNK);
		if (!c->dctx || !c->scratch || !c->frame)
			return -ENOMEM;
	}
	sqlite3_bind_int64(q, 1, (sqlite3_int64)ino);
	sqlite3_bind_int64(q, 2, idx);
	r = step(q);
	if (r != 1) {
		sqlite3_reset(q);
		return r == 0 ? 1 : -EIO;
	}
	off = (uint64_t)sqlite3_column_int64(q, 0);
	csize = sqlite3_column_int64(q, 1);
	*foff = (size_t)sqlite3_column_int64(q, 2);
	sqlite3_reset(q);
	if (fs->cache_fd < 0)
		return -EIO;
	if (c->frame_off == (int64_t)off)
		return 0;
	if (csize <= 0 || (size_t)csize > ZSTD_compressBound(IMGFS_CHUNK) || *foff >= IMGFS_CHUNK)
		return -EIO;
	c->frame_off = -1;
	n = imgfs_cache_frame(fs->cache_fd, off, (uint32_t)csize, c->scratch, c->frame, c->dctx);
	if (n < 0)
		return (int)n;
	c->frame_off = (int64_t)off;
	c->frame_len = (size_t)n;
	return 0;
}

ssize_t imgfs_fs_read(struct imgfs_fs *fs, uint64_t ino, void *buf, size_t size, uint64_t off)
{
	struct conn *c = conn_get(fs);
	sqlite3_stmt *q;
	uint64_t fsize, doff = 0;
	int64_t src = 0;
	size_t done = 0;
	int r;

	if (!c)
		return conn_errno;
	q = c->q[Q_DATA];
	sqlite3_bind_int64(q, 1, (sqlite3_int64)ino);
	r = step(q);
	if (r != 1) {
		sqlite3_reset(q);
		return r == 0 ? -ENOENT : r;
	}
	fsize = (uint64_t)sqlite3_column_int64(q, 0);
	if (sqlite3_column_type(q, 1) != SQLITE_NULL) {
		src = sqlite3_column_int64(q, 1);
		doff = (uint64_t)sqlite3_column_int64(q, 2);
	}
	if (!S_ISREG((mode_t)sqlite3_column_int64(q, 3))) {
		sqlite3_reset(q);
		return -EISDIR;
	}
	sqlite3_reset(q);
	if (off >= fsize)
		return 0;
	if (size > fsize - off)
		size = (size_t)(fsize - off);
	if (src > 0) {
		/* Straight from the image file: no copy, no cache. */
		if ((size_t)src >= fs->n_src || fs->src_fd[src] < 0)
			return -EIO;
		while (done < size) {
			ssize_t n = pread(fs->src_fd[src], (char *)buf + done, size - done,
					  (off_t)(doff + off + done));

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return -EIO; /* the image shrank under us */
			done += (size_t)n;
		}
		return (ssize_t)done;
	}
	while (done < size) {
		uint64_t pos = off + done;
		int64_t idx = (int64_t)(pos / IMGFS_CHUNK);
		size_t in = (size_t)(pos % IMGFS_CHUNK), take;

		size_t foff, end;

		r = load_frame(fs, c, ino, idx, &foff);
		if (r < 0)
			return r;
		if (r == 1) {
			/* a hole: zeros to the chunk's end */
			take = IMGFS_CHUNK - in;
			if (take > size - done)
				take = size - done;
			memset((char *)buf + done, 0, take);
			done += take;
			continue;
		}
		/* the chunk ends at the frame's end or IMGFS_CHUNK in, or EOF */
		end = foff + IMGFS_CHUNK < c->frame_len ? foff + IMGFS_CHUNK : c->frame_len;
		if (foff + in >= end)
			return -EIO;
		take = end - (foff + in);
		if (take > size - done)
			take = size - done;
		memcpy((char *)buf + done, c->frame + foff + in, take);
		done += take;
	}
	return (ssize_t)done;
}

/* The virtual attributes, all computed at index time: a getxattr is one
 * index probe whatever the image. */
enum { V_SIZE, V_LAYER, V_WASTED, V_LAYERS, V_CREATED, V_PACKAGE, V_FILES, V_STRIP, V_COUNT };
static const char *const virt_names[V_COUNT] = {
	[V_SIZE] = "user.imgfs.size", [V_LAYER] = "user.imgfs.layer",
	[V_WASTED] = "user.imgfs.wasted", [V_LAYERS] = "user.imgfs.layers",
	[V_CREATED] = "user.imgfs.created_by", [V_PACKAGE] = "user.imgfs.package",
	[V_FILES] = "user.imgfs.files", [V_STRIP] = IMGFS_XATTR_STRIP,
};

/* "3,4,13": the layers whose own tree has an entry (or a whiteout) at a
 * path of INO in the merged tree, from table inode_layers
 * (build/layerset.c); none for an inode only the /.imgfs views name. */
static int layers_value(struct conn *c, uint64_t ino, char *out, size_t len)
{
	sqlite3_stmt *q = c->q[Q_LAYERS];
	int r, n = -ENODATA;

	sqlite3_bind_int64(q, 1, (sqlite3_int64)ino);
	r = step(q);
	if (r == 1 && sqlite3_column_type(q, 0) != SQLITE_NULL) {
		n = sqlite3_column_bytes(q, 0);
		if ((size_t)n > len)
			n = -ERANGE;
		else
			memcpy(out, sqlite3_column_blob(q, 0), (size_t)n);
	} else if (r == 1 && sqlite3_column_int(q, 1)) {
		n = 0;
	} else if (r < 0) {
		n = r;
	}
	sqlite3_reset(q);
	return n;
}

static int virt_value(struct conn *c, uint64_t ino, int which, char *out, size_t len)
{
	sqlite3_stmt *q = c->q[Q_VIRT];
	int r, n = -ENODATA;

	if (which == V_LAYERS)
		return layers_value(c, ino, out, len);
	if (which == V_STRIP) {
		q = c->q[Q_STRIP];
		sqlite3_bind_int64(q, 1, (sqlite3_int64)ino);
		r = step(q);
		if (r == 1)
			n = snprintf(out, len, "%lld", (long long)sqlite3_column_int64(q, 0));
		else if (r < 0)
			n = r;
		sqlite3_reset(q);
		return n;
	}
	if (which == V_CREATED || which == V_PACKAGE) {
		q = c->q[which == V_CREATED ? Q_CREATED : Q_PKG];
		sqlite3_bind_int64(q, 1, (sqlite3_int64)ino);
		/* the package query's first row is NULL for a file no
		 * package claims; a directory's owner comes second */
		while ((r = step(q)) == 1 && sqlite3_column_type(q, 0) == SQLITE_NULL)
			;
		if (r == 1) {
			n = sqlite3_column_bytes(q, 0);
			if ((size_t)n > len)
				n = -ERANGE;
			else
				memcpy(out, sqlite3_column_text(q, 0), (size_t)n);
		}
		sqlite3_reset(q);
		return n;
	}
	sqlite3_bind_int64(q, 1, (sqlite3_int64)ino);
	r = step(q);
	if (r == 1) {
		mode_t mode = (mode_t)sqlite3_column_int64(q, 0);
		long long v = -1;

		if (which == V_SIZE)
			v = S_ISDIR(mode) || S_ISREG(mode) ? sqlite3_column_int64(q, 3) : 0;
		else if (which == V_LAYER)
			v = sqlite3_column_int64(q, 2);
		else if (which == V_WASTED)
			v = sqlite3_column_int64(q, 5);
		else if (S_ISDIR(mode))
			v = sqlite3_column_int64(q, 4);
		if (v >= 0)
			n = snprintf(out, len, "%lld", v);
	} else if (r < 0) {
		n = r;
	} else {
		n = -ENOENT;
	}
	sqlite3_reset(q);
	return n;
}

ssize_t imgfs_fs_getxattr(struct imgfs_fs *fs, uint64_t ino, const char *name, void *buf, size_t size)
{
	struct conn *c = conn_get(fs);
	sqlite3_stmt *q;
	ssize_t n;
	size_t i;
	int r;

	if (!c)
		return conn_errno;
	for (i = 0; i < V_COUNT; i++) {
		if (strcmp(name, virt_names[i]) == 0) {
			char v[IMGFS_XATTR_VIRT_MAX];

			n = virt_value(c, ino, (int)i, v, sizeof(v));
			if (n < 0)
				return n;
			if (size == 0)
				return n;
			if ((size_t)n > size)
				return -ERANGE;
			memcpy(buf, v, (size_t)n);
			return n;
		}
	}
	q = c->q[Q_XGET];
	sqlite3_bind_int64(q, 1, (sqlite3_int64)ino);
	sqlite3_bind_text(q, 2, name, -1, SQLITE_STATIC);
	r = step(q);
	if (r != 1) {
		sqlite3_reset(q);
		return r == 0 ? -ENODATA : r;
	}
	n = sqlite3_column_bytes(q, 0);
	if (size && (size_t)n > size)
		n = -ERANGE;
	else if (size)
		memcpy(buf, sqlite3_column_blob(q, 0), (size_t)n);
	sqlite3_reset(q);
	return n;
}

ssize_t imgfs_fs_listxattr(struct imgfs_fs *fs, uint64_t ino, char *buf, size_t size)
{
	struct conn *c = conn_get(fs);
	struct imgfs_attr a;
	sqlite3_stmt *q;
	size_t total = 0, i;
	int r, user_ok;

	if (!c)
		return conn_errno;
	/* Linux allows user.* attributes only on regular files and
	 * directories: listing them elsewhere would name what cannot be read. */
	if (imgfs_fs_getattr(fs, ino, &a) != 0)
		return -ENOENT;
	user_ok = S_ISREG(a.mode) || S_ISDIR(a.mode);
	q = c->q[Q_XLIST];
	sqlite3_bind_int64(q, 1, (sqlite3_int64)ino);
	while ((r = step(q)) == 1) {
		size_t l = (size_t)sqlite3_column_bytes(q, 0) + 1;

		if (!user_ok && !strncmp((const char *)sqlite3_column_text(q, 0), "user.", 5))
			continue;
		if (size && total + l > size) {
			sqlite3_reset(q);
			return -ERANGE;
		}
		if (size)
			memcpy(buf + total, sqlite3_column_text(q, 0), l);
		total += l;
	}
	sqlite3_reset(q);
	if (r < 0)
		return r;
	for (i = 0; i < V_COUNT && user_ok; i++) {
		size_t l = strlen(virt_names[i]) + 1;
		char v[IMGFS_XATTR_VIRT_MAX];

		/* list only what getxattr answers: files on directories,
		 * created_by where the config has a history step, strip on
		 * ELF files with a saving */
		if (i == V_FILES && !S_ISDIR(a.mode))
			continue;
		if ((i == V_CREATED || i == V_PACKAGE || i == V_STRIP) &&
		    virt_value(c, ino, (int)i, v, sizeof(v)) < 0)
			continue;
		if (size && total + l > size)
			return -ERANGE;
		if (size)
			memcpy(buf + total, virt_names[i], l);
		total += l;
	}
	return (ssize_t)total;
}

int imgfs_fs_statfs(struct imgfs_fs *fs, struct imgfs_fs_stat *st)
{
	struct conn *c = conn_get(fs);
	sqlite3_stmt *q = NULL;
	int rc = -EIO;

	if (!c)
		return conn_errno;
	if (sqlite3_prepare_v2(c->db, "SELECT (SELECT count(*) FROM inode), "
			       "(SELECT sub_bytes FROM inode WHERE ino=1)", -1, &q, NULL) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW) {
		st->inodes = (uint64_t)sqlite3_column_int64(q, 0);
		st->bytes = (uint64_t)sqlite3_column_int64(q, 1);
		rc = 0;
	}
	sqlite3_finalize(q);
	return rc;
}

int imgfs_fs_layers(struct imgfs_fs *fs, imgfs_layer_fn fn, void *ctx)
{
	struct conn *c = conn_get(fs);
	sqlite3_stmt *q = NULL;
	int r;

	if (!c)
		return conn_errno;
	if (sqlite3_prepare_v2(c->db, "SELECT num, digest, diff_id, media_type, compression, "
			       "stored_size, size, entries, created_by, tar_bytes,"
			       " CASE WHEN compression <> 'none' THEN stored_size ELSE coalesce(gzip_size, -1) END"
			       " FROM layer ORDER BY num", -1,
			       &q, NULL) != SQLITE_OK)
		return -EIO;
	while ((r = step(q)) == 1) {
		struct imgfs_layer_info l = {
			.num = sqlite3_column_int(q, 0),
			.digest = (const char *)sqlite3_column_text(q, 1),
			.diff_id = (const char *)sqlite3_column_text(q, 2),
			.media_type = (const char *)sqlite3_column_text(q, 3),
			.compression = (const char *)sqlite3_column_text(q, 4),
			.stored_size = sqlite3_column_int64(q, 5),
			.size = sqlite3_column_int64(q, 6),
			.entries = sqlite3_column_int64(q, 7),
			.created_by = (const char *)sqlite3_column_text(q, 8),
			.content_bytes = sqlite3_column_int64(q, 9),
			.push_size = sqlite3_column_int64(q, 10),
		};

		if (fn(ctx, &l))
			break;
	}
	sqlite3_finalize(q);
	return r < 0 ? r : 0;
}

const char *imgfs_fs_path(const struct imgfs_fs *fs)
{
	return fs->path;
}

char *imgfs_fs_meta(struct imgfs_fs *fs, const char *key)
{
	struct conn *c = conn_get(fs);
	sqlite3_stmt *q = NULL;
	char *v = NULL;

	if (!c)
		return NULL;
	if (sqlite3_prepare_v2(c->db, "SELECT value FROM meta WHERE key=?1", -1, &q, NULL) == SQLITE_OK) {
		sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
		if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0))
			v = strdup((const char *)sqlite3_column_text(q, 0));
	}
	sqlite3_finalize(q);
	return v;
}
