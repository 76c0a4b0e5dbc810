#define _GNU_SOURCE /* asprintf */
/*
 * The local transport: producers run on this host against databases it
 * can reach (external databases, the demo), resources are JSON files in a
 * directory (what `kubectl get ... -o json` printed).
 */
#include "component.h"
#include "fileio.h"
#include "tree_restore.h"
#include "tsarc/buf.h"
#include "tsarc/errors.h"
#include "wipe.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A resource file is small; anything bigger is not what we expect. */
#define RESOURCE_MAX (16u * 1024u * 1024u)

typedef struct local_transport {
	tsarc_transport parent;
	char *resources_dir; /* may be NULL */
	char **pass;         /* "NAME=VALUE" of pass_env, for every child */
	char host[256];
} local_transport;

/* Commands run here: nothing to find. */
static int local_locate(tsarc_transport *t, tsarc_component *c)
{
	(void)t;
	(void)c;
	return 0;
}

/* On this host a MySQL password goes into an in-memory option file the
 * client reads as /dev/fd/N, its first option: nothing on disk (nothing
 * for a SIGTERM to leave behind), nothing on the command line. It is the
 * client's only defaults file, and includes the host's own ones before
 * the password (tsarc_mysql_option_text): ~/.my.cnf, which a client reads
 * after an extra file, cannot replace the password. */
static int local_spawn(tsarc_transport *tr, const tsarc_component *c, const tsarc_cmd *cmd,
	tsarc_proc *p)
{
	local_transport *t = (local_transport *)tr;
	/* The command's own variables last: they win over pass_env. */
	char **env = tsarc_env_concat(t->pass, cmd->env), **argv = NULL, opt[64];
	tsarc_buf text = TSARC_BUF_INIT;
	int rc, fd = -1;

	(void)c;
	if (!env)
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	if (!cmd->mysql_password) {
		rc = tsarc_proc_spawn(p, cmd->argv, env);
		free(env);
		return rc;
	}
	if ((rc = tsarc_mysql_option_text(cmd->mysql_password, &text)) ||
		(rc = tsarc_secret_memfd("tsarc-mysql-options", text.ptr, text.size, &fd)))
		goto done;
	if (!(argv = calloc(cmd->argc + 2, sizeof(char *)))) {
		rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
		goto done;
	}
	snprintf(opt, sizeof(opt), "--defaults-file=/dev/fd/%d", fd);
	argv[0] = cmd->argv[0];
	argv[1] = opt;
	memcpy(argv + 2, cmd->argv + 1, (cmd->argc - 1) * sizeof(char *));
	p->keep_fds = &fd;
	p->nkeep_fds = 1;
	rc = tsarc_proc_spawn(p, argv, env);
	p->keep_fds = NULL;
	p->nkeep_fds = 0;
done:
	if (fd >= 0)
		close(fd); /* the child has its own */
	tsarc_secure_buf_dispose(&text);
	free(argv);
	free(env);
	return rc;
}

static int local_capture(tsarc_transport *tr, const tsarc_component *c, const tsarc_cmd *cmd,
	size_t max, char **out)
{
	local_transport *t = (local_transport *)tr;
	char **env = tsarc_env_concat(t->pass, cmd->env);
	char err[1024], ended[64];
	int status, rc;

	if (cmd->mysql_password) {
		free(env);
		return tsarc_error_set(TSARC_EUNSUPPORTED, "component '%s': a MySQL password is "
			"given to streaming commands only", c->name);
	}
	if (!env)
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	rc = tsarc_proc_capture(cmd->argv, env, max, out, NULL, &status, err, sizeof(err));
	free(env);
	if (rc)
		return rc;
	if (status != 0) {
		free(*out);
		*out = NULL;
		return tsarc_error_set(TSARC_EIO, "component '%s': %s %s: %s", c->name, cmd->argv[0],
			tsarc_proc_ended(status, ended, sizeof(ended)),
			err[0] ? err : "(nothing on stderr)");
	}
	return 0;
}

static int read_json_file(const char *path, cJSON **out)
{
	char *text;
	size_t len;
	int rc = tsarc_read_file(path, RESOURCE_MAX, &text, &len);

	if (rc)
		return rc;
	if (!(*out = tsarc_secret_doc_parse_object(text, len)))
		rc = tsarc_error_set(TSARC_ECONFIG, "%s is not a JSON object", path);
	/* The file may be a Secret: wiped (wipe.h). */
	tsarc_secure_free(text, len + 1);
	return rc;
}

/* The file's kind is one `type` names (component.h). */
static int kind_matches(const cJSON *doc, const char *type)
{
	return tsarc_kube_kind_of_type(tsarc_spec_str(doc, "kind"), type);
}

static int local_get_one(local_transport *t, const char *type, const char *name, cJSON **out)
{
	char path[PATH_MAX];
	int rc;

	/* DIR/secret/NAME.json, else DIR/NAME.json when its kind matches. */
	snprintf(path, sizeof(path), "%s/%s/%s.json", t->resources_dir, type, name);
	rc = read_json_file(path, out);
	if (rc != TSARC_ENOTFOUND)
		return rc;
	snprintf(path, sizeof(path), "%s/%s.json", t->resources_dir, name);
	rc = read_json_file(path, out);
	if (rc == 0 && !kind_matches(*out, type)) {
		tsarc_secret_doc_free(*out); /* another kind's: a Secret, maybe */
		*out = NULL;
		rc = TSARC_ENOTFOUND;
	}
	if (rc == TSARC_ENOTFOUND)
		return tsarc_error_set(TSARC_ENOTFOUND, "%s %s not found in %s (looked for %s/%s.json "
			"and %s.json)", type, name, t->resources_dir, type, name, name);
	return rc;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every NAME.json of DIR/TYPE/, in name order (stable across runs). */
static int local_get_all(local_transport *t, const char *type, cJSON **out)
{
	char dirpath[PATH_MAX], path[PATH_MAX * 2];
	char **names = NULL;
	size_t n = 0, i;
	struct dirent *de;
	cJSON *arr;
	DIR *d;
	int rc = 0;

	snprintf(dirpath, sizeof(dirpath), "%s/%s", t->resources_dir, type);
	if (!(d = opendir(dirpath)))
		return tsarc_error_set(errno == ENOENT ? TSARC_ENOTFOUND : TSARC_EIO,
			"cannot read %s: %s", dirpath, strerror(errno));
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		char **grown;
		if (len < 6 || strcmp(de->d_name + len - 5, ".json") || de->d_name[0] == '.')
			continue;
		if (!(grown = realloc(names, (n + 1) * sizeof(char *))) ||
			!(grown[n] = strdup(de->d_name))) {
			if (grown)
				names = grown;
			rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
			break;
		}
		names = grown;
		n++;
	}
	closedir(d);
	if (!rc && !(arr = cJSON_CreateArray()))
		rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
	if (!rc) {
		if (n > 1)
			qsort(names, n, sizeof(char *), name_cmp);
		for (i = 0; i < n && !rc; i++) {
			cJSON *doc = NULL;
			snprintf(path, sizeof(path), "%s/%s", dirpath, names[i]);
			if (!(rc = read_json_file(path, &doc)))
				cJSON_AddItemToArray(arr, doc);
		}
		if (rc)
			cJSON_Delete(arr);
		else
			*out = arr;
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

static int local_get(tsarc_transport *tr, const char *type, const char *name, cJSON **out)
{
	local_transport *t = (local_transport *)tr;

	*out = NULL;
	if (!t->resources_dir)
		return tsarc_error_set(TSARC_ECONFIG, "the local transport needs \"resources_dir\" "
			"to read %s resources", type);
	/* Both become parts of a path below resources_dir (a name may come
	 * from a snapshot's list of items). */
	if (!tsarc_valid_kube_type(type) || (name && !tsarc_valid_kube_name(name)))
		return tsarc_error_set(TSARC_EUNSAFE, "refusing to look up a resource whose type or "
			"name is not a Kubernetes one (%.64s %.253s)", type ? type : "(none)",
			name ? name : "");
	return name ? local_get_one(t, type, name, out) : local_get_all(t, type, out);
}

/* The lower-cased kind names the sub-directory, as local_get reads it.
 * Kind and name come from a snapshot: both are checked, and the file is
 * opened beneath resources_dir (no path is built from them, no symlink is
 * followed) and replaced by the shared writer, so nothing planted in the
 * folder is written through. */
static int write_resource(local_transport *t, int rootfd, const cJSON *doc, const char *ns)
{
	const char *kind = tsarc_spec_str(doc, "kind");
	const char *name = tsarc_spec_str(cJSON_GetObjectItemCaseSensitive(doc, "metadata"), "name");
	char lower[64], file[300], where[PATH_MAX + 80];
	cJSON *copy;
	char *text;
	size_t i, len;
	int dfd, rc;

	if (!tsarc_valid_kube_kind(kind) || !tsarc_valid_kube_name(name))
		return tsarc_error_set(TSARC_EUNSAFE, "refusing a resource whose kind or name is "
			"not a Kubernetes one (kind %.64s, name %.253s)", kind ? kind : "(none)",
			name ? name : "(none)");
	for (i = 0; kind[i]; i++)
		lower[i] = (char)((kind[i] >= 'A' && kind[i] <= 'Z') ? kind[i] + 32 : kind[i]);
	lower[i] = '\0';
	snprintf(where, sizeof(where), "%s/%s", t->resources_dir, lower);
	if (mkdirat(rootfd, lower, 0700) && errno != EEXIST)
		return tsarc_error_set(TSARC_EIO, "cannot create %s: %s", where, strerror(errno));
	if ((dfd = openat(rootfd, lower, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return tsarc_error_set(TSARC_EIO, "cannot open %s: %s", where, strerror(errno));
	if (!(copy = cJSON_Duplicate(doc, 1))) {
		close(dfd);
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	}
	if (ns) {
		cJSON *md = cJSON_GetObjectItemCaseSensitive(copy, "metadata");
		cJSON_DeleteItemFromObjectCaseSensitive(md, "namespace");
		cJSON_AddStringToObject(md, "namespace", ns);
	}
	/* Secrets: the copy and every buffer of its text wiped (component.h). */
	text = tsarc_secret_doc_print(copy, 1, &len);
	tsarc_secret_doc_free(copy);
	if (!text) {
		close(dfd);
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	}
	text[len] = '\n'; /* over the NUL: the writer takes a length */
	snprintf(file, sizeof(file), "%s.json", name);
	/* 0600 when new: Secrets hold credentials. */
	rc = tsarc_replace_file_at(dfd, where, file, text, len + 1, 0600, 1);
	tsarc_secure_free(text, len + 1);
	close(dfd);
	return rc;
}

static int local_apply(tsarc_transport *tr, const cJSON *list, const char *ns)
{
	local_transport *t = (local_transport *)tr;
	const cJSON *doc;
	int rc, rootfd;

	if (!t->resources_dir)
		return tsarc_error_set(TSARC_ECONFIG, "the local transport needs \"resources_dir\" "
			"to write resources");
	/* Every item checked before the first is written: a hostile one
	 * refuses the whole List, not its second half. */
	cJSON_ArrayForEach(doc, cJSON_GetObjectItemCaseSensitive(list, "items")) {
		const char *kind = tsarc_spec_str(doc, "kind");
		const char *name = tsarc_spec_str(cJSON_GetObjectItemCaseSensitive(doc, "metadata"),
			"name");
		if (!tsarc_valid_kube_kind(kind) || !tsarc_valid_kube_name(name))
			return tsarc_error_set(TSARC_EUNSAFE, "refusing a resource whose kind or name "
				"is not a Kubernetes one (kind %.64s, name %.253s)", kind ? kind : "(none)",
				name ? name : "(none)");
	}
	if ((rootfd = open(t->resources_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return tsarc_error_set(TSARC_EIO, "cannot open %s: %s", t->resources_dir,
			strerror(errno));
	rc = 0;
	cJSON_ArrayForEach(doc, cJSON_GetObjectItemCaseSensitive(list, "items"))
		if ((rc = write_resource(t, rootfd, doc, ns)))
			break;
	close(rootfd);
	return rc;
}

/* Where local_get_one finds it: DIR/TYPE/NAME.json, and DIR/NAME.json
 * when its kind is the type's. Nothing is followed out of the folder (the
 * name is checked, the type folder opened without following a link). The
 * namespace is only written into the files: the folder is the same. */
static int local_remove(tsarc_transport *tr, const char *type, const char *name, const char *ns)
{
	local_transport *t = (local_transport *)tr;
	char file[300], path[PATH_MAX];
	cJSON *doc = NULL;
	int rootfd, dfd, rc = 0;

	(void)ns;
	if (!t->resources_dir)
		return tsarc_error_set(TSARC_ECONFIG, "the local transport needs \"resources_dir\" "
			"to remove %s resources", type);
	if (!tsarc_valid_kube_type(type) || !tsarc_valid_kube_name(name))
		return tsarc_error_set(TSARC_EUNSAFE, "refusing to remove a resource whose type or "
			"name is not a Kubernetes one (%.64s %.253s)", type ? type : "(none)",
			name ? name : "");
	snprintf(file, sizeof(file), "%s.json", name);
	if ((rootfd = open(t->resources_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return tsarc_error_set(TSARC_EIO, "cannot open %s: %s", t->resources_dir,
			strerror(errno));
	dfd = openat(rootfd, type, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0 && errno != ENOENT)
		rc = tsarc_error_set(TSARC_EIO, "cannot open %s/%s: %s", t->resources_dir, type,
			strerror(errno));
	if (dfd >= 0) {
		if (unlinkat(dfd, file, 0) && errno != ENOENT)
			rc = tsarc_error_set(TSARC_EIO, "cannot remove %s/%s/%s: %s", t->resources_dir,
				type, file, strerror(errno));
		else if (fsync(dfd))
			rc = tsarc_error_set(TSARC_EIO, "cannot sync %s/%s: %s", t->resources_dir, type,
				strerror(errno));
		close(dfd);
	}
	snprintf(path, sizeof(path), "%s/%s", t->resources_dir, file);
	if (!rc && read_json_file(path, &doc))
		tsarc_error_clear(); /* none there, or not one to read: not the type's */
	else if (!rc && kind_matches(doc, type) && unlinkat(rootfd, file, 0) && errno != ENOENT)
		rc = tsarc_error_set(TSARC_EIO, "cannot remove %s: %s", path, strerror(errno));
	tsarc_secret_doc_free(doc);
	close(rootfd);
	return rc;
}

/*
 * A server's configuration file. While it is replaced, the original is
 * kept beside it as FILE.tsarc-orig, written and synced before the file
 * is changed, so a run that is killed (SIGKILL, a crash, a power cut)
 * leaves it where the next run finds it. The folder may be writable by
 * others (/etc/redis is the redis group's): the shared writer never
 * writes through what they plant, and the kept original is read only
 * when this user wrote it.
 */
#define SAVED_SUFFIX ".tsarc-orig"
/* A server's configuration file; anything larger is not one. */
#define SERVER_CONFIG_MAX (16u * 1024u * 1024u)

static int saved_path(const tsarc_server_config *cfg, char *out, size_t size)
{
	if (!cfg->file || !cfg->file[0])
		return tsarc_error_set(TSARC_ECONFIG, "no configuration file named");
	if ((size_t)snprintf(out, size, "%s" SAVED_SUFFIX, cfg->file) >= size)
		return tsarc_error_set(TSARC_ETOOLARGE, "configuration file name too long");
	return 0;
}

static int local_read_config(tsarc_transport *tr, tsarc_server_config *cfg)
{
	char saved[PATH_MAX];
	int rc;

	(void)tr;
	if ((rc = saved_path(cfg, saved, sizeof(saved))))
		return rc;
	snprintf(cfg->where, sizeof(cfg->where), "%s", cfg->file);
	snprintf(cfg->saved_where, sizeof(cfg->saved_where), "%s", saved);
	if ((rc = tsarc_read_file(cfg->file, SERVER_CONFIG_MAX, &cfg->text, NULL)))
		return rc;
	rc = tsarc_read_private_file(saved, SERVER_CONFIG_MAX, &cfg->saved, NULL);
	if (rc == TSARC_ENOTFOUND) {
		tsarc_error_clear();
		rc = 0;
	}
	if (rc) {
		free(cfg->text);
		cfg->text = NULL;
	}
	return rc;
}

/* Makes a rename or unlink in the folder of `path` durable. */
static int sync_dir_of(const char *path)
{
	char dir[PATH_MAX], *slash;
	int fd, rc = 0;

	snprintf(dir, sizeof(dir), "%s", path);
	if (!(slash = strrchr(dir, '/')))
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return tsarc_error_set(TSARC_EIO, "cannot open %s: %s", dir, strerror(errno));
	if (fsync(fd) && errno != EINVAL)
		rc = tsarc_error_set(TSARC_EIO, "fsync %s: %s", dir, strerror(errno));
	close(fd);
	return rc;
}

static int local_write_config(tsarc_transport *tr, tsarc_server_config *cfg, const char *text,
	const char *saved)
{
	char path[PATH_MAX];
	int rc;

	(void)tr;
	if ((rc = saved_path(cfg, path, sizeof(path))))
		return rc;
	/* The original first, ours and 0600 whatever is found there (it
	 * holds requirepass): durable before the file changes. */
	if (saved && (rc = tsarc_replace_file(path, saved, strlen(saved), 0600, 0)))
		return rc;
	if ((rc = tsarc_replace_file(cfg->file, text, strlen(text), 0600, 1)))
		return rc;
	if (saved)
		return 0;
	if (unlink(path) && errno != ENOENT)
		return tsarc_error_set(TSARC_EIO, "cannot remove %s: %s", path, strerror(errno));
	return sync_dir_of(path);
}

/* On this host the tree is restored in-process (src/tree/): the
 * entries are checked as they are written, the old tree swapped out. */
static int local_replace_tree(tsarc_transport *tr, tsarc_component *c, tsarc_repo *repo,
	const tsarc_stream *st, unsigned inflight, const char *path, char **note)
{
	tsarc_tree_restore_options o;
	tsarc_tree_restore_result res;
	char *kept = NULL;
	int rc;

	(void)tr;
	(void)c;
	(void)inflight;
	memset(&o, 0, sizeof(o));
	memset(&res, 0, sizeof(res));
	o.restore_owner = geteuid() == 0;
	/* A tree converted from a bucket's objects has no owners of its own:
	 * its files and folders take the target folder's, as the files 3scale
	 * writes there do (never root's, which the application could not
	 * write into). A folder not there yet: the restorer's. */
	if (st->convert && o.restore_owner) {
		struct stat target;
		if (stat(path, &target) == 0) {
			o.owner_given = 1;
			o.uid = target.st_uid;
			o.gid = target.st_gid;
		} else {
			o.restore_owner = 0;
		}
	}
	/* It creates the target folder when missing. */
	if ((rc = tsarc_tree_restore_stream(repo, st, path, &o, &res)))
		return rc;
	/* A kept old tree is in the step's report too, not only in the log:
	 * it holds a repository to move out, and takes the volume's room. */
	if (res.kept_old[0] && asprintf(&kept, "; the old tree is kept in %s/%s, not deleted: it "
		    "holds a tsarc repository made in the folder during the restore, or could not be "
		    "looked into for one (the warning says which); move the repository out, then "
		    "delete it", path, res.kept_old) < 0)
		kept = NULL;
	if (asprintf(note, "%llu entries, %llu bytes into %s, %llu extra entries removed%s%s%s",
		    (unsigned long long)res.entries, (unsigned long long)res.bytes, path,
		    (unsigned long long)res.removed,
		    res.skipped ? ", fifos, sockets or devices skipped" : "",
		    res.recovered == 1 ? ", an interrupted earlier swap finished first" :
		    res.recovered == 2 ? ", an interrupted earlier restore undone first" : "",
		    kept ? kept : res.kept_old[0] ? "; the old tree is kept (see the warning)" : "") < 0)
		*note = NULL;
	free(kept);
	return 0;
}

/* One machine, and with_dir: one resources_dir on it. */
int tsarc_local_same_place(const cJSON *a, const cJSON *b, int with_dir)
{
	const char *ma = tsarc_spec_str(a, "machine"), *mb = tsarc_spec_str(b, "machine");
	const char *da = tsarc_spec_str(a, "resources_dir"), *db = tsarc_spec_str(b, "resources_dir");

	if (!((!ma && !mb) || (ma && mb && !strcmp(ma, mb))))
		return 0;
	if (!with_dir)
		return 1;
	if (!da || !db)
		return -1; /* a snapshot from before resources_dir was recorded */
	return !strcmp(da, db);
}

static void local_describe(tsarc_transport *tr, const tsarc_component *c, cJSON *source)
{
	local_transport *t = (local_transport *)tr;

	(void)c;
	cJSON_AddStringToObject(source, "transport", "local");
	cJSON_AddStringToObject(source, "host", t->host);
	/* Which deployment on this host: a restore compares it with its
	 * target's to tell an in-place restore from a migration. */
	if (t->resources_dir) {
		char *abs = realpath(t->resources_dir, NULL);
		cJSON_AddStringToObject(source, "resources_dir", abs ? abs : t->resources_dir);
		free(abs);
	}
}

static void local_free(tsarc_transport *tr)
{
	local_transport *t = (local_transport *)tr;

	if (!t)
		return;
	free(t->resources_dir);
	tsarc_env_list_free(t->pass);
	free(t);
}

int tsarc_transport_local_new(tsarc_transport **out, const cJSON *conf)
{
	local_transport *t = calloc(1, sizeof(*t));
	const char *dir = tsarc_spec_str(conf, "resources_dir");
	struct stat st;

	if (!t)
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	t->parent.type = "local";
	t->parent.caps = TSARC_TR_HOST_FILES;
	t->parent.locate = local_locate;
	t->parent.spawn = local_spawn;
	t->parent.capture = local_capture;
	t->parent.get = local_get;
	t->parent.apply = local_apply;
	t->parent.remove = local_remove;
	t->parent.rollout = NULL; /* no workloads: servers restart by commands */
	t->parent.read_config = local_read_config;
	t->parent.write_config = local_write_config;
	t->parent.config_field = "config_file";
	t->parent.replace_tree = local_replace_tree;
	t->parent.describe = local_describe;
	t->parent.free = local_free;
	if (gethostname(t->host, sizeof(t->host) - 1))
		strcpy(t->host, "localhost");
	if (tsarc_env_collect(cJSON_GetObjectItemCaseSensitive(conf, "pass_env"), &t->pass)) {
		free(t);
		return TSARC_ENOMEM;
	}
	if (dir) {
		if (stat(dir, &st) || !S_ISDIR(st.st_mode)) {
			tsarc_env_list_free(t->pass);
			free(t);
			return tsarc_error_set(TSARC_ECONFIG, "transport: resources_dir %s is not a "
				"directory", dir);
		}
		if (!(t->resources_dir = strdup(dir))) {
			tsarc_env_list_free(t->pass);
			free(t);
			return tsarc_error_set(TSARC_ENOMEM, "out of memory");
		}
	}
	*out = &t->parent;
	return 0;
}
