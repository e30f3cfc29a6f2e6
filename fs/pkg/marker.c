/* This file contains the evaluation of PEP 508 environment markers:
 *   marker := and ("or" and)*    and := expr ("and" expr)*
 *   expr   := "(" marker ")" | value op value
 *   value  := a variable name | a quoted string
 * Versions compare component by component when both sides are dotted
 * numbers (PEP 440's order on release numbers), as strings otherwise. */
#include "pkg/marker_i.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bytes of one marker value: variable values are short, a quoted string
 * longer than this is cut (it then compares unequal to them all). */
#define VALUE_MAX 128
/* Nesting of parentheses: deeper is malformed (the marker then holds). */
#define DEPTH_MAX 32

struct mp {
	const char *p;
	const struct py_env *env;
	int bad;                 /* set once the marker is malformed */
	int depth;
};

static void skip_ws(struct mp *m)
{
	while (*m->p == ' ' || *m->p == '\t')
		m->p++;
}

/* 1 and the keyword consumed when the text at m->p is the word W. */
static int word(struct mp *m, const char *w)
{
	size_t l = strlen(w);

	skip_ws(m);
	if (strncmp(m->p, w, l) || isalnum((unsigned char)m->p[l]) || m->p[l] == '_')
		return 0;
	m->p += l;
	return 1;
}

/* The value of variable NAME (LEN bytes): what CPython on Linux says. */
static const char *var(const struct py_env *e, const char *name, size_t len)
{
	static const struct { const char *name, *value; } fixed[] = {
		{ "os_name", "posix" }, { "sys_platform", "linux" }, { "platform_system", "Linux" },
		{ "platform_python_implementation", "CPython" }, { "implementation_name", "cpython" },
		{ "platform_release", "" }, { "platform_version", "" },
		/* no extra is requested: extra == "x" is false */
		{ "extra", "" },
	};
	size_t i;

#define IS(s) (len == strlen(s) && !strncmp(name, s, len))
	if (IS("python_version"))
		return e->version;
	if (IS("python_full_version") || IS("implementation_version"))
		return e->full_version;
	if (IS("platform_machine"))
		return e->machine;
	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (IS(fixed[i].name))
			return fixed[i].value;
#undef IS
	return NULL;
}

/* One value into OUT (VALUE_MAX + 1 bytes); 0, or -1 when malformed. */
static int value(struct mp *m, char *out)
{
	skip_ws(m);
	if (*m->p == '\'' || *m->p == '"') {
		char q = *m->p++;
		size_t n = 0;

		for (; *m->p && *m->p != q; m->p++)
			if (n < VALUE_MAX)
				out[n++] = *m->p;
		if (*m->p != q)
			return -1;
		m->p++;
		out[n] = '\0';
		return 0;
	} else {
		const char *s = m->p, *v;

		while (isalnum((unsigned char)*m->p) || *m->p == '_' || *m->p == '.')
			m->p++;
		v = var(m->env, s, (size_t)(m->p - s));
		if (!v)
			return -1;
		snprintf(out, VALUE_MAX + 1, "%s", v);
		return 0;
	}
}

/* 1 when S is a dotted number "3.11.2". */
static int is_release(const char *s)
{
	if (!isdigit((unsigned char)*s))
		return 0;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s) && !(*s == '.' && isdigit((unsigned char)s[1])))
			return 0;
	return 1;
}

/* <0, 0, >0 as release A is before, equal to, after B ("3.9" < "3.10";
 * missing components are 0). */
static int cmp_release(const char *a, const char *b)
{
	while (*a || *b) {
		unsigned long x = strtoul(a, (char **)&a, 10), y = strtoul(b, (char **)&b, 10);

		if (x != y)
			return x < y ? -1 : 1;
		if (*a == '.')
			a++;
		if (*b == '.')
			b++;
	}
	return 0;
}

/* ~= X.Y.Z: >= X.Y.Z with the same X.Y (all but its last component). */
static int compatible(const char *l, const char *r)
{
	const char *d;
	int k = 0;

	for (d = r; *d; d++)
		k += *d == '.';
	if (!k || cmp_release(l, r) < 0)
		return 0;
	while (k--) {
		unsigned long x = strtoul(l, (char **)&l, 10), y = strtoul(r, (char **)&r, 10);

		if (x != y)
			return 0;
		if (*l == '.')
			l++;
		r++;
	}
	return 1;
}

static int compare(const char *l, const char *op, const char *r)
{
	int rel = is_release(l) && is_release(r);
	int c = rel ? cmp_release(l, r) : strcmp(l, r);

	if (!strcmp(op, "==") || !strcmp(op, "==="))
		return rel ? c == 0 : !strcmp(l, r);
	if (!strcmp(op, "!="))
		return rel ? c != 0 : strcmp(l, r) != 0;
	if (!strcmp(op, "<"))
		return c < 0;
	if (!strcmp(op, "<="))
		return c <= 0;
	if (!strcmp(op, ">"))
		return c > 0;
	if (!strcmp(op, ">="))
		return c >= 0;
	if (!strcmp(op, "~="))
		return rel && compatible(l, r);
	if (!strcmp(op, "in"))
		return strstr(r, l) != NULL;
	return strstr(r, l) == NULL; /* not in */
}

static int or_expr(struct mp *m);

static int expr(struct mp *m)
{
	static const char *const ops[] = { "===", "==", "!=", "<=", ">=", "~=", "<", ">" };
	char l[VALUE_MAX + 1], r[VALUE_MAX + 1];
	const char *op = NULL;
	size_t i;
	int v;

	skip_ws(m);
	if (*m->p == '(') {
		m->p++;
		if (++m->depth > DEPTH_MAX) {
			m->bad = 1;
			return 1;
		}
		v = or_expr(m);
		m->depth--;
		skip_ws(m);
		if (*m->p != ')')
			m->bad = 1;
		else
			m->p++;
		return v;
	}
	if (value(m, l)) {
		m->bad = 1;
		return 1;
	}
	skip_ws(m);
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]) && !op; i++)
		if (!strncmp(m->p, ops[i], strlen(ops[i]))) {
			op = ops[i];
			m->p += strlen(op);
		}
	if (!op && word(m, "in"))
		op = "in";
	else if (!op && word(m, "not") && word(m, "in"))
		op = "not in";
	if (!op || value(m, r)) {
		m->bad = 1;
		return 1;
	}
	return compare(l, op, r);
}

static int and_expr(struct mp *m)
{
	int v = expr(m);

	while (!m->bad && word(m, "and"))
		v = expr(m) && v;
	return v;
}

static int or_expr(struct mp *m)
{
	int v = and_expr(m);

	while (!m->bad && word(m, "or"))
		v = and_expr(m) || v;
	return v;
}

int pkg_marker_true(const char *marker, const struct py_env *env)
{
	struct mp m = { .p = marker, .env = env };
	int v = or_expr(&m);

	skip_ws(&m);
	if (m.bad || *m.p)
		return 1;
	return v;
}
