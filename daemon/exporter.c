/*
 * The exporter: the process that talks to clients. Forked by the parent
 * (export.c), it opens the control socket and the metrics listener while
 * it still may, then becomes an unprivileged user with no capabilities,
 * no_new_privs and a seccomp allow-list. Every request line is parsed
 * here; what checks goes up to the parent as one IPC_REQUEST (an admin's
 * with its socket, so that the parent reads the peer's credentials
 * itself) and the parent's answer comes back down. A scrape of /metrics
 * asks the parent for the text. Events for the subscribers come down
 * ready to send.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "../common/ipc.h"
#include "../common/log.h"
#include "../common/privdrop.h"
#include "../common/sandbox.h"
#include "../common/timeutil.h"
#include "sockwatchd.h"

#define EXPORTER_METRICS_MS	2000	/* the parent answers a scrape within */
#define EXPORTER_READ_MAX	(1024 * 1024)	/* bytes per wake-up */
#define EXPORTER_SUBS_MAX	64	/* subscribe requests in flight */

struct exporter {
	int fd;				/* to the parent */
	struct evloop *loop;
	struct control *ctl;
	struct metrics_http *http;
	int timer_fd;
	struct ipc_reader rd;
	uint32_t *readers;		/* uids that may read, sorted */
	size_t nreaders;
	uint64_t subs[EXPORTER_SUBS_MAX];	/* ids asking to subscribe */
	size_t nsubs;
	uint32_t metrics_seq;
	struct mbuf *metrics_out;	/* the scrape being answered */
	bool metrics_done;
	struct export_stats sent;
};

static void
exporter_send(struct exporter *ex, enum ipc_type type, const void *a,
    size_t alen, const void *b, size_t blen, int passfd)
{
	int r;

	/* The parent went away or stopped reading: nothing to do but end. */
	if ((r = ipc_send_fd(ex->fd, type, a, alen, b, blen, passfd)) < 0)
		_exit(r == -EPIPE ? 0 : 1);
}

static int
uid_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* Members of the control group, as the parent last said (it reads the
 * account database; we cannot). */
static bool
exporter_is_reader(void *arg, uid_t uid)
{
	struct exporter *ex = arg;
	uint32_t u = (uint32_t)uid;

	return ex->nreaders > 0 && bsearch(&u, ex->readers, ex->nreaders,
	    sizeof(u), uid_cmp) != NULL;
}

static void exporter_stats(struct exporter *ex);

/* Every request goes up as its line (JSON that parsed, at most
 * CONTROL_MAX_LINE long). */
static json_t *
exporter_handle(void *arg, struct control_client *c, const char *cmd,
    const json_t *req, const char **ret_error)
{
	struct exporter *ex = arg;
	struct ipc_request q;
	const char *text;
	size_t len;

	/* The line as it came: it parsed (control.c), the parent parses it
	 * again, strictly; writing it anew would only cost time. */
	(void)req;
	(void)cmd;
	text = control_client_line(c, &len);
	memset(&q, 0, sizeof(q));
	q.client = control_client_id(c);
	q.uid = (uint32_t)control_client_uid(c);
	q.pid = (uint32_t)control_client_pid(c);
	q.admin = control_client_role(c) == CONTROL_ADMIN;
	/* Root's requests come with root's socket: the parent believes the
	 * kernel's word on the peer, not ours. */
	q.fd = q.admin;
	if (strcmp(cmd, "subscribe") == 0) {
		if (ex->nsubs == EXPORTER_SUBS_MAX) {
			*ret_error = "too many subscriptions at once";
			return NULL;
		}
		ex->subs[ex->nsubs++] = q.client;
	}
	/* status counts the clients: the figures first. */
	exporter_stats(ex);
	exporter_send(ex, IPC_REQUEST, &q, sizeof(q), text, len,
	    q.fd ? control_client_fd(c) : -1);
	return CONTROL_DEFER;
}

static bool
exporter_take_sub(struct exporter *ex, uint64_t id)
{
	size_t i;

	for (i = 0; i < ex->nsubs; i++) {
		if (ex->subs[i] != id)
			continue;
		ex->subs[i] = ex->subs[--ex->nsubs];
		return true;
	}
	return false;
}

static void
exporter_response(struct exporter *ex, const struct ipc_msg *m)
{
	const char *json;
	uint64_t id;
	size_t len;
	json_t *resp;
	bool ok, sub;

	if (ipc_decode_response(m, &id, &json, &len) < 0)
		_exit(1);
	/* The parent's text goes out as it is (a listing can be megabytes);
	 * only a subscription's answer is read, for whether it succeeded. */
	if (!(sub = exporter_take_sub(ex, id))) {
		(void)control_reply_line(ex->ctl, id, json, len);
		return;
	}
	resp = json_loadb(json, len, 0, NULL);
	if (!json_is_object(resp)) {
		json_decref(resp);
		(void)control_reply(ex->ctl, id, NULL, "internal error", false);
		return;
	}
	ok = !json_is_false(json_object_get(resp, "ok"));
	(void)control_reply(ex->ctl, id, resp, NULL, sub && ok);
}

static void
exporter_message(struct exporter *ex, const struct ipc_msg *m)
{
	const uint8_t *rest;
	uint32_t seq, *u;
	json_t *ev;
	size_t n;

	switch (m->type) {
	case IPC_RESPONSE:
		exporter_response(ex, m);
		break;
	case IPC_EVENT:
		if ((ev = json_loadb((const char *)m->payload, m->len, 0,
		    NULL)) != NULL)
			control_broadcast(ex->ctl, ev);
		json_decref(ev);
		break;
	case IPC_METRICS_REPLY:
		if (ipc_decode_seq(m, &seq, &rest, &n) == 0 &&
		    seq == ex->metrics_seq && ex->metrics_out != NULL) {
			mbuf_add(ex->metrics_out, rest, n);
			ex->metrics_done = true;
		}
		break;
	case IPC_READERS:
		if (ipc_decode_readers(m, &u, &n) < 0)
			break;
		qsort(u, n, sizeof(*u), uid_cmp);
		free(ex->readers);
		ex->readers = u;
		ex->nreaders = n;
		break;
	default:
		_exit(1);		/* the reader's mask lets nothing else by */
	}
}

/* Read from the parent and handle what came. Ends the process when the
 * parent is gone or breaks the framing. */
static void
exporter_read(struct exporter *ex)
{
	struct ipc_msg m;
	ssize_t n;
	int r;

	n = ipc_reader_fill(&ex->rd, ex->fd, EXPORTER_READ_MAX);
	if (n == 0 || (n < 0 && n != -EAGAIN))
		_exit(0);
	while ((r = ipc_next(&ex->rd, &m)) == 1)
		exporter_message(ex, &m);
	if (r < 0)
		_exit(1);
}

static void
on_parent(void *arg, uint32_t events)
{
	(void)events;
	exporter_read(arg);
}

/* A scrape: the parent renders the text (it holds the figures). */
static void
exporter_metrics(void *arg, struct mbuf *b)
{
	struct exporter *ex = arg;
	int64_t end = time_mono_ms() + EXPORTER_METRICS_MS;
	struct pollfd p = { .fd = ex->fd, .events = POLLIN };
	int left;

	ex->metrics_out = b;
	ex->metrics_done = false;
	if (ipc_send_seq(ex->fd, IPC_METRICS_REQ, ++ex->metrics_seq, NULL,
	    0) < 0)
		_exit(1);
	while (!ex->metrics_done && (left = (int)(end - time_mono_ms())) > 0)
		if (poll(&p, 1, left) > 0)
			exporter_read(ex);
	ex->metrics_out = NULL;
	if (!ex->metrics_done)
		b->oom = 1;		/* answered as an error */
}

/* The control counters to the parent, when they changed. */
static void
exporter_stats(struct exporter *ex)
{
	struct export_stats st;

	memset(&st, 0, sizeof(st));
	control_get_stats(ex->ctl, &st.control);
	st.clients = control_nclients(ex->ctl);
	st.subscribers = control_nsubscribers(ex->ctl);
	if (memcmp(&st, &ex->sent, sizeof(st)) == 0)
		return;
	ex->sent = st;
	exporter_send(ex, IPC_CONTROL_STATS, &st, sizeof(st), NULL, 0, -1);
}

static void
on_tick(void *arg, uint32_t events)
{
	struct exporter *ex = arg;
	uint64_t n;

	(void)events;
	if (read(ex->timer_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_warn("timerfd");
	if (ex->http != NULL)
		metrics_http_tick(ex->http);
	exporter_stats(ex);
}

/* Before the drop: the listening sockets (the control socket's group is
 * set while we may), the loop, the timer. 0, or -errno with err set. */
static int
exporter_setup(struct exporter *ex, const struct config *cfg, char *err,
    size_t errlen)
{
	struct itimerspec its = { { 0, SW_TICK_MS * 1000000L },
	    { 0, SW_TICK_MS * 1000000L } };
	struct control_opts co = { 0 };
	int r;

	snprintf(err, errlen, "setup: out of memory or descriptors");
	if ((r = evloop_new(&ex->loop)) < 0)
		return r;
	ex->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK |
	    TFD_CLOEXEC);
	if (ex->timer_fd < 0 || timerfd_settime(ex->timer_fd, 0, &its,
	    NULL) < 0)
		return -errno;
	co.path = cfg->daemon.socket;
	co.group = cfg->daemon.control_group;
	co.max_clients = cfg->daemon.max_clients;
	if ((r = control_open(ex->loop, &co, exporter_handle, ex, &ex->ctl,
	    err, errlen)) < 0)
		return r;
	if ((r = control_set_reader_commands(ex->ctl, commands_reader)) < 0)
		return r;
	control_set_reader_check(ex->ctl, exporter_is_reader, ex);
	if (cfg->daemon.metrics_listen != NULL &&
	    (r = metrics_http_open(ex->loop, cfg->daemon.metrics_listen,
	    exporter_metrics, ex, &ex->http, err, errlen)) < 0)
		return r;
	snprintf(err, errlen, "setup: out of memory or descriptors");
	if ((r = evloop_add(ex->loop, ex->fd, EPOLLIN, on_parent, ex,
	    NULL)) < 0 || (r = evloop_add(ex->loop, ex->timer_fd, EPOLLIN,
	    on_tick, ex, NULL)) < 0)
		return r;
	return 0;
}

void
exporter_main(const struct exporter_args *a)
{
	static struct exporter ex;
	int keep[1] = { a->fd };
	char err[512];
	const char *step;
	int r;

	privdrop_set_role("exporter");
	child_begin(a->fd, a->parent, keep, 1);
	ex.fd = a->fd;
	ex.rd.accept = IPC_TO_EXPORTER;
	if (exporter_setup(&ex, a->cfg, err, sizeof(err)) < 0)
		child_fail_text(ex.fd, err);
	if ((r = privdrop_user(a->user, &step)) < 0 ||
	    (r = privdrop_no_new_privs(&step)) < 0 ||
	    (r = sandbox_exporter(&step)) < 0)
		child_fail(ex.fd, step, r);
	exporter_send(&ex, IPC_HELLO, NULL, 0, NULL, 0, -1);
	for (;;)
		if (evloop_run_once(ex.loop, -1) < 0)
			_exit(1);
}
