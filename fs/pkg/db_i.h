/* The per-database interface: each package manager's reader finds its
 * database in the merged tree, adds its packages and their claims. */
#ifndef IMGFS_DB_I_H
#define IMGFS_DB_I_H

#include "pkg/pass_i.h"

struct pkg_db {
	const char *name;
	void (*scan)(struct pkg_ctx *c);
};

void pkg_scan_dpkg(struct pkg_ctx *c);  /* pkg/dpkg.c */
void pkg_scan_apk(struct pkg_ctx *c);   /* pkg/apk.c */
void pkg_scan_pip(struct pkg_ctx *c);   /* pkg/pip.c */
void pkg_scan_npm(struct pkg_ctx *c);   /* pkg/npm.c */

#endif
