/* Starting helper processes (CRIU workers and servers) with a clean slate. */
#ifndef CTRD_SPAWN_H
#define CTRD_SPAWN_H

#include <stddef.h>
#include <sys/types.h>

struct error;

/* A descriptor of ctrd's that the child gets at a fixed number. */
struct spawn_fd {
	int fd;			/* ctrd's descriptor */
	int child_fd;		/* number in the child, >= 3 */
};

/*
 * Fork and exec `argv` as a new session.  The child gets /dev/null on stdin
 * and stdout, `stderr_fd` (or /dev/null when -1) on stderr, the descriptors
 * in `fds` at their child numbers, and nothing else: ctrd's listening
 * socket, client connections and worker sockets stay behind.  Signal
 * dispositions and mask are reset and systemd's LISTEN_* and NOTIFY_SOCKET
 * variables are removed, so neither CRIU nor what it restores mistakes
 * itself for ctrd.  When `dir_fd` is not -1 the child starts in that
 * directory.  Returns the pid once exec succeeded, or -1 with `err` set
 * when fork or exec failed.
 */
pid_t spawn_process(const char *const argv[], const struct spawn_fd *fds,
    size_t fd_count, int stderr_fd, int dir_fd, struct error *err);

#endif
