/* Helpers shared by the Check unit tests: temporary directories and small
 * tar archives built in memory with libarchive. */
#ifndef IMGFS_TESTUTIL_H
#define IMGFS_TESTUTIL_H

#include <stddef.h>

/* A fresh empty directory under $IMGFS_TEST_TMP (or /tmp); malloc'd. */
char *tu_tmpdir(void);
/* Writes LEN bytes of DATA to DIR/NAME; returns the malloc'd path. */
char *tu_write_file(const char *dir, const char *name, const void *data, size_t len);
void tu_rm_rf(const char *path);

#endif
