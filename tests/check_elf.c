/* This file contains the unit tests of the ELF strip measure
 * (fs/elf/elf_strip.c): on files gcc and ld build here, the test program
 * itself and the ELF files of /usr/bin and /usr/lib, the figure must be
 * what `strip --strip-unneeded` (binutils, the independent source) saves
 * on a copy, give or take TOL below; big-endian copies of those files
 * (their headers byte-swapped here) must measure the same as the
 * originals; and hostile headers must give an error, never a crash. */
#include "elf/elf_strip_i.h"

#include <check.h>
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "imgfs/imgfs.h"
#include "testutil.h"

/* How far the measure may be from strip's saving.  strip re-lays out the
 * non-allocated sections after the kept ones: each of those (.comment,
 * .gnu_debuglink, .shstrtab) and the section header table is aligned
 * again, to at most 8 bytes in the files here, so the shrink differs from
 * the removed bytes by a few bytes (measured: 0 to 8 bytes on gcc's
 * outputs here and on 800 linked ELF files of /usr/bin and /usr/lib). */
#define TOL 16

static const char c_src[] =
	"#include <stdio.h>\n"
	"static int helper(int x) { return x * 3; }\n"
	"int g(int y) { return helper(y) + 1; }\n"
	"int main(int c, char **v) { (void)v; printf(\"%d\\n\", g(c)); return 0; }\n";
/* no libc header: builds for -m32 without the i386 libc */
static const char lib_src[] =
	"static int helper(int x) { return x * 3; }\n"
	"int g(int y) { return helper(y) + 1; }\n"
	"int h(int y) { return g(y) * 2; }\n";

static char *dir;

static void sh(const char *fmt, const char *a, const char *b)
{
	char cmd[4096];

	snprintf(cmd, sizeof(cmd), fmt, a, b);
	ck_assert_msg(system(cmd) == 0, "failed: %s", cmd);
}

static char *path_in(const char *name)
{
	char *p;

	ck_assert_int_ge(asprintf(&p, "%s/%s", dir, name), 0);
	return p;
}

static ssize_t fd_read(void *ctx, void *buf, size_t len, uint64_t off)
{
	ssize_t n = pread(*(int *)ctx, buf, len, (off_t)off);

	return n < 0 ? -errno : n;
}

struct mem {
	const unsigned char *p;
	size_t len;
};

static ssize_t mem_read(void *ctx, void *buf, size_t len, uint64_t off)
{
	const struct mem *m = ctx;

	if (off >= m->len)
		return 0;
	if (len > m->len - off)
		len = (size_t)(m->len - off);
	memcpy(buf, m->p + off, len);
	return (ssize_t)len;
}

static int measure(const char *path, struct elf_strip *es)
{
	struct imgfs_err err = { 0 };
	struct stat st;
	int fd = open(path, O_RDONLY), rc;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	rc = elf_strip_measure(fd_read, &fd, (uint64_t)st.st_size, es, &err);
	close(fd);
	return rc;
}

static int measure_mem(const void *p, size_t len, struct elf_strip *es)
{
	struct mem m = { p, len };
	struct imgfs_err err = { 0 };

	return elf_strip_measure(mem_read, &m, len, es, &err);
}

/* What strip --strip-unneeded saves on a copy of PATH: stat -c %s before
 * minus after. */
static long long strip_saving(const char *path)
{
	char *copy = path_in("stripped");
	struct stat a, b;

	sh("cp '%s' '%s'", path, copy);
	sh("strip --strip-unneeded '%s' 2>/dev/null || rm -f '%s'", copy, copy);
	ck_assert_int_eq(stat(path, &a), 0);
	if (stat(copy, &b) != 0) {
		free(copy);
		return -1; /* strip cannot read it */
	}
	unlink(copy);
	free(copy);
	return (long long)a.st_size - (long long)b.st_size;
}

/* PATH's measure is within TOL of strip's saving; returns the saving. */
static long long check_file(const char *path)
{
	struct elf_strip es;
	long long want = strip_saving(path);

	ck_assert_int_ge(want, 0);
	ck_assert_int_eq(measure(path, &es), 0);
	ck_assert_msg(llabs((long long)es.strip_bytes - want) <= TOL,
		      "%s: measured %llu (debug %llu, symtab %llu), strip saves %lld", path,
		      (unsigned long long)es.strip_bytes, (unsigned long long)es.debug_bytes,
		      (unsigned long long)es.symtab_bytes, want);
	ck_assert_uint_eq(es.strip_bytes >= es.debug_bytes + es.symtab_bytes, 1);
	return want;
}

static char *build(const char *name, const char *src, const char *cflags)
{
	char *c = path_in("src.c"), *out = path_in(name);
	FILE *f = fopen(c, "w");
	char args[1024];

	ck_assert_ptr_nonnull(f);
	fputs(src, f);
	fclose(f);
	snprintf(args, sizeof(args), "%s '%s'", cflags, c);
	sh("gcc -o '%s' %s", out, args);
	free(c);
	return out;
}

static void setup(void)
{
	dir = tu_tmpdir();
}

static void teardown(void)
{
	tu_rm_rf(dir);
	free(dir);
}

START_TEST(gcc_outputs)
{
	char *exe = build("exe", c_src, "-g -O1");
	char *so = build("lib.so", lib_src, "-g -O1 -fPIC -shared");
	char *nodebug = build("nodebug", c_src, "-O2");
	struct elf_strip es;

	ck_assert_int_gt(check_file(exe), 1000);
	ck_assert_int_gt(check_file(so), 1000);
	/* no DWARF: .symtab and .strtab are the whole saving, so this fails
	 * when the measure leaves the symbol table out */
	ck_assert_int_gt(check_file(nodebug), 500);
	ck_assert_int_eq(measure(nodebug, &es), 0);
	ck_assert_uint_eq(es.debug_bytes, 0);
	ck_assert_uint_gt(es.symtab_bytes, 500);
	/* stripped: nothing left to save, exactly */
	sh("strip --strip-unneeded '%s'%s", exe, "");
	ck_assert_int_eq(measure(exe, &es), 0);
	ck_assert_uint_eq(es.strip_bytes, 0);
	ck_assert_uint_eq(es.removed, 0);
	free(exe);
	free(so);
	free(nodebug);
}
END_TEST

/* ELF32: gcc -m32 compiles without the i386 libc (no header used), GNU ld
 * links a shared object of it. */
START_TEST(elf32)
{
	char *obj = build("lib32.o", lib_src, "-m32 -g -O1 -fPIC -c");
	char *so = path_in("lib32.so");

	sh("ld -m elf_i386 -shared -o '%s' '%s'", so, obj);
	ck_assert_int_gt(check_file(so), 1000);
	free(obj);
	free(so);
}
END_TEST

/* An object file: --strip-unneeded keeps the symbols relocations use, so
 * only the debug sections and their relocations are counted: the measure
 * is then what strip --strip-debug saves, which also drops the debug
 * sections' own section symbols (24 bytes each in ELF64) from .symtab. */
static void check_object(const char *cflags)
{
	char *obj = build("lib.o", lib_src, cflags);
	char *copy = path_in("lib-debug.o");
	struct elf_strip es;
	struct stat a, b;
	long long want;

	sh("cp '%s' '%s'", obj, copy);
	sh("strip --strip-debug '%s'%s", copy, "");
	ck_assert_int_eq(stat(obj, &a), 0);
	ck_assert_int_eq(stat(copy, &b), 0);
	want = (long long)a.st_size - (long long)b.st_size;
	ck_assert_int_eq(measure(obj, &es), 0);
	ck_assert_uint_eq(es.symtab_bytes, 0);
	ck_assert_uint_gt(es.debug_bytes, 1000);
	ck_assert_msg(llabs((long long)es.strip_bytes - want) <= TOL + 24 * (long long)es.removed,
		      "measured %llu, strip --strip-debug saves %lld",
		      (unsigned long long)es.strip_bytes, want);
	ck_assert_int_le((long long)es.strip_bytes, strip_saving(obj));
	free(obj);
	free(copy);
}

START_TEST(object_file)
{
	check_object("-g -O1 -c");
	/* fat LTO objects hold a second DWARF copy, .gnu.debuglto_.debug_*,
	 * which BFD counts as debug sections too */
	check_object("-g -O1 -flto -ffat-lto-objects -c");
}
END_TEST

/* This test program, built with -g by meson's debugoptimized default. */
START_TEST(self)
{
	char *self = realpath("/proc/self/exe", NULL);

	ck_assert_ptr_nonnull(self);
	check_file(self);
	free(self);
}
END_TEST

/* A linked ELF file (not ET_REL: object_file covers those). */
static int is_linked_elf(const char *path)
{
	unsigned char m[18];
	int fd = open(path, O_RDONLY), ok;

	if (fd < 0)
		return 0;
	ok = read(fd, m, 18) == 18 && !memcmp(m, ELFMAG, SELFMAG) && m[EI_DATA] == ELFDATA2LSB &&
	     !(m[16] == ET_REL && m[17] == 0);
	close(fd);
	return ok;
}

/* Up to MAX regular linked ELF files of DIRPATH, each within TOL of strip. */
static int check_dir(const char *dirpath, int max)
{
	DIR *d = opendir(dirpath);
	struct dirent *de;
	int n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)) && n < max) {
		char p[4096];
		struct stat st;

		snprintf(p, sizeof(p), "%s/%s", dirpath, de->d_name);
		if (lstat(p, &st) || !S_ISREG(st.st_mode) || st.st_size > (8 << 20) || !is_linked_elf(p))
			continue;
		if (strip_saving(p) < 0)
			continue;
		check_file(p);
		n++;
	}
	closedir(d);
	return n;
}

START_TEST(system_files)
{
	int n = check_dir("/usr/bin", 40) + check_dir("/usr/lib/x86_64-linux-gnu", 40);

	ck_assert_int_ge(n, 20);
}
END_TEST

/* Byte-swaps the ELF header and section headers of the little-endian file
 * P (LEN bytes) in place: its big-endian twin, whose sections (byte
 * strings here: names, DWARF, symbols never read) are where they were.
 * The field widths are the ELF spec's, written out again here. */
static void swap(unsigned char *p, int width)
{
	int i;

	for (i = 0; i < width / 2; i++) {
		unsigned char t = p[i];

		p[i] = p[width - 1 - i];
		p[width - 1 - i] = t;
	}
}

static void swap_fields(unsigned char *p, const int *w)
{
	for (; *w; w++) {
		swap(p, *w);
		p += *w;
	}
}

static void to_big_endian(unsigned char *p, size_t len)
{
	static const int eh64[] = { 2, 2, 4, 8, 8, 8, 4, 2, 2, 2, 2, 2, 2, 0 };
	static const int eh32[] = { 2, 2, 4, 4, 4, 4, 4, 2, 2, 2, 2, 2, 2, 0 };
	static const int sh64[] = { 4, 4, 8, 8, 8, 8, 4, 4, 8, 8, 0 };
	static const int sh32[] = { 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 0 };
	int is64 = p[EI_CLASS] == ELFCLASS64;
	uint64_t shoff;
	unsigned shent, shnum, i;

	ck_assert_int_eq(p[EI_DATA], ELFDATA2LSB);
	if (is64) {
		Elf64_Ehdr h;

		memcpy(&h, p, sizeof(h));
		shoff = h.e_shoff, shent = h.e_shentsize, shnum = h.e_shnum;
	} else {
		Elf32_Ehdr h;

		memcpy(&h, p, sizeof(h));
		shoff = h.e_shoff, shent = h.e_shentsize, shnum = h.e_shnum;
	}
	ck_assert_uint_le(shoff + (uint64_t)shent * shnum, len);
	for (i = 0; i < shnum; i++)
		swap_fields(p + shoff + (size_t)i * shent, is64 ? sh64 : sh32);
	swap_fields(p + EI_NIDENT, is64 ? eh64 : eh32);
	p[EI_DATA] = ELFDATA2MSB;
}

static void check_big_endian(const char *path)
{
	struct elf_strip le, be;
	size_t len;
	unsigned char *p = tu_read_file(path, &len);

	ck_assert_int_eq(measure(path, &le), 0);
	to_big_endian(p, len);
	ck_assert_int_eq(measure_mem(p, len, &be), 0);
	ck_assert_uint_eq(be.strip_bytes, le.strip_bytes);
	ck_assert_uint_eq(be.debug_bytes, le.debug_bytes);
	ck_assert_uint_eq(be.symtab_bytes, le.symtab_bytes);
	/* and those are strip's figure: an independent anchor */
	ck_assert_int_le(llabs((long long)be.strip_bytes - strip_saving(path)), TOL);
	free(p);
}

START_TEST(big_endian)
{
	char *so = build("lib.so", lib_src, "-g -O1 -fPIC -shared");
	char *obj = build("lib32.o", lib_src, "-m32 -g -O1 -fPIC -c");
	char *so32 = path_in("lib32.so");

	sh("ld -m elf_i386 -shared -o '%s' '%s'", so32, obj);
	check_big_endian(so);
	check_big_endian(so32);
	free(so);
	free(obj);
	free(so32);
}
END_TEST

/* ---- hostile headers: an error or nothing, never a crash ---- */

static unsigned char *load(const char *path, size_t *len)
{
	return tu_read_file(path, len);
}

static void put16(unsigned char *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(unsigned char *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(unsigned char *p, uint64_t v) { memcpy(p, &v, 8); }

START_TEST(hostile)
{
	char *so = build("lib.so", lib_src, "-g -O1 -fPIC -shared");
	struct elf_strip es;
	size_t len;
	unsigned char *orig = load(so, &len), *p = malloc(len);
	Elf64_Ehdr h;
	uint64_t i;

	ck_assert_ptr_nonnull(p);
	memcpy(&h, orig, sizeof(h));
	/* not ELF, or shorter than an ELF header */
	ck_assert_int_eq(measure_mem("hello", 5, &es), -ENOEXEC);
	ck_assert_int_eq(measure_mem(orig, 40, &es), -ENOEXEC);
	memcpy(p, orig, len);
	p[0] = 'X';
	ck_assert_int_eq(measure_mem(p, len, &es), -ENOEXEC);
	/* an ELF64 header cut at 60 bytes */
	ck_assert_int_eq(measure_mem(orig, 60, &es), -EINVAL);
	/* the section headers past the end, or cut by the end */
	ck_assert_int_eq(measure_mem(orig, (size_t)h.e_shoff + 100, &es), -EINVAL);
	memcpy(p, orig, len);
	put64(p + 40, len + 1);
	ck_assert_int_eq(measure_mem(p, len, &es), -EINVAL);
	put64(p + 40, UINT64_MAX - 10);
	ck_assert_int_eq(measure_mem(p, len, &es), -EINVAL);
	/* e_shnum of 0: the count in section 0's sh_size, huge */
	memcpy(p, orig, len);
	put16(p + 60, 0);
	put64(p + h.e_shoff + 32, 1ull << 40);
	ck_assert_int_eq(measure_mem(p, len, &es), -EINVAL);
	put64(p + h.e_shoff + 32, 1ull << 17); /* under the bound, past the end */
	ck_assert_int_eq(measure_mem(p, len, &es), -EINVAL);
	/* e_shstrndx out of range, or SHN_XINDEX with section 0's link huge */
	memcpy(p, orig, len);
	put16(p + 62, (uint16_t)(h.e_shnum + 3));
	ck_assert_int_eq(measure_mem(p, len, &es), -EINVAL);
	put16(p + 62, SHN_XINDEX);
	put32(p + h.e_shoff + 40, 0xfffffff0u);
	ck_assert_int_eq(measure_mem(p, len, &es), -EINVAL);
	/* e_shentsize 0 and huge */
	memcpy(p, orig, len);
	put16(p + 58, 0);
	ck_assert_int_eq(measure_mem(p, len, &es), -EINVAL);
	put16(p + 58, 0xffff);
	ck_assert_int_eq(measure_mem(p, len, &es), -EINVAL);
	/* .symtab's offset past the end */
	memcpy(p, orig, len);
	for (i = 1; i < h.e_shnum; i++) {
		unsigned char *s = p + h.e_shoff + i * h.e_shentsize;
		uint32_t type;

		memcpy(&type, s + 4, 4);
		if (type == SHT_SYMTAB)
			put64(s + 24, UINT64_MAX - 4);
	}
	ck_assert_int_eq(measure_mem(p, len, &es), -EINVAL);
	ck_assert_uint_eq(es.strip_bytes, 0);
	/* every section's name out of the table: nothing is .debug_*; the
	 * symbol table is known by its type */
	memcpy(p, orig, len);
	for (i = 1; i < h.e_shnum; i++)
		put32(p + h.e_shoff + i * h.e_shentsize, 0xffffff00u);
	ck_assert_int_eq(measure_mem(p, len, &es), 0);
	ck_assert_uint_eq(es.debug_bytes, 0);
	ck_assert_uint_gt(es.symtab_bytes, 0);
	/* random damage to the headers: any answer, no crash (ASan says) */
	srand(14);
	for (i = 0; i < 20000; i++) {
		size_t off = rand() % 2 ? (size_t)rand() % 64
					: (size_t)h.e_shoff + (size_t)rand() % (h.e_shnum * 64u);
		int rc;

		memcpy(p, orig, len);
		p[off] ^= (unsigned char)(1u << (rand() % 8));
		p[(size_t)h.e_shoff + (size_t)rand() % (h.e_shnum * 64u)] = (unsigned char)rand();
		rc = measure_mem(p, len, &es);
		ck_assert(rc == 0 || rc == -EINVAL || rc == -ENOEXEC);
		ck_assert_uint_le(es.strip_bytes, len);
	}
	free(p);
	free(orig);
	free(so);
}
END_TEST

static Suite *elf_suite(void)
{
	Suite *s = suite_create("elf");
	TCase *tc = tcase_create("elf");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, gcc_outputs);
	tcase_add_test(tc, elf32);
	tcase_add_test(tc, object_file);
	tcase_add_test(tc, self);
	tcase_add_test(tc, system_files);
	tcase_add_test(tc, big_endian);
	tcase_add_test(tc, hostile);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(elf_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
