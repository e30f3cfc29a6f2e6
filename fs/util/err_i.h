/* Error detail for the core library: functions return 0 or a negative
 * errno, and put the human-readable line here. */
#ifndef IMGFS_ERR_I_H
#define IMGFS_ERR_I_H

#include "imgfs/imgfs.h"

/* Records a message on ERR (if not NULL and no message is there yet, so the
 * innermost, most specific message wins) and returns RC unchanged, so that
 * callers can write "return imgfs_errf(err, -EINVAL, 1, ...)".  INPUT is 1
 * when the fault is the image's (bad input, exit 2), 0 when it is ours or the
 * machine's (exit 1). */
int imgfs_errf(struct imgfs_err *err, int rc, int input, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
