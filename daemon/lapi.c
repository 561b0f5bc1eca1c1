/*
 * The CrowdSec client: the child that talks to CrowdSec's Local API
 * (the parent's side is crowdsec.c). The API's url may be remote and
 * plain HTTP, so every byte of its answers is network input: libcurl and
 * the parsers run here, as the unprivileged user, with no capabilities,
 * no_new_privs and a seccomp allow-list, and what goes up is only fixed
 * records: the decisions of an answer (then their end), and our state.
 *
 * Once the loop runs, nothing waits: HTTP goes through libcurl's multi
 * interface, its sockets and its timer in our evloop. The url's host
 * name is resolved before the filter is loaded (libcurl would resolve
 * in a thread, reading files): a new address needs a reload.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <resolv.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "../common/ipc.h"
#include "../common/log.h"
#include "../common/privdrop.h"
#include "../common/sandbox.h"
#include "../common/timeutil.h"
#include "../policy/crowdsec.h"
#include "sockwatchd.h"

#define CS_BODY_MAX	(64u << 20)	/* a stream of ~300,000 decisions */
/* The heap an answer may take: jansson holds a 64 MiB answer of real
 * decisions in ~650 MiB, one of empty objects in ~5 GB. Past this, the
 * parse fails and the answer counts as a bad one. */
#define CS_HEAP_MAX	(1536ull << 20)
#define CS_BUF_KEEP	(1u << 20)
#define CS_PUSH_BATCH	100		/* signals in one POST */
#define CS_BACKOFF_MIN	1000
#define CS_BACKOFF_MAX	300000
#define CS_TOKEN_MS	(30 * 60000)	/* the API's tokens last an hour */
#define CS_CONNECT_MS	5000
#define CS_TIMEOUT_MS	60000
#define CS_READ_MAX	(256 * 1024)	/* bytes from the parent per wake-up */
#define CS_CHUNK	65536		/* decisions in one message */
#define CS_CA_MAX	(16u << 20)	/* the CA bundle, read before the drop */
#define CS_WITHDRAW_MAX	256		/* unblocked peers waiting */
/* Listings of one peer: each deletes what the last found; an API that
 * keeps listing them is given up on. */
#define CS_WITHDRAW_ROUNDS 4

/* The agent's jobs (login, push, withdraw) go one at a time. */
enum cs_job { CS_POLL, CS_LOGIN, CS_PUSH, CS_WITHDRAW, CS_NJOBS };

/* An unblocked peer whose decisions of ours are to be deleted. Our alerts
 * pushed after the unblock are not its: gen is the pushes started before
 * it came, and protect the alerts numbered from the first of a later
 * push (the API numbers alerts in order). */
struct cs_withdrawal {
	struct addr peer;
	uint64_t gen;
	int64_t protect;		/* INT64_MAX: none yet */
};

struct cs_buf {
	char *p;
	size_t len, cap;
	bool over;			/* more than CS_BODY_MAX came */
};

struct lapi {
	const struct config *cfg;
	int fd;				/* to the parent */
	struct evloop *loop;
	struct ipc_reader rd;
	CURLM *multi;
	int timer_fd, tick_fd;
	CURL *easy[CS_NJOBS];		/* in flight, or NULL */
	struct curl_slist *hdr[CS_NJOBS];
	struct cs_buf body[CS_NJOBS];
	char *sent;			/* the POST body in flight */
	struct curl_slist *resolve;	/* the url's host, resolved */
	struct curl_blob ca;		/* https: the CA bundle, or empty */

	struct crowdsec_state st, st_sent;
	int64_t poll_next_ms, push_next_ms;	/* monotonic */
	bool started;			/* a whole stream was sent up */

	char *token;			/* NULL: log in first */
	int64_t token_until;		/* monotonic */
	struct crowdsec_signal q[CROWDSEC_QUEUE_MAX];	/* a ring */
	size_t qhead, inflight;		/* inflight: of the queue's head */
	size_t batch;			/* signals in the push in flight */
	uint64_t pushes;		/* started (the last: pushes - 1) */

	/* Unblocked peers whose decisions of ours are to be deleted: a
	 * ring of st.withdraw_queued; the head is listed (GET /v1/alerts),
	 * then each id found is deleted, then it is listed again. */
	struct cs_withdrawal wq[CS_WITHDRAW_MAX];
	size_t whead;
	int64_t wids[CROWDSEC_OWN_MAX];
	size_t nwids, iwid;		/* found; deleted of them */
	unsigned int wrounds;		/* listings of the head */
	bool withdraw_turn;		/* a push went last */
};

static void lapi_drive(struct lapi *l);

/* Everything goes up with a blocking write: the parent reads in its
 * loop. A parent gone or not reading ends us. */
static void
lapi_send(struct lapi *l, enum ipc_type type, const void *p, size_t len)
{
	int r;

	if ((r = ipc_send(l->fd, type, p, len)) < 0)
		_exit(r == -EPIPE ? 0 : 1);
}

/* ---- libcurl in the loop ------------------------------------------------ */

/* One of libcurl's sockets in our loop. */
struct cs_sock {
	struct lapi *l;
	struct evsource *src;
	int fd;
};

static void
cs_on_socket(void *arg, uint32_t events)
{
	struct cs_sock *k = arg;
	struct lapi *l = k->l;
	int flags = 0, running;

	if (events & EPOLLIN)
		flags |= CURL_CSELECT_IN;
	if (events & EPOLLOUT)
		flags |= CURL_CSELECT_OUT;
	if (events & (EPOLLERR | EPOLLHUP))
		flags |= CURL_CSELECT_ERR;
	/* k may be freed inside: nothing of it is read after. */
	curl_multi_socket_action(l->multi, k->fd, flags, &running);
	lapi_drive(l);
}

/* libcurl says which of its sockets to watch, and for what. */
static int
cs_socket_cb(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct lapi *l = userp;
	struct cs_sock *k = socketp;
	uint32_t ev = (what & CURL_POLL_IN ? EPOLLIN : 0) |
	    (what & CURL_POLL_OUT ? EPOLLOUT : 0);

	(void)e;
	if (what == CURL_POLL_REMOVE) {
		if (k != NULL) {
			evloop_del(l->loop, k->src);
			free(k);
		}
		curl_multi_assign(l->multi, s, NULL);
		return 0;
	}
	if (k != NULL)
		return evloop_mod(l->loop, k->src, ev) < 0 ? -1 : 0;
	if ((k = calloc(1, sizeof(*k))) == NULL)
		return -1;
	k->l = l;
	k->fd = s;
	if (evloop_add(l->loop, s, ev, cs_on_socket, k, &k->src) < 0) {
		free(k);
		return -1;
	}
	curl_multi_assign(l->multi, s, k);
	return 0;
}

/* libcurl's one timer, as a timerfd (it must not be driven from inside
 * this callback). */
static int
cs_timer_cb(CURLM *m, long timeout_ms, void *userp)
{
	struct lapi *l = userp;
	struct itimerspec its = { { 0, 0 }, { 0, 0 } };

	(void)m;
	if (timeout_ms >= 0) {
		its.it_value.tv_sec = timeout_ms / 1000;
		its.it_value.tv_nsec = (timeout_ms % 1000) * 1000000L;
		if (timeout_ms == 0)
			its.it_value.tv_nsec = 1000;
	}
	return timerfd_settime(l->timer_fd, 0, &its, NULL) < 0 ? -1 : 0;
}

static void
cs_on_timer(void *arg, uint32_t events)
{
	struct lapi *l = arg;
	uint64_t n;
	int running;

	(void)events;
	if (read(l->timer_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_warn("timerfd");
	curl_multi_socket_action(l->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	lapi_drive(l);
}

static size_t
cs_write_cb(char *p, size_t size, size_t n, void *userp)
{
	struct cs_buf *b = userp;
	size_t len = size * n, cap;
	char *q;

	if (b->len + len > CS_BODY_MAX) {
		b->over = true;
		return 0;		/* ends the transfer */
	}
	if (b->len + len + 1 > b->cap) {
		cap = b->cap ? b->cap : 65536;
		while (cap < b->len + len + 1)
			cap *= 2;
		if ((q = realloc(b->p, cap)) == NULL)
			return 0;
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, len);
	b->len += len;
	b->p[b->len] = '\0';
	return len;
}

/* Start a request: path under [crowdsec] url; body NULL for a GET, and
 * method NULL for GET or POST. */
static int
cs_start(struct lapi *l, enum cs_job job, const char *method,
    const char *path, const char *header, char *body)
{
	char url[2048];
	CURL *e;

	snprintf(url, sizeof(url), "%s%s", l->cfg->crowdsec.url, path);
	if ((e = curl_easy_init()) == NULL)
		return -ENOMEM;
	l->body[job].len = 0;
	l->body[job].over = false;
	l->hdr[job] = curl_slist_append(NULL, "Content-Type: "
	    "application/json");
	if (header != NULL)
		l->hdr[job] = curl_slist_append(l->hdr[job], header);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "sockwatch/" SW_VERSION);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)CS_CONNECT_MS);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)CS_TIMEOUT_MS);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, l->hdr[job]);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, cs_write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &l->body[job]);
	curl_easy_setopt(e, CURLOPT_PRIVATE, (void *)(intptr_t)job);
	/* The key goes to the url and nowhere else: not to a proxy named
	 * in the daemon's environment (http_proxy, ALL_PROXY). */
	curl_easy_setopt(e, CURLOPT_PROXY, "");
	/* Nothing is looked up or opened once confined. */
	if (l->resolve != NULL)
		curl_easy_setopt(e, CURLOPT_RESOLVE, l->resolve);
	if (l->ca.len > 0) {
		curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &l->ca);
		curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
	}
	if (method != NULL)
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	if (body != NULL) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	if (curl_multi_add_handle(l->multi, e) != CURLM_OK) {
		curl_easy_cleanup(e);
		curl_slist_free_all(l->hdr[job]);
		l->hdr[job] = NULL;
		return -EIO;
	}
	l->easy[job] = e;
	return 0;
}

static void
cs_end(struct lapi *l, enum cs_job job)
{
	if (l->easy[job] == NULL)
		return;
	curl_multi_remove_handle(l->multi, l->easy[job]);
	curl_easy_cleanup(l->easy[job]);
	curl_slist_free_all(l->hdr[job]);
	l->easy[job] = NULL;
	l->hdr[job] = NULL;
	if (job != CS_POLL) {
		free(l->sent);
		l->sent = NULL;
	}
}

/* ---- retries ------------------------------------------------------------ */

static void
cs_failed(struct crowdsec_link *t, int64_t *next_ms, const char *what,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Backoff doubles from 1 s to 5 min. The first failure after a success
 * is logged, and then every 10th: a LAPI down is one line a while. */
static void
cs_failed(struct crowdsec_link *t, int64_t *next_ms, const char *what,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->error, sizeof(t->error), fmt, ap);
	va_end(ap);
	t->errors++;
	t->delay_ms = t->delay_ms == 0 ? CS_BACKOFF_MIN :
	    t->delay_ms * 2 > CS_BACKOFF_MAX ? CS_BACKOFF_MAX : t->delay_ms * 2;
	*next_ms = time_mono_ms() + t->delay_ms;
	if (t->delay_ms == CS_BACKOFF_MIN || t->errors % 10 == 0)
		log_warnx("%s: %s (%llu errors; retrying in %lld s)",
		    what, t->error, (unsigned long long)t->errors,
		    (long long)t->delay_ms / 1000);
}

static void
cs_ok(struct crowdsec_link *t, int64_t *next_ms, const char *what,
    int64_t next)
{
	if (t->delay_ms != 0)
		log_info("%s works again", what);
	t->delay_ms = 0;
	t->error[0] = '\0';
	*next_ms = next;
	t->ok_ms = time_now_ms();
}

/* The transfer's outcome as text, or NULL when it got an HTTP answer. */
static const char *
cs_transfer_error(struct lapi *l, enum cs_job job, CURLcode rc,
    char *buf, size_t len)
{
	if (l->body[job].over)
		snprintf(buf, len, "answer longer than %u MiB",
		    CS_BODY_MAX >> 20);
	else if (rc != CURLE_OK)
		snprintf(buf, len, "%s", curl_easy_strerror(rc));
	else
		return NULL;
	return buf;
}

/* ---- bouncer ------------------------------------------------------------ */

/* A parsed answer up to the parent: its decisions in pieces, deletions
 * first (the order they are applied in), then their end. */
static void
lapi_send_stream(struct lapi *l, const struct crowdsec_stream *st,
    int64_t parse_ms)
{
	struct ipc_cs_decision *d;
	struct ipc_cs_stream_end end;
	size_t i, n = 0, total = st->ndel + st->nadd;

	if ((d = calloc(CS_CHUNK, sizeof(*d))) == NULL)
		_exit(1);
	for (i = 0; i < total; i++) {
		if (i < st->ndel)
			ipc_encode_cs_decision(&d[n++], IPC_CS_DELETE,
			    &st->del[i], 0);
		else
			ipc_encode_cs_decision(&d[n++], IPC_CS_ADD,
			    &st->add[i - st->ndel].peer,
			    (uint64_t)st->add[i - st->ndel].remaining_ms);
		if (n == CS_CHUNK || i + 1 == total) {
			lapi_send(l, IPC_CS_DECISIONS, d, n * sizeof(*d));
			n = 0;
		}
	}
	free(d);
	memset(&end, 0, sizeof(end));
	end.decisions = total;
	end.skipped = st->skipped;
	end.invalid = st->invalid;
	end.parse_ms = (uint64_t)parse_ms;
	end.startup = !l->started;
	lapi_send(l, IPC_CS_STREAM_END, &end, sizeof(end));
}

static void
cs_poll_done(struct lapi *l, CURLcode rc, long status)
{
	struct cs_buf *b = &l->body[CS_POLL];
	struct crowdsec_stream st;
	char why[256];
	const char *e;
	int64_t t0;
	int r;

	l->st.polls++;
	if ((e = cs_transfer_error(l, CS_POLL, rc, why, sizeof(why))) !=
	    NULL) {
		cs_failed(&l->st.poll, &l->poll_next_ms, "decisions", "%s", e);
		return;
	}
	if (status != 200) {
		cs_failed(&l->st.poll, &l->poll_next_ms, "decisions",
		    "HTTP status %ld%s", status, status == 403 ? " (is "
		    "bouncer_key_file's key known to the API?)" : "");
		return;
	}
	t0 = time_mono_ms();
	r = crowdsec_stream_parse(b->p != NULL ? b->p : "", b->len, &st, why,
	    sizeof(why));
	/* A big startup answer's buffer is not kept for the small ones. */
	if (b->cap > CS_BUF_KEEP) {
		free(b->p);
		memset(b, 0, sizeof(*b));
	}
	if (r < 0) {
		cs_failed(&l->st.poll, &l->poll_next_ms, "decisions",
		    "a bad answer: %s", why);
		return;
	}
	lapi_send_stream(l, &st, time_mono_ms() - t0);
	crowdsec_stream_free(&st);
	l->started = true;
	cs_ok(&l->st.poll, &l->poll_next_ms, "decisions", time_mono_ms() +
	    (int64_t)l->cfg->crowdsec.poll_interval_ms);
}

static void
cs_poll_start(struct lapi *l)
{
	char hdr[4200];
	int r;

	snprintf(hdr, sizeof(hdr), "X-Api-Key: %s",
	    l->cfg->crowdsec.bouncer_key);
	r = cs_start(l, CS_POLL, NULL, l->started ? "v1/decisions/stream" :
	    "v1/decisions/stream?startup=true", hdr, NULL);
	explicit_bzero(hdr, sizeof(hdr));
	if (r < 0)
		cs_failed(&l->st.poll, &l->poll_next_ms, "decisions",
		    "cannot start: %s", strerror(-r));
}

/* ---- agent -------------------------------------------------------------- */

static void
cs_login_start(struct lapi *l)
{
	const struct config *cfg = l->cfg;
	json_t *j;
	int r = -ENOMEM;

	j = json_pack("{s:s, s:s, s:[s, s, s, s]}", "machine_id",
	    cfg->crowdsec.machine_id, "password",
	    cfg->crowdsec.machine_password, "scenarios",
	    crowdsec_scenario("portscan"), crowdsec_scenario("synflood"),
	    crowdsec_scenario("bruteforce"), crowdsec_scenario("denylist"));
	if (j != NULL && (l->sent = json_dumps(j, JSON_COMPACT)) != NULL)
		r = cs_start(l, CS_LOGIN, NULL, "v1/watchers/login", NULL,
		    l->sent);
	json_decref(j);
	if (r < 0) {
		free(l->sent);
		l->sent = NULL;
		cs_failed(&l->st.push, &l->push_next_ms, "login",
		    "cannot start: %s", strerror(-r));
	}
}

static void
cs_login_done(struct lapi *l, CURLcode rc, long status)
{
	const struct cs_buf *b = &l->body[CS_LOGIN];
	const char *e, *tok;
	json_t *j = NULL;
	char why[256];
	size_t i;

	if ((e = cs_transfer_error(l, CS_LOGIN, rc, why, sizeof(why))) !=
	    NULL) {
		cs_failed(&l->st.push, &l->push_next_ms, "login", "%s", e);
		return;
	}
	if (status != 200) {
		cs_failed(&l->st.push, &l->push_next_ms, "login",
		    "HTTP status %ld%s", status, status == 401 ||
		    status == 403 ? " (machine_id or its password refused)" :
		    "");
		return;
	}
	j = json_loadb(b->p != NULL ? b->p : "", b->len, 0, NULL);
	tok = json_string_value(json_object_get(j, "token"));
	for (i = 0; tok != NULL && tok[i] != '\0'; i++)
		if ((unsigned char)tok[i] <= 0x20 ||
		    (unsigned char)tok[i] >= 0x7f)
			break;
	if (tok == NULL || i == 0 || tok[i] != '\0' || i > 4096) {
		json_decref(j);
		cs_failed(&l->st.push, &l->push_next_ms, "login",
		    "a bad answer (no token)");
		return;
	}
	free(l->token);
	l->token = strdup(tok);
	l->token_until = time_mono_ms() + CS_TOKEN_MS;
	json_decref(j);
	l->push_next_ms = 0;
}

/* The token expired early (the API restarted): log in, at once unless
 * the token is seconds old (an API that takes the login and refuses its
 * token gets the backoff, not a loop of both). */
static void
cs_token_refused(struct lapi *l, const char *what)
{
	free(l->token);
	l->token = NULL;
	cs_failed(&l->st.push, &l->push_next_ms, what,
	    "token refused (HTTP 401)");
	if (time_mono_ms() - (l->token_until - CS_TOKEN_MS) > CS_CONNECT_MS)
		l->push_next_ms = time_mono_ms();
}

/* The Authorization header of the agent's requests. */
static void
cs_bearer(const struct lapi *l, char *buf, size_t len)
{
	snprintf(buf, len, "Authorization: Bearer %s", l->token);
}

static void
cs_push_start(struct lapi *l)
{
	struct crowdsec_signal batch[CS_PUSH_BATCH];
	char hdr[4200];
	json_t *j;
	size_t i, n = l->st.queued < CS_PUSH_BATCH ? l->st.queued :
	    CS_PUSH_BATCH;
	int r = -ENOMEM;

	for (i = 0; i < n; i++)
		batch[i] = l->q[(l->qhead + i) % CROWDSEC_QUEUE_MAX];
	cs_bearer(l, hdr, sizeof(hdr));
	if ((j = crowdsec_alerts_json(batch, n)) != NULL &&
	    (l->sent = json_dumps(j, JSON_COMPACT)) != NULL)
		r = cs_start(l, CS_PUSH, NULL, "v1/alerts", hdr, l->sent);
	json_decref(j);
	if (r < 0) {
		free(l->sent);
		l->sent = NULL;
		cs_failed(&l->st.push, &l->push_next_ms, "alerts",
		    "cannot start: %s", strerror(-r));
		return;
	}
	l->inflight = l->batch = n;
	l->pushes++;
}

/* A push landed, its first alert numbered first: for the peers unblocked
 * before it started, that alert and the later ones are not to withdraw. */
static void
cs_withdraw_protect(struct lapi *l, int64_t first)
{
	struct cs_withdrawal *w;
	size_t i;

	for (i = 0; i < l->st.withdraw_queued; i++) {
		w = &l->wq[(l->whead + i) % CS_WITHDRAW_MAX];
		if (l->pushes - 1 >= w->gen && first < w->protect)
			w->protect = first;
	}
}

static void
cs_push_done(struct lapi *l, CURLcode rc, long status)
{
	const struct cs_buf *b = &l->body[CS_PUSH];
	char why[256];
	const char *e;
	size_t n = l->inflight;
	int64_t first;

	l->inflight = 0;
	if ((e = cs_transfer_error(l, CS_PUSH, rc, why, sizeof(why))) !=
	    NULL) {
		cs_failed(&l->st.push, &l->push_next_ms, "alerts", "%s", e);
		return;
	}
	if (status == 401) {
		cs_token_refused(l, "alerts");
		return;
	}
	if (status != 200 && status != 201) {
		cs_failed(&l->st.push, &l->push_next_ms, "alerts",
		    "HTTP status %ld", status);
		return;
	}
	/* The API answers with the new alerts' ids: anything else (a proxy's
	 * page) has not taken them, and they stay queued. */
	if (crowdsec_alert_ids(b->p != NULL ? b->p : "", b->len, l->batch,
	    &first) < 0) {
		cs_failed(&l->st.push, &l->push_next_ms, "alerts",
		    "a bad answer (not the ids of %zu alerts)", l->batch);
		return;
	}
	/* The oldest may have been dropped for newer ones meanwhile. */
	if (n > l->st.queued)
		n = l->st.queued;
	l->qhead = (l->qhead + n) % CROWDSEC_QUEUE_MAX;
	l->st.queued -= n;
	l->st.pushed += n;
	cs_withdraw_protect(l, first);
	cs_ok(&l->st.push, &l->push_next_ms, "alerts", 0);
}

/* One of our alerts from the parent, held to the shape it must have
 * (the parent made it; the API must still get valid JSON). */
static void
lapi_signal(struct lapi *l, const struct ipc_msg *m)
{
	struct crowdsec_signal g;
	char *p;

	if (ipc_decode_fixed(m, IPC_CS_SIGNAL, &g, sizeof(g)) < 0 ||
	    l->cfg->crowdsec.machine_id == NULL)
		_exit(1);
	g.scenario[sizeof(g.scenario) - 1] = '\0';
	g.message[sizeof(g.message) - 1] = '\0';
	if (!crowdsec_scenario_known(g.scenario) ||
	    (g.source.family != AF_INET && g.source.family != AF_INET6))
		_exit(1);
	for (p = g.message; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = '?';
	if (l->st.queued == CROWDSEC_QUEUE_MAX) {
		/* Bounded: the oldest goes (one in flight stays counted
		 * as sent when it lands). */
		l->qhead = (l->qhead + 1) % CROWDSEC_QUEUE_MAX;
		l->st.queued--;
		l->st.dropped++;
		if (l->inflight > 0)
			l->inflight--;
	}
	l->q[(l->qhead + l->st.queued++) % CROWDSEC_QUEUE_MAX] = g;
}

/* ---- withdrawing our decisions ------------------------------------------ */

/* The head of the queue is done with (or given up on). */
static void
cs_withdraw_next(struct lapi *l)
{
	l->whead = (l->whead + 1) % CS_WITHDRAW_MAX;
	l->st.withdraw_queued--;
	l->nwids = l->iwid = 0;
	l->wrounds = 0;
}

/* List the head's alerts, or delete the next decision found. */
static void
cs_withdraw_start(struct lapi *l)
{
	char hdr[4200], path[160], ip[ADDR_STRLEN];
	int r;

	if (l->iwid < l->nwids) {
		snprintf(path, sizeof(path), "v1/decisions/%lld",
		    (long long)l->wids[l->iwid]);
	} else if (l->wrounds == CS_WITHDRAW_ROUNDS) {
		log_warnx("withdraw: %s still has decisions of ours after %d "
		    "rounds: given up", addr_format(&l->wq[l->whead].peer, ip,
		    sizeof(ip)), CS_WITHDRAW_ROUNDS);
		l->st.withdraw_dropped++;
		cs_withdraw_next(l);
		return;
	} else {
		/* Our alerts for the peer with a ban in force (origin:
		 * alerts holding a decision of ours). */
		snprintf(path, sizeof(path), "v1/alerts?ip=%s&origin=sockwatch"
		    "&has_active_decision=true&limit=%d", addr_format(
		    &l->wq[l->whead].peer, ip, sizeof(ip)), CROWDSEC_OWN_MAX);
		l->nwids = l->iwid = 0;
		l->wrounds++;
	}
	cs_bearer(l, hdr, sizeof(hdr));
	r = cs_start(l, CS_WITHDRAW, l->nwids > 0 ? "DELETE" : NULL, path,
	    hdr, NULL);
	explicit_bzero(hdr, sizeof(hdr));
	if (r < 0)
		cs_failed(&l->st.push, &l->push_next_ms, "withdraw",
		    "cannot start: %s", strerror(-r));
}

static void
cs_withdraw_done(struct lapi *l, CURLcode rc, long status)
{
	const struct cs_buf *b = &l->body[CS_WITHDRAW];
	bool listing = l->iwid == l->nwids;
	char why[256];
	const char *e;
	size_t n;
	int listed;

	e = cs_transfer_error(l, CS_WITHDRAW, rc, why, sizeof(why));
	if (e == NULL && status >= 400 && status < 500 && status != 401 &&
	    status != 429) {
		/* Refused, not failed: asking again will not help. */
		log_warnx("withdraw: %s refused (HTTP %ld): given up",
		    addr_format(&l->wq[l->whead].peer, why, sizeof(why)),
		    status);
		l->st.withdraw_dropped++;
		cs_withdraw_next(l);
		return;
	}
	if (e != NULL || status != 200) {
		/* Listed again after the backoff (the round is not spent):
		 * what is found then is what is still there. */
		l->nwids = l->iwid = 0;
		if (l->wrounds > 0)
			l->wrounds--;
		if (e != NULL)
			cs_failed(&l->st.push, &l->push_next_ms, "withdraw",
			    "%s", e);
		else if (status == 401)
			cs_token_refused(l, "withdraw");
		else
			cs_failed(&l->st.push, &l->push_next_ms, "withdraw",
			    "HTTP status %ld", status);
		return;
	}
	if (!listing) {
		l->st.withdrawn++;
		l->iwid++;
	} else if ((listed = crowdsec_own_decisions(b->p != NULL ? b->p : "",
	    b->len, l->cfg->crowdsec.machine_id, &l->wq[l->whead].peer,
	    l->wq[l->whead].protect, l->wids,
	    CROWDSEC_OWN_MAX, &n, why, sizeof(why))) < 0) {
		if (l->wrounds > 0)
			l->wrounds--;
		cs_failed(&l->st.push, &l->push_next_ms, "withdraw",
		    "a bad answer: %s", why);
		return;
	} else if (n == 0 && listed >= CROWDSEC_OWN_MAX) {
		/* A full page, newest first, none of ours: other machines'
		 * alerts for the peer may hide ours (the API filters by
		 * neither machine nor offset). Not "none left". */
		log_warnx("withdraw: %s: the API's newest %d alerts for it "
		    "are other machines': ours not found, given up",
		    addr_format(&l->wq[l->whead].peer, why, sizeof(why)),
		    CROWDSEC_OWN_MAX);
		l->st.withdraw_dropped++;
		cs_withdraw_next(l);
	} else if (n == 0) {
		cs_withdraw_next(l);	/* none (left) */
	} else {
		l->nwids = n;
		l->iwid = 0;
	}
	cs_ok(&l->st.push, &l->push_next_ms, "withdraw", 0);
}

/* An unblocked peer from the parent. Its alerts still queued lose their
 * ban (pushed now, they would put it back); those in flight have landed
 * by the time it is listed (the agent's jobs go one at a time). */
static void
lapi_withdraw(struct lapi *l, const struct ipc_msg *m)
{
	struct crowdsec_signal *g;
	struct cs_withdrawal *w;
	struct addr a;
	size_t i;

	if (ipc_decode_cs_withdraw(m, &a) < 0 ||
	    l->cfg->crowdsec.machine_id == NULL)
		_exit(1);
	for (i = 0; i < l->st.queued; i++) {
		g = &l->q[(l->qhead + i) % CROWDSEC_QUEUE_MAX];
		if (addr_equal(&g->source, &a))
			g->ban_ms = 0;
	}
	/* Waiting already (past the head, which may be listed already):
	 * from this unblock on. */
	for (i = 1; i < l->st.withdraw_queued; i++) {
		w = &l->wq[(l->whead + i) % CS_WITHDRAW_MAX];
		if (addr_equal(&w->peer, &a)) {
			w->gen = l->pushes;
			w->protect = INT64_MAX;
			return;
		}
	}
	if (l->st.withdraw_queued == CS_WITHDRAW_MAX) {
		l->st.withdraw_dropped++;
		if (l->st.withdraw_dropped % 100 == 1)
			log_warnx("withdraw: %d peers wait already: %llu "
			    "dropped", CS_WITHDRAW_MAX,
			    (unsigned long long)l->st.withdraw_dropped);
		return;
	}
	w = &l->wq[(l->whead + l->st.withdraw_queued++) % CS_WITHDRAW_MAX];
	w->peer = a;
	w->gen = l->pushes;
	w->protect = INT64_MAX;
}

/* ---- driving ------------------------------------------------------------ */

/* Finished transfers are handled, then what is due is started. */
static void
lapi_drive(struct lapi *l)
{
	CURLMsg *m;
	CURLcode rc;
	long status;
	void *priv;
	int left;
	enum cs_job job;

	while ((m = curl_multi_info_read(l->multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		rc = m->data.result;
		status = 0;
		curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE,
		    &status);
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
		job = (enum cs_job)(intptr_t)priv;
		if (job >= CS_NJOBS || l->easy[job] != m->easy_handle)
			_exit(1);
		cs_end(l, job);
		switch (job) {
		case CS_POLL:
			cs_poll_done(l, rc, status);
			break;
		case CS_LOGIN:
			cs_login_done(l, rc, status);
			break;
		case CS_PUSH:
			cs_push_done(l, rc, status);
			break;
		case CS_WITHDRAW:
			cs_withdraw_done(l, rc, status);
			break;
		case CS_NJOBS:
			break;
		}
	}
}

static void
lapi_tick(struct lapi *l)
{
	const struct config *cfg = l->cfg;
	int64_t now = time_mono_ms();

	if (cfg->crowdsec.bouncer_key != NULL && l->easy[CS_POLL] == NULL &&
	    now >= l->poll_next_ms)
		cs_poll_start(l);
	if (cfg->crowdsec.machine_id != NULL && l->easy[CS_LOGIN] == NULL &&
	    l->easy[CS_PUSH] == NULL && l->easy[CS_WITHDRAW] == NULL &&
	    now >= l->push_next_ms) {
		if (l->token == NULL || now >= l->token_until)
			cs_login_start(l);
		else if (l->st.withdraw_queued > 0 &&
		    (l->st.queued == 0 || l->withdraw_turn))
			cs_withdraw_start(l);
		else if (l->st.queued > 0)
			cs_push_start(l);
		/* Both waiting: they take turns (neither stalls the
		 * other). */
		l->withdraw_turn = l->easy[CS_PUSH] != NULL;
	}
	/* The state up when it changed. */
	if (memcmp(&l->st, &l->st_sent, sizeof(l->st)) != 0) {
		l->st_sent = l->st;
		lapi_send(l, IPC_CS_STATE, &l->st, sizeof(l->st));
	}
}

static void
on_tick(void *arg, uint32_t events)
{
	struct lapi *l = arg;
	uint64_t n;

	(void)events;
	if (read(l->tick_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_warn("timerfd");
	lapi_tick(l);
}

static void
on_parent(void *arg, uint32_t events)
{
	struct lapi *l = arg;
	struct ipc_msg m;
	ssize_t n;
	int r;

	(void)events;
	n = ipc_reader_fill(&l->rd, l->fd, CS_READ_MAX);
	if (n == 0 || (n < 0 && n != -EAGAIN))
		_exit(0);
	while ((r = ipc_next(&l->rd, &m)) == 1) {
		if (m.type == IPC_CS_WITHDRAW)
			lapi_withdraw(l, &m);
		else
			lapi_signal(l, &m);
	}
	if (r < 0)
		_exit(1);
}

/* ---- setting up --------------------------------------------------------- */

/* The url's host, when it is a name, as libcurl's CURLOPT_RESOLVE entry
 * ("HOST:PORT:ADDR,ADDR"). The resolver is made brief: the parent waits
 * for our hello. A name that does not resolve now is not fatal: the
 * transfers fail and say so, until a reload. */
static void
lapi_resolve(struct lapi *l)
{
	struct addrinfo hints, *res = NULL, *ai;
	char *host = NULL, *port = NULL, entry[1200], ip[INET6_ADDRSTRLEN];
	struct in6_addr a6;
	size_t off;
	CURLU *u;
	int r;

	if ((u = curl_url()) == NULL ||
	    curl_url_set(u, CURLUPART_URL, l->cfg->crowdsec.url, 0) !=
	    CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) !=
	    CURLUE_OK)
		goto out;
	/* A literal address ("[::1]" too) needs no lookup. */
	if (host[0] == '[' || inet_pton(AF_INET, host, &a6) == 1)
		goto out;
	if (res_init() == 0) {
		_res.retrans = 2;
		_res.retry = 1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((r = getaddrinfo(host, port, &hints, &res)) != 0) {
		log_warnx("url: %s: %s (not retried until a reload)", host,
		    gai_strerror(r));
		goto out;
	}
	off = (size_t)snprintf(entry, sizeof(entry), "%s:%s:", host, port);
	for (ai = res; ai != NULL && off + sizeof(ip) + 4 < sizeof(entry);
	    ai = ai->ai_next) {
		if (ai->ai_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)
			    (void *)ai->ai_addr)->sin_addr, ip, sizeof(ip));
		else if (ai->ai_family == AF_INET6)
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)
			    (void *)ai->ai_addr)->sin6_addr, ip, sizeof(ip));
		else
			continue;
		off += (size_t)snprintf(entry + off, sizeof(entry) - off,
		    "%s%s%s%s", entry[off - 1] == ':' ? "" : ",",
		    ai->ai_family == AF_INET6 ? "[" : "", ip,
		    ai->ai_family == AF_INET6 ? "]" : "");
	}
	if (entry[off - 1] != ':')
		l->resolve = curl_slist_append(NULL, entry);
out:
	if (res != NULL)
		freeaddrinfo(res);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
}

/* https: the CA bundle libcurl would open, read now. */
static void
lapi_read_ca(struct lapi *l)
{
	char *path = NULL;
	FILE *f = NULL;
	CURL *e;
	long len;

	if (strncmp(l->cfg->crowdsec.url, "https:", 6) != 0 ||
	    (e = curl_easy_init()) == NULL)
		return;
	if (curl_easy_getinfo(e, CURLINFO_CAINFO, &path) != CURLE_OK ||
	    path == NULL || (f = fopen(path, "re")) == NULL ||
	    fseek(f, 0, SEEK_END) < 0 || (len = ftell(f)) <= 0 ||
	    (size_t)len > CS_CA_MAX || fseek(f, 0, SEEK_SET) < 0 ||
	    (l->ca.data = malloc((size_t)len)) == NULL ||
	    fread(l->ca.data, 1, (size_t)len, f) != (size_t)len) {
		log_warnx("the CA bundle %s cannot be read: https will fail",
		    path != NULL ? path : "(none)");
		free(l->ca.data);
		l->ca.data = NULL;
	} else {
		l->ca.len = (size_t)len;
		l->ca.flags = CURL_BLOB_NOCOPY;
	}
	if (f != NULL)
		fclose(f);
	curl_easy_cleanup(e);
}

/* Before the filter: the loop, the timers, libcurl. 0 or -errno. */
static int
lapi_setup(struct lapi *l)
{
	struct itimerspec its = { { 0, SW_TICK_MS * 1000000L },
	    { 0, SW_TICK_MS * 1000000L } };
	int r;

	if ((r = evloop_new(&l->loop)) < 0)
		return r;
	l->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK |
	    TFD_CLOEXEC);
	l->tick_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK |
	    TFD_CLOEXEC);
	if (l->timer_fd < 0 || l->tick_fd < 0 ||
	    timerfd_settime(l->tick_fd, 0, &its, NULL) < 0)
		return -errno;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    (l->multi = curl_multi_init()) == NULL)
		return -EIO;
	curl_multi_setopt(l->multi, CURLMOPT_SOCKETFUNCTION, cs_socket_cb);
	curl_multi_setopt(l->multi, CURLMOPT_SOCKETDATA, l);
	curl_multi_setopt(l->multi, CURLMOPT_TIMERFUNCTION, cs_timer_cb);
	curl_multi_setopt(l->multi, CURLMOPT_TIMERDATA, l);
	if ((r = evloop_add(l->loop, l->fd, EPOLLIN, on_parent, l,
	    NULL)) < 0 || (r = evloop_add(l->loop, l->timer_fd, EPOLLIN,
	    cs_on_timer, l, NULL)) < 0 || (r = evloop_add(l->loop,
	    l->tick_fd, EPOLLIN, on_tick, l, NULL)) < 0)
		return r;
	return 0;
}

/* A hostile answer must not take the host's memory: the heap is capped
 * (a failed allocation fails the parse) and the kernel's OOM killer
 * takes this process first. */
static int
lapi_limit_memory(void)
{
	int fd;
#ifndef __SANITIZE_ADDRESS__
	/* (ASan's shadow and allocator map far more than this.) */
	struct rlimit rl = { CS_HEAP_MAX, CS_HEAP_MAX };

	if (setrlimit(RLIMIT_DATA, &rl) < 0)
		return -errno;
#endif
	if ((fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC)) < 0)
		return -errno;
	if (write(fd, "1000", 4) != 4) {
		close(fd);
		return -EIO;
	}
	close(fd);
	return 0;
}

void
lapi_main(const struct lapi_args *a)
{
	static struct lapi l;
	int keep[1] = { a->fd };
	const char *step;
	int r;

	privdrop_set_role("crowdsec");
	child_begin(a->fd, a->parent, keep, 1);
	l.cfg = a->cfg;
	l.fd = a->fd;
	l.rd.accept = IPC_TO_CROWDSEC;
	/* Before the uid changes: /proc/self is root's while we are not
	 * dumpable. */
	if ((r = lapi_limit_memory()) < 0)
		child_fail(l.fd, "memory limit", r);
	if ((r = privdrop_user(a->user, &step)) < 0 ||
	    (r = privdrop_no_new_privs(&step)) < 0)
		child_fail(l.fd, step, r);
	/* Unprivileged already: what libcurl and the resolver read at
	 * their start (TLS configuration, /etc/hosts, DNS) is read as the
	 * user. */
	if ((r = lapi_setup(&l)) < 0)
		child_fail(l.fd, "setup", r);
	lapi_resolve(&l);
	lapi_read_ca(&l);
	if ((r = sandbox_crowdsec(&step)) < 0)
		child_fail(l.fd, step, r);
	lapi_send(&l, IPC_HELLO, NULL, 0);
	for (;;)
		if (evloop_run_once(l.loop, -1) < 0)
			_exit(1);
}
