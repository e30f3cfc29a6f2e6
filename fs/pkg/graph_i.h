/* The dependency graph of the packages found: edges, roots, dominators
 * and retained bytes, written to the index. */
#ifndef IMGFS_GRAPH_I_H
#define IMGFS_GRAPH_I_H

#include "pkg/pass_i.h"

/* Resolves each package's requirements (struct pkg's deps) to the
 * packages installed in its scope and fills table pkgdep (the edges),
 * pkgmissing (the requirements naming nothing installed) and the pkg
 * columns location, auto, root, idom, layer and retained_bytes, inside the
 * caller's transaction, after table pkgfile is complete.  Past a bound on
 * its work it warns and leaves the rest unfilled.  Returns 0, or -ENOMEM
 * or -EIO with the detail on c->err. */
int pkg_graph_write(struct pkg_ctx *c);

#endif
