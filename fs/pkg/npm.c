/* This file contains the npm reader: each package directory under every
 * node_modules (and @scope/), named by its package.json, owning the files
 * beneath it but those of nested node_modules, requiring the names of its
 * dependencies and optionalDependencies. */
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

/* Entries walked under node_modules over all npm packages. */
#define NPM_WALK_MAX 16000000

/* A package's name under node_modules: NAME or @SCOPE/NAME, each a name
 * the kernel accepts (a longer one is skipped with a warning: users of
 * the mount could not reach it). */
#define DISPLAY_MAX (2 * NAME_MAX + 1)

/* Claims for PKG every non-directory beneath DIR, but not what lies in a
 * nested node_modules: those are packages of their own.  Returns 0 or a
 * fatal -errno. */
static int npm_walk(struct pkg_ctx *c, size_t pkg, uint64_t dir)
{
	uint64_t *stack = NULL;
	size_t n = 0, cap = 0, k;
	int rc = 0;

	for (;;) {
		struct dirlist dl;

		rc = pkg_list_dir(c, dir, &dl);
		if (pkg_is_fatal(rc))
			goto out;
		if (rc == 0) {
			for (k = 0; k < dl.n && !rc; k++) {
				struct imgfs_attr a = { .ino = dl.v[k].ino, .mode = dl.v[k].mode };

				if (++c->npm_walked > NPM_WALK_MAX) {
					pkg_stop(c, "more than 16000000 entries under node_modules "
						 "(NPM_WALK_MAX)");
					break;
				}
				if (!S_ISDIR(a.mode)) {
					rc = pkg_claim(c, pkg, &a);
					continue;
				}
				if (!strcmp(dl.v[k].name, "node_modules"))
					continue;
				if (n == cap) {
					uint64_t *ns = realloc(stack, (cap = cap ? cap * 2 : 64) * sizeof(*ns));

					if (!ns) {
						rc = pkg_nomem(c);
						break;
					}
					stack = ns;
				}
				stack[n++] = a.ino;
			}
			pkg_dirlist_free(&dl);
		}
		rc = pkg_is_fatal(rc) ? rc : 0;
		if (!n || rc || pkg_stopped(c))
			break;
		dir = stack[--n];
	}
out:
	free(stack);
	return rc;
}

/* The package in directory ENT (DISPLAY: its name under node_modules),
 * named by its package.json through JSON.  Returns 0 or a fatal -errno. */
/* P's location: its package directory DIR's path (none when it has no
 * path that fits).  Returns 0 or a fatal -errno. */
static int npm_location(struct pkg_ctx *c, struct pkg *p, uint64_t dir)
{
	char path[PKG_PATH_MAX + 1];
	int rc = pkg_path_of(c, dir, path, sizeof(path));

	if (rc)
		return pkg_is_fatal(rc) ? rc : 0;
	p->location = strdup(path);
	return p->location ? 0 : pkg_nomem(c);
}

static int npm_package(struct pkg_ctx *c, sqlite3_stmt *json, const struct entry *ent,
		       const char *display)
{
	char *buf = NULL, what[sizeof("node_modules//package.json") + DISPLAY_MAX];
	struct imgfs_attr a;
	size_t len = 0, pkg = 0;
	int rc, r, found = 0;

	rc = imgfs_fs_lookup(c->fs, ent->ino, "package.json", &a);
	if (rc || !S_ISREG(a.mode))
		return pkg_fatal(c, rc);
	snprintf(what, sizeof(what), "node_modules/%s/package.json", display);
	rc = pkg_read_whole(c, a.ino, what, &buf, &len);
	if (rc || !buf)
		return rc;
	sqlite3_bind_text(json, 1, buf, (int)len, SQLITE_STATIC);
	r = sqlite3_step(json);
	if (r == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(json, 0);
		const char *version = (const char *)sqlite3_column_text(json, 1);

		if (sqlite3_column_type(json, 0) != SQLITE_TEXT || !name[0])
			name = display;
		if (sqlite3_column_type(json, 1) != SQLITE_TEXT)
			version = NULL;
		rc = pkg_new(c, "npm", name, version, NULL, &pkg);
		found = rc == 0;
		if (found && sqlite3_column_type(json, 2) == SQLITE_TEXT &&
		    !(c->pkgs[pkg].deps = strdup((const char *)sqlite3_column_text(json, 2))))
			rc = pkg_nomem(c);
	} else if (r == SQLITE_DONE) {
		pkg_warn(c, "%s: not valid JSON", what);
	} else {
		rc = pkg_sqlfail(c);
	}
	sqlite3_reset(json);
	sqlite3_clear_bindings(json);
	free(buf);
	if (found)
		rc = npm_location(c, &c->pkgs[pkg], ent->ino);
	if (found && !rc)
		rc = npm_walk(c, pkg, ent->ino);
	return pkg_is_fatal(rc) ? rc : 0;
}

/* The packages of node_modules directory MODS: NAME/ and @SCOPE/NAME/.
 * Returns 0 or a fatal -errno. */
static int npm_modules(struct pkg_ctx *c, sqlite3_stmt *json, uint64_t mods)
{
	struct dirlist dl;
	size_t k, j;
	int rc = pkg_list_dir(c, mods, &dl);

	if (rc)
		return pkg_is_fatal(rc) ? rc : 0;
	for (k = 0; k < dl.n && !rc && !pkg_stopped(c); k++) {
		struct dirlist scoped;
		char display[DISPLAY_MAX + 1];

		if (!S_ISDIR(dl.v[k].mode) || dl.v[k].name[0] == '.')
			continue;
		if (strlen(dl.v[k].name) > NAME_MAX) {
			pkg_warn(c, "node_modules/%s: a name longer than NAME_MAX", dl.v[k].name);
			continue;
		}
		if (dl.v[k].name[0] != '@') {
			rc = npm_package(c, json, &dl.v[k], dl.v[k].name);
			continue;
		}
		rc = pkg_list_dir(c, dl.v[k].ino, &scoped);
		if (rc) {
			rc = pkg_is_fatal(rc) ? rc : 0;
			continue;
		}
		for (j = 0; j < scoped.n && !rc && !pkg_stopped(c); j++) {
			if (!S_ISDIR(scoped.v[j].mode) || scoped.v[j].name[0] == '.')
				continue;
			if (strlen(scoped.v[j].name) > NAME_MAX) {
				pkg_warn(c, "node_modules/%s/%s: a name longer than NAME_MAX",
					 dl.v[k].name, scoped.v[j].name);
				continue;
			}
			snprintf(display, sizeof(display), "%s/%s", dl.v[k].name, scoped.v[j].name);
			rc = npm_package(c, json, &scoped.v[j], display);
		}
		pkg_dirlist_free(&scoped);
	}
	pkg_dirlist_free(&dl);
	return rc;
}

int pkg_scan_npm(struct pkg_ctx *c)
{
	sqlite3_stmt *json = NULL;
	uint64_t *mods;
	size_t n, i;
	int rc = pkg_dirs_named(c, "node_modules", "node_modules", &mods, &n);

	if (rc || !n)
		goto out;
	/* the names required, a line each, as pkg/graph.c reads them */
	if (sqlite3_prepare_v2(c->db, "SELECT json_extract(?1, '$.name'), "
			       "json_extract(?1, '$.version'), (SELECT group_concat(key, char(10)) || char(10)"
			       " FROM (SELECT key FROM json_each(?1, '$.dependencies')"
			       " WHERE json_type(?1, '$.dependencies') = 'object' UNION"
			       " SELECT key FROM json_each(?1, '$.optionalDependencies')"
			       " WHERE json_type(?1, '$.optionalDependencies') = 'object'))"
			       " WHERE json_valid(?1)", -1, &json, NULL) != SQLITE_OK) {
		rc = pkg_sqlfail(c);
		goto out;
	}
	for (i = 0; i < n && !rc && !pkg_stopped(c); i++)
		rc = npm_modules(c, json, mods[i]);
out:
	sqlite3_finalize(json);
	free(mods);
	return rc;
}
