/* The job object of the API, built from a job's state. */
#define _GNU_SOURCE
#include <sys/types.h>
#include <sys/wait.h>

#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "criu_stats.h"
#include "error.h"
#include "event_json.h"
#include "job.h"
#include "job_internal.h"

static json_t *
job_exit_json(const struct job *job)
{
	if (job->state == JOB_EXITED && job->exit_unknown)
		return json_pack("{s:b}", "unknown", true);
	if (!job->root_exited || job->state != JOB_EXITED)
		return json_null();
	if (WIFSIGNALED(job->root_status))
		return json_pack("{s:i}", "signal", WTERMSIG(job->root_status));
	return json_pack("{s:i}", "code", WEXITSTATUS(job->root_status));
}

/* The submitting client; ids it had no credentials for are null. */
static json_t *
job_peer_json(const struct job *job)
{
	const struct ucred *peer = &job->peer;

	return json_pack("{s:o, s:o, s:o}",
	    "uid", peer->uid != (uid_t)-1 ? json_integer(peer->uid) : json_null(),
	    "gid", peer->gid != (gid_t)-1 ? json_integer(peer->gid) : json_null(),
	    "pid", peer->pid > 0 ? json_integer(peer->pid) : json_null());
}

/*
 * CRIU's statistics of the restore, times in whole microseconds as CRIU
 * counts them.  pages_restored is null when CRIU did not write it.
 */
static json_t *
job_criu_stats_json(const struct criu_stats *stats)
{
	return json_pack("{s:I, s:I, s:o, s:I, s:I}",
	    "restore_us", (json_int_t)stats->restore_us,
	    "forking_us", (json_int_t)stats->forking_us,
	    "pages_restored", stats->has_pages_restored ?
	    json_integer((json_int_t)stats->pages_restored) : json_null(),
	    "pages_compared", (json_int_t)stats->pages_compared,
	    "pages_skipped_cow", (json_int_t)stats->pages_skipped_cow);
}

static json_t *
job_options_json(const struct job *job)
{
	const struct job_options *o = &job->options;
	const struct page_server *server = &o->page_server;

	return json_pack("{s:b, s:b, s:b, s:b, s:b, s:i, s:b, s:o, s:b}",
	    "lazy_pages", o->lazy_pages, "tcp_established",
	    o->tcp_established, "ext_unix_sk", o->ext_unix_sk, "shell_job",
	    o->shell_job, "file_locks", o->file_locks, "log_level",
	    o->log_level, "leave_running", o->leave_running,
	    "page_server", server->port != 0 ? json_pack("{s:s, s:i}",
	    "address", server->address, "port", server->port) : json_null(),
	    "tls", o->tls);
}

/* The restored root, or the root of the tree a checkpoint dumps. */
static json_t *
job_pid_json(const struct job *job)
{
	if (job->type == JOB_TYPE_CHECKPOINT)
		return json_integer(job->target_pid);
	return job->pid > 0 ? json_integer(job->pid) : json_null();
}

/* Build the job object of the API from the job's current state. */
static json_t *
job_build_json(const struct job *job)
{
	json_t *object;

	object = json_pack(
	    "{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:b,"
	    " s:o, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:b}",
	    "job", job->id, "type", job_type_names[job->type],
	    "state", job_state_names[job->state],
	    "images_dir", job->images_dir,
	    "peer", job_peer_json(job),
	    "options", job_options_json(job),
	    "pid", job_pid_json(job),
	    "pages_complete", job->pages_complete,
	    "pages", job->pages_total >= 0 ? json_pack("{s:I, s:I}",
	    "copied", (json_int_t)job->pages_copied,
	    "total", (json_int_t)job->pages_total) : json_null(),
	    "work_dir", job->work_dir,
	    "created", event_json_time(&job->created),
	    "started", event_json_time(&job->started),
	    "restored", event_json_time(&job->restored),
	    "ended", event_json_time(&job->ended),
	    "error", job->error != NULL ? json_incref(job->error) :
	    json_null(),
	    "exit", job_exit_json(job),
	    "adopted", job->adopted);
	if (object != NULL && job->has_criu_stats)
		json_object_set_new(object, "criu_stats",
		    job_criu_stats_json(&job->criu_stats));
	return object;
}

/*
 * An ended job no longer changes, so its object is built once and shared:
 * status and list of ended jobs, the bulk of a busy API, then cost no
 * packing or time formatting.  Callers must not modify what they get.
 */
json_t *
job_to_json(struct job *job)
{
	json_t *object;

	if (job->json_cache != NULL)
		return json_incref(job->json_cache);
	object = job_build_json(job);
	if (object != NULL && job_is_ended(job))
		job->json_cache = json_incref(object);
	return object;
}

json_t *
jobs_list_json(struct jobs *jobs)
{
	json_t *list = json_array();
	struct job *job;

	TAILQ_FOREACH(job, &jobs->all, all_entry)
		json_array_append_new(list, job_to_json(job));
	return json_pack("{s:o}", "jobs", list);
}


json_t *
job_to_record(const struct job *job)
{
	json_t *record = job_build_json(job);

	json_object_set_new(record, "image_pid", json_integer(job->image_pid));
	json_object_set_new(record, "pid_start",
	    json_integer((json_int_t)job->pid_start));
	if (job->cancel_reason != NULL)
		json_object_set_new(record, "cancel_reason",
		    json_string(job->cancel_reason));
	if (job->type == JOB_TYPE_CHECKPOINT && job->worker != NULL) {
		json_object_set_new(record, "worker_pid",
		    json_integer(job->worker_pid));
		json_object_set_new(record, "worker_start",
		    json_integer((json_int_t)job->worker_start));
	}
	return record;
}

static int
job_state_parse(const char *name)
{
	int i;

	for (i = 0; i < JOB_STATE_COUNT; i++)
		if (name != NULL && strcmp(name, job_state_names[i]) == 0)
			return i;
	return -1;
}

/* Records written before checkpoint jobs existed have no type. */
static enum job_type
job_type_parse(const char *name)
{
	if (name != NULL &&
	    strcmp(name, job_type_names[JOB_TYPE_CHECKPOINT]) == 0)
		return JOB_TYPE_CHECKPOINT;
	return JOB_TYPE_RESTORE;
}

/* Read the member `key` of `record` as an integer id; -1 when null. */
static long long
job_record_id(const json_t *record, const char *key)
{
	const json_t *value = json_object_get(record, key);

	return json_is_integer(value) ? json_integer_value(value) : -1;
}

static void
job_from_record_peer(struct job *job, const json_t *peer)
{
	job->peer.uid = (uid_t)job_record_id(peer, "uid");
	job->peer.gid = (gid_t)job_record_id(peer, "gid");
	job->peer.pid = (pid_t)(job_record_id(peer, "pid") > 0 ?
	    job_record_id(peer, "pid") : 0);
}

static int
job_from_record_page_server(struct page_server *server, const json_t *value)
{
	const char *address = json_string_value(json_object_get(value,
	    "address"));

	if (value == NULL || json_is_null(value))
		return 0;
	if (address == NULL || strlen(address) >= sizeof(server->address) ||
	    job_record_id(value, "port") < 1 ||
	    job_record_id(value, "port") > 65535)
		return -1;
	snprintf(server->address, sizeof(server->address), "%s", address);
	server->port = (int)job_record_id(value, "port");
	return 0;
}

static int
job_from_record_options(struct job *job, json_t *options)
{
	struct job_options *o = &job->options;
	int lazy, tcp, ext, shell, locks;

	if (json_unpack(options, "{s:b, s:b, s:b, s:b, s:b, s:i}",
	    "lazy_pages", &lazy, "tcp_established", &tcp, "ext_unix_sk", &ext,
	    "shell_job", &shell, "file_locks", &locks, "log_level",
	    &o->log_level) < 0)
		return -1;
	o->lazy_pages = lazy;
	o->tcp_established = tcp;
	o->ext_unix_sk = ext;
	o->shell_job = shell;
	o->file_locks = locks;
	/* Records written before checkpoint jobs existed lack the rest. */
	o->leave_running = json_is_true(json_object_get(options,
	    "leave_running"));
	o->tls = json_is_true(json_object_get(options, "tls"));
	return job_from_record_page_server(&o->page_server,
	    json_object_get(options, "page_server"));
}

static int
job_from_record_times(struct job *job, const json_t *record)
{
	return event_json_parse_time(json_object_get(record, "created"),
	    &job->created) | event_json_parse_time(json_object_get(record,
	    "started"), &job->started) | event_json_parse_time(
	    json_object_get(record, "restored"), &job->restored) |
	    event_json_parse_time(json_object_get(record, "ended"),
	    &job->ended);
}

/* Take the exit status and page counts, which only some states have. */
static void
job_from_record_outcome(struct job *job, const json_t *record)
{
	const json_t *exit = json_object_get(record, "exit");
	const json_t *pages = json_object_get(record, "pages");
	const json_t *error = json_object_get(record, "error");
	const char *reason;

	if (json_is_integer(json_object_get(exit, "code"))) {
		job->root_exited = true;
		job->root_status = (int)(json_integer_value(
		    json_object_get(exit, "code")) & 0xff) << 8;
	} else if (json_is_integer(json_object_get(exit, "signal"))) {
		job->root_exited = true;
		job->root_status = (int)json_integer_value(
		    json_object_get(exit, "signal")) & 0x7f;
	} else if (json_is_object(exit)) {
		job->exit_unknown = true;
	}
	if (json_is_object(pages)) {
		job->pages_copied = (long)job_record_id(pages, "copied");
		job->pages_total = (long)job_record_id(pages, "total");
	}
	if (json_is_object(error))
		job->error = json_deep_copy(error);
	reason = json_string_value(json_object_get(record, "cancel_reason"));
	if (reason != NULL)
		job->cancel_reason = strdup(reason);
}

/* Take back CRIU's statistics, which only restored jobs have. */
static void
job_from_record_criu_stats(struct job *job, json_t *stats)
{
	struct criu_stats *s = &job->criu_stats;
	json_int_t restore_us, forking_us, compared, skipped;
	json_t *restored;

	if (json_unpack(stats, "{s:I, s:I, s:o, s:I, s:I}",
	    "restore_us", &restore_us, "forking_us", &forking_us,
	    "pages_restored", &restored, "pages_compared", &compared,
	    "pages_skipped_cow", &skipped) < 0 ||
	    restore_us < 0 || restore_us > UINT32_MAX || forking_us < 0 ||
	    forking_us > UINT32_MAX || compared < 0 || skipped < 0)
		return;
	s->restore_us = (uint32_t)restore_us;
	s->forking_us = (uint32_t)forking_us;
	s->has_pages_restored = json_is_integer(restored) &&
	    json_integer_value(restored) >= 0;
	s->pages_restored = s->has_pages_restored ?
	    (uint64_t)json_integer_value(restored) : 0;
	s->pages_compared = (uint64_t)compared;
	s->pages_skipped_cow = (uint64_t)skipped;
	job->has_criu_stats = true;
}

struct job *
job_from_record(struct jobs *jobs, const json_t *record, struct error *err)
{
	const char *id = json_string_value(json_object_get(record, "job"));
	const char *dir = json_string_value(json_object_get(record,
	    "images_dir"));
	const char *work_dir = json_string_value(json_object_get(record,
	    "work_dir"));
	int state = job_state_parse(json_string_value(json_object_get(record,
	    "state")));
	struct job *job;

	if (id == NULL || strlen(id) != JOB_ID_LEN ||
	    strspn(id, "0123456789abcdef") != JOB_ID_LEN || dir == NULL ||
	    work_dir == NULL || state < 0)
		return error_set(err, "internal",
		    "a record lacks a job id of 16 hex digits, images_dir, work_dir or state"),
		    NULL;
	job = calloc(1, sizeof(*job));
	if (job == NULL || (job->images_dir = strdup(dir)) == NULL) {
		free(job);
		return error_set_errno(err, "internal", "allocate job"), NULL;
	}
	memcpy(job->id, id, JOB_ID_LEN + 1);
	snprintf(job->work_dir, sizeof(job->work_dir), "%s", work_dir);
	job->jobs = jobs;
	job->type = job_type_parse(json_string_value(json_object_get(record,
	    "type")));
	job->state = (enum job_state)state;
	job->images_fd = -1;
	job->work_fd = -1;
	job->pages_copied = -1;
	job->pages_total = -1;
	TAILQ_INIT(&job->watches);
	job->pid = (pid_t)(job_record_id(record, "pid") > 1 ?
	    job_record_id(record, "pid") : 0);
	/* A checkpoint's pid is the dumped tree's, never ctrd's to watch. */
	if (job->type == JOB_TYPE_CHECKPOINT) {
		job->target_pid = job->pid;
		job->pid = 0;
	}
	job->image_pid = (pid_t)job_record_id(record, "image_pid");
	job->pid_start = (unsigned long long)job_record_id(record,
	    "pid_start");
	job->worker_pid = (pid_t)job_record_id(record, "worker_pid");
	job->worker_start = (unsigned long long)job_record_id(record,
	    "worker_start");
	job->adopted = json_is_true(json_object_get(record, "adopted"));
	job->pages_complete = json_is_true(json_object_get(record,
	    "pages_complete"));
	job_from_record_peer(job, json_object_get(record, "peer"));
	job_from_record_outcome(job, record);
	job_from_record_criu_stats(job, json_object_get(record, "criu_stats"));
	if (job_from_record_options(job, json_object_get(record, "options")) < 0 ||
	    job_from_record_times(job, record) < 0) {
		error_set(err, "internal", "job %s: bad options or times", id);
		job_free(job);
		return NULL;
	}
	return job;
}
