/* Byte counts for people: "12.3 MiB". */
#ifndef IMGFS_TOOLS_UNITS_H
#define IMGFS_TOOLS_UNITS_H

#include <stddef.h>

/* Formats N bytes in binary units ("751 B", "1.5 KiB", "12.3 MiB") into
 * BUF and returns BUF. */
const char *human_bytes(char *buf, size_t len, double n);

#endif
