/* This file contains the libFuzzer target over path normalisation
 * (util/path_i.h): imgfs_path_normalize, imgfs_path_join_link and
 * imgfs_path_split on names and link targets as tars hold them.
 *
 * Input: byte 0 picks the output buffer's size (small sizes reach the
 * -ENAMETOOLONG edges; the buffer is malloc'd to exactly that size, so
 * ASan sees one byte written past it), byte 1 bit 0 says hardlink, the
 * rest is NAME, a NUL, TARGET.
 *
 * Checks, each against a second implementation written here (a component
 * stack) and against invariants: a result never starts with '/', never
 * holds an empty, "." or ".." component, never ends in '/'; normalising a
 * result gives it back; -EINVAL exactly when a ".." would be kept or climb
 * above the root; split and rejoined, a result is itself. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/path_i.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The reference: components of IN, in order, onto a stack; ".." pops when
 * RESOLVE (else refuses), nothing pops the root; the joined result must
 * fit LIMIT bytes with its NUL at every step, as the real one promises. */
static int ref_walk(const char *in, char *out, size_t limit, int resolve)
{
	size_t len = 0, start = 0, i, n = strlen(in);

	if (limit > IMGFS_PATH_MAX)
		limit = IMGFS_PATH_MAX;
	if (limit == 0)
		return -ENAMETOOLONG;
	out[0] = '\0';
	for (i = 0; i <= n; i++) {
		size_t clen;
		const char *c;

		if (i < n && in[i] != '/')
			continue;
		c = in + start;
		clen = i - start;
		start = i + 1;
		if (clen == 0 || (clen == 1 && c[0] == '.'))
			continue;
		if (clen == 2 && c[0] == '.' && c[1] == '.') {
			if (!resolve || len == 0)
				return -EINVAL;
			while (len > 0 && out[len - 1] != '/')
				len--;
			if (len > 0)
				len--; /* the '/' before the popped component */
			out[len] = '\0';
			continue;
		}
		if (len + (len > 0) + clen >= limit)
			return -ENAMETOOLONG;
		if (len > 0)
			out[len++] = '/';
		memcpy(out + len, c, clen);
		len += clen;
		out[len] = '\0';
	}
	return 0;
}

static void check_shape(const char *p, size_t outlen)
{
	const char *c = p;
	char *again;

	if (strlen(p) >= outlen || p[0] == '/')
		abort();
	if (p[0]) {
		for (;;) {
			const char *e = strchr(c, '/');
			size_t n = e ? (size_t)(e - c) : strlen(c);

			if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
				abort();
			if (!e)
				break;
			c = e + 1;
		}
	}
	/* normalising twice changes nothing */
	again = malloc(outlen);
	if (!again)
		abort();
	if (imgfs_path_normalize(p, again, outlen) != 0 || strcmp(again, p))
		abort();
	free(again);
}

static void check_split(const char *p)
{
	size_t n = strlen(p);
	char *w, *j;
	const char *dir, *base;

	if (!n)
		return;
	w = strdup(p);
	j = malloc(n + 2);
	if (!w || !j)
		abort();
	imgfs_path_split(w, &dir, &base);
	if (!base[0] || strchr(base, '/'))
		abort();
	if (dir[0])
		strcat(strcat(strcpy(j, dir), "/"), base);
	else
		strcpy(j, base);
	if (strcmp(j, p))
		abort();
	free(w);
	free(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t outlen, n;
	char *name, *target, *out, *ref, *buf;
	int hard, rc, want;

	if (size < 2)
		return 0;
	/* 0..127: small buffers, each size once; above: the usual full size */
	outlen = data[0] < 128 ? data[0] : IMGFS_PATH_MAX;
	hard = data[1] & 1;
	buf = malloc(size - 2 + 2);
	if (!buf)
		abort();
	memcpy(buf, data + 2, size - 2);
	buf[size - 2] = buf[size - 1] = '\0';
	name = buf;
	n = strlen(name);
	target = n < size - 2 ? name + n + 1 : name + n;

	out = malloc(outlen ? outlen : 1);
	ref = malloc(IMGFS_PATH_MAX * 3);
	if (!out || !ref)
		abort();

	/* normalise */
	rc = imgfs_path_normalize(name, out, outlen);
	want = ref_walk(name, ref, outlen, 0);
	if (rc != want)
		abort();
	if (rc == 0) {
		if (strcmp(out, ref))
			abort();
		check_shape(out, outlen);
		check_split(out);
	}

	/* link targets: symlinks from NAME's directory, hardlinks from the root */
	rc = imgfs_path_join_link(name, target, hard, out, outlen);
	{
		const char *slash = strrchr(name, '/');
		size_t dlen = slash ? (size_t)(slash - name) : 0;

		if (!hard && target[0] != '/' && dlen >= IMGFS_PATH_MAX)
			want = -ENAMETOOLONG;
		else if (strlen(target) >= IMGFS_PATH_MAX)
			want = -ENAMETOOLONG;
		else {
			char *joined = malloc(dlen + strlen(target) + 2);

			if (!joined)
				abort();
			joined[0] = '\0';
			if (!hard && target[0] != '/') {
				memcpy(joined, name, dlen);
				joined[dlen] = '/';
				joined[dlen + 1] = '\0';
			}
			strcat(joined, target);
			want = ref_walk(joined, ref, outlen, 1);
			free(joined);
		}
	}
	if (rc != want)
		abort();
	if (rc == 0) {
		if (strcmp(out, ref))
			abort();
		check_shape(out, outlen);
		check_split(out);
	}
	free(out);
	free(ref);
	free(buf);
	return 0;
}
