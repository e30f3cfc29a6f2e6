/* The elf command of the imgfs tool. */
#ifndef IMGFS_TOOLS_ELF_H
#define IMGFS_TOOLS_ELF_H

/* Runs "imgfs elf" on ARGV (argv[0] is "elf"); returns the exit status: 0,
 * 1 on a runtime failure, 2 on bad usage or a bad image. */
int imgfs_cmd_elf(int argc, char **argv);

#endif
