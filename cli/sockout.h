/* Renderers for socket lists: an aligned table, or a JSON array. */
#ifndef SW_SOCKOUT_H
#define SW_SOCKOUT_H

#include <stdio.h>

#include "../monitor/proc.h"
#include "../monitor/sockdiag.h"

enum sockout_view {
	SOCKOUT_SOCKETS,		/* like ss: one connection per line */
	SOCKOUT_LISTENERS,		/* the audit view */
};

/* The processes holding the idx-th socket of the list being rendered. */
typedef size_t (*sockout_owners_fn)(const void *arg, size_t idx,
    struct proc_owner *ret_owners, size_t max);

struct sockout_opts {
	enum sockout_view view;
	int extended;			/* uid, inode, cookie, interface */
	/* Where processes come from; neither set: no process column. */
	const struct procmap *procs;
	sockout_owners_fn owners;
	const void *owners_arg;
};

int sockout_text(FILE *f, const struct socklist *l,
    const struct sockout_opts *o);
int sockout_json(FILE *f, const struct socklist *l,
    const struct sockout_opts *o);

#endif
