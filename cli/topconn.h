/* sockwatch top's link to the daemon: a subscription for alerts and ban
 * events, and a second connection for the periodic status, bans, peers
 * and listeners; both dropped and made again when the daemon goes. */
#ifndef SW_TOPCONN_H
#define SW_TOPCONN_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "topview.h"

#define TOPCONN_ALERTS_MAX	500	/* newest alerts kept */
#define TOPCONN_BANS_LIMIT	1000	/* bans asked for by default */

struct topconn {
	struct client *sub, *req;
	bool up;
	int error;		/* why it is down: -errno, 0 before a try */
	char refusal[128];	/* the daemon's words when it refused us */
	int64_t retry_ms;	/* monotonic: the next connect */
	int64_t backoff_ms;
	int64_t poll_ms;	/* monotonic: the next status/bans/... */
	int64_t polled_at;	/* monotonic: the last */
	int64_t listeners_ms;	/* monotonic: the next listeners */
	int64_t listeners_at;	/* monotonic: the last listeners */
	json_t *status;
	json_t *rows[TOP_NPANES];	/* alerts oldest first */
	const char *peers_sort;	/* what the daemon ranks peers by */
	/* The first bans_limit bans by bans_sort that pass bans_filter
	 * (NULL: all) are asked for, not the whole table. */
	size_t bans_limit;
	const char *bans_sort, *bans_filter;
	size_t bans_total;	/* in force */
	size_t bans_matched;	/* that pass bans_filter */
};

void topconn_init(struct topconn *tc);
void topconn_free(struct topconn *tc);

/* Connect and subscribe, then ask for everything; on failure the link is
 * down and the next try is set further back. 0 or -errno. */
int topconn_open(struct topconn *tc);
/* Ask for status, bans and peers now, and the listeners when due.
 * 0 or -errno (down). */
int topconn_poll(struct topconn *tc);
/* Take the events that have come on the subscription. Returns how many,
 * or -errno when the daemon closed it (the link is then down). */
int topconn_drain(struct topconn *tc);
/* What is due at now_ms (monotonic): a connect, a poll. Returns 1 if
 * anything changed, 0 if not. */
int topconn_tick(struct topconn *tc, int64_t now_ms);
/* The poll timeout until the next thing due, in ms. */
int topconn_timeout(const struct topconn *tc, int64_t now_ms);
/* The subscription's fd, -1 when down. */
int topconn_fd(const struct topconn *tc);

/* Block or unblock one address; a line saying what happened into msg. */
int topconn_block(struct topconn *tc, const char *addr, bool block,
    char *msg, size_t msglen);

#endif
