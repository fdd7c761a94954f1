/*
 * A post-copy migration of a process tree from one ctrd to another: a lazy
 * checkpoint on the source, a copy of its images, and a restore on the
 * destination that pulls the memory from the source's page server.
 */
#ifndef CTRD_CLI_MIGRATE_H
#define CTRD_CLI_MIGRATE_H

#include <stdbool.h>

#include <jansson.h>

#include "image_copy.h"

struct cli_error;

struct migrate_config {
	const char *source_socket;
	const char *destination_socket;
	json_t *checkpoint_params;	/* complete, with images_dir */
	json_t *restore_params;		/* complete, with images_dir */
	struct image_copy images;	/* prepared */
	bool json;			/* print events as JSON lines */
};

/*
 * Run the migration that `config` describes, printing both jobs' events,
 * each marked with its side, and a summary line at the end.  Returns 0 once
 * the destination job reached "pages-complete" and the source job
 * "checkpointed", or -1 with `err` naming the first failure.  Until the
 * tree's memory has left the source, a failure on one side cancels the
 * other side's job, so that the tree runs on at the source.  SIGINT and
 * SIGTERM count as a failure.
 */
int migrate_run(const struct migrate_config *config, struct cli_error *err);

#endif
