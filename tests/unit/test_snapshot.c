#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cmocka_main.h"

#include "chunkset.h"
#include "snapshot.h"
#include "tsarc/errors.h"

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
	cmocka_unit_test(test_time_parse),
	cmocka_unit_test(test_chunkset))
