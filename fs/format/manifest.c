/* This file contains the image-description parser: it reads manifest.json
 * (docker-archive) or index.json (OCI layout) and the image config through a
 * member reader and decides which layers make up the chosen image. */
#include "format/manifest_i.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include <sqlite3.h>

#include "util/err_i.h"

/* Sanity limits beyond those of manifest_i.h, low enough that a crafted
 * archive cannot make us allocate or read without bound: images in one
 * manifest.json, descriptors in one index, index blobs read in one walk
 * (an index may list itself many times), and the length of one digest. */
static const size_t images_max = 4096;
static const size_t descs_max = 4096;
static const size_t index_blobs_max = 256;
static const size_t digest_max = 200;
/* The list of names in an error message; the message line is 1024 bytes. */
static const size_t names_msg_max = 700;

/* JSON value types as json_type() names them, plus "absent". */
enum jt { JT_MISSING, JT_NULL, JT_TRUE, JT_FALSE, JT_INTEGER, JT_REAL, JT_TEXT, JT_ARRAY, JT_OBJECT };

/* One JSON value: S is the string for JT_TEXT, the JSON text of an array
 * or object, the digits of a number; NUL is set when a string held a NUL
 * character (S then stops there, so it must not be used as a name). */
struct jv {
	enum jt t;
	char *s;
	int64_t i;
	bool nul;
};

struct ctx {
	sqlite3 *db;
	sqlite3_stmt *st_get;   /* json_type + json_extract of a path */
	sqlite3_stmt *st_len;   /* json_array_length of a path */
	sqlite3_stmt *st_each;  /* json_each of a path */
	const struct imgfs_member_reader *r;
	struct imgfs_err *err;
};

static const char *const layer_types[] = {
	"application/vnd.oci.image.layer.v1.tar",
	"application/vnd.oci.image.layer.v1.tar+gzip",
	"application/vnd.oci.image.layer.v1.tar+zstd",
	"application/vnd.oci.image.layer.nondistributable.v1.tar",
	"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
	"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
	"application/vnd.docker.image.rootfs.diff.tar",
	"application/vnd.docker.image.rootfs.diff.tar.gzip",
	"application/vnd.docker.image.rootfs.diff.tar.zstd",
	"application/vnd.docker.image.rootfs.foreign.diff.tar",
	"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
	NULL,
};

static bool in_list(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(s, *list))
			return true;
	return false;
}

static bool is_index_type(const char *mt)
{
	return !strcmp(mt, "application/vnd.oci.image.index.v1+json") ||
	       !strcmp(mt, "application/vnd.docker.distribution.manifest.list.v2+json");
}

static bool is_manifest_type(const char *mt)
{
	return !strcmp(mt, "application/vnd.oci.image.manifest.v1+json") ||
	       !strcmp(mt, "application/vnd.docker.distribution.manifest.v2+json");
}

/* ---- JSON through SQLite ---- */

static void jv_clear(struct jv *v)
{
	free(v->s);
	memset(v, 0, sizeof(*v));
}

static void jvs_free(struct jv *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].s);
	free(v);
}

static enum jt jt_parse(const unsigned char *name)
{
	static const char *const names[] = {
		[JT_NULL] = "null", [JT_TRUE] = "true", [JT_FALSE] = "false",
		[JT_INTEGER] = "integer", [JT_REAL] = "real", [JT_TEXT] = "text",
		[JT_ARRAY] = "array", [JT_OBJECT] = "object",
	};

	if (!name)
		return JT_MISSING;
	for (size_t i = JT_NULL; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp((const char *)name, names[i]))
			return i;
	return JT_MISSING;
}

/* "is a string": for messages. */
static const char *jt_desc(enum jt t)
{
	switch (t) {
	case JT_MISSING: return "missing";
	case JT_NULL: return "null";
	case JT_TRUE: case JT_FALSE: return "a boolean";
	case JT_INTEGER: case JT_REAL: return "a number";
	case JT_TEXT: return "a string";
	case JT_ARRAY: return "an array";
	case JT_OBJECT: return "an object";
	}
	return "?";
}

static int db_fail(struct ctx *c, int rc)
{
	int e = (rc == SQLITE_NOMEM) ? -ENOMEM : -EIO;

	return imgfs_errf(c->err, e, 0, "JSON parser: %s", sqlite3_errmsg(c->db));
}

/* Whether the JSON text RAW holds a \u0000 escape.  SQLite's JSON1 cuts
 * strings at such a NUL without telling, so "a.json\u0000x" would read as
 * "a.json": the raw text is the only place to see it. */
static bool has_nul_escape(const char *raw)
{
	for (const char *p = raw; p && *p; p++) {
		if (*p != '\\')
			continue;
		if (!strncmp(p + 1, "u0000", 5))
			return true;
		if (p[1])
			p++;
	}
	return false;
}

/* Fills V from the type, value and raw JSON text in columns TCOL, TCOL + 1
 * and TCOL + 2 of ST's row. */
static int jv_from_row(struct ctx *c, sqlite3_stmt *st, int tcol, struct jv *v)
{
	int vcol = tcol + 1;
	const unsigned char *s;
	int n;

	memset(v, 0, sizeof(*v));
	v->t = jt_parse(sqlite3_column_text(st, tcol));
	if (v->t == JT_MISSING || v->t == JT_NULL || v->t == JT_TRUE || v->t == JT_FALSE)
		return 0;
	if (v->t == JT_INTEGER)
		v->i = sqlite3_column_int64(st, vcol);
	s = sqlite3_column_text(st, vcol);
	n = sqlite3_column_bytes(st, vcol);
	if (!s) {
		if (sqlite3_errcode(c->db) == SQLITE_NOMEM)
			return db_fail(c, SQLITE_NOMEM);
		s = (const unsigned char *)"";
		n = 0;
	}
	v->s = strdup((const char *)s);
	if (!v->s)
		return imgfs_errf(c->err, -ENOMEM, 0, "out of memory");
	v->nul = strlen(v->s) != (size_t)n ||
		 (v->t == JT_TEXT && has_nul_escape((const char *)sqlite3_column_text(st, tcol + 2)));
	return 0;
}

/* The value at PATH ("$.a.b") of the valid JSON text DOC into V (JT_MISSING
 * when there is none).  Returns 0 or a negative errno with ERR set. */
static int jget(struct ctx *c, const char *doc, const char *path, struct jv *v)
{
	sqlite3_stmt *st = c->st_get;
	int rc;

	sqlite3_bind_text(st, 1, doc, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, path, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		rc = jv_from_row(c, st, 0, v);
	else
		rc = db_fail(c, rc);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc;
}

/* The elements of the array at PATH of DOC into a malloc'd *OUT, *N.
 * Returns -E2BIG (ERR untouched) when there are more than MAX, so that the
 * caller can name the limit. */
static int jeach(struct ctx *c, const char *doc, const char *path, size_t max,
		 struct jv **out, size_t *n)
{
	sqlite3_stmt *st = c->st_len;
	struct jv *v = NULL;
	int64_t len = 0;
	size_t i = 0;
	int rc;

	*out = NULL;
	*n = 0;
	sqlite3_bind_text(st, 1, doc, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, path, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		len = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_ROW)
		return db_fail(c, rc);
	if (len < 0 || (uint64_t)len > max)
		return -E2BIG;
	if (len == 0)
		return 0;
	v = calloc(len, sizeof(*v));
	if (!v)
		return imgfs_errf(c->err, -ENOMEM, 0, "out of memory");

	st = c->st_each;
	sqlite3_bind_text(st, 1, doc, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, path, -1, SQLITE_STATIC);
	rc = 0;
	while (i < (size_t)len) {
		int s = sqlite3_step(st);

		if (s == SQLITE_DONE)
			break;
		if (s != SQLITE_ROW) {
			rc = db_fail(c, s);
			break;
		}
		rc = jv_from_row(c, st, 0, &v[i]);
		if (rc < 0)
			break;
		i++;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc < 0) {
		jvs_free(v, len);
		return rc;
	}
	*out = v;
	*n = i;
	return 0;
}

/* Checks that V has type WANT.  FILE and WHAT ("Config of image 0") name
 * the value in the message.  Strings must not hold NUL characters and, as
 * every string we require names something, must not be empty. */
static int expect(struct ctx *c, const struct jv *v, enum jt want, const char *file,
		  const char *what)
{
	if (v->t == JT_MISSING)
		return imgfs_errf(c->err, -EINVAL, 1, "%s: %s is missing", file, what);
	if (v->t != want)
		return imgfs_errf(c->err, -EINVAL, 1, "%s: %s is %s, expected %s", file, what,
				  jt_desc(v->t), jt_desc(want));
	if (want == JT_TEXT && (v->nul || !v->s[0]))
		return imgfs_errf(c->err, -EINVAL, 1, "%s: %s is %s", file, what,
				  v->nul ? "a string with a NUL character" : "an empty string");
	return 0;
}

/* jget of PATH in DOC into V, then expect() of it: the pair every
 * document walk starts with. */
static int jget_expect(struct ctx *c, const char *doc, const char *path, struct jv *v,
		       enum jt want, const char *file, const char *what)
{
	int rc = jget(c, doc, path, v);

	return rc < 0 ? rc : expect(c, v, want, file, what);
}

/* An optional string at PATH of DOC: *OUT is a malloc'd copy or NULL when
 * the value is absent or is no usable string (annotations and platform
 * fields only choose among images, so a wrong type just does not match). */
static int jopt_text(struct ctx *c, const char *doc, const char *path, char **out)
{
	struct jv v;
	int rc;

	*out = NULL;
	rc = jget(c, doc, path, &v);
	if (rc < 0)
		return rc;
	if (v.t == JT_TEXT && !v.nul) {
		*out = v.s;
		v.s = NULL;
	}
	jv_clear(&v);
	return 0;
}

static int ctx_open(struct ctx *c, const struct imgfs_member_reader *r, struct imgfs_err *err)
{
	int rc;

	memset(c, 0, sizeof(*c));
	c->r = r;
	c->err = err;
	rc = sqlite3_open_v2(":memory:", &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK)
		return imgfs_errf(err, -ENOMEM, 0, "cannot open an SQLite connection for JSON: %s",
				  c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
	rc = sqlite3_prepare_v2(c->db, "SELECT json_type(?1, ?2), json_extract(?1, ?2), ?1 -> ?2", -1,
				&c->st_get, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(c->db, "SELECT json_array_length(?1, ?2)", -1,
					&c->st_len, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(c->db, "SELECT type, value, ?1 -> fullkey FROM json_each(?1, ?2)", -1,
					&c->st_each, NULL);
	if (rc != SQLITE_OK)
		return db_fail(c, rc);
	return 0;
}

static void ctx_close(struct ctx *c)
{
	sqlite3_finalize(c->st_get);
	sqlite3_finalize(c->st_len);
	sqlite3_finalize(c->st_each);
	sqlite3_close(c->db);
	c->db = NULL;
}

/* Reads member NAME and checks that it is JSON.  Returns 0 and a malloc'd
 * *DOC, -ENOENT without touching ERR when there is no such member (the
 * caller knows what that means), or a negative errno with ERR set. */
static int read_json(struct ctx *c, const char *name, char **doc)
{
	sqlite3_stmt *st = NULL;
	char *data = NULL;
	size_t len = 0;
	int rc, valid = 0;

	*doc = NULL;
	rc = c->r->read(c->r->ctx, name, IMGFS_JSON_MAX, &data, &len);
	if (rc == -ENOENT)
		return rc;
	if (rc == -EFBIG)
		return imgfs_errf(c->err, -EFBIG, 1, "%s: larger than the %u MiB limit for JSON",
				  name, IMGFS_JSON_MAX >> 20);
	if (rc < 0)
		return imgfs_errf(c->err, rc, 0, "%s: %s", name, strerror(-rc));
	/* SQLite would stop at a NUL and might see a valid prefix. */
	if (memchr(data, '\0', len)) {
		rc = imgfs_errf(c->err, -EINVAL, 1, "%s: not valid JSON", name);
		goto out;
	}
	rc = sqlite3_prepare_v2(c->db, "SELECT json_valid(?1)", -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 1, data, (int)len, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		rc = db_fail(c, rc);
		goto out;
	}
	valid = sqlite3_column_int(st, 0);
	if (!valid) {
		rc = imgfs_errf(c->err, -EINVAL, 1, "%s: not valid JSON", name);
		goto out;
	}
	*doc = data;
	data = NULL;
	rc = 0;
out:
	sqlite3_finalize(st);
	free(data);
	return rc;
}

/* ---- names, digests, platforms ---- */

static bool is_lhex(char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f');
}

/* Digests name blob paths, so they are checked strictly: "alg:hex" with a
 * lower-case algorithm and lower-case hex (64 digits for sha256, 128 for
 * sha512); nothing that could hold '/' or "..". */
static bool digest_ok(const char *d)
{
	const char *colon = strchr(d, ':');
	size_t alen, elen;

	if (!colon || strlen(d) > digest_max)
		return false;
	alen = colon - d;
	if (alen == 0)
		return false;
	for (const char *p = d; p < colon; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
			return false;
	elen = strlen(colon + 1);
	if (elen == 0)
		return false;
	for (const char *p = colon + 1; *p; p++)
		if (!is_lhex(*p))
			return false;
	if (alen == 6 && !strncmp(d, "sha256", 6) && elen != 64)
		return false;
	if (alen == 6 && !strncmp(d, "sha512", 6) && elen != 128)
		return false;
	return true;
}

/* "blobs/<alg>/<encoded>" of a digest that passed digest_ok(). */
static char *blob_path(const char *digest)
{
	const char *colon = strchr(digest, ':');
	char *p;

	if (asprintf(&p, "blobs/%.*s/%s", (int)(colon - digest), digest, colon + 1) < 0)
		return NULL;
	return p;
}

/* Start of the first run of exactly 64 lower-case hex digits in S, or NULL. */
static const char *find_hex64(const char *s)
{
	const char *p = s;

	while (*p) {
		size_t n = 0;

		while (is_lhex(p[n]))
			n++;
		if (n == 64)
			return p;
		p += n ? n : 1;
	}
	return NULL;
}

/* "sha256:<hex>" when PATH is "blobs/sha256/<hex>": only then is the member
 * named by the digest of its stored bytes. */
static char *blob_digest(const char *path)
{
	char *d;

	if (!strncmp(path, "./", 2))
		path += 2;
	if (strncmp(path, "blobs/sha256/", 13) || strlen(path + 13) != 64 ||
	    find_hex64(path + 13) != path + 13)
		return NULL;
	if (asprintf(&d, "sha256:%s", path + 13) < 0)
		return NULL;
	return d;
}

/* Reduces an image reference to a comparable form: ":latest" added when
 * there is no tag or digest, and the registry prefixes that docker and
 * podman leave out of short names removed. */
static char *ref_norm(const char *ref)
{
	static const char *const prefixes[] = {
		"docker.io/library/", "index.docker.io/library/", "docker.io/",
		"index.docker.io/", "localhost/", NULL,
	};
	const char *slash = strrchr(ref, '/');
	const char *base = slash ? slash + 1 : ref;
	bool tagged = strchr(base, ':') || strchr(ref, '@');
	char *n;

	for (const char *const *p = prefixes; *p; p++) {
		size_t l = strlen(*p);

		if (!strncmp(ref, *p, l) && ref[l]) {
			ref += l;
			break;
		}
	}
	if (asprintf(&n, "%s%s", ref, tagged ? "" : ":latest") < 0)
		return NULL;
	return n;
}

/* Whether the stored name STORED means the user's WANT.  Returns 1, 0, or
 * -ENOMEM. */
static int ref_match(const char *stored, const char *want)
{
	char *a, *b;
	int m;

	if (!strcmp(stored, want))
		return 1;
	a = ref_norm(stored);
	b = ref_norm(want);
	m = (a && b) ? !strcmp(a, b) : -ENOMEM;
	free(a);
	free(b);
	return m;
}

/* Appends S to the malloc'd list *BUF (", "-separated), stopping with "..."
 * once the list is long enough for one message line. */
static int names_add(char **buf, const char *s)
{
	size_t have = *buf ? strlen(*buf) : 0;
	char *n;

	if (have >= names_msg_max)
		return 0;
	if (have + strlen(s) > names_msg_max)
		s = "...";
	if (asprintf(&n, "%s%s%s", *buf ? *buf : "", *buf ? ", " : "", s) < 0)
		return -ENOMEM;
	free(*buf);
	*buf = n;
	return 0;
}

struct platform {
	char *os, *arch, *variant;   /* NULL when unknown */
};

static void platform_free(struct platform *p)
{
	free(p->os);
	free(p->arch);
	free(p->variant);
	memset(p, 0, sizeof(*p));
}

/* The variant a platform without one means (containerd's normalisation). */
static const char *variant_default(const char *arch)
{
	if (!arch)
		return NULL;
	if (!strcmp(arch, "arm64"))
		return "v8";
	if (!strcmp(arch, "arm"))
		return "v7";
	return NULL;
}

static const char *arch_norm(const char *arch)
{
	if (!strcmp(arch, "x86_64") || !strcmp(arch, "x86-64"))
		return "amd64";
	if (!strcmp(arch, "aarch64"))
		return "arm64";
	return arch;
}

/* Whether HAVE satisfies WANT; a WANT without variant takes any variant. */
static bool platform_match(const struct platform *have, const struct platform *want)
{
	const char *hv, *wv;

	if (!have->os || !have->arch || strcmp(have->os, want->os) ||
	    strcmp(arch_norm(have->arch), arch_norm(want->arch)))
		return false;
	if (!want->variant)
		return true;
	hv = have->variant ? have->variant : variant_default(arch_norm(have->arch));
	wv = want->variant;
	return hv && !strcmp(hv, wv);
}

/* "os/arch[/variant]" into P.  Returns 0 or -EINVAL. */
static int platform_parse(const char *s, struct platform *p)
{
	const char *a = strchr(s, '/');
	const char *v = a ? strchr(a + 1, '/') : NULL;

	memset(p, 0, sizeof(*p));
	if (!a || a == s || !a[1] || a[1] == '/' || (v && (!v[1] || strchr(v + 1, '/'))))
		return -EINVAL;
	p->os = strndup(s, a - s);
	p->arch = v ? strndup(a + 1, v - a - 1) : strdup(a + 1);
	p->variant = v ? strdup(v + 1) : NULL;
	if (!p->os || !p->arch || (v && !p->variant)) {
		platform_free(p);
		return -ENOMEM;
	}
	return 0;
}

/* "linux/arm64/v8" or "?" into a malloc'd string. */
static char *platform_str(const struct platform *p)
{
	char *s;

	if (!p->os || !p->arch)
		return strdup("unknown platform");
	if (asprintf(&s, "%s/%s%s%s", p->os, p->arch, p->variant ? "/" : "",
		     p->variant ? p->variant : "") < 0)
		return NULL;
	return s;
}

void imgfs_host_platform(char *buf, size_t len)
{
	static const struct { const char *machine, *platform; } map[] = {
		{ "x86_64", "amd64" }, { "amd64", "amd64" },
		{ "i386", "386" }, { "i486", "386" }, { "i586", "386" }, { "i686", "386" },
		{ "aarch64", "arm64" }, { "arm64", "arm64" }, { "aarch64_be", "arm64be" },
		{ "armv8l", "arm/v8" }, { "armv7l", "arm/v7" }, { "armv7", "arm/v7" },
		{ "armv6l", "arm/v6" }, { "armv5tel", "arm/v5" }, { "armv5l", "arm/v5" },
		{ "ppc64le", "ppc64le" }, { "ppc64", "ppc64" }, { "s390x", "s390x" },
		{ "riscv64", "riscv64" }, { "loongarch64", "loong64" },
		{ "mips64", "mips64" }, { "mips", "mips" },
	};
	struct utsname u;
	const char *arch;

	assert(buf && len > 0);
	if (uname(&u) < 0) {
		snprintf(buf, len, "linux/unknown");
		return;
	}
	arch = u.machine;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(u.machine, map[i].machine)) {
			arch = map[i].platform;
			break;
		}
	snprintf(buf, len, "linux/%s", arch);
}

/* ---- building the result ---- */

void imgfs_image_desc_free(struct imgfs_image_desc *d)
{
	if (!d)
		return;
	for (size_t i = 0; d->layers && i < d->n_layers; i++) {
		struct imgfs_layer_desc *l = &d->layers[i];

		free(l->path);
		free(l->digest);
		free(l->diff_id);
		free(l->media_type);
		free(l->created_by);
	}
	free(d->layers);
	free(d->name);
	free(d->config_digest);
	free(d->manifest_digest);
	memset(d, 0, sizeof(*d));
}

static int desc_alloc_layers(struct ctx *c, struct imgfs_image_desc *d, size_t n)
{
	d->n_layers = n;
	if (n == 0)
		return 0;
	d->layers = calloc(n, sizeof(*d->layers));
	if (!d->layers) {
		d->n_layers = 0;
		return imgfs_errf(c->err, -ENOMEM, 0, "out of memory");
	}
	for (size_t i = 0; i < n; i++)
		d->layers[i].size = -1;
	return 0;
}

/* Maps the config's history onto D's layers: the k-th entry that is not
 * empty_layer describes layer k.  History is informative only, and many
 * builders write it short, long or not at all, so nothing here fails but
 * the machine. */
static int config_history(struct ctx *c, const char *cfg, struct imgfs_image_desc *d)
{
	sqlite3_stmt *st = NULL;
	struct jv h = { 0 };
	size_t k = 0;
	int rc;

	rc = jget(c, cfg, "$.history", &h);
	if (rc < 0 || h.t != JT_ARRAY)
		goto out;
	rc = sqlite3_prepare_v2(c->db,
		"SELECT json_type(value, '$.empty_layer'), json_type(value, '$.created_by'),"
		" json_extract(value, '$.created_by'), value -> '$.created_by'"
		" FROM json_each(?1) WHERE type = 'object'", -1, &st, NULL);
	if (rc != SQLITE_OK) {
		rc = db_fail(c, rc);
		goto out;
	}
	sqlite3_bind_text(st, 1, h.s, -1, SQLITE_STATIC);
	rc = 0;
	while (k < d->n_layers) {
		struct jv by;
		int s = sqlite3_step(st);

		if (s == SQLITE_DONE)
			break;
		if (s != SQLITE_ROW) {
			rc = db_fail(c, s);
			break;
		}
		if (jt_parse(sqlite3_column_text(st, 0)) == JT_TRUE)
			continue;
		rc = jv_from_row(c, st, 1, &by);
		if (rc < 0)
			break;
		if (by.t == JT_TEXT && !by.nul) {
			d->layers[k].created_by = by.s;
			by.s = NULL;
		}
		jv_clear(&by);
		k++;
	}
out:
	sqlite3_finalize(st);
	jv_clear(&h);
	return rc;
}

/* Checks the image config CFG (member NAME) against D's layers: rootfs.type
 * "layers" and one diff_id per layer; fills diff_id and created_by.  SOURCE
 * names where the layer count came from, for the message. */
static int config_apply(struct ctx *c, const char *name, const char *cfg, const char *source,
			struct imgfs_image_desc *d)
{
	struct jv v = { 0 }, rootfs = { 0 }, *ids = NULL;
	size_t n_ids = 0;
	int rc;

	rc = jget_expect(c, cfg, "$", &v, JT_OBJECT, name, "the image config");
	if (rc < 0)
		goto out;
	rc = jget_expect(c, cfg, "$.rootfs", &rootfs, JT_OBJECT, name, "rootfs");
	if (rc < 0)
		goto out;
	jv_clear(&v);
	rc = jget_expect(c, rootfs.s, "$.type", &v, JT_TEXT, name, "rootfs.type");
	if (rc < 0)
		goto out;
	if (strcmp(v.s, "layers")) {
		rc = imgfs_errf(c->err, -EINVAL, 1, "%s: rootfs.type is \"%s\", expected \"layers\"",
				name, v.s);
		goto out;
	}
	jv_clear(&v);
	rc = jget_expect(c, rootfs.s, "$.diff_ids", &v, JT_ARRAY, name, "rootfs.diff_ids");
	if (rc < 0)
		goto out;
	rc = jeach(c, v.s, "$", IMGFS_LAYERS_MAX, &ids, &n_ids);
	if (rc == -E2BIG)
		rc = imgfs_errf(c->err, -EINVAL, 1, "%s: more than %d rootfs.diff_ids", name,
				IMGFS_LAYERS_MAX);
	if (rc < 0)
		goto out;
	if (n_ids != d->n_layers) {
		rc = imgfs_errf(c->err, -EINVAL, 1, "%s: %zu layers in %s but %zu rootfs.diff_ids",
				name, d->n_layers, source, n_ids);
		goto out;
	}
	for (size_t i = 0; i < n_ids; i++) {
		char what[64];

		snprintf(what, sizeof(what), "rootfs.diff_ids[%zu]", i);
		rc = expect(c, &ids[i], JT_TEXT, name, what);
		if (rc < 0)
			goto out;
		if (!digest_ok(ids[i].s)) {
			rc = imgfs_errf(c->err, -EINVAL, 1, "%s: %s \"%s\" is not a digest", name,
					what, ids[i].s);
			goto out;
		}
		d->layers[i].diff_id = ids[i].s;
		ids[i].s = NULL;
	}
	rc = config_history(c, cfg, d);
out:
	jvs_free(ids, n_ids);
	jv_clear(&rootfs);
	jv_clear(&v);
	return rc;
}

/* ---- docker-archive: manifest.json ---- */

struct dimage {
	char *config;          /* member name */
	struct jv *layers;     /* strings, checked */
	size_t n_layers;
	struct jv *tags;       /* strings, checked */
	size_t n_tags;
};

static void dimages_free(struct dimage *im, size_t n)
{
	for (size_t i = 0; im && i < n; i++) {
		free(im[i].config);
		jvs_free(im[i].layers, im[i].n_layers);
		jvs_free(im[i].tags, im[i].n_tags);
	}
	free(im);
}

/* Reads and type-checks item I (the JSON object OBJ) of manifest.json. */
static int dimage_load(struct ctx *c, size_t i, const char *obj, struct dimage *im)
{
	static const char mf[] = "manifest.json";
	struct jv v = { 0 };
	char what[64];
	int rc;

	rc = jget(c, obj, "$.Config", &v);
	if (rc < 0)
		goto out;
	snprintf(what, sizeof(what), "Config of image %zu", i);
	rc = expect(c, &v, JT_TEXT, mf, what);
	if (rc < 0)
		goto out;
	im->config = v.s;
	v.s = NULL;
	jv_clear(&v);

	rc = jget(c, obj, "$.Layers", &v);
	if (rc < 0)
		goto out;
	snprintf(what, sizeof(what), "Layers of image %zu", i);
	rc = expect(c, &v, JT_ARRAY, mf, what);
	if (rc < 0)
		goto out;
	rc = jeach(c, v.s, "$", IMGFS_LAYERS_MAX, &im->layers, &im->n_layers);
	if (rc == -E2BIG)
		rc = imgfs_errf(c->err, -EINVAL, 1, "%s: image %zu has more than %d layers", mf, i,
				IMGFS_LAYERS_MAX);
	if (rc < 0)
		goto out;
	for (size_t k = 0; k < im->n_layers; k++) {
		snprintf(what, sizeof(what), "Layers[%zu] of image %zu", k, i);
		rc = expect(c, &im->layers[k], JT_TEXT, mf, what);
		if (rc < 0)
			goto out;
	}
	jv_clear(&v);

	/* RepoTags is null for images saved by ID, and absent in some
	 * hand-made archives. */
	rc = jget(c, obj, "$.RepoTags", &v);
	if (rc < 0 || v.t == JT_MISSING || v.t == JT_NULL)
		goto out;
	snprintf(what, sizeof(what), "RepoTags of image %zu", i);
	rc = expect(c, &v, JT_ARRAY, mf, what);
	if (rc < 0)
		goto out;
	rc = jeach(c, v.s, "$", images_max, &im->tags, &im->n_tags);
	if (rc == -E2BIG)
		rc = imgfs_errf(c->err, -EINVAL, 1, "%s: image %zu has more than %zu RepoTags", mf,
				i, images_max);
	if (rc < 0)
		goto out;
	for (size_t k = 0; k < im->n_tags; k++) {
		snprintf(what, sizeof(what), "RepoTags[%zu] of image %zu", k, i);
		rc = expect(c, &im->tags[k], JT_TEXT, mf, what);
		if (rc < 0)
			goto out;
	}
out:
	jv_clear(&v);
	return rc;
}

/* "sha256:<hex>" when the config member's name holds the image ID (all
 * writers name it so), else the member name itself. */
static char *config_digest_of(const char *member)
{
	const char *h = find_hex64(member);
	char *d;

	if (!h)
		return strdup(member);
	if (asprintf(&d, "sha256:%.64s", h) < 0)
		return NULL;
	return d;
}

/* Whether image IM answers to WANT: one of its tags, or its image ID.
 * Sets *TAG to the matching tag (borrowed) or NULL. */
static int dimage_match(const struct dimage *im, const char *want, const char **tag)
{
	char *id;
	int m = 0;

	*tag = NULL;
	for (size_t k = 0; k < im->n_tags; k++) {
		m = ref_match(im->tags[k].s, want);
		if (m < 0)
			return m;
		if (m) {
			*tag = im->tags[k].s;
			return 1;
		}
	}
	id = config_digest_of(im->config);
	if (!id)
		return -ENOMEM;
	m = !strcmp(id, want) || !strcmp(im->config, want) ||
	    (!strncmp(id, "sha256:", 7) && !strcmp(id + 7, want));
	free(id);
	return m;
}

/* The names of all images, for messages: their tags, or the image ID of
 * an untagged one (which --image also accepts). */
static int dimage_names(const struct dimage *im, size_t n, char **list)
{
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i++) {
		if (im[i].n_tags == 0) {
			char *id = config_digest_of(im[i].config);

			rc = id ? names_add(list, id) : -ENOMEM;
			free(id);
			continue;
		}
		for (size_t k = 0; k < im[i].n_tags && rc == 0; k++)
			rc = names_add(list, im[i].tags[k].s);
	}
	return rc;
}

static int parse_docker(struct ctx *c, struct imgfs_image_desc *d, const char *want_image)
{
	static const char mf[] = "manifest.json";
	struct jv top = { 0 }, *items = NULL;
	struct dimage *im = NULL;
	size_t n = 0, pick = 0;
	const char *tag = NULL;
	char *doc = NULL, *cfg = NULL, *names = NULL;
	int rc;

	d->format = IMGFS_FMT_DOCKER_ARCHIVE;
	rc = read_json(c, mf, &doc);
	if (rc == -ENOENT)
		rc = imgfs_errf(c->err, -EIO, 0, "%s: vanished while reading", mf);
	if (rc < 0)
		goto out;
	rc = jget(c, doc, "$", &top);
	if (rc < 0)
		goto out;
	if (top.t == JT_NULL) {
		rc = imgfs_errf(c->err, -EINVAL, 1, "%s: is null, expected an array of images", mf);
		goto out;
	}
	if (top.t != JT_ARRAY) {
		rc = imgfs_errf(c->err, -EINVAL, 1, "%s: is %s, expected an array of images", mf,
				jt_desc(top.t));
		goto out;
	}
	rc = jeach(c, doc, "$", images_max, &items, &n);
	if (rc == -E2BIG)
		rc = imgfs_errf(c->err, -EINVAL, 1, "%s: more than %zu images", mf, images_max);
	if (rc < 0)
		goto out;
	if (n == 0) {
		rc = imgfs_errf(c->err, -EINVAL, 1, "%s: holds no images", mf);
		goto out;
	}
	im = calloc(n, sizeof(*im));
	if (!im) {
		rc = imgfs_errf(c->err, -ENOMEM, 0, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		char what[32];

		snprintf(what, sizeof(what), "image %zu", i);
		rc = expect(c, &items[i], JT_OBJECT, mf, what);
		if (rc < 0)
			goto out;
		rc = dimage_load(c, i, items[i].s, &im[i]);
		if (rc < 0)
			goto out;
	}

	if (want_image) {
		bool found = false;

		for (size_t i = 0; i < n && !found; i++) {
			rc = dimage_match(&im[i], want_image, &tag);
			if (rc < 0) {
				rc = imgfs_errf(c->err, rc, 0, "out of memory");
				goto out;
			}
			if (rc) {
				found = true;
				pick = i;
			}
		}
		rc = 0;
		if (!found) {
			if (dimage_names(im, n, &names) < 0) {
				rc = imgfs_errf(c->err, -ENOMEM, 0, "out of memory");
				goto out;
			}
			rc = imgfs_errf(c->err, -EINVAL, 1, "%s: no image named %s; the archive holds: %s",
					mf, want_image, names);
			goto out;
		}
	} else if (n > 1) {
		if (dimage_names(im, n, &names) < 0) {
			rc = imgfs_errf(c->err, -ENOMEM, 0, "out of memory");
			goto out;
		}
		rc = imgfs_errf(c->err, -EINVAL, 1,
				"archive holds %zu images, choose one with --image: %s", n, names);
		goto out;
	}
	if (!tag && im[pick].n_tags)
		tag = im[pick].tags[0].s;
	if (tag && !(d->name = strdup(tag))) {
		rc = imgfs_errf(c->err, -ENOMEM, 0, "out of memory");
		goto out;
	}

	rc = desc_alloc_layers(c, d, im[pick].n_layers);
	if (rc < 0)
		goto out;
	for (size_t k = 0; k < d->n_layers; k++) {
		struct imgfs_layer_desc *l = &d->layers[k];

		rc = c->r->exists(c->r->ctx, im[pick].layers[k].s);
		if (rc == -ENOENT)
			rc = imgfs_errf(c->err, -EINVAL, 1,
					"%s: listed in manifest.json but missing from the archive",
					im[pick].layers[k].s);
		else if (rc < 0)
			rc = imgfs_errf(c->err, rc, 0, "%s: %s", im[pick].layers[k].s, strerror(-rc));
		if (rc < 0)
			goto out;
		l->path = im[pick].layers[k].s;
		im[pick].layers[k].s = NULL;
		l->digest = blob_digest(l->path);
	}

	rc = read_json(c, im[pick].config, &cfg);
	if (rc == -ENOENT)
		rc = imgfs_errf(c->err, -EINVAL, 1,
				"%s: listed in manifest.json but missing from the archive",
				im[pick].config);
	if (rc < 0)
		goto out;
	d->config_digest = config_digest_of(im[pick].config);
	if (!d->config_digest) {
		rc = imgfs_errf(c->err, -ENOMEM, 0, "out of memory");
		goto out;
	}
	rc = config_apply(c, im[pick].config, cfg, mf, d);
out:
	free(names);
	free(cfg);
	dimages_free(im, n);
	jvs_free(items, n);
	jv_clear(&top);
	free(doc);
	return rc;
}

/* ---- OCI layout: index.json ---- */

/* An image manifest found while walking the indexes. */
struct cand {
	char *digest;
	char *name;             /* display name from the index.json descriptor, or NULL */
	size_t group;           /* which index.json descriptor it came from */
	struct platform plat;   /* from the descriptor, or resolved from the config */
	bool plat_resolved;
};

struct walk {
	struct cand *v;
	size_t n;
	char **seen;            /* index blobs already read (cycles, repeats) */
	size_t n_seen;
	char *missing_index;    /* first index blob that was absent */
	char *names;            /* the names of every index.json descriptor */
	bool named;             /* some descriptor matched --image */
	const char *want_image;
};

static void walk_free(struct walk *w)
{
	for (size_t i = 0; i < w->n; i++) {
		free(w->v[i].digest);
		free(w->v[i].name);
		platform_free(&w->v[i].plat);
	}
	free(w->v);
	for (size_t i = 0; i < w->n_seen; i++)
		free(w->seen[i]);
	free(w->seen);
	free(w->missing_index);
	free(w->names);
}

/* Whether the index.json descriptor with annotations REF (ref.name) and
 * CTRD (io.containerd.image.name) answers to WANT.  containerd writes only
 * the tag into ref.name, podman the full name. */
static int desc_named(const char *ref, const char *ctrd, const char *want)
{
	const char *wslash = strrchr(want, '/');
	const char *wtag = strrchr(wslash ? wslash : want, ':');
	int m;

	if (ctrd && (m = ref_match(ctrd, want)) != 0)
		return m;
	if (!ref)
		return 0;
	if ((m = ref_match(ref, want)) != 0)
		return m;
	/* A bare tag in ref.name: compare it with WANT's tag. */
	if (!ctrd && !strchr(ref, '/') && !strchr(ref, ':') && wtag && !strcmp(wtag + 1, ref))
		return 1;
	return 0;
}

static int walk_add(struct ctx *c, struct walk *w, const char *digest, const char *name,
		    size_t group, struct platform *plat)
{
	struct cand *v, *k;

	if (w->n >= descs_max)
		return imgfs_errf(c->err, -EINVAL, 1, "index.json: more than %zu image manifests",
				  descs_max);
	v = realloc(w->v, (w->n + 1) * sizeof(*v));
	if (!v)
		return imgfs_errf(c->err, -ENOMEM, 0, "out of memory");
	w->v = v;
	k = &v[w->n];
	memset(k, 0, sizeof(*k));
	k->digest = strdup(digest);
	k->name = name ? strdup(name) : NULL;
	if (!k->digest || (name && !k->name)) {
		free(k->digest);
		free(k->name);
		return imgfs_errf(c->err, -ENOMEM, 0, "out of memory");
	}
	k->group = group;
	k->plat = *plat;
	k->plat_resolved = plat->os && plat->arch;
	memset(plat, 0, sizeof(*plat));
	w->n++;
	return 0;
}

static int walk_index(struct ctx *c, struct walk *w, const char *doc, const char *docname,
		      int depth, size_t group, const char *name);

/* Handles descriptor I (JSON object OBJ) of index DOCNAME. */
static int walk_desc(struct ctx *c, struct walk *w, const char *obj, const char *docname,
		     int depth, size_t i, size_t group, const char *name)
{
	struct platform plat = { 0 };
	char *mt = NULL, *digest = NULL, *ref = NULL, *ctrd = NULL, *rtype = NULL;
	char *path = NULL, *sub = NULL;
	bool attest;
	int rc;

	rc = jopt_text(c, obj, "$.mediaType", &mt);
	if (rc < 0)
		goto out;
	/* Unknown descriptor types "MUST NOT generate an error". */
	if (!mt || (!is_index_type(mt) && !is_manifest_type(mt)))
		goto out;

	if (depth == 0) {
		group = i;
		rc = jopt_text(c, obj, "$.annotations.\"org.opencontainers.image.ref.name\"", &ref);
		if (rc == 0)
			rc = jopt_text(c, obj, "$.annotations.\"io.containerd.image.name\"", &ctrd);
		if (rc < 0)
			goto out;
		name = ctrd ? ctrd : ref;
		if (name && names_add(&w->names, name) < 0) {
			rc = imgfs_errf(c->err, -ENOMEM, 0, "out of memory");
			goto out;
		}
		if (w->want_image) {
			rc = desc_named(ref, ctrd, w->want_image);
			if (rc < 0) {
				rc = imgfs_errf(c->err, rc, 0, "out of memory");
				goto out;
			}
			if (!rc)
				goto out;
			rc = 0;
			w->named = true;
		}
	}

	rc = jopt_text(c, obj, "$.platform.os", &plat.os);
	if (rc == 0)
		rc = jopt_text(c, obj, "$.platform.architecture", &plat.arch);
	if (rc == 0)
		rc = jopt_text(c, obj, "$.platform.variant", &plat.variant);
	if (rc == 0)
		rc = jopt_text(c, obj, "$.annotations.\"vnd.docker.reference.type\"", &rtype);
	if (rc < 0)
		goto out;
	/* buildkit's provenance and SBOM manifests are no filesystems. */
	attest = (plat.os && !strcmp(plat.os, "unknown")) ||
		 (plat.arch && !strcmp(plat.arch, "unknown")) ||
		 (rtype && !strcmp(rtype, "attestation-manifest"));
	if (attest)
		goto out;

	rc = jopt_text(c, obj, "$.digest", &digest);
	if (rc < 0)
		goto out;
	if (!digest || !digest_ok(digest)) {
		rc = imgfs_errf(c->err, -EINVAL, 1, "%s: manifests[%zu] has %s digest%s%s%s", docname,
				i, digest ? "a malformed" : "no", digest ? " \"" : "",
				digest ? digest : "", digest ? "\"" : "");
		goto out;
	}

	if (is_manifest_type(mt)) {
		rc = walk_add(c, w, digest, name, group, &plat);
		goto out;
	}

	/* A nested index. */
	for (size_t k = 0; k < w->n_seen; k++)
		if (!strcmp(w->seen[k], digest))
			goto out;
	if (depth + 1 > IMGFS_INDEX_DEPTH_MAX) {
		rc = imgfs_errf(c->err, -EINVAL, 1, "%s: image indexes nested deeper than %d",
				docname, IMGFS_INDEX_DEPTH_MAX);
		goto out;
	}
	if (w->n_seen >= index_blobs_max) {
		rc = imgfs_errf(c->err, -EINVAL, 1, "%s: more than %zu nested image indexes",
				docname, index_blobs_max);
		goto out;
	}
	{
		char **s = realloc(w->seen, (w->n_seen + 1) * sizeof(*s));

		if (!s) {
			rc = imgfs_errf(c->err, -ENOMEM, 0, "out of memory");
			goto out;
		}
		w->seen = s;
		w->seen[w->n_seen++] = digest;
		digest = NULL;
	}
	path = blob_path(w->seen[w->n_seen - 1]);
	if (!path) {
		rc = imgfs_errf(c->err, -ENOMEM, 0, "out of memory");
		goto out;
	}
	rc = read_json(c, path, &sub);
	/* Exporters keep indexes whose platforms they did not copy: an
	 * absent blob only matters if nothing else is found. */
	if (rc == -ENOENT) {
		rc = 0;
		if (!w->missing_index) {
			w->missing_index = path;
			path = NULL;
		}
		goto out;
	}
	if (rc < 0)
		goto out;
	rc = walk_index(c, w, sub, path, depth + 1, group, name);
out:
	free(sub);
	free(path);
	free(rtype);
	platform_free(&plat);
	free(ctrd);
	free(ref);
	free(digest);
	free(mt);
	return rc;
}

/* Walks the image index DOC (member DOCNAME) at nesting DEPTH, adding its
 * image manifests to W.  GROUP and NAME are those of the index.json
 * descriptor it hangs from (unused at depth 0). */
static int walk_index(struct ctx *c, struct walk *w, const char *doc, const char *docname,
		      int depth, size_t group, const char *name)
{
	struct jv top = { 0 }, m = { 0 }, *items = NULL;
	size_t n = 0;
	int rc;

	rc = jget_expect(c, doc, "$", &top, JT_OBJECT, docname, "the image index");
	if (rc < 0)
		goto out;
	rc = jget(c, doc, "$.manifests", &m);
	if (rc < 0)
		goto out;
	if (m.t == JT_MISSING || m.t == JT_NULL) {
		if (depth == 0)
			rc = imgfs_errf(c->err, -EINVAL, 1, "%s: no manifests", docname);
		goto out;
	}
	rc = expect(c, &m, JT_ARRAY, docname, "manifests");
	if (rc < 0)
		goto out;
	rc = jeach(c, m.s, "$", descs_max, &items, &n);
	if (rc == -E2BIG)
		rc = imgfs_errf(c->err, -EINVAL, 1, "%s: more than %zu manifests", docname,
				descs_max);
	if (rc < 0)
		goto out;
	if (n == 0 && depth == 0) {
		rc = imgfs_errf(c->err, -EINVAL, 1, "%s: no manifests", docname);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		char what[32];

		snprintf(what, sizeof(what), "manifests[%zu]", i);
		rc = expect(c, &items[i], JT_OBJECT, docname, what);
		if (rc < 0)
			goto out;
		rc = walk_desc(c, w, items[i].s, docname, depth, i, group, name);
		if (rc < 0)
			goto out;
	}
out:
	jvs_free(items, n);
	jv_clear(&m);
	jv_clear(&top);
	return rc;
}

/* Reads the config digest out of the manifest blob MDOC (member MNAME). */
static int manifest_config(struct ctx *c, const char *mdoc, const char *mname, char **digest)
{
	struct jv v = { 0 };
	int rc;

	*digest = NULL;
	rc = jget(c, mdoc, "$.config", &v);
	if (rc == 0)
		rc = expect(c, &v, JT_OBJECT, mname, "config");
	if (rc == 0) {
		rc = jopt_text(c, v.s, "$.digest", digest);
		if (rc == 0 && (!*digest || !digest_ok(*digest)))
			rc = imgfs_errf(c->err, -EINVAL, 1, "%s: config has %s digest", mname,
					*digest ? "a malformed" : "no");
	}
	if (rc < 0) {
		free(*digest);
		*digest = NULL;
	}
	jv_clear(&v);
	return rc;
}

/* Fills K's platform from its config when the descriptor had none
 * (podman's oci-archive).  Blobs may be absent for platforms that were not
 * exported, so failing to find them leaves the platform unknown. */
static int cand_resolve(struct ctx *c, struct cand *k)
{
	char *mpath = NULL, *mdoc = NULL, *cdig = NULL, *cpath = NULL, *cdoc = NULL;
	struct platform p = { 0 };
	int rc;

	if (k->plat_resolved)
		return 0;
	k->plat_resolved = true;
	mpath = blob_path(k->digest);
	if (!mpath) {
		rc = imgfs_errf(c->err, -ENOMEM, 0, "out of memory");
		goto out;
	}
	rc = read_json(c, mpath, &mdoc);
	if (rc == 0)
		rc = manifest_config(c, mdoc, mpath, &cdig);
	if (rc == 0 && !(cpath = blob_path(cdig)))
		rc = imgfs_errf(c->err, -ENOMEM, 0, "out of memory");
	if (rc == 0)
		rc = read_json(c, cpath, &cdoc);
	if (rc == 0)
		rc = jopt_text(c, cdoc, "$.os", &p.os);
	if (rc == 0)
		rc = jopt_text(c, cdoc, "$.architecture", &p.arch);
	if (rc == 0)
		rc = jopt_text(c, cdoc, "$.variant", &p.variant);
	if (rc == -ENOENT)
		rc = 0;
	if (rc == 0 && p.os && p.arch) {
		platform_free(&k->plat);
		k->plat = p;
		memset(&p, 0, sizeof(p));
	}
out:
	platform_free(&p);
	free(cdoc);
	free(cpath);
	free(cdig);
	free(mdoc);
	free(mpath);
	return rc;
}

/* Candidates left after filtering are ambiguous when two of them are
 * different manifests under different index.json descriptors; within one
 * descriptor (one multi-platform index) the first match wins, as
 * image-index.md asks. */
static bool ambiguous(const struct cand *v, const bool *keep, size_t n, size_t *first)
{
	size_t f = n;

	for (size_t i = 0; i < n; i++) {
		if (!keep[i])
			continue;
		if (f == n) {
			f = i;
			continue;
		}
		if (strcmp(v[i].digest, v[f].digest) && v[i].group != v[f].group)
			return true;
	}
	*first = f;
	return false;
}

/* "latest (linux/amd64), sha256:abcd... (linux/arm64)" for messages. */
static int cand_names(const struct cand *v, const bool *keep, size_t n, char **list)
{
	for (size_t i = 0; i < n; i++) {
		char *p, *s;
		int rc;

		if (keep && !keep[i])
			continue;
		p = platform_str(&v[i].plat);
		if (!p)
			return -ENOMEM;
		if (v[i].name)
			rc = asprintf(&s, "%s (%s)", v[i].name, p);
		else
			rc = asprintf(&s, "%.19s... (%s)", v[i].digest, p);
		free(p);
		if (rc < 0)
			return -ENOMEM;
		rc = names_add(list, s);
		free(s);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Picks one candidate of W by platform; sets *PICK. */
static int oci_choose(struct ctx *c, struct walk *w, const char *want_platform, size_t *pick)
{
	struct platform want = { 0 };
	char host[64], *list = NULL;
	bool *keep = NULL;
	size_t first = 0, left = 0;
	int rc;

	keep = calloc(w->n, sizeof(*keep));
	if (!keep)
		return imgfs_errf(c->err, -ENOMEM, 0, "out of memory");
	for (size_t i = 0; i < w->n; i++)
		keep[i] = true;
	if (!want_platform) {
		bool one = true;

		/* One manifest (perhaps under several names) needs no choice,
		 * whatever its platform. */
		for (size_t i = 1; i < w->n && one; i++)
			one = !strcmp(w->v[i].digest, w->v[0].digest);
		if (one) {
			*pick = 0;
			rc = 0;
			goto out;
		}
		imgfs_host_platform(host, sizeof(host));
	}
	rc = platform_parse(want_platform ? want_platform : host, &want);
	if (rc == -EINVAL)
		rc = imgfs_errf(c->err, -EINVAL, 1, "--platform %s: expected os/arch[/variant]",
				want_platform);
	else if (rc < 0)
		rc = imgfs_errf(c->err, rc, 0, "out of memory");
	if (rc < 0)
		goto out;
	for (size_t i = 0; i < w->n; i++) {
		rc = cand_resolve(c, &w->v[i]);
		if (rc < 0)
			goto out;
		keep[i] = platform_match(&w->v[i].plat, &want);
		left += keep[i];
	}
	if (left == 0) {
		rc = cand_names(w->v, NULL, w->n, &list);
		if (rc < 0) {
			rc = imgfs_errf(c->err, rc, 0, "out of memory");
			goto out;
		}
		rc = imgfs_errf(c->err, -EINVAL, 1,
				"index.json: no image for %s%s, choose one with --platform: %s",
				want_platform ? "" : "this host's platform ",
				want_platform ? want_platform : host, list);
		goto out;
	}
	if (ambiguous(w->v, keep, w->n, &first)) {
		rc = cand_names(w->v, keep, w->n, &list);
		if (rc < 0) {
			rc = imgfs_errf(c->err, rc, 0, "out of memory");
			goto out;
		}
		rc = imgfs_errf(c->err, -EINVAL, 1,
				"index.json: several images for %s, choose one with --image: %s",
				want_platform ? want_platform : host, list);
		goto out;
	}
	*pick = first;
	rc = 0;
out:
	free(list);
	free(keep);
	platform_free(&want);
	return rc;
}

/* Reads layer descriptor I (object OBJ) of manifest MNAME into L.  Layers
 * are counted from 0 in messages, as imgfs_layer_info.num counts them. */
static int oci_layer(struct ctx *c, const char *obj, const char *mname, size_t i,
		     struct imgfs_layer_desc *l)
{
	struct jv mt = { 0 }, dg = { 0 }, sz = { 0 };
	char what[48], *toc = NULL;
	int rc;

	snprintf(what, sizeof(what), "mediaType of layer %zu", i);
	rc = jget(c, obj, "$.mediaType", &mt);
	if (rc == 0)
		rc = expect(c, &mt, JT_TEXT, mname, what);
	if (rc < 0)
		goto out;
	if (!in_list(mt.s, layer_types)) {
		rc = imgfs_errf(c->err, -EINVAL, 1, "%s: layer %zu has unsupported media type %s",
				mname, i, mt.s);
		goto out;
	}
	snprintf(what, sizeof(what), "digest of layer %zu", i);
	rc = jget(c, obj, "$.digest", &dg);
	if (rc == 0)
		rc = expect(c, &dg, JT_TEXT, mname, what);
	if (rc < 0)
		goto out;
	if (!digest_ok(dg.s)) {
		rc = imgfs_errf(c->err, -EINVAL, 1, "%s: layer %zu has a malformed digest \"%s\"",
				mname, i, dg.s);
		goto out;
	}
	rc = jget(c, obj, "$.size", &sz);
	if (rc < 0)
		goto out;
	if (sz.t == JT_INTEGER && sz.i >= 0) {
		l->size = sz.i;
	} else if (sz.t != JT_MISSING) {
		rc = imgfs_errf(c->err, -EINVAL, 1, "%s: size of layer %zu is not a byte count",
				mname, i);
		goto out;
	}
	rc = jopt_text(c, obj, "$.annotations.\"containerd.io/snapshot/stargz/toc.digest\"", &toc);
	if (rc < 0)
		goto out;
	l->estargz = toc != NULL;
	l->path = blob_path(dg.s);
	if (!l->path) {
		rc = imgfs_errf(c->err, -ENOMEM, 0, "out of memory");
		goto out;
	}
	rc = c->r->exists(c->r->ctx, l->path);
	if (rc == -ENOENT)
		rc = imgfs_errf(c->err, -EINVAL, 1, "%s: missing layer blob", l->path);
	else if (rc < 0)
		rc = imgfs_errf(c->err, rc, 0, "%s: %s", l->path, strerror(-rc));
	if (rc < 0)
		goto out;
	l->media_type = mt.s;
	mt.s = NULL;
	l->digest = dg.s;
	dg.s = NULL;
out:
	free(toc);
	jv_clear(&sz);
	jv_clear(&dg);
	jv_clear(&mt);
	return rc;
}

/* Reads the chosen manifest K and its config into D. */
static int oci_image(struct ctx *c, const struct cand *k, struct imgfs_image_desc *d)
{
	struct jv top = { 0 }, layers = { 0 }, *items = NULL;
	char *mpath = NULL, *mdoc = NULL, *cpath = NULL, *cdoc = NULL;
	size_t n = 0;
	int rc;

	d->manifest_digest = strdup(k->digest);
	d->name = k->name ? strdup(k->name) : NULL;
	mpath = blob_path(k->digest);
	if (!d->manifest_digest || (k->name && !d->name) || !mpath) {
		rc = imgfs_errf(c->err, -ENOMEM, 0, "out of memory");
		goto out;
	}
	rc = read_json(c, mpath, &mdoc);
	if (rc == -ENOENT)
		rc = imgfs_errf(c->err, -EINVAL, 1, "%s: missing manifest blob", mpath);
	if (rc < 0)
		goto out;
	rc = jget(c, mdoc, "$", &top);
	if (rc == 0)
		rc = expect(c, &top, JT_OBJECT, mpath, "the image manifest");
	if (rc == 0)
		rc = manifest_config(c, mdoc, mpath, &d->config_digest);
	if (rc == 0)
		rc = jget(c, mdoc, "$.layers", &layers);
	if (rc == 0)
		rc = expect(c, &layers, JT_ARRAY, mpath, "layers");
	if (rc < 0)
		goto out;
	rc = jeach(c, layers.s, "$", IMGFS_LAYERS_MAX, &items, &n);
	if (rc == -E2BIG)
		rc = imgfs_errf(c->err, -EINVAL, 1, "%s: more than %d layers", mpath,
				IMGFS_LAYERS_MAX);
	if (rc == 0)
		rc = desc_alloc_layers(c, d, n);
	if (rc < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		char what[32];

		snprintf(what, sizeof(what), "layer %zu", i);
		rc = expect(c, &items[i], JT_OBJECT, mpath, what);
		if (rc == 0)
			rc = oci_layer(c, items[i].s, mpath, i, &d->layers[i]);
		if (rc < 0)
			goto out;
	}
	cpath = blob_path(d->config_digest);
	if (!cpath) {
		rc = imgfs_errf(c->err, -ENOMEM, 0, "out of memory");
		goto out;
	}
	rc = read_json(c, cpath, &cdoc);
	if (rc == -ENOENT)
		rc = imgfs_errf(c->err, -EINVAL, 1, "%s: missing config blob", cpath);
	if (rc == 0)
		rc = config_apply(c, cpath, cdoc, mpath, d);
out:
	free(cdoc);
	free(cpath);
	jvs_free(items, n);
	jv_clear(&layers);
	jv_clear(&top);
	free(mdoc);
	free(mpath);
	return rc;
}

static int parse_oci(struct ctx *c, struct imgfs_image_desc *d, const char *want_image,
		     const char *want_platform)
{
	struct walk w = { .want_image = want_image };
	char *doc = NULL;
	size_t pick = 0;
	int rc;

	d->format = IMGFS_FMT_OCI;
	rc = read_json(c, "index.json", &doc);
	if (rc == -ENOENT)
		rc = imgfs_errf(c->err, -EIO, 0, "index.json: vanished while reading");
	if (rc < 0)
		goto out;
	rc = walk_index(c, &w, doc, "index.json", 0, 0, NULL);
	if (rc < 0)
		goto out;
	if (w.n == 0) {
		if (want_image && !w.named)
			rc = imgfs_errf(c->err, -EINVAL, 1, "index.json: no image named %s; it holds: %s",
					want_image, w.names ? w.names : "no named images");
		else if (w.missing_index)
			rc = imgfs_errf(c->err, -EINVAL, 1, "%s: missing index blob", w.missing_index);
		else
			rc = imgfs_errf(c->err, -EINVAL, 1, "index.json: no image manifests");
		goto out;
	}
	rc = oci_choose(c, &w, want_platform, &pick);
	if (rc == 0)
		rc = oci_image(c, &w.v[pick], d);
out:
	walk_free(&w);
	free(doc);
	return rc;
}

/* ---- entry point ---- */

static int member_exists(struct ctx *c, const char *name, bool *yes)
{
	int rc = c->r->exists(c->r->ctx, name);

	*yes = rc == 0;
	if (rc == -ENOENT || rc == 0)
		return 0;
	return imgfs_errf(c->err, rc, 0, "%s: %s", name, strerror(-rc));
}

/* Messages quote names and media types from the image: keep them one line
 * whatever bytes those hold. */
static void msg_one_line(struct imgfs_err *err)
{
	for (char *p = err->msg; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
}

/* Puts "IMAGE: " before ERR's message: a bad manifest.json must be told
 * apart from the same member of another image. */
static void prefix_image(struct imgfs_err *err, const char *image)
{
	char msg[sizeof(err->msg) * 2];
	size_t n = strlen(image);

	if (!strncmp(err->msg, image, n) && err->msg[n] == ':')
		return;
	snprintf(msg, sizeof(msg), "%s: %s", image, err->msg);
	msg[sizeof(err->msg) - 1] = '\0';
	memcpy(err->msg, msg, sizeof(err->msg));
}

int imgfs_manifest_parse(struct imgfs_image_desc *out, const struct imgfs_member_reader *r,
			 const char *want_image, const char *want_platform, struct imgfs_err *err)
{
	struct imgfs_image_desc d = { 0 };
	struct ctx c;
	bool yes = false, fresh = err && !err->msg[0];
	int rc;

	assert(out && r && r->read && r->exists);
	memset(out, 0, sizeof(*out));
	rc = ctx_open(&c, r, err);
	if (rc < 0)
		goto out;
	rc = member_exists(&c, "manifest.json", &yes);
	if (rc < 0)
		goto out;
	if (yes) {
		rc = parse_docker(&c, &d, want_image);
		goto out;
	}
	rc = member_exists(&c, "index.json", &yes);
	if (rc < 0)
		goto out;
	if (yes) {
		rc = parse_oci(&c, &d, want_image, want_platform);
		goto out;
	}
	rc = member_exists(&c, "repositories", &yes);
	if (rc < 0)
		goto out;
	if (yes)
		rc = imgfs_errf(err, -ENOTSUP, 1,
				"pre-1.10 docker-archive (repositories without manifest.json) is not "
				"supported; re-save it with a current docker or skopeo");
	else
		rc = -ENOMSG;
out:
	ctx_close(&c);
	if (rc < 0 && fresh)
		msg_one_line(err);
	if (rc < 0 && fresh && err->input && r->image && err->msg[0])
		prefix_image(err, r->image);
	if (rc < 0)
		imgfs_image_desc_free(&d);
	else
		*out = d;
	return rc;
}
