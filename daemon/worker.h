/* One `criu swrk` process driven over its SOCK_SEQPACKET socketpair. */
#ifndef CTRD_WORKER_H
#define CTRD_WORKER_H

#include <stdbool.h>
#include <sys/types.h>

#include "criu-rpc.pb-c.h"

struct event_base;
struct error;
struct reaper;
struct worker;

struct worker_ops {
	/* The VERSION reply arrived, so CRIU started and serves requests. */
	void (*on_warm)(struct worker *worker, void *arg);
	/*
	 * A message arrived after warm-up.  `resp` is freed after the call;
	 * `fd` is a descriptor CRIU passed along (or -1), owned by the callee.
	 */
	void (*on_message)(struct worker *worker, const CriuResp *resp,
	    int fd, void *arg);
	/* The worker process was reaped; `status` is the wait status. */
	void (*on_exit)(struct worker *worker, int status, void *arg);
};

/*
 * Start `criu --no-default-config swrk 3` with its end of a fresh socketpair
 * as fd 3 and send it a VERSION request with keep_open, so CRIU's exec and
 * dynamic linking are paid before a job arrives.  --no-default-config keeps
 * /etc/criu/default.conf and $CRIU_CONFIG_FILE from changing any job.
 */
struct worker *worker_spawn(struct event_base *base, struct reaper *reaper,
    const char *criu_path, const struct worker_ops *ops, void *arg,
    struct error *err);

/* Hand the worker's callbacks to a new owner (the pool to a job). */
void worker_set_ops(struct worker *worker, const struct worker_ops *ops,
    void *arg);

int worker_send(struct worker *worker, const CriuReq *req,
    struct error *err);

pid_t worker_pid(const struct worker *worker);
bool worker_is_warm(const struct worker *worker);
bool worker_has_exited(const struct worker *worker);

/* Return CRIU's version as sent in the warm-up reply, e.g. "4.2.1". */
const char *worker_criu_version(const struct worker *worker);

/* Send SIGSTOP to a worker that is still running, freezing its restore. */
void worker_stop(struct worker *worker);

/* Send SIGKILL to a running worker and to its process group. */
void worker_kill(struct worker *worker);

/*
 * Release the worker.  A worker still running gets its socket closed, which
 * makes an idle CRIU exit; its exit is then reaped and logged as an orphan.
 */
void worker_free(struct worker *worker);

#endif
