/* sockwatchd: set up, run the loop, tear down. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/privdrop.h"
#include "../common/timeutil.h"
#include "../common/util.h"
#include "sockwatchd.h"

static void
usage(FILE *f)
{
	fprintf(f, "usage: sockwatchd [-fnv] [-c FILE] [--replay FILE.pcap]\n"
	    "  -f       stay in the foreground and log to stderr\n"
	    "  -c FILE  configuration file (default %s;\n"
	    "           the built-in default when that file is missing)\n"
	    "  -n       check the configuration and exit (0 ok, 1 errors)\n"
	    "  -v       more verbose logging (repeat for more)\n"
	    "  --replay FILE  run a capture file through the detectors (its\n"
	    "           packets' own timestamps as the clock) instead of\n"
	    "           capturing live, then keep serving the results\n",
	    CONFIG_DEFAULT_PATH);
}

/* Load the configured file, or the compiled-in default when no -c was
 * given and the default path does not exist. */
static int
load_config(const char *path, struct config **ret_cfg, char *err,
    size_t errlen)
{
	struct config_error e = { "" };
	int r;

	if (path != NULL)
		r = config_load(path, ret_cfg, &e);
	else
		r = config_load_default(ret_cfg, &e);
	if (r < 0)
		snprintf(err, errlen, "%s", e.msg[0] ? e.msg : strerror(-r));
	return r;
}

/* A reload that failed: the running configuration stays; say why. */
static int
reload_failed(struct sw *sw, int r, const char *msg, char *err,
    size_t errlen)
{
	sw->last_reload_ok = false;
	snprintf(sw->last_reload_error, sizeof(sw->last_reload_error), "%s",
	    msg);
	sw->n.reloads_failed++;
	log_warnx("reload failed, the running configuration stays: %s", msg);
	if (err != NULL)
		snprintf(err, errlen, "%s", msg);
	return r;
}

/* Two optional strings differ. */
static bool
changed(const char *a, const char *b)
{
	return (a == NULL) != (b == NULL) || (a != NULL && strcmp(a, b) != 0);
}

int
sw_reload(struct sw *sw, char *err, size_t errlen)
{
	struct config *cfg, *old;
	char msg[600];
	int r;

	sw->last_reload_ms = time_now_ms();
	r = load_config(sw->cfg_path, &cfg, msg, sizeof(msg));
	if (r < 0)
		return reload_failed(sw, r, msg, err, errlen);
	if (strcmp(cfg->daemon.socket, sw->cfg->daemon.socket) != 0 ||
	    strcmp(cfg->daemon.database, sw->cfg->daemon.database) != 0)
		log_warnx("reload: [daemon] socket and database changes take "
		    "effect at the next restart");
	if (changed(cfg->daemon.metrics_listen,
	    sw->cfg->daemon.metrics_listen) ||
	    changed(cfg->daemon.control_group, sw->cfg->daemon.control_group))
		log_warnx("reload: [daemon] metrics_listen and control_group "
		    "changes take effect at the next restart");
	if (strcmp(cfg->daemon.user, sw->cfg->daemon.user) != 0)
		log_warnx("reload: [daemon] user changes take effect at the "
		    "next restart");
	/* All or nothing: on failure everything keeps the old policy (the
	 * kernel's lists are put back). */
	if ((r = enforce_reconfigure(sw, cfg, msg, sizeof(msg))) < 0) {
		config_free(cfg);
		return reload_failed(sw, r, msg, err, errlen);
	}
	old = sw->cfg;
	sw->cfg = cfg;
	crowdsec_reload(sw, old);
	config_free(old);
	sw->prune_next_ms = 0;		/* the new alerts limits, now */
	/* The detectors and [daemon] interfaces take effect in a new
	 * inspector, which starts with an empty peer table (its handles are
	 * opened by the child before it drops privileges). A replay is not
	 * run again. */
	if (sw->replay == NULL && capwatch_reload(sw) < 0)
		log_warnx("reload: capture interfaces are not watched");
	if (sw->replay == NULL && inspect_restart(sw) < 0)
		log_warnx("reload: the packet inspector did not start again; "
		    "retrying");
	if (authlog_reload(sw) < 0)
		log_warnx("reload: [bruteforce] log is not followed");
	sw->last_reload_ok = true;
	sw->last_reload_error[0] = '\0';
	sw->n.reloads_ok++;
	export_reload(sw);
	log_info("configuration reloaded from %s", sw->cfg_path ?
	    sw->cfg_path : "the built-in default");
	return 0;
}

static void
on_signal(void *arg, uint32_t events)
{
	struct sw *sw = arg;
	struct signalfd_siginfo si;
	int r;

	(void)events;
	while (read(sw->signal_fd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			log_info("signal %u: stopping", si.ssi_signo);
			sw->stop = true;
			break;
		case SIGHUP:
			sw_reload(sw, NULL, 0);
			/* Log rotation: reopen the JSON-lines file either way. */
			if ((r = sinks_reopen(sw->sinks)) < 0)
				log_warnx("cannot reopen the alerts file: %s",
				    strerror(-r));
			break;
		}
	}
}

static void
on_tick(void *arg, uint32_t events)
{
	struct sw *sw = arg;
	uint64_t expirations;

	(void)events;
	if (read(sw->timer_fd, &expirations, sizeof(expirations)) < 0 &&
	    errno != EAGAIN)
		log_warn("timerfd");
	scan_tick(sw, time_mono_ms());
	inspect_tick(sw, time_mono_ms());
	capwatch_tick(sw, time_mono_ms());
	authlog_tick(sw, time_mono_ms());
	enforce_tick(sw, time_mono_ms());
	crowdsec_tick(sw, time_mono_ms());
	alerts_flush(sw);
	alerts_prune(sw, time_mono_ms());
	export_tick(sw, time_mono_ms());
	if (sw->watchdog)
		sd_notify(0, "WATCHDOG=1");
}

/* One daemon per socket path: an flock on PATH.lock, held until exit. */
static int
lock_instance(struct sw *sw)
{
	char path[4096];
	int r;

	if ((r = util_mkdir_parents(sw->cfg->daemon.socket, 0755)) < 0) {
		log_warnx("cannot create the directory of %s: %s",
		    sw->cfg->daemon.socket, strerror(-r));
		return r;
	}
	snprintf(path, sizeof(path), "%s.lock", sw->cfg->daemon.socket);
	sw->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (sw->lock_fd < 0) {
		log_warn("cannot open %s", path);
		return -errno;
	}
	if (flock(sw->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			log_warnx("another sockwatchd is already running on %s",
			    sw->cfg->daemon.socket);
		else
			log_warn("cannot lock %s", path);
		return -EEXIST;
	}
	return 0;
}

/*
 * What the parent keeps once its files are open and the exporter runs:
 * CAP_NET_ADMIN (nftables, sock_diag, SOCK_DESTROY), CAP_NET_RAW (each
 * new inspector opens its capture handles before it drops), and
 * CAP_SYS_PTRACE with CAP_DAC_READ_SEARCH (other processes' /proc fds,
 * for attribution). With a control group, CAP_CHOWN (a new exporter
 * gives the control socket to it); with a metrics port under 1024,
 * CAP_NET_BIND_SERVICE (a new exporter binds it). While we are not yet
 * the children's user, also CAP_SETUID and CAP_SETGID (for a child to
 * become it) and CAP_KILL (to end one). Threads started later inherit
 * this set. Fails closed.
 */
static int
drop_privileges(struct sw *sw)
{
	int caps[9] = { CAP_NET_ADMIN, CAP_NET_RAW, CAP_SYS_PTRACE,
	    CAP_DAC_READ_SEARCH };
	struct privdrop_user u;
	const char *step, *p;
	size_t n = 4;
	int r;

	if (sw->cfg->daemon.control_group != NULL)
		caps[n++] = CAP_CHOWN;
	/* A new exporter binds the metrics port again. */
	if (sw->cfg->daemon.metrics_listen != NULL &&
	    (p = strrchr(sw->cfg->daemon.metrics_listen, ':')) != NULL &&
	    atoi(p + 1) < 1024)
		caps[n++] = CAP_NET_BIND_SERVICE;
	if (privdrop_lookup(sw->cfg->daemon.user, &u) == 0 &&
	    (getuid() != u.uid || getgid() != u.gid)) {
		caps[n++] = CAP_SETUID;
		caps[n++] = CAP_SETGID;
		caps[n++] = CAP_KILL;
	}
	if ((r = privdrop_caps(caps, n, &step)) < 0 ||
	    (r = privdrop_no_new_privs(&step)) < 0) {
		log_warnx("cannot drop privileges: %s: %s", step,
		    strerror(-r));
		return r;
	}
	return 0;
}

static int
setup(struct sw *sw)
{
	struct itimerspec its = { { 0, SW_TICK_MS * 1000000L },
	    { 0, SW_TICK_MS * 1000000L } };
	char err[512];
	sigset_t mask;
	int r;

	if ((r = lock_instance(sw)) < 0)
		return r;
	if ((r = evloop_new(&sw->loop)) < 0)
		return r;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sw->signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	sw->timer_fd = timerfd_create(CLOCK_MONOTONIC,
	    TFD_NONBLOCK | TFD_CLOEXEC);
	if (sw->signal_fd < 0 || sw->timer_fd < 0 ||
	    timerfd_settime(sw->timer_fd, 0, &its, NULL) < 0) {
		log_warn("signalfd/timerfd");
		return -errno;
	}
	if ((r = evloop_add(sw->loop, sw->signal_fd, EPOLLIN, on_signal, sw,
	    &sw->signal_src)) < 0 || (r = evloop_add(sw->loop, sw->timer_fd,
	    EPOLLIN, on_tick, sw, &sw->timer_src)) < 0)
		return r;

	banq_open_store(sw);
	/* Without a database, ids from the clock: they must not repeat
	 * those of an earlier run in the alerts file. */
	sw->next_alert_id = sw->store != NULL ?
	    store_max_alert_id(sw->store) + 1 : (uint64_t)time_now_ms();
	if ((r = sinks_open(sw->cfg->daemon.alerts_file,
	    sw->cfg->daemon.control_group, !sw->foreground, &sw->sinks, err,
	    sizeof(err))) < 0) {
		log_warnx("%s", err);
		return r;
	}

	/* The exporter opens the control socket and the metrics listener
	 * before it drops, so it is started before we drop too. */
	if ((r = export_open(sw)) < 0)
		return r;
	if ((r = drop_privileges(sw)) < 0)
		return r;
	if ((r = scan_open(sw)) < 0)
		return r;
	if ((r = enforce_open(sw)) < 0)
		return r;
	/* The links first: the inspector's first word on its handles is
	 * weighed against them. */
	if ((r = capwatch_open(sw)) < 0 || (r = inspect_open(sw)) < 0)
		return r;
	if ((r = authlog_open(sw)) < 0)
		return r;
	if ((r = crowdsec_open(sw)) < 0)
		return r;
	banq_alert(sw);
	return 0;
}

static void
teardown(struct sw *sw)
{
	crowdsec_close(sw);
	authlog_close(sw);
	inspect_close(sw);
	capwatch_close(sw);
	enforce_close(sw);
	scan_close(sw);
	export_close(sw);
	if (sw->store != NULL) {
		alerts_flush(sw);
		store_close(sw->store);
	}
	if (sw->sinks != NULL)
		sinks_close(sw->sinks);
	alerts_free(sw);
	procmap_free(sw->reader_procs);
	if (sw->loop != NULL) {
		evloop_del(sw->loop, sw->signal_src);
		evloop_del(sw->loop, sw->timer_src);
	}
	if (sw->signal_fd >= 0)
		close(sw->signal_fd);
	if (sw->timer_fd >= 0)
		close(sw->timer_fd);
	evloop_free(sw->loop);
	config_free(sw->cfg);
	if (sw->lock_fd >= 0)
		close(sw->lock_fd);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "replay", required_argument, NULL, 'R' },
		{ NULL, 0, NULL, 0 },
	};
	static struct sw sw;
	struct stat st;
	const char *path = NULL;
	char err[600];
	int c, check = 0, verbose = 0, r;

	/* Before any child is forked: they share the steady clock's base. */
	time_steady_init();
	sw.signal_fd = sw.timer_fd = sw.lock_fd = -1;
	while ((c = getopt_long(argc, argv, "fc:nvh", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			sw.foreground = true;
			break;
		case 'c':
			path = optarg;
			break;
		case 'n':
			check = 1;
			break;
		case 'v':
			verbose++;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("sockwatchd %s\n", SW_VERSION);
			return 0;
		case 'R':
			sw.replay = optarg;
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	/* No -c and no file at the default path: the built-in default. */
	if (path == NULL && access(CONFIG_DEFAULT_PATH, F_OK) == 0)
		path = CONFIG_DEFAULT_PATH;
	sw.cfg_path = path;
	log_init("sockwatchd", sw.foreground || check, verbose);

	if (load_config(path, &sw.cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "sockwatchd: %s\n", err);
		return 1;
	}
	if (check) {
		printf("%s: configuration ok\n", path ? path :
		    "built-in default");
		config_free(sw.cfg);
		return 0;
	}
	/* Nothing we create is anyone else's to read. */
	umask(077);
	privdrop_set_role("parent");
	if (stat("/proc/self/ns/net", &st) == 0)
		sw.netns = (uint64_t)st.st_ino;
	sw.start_mono_ms = time_mono_ms();
	sw.start_wall_ms = time_now_ms();
	sw.last_reload_ok = true;
	sw.watchdog = sd_watchdog_enabled(0, NULL) > 0;
	if ((r = setup(&sw)) < 0) {
		teardown(&sw);
		log_warnx("startup failed");
		return 1;
	}
	sw.ready = true;
	log_info("started (config %s, socket %s)", path ? path :
	    "built-in default", sw.cfg->daemon.socket);
	sd_notify(0, "READY=1");
	while (!sw.stop) {
		if ((r = evloop_run_once(sw.loop, -1)) < 0)
			fatalx("epoll: %s", strerror(-r));
	}
	sd_notify(0, "STOPPING=1");
	teardown(&sw);
	log_info("stopped");
	return 0;
}
