/* ctrd's configuration: defaults, the JSON config file, then flags. */
#ifndef CTRD_CONFIG_H
#define CTRD_CONFIG_H

#include <stddef.h>

struct error;

struct config {
	char *socket_path;
	char *state_dir;
	char *criu_path;
	int workers;		/* warm CRIU workers kept ready */
	int max_running;	/* jobs restoring at once */
	int max_connections;
	int max_history;	/* ended jobs kept for status and list */
	int max_queue;		/* jobs waiting for a worker */
	int restore_timeout;	/* seconds from start to restored */
	long long max_log_bytes;	/* CRIU log size at which a restore fails */
	size_t max_request_bytes;
	int log_level;		/* enum log_level */
};

#define CONFIG_DEFAULT_SOCKET "/run/ctrd/ctrd.sock"
#define CONFIG_DEFAULT_STATE_DIR "/var/lib/ctrd"
#define CONFIG_DEFAULT_CRIU "criu"

/* Fill `config` with the built-in defaults. */
void config_init(struct config *config);

/*
 * Apply the JSON object in the file at `path` over `config`.  Unknown keys,
 * wrong types and out-of-range values are errors naming the key.
 */
int config_load_file(struct config *config, const char *path,
    struct error *err);

/* Apply one setting by its config-file key from a command-line string. */
int config_set_string(struct config *config, const char *key,
    const char *value, struct error *err);

void config_clear(struct config *config);

#endif
