/* This file contains the index-time ELF pass: after package attribution it
 * reads the ELF header, section headers and section names of each
 * candidate file of the merged tree (fs/elf/elf_strip.c measures them)
 * and records in table elf what `strip --strip-unneeded` would save.
 *
 * Candidates are the regular files of the merged tree that are executable
 * by anyone or named *.so, *.so.*, *.o or *.ko: executables and shared
 * objects are where symbols and DWARF ship by mistake; objects and kernel
 * modules are counted for their debug sections (elf_strip.c says why not
 * their symbols); a shared object installed without its x bit (pip
 * wheels' .so are 0644 at times) is caught by its name.  Other files are
 * not opened: an image's data files outnumber its ELF files by far, and
 * each read may cost a cache frame's decode. */
#include "elf/elf_pass_i.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elf/elf_strip_i.h"
#include "read/fs_i.h"
#include "store/schema_i.h"
#include "util/err_i.h"

/* The smallest ELF file: its ELF32 header. */
#define ELF_MIN_SIZE 52

struct row {
	uint64_t ino;
	struct elf_strip es;
};

struct pass {
	sqlite3 *db;
	struct imgfs_fs *fs;
	struct row *rows;
	size_t n, cap;
	uint64_t bad;               /* malformed ELF files */
	char first_bad[1400];       /* the first one's name and problem */
	struct imgfs_err *err;
};

struct file {
	struct imgfs_fs *fs;
	uint64_t ino;
};

static ssize_t file_read(void *ctx, void *buf, size_t len, uint64_t off)
{
	const struct file *f = ctx;

	return imgfs_fs_read(f->fs, f->ino, buf, len, off);
}

static int ends_with(const char *s, size_t n, const char *tail)
{
	size_t t = strlen(tail);

	return n >= t && !memcmp(s + n - t, tail, t);
}

/* NAME (N bytes, no NUL) is *.so, *.so.*, *.o or *.ko. */
static int elf_name(const char *name, size_t n)
{
	const char *p;

	if (ends_with(name, n, ".so") || ends_with(name, n, ".o") || ends_with(name, n, ".ko"))
		return 1;
	for (p = name; (p = memchr(p, '.', n - (size_t)(p - name))) != NULL; p++)
		if (n - (size_t)(p - name) > 4 && !memcmp(p, ".so.", 4))
			return 1;
	return 0;
}

static int db_fail(struct pass *p)
{
	return imgfs_errf(p->err, -EIO, 0, "index: elf: %s", sqlite3_errmsg(p->db));
}

/* Measures INO (SIZE bytes, NAME of N bytes one of its names) into a new
 * row when it is an ELF file.  0, or a fatal -errno with P->err set. */
static int measure(struct pass *p, uint64_t ino, uint64_t size, const char *name, size_t n)
{
	struct file f = { p->fs, ino };
	struct imgfs_err e = { 0 };
	struct elf_strip es;
	int rc = elf_strip_measure(file_read, &f, size, &es, &e);

	if (rc == -ENOEXEC)
		return 0;
	if (rc == -EINVAL) {
		if (!p->bad++)
			snprintf(p->first_bad, sizeof(p->first_bad), "%.*s (inode %llu): %s",
				 (int)(n > 200 ? 200 : n), name, (unsigned long long)ino, e.msg);
		return 0;
	}
	if (rc == -ENOMEM)
		return imgfs_errf(p->err, rc, 0, "index: elf: out of memory");
	if (rc)
		return imgfs_errf(p->err, rc, 0, "index: elf: reading the tree: %s", strerror(-rc));
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 256;
		struct row *nr = realloc(p->rows, cap * sizeof(*nr));

		if (!nr)
			return imgfs_errf(p->err, -ENOMEM, 0, "index: elf: out of memory");
		p->rows = nr;
		p->cap = cap;
	}
	p->rows[p->n].ino = ino;
	p->rows[p->n].es = es;
	p->n++;
	return 0;
}

/* The merged tree's regular files big enough for an ELF header, each name
 * of each (hardlinks), by inode. */
static const char candidates_sql[] =
	"SELECT i.ino, i.size, i.mode, d.name FROM dentry d JOIN inode i ON i.ino = d.ino"
	" WHERE d.view = " IMGFS_SQL(IMGFS_VIEW_MERGED) " AND " IMGFS_SQL_IS_REG("i.mode")
	" AND i.size >= " IMGFS_SQL(ELF_MIN_SIZE) " ORDER BY i.ino";

static int scan(struct pass *p)
{
	sqlite3_stmt *q = NULL;
	uint64_t done = 0; /* the last inode measured: its other names are skipped */
	int r, rc = 0;

	if (sqlite3_prepare_v2(p->db, candidates_sql, -1, &q, NULL) != SQLITE_OK)
		return db_fail(p);
	while ((r = sqlite3_step(q)) == SQLITE_ROW) {
		uint64_t ino = (uint64_t)sqlite3_column_int64(q, 0);
		const char *name = sqlite3_column_blob(q, 3);
		size_t n = (size_t)sqlite3_column_bytes(q, 3);

		if (ino == done || !((sqlite3_column_int64(q, 2) & 0111) || elf_name(name, n)))
			continue;
		done = ino;
		rc = measure(p, ino, (uint64_t)sqlite3_column_int64(q, 1), name, n);
		if (rc)
			break;
	}
	if (!rc && r != SQLITE_DONE)
		rc = db_fail(p);
	sqlite3_finalize(q);
	return rc;
}

static int write_rows(struct pass *p)
{
	sqlite3_stmt *q = NULL;
	size_t i;

	if (sqlite3_exec(p->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(p->db, "INSERT INTO elf(ino, strip_bytes, debug_bytes, symtab_bytes)"
			       " VALUES(?1, ?2, ?3, ?4)", -1, &q, NULL) != SQLITE_OK)
		goto fail;
	for (i = 0; i < p->n; i++) {
		const struct row *r = &p->rows[i];

		sqlite3_bind_int64(q, 1, (sqlite3_int64)r->ino);
		sqlite3_bind_int64(q, 2, (sqlite3_int64)r->es.strip_bytes);
		sqlite3_bind_int64(q, 3, (sqlite3_int64)r->es.debug_bytes);
		sqlite3_bind_int64(q, 4, (sqlite3_int64)r->es.symtab_bytes);
		if (sqlite3_step(q) != SQLITE_DONE)
			goto fail;
		sqlite3_reset(q);
	}
	sqlite3_finalize(q);
	if (sqlite3_exec(p->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		q = NULL;
		goto fail;
	}
	return 0;
fail:
	{
		int rc = db_fail(p);

		if (!sqlite3_get_autocommit(p->db))
			sqlite3_exec(p->db, "ROLLBACK", NULL, NULL, NULL);
		sqlite3_finalize(q);
		return rc;
	}
}

/* The image's path the build recorded, for the warning (malloc'd), or
 * NULL: then the index's path is named. */
static char *image_name(sqlite3 *db)
{
	sqlite3_stmt *q = NULL;
	char *v = NULL;

	if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = ?1", -1, &q, NULL) != SQLITE_OK)
		return NULL;
	sqlite3_bind_text(q, 1, IMGFS_META_IMAGE, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_type(q, 0) == SQLITE_TEXT)
		v = strdup((const char *)sqlite3_column_text(q, 0));
	sqlite3_finalize(q);
	return v;
}

int imgfs_elf_build(sqlite3 *db, const char *index_path, struct imgfs_err *err)
{
	struct pass p = { .db = db, .err = err };
	char *image;
	int rc;

	rc = imgfs_fs_open_unsealed(&p.fs, index_path, err);
	if (rc)
		return rc;
	rc = scan(&p);
	/* the reader is closed before the writer changes the file under it */
	imgfs_fs_close(p.fs);
	if (!rc && p.bad) {
		image = image_name(db);
		fprintf(stderr, "imgfs: warning: %s: elf: %llu ELF file%s with malformed headers left "
			"out, the first %s\n", image ? image : index_path, (unsigned long long)p.bad,
			p.bad == 1 ? "" : "s", p.first_bad);
		free(image);
	}
	if (!rc && p.n)
		rc = write_rows(&p);
	free(p.rows);
	return rc;
}
