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
# matches (checksums, DEBUG DIGEST, the file tree).
# It does that for two layouts, one after the other (ci/demo/deployment.sh):
# 2.15, the databases as the pods had them (root, a Redis tsarc may
# restart), and 2.16, every database external as the 3scale 2.16 operator
# has them (MariaDB over TLS only with an admin without SUPER, backend-redis
# over TLS and system-redis behind a redis-sentinel, both with ACL users that
# may not SYNC, CONFIG or DEBUG), found from the Secrets and the APIManager.
# Then the single-stream path: a generated mysqldump-shaped stream through --stdin.
#
#   bash ci/demo.sh            # both layouts, in a temp folder removed at the end
#   DEMO_LAYOUT=2.16 bash ci/demo.sh                   # one layout only (2.15 or 2.16)
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
case ${DEMO_LAYOUT:=both} in
both) layouts="2.15 2.16" ;;
2.15|2.16) layouts=$DEMO_LAYOUT ;;
*) echo "ci/demo.sh: DEMO_LAYOUT is 2.15, 2.16 or both, not '$DEMO_LAYOUT'" >&2; exit 2 ;;
esac
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
	local l
	for l in $layouts; do
		bash ci/demo/deployment.sh down "$dir/deployment-$l" >/dev/null 2>&1 || true
	done
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

# The deployment's own clients (demo_mysql, demo_redis) for either layout.
# shellcheck source=ci/demo/clients.sh
. ci/demo/clients.sh

step "tsarc init"
rm -rf "$dir/repo"
"$tsarc" init

# fingerprint: what a restore must bring back, one line per store: a few
# counts to read and a digest of the store's whole state (the demo_state_*
# of ci/demo/clients.sh, which the restore tests compare in full).
fingerprint() {
	local r
	digest() { "$@" | sha256sum | cut -c1-16; }
	if [ "$(demo_mysql "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name='system'" "")" = 1 ]; then
		echo "system        $(demo_mysql "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema='system'" "") tables," \
			"$(demo_mysql "SELECT (SELECT COUNT(*) FROM cinstances) + (SELECT COUNT(*) FROM audits) + (SELECT COUNT(*) FROM accounts)") rows in cinstances+audits+accounts," \
			"$(demo_mysql "SELECT COUNT(*) FROM information_schema.triggers WHERE trigger_schema='system'") triggers," \
			"$(demo_mysql "SELECT COUNT(*) FROM information_schema.routines WHERE routine_schema='system'") routines," \
			"state $(digest demo_state_system)"
	else
		echo "system        (no database)"
	fi
	echo "zync          pg_dump $(digest demo_state_zync)"
	for r in backend-redis system-redis; do
		printf '%-13s DEBUG DIGEST %s, keys %s\n' "$r" "$(demo_redis "$r" DEBUG DIGEST)" \
			"$(demo_state_redis "$r" | tail -n +2 | paste -sd' ')"
	done
	echo "files         $(find "$dep/system-storage" -mindepth 1 | wc -l) entries, tree $(digest demo_state_files "$dep/system-storage")"
	echo "resources     $(find "$dep/resources" -name '*.json' ! -name tsarc-restore-state.json | wc -l) files, data $(digest demo_state_resources "$dep/resources")"
}

# definers: who the system database's triggers and routines run as (a
# restore without SUPER makes them the restoring user's).
definers() {
	demo_mysql "SELECT DISTINCT definer FROM information_schema.triggers WHERE trigger_schema='system' UNION
		SELECT DISTINCT definer FROM information_schema.routines WHERE routine_schema='system'" | paste -sd' '
}

# One layout, end to end: up, back up, break, restore, compare, down.
demo_layout() {
	local layout=$1
	dep=$dir/deployment-$layout

	step "[$layout] start a 3scale-like deployment on loopback (scale $scale)"
	rm -rf "$dep"
	bash ci/demo/deployment.sh up "$dep" "$scale" "$layout"
	# shellcheck disable=SC1091
	. "$dep/env"
	echo "MariaDB   127.0.0.1:$MYSQL_PORT  system: $(demo_mysql "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema='system'") tables," \
		"$(demo_mysql "SELECT COUNT(*) FROM information_schema.triggers WHERE trigger_schema='system'") triggers," \
		"$(demo_mysql "SELECT COUNT(*) FROM cinstances") applications, $(demo_mysql "SELECT COUNT(*) FROM audits") audits"
	echo "Postgres  127.0.0.1:$PG_PORT  zync_production"
	echo "Redis     backend-redis 127.0.0.1:$REDIS_BACKEND_REDIS_PORT ($(demo_redis backend-redis --scan --pattern 'stats/*' | wc -l) usage counters)," \
		"system-redis 127.0.0.1:$REDIS_SYSTEM_REDIS_PORT"
	echo "Files     $dep/system-storage ($(find "$dep/system-storage" -type f | wc -l) files)"
	echo "Resources $dep/resources ($(ls "$dep/resources/secret" | wc -l) Secrets, $(ls "$dep/resources/configmap" | wc -l) ConfigMaps, APIManager)"
	if [ "$layout" = 2.16 ]; then
		echo "MariaDB   TCP over TLS only: $(demo_mysql "SELECT @@require_secure_transport" ""), admin $MYSQL_ADMIN_USER without SUPER:" \
			"$(demo_mysql "SHOW GRANTS FOR $MYSQL_ADMIN_USER@'%'" "" | grep -c SUPER || true) grants name SUPER; objects defined by $(definers)"
		echo "Redis     backend-redis TLS only (private CA, client certificate), ACL user $REDIS_BACKEND_REDIS_USER: SYNC?" \
			"$(demo_redis backend-redis ACL DRYRUN "$REDIS_BACKEND_REDIS_USER" SYNC)"
		echo "Redis     system-redis behind redis-sentinel 127.0.0.1:$SENTINEL_PORT (group $(python3 -c 'import base64,json,sys
d = json.load(open(sys.argv[1]))["data"]; print(base64.b64decode(d["URL"]).decode())' "$dep/resources/secret/system-redis.json")), ACL user $REDIS_SYSTEM_REDIS_USER: CONFIG?" \
			"$(demo_redis system-redis ACL DRYRUN "$REDIS_SYSTEM_REDIS_USER" CONFIG GET maxmemory)"
		echo "Secrets   system-database: $(python3 -c 'import json,sys; print(" ".join(sorted(json.load(open(sys.argv[1]))["data"])))' "$dep/resources/secret/system-database.json")"
		echo "          backend-redis: $(python3 -c 'import json,sys; print(" ".join(sorted(json.load(open(sys.argv[1]))["data"])))' "$dep/resources/secret/backend-redis.json")"
		echo "          system-redis: $(python3 -c 'import json,sys; print(" ".join(sorted(json.load(open(sys.argv[1]))["data"])))' "$dep/resources/secret/system-redis.json")"
	fi

	step "[$layout] the configuration (built-in 3scale profile + where this deployment is)"
	cat "$dep/config.json"
	if [ "$layout" = 2.16 ]; then
		step "[$layout] tsarc backup --print-config: what the profile decided from the APIManager and the Secrets"
		"$tsarc" backup --config "$dep/config.json" --print-config |
			python3 -c 'import json,sys; [print("%-17s %s (%s)" % (k, ", ".join("%s: %s" % (f, v[f]) for f in ("external", "enabled") if f in v), v["why"])) for k, v in json.load(sys.stdin)["decided"].items()]'
	fi

	step "[$layout] tsarc backup --config (every component, concurrently, into one snapshot)"
	"$tsarc" backup --config "$dep/config.json" --tag "demo-$layout"

	if [ "$layout" = 2.15 ]; then
		step "[$layout] tsarc backup --config again (only what changed is stored)"
		"$tsarc" backup --config "$dep/config.json" --tag "demo-$layout"

		step "[$layout] tsarc snapshots"
		"$tsarc" snapshots
	fi

	step "[$layout] tsarc show latest"
	"$tsarc" show latest

	step "[$layout] restored streams against their sources"
	"$tsarc" dump latest system-mysql.sql > "$dir/system-mysql.sql"
	grep -c '^INSERT INTO' "$dir/system-mysql.sql" | sed 's/^/system-mysql.sql: INSERT statements: /'
	grep -q 'sp_invoices_friendly_id' "$dir/system-mysql.sql" && echo "system-mysql.sql: has the stored procedure and $(grep -c 'TRIGGER' "$dir/system-mysql.sql") trigger lines"
	"$tsarc" dump latest system-storage.tar > "$dir/system-storage.tar"
	tar -tvf "$dir/system-storage.tar" | sed -n '1,5p'
	rm -rf "$dir/restored-storage"
	mkdir -p "$dir/restored-storage"
	tar -xpf "$dir/system-storage.tar" -C "$dir/restored-storage"
	diff -r --no-dereference "$dep/system-storage" "$dir/restored-storage" && echo "system-storage.tar: the tree is identical"
	"$tsarc" dump latest secrets.json | python3 -c 'import json,sys; d=json.load(sys.stdin); print("secrets.json:", len(d["items"]), "Secrets, e.g. metadata of", d["items"][0]["metadata"]["name"], "=", json.dumps(d["items"][0]["metadata"]))'
	if [ "$layout" = 2.16 ]; then
		# No SYNC for the ACL user: the Redis streams are logical, RESP that
		# redis-cli --pipe replays without tsarc.
		"$tsarc" show latest --json | python3 -c 'import json,sys
for s in json.load(sys.stdin)["streams"]:
    m = s["meta"]
    if m.get("redis_mode"): print("%s: %s, %s keys, read from %s" % (s["name"], m["redis_mode"], m.get("redis_keys"), m.get("redis_read_from")))
    if m.get("collation"): print("%s: dumped as %s, database %s %s" % (s["name"], m.get("db_user"), m["charset"], m["collation"]))'
		"$tsarc" dump latest system-redis.rdb > "$dir/system-redis.resp"
		echo "system-redis.rdb, its first commands (redis-cli --pipe replays it):"
		python3 - "$dir/system-redis.resp" <<'PY'
import sys
f = open(sys.argv[1], "rb")
for _ in range(3):
    args = []
    for _ in range(int(f.readline()[1:])):
        args.append(f.read(int(f.readline()[1:]) + 2)[:-2])
    print("  " + " ".join(a.decode() if a.isascii() and a.decode().isprintable() and len(a) < 40
                          else "<%d bytes>" % len(a) for a in args))
PY
	fi

	step "[$layout] tsarc check --read-data"
	"$tsarc" check --read-data

	step "[$layout] fingerprint of the deployment as backed up"
	fingerprint | tee "$dir/fp.before"

	step "[$layout] break the deployment: drop the system database, FLUSHALL both Redis, delete files and a Secret"
	demo_mysql "DROP DATABASE system"
	demo_redis backend-redis FLUSHALL
	demo_redis system-redis FLUSHALL
	find "$dep/system-storage" -type f | sort | sed -n '1~3p' | xargs rm -v | sed -n '1,3p;4s/.*/.../'
	echo "stray file" > "$dep/system-storage/not-in-the-backup.txt"
	rm -v "$dep/resources/secret/system-seed.json"
	fingerprint | tee "$dir/fp.broken"

	# The 2.15 demo config's post_restore hook (the stand-in for rake
	# backend:storage:enqueue_rewrite) rebuilds backend-redis keys from the
	# system database: it adds keys the generated backend-redis never had, so a
	# byte-equal comparison runs without it (tests/restore/roundtrip.sh proves
	# the hook separately).
	python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); c["post_restore"]=[]; json.dump(c, open(sys.argv[2], "w"), indent=2)' \
		"$dep/config.json" "$dir/restore-config.json"

	step "[$layout] tsarc restore latest --dry-run (the plan; nothing is touched)"
	"$tsarc" restore latest --config "$dir/restore-config.json" --dry-run

	step "[$layout] tsarc restore latest --config (Secrets, ConfigMaps, APIManager, system, files, zync, Redis)"
	"$tsarc" restore latest --config "$dir/restore-config.json"

	step "[$layout] fingerprint after the restore"
	fingerprint | tee "$dir/fp.after"
	[ "$layout" = 2.15 ] || echo "system        objects now defined by $(definers) (was root@localhost: DEFINER stripped for the admin without SUPER)"
	if diff "$dir/fp.before" "$dir/fp.after"; then
		echo "the restored deployment matches the backed-up one ($layout layout)"
	else
		echo "the restored deployment DIFFERS from the backed-up one ($layout layout)" >&2
		exit 1
	fi
	bash ci/demo/deployment.sh down "$dep"
}

for layout in $layouts; do
	demo_layout "$layout"
done

step "single stream: generate a $size mysqldump-shaped stream and back it up from stdin"
"$gen" "$size" --seed 2026 > "$dir/generated.sql"
"$tsarc" backup --stdin --name generated.sql --kind mysql --tag demo < "$dir/generated.sql"
"$tsarc" dump latest generated.sql | cmp - "$dir/generated.sql"
echo "restored stream is byte-identical to the original ($(stat -c %s "$dir/generated.sql") bytes)"

step "repository on disk"
du -sh "$dir/repo"
echo "demo finished: OK"
