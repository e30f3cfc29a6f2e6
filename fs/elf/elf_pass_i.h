/* The index-time ELF pass: what strip --strip-unneeded would save on each
 * ELF file of the merged tree, into table elf. */
#ifndef IMGFS_ELF_PASS_I_H
#define IMGFS_ELF_PASS_I_H

#include <sqlite3.h>

struct imgfs_err;

/* Measures every candidate file (elf_pass.c says which) of the merged tree
 * of the committed index at INDEX_PATH, read through the read side (opened
 * and closed here), and writes one row per ELF file into table elf of DB,
 * the writable connection to that same file, in one transaction.  A file
 * whose ELF headers are malformed is left out, with one warning on stderr
 * for all of them.  Returns 0, or a negative errno with ERR set when memory
 * or the index fails. */
int imgfs_elf_build(sqlite3 *db, const char *index_path, struct imgfs_err *err);

#endif
