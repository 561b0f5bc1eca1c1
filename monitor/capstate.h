/* Which configured capture interfaces are watched right now, and since
 * when: what the kernel says of each name (its link) against what the
 * packet inspector's handles are bound to. Capture on a name is up when
 * a handle is bound to the index the name has now and the link is up; a
 * deleted and re-created interface has a new index, so its old handle
 * counts for nothing. Pure: the caller feeds link events and the
 * inspector's reports, and asks when a new inspector is due. */
#ifndef SW_CAPSTATE_H
#define SW_CAPSTATE_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CAPSTATE_MAX		16	/* interfaces */
#define CAPSTATE_ANY		(-1)	/* "any": no link of its own */
/* New handles are tried at most this often... */
#define CAPSTATE_RESTART_MIN_MS	1000
/* ... and for a link that did not change since, after a failed try, at
 * this delay doubled per try, up to the maximum, and not after the last
 * try (each new inspector forgets what the detectors saw): a change of
 * the link starts the tries again. */
#define CAPSTATE_RETRY_MS	1000
#define CAPSTATE_RETRY_MAX_MS	60000
#define CAPSTATE_TRIES_MAX	8

enum capstate_change {
	CAPSTATE_UP,			/* up for the first time */
	CAPSTATE_DOWN,
	CAPSTATE_BACK,			/* up again after a gap */
};

struct capstate_if {
	char name[IF_NAMESIZE];
	int link;			/* the name's index now; 0: none */
	bool link_up;			/* IFF_UP */
	int captured;			/* a handle's index; 0: none */
	bool up;
	bool was_up;			/* up at some time */
	int64_t since_ms;		/* of the state it is in */
	uint64_t gaps;			/* times it came back */
	int64_t last_gap_ms;
	unsigned int tries;		/* with no link change in between */
	int64_t retry_ms;		/* no try before */
};

typedef void (*capstate_cb)(void *arg, const struct capstate_if *i,
    enum capstate_change c);

struct capstate {
	struct capstate_if v[CAPSTATE_MAX];
	size_t n;
	int64_t last_restart_ms;
	capstate_cb cb;
	void *arg;
};

/* Every name down since now ("any" is a link always up). 0, or -E2BIG
 * past CAPSTATE_MAX names. */
int capstate_init(struct capstate *cs, char *const *names, size_t n,
    int64_t now, capstate_cb cb, void *arg);
/* What the kernel says of a name (ifindex 0: it is gone). A name not
 * configured matters only when it has the index of one that is (that one
 * was renamed away); a change ends the backoff of its retries. */
void capstate_link(struct capstate *cs, const char *name, int ifindex,
    bool up, int64_t now);
/* The inspector's handles, one index per configured name in order (0:
 * none); all zero when it is gone. */
void capstate_captured(struct capstate *cs, const int *ifindex, size_t n,
    int64_t now);
/* Is a new inspector due now: a name whose link is up but not captured,
 * its retry time passed, and none started in the last RESTART_MIN_MS? */
bool capstate_restart_due(const struct capstate *cs, int64_t now);
/* Does this name wait for a handle (its link up, not captured)? */
bool capstate_wants(const struct capstate_if *i);
/* ... and will it wait for a change of its link (tries used up)? */
bool capstate_gave_up(const struct capstate_if *i);
/* One was started now: the names it was for wait longer next time. */
void capstate_restarted(struct capstate *cs, int64_t now);
/* How many names are captured now. */
size_t capstate_up(const struct capstate *cs);

#endif
