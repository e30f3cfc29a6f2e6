/* The index's schema: the one place that says what an index file holds.
 * docs/SCHEMA.md documents every table, column, encoding and meta key;
 * treat both as an interface: a change of meaning bumps
 * IMGFS_SCHEMA_VERSION and adds a line to the doc's history. */
#ifndef IMGFS_SCHEMA_I_H
#define IMGFS_SCHEMA_I_H

#include <sqlite3.h>

struct imgfs_err;

/* An index of another version is rebuilt, never trusted. */
#define IMGFS_SCHEMA_VERSION 15

/* A number constant below as SQL text: IMGFS_SQL(IMGFS_VIEW_MERGED) is "0". */
#define IMGFS_SQL(x) IMGFS_SQL_(x)
#define IMGFS_SQL_(x) #x

/* dentry.view: which tree a name belongs to. */
#define IMGFS_VIEW_MERGED 0 /* the merged tree the container sees */
#define IMGFS_VIEW_LAYER 1  /* a layer's own tree, /.imgfs/layers/N */
#define IMGFS_VIEW_HIDDEN 2 /* a layer's hidden entries, /.imgfs/hidden/N */

/* dentry.tsize of a directory the layer did not list but a deeper entry
 * implied: no entry of the layer (dive does not count it either). */
#define IMGFS_TSIZE_IMPLIED -1

/* dentry.parent of /.imgfs: it hangs from no directory, so readdir of /
 * never lists it and only a lookup by name reaches it. */
#define IMGFS_PARENT_VIEWS -1

/* File type tests inside SQL text.  SQLite has no S_ISDIR: these are
 * <sys/stat.h>'s S_IFMT, S_IFDIR and S_IFREG, checked against it in
 * schema.c.  COL is a column expression such as "i.mode". */
#define IMGFS_SQL_IS_DIR(col) "((" col ") & 61440) = 16384"
#define IMGFS_SQL_IS_REG(col) "((" col ") & 61440) = 32768"
#define IMGFS_SQL_NOT_DIR(col) "((" col ") & 61440) <> 16384"

/* meta keys (meta.key), see docs/SCHEMA.md. */
#define IMGFS_META_SCHEMA "schema"       /* IMGFS_SCHEMA_VERSION */
#define IMGFS_META_COMPLETE "complete"   /* 1 once the build finished */
#define IMGFS_META_IDENTITY "identity"   /* what the index was built from */
#define IMGFS_META_IMAGE "image"         /* the image's real path */
#define IMGFS_META_FORMAT "format"       /* docker-archive, oci, rootfs */
#define IMGFS_META_NAME "name"           /* the chosen image name, if any */
#define IMGFS_META_CONFIG "config"       /* the config's digest or member */
#define IMGFS_META_CONFIG_FIELDS "config_fields" /* JSON: User, Entrypoint, ... */
#define IMGFS_META_OUTER "outer_compression"
#define IMGFS_META_ENTRIES "entries"     /* tar entries over all layers */
#define IMGFS_META_INODES "inodes"       /* rows of table inode */
#define IMGFS_META_CACHE "cache"         /* the content cache's path */
#define IMGFS_META_CACHE_BYTES "cache_bytes" /* its size when the build ended */

/* Creates every table of an empty index and its root inode. */
int imgfs_schema_create(sqlite3 *db, struct imgfs_err *err);

/* The indexes made once the bulk load is done (cheaper than keeping them
 * up to date through it): by inode, before the hidden views are built;
 * by parent, last. */
extern const char imgfs_schema_index_ino[];
extern const char imgfs_schema_index_parent[];

/* Scratch tables of one build (TEMP: never in the index file), each
 * created by the step that uses it. */
extern const char imgfs_scratch_member[];  /* source: the outer tar's members */
extern const char imgfs_scratch_merge[];   /* merge: subtrees, inodes with links */
extern const char imgfs_scratch_anc[];     /* merge: ancestors of a hardlinked file */
extern const char imgfs_scratch_hidden[];  /* hidden: view map and byte totals */
extern const char imgfs_scratch_pkg[];     /* packages: per-level owners */

#endif
