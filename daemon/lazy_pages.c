#define _GNU_SOURCE
#include <sys/time.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <event2/event.h>

#include "criu_log.h"
#include "error.h"
#include "job.h"
#include "lazy_pages.h"
#include "log.h"
#include "reaper.h"
#include "spawn.h"

/* Descriptor numbers in the server process. */
#define LAZY_PAGES_IMAGES_FD 3
#define LAZY_PAGES_STATUS_FD 4

/* Bytes of the server's log read per progress tick at most. */
#define LAZY_PAGES_PROGRESS_READ_MAX (4 * 1024 * 1024)

struct lazy_pages {
	pid_t pid;
	bool exited;
	int status_fd;		/* read end of the status pipe, or -1 */
	struct event *status_event;
	int work_fd;		/* the job's work dir, for the log */
	int log_fd;		/* LAZY_PAGES_LOG, once it exists */
	off_t log_offset;	/* bytes of the log already scanned */
	struct criu_log_lazy_progress progress;
	long reported_copied;
	struct event *progress_timer;
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

/* Scan what the server logged since the last tick and report progress. */
static void
lazy_pages_on_progress_timer(evutil_socket_t fd, short what, void *arg)
{
	struct lazy_pages *server = arg;
	static char buf[64 * 1024];
	size_t scanned, total = 0;
	ssize_t len;
	long copied;

	if (server->log_fd == -1)
		server->log_fd = openat(server->work_fd, LAZY_PAGES_LOG,
		    O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	while (server->log_fd != -1 && total < LAZY_PAGES_PROGRESS_READ_MAX) {
		len = pread(server->log_fd, buf, sizeof(buf), server->log_offset);
		if (len <= 0)
			break;
		scanned = criu_log_scan_lazy_progress(buf, (size_t)len,
		    &server->progress);
		/* A line longer than the buffer carries no count: skip it. */
		if (scanned == 0)
			scanned = (size_t)len;
		server->log_offset += (off_t)scanned;
		total += scanned;
	}
	copied = server->progress.copied_bytes / 4096;
	if (copied != server->reported_copied &&
	    server->progress.total_pages > 0) {
		server->reported_copied = copied;
		server->ops->on_progress(server, copied,
		    server->progress.total_pages, server->arg);
	}
}

static void
lazy_pages_on_exit(pid_t pid, int status, void *arg)
{
	struct lazy_pages *server = arg;

	server->exited = true;
	if (server->progress_timer != NULL)
		event_del(server->progress_timer);
	server->ops->on_exit(server, status, server->arg);
}

/* Maximum length of the argument list: base, remote and TLS options. */
#define LAZY_PAGES_ARGS_MAX 32

/* Append CRIU's options for fetching pages from a remote page server. */
static void
lazy_pages_remote_args(const struct jobs_config *config,
    const struct job_options *options, char *port, size_t port_size,
    const char **argv, size_t *argc)
{
	if (options->page_server.port == 0)
		return;
	snprintf(port, port_size, "%d", options->page_server.port);
	argv[(*argc)++] = "--page-server";
	argv[(*argc)++] = "--address";
	argv[(*argc)++] = options->page_server.address;
	argv[(*argc)++] = "--port";
	argv[(*argc)++] = port;
	if (!options->tls)
		return;
	argv[(*argc)++] = "--tls";
	argv[(*argc)++] = "--tls-cacert";
	argv[(*argc)++] = config->tls_cacert;
	argv[(*argc)++] = "--tls-cert";
	argv[(*argc)++] = config->tls_cert;
	argv[(*argc)++] = "--tls-key";
	argv[(*argc)++] = config->tls_key;
}

static pid_t
lazy_pages_spawn(const struct jobs_config *config, int images_fd,
    int work_fd, int status_fd, const struct job_options *options,
    struct error *err)
{
	char images_path[64], status_arg[16], verbosity[8], port[8];
	const char *argv[LAZY_PAGES_ARGS_MAX] = { config->criu_path,
		"--no-default-config", "lazy-pages", "-D", images_path, "-W",
		".", "--status-fd", status_arg, "-o", LAZY_PAGES_LOG, verbosity };
	size_t argc = 12;
	struct spawn_fd fds[] = {
		{ images_fd, LAZY_PAGES_IMAGES_FD },
		{ status_fd, LAZY_PAGES_STATUS_FD },
	};

	/* The server opens the images dir ctrd already opened and checked. */
	snprintf(images_path, sizeof(images_path), "/proc/self/fd/%d",
	    LAZY_PAGES_IMAGES_FD);
	snprintf(status_arg, sizeof(status_arg), "%d", LAZY_PAGES_STATUS_FD);
	snprintf(verbosity, sizeof(verbosity), "-v%d", options->log_level);
	lazy_pages_remote_args(config, options, port, sizeof(port), argv,
	    &argc);
	argv[argc] = NULL;
	return spawn_process(argv, fds, 2, -1, work_fd, err);
}

struct lazy_pages *
lazy_pages_start(struct event_base *base, struct reaper *reaper,
    const struct jobs_config *config, int images_fd, int work_fd,
    const struct job_options *options, const struct lazy_pages_ops *ops,
    void *arg, struct error *err)
{
	struct timeval interval = { 0, LAZY_PAGES_PROGRESS_MS * 1000 };
	struct lazy_pages *server;
	int pipe_fds[2];

	server = calloc(1, sizeof(*server));
	if (server == NULL)
		return error_set_errno(err, "internal",
		    "allocate lazy-pages server"), NULL;
	server->log_fd = -1;
	server->work_fd = fcntl(work_fd, F_DUPFD_CLOEXEC, 3);
	server->reaper = reaper;
	server->ops = ops;
	server->arg = arg;
	if (pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) == -1) {
		free(server);
		return error_set_errno(err, "internal",
		    "create lazy-pages status pipe"), NULL;
	}
	server->status_fd = pipe_fds[0];
	server->pid = lazy_pages_spawn(config, images_fd, work_fd, pipe_fds[1],
	    options, err);
	close(pipe_fds[1]);
	if (server->pid == -1)
		goto fail;
	if (reaper_watch(reaper, server->pid, lazy_pages_on_exit, server,
	    err) < 0)
		goto fail;
	server->status_event = event_new(base, server->status_fd,
	    EV_READ | EV_PERSIST, lazy_pages_on_status, server);
	server->progress_timer = event_new(base, -1, EV_PERSIST,
	    lazy_pages_on_progress_timer, server);
	if (server->status_event == NULL || server->progress_timer == NULL ||
	    event_add(server->status_event, NULL) == -1 ||
	    event_add(server->progress_timer, &interval) == -1) {
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
	if (server->progress_timer != NULL)
		event_free(server->progress_timer);
	if (server->log_fd != -1)
		close(server->log_fd);
	if (server->work_fd != -1)
		close(server->work_fd);
	free(server);
}
