/* This file contains the pip reader: each *.dist-info (RECORD, METADATA)
 * and *.egg-info (installed-files.txt, PKG-INFO, requires.txt) of every
 * site-packages or dist-packages directory, with the requirements whose
 * environment markers hold there. */
#include "pkg/db_i.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "pkg/claim_i.h"
#include "pkg/dbfile_i.h"
#include "pkg/marker_i.h"
#include "pkg/resolve_i.h"

/* A METADATA or PKG-INFO file read: Name, Version and each Requires-Dist
 * point into BUF. */
struct meta {
	char *buf;
	char **lines;
	const char *name, *version;  /* NULL when absent */
	const char **reqs;
	size_t n_reqs;
};

/* The site-packages directory being read: where its paths start, and the
 * environment its markers are evaluated in. */
struct site {
	uint64_t ino;
	char path[PKG_PATH_MAX + 1];  /* "" when it has none that fits */
	struct py_env env;
};

static void meta_free(struct meta *m)
{
	free(m->reqs);
	free(m->lines);
	free(m->buf);
	memset(m, 0, sizeof(*m));
}

/* PEP 503: lowercase, each run of "-_." one "-".  NAME (LEN bytes) into
 * OUT, which has room for LEN + 1. */
static void normalise(const char *name, size_t len, char *out)
{
	size_t i, o = 0;

	for (i = 0; i < len; i++) {
		if (name[i] == '-' || name[i] == '_' || name[i] == '.') {
			if (!o || out[o - 1] != '-')
				out[o++] = '-';
		} else {
			out[o++] = (char)tolower((unsigned char)name[i]);
		}
	}
	out[o] = '\0';
}

/* Appends to *DEPS (LEN so far, malloc'd) the normalised name of
 * requirement REQ ("NAME[EXTRAS] (SPEC) ; MARKER", PEP 508) when MARKER
 * (and SECTION, the marker of its requires.txt section, when not NULL)
 * holds in ENV; a line each.  Returns 0 or -ENOMEM. */
static int add_req(char **deps, size_t *len, const char *req, const char *section,
		   const struct py_env *env)
{
	const char *semi = strchr(req, ';');
	size_t n;
	char *d;

	while (*req == ' ' || *req == '\t')
		req++;
	n = strspn(req, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.");
	if (!n || (semi && !pkg_marker_true(semi + 1, env)) ||
	    (section && !pkg_marker_true(section, env)))
		return 0;
	d = realloc(*deps, *len + n + 2);
	if (!d)
		return -ENOMEM;
	normalise(req, n, d + *len);
	*len += strlen(d + *len);
	d[(*len)++] = '\n';
	d[*len] = '\0';
	*deps = d;
	return 0;
}

/* The requirements of egg-info directory EGG (its requires.txt: lines of
 * requirements, "[EXTRA]" sections that apply only when EXTRA is asked
 * for, never here, and "[:MARKER]" ones when MARKER holds) appended to
 * *DEPS.  Returns 0 or a fatal -errno. */
static int egg_requires(struct pkg_ctx *c, uint64_t egg, const struct py_env *env, char **deps,
			size_t *dlen)
{
	struct imgfs_attr a;
	char **lines = NULL, *buf = NULL;
	const char *section = NULL;
	size_t len = 0, n = 0, i;
	int rc, skip = 0;

	rc = imgfs_fs_lookup(c->fs, egg, "requires.txt", &a);
	if (rc || !S_ISREG(a.mode))
		return pkg_fatal(c, rc);
	rc = pkg_read_whole(c, a.ino, "requires.txt", &buf, &len);
	if (rc || !buf)
		return rc;
	rc = pkg_split_lines(c, buf, len, "requires.txt", &lines, &n);
	for (i = 0; i < n && !rc; i++) {
		char *l = lines[i], *end;

		if (l[0] == '[' && (end = strchr(l, ']'))) {
			*end = '\0';
			/* "[extra]" and "[extra:marker]" need the extra */
			skip = l[1] != ':';
			section = skip ? NULL : l + 2;
		} else if (!skip && l[0] && l[0] != '#' && add_req(deps, dlen, l, section, env)) {
			rc = pkg_nomem(c);
		}
	}
	free(lines);
	free(buf);
	return rc;
}

/* Name and Version of a METADATA or PKG-INFO file FILE of DIR (RFC 822
 * headers up to the first blank line) into *M, freed with meta_free().
 * Returns 0 (M's fields NULL when there is no such file) or a fatal
 * -errno. */
static int pip_metadata(struct pkg_ctx *c, uint64_t dir, const char *file, struct meta *m)
{
	struct imgfs_attr a;
	size_t blen = 0, n = 0, i;
	int rc;

	memset(m, 0, sizeof(*m));
	rc = imgfs_fs_lookup(c->fs, dir, file, &a);
	if (rc)
		return pkg_fatal(c, rc);
	rc = pkg_read_whole(c, a.ino, file, &m->buf, &blen);
	if (rc || !m->buf)
		return rc;
	rc = pkg_split_lines(c, m->buf, blen, file, &m->lines, &n);
	if (!rc && n && !(m->reqs = malloc(n * sizeof(*m->reqs))))
		return pkg_nomem(c);
	for (i = 0; i < n && m->lines[i][0]; i++) {
		const char *v;

		if ((v = pkg_field(m->lines[i], "Name")) && !m->name)
			m->name = v[0] ? v : NULL;
		else if ((v = pkg_field(m->lines[i], "Version")) && !m->version)
			m->version = v[0] ? v : NULL;
		else if ((v = pkg_field(m->lines[i], "Requires-Dist")))
			m->reqs[m->n_reqs++] = v;
	}
	return rc;
}

/* The first CSV field of LINE (RFC 4180 quoting), decoded in place (it is
 * never longer than its quoted form); its length. */
static size_t csv_first(char *line)
{
	const char *r = line;
	size_t o = 0;

	if (line[0] != '"') {
		o = strcspn(line, ",");
		line[o] = '\0';
		return o;
	}
	for (r++; *r; r++) {
		if (*r == '"') {
			if (r[1] != '"')
				break;
			r++;
		}
		line[o++] = *r;
	}
	line[o] = '\0';
	return o;
}

static int pip_graph(struct pkg_ctx *c, const struct site *site, const struct entry *ent, int egg,
		     const struct meta *m, struct pkg *p);

/* One dist-info (RECORD, relative to SITE) or egg-info (installed-files.txt,
 * relative to the egg-info directory itself) directory ENT of SITE.
 * Returns 0 or a fatal -errno. */
static int pip_dist(struct pkg_ctx *c, const struct site *site, const struct entry *ent, int egg)
{
	const char *list = egg ? "installed-files.txt" : "RECORD";
	/* the fallbacks are parts of ENT's name, at most NAME_MAX */
	char dname[NAME_MAX + 1], dversion[NAME_MAX + 1];
	const char *name, *version;
	char **lines = NULL, *buf = NULL;
	struct strvec paths = { 0 };
	struct meta m;
	struct imgfs_attr a;
	size_t len = 0, n = 0, i, pkg;
	int rc;

	rc = imgfs_fs_lookup(c->fs, ent->ino, list, &a);
	if (rc || !S_ISREG(a.mode))
		return pkg_fatal(c, rc); /* installed by a distribution, which lists the files itself */
	rc = pip_metadata(c, ent->ino, egg ? "PKG-INFO" : "METADATA", &m);
	if (rc)
		goto out;
	name = m.name;
	version = m.version;
	if (!name) {
		/* NAME-VERSION.dist-info, NAME-VERSION-pyX.Y.egg-info */
		size_t stem = strlen(ent->name) - strlen(egg ? ".egg-info" : ".dist-info");
		size_t l = strcspn(ent->name, "-"), v;

		if (l > stem)
			l = stem;
		memcpy(dname, ent->name, l);
		dname[l] = '\0';
		name = dname;
		if (l < stem && !version) {
			v = strcspn(ent->name + l + 1, "-");
			if (l + 1 + v > stem)
				v = stem - l - 1;
			memcpy(dversion, ent->name + l + 1, v);
			dversion[v] = '\0';
			version = dversion[0] ? dversion : NULL;
		}
	}
	rc = pkg_read_whole(c, a.ino, list, &buf, &len);
	if (rc || !buf)
		goto out;
	rc = pkg_split_lines(c, buf, len, list, &lines, &n);
	for (i = 0; i < n && !rc; i++) {
		size_t l = egg ? strlen(lines[i]) : csv_first(lines[i]);

		if (l)
			rc = pkg_vec_add(c, &paths, lines[i], l);
	}
	if (!rc && !pkg_stopped(c))
		rc = pkg_new(c, "pip", name, version, NULL, &pkg);
	if (!rc && !pkg_stopped(c))
		rc = pip_graph(c, site, ent, egg, &m, &c->pkgs[pkg]);
	if (!rc && !pkg_stopped(c))
		rc = pkg_attribute(c, pkg, egg ? ent->ino : site->ino, &paths);
out:
	pkg_vec_free(&paths);
	free(lines);
	free(buf);
	meta_free(&m);
	return pkg_is_fatal(rc) ? rc : 0;
}

/* Package P's place in the graph: its scope (the site directory), its
 * location (the dist-info or egg-info directory) and its requirements,
 * from M (METADATA's or PKG-INFO's Requires-Dist) and an egg's
 * requires.txt.  Returns 0 or a fatal -errno. */
static int pip_graph(struct pkg_ctx *c, const struct site *site, const struct entry *ent, int egg,
		     const struct meta *m, struct pkg *p)
{
	size_t i, dlen = 0;

	p->scope = site->ino;
	if (site->path[0]) {
		size_t l = strlen(site->path) + strlen(ent->name) + 2;

		p->location = malloc(l);
		if (!p->location)
			return pkg_nomem(c);
		snprintf(p->location, l, "%s%s%s", site->path, strcmp(site->path, "/") ? "/" : "",
			 ent->name);
	}
	for (i = 0; i < m->n_reqs; i++)
		if (add_req(&p->deps, &dlen, m->reqs[i], NULL, &site->env))
			return pkg_nomem(c);
	return egg ? egg_requires(c, ent->ino, &site->env, &p->deps, &dlen) : 0;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t l = strlen(s), k = strlen(suffix);

	return l > k && !strcmp(s + l - k, suffix);
}

/* "3.11" of the first "pythonX.Y" component of PATH into OUT (16 bytes);
 * 1 when there is one. */
static int version_in(const char *path, char *out)
{
	const char *p = path;

	while ((p = strstr(p, "/python"))) {
		unsigned maj, min;
		int n = 0;

		p += strlen("/python");
		if (sscanf(p, "%3u.%3u%n", &maj, &min, &n) == 2 && (p[n] == '/' || !p[n])) {
			snprintf(out, 16, "%u.%u", maj, min);
			return 1;
		}
	}
	return 0;
}

/* The Python version of site directory S into s->env: the pythonX.Y of
 * its path (/usr/local/lib/python3.11/dist-packages, a venv's
 * lib/python3.11/site-packages); for Debian's /usr/lib/python3/
 * dist-packages, shared by its Python 3 versions, the newest
 * /usr/lib/python3.Y beside it.  "" when none says.  0 or a fatal -errno. */
static int site_version(struct pkg_ctx *c, struct site *s)
{
	const char *p3 = strstr(s->path, "/python3/");
	struct imgfs_attr a;
	struct dirlist dl;
	char parent[PKG_PATH_MAX + 1];
	unsigned best = 0, min;
	size_t i;
	int rc, n;

	s->env.version[0] = '\0';
	if (!version_in(s->path, s->env.version) && p3) {
		snprintf(parent, sizeof(parent), "%.*s", (int)(p3 - s->path), s->path);
		rc = pkg_resolve(c, IMGFS_ROOT_INO, parent[0] ? parent : "/", 1, &a);
		if (rc)
			return pkg_is_fatal(rc) ? rc : 0;
		rc = pkg_list_dir(c, a.ino, &dl);
		if (rc)
			return pkg_is_fatal(rc) ? rc : 0;
		for (i = 0; i < dl.n; i++)
			if (sscanf(dl.v[i].name, "python3.%3u%n", &min, &n) == 1 && !dl.v[i].name[n] &&
			    S_ISDIR(dl.v[i].mode) && min >= best) {
				best = min;
				snprintf(s->env.version, sizeof(s->env.version), "3.%u", min);
			}
		pkg_dirlist_free(&dl);
	}
	if (s->env.version[0])
		snprintf(s->env.full_version, sizeof(s->env.full_version), "%s.0", s->env.version);
	else
		s->env.full_version[0] = '\0';
	return 0;
}

/* platform_machine from the config's architecture (Go's names, as OCI
 * uses them) into c->machine, once: "" when the config does not say. */
static int read_machine(struct pkg_ctx *c)
{
	static const struct { const char *go, *uname; } arches[] = {
		{ "amd64", "x86_64" }, { "arm64", "aarch64" }, { "arm", "armv7l" },
		{ "386", "i686" }, { "ppc64le", "ppc64le" }, { "s390x", "s390x" },
		{ "riscv64", "riscv64" }, { "mips64le", "mips64" }, { "loong64", "loongarch64" },
	};
	struct imgfs_attr d, f;
	sqlite3_stmt *q = NULL;
	char *buf = NULL;
	size_t len = 0, i;
	int rc;

	if (c->machine[0])
		return 0;
	strcpy(c->machine, "?");
	rc = imgfs_fs_lookup(c->fs, IMGFS_ROOT_INO, IMGFS_VIEW_NAME, &d);
	if (!rc)
		rc = imgfs_fs_lookup(c->fs, d.ino, IMGFS_CONFIG_FILE, &f);
	if (rc)
		return pkg_fatal(c, rc);
	rc = pkg_read_whole(c, f.ino, "the image config", &buf, &len);
	if (rc || !buf)
		return rc;
	if (sqlite3_prepare_v2(c->db, "SELECT json_extract(?1, '$.architecture')", -1, &q, NULL) !=
	    SQLITE_OK) {
		free(buf);
		return pkg_sqlfail(c);
	}
	sqlite3_bind_text(q, 1, buf, (int)len, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_type(q, 0) == SQLITE_TEXT) {
		const char *arch = (const char *)sqlite3_column_text(q, 0);

		for (i = 0; i < sizeof(arches) / sizeof(arches[0]); i++)
			if (!strcmp(arch, arches[i].go))
				strcpy(c->machine, arches[i].uname);
	}
	sqlite3_finalize(q);
	free(buf);
	return 0;
}

int pkg_scan_pip(struct pkg_ctx *c)
{
	uint64_t *sites = NULL;
	size_t n = 0, i, k;
	struct site *s = malloc(sizeof(*s));
	int rc = s ? pkg_dirs_named(c, "site-packages", "dist-packages", &sites, &n) : pkg_nomem(c);

	if (!rc)
		rc = read_machine(c);
	for (i = 0; i < n && !rc && !pkg_stopped(c); i++) {
		struct dirlist dl;

		s->ino = sites[i];
		s->env.machine = strcmp(c->machine, "?") ? c->machine : "";
		rc = pkg_path_of(c, s->ino, s->path, sizeof(s->path));
		if (rc) {
			s->path[0] = '\0';
			if (pkg_is_fatal(rc))
				break;
		}
		rc = site_version(c, s);
		if (rc)
			break;
		rc = pkg_list_dir(c, sites[i], &dl);
		if (rc) {
			rc = pkg_is_fatal(rc) ? rc : 0;
			continue;
		}
		for (k = 0; k < dl.n && !rc && !pkg_stopped(c); k++) {
			if (!S_ISDIR(dl.v[k].mode))
				continue;
			if (strlen(dl.v[k].name) > NAME_MAX &&
			    (ends_with(dl.v[k].name, ".dist-info") || ends_with(dl.v[k].name, ".egg-info")))
				pkg_warn(c, "%s: a name longer than NAME_MAX", dl.v[k].name);
			else if (ends_with(dl.v[k].name, ".dist-info"))
				rc = pip_dist(c, s, &dl.v[k], 0);
			else if (ends_with(dl.v[k].name, ".egg-info"))
				rc = pip_dist(c, s, &dl.v[k], 1);
		}
		pkg_dirlist_free(&dl);
	}
	free(sites);
	free(s);
	return rc;
}
