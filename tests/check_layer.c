/* This file contains the unit tests of layer reading (fs/build/layer.c): the
 * decompression-bomb and disk-space checks, the libarchive reader over a
 * region of a file, and imgfs_layer_apply's handling of single entries --
 * whiteouts and opaque markers, AUFS metadata, names with "..", estargz
 * metadata, sparse files, extended attribute limits and where the data of
 * an uncompressed layer is.  imgfs_layer_apply runs on a struct imgfs_layer_job
 * set up here by hand over an in-memory database with the index schema, and
 * the results are read back from the tables it fills (expected values come
 * from the tars written here, never from another imgfs result). */
#include "build/layer_i.h"
#include "util/guard_i.h"

#include <archive.h>
#include <archive_entry.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <zstd.h>

#include "build/cache_write_i.h"
#include "store/schema_i.h"
#include "testutil.h"

#define F(p, c) { .path = (p), .type = TU_FILE, .content = (c) }
#define B(p, d, n) { .path = (p), .type = TU_FILE, .data = (d), .size = (n) }
#define D(p) { .path = (p), .type = TU_DIR }
#define SL(p, t) { .path = (p), .type = TU_SYMLINK, .link = (t) }
#define HL(p, t) { .path = (p), .type = TU_HARDLINK, .link = (t) }
#define N(a) (sizeof(a) / sizeof((a)[0]))

static char *dir;
/* What the build keeps for the layer reader: the test plays the build. */
static struct {
	sqlite3 *db;
	struct imgfs_merge merge;
	struct imgfs_cache_writer cache;
	int cache_open;
	sqlite3_stmt *src_get, *src_ins;
	unsigned char *buf;
	struct imgfs_err *err;
	const char *image, *layer_name, *cache_path;
} b;
static struct imgfs_err err;
static char *cache_path;
static char layer_name[32];
static int fds[16];
static int n_fds;

/* The parts of a build that index.c's build() sets up before layers are
 * applied: database, schema, source statements, merge, chunk buffer. */
static void build_setup(void)
{
	dir = tu_tmpdir();
	memset(&b, 0, sizeof(b));
	memset(&err, 0, sizeof(err));
	n_fds = 0;
	if (asprintf(&cache_path, "%s/cache.zst", dir) < 0)
		abort();
	ck_assert_int_eq(sqlite3_open(":memory:", &b.db), SQLITE_OK);
	/* the index's own schema, root inode included */
	ck_assert_int_eq(imgfs_schema_create(b.db, &err), 0);
	ck_assert_int_eq(sqlite3_prepare_v2(b.db, "SELECT id FROM source WHERE path=?", -1,
					    &b.src_get, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(b.db, "INSERT INTO source(path) VALUES(?)", -1,
					    &b.src_ins, NULL), SQLITE_OK);
	ck_assert_int_eq(imgfs_merge_init(&b.merge, b.db, &err), 0);
	b.err = &err;
	b.cache.fd = -1;
	b.cache_path = cache_path;
	b.image = "test.tar";
	b.layer_name = layer_name;
	b.buf = malloc(IMGFS_CHUNK);
	ck_assert_ptr_nonnull(b.buf);
}

static void build_teardown(void)
{
	imgfs_merge_fini(&b.merge);
	sqlite3_finalize(b.src_get);
	sqlite3_finalize(b.src_ins);
	if (b.cache_open)
		imgfs_cache_writer_close(&b.cache);
	sqlite3_close(b.db);
	free(b.buf);
	for (int i = 0; i < n_fds; i++)
		close(fds[i]);
	tu_rm_rf(dir);
	free(dir);
	free(cache_path);
}

static void plain_setup(void)
{
	dir = tu_tmpdir();
}

static void plain_teardown(void)
{
	tu_rm_rf(dir);
	free(dir);
}

/* The build's services, as build.c gives them. */
static int t_open_cache(void *ctx)
{
	if (b.cache_open)
		return 0;
	if (imgfs_cache_writer_open(&b.cache, b.cache_path, b.err))
		return -EIO;
	b.cache_open = 1;
	return 0;
}

static int t_piece(void *ctx, const struct imgfs_piece *p)
{
	return imgfs_merge_chunk(&b.merge, p->ino, p->idx, p->off, p->csize, p->foff);
}

static int t_drain(void *ctx)
{
	return b.cache_open ? imgfs_cache_drain(&b.cache, 0, t_piece, NULL) : 0;
}

static int t_source_id(void *ctx, const char *file, int64_t *id)
{
	int r;

	sqlite3_bind_text(b.src_get, 1, file, -1, SQLITE_STATIC);
	r = sqlite3_step(b.src_get);
	if (r == SQLITE_ROW)
		*id = sqlite3_column_int64(b.src_get, 0);
	sqlite3_reset(b.src_get);
	if (r == SQLITE_ROW)
		return 0;
	sqlite3_bind_text(b.src_ins, 1, file, -1, SQLITE_STATIC);
	r = sqlite3_step(b.src_ins);
	sqlite3_reset(b.src_ins);
	*id = sqlite3_last_insert_rowid(b.db);
	return r == SQLITE_DONE ? 0 : -EIO;
}

static void t_progress(void *ctx, uint64_t done)
{
}

/* Writes PREFIX junk bytes, then the LEN bytes of DATA, then 100 junk
 * bytes to a new file; returns the region of DATA in it. */
static struct imgfs_region region_of(const void *data, size_t len, size_t prefix)
{
	static int n;
	unsigned char *buf = malloc(prefix + len + 100);
	struct imgfs_region r;
	char name[32], *path;

	ck_assert_ptr_nonnull(buf);
	memset(buf, 0xa5, prefix + len + 100);
	if (len)
		memcpy(buf + prefix, data, len);
	snprintf(name, sizeof(name), "layer%d.tar", n++);
	path = tu_write_file(dir, name, buf, prefix + len + 100);
	free(buf);
	r.fd = open(path, O_RDONLY);
	ck_assert_int_ge(r.fd, 0);
	ck_assert_int_lt(n_fds, (int)N(fds));
	fds[n_fds++] = r.fd;
	r.off = prefix;
	r.size = len;
	/* the build keeps the name in its source table: it must live on */
	r.file = strdup(path);
	ck_assert_ptr_nonnull(r.file);
	free(path);
	return r;
}

struct applied {
	int rc;
	uint64_t entries, size;
	const char *compression;
	struct imgfs_region r;
};

/* Applies the tar BLOB (at PREFIX bytes into its file) as layer NUM. */
static struct applied apply_at(const struct tu_blob *blob, size_t prefix, int num, int estargz)
{
	struct applied a;
	int64_t view, hidden;

	a.r = region_of(blob->data, blob->len, prefix);
	snprintf(layer_name, sizeof(layer_name), "layer %d", num);
	ck_assert_int_eq(imgfs_merge_begin_layer(&b.merge, num, &view, &hidden), 0);
	{
		struct imgfs_layer_job job = {
			.merge = &b.merge, .cache = &b.cache, .err = b.err, .image = b.image,
			.layer_name = b.layer_name, .buf = b.buf, .open_cache = t_open_cache,
			.drain = t_drain, .source_id = t_source_id, .progress = t_progress,
		};

		a.rc = imgfs_layer_apply(&job, num, &a.r, estargz, &a.entries, &a.size,
					 &a.compression);
		/* what build.c does with the frames left at the end */
		if (a.rc == 0 && b.cache_open)
			a.rc = imgfs_cache_drain(&b.cache, 1, t_piece, NULL);
	}
	free((char *)a.r.file);
	a.r.file = NULL;
	return a;
}

/* Writes entries E as a tar with FLAGS and applies it as layer NUM. */
static struct applied apply(const struct tu_entry *e, size_t n, int flags, int num)
{
	struct tu_blob t;
	struct applied a;

	tu_tar(&t, e, n, flags);
	a = apply_at(&t, 0, num, 0);
	tu_blob_free(&t);
	return a;
}

/* The inode at PATH ("a/b") in the merged tree (view 0), or 0. */
static int64_t lookup(const char *path)
{
	char *copy = strdup(path), *save = NULL, *c;
	sqlite3_stmt *q;
	int64_t ino = IMGFS_ROOT_INO;

	ck_assert_ptr_nonnull(copy);
	ck_assert_int_eq(sqlite3_prepare_v2(b.db, "SELECT ino FROM dentry WHERE parent=? AND name=? "
					    "AND view=0", -1, &q, NULL), SQLITE_OK);
	for (c = strtok_r(copy, "/", &save); c && ino; c = strtok_r(NULL, "/", &save)) {
		sqlite3_reset(q);
		sqlite3_bind_int64(q, 1, ino);
		sqlite3_bind_blob(q, 2, c, (int)strlen(c), SQLITE_STATIC);
		ino = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
	}
	sqlite3_finalize(q);
	free(copy);
	return ino;
}

/* One integer of an SQL query with one int64 parameter (-1 when NULL,
 * -2 when there is no row). */
static int64_t query_int(const char *sql, int64_t arg)
{
	sqlite3_stmt *q;
	int64_t v = -2;

	ck_assert_int_eq(sqlite3_prepare_v2(b.db, sql, -1, &q, NULL), SQLITE_OK);
	sqlite3_bind_int64(q, 1, arg);
	if (sqlite3_step(q) == SQLITE_ROW)
		v = sqlite3_column_type(q, 0) == SQLITE_NULL ? -1 : sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return v;
}

/* Names in merged directory PATH as "a;b;" in name order. */
static char *names(const char *path)
{
	int64_t ino = path[0] ? lookup(path) : IMGFS_ROOT_INO;
	sqlite3_stmt *q;
	char *s = calloc(1, 1);

	ck_assert_int_ne(ino, 0);
	ck_assert_int_eq(sqlite3_prepare_v2(b.db, "SELECT name FROM dentry WHERE parent=? AND view=0 "
					    "ORDER BY name", -1, &q, NULL), SQLITE_OK);
	sqlite3_bind_int64(q, 1, ino);
	while (sqlite3_step(q) == SQLITE_ROW) {
		char *n;

		if (asprintf(&n, "%s%.*s;", s, sqlite3_column_bytes(q, 0),
			     (const char *)sqlite3_column_blob(q, 0)) < 0)
			abort();
		free(s);
		s = n;
	}
	sqlite3_finalize(q);
	return s;
}

#define NAMES_EQ(path, want)                                                 \
	do {                                                                 \
		char *n_ = names(path);                                      \
		ck_assert_str_eq(n_, (want));                                \
		free(n_);                                                    \
	} while (0)

/* Where the data of the file at PATH is read from: the path of its
 * source file and the offset there, or NULL when it is in the cache. */
static char *data_src(const char *path, uint64_t *off)
{
	int64_t ino = lookup(path), src;
	sqlite3_stmt *q;
	char *s = NULL;

	ck_assert_int_ne(ino, 0);
	src = query_int("SELECT src FROM inode WHERE ino=?", ino);
	if (src < 0)
		return NULL;
	*off = (uint64_t)query_int("SELECT off FROM inode WHERE ino=?", ino);
	ck_assert_int_eq(sqlite3_prepare_v2(b.db, "SELECT path FROM source WHERE id=?", -1, &q, NULL),
			 SQLITE_OK);
	sqlite3_bind_int64(q, 1, src);
	ck_assert_int_eq(sqlite3_step(q), SQLITE_ROW);
	s = strdup((const char *)sqlite3_column_text(q, 0));
	sqlite3_finalize(q);
	return s;
}

/* The content of the file at PATH as stored in the content cache,
 * decoded here with libzstd from the frames its chunk rows name; the
 * caller frees it.  All frames must have been drained. */
static unsigned char *cached(const char *path, size_t size)
{
	int64_t ino = lookup(path);
	unsigned char *out = malloc(size + 1), *frame = malloc(IMGFS_CHUNK), *z = NULL;
	sqlite3_stmt *q;
	size_t done = 0;
	int fd = open(cache_path, O_RDONLY);

	ck_assert_int_ne(ino, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert(out && frame);
	ck_assert_int_eq(sqlite3_prepare_v2(b.db, "SELECT off, csize, foff FROM chunk WHERE ino=? "
					    "ORDER BY idx", -1, &q, NULL), SQLITE_OK);
	sqlite3_bind_int64(q, 1, ino);
	while (sqlite3_step(q) == SQLITE_ROW) {
		uint64_t off = (uint64_t)sqlite3_column_int64(q, 0);
		size_t csize = (size_t)sqlite3_column_int64(q, 1), foff = (size_t)sqlite3_column_int64(q, 2);
		size_t n, take;

		z = realloc(z, csize);
		ck_assert_ptr_nonnull(z);
		ck_assert_int_eq(pread(fd, z, csize, (off_t)off), (ssize_t)csize);
		n = ZSTD_decompress(frame, IMGFS_CHUNK, z, csize);
		ck_assert(!ZSTD_isError(n));
		ck_assert_uint_le(foff, n);
		take = size - done < n - foff ? size - done : n - foff;
		if (take > IMGFS_CHUNK)
			take = IMGFS_CHUNK;
		memcpy(out + done, frame + foff, take);
		done += take;
	}
	sqlite3_finalize(q);
	ck_assert_uint_eq(done, size);
	close(fd);
	free(frame);
	free(z);
	return out;
}

/* ---- bomb and space checks ---- */

/* Only outputs over IMGFS_BOMB_MIN are judged; then a ratio over
 * IMGFS_BOMB_RATIO is a bomb, exactly the ratio is not. */
START_TEST(bomb_check)
{
	const uint64_t min = IMGFS_BOMB_MIN, ratio = IMGFS_BOMB_RATIO;
	struct imgfs_err e;

	if (getenv("IMGFS_MAX_RATIO"))
		return; /* the environment moved the limit this test is about */
	memset(&e, 0, sizeof(e));
	ck_assert_int_eq(imgfs_bomb_check("x", min, 1, 0, &e), 0);       /* not large enough */
	ck_assert_int_eq(imgfs_bomb_check("x", min + 1, 0, 0, &e), 0);   /* nothing read yet */
	ck_assert_int_eq(imgfs_bomb_check("x", 4 * min, 4 * min / ratio, 0, &e), 0);
	ck_assert_str_eq(e.msg, "");
	/* integer ratio ratio+1 */
	ck_assert_int_eq(imgfs_bomb_check("x", (ratio + 1) * (min / ratio + 1), min / ratio + 1, 0, &e),
			 -EFBIG);
	ck_assert_int_eq(imgfs_bomb_check(NULL, min + 1, 1, 0, NULL), -EFBIG);
	memset(&e, 0, sizeof(e));
	ck_assert_int_eq(imgfs_bomb_check("layer 7", min + 1, 1, 0, &e), -EFBIG);
	ck_assert_int_eq(e.code, -EFBIG);
	ck_assert_int_eq(e.input, 1);
	ck_assert_ptr_nonnull(strstr(e.msg, "layer 7"));
}
END_TEST

/* A ratio the caller gives (imgfs_opts.max_ratio) replaces the default. */
START_TEST(bomb_ratio_given)
{
	const uint64_t min = IMGFS_BOMB_MIN;

	/* a ratio given by the caller replaces the default */
	ck_assert_int_eq(imgfs_bomb_check("x", 10 * min, min, 10, NULL), 0);
	ck_assert_int_eq(imgfs_bomb_check("x", 11 * min, min, 10, NULL), -EFBIG);
	ck_assert_int_eq(imgfs_bomb_check("x", 11 * min, min, 0, NULL), 0);
}
END_TEST

/* The free-space check looks at the disk once per 64 MiB written: /proc
 * has no free blocks at all, so it stands for a full disk. */
START_TEST(space_check)
{
	const uint64_t step = 64u << 20;
	struct statvfs sv;
	struct imgfs_err e;
	char *here;

	/* our own look at /proc: it must really look full for this test */
	if (statvfs("/proc", &sv) != 0 || (uint64_t)sv.f_bavail * sv.f_frsize >= IMGFS_DISK_MARGIN)
		return;
	if (asprintf(&here, "%s/spool", dir) < 0)
		abort();
	ck_assert_int_eq(statvfs(dir, &sv), 0);
	ck_assert_uint_ge((uint64_t)sv.f_bavail * sv.f_frsize, IMGFS_DISK_MARGIN);
	memset(&e, 0, sizeof(e));
	/* a full step on a roomy disk: checked, fine, and the count restarts */
	ck_assert_int_eq(imgfs_space_check(here, step, &e), 0);
	/* below one step nothing is checked, even on a full disk */
	ck_assert_int_eq(imgfs_space_check("/proc/spool", step - 1, &e), 0);
	ck_assert_str_eq(e.msg, "");
	/* the byte that completes the step triggers the check */
	ck_assert_int_eq(imgfs_space_check("/proc/spool", 1, &e), -ENOSPC);
	ck_assert_int_eq(e.code, -ENOSPC);
	ck_assert_int_eq(e.input, 0);
	ck_assert_ptr_nonnull(strstr(e.msg, "/proc/spool"));
	/* and then the count starts again */
	ck_assert_int_eq(imgfs_space_check("/proc/spool", 1, NULL), 0);
	/* a directory that cannot be looked at is not a full disk */
	ck_assert_int_eq(imgfs_space_check("/no/such/dir/spool", step, NULL), 0);
	free(here);
}
END_TEST

/* ---- the region reader ---- */

/* Reads every entry of archive A into "name=content;" form. */
static char *list_archive(struct archive *a, int *rc)
{
	struct archive_entry *e;
	char *s = calloc(1, 1);
	char buf[256];

	ck_assert_ptr_nonnull(s);
	while ((*rc = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		la_ssize_t n = archive_read_data(a, buf, sizeof(buf) - 1);
		char *t;

		ck_assert_int_ge(n, 0);
		buf[n] = '\0';
		if (asprintf(&t, "%s%s=%s;", s, archive_entry_pathname(e), buf) < 0)
			abort();
		free(s);
		s = t;
	}
	return s;
}

/* A tar inside a larger file: only the region is read, whatever lies
 * before and after it. */
START_TEST(region_offset)
{
	const struct tu_entry e[] = { F("one", "first file"), D("d/"), F("d/two", "second") };
	struct tu_blob t;
	struct imgfs_region r;
	struct archive *a;
	char *s;
	int rc;

	tu_tar(&t, e, N(e), 0);
	r = region_of(t.data, t.len, 4321);
	a = imgfs_region_archive(&r, NULL);
	ck_assert_ptr_nonnull(a);
	s = list_archive(a, &rc);
	ck_assert_int_eq(rc, ARCHIVE_EOF);
	ck_assert_str_eq(s, "one=first file;d/=;d/two=second;");
	ck_assert_int_eq(archive_filter_count(a), 1);
	free(s);
	imgfs_region_archive_free(a);
	/* the same bytes one byte off are no tar */
	r.off++;
	a = imgfs_region_archive(&r, NULL);
	s = list_archive(a, &rc);
	ck_assert_int_eq(rc, ARCHIVE_FATAL);
	ck_assert_str_eq(s, "");
	free(s);
	imgfs_region_archive_free(a);
	free((char *)r.file);
	tu_blob_free(&t);
}
END_TEST

/* A region cut short ends the tar early: an error, not the junk after. */
START_TEST(region_cut)
{
	unsigned char *big = tu_random(5000, 4);
	const struct tu_entry e[] = { B("big", big, 5000), F("after", "x") };
	struct tu_blob t;
	struct imgfs_region r;
	struct archive *a;
	struct archive_entry *ae;
	char buf[8192];

	tu_tar(&t, e, N(e), 0);
	r = region_of(t.data, t.len, 512);
	r.size = 3000; /* inside big's data */
	a = imgfs_region_archive(&r, NULL);
	ck_assert_int_eq(archive_read_next_header(a, &ae), ARCHIVE_OK);
	ck_assert_int_lt(archive_read_data(a, buf, sizeof(buf)), 5000);
	ck_assert_int_ne(archive_read_next_header(a, &ae), ARCHIVE_OK);
	imgfs_region_archive_free(a);
	free((char *)r.file);
	tu_blob_free(&t);
	free(big);
}
END_TEST

START_TEST(region_gzip)
{
	const struct tu_entry e[] = { F("z", "compressed content") };
	struct imgfs_region_io io;
	struct tu_blob t;
	struct imgfs_region r;
	struct archive *a;
	char *s;
	int rc;

	tu_tar(&t, e, N(e), TU_GZIP);
	r = region_of(t.data, t.len, 100);
	a = imgfs_region_archive(&r, &io);
	s = list_archive(a, &rc);
	ck_assert_int_eq(rc, ARCHIVE_EOF);
	ck_assert_str_eq(s, "z=compressed content;");
	ck_assert_str_eq(imgfs_region_compression(a, &io), "gzip");
	free(s);
	imgfs_region_archive_free(a);
	free((char *)r.file);
	tu_blob_free(&t);
}
END_TEST

/* An empty region is an empty archive (a layer of no bytes), not an error. */
START_TEST(region_empty)
{
	struct imgfs_region r;
	struct archive *a;
	struct archive_entry *ae;

	r = region_of("xyz", 3, 10);
	r.size = 0;
	a = imgfs_region_archive(&r, NULL);
	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(archive_read_next_header(a, &ae), ARCHIVE_EOF);
	imgfs_region_archive_free(a);
	free((char *)r.file);
}
END_TEST

/* ---- layer application ---- */

/* Uncompressed layers are read in place: each file's data offset is
 * where its bytes are in the image file.  More than the 64 entries whose
 * offsets are verified by a header walk, so derived offsets are checked
 * too, and a region that starts inside a larger file. */
START_TEST(plain_offsets)
{
	enum { NF = 100 };
	struct tu_entry e[NF + 2];
	unsigned char *data[NF];
	char path[NF][300];
	struct tu_blob t;
	struct applied a;
	const size_t prefix = 10240 + 512;
	size_t i;

	memset(e, 0, sizeof(e));
	e[0] = (struct tu_entry)D("d/");
	for (i = 0; i < NF; i++) {
		size_t size = 20 + i * 97;

		data[i] = tu_random(size, 500 + i);
		/* every 7th name is long: a pax header before it */
		if (i % 7 == 3)
			snprintf(path[i], sizeof(path[i]), "d/%0200zu", i);
		else
			snprintf(path[i], sizeof(path[i]), "d/f%zu", i);
		e[i + 1] = (struct tu_entry)B(path[i], data[i], size);
	}
	e[NF + 1] = (struct tu_entry)F("empty", "");
	tu_tar(&t, e, NF + 2, 0);
	a = apply_at(&t, prefix, 0, 0);
	ck_assert_int_eq(a.rc, 0);
	ck_assert_uint_eq(a.entries, NF + 2);
	ck_assert_str_eq(a.compression, "none");
	for (i = 0; i < NF; i++) {
		const unsigned char *hit = memmem(t.data, t.len, data[i], e[i + 1].size);
		uint64_t off = 0;
		char *src = data_src(path[i], &off);

		ck_assert_ptr_nonnull(hit);
		ck_assert_msg(src != NULL, "%s has no source", path[i]);
		ck_assert(strstr(src, "/layer") != NULL);
		ck_assert_uint_eq(off, prefix + (uint64_t)(hit - (const unsigned char *)t.data));
		ck_assert_int_eq(query_int("SELECT size FROM inode WHERE ino=?", lookup(path[i])),
				 (int64_t)e[i + 1].size);
		free(src);
		free(data[i]);
	}
	/* an empty file has no data anywhere, and nothing in the cache */
	ck_assert_int_eq(query_int("SELECT src FROM inode WHERE ino=?", lookup("empty")), -1);
	ck_assert(!b.cache_open);
	tu_blob_free(&t);
}
END_TEST

/* A gzip layer's file data goes to the content cache, in IMGFS_CHUNK
 * pieces; the layer's size is its uncompressed tar's. */
START_TEST(gzip_cached)
{
	const size_t big_len = IMGFS_CHUNK + 12345;
	unsigned char *big = tu_random(big_len, 77);
	const struct tu_entry e[] = { F("small", "a small file"), B("big", big, big_len) };
	struct tu_blob t, plain;
	struct applied a;
	unsigned char *got;

	tu_tar(&t, e, N(e), TU_GZIP);
	tu_tar(&plain, e, N(e), 0);
	a = apply_at(&t, 0, 0, 0);
	ck_assert_int_eq(a.rc, 0);
	ck_assert_str_eq(a.compression, "gzip");
	ck_assert_uint_eq(a.entries, 2);
	ck_assert_uint_eq(a.size, plain.len);
	/* apply_at drained the last frames, as build.c does */
	ck_assert_int_eq(query_int("SELECT src FROM inode WHERE ino=?", lookup("small")), -1);
	ck_assert_int_eq(query_int("SELECT count(*) FROM chunk WHERE ino=?", lookup("big")), 2);
	got = cached("small", 12);
	ck_assert(memcmp(got, "a small file", 12) == 0);
	free(got);
	got = cached("big", big_len);
	ck_assert(memcmp(got, big, big_len) == 0);
	free(got);
	tu_blob_free(&t);
	tu_blob_free(&plain);
	free(big);
}
END_TEST

/* ".wh.NAME" hides NAME of lower layers and is itself no file; an opaque
 * marker hides all lower children of its directory. */
START_TEST(whiteouts)
{
	const struct tu_entry l0[] = {
		D("a/"), F("a/x", "1"), F("a/y", "2"), D("o/"), F("o/p", "3"), F("o/q", "4"),
		F("top", "5"),
	};
	const struct tu_entry l1[] = {
		F("a/.wh.x", ""), F(".wh.top", ""), F("o/.wh..wh..opq", ""), F("o/new", "6"),
		/* a whiteout of what is not there is no error */
		F("a/.wh.never", ""),
	};

	ck_assert_int_eq(apply(l0, N(l0), 0, 0).rc, 0);
	ck_assert_int_eq(apply(l1, N(l1), 0, 1).rc, 0);
	NAMES_EQ("", "a;o;");
	NAMES_EQ("a", "y;");
	NAMES_EQ("o", "new;");
}
END_TEST

/* ".wh." alone names nothing: the layer is refused as bad input. */
START_TEST(bare_whiteout)
{
	const struct tu_entry top[] = { F(".wh.", "") };
	const struct tu_entry sub[] = { D("d/"), F("d/.wh.", "") };
	struct applied a;

	a = apply(top, N(top), 0, 0);
	ck_assert_int_eq(a.rc, -EINVAL);
	ck_assert_int_eq(err.input, 1);
	ck_assert_ptr_nonnull(strstr(err.msg, ".wh."));
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(apply(sub, N(sub), 0, 1).rc, -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "d/.wh."));
}
END_TEST

/* AUFS bookkeeping (.wh..wh.plnk/ and friends) is skipped with all that
 * is beneath it, and hides nothing. */
START_TEST(aufs_skipped)
{
	const struct tu_entry l0[] = { F("plnk", "lower"), F("aufs", "lower"), D("d/"), F("d/orph", "o") };
	const struct tu_entry l1[] = {
		D(".wh..wh.plnk/"), F(".wh..wh.plnk/1234.5678", "hardlink data"),
		F(".wh..wh.aufs", ""), D("d/.wh..wh.orph/"), F("d/.wh..wh.orph/x", "y"),
		F("kept", "z"),
	};
	struct applied a;

	ck_assert_int_eq(apply(l0, N(l0), 0, 0).rc, 0);
	a = apply(l1, N(l1), 0, 1);
	ck_assert_int_eq(a.rc, 0);
	ck_assert_uint_eq(a.entries, N(l1));
	NAMES_EQ("", "aufs;d;kept;plnk;");
	NAMES_EQ("d", "orph;");
	/* not in the layer's own tree either */
	ck_assert_int_eq(query_int("SELECT count(*) FROM dentry WHERE name LIKE '.wh.%' AND view=1", 0),
			 0);
}
END_TEST

/* Names with ".." are skipped (counted as entries, applied nowhere); the
 * rest of the layer is applied. */
START_TEST(dotdot_skipped)
{
	const struct tu_entry e[] = {
		F("../evil", "x"), F("a/../../evil2", "x"), F("ok", "fine"), F("..", "x"),
		F("b/..", "x"),
	};
	struct applied a = apply(e, N(e), 0, 0);

	ck_assert_int_eq(a.rc, 0);
	ck_assert_uint_eq(a.entries, N(e));
	NAMES_EQ("", "ok;");
	ck_assert_int_eq(query_int("SELECT count(*) FROM dentry WHERE name LIKE '%evil%'", 0), 0);
}
END_TEST

/* estargz metadata at the layer's root is hidden when the manifest says
 * the layer is estargz, and only then; elsewhere it is a file. */
START_TEST(estargz_hidden)
{
	const struct tu_entry e[] = {
		F("stargz.index.json", "{}"), F(".prefetch.landmark", "x"),
		F(".no.prefetch.landmark", "x"), D("d/"), F("d/stargz.index.json", "{}"),
		F("real", "r"),
	};
	struct tu_blob t;

	tu_tar(&t, e, N(e), 0);
	ck_assert_int_eq(apply_at(&t, 0, 0, 1).rc, 0);
	NAMES_EQ("", "d;real;");
	NAMES_EQ("d", "stargz.index.json;");
	ck_assert_int_eq(apply_at(&t, 0, 1, 0).rc, 0);
	NAMES_EQ("", ".no.prefetch.landmark;.prefetch.landmark;d;real;stargz.index.json;");
	tu_blob_free(&t);
}
END_TEST

/* A sparse file (GNU pax 1.0 sparse, written by libarchive) is not
 * stored contiguously: its data goes through the cache, holes as zeros,
 * even in an uncompressed layer.  A large file follows it, so that the
 * sparse file's claimed size still fits the layer and only the sparse
 * check can keep it from being read in place. */
START_TEST(sparse_file)
{
	struct archive *w = archive_write_new();
	struct archive_entry *ae = archive_entry_new();
	static unsigned char buf[1 << 18], content[16384], pad[65536];
	size_t used = 0;
	struct tu_blob t;
	unsigned char *got;
	uint64_t off;

	/* 16 KiB: a hole, 4 KiB of data at 8192, a hole */
	memset(content, 0, sizeof(content));
	memset(content + 8192, 'Z', 4096);
	ck_assert_int_eq(archive_write_set_format_pax(w), ARCHIVE_OK);
	ck_assert_int_eq(archive_write_open_memory(w, buf, sizeof(buf), &used), ARCHIVE_OK);
	archive_entry_set_pathname(ae, "sparse");
	archive_entry_set_filetype(ae, AE_IFREG);
	archive_entry_set_perm(ae, 0644);
	archive_entry_set_size(ae, sizeof(content));
	archive_entry_sparse_add_entry(ae, 8192, 4096);
	ck_assert_int_eq(archive_write_header(w, ae), ARCHIVE_OK);
	ck_assert_int_eq(archive_write_data(w, content, sizeof(content)), sizeof(content));
	archive_entry_clear(ae);
	archive_entry_set_pathname(ae, "after");
	archive_entry_set_filetype(ae, AE_IFREG);
	archive_entry_set_perm(ae, 0644);
	archive_entry_set_size(ae, 10);
	ck_assert_int_eq(archive_write_header(w, ae), ARCHIVE_OK);
	ck_assert_int_eq(archive_write_data(w, "AFTER-DATA", 10), 10);
	archive_entry_clear(ae);
	archive_entry_set_pathname(ae, "pad");
	archive_entry_set_filetype(ae, AE_IFREG);
	archive_entry_set_perm(ae, 0644);
	archive_entry_set_size(ae, sizeof(pad));
	ck_assert_int_eq(archive_write_header(w, ae), ARCHIVE_OK);
	ck_assert_int_eq(archive_write_data(w, pad, sizeof(pad)), sizeof(pad));
	ck_assert_int_eq(archive_write_close(w), ARCHIVE_OK);
	archive_write_free(w);
	archive_entry_free(ae);
	/* the writer did write it sparse: fewer bytes than the file */
	ck_assert_uint_lt(used, sizeof(content) + sizeof(pad));
	t.data = buf;
	t.len = used;
	ck_assert_int_eq(apply_at(&t, 0, 0, 0).rc, 0);
	/* apply_at drained the last frames, as build.c does */
	ck_assert_int_eq(query_int("SELECT size FROM inode WHERE ino=?", lookup("sparse")),
			 (int64_t)sizeof(content));
	ck_assert_ptr_null(data_src("sparse", &off));
	got = cached("sparse", sizeof(content));
	ck_assert(memcmp(got, content, sizeof(content)) == 0);
	free(got);
	/* the file after it is still read in place */
	got = (unsigned char *)data_src("after", &off);
	ck_assert_ptr_nonnull(got);
	ck_assert_ptr_nonnull(memmem(buf, used, "AFTER-DATA", 10));
	ck_assert_uint_eq(off, (uint64_t)((unsigned char *)memmem(buf, used, "AFTER-DATA", 10) - buf));
	free(got);
}
END_TEST

/* The content of the file at PATH as the read side serves it from the
 * cache: chunk by chunk, a chunk without a row is zeros (a hole). */
static unsigned char *cached_holes(const char *path, size_t size)
{
	int64_t ino = lookup(path);
	unsigned char *out = calloc(1, size + 1), *frame = malloc(IMGFS_CHUNK), *z = NULL;
	sqlite3_stmt *q;
	int fd = open(cache_path, O_RDONLY);

	ck_assert_int_ne(ino, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert(out && frame);
	ck_assert_int_eq(sqlite3_prepare_v2(b.db, "SELECT off, csize, foff FROM chunk WHERE ino=? "
					    "AND idx=?", -1, &q, NULL), SQLITE_OK);
	for (size_t at = 0; at < size; at += IMGFS_CHUNK) {
		size_t take = size - at < IMGFS_CHUNK ? size - at : IMGFS_CHUNK;

		sqlite3_reset(q);
		sqlite3_bind_int64(q, 1, ino);
		sqlite3_bind_int64(q, 2, (int64_t)(at / IMGFS_CHUNK));
		if (sqlite3_step(q) == SQLITE_ROW) {
			uint64_t off = (uint64_t)sqlite3_column_int64(q, 0);
			size_t csize = (size_t)sqlite3_column_int64(q, 1);
			size_t foff = (size_t)sqlite3_column_int64(q, 2), n;

			z = realloc(z, csize);
			ck_assert_ptr_nonnull(z);
			ck_assert_int_eq(pread(fd, z, csize, (off_t)off), (ssize_t)csize);
			n = ZSTD_decompress(frame, IMGFS_CHUNK, z, csize);
			ck_assert(!ZSTD_isError(n));
			ck_assert_uint_ge(n, foff + take);
			memcpy(out + at, frame + foff, take);
		}
	}
	sqlite3_finalize(q);
	close(fd);
	free(frame);
	free(z);
	return out;
}

/* A sparse file of 5 MiB and 3 bytes with 4 KiB of data in its third
 * chunk: only that chunk gets a frame (a hole costs no cache), and the
 * bytes read chunk by chunk are the file's. */
START_TEST(sparse_holes_no_frames)
{
	struct archive *w = archive_write_new();
	struct archive_entry *ae = archive_entry_new();
	static unsigned char buf[1 << 16];
	size_t used = 0, size = (5u << 20) + 3, at = (2u << 20) + 100;
	unsigned char *content = calloc(1, size), *got;
	struct tu_blob t;

	ck_assert_ptr_nonnull(content);
	memset(content + at, 'Q', 4096);
	ck_assert_int_eq(archive_write_set_format_pax(w), ARCHIVE_OK);
	ck_assert_int_eq(archive_write_open_memory(w, buf, sizeof(buf), &used), ARCHIVE_OK);
	archive_entry_set_pathname(ae, "holes");
	archive_entry_set_filetype(ae, AE_IFREG);
	archive_entry_set_perm(ae, 0644);
	archive_entry_set_size(ae, (la_int64_t)size);
	archive_entry_sparse_add_entry(ae, (la_int64_t)at, 4096);
	ck_assert_int_eq(archive_write_header(w, ae), ARCHIVE_OK);
	ck_assert_int_eq(archive_write_data(w, content, size), (la_ssize_t)size);
	ck_assert_int_eq(archive_write_close(w), ARCHIVE_OK);
	archive_write_free(w);
	archive_entry_free(ae);
	ck_assert_uint_lt(used, 16384);
	t.data = buf;
	t.len = used;
	ck_assert_int_eq(apply_at(&t, 0, 0, 0).rc, 0);
	ck_assert_int_eq(query_int("SELECT size FROM inode WHERE ino=?", lookup("holes")),
			 (int64_t)size);
	ck_assert_int_eq(query_int("SELECT count(*) FROM chunk WHERE ino=?", lookup("holes")), 1);
	ck_assert_int_eq(query_int("SELECT idx FROM chunk WHERE ino=?", lookup("holes")), 2);
	got = cached_holes("holes", size);
	ck_assert(memcmp(got, content, size) == 0);
	free(got);
	free(content);
}
END_TEST

/* One ustar header block NAME/TYPE/SIZE into H, checksum included. */
static void ustar_header(unsigned char *h, const char *name, char type, size_t size)
{
	unsigned sum = 0;

	memset(h, 0, 512);
	memcpy(h, name, strlen(name));
	memcpy(h + 100, "0000644", 7);
	memcpy(h + 108, "0000000", 7);
	memcpy(h + 116, "0000000", 7);
	snprintf((char *)h + 124, 12, "%011zo", size);
	memcpy(h + 136, "14520000000", 11);
	h[156] = (unsigned char)type;
	memcpy(h + 257, "ustar\0" "00", 8);
	memset(h + 148, ' ', 8);
	for (int i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
}

/* A pax GNU.sparse.realsize with no map over an uncompressed layer: the
 * entry holds 100 stored bytes and claims 1500.  It must not be read in
 * place (that served the next header and file): its bytes are the 100,
 * then zeros (libarchive's and bsdtar's reading), and the file after it
 * keeps its own bytes, in place. */
START_TEST(realsize_without_map)
{
	static const char rec[] = "28 GNU.sparse.realsize=1500\n";
	static unsigned char tar[512 * 12];
	unsigned char *p = tar, *got, want[1500];
	struct tu_blob t;
	uint64_t off;
	char *src;

	memset(tar, 0, sizeof(tar));
	ck_assert_uint_eq(strlen(rec), 28);
	ustar_header(p, "PaxHeaders/b", 'x', strlen(rec));
	memcpy(p + 512, rec, strlen(rec));
	p += 1024;
	ustar_header(p, "b", '0', 100);
	memset(p + 512, 'b', 100);
	p += 1024;
	ustar_header(p, "c", '0', 2048);
	memset(p + 512, 'c', 2048);
	p += 512 + 2048;
	t.data = tar;
	t.len = (size_t)(p - tar) + 1024;
	ck_assert_int_eq(apply_at(&t, 0, 0, 0).rc, 0);
	ck_assert_int_eq(query_int("SELECT size FROM inode WHERE ino=?", lookup("b")), 1500);
	ck_assert_ptr_null(data_src("b", &off));
	memset(want, 0, sizeof(want));
	memset(want, 'b', 100);
	got = cached_holes("b", sizeof(want));
	ck_assert(memcmp(got, want, sizeof(want)) == 0);
	free(got);
	src = data_src("c", &off);
	ck_assert_ptr_nonnull(src);
	ck_assert_uint_eq(off, 512 * 5);
	free(src);
}
END_TEST

/* Writes one file entry "f" carrying N xattrs named user.xNNN with
 * values of LEN bytes, plus the names XN with the value "o", as a pax tar
 * with SCHILY.xattr records only (as GNU tar and Go's archive/tar write
 * them), or with ALL_HEADERS also libarchive's own LIBARCHIVE.xattr ones
 * (libarchive's and bsdtar's default). */
static void xattr_tar(struct tu_blob *out, int n, size_t len, const char *const *xn, size_t nx,
		      int all_headers)
{
	struct archive *w = archive_write_new();
	struct archive_entry *ae = archive_entry_new();
	size_t used = 0, cap = (size_t)n * (2 * len + 128) + 65536;
	unsigned char *buf = malloc(cap);
	char *val = malloc(len + 1), name[32];

	ck_assert(buf && val && w && ae);
	memset(val, 'v', len);
	ck_assert_int_eq(archive_write_set_format_pax(w), ARCHIVE_OK);
	ck_assert_int_eq(archive_write_set_format_option(w, "pax", "xattrheader",
							 all_headers ? "ALL" : "SCHILY"), ARCHIVE_OK);
	ck_assert_int_eq(archive_write_open_memory(w, buf, cap, &used), ARCHIVE_OK);
	archive_entry_set_pathname(ae, "f");
	archive_entry_set_filetype(ae, AE_IFREG);
	archive_entry_set_perm(ae, 0644);
	archive_entry_set_size(ae, 0);
	for (size_t i = 0; i < nx; i++)
		archive_entry_xattr_add_entry(ae, xn[i], "o", 1);
	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "user.x%03d", i);
		archive_entry_xattr_add_entry(ae, name, val, len);
	}
	ck_assert_int_eq(archive_write_header(w, ae), ARCHIVE_OK);
	ck_assert_int_eq(archive_write_close(w), ARCHIVE_OK);
	archive_write_free(w);
	archive_entry_free(ae);
	free(val);
	out->data = buf;
	out->len = used;
}

static int64_t xattr_count(const char *path)
{
	return query_int("SELECT count(*) FROM xattr WHERE ino=?", lookup(path));
}

static int64_t xattr_len(const char *path, const char *name)
{
	sqlite3_stmt *q;
	int64_t v = -1;

	ck_assert_int_eq(sqlite3_prepare_v2(b.db, "SELECT length(value) FROM xattr WHERE ino=? AND "
					    "name=?", -1, &q, NULL), SQLITE_OK);
	sqlite3_bind_int64(q, 1, lookup(path));
	sqlite3_bind_text(q, 2, name, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW)
		v = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return v;
}

/* A value of IMGFS_XATTR_VALUE_MAX bytes is kept, one byte more dropped. */
START_TEST(xattr_value_max)
{
	struct tu_blob t;

	xattr_tar(&t, 1, IMGFS_XATTR_VALUE_MAX, NULL, 0, 0);
	ck_assert_int_eq(apply_at(&t, 0, 0, 0).rc, 0);
	ck_assert_int_eq(xattr_len("f", "user.x000"), IMGFS_XATTR_VALUE_MAX);
	tu_blob_free(&t);
	xattr_tar(&t, 1, IMGFS_XATTR_VALUE_MAX + 1, NULL, 0, 0);
	ck_assert_int_eq(apply_at(&t, 0, 1, 0).rc, 0);
	ck_assert_int_eq(lookup("f") != 0, 1);
	ck_assert_int_eq(xattr_count("f"), 0);
	tu_blob_free(&t);
}
END_TEST

/* At most IMGFS_XATTRS_PER_ENTRY per entry, the first ones; overlayfs'
 * and imgfs's own names never count and never land. */
START_TEST(xattrs_per_entry)
{
	static const char *const own[] = { "trusted.overlay.opaque", "user.overlay.x",
					   "user.imgfs.size" };
	struct tu_blob t;
	char name[32];

	xattr_tar(&t, IMGFS_XATTRS_PER_ENTRY + 2, 3, own, N(own), 0);
	ck_assert_int_eq(apply_at(&t, 0, 0, 0).rc, 0);
	ck_assert_int_eq(xattr_count("f"), IMGFS_XATTRS_PER_ENTRY);
	snprintf(name, sizeof(name), "user.x%03d", IMGFS_XATTRS_PER_ENTRY - 1);
	ck_assert_int_eq(xattr_len("f", name), 3);
	snprintf(name, sizeof(name), "user.x%03d", IMGFS_XATTRS_PER_ENTRY);
	ck_assert_int_eq(xattr_len("f", name), -1);
	for (size_t i = 0; i < N(own); i++)
		ck_assert_int_eq(xattr_len("f", own[i]), -1);
	tu_blob_free(&t);
	/* exactly the limit: all kept */
	xattr_tar(&t, IMGFS_XATTRS_PER_ENTRY, 3, NULL, 0, 0);
	ck_assert_int_eq(apply_at(&t, 0, 1, 0).rc, 0);
	ck_assert_int_eq(xattr_count("f"), IMGFS_XATTRS_PER_ENTRY);
	tu_blob_free(&t);
	/* libarchive's default writes each xattr twice (LIBARCHIVE.xattr and
	 * SCHILY.xattr) and its reader hands both over: fewer than half the
	 * limit in distinct names is well within it */
	xattr_tar(&t, IMGFS_XATTRS_PER_ENTRY / 2, 3, NULL, 0, 1);
	ck_assert_int_eq(apply_at(&t, 0, 2, 0).rc, 0);
	ck_assert_int_eq(xattr_count("f"), IMGFS_XATTRS_PER_ENTRY / 2);
	tu_blob_free(&t);
}
END_TEST

/* A pax tar written by libarchive or bsdtar holds each xattr twice
 * (LIBARCHIVE.xattr and SCHILY.xattr records) and the reader hands both
 * over: the limit counts distinct names, so all IMGFS_XATTRS_PER_ENTRY are
 * kept as with SCHILY records only (it once kept 64), and each name over
 * the limit is warned about once, not once per record. */
START_TEST(xattrs_per_entry_libarchive_headers)
{
	struct tu_blob t;
	char name[32], *log, *p;
	size_t len;
	int saved, fd, warnings = 0;

	xattr_tar(&t, IMGFS_XATTRS_PER_ENTRY, 3, NULL, 0, 1);
	ck_assert_int_eq(apply_at(&t, 0, 0, 0).rc, 0);
	ck_assert_int_eq(xattr_count("f"), IMGFS_XATTRS_PER_ENTRY);
	snprintf(name, sizeof(name), "user.x%03d", IMGFS_XATTRS_PER_ENTRY - 1);
	ck_assert_int_eq(xattr_len("f", name), 3);
	tu_blob_free(&t);

	/* two over the limit: two warnings on stderr */
	xattr_tar(&t, IMGFS_XATTRS_PER_ENTRY + 2, 3, NULL, 0, 1);
	if (asprintf(&log, "%s/stderr", dir) < 0)
		abort();
	fflush(stderr);
	saved = dup(2);
	fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert(saved >= 0 && fd >= 0 && dup2(fd, 2) == 2);
	close(fd);
	ck_assert_int_eq(apply_at(&t, 0, 1, 0).rc, 0);
	fflush(stderr);
	ck_assert_int_eq(dup2(saved, 2), 2);
	close(saved);
	ck_assert_int_eq(xattr_count("f"), IMGFS_XATTRS_PER_ENTRY);
	snprintf(name, sizeof(name), "user.x%03d", IMGFS_XATTRS_PER_ENTRY);
	ck_assert_int_eq(xattr_len("f", name), -1);
	p = tu_read_file(log, &len);
	for (char *q = p; (q = strstr(q, "dropped")); q++)
		warnings++;
	ck_assert_msg(warnings == 2, "%d warnings: %s", warnings, p);
	free(p);
	free(log);
	tu_blob_free(&t);
}
END_TEST

/* Hardlinks share their target's inode; one whose target climbs out of
 * the root is refused. */
START_TEST(hardlinks)
{
	const struct tu_entry ok[] = { F("t", "target data"), HL("h", "t"), HL("./h2", "/t") };
	const struct tu_entry bad[] = { F("t2", "x"), HL("h3", "../t2") };
	struct applied a;
	uint64_t off;
	char *src;

	ck_assert_int_eq(apply(ok, N(ok), 0, 0).rc, 0);
	ck_assert_int_ne(lookup("t"), 0);
	ck_assert_int_eq(lookup("h"), lookup("t"));
	ck_assert_int_eq(lookup("h2"), lookup("t"));
	src = data_src("h", &off);
	ck_assert_ptr_nonnull(src);
	free(src);
	a = apply(bad, N(bad), 0, 1);
	ck_assert_int_eq(a.rc, -EINVAL);
	ck_assert_int_eq(err.input, 1);
	ck_assert_ptr_nonnull(strstr(err.msg, "h3"));
}
END_TEST

/* A layer of no bytes is an empty layer; junk is bad input. */
START_TEST(empty_and_junk)
{
	struct tu_blob t = { .data = NULL, .len = 0 };
	unsigned char *junk = tu_random(2048, 8);
	struct applied a;

	a = apply_at(&t, 0, 0, 0);
	ck_assert_int_eq(a.rc, 0);
	ck_assert_uint_eq(a.entries, 0);
	NAMES_EQ("", "");
	t.data = junk;
	t.len = 2048;
	a = apply_at(&t, 0, 1, 0);
	ck_assert_int_eq(a.rc, -EINVAL);
	ck_assert_int_eq(err.input, 1);
	ck_assert_ptr_nonnull(strstr(err.msg, "layer 1"));
	free(junk);
}
END_TEST

static Suite *layer_suite(void)
{
	Suite *s = suite_create("layer");
	TCase *limits = tcase_create("limits");
	TCase *region = tcase_create("region");
	TCase *apply_tc = tcase_create("apply");

	tcase_add_checked_fixture(limits, plain_setup, plain_teardown);
	tcase_add_checked_fixture(region, plain_setup, plain_teardown);
	tcase_add_checked_fixture(apply_tc, build_setup, build_teardown);
	tcase_add_test(limits, bomb_check);
	tcase_add_test(limits, bomb_ratio_given);
	tcase_add_test(limits, space_check);
	tcase_add_test(region, region_offset);
	tcase_add_test(region, region_cut);
	tcase_add_test(region, region_gzip);
	tcase_add_test(region, region_empty);
	tcase_add_test(apply_tc, plain_offsets);
	tcase_add_test(apply_tc, gzip_cached);
	tcase_add_test(apply_tc, whiteouts);
	tcase_add_test(apply_tc, bare_whiteout);
	tcase_add_test(apply_tc, aufs_skipped);
	tcase_add_test(apply_tc, dotdot_skipped);
	tcase_add_test(apply_tc, estargz_hidden);
	tcase_add_test(apply_tc, sparse_file);
	tcase_add_test(apply_tc, sparse_holes_no_frames);
	tcase_add_test(apply_tc, realsize_without_map);
	tcase_add_test(apply_tc, xattr_value_max);
	tcase_add_test(apply_tc, xattrs_per_entry);
	tcase_add_test(apply_tc, xattrs_per_entry_libarchive_headers);
	tcase_add_test(apply_tc, hardlinks);
	tcase_add_test(apply_tc, empty_and_junk);
	suite_add_tcase(s, limits);
	suite_add_tcase(s, region);
	suite_add_tcase(s, apply_tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(layer_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
