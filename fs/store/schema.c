/* This file contains the index schema's text: every table an index file
 * holds, the indexes made after the bulk load and the build's scratch
 * tables.  docs/SCHEMA.md says what each column means. */
#include "store/schema_i.h"

#include <errno.h>
#include <sys/stat.h>

#include "util/err_i.h"

/* The SQL spellings of schema_i.h are these values. */
_Static_assert(S_IFMT == 61440 && S_IFDIR == 16384 && S_IFREG == 32768,
	       "IMGFS_SQL_IS_DIR/IS_REG spell <sys/stat.h>'s values");
_Static_assert((S_IFDIR | 0755) == 16877, "the root inode's mode below");
_Static_assert(IMGFS_VIEW_MERGED == 0, "dentry.view DEFAULT 0 below");

static const char tables[] =
	"CREATE TABLE meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;"
	"CREATE TABLE layer(num INTEGER PRIMARY KEY, digest TEXT, diff_id TEXT, media_type TEXT,"
	" compression TEXT, stored_size INT, size INT, entries INT, created_by TEXT,"
	" view_ino INT, hidden_ino INT, tar_bytes INT, gzip_size INT);"
	"CREATE TABLE source(id INTEGER PRIMARY KEY, path TEXT UNIQUE);"
	"CREATE TABLE inode(ino INTEGER PRIMARY KEY, mode INT, uid INT, gid INT, mtime INT,"
	" mtime_ns INT, size INT, rdev INT, nlink INT DEFAULT 1, target BLOB, layer INT,"
	" src INT, off INT, sub_bytes INT DEFAULT 0, sub_files INT DEFAULT 0,"
	" wasted INT DEFAULT 0);"
	/* Children are always inserted after their parent, so id order is a
	 * valid readdir order and offset. */
	"CREATE TABLE dentry(id INTEGER PRIMARY KEY, parent INT NOT NULL, name BLOB NOT NULL,"
	" ino INT NOT NULL, layer INT, depth INT, view INT DEFAULT 0, tsize INT DEFAULT 0);"
	"CREATE UNIQUE INDEX dentry_name ON dentry(parent, name);"
	"CREATE TABLE inode_layers(ino INTEGER PRIMARY KEY, layers TEXT);"
	"CREATE TABLE xattr(ino INT, name TEXT, value BLOB, PRIMARY KEY(ino, name)) WITHOUT ROWID;"
	"CREATE TABLE chunk(ino INT, idx INT, off INT, csize INT, foff INT,"
	" PRIMARY KEY(ino, idx)) WITHOUT ROWID;"
	"CREATE TABLE pkg(id INTEGER PRIMARY KEY, manager TEXT, name TEXT, version TEXT, arch TEXT,"
	" files INT DEFAULT 0, bytes INT DEFAULT 0, missing INT DEFAULT 0, layers TEXT,"
	" location TEXT, auto INT DEFAULT 0, root INT DEFAULT 0, idom INT, layer INT,"
	" retained_bytes INT);"
	"CREATE INDEX pkg_idom ON pkg(idom);"
	"CREATE TABLE pkgdep(pkg INT, dep INT, PRIMARY KEY(pkg, dep)) WITHOUT ROWID;"
	"CREATE INDEX pkgdep_dep ON pkgdep(dep);"
	"CREATE TABLE pkgmissing(pkg INT, name TEXT, PRIMARY KEY(pkg, name)) WITHOUT ROWID;"
	"CREATE TABLE pkgfile(ino INT, pkg INT, rank INT, PRIMARY KEY(ino, pkg)) WITHOUT ROWID;"
	"CREATE TABLE pkgdir(ino INTEGER PRIMARY KEY, pkg INT);"
	"CREATE TABLE elf(ino INTEGER PRIMARY KEY, strip_bytes INT, debug_bytes INT,"
	" symtab_bytes INT);"
	"INSERT INTO inode(ino, mode, uid, gid, mtime, mtime_ns, size, rdev, layer)"
	" VALUES(1, 16877, 0, 0, 0, 0, 0, 0, 0);";

const char imgfs_schema_index_ino[] = "CREATE INDEX IF NOT EXISTS dentry_ino ON dentry(ino);";
const char imgfs_schema_index_parent[] = "CREATE INDEX dentry_parent ON dentry(parent);";

const char imgfs_scratch_member[] =
	"CREATE TEMP TABLE IF NOT EXISTS member(name BLOB PRIMARY KEY, type INT, off INT,"
	" size INT, link BLOB);";
/* sub: a subtree being whited out; linked: inodes that got a second name,
 * whose links the finish counts */
const char imgfs_scratch_merge[] =
	"CREATE TEMP TABLE IF NOT EXISTS sub(id INTEGER PRIMARY KEY, pid INT, layer INT);"
	"CREATE TEMP TABLE IF NOT EXISTS linked(ino INTEGER PRIMARY KEY);";
const char imgfs_scratch_anc[] =
	"CREATE TEMP TABLE IF NOT EXISTS anc(ino INTEGER PRIMARY KEY, n INT);";
/* hmap: layer-view directory -> its hidden-view mirror; wacc: hidden bytes
 * per merged-tree inode */
const char imgfs_scratch_hidden[] =
	"CREATE TEMP TABLE hmap(vino INTEGER PRIMARY KEY, hino INT);"
	"CREATE TEMP TABLE wacc(ino INTEGER PRIMARY KEY, n INT);";

/* lvl: the merged tree's directories and owned files by depth; dirpkg:
 * bytes per directory and package, summed bottom up */
const char imgfs_scratch_pkg[] =
	"CREATE TEMP TABLE lvl(depth INT, parent INT, ino INT, pkg INT, size INT);"
	"CREATE TEMP TABLE dirpkg(dir INT, pkg INT, bytes INT, PRIMARY KEY(dir, pkg)) WITHOUT ROWID;";

int imgfs_schema_create(sqlite3 *db, struct imgfs_err *err)
{
	if (sqlite3_exec(db, tables, NULL, NULL, NULL) != SQLITE_OK)
		return imgfs_errf(err, -EIO, 0, "index: schema: %s", sqlite3_errmsg(db));
	return 0;
}
