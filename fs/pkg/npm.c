/* This file contains the npm reader: each package directory under every
 * node_modules (and @scope/), named by its package.json, owning the files
 * beneath it but those of nested node_modules. */
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

/* Entries walked under node_modules over all npm packages. */
#define NPM_WALK_MAX 16000000

/* Claims for PKG every non-directory beneath DIR, but not what lies in a
 * nested node_modules: those are packages of their own. */
static void npm_walk(struct pkg_ctx *c, size_t pkg, uint64_t dir)
{
	uint64_t *stack = NULL;
	size_t n = 0, cap = 0, k;

	for (;;) {
		struct dirlist dl;

		if (pkg_list_dir(c, dir, &dl) == 0) {
			for (k = 0; k < dl.n && !c->nomem; k++) {
				struct imgfs_attr a = { .ino = dl.v[k].ino, .mode = dl.v[k].mode };

				if (++c->npm_walked > NPM_WALK_MAX) {
					if (!c->full)
						pkg_warn("node_modules", "more than 16000000 entries: the rest");
					c->full = 1;
					break;
				}
				if (!S_ISDIR(a.mode)) {
					pkg_claim(c, pkg, &a);
					continue;
				}
				if (!strcmp(dl.v[k].name, "node_modules"))
					continue;
				if (n == cap) {
					uint64_t *ns = realloc(stack, (cap = cap ? cap * 2 : 64) * sizeof(*ns));

					if (!ns) {
						c->nomem = 1;
						break;
					}
					stack = ns;
				}
				stack[n++] = a.ino;
			}
			pkg_dirlist_free(&dl);
		}
		if (!n || c->nomem || c->full)
			break;
		dir = stack[--n];
	}
	free(stack);
}

/* The package in directory ENT (DISPLAY: its name under node_modules). */
static void npm_package(struct pkg_ctx *c, const struct entry *ent, const char *display)
{
	struct imgfs_attr a;
	char *buf, what[600];
	size_t len = 0;
	long pkg = -1;

	if (imgfs_fs_lookup(c->fs, ent->ino, "package.json", &a) != 0 || !S_ISREG(a.mode))
		return;
	snprintf(what, sizeof(what), "node_modules/%.300s/package.json", display);
	buf = pkg_read_whole(c, a.ino, what, &len);
	if (!buf)
		return;
	sqlite3_bind_text(c->json, 1, buf, (int)len, SQLITE_STATIC);
	if (sqlite3_step(c->json) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(c->json, 0);
		const char *version = (const char *)sqlite3_column_text(c->json, 1);

		if (sqlite3_column_type(c->json, 0) != SQLITE_TEXT || !name[0])
			name = display;
		if (sqlite3_column_type(c->json, 1) != SQLITE_TEXT)
			version = NULL;
		pkg = pkg_new(c, "npm", name, version, NULL);
	} else {
		pkg_warn(what, "not valid JSON");
	}
	sqlite3_reset(c->json);
	sqlite3_clear_bindings(c->json);
	free(buf);
	if (pkg >= 0)
		npm_walk(c, (size_t)pkg, ent->ino);
}

void pkg_scan_npm(struct pkg_ctx *c)
{
	uint64_t *mods;
	long n = pkg_dirs_named(c, "node_modules", "node_modules", &mods), i;
	size_t k, j;

	if (n > 0 && sqlite3_prepare_v2(c->db, "SELECT json_extract(?1, '$.name'), "
				       "json_extract(?1, '$.version') WHERE json_valid(?1)", -1,
				       &c->json, NULL) != SQLITE_OK)
		n = 0;
	for (i = 0; i < n && !c->nomem && !c->full; i++) {
		struct dirlist dl;

		if (pkg_list_dir(c, mods[i], &dl) != 0)
			continue;
		for (k = 0; k < dl.n && !c->nomem && !c->full; k++) {
			struct dirlist scoped;
			char display[600];

			if (!S_ISDIR(dl.v[k].mode) || dl.v[k].name[0] == '.')
				continue;
			if (dl.v[k].name[0] != '@') {
				npm_package(c, &dl.v[k], dl.v[k].name);
				continue;
			}
			if (pkg_list_dir(c, dl.v[k].ino, &scoped) != 0)
				continue;
			for (j = 0; j < scoped.n && !c->nomem; j++) {
				if (!S_ISDIR(scoped.v[j].mode) || scoped.v[j].name[0] == '.')
					continue;
				snprintf(display, sizeof(display), "%.290s/%.290s", dl.v[k].name,
					 scoped.v[j].name);
				npm_package(c, &scoped.v[j], display);
			}
			pkg_dirlist_free(&scoped);
		}
		pkg_dirlist_free(&dl);
	}
	sqlite3_finalize(c->json);
	c->json = NULL;
	free(mods);
}
