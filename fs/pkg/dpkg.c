/* This file contains the dpkg reader: /var/lib/dpkg/status for the
 * packages installed and what they depend on, /var/lib/dpkg/info/
 * NAME[:ARCH].list for their files, /var/lib/apt/extended_states for apt's
 * automatic marks. */
#include "pkg/db_i.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "pkg/claim_i.h"
#include "pkg/dbfile_i.h"
#include "pkg/resolve_i.h"

/* Where dpkg keeps the file lists, for the warnings naming one. */
#define INFO_DIR "/var/lib/dpkg/info/"
static const char status_path[] = "/var/lib/dpkg/status";
static const char states_path[] = "/var/lib/apt/extended_states";

/* The fields of one stanza of the status file that make a package. */
struct stanza {
	const char *name, *version, *arch, *status;
	/* the dependency fields apt installs: Recommends too, as apt keeps
	 * what is recommended */
	const char *depends, *predepends, *recommends, *provides;
};

/* Appends to *OUT (LEN so far, malloc'd) the names of dependency field F
 * ("a (>= 1) | b:any, c"): a line per comma-separated group, its
 * alternatives separated by '|', versions and :any/:native qualifiers
 * dropped ("a|b\nc\n").  Returns 0 or -ENOMEM. */
static int dep_names(const char *f, char **out, size_t *len)
{
	char *d;

	if (!f)
		return 0;
	/* the names are shorter than F */
	d = realloc(*out, *len + strlen(f) + 2);
	if (!d)
		return -ENOMEM;
	*out = d;
	while (*f) {
		size_t n;

		f += strspn(f, " \t|,");
		n = strcspn(f, " \t(:[<|,");
		if (n) {
			if (*len && d[*len - 1] != '\n')
				d[(*len)++] = '|';
			memcpy(d + *len, f, n);
			*len += n;
		}
		f += n;
		f += strcspn(f, "|,");
		if ((*f == ',' || !*f) && *len && d[*len - 1] != '\n')
			d[(*len)++] = '\n';
	}
	d[*len] = '\0';
	return 0;
}

/* S's dependency fields, then its Provides, as dep_names() lines into
 * malloc'd strings (NULL when empty).  Returns 0 or -ENOMEM. */
static int stanza_deps(const struct stanza *s, char **deps, char **provides)
{
	size_t len = 0, plen = 0;

	if (dep_names(s->predepends, deps, &len) || dep_names(s->depends, deps, &len) ||
	    dep_names(s->recommends, deps, &len) || dep_names(s->provides, provides, &plen))
		return -ENOMEM;
	if (*deps && !len) {
		free(*deps);
		*deps = NULL;
	}
	if (*provides && !plen) {
		free(*provides);
		*provides = NULL;
	}
	return 0;
}

/* The file list of dpkg package NAME (ARCH) in directory INFO into *LIST
 * (malloc'd, the caller's; NULL when there is none or it was skipped).
 * Returns 0 or a fatal -errno. */
static int dpkg_list(struct pkg_ctx *c, uint64_t info, const char *name, const char *arch,
		     char **list, size_t *len)
{
	/* NAME:ARCH.list and NAME.list are names in INFO: a longer one is
	 * none the tree can hold */
	char fn[NAME_MAX + 1], what[sizeof(INFO_DIR) + NAME_MAX];
	struct imgfs_attr a;
	int rc = -ENOENT;

	*list = NULL;
	if (!info)
		return 0;
	if (arch && (size_t)snprintf(fn, sizeof(fn), "%s:%s.list", name, arch) < sizeof(fn))
		rc = imgfs_fs_lookup(c->fs, info, fn, &a);
	if (rc && !pkg_is_fatal(rc)) {
		if ((size_t)snprintf(fn, sizeof(fn), "%s.list", name) >= sizeof(fn)) {
			pkg_warn(c, "dpkg:%.*s: a package name too long for a .list file",
				 PKG_WARN_NAME, name);
			return 0;
		}
		rc = imgfs_fs_lookup(c->fs, info, fn, &a);
	}
	if (rc)
		return pkg_fatal(c, rc);
	snprintf(what, sizeof(what), INFO_DIR "%s", fn);
	return pkg_read_whole(c, a.ino, what, list, len);
}

static int dpkg_package(struct pkg_ctx *c, uint64_t info, const struct stanza *s)
{
	const char *name = s->name, *arch = s->arch;
	struct strvec paths = { 0 };
	char **lines = NULL, *list = NULL;
	size_t len = 0, n = 0, i, pkg;
	struct pkg *p;
	int rc = pkg_new(c, "dpkg", name, s->version, arch, &pkg);

	if (rc)
		return pkg_is_fatal(rc) ? rc : 0;
	p = &c->pkgs[pkg];
	p->location = strdup(status_path);
	if (!p->location || stanza_deps(s, &p->deps, &p->provides))
		return pkg_nomem(c);
	rc = dpkg_list(c, info, name, arch, &list, &len);
	if (rc || !list)
		goto out;
	rc = pkg_split_lines(c, list, len, "a dpkg .list file", &lines, &n);
	for (i = 0; i < n && !rc; i++) {
		if (!lines[i][0] || !strcmp(lines[i], "/.") || lines[i][0] != '/')
			continue;
		rc = pkg_vec_add(c, &paths, lines[i], strlen(lines[i]));
	}
	if (!rc)
		rc = pkg_attribute(c, pkg, IMGFS_ROOT_INO, &paths);
out:
	pkg_vec_free(&paths);
	free(lines);
	free(list);
	return rc;
}

/* The context cmp_by_name() sorts indices of: qsort() passes none. */
static const struct pkg_ctx *sort_ctx;

static int cmp_by_name(const void *a, const void *b)
{
	return strcmp(sort_ctx->pkgs[*(const size_t *)a].name, sort_ctx->pkgs[*(const size_t *)b].name);
}

/* Marks automatic the packages of BY_NAME (N indices into c->pkgs, sorted
 * by name) named NAME of ARCH (any when NULL; apt records an "all"
 * package under the native one). */
static void mark_auto(struct pkg_ctx *c, const size_t *by_name, size_t n, const char *name,
		      const char *arch)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (strcmp(c->pkgs[by_name[mid]].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < n && !strcmp(c->pkgs[by_name[lo]].name, name); lo++) {
		struct pkg *p = &c->pkgs[by_name[lo]];

		if (!arch || !p->arch || !strcmp(p->arch, "all") || !strcmp(p->arch, arch))
			p->autoinst = 1;
	}
}

/* apt's marks: each stanza of /var/lib/apt/extended_states with
 * "Auto-Installed: 1" marks its package automatic.  Packages FIRST..
 * of C are dpkg's.  Returns 0 or a fatal -errno. */
static int dpkg_marks(struct pkg_ctx *c, size_t first)
{
	const char *name = NULL, *arch = NULL;
	size_t *by_name = NULL, n = c->n_pkgs - first, len = 0, nl = 0, i;
	char **lines = NULL, *buf = NULL;
	struct imgfs_attr st;
	int rc, autoinst = 0;

	if (!n)
		return 0;
	rc = pkg_resolve(c, IMGFS_ROOT_INO, states_path, 1, &st);
	if (rc || !S_ISREG(st.mode))
		return pkg_is_fatal(rc) ? rc : 0;
	rc = pkg_read_whole(c, st.ino, states_path, &buf, &len);
	if (rc || !buf)
		return rc;
	rc = pkg_split_lines(c, buf, len, states_path, &lines, &nl);
	by_name = malloc(n * sizeof(*by_name));
	if (!rc && !by_name)
		rc = pkg_nomem(c);
	if (rc)
		goto out;
	for (i = 0; i < n; i++)
		by_name[i] = first + i;
	sort_ctx = c;
	qsort(by_name, n, sizeof(*by_name), cmp_by_name);
	for (i = 0; i <= nl; i++) {
		const char *l = i < nl ? lines[i] : "", *v;

		if (l[0] == '\0') {
			if (name && autoinst)
				mark_auto(c, by_name, n, name, arch);
			name = arch = NULL;
			autoinst = 0;
		} else if ((v = pkg_field(l, "Package"))) {
			name = v;
		} else if ((v = pkg_field(l, "Architecture"))) {
			arch = v;
		} else if ((v = pkg_field(l, "Auto-Installed"))) {
			autoinst = !strcmp(v, "1");
		}
	}
out:
	free(by_name);
	free(lines);
	free(buf);
	return rc;
}

int pkg_scan_dpkg(struct pkg_ctx *c)
{
	struct imgfs_attr st, info;
	struct stanza s = { 0 };
	char **lines = NULL, *buf = NULL;
	size_t len = 0, n = 0, i, first = c->n_pkgs;
	int rc;

	rc = pkg_resolve(c, IMGFS_ROOT_INO, status_path, 1, &st);
	if (rc || !S_ISREG(st.mode))
		return pkg_is_fatal(rc) ? rc : 0;
	rc = pkg_resolve(c, IMGFS_ROOT_INO, "/var/lib/dpkg/info", 1, &info);
	if (pkg_is_fatal(rc))
		return rc;
	if (rc || !S_ISDIR(info.mode))
		info.ino = 0;
	rc = pkg_read_whole(c, st.ino, status_path, &buf, &len);
	if (rc || !buf)
		return rc;
	rc = pkg_split_lines(c, buf, len, status_path, &lines, &n);
	/* one more round past the end closes the last stanza */
	for (i = 0; i <= n && !rc && !pkg_stopped(c); i++) {
		const char *l = i < n ? lines[i] : "", *v;

		if (l[0] == '\0') {
			const char *st_ok = s.status ? strchr(s.status, ' ') : NULL;

			/* want (install, hold) is the admin's wish; "ok
			 * installed" is what is on disk */
			if (s.name && st_ok && !strcmp(st_ok, " ok installed"))
				rc = dpkg_package(c, info.ino, &s);
			memset(&s, 0, sizeof(s));
		} else if ((v = pkg_field(l, "Package"))) {
			s.name = v;
		} else if ((v = pkg_field(l, "Version"))) {
			s.version = v;
		} else if ((v = pkg_field(l, "Architecture"))) {
			s.arch = v;
		} else if ((v = pkg_field(l, "Status"))) {
			s.status = v;
		} else if ((v = pkg_field(l, "Depends"))) {
			s.depends = v;
		} else if ((v = pkg_field(l, "Pre-Depends"))) {
			s.predepends = v;
		} else if ((v = pkg_field(l, "Recommends"))) {
			s.recommends = v;
		} else if ((v = pkg_field(l, "Provides"))) {
			s.provides = v;
		}
	}
	if (!rc && !pkg_stopped(c))
		rc = dpkg_marks(c, first);
	free(lines);
	free(buf);
	return rc;
}
