/* This file contains the index build: where the index of an image lives,
 * when it can be reused, and the one streaming pass that fills it (outer
 * members, manifest, each layer in order, then the totals), built into a
 * temporary file and renamed into place. */
#include "index_i.h"

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

#include "err_i.h"
#include "layer_i.h"
#include "manifest_i.h"
#include "packages_i.h"
#include "path_i.h"
#include "source_i.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int db_fail(sqlite3 *db, struct imgfs_err *err)
{
	return imgfs_errf(err, -EIO, 0, "index: %s", sqlite3_errmsg(db));
}

int imgfs_build_source_id(struct imgfs_build *b, const char *file, int64_t *id)
{
	int r;

	sqlite3_bind_text(b->src_get, 1, file, -1, SQLITE_STATIC);
	r = sqlite3_step(b->src_get);
	if (r == SQLITE_ROW)
		*id = sqlite3_column_int64(b->src_get, 0);
	sqlite3_reset(b->src_get);
	if (r == SQLITE_ROW)
		return 0;
	sqlite3_bind_text(b->src_ins, 1, file, -1, SQLITE_STATIC);
	r = sqlite3_step(b->src_ins);
	sqlite3_reset(b->src_ins);
	if (r != SQLITE_DONE)
		return db_fail(b->db, b->err);
	*id = sqlite3_last_insert_rowid(b->db);
	return 0;
}

void imgfs_build_progress(struct imgfs_build *b, uint64_t done)
{
	double t;

	if (!b->opts || !b->opts->progress)
		return;
	t = now();
	if (t - b->last_progress < 0.1 && done != UINT64_MAX)
		return;
	b->last_progress = t;
	b->opts->progress(b->opts->progress_ctx,
			  done == UINT64_MAX ? b->read_total : b->read_done + done, b->read_total);
}

int imgfs_build_cache(struct imgfs_build *b)
{
	int rc;

	if (b->cache_open)
		return 0;
	rc = imgfs_cache_writer_open(&b->cache, b->cache_path, b->err);
	if (rc == 0)
		b->cache_open = 1;
	return rc;
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

		fd = dfd < 0 ? -1 : openat(dfd, "index.json", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
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
	fd = open(path, O_RDONLY | O_CLOEXEC);
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

static int set_meta(sqlite3 *db, const char *key, const char *text, int64_t num,
		    struct imgfs_err *err)
{
	sqlite3_stmt *q;
	int r;

	if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO meta VALUES(?,?)", -1, &q, NULL) != SQLITE_OK)
		return db_fail(db, err);
	sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
	if (text)
		sqlite3_bind_text(q, 2, text, -1, SQLITE_STATIC);
	else
		sqlite3_bind_int64(q, 2, num);
	r = sqlite3_step(q);
	sqlite3_finalize(q);
	return r == SQLITE_DONE ? 0 : db_fail(db, err);
}

static int add_layer(struct imgfs_build *b, int num, const struct imgfs_layer_desc *d,
		     const char *compression, uint64_t stored, uint64_t size, uint64_t entries,
		     int64_t view_ino, int64_t hidden_ino)
{
	sqlite3_stmt *q;
	int r;

	if (sqlite3_prepare_v2(b->db, "INSERT INTO layer VALUES(?,?,?,?,?,?,?,?,?,?,?,?)", -1, &q,
			       NULL) != SQLITE_OK)
		return db_fail(b->db, b->err);
	sqlite3_bind_int(q, 1, num);
	if (d) {
		sqlite3_bind_text(q, 2, d->digest, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 3, d->diff_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 4, d->media_type, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 9, d->created_by, -1, SQLITE_STATIC);
	}
	sqlite3_bind_text(q, 5, compression, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 6, (sqlite3_int64)stored);
	sqlite3_bind_int64(q, 7, (sqlite3_int64)size);
	sqlite3_bind_int64(q, 8, (sqlite3_int64)entries);
	sqlite3_bind_int64(q, 10, view_ino);
	sqlite3_bind_int64(q, 11, hidden_ino);
	sqlite3_bind_int64(q, 12, (sqlite3_int64)b->merge.tar_bytes);
	r = sqlite3_step(q);
	sqlite3_finalize(q);
	return r == SQLITE_DONE ? 0 : db_fail(b->db, b->err);
}

static int apply_one(struct imgfs_build *b, int num, const struct imgfs_layer_desc *d,
		     const struct imgfs_region *r)
{
	char name[160];
	uint64_t entries, size;
	int64_t view_ino, hidden_ino;
	const char *comp;
	int rc;

	snprintf(name, sizeof(name), "layer %d (%.80s)", num,
		 d ? (d->digest ? d->digest : d->path) : "rootfs");
	b->layer_name = name;
	rc = imgfs_merge_begin_layer(&b->merge, num, &view_ino, &hidden_ino);
	if (rc == 0)
		rc = imgfs_layer_apply(b, num, r, d && d->estargz, &entries, &size, &comp);
	/* An uncompressed layer is its own size, padding included. */
	if (rc == 0 && !strcmp(comp, "none"))
		size = r->size;
	if (rc == 0)
		rc = add_layer(b, num, d, comp, r->size, size, entries, view_ino, hidden_ino);
	b->read_done += r->size;
	b->layer_name = NULL;
	return rc;
}

/* 1 when the outer tar has members that only image archives have: layer
 * blobs, an OCI layout marker, or a config named by its digest. */
static int looks_like_image(struct imgfs_build *b)
{
	sqlite3_stmt *q = NULL;
	int r = 0;

	if (sqlite3_prepare_v2(b->db, "SELECT 1 FROM member WHERE name GLOB '*/layer.tar' OR "
			       "name GLOB 'blobs/sha256/*' OR name = 'oci-layout' OR "
			       "name GLOB 'sha256:*' OR (length(name) = 69 AND substr(name, 65) = '.json' "
			       "AND substr(name, 1, 64) NOT GLOB '*[^0-9a-f]*') LIMIT 1", -1, &q, NULL) == SQLITE_OK)
		r = sqlite3_step(q) == SQLITE_ROW;
	sqlite3_finalize(q);
	return r;
}

/* The streaming pass itself, into the open database B->db. */
static int build_into(struct imgfs_build *b, const struct imgfs_opts *o, const char *spool,
		      const struct identity *id)
{
	struct imgfs_source src;
	struct imgfs_member_reader rd;
	struct imgfs_image_desc desc;
	struct imgfs_region reg;
	size_t i;
	int rc;

	memset(&desc, 0, sizeof(desc));
	rc = imgfs_source_open(&src, o->image, spool, b->db, b->err);
	if (rc)
		goto out;
	b->image = src.path;
	imgfs_source_reader(&src, &rd);
	rc = imgfs_manifest_parse(&desc, &rd, o->image_name, o->platform, b->err);
	if (rc == -ENOMSG) {
		/* A plain filesystem tar (docker export, a bare layer) -- unless
		 * it holds what only image archives hold: then it is an image
		 * cut short before its manifest, and mounting it as a rootfs
		 * would be a silently wrong tree. */
		if (!src.is_dir && looks_like_image(b)) {
			rc = imgfs_errf(b->err, -EINVAL, 1, "%s: holds layer blobs but no manifest.json "
					"or index.json: truncated image archive?", o->image);
			goto out;
		}
		if (o->image_name) {
			rc = imgfs_errf(b->err, -EINVAL, 1, "%s: a plain rootfs tar has no image names",
					o->image);
			goto out;
		}
		rc = imgfs_source_whole(&src, &reg);
		b->read_total = reg.size;
		if (rc == 0)
			rc = apply_one(b, 0, NULL, &reg);
		if (rc == 0)
			rc = set_meta(b->db, IMGFS_META_FORMAT, "rootfs", 0, b->err);
		goto done;
	}
	if (rc)
		goto out;
	for (i = 0; i < desc.n_layers; i++)
		if (imgfs_source_member(&src, desc.layers[i].path, &reg) == 0)
			b->read_total += reg.size;
	for (i = 0; i < desc.n_layers; i++) {
		rc = imgfs_source_member(&src, desc.layers[i].path, &reg);
		if (rc == -ENOENT)
			rc = imgfs_errf(b->err, -ENOENT, 1, "%s: layer %zu: blob %s is missing from the archive",
					o->image, i, desc.layers[i].path);
		if (rc)
			goto out;
		rc = apply_one(b, (int)i, &desc.layers[i], &reg);
		if (rc)
			goto out;
	}
	rc = set_meta(b->db, IMGFS_META_FORMAT, desc.format == IMGFS_FMT_OCI ? "oci" : "docker-archive", 0,
		      b->err);
	if (rc == 0 && desc.name)
		rc = set_meta(b->db, IMGFS_META_NAME, desc.name, 0, b->err);
	if (rc == 0 && desc.config_digest)
		rc = set_meta(b->db, IMGFS_META_CONFIG, desc.config_digest, 0, b->err);
done:
	if (rc)
		goto out;
	imgfs_build_progress(b, UINT64_MAX);
	rc = imgfs_layer_drain(b, 1);
	if (rc)
		goto out;
	if (getenv("IMGFS_TIMING"))
		fprintf(stderr, "imgfs: timing: layers applied at %.3f s\n", now() - b->t0);
	rc = imgfs_merge_finish(&b->merge);
	if (rc)
		goto out;
	if (getenv("IMGFS_TIMING"))
		fprintf(stderr, "imgfs: timing: tree finished at %.3f s\n", now() - b->t0);
	if (sqlite3_exec(b->db, imgfs_schema_index_parent, NULL, NULL, NULL) != SQLITE_OK) {
		rc = db_fail(b->db, b->err);
		goto out;
	}
	rc = set_meta(b->db, IMGFS_META_IDENTITY, id->key, 0, b->err);
	if (!rc)
		rc = set_meta(b->db, IMGFS_META_IMAGE, id->image, 0, b->err);
	if (!rc)
		rc = set_meta(b->db, IMGFS_META_OUTER, src.outer_filter, 0, b->err);
	if (!rc)
		rc = set_meta(b->db, IMGFS_META_ENTRIES, NULL, (int64_t)b->entries, b->err);
	if (!rc) {
		/* counted once here: a reuse must not scan the inode table */
		sqlite3_stmt *q = NULL;

		if (sqlite3_prepare_v2(b->db, "INSERT OR REPLACE INTO meta SELECT '" IMGFS_META_INODES "', count(*) "
				       "FROM inode", -1, &q, NULL) != SQLITE_OK || sqlite3_step(q) != SQLITE_DONE)
			rc = db_fail(b->db, b->err);
		sqlite3_finalize(q);
	}
	if (!rc && b->cache_open)
		rc = set_meta(b->db, IMGFS_META_CACHE, b->cache_path, 0, b->err);
	if (!rc)
		rc = set_meta(b->db, IMGFS_META_SCHEMA, NULL, IMGFS_SCHEMA_VERSION, b->err);
	if (!rc)
		rc = set_meta(b->db, IMGFS_META_COMPLETE, NULL, 1, b->err);
out:
	imgfs_image_desc_free(&desc);
	imgfs_source_close(&src);
	return rc;
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
	struct imgfs_build b;
	char tmp[PATH_MAX + 32], cache[PATH_MAX + 64], spool[PATH_MAX + 64];
	const char *base = strrchr(index, '/');
	uint64_t bid;
	int rc, fd;

	memset(&b, 0, sizeof(b));
	b.err = err;
	b.cache.fd = -1;
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
	b.cache_path = cache;
	b.opts = o;
	b.t0 = now();
	b.buf = malloc(IMGFS_CHUNK);
	if (!b.buf)
		return -ENOMEM;
	unlink(tmp);
	/* one thread uses the build connection: no SQLite mutexes */
	if (sqlite3_open_v2(tmp, &b.db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		rc = imgfs_errf(err, -EIO, 0, "%s: %s", tmp, b.db ? sqlite3_errmsg(b.db) : "cannot open");
		goto out;
	}
	/* The file is renamed into place only when complete, so the build
	 * needs no journal and no syncs: a crash leaves a temp file only. */
	if (sqlite3_exec(b.db, "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
			 "PRAGMA locking_mode=EXCLUSIVE; PRAGMA cache_size=-32768;"
			 "BEGIN;", NULL, NULL, NULL) != SQLITE_OK ||
	    (rc = imgfs_schema_create(b.db, err)) != 0 ||
	    sqlite3_prepare_v2(b.db, "SELECT id FROM source WHERE path=?", -1, &b.src_get, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(b.db, "INSERT INTO source(path) VALUES(?)", -1, &b.src_ins, NULL) != SQLITE_OK) {
		rc = db_fail(b.db, err);
		goto out;
	}
	rc = imgfs_merge_init(&b.merge, b.db, err);
	if (rc)
		goto out;
	rc = build_into(&b, o, spool, id);
	if (rc)
		goto out;
	imgfs_merge_fini(&b.merge);
	sqlite3_finalize(b.src_get);
	sqlite3_finalize(b.src_ins);
	b.src_get = b.src_ins = NULL;
	if (b.cache_open) {
		b.cache_open = 0;
		rc = imgfs_cache_writer_close(&b.cache);
		if (rc)
			goto out;
	}
	/* No ANALYZE: every query has one obvious index, and statistics cost
	 * 0.1 s per 200k entries. */
	if (sqlite3_exec(b.db, "COMMIT; PRAGMA locking_mode=NORMAL;", NULL, NULL, NULL) != SQLITE_OK) {
		rc = db_fail(b.db, err);
		goto out;
	}
	rc = imgfs_packages_build(b.db, tmp, err);
	if (rc)
		goto out;
	{
		sqlite3_stmt *q;

		if (sqlite3_prepare_v2(b.db, "SELECT (SELECT count(*) FROM layer), (SELECT count(*) FROM inode)",
				       -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW) {
			info->layers = (uint64_t)sqlite3_column_int64(q, 0);
			info->inodes = (uint64_t)sqlite3_column_int64(q, 1);
		}
		sqlite3_finalize(q);
	}
	info->entries = b.entries;
	sqlite3_close(b.db);
	b.db = NULL;
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

		remove_old(index, cache, spool_used ? spool : NULL);
	}
	free(b.buf);
	return 0;
out:
	imgfs_merge_fini(&b.merge);
	sqlite3_finalize(b.src_get);
	sqlite3_finalize(b.src_ins);
	if (b.cache_open)
		imgfs_cache_writer_close(&b.cache);
	if (b.db)
		sqlite3_close(b.db);
	unlink(tmp);
	unlink(cache);
	unlink(spool);
	free(b.buf);
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
		return -ENOMEM;
	rc = identity_of(o, id, err);
	if (rc)
		goto out;
	if (o->index_path) {
		if (strlen(o->index_path) >= sizeof(info->index_path)) {
			rc = imgfs_errf(err, -ENAMETOOLONG, 1, "%s: path too long", o->index_path);
			goto out;
		}
		strcpy(info->index_path, o->index_path);
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
