#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cmocka_main.h"

#include "chunkset.h"
#include "repo.h"
#include "repo_fixture.h"
#include "snapshot.h"
#include "scratch.h"
#include "tsarc/errors.h"
#include "tsarc/sys/store.h"

static tsarc_snapshot *sample(void)
{
	tsarc_snapshot *s = calloc(1, sizeof(*s));
	tsarc_stream *st;
	size_t i;

	strcpy(s->time, "2026-11-23T10:00:00Z");
	s->host = strdup("node-1");
	s->tool_version = strdup("0.1.0");
	s->tags = calloc(2, sizeof(char *));
	s->tags[0] = strdup("nightly");
	s->tags[1] = strdup("prod \"eu\"");
	s->ntags = 2;
	s->streams = calloc(1, sizeof(tsarc_stream));
	s->nstreams = 1;
	st = &s->streams[0];
	st->name = strdup("system-mysql.sql");
	st->kind = strdup("mysql");
	strcpy(st->start, "2026-11-23T10:00:00.5Z");
	strcpy(st->end, "2026-11-23T10:00:09Z");
	st->nchunks = 3;
	st->chunks = calloc(3, sizeof(tsarc_chunk_ref));
	for (i = 0; i < 3; i++) {
		memset(st->chunks[i].id, (int)i + 1, 32);
		st->chunks[i].size = 1000 + (uint32_t)i;
		st->chunks[i].stored = 400;
		st->size += st->chunks[i].size;
	}
	memset(st->sha256, 0xab, 32);
	st->meta = cJSON_Parse("{\"pod\":\"system-mysql-1\",\"tool\":\"mariadb-dump 10.11\"}");
	return s;
}

static void test_roundtrip(void **state)
{
	tsarc_snapshot *s = sample(), *back = NULL;
	char *json = NULL, *again = NULL;

	(void)state;
	assert_int_equal(tsarc_snapshot_to_json(s, 1, &json), 0);
	assert_int_equal(tsarc_snapshot_from_json(&back, json, strlen(json)), 0);
	assert_int_equal(tsarc_snapshot_to_json(back, 1, &again), 0);
	assert_string_equal(json, again);
	assert_int_equal(back->time_unix, 1795428000);
	assert_string_equal(back->tags[1], "prod \"eu\"");
	assert_int_equal(back->streams[0].nchunks, 3);
	assert_int_equal(back->streams[0].chunks[2].size, 1002);
	assert_non_null(tsarc_snapshot_find_stream(back, "system-mysql.sql"));
	assert_null(tsarc_snapshot_find_stream(back, "nope"));
	free(json);
	free(again);
	tsarc_snapshot_free(s);
	tsarc_snapshot_free(back);
}

/* Each hostile manifest must be refused as damaged, never crash. */
static void test_hostile_manifests(void **state)
{
	static const char *const bad[] = {
		"",
		"[]",
		"{}",
		"null",
		"{\"time\":\"x\",\"host\":\"h\",\"tool_version\":\"v\",\"tags\":[],\"streams\":[]}",
		"{\"time\":\"2026-01-01T00:00:00Z\",\"host\":\"h\",\"tool_version\":\"v\",\"tags\":[1],\"streams\":[]}",
		"{\"time\":\"2026-01-01T00:00:00Z\",\"host\":\"h\",\"tool_version\":\"v\",\"tags\":[],\"streams\":{}}",
		"{\"time\":\"2026-01-01T00:00:00Z\",\"host\":\"h\",\"tool_version\":\"v\",\"tags\":[],\"streams\":[7]}",
		/* chunk sizes do not add up to the stream size */
		"{\"time\":\"2026-01-01T00:00:00Z\",\"host\":\"h\",\"tool_version\":\"v\",\"tags\":[],\"streams\":[{\"name\":\"a\",\"kind\":\"k\",\"size\":5,\"sha256\":\"" "0000000000000000000000000000000000000000000000000000000000000000\",\"start\":\"s\",\"end\":\"e\",\"chunks\":[[\"0000000000000000000000000000000000000000000000000000000000000000\",4,10]]}]}",
		/* negative, fractional and huge sizes */
		"{\"time\":\"2026-01-01T00:00:00Z\",\"host\":\"h\",\"tool_version\":\"v\",\"tags\":[],\"streams\":[{\"name\":\"a\",\"kind\":\"k\",\"size\":-1,\"sha256\":\"" "0000000000000000000000000000000000000000000000000000000000000000\",\"start\":\"s\",\"end\":\"e\",\"chunks\":[]}]}",
		"{\"time\":\"2026-01-01T00:00:00Z\",\"host\":\"h\",\"tool_version\":\"v\",\"tags\":[],\"streams\":[{\"name\":\"a\",\"kind\":\"k\",\"size\":4,\"sha256\":\"" "0000000000000000000000000000000000000000000000000000000000000000\",\"start\":\"s\",\"end\":\"e\",\"chunks\":[[\"0000000000000000000000000000000000000000000000000000000000000000\",4.5,10]]}]}",
		"{\"time\":\"2026-01-01T00:00:00Z\",\"host\":\"h\",\"tool_version\":\"v\",\"tags\":[],\"streams\":[{\"name\":\"a\",\"kind\":\"k\",\"size\":1e300,\"sha256\":\"" "0000000000000000000000000000000000000000000000000000000000000000\",\"start\":\"s\",\"end\":\"e\",\"chunks\":[]}]}",
		/* chunk id not hex / wrong length / chunk not an array */
		"{\"time\":\"2026-01-01T00:00:00Z\",\"host\":\"h\",\"tool_version\":\"v\",\"tags\":[],\"streams\":[{\"name\":\"a\",\"kind\":\"k\",\"size\":4,\"sha256\":\"" "0000000000000000000000000000000000000000000000000000000000000000\",\"start\":\"s\",\"end\":\"e\",\"chunks\":[[\"../../etc/passwd\",4,10]]}]}",
		"{\"time\":\"2026-01-01T00:00:00Z\",\"host\":\"h\",\"tool_version\":\"v\",\"tags\":[],\"streams\":[{\"name\":\"a\",\"kind\":\"k\",\"size\":4,\"sha256\":\"" "0000000000000000000000000000000000000000000000000000000000000000\",\"start\":\"s\",\"end\":\"e\",\"chunks\":[\"x\"]}]}",
		"{\"time\":\"2026-01-01T00:00:00Z\",\"host\":\"h\",\"tool_version\":\"v\",\"tags\":[],\"streams\":[{\"name\":\"a\",\"kind\":\"k\",\"size\":0,\"sha256\":\"zz\",\"start\":\"s\",\"end\":\"e\",\"chunks\":[]}]}",
		"{\"time\":\"2026-01-01T00:00:00Z\",\"host\":\"h\",\"tool_version\":\"v\",\"tags\":[],\"streams\":[{\"name\":\"a\",\"kind\":\"k\",\"size\":0,\"sha256\":\"" "0000000000000000000000000000000000000000000000000000000000000000\",\"start\":\"s\",\"end\":\"e\"}]}",
		"{\"time\":\"2026-01-01T00:00:00Z\",\"host\":\"h\",\"tool_version\":\"v\",\"tags\":[],\"streams\":[{\"name\":\"a\",\"kind\":\"k\",\"size\":0,\"sha256\":\"" "0000000000000000000000000000000000000000000000000000000000000000\",\"start\":\"s\",\"end\":\"e\",\"chunks\":[],",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tsarc_snapshot *s = NULL;
		int rc = tsarc_snapshot_from_json(&s, bad[i], strlen(bad[i]));
		if (rc != TSARC_ECORRUPT)
			fail_msg("manifest %zu: expected ECORRUPT, got %d", i, rc);
		assert_null(s);
	}
}

/* A manifest in records, as a format-2 repository stores it. */
static tsarc_buf records_of(const tsarc_snapshot *s)
{
	tsarc_buf b = TSARC_BUF_INIT;

	assert_int_equal(tsarc_snapshot_encode(s, 1, &b), 0);
	return b;
}

static void test_records_roundtrip(void **state)
{
	tsarc_snapshot *s = sample(), *back = NULL, *head = NULL;
	tsarc_buf b = records_of(s), again = TSARC_BUF_INIT;
	char *full_json = NULL, *head_json = NULL;
	size_t text;

	(void)state;
	/* The JSON, its NUL, then 40 bytes a chunk: no chunk list in the text. */
	text = strlen((const char *)b.ptr);
	assert_int_equal(b.size, text + 1 + 3 * TSARC_SNAPSHOT_RECORD_LEN);
	assert_null(strstr((const char *)b.ptr, "\"chunks\""));
	assert_non_null(strstr((const char *)b.ptr, "\"version\":2"));
	assert_int_equal(tsarc_snapshot_decode(&back, b.ptr, b.size, 0), 0);
	assert_int_equal(back->streams[0].nchunks, 3);
	assert_memory_equal(back->streams[0].chunks, s->streams[0].chunks,
		3 * sizeof(tsarc_chunk_ref));
	assert_int_equal(back->streams[0].chunk_count, 3);
	assert_int_equal(back->streams[0].stored_size, 1200);
	assert_int_equal(tsarc_snapshot_encode(back, 1, &again), 0);
	assert_int_equal(again.size, b.size);
	assert_memory_equal(again.ptr, b.ptr, b.size);
	/* Headers only: no chunk array, the same counts, the same summary. */
	assert_int_equal(tsarc_snapshot_decode(&head, b.ptr, b.size, TSARC_SNAPSHOT_HEADERS), 0);
	assert_null(head->streams[0].chunks);
	assert_int_equal(head->streams[0].nchunks, 0);
	assert_int_equal(head->streams[0].chunk_count, 3);
	assert_int_equal(head->streams[0].stored_size, 1200);
	assert_int_equal(tsarc_snapshot_to_json(back, 0, &full_json), 0);
	assert_int_equal(tsarc_snapshot_to_json(head, 0, &head_json), 0);
	assert_string_equal(full_json, head_json);
	/* A JSON manifest (format 1, and format 2 before the records) still reads. */
	tsarc_snapshot_free(head);
	assert_int_equal(tsarc_snapshot_encode(s, 0, &again), 0);
	assert_int_equal(again.size, strlen((const char *)again.ptr));
	assert_int_equal(tsarc_snapshot_decode(&head, again.ptr, again.size, TSARC_SNAPSHOT_HEADERS),
		0);
	assert_null(head->streams[0].chunks);
	assert_int_equal(head->streams[0].chunk_count, 3);
	assert_int_equal(head->streams[0].stored_size, 1200);
	free(full_json);
	free(head_json);
	tsarc_buf_dispose(&b);
	tsarc_buf_dispose(&again);
	tsarc_snapshot_free(s);
	tsarc_snapshot_free(back);
	tsarc_snapshot_free(head);
}

/* Decodes a damaged copy both ways: each must be ECORRUPT, never a snapshot. */
static void expect_corrupt(const char *what, const uint8_t *p, size_t len)
{
	unsigned flags[] = {0, TSARC_SNAPSHOT_HEADERS};
	size_t f;

	for (f = 0; f < 2; f++) {
		tsarc_snapshot *s = NULL;
		int rc = tsarc_snapshot_decode(&s, p, len, flags[f]);
		if (rc != TSARC_ECORRUPT)
			fail_msg("%s (flags %u): expected ECORRUPT, got %d", what, flags[f], rc);
		assert_null(s);
	}
}

/* A copy of b with the text `from` in its JSON replaced by `to`. */
static tsarc_buf with_text(const tsarc_buf *b, const char *from, const char *to)
{
	tsarc_buf c = TSARC_BUF_INIT;
	const char *at = strstr((const char *)b->ptr, from);
	size_t pre;

	assert_non_null(at);
	pre = (size_t)(at - (const char *)b->ptr);
	assert_int_equal(tsarc_buf_append(&c, b->ptr, pre), 0);
	assert_int_equal(tsarc_buf_append(&c, to, strlen(to)), 0);
	assert_int_equal(tsarc_buf_append(&c, b->ptr + pre + strlen(from),
				 b->size - pre - strlen(from)),
		0);
	return c;
}

static void test_records_hostile(void **state)
{
	static const struct {
		const char *what, *from, *to;
	} lies[] = {
		{"records under version 1", "\"version\":2", "\"version\":1"},
		{"a count past the records", "\"chunk_count\":3", "\"chunk_count\":4"},
		{"a count short of the records", "\"chunk_count\":3", "\"chunk_count\":2"},
		{"a negative count", "\"chunk_count\":3", "\"chunk_count\":-1"},
		{"a list besides the records", "\"chunk_count\":3",
			"\"chunks\":[],\"chunk_count\":3"},
		{"no count", "\"chunk_count\":3,", ""},
	};
	tsarc_snapshot *s = sample();
	tsarc_buf b = records_of(s), c = TSARC_BUF_INIT;
	size_t text = strlen((const char *)b.ptr), first = text + 1, k;
	uint8_t rec[TSARC_SNAPSHOT_RECORD_LEN];

	(void)state;
	expect_corrupt("one byte short", b.ptr, b.size - 1);
	expect_corrupt("one record short", b.ptr, b.size - TSARC_SNAPSHOT_RECORD_LEN);
	expect_corrupt("no records, version 2", b.ptr, text);
	expect_corrupt("NUL and nothing after it", b.ptr, text + 1);
	/* A record too many: it belongs to no stream. */
	memset(rec, 7, sizeof(rec));
	assert_int_equal(tsarc_buf_append(&c, b.ptr, b.size), 0);
	assert_int_equal(tsarc_buf_append(&c, rec, sizeof(rec)), 0);
	expect_corrupt("a record too many", c.ptr, c.size);
	tsarc_buf_dispose(&c);
	/* Sizes: zero, past the largest chunk, or not adding up. */
	c = with_text(&b, "", "");
	/* 0 and 2001 bytes: the sum of 1000 and 1001 still. */
	memset(c.ptr + first + TSARC_ID_LEN, 0, 4);
	c.ptr[first + TSARC_SNAPSHOT_RECORD_LEN + TSARC_ID_LEN] = 2001 & 0xff;
	c.ptr[first + TSARC_SNAPSHOT_RECORD_LEN + TSARC_ID_LEN + 1] = 2001 >> 8;
	expect_corrupt("a chunk of 0 bytes", c.ptr, c.size);
	memset(c.ptr + first + TSARC_ID_LEN, 0xff, 4);
	expect_corrupt("a chunk of 4 GiB", c.ptr, c.size);
	c.ptr[first + TSARC_ID_LEN] ^= 1;
	c.ptr[first + TSARC_ID_LEN + 1] = 3, c.ptr[first + TSARC_ID_LEN + 2] = 0,
	c.ptr[first + TSARC_ID_LEN + 3] = 0;
	expect_corrupt("sizes that do not add up", c.ptr, c.size);
	tsarc_buf_dispose(&c);
	/* The JSON part lying about the records. */
	for (k = 0; k < sizeof(lies) / sizeof(lies[0]); k++) {
		c = with_text(&b, lies[k].from, lies[k].to);
		expect_corrupt(lies[k].what, c.ptr, c.size);
		tsarc_buf_dispose(&c);
	}
	tsarc_buf_dispose(&b);
	tsarc_snapshot_free(s);
}

/* A format-2 repository stores records, 40 bytes a chunk and not the ~90 of
 * the JSON list (the memory to read it back scales alike); format 1 keeps
 * the JSON a format-1 reader expects. Both load back the same. */
static void test_stored_encoding(void **state)
{
	char dir[256], path[300], id[TSARC_ID_HEX_LEN + 1];
	unsigned format;

	(void)state;
	assert_non_null(scratch_make(dir, sizeof(dir), "snapshot"));
	for (format = 1; format <= 2; format++) {
		tsarc_repo_init_options o;
		tsarc_repo *repo = NULL;
		tsarc_store *st = NULL;
		tsarc_snapshot *s = sample(), *back = NULL;
		tsarc_buf raw = TSARC_BUF_INIT, plain = TSARC_BUF_INIT;
		size_t i;

		/* Many chunks, so the manifest's size is theirs. */
		free(s->streams[0].chunks);
		s->streams[0].nchunks = 5000;
		s->streams[0].chunks = calloc(5000, sizeof(tsarc_chunk_ref));
		s->streams[0].size = 0;
		for (i = 0; i < 5000; i++) {
			repo_fixture_fill(s->streams[0].chunks[i].id, TSARC_ID_LEN, i);
			s->streams[0].chunks[i].size = 65536 + (uint32_t)i;
			s->streams[0].chunks[i].stored = 20000 + (uint32_t)i;
			s->streams[0].size += s->streams[0].chunks[i].size;
		}
		snprintf(path, sizeof(path), "%s/r%u", dir, format);
		repo_fixture_options(&o);
		o.format = format;
		assert_int_equal(tsarc_store_fs_open(&st, path, NULL), 0);
		assert_int_equal(tsarc_repo_init(&repo, st, "pw", &o), 0);
		assert_int_equal(tsarc_snapshot_save(repo, s), 0);
		memcpy(id, s->id, sizeof(id));
		assert_int_equal(tsarc_store_get(repo->store, TSARC_OBJ_SNAPSHOT, id, 0, 0, &raw), 0);
		assert_int_equal(tsarc_repo_open_object(repo, "tsarc-snapshot-v1", raw.ptr, raw.size,
					 &plain),
			0);
		if (format == 2) {
			assert_true(raw.size < 5000 * 41);
			assert_non_null(memchr(plain.ptr, 0, plain.size));
		} else {
			assert_true(raw.size > 5000 * 80);
			assert_null(memchr(plain.ptr, 0, plain.size));
		}
		assert_int_equal(tsarc_snapshot_load(repo, id, &back), 0);
		assert_int_equal(back->streams[0].nchunks, 5000);
		assert_memory_equal(back->streams[0].chunks, s->streams[0].chunks,
			5000 * sizeof(tsarc_chunk_ref));
		tsarc_snapshot_free(back);
		assert_int_equal(tsarc_snapshot_load_headers(repo, id, &back), 0);
		assert_null(back->streams[0].chunks);
		assert_int_equal(back->streams[0].chunk_count, 5000);
		tsarc_snapshot_free(back);
		tsarc_buf_dispose(&raw);
		tsarc_buf_dispose(&plain);
		tsarc_snapshot_free(s);
		tsarc_repo_free(repo);
	}
	assert_int_equal(scratch_remove(dir), 0);
}

/* The cluster a snapshot records (its streams' "deployment") is read from
 * metadata anyone who can write the repository writes: only an identity
 * of the recorded form counts; anything else names no cluster. */
static void test_snapshot_cluster(void **state)
{
	static const char good[] = "sha256:"
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	static const struct {
		const char *meta;
		int known;
	} cases[] = {
		{"{\"deployment\": {\"transport\": \"kube\", \"cluster\": \"@\"}}", 1},
		{"{\"deployment\": {\"transport\": \"kube\"}}", 0},
		{"{\"component\": \"x\"}", 0},
		{"{\"deployment\": {\"cluster\": 7}}", 0},
		{"{\"deployment\": {\"cluster\": {\"a\": \"@\"}}}", 0},
		{"{\"deployment\": {\"cluster\": [\"@\"]}}", 0},
		{"{\"deployment\": {\"cluster\": null}}", 0},
		{"{\"deployment\": \"@\"}", 0},
		{"{\"deployment\": {\"cluster\": \"sha256:0123\"}}", 0},
		{"{\"deployment\": {\"cluster\": \"@0\"}}", 0},
		{"{\"deployment\": {\"cluster\": \"SHA256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"}}", 0},
		{"{\"deployment\": {\"cluster\": \"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeF\"}}", 0},
		{"{\"deployment\": {\"cluster\": \"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\\u001b\"}}", 0},
	};
	size_t i;

	(void)state;
	assert_true(tsarc_cluster_valid(good));
	assert_false(tsarc_cluster_valid(NULL));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tsarc_snapshot *s = sample();
		char text[512];
		size_t len = 0;
		const char *m;
		/* "@" stands for the good identity. */
		for (m = cases[i].meta; *m; m++)
			if (*m == '@')
				len += (size_t)snprintf(text + len, sizeof(text) - len, "%s", good);
			else
				text[len++] = *m;
		text[len] = '\0';
		cJSON_Delete(s->streams[0].meta);
		s->streams[0].meta = cJSON_Parse(text);
		assert_non_null(s->streams[0].meta);
		if (cases[i].known)
			assert_string_equal(tsarc_snapshot_cluster(s), good);
		else if (tsarc_snapshot_cluster(s))
			fail_msg("case %zu (%s): a cluster %s", i, text, tsarc_snapshot_cluster(s));
		tsarc_snapshot_free(s);
	}
	/* A stream without metadata names none. */
	{
		tsarc_snapshot *s = sample();
		cJSON_Delete(s->streams[0].meta);
		s->streams[0].meta = NULL;
		assert_null(tsarc_snapshot_cluster(s));
		tsarc_snapshot_free(s);
	}
}

static void test_time_parse(void **state)
{
	int64_t t;

	(void)state;
	assert_int_equal(tsarc_time_parse("1970-01-01T00:00:00Z", &t), 0);
	assert_int_equal(t, 0);
	assert_int_equal(tsarc_time_parse("2026-11-23T10:00:00+02:00", &t), 0);
	assert_int_equal(t, 1795420800);
	assert_int_equal(tsarc_time_parse("2026-11-23", &t), 0);
	assert_int_equal(tsarc_time_parse("2026-11-23T10:00:00.123456Z", &t), 0);
	assert_int_equal(t, 1795428000);
	assert_int_not_equal(tsarc_time_parse("2026-13-01T00:00:00Z", &t), 0);
	assert_int_not_equal(tsarc_time_parse("yesterday", &t), 0);
	assert_int_not_equal(tsarc_time_parse("2026-11-23T10:00:00Zjunk", &t), 0);
}

static void test_chunkset(void **state)
{
	tsarc_chunkset *set;
	uint8_t id[32];
	uint32_t size, i;
	int added;

	(void)state;
	assert_int_equal(tsarc_chunkset_new(&set), 0);
	/* Room made ahead (and again, smaller: nothing to do) holds what comes. */
	assert_int_equal(tsarc_chunkset_reserve(set, 50000), 0);
	assert_int_equal(tsarc_chunkset_reserve(set, 10), 0);
	for (i = 0; i < 50000; i++) {
		memset(id, 0, sizeof(id));
		memcpy(id, &i, sizeof(i));
		id[31] = (uint8_t)i;
		assert_int_equal(tsarc_chunkset_claim(set, id, i, &added), 0);
		assert_true(added);
	}
	assert_int_equal(tsarc_chunkset_count(set), 50000);
	for (i = 0; i < 50000; i += 7) {
		memset(id, 0, sizeof(id));
		memcpy(id, &i, sizeof(i));
		id[31] = (uint8_t)i;
		assert_int_equal(tsarc_chunkset_claim(set, id, 0, &added), 0);
		assert_false(added);
		assert_true(tsarc_chunkset_lookup(set, id, &size));
		assert_int_equal(size, i);
		tsarc_chunkset_drop(set, id);
		assert_false(tsarc_chunkset_lookup(set, id, &size));
	}
	assert_int_equal(tsarc_chunkset_count(set), 50000 - 7143);
	tsarc_chunkset_free(set);
}

TSARC_TESTS_MAIN(NULL, NULL,
	cmocka_unit_test(test_roundtrip),
	cmocka_unit_test(test_hostile_manifests),
	cmocka_unit_test(test_records_roundtrip),
	cmocka_unit_test(test_records_hostile),
	cmocka_unit_test(test_stored_encoding),
	cmocka_unit_test(test_snapshot_cluster),
	cmocka_unit_test(test_time_parse),
	cmocka_unit_test(test_chunkset))
