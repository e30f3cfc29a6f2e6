/* This file contains the unit tests of the path helpers: normalising tar
 * entry names, resolving member link targets, and the FNV-1a fingerprint. */
#include "util/path_i.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Normalises IN into a buffer of LEN bytes; returns the rc, the result in OUT. */
static int norm(const char *in, char *out, size_t len)
{
	memset(out, 'X', len);
	return imgfs_path_normalize(in, out, len);
}

#define NORM_OK(in, want)                                                    \
	do {                                                                 \
		char o_[IMGFS_PATH_MAX];                                     \
		ck_assert_int_eq(norm((in), o_, sizeof(o_)), 0);             \
		ck_assert_str_eq(o_, (want));                                \
	} while (0)

#define NORM_RC(in, rc)                                                      \
	do {                                                                 \
		char o_[IMGFS_PATH_MAX];                                     \
		ck_assert_int_eq(norm((in), o_, sizeof(o_)), (rc));          \
	} while (0)

START_TEST(normalize_basic)
{
	NORM_OK("./a//b/", "a/b");
	NORM_OK("/", "");
	NORM_OK(".", "");
	NORM_OK("./", "");
	NORM_OK("", "");
	NORM_OK("//././/", "");
	NORM_OK("a/./b", "a/b");
	NORM_OK("/usr/bin/", "usr/bin");
	NORM_OK("a", "a");
	NORM_OK("a/b/c", "a/b/c");
	/* Names that only look like dot components are names. */
	NORM_OK("./.a/..b/...", ".a/..b/...");
	NORM_OK(".wh..wh..opq", ".wh..wh..opq");
	NORM_OK("a/.wh.b", "a/.wh.b");
}
END_TEST

START_TEST(normalize_dotdot)
{
	NORM_RC("../x", -EINVAL);
	NORM_RC("a/../b", -EINVAL);
	NORM_RC("..", -EINVAL);
	NORM_RC("a/..", -EINVAL);
	NORM_RC("a/../", -EINVAL);
	NORM_RC("/../etc/passwd", -EINVAL);
	NORM_RC("./a/b/../../../c", -EINVAL);
}
END_TEST

START_TEST(normalize_too_long)
{
	char *in = malloc(IMGFS_PATH_MAX + 10);
	char out[IMGFS_PATH_MAX + 16];
	char small[4];

	ck_assert_ptr_nonnull(in);
	/* IMGFS_PATH_MAX - 1 bytes plus the NUL fits exactly. */
	memset(in, 'a', IMGFS_PATH_MAX - 1);
	in[IMGFS_PATH_MAX - 1] = '\0';
	ck_assert_int_eq(imgfs_path_normalize(in, out, sizeof(out)), 0);
	ck_assert_uint_eq(strlen(out), IMGFS_PATH_MAX - 1);
	/* One more byte does not, even with a larger buffer. */
	memset(in, 'a', IMGFS_PATH_MAX);
	in[IMGFS_PATH_MAX] = '\0';
	ck_assert_int_eq(imgfs_path_normalize(in, out, sizeof(out)), -ENAMETOOLONG);
	/* Folded separators do not count: the result is what is measured. */
	memset(in, '/', IMGFS_PATH_MAX + 5);
	in[IMGFS_PATH_MAX + 5] = 'z';
	in[IMGFS_PATH_MAX + 6] = '\0';
	ck_assert_int_eq(imgfs_path_normalize(in, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "z");
	free(in);

	/* The caller's buffer bounds it too: "abc" needs 4 bytes. */
	ck_assert_int_eq(imgfs_path_normalize("abc", small, 4), 0);
	ck_assert_str_eq(small, "abc");
	ck_assert_int_eq(imgfs_path_normalize("abcd", small, 4), -ENAMETOOLONG);
	ck_assert_int_eq(imgfs_path_normalize("a/bc", small, 4), -ENAMETOOLONG);
	ck_assert_int_eq(imgfs_path_normalize("a", small, 0), -ENAMETOOLONG);
}
END_TEST

START_TEST(normalize_non_utf8)
{
	/* Latin-1 and stray continuation bytes are kept as they are. */
	NORM_OK("./caf\xe9/\xff\xfe//x\x80/", "caf\xe9/\xff\xfe/x\x80");
	NORM_OK("\xc3\x28", "\xc3\x28");
}
END_TEST

START_TEST(split)
{
	char p1[] = "a/b/c", p2[] = "top";
	const char *dir, *base;

	imgfs_path_split(p1, &dir, &base);
	ck_assert_str_eq(dir, "a/b");
	ck_assert_str_eq(base, "c");
	imgfs_path_split(p2, &dir, &base);
	ck_assert_str_eq(dir, "");
	ck_assert_str_eq(base, "top");
}
END_TEST

#define JOIN_OK(name, target, hard, want)                                                   \
	do {                                                                                \
		char o_[IMGFS_PATH_MAX];                                                    \
		ck_assert_int_eq(imgfs_path_join_link((name), (target), (hard), o_, sizeof(o_)), 0); \
		ck_assert_str_eq(o_, (want));                                               \
	} while (0)

#define JOIN_RC(name, target, hard, rc)                                                     \
	do {                                                                                \
		char o_[IMGFS_PATH_MAX];                                                    \
		ck_assert_int_eq(imgfs_path_join_link((name), (target), (hard), o_, sizeof(o_)), (rc)); \
	} while (0)

#define HEX "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

START_TEST(join_link)
{
	/* podman's docker-archive: <legacy id>/layer.tar -> ../<diffid>.tar */
	JOIN_OK("abc/layer.tar", "../" HEX ".tar", 0, HEX ".tar");
	JOIN_OK("./abc/layer.tar", "../" HEX ".tar", 0, HEX ".tar");
	/* Relative symlinks start at the link's directory. */
	JOIN_OK("a/b/link", "c", 0, "a/b/c");
	JOIN_OK("a/b/link", "./c/../d", 0, "a/b/d");
	JOIN_OK("a/b/link", "../../x", 0, "x");
	JOIN_OK("top", "x/y", 0, "x/y");
	/* Absolute symlinks start at the archive root. */
	JOIN_OK("a/b/link", "/etc//hosts", 0, "etc/hosts");
	JOIN_OK("a/b/link", "/", 0, "");
	/* Hardlink names are relative to the archive root, not the link. */
	JOIN_OK("a/b/hl", "c/file", 1, "c/file");
	JOIN_OK("a/b/hl", "./c/file", 1, "c/file");
	JOIN_OK("a/b/hl", "c/../file", 1, "file");

	/* Climbing above the root is refused. */
	JOIN_RC("abc/layer.tar", "../../x.tar", 0, -EINVAL);
	JOIN_RC("top", "../x", 0, -EINVAL);
	JOIN_RC("a/b/link", "/../x", 0, -EINVAL);
	JOIN_RC("a/b/hl", "../c", 1, -EINVAL);
	JOIN_RC("a/b/hl", "c/../../d", 1, -EINVAL);
}
END_TEST

START_TEST(join_link_too_long)
{
	char *t = malloc(IMGFS_PATH_MAX + 1);
	char small[8];

	ck_assert_ptr_nonnull(t);
	memset(t, 'x', IMGFS_PATH_MAX);
	t[IMGFS_PATH_MAX] = '\0';
	ck_assert_int_eq(imgfs_path_join_link("a", t, 1, small, sizeof(small)), -ENAMETOOLONG);
	free(t);
	/* "a/cdefg" and its NUL fill the 8 bytes exactly; one more is too many. */
	ck_assert_int_eq(imgfs_path_join_link("a/b", "cdefgh", 0, small, sizeof(small)), -ENAMETOOLONG);
	ck_assert_int_eq(imgfs_path_join_link("a/b", "cdefg", 0, small, sizeof(small)), 0);
	ck_assert_str_eq(small, "a/cdefg");
}
END_TEST

START_TEST(fnv64)
{
	/* Published FNV-1a 64 test vectors. */
	ck_assert_uint_eq(imgfs_fnv64(IMGFS_FNV64_INIT, "", 0), 0xcbf29ce484222325ULL);
	ck_assert_uint_eq(imgfs_fnv64(IMGFS_FNV64_INIT, "a", 1), 0xaf63dc4c8601ec8cULL);
	ck_assert_uint_eq(imgfs_fnv64(IMGFS_FNV64_INIT, "foobar", 6), 0x85944171f73967e8ULL);
	/* Chaining equals hashing the concatenation. */
	ck_assert_uint_eq(imgfs_fnv64(imgfs_fnv64(IMGFS_FNV64_INIT, "foo", 3), "bar", 3),
			  0x85944171f73967e8ULL);
}
END_TEST

static Suite *path_suite(void)
{
	Suite *s = suite_create("path");
	TCase *tc = tcase_create("path");

	tcase_add_test(tc, normalize_basic);
	tcase_add_test(tc, normalize_dotdot);
	tcase_add_test(tc, normalize_too_long);
	tcase_add_test(tc, normalize_non_utf8);
	tcase_add_test(tc, split);
	tcase_add_test(tc, join_link);
	tcase_add_test(tc, join_link_too_long);
	tcase_add_test(tc, fnv64);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(path_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
