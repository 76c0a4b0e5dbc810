# Helpers of the deployment tests (tests/deploy/*.sh); sourced, not run.
# Builds on tests/cli/lib.sh (t, ok, fail, expect_rc, expect_err, json_get).
# Real servers (MariaDB, PostgreSQL, Redis) are started per test, on free
# loopback ports, under the test's own work directory, and stopped by PID.

DEPLOY_TESTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$DEPLOY_TESTS/../.." && pwd)
# shellcheck disable=SC1091
. "$TOP/tests/cli/lib.sh"
# shellcheck disable=SC1091
. "$TOP/tests/lib_chunk.sh"
SERVICES=$TOP/ci/services.sh
DEPLOYMENT=$TOP/ci/demo/deployment.sh
fake_kubectl

# Skipped where the servers are not installed, except in CI
# (TSARC_TEST_REQUIRE_SERVICES=1), where a missing one is a failure.
for tool in mariadbd mariadb mysqldump pg_dump psql redis-server redis-cli tar python3; do
	command -v "$tool" >/dev/null && continue
	[ "${TSARC_TEST_REQUIRE_SERVICES:-0}" = 1 ] && { echo "FAIL: $tool is not installed" >&2; exit 1; }
	echo "SKIP: $tool is not installed (bash ci/deps.sh)"
	exit 77
done

# Stop every server this test started before its directory goes, all at
# once (a PostgreSQL takes a second or two to stop, more on a loaded machine).
deploy_cleanup() {
	local f pids=()
	for f in "$WORK"/*/services "$WORK"/svc-*; do
		[ -d "$f" ] || continue
		bash "$SERVICES" stop "$f" >/dev/null 2>&1 &
		pids+=($!)
	done
	[ ${#pids[@]} = 0 ] || wait "${pids[@]}"
	cleanup
}
trap deploy_cleanup EXIT

# deploy_up [SCALE [LAYOUT]]: the demo deployment in $WORK/dep (LAYOUT 2.15,
# the default, or 2.16: ci/demo/deployment.sh); its env is sourced.
deploy_up() {
	bash "$DEPLOYMENT" up "$WORK/dep" "${1:-1}" "${2:-2.15}" >"$WORK/deploy-up.log" 2>&1 ||
		{ cat "$WORK/deploy-up.log" >&2; fail "the demo deployment did not start"; }
	# shellcheck disable=SC1091
	. "$WORK/dep/env"
	DEP=$WORK/dep
}

# svc_start NAME KIND [ARGS...]: one more server in $WORK/svc-NAME; its env sourced.
svc_start() {
	local name=$1 kind=$2
	shift 2
	bash "$SERVICES" "start-$kind" "$WORK/svc-$name" "$@" >"$WORK/svc-$name.log" 2>&1 ||
		{ cat "$WORK/svc-$name.log" >&2; fail "could not start $kind ($name)"; }
	# shellcheck disable=SC1091
	. "$WORK/svc-$name/env"
}

# no_snapshot REPO WHAT: the repository must hold no snapshot.
no_snapshot() {
	local n
	n=$("$TSARC" snapshots --repo "$1" --json 2>/dev/null | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))') ||
		fail "$2: cannot list snapshots"
	[ "$n" = 0 ] || fail "$2: a snapshot was written ($n)"
}

# mysql_q PORT PASSWORD SQL...: runs SQL, prints tab-separated rows.
mysql_q() {
	local port=$1 pw=$2
	shift 2
	MYSQL_PWD=$pw mariadb --no-defaults -uroot -h127.0.0.1 -P"$port" -N -B "$@"
}

# redis_digest PORT [PASSWORD]: DEBUG DIGEST of the whole server.
redis_digest() {
	if [ -n "${2:-}" ]; then
		REDISCLI_AUTH=$2 redis-cli -p "$1" DEBUG DIGEST
	else
		redis-cli -p "$1" DEBUG DIGEST
	fi
}

# rdb_digest FILE NAME: loads an RDB into a fresh redis-server, prints its digest.
rdb_digest() {
	local dir=$WORK/svc-$2
	mkdir -p "$dir/redis-$2"
	cp "$1" "$dir/redis-$2/dump.rdb"
	svc_start "$2" redis "$2" >/dev/null
	local var
	var=REDIS_$(printf '%s' "$2" | tr 'a-z-' 'A-Z_')_PORT
	redis-cli -p "${!var}" DEBUG DIGEST
}

# unreadable_last_chunk REPO SNAP STREAM: puts a folder where the stream's
# last chunk was (reading it fails with EISDIR: an I/O error, not damage;
# the consumer has had the others), the chunk in $WORK/saved-chunk; sets
# HIDDEN_CHUNK to its path. The stream must have several chunks.
unreadable_last_chunk() {
	hide_chunk "$1" "$2" "$3" -1 "$WORK/saved-chunk"
	HIDDEN_CHUNK=$CHUNK_FILE
	[ "$CHUNK_COUNT" -ge 2 ] || fail "test setup: $3 has $CHUNK_COUNT chunk(s), want several"
}

# fake_pod [ENV-JSON]: the fake cluster of tests/deploy/fake_kubectl.c (a TEST
# DOUBLE) in $WORK/kube (KDIR), its settings exported for pass_env, with one
# running pod system-app-1-abcde (label deployment=system-app) whose container
# system-master has that environment (called again: the environment replaced).
fake_pod() {
	local env=${1:-'{}'}
	KDIR=$WORK/kube
	mkdir -p "$KDIR/resources"
	export FAKE_KUBE_DIR=$KDIR FAKE_KUBE_LOG=$WORK/kubectl.log FAKE_KUBE_NAMESPACE=3scale
	python3 - "$KDIR/pods.json" "$env" <<'PY'
import json, sys
env = json.loads(sys.argv[2])
pod = {"apiVersion": "v1", "kind": "Pod",
       "metadata": {"name": "system-app-1-abcde", "namespace": "3scale", "labels": {"deployment": "system-app"}},
       "spec": {"containers": [{"name": "system-master", "env": [{"name": k, "value": v} for k, v in env.items()]}]},
       "status": {"phase": "Running"}}
json.dump({"apiVersion": "v1", "kind": "List", "items": [pod]}, open(sys.argv[1], "w"))
PY
}

# tree_config FILE PATH [NAME]: a configuration of one files component NAME
# (default st) backing up PATH as NAME.tar, restored by replace-tree; local
# transport.
tree_config() {
	python3 - "$1" "$2" "${3:-st}" <<'PY'
import json, sys
path, tree, name = sys.argv[1:]
json.dump({"profile": "none", "transport": {"type": "local"},
           "components": {name: {"kind": "files", "path": tree, "stream": name + ".tar",
                                 "restore": {"action": "replace-tree", "order": 1}}}},
          open(path, "w"), indent=2)
PY
}
