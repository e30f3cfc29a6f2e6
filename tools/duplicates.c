/* This file contains `imgfs duplicates IMAGE`: the groups of files with the
 * same content shipped more than once (imgfs_fs_duplicates), as text or
 * JSON, with what keeping one copy of each would save. */
#include "duplicates.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ci_value.h"
#include "imgfs/imgfs.h"
#include "json.h"
#include "units.h"
#include "usage.h"

#define EXIT_RUNTIME 1
#define EXIT_INPUT 2

struct out {
	int json, first;
};

static int group(void *ctx, uint64_t size, size_t copies, const char *sum,
		 const struct imgfs_dup_file *f, size_t n)
{
	struct out *o = ctx;
	char each[32], saved[32];

	if (o->json) {
		printf("%s\n    {\"size\": %llu, \"copies\": %zu, \"saving\": %llu, \"sha256\": \"%s\", \"files\": [",
		       o->first ? "" : ",", (unsigned long long)size, copies,
		       (unsigned long long)(size * (copies - 1)), sum);
		for (size_t k = 0; k < n; k++) {
			printf("%s{\"path\": ", k ? ", " : "");
			json_str(stdout, f[k].path);
			printf(", \"ino\": %llu, \"layer\": %d, \"hidden\": %s}", (unsigned long long)f[k].ino,
			       f[k].layer, f[k].hidden ? "true" : "false");
		}
		fputs("]}", stdout);
	} else {
		printf("%s%llu bytes x %zu copies (%s each, %s saved by keeping one), sha256 %.16s\n",
		       o->first ? "" : "\n", (unsigned long long)size, copies,
		       human_bytes(each, sizeof(each), (double)size),
		       human_bytes(saved, sizeof(saved), (double)(size * (copies - 1))), sum);
		for (size_t k = 0; k < n; k++)
			printf("  layer %-3d %s%s\n", f[k].layer, f[k].path,
			       f[k].hidden ? "  (hidden by a later layer)" : "");
	}
	o->first = 0;
	return 0;
}

int imgfs_cmd_duplicates(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "image", required_argument, NULL, 'i' },
		{ "platform", required_argument, NULL, 'p' },
		{ "index", required_argument, NULL, 'x' },
		{ "cache-dir", required_argument, NULL, 'c' },
		{ "min-size", required_argument, NULL, 'm' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct imgfs_opts opts = { .quiet = 1 };
	struct imgfs_build_info info;
	struct imgfs_err err = { 0 };
	struct imgfs_dup_stats st;
	struct imgfs_fs *fs = NULL;
	struct out o = { .first = 1 };
	uint64_t min = 1;
	int ch, rc;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (ch) {
		case 'i': opts.image_name = optarg; break;
		case 'p': opts.platform = optarg; break;
		case 'x': opts.index_path = optarg; break;
		case 'c': opts.cache_dir = optarg; break;
		case 'j': o.json = 1; break;
		case 'm':
			/* "1M", "500KiB", "4096": the byte sizes .dive-ci takes */
			if (ci_value_bytes(optarg, &min) != 0) {
				fprintf(stderr, "imgfs: duplicates: --min-size %s: not a byte size\n", optarg);
				return EXIT_INPUT;
			}
			break;
		case 'h': return imgfs_usage("duplicates", 0);
		default: return imgfs_usage("duplicates", EXIT_INPUT);
		}
	}
	if (argc - optind != 1)
		return imgfs_usage("duplicates", EXIT_INPUT);
	opts.image = argv[optind];
	rc = imgfs_index_prepare(&opts, &info, &err);
	if (rc == 0)
		rc = imgfs_fs_open(&fs, info.index_path, &err);
	if (rc) {
		fprintf(stderr, "imgfs: %s\n", err.msg[0] ? err.msg : strerror(-rc));
		return err.input ? EXIT_INPUT : EXIT_RUNTIME;
	}
	if (o.json) {
		fputs("{\"image\": ", stdout);
		json_str(stdout, opts.image);
		printf(", \"min_size\": %llu, \"groups\": [", (unsigned long long)min);
	}
	rc = imgfs_fs_duplicates(fs, min, group, &o, &st);
	imgfs_fs_close(fs);
	if (rc) {
		if (o.json)
			putchar('\n');
		fprintf(stderr, "imgfs: %s: duplicates: %s\n", opts.image, strerror(-rc));
		return EXIT_RUNTIME;
	}
	if (o.json) {
		printf("%s], \"totals\": {\"groups\": %llu, \"copies\": %llu, \"saving\": %llu,"
		       " \"candidates\": %llu, \"hashed_files\": %llu, \"hashed_bytes\": %llu}}\n",
		       o.first ? "" : "\n  ", (unsigned long long)st.groups, (unsigned long long)st.copies,
		       (unsigned long long)st.saving, (unsigned long long)st.candidates,
		       (unsigned long long)st.hashed_files, (unsigned long long)st.hashed_bytes);
	} else {
		char h[32];

		printf("%s%llu groups, %llu copies: %llu bytes (%s) saved by keeping one of each;"
		       " %llu files of a shared size, %llu read this run\n", o.first ? "" : "\n",
		       (unsigned long long)st.groups, (unsigned long long)st.copies,
		       (unsigned long long)st.saving, human_bytes(h, sizeof(h), (double)st.saving),
		       (unsigned long long)st.candidates, (unsigned long long)st.hashed_files);
	}
	return fflush(stdout) ? EXIT_RUNTIME : 0;
}
