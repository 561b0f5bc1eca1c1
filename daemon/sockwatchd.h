/* sockwatchd's shared state, and the functions its files offer each
 * other. Only daemon/ includes this. */
#ifndef SW_SOCKWATCHD_H
#define SW_SOCKWATCHD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "../common/evloop.h"
#include "../common/ipc.h"
#include "../common/util.h"
#include "../exporter/control.h"
#include "../exporter/metrics.h"
#include "../exporter/sinks.h"
#include "../exporter/store.h"
#include "../monitor/capstate.h"
#include "../monitor/capture.h"
#include "../monitor/decode.h"
#include "../monitor/proc.h"
#include "../monitor/sockdiag.h"
#include "../monitor/socktable.h"
#include "../policy/alert.h"
#include "../policy/bans.h"
#include "../policy/config.h"
#include "../policy/detect.h"
#include "../policy/nft.h"
#include "../policy/prefixset.h"
#include "../policy/traffic.h"

#define SW_VERSION	"0.1.0"
#define SW_TICK_MS	200	/* store and sink flushes, timers */
#define SW_RING_MAX	1024	/* recent alerts kept in memory */
#define SW_KINDS_MAX	16
#define SW_CAPTURES_MAX	16
#define SW_ALERT_RATE	100	/* alerts a second, sustained */
#define SW_ALERT_BURST	1000

struct sw;
struct export;
struct inspect;
struct capwatch;
struct authlog;
struct crowdsec;
struct privdrop_user;

/* What the inspector reports every tick (IPC_STATS). */
struct inspect_stats {
	struct capture_stats cap;	/* all handles together */
	struct traffic_counters traffic;
	uint64_t cap_packets;		/* handed to the decoder */
	uint64_t decode_errors[-DECODE_RESULT_MIN + 1];
	uint64_t log_dropped;		/* its log lines over the rate */
};

/* The inspector's handles (IPC_CAPTURES): the interface index each
 * name of [daemon] interfaces is captured on, in order; 0 for none,
 * CAPSTATE_ANY for "any". */
struct inspect_captures {
	int32_t ifindex[SW_CAPTURES_MAX];
};

/* What the exporter reports when it changes (IPC_CONTROL_STATS). */
struct export_stats {
	struct control_stats control;
	uint64_t clients, subscribers;
};

/* What the CrowdSec client reports when it changes (IPC_CS_STATE): each
 * direction's health, and its counters. */
struct crowdsec_link {
	int64_t delay_ms;		/* the backoff; 0: all well */
	int64_t ok_ms;			/* wall time of the last success */
	uint64_t errors;
	char error[256];		/* the last one, "" when all well */
};
struct crowdsec_state {
	struct crowdsec_link poll, push;
	uint64_t polls;			/* answers asked for */
	uint64_t pushed, dropped, queued;	/* our alerts */
	/* unblocked peers: our decisions deleted, peers waiting, peers
	 * given up (a full queue, or the API kept listing them) */
	uint64_t withdrawn, withdraw_queued, withdraw_dropped;
};

_Static_assert(SW_CAPTURES_MAX == CAPSTATE_MAX, "one limit");
_Static_assert(sizeof(struct inspect_stats) <= IPC_FIXED_MAX &&
    sizeof(struct export_stats) <= IPC_FIXED_MAX &&
    sizeof(struct crowdsec_state) <= IPC_FIXED_MAX, "a fixed IPC payload");

struct sw_counters {
	uint64_t scans, resyncs, enobufs;
	uint64_t ev_open, ev_close, ev_state;
	uint64_t events_dropped;	/* subscribers dropped as too slow */
	uint64_t alerts;
	uint64_t alerts_suppressed;	/* over the global rate */
	uint64_t reloads_ok, reloads_failed;
	uint64_t store_dropped;
	struct {
		char kind[16];
		uint64_t n;
	} by_kind[SW_KINDS_MAX];
};

/* A ban decided, waiting for the store and the kernel (enforce.c). */
struct enforce_pending {
	struct ban ban;
	uint64_t length_ms;		/* 0: permanent */
	bool kill;			/* end its sockets */
	bool replace;			/* the peer was banned already */
};

/* Ban writes the database has not taken yet (banq.c). */
struct sw_banq {
	struct store_ban_op *op;	/* in order; times are wall time */
	size_t n, cap;
	int64_t next_ms;		/* monotonic: the next try */
	int64_t delay_ms;		/* the backoff; 0: all written */
	int64_t since_ms;		/* monotonic: the first failure */
	int error;			/* -errno of the last failure */
	bool resync;			/* rewrite the table from memory */
	int64_t step_ms;		/* time_step_ms() at the last look */
	uint64_t writes, failures, rewrites;
};

struct sw_enforce {
	struct bans *bans;		/* NULL: no bans (--replay) */
	struct nft *nft;		/* NULL: nothing is blocked */
	struct nft_monitor *mon;
	struct evsource *mon_src;
	struct prefixset *connect;	/* [connect] deny destinations */
	struct prefixset *remotes;	/* peers of the socket table, cached */
	int64_t remotes_ms;
	struct addr *own;		/* the host's addresses, cached */
	size_t nown;
	int64_t own_ms;
	struct enforce_pending *pending;
	size_t npending, cappending;
	void *scratch;			/* enforce_flush's arrays */
	size_t scratch_cap;
	int64_t next_reconcile_ms;	/* monotonic */
	bool repair;			/* someone changed our table */
	bool retry;			/* a change failed: reconcile */
	struct reconcile_job *job;	/* the ban sets being read */
	bool reconcile_again;		/* asked for while job ran */
	uint64_t changes;		/* ban batches sent to the kernel */
	struct cidr *gone;		/* bans lifted while job ran */
	size_t ngone, capgone;
	bool flush_failed;		/* the last flush's kernel part */
	bool ahead_failed;		/* an enforce_flush_ahead's, since
					 * the last enforce_commit */
	struct store_job *writer;	/* a flush's database write, still
					 * running after enforce_flush_ahead */
	struct {
		uint64_t bans, refused, expired;
		uint64_t nft_errors, kill_errors;
		uint64_t reconciles, repairs;
		uint64_t sockets_closed, connect_blocked;
		uint64_t spoofed;	/* not banned: spoof suspected */
		uint64_t rate_limited;	/* not banned: over [bans] rate */
	} n;
	struct infra_entry *infra;	/* gateways, resolvers, link-local */
	size_t ninfra;
	int64_t infra_ms;
	struct tokens ban_tokens;	/* automatic bans ([bans] rate) */
	uint64_t held_rate, held_full;	/* held back since the last alert */
	int64_t held_ms;
};

struct sw {
	struct config *cfg;
	const char *cfg_path;		/* NULL: the embedded default */
	bool foreground;
	bool watchdog;			/* systemd's WatchdogSec is set */
	volatile bool stop;
	bool ready;			/* set up: commands may be answered */

	struct evloop *loop;
	struct sockdiag *sd;
	struct sockdiag_events *events;
	struct evsource *events_src;
	struct socktable *table;
	struct scan_quiet *quiet;	/* skipping dumps (scan.c) */
	bool resync;			/* a full dump is due at once */
	int64_t next_scan_ms;		/* monotonic */
	struct socklist new_listeners;	/* waiting for attribution */

	/* Traffic inspection, in a child process (inspect.c). */
	const char *replay;		/* --replay FILE instead of capture */
	struct inspect *insp;		/* NULL: capture is off */
	struct capwatch *capw;		/* NULL: capture is off or replayed */
	struct authlog *alog;		/* NULL: [bruteforce] log is off */

	struct sw_enforce enf;
	struct crowdsec *cs;		/* CrowdSec's Local API (crowdsec.c) */

	struct store *store;		/* NULL: running without one */
	char store_note[384];		/* why not, or what was done */
	struct sw_banq banq;
	struct sinks *sinks;
	struct export *exp;		/* the exporter child (export.c) */
	struct procmap *reader_procs;	/* readers' attribution, reused */
	int64_t reader_procs_ms;
	int timer_fd, signal_fd, lock_fd;
	struct evsource *timer_src, *signal_src;

	uint64_t next_alert_id;
	int64_t prune_next_ms;		/* alerts_prune, monotonic */
	struct tokens alert_tokens;	/* alerts_admit */
	json_t *ring[SW_RING_MAX];	/* alert objects, oldest first */
	unsigned int ring_len, ring_head;

	int64_t start_mono_ms, start_wall_ms;
	uint64_t netns;			/* inode of our network namespace */
	int64_t last_reload_ms;
	bool last_reload_ok;
	char last_reload_error[600];
	struct sw_counters n;
};

/* authlog.c: [bruteforce] log, sshd's log as a brute-force signal. */
struct authlog_stats {
	uint64_t bytes;			/* read and handed to the inspector */
	uint64_t opened, rotations, truncations, open_errors;
	uint64_t events;		/* lines that reported a login or not */
	uint64_t unchecked;		/* over the rate of kernel checks */
	uint64_t unverified;		/* no such connection: not counted */
	uint64_t forgiven;		/* logins that forgave failures */
	uint64_t alerts, dropped;
};

int authlog_open(struct sw *sw);
void authlog_close(struct sw *sw);
int authlog_reload(struct sw *sw);
void authlog_tick(struct sw *sw, int64_t now_mono);
void authlog_closed(struct sw *sw, const struct sock_info *s);
void authlog_event(struct sw *sw, const struct ipc_msg *m);
void authlog_stats(const struct sw *sw, struct authlog_stats *ret);
json_t *authlog_json(const struct sw *sw);

/* scan.c: the live socket table. */
struct scan_stats {
	uint64_t full;			/* full dumps */
	uint64_t skipped;		/* due, skipped: no counter moved */
	uint64_t forced;		/* due to full_scan_interval alone */
	uint64_t checks;		/* counter reads that could skip one */
	uint64_t check_errors;		/* counters unreadable: dumped */
};
int scan_open(struct sw *sw);
void scan_close(struct sw *sw);
void scan_tick(struct sw *sw, int64_t now_mono);
void scan_stats(const struct sw *sw, struct scan_stats *ret);
/* Read the destroy notifications waiting, now (else the loop does). */
void scan_events(struct sw *sw);

/* child.c: the confined children, both sides (see its opening). */
struct ipc_msg;
struct child_ops {
	const char *name;		/* "packet inspector", for the log */
	const char *kind;		/* the alert kind when it dies */
	uint32_t accept;		/* IPC_BIT()s it may send */
	/* Its deaths never end the daemon (its work is not the host's
	 * protection from what it sees): restarted, backing off. */
	bool expendable;
	/* It keeps the secrets of key files (else zeroed at its fork). */
	bool secrets;
	/* In the new process, after the fork; must not return. */
	void (*run)(void *arg, int fd, pid_t parent);
	/* In the parent: a message other than hello, fail and log. */
	void (*message)(void *arg, const struct ipc_msg *m);
	/* In the parent: after each batch of messages (may be NULL). */
	void (*after)(void *arg);
	/* In the parent: the child is gone, asked or not (may be NULL). */
	void (*gone)(void *arg);
};

struct child {
	struct sw *sw;
	const struct child_ops *ops;
	void *arg;
	pid_t pid;			/* 0: not running */
	int fd, pidfd;
	struct evsource *fd_src, *pid_src;
	uint32_t events;		/* what fd_src watches */
	struct ipc_reader rd;
	struct ipc_outq out;		/* to the child, not written yet */
	bool hello, failed, closing;
	bool no_restart;		/* a death is reported, that is all */
	char fail[512];			/* its IPC_FAIL text */
	int64_t started_ms;		/* monotonic */
	int64_t next_start_ms;		/* 0: no restart due */
	unsigned int fails;		/* quick deaths in a row */
	uint64_t restarts, deaths;
};

void child_init(struct child *c, struct sw *sw, const struct child_ops *ops,
    void *arg);
/* Fork and wait for its hello. 0, or -errno with the reason logged. */
int child_start(struct child *c);
/* Handle what it sent and is waiting to be read, now (before a planned
 * stop: its last alerts are not lost). */
void child_drain(struct child *c);
/* End it; no restart, no alert. */
void child_stop(struct child *c);
/* End it and start a new one at once (a reload). */
int child_restart(struct child *c);
/* Queue a message to the child and write what its socket takes; the rest
 * goes when there is room, the loop never waits. A child that lets too
 * much wait is ended. 0 or -errno. */
int child_send(struct child *c, enum ipc_type type, const void *a,
    size_t alen, const void *b, size_t blen);
/* A child that misbehaved: ended, and restarted like one that died. */
void child_kill(struct child *c);
void child_tick(struct child *c, int64_t now_mono);
bool child_running(const struct child *c);
/* Read and handle its messages until *flag is set (or it fails, or dies,
 * or ms pass; -1: no limit). 0 or -errno. */
int child_wait(struct child *c, const bool *flag, int ms);
/* In the child, first thing: log lines go to the parent, the parent's
 * death ends us, every descriptor not in keep (nor stdio) is closed. */
void child_begin(int fd, pid_t parent, int *keep, size_t nkeep);
uint64_t child_log_dropped(void);
/* In the child: tell the parent why, and exit 1. */
void child_fail(int fd, const char *step, int err)
	__attribute__((noreturn));
void child_fail_text(int fd, const char *text) __attribute__((noreturn));

/* inspect.c: the inspector process, from the parent's side. */
int inspect_open(struct sw *sw);
void inspect_close(struct sw *sw);
/* A new child on the current configuration (after a reload). */
int inspect_restart(struct sw *sw);
/* Is the inspector up (it said hello)? Send it a message: 0, or
 * -ENOTCONN when it is not running, or the failed send's -errno. */
bool inspect_running(const struct sw *sw);
int inspect_send(struct sw *sw, enum ipc_type type, const void *p,
    size_t len);
void inspect_tick(struct sw *sw, int64_t now_mono);
/* The listening ports, from the socket table, to the child. */
void inspect_listeners(struct sw *sw);
/* The child's last counters (all zero without a child). */
const struct inspect_stats *inspect_stats(const struct sw *sw);
/* {pid, user, restarts, deaths}, or null without a child. */
json_t *inspect_json(const struct sw *sw);
uint64_t inspect_deaths(const struct sw *sw);
/* Failed-login alerts dropped: the peer holds a logged-in session. */
uint64_t inspect_session_waits_total(const struct sw *sw);
/* The child's busiest peers (asked, and waited for up to 2 s), or NULL
 * with *ret_error. */
json_t *inspect_peers(struct sw *sw, enum peers_sort by, unsigned int limit,
    const char **ret_error);

/* capwatch.c: the capture interfaces' links, and a new inspector when
 * one comes back (see its opening). */
int capwatch_open(struct sw *sw);
void capwatch_close(struct sw *sw);
/* The names of a new configuration (kept names keep their history). */
int capwatch_reload(struct sw *sw);
void capwatch_tick(struct sw *sw, int64_t now_mono);
/* The inspector's handles; NULL when it is gone. */
void capwatch_captured(struct sw *sw, const struct inspect_captures *ic);
/* [{interface, state, since, exists, gaps, last_gap_s}] */
json_t *capwatch_json(const struct sw *sw);
void capwatch_metrics(const struct sw *sw, struct mbuf *b);

/* inspector.c: the child. Runs inspector_main after the fork; never
 * returns. */
struct inspector_args {
	const struct config *cfg;	/* its interfaces and detectors */
	int fd;				/* its end of the socketpair */
	const struct privdrop_user *user;
	pid_t parent;
	FILE *replay;			/* --replay: the open file, or NULL */
	const char *replay_name;
	const struct addr *local;	/* the host's addresses */
	size_t nlocal;
	const uint8_t *listen_tcp, *listen_udp;	/* port bitmaps */
};
void inspector_main(const struct inspector_args *a)
	__attribute__((noreturn));

/* enforce.c: bans, nftables, teardown, the connect policy. */
/* Automatic bans in force at most: a spoofed flood through a deny list
 * with action = block must not grow the table without end (the deny set
 * blocks those peers anyway). Manual blocks are not limited. */
#define ENFORCE_AUTO_MAX	1000000
/* Bans of another source (CrowdSec's decisions) stop short of it: an
 * API, one answer after another, must neither grow the table without
 * end nor leave the detectors no room. */
#define ENFORCE_FROM_MAX	(ENFORCE_AUTO_MAX - ENFORCE_AUTO_MAX / 10)
int enforce_open(struct sw *sw);
void enforce_close(struct sw *sw);
void enforce_tick(struct sw *sw, int64_t now_mono);
bool enforce_active(const struct sw *sw);
int enforce_nft_setup(struct sw *sw);
void enforce_alert(struct sw *sw, struct alert *a);
bool enforce_logged_in(struct sw *sw, const struct addr *peer, char *who,
    size_t wholen);
void enforce_flush(struct sw *sw);
/* In a loop that queues thousands of bans (enforce_block): once enough
 * are queued, send them to the kernel and start their database write,
 * which goes on while the loop checks the next ones. Until
 * enforce_commit (or the next flush) has waited for it, nothing else may
 * touch the database or its queue: return to the event loop only after
 * enforce_commit. */
void enforce_flush_ahead(struct sw *sw);
void enforce_socket(struct sw *sw, const struct sock_info *s);
int enforce_block(struct sw *sw, const struct cidr *peer, uint64_t length_ms,
    bool permanent, const char *reason, bool force, struct ban *ret,
    char *err, size_t errlen);
/* A ban decided elsewhere (CrowdSec), under its source: the checks of
 * enforce_block without force; a peer banned from another source keeps
 * that ban, one banned from this source about as long is left alone
 * (-EALREADY). Queued: enforce_commit sends them in one batch. */
int enforce_block_from(struct sw *sw, const struct cidr *peer,
    uint64_t length_ms, const char *source, const char *reason, char *err,
    size_t errlen);
/* Lift, in one batch, the bans of those peers that came from source;
 * *ret_lifted says how many. 0, or -errno when nftables refused. */
int enforce_lift_from(struct sw *sw, const struct cidr *peers, size_t n,
    const char *source, size_t *ret_lifted, char *err, size_t errlen);
int enforce_commit(struct sw *sw, char *err, size_t errlen);
int enforce_unblock(struct sw *sw, const struct cidr *peer, char *err,
    size_t errlen);
int enforce_reconfigure(struct sw *sw, const struct config *cfg, char *err,
    size_t errlen);
json_t *enforce_ban_json(const struct ban *b, int64_t now);
/* The bans in force as q asks (request.h); *ret_matched: how many pass
 * its filter (all without one). NULL: out of memory. */
struct request_bans;
json_t *enforce_bans_json(const struct sw *sw, const struct request_bans *q,
    size_t *ret_matched);

/* reconcile.c: the kernel's ban sets against the bans in force. */
void enforce_reconcile(struct sw *sw, const char *why);
int enforce_reconcile_start(struct sw *sw);
void enforce_reconcile_stop(struct sw *sw);
void enforce_reconcile_lifted(struct sw *sw, const struct cidr *peer);

/* export.c: the exporter process (control socket, metrics endpoint),
 * from the parent's side. */
int export_open(struct sw *sw);
void export_close(struct sw *sw);
void export_tick(struct sw *sw, int64_t now_mono);
/* After a reload: the control group's members are read again. */
void export_reload(struct sw *sw);
/* One event for the subscribers (not taken). */
void export_event(struct sw *sw, const json_t *ev);
/* 0 means an event need not even be built. */
unsigned int export_nsubscribers(const struct sw *sw);
const struct export_stats *export_stats(const struct sw *sw);
uint64_t export_deaths(const struct sw *sw);
/* Is pid the exporter (or us)? Its metrics listener is ours. */
bool export_is_child(const struct sw *sw, pid_t pid);

/* exporter.c: the child. */
struct exporter_args {
	const struct config *cfg;	/* socket, group, metrics_listen */
	int fd;				/* its end of the socketpair */
	const struct privdrop_user *user;
	pid_t parent;
};
void exporter_main(const struct exporter_args *a)
	__attribute__((noreturn));

/* banq.c: the database at start, ban writes queued and retried. */
void banq_open_store(struct sw *sw);
void banq_alert(struct sw *sw);
void banq_put(struct sw *sw, const struct ban *b, uint64_t length_ms);
void banq_del(struct sw *sw, const struct cidr *peer);
size_t banq_pending(const struct sw *sw);
/* Try the whole queue now: 0 or -errno (still queued, retried). */
int banq_write(struct sw *sw);
void banq_done(struct sw *sw, int r, size_t n, int64_t now_mono);
void banq_tick(struct sw *sw, int64_t now_mono);
void banq_close(struct sw *sw);
json_t *banq_json(const struct sw *sw);

/* alerts.c: raise an alert (takes over a->evidence). */
void alerts_raise(struct sw *sw, struct alert *a);
void alerts_flush(struct sw *sw);
/* Delete a batch of stored alerts past [daemon] alerts_keep or
 * alerts_max, when one is due. */
void alerts_prune(struct sw *sw, int64_t now_mono);
json_t *alerts_recent(const struct sw *sw, unsigned int max);
void alerts_free(struct sw *sw);

/* commands.c: the control protocol and the metrics. */
/* Answer one request (as control.h's handlers do); admin: from root (a
 * reader's listings come from the live table); *ret_subscribe is set
 * when the client is to receive events from now on. */
json_t *commands_handle(struct sw *sw, const char *cmd, const json_t *req,
    bool admin, bool *ret_subscribe, const char **ret_error);
extern const char *const commands_admin[];
extern const char *const commands_reader[];
void commands_metrics(void *arg, struct mbuf *b);
void commands_event(struct sw *sw, const char *type, json_t *body);

/* crowdsec.c: CrowdSec's Local API, as a bouncer and as an agent, from
 * the parent's side (the HTTP is the child's, lapi.c); no child at all
 * while [crowdsec] names neither. */
int crowdsec_open(struct sw *sw);
void crowdsec_close(struct sw *sw);
/* After a reload's swap (old: the configuration before): started or
 * ended as [crowdsec] is now; when anything of it changed, a new child
 * reads the stream from its start again. */
void crowdsec_reload(struct sw *sw, const struct config *old);
void crowdsec_tick(struct sw *sw, int64_t now_mono);
/* An alert raised: queued for the API when it is an attack on us. */
void crowdsec_alert(struct sw *sw, const struct alert *a);
/* An administrator unblocked peer: the decisions our alerts put in the
 * Local API for it are deleted (by the client, later). */
void crowdsec_unblocked(struct sw *sw, const struct cidr *peer);
json_t *crowdsec_json(const struct sw *sw);
void crowdsec_metrics(const struct sw *sw, struct mbuf *b);

/* lapi.c: the CrowdSec client, the child. */
struct lapi_args {
	const struct config *cfg;	/* [crowdsec], its secrets read */
	int fd;				/* its end of the socketpair */
	const struct privdrop_user *user;
	pid_t parent;
};
void lapi_main(const struct lapi_args *a) __attribute__((noreturn));

/* main.c */
int sw_reload(struct sw *sw, char *err, size_t errlen);

#endif
