/*
 * The renderers: cli/table (alignment), sockjson_escape / sockjson_path
 * (untrusted bytes made printable), and sockout_text / sockout_json on a
 * hand-built socket list, the JSON parsed back with jansson.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <jansson.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../exporter/sockjson.h"
#include "../../cli/sockout.h"
#include "../../cli/table.h"

/* Run f into a memory stream; return the NUL-terminated text. */
struct memout {
	FILE *f;
	char *buf;
	size_t len;
};

static void
memout_open(struct memout *m)
{
	memset(m, 0, sizeof(*m));
	m->f = open_memstream(&m->buf, &m->len);
	assert_non_null(m->f);
}

static char *
memout_close(struct memout *m)
{
	assert_int_equal(fclose(m->f), 0);
	assert_non_null(m->buf);
	return m->buf;
}

/* No line ends in a space, and the text ends with a newline. */
static void
assert_no_trailing_space(const char *text)
{
	const char *p;

	assert_true(*text != '\0');
	assert_int_equal(text[strlen(text) - 1], '\n');
	for (p = text; (p = strchr(p, '\n')) != NULL; p++)
		if (p > text && p[-1] == ' ')
			fail_msg("trailing space before line end at offset "
			    "%td in:\n%s", p - text, text);
}

static void
test_table_align(void **state)
{
	static const struct table_col cols[] = {
		{ "Name", TABLE_LEFT },
		{ "Count", TABLE_RIGHT },
		{ "Note", TABLE_LEFT },
	};
	struct memout m;
	struct table *t;
	char *out;

	(void)state;
	assert_non_null(t = table_new(cols, 3));
	assert_int_equal(table_add(t, "a"), 0);
	assert_int_equal(table_addf(t, "%d", 1), 0);
	assert_int_equal(table_add(t, "x"), 0);
	assert_int_equal(table_add(t, "longer-name"), 0);
	assert_int_equal(table_addf(t, "%u", 1234567u), 0);
	assert_int_equal(table_add(t, "the last column"), 0);
	assert_int_equal(table_add(t, "b"), 0);
	assert_int_equal(table_add(t, "22"), 0);
	assert_int_equal(table_add(t, ""), 0);	/* empty last cell */
	memout_open(&m);
	assert_int_equal(table_print(t, m.f), 0);
	out = memout_close(&m);
	assert_string_equal(out,
	    "Name           Count  Note\n"
	    "a                  1  x\n"
	    "longer-name  1234567  the last column\n"
	    "b                 22\n");
	assert_no_trailing_space(out);
	free(out);
	table_free(t);
}

static void
test_table_edges(void **state)
{
	static const struct table_col cols[] = {
		{ "Left", TABLE_LEFT },
		{ "Mid", TABLE_LEFT },
		{ "N", TABLE_RIGHT },
	};
	struct memout m;
	struct table *t;
	char *out, big[300];

	(void)state;
	/* Headers only: columns as wide as the headers. */
	assert_non_null(t = table_new(cols, 3));
	memout_open(&m);
	assert_int_equal(table_print(t, m.f), 0);
	out = memout_close(&m);
	assert_string_equal(out, "Left  Mid  N\n");
	free(out);

	/* Empty cells in the middle keep the columns aligned; a
	 * right-aligned last column is padded on the left only. */
	assert_int_equal(table_add(t, ""), 0);
	assert_int_equal(table_add(t, ""), 0);
	assert_int_equal(table_add(t, "100"), 0);
	assert_int_equal(table_add(t, "x"), 0);
	assert_int_equal(table_add(t, "yy"), 0);
	assert_int_equal(table_add(t, "7"), 0);
	assert_int_equal(table_add(t, "only"), 0);
	assert_int_equal(table_add(t, ""), 0);
	assert_int_equal(table_add(t, ""), 0);
	memout_open(&m);
	assert_int_equal(table_print(t, m.f), 0);
	out = memout_close(&m);
	assert_string_equal(out,
	    "Left  Mid    N\n"
	    "           100\n"
	    "x     yy     7\n"
	    "only\n");
	assert_no_trailing_space(out);
	free(out);
	table_free(t);

	/* A cell wider than the padding buffer. */
	assert_non_null(t = table_new(cols, 3));
	memset(big, 'w', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(table_add(t, big), 0);
	assert_int_equal(table_add(t, "m"), 0);
	assert_int_equal(table_add(t, "1"), 0);
	memout_open(&m);
	assert_int_equal(table_print(t, m.f), 0);
	out = memout_close(&m);
	assert_int_equal(strlen(out), 2 * (299 + 2 + 3 + 2 + 1 + 1));
	assert_int_equal(strchr(out, '\n') - out, 299 + 2 + 3 + 2 + 1);
	assert_no_trailing_space(out);
	free(out);
	table_free(t);
}

static void
test_table_many(void **state)
{
	static const struct table_col cols[] = {
		{ "I", TABLE_RIGHT },
		{ "Sq", TABLE_RIGHT },
	};
	struct memout m;
	struct table *t;
	char *out, *line;
	int i;

	(void)state;
	assert_non_null(t = table_new(cols, 2));
	for (i = 0; i < 5000; i++) {
		assert_int_equal(table_addf(t, "%d", i), 0);
		assert_int_equal(table_addf(t, "%d", i * i), 0);
	}
	memout_open(&m);
	assert_int_equal(table_print(t, m.f), 0);
	out = memout_close(&m);
	/* Every line as wide as "4999  24990001". */
	for (line = out, i = 0; *line != '\0'; i++) {
		assert_int_equal(strchr(line, '\n') - line, 4 + 2 + 8);
		line = strchr(line, '\n') + 1;
	}
	assert_int_equal(i, 5001);
	assert_non_null(strstr(out, "\n   0         0\n"));
	assert_non_null(strstr(out, "\n4999  24990001\n"));
	free(out);
	table_free(t);
}

static void
test_escape(void **state)
{
	static const unsigned char bounds[] = { 0, 4, 6, 7, 8, 9, 13, 17 };
	char buf[64], full[64];
	size_t len, n;

	(void)state;
	assert_string_equal(sockjson_escape("sshd", 4, buf, sizeof(buf)),
	    "sshd");
	assert_string_equal(sockjson_escape("a\\b", 3, buf, sizeof(buf)),
	    "a\\\\b");
	assert_string_equal(sockjson_escape("\x01\x1f\x7f\x80\xff", 5, buf,
	    sizeof(buf)), "\\x01\\x1f\\x7f\\x80\\xff");
	assert_string_equal(sockjson_escape("a\tb\nc", 5, buf, sizeof(buf)),
	    "a\\x09b\\x0ac");
	assert_string_equal(sockjson_escape("a\0b", 3, buf, sizeof(buf)),
	    "a\\x00b");
	assert_string_equal(sockjson_escape(" ~\"'", 4, buf, sizeof(buf)),
	    " ~\"'");
	assert_string_equal(sockjson_escape("", 0, buf, sizeof(buf)), "");
	/* inlen, not the NUL, ends the input. */
	assert_string_equal(sockjson_escape("abcdef", 3, buf, sizeof(buf)),
	    "abc");

	/* Never past len, always terminated, never half an escape: the
	 * output is the full escape cut at a character boundary. */
	sockjson_escape("\x01\\abc\xfe\xff", 7, full, sizeof(full));
	assert_string_equal(full, "\\x01\\\\abc\\xfe\\xff");
	for (len = 1; len < 24; len++) {
		memset(buf, 'Z', sizeof(buf));
		sockjson_escape("\x01\\abc\xfe\xff", 7, buf, len);
		n = strlen(buf);
		assert_true(n < len);
		assert_int_equal(buf[len], 'Z');
		assert_memory_equal(buf, full, n);
		assert_non_null(memchr(bounds, (int)n, sizeof(bounds)));
	}
}

static void
set_path(struct sock_info *s, const char *path, size_t len)
{
	memset(s, 0, sizeof(*s));
	s->family = AF_UNIX;
	memcpy(s->path, path, len);
	s->path_len = (uint8_t)len;
}

static void
test_path(void **state)
{
	char buf[4 * SOCKDIAG_PATH_MAX + 2], raw[SOCKDIAG_PATH_MAX];
	struct sock_info s;

	(void)state;
	set_path(&s, "", 0);
	assert_string_equal(sockjson_path(&s, buf, sizeof(buf)), "*");
	/* A filesystem path, with the kernel's trailing NUL. */
	set_path(&s, "/run/a.sock", sizeof("/run/a.sock"));
	assert_string_equal(sockjson_path(&s, buf, sizeof(buf)),
	    "/run/a.sock");
	/* ... and without one. */
	set_path(&s, "/run/a.sock", strlen("/run/a.sock"));
	assert_string_equal(sockjson_path(&s, buf, sizeof(buf)),
	    "/run/a.sock");
	set_path(&s, "/tmp/a\\b", 9);
	assert_string_equal(sockjson_path(&s, buf, sizeof(buf)),
	    "/tmp/a\\\\b");
	/* Abstract names: '@', and every byte of the name, NULs too. */
	set_path(&s, "\0abstract", 9);
	assert_string_equal(sockjson_path(&s, buf, sizeof(buf)), "@abstract");
	set_path(&s, "\0a\0b\x01", 5);
	assert_string_equal(sockjson_path(&s, buf, sizeof(buf)),
	    "@a\\x00b\\x01");
	set_path(&s, "\0", 1);
	assert_string_equal(sockjson_path(&s, buf, sizeof(buf)), "@");
	set_path(&s, "\0@x", 3);
	assert_string_equal(sockjson_path(&s, buf, sizeof(buf)), "@@x");
	/* The longest name, all escapes, fits the documented buffer. */
	memset(raw, 0xff, sizeof(raw));
	raw[0] = '\0';
	set_path(&s, raw, sizeof(raw));
	sockjson_path(&s, buf, sizeof(buf));
	assert_int_equal(strlen(buf), 1 + 4 * (SOCKDIAG_PATH_MAX - 1));
	memset(raw, 0x01, sizeof(raw));
	set_path(&s, raw, sizeof(raw));
	sockjson_path(&s, buf, sizeof(buf));
	assert_int_equal(strlen(buf), 4 * SOCKDIAG_PATH_MAX);
}

/* A fake /proc with pid 4321 ("web\"srv") holding inode 1001 on fd 7. */
static struct procmap *
fake_procs(char *root, size_t len)
{
	struct procmap *pm;
	char path[256];
	FILE *f;

	snprintf(root, len, "/tmp/sw-out.XXXXXX");
	assert_non_null(mkdtemp(root));
	snprintf(path, sizeof(path), "%s/4321", root);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/4321/fd", root);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/4321/fd/7", root);
	assert_int_equal(symlink("socket:[1001]", path), 0);
	snprintf(path, sizeof(path), "%s/4321/comm", root);
	assert_non_null(f = fopen(path, "w"));
	fputs("web\"srv\x01\n", f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(procmap_build(root, &pm), 0);
	return pm;
}

static void
rm_tree(const char *root)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	assert_int_equal(system(cmd), 0);
}

/* tcp4 established (held by pid 4321), tcp6 listener, udp unconnected,
 * unix stream with an abstract name and a peer, unix dgram unbound. */
static void
build_list(struct socklist *l)
{
	struct sock_info *s;

	assert_int_equal(socklist_reserve(l, 8), 0);
	memset(l->v, 0, 8 * sizeof(*l->v));
	l->n = 5;

	s = &l->v[0];
	s->family = AF_INET;
	s->proto = IPPROTO_TCP;
	s->type = SOCK_STREAM;
	s->state = TCP_ESTABLISHED;
	assert_int_equal(addr_parse("198.18.0.1", &s->laddr), 0);
	assert_int_equal(addr_parse("198.18.0.2", &s->raddr), 0);
	s->lport = 8080;
	s->rport = 40001;
	s->rq = 5;
	s->wq = 7;
	s->uid = 1000;
	s->inode = 1001;
	s->cookie = (1ULL << 40) + 3;

	s = &l->v[1];
	s->family = AF_INET6;
	s->proto = IPPROTO_TCP;
	s->type = SOCK_STREAM;
	s->state = TCP_LISTEN;
	assert_int_equal(addr_parse("2001:db8::1", &s->laddr), 0);
	assert_int_equal(addr_parse("::", &s->raddr), 0);
	s->lport = 8443;
	s->wq = 128;
	s->inode = 1002;
	s->cookie = 2;

	s = &l->v[2];
	s->family = AF_INET;
	s->proto = IPPROTO_UDP;
	s->type = SOCK_DGRAM;
	s->state = TCP_CLOSE;
	assert_int_equal(addr_parse("0.0.0.0", &s->laddr), 0);
	assert_int_equal(addr_parse("0.0.0.0", &s->raddr), 0);
	s->lport = 5353;
	s->inode = 1003;

	s = &l->v[3];
	set_path(s, "\0sw\x01test", 8);
	s->type = SOCK_STREAM;
	s->state = TCP_ESTABLISHED;
	s->inode = 1004;
	s->peer_inode = 1005;
	s->uid = 42;

	s = &l->v[4];
	set_path(s, "", 0);
	s->type = SOCK_DGRAM;
	s->state = TCP_CLOSE;
	s->inode = 1005;
}

static void
assert_key_str(const json_t *o, const char *key, const char *want)
{
	const json_t *v = json_object_get(o, key);

	if (v == NULL || !json_is_string(v))
		fail_msg("key %s: missing or not a string", key);
	assert_string_equal(json_string_value(v), want);
}

static void
assert_key_int(const json_t *o, const char *key, json_int_t want)
{
	const json_t *v = json_object_get(o, key);

	if (v == NULL || !json_is_integer(v))
		fail_msg("key %s: missing or not an integer", key);
	assert_int_equal(json_integer_value(v), want);
}

static void
assert_key_null(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	if (v == NULL || !json_is_null(v))
		fail_msg("key %s: missing or not null", key);
}

static void
test_json(void **state)
{
	static const char *const common[] = {
		"proto", "family", "state", "local_addr", "local_port",
		"remote_addr", "remote_port", "recv_q", "send_q", "uid",
		"inode", "cookie", "processes",
	};
	static const char *const unixkeys[] = { "path", "type", "peer_inode" };
	struct sockout_opts o = { .view = SOCKOUT_SOCKETS };
	struct socklist l = { 0 };
	const json_t *s, *p;
	struct procmap *pm;
	json_error_t err;
	struct memout m;
	char root[64];
	json_t *arr;
	size_t i, k;
	char *out;

	(void)state;
	build_list(&l);
	pm = fake_procs(root, sizeof(root));
	o.procs = pm;
	memout_open(&m);
	assert_int_equal(sockout_json(m.f, &l, &o), 0);
	out = memout_close(&m);
	arr = json_loads(out, JSON_REJECT_DUPLICATES, &err);
	if (arr == NULL)
		fail_msg("JSON does not parse: %s (line %d)\n%s", err.text,
		    err.line, out);
	assert_true(json_is_array(arr));
	assert_int_equal(json_array_size(arr), 5);
	for (i = 0; i < 5; i++) {
		s = json_array_get(arr, i);
		assert_true(json_is_object(s));
		for (k = 0; k < sizeof(common) / sizeof(common[0]); k++)
			if (json_object_get(s, common[k]) == NULL)
				fail_msg("socket %zu lacks %s", i, common[k]);
		for (k = 0; i >= 3 && k < 3; k++)
			if (json_object_get(s, unixkeys[k]) == NULL)
				fail_msg("socket %zu lacks %s", i, unixkeys[k]);
		assert_true(json_is_array(json_object_get(s, "processes")));
	}

	s = json_array_get(arr, 0);
	assert_key_str(s, "proto", "tcp");
	assert_key_str(s, "family", "inet");
	assert_key_str(s, "state", "established");
	assert_key_str(s, "local_addr", "198.18.0.1");
	assert_key_int(s, "local_port", 8080);
	assert_key_str(s, "remote_addr", "198.18.0.2");
	assert_key_int(s, "remote_port", 40001);
	assert_key_int(s, "recv_q", 5);
	assert_key_int(s, "send_q", 7);
	assert_key_int(s, "uid", 1000);
	assert_key_int(s, "inode", 1001);
	assert_key_int(s, "cookie", (json_int_t)((1ULL << 40) + 3));
	p = json_object_get(s, "processes");
	assert_int_equal(json_array_size(p), 1);
	assert_key_int(json_array_get(p, 0), "pid", 4321);
	/* comm is escaped for the terminal; JSON escapes the quote. */
	assert_key_str(json_array_get(p, 0), "comm", "web\"srv\\x01");

	s = json_array_get(arr, 1);
	assert_key_str(s, "family", "inet6");
	assert_key_str(s, "state", "listen");
	assert_key_str(s, "local_addr", "2001:db8::1");
	assert_key_int(s, "local_port", 8443);
	assert_key_str(s, "remote_addr", "::");
	assert_key_int(s, "remote_port", 0);
	assert_key_int(s, "send_q", 128);
	assert_int_equal(json_array_size(json_object_get(s, "processes")), 0);

	s = json_array_get(arr, 2);
	assert_key_str(s, "proto", "udp");
	assert_key_str(s, "state", "unconn");
	assert_key_str(s, "local_addr", "0.0.0.0");
	assert_key_int(s, "local_port", 5353);

	s = json_array_get(arr, 3);
	assert_key_str(s, "proto", "unix");
	assert_key_str(s, "family", "unix");
	assert_key_str(s, "state", "established");
	assert_key_str(s, "path", "@sw\\x01test");
	assert_key_str(s, "type", "stream");
	assert_key_int(s, "peer_inode", 1005);
	assert_key_int(s, "uid", 42);
	assert_key_null(s, "local_addr");
	assert_key_null(s, "local_port");

	s = json_array_get(arr, 4);
	assert_key_str(s, "type", "dgram");
	assert_key_str(s, "state", "unconn");
	assert_key_null(s, "path");
	assert_key_null(s, "peer_inode");

	json_decref(arr);
	free(out);

	/* An empty list is an empty array. */
	l.n = 0;
	memout_open(&m);
	assert_int_equal(sockout_json(m.f, &l, &o), 0);
	out = memout_close(&m);
	arr = json_loads(out, 0, &err);
	assert_non_null(arr);
	assert_true(json_is_array(arr));
	assert_int_equal(json_array_size(arr), 0);
	json_decref(arr);
	free(out);

	procmap_free(pm);
	rm_tree(root);
	socklist_free(&l);
}

static void
test_text(void **state)
{
	struct sockout_opts o = { .view = SOCKOUT_SOCKETS };
	struct socklist l = { 0 };
	struct procmap *pm;
	struct memout m;
	char root[64];
	char *out, *line2;
	const char *hdr;

	(void)state;
	build_list(&l);
	memout_open(&m);
	assert_int_equal(sockout_text(m.f, &l, &o), 0);
	out = memout_close(&m);
	assert_no_trailing_space(out);
	assert_non_null(strstr(out, "198.18.0.1:8080"));
	assert_non_null(strstr(out, "[2001:db8::1]:8443"));
	assert_non_null(strstr(out, "@sw\\x01test"));
	/* The local address column starts at the same offset everywhere. */
	hdr = strstr(out, "Local Address:Port");
	assert_non_null(hdr);
	line2 = strchr(out, '\n') + 1;
	assert_int_equal(strstr(line2, "198.18.0.1:8080") - line2, hdr - out);
	free(out);

	/* With processes: a socket nobody holds leaves the column empty. */
	pm = fake_procs(root, sizeof(root));
	o.procs = pm;
	o.extended = 1;
	memout_open(&m);
	assert_int_equal(sockout_text(m.f, &l, &o), 0);
	out = memout_close(&m);
	assert_no_trailing_space(out);
	assert_non_null(strstr(out, "web\"srv\\x01(4321)\n"));
	free(out);

	o.view = SOCKOUT_LISTENERS;
	o.extended = 0;
	memout_open(&m);
	assert_int_equal(sockout_text(m.f, &l, &o), 0);
	out = memout_close(&m);
	assert_no_trailing_space(out);
	assert_true(strncmp(out, "Proto", 5) == 0);
	free(out);

	procmap_free(pm);
	rm_tree(root);
	socklist_free(&l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_align),
		cmocka_unit_test(test_table_edges),
		cmocka_unit_test(test_table_many),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_path),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_text),
	};

	return cmocka_run_group_tests_name("output", tests, NULL, NULL);
}
