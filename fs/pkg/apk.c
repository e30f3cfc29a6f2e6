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

static void apk_package(struct pkg_ctx *c, const char *name, const char *version, const char *arch,
			struct strvec *paths)
{
	long pkg = pkg_new(c, "apk", name, version, arch);

	if (pkg >= 0)
		pkg_attribute(c, (size_t)pkg, IMGFS_ROOT_INO, paths);
}

void pkg_scan_apk(struct pkg_ctx *c)
{
	static const char db_path[] = "/lib/apk/db/installed";
	struct strvec paths = { 0 };
	const char *name = NULL, *version = NULL, *arch = NULL, *dir = "";
	struct imgfs_attr st;
	char **lines = NULL, *buf, path[RPATH_MAX];
	size_t len = 0;
	long n, i;

	if (pkg_resolve(c, IMGFS_ROOT_INO, db_path, 1, &st) != 0 || !S_ISREG(st.mode))
		return;
	buf = pkg_read_whole(c, st.ino, db_path, &len);
	if (!buf)
		return;
	n = pkg_split_lines(c, buf, len, db_path, &lines);
	for (i = 0; i <= n && !c->nomem; i++) {
		const char *l = i < n ? lines[i] : "";
		int pl;

		if (l[0] == '\0') {
			if (name)
				apk_package(c, name, version, arch, &paths);
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
			pl = snprintf(path, sizeof(path), "/%s%s%s", dir, dir[0] ? "/" : "", l + 2);
			if (pl > 0 && (size_t)pl < sizeof(path) && pkg_vec_add(&paths, path, (size_t)pl))
				c->nomem = 1;
			break;
		default: break;
		}
	}
	pkg_vec_free(&paths);
	free(lines);
	free(buf);
}
