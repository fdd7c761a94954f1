/* A job's `criu lazy-pages` server, which serves page faults after resume. */
#ifndef CTRD_LAZY_PAGES_H
#define CTRD_LAZY_PAGES_H

#include <sys/types.h>

struct event_base;
struct error;
struct job_options;
struct jobs_config;
struct lazy_pages;
struct reaper;

struct lazy_pages_ops {
	/* The server listens on lazy-pages.socket in the job's work dir. */
	void (*on_ready)(struct lazy_pages *server, void *arg);
	/* The server was reaped; `status` is the wait status. */
	void (*on_exit)(struct lazy_pages *server, int status, void *arg);
	/*
	 * Pages copied so far out of the pages the server handles, read from
	 * its log every LAZY_PAGES_PROGRESS_MS while it runs, when changed.
	 */
	void (*on_progress)(struct lazy_pages *server, long copied_pages,
	    long total_pages, void *arg);
};

/* Interval of the progress reports, in milliseconds. */
#define LAZY_PAGES_PROGRESS_MS 250

/* Name of the server's log file in the job's work dir. */
#define LAZY_PAGES_LOG "lazy-pages.log"

/*
 * The Unix socket the server binds in the work dir, for the restoring
 * CRIU to connect to (LAZY_PAGES_SOCK_NAME in CRIU's criu/uffd.c).
 */
#define LAZY_PAGES_SOCKET "lazy-pages.socket"

/*
 * Start `criu lazy-pages` (the CRIU of `config`) for one job, in the job's
 * work dir `work_fd` (where both it and the restoring worker find
 * lazy-pages.socket), reading images from `images_fd`.  With a page server
 * in `options`, the server fetches the pages from it, over TLS with the
 * files of `config` when `options` requests it, instead of from the
 * images.  The server writes one byte on its status pipe once it listens,
 * and exits 0 after it has copied every page.  Progress is reported only
 * at log level 4, the only level at which the server logs its page copies.
 */
struct lazy_pages *lazy_pages_start(struct event_base *base,
    struct reaper *reaper, const struct jobs_config *config, int images_fd,
    int work_fd, const struct job_options *options,
    const struct lazy_pages_ops *ops, void *arg, struct error *err);

pid_t lazy_pages_pid(const struct lazy_pages *server);

/* Send SIGKILL to the server if it still runs. */
void lazy_pages_kill(struct lazy_pages *server);

/* Release the server; one still running is only logged when it exits. */
void lazy_pages_free(struct lazy_pages *server);

#endif
