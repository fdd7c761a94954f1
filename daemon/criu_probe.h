/* The start-up check of the CRIU binary ctrd is configured with. */
#ifndef CTRD_CRIU_PROBE_H
#define CTRD_CRIU_PROBE_H

#include <stdbool.h>
#include <stddef.h>

struct error;

/* Oldest CRIU ctrd drives: 4.0 reworked lazy pages and the RPC it uses. */
#define CRIU_PROBE_MIN_VERSION 40000

/*
 * The directory where CRIU, run as root, caches its kernel probes in
 * criu.kdat.  CRIU compiles it in as KDAT_RUNDIR, from RUNDIR in its
 * Makefile.install, which defaults to /run.  Debian's CRIU 4.2.1 binary
 * contains the string "/run/criu.kdat".
 */
#define CRIU_PROBE_KDAT_DIR "/run"

/* Maximum size of a criu_probe_check_kdat() message, with its NUL. */
#define CRIU_PROBE_KDAT_MESSAGE_MAX 512

struct criu_probe_result {
	char version[64];	/* "4.2.1" */
	int version_number;	/* 40201 */
	bool lazy_pages;	/* kernel and CRIU support userfaultfd */
	/* Why CRIU cannot cache its kernel probes, with the fix, or "". */
	char kdat_problem[CRIU_PROBE_KDAT_MESSAGE_MAX];
};

/*
 * Start `criu swrk` once, ask its VERSION and a FEATURE_CHECK for lazy
 * pages, check whether CRIU can cache its kernel probes
 * (`result->kdat_problem`), and fail with a message naming the fix when
 * CRIU is missing or older than 4.0.  A CRIU that cannot do lazy pages on
 * this kernel is no failure: `result->lazy_pages` is false, and ctrd
 * rejects lazy restores.  Blocks for up to `timeout_ms` per reply; it runs
 * once, before the event loop starts.
 */
int criu_probe(const char *criu_path, int timeout_ms,
    struct criu_probe_result *result, struct error *err);

/*
 * Check whether CRIU can keep its kernel-probe cache in `dir`
 * (CRIU_PROBE_KDAT_DIR outside tests).  Without the cache every CRIU run
 * probes the kernel again, which adds tens of milliseconds to each restore.
 * CRIU keeps the cache only when `dir` is a tmpfs and it can create
 * DIR/criu.kdat.tmp, which it never replaces if one is left over.  Writes
 * a message naming the reason and the fix to `buf`, or "" when neither
 * problem is found.  Stays silent about a criu.kdat.tmp younger than a
 * minute, which may belong to a CRIU that is writing the cache.
 */
void criu_probe_check_kdat(const char *dir, char *buf, size_t size);

#endif
