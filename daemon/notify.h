/* Service notifications to systemd: readiness, status and the watchdog. */
#ifndef CTRD_NOTIFY_H
#define CTRD_NOTIFY_H

#include <stdbool.h>

struct error;
struct event_base;
struct notify;

/*
 * Take NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID from the environment
 * and unset them, so no child of ctrd inherits them.  Without
 * NOTIFY_SOCKET every call below does nothing.  With a watchdog, a timer
 * on `base` sends WATCHDOG=1 at half the interval.  The pings come from
 * the event loop itself, so they stop when the loop stops turning.
 */
struct notify *notify_new(struct event_base *base, struct error *err);
void notify_free(struct notify *notify);

/* Send READY=1 with the status line `status`. */
void notify_ready(struct notify *notify, const char *status);

/* Send STATUS=`status` unless it is the last status sent. */
void notify_status(struct notify *notify, const char *status);

/* Send RELOADING=1 with the monotonic time systemd expects with it. */
void notify_reloading(struct notify *notify);

void notify_stopping(struct notify *notify);

/* Return the watchdog interval in microseconds, 0 when off. */
unsigned long long notify_watchdog_usec(const struct notify *notify);

#endif
