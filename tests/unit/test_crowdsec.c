#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../policy/crowdsec.h"

static void
test_duration_good(void **state)
{
	static const struct {
		const char *in;
		int64_t ms;
	} good[] = {
		{ "59m59.68s", 3599680 },
		{ "59m58.890748247s", 3598890 },
		{ "1h", 3600000 },
		{ "1h59m59.89074634s", 7199890 },
		{ "-3m2s", -182000 },
		{ "-13.205169ms", -13 },
		{ "+5s", 5000 },
		{ "300ms", 300 },
		{ "1.5h", 5400000 },
		{ ".5s", 500 },
		{ "2h45m", 9900000 },
		{ "1500us", 1 },
		{ "1500\xc2\xb5s", 1 },
		{ "999999ns", 0 },
		{ "0", 0 },
		{ "-0", 0 },
		{ "0s", 0 },
		{ "876000h", 876000LL * 3600000 },
		/* Digits past what a nanosecond holds change nothing. */
		{ "1.0000000000000000000000000001s", 1000 },
	};
	int64_t ms;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ms = -1;
		if (crowdsec_duration_parse(good[i].in, &ms) != 0)
			fail_msg("'%s' refused", good[i].in);
		if (ms != good[i].ms)
			fail_msg("'%s': %lld ms, not %lld", good[i].in,
			    (long long)ms, (long long)good[i].ms);
	}
}

static void
test_duration_bad(void **state)
{
	static const struct {
		const char *in;
		int r;
	} bad[] = {
		{ "", -EINVAL },
		{ "-", -EINVAL },
		{ "1", -EINVAL },		/* no unit but for 0 */
		{ "s", -EINVAL },
		{ ".s", -EINVAL },
		{ "1d", -EINVAL },		/* Go has no days */
		{ "1h 2m", -EINVAL },
		{ "1hm", -EINVAL },
		{ "--1s", -EINVAL },
		{ "1.2.3s", -EINVAL },
		{ "0x10s", -EINVAL },
		{ "1s\n", -EINVAL },
		{ "876001h", -ERANGE },		/* over 100 years */
		{ "-876001h", -ERANGE },
		{ "99999999999999999999999h", -ERANGE },
		{ "438000h438001h", -ERANGE },
		/* Longer than CROWDSEC_DURATION_LEN. */
		{ "1s1s1s1s1s1s1s1s1s1s1s1s1s1s1s1s1s1s1s1s1s1s1s1s1s1s1s1s1s1s"
		    "1s1s1s", -EINVAL },
	};
	int64_t ms;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ms = 12345;
		if (crowdsec_duration_parse(bad[i].in, &ms) != bad[i].r)
			fail_msg("'%s': not %d", bad[i].in, bad[i].r);
		assert_int_equal(ms, 12345);
	}
	assert_int_equal(crowdsec_duration_parse(NULL, &ms), -EINVAL);
}

static int
parse(const char *s, struct crowdsec_stream *st)
{
	char err[256];

	return crowdsec_stream_parse(s, strlen(s), st, err, sizeof(err));
}

/* What the API 1.4.6 sends (recorded against it), and entries that are
 * not ours or not well formed beside good ones. */
static void
test_stream(void **state)
{
	static const char *const text =
	    "{\"deleted\":[{\"duration\":\"-13.205169ms\",\"id\":1,"
	    "\"origin\":\"cscli\",\"scenario\":\"manual\",\"scope\":\"Ip\","
	    "\"type\":\"ban\",\"value\":\"198.18.9.9\"}],"
	    "\"new\":[{\"duration\":\"59m58.890748247s\",\"id\":1,"
	    "\"origin\":\"cscli\",\"scenario\":\"x\",\"scope\":\"Ip\","
	    "\"type\":\"ban\",\"value\":\"198.18.9.10\"},"
	    "{\"duration\":\"1h59m59.89074634s\",\"id\":2,"
	    "\"scope\":\"Range\",\"type\":\"ban\","
	    "\"value\":\"198.18.64.7/24\"},"
	    "{\"duration\":\"1h\",\"scope\":\"Ip\",\"type\":\"ban\","
	    "\"value\":\"2001:db8::1\"},"
	    /* not ours: another type, another scope, expired */
	    "{\"duration\":\"1h\",\"scope\":\"Ip\",\"type\":\"captcha\","
	    "\"value\":\"198.18.9.11\"},"
	    "{\"duration\":\"1h\",\"scope\":\"Country\",\"type\":\"ban\","
	    "\"value\":\"FR\"},"
	    "{\"duration\":\"-1s\",\"scope\":\"Ip\",\"type\":\"ban\","
	    "\"value\":\"198.18.9.12\"},"
	    "{\"duration\":\"1h\",\"scope\":\"ip\",\"type\":\"ban\","
	    "\"value\":\"198.18.9.13\"},"
	    /* malformed */
	    "{\"duration\":\"1h\",\"scope\":\"Ip\",\"type\":\"ban\","
	    "\"value\":\"198.18.9.0/24\"},"
	    "{\"duration\":\"1h\",\"scope\":\"Range\",\"type\":\"ban\","
	    "\"value\":\"198.18.9.0\"},"
	    "{\"duration\":\"1h\",\"scope\":\"Ip\",\"type\":\"ban\","
	    "\"value\":\"198.18.999.1\"},"
	    "{\"duration\":\"soon\",\"scope\":\"Ip\",\"type\":\"ban\","
	    "\"value\":\"198.18.9.14\"},"
	    "{\"duration\":3600,\"scope\":\"Ip\",\"type\":\"ban\","
	    "\"value\":\"198.18.9.15\"},"
	    "{\"scope\":\"Ip\",\"type\":\"ban\",\"value\":\"198.18.9.16\"},"
	    "{\"duration\":\"1h\",\"scope\":\"Ip\",\"type\":\"ban\","
	    "\"value\":\"198.18.9.17 198.18.9.18 198.18.9.19 198.18.9.20 "
	    "198.18.9.21\"},"
	    "[], 7, null]}";
	struct crowdsec_stream st;
	char buf[ADDR_STRLEN];

	(void)state;
	assert_int_equal(parse(text, &st), 0);
	assert_int_equal(st.ndel, 1);
	assert_string_equal(cidr_format(&st.del[0], buf, sizeof(buf)),
	    "198.18.9.9/32");
	assert_int_equal(st.nadd, 3);
	assert_string_equal(cidr_format(&st.add[0].peer, buf, sizeof(buf)),
	    "198.18.9.10/32");
	assert_int_equal(st.add[0].remaining_ms, 3598890);
	assert_string_equal(cidr_format(&st.add[1].peer, buf, sizeof(buf)),
	    "198.18.64.0/24");
	assert_string_equal(cidr_format(&st.add[2].peer, buf, sizeof(buf)),
	    "2001:db8::1/128");
	assert_int_equal(st.skipped, 4);
	assert_int_equal(st.invalid, 10);
	crowdsec_stream_free(&st);
}

/* The wrong shape is refused whole: nothing to lift, nothing to ban. */
static void
test_stream_refused(void **state)
{
	static const char *const bad[] = {
		"", "garbage", "<html>502 Bad Gateway</html>", "[]", "null",
		"\"new\"", "{\"new\":{}}", "{\"deleted\":\"x\"}",
		"{\"new\":[],\"new\":[]}", "{\"new\":[", "{} x",
	};
	struct crowdsec_stream st;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse(bad[i], &st) != -EINVAL)
			fail_msg("'%s' taken", bad[i]);
	assert_int_equal(parse("{}", &st), 0);
	assert_int_equal(st.nadd + st.ndel, 0);
	assert_int_equal(parse("{\"new\":null,\"deleted\":null,\"x\":1}",
	    &st), 0);
	assert_int_equal(st.nadd + st.ndel, 0);
}

static void
test_alerts_json(void **state)
{
	struct crowdsec_signal g[2];
	json_t *a, *d;
	char *s;

	(void)state;
	memset(g, 0, sizeof(g));
	assert_non_null(crowdsec_scenario("portscan"));
	assert_string_equal(crowdsec_scenario("portscan"),
	    "sockwatch/portscan");
	assert_string_equal(crowdsec_scenario("denylist"), "sockwatch/deny");
	assert_null(crowdsec_scenario("listener"));
	snprintf(g[0].scenario, sizeof(g[0].scenario), "sockwatch/portscan");
	assert_int_equal(addr_parse("198.18.0.2", &g[0].source), 0);
	snprintf(g[0].message, sizeof(g[0].message), "scan \"x\"");
	g[0].events = 25;
	g[0].time_ms = 1796683876123LL;
	g[0].ban_ms = 3600000;
	g[1] = g[0];
	g[1].ban_ms = 0;
	g[1].events = 0;
	assert_int_equal(addr_parse("2001:db8::2", &g[1].source), 0);
	a = crowdsec_alerts_json(g, 2);
	assert_non_null(a);
	assert_int_equal(json_array_size(a), 2);
	s = json_dumps(json_array_get(a, 0), JSON_SORT_KEYS | JSON_COMPACT);
	assert_string_equal(s, "{\"capacity\":0,\"decisions\":[{"
	    "\"duration\":\"3600s\",\"origin\":\"sockwatch\","
	    "\"scenario\":\"sockwatch/portscan\",\"scope\":\"Ip\","
	    "\"type\":\"ban\",\"value\":\"198.18.0.2\"}],\"events\":[],"
	    "\"events_count\":25,\"leakspeed\":\"0\","
	    "\"message\":\"scan \\\"x\\\"\","
	    "\"scenario\":\"sockwatch/portscan\","
	    "\"scenario_hash\":\"\",\"scenario_version\":\"\","
	    "\"simulated\":false,\"source\":{\"ip\":\"198.18.0.2\","
	    "\"scope\":\"Ip\",\"value\":\"198.18.0.2\"},"
	    "\"start_at\":\"2026-12-07T22:51:16Z\","
	    "\"stop_at\":\"2026-12-07T22:51:16Z\"}");
	free(s);
	d = json_object_get(json_array_get(a, 1), "decisions");
	assert_int_equal(json_array_size(d), 0);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(a,
	    1), "events_count")), 1);
	json_decref(a);
}

/* Our decisions for one peer, from GET /v1/alerts?ip= as crowdsec 1.4.6
 * answers it (trimmed): only ours (machine and origin), of that address,
 * a ban of scope Ip, in force, with an id; never another machine's, nor
 * cscli's, nor a range holding the peer. */
static void
test_own_decisions(void **state)
{
	static const char answer[] =
	    "[{\"id\":4,\"machine_id\":\"other\",\"decisions\":["
	    "{\"duration\":\"59m\",\"id\":4,\"origin\":\"cscli\","
	    "\"scope\":\"Ip\",\"type\":\"ban\",\"value\":\"198.18.9.20\"}]},"
	    "{\"id\":2,\"machine_id\":\"agentB\",\"decisions\":["
	    "{\"duration\":\"59m\",\"id\":2,\"origin\":\"sockwatch\","
	    "\"scope\":\"Ip\",\"type\":\"ban\",\"value\":\"198.18.9.20\"}]},"
	    "{\"id\":1,\"machine_id\":\"agentA\",\"decisions\":["
	    /* ours */
	    "{\"duration\":\"59m58.6s\",\"id\":1,\"origin\":\"sockwatch\","
	    "\"scope\":\"Ip\",\"type\":\"ban\",\"value\":\"198.18.9.20\"},"
	    /* ours, no time said */
	    "{\"id\":7,\"origin\":\"sockwatch\","
	    "\"scope\":\"Ip\",\"type\":\"ban\",\"value\":\"198.18.9.20\"},"
	    /* over already */
	    "{\"duration\":\"-2s\",\"id\":8,\"origin\":\"sockwatch\","
	    "\"scope\":\"Ip\",\"type\":\"ban\",\"value\":\"198.18.9.20\"},"
	    /* another address, a range, another type, origin, no id */
	    "{\"id\":9,\"origin\":\"sockwatch\","
	    "\"scope\":\"Ip\",\"type\":\"ban\",\"value\":\"198.18.9.21\"},"
	    "{\"id\":10,\"origin\":\"sockwatch\","
	    "\"scope\":\"Range\",\"type\":\"ban\",\"value\":\"198.18.9.0/24\"},"
	    "{\"id\":11,\"origin\":\"sockwatch\","
	    "\"scope\":\"Ip\",\"type\":\"captcha\",\"value\":\"198.18.9.20\"},"
	    "{\"id\":12,\"origin\":\"crowdsec\","
	    "\"scope\":\"Ip\",\"type\":\"ban\",\"value\":\"198.18.9.20\"},"
	    "{\"origin\":\"sockwatch\","
	    "\"scope\":\"Ip\",\"type\":\"ban\",\"value\":\"198.18.9.20\"},"
	    "{\"id\":\"13\",\"origin\":\"sockwatch\","
	    "\"scope\":\"Ip\",\"type\":\"ban\",\"value\":\"198.18.9.20\"},"
	    "{\"id\":-1,\"origin\":\"sockwatch\","
	    "\"scope\":\"Ip\",\"type\":\"ban\",\"value\":\"198.18.9.20\"},"
	    "7]},"
	    /* no machine, decisions not an array, not an object */
	    "{\"decisions\":[{\"id\":20,\"origin\":\"sockwatch\","
	    "\"scope\":\"Ip\",\"type\":\"ban\",\"value\":\"198.18.9.20\"}]},"
	    "{\"machine_id\":\"agentA\",\"decisions\":{}},"
	    "null,"
	    /* ours, pushed after the unblock */
	    "{\"id\":30,\"machine_id\":\"agentA\",\"decisions\":["
	    "{\"duration\":\"1h\",\"id\":31,\"origin\":\"sockwatch\","
	    "\"scope\":\"Ip\",\"type\":\"ban\",\"value\":\"198.18.9.20\"}]},"
	    /* an alert's id that is not a number */
	    "{\"id\":\"1\",\"machine_id\":\"agentA\",\"decisions\":["
	    "{\"duration\":\"1h\",\"id\":41,\"origin\":\"sockwatch\","
	    "\"scope\":\"Ip\",\"type\":\"ban\",\"value\":\"198.18.9.20\"}]}]";
	static const char six[] =
	    "[{\"id\":3,\"machine_id\":\"agentA\",\"decisions\":["
	    "{\"duration\":\"1h\",\"id\":3,\"origin\":\"sockwatch\","
	    "\"scope\":\"Ip\",\"type\":\"ban\",\"value\":\"2001:db8::5\"}]}]";
	struct addr peer;
	int64_t ids[CROWDSEC_OWN_MAX];
	char err[256];
	char *page;
	json_t *j;
	int listed;
	size_t n;

	(void)state;
	/* Returned: how many alerts the answer lists. */
	assert_non_null(j = json_loads(answer, 0, NULL));
	listed = (int)json_array_size(j);
	json_decref(j);
	assert_true(listed > 5);
	assert_int_equal(addr_parse("198.18.9.20", &peer), 0);
	assert_int_equal(crowdsec_own_decisions(answer, strlen(answer),
	    "agentA", &peer, INT64_MAX, ids, CROWDSEC_OWN_MAX, &n, err,
	    sizeof(err)), listed);
	assert_int_equal(n, 3);
	assert_int_equal(ids[0], 1);
	assert_int_equal(ids[1], 7);
	assert_int_equal(ids[2], 31);
	/* Our alerts from 30 on came after the unblock. */
	assert_int_equal(crowdsec_own_decisions(answer, strlen(answer),
	    "agentA", &peer, 30, ids, CROWDSEC_OWN_MAX, &n, err,
	    sizeof(err)), listed);
	assert_int_equal(n, 2);
	assert_int_equal(ids[1], 7);
	/* At most max. */
	assert_int_equal(crowdsec_own_decisions(answer, strlen(answer),
	    "agentA", &peer, INT64_MAX, ids, 1, &n, err, sizeof(err)), listed);
	assert_int_equal(n, 1);
	/* Another machine finds its own only. */
	assert_int_equal(crowdsec_own_decisions(answer, strlen(answer),
	    "agentB", &peer, INT64_MAX, ids, CROWDSEC_OWN_MAX, &n, err,
	    sizeof(err)), listed);
	assert_int_equal(n, 1);
	assert_int_equal(ids[0], 2);
	/* IPv6, as written. */
	assert_int_equal(addr_parse("2001:db8:0::5", &peer), 0);
	assert_int_equal(crowdsec_own_decisions(six, strlen(six), "agentA",
	    &peer, INT64_MAX, ids, CROWDSEC_OWN_MAX, &n, err, sizeof(err)),
	    1);
	assert_int_equal(n, 1);
	assert_int_equal(ids[0], 3);
	/* A full page of another machine's alerts: none of ours, and it
	 * says the page was full (ours may be on the next). */
	assert_non_null(j = json_array());
	for (listed = 0; listed < CROWDSEC_OWN_MAX; listed++)
		assert_int_equal(json_array_append_new(j, json_pack(
		    "{s:i, s:s, s:[{s:i, s:s, s:s, s:s, s:s}]}", "id",
		    listed + 1, "machine_id", "agentB", "decisions", "id",
		    listed + 1, "origin", "sockwatch", "scope", "Ip", "type",
		    "ban", "value", "2001:db8::5")), 0);
	assert_non_null(page = json_dumps(j, JSON_COMPACT));
	json_decref(j);
	assert_int_equal(crowdsec_own_decisions(page, strlen(page), "agentA",
	    &peer, INT64_MAX, ids, CROWDSEC_OWN_MAX, &n, err, sizeof(err)),
	    CROWDSEC_OWN_MAX);
	assert_int_equal(n, 0);
	free(page);
	/* None: the API says null. */
	assert_int_equal(crowdsec_own_decisions("null", 4, "agentA", &peer,
	    INT64_MAX, ids, CROWDSEC_OWN_MAX, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 0);
	/* Not its shape: refused, with a reason. */
	err[0] = '\0';
	assert_int_equal(crowdsec_own_decisions("{}", 2, "agentA", &peer,
	    INT64_MAX, ids, CROWDSEC_OWN_MAX, &n, err, sizeof(err)), -EINVAL);
	assert_true(err[0] != '\0');
	assert_int_equal(crowdsec_own_decisions("<html>", 6, "agentA", &peer,
	    INT64_MAX, ids, CROWDSEC_OWN_MAX, &n, err, sizeof(err)), -EINVAL);
	assert_int_equal(n, 0);
}

/* Plain HTTP to another host sends the keys in clear; to loopback, or
 * over https, it does not. */
static void
test_url_cleartext(void **state)
{
	static const struct {
		const char *url;
		bool clear;
	} cases[] = {
		{ "http://127.0.0.1:8080/", false },
		{ "http://127.8.9.10/", false },
		{ "http://[::1]:8080/", false },
		{ "http://[::ffff:127.0.0.1]:8080/", false },
		{ "http://localhost:8080/", false },
		{ "http://LocalHost./", false },
		{ "http://lapi.localhost:8080/", false },
		{ "HTTP://127.0.0.1/", false },
		{ "https://198.18.0.5:8080/", false },
		{ "https://lapi.example.org/", false },
		{ "http://198.18.0.5:8080/", true },
		{ "http://198.18.0.5/", true },
		{ "http://[2001:db8::5]:8080/", true },
		{ "http://[fe80::1%25eth0]:8080/", true },
		{ "http://lapi.example.org/", true },
		{ "http://localhost.example.org/", true },
		{ "http://notlocalhost/", true },
		{ "http://127.0.0.1.example.org/", true },
		{ "http://[::1/", true },		/* never reaches here */
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (crowdsec_url_cleartext(cases[i].url) != cases[i].clear)
			fail_msg("%s: %d", cases[i].url, !cases[i].clear);
}

/* POST /v1/alerts answers with the ids of the alerts taken, as strings. */
static void
test_alert_ids(void **state)
{
	static const struct {
		const char *answer;
		size_t n;
		int64_t min;		/* 0: refused */
	} cases[] = {
		{ "[\"1\"]", 1, 1 },
		{ "[\"12\",\"11\",\"13\"]", 3, 11 },
		{ "[12, 11]", 2, 11 },
		{ "[\"1\"]", 2, 0 },			/* not all taken */
		{ "[]", 1, 0 },
		{ "[\"\"]", 1, 0 },
		{ "[\"1a\"]", 1, 0 },
		{ "[\"-1\"]", 1, 0 },
		{ "[0]", 1, 0 },
		{ "[\"1234567890123456789\"]", 1, 0 },	/* 19 digits */
		{ "[null]", 1, 0 },
		{ "{\"id\":\"1\"}", 1, 0 },
		{ "<html>", 1, 0 },
	};
	int64_t min;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		min = -1;
		if (crowdsec_alert_ids(cases[i].answer,
		    strlen(cases[i].answer), cases[i].n, &min) !=
		    (cases[i].min ? 0 : -EINVAL) ||
		    (cases[i].min && min != cases[i].min))
			fail_msg("%s: %lld", cases[i].answer, (long long)min);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_duration_good),
		cmocka_unit_test(test_duration_bad),
		cmocka_unit_test(test_stream),
		cmocka_unit_test(test_stream_refused),
		cmocka_unit_test(test_alerts_json),
		cmocka_unit_test(test_own_decisions),
		cmocka_unit_test(test_url_cleartext),
		cmocka_unit_test(test_alert_ids),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
