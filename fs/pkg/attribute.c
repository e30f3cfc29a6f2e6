/* This file contains package attribution: after the index is committed, it
 * reads the package databases found in the merged tree (dpkg, pip's
 * dist-info and egg-info, npm's node_modules, apk), resolves every path
 * they list inside the image, symlinked directories followed, and records
 * which packages claim each inode (pkgfile), each package's totals (pkg)
 * and the package owning most bytes under each directory (pkgdir). */
#include "pkg/attribute_i.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "read/fs_i.h"
#include "util/err_i.h"
#include "store/schema_i.h"
#include "imgfs/imgfs.h"

/* Sanity limits: low enough that a crafted image cannot make us allocate
 * extreme amounts of memory, high enough for any real system. */
/* Bytes of one database file read whole: the dpkg status of a full desktop
 * install is about 10 MiB, an npm package.json a few KiB. */
#define DB_FILE_MAX (64u << 20)
/* Packages over all managers: a whole Debian release installed is ~60k. */
#define PKG_MAX 200000
/* Lines of one database file: each becomes a path held in memory. */
#define LINES_MAX 2000000
/* Claims (package, inode) over all packages: 24 bytes each. */
#define CLAIMS_MAX 16000000
/* Entries walked under node_modules over all npm packages. */
#define NPM_WALK_MAX 16000000
/* Symlinks followed while resolving one path: Linux's MAXSYMLINKS. */
#define LINKS_MAX 40
/* A path being resolved, symlink targets spliced in: twice PATH_MAX. */
#define RPATH_MAX 8192

/* Specificity of a claim: a language package manager's claim is more
 * precise than the distribution's (pip installed over a dpkg file). */
enum { CLS_LANG = 0, CLS_SYSTEM = 1 };

struct pkg {
	const char *manager;     /* static string */
	char *name, *version, *arch;
	int64_t missing;
};

struct claim {
	uint64_t ino;
	uint32_t pkg;            /* index into ctx.pkgs */
	uint32_t cls;
	uint64_t seq;            /* order found */
};

struct strvec {
	char **v;
	size_t n, cap;
};

struct entry {
	char *name;
	uint64_t ino;
	uint32_t mode;
};

struct dirlist {
	struct entry *v;
	size_t n, cap;
	int nomem;
};

struct ctx {
	struct imgfs_fs *fs;
	sqlite3 *db;
	sqlite3_stmt *json;      /* name and version of a package.json */
	struct pkg *pkgs;
	size_t n_pkgs, cap_pkgs;
	struct claim *claims;
	size_t n_claims, cap_claims;
	uint64_t npm_walked;
	/* The last directory resolved, as (base, text): lists name many
	 * files of one directory in a row. */
	uint64_t last_base, last_ino;
	char *last_dir;
	int last_rc;
	int nomem, full;
	char rbuf[2][RPATH_MAX];  /* resolve()'s path, symlink targets spliced in */
};

static void warn(const char *what, const char *why)
{
	fprintf(stderr, "imgfs: packages: %s: %s; skipped\n", what, why);
}

static int vec_add(struct strvec *v, const char *s, size_t len)
{
	char *d;

	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 64;
		char **nv = realloc(v->v, cap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		v->v = nv;
		v->cap = cap;
	}
	d = malloc(len + 1);
	if (!d)
		return -ENOMEM;
	memcpy(d, s, len);
	d[len] = '\0';
	v->v[v->n++] = d;
	return 0;
}

static void vec_free(struct strvec *v)
{
	size_t i;

	for (i = 0; i < v->n; i++)
		free(v->v[i]);
	free(v->v);
	memset(v, 0, sizeof(*v));
}

/* ---- reading the image ---- */

static int list_fn(void *ctx, const char *name, const struct imgfs_attr *a, uint64_t next)
{
	struct dirlist *dl = ctx;

	(void)next;
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return 0;
	if (dl->n == dl->cap) {
		size_t cap = dl->cap ? dl->cap * 2 : 32;
		struct entry *nv = realloc(dl->v, cap * sizeof(*nv));

		if (!nv) {
			dl->nomem = 1;
			return 1;
		}
		dl->v = nv;
		dl->cap = cap;
	}
	dl->v[dl->n].name = strdup(name);
	if (!dl->v[dl->n].name) {
		dl->nomem = 1;
		return 1;
	}
	dl->v[dl->n].ino = a->ino;
	dl->v[dl->n].mode = a->mode;
	dl->n++;
	return 0;
}

static void dirlist_free(struct dirlist *dl)
{
	size_t i;

	for (i = 0; i < dl->n; i++)
		free(dl->v[i].name);
	free(dl->v);
	memset(dl, 0, sizeof(*dl));
}

/* The entries of directory INO, collected first: a read-side call made
 * from inside a readdir callback would reset the listing's statement. */
static int list_dir(struct ctx *c, uint64_t ino, struct dirlist *dl)
{
	int rc;

	memset(dl, 0, sizeof(*dl));
	rc = imgfs_fs_readdir(c->fs, ino, 0, list_fn, dl);
	if (dl->nomem) {
		c->nomem = 1;
		rc = -ENOMEM;
	}
	if (rc)
		dirlist_free(dl);
	return rc;
}

static int dotdot_fn(void *ctx, const char *name, const struct imgfs_attr *a, uint64_t next)
{
	(void)next;
	if (strcmp(name, ".."))
		return 0;
	*(uint64_t *)ctx = a->ino;
	return 1;
}

/* The parent of directory INO; ".." of the root is the root, so no path
 * climbs out of the image. */
static uint64_t parent_of(struct ctx *c, uint64_t ino)
{
	uint64_t p = IMGFS_ROOT_INO;

	if (ino == IMGFS_ROOT_INO || imgfs_fs_readdir(c->fs, ino, 0, dotdot_fn, &p) != 0)
		return IMGFS_ROOT_INO;
	return p;
}

/* Resolves PATH inside the image, from directory BASE when relative, the
 * way the kernel would with the image as root: symlinks followed in every
 * component but the last (and the last too when FOLLOW_LAST), ".." taken
 * physically.  Returns 0 and *OUT, or -ENOENT, -ENOTDIR, -ELOOP,
 * -ENAMETOOLONG. */
static int resolve(struct ctx *c, uint64_t base, const char *path, int follow_last,
		   struct imgfs_attr *out)
{
	char (*buf)[RPATH_MAX] = c->rbuf;
	char comp[256], target[RPATH_MAX];
	uint64_t dir = path[0] == '/' ? IMGFS_ROOT_INO : base;
	struct imgfs_attr a;
	int cur = 0, links = 0, rc;
	const char *p;

	if (strlen(path) >= RPATH_MAX)
		return -ENAMETOOLONG;
	strcpy(buf[0], path);
	p = buf[0];
	for (;;) {
		size_t len;
		int last;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		len = strcspn(p, "/");
		if (len >= sizeof(comp))
			return -ENAMETOOLONG;
		memcpy(comp, p, len);
		comp[len] = '\0';
		p += len;
		last = p[strspn(p, "/")] == '\0';
		if (!strcmp(comp, "."))
			continue;
		if (!strcmp(comp, "..")) {
			dir = parent_of(c, dir);
			continue;
		}
		rc = imgfs_fs_lookup(c->fs, dir, comp, &a);
		if (rc)
			return rc;
		if (S_ISLNK(a.mode) && (!last || follow_last)) {
			ssize_t n;

			if (++links > LINKS_MAX)
				return -ELOOP;
			n = imgfs_fs_readlink(c->fs, a.ino, target, sizeof(target) - 1);
			if (n <= 0)
				return -ENOENT;
			target[n] = '\0';
			if ((size_t)snprintf(buf[!cur], RPATH_MAX, "%s/%s", target, p) >= RPATH_MAX)
				return -ENAMETOOLONG;
			cur = !cur;
			p = buf[cur];
			if (target[0] == '/')
				dir = IMGFS_ROOT_INO;
			continue;
		}
		if (last) {
			*out = a;
			return 0;
		}
		if (!S_ISDIR(a.mode))
			return -ENOTDIR;
		dir = a.ino;
	}
	return imgfs_fs_getattr(c->fs, dir, out);
}

/* resolve() of PATH's last component not followed, its directory part
 * resolved once for a run of paths in the same directory. */
static int resolve_file(struct ctx *c, uint64_t base, const char *path, struct imgfs_attr *out)
{
	const char *slash, *name;
	size_t dlen, end = strlen(path);
	char *dir;
	int rc;

	while (end > 1 && path[end - 1] == '/')
		end--;
	for (slash = path + end; slash > path && slash[-1] != '/'; slash--)
		;
	name = slash;
	if (name == path + end || (path + end - name == 1 && name[0] == '.') ||
	    (path + end - name == 2 && name[0] == '.' && name[1] == '.'))
		return resolve(c, base, path, 0, out);
	dlen = (size_t)(name - path);
	if (!c->last_dir || c->last_base != base || strlen(c->last_dir) != dlen ||
	    memcmp(c->last_dir, path, dlen)) {
		struct imgfs_attr d;

		free(c->last_dir);
		c->last_dir = strndup(path, dlen);
		if (!c->last_dir) {
			c->nomem = 1;
			return -ENOMEM;
		}
		c->last_base = base;
		c->last_rc = dlen ? resolve(c, base, c->last_dir, 1, &d) : imgfs_fs_getattr(c->fs, base, &d);
		if (c->last_rc == 0 && !S_ISDIR(d.mode))
			c->last_rc = -ENOTDIR;
		c->last_ino = d.ino;
	}
	if (c->last_rc)
		return c->last_rc;
	dir = strndup(name, (size_t)(path + end - name));
	if (!dir) {
		c->nomem = 1;
		return -ENOMEM;
	}
	rc = imgfs_fs_lookup(c->fs, c->last_ino, dir, out);
	free(dir);
	return rc;
}

/* The whole content of regular file INO, NUL-terminated, malloc'd; NULL
 * (with a warning naming WHAT) when it is too large or unreadable. */
static char *read_whole(struct ctx *c, uint64_t ino, const char *what, size_t *len)
{
	struct imgfs_attr a;
	size_t done = 0;
	char *buf;

	if (imgfs_fs_getattr(c->fs, ino, &a) != 0 || !S_ISREG(a.mode)) {
		warn(what, "not a regular file");
		return NULL;
	}
	if (a.size > DB_FILE_MAX) {
		warn(what, "larger than 64 MiB");
		return NULL;
	}
	buf = malloc((size_t)a.size + 1);
	if (!buf) {
		c->nomem = 1;
		return NULL;
	}
	while (done < a.size) {
		ssize_t n = imgfs_fs_read(c->fs, ino, buf + done, (size_t)a.size - done, done);

		if (n <= 0) {
			warn(what, n < 0 ? strerror((int)-n) : "short read");
			free(buf);
			return NULL;
		}
		done += (size_t)n;
	}
	buf[done] = '\0';
	if (memchr(buf, '\0', done)) {
		warn(what, "holds NUL bytes");
		free(buf);
		return NULL;
	}
	*len = done;
	return buf;
}

/* Splits BUF into lines in place: *LINES points at each (no '\n', a final
 * '\r' cut).  Returns the count, or -1 (with a warning) over LINES_MAX. */
static long split_lines(struct ctx *c, char *buf, size_t len, const char *what, char ***lines)
{
	size_t n = 0, i, cap = 1;
	char *p, *nl, *e = buf + len;

	for (p = buf; p < e; p++)
		cap += *p == '\n';
	if (cap > LINES_MAX) {
		warn(what, "more than 2000000 lines");
		return -1;
	}
	*lines = malloc(cap * sizeof(**lines));
	if (!*lines) {
		c->nomem = 1;
		return -1;
	}
	for (p = buf; p < e; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(e - p));
		if (!nl)
			nl = e;
		*nl = '\0';
		i = (size_t)(nl - p);
		if (i && p[i - 1] == '\r')
			p[i - 1] = '\0';
		(*lines)[n++] = p;
	}
	return (long)n;
}

/* ---- packages and claims ---- */

/* Adds a package; returns its index, or -1 when over PKG_MAX or out of
 * memory (then c->nomem). */
static long pkg_new(struct ctx *c, const char *manager, const char *name, const char *version,
		    const char *arch)
{
	struct pkg *p;

	if (c->n_pkgs >= PKG_MAX) {
		if (!c->full)
			warn("the image", "more than 200000 packages: the rest");
		c->full = 1;
		return -1;
	}
	if (c->n_pkgs == c->cap_pkgs) {
		size_t cap = c->cap_pkgs ? c->cap_pkgs * 2 : 64;
		struct pkg *np = realloc(c->pkgs, cap * sizeof(*np));

		if (!np) {
			c->nomem = 1;
			return -1;
		}
		c->pkgs = np;
		c->cap_pkgs = cap;
	}
	p = &c->pkgs[c->n_pkgs];
	memset(p, 0, sizeof(*p));
	p->manager = manager;
	p->name = strdup(name);
	p->version = version ? strdup(version) : NULL;
	p->arch = arch && arch[0] ? strdup(arch) : NULL;
	if (!p->name || (version && !p->version) || (arch && arch[0] && !p->arch)) {
		free(p->name);
		free(p->version);
		free(p->arch);
		c->nomem = 1;
		return -1;
	}
	return (long)c->n_pkgs++;
}

static int cls_of(const struct ctx *c, size_t pkg)
{
	const char *m = c->pkgs[pkg].manager;

	return !strcmp(m, "pip") || !strcmp(m, "npm") ? CLS_LANG : CLS_SYSTEM;
}

/* Records that package PKG lists the entry A; directories are no claim. */
static void claim(struct ctx *c, size_t pkg, const struct imgfs_attr *a)
{
	struct claim *cl;

	if (S_ISDIR(a->mode) || c->nomem)
		return;
	if (c->n_claims >= CLAIMS_MAX) {
		if (!c->full)
			warn("the image", "more than 16000000 package files: the rest");
		c->full = 1;
		return;
	}
	if (c->n_claims == c->cap_claims) {
		size_t cap = c->cap_claims ? c->cap_claims * 2 : 4096;
		struct claim *nc = realloc(c->claims, cap * sizeof(*nc));

		if (!nc) {
			c->nomem = 1;
			return;
		}
		c->claims = nc;
		c->cap_claims = cap;
	}
	cl = &c->claims[c->n_claims];
	cl->ino = a->ino;
	cl->pkg = (uint32_t)pkg;
	cl->cls = (uint32_t)cls_of(c, pkg);
	cl->seq = c->n_claims++;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* 1 when some path of SORTED (N, sorted) lies beneath directory PATH. */
static int has_beneath(char *const *sorted, size_t n, const char *path)
{
	size_t lo = 0, hi = n, l = strlen(path);

	while (l > 1 && path[l - 1] == '/')
		l--;
	/* the first path >= "PATH/": beneath PATH if any is */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int r = strncmp(sorted[mid], path, l);

		if (r == 0)
			r = (unsigned char)sorted[mid][l] < '/' ? -1 : sorted[mid][l] == '/' ? 0 : 1;
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && !strncmp(sorted[lo], path, l) && sorted[lo][l] == '/' &&
	       sorted[lo][l + 1 + strspn(sorted[lo] + l + 1, "/")] != '\0';
}

/* Resolves each path of PATHS (relative ones from BASE) and claims what it
 * names for PKG.  Databases list the package's directories too; a path
 * with another path of the listing beneath it is such a directory, whatever
 * the image has there: a symlink (merged /usr: /bin -> usr/bin) is then no
 * claim, and a directory gone with its files is not one missing file more. */
static void attribute(struct ctx *c, size_t pkg, uint64_t base, struct strvec *paths)
{
	char **sorted;
	size_t i;

	if (!paths->n)
		return;
	sorted = malloc(paths->n * sizeof(*sorted));
	if (!sorted) {
		c->nomem = 1;
		return;
	}
	memcpy(sorted, paths->v, paths->n * sizeof(*sorted));
	qsort(sorted, paths->n, sizeof(*sorted), cmp_str);
	for (i = 0; i < paths->n && !c->nomem; i++) {
		struct imgfs_attr a;
		int rc = resolve_file(c, base, paths->v[i], &a);

		if (rc == 0 && !S_ISDIR(a.mode) &&
		    (!S_ISLNK(a.mode) || !has_beneath(sorted, paths->n, paths->v[i])))
			claim(c, pkg, &a);
		else if (rc != 0 && rc != -ENOMEM && !has_beneath(sorted, paths->n, paths->v[i]))
			c->pkgs[pkg].missing++;
	}
	free(sorted);
}

/* ---- dpkg ---- */

/* The value of field KEY in LINE ("Key: value"), or NULL. */
static const char *field(const char *line, const char *key)
{
	size_t l = strlen(key);

	if (strncmp(line, key, l) || line[l] != ':')
		return NULL;
	line += l + 1;
	while (*line == ' ' || *line == '\t')
		line++;
	return line;
}

/* The file list of dpkg package NAME (ARCH) in directory INFO, or NULL. */
static char *dpkg_list(struct ctx *c, uint64_t info, const char *name, const char *arch,
		       size_t *len)
{
	char fn[600], what[700];
	struct imgfs_attr a;

	if (!info || strlen(name) > 256 || (arch && strlen(arch) > 64))
		return NULL;
	snprintf(fn, sizeof(fn), "%s:%s.list", name, arch ? arch : "");
	if (!arch || imgfs_fs_lookup(c->fs, info, fn, &a) != 0) {
		snprintf(fn, sizeof(fn), "%s.list", name);
		if (imgfs_fs_lookup(c->fs, info, fn, &a) != 0)
			return NULL;
	}
	snprintf(what, sizeof(what), "/var/lib/dpkg/info/%s", fn);
	return read_whole(c, a.ino, what, len);
}

static void dpkg_package(struct ctx *c, uint64_t info, const char *name, const char *version,
			 const char *arch)
{
	struct strvec paths = { 0 };
	char **lines = NULL, *list;
	size_t len = 0;
	long n, i, pkg = pkg_new(c, "dpkg", name, version, arch);

	if (pkg < 0)
		return;
	list = dpkg_list(c, info, name, arch, &len);
	if (!list)
		return;
	n = split_lines(c, list, len, "a dpkg .list file", &lines);
	for (i = 0; i < n && !c->nomem; i++) {
		if (!lines[i][0] || !strcmp(lines[i], "/.") || lines[i][0] != '/')
			continue;
		if (vec_add(&paths, lines[i], strlen(lines[i])))
			c->nomem = 1;
	}
	if (!c->nomem)
		attribute(c, (size_t)pkg, IMGFS_ROOT_INO, &paths);
	vec_free(&paths);
	free(lines);
	free(list);
}

static void scan_dpkg(struct ctx *c)
{
	static const char status_path[] = "/var/lib/dpkg/status";
	struct imgfs_attr st, info;
	const char *name = NULL, *version = NULL, *arch = NULL, *status = NULL;
	char **lines = NULL, *buf;
	size_t len = 0;
	long n, i;

	if (resolve(c, IMGFS_ROOT_INO, status_path, 1, &st) != 0 || !S_ISREG(st.mode))
		return;
	if (resolve(c, IMGFS_ROOT_INO, "/var/lib/dpkg/info", 1, &info) != 0 || !S_ISDIR(info.mode))
		info.ino = 0;
	buf = read_whole(c, st.ino, status_path, &len);
	if (!buf)
		return;
	n = split_lines(c, buf, len, status_path, &lines);
	/* one more round past the end closes the last stanza */
	for (i = 0; i <= n && !c->nomem; i++) {
		const char *l = i < n ? lines[i] : "", *v;

		if (l[0] == '\0') {
			const char *s = status ? strchr(status, ' ') : NULL;

			/* want (install, hold) is the admin's wish; "ok
			 * installed" is what is on disk */
			if (name && s && !strcmp(s, " ok installed"))
				dpkg_package(c, info.ino, name, version, arch);
			name = version = arch = status = NULL;
		} else if ((v = field(l, "Package"))) {
			name = v;
		} else if ((v = field(l, "Version"))) {
			version = v;
		} else if ((v = field(l, "Architecture"))) {
			arch = v;
		} else if ((v = field(l, "Status"))) {
			status = v;
		}
	}
	free(lines);
	free(buf);
}

/* ---- apk ---- */

static void apk_package(struct ctx *c, const char *name, const char *version, const char *arch,
			struct strvec *paths)
{
	long pkg = pkg_new(c, "apk", name, version, arch);

	if (pkg >= 0)
		attribute(c, (size_t)pkg, IMGFS_ROOT_INO, paths);
}

static void scan_apk(struct ctx *c)
{
	static const char db_path[] = "/lib/apk/db/installed";
	struct strvec paths = { 0 };
	const char *name = NULL, *version = NULL, *arch = NULL, *dir = "";
	struct imgfs_attr st;
	char **lines = NULL, *buf, path[RPATH_MAX];
	size_t len = 0;
	long n, i;

	if (resolve(c, IMGFS_ROOT_INO, db_path, 1, &st) != 0 || !S_ISREG(st.mode))
		return;
	buf = read_whole(c, st.ino, db_path, &len);
	if (!buf)
		return;
	n = split_lines(c, buf, len, db_path, &lines);
	for (i = 0; i <= n && !c->nomem; i++) {
		const char *l = i < n ? lines[i] : "";
		int pl;

		if (l[0] == '\0') {
			if (name)
				apk_package(c, name, version, arch, &paths);
			vec_free(&paths);
			name = version = arch = NULL;
			dir = "";
			continue;
		}
		if (l[1] != ':')
			continue;
		switch (l[0]) {
		case 'P': name = l + 2; break;
		case 'V': version = l + 2; break;
		case 'A': arch = l + 2; break;
		case 'F': dir = l + 2; break;
		case 'R':
			pl = snprintf(path, sizeof(path), "/%s%s%s", dir, dir[0] ? "/" : "", l + 2);
			if (pl > 0 && (size_t)pl < sizeof(path) && vec_add(&paths, path, (size_t)pl))
				c->nomem = 1;
			break;
		default: break;
		}
	}
	vec_free(&paths);
	free(lines);
	free(buf);
}

/* ---- pip ---- */

/* The inodes of the merged tree's directories named NAME1 or NAME2, in
 * tree order.  Found with one scan of the dentry table: the read API has
 * no search by name, and walking the whole tree through it would cost a
 * readdir per directory of the image.  Returns the count or -1. */
static long dirs_named(struct ctx *c, const char *name1, const char *name2, uint64_t **out)
{
	sqlite3_stmt *q = NULL;
	size_t n = 0, cap = 0;
	uint64_t *v = NULL;

	*out = NULL;
	if (sqlite3_prepare_v2(c->db, "SELECT d.ino FROM dentry d JOIN inode i ON i.ino = d.ino "
			       "WHERE d.view = " IMGFS_SQL(IMGFS_VIEW_MERGED) " AND CAST(d.name AS TEXT) IN (?1, ?2) "
			       "AND " IMGFS_SQL_IS_DIR("i.mode") " ORDER BY d.id", -1, &q, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(q, 1, name1, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, name2, -1, SQLITE_STATIC);
	while (sqlite3_step(q) == SQLITE_ROW) {
		if (n == cap) {
			uint64_t *nv = realloc(v, (cap = cap ? cap * 2 : 16) * sizeof(*nv));

			if (!nv) {
				c->nomem = 1;
				break;
			}
			v = nv;
		}
		v[n++] = (uint64_t)sqlite3_column_int64(q, 0);
	}
	sqlite3_finalize(q);
	*out = v;
	return c->nomem ? -1 : (long)n;
}

/* Name and Version of a METADATA or PKG-INFO file (RFC 822 headers up to
 * the first blank line), into NAME and VERSION (empty when absent). */
static void pip_metadata(struct ctx *c, uint64_t dir, const char *file, char *name, char *version,
			 size_t len)
{
	struct imgfs_attr a;
	char **lines = NULL, *buf;
	size_t blen = 0;
	long n, i;

	name[0] = version[0] = '\0';
	if (imgfs_fs_lookup(c->fs, dir, file, &a) != 0 || !(buf = read_whole(c, a.ino, file, &blen)))
		return;
	n = split_lines(c, buf, blen, file, &lines);
	for (i = 0; i < n && lines[i][0]; i++) {
		const char *v;

		if ((v = field(lines[i], "Name")) && !name[0])
			snprintf(name, len, "%s", v);
		else if ((v = field(lines[i], "Version")) && !version[0])
			snprintf(version, len, "%s", v);
	}
	free(lines);
	free(buf);
}

/* The first CSV field of LINE (RFC 4180 quoting) into OUT; its length. */
static size_t csv_first(const char *line, char *out, size_t len)
{
	size_t o = 0;

	if (line[0] != '"') {
		o = strcspn(line, ",");
		if (o >= len)
			return 0;
		memcpy(out, line, o);
		out[o] = '\0';
		return o;
	}
	for (line++; *line && o + 1 < len; line++) {
		if (*line == '"') {
			if (line[1] != '"')
				break;
			line++;
		}
		out[o++] = *line;
	}
	out[o] = '\0';
	return o;
}

/* One dist-info (RECORD, relative to SITE) or egg-info (installed-files.txt,
 * relative to the egg-info directory itself) directory ENT of SITE. */
static void pip_dist(struct ctx *c, uint64_t site, const struct entry *ent, int egg)
{
	const char *list = egg ? "installed-files.txt" : "RECORD";
	char name[256], version[256], path[RPATH_MAX / 2], **lines = NULL, *buf;
	struct strvec paths = { 0 };
	struct imgfs_attr a;
	size_t len = 0;
	long n, i, pkg;

	if (imgfs_fs_lookup(c->fs, ent->ino, list, &a) != 0 || !S_ISREG(a.mode))
		return; /* installed by a distribution, which lists the files itself */
	pip_metadata(c, ent->ino, egg ? "PKG-INFO" : "METADATA", name, version, sizeof(name));
	if (!name[0]) {
		/* NAME-VERSION.dist-info, NAME-VERSION-pyX.Y.egg-info */
		size_t stem = strlen(ent->name) - strlen(egg ? ".egg-info" : ".dist-info");
		size_t l = strcspn(ent->name, "-"), v;

		if (l > stem)
			l = stem;
		snprintf(name, sizeof(name), "%.*s", (int)(l < 200 ? l : 200), ent->name);
		if (l < stem && !version[0]) {
			v = strcspn(ent->name + l + 1, "-");
			if (l + 1 + v > stem)
				v = stem - l - 1;
			snprintf(version, sizeof(version), "%.*s", (int)(v < 200 ? v : 200),
				 ent->name + l + 1);
		}
	}
	buf = read_whole(c, a.ino, list, &len);
	if (!buf)
		return;
	n = split_lines(c, buf, len, list, &lines);
	for (i = 0; i < n && !c->nomem; i++) {
		size_t l = egg ? strlen(lines[i]) : csv_first(lines[i], path, sizeof(path));

		if (egg && l < sizeof(path))
			memcpy(path, lines[i], l + 1);
		if (l == 0 || l >= sizeof(path))
			continue;
		if (vec_add(&paths, path, l))
			c->nomem = 1;
	}
	pkg = c->nomem ? -1 : pkg_new(c, "pip", name, version[0] ? version : NULL, NULL);
	if (pkg >= 0)
		attribute(c, (size_t)pkg, egg ? ent->ino : site, &paths);
	vec_free(&paths);
	free(lines);
	free(buf);
}

static int ends_with(const char *s, const char *suffix)
{
	size_t l = strlen(s), k = strlen(suffix);

	return l > k && !strcmp(s + l - k, suffix);
}

static void scan_pip(struct ctx *c)
{
	uint64_t *sites;
	long n = dirs_named(c, "site-packages", "dist-packages", &sites), i;
	size_t k;

	for (i = 0; i < n && !c->nomem; i++) {
		struct dirlist dl;

		if (list_dir(c, sites[i], &dl) != 0)
			continue;
		for (k = 0; k < dl.n && !c->nomem; k++) {
			if (!S_ISDIR(dl.v[k].mode))
				continue;
			if (ends_with(dl.v[k].name, ".dist-info"))
				pip_dist(c, sites[i], &dl.v[k], 0);
			else if (ends_with(dl.v[k].name, ".egg-info"))
				pip_dist(c, sites[i], &dl.v[k], 1);
		}
		dirlist_free(&dl);
	}
	free(sites);
}

/* ---- npm ---- */

/* Claims for PKG every non-directory beneath DIR, but not what lies in a
 * nested node_modules: those are packages of their own. */
static void npm_walk(struct ctx *c, size_t pkg, uint64_t dir)
{
	uint64_t *stack = NULL;
	size_t n = 0, cap = 0, k;

	for (;;) {
		struct dirlist dl;

		if (list_dir(c, dir, &dl) == 0) {
			for (k = 0; k < dl.n && !c->nomem; k++) {
				struct imgfs_attr a = { .ino = dl.v[k].ino, .mode = dl.v[k].mode };

				if (++c->npm_walked > NPM_WALK_MAX) {
					if (!c->full)
						warn("node_modules", "more than 16000000 entries: the rest");
					c->full = 1;
					break;
				}
				if (!S_ISDIR(a.mode)) {
					claim(c, pkg, &a);
					continue;
				}
				if (!strcmp(dl.v[k].name, "node_modules"))
					continue;
				if (n == cap) {
					uint64_t *ns = realloc(stack, (cap = cap ? cap * 2 : 64) * sizeof(*ns));

					if (!ns) {
						c->nomem = 1;
						break;
					}
					stack = ns;
				}
				stack[n++] = a.ino;
			}
			dirlist_free(&dl);
		}
		if (!n || c->nomem || c->full)
			break;
		dir = stack[--n];
	}
	free(stack);
}

/* The package in directory ENT (DISPLAY: its name under node_modules). */
static void npm_package(struct ctx *c, const struct entry *ent, const char *display)
{
	struct imgfs_attr a;
	char *buf, what[600];
	size_t len = 0;
	long pkg = -1;

	if (imgfs_fs_lookup(c->fs, ent->ino, "package.json", &a) != 0 || !S_ISREG(a.mode))
		return;
	snprintf(what, sizeof(what), "node_modules/%.300s/package.json", display);
	buf = read_whole(c, a.ino, what, &len);
	if (!buf)
		return;
	sqlite3_bind_text(c->json, 1, buf, (int)len, SQLITE_STATIC);
	if (sqlite3_step(c->json) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(c->json, 0);
		const char *version = (const char *)sqlite3_column_text(c->json, 1);

		if (sqlite3_column_type(c->json, 0) != SQLITE_TEXT || !name[0])
			name = display;
		if (sqlite3_column_type(c->json, 1) != SQLITE_TEXT)
			version = NULL;
		pkg = pkg_new(c, "npm", name, version, NULL);
	} else {
		warn(what, "not valid JSON");
	}
	sqlite3_reset(c->json);
	sqlite3_clear_bindings(c->json);
	free(buf);
	if (pkg >= 0)
		npm_walk(c, (size_t)pkg, ent->ino);
}

static void scan_npm(struct ctx *c)
{
	uint64_t *mods;
	long n = dirs_named(c, "node_modules", "node_modules", &mods), i;
	size_t k, j;

	if (n > 0 && sqlite3_prepare_v2(c->db, "SELECT json_extract(?1, '$.name'), "
				       "json_extract(?1, '$.version') WHERE json_valid(?1)", -1,
				       &c->json, NULL) != SQLITE_OK)
		n = 0;
	for (i = 0; i < n && !c->nomem && !c->full; i++) {
		struct dirlist dl;

		if (list_dir(c, mods[i], &dl) != 0)
			continue;
		for (k = 0; k < dl.n && !c->nomem && !c->full; k++) {
			struct dirlist scoped;
			char display[600];

			if (!S_ISDIR(dl.v[k].mode) || dl.v[k].name[0] == '.')
				continue;
			if (dl.v[k].name[0] != '@') {
				npm_package(c, &dl.v[k], dl.v[k].name);
				continue;
			}
			if (list_dir(c, dl.v[k].ino, &scoped) != 0)
				continue;
			for (j = 0; j < scoped.n && !c->nomem; j++) {
				if (!S_ISDIR(scoped.v[j].mode) || scoped.v[j].name[0] == '.')
					continue;
				snprintf(display, sizeof(display), "%.290s/%.290s", dl.v[k].name,
					 scoped.v[j].name);
				npm_package(c, &scoped.v[j], display);
			}
			dirlist_free(&scoped);
		}
		dirlist_free(&dl);
	}
	sqlite3_finalize(c->json);
	c->json = NULL;
	free(mods);
}

/* ---- writing the tables ---- */

static int cmp_claim(const void *a, const void *b)
{
	const struct claim *x = a, *y = b;

	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	if (x->cls != y->cls)
		return x->cls < y->cls ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int db_fail(sqlite3 *db, struct imgfs_err *err)
{
	return imgfs_errf(err, -EIO, 0, "index: packages: %s", sqlite3_errmsg(db));
}

/* What follows the rows: each package's totals over its regular files,
 * then the directory owners bottom up, one depth level per statement as
 * merge.c sums directory sizes, each file counted under its rank-0 owner
 * (hardlinks under each of their names). */
static const char totals_sql[] =
	"UPDATE pkg SET files = c.n, bytes = c.b FROM (SELECT f.pkg AS p, count(*) AS n,"
	" sum(i.size) AS b FROM pkgfile f JOIN inode i ON i.ino = f.ino"
	" WHERE " IMGFS_SQL_IS_REG("i.mode") " GROUP BY f.pkg) AS c WHERE pkg.id = c.p;"
	"UPDATE pkg SET layers = c.l FROM (SELECT p, group_concat(layer, ',') AS l FROM"
	" (SELECT DISTINCT f.pkg AS p, i.layer AS layer FROM pkgfile f JOIN inode i ON i.ino = f.ino"
	" WHERE " IMGFS_SQL_IS_REG("i.mode") " ORDER BY 1, 2) GROUP BY p) AS c WHERE pkg.id = c.p;"
	"INSERT INTO lvl SELECT d.depth, d.parent, d.ino, f.pkg, i.size FROM dentry d"
	" JOIN inode i ON i.ino = d.ino LEFT JOIN pkgfile f ON f.ino = d.ino AND f.rank = 0"
	" WHERE d.view = " IMGFS_SQL(IMGFS_VIEW_MERGED) " AND (" IMGFS_SQL_IS_DIR("i.mode")
	" OR (" IMGFS_SQL_IS_REG("i.mode") " AND f.pkg IS NOT NULL));"
	"CREATE INDEX temp.lvl_depth ON lvl(depth);";

static const char level_sql[] =
	"INSERT INTO dirpkg SELECT parent, pkg, sum(b) FROM ("
	" SELECT parent, pkg, size AS b FROM lvl WHERE depth = ?1 AND pkg IS NOT NULL"
	" UNION ALL SELECT l.parent, x.pkg, x.bytes FROM lvl l JOIN dirpkg x ON x.dir = l.ino"
	" WHERE l.depth = ?1 AND l.pkg IS NULL) GROUP BY parent, pkg";

static const char owners_sql[] =
	"INSERT INTO pkgdir SELECT dir, pkg FROM (SELECT dir, pkg, row_number() OVER"
	" (PARTITION BY dir ORDER BY bytes DESC, pkg) AS rn FROM dirpkg) WHERE rn = 1;"
	"DROP TABLE temp.lvl; DROP TABLE temp.dirpkg;";

static int write_rows(struct ctx *c, struct imgfs_err *err)
{
	sqlite3_stmt *q = NULL, *level = NULL;
	size_t i;
	uint64_t ino = 0;
	int rank = 0, rc = 0;
	int64_t d;

	if (sqlite3_exec(c->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(c->db, "INSERT INTO pkg(id, manager, name, version, arch, missing)"
			       " VALUES(?1, ?2, ?3, ?4, ?5, ?6)", -1, &q, NULL) != SQLITE_OK)
		goto fail;
	for (i = 0; i < c->n_pkgs; i++) {
		const struct pkg *p = &c->pkgs[i];

		sqlite3_bind_int64(q, 1, (sqlite3_int64)i + 1);
		sqlite3_bind_text(q, 2, p->manager, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 3, p->name, -1, SQLITE_STATIC);
		if (p->version)
			sqlite3_bind_text(q, 4, p->version, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(q, 4);
		if (p->arch)
			sqlite3_bind_text(q, 5, p->arch, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(q, 5);
		sqlite3_bind_int64(q, 6, p->missing);
		if (sqlite3_step(q) != SQLITE_DONE)
			goto fail;
		sqlite3_reset(q);
	}
	sqlite3_finalize(q);
	q = NULL;
	qsort(c->claims, c->n_claims, sizeof(*c->claims), cmp_claim);
	if (sqlite3_prepare_v2(c->db, "INSERT OR IGNORE INTO pkgfile VALUES(?1, ?2, ?3)", -1, &q,
			       NULL) != SQLITE_OK)
		goto fail;
	for (i = 0; i < c->n_claims; i++) {
		const struct claim *cl = &c->claims[i];

		if (i == 0 || cl->ino != ino)
			rank = 0;
		ino = cl->ino;
		sqlite3_bind_int64(q, 1, (sqlite3_int64)cl->ino);
		sqlite3_bind_int64(q, 2, (sqlite3_int64)cl->pkg + 1);
		sqlite3_bind_int(q, 3, rank);
		if (sqlite3_step(q) != SQLITE_DONE)
			goto fail;
		sqlite3_reset(q);
		rank += sqlite3_changes(c->db) > 0; /* a package listing a file twice */
	}
	sqlite3_finalize(q);
	q = NULL;
	if (sqlite3_exec(c->db, imgfs_scratch_pkg, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(c->db, totals_sql, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(c->db, "SELECT coalesce(max(depth), 0) FROM lvl", -1, &q, NULL) != SQLITE_OK ||
	    sqlite3_step(q) != SQLITE_ROW)
		goto fail;
	d = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	q = NULL;
	if (sqlite3_prepare_v2(c->db, level_sql, -1, &level, NULL) != SQLITE_OK)
		goto fail;
	/* a directory's entries sit one level deeper: each level is complete
	 * before its parents sum it */
	for (; d >= 1; d--) {
		sqlite3_bind_int64(level, 1, d);
		if (sqlite3_step(level) != SQLITE_DONE)
			goto fail;
		sqlite3_reset(level);
	}
	sqlite3_finalize(level);
	level = NULL;
	if (sqlite3_exec(c->db, owners_sql, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	return 0;
fail:
	rc = db_fail(c->db, err);
	sqlite3_finalize(level);
	sqlite3_finalize(q);
	return rc;
}

int imgfs_packages_build(sqlite3 *db, const char *index_path, struct imgfs_err *err)
{
	struct ctx *c = calloc(1, sizeof(*c)); /* resolve()'s buffers: 16 KiB */
	size_t i;
	int rc;

	if (!c)
		return imgfs_errf(err, -ENOMEM, 0, "index: packages: out of memory");
	c->db = db;
	rc = imgfs_fs_open_unsealed(&c->fs, index_path, err);
	if (rc)
		goto out;
	scan_dpkg(c);
	if (!c->nomem)
		scan_apk(c);
	if (!c->nomem)
		scan_pip(c);
	if (!c->nomem)
		scan_npm(c);
	/* the reader is closed before the writer changes the file under it */
	imgfs_fs_close(c->fs);
	c->fs = NULL;
	if (c->nomem)
		rc = imgfs_errf(err, -ENOMEM, 0, "index: packages: out of memory");
	else if (c->n_pkgs)
		rc = write_rows(c, err);
out:
	for (i = 0; i < c->n_pkgs; i++) {
		free(c->pkgs[i].name);
		free(c->pkgs[i].version);
		free(c->pkgs[i].arch);
	}
	free(c->pkgs);
	free(c->claims);
	free(c->last_dir);
	free(c);
	return rc;
}
