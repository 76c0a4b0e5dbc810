/*
 * fake-kubectl: a TEST DOUBLE of kubectl / oc -- not a Kubernetes client.
 *
 * No Kubernetes API server runs on the test machines, so the kube transport is
 * tested against this stand-in. It implements exactly the subset tsarc calls,
 * with kubectl's argument syntax, output shapes, error messages and exit codes:
 *
 *   [--kubeconfig F] [--context C] [-n NS | --namespace NS]
 *       get pods -l SELECTOR -o json        pods of FAKE_KUBE_DIR/pods.json matching
 *                                           every key=value of SELECTOR, in NS
 *       get TYPE NAME -o json               FAKE_KUBE_DIR/resources/TYPE/NAME.json
 *       get TYPE -o json                    a List of FAKE_KUBE_DIR/resources/TYPE/NAME.json
 *                                           (no such directory: the resource type
 *                                           does not exist, as for a missing CRD)
 *       exec -i POD -c CONTAINER -- CMD...  runs CMD on this machine in place of the
 *                                           pod, with the container's env from
 *                                           pods.json; stdin/stdout/stderr and the
 *                                           exit status pass through, as with exec -i
 *       apply -k DIR, create -k DIR         DIR rendered by FAKE_KUBE_KUSTOMIZE (a real
 *                                           kubectl) and stored as apply -f - does
 *                                           (create: an existing object is an error)
 *       create secret generic NAME --from-file=KEY=PATH...
 *                                           a Secret of those files into the store
 *       kustomize DIR                       FAKE_KUBE_KUSTOMIZE kustomize DIR
 *       apply [--dry-run=server] -f -       a List (or one object) from stdin into the
 *                                           store of NS (kind lower-cased, NAME.json,
 *                                           metadata.namespace set to NS); an object
 *                                           naming another namespace is refused, as
 *                                           kubectl does. As the API server, it refuses
 *                                           to change the data of a stored object marked
 *                                           "immutable": true; as kubectl, it then goes
 *                                           on with the List's other objects and exits
 *                                           1. --dry-run=server: the same checks and
 *                                           output (" (server dry run)"), nothing stored
 *       delete TYPE NAME [--ignore-not-found]
 *                                           removes NAME from the store of NS
 *       rollout restart deployment/NAME     "restarts" the Running pods labelled
 *       rollout latest dc/NAME              deployment=NAME (deploymentConfig=NAME);
 *                                           see below
 *       rollout status deployment/NAME|dc/NAME [--timeout=...]
 *
 * Stores: the resources of FAKE_KUBE_NAMESPACE are FAKE_KUBE_DIR/resources/
 * (as before), those of any other namespace FAKE_KUBE_DIR/namespaces/NS/
 * resources/. A resource type is known when the home store has its directory.
 *
 * A rollout of a pod whose metadata.annotations carry "fake-kubectl/redis"
 * (a JSON object {"services": DIR, "name": NAME, "config_map": CM, "key": KEY})
 * does what the pod's restart does to a Redis started from a ConfigMap: the
 * lines of ConfigMap CM's KEY in NS that decide what the server keeps and
 * holds (save, appendonly, maxmemory and maxmemory-*) replace those of the
 * local server's redis.conf (DIR/redis-NAME/redis.conf: a directive the
 * ConfigMap leaves out is left out, as in the pod, which reads nothing
 * else; the local file's other lines place the server on this machine), and
 * the server is restarted with `ci/services.sh restart-redis DIR NAME`, in
 * the environment of the pod's first container (its PATH finds the pod's
 * own redis-server, as an image has its own: a Redis 6 pod restarts on a
 * Redis 6). Each
 * rollout is appended to FAKE_KUBE_DIR/rollouts.log (JSON: namespace,
 * workload, the ConfigMap text in effect and its annotations).
 *
 * With FAKE_KUBE_EXEC_STDIN_MAX=N, `exec -i` passes the command only the first
 * N bytes of its stdin, then closes it, as a connection lost mid-stream would:
 * the command sees a clean end of input; the double exits with its status.
 * The command then runs as a pod's does, in its own session: killing this
 * double (tsarc's kill of a failing consumer) does not reach it, it only sees
 * its stdin end (a large N relays everything).
 *
 * With FAKE_KUBE_EXEC_STDOUT_MAX=N, `exec -i` relays only the first N bytes
 * of the command's stdout and then exits 0, as kubectl does when it loses its
 * connection (the command runs on in its own session); an output that fits
 * in N bytes comes whole, with the command's status.
 *
 * With FAKE_KUBE_CALLS set, every call is also appended there as
 * {"argv": [...], "kinds": [...], "names": [...], "existed": [...]} (of the
 * objects an `apply` wrote: kind, name, and whether it was there before, so
 * updated rather than created), a log no test truncates:
 * tests/kubernetes/manifests.py derives the RBAC requests the kube transport
 * needs from it.
 *
 * Every call is appended to FAKE_KUBE_LOG (one JSON array of argv per line), so
 * tests can check which selectors, containers and namespaces were used, and its
 * environment to FAKE_KUBE_DIR/env.log (one JSON object per line). tsarc gives
 * kubectl an allow-listed environment: the FAKE_KUBE_* variables reach this
 * double only through the config's transport.pass_env. Pods
 * live in the namespace of their metadata (FAKE_KUBE_NAMESPACE when none) and,
 * when FAKE_KUBE_CONTEXT is set, --context must name it.
 *
 * The logs and the printed JSON are written as Python's json.dumps writes
 * them (", " and ": " between items, non-ASCII as \uXXXX, indent 4 where
 * kubectl indents), because the tests read them with Python and grep.
 * kustomize's YAML is read by FAKE_KUBE_PYTHON (python3 by default, with
 * PyYAML): `-k` is the one rare call that needs a YAML parser.
 *
 * It is written in C because tsarc starts it hundreds of times per test: a
 * Python double cost 75 ms of CPU a call, most of the kube tests' time.
 * The test scripts find it in TSARC_FAKE_KUBECTL (CMake builds it with the
 * tests). Leaks are not its concern: every call is a short-lived process.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

extern char **environ;

static int n_args;      /* argv[1..] as the call gave them */
static char **args;
static const char *root; /* FAKE_KUBE_DIR */
static const char *home_ns;
static const char *ns = "default";

static void die(int code, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

static char *fmt(const char *f, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, f);
	n = vsnprintf(NULL, 0, f, ap);
	va_end(ap);
	s = malloc((size_t)n + 1);
	if (!s)
		die(1, "fake-kubectl: out of memory");
	va_start(ap, f);
	vsnprintf(s, (size_t)n + 1, f, ap);
	va_end(ap);
	return s;
}

/* --- JSON as Python's json.dumps writes it --- */

/* One code point of UTF-8 at `s`; an invalid byte reads as Python reads
 * it from argv and the environment (surrogateescape: U+DC80 + byte). */
static unsigned next_code_point(const unsigned char **s)
{
	const unsigned char *p = *s;
	unsigned c = p[0], n = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : 0, i;

	if (c < 0x80 || c >= 0xf8 || !n) {
		*s = p + 1;
		return c < 0x80 ? c : 0xdc00 + c;
	}
	c &= 0x3f >> n;
	for (i = 1; i <= n; i++) {
		if ((p[i] & 0xc0) != 0x80) {
			*s = p + 1;
			return 0xdc00 + p[0];
		}
		c = c << 6 | (p[i] & 0x3f);
	}
	*s = p + n + 1;
	return c;
}

static void put_string(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	fputc('"', f);
	while (*s) {
		unsigned c = next_code_point(&s);
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\r')
			fputs("\\r", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c == '\b')
			fputs("\\b", f);
		else if (c == '\f')
			fputs("\\f", f);
		else if (c >= 0x20 && c < 0x7f)
			fputc((int)c, f);
		else if (c > 0xffff)
			fprintf(f, "\\u%04x\\u%04x", 0xd800 + ((c - 0x10000) >> 10),
				0xdc00 + ((c - 0x10000) & 0x3ff));
		else
			fprintf(f, "\\u%04x", c);
	}
	fputc('"', f);
}

static void put_number(FILE *f, double d)
{
	char buf[32];

	if (d == (double)(long long)d && d > -9e15 && d < 9e15) {
		fprintf(f, "%lld", (long long)d);
		return;
	}
	snprintf(buf, sizeof(buf), "%.15g", d);
	if (strtod(buf, NULL) != d)
		snprintf(buf, sizeof(buf), "%.17g", d);
	fputs(buf, f);
}

static void newline(FILE *f, int indent, int level)
{
	fputc('\n', f);
	fprintf(f, "%*s", indent * level, "");
}

/* `j` as json.dumps(j, indent=INDENT) writes it (indent 0: on one line). */
static void put_json(FILE *f, const cJSON *j, int indent, int level)
{
	const cJSON *c;
	int obj = cJSON_IsObject(j);

	if (cJSON_IsString(j)) {
		put_string(f, j->valuestring);
		return;
	}
	if (cJSON_IsNumber(j)) {
		put_number(f, j->valuedouble);
		return;
	}
	if (!obj && !cJSON_IsArray(j)) {
		fputs(cJSON_IsTrue(j) ? "true" : cJSON_IsFalse(j) ? "false" : "null", f);
		return;
	}
	fputc(obj ? '{' : '[', f);
	for (c = j->child; c; c = c->next) {
		if (c != j->child)
			fputs(indent ? "," : ", ", f);
		if (indent)
			newline(f, indent, level + 1);
		if (obj) {
			put_string(f, c->string);
			fputs(": ", f);
		}
		put_json(f, c, indent, level + 1);
	}
	if (indent && j->child)
		newline(f, indent, level);
	fputc(obj ? '}' : ']', f);
}

static cJSON *argv_json(void)
{
	cJSON *a = cJSON_CreateArray();
	int i;

	for (i = 0; i < n_args; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(args[i]));
	return a;
}

/* Appends `j` as one line to `path`. */
static void append_line(const char *path, const cJSON *j)
{
	FILE *f = fopen(path, "a");

	if (!f)
		die(1, "fake-kubectl: %s: %s", path, strerror(errno));
	put_json(f, j, 0, 0);
	fputc('\n', f);
	fclose(f);
}

/* `j` as json.dumps writes it, malloc'ed. */
static char *json_text(const cJSON *j, int indent)
{
	char *text;
	size_t len;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		die(1, "fake-kubectl: out of memory");
	put_json(f, j, indent, 0);
	fclose(f);
	return text;
}

static void print_json(const cJSON *j, int indent)
{
	put_json(stdout, j, indent, 0);
	putchar('\n');
}

/* --- files --- */

static char *read_text(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0, got;

	if (!f)
		return NULL;
	do {
		if (cap - n < 65536) {
			cap = cap * 2 + 65536;
			buf = realloc(buf, cap + 1);
			if (!buf)
				die(1, "fake-kubectl: out of memory");
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
	} while (got);
	fclose(f);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

/* The JSON of `path`, NULL when it cannot be read or parsed. */
static cJSON *read_json(const char *path)
{
	char *text = read_text(path, NULL);
	cJSON *j = text ? cJSON_Parse(text) : NULL;

	free(text);
	return j;
}

static int exists(const char *path)
{
	return access(path, F_OK) == 0;
}

static int is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static void mkdirs(const char *path)
{
	char *p = fmt("%s", path), *s;

	for (s = p + 1; *s; s++)
		if (*s == '/') {
			*s = '\0';
			mkdir(p, 0777);
			*s = '/';
		}
	if (mkdir(p, 0777) && errno != EEXIST)
		die(1, "fake-kubectl: cannot create %s: %s", p, strerror(errno));
	free(p);
}

/* Writes `text` to `path` through PATH.tmp, mode 0600, as the store and
 * redis.conf are replaced. */
static void replace_file(const char *path, const char *text)
{
	char *tmp = fmt("%s.tmp", path);
	FILE *f = fopen(tmp, "w");

	if (!f || fputs(text, f) < 0 || fclose(f) || chmod(tmp, 0600) || rename(tmp, path))
		die(1, "fake-kubectl: cannot write %s: %s", path, strerror(errno));
	free(tmp);
}

/* --- the cluster --- */

/* Where the resources of a namespace are kept. */
static char *store(const char *namespace)
{
	if (!strcmp(namespace, home_ns))
		return fmt("%s/resources", root);
	return fmt("%s/namespaces/%s/resources", root, namespace);
}

static char *object_path(const char *kind, const char *name)
{
	return fmt("%s/%s/%s.json", store(ns), kind, name);
}

static char *lower(const char *s)
{
	char *l = fmt("%s", s), *p;

	for (p = l; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return l;
}

static char *plural(const char *type)
{
	size_t n = strlen(type);

	return fmt(n && type[n - 1] == 's' ? "%s" : "%ss", type);
}

/* A resource type as the store names its directory: singular, lower-case. */
static char *store_type(const char *arg)
{
	char *t = lower(arg);
	size_t n = strlen(t);

	if (n && t[n - 1] == 's' && strcmp(t, "apimanagers"))
		t[n - 1] = '\0';
	if (!strcmp(t, "apimanagers"))
		t[n - 1] = '\0';
	return t;
}

static void not_found(const char *type, const char *name)
{
	die(1, "Error from server (NotFound): %s \"%s\" not found", plural(type), name);
}

/* The home store has a directory for each resource type the cluster knows. */
static void known_type(const char *type, const char *arg)
{
	char *d = fmt("%s/resources/%s", root, type);

	if (!is_dir(d))
		die(1, "error: the server doesn't have a resource type \"%s\"", arg);
	free(d);
}

static const char *object_str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const cJSON *object_get(const cJSON *o, const char *a, const char *b)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);

	return b ? cJSON_GetObjectItemCaseSensitive(v, b) : v;
}

/* The pods of pods.json in NS (detached from the file's List). */
static cJSON *load_pods(void)
{
	char *path = fmt("%s/pods.json", root);
	cJSON *doc = read_json(path), *items, *pod, *next, *out = cJSON_CreateArray();

	if (!doc)
		die(1, "fake-kubectl: cannot read %s", path);
	items = cJSON_GetObjectItemCaseSensitive(doc, "items");
	for (pod = items ? items->child : NULL; pod; pod = next) {
		const char *pns = object_str(object_get(pod, "metadata", NULL), "namespace");
		next = pod->next;
		if (!strcmp(pns ? pns : home_ns, ns))
			cJSON_AddItemToArray(out, cJSON_DetachItemViaPointer(items, pod));
	}
	free(path);
	return out;
}

static const char *pod_label(const cJSON *pod, const char *key)
{
	return object_str(object_get(pod, "metadata", "labels"), key);
}

static const char *pod_name(const cJSON *pod)
{
	return object_str(object_get(pod, "metadata", NULL), "name");
}

static cJSON *list_of(cJSON *items)
{
	cJSON *l = cJSON_CreateObject();

	cJSON_AddStringToObject(l, "apiVersion", "v1");
	cJSON_AddStringToObject(l, "kind", "List");
	cJSON_AddItemToObject(l, "items", items);
	cJSON_AddItemToObject(l, "metadata", cJSON_CreateObject());
	return l;
}

/* Appends the call to FAKE_KUBE_CALLS: argv and, of the objects an apply
 * wrote, kinds, names and whether each existed. */
static void record_call(const cJSON *items, const cJSON *existed)
{
	const char *calls = getenv("FAKE_KUBE_CALLS");
	cJSON *rec, *kinds, *names;
	const cJSON *it;

	if (!calls)
		return;
	rec = cJSON_CreateObject();
	cJSON_AddItemToObject(rec, "argv", argv_json());
	kinds = cJSON_AddArrayToObject(rec, "kinds");
	names = cJSON_AddArrayToObject(rec, "names");
	cJSON_ArrayForEach(it, items) {
		cJSON_AddItemToArray(kinds, cJSON_CreateString(object_str(it, "kind")));
		cJSON_AddItemToArray(names, cJSON_CreateString(object_str(object_get(it,
			"metadata", NULL), "name")));
	}
	cJSON_AddItemToObject(rec, "existed", existed ? cJSON_Duplicate(existed, 1) :
		cJSON_CreateArray());
	append_line(calls, rec);
	cJSON_Delete(rec);
}

/* --- get --- */

/* Removes "OPT VALUE" from the list and returns VALUE, NULL without OPT. */
static const char *take_option(char **list, int *n, const char *opt)
{
	int k;

	for (k = 0; k + 1 < *n; k++)
		if (!strcmp(list[k], opt)) {
			const char *v = list[k + 1];
			memmove(list + k, list + k + 2, (size_t)(*n - k - 2) * sizeof(*list));
			*n -= 2;
			return v;
		}
	return NULL;
}

static int label_matches(const cJSON *pod, const char *selector)
{
	char *sel = fmt("%s", selector ? selector : ""), *kv, *save = NULL;
	int ok = 1;

	for (kv = strtok_r(sel, ",", &save); kv && ok; kv = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(kv, '=');
		const char *v;
		if (!eq)
			die(1, "fake-kubectl: a selector is key=value,...: %s", selector);
		*eq = '\0';
		v = pod_label(pod, kv);
		ok = v && !strcmp(v, eq + 1);
	}
	free(sel);
	return ok;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The objects of directory `d`, by file name. */
static cJSON *read_objects(const char *d)
{
	DIR *dir = opendir(d);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, i;
	cJSON *items = cJSON_CreateArray();

	if (!dir)
		die(1, "fake-kubectl: %s: %s", d, strerror(errno));
	while ((e = readdir(dir))) {
		size_t len = strlen(e->d_name);
		if (len < 5 || strcmp(e->d_name + len - 5, ".json"))
			continue;
		names = realloc(names, (n + 1) * sizeof(*names));
		names[n++] = fmt("%s", e->d_name);
	}
	closedir(dir);
	if (n)
		qsort(names, n, sizeof(*names), by_name);
	for (i = 0; i < n; i++) {
		char *path = fmt("%s/%s", d, names[i]);
		cJSON *o = read_json(path);
		if (!o)
			die(1, "fake-kubectl: %s is not JSON", path);
		cJSON_AddItemToArray(items, o);
		free(path);
	}
	return items;
}

static int get(char **list, int n)
{
	const char *out = take_option(list, &n, "-o"), *selector, *name;
	char *type, *d;

	if (!out || strcmp(out, "json"))
		die(1, "fake-kubectl: only -o json is implemented");
	selector = take_option(list, &n, "-l");
	if (n < 1)
		die(1, "error: You must specify the type of resource to get.");
	type = lower(list[0]);
	name = n > 1 ? list[1] : NULL;
	if (!strcmp(type, "pods") || !strcmp(type, "pod") || !strcmp(type, "po")) {
		cJSON *pods = load_pods(), *pod, *next;
		for (pod = pods->child; pod; pod = next) {
			next = pod->next;
			if (!label_matches(pod, selector))
				cJSON_Delete(cJSON_DetachItemViaPointer(pods, pod));
		}
		print_json(list_of(pods), 4);
		return 0;
	}
	type = store_type(list[0]);
	known_type(type, list[0]);
	d = fmt("%s/%s", store(ns), type);
	if (!is_dir(d)) {
		if (name)
			not_found(type, name);
		print_json(list_of(cJSON_CreateArray()), 0);
		return 0;
	}
	if (name) {
		char *path = fmt("%s/%s.json", d, name), *text;
		size_t len;
		if (!exists(path) || !(text = read_text(path, &len)))
			not_found(type, name);
		fwrite(text, 1, len, stdout);
		return 0;
	}
	print_json(list_of(read_objects(d)), 4);
	return 0;
}

/* --- exec --- */

/* The environment of the container: this one's, with the pod's env over it. */
static char **container_env(const cJSON *container)
{
	const cJSON *e;
	size_t n = 0, i;
	char **env;

	while (environ[n])
		n++;
	env = calloc(n + (size_t)cJSON_GetArraySize(object_get(container, "env", NULL)) + 1,
		sizeof(*env));
	if (!env)
		die(1, "fake-kubectl: out of memory");
	memcpy(env, environ, n * sizeof(*env));
	cJSON_ArrayForEach(e, object_get(container, "env", NULL)) {
		const char *name = object_str(e, "name"), *value = object_str(e, "value");
		size_t nl = strlen(name);
		for (i = 0; i < n; i++)
			if (!strncmp(env[i], name, nl) && env[i][nl] == '=')
				break;
		env[i] = fmt("%s=%s", name, value ? value : "");
		if (i == n)
			n++;
	}
	return env;
}

/* Runs `cmd` in place of this process, as the pod's container would. */
static void run_in_pod(char **cmd, char **env)
{
	environ = env; /* PATH is the container's, as for the command in a pod */
	signal(SIGPIPE, SIG_DFL); /* as in a pod, whatever the relay does */
	execvp(cmd[0], cmd);
	/* What kubectl reports when the container has no such binary. */
	die(126, "OCI runtime exec failed: exec: \"%s\": %s", cmd[0], strerror(errno));
}

/* A pipe whose ends the commands run do not inherit. */
static void open_pipe(int p[2])
{
	if (pipe(p) || fcntl(p[0], F_SETFD, FD_CLOEXEC) || fcntl(p[1], F_SETFD, FD_CLOEXEC))
		die(1, "fake-kubectl: pipe: %s", strerror(errno));
}

/* The command in its own session, as a pod's, with one end of a pipe as
 * its stdin (`fd` 0) or stdout (1); the other end is returned in *other. */
static pid_t start_in_pod(char **cmd, char **env, int fd, int *other)
{
	int p[2];
	pid_t pid;

	open_pipe(p);
	pid = fork();
	if (pid < 0)
		die(1, "fake-kubectl: fork: %s", strerror(errno));
	if (!pid) {
		setsid();
		dup2(p[fd == 0 ? 0 : 1], fd);
		run_in_pod(cmd, env);
	}
	close(p[fd == 0 ? 0 : 1]);
	*other = p[fd == 0 ? 1 : 0];
	return pid;
}

/* The exit status Python's subprocess gives (a signal's number negated),
 * as the Python double exited with it. */
static int child_status(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			die(1, "fake-kubectl: waitpid: %s", strerror(errno));
	return WIFEXITED(st) ? WEXITSTATUS(st) : (-WTERMSIG(st)) & 0xff;
}

/* Copies at most `left` bytes from `from` to `to`; the bytes left. */
static long long relay(int from, int to, long long left)
{
	static char buf[65536];

	while (left > 0) {
		size_t want = left < (long long)sizeof(buf) ? (size_t)left : sizeof(buf);
		ssize_t got = read(from, buf, want), off = 0;
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		while (off < got) {
			ssize_t w = write(to, buf + off, (size_t)(got - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return -1;
			off += w;
		}
		left -= got;
	}
	return left;
}

static int exec_in_pod(char **list, int n)
{
	const char *container = NULL, *pod_arg = NULL, *cut;
	int stdin_open = 0, k, j, fd;
	cJSON *pods, *pod = NULL, *c = NULL, *p;
	char **env;
	pid_t pid;

	for (k = 0; k < n && strcmp(list[k], "--"); k++)
		;
	if (k == n)
		die(1, "error: you must specify at least one command for the container");
	for (j = 0; j < k; j++) {
		if ((!strcmp(list[j], "-c") || !strcmp(list[j], "--container")) && j + 1 < k)
			container = list[++j];
		else if (!strcmp(list[j], "-i") || !strcmp(list[j], "--stdin"))
			stdin_open = 1;
		else
			pod_arg = list[j];
	}
	if (!stdin_open)
		die(1, "fake-kubectl: tsarc always streams with exec -i");
	pods = load_pods();
	cJSON_ArrayForEach(p, pods)
		if (pod_arg && pod_name(p) && !strcmp(pod_name(p), pod_arg))
			pod = p;
	if (!pod)
		not_found("pods", pod_arg ? pod_arg : "None");
	cJSON_ArrayForEach(p, object_get(pod, "spec", "containers"))
		if (container && object_str(p, "name") && !strcmp(object_str(p, "name"), container))
			c = p;
	if (!c)
		die(1, "error: unable to upgrade connection: container %s not found in pod %s",
			container ? container : "None", pod_arg);
	env = container_env(c);
	list += k + 1;
	fflush(stdout);
	if ((cut = getenv("FAKE_KUBE_EXEC_STDOUT_MAX")) && *cut) {
		/* The connection lost after N bytes of output: kubectl says nothing
		 * and exits 0 (kubernetes/kubectl#1208, #1726), the command running
		 * on in the pod. Output that fits is relayed with its status. */
		pid = start_in_pod(list, env, 1, &fd);
		if (relay(fd, 1, atoll(cut)) > 0)
			return child_status(pid);
		_exit(0);
	}
	if ((cut = getenv("FAKE_KUBE_EXEC_STDIN_MAX")) && *cut) {
		signal(SIGPIPE, SIG_IGN); /* it stopped reading: its status says why */
		pid = start_in_pod(list, env, 0, &fd);
		relay(0, fd, atoll(cut));
		close(fd);
		return child_status(pid);
	}
	run_in_pod(list, env);
	return 126;
}

/* --- apply, create --- */

/* The API server's refusal of an update of an immutable Secret or
 * ConfigMap (`immutable: true`): its data and the flag may not change.
 * NULL when the update is allowed. */
static char *immutable_refusal(const cJSON *it, const char *path)
{
	static const char *const fields[] = {"data", "binaryData", "stringData", "immutable"};
	cJSON *old = exists(path) ? read_json(path) : NULL, *patch, *ann, *data;
	const char *kind = object_str(it, "kind");
	const char *name = object_str(object_get(it, "metadata", NULL), "name");
	char *applied, *patch_text, *refusal, *kinds;
	size_t i;
	int same = 1;

	if (!old || !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(old, "immutable")))
		return NULL;
	for (i = 0; i < sizeof(fields) / sizeof(*fields); i++) {
		const cJSON *a = cJSON_GetObjectItemCaseSensitive(old, fields[i]);
		const cJSON *b = cJSON_GetObjectItemCaseSensitive(it, fields[i]);
		same &= (!a && !b) || (a && b && cJSON_Compare(a, b, 1));
	}
	if (same)
		return NULL;
	/* kubectl's message holds the patch it sent: the changed data and the
	 * last-applied annotation it sets, the whole object (Secret values too). */
	applied = fmt("%s\n", json_text(it, 0));
	patch = cJSON_CreateObject();
	data = cJSON_GetObjectItemCaseSensitive(it, "data");
	cJSON_AddItemToObject(patch, "data", data ? cJSON_Duplicate(data, 1) : cJSON_CreateNull());
	ann = cJSON_AddObjectToObject(cJSON_AddObjectToObject(patch, "metadata"), "annotations");
	cJSON_AddStringToObject(ann, "kubectl.kubernetes.io/last-applied-configuration", applied);
	patch_text = json_text(patch, 0);
	kinds = plural(lower(kind));
	refusal = fmt("Error from server (Invalid): error when applying patch:\n%s\nto:\n"
		"Resource: \"/v1, Resource=%s\", GroupVersionKind: \"/v1, Kind=%s\"\n"
		"Name: \"%s\", Namespace: \"%s\"\nfor: \"STDIN\": error when patching \"STDIN\": "
		"%s \"%s\" is invalid: data: Forbidden: field is immutable when `immutable` is set",
		patch_text, kinds, kind, name, ns, kind, name);
	cJSON_Delete(patch);
	cJSON_Delete(old);
	return refusal;
}

/* Where the store keeps object `it` (kind and metadata.name checked). */
static char *item_path(const cJSON *it)
{
	return object_path(lower(object_str(it, "kind")),
		object_str(object_get(it, "metadata", NULL), "name"));
}

/* metadata.namespace set to NS, in its place when the object names one. */
static void set_namespace(cJSON *md)
{
	if (cJSON_GetObjectItemCaseSensitive(md, "namespace"))
		cJSON_ReplaceItemInObjectCaseSensitive(md, "namespace", cJSON_CreateString(ns));
	else
		cJSON_AddStringToObject(md, "namespace", ns);
}

/* Stores objects into the namespace's store, as apply (or create) does:
 * one by one, as kubectl sends them, an object the server refuses
 * reported and the others still written (exit 1 at the end). With
 * dry_run (--dry-run=server) every object goes through the same checks
 * and none is written. */
static int store_items(cJSON *items, int create_only, int dry_run)
{
	cJSON *it, *existed = cJSON_CreateArray();
	int failed = 0;

	cJSON_ArrayForEach(it, items) {
		const cJSON *md = cJSON_GetObjectItemCaseSensitive(it, "metadata");
		const char *kind = object_str(it, "kind"), *name = object_str(md, "name");
		const char *mns = object_str(md, "namespace");
		if (!kind || !*kind || !name || !*name)
			die(1, "error: error validating data: kind or metadata.name not set");
		if (mns && *mns && strcmp(mns, ns))
			die(1, "error: the namespace from the provided object \"%s\" does not "
				"match the namespace \"%s\". You must pass '--namespace=%s' to "
				"perform this operation.", mns, ns, mns);
		if (create_only && exists(item_path(it)))
			die(1, "Error from server (AlreadyExists): %s \"%s\" already exists",
				plural(lower(kind)), name);
	}
	cJSON_ArrayForEach(it, items)
		cJSON_AddItemToArray(existed, cJSON_CreateBool(exists(item_path(it))));
	record_call(items, existed);
	cJSON_ArrayForEach(it, items) {
		char *kind = lower(object_str(it, "kind")), *path = item_path(it), *refusal, *text;
		const char *name = object_str(object_get(it, "metadata", NULL), "name");
		int was = exists(path);
		if ((refusal = immutable_refusal(it, path))) {
			fputs(refusal, stderr);
			fputc('\n', stderr);
			failed = 1;
			continue;
		}
		printf("%s/%s %s%s\n", kind, name, was ? "configured" : "created",
			dry_run ? " (server dry run)" : "");
		if (dry_run)
			continue;
		mkdirs(fmt("%s/%s", store(ns), kind));
		set_namespace(cJSON_GetObjectItemCaseSensitive(it, "metadata"));
		text = json_text(it, 4);
		replace_file(path, text);
	}
	return failed;
}

/* Runs argv (stdin from `in_path` when not NULL) and returns its exit
 * status, with what it wrote to `fd` (1: stdout; 2: stderr, its stdout
 * then thrown away) in *out. */
static int capture(char *const argv[], const char *in_path, int fd, char **out)
{
	int p[2], ch;
	size_t len;
	pid_t pid;
	FILE *from, *to;

	open_pipe(p);
	pid = fork();
	if (pid < 0)
		die(1, "fake-kubectl: fork: %s", strerror(errno));
	if (!pid) {
		int in = in_path ? open(in_path, O_RDONLY) : 0;
		if (in < 0 || dup2(in, 0) < 0 || dup2(p[1], fd) < 0 ||
			(fd == 2 && !freopen("/dev/null", "w", stdout)))
			_exit(127);
		execvp(argv[0], argv);
		fprintf(stderr, "fake-kubectl: %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(p[1]);
	from = fdopen(p[0], "r");
	to = open_memstream(out, &len);
	if (!from || !to)
		die(1, "fake-kubectl: out of memory");
	while ((ch = fgetc(from)) != EOF)
		fputc(ch, to);
	fclose(from);
	fclose(to);
	return child_status(pid);
}

/* `-k DIR`: rendered by a real kubectl (FAKE_KUBE_KUSTOMIZE), as kubectl
 * does; its YAML read by FAKE_KUBE_PYTHON (with PyYAML) into JSON. */
static cJSON *kustomize(const char *dir)
{
	const char *real = getenv("FAKE_KUBE_KUSTOMIZE"), *py = getenv("FAKE_KUBE_PYTHON");
	char *render[] = {(char *)real, "kustomize", (char *)dir, NULL}, *yaml, *text;
	char *read_yaml[] = {(char *)(py ? py : "python3"), "-c", "import json, sys, yaml; "
		"print(json.dumps([d for d in yaml.safe_load_all(sys.stdin) if d]))", NULL};
	char *tmp = fmt("%s/kustomize-XXXXXX", root);
	int fd, rc;
	cJSON *items;

	if (!real)
		die(1, "fake-kubectl: -k needs FAKE_KUBE_KUSTOMIZE (a real kubectl to render "
			"with)");
	if (capture(render, NULL, 1, &yaml))
		exit(1); /* kubectl said why */
	fd = mkstemp(tmp);
	if (fd < 0 || write(fd, yaml, strlen(yaml)) != (ssize_t)strlen(yaml) || close(fd))
		die(1, "fake-kubectl: %s: %s", tmp, strerror(errno));
	rc = capture(read_yaml, tmp, 1, &text);
	unlink(tmp);
	if (rc)
		exit(1); /* Python said why */
	items = cJSON_Parse(text);
	if (!cJSON_IsArray(items))
		die(1, "fake-kubectl: kustomize's YAML did not read as a list of objects");
	return items;
}

static int create_secret(char **list, int n)
{
	cJSON *secret = cJSON_CreateObject(), *data, *items = cJSON_CreateArray();
	int i;

	cJSON_AddStringToObject(secret, "apiVersion", "v1");
	cJSON_AddStringToObject(secret, "kind", "Secret");
	cJSON_AddStringToObject(secret, "type", "Opaque");
	cJSON_AddStringToObject(cJSON_AddObjectToObject(secret, "metadata"), "name", list[0]);
	data = cJSON_AddObjectToObject(secret, "data");
	for (i = 1; i < n; i++) {
		const char *prefix = "--from-file=";
		char *key, *path, *text, *b64;
		size_t len;
		if (strncmp(list[i], prefix, strlen(prefix)))
			die(1, "fake-kubectl: create secret generic: only --from-file=KEY=PATH is "
				"implemented, not %s", list[i]);
		key = fmt("%s", list[i] + strlen(prefix));
		path = strchr(key, '=');
		path = path ? (*path = '\0', path + 1) : "";
		if (!(text = read_text(path, &len)))
			die(1, "error: error reading %s: %s", path, strerror(errno));
		b64 = malloc(len / 3 * 4 + 5);
		if (!b64 || len > INT_MAX / 2)
			die(1, "fake-kubectl: %s is too large", path);
		EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)text, (int)len);
		cJSON_DeleteItemFromObjectCaseSensitive(data, key);
		cJSON_AddStringToObject(data, key, b64);
	}
	cJSON_AddItemToArray(items, secret);
	return store_items(items, 1, 0);
}

static int apply(char **list, int n)
{
	int dry_run = 0, i, k = 0;
	const char *rest[2] = {NULL, NULL};
	cJSON *doc;
	char *text;

	for (i = 0; i < n; i++) {
		if (!strcmp(list[i], "--dry-run=server"))
			dry_run = 1;
		else if (k < 2)
			rest[k++] = list[i];
		else
			k = 3;
	}
	if (k != 2 || strcmp(rest[0], "-f") || strcmp(rest[1], "-"))
		die(1, "fake-kubectl: only apply [--dry-run=server] -f - and apply -k DIR are "
			"implemented");
	text = read_text("/dev/stdin", NULL);
	doc = text ? cJSON_Parse(text) : NULL;
	if (!cJSON_IsObject(doc))
		die(1, "error: error parsing STDIN: not a JSON object");
	if (!strcmp(object_str(doc, "kind") ? object_str(doc, "kind") : "", "List")) {
		cJSON *items = cJSON_DetachItemFromObjectCaseSensitive(doc, "items");
		return store_items(items ? items : cJSON_CreateArray(), 0, dry_run);
	}
	{
		cJSON *items = cJSON_CreateArray();
		cJSON_AddItemToArray(items, doc);
		return store_items(items, 0, dry_run);
	}
}

/* delete TYPE NAME [--ignore-not-found]: one object of the namespace's store. */
static int delete(char **list, int n)
{
	const char *a[2] = {NULL, NULL};
	int ignore = 0, k = 0, i;
	char *type, *path;

	for (i = 0; i < n; i++) {
		if (!strcmp(list[i], "--ignore-not-found"))
			ignore = 1;
		else if (k < 2 && list[i][0] != '-')
			a[k++] = list[i];
		else
			k = 3;
	}
	if (k != 2)
		die(1, "fake-kubectl: only delete TYPE NAME [--ignore-not-found] is implemented");
	type = store_type(a[0]);
	known_type(type, a[0]);
	path = object_path(type, a[1]);
	if (!exists(path)) {
		if (ignore)
			return 0;
		not_found(type, a[1]);
	}
	if (remove(path))
		die(1, "fake-kubectl: %s: %s", path, strerror(errno));
	printf("%s \"%s\" deleted\n", type, a[1]);
	return 0;
}

/* --- rollout --- */

/* A line of redis.conf that the ConfigMap decides: save, appendonly,
 * maxmemory, maxmemory-* (Python's ^\s*(save|appendonly|maxmemory(-\S+)?)(\s|$)). */
static int from_config_map(const char *line)
{
	static const char *const names[] = {"save", "appendonly", "maxmemory"};
	size_t i, n;

	while (isspace((unsigned char)*line))
		line++;
	for (i = 0; i < sizeof(names) / sizeof(*names); i++) {
		n = strlen(names[i]);
		if (strncmp(line, names[i], n))
			continue;
		line += n;
		if (i == 2 && line[0] == '-' && line[1] && !isspace((unsigned char)line[1]))
			return 1;
		return !*line || isspace((unsigned char)*line);
	}
	return 0;
}

/* The lines of `text` (as Python's splitlines: a last newline ends the
 * last line) that from_config_map says are (`want` 1) or are not (0) the
 * ConfigMap's, each ended by a newline, appended to `out`; the count. */
static int lines_of(FILE *out, const char *text, int want)
{
	const char *line, *end;
	int n = 0;

	for (line = text; *line; line = *end ? end + 1 : end) {
		char *l;
		end = strchr(line, '\n');
		if (!end)
			end = line + strlen(line);
		l = fmt("%.*s", (int)(end - line), line);
		if (from_config_map(l) == want) {
			fprintf(out, "%s\n", l);
			n++;
		}
		free(l);
	}
	return n;
}

static char *strip(char *s)
{
	size_t n = strlen(s);

	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	while (isspace((unsigned char)*s))
		s++;
	return s;
}

/* The pod's restart: the ConfigMap's persistence and memory lines replace
 * the local server's, then the server restarts (ci/services.sh
 * restart-redis). */
static void restart_redis(const cJSON *pod, const cJSON *spec, const char *workload)
{
	const char *cm_name = object_str(spec, "config_map"), *key = object_str(spec, "key");
	const char *services = object_str(spec, "services"), *name = object_str(spec, "name");
	char *path = fmt("%s/configmap/%s.json", store(ns), cm_name ? cm_name : "");
	cJSON *cm = read_json(path), *entry, *ann;
	const char *text = object_str(object_get(cm, "data", NULL), key ? key : "redis.conf");
	char *conf, *old, *merged, *err;
	char *restart[] = {"bash", FAKE_KUBE_SERVICES_SH, "restart-redis", (char *)services,
		(char *)name, NULL};
	size_t len;
	FILE *f;

	if (!text)
		die(1, "Error: pod %s: configmap \"%s\" not found (CreateContainerConfigError)",
			pod_name(pod), cm_name);
	conf = fmt("%s/redis-%s/redis.conf", services, name);
	if (!(old = read_text(conf, NULL)))
		die(1, "fake-kubectl: %s: %s", conf, strerror(errno));
	f = open_memstream(&merged, &len);
	if (!lines_of(f, old, 0) + !lines_of(f, text, 1) == 2)
		fputc('\n', f);
	fclose(f);
	replace_file(conf, merged);
	entry = cJSON_CreateObject();
	cJSON_AddStringToObject(entry, "namespace", ns);
	cJSON_AddStringToObject(entry, "workload", workload);
	cJSON_AddStringToObject(entry, "config_map", text);
	ann = cJSON_Duplicate(object_get(cm, "metadata", "annotations"), 1);
	if (!cJSON_IsObject(ann))
		ann = cJSON_CreateObject();
	cJSON_AddItemToObject(entry, "annotations", ann);
	append_line(fmt("%s/rollouts.log", root), entry);
	/* The pod's image restarts its own server. */
	environ = container_env(cJSON_GetArrayItem(object_get(pod, "spec", "containers"), 0));
	if (capture(restart, NULL, 2, &err))
		die(1, "error: pod %s did not become ready: %s", pod_name(pod), strip(err));
}

/* The pods of NS labelled LABEL=WORKLOAD, Running and not being deleted. */
static cJSON *running_pods(const char *label, const char *workload)
{
	cJSON *pods = load_pods(), *pod, *next;

	for (pod = pods->child; pod; pod = next) {
		const char *l = pod_label(pod, label);
		const char *phase = object_str(object_get(pod, "status", NULL), "phase");
		const cJSON *gone = object_get(pod, "metadata", "deletionTimestamp");
		next = pod->next;
		if (!l || strcmp(l, workload) || !phase || strcmp(phase, "Running") ||
			(gone && !cJSON_IsNull(gone) && !cJSON_IsFalse(gone) &&
			!(cJSON_IsString(gone) && !*gone->valuestring)))
			cJSON_Delete(cJSON_DetachItemViaPointer(pods, pod));
	}
	return pods;
}

static int rollout(char **list, int n)
{
	const char *a[3] = {NULL, NULL, NULL}, *label, *full, *kind;
	char *type, *workload;
	int k = 0, i;
	cJSON *pods, *pod;

	for (i = 0; i < n; i++)
		if (strncmp(list[i], "--timeout", 9))
			a[k < 3 ? k++ : 2] = list[i];
	if (k != 2 || !strchr(a[1], '/'))
		die(1, "error: fake-kubectl implements rollout restart|latest|status TYPE/NAME");
	type = fmt("%s", a[1]);
	workload = strchr(type, '/');
	*workload++ = '\0';
	if (!strcmp(type, "deployment") || !strcmp(type, "deployments") ||
		!strcmp(type, "deploy")) {
		label = "deployment", full = "deployments.apps", kind = "deployment.apps";
		if (strcmp(a[0], "restart") && strcmp(a[0], "status"))
			die(1, "error: unknown command \"%s\" for deployments", a[0]);
	} else if (!strcmp(type, "dc") || !strcmp(type, "deploymentconfig") ||
		!strcmp(type, "deploymentconfigs")) {
		label = "deploymentConfig", full = "deploymentconfigs.apps.openshift.io";
		kind = "deploymentconfig.apps.openshift.io";
		if (strcmp(a[0], "latest") && strcmp(a[0], "status"))
			die(1, "error: unknown command \"%s\" for deploymentconfigs", a[0]);
	} else {
		die(1, "error: no rollout for resource type \"%s\"", type);
	}
	pods = running_pods(label, workload);
	if (!pods->child)
		die(1, "Error from server (NotFound): %s \"%s\" not found", full, workload);
	if (!strcmp(a[0], "status")) {
		printf("%s \"%s\" successfully rolled out\n", lower(label), workload);
		return 0;
	}
	cJSON_ArrayForEach(pod, pods) {
		const char *spec = object_str(object_get(pod, "metadata", "annotations"),
			"fake-kubectl/redis");
		if (spec) {
			cJSON *s = cJSON_Parse(spec);
			if (!s)
				die(1, "fake-kubectl: annotation fake-kubectl/redis is not JSON");
			restart_redis(pod, s, workload);
		} else {
			cJSON *entry = cJSON_CreateObject();
			cJSON_AddStringToObject(entry, "namespace", ns);
			cJSON_AddStringToObject(entry, "workload", workload);
			append_line(fmt("%s/rollouts.log", root), entry);
		}
	}
	printf("%s/%s %s\n", kind, workload, !strcmp(a[0], "restart") ? "restarted" : "rolled out");
	return 0;
}

/* --- the call --- */

/* kustomize ARGS...: the real kubectl's (FAKE_KUBE_KUSTOMIZE), in place of this one. */
static void run_kustomize(char **rest, int n)
{
	char *real = getenv("FAKE_KUBE_KUSTOMIZE"), **argv = calloc((size_t)n + 2, sizeof(*argv));

	if (!real)
		die(1, "fake-kubectl: kustomize needs FAKE_KUBE_KUSTOMIZE");
	argv[0] = real;
	memcpy(argv + 1, rest, (size_t)n * sizeof(*argv));
	execv(real, argv);
	die(1, "fake-kubectl: %s: %s", real, strerror(errno));
}

static void log_call(void)
{
	const char *log = getenv("FAKE_KUBE_LOG");
	cJSON *env;
	char **e;

	if (log)
		append_line(log, argv_json());
	root = getenv("FAKE_KUBE_DIR");
	if (!root)
		die(1, "fake-kubectl: FAKE_KUBE_DIR is not set (tsarc passes it when the config's "
			"transport.pass_env names it)");
	/* The environment each call was given, one JSON object a line, so tests
	 * can check that no credential of tsarc's reaches kubectl. */
	env = cJSON_CreateObject();
	for (e = environ; *e; e++) {
		char *name = fmt("%s", *e), *eq = strchr(name, '=');
		if (!eq)
			continue;
		*eq = '\0';
		cJSON_DeleteItemFromObjectCaseSensitive(env, name);
		cJSON_AddStringToObject(env, name, eq + 1);
	}
	append_line(fmt("%s/env.log", root), env);
}

int main(int argc, char **argv)
{
	const char *context = NULL, *want_ctx, *verb;
	char **rest = calloc((size_t)argc, sizeof(*rest));
	int n = 0, i;

	args = argv + 1;
	n_args = argc - 1;
	log_call();
	home_ns = getenv("FAKE_KUBE_NAMESPACE") ? getenv("FAKE_KUBE_NAMESPACE") : "default";
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		if ((!strcmp(a, "-n") || !strcmp(a, "--namespace")) && i + 1 < argc)
			ns = argv[++i];
		else if (!strncmp(a, "--namespace=", 12))
			ns = a + 12;
		else if (!strcmp(a, "--context") && i + 1 < argc)
			context = argv[++i];
		else if (!strcmp(a, "--kubeconfig"))
			i++;
		else if (!strcmp(a, "--"))
			while (i < argc)
				rest[n++] = argv[i++];
		else
			rest[n++] = argv[i];
	}
	want_ctx = getenv("FAKE_KUBE_CONTEXT");
	if (want_ctx && *want_ctx && (!context || strcmp(context, want_ctx))) {
		if (context)
			die(1, "error: context \"%s\" does not exist", context);
		die(1, "error: current-context is not set");
	}
	if (!n)
		die(1, "error: You must specify the type of resource to get.");
	verb = rest[0];
	if (strcmp(verb, "apply") && strcmp(verb, "create"))
		record_call(NULL, NULL);
	if (!strcmp(verb, "get"))
		return get(rest + 1, n - 1);
	if (!strcmp(verb, "exec"))
		return exec_in_pod(rest + 1, n - 1);
	if (!strcmp(verb, "kustomize"))
		run_kustomize(rest, n);
	if ((!strcmp(verb, "apply") || !strcmp(verb, "create")) && n == 3 && !strcmp(rest[1], "-k"))
		return store_items(kustomize(rest[2]), !strcmp(verb, "create"), 0);
	if (!strcmp(verb, "create") && n >= 4 && !strcmp(rest[1], "secret") &&
		!strcmp(rest[2], "generic"))
		return create_secret(rest + 3, n - 3);
	if (!strcmp(verb, "apply"))
		return apply(rest + 1, n - 1);
	if (!strcmp(verb, "delete"))
		return delete(rest + 1, n - 1);
	if (!strcmp(verb, "rollout"))
		return rollout(rest + 1, n - 1);
	die(1, "error: unknown command \"%s\" for \"kubectl\" (fake-kubectl implements get, exec, "
		"apply, create, delete, kustomize and rollout)", verb);
	return 1;
}
