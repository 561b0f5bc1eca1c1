#define _GNU_SOURCE		/* strcasestr */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../../common/evloop.h"
#include "../../exporter/metrics.h"

static void
test_metrics_family(void **state)
{
	struct mbuf b = { 0 };

	(void)state;
	metrics_family(&b, "sockwatch_listeners", "gauge",
	    "Sockets in LISTEN state.");
	metrics_sample(&b, "sockwatch_listeners", NULL, 7);
	assert_false(b.oom);
	assert_string_equal(b.buf,
	    "# HELP sockwatch_listeners Sockets in LISTEN state.\n"
	    "# TYPE sockwatch_listeners gauge\n"
	    "sockwatch_listeners 7\n");
	assert_int_equal(b.len, strlen(b.buf));
	mbuf_free(&b);
	assert_null(b.buf);

	/* NULL help or type leaves its line out. */
	metrics_family(&b, "x_total", "counter", NULL);
	metrics_family(&b, "y", NULL, "why");
	assert_string_equal(b.buf, "# TYPE x_total counter\n# HELP y why\n");
	mbuf_free(&b);
}

static void
test_metrics_labels(void **state)
{
	static const char *const one[] = { "kind", "listener", NULL };
	static const char *const three[] = {
		"family", "inet6", "proto", "tcp", "state", "listen", NULL,
	};
	static const char *const empty[] = { NULL };
	struct mbuf b = { 0 };

	(void)state;
	metrics_sample(&b, "sockwatch_alerts_total", one, 3);
	metrics_sample(&b, "sockwatch_sockets", three, 12);
	metrics_sample(&b, "sockwatch_up", empty, 1);
	assert_string_equal(b.buf,
	    "sockwatch_alerts_total{kind=\"listener\"} 3\n"
	    "sockwatch_sockets{family=\"inet6\",proto=\"tcp\","
	    "state=\"listen\"} 12\n"
	    "sockwatch_up 1\n");
	mbuf_free(&b);
}

static void
test_metrics_escape(void **state)
{
	static const char *const labels[] = {
		"path", "C:\\dir \"q\"\nnext", "plain", "", NULL,
	};
	struct mbuf b = { 0 };

	(void)state;
	metrics_family(&b, "m", "gauge", "a \\ back\nslash \"quoted\"");
	metrics_sample(&b, "m", labels, 1);
	/* HELP escapes backslash and newline only; label values also the
	 * double quote. */
	assert_string_equal(b.buf,
	    "# HELP m a \\\\ back\\nslash \"quoted\"\n"
	    "# TYPE m gauge\n"
	    "m{path=\"C:\\\\dir \\\"q\\\"\\nnext\",plain=\"\"} 1\n");
	mbuf_free(&b);
}

static void
test_metrics_values(void **state)
{
	static const struct {
		double v;
		const char *text;
	} cases[] = {
		{ 0, "0" },
		{ -0.0, "0" },
		{ 1, "1" },
		{ -1, "-1" },
		{ 12345678, "12345678" },
		{ 1234567890123.0, "1234567890123" },
		{ 4294967296.0, "4294967296" },
		{ 1e15, "1000000000000000" },
		{ 9007199254740991.0, "9007199254740991" },
		{ 0.1, "0.1" },
		{ 0.5, "0.5" },
		{ -2.25, "-2.25" },
		{ 1.0 / 3.0, "0.3333333333333333" },
		{ 0.1 + 0.2, "0.30000000000000004" },
		{ 123456789.5, "123456789.5" },
		{ 1700000000.123, "1700000000.123" },
		{ 1e-7, "1e-07" },
		{ 1e20, "1e+20" },
		{ 1.8446744073709552e19, "1.8446744073709552e+19" },
	};
	char want[64];
	struct mbuf b = { 0 };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		metrics_sample(&b, "v", NULL, cases[i].v);
		snprintf(want, sizeof(want), "v %s\n", cases[i].text);
		assert_string_equal(b.buf, want);
		/* And it reads back exactly. */
		assert_true(strtod(b.buf + 2, NULL) == cases[i].v);
		mbuf_free(&b);
	}
	metrics_sample(&b, "v", NULL, INFINITY);
	metrics_sample(&b, "v", NULL, -INFINITY);
	metrics_sample(&b, "v", NULL, NAN);
	assert_string_equal(b.buf, "v +Inf\nv -Inf\nv NaN\n");
	mbuf_free(&b);
}

static void
test_mbuf(void **state)
{
	struct mbuf b = { 0 };
	char big[1000];
	size_t i;

	(void)state;
	memset(big, 'x', sizeof(big));
	for (i = 0; i < 100; i++)
		mbuf_add(&b, big, sizeof(big));
	mbuf_printf(&b, "%s=%d", "n", 42);
	assert_false(b.oom);
	assert_int_equal(b.len, 100 * sizeof(big) + 4);
	assert_string_equal(b.buf + 100 * sizeof(big), "n=42");
	assert_true(b.cap > b.len);
	mbuf_free(&b);

	/* Once an allocation failed, appends do nothing. */
	mbuf_add(&b, "abc", 3);
	b.oom = 1;
	mbuf_add(&b, "def", 3);
	mbuf_printf(&b, "%d", 1);
	metrics_family(&b, "m", "gauge", "h");
	metrics_sample(&b, "m", NULL, 1);
	assert_int_equal(b.len, 3);
	assert_string_equal(b.buf, "abc");
	mbuf_free(&b);
	assert_false(b.oom);
}

/* --- HTTP --- */

struct scrape {
	int calls;
	int oom;
};

static void
render_test(void *arg, struct mbuf *b)
{
	static const char *const labels[] = { "kind", "list\"ener", NULL };
	struct scrape *s = arg;

	s->calls++;
	metrics_family(b, "sockwatch_alerts_total", "counter",
	    "Alerts raised, by kind.");
	metrics_sample(b, "sockwatch_alerts_total", labels, 12345678);
	if (s->oom)
		b->oom = 1;
}

/* A port that was free a moment ago on 127.0.0.1. */
static uint16_t
free_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	uint16_t port;
	int fd;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

static int
connect_port(uint16_t port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int fd;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(port);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	/* The kernel completes the handshake from the backlog, so a
	 * blocking connect works before the server accepts. */
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)),
	    0);
	return fd;
}

static long
elapsed_ms(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 +
	    (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* Drive the loop and read from fd until the server closes it or
 * limit_ms passes. Returns bytes read into buf (NUL-terminated). */
static size_t
read_until_close(struct evloop *loop, int fd, char *buf, size_t len,
    long limit_ms, int *ret_closed)
{
	struct timespec t0;
	size_t got = 0;
	ssize_t n;

	*ret_closed = 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (elapsed_ms(&t0) < limit_ms) {
		assert_true(evloop_run_once(loop, 20) >= 0);
		n = recv(fd, buf + got, len - 1 - got, MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno == ECONNRESET)) {
			*ret_closed = 1;
			break;
		}
		if (n > 0)
			got += (size_t)n;
		assert_true(got < len - 1);
	}
	buf[got] = '\0';
	return got;
}

static size_t
http_get(struct evloop *loop, uint16_t port, const char *req, char *buf,
    size_t len)
{
	size_t got;
	int fd, closed;

	fd = connect_port(port);
	assert_int_equal(send(fd, req, strlen(req), MSG_NOSIGNAL),
	    (ssize_t)strlen(req));
	got = read_until_close(loop, fd, buf, len, 5000, &closed);
	assert_true(closed);
	close(fd);
	return got;
}

static const char *
http_body(const char *resp)
{
	const char *p = strstr(resp, "\r\n\r\n");

	assert_non_null(p);
	return p + 4;
}

/* Case-insensitive header lookup; returns the value up to CRLF. */
static void
http_header(const char *resp, const char *name, char *val, size_t len)
{
	const char *p = resp, *end = strstr(resp, "\r\n\r\n"), *e;
	size_t n = strlen(name);

	val[0] = '\0';
	while ((p = strstr(p, "\r\n")) != NULL && p < end) {
		p += 2;
		if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
			p += n + 1;
			while (*p == ' ')
				p++;
			e = strstr(p, "\r\n");
			snprintf(val, len, "%.*s", (int)(e - p), p);
			return;
		}
	}
}

struct http_fixture {
	struct evloop *loop;
	struct metrics_http *h;
	struct scrape scrape;
	uint16_t port;
};

static int
http_setup(void **state)
{
	struct http_fixture *f;
	char listen[64], err[256];
	int r;

	f = calloc(1, sizeof(*f));
	assert_non_null(f);
	assert_int_equal(evloop_new(&f->loop), 0);
	f->port = free_port();
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", f->port);
	err[0] = '\0';
	r = metrics_http_open(f->loop, listen, render_test, &f->scrape,
	    &f->h, err, sizeof(err));
	if (r != 0)
		fprintf(stderr, "metrics_http_open: %s\n", err);
	assert_int_equal(r, 0);
	*state = f;
	return 0;
}

static int
http_teardown(void **state)
{
	struct http_fixture *f = *state;

	metrics_http_close(f->h);
	evloop_free(f->loop);
	free(f);
	return 0;
}

static void
test_http_metrics(void **state)
{
	struct http_fixture *f = *state;
	char resp[4096], val[128];

	http_get(f->loop, f->port, "GET /metrics HTTP/1.0\r\n\r\n", resp,
	    sizeof(resp));
	assert_true(strncmp(resp, "HTTP/1.0 200 OK\r\n", 17) == 0 ||
	    strncmp(resp, "HTTP/1.1 200 OK\r\n", 17) == 0);
	http_header(resp, "Content-Type", val, sizeof(val));
	assert_string_equal(val, "text/plain; version=0.0.4; charset=utf-8");
	assert_string_equal(http_body(resp),
	    "# HELP sockwatch_alerts_total Alerts raised, by kind.\n"
	    "# TYPE sockwatch_alerts_total counter\n"
	    "sockwatch_alerts_total{kind=\"list\\\"ener\"} 12345678\n");
	http_header(resp, "Content-Length", val, sizeof(val));
	assert_int_equal(atoi(val), strlen(http_body(resp)));
	assert_int_equal(f->scrape.calls, 1);

	/* A query string does not change the path. */
	http_get(f->loop, f->port, "GET /metrics?x=1 HTTP/1.0\r\n\r\n", resp,
	    sizeof(resp));
	assert_non_null(strstr(resp, " 200 OK\r\n"));
	assert_int_equal(f->scrape.calls, 2);

	/* HEAD: the headers, no body. */
	http_get(f->loop, f->port, "HEAD /metrics HTTP/1.0\r\n\r\n", resp,
	    sizeof(resp));
	assert_non_null(strstr(resp, " 200 OK\r\n"));
	assert_string_equal(http_body(resp), "");
}

static void
test_http_errors(void **state)
{
	struct http_fixture *f = *state;
	char resp[4096], val[128];

	http_get(f->loop, f->port, "GET / HTTP/1.0\r\n\r\n", resp,
	    sizeof(resp));
	assert_non_null(strstr(resp, " 404 Not Found\r\n"));
	http_get(f->loop, f->port, "GET /metrics/ HTTP/1.0\r\n\r\n", resp,
	    sizeof(resp));
	assert_non_null(strstr(resp, " 404 Not Found\r\n"));
	http_get(f->loop, f->port, "POST /metrics HTTP/1.0\r\n"
	    "Content-Length: 3\r\n\r\nabc", resp, sizeof(resp));
	assert_non_null(strstr(resp, " 405 Method Not Allowed\r\n"));
	http_header(resp, "Allow", val, sizeof(val));
	assert_string_equal(val, "GET, HEAD");
	assert_int_equal(f->scrape.calls, 0);

	/* A render that ran out of memory is a 500, not a partial page. */
	f->scrape.oom = 1;
	http_get(f->loop, f->port, "GET /metrics HTTP/1.0\r\n\r\n", resp,
	    sizeof(resp));
	assert_non_null(strstr(resp, " 500 Internal Server Error\r\n"));
	assert_null(strstr(resp, "sockwatch_alerts_total"));
}

/* HTTP/1.1 keep-alive: requests one after another on one connection,
 * the way Prometheus scrapes. */
static void
test_http_keepalive(void **state)
{
	static const char *const reqs[] = {
		"GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n",
		"GET /nothing HTTP/1.1\r\nHost: localhost\r\n\r\n",
		/* A body on a GET is read and ignored. */
		("GET /metrics HTTP/1.1\r\nHost: localhost\r\n"
		    "Content-Length: 5\r\n\r\nhello"),
	};
	static const char *const status[] = {
		"HTTP/1.1 200 OK\r\n", "HTTP/1.1 404 Not Found\r\n",
		"HTTP/1.1 200 OK\r\n",
	};
	struct http_fixture *f = *state;
	char resp[8192];
	size_t i, len;
	int fd, closed;

	fd = connect_port(f->port);
	for (i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		len = strlen(reqs[i]);
		assert_int_equal(send(fd, reqs[i], len, MSG_NOSIGNAL),
		    (ssize_t)len);
		read_until_close(f->loop, fd, resp, sizeof(resp), 300,
		    &closed);
		assert_false(closed);
		assert_true(strncmp(resp, status[i], strlen(status[i])) == 0);
		assert_null(strcasestr(resp, "Connection: close"));
	}
	assert_int_equal(f->scrape.calls, 2);
	close(fd);
}

/* An idle connection is closed after MHD's connection timeout (5 s)
 * with no help from metrics_http_tick: the timerfd does it, without
 * spinning. Slow, so only with SOCKWATCH_SLOW_TESTS=1. */
static void
test_http_idle_timeout(void **state)
{
	struct http_fixture *f = *state;
	struct timespec t0;
	char buf[256];
	int fd, ran = 0, r;
	ssize_t n;

	if (getenv("SOCKWATCH_SLOW_TESTS") == NULL)
		skip();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	fd = connect_port(f->port);
	assert_int_equal(send(fd, "GET /met", 8, MSG_NOSIGNAL), 8);
	for (;;) {
		assert_true(elapsed_ms(&t0) < 9000);
		/* Block in the loop as the daemon does (its tick aside). */
		r = evloop_run_once(f->loop, 10000);
		assert_true(r >= 0);
		ran += r;
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			break;
	}
	assert_true(elapsed_ms(&t0) >= 4500);
	/* A handful of wake-ups, not a busy loop. */
	assert_true(ran < 20);
	fprintf(stderr, "closed after %ld ms, %d callbacks\n",
	    elapsed_ms(&t0), ran);
	close(fd);
}

static void
test_http_listen_errors(void **state)
{
	static const char *const bad[] = {
		"", "9464", ":9464", "127.0.0.1", "127.0.0.1:", "127.0.0.1:0",
		"127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:+80",
		"127.0.0.1:80x", "localhost:9464", "::1:9464", "[::1]9464",
		"[127.0.0.1]:9464", "[::1]:", "[]:80", "1.2.3.4:123456",
	};
	struct http_fixture *f = *state;
	struct metrics_http *h = NULL;
	char listen[64], err[256], want[128];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(metrics_http_open(f->loop, bad[i],
		    render_test, NULL, &h, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "invalid listen address"));
	}
	assert_null(h);

	/* The fixture already listens on this port. */
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", f->port);
	assert_int_equal(metrics_http_open(f->loop, listen, render_test,
	    NULL, &h, err, sizeof(err)), -EADDRINUSE);
	snprintf(want, sizeof(want),
	    "cannot listen on 127.0.0.1:%u: Address already in use", f->port);
	assert_string_equal(err, want);

	/* An address this host does not have. */
	assert_int_equal(metrics_http_open(f->loop, "198.18.255.254:9464",
	    render_test, NULL, &h, err, sizeof(err)), -EADDRNOTAVAIL);
	assert_string_equal(err, "cannot listen on 198.18.255.254:9464: "
	    "Cannot assign requested address");
	assert_null(h);
}

static void
test_http_ipv6(void **state)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };
	struct metrics_http *h = NULL;
	struct evloop *loop;
	char listen[64], err[256], resp[4096];
	struct scrape s = { 0 };
	struct timespec t0;
	socklen_t len = sizeof(sin6);
	size_t got = 0;
	ssize_t n;
	int fd;

	(void)state;
	fd = socket(AF_INET6, SOCK_STREAM, 0);
	sin6.sin6_addr = in6addr_loopback;
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)) < 0) {
		if (fd >= 0)
			close(fd);
		skip();		/* no IPv6 loopback here */
	}
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin6, &len), 0);
	close(fd);
	snprintf(listen, sizeof(listen), "[::1]:%u", ntohs(sin6.sin6_port));

	assert_int_equal(evloop_new(&loop), 0);
	assert_int_equal(metrics_http_open(loop, listen, render_test, &s, &h,
	    err, sizeof(err)), 0);
	fd = socket(AF_INET6, SOCK_STREAM, 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin6, sizeof(sin6)),
	    0);
	assert_int_equal(send(fd, "GET /metrics HTTP/1.0\r\n\r\n", 25,
	    MSG_NOSIGNAL), 25);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (elapsed_ms(&t0) < 5000) {
		assert_true(evloop_run_once(loop, 20) >= 0);
		n = recv(fd, resp + got, sizeof(resp) - 1 - got, MSG_DONTWAIT);
		if (n == 0)
			break;
		if (n > 0)
			got += (size_t)n;
	}
	resp[got] = '\0';
	assert_non_null(strstr(resp, " 200 OK\r\n"));
	assert_int_equal(s.calls, 1);
	close(fd);
	metrics_http_tick(h);
	metrics_http_close(h);
	evloop_free(loop);
}

/* --- a realistic exposition, checked by promtool when it is there --- */

static void
render_realistic(struct mbuf *b)
{
	static const char *const sk[][6] = {
		{ "inet", "tcp", "listen" }, { "inet", "tcp", "established" },
		{ "inet6", "tcp", "time-wait" }, { "inet", "udp", "unconn" },
		{ "unix", "stream", "connected" },
	};
	static const double skn[] = { 12, 20000, 3, 5, 140 };
	const char *labels[7];
	size_t i;

	metrics_family(b, "sockwatch_sockets", "gauge",
	    "Open sockets, by family, protocol and state.");
	for (i = 0; i < 5; i++) {
		labels[0] = "family"; labels[1] = sk[i][0];
		labels[2] = "proto"; labels[3] = sk[i][1];
		labels[4] = "state"; labels[5] = sk[i][2];
		labels[6] = NULL;
		metrics_sample(b, "sockwatch_sockets", labels, skn[i]);
	}
	metrics_family(b, "sockwatch_listeners", "gauge",
	    "Listening TCP and bound UDP sockets.");
	metrics_sample(b, "sockwatch_listeners", NULL, 17);
	metrics_family(b, "sockwatch_alerts_total", "counter",
	    "Alerts raised, by kind.\nKinds: listener, portscan; a \\ path.");
	metrics_sample(b, "sockwatch_alerts_total",
	    (const char *const[]){ "kind", "listener", NULL }, 3);
	metrics_family(b, "sockwatch_events_total", "counter",
	    "Socket events seen, by type.");
	metrics_sample(b, "sockwatch_events_total",
	    (const char *const[]){ "type", "socket-open", NULL }, 123456789);
	metrics_sample(b, "sockwatch_events_total",
	    (const char *const[]){ "type", "socket-close", NULL }, 123456700);
	metrics_family(b, "sockwatch_netlink_resyncs_total", "counter",
	    "Full sock_diag dumps forced by ENOBUFS.");
	metrics_sample(b, "sockwatch_netlink_resyncs_total", NULL, 0);
	metrics_family(b, "sockwatch_events_dropped_total", "counter",
	    "Events dropped, by reason.");
	metrics_sample(b, "sockwatch_events_dropped_total",
	    (const char *const[]){ "reason", "subscriber \"slow\"\n", NULL },
	    2);
	metrics_family(b, "sockwatch_store_errors_total", "counter",
	    "Alert writes to SQLite that failed.");
	metrics_sample(b, "sockwatch_store_errors_total", NULL, 0);
	metrics_family(b, "sockwatch_uptime_seconds", "gauge",
	    "Seconds since the daemon started.");
	metrics_sample(b, "sockwatch_uptime_seconds", NULL, 3600.25);
	metrics_family(b, "sockwatch_config_reloads_total", "counter",
	    "Config reloads, by result.");
	metrics_sample(b, "sockwatch_config_reloads_total",
	    (const char *const[]){ "result", "success", NULL }, 4);
	metrics_sample(b, "sockwatch_config_reloads_total",
	    (const char *const[]){ "result", "failure", NULL }, 1);
	metrics_family(b, "sockwatch_last_scrape_ratio", "gauge",
	    "Odd values, to exercise the number formats.");
	metrics_sample(b, "sockwatch_last_scrape_ratio",
	    (const char *const[]){ "v", "inf", NULL }, INFINITY);
	metrics_sample(b, "sockwatch_last_scrape_ratio",
	    (const char *const[]){ "v", "ninf", NULL }, -INFINITY);
	metrics_sample(b, "sockwatch_last_scrape_ratio",
	    (const char *const[]){ "v", "nan", NULL }, NAN);
	metrics_sample(b, "sockwatch_last_scrape_ratio",
	    (const char *const[]){ "v", "small", NULL }, 1e-9);
}

static void
test_promtool(void **state)
{
	char path[] = "/tmp/test_metrics.XXXXXX", cmd[128];
	struct mbuf b = { 0 };
	FILE *fp;
	int fd, r;

	(void)state;
	if (system("command -v promtool >/dev/null 2>&1") != 0)
		skip();
	render_realistic(&b);
	assert_false(b.oom);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, b.buf, b.len), (ssize_t)b.len);
	close(fd);
	/* promtool prints lint problems and exits non-zero on any. */
	snprintf(cmd, sizeof(cmd), "promtool check metrics < %s 2>&1", path);
	fp = popen(cmd, "r");
	assert_non_null(fp);
	while (fgets(cmd, sizeof(cmd), fp) != NULL)
		fprintf(stderr, "promtool: %s", cmd);
	r = pclose(fp);
	unlink(path);
	mbuf_free(&b);
	assert_int_equal(r, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_metrics_family),
		cmocka_unit_test(test_metrics_labels),
		cmocka_unit_test(test_metrics_escape),
		cmocka_unit_test(test_metrics_values),
		cmocka_unit_test(test_mbuf),
		cmocka_unit_test_setup_teardown(test_http_metrics, http_setup,
		    http_teardown),
		cmocka_unit_test_setup_teardown(test_http_errors, http_setup,
		    http_teardown),
		cmocka_unit_test_setup_teardown(test_http_keepalive,
		    http_setup, http_teardown),
		cmocka_unit_test_setup_teardown(test_http_idle_timeout,
		    http_setup, http_teardown),
		cmocka_unit_test_setup_teardown(test_http_listen_errors,
		    http_setup, http_teardown),
		cmocka_unit_test(test_http_ipv6),
		cmocka_unit_test(test_promtool),
	};

	return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
