/* Package attribution: which package of which manager (dpkg, pip, npm,
 * apk) put each file of the merged tree there. */
#ifndef IMGFS_PACKAGES_I_H
#define IMGFS_PACKAGES_I_H

#include <sqlite3.h>

struct imgfs_err;

/* Reads the package databases of the merged tree of the committed index at
 * INDEX_PATH (opened read-only through the public read API, closed before
 * returning) and fills the tables pkg, pkgfile and pkgdir of DB, the
 * writable connection to that same file, in one transaction.  A database
 * that is unreadable, too large or malformed is skipped with a warning on
 * stderr and never fails the build; past a bound on the work of the pass
 * (pkg/pass.c) attribution stops with a warning, keeping what was found.
 * Returns 0, or a negative errno with ERR set when memory or the index
 * itself fails. */
int imgfs_packages_build(sqlite3 *db, const char *index_path, struct imgfs_err *err);

#endif
