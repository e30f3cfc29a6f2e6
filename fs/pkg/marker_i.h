/* PEP 508 environment markers ("python_version < '3.11' and sys_platform
 * == 'linux'") evaluated for one site-packages directory of the image. */
#ifndef IMGFS_MARKER_I_H
#define IMGFS_MARKER_I_H

/* The environment a marker is evaluated in: CPython on Linux, the
 * directory's Python version, the image's machine; no extra requested. */
struct py_env {
	char version[16];        /* python_version: "3.11"; "" when unknown */
	char full_version[24];   /* python_full_version: "3.11.0" (no patch level is known) */
	const char *machine;     /* platform_machine: "x86_64"; "" when unknown */
};

/* 1 when MARKER holds in ENV, else 0.  A marker that does not parse holds:
 * the requirement is then listed, as nothing says it does not apply. */
int pkg_marker_true(const char *marker, const struct py_env *env);

#endif
