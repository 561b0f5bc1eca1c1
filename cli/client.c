#include "client.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli.h"

#define CLIENT_MAX_LINE (256 * 1024 * 1024)	/* big socket lists */

#define CLIENT_TIMEOUT_S 60	/* for one answer; a subscription waits */

struct client {
	int fd;
	char *buf;
	size_t len, cap;
	size_t scanned;			/* bytes known to hold no newline */
};

static const char *client_socket;

void
client_set_path(const char *path)
{
	client_socket = path;
}

const char *
client_path(void)
{
	const char *env;

	if (client_socket != NULL)
		return client_socket;
	if ((env = getenv("SOCKWATCH_SOCKET")) != NULL && *env != '\0')
		return env;
	return CLIENT_DEFAULT_SOCKET;
}

int
client_open(struct client **ret_client)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	const char *path = client_path();
	struct client *c;
	int r;

	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return -ENOMEM;
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sun,
	    sizeof(sun)) < 0) {
		r = -errno;
		client_close(c);
		return r;
	}
	*ret_client = c;
	return 0;
}

void
client_close(struct client *c)
{
	if (c == NULL)
		return;
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	free(c);
}

int
client_set_nonblock(struct client *c)
{
	int fl;

	if ((fl = fcntl(c->fd, F_GETFL)) < 0 ||
	    fcntl(c->fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

int
client_fd(const struct client *c)
{
	return c->fd;
}

static int
client_send(struct client *c, const json_t *req)
{
	char *line;
	size_t len, off = 0;
	ssize_t n;
	int r = 0;

	if ((line = json_dumps(req, JSON_COMPACT)) == NULL)
		return -ENOMEM;
	len = strlen(line);
	line[len++] = '\n';	/* json_dumps leaves room: overwrite NUL */
	while (off < len) {
		/* No SIGPIPE: a daemon that refused us has hung up already. */
		n = send(c->fd, line + off, len - off, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		off += (size_t)n;
	}
	free(line);
	return r;
}

int
client_next(struct client *c, json_t **ret_obj)
{
	json_error_t jerr;
	char *nl;
	size_t linelen, cap;
	ssize_t n;
	json_t *j;
	void *p;

	for (;;) {
		if (c->len > c->scanned && (nl = memchr(c->buf + c->scanned,
		    '\n', c->len - c->scanned)) != NULL) {
			linelen = (size_t)(nl - c->buf);
			j = json_loadb(c->buf, linelen, 0, &jerr);
			memmove(c->buf, nl + 1, c->len - linelen - 1);
			c->len -= linelen + 1;
			c->scanned = 0;
			if (!json_is_object(j)) {
				json_decref(j);
				return -EPROTO;
			}
			*ret_obj = j;
			return 0;
		}
		if (c->len == c->cap) {
			if (c->cap >= CLIENT_MAX_LINE)
				return -EMSGSIZE;
			cap = c->cap ? c->cap * 2 : 65536;
			if ((p = realloc(c->buf, cap)) == NULL)
				return -ENOMEM;
			c->buf = p;
			c->cap = cap;
		}
		c->scanned = c->len;
		n = read(c->fd, c->buf + c->len, c->cap - c->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		if (n == 0)
			return -EPIPE;
		c->len += (size_t)n;
	}
}

int
client_call(struct client *c, const json_t *req, json_t **ret_resp)
{
	int r;

	/* A daemon that refuses a client answers and hangs up at once,
	 * maybe before our request is sent: its answer is still there to
	 * read, and says more than EPIPE. */
	struct timeval tv = { CLIENT_TIMEOUT_S, 0 }, none = { 0, 0 };

	if ((r = client_send(c, req)) < 0 && r != -EPIPE && r != -ECONNRESET)
		return r;
	/* A daemon that is stuck must not hang the CLI forever. */
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	r = client_next(c, ret_resp);
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof(none));
	return r;
}

int
client_connect(struct client **ret_client)
{
	int r;

	if ((r = client_open(ret_client)) == 0)
		return EXIT_OK;
	if (r == -ENOENT || r == -ECONNREFUSED) {
		fprintf(stderr, "sockwatch: sockwatchd is not running "
		    "(nothing listens on %s)\n", client_path());
		return EXIT_NODAEMON;
	}
	fprintf(stderr, "sockwatch: cannot connect to %s: %s\n",
	    client_path(), strerror(-r));
	return EXIT_FAIL;
}

int
client_request(const char *cmdname, json_t *req, json_t **ret_resp)
{
	struct client *c = NULL;
	json_t *resp = NULL;
	const char *err;
	int r;

	if ((r = client_connect(&c)) != EXIT_OK) {
		json_decref(req);
		return r;
	}
	r = client_call(c, req, &resp);
	json_decref(req);
	client_close(c);
	if (r < 0) {
		fprintf(stderr, "sockwatch: %s: no answer from sockwatchd: "
		    "%s\n", cmdname, strerror(-r));
		return EXIT_FAIL;
	}
	if (!json_is_true(json_object_get(resp, "ok"))) {
		err = json_string_value(json_object_get(resp, "error"));
		fprintf(stderr, "sockwatch: %s: %s\n", cmdname,
		    err ? err : "the daemon refused the request");
		json_decref(resp);
		return EXIT_FAIL;
	}
	*ret_resp = resp;
	return EXIT_OK;
}
