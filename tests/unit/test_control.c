#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../common/evloop.h"
#include "../../common/timeutil.h"
#include "../../exporter/control.h"

#define CL_BUF		(512 * 1024)
#define WAIT_MS		3000

/* One test's daemon side: a control socket in a private directory. */
struct ctx {
	char dir[64];
	char path[128];
	struct evloop *loop;
	struct control *ctl;
	unsigned int handled;
	enum control_role last_role;
	uid_t last_uid;
	uint64_t later;			/* a deferred request's client */
};

/* A client as a test drives it: raw socket, buffered lines. */
struct cl {
	int fd;
	bool eof;
	size_t len;
	char buf[CL_BUF];
};

static json_t *
test_handler(void *arg, struct control_client *c, const char *cmd,
    const json_t *req, const char **ret_error)
{
	struct ctx *x = arg;
	json_int_t n;
	json_t *r;
	char *s;

	x->handled++;
	x->last_role = control_client_role(c);
	x->last_uid = control_client_uid(c);
	if (strcmp(cmd, "echo") == 0)
		return json_pack("{s:O?}", "echo", json_object_get(req, "arg"));
	if (strcmp(cmd, "subscribe") == 0) {
		control_subscribe(c);
		return json_object();
	}
	if (strcmp(cmd, "whoami") == 0)
		return json_pack("{s:I, s:s}", "uid",
		    (json_int_t)control_client_uid(c), "role",
		    control_client_role(c) == CONTROL_ADMIN ? "admin" :
		    "reader");
	if (strcmp(cmd, "reload") == 0)
		return json_pack("{s:b}", "reloaded", 1);
	if (strcmp(cmd, "later") == 0) {
		x->later = control_client_id(c);
		return CONTROL_DEFER;
	}
	if (strcmp(cmd, "fail") == 0)
		return json_pack("{s:b, s:s}", "ok", 0, "error",
		    "custom failure");
	if (strcmp(cmd, "big") == 0) {
		n = json_integer_value(json_object_get(req, "size"));
		if ((s = malloc((size_t)n + 1)) == NULL)
			return NULL;
		memset(s, 'x', (size_t)n);
		s[n] = '\0';
		r = json_pack("{s:O?, s:s}", "n", json_object_get(req, "n"),
		    "big", s);
		free(s);
		return r;
	}
	*ret_error = "unknown command";
	return NULL;
}

static int
setup(void **state)
{
	struct ctx *x;

	if ((x = calloc(1, sizeof(*x))) == NULL)
		return -1;
	snprintf(x->dir, sizeof(x->dir), "/tmp/swctl-test.XXXXXX");
	if (mkdtemp(x->dir) == NULL || evloop_new(&x->loop) < 0)
		return -1;
	/* The parent directory does not exist yet: control_open makes it. */
	snprintf(x->path, sizeof(x->path), "%s/run/control.sock", x->dir);
	*state = x;
	return 0;
}

static int
teardown(void **state)
{
	struct ctx *x = *state;
	char cmd[128];

	control_close(x->ctl);
	evloop_free(x->loop);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", x->dir);
	if (system(cmd) != 0)
		return -1;
	free(x);
	return 0;
}

/* Open the control socket; group NULL means root only, but a test run
 * as another user joins its own primary group to get in. */
static void
ctx_open(struct ctx *x, const char *group, unsigned int max_clients,
    size_t max_outbuf)
{
	struct control_opts o = {
		.path = x->path, .group = group, .max_clients = max_clients,
		.max_outbuf = max_outbuf,
	};
	struct group *gr;
	char err[256];

	if (group == NULL && geteuid() != 0 &&
	    (gr = getgrgid(getegid())) != NULL)
		o.group = gr->gr_name;
	assert_int_equal(control_open(x->loop, &o, test_handler, x, &x->ctl,
	    err, sizeof(err)), 0);
	assert_non_null(x->ctl);
}

/* Run the loop until nothing is ready. */
static void
pump(struct ctx *x)
{
	int i;

	for (i = 0; i < 1000; i++)
		if (evloop_run_once(x->loop, 0) <= 0)
			break;
}

static struct cl *
cl_connect(struct ctx *x)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct cl *c;

	c = calloc(1, sizeof(*c));
	assert_non_null(c);
	strcpy(sun.sun_path, x->path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(c->fd >= 0);
	assert_int_equal(connect(c->fd, (struct sockaddr *)&sun,
	    sizeof(sun)), 0);
	pump(x);
	return c;
}

static void
cl_free(struct cl *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c);
}

/* Write it all, letting the server read when the socket is full. */
static void
cl_sendn(struct ctx *x, struct cl *c, const char *s, size_t len)
{
	int64_t deadline = time_mono_ms() + WAIT_MS;
	ssize_t n;

	while (len > 0) {
		n = send(c->fd, s, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0) {
			s += n;
			len -= (size_t)n;
			continue;
		}
		assert_true(n < 0 && errno == EAGAIN);
		assert_true(time_mono_ms() < deadline);
		evloop_run_once(x->loop, 10);
	}
	pump(x);
}

static void
cl_send(struct ctx *x, struct cl *c, const char *s)
{
	cl_sendn(x, c, s, strlen(s));
}

/* The next line (malloc'd, without its newline), or NULL at end of
 * stream (c->eof) or after WAIT_MS. */
static char *
cl_readline(struct ctx *x, struct cl *c)
{
	int64_t deadline = time_mono_ms() + WAIT_MS;
	char *nl, *line;
	size_t len;
	ssize_t n;

	for (;;) {
		if ((nl = memchr(c->buf, '\n', c->len)) != NULL) {
			len = (size_t)(nl - c->buf);
			line = malloc(len + 1);
			assert_non_null(line);
			memcpy(line, c->buf, len);
			line[len] = '\0';
			memmove(c->buf, nl + 1, c->len - len - 1);
			c->len -= len + 1;
			return line;
		}
		if (c->eof || time_mono_ms() > deadline)
			return NULL;
		assert_true(c->len < sizeof(c->buf));
		n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len,
		    MSG_DONTWAIT);
		if (n > 0)
			c->len += (size_t)n;
		else if (n == 0 || errno == ECONNRESET)
			c->eof = true;
		else if (errno == EAGAIN)
			evloop_run_once(x->loop, 10);
		else
			fail_msg("recv: %s", strerror(errno));
	}
}

static void
cl_expect(struct ctx *x, struct cl *c, const char *want)
{
	char *line = cl_readline(x, c);

	assert_non_null(line);
	assert_string_equal(line, want);
	free(line);
}

/* Nothing more arrives, the server closes: true. */
static bool
cl_closed(struct ctx *x, struct cl *c)
{
	char *line;

	while ((line = cl_readline(x, c)) != NULL)
		free(line);
	return c->eof;
}

/* Nothing is waiting to be read right now. */
static bool
cl_quiet(struct ctx *x, struct cl *c)
{
	char b;

	pump(x);
	return c->len == 0 &&
	    recv(c->fd, &b, 1, MSG_DONTWAIT | MSG_PEEK) < 0 && errno == EAGAIN;
}

static struct control_stats
ctx_stats(struct ctx *x)
{
	struct control_stats st;

	control_get_stats(x->ctl, &st);
	return st;
}

/* ---- control_parse_request --------------------------------------------- */

static void
test_parse_good(void **state)
{
	static const char trailing[] = "{\"cmd\":\"x\"}GARBAGE";
	const char *cmd, *err;
	json_t *req;

	(void)state;
	assert_int_equal(control_parse_request("{\"cmd\":\"status\"}", 16,
	    &req, &cmd, &err), 0);
	assert_string_equal(cmd, "status");
	assert_null(err);
	json_decref(req);

	static const char spaced[] =
	    "  {\"cmd\": \"alerts\", \"limit\": 5, \"kind\": \"listener\"}\r";
	assert_int_equal(control_parse_request(spaced, strlen(spaced), &req,
	    &cmd, &err), 0);
	assert_string_equal(cmd, "alerts");
	assert_int_equal(json_integer_value(json_object_get(req, "limit")), 5);
	json_decref(req);

	/* Only len bytes are read. */
	assert_int_equal(control_parse_request(trailing, 11, &req, &cmd,
	    &err), 0);
	assert_string_equal(cmd, "x");
	json_decref(req);
}

static void
test_parse_bad(void **state)
{
	static const struct {
		const char *in;
		size_t len;		/* 0: strlen */
		const char *err;
	} bad[] = {
		{ "not json", 0, "invalid JSON" },
		{ "", 0, "invalid JSON" },
		{ "{\"cmd\":\"status\"", 0, "invalid JSON" },
		{ "{\"cmd\":\"status\"} trailing", 0, "invalid JSON" },
		{ "{\"cmd\":\"a\"}{\"cmd\":\"b\"}", 0, "invalid JSON" },
		{ "{\"cmd\":\"a\",\"cmd\":\"b\"}", 0, "invalid JSON" },
		{ "{\"cmd\":\"a\0\"}", 12, "invalid JSON" },
		{ "{\"cmd\":\"\\u0000\"}", 0, "invalid JSON" },
		{ "{\"cmd\":\"\xff\"}", 0, "invalid JSON" },
		{ "[1,2]", 0, "request must be a JSON object" },
		{ "[{\"cmd\":\"status\"}]", 0, "request must be a JSON object" },
		{ "42", 0, "request must be a JSON object" },
		{ "\"status\"", 0, "request must be a JSON object" },
		{ "null", 0, "request must be a JSON object" },
		{ "{}", 0, "missing \"cmd\"" },
		{ "{\"command\":\"status\"}", 0, "missing \"cmd\"" },
		{ "{\"cmd\":5}", 0, "\"cmd\" must be a string" },
		{ "{\"cmd\":null}", 0, "\"cmd\" must be a string" },
		{ "{\"cmd\":[\"status\"]}", 0, "\"cmd\" must be a string" },
		{ "{\"cmd\":{}}", 0, "\"cmd\" must be a string" },
	};
	const char *cmd, *err;
	json_t *req;
	size_t i, len;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		len = bad[i].len ? bad[i].len : strlen(bad[i].in);
		req = (json_t *)1;
		assert_int_equal(control_parse_request(bad[i].in, len, &req,
		    &cmd, &err), -EINVAL);
		assert_null(req);
		assert_null(cmd);
		assert_non_null(err);
		assert_string_equal(err, bad[i].err);
	}
}

/* ---- the socket ---------------------------------------------------------- */

static void
test_open_socket_file(void **state)
{
	struct ctx *x = *state;
	struct control_opts o = { .path = x->path };
	struct control *ctl2 = NULL;
	char err[256], dir[160];
	struct stat st;
	struct cl *a;
	mode_t mask;

	/* The daemon's umask (077) does not change the socket's mode. */
	mask = umask(077);
	ctx_open(x, NULL, 0, 0);
	umask(mask);
	assert_int_equal(lstat(x->path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0660);
	snprintf(dir, sizeof(dir), "%s/run", x->dir);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);

	/* A second instance must not steal a live socket. */
	assert_int_equal(control_open(x->loop, &o, test_handler, x, &ctl2,
	    err, sizeof(err)), -EADDRINUSE);
	assert_null(ctl2);
	assert_non_null(strstr(err, "already listening"));
	a = cl_connect(x);
	cl_send(x, a, "{\"cmd\":\"echo\",\"arg\":\"still here\"}\n");
	cl_expect(x, a, "{\"ok\":true,\"echo\":\"still here\"}");
	cl_free(a);

	/* Closing removes the file. */
	control_close(x->ctl);
	x->ctl = NULL;
	assert_int_equal(lstat(x->path, &st), -1);
	assert_int_equal(errno, ENOENT);
}

static void
test_open_stale_and_errors(void **state)
{
	struct ctx *x = *state;
	struct control_opts o = { .path = x->path };
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char err[256], dir[160], longpath[200];
	struct control *ctl = NULL;
	struct stat st;
	int fd;

	/* A socket file left by a dead daemon is replaced. */
	snprintf(dir, sizeof(dir), "%s/run", x->dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	strcpy(sun.sun_path, x->path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd);
	ctx_open(x, NULL, 0, 0);
	control_close(x->ctl);
	x->ctl = NULL;

	/* Anything else at the path is left alone. */
	fd = open(x->path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(control_open(x->loop, &o, test_handler, x, &ctl,
	    err, sizeof(err)), -EEXIST);
	assert_non_null(strstr(err, "not a socket"));
	assert_int_equal(lstat(x->path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	unlink(x->path);

	o.group = "sockwatch-no-such-group";
	assert_int_equal(control_open(x->loop, &o, test_handler, x, &ctl,
	    err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "sockwatch-no-such-group"));
	assert_non_null(strstr(err, "no such group"));
	assert_null(ctl);

	o.group = NULL;
	memset(longpath, 'p', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	o.path = longpath;
	assert_int_equal(control_open(x->loop, &o, test_handler, x, &ctl,
	    err, sizeof(err)), -ENAMETOOLONG);
	assert_null(ctl);
}

/* ---- requests and responses -------------------------------------------- */

static void
test_roundtrip(void **state)
{
	struct ctx *x = *state;
	struct cl *a;

	ctx_open(x, NULL, 0, 0);
	a = cl_connect(x);
	assert_int_equal(control_nclients(x->ctl), 1);
	cl_send(x, a, "{\"cmd\":\"echo\",\"arg\":{\"k\":[1,2]}}\n");
	cl_expect(x, a, "{\"ok\":true,\"echo\":{\"k\":[1,2]}}");
	/* A handler's own "ok" is kept. */
	cl_send(x, a, "{\"cmd\":\"fail\"}\n");
	cl_expect(x, a, "{\"ok\":false,\"error\":\"custom failure\"}");
	/* Empty and blank lines are ignored. */
	cl_send(x, a, "\n\r\n  \t \n{\"cmd\":\"echo\",\"arg\":\"e\"}\n");
	cl_expect(x, a, "{\"ok\":true,\"echo\":\"e\"}");
	assert_true(cl_quiet(x, a));
	assert_int_equal(x->handled, 3);
	assert_int_equal(ctx_stats(x).bad_requests, 0);
	assert_int_equal(ctx_stats(x).accepted, 1);
	cl_free(a);
	pump(x);
	assert_int_equal(control_nclients(x->ctl), 0);
}

static void
test_split_request(void **state)
{
	struct ctx *x = *state;
	struct cl *a;

	ctx_open(x, NULL, 0, 0);
	a = cl_connect(x);
	cl_send(x, a, "{\"cmd\":\"ec");
	assert_true(cl_quiet(x, a));
	assert_int_equal(x->handled, 0);
	cl_send(x, a, "ho\",\"arg\":\"split\"}\n");
	cl_expect(x, a, "{\"ok\":true,\"echo\":\"split\"}");

	/* Byte by byte, cutting a UTF-8 character in two. */
	const char *s = "{\"cmd\":\"echo\",\"arg\":\"caf\xc3\xa9\"}\n";
	for (; *s != '\0'; s++)
		cl_sendn(x, a, s, 1);
	cl_expect(x, a, "{\"ok\":true,\"echo\":\"caf\xc3\xa9\"}");
	cl_free(a);
}

static void
test_two_in_one_write(void **state)
{
	struct ctx *x = *state;
	struct cl *a;

	ctx_open(x, NULL, 0, 0);
	a = cl_connect(x);
	cl_send(x, a, "{\"cmd\":\"echo\",\"arg\":1}\n"
	    "{\"cmd\":\"echo\",\"arg\":2}\n{\"cmd\":\"echo\",\"arg\":3}");
	cl_expect(x, a, "{\"ok\":true,\"echo\":1}");
	cl_expect(x, a, "{\"ok\":true,\"echo\":2}");
	/* The third waits for its newline. */
	assert_true(cl_quiet(x, a));
	cl_send(x, a, "\n");
	cl_expect(x, a, "{\"ok\":true,\"echo\":3}");
	cl_free(a);
}

static void
test_garbage_then_good(void **state)
{
	static const char *const garbage[] = {
		"not json", "[1,2,3]", "{}", "{\"cmd\":5}",
		"{\"cmd\":\"echo\"} trailing", "\x01\x02\xff\xfe", "{\"cmd\":",
		"42", "{\"cmd\":null}", "}}}}",
	};
	struct ctx *x = *state;
	char buf[4096], *line;
	size_t len = 0, i;
	struct cl *a;

	ctx_open(x, NULL, 0, 0);
	a = cl_connect(x);
	for (i = 0; i < 100; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s\n",
		    garbage[i % 10]);
	assert_true(len < sizeof(buf) - 1);
	cl_sendn(x, a, buf, len);
	cl_send(x, a, "{\"cmd\":\"echo\",\"arg\":\"good\"}\n");
	for (i = 0; i < 100; i++) {
		line = cl_readline(x, a);
		assert_non_null(line);
		assert_true(strncmp(line, "{\"ok\":false,\"error\":", 20) == 0);
		free(line);
	}
	cl_expect(x, a, "{\"ok\":true,\"echo\":\"good\"}");
	assert_int_equal(ctx_stats(x).bad_requests, 100);
	assert_int_equal(x->handled, 1);
	assert_int_equal(control_nclients(x->ctl), 1);
	cl_free(a);
}

static void
test_unknown_command(void **state)
{
	struct ctx *x = *state;
	struct cl *a;

	ctx_open(x, NULL, 0, 0);
	a = cl_connect(x);
	cl_send(x, a, "{\"cmd\":\"frobnicate\"}\n");
	cl_expect(x, a, "{\"ok\":false,\"error\":\"unknown command\"}");
	cl_send(x, a, "{\"cmd\":\"echo\",\"arg\":\"after\"}\n");
	cl_expect(x, a, "{\"ok\":true,\"echo\":\"after\"}");
	cl_free(a);
}

static void
test_oversize_line(void **state)
{
	struct ctx *x = *state;
	size_t n = CONTROL_MAX_LINE + 6 * 1024, head, pad;
	struct cl *a, *b;
	char *big, *line;

	ctx_open(x, NULL, 0, 0);
	a = cl_connect(x);
	b = cl_connect(x);
	big = malloc(n + 1);
	assert_non_null(big);

	/* Exactly CONTROL_MAX_LINE bytes (newline excluded) is fine. */
	head = (size_t)sprintf(big, "{\"cmd\":\"echo\",\"arg\":\"");
	pad = CONTROL_MAX_LINE - head - 2;
	memset(big + head, 'y', pad);
	memcpy(big + head + pad, "\"}\n", 3);
	cl_sendn(x, a, big, CONTROL_MAX_LINE + 1);
	line = cl_readline(x, a);
	assert_non_null(line);
	assert_int_equal(strlen(line), strlen("{\"ok\":true,\"echo\":\"\"}") +
	    pad);
	free(line);

	/* One byte more is an error, then the connection closes. */
	memset(big, 'a', n);
	big[n] = '\n';
	cl_sendn(x, a, big, n + 1);
	cl_expect(x, a, "{\"ok\":false,\"error\":\"request too long\"}");
	assert_true(cl_closed(x, a));
	assert_int_equal(ctx_stats(x).bad_requests, 1);
	assert_int_equal(control_nclients(x->ctl), 1);

	/* The other client did not notice. */
	cl_send(x, b, "{\"cmd\":\"echo\",\"arg\":\"b\"}\n");
	cl_expect(x, b, "{\"ok\":true,\"echo\":\"b\"}");
	free(big);
	cl_free(a);
	cl_free(b);
}

static void
test_half_close(void **state)
{
	struct ctx *x = *state;
	struct cl *a;

	ctx_open(x, NULL, 0, 0);
	a = cl_connect(x);
	/* Like `printf ... | nc -N -U`: no final newline, then EOF. */
	cl_send(x, a, "{\"cmd\":\"echo\",\"arg\":\"last\"}");
	assert_int_equal(shutdown(a->fd, SHUT_WR), 0);
	cl_expect(x, a, "{\"ok\":true,\"echo\":\"last\"}");
	assert_true(cl_closed(x, a));
	assert_int_equal(control_nclients(x->ctl), 0);
	cl_free(a);
}

static void
test_close_mid_response(void **state)
{
	struct ctx *x = *state;
	struct cl *a, *b;
	char *line;

	ctx_open(x, NULL, 0, 0);
	/* Leaves without reading a 4 MB answer. */
	a = cl_connect(x);
	cl_send(x, a, "{\"cmd\":\"big\",\"size\":4000000}\n");
	assert_int_equal(x->handled, 1);
	close(a->fd);
	a->fd = -1;
	pump(x);
	assert_int_equal(control_nclients(x->ctl), 0);

	/* Reads a little, then leaves. */
	b = cl_connect(x);
	cl_send(x, b, "{\"cmd\":\"big\",\"size\":4000000}\n");
	assert_true(recv(b->fd, b->buf, 1000, 0) > 0);
	close(b->fd);
	b->fd = -1;
	pump(x);
	assert_int_equal(control_nclients(x->ctl), 0);
	cl_free(a);
	cl_free(b);

	a = cl_connect(x);
	cl_send(x, a, "{\"cmd\":\"echo\"}\n");
	line = cl_readline(x, a);
	assert_non_null(line);
	assert_string_equal(line, "{\"ok\":true,\"echo\":null}");
	free(line);
	cl_free(a);
}

/* Pipelined requests with large answers, read slowly: the server stops
 * reading while the client lags and still answers every one in order. */
static void
test_pipelined_backpressure(void **state)
{
	struct ctx *x = *state;
	char buf[64 * 64], want[32], *line;
	size_t len = 0;
	struct cl *a;
	int i;

	ctx_open(x, NULL, 0, 0);
	a = cl_connect(x);
	for (i = 0; i < 60; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len,
		    "{\"cmd\":\"big\",\"n\":%d,\"size\":100000}\n", i);
	cl_sendn(x, a, buf, len);
	pump(x);
	/* Not all 6 MB were produced while nobody read. */
	assert_true(x->handled < 60);
	for (i = 0; i < 60; i++) {
		line = cl_readline(x, a);
		assert_non_null(line);
		snprintf(want, sizeof(want), "{\"ok\":true,\"n\":%d,", i);
		assert_true(strncmp(line, want, strlen(want)) == 0);
		assert_true(strlen(line) > 100000);
		free(line);
	}
	assert_int_equal(x->handled, 60);
	assert_true(cl_quiet(x, a));
	cl_free(a);
}

/* Out of descriptors, the listener pauses instead of spinning, and
 * accepts again once the pause is over. */
static void
test_accept_emfile(void **state)
{
	struct ctx *x = *state;
	struct rlimit old, low;
	int fill[256], nfill = 0, fd;
	int64_t deadline;
	const char *pre = getenv("LD_PRELOAD");
	struct cl *a;

	/* valgrind fakes the limit: its accept4 takes the connection from
	 * the kernel, then closes it and says EMFILE. */
	if (pre != NULL && strstr(pre, "vgpreload") != NULL)
		skip();
	ctx_open(x, NULL, 0, 0);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = 128;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	while (nfill < 256 && (fd = open("/dev/null", O_RDONLY)) >= 0)
		fill[nfill++] = fd;
	assert_true(nfill > 0 && nfill < 256 && errno == EMFILE);
	close(fill[--nfill]);
	a = cl_connect(x);		/* takes the last descriptor */
	assert_int_equal(control_nclients(x->ctl), 0);
	/* Paused: the pending connection does not wake the loop. */
	assert_int_equal(evloop_run_once(x->loop, 0), 0);

	while (nfill > 0)
		close(fill[--nfill]);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	deadline = time_mono_ms() + WAIT_MS;
	while (control_nclients(x->ctl) == 0 && time_mono_ms() < deadline)
		evloop_run_once(x->loop, 100);
	assert_int_equal(control_nclients(x->ctl), 1);
	cl_send(x, a, "{\"cmd\":\"echo\",\"arg\":\"back\"}\n");
	cl_expect(x, a, "{\"ok\":true,\"echo\":\"back\"}");
	cl_free(a);
}

/* ---- authorization --------------------------------------------------- */

static void
test_role_root(void **state)
{
	static const char *const readers[] = { "whoami", "echo", NULL };
	struct ctx *x = *state;
	struct cl *a;

	if (geteuid() != 0)
		skip();
	ctx_open(x, NULL, 0, 0);
	assert_int_equal(control_set_reader_commands(x->ctl, readers), 0);
	a = cl_connect(x);
	cl_send(x, a, "{\"cmd\":\"whoami\"}\n");
	cl_expect(x, a, "{\"ok\":true,\"uid\":0,\"role\":\"admin\"}");
	assert_int_equal(x->last_role, CONTROL_ADMIN);
	assert_int_equal(x->last_uid, 0);
	cl_send(x, a, "{\"cmd\":\"reload\"}\n");
	cl_expect(x, a, "{\"ok\":true,\"reloaded\":true}");
	cl_free(a);
}

/* Run fn in a child under uid/gid while the parent serves; the child's
 * exit status is the line of its first failed check, or 0. */
static int
run_as(struct ctx *x, uid_t uid, gid_t gid, int (*fn)(const char *path))
{
	int64_t deadline = time_mono_ms() + 10000;
	int status = -1;
	pid_t pid;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setgid(gid) < 0 ||
		    setuid(uid) < 0)
			_exit(200);
		_exit(fn(x->path));
	}
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (time_mono_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -1;
		}
		evloop_run_once(x->loop, 20);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Blocking helpers for the child (no cmocka there). */
static int
child_connect(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 5 };
	int fd;

	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

/* Send req (if any) and compare the next line with want. */
static bool
child_ask(int fd, const char *req, const char *want)
{
	char buf[512];
	size_t len = 0;
	ssize_t n;

	if (req != NULL &&
	    send(fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req))
		return false;
	while (len < sizeof(buf) - 1) {
		if ((n = read(fd, buf + len, 1)) <= 0)
			return false;
		if (buf[len] == '\n') {
			buf[len] = '\0';
			return strcmp(buf, want) == 0;
		}
		len += (size_t)n;
	}
	return false;
}

static int
child_reader(const char *path)
{
	char want[128];
	int fd;

	if ((fd = child_connect(path)) < 0)
		return __LINE__;
	snprintf(want, sizeof(want),
	    "{\"ok\":true,\"uid\":%u,\"role\":\"reader\"}",
	    (unsigned int)getuid());
	if (!child_ask(fd, "{\"cmd\":\"whoami\"}\n", want))
		return __LINE__;
	if (!child_ask(fd, "{\"cmd\":\"reload\"}\n",
	    "{\"ok\":false,\"error\":\"permission denied: reload needs root\"}"))
		return __LINE__;
	if (!child_ask(fd, "{\"cmd\":\"echo\",\"arg\":1}\n",
	    "{\"ok\":true,\"echo\":1}"))
		return __LINE__;
	/* Not on the readers' list: refused, whatever it is. */
	if (!child_ask(fd, "{\"cmd\":\"fail\"}\n",
	    "{\"ok\":false,\"error\":\"permission denied: fail needs root\"}"))
		return __LINE__;
	close(fd);
	return 0;
}

static int
child_stranger(const char *path)
{
	char b;
	int fd;

	if ((fd = child_connect(path)) < 0)
		return __LINE__;
	/* Whatever it claims, it gets the refusal and the door. The send
	 * may find the door shut already. */
	(void)!send(fd, "{\"cmd\":\"whoami\",\"uid\":0}\n", 25, MSG_NOSIGNAL);
	if (!child_ask(fd, NULL,
	    "{\"ok\":false,\"error\":\"permission denied\"}"))
		return __LINE__;
	if (read(fd, &b, 1) > 0)
		return __LINE__;
	close(fd);
	return 0;
}

static void
test_reader_and_stranger(void **state)
{
	static const char *const readers[] = { "whoami", "echo", NULL };
	struct ctx *x = *state;
	struct passwd *pw = NULL;
	struct group *gr = NULL;
	char group[64] = "";
	uid_t uid = 0;
	gid_t gid = 0;
	struct stat st;

	/* nobody, in its primary group (nogroup on Debian). */
	if (geteuid() == 0 && (pw = getpwnam("nobody")) != NULL) {
		uid = pw->pw_uid;
		gid = pw->pw_gid;
		if ((gr = getgrgid(gid)) != NULL)
			snprintf(group, sizeof(group), "%s", gr->gr_name);
	}
	if (group[0] == '\0' || getpwuid(65533) != NULL)
		skip();
	assert_int_equal(chmod(x->dir, 0755), 0);
	ctx_open(x, group, 0, 0);
	assert_int_equal(control_set_reader_commands(x->ctl, readers), 0);
	assert_int_equal(lstat(x->path, &st), 0);
	assert_int_equal(st.st_gid, gid);
	assert_int_equal(st.st_mode & 07777, 0660);

	/* nobody is in the control group: it may read, not reload. */
	assert_int_equal(run_as(x, uid, gid, child_reader), 0);
	assert_int_equal(x->last_role, CONTROL_READER);
	assert_int_equal(x->last_uid, uid);

	/* A uid outside the group (the file mode opened up so that only
	 * SO_PEERCRED stands in its way) is refused. */
	assert_int_equal(chmod(x->path, 0666), 0);
	x->handled = 0;
	assert_int_equal(run_as(x, 65533, 65533, child_stranger), 0);
	assert_int_equal(x->handled, 0);
	assert_int_equal(ctx_stats(x).refused, 1);
	assert_int_equal(ctx_stats(x).accepted, 1);
}

static void
test_max_clients(void **state)
{
	struct ctx *x = *state;
	struct cl *a, *b, *c, *d, *root[CONTROL_ROOT_SLOTS];
	int i;

	ctx_open(x, NULL, 2, 0);
	a = cl_connect(x);
	b = cl_connect(x);
	assert_int_equal(control_nclients(x->ctl), 2);
	/* The tests run as root, who has slots beyond max_clients. */
	for (i = 0; i < CONTROL_ROOT_SLOTS; i++) {
		root[i] = cl_connect(x);
		cl_send(x, root[i], "{\"cmd\":\"echo\",\"arg\":\"r\"}\n");
		cl_expect(x, root[i], "{\"ok\":true,\"echo\":\"r\"}");
	}
	assert_int_equal(control_nclients(x->ctl), 2 + CONTROL_ROOT_SLOTS);
	c = cl_connect(x);
	cl_expect(x, c, "{\"ok\":false,\"error\":\"too many clients\"}");
	assert_true(cl_closed(x, c));
	assert_int_equal(ctx_stats(x).refused, 1);
	assert_int_equal(control_nclients(x->ctl), 2 + CONTROL_ROOT_SLOTS);
	for (i = 0; i < CONTROL_ROOT_SLOTS; i++)
		cl_free(root[i]);
	pump(x);
	cl_send(x, a, "{\"cmd\":\"echo\",\"arg\":\"a\"}\n");
	cl_expect(x, a, "{\"ok\":true,\"echo\":\"a\"}");

	/* A slot freed is a slot to take. */
	cl_free(a);
	pump(x);
	assert_int_equal(control_nclients(x->ctl), 1);
	d = cl_connect(x);
	cl_send(x, d, "{\"cmd\":\"echo\",\"arg\":\"d\"}\n");
	cl_expect(x, d, "{\"ok\":true,\"echo\":\"d\"}");
	assert_int_equal(ctx_stats(x).accepted, 3 + CONTROL_ROOT_SLOTS);
	cl_free(b);
	cl_free(c);
	cl_free(d);
}

/* A deferred answer: the client's next request waits for it, an answer
 * for a client that left finds nobody, and subscribe comes with it. */
static void
test_deferred(void **state)
{
	struct ctx *x = *state;
	struct cl *a;
	uint64_t gone;

	ctx_open(x, NULL, 0, 0);
	a = cl_connect(x);
	cl_send(x, a, "{\"cmd\":\"later\"}\n{\"cmd\":\"echo\",\"arg\":2}\n");
	assert_true(x->later != 0);
	assert_int_equal(x->handled, 1);
	assert_null(cl_readline(x, a) == NULL ? NULL : "an early answer");
	assert_int_equal(control_reply(x->ctl, x->later, json_pack("{s:i}",
	    "n", 1), NULL, true), 0);
	cl_expect(x, a, "{\"ok\":true,\"n\":1}");
	cl_expect(x, a, "{\"ok\":true,\"echo\":2}");
	assert_int_equal(control_nsubscribers(x->ctl), 1);
	assert_int_equal(control_reply(x->ctl, x->later, json_object(), NULL,
	    false), -ENOENT);
	/* An answer that is a line of text already, sent as it is. */
	cl_send(x, a, "{\"cmd\":\"later\"}\n");
	assert_int_equal(control_reply_line(x->ctl, x->later,
	    "{\"ok\":true,\"raw\":1}", 19), 0);
	cl_expect(x, a, "{\"ok\":true,\"raw\":1}");
	/* An error answer, then a client that is gone. */
	cl_send(x, a, "{\"cmd\":\"later\"}\n");
	assert_int_equal(control_reply(x->ctl, x->later, NULL, "no luck",
	    false), 0);
	cl_expect(x, a, "{\"ok\":false,\"error\":\"no luck\"}");
	cl_send(x, a, "{\"cmd\":\"later\"}\n");
	gone = x->later;
	cl_free(a);
	pump(x);
	assert_int_equal(control_reply(x->ctl, gone, json_object(), NULL,
	    false), -ENOENT);
	assert_int_equal(control_nclients(x->ctl), 0);
}

/* ---- subscriptions ----------------------------------------------------- */

static void
test_subscribe_broadcast(void **state)
{
	struct ctx *x = *state;
	struct cl *a, *b;
	json_t *ev;

	ctx_open(x, NULL, 0, 0);
	/* Nobody listening: nothing happens. */
	ev = json_pack("{s:s, s:i}", "type", "alert", "n", 0);
	control_broadcast(x->ctl, ev);
	json_decref(ev);

	a = cl_connect(x);
	b = cl_connect(x);
	assert_int_equal(control_nsubscribers(x->ctl), 0);
	cl_send(x, a, "{\"cmd\":\"subscribe\"}\n");
	cl_expect(x, a, "{\"ok\":true}");
	/* Subscribing twice counts once. */
	cl_send(x, a, "{\"cmd\":\"subscribe\"}\n");
	cl_expect(x, a, "{\"ok\":true}");
	assert_int_equal(control_nsubscribers(x->ctl), 1);
	ev = json_pack("{s:s, s:i}", "type", "alert", "n", 1);
	control_broadcast(x->ctl, ev);
	json_decref(ev);
	ev = json_pack("{s:s, s:i}", "type", "socket-open", "n", 2);
	control_broadcast(x->ctl, ev);
	assert_int_equal(ev->refcount, 1);
	json_decref(ev);
	cl_expect(x, a, "{\"type\":\"alert\",\"n\":1}");
	cl_expect(x, a, "{\"type\":\"socket-open\",\"n\":2}");
	assert_true(cl_quiet(x, a));

	/* A subscriber still asks questions; others see no events. */
	cl_send(x, a, "{\"cmd\":\"echo\",\"arg\":\"q\"}\n");
	cl_expect(x, a, "{\"ok\":true,\"echo\":\"q\"}");
	cl_send(x, b, "{\"cmd\":\"echo\",\"arg\":\"b\"}\n");
	cl_expect(x, b, "{\"ok\":true,\"echo\":\"b\"}");
	assert_true(cl_quiet(x, b));

	/* Having said all it had to say, a subscriber keeps listening. */
	assert_int_equal(shutdown(a->fd, SHUT_WR), 0);
	pump(x);
	ev = json_pack("{s:s, s:i}", "type", "alert", "n", 3);
	control_broadcast(x->ctl, ev);
	json_decref(ev);
	cl_expect(x, a, "{\"type\":\"alert\",\"n\":3}");
	cl_free(a);
	pump(x);
	assert_int_equal(control_nclients(x->ctl), 1);
	assert_int_equal(control_nsubscribers(x->ctl), 0);
	cl_free(b);
}

static void
test_slow_subscriber(void **state)
{
	struct ctx *x = *state;
	struct cl *a, *b, *c;
	char pad[1001], *line;
	int64_t t0;
	json_t *ev;
	int i, got = 0;

	ctx_open(x, NULL, 0, 8192);
	a = cl_connect(x);
	b = cl_connect(x);
	cl_send(x, a, "{\"cmd\":\"subscribe\"}\n");
	cl_expect(x, a, "{\"ok\":true}");
	memset(pad, 'z', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';

	/* a never reads: once the kernel buffer and 8 KiB of ours are
	 * full, it is dropped, and broadcasting never waits for it. */
	t0 = time_mono_ms();
	for (i = 0; i < 10000 && ctx_stats(x).dropped_slow == 0; i++) {
		ev = json_pack("{s:s, s:i, s:s}", "type", "alert", "n", i,
		    "pad", pad);
		control_broadcast(x->ctl, ev);
		json_decref(ev);
		pump(x);
	}
	assert_int_equal(ctx_stats(x).dropped_slow, 1);
	assert_true(time_mono_ms() - t0 < 2000);
	assert_int_equal(control_nclients(x->ctl), 1);
	assert_int_equal(control_nsubscribers(x->ctl), 0);

	/* b is served as before. */
	cl_send(x, b, "{\"cmd\":\"echo\",\"arg\":\"b\"}\n");
	cl_expect(x, b, "{\"ok\":true,\"echo\":\"b\"}");

	/* a gets what was sent before the drop, then the end. */
	while ((line = cl_readline(x, a)) != NULL) {
		got++;
		free(line);
	}
	assert_true(a->eof);
	assert_true(got > 0 && got < i);

	/* New subscribers are fine. */
	c = cl_connect(x);
	cl_send(x, c, "{\"cmd\":\"subscribe\"}\n");
	cl_expect(x, c, "{\"ok\":true}");
	ev = json_pack("{s:s}", "type", "late");
	control_broadcast(x->ctl, ev);
	json_decref(ev);
	cl_expect(x, c, "{\"type\":\"late\"}");
	cl_free(a);
	cl_free(b);
	cl_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_bad),
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_open_socket_file),
		T(test_open_stale_and_errors),
		T(test_roundtrip),
		T(test_split_request),
		T(test_two_in_one_write),
		T(test_garbage_then_good),
		T(test_unknown_command),
		T(test_oversize_line),
		T(test_half_close),
		T(test_close_mid_response),
		T(test_pipelined_backpressure),
		T(test_accept_emfile),
		T(test_role_root),
		T(test_reader_and_stranger),
		T(test_max_clients),
		T(test_deferred),
		T(test_subscribe_broadcast),
		T(test_slow_subscriber),
#undef T
	};

	return cmocka_run_group_tests_name("control", tests, NULL, NULL);
}
