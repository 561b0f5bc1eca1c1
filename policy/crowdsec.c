/* CrowdSec's Local API without I/O: the decisions stream in, our alerts
 * out (see crowdsec.h). The API's answers are validated as hostile
 * input: a field of the wrong type or out of bounds leaves its entry
 * out; an answer of the wrong shape is refused whole, so that garbage
 * never lifts a ban. */
#include "crowdsec.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* The origin of the decisions our alerts carry. */
#define CS_ORIGIN	"sockwatch"

/* ---- Go durations ------------------------------------------------------- */

struct cs_unit {
	const char *name;
	uint64_t ns;
};

/* Longest names first: "ms" before "m", "ns" before ... */
static const struct cs_unit cs_units[] = {
	{ "ns", 1ULL },
	{ "us", 1000ULL },
	{ "\xc2\xb5s", 1000ULL },		/* U+00B5 micro sign */
	{ "\xce\xbcs", 1000ULL },		/* U+03BC mu */
	{ "ms", 1000000ULL },
	{ "s", 1000000000ULL },
	{ "m", 60ULL * 1000000000ULL },
	{ "h", 3600ULL * 1000000000ULL },
};

#define CS_NUNITS	(sizeof(cs_units) / sizeof(cs_units[0]))
#define CS_MAX_NS	((uint64_t)CROWDSEC_DURATION_MAX * 1000000ULL)

static const struct cs_unit *
cs_unit_find(const char *s, size_t *ret_len)
{
	const struct cs_unit *best = NULL;
	size_t i, len, bestlen = 0;

	for (i = 0; i < CS_NUNITS; i++) {
		len = strlen(cs_units[i].name);
		if (len > bestlen && strncmp(s, cs_units[i].name, len) == 0) {
			best = &cs_units[i];
			bestlen = len;
		}
	}
	*ret_len = bestlen;
	return best;
}

int
crowdsec_duration_parse(const char *s, int64_t *ret_ms)
{
	const struct cs_unit *u;
	unsigned __int128 part;
	uint64_t total = 0, whole, frac, scale;
	size_t ulen, digits;
	bool neg = false;

	if (s == NULL || strnlen(s, CROWDSEC_DURATION_LEN + 1) >
	    CROWDSEC_DURATION_LEN)
		return -EINVAL;
	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	if (strcmp(s, "0") == 0) {
		*ret_ms = 0;
		return 0;
	}
	if (*s == '\0')
		return -EINVAL;
	while (*s != '\0') {
		whole = frac = 0;
		scale = 1;
		digits = 0;
		for (; *s >= '0' && *s <= '9'; s++, digits++) {
			if (whole > CS_MAX_NS / 10)
				return -ERANGE;
			whole = whole * 10 + (uint64_t)(*s - '0');
		}
		if (*s == '.') {
			s++;
			/* Digits past the 18th change nothing we keep. */
			for (; *s >= '0' && *s <= '9'; s++, digits++) {
				if (scale < 1000000000000000000ULL) {
					frac = frac * 10 + (uint64_t)(*s - '0');
					scale *= 10;
				}
			}
		}
		if (digits == 0 || (u = cs_unit_find(s, &ulen)) == NULL)
			return -EINVAL;
		s += ulen;
		if (whole > CS_MAX_NS / u->ns)
			return -ERANGE;
		part = (unsigned __int128)whole * u->ns +
		    (unsigned __int128)frac * u->ns / scale;
		if (part > CS_MAX_NS - total)
			return -ERANGE;
		total += (uint64_t)part;
	}
	*ret_ms = (int64_t)(total / 1000000) * (neg ? -1 : 1);
	return 0;
}

/* ---- the decisions stream ----------------------------------------------- */

enum cs_entry { CS_TAKE, CS_SKIP, CS_INVALID };

static const char *
cs_string(const json_t *o, const char *key, size_t max)
{
	const json_t *v = json_object_get(o, key);
	const char *s;

	if (!json_is_string(v))
		return NULL;
	s = json_string_value(v);
	if (strlen(s) != json_string_length(v) || strlen(s) > max)
		return NULL;		/* an embedded NUL, or too long */
	return s;
}

/* One decision: a ban of an Ip or a Range (anything else is not ours),
 * with its remaining time when is_new. */
static enum cs_entry
cs_entry_parse(const json_t *e, bool is_new, struct crowdsec_decision *ret)
{
	const char *type, *scope, *value, *dur;
	struct cidr c;
	int64_t ms = 0;

	if (!json_is_object(e))
		return CS_INVALID;
	type = cs_string(e, "type", 64);
	scope = cs_string(e, "scope", 64);
	value = cs_string(e, "value", ADDR_STRLEN - 1);
	dur = cs_string(e, "duration", CROWDSEC_DURATION_LEN);
	if (type == NULL || scope == NULL)
		return CS_INVALID;
	if (strcmp(type, "ban") != 0 || (strcmp(scope, "Ip") != 0 &&
	    strcmp(scope, "Range") != 0))
		return CS_SKIP;
	if (value == NULL || cidr_parse(value, &c) < 0)
		return CS_INVALID;
	/* Ip is one address; Range says its length. */
	if ((strcmp(scope, "Ip") == 0) != (strchr(value, '/') == NULL))
		return CS_INVALID;
	if (is_new) {
		if (dur == NULL || crowdsec_duration_parse(dur, &ms) < 0)
			return CS_INVALID;
		if (ms <= 0)
			return CS_SKIP;	/* over already */
	}
	ret->peer = c;
	ret->remaining_ms = ms;
	return CS_TAKE;
}

/* "new" or "deleted": an array, or null for none. */
static int
cs_list(const json_t *root, const char *key, const json_t **ret, char *err,
    size_t errlen)
{
	const json_t *v = json_object_get(root, key);

	if (v == NULL || json_is_null(v)) {
		*ret = NULL;
		return 0;
	}
	if (!json_is_array(v)) {
		snprintf(err, errlen, "\"%s\" is not an array", key);
		return -EINVAL;
	}
	*ret = v;
	return 0;
}

static int
cs_take(const json_t *list, bool is_new, struct crowdsec_stream *st)
{
	struct crowdsec_decision d, *add = NULL;
	struct cidr *del = NULL;
	size_t i, n = json_array_size(list), room;

	if (n == 0)
		return 0;
	/* Room for what is taken, not for the entries: an answer of
	 * millions of "{}" must not cost their decisions' memory too. */
	room = CROWDSEC_DECISIONS_MAX - (st->nadd + st->ndel);
	if (room > n)
		room = n;
	if (is_new && room > 0 && (add = calloc(room, sizeof(*add))) == NULL)
		return -ENOMEM;
	if (!is_new && room > 0 && (del = calloc(room, sizeof(*del))) ==
	    NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		if (st->nadd + st->ndel >= CROWDSEC_DECISIONS_MAX) {
			st->skipped += n - i;
			break;
		}
		switch (cs_entry_parse(json_array_get(list, i), is_new, &d)) {
		case CS_TAKE:
			if (is_new)
				add[st->nadd++] = d;
			else
				del[st->ndel++] = d.peer;
			break;
		case CS_SKIP:
			st->skipped++;
			break;
		case CS_INVALID:
			st->invalid++;
			break;
		}
	}
	if (is_new)
		st->add = add;
	else
		st->del = del;
	return 0;
}

int
crowdsec_stream_parse(const char *buf, size_t len,
    struct crowdsec_stream *ret, char *err, size_t errlen)
{
	struct crowdsec_stream st = { 0 };
	const json_t *news, *dels;
	json_error_t je;
	json_t *root;
	int r;

	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL) {
		snprintf(err, errlen, "not JSON: %s (at %d)", je.text,
		    je.position);
		return -EINVAL;
	}
	if (!json_is_object(root)) {
		snprintf(err, errlen, "not a JSON object");
		r = -EINVAL;
		goto out;
	}
	if ((r = cs_list(root, "new", &news, err, errlen)) < 0 ||
	    (r = cs_list(root, "deleted", &dels, err, errlen)) < 0)
		goto out;
	if ((r = cs_take(dels, false, &st)) < 0 ||
	    (r = cs_take(news, true, &st)) < 0) {
		snprintf(err, errlen, "out of memory");
		crowdsec_stream_free(&st);
		goto out;
	}
	*ret = st;
	r = 0;
out:
	json_decref(root);
	return r;
}

void
crowdsec_stream_free(struct crowdsec_stream *s)
{
	free(s->add);
	free(s->del);
	memset(s, 0, sizeof(*s));
}

/* ---- our alerts --------------------------------------------------------- */

static const struct {
	const char *kind, *scenario;
} cs_scenarios[] = {
	{ "portscan", "sockwatch/portscan" },
	{ "synflood", "sockwatch/synflood" },
	{ "bruteforce", "sockwatch/bruteforce" },
	{ "denylist", "sockwatch/deny" },
};

const char *
crowdsec_scenario(const char *kind)
{
	size_t i;

	for (i = 0; i < sizeof(cs_scenarios) / sizeof(cs_scenarios[0]); i++)
		if (strcmp(kind, cs_scenarios[i].kind) == 0)
			return cs_scenarios[i].scenario;
	return NULL;
}

bool
crowdsec_scenario_known(const char *scenario)
{
	size_t i;

	for (i = 0; i < sizeof(cs_scenarios) / sizeof(cs_scenarios[0]); i++)
		if (strcmp(scenario, cs_scenarios[i].scenario) == 0)
			return true;
	return false;
}

/* RFC 3339 in UTC, whole seconds (what the API's own agents send). */
static void
cs_time(int64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "1970-01-01T00:00:00Z");
}

static json_t *
cs_alert_json(const struct crowdsec_signal *g)
{
	char when[32], ip[ADDR_STRLEN], len[32];
	json_t *decisions;

	cs_time(g->time_ms, when, sizeof(when));
	addr_format(&g->source, ip, sizeof(ip));
	if ((decisions = json_array()) == NULL)
		return NULL;
	/* Our ban, in Go's syntax: the API stores it as the decision. */
	if (g->ban_ms > 0) {
		snprintf(len, sizeof(len), "%llus",
		    (unsigned long long)(g->ban_ms + 999) / 1000);
		json_array_append_new(decisions, json_pack("{s:s, s:s, s:s, "
		    "s:s, s:s, s:s}", "duration", len, "origin", CS_ORIGIN,
		    "scenario", g->scenario, "scope", "Ip", "type", "ban",
		    "value", ip));
	}
	return json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:i, s:s, "
	    "s:b, s:[], s:{s:s, s:s, s:s}, s:o}",
	    "scenario", g->scenario,
	    "scenario_hash", "",
	    "scenario_version", "",
	    "message", g->message,
	    "events_count", (json_int_t)(g->events > 0 ? g->events : 1),
	    "start_at", when,
	    "stop_at", when,
	    "capacity", 0,
	    "leakspeed", "0",
	    "simulated", 0,
	    "events",
	    "source", "scope", "Ip", "value", ip, "ip", ip,
	    "decisions", decisions);
}

json_t *
crowdsec_alerts_json(const struct crowdsec_signal *sig, size_t n)
{
	json_t *a, *one;
	size_t i;

	if ((a = json_array()) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if ((one = cs_alert_json(&sig[i])) == NULL ||
		    json_array_append_new(a, one) < 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/* ---- the url ------------------------------------------------------------ */

static bool
cs_name_is_localhost(const char *h, size_t len)
{
	if (len > 0 && h[len - 1] == '.')
		len--;			/* the root's dot */
	return (len == 9 && strncasecmp(h, "localhost", 9) == 0) ||
	    (len > 10 && strncasecmp(h + len - 10, ".localhost", 10) == 0);
}

bool
crowdsec_url_cleartext(const char *url)
{
	char host[ADDR_STRLEN];
	const char *h, *end;
	struct addr a;
	size_t len;

	if (strncasecmp(url, "http://", 7) != 0)
		return false;
	h = url + 7;
	len = strcspn(h, "/?#");
	if (*h == '[') {
		/* [v6] or [v6%zone], then maybe :port */
		if ((end = memchr(h, ']', len)) == NULL)
			return true;
		h++;
		len = (size_t)(end - h);
		len = strcspn(h, "%") < len ? strcspn(h, "%") : len;
	} else if ((end = memchr(h, ':', len)) != NULL) {
		len = (size_t)(end - h);
	}
	if (cs_name_is_localhost(h, len))
		return false;
	if (len >= sizeof(host))
		return true;
	memcpy(host, h, len);
	host[len] = '\0';
	return addr_parse(host, &a) < 0 || !addr_is_loopback(&a);
}

/* ---- our decisions, to withdraw ----------------------------------------- */

/* An id the API gave: a positive integer, or (strings) a string of its
 * digits; else 0. */
static int64_t
cs_id(const json_t *v, bool strings)
{
	const char *s;
	int64_t id = 0;

	if (json_is_integer(v))
		return json_integer_value(v) > 0 ? json_integer_value(v) : 0;
	if (!strings || !json_is_string(v) || json_string_length(v) == 0 ||
	    json_string_length(v) > 18)
		return 0;
	for (s = json_string_value(v); *s >= '0' && *s <= '9'; s++)
		id = id * 10 + (*s - '0');
	return s == json_string_value(v) + json_string_length(v) ? id : 0;
}

/* A decision of an alert of ours: its id when it is our ban of peer and
 * still in force, else 0. */
static int64_t
cs_own_id(const json_t *d, const struct addr *peer)
{
	const char *origin, *type, *scope, *value, *dur;
	const json_t *id = json_object_get(d, "id");
	struct addr a;
	int64_t ms;

	origin = cs_string(d, "origin", 64);
	type = cs_string(d, "type", 64);
	scope = cs_string(d, "scope", 64);
	value = cs_string(d, "value", ADDR_STRLEN - 1);
	dur = cs_string(d, "duration", CROWDSEC_DURATION_LEN);
	if (origin == NULL || type == NULL || scope == NULL || value == NULL ||
	    cs_id(id, false) == 0 || strcmp(origin, CS_ORIGIN) != 0 ||
	    strcmp(type, "ban") != 0 || strcmp(scope, "Ip") != 0 ||
	    addr_parse(value, &a) < 0 || !addr_equal(&a, peer))
		return 0;
	/* Over already (a negative time left): nothing to delete. */
	if (dur != NULL && crowdsec_duration_parse(dur, &ms) == 0 && ms <= 0)
		return 0;
	return cs_id(id, false);
}

int
crowdsec_alert_ids(const char *buf, size_t len, size_t n, int64_t *ret_min)
{
	const json_t *v;
	json_t *root;
	int64_t id, min = INT64_MAX;
	size_t i;
	int r = 0;

	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_array(root) || json_array_size(root) != n)
		r = -EINVAL;
	json_array_foreach(root, i, v) {
		if (r < 0 || (id = cs_id(v, true)) == 0) {
			r = -EINVAL;
			break;
		}
		if (id < min)
			min = id;
	}
	json_decref(root);
	if (r == 0)
		*ret_min = min;
	return r;
}

int
crowdsec_own_decisions(const char *buf, size_t len, const char *machine_id,
    const struct addr *peer, int64_t below_alert, int64_t *ret_ids,
    size_t max, size_t *ret_n, char *err, size_t errlen)
{
	const json_t *al, *ds, *d;
	const char *owner;
	json_error_t je;
	json_t *root;
	size_t i, j, n = 0;
	int64_t id;

	*ret_n = 0;
	/* None is "null". */
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
	    &je);
	if (root == NULL) {
		snprintf(err, errlen, "not JSON: %s (at %d)", je.text,
		    je.position);
		return -EINVAL;
	}
	if (!json_is_array(root) && !json_is_null(root)) {
		snprintf(err, errlen, "not a JSON array");
		json_decref(root);
		return -EINVAL;
	}
	json_array_foreach(root, i, al) {
		owner = cs_string(al, "machine_id", 512);
		ds = json_object_get(al, "decisions");
		/* Another machine's alert (another sockwatch of the fleet
		 * may have banned the same peer) is not ours to undo. */
		if (owner == NULL || strcmp(owner, machine_id) != 0 ||
		    !json_is_array(ds) || (id = cs_id(json_object_get(al,
		    "id"), false)) == 0 || id >= below_alert)
			continue;
		json_array_foreach(ds, j, d) {
			if (n < max && (id = cs_own_id(d, peer)) > 0)
				ret_ids[n++] = id;
		}
	}
	i = json_is_array(root) ? json_array_size(root) : 0;
	json_decref(root);
	*ret_n = n;
	return i > INT_MAX ? INT_MAX : (int)i;
}
