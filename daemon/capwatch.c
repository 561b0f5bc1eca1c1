/*
 * Capture that heals. The kernel's link events (rtnetlink, read here in
 * the parent) say when a name of [daemon] interfaces goes or comes back;
 * the inspector says which names its handles are bound to. A name whose
 * link is up but not captured calls for a new inspector: its handles are
 * opened before it drops privileges, as the first one's were, and no
 * process that parses packets ever gets CAP_NET_RAW back. The new one
 * starts with empty detectors (a scan that straddles the restart is
 * counted from the restart on). A slow poll backs the events up (lost
 * ones); each gap is logged, counted and shown.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "../common/timeutil.h"
#include "../monitor/capstate.h"
#include "../monitor/linkmon.h"
#include "sockwatchd.h"

#define CAPWATCH_POLL_MS	10000	/* the backstop to the events */
#define CAPWATCH_READ_MAX	64	/* netlink messages per wake-up */

struct capwatch {
	struct sw *sw;
	struct linkmon *lm;
	struct evsource *src;
	struct capstate cs;
	int64_t next_poll_ms;
};

/* Monotonic to wall clock, for the log and status. */
static int64_t
capwatch_wall(int64_t mono)
{
	return time_now_ms() - (time_mono_ms() - mono);
}

static void
capwatch_change(void *arg, const struct capstate_if *i,
    enum capstate_change c)
{
	char when[TIME_RFC3339_LEN];

	(void)arg;
	switch (c) {
	case CAPSTATE_UP:
		log_info("capture on %s: up", i->name);
		break;
	case CAPSTATE_DOWN:
		log_warnx("capture on %s: down (%s)", i->name,
		    i->link == 0 ? "no such interface" : !i->link_up ?
		    "the interface is down" : "its handle is gone");
		break;
	case CAPSTATE_BACK:
		log_info("capture on %s: up again after %.1f s (down since "
		    "%s)", i->name, (double)i->last_gap_ms / 1000,
		    time_format_rfc3339(capwatch_wall(i->since_ms -
		    i->last_gap_ms), when, sizeof(when)));
		break;
	}
}

static void
capwatch_link(void *arg, const struct linkmon_event *ev)
{
	struct capwatch *cw = arg;

	capstate_link(&cw->cs, ev->name, ev->ifindex, ev->up, time_mono_ms());
}

/* Every name, as the kernel has it now. */
static void
capwatch_poll(struct capwatch *cw)
{
	struct linkmon_event ev;
	size_t k;

	for (k = 0; k < cw->cs.n; k++)
		if (cw->cs.v[k].link != CAPSTATE_ANY &&
		    linkmon_query(cw->cs.v[k].name, &ev) == 0)
			capwatch_link(cw, &ev);
	cw->next_poll_ms = time_mono_ms() + CAPWATCH_POLL_MS;
}

/* A new inspector when a name waits for one; a failed start is retried
 * by the inspector's own restart, and later by capstate's backoff. */
static void
capwatch_heal(struct capwatch *cw)
{
	int64_t now = time_mono_ms();
	char names[CAPSTATE_MAX * (IF_NAMESIZE + 2)] = "";
	size_t k, len = 0;

	if (!inspect_running(cw->sw) || !capstate_restart_due(&cw->cs, now))
		return;
	for (k = 0; k < cw->cs.n; k++)
		if (capstate_wants(&cw->cs.v[k]) && len < sizeof(names))
			len += (size_t)snprintf(names + len, sizeof(names) -
			    len, "%s%s", len ? ", " : "", cw->cs.v[k].name);
	capstate_restarted(&cw->cs, now);
	log_info("capture: a new packet inspector for %s", names);
	for (k = 0; k < cw->cs.n; k++)
		if (capstate_gave_up(&cw->cs.v[k]) &&
		    cw->cs.v[k].tries == CAPSTATE_TRIES_MAX)
			log_warnx("capture on %s: the last try until its link "
			    "changes", cw->cs.v[k].name);
	if (inspect_restart(cw->sw) < 0)
		log_warnx("capture: the packet inspector did not start again; "
		    "retrying");
}

static void
on_links(void *arg, uint32_t events)
{
	struct capwatch *cw = arg;
	int r;

	(void)events;
	if ((r = linkmon_read(cw->lm, CAPWATCH_READ_MAX, capwatch_link,
	    cw)) == -ENOBUFS)
		capwatch_poll(cw);	/* events were lost */
	else if (r < 0)
		log_warnx("link events: %s", strerror(-r));
	capwatch_heal(cw);
}

/* The names' first look: the daemon starts whatever is missing. */
static void
capwatch_first(struct capwatch *cw)
{
	size_t k, have = 0;

	capwatch_poll(cw);
	for (k = 0; k < cw->cs.n; k++) {
		if (cw->cs.v[k].link != 0)
			have++;
		else
			log_warnx("capture on %s: no such interface; it is "
			    "watched for", cw->cs.v[k].name);
	}
	if (have == 0)
		log_warnx("capture: none of [daemon] interfaces exists; "
		    "capturing nothing until one appears");
}

int
capwatch_open(struct sw *sw)
{
	struct capwatch *cw;
	int r;

	if (sw->replay != NULL || sw->cfg->daemon.ninterfaces == 0)
		return 0;
	if ((cw = calloc(1, sizeof(*cw))) == NULL)
		return -ENOMEM;
	cw->sw = sw;
	sw->capw = cw;
	if ((r = capstate_init(&cw->cs, sw->cfg->daemon.interfaces,
	    sw->cfg->daemon.ninterfaces, time_mono_ms(), capwatch_change,
	    cw)) < 0) {
		log_warnx("[daemon] interfaces: at most %d", CAPSTATE_MAX);
		return r;
	}
	/* Without events the poll still heals, only later. */
	if ((r = linkmon_open(&cw->lm)) < 0 || (r = evloop_add(sw->loop,
	    linkmon_fd(cw->lm), EPOLLIN, on_links, cw, &cw->src)) < 0)
		log_warnx("link events: %s; interfaces are polled every "
		    "%d s", strerror(-r), CAPWATCH_POLL_MS / 1000);
	capwatch_first(cw);
	return 0;
}

void
capwatch_close(struct sw *sw)
{
	struct capwatch *cw = sw->capw;

	if (cw == NULL)
		return;
	if (cw->src != NULL)
		evloop_del(sw->loop, cw->src);
	linkmon_close(cw->lm);
	free(cw);
	sw->capw = NULL;
}

int
capwatch_reload(struct sw *sw)
{
	struct capwatch *cw = sw->capw;
	struct capstate old;
	size_t i, k;
	int r;

	if (cw == NULL)
		return capwatch_open(sw);
	if (sw->cfg->daemon.ninterfaces == 0) {
		capwatch_close(sw);
		return 0;
	}
	/* A name kept keeps its history. */
	old = cw->cs;
	if ((r = capstate_init(&cw->cs, sw->cfg->daemon.interfaces,
	    sw->cfg->daemon.ninterfaces, time_mono_ms(), capwatch_change,
	    cw)) < 0) {
		cw->cs = old;
		return r;
	}
	cw->cs.last_restart_ms = old.last_restart_ms;
	for (i = 0; i < cw->cs.n; i++)
		for (k = 0; k < old.n; k++)
			if (strcmp(cw->cs.v[i].name, old.v[k].name) == 0)
				cw->cs.v[i] = old.v[k];
	capwatch_first(cw);
	return 0;
}

void
capwatch_tick(struct sw *sw, int64_t now_mono)
{
	struct capwatch *cw = sw->capw;

	if (cw == NULL)
		return;
	if (now_mono >= cw->next_poll_ms)
		capwatch_poll(cw);
	capwatch_heal(cw);
}

void
capwatch_captured(struct sw *sw, const struct inspect_captures *ic)
{
	struct capwatch *cw = sw->capw;
	int v[CAPSTATE_MAX] = { 0 };
	size_t k;

	if (cw == NULL)
		return;
	/* The child's word, checked: an index or "any" where "any" is. */
	for (k = 0; ic != NULL && k < cw->cs.n; k++)
		if (ic->ifindex[k] > 0 || (ic->ifindex[k] == CAPSTATE_ANY &&
		    cw->cs.v[k].link == CAPSTATE_ANY))
			v[k] = ic->ifindex[k];
	capstate_captured(&cw->cs, v, cw->cs.n, time_mono_ms());
}

json_t *
capwatch_json(const struct sw *sw)
{
	const struct capwatch *cw = sw->capw;
	char since[TIME_RFC3339_LEN];
	const struct capstate_if *i;
	json_t *arr = json_array(), *o;
	size_t k;

	for (k = 0; cw != NULL && arr != NULL && k < cw->cs.n; k++) {
		i = &cw->cs.v[k];
		o = json_pack("{s:s, s:s, s:s, s:b, s:I}", "interface",
		    i->name, "state", i->up ? "up" : "down", "since",
		    time_format_rfc3339(capwatch_wall(i->since_ms), since,
		    sizeof(since)), "exists", i->link != 0, "gaps",
		    (json_int_t)i->gaps);
		if (o != NULL && i->gaps > 0)
			json_object_set_new(o, "last_gap_s",
			    json_real((double)i->last_gap_ms / 1000));
		json_array_append_new(arr, o);
	}
	return arr;
}

void
capwatch_metrics(const struct sw *sw, struct mbuf *b)
{
	const struct capwatch *cw = sw->capw;
	const char *labels[3] = { "interface", NULL, NULL };
	size_t k;

	if (cw == NULL)
		return;
	metrics_family(b, "sockwatch_capture_up", "gauge",
	    "1 while packets on the interface are captured.");
	for (k = 0; k < cw->cs.n; k++) {
		labels[1] = cw->cs.v[k].name;
		metrics_sample(b, "sockwatch_capture_up", labels,
		    cw->cs.v[k].up);
	}
	metrics_family(b, "sockwatch_capture_gaps_total", "counter",
	    "Times capture on the interface came back after a gap.");
	for (k = 0; k < cw->cs.n; k++) {
		labels[1] = cw->cs.v[k].name;
		metrics_sample(b, "sockwatch_capture_gaps_total", labels,
		    (double)cw->cs.v[k].gaps);
	}
}
