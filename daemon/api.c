#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "access.h"
#include "api.h"
#include "config.h"
#include "conn.h"
#include "error.h"
#include "host.h"
#include "images.h"
#include "job.h"
#include "log.h"
#include "metrics.h"
#include "pool.h"
#include "proc_tree.h"
#include "request.h"

struct api {
	struct jobs *jobs;
	struct pool *pool;
	struct api_criu_info criu;
	const struct config *config;
};

/* A method returns its result, or NULL with `err` set. */
typedef json_t *api_method_fn(struct api *api, struct conn *conn,
    const struct request *req, struct error *err);

/* Send {"id": id, "result": result}, consuming `result`. */
static void
api_send_result(struct conn *conn, json_t *id, json_t *result)
{
	json_t *reply = json_pack("{s:O, s:o}", "id", id, "result", result);

	conn_send(conn, reply);
	json_decref(reply);
}

/*
 * Check that CRIU and the kernel, as probed at start, can do `options`,
 * and that ctrd's config has the TLS files a page-server link needs.
 */
static int
api_check_options(const struct api *api,
    const struct job_options *options, struct error *err)
{
	const struct config *config = api->config;

	if (options->tls && (config->tls_cacert == NULL ||
	    config->tls_cert == NULL || config->tls_key == NULL))
		return error_set_field(err, "host-config", "tls",
		    "'tls' needs tls_cacert, tls_cert and tls_key in ctrd's config, and one of them is not set; set all three and restart ctrd, or leave out 'tls'");
	if (options->lazy_pages && !api->criu.lazy_pages)
		return error_set_field(err, "criu-version", "lazy_pages",
		    "lazy_pages needs userfaultfd support from the kernel and CRIU, and CRIU %s reported none when ctrd started; restore without lazy_pages, or make userfaultfd available to CRIU (CONFIG_USERFAULTFD; check with 'criu check --feature uffd-noncoop') and restart ctrd",
		    api->criu.version);
	return 0;
}

/*
 * Check the restore options that CRIU requires for what inventory.img
 * records (check_img_inventory() in CRIU 4.2's criu/image.c).  ctrd sets
 * neither option, so such an image set cannot be restored through it.
 */
static int
api_check_image_options(const struct images_set *set, struct error *err)
{
	if (set->tcp_close)
		return error_set_field(err, "options-mismatch", "images_dir",
		    "inventory.img records a dump with --tcp-close, and CRIU restores it only with tcp_close, which ctrd does not set; dump again without --tcp-close");
	if (set->allow_uprobes)
		return error_set_field(err, "options-mismatch", "images_dir",
		    "inventory.img records a dump with --allow-uprobes, and CRIU restores it only with allow_uprobes, which ctrd does not set; dump again without --allow-uprobes");
	return 0;
}

/*
 * Open the images dir, confined to allowed_image_roots, and check what is
 * known before CRIU runs: a complete image set that CRIU 4.x reads, whose
 * pids are all free on the host.  Returns the descriptor, and the root's
 * pid in `ret_root_pid`.  The descriptor, not the path, goes to CRIU, so
 * the directory cannot be swapped between these checks and the restore.
 */
static int
api_open_images(const struct api *api, const char *path, pid_t *ret_root_pid,
    struct error *err)
{
	struct images_set set;
	int fd, ret;

	fd = access_open_images(api->config, path, err);
	if (fd < 0)
		return -1;
	ret = images_check(fd, &set, err);
	if (ret == 0) {
		ret = api_check_image_options(&set, err);
		if (ret == 0)
			ret = host_check_pids_free(set.pids, set.pid_count,
			    err);
		*ret_root_pid = set.root_pid;
		images_set_clear(&set);
	}
	if (ret < 0) {
		close(fd);
		return error_prefix(err, "images_dir '%s'", path);
	}
	return fd;
}

/* Check that the connection may follow and the queue takes a job. */
static int
api_check_can_queue(const struct api *api, struct conn *conn,
    const struct request *req, struct error *err)
{
	if (req->follow && !conn_can_follow(conn))
		return error_set_field(err, "invalid-request", "follow",
		    "this connection already follows %d jobs; open another connection",
		    CONN_MAX_FOLLOWED);
	if (jobs_is_stopping(api->jobs))
		return error_set(err, "stopping",
		    "ctrd is stopping and accepts no new jobs; retry once it has restarted");
	if (!jobs_can_queue(api->jobs))
		return error_set(err, "queue-full",
		    "the job queue is full; retry once queued jobs have started");
	return 0;
}

/*
 * Reply with the new job, follow it if requested, then queue it.  A job
 * that can start at once gets its RESTORE sent before the reply.
 */
static void
api_submit(struct api *api, struct conn *conn, const struct request *req,
    struct job *job)
{
	jobs_send_early(api->jobs, job);
	/* The reply goes out before the first event of the job. */
	api_send_result(conn, req->id, job_to_json(job));
	if (req->follow && conn_follow(conn, job) < 0)
		log_warning(job_id(job),
		    "follow job: out of memory, continuing without events");
	jobs_enqueue(api->jobs, job);
}

static json_t *
api_restore(struct api *api, struct conn *conn, const struct request *req,
    struct error *err)
{
	struct job *job;
	pid_t image_pid = 0;
	int fd;

	if (access_check_peer(api->config, conn_peer(conn), "restore",
	    err) < 0 || api_check_can_queue(api, conn, req, err) < 0 ||
	    api_check_options(api, &req->options, err) < 0)
		return NULL;
	fd = api_open_images(api, req->images_dir, &image_pid, err);
	if (fd < 0)
		return NULL;
	job = jobs_create(api->jobs, req->images_dir, fd, image_pid,
	    &req->options, conn_peer(conn), err);
	if (job == NULL)
		return NULL;
	api_submit(api, conn, req, job);
	return NULL;
}

/*
 * Open the images dir a checkpoint writes to, confined like a restore's.
 * Reject one that already contains an image set, because CRIU would
 * overwrite some of its files and leave others, mixing two dumps.
 */
static int
api_open_dump_dir(const struct api *api, const char *path, struct error *err)
{
	int fd;

	fd = access_open_images(api->config, path, err);
	if (fd < 0)
		return -1;
	if (faccessat(fd, "inventory.img", F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		close(fd);
		return error_set_field(err, "invalid-params", "images_dir",
		    "images_dir '%s' already contains an image set (inventory.img); pass an empty directory",
		    path);
	}
	return fd;
}

/* Check what a lazy checkpoint needs from the host before CRIU runs. */
static int
api_check_page_server(const struct request *req, struct error *err)
{
	if (!req->options.lazy_pages)
		return 0;
	if (host_check_pipe_size(err) < 0)
		return -1;
	return host_check_bind(&req->options.page_server, err);
}

/*
 * Check that the client may dump the tree of `pid`, and return in
 * `ret_start` the start time that names the root when the job starts.
 * It is read before the check, so a pid that a new process takes
 * meanwhile has another start time, and fails the job then.
 */
static int
api_check_dump_target(pid_t pid, uid_t uid, unsigned long long *ret_start,
    struct error *err)
{
	unsigned long long start = 0;
	pid_t parent;

	proc_tree_read_stat(pid, &parent, &start);
	if (host_check_dumpable(pid, uid, err) < 0)
		return -1;
	*ret_start = start;
	return 0;
}

static json_t *
api_checkpoint(struct api *api, struct conn *conn, const struct request *req,
    struct error *err)
{
	const struct ucred *peer = conn_peer(conn);
	unsigned long long start;
	struct job *job;
	int fd;

	if (access_check_peer(api->config, peer, "checkpoint", err) < 0 ||
	    api_check_can_queue(api, conn, req, err) < 0 ||
	    api_check_options(api, &req->options, err) < 0 ||
	    api_check_dump_target(req->pid, peer->uid, &start, err) < 0 ||
	    api_check_page_server(req, err) < 0)
		return NULL;
	fd = api_open_dump_dir(api, req->images_dir, err);
	if (fd < 0)
		return NULL;
	if (jobs_check_checkpoint_clash(api->jobs, fd, &req->options,
	    err) < 0) {
		close(fd);
		return NULL;
	}
	job = jobs_create_checkpoint(api->jobs, req->images_dir, fd, req->pid,
	    start, &req->options, peer, err);
	if (job == NULL)
		return NULL;
	api_submit(api, conn, req, job);
	return NULL;
}

static struct job *
api_find_job(struct api *api, const struct request *req, struct error *err)
{
	struct job *job = jobs_find(api->jobs, req->job);

	if (job == NULL)
		error_set_field(err, "not-found", "job",
		    "no job '%s'; 'list' shows the known jobs", req->job);
	return job;
}

static json_t *
api_status(struct api *api, struct conn *conn, const struct request *req,
    struct error *err)
{
	struct job *job = api_find_job(api, req, err);

	return job != NULL ? job_to_json(job) : NULL;
}

static json_t *
api_list(struct api *api, struct conn *conn, const struct request *req,
    struct error *err)
{
	return jobs_list_json(api->jobs);
}

static json_t *
api_cancel(struct api *api, struct conn *conn, const struct request *req,
    struct error *err)
{
	struct job *job;

	if (access_check_peer(api->config, conn_peer(conn), "cancel",
	    err) < 0)
		return NULL;
	job = api_find_job(api, req, err);
	if (job == NULL || job_cancel(job, err) < 0)
		return NULL;
	return job_to_json(job);
}

static json_t *
api_watch(struct api *api, struct conn *conn, const struct request *req,
    struct error *err)
{
	struct job *job = api_find_job(api, req, err);

	if (job == NULL)
		return NULL;
	if (!conn_can_follow(conn) || conn_follow(conn, job) < 0) {
		error_set_field(err, "invalid-request", "job",
		    "this connection already follows %d jobs; open another connection",
		    CONN_MAX_FOLLOWED);
		return NULL;
	}
	return job_to_json(job);
}

static json_t *
api_info(struct api *api, struct conn *conn, const struct request *req,
    struct error *err)
{
	struct pool_stats pool;
	struct jobs_counts counts;

	pool_get_stats(api->pool, &pool);
	jobs_get_counts(api->jobs, &counts);
	return json_pack("{s:s, s:{s:s, s:s, s:b}, s:{s:i, s:i, s:i, s:i},"
	    " s:{s:i}, s:{s:i, s:i}}",
	    "version", CTRD_VERSION,
	    "criu", "path", api->criu.path, "version", api->criu.version,
	    "lazy_pages", api->criu.lazy_pages,
	    "pool", "size", pool.size, "warm", pool.warm, "busy", pool.busy,
	    "spawning", pool.spawning,
	    "queue", "length", counts.queued,
	    "jobs", "total", counts.total, "active", counts.active);
}

/* Return the metrics in the Prometheus text format, under "text". */
static json_t *
api_metrics(struct api *api, struct conn *conn, const struct request *req,
    struct error *err)
{
	struct metrics_gauges gauges;
	struct jobs_counts counts;
	struct pool_stats pool;
	json_t *result;
	char *text;

	pool_get_stats(api->pool, &pool);
	jobs_get_counts(api->jobs, &counts);
	gauges.queued = counts.queued;
	gauges.restoring = counts.restoring;
	gauges.restored = counts.active - counts.restoring;
	gauges.pool_size = pool.size;
	gauges.pool_warm = pool.warm;
	gauges.pool_busy = pool.busy;
	gauges.pool_spawning = pool.spawning;
	text = metrics_format(jobs_metrics(api->jobs), &gauges);
	if (text == NULL)
		return error_set(err, "internal", "format metrics: out of memory"),
		    NULL;
	result = json_pack("{s:s, s:s}", "content_type",
	    "text/plain; version=0.0.4", "text", text);
	free(text);
	return result;
}

static api_method_fn *const api_methods[] = {
	[REQUEST_RESTORE] = api_restore,
	[REQUEST_STATUS] = api_status,
	[REQUEST_LIST] = api_list,
	[REQUEST_CANCEL] = api_cancel,
	[REQUEST_WATCH] = api_watch,
	[REQUEST_INFO] = api_info,
	[REQUEST_METRICS] = api_metrics,
	[REQUEST_CHECKPOINT] = api_checkpoint,
};

static void
api_send_error(struct conn *conn, json_t *id, const struct error *err)
{
	json_t *error, *reply;

	error = json_pack("{s:s, s:s}", "code", err->code, "message",
	    err->message);
	if (err->field != NULL)
		json_object_set_new(error, "field", json_string(err->field));
	reply = json_pack("{s:O, s:o}", "id", id, "error", error);
	conn_send(conn, reply);
	json_decref(reply);
}

/*
 * Log a rejected request once.  A denial goes out at warning, because it
 * points at a client or a config that needs fixing, and log_warning() is
 * rate limited against a client that retries in a loop.
 */
static void
api_log_rejected(const struct conn *conn, const struct request *req,
    const struct error *err)
{
	const struct ucred *peer = conn_peer(conn);

	if (strcmp(err->code, "permission-denied") == 0)
		log_warning(NULL, "uid %d pid %d: %s request denied: %s",
		    (int)peer->uid, (int)peer->pid,
		    request_method_name(req->method), err->message);
	else
		log_info(NULL, "uid %d: %s request rejected: %s: %s",
		    (int)peer->uid, request_method_name(req->method),
		    err->code, err->message);
}

void
api_handle_line(struct api *api, struct conn *conn, const char *line,
    size_t len)
{
	struct request req;
	struct error err;
	json_t *result;

	error_clear(&err);
	if (request_parse(line, len, &req, &err) < 0) {
		log_info(NULL, "uid %d: request rejected: %s: %s",
		    (int)conn_peer_uid(conn), err.code, err.message);
		api_send_error(conn, req.id, &err);
		request_clear(&req);
		return;
	}
	result = api_methods[req.method](api, conn, &req, &err);
	if (result != NULL) {
		api_send_result(conn, req.id, result);
	} else if (err.code != NULL) {
		api_log_rejected(conn, &req, &err);
		api_send_error(conn, req.id, &err);
	}
	request_clear(&req);
}

struct api *
api_new(struct jobs *jobs, struct pool *pool,
    const struct api_criu_info *criu, const struct config *config)
{
	struct api *api = calloc(1, sizeof(*api));

	if (api == NULL)
		return NULL;
	api->jobs = jobs;
	api->pool = pool;
	api->criu = *criu;
	api->config = config;
	return api;
}

void
api_free(struct api *api)
{
	free(api);
}
