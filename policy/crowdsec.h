/* CrowdSec's Local API, the part without I/O: its decisions stream read
 * into bans to make and to lift, and our alerts written as its alerts.
 * Everything the API sends is hostile input: validated field by field. */
#ifndef SW_CROWDSEC_H
#define SW_CROWDSEC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/addr.h"

/* Most decisions one answer may carry (new and deleted together); the
 * rest are counted in skipped. */
#define CROWDSEC_DECISIONS_MAX	1000000
/* Longest Go duration string read, and its bound (100 years). */
#define CROWDSEC_DURATION_LEN	64
#define CROWDSEC_DURATION_MAX	(100LL * 365 * 86400000)

struct crowdsec_decision {
	struct cidr peer;		/* scope Ip: a host; Range: a prefix */
	int64_t remaining_ms;		/* new: > 0 */
};

struct crowdsec_stream {
	struct crowdsec_decision *add;	/* "new", in order */
	size_t nadd;
	struct cidr *del;		/* "deleted" */
	size_t ndel;
	size_t skipped;		/* other types or scopes, expired, over max */
	size_t invalid;		/* malformed entries, left out */
};

/* A Go duration ("59m59.68s", "1h", "-3m2s", "300ms") into milliseconds,
 * rounded toward zero. 0, or -EINVAL (not one), -ERANGE (over
 * CROWDSEC_DURATION_MAX either way). */
int crowdsec_duration_parse(const char *s, int64_t *ret_ms);

/* Parse an answer of /v1/decisions/stream. An answer that is not the
 * stream's shape (not JSON, not an object, "new" or "deleted" neither an
 * array nor null) is refused whole: -EINVAL with a reason in err. A bad
 * entry in a good answer is left out and counted. Free with
 * crowdsec_stream_free. */
int crowdsec_stream_parse(const char *buf, size_t len,
    struct crowdsec_stream *ret, char *err, size_t errlen);
void crowdsec_stream_free(struct crowdsec_stream *s);

/* One of our alerts as the API takes it. */
struct crowdsec_signal {
	char scenario[48];		/* "sockwatch/portscan" */
	struct addr source;
	char message[256];
	uint32_t events;		/* events_count, at least 1 */
	int64_t time_ms;		/* UTC, ms since the epoch */
	uint64_t ban_ms;		/* our ban's length; 0: not banned */
};

/* Our alerts waiting to be pushed at most; the oldest are dropped. */
#define CROWDSEC_QUEUE_MAX	1000

/* The scenario for an alert kind ("sockwatch/portscan"), or NULL for a
 * kind that is not pushed. */
const char *crowdsec_scenario(const char *kind);
/* Is it one of those scenarios? */
bool crowdsec_scenario_known(const char *scenario);
/* The body of POST /v1/alerts for n signals (a JSON array), or NULL on
 * allocation failure. */
json_t *crowdsec_alerts_json(const struct crowdsec_signal *sig, size_t n);

/* Does url (a [crowdsec] url) send the keys in clear over a network:
 * plain http:// to a host other than loopback (127.0.0.0/8, ::1, and the
 * names localhost and *.localhost, which libcurl takes as loopback
 * without asking a resolver)? Another name is taken as remote. */
bool crowdsec_url_cleartext(const char *url);

/* Most of our decisions for one peer taken from one answer; the rest
 * wait for the next listing. */
#define CROWDSEC_OWN_MAX	100

/* From an answer of GET /v1/alerts?ip=PEER, the ids of the decisions in
 * force that our own alerts made for peer: in an alert of machine_id
 * whose id is below below_alert (the API numbers alerts in order: ours
 * pushed since the peer was unblocked are kept), of origin "sockwatch",
 * type ban, scope Ip and value peer (never another machine's or
 * origin's, never a range). At most max ids into ret_ids. Returns how
 * many alerts the answer lists (a page as long as the limit asked for
 * may hide more), or -EINVAL with a reason in err for an answer that is
 * not an array (or null, for none); a malformed alert or decision is
 * passed over. */
int crowdsec_own_decisions(const char *buf, size_t len,
    const char *machine_id, const struct addr *peer, int64_t below_alert,
    int64_t *ret_ids, size_t max, size_t *ret_n, char *err, size_t errlen);

/* The answer of POST /v1/alerts: the ids of the n alerts taken, in
 * order (strings of digits, as crowdsec 1.4.6 writes them, or numbers).
 * 0 with the smallest into *ret_min, or -EINVAL for anything else. */
int crowdsec_alert_ids(const char *buf, size_t len, size_t n,
    int64_t *ret_min);

#endif
