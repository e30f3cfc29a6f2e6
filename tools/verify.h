/* The verify command of the imgfs tool. */
#ifndef IMGFS_TOOLS_VERIFY_H
#define IMGFS_TOOLS_VERIFY_H

/* Runs "imgfs verify" on ARGV (argv[0] is "verify"); returns the exit
 * status: 0 when every digest matched, 1 on a runtime failure, 2 on bad
 * usage, a bad image or a mismatch. */
int imgfs_cmd_verify(int argc, char **argv);

#endif
