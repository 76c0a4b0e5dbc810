/*
 * The zeros GNU tar padded shrunk files with. A pod's tar writes an
 * entry's header, with the size the file had, before it reads the file;
 * when the file shrinks meanwhile it fills the rest with zeros and says
 * so on stderr, which the backup records in the stream's metadata
 * ("padded": each entry's name and how many zeros end it; see
 * backends/components/tar_stderr.h). Every restore reads the entry as
 * that many bytes shorter, so the file comes back with the bytes it had;
 * the bytes left out must be zeros (holes.c, rewrite.c check it). The
 * metadata is the snapshot's, so it is checked like the rest of it
 * (recipe.c) and fuzzed (tests/fuzz/fuzz_meta.c).
 */
#include "internal.h"
#include "tsarc/errors.h"

#include <stdlib.h>
#include <string.h>

/* More than a backup writes (tar_stderr.c keeps 100000). */
#define PADDED_MAX 1000000
/* cJSON numbers are doubles: integers are exact up to 2^53. */
#define ZEROS_MAX 9007199254740992.0

typedef struct padded {
	char *name; /* without "./" */
	uint64_t zeros;
} padded;

struct tsarc_tree_padding {
	padded *v;
	size_t n;
};

static const char *plain(const char *p)
{
	while (p[0] == '.' && p[1] == '/')
		p += 2;
	return p;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const padded *)a)->name, ((const padded *)b)->name);
}

void tsarc_tree_padding_free(tsarc_tree_padding *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->n; i++)
		free(p->v[i].name);
	free(p->v);
	free(p);
}

int tsarc_tree_padding_parse(const cJSON *meta, tsarc_tree_padding **out)
{
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(meta, "padded"), *item;
	tsarc_tree_padding *p;
	int n, rc = 0;
	size_t i;

	*out = NULL;
	if (!list)
		return 0;
	if (!cJSON_IsArray(list) || (n = cJSON_GetArraySize(list)) > PADDED_MAX)
		return tsarc_error_set(TSARC_EUNSAFE, "\"padded\" must be a list of at most %d "
			"entries", PADDED_MAX);
	if (!(p = calloc(1, sizeof(*p))) || (n && !(p->v = calloc((size_t)n, sizeof(padded))))) {
		free(p);
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	}
	cJSON_ArrayForEach(item, list) {
		const cJSON *path = cJSON_GetObjectItemCaseSensitive(item, "path");
		const cJSON *zeros = cJSON_GetObjectItemCaseSensitive(item, "zeros");
		const char *name;
		if (!cJSON_IsObject(item) || !cJSON_IsString(path) || !cJSON_IsNumber(zeros) ||
			!(zeros->valuedouble >= 1 && zeros->valuedouble <= ZEROS_MAX) ||
			zeros->valuedouble != (double)(uint64_t)zeros->valuedouble ||
			!*(name = plain(path->valuestring)) || strlen(name) >= TSARC_TREE_PATH_MAX) {
			rc = tsarc_error_set(TSARC_EUNSAFE, "\"padded\" entry %zu must be {\"path\": "
				"a tar entry's name, \"zeros\": a whole number of bytes from 1}", p->n + 1);
			break;
		}
		if (!(p->v[p->n].name = strdup(name))) {
			rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
			break;
		}
		p->v[p->n++].zeros = (uint64_t)zeros->valuedouble;
	}
	if (!rc && p->n > 1) {
		qsort(p->v, p->n, sizeof(padded), by_name);
		for (i = 1; i < p->n && !rc; i++)
			if (!strcmp(p->v[i - 1].name, p->v[i].name))
				rc = tsarc_error_set(TSARC_EUNSAFE, "\"padded\" names entry '%s' twice",
					p->v[i].name);
	}
	if (rc) {
		tsarc_tree_padding_free(p);
		return rc;
	}
	*out = p;
	return 0;
}

uint64_t tsarc__tree_padding_find(const tsarc_tree_padding *p, const char *name)
{
	padded key, *hit;

	if (!p || !p->n)
		return 0;
	key.name = (char *)plain(name);
	hit = bsearch(&key, p->v, p->n, sizeof(padded), by_name);
	return hit ? hit->zeros : 0;
}

int tsarc__tree_padding_zeros(const char *name, const void *p, size_t len)
{
	const unsigned char *b = p;

	if (len && (b[0] || memcmp(b, b + 1, len - 1)))
		return tsarc_error_set(TSARC_ECORRUPT, "tar entry '%s': the bytes the stream's "
			"metadata names as tar's zero padding are not zeros", name);
	return 0;
}
