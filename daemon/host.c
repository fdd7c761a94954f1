#define _GNU_SOURCE
#include <sys/socket.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <netinet/in.h>

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
#include "request.h"

/* Bit of CAP_SYS_RESOURCE in the CapEff mask of /proc/PID/status. */
#define HOST_CAP_SYS_RESOURCE 24

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

int
host_check_dumpable(pid_t pid, uid_t uid, struct error *err)
{
	struct host_holder holder;
	char status[4096];

	if (pid <= 1 || !host_read_holder(pid, &holder) || holder.tgid != pid)
		return error_set_field(err, "not-found", "pid",
		    "no process %d on this host; pass the pid of the tree's root process",
		    (int)pid);
	if (holder.state == 'Z')
		return error_set_field(err, "not-found", "pid",
		    "process %d is a zombie and has nothing left to dump",
		    (int)pid);
	if (uid == 0)
		return 0;
	if (host_read_proc(pid, "status", status, sizeof(status)) <= 0 ||
	    host_status_number(status, "\nUid:\t") != (long)uid)
		return error_set_field(err, "permission-denied", "pid",
		    "uid %d may dump only its own processes, and process %d is not one of them",
		    (int)uid, (int)pid);
	return 0;
}

/* Return whether ctrd, and so the CRIU it starts, has CAP_SYS_RESOURCE. */
static bool
host_has_sys_resource(void)
{
	char status[4096];
	const char *p;

	if (host_read_proc(getpid(), "status", status, sizeof(status)) <= 0)
		return false;
	p = strstr(status, "\nCapEff:\t");
	if (p == NULL)
		return false;
	return (strtoull(p + 9, NULL, 16) >> HOST_CAP_SYS_RESOURCE) & 1;
}

int
host_check_pipe_size(struct error *err)
{
	char text[32];
	long max = -1;
	ssize_t len;
	int fd;

	if (host_has_sys_resource())
		return 0;
	fd = open("/proc/sys/fs/pipe-max-size", O_RDONLY | O_CLOEXEC);
	if (fd != -1) {
		len = read(fd, text, sizeof(text) - 1);
		close(fd);
		if (len > 0) {
			text[len] = '\0';
			max = strtol(text, NULL, 10);
		}
	}
	if (max >= HOST_PAGE_PIPE_BYTES)
		return 0;
	return error_set_field(err, "host-config", "lazy_pages",
	    "fs.pipe-max-size is %ld bytes and ctrd lacks CAP_SYS_RESOURCE, but CRIU's page server needs pipes of %ld bytes and would fail every transfer with 'splice: Bad file descriptor'; raise it with 'sysctl -w fs.pipe-max-size=%ld' (and in /etc/sysctl.d to keep it), or give ctrd CAP_SYS_RESOURCE",
	    max, HOST_PAGE_PIPE_BYTES, HOST_PAGE_PIPE_BYTES);
}

/* Fill `addr` with the page server's address and port; return its size. */
static socklen_t
host_page_server_addr(const struct page_server *server,
    struct sockaddr_storage *addr)
{
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)addr;
	struct sockaddr_in *in = (struct sockaddr_in *)addr;

	memset(addr, 0, sizeof(*addr));
	if (inet_pton(AF_INET, server->address, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)server->port);
		return sizeof(*in);
	}
	if (inet_pton(AF_INET6, server->address, &in6->sin6_addr) != 1)
		return 0;
	in6->sin6_family = AF_INET6;
	in6->sin6_port = htons((uint16_t)server->port);
	return sizeof(*in6);
}

int
host_check_bind(const struct page_server *server, struct error *err)
{
	struct sockaddr_storage addr;
	socklen_t len = host_page_server_addr(server, &addr);
	int fd, one = 1, saved;

	if (len == 0)
		return error_set_field(err, "invalid-params", "page_server",
		    "'%s' is not a numeric IP address", server->address);
	fd = socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return error_set_errno(err, "internal",
		    "create a socket to check the page server's address");
	/* CRIU sets SO_REUSEADDR too (setup_tcp_server() in criu/util.c). */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&addr, len) == 0) {
		close(fd);
		return 0;
	}
	saved = errno;
	close(fd);
	if (saved == EADDRINUSE)
		return error_set_field(err, "invalid-params", "page_server",
		    "port %d on %s is in use; pick a free port", server->port,
		    server->address);
	if (saved == EADDRNOTAVAIL)
		return error_set_field(err, "invalid-params", "page_server",
		    "%s is not an address of this host (of ctrd's network namespace); pass one of its addresses",
		    server->address);
	return error_set_field(err, "invalid-params", "page_server",
	    "cannot listen on %s port %d: %s", server->address, server->port,
	    strerror(saved));
}
