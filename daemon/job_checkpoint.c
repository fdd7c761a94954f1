/*
 * Checkpoint jobs: the DUMP request to a CRIU worker and its replies.  A
 * lazy dump ends with a page server inside the worker, which keeps the
 * dumped tree frozen and serves its memory to one restore elsewhere.
 */
#define _GNU_SOURCE
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "criu_rpc.h"
#include "error.h"
#include "host.h"
#include "job.h"
#include "job_internal.h"
#include "log.h"
#include "proc_tree.h"
#include "worker.h"

/*
 * The CRIU config file ctrd writes in the job's work dir.  For a lazy dump,
 * CRIU's RPC takes only the page server's port and listens on every
 * interface (setup_opts_from_req() in CRIU 4.2's criu/cr-service.c).  A
 * config file named in the request is applied over the RPC options, and
 * its address setting is honoured.
 */
#define JOB_CHECKPOINT_CONF "page-server.conf"

/*
 * Write the config file with the page server's address.  The address was
 * checked to be numeric, so it cannot carry a second setting.
 */
static int
job_checkpoint_write_conf(const struct job *job, struct error *err)
{
	char text[PAGE_SERVER_ADDRESS_MAX + 16];
	ssize_t written;
	int fd, len;

	len = snprintf(text, sizeof(text), "address %s\n",
	    job->options.page_server.address);
	fd = openat(job->work_fd, JOB_CHECKPOINT_CONF,
	    O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd == -1)
		return error_set_errno(err, "internal", "create '%s/%s'",
		    job->work_dir, JOB_CHECKPOINT_CONF);
	written = write(fd, text, (size_t)len);
	if (close(fd) == -1 || written != len)
		return error_set_errno(err, "internal", "write '%s/%s'",
		    job->work_dir, JOB_CHECKPOINT_CONF);
	return 0;
}

static void
job_checkpoint_fill_tls(const struct job *job, CriuOpts *opts)
{
	const struct jobs_config *config = &job->jobs->config;

	if (!job->options.tls)
		return;
	opts->has_tls = true;
	opts->tls = true;
	opts->tls_cacert = (char *)config->tls_cacert;
	opts->tls_cert = (char *)config->tls_cert;
	opts->tls_key = (char *)config->tls_key;
}

/* Fill the DUMP options; `ps` and `conf` must live until the send. */
static void
job_checkpoint_fill_opts(const struct job *job, CriuOpts *opts,
    CriuPageServerInfo *ps, char *conf, size_t conf_size)
{
	const struct job_options *o = &job->options;

	criu_opts__init(opts);
	opts->images_dir_fd = job->images_fd;
	opts->has_work_dir_fd = true;
	opts->work_dir_fd = job->work_fd;
	opts->log_file = JOB_DUMP_LOG;
	opts->has_log_level = true;
	opts->log_level = o->log_level;
	/* Without a pid CRIU dumps the worker itself. */
	opts->has_pid = true;
	opts->pid = job->target_pid;
	opts->has_leave_running = true;
	opts->leave_running = o->leave_running;
	opts->has_notify_scripts = true;
	opts->notify_scripts = true;
	opts->has_tcp_established = true;
	opts->tcp_established = o->tcp_established;
	opts->has_ext_unix_sk = true;
	opts->ext_unix_sk = o->ext_unix_sk;
	opts->has_shell_job = true;
	opts->shell_job = o->shell_job;
	opts->has_file_locks = true;
	opts->file_locks = o->file_locks;
	opts->has_lazy_pages = true;
	opts->lazy_pages = o->lazy_pages;
	if (o->page_server.port == 0)
		return;
	/*
	 * NOTE: CRIU's page server serves the first client that connects
	 * (run_tcp_server() in CRIU 4.2's criu/util.c accepts one connection).
	 * Without tls, any host that reaches the address and port before the
	 * destination can read the tree's memory.
	 */
	criu_page_server_info__init(ps);
	ps->address = (char *)o->page_server.address;
	ps->has_port = true;
	ps->port = o->page_server.port;
	opts->ps = ps;
	snprintf(conf, conf_size, "%s/%s", job->work_dir, JOB_CHECKPOINT_CONF);
	opts->config_file = conf;
	job_checkpoint_fill_tls(job, opts);
}

/*
 * Check that the job's pid still names the process the client asked for:
 * the same start time, and still one the client may dump.  CRIU dumps
 * whatever process has the pid, and kills it without leave_running, so a
 * pid that another process took after the submit must never reach it.
 * This costs a few reads of /proc, so it runs for every job, not only for
 * those that waited.
 *
 * NOTE: the pid can still change hands between this check and CRIU's
 * seize of it, a window of one message to the worker.  A dump by pidfd,
 * which CRIU's RPC lacks, would close it.
 */
static int
job_checkpoint_check_target(const struct job *job, struct error *err)
{
	unsigned long long start;
	pid_t parent;

	if (proc_tree_read_stat(job->target_pid, &parent, &start) < 0 ||
	    start != job->target_start)
		return error_set_field(err, "not-found", "pid",
		    "process %d exited before the job started, and the pid now names another process or none; submit the checkpoint again with the tree's current pid",
		    (int)job->target_pid);
	return host_check_dumpable(job->target_pid, job->peer.uid, err);
}

/*
 * Remember the job's worker in the history, so that a ctrd restarted after
 * a crash can kill one left serving, which would keep the tree frozen.
 */
static void
job_checkpoint_note_worker(struct job *job)
{
	pid_t parent;

	job->worker_pid = worker_pid(job->worker);
	if (proc_tree_read_stat(job->worker_pid, &parent,
	    &job->worker_start) < 0)
		job->worker_start = 0;
}

void
job_checkpoint_start(struct job *job, const char *detail, json_t *started)
{
	char conf[PATH_MAX + sizeof(JOB_CHECKPOINT_CONF) + 1];
	CriuPageServerInfo ps;
	struct error err;
	CriuOpts opts;
	CriuReq req;

	job_checkpoint_note_worker(job);
	job_set_state(job, JOB_DUMPING, detail);
	job_set_deadline(job, &job_phase_dumping);
	job_emit(job, started);
	if (job_checkpoint_check_target(job, &err) < 0 ||
	    (job->options.page_server.port != 0 &&
	    job_checkpoint_write_conf(job, &err) < 0)) {
		job_fail(job, err.code, err.message, NULL);
		return;
	}
	job_checkpoint_fill_opts(job, &opts, &ps, conf, sizeof(conf));
	criu_req__init(&req);
	req.type = CRIU_REQ_TYPE__DUMP;
	req.opts = &opts;
	if (worker_send(job->worker, &req, &err) < 0)
		job_fail(job, "worker-died", err.message, NULL);
}

/*
 * CRIU's page server listens and every image is written: the status-ready
 * hook, sent right before the server's accept() (status_ready() in CRIU
 * 4.2's criu/util.c).  The restore on the destination may start now.
 */
static void
job_checkpoint_on_serving(struct job *job)
{
	const struct page_server *server = &job->options.page_server;
	char detail[PAGE_SERVER_ADDRESS_MAX + 16];
	json_t *event;

	snprintf(detail, sizeof(detail), "%s port %d", server->address,
	    server->port);
	job_set_state(job, JOB_SERVING, detail);
	job_set_deadline(job, &job_phase_serving);
	event = job_event(job, "page-server-ready");
	json_object_set_new(event, "address", json_string(server->address));
	json_object_set_new(event, "port", json_integer(server->port));
	job_emit(job, event);
}

static void
job_checkpoint_on_notify(struct job *job, const CriuResp *resp)
{
	const char *name = resp->notify != NULL ? resp->notify->script : NULL;
	struct error err;
	json_t *event;
	CriuReq ack;

	log_debug(job->id, "CRIU notify %s", name != NULL ? name :
	    "(unnamed)");
	/* CRIU blocks until the acknowledgement: there is no RPC timeout. */
	criu_rpc_init_notify_ack(&ack, true);
	if (worker_send(job->worker, &ack, &err) < 0)
		log_warning(job->id, "acknowledge CRIU notify: %s, continuing",
		    err.message);
	event = job_event(job, "notify");
	if (name != NULL)
		json_object_set_new(event, "name", json_string(name));
	job_emit(job, event);
	if (name != NULL && strcmp(name, "status-ready") == 0 &&
	    job->options.lazy_pages && job->state == JOB_DUMPING)
		job_checkpoint_on_serving(job);
}

/* The DUMP reply: for a lazy dump, after the last page was served. */
static void
job_checkpoint_on_reply(struct job *job, const CriuResp *resp)
{
	char detail[64];
	json_t *event;

	job->replied = true;
	if (resp->type != CRIU_REQ_TYPE__DUMP) {
		job_fail(job, "dump-failed",
		    "CRIU sent an unexpected reply to DUMP", NULL);
		return;
	}
	if (!resp->success) {
		job_fail_from_log(job, JOB_DUMP_LOG, NULL, "dump failed");
		return;
	}
	/*
	 * NOTE: CRIU's lazy page server takes any close of the connection for
	 * the end of the transfer, and its log shows no difference.  So a
	 * destination lazy-pages server that dies, or whose job is canceled,
	 * mid-transfer also ends here, and without leave_running CRIU has
	 * killed the tree, which is then lost on both hosts.  Only CRIU could
	 * tell the two apart, from the flush message its client sends last.
	 */
	if (job->options.lazy_pages) {
		job->pages_complete = true;
		log_info(job->id, "every page served");
		job_emit(job, job_event(job, "pages-served"));
	}
	event = job_event(job, "checkpointed");
	json_object_set_new(event, "pid", json_integer(job->target_pid));
	json_object_set_new(event, "leave_running",
	    json_boolean(job->options.leave_running));
	snprintf(detail, sizeof(detail), "pid=%d leave_running=%d",
	    (int)job->target_pid, job->options.leave_running);
	job_end(job, JOB_CHECKPOINTED, event, detail);
}

void
job_checkpoint_on_message(struct job *job, const CriuResp *resp)
{
	if (resp->type == CRIU_REQ_TYPE__NOTIFY)
		job_checkpoint_on_notify(job, resp);
	else
		job_checkpoint_on_reply(job, resp);
}
