/* The CLI's side of the control socket: JSON lines over a Unix socket. */
#ifndef SW_CLIENT_H
#define SW_CLIENT_H

#include <jansson.h>

#define CLIENT_DEFAULT_SOCKET "/run/sockwatch/sockwatch.sock"

struct client;

/* The socket path: -S, else $SOCKWATCH_SOCKET, else the default. */
void client_set_path(const char *path);
const char *client_path(void);

/* Connect. -ENOENT/-ECONNREFUSED mean the daemon is not running. */
int client_open(struct client **ret_client);
void client_close(struct client *c);

/* Send one request object, read one response object. 0, or -errno
 * (-EPROTO for a response that is not a JSON object). */
int client_call(struct client *c, const json_t *req, json_t **ret_resp);
/* Read the next line-delimited object (for subscriptions); blocks. 0,
 * -EPIPE when the daemon closed the connection, or -errno. */
int client_next(struct client *c, json_t **ret_obj);
/* Make reads return at once: client_next then gives -ETIMEDOUT when no
 * whole line has come yet (what came stays buffered). 0 or -errno. */
int client_set_nonblock(struct client *c);
/* The socket, to poll. */
int client_fd(const struct client *c);

/* client_open with the CLI's error reporting: EXIT_OK, or a message on
 * stderr and EXIT_NODAEMON (nothing listens) / EXIT_FAIL. */
int client_connect(struct client **ret_client);

/* One request on a fresh connection (req's reference is taken), with
 * the CLI's error reporting:
 * returns EXIT_OK and *ret_resp (with "ok": true), or prints the problem
 * on stderr and returns EXIT_NODAEMON / EXIT_FAIL. */
int client_request(const char *cmdname, json_t *req, json_t **ret_resp);

#endif
