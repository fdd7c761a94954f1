#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <systemd/sd-daemon.h>

#include "error.h"
#include "log.h"
#include "notify.h"

#define NOTIFY_STATUS_MAX 256

struct notify {
	char *socket;			/* NOTIFY_SOCKET, NULL when unset */
	unsigned long long watchdog_usec;
	struct event *watchdog_timer;
	char status[NOTIFY_STATUS_MAX];	/* last STATUS= sent */
};

/*
 * sd_notify(3) reads the socket from the environment, which ctrd cleared
 * so that its children never see it.  Put it back for the one call, and
 * let sd_notify() unset it again.  ctrd is single-threaded and forks only
 * from the loop, so no child is spawned while it is set.
 */
static void __attribute__((format(printf, 2, 3)))
notify_send(struct notify *notify, const char *fmt, ...)
{
	char message[NOTIFY_STATUS_MAX + 64];
	va_list ap;
	int ret;

	if (notify == NULL || notify->socket == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	if (setenv("NOTIFY_SOCKET", notify->socket, 1) == -1) {
		log_warning(NULL, "notify systemd: out of memory, continuing");
		return;
	}
	ret = sd_notify(1, message);
	if (ret < 0)
		log_warning(NULL, "notify systemd at '%s': %s, continuing",
		    notify->socket, strerror(-ret));
}

static void
notify_on_watchdog(evutil_socket_t fd, short what, void *arg)
{
	notify_send(arg, "WATCHDOG=1");
}

static int
notify_start_watchdog(struct notify *notify, struct event_base *base,
    struct error *err)
{
	struct timeval interval;
	unsigned long long half = notify->watchdog_usec / 2;

	/* A timer of 0 would fire once; ping at least every millisecond. */
	if (half < 1000)
		half = 1000;
	interval.tv_sec = (time_t)(half / 1000000);
	interval.tv_usec = (suseconds_t)(half % 1000000);
	notify->watchdog_timer = event_new(base, -1, EV_PERSIST,
	    notify_on_watchdog, notify);
	if (notify->watchdog_timer == NULL ||
	    event_add(notify->watchdog_timer, &interval) == -1)
		return error_set(err, "internal", "start the watchdog timer");
	log_notice(NULL, "systemd watchdog on, pinging every %llu ms",
	    half / 1000);
	return 0;
}

struct notify *
notify_new(struct event_base *base, struct error *err)
{
	const char *socket = getenv("NOTIFY_SOCKET");
	struct notify *notify;
	uint64_t usec = 0;
	int ret;

	notify = calloc(1, sizeof(*notify));
	if (notify == NULL)
		return error_set_errno(err, "internal", "allocate notify"),
		    NULL;
	if (socket != NULL && socket[0] != '\0' &&
	    (notify->socket = strdup(socket)) == NULL) {
		free(notify);
		return error_set_errno(err, "internal", "allocate notify"),
		    NULL;
	}
	unsetenv("NOTIFY_SOCKET");
	/* Also unsets WATCHDOG_USEC and WATCHDOG_PID. */
	ret = sd_watchdog_enabled(1, &usec);
	if (ret < 0)
		log_warning(NULL, "invalid WATCHDOG_USEC: %s, running without watchdog",
		    strerror(-ret));
	if (ret > 0 && notify->socket != NULL) {
		notify->watchdog_usec = usec;
		if (notify_start_watchdog(notify, base, err) < 0) {
			notify_free(notify);
			return NULL;
		}
	}
	return notify;
}

void
notify_free(struct notify *notify)
{
	if (notify == NULL)
		return;
	if (notify->watchdog_timer != NULL)
		event_free(notify->watchdog_timer);
	free(notify->socket);
	free(notify);
}

void
notify_ready(struct notify *notify, const char *status)
{
	if (notify == NULL)
		return;
	snprintf(notify->status, sizeof(notify->status), "%s", status);
	notify_send(notify, "READY=1\nSTATUS=%s", status);
}

void
notify_status(struct notify *notify, const char *status)
{
	if (notify == NULL || strcmp(notify->status, status) == 0)
		return;
	snprintf(notify->status, sizeof(notify->status), "%s", status);
	notify_send(notify, "STATUS=%s", status);
}

/* systemd 253 and newer require MONOTONIC_USEC with RELOADING=1. */
void
notify_reloading(struct notify *notify)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	notify_send(notify, "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)now.tv_sec * 1000000ULL +
	    (unsigned long long)now.tv_nsec / 1000ULL);
}

void
notify_stopping(struct notify *notify)
{
	notify_send(notify, "STOPPING=1");
}

unsigned long long
notify_watchdog_usec(const struct notify *notify)
{
	return notify != NULL ? notify->watchdog_usec : 0;
}
