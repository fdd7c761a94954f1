#include <sys/queue.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "error.h"
#include "log.h"
#include "pool.h"
#include "reaper.h"
#include "worker.h"

/* Delay before spawning again after a worker failed to start or warm up. */
#define POOL_RETRY_SECONDS 1

struct pool_entry {
	struct worker *worker;
	struct pool *pool;
	TAILQ_ENTRY(pool_entry) entry;
};

struct pool {
	struct event_base *base;
	struct reaper *reaper;
	char *criu_path;
	int size;
	int busy;
	int failures;		/* consecutive spawn or warm-up failures */
	TAILQ_HEAD(pool_entry_head, pool_entry) idle;	/* warm and spawning workers */
	struct event *refill_timer;
	struct event *claim_timer;	/* refill after a claim, see there */
	pool_available_fn *available;
	void *arg;
};

static void pool_refill(struct pool *pool);

/*
 * Delay of the refill after a claim, in milliseconds.  Starting a
 * replacement CRIU at the moment a worker takes a job made that restore
 * slower: the exec is waited for before the RESTORE request goes out, and
 * the new CRIU then competes for the CPU with the restoring one.  A short
 * restore ends first and the refill runs at its release instead.
 */
#define POOL_CLAIM_REFILL_DELAY_MS 50

static void
pool_on_claim_timer(evutil_socket_t fd, short what, void *arg)
{
	pool_refill(arg);
}

static void
pool_schedule_refill(struct pool *pool)
{
	struct timeval delay = { 0, POOL_CLAIM_REFILL_DELAY_MS * 1000 };

	if (!evtimer_pending(pool->claim_timer, NULL))
		evtimer_add(pool->claim_timer, &delay);
}

static int
pool_count_idle(const struct pool *pool, int *ret_warm)
{
	struct pool_entry *entry;
	int count = 0, warm = 0;

	TAILQ_FOREACH(entry, &pool->idle, entry) {
		count++;
		if (worker_is_warm(entry->worker))
			warm++;
	}
	if (ret_warm != NULL)
		*ret_warm = warm;
	return count;
}

static void
pool_remove(struct pool *pool, struct pool_entry *entry)
{
	TAILQ_REMOVE(&pool->idle, entry, entry);
	free(entry);
}

static void
pool_on_warm(struct worker *worker, void *arg)
{
	struct pool_entry *entry = arg;
	struct pool *pool = entry->pool;

	pool->failures = 0;
	log_debug(NULL, "worker %d: warm, CRIU %s", (int)worker_pid(worker),
	    worker_criu_version(worker));
	pool->available(pool->arg);
}

static void
pool_on_message(struct worker *worker, const CriuResp *resp, int fd,
    void *arg)
{
	log_warning(NULL, "worker %d: unexpected message while idle, ignoring",
	    (int)worker_pid(worker));
}

/* An idle worker died: replace it, with a delay if it never warmed up. */
static void
pool_on_exit(struct worker *worker, int status, void *arg)
{
	struct pool_entry *entry = arg;
	struct pool *pool = entry->pool;
	struct timeval delay = { POOL_RETRY_SECONDS, 0 };
	bool was_warm = worker_is_warm(worker);
	char desc[64];

	log_warning(NULL, "worker %d: exited while idle (%s), replacing it",
	    (int)worker_pid(worker),
	    reaper_describe_status(status, desc, sizeof(desc)));
	worker_free(worker);
	pool_remove(pool, entry);
	if (was_warm) {
		pool_refill(pool);
		return;
	}
	pool->failures++;
	evtimer_add(pool->refill_timer, &delay);
}

static const struct worker_ops pool_worker_ops = {
	.on_warm = pool_on_warm,
	.on_message = pool_on_message,
	.on_exit = pool_on_exit,
};

static int
pool_spawn_one(struct pool *pool)
{
	struct pool_entry *entry;
	struct error err;

	entry = calloc(1, sizeof(*entry));
	if (entry == NULL) {
		log_err(NULL, "allocate pool entry: out of memory");
		return -1;
	}
	entry->pool = pool;
	entry->worker = worker_spawn(pool->base, pool->reaper, pool->criu_path,
	    &pool_worker_ops, entry, &err);
	if (entry->worker == NULL) {
		log_err(NULL, "spawn CRIU worker: %s", err.message);
		free(entry);
		return -1;
	}
	TAILQ_INSERT_TAIL(&pool->idle, entry, entry);
	return 0;
}

/* Spawn workers until `size` are warm or spawning. */
static void
pool_refill(struct pool *pool)
{
	struct timeval delay = { POOL_RETRY_SECONDS, 0 };

	while (pool_count_idle(pool, NULL) < pool->size) {
		if (pool_spawn_one(pool) < 0) {
			pool->failures++;
			evtimer_add(pool->refill_timer, &delay);
			return;
		}
	}
}

static void
pool_on_refill_timer(evutil_socket_t fd, short what, void *arg)
{
	pool_refill(arg);
}

struct pool *
pool_new(struct event_base *base, struct reaper *reaper,
    const char *criu_path, int size, pool_available_fn *available,
    void *arg, struct error *err)
{
	struct pool *pool;

	pool = calloc(1, sizeof(*pool));
	if (pool == NULL)
		return error_set_errno(err, "internal", "allocate pool"), NULL;
	pool->base = base;
	pool->reaper = reaper;
	pool->size = size;
	pool->available = available;
	pool->arg = arg;
	TAILQ_INIT(&pool->idle);
	pool->criu_path = strdup(criu_path);
	pool->refill_timer = evtimer_new(base, pool_on_refill_timer, pool);
	pool->claim_timer = evtimer_new(base, pool_on_claim_timer, pool);
	if (pool->criu_path == NULL || pool->refill_timer == NULL ||
	    pool->claim_timer == NULL) {
		pool_free(pool);
		return error_set(err, "internal", "allocate pool"), NULL;
	}
	pool_refill(pool);
	return pool;
}

/*
 * Wait up to a second for a killed idle worker to exit, and reap it, so it
 * does not become a zombie of an init that does not reap.
 */
static void
pool_wait_exit(pid_t pid)
{
	struct timespec delay = { 0, 10 * 1000 * 1000 };
	int i;

	for (i = 0; i < 100; i++) {
		if (waitpid(pid, NULL, WNOHANG) != 0)
			return;
		nanosleep(&delay, NULL);
	}
	log_warning(NULL, "worker %d did not exit on close, leaving it",
	    (int)pid);
}

void
pool_free(struct pool *pool)
{
	struct pool_entry *entry;
	pid_t pid;

	if (pool == NULL)
		return;
	while ((entry = TAILQ_FIRST(&pool->idle)) != NULL) {
		pid = worker_has_exited(entry->worker) ? 0 :
		    worker_pid(entry->worker);
		/*
		 * An idle worker has no state to lose.  Closing its socket
		 * instead would make CRIU print a connection-reset error.
		 */
		worker_kill(entry->worker);
		worker_free(entry->worker);
		pool_remove(pool, entry);
		if (pid > 1)
			pool_wait_exit(pid);
	}
	if (pool->refill_timer != NULL)
		event_free(pool->refill_timer);
	if (pool->claim_timer != NULL)
		event_free(pool->claim_timer);
	free(pool->criu_path);
	free(pool);
}

/* Kill idle workers beyond `size`, those still spawning first. */
static void
pool_trim(struct pool *pool)
{
	struct pool_entry *entry, *victim;

	while (pool_count_idle(pool, NULL) > pool->size) {
		victim = NULL;
		TAILQ_FOREACH(entry, &pool->idle, entry)
			if (victim == NULL || !worker_is_warm(entry->worker))
				victim = entry;
		log_info(NULL, "worker %d: no longer needed, stopping it",
		    (int)worker_pid(victim->worker));
		/* The reaper reaps it once it exits. */
		worker_kill(victim->worker);
		worker_free(victim->worker);
		pool_remove(pool, victim);
	}
}

void
pool_set_size(struct pool *pool, int size)
{
	pool->size = size;
	pool_trim(pool);
	pool_refill(pool);
}

struct worker *
pool_claim(struct pool *pool)
{
	struct pool_entry *entry;
	struct worker *worker;

	TAILQ_FOREACH(entry, &pool->idle, entry)
		if (worker_is_warm(entry->worker))
			break;
	if (entry == NULL)
		return NULL;
	worker = entry->worker;
	pool_remove(pool, entry);
	pool->busy++;
	pool_schedule_refill(pool);
	return worker;
}

void
pool_refill_soon(struct pool *pool)
{
	struct timeval now = { 0, 0 };

	if (!evtimer_pending(pool->claim_timer, NULL))
		return;
	evtimer_del(pool->claim_timer);
	evtimer_add(pool->claim_timer, &now);
}

void
pool_release(struct pool *pool)
{
	pool->busy--;
	/* The restore is over: its replacement no longer competes with it. */
	if (evtimer_pending(pool->claim_timer, NULL)) {
		evtimer_del(pool->claim_timer);
		pool_refill(pool);
	}
}

void
pool_get_stats(const struct pool *pool, struct pool_stats *stats)
{
	int warm;
	int idle = pool_count_idle(pool, &warm);

	stats->size = pool->size;
	stats->warm = warm;
	stats->spawning = idle - warm;
	stats->busy = pool->busy;
}

