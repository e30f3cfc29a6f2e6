/* The package view, /.imgfs/packages/MANAGER/NAME/ (pkg/view.c). */
#ifndef IMGFS_PKG_VIEW_I_H
#define IMGFS_PKG_VIEW_I_H

#include <sqlite3.h>

#include "imgfs/imgfs.h"

/* Adds the view to the index DB, whose pkg and pkgfile tables are
 * complete; nothing when the image has no /.imgfs.  0 or a negative errno
 * with ERR set. */
int pkg_view_build(sqlite3 *db, struct imgfs_err *err);

#endif
