/* The start-up check of the CRIU binary ctrd is configured with. */
#ifndef CTRD_CRIU_PROBE_H
#define CTRD_CRIU_PROBE_H

#include <stdbool.h>

struct error;

/* Oldest CRIU ctrd drives: 4.0 reworked lazy pages and the RPC it uses. */
#define CRIU_PROBE_MIN_VERSION 40000

struct criu_probe_result {
	char version[64];	/* "4.2.1" */
	int version_number;	/* 40201 */
	bool lazy_pages;	/* kernel and CRIU support userfaultfd */
};

/*
 * Start `criu swrk` once, ask its VERSION and a FEATURE_CHECK for lazy
 * pages, and fail with a message naming the fix when CRIU is missing, older
 * than 4.0, or cannot do lazy pages on this kernel.  Blocks for up to
 * `timeout_ms` per reply; it runs once, before the event loop starts.
 */
int criu_probe(const char *criu_path, int timeout_ms,
    struct criu_probe_result *result, struct error *err);

#endif
