/* The control protocol's commands, the events sent to subscribers, and
 * the Prometheus metrics. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/timeutil.h"
#include "../exporter/peerjson.h"
#include "../exporter/request.h"
#include "../exporter/sockjson.h"
#include "../monitor/proc.h"
#include "../policy/detect.h"
#include "../common/ipc.h"
#include "sockwatchd.h"

#define READER_PROCS_MS		10000	/* a reader's /proc walk is reused */
#define SUBSCRIBE_RECENT	10

_Static_assert(SW_RING_MAX == REQUEST_RECENT_MAX,
    "subscribe's recent is checked against the ring's size");

const char *const commands_admin[] = { "reload", "block", "unblock", NULL };
/* What a member of the control group may run: reading, never changing. */
const char *const commands_reader[] = { "status", "sockets", "listeners",
    "alerts", "peers", "bans", "subscribe", "metrics", NULL };

void
commands_event(struct sw *sw, const char *type, json_t *body)
{
	char when[TIME_RFC3339_LEN];
	json_t *ev;

	ev = json_pack("{s:s, s:s, s:o}", "event", type, "time",
	    time_format_rfc3339(time_now_ms(), when, sizeof(when)),
	    strcmp(type, "alert") == 0 ? "alert" :
	    strncmp(type, "socket", 6) == 0 ? "socket" : "ban", body);
	if (ev == NULL)
		return;
	export_event(sw, ev);
	json_decref(ev);
}

static json_t *
capture_json(struct sw *sw)
{
	const struct inspect_stats *st = inspect_stats(sw);
	json_t *ifs;
	size_t i;

	ifs = json_array();
	if (sw->replay != NULL)
		json_array_append_new(ifs, json_string(sw->replay));
	else if (sw->insp != NULL)
		for (i = 0; i < sw->cfg->daemon.ninterfaces; i++)
			json_array_append_new(ifs,
			    json_string(sw->cfg->daemon.interfaces[i]));
	return json_pack("{s:o, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:o}",
	    "interfaces", ifs,
	    "interface_state", capwatch_json(sw),
	    "received", (json_int_t)st->cap.received,
	    "dropped", (json_int_t)st->cap.dropped,
	    "if_dropped", (json_int_t)st->cap.ifdropped,
	    "peers", (json_int_t)st->traffic.peers,
	    "max_peers", (json_int_t)st->traffic.max_peers,
	    "peer_evictions", (json_int_t)st->traffic.peer_evictions,
	    "inspector", inspect_json(sw));
}

/* Full dumps and the scheduled ones skipped (scan.c). */
static json_t *
scans_json(const struct sw *sw)
{
	struct scan_stats ss;

	scan_stats(sw, &ss);
	return json_pack("{s:I, s:I, s:I, s:I}",
	    "full", (json_int_t)ss.full,
	    "skipped", (json_int_t)ss.skipped,
	    "forced", (json_int_t)ss.forced,
	    "full_scan_interval_ms",
	    (json_int_t)sw->cfg->daemon.full_scan_ms);
}

static json_t *
cmd_status(struct sw *sw)
{
	char when[TIME_RFC3339_LEN], started[TIME_RFC3339_LEN];
	size_t i, tcp = 0, udp = 0, unx = 0, listeners = 0;
	const struct sock_info *s;
	struct store_stats st;
	uint64_t bytes;
	json_t *reload;

	for (i = 0; i < socktable_count(sw->table); i++) {
		s = socktable_at(sw->table, i);
		if (s->proto == IPPROTO_TCP)
			tcp++;
		else if (s->proto == IPPROTO_UDP)
			udp++;
		else
			unx++;
		if (detect_is_listener(s))
			listeners++;
	}
	store_get_stats(sw->store, &st);
	reload = json_pack("{s:b, s:s?}", "ok", sw->last_reload_ok,
	    "error", sw->last_reload_ok ? NULL : sw->last_reload_error);
	json_object_set_new(reload, "time", sw->last_reload_ms ?
	    json_string(time_format_rfc3339(sw->last_reload_ms, when,
	    sizeof(when))) : json_null());
	if (sw->store == NULL || store_size(sw->store, &bytes) < 0)
		bytes = 0;
	return json_pack("{s:s, s:i, s:s, s:I, s:s, s:I, s:{s:I, s:I, s:I, "
	    "s:I}, s:I, s:I, s:o, s:I, s:{s:I, s:I, s:I, s:I, s:I}, s:I, "
	    "s:I, s:o, s:o, s:o, s:o, s:o}",
	    "version", SW_VERSION,
	    "pid", (int)getpid(),
	    "started", time_format_rfc3339(sw->start_wall_ms, started,
	    sizeof(started)),
	    "uptime_s", (json_int_t)((time_mono_ms() - sw->start_mono_ms) /
	    1000),
	    "config", sw->cfg_path ? sw->cfg_path : "(built-in default)",
	    "scan_interval_ms", (json_int_t)sw->cfg->daemon.scan_interval_ms,
	    "sockets", "total", (json_int_t)socktable_count(sw->table),
	    "tcp", (json_int_t)tcp, "udp", (json_int_t)udp,
	    "unix", (json_int_t)unx,
	    "listeners", (json_int_t)listeners,
	    "alerts", (json_int_t)sw->n.alerts,
	    "last_reload", reload,
	    "clients", (json_int_t)export_stats(sw)->clients,
	    "store", "written", (json_int_t)st.written,
	    "dropped", (json_int_t)st.dropped, "errors", (json_int_t)st.errors,
	    "pruned", (json_int_t)st.pruned, "bytes", (json_int_t)bytes,
	    "resyncs", (json_int_t)sw->n.resyncs,
	    "netns", (json_int_t)sw->netns,
	    "capture", capture_json(sw),
	    "authlog", authlog_json(sw),
	    "database", banq_json(sw),
	    "crowdsec", crowdsec_json(sw),
	    "scans", scans_json(sw));
}

/* A reader's listing comes from the live table (as of the last scan and
 * the events since) and a /proc walk at most READER_PROCS_MS old: a
 * member of the control group cannot make the daemon dump and walk for
 * every request. */
static struct procmap *
reader_procs(struct sw *sw)
{
	int64_t now = time_mono_ms();

	if (sw->reader_procs == NULL ||
	    now - sw->reader_procs_ms >= READER_PROCS_MS) {
		procmap_free(sw->reader_procs);
		sw->reader_procs = NULL;
		if (procmap_build("/proc", &sw->reader_procs) < 0)
			return NULL;
		sw->reader_procs_ms = now;
	}
	return sw->reader_procs;
}

/* The table's sockets that q passes, copied into l. */
static int
table_sockets(struct sw *sw, const struct sockdiag_query *q,
    struct socklist *l)
{
	const struct sock_info *s;
	size_t i;

	if (socklist_reserve(l, socktable_count(sw->table)) < 0)
		return -ENOMEM;
	for (i = 0; i < socktable_count(sw->table); i++) {
		s = socktable_at(sw->table, i);
		if (sockdiag_match(q, s))
			l->v[l->n++] = *s;
	}
	return 0;
}

/* For root a fresh dump, so the answer is as current as the direct
 * path's; for a reader the live table. */
static json_t *
cmd_sockets(struct sw *sw, const json_t *req, bool listeners, bool admin,
    const char **ret_error)
{
	struct proc_owner owners[SOCKJSON_OWNERS_MAX] = { 0 };
	struct sockdiag_query q;
	struct socklist l = { 0 };
	struct procmap *pm = NULL;
	json_t *arr = NULL, *j;
	bool procs;
	size_t i, n;

	if (sockjson_query_decode(req, &q, &procs, ret_error) < 0)
		return NULL;
	if (listeners) {
		q.protos &= SOCKDIAG_TCP | SOCKDIAG_UDP;
		q.states = (1U << TCP_LISTEN) | (1U << TCP_CLOSE);
		procs = true;
	}
	if (!admin) {
		if (table_sockets(sw, &q, &l) < 0) {
			socklist_free(&l);
			*ret_error = "out of memory";
			return NULL;
		}
	} else if (sockdiag_dump(sw->sd, &q, &l) < 0) {
		log_warnx("%s", sockdiag_error(sw->sd));
		*ret_error = "sock_diag dump failed";
		return NULL;
	}
	if (procs && !admin)
		pm = reader_procs(sw);
	else if (procs && procmap_build("/proc", &pm) < 0)
		pm = NULL;
	arr = json_array();
	for (i = 0; arr != NULL && i < l.n; i++) {
		if (listeners && !detect_is_listener(&l.v[i]))
			continue;
		n = pm ? procmap_lookup(pm, l.v[i].inode, owners,
		    SOCKJSON_OWNERS_MAX) : 0;
		j = sockjson_encode(&l.v[i], owners, n < SOCKJSON_OWNERS_MAX ?
		    n : SOCKJSON_OWNERS_MAX, procs);
		if (j == NULL || json_array_append_new(arr, j) < 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	socklist_free(&l);
	j = NULL;
	if (arr != NULL)
		j = json_pack("{s:o, s:I, s:I}", "sockets", arr, "partial",
		    (json_int_t)(pm ? procmap_denied(pm) : 0), "netns",
		    (json_int_t)sw->netns);
	if (pm != sw->reader_procs)
		procmap_free(pm);
	if (j == NULL)
		*ret_error = "out of memory";
	return j;
}

static json_t *
cmd_alerts(struct sw *sw, const json_t *req, const char **ret_error)
{
	struct alert_filter f;
	json_t *arr;
	bool capped;

	if (request_alerts(req, time_now_ms(), &f, &capped, ret_error) < 0)
		return NULL;
	/* What was raised this tick is part of the answer. */
	alerts_flush(sw);
	if (sw->store == NULL) {
		*ret_error = "the daemon runs without a database (see "
		    "`sockwatch status`): alerts are in its alerts file and "
		    "syslog, and `sockwatch alerts -f` shows new ones";
		return NULL;
	}
	if (store_query_alerts(sw->store, &f, &arr) < 0) {
		*ret_error = "cannot read the alert history";
		return NULL;
	}
	return json_pack("{s:o, s:I, s:b}", "alerts", arr, "limit",
	    (json_int_t)f.limit, "capped", capped &&
	    json_array_size(arr) == f.limit);
}

static json_t *
cmd_bans(struct sw *sw, const json_t *req, const char **ret_error)
{
	struct request_bans q;
	size_t matched;
	json_t *arr;

	if (request_bans(req, &q, ret_error) < 0)
		return NULL;
	if ((arr = enforce_bans_json(sw, &q, &matched)) == NULL) {
		*ret_error = "out of memory";
		return NULL;
	}
	return json_pack("{s:o, s:b, s:I, s:I}", "bans", arr, "enforced",
	    sw->enf.nft != NULL, "total", (json_int_t)(sw->enf.bans ?
	    bans_count(sw->enf.bans) : 0), "matched", (json_int_t)matched);
}

static json_t *
cmd_peers(struct sw *sw, const json_t *req, const char **ret_error)
{
	enum peers_sort by;
	unsigned int n;
	json_t *arr;

	if (request_peers(req, &by, &n, ret_error) < 0)
		return NULL;
	if ((arr = inspect_peers(sw, by, n, ret_error)) == NULL)
		return NULL;
	return json_pack("{s:o}", "peers", arr);
}

/* What a change's answer says of the database: null when it has the
 * change, else why not (the change is in force all the same). */
static json_t *
database_state(const struct sw *sw)
{
	char msg[sizeof(sw->store_note) + 16];

	if (sw->store == NULL)
		snprintf(msg, sizeof(msg), "no database: %s", sw->store_note);
	else if (banq_pending(sw) > 0)
		snprintf(msg, sizeof(msg), "%zu writes waiting: %s",
		    banq_pending(sw), strerror(-sw->banq.error));
	else
		return json_null();
	return json_string(msg);
}

static json_t *
cmd_block(struct sw *sw, const json_t *req, const char **ret_error)
{
	struct request_block q;
	json_t *bans, *refused;
	static char err[600];
	char one[600];
	struct ban b;
	size_t i, blocked = 0;

	if (sw->enf.bans == NULL) {
		*ret_error = "bans are off in this daemon (--replay)";
		return NULL;
	}
	if (request_block(req, &q, ret_error) < 0)
		return NULL;
	bans = json_array();
	refused = json_array();
	for (i = 0; i < q.npeers; i++) {
		if (enforce_block(sw, &q.peers[i], q.for_ms, q.permanent,
		    q.reason, q.force, &b, one, sizeof(one)) < 0)
			json_array_append_new(refused, json_string(one));
		else
			blocked++;
		enforce_flush_ahead(sw);
	}
	/* Answer once the kernel has them; the database may wait. */
	if (enforce_commit(sw, err, sizeof(err)) < 0) {
		request_block_clear(&q);
		json_decref(bans);
		json_decref(refused);
		*ret_error = err;
		return NULL;
	}
	/* An administrator's change tries the database now, backoff or
	 * not: the lock that held it may be gone. */
	(void)banq_write(sw);
	/* brief: the count only (a list of thousands needs no echo, nor
	 * another lookup each). */
	for (i = 0; i < q.npeers && !q.brief; i++) {
		const struct ban *cur = bans_get(sw->enf.bans, &q.peers[i]);

		if (cur != NULL)
			json_array_append_new(bans, enforce_ban_json(cur,
			    time_steady_ms()));
	}
	if (q.brief && blocked > 0) {
		request_block_clear(&q);
		json_decref(bans);
		return json_pack("{s:I, s:o, s:b, s:o}", "blocked",
		    (json_int_t)blocked, "refused", refused, "enforced",
		    sw->enf.nft != NULL, "database", database_state(sw));
	}
	/* One peer refused is an error; in a list, each is reported. */
	if (q.npeers == 1 && json_array_size(refused) > 0) {
		request_block_clear(&q);
		snprintf(err, sizeof(err), "%s", json_string_value(
		    json_array_get(refused, 0)));
		json_decref(bans);
		json_decref(refused);
		*ret_error = err;
		return NULL;
	}
	request_block_clear(&q);
	return json_pack("{s:o, s:o, s:b, s:o}", "bans", bans, "refused",
	    refused, "enforced", sw->enf.nft != NULL, "database",
	    database_state(sw));
}

static json_t *
cmd_unblock(struct sw *sw, const json_t *req, const char **ret_error)
{
	struct request_block q;
	static char err[600];
	char one[600];
	json_t *failed;
	size_t i, done = 0;

	if (sw->enf.bans == NULL) {
		*ret_error = "bans are off in this daemon (--replay)";
		return NULL;
	}
	if (request_unblock(req, &q, ret_error) < 0)
		return NULL;
	failed = json_array();
	for (i = 0; i < q.npeers; i++) {
		if (enforce_unblock(sw, &q.peers[i], one, sizeof(one)) < 0) {
			json_array_append_new(failed, json_string(one));
		} else {
			crowdsec_unblocked(sw, &q.peers[i]);
			done++;
		}
	}
	(void)banq_write(sw);
	if (q.npeers == 1 && done == 0) {
		request_block_clear(&q);
		snprintf(err, sizeof(err), "%s", json_string_value(
		    json_array_get(failed, 0)));
		json_decref(failed);
		*ret_error = err;
		return NULL;
	}
	request_block_clear(&q);
	return json_pack("{s:I, s:o, s:o}", "unblocked", (json_int_t)done,
	    "failed", failed, "database", database_state(sw));
}

json_t *
commands_handle(struct sw *sw, const char *cmd, const json_t *req,
    bool admin, bool *ret_subscribe, const char **ret_error)
{
	struct mbuf b = { 0 };
	unsigned int recent;
	json_t *r;

	/* The exporter's first requests can come while the parent still
	 * waits for its hello, before the socket table or the bans exist. */
	if (!sw->ready) {
		*ret_error = "sockwatchd is starting; try again";
		return NULL;
	}
	if (strcmp(cmd, "status") == 0)
		return cmd_status(sw);
	if (strcmp(cmd, "sockets") == 0)
		return cmd_sockets(sw, req, false, admin, ret_error);
	if (strcmp(cmd, "listeners") == 0)
		return cmd_sockets(sw, req, true, admin, ret_error);
	if (strcmp(cmd, "alerts") == 0)
		return cmd_alerts(sw, req, ret_error);
	if (strcmp(cmd, "peers") == 0)
		return cmd_peers(sw, req, ret_error);
	if (strcmp(cmd, "bans") == 0)
		return cmd_bans(sw, req, ret_error);
	if (strcmp(cmd, "block") == 0)
		return cmd_block(sw, req, ret_error);
	if (strcmp(cmd, "unblock") == 0)
		return cmd_unblock(sw, req, ret_error);
	if (strcmp(cmd, "subscribe") == 0) {
		if (request_subscribe(req, SUBSCRIBE_RECENT, &recent,
		    ret_error) < 0)
			return NULL;
		*ret_subscribe = true;
		return json_pack("{s:b, s:o}", "subscribed", 1, "recent",
		    alerts_recent(sw, recent));
	}
	if (strcmp(cmd, "reload") == 0) {
		if (sw_reload(sw, NULL, 0) < 0) {
			*ret_error = sw->last_reload_error;
			return NULL;
		}
		return json_object();
	}
	if (strcmp(cmd, "metrics") == 0) {
		commands_metrics(sw, &b);
		r = b.oom ? NULL : json_pack("{s:s%}", "text", b.buf, b.len);
		mbuf_free(&b);
		if (r == NULL)
			*ret_error = "out of memory";
		return r;
	}
	*ret_error = "unknown command";
	return NULL;
}

static void
counter(struct mbuf *b, const char *name, const char *help, uint64_t v)
{
	metrics_family(b, name, "counter", help);
	metrics_sample(b, name, NULL, (double)v);
}

static void
gauge(struct mbuf *b, const char *name, const char *help, double v)
{
	metrics_family(b, name, "gauge", help);
	metrics_sample(b, name, NULL, v);
}

/* Capture, decoding and the peer table. */
static void
inspect_metrics(struct sw *sw, struct mbuf *b)
{
	const struct inspect_stats *st = inspect_stats(sw);
	const char *labels[3];
	int k;

	counter(b, "sockwatch_capture_packets_total",
	    "Packets the kernel passed to the capture filter.", st->cap.received);
	counter(b, "sockwatch_capture_drops_total",
	    "Packets the kernel dropped: capture buffer full.", st->cap.dropped);
	counter(b, "sockwatch_capture_if_drops_total",
	    "Packets the interfaces dropped.", st->cap.ifdropped);
	capwatch_metrics(sw, b);
	counter(b, "sockwatch_inspector_deaths_total",
	    "Times the packet inspector process died and was started again.",
	    inspect_deaths(sw));
	metrics_family(b, "sockwatch_decode_skipped_total", "counter",
	    "Captured packets not decoded, by reason.");
	labels[0] = "reason";
	labels[2] = NULL;
	for (k = 1; k <= -DECODE_RESULT_MIN; k++) {
		if (st->decode_errors[k] == 0)
			continue;
		labels[1] = decode_result_name(-k);
		metrics_sample(b, "sockwatch_decode_skipped_total", labels,
		    (double)st->decode_errors[k]);
	}
	gauge(b, "sockwatch_peers", "Entries in the peer table.",
	    (double)st->traffic.peers);
	gauge(b, "sockwatch_peers_max", "The peer table's hard cap.",
	    (double)st->traffic.max_peers);
	counter(b, "sockwatch_peer_evictions_total",
	    "Peers evicted from a full table (least recently seen first).",
	    st->traffic.peer_evictions);
	counter(b, "sockwatch_bruteforce_logins_evicted_total",
	    "Connections to watched ports no longer followed for failed "
	    "logins: their slots were needed.",
	    st->traffic.auth_evictions);
}

/* Bans and the nftables table. */
static void
enforce_metrics(struct sw *sw, struct mbuf *b)
{
	struct nft_counters nc = { 0 };
	struct authlog_stats al;

	gauge(b, "sockwatch_bans", "Bans in force.", sw->enf.bans ?
	    (double)bans_count(sw->enf.bans) : 0);
	gauge(b, "sockwatch_bans_max", "Bans in force past which no "
	    "automatic ban is made (manual blocks are not limited).",
	    (double)ENFORCE_AUTO_MAX);
	counter(b, "sockwatch_bans_total", "Bans made since start.",
	    sw->enf.n.bans);
	counter(b, "sockwatch_bans_refused_total",
	    "Blocks refused by the anti-lockout rules.", sw->enf.n.refused);
	counter(b, "sockwatch_bans_rate_limited_total",
	    "Automatic bans held back by [bans] rate.",
	    sw->enf.n.rate_limited);
	authlog_stats(sw, &al);
	counter(b, "sockwatch_bruteforce_log_events_total",
	    "Logins and failures read from sshd's log ([bruteforce] log).",
	    al.events);
	counter(b, "sockwatch_bruteforce_log_unverified_total",
	    "Of those, not counted: no such connection to a watched port "
	    "(forged, or over the rate of checks).",
	    al.unverified + al.unchecked);
	counter(b, "sockwatch_bruteforce_session_waits_total",
	    "Failed-login counts from the packets not alerted for: the peer "
	    "holds a logged-in session (its own slow answers).",
	    inspect_session_waits_total(sw));
	counter(b, "sockwatch_bruteforce_log_forgiven_total",
	    "Logins that forgave their address's earlier failures.",
	    al.forgiven);
	counter(b, "sockwatch_bans_spoof_suspected_total",
	    "Automatic bans not made: the probes likely came from someone "
	    "else (hop count).", sw->enf.n.spoofed);
	counter(b, "sockwatch_bans_expired_total", "Bans that ran out.",
	    sw->enf.n.expired);
	counter(b, "sockwatch_nft_errors_total",
	    "nftables changes the kernel refused (retried).",
	    sw->enf.n.nft_errors);
	counter(b, "sockwatch_nft_repairs_total",
	    "Times our table was found changed by someone else and repaired.",
	    sw->enf.n.repairs);
	counter(b, "sockwatch_nft_reconciles_total",
	    "Times our table was compared with the bans in force.",
	    sw->enf.n.reconciles);
	counter(b, "sockwatch_sockets_destroyed_total",
	    "Sockets of banned peers ended with SOCK_DESTROY.",
	    sw->enf.n.sockets_closed);
	counter(b, "sockwatch_connect_blocked_total",
	    "Connections to [connect] deny destinations ended.",
	    sw->enf.n.connect_blocked);
	if (sw->enf.nft != NULL && nft_counters(sw->enf.nft, &nc) == 0) {
		counter(b, "sockwatch_nft_dropped_packets_total",
		    "Packets dropped by the ban rules.", nc.ban_packets);
		counter(b, "sockwatch_nft_deny_dropped_packets_total",
		    "Packets dropped by the deny rules.", nc.deny_packets);
		counter(b, "sockwatch_nft_connect_dropped_packets_total",
		    "Outbound packets dropped by the connect rules.",
		    nc.connect_packets);
	}
}

void
commands_metrics(void *arg, struct mbuf *b)
{
	static const char *const fams[] = { "inet", "inet6", "unix" };
	static const char *const protos[] = { "tcp", "udp", "unix" };
	uint64_t by[3][3][16];
	struct scan_stats ss;
	const struct export_stats *cs;
	struct store_stats st;
	struct sock_info probe;
	uint64_t bytes;
	struct sw *sw = arg;
	const struct sock_info *s;
	size_t i, f, p, k, listeners = 0;
	const char *labels[7];

	if (!sw->ready)
		return;		/* a scrape while starting: nothing yet */
	memset(by, 0, sizeof(by));
	for (i = 0; i < socktable_count(sw->table); i++) {
		s = socktable_at(sw->table, i);
		f = s->family == AF_INET ? 0 : s->family == AF_INET6 ? 1 : 2;
		p = s->proto == IPPROTO_TCP ? 0 : s->proto == IPPROTO_UDP ? 1 :
		    2;
		by[f][p][s->state & 15]++;
		if (detect_is_listener(s))
			listeners++;
	}
	metrics_family(b, "sockwatch_sockets", "gauge",
	    "Sockets in the live table by family, protocol and state.");
	memset(&probe, 0, sizeof(probe));
	for (f = 0; f < 3; f++)
		for (p = 0; p < 3; p++)
			for (k = 0; k < 16; k++) {
				if (by[f][p][k] == 0)
					continue;
				probe.proto = p == 0 ? IPPROTO_TCP : p == 1 ?
				    IPPROTO_UDP : 0;
				probe.state = (uint8_t)k;
				labels[0] = "family";
				labels[1] = fams[f];
				labels[2] = "proto";
				labels[3] = protos[p];
				labels[4] = "state";
				labels[5] = sockdiag_state_name(&probe);
				labels[6] = NULL;
				metrics_sample(b, "sockwatch_sockets", labels,
				    (double)by[f][p][k]);
			}
	metrics_family(b, "sockwatch_listeners", "gauge",
	    "Listening TCP and bound unconnected UDP sockets.");
	metrics_sample(b, "sockwatch_listeners", NULL, (double)listeners);

	metrics_family(b, "sockwatch_alerts_total", "counter",
	    "Alerts raised since the daemon started, by kind.");
	for (k = 0; k < SW_KINDS_MAX && sw->n.by_kind[k].kind[0]; k++) {
		labels[0] = "kind";
		labels[1] = sw->n.by_kind[k].kind;
		labels[2] = NULL;
		metrics_sample(b, "sockwatch_alerts_total", labels,
		    (double)sw->n.by_kind[k].n);
	}
	metrics_family(b, "sockwatch_socket_events_total", "counter",
	    "Socket events seen (open, close, state change).");
	labels[0] = "event";
	labels[2] = NULL;
	labels[1] = "open";
	metrics_sample(b, "sockwatch_socket_events_total", labels,
	    (double)sw->n.ev_open);
	labels[1] = "close";
	metrics_sample(b, "sockwatch_socket_events_total", labels,
	    (double)sw->n.ev_close);
	labels[1] = "state";
	metrics_sample(b, "sockwatch_socket_events_total", labels,
	    (double)sw->n.ev_state);

	counter(b, "sockwatch_alerts_suppressed_total",
	    "Alerts dropped by the global rate limit (100/s, bursts of "
	    "1000).", sw->n.alerts_suppressed);
	scan_stats(sw, &ss);
	counter(b, "sockwatch_scans_total", "Full sock_diag dumps.",
	    ss.full);
	counter(b, "sockwatch_scans_skipped_total",
	    "Scheduled dumps skipped: no socket counter had moved.",
	    ss.skipped);
	counter(b, "sockwatch_scans_forced_total",
	    "Dumps made only because full_scan_interval had passed.",
	    ss.forced);
	counter(b, "sockwatch_netlink_resyncs_total",
	    "Full dumps forced by lost netlink notifications.",
	    sw->n.resyncs);
	counter(b, "sockwatch_netlink_overflows_total",
	    "Times the kernel dropped destroy notifications (ENOBUFS).",
	    sw->n.enobufs);
	cs = export_stats(sw);
	counter(b, "sockwatch_events_dropped_total",
	    "Subscribers dropped for not reading their events.",
	    cs->control.dropped_slow);
	counter(b, "sockwatch_control_refused_total",
	    "Control connections refused (permission, client limit).",
	    cs->control.refused);
	counter(b, "sockwatch_exporter_deaths_total",
	    "Times the exporter process died and was started again.",
	    export_deaths(sw));
	store_get_stats(sw->store, &st);
	counter(b, "sockwatch_store_errors_total",
	    "Failed database commits.", st.errors);
	counter(b, "sockwatch_store_dropped_total",
	    "Alerts that could not be written to the database.", st.dropped);
	gauge(b, "sockwatch_store_open",
	    "1 with a database, 0 running without one (see status).",
	    sw->store != NULL);
	gauge(b, "sockwatch_store_ban_writes_pending",
	    "Ban writes in force in the kernel, waiting for the database.",
	    (double)banq_pending(sw));
	counter(b, "sockwatch_store_ban_write_failures_total",
	    "Tries to write the waiting ban writes that the database refused.",
	    sw->banq.failures);
	counter(b, "sockwatch_store_ban_table_rewrites_total",
	    "Ban tables written again whole from memory (queue full, clock "
	    "step).", sw->banq.rewrites);
	counter(b, "sockwatch_store_alerts_pruned_total",
	    "Alerts deleted from the database by alerts_keep and alerts_max.",
	    st.pruned);
	if (sw->store != NULL && store_size(sw->store, &bytes) == 0)
		gauge(b, "sockwatch_store_bytes", "Size of the database (its "
		    "pages, free ones included).", (double)bytes);
	counter(b, "sockwatch_sink_errors_total",
	    "Failed writes to the alerts file.", sinks_errors(sw->sinks));
	metrics_family(b, "sockwatch_config_reloads_total", "counter",
	    "Configuration reloads by result.");
	labels[0] = "result";
	labels[1] = "ok";
	metrics_sample(b, "sockwatch_config_reloads_total", labels,
	    (double)sw->n.reloads_ok);
	labels[1] = "error";
	metrics_sample(b, "sockwatch_config_reloads_total", labels,
	    (double)sw->n.reloads_failed);
	metrics_family(b, "sockwatch_control_clients", "gauge",
	    "Connected control clients.");
	metrics_sample(b, "sockwatch_control_clients", NULL,
	    (double)cs->clients);
	inspect_metrics(sw, b);
	crowdsec_metrics(sw, b);
	enforce_metrics(sw, b);
	metrics_family(b, "sockwatch_uptime_seconds", "gauge",
	    "Seconds since the daemon started.");
	metrics_sample(b, "sockwatch_uptime_seconds", NULL,
	    (double)(time_mono_ms() - sw->start_mono_ms) / 1000.0);
}
