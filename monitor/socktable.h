/* The live socket table: the last full dump, keyed by socket cookie, and
 * the difference each new dump makes (opened, closed, changed state). */
#ifndef SW_SOCKTABLE_H
#define SW_SOCKTABLE_H

#include <stddef.h>
#include <stdint.h>

#include "sockdiag.h"

enum socktable_event {
	SOCKTABLE_OPEN,
	SOCKTABLE_CLOSE,
	SOCKTABLE_STATE,		/* same socket, new state or ends */
};

/* s is valid only during the call; so is old, the socket as it was
 * before, for STATE (NULL for the others). */
typedef void (*socktable_cb)(void *arg, enum socktable_event ev,
    const struct sock_info *s, const struct sock_info *old);

struct socktable;

int socktable_new(struct socktable **ret_table);
void socktable_free(struct socktable *t);

/* Make the table equal to dump (which is consumed: its array is taken
 * over and dump is left empty), calling cb for every difference. 0 or
 * -ENOMEM (then the table is unchanged). */
int socktable_sync(struct socktable *t, struct socklist *dump,
    socktable_cb cb, void *arg);

/* Drop one socket (a destroy notification); cb(CLOSE) if it was there. */
void socktable_remove(struct socktable *t, uint64_t cookie, socktable_cb cb,
    void *arg);

size_t socktable_count(const struct socktable *t);
/* Every socket, in no particular order. */
const struct sock_info *socktable_at(const struct socktable *t, size_t i);

#endif
