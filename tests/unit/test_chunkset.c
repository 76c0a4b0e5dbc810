/* chunkset.c: loading a listing (tsarc_chunkset_load, which the index's
 * pack listing uses too): chunk-shaped names with their sizes, a size
 * past 32 bits held at the ceiling, other names passed over. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "cmocka_main.h"

#include "chunkset.h"
#include "crypto.h"
#include "tsarc/errors.h"
#include "tsarc/sys/store.h"

#define A "aa00000000000000000000000000000000000000000000000000000000000001"
#define B "bb00000000000000000000000000000000000000000000000000000000000002"
#define C "cc00000000000000000000000000000000000000000000000000000000000003"

static const struct {
	const char *name;
	uint64_t size;
} LISTED[] = {
	{A, 100},
	{"not-a-chunk", 5},
	{B, (uint64_t)1 << 33},
	{"zz00000000000000000000000000000000000000000000000000000000000004", 7},
	{"aa0000000000000000000000000000000000000000000000000000000000001", 9},
	{C, 0},
};

static tsarc_objtype listed_type;

/* The one slot a listing needs. */
static int fake_list(tsarc_store *st, tsarc_objtype type, tsarc_store_list_cb cb,
	void *payload)
{
	size_t i;
	int rc = 0;

	(void)st;
	listed_type = type;
	for (i = 0; i < sizeof(LISTED) / sizeof(LISTED[0]) && !rc; i++)
		rc = cb(LISTED[i].name, LISTED[i].size, 0, payload);
	return rc;
}

static uint32_t stored(tsarc_chunkset *set, const char *hex)
{
	uint8_t id[TSARC_ID_LEN];
	uint32_t size = 12345;

	assert_int_equal(tsarc_hex_decode(id, sizeof(id), hex), 0);
	assert_int_equal(tsarc_chunkset_lookup(set, id, &size), 1);
	return size;
}

static void load_keeps_chunk_names(void **state)
{
	tsarc_store st;
	tsarc_chunkset *set = NULL;

	(void)state;
	memset(&st, 0, sizeof(st));
	st.kind = "fake";
	st.list = fake_list;
	assert_int_equal(tsarc_chunkset_new(&set), 0);
	listed_type = TSARC_OBJ_CONFIG;
	assert_int_equal(tsarc_chunkset_load(set, &st), 0);
	assert_int_equal(listed_type, TSARC_OBJ_DATA);
	assert_int_equal(tsarc_chunkset_count(set), 3);
	assert_int_equal(stored(set, A), 100);
	assert_int_equal(stored(set, B), UINT32_MAX - 1);
	assert_int_equal(stored(set, C), 0);
	assert_int_equal(tsarc_error_last()->code, 0);
	tsarc_chunkset_free(set);
}

TSARC_TESTS_MAIN(NULL, NULL, cmocka_unit_test(load_keeps_chunk_names))
