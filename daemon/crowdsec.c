/*
 * CrowdSec's Local API, both ways, from the parent's side: as a bouncer,
 * its decisions stream becomes bans (source "crowdsec"); as an agent,
 * our attack alerts are pushed to it. The HTTP and every parse of the
 * API's answers are the CrowdSec client's (lapi.c), a confined child:
 * the url may be remote and plain HTTP, and nothing that reads network
 * input keeps a capability.
 *
 * The child may be compromised as much as the API may lie: what comes up
 * is only fixed records, each held to a canonical prefix here, and every
 * decision goes through the checks of any ban (enforce_block_from). One
 * answer, however many messages carry it, is applied in one batch. A
 * child that breaks the protocol is ended and started again, and a dead
 * one never ends the daemon: the bans in the kernel stay.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/ipc.h"
#include "../common/log.h"
#include "../common/privdrop.h"
#include "../common/timeutil.h"
#include "../policy/crowdsec.h"
#include "sockwatchd.h"

#define CS_SOURCE	"crowdsec"
#define CS_LOG_REFUSED	5		/* refusals logged one by one */
/* A range wider than these is never taken from the API: one bad or
 * forged decision would cut the host off from a continent. */
#define CS_RANGE_MIN4	16
#define CS_RANGE_MIN6	32
/* Ranges one answer may add: each is checked against every ban in force
 * (a prefix may neither hide in nor cover another), so their cost grows
 * with the table; the community lists are addresses. */
#define CS_RANGES_MAX	1000
#define CS_BAN_MAX_MS	(365ULL * 86400000)

struct crowdsec {
	struct sw *sw;
	struct child child;
	struct privdrop_user user;
	struct crowdsec_state st;	/* as the child last said */

	/* bouncer: the answer coming in, and what became of the others */
	struct crowdsec_stream in;
	size_t capadd, capdel;
	int64_t in_start_ms;		/* its first piece came, monotonic */
	bool broken;			/* ended: what it sent after is not read */
	uint64_t added, lifted, refused, skipped, invalid;
	int64_t last_apply_ms;		/* how long the last stream took */
	size_t last_decisions;

	/* agent */
	uint64_t unsent;		/* alerts lost with no child up */
	uint64_t unwithdrawn;		/* withdrawals lost with it */
};

/* ---- bouncer ------------------------------------------------------------ */

static int
cs_cidr_cmp(const void *a, const void *b)
{
	return cidr_compare(a, b);
}

/* After the startup stream: our crowdsec bans it no longer holds (lifted
 * while we were away) go. */
static void
cs_lift_stale(struct crowdsec *cs, const struct crowdsec_stream *st)
{
	struct sw *sw = cs->sw;
	struct cidr *keep, *stale = NULL;
	const struct ban *b;
	size_t i, n = bans_count(sw->enf.bans), k = 0, lifted;
	char err[256];

	keep = calloc(st->nadd + 1, sizeof(*keep));
	stale = calloc(n + 1, sizeof(*stale));
	if (keep == NULL || stale == NULL)
		goto out;
	for (i = 0; i < st->nadd; i++)
		keep[i] = st->add[i].peer;
	qsort(keep, st->nadd, sizeof(*keep), cs_cidr_cmp);
	for (i = 0; i < n; i++) {
		b = bans_at(sw->enf.bans, i);
		if (strcmp(b->source, CS_SOURCE) == 0 &&
		    bsearch(&b->peer, keep, st->nadd, sizeof(*keep),
		    cs_cidr_cmp) == NULL)
			stale[k++] = b->peer;
	}
	if (enforce_lift_from(sw, stale, k, CS_SOURCE, &lifted, err,
	    sizeof(err)) < 0)
		log_warnx("crowdsec: %s", err);
	cs->lifted += lifted;
out:
	free(keep);
	free(stale);
}

/* A range from the API: not wider than CS_RANGE_MIN4/6, and at most
 * CS_RANGES_MAX an answer. 0, or -EPERM with err set. */
static int
cs_range_allowed(const struct cidr *peer, size_t *ranges, char *err,
    size_t errlen)
{
	unsigned int bits = peer->addr.family == AF_INET ? 32 : 128;
	unsigned int min = peer->addr.family == AF_INET ? CS_RANGE_MIN4 :
	    CS_RANGE_MIN6;
	char buf[ADDR_STRLEN + 8];

	if (peer->len == bits)
		return 0;
	if (peer->len < min) {
		snprintf(err, errlen, "%s not banned: wider than /%u",
		    cidr_format(peer, buf, sizeof(buf)), min);
		return -EPERM;
	}
	if (++*ranges > CS_RANGES_MAX) {
		snprintf(err, errlen, "%s not banned: more than %d ranges in "
		    "one answer", cidr_format(peer, buf, sizeof(buf)),
		    CS_RANGES_MAX);
		return -EPERM;
	}
	return 0;
}

/* One answer, parsed by the child in parse_ms and sent up since
 * in_start_ms: its bans in one batch (startup: the whole set, which lifts
 * our crowdsec bans it does not hold). */
static void
cs_apply(struct crowdsec *cs, const struct crowdsec_stream *st,
    int64_t parse_ms, bool startup)
{
	struct sw *sw = cs->sw;
	int64_t t0 = time_mono_ms(), t1, sent;
	size_t i, lifted = 0, added = 0, refused = 0, ranges = 0;
	char err[600];
	int r;

	sent = st->nadd + st->ndel > 0 ? t0 - cs->in_start_ms : 0;
	if (st->ndel > 0 && enforce_lift_from(sw, st->del, st->ndel,
	    CS_SOURCE, &lifted, err, sizeof(err)) < 0)
		log_warnx("crowdsec: %s", err);
	for (i = 0; i < st->nadd; i++) {
		r = cs_range_allowed(&st->add[i].peer, &ranges, err,
		    sizeof(err));
		if (r == 0)
			r = enforce_block_from(sw, &st->add[i].peer,
			    (uint64_t)st->add[i].remaining_ms, CS_SOURCE,
			    "CrowdSec decision", err, sizeof(err));
		if (r == 0)
			added++;
		else if (r != -EALREADY && refused++ < CS_LOG_REFUSED)
			log_warnx("crowdsec: decision not applied: %s", err);
	}
	if (startup)
		cs_lift_stale(cs, st);
	t1 = time_mono_ms();
	if (enforce_commit(sw, err, sizeof(err)) < 0)
		log_warnx("crowdsec: %s (retrying)", err);
	if (refused > CS_LOG_REFUSED)
		log_warnx("crowdsec: %zu decisions not applied in all",
		    refused);
	cs->added += added;
	cs->lifted += lifted;
	cs->refused += refused;
	cs->skipped += st->skipped;
	cs->invalid += st->invalid;
	cs->last_decisions = st->nadd + st->ndel;
	cs->last_apply_ms = time_mono_ms() - t0 + sent + parse_ms;
	if (added + lifted > 0 || st->invalid > 0)
		log_info("crowdsec: %s: %zu bans, %zu lifted, %zu refused, "
		    "%zu not ours, %zu malformed, in %lld ms (parse %lld, "
		    "sent up %lld, checks %lld, kernel and database %lld)",
		    startup ? "startup stream" : "decisions", added,
		    lifted, refused, st->skipped, st->invalid,
		    (long long)cs->last_apply_ms, (long long)parse_ms,
		    (long long)sent, (long long)(t1 - t0),
		    (long long)(time_mono_ms() - t1));
}

/* ---- the child's records ------------------------------------------------ */

/* A child that breaks the protocol: ended (and restarted). */
static void
cs_broken(struct crowdsec *cs, const char *what)
{
	log_warnx("the CrowdSec client sent %s: ended", what);
	cs->broken = true;
	crowdsec_stream_free(&cs->in);
	cs->capadd = cs->capdel = 0;
	child_kill(&cs->child);
}

static int
cs_grow(void **p, size_t *cap, size_t need, size_t size)
{
	size_t n = *cap ? *cap : 1024;
	void *q;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	if ((q = realloc(*p, n * size)) == NULL)
		return -ENOMEM;
	*p = q;
	*cap = n;
	return 0;
}

/* A piece of an answer: every record checked, then kept for its end. */
static void
cs_decisions(struct crowdsec *cs, const struct ipc_msg *m)
{
	struct crowdsec_stream *in = &cs->in;
	struct ipc_cs_decision d;
	struct cidr peer;
	size_t i, n = m->len / sizeof(d);
	uint64_t ms;

	if (in->nadd + in->ndel == 0)
		cs->in_start_ms = time_mono_ms();
	if (m->len % sizeof(d) != 0 || in->nadd + in->ndel + n >
	    CROWDSEC_DECISIONS_MAX) {
		cs_broken(cs, "more decisions than an answer holds");
		return;
	}
	if (cs_grow((void **)&in->add, &cs->capadd, in->nadd + n,
	    sizeof(*in->add)) < 0 || cs_grow((void **)&in->del,
	    &cs->capdel, in->ndel + n, sizeof(*in->del)) < 0) {
		cs_broken(cs, "more decisions than there is memory for");
		return;
	}
	for (i = 0; i < n; i++) {
		/* The payload is not aligned for the struct. */
		memcpy(&d, m->payload + i * sizeof(d), sizeof(d));
		/* An IPv4-mapped one as the IPv4 it is banned as: the
		 * startup list's comparison with the bans in force
		 * (cs_lift_stale) would not find it there. */
		if (ipc_decode_cs_decision(&d, &peer, &ms) < 0 ||
		    bans_key(&peer, &peer) < 0) {
			cs_broken(cs, "a malformed decision");
			return;
		}
		if (d.op == IPC_CS_DELETE) {
			in->del[in->ndel++] = peer;
		} else {
			in->add[in->nadd].peer = peer;
			in->add[in->nadd++].remaining_ms = ms > CS_BAN_MAX_MS ?
			    (int64_t)CS_BAN_MAX_MS : (int64_t)ms;
		}
	}
}

static void
cs_stream_end(struct crowdsec *cs, const struct ipc_msg *m)
{
	struct ipc_cs_stream_end end;
	size_t i;

	if (ipc_decode_fixed(m, IPC_CS_STREAM_END, &end, sizeof(end)) < 0 ||
	    end.decisions != cs->in.nadd + cs->in.ndel || end.startup > 1) {
		cs_broken(cs, "an answer's end that does not match it");
		return;
	}
	for (i = 0; i < sizeof(end.pad); i++)
		if (end.pad[i] != 0) {
			cs_broken(cs, "an answer's end that does not match it");
			return;
		}
	cs->in.skipped = (size_t)end.skipped;
	cs->in.invalid = (size_t)end.invalid;
	if (cs->sw->enf.bans != NULL)
		cs_apply(cs, &cs->in, (int64_t)(end.parse_ms > 3600000 ?
		    3600000 : end.parse_ms), end.startup);
	crowdsec_stream_free(&cs->in);
	cs->capadd = cs->capdel = 0;
}

/* A direction's state as the status shows it: its error text printable
 * ASCII, its times within what is printed (no later than year 9999). */
static void
cs_clean_link(struct crowdsec_link *t)
{
	size_t i;

	t->error[sizeof(t->error) - 1] = '\0';
	for (i = 0; t->error[i] != '\0'; i++)
		if ((unsigned char)t->error[i] < 0x20 ||
		    (unsigned char)t->error[i] >= 0x7f)
			t->error[i] = '?';
	if (t->ok_ms < 0 || t->ok_ms > 253402300799999LL)
		t->ok_ms = 0;
	if (t->delay_ms < 0)
		t->delay_ms = 0;
}

static void
cs_message(void *arg, const struct ipc_msg *m)
{
	struct crowdsec *cs = arg;

	if (cs->broken)
		return;
	switch (m->type) {
	case IPC_CS_DECISIONS:
		cs_decisions(cs, m);
		break;
	case IPC_CS_STREAM_END:
		cs_stream_end(cs, m);
		break;
	case IPC_CS_STATE:
		if (ipc_decode_fixed(m, IPC_CS_STATE, &cs->st,
		    sizeof(cs->st)) < 0) {
			cs_broken(cs, "a state of the wrong size");
			break;
		}
		cs_clean_link(&cs->st.poll);
		cs_clean_link(&cs->st.push);
		break;
	default:
		break;			/* the reader's mask took the rest */
	}
}

/* A half-read answer dies with its child (the next reads it all), and
 * so do the alerts it had queued. */
static void
cs_gone(void *arg)
{
	struct crowdsec *cs = arg;

	crowdsec_stream_free(&cs->in);
	cs->capadd = cs->capdel = 0;
	cs->unsent += cs->st.queued;
	cs->st.queued = 0;
	cs->unwithdrawn += cs->st.withdraw_queued;
	cs->st.withdraw_queued = 0;
	cs->broken = false;
}

static void
cs_run(void *arg, int fd, pid_t parent)
{
	struct crowdsec *cs = arg;
	struct lapi_args a;

	memset(&a, 0, sizeof(a));
	a.cfg = cs->sw->cfg;
	a.fd = fd;
	a.user = &cs->user;
	a.parent = parent;
	lapi_main(&a);
}

static const struct child_ops cs_ops = {
	.name = "CrowdSec client",
	.kind = "crowdsec",
	.accept = IPC_FROM_CROWDSEC,
	.expendable = true,
	.secrets = true,
	.run = cs_run,
	.message = cs_message,
	.gone = cs_gone,
};

void
crowdsec_alert(struct sw *sw, const struct alert *a)
{
	struct crowdsec *cs = sw->cs;
	struct crowdsec_signal sig, *g = &sig;
	const char *scen;
	const json_t *ev, *v;
	char *p;

	if (cs == NULL || sw->cfg->crowdsec.machine_id == NULL ||
	    !a->has_peer || (scen = crowdsec_scenario(a->kind)) == NULL)
		return;
	memset(g, 0, sizeof(*g));
	snprintf(g->scenario, sizeof(g->scenario), "%s", scen);
	g->source = a->peer;
	/* Printable ASCII only: the JSON of a batch must always build. */
	snprintf(g->message, sizeof(g->message), "%s", a->message);
	for (p = g->message; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = '?';
	g->time_ms = a->time_ms;
	ev = a->evidence;
	/* The events the detector counted. */
	if ((v = json_object_get(ev, "ports")) != NULL && json_is_integer(v) &&
	    strcmp(a->kind, "portscan") == 0)
		g->events = (uint32_t)json_integer_value(v);
	else if ((v = json_object_get(ev, "attempts")) != NULL ||
	    (v = json_object_get(ev, "connections")) != NULL ||
	    (v = json_object_get(ev, "syns")) != NULL)
		g->events = json_is_integer(v) && json_integer_value(v) > 0 &&
		    json_integer_value(v) < UINT32_MAX ?
		    (uint32_t)json_integer_value(v) : 1;
	if ((v = json_object_get(ev, "ban")) != NULL && json_is_number(v) &&
	    json_number_value(v) > 0)
		g->ban_ms = (uint64_t)(json_number_value(v) * 1000.0);
	if (strcmp(a->action, "block") != 0)
		g->ban_ms = 0;
	/* The child queues it, bounded; with none up it is lost. */
	if (child_send(&cs->child, IPC_CS_SIGNAL, g, sizeof(*g), NULL, 0) < 0)
		cs->unsent++;
}

/* Only an administrator's unblock comes here (the control socket's
 * admin command), never anything a peer or the API sends: the child
 * deletes only decisions of our own machine and origin for this one
 * address. A prefix is not withdrawn: our alerts name single peers. */
void
crowdsec_unblocked(struct sw *sw, const struct cidr *peer)
{
	struct crowdsec *cs = sw->cs;
	struct ipc_cs_withdraw w;
	struct cidr key;

	if (cs == NULL || sw->cfg->crowdsec.machine_id == NULL ||
	    bans_key(peer, &key) < 0 || key.len !=
	    (key.addr.family == AF_INET ? 32u : 128u))
		return;
	ipc_encode_cs_withdraw(&w, &key.addr);
	if (child_send(&cs->child, IPC_CS_WITHDRAW, &w, sizeof(w), NULL,
	    0) < 0)
		cs->unwithdrawn++;
}

/* ---- its life ---------------------------------------------------------- */

void
crowdsec_tick(struct sw *sw, int64_t now_mono)
{
	if (sw->cs != NULL)
		child_tick(&sw->cs->child, now_mono);
}

static bool
cs_wanted(const struct config *cfg)
{
	return cfg->crowdsec.bouncer_key != NULL ||
	    cfg->crowdsec.machine_id != NULL;
}

/* Once at start and at each reload: a key sent in clear to another
 * host can be read, and replayed, by anyone on the way. */
static void
cs_warn_cleartext(const struct config *cfg)
{
	if (!crowdsec_url_cleartext(cfg->crowdsec.url))
		return;
	log_warnx("crowdsec: %s is plain HTTP to another host: the %s%s%s "
	    "cross%s the network in clear (use https://)", cfg->crowdsec.url,
	    cfg->crowdsec.bouncer_key != NULL ? "bouncer key" : "",
	    cfg->crowdsec.bouncer_key != NULL &&
	    cfg->crowdsec.machine_id != NULL ? " and the " : "",
	    cfg->crowdsec.machine_id != NULL ? "machine's password" : "",
	    cfg->crowdsec.bouncer_key != NULL &&
	    cfg->crowdsec.machine_id != NULL ? "" : "es");
}

static bool
cs_differ(const char *a, const char *b)
{
	return (a == NULL) != (b == NULL) || (a != NULL && strcmp(a, b) != 0);
}

int
crowdsec_open(struct sw *sw)
{
	struct crowdsec *cs;
	int r;

	/* Off, there is no child; a replayed capture's alerts are not the
	 * fleet's business. */
	if (!cs_wanted(sw->cfg) || sw->replay != NULL)
		return 0;
	if ((cs = calloc(1, sizeof(*cs))) == NULL)
		return -ENOMEM;
	cs->sw = sw;
	child_init(&cs->child, sw, &cs_ops, cs);
	if ((r = privdrop_lookup(sw->cfg->daemon.user, &cs->user)) < 0) {
		log_warnx("[daemon] user %s: %s", sw->cfg->daemon.user,
		    strerror(-r));
		free(cs);
		return r;
	}
	sw->cs = cs;
	cs_warn_cleartext(sw->cfg);
	if ((r = child_start(&cs->child)) < 0) {
		crowdsec_close(sw);
		return r;
	}
	log_info("crowdsec: %s%s%s at %s",
	    sw->cfg->crowdsec.bouncer_key ? "pulling decisions" : "",
	    sw->cfg->crowdsec.bouncer_key &&
	    sw->cfg->crowdsec.machine_id ? " and " : "",
	    sw->cfg->crowdsec.machine_id ? "pushing alerts" : "",
	    sw->cfg->crowdsec.url);
	return 0;
}

void
crowdsec_reload(struct sw *sw, const struct config *old)
{
	const struct config *cfg = sw->cfg;

	if (sw->cs == NULL) {
		if (crowdsec_open(sw) < 0)
			log_warnx("reload: CrowdSec's Local API is not used");
		return;
	}
	if (!cs_wanted(cfg)) {
		log_info("crowdsec: off");
		crowdsec_close(sw);
		return;
	}
	cs_warn_cleartext(cfg);
	/* The child holds the configuration it was started with. */
	if (cs_differ(old->crowdsec.url, cfg->crowdsec.url) ||
	    cs_differ(old->crowdsec.bouncer_key, cfg->crowdsec.bouncer_key) ||
	    cs_differ(old->crowdsec.machine_id, cfg->crowdsec.machine_id) ||
	    cs_differ(old->crowdsec.machine_password,
	    cfg->crowdsec.machine_password) ||
	    old->crowdsec.poll_interval_ms != cfg->crowdsec.poll_interval_ms) {
		log_info("crowdsec: [crowdsec] changed: starting over");
		/* A new state, from its first report on. */
		sw->cs->unsent += sw->cs->st.queued;
		sw->cs->unwithdrawn += sw->cs->st.withdraw_queued;
		memset(&sw->cs->st, 0, sizeof(sw->cs->st));
		(void)child_restart(&sw->cs->child);
	}
}

void
crowdsec_close(struct sw *sw)
{
	struct crowdsec *cs = sw->cs;

	if (cs == NULL)
		return;
	child_stop(&cs->child);
	crowdsec_stream_free(&cs->in);
	free(cs);
	sw->cs = NULL;
}

/* ---- state -------------------------------------------------------------- */

static json_t *
cs_link_json(const struct crowdsec_link *t, bool on)
{
	char when[TIME_RFC3339_LEN];

	return json_pack("{s:s, s:I, s:s?, s:s?, s:I}",
	    "state", !on ? "off" : t->ok_ms == 0 && t->errors == 0 ?
	    "starting" : t->delay_ms == 0 ? "ok" : "failing",
	    "errors", (json_int_t)t->errors,
	    "error", t->error[0] ? t->error : NULL,
	    "last_ok", t->ok_ms ? time_format_rfc3339(t->ok_ms, when,
	    sizeof(when)) : NULL,
	    "backoff_ms", (json_int_t)t->delay_ms);
}

json_t *
crowdsec_json(const struct sw *sw)
{
	const struct crowdsec *cs = sw->cs;
	json_t *pull, *push;

	if (cs == NULL)
		return json_null();
	pull = cs_link_json(&cs->st.poll,
	    sw->cfg->crowdsec.bouncer_key != NULL);
	push = cs_link_json(&cs->st.push,
	    sw->cfg->crowdsec.machine_id != NULL);
	json_object_update_new(pull, json_pack("{s:I, s:I, s:I, s:I, s:I, "
	    "s:I, s:I, s:I}", "polls", (json_int_t)cs->st.polls,
	    "bans", (json_int_t)cs->added, "lifted", (json_int_t)cs->lifted,
	    "refused", (json_int_t)cs->refused,
	    "skipped", (json_int_t)cs->skipped,
	    "malformed", (json_int_t)cs->invalid,
	    "last_decisions", (json_int_t)cs->last_decisions,
	    "last_apply_ms", (json_int_t)cs->last_apply_ms));
	json_object_update_new(push, json_pack("{s:I, s:I, s:I, s:I, s:I, "
	    "s:I}", "pushed", (json_int_t)cs->st.pushed,
	    "queued", (json_int_t)cs->st.queued,
	    "dropped", (json_int_t)(cs->st.dropped + cs->unsent),
	    "withdrawn", (json_int_t)cs->st.withdrawn,
	    "withdraw_queued", (json_int_t)cs->st.withdraw_queued,
	    "withdraw_dropped", (json_int_t)(cs->st.withdraw_dropped +
	    cs->unwithdrawn)));
	return json_pack("{s:s, s:o, s:o, s:{s:i, s:s, s:I, s:I}}",
	    "url", sw->cfg->crowdsec.url, "decisions", pull, "alerts", push,
	    "client", "pid", (int)cs->child.pid, "user", cs->user.name,
	    "restarts", (json_int_t)cs->child.restarts,
	    "deaths", (json_int_t)cs->child.deaths);
}

/* A queue's counter, by result (done_label or "dropped"), and its gauge
 * of those waiting. */
static void
cs_metrics_queue(struct mbuf *b, const char *name, const char *help,
    const char *done_label, uint64_t done, uint64_t dropped,
    const char *qname, const char *qhelp, uint64_t queued)
{
	const char *labels[3] = { "result", done_label, NULL };

	metrics_family(b, name, "counter", help);
	metrics_sample(b, name, labels, (double)done);
	labels[1] = "dropped";
	metrics_sample(b, name, labels, (double)dropped);
	metrics_family(b, qname, "gauge", qhelp);
	metrics_sample(b, qname, NULL, (double)queued);
}

void
crowdsec_metrics(const struct sw *sw, struct mbuf *b)
{
	const struct crowdsec *cs = sw->cs;
	const char *labels[3] = { "direction", NULL, NULL };
	const char *name;

	if (cs == NULL)
		return;
	name = "sockwatch_crowdsec_errors_total";
	metrics_family(b, name, "counter", "Failed exchanges with CrowdSec's "
	    "Local API (down, refused, or a bad answer).");
	labels[1] = "decisions";
	metrics_sample(b, name, labels, (double)cs->st.poll.errors);
	labels[1] = "alerts";
	metrics_sample(b, name, labels, (double)cs->st.push.errors);
	name = "sockwatch_crowdsec_up";
	metrics_family(b, name, "gauge", "1 while the last exchange with the "
	    "Local API worked.");
	labels[1] = "decisions";
	metrics_sample(b, name, labels, cs->st.poll.ok_ms &&
	    !cs->st.poll.delay_ms);
	labels[1] = "alerts";
	metrics_sample(b, name, labels, cs->st.push.ok_ms &&
	    !cs->st.push.delay_ms);
	name = "sockwatch_crowdsec_decisions_total";
	metrics_family(b, name, "counter", "Decisions read from the stream, "
	    "by what became of them.");
	labels[0] = "result";
	labels[1] = "banned";
	metrics_sample(b, name, labels, (double)cs->added);
	labels[1] = "lifted";
	metrics_sample(b, name, labels, (double)cs->lifted);
	labels[1] = "refused";
	metrics_sample(b, name, labels, (double)cs->refused);
	labels[1] = "skipped";
	metrics_sample(b, name, labels, (double)cs->skipped);
	labels[1] = "malformed";
	metrics_sample(b, name, labels, (double)cs->invalid);
	cs_metrics_queue(b, "sockwatch_crowdsec_alerts_total", "Our alerts "
	    "for the Local API, by what became of them.", "pushed",
	    cs->st.pushed, cs->st.dropped + cs->unsent,
	    "sockwatch_crowdsec_alerts_queued", "Our alerts waiting to be "
	    "pushed.", cs->st.queued);
	cs_metrics_queue(b, "sockwatch_crowdsec_withdrawn_total", "Unblocked "
	    "peers: our decisions deleted from the Local API, and peers given "
	    "up.", "deleted", cs->st.withdrawn, cs->st.withdraw_dropped +
	    cs->unwithdrawn, "sockwatch_crowdsec_withdrawals_queued",
	    "Unblocked peers whose decisions wait to be deleted.",
	    cs->st.withdraw_queued);
	metrics_family(b, "sockwatch_crowdsec_client_deaths_total", "counter",
	    "Times the CrowdSec client process died and was started again.");
	metrics_sample(b, "sockwatch_crowdsec_client_deaths_total", NULL,
	    (double)cs->child.deaths);
}
