/* This file contains the unit tests of the image source (fs/format/source.c):
 * opening an outer tar (plain, or gzip/zstd spooled to a plain copy) or an
 * OCI layout directory, finding members and following member symlinks and
 * hardlinks inside the archive, the member reader handed to the manifest
 * parser, and naming a compression by its magic bytes.  Expected regions
 * come from the bytes the tests wrote: a member's data is where its unique
 * content sits in the tar. */
#include "format/source_i.h"

#include <archive.h>
#include <archive_entry.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zstd.h>

#include "testutil.h"

#define F(p, c) { .path = (p), .type = TU_FILE, .content = (c) }
#define B(p, d, n) { .path = (p), .type = TU_FILE, .data = (d), .size = (n) }
#define D(p) { .path = (p), .type = TU_DIR }
#define SL(p, t) { .path = (p), .type = TU_SYMLINK, .link = (t) }
#define HL(p, t) { .path = (p), .type = TU_HARDLINK, .link = (t) }

static char *dir;          /* this test's temporary directory */
static char *spool;        /* DIR/spool.tar: where a compressed image goes */
static sqlite3 *db;
static struct imgfs_source src;
static int src_open;
static struct imgfs_err err;

static void setup(void)
{
	dir = tu_tmpdir();
	if (asprintf(&spool, "%s/spool.tar", dir) < 0)
		abort();
	ck_assert_int_eq(sqlite3_open(":memory:", &db), SQLITE_OK);
	memset(&err, 0, sizeof(err));
	src_open = 0;
}

static void teardown(void)
{
	if (src_open)
		imgfs_source_close(&src);
	sqlite3_close(db);
	tu_rm_rf(dir);
	free(dir);
	free(spool);
}

/* Opens PATH as the source of this test; returns the rc. */
/* A child that opens the FIFO PATH for writing, writes the LEN bytes of P
 * and exits; wait_child() reaps it (0: it wrote them all). */
static pid_t child;
static int fifo_write(const char *path, const void *p, size_t len)
{
	child = fork();
	if (child < 0)
		return -errno;
	if (child == 0) {
		int fd = open(path, O_WRONLY);

		_exit(fd < 0 || (len && write(fd, p, len) != (ssize_t)len) ? 1 : 0);
	}
	return 0;
}

static int wait_child(void)
{
	int st;

	if (waitpid(child, &st, 0) != child || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

static int open_src(const char *path)
{
	int rc = imgfs_source_open(&src, path, spool, 0, db, &err);

	/* a failed open may still hold the fd and paths: close frees them */
	src_open = 1;
	return rc;
}

/* Where the LEN bytes of NEEDLE are in HAY; they must be there once. */
static uint64_t find_once(const void *hay, size_t hlen, const void *needle, size_t len)
{
	const unsigned char *p;

	if (!hay || !needle)
		abort(); /* and tells the compiler memmem gets no NULL */
	p = memmem(hay, hlen, needle, len);

	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_null(memmem(p + 1, hlen - (size_t)(p - (const unsigned char *)hay) - 1,
				  needle, len));
	return (uint64_t)(p - (const unsigned char *)hay);
}

/* Reads region R back and compares it with the LEN bytes WANT. */
static void region_holds(const struct imgfs_region *r, const void *want, size_t len)
{
	char *buf = malloc(len + 1);

	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(r->size, len);
	ck_assert_int_ge(r->fd, 0);
	ck_assert_int_eq(pread(r->fd, buf, len, (off_t)r->off), (ssize_t)len);
	ck_assert(memcmp(buf, want, len) == 0);
	free(buf);
}

/* ---- the members of one outer tar ---- */

#define A_LEN 3000
#define B_LEN 700

static unsigned char *a_data, *b_data;

/* The outer tar: two blobs, then links of every kind to them and to
 * nowhere, the way image writers and hostile archives lay them out. */
static void members_tar(struct tu_blob *out, int flags)
{
	const struct tu_entry e[] = {
		D("blobs/"),
		D("blobs/sha256/"),
		B("blobs/sha256/aaa", a_data, A_LEN),
		B("blobs/sha256/bbb", b_data, B_LEN),
		F("empty", ""),
		D("dir/"),
		/* podman: <digest>.tar symlinks to the blob */
		SL("podman/layer.tar", "../blobs/sha256/aaa"),
		/* absolute targets are relative to the archive root */
		SL("abs/layer.tar", "/blobs/sha256/bbb"),
		/* hardlinks name their target from the root */
		HL("hard/layer.tar", "blobs/sha256/aaa"),
		/* a symlink to a hardlink to a file */
		SL("mixed", "hard/layer.tar"),
		SL("loop/a", "b"),
		SL("loop/b", "a"),
		SL("self", "self"),
		SL("escape", "../../etc/passwd"),
		SL("deep/escape", "../../x"),
		HL("hard_escape", "../blobs/sha256/aaa"),
		SL("to_dir", "dir"),
		SL("dangling", "nothing/here"),
		SL("via_dir", "dir/../blobs/sha256/bbb"),
	};

	tu_tar(out, e, sizeof(e) / sizeof(e[0]), flags);
}

static void members_setup(void)
{
	setup();
	a_data = tu_random(A_LEN, 41);
	b_data = tu_random(B_LEN, 42);
}

static void members_teardown(void)
{
	teardown();
	free(a_data);
	free(b_data);
}

/* Writes the members tar plain to DIR/image.tar, opens it; the tar's
 * bytes stay in *T for the expected offsets. */
static void open_members(struct tu_blob *t)
{
	char *path;

	members_tar(t, 0);
	path = tu_write_file(dir, "image.tar", t->data, t->len);
	ck_assert_int_eq(open_src(path), 0);
	free(path);
}

/* A plain outer tar is read in place: regions point into the image file
 * at the bytes of each member. */
START_TEST(plain_members)
{
	struct tu_blob t;
	struct imgfs_region r;
	char *real;

	open_members(&t);
	real = realpath(dir, NULL);
	ck_assert_ptr_nonnull(real);
	ck_assert_str_eq(src.outer_filter, "none");
	ck_assert(!src.is_dir);
	ck_assert_uint_eq(src.tar_size, t.len);

	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(imgfs_source_member(&src, "blobs/sha256/aaa", &r), 0);
	ck_assert_uint_eq(r.off, find_once(t.data, t.len, a_data, A_LEN));
	region_holds(&r, a_data, A_LEN);
	ck_assert_ptr_nonnull(r.file);
	ck_assert(!strncmp(r.file, real, strlen(real)) && !strcmp(r.file + strlen(real), "/image.tar"));

	/* names are normalised like tar entry names */
	ck_assert_int_eq(imgfs_source_member(&src, "./blobs//sha256/bbb", &r), 0);
	ck_assert_uint_eq(r.off, find_once(t.data, t.len, b_data, B_LEN));
	region_holds(&r, b_data, B_LEN);
	ck_assert_int_eq(imgfs_source_member(&src, "/blobs/sha256/bbb/", &r), 0);
	ck_assert_uint_eq(r.size, B_LEN);

	/* an empty member is found and empty */
	ck_assert_int_eq(imgfs_source_member(&src, "empty", &r), 0);
	ck_assert_uint_eq(r.size, 0);

	/* the whole tar is one region */
	ck_assert_int_eq(imgfs_source_whole(&src, &r), 0);
	ck_assert_uint_eq(r.off, 0);
	ck_assert_uint_eq(r.size, t.len);
	region_holds(&r, t.data, t.len);
	free(real);
	tu_blob_free(&t);
}
END_TEST

/* Member links resolve to the region of their final target. */
START_TEST(member_links)
{
	struct tu_blob t;
	struct imgfs_region r;
	uint64_t a_off, b_off;

	open_members(&t);
	a_off = find_once(t.data, t.len, a_data, A_LEN);
	b_off = find_once(t.data, t.len, b_data, B_LEN);
	ck_assert_int_eq(imgfs_source_member(&src, "podman/layer.tar", &r), 0);
	ck_assert_uint_eq(r.off, a_off);
	ck_assert_uint_eq(r.size, A_LEN);
	ck_assert_int_eq(imgfs_source_member(&src, "abs/layer.tar", &r), 0);
	ck_assert_uint_eq(r.off, b_off);
	ck_assert_uint_eq(r.size, B_LEN);
	ck_assert_int_eq(imgfs_source_member(&src, "hard/layer.tar", &r), 0);
	ck_assert_uint_eq(r.off, a_off);
	ck_assert_uint_eq(r.size, A_LEN);
	ck_assert_int_eq(imgfs_source_member(&src, "mixed", &r), 0);
	ck_assert_uint_eq(r.off, a_off);
	/* ".." inside a target that stays within the archive is fine */
	ck_assert_int_eq(imgfs_source_member(&src, "via_dir", &r), 0);
	ck_assert_uint_eq(r.off, b_off);
	region_holds(&r, b_data, B_LEN);
	ck_assert_str_eq(err.msg, "");
	tu_blob_free(&t);
}
END_TEST

START_TEST(link_cycles)
{
	struct tu_blob t;
	struct imgfs_region r;

	open_members(&t);
	ck_assert_int_eq(imgfs_source_member(&src, "loop/a", &r), -ELOOP);
	ck_assert_int_eq(err.code, -ELOOP);
	ck_assert_int_eq(err.input, 1);
	ck_assert_ptr_nonnull(strstr(err.msg, "loop/a"));
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(imgfs_source_member(&src, "self", &r), -ELOOP);
	tu_blob_free(&t);
}
END_TEST

/* A chain of exactly IMGFS_MEMBER_LINK_DEPTH links resolves; one more is
 * a loop as far as we are concerned. */
START_TEST(link_depth)
{
	struct tu_entry e[IMGFS_MEMBER_LINK_DEPTH + 3];
	char names[IMGFS_MEMBER_LINK_DEPTH + 2][16];
	struct tu_blob t;
	struct imgfs_region r;
	char *path, first[16];
	int n = IMGFS_MEMBER_LINK_DEPTH + 1; /* links l0 .. l8 */

	memset(e, 0, sizeof(e));
	e[0] = (struct tu_entry)F("target", "the end of the chain");
	for (int i = 0; i < n; i++) {
		/* l<i> -> l<i+1>, the last one -> target */
		snprintf(names[i], sizeof(names[i]), "l%d", i);
		e[i + 1].path = names[i];
		e[i + 1].type = TU_SYMLINK;
	}
	for (int i = 0; i < n; i++)
		e[i + 1].link = i + 1 < n ? names[i + 1] : "target";
	tu_tar(&t, e, (size_t)n + 1, 0);
	path = tu_write_file(dir, "image.tar", t.data, t.len);
	ck_assert_int_eq(open_src(path), 0);
	/* from l1: IMGFS_MEMBER_LINK_DEPTH links to follow */
	snprintf(first, sizeof(first), "l%d", n - IMGFS_MEMBER_LINK_DEPTH);
	ck_assert_int_eq(imgfs_source_member(&src, first, &r), 0);
	ck_assert_uint_eq(r.off, find_once(t.data, t.len, "the end of the chain", 20));
	/* from l0: one more */
	ck_assert_int_eq(imgfs_source_member(&src, "l0", &r), -ELOOP);
	free(path);
	tu_blob_free(&t);
}
END_TEST

/* Links that climb above the archive's root are refused as bad input. */
START_TEST(link_escapes)
{
	static const char *const bad[] = { "escape", "deep/escape", "hard_escape" };
	struct tu_blob t;
	struct imgfs_region r;

	open_members(&t);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&err, 0, sizeof(err));
		ck_assert_int_eq(imgfs_source_member(&src, bad[i], &r), -EINVAL);
		ck_assert_int_eq(err.code, -EINVAL);
		ck_assert_int_eq(err.input, 1);
		ck_assert_ptr_nonnull(strstr(err.msg, bad[i]));
	}
	tu_blob_free(&t);
}
END_TEST

/* Names that are not there, or are not files. */
START_TEST(missing_members)
{
	static const char *const none[] = {
		"nothing", "blobs/sha256/ccc", "blobs/sha256/aa", "dangling",
		"dir", "blobs", "to_dir", "", "../blobs/sha256/aaa", "blobs/../empty",
	};
	struct tu_blob t;
	struct imgfs_region r;

	open_members(&t);
	for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++)
		ck_assert_msg(imgfs_source_member(&src, none[i], &r) == -ENOENT, "%s", none[i]);
	tu_blob_free(&t);
}
END_TEST

/* Two members of one name: the later one wins, as in any tar. */
START_TEST(duplicate_member)
{
	const struct tu_entry e[] = { F("m", "the first copy"), F("m", "the second copy!") };
	struct tu_blob t;
	struct imgfs_region r;
	char *path;

	tu_tar(&t, e, 2, 0);
	path = tu_write_file(dir, "image.tar", t.data, t.len);
	ck_assert_int_eq(open_src(path), 0);
	ck_assert_int_eq(imgfs_source_member(&src, "m", &r), 0);
	ck_assert_uint_eq(r.off, find_once(t.data, t.len, "the second copy!", 16));
	region_holds(&r, "the second copy!", 16);
	free(path);
	tu_blob_free(&t);
}
END_TEST

/* A member that is a symlink with an empty target names nothing: it is
 * dangling, as "dangling" above is, never a crash (a one-entry tar whose
 * manifest.json is such a link once crashed "imgfs index"). */
START_TEST(empty_symlink_target)
{
	const struct tu_entry e[] = { SL("manifest.json", ""), F("other", "x") };
	struct tu_blob t;
	struct imgfs_region r;
	char *path;

	tu_tar(&t, e, 2, 0);
	path = tu_write_file(dir, "image.tar", t.data, t.len);
	ck_assert_int_eq(open_src(path), 0);
	ck_assert_int_eq(imgfs_source_member(&src, "manifest.json", &r), -ENOENT);
	ck_assert_int_eq(imgfs_source_member(&src, "other", &r), 0);
	free(path);
	tu_blob_free(&t);
}
END_TEST

/* A member stored as a GNU pax 1.0 sparse file has no region in the tar
 * that holds its content (the stored bytes are the sparse map, then the
 * data without the holes): it is refused as bad input naming the image and
 * the member, never served as those stored bytes. */
START_TEST(sparse_member)
{
	static unsigned char buf[1 << 17], content[16384], pad[65536];
	struct archive *w = archive_write_new();
	struct archive_entry *ae = archive_entry_new();
	struct imgfs_member_reader rd;
	size_t used = 0, len = 0;
	char *path, *data = NULL;
	int rc;

	memset(content + 8192, 'Z', 4096);
	archive_write_set_format_pax(w);
	archive_write_open_memory(w, buf, sizeof(buf), &used);
	archive_entry_set_pathname(ae, "blob");
	archive_entry_set_filetype(ae, AE_IFREG);
	archive_entry_set_perm(ae, 0644);
	archive_entry_set_size(ae, sizeof(content));
	archive_entry_sparse_add_entry(ae, 8192, 4096);
	archive_write_header(w, ae);
	archive_write_data(w, content, sizeof(content));
	archive_entry_clear(ae);
	/* enough after it that the region's end is inside the tar */
	archive_entry_set_pathname(ae, "pad");
	archive_entry_set_filetype(ae, AE_IFREG);
	archive_entry_set_perm(ae, 0644);
	archive_entry_set_size(ae, sizeof(pad));
	archive_write_header(w, ae);
	archive_write_data(w, pad, sizeof(pad));
	archive_write_close(w);
	archive_write_free(w);
	archive_entry_free(ae);
	path = tu_write_file(dir, "image.tar", buf, used);
	ck_assert_int_eq(open_src(path), 0);
	imgfs_source_reader(&src, &rd);
	rc = rd.read(rd.ctx, "blob", 1 << 20, &data, &len);
	ck_assert_int_eq(rc, -EINVAL); /* was rc 0 and bytes starting "1\n8192\n4096\n" */
	ck_assert_ptr_null(data);
	ck_assert_int_eq(err.input, 1);
	ck_assert_ptr_nonnull(strstr(err.msg, src.path));
	ck_assert_ptr_nonnull(strstr(err.msg, "member blob"));
	ck_assert_ptr_nonnull(strstr(err.msg, "sparse"));
	/* the member after it is a plain file and still served */
	ck_assert_int_eq(rd.read(rd.ctx, "pad", 1 << 20, &data, &len), 0);
	ck_assert_uint_eq(len, sizeof(pad));
	free(data);
	free(path);
}
END_TEST

/* A gzip outer tar is decompressed once into the spool, which then
 * stands in for the image: regions point into the spool, and the spool is
 * the plain tar byte for byte. */
START_TEST(gzip_spooled)
{
	struct tu_blob plain, gz;
	struct imgfs_region r;
	char *path, *sp;
	size_t len;

	members_tar(&plain, 0);
	members_tar(&gz, TU_GZIP);
	ck_assert_uint_ne(gz.len, plain.len);
	path = tu_write_file(dir, "image.tar.gz", gz.data, gz.len);
	ck_assert_int_eq(open_src(path), 0);
	ck_assert_str_eq(src.outer_filter, "gzip");
	ck_assert_uint_eq(src.tar_size, plain.len);
	sp = tu_read_file(spool, &len);
	ck_assert_uint_eq(len, plain.len);
	ck_assert(memcmp(sp, plain.data, len) == 0);
	ck_assert_int_eq(imgfs_source_member(&src, "podman/layer.tar", &r), 0);
	ck_assert_uint_eq(r.off, find_once(plain.data, plain.len, a_data, A_LEN));
	region_holds(&r, a_data, A_LEN);
	ck_assert_str_eq(r.file, spool);
	ck_assert_int_eq(imgfs_source_whole(&src, &r), 0);
	ck_assert_uint_eq(r.size, plain.len);
	ck_assert_str_eq(r.file, spool);
	free(sp);
	free(path);
	tu_blob_free(&plain);
	tu_blob_free(&gz);
}
END_TEST

/* zstd, compressed here with libzstd; also behind a skippable frame as
 * zstd:chunked writes its metadata. */
START_TEST(zstd_spooled)
{
	struct tu_blob plain;
	struct imgfs_region r;
	size_t cap, n;
	unsigned char *z;
	char *path;

	members_tar(&plain, 0);
	cap = ZSTD_compressBound(plain.len) + 16;
	z = malloc(cap);
	ck_assert_ptr_nonnull(z);
	/* a skippable frame: magic 0x184D2A5? little-endian, 4-byte length */
	memcpy(z, "\x5e\x2a\x4d\x18\x04\x00\x00\x00skip", 12);
	n = ZSTD_compress(z + 12, cap - 12, plain.data, plain.len, 3);
	ck_assert(!ZSTD_isError(n));
	for (int skip = 0; skip <= 1; skip++) {
		path = tu_write_file(dir, "image.tar.zst", skip ? z : z + 12, n + (skip ? 12 : 0));
		memset(&err, 0, sizeof(err));
		ck_assert_msg(open_src(path) == 0, "%s", err.msg);
		ck_assert_str_eq(src.outer_filter, "zstd");
		ck_assert_uint_eq(src.tar_size, plain.len);
		ck_assert_int_eq(imgfs_source_member(&src, "abs/layer.tar", &r), 0);
		ck_assert_uint_eq(r.off, find_once(plain.data, plain.len, b_data, B_LEN));
		region_holds(&r, b_data, B_LEN);
		imgfs_source_close(&src);
		src_open = 0;
		sqlite3_close(db);
		ck_assert_int_eq(sqlite3_open(":memory:", &db), SQLITE_OK);
		free(path);
	}
	free(z);
	tu_blob_free(&plain);
}
END_TEST

/* A compressed stream that breaks off or is garbage after its magic is
 * bad input; so is a spool that cannot be created. */
START_TEST(bad_compressed)
{
	struct tu_blob gz;
	char *path;

	members_tar(&gz, TU_GZIP);
	path = tu_write_file(dir, "cut.tar.gz", gz.data, gz.len / 2);
	ck_assert_int_eq(open_src(path), -EINVAL);
	ck_assert_int_eq(err.input, 1);
	imgfs_source_close(&src);
	free(path);

	memset(&err, 0, sizeof(err));
	path = tu_write_file(dir, "junk.gz", "\x1f\x8b junk that is no deflate stream", 34);
	ck_assert_int_eq(open_src(path), -EINVAL);
	ck_assert_int_eq(err.input, 1);
	imgfs_source_close(&src);

	/* the spool's directory does not exist */
	free(path);
	path = tu_write_file(dir, "good.tar.gz", gz.data, gz.len);
	free(spool);
	if (asprintf(&spool, "%s/no/such/dir/spool.tar", dir) < 0)
		abort();
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(open_src(path), -ENOENT);
	ck_assert_int_eq(err.input, 0);
	free(path);
	tu_blob_free(&gz);
}
END_TEST

/* What is not an image at all. */
START_TEST(not_an_image)
{
	unsigned char *junk = tu_random(4096, 9);
	char *path, *missing;

	junk[0] = 'J'; /* no compression magic by chance */
	path = tu_write_file(dir, "empty.tar", "", 0);
	ck_assert_int_eq(open_src(path), -EINVAL);
	ck_assert_int_eq(err.input, 1);
	imgfs_source_close(&src);
	free(path);

	memset(&err, 0, sizeof(err));
	path = tu_write_file(dir, "junk.tar", junk, 4096);
	ck_assert_int_eq(open_src(path), -EINVAL);
	ck_assert_int_eq(err.input, 1);
	imgfs_source_close(&src);
	free(path);

	memset(&err, 0, sizeof(err));
	if (asprintf(&missing, "%s/missing.tar", dir) < 0)
		abort();
	ck_assert_int_eq(open_src(missing), -ENOENT);
	imgfs_source_close(&src);
	free(missing);

	/* a FIFO whose writer writes nothing: an empty stream */
	memset(&err, 0, sizeof(err));
	if (asprintf(&path, "%s/fifo", dir) < 0)
		abort();
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	ck_assert_int_eq(fifo_write(path, NULL, 0), 0);
	ck_assert_int_eq(open_src(path), -EINVAL);
	ck_assert_int_eq(err.input, 1);
	ck_assert_ptr_nonnull(strstr(err.msg, "the stream is empty"));
	ck_assert_int_eq(wait_child(), 0);
	imgfs_source_close(&src);
	unlink(path);
	free(path);
	free(junk);
}
END_TEST

/* A FIFO is read once as a stream into the spool: its members are then
 * found like a file's, with the bytes the writer wrote. */
START_TEST(fifo_stream)
{
	const struct tu_entry e[] = {
		{ .path = "a.txt", .type = TU_FILE, .content = "hello from a pipe\n" },
		{ .path = "dir/", .type = TU_DIR },
	};
	struct tu_blob t;
	struct imgfs_region r;
	char *path, buf[64] = "";

	tu_tar(&t, e, 2, TU_GZIP);
	if (asprintf(&path, "%s/fifo2", dir) < 0)
		abort();
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	ck_assert_int_eq(fifo_write(path, t.data, t.len), 0);
	ck_assert_int_eq(open_src(path), 0);
	ck_assert_int_eq(wait_child(), 0);
	ck_assert_int_eq(src.stream, 1);
	ck_assert_str_eq(src.outer_filter, "gzip");
	ck_assert_str_eq(src.tar_path, spool);
	ck_assert_int_eq(imgfs_source_member(&src, "a.txt", &r), 0);
	ck_assert_uint_eq(r.size, 18);
	ck_assert_int_eq(pread(r.fd, buf, r.size, (off_t)r.off), 18);
	ck_assert_str_eq(buf, "hello from a pipe\n");
	imgfs_source_close(&src);
	unlink(path);
	free(path);
	tu_blob_free(&t);
}
END_TEST

/* The member reader: whole members up to MAX bytes, NUL-terminated. */
START_TEST(reader)
{
	const struct tu_entry e[] = {
		F("manifest.json", "[{\"Config\":\"c.json\"}]"),
		SL("link.json", "manifest.json"),
		D("d/"),
	};
	const char *want = "[{\"Config\":\"c.json\"}]";
	size_t wlen = strlen(want), len = 0;
	struct imgfs_member_reader rd;
	struct tu_blob t;
	char *path, *data = NULL;

	tu_tar(&t, e, 3, 0);
	path = tu_write_file(dir, "image.tar", t.data, t.len);
	ck_assert_int_eq(open_src(path), 0);
	imgfs_source_reader(&src, &rd);
	ck_assert_ptr_eq(rd.ctx, &src);
	ck_assert_str_eq(rd.image, src.path);
	ck_assert_int_eq(rd.read(rd.ctx, "manifest.json", wlen, &data, &len), 0);
	ck_assert_uint_eq(len, wlen);
	ck_assert_str_eq(data, want);
	free(data);
	data = NULL;
	ck_assert_int_eq(rd.read(rd.ctx, "link.json", 1 << 20, &data, &len), 0);
	ck_assert_str_eq(data, want);
	free(data);
	data = NULL;
	/* one byte over MAX */
	ck_assert_int_eq(rd.read(rd.ctx, "manifest.json", wlen - 1, &data, &len), -EFBIG);
	ck_assert_ptr_null(data);
	ck_assert_int_eq(rd.read(rd.ctx, "nope.json", 100, &data, &len), -ENOENT);
	ck_assert_ptr_null(data);
	ck_assert_int_eq(rd.exists(rd.ctx, "manifest.json"), 0);
	ck_assert_int_eq(rd.exists(rd.ctx, "link.json"), 0);
	ck_assert_int_eq(rd.exists(rd.ctx, "nope.json"), -ENOENT);
	ck_assert_int_eq(rd.exists(rd.ctx, "d"), -ENOENT);
	free(path);
	tu_blob_free(&t);
}
END_TEST

/* An OCI layout directory: members are files under it, opened without
 * following host symlinks (a blob symlinked to /etc/shadow must not be
 * served). */
START_TEST(layout_dir)
{
	char *layout, *blobdir, *p;
	struct imgfs_region r, r2;
	unsigned char *blob = tu_random(5000, 3);
	char *real;

	if (asprintf(&layout, "%s/layout", dir) < 0 || asprintf(&blobdir, "%s/blobs/sha256", layout) < 0)
		abort();
	ck_assert_int_eq(mkdir(layout, 0755), 0);
	if (asprintf(&p, "%s/blobs", layout) < 0)
		abort();
	ck_assert_int_eq(mkdir(p, 0755), 0);
	free(p);
	ck_assert_int_eq(mkdir(blobdir, 0755), 0);
	free(tu_write_file(layout, "index.json", "{}", 2));
	free(tu_write_file(blobdir, "aaa", blob, 5000));
	if (asprintf(&p, "%s/host", blobdir) < 0)
		abort();
	ck_assert_int_eq(symlink("aaa", p), 0);
	free(p);
	if (asprintf(&p, "%s/linkdir", layout) < 0)
		abort();
	ck_assert_int_eq(symlink("blobs", p), 0);
	free(p);

	ck_assert_int_eq(open_src(layout), 0);
	ck_assert(src.is_dir);
	ck_assert_int_eq(imgfs_source_member(&src, "blobs/sha256/aaa", &r), 0);
	ck_assert_uint_eq(r.off, 0);
	region_holds(&r, blob, 5000);
	real = realpath(blobdir, NULL);
	ck_assert_ptr_nonnull(real);
	ck_assert(!strncmp(r.file, real, strlen(real)) && !strcmp(r.file + strlen(real), "/aaa"));
	/* asked again (by another spelling): the same descriptor, not a new one */
	ck_assert_int_eq(imgfs_source_member(&src, "./blobs/sha256//aaa", &r2), 0);
	ck_assert_int_eq(r2.fd, r.fd);
	ck_assert_uint_eq(src.n_dir, 1);
	ck_assert_int_eq(imgfs_source_member(&src, "index.json", &r), 0);
	region_holds(&r, "{}", 2);
	ck_assert_uint_eq(src.n_dir, 2);
	/* host symlinks, as the blob or in the middle of the path */
	ck_assert_int_eq(imgfs_source_member(&src, "blobs/sha256/host", &r), -ENOENT);
	ck_assert_int_eq(imgfs_source_member(&src, "linkdir/sha256/aaa", &r), -ENOENT);
	/* directories, missing files, climbing out */
	ck_assert_int_eq(imgfs_source_member(&src, "blobs/sha256", &r), -ENOENT);
	ck_assert_int_eq(imgfs_source_member(&src, "blobs/sha256/bbb", &r), -ENOENT);
	ck_assert_int_eq(imgfs_source_member(&src, "../layout/index.json", &r), -ENOENT);
	ck_assert_int_eq(imgfs_source_member(&src, "", &r), -ENOENT);
	/* a directory has no whole-tar region */
	ck_assert_int_eq(imgfs_source_whole(&src, &r), -EINVAL);
	ck_assert_int_eq(err.input, 1);
	free(real);
	free(blob);
	free(layout);
	free(blobdir);
}
END_TEST

/* Magic bytes of each compression, and buffers too short to hold them. */
START_TEST(sniff)
{
	static const struct {
		const char *bytes;
		size_t len;
		const char *want;
	} c[] = {
		{ "\x1f\x8b\x08\x00", 4, "gzip" },
		{ "\x1f\x8b", 2, "gzip" },
		{ "\x1f", 1, "none" },
		{ "\x1f\x8c", 2, "none" },
		{ "\x28\xb5\x2f\xfd\x00", 5, "zstd" },
		{ "\x28\xb5\x2f\xfd", 4, "zstd" },
		{ "\x28\xb5\x2f", 3, "none" },
		{ "\x50\x2a\x4d\x18", 4, "zstd" },  /* skippable frames 0x184D2A50.. */
		{ "\x5f\x2a\x4d\x18", 4, "zstd" },  /* ..0x184D2A5F */
		{ "\x60\x2a\x4d\x18", 4, "none" },
		{ "\x4f\x2a\x4d\x18", 4, "none" },
		{ "\x50\x2a\x4d", 3, "none" },
		{ "\xfd" "7zXZ\0\0", 7, "xz" },
		{ "\xfd" "7zXZ\0", 6, "xz" },
		{ "\xfd" "7zXZ", 5, "none" },
		{ "\xfd" "7zXY\0", 6, "none" },
		{ "BZh91AY", 7, "bzip2" },
		{ "BZh", 3, "bzip2" },
		{ "BZ", 2, "none" },
		{ "\x04\x22\x4d\x18", 4, "lz4" },
		{ "\x04\x22\x4d", 3, "none" },
		{ "ustar", 5, "none" },
		{ "", 0, "none" },
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		/* the bytes alone in a heap block, so ASan sees reads past LEN */
		unsigned char *p = malloc(c[i].len ? c[i].len : 1);

		ck_assert_ptr_nonnull(p);
		memcpy(p, c[i].bytes, c[i].len);
		ck_assert_msg(!strcmp(imgfs_sniff_compression(p, c[i].len), c[i].want),
			      "case %zu: got %s, want %s", i, imgfs_sniff_compression(p, c[i].len),
			      c[i].want);
		free(p);
	}
}
END_TEST

static Suite *source_suite(void)
{
	Suite *s = suite_create("source");
	TCase *tar = tcase_create("tar");
	TCase *other = tcase_create("other");

	tcase_add_checked_fixture(tar, members_setup, members_teardown);
	tcase_add_checked_fixture(other, setup, teardown);
	tcase_add_test(tar, plain_members);
	tcase_add_test(tar, member_links);
	tcase_add_test(tar, link_cycles);
	tcase_add_test(tar, link_depth);
	tcase_add_test(tar, link_escapes);
	tcase_add_test(tar, missing_members);
	tcase_add_test(tar, duplicate_member);
	tcase_add_test(tar, gzip_spooled);
	tcase_add_test(tar, zstd_spooled);
	tcase_add_test(tar, bad_compressed);
	tcase_add_test(other, not_an_image);
	tcase_add_test(other, fifo_stream);
	tcase_add_test(other, reader);
	tcase_add_test(other, layout_dir);
	tcase_add_test(other, sniff);
	tcase_add_test(other, empty_symlink_target);
	tcase_add_test(other, sparse_member);
	suite_add_tcase(s, tar);
	suite_add_tcase(s, other);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(source_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
