/* The per-database interface: each package manager's reader finds its
 * database in the merged tree, adds its packages and their claims. */
#ifndef IMGFS_DB_I_H
#define IMGFS_DB_I_H

#include "pkg/pass_i.h"

/* A database reader: SCAN adds the packages of database NAME and their
 * claims to C, skipping (with a warning) what of the image it cannot read
 * and stopping where pkg_stopped(C) says.  Returns 0 or a fatal -errno
 * with its detail on c->err. */
struct pkg_db {
	const char *name;
	int (*scan)(struct pkg_ctx *c);
};

int pkg_scan_dpkg(struct pkg_ctx *c);  /* pkg/dpkg.c */
int pkg_scan_apk(struct pkg_ctx *c);   /* pkg/apk.c */
int pkg_scan_pip(struct pkg_ctx *c);   /* pkg/pip.c */
int pkg_scan_npm(struct pkg_ctx *c);   /* pkg/npm.c */

#endif
