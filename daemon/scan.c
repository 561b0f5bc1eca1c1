/* The live socket table: a full dump at start, closes at once from the
 * kernel's destroy notifications, and the listener audit on every new
 * listener. Every scan_interval the namespace's socket counters are read
 * (sockstat.h); the table is dumped again only when one of them moved,
 * a destroy notification came, or the last full dump is
 * full_scan_interval old: a dump costs CPU in proportion to the sockets,
 * reading the counters next to nothing (docs/benchmarks.md, 2). What the
 * counters cannot see (sockstat.c says what) is seen at the forced dump,
 * so full_scan_interval bounds it. */
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/timeutil.h"
#include "../exporter/sockjson.h"
#include "../monitor/proc.h"
#include "../monitor/sockstat.h"
#include "../policy/detect.h"
#include "sockwatchd.h"

#define EVENTS_BATCH 64		/* destroy datagrams read per wake-up */
#define SCAN_PROCNET "/proc/net"	/* our namespace's, as we are in it */

/* Whether a scheduled dump may be skipped. */
struct scan_quiet {
	struct sockstat last;		/* the counters at the last dump */
	bool valid;			/* last was read */
	bool dirty;			/* a destroy event came since */
	int64_t full_ms;		/* monotonic: the last dump */
	struct scan_stats n;
};

static const struct sockdiag_query scan_all = {
	.protos = SOCKDIAG_TCP | SOCKDIAG_UDP | SOCKDIAG_UNIX,
	.families = SOCKDIAG_INET4 | SOCKDIAG_INET6,
	.states = SOCKDIAG_STATES_ALL,
	.port = -1,
};

static void
scan_event(struct sw *sw, const char *type, const struct sock_info *s)
{
	json_t *j;

	if (export_nsubscribers(sw) == 0)
		return;
	if ((j = sockjson_encode(s, NULL, 0, false)) != NULL)
		commands_event(sw, type, j);
}

/* Listeners are audited after the sync, with one /proc pass for all. */
static void
scan_queue_listener(struct sw *sw, const struct sock_info *s)
{
	struct socklist *q = &sw->new_listeners;

	if (socklist_reserve(q, q->n + 1) < 0) {
		log_warnx("out of memory: a listener goes unaudited");
		return;
	}
	q->v[q->n++] = *s;
}

/* A socket that now has another remote end than when last seen: a UDP
 * socket bound first and connected later, or a listener that left
 * LISTEN and connected, keeps its cookie; to the connect policy it is a
 * new connection all the same. */
static bool
scan_new_peer(const struct sock_info *s, const struct sock_info *old)
{
	return old != NULL && (s->rport != old->rport ||
	    !addr_equal(&s->raddr, &old->raddr));
}

static void
scan_changed(void *arg, enum socktable_event ev, const struct sock_info *s,
    const struct sock_info *old)
{
	struct sw *sw = arg;

	switch (ev) {
	case SOCKTABLE_OPEN:
		sw->n.ev_open++;
		scan_event(sw, "socket-open", s);
		break;
	case SOCKTABLE_CLOSE:
		sw->n.ev_close++;
		scan_event(sw, "socket-close", s);
		return;
	case SOCKTABLE_STATE:
		sw->n.ev_state++;
		scan_event(sw, "socket-state", s);
		break;
	}
	if (detect_is_listener(s))
		scan_queue_listener(sw, s);
	else if (ev == SOCKTABLE_OPEN || scan_new_peer(s, old))
		enforce_socket(sw, s);
}

static void
scan_audit(struct sw *sw)
{
	struct proc_owner owners[SOCKJSON_OWNERS_MAX];
	struct procmap *pm = NULL;
	struct alert a;
	size_t i, n;
	int r;

	if (sw->new_listeners.n == 0)
		return;
	if (sw->cfg->listen.nallow > 0 && (r = procmap_build("/proc",
	    &pm)) < 0)
		log_warnx("cannot read /proc for the listener audit: %s",
		    strerror(-r));
	for (i = 0; i < sw->new_listeners.n; i++) {
		const struct sock_info *s = &sw->new_listeners.v[i];

		n = pm ? procmap_lookup(pm, s->inode, owners,
		    SOCKJSON_OWNERS_MAX) : 0;
		if (n > SOCKJSON_OWNERS_MAX)
			n = SOCKJSON_OWNERS_MAX;
		/* Our own metrics listener (the exporter's) is configured,
		 * not a surprise. */
		if (n == 1 && export_is_child(sw, owners[0].pid))
			continue;
		r = detect_listener(sw->cfg, s, owners, n, &a);
		if (r > 0)
			alerts_raise(sw, &a);
		else if (r < 0)
			log_warnx("listener audit: %s", strerror(-r));
	}
	sw->new_listeners.n = 0;
	procmap_free(pm);
}

/* A full dump, diffed against the table. The first one reports no
 * socket events but audits every listener that is already there. */
static int
scan_full(struct sw *sw, bool initial)
{
	struct scan_quiet *q = sw->quiet;
	struct socklist l = { 0 };
	size_t i;
	int r;

	/* Counters read before the dump: a change during it moves them
	 * again after, and the next check dumps once more. */
	q->valid = sockstat_read(SCAN_PROCNET, &q->last) == 0;
	q->dirty = false;
	q->full_ms = time_mono_ms();
	if ((r = sockdiag_dump(sw->sd, &scan_all, &l)) < 0) {
		log_warnx("%s", sockdiag_error(sw->sd));
		q->valid = false;
		return r;
	}
	sw->n.scans++;
	if (initial) {
		for (i = 0; i < l.n; i++)
			if (detect_is_listener(&l.v[i]))
				scan_queue_listener(sw, &l.v[i]);
		r = socktable_sync(sw->table, &l, NULL, NULL);
	} else
		r = socktable_sync(sw->table, &l, scan_changed, sw);
	socklist_free(&l);
	if (r < 0)
		log_warnx("socket table: %s", strerror(-r));
	inspect_listeners(sw);
	scan_audit(sw);
	return r;
}

static void
on_destroy(void *arg, uint32_t events)
{
	(void)events;
	scan_events(arg);
}

void
scan_events(struct sw *sw)
{
	struct socklist l = { 0 };
	size_t i;
	int r;

	if (sw->events == NULL)
		return;
	r = sockdiag_events_read(sw->events, &l, EVENTS_BATCH);
	/* A close may even out a new socket's counters. */
	if (l.n > 0)
		sw->quiet->dirty = true;
	for (i = 0; i < l.n; i++) {
		authlog_closed(sw, &l.v[i]);
		socktable_remove(sw->table, l.v[i].cookie, scan_changed, sw);
	}
	socklist_free(&l);
	if (r == -ENOBUFS) {
		/* Notifications were lost: only a full dump is the truth. */
		if (sw->n.enobufs++ % 100 == 0)
			log_warnx("sock_diag destroy events overflowed (%llu "
			    "times): resyncing", (unsigned long long)
			    sw->n.enobufs);
		sw->resync = true;
	} else if (r < 0)
		log_warnx("sock_diag destroy events: %s", strerror(-r));
}

int
scan_open(struct sw *sw)
{
	int r;

	if ((r = sockdiag_open(&sw->sd)) < 0) {
		log_warnx("cannot open a sock_diag socket: %s", strerror(-r));
		return r;
	}
	if ((r = socktable_new(&sw->table)) < 0)
		return r;
	if ((sw->quiet = calloc(1, sizeof(*sw->quiet))) == NULL)
		return -ENOMEM;
	if ((r = sockdiag_events_open(&sw->events)) < 0) {
		log_warnx("no sock_diag destroy events (%s): closes are seen "
		    "at the next scan only", strerror(-r));
		sw->events = NULL;
	} else if ((r = evloop_add(sw->loop, sockdiag_events_fd(sw->events),
	    EPOLLIN, on_destroy, sw, &sw->events_src)) < 0)
		return r;
	if ((r = scan_full(sw, true)) < 0)
		return r;
	sw->next_scan_ms = time_mono_ms() +
	    (int64_t)sw->cfg->daemon.scan_interval_ms;
	return 0;
}

void
scan_close(struct sw *sw)
{
	if (sw->events_src != NULL)
		evloop_del(sw->loop, sw->events_src);
	sockdiag_events_close(sw->events);
	socktable_free(sw->table);
	sockdiag_close(sw->sd);
	socklist_free(&sw->new_listeners);
	free(sw->quiet);
	sw->quiet = NULL;
	sw->events = NULL;
	sw->table = NULL;
	sw->sd = NULL;
}

/* May the dump due now be skipped? Only when every counter is where the
 * last dump left it, no socket was destroyed since, and the last dump is
 * younger than full_scan_interval. */
static bool
scan_quiet(struct sw *sw, int64_t now)
{
	struct scan_quiet *q = sw->quiet;
	uint64_t full = sw->cfg->daemon.full_scan_ms;
	struct sockstat st;
	int r;

	/* Closes the loop has not read yet count too. */
	scan_events(sw);
	if (full == 0 || !q->valid || q->dirty)
		return false;
	if (now - q->full_ms >= (int64_t)full) {
		q->n.forced++;
		return false;
	}
	q->n.checks++;
	if ((r = sockstat_read(SCAN_PROCNET, &st)) < 0) {
		if (q->n.check_errors++ % 100 == 0)
			log_warnx("cannot read the socket counters in %s: %s",
			    SCAN_PROCNET, strerror(-r));
		return false;
	}
	return sockstat_equal(&st, &q->last);
}

void
scan_tick(struct sw *sw, int64_t now)
{
	if (!sw->resync && now < sw->next_scan_ms)
		return;
	sw->next_scan_ms = now + (int64_t)sw->cfg->daemon.scan_interval_ms;
	if (!sw->resync && scan_quiet(sw, now)) {
		sw->quiet->n.skipped++;
		return;
	}
	if (sw->resync)
		sw->n.resyncs++;
	sw->resync = false;
	scan_full(sw, false);
}

void
scan_stats(const struct sw *sw, struct scan_stats *ret)
{
	static const struct scan_stats none;

	*ret = sw->quiet != NULL ? sw->quiet->n : none;
	ret->full = sw->n.scans;
}
