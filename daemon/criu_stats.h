/* Reading the statistics CRIU writes to its work dir after a restore. */
#ifndef CTRD_CRIU_STATS_H
#define CTRD_CRIU_STATS_H

#include <stdbool.h>
#include <stdint.h>

struct error;

/* The file CRIU 4.x writes to its work dir when a restore succeeds. */
#define CRIU_STATS_RESTORE_FILE "stats-restore"

/*
 * Maximum size of the stats-restore ctrd reads.  CRIU writes 12 bytes of
 * header and one restore entry, which packs to under 50 bytes.
 */
#define CRIU_STATS_MAX_BYTES 4096

/*
 * CRIU's statistics of one restore.  Pages are of the system page size.
 * restore_us runs from after CRIU's inventory check to just before the
 * tree is caught and resumed, so it leaves out option set-up and CRIU's
 * kernel probes.  forking_us is the time each restored process spent
 * creating its children, summed over the processes, so it is near 0 for
 * a single process.  pages_restored counts the private memory pages CRIU
 * wrote from the images, which leaves out the pages of a lazy restore
 * that arrive after the tree resumes.
 */
struct criu_stats {
	uint32_t forking_us;
	uint32_t restore_us;
	uint64_t pages_restored;
	bool has_pages_restored;	/* false: the file lacks the field */
	/*
	 * Pages of memory areas inherited from the parent process that
	 * CRIU compared with the parent's copy, and those it found equal
	 * and left shared copy-on-write.
	 */
	uint64_t pages_compared;
	uint64_t pages_skipped_cow;
};

/*
 * Read CRIU_STATS_RESTORE_FILE from the directory open as `dir_fd` into
 * `ret_stats`.  The file must be a regular file, not a symbolic link, of
 * at most CRIU_STATS_MAX_BYTES, with CRIU's stats magic and a whole
 * restore entry.  On failure the message of `err` names the file and the
 * fault.  Its code is image-missing when the file does not exist, internal
 * when a system call fails, and image-corrupt for any other fault.
 */
int criu_stats_read(int dir_fd, struct criu_stats *ret_stats,
    struct error *err);

#endif
