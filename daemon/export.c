/*
 * The control socket and the metrics endpoint, from the parent's side.
 * The exporter child (exporter.c) serves the connections; here we answer
 * the requests it relays (commands.c), render the metrics it asks for,
 * send down the events for its subscribers and the uids that may read.
 *
 * The child may be compromised: a request is parsed again and held to
 * the same rules. A root client's request comes with the client's own
 * socket, whose peer credentials are read here (uid 0, and connected to
 * our control socket); only then may it change state or have the root
 * answers (a fresh dump). Anything else is a reader's, answered only for
 * the commands readers may run.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "../common/ipc.h"
#include "../common/log.h"
#include "../common/privdrop.h"
#include "../common/timeutil.h"
#include "sockwatchd.h"

#define EXPORT_READERS_MS	60000	/* the control group read again */
#define EXPORT_NSS_BUF		65536	/* getpw*_r and getgr*_r buffers */

struct export {
	struct sw *sw;
	struct child child;
	struct privdrop_user user;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t dev;			/* of the socket file the child made */
	ino_t ino;
	struct export_stats st;
	uint64_t subscribers;		/* as last said, plus those since */
	int64_t next_readers_ms;
};

static bool
export_listed(const char *const *list, const char *cmd)
{
	for (; *list != NULL; list++)
		if (strcmp(*list, cmd) == 0)
			return true;
	return false;
}

/* Is fd a connection to our control socket from uid 0? Read from the
 * kernel, not from what the exporter says. */
static bool
export_peer_is_root(const struct export *ex, int fd)
{
	struct sockaddr_un sun;
	socklen_t len = sizeof(sun);
	struct ucred cr;
	socklen_t crlen = sizeof(cr);

	if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr,
	    &crlen) < 0 || crlen != sizeof(cr) || cr.uid != 0)
		return false;
	memset(&sun, 0, sizeof(sun));
	if (getsockname(fd, (struct sockaddr *)&sun, &len) < 0 ||
	    sun.sun_family != AF_UNIX || len <= offsetof(struct sockaddr_un,
	    sun_path))
		return false;
	return strncmp(sun.sun_path, ex->path, sizeof(sun.sun_path)) == 0;
}

/* An answer over the framing's limit: the client hears why. */
static void
export_too_big(struct export *ex, uint64_t client)
{
	static const char msg[] = "{\"ok\":false,\"error\":\"the answer is "
	    "too large: narrow the request\"}";

	(void)child_send(&ex->child, IPC_RESPONSE, &client, sizeof(client),
	    msg, sizeof(msg) - 1);
}

static void
export_answer(struct export *ex, uint64_t client, json_t *resp)
{
	char *text;
	int r;

	/* The exporter sends this text as it is. */
	resp = control_ok_first(resp);
	text = resp != NULL ? json_dumps(resp, JSON_COMPACT) : NULL;
	json_decref(resp);
	if (text == NULL)
		text = strdup("{\"ok\":false,\"error\":\"out of memory\"}");
	if (text == NULL)
		return;
	r = child_send(&ex->child, IPC_RESPONSE, &client, sizeof(client),
	    text, strlen(text));
	free(text);
	if (r == -EMSGSIZE)
		export_too_big(ex, client);
}

static json_t *
export_refuse(const char *what, const char *cmd)
{
	return json_pack("{s:b, s:s++}", "ok", 0, "error", what, cmd,
	    strcmp(what, "permission denied: ") == 0 ? " needs root" : "");
}

static void
export_request(struct export *ex, const struct ipc_msg *m)
{
	const char *json, *cmd, *err = NULL;
	struct linger nolinger = { 0, 0 };
	struct ipc_request q;
	json_t *req, *resp;
	bool sub = false, root;
	size_t len;
	int fd;

	if (ipc_decode_request(m, &q, &json, &len) < 0 ||
	    (req = json_loadb(json, len, JSON_REJECT_DUPLICATES,
	    NULL)) == NULL) {
		log_warnx("the exporter relayed a request that does not "
		    "parse: ended");
		child_kill(&ex->child);
		return;
	}
	fd = q.fd ? ipc_reader_take_fd(&ex->child.rd) : -1;
	root = export_peer_is_root(ex, fd);
	if (fd >= 0) {
		/* Whatever it is, closing it must not wait (SO_LINGER). */
		(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &nolinger,
		    sizeof(nolinger));
		close(fd);
	}
	cmd = json_string_value(json_object_get(req, "cmd"));
	if (!json_is_object(req) || cmd == NULL || strlen(cmd) > 32)
		resp = json_pack("{s:b, s:s}", "ok", 0, "error",
		    "bad request");
	else if (export_listed(commands_admin, cmd) && !root)
		resp = export_refuse("permission denied: ", cmd);
	else if (!root && !export_listed(commands_reader, cmd))
		resp = export_refuse("permission denied: ", cmd);
	else {
		resp = commands_handle(ex->sw, cmd, req, root, &sub, &err);
		if (resp == NULL)
			resp = json_pack("{s:b, s:s}", "ok", 0, "error",
			    err != NULL ? err : "internal error");
		else if (sub)
			ex->subscribers++;
	}
	json_decref(req);
	export_answer(ex, q.client, resp);
}

static void
export_metrics(struct export *ex, const struct ipc_msg *m)
{
	struct mbuf b = { 0 };
	const uint8_t *rest;
	uint32_t seq;
	size_t n;

	if (ipc_decode_seq(m, &seq, &rest, &n) < 0)
		return;
	commands_metrics(ex->sw, &b);
	seq = htonl(seq);
	if (b.oom || child_send(&ex->child, IPC_METRICS_REPLY, &seq,
	    sizeof(seq), b.buf, b.len) < 0)
		log_warnx("cannot answer a metrics scrape");
	mbuf_free(&b);
}

static void
export_message(void *arg, const struct ipc_msg *m)
{
	struct export *ex = arg;

	switch (m->type) {
	case IPC_REQUEST:
		export_request(ex, m);
		break;
	case IPC_METRICS_REQ:
		export_metrics(ex, m);
		break;
	case IPC_CONTROL_STATS:
		if (ipc_decode_fixed(m, IPC_CONTROL_STATS, &ex->st,
		    sizeof(ex->st)) == 0)
			ex->subscribers = ex->st.subscribers;
		break;
	default:
		break;			/* the reader's mask took the rest */
	}
}

/* The bans a block request asked for, and what was raised meanwhile. */
static void
export_after(void *arg)
{
	struct export *ex = arg;

	enforce_flush(ex->sw);
	alerts_flush(ex->sw);
}

static void
export_gone(void *arg)
{
	struct export *ex = arg;

	memset(&ex->st, 0, sizeof(ex->st));
	ex->subscribers = 0;
}

static void
export_run(void *arg, int fd, pid_t parent)
{
	struct export *ex = arg;
	struct exporter_args a;

	memset(&a, 0, sizeof(a));
	a.cfg = ex->sw->cfg;
	a.fd = fd;
	a.user = &ex->user;
	a.parent = parent;
	exporter_main(&a);
}

static const struct child_ops export_ops = {
	.name = "exporter",
	.kind = "exporter",
	.accept = IPC_FROM_EXPORTER,
	.run = export_run,
	.message = export_message,
	.after = export_after,
	.gone = export_gone,
};

static int
export_add_uid(uint32_t **list, size_t *n, size_t *cap, uint32_t uid)
{
	uint32_t *p;

	if (*n == IPC_READERS_MAX)
		return -E2BIG;
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		if ((p = realloc(*list, *cap * sizeof(*p))) == NULL)
			return -ENOMEM;
		*list = p;
	}
	(*list)[(*n)++] = uid;
	return 0;
}

/* The members of the control group (listed in it, or with it as their
 * primary group) to the exporter, which cannot read the account
 * database. Changes to the group reach it within EXPORT_READERS_MS. */
static void
export_readers(struct export *ex)
{
	const char *group = ex->sw->cfg->daemon.control_group;
	struct group gr, *grp = NULL;
	struct passwd pw, *pwp;
	uint32_t *uids = NULL;
	size_t n = 0, cap = 0, i;
	char *buf;

	if ((buf = malloc(EXPORT_NSS_BUF)) == NULL)
		return;
	if (group != NULL && getgrnam_r(group, &gr, buf, EXPORT_NSS_BUF,
	    &grp) == 0 && grp != NULL) {
		gid_t gid = gr.gr_gid;
		char **names = NULL;
		size_t nn = 0;

		for (i = 0; gr.gr_mem[i] != NULL; i++)
			nn++;
		if ((names = calloc(nn + 1, sizeof(*names))) != NULL)
			for (i = 0; i < nn; i++)
				names[i] = strdup(gr.gr_mem[i]);
		for (i = 0; names != NULL && i < nn; i++)
			if (names[i] != NULL && getpwnam_r(names[i], &pw, buf,
			    EXPORT_NSS_BUF, &pwp) == 0 && pwp != NULL)
				(void)export_add_uid(&uids, &n, &cap,
				    (uint32_t)pw.pw_uid);
		for (i = 0; names != NULL && i < nn; i++)
			free(names[i]);
		free(names);
		setpwent();
		while (getpwent_r(&pw, buf, EXPORT_NSS_BUF, &pwp) == 0)
			if (pw.pw_gid == gid)
				(void)export_add_uid(&uids, &n, &cap,
				    (uint32_t)pw.pw_uid);
		endpwent();
	}
	free(buf);
	if (child_running(&ex->child))
		(void)child_send(&ex->child, IPC_READERS, uids,
		    n * sizeof(*uids), NULL, 0);
	free(uids);
}

/* The socket file the new child made (it is there once it said hello). */
static void
export_note_socket(struct export *ex)
{
	struct stat st;

	if (child_running(&ex->child) && lstat(ex->path, &st) == 0) {
		ex->dev = st.st_dev;
		ex->ino = st.st_ino;
	}
}

int
export_open(struct sw *sw)
{
	struct export *ex;
	int r;

	if ((ex = calloc(1, sizeof(*ex))) == NULL)
		return -ENOMEM;
	ex->sw = sw;
	child_init(&ex->child, sw, &export_ops, ex);
	sw->exp = ex;
	snprintf(ex->path, sizeof(ex->path), "%s", sw->cfg->daemon.socket);
	if ((r = privdrop_lookup(sw->cfg->daemon.user, &ex->user)) < 0) {
		log_warnx("[daemon] user %s: %s", sw->cfg->daemon.user,
		    r == -EINVAL ? "must not be root" : "no such user (create "
		    "it: useradd --system sockwatch)");
		return r;
	}
	if ((r = child_start(&ex->child)) < 0)
		return r;
	export_note_socket(ex);
	export_readers(ex);
	ex->next_readers_ms = time_mono_ms() + EXPORT_READERS_MS;
	return 0;
}

void
export_close(struct sw *sw)
{
	struct export *ex = sw->exp;
	struct stat st;

	if (ex == NULL)
		return;
	child_stop(&ex->child);
	/* The child made the socket file and cannot remove it any more;
	 * only that file goes. */
	if (lstat(ex->path, &st) == 0 && S_ISSOCK(st.st_mode) &&
	    st.st_dev == ex->dev && st.st_ino == ex->ino)
		unlink(ex->path);
	free(ex);
	sw->exp = NULL;
}

void
export_tick(struct sw *sw, int64_t now_mono)
{
	struct export *ex = sw->exp;

	if (ex == NULL)
		return;
	if (!child_running(&ex->child) && ex->child.next_start_ms != 0 &&
	    now_mono >= ex->child.next_start_ms) {
		child_tick(&ex->child, now_mono);
		export_note_socket(ex);
		ex->next_readers_ms = 0;
	}
	if (child_running(&ex->child) && now_mono >= ex->next_readers_ms) {
		export_readers(ex);
		ex->next_readers_ms = now_mono + EXPORT_READERS_MS;
	}
}

void
export_reload(struct sw *sw)
{
	if (sw->exp != NULL)
		sw->exp->next_readers_ms = 0;
}

void
export_event(struct sw *sw, const json_t *ev)
{
	struct export *ex = sw->exp;
	char *text;

	if (ex == NULL || ex->subscribers == 0 || !child_running(&ex->child))
		return;
	if ((text = json_dumps(ev, JSON_COMPACT)) == NULL)
		return;
	(void)child_send(&ex->child, IPC_EVENT, text, strlen(text), NULL, 0);
	free(text);
}

unsigned int
export_nsubscribers(const struct sw *sw)
{
	return sw->exp != NULL ? (unsigned int)sw->exp->subscribers : 0;
}

const struct export_stats *
export_stats(const struct sw *sw)
{
	static const struct export_stats none;

	return sw->exp != NULL ? &sw->exp->st : &none;
}

uint64_t
export_deaths(const struct sw *sw)
{
	return sw->exp != NULL ? sw->exp->child.deaths : 0;
}

bool
export_is_child(const struct sw *sw, pid_t pid)
{
	return pid == getpid() || (sw->exp != NULL && sw->exp->child.pid != 0 &&
	    pid == sw->exp->child.pid);
}
