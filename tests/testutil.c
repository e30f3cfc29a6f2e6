/* This file contains the helpers shared by the Check unit tests: temporary
 * directories, and small images written with libarchive. */
#include "testutil.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "imgfs/imgfs.h"
#include "util/digest_i.h"

char *tu_tmpdir(void)
{
	const char *base = getenv("IMGFS_TEST_TMP");
	char *p;

	if (!base)
		base = "/tmp";
	mkdir(base, 0755);
	if (asprintf(&p, "%s/t.XXXXXX", base) < 0)
		abort();
	if (!mkdtemp(p))
		abort();
	return p;
}

char *tu_write_file(const char *dir, const char *name, const void *data, size_t len)
{
	char *p;
	int fd;

	if (asprintf(&p, "%s/%s", dir, name) < 0)
		abort();
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len)
		abort();
	close(fd);
	return p;
}

void *tu_read_file(const char *path, size_t *len)
{
	struct stat st;
	char *buf;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &st) != 0)
		abort();
	buf = malloc((size_t)st.st_size + 1);
	if (!buf || read(fd, buf, (size_t)st.st_size) != st.st_size)
		abort();
	buf[st.st_size] = '\0';
	close(fd);
	*len = (size_t)st.st_size;
	return buf;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st; (void)flag; (void)f;
	return remove(p);
}

void tu_rm_rf(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int tu_count_names(const char *dir, const char *part)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		abort();
	while ((de = readdir(d)) != NULL)
		if (strstr(de->d_name, part))
			n++;
	closedir(d);
	return n;
}

/* ---- tars ---- */

/* A growing buffer behind archive_write_open. */
struct membuf {
	unsigned char *p;
	size_t len, cap;
};

static la_ssize_t mem_write(struct archive *a, void *ctx, const void *buf, size_t len)
{
	struct membuf *m = ctx;

	(void)a;
	if (m->len + len > m->cap) {
		size_t cap = m->cap ? m->cap : 65536;

		while (cap < m->len + len)
			cap *= 2;
		m->p = realloc(m->p, cap);
		if (!m->p)
			abort();
		m->cap = cap;
	}
	memcpy(m->p + m->len, buf, len);
	m->len += len;
	return (la_ssize_t)len;
}

static void check(struct archive *a, int r, const char *what)
{
	if (r < ARCHIVE_WARN) {
		fprintf(stderr, "testutil: %s: %s\n", what, archive_error_string(a));
		abort();
	}
}

void tu_tar(struct tu_blob *out, const struct tu_entry *e, size_t n, int flags)
{
	struct archive *a = archive_write_new();
	struct membuf m = { 0 };
	size_t i;

	if (!a)
		abort();
	check(a, flags & TU_PAX_FULL ? archive_write_set_format_pax(a)
				     : archive_write_set_format_pax_restricted(a), "format");
	if (flags & TU_GZIP) {
		check(a, archive_write_add_filter_gzip(a), "gzip");
		/* No time in the gzip header: the same entries, the same bytes. */
		check(a, archive_write_set_filter_option(a, "gzip", "timestamp", NULL), "gzip");
	}
	else
		check(a, archive_write_add_filter_none(a), "none");
	/* No padding to a 10 KiB block: the tar ends after its two zero blocks. */
	check(a, archive_write_set_bytes_in_last_block(a, 1), "last block");
	check(a, archive_write_open(a, &m, NULL, mem_write, NULL), "open");
	for (i = 0; i < n; i++) {
		const struct tu_entry *t = &e[i];
		struct archive_entry *ae = archive_entry_new();
		const void *data = t->data ? t->data : t->content;
		size_t size = t->data ? t->size : t->content ? strlen(t->content) : 0;
		unsigned mode = t->mode;

		if (!ae)
			abort();
		archive_entry_set_pathname(ae, t->path);
		archive_entry_set_uid(ae, t->uid);
		archive_entry_set_gid(ae, t->gid);
		archive_entry_set_mtime(ae, t->mtime, t->nsec);
		switch (t->type) {
		case TU_FILE:
		case TU_HARDLINK:
			archive_entry_set_filetype(ae, AE_IFREG);
			mode = mode ? mode : 0644;
			break;
		case TU_DIR:
			archive_entry_set_filetype(ae, AE_IFDIR);
			mode = mode ? mode : 0755;
			size = 0;
			break;
		case TU_SYMLINK:
			archive_entry_set_filetype(ae, AE_IFLNK);
			archive_entry_set_symlink(ae, t->link);
			mode = mode ? mode : 0777;
			size = 0;
			break;
		case TU_FIFO:
			archive_entry_set_filetype(ae, AE_IFIFO);
			mode = mode ? mode : 0644;
			size = 0;
			break;
		case TU_CHR:
			archive_entry_set_filetype(ae, AE_IFCHR);
			archive_entry_set_rdevmajor(ae, t->rmajor);
			archive_entry_set_rdevminor(ae, t->rminor);
			mode = mode ? mode : 0666;
			size = 0;
			break;
		}
		archive_entry_set_perm(ae, mode);
		if (t->type == TU_HARDLINK) {
			archive_entry_set_hardlink(ae, t->link);
			size = 0;
		}
		archive_entry_set_size(ae, (la_int64_t)size);
		for (int x = 0; x < 4 && t->xattrs[x].name; x++) {
			const struct tu_xattr *xa = &t->xattrs[x];
			const void *v = xa->value ? xa->value : xa->name;
			size_t l = xa->len ? xa->len : strlen(v);

			archive_entry_xattr_add_entry(ae, xa->name, v, l);
		}
		check(a, archive_write_header(a, ae), t->path);
		if (size && archive_write_data(a, data, size) != (la_ssize_t)size)
			check(a, ARCHIVE_FATAL, t->path);
		archive_entry_free(ae);
	}
	check(a, archive_write_close(a), "close");
	archive_write_free(a);
	out->data = m.p;
	out->len = m.len;
}

void tu_blob_free(struct tu_blob *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
}

/* ---- images ---- */

void tu_sha256_hex(char out[65], const void *data, size_t len)
{
	struct imgfs_digest d;
	char text[IMGFS_DIGEST_TEXT_MAX];

	imgfs_digest_begin(&d, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	imgfs_digest_update(&d, data, len);
	imgfs_digest_end(&d, text, sizeof(text));
	memcpy(out, text + 7, 65);
}

void tu_hex64(char out[65], uint64_t seed, const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t h = 0xcbf29ce484222325ULL ^ seed;
	size_t i;
	int k;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	for (k = 0; k < 4; k++) {
		h ^= (uint64_t)k + 1;
		h *= 0x100000001b3ULL;
		snprintf(out + 16 * k, 17, "%016llx", (unsigned long long)h);
	}
}

unsigned char *tu_random(size_t len, uint64_t seed)
{
	unsigned char *p = malloc(len ? len : 1);
	uint64_t x = seed ? seed : 88172645463325252ULL;
	size_t i;

	if (!p)
		abort();
	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (unsigned char)(x >> 24);
	}
	return p;
}

/* An outer archive being written to a file. */
static struct archive *outer_open(const char *path)
{
	struct archive *a = archive_write_new();

	if (!a)
		abort();
	check(a, archive_write_set_format_pax_restricted(a), "format");
	check(a, archive_write_add_filter_none(a), "none");
	check(a, archive_write_open_filename(a, path), path);
	return a;
}

static void outer_add(struct archive *a, const char *name, const void *data, size_t len)
{
	struct archive_entry *ae = archive_entry_new();

	archive_entry_set_pathname(ae, name);
	archive_entry_set_filetype(ae, AE_IFREG);
	archive_entry_set_perm(ae, 0644);
	archive_entry_set_size(ae, (la_int64_t)len);
	archive_entry_set_mtime(ae, 1700000000, 0);
	check(a, archive_write_header(a, ae), name);
	if (len && archive_write_data(a, data, len) != (la_ssize_t)len)
		check(a, ARCHIVE_FATAL, name);
	archive_entry_free(ae);
}

static void outer_close(struct archive *a)
{
	check(a, archive_write_close(a), "close");
	archive_write_free(a);
}

/* Appends printf-style text to the malloc'd string *S. */
__attribute__((format(printf, 2, 3)))
static void cat(char **s, const char *fmt, ...)
{
	va_list ap;
	char *add, *n;

	va_start(ap, fmt);
	if (vasprintf(&add, fmt, ap) < 0)
		abort();
	va_end(ap);
	if (asprintf(&n, "%s%s", *s ? *s : "", add) < 0)
		abort();
	free(*s);
	free(add);
	*s = n;
}

char *tu_config_json(const struct tu_layer *l, size_t n)
{
	char *s = NULL, hex[65];
	size_t i;

	cat(&s, "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":" TU_CONFIG_RUN
		",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[");
	for (i = 0; i < n; i++) {
		tu_hex64(hex, 1000 + i, l[i].tar.data, l[i].tar.len);
		cat(&s, "%s\"sha256:%s\"", i ? "," : "", hex);
	}
	cat(&s, "]},\"history\":[");
	for (i = 0; i < n; i++) {
		cat(&s, "%s{\"created\":\"2024-01-01T00:00:00Z\"", i ? "," : "");
		if (l[i].created_by)
			cat(&s, ",\"created_by\":\"%s\"", l[i].created_by);
		cat(&s, "}");
		if (i == 0)
			cat(&s, ",{\"created_by\":\"ENV EMPTY=1\",\"empty_layer\":true}");
	}
	cat(&s, "]}");
	return s;
}

void tu_docker_archive(const char *path, const struct tu_layer *l, size_t n)
{
	struct archive *a = outer_open(path);
	char *config = tu_config_json(l, n), *manifest = NULL, cname[80], hex[65];
	size_t i;

	tu_hex64(hex, 7, config, strlen(config));
	snprintf(cname, sizeof(cname), "%s.json", hex);
	outer_add(a, cname, config, strlen(config));
	cat(&manifest, "[{\"Config\":\"%s\",\"RepoTags\":[\"test/image:latest\"],\"Layers\":[",
	    cname);
	for (i = 0; i < n; i++) {
		char name[64];

		snprintf(name, sizeof(name), "layer%zu/layer.tar", i);
		outer_add(a, name, l[i].tar.data, l[i].tar.len);
		cat(&manifest, "%s\"%s\"", i ? "," : "", name);
	}
	cat(&manifest, "]}]");
	outer_add(a, "manifest.json", manifest, strlen(manifest));
	outer_close(a);
	free(config);
	free(manifest);
}

void tu_oci_archive(const char *path, const struct tu_layer *l, size_t n, int gzipped)
{
	static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
	struct archive *a = outer_open(path);
	char *config = tu_config_json(l, n), *manifest = NULL, *index = NULL, hex[65], name[96];
	size_t i;

	outer_add(a, "oci-layout", layout, strlen(layout));
	tu_hex64(hex, 7, config, strlen(config));
	snprintf(name, sizeof(name), "blobs/sha256/%s", hex);
	outer_add(a, name, config, strlen(config));
	cat(&manifest, "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
		"\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
		"\"digest\":\"sha256:%s\",\"size\":%zu},\"layers\":[", hex, strlen(config));
	for (i = 0; i < n; i++) {
		tu_sha256_hex(hex, l[i].tar.data, l[i].tar.len);
		snprintf(name, sizeof(name), "blobs/sha256/%s", hex);
		outer_add(a, name, l[i].tar.data, l[i].tar.len);
		cat(&manifest, "%s{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar%s\","
			"\"digest\":\"sha256:%s\",\"size\":%zu}", i ? "," : "",
		    gzipped ? "+gzip" : "", hex, l[i].tar.len);
	}
	cat(&manifest, "]}");
	tu_hex64(hex, 9, manifest, strlen(manifest));
	snprintf(name, sizeof(name), "blobs/sha256/%s", hex);
	outer_add(a, name, manifest, strlen(manifest));
	cat(&index, "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":"
		"\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:%s\","
		"\"size\":%zu,\"annotations\":{\"org.opencontainers.image.ref.name\":\"latest\"}}]}",
	    hex, strlen(manifest));
	outer_add(a, "index.json", index, strlen(index));
	outer_close(a);
	free(config);
	free(manifest);
	free(index);
}

/* ---- the read side ---- */

int tu_prepare(const char *image, const char *index, struct imgfs_build_info *info,
	       struct imgfs_err *err)
{
	struct imgfs_opts o = { .image = image, .index_path = index, .quiet = 1 };

	memset(err, 0, sizeof(*err));
	return imgfs_index_prepare(&o, info, err);
}

int tu_open(const char *image, const char *dir, struct imgfs_fs **fs, struct imgfs_err *err)
{
	struct imgfs_build_info info;
	char *index;
	int rc;

	if (asprintf(&index, "%s/index.db", dir) < 0)
		abort();
	rc = tu_prepare(image, index, &info, err);
	if (rc == 0)
		rc = imgfs_fs_open(fs, index, err);
	free(index);
	return rc;
}

int tu_walk(struct imgfs_fs *fs, const char *path, struct imgfs_attr *a)
{
	char *copy = strdup(path), *save = NULL, *c;
	uint64_t ino = IMGFS_ROOT_INO;
	int rc;

	if (!copy)
		abort();
	rc = imgfs_fs_getattr(fs, ino, a);
	for (c = strtok_r(copy, "/", &save); c && rc == 0; c = strtok_r(NULL, "/", &save)) {
		rc = imgfs_fs_lookup(fs, ino, c, a);
		ino = a->ino;
	}
	free(copy);
	return rc;
}

char *tu_read_all(struct imgfs_fs *fs, uint64_t ino, size_t *len)
{
	struct imgfs_attr a;
	char *buf;
	ssize_t n;

	if (imgfs_fs_getattr(fs, ino, &a) != 0)
		return NULL;
	buf = malloc(a.size + 1);
	if (!buf)
		abort();
	n = imgfs_fs_read(fs, ino, buf, a.size, 0);
	if (n < 0 || (uint64_t)n != a.size) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	if (len)
		*len = (size_t)n;
	return buf;
}

char *tu_file(struct imgfs_fs *fs, const char *path)
{
	struct imgfs_attr a;

	if (tu_walk(fs, path, &a) != 0)
		return NULL;
	return tu_read_all(fs, a.ino, NULL);
}

char *tu_xattr(struct imgfs_fs *fs, uint64_t ino, const char *name)
{
	ssize_t n = imgfs_fs_getxattr(fs, ino, name, NULL, 0);
	char *buf;

	if (n < 0)
		return NULL;
	buf = malloc((size_t)n + 1);
	if (!buf)
		abort();
	if (imgfs_fs_getxattr(fs, ino, name, buf, (size_t)n) != n) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

/* Collects names into a ';'-joined string. */
struct names {
	char *s;
	int stop_after;  /* accept this many, then refuse (0: all) */
	int taken;
	uint64_t next;
};

static int add_name(void *ctx, const char *name, const struct imgfs_attr *a, uint64_t next)
{
	struct names *n = ctx;

	(void)a;
	if (n->stop_after && n->taken == n->stop_after)
		return 1;
	cat(&n->s, "%s;", name);
	n->taken++;
	n->next = next;
	return 0;
}

char *tu_list(struct imgfs_fs *fs, uint64_t ino)
{
	struct names n = { 0 };

	if (imgfs_fs_readdir(fs, ino, 0, add_name, &n) != 0) {
		free(n.s);
		return NULL;
	}
	return n.s ? n.s : strdup("");
}

char *tu_list_by_one(struct imgfs_fs *fs, uint64_t ino, int *calls)
{
	char *all = NULL;
	uint64_t off = 0;

	*calls = 0;
	for (;;) {
		struct names n = { .stop_after = 1 };

		if (imgfs_fs_readdir(fs, ino, off, add_name, &n) != 0 || ++*calls > 100000) {
			free(n.s);
			free(all);
			return NULL;
		}
		if (!n.taken)
			break;
		cat(&all, "%s", n.s);
		free(n.s);
		off = n.next;
	}
	return all ? all : strdup("");
}
