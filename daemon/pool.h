/* The pool of pre-spawned, warm CRIU workers. */
#ifndef CTRD_POOL_H
#define CTRD_POOL_H

struct event_base;
struct error;
struct pool;
struct reaper;
struct worker;

struct pool_stats {
	int size;		/* warm workers the pool keeps ready */
	int warm;		/* idle and answered VERSION */
	int spawning;		/* started, VERSION reply pending */
	int busy;		/* claimed by a job and not yet released */
};

/* Called whenever a worker turns warm, so queued jobs can start. */
typedef void pool_available_fn(void *arg);

/*
 * Create a pool that keeps `size` warm workers of the CRIU at `criu_path`.
 * Spawning starts at once; `available` runs each time a worker turns warm.
 */
struct pool *pool_new(struct event_base *base, struct reaper *reaper,
    const char *criu_path, int size, pool_available_fn *available,
    void *arg, struct error *err);

/* Stop spawning and release every idle worker. */
void pool_free(struct pool *pool);

/*
 * Keep `size` workers from now on: spawn the missing ones, or stop idle
 * workers beyond it.  Workers claimed by jobs are never affected.
 */
void pool_set_size(struct pool *pool, int size);

/*
 * Take a warm worker, or return NULL when none is warm.  The caller owns it
 * (set its ops at once) and must call pool_release() when it frees it.  The
 * replacement starts 50 ms later, or at the release if that comes first,
 * so the new CRIU does not compete with the restore for the CPU.
 */
struct worker *pool_claim(struct pool *pool);

/*
 * Spawn the replacements of claimed workers in the next turn of the loop
 * instead of after pool_claim()'s delay.  Call it when jobs are waiting.
 */
void pool_refill_soon(struct pool *pool);

/* Record that a claimed worker was freed by its job. */
void pool_release(struct pool *pool);

void pool_get_stats(const struct pool *pool, struct pool_stats *stats);

#endif
