/* The control protocol's requests: each command's arguments checked and
 * decoded, nothing done yet. The daemon's handlers (daemon/commands.c)
 * act on the result; tests/fuzz/fuzz_control.c reaches this far. No I/O,
 * no globals. On error: -EINVAL (or -ENOMEM) and a static message in
 * *ret_error, as a control_handler answers it. */
#ifndef SW_REQUEST_H
#define SW_REQUEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/addr.h"
#include "../monitor/peers.h"
#include "../policy/bans.h"
#include "store.h"

#define REQUEST_ALERTS_LIMIT	1000	/* alerts when no limit is asked */
/* The most one answer holds, whatever was asked: a history of a million
 * alerts is not one reply (narrow it with since, kind, peer). */
#define REQUEST_ALERTS_MAX	10000
#define REQUEST_PEERS_LIMIT	20
#define REQUEST_BLOCK_MAX	10000	/* peers in one block request */
#define REQUEST_BLOCK_FOR_MAX	(3650LL * 86400000)	/* ten years, ms */
#define REQUEST_RECENT_MAX	1024	/* the daemon keeps as many alerts */

/* alerts: since (RFC 3339, or a duration back from now_ms), kind, peer,
 * limit. A limit above REQUEST_ALERTS_MAX is cut to it (*ret_capped).
 * ret->kind points into req. */
int request_alerts(const json_t *req, int64_t now_ms,
    struct alert_filter *ret, bool *ret_capped, const char **ret_error);

/* peers: limit (1-100000) and sort (packets, bytes, ports, syn). */
int request_peers(const json_t *req, enum peers_sort *ret_by,
    unsigned int *ret_n, const char **ret_error);

/* bans: limit, sort and filter; with none, every ban in no order. */
#define REQUEST_BANS_LIMIT_MAX	1000000
struct request_bans {
	size_t limit;			/* 0: all */
	enum bans_sort by;
	bool sorted;			/* a limit or a sort asked */
	const char *filter;		/* NULL: all; points into req */
	bool is_cidr;			/* filter is an address or prefix */
	struct cidr cidr;		/* then: canonical (bans_key) */
};
/* limit (1 to REQUEST_BANS_LIMIT_MAX), sort (left, the default, created,
 * address, count), filter (1-63 characters: an address or CIDR holds the
 * bans inside it, other text is a part of the ban's address). */
int request_bans(const json_t *req, struct request_bans *ret,
    const char **ret_error);

/* block and unblock. */
struct request_block {
	struct cidr *peers;		/* canonical (bans_key); malloc'ed */
	size_t npeers;			/* 1 to REQUEST_BLOCK_MAX */
	uint64_t for_ms;		/* 0: the configured length */
	bool permanent, force, brief;
	const char *reason;		/* NULL: none; points into req */
};
/* block: peers, for_ms (1000 ms to ten years), permanent, reason, force,
 * brief. Free with request_block_clear. */
int request_block(const json_t *req, struct request_block *ret,
    const char **ret_error);
/* unblock: peers; the rest of *ret is zero. */
int request_unblock(const json_t *req, struct request_block *ret,
    const char **ret_error);
void request_block_clear(struct request_block *b);

/* subscribe: recent, 0 to REQUEST_RECENT_MAX (dflt when absent). */
int request_subscribe(const json_t *req, unsigned int dflt,
    unsigned int *ret_recent, const char **ret_error);

#endif
