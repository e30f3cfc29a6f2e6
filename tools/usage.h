/* The usage texts of the imgfs commands and the help command: one table,
 * so that imgfs --help, imgfs help COMMAND and imgfs COMMAND --help print
 * the same words. */
#ifndef IMGFS_TOOLS_USAGE_H
#define IMGFS_TOOLS_USAGE_H

/* Prints the usage of command NAME ("unmount" is umount), or with NAME
 * NULL or unknown the global usage (every command's synopsis), on
 * standard output when CODE is 0 and on standard error otherwise.
 * Returns CODE, or 1 after a message when CODE is 0 and standard output
 * could not be written (a full disk, a closed pipe). */
int imgfs_usage(const char *name, int code);

/* Runs "imgfs help" on ARGV (argv[0] is "help"): the global usage, or
 * with one argument that command's usage.  Returns the exit status: 0, 1
 * when standard output could not be written, 2 for an unknown command
 * (one line on stderr) or extra arguments. */
int imgfs_cmd_help(int argc, char **argv);

#endif
