#define _GNU_SOURCE
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <dirent.h>
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

/*
 * Processes of a tree that a client other than root may dump, at most.
 * The check of their owners visits no more, which also ends a walk that a
 * reused pid turned into a cycle.
 */
#define HOST_TREE_MAX 4096

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

/*
 * Return whether `pid` belongs to `uid` in every way ptrace(2) checks: its
 * real, effective, saved and filesystem uids are `uid`, and it is dumpable.
 * The kernel makes the files in /proc/PID root's while a process is not
 * dumpable, for example after a setuid execve(2) or PR_SET_DUMPABLE 0
 * (task_dump_owner() in fs/proc/base.c), and a zombie's too, which has no
 * memory left to dump.
 */
static bool
host_is_owned_by(pid_t pid, uid_t uid)
{
	char path[48], status[4096];
	unsigned long ids[4];
	struct stat st;
	const char *line;
	int i;

	if (host_read_proc(pid, "status", status, sizeof(status)) <= 0)
		return false;
	line = strstr(status, "\nUid:\t");
	if (line == NULL || sscanf(line + 6, "%lu %lu %lu %lu", &ids[0],
	    &ids[1], &ids[2], &ids[3]) != 4)
		return false;
	for (i = 0; i < 4; i++)
		if (ids[i] != (unsigned long)uid)
			return false;
	line = strstr(status, "\nState:\t");
	if (line != NULL && line[8] == 'Z')
		return true;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	return stat(path, &st) == 0 && st.st_uid == uid;
}

/*
 * Push the children of every thread of `pid` onto `pending`, as CRIU finds
 * them (/proc/PID/task/TID/children).  A process that is gone has none.
 * Returns false when `pending` is full.
 */
static bool
host_push_children(pid_t pid, pid_t *pending, size_t *count)
{
	char path[96];
	struct dirent *entry;
	bool fits = true;
	DIR *tasks;
	FILE *f;
	int child;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	tasks = opendir(path);
	if (tasks == NULL)
		return true;
	while (fits && (entry = readdir(tasks)) != NULL) {
		if (entry->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%.16s/children",
		    (int)pid, entry->d_name);
		f = fopen(path, "re");
		if (f == NULL)
			continue;
		while (fits && fscanf(f, "%d", &child) == 1) {
			fits = *count < HOST_TREE_MAX;
			if (fits)
				pending[(*count)++] = (pid_t)child;
		}
		fclose(f);
	}
	closedir(tasks);
	return fits;
}

/*
 * Check that `root` and each of its descendants belong to `uid`, because
 * CRIU dumps the whole tree and, without leave_running, kills it.
 *
 * NOTE: only each process's main thread is checked, and the tree may fork
 * or exec between this check and CRIU's freeze.  A thread that changed its
 * own credentials, or a setuid program started in that window, is dumped
 * anyway.  Closing the gap needs a check of the tree CRIU froze, which its
 * RPC does not offer.
 */
static int
host_check_tree_owned(pid_t root, uid_t uid, struct error *err)
{
	char comm[HOST_COMM_SIZE];
	size_t count = 0, visited = 0;
	pid_t *pending, pid;
	int ret = 0;

	pending = malloc(HOST_TREE_MAX * sizeof(*pending));
	if (pending == NULL)
		return error_set_errno(err, "internal",
		    "allocate the list of processes to check");
	pending[count++] = root;
	while (ret == 0 && count > 0) {
		pid = pending[--count];
		/* A process that exited since its parent listed it is skipped. */
		if (!host_is_owned_by(pid, uid) && host_pid_in_use(pid)) {
			host_read_comm(pid, comm);
			ret = error_set_field(err, "permission-denied", "pid",
			    "uid %d may dump only its own processes, and process %d '%s' in the tree of %d is not one of them: it runs with another uid (real, effective, saved or filesystem) or is not dumpable",
			    (int)uid, (int)pid, comm, (int)root);
		} else if (++visited > HOST_TREE_MAX ||
		    !host_push_children(pid, pending, &count)) {
			ret = error_set_field(err, "permission-denied", "pid",
			    "the tree of process %d has more than %d processes, more than ctrd checks for a client other than root; ask root to dump it",
			    (int)root, HOST_TREE_MAX);
		}
	}
	free(pending);
	return ret;
}

int
host_check_dumpable(pid_t pid, uid_t uid, struct error *err)
{
	struct host_holder holder;

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
	return host_check_tree_owned(pid, uid, err);
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

/* Return whether `addr` is the IPv4 or IPv6 address of every interface. */
static bool
host_addr_is_any(const struct sockaddr_storage *addr)
{
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)addr;
	const struct sockaddr_in *in = (const struct sockaddr_in *)addr;

	if (addr->ss_family == AF_INET)
		return in->sin_addr.s_addr == htonl(INADDR_ANY);
	return IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr);
}

bool
host_page_servers_overlap(const struct page_server *a,
    const struct page_server *b)
{
	const struct sockaddr_in6 *a6, *b6;
	const struct sockaddr_in *a4, *b4;
	struct sockaddr_storage addr_a, addr_b;

	if (a->port != b->port || a->port == 0)
		return false;
	if (host_page_server_addr(a, &addr_a) == 0 ||
	    host_page_server_addr(b, &addr_b) == 0 ||
	    host_addr_is_any(&addr_a) || host_addr_is_any(&addr_b))
		return true;
	if (addr_a.ss_family != addr_b.ss_family)
		return false;
	a4 = (const struct sockaddr_in *)&addr_a;
	b4 = (const struct sockaddr_in *)&addr_b;
	if (addr_a.ss_family == AF_INET)
		return a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	a6 = (const struct sockaddr_in6 *)&addr_a;
	b6 = (const struct sockaddr_in6 *)&addr_b;
	return IN6_ARE_ADDR_EQUAL(&a6->sin6_addr, &b6->sin6_addr);
}

int
host_check_bind(const struct page_server *server, struct error *err)
{
	struct sockaddr_storage addr;
	socklen_t len = host_page_server_addr(server, &addr);
	int fd, reuse = 1, saved;

	if (len == 0)
		return error_set_field(err, "invalid-params", "page_server",
		    "'%s' is not a numeric IP address", server->address);
	fd = socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return error_set_errno(err, "internal",
		    "create a socket to check the page server's address");
	/* CRIU sets SO_REUSEADDR too (setup_tcp_server() in criu/util.c). */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &reuse, sizeof(reuse));
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
