/* This file contains the .dive-ci reader of "imgfs check".  dive (v0.13,
 * cmd/dive/cli/internal/options/ci.go) fills a struct with its defaults and
 * lets gopkg.in/yaml.v3 Unmarshal the file over it; this reader walks the
 * libyaml document the same way: the first document only, "rules" from the
 * top mapping, the three camelCase keys from it, duplicate keys and values
 * of the wrong kind as errors, unknown keys ignored, "<<" merges followed
 * with the explicit keys winning. */
#include "ci_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

const char *const ci_rule_key[CI_RULE_COUNT] = {
	"lowestEfficiency", "highestWastedBytes", "highestUserWastedPercent", "highestHiddenBytes",
};

/* Sanity limits: a .dive-ci is a few lines; these keep a crafted one from
 * making check allocate or walk without bound. */
#define CI_CONFIG_MAX (1024 * 1024)   /* bytes of a config file */
#define CI_MERGE_DEPTH_MAX 32         /* "<<" within "<<"; a self merge loops */
#define CI_MERGE_VISITS_MAX 4096      /* mappings walked through merges */
/* keys walked in all, merges included: 1 MiB holds under 350,000 pairs, so
 * a file walked once always fits and merges re-walk it a few times at most */
#define CI_PAIRS_MAX (1024 * 1024)
/* Nesting of sequences and mappings.  A .dive-ci nests two levels; libyaml's
 * scanner does work proportional to the flow depth for every token, so 1 MiB
 * of '[' would take hours (dive's yaml.v3 stops at 10000 levels, which is
 * still seconds per thousand tokens here); at 100, 1 MiB takes 2 s. */
#define CI_DEPTH_MAX 100

struct walk {
	yaml_document_t *doc;
	const char *path;
	char *msg;
	size_t msglen;
	int visits;
	size_t pairs;
};

static int line_of(const yaml_node_t *n)
{
	return (int)n->start_mark.line + 1;
}

/* Sets "PATH:LINE: AB" (the problem in two parts) as the message. */
static int fail(struct walk *w, const yaml_node_t *n, const char *a, const char *b)
{
	snprintf(w->msg, w->msglen, "%.2048s:%d: %.300s%.300s", w->path, line_of(n), a, b);
	return -EINVAL;
}

static const char *kind_name(const yaml_node_t *n)
{
	return n->type == YAML_MAPPING_NODE ? "a mapping" :
	       n->type == YAML_SEQUENCE_NODE ? "a sequence" : "a scalar";
}

/* yaml.v3 resolves a plain ~, null, Null, NULL or empty scalar (or one
 * tagged !!null) to null, and null leaves a string or struct untouched. */
static int is_null(const yaml_node_t *n)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL" };
	size_t k;

	if (n->type != YAML_SCALAR_NODE)
		return 0;
	if (n->tag && strcmp((const char *)n->tag, YAML_NULL_TAG) == 0)
		return 1;
	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	for (k = 0; k < sizeof(nulls) / sizeof(nulls[0]); k++)
		if (n->data.scalar.length == strlen(nulls[k]) &&
		    memcmp(n->data.scalar.value, nulls[k], n->data.scalar.length) == 0)
			return 1;
	return 0;
}

static int scalar_is(const yaml_node_t *n, const char *s)
{
	return n->type == YAML_SCALAR_NODE && n->data.scalar.length == strlen(s) &&
	       memcmp(n->data.scalar.value, s, n->data.scalar.length) == 0;
}

static int same_scalar(const yaml_node_t *a, const yaml_node_t *b)
{
	return a->data.scalar.length == b->data.scalar.length &&
	       memcmp(a->data.scalar.value, b->data.scalar.value, a->data.scalar.length) == 0;
}

struct key_ref {
	const yaml_node_t *node;
	size_t pos;   /* the pair's index in the mapping */
};

static int key_cmp(const void *pa, const void *pb)
{
	const struct key_ref *a = pa, *b = pb;
	size_t la = a->node->data.scalar.length, lb = b->node->data.scalar.length;
	int c = memcmp(a->node->data.scalar.value, b->node->data.scalar.value, la < lb ? la : lb);

	if (c)
		return c;
	if (la != lb)
		return la < lb ? -1 : 1;
	return a->pos < b->pos ? -1 : a->pos > b->pos;
}

/* yaml.v3 (d.mapping) refuses a mapping with two equal keys, and a key of a
 * struct must be a scalar.  Sorted, so that a crafted 1 MiB mapping costs
 * n log n.  Returns 0, -EINVAL with the message set, or -ENOMEM. */
static int check_keys(struct walk *w, yaml_node_t *m)
{
	size_t n = (size_t)(m->data.mapping.pairs.top - m->data.mapping.pairs.start), i;
	struct key_ref *keys;
	int rc = 0;

	if (n < 2) {
		if (n == 1) {
			yaml_node_t *key = yaml_document_get_node(w->doc, m->data.mapping.pairs.start->key);

			if (key->type != YAML_SCALAR_NODE)
				return fail(w, key, kind_name(key), " where a key belongs");
		}
		return 0;
	}
	keys = calloc(n, sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		yaml_node_t *key = yaml_document_get_node(w->doc, m->data.mapping.pairs.start[i].key);

		if (key->type != YAML_SCALAR_NODE) {
			rc = fail(w, key, kind_name(key), " where a key belongs");
			goto out;
		}
		keys[i].node = key;
		keys[i].pos = i;
	}
	qsort(keys, n, sizeof(*keys), key_cmp);
	for (i = 1; i < n; i++) {
		if (same_scalar(keys[i - 1].node, keys[i].node)) {
			char what[300];

			snprintf(what, sizeof(what), "mapping key \"%.200s\" already defined at line %d",
				 (const char *)keys[i].node->data.scalar.value, line_of(keys[i - 1].node));
			rc = fail(w, keys[i].node, what, "");
			goto out;
		}
	}
out:
	free(keys);
	return rc;
}

/* Finds the keys WANT[0..NWANT) in mapping M into FOUND (first one seen
 * wins, as yaml.v3's mergedFields), following a "<<" merge after the
 * explicit keys.  Returns 0 or -EINVAL with the message set. */
static int find_keys(struct walk *w, yaml_node_t *m, const char *const *want, size_t nwant,
		     yaml_node_t **found, int depth)
{
	yaml_node_pair_t *p;
	yaml_node_t *merge = NULL;
	size_t k;
	int rc;

	if (depth > CI_MERGE_DEPTH_MAX)
		return fail(w, m, "\"<<\" merges nested too deep", " (a mapping that merges itself?)");
	if (++w->visits > CI_MERGE_VISITS_MAX)
		return fail(w, m, "too many \"<<\" merges", "");
	w->pairs += (size_t)(m->data.mapping.pairs.top - m->data.mapping.pairs.start);
	if (w->pairs > CI_PAIRS_MAX)
		return fail(w, m, "too many \"<<\" merges", "");
	rc = check_keys(w, m);
	if (rc)
		return rc;
	for (p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		yaml_node_t *key = yaml_document_get_node(w->doc, p->key);

		if (scalar_is(key, "<<")) {
			merge = yaml_document_get_node(w->doc, p->value);
			continue;
		}
		for (k = 0; k < nwant; k++)
			if (!found[k] && scalar_is(key, want[k]))
				found[k] = yaml_document_get_node(w->doc, p->value);
	}
	if (!merge)
		return 0;
	if (merge->type == YAML_MAPPING_NODE)
		return find_keys(w, merge, want, nwant, found, depth + 1);
	if (merge->type != YAML_SEQUENCE_NODE)
		return fail(w, merge, "map merge requires map or sequence of maps", " as the value");
	for (yaml_node_item_t *i = merge->data.sequence.items.start; i < merge->data.sequence.items.top; i++) {
		yaml_node_t *src = yaml_document_get_node(w->doc, *i);

		if (src->type != YAML_MAPPING_NODE)
			return fail(w, src, "map merge requires map or sequence of maps", " as the value");
		rc = find_keys(w, src, want, nwant, found, depth + 1);
		if (rc)
			return rc;
	}
	return 0;
}

/* Reads the rules mapping R into C. */
static int load_rules(struct walk *w, yaml_node_t *r, struct ci_config *c)
{
	yaml_node_t *found[CI_RULE_COUNT] = { 0 };
	int k, rc;

	if (is_null(r))
		return 0;
	if (r->type != YAML_MAPPING_NODE) {
		char what[64];

		snprintf(what, sizeof(what), "rules: %s", kind_name(r));
		return fail(w, r, what, " where a mapping belongs");
	}
	rc = find_keys(w, r, ci_rule_key, CI_RULE_COUNT, found, 0);
	for (k = 0; rc == 0 && k < CI_RULE_COUNT; k++) {
		yaml_node_t *v = found[k];
		char what[128];
		char *dup;

		if (!v || is_null(v))
			continue;   /* missing or null: the default stays */
		if (v->type != YAML_SCALAR_NODE) {
			snprintf(what, sizeof(what), "%s: %s", ci_rule_key[k], kind_name(v));
			return fail(w, v, what, " where a value belongs");
		}
		if (v->tag && strcmp((const char *)v->tag, "tag:yaml.org,2002:binary") == 0)
			return fail(w, v, ci_rule_key[k], ": a !!binary value is not supported");
		/* a "\0" escape: Go's parsers reject the byte, C strings would end there */
		if (memchr(v->data.scalar.value, '\0', v->data.scalar.length))
			return fail(w, v, ci_rule_key[k], ": invalid value (a NUL byte)");
		dup = strndup((const char *)v->data.scalar.value, v->data.scalar.length);
		if (!dup)
			return -ENOMEM;
		free(c->value[k]);
		c->value[k] = dup;
		c->line[k] = line_of(v);
	}
	return rc;
}

static int read_file(const char *path, char **data, size_t *len, char *msg, size_t msglen)
{
	FILE *f = fopen(path, "rb");
	size_t n;
	int rc = 0;

	*data = malloc(CI_CONFIG_MAX + 1);
	if (!*data) {
		rc = -ENOMEM;
		goto out;
	}
	if (!f) {
		rc = -errno;
		snprintf(msg, msglen, "%.2048s: %s", path, strerror(errno));
		goto out;
	}
	n = fread(*data, 1, CI_CONFIG_MAX + 1, f);
	if (ferror(f)) {
		rc = -EIO;
		snprintf(msg, msglen, "%.2048s: read error", path);
	} else if (n > CI_CONFIG_MAX) {
		rc = -EFBIG;
		snprintf(msg, msglen, "%.2048s: larger than %d bytes, not a .dive-ci", path, CI_CONFIG_MAX);
	}
	*len = n;
out:
	if (f)
		fclose(f);
	if (rc) {
		free(*data);
		*data = NULL;
	}
	return rc;
}

/* Returns the 1-based line where DATA first nests deeper than CI_DEPTH_MAX,
 * or 0 (syntax errors are left to the loader, which reports them). */
static size_t too_deep(const char *data, size_t len)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	size_t line = 0;
	int depth = 0, done = 0;

	if (!yaml_parser_initialize(&parser))
		return 0;
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	while (!done && !line && yaml_parser_parse(&parser, &ev)) {
		if (ev.type == YAML_SEQUENCE_START_EVENT || ev.type == YAML_MAPPING_START_EVENT) {
			if (++depth > CI_DEPTH_MAX)
				line = ev.start_mark.line + 1;
		} else if (ev.type == YAML_SEQUENCE_END_EVENT || ev.type == YAML_MAPPING_END_EVENT) {
			depth--;
		}
		/* the loader reads the first document only: so does this pass */
		done = ev.type == YAML_DOCUMENT_END_EVENT || ev.type == YAML_STREAM_END_EVENT;
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	return line;
}

int ci_config_load(struct ci_config *c, const char *path, char *msg, size_t msglen)
{
	static const char *const top_keys[] = { "rules" };
	struct walk w = { .path = path, .msg = msg, .msglen = msglen };
	yaml_node_t *found[1] = { 0 };
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root;
	char *data;
	size_t len = 0, deep;
	int rc;

	rc = read_file(path, &data, &len, msg, msglen);
	if (rc)
		return rc;
	deep = too_deep(data, len);
	if (deep) {
		snprintf(msg, msglen, "%.2048s:%zu: nested deeper than %d levels", path, deep, CI_DEPTH_MAX);
		free(data);
		return -EINVAL;
	}
	if (!yaml_parser_initialize(&parser)) {
		free(data);
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	/* yaml.v3 Unmarshal reads the first document only: so does one load */
	if (!yaml_parser_load(&parser, &doc)) {
		if (parser.error == YAML_MEMORY_ERROR) {
			rc = -ENOMEM;
		} else if (parser.error == YAML_READER_ERROR) {
			snprintf(msg, msglen, "%.2048s: invalid YAML: %s at byte %zu", path,
				 parser.problem ? parser.problem : "unreadable", parser.problem_offset);
			rc = -EINVAL;
		} else {
			snprintf(msg, msglen, "%.2048s:%zu: invalid YAML: %s%s%s%s", path,
				 parser.problem_mark.line + 1, parser.problem ? parser.problem : "syntax error",
				 parser.context ? " (" : "", parser.context ? parser.context : "",
				 parser.context ? ")" : "");
			rc = -EINVAL;
		}
		goto out_parser;
	}
	w.doc = &doc;
	root = yaml_document_get_root_node(&doc);
	if (!root || is_null(root))
		goto out_doc;   /* an empty file: dive's defaults */
	if (root->type != YAML_MAPPING_NODE) {
		rc = fail(&w, root, kind_name(root), " where the top mapping belongs");
		goto out_doc;
	}
	rc = find_keys(&w, root, top_keys, 1, found, 0);
	if (rc == 0 && found[0])
		rc = load_rules(&w, found[0], c);
out_doc:
	yaml_document_delete(&doc);
out_parser:
	yaml_parser_delete(&parser);
	free(data);
	return rc;
}

int ci_config_defaults(struct ci_config *c)
{
	static const char *const def[CI_RULE_COUNT] = { "0.9", "disabled", "0.1", "disabled" };
	int k;

	memset(c, 0, sizeof(*c));
	for (k = 0; k < CI_RULE_COUNT; k++) {
		c->value[k] = strdup(def[k]);
		if (!c->value[k]) {
			ci_config_free(c);
			return -ENOMEM;
		}
	}
	return 0;
}

void ci_config_free(struct ci_config *c)
{
	int k;

	for (k = 0; k < CI_RULE_COUNT; k++) {
		free(c->value[k]);
		c->value[k] = NULL;
	}
}
