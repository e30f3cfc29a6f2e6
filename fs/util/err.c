/* This file contains the error-message helper shared by the core modules. */
#include "err_i.h"

#include <stdarg.h>
#include <stdio.h>

int imgfs_errf(struct imgfs_err *err, int rc, int input, const char *fmt, ...)
{
	va_list ap;

	if (!err || err->msg[0])
		return rc;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	err->input = input;
	err->code = rc;
	return rc;
}
