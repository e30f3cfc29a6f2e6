/* This file contains the dpkg reader: /var/lib/dpkg/status for the
 * packages installed, /var/lib/dpkg/info/NAME[:ARCH].list for their files. */
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

static int dpkg_package(struct pkg_ctx *c, uint64_t info, const char *name, const char *version,
			const char *arch)
{
	struct strvec paths = { 0 };
	char **lines = NULL, *list = NULL;
	size_t len = 0, n = 0, i, pkg;
	int rc = pkg_new(c, "dpkg", name, version, arch, &pkg);

	if (rc)
		return pkg_is_fatal(rc) ? rc : 0;
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

int pkg_scan_dpkg(struct pkg_ctx *c)
{
	static const char status_path[] = "/var/lib/dpkg/status";
	struct imgfs_attr st, info;
	const char *name = NULL, *version = NULL, *arch = NULL, *status = NULL;
	char **lines = NULL, *buf = NULL;
	size_t len = 0, n = 0, i;
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
			const char *s = status ? strchr(status, ' ') : NULL;

			/* want (install, hold) is the admin's wish; "ok
			 * installed" is what is on disk */
			if (name && s && !strcmp(s, " ok installed"))
				rc = dpkg_package(c, info.ino, name, version, arch);
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
	return rc;
}
