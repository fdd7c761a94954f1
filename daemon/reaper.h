/* Reaping of every child and orphan: ctrd is the child subreaper. */
#ifndef CTRD_REAPER_H
#define CTRD_REAPER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct event_base;
struct error;
struct reaper;

/* Called once with the raw wait status when `pid` has been reaped. */
typedef void reaper_exit_fn(pid_t pid, int status, void *arg);

/*
 * Make ctrd the child subreaper and reap on SIGCHLD.  Restored trees are
 * ctrd's children (CRIU restores their root as a sibling of the worker), and
 * their orphans are reparented to ctrd instead of PID 1; an unreaped zombie
 * keeps its pid and blocks the next restore of that pid.
 */
struct reaper *reaper_new(struct event_base *base, struct error *err);
void reaper_free(struct reaper *reaper);

/* Call `fn` when `pid` exits.  A pid has at most one watcher. */
int reaper_watch(struct reaper *reaper, pid_t pid, reaper_exit_fn *fn,
    void *arg, struct error *err);

/* Return whether `pid` has a watcher. */
bool reaper_is_watched(struct reaper *reaper, pid_t pid);

/* Forget the watcher of `pid`; its exit is then only logged. */
void reaper_unwatch(struct reaper *reaper, pid_t pid);

/* Format a wait status as "exit code 1" or "signal 9 (Killed)". */
const char *reaper_describe_status(int status, char *buf, size_t size);

#endif
