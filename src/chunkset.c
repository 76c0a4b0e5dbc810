#include "chunkset.h"
#include "tsarc/errors.h"
#include "tsarc/sys/store.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct entry {
	uint8_t id[TSARC_ID_LEN];
	uint32_t stored;
	uint8_t used; /* 0 empty, 1 used, 2 deleted */
} entry;

struct tsarc_chunkset {
	pthread_mutex_t lock;
	entry *slots;
	size_t cap; /* a power of two */
	size_t count, tombstones;
};

static uint64_t slot_hash(const uint8_t *id)
{
	uint64_t h;

	memcpy(&h, id, sizeof(h));
	return h;
}

int tsarc_chunkset_new(tsarc_chunkset **out)
{
	tsarc_chunkset *set = calloc(1, sizeof(*set));

	*out = NULL;
	if (!set || !(set->slots = calloc(1024, sizeof(entry)))) {
		free(set);
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	}
	set->cap = 1024;
	pthread_mutex_init(&set->lock, NULL);
	*out = set;
	return 0;
}

void tsarc_chunkset_free(tsarc_chunkset *set)
{
	if (!set)
		return;
	pthread_mutex_destroy(&set->lock);
	free(set->slots);
	free(set);
}

/* The slot holding id, or the first free slot on its probe path. */
static entry *find_slot(tsarc_chunkset *set, const uint8_t *id, int *found)
{
	size_t mask = set->cap - 1, i = (size_t)slot_hash(id) & mask;
	entry *first_free = NULL;

	for (;;) {
		entry *e = &set->slots[i];
		if (e->used == 0) {
			*found = 0;
			return first_free ? first_free : e;
		}
		if (e->used == 1 && memcmp(e->id, id, TSARC_ID_LEN) == 0) {
			*found = 1;
			return e;
		}
		if (e->used == 2 && !first_free)
			first_free = e;
		i = (i + 1) & mask;
	}
}

static int rehash(tsarc_chunkset *set, size_t cap)
{
	entry *old = set->slots, *e;
	size_t oldcap = set->cap, i;
	int found;

	if (!(set->slots = calloc(cap, sizeof(entry)))) {
		set->slots = old;
		return tsarc_error_set(TSARC_ENOMEM, "out of memory (chunk index)");
	}
	set->cap = cap;
	set->tombstones = 0;
	for (i = 0; i < oldcap; i++) {
		if (old[i].used != 1)
			continue;
		e = find_slot(set, old[i].id, &found);
		*e = old[i];
	}
	free(old);
	return 0;
}

int tsarc_chunkset_claim(tsarc_chunkset *set, const uint8_t id[TSARC_ID_LEN],
	uint32_t stored_size, int *added)
{
	entry *e;
	int found, rc = 0;

	pthread_mutex_lock(&set->lock);
	/* Keep the load under 70% so probe paths stay short. */
	if ((set->count + set->tombstones + 1) * 10 > set->cap * 7 &&
		(rc = rehash(set, set->count * 10 > set->cap * 3 ? set->cap * 2 : set->cap)))
		goto done;
	e = find_slot(set, id, &found);
	*added = !found;
	if (!found) {
		if (e->used == 2)
			set->tombstones--;
		memcpy(e->id, id, TSARC_ID_LEN);
		e->stored = stored_size;
		e->used = 1;
		set->count++;
	}
done:
	pthread_mutex_unlock(&set->lock);
	return rc;
}

int tsarc_chunkset_reserve(tsarc_chunkset *set, size_t n)
{
	size_t cap;
	int rc = 0;

	pthread_mutex_lock(&set->lock);
	/* The same bound as claim's: n below 70% of the slots. */
	for (cap = set->cap; (n + set->tombstones + 1) * 10 > cap * 7; cap *= 2)
		;
	if (cap != set->cap)
		rc = rehash(set, cap);
	pthread_mutex_unlock(&set->lock);
	return rc;
}

int tsarc_chunkset_reclaim(tsarc_chunkset *set, const uint8_t id[TSARC_ID_LEN],
	uint64_t min, uint64_t max, uint32_t *bad_size)
{
	entry *e;
	int found, taken = 0;

	pthread_mutex_lock(&set->lock);
	e = find_slot(set, id, &found);
	/* Unknown: being stored by this process right now. */
	if (found && e->stored != TSARC_CHUNK_SIZE_UNKNOWN && (e->stored < min || e->stored > max)) {
		*bad_size = e->stored;
		e->stored = TSARC_CHUNK_SIZE_UNKNOWN;
		taken = 1;
	}
	pthread_mutex_unlock(&set->lock);
	return taken;
}

void tsarc_chunkset_drop(tsarc_chunkset *set, const uint8_t id[TSARC_ID_LEN])
{
	entry *e;
	int found;

	pthread_mutex_lock(&set->lock);
	e = find_slot(set, id, &found);
	if (found) {
		e->used = 2;
		set->count--;
		set->tombstones++;
	}
	pthread_mutex_unlock(&set->lock);
}

int tsarc_chunkset_set_size(tsarc_chunkset *set, const uint8_t id[TSARC_ID_LEN],
	uint32_t stored_size)
{
	entry *e;
	int found;

	pthread_mutex_lock(&set->lock);
	e = find_slot(set, id, &found);
	if (found)
		e->stored = stored_size;
	pthread_mutex_unlock(&set->lock);
	return found ? 0 : tsarc_error_set(TSARC_ENOTFOUND, "chunk not in index");
}

int tsarc_chunkset_lookup(tsarc_chunkset *set, const uint8_t id[TSARC_ID_LEN],
	uint32_t *stored_size)
{
	entry *e;
	int found;

	pthread_mutex_lock(&set->lock);
	e = find_slot(set, id, &found);
	if (found && stored_size)
		*stored_size = e->stored;
	pthread_mutex_unlock(&set->lock);
	return found;
}

size_t tsarc_chunkset_count(tsarc_chunkset *set)
{
	size_t n;

	pthread_mutex_lock(&set->lock);
	n = set->count;
	pthread_mutex_unlock(&set->lock);
	return n;
}

int tsarc_chunkset_foreach(tsarc_chunkset *set,
	int (*fn)(const uint8_t id[TSARC_ID_LEN], uint32_t stored, void *payload),
	void *payload)
{
	size_t i;
	int rc = 0;

	/* Not locked across the callbacks: callers iterate only once the set
	 * is no longer being changed. */
	for (i = 0; i < set->cap && rc == 0; i++)
		if (set->slots[i].used == 1)
			rc = fn(set->slots[i].id, set->slots[i].stored, payload);
	return rc;
}

static int load_one(const char *name, uint64_t size, int64_t mtime, void *payload)
{
	uint8_t id[TSARC_ID_LEN];
	int added;

	(void)mtime;

	/* Objects that are not chunk-shaped are not ours: check reports them. */
	if (strlen(name) != TSARC_ID_HEX_LEN || tsarc_hex_decode(id, sizeof(id), name)) {
		tsarc_error_clear();
		return 0;
	}
	return tsarc_chunkset_claim(payload, id,
		size > UINT32_MAX - 1 ? UINT32_MAX - 1 : (uint32_t)size, &added);
}

int tsarc_chunkset_load(tsarc_chunkset *set, struct tsarc_store *store)
{
	return tsarc_chunkset_load_type(set, store, TSARC_OBJ_DATA);
}

int tsarc_chunkset_load_type(tsarc_chunkset *set, struct tsarc_store *store,
	tsarc_objtype type)
{
	return tsarc_store_list(store, type, load_one, set);
}
