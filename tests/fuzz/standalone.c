/*
 * Runs a fuzz target over files, for compilers without libFuzzer: each
 * argument is a file or a folder of files (the corpus). Then feeds a few
 * thousand mutations of each input, deterministically, so a plain ctest
 * run still explores beyond the corpus.
 *
 * TSARC_TEST_FUZZ_EVERY=N runs every input but only every Nth of its
 * mutations (0, N, 2N, ...). The others are still drawn, so mutation i is
 * the same bytes whatever N is, and a finding's name ("mutation i")
 * replays in any build. The sanitized build's ctest takes such a sample
 * (tests/CMakeLists.txt), where each run costs several times as much,
 * and the optimised build's runs them all.
 *
 * A target says a finding by abort(). One seen once in many runs must be
 * replayable: on SIGABRT the input that was running is named and saved
 * as crash-TARGET in the working folder (ctest's: the build's tests/),
 * so `TARGET crash-TARGET` runs it again alone.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input being run, for the SIGABRT handler (set before each run). */
static char g_crash_path[4096];
static char g_what[4200];
static const uint8_t *volatile g_input;
static volatile size_t g_input_len;

static void say(const char *s)
{
	if (write(2, s, strlen(s)) < 0)
		return;
}

/* Async-signal-safe: write(2) and open(2) only. */
static void on_abort(int sig)
{
	const uint8_t *p = g_input;
	size_t len = g_input_len;
	int fd;

	say("fuzz replay: aborted on ");
	say(g_what);
	if (p && (fd = open(g_crash_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) >= 0) {
		while (len) {
			ssize_t n = write(fd, p, len);
			if (n <= 0)
				break;
			p += n;
			len -= (size_t)n;
		}
		close(fd);
		say("; the input is saved as ");
		say(g_crash_path);
	}
	say("\n");
	signal(sig, SIG_DFL);
	raise(sig);
}

static void run_one(const uint8_t *data, size_t len)
{
	g_input_len = len;
	g_input = data;
	LLVMFuzzerTestOneInput(data, len);
	g_input = NULL;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;

/* Of the mutations, every g_every-th runs (TSARC_TEST_FUZZ_EVERY). */
static unsigned long g_every = 1;
static unsigned long g_mutations_run, g_mutations_drawn;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf, *mut;
	long len;
	int i, k;

	if (!f) {
		perror(path);
		exit(2);
	}
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)len + 1);
	mut = malloc((size_t)len + 64);
	if (!buf || !mut || fread(buf, 1, (size_t)len, f) != (size_t)len)
		exit(2);
	fclose(f);
	snprintf(g_what, sizeof(g_what), "%s", path);
	run_one(buf, (size_t)len);
	for (i = 0; i < 2000; i++) {
		size_t n = (size_t)len;
		memcpy(mut, buf, n);
		for (k = 0; k < 1 + (int)(next() % 4); k++) {
			switch (next() % 4) {
			case 0: /* flip a byte */
				if (n)
					mut[next() % n] ^= (uint8_t)(1 + next() % 255);
				break;
			case 1: /* truncate */
				if (n)
					n = next() % n;
				break;
			case 2: /* insert a byte */
				if (n < (size_t)len + 60) {
					size_t at = n ? next() % n : 0;
					memmove(mut + at + 1, mut + at, n - at);
					mut[at] = (uint8_t)next();
					n++;
				}
				break;
			default: /* an interesting byte */
				if (n)
					mut[next() % n] = "\"{}[]0-9e,:\\\x00\xff"[next() % 14];
			}
		}
		g_mutations_drawn++;
		if ((unsigned long)i % g_every)
			continue;
		snprintf(g_what, sizeof(g_what), "%s, mutation %d", path, i);
		run_one(mut, n);
		g_mutations_run++;
	}
	free(buf);
	free(mut);
}

int main(int argc, char **argv)
{
	const char *self = strrchr(argv[0], '/');
	const char *every = getenv("TSARC_TEST_FUZZ_EVERY");
	int i, files = 0;

	if (every && *every) {
		char *end;
		errno = 0;
		g_every = strtoul(every, &end, 10);
		if (errno || *end || g_every == 0 || every[0] < '0' || every[0] > '9') {
			fprintf(stderr, "TSARC_TEST_FUZZ_EVERY must be a whole number of 1 or more, not '%s'\n",
				every);
			return 2;
		}
	}
	snprintf(g_crash_path, sizeof(g_crash_path), "crash-%s", self ? self + 1 : argv[0]);
	signal(SIGABRT, on_abort);
	for (i = 1; i < argc; i++) {
		struct stat sb;
		if (stat(argv[i], &sb) == 0 && S_ISDIR(sb.st_mode)) {
			DIR *d = opendir(argv[i]);
			struct dirent *de;
			char path[4096];
			while (d && (de = readdir(d))) {
				if (de->d_name[0] == '.')
					continue;
				snprintf(path, sizeof(path), "%s/%s", argv[i], de->d_name);
				run_file(path);
				files++;
			}
			if (d)
				closedir(d);
		} else {
			run_file(argv[i]);
			files++;
		}
	}
	if (g_every == 1)
		printf("%d inputs and their %lu mutations ran clean\n", files, g_mutations_run);
	else
		printf("%d inputs and %lu of their %lu mutations (one in %lu: TSARC_TEST_FUZZ_EVERY) "
		       "ran clean\n",
		       files, g_mutations_run, g_mutations_drawn, g_every);
	return files ? 0 : 1;
}
