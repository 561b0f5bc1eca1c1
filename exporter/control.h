/* The control socket: a Unix stream socket speaking JSON lines. One request
 * object per line, one response object per line. Peers are identified with
 * SO_PEERCRED only: uid 0 is an admin, members of the control group may
 * read, everyone else is refused. */
#ifndef SW_CONTROL_H
#define SW_CONTROL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../common/evloop.h"

#define CONTROL_MAX_LINE	(64 * 1024)
#define CONTROL_MAX_OUTBUF	(4 * 1024 * 1024)
/* Connections root may still open when max_clients readers are in. */
#define CONTROL_ROOT_SLOTS	2
#define CONTROL_MAX_CLIENTS	64

enum control_role { CONTROL_READER, CONTROL_ADMIN };

struct control;
struct control_client;

/* Answer one request. cmd is the "cmd" string (already checked to be a
 * string); req is the whole request object. Return a response object
 * (the control module adds "ok": true unless it has "ok" already), or
 * NULL with *ret_error set to a static message for {"ok": false}. A
 * handler may call control_subscribe() for this client. */
typedef json_t *(*control_handler)(void *arg, struct control_client *c,
    const char *cmd, const json_t *req, const char **ret_error);

struct control_opts {
	const char *path;		/* socket file; a stale one is replaced,
					 * a live one (another daemon) is an error */
	const char *group;		/* NULL: root only; else group name */
	unsigned int max_clients;	/* further connections are refused;
					 * CONTROL_MAX_CLIENTS if 0 */
	size_t max_line;		/* CONTROL_MAX_LINE if 0 */
	size_t max_outbuf;		/* CONTROL_MAX_OUTBUF if 0 */
};

struct control_stats {
	uint64_t accepted, refused, dropped_slow, bad_requests;
};

int control_open(struct evloop *loop, const struct control_opts *o,
    control_handler fn, void *arg, struct control **ret_ctl, char *err,
    size_t errlen);
/* Close every client and remove the socket file (if it is still ours).
 * Not from inside a handler: set a flag and close after the callback. */
void control_close(struct control *ctl);

/* Commands that change state (reload, block, ...) need CONTROL_ADMIN;
 * the module refuses them for readers before calling the handler. */
int control_set_admin_commands(struct control *ctl,
    const char *const *cmds);

enum control_role control_client_role(const struct control_client *c);
uid_t control_client_uid(const struct control_client *c);
/* The peer's pid at connect time (SO_PEERCRED), for logging only. */
pid_t control_client_pid(const struct control_client *c);

/* From now on this client receives every control_broadcast() line. */
void control_subscribe(struct control_client *c);
/* Send one event object to every subscriber. A subscriber whose unsent
 * output passes max_outbuf is dropped (counted) without slowing others.
 * Does not steal the reference. */
void control_broadcast(struct control *ctl, const json_t *event);

void control_get_stats(const struct control *ctl, struct control_stats *r);
/* How many clients are subscribed (so callers can skip building events
 * nobody will read). */
unsigned int control_nsubscribers(const struct control *ctl);
unsigned int control_nclients(const struct control *ctl);
/* Subscribed clients; 0 means an event need not even be built. */
unsigned int control_nsubscribers(const struct control *ctl);

/* Parse one request line: 0 with *ret_req (an object with a string
 * "cmd") and *ret_cmd, or -EINVAL with a message in *ret_error. */
int control_parse_request(const char *line, size_t len, json_t **ret_req,
    const char **ret_cmd, const char **ret_error);

#endif
