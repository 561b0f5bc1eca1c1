/* exporter/request.c: each command's arguments, as the daemon's handlers
 * get them (what the client sent, checked and decoded) or refused with
 * the message the client reads. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "../../exporter/request.h"

#define NOW_MS	1796000000000LL		/* 2026-11-30T00:53:20Z */

static json_t *
req(const char *text)
{
	json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, NULL);

	assert_non_null(j);
	return j;
}

static void
test_request_alerts(void **state)
{
	static const struct {
		const char *text;
		const char *error;	/* NULL: accepted */
	} cases[] = {
		{ "{}", NULL },
		{ "{\"since\": \"1h\", \"limit\": 5}", NULL },
		{ "{\"since\": \"2026-11-27T15:36:35Z\", \"kind\": null}", NULL },
		{ "{\"since\": \"2026-02-31T00:00:00Z\"}", "since must be an "
		    "RFC 3339 time or a duration such as 1h" },
		{ "{\"since\": \"100000d\"}", "since must be an RFC 3339 time "
		    "or a duration such as 1h" },
		{ "{\"since\": 3600}", "since must be an RFC 3339 time or a "
		    "duration such as 1h" },
		{ "{\"kind\": 1}", "kind must be a string" },
		{ "{\"peer\": \"198.18.0.0/33\"}",
		    "peer must be an address or CIDR" },
		{ "{\"limit\": 0}", "limit must be an integer 1-1000000" },
		{ "{\"limit\": 1000001}", "limit must be an integer 1-1000000" },
	};
	struct alert_filter f;
	const char *err;
	bool capped;
	size_t i;
	json_t *j;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err = NULL;
		j = req(cases[i].text);
		if (cases[i].error == NULL) {
			assert_int_equal(request_alerts(j, NOW_MS, &f, &capped,
			    &err), 0);
		} else {
			assert_int_equal(request_alerts(j, NOW_MS, &f, &capped,
			    &err), -EINVAL);
			assert_string_equal(err, cases[i].error);
		}
		json_decref(j);
	}
	j = req("{\"since\": \"1h\", \"peer\": \"2001:db8::1\"}");
	assert_int_equal(request_alerts(j, NOW_MS, &f, &capped, &err), 0);
	assert_int_equal(f.since_ms, NOW_MS - 3600000);
	assert_true(f.has_peer);
	assert_int_equal(f.peer.len, 128);
	assert_int_equal(f.limit, REQUEST_ALERTS_LIMIT);
	assert_false(capped);
	json_decref(j);
	/* More than one answer holds: cut, and said so. */
	j = req("{\"limit\": 50000, \"kind\": \"portscan\"}");
	assert_int_equal(request_alerts(j, NOW_MS, &f, &capped, &err), 0);
	assert_int_equal(f.limit, REQUEST_ALERTS_MAX);
	assert_true(capped);
	assert_string_equal(f.kind, "portscan");
	json_decref(j);
}

static void
test_request_block(void **state)
{
	static const char *const bad[] = {
		"{}",
		"{\"peers\": []}",
		"{\"peers\": \"198.18.0.1\"}",
		"{\"peers\": [\"198.18.0.1\", 7]}",
		"{\"peers\": [\"example.com\"]}",
		"{\"peers\": [\"198.18.0.1\"], \"for_ms\": 999}",
		"{\"peers\": [\"198.18.0.1\"], \"for_ms\": 315360000001}",
		"{\"peers\": [\"198.18.0.1\"], \"for_ms\": 1.5e6}",
		"{\"peers\": [\"198.18.0.1\"], \"permanent\": 1}",
		"{\"peers\": [\"198.18.0.1\"], \"reason\": null}",
	};
	struct request_block q;
	char buf[ADDR_STRLEN];
	const char *err;
	size_t i;
	json_t *j;

	(void)state;
	j = req("{\"peers\": [\"::ffff:198.18.3.4\", \"198.18.5.9/24\"], "
	    "\"for_ms\": 3600000, \"reason\": \"manual\", \"brief\": true}");
	assert_int_equal(request_block(j, &q, &err), 0);
	assert_int_equal(q.npeers, 2);
	/* Canonical: the IPv4 a mapped address means; no host bits. */
	assert_string_equal(cidr_format(&q.peers[0], buf, sizeof(buf)),
	    "198.18.3.4/32");
	assert_string_equal(cidr_format(&q.peers[1], buf, sizeof(buf)),
	    "198.18.5.0/24");
	assert_int_equal(q.for_ms, 3600000);
	assert_string_equal(q.reason, "manual");
	assert_true(q.brief);
	assert_false(q.permanent || q.force);
	request_block_clear(&q);
	json_decref(j);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err = NULL;
		j = req(bad[i]);
		assert_int_equal(request_block(j, &q, &err), -EINVAL);
		assert_non_null(err);
		assert_null(q.peers);
		json_decref(j);
	}
	/* unblock takes peers only. */
	j = req("{\"peers\": [\"2001:db8::1\"], \"for_ms\": 1}");
	assert_int_equal(request_unblock(j, &q, &err), 0);
	assert_int_equal(q.npeers, 1);
	assert_int_equal(q.for_ms, 0);
	request_block_clear(&q);
	json_decref(j);
}

static void
test_request_peers_subscribe(void **state)
{
	enum peers_sort by;
	unsigned int n;
	const char *err;
	json_t *j;

	(void)state;
	j = req("{}");
	assert_int_equal(request_peers(j, &by, &n, &err), 0);
	assert_int_equal(by, PEERS_SORT_PACKETS);
	assert_int_equal(n, REQUEST_PEERS_LIMIT);
	assert_int_equal(request_subscribe(j, 10, &n, &err), 0);
	assert_int_equal(n, 10);
	json_decref(j);
	j = req("{\"limit\": 5, \"sort\": \"syn\", \"recent\": 1024}");
	assert_int_equal(request_peers(j, &by, &n, &err), 0);
	assert_int_equal(by, PEERS_SORT_SYN);
	assert_int_equal(n, 5);
	assert_int_equal(request_subscribe(j, 10, &n, &err), 0);
	assert_int_equal(n, 1024);
	json_decref(j);
	j = req("{\"limit\": 100001, \"sort\": \"size\", \"recent\": -1}");
	assert_int_equal(request_peers(j, &by, &n, &err), -EINVAL);
	assert_string_equal(err, "limit must be an integer 1-100000");
	assert_int_equal(request_subscribe(j, 10, &n, &err), -EINVAL);
	assert_string_equal(err, "recent must be an integer 0-1024");
	json_decref(j);
	j = req("{\"sort\": \"size\"}");
	assert_int_equal(request_peers(j, &by, &n, &err), -EINVAL);
	assert_string_equal(err, "sort must be packets, bytes, ports or syn");
	json_decref(j);
}

static void
test_request_bans(void **state)
{
	static const char *const bad[][2] = {
		{ "{\"limit\": 0}", "limit must be an integer 1-1000000" },
		{ "{\"limit\": 1000001}", "limit must be an integer 1-1000000" },
		{ "{\"limit\": \"5\"}", "limit must be an integer 1-1000000" },
		{ "{\"sort\": \"size\"}",
		    "sort must be left, created, address or count" },
		{ "{\"sort\": 1}",
		    "sort must be left, created, address or count" },
		{ "{\"filter\": \"\"}", "filter must be 1-63 characters" },
		{ "{\"filter\": null}", "filter must be 1-63 characters" },
	};
	struct request_bans q;
	char big[100], text[160];
	const char *err;
	json_t *j;
	size_t i;

	(void)state;
	/* None: every ban, as before there were arguments. */
	j = req("{}");
	assert_int_equal(request_bans(j, &q, &err), 0);
	assert_false(q.sorted);
	assert_int_equal(q.limit, 0);
	assert_null(q.filter);
	json_decref(j);
	j = req("{\"limit\": 30, \"sort\": \"count\","
	    " \"filter\": \"::ffff:198.18.0.1/120\"}");
	assert_int_equal(request_bans(j, &q, &err), 0);
	assert_true(q.sorted);
	assert_int_equal(q.limit, 30);
	assert_int_equal(q.by, BANS_SORT_COUNT);
	/* A mapped prefix is the IPv4 one it means, host bits cleared. */
	assert_true(q.is_cidr);
	assert_string_equal(cidr_format(&q.cidr, text, sizeof(text)),
	    "198.18.0.0/24");
	json_decref(j);
	j = req("{\"sort\": \"address\", \"filter\": \"18.0\"}");
	assert_int_equal(request_bans(j, &q, &err), 0);
	assert_true(q.sorted);
	assert_int_equal(q.limit, 0);
	assert_false(q.is_cidr);
	assert_string_equal(q.filter, "18.0");
	json_decref(j);
	memset(big, 'x', 64);
	big[64] = '\0';
	snprintf(text, sizeof(text), "{\"filter\": \"%s\"}", big);
	j = req(text);
	assert_int_equal(request_bans(j, &q, &err), -EINVAL);
	json_decref(j);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		j = req(bad[i][0]);
		err = NULL;
		assert_int_equal(request_bans(j, &q, &err), -EINVAL);
		assert_string_equal(err, bad[i][1]);
		json_decref(j);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_alerts),
		cmocka_unit_test(test_request_block),
		cmocka_unit_test(test_request_peers_subscribe),
		cmocka_unit_test(test_request_bans),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
