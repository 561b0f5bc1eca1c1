/* The daemon pushes alerts, ban changes and socket changes on the
 * subscription; the counters, bans and peers are asked for once a
 * second (and within 250 ms of a ban event). The listeners cost the daemon
 * a socket dump and a walk of /proc for root (190 ms with 117 processes
 * here): they are asked for every 10 s, and 2 s after the last time when
 * a listening socket opens or closes. A daemon that goes away is tried
 * again with a growing wait, and what was last seen stays on the
 * screen. */
#include "topconn.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../common/timeutil.h"
#include "client.h"

#define POLL_MS		1000
#define LISTENERS_MS	10000
#define LISTENERS_MIN_MS 2000
#define BANS_MIN_MS	250
#define BACKOFF_MIN_MS	250
#define BACKOFF_MAX_MS	4000
#define RECENT_ALERTS	100
#define PEERS_LIMIT	200

void
topconn_init(struct topconn *tc)
{
	memset(tc, 0, sizeof(*tc));
	tc->backoff_ms = BACKOFF_MIN_MS;
	tc->peers_sort = "packets";
	tc->bans_limit = TOPCONN_BANS_LIMIT;
	tc->bans_sort = "left";
	tc->rows[TOP_ALERTS] = json_array();
}

static void
topconn_down(struct topconn *tc, int err, int64_t now_ms)
{
	client_close(tc->sub);
	client_close(tc->req);
	tc->sub = tc->req = NULL;
	tc->up = false;
	tc->error = err;
	tc->retry_ms = now_ms + tc->backoff_ms;
	if ((tc->backoff_ms *= 2) > BACKOFF_MAX_MS)
		tc->backoff_ms = BACKOFF_MAX_MS;
}

void
topconn_free(struct topconn *tc)
{
	size_t i;

	topconn_down(tc, 0, 0);
	json_decref(tc->status);
	for (i = 0; i < TOP_NPANES; i++)
		json_decref(tc->rows[i]);
	memset(tc, 0, sizeof(*tc));
}

/* One request on the request connection; the answer if it is "ok". */
static int
call(struct topconn *tc, json_t *req, json_t **ret_resp)
{
	json_t *resp = NULL;
	int r;

	if (req == NULL)
		return -ENOMEM;
	r = client_call(tc->req, req, &resp);
	json_decref(req);
	if (r < 0)
		return r;
	if (!json_is_true(json_object_get(resp, "ok"))) {
		json_decref(resp);
		return -EPROTO;
	}
	*ret_resp = resp;
	return 0;
}

/* Replace *slot with resp's member key. */
static void
take(json_t **slot, json_t *resp, const char *key)
{
	json_t *v = json_object_get(resp, key);

	json_decref(*slot);
	*slot = json_incref(json_is_array(v) ? v : NULL);
}

/* A daemon before limit and sort sends them all, and no counts. */
static size_t
count_or(const json_t *resp, const char *key, size_t dflt)
{
	const json_t *v = json_object_get(resp, key);

	return json_is_integer(v) && json_integer_value(v) >= 0 ?
	    (size_t)json_integer_value(v) : dflt;
}

static int
poll_bans(struct topconn *tc)
{
	json_t *req, *resp;
	size_t n;
	int r;

	req = json_pack("{s:s, s:I, s:s}", "cmd", "bans", "limit",
	    (json_int_t)tc->bans_limit, "sort", tc->bans_sort);
	if (req != NULL && tc->bans_filter != NULL &&
	    tc->bans_filter[0] != '\0' && json_object_set_new(req, "filter",
	    json_string(tc->bans_filter)) < 0) {
		json_decref(req);
		req = NULL;
	}
	if ((r = call(tc, req, &resp)) < 0)
		return r;
	take(&tc->rows[TOP_BANS], resp, "bans");
	n = json_array_size(tc->rows[TOP_BANS]);
	tc->bans_total = count_or(resp, "total", n);
	tc->bans_matched = count_or(resp, "matched", n);
	json_decref(resp);
	return 0;
}

int
topconn_poll(struct topconn *tc)
{
	int64_t now = time_mono_ms();
	json_t *resp;
	int r;

	if (!tc->up)
		return -ENOTCONN;
	tc->polled_at = now;
	tc->poll_ms = now + POLL_MS;
	if ((r = call(tc, json_pack("{s:s}", "cmd", "status"), &resp)) < 0)
		goto fail;
	json_decref(tc->status);
	tc->status = resp;
	if ((r = poll_bans(tc)) < 0)
		goto fail;
	if ((r = call(tc, json_pack("{s:s, s:i, s:s}", "cmd", "peers",
	    "limit", PEERS_LIMIT, "sort", tc->peers_sort), &resp)) < 0)
		goto fail;
	take(&tc->rows[TOP_PEERS], resp, "peers");
	json_decref(resp);
	if (now < tc->listeners_ms)
		return 0;
	if ((r = call(tc, json_pack("{s:s}", "cmd", "listeners"), &resp)) < 0)
		goto fail;
	take(&tc->rows[TOP_LISTENERS], resp, "sockets");
	json_decref(resp);
	tc->listeners_at = now;
	tc->listeners_ms = now + LISTENERS_MS;
	return 0;
fail:
	/* A refusal (-EPROTO) is the daemon's answer, not a lost link. */
	if (r != -EPROTO)
		topconn_down(tc, r, time_mono_ms());
	return r;
}

static void
add_alert(struct topconn *tc, json_t *a)
{
	json_t *arr = tc->rows[TOP_ALERTS];

	if (!json_is_object(a) || arr == NULL)
		return;
	json_array_append(arr, a);
	while (json_array_size(arr) > TOPCONN_ALERTS_MAX)
		json_array_remove(arr, 0);
}

static json_int_t
last_id(const json_t *arr)
{
	return json_integer_value(json_object_get(json_array_get(arr,
	    json_array_size(arr) - 1), "id"));
}

/* The daemon's ring of recent alerts, after those seen before it
 * restarted: ids go on from the database's. A history that starts below
 * ours is another one (a new database): it replaces ours. */
static void
merge_alerts(struct topconn *tc, json_t *recent)
{
	json_int_t seen = last_id(tc->rows[TOP_ALERTS]);
	json_t *a;
	size_t i;

	if (!json_is_array(recent))
		return;
	if (json_array_size(recent) > 0 && last_id(recent) < seen) {
		json_array_clear(tc->rows[TOP_ALERTS]);
		seen = 0;
	}
	json_array_foreach(recent, i, a)
		if (json_integer_value(json_object_get(a, "id")) > seen)
			add_alert(tc, a);
}

int
topconn_open(struct topconn *tc)
{
	json_t *req, *resp = NULL;
	int r;

	/* A refusal says why this try failed, not an earlier one. */
	tc->refusal[0] = '\0';
	if ((r = client_open(&tc->sub)) < 0 ||
	    (r = client_open(&tc->req)) < 0)
		goto fail;
	req = json_pack("{s:s, s:i}", "cmd", "subscribe", "recent",
	    RECENT_ALERTS);
	if (req == NULL) {
		r = -ENOMEM;
		goto fail;
	}
	r = client_call(tc->sub, req, &resp);
	json_decref(req);
	if (r == 0 && !json_is_true(json_object_get(resp, "ok"))) {
		snprintf(tc->refusal, sizeof(tc->refusal), "%s",
		    json_string_value(json_object_get(resp, "error")) ?:
		    "refused");
		topview_printable(tc->refusal);
		r = -EPROTO;
	}
	if (r < 0 || (r = client_set_nonblock(tc->sub)) < 0)
		goto fail;
	merge_alerts(tc, json_object_get(resp, "recent"));
	json_decref(resp);
	tc->up = true;
	tc->error = 0;
	tc->listeners_ms = 0;
	tc->backoff_ms = BACKOFF_MIN_MS;
	/* Events read along with the answer: poll(2) would not say so. */
	if ((r = topconn_drain(tc)) < 0)
		return r;
	return topconn_poll(tc);
fail:
	json_decref(resp);
	topconn_down(tc, r, time_mono_ms());
	return r;
}

/* What the daemon lists as listeners: TCP listening, UDP unconnected. */
static bool
is_listener(const json_t *s)
{
	const char *st = json_string_value(json_object_get(s, "state"));

	return st != NULL && json_is_string(json_object_get(s,
	    "local_addr")) && (strcmp(st, "listen") == 0 ||
	    strcmp(st, "unconn") == 0);
}

int
topconn_drain(struct topconn *tc)
{
	const char *type;
	json_t *ev;
	int n = 0, r;

	if (!tc->up)
		return -ENOTCONN;
	while ((r = client_next(tc->sub, &ev)) == 0) {
		type = json_string_value(json_object_get(ev, "event")) ?: "";
		if (strcmp(type, "alert") == 0)
			add_alert(tc, json_object_get(ev, "alert"));
		else if (strcmp(type, "ban") == 0 ||
		    strcmp(type, "unban") == 0) {
			/* The bans soon, not once for each ban of a burst:
			 * each poll gets the first bans_limit afresh. */
			if (tc->poll_ms > tc->polled_at + BANS_MIN_MS)
				tc->poll_ms = tc->polled_at + BANS_MIN_MS;
		} else if (is_listener(json_object_get(ev, "socket")) &&
		    tc->listeners_ms > tc->listeners_at + LISTENERS_MIN_MS)
			tc->listeners_ms = tc->listeners_at + LISTENERS_MIN_MS;
		json_decref(ev);
		n++;
	}
	if (r == -ETIMEDOUT)
		return n;
	topconn_down(tc, r, time_mono_ms());
	return r;
}

int
topconn_tick(struct topconn *tc, int64_t now_ms)
{
	if (!tc->up && now_ms >= tc->retry_ms) {
		topconn_open(tc);
		return 1;
	}
	if (tc->up && now_ms >= tc->poll_ms) {
		topconn_poll(tc);
		return 1;
	}
	return 0;
}

int
topconn_timeout(const struct topconn *tc, int64_t now_ms)
{
	int64_t due = tc->up ? tc->poll_ms : tc->retry_ms;

	return due <= now_ms ? 0 : (int)(due - now_ms);
}

int
topconn_fd(const struct topconn *tc)
{
	return tc->up ? client_fd(tc->sub) : -1;
}

int
topconn_block(struct topconn *tc, const char *addr, bool block, char *msg,
    size_t msglen)
{
	json_t *req, *resp = NULL, *v;
	const char *why;
	int r;

	if (!tc->up) {
		snprintf(msg, msglen, "not connected to sockwatchd");
		return -ENOTCONN;
	}
	req = block ? json_pack("{s:s, s:[s], s:s}", "cmd", "block", "peers",
	    addr, "reason", "sockwatch top") :
	    json_pack("{s:s, s:[s]}", "cmd", "unblock", "peers", addr);
	if (req == NULL)
		return -ENOMEM;
	r = client_call(tc->req, req, &resp);
	json_decref(req);
	if (r < 0) {
		snprintf(msg, msglen, "%s %s: %s", block ? "block" : "unblock",
		    addr, strerror(-r));
		topconn_down(tc, r, time_mono_ms());
		return r;
	}
	why = json_string_value(json_object_get(resp, "error"));
	if (why == NULL && (v = json_array_get(json_object_get(resp,
	    "refused"), 0)) != NULL)
		why = json_string_value(v);
	if (why == NULL && (v = json_array_get(json_object_get(resp,
	    "failed"), 0)) != NULL)
		why = json_string_value(v);
	if (!json_is_true(json_object_get(resp, "ok")) || why != NULL) {
		snprintf(msg, msglen, "%s %s: %s", block ? "block" : "unblock",
		    addr, why ? why : "refused");
		r = -EPERM;
	} else
		snprintf(msg, msglen, "%s %s", block ? "blocked" : "unblocked",
		    addr);
	topview_printable(msg);
	json_decref(resp);
	tc->poll_ms = 0;
	return r;
}
