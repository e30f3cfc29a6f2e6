/* What `strip --strip-unneeded` would remove from one ELF file, measured
 * from its ELF header, section headers and section-name table only. */
#ifndef IMGFS_ELF_STRIP_I_H
#define IMGFS_ELF_STRIP_I_H

#include <stdint.h>
#include <sys/types.h>

struct imgfs_err;

/* Reads up to LEN bytes at OFF of the file into BUF; returns the count
 * (short only at the end of the file) or a negative errno. */
typedef ssize_t (*elf_pread_fn)(void *ctx, void *buf, size_t len, uint64_t off);

/* The bytes a strip would save, by kind.  strip_bytes = debug_bytes +
 * symtab_bytes + the removed sections' header entries and names. */
struct elf_strip {
	uint64_t strip_bytes;
	uint64_t debug_bytes;   /* debug sections (.debug_*, ...) and their relocations */
	uint64_t symtab_bytes;  /* .symtab and the string table only it uses */
	uint32_t removed;       /* sections removed */
};

/* Measures the file of SIZE bytes READ reads (with CTX).  Returns 0 and
 * fills OUT (all zero for a stripped file); -ENOEXEC when it is no ELF
 * file (no magic, or shorter than an ELF header); -EINVAL with ERR set
 * when it is an ELF file whose headers are malformed (offsets past the
 * end, counts past the bounds of elf_strip.c), OUT then zero; or READ's
 * negative errno. */
int elf_strip_measure(elf_pread_fn read, void *ctx, uint64_t size, struct elf_strip *out,
		      struct imgfs_err *err);

#endif
