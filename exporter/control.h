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
 * NULL with *ret_error set to a static message for {"ok": false}, or
 * CONTROL_DEFER: the answer comes later through control_reply(), and
 * the client's further requests wait for it. A handler may call
 * control_subscribe() for this client. */
extern const int control_defer_token;
#define CONTROL_DEFER	((json_t *)(uintptr_t)&control_defer_token)
typedef json_t *(*control_handler)(void *arg, struct control_client *c,
    const char *cmd, const json_t *req, const char **ret_error);

struct control_opts {
	const char *path;		/* socket file; a stale one is replaced,
					 * a live one (another daemon) is an error */
	const char *group;		/* NULL: root only; else group name,
					 * given the socket file (0660);
					 * without CAP_CHOWN, one of ours */
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

/* The commands a reader (a member of the control group) may run: an
 * allow-list, checked before the handler is called; without one readers
 * may run nothing. CONTROL_ADMIN (uid 0) may run any. */
int control_set_reader_commands(struct control *ctl,
    const char *const *cmds);
/* Who is a reader, decided by fn instead of the account database (a
 * confined process that cannot read it). */
void control_set_reader_check(struct control *ctl,
    bool (*fn)(void *arg, uid_t uid), void *arg);
/* A deferred request's answer (resp as a handler's, or NULL with err);
 * subscribe: the client receives broadcasts from now on if resp is an
 * answer. Takes the reference. 0, or -ENOENT when the client is gone. */
int control_reply(struct control *ctl, uint64_t id, json_t *resp,
    const char *err, bool subscribe);
/* The same with the answer as one line of JSON text already (no newline
 * in it; one is added), sent as is: a relay need not parse it again. */
int control_reply_line(struct control *ctl, uint64_t id, const char *line,
    size_t len);

enum control_role control_client_role(const struct control_client *c);
uid_t control_client_uid(const struct control_client *c);
/* The peer's pid at connect time (SO_PEERCRED), for logging only. */
pid_t control_client_pid(const struct control_client *c);
/* Unique for the life of the control object (never 0). */
uint64_t control_client_id(const struct control_client *c);
/* Inside the handler: the request line as it came (valid JSON, without
 * its newline), for a relay that passes it on as is. */
const char *control_client_line(const struct control_client *c,
    size_t *ret_len);
/* The connection itself (to pass along, never to close). */
int control_client_fd(const struct control_client *c);

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

/* An answer with "ok": true first (for people reading the stream),
 * unless it says "ok" itself. Takes the reference; NULL when out of
 * memory. */
json_t *control_ok_first(json_t *resp);

/* Parse one request line: 0 with *ret_req (an object with a string
 * "cmd") and *ret_cmd, or -EINVAL with a message in *ret_error. */
int control_parse_request(const char *line, size_t len, json_t **ret_req,
    const char **ret_cmd, const char **ret_error);

#endif
