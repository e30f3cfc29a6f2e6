/* This file contains the pip reader: each *.dist-info (RECORD, METADATA)
 * and *.egg-info (installed-files.txt, PKG-INFO) of every site-packages or
 * dist-packages directory. */
#include "pkg/db_i.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "pkg/claim_i.h"
#include "pkg/dbfile_i.h"
#include "pkg/resolve_i.h"

/* Name and Version of a METADATA or PKG-INFO file (RFC 822 headers up to
 * the first blank line), into NAME and VERSION (empty when absent). */
static void pip_metadata(struct pkg_ctx *c, uint64_t dir, const char *file, char *name, char *version,
			 size_t len)
{
	struct imgfs_attr a;
	char **lines = NULL, *buf;
	size_t blen = 0;
	long n, i;

	name[0] = version[0] = '\0';
	if (imgfs_fs_lookup(c->fs, dir, file, &a) != 0 || !(buf = pkg_read_whole(c, a.ino, file, &blen)))
		return;
	n = pkg_split_lines(c, buf, blen, file, &lines);
	for (i = 0; i < n && lines[i][0]; i++) {
		const char *v;

		if ((v = pkg_field(lines[i], "Name")) && !name[0])
			snprintf(name, len, "%s", v);
		else if ((v = pkg_field(lines[i], "Version")) && !version[0])
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
static void pip_dist(struct pkg_ctx *c, uint64_t site, const struct entry *ent, int egg)
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
	buf = pkg_read_whole(c, a.ino, list, &len);
	if (!buf)
		return;
	n = pkg_split_lines(c, buf, len, list, &lines);
	for (i = 0; i < n && !c->nomem; i++) {
		size_t l = egg ? strlen(lines[i]) : csv_first(lines[i], path, sizeof(path));

		if (egg && l < sizeof(path))
			memcpy(path, lines[i], l + 1);
		if (l == 0 || l >= sizeof(path))
			continue;
		if (pkg_vec_add(&paths, path, l))
			c->nomem = 1;
	}
	pkg = c->nomem ? -1 : pkg_new(c, "pip", name, version[0] ? version : NULL, NULL);
	if (pkg >= 0)
		pkg_attribute(c, (size_t)pkg, egg ? ent->ino : site, &paths);
	pkg_vec_free(&paths);
	free(lines);
	free(buf);
}

static int ends_with(const char *s, const char *suffix)
{
	size_t l = strlen(s), k = strlen(suffix);

	return l > k && !strcmp(s + l - k, suffix);
}

void pkg_scan_pip(struct pkg_ctx *c)
{
	uint64_t *sites;
	long n = pkg_dirs_named(c, "site-packages", "dist-packages", &sites), i;
	size_t k;

	for (i = 0; i < n && !c->nomem; i++) {
		struct dirlist dl;

		if (pkg_list_dir(c, sites[i], &dl) != 0)
			continue;
		for (k = 0; k < dl.n && !c->nomem; k++) {
			if (!S_ISDIR(dl.v[k].mode))
				continue;
			if (ends_with(dl.v[k].name, ".dist-info"))
				pip_dist(c, sites[i], &dl.v[k], 0);
			else if (ends_with(dl.v[k].name, ".egg-info"))
				pip_dist(c, sites[i], &dl.v[k], 1);
		}
		pkg_dirlist_free(&dl);
	}
	free(sites);
}
