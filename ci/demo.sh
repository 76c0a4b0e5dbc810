#!/usr/bin/env bash
# The main job, end to end, on a fresh Debian 12 machine: builds tsarc,
# starts a 3scale-like deployment on loopback (MariaDB with a `system`
# database shaped like 3scale's, PostgreSQL with zync, backend-redis and
# system-redis, a system-storage tree, the Secrets/ConfigMaps/APIManager as
# JSON), backs the whole deployment up into a local repository with one
# command, shows the snapshot, backs it up again (deduplicated), proves
# streams against their sources, and verifies every stored chunk. Then it
# breaks the deployment (system database dropped, both Redis flushed, files
# and a Secret deleted), restores it with one command and shows that it
# matches (checksums, DEBUG DIGEST, the file tree). Then the single-stream path: a generated mysqldump-shaped stream through --stdin.
#
#   bash ci/demo.sh            # everything in a temp folder, removed at the end
#   DEMO_DIR=/some/dir DEMO_SIZE=1G bash ci/demo.sh   # keep the repository
#   DEMO_SCALE=20 bash ci/demo.sh                      # a bigger deployment
#   TSARC_BUILD_DIR=/tmp/b bash ci/demo.sh             # build somewhere else
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

bash ci/deps.sh
build=${TSARC_BUILD_DIR:-$top/build/release}
bash ci/build.sh "$build" >/dev/null
tsarc=$build/tsarc
gen=$build/tests/tsarc-gen-dump

size=${DEMO_SIZE:-256M}
scale=${DEMO_SCALE:-1}
if [ -n "${DEMO_DIR:-}" ]; then
	dir=$DEMO_DIR
	mkdir -p "$dir"
	keep=1
else
	dir=$(mktemp -d "${TMPDIR:-/tmp}/tsarc-demo.XXXXXX")
	keep=0
fi
cleanup() {
	# The servers go in any case (stopped by their PIDs); the files unless kept.
	bash ci/demo/deployment.sh down "$dir/deployment" >/dev/null 2>&1 || true
	[ "$keep" = 1 ] || rm -rf "$dir"
}
trap cleanup EXIT

# The password goes through a file, never on a command line.
umask 077
head -c 24 /dev/urandom | base64 > "$dir/password"
export TSARC_PASSWORD_FILE=$dir/password
export TSARC_REPOSITORY=$dir/repo
umask 022

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "start a 3scale-like deployment on loopback (scale $scale)"
rm -rf "$dir/deployment"
bash ci/demo/deployment.sh up "$dir/deployment" "$scale"
# shellcheck disable=SC1091
. "$dir/deployment/env"
dep=$dir/deployment
mysql_q() { MYSQL_PWD=$MYSQL_ROOT_PASSWORD mariadb --no-defaults -uroot -h127.0.0.1 -P"$MYSQL_PORT" -N -B system -e "$1"; }
echo "MariaDB   127.0.0.1:$MYSQL_PORT  system: $(mysql_q "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema='system'") tables," \
	"$(mysql_q "SELECT COUNT(*) FROM information_schema.triggers WHERE trigger_schema='system'") triggers," \
	"$(mysql_q "SELECT COUNT(*) FROM cinstances") applications, $(mysql_q "SELECT COUNT(*) FROM audits") audits"
echo "Postgres  127.0.0.1:$PG_PORT  zync_production"
echo "Redis     backend-redis 127.0.0.1:$REDIS_BACKEND_REDIS_PORT ($(REDISCLI_AUTH=$REDIS_BACKEND_REDIS_PASSWORD redis-cli -p "$REDIS_BACKEND_REDIS_PORT" --scan --pattern 'stats/*' | wc -l) usage counters)," \
	"system-redis 127.0.0.1:$REDIS_SYSTEM_REDIS_PORT"
echo "Files     $dep/system-storage ($(find "$dep/system-storage" -type f | wc -l) files)"
echo "Resources $dep/resources ($(ls "$dep/resources/secret" | wc -l) Secrets, $(ls "$dep/resources/configmap" | wc -l) ConfigMaps, APIManager)"

step "the configuration (built-in 3scale profile + where this deployment is)"
cat "$dep/config.json"

step "tsarc init"
rm -rf "$dir/repo"
"$tsarc" init

step "tsarc backup --config (every component, concurrently, into one snapshot)"
"$tsarc" backup --config "$dep/config.json" --tag demo

step "tsarc backup --config again (only what changed is stored)"
"$tsarc" backup --config "$dep/config.json" --tag demo

step "tsarc snapshots"
"$tsarc" snapshots

step "tsarc show latest"
"$tsarc" show latest

step "restored streams against their sources"
"$tsarc" dump latest system-mysql.sql > "$dir/system-mysql.sql"
grep -c '^INSERT INTO' "$dir/system-mysql.sql" | sed 's/^/system-mysql.sql: INSERT statements: /'
grep -q 'sp_invoices_friendly_id' "$dir/system-mysql.sql" && echo "system-mysql.sql: has the stored procedure and $(grep -c 'TRIGGER' "$dir/system-mysql.sql") trigger lines"
"$tsarc" dump latest system-storage.tar > "$dir/system-storage.tar"
tar -tvf "$dir/system-storage.tar" | sed -n '1,5p'
mkdir -p "$dir/restored-storage"
tar -xpf "$dir/system-storage.tar" -C "$dir/restored-storage"
diff -r --no-dereference "$dep/system-storage" "$dir/restored-storage" && echo "system-storage.tar: the tree is identical"
"$tsarc" dump latest secrets.json | python3 -c 'import json,sys; d=json.load(sys.stdin); print("secrets.json:", len(d["items"]), "Secrets, e.g. metadata of", d["items"][0]["metadata"]["name"], "=", json.dumps(d["items"][0]["metadata"]))'

step "tsarc check --read-data"
"$tsarc" check --read-data

# fingerprint: what a restore must bring back, one line per store.
fingerprint() {
	local tables
	tables=$(mysql_q "SELECT GROUP_CONCAT(table_name ORDER BY table_name) FROM information_schema.tables WHERE table_schema='system'" 2>/dev/null || true)
	if [ -n "$tables" ] && [ "$tables" != NULL ]; then
		echo "system        $(echo "${tables//,/ }" | wc -w) tables, $(mysql_q "SELECT SUM(table_rows) FROM (SELECT COUNT(*) AS table_rows FROM cinstances UNION ALL SELECT COUNT(*) FROM audits UNION ALL SELECT COUNT(*) FROM accounts) x") rows in cinstances+audits+accounts," \
			"CHECKSUM TABLE $(mysql_q "CHECKSUM TABLE ${tables//,/, }" | sha256sum | cut -c1-16)"
	else
		echo "system        (no database)"
	fi
	echo "zync          pg_dump $(PGPASSWORD=$ZYNC_DB_PASSWORD pg_dump --no-password -h 127.0.0.1 -p "$PG_PORT" -U zync -d zync_production |
		grep -v -e '^-- Dumped' -e '^.restrict' -e '^.unrestrict' | sha256sum | cut -c1-16)"
	echo "backend-redis DEBUG DIGEST $(REDISCLI_AUTH=$REDIS_BACKEND_REDIS_PASSWORD redis-cli -p "$REDIS_BACKEND_REDIS_PORT" DEBUG DIGEST)," \
		"keys $(REDISCLI_AUTH=$REDIS_BACKEND_REDIS_PASSWORD redis-cli -p "$REDIS_BACKEND_REDIS_PORT" INFO keyspace | grep '^db' | cut -d, -f1 | tr -d '\r' | paste -sd' ')"
	echo "system-redis  DEBUG DIGEST $(redis-cli -p "$REDIS_SYSTEM_REDIS_PORT" DEBUG DIGEST)," \
		"keys $(redis-cli -p "$REDIS_SYSTEM_REDIS_PORT" INFO keyspace | grep '^db' | cut -d, -f1 | tr -d '\r' | paste -sd' ')"
	echo "files         $(find "$dep/system-storage" -mindepth 1 | wc -l) entries, tree $( (cd "$dep/system-storage" &&
		find . -mindepth 1 -printf '%p %y %m %U %G %s %T@ %l\n' | sort && find . -type f -print0 | sort -z | xargs -0 -r sha256sum) | sha256sum | cut -c1-16)"
	echo "resources     $(find "$dep/resources" -name '*.json' | wc -l) files, data $(cd "$dep/resources" && find . -name '*.json' | sort |
		xargs -r python3 -c 'import json,sys; [print(f, json.dumps([json.load(open(f)).get(k) for k in ("data", "spec")], sort_keys=True)) for f in sys.argv[1:]]' | sha256sum | cut -c1-16)"
}

step "fingerprint of the deployment as backed up"
fingerprint | tee "$dir/fp.before"

step "break the deployment: drop the system database, FLUSHALL both Redis, delete files and a Secret"
mysql_q "DROP DATABASE system"
REDISCLI_AUTH=$REDIS_BACKEND_REDIS_PASSWORD redis-cli -p "$REDIS_BACKEND_REDIS_PORT" FLUSHALL
redis-cli -p "$REDIS_SYSTEM_REDIS_PORT" FLUSHALL
find "$dep/system-storage" -type f | sort | sed -n '1~3p' | xargs rm -v | sed -n '1,3p;4s/.*/.../'
echo "stray file" > "$dep/system-storage/not-in-the-backup.txt"
rm -v "$dep/resources/secret/system-seed.json"
fingerprint | tee "$dir/fp.broken"

# The demo config's post_restore hook (the stand-in for rake
# backend:storage:enqueue_rewrite) rebuilds backend-redis keys from the
# system database: it adds keys the generated backend-redis never had, so a
# byte-equal comparison runs without it (tests/restore/roundtrip.sh proves
# the hook separately).
python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); c["post_restore"]=[]; json.dump(c, open(sys.argv[2], "w"), indent=2)' \
	"$dep/config.json" "$dir/restore-config.json"

step "tsarc restore latest --dry-run (the plan; nothing is touched)"
"$tsarc" restore latest --config "$dir/restore-config.json" --dry-run

step "tsarc restore latest --config (Secrets, ConfigMaps, APIManager, system, files, zync, Redis swap)"
"$tsarc" restore latest --config "$dir/restore-config.json"

step "fingerprint after the restore"
fingerprint | tee "$dir/fp.after"
if diff "$dir/fp.before" "$dir/fp.after"; then
	echo "the restored deployment matches the backed-up one"
else
	echo "the restored deployment DIFFERS from the backed-up one" >&2
	exit 1
fi

step "single stream: generate a $size mysqldump-shaped stream and back it up from stdin"
"$gen" "$size" --seed 2026 > "$dir/generated.sql"
"$tsarc" backup --stdin --name generated.sql --kind mysql --tag demo < "$dir/generated.sql"
"$tsarc" dump latest generated.sql | cmp - "$dir/generated.sql"
echo "restored stream is byte-identical to the original ($(stat -c %s "$dir/generated.sql") bytes)"

step "repository on disk"
du -sh "$dir/repo"
echo "demo finished: OK"
