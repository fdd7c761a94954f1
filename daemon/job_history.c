/*
 * Jobs across restarts: reloading the job history when ctrd starts, taking
 * back restored processes that still run, and compacting the journal.
 */
#define _GNU_SOURCE
#include <sys/syscall.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "error.h"
#include "history.h"
#include "job.h"
#include "job_internal.h"
#include "lazy_pages.h"
#include "log.h"
#include "proc_tree.h"

/*
 * Compact the journal once it contains this many records beyond one per job:
 * a job writes about five records in its life.
 */
#define JOB_HISTORY_SLACK 4096

/* The adopted root exited.  It is not ctrd's child, so its status is lost. */
static void
job_on_adopted_exit(evutil_socket_t fd, short what, void *arg)
{
	struct job *job = arg;
	json_t *event;

	if (job_is_ended(job))
		return;
	job->root_exited = true;
	job->exit_unknown = true;
	event = job_event(job, "exited");
	json_object_set_new(event, "pid", json_integer(job->pid));
	json_object_set_new(event, "unknown", json_true());
	job_end(job, JOB_EXITED, event,
	    "exit status unknown: the process was adopted after a restart");
}

/*
 * Watch the restored root of a reloaded job through a pidfd, which becomes
 * readable when the process exits (pidfd_open(2), Linux 5.3).  The pid is
 * checked against its recorded start time first, so a reused pid is never
 * taken for the job's process.  Returns -1 if the process is gone.
 */
static int
job_adopt(struct job *job)
{
	unsigned long long start;
	pid_t parent;
	int pidfd;

	if (job->pid <= 1 || job->pid_start == 0 ||
	    proc_tree_read_stat(job->pid, &parent, &start) < 0 ||
	    start != job->pid_start)
		return -1;
	pidfd = (int)syscall(SYS_pidfd_open, job->pid, 0);
	if (pidfd == -1)
		return -1;
	job->adopted_exit = event_new(job->jobs->base, pidfd, EV_READ,
	    job_on_adopted_exit, job);
	if (job->adopted_exit == NULL || event_add(job->adopted_exit,
	    NULL) == -1) {
		if (job->adopted_exit != NULL)
			event_free(job->adopted_exit);
		job->adopted_exit = NULL;
		close(pidfd);
		return -1;
	}
	/* The pid was checked before the pidfd was opened: check again. */
	if (proc_tree_read_stat(job->pid, &parent, &start) < 0 ||
	    start != job->pid_start) {
		job_release_adopted(job);
		return -1;
	}
	job->adopted = true;
	return 0;
}

/*
 * Kill the CRIU worker that a checkpoint job had when ctrd crashed, if it
 * still runs: the pid and its start time name it.  A worker left serving
 * pages keeps the tree frozen until a restore pulls them all, which may
 * never happen, and one left dumping would go on without anyone to
 * acknowledge its notifications.  Its death releases the tree, which runs
 * on, as when a checkpoint is canceled.
 *
 * NOTE: a restore job's worker is not recorded.  It ends on its own once
 * it finds ctrd's socket closed, but a worker blocked for good, for example
 * on a FIFO in the images, runs until someone kills it by hand.
 */
static void
job_kill_orphan_worker(const struct job *job)
{
	unsigned long long start;
	pid_t parent;

	if (job->type != JOB_TYPE_CHECKPOINT || job->worker_pid <= 1 ||
	    job->worker_start == 0 ||
	    proc_tree_read_stat(job->worker_pid, &parent, &start) < 0 ||
	    start != job->worker_start)
		return;
	if (kill(job->worker_pid, SIGKILL) == 0)
		log_notice(job->id, "killed CRIU worker %d, left %s by ctrd's crash, so pid %d runs on",
		    (int)job->worker_pid, job_state_names[job->state],
		    (int)job->target_pid);
}

/*
 * Mark a job that a crash of ctrd left unfinished.
 *
 * NOTE: the metrics count jobs since this ctrd started, so a job marked
 * interrupted here is not in ctrd_jobs_ended_total.
 */
static void
job_interrupt(struct job *job)
{
	char message[160], socket_path[JOB_ID_LEN + 32];

	job_kill_orphan_worker(job);
	/* Its lazy-pages server, if any, is gone or orphaned: drop its socket. */
	snprintf(socket_path, sizeof(socket_path), "%s/%s", job->id,
	    LAZY_PAGES_SOCKET);
	unlinkat(job->jobs->jobs_dir_fd, socket_path, 0);
	snprintf(message, sizeof(message),
	    "ctrd stopped abruptly while the job was %s; submit it again",
	    job_state_names[job->state]);
	json_decref(job->error);
	job->error = json_pack("{s:s, s:s, s:[]}", "code", "interrupted",
	    "message", message, "log");
	clock_gettime(CLOCK_REALTIME, &job->ended);
	job_set_state(job, JOB_INTERRUPTED, message);
}

/* Settle a reloaded job: adopt its process, or record how it ended. */
static void
job_settle(struct job *job)
{
	if (job->state == JOB_RESTORED) {
		if (job_adopt(job) == 0) {
			log_info(job->id, "adopted restored pid %d",
			    (int)job->pid);
			job_record(job);
			return;
		}
		job->exit_unknown = true;
		clock_gettime(CLOCK_REALTIME, &job->ended);
		job_set_state(job, JOB_EXITED,
		    "exited while ctrd was not running");
		return;
	}
	if (!job_is_ended(job))
		job_interrupt(job);
}

static void
jobs_add_loaded(struct jobs *jobs, struct job *job)
{
	TAILQ_INSERT_TAIL(&jobs->all, job, all_entry);
	if (job_is_ended(job)) {
		TAILQ_INSERT_TAIL(&jobs->ended_jobs, job, ended_entry);
		jobs->ended++;
	}
}

int
jobs_rewrite_history(struct jobs *jobs, struct error *err)
{
	json_t *records = json_array();
	struct job *job;
	int ret;

	if (records == NULL)
		return error_set(err, "internal", "rewrite job history: out of memory");
	TAILQ_FOREACH(job, &jobs->all, all_entry)
		json_array_append_new(records, job_to_record(job));
	ret = history_rewrite(jobs->history, records, err);
	json_decref(records);
	return ret;
}

void
jobs_compact_history(struct jobs *jobs)
{
	struct jobs_counts counts;
	struct error err;

	if (jobs->history == NULL)
		return;
	jobs_get_counts(jobs, &counts);
	if (history_appended(jobs->history) <
	    (size_t)counts.total + JOB_HISTORY_SLACK)
		return;
	if (jobs_rewrite_history(jobs, &err) < 0)
		log_warning(NULL, "compact job history: %s, continuing",
		    err.message);
}

void
jobs_remove_work_dir(struct jobs *jobs, const char *id)
{
	struct dirent *entry;
	DIR *dir;
	int fd;

	fd = openat(jobs->jobs_dir_fd, id,
	    O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd == -1)
		return;
	dir = fdopendir(fd);
	if (dir == NULL) {
		close(fd);
		return;
	}
	/* A work dir holds only files CRIU and ctrd wrote: logs, sockets. */
	while ((entry = readdir(dir)) != NULL) {
		if (strcmp(entry->d_name, ".") == 0 ||
		    strcmp(entry->d_name, "..") == 0)
			continue;
		unlinkat(fd, entry->d_name, 0);
	}
	closedir(dir);
	if (unlinkat(jobs->jobs_dir_fd, id, AT_REMOVEDIR) == -1)
		log_warning(id, "remove work dir '%s/jobs/%s': %s, continuing",
		    jobs->config.state_dir, id, strerror(errno));
}

/* Remove the work dirs of jobs that no record names, such as a lost one. */
static void
jobs_remove_stray_work_dirs(struct jobs *jobs)
{
	struct dirent *entry;
	DIR *dir;
	int fd;

	fd = dup(jobs->jobs_dir_fd);
	if (fd == -1 || (dir = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return;
	}
	while ((entry = readdir(dir)) != NULL) {
		if (strlen(entry->d_name) != JOB_ID_LEN ||
		    jobs_find(jobs, entry->d_name) != NULL)
			continue;
		log_info(NULL, "removing work dir '%s/jobs/%s' of a job no longer in the history",
		    jobs->config.state_dir, entry->d_name);
		jobs_remove_work_dir(jobs, entry->d_name);
	}
	closedir(dir);
}

/* Add the jobs of the journal's `records`; skip bad ones with a warning. */
static void
jobs_load_records(struct jobs *jobs, const json_t *records)
{
	struct error err;
	struct job *job;
	size_t i;

	for (i = 0; i < json_array_size(records); i++) {
		job = job_from_record(jobs, json_array_get(records, i), &err);
		if (job == NULL) {
			log_warning(NULL, "job history: record %zu: %s, skipping it",
			    i + 1, err.message);
			continue;
		}
		job_settle(job);
		jobs_add_loaded(jobs, job);
	}
}

int
jobs_open_history(struct jobs *jobs, struct error *err)
{
	struct error rewrite_err;
	json_t *records;

	jobs->history = history_open(jobs->config.state_dir_fd,
	    jobs->config.state_dir, err);
	if (jobs->history == NULL)
		return -1;
	records = history_load(jobs->history, err);
	if (records == NULL)
		return -1;
	jobs_load_records(jobs, records);
	jobs_remove_stray_work_dirs(jobs);
	log_notice(NULL, "job history: %zu jobs reloaded from '%s/%s'",
	    json_array_size(records), jobs->config.state_dir, HISTORY_FILE);
	json_decref(records);
	/*
	 * Trim to max_history from the loop, where the first job's work dir is
	 * also made, now that the strays are gone.  Then start a compact
	 * journal.
	 */
	event_active(jobs->dispatch_event, EV_TIMEOUT, 0);
	/* A full disk must not stop ctrd: the old journal stays valid. */
	if (jobs_rewrite_history(jobs, &rewrite_err) < 0)
		log_warning(NULL, "compact job history: %s; appending to the old journal",
		    rewrite_err.message);
	return 0;
}
