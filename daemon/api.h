/* The API methods: decode a request line, run it, send the reply. */
#ifndef CTRD_API_H
#define CTRD_API_H

#include <stdbool.h>
#include <stddef.h>

struct api;
struct config;
struct conn;
struct jobs;
struct pool;

/* CRIU facts reported by `info`. */
struct api_criu_info {
	const char *path;
	const char *version;
	bool lazy_pages;
};

/*
 * `config` is the daemon's live config: a reload replaces its contents in
 * place, so the API always checks requests against the current one.
 */
struct api *api_new(struct jobs *jobs, struct pool *pool,
    const struct api_criu_info *criu, const struct config *config);
void api_free(struct api *api);

/* Handle one request line (no newline) from `conn` and reply on it. */
void api_handle_line(struct api *api, struct conn *conn, const char *line,
    size_t len);

#endif
