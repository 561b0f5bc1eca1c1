/* Raising an alert: number it, keep it in the ring for the live view,
 * queue it for the store, hand it to the sinks and the subscribers. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "../common/log.h"
#include "../common/timeutil.h"
#include "sockwatchd.h"

static void
alerts_count(struct sw *sw, const char *kind)
{
	unsigned int i;

	sw->n.alerts++;
	for (i = 0; i < SW_KINDS_MAX; i++) {
		if (sw->n.by_kind[i].kind[0] == '\0')
			snprintf(sw->n.by_kind[i].kind,
			    sizeof(sw->n.by_kind[i].kind), "%s", kind);
		if (strcmp(sw->n.by_kind[i].kind, kind) == 0) {
			sw->n.by_kind[i].n++;
			return;
		}
	}
}

/* Detectors rate-limit per peer, but a flood of spoofed peers has no
 * end of peers: this bucket bounds what reaches the disk, syslog and the
 * subscribers. Suppressed alerts are counted, and logged now and then. */
static bool
alerts_admit(struct sw *sw)
{
	if (tokens_take(&sw->alert_tokens, SW_ALERT_RATE, SW_ALERT_BURST,
	    time_mono_ms()))
		return true;
	if (sw->n.alerts_suppressed++ % 1000 == 0)
		log_warnx("more than %d alerts a second: %llu suppressed so "
		    "far (counted in sockwatch_alerts_suppressed_total)",
		    SW_ALERT_RATE,
		    (unsigned long long)sw->n.alerts_suppressed);
	return false;
}

void
alerts_raise(struct sw *sw, struct alert *a)
{
	unsigned int slot;
	json_t *j;

	if (a->time_ms == 0)
		a->time_ms = time_now_ms();
	/* A ban is never lost to the alert rate limit. */
	enforce_alert(sw, a);
	if (!alerts_admit(sw)) {
		alert_clear(a);
		return;
	}

	a->id = sw->next_alert_id++;
	alerts_count(sw, a->kind);
	if (sw->foreground)
		log_warnx("alert %llu %s: %s", (unsigned long long)a->id,
		    a->kind, a->message);
	if (sw->store != NULL && store_queue_alert(sw->store, a) < 0)
		log_debug("store queue full: alert %llu not saved",
		    (unsigned long long)a->id);
	sinks_alert(sw->sinks, a);
	crowdsec_alert(sw, a);
	if ((j = alert_to_json(a)) != NULL) {
		slot = (sw->ring_head + sw->ring_len) % SW_RING_MAX;
		if (sw->ring_len == SW_RING_MAX) {
			json_decref(sw->ring[sw->ring_head]);
			sw->ring_head = (sw->ring_head + 1) % SW_RING_MAX;
		} else
			sw->ring_len++;
		sw->ring[slot] = j;
		commands_event(sw, "alert", json_incref(j));
	}
	alert_clear(a);
}

void
alerts_flush(struct sw *sw)
{
	static uint64_t failures;
	int r;

	if (sw->store != NULL && (r = store_flush(sw->store)) < 0 &&
	    failures++ % 50 == 0)
		log_warnx("cannot write alerts to the database (%llu "
		    "failures so far): %s", (unsigned long long)failures,
		    strerror(-r));
	sinks_flush(sw->sinks);
}

/*
 * A batch of 200 costs about 7 ms on a table of a million alerts from as
 * many peers, 1 ms when they come from a few (docs/benchmarks.md): a tick
 * never waits long, and 1,000 a second outpace the 100 a second that
 * alerts_admit lets in. A backlog goes a batch a tick; otherwise the
 * table is looked at every SW_PRUNE_IDLE_MS. A --replay's alerts carry
 * the capture's times, so their age is not held against them.
 */
#define SW_PRUNE_BATCH		200
#define SW_PRUNE_IDLE_MS	10000

void
alerts_prune(struct sw *sw, int64_t now_mono)
{
	static uint64_t failures;
	uint64_t keep = sw->cfg->daemon.alerts_keep_ms;
	int64_t before = 0;
	int r;

	if (sw->store == NULL || now_mono < sw->prune_next_ms)
		return;
	sw->prune_next_ms = now_mono + SW_PRUNE_IDLE_MS;
	if (keep != 0 && sw->replay == NULL)
		before = time_now_ms() - (int64_t)keep;
	r = store_prune_alerts(sw->store, before, sw->cfg->daemon.alerts_max,
	    SW_PRUNE_BATCH);
	if (r == SW_PRUNE_BATCH)
		sw->prune_next_ms = now_mono;
	else if (r < 0 && failures++ % 50 == 0)
		log_warnx("cannot delete old alerts from the database (%llu "
		    "failures so far): %s", (unsigned long long)failures,
		    strerror(-r));
}

json_t *
alerts_recent(const struct sw *sw, unsigned int max)
{
	unsigned int i, first;
	json_t *arr = json_array();

	first = sw->ring_len > max ? sw->ring_len - max : 0;
	for (i = first; arr != NULL && i < sw->ring_len; i++)
		json_array_append(arr,
		    sw->ring[(sw->ring_head + i) % SW_RING_MAX]);
	return arr;
}

void
alerts_free(struct sw *sw)
{
	unsigned int i;

	for (i = 0; i < sw->ring_len; i++)
		json_decref(sw->ring[(sw->ring_head + i) % SW_RING_MAX]);
	sw->ring_len = 0;
}
