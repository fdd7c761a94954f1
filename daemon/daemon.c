#define _GNU_SOURCE
#include <sys/resource.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "activation.h"
#include "api.h"
#include "config.h"
#include "criu_probe.h"
#include "daemon.h"
#include "error.h"
#include "job.h"
#include "log.h"
#include "notify.h"
#include "pool.h"
#include "reaper.h"
#include "server.h"

/* Timeout for each reply of the start-up probe of CRIU. */
#define DAEMON_PROBE_TIMEOUT_MS 10000

/*
 * Time the loop keeps running after a stop is decided, so the last events
 * and replies reach clients before their connections close.
 */
#define DAEMON_FLUSH_USEC 100000

#define DAEMON_STATUS_MAX 160

struct daemon {
	struct config config;		/* swapped whole on reload */
	daemon_load_config_fn *load_config;
	void *load_arg;
	struct criu_probe_result criu;
	struct event_base *base;
	struct notify *notify;
	struct reaper *reaper;
	struct pool *pool;
	struct jobs *jobs;
	struct api *api;
	struct server *server;		/* NULL until ready */
	int listen_fd;			/* passed by systemd, -1 if not */
	struct event *sigterm;
	struct event *sigint;
	struct event *sighup;
	struct event *stop_timer;	/* stop_timeout after SIGTERM */
	struct event *status_event;	/* recompute the status line */
	int state_dir_fd;
	bool ready;
	bool stopping;
	bool finishing;			/* the loop exits after a flush */
	int exit_code;
};

static void
daemon_format_status(const struct daemon *daemon, char *buf, size_t size)
{
	struct jobs_counts counts;
	struct pool_stats stats;

	jobs_get_counts(daemon->jobs, &counts);
	pool_get_stats(daemon->pool, &stats);
	snprintf(buf, size,
	    "%s%d restoring, %d queued, %d restored and running; %d of %d workers warm",
	    daemon->stopping ? "stopping: " : "", counts.restoring,
	    counts.queued, counts.active - counts.restoring, stats.warm,
	    stats.size);
}

/* Leave the loop once the last events had time to reach clients. */
static void
daemon_finish(struct daemon *daemon)
{
	struct timeval flush = { 0, DAEMON_FLUSH_USEC };

	if (daemon->finishing)
		return;
	daemon->finishing = true;
	evtimer_del(daemon->stop_timer);
	event_base_loopexit(daemon->base, &flush);
}

/* Update the status line, and end a graceful stop once nothing runs. */
static void
daemon_on_status(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *daemon = arg;
	char status[DAEMON_STATUS_MAX];

	daemon_format_status(daemon, status, sizeof(status));
	notify_status(daemon->notify, status);
	if (daemon->stopping && !daemon->finishing &&
	    !jobs_are_busy(daemon->jobs)) {
		log_notice(NULL, "no restore is running, stopping");
		daemon_finish(daemon);
	}
}

static void
daemon_on_jobs_changed(void *arg)
{
	struct daemon *daemon = arg;

	event_active(daemon->status_event, EV_TIMEOUT, 0);
}

/*
 * Return how many client connections the descriptor limit leaves room
 * for, at most max_connections.  Each connection takes one descriptor.  A
 * reserve stays free for what jobs and workers open: a worker socket, the
 * images and work dirs, CRIU's log and the lazy-pages server's pipes come
 * to about 8 per running job.
 */
static int
daemon_connection_budget(const struct config *config)
{
	int reserve = 64 + SERVER_ROOT_RESERVE + 8 * config->max_running +
	    2 * config->workers;
	struct rlimit limit;
	long long budget;

	if (getrlimit(RLIMIT_NOFILE, &limit) == -1 ||
	    limit.rlim_cur == RLIM_INFINITY)
		return config->max_connections;
	budget = (long long)limit.rlim_cur - reserve;
	if (budget >= config->max_connections)
		return config->max_connections;
	if (budget < 1)
		budget = 1;
	log_warning(NULL, "max_connections %d does not fit the descriptor limit of %llu with %d kept for jobs and workers; accepting at most %lld connections (raise LimitNOFILE=)",
	    config->max_connections, (unsigned long long)limit.rlim_cur,
	    reserve, budget);
	return (int)budget;
}

/*
 * Raise the soft descriptor limit to the hard one, which needs no
 * privilege.  CRIU workers inherit it, and restoring a process with many
 * open files needs as many descriptors.
 */
static void
daemon_raise_fd_limit(void)
{
	struct rlimit limit;

	if (getrlimit(RLIMIT_NOFILE, &limit) == -1 ||
	    limit.rlim_cur == limit.rlim_max)
		return;
	limit.rlim_cur = limit.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &limit) == -1)
		log_warning(NULL, "raise the descriptor limit to %llu: %s, continuing",
		    (unsigned long long)limit.rlim_max, strerror(errno));
}

static void
daemon_fill_server_limits(const struct config *config,
    struct server_limits *limits)
{
	limits->max_line = config->max_request_bytes;
	limits->max_connections = daemon_connection_budget(config);
	limits->max_connections_per_uid = config->max_connections_per_uid;
	limits->idle_timeout = config->idle_timeout;
}

static int
daemon_listen(struct daemon *daemon, struct error *err)
{
	const struct config *config = &daemon->config;
	struct server_limits limits;

	daemon_fill_server_limits(config, &limits);
	if (daemon->listen_fd >= 0) {
		daemon->server = server_adopt(daemon->base, daemon->listen_fd,
		    daemon->api, &limits, err);
		daemon->listen_fd = -1;
	} else {
		daemon->server = server_new(daemon->base, config->socket_path,
		    daemon->api, &limits, err);
	}
	return daemon->server != NULL ? 0 : -1;
}

/* Become ready once the pool is first warm, so clients find warm workers. */
static void
daemon_become_ready(struct daemon *daemon)
{
	char status[DAEMON_STATUS_MAX];
	struct pool_stats stats;
	struct error err;

	pool_get_stats(daemon->pool, &stats);
	if (stats.warm < stats.size)
		return;
	if (daemon_listen(daemon, &err) < 0) {
		log_err(NULL, "%s", err.message);
		daemon->exit_code = EXIT_FAILURE;
		event_base_loopbreak(daemon->base);
		return;
	}
	daemon->ready = true;
	daemon_format_status(daemon, status, sizeof(status));
	notify_ready(daemon->notify, status);
	log_notice(NULL, "ready: listening on '%s', %d warm workers, CRIU %s",
	    server_path(daemon->server), stats.warm, daemon->criu.version);
}

static void
daemon_on_worker_available(void *arg)
{
	struct daemon *daemon = arg;

	if (!daemon->ready && !daemon->stopping)
		daemon_become_ready(daemon);
	event_active(daemon->status_event, EV_TIMEOUT, 0);
	jobs_dispatch(daemon->jobs);
}

static void
daemon_on_stop_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *daemon = arg;
	char reason[96];

	log_notice(NULL, "stop_timeout of %d s passed, canceling the restores still running",
	    daemon->config.stop_timeout);
	snprintf(reason, sizeof(reason),
	    "ctrd stopped before the restore finished (stop_timeout %d s)",
	    daemon->config.stop_timeout);
	jobs_cancel_running(daemon->jobs, reason);
	daemon_finish(daemon);
}

/*
 * Stop gracefully: accept no more connections or jobs, cancel the queued
 * jobs, and let running restores and page transfers finish for up to
 * stop_timeout seconds.  Restored processes keep running after ctrd exits.
 */
static void
daemon_begin_stop(struct daemon *daemon, int sig)
{
	struct timeval deadline = { daemon->config.stop_timeout, 0 };

	if (daemon->stopping) {
		log_notice(NULL, "received %s again, stopping now",
		    strsignal(sig));
		event_base_loopbreak(daemon->base);
		return;
	}
	daemon->stopping = true;
	notify_stopping(daemon->notify);
	log_notice(NULL, "received %s, stopping: waiting up to %d s for running restores; restored processes keep running",
	    strsignal(sig), daemon->config.stop_timeout);
	/* Clients keep their connections, to see their jobs end. */
	server_stop(daemon->server);
	jobs_stop(daemon->jobs, "ctrd is stopping");
	evtimer_add(daemon->stop_timer, &deadline);
	event_active(daemon->status_event, EV_TIMEOUT, 0);
}

static void
daemon_fill_jobs_config(const struct daemon *daemon,
    struct jobs_config *jobs_config)
{
	const struct config *config = &daemon->config;

	memset(jobs_config, 0, sizeof(*jobs_config));
	jobs_config->criu_path = config->criu_path;
	jobs_config->state_dir = config->state_dir;
	jobs_config->state_dir_fd = daemon->state_dir_fd;
	jobs_config->max_running = config->max_running;
	jobs_config->max_history = config->max_history;
	jobs_config->max_queue = config->max_queue;
	jobs_config->queue_timeout = config->queue_timeout;
	jobs_config->lazy_pages_timeout = config->lazy_pages_timeout;
	jobs_config->restore_timeout = config->restore_timeout;
	jobs_config->pages_timeout = config->pages_timeout;
	jobs_config->max_log_bytes = config->max_log_bytes;
	/* Not live keys: these strings stay until ctrd exits. */
	jobs_config->tls_cacert = config->tls_cacert;
	jobs_config->tls_cert = config->tls_cert;
	jobs_config->tls_key = config->tls_key;
	jobs_config->changed = daemon_on_jobs_changed;
	jobs_config->changed_arg = (void *)daemon;
}

/*
 * Log each key a reload changes.  Keys that are not live keep their running
 * value: `next` gets it, so the swap below leaves them unchanged.
 */
static void
daemon_merge_config(struct daemon *daemon, struct config *next)
{
	char old_value[512], new_value[512];
	size_t i;

	for (i = 0; i < config_key_count(); i++) {
		config_format_value(&daemon->config, i, old_value,
		    sizeof(old_value));
		config_format_value(next, i, new_value, sizeof(new_value));
		if (!config_key_is_live(i)) {
			if (strcmp(old_value, new_value) != 0)
				log_warning(NULL, "reload: '%s' changed from %s to %s, which needs a restart; keeping %s",
				    config_key_name(i), old_value, new_value,
				    old_value);
			config_swap_value(&daemon->config, next, i);
		} else if (strcmp(old_value, new_value) != 0) {
			log_notice(NULL, "reload: '%s' %s -> %s",
			    config_key_name(i), old_value, new_value);
		}
	}
}

static void
daemon_apply_config(struct daemon *daemon)
{
	const struct config *config = &daemon->config;
	struct server_limits limits;
	struct jobs_config jobs_config;

	log_set_level(config->log_level);
	log_set_target(config->log_target);
	pool_set_size(daemon->pool, config->workers);
	daemon_fill_jobs_config(daemon, &jobs_config);
	jobs_set_limits(daemon->jobs, &jobs_config);
	if (daemon->server != NULL) {
		daemon_fill_server_limits(config, &limits);
		server_set_limits(daemon->server, &limits);
	}
}

/* Reload the config; a config that fails to load changes nothing. */
static void
daemon_reload(struct daemon *daemon)
{
	char status[DAEMON_STATUS_MAX];
	struct config next, old;
	struct error err;

	if (daemon->stopping) {
		log_notice(NULL, "received SIGHUP while stopping, ignoring it");
		return;
	}
	notify_reloading(daemon->notify);
	log_notice(NULL, "received SIGHUP, reloading the config");
	if (daemon->load_config(&next, daemon->load_arg, &err) < 0) {
		log_err(NULL, "reload: %s; keeping the running config",
		    err.message);
	} else {
		daemon_merge_config(daemon, &next);
		old = daemon->config;
		daemon->config = next;
		config_clear(&old);
		daemon_apply_config(daemon);
	}
	daemon_format_status(daemon, status, sizeof(status));
	/* Before the first READY=1, the pool's warm-up still sends it. */
	if (daemon->ready)
		notify_ready(daemon->notify, status);
	else
		notify_status(daemon->notify, status);
}

static void
daemon_on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *daemon = arg;

	if (sig == SIGHUP)
		daemon_reload(daemon);
	else
		daemon_begin_stop(daemon, (int)sig);
}

static int
daemon_open_state_dir(struct daemon *daemon, struct error *err)
{
	const char *dir = daemon->config.state_dir;

	if (mkdir(dir, 0700) == -1 && errno != EEXIST)
		return error_set_errno(err, "internal",
		    "create state dir '%s'", dir);
	daemon->state_dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (daemon->state_dir_fd == -1)
		return error_set_errno(err, "internal", "open state dir '%s'",
		    dir);
	return 0;
}

static struct event *
daemon_add_signal(struct daemon *daemon, int sig)
{
	struct event *event;

	event = evsignal_new(daemon->base, sig, daemon_on_signal, daemon);
	if (event != NULL && evsignal_add(event, NULL) == -1) {
		event_free(event);
		return NULL;
	}
	return event;
}

static int
daemon_setup_events(struct daemon *daemon, struct error *err)
{
	daemon->sigterm = daemon_add_signal(daemon, SIGTERM);
	daemon->sigint = daemon_add_signal(daemon, SIGINT);
	daemon->sighup = daemon_add_signal(daemon, SIGHUP);
	daemon->stop_timer = evtimer_new(daemon->base,
	    daemon_on_stop_timeout, daemon);
	daemon->status_event = event_new(daemon->base, -1, 0,
	    daemon_on_status, daemon);
	if (daemon->sigterm == NULL || daemon->sigint == NULL ||
	    daemon->sighup == NULL || daemon->stop_timer == NULL ||
	    daemon->status_event == NULL)
		return error_set(err, "internal", "set up signal handling");
	return 0;
}

static int
daemon_setup_jobs(struct daemon *daemon, struct error *err)
{
	struct api_criu_info criu_info;
	struct jobs_config jobs_config;

	daemon->reaper = reaper_new(daemon->base, err);
	if (daemon->reaper == NULL)
		return -1;
	daemon->pool = pool_new(daemon->base, daemon->reaper,
	    daemon->config.criu_path, daemon->config.workers,
	    daemon_on_worker_available, daemon, err);
	if (daemon->pool == NULL)
		return -1;
	daemon_fill_jobs_config(daemon, &jobs_config);
	daemon->jobs = jobs_new(daemon->base, daemon->reaper, daemon->pool,
	    &jobs_config, err);
	if (daemon->jobs == NULL || jobs_open_history(daemon->jobs, err) < 0)
		return -1;
	criu_info.path = daemon->config.criu_path;
	criu_info.version = daemon->criu.version;
	criu_info.lazy_pages = daemon->criu.lazy_pages;
	daemon->api = api_new(daemon->jobs, daemon->pool, &criu_info,
	    &daemon->config);
	if (daemon->api == NULL)
		return error_set(err, "internal", "allocate the API");
	return 0;
}

static int
daemon_setup(struct daemon *daemon, struct error *err)
{
	daemon_raise_fd_limit();
	daemon->base = event_base_new();
	if (daemon->base == NULL)
		return error_set(err, "internal", "create event loop");
	/*
	 * Catch signals before the CRIU probe, which can take seconds: a
	 * SIGTERM then stops ctrd once its loop runs, instead of killing it
	 * with the probe's CRIU left behind.
	 */
	if (daemon_setup_events(daemon, err) < 0)
		return -1;
	/* Before any child exists, so none inherits systemd's variables. */
	daemon->notify = notify_new(daemon->base, err);
	if (daemon->notify == NULL)
		return -1;
	daemon->listen_fd = activation_take_socket(err);
	if (daemon->listen_fd < 0 && err->code != NULL)
		return -1;
	if (daemon->listen_fd >= 0)
		log_notice(NULL, "socket-activated: serving the socket systemd passed; 'socket' is not used");
	if (daemon_open_state_dir(daemon, err) < 0 ||
	    criu_probe(daemon->config.criu_path, DAEMON_PROBE_TIMEOUT_MS,
	    &daemon->criu, err) < 0)
		return -1;
	if (daemon->criu.lazy_pages)
		log_notice(NULL, "CRIU %s at '%s', lazy pages supported",
		    daemon->criu.version, daemon->config.criu_path);
	else
		log_warning(NULL, "CRIU %s at '%s' reports no lazy-pages support, which needs userfaultfd from the kernel and the capabilities to use it (check with 'criu check --feature uffd-noncoop'): restores with lazy_pages are rejected, continuing",
		    daemon->criu.version, daemon->config.criu_path);
	if (daemon->criu.kdat_problem[0] != '\0')
		log_notice(NULL, "%s", daemon->criu.kdat_problem);
	return daemon_setup_jobs(daemon, err);
}

struct daemon *
daemon_new(struct config *config, daemon_load_config_fn *load_config,
    void *load_arg, struct error *err)
{
	struct daemon *daemon;

	daemon = calloc(1, sizeof(*daemon));
	if (daemon == NULL) {
		config_clear(config);
		return error_set_errno(err, "internal", "allocate daemon"),
		    NULL;
	}
	daemon->config = *config;
	memset(config, 0, sizeof(*config));
	daemon->load_config = load_config;
	daemon->load_arg = load_arg;
	daemon->state_dir_fd = -1;
	daemon->listen_fd = -1;
	if (daemon_setup(daemon, err) < 0) {
		daemon_free(daemon);
		return NULL;
	}
	return daemon;
}

int
daemon_run(struct daemon *daemon)
{
	event_base_dispatch(daemon->base);
	return daemon->exit_code;
}

static void
daemon_free_event(struct event *event)
{
	if (event != NULL)
		event_free(event);
}

void
daemon_free(struct daemon *daemon)
{
	if (daemon == NULL)
		return;
	server_free(daemon->server);
	api_free(daemon->api);
	jobs_free(daemon->jobs);
	pool_free(daemon->pool);
	reaper_free(daemon->reaper);
	daemon_free_event(daemon->sigterm);
	daemon_free_event(daemon->sigint);
	daemon_free_event(daemon->sighup);
	daemon_free_event(daemon->stop_timer);
	daemon_free_event(daemon->status_event);
	notify_free(daemon->notify);
	if (daemon->base != NULL)
		event_base_free(daemon->base);
	if (daemon->listen_fd >= 0)
		close(daemon->listen_fd);
	if (daemon->state_dir_fd >= 0)
		close(daemon->state_dir_fd);
	config_clear(&daemon->config);
	free(daemon);
}
