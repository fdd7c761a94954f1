/* Decoding and validation of API request lines into a request struct. */
#ifndef CTRD_REQUEST_H
#define CTRD_REQUEST_H

#include <sys/types.h>

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
	REQUEST_CHECKPOINT,
};

/* Maximum length of a numeric IPv6 address with its NUL (INET6_ADDRSTRLEN). */
#define PAGE_SERVER_ADDRESS_MAX 46

/* Address and port of the page server of a lazy checkpoint or a remote lazy restore. */
struct page_server {
	char address[PAGE_SERVER_ADDRESS_MAX];	/* numeric, "" when unset */
	int port;				/* 1-65535; 0 when unset */
};

/* The CRIU options a client may set on a restore or checkpoint job. */
struct job_options {
	bool lazy_pages;
	bool tcp_established;
	bool ext_unix_sk;
	bool shell_job;
	bool file_locks;
	bool leave_running;	/* checkpoint only */
	bool tls;		/* page-server link; needs page_server */
	struct page_server page_server;
	int log_level;		/* CRIU log level, 0-4 */
};

#define JOB_LOG_LEVEL_DEFAULT 4

struct request {
	json_t *id;		/* owned reference; JSON null when absent */
	enum request_method method;
	char images_dir[PATH_MAX];	/* RESTORE, CHECKPOINT */
	struct job_options options;	/* RESTORE, CHECKPOINT */
	bool follow;			/* RESTORE, CHECKPOINT */
	pid_t pid;			/* CHECKPOINT: root of the tree */
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
