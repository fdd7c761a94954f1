#define _GNU_SOURCE
#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "criu_rpc.h"
#include "error.h"
#include "log.h"
#include "reaper.h"
#include "spawn.h"
#include "worker.h"

/* Messages read from a worker's socket after it exited, at most. */
#define WORKER_DRAIN_MAX 16

/* The number CRIU's end of the socketpair gets in the worker. */
#define WORKER_CHILD_FD 3

struct worker {
	pid_t pid;
	int fd;			/* ctrd's end, close-on-exec, non-blocking */
	bool warm;
	bool exited;
	bool draining;		/* delivering the last messages at exit */
	bool free_requested;	/* worker_free() was called while draining */
	char version[64];
	struct event *read_event;
	struct reaper *reaper;
	const struct worker_ops *ops;
	void *arg;
};

static void worker_destroy(struct worker *worker);

static void
worker_on_warm_reply(struct worker *worker, CriuResp *resp)
{
	if (resp->type != CRIU_REQ_TYPE__VERSION || !resp->success) {
		log_warning(NULL, "worker %d: unexpected %s reply to VERSION, ignoring",
		    (int)worker->pid, criu_rpc_type_name(resp->type));
		return;
	}
	criu_rpc_format_version(resp, worker->version, sizeof(worker->version));
	worker->warm = true;
	worker->ops->on_warm(worker, worker->arg);
}

static void
worker_on_read(evutil_socket_t fd, short what, void *arg)
{
	struct worker *worker = arg;
	struct error err;
	CriuResp *resp;
	int passed_fd;

	resp = criu_rpc_recv(worker->fd, &passed_fd, &err);
	if (resp == NULL) {
		if (err.sys_errno == EAGAIN)
			return;
		/* EOF or a broken message: the exit callback reports it. */
		log_debug(NULL, "worker %d: %s", (int)worker->pid, err.message);
		event_del(worker->read_event);
		return;
	}
	if (!worker->warm) {
		if (passed_fd != -1)
			close(passed_fd);
		worker_on_warm_reply(worker, resp);
	} else {
		worker->ops->on_message(worker, resp, passed_fd, worker->arg);
	}
	criu_resp__free_unpacked(resp, NULL);
}

static void
worker_on_exit(pid_t pid, int status, void *arg)
{
	struct worker *worker = arg;
	int i;

	/*
	 * SIGCHLD can be handled before the reply CRIU sent just before it
	 * exited: deliver what is still on the socket first.  The owner may
	 * free the worker while handling it; the free then happens here.
	 */
	worker->exited = true;
	worker->draining = true;
	for (i = 0; i < WORKER_DRAIN_MAX && !worker->free_requested &&
	    event_pending(worker->read_event, EV_READ, NULL); i++)
		worker_on_read(worker->fd, EV_READ, worker);
	worker->draining = false;
	if (worker->free_requested) {
		worker_destroy(worker);
		return;
	}
	event_del(worker->read_event);
	worker->ops->on_exit(worker, status, worker->arg);
}

static int
worker_start_process(struct worker *worker, const char *criu_path,
    struct error *err)
{
	const char *argv[] = { criu_path, "--no-default-config", "swrk", "3",
		NULL };
	int pair[2];
	struct spawn_fd child_fd;

	/* Both ends close-on-exec: the child's end is placed by spawn. */
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) == -1)
		return error_set_errno(err, "internal",
		    "create worker socketpair");
	child_fd.fd = pair[1];
	child_fd.child_fd = WORKER_CHILD_FD;
	worker->pid = spawn_process(argv, &child_fd, 1, STDERR_FILENO, -1,
	    err);
	close(pair[1]);
	if (worker->pid == -1) {
		close(pair[0]);
		return -1;
	}
	worker->fd = pair[0];
	if (fcntl(worker->fd, F_SETFL, O_NONBLOCK) == -1)
		return error_set_errno(err, "internal",
		    "make worker socket non-blocking");
	return 0;
}

struct worker *
worker_spawn(struct event_base *base, struct reaper *reaper,
    const char *criu_path, const struct worker_ops *ops, void *arg,
    struct error *err)
{
	struct worker *worker;
	CriuReq req;

	worker = calloc(1, sizeof(*worker));
	if (worker == NULL)
		return error_set_errno(err, "internal", "allocate worker"), NULL;
	worker->fd = -1;
	worker->reaper = reaper;
	worker->ops = ops;
	worker->arg = arg;
	if (worker_start_process(worker, criu_path, err) < 0)
		goto fail;
	if (reaper_watch(reaper, worker->pid, worker_on_exit, worker, err) < 0)
		goto fail;
	worker->read_event = event_new(base, worker->fd, EV_READ | EV_PERSIST,
	    worker_on_read, worker);
	if (worker->read_event == NULL || event_add(worker->read_event,
	    NULL) == -1) {
		error_set(err, "internal", "watch worker socket");
		goto fail;
	}
	criu_rpc_init_version(&req);
	if (worker_send(worker, &req, err) < 0)
		goto fail;
	log_debug(NULL, "worker %d: spawned", (int)worker->pid);
	return worker;
fail:
	if (worker->pid > 1)
		kill(worker->pid, SIGKILL);
	worker_free(worker);
	return NULL;
}

void
worker_set_ops(struct worker *worker, const struct worker_ops *ops,
    void *arg)
{
	worker->ops = ops;
	worker->arg = arg;
}

int
worker_send(struct worker *worker, const CriuReq *req, struct error *err)
{
	return criu_rpc_send(worker->fd, req, err);
}

pid_t
worker_pid(const struct worker *worker)
{
	return worker->pid;
}

bool
worker_is_warm(const struct worker *worker)
{
	return worker->warm;
}

bool
worker_has_exited(const struct worker *worker)
{
	return worker->exited;
}

const char *
worker_criu_version(const struct worker *worker)
{
	return worker->version;
}

void
worker_stop(struct worker *worker)
{
	if (!worker->exited && worker->pid > 1)
		kill(worker->pid, SIGSTOP);
}

/*
 * The worker leads its own process group, because spawn_child() calls
 * setsid(), and CRIU's children stay in it until they take the pgid in the
 * images.  A child that CRIU stopped while probing the kernel stayed
 * stopped after its CRIU was killed, so the whole group is killed.
 */
void
worker_kill(struct worker *worker)
{
	if (worker->exited || worker->pid <= 1)
		return;
	kill(-worker->pid, SIGKILL);
	kill(worker->pid, SIGKILL);
}

static void
worker_destroy(struct worker *worker)
{
	if (!worker->exited && worker->pid > 1)
		reaper_unwatch(worker->reaper, worker->pid);
	if (worker->read_event != NULL)
		event_free(worker->read_event);
	if (worker->fd != -1)
		close(worker->fd);
	free(worker);
}

void
worker_free(struct worker *worker)
{
	if (worker == NULL)
		return;
	if (worker->draining) {
		worker->free_requested = true;
		return;
	}
	worker_destroy(worker);
}
