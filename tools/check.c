/* This file contains "imgfs check": a CI gate that reads dive's .dive-ci
 * rules, computes them with dive's definitions and strict comparisons, and
 * adds imgfs's own rule on the bytes the merged tree hides. */
#include "check.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imgfs/imgfs.h"
#include "json.h"

enum rule_kind { R_EFFICIENCY, R_WASTED, R_USER_PERCENT, R_HIDDEN, R_COUNT };

static const char *const rule_key[R_COUNT] = {
	"lowestEfficiency", "highestWastedBytes", "highestUserWastedPercent", "highestHiddenBytes",
};

struct rule {
	char value[64];   /* as configured; "" or disabled/off/false: skipped */
	int set;
};

/* Sanity limit on a config line: .dive-ci files are a few lines. */
#define LINE_MAX_CI 4096

static void trim(char *s)
{
	char *e, *b = s;

	while (isspace((unsigned char)*b))
		b++;
	memmove(s, b, strlen(b) + 1);
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	if ((s[0] == '"' || s[0] == '\'') && strlen(s) >= 2 && s[strlen(s) - 1] == s[0]) {
		memmove(s, s + 1, strlen(s) - 2);
		s[strlen(s) - 2] = '\0';
	}
}

/* Reads the "rules:" mapping of a .dive-ci file: the only YAML it needs. */
static int read_config(const char *path, struct rule *rules)
{
	char line[LINE_MAX_CI];
	FILE *f = fopen(path, "r");
	int in_rules = 0, lineno = 0;

	if (!f) {
		fprintf(stderr, "imgfs: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		char *hash, *colon;
		int indented = isspace((unsigned char)line[0]);
		size_t k;

		lineno++;
		hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		colon = strchr(line, ':');
		if (!colon) {
			continue;
		}
		*colon = '\0';
		if (!indented) {
			char key[LINE_MAX_CI];

			snprintf(key, sizeof(key), "%s", line);
			trim(key);
			in_rules = !strcmp(key, "rules");
			continue;
		}
		if (!in_rules)
			continue;
		trim(line);
		for (k = 0; k < R_COUNT; k++) {
			if (strcmp(line, rule_key[k]) == 0) {
				snprintf(rules[k].value, sizeof(rules[k].value), "%.63s", colon + 1);
				trim(rules[k].value);
				rules[k].set = 1;
			}
		}
	}
	fclose(f);
	return 0;
}

static int enabled(const struct rule *r)
{
	const char *v = r->value;

	return r->set && v[0] && strcasecmp(v, "disabled") && strcasecmp(v, "off") &&
	       strcasecmp(v, "false");
}

/* Parses sizes as dive does (go-humanize ParseBytes): "20MB" = 20e6,
 * "20MiB" = 20 * 2^20, case-insensitive, optional space and fraction. */
static int parse_bytes(const char *s, double *out)
{
	static const struct {
		const char *u;
		double m;
	} units[] = {
		{ "", 1 }, { "b", 1 }, { "k", 1e3 }, { "kb", 1e3 }, { "ki", 1024.0 }, { "kib", 1024.0 },
		{ "m", 1e6 }, { "mb", 1e6 }, { "mi", 1048576.0 }, { "mib", 1048576.0 },
		{ "g", 1e9 }, { "gb", 1e9 }, { "gi", 1073741824.0 }, { "gib", 1073741824.0 },
		{ "t", 1e12 }, { "tb", 1e12 }, { "ti", 1099511627776.0 }, { "tib", 1099511627776.0 },
	};
	char *end, unit[8];
	double v = strtod(s, &end);
	size_t i, n = 0;

	if (end == s || v < 0)
		return -1;
	while (*end == ' ')
		end++;
	for (; *end && n < sizeof(unit) - 1; end++)
		unit[n++] = (char)tolower((unsigned char)*end);
	unit[n] = '\0';
	if (*end)
		return -1;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (!strcmp(unit, units[i].u)) {
			*out = v * units[i].m;
			return 0;
		}
	}
	return -1;
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

static void evaluate(const struct imgfs_dive_stats *s, struct rule *rules, struct result *res)
{
	int k;

	for (k = 0; k < R_COUNT; k++) {
		double t;
		char a[40], b[40];

		res[k].detail[0] = '\0';
		if (!enabled(&rules[k])) {
			res[k].status = "SKIP";
			snprintf(res[k].detail, sizeof(res[k].detail), "rule disabled");
			continue;
		}
		if ((k == R_WASTED || k == R_HIDDEN) ? parse_bytes(rules[k].value, &t) :
		    (t = strtod(rules[k].value, NULL), 0)) {
			res[k].status = "FAIL";
			snprintf(res[k].detail, sizeof(res[k].detail), "invalid config value '%.64s'",
				 rules[k].value);
			continue;
		}
		res[k].status = "PASS";
		switch (k) {
		case R_EFFICIENCY:
			/* dive: fail when threshold > efficiency */
			fmt_double(a, sizeof(a), s->efficiency);
			fmt_double(b, sizeof(b), t);
			if (t > s->efficiency)
				res[k].status = "FAIL";
			snprintf(res[k].detail, sizeof(res[k].detail), "efficiency %s, lowest allowed %s", a, b);
			break;
		case R_WASTED:
			if ((double)s->wasted_bytes > t)
				res[k].status = "FAIL";
			snprintf(res[k].detail, sizeof(res[k].detail), "wasted %llu bytes, highest allowed %.0f",
				 (unsigned long long)s->wasted_bytes, t);
			break;
		case R_USER_PERCENT:
			fmt_double(a, sizeof(a), s->user_wasted_percent);
			fmt_double(b, sizeof(b), t);
			if (s->user_wasted_percent > t)
				res[k].status = "FAIL";
			snprintf(res[k].detail, sizeof(res[k].detail), "user wasted fraction %s, highest allowed %s",
				 a, b);
			break;
		case R_HIDDEN:
			if ((double)s->hidden_bytes > t)
				res[k].status = "FAIL";
			snprintf(res[k].detail, sizeof(res[k].detail), "hidden %llu bytes, highest allowed %.0f",
				 (unsigned long long)s->hidden_bytes, t);
			break;
		}
	}
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
	struct result res[R_COUNT];
	struct imgfs_opts o = { 0 };
	struct imgfs_build_info info;
	struct imgfs_err err = { 0 };
	struct imgfs_dive_stats s;
	struct imgfs_fs *fs = NULL;
	const char *config = NULL;
	int json = 0, ch, rc, k, failed = 0;
	char a[40], b[40];

	/* dive's defaults when no config is given */
	memset(rules, 0, sizeof(rules));
	snprintf(rules[R_EFFICIENCY].value, sizeof(rules[0].value), "0.9");
	snprintf(rules[R_WASTED].value, sizeof(rules[0].value), "disabled");
	snprintf(rules[R_USER_PERCENT].value, sizeof(rules[0].value), "0.1");
	snprintf(rules[R_HIDDEN].value, sizeof(rules[0].value), "disabled");
	for (k = 0; k < R_COUNT; k++)
		rules[k].set = 1;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (ch) {
		case 'c': config = optarg; break;
		case 'j': json = 1; break;
		case 'i': o.image_name = optarg; break;
		case 'p': o.platform = optarg; break;
		case 'x': o.index_path = optarg; break;
		case 'h':
			printf("usage: imgfs check [--ci-config FILE] [--json] [--image N] [--platform P] IMAGE\n");
			return 0;
		default: return 2;
		}
	}
	if (argc - optind != 1) {
		fprintf(stderr, "usage: imgfs check [--ci-config FILE] [--json] [--image N] [--platform P] IMAGE\n");
		return 2;
	}
	if (config) {
		/* a config file replaces the defaults: unset rules are skipped */
		memset(rules, 0, sizeof(rules));
		if (read_config(config, rules) != 0)
			return 2;
	}
	o.image = argv[optind];
	rc = imgfs_index_prepare(&o, &info, &err);
	if (rc == 0)
		rc = imgfs_fs_open(&fs, info.index_path, &err);
	if (rc == 0 && (rc = imgfs_fs_dive_stats(fs, &s)) != 0)
		snprintf(err.msg, sizeof(err.msg), "%.900s: cannot compute the figures", info.index_path);
	imgfs_fs_close(fs);
	if (rc) {
		fprintf(stderr, "imgfs: %s\n", err.msg[0] ? err.msg : strerror(-rc));
		return err.input ? 2 : 1;
	}
	evaluate(&s, rules, res);
	for (k = 0; k < R_COUNT; k++)
		failed |= !strcmp(res[k].status, "FAIL");
	fmt_double(a, sizeof(a), s.efficiency);
	fmt_double(b, sizeof(b), s.user_wasted_percent);
	if (json) {
		printf("{\"image\": ");
		json_str(stdout, o.image);
		printf(", \"efficiency\": %s, \"wastedBytes\": %llu, \"userWastedPercent\": %s,"
		       " \"sizeBytes\": %llu, \"userSizeBytes\": %llu, \"hiddenBytes\": %llu, \"rules\": [",
		       a, (unsigned long long)s.wasted_bytes, b, (unsigned long long)s.size_bytes,
		       (unsigned long long)s.user_size_bytes, (unsigned long long)s.hidden_bytes);
		for (k = 0; k < R_COUNT; k++) {
			printf("%s{\"rule\": \"%s\", \"threshold\": ", k ? ", " : "", rule_key[k]);
			json_str(stdout, rules[k].set ? rules[k].value : "");
			printf(", \"status\": \"%s\", \"detail\": ", res[k].status);
			json_str(stdout, res[k].detail);
			printf("}");
		}
		printf("], \"result\": \"%s\"}\n", failed ? "FAIL" : "PASS");
	} else {
		printf("image: %s\n", o.image);
		printf("  efficiency: %s\n", a);
		printf("  wastedBytes: %llu\n", (unsigned long long)s.wasted_bytes);
		printf("  userWastedPercent: %s\n", b);
		printf("  hiddenBytes: %llu (bytes lower layers ship that the merged tree hides,"
		       " each copy once)\n", (unsigned long long)s.hidden_bytes);
		for (k = 0; k < R_COUNT; k++)
			printf("  %s: %s (%s)\n", res[k].status, rule_key[k], res[k].detail);
		printf("result: %s\n", failed ? "FAIL" : "PASS");
	}
	return failed ? 1 : 0;
}
