/* Decoding and validation of API request lines into a request struct. */
#ifndef CTRD_REQUEST_H
#define CTRD_REQUEST_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

struct error;

#define JOB_ID_LEN 16

enum request_method {
	REQUEST_RESTORE,
	REQUEST_STATUS,
	REQUEST_LIST,
	REQUEST_CANCEL,
	REQUEST_WATCH,
	REQUEST_INFO,
	REQUEST_METRICS,
};

/* The CRIU options a client may set on a restore job. */
struct restore_options {
	bool lazy_pages;
	bool tcp_established;
	bool ext_unix_sk;
	bool shell_job;
	bool file_locks;
	int log_level;		/* CRIU log level, 0-4 */
};

#define RESTORE_LOG_LEVEL_DEFAULT 4

struct request {
	json_t *id;		/* owned reference; JSON null when absent */
	enum request_method method;
	char images_dir[PATH_MAX];	/* REQUEST_RESTORE */
	struct restore_options options;	/* REQUEST_RESTORE */
	bool follow;			/* REQUEST_RESTORE */
	char job[JOB_ID_LEN + 1];	/* STATUS, CANCEL, WATCH */
};

/*
 * Decode one request line of `len` bytes (without the newline) into `req`.
 * Only syntax and types are checked here; whether the images directory
 * exists is the caller's business.  On failure `req->id` is still set when
 * the line carried one, so the error reply can echo it.  The caller releases
 * `req` with request_clear() in both cases.
 */
int request_parse(const char *line, size_t len, struct request *req,
    struct error *err);

void request_clear(struct request *req);

const char *request_method_name(enum request_method method);

#endif
