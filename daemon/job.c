#define _GNU_SOURCE
#include <sys/queue.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "criu_log.h"
#include "criu_rpc.h"
#include "criu_stats.h"
#include "error.h"
#include "event_json.h"
#include "job.h"
#include "history.h"
#include "host.h"
#include "images.h"
#include "job_internal.h"
#include "lazy_pages.h"
#include "log.h"
#include "metrics.h"
#include "pool.h"
#include "proc_tree.h"
#include "reaper.h"
#include "worker.h"

const char *const job_state_names[] = {
	[JOB_QUEUED] = "queued",
	[JOB_LAZY_PAGES] = "lazy-pages",
	[JOB_RESTORING] = "restoring",
	[JOB_RESTORED] = "restored",
	[JOB_DUMPING] = "dumping",
	[JOB_SERVING] = "serving",
	[JOB_EXITED] = "exited",
	[JOB_CHECKPOINTED] = "checkpointed",
	[JOB_FAILED] = "failed",
	[JOB_CANCELED] = "canceled",
	[JOB_INTERRUPTED] = "interrupted",
};

const char *const job_type_names[] = {
	[JOB_TYPE_RESTORE] = "restore",
	[JOB_TYPE_CHECKPOINT] = "checkpoint",
};

static void job_send_restore(struct job *job);
static void job_clear_deadline(struct job *job);
static void jobs_prepare_spare(struct jobs *jobs);
static int job_phase_seconds(const struct job *job,
    const struct job_phase *phase);

void
jobs_notify_changed(struct jobs *jobs)
{
	if (jobs->config.changed != NULL)
		jobs->config.changed(jobs->config.changed_arg);
}


const char *
job_id(const struct job *job)
{
	return job->id;
}

bool
job_is_ended(const struct job *job)
{
	return job->state >= JOB_EXITED;
}

/*
 * Return whether the job uses one of the max_running slots: a restore until
 * its tree runs, a checkpoint until it ends.
 */
bool
job_is_restoring(const struct job *job)
{
	return job->state == JOB_LAZY_PAGES || job->state == JOB_RESTORING ||
	    job->state == JOB_DUMPING || job->state == JOB_SERVING;
}

const char *
job_criu_log(const struct job *job)
{
	return job->type == JOB_TYPE_CHECKPOINT ? JOB_DUMP_LOG :
	    JOB_RESTORE_LOG;
}

/*
 * Record the time the job spent in its last phase as `phase`, and start
 * timing the next one.
 */
static void
job_observe_phase(struct job *job, enum metrics_phase phase)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	metrics_observe(job->jobs->metrics, phase,
	    (double)(now.tv_sec - job->phase_start.tv_sec) +
	    (double)(now.tv_nsec - job->phase_start.tv_nsec) / 1e9);
	job->phase_start = now;
}

/* Fill `ctx` for a record about `job` entering `phase`. */
static void
job_log_context(const struct job *job, const char *phase,
    struct log_context *ctx)
{
	ctx->job = job->id;
	ctx->phase = phase;
	ctx->peer_uid = job->peer.uid == (uid_t)-1 ? -1 :
	    (long long)job->peer.uid;
}

/* The only writer of job->state; logs every change once. */
void
job_set_state(struct job *job, enum job_state state, const char *detail)
{
	struct log_context ctx;

	job_log_context(job, job_state_names[state], &ctx);
	log_write_context(LOG_LEVEL_INFO, &ctx, "%s -> %s%s%s",
	    job_state_names[job->state], job_state_names[state],
	    detail[0] != '\0' ? " " : "", detail);
	job->state = state;
	job_record(job);
	jobs_notify_changed(job->jobs);
}

void
job_record(const struct job *job)
{
	json_t *record;

	if (job->jobs->history == NULL)
		return;
	record = job_to_record(job);
	if (record == NULL) {
		log_warning(job->id, "job history: out of memory, a record is missing");
		return;
	}
	history_append(job->jobs->history, record);
	json_decref(record);
}

/* Send `event` (consumed) to every watcher. */
void
job_emit(struct job *job, json_t *event)
{
	struct job_watch *watch, *next;
	bool last = job_is_ended(job);

	if (event == NULL)
		return;
	for (watch = TAILQ_FIRST(&job->watches); watch != NULL; watch = next) {
		next = TAILQ_NEXT(watch, entry);
		watch->fn(event, last, watch->arg);
		if (last) {
			TAILQ_REMOVE(&job->watches, watch, entry);
			free(watch);
		}
	}
	json_decref(event);
}

json_t *
job_event(const struct job *job, const char *name)
{
	return event_json_new(name, job->id);
}

/* Release everything a job held while it ran; keep what status shows. */
static void
job_release(struct job *job)
{
	struct jobs *jobs = job->jobs;

	if (job->worker != NULL) {
		worker_kill(job->worker);
		worker_free(job->worker);
		job->worker = NULL;
		pool_release(jobs->pool);
	}
	if (job->lazy != NULL) {
		lazy_pages_kill(job->lazy);
		lazy_pages_free(job->lazy);
		job->lazy = NULL;
	}
	if (job->watchdog != NULL) {
		event_free(job->watchdog);
		job->watchdog = NULL;
	}
	if (job->deadline != NULL) {
		event_free(job->deadline);
		job->deadline = NULL;
	}
	job_release_adopted(job);
	/* A killed lazy-pages server leaves its socket behind. */
	if (job->work_fd != -1)
		unlinkat(job->work_fd, LAZY_PAGES_SOCKET, 0);
	if (job->images_fd != -1) {
		close(job->images_fd);
		job->images_fd = -1;
	}
	if (job->work_fd != -1) {
		close(job->work_fd);
		job->work_fd = -1;
	}
}

/*
 * Let go of a job's processes when ctrd stops.  A lazy-pages server is left
 * running, because killing it would turn every page it has not copied yet
 * into zeros in the restored tree.  It exits on its own once done.  A worker
 * whose socket closes mid-restore fails the restore, and CRIU then removes
 * the half-restored tree.
 */
static void
job_detach(struct job *job)
{
	if (job->worker != NULL) {
		worker_free(job->worker);
		job->worker = NULL;
		pool_release(job->jobs->pool);
	}
	if (job->lazy != NULL) {
		log_notice(job->id, "leaving lazy-pages server %d running",
		    (int)lazy_pages_pid(job->lazy));
		lazy_pages_free(job->lazy);
		job->lazy = NULL;
	}
	if (job->watchdog != NULL)
		event_free(job->watchdog);
	if (job->deadline != NULL)
		event_free(job->deadline);
	if (job->images_fd != -1)
		close(job->images_fd);
	if (job->work_fd != -1)
		close(job->work_fd);
}

/* Stop watching an adopted root through its pidfd. */
void
job_release_adopted(struct job *job)
{
	if (job->adopted_exit == NULL)
		return;
	close(event_get_fd(job->adopted_exit));
	event_free(job->adopted_exit);
	job->adopted_exit = NULL;
}

void
job_free(struct job *job)
{
	job_release_adopted(job);
	json_decref(job->json_cache);
	json_decref(job->error);
	free(job->cancel_reason);
	free(job->images_dir);
	free(job);
}

/*
 * Forget the jobs that ended longest ago beyond max_history, and remove
 * their work dirs with CRIU's logs, which would fill the disk.  It runs from
 * the loop, never inside a request, so a job that just ended stays valid
 * for the reply that reports it.
 */
static void
job_trim_history(struct jobs *jobs)
{
	struct job *job;

	while (jobs->ended > jobs->config.max_history &&
	    (job = TAILQ_FIRST(&jobs->ended_jobs)) != NULL) {
		TAILQ_REMOVE(&jobs->ended_jobs, job, ended_entry);
		TAILQ_REMOVE(&jobs->all, job, all_entry);
		jobs->ended--;
		jobs_remove_work_dir(jobs, job->id);
		job_free(job);
	}
}

/* Move the job to an ending state and tell its watchers with `event`. */
void
job_end(struct job *job, enum job_state state, json_t *event,
    const char *detail)
{
	struct jobs *jobs = job->jobs;
	bool was_running = job_is_restoring(job);

	if (job->state == JOB_QUEUED)
		TAILQ_REMOVE(&jobs->queue, job, queue_entry);
	clock_gettime(CLOCK_REALTIME, &job->ended);
	if (job->pid > 1 && !job->root_exited)
		reaper_unwatch(jobs->reaper, job->pid);
	job_release(job);
	metrics_count_ended(jobs->metrics, job_state_names[state],
	    json_string_value(json_object_get(job->error, "code")));
	job_set_state(job, state, detail);
	if (was_running)
		jobs->running--;
	jobs->ended++;
	TAILQ_INSERT_TAIL(&jobs->ended_jobs, job, ended_entry);
	job_emit(job, event);
	event_active(jobs->dispatch_event, EV_TIMEOUT, 0);
}

/* Return whether the job's pid still names the process it restored. */
static bool
job_is_same_process(const struct job *job)
{
	unsigned long long start;
	pid_t parent;

	return proc_tree_read_stat(job->pid, &parent, &start) == 0 &&
	    start == job->pid_start;
}

/*
 * Kill the job's restored tree.  Before CRIU reports the root's pid, the
 * root is the child of ctrd that the job's worker ptraces.  The worker is
 * stopped first, so it cannot resume or release the tree meanwhile; the
 * caller then kills it.  Once the worker is gone, the root is the child of
 * ctrd with the image's root pid that started after the job did.
 *
 * NOTE: a root forked but not yet seized by the worker (a window of a few
 * instructions in CRIU's restore_root_task()) is not found, and survives
 * as a child of ctrd until it exits.
 */
static void
job_kill_tree(struct job *job)
{
	pid_t root = job->pid;

	/*
	 * A dumped tree is not ctrd's to kill.  Killing its CRIU worker
	 * releases it: the kernel detaches a tracer's tracees when it dies, and
	 * CRIU's parasite code, if it is inside the tree, returns to the
	 * interrupted code once its control socket closes (compel's
	 * parasite_daemon() in CRIU 4.2).
	 *
	 * NOTE: when a dump is canceled or times out mid-dump, the parasite's
	 * memory mapping stays in each process of the tree, because only CRIU
	 * unmaps it.  The tree runs on with a few unused pages mapped.
	 */
	if (job->type == JOB_TYPE_CHECKPOINT)
		return;
	if (root <= 1 && job->worker != NULL) {
		worker_stop(job->worker);
		root = proc_tree_find_traced_child(worker_pid(job->worker));
	}
	/* A worker that died mid-restore left the root untraced. */
	if (root <= 1 && job->state == JOB_RESTORING &&
	    reaper_is_watched(job->jobs->reaper, job->image_pid) == false &&
	    proc_tree_is_new_child(job->image_pid, &job->started_boottime))
		root = job->image_pid;
	if (root <= 1 || (root == job->pid && job->root_exited))
		return;
	if (job->adopted && !job_is_same_process(job))
		return;
	log_info(job->id, "killing restored tree of pid %d, %d processes",
	    (int)root, proc_tree_kill(root));
}

/*
 * Fail the job: kill the worker, the lazy-pages server and the restored
 * tree, because a tree whose lazy-pages server is gone reads zeros for every
 * page not yet copied.
 */
void
job_fail(struct job *job, const char *code, const char *message,
    json_t *log_lines)
{
	char detail[ERROR_MESSAGE_MAX + 64];
	json_t *event;

	if (job_is_ended(job)) {
		json_decref(log_lines);
		return;
	}
	job_kill_tree(job);
	if (log_lines == NULL)
		log_lines = json_array();
	job->error = json_pack("{s:s, s:s, s:O}", "code", code, "message",
	    message, "log", log_lines);
	event = job_event(job, "failed");
	if (job->fail_phase != NULL) {
		json_object_set_new(job->error, "phase",
		    json_string(job->fail_phase));
		json_object_set_new(event, "phase",
		    json_string(job->fail_phase));
	}
	json_object_set_new(event, "code", json_string(code));
	json_object_set_new(event, "message", json_string(message));
	json_object_set_new(event, "log", log_lines);
	snprintf(detail, sizeof(detail), "code=%s: %s", code, message);
	job_end(job, JOB_FAILED, event, detail);
}

/*
 * Phase deadlines.  CRIU has no timeout of its own, so each phase of a job
 * gets a one-shot timer.  Expiry fails the job with code timeout and the
 * phase named, which kills the worker, the lazy-pages server and any
 * restored tree.  A checkpoint's dump shares restore_timeout, and its page
 * transfer pages_timeout, with restores.
 */

static const struct job_phase job_phase_queued = { "queued",
	"queue_timeout", "no CRIU worker took the job" };
static const struct job_phase job_phase_lazy_pages = { "lazy-pages",
	"lazy_pages_timeout", "the lazy-pages server did not listen" };
static const struct job_phase job_phase_restoring = { "restoring",
	"restore_timeout", "the restore did not finish" };
static const struct job_phase job_phase_pages = { "pages",
	"pages_timeout", "the lazy pages did not all arrive" };
const struct job_phase job_phase_dumping = { "dumping",
	"restore_timeout", "the dump did not finish" };
const struct job_phase job_phase_serving = { "serving",
	"pages_timeout", "the destination did not pull every page" };

/* The deadline of `phase` under the current config, in seconds. */
static int
job_phase_seconds(const struct job *job, const struct job_phase *phase)
{
	const struct jobs_config *config = &job->jobs->config;

	if (phase == &job_phase_queued)
		return config->queue_timeout;
	if (phase == &job_phase_lazy_pages)
		return config->lazy_pages_timeout;
	if (phase == &job_phase_restoring || phase == &job_phase_dumping)
		return config->restore_timeout;
	return config->pages_timeout;
}

static void
job_on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct job *job = arg;
	char message[PATH_MAX + 160];

	snprintf(message, sizeof(message),
	    "%s within %d s (%s); CRIU's logs are in %s", job->phase->what,
	    job->deadline_seconds, job->phase->key,
	    job->work_dir);
	job->fail_phase = job->phase->name;
	job_fail(job, "timeout", message, NULL);
}

void
job_set_deadline(struct job *job, const struct job_phase *phase)
{
	struct timeval timeout = { job_phase_seconds(job, phase), 0 };

	if (job->deadline == NULL)
		job->deadline = evtimer_new(job->jobs->base, job_on_deadline,
		    job);
	if (job->deadline == NULL) {
		log_warning(job->id, "start the %s deadline: out of memory, continuing without it",
		    phase->name);
		return;
	}
	evtimer_del(job->deadline);
	job->phase = phase;
	job->deadline_seconds = (int)timeout.tv_sec;
	if (timeout.tv_sec > 0)
		evtimer_add(job->deadline, &timeout);
}

static void
job_clear_deadline(struct job *job)
{
	if (job->deadline != NULL)
		evtimer_del(job->deadline);
}

void
job_fail_from_log(struct job *job, const char *name, const char *code,
    const char *what)
{
	struct criu_log_cause cause;
	char message[sizeof(cause.message) + 128];

	if (job->work_fd == -1) {
		job_fail(job, code != NULL ? code : "restore-failed", what, NULL);
		return;
	}
	criu_log_explain_file(job->work_fd, name, &cause);
	/* The log's catch-all code names a restore. */
	if (code == NULL && job->type == JOB_TYPE_CHECKPOINT &&
	    strcmp(cause.code, "restore-failed") == 0)
		code = "dump-failed";
	if (cause.found)
		snprintf(message, sizeof(message), "%s: %s", what,
		    cause.message);
	else
		snprintf(message, sizeof(message), "%s", what);
	job_fail(job, code != NULL ? code : cause.code, message,
	    json_incref(cause.lines));
	criu_log_cause_clear(&cause);
}

static void
job_emit_pages_complete(struct job *job)
{
	json_t *event = job_event(job, "pages-complete");

	if (job->pages_total >= 0)
		json_object_set_new(event, "pages", json_pack("{s:I, s:I}",
		    "copied", (json_int_t)job->pages_copied,
		    "total", (json_int_t)job->pages_total));
	log_info(job->id, "lazy pages complete, %ld of %ld pages copied",
	    job->pages_copied, job->pages_total);
	job_emit(job, event);
}

/* Read the page counts the lazy-pages server logged before exiting. */
static void
job_count_lazy_pages(struct job *job)
{
	job->pages_copied = -1;
	job->pages_total = -1;
	if (criu_log_count_lazy_pages(job->work_fd, LAZY_PAGES_LOG,
	    &job->pages_copied, &job->pages_total) <= 0) {
		job->pages_copied = -1;
		job->pages_total = -1;
	}
}

/*
 * Return whether the job's lazy-pages server has exited with pages still
 * to copy.  A tree that faults on a page its dead server never sends dies,
 * and its exit can reach ctrd before the server's: the server, not the
 * tree, is then the cause.  WNOWAIT leaves the server to the reaper.
 */
static bool
job_lazy_server_died(const struct job *job)
{
	siginfo_t info = { 0 };
	pid_t server;

	if (job->lazy == NULL || job->pages_complete)
		return false;
	server = lazy_pages_pid(job->lazy);
	if (server <= 1 || waitid(P_PID, (id_t)server, &info,
	    WEXITED | WNOHANG | WNOWAIT) == -1)
		return false;
	return info.si_pid == server;
}

static void
job_on_root_exit(pid_t pid, int status, void *arg)
{
	struct job *job = arg;
	char desc[64];
	json_t *event;

	job->root_exited = true;
	job->root_status = status;
	if (job->state != JOB_RESTORED)
		return;		/* reported with the RESTORE reply */
	if (job_lazy_server_died(job)) {
		job_fail_from_log(job, LAZY_PAGES_LOG, "lazy-pages-failed",
		    "the lazy-pages server exited before copying every page, and the restored tree died without them");
		return;
	}
	event = job_event(job, "exited");
	json_object_set_new(event, "pid", json_integer(pid));
	if (WIFEXITED(status))
		json_object_set_new(event, "code",
		    json_integer(WEXITSTATUS(status)));
	else if (WIFSIGNALED(status))
		json_object_set_new(event, "signal",
		    json_integer(WTERMSIG(status)));
	reaper_describe_status(status, desc, sizeof(desc));
	job_end(job, JOB_EXITED, event, desc);
}

/* Learn the restored root's pid and reap it when it exits. */
static void
job_set_pid(struct job *job, pid_t pid)
{
	struct error err;

	pid_t parent;

	if (pid <= 1 || job->pid == pid)
		return;
	job->pid = pid;
	/* With the pid, the start time names the process after a restart. */
	if (proc_tree_read_stat(pid, &parent, &job->pid_start) < 0)
		job->pid_start = 0;
	if (reaper_watch(job->jobs->reaper, pid, job_on_root_exit, job,
	    &err) < 0)
		log_warning(job->id, "watch restored pid %d: %s, continuing",
		    (int)pid, err.message);
}

/*
 * Read CRIU's statistics of the restore from the job's work dir.  They are
 * informational, so a missing or damaged file only logs a warning.  They
 * stay out of status and metrics until the job is restored.
 */
static void
job_read_criu_stats(struct job *job)
{
	struct error err;

	if (criu_stats_read(job->work_fd, &job->criu_stats, &err) < 0) {
		log_warning(job->id, "no CRIU restore statistics: %s, continuing",
		    err.message);
		return;
	}
	job->criu_stats_read = true;
}

/* Publish the statistics in status and metrics, reading them if needed. */
static void
job_publish_criu_stats(struct job *job)
{
	if (!job->criu_stats_read)
		job_read_criu_stats(job);
	if (!job->criu_stats_read)
		return;
	job->has_criu_stats = true;
	metrics_observe_criu(job->jobs->metrics, &job->criu_stats);
}

static void
job_on_notify(struct job *job, const CriuResp *resp)
{
	const CriuNotify *notify = resp->notify;
	struct error err;
	json_t *event;
	CriuReq ack;

	/*
	 * CRIU blocks until the acknowledgement, with no RPC timeout, so it
	 * goes first.  The pid is still taken before the loop can reap it.
	 */
	criu_rpc_init_notify_ack(&ack, true);
	if (worker_send(job->worker, &ack, &err) < 0)
		log_warning(job->id, "acknowledge CRIU notify: %s, continuing",
		    err.message);
	event = job_event(job, "notify");
	if (notify != NULL && notify->script != NULL)
		json_object_set_new(event, "name",
		    json_string(notify->script));
	if (notify != NULL && notify->has_pid && notify->pid > 0) {
		json_object_set_new(event, "pid", json_integer(notify->pid));
		job_set_pid(job, notify->pid);
	}
	/*
	 * CRIU writes stats-restore before it runs the post-resume scripts
	 * (restore_root_task() in CRIU 4.2's criu/cr-restore.c).  Reading it
	 * here overlaps with CRIU preparing its reply.
	 */
	if (notify != NULL && notify->script != NULL &&
	    strcmp(notify->script, "post-resume") == 0 && !job->criu_stats_read)
		job_read_criu_stats(job);
	log_debug(job->id, "CRIU notify %s", notify != NULL &&
	    notify->script != NULL ? notify->script : "(unnamed)");
	job_emit(job, event);
}

static void
job_on_restored(struct job *job, pid_t pid)
{
	char detail[32];
	json_t *event;

	job_observe_phase(job, METRICS_RESTORE);
	metrics_count_restored(job->jobs->metrics);
	/* Before the state change, so the history record keeps them. */
	job_publish_criu_stats(job);
	job_set_pid(job, pid);
	clock_gettime(CLOCK_REALTIME, &job->restored);
	snprintf(detail, sizeof(detail), "pid=%d", (int)job->pid);
	job_set_state(job, JOB_RESTORED, detail);
	if (job->options.lazy_pages && !job->pages_complete)
		job_set_deadline(job, &job_phase_pages);
	else
		job_clear_deadline(job);
	if (job->watchdog != NULL && job->lazy == NULL)
		event_del(job->watchdog);
	job->jobs->running--;
	event_active(job->jobs->dispatch_event, EV_TIMEOUT, 0);
	event = job_event(job, "restored");
	json_object_set_new(event, "pid", json_integer(job->pid));
	job_emit(job, event);
	if (job->pages_complete) {
		job_observe_phase(job, METRICS_PAGES_COMPLETE);
		job_emit_pages_complete(job);
	}
	if (job->root_exited)
		job_on_root_exit(job->pid, job->root_status, job);
}

static void
job_on_reply(struct job *job, const CriuResp *resp)
{
	pid_t pid = resp->restore != NULL ? resp->restore->pid : -1;

	job->replied = true;
	if (resp->type != CRIU_REQ_TYPE__RESTORE) {
		job_fail(job, "restore-failed",
		    "CRIU sent an unexpected reply to RESTORE", NULL);
		return;
	}
	/* A failed reply may still carry a pid, or -1: trust only success. */
	if (!resp->success || pid <= 1) {
		job_fail_from_log(job, JOB_RESTORE_LOG, NULL, "restore failed");
		return;
	}
	job_on_restored(job, pid);
}

static void
job_on_worker_message(struct worker *worker, const CriuResp *resp, int fd,
    void *arg)
{
	struct job *job = arg;

	if (fd != -1)
		close(fd);	/* orphan-pts-master: not requested */
	if (job_is_ended(job))
		return;
	if (job->type == JOB_TYPE_CHECKPOINT)
		job_checkpoint_on_message(job, resp);
	else if (resp->type == CRIU_REQ_TYPE__NOTIFY)
		job_on_notify(job, resp);
	else
		job_on_reply(job, resp);
}

static void
job_on_worker_exit(struct worker *worker, int status, void *arg)
{
	struct job *job = arg;
	char desc[64], message[128];

	reaper_describe_status(status, desc, sizeof(desc));
	log_debug(job->id, "worker %d exited: %s", (int)worker_pid(worker),
	    desc);
	worker_free(worker);
	job->worker = NULL;
	pool_release(job->jobs->pool);
	if (job->replied || job_is_ended(job))
		return;
	snprintf(message, sizeof(message),
	    "CRIU worker exited before replying (%s)", desc);
	job_fail_from_log(job, job_criu_log(job), "worker-died", message);
}

static void
job_on_warm(struct worker *worker, void *arg)
{
}

static const struct worker_ops job_worker_ops = {
	.on_warm = job_on_warm,
	.on_message = job_on_worker_message,
	.on_exit = job_on_worker_exit,
};

static void
job_on_lazy_ready(struct lazy_pages *server, void *arg)
{
	struct job *job = arg;
	json_t *event;

	job_observe_phase(job, METRICS_LAZY_PAGES_READY);
	event = job_event(job, "lazy-pages-ready");
	json_object_set_new(event, "server_pid",
	    json_integer(lazy_pages_pid(server)));
	log_info(job->id, "lazy-pages server %d ready",
	    (int)lazy_pages_pid(server));
	job_emit(job, event);
	job_send_restore(job);
}

/*
 * Describe a lazy-pages server that exited early.  A remote one that exits
 * with an error most often lost its page server, which it reaches only
 * once the restore connects, so the message names where it fetched pages
 * from.  One killed by a signal was stopped from outside, and the page
 * server is named without blame.
 */
static void
job_lazy_exit_message(const struct job *job, int status, const char *desc,
    char *buf, size_t size)
{
	const struct page_server *remote = &job->options.page_server;

	if (remote->port == 0) {
		snprintf(buf, size,
		    "lazy-pages server exited before copying every page (%s)",
		    desc);
		return;
	}
	if (WIFSIGNALED(status)) {
		snprintf(buf, size,
		    "lazy-pages server was killed before copying every page (%s); it fetched pages from the page server at %s port %d",
		    desc, remote->address, remote->port);
		return;
	}
	snprintf(buf, size,
	    "lazy-pages server exited before copying every page (%s); it fetched pages from the page server at %s port %d, which could not be reached or stopped serving: check that the checkpoint job there is serving and that this host can connect to it",
	    desc, remote->address, remote->port);
}

static void
job_on_lazy_exit(struct lazy_pages *server, int status, void *arg)
{
	struct job *job = arg;
	char desc[64], message[PAGE_SERVER_ADDRESS_MAX + 320];

	lazy_pages_free(server);
	job->lazy = NULL;
	jobs_notify_changed(job->jobs);
	if (job_is_ended(job))
		return;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
	    job->state != JOB_LAZY_PAGES) {
		job->pages_complete = true;
		/*
		 * A small tree's pages can all arrive before CRIU's reply:
		 * job_on_restored() then reports them, and the restore's
		 * deadline stays armed until the reply.
		 */
		if (job->state == JOB_RESTORED) {
			job_observe_phase(job, METRICS_PAGES_COMPLETE);
			job_clear_deadline(job);
		}
		job_count_lazy_pages(job);
		job_record(job);
		if (job->state == JOB_RESTORED)
			job_emit_pages_complete(job);
		return;
	}
	reaper_describe_status(status, desc, sizeof(desc));
	job_lazy_exit_message(job, status, desc, message, sizeof(message));
	job_fail_from_log(job, LAZY_PAGES_LOG, "lazy-pages-failed", message);
}

/* Report page-transfer progress once the tree runs, before it ends. */
static void
job_on_lazy_progress(struct lazy_pages *server, long copied, long total,
    void *arg)
{
	struct job *job = arg;
	json_t *event;

	job->pages_copied = copied;
	job->pages_total = total;
	if (job->state != JOB_RESTORED)
		return;
	event = job_event(job, "pages-progress");
	json_object_set_new(event, "pages", json_pack("{s:I, s:I}",
	    "copied", (json_int_t)copied, "total", (json_int_t)total));
	job_emit(job, event);
}

static const struct lazy_pages_ops job_lazy_ops = {
	.on_ready = job_on_lazy_ready,
	.on_exit = job_on_lazy_exit,
	.on_progress = job_on_lazy_progress,
};

static void
job_fill_opts(const struct job *job, CriuOpts *opts)
{
	criu_opts__init(opts);
	opts->images_dir_fd = job->images_fd;
	opts->has_work_dir_fd = true;
	opts->work_dir_fd = job->work_fd;
	opts->log_file = JOB_RESTORE_LOG;
	opts->has_log_level = true;
	opts->log_level = job->options.log_level;
	/* The root becomes ctrd's child, so ctrd can reap it. */
	opts->has_rst_sibling = true;
	opts->rst_sibling = true;
	opts->has_notify_scripts = true;
	opts->notify_scripts = true;
	opts->has_lazy_pages = true;
	opts->lazy_pages = job->options.lazy_pages;
	opts->has_tcp_established = true;
	opts->tcp_established = job->options.tcp_established;
	opts->has_ext_unix_sk = true;
	opts->ext_unix_sk = job->options.ext_unix_sk;
	opts->has_shell_job = true;
	opts->shell_job = job->options.shell_job;
	opts->has_file_locks = true;
	opts->file_locks = job->options.file_locks;
}

/*
 * Check the image's pids again right before CRIU runs, because the job
 * waited in the queue, or for its lazy-pages server, since they were
 * checked at submit.
 */
static int
job_check_pids(const struct job *job, struct error *err)
{
	struct images_set set;
	int ret;

	if (images_check(job->images_fd, &set, err) < 0)
		return -1;
	ret = host_check_pids_free(set.pids, set.pid_count, err);
	images_set_clear(&set);
	return ret;
}

static int
job_send_restore_request(struct job *job, struct error *err)
{
	CriuOpts opts;
	CriuReq req;

	job_fill_opts(job, &opts);
	criu_req__init(&req);
	req.type = CRIU_REQ_TYPE__RESTORE;
	req.opts = &opts;
	return worker_send(job->worker, &req, err);
}

static void
job_send_restore(struct job *job)
{
	struct error err;
	int sent;

	if (job->waited && job_check_pids(job, &err) < 0) {
		job_set_state(job, JOB_RESTORING, "");
		job_fail(job, err.code, err.message, NULL);
		return;
	}
	/*
	 * The state change, with its log line and history record, follows the
	 * send, so CRIU starts without waiting for them.  CRIU's first message
	 * is read in a later turn of the loop.
	 */
	sent = job->restore_sent ? 0 : job_send_restore_request(job, &err);
	job_set_state(job, JOB_RESTORING, "");
	job_set_deadline(job, &job_phase_restoring);
	if (sent < 0)
		job_fail(job, "worker-died", err.message, NULL);
}

/* Return the size of `name` in the job's work dir, or 0. */
static long long
job_log_size(const struct job *job, const char *name)
{
	struct stat st;

	if (fstatat(job->work_fd, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return 0;
	return (long long)st.st_size;
}

/*
 * A CRIU stuck in a loop (as on a truncated pages image) logs at tens of
 * MB/s.  While CRIU runs for the job, fail it when its logs outgrow the
 * cap.
 */
static void
job_on_watchdog(evutil_socket_t fd, short what, void *arg)
{
	struct job *job = arg;
	const struct jobs_config *config = &job->jobs->config;
	char message[256];
	long long size;

	if (!job_is_restoring(job) && job->lazy == NULL)
		return;
	size = job_log_size(job, job_criu_log(job)) +
	    job_log_size(job, LAZY_PAGES_LOG);
	if (size <= config->max_log_bytes)
		return;
	snprintf(message, sizeof(message),
	    "CRIU's logs grew past %lld bytes (max_log_bytes) before the job finished; CRIU is likely stuck on a damaged image",
	    config->max_log_bytes);
	job_fail_from_log(job, job_criu_log(job), "log-limit", message);
}

static void
job_start_watchdog(struct job *job)
{
	struct timeval interval = { 1, 0 };

	job->watchdog = event_new(job->jobs->base, -1, EV_PERSIST,
	    job_on_watchdog, job);
	if (job->watchdog == NULL || event_add(job->watchdog, &interval) == -1)
		log_warning(job->id, "start the log size watchdog: out of memory, continuing without it");
}

static void
job_start(struct job *job, struct worker *worker)
{
	struct jobs *jobs = job->jobs;
	struct error err;
	json_t *event;
	char detail[64];

	job->worker = worker;
	worker_set_ops(worker, &job_worker_ops, job);
	job_observe_phase(job, METRICS_QUEUE_WAIT);
	clock_gettime(CLOCK_REALTIME, &job->started);
	clock_gettime(CLOCK_BOOTTIME, &job->started_boottime);
	jobs->running++;
	job_start_watchdog(job);
	snprintf(detail, sizeof(detail), "worker=%d",
	    (int)worker_pid(worker));
	event = job_event(job, "started");
	json_object_set_new(event, "worker_pid",
	    json_integer(worker_pid(worker)));
	if (job->type == JOB_TYPE_CHECKPOINT) {
		job_checkpoint_start(job, detail, event);
		return;
	}
	if (!job->options.lazy_pages) {
		job_emit(job, event);
		job_send_restore(job);
		return;
	}
	job->waited = true;	/* for its lazy-pages server */
	job_set_state(job, JOB_LAZY_PAGES, detail);
	job_set_deadline(job, &job_phase_lazy_pages);
	job_emit(job, event);
	job->lazy = lazy_pages_start(jobs->base, jobs->reaper,
	    &jobs->config, job->images_fd, job->work_fd, &job->options,
	    &job_lazy_ops, job, &err);
	if (job->lazy == NULL)
		job_fail(job, "lazy-pages-failed", err.message, NULL);
}

/*
 * Return whether another restore job in lazy-pages or restoring has the
 * same root pid as `job`.  Two CRIUs that restore the same pids at once
 * clash: one fails, and its cleanup can kill the other's tree.  Roots with
 * pid 1 get a new pid namespace each, so they never clash.
 */
static bool
jobs_is_pid_busy(const struct jobs *jobs, const struct job *job)
{
	const struct job *other;

	if (job->type != JOB_TYPE_RESTORE || job->image_pid <= 1)
		return false;
	TAILQ_FOREACH(other, &jobs->all, all_entry)
		if (other != job && other->type == JOB_TYPE_RESTORE &&
		    other->image_pid == job->image_pid &&
		    (other->state == JOB_LAZY_PAGES ||
		    other->state == JOB_RESTORING))
			return true;
	return false;
}

void
jobs_dispatch(struct jobs *jobs)
{
	struct worker *worker;
	struct job *job;

	/*
	 * A job whose root pid is busy stays at the head of the queue until
	 * the other restore is restored or ends.  It then meets the pid check.
	 */
	while ((job = TAILQ_FIRST(&jobs->queue)) != NULL &&
	    jobs->running < jobs->config.max_running &&
	    !jobs_is_pid_busy(jobs, job)) {
		worker = pool_claim(jobs->pool);
		if (worker == NULL)
			break;
		TAILQ_REMOVE(&jobs->queue, job, queue_entry);
		job_start(job, worker);
	}
	/* The jobs left wait: their pids are checked again when they start. */
	TAILQ_FOREACH(job, &jobs->queue, queue_entry)
		job->waited = true;
	/*
	 * Jobs are waiting, so the replacement workers start now instead of
	 * after the claim delay.  The next job needs one as soon as a restore
	 * ends, and a CRIU took about 4 ms to start in the benchmark runs.
	 */
	if (!TAILQ_EMPTY(&jobs->queue))
		pool_refill_soon(jobs->pool);
}

static void
jobs_on_dispatch(evutil_socket_t fd, short what, void *arg)
{
	job_trim_history(arg);
	jobs_compact_history(arg);
	jobs_dispatch(arg);
	jobs_prepare_spare(arg);
}

static int
jobs_make_id(char id[JOB_ID_LEN + 1], struct error *err)
{
	unsigned char bytes[JOB_ID_LEN / 2];
	size_t i;

	if (getrandom(bytes, sizeof(bytes), 0) != sizeof(bytes))
		return error_set_errno(err, "internal", "generate job id");
	for (i = 0; i < sizeof(bytes); i++)
		snprintf(id + 2 * i, 3, "%02x", bytes[i]);
	return 0;
}

/*
 * Create the work dir of job `id` and return a descriptor of it.  A dir
 * that cannot be opened, as when ctrd is out of descriptors, is removed
 * again, or each retry would leave one more behind.
 */
static int
jobs_make_work_dir(struct jobs *jobs, const char *id, struct error *err)
{
	int fd, saved;

	if (mkdirat(jobs->jobs_dir_fd, id, 0700) == -1)
		return error_set_errno(err, "internal",
		    "create work dir '%s/jobs/%s'", jobs->config.state_dir, id);
	fd = openat(jobs->jobs_dir_fd, id,
	    O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd == -1) {
		saved = errno;
		unlinkat(jobs->jobs_dir_fd, id, AT_REMOVEDIR);
		errno = saved;
		return error_set_errno(err, "internal",
		    "open work dir '%s/jobs/%s'", jobs->config.state_dir, id);
	}
	return fd;
}

/*
 * Make the id and work dir of the next job ahead of time, from the loop.
 * A mkdir on the state dir's file system took 0.07 to 0.36 ms on ext4 in
 * ctrd's benchmark, time that would otherwise come before CRIU starts.
 * A crash leaves the empty dir behind for the next start to remove.
 */
static void
jobs_prepare_spare(struct jobs *jobs)
{
	struct error err;

	if (jobs->spare_fd != -1 || jobs->stopping)
		return;
	if (jobs_make_id(jobs->spare_id, &err) == 0)
		jobs->spare_fd = jobs_make_work_dir(jobs, jobs->spare_id, &err);
	if (jobs->spare_fd == -1)
		log_debug(NULL, "prepare a work dir: %s; the next job makes its own",
		    err.message);
}

/* Give `job` the prepared id and work dir, or new ones. */
static int
jobs_take_work_dir(struct jobs *jobs, struct job *job, struct error *err)
{
	if (jobs->spare_fd != -1) {
		memcpy(job->id, jobs->spare_id, sizeof(job->id));
		job->work_fd = jobs->spare_fd;
		jobs->spare_fd = -1;
		event_active(jobs->dispatch_event, EV_TIMEOUT, 0);
	} else if (jobs_make_id(job->id, err) < 0 ||
	    (job->work_fd = jobs_make_work_dir(jobs, job->id, err)) == -1) {
		return -1;
	}
	snprintf(job->work_dir, sizeof(job->work_dir), "%s/jobs/%s",
	    jobs->config.state_dir, job->id);
	return 0;
}

/* Remove the prepared work dir, which no job uses. */
static void
jobs_drop_spare(struct jobs *jobs)
{
	if (jobs->spare_fd == -1)
		return;
	close(jobs->spare_fd);
	jobs->spare_fd = -1;
	unlinkat(jobs->jobs_dir_fd, jobs->spare_id, AT_REMOVEDIR);
}

bool
jobs_can_queue(const struct jobs *jobs)
{
	struct jobs_counts counts;

	if (jobs->stopping)
		return false;
	jobs_get_counts(jobs, &counts);
	return counts.queued < jobs->config.max_queue;
}

static struct job *
jobs_create_type(struct jobs *jobs, enum job_type type,
    const char *images_dir, int images_fd, pid_t pid,
    const struct job_options *options, const struct ucred *peer,
    struct error *err)
{
	struct job *job;

	job = calloc(1, sizeof(*job));
	if (job == NULL || (job->images_dir = strdup(images_dir)) == NULL) {
		free(job);
		close(images_fd);
		return error_set_errno(err, "internal", "allocate job"), NULL;
	}
	job->jobs = jobs;
	job->type = type;
	job->images_fd = images_fd;
	if (type == JOB_TYPE_CHECKPOINT)
		job->target_pid = pid;
	else
		job->image_pid = pid;
	job->work_fd = -1;
	job->pages_copied = -1;
	job->pages_total = -1;
	job->options = *options;
	job->peer = *peer;
	job->state = JOB_QUEUED;
	TAILQ_INIT(&job->watches);
	clock_gettime(CLOCK_REALTIME, &job->created);
	if (jobs_take_work_dir(jobs, job, err) < 0) {
		close(images_fd);
		if (job->work_fd != -1)
			close(job->work_fd);
		free(job->images_dir);
		free(job);
		return NULL;
	}
	TAILQ_INSERT_TAIL(&jobs->all, job, all_entry);
	return job;
}

struct job *
jobs_create(struct jobs *jobs, const char *images_dir, int images_fd,
    pid_t image_pid, const struct job_options *options,
    const struct ucred *peer, struct error *err)
{
	return jobs_create_type(jobs, JOB_TYPE_RESTORE, images_dir, images_fd,
	    image_pid, options, peer, err);
}

struct job *
jobs_create_checkpoint(struct jobs *jobs, const char *images_dir,
    int images_fd, pid_t pid, unsigned long long start_ticks,
    const struct job_options *options, const struct ucred *peer,
    struct error *err)
{
	struct job *job;

	job = jobs_create_type(jobs, JOB_TYPE_CHECKPOINT, images_dir,
	    images_fd, pid, options, peer, err);
	if (job != NULL)
		job->target_start = start_ticks;
	return job;
}

/* Return whether `a` and `b` are open on the same directory. */
static bool
jobs_is_same_dir(int a, int b)
{
	struct stat st_a, st_b;

	return fstat(a, &st_a) == 0 && fstat(b, &st_b) == 0 &&
	    st_a.st_dev == st_b.st_dev && st_a.st_ino == st_b.st_ino;
}

int
jobs_check_checkpoint_clash(const struct jobs *jobs, int images_fd,
    const struct job_options *options, struct error *err)
{
	const struct job *job;

	TAILQ_FOREACH(job, &jobs->all, all_entry) {
		if (job->type != JOB_TYPE_CHECKPOINT || job_is_ended(job))
			continue;
		if (job->images_fd != -1 &&
		    jobs_is_same_dir(images_fd, job->images_fd))
			return error_set_field(err, "invalid-params",
			    "images_dir",
			    "checkpoint job %s, which has not ended, writes its image set to the same directory '%s'; pass another empty directory",
			    job->id, job->images_dir);
		if (host_page_servers_overlap(&options->page_server,
		    &job->options.page_server))
			return error_set_field(err, "invalid-params",
			    "page_server",
			    "checkpoint job %s, which has not ended, has its page server on %s port %d; pick another port",
			    job->id, job->options.page_server.address,
			    job->options.page_server.port);
	}
	return 0;
}

/*
 * Sending before the job's first record is safe, because CRIU's messages
 * are read in a later turn of the loop, after jobs_enqueue() recorded and
 * started the job.  If ctrd dies before then, the worker loses its socket
 * and CRIU fails the restore when it sends its first notification.
 */
void
jobs_send_early(struct jobs *jobs, struct job *job)
{
	struct worker *worker;
	struct error err;

	if (job->type != JOB_TYPE_RESTORE || job->options.lazy_pages ||
	    !TAILQ_EMPTY(&jobs->queue) || jobs_is_stopping(jobs) ||
	    jobs->running >= jobs->config.max_running ||
	    jobs_is_pid_busy(jobs, job))
		return;
	worker = pool_claim(jobs->pool);
	if (worker == NULL)
		return;
	job->worker = worker;
	worker_set_ops(worker, &job_worker_ops, job);
	if (job_send_restore_request(job, &err) == 0) {
		job->restore_sent = true;
		return;
	}
	/*
	 * The worker died while idle and ctrd has not reaped it yet.  CRIU
	 * received nothing, so the job queues as usual for another worker.
	 */
	log_notice(job->id, "worker %d: %s, so the job waits for another worker",
	    (int)worker_pid(worker), err.message);
	worker_kill(worker);
	worker_free(worker);
	job->worker = NULL;
	pool_release(jobs->pool);
}

void
jobs_enqueue(struct jobs *jobs, struct job *job)
{
	struct log_context ctx;
	struct job *queued;
	json_t *event;
	int position = 1;

	TAILQ_FOREACH(queued, &jobs->queue, queue_entry)
		position++;
	TAILQ_INSERT_TAIL(&jobs->queue, job, queue_entry);
	job_record(job);
	clock_gettime(CLOCK_MONOTONIC, &job->phase_start);
	job_set_deadline(job, &job_phase_queued);
	job_log_context(job, "queued", &ctx);
	log_write_context(LOG_LEVEL_INFO, &ctx,
	    "queued %s pid=%d images_dir='%s' lazy_pages=%d position=%d peer_uid=%d peer_pid=%d",
	    job_type_names[job->type], (int)job->target_pid, job->images_dir,
	    job->options.lazy_pages, position, (int)job->peer.uid,
	    (int)job->peer.pid);
	event = job_event(job, "queued");
	json_object_set_new(event, "position", json_integer(position));
	job_emit(job, event);
	jobs_notify_changed(jobs);
	if (job->worker != NULL) {
		/* jobs_send_early() claimed its worker. */
		TAILQ_REMOVE(&jobs->queue, job, queue_entry);
		job_start(job, job->worker);
		return;
	}
	/* Start it from the loop, never inside the caller's request. */
	event_active(jobs->dispatch_event, EV_TIMEOUT, 0);
}

/* End a job that has not ended as canceled, killing what it started. */
static void
job_end_canceled(struct job *job, const char *reason)
{
	json_t *event;

	job_kill_tree(job);
	job->cancel_reason = strdup(reason);
	event = job_event(job, "canceled");
	json_object_set_new(event, "reason", json_string(reason));
	job_end(job, JOB_CANCELED, event, reason);
}

int
job_cancel(struct job *job, struct error *err)
{
	if (job_is_ended(job))
		return error_set_field(err, "invalid-state", "job",
		    "job '%s' already ended (%s)", job->id,
		    job_state_names[job->state]);
	job_end_canceled(job, "canceled by a client");
	return 0;
}

void
jobs_stop(struct jobs *jobs, const char *reason)
{
	struct job *job;

	jobs->stopping = true;
	jobs_drop_spare(jobs);
	while ((job = TAILQ_FIRST(&jobs->queue)) != NULL)
		job_end_canceled(job, reason);
}

void
jobs_cancel_running(struct jobs *jobs, const char *reason)
{
	struct job *job, *next;

	for (job = TAILQ_FIRST(&jobs->all); job != NULL; job = next) {
		next = TAILQ_NEXT(job, all_entry);
		if (job_is_restoring(job))
			job_end_canceled(job, reason);
	}
}

bool
jobs_is_stopping(const struct jobs *jobs)
{
	return jobs->stopping;
}

bool
jobs_are_busy(const struct jobs *jobs)
{
	const struct job *job;

	TAILQ_FOREACH(job, &jobs->all, all_entry)
		if (job_is_restoring(job) || job->lazy != NULL)
			return true;
	return false;
}

void
jobs_set_limits(struct jobs *jobs, const struct jobs_config *config)
{
	jobs->config.max_running = config->max_running;
	jobs->config.max_history = config->max_history;
	jobs->config.max_queue = config->max_queue;
	jobs->config.queue_timeout = config->queue_timeout;
	jobs->config.lazy_pages_timeout = config->lazy_pages_timeout;
	jobs->config.restore_timeout = config->restore_timeout;
	jobs->config.pages_timeout = config->pages_timeout;
	jobs->config.max_log_bytes = config->max_log_bytes;
	/* A lower max_history or a higher max_running applies at once. */
	event_active(jobs->dispatch_event, EV_TIMEOUT, 0);
}

struct job *
jobs_find(struct jobs *jobs, const char *id)
{
	struct job *job;

	TAILQ_FOREACH(job, &jobs->all, all_entry)
		if (strcmp(job->id, id) == 0)
			return job;
	return NULL;
}

const struct metrics *
jobs_metrics(const struct jobs *jobs)
{
	return jobs->metrics;
}

void
jobs_get_counts(const struct jobs *jobs, struct jobs_counts *counts)
{
	struct job *job;

	memset(counts, 0, sizeof(*counts));
	TAILQ_FOREACH(job, &jobs->all, all_entry) {
		counts->total++;
		if (job->state == JOB_QUEUED)
			counts->queued++;
		else if (!job_is_ended(job))
			counts->active++;
		if (job_is_restoring(job))
			counts->restoring++;
	}
}

struct job_watch *
job_watch_add(struct job *job, job_event_fn *fn, void *arg)
{
	struct job_watch *watch;

	if (job_is_ended(job))
		return NULL;
	watch = calloc(1, sizeof(*watch));
	if (watch == NULL)
		return NULL;
	watch->job = job;
	watch->fn = fn;
	watch->arg = arg;
	TAILQ_INSERT_TAIL(&job->watches, watch, entry);
	return watch;
}

void
job_watch_remove(struct job_watch *watch)
{
	if (watch == NULL)
		return;
	TAILQ_REMOVE(&watch->job->watches, watch, entry);
	free(watch);
}

struct jobs *
jobs_new(struct event_base *base, struct reaper *reaper, struct pool *pool,
    const struct jobs_config *config, struct error *err)
{
	struct jobs *jobs;

	jobs = calloc(1, sizeof(*jobs));
	if (jobs == NULL)
		return error_set_errno(err, "internal", "allocate jobs"), NULL;
	jobs->base = base;
	jobs->reaper = reaper;
	jobs->pool = pool;
	jobs->spare_fd = -1;
	jobs->config = *config;
	TAILQ_INIT(&jobs->all);
	TAILQ_INIT(&jobs->ended_jobs);
	TAILQ_INIT(&jobs->queue);
	if (mkdirat(config->state_dir_fd, "jobs", 0700) == -1 &&
	    errno != EEXIST) {
		free(jobs);
		return error_set_errno(err, "internal", "create '%s/jobs'",
		    config->state_dir), NULL;
	}
	jobs->jobs_dir_fd = openat(config->state_dir_fd, "jobs",
	    O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	jobs->dispatch_event = event_new(base, -1, 0, jobs_on_dispatch, jobs);
	jobs->metrics = metrics_new();
	if (jobs->jobs_dir_fd == -1 || jobs->dispatch_event == NULL ||
	    jobs->metrics == NULL) {
		error_set_errno(err, "internal", "open '%s/jobs'",
		    config->state_dir);
		jobs_free(jobs);
		return NULL;
	}
	return jobs;
}

void
jobs_free(struct jobs *jobs)
{
	struct job_watch *watch;
	struct job *job;

	if (jobs == NULL)
		return;
	while ((job = TAILQ_FIRST(&jobs->all)) != NULL) {
		TAILQ_REMOVE(&jobs->all, job, all_entry);
		if (job->pid > 1 && !job->root_exited)
			reaper_unwatch(jobs->reaper, job->pid);
		/* A restore in flight cannot finish without ctrd's acks. */
		if (job_is_restoring(job)) {
			log_notice(job->id, "interrupted by stop, killing its restore");
			job_kill_tree(job);
			job_release(job);
		} else {
			job_detach(job);
		}
		while ((watch = TAILQ_FIRST(&job->watches)) != NULL) {
			TAILQ_REMOVE(&job->watches, watch, entry);
			free(watch);
		}
		job_free(job);
	}
	jobs_drop_spare(jobs);
	history_free(jobs->history);
	metrics_free(jobs->metrics);
	if (jobs->dispatch_event != NULL)
		event_free(jobs->dispatch_event);
	if (jobs->jobs_dir_fd != -1)
		close(jobs->jobs_dir_fd);
	free(jobs);
}
