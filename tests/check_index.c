/* This file contains the tests of the index life cycle: reuse of a fresh
 * index, rebuilds when the image, the index file or its schema changed,
 * clean failure (no temporary files, no index) and truncated archives. */
#include "imgfs/imgfs.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <pthread.h>
#include <stdint.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

#define F(p, c) { .path = (p), .type = TU_FILE, .content = (c) }
#define D(p) { .path = (p), .type = TU_DIR }

static char *dir, *image, *index_path;

static void setup(void)
{
	dir = tu_tmpdir();
	if (asprintf(&image, "%s/image.tar", dir) < 0 || asprintf(&index_path, "%s/index.db", dir) < 0)
		abort();
}

static void teardown(void)
{
	tu_rm_rf(dir);
	free(dir);
	free(image);
	free(index_path);
}

#define BIG_LEN 100000

/* A two-layer docker-archive at PATH whose etc/conf holds CONF. */
static void write_image(const char *path, const char *conf)
{
	unsigned char *big = tu_random(BIG_LEN, 5);
	const struct tu_entry l0[] = {
		D("etc/"), F("etc/conf", conf),
		{ .path = "big", .type = TU_FILE, .data = big, .size = BIG_LEN },
	};
	const struct tu_entry l1[] = { F("top", "layer one") };
	struct tu_layer l[2] = { { .created_by = "base" }, { .created_by = "top" } };

	tu_tar(&l[0].tar, l0, 3, 0);
	tu_tar(&l[1].tar, l1, 1, 0);
	tu_docker_archive(path, l, 2);
	tu_blob_free(&l[0].tar);
	tu_blob_free(&l[1].tar);
	free(big);
}

/* Prepares INDEX for IMG, must succeed; returns info.reused. */
static int prepare_ok(const char *img, const char *index, int force, struct imgfs_build_info *info)
{
	struct imgfs_opts o = { .image = img, .index_path = index, .force = force, .quiet = 1 };
	struct imgfs_err err;
	int rc;

	memset(&err, 0, sizeof(err));
	rc = imgfs_index_prepare(&o, info, &err);
	ck_assert_msg(rc == 0, "prepare failed: %d %s", rc, err.msg);
	ck_assert_str_eq(info->index_path, index);
	return info->reused;
}

/* Opens INDEX and compares the tree with that of write_image(CONF).
 * Returns NULL when equal, else what differs (static). */
static const char *tree_diff(const char *index, const char *conf)
{
	struct imgfs_fs *fs = NULL;
	struct imgfs_err err;
	unsigned char *big = tu_random(BIG_LEN, 5);
	const char *why = NULL;
	char *v = NULL;
	size_t len = 0;
	struct imgfs_attr a;

	if (imgfs_fs_open(&fs, index, &err) != 0) {
		free(big);
		return "imgfs_fs_open failed";
	}
	v = tu_file(fs, "etc/conf");
	if (!v || strcmp(v, conf))
		why = "etc/conf differs or is missing";
	free(v);
	v = why ? NULL : tu_file(fs, "top");
	if (!why && (!v || strcmp(v, "layer one")))
		why = "top differs or is missing";
	free(v);
	v = NULL;
	if (!why && tu_walk(fs, "big", &a) != 0)
		why = "big is missing";
	if (!why) {
		v = tu_read_all(fs, a.ino, &len);
		if (!v || len != BIG_LEN || memcmp(v, big, BIG_LEN))
			why = "big differs";
		free(v);
		v = NULL;
	}
	if (!why) {
		v = tu_list(fs, IMGFS_ROOT_INO);
		if (!v || strcmp(v, ".;..;etc;big;top;"))
			why = "the root holds other names";
		free(v);
	}
	imgfs_fs_close(fs);
	free(big);
	return why;
}

static void check_tree(const char *index, const char *conf)
{
	const char *why = tree_diff(index, conf);

	ck_assert_msg(why == NULL, "%s: %s", index, why);
}

static void stat_ok(const char *path, struct stat *st)
{
	ck_assert_msg(stat(path, st) == 0, "%s: %s", path, strerror(errno));
}

struct thread_read {
	struct imgfs_fs *fs;
	const char *path;
	char *out;
	size_t len;
};

static void *thread_read_main(void *p)
{
	struct thread_read *t = p;

	struct imgfs_attr a;

	/* the whole file, its length checked: a string compare would stop at
	 * the tar padding's NUL and call a wrong read right */
	if (tu_walk(t->fs, t->path, &a) == 0)
		t->out = tu_read_all(t->fs, a.ino, &t->len);
	return NULL;
}

/* Reads PATH on a thread of its own (the read side opens a new
 * connection for it) and checks it holds exactly WANT. */
static void read_on_thread(struct imgfs_fs *fs, const char *path, const char *want)
{
	struct thread_read t = { .fs = fs, .path = path };
	pthread_t th;

	ck_assert_int_eq(pthread_create(&th, NULL, thread_read_main, &t), 0);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	ck_assert_msg(t.out && t.len == strlen(want) && memcmp(t.out, want, t.len) == 0,
		      "%s: %zu bytes \"%.*s\", not \"%s\"", path, t.len, (int)t.len,
		      t.out ? t.out : "", want);
	free(t.out);
}

/* The index at INDEX serves "big" with the LEN bytes of WANT. */
static void check_big(const char *index, const unsigned char *want, size_t len)
{
	struct imgfs_fs *fs = NULL;
	struct imgfs_err err;
	struct imgfs_attr a;
	size_t got = 0;
	char *v;

	memset(&err, 0, sizeof(err));
	ck_assert_msg(imgfs_fs_open(&fs, index, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(tu_walk(fs, "big", &a), 0);
	v = tu_read_all(fs, a.ino, &got);
	ck_assert_uint_eq(got, len);
	ck_assert(memcmp(v, want, len) == 0);
	free(v);
	imgfs_fs_close(fs);
}

START_TEST(reuse)
{
	struct imgfs_build_info i1, i2;
	struct stat s1, s2;

	write_image(image, "v1");
	ck_assert_int_eq(prepare_ok(image, index_path, 0, &i1), 0);
	ck_assert_uint_eq(i1.layers, 2);
	/* root, etc, etc/conf, big, top, and the hidden view's own */
	ck_assert_uint_ge(i1.inodes, 5);
	ck_assert_uint_eq(i1.entries, 4);
	stat_ok(index_path, &s1);
	ck_assert_int_eq(prepare_ok(image, index_path, 0, &i2), 1);
	ck_assert_uint_eq(i2.layers, 2);
	ck_assert_uint_eq(i2.inodes, i1.inodes);
	ck_assert_uint_eq(i2.entries, 4);
	ck_assert(i2.seconds < 2.0);
	/* The very same file, untouched. */
	stat_ok(index_path, &s2);
	ck_assert_uint_eq(s1.st_ino, s2.st_ino);
	ck_assert_int_eq(s1.st_mtim.tv_sec, s2.st_mtim.tv_sec);
	ck_assert_int_eq(s1.st_mtim.tv_nsec, s2.st_mtim.tv_nsec);
	check_tree(index_path, "v1");
	ck_assert_int_eq(tu_count_names(dir, ".tmp."), 0);
}
END_TEST

START_TEST(image_changed)
{
	struct imgfs_build_info info;
	struct timespec ts[2];
	struct stat st;

	write_image(image, "v1");
	ck_assert_int_eq(prepare_ok(image, index_path, 0, &info), 0);

	/* Other content, other size. */
	write_image(image, "version two");
	ck_assert_int_eq(prepare_ok(image, index_path, 0, &info), 0);
	check_tree(index_path, "version two");
	ck_assert_int_eq(prepare_ok(image, index_path, 0, &info), 1);

	/* Same size, same inode, mtime put back: only the bytes differ, and
	 * within the sampled first 64 KiB. */
	stat_ok(image, &st);
	write_image(image, "VERSION TWO"); /* O_TRUNC: the inode stays */
	ts[0] = st.st_atim;
	ts[1] = st.st_mtim;
	ck_assert_int_eq(utimensat(AT_FDCWD, image, ts, 0), 0);
	{
		struct stat now;

		stat_ok(image, &now);
		ck_assert_int_eq(now.st_size, st.st_size);
		ck_assert_uint_eq(now.st_ino, st.st_ino);
		ck_assert_int_eq(now.st_mtim.tv_sec, st.st_mtim.tv_sec);
		ck_assert_int_eq(now.st_mtim.tv_nsec, st.st_mtim.tv_nsec);
	}
	ck_assert_int_eq(prepare_ok(image, index_path, 0, &info), 0);
	check_tree(index_path, "VERSION TWO");
}
END_TEST

/* Same size, inode and mtime, the bytes changed only between the sampled
 * first and last 64 KiB of a rootfs tar: the ctime (which no user can
 * set) tells. */
START_TEST(rewrite_away_from_samples)
{
	struct imgfs_build_info info;
	struct timespec ts[2];
	struct stat st, now;
	unsigned char *pad = tu_random(256 << 10, 7);
	const struct tu_entry old[] = {
		{ .path = "head", .type = TU_FILE, .data = pad, .size = 128 << 10 },
		{ .path = "mid/old", .type = TU_FILE, .content = "x", .mode = 0644 },
		{ .path = "tail", .type = TU_FILE, .data = pad + (128 << 10), .size = 128 << 10 },
	};
	const struct tu_entry new[] = {
		{ .path = "head", .type = TU_FILE, .data = pad, .size = 128 << 10 },
		{ .path = "mid/new", .type = TU_FILE, .content = "x", .mode = 04755 },
		{ .path = "tail", .type = TU_FILE, .data = pad + (128 << 10), .size = 128 << 10 },
	};
	struct tu_blob a_tar, b_tar;
	struct imgfs_fs *fs = NULL;
	struct imgfs_err err;
	struct imgfs_attr a;
	FILE *w;

	tu_tar(&a_tar, old, 3, 0);
	tu_tar(&b_tar, new, 3, 0);
	ck_assert_uint_eq(a_tar.len, b_tar.len);
	/* the two differ only away from the samples */
	ck_assert(memcmp(a_tar.data, b_tar.data, 64 << 10) == 0);
	ck_assert(memcmp((char *)a_tar.data + a_tar.len - (64 << 10),
			 (char *)b_tar.data + b_tar.len - (64 << 10), 64 << 10) == 0);
	free(tu_write_file(dir, "image.tar", a_tar.data, a_tar.len));
	ck_assert_int_eq(prepare_ok(image, index_path, 0, &info), 0);
	stat_ok(image, &st);
	w = fopen(image, "r+b");
	ck_assert_ptr_nonnull(w);
	ck_assert_uint_eq(fwrite(b_tar.data, 1, b_tar.len, w), b_tar.len);
	fclose(w);
	ts[0] = st.st_atim;
	ts[1] = st.st_mtim;
	ck_assert_int_eq(utimensat(AT_FDCWD, image, ts, 0), 0);
	stat_ok(image, &now);
	ck_assert_uint_eq(now.st_ino, st.st_ino);
	ck_assert_int_eq(now.st_size, st.st_size);
	ck_assert_int_eq(now.st_mtim.tv_sec, st.st_mtim.tv_sec);
	ck_assert_int_eq(now.st_mtim.tv_nsec, st.st_mtim.tv_nsec);
	ck_assert_int_eq(prepare_ok(image, index_path, 0, &info), 0);
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(imgfs_fs_open(&fs, index_path, &err), 0);
	ck_assert_int_eq(tu_walk(fs, "mid/new", &a), 0);
	ck_assert_uint_eq(a.mode & 07777, 04755);
	ck_assert_int_ne(tu_walk(fs, "mid/old", &a), 0);
	imgfs_fs_close(fs);
	tu_blob_free(&a_tar);
	tu_blob_free(&b_tar);
	free(pad);
}
END_TEST

/* Single-bit flips anywhere in a sealed index: a mount refuses every one
 * with "damaged", and the next prepare rebuilds instead of reusing. */
START_TEST(bit_flips)
{
	struct imgfs_build_info info;
	struct stat st;
	unsigned char *pos = tu_random(64 * sizeof(uint32_t), 1234);
	int i, fd;

	write_image(image, "v1");
	ck_assert_int_eq(prepare_ok(image, index_path, 0, &info), 0);
	for (i = 0; i < 64; i++) {
		struct imgfs_fs *fs = NULL;
		struct imgfs_err err;
		uint32_t r;
		off_t off;
		unsigned char byte;

		stat_ok(index_path, &st);
		memcpy(&r, pos + i * sizeof(r), sizeof(r));
		off = (off_t)(r % (uint32_t)st.st_size);
		fd = open(index_path, O_RDWR);
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(pread(fd, &byte, 1, off), 1);
		byte ^= (unsigned char)(1u << (r >> 29));
		ck_assert_int_eq(pwrite(fd, &byte, 1, off), 1);
		close(fd);
		memset(&err, 0, sizeof(err));
		ck_assert_msg(imgfs_fs_open(&fs, index_path, &err) == -EIO,
			      "flip at byte %lld opened", (long long)off);
		ck_assert_msg(strstr(err.msg, "damaged") || strstr(err.msg, "not an imgfs index"),
			      "flip at byte %lld: %s", (long long)off, err.msg);
		ck_assert_int_eq(prepare_ok(image, index_path, 0, &info), 0);
		ck_assert_msg(info.damaged, "flip at byte %lld: rebuilt but not called damaged",
			      (long long)off);
		check_tree(index_path, "v1");
	}
	free(pos);
}
END_TEST

/* A mount serves the index it opened: a rebuild of another image renamed
 * over its path, or the path removed, changes nothing it reads. */
START_TEST(pinned_index)
{
	struct imgfs_build_info info;
	struct imgfs_fs *fs = NULL;
	struct imgfs_err err;
	char *other;

	ck_assert_int_ge(asprintf(&other, "%s/other.tar", dir), 0);
	write_image(image, "first image");
	write_image(other, "other image, other bytes");
	ck_assert_int_eq(prepare_ok(image, index_path, 0, &info), 0);
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(imgfs_fs_open(&fs, index_path, &err), 0);
	/* the index of the other image lands on the same path */
	ck_assert_int_eq(prepare_ok(other, index_path, 0, &info), 0);
	check_tree(index_path, "other image, other bytes");
	/* read on a new thread: a new connection, opened after the rename */
	read_on_thread(fs, "etc/conf", "first image");
	ck_assert_int_eq(unlink(index_path), 0);
	read_on_thread(fs, "etc/conf", "first image");
	imgfs_fs_close(fs);
	free(other);
}
END_TEST

/* A content cache cut short: the index is not reused, and a mount of it
 * refuses with a line naming the cache. */
START_TEST(truncated_cache)
{
	unsigned char *big = tu_random(3 << 20, 11);
	const struct tu_entry l0[] = { { .path = "big", .type = TU_FILE, .data = big, .size = 3 << 20 } };
	struct tu_layer l = { .created_by = "x" };
	struct imgfs_build_info info;
	struct imgfs_fs *fs = NULL;
	struct imgfs_err err;
	char *cache;
	sqlite3 *db;
	sqlite3_stmt *q;
	struct stat st;

	tu_tar(&l.tar, l0, 1, TU_GZIP);
	tu_oci_archive(image, &l, 1, 1);
	tu_blob_free(&l.tar);
	ck_assert_int_eq(prepare_ok(image, index_path, 0, &info), 0);
	ck_assert_int_eq(sqlite3_open_v2(index_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key='cache'", -1, &q, NULL),
			 SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(q), SQLITE_ROW);
	cache = strdup((const char *)sqlite3_column_text(q, 0));
	sqlite3_finalize(q);
	sqlite3_close(db);
	stat_ok(cache, &st);
	ck_assert_int_eq(truncate(cache, st.st_size - 1000), 0);
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(imgfs_fs_open(&fs, index_path, &err), -EIO);
	ck_assert_msg(strstr(err.msg, cache) && strstr(err.msg, "content cache"), "%s", err.msg);
	ck_assert_int_eq(prepare_ok(image, index_path, 0, &info), 0);
	ck_assert_int_eq(imgfs_fs_open(&fs, index_path, &err), 0);
	{
		size_t len = 0;
		struct imgfs_attr a;
		char *v;

		ck_assert_int_eq(tu_walk(fs, "big", &a), 0);
		v = tu_read_all(fs, a.ino, &len);
		ck_assert_uint_eq(len, 3 << 20);
		ck_assert(memcmp(v, big, len) == 0);
		free(v);
	}
	imgfs_fs_close(fs);
	free(cache);
	free(big);
}
END_TEST

/* What a killed build left beside the index goes at the next reuse; the
 * reused index's own cache stays. */
START_TEST(leftovers_swept)
{
	unsigned char *big = tu_random(1 << 20, 3);
	const struct tu_entry l0[] = { { .path = "big", .type = TU_FILE, .data = big, .size = 1 << 20 } };
	struct tu_layer l = { .created_by = "x" };
	struct imgfs_build_info info;
	char *p;

	tu_tar(&l.tar, l0, 1, TU_GZIP);
	tu_oci_archive(image, &l, 1, 1);
	tu_blob_free(&l.tar);
	ck_assert_int_eq(prepare_ok(image, index_path, 0, &info), 0);
	ck_assert_int_eq(tu_count_names(dir, ".zst"), 1);
	ck_assert_int_ge(asprintf(&p, "%s.tmp.999999", index_path), 0);
	free(tu_write_file(dir, "index.db.tmp.999999", "partial", 7));
	free(tu_write_file(dir, "index.db.00000000deadbeef.zst", "partial", 7));
	free(tu_write_file(dir, "index.db.00000000deadbeef.tar", "partial", 7));
	ck_assert_int_eq(tu_count_names(dir, ".zst"), 2);
	ck_assert_int_eq(prepare_ok(image, index_path, 0, &info), 1);
	ck_assert_int_eq(tu_count_names(dir, ".tmp."), 0);
	ck_assert_int_eq(tu_count_names(dir, ".zst"), 1);
	ck_assert_int_eq(tu_count_names(dir, ".tar"), 1); /* image.tar itself */
	check_big(index_path, big, 1 << 20);
	free(p);
	free(big);
}
END_TEST

START_TEST(corrupt_index)
{
	struct imgfs_build_info info;
	unsigned char *junk = tu_random(8192, 99);
	char *p;

	write_image(image, "v1");
	ck_assert_int_eq(prepare_ok(image, index_path, 0, &info), 0);
	p = tu_write_file(dir, "index.db", junk, 8192);
	free(p);
	ck_assert_int_eq(prepare_ok(image, index_path, 0, &info), 0);
	check_tree(index_path, "v1");
	ck_assert_int_eq(prepare_ok(image, index_path, 0, &info), 1);

	/* An empty file, and a valid SQLite file of something else. */
	p = tu_write_file(dir, "index.db", "", 0);
	free(p);
	ck_assert_int_eq(prepare_ok(image, index_path, 0, &info), 0);
	check_tree(index_path, "v1");
	{
		sqlite3 *db;

		unlink(index_path);
		ck_assert_int_eq(sqlite3_open(index_path, &db), SQLITE_OK);
		ck_assert_int_eq(sqlite3_exec(db, "CREATE TABLE t(x); INSERT INTO t VALUES(1);",
					      NULL, NULL, NULL), SQLITE_OK);
		sqlite3_close(db);
	}
	ck_assert_int_eq(prepare_ok(image, index_path, 0, &info), 0);
	check_tree(index_path, "v1");
	free(junk);
}
END_TEST

/* A cut index file: its first pages (meta) may still read fine. */
START_TEST(truncated_index)
{
	struct imgfs_build_info info;
	struct stat st;

	write_image(image, "v1");
	ck_assert_int_eq(prepare_ok(image, index_path, 0, &info), 0);
	stat_ok(index_path, &st);
	ck_assert_int_eq(truncate(index_path, st.st_size / 2), 0);
	prepare_ok(image, index_path, 0, &info);
	check_tree(index_path, "v1");
}
END_TEST

/* Runs SQL on the index file. */
static void index_sql(const char *sql)
{
	sqlite3 *db;
	char *msg = NULL;

	ck_assert_int_eq(sqlite3_open_v2(index_path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	ck_assert_msg(sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK, "%s: %s", sql, msg);
	ck_assert_int_eq(sqlite3_changes(db), 1);
	sqlite3_close(db);
}

START_TEST(other_identity)
{
	struct imgfs_build_info info;

	write_image(image, "v1");
	ck_assert_int_eq(prepare_ok(image, index_path, 0, &info), 0);
	/* The identity starts "v<schema>|": written by another version. */
	index_sql("UPDATE meta SET value = 'v999' || substr(value, instr(value, '|')) "
		  "WHERE key = 'identity'");
	ck_assert_int_eq(prepare_ok(image, index_path, 0, &info), 0);
	check_tree(index_path, "v1");
	ck_assert_int_eq(prepare_ok(image, index_path, 0, &info), 1);
}
END_TEST

START_TEST(other_schema)
{
	struct imgfs_build_info info;
	struct imgfs_fs *fs = NULL;
	struct imgfs_err err;

	write_image(image, "v1");
	ck_assert_int_eq(prepare_ok(image, index_path, 0, &info), 0);
	index_sql("UPDATE meta SET value = 999 WHERE key = 'schema'");
	/* imgfs_fs_open refuses such an index... */
	ck_assert_int_eq(imgfs_fs_open(&fs, index_path, &err), -EIO);
	ck_assert_ptr_null(fs);
	/* ...so prepare must not hand it out as fresh. */
	ck_assert_int_eq(prepare_ok(image, index_path, 0, &info), 0);
	check_tree(index_path, "v1");
}
END_TEST

START_TEST(incomplete)
{
	struct imgfs_build_info info;

	write_image(image, "v1");
	ck_assert_int_eq(prepare_ok(image, index_path, 0, &info), 0);
	index_sql("UPDATE meta SET value = 0 WHERE key = 'complete'");
	ck_assert_int_eq(prepare_ok(image, index_path, 0, &info), 0);
	check_tree(index_path, "v1");
}
END_TEST

START_TEST(force)
{
	struct imgfs_build_info info;
	struct stat s1, s2;

	write_image(image, "v1");
	ck_assert_int_eq(prepare_ok(image, index_path, 0, &info), 0);
	stat_ok(index_path, &s1);
	ck_assert_int_eq(prepare_ok(image, index_path, 1, &info), 0);
	stat_ok(index_path, &s2);
	/* A new file renamed into place. */
	ck_assert_uint_ne(s1.st_ino, s2.st_ino);
	check_tree(index_path, "v1");
	ck_assert_int_eq(tu_count_names(dir, ".tmp."), 0);
}
END_TEST

/* A docker-archive whose manifest.json is "null", at DIR/NAME. */
static char *write_null_manifest(const char *name)
{
	struct tu_blob b;
	const struct tu_entry e[] = { F("manifest.json", "null"), F("x.json", "{}") };
	char *p;

	tu_tar(&b, e, 2, 0);
	p = tu_write_file(dir, name, b.data, b.len);
	tu_blob_free(&b);
	return p;
}

START_TEST(failed_build_is_clean)
{
	struct imgfs_opts o = { .quiet = 1 };
	struct imgfs_build_info info;
	struct imgfs_err err;
	char *bad = write_null_manifest("null.tar");

	o.image = bad;
	o.index_path = index_path;
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(imgfs_index_prepare(&o, &info, &err), -EINVAL);
	ck_assert_int_eq(err.input, 1);
	/* "IMAGE: manifest.json: ...": the message names the image file */
	ck_assert_ptr_nonnull(strstr(err.msg, "null.tar: manifest.json: is null, expected an array of images"));
	ck_assert_int_eq(access(index_path, F_OK), -1);
	ck_assert_int_eq(tu_count_names(dir, ".tmp."), 0);
	ck_assert_int_eq(tu_count_names(dir, ".zst"), 0);
	free(bad);
}
END_TEST

/* A gzip layer cut short: the content cache was being written. */
START_TEST(failed_gzip_build_is_clean)
{
	unsigned char *big = tu_random(3 << 20, 11);
	const struct tu_entry l0[] = { { .path = "big", .type = TU_FILE, .data = big, .size = 3 << 20 } };
	struct tu_layer l = { .created_by = "x" };
	struct imgfs_opts o = { .image = image, .index_path = index_path, .quiet = 1 };
	struct imgfs_build_info info;
	struct imgfs_err err;
	int rc;

	tu_tar(&l.tar, l0, 1, TU_GZIP);
	l.tar.len = l.tar.len * 2 / 3;
	tu_oci_archive(image, &l, 1, 1);
	tu_blob_free(&l.tar);
	free(big);
	memset(&err, 0, sizeof(err));
	rc = imgfs_index_prepare(&o, &info, &err);
	ck_assert_int_lt(rc, 0);
	ck_assert_int_eq(err.input, 1);
	ck_assert_int_eq(err.code, rc);
	ck_assert_str_ne(err.msg, "");
	ck_assert_int_eq(access(index_path, F_OK), -1);
	ck_assert_int_eq(tu_count_names(dir, ".tmp."), 0);
	ck_assert_int_eq(tu_count_names(dir, ".zst"), 0);
}
END_TEST

/* The image became bad after a good build: the rebuild fails, and the old
 * index (of the old image) is not handed out instead, then or later. */
START_TEST(failed_rebuild)
{
	struct imgfs_build_info info;
	struct imgfs_opts o = { .image = image, .index_path = index_path, .quiet = 1 };
	struct imgfs_err err;

	write_image(image, "v1");
	ck_assert_int_eq(prepare_ok(image, index_path, 0, &info), 0);
	free(write_null_manifest("image.tar"));
	for (int i = 0; i < 2; i++) {
		memset(&err, 0, sizeof(err));
		ck_assert_int_eq(imgfs_index_prepare(&o, &info, &err), -EINVAL);
		ck_assert_int_eq(err.input, 1);
		ck_assert_int_eq(info.reused, 0);
	}
	ck_assert_int_eq(tu_count_names(dir, ".tmp."), 0);
}
END_TEST

START_TEST(truncated_archive)
{
	char *full = NULL, *cut, *idx, bad[4096] = "";
	size_t len, cuts[12];
	size_t n = 0, i;
	int failed = 0;

	write_image(image, "v1");
	full = tu_read_file(image, &len);
	ck_assert_uint_gt(len, BIG_LEN);
	cuts[n++] = 100;
	cuts[n++] = 512;
	cuts[n++] = 1000;
	cuts[n++] = 1536;
	cuts[n++] = 4096;
	cuts[n++] = len / 2;
	cuts[n++] = len - 10240 - 1024;
	cuts[n++] = len - 2048;  /* manifest.json, the last member, lost whole */
	cuts[n++] = len - 1024;  /* only the two end-of-archive blocks lost */
	cuts[n++] = len - 512;
	cuts[n++] = len - 1;
	for (i = 0; i < n; i++) {
		struct imgfs_opts o = { .quiet = 1 };
		struct imgfs_build_info info;
		struct imgfs_err err;
		char name[64];
		int rc;

		snprintf(name, sizeof(name), "cut%zu.tar", cuts[i]);
		cut = tu_write_file(dir, name, full, cuts[i]);
		if (asprintf(&idx, "%s/cut%zu.db", dir, cuts[i]) < 0)
			abort();
		o.image = cut;
		o.index_path = idx;
		memset(&err, 0, sizeof(err));
		rc = imgfs_index_prepare(&o, &info, &err);
		if (rc == 0) {
			/* Only a success with the whole tree is right. */
			const char *why = tree_diff(idx, "v1");

			if (why)
				snprintf(bad + strlen(bad), sizeof(bad) - strlen(bad),
					 " [cut at %zu of %zu: built, but %s]", cuts[i], len, why);
		} else {
			ck_assert_msg(rc < 0, "cut at %zu: rc %d", cuts[i], rc);
			ck_assert_msg(err.input == 1, "cut at %zu: %d %s: not an input error",
				      cuts[i], rc, err.msg);
			ck_assert_msg(err.msg[0] != '\0', "cut at %zu: no message", cuts[i]);
			ck_assert_int_eq(err.code, rc);
			ck_assert_int_eq(access(idx, F_OK), -1);
			failed++;
		}
		free(cut);
		free(idx);
	}
	ck_assert_msg(bad[0] == '\0', "truncated archives taken for good:%s", bad);
	/* Up to half, the manifest is lost: none of those can succeed. */
	ck_assert_int_ge(failed, 6);
	ck_assert_int_eq(tu_count_names(dir, ".tmp."), 0);
	free(full);
}
END_TEST

/* Cut at every 512-byte boundary of a small image: never a crash, never a
 * half tree. */
START_TEST(truncated_everywhere)
{
	const struct tu_entry l0[] = { D("d/"), F("d/f", "hello"), F("g", "world") };
	struct tu_layer l = { .created_by = "x" };
	char *full, *cut, *idx, bad[4096] = "";
	size_t len, at;

	tu_tar(&l.tar, l0, 3, 0);
	tu_docker_archive(image, &l, 1);
	tu_blob_free(&l.tar);
	full = tu_read_file(image, &len);
	if (asprintf(&idx, "%s/cut.db", dir) < 0)
		abort();
	for (at = 0; at < len; at += 512) {
		struct imgfs_opts o = { .quiet = 1, .index_path = idx, .force = 1 };
		struct imgfs_build_info info;
		struct imgfs_err err;
		int rc;

		cut = tu_write_file(dir, "cut.tar", full, at ? at : 1);
		o.image = cut;
		memset(&err, 0, sizeof(err));
		unlink(idx);
		rc = imgfs_index_prepare(&o, &info, &err);
		if (rc == 0) {
			struct imgfs_fs *fs;
			char *f, *g;

			ck_assert_int_eq(imgfs_fs_open(&fs, idx, &err), 0);
			f = tu_file(fs, "d/f");
			g = tu_file(fs, "g");
			if (!f || !g || strcmp(f, "hello") || strcmp(g, "world"))
				snprintf(bad + strlen(bad), sizeof(bad) - strlen(bad), " %zu", at);
			free(f);
			free(g);
			imgfs_fs_close(fs);
		} else {
			ck_assert_msg(err.input == 1 && err.msg[0], "cut at %zu: %d input %d %s",
				      at, rc, err.input, err.msg);
			ck_assert_int_eq(access(idx, F_OK), -1);
		}
		free(cut);
	}
	ck_assert_msg(bad[0] == '\0', "archive of %zu bytes cut at these sizes was built "
		      "into another tree:%s", len, bad);
	ck_assert_int_eq(tu_count_names(dir, ".tmp."), 0);
	free(idx);
	free(full);
}
END_TEST

static Suite *index_suite(void)
{
	Suite *s = suite_create("index");
	TCase *life = tcase_create("lifecycle"), *fail = tcase_create("failures");

	tcase_add_checked_fixture(life, setup, teardown);
	tcase_add_checked_fixture(fail, setup, teardown);
	tcase_set_timeout(life, 60);
	tcase_set_timeout(fail, 60);
	tcase_add_test(life, reuse);
	tcase_add_test(life, image_changed);
	tcase_add_test(life, corrupt_index);
	tcase_add_test(life, truncated_index);
	tcase_add_test(life, other_identity);
	tcase_add_test(life, other_schema);
	tcase_add_test(life, incomplete);
	tcase_add_test(life, force);
	tcase_add_test(life, rewrite_away_from_samples);
	tcase_add_test(life, bit_flips);
	tcase_add_test(life, pinned_index);
	tcase_add_test(life, truncated_cache);
	tcase_add_test(life, leftovers_swept);
	tcase_add_test(fail, failed_build_is_clean);
	tcase_add_test(fail, failed_gzip_build_is_clean);
	tcase_add_test(fail, failed_rebuild);
	tcase_add_test(fail, truncated_archive);
	tcase_add_test(fail, truncated_everywhere);
	suite_add_tcase(s, life);
	suite_add_tcase(s, fail);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	setlocale(LC_CTYPE, "C.UTF-8");
	sr = srunner_create(index_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
