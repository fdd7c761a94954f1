/* Killing a restored process tree by walking /proc. */
#ifndef CTRD_PROC_TREE_H
#define CTRD_PROC_TREE_H

#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

/*
 * Send SIGKILL to `root` and every descendant found in /proc.  Refuses
 * pids <= 1.  Returns the number of processes signalled.
 */
int proc_tree_kill(pid_t root);

/*
 * Return the child of ctrd that `tracer` ptraces, or 0.  While CRIU
 * restores a tree as ctrd's sibling it keeps the tree's root seized with
 * ptrace (restore_root_task() in CRIU's criu/cr-restore.c), so this finds
 * the root of a restore that has not reported its pid yet.
 */
pid_t proc_tree_find_traced_child(pid_t tracer);

/*
 * Read the parent and the start time (clock ticks since boot, field 22 of
 * /proc/PID/stat) of `pid`.  Returns -1 if the process does not exist or
 * `pid` <= 1.  Together, pid and start time name one process for good:
 * a pid reused later has a later start time.
 */
int proc_tree_read_stat(pid_t pid, pid_t *ret_parent,
    unsigned long long *ret_start_ticks);

/*
 * Return whether `pid` is a child of ctrd that started at or after `since`
 * (CLOCK_BOOTTIME).  The start time separates a freshly restored root from
 * an older process that reuses its pid.
 */
bool proc_tree_is_new_child(pid_t pid, const struct timespec *since);

#endif
