/*
 * Counters and histograms of jobs for the metrics method, written in the
 * Prometheus text exposition format (version 0.0.4).
 */
#ifndef CTRD_METRICS_H
#define CTRD_METRICS_H

/* Phases of a job whose durations are measured, in seconds. */
enum metrics_phase {
	METRICS_QUEUE_WAIT,		/* queued until a worker took it */
	METRICS_LAZY_PAGES_READY,	/* lazy-pages server start to listening */
	METRICS_RESTORE,		/* RESTORE request to the tree running */
	METRICS_PAGES_COMPLETE,		/* restored to the last lazy page */
	METRICS_PHASE_COUNT,
};

/* Values sampled when the metrics are read. */
struct metrics_gauges {
	int queued;
	int restoring;		/* with a CRIU worker or lazy-pages server */
	int restored;		/* restored and not ended */
	int pool_size;
	int pool_warm;
	int pool_busy;
	int pool_spawning;
};

struct criu_stats;
struct metrics;

struct metrics *metrics_new(void);
void metrics_free(struct metrics *metrics);

void metrics_observe(struct metrics *metrics, enum metrics_phase phase,
    double seconds);

/* Count a job that reached the state restored. */
void metrics_count_restored(struct metrics *metrics);

/* Add CRIU's statistics of one restore, from its stats-restore file. */
void metrics_observe_criu(struct metrics *metrics,
    const struct criu_stats *stats);

/*
 * Count a job that ended in `state`, and for a failure its error code
 * (NULL otherwise).  At most METRICS_MAX_CODES distinct codes are kept;
 * later ones are counted as "other".
 */
void metrics_count_ended(struct metrics *metrics, const char *state,
    const char *code);

#define METRICS_MAX_CODES 32

/* Return the exposition text, malloc'ed, or NULL when out of memory. */
char *metrics_format(const struct metrics *metrics,
    const struct metrics_gauges *gauges);

#endif
