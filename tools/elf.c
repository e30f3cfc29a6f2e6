/* This file contains "imgfs elf": the ELF files of the merged tree that
 * `strip --strip-unneeded` would shrink, largest saving first, with the
 * split between debug sections and symbol tables, and the totals, as the
 * index build measured them (fs/elf). */
#include "elf.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imgfs/imgfs.h"
#include "json.h"
#include "usage.h"

#define EXIT_RUNTIME 1
#define EXIT_INPUT 2

struct out {
	int json, first;
};

static int print_elf(void *ctx, const struct imgfs_elf_info *e)
{
	struct out *o = ctx;

	if (!o->json) {
		printf("%13" PRId64 " %13" PRId64 " %13" PRId64 " %13" PRId64 " %5d  %s\n",
		       e->strip_bytes, e->debug_bytes, e->symtab_bytes, e->size, e->layer, e->path);
		return 0;
	}
	fputs(o->first ? "\n    {\"path\": " : ",\n    {\"path\": ", stdout);
	json_str(stdout, e->path);
	printf(", \"size\": %" PRId64 ", \"strip_bytes\": %" PRId64 ", \"debug_bytes\": %" PRId64
	       ", \"symtab_bytes\": %" PRId64 ", \"layer\": %d}", e->size, e->strip_bytes,
	       e->debug_bytes, e->symtab_bytes, e->layer);
	o->first = 0;
	return 0;
}

static int list(struct imgfs_fs *fs, const char *image, const char *index, int json, int64_t min,
		struct imgfs_err *err)
{
	struct out o = { .json = json, .first = 1 };
	struct imgfs_elf_totals t;
	int rc;

	if (json) {
		fputs("{\"image\": ", stdout);
		json_str(stdout, image);
		fputs(", \"index\": ", stdout);
		json_str(stdout, index);
		printf(", \"min_bytes\": %" PRId64 ", \"files\": [", min);
	} else {
		printf("%13s %13s %13s %13s %5s  %s\n", "SAVING", "DEBUG", "SYMTAB", "SIZE", "LAYER",
		       "PATH");
	}
	rc = imgfs_fs_elf(fs, min, &t, print_elf, &o, err);
	if (rc)
		return rc;
	if (json)
		printf("%s], \"elf_files\": %" PRId64 ", \"listed\": %" PRId64 ", \"size\": %" PRId64
		       ", \"strip_bytes\": %" PRId64 ", \"debug_bytes\": %" PRId64
		       ", \"symtab_bytes\": %" PRId64 "}\n", o.first ? "" : "\n  ", t.elf_files,
		       t.files, t.size, t.strip_bytes, t.debug_bytes, t.symtab_bytes);
	else
		printf("%13" PRId64 " %13" PRId64 " %13" PRId64 " %13" PRId64 " %5s  (total: %" PRId64
		       " of %" PRId64 " ELF files)\n", t.strip_bytes, t.debug_bytes, t.symtab_bytes,
		       t.size, "-", t.files, t.elf_files);
	return 0;
}

int imgfs_cmd_elf(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "image", required_argument, NULL, 'i' },
		{ "platform", required_argument, NULL, 'p' },
		{ "index", required_argument, NULL, 'x' },
		{ "cache-dir", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "min-bytes", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct imgfs_opts o = { .quiet = 1 };
	struct imgfs_build_info info;
	struct imgfs_err err = { 0 };
	struct imgfs_fs *fs = NULL;
	int64_t min = 1;
	int json = 0, ch, rc;
	char *end;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (ch) {
		case 'i': o.image_name = optarg; break;
		case 'p': o.platform = optarg; break;
		case 'x': o.index_path = optarg; break;
		case 'c': o.cache_dir = optarg; break;
		case 'j': json = 1; break;
		case 'm':
			errno = 0;
			min = strtoll(optarg, &end, 10);
			if (errno || end == optarg || *end || min < 0) {
				fprintf(stderr, "imgfs: --min-bytes: '%s' is not a number of bytes\n", optarg);
				return imgfs_usage("elf", EXIT_INPUT);
			}
			break;
		case 'h': return imgfs_usage("elf", 0);
		default: return imgfs_usage("elf", EXIT_INPUT);
		}
	}
	if (argc - optind != 1)
		return imgfs_usage("elf", EXIT_INPUT);
	o.image = argv[optind];
	rc = imgfs_index_prepare(&o, &info, &err);
	/* opened through the core first: it checks the schema version */
	if (rc == 0)
		rc = imgfs_fs_open(&fs, info.index_path, &err);
	if (rc) {
		fprintf(stderr, "imgfs: %s\n", err.msg[0] ? err.msg : strerror(-rc));
		return err.input ? EXIT_INPUT : EXIT_RUNTIME;
	}
	rc = list(fs, o.image, info.index_path, json, min, &err);
	if (rc < 0)
		fprintf(stderr, "imgfs: %s\n", err.msg[0] ? err.msg : strerror(-rc));
	imgfs_fs_close(fs);
	if (fflush(stdout) && !rc)
		rc = -EIO;
	return rc ? EXIT_RUNTIME : 0;
}
