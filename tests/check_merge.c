/* This file contains the end-to-end tests of the layer changeset rules and
 * the read side: each test writes small layer tars with libarchive, wraps
 * them into a docker-archive or OCI archive in a temporary directory, builds
 * the index through imgfs_index_prepare and walks the merged tree through
 * the public imgfs_fs_* API only. */
#include "imgfs/imgfs.h"

#include <check.h>
#include <errno.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "testutil.h"

/* Entries, written as they would appear in a layer. */
#define F(p, c) { .path = (p), .type = TU_FILE, .content = (c) }
#define D(p) { .path = (p), .type = TU_DIR }
#define WH(p) { .path = (p), .type = TU_FILE }
#define SL(p, t) { .path = (p), .type = TU_SYMLINK, .link = (t) }
#define HL(p, t) { .path = (p), .type = TU_HARDLINK, .link = (t) }

/* One layer as a table of entries. */
struct lspec {
	const struct tu_entry *e;
	size_t n;
	const char *created_by;
	int flags;                /* tu_tar flags besides TU_GZIP */
};
#define L(arr) { (arr), sizeof(arr) / sizeof((arr)[0]), #arr, 0 }

enum fmt { DOCKER, OCI_GZ };

static char *dir;          /* this test's temporary directory */
static char *image;        /* DIR/image.tar */
static struct imgfs_fs *fs;

static void setup(void)
{
	dir = tu_tmpdir();
	if (asprintf(&image, "%s/image.tar", dir) < 0)
		abort();
	fs = NULL;
}

static void teardown(void)
{
	imgfs_fs_close(fs);
	fs = NULL;
	tu_rm_rf(dir);
	free(dir);
	free(image);
}

/* Writes the image of layers LS in format F; 0 or the failing -errno. */
static int build(const struct lspec *ls, size_t n, enum fmt f, struct imgfs_err *err)
{
	struct tu_layer *l = calloc(n, sizeof(*l));
	size_t i;
	int rc;

	ck_assert_ptr_nonnull(l);
	for (i = 0; i < n; i++) {
		tu_tar(&l[i].tar, ls[i].e, ls[i].n, ls[i].flags | (f == OCI_GZ ? TU_GZIP : 0));
		l[i].created_by = ls[i].created_by;
	}
	if (f == DOCKER)
		tu_docker_archive(image, l, n);
	else
		tu_oci_archive(image, l, n, 1);
	for (i = 0; i < n; i++)
		tu_blob_free(&l[i].tar);
	free(l);
	rc = tu_open(image, dir, &fs, err);
	return rc;
}

/* Builds and opens; the build must succeed. */
static void mount_fmt(const struct lspec *ls, size_t n, enum fmt f)
{
	struct imgfs_err err;
	int rc = build(ls, n, f, &err);

	if (rc)
		fprintf(stderr, "build failed: %d %s\n", rc, err.msg);
	ck_assert_int_eq(rc, 0);
	ck_assert_ptr_nonnull(fs);
}
#define MOUNT(...) do { const struct lspec ls_[] = { __VA_ARGS__ }; \
	mount_fmt(ls_, sizeof(ls_) / sizeof(ls_[0]), DOCKER); } while (0)

/* Builds; the build must fail with RC, as bad input, with a message that
 * holds each of the NULL-ended strings. */
static void build_fails(const struct lspec *ls, size_t n, int rc, ...)
{
	struct imgfs_err err;
	const char *part;
	va_list ap;

	ck_assert_int_eq(build(ls, n, DOCKER, &err), rc);
	ck_assert_int_eq(err.code, rc);
	ck_assert_int_eq(err.input, 1);
	ck_assert_ptr_null(fs);
	va_start(ap, rc);
	while ((part = va_arg(ap, const char *)) != NULL)
		ck_assert_msg(strstr(err.msg, part), "message \"%s\" lacks \"%s\"", err.msg, part);
	va_end(ap);
}

static struct imgfs_attr at(const char *path)
{
	struct imgfs_attr a;
	int rc = tu_walk(fs, path, &a);

	ck_assert_msg(rc == 0, "%s: lookup failed: %d", path, rc);
	return a;
}

static void expect_absent(const char *path)
{
	struct imgfs_attr a;
	int rc = tu_walk(fs, path, &a);

	ck_assert_msg(rc == -ENOENT, "%s: expected -ENOENT, got %d", path, rc);
}

static void expect_file(const char *path, const char *content)
{
	struct imgfs_attr a = at(path);
	char *got;

	ck_assert_msg(S_ISREG(a.mode), "%s: mode %o is no regular file", path, a.mode);
	ck_assert_uint_eq(a.size, strlen(content));
	got = tu_read_all(fs, a.ino, NULL);
	ck_assert_ptr_nonnull(got);
	ck_assert_str_eq(got, content);
	free(got);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The children of directory PATH, sorted, ';'-joined: "a;b".  "." and ".."
 * must come first. */
static char *children(const char *path)
{
	struct imgfs_attr a = at(path);
	char *all = tu_list(fs, a.ino), *p, *v[256], *out;
	size_t n = 0, i, len = 1;

	ck_assert_ptr_nonnull(all);
	ck_assert_msg(!strncmp(all, ".;..;", 5), "%s: listing \"%s\" does not start with . and ..",
		      path, all);
	for (p = strtok(all + 5, ";"); p; p = strtok(NULL, ";")) {
		ck_assert_uint_lt(n, 256);
		v[n++] = p;
		len += strlen(p) + 1;
	}
	qsort(v, n, sizeof(v[0]), cmp_str);
	out = calloc(1, len);
	ck_assert_ptr_nonnull(out);
	for (i = 0; i < n; i++) {
		if (i)
			strcat(out, ";");
		strcat(out, v[i]);
	}
	free(all);
	return out;
}

#define EXPECT_CHILDREN(path, want) do { char *c_ = children(path); \
	ck_assert_str_eq(c_, (want)); free(c_); } while (0)

static void expect_xattr(const char *path, const char *name, const char *want)
{
	struct imgfs_attr a = at(path);
	char *v = tu_xattr(fs, a.ino, name);

	ck_assert_msg(v != NULL, "%s: no xattr %s", path, name);
	ck_assert_str_eq(v, want);
	free(v);
}

/* ---- whiteouts and opaque directories ---- */

START_TEST(whiteout_file)
{
	static const struct tu_entry l0[] = {
		D("a/"), F("a/x", "x0"), F("a/y", "y0"), F("top", "t"),
	};
	static const struct tu_entry l1[] = {
		WH("a/.wh.x"), WH(".wh.top"),
		/* Whiteouts of names that do not exist hide nothing; a
		 * missing directory of one is made (Docker's unpacker). */
		WH("a/.wh.nothere"), WH("nodir/.wh.z"),
	};

	MOUNT(L(l0), L(l1));
	expect_absent("a/x");
	expect_absent("top");
	expect_file("a/y", "y0");
	EXPECT_CHILDREN("a", "y");
	/* The whiteouts themselves are hidden. */
	expect_absent("a/.wh.x");
	expect_absent(".wh.top");
	EXPECT_CHILDREN("nodir", "");
	ck_assert_uint_eq(at("nodir").mode, S_IFDIR | 0755);
	EXPECT_CHILDREN("", "a;nodir");
	/* The root without a root entry: 0755 root:root. */
	ck_assert_uint_eq(at("").mode, S_IFDIR | 0755);
	ck_assert_uint_eq(at("").uid, 0);
	ck_assert_uint_eq(at("").ino, IMGFS_ROOT_INO);
}
END_TEST

START_TEST(whiteout_dir)
{
	static const struct tu_entry l0[] = {
		D("d/"), D("d/sub/"), F("d/sub/f", "f"), F("d/g", "g"), F("other", "o"),
	};
	static const struct tu_entry l1[] = { WH(".wh.d") };
	static const struct tu_entry l2[] = { D("d/"), F("d/new", "n") };

	MOUNT(L(l0), L(l1));
	expect_absent("d");
	expect_absent("d/sub/f");
	EXPECT_CHILDREN("", "other");
	imgfs_fs_close(fs);
	fs = NULL;

	/* Re-created a layer later: it starts empty. */
	MOUNT(L(l0), L(l1), L(l2));
	EXPECT_CHILDREN("d", "new");
	expect_absent("d/sub");
}
END_TEST

START_TEST(opaque_after_siblings)
{
	static const struct tu_entry l0[] = {
		D("o/"), F("o/old1", "1"), D("o/olddir/"), F("o/olddir/f", "f"), F("o/keep", "k0"),
		F("outside", "x"),
	};
	/* podman writes the marker after the directory's other entries. */
	static const struct tu_entry l1[] = {
		D("o/"), F("o/new", "n"), D("o/nd/"), F("o/nd/f", "nf"), F("o/keep", "k1"),
		WH("o/.wh..wh..opq"),
	};
	/* and others before them. */
	static const struct tu_entry l1b[] = {
		D("o/"), WH("o/.wh..wh..opq"), F("o/new", "n"), D("o/nd/"), F("o/nd/f", "nf"),
		F("o/keep", "k1"),
	};

	MOUNT(L(l0), L(l1));
	EXPECT_CHILDREN("o", "keep;nd;new");
	expect_file("o/keep", "k1");
	expect_file("o/nd/f", "nf");
	expect_absent("o/old1");
	expect_absent("o/olddir");
	expect_absent("o/.wh..wh..opq");
	expect_file("outside", "x");
	imgfs_fs_close(fs);
	fs = NULL;

	MOUNT(L(l0), L(l1b));
	EXPECT_CHILDREN("o", "keep;nd;new");
	expect_file("o/keep", "k1");
	expect_file("o/nd/f", "nf");
}
END_TEST

/* A marker's directory is made like any entry's parent (issue 13, item
 * 6): where nothing was, and over a lower file or symlink, which it hides;
 * a lower directory there is kept.  Docker shows the same: moby makes a
 * missing parent of every entry, markers included, in the layer's own
 * directory, and overlayfs puts that over the lower layers. */
START_TEST(marker_parent_not_dir)
{
	static const struct tu_entry l0[] = {
		F("x", "x"), D("real/"), F("real/y", "y"), SL("lnk", "real"), D("kept/"),
		F("kept/y", "y"), F("kept/z", "z"),
	};
	static const struct tu_entry l1[] = {
		WH("newdir/.wh..wh..opq"), WH("x/.wh.y"), WH("lnk/.wh.y"), WH("a/b/.wh.c"),
		WH("kept/.wh.y"),
	};

	MOUNT(L(l0), L(l1));
	EXPECT_CHILDREN("", "a;kept;lnk;newdir;real;x");
	EXPECT_CHILDREN("newdir", "");
	EXPECT_CHILDREN("x", "");
	EXPECT_CHILDREN("lnk", "");
	EXPECT_CHILDREN("a/b", "");
	EXPECT_CHILDREN("kept", "z");
	EXPECT_CHILDREN("real", "y");
	ck_assert(S_ISDIR(at("x").mode));
	ck_assert(S_ISDIR(at("lnk").mode));
	expect_xattr("x", "user.imgfs.layer", "1");
	expect_xattr("kept", "user.imgfs.layer", "0");
}
END_TEST

/* An image's own /.imgfs (issue 13, item 7): the virtual view keeps the
 * name, the image's entry is /.imgfs/.imgfs, and readdir of / lists
 * neither; / still counts its bytes. */
START_TEST(own_view_name)
{
	static const struct tu_entry l0[] = {
		D(".imgfs/"), F(".imgfs/keep", "own"), D(".imgfs/layers/"), F("big", "BBBBB"),
	};
	static const struct tu_entry l1[] = { WH(".wh.big") };

	MOUNT(L(l0), L(l1));
	EXPECT_CHILDREN("", "");
	EXPECT_CHILDREN(".imgfs", ".imgfs;config.json;hidden;layers");
	EXPECT_CHILDREN(".imgfs/layers", "0;1");
	EXPECT_CHILDREN(".imgfs/hidden/0", "big");
	expect_file(".imgfs/hidden/0/big", "BBBBB");
	EXPECT_CHILDREN(".imgfs/.imgfs", "keep;layers");
	expect_file(".imgfs/.imgfs/keep", "own");
	ck_assert_uint_eq(at("").nlink, 2);
	expect_xattr("", "user.imgfs.wasted", "5");
	expect_xattr("", "user.imgfs.size", "3");
	expect_xattr(".imgfs/.imgfs/keep", "user.imgfs.layers", "0");
}
END_TEST

START_TEST(opaque_root)
{
	static const struct tu_entry l0[] = { F("a", "a"), D("b/"), F("b/c", "c") };
	static const struct tu_entry l1[] = { F("n", "n"), WH(".wh..wh..opq") };

	MOUNT(L(l0), L(l1));
	EXPECT_CHILDREN("", "n");
}
END_TEST

START_TEST(whiteout_same_layer)
{
	static const struct tu_entry l0[] = {
		F("x", "old"), F("y", "oldy"), D("dd/"), F("dd/lower", "l"),
	};
	/* Whiteouts apply to lower layers only, before or after the name. */
	static const struct tu_entry l1[] = {
		WH(".wh.x"), F("x", "new"), F("y", "newy"), WH(".wh.y"),
		D("dd/"), F("dd/f", "f"), WH(".wh.dd"),
	};

	MOUNT(L(l0), L(l1));
	expect_file("x", "new");
	expect_file("y", "newy");
	EXPECT_CHILDREN("dd", "f");
	EXPECT_CHILDREN("", "dd;x;y");
}
END_TEST

/* ---- replacing entries ---- */

START_TEST(replace_types)
{
	static const struct tu_entry l0[] = {
		D("d/"), F("d/f", "f"), D("d/s/"), F("d/s/g", "g"),
		F("f", "file"), SL("l", "target"),
		{ .path = "e/", .type = TU_DIR, .mode = 0755, .uid = 1, .gid = 1, .mtime = 100 },
		F("e/x", "x"),
	};
	static const struct tu_entry l1[] = {
		F("d", "now a file"), D("f/"), D("l/"),
		{ .path = "e/", .type = TU_DIR, .mode = 0700, .uid = 7, .gid = 8, .mtime = 200 },
	};
	struct imgfs_attr e;

	MOUNT(L(l0), L(l1));
	/* A directory replaced by a file: its subtree is gone. */
	expect_file("d", "now a file");
	ck_assert_int_ne(tu_walk(fs, "d/f", &e), 0);
	ck_assert_int_ne(tu_walk(fs, "d/s/g", &e), 0);
	/* A file or symlink replaced by a directory: an empty one. */
	ck_assert_uint_eq(at("f").mode, S_IFDIR | 0755);
	EXPECT_CHILDREN("f", "");
	ck_assert_uint_eq(at("l").mode, S_IFDIR | 0755);
	EXPECT_CHILDREN("l", "");
	/* Directory over directory: new attributes, lower children kept. */
	e = at("e");
	ck_assert_uint_eq(e.mode, S_IFDIR | 0700);
	ck_assert_uint_eq(e.uid, 7);
	ck_assert_uint_eq(e.gid, 8);
	ck_assert_int_eq(e.mtime, 200);
	EXPECT_CHILDREN("e", "x");
	expect_file("e/x", "x");
	expect_xattr("e", "user.imgfs.layer", "1");
	expect_xattr("e/x", "user.imgfs.layer", "0");
}
END_TEST

/* The header promises -ENOTDIR when the parent is no directory. */
START_TEST(lookup_in_file)
{
	static const struct tu_entry l0[] = { F("f", "file") };
	struct imgfs_attr a = { 0 };

	MOUNT(L(l0));
	ck_assert_int_eq(imgfs_fs_lookup(fs, at("f").ino, "x", &a), -ENOTDIR);
	ck_assert_int_eq(imgfs_fs_lookup(fs, IMGFS_ROOT_INO, "nope", &a), -ENOENT);
	ck_assert_int_eq(imgfs_fs_getattr(fs, 999999, &a), -ENOENT);
}
END_TEST

START_TEST(implied_parents)
{
	static const struct tu_entry l0[] = {
		{ .path = "keep/", .type = TU_DIR, .mode = 0700, .uid = 5, .gid = 6, .mtime = 1000 },
		F("keep/a", "a"), F("pf", "was a file"),
	};
	static const struct tu_entry l1[] = {
		F("keep/b", "b"), F("n/m/f", "deep"), F("pf/child", "c"),
	};
	struct imgfs_attr a;

	MOUNT(L(l0), L(l1));
	/* The lower directory stays, with its own attributes. */
	a = at("keep");
	ck_assert_uint_eq(a.mode, S_IFDIR | 0700);
	ck_assert_uint_eq(a.uid, 5);
	ck_assert_uint_eq(a.gid, 6);
	ck_assert_int_eq(a.mtime, 1000);
	EXPECT_CHILDREN("keep", "a;b");
	expect_xattr("keep", "user.imgfs.layer", "0");
	/* Missing parents are 0755 root:root. */
	a = at("n");
	ck_assert_uint_eq(a.mode, S_IFDIR | 0755);
	ck_assert_uint_eq(a.uid, 0);
	ck_assert_uint_eq(a.gid, 0);
	a = at("n/m");
	ck_assert_uint_eq(a.mode, S_IFDIR | 0755);
	ck_assert_uint_eq(a.uid, 0);
	expect_xattr("n/m", "user.imgfs.layer", "1");
	expect_file("n/m/f", "deep");
	/* A lower file in the way becomes an implied directory. */
	ck_assert_uint_eq(at("pf").mode, S_IFDIR | 0755);
	expect_file("pf/child", "c");
}
END_TEST

START_TEST(root_entry)
{
	static const struct tu_entry l0[] = {
		{ .path = "./", .type = TU_DIR, .mode = 0700, .uid = 1, .gid = 2, .mtime = 5 },
		F("a", "a"),
	};
	static const struct tu_entry l1[] = {
		{ .path = ".", .type = TU_DIR, .mode = 0711, .uid = 3, .gid = 4, .mtime = 6 },
	};
	struct imgfs_attr a;

	MOUNT(L(l0));
	a = at("");
	ck_assert_uint_eq(a.ino, IMGFS_ROOT_INO);
	ck_assert_uint_eq(a.mode, S_IFDIR | 0700);
	ck_assert_uint_eq(a.uid, 1);
	ck_assert_uint_eq(a.gid, 2);
	ck_assert_int_eq(a.mtime, 5);
	EXPECT_CHILDREN("", "a");
	imgfs_fs_close(fs);
	fs = NULL;

	/* The topmost root entry wins; children stay. */
	MOUNT(L(l0), L(l1));
	a = at("");
	ck_assert_uint_eq(a.mode, S_IFDIR | 0711);
	ck_assert_uint_eq(a.uid, 3);
	ck_assert_uint_eq(a.gid, 4);
	ck_assert_int_eq(a.mtime, 6);
	EXPECT_CHILDREN("", "a");
}
END_TEST

START_TEST(duplicate_entry)
{
	static const struct tu_entry l0[] = {
		F("dup", "first"),
		{ .path = "dup", .type = TU_FILE, .mode = 0600, .content = "second!" },
		{ .path = "dd/", .type = TU_DIR, .mode = 0700 },
		F("dd/x", "x"),
		{ .path = "dd/", .type = TU_DIR, .mode = 0750 },
	};

	MOUNT(L(l0));
	expect_file("dup", "second!");
	ck_assert_uint_eq(at("dup").mode, S_IFREG | 0600);
	ck_assert_uint_eq(at("dd").mode, S_IFDIR | 0750);
	EXPECT_CHILDREN("dd", "x");
	EXPECT_CHILDREN("", "dd;dup");
}
END_TEST

START_TEST(dotdot_skipped)
{
	static const struct tu_entry l0[] = {
		F("../escape", "x"), F("a/../../b", "y"), D("sub/"), F("sub/../../up", "u"),
		F("sub/../side", "s"), F("ok", "z"), SL("../../lnk", "/"),
	};

	MOUNT(L(l0));
	EXPECT_CHILDREN("", "ok;sub");
	EXPECT_CHILDREN("sub", "");
	expect_file("ok", "z");
}
END_TEST

START_TEST(aufs_metadata)
{
	static const struct tu_entry l0[] = {
		D(".wh..wh.plnk/"), F(".wh..wh.plnk/1234.5678", "x"), F(".wh..wh.aufs", ""),
		D(".wh..wh.orph/"), F("real", "r"),
	};

	MOUNT(L(l0));
	EXPECT_CHILDREN("", "real");
}
END_TEST

START_TEST(bare_whiteout)
{
	static const struct tu_entry l0[] = { F("a", "a"), WH(".wh.") };
	static const struct tu_entry l0b[] = { D("d/"), WH("d/.wh.") };
	const struct lspec ls[] = { L(l0) }, lsb[] = { L(l0b) };

	build_fails(ls, 1, -EINVAL, "invalid whiteout", ".wh.", NULL);
	build_fails(lsb, 1, -EINVAL, "invalid whiteout", "d/.wh.", NULL);
}
END_TEST

/* ---- hardlinks ---- */

START_TEST(hardlink_pair)
{
	static const struct tu_entry l0[] = {
		{ .path = "a", .type = TU_FILE, .mode = 0640, .uid = 3, .content = "data" },
		HL("b", "a"), D("d/"), HL("d/c", "./a"),
	};
	struct imgfs_attr a, b, c;

	MOUNT(L(l0));
	a = at("a");
	b = at("b");
	c = at("d/c");
	ck_assert_uint_eq(a.ino, b.ino);
	ck_assert_uint_eq(a.ino, c.ino);
	ck_assert_uint_eq(a.nlink, 3);
	ck_assert_uint_eq(b.nlink, 3);
	ck_assert_uint_eq(b.mode, S_IFREG | 0640);
	ck_assert_uint_eq(b.uid, 3);
	ck_assert_uint_eq(b.size, 4);
	expect_file("b", "data");
	expect_file("d/c", "data");
}
END_TEST

START_TEST(hardlink_nlink2)
{
	static const struct tu_entry l0[] = { F("a", "data"), HL("b", "a"), F("c", "solo") };

	MOUNT(L(l0));
	ck_assert_uint_eq(at("a").ino, at("b").ino);
	ck_assert_uint_eq(at("a").nlink, 2);
	ck_assert_uint_eq(at("b").nlink, 2);
	ck_assert_uint_eq(at("c").nlink, 1);
	ck_assert_uint_ne(at("c").ino, at("a").ino);
}
END_TEST

START_TEST(hardlink_overwritten)
{
	static const struct tu_entry l0[] = { F("a", "old"), HL("b", "a") };
	static const struct tu_entry l1[] = { F("a", "new!") };
	static const struct tu_entry l1w[] = { WH(".wh.a") };

	MOUNT(L(l0), L(l1));
	expect_file("a", "new!");
	expect_file("b", "old");
	ck_assert_uint_ne(at("a").ino, at("b").ino);
	ck_assert_uint_eq(at("a").nlink, 1);
	ck_assert_uint_eq(at("b").nlink, 1);
	imgfs_fs_close(fs);
	fs = NULL;

	/* Whiting out one name keeps the inode under the other. */
	MOUNT(L(l0), L(l1w));
	expect_absent("a");
	expect_file("b", "old");
	ck_assert_uint_eq(at("b").nlink, 1);
}
END_TEST

START_TEST(hardlink_cross_layer)
{
	static const struct tu_entry l0[] = { F("f", "content"), D("d/") };
	static const struct tu_entry l1[] = { HL("d/g", "f") };

	MOUNT(L(l0), L(l1));
	ck_assert_uint_eq(at("d/g").ino, at("f").ino);
	ck_assert_uint_eq(at("d/g").nlink, 2);
	ck_assert_uint_eq(at("f").nlink, 2);
	expect_file("d/g", "content");
	/* The inode came from layer 0. */
	expect_xattr("d/g", "user.imgfs.layer", "0");
}
END_TEST

START_TEST(hardlink_bad_targets)
{
	static const struct tu_entry missing[] = { F("x", "x"), HL("h", "nope") };
	static const struct tu_entry todir[] = { D("d/"), HL("h", "d") };
	/* A target whited out lower down is gone too. */
	static const struct tu_entry l0[] = { F("t", "t") };
	static const struct tu_entry l1[] = { WH(".wh.t"), HL("h2", "t") };
	const struct lspec a[] = { L(missing) }, b[] = { L(todir) }, c[] = { L(l0), L(l1) };

	build_fails(a, 1, -ENOENT, "hardlink h", "nope", NULL);
	build_fails(b, 1, -EISDIR, "hardlink h", "directory", NULL);
	build_fails(c, 2, -ENOENT, "hardlink h2", "t", NULL);
}
END_TEST

/* ---- attributes ---- */

START_TEST(symlinks)
{
	static const struct tu_entry l0[] = {
		SL("abs", "/etc/passwd"), D("dir/"), SL("dir/rel", "../x/./y"),
		SL("dir/out", "../../../escape"),
	};
	char buf[64];
	struct imgfs_attr a;

	MOUNT(L(l0));
	a = at("abs");
	ck_assert_uint_eq(a.mode, S_IFLNK | 0777);
	ck_assert_uint_eq(a.size, strlen("/etc/passwd"));
	ck_assert_int_eq(imgfs_fs_readlink(fs, a.ino, buf, sizeof(buf)), 11);
	ck_assert_mem_eq(buf, "/etc/passwd", 11);
	ck_assert_int_eq(imgfs_fs_readlink(fs, at("dir/rel").ino, buf, sizeof(buf)), 8);
	ck_assert_mem_eq(buf, "../x/./y", 8);
	ck_assert_int_eq(imgfs_fs_readlink(fs, at("dir/out").ino, buf, sizeof(buf)), 15);
	ck_assert_mem_eq(buf, "../../../escape", 15);
	/* A short buffer gets the start. */
	ck_assert_int_eq(imgfs_fs_readlink(fs, a.ino, buf, 4), 4);
	ck_assert_mem_eq(buf, "/etc", 4);
	/* Not a symlink. */
	ck_assert_int_eq(imgfs_fs_readlink(fs, at("dir").ino, buf, sizeof(buf)), -EINVAL);
}
END_TEST

START_TEST(special_files)
{
	static const struct tu_entry l0[] = {
		{ .path = "p", .type = TU_FIFO, .mode = 0600, .uid = 9 },
		{ .path = "null", .type = TU_CHR, .mode = 0666, .rmajor = 1, .rminor = 3 },
		{ .path = "tty", .type = TU_CHR, .mode = 0620, .rmajor = 136, .rminor = 300 },
		{ .path = "su", .type = TU_FILE, .mode = 04755, .content = "#!" },
		{ .path = "sg", .type = TU_FILE, .mode = 02711, .content = "#!" },
		{ .path = "tmp/", .type = TU_DIR, .mode = 01777 },
	};
	struct imgfs_attr a;

	MOUNT(L(l0));
	a = at("p");
	ck_assert_uint_eq(a.mode, S_IFIFO | 0600);
	ck_assert_uint_eq(a.uid, 9);
	ck_assert_uint_eq(a.size, 0);
	a = at("null");
	ck_assert_uint_eq(a.mode, S_IFCHR | 0666);
	ck_assert_uint_eq(a.rdev, makedev(1, 3));
	a = at("tty");
	ck_assert_uint_eq(a.mode, S_IFCHR | 0620);
	ck_assert_uint_eq(major(a.rdev), 136);
	ck_assert_uint_eq(minor(a.rdev), 300);
	ck_assert_uint_eq(at("su").mode, S_IFREG | 04755);
	ck_assert_uint_eq(at("sg").mode, S_IFREG | 02711);
	ck_assert_uint_eq(at("tmp").mode, S_IFDIR | 01777);
}
END_TEST

START_TEST(mtime_nsec)
{
	/* pax restricted writes the fraction only in a pax header that is
	 * there for another reason: here an xattr. */
	static const struct tu_entry l0[] = {
		{ .path = "x", .type = TU_FILE, .mtime = 1700000000, .nsec = 123456789,
		  .xattrs = { { "user.why", "pax" } } },
		{ .path = "secs", .type = TU_FILE, .mtime = 1600000000 },
	};
	static const struct tu_entry l1[] = {
		{ .path = "full", .type = TU_FILE, .mtime = 1700000001, .nsec = 5 },
		{ .path = "d/", .type = TU_DIR, .mtime = 1234567890, .nsec = 999999999 },
		{ .path = "far", .type = TU_FILE, .mtime = 10000000000LL, .nsec = 1 },
	};
	struct lspec ls[] = { L(l0), L(l1) };
	struct imgfs_attr a;

	ls[1].flags = TU_PAX_FULL;
	mount_fmt(ls, 2, DOCKER);
	a = at("x");
	ck_assert_int_eq(a.mtime, 1700000000);
	ck_assert_uint_eq(a.mtime_ns, 123456789);
	a = at("secs");
	ck_assert_int_eq(a.mtime, 1600000000);
	ck_assert_uint_eq(a.mtime_ns, 0);
	a = at("full");
	ck_assert_int_eq(a.mtime, 1700000001);
	ck_assert_uint_eq(a.mtime_ns, 5);
	a = at("d");
	ck_assert_int_eq(a.mtime, 1234567890);
	ck_assert_uint_eq(a.mtime_ns, 999999999);
	a = at("far");
	ck_assert_int_eq(a.mtime, 10000000000LL);
	ck_assert_uint_eq(a.mtime_ns, 1);
}
END_TEST

/* Splits a listxattr buffer into a sorted ';'-joined string of the image's
 * own names; the computed user.imgfs.* ones are checked to be there (size
 * and layer on everything, files on directories) and left out, since more
 * of them may come. */
static char *xattr_names(uint64_t ino, int is_dir)
{
	ssize_t n = imgfs_fs_listxattr(fs, ino, NULL, 0);
	char *buf, *v[32], *out, *p;
	size_t k = 0, i;
	int size = 0, layer = 0, files = 0;

	ck_assert_int_gt(n, 0);
	buf = malloc((size_t)n);
	out = calloc(1, (size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(imgfs_fs_listxattr(fs, ino, buf, (size_t)n), n);
	ck_assert_int_eq(buf[n - 1], '\0');
	for (p = buf; p < buf + n; p += strlen(p) + 1) {
		size += !strcmp(p, "user.imgfs.size");
		layer += !strcmp(p, "user.imgfs.layer");
		files += !strcmp(p, "user.imgfs.files");
		if (!strncmp(p, "user.imgfs.", 11))
			continue;
		ck_assert_uint_lt(k, 32);
		v[k++] = p;
	}
	ck_assert_int_eq(size, 1);
	ck_assert_int_eq(layer, 1);
	ck_assert_int_eq(files, is_dir);
	qsort(v, k, sizeof(v[0]), cmp_str);
	for (i = 0; i < k; i++) {
		if (i)
			strcat(out, ";");
		strcat(out, v[i]);
	}
	/* A buffer one byte short is refused. */
	ck_assert_int_eq(imgfs_fs_listxattr(fs, ino, buf, (size_t)n - 1), -ERANGE);
	free(buf);
	return out;
}

#define EXPECT_XNAMES(path, want) do { struct imgfs_attr a_ = at(path); \
	char *x_ = xattr_names(a_.ino, S_ISDIR(a_.mode)); \
	ck_assert_str_eq(x_, (want)); free(x_); } while (0)

START_TEST(xattrs)
{
	static const char bin[] = { 'h', 'i', '\0', '\xff', '\n', 'z' };
	static const char cap[20] = { 0x01, 0x00, 0x00, 0x02, 0x00, 0x04 };
	static const struct tu_entry l0[] = {
		{ .path = "x", .type = TU_FILE, .content = "x",
		  .xattrs = { { "user.x", bin, sizeof(bin) } } },
		{ .path = "ping", .type = TU_FILE, .content = "elf",
		  .xattrs = { { "security.capability", cap, sizeof(cap) } } },
		{ .path = "o/", .type = TU_DIR,
		  .xattrs = { { "trusted.overlay.opaque", "y" }, { "user.overlay.opaque", "y" },
			      { "user.keep", "k" } } },
		F("o/child", "c"),
		{ .path = "fake", .type = TU_FILE, .content = "12345",
		  .xattrs = { { "user.imgfs.size", "999" }, { "user.imgfs.layer", "7" } } },
		{ .path = "xd/", .type = TU_DIR, .xattrs = { { "user.a", "1" } } },
		{ .path = "gone", .type = TU_FILE, .xattrs = { { "user.g", "1" } } },
	};
	static const struct tu_entry l1[] = {
		{ .path = "xd/", .type = TU_DIR, .xattrs = { { "user.b", "2" } } },
		F("gone", "replaced"),
	};
	char buf[64];
	uint64_t ino;

	MOUNT(L(l0), L(l1));
	ino = at("x").ino;
	ck_assert_int_eq(imgfs_fs_getxattr(fs, ino, "user.x", NULL, 0), sizeof(bin));
	ck_assert_int_eq(imgfs_fs_getxattr(fs, ino, "user.x", buf, sizeof(buf)), sizeof(bin));
	ck_assert_mem_eq(buf, bin, sizeof(bin));
	ck_assert_int_eq(imgfs_fs_getxattr(fs, ino, "user.x", buf, 3), -ERANGE);
	ck_assert_int_eq(imgfs_fs_getxattr(fs, ino, "user.nope", buf, sizeof(buf)), -ENODATA);
	EXPECT_XNAMES("x", "user.x");
	ck_assert_int_eq(imgfs_fs_getxattr(fs, at("ping").ino, "security.capability", buf,
					   sizeof(buf)), sizeof(cap));
	ck_assert_mem_eq(buf, cap, sizeof(cap));
	/* overlayfs' own attributes never come from an image. */
	ino = at("o").ino;
	ck_assert_int_eq(imgfs_fs_getxattr(fs, ino, "trusted.overlay.opaque", buf, sizeof(buf)),
			 -ENODATA);
	ck_assert_int_eq(imgfs_fs_getxattr(fs, ino, "user.overlay.opaque", buf, sizeof(buf)),
			 -ENODATA);
	EXPECT_XNAMES("o", "user.keep");
	EXPECT_CHILDREN("o", "child");
	/* Nor do imgfs' own: the computed values win. */
	expect_xattr("fake", "user.imgfs.size", "5");
	expect_xattr("fake", "user.imgfs.layer", "0");
	EXPECT_XNAMES("fake", "");
	/* Directory over directory replaces the xattrs; so does a new file. */
	EXPECT_XNAMES("xd", "user.b");
	EXPECT_XNAMES("gone", "");
	/* The virtual ones refuse a short buffer too. */
	ck_assert_int_eq(imgfs_fs_getxattr(fs, at("gone").ino, "user.imgfs.size", NULL, 0), 1);
	ck_assert_int_eq(imgfs_fs_getxattr(fs, at("fake").ino, "user.imgfs.size", buf, 0), 1);
	ck_assert_int_eq(imgfs_fs_getxattr(fs, at("xd").ino, "user.imgfs.size", buf, 1), 1);
	expect_xattr("gone", "user.imgfs.size", "8");
}
END_TEST

START_TEST(sizes)
{
	char hundred[101], ten[11];
	struct imgfs_fs_stat st;

	memset(hundred, 'h', 100);
	hundred[100] = '\0';
	memset(ten, 't', 10);
	ten[10] = '\0';
	{
		const struct tu_entry l0[] = {
			D("top/"), D("top/s1/"), F("top/s1/f", hundred), F("top/s1/other", ten),
			HL("top/s1/f2", "top/s1/f"), D("top/s2/"), HL("top/s2/g", "top/s1/f"),
			SL("top/link", "xxxxxxxx"), { .path = "top/p", .type = TU_FIFO },
			F("rootfile", "abc"),
			D("cnt/"), F("cnt/a", "1"), D("cnt/b/"), F("cnt/b/c", "22"), SL("cnt/b/l", "c"),
			D("empty/"),
		};
		const struct lspec ls[] = { { l0, sizeof(l0) / sizeof(l0[0]), "l0", 0 } };

		mount_fmt(ls, 1, DOCKER);
	}
	/* Regular files beneath, each inode once per directory. */
	expect_xattr("top/s1", "user.imgfs.size", "110");
	expect_xattr("top/s2", "user.imgfs.size", "100");
	expect_xattr("top", "user.imgfs.size", "110");
	expect_xattr("cnt", "user.imgfs.size", "3");
	expect_xattr("cnt/b", "user.imgfs.size", "2");
	expect_xattr("empty", "user.imgfs.size", "0");
	expect_xattr("", "user.imgfs.size", "116");
	expect_xattr("top/s1/f", "user.imgfs.size", "100");
	expect_xattr("top/s2/g", "user.imgfs.size", "100");
	expect_xattr("top/link", "user.imgfs.size", "0");
	expect_xattr("top/p", "user.imgfs.size", "0");
	ck_assert_int_eq(imgfs_fs_statfs(fs, &st), 0);
	ck_assert_uint_eq(st.bytes, 116);
	/* Entries beneath (no hardlinks here, whose count is not settled). */
	expect_xattr("cnt", "user.imgfs.files", "4");
	expect_xattr("cnt/b", "user.imgfs.files", "2");
	expect_xattr("empty", "user.imgfs.files", "0");
	/* Only directories have a file count. */
	ck_assert_int_eq(imgfs_fs_getxattr(fs, at("rootfile").ino, "user.imgfs.files", NULL, 0),
			 -ENODATA);
	/* Directory link counts: 2 plus subdirectories. */
	ck_assert_uint_eq(at("top").nlink, 4);
	ck_assert_uint_eq(at("cnt").nlink, 3);
	ck_assert_uint_eq(at("empty").nlink, 2);
	ck_assert_uint_eq(at("top/s1/f").nlink, 3);
}
END_TEST

START_TEST(layer_values)
{
	static const struct tu_entry l0[] = { F("a", "a"), D("d/"), F("d/x", "x"), F("w", "w"),
					      F("imp/z", "z"), F("h1", "h"), HL("h2", "h1"), F("r", "r") };
	static const struct tu_entry l1[] = { F("b", "b"), D("d/"), WH(".wh.b"), HL("h3", "h1"),
					      WH(".wh.r") };
	static const struct tu_entry l2[] = { F("a", "a2"), WH(".wh.w"), F("imp/y", "y"),
					      WH(".wh.h1"), F("r", "r") };
	struct imgfs_fs_stat st;
	char *v;

	MOUNT(L(l0), L(l1), L(l2));
	/* user.imgfs.layers: the layers with an entry or a whiteout at a
	 * path of the inode, its names together; implied parents are none */
	expect_xattr("", "user.imgfs.layers", "0,1,2");
	expect_xattr("a", "user.imgfs.layers", "0,2");
	expect_xattr("b", "user.imgfs.layers", "1");
	expect_xattr("d", "user.imgfs.layers", "0,1");
	expect_xattr("d/x", "user.imgfs.layers", "0");
	expect_xattr("imp", "user.imgfs.layers", "");
	expect_xattr("imp/y", "user.imgfs.layers", "2");
	expect_xattr("h2", "user.imgfs.layers", "0,1"); /* h1 is no name of it now */
	expect_xattr("r", "user.imgfs.layers", "0,1,2");
	/* a file only the views name has none */
	v = tu_xattr(fs, at(".imgfs/hidden/0/w").ino, "user.imgfs.layers");
	ck_assert_ptr_null(v);
	expect_xattr("a", "user.imgfs.layer", "2");
	expect_xattr("b", "user.imgfs.layer", "1");
	expect_xattr("d", "user.imgfs.layer", "1");
	expect_xattr("d/x", "user.imgfs.layer", "0");
	expect_xattr("", "user.imgfs.layer", "0");
	expect_absent("w");
	ck_assert_int_eq(imgfs_fs_statfs(fs, &st), 0);
	ck_assert_uint_eq(st.bytes, 8); /* a2, b, x, z, y, h once, r */
}
END_TEST

/* ---- reading ---- */

#define BIG_SIZE ((3u << 20) + 12345)
#define MIB (1u << 20)

static void check_big(enum fmt f)
{
	unsigned char *big = tu_random(BIG_SIZE, 42), *buf = malloc(BIG_SIZE + 100);
	const struct tu_entry l0[] = {
		F("small", "tiny"), F("empty", ""),
	};
	const struct tu_entry l1[] = {
		{ .path = "big", .type = TU_FILE, .data = big, .size = BIG_SIZE },
	};
	const struct lspec ls[] = { L(l0), L(l1) };
	static const struct { uint64_t off, size; } edges[] = {
		{ 0, 1 }, { MIB - 1, 2 }, { MIB - 4096, 8192 }, { 2 * MIB - 10, MIB + 20 },
		{ MIB, MIB }, { 3 * MIB - 1, 12346 }, { BIG_SIZE - 1, 1 }, { 5, 2 * MIB + 7 },
	};
	uint64_t x = 7, ino;
	struct imgfs_attr a;
	char *cache;
	size_t i;

	ck_assert_ptr_nonnull(buf);
	mount_fmt(ls, 2, f);
	/* Uncompressed layers are read in place; gzip ones from the cache. */
	cache = imgfs_fs_meta(fs, "cache");
	if (f == DOCKER)
		ck_assert_ptr_null(cache);
	else
		ck_assert_ptr_nonnull(cache);
	free(cache);
	a = at("big");
	ino = a.ino;
	ck_assert_uint_eq(a.size, BIG_SIZE);
	ck_assert_int_eq(imgfs_fs_read(fs, ino, buf, BIG_SIZE, 0), BIG_SIZE);
	ck_assert(memcmp(buf, big, BIG_SIZE) == 0);
	for (i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
		uint64_t want = edges[i].size;

		if (edges[i].off + want > BIG_SIZE)
			want = BIG_SIZE - edges[i].off;
		memset(buf, 0, want);
		ck_assert_int_eq(imgfs_fs_read(fs, ino, buf, edges[i].size, edges[i].off), want);
		ck_assert_msg(memcmp(buf, big + edges[i].off, want) == 0, "bytes differ at %llu+%llu",
			      (unsigned long long)edges[i].off, (unsigned long long)want);
	}
	for (i = 0; i < 300; i++) {
		uint64_t off, size, want;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		off = x % BIG_SIZE;
		size = 1 + (x >> 32) % (i % 3 == 0 ? 2 * MIB : 70000);
		want = off + size > BIG_SIZE ? BIG_SIZE - off : size;
		ck_assert_int_eq(imgfs_fs_read(fs, ino, buf, size, off), want);
		ck_assert_msg(memcmp(buf, big + off, want) == 0, "bytes differ at %llu+%llu",
			      (unsigned long long)off, (unsigned long long)want);
	}
	/* At and past the end. */
	ck_assert_int_eq(imgfs_fs_read(fs, ino, buf, 10, BIG_SIZE), 0);
	ck_assert_int_eq(imgfs_fs_read(fs, ino, buf, 10, BIG_SIZE + 1000), 0);
	ck_assert_int_eq(imgfs_fs_read(fs, ino, buf, 10, UINT64_MAX / 2), 0);
	expect_file("small", "tiny");
	expect_file("empty", "");
	ck_assert_int_eq(imgfs_fs_read(fs, at("empty").ino, buf, 10, 0), 0);
	ck_assert_int_eq(imgfs_fs_read(fs, at("small").ino, buf, 100, 2), 2);
	ck_assert_mem_eq(buf, "ny", 2);
	ck_assert_int_eq(imgfs_fs_read(fs, at("small").ino, buf, 100, 4), 0);
	/* Not a file. */
	ck_assert_int_eq(imgfs_fs_read(fs, IMGFS_ROOT_INO, buf, 10, 0), -EISDIR);
	free(big);
	free(buf);
}

START_TEST(read_docker)
{
	check_big(DOCKER);
}
END_TEST

START_TEST(read_oci_gzip)
{
	check_big(OCI_GZ);
}
END_TEST

START_TEST(readdir_resume)
{
	static const struct tu_entry l0[] = {
		D("d/"), F("d/a", "a"), F("d/b", "b"), D("d/c/"), F("d/c/x", "x"), F("d/e", "e"),
		F("d/f", "f"), SL("d/g", "a"), F("d/h", "h"),
	};
	/* Holes in the ids and later additions. */
	static const struct tu_entry l1[] = {
		WH("d/.wh.b"), WH("d/.wh.f"), F("d/z", "z"), F("d/a", "a2"), D("d/y/"),
	};
	char *all, *byone;
	int calls;
	uint64_t ino;

	MOUNT(L(l0), L(l1));
	EXPECT_CHILDREN("d", "a;c;e;g;h;y;z");
	ino = at("d").ino;
	all = tu_list(fs, ino);
	byone = tu_list_by_one(fs, ino, &calls);
	ck_assert_ptr_nonnull(all);
	ck_assert_ptr_nonnull(byone);
	ck_assert_str_eq(byone, all);
	ck_assert(!strncmp(all, ".;..;", 5));
	/* 9 names, one per call, and the call that finds none. */
	ck_assert_int_eq(calls, 10);
	free(all);
	free(byone);

	all = tu_list(fs, IMGFS_ROOT_INO);
	byone = tu_list_by_one(fs, IMGFS_ROOT_INO, &calls);
	ck_assert_str_eq(all, ".;..;d;");
	ck_assert_str_eq(byone, all);
	free(all);
	free(byone);
	/* Not a directory. */
	ck_assert_int_eq(imgfs_fs_readdir(fs, at("d/a").ino, 0, NULL, NULL), -ENOTDIR);
}
END_TEST

/* ".." names the parent, "." the directory itself. */
static int dots(void *ctx, const char *name, const struct imgfs_attr *a, uint64_t next)
{
	uint64_t *v = ctx;

	(void)next;
	if (!strcmp(name, "."))
		v[0] = a->ino;
	else if (!strcmp(name, ".."))
		v[1] = a->ino;
	return 0;
}

START_TEST(readdir_dots)
{
	static const struct tu_entry l0[] = { D("p/"), D("p/q/") };
	uint64_t v[2] = { 0, 0 };

	MOUNT(L(l0));
	ck_assert_int_eq(imgfs_fs_readdir(fs, at("p/q").ino, 0, dots, v), 0);
	ck_assert_uint_eq(v[0], at("p/q").ino);
	ck_assert_uint_eq(v[1], at("p").ino);
	ck_assert_int_eq(imgfs_fs_readdir(fs, IMGFS_ROOT_INO, 0, dots, v), 0);
	ck_assert_uint_eq(v[0], IMGFS_ROOT_INO);
	ck_assert_uint_eq(v[1], IMGFS_ROOT_INO);
}
END_TEST

/* ---- layers and meta ---- */

struct layers_seen {
	int n;
	char *by[8], *digest[8], *diff_id[8], *media[8], *comp[8];
	int64_t entries[8], size[8], stored[8];
};

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static int on_layer(void *ctx, const struct imgfs_layer_info *l)
{
	struct layers_seen *s = ctx;

	ck_assert_int_eq(l->num, s->n);
	ck_assert_int_lt(s->n, 8);
	s->by[s->n] = dup_or_null(l->created_by);
	s->digest[s->n] = dup_or_null(l->digest);
	s->diff_id[s->n] = dup_or_null(l->diff_id);
	s->media[s->n] = dup_or_null(l->media_type);
	s->comp[s->n] = dup_or_null(l->compression);
	s->entries[s->n] = l->entries;
	s->size[s->n] = l->size;
	s->stored[s->n] = l->stored_size;
	s->n++;
	return 0;
}

static void check_layers(enum fmt f)
{
	static const struct tu_entry l0[] = { F("a", "a"), F("b", "b") };
	static const struct tu_entry l1[] = { F("c", "c") };
	static const struct tu_entry l2[] = { WH(".wh.a"), D("d/"), F("d/e", "e") };
	const struct lspec ls[] = {
		{ l0, 2, "ADD base.tar /", 0 }, { l1, 1, "RUN make", 0 }, { l2, 3, NULL, 0 },
	};
	struct layers_seen s = { 0 };
	char hex[65], want[80];
	char *v;
	int i;

	mount_fmt(ls, 3, f);
	ck_assert_int_eq(imgfs_fs_layers(fs, on_layer, &s), 0);
	ck_assert_int_eq(s.n, 3);
	/* The empty_layer step after layer 0 belongs to no layer. */
	ck_assert_str_eq(s.by[0], "ADD base.tar /");
	ck_assert_str_eq(s.by[1], "RUN make");
	ck_assert_ptr_null(s.by[2]);
	ck_assert_int_eq(s.entries[0], 2);
	ck_assert_int_eq(s.entries[1], 1);
	ck_assert_int_eq(s.entries[2], 3);
	for (i = 0; i < 3; i++) {
		struct tu_blob b;

		tu_tar(&b, ls[i].e, ls[i].n, f == OCI_GZ ? TU_GZIP : 0);
		tu_hex64(hex, 1000 + (uint64_t)i, b.data, b.len);
		snprintf(want, sizeof(want), "sha256:%s", hex);
		ck_assert_str_eq(s.diff_id[i], want);
		if (f == DOCKER) {
			ck_assert_ptr_null(s.media[i]);
			ck_assert_str_eq(s.comp[i], "none");
			ck_assert_int_eq(s.stored[i], (int64_t)b.len);
			ck_assert_int_eq(s.size[i], (int64_t)b.len);
		} else {
			tu_sha256_hex(hex, b.data, b.len);
			snprintf(want, sizeof(want), "sha256:%s", hex);
			ck_assert_str_eq(s.digest[i], want);
			ck_assert_str_eq(s.media[i], "application/vnd.oci.image.layer.v1.tar+gzip");
			ck_assert_str_eq(s.comp[i], "gzip");
			ck_assert_int_eq(s.stored[i], (int64_t)b.len);
			ck_assert_int_gt(s.size[i], 1024);
		}
		tu_blob_free(&b);
		free(s.by[i]);
		free(s.digest[i]);
		free(s.diff_id[i]);
		free(s.media[i]);
		free(s.comp[i]);
	}
	v = imgfs_fs_meta(fs, "format");
	ck_assert_str_eq(v, f == DOCKER ? "docker-archive" : "oci");
	free(v);
	ck_assert_ptr_null(imgfs_fs_meta(fs, "no such key"));
	EXPECT_CHILDREN("", "b;c;d");
}

START_TEST(layers_docker)
{
	check_layers(DOCKER);
}
END_TEST

START_TEST(layers_oci)
{
	check_layers(OCI_GZ);
}
END_TEST

/* The changeset rules do not depend on where the layer came from. */
START_TEST(rules_oci_gzip)
{
	static const struct tu_entry l0[] = {
		D("o/"), F("o/old", "1"), F("x", "old"), F("a", "data"), HL("b", "a"),
	};
	static const struct tu_entry l1[] = {
		F("o/new", "n"), WH("o/.wh..wh..opq"), F("x", "new"), WH(".wh.x"), F("a", "A"),
	};
	const struct lspec ls[] = { L(l0), L(l1) };

	mount_fmt(ls, 2, OCI_GZ);
	EXPECT_CHILDREN("o", "new");
	expect_file("x", "new");
	expect_file("a", "A");
	expect_file("b", "data");
	ck_assert_uint_eq(at("b").nlink, 1);
}
END_TEST

static Suite *merge_suite(void)
{
	Suite *s = suite_create("merge");
	TCase *wh = tcase_create("whiteouts"), *rep = tcase_create("replace"),
	      *hl = tcase_create("hardlinks"), *attr = tcase_create("attributes"),
	      *rd = tcase_create("read");
	TCase *all[] = { wh, rep, hl, attr, rd };
	size_t i;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		tcase_add_checked_fixture(all[i], setup, teardown);
		tcase_set_timeout(all[i], 60);
		suite_add_tcase(s, all[i]);
	}
	tcase_add_test(wh, whiteout_file);
	tcase_add_test(wh, whiteout_dir);
	tcase_add_test(wh, opaque_after_siblings);
	tcase_add_test(wh, opaque_root);
	tcase_add_test(wh, marker_parent_not_dir);
	tcase_add_test(wh, own_view_name);
	tcase_add_test(wh, whiteout_same_layer);
	tcase_add_test(wh, aufs_metadata);
	tcase_add_test(wh, bare_whiteout);

	tcase_add_test(rep, replace_types);
	tcase_add_test(rep, lookup_in_file);
	tcase_add_test(rep, implied_parents);
	tcase_add_test(rep, root_entry);
	tcase_add_test(rep, duplicate_entry);
	tcase_add_test(rep, dotdot_skipped);
	tcase_add_test(rep, rules_oci_gzip);

	tcase_add_test(hl, hardlink_pair);
	tcase_add_test(hl, hardlink_nlink2);
	tcase_add_test(hl, hardlink_overwritten);
	tcase_add_test(hl, hardlink_cross_layer);
	tcase_add_test(hl, hardlink_bad_targets);

	tcase_add_test(attr, symlinks);
	tcase_add_test(attr, special_files);
	tcase_add_test(attr, mtime_nsec);
	tcase_add_test(attr, xattrs);
	tcase_add_test(attr, sizes);
	tcase_add_test(attr, layer_values);

	tcase_add_test(rd, read_docker);
	tcase_add_test(rd, read_oci_gzip);
	tcase_add_test(rd, readdir_resume);
	tcase_add_test(rd, readdir_dots);
	tcase_add_test(rd, layers_docker);
	tcase_add_test(rd, layers_oci);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	/* As the imgfs command does: libarchive converts names by locale. */
	setlocale(LC_CTYPE, "C.UTF-8");
	sr = srunner_create(merge_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
