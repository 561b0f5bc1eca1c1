#include "evloop.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#define EVLOOP_BATCH 64

struct evsource {
	int fd;
	evloop_cb cb;
	void *arg;
	bool dead;
	struct evsource *next_dead;
};

struct evloop {
	int epfd;
	bool dispatching;
	struct evsource *dead;		/* freed after the current batch */
};

int
evloop_new(struct evloop **ret_loop)
{
	struct evloop *loop;

	if ((loop = calloc(1, sizeof(*loop))) == NULL)
		return -ENOMEM;
	if ((loop->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		free(loop);
		return -errno;
	}
	*ret_loop = loop;
	return 0;
}

static void
evloop_reap(struct evloop *loop)
{
	struct evsource *s;

	while ((s = loop->dead) != NULL) {
		loop->dead = s->next_dead;
		free(s);
	}
}

void
evloop_free(struct evloop *loop)
{
	if (loop == NULL)
		return;
	evloop_reap(loop);
	close(loop->epfd);
	free(loop);
}

int
evloop_add(struct evloop *loop, int fd, uint32_t events, evloop_cb cb,
    void *arg, struct evsource **ret_src)
{
	struct epoll_event ev = { .events = events };
	struct evsource *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return -ENOMEM;
	s->fd = fd;
	s->cb = cb;
	s->arg = arg;
	ev.data.ptr = s;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		free(s);
		return -errno;
	}
	if (ret_src != NULL)
		*ret_src = s;
	return 0;
}

int
evloop_mod(struct evloop *loop, struct evsource *src, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = src };

	if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, src->fd, &ev) < 0)
		return -errno;
	return 0;
}

void
evloop_del(struct evloop *loop, struct evsource *src)
{
	if (src == NULL || src->dead)
		return;
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, src->fd, NULL);
	src->dead = true;
	if (loop->dispatching) {
		src->next_dead = loop->dead;
		loop->dead = src;
	} else
		free(src);
}

int
evloop_run_once(struct evloop *loop, int timeout_ms)
{
	struct epoll_event ev[EVLOOP_BATCH];
	struct evsource *s;
	int n, i, ran = 0;

	n = epoll_wait(loop->epfd, ev, EVLOOP_BATCH, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	loop->dispatching = true;
	for (i = 0; i < n; i++) {
		s = ev[i].data.ptr;
		if (s->dead)
			continue;
		s->cb(s->arg, ev[i].events);
		ran++;
	}
	loop->dispatching = false;
	evloop_reap(loop);
	return ran;
}
