/* This file contains the listing and pruning of the index cache directory
 * (imgfs cache): which index belongs to which image, what its content
 * cache and spool weigh, what nothing names any more, and the removal of
 * the least recently used under each index's lock (lock.c).
 *
 * The files of one index share a stem, the index's name: STEM (the
 * index), STEM.lock, STEM.tmp.PID[-journal] (a build's temporary index),
 * STEM.<16 hex>.zst (content cache, maybe in a --cache-dir elsewhere) and
 * STEM.<16 hex>.tar (spool), and STEM.sums (imgfs duplicates' sums, removed
 * with the index, not listed).  Which cache and spool an index uses is read
 * from the index itself; the others of its stem are orphans (what a
 * SIGKILL or an older version left). */
#include "imgfs/imgfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "index/cachedir_i.h"
#include "index/lock_i.h"
#include "read/pin_i.h"
#include "store/schema_i.h"
#include "store/seal_i.h"
#include "util/err_i.h"

#define STEM_EXT ".db"
#define BID_HEX 16 /* the build id in cache and spool names */

static const char *const kind_name[] = { "index", "lock", "temporary", "content cache", "spool" };

struct item {
	enum imgfs_cache_kind kind;
	char *path, *lock;      /* the file; its stem's lock file */
	char *stem_path;        /* the index path of its stem (may not exist) */
	char *image, *name, *cache, *spool;
	int gone, in_use;
	uint64_t index_bytes, cache_bytes, spool_bytes, bytes;
	int shared, removed;    /* other indexes whose cache is this one's file (share.c) */
	dev_t cache_dev;
	ino_t cache_ino;
	int64_t last_used;
	dev_t dev;              /* of the index, to see it was not rebuilt meanwhile */
	ino_t ino;
};

struct scan {
	struct item *v;
	size_t n, cap;
};

static void item_free(struct item *it)
{
	free(it->path);
	free(it->lock);
	free(it->stem_path);
	free(it->image);
	free(it->name);
	free(it->cache);
	free(it->spool);
}

static void scan_free(struct scan *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		item_free(&s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}

/* The same rule as default_index_path in index.c. */
static int cache_home(const struct imgfs_cache_opts *o, char *out, size_t len, struct imgfs_err *err)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	int n;

	if (o->dir)
		n = snprintf(out, len, "%s", o->dir);
	else if (xdg && xdg[0] == '/')
		n = snprintf(out, len, "%s/imgfs", xdg);
	else if (home && home[0])
		n = snprintf(out, len, "%s/.cache/imgfs", home);
	else
		return imgfs_errf(err, -ENOENT, 0, "neither XDG_CACHE_HOME nor HOME is set");
	if (n < 0 || (size_t)n >= len)
		return imgfs_errf(err, -ENAMETOOLONG, 0, "cache directory: path too long");
	return 0;
}

static int all_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

int imgfs_cache_classify(const char *name, size_t *stem)
{
	const char *p = name;

	while ((p = strstr(p, STEM_EXT))) {
		const char *r = p + strlen(STEM_EXT);

		*stem = (size_t)(r - name);
		p++;
		if (*stem == strlen(STEM_EXT))
			continue; /* no name before ".db" */
		if (!*r)
			return IMGFS_CK_INDEX;
		if (!strcmp(r, ".lock"))
			return IMGFS_CK_LOCK;
		if (!strncmp(r, ".tmp.", 5) && r[5] >= '0' && r[5] <= '9') {
			const char *q = r + 5;

			while (*q >= '0' && *q <= '9')
				q++;
			if (!*q || !strcmp(q, "-journal") || !strcmp(q, "-link"))
				return IMGFS_CK_TMP;
		}
		if (r[0] == '.' && strlen(r) == 1 + BID_HEX + 4 && all_hex(r + 1, BID_HEX)) {
			if (!strcmp(r + 1 + BID_HEX, ".zst"))
				return IMGFS_CK_CACHE;
			if (!strcmp(r + 1 + BID_HEX, ".tar"))
				return IMGFS_CK_SPOOL;
		}
	}
	return -1;
}

static char *join(const char *dir, const char *name, size_t n)
{
	size_t d = strlen(dir);
	char *p = malloc(d + n + 2);

	if (p) {
		memcpy(p, dir, d);
		p[d] = '/';
		memcpy(p + d + 1, name, n);
		p[d + 1 + n] = '\0';
	}
	return p;
}

/* 1 when PATH has the name of a file of kind K of the index INDEX: what
 * prune may unlink.  The index names its cache and spool; a crafted one
 * naming /etc/passwd must not make a prune run by root remove it. */
static int own(const char *path, const char *index, int k)
{
	const char *b = strrchr(path, '/'), *ib = strrchr(index, '/');
	size_t stem;

	b = b ? b + 1 : path;
	ib = ib ? ib + 1 : index;
	return imgfs_cache_classify(b, &stem) == k && stem == strlen(ib) && !strncmp(b, ib, stem);
}

static int64_t last_used(const struct stat *st, int atime_too)
{
	int64_t t = st->st_mtim.tv_sec;

	return atime_too && st->st_atim.tv_sec > t ? st->st_atim.tv_sec : t;
}

static char *col(sqlite3_stmt *q, int i)
{
	const unsigned char *t = sqlite3_column_text(q, i);

	return t ? strdup((const char *)t) : NULL;
}

/* Reads the index IT->path (sealed, read-only, on its descriptor as the
 * mount does): its image, name, content cache and spool.  An index that
 * cannot be read is left with no image (gone). */
static void read_index(struct item *it)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	/* O_NOATIME: the atime is the last use, which listing is not (the
	 * kernel's relatime would move it, since setting it moved the ctime);
	 * only the owner may ask for it */
	int fd = open(it->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOATIME);

	if (fd < 0 && errno == EPERM)
		fd = open(it->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 || imgfs_seal_check(fd) != 0 || imgfs_pin_open(fd, &db) != 0)
		goto out;
	if (sqlite3_prepare_v2(db, "SELECT (SELECT value FROM meta WHERE key='" IMGFS_META_IMAGE "'),"
			       " (SELECT value FROM meta WHERE key='" IMGFS_META_NAME "'),"
			       " (SELECT value FROM meta WHERE key='" IMGFS_META_CACHE "')", -1, &q,
			       NULL) != SQLITE_OK || sqlite3_step(q) != SQLITE_ROW)
		goto out;
	it->image = col(q, 0);
	it->name = col(q, 1);
	it->cache = col(q, 2);
	sqlite3_finalize(q);
	q = NULL;
	/* the spool is the source beside the index (as index_fresh finds it) */
	if (sqlite3_prepare_v2(db, "SELECT path FROM source WHERE substr(path, 1, length(?1) + 1) = ?1 || '.'",
			       -1, &q, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_text(q, 1, it->path, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW)
		it->spool = col(q, 0);
out:
	sqlite3_finalize(q);
	sqlite3_close(db);
	if (fd >= 0)
		close(fd);
}

static struct item *add(struct scan *s)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 16;
		struct item *v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return NULL;
		s->v = v;
		s->cap = cap;
	}
	memset(&s->v[s->n], 0, sizeof(s->v[0]));
	return &s->v[s->n++];
}

static int named(const struct scan *s, const char *path)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (s->v[i].kind == IMGFS_CK_INDEX &&
		    ((s->v[i].cache && !strcmp(s->v[i].cache, path)) ||
		     (s->v[i].spool && !strcmp(s->v[i].spool, path))))
			return 1;
	return 0;
}

/* Adds the files of DIR of the kinds in WANT (a bit per kind) whose stem
 * is HAS_INDEX's answer: pass 1 the indexes, pass 2 the rest.  The stems
 * live in HOME (the lock is there even for a cache in --cache-dir). */
static int scan_dir(struct scan *s, const char *home, const char *dir, unsigned want,
		    struct imgfs_err *err)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int rc = 0;

	if (!d) {
		if (errno == ENOENT)
			return 0;
		return imgfs_errf(err, -errno, 0, "%s: %s", dir, strerror(errno));
	}
	while ((e = readdir(d))) {
		size_t stem;
		int k = imgfs_cache_classify(e->d_name, &stem);
		struct item *it;
		struct stat st;
		char *path;

		if (k < 0 || !(want & (1u << k)))
			continue;
		path = join(dir, e->d_name, strlen(e->d_name));
		if (!path) {
			rc = imgfs_errf(err, -ENOMEM, 0, "out of memory");
			break;
		}
		if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode) || (k != IMGFS_CK_INDEX && named(s, path))) {
			free(path);
			continue;
		}
		if (k == IMGFS_CK_LOCK) {
			/* the lock of an index there is the index's */
			size_t i, is_idx = 0;

			for (i = 0; i < s->n; i++)
				is_idx |= s->v[i].kind == IMGFS_CK_INDEX && !strncmp(s->v[i].path, path, strlen(s->v[i].path)) &&
					  !strcmp(path + strlen(s->v[i].path), ".lock");
			if (is_idx) {
				free(path);
				continue;
			}
		}
		it = add(s);
		if (!it) {
			free(path);
			rc = imgfs_errf(err, -ENOMEM, 0, "out of memory");
			break;
		}
		it->kind = (enum imgfs_cache_kind)k;
		it->path = path;
		it->stem_path = join(home, e->d_name, stem);
		it->lock = it->stem_path ? malloc(strlen(it->stem_path) + sizeof(".lock")) : NULL;
		if (!it->lock) {
			rc = imgfs_errf(err, -ENOMEM, 0, "out of memory");
			break;
		}
		sprintf(it->lock, "%s.lock", it->stem_path);
		it->bytes = (uint64_t)st.st_size;
		it->last_used = last_used(&st, k == IMGFS_CK_INDEX);
		it->dev = st.st_dev;
		it->ino = st.st_ino;
		it->in_use = imgfs_lock_busy(it->lock);
		if (k == IMGFS_CK_INDEX) {
			struct stat is;

			it->index_bytes = it->bytes;
			read_index(it);
			it->gone = !it->image || stat(it->image, &is) != 0;
			if (it->cache && stat(it->cache, &is) == 0) {
				it->cache_bytes = (uint64_t)is.st_size;
				it->cache_dev = is.st_dev;
				it->cache_ino = is.st_ino;
			}
			if (it->spool && stat(it->spool, &is) == 0)
				it->spool_bytes = (uint64_t)is.st_size;
			it->bytes += it->cache_bytes + it->spool_bytes;
		}
	}
	closedir(d);
	return rc;
}

static int by_path(const void *a, const void *b)
{
	const struct item *x = a, *y = b;

	if ((x->kind == IMGFS_CK_INDEX) != (y->kind == IMGFS_CK_INDEX))
		return x->kind == IMGFS_CK_INDEX ? -1 : 1;
	return strcmp(x->path, y->path);
}

/* 1 when A and B are one directory (--cache-dir naming the cache itself:
 * its orphans are listed once). */
static int same_dir(const char *a, const char *b)
{
	struct stat x, y;

	return stat(a, &x) == 0 && stat(b, &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino;
}

static int same_cache(const struct item *a, const struct item *b)
{
	return a != b && a->kind == IMGFS_CK_INDEX && b->kind == IMGFS_CK_INDEX && a->cache_bytes &&
	       b->cache_bytes && a->cache_dev == b->cache_dev && a->cache_ino == b->cache_ino;
}

/* A content cache shared by hard link (share.c) is on the disk once: the
 * first of its indexes (in path order) counts its bytes, so that the
 * entries' bytes add up to what the directory takes. */
static void count_shared(struct scan *s)
{
	size_t i, j;

	for (i = 0; i < s->n; i++) {
		int first = 1;

		for (j = 0; j < s->n; j++) {
			if (!same_cache(&s->v[i], &s->v[j]))
				continue;
			s->v[i].shared++;
			first &= j > i;
		}
		if (!first)
			s->v[i].bytes -= s->v[i].cache_bytes;
	}
}

/* What removing IT frees: a shared cache only with its last index. */
static uint64_t freed_by(const struct scan *s, const struct item *it)
{
	size_t j;

	for (j = 0; j < s->n; j++)
		if (!s->v[j].removed && same_cache(it, &s->v[j]))
			return it->index_bytes + it->spool_bytes;
	return it->kind == IMGFS_CK_INDEX ? it->index_bytes + it->spool_bytes + it->cache_bytes : it->bytes;
}

static int scan(const struct imgfs_cache_opts *o, struct scan *s, struct imgfs_err *err)
{
	char home[PATH_MAX];
	int rc = cache_home(o, home, sizeof(home), err);

	if (rc == 0)
		rc = scan_dir(s, home, home, 1u << IMGFS_CK_INDEX, err);
	if (rc == 0)
		rc = scan_dir(s, home, home, (1u << IMGFS_CK_LOCK) | (1u << IMGFS_CK_TMP) | (1u << IMGFS_CK_CACHE) | (1u << IMGFS_CK_SPOOL),
			      err);
	if (rc == 0 && o->cache_dir && !same_dir(o->cache_dir, home))
		rc = scan_dir(s, home, o->cache_dir, 1u << IMGFS_CK_CACHE, err);
	if (rc)
		scan_free(s);
	else if (s->n)
		qsort(s->v, s->n, sizeof(s->v[0]), by_path);
	if (rc == 0)
		count_shared(s);
	return rc;
}

static int report(const struct item *it, imgfs_cache_fn fn, void *ctx)
{
	struct imgfs_cache_entry e = {
		.path = it->path, .kind = kind_name[it->kind], .image = it->image, .name = it->name,
		.cache = it->cache, .spool = it->spool, .gone = it->gone, .in_use = it->in_use,
		.index_bytes = it->index_bytes, .cache_bytes = it->cache_bytes,
		.spool_bytes = it->spool_bytes, .bytes = it->bytes, .last_used = it->last_used,
		.shared = it->shared,
	};

	return fn ? fn(ctx, &e) : 0;
}

int imgfs_cache_list(const struct imgfs_cache_opts *o, imgfs_cache_fn fn, void *ctx,
		     struct imgfs_err *err)
{
	struct scan s = { 0 };
	size_t i;
	int rc = scan(o, &s, err);

	for (i = 0; rc == 0 && i < s.n; i++)
		rc = report(&s.v[i], fn, ctx);
	scan_free(&s);
	return rc;
}

/* Removes IT under its stem's exclusive lock, taken without waiting: 0,
 * or -EWOULDBLOCK (in use now), -ESTALE (rebuilt since the scan), another
 * negative errno.  The lock file goes too when no index is left. */
static int remove_item(const struct item *it)
{
	int lfd = imgfs_lock_take(it->lock, LOCK_EX | LOCK_NB, it->kind != IMGFS_CK_LOCK);
	struct stat st;

	if (lfd < 0)
		return lfd;
	if (imgfs_lock_unused(lfd) != 0) {
		close(lfd);
		return -EWOULDBLOCK; /* mounted */
	}
	if (it->kind == IMGFS_CK_INDEX) {
		if (stat(it->path, &st) != 0 || st.st_dev != it->dev || st.st_ino != it->ino) {
			close(lfd);
			return -ESTALE;
		}
		unlink(it->path);
		if (it->cache && own(it->cache, it->path, IMGFS_CK_CACHE))
			unlink(it->cache);
		if (it->spool && own(it->spool, it->path, IMGFS_CK_SPOOL))
			unlink(it->spool);
		/* imgfs duplicates' sums (read/dups.c): useless without the
		 * index, and a few bytes per file, not counted above */
		{
			char sums[PATH_MAX + 8];

			if ((size_t)snprintf(sums, sizeof(sums), "%s.sums", it->path) < sizeof(sums))
				unlink(sums);
		}
	} else if (it->kind != IMGFS_CK_LOCK && unlink(it->path) != 0 && errno != ENOENT) {
		int e = -errno;

		close(lfd);
		return e;
	}
	if (access(it->stem_path, F_OK) != 0)
		imgfs_lock_remove(lfd, it->lock);
	else
		close(lfd);
	return 0;
}

static int useless(const struct item *it)
{
	return it->kind != IMGFS_CK_INDEX || it->gone;
}

/* Prune order: the useless first, then the least recently used. */
static int by_prune(const void *a, const void *b)
{
	const struct item *x = a, *y = b;

	if (useless(x) != useless(y))
		return useless(x) ? -1 : 1;
	if (x->last_used != y->last_used)
		return x->last_used < y->last_used ? -1 : 1;
	return strcmp(x->path, y->path);
}

int imgfs_cache_prune(const struct imgfs_cache_opts *o, imgfs_cache_fn fn, void *ctx,
		      uint64_t *left, struct imgfs_err *err)
{
	struct scan s = { 0 };
	uint64_t total = 0;
	int64_t t = (int64_t)time(NULL);
	size_t i;
	int rc = scan(o, &s, err);

	if (rc)
		return rc;
	for (i = 0; i < s.n; i++)
		total += s.v[i].bytes;
	if (s.n)
		qsort(s.v, s.n, sizeof(s.v[0]), by_prune);
	for (i = 0; rc == 0 && i < s.n; i++) {
		struct item *it = &s.v[i];

		if (it->in_use)
			continue;
		if (!(useless(it) || o->all || (o->older_than >= 0 && t - it->last_used > o->older_than) ||
		      (o->max_size >= 0 && total > (uint64_t)o->max_size)))
			continue;
		if (remove_item(it) != 0)
			continue; /* in use or rebuilt since the scan: kept */
		it->removed = 1;
		it->bytes = freed_by(&s, it);
		total -= it->bytes;
		rc = report(it, fn, ctx);
	}
	if (left)
		*left = total;
	scan_free(&s);
	return rc;
}
