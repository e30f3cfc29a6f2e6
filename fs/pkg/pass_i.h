/* The state of one package pass (pkg/attribute.c runs it): the packages
 * and claims found so far, the read side it reads the merged tree through,
 * the work it may still do, and the helpers every database reader shares.
 *
 * The error convention of the pass: a function returns 0 or a negative
 * errno.  0 also when something of the image was skipped: a warning on
 * stderr said what.  A negative errno (-ENOMEM, -EIO from the index) is
 * fatal and its detail is on c->err. */
#ifndef IMGFS_PASS_I_H
#define IMGFS_PASS_I_H

#include <errno.h>
#include <limits.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "imgfs/imgfs.h"

/* A path being resolved, symlink targets spliced in: twice PATH_MAX. */
#define RPATH_MAX (2 * PATH_MAX)

/* A path a database lists: the kernel refuses a longer one, so no file of
 * a Linux system has it; a longer one is a missing file, with a warning. */
#define PKG_PATH_MAX (PATH_MAX - 1)

/* Bytes of a name from a database shown in a warning: a line of the
 * image may be megabytes long, the warning stays one readable line. */
#define PKG_WARN_NAME 255

/* Specificity of a claim: a language package manager's claim is more
 * precise than the distribution's (pip installed over a dpkg file). */
enum { CLS_LANG = 0, CLS_SYSTEM = 1 };

struct pkg {
	const char *manager;     /* static string */
	char *name, *version, *arch;
	int64_t missing;
	/* Its database entry in the image (pkg.location), or NULL. */
	char *location;
	/* What it requires, as its database says it (pkg/graph.c parses it):
	 * dpkg: Depends, Pre-Depends and Recommends joined by ", "; pip: one
	 * requirement a line, "NAME[EXTRAS] (SPEC) ; MARKER"; or NULL. */
	char *deps;
	char *provides;          /* dpkg: Provides, or NULL */
	/* Where its names resolve: pip's site-packages directory inode (a
	 * venv is its own scope); 0 for the others. */
	uint64_t scope;
	int autoinst;            /* dpkg: apt marked it Auto-Installed */
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
	size_t toolong;          /* paths longer than PKG_PATH_MAX, not held */
};

struct pkg_ctx {
	struct imgfs_fs *fs;
	sqlite3 *db;
	struct imgfs_err *err;   /* the fatal error's detail */
	char *image;             /* the image's path, for warnings */
	struct pkg *pkgs;
	size_t n_pkgs, cap_pkgs;
	struct claim *claims;
	size_t n_claims, cap_claims;
	uint64_t npm_walked;
	/* platform_machine of the pip markers (x86_64, aarch64...), from the
	 * image config's architecture; "" until read, "?" when unknown. */
	char machine[32];
	/* The work done so far, against the bounds of pkg/pass.c: over the
	 * pass, and by the database being read. */
	uint64_t steps, lines, db_bytes;
	const char *db_name;     /* the database being read: "dpkg" */
	/* STOP: attribution stopped for the whole pass; DB_STOP: for the
	 * database being read.  Each set once, with its warning. */
	int stop, db_stop;
	/* The last directory resolved, as (base, text): lists name many
	 * files of one directory in a row. */
	uint64_t last_base, last_ino;
	char *last_dir;
	int last_rc;
	char rbuf[2][RPATH_MAX];  /* pkg_resolve()'s path, symlink targets spliced in */
};

/* Prints "imgfs: warning: IMAGE: packages: " FMT... "; skipped" on stderr:
 * what of the image was skipped and why. */
void pkg_warn(const struct pkg_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Records out of memory on c->err; returns -ENOMEM. */
int pkg_nomem(struct pkg_ctx *c);
/* Records the index connection's last error on c->err; returns -EIO. */
int pkg_sqlfail(struct pkg_ctx *c);
/* What a read-side call's failure RC means to the pass: -ENOMEM and -EIO
 * (the index itself failing) are fatal, recorded on c->err and returned;
 * anything else is the image's, and 0. */
int pkg_fatal(struct pkg_ctx *c, int rc);

/* 1 for a failure that ends the pass (its detail then is on c->err):
 * memory, or the index failing under the read side. */
static inline int pkg_is_fatal(int rc)
{
	return rc == -ENOMEM || rc == -EIO;
}

/* 1 when attribution has stopped, for the pass or the database read. */
static inline int pkg_stopped(const struct pkg_ctx *c)
{
	return c->stop || c->db_stop;
}
/* Stops the pass, with one warning line naming the image and BOUND (the
 * first bound reached; later ones say nothing). */
void pkg_stop(struct pkg_ctx *c, const char *bound);
/* Counts N lookups in the tree (path components, listed entries); stops
 * the pass with its warning past PKG_STEPS_MAX.  Returns pkg_stopped(). */
int pkg_spend_steps(struct pkg_ctx *c, uint64_t n);
/* Counts N lines of database files; stops the pass past PKG_LINES_MAX.
 * Returns pkg_stopped(). */
int pkg_spend_lines(struct pkg_ctx *c, uint64_t n);
/* Counts a database file of N bytes about to be read: stops the database
 * past PKG_DB_BYTES_MAX (the file then is not read).  Returns
 * pkg_stopped(). */
int pkg_spend_bytes(struct pkg_ctx *c, uint64_t n);

/* Appends a copy of path S's first LEN bytes to V, or counts it in
 * V->toolong when longer than PKG_PATH_MAX; 0 or -ENOMEM (on c->err). */
int pkg_vec_add(struct pkg_ctx *c, struct strvec *v, const char *s, size_t len);
/* Frees V's strings and array; V is empty after. */
void pkg_vec_free(struct strvec *v);

#endif
