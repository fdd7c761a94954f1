#define _GNU_SOURCE
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "api.h"
#include "config.h"
#include "criu_probe.h"
#include "error.h"
#include "job.h"
#include "log.h"
#include "pool.h"
#include "reaper.h"
#include "server.h"

/* Timeout for each reply of the start-up probe of CRIU. */
#define MAIN_PROBE_TIMEOUT_MS 10000

/* Everything the daemon runs, owned by main(). */
struct daemon {
	struct config config;
	struct criu_probe_result criu;
	struct event_base *base;
	struct reaper *reaper;
	struct pool *pool;
	struct jobs *jobs;
	struct api *api;
	struct server *server;
	struct event *sigterm;
	struct event *sigint;
	int state_dir_fd;
	int exit_code;
};

static const struct option main_options[] = {
	{ "socket", required_argument, NULL, 's' },
	{ "state-dir", required_argument, NULL, 'd' },
	{ "criu", required_argument, NULL, 'c' },
	{ "workers", required_argument, NULL, 'w' },
	{ "config", required_argument, NULL, 'f' },
	{ "log-level", required_argument, NULL, 'l' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

static void
main_usage(FILE *out)
{
	fprintf(out,
	    "usage: ctrd [--socket PATH] [--state-dir DIR] [--criu PATH] [--workers N]\n"
	    "            [--config FILE] [--log-level LEVEL]\n"
	    "\n"
	    "Restore processes from CRIU images on request over a Unix socket.\n"
	    "\n"
	    "  --socket PATH     API socket (default " CONFIG_DEFAULT_SOCKET ")\n"
	    "  --state-dir DIR   job work dirs and CRIU logs (default " CONFIG_DEFAULT_STATE_DIR ")\n"
	    "  --criu PATH       CRIU binary, 4.0 or newer (default: criu from PATH)\n"
	    "  --workers N       warm CRIU workers kept ready (default 2)\n"
	    "  --config FILE     JSON config file; flags override its keys\n"
	    "  --log-level LEVEL err, warning, notice, info or debug (default info)\n"
	    "  --version         print the version and exit\n");
}

/* The config-file key each flag sets. */
static const char *
main_flag_key(int opt)
{
	switch (opt) {
	case 's': return "socket";
	case 'd': return "state_dir";
	case 'c': return "criu";
	case 'w': return "workers";
	case 'l': return "log_level";
	default: return NULL;
	}
}

static const char *
main_option_name(int opt)
{
	const struct option *option;

	for (option = main_options; option->name != NULL; option++)
		if (option->val == opt)
			return option->name;
	return "?";
}

/* Parse flags: the config file first, then every flag over it. */
static int
main_parse_args(int argc, char **argv, struct config *config,
    struct error *err)
{
	const char *config_file = NULL;
	int opt;

	while ((opt = getopt_long(argc, argv, "", main_options, NULL)) != -1) {
		if (opt == 'h') {
			main_usage(stdout);
			exit(EXIT_SUCCESS);
		}
		if (opt == 'V') {
			printf("ctrd %s\n", CTRD_VERSION);
			exit(EXIT_SUCCESS);
		}
		if (opt == 'f')
			config_file = optarg;
		else if (main_flag_key(opt) == NULL) {
			main_usage(stderr);
			exit(EXIT_FAILURE);
		}
	}
	if (optind < argc)
		return error_set(err, "invalid-config",
		    "unexpected argument '%s'", argv[optind]);
	if (config_file != NULL &&
	    config_load_file(config, config_file, err) < 0)
		return -1;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "", main_options, NULL)) != -1) {
		const char *key = main_flag_key(opt);

		if (key != NULL && config_set_string(config, key, optarg,
		    err) < 0)
			return error_prefix(err, "option --%s",
			    main_option_name(opt));
	}
	return 0;
}

static int
main_open_state_dir(struct daemon *daemon, struct error *err)
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

static void
main_on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *daemon = arg;

	log_notice(NULL, "received %s, stopping; restored processes keep running",
	    strsignal((int)sig));
	event_base_loopbreak(daemon->base);
}

/* Listen once the pool is warm, so the first client finds a warm worker. */
static void
main_on_worker_available(void *arg)
{
	struct daemon *daemon = arg;
	struct pool_stats stats;
	struct error err;

	if (daemon->server == NULL) {
		pool_get_stats(daemon->pool, &stats);
		if (stats.warm < stats.size)
			return;
		daemon->server = server_new(daemon->base,
		    daemon->config.socket_path, daemon->api,
		    daemon->config.max_request_bytes,
		    daemon->config.max_connections, &err);
		if (daemon->server == NULL) {
			log_err(NULL, "%s", err.message);
			daemon->exit_code = EXIT_FAILURE;
			event_base_loopbreak(daemon->base);
			return;
		}
		log_notice(NULL, "ready: listening on '%s', %d warm workers, CRIU %s",
		    daemon->config.socket_path, stats.warm,
		    daemon->criu.version);
	}
	jobs_dispatch(daemon->jobs);
}

static int
main_setup(struct daemon *daemon, struct error *err)
{
	struct jobs_config jobs_config = {
		.criu_path = daemon->config.criu_path,
		.state_dir = daemon->config.state_dir,
		.max_running = daemon->config.max_running,
		.max_history = daemon->config.max_history,
		.max_queue = daemon->config.max_queue,
		.restore_timeout = daemon->config.restore_timeout,
		.max_log_bytes = daemon->config.max_log_bytes,
	};
	struct api_criu_info criu_info;

	if (main_open_state_dir(daemon, err) < 0)
		return -1;
	jobs_config.state_dir_fd = daemon->state_dir_fd;
	if (criu_probe(daemon->config.criu_path, MAIN_PROBE_TIMEOUT_MS,
	    &daemon->criu, err) < 0)
		return -1;
	log_notice(NULL, "CRIU %s at '%s', lazy pages supported",
	    daemon->criu.version, daemon->config.criu_path);
	daemon->base = event_base_new();
	if (daemon->base == NULL)
		return error_set(err, "internal", "create event loop");
	daemon->reaper = reaper_new(daemon->base, err);
	if (daemon->reaper == NULL)
		return -1;
	daemon->pool = pool_new(daemon->base, daemon->reaper,
	    daemon->config.criu_path, daemon->config.workers,
	    main_on_worker_available, daemon, err);
	if (daemon->pool == NULL)
		return -1;
	daemon->jobs = jobs_new(daemon->base, daemon->reaper, daemon->pool,
	    &jobs_config, err);
	if (daemon->jobs == NULL)
		return -1;
	criu_info.path = daemon->config.criu_path;
	criu_info.version = daemon->criu.version;
	criu_info.lazy_pages = daemon->criu.lazy_pages;
	daemon->api = api_new(daemon->jobs, daemon->pool, &criu_info);
	daemon->sigterm = evsignal_new(daemon->base, SIGTERM, main_on_signal,
	    daemon);
	daemon->sigint = evsignal_new(daemon->base, SIGINT, main_on_signal,
	    daemon);
	if (daemon->api == NULL || daemon->sigterm == NULL ||
	    daemon->sigint == NULL || evsignal_add(daemon->sigterm, NULL) ||
	    evsignal_add(daemon->sigint, NULL))
		return error_set(err, "internal", "set up signal handling");
	return 0;
}

static void
main_teardown(struct daemon *daemon)
{
	server_free(daemon->server);
	api_free(daemon->api);
	jobs_free(daemon->jobs);
	pool_free(daemon->pool);
	reaper_free(daemon->reaper);
	if (daemon->sigterm != NULL)
		event_free(daemon->sigterm);
	if (daemon->sigint != NULL)
		event_free(daemon->sigint);
	if (daemon->base != NULL)
		event_base_free(daemon->base);
	if (daemon->state_dir_fd > 0)
		close(daemon->state_dir_fd);
	config_clear(&daemon->config);
}

int
main(int argc, char **argv)
{
	struct daemon daemon = { .state_dir_fd = -1 };
	struct error err;

	setvbuf(stderr, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	config_init(&daemon.config);
	if (main_parse_args(argc, argv, &daemon.config, &err) < 0) {
		fprintf(stderr, "ctrd: %s\n", err.message);
		config_clear(&daemon.config);
		return EXIT_FAILURE;
	}
	log_set_level(daemon.config.log_level);
	log_notice(NULL, "ctrd %s starting, pid %d", CTRD_VERSION,
	    (int)getpid());
	if (main_setup(&daemon, &err) < 0) {
		log_err(NULL, "%s", err.message);
		main_teardown(&daemon);
		return EXIT_FAILURE;
	}
	event_base_dispatch(daemon.base);
	main_teardown(&daemon);
	log_notice(NULL, "stopped");
	return daemon.exit_code;
}
