#include <sys/prctl.h>
#include <sys/queue.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "error.h"
#include "log.h"
#include "reaper.h"

struct reaper_watch {
	pid_t pid;
	reaper_exit_fn *fn;
	void *arg;
	LIST_ENTRY(reaper_watch) entry;
};

struct reaper {
	struct event *sigchld;
	LIST_HEAD(, reaper_watch) watches;
};

static struct reaper_watch *
reaper_find(struct reaper *reaper, pid_t pid)
{
	struct reaper_watch *watch;

	LIST_FOREACH(watch, &reaper->watches, entry)
		if (watch->pid == pid)
			return watch;
	return NULL;
}

const char *
reaper_describe_status(int status, char *buf, size_t size)
{
	if (WIFEXITED(status))
		snprintf(buf, size, "exit code %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, size, "signal %d (%s)", WTERMSIG(status),
		    strsignal(WTERMSIG(status)));
	else
		snprintf(buf, size, "wait status 0x%x", status);
	return buf;
}

static void
reaper_dispatch(struct reaper *reaper, pid_t pid, int status)
{
	struct reaper_watch *watch = reaper_find(reaper, pid);
	reaper_exit_fn *fn;
	char desc[64];
	void *arg;

	if (watch == NULL) {
		log_debug(NULL, "reaped orphan pid %d: %s", (int)pid,
		    reaper_describe_status(status, desc, sizeof(desc)));
		return;
	}
	fn = watch->fn;
	arg = watch->arg;
	LIST_REMOVE(watch, entry);
	free(watch);
	fn(pid, status, arg);
}

static void
reaper_on_sigchld(evutil_socket_t sig, short what, void *arg)
{
	struct reaper *reaper = arg;
	int status;
	pid_t pid;

	for (;;) {
		pid = waitpid(-1, &status, WNOHANG);
		if (pid == -1 && errno == EINTR)
			continue;
		if (pid <= 0)
			break;
		reaper_dispatch(reaper, pid, status);
	}
}

struct reaper *
reaper_new(struct event_base *base, struct error *err)
{
	struct reaper *reaper;

	if (prctl(PR_SET_CHILD_SUBREAPER, 1) == -1)
		return error_set_errno(err, "internal",
		    "become the child subreaper"), NULL;
	reaper = calloc(1, sizeof(*reaper));
	if (reaper == NULL)
		return error_set_errno(err, "internal", "allocate reaper"),
		    NULL;
	LIST_INIT(&reaper->watches);
	reaper->sigchld = evsignal_new(base, SIGCHLD, reaper_on_sigchld,
	    reaper);
	if (reaper->sigchld == NULL || evsignal_add(reaper->sigchld,
	    NULL) == -1) {
		reaper_free(reaper);
		return error_set(err, "internal", "watch SIGCHLD"), NULL;
	}
	return reaper;
}

void
reaper_free(struct reaper *reaper)
{
	struct timespec delay = { 0, 10 * 1000 * 1000 };
	struct reaper_watch *watch;
	int i;

	if (reaper == NULL)
		return;
	/*
	 * Reap what exited or was just killed, for up to 100 ms, so no zombie
	 * outlives ctrd on hosts whose PID 1 does not reap.
	 */
	for (i = 0; i < 10; i++) {
		reaper_on_sigchld(SIGCHLD, 0, reaper);
		nanosleep(&delay, NULL);
	}
	while ((watch = LIST_FIRST(&reaper->watches)) != NULL) {
		LIST_REMOVE(watch, entry);
		free(watch);
	}
	if (reaper->sigchld != NULL)
		event_free(reaper->sigchld);
	free(reaper);
}

int
reaper_watch(struct reaper *reaper, pid_t pid, reaper_exit_fn *fn,
    void *arg, struct error *err)
{
	struct reaper_watch *watch;

	if (pid <= 1)
		return error_set(err, "internal", "refuse to watch pid %d",
		    (int)pid);
	if (reaper_find(reaper, pid) != NULL)
		return error_set(err, "internal", "pid %d is already watched",
		    (int)pid);
	watch = calloc(1, sizeof(*watch));
	if (watch == NULL)
		return error_set_errno(err, "internal", "watch pid %d",
		    (int)pid);
	watch->pid = pid;
	watch->fn = fn;
	watch->arg = arg;
	LIST_INSERT_HEAD(&reaper->watches, watch, entry);
	return 0;
}

bool
reaper_is_watched(struct reaper *reaper, pid_t pid)
{
	return reaper_find(reaper, pid) != NULL;
}

void
reaper_unwatch(struct reaper *reaper, pid_t pid)
{
	struct reaper_watch *watch = reaper_find(reaper, pid);

	if (watch == NULL)
		return;
	LIST_REMOVE(watch, entry);
	free(watch);
}
