/* This file contains the packages found and the files they claim: a path
 * a database lists, resolved in the image, becomes a claim on its inode. */
#include "pkg/claim_i.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "pkg/resolve_i.h"

/* Packages over all managers: a whole Debian release installed is ~60k. */
#define PKG_MAX 200000
/* Claims (package, inode) over all packages: 24 bytes each. */
#define CLAIMS_MAX 16000000

int pkg_new(struct pkg_ctx *c, const char *manager, const char *name, const char *version,
	    const char *arch, size_t *idx)
{
	struct pkg *p;

	if (c->n_pkgs >= PKG_MAX) {
		pkg_stop(c, "more than 200000 packages (PKG_MAX)");
		return -ENOSPC;
	}
	if (c->n_pkgs == c->cap_pkgs) {
		size_t cap = c->cap_pkgs ? c->cap_pkgs * 2 : 64;
		struct pkg *np = realloc(c->pkgs, cap * sizeof(*np));

		if (!np)
			return pkg_nomem(c);
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
		return pkg_nomem(c);
	}
	*idx = c->n_pkgs++;
	return 0;
}

static int cls_of(const struct pkg_ctx *c, size_t pkg)
{
	const char *m = c->pkgs[pkg].manager;

	return !strcmp(m, "pip") || !strcmp(m, "npm") ? CLS_LANG : CLS_SYSTEM;
}

int pkg_claim(struct pkg_ctx *c, size_t pkg, const struct imgfs_attr *a)
{
	struct claim *cl;

	if (S_ISDIR(a->mode) || c->stop)
		return 0;
	if (c->n_claims >= CLAIMS_MAX) {
		pkg_stop(c, "more than 16000000 package files (CLAIMS_MAX)");
		return 0;
	}
	if (c->n_claims == c->cap_claims) {
		size_t cap = c->cap_claims ? c->cap_claims * 2 : 4096;
		struct claim *nc = realloc(c->claims, cap * sizeof(*nc));

		if (!nc)
			return pkg_nomem(c);
		c->claims = nc;
		c->cap_claims = cap;
	}
	cl = &c->claims[c->n_claims];
	cl->ino = a->ino;
	cl->pkg = (uint32_t)pkg;
	cl->cls = (uint32_t)cls_of(c, pkg);
	cl->seq = c->n_claims++;
	return 0;
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

/* Databases list the package's directories too; a path with another path
 * of the listing beneath it is such a directory, whatever the image has
 * there: a symlink (merged /usr: /bin -> usr/bin) is then no claim, and a
 * directory gone with its files is not one missing file more. */
int pkg_attribute(struct pkg_ctx *c, size_t pkg, uint64_t base, struct strvec *paths)
{
	char **sorted;
	size_t i;
	int rc = 0;

	/* no file of a Linux system has such a path: each is one missing */
	c->pkgs[pkg].missing += (int64_t)paths->toolong;
	if (paths->toolong)
		pkg_warn(c, "%s:%.*s: %zu listed paths longer than %d bytes (PKG_PATH_MAX)",
			 c->pkgs[pkg].manager, PKG_WARN_NAME, c->pkgs[pkg].name, paths->toolong,
			 PKG_PATH_MAX);
	if (!paths->n)
		return 0;
	sorted = malloc(paths->n * sizeof(*sorted));
	if (!sorted)
		return pkg_nomem(c);
	memcpy(sorted, paths->v, paths->n * sizeof(*sorted));
	qsort(sorted, paths->n, sizeof(*sorted), cmp_str);
	for (i = 0; i < paths->n && !pkg_stopped(c); i++) {
		struct imgfs_attr a;

		rc = pkg_resolve_file(c, base, paths->v[i], &a);
		if (pkg_is_fatal(rc))
			goto out;
		if (rc == -ECANCELED)
			break;
		if (rc == 0 && !S_ISDIR(a.mode) &&
		    (!S_ISLNK(a.mode) || !has_beneath(sorted, paths->n, paths->v[i]))) {
			rc = pkg_claim(c, pkg, &a);
			if (rc)
				goto out;
		} else if (rc != 0 && !has_beneath(sorted, paths->n, paths->v[i])) {
			c->pkgs[pkg].missing++;
		}
	}
	rc = 0;
out:
	free(sorted);
	return rc;
}
