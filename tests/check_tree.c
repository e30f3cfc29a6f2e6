/* This file contains the unit tests of the read side (fs/read/fs.c) through
 * the public imgfs_fs_* API: opening what is no index or an index of
 * another schema, lookup and readdir edge cases, reads at the end of files
 * and across the content cache's chunk boundaries, readlink and xattr
 * buffer sizes, statfs, the layers callback, and reads from several
 * threads at once.  Every expected value comes from the layer tables and
 * bytes the test wrote. */
#include "imgfs/imgfs.h"

#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <locale.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store/seal_i.h"
#include "testutil.h"

#define F(p, c) { .path = (p), .type = TU_FILE, .content = (c) }
#define D(p) { .path = (p), .type = TU_DIR }
#define SL(p, t) { .path = (p), .type = TU_SYMLINK, .link = (t) }
#define HL(p, t) { .path = (p), .type = TU_HARDLINK, .link = (t) }

#define MIB (1u << 20)
/* Not a multiple of anything the cache uses, and over three chunks. */
#define BIG_LEN (3 * MIB + 12345)
#define NFILES 20
#define LINK_TARGET "a/very/long/target/path"
#define BIN_XATTR "a\0b\0c"

enum fmt { DOCKER, OCI_GZ };

static char *dir, *image, *index_path;
static struct imgfs_fs *fs;
static unsigned char *big;              /* the content of /big */
static char fname[NFILES][16], fbody[NFILES][64];

/* The standard image: three layers, the first with every kind of entry. */
static struct tu_entry l0[NFILES + 12];
static size_t nl0;
static const struct tu_entry l1[] = {
	F("l1file", "from layer one"), D("d/"), F("d/f05", "rewritten f05"),
};
static const struct tu_entry l2[] = { F("l2file", "two") };
static const char *const steps[] = { "RUN zero", "RUN one", "RUN two" };
/* The regular files of the merged tree, each inode once, with their size;
 * filled with the tables. */
static uint64_t model_bytes;

static void tables(void)
{
	size_t i;

	nl0 = 0;
	l0[nl0++] = (struct tu_entry)D("d/");
	for (i = 0; i < NFILES; i++) {
		snprintf(fname[i], sizeof(fname[i]), "d/f%02zu", i);
		snprintf(fbody[i], sizeof(fbody[i]), "content of f%02zu%.*s", i, (int)i, "xxxxxxxxxxxxxxxxxxxxxxx");
		l0[nl0++] = (struct tu_entry){ .path = fname[i], .type = TU_FILE, .content = fbody[i] };
	}
	l0[nl0++] = (struct tu_entry)D("d/sub/");
	l0[nl0++] = (struct tu_entry)F("small", "small file\n");
	l0[nl0++] = (struct tu_entry)F("empty", "");
	l0[nl0++] = (struct tu_entry){ .path = "big", .type = TU_FILE, .data = big, .size = BIG_LEN };
	l0[nl0++] = (struct tu_entry)SL("link", LINK_TARGET);
	l0[nl0++] = (struct tu_entry){ .path = "x", .type = TU_FILE, .content = "has xattrs",
		.xattrs = { { "user.foo", "hello world", 0 }, { "user.bin", BIN_XATTR, 5 } } };
	l0[nl0++] = (struct tu_entry){ .path = "sl", .type = TU_SYMLINK, .link = "small",
		.xattrs = { { "user.onlink", "v", 0 } } };
	l0[nl0++] = (struct tu_entry)HL("hl", "small");
	l0[nl0++] = (struct tu_entry)D("e/");
	ck_assert_uint_le(nl0, sizeof(l0) / sizeof(l0[0]));
	/* big, the files of d (f05 as layer 1 has it), small (hl is the same
	 * inode), empty, x, l1file, l2file */
	model_bytes = BIG_LEN + strlen("small file\n") + strlen("has xattrs") +
		      strlen("from layer one") + strlen("two");
	for (i = 0; i < NFILES; i++)
		model_bytes += i == 5 ? strlen("rewritten f05") : strlen(fbody[i]);
}

static void setup(void)
{
	dir = tu_tmpdir();
	if (asprintf(&image, "%s/image.tar", dir) < 0 || asprintf(&index_path, "%s/index.db", dir) < 0)
		abort();
	fs = NULL;
	big = tu_random(BIG_LEN, 42);
	tables();
}

static void teardown(void)
{
	imgfs_fs_close(fs);
	fs = NULL;
	tu_rm_rf(dir);
	free(dir);
	free(image);
	free(index_path);
	free(big);
}

/* Per layer: the tar as stored and its uncompressed length. */
struct written {
	size_t stored[3], size[3], entries[3];
};

/* Writes the standard image in format F and opens it into FS. */
static void open_std(enum fmt f, struct written *wr)
{
	const struct tu_entry *e[3] = { l0, l1, l2 };
	size_t n[3] = { nl0, sizeof(l1) / sizeof(l1[0]), sizeof(l2) / sizeof(l2[0]) };
	struct tu_layer l[3];
	struct imgfs_err err;
	int i, rc;

	for (i = 0; i < 3; i++) {
		struct tu_blob plain;

		tu_tar(&l[i].tar, e[i], n[i], f == OCI_GZ ? TU_GZIP : 0);
		tu_tar(&plain, e[i], n[i], 0);
		l[i].created_by = steps[i];
		if (wr) {
			wr->stored[i] = l[i].tar.len;
			wr->size[i] = plain.len;
			wr->entries[i] = n[i];
		}
		tu_blob_free(&plain);
	}
	if (f == DOCKER)
		tu_docker_archive(image, l, 3);
	else
		tu_oci_archive(image, l, 3, 1);
	for (i = 0; i < 3; i++)
		tu_blob_free(&l[i].tar);
	rc = tu_open(image, dir, &fs, &err);
	ck_assert_msg(rc == 0, "build: %d %s", rc, err.msg);
}

static struct imgfs_attr at(const char *path)
{
	struct imgfs_attr a;
	int rc = tu_walk(fs, path, &a);

	ck_assert_msg(rc == 0, "%s: %d", path, rc);
	return a;
}

/* ---- opening ---- */

/* A file that is not a SQLite database, and a path that does not exist:
 * -EIO with the error set, naming the path, and no handle. */
START_TEST(open_not_index)
{
	static const char junk[] = "this is not an imgfs index, nor any database at all\n";
	char *p = tu_write_file(dir, "junk.db", junk, sizeof(junk)), *missing;
	struct imgfs_fs *h = NULL;
	struct imgfs_err err;
	int rc;

	memset(&err, 0, sizeof(err));
	rc = imgfs_fs_open(&h, p, &err);
	ck_assert_int_eq(rc, -EIO);
	ck_assert_int_eq(err.code, -EIO);
	ck_assert_msg(strstr(err.msg, p), "message \"%s\" lacks the path", err.msg);
	ck_assert_ptr_null(h);
	if (asprintf(&missing, "%s/missing.db", dir) < 0)
		abort();
	memset(&err, 0, sizeof(err));
	rc = imgfs_fs_open(&h, missing, &err);
	ck_assert_int_lt(rc, 0);
	ck_assert_int_eq(err.code, rc);
	ck_assert_msg(err.msg[0], "no message");
	ck_assert_ptr_null(h);
	free(missing);
	free(p);
}
END_TEST

/* Sets meta.schema of the SQLite file P to VALUE, or removes it (NULL);
 * returns the value it had. */
static int set_schema(const char *p, const char *value)
{
	sqlite3 *db;
	sqlite3_stmt *q;
	char *sql;
	int old = -1;

	ck_assert_int_eq(sqlite3_open(p, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key='schema'", -1, &q,
					    NULL), SQLITE_OK);
	if (sqlite3_step(q) == SQLITE_ROW)
		old = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	sql = value ? sqlite3_mprintf("UPDATE meta SET value=%Q WHERE key='schema'", value)
		    : sqlite3_mprintf("DELETE FROM meta WHERE key='schema'");
	ck_assert_int_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_free(sql);
	sqlite3_close(db);
	/* sealed again, so it is the schema that is refused, not the seal */
	ck_assert_int_eq(imgfs_seal_write(p, NULL), 0);
	return old;
}

/* An index whose schema is one newer than the one it was built with, and
 * one with no schema at all: -EIO with the error set. */
START_TEST(open_other_schema)
{
	struct imgfs_fs *h = NULL;
	struct imgfs_err err;
	char newer[32];
	int old, rc;

	open_std(DOCKER, NULL);
	imgfs_fs_close(fs);
	fs = NULL;
	old = set_schema(index_path, NULL);
	ck_assert_int_gt(old, 0);
	memset(&err, 0, sizeof(err));
	rc = imgfs_fs_open(&h, index_path, &err);
	ck_assert_int_eq(rc, -EIO);
	ck_assert_int_eq(err.code, -EIO);
	ck_assert_msg(strstr(err.msg, "schema"), "message \"%s\"", err.msg);
	ck_assert_ptr_null(h);
	/* put a row back, one version on */
	{
		sqlite3 *db;
		char *sql;

		ck_assert_int_eq(sqlite3_open(index_path, &db), SQLITE_OK);
		sql = sqlite3_mprintf("INSERT INTO meta(key, value) VALUES('schema', %d)", old + 1);
		ck_assert_int_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
		sqlite3_free(sql);
		sqlite3_close(db);
		ck_assert_int_eq(imgfs_seal_write(index_path, NULL), 0);
	}
	memset(&err, 0, sizeof(err));
	rc = imgfs_fs_open(&h, index_path, &err);
	ck_assert_int_eq(rc, -EIO);
	ck_assert_int_eq(err.code, -EIO);
	ck_assert_msg(strstr(err.msg, "schema"), "message \"%s\"", err.msg);
	ck_assert_ptr_null(h);
	/* and back to the version it had: it opens again */
	snprintf(newer, sizeof(newer), "%d", old);
	set_schema(index_path, newer);
	ck_assert_int_eq(imgfs_fs_open(&h, index_path, &err), 0);
	imgfs_fs_close(h);
}
END_TEST

/* ---- names ---- */

/* A missing name is -ENOENT, a name looked up in a file or a symlink is
 * -ENOTDIR; the other calls refuse the wrong kind of inode. */
START_TEST(lookup_errors)
{
	struct imgfs_attr a, small, link, d;
	char buf[8];

	open_std(DOCKER, NULL);
	small = at("small");
	link = at("link");
	d = at("d");
	ck_assert_int_eq(imgfs_fs_lookup(fs, IMGFS_ROOT_INO, "nope", &a), -ENOENT);
	ck_assert_int_eq(imgfs_fs_lookup(fs, d.ino, "nope", &a), -ENOENT);
	ck_assert_int_eq(imgfs_fs_lookup(fs, d.ino, "f05x", &a), -ENOENT);
	ck_assert_int_eq(imgfs_fs_lookup(fs, small.ino, "x", &a), -ENOTDIR);
	ck_assert_int_eq(imgfs_fs_lookup(fs, link.ino, "x", &a), -ENOTDIR);
	ck_assert_int_eq(imgfs_fs_lookup(fs, d.ino, "f05", &a), 0);
	ck_assert(S_ISREG(a.mode));
	ck_assert_uint_eq(a.size, strlen("rewritten f05"));
	ck_assert_int_eq(imgfs_fs_getattr(fs, 987654321, &a), -ENOENT);
	ck_assert_int_eq(imgfs_fs_readdir(fs, small.ino, 0, NULL, NULL), -ENOTDIR);
	ck_assert_int_eq(imgfs_fs_read(fs, d.ino, buf, sizeof(buf), 0), -EISDIR);
	ck_assert_int_eq(imgfs_fs_readlink(fs, small.ino, buf, sizeof(buf)), -EINVAL);
}
END_TEST

struct dent {
	char name[64];
	uint64_t ino, next;
};

struct dlist {
	struct dent d[64];
	int n;
	int stop_after;   /* take this many, then refuse; 0: all */
};

static int take(void *ctx, const char *name, const struct imgfs_attr *a, uint64_t next)
{
	struct dlist *l = ctx;

	if (l->stop_after && l->n == l->stop_after)
		return 1;
	ck_assert_int_lt(l->n, 64);
	snprintf(l->d[l->n].name, sizeof(l->d[l->n].name), "%s", name);
	l->d[l->n].ino = a->ino;
	l->d[l->n].next = next;
	l->n++;
	return 0;
}

/* Resuming at the offset after each entry lists exactly the entries that
 * follow it, so every name comes once whatever the buffer size. */
START_TEST(readdir_resume)
{
	struct dlist all = { .n = 0 };
	struct imgfs_attr d;
	int i, k, seen[NFILES] = { 0 }, sub = 0, dots = 0;

	open_std(DOCKER, NULL);
	d = at("d");
	ck_assert_int_eq(imgfs_fs_readdir(fs, d.ino, 0, take, &all), 0);
	/* ".", "..", f00..f19, sub: each once */
	ck_assert_int_eq(all.n, NFILES + 3);
	for (i = 0; i < all.n; i++) {
		const char *nm = all.d[i].name;

		if (!strcmp(nm, ".") || !strcmp(nm, ".."))
			dots++;
		else if (!strcmp(nm, "sub"))
			sub++;
		else {
			ck_assert_msg(nm[0] == 'f' && atoi(nm + 1) < NFILES, "unexpected %s", nm);
			seen[atoi(nm + 1)]++;
		}
	}
	ck_assert_int_eq(dots, 2);
	ck_assert_int_eq(sub, 1);
	for (i = 0; i < NFILES; i++)
		ck_assert_msg(seen[i] == 1, "f%02d seen %d times", i, seen[i]);
	/* from every offset a listing can stop at */
	for (i = 0; i < all.n; i++) {
		struct dlist rest = { .n = 0 };

		ck_assert_int_eq(imgfs_fs_readdir(fs, d.ino, all.d[i].next, take, &rest), 0);
		ck_assert_msg(rest.n == all.n - i - 1, "after %s: %d names, expected %d",
			      all.d[i].name, rest.n, all.n - i - 1);
		for (k = 0; k < rest.n; k++)
			ck_assert_str_eq(rest.d[k].name, all.d[i + 1 + k].name);
	}
	/* one entry per call, as a tiny buffer does */
	{
		uint64_t off = 0;
		int calls = 0;

		for (k = 0;; k++) {
			struct dlist one = { .stop_after = 1 };

			ck_assert_int_eq(imgfs_fs_readdir(fs, d.ino, off, take, &one), 0);
			ck_assert_int_lt(++calls, 100);
			if (!one.n)
				break;
			ck_assert_str_eq(one.d[0].name, all.d[k].name);
			off = one.d[0].next;
		}
		ck_assert_int_eq(k, all.n);
	}
}
END_TEST

/* "." is the directory itself and ".." its parent: / for a top-level
 * directory and for / itself, d for d/sub, /.imgfs for /.imgfs/layers. */
START_TEST(dot_dotdot)
{
	struct { const char *path, *parent; } cases[] = {
		{ "", "" }, { "d", "" }, { "d/sub", "d" }, { ".imgfs", "" },
		{ ".imgfs/layers", ".imgfs" }, { ".imgfs/layers/0", ".imgfs/layers" },
	};
	size_t i;

	open_std(DOCKER, NULL);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct imgfs_attr self = at(cases[i].path), parent = at(cases[i].parent);
		struct dlist l = { .stop_after = 2 };

		ck_assert_int_eq(imgfs_fs_readdir(fs, self.ino, 0, take, &l), 0);
		ck_assert_int_eq(l.n, 2);
		ck_assert_str_eq(l.d[0].name, ".");
		ck_assert_str_eq(l.d[1].name, "..");
		ck_assert_msg(l.d[0].ino == self.ino, "/%s: . is %" PRIu64 " not %" PRIu64,
			      cases[i].path, l.d[0].ino, self.ino);
		ck_assert_msg(l.d[1].ino == parent.ino, "/%s: .. is %" PRIu64 " not %" PRIu64,
			      cases[i].path, l.d[1].ino, parent.ino);
	}
}
END_TEST

/* /.imgfs answers a lookup but readdir of / lists exactly the names the
 * layers wrote there. */
START_TEST(view_not_listed)
{
	static const char *const want[] = { ".", "..", "d", "small", "empty", "big", "link", "x",
					    "sl", "hl", "e", "l1file", "l2file" };
	struct dlist l = { .n = 0 };
	struct imgfs_attr v;
	size_t i;
	int k, found;

	open_std(DOCKER, NULL);
	ck_assert_int_eq(imgfs_fs_lookup(fs, IMGFS_ROOT_INO, IMGFS_VIEW_NAME, &v), 0);
	ck_assert(S_ISDIR(v.mode));
	ck_assert_int_eq(imgfs_fs_readdir(fs, IMGFS_ROOT_INO, 0, take, &l), 0);
	ck_assert_int_eq(l.n, (int)(sizeof(want) / sizeof(want[0])));
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		for (k = 0, found = 0; k < l.n; k++)
			found += !strcmp(l.d[k].name, want[i]);
		ck_assert_msg(found == 1, "%s listed %d times", want[i], found);
	}
	for (k = 0; k < l.n; k++)
		ck_assert_str_ne(l.d[k].name, IMGFS_VIEW_NAME);
	/* nor is it a name in any other directory */
	ck_assert_int_eq(imgfs_fs_lookup(fs, at("d").ino, IMGFS_VIEW_NAME, &v), -ENOENT);
}
END_TEST

/* /.imgfs/config.json is the config member byte for byte, read from the
 * archive (docker) or the layout blob (OCI); the root's user.imgfs.config
 * holds the fields users check, in the order User, WorkingDir,
 * Entrypoint, Cmd, Env, ExposedPorts, Labels, values as the config has
 * them (Entrypoint null included), and nothing else. */
static void config_view(enum fmt f)
{
	static const char want[] =
		"{\"User\":\"app:app\",\"WorkingDir\":\"/srv\",\"Entrypoint\":null,"
		"\"Cmd\":[\"serve\",\"--port\",\"80\"],\"Env\":[\"PATH=/usr/bin\",\"Q=a \\\"b\\\"\"],"
		"\"ExposedPorts\":{\"80/tcp\":{}},\"Labels\":{\"a.b\":\"1\"}}";
	struct tu_layer l[3];
	struct imgfs_attr v, c;
	char *cfg, buf[4096];
	ssize_t n;
	int i;

	open_std(f, NULL);
	/* the config open_std's archive holds: the same layers, rebuilt */
	for (i = 0; i < 3; i++) {
		const struct tu_entry *e[3] = { l0, l1, l2 };
		size_t ne[3] = { nl0, sizeof(l1) / sizeof(l1[0]), sizeof(l2) / sizeof(l2[0]) };

		tu_tar(&l[i].tar, e[i], ne[i], f == OCI_GZ ? TU_GZIP : 0);
		l[i].created_by = steps[i];
	}
	cfg = tu_config_json(l, 3);
	for (i = 0; i < 3; i++)
		tu_blob_free(&l[i].tar);
	ck_assert_int_eq(imgfs_fs_lookup(fs, IMGFS_ROOT_INO, IMGFS_VIEW_NAME, &v), 0);
	ck_assert_int_eq(imgfs_fs_lookup(fs, v.ino, IMGFS_CONFIG_FILE, &c), 0);
	ck_assert(S_ISREG(c.mode));
	ck_assert_uint_eq(c.mode & 07777, 0444);
	ck_assert_uint_eq(c.size, strlen(cfg));
	n = imgfs_fs_read(fs, c.ino, buf, sizeof(buf), 0);
	ck_assert_int_eq(n, (ssize_t)strlen(cfg));
	ck_assert_msg(!memcmp(buf, cfg, strlen(cfg)), "config.json is not the config member");
	free(cfg);
	n = imgfs_fs_getxattr(fs, IMGFS_ROOT_INO, IMGFS_XATTR_CONFIG, buf, sizeof(buf) - 1);
	ck_assert_int_eq(n, (ssize_t)strlen(want));
	buf[n] = '\0';
	ck_assert_str_eq(buf, want);
}

START_TEST(config_view_docker)
{
	config_view(DOCKER);
}
END_TEST

START_TEST(config_view_oci)
{
	config_view(OCI_GZ);
}
END_TEST

/* ---- data ---- */

/* Reads at and after EOF return 0, a read over EOF returns what is left,
 * an empty file has nothing; from the image (docker) and from the cache. */
static void eof_reads(enum fmt f)
{
	static const char body[] = "small file\n";
	struct imgfs_attr s, e, b;
	char buf[256];
	unsigned char *bb = malloc(8192);

	open_std(f, NULL);
	s = at("small");
	e = at("empty");
	b = at("big");
	ck_assert_uint_eq(s.size, strlen(body));
	ck_assert_int_eq(imgfs_fs_read(fs, s.ino, buf, sizeof(buf), strlen(body)), 0);
	ck_assert_int_eq(imgfs_fs_read(fs, s.ino, buf, sizeof(buf), strlen(body) + 1), 0);
	ck_assert_int_eq(imgfs_fs_read(fs, s.ino, buf, sizeof(buf), UINT64_MAX - 1), 0);
	ck_assert_int_eq(imgfs_fs_read(fs, s.ino, buf, 0, 0), 0);
	ck_assert_int_eq(imgfs_fs_read(fs, e.ino, buf, sizeof(buf), 0), 0);
	memset(buf, 0, sizeof(buf));
	ck_assert_int_eq(imgfs_fs_read(fs, s.ino, buf, sizeof(buf), 3), (ssize_t)strlen(body) - 3);
	ck_assert_str_eq(buf, body + 3);
	memset(buf, 0, sizeof(buf));
	ck_assert_int_eq(imgfs_fs_read(fs, s.ino, buf, sizeof(buf), 0), (ssize_t)strlen(body));
	ck_assert_str_eq(buf, body);
	/* the end of a multi-chunk file */
	ck_assert_int_eq(imgfs_fs_read(fs, b.ino, bb, 8192, BIG_LEN - 100), 100);
	ck_assert(memcmp(bb, big + BIG_LEN - 100, 100) == 0);
	ck_assert_int_eq(imgfs_fs_read(fs, b.ino, bb, 8192, BIG_LEN), 0);
	free(bb);
}

START_TEST(read_eof_docker)
{
	eof_reads(DOCKER);
}
END_TEST

START_TEST(read_eof_cache)
{
	eof_reads(OCI_GZ);
}
END_TEST

/* Reads at offsets around every multiple of 1 MiB (the cache's chunk
 * size), of several lengths, and one read spanning two boundaries, all
 * compared with the bytes written; then the small files that share frames. */
static void chunk_reads(enum fmt f)
{
	static const size_t lens[] = { 1, 2, 4096, 131072, MIB + 7 };
	static const long deltas[] = { -131073, -4097, -2, -1, 0, 1, 4095 };
	unsigned char *buf = malloc(3 * MIB);
	struct imgfs_attr b;
	size_t li, di, i;
	unsigned k;
	char *cache;

	open_std(f, NULL);
	/* the compressed image must really be served from the content cache */
	cache = imgfs_fs_meta(fs, "cache");
	if (f == OCI_GZ)
		ck_assert_msg(cache, "no content cache for a gzip image");
	free(cache);
	b = at("big");
	ck_assert_uint_eq(b.size, BIG_LEN);
	for (k = 1; k <= 3; k++) {
		for (di = 0; di < sizeof(deltas) / sizeof(deltas[0]); di++) {
			uint64_t off = (uint64_t)k * MIB + (uint64_t)deltas[di];

			for (li = 0; li < sizeof(lens) / sizeof(lens[0]); li++) {
				size_t want = off + lens[li] > BIG_LEN ? BIG_LEN - off : lens[li];
				ssize_t n = imgfs_fs_read(fs, b.ino, buf, lens[li], off);

				ck_assert_msg(n == (ssize_t)want, "read %zu at %" PRIu64 ": %zd, expected %zu",
					      lens[li], off, n, want);
				ck_assert_msg(memcmp(buf, big + off, want) == 0,
					      "read %zu at %" PRIu64 ": bytes differ", lens[li], off);
			}
		}
	}
	ck_assert_int_eq(imgfs_fs_read(fs, b.ino, buf, 2 * MIB + 10, MIB - 5), 2 * MIB + 10);
	ck_assert(memcmp(buf, big + MIB - 5, 2 * MIB + 10) == 0);
	ck_assert_int_eq(imgfs_fs_read(fs, b.ino, buf, 3 * MIB, 0), 3 * MIB);
	ck_assert(memcmp(buf, big, 3 * MIB) == 0);
	for (i = 0; i < NFILES; i++) {
		char *got = tu_file(fs, fname[i]);

		ck_assert_ptr_nonnull(got);
		ck_assert_str_eq(got, i == 5 ? "rewritten f05" : fbody[i]);
		free(got);
	}
	free(buf);
}

START_TEST(read_chunks_cache)
{
	chunk_reads(OCI_GZ);
}
END_TEST

START_TEST(read_chunks_docker)
{
	chunk_reads(DOCKER);
}
END_TEST

/* readlink copies at most the buffer, no NUL, and nothing beyond. */
START_TEST(readlink_short)
{
	size_t tl = strlen(LINK_TARGET), sizes[] = { 0, 1, 5, strlen(LINK_TARGET) - 1,
						     strlen(LINK_TARGET), 100 }, i;
	struct imgfs_attr l;

	open_std(DOCKER, NULL);
	l = at("link");
	ck_assert(S_ISLNK(l.mode));
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char buf[128];
		size_t want = sizes[i] < tl ? sizes[i] : tl, k;

		memset(buf, 0x5a, sizeof(buf));
		ck_assert_int_eq(imgfs_fs_readlink(fs, l.ino, buf, sizes[i]), (ssize_t)want);
		ck_assert(memcmp(buf, LINK_TARGET, want) == 0);
		for (k = want; k < sizeof(buf); k++)
			ck_assert_msg(buf[k] == 0x5a, "buffer of %zu: byte %zu written", sizes[i], k);
	}
}
END_TEST

/* getxattr: SIZE 0 asks for the length, a buffer one byte short is
 * -ERANGE, a missing name -ENODATA; for the image's xattrs (binary too)
 * and the virtual ones. */
START_TEST(getxattr_sizes)
{
	struct imgfs_attr x, b, d;
	char buf[64], num[32];
	size_t nl;

	open_std(DOCKER, NULL);
	x = at("x");
	b = at("big");
	d = at("d");
	ck_assert_int_eq(imgfs_fs_getxattr(fs, x.ino, "user.foo", NULL, 0), 11);
	ck_assert_int_eq(imgfs_fs_getxattr(fs, x.ino, "user.foo", buf, 10), -ERANGE);
	memset(buf, 0, sizeof(buf));
	ck_assert_int_eq(imgfs_fs_getxattr(fs, x.ino, "user.foo", buf, 11), 11);
	ck_assert(memcmp(buf, "hello world", 11) == 0);
	ck_assert_int_eq(imgfs_fs_getxattr(fs, x.ino, "user.foo", buf, sizeof(buf)), 11);
	ck_assert_int_eq(imgfs_fs_getxattr(fs, x.ino, "user.bin", NULL, 0), 5);
	ck_assert_int_eq(imgfs_fs_getxattr(fs, x.ino, "user.bin", buf, 5), 5);
	ck_assert(memcmp(buf, BIN_XATTR, 5) == 0);
	ck_assert_int_eq(imgfs_fs_getxattr(fs, x.ino, "user.bin", buf, 4), -ERANGE);
	ck_assert_int_eq(imgfs_fs_getxattr(fs, x.ino, "user.nope", buf, sizeof(buf)), -ENODATA);
	ck_assert_int_eq(imgfs_fs_getxattr(fs, x.ino, "user.nope", NULL, 0), -ENODATA);
	ck_assert_int_eq(imgfs_fs_getxattr(fs, d.ino, "user.foo", NULL, 0), -ENODATA);
	/* a virtual one: the file's size in decimal */
	nl = (size_t)snprintf(num, sizeof(num), "%u", BIG_LEN);
	ck_assert_int_eq(imgfs_fs_getxattr(fs, b.ino, "user.imgfs.size", NULL, 0), (ssize_t)nl);
	ck_assert_int_eq(imgfs_fs_getxattr(fs, b.ino, "user.imgfs.size", buf, nl - 1), -ERANGE);
	memset(buf, 0, sizeof(buf));
	ck_assert_int_eq(imgfs_fs_getxattr(fs, b.ino, "user.imgfs.size", buf, nl), (ssize_t)nl);
	ck_assert_str_eq(buf, num);
	/* user.imgfs.files belongs to directories only */
	ck_assert_int_eq(imgfs_fs_getxattr(fs, b.ino, "user.imgfs.files", NULL, 0), -ENODATA);
	memset(buf, 0, sizeof(buf));
	ck_assert_int_gt(imgfs_fs_getxattr(fs, d.ino, "user.imgfs.files", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "21"); /* f00..f19 and sub */
}
END_TEST

/* Splits a listxattr buffer of LEN bytes; returns how many names and
 * whether NAME is one of them. */
static int names_has(const char *buf, ssize_t len, const char *prefix, int *count)
{
	ssize_t o = 0;
	int has = 0;

	*count = 0;
	while (o < len) {
		has |= strncmp(buf + o, prefix, strlen(prefix)) == 0;
		(*count)++;
		o += (ssize_t)strlen(buf + o) + 1;
	}
	ck_assert_int_eq(o, len);
	return has;
}

/* A symlink lists no user.* name (Linux would refuse to read them), though
 * its tar gave it one; a file lists its own and the virtual ones; size 0
 * asks for the length and a short buffer is -ERANGE. */
START_TEST(listxattr_kinds)
{
	struct imgfs_attr sl, x, d;
	char buf[4096];
	ssize_t n, need;
	int count;

	open_std(DOCKER, NULL);
	sl = at("sl");
	x = at("x");
	d = at("d");
	n = imgfs_fs_listxattr(fs, sl.ino, buf, sizeof(buf));
	ck_assert_int_ge(n, 0);
	ck_assert_msg(!names_has(buf, n, "user.", &count), "a symlink lists user.* names");
	ck_assert_int_eq(imgfs_fs_listxattr(fs, sl.ino, NULL, 0), n);

	need = imgfs_fs_listxattr(fs, x.ino, NULL, 0);
	ck_assert_int_gt(need, 0);
	ck_assert_int_eq(imgfs_fs_listxattr(fs, x.ino, buf, (size_t)need - 1), -ERANGE);
	n = imgfs_fs_listxattr(fs, x.ino, buf, sizeof(buf));
	ck_assert_int_eq(n, need);
	ck_assert(names_has(buf, n, "user.foo", &count));
	ck_assert(names_has(buf, n, "user.bin", &count));
	ck_assert(names_has(buf, n, "user.imgfs.size", &count));
	ck_assert(names_has(buf, n, "user.imgfs.created_by", &count)); /* the config has steps */
	ck_assert_msg(!names_has(buf, n, "user.imgfs.files", &count), "a file lists user.imgfs.files");
	n = imgfs_fs_listxattr(fs, d.ino, buf, sizeof(buf));
	ck_assert_int_gt(n, 0);
	ck_assert(names_has(buf, n, "user.imgfs.files", &count));
	ck_assert(!names_has(buf, n, "user.foo", &count));
}
END_TEST

/* statfs: the bytes of the merged tree's regular files, each inode once
 * (hl is small again, d/f05's lower copy is gone), and its inodes. */
START_TEST(statfs_totals)
{
	struct imgfs_fs_stat st;

	open_std(DOCKER, NULL);
	ck_assert_int_eq(imgfs_fs_statfs(fs, &st), 0);
	ck_assert_msg(st.bytes == model_bytes, "bytes %" PRIu64 ", model %" PRIu64, st.bytes,
		      model_bytes);
	/* Every inode a path reaches, /.imgfs included: the merged tree's
	 * (root; d, d/sub, e; the 20 files of d; small=hl, empty, big, link,
	 * x, sl, l1file, l2file), layer 0's d/f05 that layer 1 hides, and the
	 * views: /.imgfs, layers, hidden, layers/0-2, hidden/0-2, a view
	 * directory of its own for each directory a layer's tar holds (d,
	 * d/sub, e in layer 0; d in layer 1) and hidden/0/d for the hidden
	 * f05, and /.imgfs/config.json.  Files in the views share the
	 * merged tree's inodes. */
	ck_assert_uint_eq(st.inodes, (1 + 3 + NFILES + 8) + 1 + (3 + 6 + 4 + 1) + 1);
}
END_TEST

struct lcount {
	int calls, stop_after;
	struct imgfs_layer_info l[3];
	char created[3][32], comp[3][16];
};

static int layer_cb(void *ctx, const struct imgfs_layer_info *l)
{
	struct lcount *c = ctx;

	if (c->calls < 3) {
		c->l[c->calls] = *l;
		snprintf(c->created[c->calls], sizeof(c->created[0]), "%s", l->created_by ? l->created_by : "");
		snprintf(c->comp[c->calls], sizeof(c->comp[0]), "%s", l->compression ? l->compression : "");
	}
	c->calls++;
	return c->stop_after && c->calls == c->stop_after;
}

/* The layers callback: every layer base first with what was written, and
 * a non-zero return stops it after that call. */
static void layers(enum fmt f)
{
	struct lcount all = { 0 }, one = { .stop_after = 1 }, two = { .stop_after = 2 };
	struct written wr;
	int i;

	open_std(f, &wr);
	ck_assert_int_eq(imgfs_fs_layers(fs, layer_cb, &all), 0);
	ck_assert_int_eq(all.calls, 3);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(all.l[i].num, i);
		ck_assert_str_eq(all.created[i], steps[i]);
		ck_assert_int_eq(all.l[i].entries, (int64_t)wr.entries[i]);
		ck_assert_int_eq(all.l[i].size, (int64_t)wr.size[i]);
		ck_assert_int_eq(all.l[i].stored_size, (int64_t)wr.stored[i]);
		ck_assert_str_eq(all.comp[i], f == OCI_GZ ? "gzip" : "none");
	}
	ck_assert_int_eq(imgfs_fs_layers(fs, layer_cb, &one), 0);
	ck_assert_int_eq(one.calls, 1);
	ck_assert_int_eq(one.l[0].num, 0);
	ck_assert_int_eq(imgfs_fs_layers(fs, layer_cb, &two), 0);
	ck_assert_int_eq(two.calls, 2);
	ck_assert_int_eq(two.l[1].num, 1);
}

START_TEST(layers_docker)
{
	layers(DOCKER);
}
END_TEST

START_TEST(layers_gzip)
{
	layers(OCI_GZ);
}
END_TEST

/* imgfs_fs_path is the path opened; a meta key is what the index file
 * holds (read here with SQLite), a missing key NULL. */
START_TEST(meta_path)
{
	sqlite3 *db;
	sqlite3_stmt *q;
	char *v, *want = NULL;

	open_std(DOCKER, NULL);
	ck_assert_str_eq(imgfs_fs_path(fs), index_path);
	ck_assert_ptr_null(imgfs_fs_meta(fs, "no such key"));
	ck_assert_int_eq(sqlite3_open_v2(index_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key='schema'", -1, &q,
					    NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(q), SQLITE_ROW);
	want = strdup((const char *)sqlite3_column_text(q, 0));
	sqlite3_finalize(q);
	sqlite3_close(db);
	v = imgfs_fs_meta(fs, "schema");
	ck_assert_ptr_nonnull(v);
	ck_assert_str_eq(v, want);
	free(v);
	free(want);
}
END_TEST

/* Several threads reading at random offsets of the cached big file and of
 * the small files at once, each through its own connection: every byte as
 * written. */
struct reader {
	uint64_t seed, big_ino;
	uint64_t small_ino[NFILES];
	int bad;
	char why[160];
};

static void *read_many(void *arg)
{
	struct reader *r = arg;
	unsigned char *buf = malloc(300000);
	uint64_t x = r->seed;
	int i;

	for (i = 0; i < 400 && !r->bad && buf; i++) {
		uint64_t off, len;
		ssize_t n;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		if (i % 4 == 3) {
			int f = (int)(x % NFILES);
			const char *want = f == 5 ? "rewritten f05" : fbody[f];

			n = imgfs_fs_read(fs, r->small_ino[f], buf, 300000, 0);
			if (n != (ssize_t)strlen(want) || memcmp(buf, want, (size_t)n)) {
				r->bad = 1;
				snprintf(r->why, sizeof(r->why), "%s: %zd bytes, wrong", fname[f], n);
			}
			continue;
		}
		off = x % BIG_LEN;
		len = (x >> 32) % 300000;
		n = imgfs_fs_read(fs, r->big_ino, buf, (size_t)len, off);
		if (off + len > BIG_LEN)
			len = BIG_LEN - off;
		if (n != (ssize_t)len || memcmp(buf, big + off, len)) {
			r->bad = 1;
			snprintf(r->why, sizeof(r->why), "big: read %" PRIu64 " at %" PRIu64 ": %zd",
				 len, off, n);
		}
	}
	free(buf);
	return NULL;
}

START_TEST(concurrent_reads)
{
	enum { NT = 6 };
	struct reader r[NT];
	pthread_t t[NT];
	int i, k;

	open_std(OCI_GZ, NULL);
	for (i = 0; i < NT; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		r[i].seed = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1);
		r[i].big_ino = at("big").ino;
		for (k = 0; k < NFILES; k++)
			r[i].small_ino[k] = at(fname[k]).ino;
	}
	for (i = 0; i < NT; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, read_many, &r[i]), 0);
	for (i = 0; i < NT; i++)
		ck_assert_int_eq(pthread_join(t[i], NULL), 0);
	for (i = 0; i < NT; i++)
		ck_assert_msg(!r[i].bad, "thread %d: %s", i, r[i].why);
	/* the connections the threads gave back serve a second round */
	for (i = 0; i < NT; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, read_many, &r[i]), 0);
	for (i = 0; i < NT; i++)
		ck_assert_int_eq(pthread_join(t[i], NULL), 0);
	for (i = 0; i < NT; i++)
		ck_assert_msg(!r[i].bad, "thread %d, round 2: %s", i, r[i].why);
}
END_TEST

static Suite *tree_suite(void)
{
	Suite *s = suite_create("tree");
	TCase *open = tcase_create("open"), *names = tcase_create("names"),
	      *data = tcase_create("data"), *info = tcase_create("info");
	TCase *all[] = { open, names, data, info };
	size_t i;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		tcase_add_checked_fixture(all[i], setup, teardown);
		tcase_set_timeout(all[i], 120);
		suite_add_tcase(s, all[i]);
	}
	tcase_add_test(open, open_not_index);
	tcase_add_test(open, open_other_schema);
	tcase_add_test(names, lookup_errors);
	tcase_add_test(names, readdir_resume);
	tcase_add_test(names, dot_dotdot);
	tcase_add_test(names, view_not_listed);
	tcase_add_test(names, config_view_docker);
	tcase_add_test(names, config_view_oci);
	tcase_add_test(data, read_eof_docker);
	tcase_add_test(data, read_eof_cache);
	tcase_add_test(data, read_chunks_cache);
	tcase_add_test(data, read_chunks_docker);
	tcase_add_test(data, readlink_short);
	tcase_add_test(data, concurrent_reads);
	tcase_add_test(info, getxattr_sizes);
	tcase_add_test(info, listxattr_kinds);
	tcase_add_test(info, statfs_totals);
	tcase_add_test(info, layers_docker);
	tcase_add_test(info, layers_gzip);
	tcase_add_test(info, meta_path);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	setlocale(LC_CTYPE, "C.UTF-8");
	sr = srunner_create(tree_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
