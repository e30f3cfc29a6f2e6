/* This file contains the parsers of dive's .dive-ci values: Go's
 * strconv.ParseFloat and go-humanize's ParseBytes rebuilt on strtod, so
 * that "imgfs check" accepts the same thresholds as dive and reads them as
 * the same numbers. */
#include "ci_value.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Go's strings.TrimSpace on ASCII: the Unicode spaces it also trims (U+0085,
 * U+00A0, ...) make dive accept a value imgfs rejects with exit 2, never a
 * different threshold. */
static int go_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

int ci_value_disabled(const char *s)
{
	static const char *const off[] = { "disabled", "off", "false" };
	size_t b = 0, e = strlen(s), k;

	while (b < e && go_space(s[b]))
		b++;
	while (e > b && go_space(s[e - 1]))
		e--;
	if (b == e)
		return 1;
	for (k = 0; k < sizeof(off) / sizeof(off[0]); k++)
		if (strlen(off[k]) == e - b && strncasecmp(s + b, off[k], e - b) == 0)
			return 1;
	return 0;
}

static int is_digit(char c, int hex)
{
	return (c >= '0' && c <= '9') || (hex && c && strchr("abcdefABCDEF", c));
}

/* Go's underscoreOK (strconv/atoi.go): '_' only between two digits, or
 * between a base prefix and a digit. */
static int underscores_ok(const char *s)
{
	char saw = '^';
	int hex = 0;

	if (*s == '+' || *s == '-')
		s++;
	if (s[0] == '0' && s[1] && strchr("bBoOxX", s[1])) {
		hex = s[1] == 'x' || s[1] == 'X';
		saw = '0';
		s += 2;
	}
	for (; *s; s++) {
		if (is_digit(*s, hex)) {
			saw = '0';
		} else if (*s == '_') {
			if (saw != '0')
				return 0;
			saw = '_';
		} else {
			if (saw == '_')
				return 0;
			saw = '!';
		}
	}
	return saw != '_';
}

/* Go's special(): [+-]inf, [+-]infinity, nan (no sign), any case. */
static int special(const char *s, double *out)
{
	int neg = 0;

	if (strcasecmp(s, "nan") == 0) {
		*out = NAN;
		return 1;
	}
	if (*s == '+' || *s == '-')
		neg = *s++ == '-';
	if (strcasecmp(s, "inf") == 0 || strcasecmp(s, "infinity") == 0) {
		*out = neg ? -INFINITY : INFINITY;
		return 1;
	}
	return 0;
}

/* The syntax of Go's readFloat (strconv/atof.go): returns 1 when S is a
 * whole well-formed literal, and sets *UNDERSCORES. */
static int go_syntax(const char *s, int *underscores)
{
	size_t i = 0, n = strlen(s);
	int hex = 0, sawdot = 0, sawdigits = 0;

	*underscores = 0;
	if (i < n && (s[i] == '+' || s[i] == '-'))
		i++;
	if (i + 2 < n && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
		hex = 1;
		i += 2;
	}
	for (; i < n; i++) {
		if (s[i] == '_') {
			*underscores = 1;
		} else if (s[i] == '.') {
			if (sawdot)
				break;
			sawdot = 1;
		} else if (is_digit(s[i], hex)) {
			sawdigits = 1;
		} else {
			break;
		}
	}
	if (!sawdigits)
		return 0;
	if (i < n && tolower((unsigned char)s[i]) == (hex ? 'p' : 'e')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i >= n || s[i] < '0' || s[i] > '9')
			return 0;
		for (; i < n && ((s[i] >= '0' && s[i] <= '9') || s[i] == '_'); i++)
			if (s[i] == '_')
				*underscores = 1;
	} else if (hex) {
		return 0;   /* Go: a hexadecimal mantissa requires a 'p' exponent */
	}
	return i == n;
}

int ci_value_float(const char *s, double *out)
{
	int underscores;
	char *copy, *d, *end;
	const char *p;
	double v;

	if (special(s, out))
		return 0;
	if (!go_syntax(s, &underscores) || (underscores && !underscores_ok(s)))
		return -EINVAL;
	copy = malloc(strlen(s) + 1);
	if (!copy)
		return -ENOMEM;
	for (p = s, d = copy; *p; p++)
		if (*p != '_')
			*d++ = *p;
	*d = '\0';
	errno = 0;
	v = strtod(copy, &end);
	/* glibc strtod rounds correctly as Go does; ERANGE on underflow is not
	 * an error in Go (the value rounds to 0 or a subnormal), overflow is */
	if (*end != '\0') {
		free(copy);
		return -EINVAL;
	}
	free(copy);
	if (isinf(v))
		return -ERANGE;
	*out = v;
	return 0;
}

int ci_value_bytes(const char *s, uint64_t *out)
{
	static const struct {
		const char *name;
		double mult;
	} units[] = {
		{ "", 1 }, { "b", 1 },
		{ "k", 1e3 }, { "kb", 1e3 }, { "ki", 0x1p10 }, { "kib", 0x1p10 },
		{ "m", 1e6 }, { "mb", 1e6 }, { "mi", 0x1p20 }, { "mib", 0x1p20 },
		{ "g", 1e9 }, { "gb", 1e9 }, { "gi", 0x1p30 }, { "gib", 0x1p30 },
		{ "t", 1e12 }, { "tb", 1e12 }, { "ti", 0x1p40 }, { "tib", 0x1p40 },
		{ "p", 1e15 }, { "pb", 1e15 }, { "pi", 0x1p50 }, { "pib", 0x1p50 },
		{ "e", 1e18 }, { "eb", 1e18 }, { "ei", 0x1p60 }, { "eib", 0x1p60 },
	};
	size_t run = strspn(s, "0123456789.,"), b, e, k;
	char *num, *d;
	double f;
	int rc;

	/* the number: the leading run without its commas, read by ParseFloat */
	num = malloc(run + 1);
	if (!num)
		return -ENOMEM;
	for (k = 0, d = num; k < run; k++)
		if (s[k] != ',')
			*d++ = s[k];
	*d = '\0';
	rc = ci_value_float(num, &f);
	free(num);
	if (rc)
		return rc;
	/* the unit: the rest, spaces trimmed, lower case */
	b = run;
	e = strlen(s);
	while (b < e && go_space(s[b]))
		b++;
	while (e > b && go_space(s[e - 1]))
		e--;
	for (k = 0; k < sizeof(units) / sizeof(units[0]); k++) {
		if (strlen(units[k].name) != e - b || strncasecmp(s + b, units[k].name, e - b))
			continue;
		f *= units[k].mult;
		if (!(f < 0x1p64))   /* Go: f >= math.MaxUint64, which is 2^64 as a float64 */
			return -ERANGE;
		*out = (uint64_t)f;
		return 0;
	}
	return -EINVAL;
}
