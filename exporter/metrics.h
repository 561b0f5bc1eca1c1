/* Prometheus text exposition (format 0.0.4): a small builder, and an
 * optional HTTP listener (libmicrohttpd driven from our epoll loop, no
 * extra thread) serving GET /metrics. */
#ifndef SW_METRICS_H
#define SW_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "../common/evloop.h"

/* A growable text buffer. Zero-initialise. After an append buf is
 * NUL-terminated (the NUL is not counted in len). */
struct mbuf {
	char *buf;
	size_t len, cap;
	int oom;			/* set once an allocation failed */
};

void mbuf_free(struct mbuf *b);
/* Append n bytes / formatted text. Once oom is set, appends do nothing. */
void mbuf_add(struct mbuf *b, const void *p, size_t n);
void mbuf_printf(struct mbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* "# HELP name help" and "# TYPE name type" (type: counter, gauge).
 * help is escaped (backslash, newline); NULL help or type omits its line.
 * Metric and label names are the caller's constants, written as is. */
void metrics_family(struct mbuf *b, const char *name, const char *type,
    const char *help);
/* One sample. labels is NULL or a NULL-terminated list of key, value
 * pairs; values are escaped as the format requires. Integral values print
 * as integers ("12345678"), others in the shortest form that reads back
 * exactly; infinities and NaN as "+Inf", "-Inf", "NaN". */
void metrics_sample(struct mbuf *b, const char *name,
    const char *const *labels, double value);

/* Fill b with the current metrics; called for each scrape. */
typedef void (*metrics_render)(void *arg, struct mbuf *b);

struct metrics_http;

/* listen is "host:port" ("127.0.0.1:9464", "[::1]:9464"), literal
 * addresses only, port 1-65535. Serves GET (and HEAD) /metrics by calling
 * fn; other paths 404, other methods 405. On failure returns -errno and
 * writes a message to err ("cannot listen on 127.0.0.1:9464: Address
 * already in use"). */
int metrics_http_open(struct evloop *loop, const char *listen,
    metrics_render fn, void *arg, struct metrics_http **ret, char *err,
    size_t errlen);
/* Let the HTTP server run its housekeeping (idle connection timeouts);
 * call once per daemon tick. The listener also keeps its own timerfd,
 * so this is a safety net, not a requirement for correctness. */
void metrics_http_tick(struct metrics_http *h);
/* Stop serving: closes the listener and every open connection. */
void metrics_http_close(struct metrics_http *h);

#endif
