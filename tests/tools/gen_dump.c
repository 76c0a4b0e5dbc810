/*
 * tsarc-gen-dump: a deterministic, mysqldump-shaped byte stream for tests
 * and benchmarks.
 *
 * Like mysqldump with its default --extended-insert and net_buffer_length
 * (about 1 MiB), rows are packed into INSERT statements of up to ~1 MiB per
 * line. Every line is generated from its own seed, so a "mutated" run
 * (--mutate P) differs from the base run only in the P% of lines it alters,
 * which is how a table with a share of rows updated looks between two
 * nightly dumps. --random-every N replaces every Nth line with random bytes
 * (already-compressed content) to make a mixed stream.
 *
 * Usage: tsarc-gen-dump SIZE [--seed N] [--mutate PERCENT] [--mutate-seed N]
 *                            [--random-every N] [--line-bytes N]
 * SIZE takes K, M, G suffixes (powers of 1024).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static const char *const words[] = {
	"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel",
	"india", "juliet", "kilo", "lima", "mike", "november", "oscar", "papa",
	"quebec", "romeo", "sierra", "tango", "uniform", "victor", "whiskey",
	"xray", "yankee", "zulu", "api", "gateway", "service", "backend", "plan",
	"application", "account", "provider", "developer", "portal", "metric",
	"limit", "usage", "token", "secret", "hits", "invoice", "proxy", "rule",
};
#define NWORDS (sizeof(words) / sizeof(words[0]))

static const char *const tables[] = {
	"accounts", "users", "services", "plans", "cinstances", "application_keys",
	"metrics", "usage_limits", "proxies", "proxy_rules", "proxy_configs",
	"audits", "event_store_events", "log_entries", "invoices", "line_items",
};
#define NTABLES (sizeof(tables) / sizeof(tables[0]))

typedef struct out {
	char *buf;
	size_t len, cap;
} out;

static void put(out *o, const char *s, size_t n)
{
	if (o->len + n > o->cap) {
		o->cap = (o->len + n) * 2;
		o->buf = realloc(o->buf, o->cap);
		if (!o->buf) {
			perror("gen_dump");
			exit(1);
		}
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
}

static void puts_(out *o, const char *s)
{
	put(o, s, strlen(s));
}

/* One INSERT line of table `t` holding rows from `first_id`. */
static uint64_t make_line(out *o, uint64_t seed, const char *t, uint64_t first_id,
	size_t target)
{
	uint64_t s = seed, id = first_id;
	char row[512];

	o->len = 0;
	puts_(o, "INSERT INTO `");
	puts_(o, t);
	puts_(o, "` VALUES ");
	while (o->len < target) {
		uint64_t r = splitmix(&s);
		int n = snprintf(row, sizeof(row),
			"%s(%llu,%llu,'%s-%s-%llu','%s.%s@example.com',%llu.%02llu,"
			"'2026-%02llu-%02llu %02llu:%02llu:%02llu','%s %s %s %s',%llu)",
			id == first_id ? "" : ",", (unsigned long long)id,
			(unsigned long long)(r % 5000 + 1), words[r % NWORDS],
			words[(r >> 8) % NWORDS], (unsigned long long)(r >> 40),
			words[(r >> 16) % NWORDS], words[(r >> 24) % NWORDS],
			(unsigned long long)((r >> 12) % 100000),
			(unsigned long long)((r >> 20) % 100),
			(unsigned long long)((r >> 28) % 12 + 1),
			(unsigned long long)((r >> 32) % 28 + 1),
			(unsigned long long)((r >> 36) % 24), (unsigned long long)((r >> 42) % 60),
			(unsigned long long)((r >> 48) % 60), words[(r >> 3) % NWORDS],
			words[(r >> 11) % NWORDS], words[(r >> 19) % NWORDS],
			words[(r >> 27) % NWORDS], (unsigned long long)(r % 7));
		put(o, row, (size_t)n);
		id++;
	}
	puts_(o, ";\n");
	return id - first_id;
}

static uint64_t parse_size(const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		goto bad;
	switch (*end) {
	case 'G': case 'g': v <<= 10; /* fall through */
	case 'M': case 'm': v <<= 10; /* fall through */
	case 'K': case 'k': v <<= 10; end++; break;
	case '\0': break;
	default: goto bad;
	}
	if (*end)
		goto bad;
	return v;
bad:
	fprintf(stderr, "gen_dump: invalid size '%s'\n", s);
	exit(2);
}

static void write_out(const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(STDOUT_FILENO, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			exit(errno == EPIPE ? 0 : 1);
		}
		p += w;
		n -= (size_t)w;
	}
}

int main(int argc, char **argv)
{
	uint64_t size, seed = 1, mutate_seed = 7, written = 0, line_no = 0, id = 1;
	double mutate = 0;
	unsigned random_every = 0;
	size_t line_bytes = 1000 * 1000;
	out o = {NULL, 0, 0};
	char header[512];
	int i, n;

	if (argc < 2) {
		fprintf(stderr, "usage: tsarc-gen-dump SIZE [--seed N] [--mutate PERCENT] "
				"[--mutate-seed N] [--random-every N] [--line-bytes N]\n");
		return 2;
	}
	size = parse_size(argv[1]);
	for (i = 2; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--seed"))
			seed = strtoull(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--mutate"))
			mutate = strtod(argv[i + 1], NULL);
		else if (!strcmp(argv[i], "--mutate-seed"))
			mutate_seed = strtoull(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--random-every"))
			random_every = (unsigned)strtoul(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--line-bytes"))
			line_bytes = parse_size(argv[i + 1]);
		else {
			fprintf(stderr, "gen_dump: unknown option %s\n", argv[i]);
			return 2;
		}
	}
	if (i != argc) {
		fprintf(stderr, "gen_dump: option %s needs a value\n", argv[i]);
		return 2;
	}
	n = snprintf(header, sizeof(header),
		"-- MariaDB dump 10.19  Distrib 10.11.6-MariaDB (generated, seed %llu)\n"
		"/*!40101 SET NAMES utf8mb3 */;\n/*!40014 SET FOREIGN_KEY_CHECKS=0 */;\n\n",
		(unsigned long long)seed);
	write_out(header, (size_t)n < size ? (size_t)n : size);
	written = (size_t)n < size ? (size_t)n : size;
	while (written < size) {
		uint64_t ls = seed * 0x100000001b3ull ^ (line_no * 0x9e3779b97f4a7c15ull);
		uint64_t ms = mutate_seed * 0x2545f4914f6cdd1dull ^ (line_no * 0xda942042e4dd58b5ull);
		const char *t = tables[(line_no / 64) % NTABLES];
		uint64_t before = splitmix(&ms);

		if (line_no % 64 == 0) {
			n = snprintf(header, sizeof(header),
				"\n--\n-- Table structure for table `%s`\n--\n\nDROP TABLE IF EXISTS `%s`;\n"
				"CREATE TABLE `%s` (\n  `id` bigint(20) NOT NULL AUTO_INCREMENT,\n"
				"  `tenant_id` bigint(20) DEFAULT NULL,\n  `name` varchar(255) COLLATE utf8mb3_bin,\n"
				"  PRIMARY KEY (`id`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb3 COLLATE=utf8mb3_bin;\n\n",
				t, t, t);
			size_t k = (size_t)n < size - written ? (size_t)n : (size_t)(size - written);
			write_out(header, k);
			written += k;
			if (written >= size)
				break;
		}
		id += make_line(&o, ls, t, id, line_bytes - line_bytes / 8 +
			(size_t)(splitmix(&ls) % (line_bytes / 4 + 1)));
		if (random_every && line_no % random_every == random_every - 1) {
			size_t k;
			for (k = 0; k + 8 <= o.len; k += 8) {
				uint64_t r = splitmix(&ls);
				memcpy(o.buf + k, &r, 8);
			}
		}
		if (mutate > 0 && (double)(before % 1000000) < mutate * 10000.0) {
			/* Rewrite a few characters somewhere in the line: an updated row. */
			uint64_t pos = splitmix(&ms) % (o.len > 40 ? o.len - 40 : 1);
			int k;
			for (k = 0; k < 12; k++)
				o.buf[pos + (size_t)k] = (char)('a' + splitmix(&ms) % 26);
		}
		{
			size_t k = o.len < size - written ? o.len : (size_t)(size - written);
			write_out(o.buf, k);
			written += k;
		}
		line_no++;
	}
	free(o.buf);
	return 0;
}
