/* This file contains the ELF measure behind user.imgfs.strip and `imgfs
 * elf`: the bytes `strip --strip-unneeded` (binutils) would save on one
 * file, found from the ELF header, the section header table and the
 * section-name table, never the sections' contents.
 *
 * What it counts, checked against binutils 2.40 (tests/check_elf.c runs
 * strip on real files and compares):
 *   - every non-allocated debug section, by BFD's names (is_debug below:
 *     .debug*, .zdebug*, .gnu.debuglto_.debug_*, .stab*, ...; a debuginfo
 *     file's SHT_NOBITS ones hold no bytes);
 *   - every non-allocated SHT_REL/SHT_RELA section that relocates a removed
 *     section (.rela.debug_info in an object file);
 *   - in a linked file (ET_EXEC, ET_DYN: executables, shared objects, PIEs)
 *     each SHT_SYMTAB and the string table it links to (.strtab) when no
 *     section kept links to that one too: after linking nothing needs the
 *     static symbols (the dynamic linker reads .dynsym, which stays);
 *   - each removed section's entry in the section header table and its
 *     name in .shstrtab, which strip rewrites without them.
 * What it does not: an object file's (ET_REL: *.o, kernel modules *.ko)
 * .symtab, of which --strip-unneeded keeps every symbol a relocation
 * names, so only a reading of the relocations could tell the part that
 * goes (its debug sections and their relocations are counted); and
 * .gnu_debuglink, .comment and .note.*, which strip --strip-unneeded keeps;
 * nor what strip saves by merging .gnu.build.attributes notes (annobin's,
 * in some manylinux wheels: some 250 bytes a file), which only their
 * contents tell.
 * strip also re-lays out the non-allocated sections, so the file shrinks by
 * the figure here give or take the alignment padding around them. */
#include "elf/elf_strip_i.h"

#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/err_i.h"

/* Bounds on what a hostile header can make us read and hold.  Sections:
 * the largest real files (C++ objects built with -ffunction-sections) have
 * tens of thousands; 1 << 18 is 16 MiB of ELF64 headers.  A header entry
 * is 64 bytes in ELF64, 40 in ELF32; a larger e_shentsize is legal (the
 * rest is ignored) up to this, which keeps the table under 64 MiB. */
#define ELF_SECTIONS_MAX (1u << 18)
#define ELF_SHENTSIZE_MAX 256u
/* .shstrtab: every section's name; 64 bytes a name for ELF_SECTIONS_MAX. */
#define ELF_SHSTRTAB_MAX (16u << 20)

/* The ELF32 header is the shorter: no ELF file is smaller. */
#define EHDR32_SIZE 52
#define EHDR64_SIZE 64
#define SHDR32_SIZE 40
#define SHDR64_SIZE 64

struct sec {
	uint64_t off, size, flags;
	uint32_t name, type, link, info;
	unsigned char kind; /* KEEP or why it goes */
};

enum { KEEP, DEBUG, SYMTAB };

struct elf {
	int is64, big;
	elf_pread_fn read;
	void *ctx;
	uint64_t size;
	struct imgfs_err *err;
};

static uint64_t get(const struct elf *e, const unsigned char *p, int n)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < n; i++)
		v |= (uint64_t)p[e->big ? n - 1 - i : i] << (8 * i);
	return v;
}

/* Reads exactly LEN bytes at OFF: a short read is a file shorter than its
 * headers say. */
static int read_at(const struct elf *e, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = e->read(e->ctx, (char *)buf + done, len - done, off + done);

		if (n < 0)
			return (int)n;
		if (n == 0)
			return imgfs_errf(e->err, -EINVAL, 1, "ELF: headers past the end of the file");
		done += (size_t)n;
	}
	return 0;
}

/* OFF + LEN lies within the file. */
static int inside(const struct elf *e, uint64_t off, uint64_t len)
{
	return off <= e->size && len <= e->size - off;
}

static void decode(const struct elf *e, const unsigned char *p, struct sec *s)
{
	s->name = (uint32_t)get(e, p, 4);
	s->type = (uint32_t)get(e, p + 4, 4);
	if (e->is64) {
		s->flags = get(e, p + 8, 8);
		s->off = get(e, p + 24, 8);
		s->size = get(e, p + 32, 8);
		s->link = (uint32_t)get(e, p + 40, 4);
		s->info = (uint32_t)get(e, p + 44, 4);
	} else {
		s->flags = get(e, p + 8, 4);
		s->off = get(e, p + 16, 4);
		s->size = get(e, p + 20, 4);
		s->link = (uint32_t)get(e, p + 24, 4);
		s->info = (uint32_t)get(e, p + 28, 4);
	}
	s->kind = KEEP;
}

/* Section I's name in NAMES (LEN bytes), or NULL when it does not end
 * inside the table. */
static const char *name_of(const struct sec *s, const char *names, uint64_t len)
{
	if (s->name >= len || !memchr(names + s->name, '\0', len - s->name))
		return NULL;
	return names + s->name;
}

/* BFD's test (bfd/elf.c, _bfd_elf_make_section_from_shdr: the names it
 * gives SEC_DEBUGGING, which strip --strip-unneeded removes): DWARF plain
 * or compressed, GCC's LTO copy of it in fat LTO objects, old stabs and
 * gdb's index. */
static int is_debug(const char *n)
{
	static const char *const prefix[] = {
		".debug", ".zdebug", ".gnu.debuglto_.debug_", ".gnu.linkonce.wi.", ".line", ".stab",
	};
	size_t i;

	if (!n)
		return 0;
	for (i = 0; i < sizeof(prefix) / sizeof(prefix[0]); i++)
		if (!strncmp(n, prefix[i], strlen(prefix[i])))
			return 1;
	return !strcmp(n, ".gdb_index");
}

static int is_rel(const struct sec *s)
{
	return s->type == SHT_REL || s->type == SHT_RELA;
}

/* Which sections go (struct sec.kind), in three rounds: a relocation
 * section goes with the section it relocates, a string table with the
 * last symbol table using it. */
static void classify(struct sec *s, uint32_t n, uint32_t shstrndx, int linked, const char *names,
		     uint64_t names_len)
{
	uint32_t i, j;

	for (i = 1; i < n; i++) {
		if (s[i].flags & SHF_ALLOC)
			continue;
		if (is_debug(name_of(&s[i], names, names_len)))
			s[i].kind = DEBUG;
		else if (linked && s[i].type == SHT_SYMTAB)
			s[i].kind = SYMTAB;
	}
	for (i = 1; i < n; i++)
		if (!(s[i].flags & SHF_ALLOC) && is_rel(&s[i]) && s[i].kind == KEEP &&
		    s[i].info > 0 && s[i].info < n && s[s[i].info].kind != KEEP)
			s[i].kind = s[s[i].info].kind;
	for (i = 1; i < n; i++) {
		uint32_t t = s[i].link;
		int used = 0;

		if (s[i].kind != SYMTAB || t == 0 || t >= n || t == shstrndx ||
		    s[t].type != SHT_STRTAB || (s[t].flags & SHF_ALLOC) || s[t].kind != KEEP)
			continue;
		for (j = 1; j < n && !used; j++)
			used = j != t && s[j].kind == KEEP && s[j].link == t;
		if (!used)
			s[t].kind = SYMTAB;
	}
}

int elf_strip_measure(elf_pread_fn read, void *ctx, uint64_t size, struct elf_strip *out,
		      struct imgfs_err *err)
{
	struct elf e = { .read = read, .ctx = ctx, .size = size, .err = err };
	unsigned char h[EHDR64_SIZE], *tab = NULL;
	struct sec *s = NULL, s0;
	char *names = NULL;
	uint64_t shoff;
	uint32_t shnum, shstrndx, shentsize, i;
	int type, rc;

	memset(out, 0, sizeof(*out));
	if (size < EHDR32_SIZE)
		return -ENOEXEC;
	rc = read_at(&e, h, size < EHDR64_SIZE ? EHDR32_SIZE : EHDR64_SIZE, 0);
	if (rc)
		return rc == -EINVAL ? -ENOEXEC : rc;
	if (memcmp(h, ELFMAG, SELFMAG))
		return -ENOEXEC;
	if ((h[EI_CLASS] != ELFCLASS32 && h[EI_CLASS] != ELFCLASS64) ||
	    (h[EI_DATA] != ELFDATA2LSB && h[EI_DATA] != ELFDATA2MSB))
		return imgfs_errf(err, -EINVAL, 1, "ELF: unknown class %u or byte order %u",
				  h[EI_CLASS], h[EI_DATA]);
	e.is64 = h[EI_CLASS] == ELFCLASS64;
	e.big = h[EI_DATA] == ELFDATA2MSB;
	if (e.is64 && size < EHDR64_SIZE)
		return imgfs_errf(err, -EINVAL, 1, "ELF: file shorter than its ELF header");
	type = (int)get(&e, h + 16, 2);
	shoff = e.is64 ? get(&e, h + 40, 8) : get(&e, h + 32, 4);
	shentsize = (uint32_t)get(&e, h + (e.is64 ? 58 : 46), 2);
	shnum = (uint32_t)get(&e, h + (e.is64 ? 60 : 48), 2);
	shstrndx = (uint32_t)get(&e, h + (e.is64 ? 62 : 50), 2);
	if (shoff == 0)
		return 0; /* no section header table: nothing strip could name */
	if (shentsize < (e.is64 ? SHDR64_SIZE : SHDR32_SIZE) || shentsize > ELF_SHENTSIZE_MAX)
		return imgfs_errf(err, -EINVAL, 1, "ELF: section header size %u", shentsize);
	if (!inside(&e, shoff, shentsize))
		return imgfs_errf(err, -EINVAL, 1, "ELF: section headers at %llu, past the end (%llu)",
				  (unsigned long long)shoff, (unsigned long long)size);
	if (shnum == 0 || shstrndx == SHN_XINDEX) {
		/* more than 0xff00 sections: the counts are in section 0 */
		rc = read_at(&e, h, e.is64 ? SHDR64_SIZE : SHDR32_SIZE, shoff);
		if (rc)
			return rc;
		decode(&e, h, &s0);
		if (shnum == 0)
			shnum = s0.size > ELF_SECTIONS_MAX ? ELF_SECTIONS_MAX + 1 : (uint32_t)s0.size;
		if (shstrndx == SHN_XINDEX)
			shstrndx = s0.link;
	}
	if (shnum == 0)
		return 0;
	if (shnum > ELF_SECTIONS_MAX)
		return imgfs_errf(err, -EINVAL, 1, "ELF: more than %u sections (ELF_SECTIONS_MAX)",
				  ELF_SECTIONS_MAX);
	if (!inside(&e, shoff, (uint64_t)shnum * shentsize))
		return imgfs_errf(err, -EINVAL, 1, "ELF: %u section headers at %llu run past the end (%llu)",
				  shnum, (unsigned long long)shoff, (unsigned long long)size);
	if (shstrndx == SHN_UNDEF || shstrndx >= shnum)
		return imgfs_errf(err, -EINVAL, 1, "ELF: section-name table %u of %u sections",
				  shstrndx, shnum);
	tab = malloc((size_t)shnum * shentsize);
	s = calloc(shnum, sizeof(*s));
	if (!tab || !s) {
		rc = imgfs_errf(err, -ENOMEM, 0, "ELF: out of memory");
		goto out;
	}
	rc = read_at(&e, tab, (size_t)shnum * shentsize, shoff);
	if (rc)
		goto out;
	for (i = 0; i < shnum; i++)
		decode(&e, tab + (size_t)i * shentsize, &s[i]);
	if (s[shstrndx].type == SHT_NOBITS || s[shstrndx].size > ELF_SHSTRTAB_MAX ||
	    !inside(&e, s[shstrndx].off, s[shstrndx].size)) {
		rc = imgfs_errf(err, -EINVAL, 1, "ELF: section-name table of %llu bytes at %llu",
				(unsigned long long)s[shstrndx].size, (unsigned long long)s[shstrndx].off);
		goto out;
	}
	names = malloc(s[shstrndx].size + 1);
	if (!names) {
		rc = imgfs_errf(err, -ENOMEM, 0, "ELF: out of memory");
		goto out;
	}
	rc = read_at(&e, names, s[shstrndx].size, s[shstrndx].off);
	if (rc)
		goto out;
	classify(s, shnum, shstrndx, type != ET_REL, names, s[shstrndx].size);
	for (i = 1; i < shnum; i++) {
		uint64_t bytes = s[i].type == SHT_NOBITS ? 0 : s[i].size;
		const char *n = name_of(&s[i], names, s[shstrndx].size);

		if (s[i].kind == KEEP)
			continue;
		if (!inside(&e, s[i].off, bytes)) {
			rc = imgfs_errf(err, -EINVAL, 1, "ELF: section %u (%llu bytes at %llu) runs past "
					"the end", i, (unsigned long long)bytes, (unsigned long long)s[i].off);
			goto out;
		}
		if (s[i].kind == DEBUG)
			out->debug_bytes += bytes;
		else
			out->symtab_bytes += bytes;
		out->strip_bytes += bytes + shentsize + (n ? strlen(n) + 1 : 0);
		out->removed++;
		/* each term is at most SIZE, so checking as it grows keeps
		 * the sum from wrapping */
		if (out->strip_bytes > size) {
			rc = imgfs_errf(err, -EINVAL, 1, "ELF: the removable sections overlap");
			goto out;
		}
	}
out:
	if (rc)
		memset(out, 0, sizeof(*out));
	free(names);
	free(s);
	free(tab);
	return rc;
}
