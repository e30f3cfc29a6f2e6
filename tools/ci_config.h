/* Reading a .dive-ci file as dive does: the file's "rules" laid over dive's
 * defaults, with YAML parsed by libyaml. */
#ifndef IMGFS_TOOLS_CI_CONFIG_H
#define IMGFS_TOOLS_CI_CONFIG_H

#include <stddef.h>

enum ci_rule {
	CI_LOWEST_EFFICIENCY,
	CI_HIGHEST_WASTED_BYTES,
	CI_HIGHEST_USER_WASTED_PERCENT,
	CI_HIGHEST_HIDDEN_BYTES,   /* imgfs's own rule; dive ignores the key */
	CI_RULE_COUNT
};

/* The rule keys as they are spelled in a .dive-ci file. */
extern const char *const ci_rule_key[CI_RULE_COUNT];

struct ci_config {
	char *value[CI_RULE_COUNT];   /* owned; the configured text */
	int line[CI_RULE_COUNT];      /* 1-based line of the value, 0: a default */
};

/* Sets the defaults dive uses without a .dive-ci file (options/ci_rules.go
 * DefaultCIRules): lowestEfficiency 0.9, highestWastedBytes disabled,
 * highestUserWastedPercent 0.1; highestHiddenBytes disabled.  Returns 0 or
 * -ENOMEM. */
int ci_config_defaults(struct ci_config *c);

/* Lays the rules of the .dive-ci file PATH over C as dive's
 * options/ci.go PostLoad does (yaml.v3 Unmarshal into the defaults): keys
 * that are missing or null keep their default, unknown keys are ignored.
 * Returns 0, or -errno with "PATH:LINE: problem" (or "PATH: problem") in
 * MSG on a read error, a YAML syntax error or a value of the wrong YAML
 * kind. */
int ci_config_load(struct ci_config *c, const char *path, char *msg, size_t msglen);

/* Frees the values of C. */
void ci_config_free(struct ci_config *c);

#endif
