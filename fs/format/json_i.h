/* The small JSON reader the manifest parsers use: an image's JSON members
 * read through the member reader, checked, and queried by path with
 * SQLite's JSON1 functions (SQLite is linked already for the index). */
#ifndef IMGFS_JSON_I_H
#define IMGFS_JSON_I_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "format/image_i.h"
#include "imgfs/imgfs.h"

struct sqlite3;
struct sqlite3_stmt;

/* JSON value types as json_type() names them, plus "absent". */
enum imgfs_jt {
	IMGFS_JT_MISSING, IMGFS_JT_NULL, IMGFS_JT_TRUE, IMGFS_JT_FALSE, IMGFS_JT_INTEGER,
	IMGFS_JT_REAL, IMGFS_JT_TEXT, IMGFS_JT_ARRAY, IMGFS_JT_OBJECT,
};

/* One JSON value: S is the string for IMGFS_JT_TEXT, the JSON text of an array
 * or object, the digits of a number; NUL is set when a string held a NUL
 * character (S then stops there, so it must not be used as a name). */
struct imgfs_jv {
	enum imgfs_jt t;
	char *s;
	int64_t i;
	bool nul;
};

/* One parse: the SQLite connection, the archive's members, the message. */
struct imgfs_json {
	struct sqlite3 *db;
	struct sqlite3_stmt *st_get;   /* json_type + json_extract of a path */
	struct sqlite3_stmt *st_len;   /* json_array_length of a path */
	struct sqlite3_stmt *st_each;  /* json_each of a path */
	const struct imgfs_member_reader *r;   /* borrowed */
	struct imgfs_err *err;                 /* borrowed, may be NULL */
};

/* Opens C over the members of R, messages to ERR (both borrowed).  Returns
 * 0 or a negative errno with ERR set; imgfs_json_close() is needed either
 * way. */
int imgfs_json_open(struct imgfs_json *c, const struct imgfs_member_reader *r,
		    struct imgfs_err *err);
/* Frees what imgfs_json_open() made, also after it failed. */
void imgfs_json_close(struct imgfs_json *c);

/* Reads member NAME and checks that it is JSON.  Returns 0 and a malloc'd
 * *DOC, -ENOENT without touching ERR when there is no such member (the
 * caller knows what that means), or a negative errno with ERR set. */
int imgfs_json_read(struct imgfs_json *c, const char *name, char **doc);

/* The value at PATH ("$.a.b") of the valid JSON text DOC into V (JT_MISSING
 * when there is none; V owns its string, imgfs_jv_clear() frees it).
 * Returns 0 or a negative errno with ERR set. */
int imgfs_json_get(struct imgfs_json *c, const char *doc, const char *path, struct imgfs_jv *v);

/* The elements of the array at PATH of DOC into a malloc'd *OUT, *N (free
 * with imgfs_jvs_free()).  Returns 0, -E2BIG (ERR untouched) when there are
 * more than MAX, so that the caller can name the limit, or a negative errno
 * with ERR set. */
int imgfs_json_each(struct imgfs_json *c, const char *doc, const char *path, size_t max,
		    struct imgfs_jv **out, size_t *n);

/* Calls FN(C, OBJ, ARG) with the JSON text of each object in the array
 * DOC, in order, skipping elements that are no objects; FN returns 0 to go
 * on, 1 to stop, or a negative errno (with ERR set) that is returned.
 * Returns 0 or a negative errno with ERR set. */
int imgfs_json_each_object(struct imgfs_json *c, const char *doc,
			   int (*fn)(struct imgfs_json *c, const char *obj, void *arg), void *arg);

/* Checks that V has type WANT.  FILE and WHAT ("Config of image 0") name
 * the value in the message.  Strings must not hold NUL characters and, as
 * every string we require names something, must not be empty.  Returns 0
 * or -EINVAL with ERR set (input). */
int imgfs_json_expect(struct imgfs_json *c, const struct imgfs_jv *v, enum imgfs_jt want,
		      const char *file, const char *what);

/* imgfs_json_get() of PATH in DOC into V, then imgfs_json_expect() of it:
 * the pair every document walk starts with. */
int imgfs_json_get_expect(struct imgfs_json *c, const char *doc, const char *path,
			  struct imgfs_jv *v, enum imgfs_jt want, const char *file,
			  const char *what);

/* An optional string at PATH of DOC: *OUT is a malloc'd copy or NULL when
 * the value is absent or is no usable string (annotations and platform
 * fields only choose among images, so a wrong type just does not match).
 * Returns 0 or a negative errno with ERR set. */
int imgfs_json_opt_text(struct imgfs_json *c, const char *doc, const char *path, char **out);

/* The string at PATH of the text DOC, for the small answers of a server
 * (an error's message, an image ID, a token): *OUT is a malloc'd copy, or
 * NULL when DOC is NULL or no valid JSON or the value is absent or no
 * usable string.  Opens its own connection, so it needs no imgfs_json.
 * Returns 0 or -ENOMEM (the caller words the message). */
int imgfs_json_text(const char *doc, const char *path, char **out);

/* Frees V's string and zeroes V (which stays usable). */
void imgfs_jv_clear(struct imgfs_jv *v);
/* Frees the array V of N values from imgfs_json_each(), and their strings. */
void imgfs_jvs_free(struct imgfs_jv *v, size_t n);

/* "a string", "an array"...: for messages. */
const char *imgfs_jt_desc(enum imgfs_jt t);

#endif
