/* The packages found and the files they claim. */
#ifndef IMGFS_CLAIM_I_H
#define IMGFS_CLAIM_I_H

#include <stddef.h>
#include <stdint.h>

#include "pkg/pass_i.h"

/* Adds a package; returns its index, or -1 when over PKG_MAX or out of
 * memory (then c->nomem). */
long pkg_new(struct pkg_ctx *c, const char *manager, const char *name, const char *version,
	     const char *arch);
/* Records that package PKG lists the entry A; directories are no claim. */
void pkg_claim(struct pkg_ctx *c, size_t pkg, const struct imgfs_attr *a);
/* Resolves each path of PATHS (relative ones from BASE) and claims what it
 * names for PKG. */
void pkg_attribute(struct pkg_ctx *c, size_t pkg, uint64_t base, struct strvec *paths);

#endif
