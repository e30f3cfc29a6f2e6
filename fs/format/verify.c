/* This file contains imgfs_verify: every blob an image references, hashed
 * and compared with the digest that names it -- the OCI manifest, the
 * config, each layer blob against its manifest digest, and each layer's
 * uncompressed tar against the config's rootfs.diff_ids.  The index build
 * checks compressed layer blobs on its way (build/build.c); uncompressed
 * ones it reads in place without reading their file data, and the
 * uncompressed stream of a compressed one is never hashed there: this is
 * where those are checked. */
#include "imgfs/imgfs.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "format/manifest_i.h"
#include "format/source_i.h"
#include "util/digest_i.h"
#include "util/err_i.h"
#include "util/guard_i.h"

/* Bytes read or decompressed per call: large enough that the calls cost
 * nothing beside the hashing. */
#define VERIFY_BUF (1u << 20)

struct verify {
	const struct imgfs_opts *o;
	struct imgfs_source src;
	int src_open;
	imgfs_verify_fn fn;
	void *ctx;
	struct imgfs_err *err;
	unsigned char *buf;          /* VERIFY_BUF bytes */
	char first[sizeof(((struct imgfs_err *)0)->msg)]; /* the first mismatch, for ERR */
};

/* Hands IT to the callback; a mismatch's line is kept for the end.  LABEL
 * names the object in messages: "layer 2 (sha256:...)". */
static int report(struct verify *v, const struct imgfs_verify_item *it, const char *label)
{
	if (it->status == IMGFS_VERIFY_MISMATCH && !v->first[0]) {
		if (!it->actual)
			snprintf(v->first, sizeof(v->first), "%s: %s: %s", v->src.path, label,
				 it->note ? it->note : "unreadable");
		else if (!strcmp(it->kind, "diff_id"))
			snprintf(v->first, sizeof(v->first),
				 "%s: %s: uncompressed content does not match its diff_id %s",
				 v->src.path, label, it->expected);
		else
			snprintf(v->first, sizeof(v->first),
				 "%s: %s: content does not match its digest", v->src.path, label);
	}
	return v->fn ? v->fn(v->ctx, it) : 0;
}

/* Begins D for EXPECTED and sets *BEGUN: 0 when EXPECTED is NULL (nothing
 * to check) or cannot be computed (then reported as skipped through IT).
 * Returns the callback's result, or 0. */
static int start(struct verify *v, struct imgfs_verify_item *it, const char *label,
		 const char *expected, struct imgfs_digest *d, int *begun)
{
	int rc;

	*begun = 0;
	if (!expected)
		return 0;
	rc = imgfs_digest_begin(d, expected);
	if (rc == 0) {
		*begun = 1;
		return 0;
	}
	it->expected = expected;
	it->status = IMGFS_VERIFY_SKIPPED;
	it->note = rc == -ENOTSUP ? "a digest algorithm imgfs does not compute" : "not a digest";
	return report(v, it, label);
}

/* Finishes D and reports it through IT. */
static int finish(struct verify *v, struct imgfs_verify_item *it, const char *label,
		  const char *expected, struct imgfs_digest *d)
{
	char got[IMGFS_DIGEST_TEXT_MAX];

	it->expected = expected;
	it->status = imgfs_digest_end(d, got, sizeof(got)) ? IMGFS_VERIFY_OK : IMGFS_VERIFY_MISMATCH;
	it->actual = got;
	it->bytes = d->bytes;
	it->note = NULL;
	return report(v, it, label);
}

/* Feeds the stored bytes of R to A and, when not NULL, B.  0 or -errno. */
static int hash_region(struct verify *v, const struct imgfs_region *r, struct imgfs_digest *a,
		       struct imgfs_digest *b)
{
	uint64_t pos = 0;

	while (pos < r->size) {
		size_t want = r->size - pos > VERIFY_BUF ? VERIFY_BUF : (size_t)(r->size - pos);
		ssize_t n = pread(r->fd, v->buf, want, (off_t)(r->off + pos));

		if (n <= 0)
			return imgfs_errf(v->err, n < 0 ? -errno : -EIO, 0, "%s: %s", r->file,
					  n < 0 ? strerror(errno) : "shrank while being read");
		if (a)
			imgfs_digest_update(a, v->buf, (size_t)n);
		if (b)
			imgfs_digest_update(b, v->buf, (size_t)n);
		pos += (uint64_t)n;
	}
	return 0;
}

/* Feeds the uncompressed stream of R to DIFF, and the stored bytes
 * libarchive reads to BLOB when not NULL.  Returns 0; 1 when the stream
 * cannot be decompressed (WHY says why); or a negative errno with the
 * error set (a decompression bomb, out of memory). */
static int hash_stream(struct verify *v, const char *label, const struct imgfs_region *r,
		       struct imgfs_region_hash *blob, struct imgfs_digest *diff, char *why,
		       size_t whylen)
{
	struct archive *a = imgfs_region_stream(r, blob);
	struct archive_entry *e;
	uint64_t out = 0;
	int rc = 0, hr;

	if (!a)
		return imgfs_errf(v->err, -ENOMEM, 0, "out of memory");
	hr = archive_read_next_header(a, &e);
	if (hr == ARCHIVE_EOF)
		goto out; /* an empty stream: its digest is the empty one */
	if (hr != ARCHIVE_OK && hr != ARCHIVE_WARN) {
		snprintf(why, whylen, "cannot decompress: %s", archive_error_string(a));
		rc = 1;
		goto out;
	}
	for (;;) {
		la_ssize_t n = archive_read_data(a, v->buf, VERIFY_BUF);

		if (n == 0)
			break;
		if (n < 0) {
			snprintf(why, whylen, "corrupt %s stream at byte %lld: %s",
				 archive_filter_name(a, 0), (long long)archive_filter_bytes(a, -1),
				 archive_error_string(a));
			rc = 1;
			goto out;
		}
		imgfs_digest_update(diff, v->buf, (size_t)n);
		out += (uint64_t)n;
		if (imgfs_bomb_check(NULL, out, (uint64_t)archive_filter_bytes(a, -1),
				     v->o->max_ratio, NULL)) {
			char what[sizeof(v->err->msg)];

			snprintf(what, sizeof(what), "%s: %s", v->src.path, label);
			rc = imgfs_bomb_check(what, out, (uint64_t)archive_filter_bytes(a, -1),
					      v->o->max_ratio, v->err);
			goto out;
		}
	}
out:
	imgfs_region_archive_free(a);
	return rc;
}

static int check_layer(struct verify *v, size_t i, const struct imgfs_layer_desc *l)
{
	struct imgfs_verify_item it = { .object = "layer", .layer = (int)i, .member = l->path };
	struct imgfs_region r;
	struct imgfs_region_hash blob;
	struct imgfs_digest diff;
	char label[200], why[512] = "";
	unsigned char magic[8];
	int rc, has_blob, has_diff, plain;
	ssize_t n;

	snprintf(label, sizeof(label), "layer %zu (%.80s)", i, l->digest ? l->digest : l->path);
	rc = imgfs_source_member(&v->src, l->path, &r);
	if (rc == -ENOENT)
		return imgfs_errf(v->err, -ENOENT, 1, "%s: layer %zu: blob %s is missing from the archive",
				  v->src.path, i, l->path);
	if (rc)
		return rc;
	if (!l->digest && !l->diff_id) {
		it.status = IMGFS_VERIFY_SKIPPED;
		it.note = "no digest names this layer";
		return report(v, &it, label);
	}
	memset(&blob, 0, sizeof(blob));
	it.kind = "digest";
	rc = start(v, &it, label, l->digest, &blob.d, &has_blob);
	if (rc)
		return rc;
	it.kind = "diff_id";
	rc = start(v, &it, label, l->diff_id, &diff, &has_diff);
	if (rc || (!has_blob && !has_diff))
		return rc; /* nothing imgfs can compute: reported as skipped */
	n = r.size ? pread(r.fd, magic, sizeof(magic), (off_t)r.off) : 0;
	if (n < 0)
		return imgfs_errf(v->err, -errno, 0, "%s: %s", r.file, strerror(errno));
	/* an uncompressed blob is its own uncompressed stream: one pass */
	plain = !strcmp(imgfs_sniff_compression(magic, (size_t)n), "none");
	if (plain || !has_diff) {
		rc = hash_region(v, &r, has_blob ? &blob.d : NULL, plain && has_diff ? &diff : NULL);
		if (rc)
			return rc;
	} else {
		rc = hash_stream(v, label, &r, has_blob ? &blob : NULL, &diff, why, sizeof(why));
		if (rc < 0)
			return rc;
		if (has_blob && imgfs_region_hash_finish(&r, &blob, UINT64_MAX) != 1) {
			/* libarchive went back or skipped: hash the blob on its own */
			imgfs_digest_begin(&blob.d, l->digest);
			rc = hash_region(v, &r, &blob.d, NULL);
			if (rc)
				return rc;
		}
	}
	if (has_blob) {
		it.kind = "digest";
		rc = finish(v, &it, label, l->digest, &blob.d);
		if (rc)
			return rc;
	}
	if (has_diff) {
		it.kind = "diff_id";
		if (why[0]) {
			/* the stored bytes are right or wrong; the tar cannot be had */
			it.expected = l->diff_id;
			it.actual = NULL;
			it.status = IMGFS_VERIFY_MISMATCH;
			it.note = why;
			it.bytes = 0;
			return report(v, &it, label);
		}
		return finish(v, &it, label, l->diff_id, &diff);
	}
	return 0;
}

/* Checks the manifest or config blob MEMBER against DIGEST. */
static int check_blob(struct verify *v, const char *object, const char *member, const char *digest)
{
	struct imgfs_verify_item it = { .object = object, .layer = -1, .kind = "digest",
					.member = member };
	struct imgfs_region r;
	struct imgfs_digest d;
	char label[200];
	int rc, begun;

	snprintf(label, sizeof(label), "%s (%.120s)", object, member);
	rc = imgfs_source_member(&v->src, member, &r);
	if (rc == -ENOENT)
		return imgfs_errf(v->err, -ENOENT, 1, "%s: %s: missing from the archive", v->src.path,
				  label);
	if (rc)
		return rc;
	rc = start(v, &it, label, digest, &d, &begun);
	if (rc || !begun)
		return rc;
	rc = hash_region(v, &r, &d, NULL);
	return rc ? rc : finish(v, &it, label, digest, &d);
}

/* A docker-archive names its config member after the config's digest,
 * the image ID, in one of three ways (see FORMATS.md): "<hex>.json"
 * (docker save up to 24, podman), "blobs/sha256/<hex>" (Docker 25 on,
 * containerd) or "sha256:<hex>" (go-containerregistry's tarball).  The
 * parser keeps only the digest; the member is found again by these. */
static int check_docker_config(struct verify *v, const char *digest)
{
	static const char *const forms[] = { "%s.json", "blobs/sha256/%s", "sha256:%s" };
	struct imgfs_verify_item it = { .object = "config", .layer = -1, .kind = "digest" };
	char name[128];
	size_t i;

	if (strncmp(digest, "sha256:", 7) || strlen(digest) != 71) {
		it.status = IMGFS_VERIFY_SKIPPED;
		it.note = "its member name holds no digest";
		return report(v, &it, "config");
	}
	for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		struct imgfs_region r;

		snprintf(name, sizeof(name), forms[i], digest + 7);
		if (imgfs_source_member(&v->src, name, &r) == 0)
			return check_blob(v, "config", name, digest);
	}
	it.status = IMGFS_VERIFY_SKIPPED;
	it.expected = digest;
	it.note = "no member is named by its digest";
	return report(v, &it, "config");
}

/* "blobs/<alg>/<hex>" of DIGEST (checked by the parser) into OUT. */
static void blob_path(const char *digest, char *out, size_t len)
{
	const char *colon = strchr(digest, ':');

	snprintf(out, len, "blobs/%.*s/%s", (int)(colon - digest), digest, colon + 1);
}

/* A temporary file for the spool of a compressed outer tar (see
 * imgfs_verify).  Returns 0 or -errno with ERR set. */
static int make_spool(const struct imgfs_opts *o, char *out, size_t len, struct imgfs_err *err)
{
	const char *dir = o->cache_dir ? o->cache_dir : getenv("TMPDIR");
	int fd;

	if (!dir || !dir[0])
		dir = "/var/tmp";
	if ((size_t)snprintf(out, len, "%s/imgfs-verify-XXXXXX", dir) >= len)
		return imgfs_errf(err, -ENAMETOOLONG, 0, "%s: %s", dir, strerror(ENAMETOOLONG));
	fd = mkstemp(out);
	if (fd < 0) {
		int e = errno;

		out[0] = '\0';
		return imgfs_errf(err, -e, 0, "%s: cannot create a temporary file: %s", dir, strerror(e));
	}
	close(fd);
	return 0;
}

int imgfs_verify(const struct imgfs_opts *o, imgfs_verify_fn fn, void *ctx, struct imgfs_err *err)
{
	struct verify v = { .o = o, .fn = fn, .ctx = ctx, .err = err };
	struct imgfs_member_reader rd;
	struct imgfs_image_desc desc;
	char spool[PATH_MAX] = "", member[256];
	sqlite3 *db = NULL;
	size_t i;
	int rc;

	memset(&desc, 0, sizeof(desc));
	v.buf = malloc(VERIFY_BUF);
	if (!v.buf) {
		rc = imgfs_errf(err, -ENOMEM, 0, "out of memory");
		goto out;
	}
	/* the source keeps its member list in a temp table */
	if (sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		rc = imgfs_errf(err, -ENOMEM, 0, "sqlite: %s", db ? sqlite3_errmsg(db) : "cannot open");
		goto out;
	}
	rc = make_spool(o, spool, sizeof(spool), err);
	if (rc)
		goto out;
	rc = imgfs_source_open(&v.src, o->image, spool, o->max_ratio, db, err);
	v.src_open = 1;
	if (rc)
		goto out;
	imgfs_source_reader(&v.src, &rd);
	rc = imgfs_manifest_parse(&desc, &rd, o->image_name, o->platform, err);
	if (rc == -ENOMSG) {
		struct imgfs_verify_item it = { .object = "image", .layer = -1,
						.status = IMGFS_VERIFY_SKIPPED,
						.note = "a plain rootfs tar: no digest names its content" };

		rc = report(&v, &it, "image");
		goto out;
	}
	if (rc)
		goto out;
	if (desc.manifest_digest) {
		blob_path(desc.manifest_digest, member, sizeof(member));
		rc = check_blob(&v, "manifest", member, desc.manifest_digest);
		if (rc)
			goto out;
	}
	if (desc.config_digest && desc.format == IMGFS_FMT_OCI) {
		blob_path(desc.config_digest, member, sizeof(member));
		rc = check_blob(&v, "config", member, desc.config_digest);
	} else if (desc.config_digest) {
		rc = check_docker_config(&v, desc.config_digest);
	}
	if (rc)
		goto out;
	for (i = 0; i < desc.n_layers; i++) {
		rc = check_layer(&v, i, &desc.layers[i]);
		if (rc)
			goto out;
	}
	if (v.first[0])
		rc = imgfs_errf(err, -EBADMSG, 1, "%s", v.first);
out:
	imgfs_image_desc_free(&desc);
	if (v.src_open)
		imgfs_source_close(&v.src);
	if (spool[0])
		unlink(spool);
	if (db)
		sqlite3_close(db);
	free(v.buf);
	return rc;
}
