/* This file contains the JSON reader of the manifest parsers: members read
 * through the member reader and checked, values fetched by path with
 * SQLite's JSON1 functions, typed and checked for the messages. */
#include "format/json_i.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "util/err_i.h"

void imgfs_jv_clear(struct imgfs_jv *v)
{
	free(v->s);
	memset(v, 0, sizeof(*v));
}

void imgfs_jvs_free(struct imgfs_jv *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].s);
	free(v);
}

static enum imgfs_jt jt_parse(const unsigned char *name)
{
	static const char *const names[] = {
		[IMGFS_JT_NULL] = "null", [IMGFS_JT_TRUE] = "true", [IMGFS_JT_FALSE] = "false",
		[IMGFS_JT_INTEGER] = "integer", [IMGFS_JT_REAL] = "real", [IMGFS_JT_TEXT] = "text",
		[IMGFS_JT_ARRAY] = "array", [IMGFS_JT_OBJECT] = "object",
	};

	if (!name)
		return IMGFS_JT_MISSING;
	for (size_t i = IMGFS_JT_NULL; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp((const char *)name, names[i]))
			return i;
	return IMGFS_JT_MISSING;
}

/* "is a string": for messages. */
const char *imgfs_jt_desc(enum imgfs_jt t)
{
	switch (t) {
	case IMGFS_JT_MISSING: return "missing";
	case IMGFS_JT_NULL: return "null";
	case IMGFS_JT_TRUE: case IMGFS_JT_FALSE: return "a boolean";
	case IMGFS_JT_INTEGER: case IMGFS_JT_REAL: return "a number";
	case IMGFS_JT_TEXT: return "a string";
	case IMGFS_JT_ARRAY: return "an array";
	case IMGFS_JT_OBJECT: return "an object";
	}
	return "?";
}

static int db_fail(struct imgfs_json *c, int rc)
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
 * and TCOL + 2 of ST's row.  The raw text may be NULL when the caller knows
 * that the document holds no \u0000 escape. */
static int jv_from_row(struct imgfs_json *c, sqlite3_stmt *st, int tcol, struct imgfs_jv *v)
{
	int vcol = tcol + 1;
	const unsigned char *s;
	int n;

	memset(v, 0, sizeof(*v));
	v->t = jt_parse(sqlite3_column_text(st, tcol));
	if (v->t == IMGFS_JT_MISSING || v->t == IMGFS_JT_NULL || v->t == IMGFS_JT_TRUE ||
	    v->t == IMGFS_JT_FALSE)
		return 0;
	if (v->t == IMGFS_JT_INTEGER)
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
	v->nul = strlen(v->s) != (size_t)n;
	if (v->t == IMGFS_JT_TEXT && !v->nul) {
		const char *raw = (const char *)sqlite3_column_text(st, tcol + 2);

		/* NULL is also what a failed conversion returns: a NUL
		 * missed for want of memory would let a cut name through. */
		if (!raw && sqlite3_errcode(c->db) == SQLITE_NOMEM)
			return db_fail(c, SQLITE_NOMEM);
		v->nul = has_nul_escape(raw);
	}
	return 0;
}

/* The value at PATH ("$.a.b") of the valid JSON text DOC into V (IMGFS_JT_MISSING
 * when there is none).  Returns 0 or a negative errno with ERR set. */
int imgfs_json_get(struct imgfs_json *c, const char *doc, const char *path, struct imgfs_jv *v)
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
int imgfs_json_each(struct imgfs_json *c, const char *doc, const char *path, size_t max,
		    struct imgfs_jv **out, size_t *n)
{
	sqlite3_stmt *st = c->st_len;
	struct imgfs_jv *v = NULL;
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
	sqlite3_bind_int(st, 3, has_nul_escape(doc));
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
		imgfs_jvs_free(v, len);
		return rc;
	}
	*out = v;
	*n = i;
	return 0;
}

/* Checks that V has type WANT.  FILE and WHAT ("Config of image 0") name
 * the value in the message.  Strings must not hold NUL characters and, as
 * every string we require names something, must not be empty. */
int imgfs_json_expect(struct imgfs_json *c, const struct imgfs_jv *v, enum imgfs_jt want,
		      const char *file, const char *what)
{
	if (v->t == IMGFS_JT_MISSING)
		return imgfs_errf(c->err, -EINVAL, 1, "%s: %s is missing", file, what);
	if (v->t != want)
		return imgfs_errf(c->err, -EINVAL, 1, "%s: %s is %s, expected %s", file, what,
				  imgfs_jt_desc(v->t), imgfs_jt_desc(want));
	if (want == IMGFS_JT_TEXT && (v->nul || !v->s[0]))
		return imgfs_errf(c->err, -EINVAL, 1, "%s: %s is %s", file, what,
				  v->nul ? "a string with a NUL character" : "an empty string");
	return 0;
}

/* imgfs_json_get of PATH in DOC into V, then imgfs_json_expect() of it: the pair every
 * document walk starts with. */
int imgfs_json_get_expect(struct imgfs_json *c, const char *doc, const char *path,
			  struct imgfs_jv *v, enum imgfs_jt want, const char *file,
			  const char *what)
{
	int rc = imgfs_json_get(c, doc, path, v);

	return rc < 0 ? rc : imgfs_json_expect(c, v, want, file, what);
}

/* An optional string at PATH of DOC: *OUT is a malloc'd copy or NULL when
 * the value is absent or is no usable string (annotations and platform
 * fields only choose among images, so a wrong type just does not match). */
int imgfs_json_opt_text(struct imgfs_json *c, const char *doc, const char *path, char **out)
{
	struct imgfs_jv v;
	int rc;

	*out = NULL;
	rc = imgfs_json_get(c, doc, path, &v);
	if (rc < 0)
		return rc;
	if (v.t == IMGFS_JT_TEXT && !v.nul) {
		*out = v.s;
		v.s = NULL;
	}
	imgfs_jv_clear(&v);
	return 0;
}

int imgfs_json_text(const char *doc, const char *path, char **out)
{
	struct imgfs_json c;
	sqlite3_stmt *st = NULL;
	int rc, valid = 0;

	*out = NULL;
	if (!doc)
		return 0;
	rc = imgfs_json_open(&c, NULL, NULL);
	if (rc == 0)
		rc = sqlite3_prepare_v2(c.db, "SELECT json_valid(?1)", -1, &st, NULL) == SQLITE_OK ? 0 : -ENOMEM;
	if (rc == 0) {
		sqlite3_bind_text(st, 1, doc, -1, SQLITE_STATIC);
		valid = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0);
	}
	/* an answer that is no JSON (a proxy's HTML page) just has no
	 * such string: only memory is an error here */
	if (rc == 0 && valid)
		rc = imgfs_json_opt_text(&c, doc, path, out) < 0 ? -ENOMEM : 0;
	sqlite3_finalize(st);
	imgfs_json_close(&c);
	return rc;
}

int imgfs_json_open(struct imgfs_json *c, const struct imgfs_member_reader *r,
		    struct imgfs_err *err)
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
		/* The raw text of each element, to see \u0000 escapes, costs a
		 * parse of the whole of DOC per element (SQLite 3.40 has no JSON
		 * cache): 4 s for the 4096 strings a 16 MiB array can hold.  It is
		 * fetched only when DOC holds such an escape at all (?3), which
		 * no image from a real builder does. */
		rc = sqlite3_prepare_v2(c->db,
					"SELECT type, value, CASE WHEN ?3 THEN ?1 -> fullkey END"
					" FROM json_each(?1, ?2)", -1, &c->st_each, NULL);
	if (rc != SQLITE_OK)
		return db_fail(c, rc);
	return 0;
}

void imgfs_json_close(struct imgfs_json *c)
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
int imgfs_json_read(struct imgfs_json *c, const char *name, char **doc)
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

int imgfs_json_each_object(struct imgfs_json *c, const char *doc,
			   int (*fn)(struct imgfs_json *c, const char *obj, void *arg), void *arg)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = sqlite3_prepare_v2(c->db, "SELECT value FROM json_each(?1) WHERE type = 'object'", -1,
				&st, NULL);
	if (rc != SQLITE_OK) {
		rc = db_fail(c, rc);
		goto out;
	}
	sqlite3_bind_text(st, 1, doc, -1, SQLITE_STATIC);
	rc = 0;
	while (rc == 0) {
		const char *obj;
		int s = sqlite3_step(st);

		if (s == SQLITE_DONE)
			break;
		if (s != SQLITE_ROW) {
			rc = db_fail(c, s);
			break;
		}
		obj = (const char *)sqlite3_column_text(st, 0);
		if (!obj) {
			rc = db_fail(c, SQLITE_NOMEM);
			break;
		}
		rc = fn(c, obj, arg);
	}
	if (rc > 0)
		rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}
