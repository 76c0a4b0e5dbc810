#include "snapshot.h"
#include "log.h"
#include "pack.h"
#include "repo.h"
#include "tsarc/errors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char AAD_SNAPSHOT[] = "tsarc-snapshot-v1";

static void stream_dispose(tsarc_stream *st)
{
	free(st->name);
	free(st->kind);
	free(st->chunks);
	cJSON_Delete(st->meta);
}

void tsarc_snapshot_free(tsarc_snapshot *snap)
{
	size_t i;

	if (!snap)
		return;
	for (i = 0; i < snap->nstreams; i++)
		stream_dispose(&snap->streams[i]);
	free(snap->streams);
	for (i = 0; i < snap->ntags; i++)
		free(snap->tags[i]);
	free(snap->tags);
	free(snap->host);
	free(snap->tool_version);
	cJSON_Delete(snap->meta);
	free(snap);
}

/* A copy of `meta` (none: nothing) as o's "meta"; -1 when out of memory. */
static int add_meta(cJSON *o, const cJSON *meta)
{
	cJSON *m;

	if (!meta)
		return 0;
	if (!(m = cJSON_Duplicate(meta, 1)) || !cJSON_AddItemToObject(o, "meta", m)) {
		cJSON_Delete(m);
		return -1;
	}
	return 0;
}

/* How a manifest's chunks are written out: left out (a summary), as JSON
 * lists, or as records after the JSON (the stored form on format 2). */
enum chunks_as { CHUNKS_NONE, CHUNKS_LIST, CHUNKS_RECORDS };

/* The stream's chunk count and stored bytes: from its chunks when it has
 * them, else as its manifest said (loaded with TSARC_SNAPSHOT_HEADERS). */
static void stream_totals(const tsarc_stream *st, uint64_t *count, uint64_t *stored)
{
	size_t i;

	if (!st->chunks) {
		*count = st->chunk_count;
		*stored = st->stored_size;
		return;
	}
	*count = st->nchunks;
	*stored = 0;
	for (i = 0; i < st->nchunks; i++)
		*stored += st->chunks[i].stored;
}

static cJSON *stream_to_cjson(const tsarc_stream *st, enum chunks_as chunks)
{
	cJSON *o = cJSON_CreateObject(), *arr, *c;
	char hex[TSARC_ID_HEX_LEN + 1];
	uint64_t count, stored;
	size_t i;

	if (!o)
		return NULL;
	tsarc_hex_encode(hex, st->sha256, 32);
	stream_totals(st, &count, &stored);
	if (!cJSON_AddStringToObject(o, "name", st->name) ||
		!cJSON_AddStringToObject(o, "kind", st->kind) ||
		!cJSON_AddNumberToObject(o, "size", (double)st->size) ||
		!cJSON_AddStringToObject(o, "sha256", hex) ||
		!cJSON_AddStringToObject(o, "start", st->start) ||
		!cJSON_AddStringToObject(o, "end", st->end) ||
		!cJSON_AddNumberToObject(o, "chunk_count", (double)count) ||
		!cJSON_AddNumberToObject(o, "stored_size", (double)stored))
		goto fail;
	if (add_meta(o, st->meta))
		goto fail;
	if (chunks != CHUNKS_LIST)
		return o;
	if (!(arr = cJSON_AddArrayToObject(o, "chunks")))
		goto fail;
	for (i = 0; i < st->nchunks; i++) {
		tsarc_hex_encode(hex, st->chunks[i].id, TSARC_ID_LEN);
		if (!(c = cJSON_CreateArray()) || !cJSON_AddItemToArray(arr, c) ||
			!cJSON_AddItemToArray(c, cJSON_CreateString(hex)) ||
			!cJSON_AddItemToArray(c, cJSON_CreateNumber(st->chunks[i].size)) ||
			!cJSON_AddItemToArray(c, cJSON_CreateNumber(st->chunks[i].stored)))
			goto fail;
	}
	return o;
fail:
	cJSON_Delete(o);
	return NULL;
}

static cJSON *snapshot_to_cjson(const tsarc_snapshot *snap, enum chunks_as chunks)
{
	cJSON *root = cJSON_CreateObject(), *tags, *streams, *s;
	uint64_t total = 0;
	size_t i;

	if (!root)
		return NULL;
	for (i = 0; i < snap->nstreams; i++)
		total += snap->streams[i].size;
	if ((snap->id[0] && !cJSON_AddStringToObject(root, "id", snap->id)) ||
		!cJSON_AddNumberToObject(root, "version", chunks == CHUNKS_RECORDS ? 2 : 1) ||
		!cJSON_AddStringToObject(root, "time", snap->time) ||
		!cJSON_AddStringToObject(root, "host", snap->host ? snap->host : "") ||
		!cJSON_AddStringToObject(root, "tool_version",
			snap->tool_version ? snap->tool_version : "") ||
		!cJSON_AddNumberToObject(root, "total_size", (double)total) ||
		!(tags = cJSON_AddArrayToObject(root, "tags")) ||
		!(streams = cJSON_AddArrayToObject(root, "streams")))
		goto fail;
	for (i = 0; i < snap->ntags; i++)
		if (!cJSON_AddItemToArray(tags, cJSON_CreateString(snap->tags[i])))
			goto fail;
	if (add_meta(root, snap->meta))
		goto fail;
	for (i = 0; i < snap->nstreams; i++) {
		if (!(s = stream_to_cjson(&snap->streams[i], chunks)) ||
			!cJSON_AddItemToArray(streams, s)) {
			cJSON_Delete(s);
			goto fail;
		}
	}
	return root;
fail:
	cJSON_Delete(root);
	return NULL;
}

cJSON *tsarc_snapshot_to_cjson(const tsarc_snapshot *snap, int include_chunks)
{
	return snapshot_to_cjson(snap, include_chunks ? CHUNKS_LIST : CHUNKS_NONE);
}

int tsarc_snapshot_to_json(const tsarc_snapshot *snap, int include_chunks,
	char **out)
{
	cJSON *root = tsarc_snapshot_to_cjson(snap, include_chunks);

	*out = NULL;
	if (!root)
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	*out = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	return *out ? 0 : tsarc_error_set(TSARC_ENOMEM, "out of memory");
}

int tsarc_snapshot_encode(const tsarc_snapshot *snap, int records, tsarc_buf *out)
{
	cJSON *root = snapshot_to_cjson(snap, records ? CHUNKS_RECORDS : CHUNKS_LIST);
	char *text = root ? cJSON_PrintUnformatted(root) : NULL;
	uint8_t rec[TSARC_SNAPSHOT_RECORD_LEN];
	size_t s, i;
	int rc;

	cJSON_Delete(root);
	tsarc_buf_clear(out);
	if (!text)
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	/* Room for all of it at once: no doubling of a large list. */
	for (s = 0, i = 0; records && s < snap->nstreams; s++)
		i += snap->streams[s].nchunks;
	if (!(rc = tsarc_buf_grow(out, strlen(text) + 1 + i * sizeof(rec))))
		rc = tsarc_buf_append(out, text, strlen(text) + (records ? 1 : 0));
	free(text);
	for (s = 0; records && !rc && s < snap->nstreams; s++) {
		const tsarc_stream *st = &snap->streams[s];
		for (i = 0; !rc && i < st->nchunks; i++) {
			memcpy(rec, st->chunks[i].id, TSARC_ID_LEN);
			tsarc_le32_put(rec + TSARC_ID_LEN, st->chunks[i].size);
			tsarc_le32_put(rec + TSARC_ID_LEN + 4, st->chunks[i].stored);
			rc = tsarc_buf_append(out, rec, sizeof(rec));
		}
	}
	return rc;
}

static int get_string(const cJSON *o, const char *key, char **out, size_t max)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsString(it) || strlen(it->valuestring) > max)
		return tsarc_error_set(TSARC_ECORRUPT, "manifest: field '%s' is missing or invalid", key);
	if (!(*out = strdup(it->valuestring)))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	return 0;
}

static int get_fixed(const cJSON *o, const char *key, char *out, size_t outsz)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsString(it) || strlen(it->valuestring) >= outsz)
		return tsarc_error_set(TSARC_ECORRUPT, "manifest: field '%s' is missing or invalid", key);
	memcpy(out, it->valuestring, strlen(it->valuestring) + 1);
	return 0;
}

static int get_number(const cJSON *o, const char *key, uint64_t max, uint64_t *out)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsNumber(it) || it->valuedouble < 0 || it->valuedouble > (double)max ||
		it->valuedouble != (double)(uint64_t)it->valuedouble)
		return tsarc_error_set(TSARC_ECORRUPT, "manifest: field '%s' is missing or invalid", key);
	*out = (uint64_t)it->valuedouble;
	return 0;
}

/* Where a stream's chunks come from while a manifest is decoded. */
typedef struct chunk_source {
	const uint8_t *records; /* the records after the JSON; NULL: JSON lists */
	size_t nrecords, next;  /* how many, and the first not yet taken */
	unsigned flags;
} chunk_source;

/* Checks chunk i of stream st and, unless only headers are wanted, keeps it. */
static int take_chunk(tsarc_stream *st, size_t i, const tsarc_chunk_ref *ref, uint64_t *sum,
	const chunk_source *src)
{
	if (ref->size < 1 || ref->size > TSARC_CHUNK_MAX_LIMIT)
		return tsarc_error_set(TSARC_ECORRUPT,
			"manifest: chunk %zu of stream '%s' is invalid", i, st->name);
	*sum += ref->size;
	st->stored_size += ref->stored;
	if (!(src->flags & TSARC_SNAPSHOT_HEADERS))
		st->chunks[i] = *ref;
	return 0;
}

/* The stream's chunks from JSON lists: [hex id, size, stored]. */
static int chunks_from_list(tsarc_stream *st, const cJSON *arr, uint64_t *sum,
	const chunk_source *src)
{
	const cJSON *c;
	tsarc_chunk_ref ref;
	size_t i = 0;
	int rc;

	cJSON_ArrayForEach(c, arr) {
		const cJSON *cid = cJSON_GetArrayItem(c, 0), *cs = cJSON_GetArrayItem(c, 1),
			    *cst = cJSON_GetArrayItem(c, 2);
		if (!cJSON_IsArray(c) || !cJSON_IsString(cid) || !cJSON_IsNumber(cs) ||
			!cJSON_IsNumber(cst) ||
			tsarc_hex_decode(ref.id, TSARC_ID_LEN, cid->valuestring) ||
			cs->valuedouble < 1 || cs->valuedouble > TSARC_CHUNK_MAX_LIMIT ||
			cs->valuedouble != (double)(uint32_t)cs->valuedouble ||
			cst->valuedouble < 0 || cst->valuedouble > UINT32_MAX ||
			cst->valuedouble != (double)(uint32_t)cst->valuedouble)
			return tsarc_error_set(TSARC_ECORRUPT,
				"manifest: chunk %zu of stream '%s' is invalid", i, st->name);
		ref.size = (uint32_t)cs->valuedouble;
		ref.stored = (uint32_t)cst->valuedouble;
		if ((rc = take_chunk(st, i, &ref, sum, src)))
			return rc;
		i++;
	}
	return 0;
}

/* The stream's chunk_count chunks from the records not yet taken. */
static int chunks_from_records(tsarc_stream *st, uint64_t *sum, chunk_source *src)
{
	const uint8_t *p;
	tsarc_chunk_ref ref;
	size_t i;
	int rc;

	for (i = 0; i < st->chunk_count; i++) {
		p = src->records + (src->next + i) * TSARC_SNAPSHOT_RECORD_LEN;
		memcpy(ref.id, p, TSARC_ID_LEN);
		ref.size = tsarc_le32_get(p + TSARC_ID_LEN);
		ref.stored = tsarc_le32_get(p + TSARC_ID_LEN + 4);
		if ((rc = take_chunk(st, i, &ref, sum, src)))
			return rc;
	}
	src->next += (size_t)st->chunk_count;
	return 0;
}

static int stream_from_cjson(tsarc_stream *st, const cJSON *o, chunk_source *src)
{
	const cJSON *arr, *meta;
	char hex[TSARC_ID_HEX_LEN + 1];
	uint64_t sum = 0;
	int rc;

	if (!cJSON_IsObject(o))
		return tsarc_error_set(TSARC_ECORRUPT, "manifest: a stream is not an object");
	if ((rc = get_string(o, "name", &st->name, 1024)) ||
		(rc = get_string(o, "kind", &st->kind, 64)) ||
		(rc = get_number(o, "size", UINT64_MAX >> 11, &st->size)) ||
		(rc = get_fixed(o, "sha256", hex, sizeof(hex))) ||
		(rc = get_fixed(o, "start", st->start, sizeof(st->start))) ||
		(rc = get_fixed(o, "end", st->end, sizeof(st->end))))
		return rc;
	if (tsarc_hex_decode(st->sha256, 32, hex))
		return tsarc_error_set(TSARC_ECORRUPT, "manifest: invalid sha256 of stream '%s'", st->name);
	meta = cJSON_GetObjectItemCaseSensitive(o, "meta");
	if (meta && !(st->meta = cJSON_Duplicate(meta, 1)))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	arr = cJSON_GetObjectItemCaseSensitive(o, "chunks");
	if (src->records) {
		/* Its records follow those of the streams before it. */
		if (arr)
			return tsarc_error_set(TSARC_ECORRUPT,
				"manifest: stream '%s' has a chunk list besides its records", st->name);
		if (get_number(o, "chunk_count", src->nrecords - src->next, &st->chunk_count))
			return tsarc_error_set(TSARC_ECORRUPT,
				"manifest: stream '%s' has no chunk count or more chunks than the "
				"records hold",
				st->name);
	} else {
		if (!cJSON_IsArray(arr))
			return tsarc_error_set(TSARC_ECORRUPT,
				"manifest: stream '%s' has no chunk list", st->name);
		st->chunk_count = (uint64_t)cJSON_GetArraySize(arr);
	}
	if (st->chunk_count && !(src->flags & TSARC_SNAPSHOT_HEADERS)) {
		if (!(st->chunks = calloc((size_t)st->chunk_count, sizeof(*st->chunks))))
			return tsarc_error_set(TSARC_ENOMEM, "out of memory");
		st->nchunks = (size_t)st->chunk_count;
	}
	rc = src->records ? chunks_from_records(st, &sum, src) : chunks_from_list(st, arr, &sum, src);
	if (rc)
		return rc;
	if (sum != st->size)
		return tsarc_error_set(TSARC_ECORRUPT,
			"manifest: chunks of stream '%s' add up to %llu bytes, not %llu",
			st->name, (unsigned long long)sum, (unsigned long long)st->size);
	return 0;
}

/* The header fields of the root and its tags. */
static int header_from_cjson(tsarc_snapshot *snap, const cJSON *root)
{
	const cJSON *tags, *it;
	size_t n;
	int rc;

	if ((rc = get_fixed(root, "time", snap->time, sizeof(snap->time))) ||
		(rc = get_string(root, "host", &snap->host, 255)) ||
		(rc = get_string(root, "tool_version", &snap->tool_version, 64)))
		return rc;
	if (tsarc_time_parse(snap->time, &snap->time_unix))
		return tsarc_error_set(TSARC_ECORRUPT, "manifest: invalid time");
	it = cJSON_GetObjectItemCaseSensitive(root, "meta");
	if (it) {
		if (!cJSON_IsObject(it))
			return tsarc_error_set(TSARC_ECORRUPT, "manifest: meta is not an object");
		if (!(snap->meta = cJSON_Duplicate(it, 1)))
			return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	}
	tags = cJSON_GetObjectItemCaseSensitive(root, "tags");
	if (!cJSON_IsArray(tags))
		return tsarc_error_set(TSARC_ECORRUPT, "manifest: tags or streams missing");
	n = (size_t)cJSON_GetArraySize(tags);
	if (n && !(snap->tags = calloc(n, sizeof(char *))))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	cJSON_ArrayForEach(it, tags) {
		if (!cJSON_IsString(it) || !(snap->tags[snap->ntags] = strdup(it->valuestring)))
			return tsarc_error_set(TSARC_ECORRUPT, "manifest: invalid tag");
		snap->ntags++;
	}
	return 0;
}

/* The streams, their chunks from `src`, which they must use up exactly. */
static int streams_from_cjson(tsarc_snapshot *snap, const cJSON *root, chunk_source *src)
{
	const cJSON *streams = cJSON_GetObjectItemCaseSensitive(root, "streams"), *it;
	size_t n, i = 0;
	int rc;

	if (!cJSON_IsArray(streams))
		return tsarc_error_set(TSARC_ECORRUPT, "manifest: tags or streams missing");
	n = (size_t)cJSON_GetArraySize(streams);
	if (n && !(snap->streams = calloc(n, sizeof(tsarc_stream))))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	cJSON_ArrayForEach(it, streams) {
		snap->nstreams = i + 1;
		if ((rc = stream_from_cjson(&snap->streams[i], it, src)))
			return rc;
		i++;
	}
	if (src->records && src->next != src->nrecords)
		return tsarc_error_set(TSARC_ECORRUPT,
			"manifest: %zu chunk records belong to no stream", src->nrecords - src->next);
	return 0;
}

int tsarc_snapshot_decode(tsarc_snapshot **out, const uint8_t *data, size_t len,
	unsigned flags)
{
	const uint8_t *nul = len ? memchr(data, 0, len) : NULL;
	size_t text_len = nul ? (size_t)(nul - data) : len, tail;
	chunk_source src = {NULL, 0, 0, flags};
	const cJSON *version;
	tsarc_snapshot *snap;
	cJSON *root;
	int rc;

	*out = NULL;
	root = cJSON_ParseWithLength((const char *)data, text_len);
	if (!root || !cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return tsarc_error_set(TSARC_ECORRUPT, "manifest is not a JSON object");
	}
	/* Records follow the NUL, and only a version-2 manifest has them. */
	version = cJSON_GetObjectItemCaseSensitive(root, "version");
	if (nul || (cJSON_IsNumber(version) && version->valuedouble == 2)) {
		tail = len - text_len - (nul ? 1 : 0);
		if (!nul || !cJSON_IsNumber(version) || version->valuedouble != 2 ||
			tail % TSARC_SNAPSHOT_RECORD_LEN) {
			cJSON_Delete(root);
			return tsarc_error_set(TSARC_ECORRUPT,
				"manifest: its chunk records are missing, cut short or not announced "
				"(%zu bytes after the JSON)",
				tail);
		}
		src.records = nul + 1;
		src.nrecords = tail / TSARC_SNAPSHOT_RECORD_LEN;
	}
	if (!(snap = calloc(1, sizeof(*snap)))) {
		cJSON_Delete(root);
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	}
	if ((rc = header_from_cjson(snap, root)) || (rc = streams_from_cjson(snap, root, &src))) {
		cJSON_Delete(root);
		tsarc_snapshot_free(snap);
		return rc;
	}
	cJSON_Delete(root);
	*out = snap;
	return 0;
}

int tsarc_snapshot_from_json(tsarc_snapshot **out, const char *text, size_t len)
{
	return tsarc_snapshot_decode(out, (const uint8_t *)text, len, 0);
}

int tsarc_snapshot_save(tsarc_repo *repo, tsarc_snapshot *snap)
{
	tsarc_buf plain = TSARC_BUF_INIT, sealed = TSARC_BUF_INIT;
	uint8_t digest[32];
	int rc;

	snap->id[0] = '\0';
	if ((rc = tsarc_snapshot_encode(snap, repo->version >= 2, &plain)))
		goto done;
	rc = tsarc_repo_seal_object(repo, AAD_SNAPSHOT, plain.ptr, plain.size, &sealed);
	tsarc_buf_dispose(&plain);
	if (rc || (rc = tsarc_sha256(sealed.ptr, sealed.size, digest)))
		goto done;
	tsarc_hex_encode(snap->id, digest, 32);
	rc = tsarc_store_put(repo->store, TSARC_OBJ_SNAPSHOT, snap->id, sealed.ptr,
		sealed.size, TSARC_PUT_CREATE_ONLY);
	if (rc)
		snap->id[0] = '\0';
done:
	tsarc_buf_dispose(&plain);
	tsarc_buf_dispose(&sealed);
	return rc;
}

static int load_flags(tsarc_repo *repo, const char *id, unsigned flags, tsarc_snapshot **out)
{
	tsarc_buf sealed = TSARC_BUF_INIT, plain = TSARC_BUF_INIT;
	uint8_t digest[32];
	char hex[TSARC_ID_HEX_LEN + 1];
	int rc;

	*out = NULL;
	tsarc_buf_init(&sealed, TSARC_SNAPSHOT_MAX);
	rc = tsarc_store_get(repo->store, TSARC_OBJ_SNAPSHOT, id, 0, 0, &sealed);
	if (rc == TSARC_ETOOLARGE)
		rc = tsarc_error_set(TSARC_ECORRUPT,
			"snapshot %.12s is damaged: larger than any manifest can be", id);
	if (rc)
		goto done;
	if ((rc = tsarc_sha256(sealed.ptr, sealed.size, digest)))
		goto done;
	tsarc_hex_encode(hex, digest, 32);
	if (strcmp(hex, id) != 0) {
		rc = tsarc_error_set(TSARC_ECORRUPT,
			"snapshot %.12s is damaged (its content does not match its id)", id);
		goto done;
	}
	rc = tsarc_repo_open_object(repo, AAD_SNAPSHOT, sealed.ptr, sealed.size, &plain);
	/* Not needed any more: a large manifest is held once, not twice. */
	tsarc_buf_dispose(&sealed);
	if (rc) {
		tsarc_error_prefix("snapshot %.12s", id);
		goto done;
	}
	if ((rc = tsarc_snapshot_decode(out, plain.ptr, plain.size, flags))) {
		tsarc_error_prefix("snapshot %.12s", id);
		goto done;
	}
	memcpy((*out)->id, id, TSARC_ID_HEX_LEN + 1);
done:
	tsarc_buf_dispose(&sealed);
	tsarc_buf_dispose(&plain);
	return rc;
}

int tsarc_snapshot_load(tsarc_repo *repo, const char *id, tsarc_snapshot **out)
{
	return load_flags(repo, id, 0, out);
}

int tsarc_snapshot_load_headers(tsarc_repo *repo, const char *id, tsarc_snapshot **out)
{
	return load_flags(repo, id, TSARC_SNAPSHOT_HEADERS, out);
}

int tsarc_snapshot_name_is_id(const char *name)
{
	return strlen(name) == TSARC_ID_HEX_LEN &&
	       strspn(name, "0123456789abcdef") == TSARC_ID_HEX_LEN;
}

int tsarc_snapshot_list_ids(tsarc_repo *repo, char ***ids_out, size_t *count_out)
{
	size_t i, kept = 0;
	int rc = tsarc_store_list_names(repo->store, TSARC_OBJ_SNAPSHOT, ids_out, count_out);

	if (rc)
		return rc;
	/* Only names of a snapshot's form (the lower-case hex of its hash):
	 * anything else is not a snapshot, and taken for a damaged one it
	 * would stop every prune, with no id 'forget' takes to remove it. */
	for (i = 0; i < *count_out; i++) {
		if (tsarc_snapshot_name_is_id((*ids_out)[i]))
			(*ids_out)[kept++] = (*ids_out)[i];
		else
			free((*ids_out)[i]);
	}
	*count_out = kept;
	return 0;
}

void tsarc_snapshot_ids_free(char **ids, size_t count)
{
	tsarc_store_names_free(ids, count);
}

int tsarc_snapshot_time_cmp(int64_t x_unix, const char *x_time, const char *x_id,
	int64_t y_unix, const char *y_time, const char *y_id)
{
	int c;

	if (x_unix != y_unix)
		return x_unix < y_unix ? -1 : 1;
	/* Same second: the text has the fraction; the id makes the order total. */
	c = strcmp(x_time, y_time);
	return c ? c : strcmp(x_id, y_id);
}

static int by_time(const void *a, const void *b)
{
	const tsarc_snapshot *x = *(tsarc_snapshot *const *)a, *y = *(tsarc_snapshot *const *)b;

	return tsarc_snapshot_time_cmp(x->time_unix, x->time, x->id, y->time_unix, y->time,
		y->id);
}

static int load_all_flags(tsarc_repo *repo, unsigned flags, tsarc_snapshot ***out,
	size_t *count_out,
	void (*on_error)(const char *id, int code, const char *msg, void *payload),
	void *payload)
{
	char **ids = NULL;
	size_t n = 0, i, got = 0;
	tsarc_snapshot **snaps;
	int rc;

	*out = NULL;
	*count_out = 0;
	if ((rc = tsarc_snapshot_list_ids(repo, &ids, &n)))
		return rc;
	if (!(snaps = calloc(n ? n : 1, sizeof(*snaps)))) {
		tsarc_snapshot_ids_free(ids, n);
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	}
	for (i = 0; i < n; i++) {
		rc = load_flags(repo, ids[i], flags, &snaps[got]);
		if (rc == 0) {
			got++;
			continue;
		}
		/* Listed, then removed by a concurrent forget: it is gone, not
		 * damaged. */
		if (rc == TSARC_ENOTFOUND) {
			tsarc_error_clear();
			continue;
		}
		/* Only damage is left out: a snapshot the store would not give us
		 * (network, permissions, I/O) may be the newest, so a list
		 * without it would be a lie. */
		if (rc == TSARC_ECORRUPT && on_error) {
			on_error(ids[i], rc, tsarc_error_last()->message, payload);
			continue;
		}
		if (rc != TSARC_ECORRUPT)
			tsarc_error_prefix("snapshot %.12s cannot be read", ids[i]);
		tsarc_snapshot_array_free(snaps, got);
		tsarc_snapshot_ids_free(ids, n);
		return rc;
	}
	tsarc_snapshot_ids_free(ids, n);
	qsort(snaps, got, sizeof(*snaps), by_time);
	*out = snaps;
	*count_out = got;
	tsarc_error_clear();
	return 0;
}

int tsarc_snapshot_load_all(tsarc_repo *repo, tsarc_snapshot ***out, size_t *count_out,
	void (*on_error)(const char *id, int code, const char *msg, void *payload),
	void *payload)
{
	return load_all_flags(repo, 0, out, count_out, on_error, payload);
}

int tsarc_snapshot_load_all_headers(tsarc_repo *repo, tsarc_snapshot ***out,
	size_t *count_out,
	void (*on_error)(const char *id, int code, const char *msg, void *payload),
	void *payload)
{
	return load_all_flags(repo, TSARC_SNAPSHOT_HEADERS, out, count_out, on_error, payload);
}

void tsarc_snapshot_array_free(tsarc_snapshot **snaps, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++)
		tsarc_snapshot_free(snaps[i]);
	free(snaps);
}

typedef struct skipped {
	size_t count;
	char first[512];
} skipped;

/* `latest` is the newest snapshot that can be read: one damaged snapshot
 * must not block every restore. Each one skipped is named, as a warning. */
static void skip_damaged(const char *id, int code, const char *msg, void *payload)
{
	skipped *sk = payload;

	(void)code;
	if (!sk->count++)
		snprintf(sk->first, sizeof(sk->first), "%s", msg);
	/* The message names the snapshot (tsarc_snapshot_load's errors do). */
	(void)id;
	tsarc__log(TSARC_LOG_WARN, "snapshot", "snapshot_skipped", "%s: passed over for 'latest'",
		msg);
}

/* 0 when `spec` can be an id or a prefix of one, else TSARC_EINVAL. */
static int spec_is_prefix(const char *spec)
{
	size_t len = strlen(spec);

	if (len == 0 || len > TSARC_ID_HEX_LEN || strspn(spec, "0123456789abcdef") != len)
		return tsarc_error_set(TSARC_EINVAL,
			"'%s' is not a snapshot id (use an id, a unique prefix, or latest)", spec);
	return 0;
}

int tsarc_snapshot_is_undo(const tsarc_snapshot *snap)
{
	return snap->meta && cJSON_GetObjectItemCaseSensitive(snap->meta, TSARC_UNDO_META) != NULL;
}

int tsarc_snapshot_is_deployment(const tsarc_snapshot *snap)
{
	size_t i;

	if (!snap->nstreams || tsarc_snapshot_is_undo(snap))
		return 0;
	for (i = 0; i < snap->nstreams; i++)
		if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(snap->streams[i].meta,
			    "component")))
			return 0;
	return 1;
}

int tsarc_snapshot_is_half_restored(const tsarc_snapshot *snap)
{
	return snap->meta &&
		cJSON_GetObjectItemCaseSensitive(snap->meta, TSARC_HALF_RESTORED_META) != NULL;
}

/* Whether `snap` is one "latest" may name under `pick`, half-restored
 * backups aside (pickable). */
static int pickable_any(const tsarc_snapshot *snap, const tsarc_snapshot_pick *pick)
{
	if (tsarc_snapshot_is_undo(snap))
		return 0;
	if (pick && pick->host && strcmp(snap->host, pick->host))
		return 0;
	return !pick || !pick->deployment || tsarc_snapshot_is_deployment(snap);
}

static int pickable(const tsarc_snapshot *snap, const tsarc_snapshot_pick *pick)
{
	return pickable_any(snap, pick) &&
		!(pick && pick->deployment && tsarc_snapshot_is_half_restored(snap));
}

/* A deployment's "latest" without a host, in a repository holding the
 * backups of several: refused, naming each host with its newest backup,
 * newest first (snaps is oldest first), so the operator says which one
 * they mean. */
static int several_hosts(tsarc_snapshot **snaps, size_t n)
{
	const tsarc_snapshot_pick any = {NULL, 1, NULL};
	const tsarc_snapshot **seen;
	char list[1024] = "";
	size_t i, j, hosts = 0, len = 0;
	int rc;

	if (!(seen = calloc(n ? n : 1, sizeof(*seen))))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	for (i = n; i > 0; i--) {
		const tsarc_snapshot *s = snaps[i - 1];
		if (!pickable(s, &any))
			continue;
		for (j = 0; j < hosts && strcmp(seen[j]->host, s->host); j++)
			;
		if (j < hosts)
			continue;
		seen[hosts++] = s;
		/* snprintf stops at the end of the list: a long one is cut. */
		if (len < sizeof(list))
			len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s (newest %s, %.10s)",
				hosts > 1 ? ", " : "", s->host, s->time, s->id);
	}
	rc = tsarc_error_set(TSARC_EINVAL, "the repository holds the backups of %zu hosts, "
		"newest first: %s; 'latest' alone could name another deployment's: give "
		"--host HOST or a snapshot id", hosts, list);
	free(seen);
	return rc;
}

int tsarc_cluster_valid(const char *s)
{
	const size_t plen = sizeof(TSARC_CLUSTER_PREFIX) - 1;

	return s && strlen(s) == TSARC_CLUSTER_LEN && !strncmp(s, TSARC_CLUSTER_PREFIX, plen) &&
		strspn(s + plen, "0123456789abcdef") == TSARC_CLUSTER_LEN - plen;
}

const cJSON *tsarc_snapshot_deployment(const tsarc_snapshot *snap)
{
	size_t i;

	for (i = 0; i < snap->nstreams; i++) {
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(snap->streams[i].meta, "deployment");
		if (cJSON_IsObject(d))
			return d;
	}
	return NULL;
}

const char *tsarc_snapshot_cluster(const tsarc_snapshot *snap)
{
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(tsarc_snapshot_deployment(snap),
		"cluster");

	return cJSON_IsString(c) && tsarc_cluster_valid(c->valuestring) ? c->valuestring : NULL;
}

/* A deployment's "latest" (snaps[i - 1], oldest first) taken in another
 * cluster than the target's (pick->cluster), while the same host also has
 * backups taken in the target's own: two clusters whose 3scale namespaces
 * share a name record one host, and by time alone "latest" is whichever
 * cluster ran last, the other's data restored over this one's. Refused,
 * naming both clusters (a short fingerprint) and each one's newest
 * backup. Where the host has no backup of the target's cluster (the
 * first restore of a migration) "latest" is the other cluster's, and
 * the restore is a migration (its place names another cluster). A
 * backup that records no cluster is not counted either way. */
static int other_clusters_latest(tsarc_snapshot **snaps, size_t i,
	const tsarc_snapshot_pick *pick)
{
	const tsarc_snapshot *newest = snaps[i - 1], *own = NULL;
	const char *theirs = tsarc_snapshot_cluster(newest), *c;
	size_t j;

	if (!theirs || !strcmp(theirs, pick->cluster))
		return 0;
	for (j = i - 1; j > 0 && !own; j--)
		if (pickable(snaps[j - 1], pick) && !strcmp(snaps[j - 1]->host, newest->host) &&
			(c = tsarc_snapshot_cluster(snaps[j - 1])) && !strcmp(c, pick->cluster))
			own = snaps[j - 1];
	if (!own)
		return 0;
	return tsarc_error_set(TSARC_EINVAL, "the newest backup of host '%s' was taken in "
		"another cluster: cluster %.19s (newest %s, %.10s), not this one, cluster %.19s "
		"(newest %s, %.10s); two clusters back up under one host (their 3scale namespaces "
		"share a name) and 'latest' would restore the other cluster's data over this "
		"one's: give the snapshot id, or give each cluster's CronJob its own --host (and "
		"its restore Job the same)", newest->host, theirs, newest->time, newest->id,
		pick->cluster, own->time, own->id);
}

/* "latest" under `pick`: see tsarc_snapshot_resolve_pick. */
static int resolve_latest(tsarc_repo *repo, const tsarc_snapshot_pick *pick,
	char id_out[TSARC_ID_HEX_LEN + 1])
{
	tsarc_snapshot **snaps;
	skipped sk = {0, ""};
	size_t n, i, j;
	int rc;

	if ((rc = tsarc_snapshot_load_all_headers(repo, &snaps, &n, skip_damaged, &sk)))
		return rc;
	for (i = n; i > 0 && !pickable(snaps[i - 1], pick); i--)
		if (pickable_any(snaps[i - 1], pick))
			tsarc__log(TSARC_LOG_WARN, "snapshot", "snapshot_half_restored", "snapshot "
				"%.10s (%s, host %s) was taken while the deployment was half-restored: "
				"passed over for 'latest' (restore it by its id)", snaps[i - 1]->id,
				snaps[i - 1]->time, snaps[i - 1]->host);
	if (i && pick && pick->deployment && !pick->host)
		for (j = 0; j < i && !rc; j++)
			if (pickable(snaps[j], pick) && strcmp(snaps[j]->host, snaps[i - 1]->host))
				rc = several_hosts(snaps, n);
	if (i && !rc && pick && pick->deployment && pick->cluster)
		rc = other_clusters_latest(snaps, i, pick);
	if (i && !rc)
		memcpy(id_out, snaps[i - 1]->id, TSARC_ID_HEX_LEN + 1);
	tsarc_snapshot_array_free(snaps, n);
	if (rc || i)
		return rc;
	if (n == 0 && sk.count)
		return tsarc_error_set(TSARC_ECORRUPT, "no snapshot can be read: %zu %s damaged (%s)",
			sk.count, sk.count == 1 ? "is" : "are", sk.first);
	if (n == 0)
		return tsarc_error_set(TSARC_ENOTFOUND, "the repository has no snapshots");
	if (pick && pick->host)
		return tsarc_error_set(TSARC_ENOTFOUND, "the repository has no %s of host '%s' "
			"that 'latest' can name%s", pick->deployment ? "deployment backup" : "snapshot",
			pick->host, sk.count ? " (some snapshots are damaged: see the warnings)" : "");
	if (pick && pick->deployment)
		return tsarc_error_set(TSARC_ENOTFOUND, "the repository has no deployment backup "
			"that 'latest' can name (undo snapshots, single-stream backups and backups "
			"taken half-restored are never named by it): give an id");
	return tsarc_error_set(TSARC_ENOTFOUND, "the repository has only undo "
		"snapshots, which 'latest' never names: give an id");
}

int tsarc_snapshot_resolve(tsarc_repo *repo, const char *spec,
	char id_out[TSARC_ID_HEX_LEN + 1])
{
	return tsarc_snapshot_resolve_pick(repo, spec, NULL, id_out);
}

int tsarc_snapshot_resolve_pick(tsarc_repo *repo, const char *spec,
	const tsarc_snapshot_pick *pick, char id_out[TSARC_ID_HEX_LEN + 1])
{
	tsarc_snapshot *snap = NULL;
	char **ids = NULL;
	size_t n = 0;
	int rc;

	if (!strcmp(spec, "latest"))
		return resolve_latest(repo, pick, id_out);
	if ((rc = spec_is_prefix(spec)) || (rc = tsarc_snapshot_list_ids(repo, &ids, &n)))
		return rc;
	rc = tsarc_snapshot_match(ids, n, spec, "snapshots", id_out);
	tsarc_snapshot_ids_free(ids, n);
	if (rc || !pick || !pick->host)
		return rc;
	/* An id and a host: they must agree, or the operator meant another
	 * deployment than the one they named. */
	if ((rc = tsarc_snapshot_load_headers(repo, id_out, &snap)))
		return rc;
	if (strcmp(snap->host, pick->host))
		rc = tsarc_error_set(TSARC_EINVAL, "snapshot %.10s is a backup of host '%s', "
			"not of '%s' (--host)", id_out, snap->host, pick->host);
	tsarc_snapshot_free(snap);
	return rc;
}

int tsarc_snapshot_match(char *const *ids, size_t n, const char *spec, const char *what,
	char id_out[TSARC_ID_HEX_LEN + 1])
{
	size_t i, len = strlen(spec), matches = 0;
	int rc;

	if ((rc = spec_is_prefix(spec)))
		return rc;
	for (i = 0; i < n; i++)
		if (!strncmp(ids[i], spec, len) && matches++ == 0)
			memcpy(id_out, ids[i], TSARC_ID_HEX_LEN + 1);
	if (matches == 0)
		return tsarc_error_set(TSARC_ENOTFOUND, "no snapshot matches '%s'", spec);
	if (matches > 1)
		return tsarc_error_set(TSARC_EINVAL,
			"'%s' matches %zu %s: give more of the id", spec, matches, what);
	return 0;
}

const tsarc_stream *tsarc_snapshot_find_stream(const tsarc_snapshot *snap,
	const char *name)
{
	size_t i;

	for (i = 0; i < snap->nstreams; i++)
		if (!strcmp(snap->streams[i].name, name))
			return &snap->streams[i];
	return NULL;
}
