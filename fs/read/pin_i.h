/* The pinned index: SQLite connections on a descriptor, not a path. */
#ifndef IMGFS_PIN_I_H
#define IMGFS_PIN_I_H

#include <sqlite3.h>

/* Opens a read-only connection on the index open at FD (which must stay
 * open as long as the connection: the connection does not own it).
 * Returns 0, -ENOMEM, or -EIO when SQLite cannot read it as a database. */
int imgfs_pin_open(int fd, sqlite3 **db);

#endif
