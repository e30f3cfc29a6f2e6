/* This file contains the pip reader: each *.dist-info (RECORD, METADATA)
 * and *.egg-info (installed-files.txt, PKG-INFO) of every site-packages or
 * dist-packages directory. */
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

/* A METADATA or PKG-INFO file read: Name and Version point into BUF. */
struct meta {
	char *buf;
	char **lines;
	const char *name, *version;  /* NULL when absent */
};

static void meta_free(struct meta *m)
{
	free(m->lines);
	free(m->buf);
	memset(m, 0, sizeof(*m));
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
	for (i = 0; i < n && m->lines[i][0]; i++) {
		const char *v;

		if ((v = pkg_field(m->lines[i], "Name")) && !m->name)
			m->name = v[0] ? v : NULL;
		else if ((v = pkg_field(m->lines[i], "Version")) && !m->version)
			m->version = v[0] ? v : NULL;
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

/* One dist-info (RECORD, relative to SITE) or egg-info (installed-files.txt,
 * relative to the egg-info directory itself) directory ENT of SITE.
 * Returns 0 or a fatal -errno. */
static int pip_dist(struct pkg_ctx *c, uint64_t site, const struct entry *ent, int egg)
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
		rc = pkg_attribute(c, pkg, egg ? ent->ino : site, &paths);
out:
	pkg_vec_free(&paths);
	free(lines);
	free(buf);
	meta_free(&m);
	return pkg_is_fatal(rc) ? rc : 0;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t l = strlen(s), k = strlen(suffix);

	return l > k && !strcmp(s + l - k, suffix);
}

int pkg_scan_pip(struct pkg_ctx *c)
{
	uint64_t *sites;
	size_t n, i, k;
	int rc = pkg_dirs_named(c, "site-packages", "dist-packages", &sites, &n);

	for (i = 0; i < n && !rc && !pkg_stopped(c); i++) {
		struct dirlist dl;

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
				rc = pip_dist(c, sites[i], &dl.v[k], 0);
			else if (ends_with(dl.v[k].name, ".egg-info"))
				rc = pip_dist(c, sites[i], &dl.v[k], 1);
		}
		pkg_dirlist_free(&dl);
	}
	free(sites);
	return rc;
}
