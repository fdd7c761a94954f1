#include <sys/types.h>

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc_tree.h"

/* Read the parent pid from /proc/PID/stat, or return -1. */
static pid_t
proc_tree_parent(pid_t pid)
{
	unsigned long long start_ticks;
	pid_t parent;

	if (proc_tree_read_stat(pid, &parent, &start_ticks) < 0)
		return -1;
	return parent;
}

/* Return whether `pid` has `root` among its ancestors. */
static int
proc_tree_descends(pid_t pid, pid_t root)
{
	int depth;

	for (depth = 0; depth < 64 && pid > 1; depth++) {
		pid = proc_tree_parent(pid);
		if (pid == root)
			return 1;
	}
	return 0;
}

/* Read PPid and TracerPid from /proc/PID/status; -1 on failure. */
static int
proc_tree_read_status(pid_t pid, pid_t *ret_parent, pid_t *ret_tracer)
{
	char path[64], line[256];
	int parent = -1, tracer = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		sscanf(line, "PPid: %d", &parent);
		sscanf(line, "TracerPid: %d", &tracer);
	}
	fclose(f);
	if (parent < 0 || tracer < 0)
		return -1;
	*ret_parent = (pid_t)parent;
	*ret_tracer = (pid_t)tracer;
	return 0;
}

int
proc_tree_read_stat(pid_t pid, pid_t *ret_parent,
    unsigned long long *ret_start_ticks)
{
	char path[64], buf[1024];
	unsigned long long start_ticks;
	const char *after_comm;
	int ppid;
	FILE *f;

	if (pid <= 1)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (f == NULL)
		return -1;
	if (fgets(buf, sizeof(buf), f) == NULL) {
		fclose(f);
		return -1;
	}
	fclose(f);
	/* Fields 4 (ppid) and 22 (starttime), after the command in parentheses. */
	after_comm = strrchr(buf, ')');
	if (after_comm == NULL || sscanf(after_comm,
	    ") %*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
	    &ppid, &start_ticks) != 2)
		return -1;
	*ret_parent = (pid_t)ppid;
	*ret_start_ticks = start_ticks;
	return 0;
}

bool
proc_tree_is_new_child(pid_t pid, const struct timespec *since)
{
	long ticks_per_second = sysconf(_SC_CLK_TCK);
	unsigned long long start_ticks;
	double since_ticks;
	pid_t parent;

	if (ticks_per_second <= 0 ||
	    proc_tree_read_stat(pid, &parent, &start_ticks) < 0)
		return false;
	/* A tick of slack: starttime is rounded down to whole ticks. */
	since_ticks = ((double)since->tv_sec + since->tv_nsec / 1e9) *
	    (double)ticks_per_second - 1;
	return parent == getpid() && (double)start_ticks >= since_ticks;
}

pid_t
proc_tree_find_traced_child(pid_t tracer)
{
	pid_t self = getpid(), found = 0, parent, traced_by;
	struct dirent *entry;
	DIR *dir;

	if (tracer <= 1)
		return 0;
	dir = opendir("/proc");
	while (dir != NULL && found == 0 && (entry = readdir(dir)) != NULL) {
		pid_t pid = (pid_t)strtol(entry->d_name, NULL, 10);

		if (pid > 1 && proc_tree_read_status(pid, &parent,
		    &traced_by) == 0 && parent == self && traced_by == tracer)
			found = pid;
	}
	if (dir != NULL)
		closedir(dir);
	return found;
}

/*
 * NOTE: the walk is not atomic.  A descendant forked between the scan and
 * the kill survives and is reparented to ctrd, which reaps it once it exits.
 * Putting restored trees into their own cgroup would remove the race.
 */
int
proc_tree_kill(pid_t root)
{
	struct dirent *entry;
	int count = 0;
	DIR *dir;

	if (root <= 1)
		return 0;
	/* Stop the root first so it cannot fork while its tree is found. */
	kill(root, SIGSTOP);
	dir = opendir("/proc");
	while (dir != NULL && (entry = readdir(dir)) != NULL) {
		pid_t pid = (pid_t)strtol(entry->d_name, NULL, 10);

		if (pid > 1 && pid != root && proc_tree_descends(pid, root) &&
		    kill(pid, SIGKILL) == 0)
			count++;
	}
	if (dir != NULL)
		closedir(dir);
	if (kill(root, SIGKILL) == 0)
		count++;
	return count;
}
