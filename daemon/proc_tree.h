/* Killing a restored process tree by walking /proc. */
#ifndef CTRD_PROC_TREE_H
#define CTRD_PROC_TREE_H

#include <sys/types.h>

/*
 * Send SIGKILL to `root` and every descendant found in /proc.  Refuses
 * pids <= 1.  Returns the number of processes signalled.
 */
int proc_tree_kill(pid_t root);

#endif
