/* This file contains the byte formatting the commands share. */
#include "units.h"

#include <stdio.h>

const char *human_bytes(char *buf, size_t len, double n)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	int u = 0;

	while (n >= 1024 && u < 5) {
		n /= 1024;
		u++;
	}
	snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", n, unit[u]);
	return buf;
}
