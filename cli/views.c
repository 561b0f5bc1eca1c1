#include "views.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/duration.h"
#include "cli.h"
#include "table.h"

static json_int_t
jint(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

int
views_json(const json_t *j)
{
	if (json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) < 0)
		return EXIT_FAIL;
	putchar('\n');
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
}

static const struct table_col alert_cols[] = {
	{ "Id", TABLE_RIGHT }, { "Time", TABLE_LEFT }, { "Kind", TABLE_LEFT },
	{ "Severity", TABLE_LEFT }, { "Peer", TABLE_LEFT },
	{ "Local", TABLE_LEFT }, { "Process", TABLE_LEFT },
	{ "Action", TABLE_LEFT }, { "Message", TABLE_LEFT },
};

static int
alert_row(struct table *t, const json_t *a)
{
	const json_t *p = json_object_get(a, "process");
	const char *s;
	int r = 0;

	r |= table_addf(t, "%lld", (long long)jint(a, "id"));
	r |= table_add(t, json_string_value(json_object_get(a, "time")) ?: "");
	r |= table_add(t, json_string_value(json_object_get(a, "kind")) ?: "");
	r |= table_add(t,
	    json_string_value(json_object_get(a, "severity")) ?: "");
	s = json_string_value(json_object_get(a, "peer"));
	r |= table_add(t, s ? s : "-");
	s = json_string_value(json_object_get(a, "local_addr"));
	if (s != NULL)
		r |= table_addf(t, strchr(s, ':') ? "[%s]:%lld" : "%s:%lld", s,
		    (long long)jint(a, "local_port"));
	else
		r |= table_add(t, "-");
	if (json_is_object(p))
		r |= table_addf(t, "%s(%lld)",
		    json_string_value(json_object_get(p, "comm")) ?: "?",
		    (long long)jint(p, "pid"));
	else
		r |= table_add(t, "-");
	r |= table_add(t,
	    json_string_value(json_object_get(a, "action")) ?: "");
	r |= table_add(t,
	    json_string_value(json_object_get(a, "message")) ?: "");
	return r;
}

int
views_alerts(const json_t *arr, int json)
{
	struct table *t;
	const json_t *a;
	size_t i;
	int r = 0;

	if (json)
		return views_json(arr);
	if ((t = table_new(alert_cols, 9)) == NULL)
		return EXIT_FAIL;
	json_array_foreach(arr, i, a)
		r |= alert_row(t, a);
	if (r == 0)
		r = table_print(t, stdout);
	table_free(t);
	return r == 0 && fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
}


static const struct table_col peer_cols[] = {
	{ "Peer", TABLE_LEFT }, { "Pkts-In", TABLE_RIGHT },
	{ "Pkts-Out", TABLE_RIGHT }, { "Bytes-In", TABLE_RIGHT },
	{ "Bytes-Out", TABLE_RIGHT }, { "SYNs", TABLE_RIGHT },
	{ "Ports", TABLE_RIGHT }, { "Hosts", TABLE_RIGHT },
	{ "Probes", TABLE_LEFT }, { "Lists", TABLE_LEFT },
};

static int
peer_row(struct table *t, const json_t *p)
{
	char kinds[128] = "", lists[32] = "";
	const json_t *k;
	size_t i, off = 0;
	int r = 0, n;

	json_array_foreach(json_object_get(p, "kinds"), i, k) {
		n = snprintf(kinds + off, sizeof(kinds) - off, "%s%s",
		    off ? "," : "", json_string_value(k) ?: "?");
		if (n < 0 || (size_t)n >= sizeof(kinds) - off)
			break;
		off += (size_t)n;
	}
	snprintf(lists, sizeof(lists), "%s%s%s",
	    json_is_true(json_object_get(p, "denied")) ? ",deny" : "",
	    json_is_true(json_object_get(p, "allowed")) ? ",allow" : "",
	    json_is_true(json_object_get(p, "local")) ? ",local" : "");
	r |= table_add(t, json_string_value(json_object_get(p, "addr")) ?: "?");
	r |= table_add_u64(t, (uint64_t)jint(p, "packets_in"));
	r |= table_add_u64(t, (uint64_t)jint(p, "packets_out"));
	r |= table_add_u64(t, (uint64_t)jint(p, "bytes_in"));
	r |= table_add_u64(t, (uint64_t)jint(p, "bytes_out"));
	r |= table_add_u64(t, (uint64_t)jint(p, "syns"));
	r |= table_addf(t, "%s%lld", json_is_true(json_object_get(p,
	    "ports_exact")) ? "" : "~", (long long)jint(p, "ports"));
	r |= table_add_u64(t, (uint64_t)jint(p, "hosts"));
	r |= table_add(t, kinds[0] ? kinds : "-");
	r |= table_add(t, lists[0] ? lists + 1 : "-");
	return r;
}

int
views_peers(const json_t *arr, int json)
{
	struct table *t;
	const json_t *p;
	size_t i;
	int r = 0;

	if (json)
		return views_json(arr);
	if ((t = table_new(peer_cols, 10)) == NULL)
		return EXIT_FAIL;
	json_array_foreach(arr, i, p)
		r |= peer_row(t, p);
	if (r == 0)
		r = table_print(t, stdout);
	table_free(t);
	return r == 0 && fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
}

static const struct table_col ban_cols[] = {
	{ "Address", TABLE_LEFT }, { "Source", TABLE_LEFT },
	{ "Created", TABLE_LEFT }, { "Left", TABLE_RIGHT },
	{ "Count", TABLE_RIGHT }, { "Closed", TABLE_RIGHT },
	{ "Reason", TABLE_LEFT },
};

static int
ban_row(struct table *t, const json_t *b)
{
	const json_t *left = json_object_get(b, "left_s");
	char buf[32];
	int r = 0;

	r |= table_add(t, json_string_value(json_object_get(b, "addr")) ?: "?");
	r |= table_add(t, json_string_value(json_object_get(b, "source")) ?:
	    "?");
	r |= table_add(t, json_string_value(json_object_get(b, "created")) ?:
	    "?");
	r |= table_add(t, json_is_integer(left) ? duration_format(
	    (uint64_t)json_integer_value(left) * 1000, buf, sizeof(buf)) :
	    "permanent");
	r |= table_add_u64(t, (uint64_t)jint(b, "count"));
	r |= table_add_u64(t, (uint64_t)jint(b, "sockets_closed"));
	r |= table_add(t, json_string_value(json_object_get(b, "reason")) ?:
	    "");
	return r;
}

/* Oldest first; the daemon keeps them in no order. */
static int
ban_cmp(const void *a, const void *b)
{
	const char *x = json_string_value(json_object_get(*(json_t *const *)a,
	    "created")), *y = json_string_value(json_object_get(
	    *(json_t *const *)b, "created"));

	return strcmp(x ? x : "", y ? y : "");
}

int
views_bans(const json_t *arr, int json)
{
	struct table *t;
	json_t **v;
	size_t i, n = json_array_size(arr);
	int r = 0;

	if (json)
		return views_json(arr);
	if ((t = table_new(ban_cols, 7)) == NULL)
		return EXIT_FAIL;
	if ((v = calloc(n + 1, sizeof(*v))) == NULL) {
		table_free(t);
		return EXIT_FAIL;
	}
	for (i = 0; i < n; i++)
		v[i] = json_array_get(arr, i);
	qsort(v, n, sizeof(*v), ban_cmp);
	for (i = 0; i < n; i++)
		r |= ban_row(t, v[i]);
	free(v);
	if (r == 0)
		r = table_print(t, stdout);
	table_free(t);
	return r == 0 && fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
}
