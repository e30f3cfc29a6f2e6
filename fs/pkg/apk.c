/* This file contains the apk reader: /lib/apk/db/installed, its stanzas of
 * P: (name), V:, A:, F: (a directory) and R: (a file in it). */
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

static int apk_package(struct pkg_ctx *c, const char *name, const char *version, const char *arch,
		       struct strvec *paths)
{
	size_t pkg;
	int rc = pkg_new(c, "apk", name, version, arch, &pkg);

	if (rc)
		return pkg_is_fatal(rc) ? rc : 0;
	c->pkgs[pkg].location = strdup("/lib/apk/db/installed");
	if (!c->pkgs[pkg].location)
		return pkg_nomem(c);
	return pkg_attribute(c, pkg, IMGFS_ROOT_INO, paths);
}

int pkg_scan_apk(struct pkg_ctx *c)
{
	static const char db_path[] = "/lib/apk/db/installed";
	struct strvec paths = { 0 };
	const char *name = NULL, *version = NULL, *arch = NULL, *dir = "";
	struct imgfs_attr st;
	char **lines = NULL, *buf = NULL, path[PKG_PATH_MAX + 1];
	size_t len = 0, n = 0, i, pl, dl;
	int rc;

	rc = pkg_resolve(c, IMGFS_ROOT_INO, db_path, 1, &st);
	if (rc || !S_ISREG(st.mode))
		return pkg_is_fatal(rc) ? rc : 0;
	rc = pkg_read_whole(c, st.ino, db_path, &buf, &len);
	if (rc || !buf)
		return rc;
	rc = pkg_split_lines(c, buf, len, db_path, &lines, &n);
	for (i = 0; i <= n && !rc && !pkg_stopped(c); i++) {
		const char *l = i < n ? lines[i] : "";

		if (l[0] == '\0') {
			if (name)
				rc = apk_package(c, name, version, arch, &paths);
			pkg_vec_free(&paths);
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
			/* "/" DIR "/" NAME, or "/" NAME at the root; a longer
			 * one than a path can be is only counted */
			pl = 1 + strlen(dir) + (dir[0] ? 1 : 0) + strlen(l + 2);
			if (pl > PKG_PATH_MAX) {
				paths.toolong++;
				break;
			}
			dl = strlen(dir);
			path[0] = '/';
			memcpy(path + 1, dir, dl);
			if (dl)
				path[++dl] = '/';
			strcpy(path + 1 + dl, l + 2);
			rc = pkg_vec_add(c, &paths, path, pl);
			break;
		default: break;
		}
	}
	pkg_vec_free(&paths);
	free(lines);
	free(buf);
	return rc;
}
