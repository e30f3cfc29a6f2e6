/* The state of one package pass (pkg/attribute.c runs it): the packages
 * and claims found so far, the read side it reads the merged tree through,
 * and the helpers every database reader shares. */
#ifndef IMGFS_PASS_I_H
#define IMGFS_PASS_I_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "imgfs/imgfs.h"

/* A path being resolved, symlink targets spliced in: twice PATH_MAX. */
#define RPATH_MAX 8192

/* Specificity of a claim: a language package manager's claim is more
 * precise than the distribution's (pip installed over a dpkg file). */
enum { CLS_LANG = 0, CLS_SYSTEM = 1 };

struct pkg {
	const char *manager;     /* static string */
	char *name, *version, *arch;
	int64_t missing;
};

struct claim {
	uint64_t ino;
	uint32_t pkg;            /* index into ctx.pkgs */
	uint32_t cls;
	uint64_t seq;            /* order found */
};

struct strvec {
	char **v;
	size_t n, cap;
};

struct pkg_ctx {
	struct imgfs_fs *fs;
	sqlite3 *db;
	sqlite3_stmt *json;      /* name and version of a package.json */
	struct pkg *pkgs;
	size_t n_pkgs, cap_pkgs;
	struct claim *claims;
	size_t n_claims, cap_claims;
	uint64_t npm_walked;
	/* The last directory resolved, as (base, text): lists name many
	 * files of one directory in a row. */
	uint64_t last_base, last_ino;
	char *last_dir;
	int last_rc;
	int nomem, full;
	char rbuf[2][RPATH_MAX];  /* pkg_resolve()'s path, symlink targets spliced in */
};

/* Prints "imgfs: packages: WHAT: WHY; skipped" on stderr. */
void pkg_warn(const char *what, const char *why);

/* Appends a copy of S's first LEN bytes to V; 0 or -ENOMEM. */
int pkg_vec_add(struct strvec *v, const char *s, size_t len);
/* Frees V's strings and array; V is empty after. */
void pkg_vec_free(struct strvec *v);

#endif
