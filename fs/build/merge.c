/* This file contains the layer changeset rules (OCI image-spec layer.md):
 * adding, replacing and merging entries, whiteouts and opaque directories,
 * hardlinks bound to inodes, and the totals computed once the tree is done. */
#include "build/merge_i.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "util/err_i.h"
#include "store/schema_i.h"
#include "build/hidden_i.h"
#include "build/layerset_i.h"

static int db_fail(struct imgfs_merge *m)
{
	return imgfs_errf(m->err, -EIO, 0, "index: %s", sqlite3_errmsg(m->db));
}

int imgfs_merge_init(struct imgfs_merge *m, sqlite3 *db, struct imgfs_err *err)
{
	static const struct {
		size_t off;
		const char *sql;
	} stmts[] = {
#define S(f, q) { offsetof(struct imgfs_merge, f), q }
		S(find, "SELECT d.id, d.ino, i.mode FROM dentry d JOIN inode i ON i.ino=d.ino "
			"WHERE d.parent=?1 AND d.name=?2"),
		/* nlink and sub_bytes start as a lone file's or an empty
		 * directory's; imgfs_merge_finish corrects the rest. */
		S(ins_inode, "INSERT INTO inode(mode,uid,gid,mtime,mtime_ns,size,rdev,target,layer,src,off,"
			     "nlink,sub_bytes) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,"
			     "CASE WHEN " IMGFS_SQL_IS_DIR("?1") " THEN 2 ELSE 1 END,"
			     "CASE WHEN " IMGFS_SQL_IS_REG("?1") " THEN ?6 ELSE 0 END)"),
		S(mark_link, "INSERT OR IGNORE INTO temp.linked VALUES(?1)"),
		S(ins_dentry, "INSERT INTO dentry(parent,name,ino,layer,depth,view,tsize) "
			      "VALUES(?,?,?,?,?,?,?)"),
		S(upd_dir, "UPDATE inode SET mode=?1, uid=?2, gid=?3, mtime=?4, mtime_ns=?5, layer=?6 "
			   "WHERE ino=?7"),
		S(upd_dentry_layer, "UPDATE dentry SET layer=?1 WHERE id=?2"),
		S(upd_tsize, "UPDATE dentry SET tsize=?1 WHERE id=?2"),
		S(del_subtree, "WITH RECURSIVE s(id, ino) AS (SELECT id, ino FROM dentry WHERE id=?1 "
			       "UNION ALL SELECT c.id, c.ino FROM dentry c JOIN s ON c.parent=s.ino) "
			       "DELETE FROM dentry WHERE id IN (SELECT id FROM s)"),
		S(sub_fill, "INSERT INTO temp.sub(id, pid, layer) WITH RECURSIVE "
			    "s(id, ino, pid, layer) AS (SELECT id, ino, NULL, layer FROM dentry WHERE id=?1 "
			    "UNION ALL SELECT c.id, c.ino, s.id, c.layer FROM dentry c JOIN s ON c.parent=s.ino) "
			    "SELECT id, pid, layer FROM s"),
		S(sub_fill_children, "INSERT INTO temp.sub(id, pid, layer) WITH RECURSIVE "
			    "s(id, ino, pid, layer) AS (SELECT id, ino, NULL, layer FROM dentry WHERE parent=?1 "
			    "UNION ALL SELECT c.id, c.ino, s.id, c.layer FROM dentry c JOIN s ON c.parent=s.ino) "
			    "SELECT id, pid, layer FROM s"),
		/* Whiteouts apply to lower layers only: what this layer already
		 * wrote survives, with the directories that lead to it. */
		S(sub_keep, "WITH RECURSIVE k(id) AS (SELECT id FROM temp.sub WHERE layer=?1 "
			    "UNION SELECT s.pid FROM temp.sub s JOIN k ON s.id=k.id WHERE s.pid IS NOT NULL) "
			    "DELETE FROM dentry WHERE id IN (SELECT id FROM temp.sub) "
			    "AND id NOT IN (SELECT id FROM k)"),
		S(sub_clear, "DELETE FROM temp.sub"),
		S(del_xattrs, "DELETE FROM xattr WHERE ino=?1"),
		S(ins_xattr, "INSERT OR REPLACE INTO xattr(ino,name,value) VALUES(?,?,?)"),
		S(ins_chunk, "INSERT OR REPLACE INTO chunk(ino,idx,off,csize,foff) VALUES(?,?,?,?,?)"),
		S(root_attr, "UPDATE inode SET mode=?1, uid=?2, gid=?3, mtime=?4, mtime_ns=?5, layer=?6 "
			     "WHERE ino=1"),
		/* What a whiteout of a directory hides, in dive's measure: the
		 * tar sizes of the lower layers' entries beneath it. */
		S(sub_tsize, "WITH RECURSIVE s(id, ino) AS (SELECT id, ino FROM dentry WHERE id=?1 "
			     "UNION ALL SELECT c.id, c.ino FROM dentry c JOIN s ON c.parent=s.ino) "
			     "SELECT coalesce(sum(d.tsize), 0) FROM dentry d WHERE d.id IN "
			     "(SELECT id FROM s) AND d.layer < ?2 AND d.tsize > 0"),
#undef S
	};
	size_t i;

	memset(m, 0, sizeof(*m));
	m->db = db;
	m->err = err;
	m->merged.root = IMGFS_ROOT_INO;
	if (sqlite3_exec(db, imgfs_scratch_merge, NULL, NULL, NULL) != SQLITE_OK)
		return db_fail(m);
	for (i = 0; i < sizeof(stmts) / sizeof(stmts[0]); i++) {
		sqlite3_stmt **st = (sqlite3_stmt **)((char *)m + stmts[i].off);

		if (sqlite3_prepare_v2(db, stmts[i].sql, -1, st, NULL) != SQLITE_OK) {
			int rc = db_fail(m);

			imgfs_merge_fini(m);
			return rc;
		}
	}
	return 0;
}

void imgfs_merge_fini(struct imgfs_merge *m)
{
	sqlite3_stmt **all[] = { &m->find, &m->ins_inode, &m->ins_dentry, &m->upd_dir,
				 &m->upd_dentry_layer, &m->del_subtree, &m->sub_fill, &m->sub_keep,
				 &m->sub_clear, &m->sub_fill_children, &m->del_xattrs, &m->ins_xattr,
				 &m->ins_chunk, &m->root_attr, &m->sub_tsize, &m->upd_tsize,
				 &m->mark_link };
	size_t i;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		sqlite3_finalize(*all[i]);
		*all[i] = NULL;
	}
}

/* Runs a statement that returns no rows, then resets it. */
static int run(struct imgfs_merge *m, sqlite3_stmt *st)
{
	int r = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return r == SQLITE_DONE ? 0 : db_fail(m);
}

/* Finds NAME in directory PARENT: 1 and the row, 0 if absent, <0 error. */
static int find(struct imgfs_merge *m, int64_t parent, const char *name, int64_t *id,
		int64_t *ino, uint32_t *mode)
{
	int r;

	sqlite3_bind_int64(m->find, 1, parent);
	sqlite3_bind_blob(m->find, 2, name, (int)strlen(name), SQLITE_STATIC);
	r = sqlite3_step(m->find);
	if (r == SQLITE_ROW) {
		*id = sqlite3_column_int64(m->find, 0);
		*ino = sqlite3_column_int64(m->find, 1);
		*mode = (uint32_t)sqlite3_column_int64(m->find, 2);
	}
	sqlite3_reset(m->find);
	if (r == SQLITE_ROW)
		return 1;
	return r == SQLITE_DONE ? 0 : db_fail(m);
}

static int new_inode(struct imgfs_merge *m, const struct imgfs_entry *e, int64_t *ino)
{
	sqlite3_stmt *st = m->ins_inode;
	int rc;

	sqlite3_bind_int64(st, 1, e->mode);
	sqlite3_bind_int64(st, 2, e->uid);
	sqlite3_bind_int64(st, 3, e->gid);
	sqlite3_bind_int64(st, 4, e->mtime);
	sqlite3_bind_int64(st, 5, e->mtime_ns);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)e->size);
	sqlite3_bind_int64(st, 7, (sqlite3_int64)e->rdev);
	if (e->symlink)
		sqlite3_bind_blob(st, 8, e->symlink, (int)strlen(e->symlink), SQLITE_STATIC);
	sqlite3_bind_int(st, 9, m->layer);
	if (e->data_src > 0) {
		sqlite3_bind_int64(st, 10, e->data_src);
		sqlite3_bind_int64(st, 11, (sqlite3_int64)e->data_off);
	}
	rc = run(m, st);
	if (rc == 0)
		*ino = sqlite3_last_insert_rowid(m->db);
	return rc;
}

/* Adds name NAME of inode INO to directory PARENT.  A name already in
 * PARENT is no error: returns 1 then, so the common case (a new name)
 * costs one B-tree probe, not two. */
static int try_dentry(struct imgfs_merge *m, int64_t parent, const char *name, int64_t ino,
		      int64_t depth, int view, int64_t tsize)
{
	int r;

	sqlite3_bind_int64(m->ins_dentry, 1, parent);
	sqlite3_bind_blob(m->ins_dentry, 2, name, (int)strlen(name), SQLITE_STATIC);
	sqlite3_bind_int64(m->ins_dentry, 3, ino);
	sqlite3_bind_int(m->ins_dentry, 4, m->layer);
	sqlite3_bind_int64(m->ins_dentry, 5, depth);
	sqlite3_bind_int(m->ins_dentry, 6, view);
	sqlite3_bind_int64(m->ins_dentry, 7, tsize);
	r = sqlite3_step(m->ins_dentry);
	sqlite3_reset(m->ins_dentry);
	sqlite3_clear_bindings(m->ins_dentry);
	if (r == SQLITE_DONE)
		return 0;
	if (r == SQLITE_CONSTRAINT)
		return 1;
	return db_fail(m);
}

/* Adds name NAME of inode INO to PARENT, which must not have it. */
static int new_dentry(struct imgfs_merge *m, int64_t parent, const char *name, int64_t ino,
		      int64_t depth, int view, int64_t tsize)
{
	int r = try_dentry(m, parent, name, ino, depth, view, tsize);

	return r == 1 ? imgfs_errf(m->err, -EIO, 0, "index: duplicate name %s", name) : r;
}

/* Removes dentry ID and everything beneath it, whatever the layer. */
static int remove_all(struct imgfs_merge *m, int64_t id)
{
	m->merged.last_valid = 0;
	m->lview.last_valid = 0;
	sqlite3_bind_int64(m->del_subtree, 1, id);
	return run(m, m->del_subtree);
}

/* Removes what lower layers put at dentry ID (CHILDREN: beneath directory
 * inode ID instead), keeping this layer's own entries. */
static int remove_lower(struct imgfs_merge *m, int64_t id, int children)
{
	sqlite3_stmt *fill = children ? m->sub_fill_children : m->sub_fill;
	int rc;

	m->merged.last_valid = 0;
	sqlite3_bind_int64(fill, 1, id);
	rc = run(m, fill);
	if (rc)
		return rc;
	sqlite3_bind_int(m->sub_keep, 1, m->layer);
	rc = run(m, m->sub_keep);
	if (rc)
		return rc;
	return run(m, m->sub_clear);
}

/* Gives directory inode INO the attributes of entry E, from this layer. */
static int set_dir_attrs(struct imgfs_merge *m, const struct imgfs_entry *e, int64_t ino)
{
	sqlite3_bind_int64(m->upd_dir, 1, e->mode);
	sqlite3_bind_int64(m->upd_dir, 2, e->uid);
	sqlite3_bind_int64(m->upd_dir, 3, e->gid);
	sqlite3_bind_int64(m->upd_dir, 4, e->mtime);
	sqlite3_bind_int64(m->upd_dir, 5, e->mtime_ns);
	sqlite3_bind_int(m->upd_dir, 6, m->layer);
	sqlite3_bind_int64(m->upd_dir, 7, ino);
	return run(m, m->upd_dir);
}

/* Implied directories get tsize -1: no entry of their own wrote them. */

static int implied_dir(struct imgfs_merge *m, const struct imgfs_cursor *c, int64_t parent,
		       const char *name, int64_t depth, int64_t *ino)
{
	/* Docker and the OCI recommendation: a missing parent is 0755 root:root. */
	struct imgfs_entry d = { .path = name, .mode = S_IFDIR | 0755 };
	int rc = new_inode(m, &d, ino);

	return rc ? rc : new_dentry(m, parent, name, *ino, depth, c->view, IMGFS_TSIZE_IMPLIED);
}

/* Resolves directory path DIR under cursor C to its inode and depth.  With
 * CREATE, missing or non-directory components become implied directories. */
static int resolve_dir(struct imgfs_merge *m, struct imgfs_cursor *c, const char *dir,
		       int create, int64_t *ino, int64_t *depth)
{
	char comp[IMGFS_PATH_MAX];
	const char *p = dir;
	int64_t cur = c->root, d = c->root_depth;

	if (!dir[0]) {
		*ino = c->root;
		*depth = c->root_depth;
		return 0;
	}
	if (c->last_valid && strcmp(c->last_dir, dir) == 0) {
		*ino = c->last_ino;
		*depth = c->last_depth;
		return 0;
	}
	while (*p) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		int64_t id, cino;
		uint32_t mode;
		int r;

		memcpy(comp, p, n);
		comp[n] = '\0';
		p += n + (slash ? 1 : 0);
		d++;
		r = find(m, cur, comp, &id, &cino, &mode);
		if (r < 0)
			return r;
		if (r == 1 && (mode & S_IFMT) == S_IFDIR) {
			cur = cino;
			continue;
		}
		if (!create)
			return -ENOENT;
		if (r == 1) {
			r = remove_all(m, id);
			if (r)
				return r;
		}
		r = implied_dir(m, c, cur, comp, d, &cino);
		if (r)
			return r;
		cur = cino;
	}
	if (strlen(dir) < sizeof(c->last_dir)) {
		strcpy(c->last_dir, dir);
		c->last_ino = cur;
		c->last_depth = d;
		c->last_valid = 1;
	}
	*ino = cur;
	*depth = d;
	return 0;
}

/* Makes directory NAME in PARENT (a view) and returns its inode. */
static int view_dir(struct imgfs_merge *m, int64_t parent, const char *name, int64_t depth,
		    int view, int64_t *ino)
{
	struct imgfs_entry d = { .path = name, .mode = S_IFDIR | 0555 };
	int rc = new_inode(m, &d, ino);

	return rc ? rc : new_dentry(m, parent, name, *ino, depth, view, 0);
}

/* Splits PATH into a directory (copied into DIRBUF) and a base name. */
static void split(const char *path, char *dirbuf, const char **base)
{
	const char *slash = strrchr(path, '/');

	if (!slash) {
		dirbuf[0] = '\0';
		*base = path;
		return;
	}
	memcpy(dirbuf, path, (size_t)(slash - path));
	dirbuf[slash - path] = '\0';
	*base = slash + 1;
}

int imgfs_merge_begin_layer(struct imgfs_merge *m, int num, int64_t *view_ino,
			    int64_t *hidden_ino)
{
	char name[32];
	int rc;

	m->layer = num;
	m->tar_bytes = 0;
	if (!m->views_ino) {
		/* /.imgfs has no parent row: readdir of / never lists it, and
		 * the read side reaches it by name (see tree.c). */
		rc = view_dir(m, IMGFS_PARENT_VIEWS, IMGFS_VIEW_NAME, 1, IMGFS_VIEW_LAYER, &m->views_ino);
		if (!rc)
			rc = view_dir(m, m->views_ino, "layers", 2, IMGFS_VIEW_LAYER, &m->layers_ino);
		if (!rc)
			rc = view_dir(m, m->views_ino, "hidden", 2, IMGFS_VIEW_HIDDEN, &m->hidden_ino);
		if (rc)
			return rc;
	}
	snprintf(name, sizeof(name), "%d", num);
	rc = view_dir(m, m->layers_ino, name, 3, IMGFS_VIEW_LAYER, view_ino);
	if (!rc)
		rc = view_dir(m, m->hidden_ino, name, 3, IMGFS_VIEW_HIDDEN, hidden_ino);
	if (rc)
		return rc;
	memset(&m->lview, 0, sizeof(m->lview));
	m->lview.root = *view_ino;
	m->lview.root_depth = 3;
	m->lview.view = IMGFS_VIEW_LAYER;
	m->layer_hidden = *hidden_ino;
	return 0;
}

/* Records entry E (inode INO; a directory gets its own view inode) in the
 * current layer's own tree, as its tar has it: the last entry of a
 * duplicated name wins there too. */
static int view_add(struct imgfs_merge *m, const struct imgfs_entry *e, int64_t ino, int64_t tsize)
{
	char dir[IMGFS_PATH_MAX];
	const char *base;
	int64_t dino, depth, id = 0, old = 0;
	uint32_t omode = 0;
	int r;

	if (!m->lview.root || !e->path[0])
		return 0;
	split(e->path, dir, &base);
	r = resolve_dir(m, &m->lview, dir, 1, &dino, &depth);
	if (r)
		return r;
	if ((e->mode & S_IFMT) != S_IFDIR || e->hardlink) {
		/* a non-directory: a new name nearly always */
		r = try_dentry(m, dino, base, ino, depth + 1, 1, tsize);
		if (r <= 0)
			return r;
	}
	r = find(m, dino, base, &id, &old, &omode);
	if (r < 0)
		return r;
	if ((e->mode & S_IFMT) == S_IFDIR && !e->hardlink) {
		if (id && (omode & S_IFMT) == S_IFDIR) {
			if ((r = set_dir_attrs(m, e, old)) != 0)
				return r;
			/* no longer implied: this layer has an entry for it */
			sqlite3_bind_int64(m->upd_tsize, 1, 0);
			sqlite3_bind_int64(m->upd_tsize, 2, id);
			return run(m, m->upd_tsize);
		}
		if (id && (r = remove_all(m, id)) != 0)
			return r;
		r = new_inode(m, e, &ino);
		return r ? r : new_dentry(m, dino, base, ino, depth + 1, IMGFS_VIEW_LAYER, 0);
	}
	if (id && (r = remove_all(m, id)) != 0)
		return r;
	return new_dentry(m, dino, base, ino, depth + 1, IMGFS_VIEW_LAYER, tsize);
}

/* Records a whiteout or opaque marker NAME in directory DIR of the
 * current layer's own tree as an empty file; TSIZE is what it hid. */
static int view_marker(struct imgfs_merge *m, const char *dir, const char *name, int64_t tsize)
{
	char path[IMGFS_PATH_MAX];
	struct imgfs_entry e = { .path = path, .mode = S_IFREG | 0644 };
	int64_t ino;
	int r;

	if ((size_t)snprintf(path, sizeof(path), "%s%s%s", dir, dir[0] ? "/" : "", name) >= sizeof(path))
		return 0;
	r = new_inode(m, &e, &ino);
	return r ? r : view_add(m, &e, ino, tsize);
}

int imgfs_merge_entry(struct imgfs_merge *m, const struct imgfs_entry *e, int64_t *ino)
{
	char dir[IMGFS_PATH_MAX];
	const char *base;
	int64_t dino, depth, id = 0, old = 0;
	int64_t tsize = (e->mode & S_IFMT) == S_IFREG && !e->hardlink ? (int64_t)e->size : 0;
	uint32_t omode = 0;
	int r;

	m->tar_bytes += (uint64_t)tsize;
	if (!e->path[0]) {
		/* The root keeps its type; an explicit entry sets its attributes. */
		if ((e->mode & S_IFMT) != S_IFDIR)
			return 0;
		sqlite3_bind_int64(m->root_attr, 1, e->mode);
		sqlite3_bind_int64(m->root_attr, 2, e->uid);
		sqlite3_bind_int64(m->root_attr, 3, e->gid);
		sqlite3_bind_int64(m->root_attr, 4, e->mtime);
		sqlite3_bind_int64(m->root_attr, 5, e->mtime_ns);
		sqlite3_bind_int(m->root_attr, 6, m->layer);
		*ino = IMGFS_ROOT_INO;
		sqlite3_bind_int64(m->del_xattrs, 1, IMGFS_ROOT_INO);
		r = run(m, m->del_xattrs);
		return r ? r : run(m, m->root_attr);
	}
	split(e->path, dir, &base);
	r = resolve_dir(m, &m->merged, dir, 1, &dino, &depth);
	if (r)
		return r;
	if (!e->hardlink && (e->mode & S_IFMT) != S_IFDIR) {
		/* A non-directory replaces whatever has its name: insert first,
		 * and only when the name is taken look at what is there. */
		r = new_inode(m, e, ino);
		if (r)
			return r;
		r = try_dentry(m, dino, base, *ino, depth + 1, 0, tsize);
		if (r == 1) {
			r = find(m, dino, base, &id, &old, &omode);
			if (r < 0)
				return r;
			if ((r = remove_all(m, id)) != 0)
				return r;
			r = new_dentry(m, dino, base, *ino, depth + 1, IMGFS_VIEW_MERGED, tsize);
		}
		return r ? r : view_add(m, e, *ino, tsize);
	}
	r = find(m, dino, base, &id, &old, &omode);
	if (r < 0)
		return r;

	if (e->hardlink) {
		char tdir[IMGFS_PATH_MAX];
		const char *tbase;
		int64_t tdino, tdepth, tid, tino;
		uint32_t tmode;

		if (!e->hardlink[0])
			return imgfs_errf(m->err, -EISDIR, 1, "hardlink %s points at the root", e->path);
		split(e->hardlink, tdir, &tbase);
		r = resolve_dir(m, &m->merged, tdir, 0, &tdino, &tdepth);
		if (r == 0)
			r = find(m, tdino, tbase, &tid, &tino, &tmode);
		if (r < 0 && r != -ENOENT)
			return r;
		if (r <= 0)
			return imgfs_errf(m->err, -ENOENT, 1, "hardlink %s: target %s does not exist",
					  e->path, e->hardlink);
		if ((tmode & S_IFMT) == S_IFDIR)
			return imgfs_errf(m->err, -EISDIR, 1, "hardlink %s: target %s is a directory",
					  e->path, e->hardlink);
		*ino = tino;
		if (id && old == tino) {
			sqlite3_bind_int(m->upd_dentry_layer, 1, m->layer);
			sqlite3_bind_int64(m->upd_dentry_layer, 2, id);
			r = run(m, m->upd_dentry_layer);
		} else {
			if (id && (r = remove_all(m, id)) != 0)
				return r;
			r = new_dentry(m, dino, base, tino, depth + 1, IMGFS_VIEW_MERGED, 0);
			if (r == 0) {
				sqlite3_bind_int64(m->mark_link, 1, tino);
				r = run(m, m->mark_link);
			}
		}
		return r ? r : view_add(m, e, tino, 0);
	}

	if (id && (omode & S_IFMT) == S_IFDIR && (e->mode & S_IFMT) == S_IFDIR) {
		/* Directory over directory: new attributes, lower children kept. */
		if ((r = set_dir_attrs(m, e, old)) != 0)
			return r;
		sqlite3_bind_int(m->upd_dentry_layer, 1, m->layer);
		sqlite3_bind_int64(m->upd_dentry_layer, 2, id);
		if ((r = run(m, m->upd_dentry_layer)) != 0)
			return r;
		sqlite3_bind_int64(m->del_xattrs, 1, old);
		*ino = old;
		if ((r = run(m, m->del_xattrs)) != 0)
			return r;
		return view_add(m, e, old, 0);
	}
	/* Everything else: unlink what is there, then create anew. */
	if (id && (r = remove_all(m, id)) != 0)
		return r;
	r = new_inode(m, e, ino);
	if (!r)
		r = new_dentry(m, dino, base, *ino, depth + 1, IMGFS_VIEW_MERGED, tsize);
	return r ? r : view_add(m, e, *ino, tsize);
}

/* A whiteout or opaque marker is an entry of its directory like any
 * other: its directory is made first when missing, or when a lower layer
 * has a file or a symlink there, as for every entry.  Docker does that:
 * moby's UnpackLayer (pkg/archive/diff.go) makes a missing parent of each
 * entry ("ensure that the parent directory exists") before it looks at
 * whether the entry is a whiteout, in the layer's own directory, which
 * overlayfs then puts over the lower ones: an empty directory hides the
 * lower file or symlink, and stands where there was nothing. */
int imgfs_merge_whiteout(struct imgfs_merge *m, const char *dir, const char *name)
{
	char marker[IMGFS_PATH_MAX];
	int64_t dino, depth, id, ino, hid = 0;
	uint32_t mode;
	int r = resolve_dir(m, &m->merged, dir, 1, &dino, &depth);

	snprintf(marker, sizeof(marker), ".wh.%s", name);
	if (r == 0) {
		r = find(m, dino, name, &id, &ino, &mode);
		if (r == 1) {
			if ((mode & S_IFMT) == S_IFDIR) {
				sqlite3_bind_int64(m->sub_tsize, 1, id);
				sqlite3_bind_int(m->sub_tsize, 2, m->layer);
				if (sqlite3_step(m->sub_tsize) == SQLITE_ROW)
					hid = sqlite3_column_int64(m->sub_tsize, 0);
				sqlite3_reset(m->sub_tsize);
			}
			r = remove_lower(m, id, 0);
		}
	}
	return r < 0 ? r : view_marker(m, dir, marker, hid);
}

int imgfs_merge_opaque(struct imgfs_merge *m, const char *dir)
{
	int64_t dino, depth;
	int r = resolve_dir(m, &m->merged, dir, 1, &dino, &depth);

	if (r == 0)
		r = remove_lower(m, dino, 1);
	return r < 0 ? r : view_marker(m, dir, ".wh..wh..opq", 0);
}

int imgfs_merge_xattr(struct imgfs_merge *m, int64_t ino, const char *name,
		      const void *value, size_t len)
{
	sqlite3_bind_int64(m->ins_xattr, 1, ino);
	sqlite3_bind_text(m->ins_xattr, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_blob(m->ins_xattr, 3, value ? value : "", (int)len, SQLITE_STATIC);
	return run(m, m->ins_xattr);
}

int imgfs_merge_view_file(struct imgfs_merge *m, const char *name, int64_t src, uint64_t off,
			  uint64_t size)
{
	struct imgfs_entry e = {
		.path = name, .mode = S_IFREG | 0444, .size = size, .data_src = src, .data_off = off,
	};
	int64_t ino;
	int rc, layer = m->layer;

	if (!m->views_ino)
		return 0;
	m->layer = 0; /* as /.imgfs itself: no layer ships it */
	rc = new_inode(m, &e, &ino);
	m->layer = layer;
	return rc ? rc : new_dentry(m, m->views_ino, name, ino, 2, IMGFS_VIEW_LAYER, 0);
}

int imgfs_merge_chunk(struct imgfs_merge *m, int64_t ino, int64_t idx, uint64_t off,
		      uint32_t csize, uint32_t foff)
{
	sqlite3_bind_int64(m->ins_chunk, 5, foff);
	sqlite3_bind_int64(m->ins_chunk, 1, ino);
	sqlite3_bind_int64(m->ins_chunk, 2, idx);
	sqlite3_bind_int64(m->ins_chunk, 3, (sqlite3_int64)off);
	sqlite3_bind_int64(m->ins_chunk, 4, csize);
	return run(m, m->ins_chunk);
}

/* Monotonic seconds, for the phase times. */
static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int exec(struct imgfs_merge *m, const char *sql)
{
	return sqlite3_exec(m->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : db_fail(m);
}

/* A hardlinked file was summed once per name: take the extra copies back
 * from every directory that holds more than one of its names. */
static int fix_hardlink_totals(struct imgfs_merge *m)
{
	sqlite3_stmt *files = NULL, *names = NULL, *up = NULL, *fix = NULL;
	int rc = 0, step = SQLITE_DONE, nstep;

	if (exec(m, imgfs_scratch_anc))
		return -EIO;
	/* every inode that got a second name, in any view: a hidden one
	 * may have no name left in the merged tree */
	if (sqlite3_prepare_v2(m->db, "SELECT ino, size FROM inode WHERE " IMGFS_SQL_IS_REG("mode") " "
			       "AND size>0 AND ino IN (SELECT ino FROM temp.linked)", -1, &files,
			       NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(m->db, "SELECT parent FROM dentry WHERE ino=?1", -1, &names,
			       NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(m->db, "INSERT INTO anc VALUES(?1, 1) ON CONFLICT(ino) DO UPDATE "
			       "SET n=n+1", -1, &up, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(m->db, "UPDATE inode SET sub_bytes = sub_bytes - (a.n - 1) * ?1 "
			       "FROM anc a WHERE inode.ino = a.ino AND a.n > 1", -1, &fix,
			       NULL) != SQLITE_OK) {
		rc = db_fail(m);
		goto out;
	}
	while ((step = sqlite3_step(files)) == SQLITE_ROW) {
		int64_t ino = sqlite3_column_int64(files, 0), size = sqlite3_column_int64(files, 1);
		int64_t *parents = NULL;
		size_t n = 0, cap = 0, i;

		sqlite3_bind_int64(names, 1, ino);
		while ((nstep = sqlite3_step(names)) == SQLITE_ROW) {
			if (n == cap) {
				int64_t *np = realloc(parents, (cap = cap ? cap * 2 : 16) * sizeof(*np));

				if (!np) {
					free(parents);
					rc = imgfs_errf(m->err, -ENOMEM, 0, "out of memory");
					goto out;
				}
				parents = np;
			}
			parents[n++] = sqlite3_column_int64(names, 0);
		}
		sqlite3_reset(names);
		if (nstep != SQLITE_DONE) {
			free(parents);
			rc = db_fail(m);
			goto out;
		}
		for (i = 0; i < n && rc == 0; i++) {
			int64_t p = parents[i];

			/* Each name's ancestors, the root included; directories have
			 * one name each, so the walk is a chain. */
			while (rc == 0) {
				sqlite3_bind_int64(up, 1, p);
				rc = run(m, up);
				if (p == IMGFS_ROOT_INO)
					break;
				sqlite3_bind_int64(names, 1, p);
				if (sqlite3_step(names) != SQLITE_ROW) {
					sqlite3_reset(names);
					break;
				}
				p = sqlite3_column_int64(names, 0);
				sqlite3_reset(names);
			}
		}
		free(parents);
		if (rc)
			goto out;
		sqlite3_bind_int64(fix, 1, size);
		if ((rc = run(m, fix)) != 0 || (rc = exec(m, "DELETE FROM anc")) != 0)
			goto out;
	}
	/* a read error must not pass for the last hardlinked file */
	if (step != SQLITE_DONE)
		rc = db_fail(m);
out:
	sqlite3_finalize(files);
	sqlite3_finalize(names);
	sqlite3_finalize(up);
	sqlite3_finalize(fix);
	return rc;
}

/* An image's own /.imgfs would hide the virtual view (du of
 * /.imgfs/hidden/0 found nothing while / had hidden bytes): the view wins
 * the name, and the image's entry becomes /.imgfs/.imgfs, the same name one
 * level down (README, "Where the specification leaves a choice").  Done
 * last, so the totals of / still count what the image ships there. */
static int move_own_view_name(struct imgfs_merge *m)
{
	sqlite3_stmt *q = NULL;
	int rc = 0;

	if (!m->views_ino)
		return 0;
	if (sqlite3_prepare_v2(m->db, "UPDATE dentry SET parent = ?1 WHERE parent = "
			       IMGFS_SQL(IMGFS_ROOT_INO) " AND name = ?2 AND view = "
			       IMGFS_SQL(IMGFS_VIEW_MERGED) " RETURNING (SELECT mode FROM inode i"
			       " WHERE i.ino = dentry.ino)", -1, &q, NULL) != SQLITE_OK) {
		rc = db_fail(m);
		goto out;
	}
	sqlite3_bind_int64(q, 1, m->views_ino);
	sqlite3_bind_blob(q, 2, IMGFS_VIEW_NAME, (int)strlen(IMGFS_VIEW_NAME), SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW && (sqlite3_column_int64(q, 0) & S_IFMT) == S_IFDIR) {
		/* a directory's ".." link moves with it */
		sqlite3_finalize(q);
		q = NULL;
		rc = exec(m, "UPDATE inode SET nlink = nlink - 1 WHERE ino = " IMGFS_SQL(IMGFS_ROOT_INO));
		if (rc == 0 && sqlite3_prepare_v2(m->db, "UPDATE inode SET nlink = nlink + 1 WHERE ino = ?1",
						  -1, &q, NULL) != SQLITE_OK)
			rc = db_fail(m);
		if (rc == 0) {
			sqlite3_bind_int64(q, 1, m->views_ino);
			rc = sqlite3_step(q) == SQLITE_DONE ? 0 : db_fail(m);
		}
	} else {
		rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_fail(m);
	}
out:
	sqlite3_finalize(q);
	return rc;
}

static void begin(struct imgfs_merge *m, const char *name)
{
	if (m->phase)
		m->phase(m->phase_ctx, name);
}

int imgfs_merge_finish(struct imgfs_merge *m)
{
	sqlite3_stmt *level = NULL, *maxd = NULL;
	int64_t d;
	int rc;

	m->merged.last_valid = 0;
	begin(m, "inode index");
	rc = exec(m, imgfs_schema_index_ino);
	if (m->timing)
		fprintf(stderr, "imgfs: timing: finish: dentry_ino index at %.3f s\n", mono() - m->t0);
	begin(m, "hidden views");
	if (rc == 0 && m->views_ino)
		rc = imgfs_hidden_build(m->db, m->err);
	if (m->timing)
		fprintf(stderr, "imgfs: timing: finish: hidden views at %.3f s\n", mono() - m->t0);
	begin(m, "layer lists");
	if (rc == 0)
		rc = imgfs_layerset_build(m->db, m->err);
	if (m->timing)
		fprintf(stderr, "imgfs: timing: finish: layer lists at %.3f s\n", mono() - m->t0);
	if (rc)
		return rc;
	begin(m, "tree totals");
	rc = exec(m, ""
		     "DELETE FROM inode WHERE ino<>1 AND ino NOT IN (SELECT ino FROM dentry);"
		     "DELETE FROM xattr WHERE ino NOT IN (SELECT ino FROM inode);"
		     "DELETE FROM chunk WHERE ino NOT IN (SELECT ino FROM inode);"
		     /* a hidden inode's names are those in its layer's view */
		     "UPDATE inode SET nlink = coalesce(nullif((SELECT count(*) FROM dentry d"
		     " WHERE d.ino = inode.ino AND d.view = " IMGFS_SQL(IMGFS_VIEW_MERGED) "), 0),"
		     " (SELECT count(*) FROM dentry d WHERE d.ino = inode.ino"
		     " AND d.view = " IMGFS_SQL(IMGFS_VIEW_LAYER) "), 1)"
		     " WHERE ino IN (SELECT ino FROM temp.linked);"
		     "CREATE INDEX IF NOT EXISTS dentry_depth ON dentry(depth);");
	if (rc)
		return rc;
	if (sqlite3_prepare_v2(m->db, "SELECT coalesce(max(depth), 0) FROM dentry", -1, &maxd,
			       NULL) != SQLITE_OK ||
	    sqlite3_step(maxd) != SQLITE_ROW ||
	    sqlite3_prepare_v2(m->db, "UPDATE inode SET sub_bytes = c.b, sub_files = c.f, "
			       "nlink = 2 + c.dirs FROM "
			       "(SELECT d.parent AS p, sum(i.sub_bytes) AS b, "
			       " sum(i.sub_files) + count(*) AS f, "
			       " sum(" IMGFS_SQL_IS_DIR("i.mode") ") AS dirs FROM dentry d JOIN inode i "
			       " ON i.ino = d.ino WHERE d.depth = ?1 GROUP BY d.parent) AS c "
			       "WHERE inode.ino = c.p", -1, &level, NULL) != SQLITE_OK) {
		rc = db_fail(m);
		goto out;
	}
	/* Bottom up: a directory's children sit one level deeper, so each
	 * level's totals are complete before its parents sum them. */
	d = sqlite3_column_int64(maxd, 0);
	sqlite3_reset(maxd); /* a pending read would lock the DROP INDEX below */
	for (; d >= 1 && rc == 0; d--) {
		sqlite3_bind_int64(level, 1, d);
		rc = run(m, level);
	}
	if (m->timing)
		fprintf(stderr, "imgfs: timing: finish: totals at %.3f s\n", mono() - m->t0);
	if (rc == 0)
		rc = exec(m, "DROP INDEX IF EXISTS dentry_depth");
	if (rc == 0)
		rc = fix_hardlink_totals(m);
	if (rc == 0)
		rc = move_own_view_name(m);
out:
	sqlite3_finalize(maxd);
	sqlite3_finalize(level);
	return rc;
}
