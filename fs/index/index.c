/* This file contains the index's life: where the index of an image lives,
 * when it can be reused, the lock two mounts share, and the build into a
 * temporary file (build/), package attribution over it (pkg/) and the
 * rename into place. */
#include "imgfs/imgfs.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "build/build_i.h"
#include "pkg/attribute_i.h"
#include "store/schema_i.h"
#include "util/err_i.h"
#include "util/path_i.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A cheap content fingerprint: size and mtime miss a same-size rewrite
 * within one timestamp tick, sampled bytes catch it. */
#define FP_SAMPLE 65536
static uint64_t fingerprint(const char *path, const struct stat *st)
{
	uint64_t h = IMGFS_FNV64_INIT;
	char *buf = malloc(FP_SAMPLE);
	int fd;
	ssize_t n;

	if (!buf)
		return 0;
	if (S_ISDIR(st->st_mode)) {
		int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		/* O_NONBLOCK: a FIFO named index.json must not block us */
		fd = dfd < 0 ? -1 : openat(dfd, "index.json",
					   O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (dfd >= 0)
			close(dfd);
		if (fd >= 0) {
			while ((n = read(fd, buf, FP_SAMPLE)) > 0)
				h = imgfs_fnv64(h, buf, (size_t)n);
			close(fd);
		}
		free(buf);
		return h;
	}
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd >= 0) {
		n = pread(fd, buf, FP_SAMPLE, 0);
		if (n > 0)
			h = imgfs_fnv64(h, buf, (size_t)n);
		if (st->st_size > FP_SAMPLE) {
			n = pread(fd, buf, FP_SAMPLE, st->st_size - FP_SAMPLE);
			if (n > 0)
				h = imgfs_fnv64(h, buf, (size_t)n);
		}
		close(fd);
	}
	free(buf);
	return h;
}

/* What the index must have been built from to be reused. */
struct identity {
	char image[PATH_MAX];
	char key[PATH_MAX + 512]; /* path, size, mtime, fingerprint, options */
};

static int identity_of(const struct imgfs_opts *o, struct identity *id, struct imgfs_err *err)
{
	struct stat st;

	if (!realpath(o->image, id->image))
		return imgfs_errf(err, -errno, 1, "%s: %s", o->image, strerror(errno));
	if (stat(id->image, &st) != 0)
		return imgfs_errf(err, -errno, 1, "%s: %s", o->image, strerror(errno));
	snprintf(id->key, sizeof(id->key), "v%d|%s|%lld|%lld.%09ld|%llu|%016llx|%s|%s",
		 IMGFS_SCHEMA_VERSION, id->image, (long long)st.st_size,
		 (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec, (unsigned long long)st.st_ino,
		 (unsigned long long)fingerprint(id->image, &st),
		 o->image_name ? o->image_name : "", o->platform ? o->platform : "");
	return 0;
}

/* The default index path: $XDG_CACHE_HOME/imgfs/<name>-<hash>.db, the hash
 * of the image's real path and the options that change the tree. */
static int default_index_path(const struct imgfs_opts *o, const struct identity *id, char *out,
			      size_t len, struct imgfs_err *err)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	char dir[PATH_MAX], name[64];
	const char *base = strrchr(id->image, '/');
	uint64_t h = IMGFS_FNV64_INIT;
	size_t i;

	if (xdg && xdg[0] == '/')
		snprintf(dir, sizeof(dir), "%s/imgfs", xdg);
	else if (home && home[0])
		snprintf(dir, sizeof(dir), "%s/.cache/imgfs", home);
	else
		return imgfs_errf(err, -ENOENT, 0, "neither XDG_CACHE_HOME nor HOME is set: use --index");
	/* mkdir -p of the two last levels */
	{
		char parent[PATH_MAX];
		char *slash;

		snprintf(parent, sizeof(parent), "%s", dir);
		slash = strrchr(parent, '/');
		if (slash) {
			*slash = '\0';
			mkdir(parent, 0755);
		}
		if (mkdir(dir, 0755) != 0 && errno != EEXIST)
			return imgfs_errf(err, -errno, 0, "%s: %s", dir, strerror(errno));
	}
	base = base ? base + 1 : id->image;
	for (i = 0; base[i] && i < sizeof(name) - 1; i++)
		name[i] = (base[i] == '.' || base[i] == '-' || base[i] == '_' ||
			   (base[i] >= '0' && base[i] <= '9') || (base[i] >= 'a' && base[i] <= 'z') ||
			   (base[i] >= 'A' && base[i] <= 'Z')) ? base[i] : '_';
	name[i] = '\0';
	h = imgfs_fnv64(h, id->image, strlen(id->image));
	if (o->image_name)
		h = imgfs_fnv64(h, o->image_name, strlen(o->image_name) + 1);
	if (o->platform)
		h = imgfs_fnv64(h, o->platform, strlen(o->platform) + 1);
	if ((size_t)snprintf(out, len, "%s/%s-%016llx.db", dir, name, (unsigned long long)h) >= len)
		return imgfs_errf(err, -ENAMETOOLONG, 0, "%s: index path too long", dir);
	return 0;
}

/* 1 when the index at PATH was built from exactly this identity and is
 * complete; 0 otherwise (missing, corrupt, stale, other schema). */
static int index_fresh(const char *path, const struct identity *id, struct imgfs_build_info *info)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	int fresh = 0;

	if (access(path, R_OK) != 0)
		return 0;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		goto out;
	if (sqlite3_prepare_v2(db, "SELECT (SELECT value FROM meta WHERE key='" IMGFS_META_IDENTITY "'),"
			       " (SELECT value FROM meta WHERE key='" IMGFS_META_COMPLETE "'),"
			       " (SELECT count(*) FROM layer), (SELECT value FROM meta WHERE key='" IMGFS_META_INODES "'),"
			       " (SELECT value FROM meta WHERE key='" IMGFS_META_ENTRIES "'),"
			       " (SELECT value FROM meta WHERE key='" IMGFS_META_CACHE "'),"
			       " (SELECT value FROM meta WHERE key='" IMGFS_META_SCHEMA "')", -1, &q, NULL) != SQLITE_OK)
		goto out;
	if (sqlite3_step(q) != SQLITE_ROW)
		goto out;
	if (!sqlite3_column_text(q, 0) || strcmp((const char *)sqlite3_column_text(q, 0), id->key))
		goto out;
	if (sqlite3_column_int(q, 1) != 1 || sqlite3_column_int(q, 6) != IMGFS_SCHEMA_VERSION)
		goto out;
	/* The content cache must still be there and whole. */
	if (sqlite3_column_text(q, 5)) {
		struct stat st;

		if (stat((const char *)sqlite3_column_text(q, 5), &st) != 0)
			goto out;
	}
	info->layers = (uint64_t)sqlite3_column_int64(q, 2);
	info->inodes = (uint64_t)sqlite3_column_int64(q, 3);
	info->entries = (uint64_t)sqlite3_column_int64(q, 4);
	fresh = 1;
out:
	sqlite3_finalize(q);
	sqlite3_close(db);
	return fresh;
}

/* Removes content caches and spools of earlier builds of this index. */
static void remove_old(const char *index, const char *keep_cache, const char *keep_spool)
{
	char pat[PATH_MAX + 16];
	glob_t g;
	size_t i;

	snprintf(pat, sizeof(pat), "%s.*.zst", index);
	if (glob(pat, 0, NULL, &g) == 0) {
		for (i = 0; i < g.gl_pathc; i++)
			if (!keep_cache || strcmp(g.gl_pathv[i], keep_cache))
				unlink(g.gl_pathv[i]);
		globfree(&g);
	}
	snprintf(pat, sizeof(pat), "%s.*.tar", index);
	if (glob(pat, 0, NULL, &g) == 0) {
		for (i = 0; i < g.gl_pathc; i++)
			if (!keep_spool || strcmp(g.gl_pathv[i], keep_spool))
				unlink(g.gl_pathv[i]);
		globfree(&g);
	}
}

static int build(const struct imgfs_opts *o, const char *index, const struct identity *id,
		 struct imgfs_build_info *info, struct imgfs_err *err)
{
	char tmp[PATH_MAX + 32], cache[PATH_MAX + 64], spool[PATH_MAX + 64];
	const char *base = strrchr(index, '/');
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	uint64_t bid;
	int rc, fd, cache_used = 0;

	bid = imgfs_fnv64(IMGFS_FNV64_INIT, id->key, strlen(id->key));
	{
		struct timespec ts;
		pid_t pid = getpid();

		clock_gettime(CLOCK_REALTIME, &ts);
		bid = imgfs_fnv64(bid, &ts, sizeof(ts));
		bid = imgfs_fnv64(bid, &pid, sizeof(pid));
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", index, (int)getpid());
	if (o->cache_dir)
		snprintf(cache, sizeof(cache), "%s/%s.%016llx.zst", o->cache_dir,
			 base ? base + 1 : index, (unsigned long long)bid);
	else
		snprintf(cache, sizeof(cache), "%s.%016llx.zst", index, (unsigned long long)bid);
	snprintf(spool, sizeof(spool), "%s.%016llx.tar", index, (unsigned long long)bid);
	rc = imgfs_build_run(o, tmp, cache, spool, id->key, id->image, &info->entries, &cache_used,
			     err);
	if (rc)
		goto out;
	/* Package attribution reads the finished tree through the read side,
	 * so it runs here, between the build and the rename. */
	if (sqlite3_open_v2(tmp, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		rc = imgfs_errf(err, -EIO, 0, "%s: %s", tmp, db ? sqlite3_errmsg(db) : "cannot open");
		goto out;
	}
	rc = imgfs_packages_build(db, tmp, err);
	if (rc)
		goto out;
	if (sqlite3_prepare_v2(db, "SELECT (SELECT count(*) FROM layer), (SELECT count(*) FROM inode)",
			       -1, &q, NULL) != SQLITE_OK || sqlite3_step(q) != SQLITE_ROW) {
		rc = imgfs_errf(err, -EIO, 0, "index: %s", sqlite3_errmsg(db));
		goto out;
	}
	info->layers = (uint64_t)sqlite3_column_int64(q, 0);
	info->inodes = (uint64_t)sqlite3_column_int64(q, 1);
	sqlite3_finalize(q);
	q = NULL;
	sqlite3_close(db);
	db = NULL;
	fd = open(tmp, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	if (rename(tmp, index) != 0) {
		rc = imgfs_errf(err, -errno, 0, "%s: %s", index, strerror(errno));
		goto out;
	}
	{
		struct stat st;
		int spool_used = stat(spool, &st) == 0;

		remove_old(index, cache_used ? cache : NULL, spool_used ? spool : NULL);
	}
	return 0;
out:
	sqlite3_finalize(q);
	if (db)
		sqlite3_close(db);
	unlink(tmp);
	unlink(cache);
	unlink(spool);
	return rc;
}

int imgfs_index_prepare(const struct imgfs_opts *o, struct imgfs_build_info *info,
			struct imgfs_err *err)
{
	struct identity *id = calloc(1, sizeof(*id));
	char lock[PATH_MAX + 8];
	double t0 = now();
	int rc, lfd = -1;

	memset(info, 0, sizeof(*info));
	if (!id)
		return imgfs_errf(err, -ENOMEM, 0, "out of memory");
	rc = identity_of(o, id, err);
	if (rc)
		goto out;
	if (o->index_path) {
		if (strlen(o->index_path) >= sizeof(info->index_path)) {
			rc = imgfs_errf(err, -ENAMETOOLONG, 1, "%s: path too long", o->index_path);
			goto out;
		}
		strcpy(info->index_path, o->index_path);
		{
			struct stat st;

			/* SQLite would block opening a FIFO until a writer came */
			if (stat(o->index_path, &st) == 0 && !S_ISREG(st.st_mode)) {
				rc = imgfs_errf(err, -EINVAL, 1, "%s: --index names no regular file",
						o->index_path);
				goto out;
			}
		}
	} else {
		rc = default_index_path(o, id, info->index_path, sizeof(info->index_path), err);
		if (rc)
			goto out;
	}
	/* Two mounts of one image at once: the second waits for the first's
	 * build and then finds the index fresh. */
	snprintf(lock, sizeof(lock), "%s.lock", info->index_path);
	lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (lfd < 0) {
		rc = imgfs_errf(err, -errno, 0, "%s: %s", lock, strerror(errno));
		goto out;
	}
	if (flock(lfd, LOCK_EX) != 0) {
		rc = imgfs_errf(err, -errno, 0, "%s: %s", lock, strerror(errno));
		goto out;
	}
	if (!o->force && index_fresh(info->index_path, id, info)) {
		info->reused = 1;
		rc = 0;
		goto out;
	}
	rc = build(o, info->index_path, id, info, err);
out:
	if (lfd >= 0)
		close(lfd);
	free(id);
	info->seconds = now() - t0;
	return rc;
}
