/* This file contains the one streaming pass that fills an index: outer
 * members, manifest, each layer in order through the layer reader, then
 * the merge's totals, into a new database file. */
#include "build/build_i.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "build/estimate_i.h"
#include "build/layer_i.h"
#include "format/manifest_i.h"
#include "format/source_i.h"
#include "store/schema_i.h"
#include "util/err_i.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int db_fail(sqlite3 *db, struct imgfs_err *err)
{
	return imgfs_errf(err, -EIO, 0, "index: %s", sqlite3_errmsg(db));
}

static int source_id(void *ctx, const char *file, int64_t *id)
{
	struct imgfs_build *b = ctx;
	int r;

	sqlite3_bind_text(b->src_get, 1, file, -1, SQLITE_STATIC);
	r = sqlite3_step(b->src_get);
	if (r == SQLITE_ROW)
		*id = sqlite3_column_int64(b->src_get, 0);
	sqlite3_reset(b->src_get);
	if (r == SQLITE_ROW)
		return 0;
	sqlite3_bind_text(b->src_ins, 1, file, -1, SQLITE_STATIC);
	r = sqlite3_step(b->src_ins);
	sqlite3_reset(b->src_ins);
	if (r != SQLITE_DONE)
		return db_fail(b->db, b->err);
	*id = sqlite3_last_insert_rowid(b->db);
	return 0;
}

static void progress(void *ctx, uint64_t done)
{
	struct imgfs_build *b = ctx;
	double t;

	if (!b->opts || !b->opts->progress)
		return;
	t = now();
	if (t - b->last_progress < 0.1 && done != UINT64_MAX)
		return;
	b->last_progress = t;
	{
		struct imgfs_progress p = {
			.done = done == UINT64_MAX ? b->read_total : b->read_done + done,
			.total = b->read_total, .entries = b->entries,
		};

		b->opts->progress(b->opts->progress_ctx, &p);
	}
}

/* The merge's finish begins step NAME: always shown, it is seconds long
 * on big images. */
static void phase(void *ctx, const char *name)
{
	struct imgfs_build *b = ctx;
	struct imgfs_progress p = {
		.done = b->read_total, .total = b->read_total, .entries = b->entries, .phase = name,
	};

	if (b->opts && b->opts->progress)
		b->opts->progress(b->opts->progress_ctx, &p);
}

static int open_cache(void *ctx)
{
	struct imgfs_build *b = ctx;
	int rc;

	if (b->cache_open)
		return 0;
	rc = imgfs_cache_writer_open(&b->cache, b->cache_path, b->err);
	if (rc == 0)
		b->cache_open = 1;
	return rc;
}

static int store_piece(void *ctx, const struct imgfs_piece *p)
{
	struct imgfs_build *b = ctx;

	return imgfs_merge_chunk(&b->merge, p->ino, p->idx, p->off, p->csize, p->foff);
}

/* Stores the rows of cache frames written so far; with ALL, waits for the
 * last ones. */
static int drain_all(struct imgfs_build *b, int all)
{
	if (!b->cache_open)
		return 0;
	return imgfs_cache_drain(&b->cache, all, store_piece, b);
}

static int drain(void *ctx)
{
	return drain_all(ctx, 0);
}

static int set_meta(sqlite3 *db, const char *key, const char *text, int64_t num,
		    struct imgfs_err *err)
{
	sqlite3_stmt *q;
	int r;

	if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO meta VALUES(?,?)", -1, &q, NULL) != SQLITE_OK)
		return db_fail(db, err);
	sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
	if (text)
		sqlite3_bind_text(q, 2, text, -1, SQLITE_STATIC);
	else
		sqlite3_bind_int64(q, 2, num);
	r = sqlite3_step(q);
	sqlite3_finalize(q);
	return r == SQLITE_DONE ? 0 : db_fail(db, err);
}

/* XATTR_SIZE_MAX of Linux: a longer value no getxattr(2) can return. */
#define CONFIG_XATTR_MAX 65536

/* The image config in the mount: /.imgfs/config.json served from the
 * archive's own bytes (what `docker inspect` reads, exactly), its fields
 * users check as user.imgfs.config on the root and in the meta table
 * (imgfs layers --json).  A summary too long for an xattr is left out
 * there only.  0 or -errno. */
static int add_config(struct imgfs_build *b, struct imgfs_source *src,
		      const struct imgfs_image_desc *desc)
{
	struct imgfs_region reg;
	int64_t id;
	int rc;

	if (!desc->config_path)
		return 0;
	rc = imgfs_source_member(src, desc->config_path, &reg);
	if (rc == 0)
		rc = source_id(b, reg.file, &id);
	if (rc == 0)
		rc = imgfs_merge_view_file(&b->merge, IMGFS_CONFIG_FILE, id, reg.off, reg.size);
	if (rc == 0 && desc->config_fields)
		rc = set_meta(b->db, IMGFS_META_CONFIG_FIELDS, desc->config_fields, 0, b->err);
	if (rc == 0 && desc->config_fields && strlen(desc->config_fields) < CONFIG_XATTR_MAX)
		rc = imgfs_merge_xattr(&b->merge, IMGFS_ROOT_INO, IMGFS_XATTR_CONFIG,
				       desc->config_fields, strlen(desc->config_fields));
	return rc == -ENOENT ? imgfs_errf(b->err, rc, 1, "%s: config %s is missing", b->opts->image,
					  desc->config_path) : rc;
}

static int add_layer(struct imgfs_build *b, int num, const struct imgfs_layer_desc *d,
		     const char *compression, uint64_t stored, uint64_t size, uint64_t entries,
		     int64_t view_ino, int64_t hidden_ino, int64_t gzip_size)
{
	sqlite3_stmt *q;
	int r;

	if (sqlite3_prepare_v2(b->db, "INSERT INTO layer VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)", -1, &q,
			       NULL) != SQLITE_OK)
		return db_fail(b->db, b->err);
	sqlite3_bind_int(q, 1, num);
	if (d) {
		sqlite3_bind_text(q, 2, d->digest, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 3, d->diff_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 4, d->media_type, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 9, d->created_by, -1, SQLITE_STATIC);
	}
	sqlite3_bind_text(q, 5, compression, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 6, (sqlite3_int64)stored);
	sqlite3_bind_int64(q, 7, (sqlite3_int64)size);
	sqlite3_bind_int64(q, 8, (sqlite3_int64)entries);
	sqlite3_bind_int64(q, 10, view_ino);
	sqlite3_bind_int64(q, 11, hidden_ino);
	sqlite3_bind_int64(q, 12, (sqlite3_int64)b->merge.tar_bytes);
	if (gzip_size >= 0)
		sqlite3_bind_int64(q, 13, gzip_size);
	r = sqlite3_step(q);
	sqlite3_finalize(q);
	return r == SQLITE_DONE ? 0 : db_fail(b->db, b->err);
}

/* The digest check while indexing.  A compressed layer blob is read whole
 * anyway to be decompressed, so hashing its bytes as libarchive reads them
 * costs little; an uncompressed one is read in place, its file data
 * skipped, and is left to imgfs verify.  The bytes after the tar's end
 * that libarchive never asks for are hashed at the end when there are at
 * most this many, or no more than were hashed already (the end of the
 * compressed stream, an eStargz TOC): more would no longer cost little. */
#define BLOB_TAIL_MAX (1ull << 20)

/* 1 when layer D's blob in R is to be hashed on its way through
 * libarchive (H is then begun and armed), 0 when it is not. */
static int blob_hash_arm(const struct imgfs_region *r, const struct imgfs_layer_desc *d,
			 struct imgfs_region_hash *h)
{
	unsigned char magic[8];
	ssize_t n;

	if (!d || !d->digest || r->size == 0)
		return 0;
	n = pread(r->fd, magic, sizeof(magic), (off_t)r->off);
	if (n <= 0 || !strcmp(imgfs_sniff_compression(magic, (size_t)n), "none"))
		return 0;
	memset(h, 0, sizeof(*h));
	if (imgfs_digest_begin(&h->d, d->digest) != 0)
		return 0; /* an algorithm we do not compute: imgfs verify says so */
	imgfs_region_hash_arm(r, h);
	return 1;
}

static int blob_mismatch(struct imgfs_build *b, const char *layer)
{
	return imgfs_errf(b->err, -EBADMSG, 1, "%s: %s: content does not match its digest",
			  b->image, layer);
}

/* After layer LAYER in R was read with H armed: hashes the blob's tail
 * when it is at most TAIL bytes (or no more than were hashed already) and
 * returns -EBADMSG when every byte was hashed and they do not match the
 * digest, with the message on B's error unless LAYER is NULL; 0 when they
 * match or were not all hashed. */
static int blob_hash_check(struct imgfs_build *b, const char *layer, const struct imgfs_region *r,
			   struct imgfs_region_hash *h, uint64_t tail)
{
	int rc = imgfs_region_hash_finish(r, h, h->done > tail ? h->done : tail);

	if (rc < 0 && layer)
		return imgfs_errf(b->err, rc, 0, "%s: %s: %s", b->image, layer, strerror(-rc));
	if (rc <= 0 || imgfs_digest_end(&h->d, NULL, 0))
		return 0;
	return layer ? blob_mismatch(b, layer) : -EBADMSG;
}

/* What applying one layer blob gave, for the layer's row. */
struct applied {
	uint64_t entries, size, tar_bytes;
	int64_t gzip_size;         /* the estimate, or -1 */
	const char *comp;          /* a libarchive filter name: static */
};

/* Applies layer NUM (region R) and adds its row; *TOTAL_OUT and *TOTAL_IN
 * carry the bytes the layers decompressed, and from what, over the whole
 * image, for the bomb ratio.  *A gets what the blob held. */
static int apply_one(struct imgfs_build *b, int num, const struct imgfs_layer_desc *d,
		     const struct imgfs_region *r, uint64_t *total_out, uint64_t *total_in,
		     struct applied *a)
{
	char name[160];
	uint64_t entries, size;
	int64_t view_ino, hidden_ino;
	struct imgfs_region_hash hash;
	const char *comp;
	int64_t gz;
	int rc, hashed;

	struct imgfs_layer_job job = {
		.merge = &b->merge, .cache = &b->cache, .err = b->err, .image = b->image,
		.layer_name = name, .buf = b->buf, .max_ratio = b->opts->max_ratio,
		.entries = b->entries, .ctx = b,
		.open_cache = open_cache, .drain = drain, .source_id = source_id,
		.progress = progress, .prior_out = *total_out, .prior_in = *total_in,
	};

	snprintf(name, sizeof(name), "layer %d (%.80s)", num,
		 d ? (d->digest ? d->digest : d->path) : "rootfs");
	hashed = blob_hash_arm(r, d, &hash);
	rc = imgfs_merge_begin_layer(&b->merge, num, &view_ino, &hidden_ino);
	if (rc == 0)
		rc = imgfs_layer_apply(&job, num, r, d && d->estargz, &entries, &size, &comp);
	imgfs_region_hash_disarm();
	b->entries = job.entries;
	if (rc == 0 && hashed)
		rc = blob_hash_check(b, name, r, &hash, BLOB_TAIL_MAX);
	else if (rc && hashed && b->err && b->err->input &&
		 blob_hash_check(b, NULL, r, &hash, UINT64_MAX) == -EBADMSG) {
		/* a damaged stream whose blob does not match its digest: the
		 * mismatch is the cause, the decompressor's error its symptom */
		b->err->msg[0] = '\0';
		rc = blob_mismatch(b, name);
	}
	if (rc == 0) {
		*total_out += size;
		*total_in += r->size;
	}
	/* An uncompressed layer is its own size, padding included. */
	if (rc == 0 && !strcmp(comp, "none"))
		size = r->size;
	gz = -1;
	if (rc == 0 && !strcmp(comp, "none") && b->opts->estimate_compressed) {
		uint64_t g;

		rc = imgfs_estimate_gzip(r, b->image, name, &g, b->err);
		gz = (int64_t)g;
	}
	if (rc == 0)
		rc = add_layer(b, num, d, comp, r->size, size, entries, view_ino, hidden_ino, gz);
	if (rc == 0)
		*a = (struct applied){ .entries = entries, .size = size,
				       .tar_bytes = b->merge.tar_bytes, .comp = comp, .gzip_size = gz };
	b->read_done += r->size;
	return rc;
}

/* Layer NUM is the blob of the layer just before it again (the same bytes
 * of the same file), listed twice in a row: applying a layer over itself
 * gives the tree once did, so it is not read again (a 33 KB blob listed
 * 4,096 times cost an hour).  Its row says what the blob holds; its views
 * /.imgfs/layers/NUM and hidden/NUM are empty: the repeat changed nothing,
 * and the first copy's files are not counted as hidden by it.  (The one
 * difference a second pass could make: a hardlink to a lower-layer file
 * that the same layer replaces after the link would then name the new
 * file; layer tars link within themselves.) */
static int repeat_one(struct imgfs_build *b, int num, const struct imgfs_layer_desc *d,
		      const struct imgfs_region *r, const struct applied *a)
{
	int64_t view_ino, hidden_ino;
	int rc = imgfs_merge_begin_layer(&b->merge, num, &view_ino, &hidden_ino);

	b->merge.tar_bytes = a->tar_bytes; /* the row's, as dive counts the blob */
	if (rc == 0)
		rc = add_layer(b, num, d, a->comp, r->size, a->size, a->entries, view_ino, hidden_ino,
			       a->gzip_size);
	b->read_done += r->size;
	return rc;
}

static int same_blob(const struct imgfs_region *x, const struct imgfs_layer_desc *dx,
		     const struct imgfs_region *y, const struct imgfs_layer_desc *dy)
{
	return x->off == y->off && x->size == y->size && !strcmp(x->file, y->file) &&
	       dx->estargz == dy->estargz;
}

/* 1 when the outer tar has members that only image archives have: layer
 * blobs, an OCI layout marker, or a config named by its digest. */
static int looks_like_image(struct imgfs_build *b)
{
	sqlite3_stmt *q = NULL;
	int r = 0;

	if (sqlite3_prepare_v2(b->db, "SELECT 1 FROM member WHERE name GLOB '*/layer.tar' OR "
			       "name GLOB 'blobs/sha256/*' OR name = 'oci-layout' OR "
			       "name GLOB 'sha256:*' OR (length(name) = 69 AND substr(name, 65) = '.json' "
			       "AND substr(name, 1, 64) NOT GLOB '*[^0-9a-f]*') LIMIT 1", -1, &q, NULL) == SQLITE_OK)
		r = sqlite3_step(q) == SQLITE_ROW;
	sqlite3_finalize(q);
	return r;
}

/* The streaming pass itself, into the open database B->db. */
static int build_into(struct imgfs_build *b, const struct imgfs_opts *o, const char *spool,
		      const char *identity, const char *image_real)
{
	struct imgfs_source src;
	struct imgfs_member_reader rd;
	struct imgfs_image_desc desc;
	struct imgfs_region reg, prev;
	struct applied last;
	uint64_t total_out = 0, total_in = 0; /* for the bomb ratio of the image */
	size_t i;
	int rc;

	memset(&desc, 0, sizeof(desc));
	memset(&prev, 0, sizeof(prev));
	rc = imgfs_source_open(&src, o->image, spool, o->max_ratio, b->db, b->err);
	if (rc)
		goto out;
	b->image = src.path;
	imgfs_source_reader(&src, &rd);
	rc = imgfs_manifest_parse(&desc, &rd, o->image_name, o->platform, b->err);
	if (rc == -ENOMSG) {
		/* A plain filesystem tar (docker export, a bare layer) -- unless
		 * it holds what only image archives hold: then it is an image
		 * cut short before its manifest, and mounting it as a rootfs
		 * would be a silently wrong tree. */
		if (!src.is_dir && looks_like_image(b)) {
			rc = imgfs_errf(b->err, -EINVAL, 1, "%s: holds layer blobs but no manifest.json "
					"or index.json: truncated image archive?", o->image);
			goto out;
		}
		if (o->image_name) {
			rc = imgfs_errf(b->err, -EINVAL, 1, "%s: a plain rootfs tar has no image names",
					o->image);
			goto out;
		}
		rc = imgfs_source_whole(&src, &reg);
		b->read_total = reg.size;
		if (rc == 0)
			rc = apply_one(b, 0, NULL, &reg, &total_out, &total_in, &last);
		if (rc == 0)
			rc = set_meta(b->db, IMGFS_META_FORMAT, "rootfs", 0, b->err);
		goto done;
	}
	if (rc)
		goto out;
	for (i = 0; i < desc.n_layers; i++)
		if (imgfs_source_member(&src, desc.layers[i].path, &reg) == 0)
			b->read_total += reg.size;
	for (i = 0; i < desc.n_layers; i++) {
		rc = imgfs_source_member(&src, desc.layers[i].path, &reg);
		if (rc == -ENOENT)
			rc = imgfs_errf(b->err, -ENOENT, 1, "%s: layer %zu: blob %s is missing from the archive",
					o->image, i, desc.layers[i].path);
		if (rc)
			goto out;
		if (i > 0 && same_blob(&reg, &desc.layers[i], &prev, &desc.layers[i - 1]))
			rc = repeat_one(b, (int)i, &desc.layers[i], &reg, &last);
		else
			rc = apply_one(b, (int)i, &desc.layers[i], &reg, &total_out, &total_in, &last);
		if (rc)
			goto out;
		prev = reg;
	}
	rc = add_config(b, &src, &desc);
	if (rc == 0)
		rc = set_meta(b->db, IMGFS_META_FORMAT, desc.format == IMGFS_FMT_OCI ? "oci" : "docker-archive",
			      0, b->err);
	if (rc == 0 && desc.name)
		rc = set_meta(b->db, IMGFS_META_NAME, desc.name, 0, b->err);
	if (rc == 0 && desc.config_digest)
		rc = set_meta(b->db, IMGFS_META_CONFIG, desc.config_digest, 0, b->err);
done:
	if (rc)
		goto out;
	progress(b, UINT64_MAX);
	rc = drain_all(b, 1);
	if (rc)
		goto out;
	if (b->opts->timing)
		fprintf(stderr, "imgfs: timing: layers applied at %.3f s\n", now() - b->t0);
	rc = imgfs_merge_finish(&b->merge);
	if (rc)
		goto out;
	if (b->opts->timing)
		fprintf(stderr, "imgfs: timing: tree finished at %.3f s\n", now() - b->t0);
	if (sqlite3_exec(b->db, imgfs_schema_index_parent, NULL, NULL, NULL) != SQLITE_OK) {
		rc = db_fail(b->db, b->err);
		goto out;
	}
	rc = set_meta(b->db, IMGFS_META_IDENTITY, identity, 0, b->err);
	if (!rc)
		rc = set_meta(b->db, IMGFS_META_IMAGE, image_real, 0, b->err);
	if (!rc)
		rc = set_meta(b->db, IMGFS_META_OUTER, src.outer_filter, 0, b->err);
	if (!rc)
		rc = set_meta(b->db, IMGFS_META_ENTRIES, NULL, (int64_t)b->entries, b->err);
	if (!rc) {
		/* counted once here: a reuse must not scan the inode table */
		sqlite3_stmt *q = NULL;

		if (sqlite3_prepare_v2(b->db, "INSERT OR REPLACE INTO meta SELECT '" IMGFS_META_INODES "', count(*) "
				       "FROM inode", -1, &q, NULL) != SQLITE_OK || sqlite3_step(q) != SQLITE_DONE)
			rc = db_fail(b->db, b->err);
		sqlite3_finalize(q);
	}
	if (!rc && b->cache_open)
		rc = set_meta(b->db, IMGFS_META_CACHE, b->cache_path, 0, b->err);
	if (!rc)
		rc = set_meta(b->db, IMGFS_META_SCHEMA, NULL, IMGFS_SCHEMA_VERSION, b->err);
	if (!rc)
		rc = set_meta(b->db, IMGFS_META_COMPLETE, NULL, 1, b->err);
out:
	imgfs_image_desc_free(&desc);
	imgfs_source_close(&src);
	return rc;
}

int imgfs_build_run(const struct imgfs_opts *o, const char *tmp, const char *cache,
		    const char *spool, const char *identity, const char *image_real,
		    uint64_t *entries, int *cache_used, struct imgfs_err *err)
{
	struct imgfs_build b;
	int rc;

	memset(&b, 0, sizeof(b));
	b.err = err;
	b.cache.fd = -1;
	b.cache_path = cache;
	b.opts = o;
	b.t0 = now();
	b.buf = malloc(IMGFS_CHUNK);
	if (!b.buf)
		return imgfs_errf(err, -ENOMEM, 0, "index: out of memory");
	unlink(tmp);
	/* one thread uses the build connection: no SQLite mutexes */
	if (sqlite3_open_v2(tmp, &b.db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		rc = imgfs_errf(err, -EIO, 0, "%s: %s", tmp, b.db ? sqlite3_errmsg(b.db) : "cannot open");
		goto out;
	}
	/* The file is renamed into place only when complete, so the build
	 * needs no journal and no syncs: a crash leaves a temp file only. */
	if (sqlite3_exec(b.db, "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
			 "PRAGMA locking_mode=EXCLUSIVE; PRAGMA cache_size=-32768;"
			 "BEGIN;", NULL, NULL, NULL) != SQLITE_OK ||
	    (rc = imgfs_schema_create(b.db, err)) != 0 ||
	    sqlite3_prepare_v2(b.db, "SELECT id FROM source WHERE path=?", -1, &b.src_get, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(b.db, "INSERT INTO source(path) VALUES(?)", -1, &b.src_ins, NULL) != SQLITE_OK) {
		rc = db_fail(b.db, err);
		goto out;
	}
	rc = imgfs_merge_init(&b.merge, b.db, err);
	if (rc)
		goto out;
	b.merge.timing = o->timing;
	b.merge.t0 = b.t0;
	b.merge.phase = phase;
	b.merge.phase_ctx = &b;
	rc = build_into(&b, o, spool, identity, image_real);
	if (rc)
		goto out;
	imgfs_merge_fini(&b.merge);
	sqlite3_finalize(b.src_get);
	sqlite3_finalize(b.src_ins);
	b.src_get = b.src_ins = NULL;
	if (b.cache_open) {
		b.cache_open = 0;
		*cache_used = 1;
		rc = imgfs_cache_writer_close(&b.cache);
		if (rc)
			goto out;
	}
	/* No ANALYZE: every query has one obvious index, and statistics cost
	 * 0.1 s per 200k entries. */
	if (sqlite3_exec(b.db, "COMMIT; PRAGMA locking_mode=NORMAL;", NULL, NULL, NULL) != SQLITE_OK) {
		rc = db_fail(b.db, err);
		goto out;
	}
	*entries = b.entries;
out:
	imgfs_merge_fini(&b.merge);
	sqlite3_finalize(b.src_get);
	sqlite3_finalize(b.src_ins);
	if (b.cache_open)
		imgfs_cache_writer_close(&b.cache);
	if (b.db)
		sqlite3_close(b.db);
	free(b.buf);
	return rc;
}
