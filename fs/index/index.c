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
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "build/build_i.h"
#include "elf/elf_pass_i.h"
#include "format/daemon_i.h"
#include "format/registry_i.h"
#include "format/source_i.h"
#include "index/leftovers_i.h"
#include "index/lock_i.h"
#include "index/share_i.h"
#include "pkg/attribute_i.h"
#include "read/pin_i.h"
#include "store/schema_i.h"
#include "store/seal_i.h"
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
	char key[PATH_MAX + 512]; /* path, size, mtime, ctime, inode, fingerprint, options */
	int stream;               /* none: a stream is read once, indexed each time */
	int offline;              /* the registry or engine is unreachable: KEY is
				   * unknown, the last index of the reference will do */
	struct imgfs_err why;     /* why, when OFFLINE */
};

/* The Engine's image ID is the identity of a docker-daemon: or podman:
 * image (one small GET: a second mount of it reads no layer); a stream
 * has none, its key is unique to this build. */
static int identity_special(const struct imgfs_opts *o, struct identity *id,
			    struct imgfs_err *err)
{
	struct timespec ts;

	if (strlen(o->image) >= sizeof(id->image))
		return imgfs_errf(err, -ENAMETOOLONG, 1, "%s: name too long", o->image);
	strcpy(id->image, o->image);
	if (imgfs_registry_is_ref(o->image)) {
		char digest[256];
		int rc = imgfs_registry_digest(o, digest, sizeof(digest), &id->why);

		if (rc == -ECONNREFUSED) {
			id->offline = 1;
			return 0;
		}
		if (rc) {
			*err = id->why;
			return rc;
		}
		snprintf(id->key, sizeof(id->key), "v%d|registry|%s|%s|%s|%s", IMGFS_SCHEMA_VERSION,
			 o->image, digest, o->image_name ? o->image_name : "",
			 o->platform ? o->platform : "");
		return 0;
	}
	if (imgfs_daemon_is_ref(o->image)) {
		char iid[256], sock[PATH_MAX];
		int rc = imgfs_daemon_image_id(o->image, iid, sizeof(iid), sock, sizeof(sock), &id->why);

		if (rc == -ECONNREFUSED) {
			id->offline = 1;
			return 0;
		}
		if (rc) {
			*err = id->why;
			return rc;
		}
		snprintf(id->key, sizeof(id->key), "v%d|daemon|%s|%s|%s|%s|%s", IMGFS_SCHEMA_VERSION,
			 sock, o->image, iid, o->image_name ? o->image_name : "",
			 o->platform ? o->platform : "");
		return 0;
	}
	id->stream = 1;
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(id->key, sizeof(id->key), "v%d|stream|%d|%lld.%09ld", IMGFS_SCHEMA_VERSION,
		 (int)getpid(), (long long)ts.tv_sec, ts.tv_nsec);
	return 0;
}

static int identity_of(const struct imgfs_opts *o, struct identity *id, struct imgfs_err *err)
{
	struct stat st;

	if (imgfs_daemon_is_ref(o->image) || imgfs_registry_is_ref(o->image) ||
	    imgfs_source_is_stream(o->image))
		return identity_special(o, id, err);

	if (!realpath(o->image, id->image)) {
		int e = errno;

		/* A pipe reached through /dev/stdin resolves to "pipe:[N]", which
		 * realpath cannot find: say what it is rather than ENOENT. */
		if (stat(o->image, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
			return imgfs_errf(err, -ESPIPE, 1,
					  "%s: a pipe or device, not a file: imgfs reads an image from a file "
					  "or an OCI layout directory (save the stream to a file first)",
					  o->image);
		return imgfs_errf(err, -e, 1, "%s: %s", o->image, strerror(e));
	}
	if (stat(id->image, &st) != 0)
		return imgfs_errf(err, -errno, 1, "%s: %s", o->image, strerror(errno));
	/* ctime: an in-place rewrite that restores the size and mtime (touch
	 * -r) and changes bytes away from the sampled ends still moves it;
	 * nothing but the kernel sets it.  A copy to another file system
	 * changes the inode and so rebuilds, as it should. */
	snprintf(id->key, sizeof(id->key), "v%d|%s|%lld|%lld.%09ld|%lld.%09ld|%llu:%llu|%016llx|%s|%s",
		 IMGFS_SCHEMA_VERSION, id->image, (long long)st.st_size,
		 (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
		 (long long)st.st_ctim.tv_sec, st.st_ctim.tv_nsec, (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino,
		 (unsigned long long)fingerprint(id->image, &st),
		 o->image_name ? o->image_name : "", o->platform ? o->platform : "");
	return 0;
}

/* Removes the files of stream indexes (stream-PID-*) in DIR whose process
 * is gone (a SIGKILL during the build; a mount removes its own at once). */
static void sweep_dead_streams(const char *dir)
{
	char pat[PATH_MAX + 32];
	glob_t g;
	size_t i;

	if ((size_t)snprintf(pat, sizeof(pat), "%s/stream-*", dir) >= sizeof(pat) ||
	    strpbrk(dir, "*?[\\") || glob(pat, GLOB_NOSORT, NULL, &g) != 0)
		return;
	for (i = 0; i < g.gl_pathc; i++) {
		long pid = strtol(g.gl_pathv[i] + strlen(dir) + strlen("/stream-"), NULL, 10);

		if (pid > 0 && kill((pid_t)pid, 0) != 0 && errno == ESRCH)
			unlink(g.gl_pathv[i]);
	}
	globfree(&g);
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
	if (id->stream) {
		/* unique, and named by its process: what a killed one left is
		 * swept by the next stream's build */
		sweep_dead_streams(dir);
		if ((size_t)snprintf(out, len, "%s/stream-%d-%016llx.db", dir, (int)getpid(),
				     (unsigned long long)imgfs_fnv64(h, id->key, strlen(id->key))) >= len)
			return imgfs_errf(err, -ENAMETOOLONG, 0, "%s: index path too long", dir);
		return 0;
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

/* 1 when the index at PATH was built from exactly this identity, is
 * complete and whole (its seal matches, its content cache has the size the
 * build left); 0 otherwise (missing, damaged, corrupt, stale, other
 * schema).  A damaged index sets INFO->damaged. */
struct kept {
	char cache[PATH_MAX + 64];
	char spool[PATH_MAX + 64];
};

static int index_fresh(const char *path, const struct identity *id, int want_estimates,
		       struct imgfs_build_info *info, struct kept *kept)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	int fresh = 0, fd, seal;

	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return 0;
	seal = imgfs_seal_check(fd);
	if (seal) {
		/* only a sealed index whose sum differs is called damaged: an
		 * older version's or a foreign file is merely rebuilt */
		info->damaged = seal == -EBADMSG;
		goto out;
	}
	/* read what was checked: the descriptor, not the path again */
	if (imgfs_pin_open(fd, &db) != 0)
		goto out;
	if (sqlite3_prepare_v2(db, "SELECT (SELECT value FROM meta WHERE key='" IMGFS_META_IDENTITY "'),"
			       " (SELECT value FROM meta WHERE key='" IMGFS_META_COMPLETE "'),"
			       " (SELECT count(*) FROM layer), (SELECT value FROM meta WHERE key='" IMGFS_META_INODES "'),"
			       " (SELECT value FROM meta WHERE key='" IMGFS_META_ENTRIES "'),"
			       " (SELECT value FROM meta WHERE key='" IMGFS_META_CACHE "'),"
			       " (SELECT value FROM meta WHERE key='" IMGFS_META_SCHEMA "'),"
			       " (SELECT value FROM meta WHERE key='" IMGFS_META_CACHE_BYTES "'),"
			       " (SELECT count(*) FROM layer WHERE compression = 'none' AND gzip_size IS NULL)",
			       -1, &q, NULL) != SQLITE_OK)
		goto out;
	if (sqlite3_step(q) != SQLITE_ROW)
		goto out;
	/* offline, the last index of the reference: whatever it was built from */
	if (!sqlite3_column_text(q, 0) ||
	    (id->offline ? strncmp((const char *)sqlite3_column_text(q, 0), id->key, strlen(id->key))
			 : strcmp((const char *)sqlite3_column_text(q, 0), id->key)))
		goto out;
	if (sqlite3_column_int(q, 1) != 1 || sqlite3_column_int(q, 6) != IMGFS_SCHEMA_VERSION)
		goto out;
	/* asked for the registry-size estimates an earlier build did not make */
	if (want_estimates && sqlite3_column_int64(q, 8) > 0)
		goto out;
	/* The content cache must still be there and whole: a cut one would
	 * answer EIO on every mount. */
	if (sqlite3_column_text(q, 5)) {
		struct stat st;

		if (stat((const char *)sqlite3_column_text(q, 5), &st) != 0 ||
		    sqlite3_column_type(q, 7) == SQLITE_NULL || st.st_size != sqlite3_column_int64(q, 7))
			goto out;
	}
	info->layers = (uint64_t)sqlite3_column_int64(q, 2);
	info->inodes = (uint64_t)sqlite3_column_int64(q, 3);
	info->entries = (uint64_t)sqlite3_column_int64(q, 4);
	if (sqlite3_column_text(q, 5))
		snprintf(kept->cache, sizeof(kept->cache), "%s", (const char *)sqlite3_column_text(q, 5));
	sqlite3_finalize(q);
	/* the spool an image read through a compressed outer tar uses */
	if (sqlite3_prepare_v2(db, "SELECT path FROM source WHERE substr(path, 1, length(?1) + 1) = ?1 || '.'",
			       -1, &q, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_text(q, 1, path, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0))
		snprintf(kept->spool, sizeof(kept->spool), "%s", (const char *)sqlite3_column_text(q, 0));
	fresh = 1;
out:
	sqlite3_finalize(q);
	sqlite3_close(db);
	close(fd);
	return fresh;
}

/* Records the content cache's size, so a cut cache is found at the next
 * reuse and at mount. */
static int set_cache_bytes(sqlite3 *db, const char *cache, struct imgfs_err *err)
{
	sqlite3_stmt *q = NULL;
	struct stat st;
	int rc = 0;

	if (!cache)
		return 0;
	if (stat(cache, &st) != 0)
		return imgfs_errf(err, -errno, 0, "%s: %s", cache, strerror(errno));
	if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO meta(key, value) VALUES('" IMGFS_META_CACHE_BYTES "', ?1)",
			       -1, &q, NULL) != SQLITE_OK)
		return imgfs_errf(err, -EIO, 0, "index: %s", sqlite3_errmsg(db));
	sqlite3_bind_int64(q, 1, (sqlite3_int64)st.st_size);
	if (sqlite3_step(q) != SQLITE_DONE)
		rc = imgfs_errf(err, -EIO, 0, "index: %s", sqlite3_errmsg(db));
	sqlite3_finalize(q);
	return rc;
}

static int build(const struct imgfs_opts *o, const char *index, const struct identity *id,
		 struct imgfs_build_info *info, struct imgfs_err *err)
{
	char tmp[PATH_MAX + 32], cache[PATH_MAX + 64], spool[PATH_MAX + 64];
	const char *base = strrchr(index, '/');
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	uint64_t bid;
	double t;
	int rc, cache_used = 0;

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
	/* what an earlier build killed before its clean-up left (the caller
	 * holds the index's lock: no build of it runs) */
	imgfs_leftovers_sweep(index, NULL, NULL);
	imgfs_leftovers_arm(tmp, cache, spool);
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
	if (o->progress) {
		struct imgfs_progress p = { .entries = info->entries, .phase = "packages" };

		o->progress(o->progress_ctx, &p);
	}
	t = now();
	rc = imgfs_packages_build(db, tmp, err);
	if (rc)
		goto out;
	if (o->timing)
		fprintf(stderr, "imgfs: timing: packages attributed in %.3f s\n", now() - t);
	if (o->progress) {
		struct imgfs_progress p = { .entries = info->entries, .phase = "ELF files" };

		o->progress(o->progress_ctx, &p);
	}
	t = now();
	rc = imgfs_elf_build(db, tmp, err);
	if (rc)
		goto out;
	if (o->timing)
		fprintf(stderr, "imgfs: timing: ELF files measured in %.3f s\n", now() - t);
	if (sqlite3_prepare_v2(db, "SELECT (SELECT count(*) FROM layer), (SELECT count(*) FROM inode)",
			       -1, &q, NULL) != SQLITE_OK || sqlite3_step(q) != SQLITE_ROW) {
		rc = imgfs_errf(err, -EIO, 0, "index: %s", sqlite3_errmsg(db));
		goto out;
	}
	info->layers = (uint64_t)sqlite3_column_int64(q, 0);
	info->inodes = (uint64_t)sqlite3_column_int64(q, 1);
	sqlite3_finalize(q);
	q = NULL;
	rc = set_cache_bytes(db, cache_used ? cache : NULL, err);
	if (rc)
		goto out;
	/* before the seal: sharing may point the chunks elsewhere */
	if (cache_used && imgfs_cache_share(db, index, cache) < 0) {
		rc = imgfs_errf(err, -EIO, 0, "%s: could not share its content cache", cache);
		goto out;
	}
	sqlite3_close(db);
	db = NULL;
	rc = imgfs_seal_write(tmp, err);
	if (rc)
		goto out;
	if (rename(tmp, index) != 0) {
		rc = imgfs_errf(err, -errno, 0, "%s: %s", index, strerror(errno));
		goto out;
	}
	imgfs_leftovers_disarm();
	{
		struct stat st;
		int spool_used = stat(spool, &st) == 0;

		imgfs_leftovers_sweep(index, cache_used ? cache : NULL, spool_used ? spool : NULL);
	}
	return 0;
out:
	sqlite3_finalize(q);
	if (db)
		sqlite3_close(db);
	unlink(tmp);
	unlink(cache);
	unlink(spool);
	imgfs_leftovers_disarm();
	return rc;
}

/* mkdir -p DIR, mode 0755: --cache-dir of a directory not made yet. */
static int make_dirs(const char *dir, struct imgfs_err *err)
{
	char p[PATH_MAX];
	size_t i;

	if (strlen(dir) >= sizeof(p))
		return imgfs_errf(err, -ENAMETOOLONG, 1, "--cache-dir %s: path too long", dir);
	strcpy(p, dir);
	for (i = 1; ; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		{
			char c = p[i];
			struct stat st;

			p[i] = '\0';
			if (mkdir(p, 0755) != 0 && errno != EEXIST)
				return imgfs_errf(err, -errno, 1, "--cache-dir %s: cannot make %s: %s",
						  dir, p, strerror(errno));
			if (c == '\0' && (stat(p, &st) != 0 || !S_ISDIR(st.st_mode)))
				return imgfs_errf(err, -ENOTDIR, 1, "--cache-dir %s: not a directory", dir);
			p[i] = c;
			if (c == '\0')
				return 0;
		}
	}
}

/* Marks the index used now: its atime is what imgfs cache prune orders by,
 * set here because a mount reads the index through SQLite and relatime or
 * noatime would leave the kernel's atime stale.  Best effort: a shared
 * cache of another user's may refuse. */
static void touch_used(const char *index)
{
	const struct timespec ts[2] = { { .tv_nsec = UTIME_NOW }, { .tv_nsec = UTIME_OMIT } };

	utimensat(AT_FDCWD, index, ts, 0);
}

int imgfs_index_prepare(const struct imgfs_opts *o, struct imgfs_build_info *info,
			struct imgfs_err *err)
{
	struct identity *id = calloc(1, sizeof(*id));
	struct kept *kept = calloc(1, sizeof(*kept));
	char lock[PATH_MAX + 8];
	double t0 = now();
	int rc, lfd = -1;

	memset(info, 0, sizeof(*info));
	info->lock_fd = -1;
	if (!id || !kept) {
		free(id);
		free(kept);
		return imgfs_errf(err, -ENOMEM, 0, "out of memory");
	}
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
	if (id->stream && !o->index_path) {
		/* a unique name: no other build can want it, nothing to lock */
		info->temporary = 1;
		rc = build(o, info->index_path, id, info, err);
		goto out;
	}
	/* Two mounts of one image at once: the second waits for the first's
	 * build and then finds the index fresh. */
	snprintf(lock, sizeof(lock), "%s.lock", info->index_path);
	lfd = imgfs_lock_take(lock, LOCK_EX, 1);
	if (lfd < 0) {
		rc = imgfs_errf(err, lfd, 0, "%s: %s", lock, strerror(-lfd));
		lfd = -1;
		goto out;
	}
	if (id->offline) {
		/* the key's prefix names the reference; the digest is unknown */
		if (imgfs_registry_is_ref(o->image))
			snprintf(id->key, sizeof(id->key), "v%d|registry|%s|", IMGFS_SCHEMA_VERSION, o->image);
		else
			snprintf(id->key, sizeof(id->key), "v%d|daemon|", IMGFS_SCHEMA_VERSION);
		if (o->force || !index_fresh(info->index_path, id, o->estimate_compressed, info, kept)) {
			*err = id->why; /* nothing to fall back on */
			rc = -ECONNREFUSED;
			goto out;
		}
		info->reused = 1;
		info->offline = 1;
		snprintf(info->offline_why, sizeof(info->offline_why), "%s", id->why.msg);
		rc = 0;
		goto out;
	}
	if (!o->force && index_fresh(info->index_path, id, o->estimate_compressed, info, kept)) {
		info->reused = 1;
		imgfs_leftovers_sweep(info->index_path, kept->cache[0] ? kept->cache : NULL,
				      kept->spool[0] ? kept->spool : NULL);
		rc = 0;
	} else {
		rc = o->cache_dir ? make_dirs(o->cache_dir, err) : 0;
		if (rc == 0)
			rc = build(o, info->index_path, id, info, err);
	}
	if (rc == 0)
		touch_used(info->index_path);
	if (rc == 0 && o->hold) {
		/* A mount keeps the use lock for its life (lock.c), which
		 * imgfs cache prune sees; other commands go on building. */
		rc = imgfs_lock_hold(lfd);
		if (rc) {
			rc = imgfs_errf(err, rc, 0, "%s: %s", lock, strerror(-rc));
			goto out;
		}
		info->lock_fd = lfd;
		lfd = -1;
	}
out:
	/* A failed build leaves no index: remove its lock file too (we hold
	 * its build lock; see lock.c for why waiters are safe) rather than
	 * leave one per bad input, unless a mount of an index since removed
	 * still holds its use lock, which a prune must go on seeing. */
	if (lfd >= 0 && rc != 0 && access(info->index_path, F_OK) != 0 && imgfs_lock_unused(lfd) == 0)
		imgfs_lock_remove(lfd, lock);
	else if (lfd >= 0)
		close(lfd);
	free(id);
	free(kept);
	info->seconds = now() - t0;
	return rc;
}

void imgfs_index_discard(const struct imgfs_opts *o, const struct imgfs_build_info *info)
{
	const char *base = strrchr(info->index_path, '/');
	char beside[PATH_MAX + 8];

	if (!info->temporary)
		return;
	unlink(info->index_path);
	imgfs_leftovers_sweep(info->index_path, NULL, NULL);
	/* a --cache-dir holds its content cache under the index's name */
	if (o->cache_dir && (size_t)snprintf(beside, sizeof(beside), "%s/%s", o->cache_dir,
					      base ? base + 1 : info->index_path) < sizeof(beside))
		imgfs_leftovers_sweep(beside, NULL, NULL);
}
