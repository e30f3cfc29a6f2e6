/* The check command of the imgfs tool. */
#ifndef IMGFS_TOOLS_CHECK_H
#define IMGFS_TOOLS_CHECK_H

/* Runs "imgfs check" on ARGV (argv[0] is "check"); returns the exit status. */
int imgfs_cmd_check(int argc, char **argv);

#endif
