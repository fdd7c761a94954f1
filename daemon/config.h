/* ctrd's configuration: defaults, the JSON config file, then flags. */
#ifndef CTRD_CONFIG_H
#define CTRD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

struct error;

/* A list of uids or gids; names in the file are resolved when it loads. */
struct config_ids {
	unsigned int *ids;
	size_t count;
};

/* A list of absolute paths, without trailing slashes ("/" stays "/"). */
struct config_paths {
	char **paths;
	size_t count;
};

struct config {
	char *socket_path;
	char *state_dir;
	char *criu_path;
	int workers;		/* warm CRIU workers kept ready */
	int max_running;	/* jobs restoring at once */
	int max_connections;	/* clients other than root */
	int max_connections_per_uid;	/* for each uid but root */
	int idle_timeout;	/* seconds a client may send nothing */
	int max_history;	/* ended jobs kept for status and list */
	int max_queue;		/* jobs waiting for a worker */
	/* Deadlines of a job's phases, in seconds; 0 turns one off. */
	int queue_timeout;	/* queued until a worker takes the job */
	int lazy_pages_timeout;	/* lazy-pages server start until it listens */
	int restore_timeout;	/* RESTORE request until the tree runs */
	int pages_timeout;	/* restored until every lazy page arrived */
	int stop_timeout;	/* seconds a stop waits for running restores */
	long long max_log_bytes;	/* CRIU log size at which a restore fails */
	size_t max_request_bytes;
	int log_level;		/* enum log_level */
	int log_target;		/* enum log_target */
	struct config_ids allowed_uids;	/* besides root */
	struct config_ids allowed_gids;	/* primary gid of the peer */
	struct config_paths allowed_image_roots;
	/* PEM files for TLS page-server links; NULL when not set. */
	char *tls_cacert;	/* CA that signed the peer's certificate */
	char *tls_cert;		/* this host's certificate */
	char *tls_key;		/* its private key */
};

#define CONFIG_DEFAULT_SOCKET "/run/ctrd/ctrd.sock"
#define CONFIG_DEFAULT_STATE_DIR "/var/lib/ctrd"
#define CONFIG_DEFAULT_CRIU "criu"

/* Fill `config` with the built-in defaults; -1 only when out of memory. */
int config_init(struct config *config, struct error *err);

/*
 * Apply the JSON object in the file at `path` over `config`.  Unknown keys,
 * wrong types and out-of-range values are errors naming the key.  On error
 * `config` may hold some of the file's keys: load into a scratch copy when
 * the old values must survive.
 */
int config_load_file(struct config *config, const char *path,
    struct error *err);

/* Apply one setting by its config-file key from a command-line string. */
int config_set_string(struct config *config, const char *key,
    const char *value, struct error *err);

void config_clear(struct config *config);

/*
 * Keys in file order, for reporting what a reload changed.  A key that is
 * not live takes effect only when ctrd restarts.
 */
size_t config_key_count(void);
const char *config_key_name(size_t index);
bool config_key_is_live(size_t index);

/* Format the value of key `index` as it would appear in the file. */
void config_format_value(const struct config *config, size_t index,
    char *buf, size_t size);

/* Swap the value of key `index` between two configs. */
void config_swap_value(struct config *a, struct config *b, size_t index);

#endif
