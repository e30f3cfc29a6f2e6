/* JSON string output shared by the imgfs commands' --json modes. */
#ifndef IMGFS_TOOLS_JSON_H
#define IMGFS_TOOLS_JSON_H

#include <stdio.h>

/* Writes S to F as a JSON string, quotes included; NULL is written as null.
 * Quote, backslash and control characters are escaped (\n, \t, ... or
 * \u00XX); valid UTF-8 passes through unchanged; every byte that is not
 * part of a valid UTF-8 sequence becomes \ufffd, so the output is always
 * valid JSON and valid UTF-8 whatever bytes the image holds. */
void json_str(FILE *f, const char *s);

#endif
