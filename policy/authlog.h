/* sshd's authentication log, read for brute force ([bruteforce] log).
 *
 * authlog_parse takes one line as sshd writes it to syslog, the journal
 * or its own -E file and says what it reports: a failed login, a login,
 * or a connection that authenticated nothing and left. The line is the
 * attacker's to shape (the user name is theirs), so the address and port
 * are read from the line's end, after everything they can choose: a user
 * named "x from 198.18.9.9 port 22" names nobody.
 *
 * authlog_count keeps, per address, the failures within a window and
 * says when they pass the limit. A connection that named a user and left
 * without trying a password counts twice: that is a guesser's first
 * look at the server (hydra asks which methods it offers), not a
 * person's typo; after a failure of its own, its end counts once. A
 * login of the address's own forgives what came before it, at most
 * AUTHLOG_FORGIVE times a window: an
 * administrator who mistypes and then logs in is not a guesser, and a
 * guesser holding one valid account cannot reset its count forever.
 * No I/O, no logging; the daemon checks each event against the kernel's
 * sockets before counting it (daemon/authlog.c). */
#ifndef SW_AUTHLOG_H
#define SW_AUTHLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/addr.h"

#define AUTHLOG_LINE_MAX	2048	/* longer lines are not sshd's */
#define AUTHLOG_KEEP		32	/* failures remembered per address */
#define AUTHLOG_FORGIVE		3	/* logins that forgive, per window */

enum authlog_kind {
	AUTHLOG_FAILED = 1,	/* "Failed password for ..." and the like */
	AUTHLOG_INVALID_USER,	/* "Invalid user NAME from A port P" */
	AUTHLOG_PREAUTH_END,	/* authenticated nothing, left [preauth] */
	AUTHLOG_ACCEPTED,	/* "Accepted password for ..." */
	AUTHLOG_KIND_MAX = AUTHLOG_ACCEPTED
};

/* What a line reports. Crosses from the inspector to the parent as it
 * is (both ends are the same binary); the parent checks it. */
struct authlog_event {
	uint32_t kind;		/* enum authlog_kind */
	uint16_t port;		/* the client's */
	uint16_t pad;
	struct addr addr;	/* the client */
};

/* One line without its newline. 0 and *ret for an event; -ENOENT for a
 * line that reports none (another program's, or an sshd message that is
 * not about authentication). */
int authlog_parse(const char *line, size_t len, struct authlog_event *ret);

/* "failed", "invalid-user", "preauth-end", "accepted"; "?" otherwise. */
const char *authlog_kind_name(uint32_t kind);

struct authlog_count;

/* Room for max addresses; the least recently active one makes room. */
int authlog_count_new(size_t max, struct authlog_count **ret);
void authlog_count_free(struct authlog_count *c);

/* Count an event at now_ms (a monotonic clock). Returns how many
 * failures of the address lie within window_ms (at most AUTHLOG_KEEP);
 * an AUTHLOG_ACCEPTED returns 0, and *ret_forgiven says whether it
 * forgave (may be NULL). */
unsigned int authlog_count_add(struct authlog_count *c,
    const struct authlog_event *ev, int64_t now_ms, int64_t window_ms,
    bool *ret_forgiven);

/* Forget an address (it was banned: the next ban starts afresh). */
void authlog_count_forget(struct authlog_count *c, const struct addr *a);

#endif
