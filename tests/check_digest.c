/* This file contains the unit tests of the blob digests (util/digest) and
 * of the hashing of a region as libarchive reads it (format/source): the
 * published test vectors, digest parsing, and when a streamed hash may
 * claim to cover a whole blob. */
#include "util/digest_i.h"

#include <archive.h>
#include <archive_entry.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "format/source_i.h"
#include "testutil.h"

/* FIPS 180-2, appendix B.1 and B.2 (sha256) and C.1 (sha512). */
#define ABC_256 "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define TWO_BLOCK_256 "sha256:248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
#define EMPTY_256 "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define ABC_512                                                                    \
	"sha512:ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a" \
	"2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"

/* Hashes S, fed in pieces of STEP bytes, against WANT; returns the match
 * and the computed text in GOT. */
static int hash_str(const char *want, const char *s, size_t step, char *got)
{
	struct imgfs_digest d;
	size_t i, n = strlen(s);

	ck_assert_int_eq(imgfs_digest_begin(&d, want), 0);
	for (i = 0; i < n; i += step)
		imgfs_digest_update(&d, s + i, n - i < step ? n - i : step);
	ck_assert_uint_eq(d.bytes, n);
	return imgfs_digest_end(&d, got, IMGFS_DIGEST_TEXT_MAX);
}

START_TEST(vectors)
{
	char got[IMGFS_DIGEST_TEXT_MAX];

	ck_assert(hash_str(ABC_256, "abc", 3, got));
	ck_assert_str_eq(got, ABC_256);
	ck_assert(hash_str(ABC_256, "abc", 1, got)); /* incremental: the same */
	ck_assert(hash_str(TWO_BLOCK_256,
			   "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 7, got));
	ck_assert(hash_str(EMPTY_256, "", 1, got));
	ck_assert(hash_str(ABC_512, "abc", 2, got));
	ck_assert_str_eq(got, ABC_512);
}
END_TEST

START_TEST(mismatch)
{
	char got[IMGFS_DIGEST_TEXT_MAX];

	/* the content of another digest: no match, and what it hashed to */
	ck_assert(!hash_str(ABC_256, "abd", 3, got));
	ck_assert_str_ne(got, ABC_256);
	ck_assert_int_eq(strlen(got), 71);
	ck_assert(!hash_str(EMPTY_256, "abc", 3, got));
	ck_assert_str_eq(got, ABC_256);
}
END_TEST

START_TEST(parse)
{
	struct imgfs_digest d;
	char upper[80];

	ck_assert_int_eq(imgfs_digest_begin(&d, NULL), -EINVAL);
	ck_assert_int_eq(imgfs_digest_begin(&d, "ba7816bf"), -EINVAL);
	ck_assert_int_eq(imgfs_digest_begin(&d, "sha256:"), -EINVAL);
	/* one digit short, one too many */
	ck_assert_int_eq(imgfs_digest_begin(&d, "sha256:ba7816bf8f01cfea414140de5dae2223"
					     "b00361a396177a9cb410ff61f20015a"), -EINVAL);
	ck_assert_int_eq(imgfs_digest_begin(&d, ABC_256 "0"), -EINVAL);
	/* OCI digests are lower-case hex */
	strcpy(upper, ABC_256);
	upper[7] = 'B';
	ck_assert_int_eq(imgfs_digest_begin(&d, upper), -EINVAL);
	upper[7] = 'g';
	ck_assert_int_eq(imgfs_digest_begin(&d, upper), -EINVAL);
	/* a well-formed digest of an algorithm not computed */
	ck_assert_int_eq(imgfs_digest_begin(&d, "blake3:abcd"), -ENOTSUP);
	ck_assert_int_eq(imgfs_digest_begin(&d, "sha512:abcd"), -EINVAL);
}
END_TEST

/* ---- a region hashed through libarchive ---- */

static char *dir;
/* what region_of opened, closed and freed by teardown */
static int fds[8], n_fds;
static char *paths[8];

/* Writes 100 junk bytes, BLOB, 100 junk bytes; returns BLOB's region. */
static struct imgfs_region region_of(const struct tu_blob *blob)
{
	static int n;
	unsigned char *buf = malloc(blob->len + 200);
	struct imgfs_region r = { 0 };
	char name[32], *path;

	ck_assert_ptr_nonnull(buf);
	memset(buf, 0xa5, blob->len + 200);
	memcpy(buf + 100, blob->data, blob->len);
	snprintf(name, sizeof(name), "blob%d", n++);
	path = tu_write_file(dir, name, buf, blob->len + 200);
	free(buf);
	r.fd = open(path, O_RDONLY);
	ck_assert_int_ge(r.fd, 0);
	ck_assert_int_lt(n_fds, (int)(sizeof(fds) / sizeof(fds[0])));
	paths[n_fds] = path;
	fds[n_fds++] = r.fd;
	r.off = 100;
	r.size = blob->len;
	r.file = path;
	return r;
}

/* "sha256:<hex>" of LEN bytes at P, in one piece, into OUT. */
static void digest_of(const void *p, size_t len, char *out)
{
	struct imgfs_digest d;

	ck_assert_int_eq(imgfs_digest_begin(&d, EMPTY_256), 0);
	imgfs_digest_update(&d, p, len);
	imgfs_digest_end(&d, out, IMGFS_DIGEST_TEXT_MAX);
}

/* A layer whose file is larger than the reader's 64 KiB buffer, so that
 * an uncompressed read skips its data. */
static void big_layer(struct tu_blob *t, int flags)
{
	unsigned char *big = tu_random(300000, 7);
	const struct tu_entry e[] = {
		{ .path = "a", .type = TU_FILE, .content = "first\n" },
		{ .path = "big", .type = TU_FILE, .data = big, .size = 300000 },
		{ .path = "z", .type = TU_FILE, .content = "last\n" },
	};

	tu_tar(t, e, sizeof(e) / sizeof(e[0]), flags);
	free(big);
}

/* Reads every header of A (the file data skipped), then frees it. */
static void walk(struct archive *a)
{
	struct archive_entry *e;
	int n = 0;

	ck_assert_ptr_nonnull(a);
	while (archive_read_next_header(a, &e) == ARCHIVE_OK)
		n++;
	ck_assert_int_eq(n, 3);
	imgfs_region_archive_free(a);
}

START_TEST(region_compressed_whole)
{
	struct tu_blob t;
	struct imgfs_region r;
	struct imgfs_region_hash h = { 0 };
	char want[IMGFS_DIGEST_TEXT_MAX], got[IMGFS_DIGEST_TEXT_MAX];

	big_layer(&t, TU_GZIP);
	r = region_of(&t);
	digest_of(t.data, t.len, want);
	ck_assert_int_eq(imgfs_digest_begin(&h.d, want), 0);
	imgfs_region_hash_arm(&r, &h);
	walk(imgfs_region_archive(&r, NULL));
	/* the tar's end comes before the gzip trailer: a tail is left */
	ck_assert_uint_gt(h.done, 0);
	ck_assert_uint_le(h.done, r.size);
	ck_assert_int_eq(h.gap, 0);
	ck_assert_int_eq(imgfs_region_hash_finish(&r, &h, UINT64_MAX), 1);
	ck_assert_uint_eq(h.done, r.size);
	ck_assert(imgfs_digest_end(&h.d, got, sizeof(got)));
	ck_assert_str_eq(got, want);
	tu_blob_free(&t);
}
END_TEST

START_TEST(region_tail_limit)
{
	struct tu_blob t;
	struct imgfs_region r;
	struct imgfs_region_hash h = { 0 };

	big_layer(&t, 0);
	r = region_of(&t);
	ck_assert_int_eq(imgfs_digest_begin(&h.d, EMPTY_256), 0);
	/* nothing read yet: the whole blob is the tail */
	ck_assert_int_eq(imgfs_region_hash_finish(&r, &h, r.size - 1), 0);
	ck_assert_uint_eq(h.done, 0);
	ck_assert_int_eq(imgfs_region_hash_finish(&r, &h, r.size), 1);
	ck_assert_uint_eq(h.done, r.size);
	tu_blob_free(&t);
}
END_TEST

START_TEST(region_skip_is_a_gap)
{
	struct tu_blob t;
	struct imgfs_region r;
	struct imgfs_region_hash h = { 0 };

	big_layer(&t, 0);
	r = region_of(&t);
	ck_assert_int_eq(imgfs_digest_begin(&h.d, EMPTY_256), 0);
	imgfs_region_hash_arm(&r, &h);
	walk(imgfs_region_archive(&r, NULL));
	/* the big file's data was skipped, then reading went on past it:
	 * the hash covers no whole blob and must claim nothing */
	ck_assert_int_eq(h.gap, 1);
	ck_assert_int_eq(imgfs_region_hash_finish(&r, &h, UINT64_MAX), 0);
	tu_blob_free(&t);
}
END_TEST

START_TEST(region_arm_is_for_one_region)
{
	struct tu_blob t;
	struct imgfs_region r, other;
	struct imgfs_region_hash h = { 0 };

	big_layer(&t, TU_GZIP);
	r = region_of(&t);
	other = r;
	ck_assert_int_eq(imgfs_digest_begin(&h.d, EMPTY_256), 0);
	imgfs_region_hash_arm(&r, &h);
	walk(imgfs_region_archive(&other, NULL)); /* another struct: not hashed */
	ck_assert_uint_eq(h.done, 0);
	walk(imgfs_region_archive(&r, NULL));
	ck_assert_uint_gt(h.done, 0);
	h.done = 0;
	walk(imgfs_region_archive(&r, NULL)); /* the arming was used up */
	ck_assert_uint_eq(h.done, 0);
	imgfs_region_hash_arm(&r, &h);
	imgfs_region_hash_disarm();
	walk(imgfs_region_archive(&r, NULL));
	ck_assert_uint_eq(h.done, 0);
	tu_blob_free(&t);
}
END_TEST

START_TEST(region_stream)
{
	struct tu_blob t, z;
	struct imgfs_region r;
	struct imgfs_region_hash h = { 0 };
	struct imgfs_digest diff;
	struct archive *a;
	struct archive_entry *e;
	char want_blob[IMGFS_DIGEST_TEXT_MAX], want_tar[IMGFS_DIGEST_TEXT_MAX];
	unsigned char buf[4096];
	la_ssize_t n;

	big_layer(&t, 0);
	big_layer(&z, TU_GZIP);
	r = region_of(&z);
	digest_of(z.data, z.len, want_blob);
	digest_of(t.data, t.len, want_tar); /* the same entries, uncompressed */
	ck_assert_int_eq(imgfs_digest_begin(&h.d, want_blob), 0);
	ck_assert_int_eq(imgfs_digest_begin(&diff, want_tar), 0);
	a = imgfs_region_stream(&r, &h);
	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(archive_read_next_header(a, &e), ARCHIVE_OK);
	while ((n = archive_read_data(a, buf, sizeof(buf))) > 0)
		imgfs_digest_update(&diff, buf, (size_t)n);
	ck_assert_int_eq(n, 0);
	imgfs_region_archive_free(a);
	ck_assert(imgfs_digest_end(&diff, NULL, 0));
	ck_assert_int_eq(imgfs_region_hash_finish(&r, &h, UINT64_MAX), 1);
	ck_assert(imgfs_digest_end(&h.d, NULL, 0));
	tu_blob_free(&t);
	tu_blob_free(&z);
}
END_TEST

static void setup(void)
{
	dir = tu_tmpdir();
}

static void teardown(void)
{
	while (n_fds > 0) {
		n_fds--;
		close(fds[n_fds]);
		free(paths[n_fds]);
	}
	tu_rm_rf(dir);
	free(dir);
}

static Suite *digest_suite(void)
{
	Suite *s = suite_create("digest");
	TCase *tc = tcase_create("digest"), *rc = tcase_create("region");

	tcase_add_test(tc, vectors);
	tcase_add_test(tc, mismatch);
	tcase_add_test(tc, parse);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(rc, setup, teardown);
	tcase_add_test(rc, region_compressed_whole);
	tcase_add_test(rc, region_tail_limit);
	tcase_add_test(rc, region_skip_is_a_gap);
	tcase_add_test(rc, region_arm_is_for_one_region);
	tcase_add_test(rc, region_stream);
	suite_add_tcase(s, rc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(digest_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
