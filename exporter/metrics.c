/* Prometheus text exposition (format 0.0.4) and the optional HTTP
 * listener. libmicrohttpd runs in its "external epoll" mode: its epoll fd
 * sits in our loop, and a timerfd armed from MHD_get_timeout() makes sure
 * pending work and idle-connection timeouts are processed on time. */
#include "../common/util.h"
#include "metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <microhttpd.h>

#include "../common/addr.h"
#include "../common/log.h"

#define MBUF_MIN		256
/* Integral values below 2^53 are exact in a double: print them as is. */
#define METRICS_INT_MAX		9007199254740992.0
#define METRICS_VALUE_LEN	32

#define METRICS_HTTP_PATH	"/metrics"
#define METRICS_HTTP_CTYPE	"text/plain; version=0.0.4; charset=utf-8"
#define METRICS_HTTP_MAXCONN	16
#define METRICS_HTTP_TIMEOUT	5	/* seconds of inactivity */
#define METRICS_HTTP_BACKLOG	16

struct metrics_http {
	struct evloop *loop;
	struct MHD_Daemon *mhd;
	struct evsource *src_mhd;	/* MHD's epoll fd */
	struct evsource *src_timer;
	int timerfd;
	metrics_render fn;
	void *arg;
};

/* --- the buffer --- */

void
mbuf_free(struct mbuf *b)
{
	free(b->buf);
	b->buf = NULL;
	b->len = b->cap = 0;
	b->oom = 0;
}

/* Make room for n more bytes plus the NUL. */
static int
mbuf_reserve(struct mbuf *b, size_t n)
{
	size_t need, cap;
	char *p;

	if (b->oom)
		return -ENOMEM;
	if (n > SIZE_MAX - b->len - 1)
		goto fail;
	need = b->len + n + 1;
	if (need <= b->cap)
		return 0;
	cap = b->cap < MBUF_MIN ? MBUF_MIN : b->cap;
	while (cap < need) {
		if (cap > SIZE_MAX / 2) {
			cap = need;
			break;
		}
		cap *= 2;
	}
	if ((p = realloc(b->buf, cap)) == NULL)
		goto fail;
	b->buf = p;
	b->cap = cap;
	return 0;
fail:
	b->oom = 1;
	return -ENOMEM;
}

void
mbuf_add(struct mbuf *b, const void *p, size_t n)
{
	if (mbuf_reserve(b, n) < 0)
		return;
	if (n > 0)
		memcpy(b->buf + b->len, p, n);
	b->len += n;
	b->buf[b->len] = '\0';
}

static void
mbuf_puts(struct mbuf *b, const char *s)
{
	mbuf_add(b, s, strlen(s));
}

void
mbuf_printf(struct mbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		/* Only a broken format gets here; treat it like no memory
		 * so that a half-written exposition is never served. */
		b->oom = 1;
		return;
	}
	if (mbuf_reserve(b, (size_t)n) < 0)
		return;
	va_start(ap, fmt);
	vsnprintf(b->buf + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* Append s with each character in special replaced by a backslash escape
 * ('\n' becomes "\n"). */
static void
mbuf_escape(struct mbuf *b, const char *s, const char *special)
{
	size_t run;

	while (*s != '\0') {
		run = strcspn(s, special);
		mbuf_add(b, s, run);
		s += run;
		if (*s == '\0')
			break;
		mbuf_puts(b, *s == '\n' ? "\\n" : *s == '\\' ? "\\\\" :
		    "\\\"");
		s++;
	}
}

/* --- the exposition --- */

/* Integers without exponent or decimals, anything else in the shortest
 * %g form that reads back to the same double. The daemon never calls
 * setlocale(), so the decimal point is '.'. */
static void
metrics_format_value(double v, char *buf, size_t len)
{
	int prec;

	if (isnan(v))
		snprintf(buf, len, "NaN");
	else if (isinf(v))
		snprintf(buf, len, "%s", v > 0 ? "+Inf" : "-Inf");
	else if (v == 0)
		snprintf(buf, len, "0");	/* also -0 */
	else if (v == trunc(v) && fabs(v) < METRICS_INT_MAX)
		snprintf(buf, len, "%.0f", v);
	else {
		for (prec = 1; prec < 17; prec++) {
			snprintf(buf, len, "%.*g", prec, v);
			if (strtod(buf, NULL) == v)
				return;
		}
		snprintf(buf, len, "%.17g", v);
	}
}

void
metrics_family(struct mbuf *b, const char *name, const char *type,
    const char *help)
{
	if (help != NULL) {
		mbuf_printf(b, "# HELP %s ", name);
		mbuf_escape(b, help, "\\\n");
		mbuf_puts(b, "\n");
	}
	if (type != NULL)
		mbuf_printf(b, "# TYPE %s %s\n", name, type);
}

void
metrics_sample(struct mbuf *b, const char *name,
    const char *const *labels, double value)
{
	char num[METRICS_VALUE_LEN];
	size_t i;

	mbuf_puts(b, name);
	if (labels != NULL && labels[0] != NULL) {
		mbuf_puts(b, "{");
		for (i = 0; labels[i] != NULL; i += 2) {
			if (i > 0)
				mbuf_puts(b, ",");
			mbuf_puts(b, labels[i]);
			mbuf_puts(b, "=\"");
			if (labels[i + 1] != NULL)
				mbuf_escape(b, labels[i + 1], "\\\"\n");
			mbuf_puts(b, "\"");
			if (labels[i + 1] == NULL)
				break;
		}
		mbuf_puts(b, "}");
	}
	metrics_format_value(value, num, sizeof(num));
	mbuf_printf(b, " %s\n", num);
}

/* --- the HTTP listener --- */

/* "A.B.C.D:PORT" or "[IPV6]:PORT", literals only, port 1-65535. */
static int
metrics_parse_listen(const char *s, struct sockaddr_storage *ret_ss,
    socklen_t *ret_len)
{
	char host[ADDR_STRLEN];
	const char *h, *end, *port;
	struct sockaddr_in *sin;
	struct sockaddr_in6 *sin6;
	struct addr a;
	unsigned long p;
	size_t hlen, i;

	if (s[0] == '[') {
		h = s + 1;
		if ((end = strchr(h, ']')) == NULL || end[1] != ':')
			return -EINVAL;
		port = end + 2;
	} else {
		h = s;
		if ((end = strrchr(s, ':')) == NULL)
			return -EINVAL;
		port = end + 1;
	}
	hlen = (size_t)(end - h);
	if (hlen == 0 || hlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	if (addr_parse(host, &a) < 0)
		return -EINVAL;
	/* An IPv6 literal needs its brackets, an IPv4 one must not have
	 * them: "::1:80" is ambiguous. */
	if ((s[0] == '[') != (a.family == AF_INET6))
		return -EINVAL;
	if (port[0] == '\0' || strlen(port) > 5)
		return -EINVAL;
	for (i = 0; port[i] != '\0'; i++)
		if (port[i] < '0' || port[i] > '9')
			return -EINVAL;
	p = strtoul(port, NULL, 10);
	if (p == 0 || p > 65535)
		return -EINVAL;

	memset(ret_ss, 0, sizeof(*ret_ss));
	if (a.family == AF_INET) {
		sin = (struct sockaddr_in *)ret_ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)p);
		sin->sin_addr = a.u.v4;
		*ret_len = sizeof(*sin);
	} else {
		sin6 = (struct sockaddr_in6 *)ret_ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)p);
		sin6->sin6_addr = a.u.v6;
		*ret_len = sizeof(*sin6);
	}
	return 0;
}

static int
metrics_listen_socket(const struct sockaddr_storage *ss, socklen_t sslen,
    int *ret_fd)
{
	int fd, one = 1, r;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd < 0)
		return -errno;
	/* A restart must not fail on the last run's TIME_WAIT sockets. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (const struct sockaddr *)ss, sslen) < 0 ||
	    listen(fd, METRICS_HTTP_BACKLOG) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	*ret_fd = fd;
	return 0;
}

/* MHD's messages can be triggered by any client: keep them at debug. */
static void
metrics_http_log(void *cls, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

static void
metrics_http_log(void *cls, const char *fmt, va_list ap)
{
	char msg[256];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && msg[n - 1] == '\n')
		msg[--n] = '\0';
	log_debug("metrics http: %s", msg);
}

static enum MHD_Result
metrics_http_reply(struct MHD_Connection *c, unsigned int status,
    const char *body, const char *allow)
{
	struct MHD_Response *resp;
	enum MHD_Result r;

	resp = MHD_create_response_from_buffer(strlen(body), (void *)body,
	    MHD_RESPMEM_PERSISTENT);
	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
	    "text/plain; charset=utf-8");
	if (allow != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
	r = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return r;
}

static enum MHD_Result
metrics_http_handle(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct metrics_http *h = cls;
	struct MHD_Response *resp;
	struct mbuf b = { 0 };
	enum MHD_Result r;

	(void)version;
	(void)upload_data;
	/* Refuse other methods at once, without reading a body; MHD then
	 * closes the connection. */
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
	    strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return metrics_http_reply(c, MHD_HTTP_METHOD_NOT_ALLOWED,
		    "Method Not Allowed\n", "GET, HEAD");
	/* MHD (0.9.75) closes a connection whose response was queued in
	 * the first call, so answer GET in the last one, after any body
	 * (ignored), to keep Prometheus' keep-alive connection open. */
	if (*con_cls == NULL) {
		*con_cls = h;		/* any non-NULL marker */
		return MHD_YES;
	}
	if (*upload_data_size != 0) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (strcmp(url, METRICS_HTTP_PATH) != 0)
		return metrics_http_reply(c, MHD_HTTP_NOT_FOUND,
		    "Not Found\n", NULL);

	h->fn(h->arg, &b);
	if (b.oom) {
		mbuf_free(&b);
		return metrics_http_reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    "Out of memory\n", NULL);
	}
	if (b.buf == NULL)
		resp = MHD_create_response_from_buffer(0, (void *)"",
		    MHD_RESPMEM_PERSISTENT);
	else
		resp = MHD_create_response_from_buffer_with_free_callback(
		    b.len, b.buf, free);
	if (resp == NULL) {
		mbuf_free(&b);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
	    METRICS_HTTP_CTYPE);
	r = MHD_queue_response(c, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return r;
}

/* Run MHD, then arm the timer for the next time it must run even if no
 * socket becomes ready: now, if it left work pending (its connection
 * sockets are edge-triggered), or when the oldest idle connection times
 * out. */
static void
metrics_http_run(struct metrics_http *h)
{
	struct itimerspec its = { { 0, 0 }, { 0, 0 } };
	MHD_UNSIGNED_LONG_LONG ms;

	MHD_run(h->mhd);
	if (MHD_get_timeout(h->mhd, &ms) == MHD_YES) {
		if (ms == 0)
			its.it_value.tv_nsec = 1;
		else {
			its.it_value.tv_sec = (time_t)(ms / 1000);
			its.it_value.tv_nsec = (long)(ms % 1000) * 1000000L;
		}
	}
	/* Cannot fail with a valid fd and value; the tick is the backstop. */
	(void)timerfd_settime(h->timerfd, 0, &its, NULL);
}

static void
metrics_http_on_mhd(void *arg, uint32_t events)
{
	(void)events;
	metrics_http_run(arg);
}

static void
metrics_http_on_timer(void *arg, uint32_t events)
{
	struct metrics_http *h = arg;
	uint64_t n;

	(void)events;
	while (read(h->timerfd, &n, sizeof(n)) > 0)
		;
	metrics_http_run(h);
}

void
metrics_http_tick(struct metrics_http *h)
{
	if (h != NULL)
		metrics_http_run(h);
}

int
metrics_http_open(struct evloop *loop, const char *listen,
    metrics_render fn, void *arg, struct metrics_http **ret, char *err,
    size_t errlen)
{
	const union MHD_DaemonInfo *info;
	struct sockaddr_storage ss;
	struct metrics_http *h;
	socklen_t sslen;
	int fd = -1, r;

	if (listen == NULL || metrics_parse_listen(listen, &ss, &sslen) < 0) {
		util_errf(err, errlen, "invalid listen address \"%s\": "
		    "expected IPV4:PORT or [IPV6]:PORT", listen ? listen : "");
		return -EINVAL;
	}
	if ((h = calloc(1, sizeof(*h))) == NULL) {
		util_errf(err, errlen, "cannot listen on %s: %s", listen,
		    strerror(ENOMEM));
		return -ENOMEM;
	}
	h->loop = loop;
	h->fn = fn;
	h->arg = arg;
	h->timerfd = -1;

	if ((r = metrics_listen_socket(&ss, sslen, &fd)) < 0) {
		util_errf(err, errlen, "cannot listen on %s: %s", listen,
		    strerror(-r));
		goto out;
	}
	h->timerfd = timerfd_create(CLOCK_MONOTONIC,
	    TFD_NONBLOCK | TFD_CLOEXEC);
	if (h->timerfd < 0) {
		r = -errno;
		util_errf(err, errlen, "cannot listen on %s: timerfd: %s",
		    listen, strerror(-r));
		goto out;
	}
	/* No MHD_USE_INTERNAL_POLLING_THREAD: MHD runs only when we call
	 * MHD_run(), from this loop's thread. */
	errno = 0;
	h->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0,
	    NULL, NULL, metrics_http_handle, h,
	    MHD_OPTION_EXTERNAL_LOGGER, metrics_http_log, NULL,
	    MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)METRICS_HTTP_MAXCONN,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)METRICS_HTTP_TIMEOUT,
	    MHD_OPTION_END);
	if (h->mhd == NULL) {
		r = errno != 0 ? -errno : -EIO;
		/* On some failure paths MHD has closed the socket already;
		 * nothing else runs in between that could reuse the number. */
		if (fcntl(fd, F_GETFD) >= 0)
			close(fd);
		fd = -1;
		util_errf(err, errlen, "cannot listen on %s: cannot start "
		    "the HTTP server: %s", listen, strerror(-r));
		goto out;
	}
	fd = -1;			/* MHD_stop_daemon() closes it */
	info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (info == NULL || info->epoll_fd < 0) {
		r = -EIO;
		util_errf(err, errlen, "cannot listen on %s: the HTTP server "
		    "has no epoll fd", listen);
		goto out;
	}
	if ((r = evloop_add(loop, info->epoll_fd, EPOLLIN,
	    metrics_http_on_mhd, h, &h->src_mhd)) < 0 ||
	    (r = evloop_add(loop, h->timerfd, EPOLLIN, metrics_http_on_timer,
	    h, &h->src_timer)) < 0) {
		util_errf(err, errlen, "cannot listen on %s: epoll: %s",
		    listen, strerror(-r));
		goto out;
	}
	*ret = h;
	return 0;
out:
	if (fd >= 0)
		close(fd);
	metrics_http_close(h);
	return r;
}

void
metrics_http_close(struct metrics_http *h)
{
	if (h == NULL)
		return;
	evloop_del(h->loop, h->src_mhd);
	evloop_del(h->loop, h->src_timer);
	if (h->mhd != NULL)
		MHD_stop_daemon(h->mhd);
	if (h->timerfd >= 0)
		close(h->timerfd);
	free(h);
}
