/* This file contains platforms ("os/arch[/variant]"): parsed from
 * --platform, compared with those of image indexes and configs the way
 * containerd normalises them, and the host's own from uname(2). */
#include "format/platform_i.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>


void imgfs_platform_free(struct imgfs_platform *p)
{
	free(p->os);
	free(p->arch);
	free(p->variant);
	memset(p, 0, sizeof(*p));
}

/* The variant a platform without one means (containerd's normalisation). */
static const char *variant_default(const char *arch)
{
	if (!arch)
		return NULL;
	if (!strcmp(arch, "arm64"))
		return "v8";
	if (!strcmp(arch, "arm"))
		return "v7";
	return NULL;
}

static const char *arch_norm(const char *arch)
{
	if (!strcmp(arch, "x86_64") || !strcmp(arch, "x86-64"))
		return "amd64";
	if (!strcmp(arch, "aarch64"))
		return "arm64";
	return arch;
}

/* Whether HAVE satisfies WANT; a WANT without variant takes any variant. */
bool imgfs_platform_match(const struct imgfs_platform *have, const struct imgfs_platform *want)
{
	const char *hv, *wv;

	if (!have->os || !have->arch || strcmp(have->os, want->os) ||
	    strcmp(arch_norm(have->arch), arch_norm(want->arch)))
		return false;
	if (!want->variant)
		return true;
	hv = have->variant ? have->variant : variant_default(arch_norm(have->arch));
	wv = want->variant;
	return hv && !strcmp(hv, wv);
}

/* "os/arch[/variant]" into P.  Returns 0 or -EINVAL. */
int imgfs_platform_parse(const char *s, struct imgfs_platform *p)
{
	const char *a = strchr(s, '/');
	const char *v = a ? strchr(a + 1, '/') : NULL;

	memset(p, 0, sizeof(*p));
	if (!a || a == s || !a[1] || a[1] == '/' || (v && (!v[1] || strchr(v + 1, '/'))))
		return -EINVAL;
	p->os = strndup(s, a - s);
	p->arch = v ? strndup(a + 1, v - a - 1) : strdup(a + 1);
	p->variant = v ? strdup(v + 1) : NULL;
	if (!p->os || !p->arch || (v && !p->variant)) {
		imgfs_platform_free(p);
		return -ENOMEM;
	}
	return 0;
}

/* "linux/arm64/v8" or "?" into a malloc'd string. */
char *imgfs_platform_str(const struct imgfs_platform *p)
{
	char *s;

	if (!p->os || !p->arch)
		return strdup("unknown platform");
	if (asprintf(&s, "%s/%s%s%s", p->os, p->arch, p->variant ? "/" : "",
		     p->variant ? p->variant : "") < 0)
		return NULL;
	return s;
}

void imgfs_host_platform(char *buf, size_t len)
{
	static const struct { const char *machine, *platform; } map[] = {
		{ "x86_64", "amd64" }, { "amd64", "amd64" },
		{ "i386", "386" }, { "i486", "386" }, { "i586", "386" }, { "i686", "386" },
		{ "aarch64", "arm64" }, { "arm64", "arm64" }, { "aarch64_be", "arm64be" },
		{ "armv8l", "arm/v8" }, { "armv7l", "arm/v7" }, { "armv7", "arm/v7" },
		{ "armv6l", "arm/v6" }, { "armv5tel", "arm/v5" }, { "armv5l", "arm/v5" },
		{ "ppc64le", "ppc64le" }, { "ppc64", "ppc64" }, { "s390x", "s390x" },
		{ "riscv64", "riscv64" }, { "loongarch64", "loong64" },
		{ "mips64", "mips64" }, { "mips", "mips" },
	};
	struct utsname u;
	const char *arch;

	assert(buf && len > 0);
	if (uname(&u) < 0) {
		snprintf(buf, len, "linux/unknown");
		return;
	}
	arch = u.machine;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(u.machine, map[i].machine)) {
			arch = map[i].platform;
			break;
		}
	snprintf(buf, len, "linux/%s", arch);
}
