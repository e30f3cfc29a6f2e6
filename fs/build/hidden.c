/* This file contains the hidden views and the hidden-byte totals: entries
 * of a layer that the merged tree hides (overwritten, deleted, under a
 * deleted or opaqued directory, or re-written by a chmod) still ship in the
 * image, and this is where imgfs counts them. */
#include "build/hidden_i.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/err_i.h"
#include "store/schema_i.h"
#include "util/path_i.h"

/* the build connection and where errors go */
struct hidden_db {
	sqlite3 *db;
	struct imgfs_err *err;
};

struct waste {
	struct hidden_db *m;
	sqlite3_stmt *up, *map_get, *map_put, *mkdir_ino, *ins_dentry, *acc, *find;
};

static int fail(struct waste *w)
{
	return imgfs_errf(w->m->err, -EIO, 0, "index: %s", sqlite3_errmsg(w->m->db));
}

static int done(struct waste *w, sqlite3_stmt *q)
{
	int r = sqlite3_step(q);

	sqlite3_reset(q);
	return r == SQLITE_DONE ? 0 : fail(w);
}

/* One view directory's dentry: its parent and name (copied to NAME). */
static int up(struct waste *w, int64_t ino, int64_t *parent, char *name, size_t len,
	      int64_t *depth)
{
	int r;

	sqlite3_bind_int64(w->up, 1, ino);
	r = sqlite3_step(w->up);
	if (r == SQLITE_ROW) {
		int n = sqlite3_column_bytes(w->up, 1);

		*parent = sqlite3_column_int64(w->up, 0);
		*depth = sqlite3_column_int64(w->up, 2);
		if ((size_t)n >= len)
			n = (int)len - 1;
		memcpy(name, sqlite3_column_blob(w->up, 1), (size_t)n);
		name[n] = '\0';
	}
	sqlite3_reset(w->up);
	return r == SQLITE_ROW ? 0 : r == SQLITE_DONE ? -ENOENT : fail(w);
}

/* The hidden-view directory mirroring layer-view directory VINO, made
 * (with its parents) on first use. */
static int mirror(struct waste *w, int64_t vino, int64_t *hino)
{
	int64_t chain[64], cur = vino;
	size_t n = 0;
	int r;

	for (;;) {
		sqlite3_bind_int64(w->map_get, 1, cur);
		r = sqlite3_step(w->map_get);
		if (r == SQLITE_ROW)
			*hino = sqlite3_column_int64(w->map_get, 0);
		sqlite3_reset(w->map_get);
		if (r == SQLITE_ROW)
			break;
		if (r != SQLITE_DONE)
			return fail(w);
		if (n == sizeof(chain) / sizeof(chain[0])) {
			/* deeper than the chain buffer: make the upper part first */
			r = mirror(w, cur, hino);
			if (r)
				return r;
			break;
		}
		chain[n++] = cur;
		{
			char name[8];
			int64_t depth;

			r = up(w, cur, &cur, name, sizeof(name), &depth);
			if (r)
				return r == -ENOENT ? -EIO : r;
		}
	}
	while (n > 0) {
		int64_t v = chain[--n], parent, depth, h;
		char name[IMGFS_PATH_MAX];

		r = up(w, v, &parent, name, sizeof(name), &depth);
		if (r)
			return r == -ENOENT ? -EIO : r;
		sqlite3_bind_int64(w->mkdir_ino, 1, v);
		if ((r = done(w, w->mkdir_ino)) != 0)
			return r;
		h = sqlite3_last_insert_rowid(w->m->db);
		sqlite3_bind_int64(w->ins_dentry, 1, *hino);
		sqlite3_bind_blob(w->ins_dentry, 2, name, (int)strlen(name), SQLITE_TRANSIENT);
		sqlite3_bind_int64(w->ins_dentry, 3, h);
		sqlite3_bind_int64(w->ins_dentry, 4, v);
		sqlite3_bind_int64(w->ins_dentry, 5, depth);
		sqlite3_bind_int64(w->ins_dentry, 6, 0);
		if ((r = done(w, w->ins_dentry)) != 0)
			return r;
		sqlite3_bind_int64(w->map_put, 1, v);
		sqlite3_bind_int64(w->map_put, 2, h);
		if ((r = done(w, w->map_put)) != 0)
			return r;
		*hino = h;
	}
	return 0;
}

static int add(struct waste *w, int64_t ino, int64_t bytes)
{
	sqlite3_bind_int64(w->acc, 1, ino);
	sqlite3_bind_int64(w->acc, 2, bytes);
	return done(w, w->acc);
}

/* Hidden files come grouped by directory: the merged directories along a
 * view directory's path are found once per group, and the group's bytes
 * charged to them in one go. */
#define CHAIN_MAX 256

struct group {
	int64_t vparent;           /* the view directory of the group, or 0 */
	int64_t chain[CHAIN_MAX];  /* merged entries charged with its bytes: the
				    * directories along its path that exist, and
				    * the non-directory where the path ends */
	size_t n;
	int64_t dir;               /* the merged directory at its full path, or 0 */
	int64_t bytes;             /* charged to the chain when the group ends */
};

static int flush(struct waste *w, struct group *g)
{
	size_t i;
	int r = 0;

	for (i = 0; i < g->n && r == 0 && g->bytes; i++)
		r = add(w, g->chain[i], g->bytes);
	g->bytes = 0;
	return r;
}

/* Finds the merged entries along the path of view directory VPARENT: the
 * directories that exist, and an entry that is no directory where one of
 * them was (a file that replaced a hidden directory): the group's files are
 * hidden beneath its path, so it is charged too. */
static int start_group(struct waste *w, struct group *g, int64_t vparent)
{
	char *comps[CHAIN_MAX];
	char buf[IMGFS_PATH_MAX];
	size_t n = 0, i;
	int64_t cur = vparent, merged = IMGFS_ROOT_INO;
	int rc = 0;

	g->vparent = vparent;
	g->n = 0;
	g->dir = IMGFS_ROOT_INO;
	g->chain[g->n++] = IMGFS_ROOT_INO;
	/* up to the layer's view root (depth 3) */
	for (;;) {
		int64_t parent, depth;

		rc = up(w, cur, &parent, buf, sizeof(buf), &depth);
		if (rc == -ENOENT) {
			rc = 0;
			break;
		}
		if (rc)
			goto out;
		if (depth <= 3)
			break;
		if (n == CHAIN_MAX - 1) {
			/* deeper than any real tree: charge the root only */
			g->dir = 0;
			goto out;
		}
		/* a component missing would make every later lookup one
		 * directory off: the group must not start without it */
		comps[n] = strdup(buf);
		if (!comps[n]) {
			g->dir = 0;
			rc = imgfs_errf(w->m->err, -ENOMEM, 0, "out of memory");
			goto out;
		}
		n++;
		cur = parent;
	}
	for (i = n; i-- > 0;) {
		int s;

		if (!g->dir)
			break;
		sqlite3_bind_int64(w->find, 1, merged);
		sqlite3_bind_blob(w->find, 2, comps[i], (int)strlen(comps[i]), SQLITE_STATIC);
		s = sqlite3_step(w->find);
		if (s == SQLITE_ROW && (sqlite3_column_int64(w->find, 1) & 0170000) == S_IFDIR) {
			merged = sqlite3_column_int64(w->find, 0);
			g->chain[g->n++] = merged;
		} else if (s == SQLITE_ROW || s == SQLITE_DONE) {
			if (s == SQLITE_ROW)
				g->chain[g->n++] = sqlite3_column_int64(w->find, 0);
			g->dir = 0; /* the path ends in the merged tree above here */
		} else {
			sqlite3_reset(w->find);
			g->dir = 0;
			rc = fail(w);
			goto out;
		}
		sqlite3_reset(w->find);
	}
	if (g->dir)
		g->dir = merged;
out:
	for (i = 0; i < n; i++)
		free(comps[i]);
	return rc;
}

/* Charges BYTES of hidden file NAME in view directory VPARENT: to every
 * merged directory along its path, to the file that replaced one of them
 * if there is one, and to the merged entry now at its own path if there is
 * one (an overwritten file). */
static int charge(struct waste *w, struct group *g, int64_t vparent, const char *name,
		  int64_t bytes)
{
	int r = 0;

	if (g->vparent != vparent) {
		r = flush(w, g);
		if (r == 0)
			r = start_group(w, g, vparent);
		if (r)
			return r;
	}
	g->bytes += bytes;
	if (g->dir) {
		sqlite3_bind_int64(w->find, 1, g->dir);
		sqlite3_bind_blob(w->find, 2, name, (int)strlen(name), SQLITE_STATIC);
		/* whatever now stands at the hidden file's path: an overwriting
		 * file, or a directory that replaced it */
		if (sqlite3_step(w->find) == SQLITE_ROW) {
			int64_t ino = sqlite3_column_int64(w->find, 0);

			sqlite3_reset(w->find);
			return add(w, ino, bytes);
		}
		sqlite3_reset(w->find);
	}
	return 0;
}

int imgfs_hidden_build(sqlite3 *db, struct imgfs_err *err)
{
	struct hidden_db hdb = { db, err }, *m = &hdb;
	struct waste w = { .m = m };
	struct group *g = calloc(1, sizeof(*g));
	sqlite3_stmt *cand = NULL, *ins = NULL;
	int64_t last_v = 0, last_h = 0;
	int rc = 0, step = SQLITE_DONE;

	if (!g)
		return imgfs_errf(err, -ENOMEM, 0, "out of memory");
	if (sqlite3_exec(m->db, imgfs_scratch_hidden, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(m->db,
		"INSERT INTO hmap SELECT view_ino, hidden_ino FROM layer;"
		/* Entries of the layers' own trees (beneath /.imgfs/layers/N,
		 * depth 3: not /.imgfs/config.json) whose inode the merged
		 * tree does not reach; whiteout markers are no content. */
		"CREATE TEMP TABLE hid AS SELECT d.id, d.ino, d.parent, d.name, d.layer, d.depth,"
		" d.tsize, i.mode, i.size FROM dentry d JOIN inode i ON i.ino = d.ino"
		" WHERE d.view = " IMGFS_SQL(IMGFS_VIEW_LAYER) " AND d.depth > 3 AND " IMGFS_SQL_NOT_DIR("i.mode")
		" AND substr(d.name, 1, 4) <> X'2E77682E'"
		" AND NOT EXISTS (SELECT 1 FROM dentry v WHERE v.ino = d.ino"
		" AND v.view = " IMGFS_SQL(IMGFS_VIEW_MERGED) ")"
		" ORDER BY d.id;"
		"CREATE INDEX temp.hid_ino ON hid(ino);", NULL, NULL, NULL) != SQLITE_OK)
		return fail(&w);
	if (sqlite3_prepare_v2(m->db, "SELECT parent, name, depth FROM dentry WHERE ino=?1 LIMIT 1",
			       -1, &w.up, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(m->db, "SELECT hino FROM hmap WHERE vino=?1", -1, &w.map_get, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(m->db, "INSERT INTO hmap VALUES(?1, ?2)", -1, &w.map_put, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(m->db, "INSERT INTO inode(mode,uid,gid,mtime,mtime_ns,size,rdev,layer) "
			       "SELECT mode,uid,gid,mtime,mtime_ns,0,0,layer FROM inode WHERE ino=?1",
			       -1, &w.mkdir_ino, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(m->db, "INSERT INTO dentry(parent,name,ino,layer,depth,view,tsize) "
			       "SELECT ?1, ?2, ?3, layer, ?5, " IMGFS_SQL(IMGFS_VIEW_HIDDEN) ", ?6 FROM dentry"
			       " WHERE ino=?4 LIMIT 1",
			       -1, &w.ins_dentry, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(m->db, "INSERT INTO wacc VALUES(?1, ?2) ON CONFLICT(ino) DO UPDATE "
			       "SET n = n + excluded.n", -1, &w.acc, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(m->db, "SELECT d.ino, i.mode FROM dentry d JOIN inode i ON i.ino=d.ino "
			       "WHERE d.parent=?1 AND d.name=?2", -1, &w.find, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(m->db, "SELECT id, ino, parent, name, depth, tsize, mode, size, "
			       "EXISTS (SELECT 1 FROM hid h2 WHERE h2.ino = hid.ino AND h2.id < hid.id) "
			       "FROM hid ORDER BY id",
			       -1, &cand, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(m->db, "INSERT INTO dentry(parent,name,ino,layer,depth,view,tsize)"
			       " VALUES(?1, ?2, ?3, (SELECT layer FROM dentry WHERE id=?4), ?5, "
			       IMGFS_SQL(IMGFS_VIEW_HIDDEN) ", ?6)",
			       -1, &ins, NULL) != SQLITE_OK) {
		rc = fail(&w);
		goto out;
	}
	while (rc == 0 && (step = sqlite3_step(cand)) == SQLITE_ROW) {
		int64_t ino = sqlite3_column_int64(cand, 1), vparent = sqlite3_column_int64(cand, 2);
		int64_t hparent, mode = sqlite3_column_int64(cand, 6);
		char name[IMGFS_PATH_MAX];
		int n = sqlite3_column_bytes(cand, 3);

		if (n <= 0 || (size_t)n >= sizeof(name))
			continue;
		memcpy(name, sqlite3_column_blob(cand, 3), (size_t)n);
		name[n] = '\0';
		if (vparent != last_v) {
			rc = mirror(&w, vparent, &hparent);
			if (rc)
				break;
			last_v = vparent;
			last_h = hparent;
		}
		hparent = last_h;
		/* the hidden entry: same inode, so same data and size */
		sqlite3_bind_int64(ins, 1, hparent);
		sqlite3_bind_blob(ins, 2, name, n, SQLITE_STATIC);
		sqlite3_bind_int64(ins, 3, ino);
		sqlite3_bind_int64(ins, 4, sqlite3_column_int64(cand, 0));
		sqlite3_bind_int64(ins, 5, sqlite3_column_int64(cand, 4));
		sqlite3_bind_int64(ins, 6, sqlite3_column_int64(cand, 5));
		rc = done(&w, ins);
		if (rc)
			break;
		/* each hidden inode's bytes once, along the path it had */
		if (S_ISREG((mode_t)mode) && sqlite3_column_int64(cand, 7) > 0 &&
		    !sqlite3_column_int(cand, 8))
			rc = charge(&w, g, vparent, name, sqlite3_column_int64(cand, 7));
	}
	/* a read error must not pass for the end of the candidates */
	if (rc == 0 && step != SQLITE_DONE)
		rc = fail(&w);
	if (rc == 0)
		rc = flush(&w, g);
	if (rc == 0 && sqlite3_exec(m->db, "UPDATE inode SET wasted = wacc.n FROM wacc "
				    "WHERE inode.ino = wacc.ino;", NULL, NULL, NULL) != SQLITE_OK)
		rc = fail(&w);
out:
	free(g);
	sqlite3_finalize(cand);
	sqlite3_finalize(ins);
	sqlite3_finalize(w.up);
	sqlite3_finalize(w.map_get);
	sqlite3_finalize(w.map_put);
	sqlite3_finalize(w.mkdir_ino);
	sqlite3_finalize(w.ins_dentry);
	sqlite3_finalize(w.acc);
	sqlite3_finalize(w.find);
	sqlite3_exec(m->db, "DROP TABLE IF EXISTS temp.hmap; DROP TABLE IF EXISTS temp.wacc;"
		     "DROP TABLE IF EXISTS temp.hid;", NULL, NULL, NULL);
	return rc;
}
