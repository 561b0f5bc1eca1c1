#include "capstate.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

bool
capstate_wants(const struct capstate_if *i)
{
	return i->link != 0 && i->link_up && i->captured != i->link;
}

/* The state follows the link and the handle; a change is reported. */
static void
capstate_eval(struct capstate *cs, struct capstate_if *i, int64_t now)
{
	bool up = i->link != 0 && i->link_up && i->captured == i->link;

	if (up == i->up)
		return;
	i->up = up;
	if (up && i->was_up) {
		i->gaps++;
		i->last_gap_ms = now - i->since_ms;
	}
	i->since_ms = now;
	if (cs->cb != NULL)
		cs->cb(cs->arg, i, !up ? CAPSTATE_DOWN : i->was_up ?
		    CAPSTATE_BACK : CAPSTATE_UP);
	if (up)
		i->was_up = true;
}

int
capstate_init(struct capstate *cs, char *const *names, size_t n,
    int64_t now, capstate_cb cb, void *arg)
{
	struct capstate_if *i;
	size_t k;

	if (n > CAPSTATE_MAX)
		return -E2BIG;
	memset(cs, 0, sizeof(*cs));
	cs->n = n;
	cs->cb = cb;
	cs->arg = arg;
	for (k = 0; k < n; k++) {
		i = &cs->v[k];
		snprintf(i->name, sizeof(i->name), "%s", names[k]);
		i->since_ms = now;
		if (strcmp(names[k], "any") == 0) {
			i->link = CAPSTATE_ANY;
			i->link_up = true;
		}
	}
	return 0;
}

/* A change of the link: its retries start again. */
static void
capstate_set(struct capstate *cs, struct capstate_if *i, int ifindex,
    bool up, int64_t now)
{
	i->link = ifindex;
	i->link_up = ifindex != 0 && up;
	i->tries = 0;
	i->retry_ms = 0;
	capstate_eval(cs, i, now);
}

void
capstate_link(struct capstate *cs, const char *name, int ifindex, bool up,
    int64_t now)
{
	struct capstate_if *i;
	size_t k;

	for (k = 0; k < cs->n; k++) {
		i = &cs->v[k];
		if (i->link == CAPSTATE_ANY)
			continue;
		if (strcmp(i->name, name) != 0) {
			/* Our index under another name: renamed away. */
			if (ifindex != 0 && ifindex == i->link)
				capstate_set(cs, i, 0, false, now);
			continue;
		}
		if (ifindex != i->link || up != i->link_up)
			capstate_set(cs, i, ifindex, up, now);
	}
}

void
capstate_captured(struct capstate *cs, const int *ifindex, size_t n,
    int64_t now)
{
	size_t k;

	for (k = 0; k < cs->n; k++) {
		cs->v[k].captured = k < n ? ifindex[k] : 0;
		capstate_eval(cs, &cs->v[k], now);
	}
}

bool
capstate_restart_due(const struct capstate *cs, int64_t now)
{
	size_t k;

	if (cs->last_restart_ms != 0 &&
	    now - cs->last_restart_ms < CAPSTATE_RESTART_MIN_MS)
		return false;
	for (k = 0; k < cs->n; k++)
		if (capstate_wants(&cs->v[k]) && !capstate_gave_up(&cs->v[k]) &&
		    now >= cs->v[k].retry_ms)
			return true;
	return false;
}

bool
capstate_gave_up(const struct capstate_if *i)
{
	return capstate_wants(i) && i->tries >= CAPSTATE_TRIES_MAX;
}

void
capstate_restarted(struct capstate *cs, int64_t now)
{
	struct capstate_if *i;
	int64_t delay;
	size_t k;

	cs->last_restart_ms = now;
	for (k = 0; k < cs->n; k++) {
		i = &cs->v[k];
		if (!capstate_wants(i))
			continue;
		delay = (int64_t)CAPSTATE_RETRY_MS << (i->tries < 6 ? i->tries :
		    6);
		if (delay > CAPSTATE_RETRY_MAX_MS)
			delay = CAPSTATE_RETRY_MAX_MS;
		i->tries++;
		i->retry_ms = now + delay;
	}
}

size_t
capstate_up(const struct capstate *cs)
{
	size_t k, n = 0;

	for (k = 0; k < cs->n; k++)
		n += cs->v[k].up;
	return n;
}
