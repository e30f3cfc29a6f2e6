/* This file contains the apk reader: /lib/apk/db/installed, its stanzas of
 * P: (name), V:, A:, F: (a directory), R: (a file in it), D: (what it
 * depends on) and p: (what it provides: so:, cmd: and other names). */
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

/* The names of apk tokens T ("so:libc.musl-x86_64.so.1 busybox>=1.36
 * !conflict"), space-separated, a line each as pkg/graph.c reads them
 * ("so:libc.musl-x86_64.so.1\nbusybox\n"): version constraints cut at
 * their operator, "!" conflicts (no requirement) dropped.  Into *OUT
 * (malloc'd; NULL when none).  Returns 0 or -ENOMEM. */
static int apk_names(const char *t, char **out)
{
	size_t o = 0;
	char *d;

	*out = NULL;
	if (!t || !t[0])
		return 0;
	d = malloc(strlen(t) + 2);
	if (!d)
		return -ENOMEM;
	while (*t) {
		size_t n = strcspn(t, " \t"), k = strcspn(t, " \t=<>~");

		if (t[0] != '!' && k && k <= n) {
			memcpy(d + o, t, k);
			o += k;
			d[o++] = '\n';
		}
		t += n;
		t += strspn(t, " \t");
	}
	d[o] = '\0';
	if (!o) {
		free(d);
		d = NULL;
	}
	*out = d;
	return 0;
}

static int apk_package(struct pkg_ctx *c, const char *name, const char *version, const char *arch,
		       const char *depends, const char *provides, struct strvec *paths)
{
	size_t pkg;
	struct pkg *p;
	int rc = pkg_new(c, "apk", name, version, arch, &pkg);

	if (rc)
		return pkg_is_fatal(rc) ? rc : 0;
	p = &c->pkgs[pkg];
	p->location = strdup("/lib/apk/db/installed");
	if (!p->location || apk_names(depends, &p->deps) || apk_names(provides, &p->provides))
		return pkg_nomem(c);
	return pkg_attribute(c, pkg, IMGFS_ROOT_INO, paths);
}

int pkg_scan_apk(struct pkg_ctx *c)
{
	static const char db_path[] = "/lib/apk/db/installed";
	struct strvec paths = { 0 };
	const char *name = NULL, *version = NULL, *arch = NULL, *dir = "";
	const char *depends = NULL, *provides = NULL;
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
				rc = apk_package(c, name, version, arch, depends, provides, &paths);
			pkg_vec_free(&paths);
			name = version = arch = depends = provides = NULL;
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
		case 'D': depends = l + 2; break;
		case 'p': provides = l + 2; break;
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
