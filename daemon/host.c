#define _GNU_SOURCE
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "host.h"

/* /proc/PID/comm contains at most 15 bytes and a newline (TASK_COMM_LEN). */
#define HOST_COMM_SIZE 17

/* The process or thread that uses an id, from /proc/ID/status. */
struct host_holder {
	char state;		/* 'R', 'S', 'Z', ... */
	pid_t tgid;		/* the process of the thread with this id */
	pid_t parent;
};

static bool
host_pid_in_use(pid_t pid)
{
	if (pid <= 1)
		return false;
	return kill(pid, 0) == 0 || errno == EPERM;
}

/* Read up to `size` - 1 bytes of /proc/`pid`/`name`; -1 if it is gone. */
static ssize_t
host_read_proc(pid_t pid, const char *name, char *buf, size_t size)
{
	char path[64];
	ssize_t len;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return -1;
	do {
		len = read(fd, buf, size - 1);
	} while (len == -1 && errno == EINTR);
	close(fd);
	if (len >= 0)
		buf[len] = '\0';
	return len;
}

/*
 * Read the command name of `pid` into `buf`.  A name may hold any byte, so
 * each one outside printable ASCII becomes '?', which keeps the API's
 * messages valid UTF-8 and free of control characters.
 */
static void
host_read_comm(pid_t pid, char buf[HOST_COMM_SIZE])
{
	size_t i;

	if (host_read_proc(pid, "comm", buf, HOST_COMM_SIZE) <= 0) {
		snprintf(buf, HOST_COMM_SIZE, "?");
		return;
	}
	buf[strcspn(buf, "\n")] = '\0';
	for (i = 0; buf[i] != '\0'; i++)
		if (buf[i] < 0x20 || buf[i] > 0x7e)
			buf[i] = '?';
}

/* Return the number after `key` in /proc/PID/status text, or -1. */
static long
host_status_number(const char *status, const char *key)
{
	const char *p = strstr(status, key);

	return p != NULL ? strtol(p + strlen(key), NULL, 10) : -1;
}

static bool
host_read_holder(pid_t pid, struct host_holder *holder)
{
	char status[4096];
	const char *state;

	if (host_read_proc(pid, "status", status, sizeof(status)) <= 0)
		return false;
	state = strstr(status, "\nState:\t");
	holder->state = state != NULL ? state[8] : '?';
	holder->tgid = (pid_t)host_status_number(status, "\nTgid:\t");
	holder->parent = (pid_t)host_status_number(status, "\nPPid:\t");
	return true;
}

/* Fill `err` for id `pid` in use, with `more` other ids in use too. */
static int
host_set_in_use_error(pid_t pid, size_t more, struct error *err)
{
	char comm[HOST_COMM_SIZE], parent_comm[HOST_COMM_SIZE], also[96] = "";
	struct host_holder holder;

	if (more > 0)
		snprintf(also, sizeof(also),
		    " (%zu more of the image's pids are in use too)", more);
	if (!host_read_holder(pid, &holder))
		return error_set(err, "pid-in-use",
		    "pid %d of the image is in use by a process that ended while ctrd looked at it%s; retry",
		    (int)pid, also);
	if (holder.tgid > 1 && holder.tgid != pid) {
		host_read_comm(holder.tgid, comm);
		return error_set(err, "pid-in-use",
		    "pid %d of the image is in use by a thread of process %d '%s'%s; stop that process, then retry",
		    (int)pid, (int)holder.tgid, comm, also);
	}
	host_read_comm(pid, comm);
	if (holder.state == 'Z') {
		host_read_comm(holder.parent, parent_comm);
		return error_set(err, "pid-in-use",
		    "pid %d of the image is held by a zombie '%s' that its parent, pid %d '%s', has not reaped%s; make the parent reap it, or end the parent, then retry",
		    (int)pid, comm, (int)holder.parent, parent_comm, also);
	}
	return error_set(err, "pid-in-use",
	    "pid %d of the image is in use by process '%s'%s; stop that process, then retry",
	    (int)pid, comm, also);
}

int
host_check_pids_free(const pid_t *pids, size_t count, struct error *err)
{
	size_t i, in_use = 0;
	pid_t first = 0;

	for (i = 0; i < count; i++) {
		if (!host_pid_in_use(pids[i]))
			continue;
		if (in_use++ == 0)
			first = pids[i];
	}
	if (in_use == 0)
		return 0;
	return host_set_in_use_error(first, in_use - 1, err);
}
