#include <sys/types.h>

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc_tree.h"

/* Read the parent pid from /proc/PID/stat, or return -1. */
static pid_t
proc_tree_parent(pid_t pid)
{
	char path[64], buf[512];
	const char *after_comm;
	int ppid;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (f == NULL)
		return -1;
	if (fgets(buf, sizeof(buf), f) == NULL) {
		fclose(f);
		return -1;
	}
	fclose(f);
	/* The command name may contain spaces and parentheses. */
	after_comm = strrchr(buf, ')');
	if (after_comm == NULL || sscanf(after_comm, ") %*c %d", &ppid) != 1)
		return -1;
	return (pid_t)ppid;
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
