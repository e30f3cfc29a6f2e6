/* This file contains the tree one mount serves: one image at the root, or
 * several, each the directory of its name under a root of their own.  An
 * image's inode I is, for the set, I for a single image and
 * ((K + 1) << SET_SHIFT) | I for the K-th of several, so every request
 * finds its image from its inode alone, with no table. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "imgfs/imgfs.h"

/* The low bits carry the image's own inode: 2^40 inodes per image is more
 * than any index holds (a row per inode), and 2^24 images more than any
 * command line passes. */
#define SET_SHIFT 40
#define SET_INO_MASK ((UINT64_C(1) << SET_SHIFT) - 1)

struct imgfs_set {
	struct imgfs_fs **fs;
	char **names;
	size_t n;
	int multi;     /* several images: the root is the set's own */
};

int imgfs_set_new(struct imgfs_set **out, struct imgfs_fs **fs, const char *const *names, size_t n)
{
	struct imgfs_set *s;

	*out = NULL;
	if (n == 0 || n >= (UINT64_C(1) << (64 - SET_SHIFT)) - 1)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->n = n;
	s->multi = names != NULL;
	s->fs = calloc(n, sizeof(*s->fs));
	s->names = calloc(n, sizeof(*s->names));
	if (!s->fs || !s->names)
		goto nomem;
	for (size_t k = 0; k < n && names; k++)
		if (!(s->names[k] = strdup(names[k])))
			goto nomem;
	/* the images are the set's from here on */
	memcpy(s->fs, fs, n * sizeof(*fs));
	*out = s;
	return 0;
nomem:
	for (size_t k = 0; s->names && k < n; k++)
		free(s->names[k]);
	free(s->names);
	free(s->fs);
	free(s);
	return -ENOMEM;
}

void imgfs_set_free(struct imgfs_set *s)
{
	if (!s)
		return;
	for (size_t k = 0; k < s->n; k++) {
		imgfs_fs_close(s->fs[k]);
		free(s->names[k]);
	}
	free(s->fs);
	free(s->names);
	free(s);
}

/* The image of set inode INO and its own inode there: 0, or -ENOENT for
 * the set's root (which is no image's) and for an inode of no image. */
static int split(const struct imgfs_set *s, uint64_t ino, size_t *k, uint64_t *inner)
{
	uint64_t top = ino >> SET_SHIFT;

	if (!s->multi) {
		*k = 0;
		*inner = ino;
		return 0;
	}
	if (top == 0 || top > s->n)
		return -ENOENT;
	*k = (size_t)(top - 1);
	*inner = ino & SET_INO_MASK;
	return 0;
}

/* The set inode of image K's inode INNER. */
static int join(const struct imgfs_set *s, size_t k, struct imgfs_attr *a)
{
	if (!s->multi)
		return 0;
	if (a->ino > SET_INO_MASK)
		return -EOVERFLOW;
	a->ino |= (uint64_t)(k + 1) << SET_SHIFT;
	return 0;
}

static int is_set_root(const struct imgfs_set *s, uint64_t ino)
{
	return s->multi && ino == IMGFS_ROOT_INO;
}

static void root_attr(const struct imgfs_set *s, struct imgfs_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->ino = IMGFS_ROOT_INO;
	a->mode = S_IFDIR | 0555;
	a->nlink = (uint32_t)(2 + s->n);
}

size_t imgfs_set_count(const struct imgfs_set *s)
{
	return s->n;
}

struct imgfs_fs *imgfs_set_image(const struct imgfs_set *s, size_t k)
{
	return k < s->n ? s->fs[k] : NULL;
}

int imgfs_set_getattr(struct imgfs_set *s, uint64_t ino, struct imgfs_attr *a)
{
	uint64_t inner;
	size_t k;
	int rc;

	if (is_set_root(s, ino)) {
		root_attr(s, a);
		return 0;
	}
	if ((rc = split(s, ino, &k, &inner)) != 0)
		return rc;
	rc = imgfs_fs_getattr(s->fs[k], inner, a);
	return rc ? rc : join(s, k, a);
}

int imgfs_set_lookup(struct imgfs_set *s, uint64_t parent, const char *name, struct imgfs_attr *a)
{
	uint64_t inner;
	size_t k;
	int rc;

	if (is_set_root(s, parent)) {
		for (k = 0; k < s->n; k++)
			if (!strcmp(s->names[k], name))
				break;
		if (k == s->n)
			return -ENOENT;
		rc = imgfs_fs_getattr(s->fs[k], IMGFS_ROOT_INO, a);
		return rc ? rc : join(s, k, a);
	}
	if ((rc = split(s, parent, &k, &inner)) != 0)
		return rc;
	rc = imgfs_fs_lookup(s->fs[k], inner, name, a);
	return rc ? rc : join(s, k, a);
}

struct relay {
	const struct imgfs_set *s;
	size_t k;
	int at_root;         /* listing an image's root: its ".." is the set's */
	imgfs_dirent_fn fn;
	void *ctx;
	int rc;
};

static int relay_entry(void *ctx, const char *name, const struct imgfs_attr *a, uint64_t next)
{
	struct relay *r = ctx;
	struct imgfs_attr b = *a;

	if (r->at_root && !strcmp(name, "..")) {
		root_attr(r->s, &b);
		return r->fn(r->ctx, name, &b, next);
	}
	if ((r->rc = join(r->s, r->k, &b)) != 0)
		return 1;
	return r->fn(r->ctx, name, &b, next);
}

/* The set's root: "." (offset 1), ".." (2), then image K at offset 3 + K. */
static int root_readdir(struct imgfs_set *s, uint64_t off, imgfs_dirent_fn fn, void *ctx)
{
	struct imgfs_attr a;
	int rc;

	root_attr(s, &a);
	if (off < 1 && fn(ctx, ".", &a, 1))
		return 0;
	if (off < 2 && fn(ctx, "..", &a, 2))
		return 0;
	for (size_t k = off > 2 ? (size_t)(off - 2) : 0; k < s->n; k++) {
		rc = imgfs_fs_getattr(s->fs[k], IMGFS_ROOT_INO, &a);
		if (rc == 0)
			rc = join(s, k, &a);
		if (rc)
			return rc;
		if (fn(ctx, s->names[k], &a, 3 + k))
			break;
	}
	return 0;
}

int imgfs_set_readdir(struct imgfs_set *s, uint64_t ino, uint64_t off, imgfs_dirent_fn fn, void *ctx)
{
	struct relay r = { .s = s, .fn = fn, .ctx = ctx };
	uint64_t inner;
	int rc;

	if (is_set_root(s, ino))
		return root_readdir(s, off, fn, ctx);
	if ((rc = split(s, ino, &r.k, &inner)) != 0)
		return rc;
	if (!s->multi)
		return imgfs_fs_readdir(s->fs[0], inner, off, fn, ctx);
	r.at_root = inner == IMGFS_ROOT_INO;
	rc = imgfs_fs_readdir(s->fs[r.k], inner, off, relay_entry, &r);
	return rc ? rc : r.rc;
}

ssize_t imgfs_set_readlink(struct imgfs_set *s, uint64_t ino, char *buf, size_t len)
{
	uint64_t inner;
	size_t k;
	int rc;

	if (is_set_root(s, ino))
		return -EINVAL;
	if ((rc = split(s, ino, &k, &inner)) != 0)
		return rc;
	return imgfs_fs_readlink(s->fs[k], inner, buf, len);
}

ssize_t imgfs_set_read(struct imgfs_set *s, uint64_t ino, void *buf, size_t size, uint64_t off)
{
	uint64_t inner;
	size_t k;
	int rc;

	if (is_set_root(s, ino))
		return -EISDIR;
	if ((rc = split(s, ino, &k, &inner)) != 0)
		return rc;
	return imgfs_fs_read(s->fs[k], inner, buf, size, off);
}

/* The set's root has user.imgfs.size, the images' bytes together, so
 * that a getfattr of the mount point answers as for one image. */
static ssize_t root_size(struct imgfs_set *s, void *buf, size_t size)
{
	unsigned long long total = 0;
	char v[32];
	int n;

	for (size_t k = 0; k < s->n; k++) {
		struct imgfs_fs_stat st;
		int rc = imgfs_fs_statfs(s->fs[k], &st);

		if (rc)
			return rc;
		total += st.bytes;
	}
	n = snprintf(v, sizeof(v), "%llu", total);
	if (size == 0)
		return n;
	if ((size_t)n > size)
		return -ERANGE;
	memcpy(buf, v, (size_t)n);
	return n;
}

ssize_t imgfs_set_getxattr(struct imgfs_set *s, uint64_t ino, const char *name, void *buf, size_t size)
{
	uint64_t inner;
	size_t k;
	int rc;

	if (is_set_root(s, ino))
		return strcmp(name, "user.imgfs.size") ? -ENODATA : root_size(s, buf, size);
	if ((rc = split(s, ino, &k, &inner)) != 0)
		return rc;
	return imgfs_fs_getxattr(s->fs[k], inner, name, buf, size);
}

ssize_t imgfs_set_listxattr(struct imgfs_set *s, uint64_t ino, char *buf, size_t size)
{
	static const char root_names[] = "user.imgfs.size";
	uint64_t inner;
	size_t k;
	int rc;

	if (is_set_root(s, ino)) {
		if (size == 0)
			return sizeof(root_names);
		if (size < sizeof(root_names))
			return -ERANGE;
		memcpy(buf, root_names, sizeof(root_names));
		return sizeof(root_names);
	}
	if ((rc = split(s, ino, &k, &inner)) != 0)
		return rc;
	return imgfs_fs_listxattr(s->fs[k], inner, buf, size);
}

int imgfs_set_statfs(struct imgfs_set *s, struct imgfs_fs_stat *st)
{
	memset(st, 0, sizeof(*st));
	for (size_t k = 0; k < s->n; k++) {
		struct imgfs_fs_stat one;
		int rc = imgfs_fs_statfs(s->fs[k], &one);

		if (rc)
			return rc;
		st->inodes += one.inodes;
		st->bytes += one.bytes;
	}
	st->inodes += s->multi; /* the set's root */
	return 0;
}
