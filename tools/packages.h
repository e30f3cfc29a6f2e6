/* The packages command of the imgfs tool. */
#ifndef IMGFS_TOOLS_PACKAGES_H
#define IMGFS_TOOLS_PACKAGES_H

/* Runs "imgfs packages" on ARGV (argv[0] is "packages"); returns the exit
 * status: 0, 1 on a runtime failure, 2 on bad usage or a bad image. */
int imgfs_cmd_packages(int argc, char **argv);

#endif
