#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../exporter/sinks.h"

#define T0 1795793795123LL	/* 2026-11-27T15:36:35.123Z */

struct fixture {
	char dir[256];
	char path[PATH_MAX];
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/sw-sinks-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/log/alerts.jsonl", f->dir);
	umask(022);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static void
make_alert(struct alert *a, uint64_t id)
{
	memset(a, 0, sizeof(*a));
	a->id = id;
	a->time_ms = T0;
	strcpy(a->kind, "listener");
	a->severity = ALERT_WARNING;
	a->has_local = true;
	assert_int_equal(addr_parse("198.18.0.1", &a->local_addr), 0);
	a->local_port = 8080;
	a->has_process = true;
	a->pid = 4321;
	a->uid = 1000;
	strcpy(a->comm, "nc");
	snprintf(a->message, sizeof(a->message), "alert number %llu",
	    (unsigned long long)id);
	strcpy(a->action, "alert");
	a->evidence = json_pack("{s:I}", "n", (json_int_t)id);
	assert_non_null(a->evidence);
}

static void
send_alert(struct sinks *s, uint64_t id)
{
	struct alert a;

	make_alert(&a, id);
	sinks_alert(s, &a);
	alert_clear(&a);
}

/* The ids of the JSON lines in a file, "1,2"; each line must be one
 * compact alert object. */
static const char *
file_ids(const char *path)
{
	static char out[256];
	char line[4096];
	size_t off = 0, n;
	FILE *fp;

	out[0] = '\0';
	fp = fopen(path, "r");
	if (fp == NULL)
		return "(missing)";
	while (fgets(line, sizeof(line), fp) != NULL) {
		struct alert a;
		json_t *j;

		n = strlen(line);
		assert_true(n > 0 && line[n - 1] == '\n');
		j = json_loads(line, 0, NULL);
		assert_non_null(j);
		assert_int_equal(alert_from_json(j, &a), 0);
		off += (size_t)snprintf(out + off, sizeof(out) - off, "%s%llu",
		    off ? "," : "", (unsigned long long)a.id);
		alert_clear(&a);
		json_decref(j);
	}
	fclose(fp);
	return out;
}

static off_t
file_size(const char *path)
{
	struct stat sb;

	assert_int_equal(stat(path, &sb), 0);
	return sb.st_size;
}

static void
test_jsonl_file(void **state)
{
	struct fixture *f = *state;
	char dir[PATH_MAX + 8], err[256] = "", line[4096];
	struct sinks *s = NULL;
	struct stat sb;
	FILE *fp;

	assert_int_equal(sinks_open(f->path, NULL, 0, &s, err, sizeof(err)), 0);
	snprintf(dir, sizeof(dir), "%s/log", f->dir);
	assert_int_equal(stat(dir, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0750);
	assert_int_equal(stat(f->path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0640);

	send_alert(s, 1);
	send_alert(s, 2);
	/* Buffered until the tick's flush. */
	assert_int_equal(file_size(f->path), 0);
	assert_int_equal(sinks_flush(s), 0);
	assert_string_equal(file_ids(f->path), "1,2");
	assert_int_equal(sinks_flush(s), 0);
	assert_string_equal(file_ids(f->path), "1,2");

	/* Exactly the compact form of alert_to_json, one per line. */
	fp = fopen(f->path, "r");
	assert_non_null(fp);
	assert_non_null(fgets(line, sizeof(line), fp));
	fclose(fp);
	assert_string_equal(line, "{\"id\":1,\"time\":\"2026-11-27T15:36:35.123Z\","
	    "\"kind\":\"listener\",\"severity\":\"warning\",\"peer\":null,"
	    "\"local_addr\":\"198.18.0.1\",\"local_port\":8080,\"process\":"
	    "{\"pid\":4321,\"comm\":\"nc\",\"uid\":1000},\"message\":"
	    "\"alert number 1\",\"evidence\":{\"n\":1},\"action\":\"alert\"}\n");

	/* Close flushes; a new open appends. */
	send_alert(s, 3);
	sinks_close(s);
	assert_string_equal(file_ids(f->path), "1,2,3");
	assert_int_equal(sinks_open(f->path, NULL, 0, &s, err, sizeof(err)), 0);
	send_alert(s, 4);
	assert_int_equal(sinks_flush(s), 0);
	assert_string_equal(file_ids(f->path), "1,2,3,4");
	assert_int_equal(sinks_errors(s), 0);
	sinks_close(s);
}

static void
test_reopen_after_rename(void **state)
{
	struct fixture *f = *state;
	char old[PATH_MAX + 8], err[256] = "";
	struct sinks *s = NULL;

	snprintf(old, sizeof(old), "%s.1", f->path);
	assert_int_equal(sinks_open(f->path, NULL, 0, &s, err, sizeof(err)), 0);
	send_alert(s, 1);
	assert_int_equal(sinks_flush(s), 0);

	/* logrotate renames; until the reopen we still write the old file. */
	assert_int_equal(rename(f->path, old), 0);
	send_alert(s, 2);
	assert_int_equal(sinks_flush(s), 0);
	send_alert(s, 3);		/* buffered across the reopen */
	assert_int_equal(access(f->path, F_OK), -1);
	assert_int_equal(sinks_reopen(s), 0);
	send_alert(s, 4);
	assert_int_equal(sinks_flush(s), 0);
	assert_string_equal(file_ids(old), "1,2,3");
	assert_string_equal(file_ids(f->path), "4");
	assert_int_equal(sinks_errors(s), 0);

	/* Reopen with the file still in place keeps appending. */
	assert_int_equal(sinks_reopen(s), 0);
	send_alert(s, 5);
	sinks_close(s);
	assert_string_equal(file_ids(f->path), "4,5");
}

static void
test_errors_counted(void **state)
{
	struct fixture *f = *state;
	char err[256] = "", blocker[PATH_MAX + 8], path[PATH_MAX + 32];
	struct sinks *s = NULL;
	FILE *fp;
	int i;

	/* A full disk: counted, never fatal. */
	assert_int_equal(sinks_open("/dev/full", NULL, 0, &s, err,
	    sizeof(err)), 0);
	send_alert(s, 1);
	assert_int_equal(sinks_flush(s), -ENOSPC);
	assert_int_equal(sinks_errors(s), 1);
	/* A burst larger than the buffer fails while it is queued. */
	for (i = 0; i < 5000; i++)
		send_alert(s, (uint64_t)i);
	assert_true(sinks_errors(s) > 1);
	sinks_close(s);

	/* A directory that cannot be created. */
	snprintf(blocker, sizeof(blocker), "%s/blocker", f->dir);
	fp = fopen(blocker, "w");
	assert_non_null(fp);
	fclose(fp);
	snprintf(path, sizeof(path), "%s/alerts.jsonl", blocker);
	s = NULL;
	assert_int_equal(sinks_open(path, NULL, 0, &s, err, sizeof(err)),
	    -ENOTDIR);
	assert_null(s);
	assert_non_null(strstr(err, path));

	/* A reopen that fails leaves the sinks usable; alerts meanwhile
	 * are counted as lost; a later reopen recovers. */
	assert_int_equal(sinks_open(f->path, NULL, 0, &s, err, sizeof(err)), 0);
	send_alert(s, 1);
	assert_int_equal(sinks_flush(s), 0);
	snprintf(blocker, sizeof(blocker), "%s/log.moved", f->dir);
	snprintf(path, sizeof(path), "%s/log", f->dir);
	assert_int_equal(rename(path, blocker), 0);
	fp = fopen(path, "w");		/* a file where the directory was */
	assert_non_null(fp);
	fclose(fp);
	assert_int_equal(sinks_reopen(s), -ENOTDIR);
	assert_int_equal(sinks_errors(s), 1);
	send_alert(s, 2);
	assert_int_equal(sinks_flush(s), 0);
	assert_int_equal(sinks_errors(s), 2);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(sinks_reopen(s), 0);
	send_alert(s, 3);
	assert_int_equal(sinks_flush(s), 0);
	assert_string_equal(file_ids(f->path), "3");
	sinks_close(s);
}

/* A group the file can be given that is not the one it gets anyway: for
 * root, nogroup; for anyone else, the primary group (the mode is still
 * checked). */
static const struct group *
other_group(void)
{
	if (geteuid() == 0)
		return getgrnam("nogroup");
	return getgrgid(getegid());
}

/* Mode 0640 whatever the umask or an older file said; the group set on
 * open and on reopen; a symlink refused; an unknown group an error. */
static void
test_file_modes(void **state)
{
	struct fixture *f = *state;
	char err[256] = "", moved[PATH_MAX + 8], lnk[PATH_MAX + 8];
	const struct group *gr = other_group();
	struct sinks *s = NULL;
	struct stat sb;
	gid_t gid;
	int fd;

	if (gr == NULL)
		skip();
	gid = gr->gr_gid;
	umask(077);			/* the daemon's */
	assert_int_equal(sinks_open(f->path, gr->gr_name, 0, &s, err,
	    sizeof(err)), 0);
	assert_int_equal(stat(f->path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0640);
	assert_int_equal(sb.st_gid, gid);

	/* Rotated away: the new file gets the same mode and group. */
	snprintf(moved, sizeof(moved), "%s.1", f->path);
	assert_int_equal(rename(f->path, moved), 0);
	assert_int_equal(sinks_reopen(s), 0);
	assert_int_equal(stat(f->path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0640);
	assert_int_equal(sb.st_gid, gid);
	sinks_close(s);

	/* An older file, 0604 and in our own group, is put right. */
	assert_int_equal(unlink(f->path), 0);
	fd = open(f->path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, 0604), 0);
	close(fd);
	s = NULL;
	assert_int_equal(sinks_open(f->path, gr->gr_name, 0, &s, err,
	    sizeof(err)), 0);
	assert_int_equal(stat(f->path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0640);
	assert_int_equal(sb.st_gid, gid);
	sinks_close(s);

	/* Without a group, the file keeps the one it has. */
	s = NULL;
	assert_int_equal(sinks_open(f->path, NULL, 0, &s, err, sizeof(err)),
	    0);
	assert_int_equal(stat(f->path, &sb), 0);
	assert_int_equal(sb.st_gid, gid);
	sinks_close(s);

	/* A symlink where the file should be is not followed. */
	snprintf(lnk, sizeof(lnk), "%s/log/link.jsonl", f->dir);
	assert_int_equal(symlink(moved, lnk), 0);
	s = NULL;
	assert_int_equal(sinks_open(lnk, NULL, 0, &s, err, sizeof(err)),
	    -ELOOP);
	assert_null(s);
	assert_non_null(strstr(err, lnk));

	s = NULL;
	assert_int_equal(sinks_open(f->path, "sockwatch-no-such-group", 0, &s,
	    err, sizeof(err)), -ENOENT);
	assert_null(s);
	assert_non_null(strstr(err, "sockwatch-no-such-group"));
	assert_non_null(strstr(err, "no such group"));
	umask(022);
}

static void
test_no_file(void **state)
{
	struct sinks *s = NULL;
	char err[64];

	(void)state;
	assert_int_equal(sinks_open(NULL, NULL, 0, &s, err, sizeof(err)), 0);
	send_alert(s, 1);
	assert_int_equal(sinks_flush(s), 0);
	assert_int_equal(sinks_reopen(s), 0);
	assert_int_equal(sinks_errors(s), 0);
	sinks_close(s);
}

static void
test_syslog_line(void **state)
{
	char buf[512], small[24];
	struct alert a;

	(void)state;
	make_alert(&a, 7);
	assert_string_equal(sinks_format_line(&a, buf, sizeof(buf)),
	    "alert listener warning id=7 peer=- local=198.18.0.1:8080 "
	    "process=nc[4321] uid=1000 action=alert: alert number 7");
	a.has_process = false;
	a.has_local = false;
	a.has_peer = true;
	assert_int_equal(addr_parse("2001:db8::66", &a.peer), 0);
	a.severity = ALERT_CRITICAL;
	strcpy(a.message, "two\nlines\tand \x1b[31mcolour\xff");
	assert_string_equal(sinks_format_line(&a, buf, sizeof(buf)),
	    "alert listener critical id=7 peer=2001:db8::66 local=- "
	    "action=alert: two?lines?and ?[31mcolour?");
	/* Cut, never overrun. */
	assert_string_equal(sinks_format_line(&a, small, sizeof(small)),
	    "alert listener critical");
	alert_clear(&a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_jsonl_file, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_reopen_after_rename,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors_counted, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_file_modes, setup,
		    teardown),
		cmocka_unit_test(test_no_file),
		cmocka_unit_test(test_syslog_line),
	};

	return cmocka_run_group_tests_name("sinks", tests, NULL, NULL);
}
