/* The duplicates command of the imgfs tool. */
#ifndef IMGFS_TOOLS_DUPLICATES_H
#define IMGFS_TOOLS_DUPLICATES_H

/* Runs "imgfs duplicates" on ARGV (argv[0] is "duplicates"); returns the
 * exit status: 0, 1 on a runtime failure, 2 on bad usage or a bad image. */
int imgfs_cmd_duplicates(int argc, char **argv);

#endif
