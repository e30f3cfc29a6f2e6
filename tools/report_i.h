/* The tree "imgfs report" draws: the merged tree read through the public
 * interface, with each directory's hidden bytes, and the view of one
 * directory that the HTML data and the SVG share (small children merged). */
#ifndef IMGFS_TOOLS_REPORT_I_H
#define IMGFS_TOOLS_REPORT_I_H

#include <stdint.h>
#include <stdio.h>

#include "imgfs/imgfs.h"

#define RN_NONE UINT32_MAX
/* rnode.layer of a directory whose files come from several layers, and of
 * one that holds no file */
#define RL_MIXED (-2)
#define RL_NONE (-1)

enum rnode_kind { RN_FILE, RN_DIR, RN_AGG, RN_HIDDEN };

struct rnode {
	char *name;
	uint64_t ino;
	uint32_t parent, first, next;  /* the child list; RN_NONE ends it */
	uint64_t m;       /* bytes of the merged tree, each inode once (as user.imgfs.size) */
	uint64_t w;       /* a directory: user.imgfs.wasted (hidden bytes at or under it) */
	uint64_t files;   /* regular files at or under it, each path */
	int32_t layer;    /* a file: its layer; a directory: the one its files share */
	int32_t pkg;      /* index in report.pkgs, -1 none; a directory: shared or -1 */
	uint8_t kind;
};

struct rlayer {
	int num;
	char *digest, *created_by;
	int64_t stored, size, content;
	int64_t hidden;   /* user.imgfs.size of /.imgfs/hidden/N, -1 unknown */
};

struct rpkg {
	char *name;       /* manager:name */
	uint64_t bytes;   /* of its files the walk counted */
	int64_t retained; /* what removing it and what only it needs frees; -1 unknown */
};

struct report {
	struct imgfs_fs *fs;
	const char *image;
	struct rnode *n;
	size_t len, cap;
	struct rlayer *layers;
	size_t nlayers;
	struct rpkg *pkgs;
	size_t npkgs;
	uint64_t threshold; /* children below it are merged: "N files under X" */
	struct imgfs_err *err;
};

/* One child as drawn: a node, the merged small ones, or the hidden bytes. */
struct ritem {
	uint8_t kind;
	uint32_t node;    /* RN_FILE, RN_DIR: the node; else the directory */
	uint64_t bytes;   /* m + w of a directory, m of a file */
	uint64_t count;   /* RN_AGG: files merged */
	int32_t layer, pkg;
};

/* Reads the merged tree of FS into R (R->fs, R->image, R->err set by the
 * caller).  Returns 0 or a negative errno with R->err set. */
int report_walk(struct report *r);
void report_free(struct report *r);
/* Sets each package's retained bytes from the package graph, adding the
 * packages that own nothing drawn but retain something (report_retained.c).
 * Returns 0 or a negative errno with R->err set. */
int report_retained(struct report *r);
/* m + w: what node I weighs on the map. */
uint64_t report_bytes(const struct report *r, uint32_t i);
/* The drawn children of directory DIR, most bytes first, into *OUT
 * (malloc'd, the caller frees); returns their count or -ENOMEM. */
int report_view(const struct report *r, uint32_t dir, struct ritem **out);
/* The path of node I ("/" for the root) into BUF. */
void report_path(const struct report *r, uint32_t i, char *buf, size_t len);

/* Writes the HTML page of the N images R (report_html.c: one tab each) or
 * the SVG of one (report_svg.c) to F; 0 or -EIO. */
int report_html(const struct report *r, size_t n, FILE *f);
int report_svg(const struct report *r, FILE *f);

/* Writes the audit findings of R (report_findings.c: dive figures,
 * re-shipped bytes, strip savings, pattern bytes) as one JSON object to F,
 * strings through STR; 0 or a negative errno with R->err set. */
int report_findings(const struct report *r, FILE *f, void (*str)(FILE *, const char *));

/* The squarified layout (Bruls, Huizing, van Wijk 2000) of the N values V
 * (most first, all > 0) in the rectangle X, Y, W, H: rectangle K of OUT
 * (x, y, w, h) has an area proportional to V[K]. */
void report_squarify(const double *v, size_t n, double x, double y, double w, double h,
		     double (*out)[4]);

#endif
