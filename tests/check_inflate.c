/* This file contains the unit tests of the igzip decoder of gzip layers
 * (format/inflate) and of the region reader over it (format/source): data
 * gzipped by zlib, an independent encoder, in one member or many, fed in
 * pieces of every size, must come back byte for byte; a cut, a bad CRC or
 * a bad block is an error, never short or wrong data. */
#include "format/inflate_i.h"

#include <archive.h>
#include <archive_entry.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "format/source_i.h"
#include "testutil.h"

/* 3 MiB: more than twenty of the decoder's input chunks */
#define DATA_LEN (3u << 20)

/* Data half incompressible, half runs and text, so deflate writes stored,
 * fixed and dynamic blocks. */
static unsigned char *sample(size_t len, uint64_t seed)
{
	unsigned char *p = tu_random(len, seed);
	size_t i;

	for (i = 0; i < len; i++)
		if ((i / 4096) % 2)
			p[i] = (unsigned char)("the quick brown fox "[i % 20] + (i / 65536) % 3);
	return p;
}

/* Appends to OUT the gzip member of P[0..N) at LEVEL, as zlib writes it. */
static void gz_member(struct tu_blob *out, const unsigned char *p, size_t n, int level)
{
	z_stream s;
	uLong bound;

	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(deflateInit2(&s, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
	bound = deflateBound(&s, (uLong)n) + 32;
	out->data = realloc(out->data, out->len + bound);
	ck_assert_ptr_nonnull(out->data);
	s.next_in = (unsigned char *)p;
	s.avail_in = (uInt)n;
	s.next_out = (unsigned char *)out->data + out->len;
	s.avail_out = (uInt)bound;
	ck_assert_int_eq(deflate(&s, Z_FINISH), Z_STREAM_END);
	out->len += s.total_out;
	deflateEnd(&s);
}

/* Decodes GZ fed in pieces of at most STEP bytes; returns the malloc'd
 * output in *OUT (its length in *OUT_LEN) and 0, or the error. */
static int decode(const struct tu_blob *gz, size_t step, unsigned char **out, size_t *out_len)
{
	struct imgfs_inflate *z = imgfs_inflate_new();
	size_t fed = 0, cap = 1 << 16, len = 0;
	unsigned char *o = malloc(cap);
	int rc = 0;

	ck_assert_ptr_nonnull(z);
	ck_assert_ptr_nonnull(o);
	for (;;) {
		ssize_t n;

		if (imgfs_inflate_wants_input(z) && fed < gz->len) {
			size_t room, k;
			void *p = imgfs_inflate_space(z, &room);

			ck_assert_uint_gt(room, 0);
			k = gz->len - fed < step ? gz->len - fed : step;
			k = k < room ? k : room;
			memcpy(p, (const char *)gz->data + fed, k);
			imgfs_inflate_fill(z, k);
			fed += k;
		}
		if (len + 65536 > cap) {
			cap *= 2;
			o = realloc(o, cap);
			ck_assert_ptr_nonnull(o);
		}
		/* output room of odd sizes too: 1 byte now and then */
		n = imgfs_inflate_run(z, o + len, (len / 7) % 5 ? 65536 : 1, fed == gz->len);
		if (n < 0) {
			rc = (int)n;
			break;
		}
		len += (size_t)n;
		if (n == 0 && (imgfs_inflate_ended(z) || fed == gz->len))
			break;
	}
	imgfs_inflate_free(z);
	*out = o;
	*out_len = len;
	return rc;
}

static void expect_same(const struct tu_blob *gz, const unsigned char *want, size_t want_len)
{
	static const size_t steps[] = { 1, 7, 4096, 65536 + 3, 1 << 20 };
	size_t i;

	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		unsigned char *got;
		size_t got_len;

		/* one byte at a time over 3 MiB is slow: a 100 KiB prefix */
		if (steps[i] == 1 && gz->len > 100000)
			continue;
		ck_assert_int_eq(decode(gz, steps[i], &got, &got_len), 0);
		ck_assert_uint_eq(got_len, want_len);
		ck_assert(memcmp(got, want, want_len) == 0);
		free(got);
	}
}

START_TEST(one_member)
{
	unsigned char *d = sample(DATA_LEN, 1);
	struct tu_blob gz = { NULL, 0 };

	gz_member(&gz, d, DATA_LEN, 6);
	expect_same(&gz, d, DATA_LEN);
	free(gz.data);
	free(d);
}
END_TEST

/* Members of random lengths (some empty, one at each level): every member
 * boundary leaves bytes in igzip's bit buffer that are the next member's. */
START_TEST(many_members)
{
	unsigned char *d = sample(DATA_LEN, 2);
	unsigned char *cuts = tu_random(64, 3);
	struct tu_blob gz = { NULL, 0 };
	size_t at = 0;
	int i;

	for (i = 0; at < DATA_LEN; i++) {
		size_t n = (size_t)cuts[i % 64] * 997 * (i % 3 == 0 ? 0 : 1) + (i % 5 == 0 ? 0 : 1);

		if (n > DATA_LEN - at || i == 40)
			n = DATA_LEN - at;
		gz_member(&gz, d + at, n, i % 10);
		at += n;
	}
	ck_assert_int_gt(i, 30);
	expect_same(&gz, d, DATA_LEN);
	free(gz.data);
	free(cuts);
	free(d);
}
END_TEST

/* What follows the last member and starts no other is ignored, as gzip -d
 * (with a warning) and libarchive do: tar writers pad blobs. */
START_TEST(trailing_bytes)
{
	static const char tail[] = "\0\0\0\0 not gzip";
	unsigned char *d = sample(200000, 4);
	struct tu_blob gz = { NULL, 0 };

	gz_member(&gz, d, 200000, 6);
	gz.data = realloc(gz.data, gz.len + sizeof(tail));
	memcpy((char *)gz.data + gz.len, tail, sizeof(tail));
	gz.len += sizeof(tail);
	expect_same(&gz, d, 200000);
	free(gz.data);
	free(d);
}
END_TEST

/* Cut anywhere before the trailer's last byte: an error, never a short
 * stream taken as whole. */
START_TEST(truncated)
{
	unsigned char *d = sample(300000, 5), *got;
	struct tu_blob gz = { NULL, 0 }, cut;
	size_t got_len, full, k;

	gz_member(&gz, d, 300000, 6);
	full = gz.len;
	for (k = 1; k < 40; k++) {
		cut.data = gz.data;
		cut.len = k < 20 ? full * k / 20 : full - (k - 19);
		ck_assert_int_eq(decode(&cut, 65536, &got, &got_len), -EINVAL);
		ck_assert_uint_le(got_len, 300000);
		free(got);
	}
	free(gz.data);
	free(d);
}
END_TEST

/* A flipped bit in the data, the CRC or the length: an error. */
START_TEST(corrupt)
{
	unsigned char *d = sample(300000, 6), *got;
	struct tu_blob gz = { NULL, 0 };
	size_t got_len, where[3], i;

	gz_member(&gz, d, 300000, 6);
	where[0] = gz.len - 8; /* the CRC */
	where[1] = gz.len - 2; /* the length */
	where[2] = gz.len / 2;  /* a deflate block */
	for (i = 0; i < 3; i++) {
		((unsigned char *)gz.data)[where[i]] ^= 0x10;
		ck_assert_int_eq(decode(&gz, 65536, &got, &got_len), -EINVAL);
		free(got);
		((unsigned char *)gz.data)[where[i]] ^= 0x10;
	}
	ck_assert_int_eq(decode(&gz, 65536, &got, &got_len), 0);
	ck_assert(got_len == 300000 && memcmp(got, d, 300000) == 0);
	free(got);
	free(gz.data);
	free(d);
}
END_TEST

/* ---- the region reader over it ---- */

static char *dir;

static void setup(void)
{
	dir = tu_tmpdir();
}

static void teardown(void)
{
	tu_rm_rf(dir);
	free(dir);
}

/* A gzip layer read through imgfs_region_archive: libarchive sees the tar
 * igzip decoded, the reader reports gzip and every stored byte read. */
START_TEST(region_gzip)
{
	unsigned char *d = sample(1 << 20, 7);
	const struct tu_entry e[] = {
		{ .path = "big", .type = TU_FILE, .data = d, .size = 1 << 20 },
		{ .path = "small", .type = TU_FILE, .content = "x" },
	};
	struct imgfs_region_io io;
	struct archive_entry *ae;
	struct imgfs_region r;
	struct tu_blob t;
	struct archive *a;
	unsigned char *got = malloc(1 << 20);
	char *path;

	ck_assert_ptr_nonnull(got);
	tu_tar(&t, e, 2, TU_GZIP);
	path = tu_write_file(dir, "layer.tar.gz", t.data, t.len);
	r.fd = open(path, O_RDONLY);
	ck_assert_int_ge(r.fd, 0);
	r.off = 0;
	r.size = t.len;
	r.file = path;
	a = imgfs_region_archive(&r, &io);
	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(archive_read_next_header(a, &ae), ARCHIVE_OK);
	ck_assert_str_eq(archive_entry_pathname(ae), "big");
	ck_assert_int_eq(archive_read_data(a, got, 1 << 20), 1 << 20);
	ck_assert(memcmp(got, d, 1 << 20) == 0);
	ck_assert_int_eq(archive_read_next_header(a, &ae), ARCHIVE_OK);
	ck_assert_str_eq(archive_entry_pathname(ae), "small");
	ck_assert_int_eq(archive_read_next_header(a, &ae), ARCHIVE_EOF);
	ck_assert_str_eq(imgfs_region_compression(a, &io), "gzip");
	ck_assert_uint_le(imgfs_region_stored(a, &io), t.len);
	ck_assert_uint_gt(imgfs_region_stored(a, &io), t.len / 2);
	imgfs_region_archive_free(a);
	close(r.fd);
	free(path);
	free(got);
	tu_blob_free(&t);
	free(d);
}
END_TEST

/* A gzip layer cut short: the reader fails with igzip's reason. */
START_TEST(region_gzip_cut)
{
	unsigned char *d = sample(1 << 20, 8);
	const struct tu_entry e[] = { { .path = "big", .type = TU_FILE, .data = d, .size = 1 << 20 } };
	struct imgfs_region_io io;
	struct archive_entry *ae;
	struct imgfs_region r;
	struct tu_blob t;
	struct archive *a;
	char buf[65536], *path;
	la_ssize_t n = 0;
	int hr;

	tu_tar(&t, e, 1, TU_GZIP);
	path = tu_write_file(dir, "cut.tar.gz", t.data, t.len / 2);
	r.fd = open(path, O_RDONLY);
	ck_assert_int_ge(r.fd, 0);
	r.off = 0;
	r.size = t.len / 2;
	r.file = path;
	a = imgfs_region_archive(&r, &io);
	hr = archive_read_next_header(a, &ae);
	if (hr == ARCHIVE_OK)
		while ((n = archive_read_data(a, buf, sizeof(buf))) > 0)
			;
	ck_assert(hr != ARCHIVE_OK || n < 0);
	ck_assert_ptr_nonnull(strstr(archive_error_string(a), "truncated gzip input"));
	imgfs_region_archive_free(a);
	close(r.fd);
	free(path);
	tu_blob_free(&t);
	free(d);
}
END_TEST

/* Cut inside the first tar header: libarchive's tar bid fails and its
 * "empty" format answers EOF, so the reader's error must say it. */
START_TEST(region_gzip_cut_first_header)
{
	const struct tu_entry e[] = { { .path = "f", .type = TU_FILE, .content = "content" } };
	struct imgfs_region_io io;
	struct archive_entry *ae;
	struct imgfs_region r;
	struct tu_blob t;
	struct archive *a;
	char *path;
	int hr;

	tu_tar(&t, e, 1, TU_GZIP);
	path = tu_write_file(dir, "cut1.tar.gz", t.data, 40);
	r.fd = open(path, O_RDONLY);
	ck_assert_int_ge(r.fd, 0);
	r.off = 0;
	r.size = 40;
	r.file = path;
	a = imgfs_region_archive(&r, &io);
	hr = archive_read_next_header(a, &ae);
	ck_assert(hr != ARCHIVE_OK);
	ck_assert_ptr_nonnull(io.error);
	ck_assert_str_eq(io.error, "truncated gzip input");
	imgfs_region_archive_free(a);
	close(r.fd);
	free(path);
	tu_blob_free(&t);
}
END_TEST

static Suite *inflate_suite(void)
{
	Suite *s = suite_create("inflate");
	TCase *tc = tcase_create("inflate"), *rc = tcase_create("region");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, one_member);
	tcase_add_test(tc, many_members);
	tcase_add_test(tc, trailing_bytes);
	tcase_add_test(tc, truncated);
	tcase_add_test(tc, corrupt);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(rc, setup, teardown);
	tcase_add_test(rc, region_gzip);
	tcase_add_test(rc, region_gzip_cut);
	tcase_add_test(rc, region_gzip_cut_first_header);
	suite_add_tcase(s, rc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(inflate_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
