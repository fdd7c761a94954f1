/* Socket activation: the listening socket systemd passes, if any. */
#ifndef CTRD_ACTIVATION_H
#define CTRD_ACTIVATION_H

struct error;

/* FileDescriptorName= of the API socket in ctrd.socket. */
#define ACTIVATION_SOCKET_NAME "ctrd"

/*
 * Take the API socket passed by systemd and unset LISTEN_PID, LISTEN_FDS
 * and LISTEN_FDNAMES, so no child inherits them.  The socket is the one named
 * ACTIVATION_SOCKET_NAME, or the only one passed when it has no name.
 * Other passed descriptors are closed.  Returns the descriptor, or -1 when
 * ctrd was not socket-activated, or -1 with `err` set when what was passed
 * is unusable.  The caller checks err->code to tell the two apart.
 */
int activation_take_socket(struct error *err);

#endif
