/*
 * libFuzzer target for the configuration reader (policy/config.c and
 * cfgvalue.c, on inih): the input is a configuration file, read as a
 * reload reads one (config_load of a file, here a memfd, into a fresh
 * struct) and as text (config_load_string); the two must agree. A file
 * that loads must print (config_print) in a form that loads again and
 * prints the same, as `sockwatch check-config` and a reload rely on; a
 * file that does not load must say why. Inputs naming /dev, /proc or
 * /sys are skipped: a [deny] file there is not the input's. Seeds:
 * tests/fuzz/corpus_config (etc/sockwatch.conf and variations).
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../policy/config.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int memfd = -1;
static char path[64];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	if ((memfd = memfd_create("sockwatch.conf", MFD_CLOEXEC)) < 0)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
	return 0;
}

/* The canonical form, malloc'ed. */
static char *
print(const struct config *cfg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	if ((f = open_memstream(&buf, &len)) == NULL)
		abort();
	if (config_print(cfg, f) < 0)
		abort();
	fclose(f);
	return buf;
}

static void
fail(const char *what, const char *a, const char *b)
{
	fprintf(stderr, "fuzz_config: %s\n--- first:\n%s\n--- then:\n%s\n",
	    what, a, b != NULL ? b : "");
	abort();
}

/* Printed, it loads again and prints the same. */
static void
check_roundtrip(const struct config *cfg)
{
	struct config_error err;
	struct config *again;
	char *p1, *p2;

	p1 = print(cfg);
	if (config_load_string(p1, "printed", &again, &err) < 0)
		fail("the printed form does not load", p1, err.msg);
	p2 = print(again);
	if (strcmp(p1, p2) != 0)
		fail("the printed form prints otherwise", p1, p2);
	config_free(again);
	free(p1);
	free(p2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config_error err, err2;
	struct config *cfg = NULL, *cfg2 = NULL;
	char *text, *p1, *p2;
	int r, r2;

	if (memmem(data, size, "/dev", 4) != NULL ||
	    memmem(data, size, "/proc", 5) != NULL ||
	    memmem(data, size, "/sys", 4) != NULL)
		return 0;
	if (ftruncate(memfd, 0) < 0 ||
	    pwrite(memfd, data, size, 0) != (ssize_t)size)
		abort();
	r = config_load(path, &cfg, &err);
	if (r < 0 && err.msg[0] == '\0')
		abort();
	if (r == 0)
		check_roundtrip(cfg);
	/* Text without a NUL byte reads the same from memory. */
	if (memchr(data, '\0', size) == NULL) {
		if ((text = malloc(size + 1)) == NULL)
			abort();
		memcpy(text, data, size);
		text[size] = '\0';
		r2 = config_load_string(text, path, &cfg2, &err2);
		if ((r == 0) != (r2 == 0))
			fail("file and string disagree", r < 0 ? err.msg : "ok",
			    r2 < 0 ? err2.msg : "ok");
		if (r == 0) {
			p1 = print(cfg);
			p2 = print(cfg2);
			if (strcmp(p1, p2) != 0)
				fail("file and string load differently", p1,
				    p2);
			free(p1);
			free(p2);
		}
		config_free(cfg2);
		free(text);
	}
	config_free(cfg);
	return 0;
}
