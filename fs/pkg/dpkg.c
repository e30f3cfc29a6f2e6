/* This file contains the dpkg reader: /var/lib/dpkg/status for the
 * packages installed, /var/lib/dpkg/info/NAME[:ARCH].list for their files. */
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

/* The file list of dpkg package NAME (ARCH) in directory INFO, or NULL. */
static char *dpkg_list(struct pkg_ctx *c, uint64_t info, const char *name, const char *arch,
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
	return pkg_read_whole(c, a.ino, what, len);
}

static void dpkg_package(struct pkg_ctx *c, uint64_t info, const char *name, const char *version,
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
	n = pkg_split_lines(c, list, len, "a dpkg .list file", &lines);
	for (i = 0; i < n && !c->nomem; i++) {
		if (!lines[i][0] || !strcmp(lines[i], "/.") || lines[i][0] != '/')
			continue;
		if (pkg_vec_add(&paths, lines[i], strlen(lines[i])))
			c->nomem = 1;
	}
	if (!c->nomem)
		pkg_attribute(c, (size_t)pkg, IMGFS_ROOT_INO, &paths);
	pkg_vec_free(&paths);
	free(lines);
	free(list);
}

void pkg_scan_dpkg(struct pkg_ctx *c)
{
	static const char status_path[] = "/var/lib/dpkg/status";
	struct imgfs_attr st, info;
	const char *name = NULL, *version = NULL, *arch = NULL, *status = NULL;
	char **lines = NULL, *buf;
	size_t len = 0;
	long n, i;

	if (pkg_resolve(c, IMGFS_ROOT_INO, status_path, 1, &st) != 0 || !S_ISREG(st.mode))
		return;
	if (pkg_resolve(c, IMGFS_ROOT_INO, "/var/lib/dpkg/info", 1, &info) != 0 || !S_ISDIR(info.mode))
		info.ino = 0;
	buf = pkg_read_whole(c, st.ino, status_path, &len);
	if (!buf)
		return;
	n = pkg_split_lines(c, buf, len, status_path, &lines);
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
		} else if ((v = pkg_field(l, "Package"))) {
			name = v;
		} else if ((v = pkg_field(l, "Version"))) {
			version = v;
		} else if ((v = pkg_field(l, "Architecture"))) {
			arch = v;
		} else if ((v = pkg_field(l, "Status"))) {
			status = v;
		}
	}
	free(lines);
	free(buf);
}
