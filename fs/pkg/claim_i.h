/* The packages found and the files they claim. */
#ifndef IMGFS_CLAIM_I_H
#define IMGFS_CLAIM_I_H

#include <stddef.h>
#include <stdint.h>

#include "pkg/pass_i.h"

/* Adds a package (the strings are copied) and its index into *IDX.
 * Returns 0, -ENOSPC past PKG_MAX (the pass then stops, with its warning)
 * or -ENOMEM (on c->err). */
int pkg_new(struct pkg_ctx *c, const char *manager, const char *name, const char *version,
	    const char *arch, size_t *idx);
/* Records that package PKG lists the entry A; directories are no claim.
 * Returns 0 (past CLAIMS_MAX the pass stops, with its warning) or -ENOMEM
 * (on c->err). */
int pkg_claim(struct pkg_ctx *c, size_t pkg, const struct imgfs_attr *a);
/* Resolves each path of PATHS (relative ones from BASE) and claims what it
 * names for PKG; a path that does not resolve is one missing file of PKG.
 * Returns 0 or a fatal -errno (on c->err). */
int pkg_attribute(struct pkg_ctx *c, size_t pkg, uint64_t base, struct strvec *paths);

#endif
