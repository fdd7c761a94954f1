#include <sys/socket.h>

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "activation.h"
#include "error.h"
#include "log.h"

/* Find the API socket among `count` passed descriptors. */
static int
activation_pick(int count, char **names)
{
	int i;

	for (i = 0; i < count; i++)
		if (names != NULL && names[i] != NULL &&
		    strcmp(names[i], ACTIVATION_SOCKET_NAME) == 0)
			return SD_LISTEN_FDS_START + i;
	/* systemd names a socket "unknown" when the unit sets no name. */
	if (count == 1 && (names == NULL || names[0] == NULL ||
	    strcmp(names[0], "unknown") == 0))
		return SD_LISTEN_FDS_START;
	return -1;
}

static void
activation_free_names(char **names)
{
	char **name;

	if (names == NULL)
		return;
	for (name = names; *name != NULL; name++)
		free(*name);
	free(names);
}

int
activation_take_socket(struct error *err)
{
	char **names = NULL;
	int count, fd, i;

	error_clear(err);
	count = sd_listen_fds_with_names(1, &names);
	if (count < 0) {
		errno = -count;
		return error_set_errno(err, "internal",
		    "read the sockets passed by systemd");
	}
	if (count == 0)
		return -1;
	fd = activation_pick(count, names);
	for (i = 0; i < count; i++) {
		if (SD_LISTEN_FDS_START + i == fd)
			continue;
		log_warning(NULL, "closing passed descriptor %d named '%s', which ctrd does not use",
		    SD_LISTEN_FDS_START + i,
		    names != NULL && names[i] != NULL ? names[i] : "");
		close(SD_LISTEN_FDS_START + i);
	}
	activation_free_names(names);
	if (fd < 0)
		return error_set(err, "invalid-config",
		    "systemd passed %d sockets and none is named '%s'; set FileDescriptorName=%s in the socket unit",
		    count, ACTIVATION_SOCKET_NAME, ACTIVATION_SOCKET_NAME);
	if (sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0) <= 0) {
		close(fd);
		return error_set(err, "invalid-config",
		    "the socket systemd passed is not a listening Unix stream socket; use ListenStream= with a path in the socket unit");
	}
	return fd;
}
