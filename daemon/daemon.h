/*
 * The daemon's lifecycle: start-up, readiness, reload on SIGHUP and the
 * graceful stop on SIGTERM.
 */
#ifndef CTRD_DAEMON_H
#define CTRD_DAEMON_H

struct config;
struct daemon;
struct error;

/*
 * Build a fresh config from the config file and the command line into
 * `config`, which the callee initialises.  On failure `config` is cleared.
 */
typedef int daemon_load_config_fn(struct config *config, void *arg,
    struct error *err);

/*
 * Check CRIU and set up the loop, the worker pool and the job registry
 * with `config` (taken over, also on failure).  `load_config` rebuilds the
 * config on SIGHUP.
 */
struct daemon *daemon_new(struct config *config,
    daemon_load_config_fn *load_config, void *load_arg, struct error *err);

/* Run until stopped; returns the process exit status. */
int daemon_run(struct daemon *daemon);

void daemon_free(struct daemon *daemon);

#endif
