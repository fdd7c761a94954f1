#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "criu_stats.h"
#include "metrics.h"

/* Upper bounds of the duration buckets, in seconds, from 1 ms to 1 h. */
static const double metrics_buckets[] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
	10, 30, 60, 300, 900, 3600,
};

#define METRICS_BUCKET_COUNT \
	(sizeof(metrics_buckets) / sizeof(*metrics_buckets))

static const char *const metrics_phase_names[] = {
	[METRICS_QUEUE_WAIT] = "queue_wait",
	[METRICS_LAZY_PAGES_READY] = "lazy_pages_ready",
	[METRICS_RESTORE] = "restore",
	[METRICS_PAGES_COMPLETE] = "pages_complete",
};

static const char *const metrics_end_states[] = {
	"exited", "checkpointed", "failed", "canceled", "interrupted",
};

#define METRICS_END_STATE_COUNT \
	(sizeof(metrics_end_states) / sizeof(*metrics_end_states))

struct metrics_histogram {
	unsigned long long buckets[METRICS_BUCKET_COUNT];	/* not cumulative */
	unsigned long long count;
	double sum;
};

struct metrics_code {
	char name[48];
	unsigned long long count;
};

struct metrics {
	struct metrics_histogram phases[METRICS_PHASE_COUNT];
	/* restore_time and forking_time of CRIU's stats-restore files */
	struct metrics_histogram criu_restore;
	struct metrics_histogram criu_forking;
	unsigned long long criu_pages_restored;
	unsigned long long restored;
	unsigned long long ended[METRICS_END_STATE_COUNT];
	struct metrics_code codes[METRICS_MAX_CODES + 1];	/* + "other" */
	size_t code_count;
};

struct metrics *
metrics_new(void)
{
	return calloc(1, sizeof(struct metrics));
}

void
metrics_free(struct metrics *metrics)
{
	free(metrics);
}

static void
metrics_histogram_add(struct metrics_histogram *histogram, double seconds)
{
	size_t i;

	if (seconds < 0)
		seconds = 0;
	histogram->count++;
	histogram->sum += seconds;
	for (i = 0; i < METRICS_BUCKET_COUNT; i++) {
		if (seconds <= metrics_buckets[i]) {
			histogram->buckets[i]++;
			break;
		}
	}
}

void
metrics_observe(struct metrics *metrics, enum metrics_phase phase,
    double seconds)
{
	metrics_histogram_add(&metrics->phases[phase], seconds);
}

void
metrics_observe_criu(struct metrics *metrics, const struct criu_stats *stats)
{
	metrics_histogram_add(&metrics->criu_restore, stats->restore_us / 1e6);
	metrics_histogram_add(&metrics->criu_forking, stats->forking_us / 1e6);
	if (stats->has_pages_restored)
		metrics->criu_pages_restored += stats->pages_restored;
}

void
metrics_count_restored(struct metrics *metrics)
{
	metrics->restored++;
}

static struct metrics_code *
metrics_find_code(struct metrics *metrics, const char *code)
{
	struct metrics_code *other = &metrics->codes[METRICS_MAX_CODES];
	size_t i;

	for (i = 0; i < metrics->code_count; i++)
		if (strcmp(metrics->codes[i].name, code) == 0)
			return &metrics->codes[i];
	if (metrics->code_count == METRICS_MAX_CODES) {
		snprintf(other->name, sizeof(other->name), "other");
		return other;
	}
	snprintf(metrics->codes[metrics->code_count].name,
	    sizeof(metrics->codes[0].name), "%s", code);
	return &metrics->codes[metrics->code_count++];
}

void
metrics_count_ended(struct metrics *metrics, const char *state,
    const char *code)
{
	size_t i;

	for (i = 0; i < METRICS_END_STATE_COUNT; i++)
		if (strcmp(state, metrics_end_states[i]) == 0)
			metrics->ended[i]++;
	if (code != NULL)
		metrics_find_code(metrics, code)->count++;
}

/*
 * Write the samples of `histogram` as metric `name`.  `label` is a
 * key="value" pair that each sample carries, or "" for none.
 */
static void
metrics_format_histogram(FILE *out, const char *name, const char *label,
    const struct metrics_histogram *histogram)
{
	const char *comma = label[0] != '\0' ? "," : "";
	unsigned long long cumulative = 0;
	size_t i;

	for (i = 0; i < METRICS_BUCKET_COUNT; i++) {
		cumulative += histogram->buckets[i];
		fprintf(out, "%s_bucket{%s%sle=\"%g\"} %llu\n",
		    name, label, comma, metrics_buckets[i], cumulative);
	}
	fprintf(out, "%s_bucket{%s%sle=\"+Inf\"} %llu\n",
	    name, label, comma, histogram->count);
	/* A sample without labels has no braces. */
	if (label[0] != '\0') {
		fprintf(out, "%s_sum{%s} %.6f\n", name, label, histogram->sum);
		fprintf(out, "%s_count{%s} %llu\n", name, label,
		    histogram->count);
	} else {
		fprintf(out, "%s_sum %.6f\n", name, histogram->sum);
		fprintf(out, "%s_count %llu\n", name, histogram->count);
	}
}

static void
metrics_format_phases(FILE *out, const struct metrics *metrics)
{
	char label[64];
	size_t i;

	fprintf(out, "# HELP ctrd_phase_duration_seconds Time jobs spent in each phase.\n"
	    "# TYPE ctrd_phase_duration_seconds histogram\n");
	for (i = 0; i < METRICS_PHASE_COUNT; i++) {
		snprintf(label, sizeof(label), "phase=\"%s\"",
		    metrics_phase_names[i]);
		metrics_format_histogram(out, "ctrd_phase_duration_seconds",
		    label, &metrics->phases[i]);
	}
}

/* CRIU's own statistics of the restores, from its stats-restore files. */
static void
metrics_format_criu(FILE *out, const struct metrics *metrics)
{
	fprintf(out, "# HELP ctrd_criu_restore_seconds Time CRIU spent in each restore, by its own clock.\n"
	    "# TYPE ctrd_criu_restore_seconds histogram\n");
	metrics_format_histogram(out, "ctrd_criu_restore_seconds", "",
	    &metrics->criu_restore);
	fprintf(out, "# HELP ctrd_criu_forking_seconds Time restored processes spent forking their children, summed per restore.\n"
	    "# TYPE ctrd_criu_forking_seconds histogram\n");
	metrics_format_histogram(out, "ctrd_criu_forking_seconds", "",
	    &metrics->criu_forking);
	fprintf(out, "# HELP ctrd_criu_pages_restored_total Private memory pages CRIU wrote from the images, lazy pages excluded.\n"
	    "# TYPE ctrd_criu_pages_restored_total counter\n"
	    "ctrd_criu_pages_restored_total %llu\n",
	    metrics->criu_pages_restored);
}

static void
metrics_format_jobs(FILE *out, const struct metrics *metrics,
    const struct metrics_gauges *gauges)
{
	size_t i;

	fprintf(out, "# HELP ctrd_jobs Jobs by current state.\n"
	    "# TYPE ctrd_jobs gauge\n"
	    "ctrd_jobs{state=\"queued\"} %d\n"
	    "ctrd_jobs{state=\"restoring\"} %d\n"
	    "ctrd_jobs{state=\"restored\"} %d\n",
	    gauges->queued, gauges->restoring, gauges->restored);
	fprintf(out, "# HELP ctrd_jobs_restored_total Jobs whose tree ran.\n"
	    "# TYPE ctrd_jobs_restored_total counter\n"
	    "ctrd_jobs_restored_total %llu\n", metrics->restored);
	fprintf(out, "# HELP ctrd_jobs_ended_total Jobs that ended, by final state.\n"
	    "# TYPE ctrd_jobs_ended_total counter\n");
	for (i = 0; i < METRICS_END_STATE_COUNT; i++)
		fprintf(out, "ctrd_jobs_ended_total{state=\"%s\"} %llu\n",
		    metrics_end_states[i], metrics->ended[i]);
	fprintf(out, "# HELP ctrd_job_errors_total Failed or interrupted jobs, by error code.\n"
	    "# TYPE ctrd_job_errors_total counter\n");
	for (i = 0; i < METRICS_MAX_CODES + 1; i++)
		if (metrics->codes[i].count > 0)
			fprintf(out, "ctrd_job_errors_total{code=\"%s\"} %llu\n",
			    metrics->codes[i].name, metrics->codes[i].count);
}

static void
metrics_format_pool(FILE *out, const struct metrics_gauges *gauges)
{
	fprintf(out, "# HELP ctrd_queue_depth Jobs waiting for a CRIU worker.\n"
	    "# TYPE ctrd_queue_depth gauge\n"
	    "ctrd_queue_depth %d\n", gauges->queued);
	fprintf(out, "# HELP ctrd_workers CRIU workers of the pool, by state.\n"
	    "# TYPE ctrd_workers gauge\n"
	    "ctrd_workers{state=\"warm\"} %d\n"
	    "ctrd_workers{state=\"busy\"} %d\n"
	    "ctrd_workers{state=\"spawning\"} %d\n"
	    "# HELP ctrd_workers_target Workers the pool keeps (workers).\n"
	    "# TYPE ctrd_workers_target gauge\n"
	    "ctrd_workers_target %d\n",
	    gauges->pool_warm, gauges->pool_busy, gauges->pool_spawning,
	    gauges->pool_size);
}

char *
metrics_format(const struct metrics *metrics,
    const struct metrics_gauges *gauges)
{
	char *text = NULL;
	size_t size = 0;
	FILE *out;

	out = open_memstream(&text, &size);
	if (out == NULL)
		return NULL;
	metrics_format_jobs(out, metrics, gauges);
	metrics_format_pool(out, gauges);
	metrics_format_phases(out, metrics);
	metrics_format_criu(out, metrics);
	if (fclose(out) != 0) {
		free(text);
		return NULL;
	}
	return text;
}
