/*
 * Repository format.
 *
 * keys/<sha256 of the file>: JSON in the clear holding only scrypt
 *   parameters, a salt, and the master keys sealed with the key derived
 *   from the password. The name is the hash of the content, so damage is
 *   told apart from a wrong password.
 * config: the repository parameters (format version, id, chunker
 *   parameters and seed, codec), sealed with the master encryption key.
 * data/<xx>/<chunk id>: codec byte + compressed chunk, sealed.
 * snapshots/<sha256 of the file>: the manifest JSON, sealed.
 * Format 2: data/<xx>/<random pack name>: packs of sealed chunks (pack.h),
 *   index/<sha256 of the file>: where each chunk is (index.h).
 */
#include "repo.h"
#include "base64.h"
#include "error_save.h"
#include "objlock.h"
#include "index.h"
#include "wipe.h"
#include "snapshot.h"
#include "forgotten.h"
#include "tsarc/errors.h"

#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CONFIG_MAX (64 * 1024)
#define SALT_LEN 32

static const char AAD_KEY[] = "tsarc-key-v1";
static const char AAD_CONFIG[] = "tsarc-config-v1";

static int json_add_b64(cJSON *obj, const char *name, const uint8_t *data,
	size_t len)
{
	cJSON *item;
	char *b64;
	int rc;

	if ((rc = tsarc_base64_encode(&b64, data, len)))
		return rc;
	item = cJSON_AddStringToObject(obj, name, b64);
	tsarc_secure_free_str(b64);
	return item ? 0 : tsarc_error_set(TSARC_ENOMEM, "out of memory");
}

static int json_get_b64(const cJSON *obj, const char *name, uint8_t *out,
	size_t want, const char *what)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);
	size_t got = 0;

	if (!cJSON_IsString(item) ||
		tsarc_base64_decode_to(out, want, &got, item->valuestring) || got != want)
		return tsarc_error_set(TSARC_ECORRUPT, "%s: field '%s' is missing or invalid",
			what, name);
	return 0;
}

static int json_get_u64(const cJSON *obj, const char *name, uint64_t *out,
	uint64_t max, const char *what)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);

	if (!cJSON_IsNumber(item) || item->valuedouble < 0 ||
		item->valuedouble > (double)max ||
		item->valuedouble != (double)(uint64_t)item->valuedouble)
		return tsarc_error_set(TSARC_ECORRUPT, "%s: field '%s' is missing or invalid",
			what, name);
	*out = (uint64_t)item->valuedouble;
	return 0;
}

/* --- the names of a repository's objects --- */

/* The number of lower-case hex digits `s` starts with. */
static size_t hex_run(const char *s)
{
	size_t i = 0;

	while ((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))
		i++;
	return i;
}

int tsarc_repo_object_key(const char *key)
{
	static const char *const flat[] = {"keys/", "snapshots/", "locks/", "index/"};
	size_t i;

	if (!strcmp(key, "config"))
		return 1;
	for (i = 0; i < sizeof(flat) / sizeof(flat[0]); i++) {
		size_t d = strlen(flat[i]);
		const char *name = key + d;
		if (strncmp(key, flat[i], d) || hex_run(name) != TSARC_ID_HEX_LEN)
			continue;
		if (!name[TSARC_ID_HEX_LEN])
			return 1;
		/* forgotten.c's mark beside a snapshot */
		return i == 1 && !strcmp(name + TSARC_ID_HEX_LEN, TSARC_FORGOTTEN_SUFFIX);
	}
	/* data/XX/HEX: a chunk (format 1) or a pack (format 2) */
	return !strncmp(key, "data/", 5) && hex_run(key + 5) == 2 && key[7] == '/' &&
		hex_run(key + 8) == TSARC_ID_HEX_LEN && !key[8 + TSARC_ID_HEX_LEN] &&
		!strncmp(key + 5, key + 8, 2);
}

/* --- whole encrypted objects --- */

int tsarc_repo_seal_object(const tsarc_repo *repo, const char *role,
	const void *plain, size_t len, tsarc_buf *out)
{
	int rc;

	tsarc_buf_clear(out);
	if ((rc = tsarc_buf_grow(out, len + TSARC_AEAD_OVERHEAD)))
		return rc;
	if ((rc = tsarc_aead_seal(repo->enc_key, role, strlen(role), plain, len,
		     out->ptr)))
		return rc;
	out->size = len + TSARC_AEAD_OVERHEAD;
	return 0;
}

int tsarc_repo_open_object(const tsarc_repo *repo, const char *role,
	const uint8_t *sealed, size_t len, tsarc_buf *out)
{
	int rc;

	if (len < TSARC_AEAD_OVERHEAD)
		return tsarc_error_set(TSARC_ECORRUPT, "object is truncated (%zu bytes)", len);
	tsarc_buf_clear(out);
	if ((rc = tsarc_buf_grow(out, len - TSARC_AEAD_OVERHEAD)))
		return rc;
	if ((rc = tsarc_aead_open(repo->enc_key, role, strlen(role), sealed, len,
		     out->ptr)))
		return rc;
	out->size = len - TSARC_AEAD_OVERHEAD;
	out->ptr[out->size] = 0;
	return 0;
}

/* --- config --- */

int tsarc__repo_config_print(char **out, const tsarc_repo *repo)
{
	cJSON *root = cJSON_CreateObject(), *ch;
	char *text = NULL;

	*out = NULL;
	if (!root)
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	if (!cJSON_AddNumberToObject(root, "version", repo->version) ||
		!cJSON_AddStringToObject(root, "id", repo->id) ||
		!(ch = cJSON_AddObjectToObject(root, "chunker")) ||
		!cJSON_AddStringToObject(ch, "algorithm", "fastcdc-gear64") ||
		!cJSON_AddNumberToObject(ch, "min", repo->chunker.min_size) ||
		!cJSON_AddNumberToObject(ch, "avg", repo->chunker.avg_size) ||
		!cJSON_AddNumberToObject(ch, "max", repo->chunker.max_size) ||
		json_add_b64(ch, "seed", repo->chunker_seed, 32) ||
		!cJSON_AddStringToObject(root, "compression", tsarc_codec_name(repo->codec)) ||
		!cJSON_AddNumberToObject(root, "level", repo->level) ||
		tsarc_objlock_to_json(root, &repo->retention) ||
		(repo->version >= 2 &&
			!cJSON_AddNumberToObject(root, "pack_size", repo->pack_size)) ||
		!(text = cJSON_PrintUnformatted(root))) {
		cJSON_Delete(root);
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	}
	cJSON_Delete(root);
	*out = text;
	return 0;
}

static int write_config(tsarc_repo *repo)
{
	tsarc_buf sealed = TSARC_BUF_INIT;
	char *text = NULL;
	int rc;

	if ((rc = tsarc__repo_config_print(&text, repo)))
		return rc;
	if ((rc = tsarc_repo_seal_object(repo, AAD_CONFIG, text, strlen(text), &sealed)))
		goto done;
	rc = tsarc_store_put(repo->store, TSARC_OBJ_CONFIG, NULL, sealed.ptr,
		sealed.size, TSARC_PUT_CREATE_ONLY);
done:
	tsarc_secure_free_str(text);
	tsarc_buf_dispose(&sealed);
	return rc;
}

static int fetch_config(tsarc_store *store, tsarc_buf *sealed)
{
	int rc;

	tsarc_buf_init(sealed, CONFIG_MAX);
	rc = tsarc_store_get(store, TSARC_OBJ_CONFIG, NULL, 0, 0, sealed);
	if (rc == TSARC_ETOOLARGE)
		rc = tsarc_error_set(TSARC_ECORRUPT,
			"repository config is damaged: larger than any config can be");
	return rc;
}

int tsarc__repo_config_parse(tsarc_repo *repo, const uint8_t *json, size_t len)
{
	cJSON *root = NULL, *ch;
	const cJSON *item;
	uint64_t v = 0, mn = 0, av = 0, mx = 0, level = 0, pack = 0;
	int rc = TSARC_ECORRUPT;

	root = cJSON_ParseWithLength((const char *)json, len);
	if (!root) {
		tsarc_error_set(rc, "repository config is not valid JSON");
		goto done;
	}
	if (json_get_u64(root, "version", &v, 1000, "config"))
		goto done;
	if (v < 1 || v > TSARC_FORMAT_MAX) {
		rc = tsarc_error_set(TSARC_EUNSUPPORTED,
			"repository format version %llu is not supported by tsarc "
			TSARC_VERSION " (supports 1 to %d)", (unsigned long long)v,
			TSARC_FORMAT_MAX);
		goto done;
	}
	repo->version = (uint32_t)v;
	if (v >= 2 && (json_get_u64(root, "pack_size", &pack, TSARC_PACK_SIZE_LIMIT, "config") ||
			pack < TSARC_PACK_SIZE_MIN)) {
		tsarc_error_set(rc, "config: invalid pack size");
		goto done;
	}
	repo->pack_size = (uint32_t)pack;
	item = cJSON_GetObjectItemCaseSensitive(root, "id");
	if (!cJSON_IsString(item) || strlen(item->valuestring) != TSARC_ID_HEX_LEN) {
		tsarc_error_set(rc, "config: invalid repository id");
		goto done;
	}
	memcpy(repo->id, item->valuestring, TSARC_ID_HEX_LEN + 1);
	ch = cJSON_GetObjectItemCaseSensitive(root, "chunker");
	if (!cJSON_IsObject(ch)) {
		tsarc_error_set(rc, "config: field 'chunker' is missing or invalid");
		goto done;
	}
	if (json_get_u64(ch, "min", &mn, UINT32_MAX, "config") ||
		json_get_u64(ch, "avg", &av, UINT32_MAX, "config") ||
		json_get_u64(ch, "max", &mx, UINT32_MAX, "config") ||
		json_get_b64(ch, "seed", repo->chunker_seed, 32, "config"))
		goto done;
	repo->chunker.min_size = (uint32_t)mn;
	repo->chunker.avg_size = (uint32_t)av;
	repo->chunker.max_size = (uint32_t)mx;
	if (tsarc_chunker_params_validate(&repo->chunker)) {
		/* The chunker's message, as damage (it says EINVAL of its
		 * arguments): the error carries the code returned. */
		tsarc_saved_error e;
		tsarc_error_save(&e);
		e.code = rc;
		tsarc_error_restore(&e);
		tsarc_error_prefix("config");
		goto done;
	}
	/* A level its codec has not would fail every backup and restore. */
	item = cJSON_GetObjectItemCaseSensitive(root, "compression");
	if (!cJSON_IsString(item) || tsarc_codec_parse(item->valuestring, &repo->codec) ||
		json_get_u64(root, "level", &level, 22, "config") ||
		tsarc_codec_level_check(repo->codec, (int)level)) {
		tsarc_error_set(rc, "config: invalid compression settings");
		goto done;
	}
	repo->level = (int)level;
	if ((rc = tsarc_objlock_from_json(root, &repo->retention)))
		goto done;
	rc = 0;
done:
	cJSON_Delete(root);
	return rc;
}

/* Opens the sealed config with the master keys in `repo`. *not_ours is
 * set when it does not authenticate: those keys are another repository's,
 * or the config is damaged; anything wrong after that is damage. */
static int read_config(tsarc_repo *repo, const tsarc_buf *sealed, int *not_ours)
{
	tsarc_buf plain = TSARC_BUF_INIT;
	int rc;

	*not_ours = 0;
	if ((rc = tsarc_repo_open_object(repo, AAD_CONFIG, sealed->ptr, sealed->size,
		     &plain))) {
		*not_ours = rc == TSARC_ECORRUPT;
		tsarc_error_prefix("repository config");
	} else {
		rc = tsarc__repo_config_parse(repo, plain.ptr, plain.size);
	}
	tsarc_secure_buf_dispose(&plain);
	return rc;
}

/* --- key files --- */

static int write_key_file(tsarc_repo *repo, const char *password, uint64_t n,
	char name_out[TSARC_ID_HEX_LEN + 1])
{
	uint8_t salt[SALT_LEN], kek[TSARC_KEY_LEN], digest[32];
	uint8_t master[2 * TSARC_KEY_LEN];
	uint8_t sealed[2 * TSARC_KEY_LEN + TSARC_AEAD_OVERHEAD];
	char host[256] = "", created[40], name[TSARC_ID_HEX_LEN + 1];
	cJSON *root = NULL;
	char *text = NULL;
	int rc;

	if ((rc = tsarc_random_bytes(salt, sizeof(salt))))
		return rc;
	if ((rc = tsarc_scrypt(password, strlen(password), salt, sizeof(salt), n,
		     TSARC_SCRYPT_R_DEFAULT, TSARC_SCRYPT_P_DEFAULT, kek)))
		return rc;
	memcpy(master, repo->enc_key, TSARC_KEY_LEN);
	memcpy(master + TSARC_KEY_LEN, repo->id_key, TSARC_KEY_LEN);
	rc = tsarc_aead_seal(kek, AAD_KEY, strlen(AAD_KEY), master, sizeof(master),
		sealed);
	tsarc_secure_zero(kek, sizeof(kek));
	tsarc_secure_zero(master, sizeof(master));
	if (rc)
		return rc;
	gethostname(host, sizeof(host) - 1);
	tsarc_time_now(created, sizeof(created), NULL);
	rc = TSARC_ENOMEM;
	if (!(root = cJSON_CreateObject()) ||
		!cJSON_AddNumberToObject(root, "version", 1) ||
		!cJSON_AddStringToObject(root, "created", created) ||
		!cJSON_AddStringToObject(root, "host", host) ||
		!cJSON_AddStringToObject(root, "kdf", "scrypt") ||
		!cJSON_AddNumberToObject(root, "N", (double)n) ||
		!cJSON_AddNumberToObject(root, "r", TSARC_SCRYPT_R_DEFAULT) ||
		!cJSON_AddNumberToObject(root, "p", TSARC_SCRYPT_P_DEFAULT) ||
		json_add_b64(root, "salt", salt, sizeof(salt)) ||
		json_add_b64(root, "data", sealed, sizeof(sealed)) ||
		!(text = cJSON_Print(root))) {
		tsarc_error_set(TSARC_ENOMEM, "out of memory");
		goto done;
	}
	if ((rc = tsarc_sha256(text, strlen(text), digest)))
		goto done;
	tsarc_hex_encode(name, digest, sizeof(digest));
	rc = tsarc_store_put(repo->store, TSARC_OBJ_KEY, name, text, strlen(text),
		TSARC_PUT_CREATE_ONLY);
	if (!rc)
		memcpy(name_out, name, sizeof(name));
done:
	free(text);
	cJSON_Delete(root);
	return rc;
}

typedef struct key_params {
	uint64_t n, r, p;
	uint8_t salt[SALT_LEN];
	uint8_t sealed[2 * TSARC_KEY_LEN + TSARC_AEAD_OVERHEAD];
} key_params;

/* Checks a key file's bytes against its name and parses its fields. */
static int parse_key_file(const uint8_t *raw, size_t len, const char *name, key_params *kp)
{
	uint8_t digest[32];
	char hex[TSARC_ID_HEX_LEN + 1];
	cJSON *root;
	int rc = TSARC_ECORRUPT;

	if (tsarc_sha256(raw, len, digest))
		return TSARC_EGENERIC;
	tsarc_hex_encode(hex, digest, sizeof(digest));
	if (strcmp(hex, name) != 0)
		return tsarc_error_set(rc, "key file %.16s is damaged (its content does not "
					   "match its name)", name);
	root = cJSON_ParseWithLength((const char *)raw, len);
	if (!root || !cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return tsarc_error_set(rc, "key file %.16s is not valid JSON", name);
	}
	if (json_get_u64(root, "N", &kp->n, UINT64_MAX >> 11, "key file") ||
		json_get_u64(root, "r", &kp->r, UINT64_MAX >> 11, "key file") ||
		json_get_u64(root, "p", &kp->p, UINT64_MAX >> 11, "key file") ||
		json_get_b64(root, "salt", kp->salt, sizeof(kp->salt), "key file") ||
		json_get_b64(root, "data", kp->sealed, sizeof(kp->sealed), "key file")) {
		tsarc_error_prefix("key file %.16s", name);
		goto done;
	}
	/* Before any work is done for it: a forged key file cannot make an
	 * open take minutes. */
	if (tsarc_scrypt_params_check(kp->n, kp->r, kp->p)) {
		tsarc_error_prefix("key file %.16s is damaged or forged", name);
		goto done;
	}
	rc = 0;
done:
	cJSON_Delete(root);
	return rc;
}

int tsarc_repo_verify_key_file(const uint8_t *raw, size_t len, const char *name)
{
	key_params kp;

	return parse_key_file(raw, len, name, &kp);
}

/*
 * What one open spends on scrypt at most, in N*r*p: 64 key files of the
 * default cost, or 8 of the most tsarc accepts (seconds, not hours). Each
 * key file's cost is bounded, their number is not: whoever can add objects
 * to the store (an Object Lock bucket's writer, who cannot delete) could
 * otherwise plant thousands and make every open, a restore's in an
 * emergency too, take hours. Past it, only the hinted key files are tried.
 */
#define KEY_WORK_BUDGET (64ull * TSARC_SCRYPT_N_DEFAULT * TSARC_SCRYPT_R_DEFAULT)

/* Opens key file `name` with `password`: 0 with its master keys in
 * `master` and its scrypt N in *n_out, TSARC_EWRONGPASS, TSARC_ECORRUPT,
 * or TSARC_ETOOLARGE when its cost is more than *budget has left (then
 * nothing was derived); its cost is taken from *budget. */
static int unwrap_key_file(const tsarc_repo *repo, const char *name, const char *password,
	uint64_t *budget, uint8_t master[2 * TSARC_KEY_LEN], uint64_t *n_out)
{
	tsarc_buf raw = TSARC_BUF_INIT;
	uint8_t kek[TSARC_KEY_LEN];
	key_params kp;
	int rc;

	tsarc_buf_init(&raw, TSARC_KEY_FILE_MAX);
	rc = tsarc_store_get(repo->store, TSARC_OBJ_KEY, name, 0, 0, &raw);
	if (rc == TSARC_ETOOLARGE)
		rc = tsarc_error_set(TSARC_ECORRUPT, "key file %.16s is damaged: too large", name);
	if (rc || (rc = parse_key_file(raw.ptr, raw.size, name, &kp)))
		goto done;
	/* Bounded by parse_key_file: no overflow. */
	if (kp.n * kp.r * kp.p > *budget) {
		rc = TSARC_ETOOLARGE;
		goto done;
	}
	*budget -= kp.n * kp.r * kp.p;
	if ((rc = tsarc_scrypt(password, strlen(password), kp.salt, sizeof(kp.salt), kp.n,
		     kp.r, kp.p, kek)))
		goto done;
	rc = tsarc_aead_open(kek, AAD_KEY, strlen(AAD_KEY), kp.sealed, sizeof(kp.sealed),
		master);
	tsarc_secure_zero(kek, sizeof(kek));
	if (rc) {
		tsarc_secure_zero(master, 2 * TSARC_KEY_LEN);
		rc = tsarc_error_set(TSARC_EWRONGPASS,
			"wrong password: it opens no key of this repository");
		goto done;
	}
	*n_out = kp.n;
	rc = 0;
done:
	tsarc_buf_dispose(&raw);
	return rc;
}

/* The same, the master keys into repo as the ones in use. */
static int try_key_file(tsarc_repo *repo, const char *name, const char *password,
	uint64_t *budget)
{
	uint8_t master[2 * TSARC_KEY_LEN];
	uint64_t n;
	int rc;

	if ((rc = unwrap_key_file(repo, name, password, budget, master, &n)))
		return rc;
	memcpy(repo->enc_key, master, TSARC_KEY_LEN);
	memcpy(repo->id_key, master + TSARC_KEY_LEN, TSARC_KEY_LEN);
	tsarc_secure_zero(master, sizeof(master));
	snprintf(repo->key_name, sizeof(repo->key_name), "%s", name);
	repo->key_n = n;
	return 0;
}

/* A key file's name is the lower-case hex of its content's SHA-256, the
 * form of a snapshot's. */
static int key_name_is_id(const char *name)
{
	return tsarc_snapshot_name_is_id(name);
}

/*
 * The key files' names: what keys/ lists of a key file's form. The rest
 * is no key file: the marks that key remove leaves under Object Lock
 * (forgotten.h), which would read as damaged key files and could be picked
 * by a prefix given to key remove, and whatever an operator or a sync tool
 * left there (notes.txt, a .bak copy): taken for a damaged key file, it
 * failed every check and turned a wrong password into damage (exit 3).
 */
int tsarc_repo_key_names(tsarc_store *store, char ***out, size_t *count)
{
	size_t i, kept = 0;
	int rc;

	if ((rc = tsarc_store_list_names(store, TSARC_OBJ_KEY, out, count)))
		return rc;
	for (i = 0; i < *count; i++) {
		if (key_name_is_id((*out)[i]))
			(*out)[kept++] = (*out)[i];
		else
			free((*out)[i]);
	}
	*count = kept;
	return 0;
}

int tsarc_repo_add_key(tsarc_repo *repo, const char *password,
	char name_out[TSARC_ID_HEX_LEN + 1])
{
	if (!password || !*password)
		return tsarc_error_set(TSARC_EINVAL, "an empty password is not allowed");
	return write_key_file(repo, password, repo->key_n ? repo->key_n : TSARC_SCRYPT_N_DEFAULT,
		name_out);
}

int tsarc_repo_list_keys(tsarc_repo *repo, cJSON **out)
{
	tsarc_buf raw = TSARC_BUF_INIT;
	char **names = NULL;
	size_t n = 0, i;
	cJSON *arr;
	int rc;

	*out = NULL;
	if ((rc = tsarc_repo_key_names(repo->store, &names, &n)))
		return rc;
	if (!(arr = cJSON_CreateArray())) {
		tsarc_store_names_free(names, n);
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	}
	tsarc_buf_init(&raw, TSARC_KEY_FILE_MAX);
	for (i = 0; i < n && !rc; i++) {
		cJSON *o = cJSON_CreateObject(), *doc = NULL;
		key_params kp;
		int bad;
		if (!o || !cJSON_AddItemToArray(arr, o)) {
			cJSON_Delete(o);
			rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
			break;
		}
		cJSON_AddStringToObject(o, "id", names[i]);
		cJSON_AddBoolToObject(o, "current", !strcmp(names[i], repo->key_name));
		tsarc_buf_clear(&raw);
		rc = tsarc_store_get(repo->store, TSARC_OBJ_KEY, names[i], 0, 0, &raw);
		if (rc == TSARC_ETOOLARGE || rc == TSARC_ENOTFOUND) {
			/* Too large is damage; gone is another process removing it. */
			bad = rc == TSARC_ETOOLARGE;
			tsarc_error_clear();
			rc = 0;
			if (!bad) {
				cJSON_DeleteItemFromArray(arr, cJSON_GetArraySize(arr) - 1);
				continue;
			}
		} else if (rc) {
			break;
		} else {
			bad = parse_key_file(raw.ptr, raw.size, names[i], &kp) != 0;
			if (bad)
				tsarc_error_clear();
			else
				doc = cJSON_ParseWithLength((const char *)raw.ptr, raw.size);
		}
		cJSON_AddBoolToObject(o, "damaged", bad);
		if (doc) {
			const cJSON *v;
			if (cJSON_IsString(v = cJSON_GetObjectItemCaseSensitive(doc, "created")))
				cJSON_AddStringToObject(o, "created", v->valuestring);
			if (cJSON_IsString(v = cJSON_GetObjectItemCaseSensitive(doc, "host")))
				cJSON_AddStringToObject(o, "host", v->valuestring);
			cJSON_AddNumberToObject(o, "scrypt_n", (double)kp.n);
			cJSON_Delete(doc);
		}
	}
	tsarc_buf_dispose(&raw);
	tsarc_store_names_free(names, n);
	if (rc) {
		cJSON_Delete(arr);
		return rc;
	}
	*out = arr;
	return 0;
}

/*
 * Whether the key file that opened `repo` is still there with the bytes it
 * was opened from (its name is their hash): then its password still opens
 * the repository, whatever else is removed. Another process may have
 * removed it since (two people each removing the other's key), or the
 * store may have lost or damaged it.
 */
static int own_key_intact(tsarc_repo *repo, char **names, size_t n)
{
	tsarc_buf raw = TSARC_BUF_INIT;
	key_params kp;
	size_t i;
	int rc;

	for (i = 0; i < n && strcmp(names[i], repo->key_name); i++)
		;
	if (i == n)
		return tsarc_error_set(TSARC_ENOTFOUND, "the key file %.10s this password opened is "
			"gone (another 'tsarc key' removed it?): nothing was removed, so that some key "
			"is always left", repo->key_name);
	tsarc_buf_init(&raw, TSARC_KEY_FILE_MAX);
	rc = tsarc_store_get(repo->store, TSARC_OBJ_KEY, repo->key_name, 0, 0, &raw);
	if (rc == TSARC_ETOOLARGE || rc == TSARC_ENOTFOUND)
		rc = tsarc_error_set(rc == TSARC_ENOTFOUND ? rc : TSARC_ECORRUPT,
			"the key file %.10s this password opened is %s: nothing was removed, so "
			"that some key is always left", repo->key_name,
			rc == TSARC_ENOTFOUND ? "gone" : "damaged");
	else if (!rc && (rc = parse_key_file(raw.ptr, raw.size, repo->key_name, &kp)))
		tsarc_error_prefix("the key file this password opened is no longer sound: "
			"nothing was removed, so that some key is always left");
	tsarc_buf_dispose(&raw);
	return rc;
}

/* The one name of `names` that `id` (a whole name or a prefix) gives:
 * its index in *which; TSARC_ENOTFOUND, or TSARC_EINVAL when ambiguous. */
static int match_key(char *const *names, size_t n, const char *id, size_t *which)
{
	size_t i, len = strlen(id), found = 0;

	for (i = 0; i < n; i++)
		if (!strncmp(names[i], id, len)) {
			found++;
			*which = i;
		}
	if (found > 1)
		return tsarc_error_set(TSARC_EINVAL, "key id '%s' is ambiguous: give more of it",
			id);
	if (!found)
		return tsarc_error_set(TSARC_ENOTFOUND, "no key file '%s' in this repository", id);
	return 0;
}

/*
 * Removes key file `name`, listed or already hidden by another hand, once
 * the one in use is known intact: as for every removal under Object Lock,
 * the versions whose date has passed go for good and the key file stays
 * hidden while one is retained. Then, if it is kept hidden, the mark that
 * tsarc removed it (forgotten.h). Hidden first, marked after: cut off in
 * between, the key file is reported as hidden by another hand (confirmed
 * by running key remove again), never left listed beside a mark that
 * would vouch for someone's later plain DELETE of it.
 */
static int remove_key_file(tsarc_repo *repo, char **listed, size_t n, const char *name,
	int64_t *kept_until)
{
	tsarc_purge_tally t = {0, 0, 0};
	const char *one[1] = {name};
	int rc;

	*kept_until = 0;
	if (!strcmp(name, repo->key_name))
		return tsarc_error_set(TSARC_EINVAL, "key %.10s is the one this password opened: "
			"remove it with another password, so that one is always left", name);
	if ((rc = own_key_intact(repo, listed, n)) ||
		(rc = tsarc_store_purge_many(repo->store, TSARC_OBJ_KEY, one, 1,
			 tsarc_purge_tally_cb, &t)))
		return rc;
	if (t.kept && !(rc = tsarc_key_mark_removed(repo, name, (int64_t)time(NULL))))
		*kept_until = t.kept_until;
	return rc;
}

int tsarc_repo_remove_key(tsarc_repo *repo, const char *id,
	char name_out[TSARC_ID_HEX_LEN + 1], tsarc_key_removal *how)
{
	char **names = NULL, **hidden = NULL;
	size_t n = 0, nhidden = 0, len = id ? strlen(id) : 0, which = 0;
	int64_t kept_until = 0;
	int rc, in_hidden = 0;

	if (how)
		memset(how, 0, sizeof(*how));
	if (len == 0 || len > TSARC_ID_HEX_LEN || strspn(id, "0123456789abcdef") != len)
		return tsarc_error_set(TSARC_EINVAL, "'%s' is not a key id (hex, from 'tsarc key "
			"list')", id ? id : "");
	if ((rc = tsarc_repo_key_names(repo->store, &names, &n)))
		return rc;
	rc = match_key(names, n, id, &which);
	/* None listed: a key file someone else hid, whose removal the
	 * operator confirms (Object Lock only; forgotten.h). */
	if (rc == TSARC_ENOTFOUND && repo->retention.mode) {
		tsarc_error_clear();
		if (!(rc = tsarc_keys_unmarked(repo, &hidden, &nhidden)))
			rc = match_key(hidden, nhidden, id, &which);
		in_hidden = 1;
	}
	if (!rc && !(rc = remove_key_file(repo, names, n, in_hidden ? hidden[which] :
		names[which], &kept_until))) {
		memcpy(name_out, in_hidden ? hidden[which] : names[which], TSARC_ID_HEX_LEN + 1);
		if (how) {
			how->was_hidden = in_hidden;
			how->kept_until = kept_until;
		}
	}
	tsarc_store_names_free(names, n);
	tsarc_store_names_free(hidden, nhidden);
	return rc;
}

int tsarc_repo_keys_of_password(tsarc_repo *repo, const char *password, char ***out,
	size_t *count)
{
	uint8_t master[2 * TSARC_KEY_LEN], ours[2 * TSARC_KEY_LEN];
	uint64_t budget = KEY_WORK_BUDGET, cost;
	char **names = NULL, **found = NULL;
	size_t n = 0, i, k, nfound = 0, untried = 0;
	int rc;

	*out = NULL;
	*count = 0;
	if ((rc = tsarc_repo_key_names(repo->store, &names, &n)))
		return rc;
	if (!(found = calloc(n ? n : 1, sizeof(*found)))) {
		tsarc_store_names_free(names, n);
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	}
	memcpy(ours, repo->enc_key, TSARC_KEY_LEN);
	memcpy(ours + TSARC_KEY_LEN, repo->id_key, TSARC_KEY_LEN);
	/* The key in use first: it must be one, and it goes first. */
	for (i = 0; i < n && strcmp(names[i], repo->key_name); i++)
		;
	if (i < n) {
		char *t = names[0];
		names[0] = names[i];
		names[i] = t;
	}
	for (k = 0; k < n && !rc; k++) {
		rc = unwrap_key_file(repo, names[k], password ? password : "", &budget, master,
			&cost);
		if (rc == TSARC_ETOOLARGE) {
			untried++;
			rc = 0;
			continue;
		}
		if (rc == TSARC_EWRONGPASS || rc == TSARC_ECORRUPT || rc == TSARC_ENOTFOUND) {
			/* Another password's, damaged (opens nothing), or removed
			 * since the listing. */
			tsarc_error_clear();
			rc = 0;
			continue;
		}
		if (rc)
			break;
		/* A key file of another repository (the same password) opens
		 * nothing here: not one of ours. */
		if (!CRYPTO_memcmp(master, ours, sizeof(ours)))
			found[nfound++] = names[k];
		tsarc_secure_zero(master, sizeof(master));
	}
	tsarc_secure_zero(ours, sizeof(ours));
	if (!rc && untried)
		rc = tsarc_error_set(TSARC_ETOOLARGE, "%zu of the %zu key files could not be tried "
			"within what one open spends on scrypt, so whether this password opens them "
			"too cannot be told: remove the key files that are no one's first ('tsarc key "
			"list', 'tsarc key remove')", untried, n);
	else if (!rc && (!nfound || strcmp(found[0], repo->key_name)))
		rc = tsarc_error_set(TSARC_EWRONGPASS, "the password given does not open key %.10s, "
			"the one in use", repo->key_name);
	if (!rc) {
		/* found[] holds names[]' own strings: the rest are freed. */
		for (i = 0; i < n; i++) {
			for (k = 0; k < nfound && found[k] != names[i]; k++)
				;
			if (k == nfound)
				free(names[i]);
		}
		free(names);
		*out = found;
		*count = nfound;
		return 0;
	}
	free(found);
	tsarc_store_names_free(names, n);
	return rc;
}

int tsarc_repo_change_password(tsarc_repo *repo, const char *old_password,
	const char *new_password, char added[TSARC_ID_HEX_LEN + 1], char ***removed,
	size_t *nremoved, int64_t *kept_until)
{
	char **old = NULL, removed_one[TSARC_ID_HEX_LEN + 1];
	tsarc_key_removal how;
	size_t n = 0, i;
	int rc;

	*removed = NULL;
	*nremoved = 0;
	*kept_until = 0;
	/* Every key file the old password opens is known before anything is
	 * written: a refusal changes nothing. */
	if ((rc = tsarc_repo_keys_of_password(repo, old_password, &old, &n)) ||
		(rc = tsarc_repo_add_key(repo, new_password, added))) {
		tsarc_store_names_free(old, n);
		return rc;
	}
	/* The old keys go only once the new one is stored: at every moment
	 * some password opens the repository (remove_key checks the new one
	 * is still there before each removal). */
	snprintf(repo->key_name, sizeof(repo->key_name), "%s", added);
	for (i = 0; i < n; i++) {
		if (!(rc = tsarc_repo_remove_key(repo, old[i], removed_one, &how))) {
			if (how.kept_until > *kept_until)
				*kept_until = how.kept_until;
		} else {
			tsarc_error_prefix("the new password was added as key %.10s and works, but "
				"%zu of the %zu key files the old password opens (%.10s%s) are still "
				"there, so it still opens the repository: remove them with 'tsarc key "
				"remove'", added, n - i, n, old[i], n - i > 1 ? ", ..." : "");
			break;
		}
	}
	/* What was removed: old[0..i), handed over. */
	*nremoved = i;
	for (; i < n; i++) {
		free(old[i]);
		old[i] = NULL;
	}
	if (!*nremoved) {
		free(old);
		old = NULL;
	}
	*removed = old;
	return rc;
}

static tsarc_repo *repo_alloc(tsarc_store *store)
{
	tsarc_repo *repo = calloc(1, sizeof(*repo));

	if (!repo) {
		tsarc_error_set(TSARC_ENOMEM, "out of memory");
		return NULL;
	}
	repo->store = store;
	pthread_mutex_init(&repo->index.lock, NULL);
	return repo;
}

/* Whether the config object exists; when not, `why` (may be NULL) gets
 * the store's explanation (e.g. that the bucket itself is missing). */
static int config_present(tsarc_store *store, int *present, char *why, size_t whysz)
{
	uint64_t size;
	int rc = tsarc_store_stat(store, TSARC_OBJ_CONFIG, NULL, &size);

	*present = rc == 0;
	if (rc == TSARC_ENOTFOUND) {
		if (why)
			snprintf(why, whysz, "%s", tsarc_error_last()->message);
		tsarc_error_clear();
		return 0;
	}
	return rc;
}

/* Counts the names of key files (tsarc_repo_key_names' rule). */
static int count_key_name(const char *name, uint64_t size, int64_t mtime, void *payload)
{
	(void)size;
	(void)mtime;
	*(size_t *)payload += (size_t)key_name_is_id(name);
	return 0;
}

/*
 * Without a config, the key files tell a repository whose config is gone
 * from a place with no repository. tsarc never removes a config, nor the
 * last key file: key files there, listed or hidden behind delete markers,
 * are a repository's, its config deleted or hidden (in a bucket with
 * Object Lock one plain DELETE by whoever holds its credentials hides it;
 * the locked version stays). That is damage to report, never "no
 * repository, create one": init over it would write a new config and key
 * with a new master key, every snapshot there unreadable from then on,
 * and without --object-lock every later write unprotected. Hidden key
 * files need a version listing; credentials that may not list versions
 * (a bucket without Object Lock needs no such right) leave the listed
 * ones to tell, unless `need_hidden` (an init with Object Lock, whose
 * credentials list versions anyway).
 */
static int keys_without_config(tsarc_store *store, int need_hidden, size_t *listed,
	size_t *hidden)
{
	int rc;

	*listed = *hidden = 0;
	rc = tsarc_store_list(store, TSARC_OBJ_KEY, count_key_name, listed);
	if (!rc && !*listed) {
		rc = tsarc_store_list_hidden(store, TSARC_OBJ_KEY, count_key_name, hidden);
		if (!need_hidden && (rc == TSARC_EACCESS || rc == TSARC_EUNSUPPORTED))
			rc = 0;
	}
	if (rc == TSARC_ENOTFOUND) /* no bucket or folder: nothing there */
		rc = 0;
	if (!rc)
		tsarc_error_clear();
	return rc;
}

static int config_missing(tsarc_store *store, size_t listed, size_t hidden, int code,
	const char *what, const char *then)
{
	return tsarc_error_set(code,
		"%s: %s has key files but no config (%zu key file%s, %zu hidden behind a delete "
		"marker): the config was deleted, or hidden behind a delete marker (in a bucket "
		"with Object Lock one plain DELETE does that and the locked version stays: read "
		"the repository as it was with --as-of a time before that, e.g. 'tsarc snapshots "
		"--as-of TIME', TIME in RFC 3339); never put a new repository over it with 'tsarc "
		"init'%s; an init that failed or was interrupted between its key file and its "
		"config leaves the same: with no snapshots and no data there, remove the key "
		"file and init again",
		what, tsarc_store_describe(store), listed + hidden, listed + hidden == 1 ? "" : "s",
		hidden, then);
}

int tsarc_repo_init(tsarc_repo **out, tsarc_store *store, const char *password,
	const tsarc_repo_init_options *opts)
{
	size_t listed, hidden;
	tsarc_repo_init_options defaults = {{0, 0, 0}, TSARC_CODEC_ZSTD, 0, 0, {TSARC_RETAIN_NONE, 0},
		0, 0};
	tsarc_repo *repo;
	uint8_t rid[32];
	int present, rc;

	*out = NULL;
	if (!opts)
		opts = &defaults;
	if (!password || !*password)
		return tsarc_error_set(TSARC_EINVAL, "an empty password is not allowed");
	/* Before create(): a bucket tsarc makes gets Object Lock then. */
	if (opts->retention.mode && (rc = tsarc_objlock_prepare(store, &opts->retention, 1)))
		return rc;
	if ((rc = tsarc_store_create(store)))
		return rc;
	if (opts->retention.mode && (rc = tsarc_objlock_prepare(store, &opts->retention, 0)))
		return rc;
	if ((rc = config_present(store, &present, NULL, 0)))
		return rc;
	if (present)
		return tsarc_error_set(TSARC_EEXISTS, "a repository already exists at %s",
			tsarc_store_describe(store));
	if ((rc = keys_without_config(store, opts->retention.mode != TSARC_RETAIN_NONE, &listed,
		     &hidden)))
		return rc;
	if (listed || hidden)
		return config_missing(store, listed, hidden, TSARC_EEXISTS, "init refuses",
			": init a new one elsewhere");
	if (!opts->retention.mode && (rc = tsarc_objlock_refuse_unasked(store)))
		return rc;
	if (!(repo = repo_alloc(store)))
		return TSARC_ENOMEM;
	repo->version = opts->format ? opts->format : TSARC_FORMAT_VERSION;
	repo->pack_size = repo->version < 2 ? 0 : opts->pack_size ? opts->pack_size
		: TSARC_PACK_SIZE_DEFAULT;
	if (repo->version > TSARC_FORMAT_MAX || (repo->version >= 2 &&
		(repo->pack_size < TSARC_PACK_SIZE_MIN || repo->pack_size > TSARC_PACK_SIZE_LIMIT))) {
		rc = tsarc_error_set(TSARC_EINVAL, "format %u (1 to %d) with packs of %u bytes "
			"(%u to %u) cannot be made", repo->version, TSARC_FORMAT_MAX,
			repo->pack_size, TSARC_PACK_SIZE_MIN, TSARC_PACK_SIZE_LIMIT);
		goto fail;
	}
	repo->chunker = opts->chunker;
	if (!repo->chunker.avg_size) {
		int packed = repo->version >= 2;
		repo->chunker.min_size = packed ? TSARC_PACKED_CHUNK_MIN_DEFAULT : TSARC_CHUNK_MIN_DEFAULT;
		repo->chunker.avg_size = packed ? TSARC_PACKED_CHUNK_AVG_DEFAULT : TSARC_CHUNK_AVG_DEFAULT;
		repo->chunker.max_size = packed ? TSARC_PACKED_CHUNK_MAX_DEFAULT : TSARC_CHUNK_MAX_DEFAULT;
	}
	repo->codec = opts->codec;
	repo->retention = opts->retention;
	repo->level = opts->level ? opts->level : tsarc_codec_default_level(opts->codec);
	if ((rc = tsarc_chunker_params_validate(&repo->chunker)))
		goto fail;
	{
		tsarc_codec *probe;
		if ((rc = tsarc_codec_new(&probe, repo->codec, repo->level)))
			goto fail;
		tsarc_codec_free(probe);
	}
	if ((rc = tsarc_random_bytes(rid, sizeof(rid))) ||
		(rc = tsarc_random_bytes(repo->chunker_seed, 32)) ||
		(rc = tsarc_random_bytes(repo->enc_key, TSARC_KEY_LEN)) ||
		(rc = tsarc_random_bytes(repo->id_key, TSARC_KEY_LEN)))
		goto fail;
	tsarc_hex_encode(repo->id, rid, sizeof(rid));
	/* The key first: a config without a key that opens it would be a
	 * repository nobody can ever use. */
	repo->key_n = opts->scrypt_n ? opts->scrypt_n : TSARC_SCRYPT_N_DEFAULT;
	if ((rc = write_key_file(repo, password, repo->key_n, repo->key_name)))
		goto fail;
	if ((rc = write_config(repo)))
		goto fail;
	*out = repo;
	return 0;
fail:
	repo->store = NULL;
	tsarc_repo_free(repo);
	return rc;
}

/* Puts the key files whose names start with `hint` first, in order. */
static void hinted_first(char **keys, size_t n, const char *hint)
{
	size_t i, front = 0, len = hint ? strlen(hint) : 0;

	for (i = 0; len && i < n; i++)
		if (!strncmp(keys[i], hint, len)) {
			char *k = keys[i];
			memmove(keys + front + 1, keys + front, (i - front) * sizeof(*keys));
			keys[front++] = k;
		}
}

/*
 * Every key file the password opens is tried until one opens the config:
 * a key file of another repository that happens to take the same password
 * (copied in by mistake, or planted) must not lock anyone out. When none
 * works the error says why, most telling first: keys the password opens
 * but the config does not accept (another repository's keys, or a damaged
 * config), damaged key files (one of them may be this password's), and
 * only then a wrong password.
 */
int tsarc_repo_open(tsarc_repo **out, tsarc_store *store, const char *password)
{
	return tsarc_repo_open_hint(out, store, password, NULL);
}

int tsarc_repo_open_hint(tsarc_repo **out, tsarc_store *store, const char *password,
	const char *key_hint)
{
	char **keys = NULL;
	size_t nkeys = 0;
	tsarc_repo *repo;
	tsarc_buf sealed = TSARC_BUF_INIT;
	char why[512] = "", first_damage[512] = "", foreign_key[TSARC_ID_HEX_LEN + 1] = "";
	int present, rc, not_ours;
	size_t i, wrong = 0, damaged = 0, foreign = 0, untried = 0, orphan_listed, orphan_hidden;
	uint64_t budget = KEY_WORK_BUDGET;

	*out = NULL;
	if ((rc = config_present(store, &present, why, sizeof(why))))
		return rc;
	if (!present && (rc = keys_without_config(store, 0, &orphan_listed, &orphan_hidden)))
		return rc;
	if (!present && (orphan_listed || orphan_hidden))
		return config_missing(store, orphan_listed, orphan_hidden, TSARC_ECORRUPT,
			"the repository is damaged", "");
	if (!present)
		return tsarc_error_set(TSARC_ENOTREPO,
			"there is no tsarc repository at %s (%s); create one with 'tsarc init'",
			tsarc_store_describe(store), why[0] ? why : "no config object");
	if (!(repo = repo_alloc(store)))
		return TSARC_ENOMEM;
	if ((rc = tsarc_repo_key_names(store, &keys, &nkeys)))
		goto fail;
	if (nkeys == 0) {
		rc = tsarc_error_set(TSARC_ECORRUPT,
			"repository at %s has a config but no key files",
			tsarc_store_describe(store));
		goto fail;
	}
	if ((rc = fetch_config(store, &sealed)))
		goto fail;
	hinted_first(keys, nkeys, key_hint);
	for (i = 0; i < nkeys; i++) {
		rc = try_key_file(repo, keys[i], password ? password : "", &budget);
		if (rc == TSARC_ETOOLARGE) {
			untried++;
			continue;
		}
		if (rc == TSARC_EWRONGPASS) {
			wrong++;
			continue;
		}
		if (rc == TSARC_ECORRUPT) {
			if (!damaged++)
				snprintf(first_damage, sizeof(first_damage), "%s",
					tsarc_error_last()->message);
			continue;
		}
		if (rc)
			goto fail;
		rc = read_config(repo, &sealed, &not_ours);
		if (rc == 0)
			break;
		if (!not_ours)
			goto fail;
		if (!foreign++)
			snprintf(foreign_key, sizeof(foreign_key), "%s", keys[i]);
		rc = TSARC_ECORRUPT;
	}
	if (rc) {
		if (untried)
			rc = tsarc_error_set(TSARC_ETOOLARGE,
				"the repository at %s has %zu key files: the password opened none of "
				"the %zu tried within what one open spends on scrypt, and %zu were "
				"not tried (planted ones cost every open that much); set "
				"TSARC_KEY_HINT to the id (or its start) of this password's key, "
				"which 'tsarc key list' shows, to try it first",
				tsarc_store_describe(store), nkeys, nkeys - untried, untried);
		else if (foreign)
			rc = tsarc_error_set(TSARC_ECORRUPT,
				"repository config at %s does not open with the %zu key file%s this "
				"password opens (%.16s%s): %s of another repository, or the config "
				"is damaged", tsarc_store_describe(store), foreign,
				foreign == 1 ? "" : "s", foreign_key, foreign > 1 ? ", ..." : "",
				foreign == 1 ? "it is a key" : "they are keys");
		else if (damaged && !wrong)
			rc = tsarc_error_set(TSARC_ECORRUPT,
				"no key file of the repository at %s can be used: %zu %s damaged "
				"(%s)", tsarc_store_describe(store), damaged,
				damaged == 1 ? "is" : "are", first_damage);
		else if (damaged)
			rc = tsarc_error_set(TSARC_ECORRUPT,
				"the password opens no key file of the repository at %s; %zu key "
				"file%s damaged and may have been this password's: %s",
				tsarc_store_describe(store), damaged,
				damaged == 1 ? " is" : "s are", first_damage);
		else
			rc = tsarc_error_set(TSARC_EWRONGPASS,
				"wrong password for the repository at %s",
				tsarc_store_describe(store));
		goto fail;
	}
	/* Every later write carries the retention the config asks for. */
	if (repo->retention.mode && (rc = tsarc_store_set_retention(store, &repo->retention))) {
		tsarc_error_prefix("repository with Object Lock at %s", tsarc_store_describe(store));
		goto fail;
	}
	tsarc_buf_dispose(&sealed);
	tsarc_store_names_free(keys, nkeys);
	*out = repo;
	return 0;
fail:
	tsarc_buf_dispose(&sealed);
	tsarc_store_names_free(keys, nkeys);
	repo->store = NULL;
	tsarc_repo_free(repo);
	return rc;
}

void tsarc_repo_free(tsarc_repo *repo)
{
	if (!repo)
		return;
	tsarc_store_free(repo->store);
	tsarc_index_free(repo->index.idx);
	pthread_mutex_destroy(&repo->index.lock);
	tsarc_secure_free(repo, sizeof(*repo));
}
