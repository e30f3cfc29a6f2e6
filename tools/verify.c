/* This file contains "imgfs verify": every blob the image references
 * hashed and compared with the digest that names it, one line per check,
 * through imgfs_verify. */
#include "verify.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imgfs/imgfs.h"
#include "usage.h"

#define EXIT_RUNTIME 1
#define EXIT_INPUT 2

static int print_item(void *ctx, const struct imgfs_verify_item *it)
{
	const int *quiet = ctx;
	static const char *const status[] = { "ok", "MISMATCH", "skipped" };
	char what[48];

	if (*quiet && it->status != IMGFS_VERIFY_MISMATCH)
		return 0;
	if (it->layer >= 0)
		snprintf(what, sizeof(what), "%s %d%s%s", it->object, it->layer, it->kind ? " " : "",
			 it->kind ? it->kind : "");
	else
		snprintf(what, sizeof(what), "%s", it->object);
	printf("%-8s %-18s %s", status[it->status], what, it->expected ? it->expected : "-");
	if (it->status == IMGFS_VERIFY_MISMATCH && it->actual)
		printf(" (content: %s)", it->actual);
	if (it->note)
		printf(" (%s)", it->note);
	if (it->member)
		printf("  %s", it->member);
	putchar('\n');
	return 0;
}

int imgfs_cmd_verify(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "image", required_argument, NULL, 'i' },
		{ "platform", required_argument, NULL, 'p' },
		{ "cache-dir", required_argument, NULL, 'c' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct imgfs_opts o = { .quiet = 1 };
	struct imgfs_err err = { 0 };
	int quiet = 0, ch, rc;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "qh", lopts, NULL)) != -1) {
		switch (ch) {
		case 'i': o.image_name = optarg; break;
		case 'p': o.platform = optarg; break;
		case 'c': o.cache_dir = optarg; break;
		case 'q': quiet = 1; break;
		case 'h': return imgfs_usage("verify", 0);
		default: return imgfs_usage("verify", EXIT_INPUT);
		}
	}
	if (argc - optind != 1)
		return imgfs_usage("verify", EXIT_INPUT);
	o.image = argv[optind];
	/* images that really hold huge zero files, as for the index */
	if (getenv("IMGFS_MAX_RATIO") && atoll(getenv("IMGFS_MAX_RATIO")) > 0)
		o.max_ratio = (uint64_t)atoll(getenv("IMGFS_MAX_RATIO"));
	rc = imgfs_verify(&o, print_item, &quiet, &err);
	if (fflush(stdout) && !rc)
		return EXIT_RUNTIME;
	if (rc) {
		fprintf(stderr, "imgfs: %s\n", err.msg[0] ? err.msg : strerror(-rc));
		return err.input ? EXIT_INPUT : EXIT_RUNTIME;
	}
	return 0;
}
