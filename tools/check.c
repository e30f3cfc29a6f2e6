/* This file contains "imgfs check": a CI gate that reads dive's .dive-ci
 * rules (laid over dive's defaults, ci_config.c; values read as dive reads
 * them, ci_value.c), computes them with dive's definitions and strict
 * comparisons, and adds imgfs's own rule on the bytes the merged tree
 * hides. */
#include "check.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ci_config.h"
#include "ci_value.h"
#include "usage.h"
#include "imgfs/imgfs.h"
#include "json.h"
#include "reshipped.h"

#define R_EFFICIENCY CI_LOWEST_EFFICIENCY
#define R_WASTED CI_HIGHEST_WASTED_BYTES
#define R_USER_PERCENT CI_HIGHEST_USER_WASTED_PERCENT
#define R_HIDDEN CI_HIGHEST_HIDDEN_BYTES
#define R_COUNT CI_RULE_COUNT

/* A rule's threshold, parsed once before the image is read (dive rejects a
 * bad value in PostLoad, before any analysis). */
struct rule {
	int enabled;
	double ratio;     /* lowestEfficiency, highestUserWastedPercent */
	uint64_t bytes;   /* highestWastedBytes, highestHiddenBytes */
};

/* Copies at most 200 bytes of S into BUF (LEN >= 1024) with control bytes
 * written as \n, \t or \xNN, so that the error stays on one line. */
static void quote_value(char *buf, size_t len, const char *s)
{
	size_t n = 0, i;

	for (i = 0; s[i] && i < 200 && n + 5 < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\n')
			n += (size_t)snprintf(buf + n, len - n, "\\n");
		else if (c == '\t')
			n += (size_t)snprintf(buf + n, len - n, "\\t");
		else if (c < 0x20 || c == 0x7f)
			n += (size_t)snprintf(buf + n, len - n, "\\x%02x", c);
		else
			buf[n++] = (char)c;
	}
	buf[n] = '\0';
}

/* Parses the value of rule K of C as dive's ci.NewXxxRule does (dive
 * cmd/dive/cli/internal/command/ci/rules.go).  Returns 0, or 2 after
 * printing "imgfs: FILE:LINE: problem". */
static int parse_rule(const struct ci_config *c, const char *file, int k, struct rule *r)
{
	const char *v = c->value[k];
	const char *why = NULL;
	char q[1024];
	int rc;

	memset(r, 0, sizeof(*r));
	if (ci_value_disabled(v))
		return 0;
	r->enabled = 1;
	if (k == R_WASTED || k == R_HIDDEN) {
		rc = ci_value_bytes(v, &r->bytes);
		if (rc == -ERANGE)
			why = "too large";
		else if (rc)
			why = "not a byte size (a number, then B, KB, KiB, MB, MiB, GB, ... or nothing)";
	} else {
		rc = ci_value_float(v, &r->ratio);
		if (rc == -ERANGE)
			why = "out of range";
		else if (rc)
			why = "not a number";
		/* dive checks 0 <= x <= 1; NaN slips past that check in Go (every
		 * comparison with it is false) and makes the rule pass whatever the
		 * image: imgfs refuses it instead of passing a gate that can never
		 * fail */
		else if (isnan(r->ratio))
			why = "not a number (NaN)";
		else if (r->ratio < 0 || r->ratio > 1)
			why = "outside the allowed range 0-1";
	}
	if (rc == -ENOMEM) {
		fprintf(stderr, "imgfs: %s\n", strerror(ENOMEM));
		return 1;
	}
	if (!why)
		return 0;
	quote_value(q, sizeof(q), v);
	if (c->line[k])
		fprintf(stderr, "imgfs: %s:%d: %s: invalid value \"%s\": %s\n", file, c->line[k],
			ci_rule_key[k], q, why);
	else
		fprintf(stderr, "imgfs: %s: invalid value \"%s\": %s\n", ci_rule_key[k], q, why);
	return 2;
}

/* Shortest decimal that reads back as V, as Go prints float64. */
static void fmt_double(char *buf, size_t len, double v)
{
	int p;

	for (p = 1; p <= 17; p++) {
		snprintf(buf, len, "%.*g", p, v);
		if (strtod(buf, NULL) == v)
			return;
	}
}

struct result {
	const char *status;   /* PASS, FAIL, SKIP */
	char detail[256];
};

static void evaluate(const struct imgfs_dive_stats *s, const struct rule *rules, struct result *res)
{
	int k;

	for (k = 0; k < R_COUNT; k++) {
		const struct rule *r = &rules[k];
		char a[40], b[40];

		res[k].detail[0] = '\0';
		if (!r->enabled) {
			res[k].status = "SKIP";
			snprintf(res[k].detail, sizeof(res[k].detail), "rule disabled");
			continue;
		}
		res[k].status = "PASS";
		switch (k) {
		case R_EFFICIENCY:
			/* dive: fail when threshold > efficiency */
			fmt_double(a, sizeof(a), s->efficiency);
			fmt_double(b, sizeof(b), r->ratio);
			if (r->ratio > s->efficiency)
				res[k].status = "FAIL";
			snprintf(res[k].detail, sizeof(res[k].detail), "efficiency %s, lowest allowed %s", a, b);
			break;
		case R_WASTED:
			if (s->wasted_bytes > r->bytes)
				res[k].status = "FAIL";
			snprintf(res[k].detail, sizeof(res[k].detail), "wasted %llu bytes, highest allowed %llu",
				 (unsigned long long)s->wasted_bytes, (unsigned long long)r->bytes);
			break;
		case R_USER_PERCENT:
			fmt_double(a, sizeof(a), s->user_wasted_percent);
			fmt_double(b, sizeof(b), r->ratio);
			if (s->user_wasted_percent > r->ratio)
				res[k].status = "FAIL";
			snprintf(res[k].detail, sizeof(res[k].detail), "user wasted fraction %s, highest allowed %s",
				 a, b);
			break;
		case R_HIDDEN:
			if (s->hidden_bytes > r->bytes)
				res[k].status = "FAIL";
			snprintf(res[k].detail, sizeof(res[k].detail), "hidden %llu bytes, highest allowed %llu",
				 (unsigned long long)s->hidden_bytes, (unsigned long long)r->bytes);
			break;
		}
	}
}

/* Checks image IMAGE (O's other fields set) against RULES and prints its
 * result, JSON objects after the first one preceded by a comma.  Returns
 * 0 (PASS), 1 (FAIL), or after a message on stderr 2 (bad input) or 3
 * (runtime failure). */
static int check_one(struct imgfs_opts *o, const char *image, const struct rule *rules,
		     const struct ci_config *cfg, int json, int first)
{
	struct result res[R_COUNT];
	struct imgfs_build_info info;
	struct imgfs_err err = { 0 };
	struct imgfs_dive_stats s;
	struct imgfs_fs *fs = NULL;
	struct reshipped re = { 0 };
	int rc, k, failed = 0;
	char a[40], b[40];

	o->image = image;
	rc = imgfs_index_prepare(o, &info, &err);
	if (rc == 0)
		rc = imgfs_fs_open(&fs, info.index_path, &err);
	if (rc == 0 && (rc = imgfs_fs_dive_stats(fs, &s)) != 0)
		snprintf(err.msg, sizeof(err.msg), "%.900s: cannot compute the figures", info.index_path);
	if (rc == 0 && (rc = reshipped_collect(fs, &re)) != 0)
		snprintf(err.msg, sizeof(err.msg), "%.900s: cannot compare the hidden copies: %s",
			 info.index_path, strerror(-rc));
	imgfs_fs_close(fs);
	if (rc) {
		const char *why = err.msg[0] ? err.msg : strerror(-rc);

		fprintf(stderr, "imgfs: %s\n", why);
		if (json) {
			/* the array names every image: this one could not be read */
			printf("%s{\"image\": ", first ? "" : ",\n  ");
			json_str(stdout, image);
			fputs(", \"result\": \"ERROR\", \"error\": ", stdout);
			json_str(stdout, why);
			putchar('}');
		}
		reshipped_free(&re);
		return err.input ? 2 : 3;
	}
	evaluate(&s, rules, res);
	for (k = 0; k < R_COUNT; k++)
		failed |= !strcmp(res[k].status, "FAIL");
	fmt_double(a, sizeof(a), s.efficiency);
	fmt_double(b, sizeof(b), s.user_wasted_percent);
	if (json) {
		printf("%s{\"image\": ", first ? "" : ",\n  ");
		json_str(stdout, image);
		printf(", \"efficiency\": %s, \"wastedBytes\": %llu, \"userWastedPercent\": %s,"
		       " \"sizeBytes\": %llu, \"userSizeBytes\": %llu, \"hiddenBytes\": %llu, \"rules\": [",
		       a, (unsigned long long)s.wasted_bytes, b, (unsigned long long)s.size_bytes,
		       (unsigned long long)s.user_size_bytes, (unsigned long long)s.hidden_bytes);
		for (k = 0; k < R_COUNT; k++) {
			printf("%s{\"rule\": \"%s\", \"threshold\": ", k ? ", " : "", ci_rule_key[k]);
			json_str(stdout, cfg->value[k]);
			printf(", \"status\": \"%s\", \"detail\": ", res[k].status);
			json_str(stdout, res[k].detail);
			printf("}");
		}
		printf("], \"reshippedBytes\": %llu, \"reshipped\": [", (unsigned long long)re.bytes);
		for (size_t l = 0; l < re.n; l++) {
			printf("%s{\"layer\": %d, \"bytes\": %llu, \"files\": %llu, \"created_by\": ",
			       l ? ", " : "", re.l[l].layer, (unsigned long long)re.l[l].bytes,
			       (unsigned long long)re.l[l].files);
			json_str(stdout, re.l[l].created_by);
			putchar('}');
		}
		printf("], \"result\": \"%s\"}", failed ? "FAIL" : "PASS");
	} else {
		printf("image: %s\n", image);
		printf("  efficiency: %s\n", a);
		printf("  wastedBytes: %llu\n", (unsigned long long)s.wasted_bytes);
		printf("  userWastedPercent: %s\n", b);
		printf("  hiddenBytes: %llu (bytes lower layers ship that the merged tree hides,"
		       " each copy once)\n", (unsigned long long)s.hidden_bytes);
		printf("  reshippedBytes: %llu (files a layer ships again unchanged over the copy"
		       " they hide: chown -R, chmod -R, touch)\n", (unsigned long long)re.bytes);
		for (size_t l = 0; l < re.n; l++)
			printf("    layer %d: %llu bytes in %llu files re-shipped unchanged%s%.200s%s\n",
			       re.l[l].layer, (unsigned long long)re.l[l].bytes,
			       (unsigned long long)re.l[l].files, re.l[l].created_by ? " (" : "",
			       re.l[l].created_by ? re.l[l].created_by : "", re.l[l].created_by ? ")" : "");
		for (k = 0; k < R_COUNT; k++)
			printf("  %s: %s (%s)\n", res[k].status, ci_rule_key[k], res[k].detail);
		printf("result: %s\n", failed ? "FAIL" : "PASS");
	}
	reshipped_free(&re);
	return failed;
}

int imgfs_cmd_check(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "ci-config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "image", required_argument, NULL, 'i' },
		{ "platform", required_argument, NULL, 'p' },
		{ "index", required_argument, NULL, 'x' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct rule rules[R_COUNT];
	struct ci_config cfg;
	struct imgfs_opts o = { 0 };
	const char *config = NULL;
	int json = 0, ch, rc, k, n, i, worst = 0, fails = 0;
	char msg[3000];

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (ch) {
		case 'c': config = optarg; break;
		case 'j': json = 1; break;
		case 'i': o.image_name = optarg; break;
		case 'p': o.platform = optarg; break;
		case 'x': o.index_path = optarg; break;
		case 'h': return imgfs_usage("check", 0);
		default: return imgfs_usage("check", 2);
		}
	}
	n = argc - optind;
	if (n < 1)
		return imgfs_usage("check", 2);
	if (n > 1 && o.index_path) {
		fprintf(stderr, "imgfs: check: --index names one index: give one image with it\n");
		return 2;
	}
	/* dive lays the file over its defaults: a rule the file does not name
	 * keeps its default, it is not skipped */
	if (ci_config_defaults(&cfg) != 0) {
		fprintf(stderr, "imgfs: %s\n", strerror(ENOMEM));
		return 1;
	}
	msg[0] = '\0';
	if (config && (rc = ci_config_load(&cfg, config, msg, sizeof(msg))) != 0) {
		fprintf(stderr, "imgfs: %s\n", msg[0] ? msg : strerror(-rc));
		ci_config_free(&cfg);
		return rc == -ENOMEM ? 1 : 2;
	}
	for (k = 0; k < R_COUNT; k++) {
		rc = parse_rule(&cfg, config, k, &rules[k]);
		if (rc) {
			ci_config_free(&cfg);
			return rc;
		}
	}
	/* several images: one result each, every image checked even after a
	 * failure, so that one run of a CI job names all that fail */
	if (json && n > 1)
		fputs("{\"images\": [", stdout);
	for (i = 0; i < n; i++) {
		rc = check_one(&o, argv[optind + i], rules, &cfg, json, i == 0);
		fails += rc != 0;
		if (rc > worst)
			worst = rc;
		if (!json && n > 1 && i + 1 < n)
			putchar('\n');
	}
	if (json && n > 1)
		printf("], \"result\": \"%s\", \"failed\": %d}", fails ? "FAIL" : "PASS", fails);
	if (json)
		putchar('\n');
	if (!json && n > 1)
		printf("\nimages: %d checked, %d failed: %s\n", n, fails, fails ? "FAIL" : "PASS");
	ci_config_free(&cfg);
	if (fflush(stdout))
		return 1;
	/* bad input outranks a failed rule: the gate did not see the image */
	return worst == 3 ? 1 : worst;
}
