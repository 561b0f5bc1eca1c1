/* The ban manager: the bans in force, how long a new one lasts
 * (escalation for repeat offenders), who must never be banned
 * (anti-lockout), and subnet aggregation. Pure logic with an injected
 * clock: no I/O, no kernel, no store — the daemon writes each decision to
 * the store and to nftables (policy/nft.h). */
#ifndef SW_BANS_H
#define SW_BANS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/addr.h"

#define BAN_REASON_MAX	128
#define BAN_SOURCE_MAX	16
#define BAN_PROCS_MAX	128

/* What a zero in the policy means. */
#define BANS_DEFAULT_MS		(3600ULL * 1000)	/* default_ms 0 */
#define BANS_MAX_MS		(7 * 86400ULL * 1000)	/* max_ms 0 */
#define BANS_HISTORY_MAX	1000000		/* history_max 0 */

struct ban {
	struct cidr peer;		/* a host (/32, /128) or a prefix */
	char reason[BAN_REASON_MAX];	/* for humans */
	char source[BAN_SOURCE_MAX];	/* detector kind, "manual", "denylist" */
	int64_t created_ms;		/* ms on the caller's clock (the
					 * daemon's steady one, timeutil.h) */
	int64_t expires_ms;		/* the same; 0: permanent */
	uint32_t count;			/* earlier bans of this peer */
	uint32_t sockets_closed;	/* by SOCK_DESTROY when banned */
	char procs[BAN_PROCS_MAX];	/* "sshd[812],nginx[90]" held them */
};

/* From the [bans] section. */
struct bans_policy {
	uint64_t default_ms;		/* a ban with no length of its own */
	uint64_t recidive_window_ms;	/* banned again within: escalate */
	double escalate;		/* factor on the previous length */
	uint64_t max_ms;		/* cap of escalated lengths */
	unsigned int aggregate_v4;	/* prefix length; 0: off */
	unsigned int aggregate_v6;
	unsigned int aggregate_threshold; /* hosts of one prefix banned;
					   * 0: off */
	size_t history_max;		/* peers remembered; 0: the default */
};

/* Why a ban is refused (anti-lockout). */
enum ban_refusal {
	BAN_OK,
	BAN_LOOPBACK,			/* loopback, or covers it */
	BAN_OWN,			/* one of the host's own addresses */
	BAN_ALLOWED,			/* overlaps [allow] peers */
	BAN_PROTECTED,			/* holds a session to a [bans] protect
					 * process older than the attack */
};
const char *ban_refusal_reason(enum ban_refusal r);

/* Anti-lockout for peer (a host or a prefix): refused when it is or
 * covers loopback, one of own[] or overlaps one of allow[]; otherwise
 * BAN_PROTECTED when protected_session (the caller found the session),
 * else BAN_OK. */
enum ban_refusal bans_check(const struct cidr *peer,
    const struct addr *own, size_t nown,
    const struct cidr *allow, size_t nallow, bool protected_session);

/* The canonical form of a peer, the key of every table here and in the
 * store: an IPv4-mapped IPv6 prefix of length 96 or more becomes the IPv4
 * prefix it means (as the kernel sees such a peer), host bits are
 * cleared, unused bytes zeroed. -EINVAL for a bad family or length. */
int bans_key(const struct cidr *peer, struct cidr *ret_key);

struct bans;

/* Hash tables are keyed with getrandom() so that peers cannot pick
 * colliding addresses. */
int bans_new(const struct bans_policy *p, struct bans **ret_bans);
void bans_free(struct bans *b);
/* A reload. 0, or -ENOMEM and the old policy is kept (new aggregation
 * lengths recount the bans in force). */
int bans_set_policy(struct bans *b, const struct bans_policy *p);

/* The past: the last ban of a peer (from the store at start), so that
 * escalation survives restarts. Merged with what is known: the newer
 * ban's time and length, the larger count. At history_max peers, those
 * whose last ban is older than the recidive window are forgotten, then
 * if need be the oldest quarter (counted in bans_history_evicted).
 * 0, -EINVAL or -ENOMEM. length_ms 0: that ban was permanent. */
int bans_history_add(struct bans *b, const struct cidr *peer,
    int64_t created_ms, uint64_t length_ms, uint32_t count);

/* The length of a new ban of peer at now_ms. base_ms is the detector's
 * ban length (0: the policy's default). If the peer's last ban began
 * within the recidive window, the length is that ban's length times
 * escalate (a permanent one: max), capped at max, and at least base (a
 * base above max is kept: only escalation is capped). *ret_count (may be
 * NULL) gets the number of earlier bans known. Never 0 (permanent). */
uint64_t bans_length(const struct bans *b, const struct cidr *peer,
    uint64_t base_ms, int64_t now_ms, uint32_t *ret_count);

/* Record a ban in force (replacing one of the same peer) and in the
 * history, keyed by bans_key(ban->peer). Its length for escalation is
 * expires - created (0 if permanent); the history count becomes at least
 * ban->count + 1, and grows by one for a ban newer than the last known,
 * so putting the same ban again (a restart) changes nothing.
 * 0, -EINVAL or -ENOMEM. */
int bans_put(struct bans *b, const struct ban *ban);
/* Remove a ban of exactly this peer. 0, or -ENOENT. The removed ban is
 * copied to ret (may be NULL). */
int bans_del(struct bans *b, const struct cidr *peer, struct ban *ret);
/* The ban of exactly this peer, or NULL; valid until the next change. */
const struct ban *bans_get(const struct bans *b, const struct cidr *peer);
/* Is a covered by a ban in force (host or prefix)? One hash lookup per
 * distinct prefix length in force for a's family (an IPv4-mapped
 * address looks up as IPv4). Ignores expiry: see bans_expire. */
bool bans_covers(const struct bans *b, const struct addr *a);

/* Remove the bans that have expired by now_ms (expires_ms != 0 and
 * <= now_ms), calling fn (may be NULL; must not change b) for each before
 * it is removed. Returns how many. Cheap when nothing is due. */
size_t bans_expire(struct bans *b, int64_t now_ms,
    void (*fn)(const struct ban *ban, void *arg), void *arg);

/* The bans in force, in no particular order; valid until the next
 * change. */
size_t bans_count(const struct bans *b);
const struct ban *bans_at(const struct bans *b, size_t i);

/* Orders of the bans in force, each with ties to the lower address:
 * permanent first then the latest to expire, the newest, by address, the
 * most earlier bans. */
enum bans_sort {
	BANS_SORT_LEFT,
	BANS_SORT_CREATED,
	BANS_SORT_ADDRESS,
	BANS_SORT_COUNT,
};
/* "left", "created", "address", "count". 0 or -EINVAL. */
int bans_sort_parse(const char *name, enum bans_sort *ret_sort);
/* The first n bans in force in order by among those match (may be NULL:
 * all) accepts, into ret (room for n), first first; returns how many.
 * *ret_matched gets how many match accepted. O(count log n). */
size_t bans_top(const struct bans *b, enum bans_sort by,
    bool (*match)(const struct ban *ban, void *arg), void *arg,
    const struct ban **ret, size_t n, size_t *ret_matched);

/* Aggregation: with a host a just banned, if aggregation is on for its
 * family and at least aggregate_threshold hosts inside its prefix are
 * banned (and neither the prefix nor a prefix covering it is banned yet),
 * return true and the prefix. Counts are kept per prefix on put and del. */
bool bans_aggregate(const struct bans *b, const struct addr *a,
    struct cidr *ret_prefix);

/* The history's size, and peers forgotten for lack of room. */
size_t bans_history_count(const struct bans *b);
uint64_t bans_history_evicted(const struct bans *b);

#endif
