#include "alert.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

#include "../common/timeutil.h"

static const char *const severity_names[] = {
	[ALERT_INFO] = "info",
	[ALERT_WARNING] = "warning",
	[ALERT_CRITICAL] = "critical",
};

void
alert_clear(struct alert *a)
{
	if (a == NULL)
		return;
	json_decref(a->evidence);
	memset(a, 0, sizeof(*a));
}

int
alert_copy(struct alert *dst, const struct alert *src)
{
	struct alert tmp = *src;

	/* dst is treated as uninitialised: clear it first if it owns one. */
	if (src->evidence != NULL) {
		tmp.evidence = json_deep_copy(src->evidence);
		if (tmp.evidence == NULL)
			return -ENOMEM;
	}
	*dst = tmp;
	return 0;
}

const char *
alert_severity_name(enum alert_severity s)
{
	if ((unsigned int)s < sizeof(severity_names) / sizeof(severity_names[0]))
		return severity_names[s];
	return "unknown";
}

int
alert_severity_parse(const char *name, enum alert_severity *ret)
{
	size_t i;

	if (name == NULL)
		return -EINVAL;
	for (i = 0; i < sizeof(severity_names) / sizeof(severity_names[0]); i++) {
		if (strcmp(name, severity_names[i]) == 0) {
			*ret = (enum alert_severity)i;
			return 0;
		}
	}
	return -EINVAL;
}

/*
 * A JSON string from one of our fixed buffers. jansson refuses invalid
 * UTF-8; rather than lose the whole alert, such bytes become '?'.
 */
static json_t *
string_field(const char *s, size_t max)
{
	char buf[512];
	size_t n = strnlen(s, max), i;
	json_t *j;

	j = json_stringn(s, n);
	if (j != NULL || n >= sizeof(buf))
		return j;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		buf[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	return json_stringn(buf, n);
}

json_t *
alert_to_json(const struct alert *a)
{
	char tbuf[TIME_RFC3339_LEN], abuf[ADDR_STRLEN];
	json_t *o, *v;

	o = json_object();
	if (o == NULL)
		return NULL;
#define SET(key, val) do {						\
	v = (val);							\
	if (v == NULL || json_object_set_new(o, (key), v) != 0)		\
		goto fail;						\
} while (0)
	SET("id", json_integer((json_int_t)a->id));
	SET("time", json_string(time_format_rfc3339(a->time_ms, tbuf,
	    sizeof(tbuf))));
	SET("kind", string_field(a->kind, sizeof(a->kind)));
	SET("severity", json_string(alert_severity_name(a->severity)));
	if (a->has_peer)
		SET("peer", json_string(addr_format(&a->peer, abuf,
		    sizeof(abuf))));
	else
		SET("peer", json_null());
	if (a->has_local) {
		SET("local_addr", json_string(addr_format(&a->local_addr, abuf,
		    sizeof(abuf))));
		SET("local_port", json_integer(a->local_port));
	} else {
		SET("local_addr", json_null());
		SET("local_port", json_null());
	}
	if (a->has_process)
		SET("process", json_pack("{s:I, s:o, s:I}",
		    "pid", (json_int_t)a->pid,
		    "comm", string_field(a->comm, sizeof(a->comm)),
		    "uid", (json_int_t)a->uid));
	else
		SET("process", json_null());
	SET("message", string_field(a->message, sizeof(a->message)));
	SET("evidence", a->evidence != NULL ? json_deep_copy(a->evidence) :
	    json_object());
	SET("action", string_field(a->action, sizeof(a->action)));
#undef SET
	return o;
fail:
	json_decref(o);
	return NULL;
}

/*
 * Copy a JSON string into a fixed buffer. Too long, embedded NULs and
 * control characters are errors: these strings end up in logs and
 * terminals, one line each.
 */
static int
get_text(const json_t *o, const char *key, char *buf, size_t len,
    bool ident)
{
	const json_t *v = json_object_get(o, key);
	const char *s;
	size_t n, i;

	if (!json_is_string(v))
		return -EINVAL;
	s = json_string_value(v);
	n = json_string_length(v);
	if (n >= len || strlen(s) != n)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f)
			return -EINVAL;
		/* Identifiers (kind, action): [A-Za-z0-9_.-], not empty. */
		if (ident && !((c >= 'a' && c <= 'z') ||
		    (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '_' || c == '.' || c == '-'))
			return -EINVAL;
	}
	if (ident && n == 0)
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return 0;
}

/* An integer in [min, max]. */
static int
get_int(const json_t *o, const char *key, json_int_t min, json_int_t max,
    json_int_t *ret)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < min ||
	    json_integer_value(v) > max)
		return -EINVAL;
	*ret = json_integer_value(v);
	return 0;
}

/* An address string, or null/absent: 1 if present, 0 if not. */
static int
get_addr(const json_t *o, const char *key, struct addr *ret)
{
	const json_t *v = json_object_get(o, key);

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v) ||
	    strlen(json_string_value(v)) != json_string_length(v) ||
	    addr_parse(json_string_value(v), ret) != 0)
		return -EINVAL;
	return 1;
}

int
alert_from_json(const json_t *j, struct alert *ret_alert)
{
	char tbuf[64], sev[16];
	const json_t *v, *p;
	struct alert a;
	json_int_t n;
	int r;

	if (!json_is_object(j))
		return -EINVAL;
	memset(&a, 0, sizeof(a));

	if (get_int(j, "id", 0, INT64_MAX, &n) != 0)
		return -EINVAL;
	a.id = (uint64_t)n;
	if (get_text(j, "time", tbuf, sizeof(tbuf), false) != 0 ||
	    time_parse_rfc3339(tbuf, &a.time_ms) != 0)
		return -EINVAL;
	if (get_text(j, "kind", a.kind, sizeof(a.kind), true) != 0)
		return -EINVAL;
	if (get_text(j, "severity", sev, sizeof(sev), true) != 0 ||
	    alert_severity_parse(sev, &a.severity) != 0)
		return -EINVAL;

	if ((r = get_addr(j, "peer", &a.peer)) < 0)
		return -EINVAL;
	a.has_peer = r == 1;
	if ((r = get_addr(j, "local_addr", &a.local_addr)) < 0)
		return -EINVAL;
	a.has_local = r == 1;
	/* local_port goes with local_addr: both set or both null. */
	v = json_object_get(j, "local_port");
	if (a.has_local) {
		if (get_int(j, "local_port", 0, 65535, &n) != 0)
			return -EINVAL;
		a.local_port = (uint16_t)n;
	} else if (v != NULL && !json_is_null(v))
		return -EINVAL;

	p = json_object_get(j, "process");
	if (p != NULL && !json_is_null(p)) {
		if (!json_is_object(p))
			return -EINVAL;
		if (get_int(p, "pid", 0, INT_MAX, &n) != 0)
			return -EINVAL;
		a.pid = (pid_t)n;
		if (get_int(p, "uid", 0, UINT32_MAX, &n) != 0)
			return -EINVAL;
		a.uid = (uint32_t)n;
		if (get_text(p, "comm", a.comm, sizeof(a.comm), false) != 0)
			return -EINVAL;
		a.has_process = true;
	}

	if (get_text(j, "message", a.message, sizeof(a.message), false) != 0)
		return -EINVAL;
	if (get_text(j, "action", a.action, sizeof(a.action), true) != 0)
		return -EINVAL;

	/* Evidence: an object; absent or null reads as {}. */
	v = json_object_get(j, "evidence");
	if (v != NULL && !json_is_null(v) && !json_is_object(v))
		return -EINVAL;
	a.evidence = (v != NULL && json_is_object(v)) ?
	    json_deep_copy(v) : json_object();
	if (a.evidence == NULL)
		return -ENOMEM;
	*ret_alert = a;
	return 0;
}
