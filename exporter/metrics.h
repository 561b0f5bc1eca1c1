/* Prometheus text exposition (format 0.0.4): a small builder, and an
 * optional HTTP listener (libmicrohttpd driven from our epoll loop, no
 * extra thread) serving GET /metrics. */
#ifndef SW_METRICS_H
#define SW_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "../common/evloop.h"

/* A growable text buffer. Zero-initialise. */
struct mbuf {
	char *buf;
	size_t len, cap;
	int oom;			/* set once an allocation failed */
};

void mbuf_free(struct mbuf *b);

/* "# HELP name help" and "# TYPE name type" (type: counter, gauge). */
void metrics_family(struct mbuf *b, const char *name, const char *type,
    const char *help);
/* One sample. labels is NULL or a NULL-terminated list of key, value
 * pairs; values are escaped as the format requires. */
void metrics_sample(struct mbuf *b, const char *name,
    const char *const *labels, double value);

/* Fill b with the current metrics; called for each scrape. */
typedef void (*metrics_render)(void *arg, struct mbuf *b);

struct metrics_http;

/* listen is "host:port" ("127.0.0.1:9464", "[::1]:9464"). */
int metrics_http_open(struct evloop *loop, const char *listen,
    metrics_render fn, void *arg, struct metrics_http **ret, char *err,
    size_t errlen);
void metrics_http_close(struct metrics_http *h);

#endif
