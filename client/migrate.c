#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli_error.h"
#include "event_line.h"
#include "follow.h"
#include "image_copy.h"
#include "migrate.h"
#include "output.h"
#include "session.h"
#include "value.h"

/* The width of the side column of text output: "destination". */
#define MIGRATE_SIDE_WIDTH 11

/* One ctrd of the migration and the job it runs there. */
struct migrate_side {
	const char *name;		/* "source" or "destination" */
	const char *socket_path;
	enum follow_until until;	/* the event that completes the job */
	struct session *session;	/* following the job, else NULL */
	char *job;			/* the job id, once ctrd replied */
	bool reached;			/* the job reached `until` */
	bool cancel_sent;		/* ctrd-cli sent a cancel for the job */
	bool canceled;			/* and ctrd accepted it */
};

struct migrate {
	const struct migrate_config *config;
	struct migrate_side source;
	struct migrate_side destination;
	/* CLOCK_MONOTONIC times at which ctrd-cli saw each step. */
	struct timespec submitted;	/* before the checkpoint request */
	struct timespec frozen;		/* the source's "started" */
	struct timespec resumed;	/* the destination's "restored" */
	struct timespec pages_complete;	/* the destination's "pages-complete" */
	double copy_seconds;
	json_int_t pid;			/* the destination's restored root */
	bool restored;			/* the destination sent "restored" */
	/*
	 * The source sent "pages-served" or the destination "pages-complete":
	 * the tree's memory has left the source, and canceling either job
	 * could no longer let the tree run on there.
	 */
	bool memory_moved;
	bool failed;
	struct cli_error failure;	/* the first failure */
};

static volatile sig_atomic_t migrate_signal;

/*
 * The signal handler writes a byte to this pipe, which migrate_wait()
 * polls, so a signal that arrives just before poll(2) still wakes it.
 */
static int migrate_signal_pipe[2] = { -1, -1 };

static void
migrate_on_signal(int signo)
{
	int saved = errno;
	char byte = 0;
	ssize_t n;

	migrate_signal = signo;
	/* A full pipe wakes poll(2) as well, so a failed write loses nothing. */
	n = write(migrate_signal_pipe[1], &byte, 1);
	(void)n;
	errno = saved;
}

/*
 * Catch SIGINT and SIGTERM once, so that the jobs can be canceled.  A
 * second signal has its default effect.
 */
static int
migrate_catch_signals(struct cli_error *err)
{
	struct sigaction action;
	int i;

	if (pipe(migrate_signal_pipe) == -1)
		return cli_error_set_errno(err, "create the signal pipe");
	for (i = 0; i < 2; i++) {
		fcntl(migrate_signal_pipe[i], F_SETFD, FD_CLOEXEC);
		fcntl(migrate_signal_pipe[i], F_SETFL, O_NONBLOCK);
	}
	memset(&action, 0, sizeof(action));
	action.sa_handler = migrate_on_signal;
	action.sa_flags = SA_RESETHAND | SA_RESTART;
	sigemptyset(&action.sa_mask);
	sigaction(SIGINT, &action, NULL);
	sigaction(SIGTERM, &action, NULL);
	return 0;
}

static void
migrate_now(struct timespec *ret_time)
{
	clock_gettime(CLOCK_MONOTONIC, ret_time);
}

static double
migrate_seconds(const struct timespec *from, const struct timespec *to)
{
	return (double)(to->tv_sec - from->tv_sec) +
	    (double)(to->tv_nsec - from->tv_nsec) / 1e9;
}

/* Record a failure, unless an earlier one is recorded already. */
static void __attribute__((format(printf, 2, 3)))
migrate_fail(struct migrate *m, const char *fmt, ...)
{
	va_list ap;

	if (m->failed)
		return;
	m->failed = true;
	va_start(ap, fmt);
	vsnprintf(m->failure.message, sizeof(m->failure.message), fmt, ap);
	va_end(ap);
}

/* Stop following the side's job.  The job itself goes on in ctrd. */
static void
migrate_stop_following(struct migrate_side *side)
{
	side->session = session_free(side->session);
}

/*
 * Cancel the side's job if it is still followed, on a connection of its
 * own, since the following one carries events.  A failed cancel is
 * reported and otherwise ignored: the job's end still arrives as an event,
 * or its connection closes.
 */
static void
migrate_cancel(struct migrate_side *side)
{
	struct cli_error err;
	struct session *session;
	json_t *result = NULL;

	if (side->session == NULL || side->job == NULL || side->cancel_sent)
		return;
	side->cancel_sent = true;
	session = session_open(side->socket_path, false, &err);
	if (session != NULL)
		result = session_call(session, "cancel",
		    json_pack("{s:s}", "job", side->job), &err);
	session_free(session);
	if (result == NULL) {
		fflush(stdout);
		fprintf(stderr, "%s: cancel %s job ", CLI_PROGRAM, side->name);
		value_print_text(stderr, side->job);
		fputs(": ", stderr);
		value_print_text(stderr, err.message);
		fputc('\n', stderr);
	}
	side->canceled = result != NULL;
	json_decref(result);
}

/* Cancel the source's job, unless the tree's memory has left it. */
static void
migrate_cancel_source(struct migrate *m)
{
	if (!m->memory_moved)
		migrate_cancel(&m->source);
}

static void
migrate_cancel_destination(struct migrate *m)
{
	if (!m->memory_moved)
		migrate_cancel(&m->destination);
}

/* Print `event` of `side` as a text line or a JSON line with "side". */
static int
migrate_print_event(const struct migrate *m, const struct migrate_side *side,
    json_t *event, struct cli_error *err)
{
	json_t *line;

	if (!m->config->json) {
		printf("%-*s ", MIGRATE_SIDE_WIDTH, side->name);
		event_line_print(stdout, event);
		return output_flush(err);
	}
	line = json_pack("{s:s}", "side", side->name);
	if (line == NULL || json_object_update(line, event) == -1) {
		json_decref(line);
		return cli_error_set(err, "build the %s event line",
		    side->name);
	}
	json_dumpf(line, stdout, JSON_COMPACT);
	putchar('\n');
	json_decref(line);
	return output_flush(err);
}

/*
 * Send the side's job request on a new connection that then follows the
 * job.  Returns -1 with `err` set when ctrd rejects it.
 */
static int
migrate_submit(struct migrate_side *side, const char *method,
    json_t *params, struct cli_error *err)
{
	const char *id;
	json_t *job;

	side->session = session_open(side->socket_path, false, err);
	if (side->session == NULL)
		return -1;
	job = session_call(side->session, method, json_incref(params), err);
	id = json_string_value(json_object_get(job, "job"));
	if (id != NULL)
		side->job = strdup(id);
	json_decref(job);
	if (side->job != NULL)
		return 0;
	if (job != NULL)
		cli_error_set(err, "ctrd replied to %s without a job id",
		    method);
	migrate_stop_following(side);
	return -1;
}

/*
 * Copy the images and start the restore, once the source's page server
 * listens.  A failure cancels the source's job, which lets the tree run on.
 */
static void
migrate_start_destination(struct migrate *m)
{
	const struct migrate_config *config = m->config;
	struct timespec start, end;
	struct cli_error err;

	if (m->destination.job != NULL || m->failed)
		return;
	migrate_now(&start);
	if (image_copy_run(&config->images, &migrate_signal, &err) < 0) {
		migrate_fail(m, "copy the images from '%s' to '%s': %s",
		    config->images.from, config->images.to, err.message);
		migrate_cancel_source(m);
		return;
	}
	migrate_now(&end);
	m->copy_seconds = migrate_seconds(&start, &end);
	if (migrate_signal != 0)
		return;
	if (migrate_submit(&m->destination, "restore", config->restore_params,
	    &err) < 0) {
		migrate_fail(m, "restore on the destination: %s", err.message);
		migrate_cancel_source(m);
	}
}

/*
 * Handle an event of the source's checkpoint job.  When the job fails
 * before the destination's "restored", the restore is canceled.  Later the
 * destination's ctrd fails its job by itself once the page server stops
 * serving, and kills the tree there, while a cancel could still kill a
 * tree that already has every page.
 */
static void
migrate_on_source_event(struct migrate *m, json_t *event, const char *name)
{
	struct cli_error err;
	int rc;

	if (strcmp(name, "started") == 0)
		migrate_now(&m->frozen);
	else if (strcmp(name, "page-server-ready") == 0)
		migrate_start_destination(m);
	else if (strcmp(name, "pages-served") == 0)
		m->memory_moved = true;

	rc = follow_check_event(event, m->source.until, &err);
	if (rc == 0)
		return;
	migrate_stop_following(&m->source);
	if (rc > 0) {
		m->source.reached = true;
		return;
	}
	if (!m->source.cancel_sent)
		migrate_fail(m, "source %s", err.message);
	if (!m->restored)
		migrate_cancel_destination(m);
}

/* Handle an event of the destination's restore job. */
static void
migrate_on_destination_event(struct migrate *m, json_t *event,
    const char *name)
{
	struct cli_error err;
	int rc;

	if (strcmp(name, "restored") == 0) {
		migrate_now(&m->resumed);
		m->restored = true;
		m->pid = json_integer_value(json_object_get(event, "pid"));
	}

	rc = follow_check_event(event, m->destination.until, &err);
	if (rc == 0)
		return;
	migrate_stop_following(&m->destination);
	if (rc > 0) {
		migrate_now(&m->pages_complete);
		m->destination.reached = true;
		m->memory_moved = true;
		return;
	}
	if (!m->destination.cancel_sent)
		migrate_fail(m, "destination %s", err.message);
	migrate_cancel_source(m);
}

/*
 * Handle the end of a side's connection before its job ended.  The source
 * going away before "restored" on the destination ends its dump, which
 * lets the tree run on there, so the restore is canceled.  The destination
 * going away before "restored" means no tree runs there, so the checkpoint
 * is canceled.  After "restored" nothing is canceled: the destination's
 * lazy-pages server may still copy every page without its ctrd, and a lost
 * source stops serving, which fails the restore by itself.
 */
static void
migrate_on_lost(struct migrate *m, struct migrate_side *side,
    const struct cli_error *err)
{
	migrate_fail(m, "%s job %s: %s", side->name, side->job,
	    err->message);
	migrate_stop_following(side);
	if (!m->restored && side == &m->source)
		migrate_cancel_destination(m);
	else if (!m->restored)
		migrate_cancel_source(m);
}

/*
 * Give up on the migration after `reason`.  While the tree's memory is
 * still at the source, both jobs are canceled, so the tree runs on there.
 * The source goes first: CRIU's page server takes the close of its
 * connection by a canceled destination for the end of the transfer, and
 * kills the tree it froze.  Later the jobs are left to finish in ctrd and
 * only the following stops.
 */
static void
migrate_abort(struct migrate *m, const char *reason)
{
	if (m->memory_moved) {
		migrate_fail(m,
		    "%s after the memory left the source, so source job %s and destination job %s go on in ctrd; follow them with 'ctrd-cli watch'",
		    reason, m->source.job,
		    m->destination.job != NULL ? m->destination.job : "-");
		migrate_stop_following(&m->source);
		migrate_stop_following(&m->destination);
		return;
	}
	migrate_fail(m, "%s", reason);
	migrate_cancel_source(m);
	migrate_cancel_destination(m);
}

/* Handle SIGINT or SIGTERM. */
static void
migrate_on_interrupt(struct migrate *m)
{
	char reason[64];
	char byte;

	/* Empty the pipe, or poll(2) would return at once from now on. */
	while (read(migrate_signal_pipe[0], &byte, 1) == 1)
		continue;
	snprintf(reason, sizeof(reason), "interrupted by signal %d",
	    (int)migrate_signal);
	migrate_abort(m, reason);
}

/*
 * Read, print and handle the next event of `side`.  An event that cannot
 * be printed aborts the migration, and is still handled, so that the jobs'
 * ends are seen.
 */
static void
migrate_read_side(struct migrate *m, struct migrate_side *side)
{
	struct cli_error lost, err;
	const char *name, *job;
	json_t *event;
	int rc;

	rc = session_next_event(side->session, &event, &lost);
	if (rc == 0)
		cli_error_set(&lost,
		    "ctrd at '%s' closed the connection before the job reached '%s'",
		    side->socket_path, side == &m->source ? "checkpointed" :
		    "pages-complete");
	if (rc <= 0) {
		migrate_on_lost(m, side, &lost);
		return;
	}
	name = json_string_value(json_object_get(event, "event"));
	job = json_string_value(json_object_get(event, "job"));
	if (job == NULL || strcmp(job, side->job) != 0) {
		json_decref(event);
		return;
	}
	if (migrate_print_event(m, side, event, &err) < 0 && !m->failed)
		migrate_abort(m, err.message);
	if (side == &m->source)
		migrate_on_source_event(m, event, name);
	else
		migrate_on_destination_event(m, event, name);
	json_decref(event);
}

/*
 * Wait until a followed side has a line to read.  Returns that side, or
 * NULL when a signal arrived, or when poll(2) failed with `err` set.
 */
static struct migrate_side *
migrate_wait(struct migrate *m, struct cli_error *err)
{
	struct migrate_side *sides[2] = { &m->source, &m->destination };
	struct migrate_side *polled[3] = { NULL };
	struct pollfd fds[3];
	nfds_t count = 1, i;
	int rc;

	fds[0].fd = migrate_signal_pipe[0];
	fds[0].events = POLLIN;
	for (i = 0; i < 2; i++) {
		if (sides[i]->session == NULL)
			continue;
		if (session_has_line(sides[i]->session))
			return sides[i];
		fds[count].fd = session_fd(sides[i]->session);
		fds[count].events = POLLIN;
		polled[count++] = sides[i];
	}
	rc = poll(fds, count, -1);
	if (rc == -1 && errno != EINTR)
		cli_error_set_errno(err, "wait for events from ctrd");
	if (rc == -1 || fds[0].revents != 0)
		return NULL;
	for (i = 1; i < count; i++) {
		if (fds[i].revents != 0)
			return polled[i];
	}
	return NULL;
}

/* Follow both jobs until neither is followed any more. */
static void
migrate_loop(struct migrate *m)
{
	struct migrate_side *side;
	bool interrupted = false;
	struct cli_error err;

	while (m->source.session != NULL || m->destination.session != NULL) {
		if (migrate_signal != 0 && !interrupted) {
			interrupted = true;
			migrate_on_interrupt(m);
			continue;
		}
		err.message[0] = '\0';
		side = migrate_wait(m, &err);
		if (side != NULL) {
			migrate_read_side(m, side);
			continue;
		}
		if (err.message[0] == '\0')
			continue;
		/* poll(2) failed: cancel what can be, then stop following. */
		migrate_abort(m, err.message);
		migrate_stop_following(&m->source);
		migrate_stop_following(&m->destination);
	}
}

/* Round `seconds` to milliseconds, the precision the summary claims. */
static double
migrate_round_ms(double seconds)
{
	return (double)(long long)(seconds * 1000 + 0.5) / 1000;
}

/*
 * Return the summary of a migration that succeeded, with its times in
 * seconds, or NULL.
 */
static json_t *
migrate_new_summary(const struct migrate *m)
{
	double resumed, frozen, pages;

	resumed = migrate_seconds(&m->submitted, &m->resumed);
	frozen = migrate_seconds(&m->frozen, &m->resumed);
	pages = migrate_seconds(&m->submitted, &m->pages_complete);
	return json_pack("{s:s, s:s, s:I, s:f, s:f, s:f, s:f}",
	    "source_job", m->source.job, "destination_job", m->destination.job,
	    "pid", m->pid,
	    "resumed_seconds", migrate_round_ms(resumed),
	    "frozen_seconds", migrate_round_ms(frozen),
	    "pages_complete_seconds", migrate_round_ms(pages),
	    "copy_seconds", migrate_round_ms(m->copy_seconds));
}

/*
 * Print the summary as {"summary": {...}} with --json, else as a line like
 * an event's, with "summary" in the side column.
 */
static int
migrate_print_summary(const struct migrate *m, struct cli_error *err)
{
	json_t *summary, *line;
	const char *key;
	json_t *value;

	summary = migrate_new_summary(m);
	if (summary == NULL)
		return cli_error_set(err, "build the summary");
	if (m->config->json) {
		line = json_pack("{s:o}", "summary", summary);
		if (line == NULL)
			return cli_error_set(err, "build the summary");
		json_dumpf(line, stdout, JSON_COMPACT | JSON_REAL_PRECISION(9));
		putchar('\n');
		json_decref(line);
		return output_flush(err);
	}
	printf("%-*s", MIGRATE_SIDE_WIDTH, "summary");
	json_object_foreach(summary, key, value) {
		printf(" %s=", key);
		if (json_is_real(value))
			printf("%.3f", json_real_value(value));
		else
			value_print_token(stdout, value);
	}
	putchar('\n');
	json_decref(summary);
	return output_flush(err);
}

/*
 * Set `err` to the first failure, followed by the jobs that ctrd-cli
 * canceled because of it.
 */
static void
migrate_set_error(const struct migrate *m, struct cli_error *err)
{
	size_t len;

	*err = m->failure;
	len = strlen(err->message);
	if (m->destination.canceled && len < sizeof(err->message))
		len += (size_t)snprintf(err->message + len,
		    sizeof(err->message) - len, "; canceled destination job %s",
		    m->destination.job);
	if (m->source.canceled && len < sizeof(err->message))
		snprintf(err->message + len, sizeof(err->message) - len,
		    "; canceled source job %s, so the tree runs on at the source",
		    m->source.job);
}

static void
migrate_free(struct migrate *m)
{
	migrate_stop_following(&m->source);
	migrate_stop_following(&m->destination);
	free(m->source.job);
	free(m->destination.job);
}

int
migrate_run(const struct migrate_config *config, struct cli_error *err)
{
	struct migrate m = {
		.config = config,
		.source = { .name = "source",
		    .socket_path = config->source_socket,
		    .until = FOLLOW_UNTIL_CHECKPOINTED },
		.destination = { .name = "destination",
		    .socket_path = config->destination_socket,
		    .until = FOLLOW_UNTIL_PAGES_COMPLETE },
	};
	struct cli_error submit_err;
	int rc;

	if (migrate_catch_signals(err) < 0)
		return -1;
	migrate_now(&m.submitted);
	if (migrate_submit(&m.source, "checkpoint", config->checkpoint_params,
	    &submit_err) < 0)
		return cli_error_set(err, "checkpoint on the source: %s",
		    submit_err.message);
	migrate_loop(&m);
	if (!m.failed && !m.destination.reached)
		migrate_fail(&m,
		    "source job %s was checkpointed without sending 'page-server-ready'",
		    m.source.job);
	if (m.failed) {
		migrate_set_error(&m, err);
		rc = -1;
	} else {
		rc = migrate_print_summary(&m, err);
	}
	migrate_free(&m);
	return rc;
}
