#define _GNU_SOURCE
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <event2/event.h>

#include "error.h"
#include "lazy_pages.h"
#include "log.h"
#include "reaper.h"
#include "spawn.h"

/* Descriptor numbers in the server process. */
#define LAZY_PAGES_IMAGES_FD 3
#define LAZY_PAGES_STATUS_FD 4

struct lazy_pages {
	pid_t pid;
	bool exited;
	int status_fd;		/* read end of the status pipe, or -1 */
	struct event *status_event;
	struct reaper *reaper;
	const struct lazy_pages_ops *ops;
	void *arg;
};

static void
lazy_pages_close_status(struct lazy_pages *server)
{
	if (server->status_event != NULL) {
		event_free(server->status_event);
		server->status_event = NULL;
	}
	if (server->status_fd != -1) {
		close(server->status_fd);
		server->status_fd = -1;
	}
}

/*
 * CRIU writes one byte to --status-fd after binding lazy-pages.socket and
 * before accept() (status_ready() in criu/util.c).  EOF without that byte
 * means the server died first; its exit callback reports why.
 */
static void
lazy_pages_on_status(evutil_socket_t fd, short what, void *arg)
{
	struct lazy_pages *server = arg;
	char byte;
	ssize_t len;

	len = read(server->status_fd, &byte, 1);
	if (len == -1 && (errno == EINTR || errno == EAGAIN))
		return;
	lazy_pages_close_status(server);
	if (len == 1)
		server->ops->on_ready(server, server->arg);
}

static void
lazy_pages_on_exit(pid_t pid, int status, void *arg)
{
	struct lazy_pages *server = arg;

	server->exited = true;
	server->ops->on_exit(server, status, server->arg);
}

static pid_t
lazy_pages_spawn(const char *criu_path, int images_fd, int work_fd,
    int status_fd, int log_level, struct error *err)
{
	char images_path[64], status_arg[16], verbosity[8];
	const char *argv[] = { criu_path, "--no-default-config", "lazy-pages",
		"-D", images_path, "-W", ".", "--status-fd", status_arg,
		"-o", LAZY_PAGES_LOG, verbosity, NULL };
	struct spawn_fd fds[] = {
		{ images_fd, LAZY_PAGES_IMAGES_FD },
		{ status_fd, LAZY_PAGES_STATUS_FD },
	};

	/* The server opens the images dir ctrd already opened and checked. */
	snprintf(images_path, sizeof(images_path), "/proc/self/fd/%d",
	    LAZY_PAGES_IMAGES_FD);
	snprintf(status_arg, sizeof(status_arg), "%d", LAZY_PAGES_STATUS_FD);
	snprintf(verbosity, sizeof(verbosity), "-v%d", log_level);
	return spawn_process(argv, fds, 2, -1, work_fd, err);
}

struct lazy_pages *
lazy_pages_start(struct event_base *base, struct reaper *reaper,
    const char *criu_path, int images_fd, int work_fd, int log_level,
    const struct lazy_pages_ops *ops, void *arg, struct error *err)
{
	struct lazy_pages *server;
	int pipe_fds[2];

	server = calloc(1, sizeof(*server));
	if (server == NULL)
		return error_set_errno(err, "internal",
		    "allocate lazy-pages server"), NULL;
	server->reaper = reaper;
	server->ops = ops;
	server->arg = arg;
	if (pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) == -1) {
		free(server);
		return error_set_errno(err, "internal",
		    "create lazy-pages status pipe"), NULL;
	}
	server->status_fd = pipe_fds[0];
	server->pid = lazy_pages_spawn(criu_path, images_fd, work_fd,
	    pipe_fds[1], log_level, err);
	close(pipe_fds[1]);
	if (server->pid == -1)
		goto fail;
	if (reaper_watch(reaper, server->pid, lazy_pages_on_exit, server,
	    err) < 0)
		goto fail;
	server->status_event = event_new(base, server->status_fd,
	    EV_READ | EV_PERSIST, lazy_pages_on_status, server);
	if (server->status_event == NULL ||
	    event_add(server->status_event, NULL) == -1) {
		error_set(err, "internal", "watch lazy-pages status pipe");
		goto fail;
	}
	return server;
fail:
	if (server->pid > 1)
		kill(server->pid, SIGKILL);
	lazy_pages_free(server);
	return NULL;
}

pid_t
lazy_pages_pid(const struct lazy_pages *server)
{
	return server->pid;
}

void
lazy_pages_kill(struct lazy_pages *server)
{
	if (!server->exited && server->pid > 1)
		kill(server->pid, SIGKILL);
}

void
lazy_pages_free(struct lazy_pages *server)
{
	if (server == NULL)
		return;
	if (!server->exited && server->pid > 1)
		reaper_unwatch(server->reaper, server->pid);
	lazy_pages_close_status(server);
	free(server);
}
