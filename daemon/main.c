#define _GNU_SOURCE
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "daemon.h"
#include "error.h"
#include "log.h"

/* Max flags that set config keys on one command line. */
#define MAIN_MAX_FLAGS 32

/* A config key set on the command line. */
struct main_flag {
	const char *key;
	const char *value;
};

/* The command line, kept so a reload can apply it again over the file. */
struct main_args {
	const char *config_file;	/* NULL: defaults and flags only */
	bool check_config;
	struct main_flag flags[MAIN_MAX_FLAGS];
	int flag_count;
};

static const struct option main_options[] = {
	{ "socket", required_argument, NULL, 's' },
	{ "state-dir", required_argument, NULL, 'd' },
	{ "criu", required_argument, NULL, 'c' },
	{ "workers", required_argument, NULL, 'w' },
	{ "config", required_argument, NULL, 'f' },
	{ "log-level", required_argument, NULL, 'l' },
	{ "log-target", required_argument, NULL, 't' },
	{ "check-config", no_argument, NULL, 'k' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

static void
main_usage(FILE *out)
{
	fprintf(out,
	    "usage: ctrd [--config FILE] [--socket PATH] [--state-dir DIR] [--criu PATH]\n"
	    "            [--workers N] [--log-level LEVEL] [--log-target TARGET]\n"
	    "       ctrd --check-config [--config FILE] [flags]\n"
	    "\n"
	    "Restore processes from CRIU images on request over a Unix socket.\n"
	    "\n"
	    "  --config FILE       JSON config file; flags override its keys\n"
	    "  --socket PATH       API socket (default " CONFIG_DEFAULT_SOCKET "),\n"
	    "                      unused when systemd passes the socket\n"
	    "  --state-dir DIR     job work dirs and CRIU logs (default " CONFIG_DEFAULT_STATE_DIR ")\n"
	    "  --criu PATH         CRIU binary, 4.0 or newer (default: criu from PATH)\n"
	    "  --workers N         warm CRIU workers kept ready (default 2)\n"
	    "  --log-level LEVEL   err, warning, notice, info or debug (default info)\n"
	    "  --log-target TARGET auto, journal or stderr (default auto: the journal\n"
	    "                      when stderr is connected to it)\n"
	    "  --check-config      validate the config file and flags, then exit\n"
	    "  --version           print the version and exit\n"
	    "\n"
	    "SIGTERM or SIGINT stops gracefully, SIGHUP reloads the config file.\n");
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
	case 't': return "log_target";
	default: return NULL;
	}
}

/* Parse the command line; exits for --help, --version and misuse. */
static void
main_parse_args(int argc, char **argv, struct main_args *args)
{
	const char *key;
	int opt;

	while ((opt = getopt_long(argc, argv, "", main_options, NULL)) != -1) {
		key = main_flag_key(opt);
		if (opt == 'h') {
			main_usage(stdout);
			exit(EXIT_SUCCESS);
		} else if (opt == 'V') {
			printf("ctrd %s\n", CTRD_VERSION);
			exit(EXIT_SUCCESS);
		} else if (opt == 'f') {
			args->config_file = optarg;
		} else if (opt == 'k') {
			args->check_config = true;
		} else if (key != NULL && args->flag_count < MAIN_MAX_FLAGS) {
			args->flags[args->flag_count].key = key;
			args->flags[args->flag_count].value = optarg;
			args->flag_count++;
		} else {
			main_usage(stderr);
			exit(EXIT_FAILURE);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "ctrd: unexpected argument '%s'\n",
		    argv[optind]);
		main_usage(stderr);
		exit(EXIT_FAILURE);
	}
}

/* The long option that sets `key`, for error messages. */
static const char *
main_option_name(const char *key)
{
	const struct option *option;
	const char *option_key;

	for (option = main_options; option->name != NULL; option++) {
		option_key = main_flag_key(option->val);
		if (option_key != NULL && strcmp(option_key, key) == 0)
			return option->name;
	}
	return key;
}

/* Build the config: defaults, then the config file, then every flag. */
static int
main_load_config(struct config *config, void *arg, struct error *err)
{
	const struct main_args *args = arg;
	const struct main_flag *flag;
	int i;

	if (config_init(config, err) < 0)
		return -1;
	if (args->config_file != NULL &&
	    config_load_file(config, args->config_file, err) < 0) {
		config_clear(config);
		return -1;
	}
	for (i = 0; i < args->flag_count; i++) {
		flag = &args->flags[i];
		if (config_set_string(config, flag->key, flag->value,
		    err) < 0) {
			config_clear(config);
			return error_prefix(err, "option --%s",
			    main_option_name(flag->key));
		}
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct main_args args = { 0 };
	struct daemon *daemon;
	struct config config;
	struct error err;
	int status;

	setvbuf(stderr, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	main_parse_args(argc, argv, &args);
	if (main_load_config(&config, &args, &err) < 0) {
		fprintf(stderr, "ctrd: %s\n", err.message);
		return EXIT_FAILURE;
	}
	if (args.check_config) {
		printf("ctrd: config %s is valid\n",
		    args.config_file != NULL ? args.config_file :
		    "(defaults and flags)");
		config_clear(&config);
		return EXIT_SUCCESS;
	}
	log_set_level(config.log_level);
	log_set_target(config.log_target);
	log_notice(NULL, "ctrd %s starting, pid %d", CTRD_VERSION,
	    (int)getpid());
	daemon = daemon_new(&config, main_load_config, &args, &err);
	if (daemon == NULL) {
		log_err(NULL, "%s", err.message);
		return EXIT_FAILURE;
	}
	status = daemon_run(daemon);
	daemon_free(daemon);
	log_notice(NULL, "stopped");
	return status;
}
