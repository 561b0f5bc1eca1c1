#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "../../policy/alert.h"

/* 2026-11-27T15:36:35.123Z */
#define T0 1795793795123LL

static void
fill(struct alert *a)
{
	memset(a, 0, sizeof(*a));
	a->id = 42;
	a->time_ms = T0;
	strcpy(a->kind, "listener");
	a->severity = ALERT_WARNING;
	a->has_peer = true;
	assert_int_equal(addr_parse("2001:db8::7", &a->peer), 0);
	a->has_local = true;
	assert_int_equal(addr_parse("198.18.0.1", &a->local_addr), 0);
	a->local_port = 8080;
	a->has_process = true;
	a->pid = 1234;
	a->uid = 1000;
	strcpy(a->comm, "nc");
	strcpy(a->message, "unexpected tcp listener on 198.18.0.1:8080 by nc");
	a->evidence = json_pack("{s:s, s:i}", "proto", "tcp", "port", 8080);
	assert_non_null(a->evidence);
	strcpy(a->action, "alert");
}

/* Parse a JSON text and run alert_from_json on it. */
static int
from_text(const char *text, struct alert *ret)
{
	json_t *j = json_loads(text, JSON_ALLOW_NUL | JSON_DECODE_ANY, NULL);
	int r;

	assert_non_null(j);
	r = alert_from_json(j, ret);
	json_decref(j);
	return r;
}

static void
test_severity(void **state)
{
	enum alert_severity s;

	(void)state;
	assert_string_equal(alert_severity_name(ALERT_INFO), "info");
	assert_string_equal(alert_severity_name(ALERT_WARNING), "warning");
	assert_string_equal(alert_severity_name(ALERT_CRITICAL), "critical");
	assert_int_equal(alert_severity_parse("critical", &s), 0);
	assert_int_equal(s, ALERT_CRITICAL);
	assert_int_equal(alert_severity_parse("Critical", &s), -EINVAL);
	assert_int_equal(alert_severity_parse("", &s), -EINVAL);
	assert_int_equal(alert_severity_parse(NULL, &s), -EINVAL);
}

static void
test_to_json(void **state)
{
	struct alert a;
	json_t *j;
	char *text;

	(void)state;
	fill(&a);
	j = alert_to_json(&a);
	assert_non_null(j);
	text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(text,
	    "{\"action\":\"alert\",\"evidence\":{\"port\":8080,\"proto\":\"tcp\"},"
	    "\"id\":42,\"kind\":\"listener\",\"local_addr\":\"198.18.0.1\","
	    "\"local_port\":8080,\"message\":\"unexpected tcp listener on "
	    "198.18.0.1:8080 by nc\",\"peer\":\"2001:db8::7\",\"process\":"
	    "{\"comm\":\"nc\",\"pid\":1234,\"uid\":1000},\"severity\":"
	    "\"warning\",\"time\":\"2026-11-27T15:36:35.123Z\"}");
	free(text);
	/* The evidence is a copy, not shared. */
	assert_ptr_not_equal(json_object_get(j, "evidence"), a.evidence);
	json_decref(j);
	alert_clear(&a);
	assert_null(a.evidence);
}

static void
test_time_format(void **state)
{
	static const int64_t times[] = { 0, 1, 999, 1000, T0,
	    T0 - 123, 4102444799999LL };
	regex_t re;
	struct alert a, b;
	json_t *j;
	size_t i;

	(void)state;
	assert_int_equal(regcomp(&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T"
	    "[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$", REG_EXTENDED), 0);
	for (i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		fill(&a);
		a.time_ms = times[i];
		j = alert_to_json(&a);
		assert_non_null(j);
		assert_int_equal(regexec(&re, json_string_value(
		    json_object_get(j, "time")), 0, NULL, 0), 0);
		assert_int_equal(alert_from_json(j, &b), 0);
		assert_int_equal(b.time_ms, times[i]);
		json_decref(j);
		alert_clear(&a);
		alert_clear(&b);
	}
	regfree(&re);
	fill(&a);
	a.time_ms = 0;
	j = alert_to_json(&a);
	assert_string_equal(json_string_value(json_object_get(j, "time")),
	    "1970-01-01T00:00:00.000Z");
	json_decref(j);
	alert_clear(&a);
}

static void
test_round_trip(void **state)
{
	struct alert a, b;
	json_t *j, *j2;

	(void)state;
	fill(&a);
	j = alert_to_json(&a);
	assert_non_null(j);
	assert_int_equal(alert_from_json(j, &b), 0);
	assert_int_equal(b.id, a.id);
	assert_int_equal(b.time_ms, a.time_ms);
	assert_string_equal(b.kind, a.kind);
	assert_int_equal(b.severity, a.severity);
	assert_true(b.has_peer);
	assert_true(addr_equal(&b.peer, &a.peer));
	assert_true(b.has_local);
	assert_true(addr_equal(&b.local_addr, &a.local_addr));
	assert_int_equal(b.local_port, 8080);
	assert_true(b.has_process);
	assert_int_equal(b.pid, 1234);
	assert_int_equal(b.uid, 1000);
	assert_string_equal(b.comm, "nc");
	assert_string_equal(b.message, a.message);
	assert_string_equal(b.action, "alert");
	assert_true(json_equal(b.evidence, a.evidence));
	assert_ptr_not_equal(b.evidence, a.evidence);
	j2 = alert_to_json(&b);
	assert_true(json_equal(j, j2));
	json_decref(j);
	json_decref(j2);
	alert_clear(&a);
	alert_clear(&b);
}

static void
test_null_fields(void **state)
{
	struct alert a, b;
	json_t *j;

	(void)state;
	fill(&a);
	a.has_peer = false;
	a.has_local = false;
	a.has_process = false;
	a.severity = ALERT_INFO;
	json_decref(a.evidence);
	a.evidence = NULL;
	j = alert_to_json(&a);
	assert_non_null(j);
	assert_true(json_is_null(json_object_get(j, "peer")));
	assert_true(json_is_null(json_object_get(j, "local_addr")));
	assert_true(json_is_null(json_object_get(j, "local_port")));
	assert_true(json_is_null(json_object_get(j, "process")));
	/* Evidence is always an object. */
	assert_true(json_is_object(json_object_get(j, "evidence")));
	assert_int_equal(alert_from_json(j, &b), 0);
	assert_false(b.has_peer);
	assert_false(b.has_local);
	assert_false(b.has_process);
	assert_int_equal(b.severity, ALERT_INFO);
	assert_true(json_is_object(b.evidence));
	alert_clear(&b);
	/* Absent optional keys read as null. */
	json_object_del(j, "peer");
	json_object_del(j, "local_addr");
	json_object_del(j, "local_port");
	json_object_del(j, "process");
	json_object_del(j, "evidence");
	assert_int_equal(alert_from_json(j, &b), 0);
	assert_false(b.has_peer);
	assert_false(b.has_local);
	assert_false(b.has_process);
	assert_true(json_is_object(b.evidence));
	alert_clear(&b);
	json_decref(j);
	alert_clear(&a);
}

static void
test_copy(void **state)
{
	struct alert a, b;

	(void)state;
	fill(&a);
	assert_int_equal(alert_copy(&b, &a), 0);
	assert_ptr_not_equal(b.evidence, a.evidence);
	assert_true(json_equal(b.evidence, a.evidence));
	alert_clear(&a);
	/* b survives a being cleared. */
	assert_int_equal(json_integer_value(json_object_get(b.evidence,
	    "port")), 8080);
	assert_string_equal(b.kind, "listener");
	alert_clear(&b);
}

/* Replace one key of a good alert's JSON and expect -EINVAL. */
static void
expect_bad(const char *key, json_t *val)
{
	struct alert a, b;
	json_t *j;

	fill(&a);
	j = alert_to_json(&a);
	assert_non_null(j);
	if (val != NULL)
		assert_int_equal(json_object_set_new(j, key, val), 0);
	else
		json_object_del(j, key);
	memset(&b, 0x5a, sizeof(b));
	if (alert_from_json(j, &b) != -EINVAL)
		fail_msg("key %s: accepted", key);
	json_decref(j);
	alert_clear(&a);
}

static void
test_wrong_types(void **state)
{
	(void)state;
	/* Required keys. */
	expect_bad("id", NULL);
	expect_bad("time", NULL);
	expect_bad("kind", NULL);
	expect_bad("severity", NULL);
	expect_bad("message", NULL);
	expect_bad("action", NULL);
	/* Wrong types. */
	expect_bad("id", json_string("42"));
	expect_bad("id", json_real(42.0));
	expect_bad("id", json_integer(-1));
	expect_bad("id", json_null());
	expect_bad("time", json_integer(T0));
	expect_bad("time", json_string("yesterday"));
	expect_bad("time", json_string("2026-11-27 15:36:35"));
	expect_bad("kind", json_integer(1));
	expect_bad("kind", json_string(""));
	expect_bad("kind", json_string("list ener"));
	expect_bad("severity", json_string("severe"));
	expect_bad("severity", json_integer(1));
	expect_bad("peer", json_string("not-an-address"));
	expect_bad("peer", json_string("198.18.0.0/15"));
	expect_bad("peer", json_integer(1));
	expect_bad("peer", json_object());
	expect_bad("local_addr", json_true());
	expect_bad("local_port", json_string("8080"));
	expect_bad("local_port", json_integer(65536));
	expect_bad("local_port", json_integer(-1));
	expect_bad("local_port", json_null());
	expect_bad("process", json_string("nc"));
	expect_bad("process", json_pack("{s:s, s:s, s:i}", "pid", "1",
	    "comm", "nc", "uid", 0));
	expect_bad("process", json_pack("{s:i, s:i, s:i}", "pid", 1,
	    "comm", 5, "uid", 0));
	expect_bad("process", json_pack("{s:i, s:s, s:I}", "pid", 1,
	    "comm", "nc", "uid", (json_int_t)1 << 32));
	expect_bad("process", json_pack("{s:i, s:s}", "pid", 1, "comm",
	    "nc"));
	expect_bad("process", json_pack("{s:i, s:s, s:i}", "pid", -5,
	    "comm", "nc", "uid", 0));
	expect_bad("message", json_null());
	expect_bad("message", json_string("two\nlines"));
	expect_bad("evidence", json_array());
	expect_bad("evidence", json_string("x"));
	expect_bad("action", json_false());
}

static void
test_oversize(void **state)
{
	char big[512];
	struct alert a, b;
	json_t *j;

	(void)state;
	memset(big, 'a', sizeof(big));
	big[15] = '\0';			/* kind[16]: 15 fits */
	fill(&a);
	j = alert_to_json(&a);
	json_object_set_new(j, "kind", json_string(big));
	assert_int_equal(alert_from_json(j, &b), 0);
	assert_int_equal(strlen(b.kind), 15);
	alert_clear(&b);
	json_decref(j);
	alert_clear(&a);

	big[15] = 'a';
	big[16] = '\0';
	expect_bad("kind", json_string(big));
	big[16] = 'a';
	big[255] = '\0';		/* message[256]: 255 fits */
	fill(&a);
	j = alert_to_json(&a);
	json_object_set_new(j, "message", json_string(big));
	assert_int_equal(alert_from_json(j, &b), 0);
	assert_int_equal(strlen(b.message), 255);
	alert_clear(&b);
	json_decref(j);
	alert_clear(&a);
	big[255] = 'a';
	big[256] = '\0';
	expect_bad("message", json_string(big));
	big[256] = 'a';
	big[64] = '\0';
	expect_bad("process", json_pack("{s:i, s:s, s:i}", "pid", 1,
	    "comm", big, "uid", 0));
	big[64] = 'a';
	big[16] = '\0';
	expect_bad("action", json_string(big));
	big[sizeof(big) - 1] = '\0';
	expect_bad("peer", json_string(big));
}

static void
test_hostile_text(void **state)
{
	struct alert b;

	(void)state;
	/* Not an object. */
	assert_int_equal(from_text("[]", &b), -EINVAL);
	assert_int_equal(from_text("\"alert\"", &b), -EINVAL);
	/* An embedded NUL would hide the rest of the string. */
	assert_int_equal(from_text("{\"id\":1,\"time\":\"2026-11-27T15:36:35Z\","
	    "\"kind\":\"listener\",\"severity\":\"info\",\"message\":"
	    "\"ok\\u0000evil\",\"action\":\"alert\"}", &b), -EINVAL);
	assert_int_equal(from_text("{\"id\":1,\"time\":\"2026-11-27T15:36:35Z\","
	    "\"kind\":\"listener\",\"severity\":\"info\\u0000\",\"message\":"
	    "\"ok\",\"action\":\"alert\"}", &b), -EINVAL);
	/* Minimal, with a time offset and unknown keys ignored. */
	assert_int_equal(from_text("{\"id\":1,\"time\":"
	    "\"2026-11-27T16:36:35.123+01:00\",\"kind\":\"listener\","
	    "\"severity\":\"info\",\"message\":\"ok\",\"action\":\"alert\","
	    "\"future\":[1,2]}", &b), 0);
	assert_int_equal(b.time_ms, T0);
	assert_false(b.has_peer);
	alert_clear(&b);
}

static void
test_invalid_utf8_out(void **state)
{
	struct alert a;
	json_t *j;

	(void)state;
	fill(&a);
	strcpy(a.message, "bad \xff\xfe bytes");
	j = alert_to_json(&a);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "message")),
	    "bad ?? bytes");
	json_decref(j);
	alert_clear(&a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_severity),
		cmocka_unit_test(test_to_json),
		cmocka_unit_test(test_time_format),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_null_fields),
		cmocka_unit_test(test_copy),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_oversize),
		cmocka_unit_test(test_hostile_text),
		cmocka_unit_test(test_invalid_utf8_out),
	};

	return cmocka_run_group_tests_name("alert", tests, NULL, NULL);
}
