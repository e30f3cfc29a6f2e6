/* This file contains the libFuzzer target over the whole open-and-index
 * path: the input is an image file; it is indexed with
 * imgfs_index_prepare and, when that succeeds, opened with imgfs_fs_open
 * and walked the way a user of the mount would (readdir, lookup, getattr,
 * read, readlink, listxattr, getxattr), within bounds.
 *
 * Build: meson setup build-fuzz -Dfuzz=true with CC=clang (scripts/fuzz
 * does it and runs it).  Crashes it finds become cases of
 * tests/hostile/make_hostile.py, with their story in tests/hostile.sh. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "imgfs/imgfs.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Bounds of the walk: enough to reach every code path, small enough that
 * one input never takes long. */
#define WALK_DEPTH 32
#define WALK_ENTRIES 2000
#define READ_MAX (1u << 20)

static char tmpdir[] = "/tmp/imgfs-fuzz.XXXXXX";
static char image[64], index_path[64];

/* Empties TMPDIR (index, its temporary files, the content cache). */
static void clean(void)
{
	DIR *d = opendir(tmpdir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
}

static void cleanup_at_exit(void)
{
	clean();
	rmdir(tmpdir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (!mkdtemp(tmpdir))
		abort();
	snprintf(image, sizeof(image), "%s/image", tmpdir);
	snprintf(index_path, sizeof(index_path), "%s/index.db", tmpdir);
	atexit(cleanup_at_exit);
	/* Warnings about skipped entries would flood the output: run with
	 * -close_fd_mask=2 (scripts/fuzz does), which keeps sanitizer reports. */
	return 0;
}

struct names {
	char **v;
	size_t n;
	uint64_t *ino;
};

static int collect(void *ctx, const char *name, const struct imgfs_attr *a, uint64_t next)
{
	struct names *l = ctx;
	char **v;
	uint64_t *ino;

	(void)next;
	if (l->n >= WALK_ENTRIES)
		return 1;
	v = realloc(l->v, (l->n + 1) * sizeof(*v));
	if (!v)
		return 1;
	l->v = v;
	ino = realloc(l->ino, (l->n + 1) * sizeof(*ino));
	if (!ino)
		return 1;
	l->ino = ino;
	l->v[l->n] = strdup(name);
	l->ino[l->n] = a->ino;
	if (l->v[l->n])
		l->n++;
	return 0;
}

static void xattrs(struct imgfs_fs *fs, uint64_t ino)
{
	char list[65536], val[65536];
	ssize_t n = imgfs_fs_listxattr(fs, ino, NULL, 0), i;

	if (n <= 0 || (size_t)n > sizeof(list))
		return;
	n = imgfs_fs_listxattr(fs, ino, list, sizeof(list));
	for (i = 0; i < n; i += (ssize_t)strlen(list + i) + 1) {
		ssize_t len = imgfs_fs_getxattr(fs, ino, list + i, NULL, 0);

		if (len > 0 && (size_t)len <= sizeof(val))
			imgfs_fs_getxattr(fs, ino, list + i, val, (size_t)len);
		if (len > 1)
			imgfs_fs_getxattr(fs, ino, list + i, val, 1); /* -ERANGE */
	}
}

static void visit(struct imgfs_fs *fs, uint64_t ino, int depth, size_t *budget)
{
	struct imgfs_attr a;
	struct names l = { 0 };
	static char buf[65536];
	size_t i;

	if (depth > WALK_DEPTH || *budget == 0)
		return;
	--*budget;
	if (imgfs_fs_getattr(fs, ino, &a) != 0)
		return;
	xattrs(fs, ino);
	if (S_ISREG(a.mode)) {
		uint64_t off;

		for (off = 0; off < a.size && off < READ_MAX; off += sizeof(buf))
			if (imgfs_fs_read(fs, ino, buf, sizeof(buf), off) <= 0)
				break;
		if (a.size > 0)
			imgfs_fs_read(fs, ino, buf, 100, a.size - 1); /* the last byte */
		return;
	}
	if (S_ISLNK(a.mode)) {
		imgfs_fs_readlink(fs, ino, buf, sizeof(buf));
		return;
	}
	if (!S_ISDIR(a.mode))
		return;
	imgfs_fs_readdir(fs, ino, 0, collect, &l);
	for (i = 0; i < l.n; i++) {
		struct imgfs_attr c;

		if (strcmp(l.v[i], ".") && strcmp(l.v[i], "..") &&
		    imgfs_fs_lookup(fs, ino, l.v[i], &c) == 0)
			visit(fs, c.ino, depth + 1, budget);
		free(l.v[i]);
	}
	/* resuming from an offset must work too */
	if (l.n > 3) {
		struct names m = { 0 };

		imgfs_fs_readdir(fs, ino, 2, collect, &m);
		for (i = 0; i < m.n; i++)
			free(m.v[i]);
		free(m.v);
		free(m.ino);
	}
	free(l.v);
	free(l.ino);
}

static int layer_cb(void *ctx, const struct imgfs_layer_info *l)
{
	(void)ctx;
	return l->num < 0; /* reads every field the callback gets */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imgfs_opts o = { 0 };
	struct imgfs_build_info info;
	struct imgfs_err err;
	struct imgfs_fs *fs = NULL;
	struct imgfs_fs_stat st;
	struct imgfs_attr a;
	size_t budget = WALK_ENTRIES;
	int fd;

	clean();
	fd = open(image, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);
	o.image = image;
	o.index_path = index_path;
	o.cache_dir = tmpdir;
	o.force = 1;
	o.quiet = 1;
	memset(&err, 0, sizeof(err));
	if (imgfs_index_prepare(&o, &info, &err) != 0) {
		/* a failure always explains itself and never leaves an index */
		if (!err.msg[0] || access(index_path, F_OK) == 0)
			abort();
		return 0;
	}
	memset(&err, 0, sizeof(err));
	if (imgfs_fs_open(&fs, index_path, &err) != 0)
		abort(); /* the index just built must open */
	imgfs_fs_statfs(fs, &st);
	visit(fs, IMGFS_ROOT_INO, 0, &budget);
	if (imgfs_fs_lookup(fs, IMGFS_ROOT_INO, IMGFS_VIEW_NAME, &a) == 0) {
		budget = WALK_ENTRIES;
		visit(fs, a.ino, 0, &budget);
	}
	imgfs_fs_layers(fs, layer_cb, NULL);
	free(imgfs_fs_meta(fs, "format"));
	imgfs_fs_close(fs);
	return 0;
}
