/* The value forms of dive's .dive-ci rules: Go's strconv.ParseFloat for the
 * ratios, go-humanize's ParseBytes for the byte sizes, and dive's
 * "disabled" words, reimplemented so that imgfs check accepts and rejects
 * exactly what dive does. */
#ifndef IMGFS_TOOLS_CI_VALUE_H
#define IMGFS_TOOLS_CI_VALUE_H

#include <stdint.h>

/* Returns 1 when S turns a rule off as dive's isRuleDisabled does
 * (runtime/ci rules.go): after trimming spaces and lowering case, "",
 * "disabled", "off" or "false". */
int ci_value_disabled(const char *s);

/* Parses S as Go's strconv.ParseFloat(S, 64): decimal or hexadecimal
 * (0x...p...) literals, '_' between digits, "inf", "infinity", "nan" in any
 * case.  Returns 0 and the value in *OUT, -EINVAL on a syntax error, or
 * -ERANGE when the magnitude overflows a double (Go's ErrRange). */
int ci_value_float(const char *s, double *out);

/* Parses S as go-humanize v1.0.1 ParseBytes, the function dive uses for
 * highestWastedBytes: a leading run of digits, '.' and ',' (commas dropped)
 * read as a float, then an optional unit after spaces, case-insensitive:
 * b, k/kb (1000), ki/kib (1024), and so on to e/eb and ei/eib.  Returns 0
 * and the byte count (truncated, as Go's uint64 conversion) in *OUT,
 * -EINVAL on a bad number or unit, -ERANGE when it is 2^64 or more. */
int ci_value_bytes(const char *s, uint64_t *out);

#endif
