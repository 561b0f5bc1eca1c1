/*
 * CrowdSec's Local API, both ways: as a bouncer, its decisions stream
 * becomes bans (source "crowdsec"); as an agent, our attack alerts are
 * pushed to it. Once the loop runs, nothing waits: HTTP goes through
 * libcurl's multi interface, its sockets and its timer in our evloop.
 *
 * It runs in the parent, which applies bans: the stream is what the
 * parent would otherwise be handed by a child, 50,000 decisions at a
 * time, and re-checked anyway. The API is a local service the
 * administrator configured with a key; its answers are still parsed as
 * hostile (policy/crowdsec.c): an answer that is not the stream is an
 * error, retried with backoff, and never lifts a ban.
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/timeutil.h"
#include "../policy/crowdsec.h"
#include "sockwatchd.h"

#define CS_SOURCE	"crowdsec"
#define CS_BODY_MAX	(64u << 20)	/* a stream of ~300,000 decisions */
#define CS_BUF_KEEP	(1u << 20)
#define CS_QUEUE_MAX	1000		/* signals waiting; oldest dropped */
#define CS_PUSH_BATCH	100		/* signals in one POST */
#define CS_BACKOFF_MIN	1000
#define CS_BACKOFF_MAX	300000
#define CS_TOKEN_MS	(30 * 60000)	/* the API's tokens last an hour */
#define CS_LOG_REFUSED	5		/* refusals logged one by one */
#define CS_CONNECT_MS	5000
#define CS_TIMEOUT_MS	60000
#define CS_BAN_MAX_MS	(365ULL * 86400000)

enum cs_job { CS_POLL, CS_LOGIN, CS_PUSH, CS_NJOBS };

struct cs_buf {
	char *p;
	size_t len, cap;
	bool over;			/* more than CS_BODY_MAX came */
};

/* One direction's retry state. */
struct cs_retry {
	int64_t next_ms;		/* monotonic: the next try */
	int64_t delay_ms;		/* the backoff; 0: all well */
	uint64_t errors;
	char error[256];		/* the last one, "" when all well */
	int64_t ok_ms;			/* wall time of the last success */
};

struct crowdsec {
	struct sw *sw;
	CURLM *multi;
	int timer_fd;
	struct evsource *timer_src;
	CURL *easy[CS_NJOBS];		/* in flight, or NULL */
	struct curl_slist *hdr[CS_NJOBS];
	struct cs_buf body[CS_NJOBS];
	char *sent;			/* the POST body in flight */

	/* bouncer */
	bool started;			/* the startup stream was applied */
	struct cs_retry poll;
	uint64_t polls, added, lifted, refused, skipped, invalid;
	int64_t last_apply_ms;		/* how long the last stream took */
	size_t last_decisions;

	/* agent */
	char *token;			/* NULL: log in first */
	int64_t token_until;		/* monotonic */
	struct cs_retry push;
	struct crowdsec_signal *q;	/* a ring of CS_QUEUE_MAX */
	size_t qhead, qlen, inflight;	/* inflight: of the queue's head */
	size_t batch;			/* signals in the push in flight */
	uint64_t pushed, dropped;
};

static void cs_drive(struct crowdsec *cs);

/* ---- libcurl in the loop ------------------------------------------------ */

/* One of libcurl's sockets in our loop. */
struct cs_sock {
	struct crowdsec *cs;
	struct evsource *src;
	int fd;
};

static void
cs_on_socket(void *arg, uint32_t events)
{
	struct cs_sock *k = arg;
	struct crowdsec *cs = k->cs;
	int flags = 0, running;

	if (events & EPOLLIN)
		flags |= CURL_CSELECT_IN;
	if (events & EPOLLOUT)
		flags |= CURL_CSELECT_OUT;
	if (events & (EPOLLERR | EPOLLHUP))
		flags |= CURL_CSELECT_ERR;
	/* k may be freed inside: nothing of it is read after. */
	curl_multi_socket_action(cs->multi, k->fd, flags, &running);
	cs_drive(cs);
}

/* libcurl says which of its sockets to watch, and for what. */
static int
cs_socket_cb(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct crowdsec *cs = userp;
	struct cs_sock *k = socketp;
	uint32_t ev = (what & CURL_POLL_IN ? EPOLLIN : 0) |
	    (what & CURL_POLL_OUT ? EPOLLOUT : 0);

	(void)e;
	if (what == CURL_POLL_REMOVE) {
		if (k != NULL) {
			evloop_del(cs->sw->loop, k->src);
			free(k);
		}
		curl_multi_assign(cs->multi, s, NULL);
		return 0;
	}
	if (k != NULL)
		return evloop_mod(cs->sw->loop, k->src, ev) < 0 ? -1 : 0;
	if ((k = calloc(1, sizeof(*k))) == NULL)
		return -1;
	k->cs = cs;
	k->fd = s;
	if (evloop_add(cs->sw->loop, s, ev, cs_on_socket, k, &k->src) < 0) {
		free(k);
		return -1;
	}
	curl_multi_assign(cs->multi, s, k);
	return 0;
}

/* libcurl's one timer, as a timerfd (it must not be driven from inside
 * this callback). */
static int
cs_timer_cb(CURLM *m, long timeout_ms, void *userp)
{
	struct crowdsec *cs = userp;
	struct itimerspec its = { { 0, 0 }, { 0, 0 } };

	(void)m;
	if (timeout_ms >= 0) {
		its.it_value.tv_sec = timeout_ms / 1000;
		its.it_value.tv_nsec = (timeout_ms % 1000) * 1000000L;
		if (timeout_ms == 0)
			its.it_value.tv_nsec = 1000;
	}
	return timerfd_settime(cs->timer_fd, 0, &its, NULL) < 0 ? -1 : 0;
}

static void
cs_on_timer(void *arg, uint32_t events)
{
	struct crowdsec *cs = arg;
	uint64_t n;
	int running;

	(void)events;
	if (read(cs->timer_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_warn("crowdsec: timerfd");
	curl_multi_socket_action(cs->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	cs_drive(cs);
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

/* Start a request: path under [crowdsec] url; body NULL for a GET. */
static int
cs_start(struct crowdsec *cs, enum cs_job job, const char *path,
    const char *header, char *body)
{
	char url[2048];
	CURL *e;

	snprintf(url, sizeof(url), "%s%s", cs->sw->cfg->crowdsec.url, path);
	if ((e = curl_easy_init()) == NULL)
		return -ENOMEM;
	cs->body[job].len = 0;
	cs->body[job].over = false;
	cs->hdr[job] = curl_slist_append(NULL, "Content-Type: "
	    "application/json");
	if (header != NULL)
		cs->hdr[job] = curl_slist_append(cs->hdr[job], header);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "sockwatch/" SW_VERSION);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)CS_CONNECT_MS);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)CS_TIMEOUT_MS);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, cs->hdr[job]);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, cs_write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &cs->body[job]);
	curl_easy_setopt(e, CURLOPT_PRIVATE, (void *)(intptr_t)job);
	if (body != NULL) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	if (curl_multi_add_handle(cs->multi, e) != CURLM_OK) {
		curl_easy_cleanup(e);
		curl_slist_free_all(cs->hdr[job]);
		cs->hdr[job] = NULL;
		return -EIO;
	}
	cs->easy[job] = e;
	return 0;
}

static void
cs_end(struct crowdsec *cs, enum cs_job job)
{
	if (cs->easy[job] == NULL)
		return;
	curl_multi_remove_handle(cs->multi, cs->easy[job]);
	curl_easy_cleanup(cs->easy[job]);
	curl_slist_free_all(cs->hdr[job]);
	cs->easy[job] = NULL;
	cs->hdr[job] = NULL;
	if (job == CS_PUSH || job == CS_LOGIN) {
		free(cs->sent);
		cs->sent = NULL;
	}
}

/* ---- retries ------------------------------------------------------------ */

static void
cs_failed(struct cs_retry *t, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Backoff doubles from 1 s to 5 min. The first failure after a success
 * is logged, and then every 10th: a LAPI down is one line a while. */
static void
cs_failed(struct cs_retry *t, const char *what, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->error, sizeof(t->error), fmt, ap);
	va_end(ap);
	t->errors++;
	t->delay_ms = t->delay_ms == 0 ? CS_BACKOFF_MIN :
	    t->delay_ms * 2 > CS_BACKOFF_MAX ? CS_BACKOFF_MAX : t->delay_ms * 2;
	t->next_ms = time_mono_ms() + t->delay_ms;
	if (t->delay_ms == CS_BACKOFF_MIN || t->errors % 10 == 0)
		log_warnx("crowdsec: %s: %s (%llu errors; retrying in %lld s)",
		    what, t->error, (unsigned long long)t->errors,
		    (long long)t->delay_ms / 1000);
}

static void
cs_ok(struct cs_retry *t, const char *what, int64_t next_ms)
{
	if (t->delay_ms != 0)
		log_info("crowdsec: %s works again", what);
	t->delay_ms = 0;
	t->error[0] = '\0';
	t->next_ms = next_ms;
	t->ok_ms = time_now_ms();
}

/* The transfer's outcome as text, or NULL when it got an HTTP answer. */
static const char *
cs_transfer_error(struct crowdsec *cs, enum cs_job job, CURLcode rc,
    char *buf, size_t len)
{
	if (cs->body[job].over)
		snprintf(buf, len, "answer longer than %u MiB",
		    CS_BODY_MAX >> 20);
	else if (rc != CURLE_OK)
		snprintf(buf, len, "%s", curl_easy_strerror(rc));
	else
		return NULL;
	return buf;
}

/* ---- bouncer ------------------------------------------------------------ */

static int
cs_cidr_cmp(const void *a, const void *b)
{
	return cidr_compare(a, b);
}

/* After the startup stream: our crowdsec bans it no longer holds (lifted
 * while we were away) go. */
static void
cs_lift_stale(struct crowdsec *cs, const struct crowdsec_stream *st)
{
	struct sw *sw = cs->sw;
	struct cidr *keep, *stale = NULL;
	const struct ban *b;
	size_t i, n = bans_count(sw->enf.bans), k = 0, lifted;
	char err[256];

	keep = calloc(st->nadd + 1, sizeof(*keep));
	stale = calloc(n + 1, sizeof(*stale));
	if (keep == NULL || stale == NULL)
		goto out;
	for (i = 0; i < st->nadd; i++)
		keep[i] = st->add[i].peer;
	qsort(keep, st->nadd, sizeof(*keep), cs_cidr_cmp);
	for (i = 0; i < n; i++) {
		b = bans_at(sw->enf.bans, i);
		if (strcmp(b->source, CS_SOURCE) == 0 &&
		    bsearch(&b->peer, keep, st->nadd, sizeof(*keep),
		    cs_cidr_cmp) == NULL)
			stale[k++] = b->peer;
	}
	if (enforce_lift_from(sw, stale, k, CS_SOURCE, &lifted, err,
	    sizeof(err)) < 0)
		log_warnx("crowdsec: %s", err);
	cs->lifted += lifted;
out:
	free(keep);
	free(stale);
}

/* One answer, parsed in parse_ms: its bans in one batch. */
static void
cs_apply(struct crowdsec *cs, const struct crowdsec_stream *st,
    int64_t parse_ms)
{
	struct sw *sw = cs->sw;
	int64_t t0 = time_mono_ms(), t1;
	size_t i, lifted = 0, added = 0, refused = 0;
	uint64_t len;
	char err[600];
	int r;

	if (st->ndel > 0 && enforce_lift_from(sw, st->del, st->ndel,
	    CS_SOURCE, &lifted, err, sizeof(err)) < 0)
		log_warnx("crowdsec: %s", err);
	for (i = 0; i < st->nadd; i++) {
		len = (uint64_t)st->add[i].remaining_ms;
		if (len > CS_BAN_MAX_MS)
			len = CS_BAN_MAX_MS;
		r = enforce_block_from(sw, &st->add[i].peer, len, CS_SOURCE,
		    "CrowdSec decision", err, sizeof(err));
		if (r == 0)
			added++;
		else if (r != -EALREADY && refused++ < CS_LOG_REFUSED)
			log_warnx("crowdsec: decision not applied: %s", err);
	}
	if (!cs->started)
		cs_lift_stale(cs, st);
	t1 = time_mono_ms();
	if (enforce_commit(sw, err, sizeof(err)) < 0)
		log_warnx("crowdsec: %s (retrying)", err);
	if (refused > CS_LOG_REFUSED)
		log_warnx("crowdsec: %zu decisions not applied in all",
		    refused);
	cs->added += added;
	cs->lifted += lifted;
	cs->refused += refused;
	cs->skipped += st->skipped;
	cs->invalid += st->invalid;
	cs->last_decisions = st->nadd + st->ndel;
	cs->last_apply_ms = time_mono_ms() - t0 + parse_ms;
	if (added + lifted > 0 || st->invalid > 0)
		log_info("crowdsec: %s: %zu bans, %zu lifted, %zu refused, "
		    "%zu not ours, %zu malformed, in %lld ms (parse %lld, "
		    "checks %lld, kernel and database %lld)",
		    cs->started ? "decisions" : "startup stream", added,
		    lifted, refused, st->skipped, st->invalid,
		    (long long)cs->last_apply_ms, (long long)parse_ms,
		    (long long)(t1 - t0), (long long)(time_mono_ms() - t1));
}

static void
cs_poll_done(struct crowdsec *cs, CURLcode rc, long status)
{
	struct cs_buf *b = &cs->body[CS_POLL];
	struct crowdsec_stream st;
	char why[256];
	const char *e;
	int64_t t0;
	int r;

	cs->polls++;
	if ((e = cs_transfer_error(cs, CS_POLL, rc, why, sizeof(why))) !=
	    NULL) {
		cs_failed(&cs->poll, "decisions", "%s", e);
		return;
	}
	if (status != 200) {
		cs_failed(&cs->poll, "decisions", "HTTP status %ld%s", status,
		    status == 403 ? " (is bouncer_key_file's key known to "
		    "the API?)" : "");
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
		cs_failed(&cs->poll, "decisions", "a bad answer: %s", why);
		return;
	}
	cs_apply(cs, &st, time_mono_ms() - t0);
	crowdsec_stream_free(&st);
	cs->started = true;
	cs_ok(&cs->poll, "decisions", time_mono_ms() +
	    (int64_t)cs->sw->cfg->crowdsec.poll_interval_ms);
}

static void
cs_poll_start(struct crowdsec *cs)
{
	char hdr[4200];
	int r;

	snprintf(hdr, sizeof(hdr), "X-Api-Key: %s",
	    cs->sw->cfg->crowdsec.bouncer_key);
	r = cs_start(cs, CS_POLL, cs->started ? "v1/decisions/stream" :
	    "v1/decisions/stream?startup=true", hdr, NULL);
	explicit_bzero(hdr, sizeof(hdr));
	if (r < 0)
		cs_failed(&cs->poll, "decisions", "cannot start: %s",
		    strerror(-r));
}

/* ---- agent -------------------------------------------------------------- */

static void
cs_login_start(struct crowdsec *cs)
{
	const struct config *cfg = cs->sw->cfg;
	json_t *j;
	int r = -ENOMEM;

	j = json_pack("{s:s, s:s, s:[s, s, s, s]}", "machine_id",
	    cfg->crowdsec.machine_id, "password",
	    cfg->crowdsec.machine_password, "scenarios",
	    crowdsec_scenario("portscan"), crowdsec_scenario("synflood"),
	    crowdsec_scenario("bruteforce"), crowdsec_scenario("denylist"));
	if (j != NULL && (cs->sent = json_dumps(j, JSON_COMPACT)) != NULL)
		r = cs_start(cs, CS_LOGIN, "v1/watchers/login", NULL,
		    cs->sent);
	json_decref(j);
	if (r < 0) {
		free(cs->sent);
		cs->sent = NULL;
		cs_failed(&cs->push, "login", "cannot start: %s",
		    strerror(-r));
	}
}

static void
cs_login_done(struct crowdsec *cs, CURLcode rc, long status)
{
	const struct cs_buf *b = &cs->body[CS_LOGIN];
	const char *e, *tok;
	json_t *j = NULL;
	char why[256];
	size_t i;

	if ((e = cs_transfer_error(cs, CS_LOGIN, rc, why, sizeof(why))) !=
	    NULL) {
		cs_failed(&cs->push, "login", "%s", e);
		return;
	}
	if (status != 200) {
		cs_failed(&cs->push, "login", "HTTP status %ld%s", status,
		    status == 401 || status == 403 ? " (machine_id or its "
		    "password refused)" : "");
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
		cs_failed(&cs->push, "login", "a bad answer (no token)");
		return;
	}
	free(cs->token);
	cs->token = strdup(tok);
	cs->token_until = time_mono_ms() + CS_TOKEN_MS;
	json_decref(j);
	cs->push.next_ms = 0;
}

static void
cs_push_start(struct crowdsec *cs)
{
	struct crowdsec_signal batch[CS_PUSH_BATCH];
	char hdr[4200];
	json_t *j;
	size_t i, n = cs->qlen < CS_PUSH_BATCH ? cs->qlen : CS_PUSH_BATCH;
	int r = -ENOMEM;

	for (i = 0; i < n; i++)
		batch[i] = cs->q[(cs->qhead + i) % CS_QUEUE_MAX];
	snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s", cs->token);
	if ((j = crowdsec_alerts_json(batch, n)) != NULL &&
	    (cs->sent = json_dumps(j, JSON_COMPACT)) != NULL)
		r = cs_start(cs, CS_PUSH, "v1/alerts", hdr, cs->sent);
	json_decref(j);
	if (r < 0) {
		free(cs->sent);
		cs->sent = NULL;
		cs_failed(&cs->push, "alerts", "cannot start: %s",
		    strerror(-r));
		return;
	}
	cs->inflight = cs->batch = n;
}

static void
cs_push_done(struct crowdsec *cs, CURLcode rc, long status)
{
	const struct cs_buf *b = &cs->body[CS_PUSH];
	char why[256];
	const char *e;
	size_t n = cs->inflight;
	json_t *j;
	bool ok;

	cs->inflight = 0;
	if ((e = cs_transfer_error(cs, CS_PUSH, rc, why, sizeof(why))) !=
	    NULL) {
		cs_failed(&cs->push, "alerts", "%s", e);
		return;
	}
	if (status == 401) {
		/* The token expired early (the API restarted): log in. */
		free(cs->token);
		cs->token = NULL;
		cs_failed(&cs->push, "alerts", "token refused (HTTP 401)");
		cs->push.next_ms = time_mono_ms();
		return;
	}
	if (status != 200 && status != 201) {
		cs_failed(&cs->push, "alerts", "HTTP status %ld", status);
		return;
	}
	/* The API answers with the new alerts' ids: anything else (a proxy's
	 * page) has not taken them, and they stay queued. */
	j = json_loadb(b->p != NULL ? b->p : "", b->len, 0, NULL);
	ok = json_is_array(j) && json_array_size(j) == cs->batch;
	json_decref(j);
	if (!ok) {
		cs_failed(&cs->push, "alerts", "a bad answer (not the ids of "
		    "%zu alerts)", cs->batch);
		return;
	}
	/* The oldest may have been dropped for newer ones meanwhile. */
	if (n > cs->qlen)
		n = cs->qlen;
	cs->qhead = (cs->qhead + n) % CS_QUEUE_MAX;
	cs->qlen -= n;
	cs->pushed += n;
	cs_ok(&cs->push, "alerts", 0);
}

void
crowdsec_alert(struct sw *sw, const struct alert *a)
{
	struct crowdsec *cs = sw->cs;
	struct crowdsec_signal *g;
	const char *scen;
	const json_t *ev, *v;
	char *p;

	if (cs == NULL || sw->cfg->crowdsec.machine_id == NULL ||
	    !a->has_peer || (scen = crowdsec_scenario(a->kind)) == NULL)
		return;
	if (cs->qlen == CS_QUEUE_MAX) {
		/* Bounded: the oldest goes (one in flight stays counted
		 * as sent when it lands). */
		cs->qhead = (cs->qhead + 1) % CS_QUEUE_MAX;
		cs->qlen--;
		cs->dropped++;
		if (cs->inflight > 0)
			cs->inflight--;
	}
	g = &cs->q[(cs->qhead + cs->qlen++) % CS_QUEUE_MAX];
	memset(g, 0, sizeof(*g));
	snprintf(g->scenario, sizeof(g->scenario), "%s", scen);
	g->source = a->peer;
	/* Printable ASCII only: the JSON of a batch must always build. */
	snprintf(g->message, sizeof(g->message), "%s", a->message);
	for (p = g->message; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = '?';
	g->time_ms = a->time_ms;
	ev = a->evidence;
	/* The events the detector counted. */
	if ((v = json_object_get(ev, "ports")) != NULL && json_is_integer(v) &&
	    strcmp(a->kind, "portscan") == 0)
		g->events = (uint32_t)json_integer_value(v);
	else if ((v = json_object_get(ev, "attempts")) != NULL ||
	    (v = json_object_get(ev, "connections")) != NULL ||
	    (v = json_object_get(ev, "syns")) != NULL)
		g->events = json_is_integer(v) && json_integer_value(v) > 0 &&
		    json_integer_value(v) < UINT32_MAX ?
		    (uint32_t)json_integer_value(v) : 1;
	if ((v = json_object_get(ev, "ban")) != NULL && json_is_number(v) &&
	    json_number_value(v) > 0)
		g->ban_ms = (uint64_t)(json_number_value(v) * 1000.0);
	if (strcmp(a->action, "block") != 0)
		g->ban_ms = 0;
}

/* ---- driving ------------------------------------------------------------ */

/* Finished transfers are handled, then what is due is started. */
static void
cs_drive(struct crowdsec *cs)
{
	CURLMsg *m;
	CURLcode rc;
	long status;
	void *priv;
	int left;
	enum cs_job job;

	while ((m = curl_multi_info_read(cs->multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		rc = m->data.result;
		status = 0;
		curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE,
		    &status);
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
		job = (enum cs_job)(intptr_t)priv;
		if (job >= CS_NJOBS || cs->easy[job] != m->easy_handle)
			fatalx("crowdsec: a transfer of no job");
		cs_end(cs, job);
		switch (job) {
		case CS_POLL:
			cs_poll_done(cs, rc, status);
			break;
		case CS_LOGIN:
			cs_login_done(cs, rc, status);
			break;
		case CS_PUSH:
			cs_push_done(cs, rc, status);
			break;
		case CS_NJOBS:
			break;
		}
	}
}

void
crowdsec_tick(struct sw *sw, int64_t now_mono)
{
	struct crowdsec *cs = sw->cs;
	const struct config *cfg = sw->cfg;

	if (cs == NULL)
		return;
	if (cfg->crowdsec.bouncer_key != NULL && cs->easy[CS_POLL] == NULL &&
	    now_mono >= cs->poll.next_ms && sw->enf.bans != NULL)
		cs_poll_start(cs);
	if (cfg->crowdsec.machine_id == NULL || cs->easy[CS_LOGIN] != NULL ||
	    cs->easy[CS_PUSH] != NULL || now_mono < cs->push.next_ms)
		return;
	if (cs->token == NULL || now_mono >= cs->token_until)
		cs_login_start(cs);
	else if (cs->qlen > 0)
		cs_push_start(cs);
}

/* What is in flight ends; the next tick starts over on the configuration
 * as it is now, with the startup stream. */
static void
cs_restart(struct crowdsec *cs)
{
	int j;

	for (j = 0; j < CS_NJOBS; j++)
		cs_end(cs, (enum cs_job)j);
	cs->inflight = 0;
	cs->started = false;
	free(cs->token);
	cs->token = NULL;
	cs->poll.next_ms = cs->push.next_ms = 0;
	cs->poll.delay_ms = cs->push.delay_ms = 0;
}

static bool
cs_wanted(const struct config *cfg)
{
	return cfg->crowdsec.bouncer_key != NULL ||
	    cfg->crowdsec.machine_id != NULL;
}

static bool
cs_differ(const char *a, const char *b)
{
	return (a == NULL) != (b == NULL) || (a != NULL && strcmp(a, b) != 0);
}

int
crowdsec_open(struct sw *sw)
{
	struct crowdsec *cs;

	/* Off, nothing is loaded (libcurl brings TLS); a replayed
	 * capture's alerts are not the fleet's business. */
	if (!cs_wanted(sw->cfg) || sw->replay != NULL)
		return 0;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_warnx("crowdsec: libcurl did not start");
		return -EIO;
	}
	if ((cs = calloc(1, sizeof(*cs))) == NULL ||
	    (cs->q = calloc(CS_QUEUE_MAX, sizeof(*cs->q))) == NULL) {
		free(cs);
		curl_global_cleanup();
		return -ENOMEM;
	}
	cs->sw = sw;
	cs->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK |
	    TFD_CLOEXEC);
	if (cs->timer_fd < 0 || (cs->multi = curl_multi_init()) == NULL ||
	    evloop_add(sw->loop, cs->timer_fd, EPOLLIN, cs_on_timer, cs,
	    &cs->timer_src) < 0) {
		log_warnx("crowdsec: cannot set up its HTTP client");
		sw->cs = cs;
		crowdsec_close(sw);
		return -EIO;
	}
	curl_multi_setopt(cs->multi, CURLMOPT_SOCKETFUNCTION, cs_socket_cb);
	curl_multi_setopt(cs->multi, CURLMOPT_SOCKETDATA, cs);
	curl_multi_setopt(cs->multi, CURLMOPT_TIMERFUNCTION, cs_timer_cb);
	curl_multi_setopt(cs->multi, CURLMOPT_TIMERDATA, cs);
	sw->cs = cs;
	log_info("crowdsec: %s%s%s at %s",
		    sw->cfg->crowdsec.bouncer_key ? "pulling decisions" : "",
		    sw->cfg->crowdsec.bouncer_key &&
		    sw->cfg->crowdsec.machine_id ? " and " : "",
		    sw->cfg->crowdsec.machine_id ? "pushing alerts" : "",
		    sw->cfg->crowdsec.url);
	return 0;
}

void
crowdsec_reload(struct sw *sw, const struct config *old)
{
	const struct config *cfg = sw->cfg;

	if (sw->cs == NULL) {
		if (crowdsec_open(sw) < 0)
			log_warnx("reload: CrowdSec's Local API is not used");
		return;
	}
	if (!cs_wanted(cfg)) {
		log_info("crowdsec: off");
		crowdsec_close(sw);
		return;
	}
	/* A new poll_interval applies from the next poll on its own. */
	if (cs_differ(old->crowdsec.url, cfg->crowdsec.url) ||
	    cs_differ(old->crowdsec.bouncer_key, cfg->crowdsec.bouncer_key) ||
	    cs_differ(old->crowdsec.machine_id, cfg->crowdsec.machine_id) ||
	    cs_differ(old->crowdsec.machine_password,
	    cfg->crowdsec.machine_password)) {
		log_info("crowdsec: [crowdsec] changed: starting over");
		cs_restart(sw->cs);
	}
}

void
crowdsec_close(struct sw *sw)
{
	struct crowdsec *cs = sw->cs;
	int j;

	if (cs == NULL)
		return;
	for (j = 0; j < CS_NJOBS; j++) {
		cs_end(cs, (enum cs_job)j);
		free(cs->body[j].p);
	}
	if (cs->multi != NULL)
		curl_multi_cleanup(cs->multi);
	if (cs->timer_src != NULL)
		evloop_del(sw->loop, cs->timer_src);
	if (cs->timer_fd >= 0)
		close(cs->timer_fd);
	free(cs->token);
	free(cs->q);
	free(cs);
	sw->cs = NULL;
	curl_global_cleanup();
}

/* ---- state -------------------------------------------------------------- */

static json_t *
cs_retry_json(const struct cs_retry *t, bool on)
{
	char when[TIME_RFC3339_LEN];

	return json_pack("{s:s, s:I, s:s?, s:s?, s:I}",
	    "state", !on ? "off" : t->ok_ms == 0 && t->errors == 0 ?
	    "starting" : t->delay_ms == 0 ? "ok" : "failing",
	    "errors", (json_int_t)t->errors,
	    "error", t->error[0] ? t->error : NULL,
	    "last_ok", t->ok_ms ? time_format_rfc3339(t->ok_ms, when,
	    sizeof(when)) : NULL,
	    "backoff_ms", (json_int_t)t->delay_ms);
}

json_t *
crowdsec_json(const struct sw *sw)
{
	const struct crowdsec *cs = sw->cs;
	json_t *pull, *push;

	if (cs == NULL)
		return json_null();
	pull = cs_retry_json(&cs->poll, sw->cfg->crowdsec.bouncer_key != NULL);
	push = cs_retry_json(&cs->push, sw->cfg->crowdsec.machine_id != NULL);
	json_object_update_new(pull, json_pack("{s:I, s:I, s:I, s:I, s:I, "
	    "s:I, s:I, s:I}", "polls", (json_int_t)cs->polls,
	    "bans", (json_int_t)cs->added, "lifted", (json_int_t)cs->lifted,
	    "refused", (json_int_t)cs->refused,
	    "skipped", (json_int_t)cs->skipped,
	    "malformed", (json_int_t)cs->invalid,
	    "last_decisions", (json_int_t)cs->last_decisions,
	    "last_apply_ms", (json_int_t)cs->last_apply_ms));
	json_object_update_new(push, json_pack("{s:I, s:I, s:I}",
	    "pushed", (json_int_t)cs->pushed, "queued", (json_int_t)cs->qlen,
	    "dropped", (json_int_t)cs->dropped));
	return json_pack("{s:s, s:o, s:o}", "url", sw->cfg->crowdsec.url,
	    "decisions", pull, "alerts", push);
}

void
crowdsec_metrics(const struct sw *sw, struct mbuf *b)
{
	const struct crowdsec *cs = sw->cs;
	const char *labels[3] = { "direction", NULL, NULL };
	const char *name;

	if (cs == NULL)
		return;
	name = "sockwatch_crowdsec_errors_total";
	metrics_family(b, name, "counter", "Failed exchanges with CrowdSec's "
	    "Local API (down, refused, or a bad answer).");
	labels[1] = "decisions";
	metrics_sample(b, name, labels, (double)cs->poll.errors);
	labels[1] = "alerts";
	metrics_sample(b, name, labels, (double)cs->push.errors);
	name = "sockwatch_crowdsec_up";
	metrics_family(b, name, "gauge", "1 while the last exchange with the "
	    "Local API worked.");
	labels[1] = "decisions";
	metrics_sample(b, name, labels, cs->poll.ok_ms && !cs->poll.delay_ms);
	labels[1] = "alerts";
	metrics_sample(b, name, labels, cs->push.ok_ms && !cs->push.delay_ms);
	name = "sockwatch_crowdsec_decisions_total";
	metrics_family(b, name, "counter", "Decisions read from the stream, "
	    "by what became of them.");
	labels[0] = "result";
	labels[1] = "banned";
	metrics_sample(b, name, labels, (double)cs->added);
	labels[1] = "lifted";
	metrics_sample(b, name, labels, (double)cs->lifted);
	labels[1] = "refused";
	metrics_sample(b, name, labels, (double)cs->refused);
	labels[1] = "skipped";
	metrics_sample(b, name, labels, (double)cs->skipped);
	labels[1] = "malformed";
	metrics_sample(b, name, labels, (double)cs->invalid);
	name = "sockwatch_crowdsec_alerts_total";
	metrics_family(b, name, "counter", "Our alerts for the Local API, by "
	    "what became of them.");
	labels[1] = "pushed";
	metrics_sample(b, name, labels, (double)cs->pushed);
	labels[1] = "dropped";
	metrics_sample(b, name, labels, (double)cs->dropped);
	metrics_family(b, "sockwatch_crowdsec_alerts_queued", "gauge",
	    "Our alerts waiting to be pushed.");
	metrics_sample(b, "sockwatch_crowdsec_alerts_queued", NULL,
	    (double)cs->qlen);
}
