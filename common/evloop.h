/* One epoll loop per process: every fd a process watches is registered
 * here with a callback, and callbacks run on the loop's thread only.
 * Timers are timerfds registered like any fd. (The daemon's few helper
 * threads, the reconcile dump and a big store write, hand their results
 * back through an fd or are joined before the callback returns; they
 * never call into a loop.) */
#ifndef SW_EVLOOP_H
#define SW_EVLOOP_H

#include <stdint.h>
#include <sys/epoll.h>

struct evloop;
struct evsource;

/* Called with the epoll events (EPOLLIN, EPOLLOUT, EPOLLHUP, ...). */
typedef void (*evloop_cb)(void *arg, uint32_t events);

int evloop_new(struct evloop **ret_loop);
void evloop_free(struct evloop *loop);

/* Watch fd for events; the loop never closes fd. 0 or -errno. A source
 * may be removed from inside any callback, its own included. */
int evloop_add(struct evloop *loop, int fd, uint32_t events, evloop_cb cb,
    void *arg, struct evsource **ret_src);
int evloop_mod(struct evloop *loop, struct evsource *src, uint32_t events);
void evloop_del(struct evloop *loop, struct evsource *src);

/* Wait up to timeout_ms (-1: forever) and dispatch what is ready.
 * Returns the number of callbacks run, or -errno (EINTR is 0). */
int evloop_run_once(struct evloop *loop, int timeout_ms);

#endif
