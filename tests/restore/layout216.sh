#!/usr/bin/env bash
# The demo deployment in the 3scale 2.16 layout (ci/demo/deployment.sh):
# every database external, and the configuration says nothing about it.
# MariaDB over TLS only with a private CA and an admin without SUPER whose
# login needs a client certificate; backend-redis over TLS only and
# system-redis behind a redis-sentinel, both with ACL users that may not
# SYNC, CONFIG or DEBUG; the Secrets as the 2.16 operator writes them.
# Proven: the profile decides every database external from the APIManager;
# the Redis streams are logical (SYNC refused); the dump records the
# database's utf8mb4_unicode_ci; the plan says DEFINER strip, verified TLS
# with the Secret's CA and client certificate, the recorded charset, Redis
# over TLS and through the Sentinel group; the destroyed deployment
# (databases dropped, Redis flushed, files, Secrets and ConfigMaps deleted) is
# restored equal, its triggers and routines now the admin's, its database
# charset kept; a restore with --undo-snapshot (the undo backup taken as
# the Secrets' users, logical Redis) undone by restoring its undo snapshot;
# no password or PEM key in anything tsarc printed.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"
command -v redis-sentinel >/dev/null || {
	[ "${TSARC_TEST_REQUIRE_SERVICES:-0}" = 1 ] && fail "redis-sentinel is not installed"
	echo "SKIP: redis-sentinel is not installed (bash ci/deps.sh)"; exit 77; }

deploy_up 1 2.16
export TSARC_PASSWORD=restore-test
REPO=$WORK/repo
init_repo "$REPO"
[ "$(demo_mysql "SELECT DISTINCT definer FROM information_schema.triggers WHERE trigger_schema='system'")" = root@localhost ] ||
	fail "test setup: the triggers are not root's"

info "the profile decides the layout from the APIManager"
ok backup --repo "$REPO" --config "$DEP/config.json" --print-config
python3 - "$OUT" <<'PY' || fail "not every database was decided external: $(cat "$OUT")"
import json, sys
d = json.load(open(sys.argv[1]))["decided"]
for c in ("system-mysql", "zync-database", "backend-redis", "system-redis"):
    assert d[c]["external"] is True and "externalComponents" in d[c]["why"], (c, d[c])
PY

info "backup as the Secrets' users: logical Redis, the database's charset recorded"
ok backup --repo "$REPO" --config "$DEP/config.json" --json
SNAP=$(json_get "$OUT" "d['snapshot_id']")
ok show "$SNAP" --repo "$REPO" --json
python3 - "$OUT" "$MYSQL_ADMIN_USER" <<'PY' || fail "the snapshot's metadata is wrong"
import json, sys
st = {s["name"]: s["meta"] for s in json.load(open(sys.argv[1]))["streams"]}
for r in ("backend-redis.rdb", "system-redis.rdb"):
    assert st[r]["redis_mode"] == "logical" and st[r]["redis_mode_reason"] == "SYNC refused", st[r]
assert "over TLS as backend" in st["backend-redis.rdb"]["redis_endpoint"], st["backend-redis.rdb"]
assert "Sentinel group system-redis-group" in st["system-redis.rdb"]["redis_endpoint"], st["system-redis.rdb"]
m = st["system-mysql.sql"]
assert (m["charset"], m["collation"], m["db_user"]) == ("utf8mb4", "utf8mb4_unicode_ci", sys.argv[2]), m
PY
state "$WORK/before"

info "destroyed, then the plan"
# The APIManager and the Secrets are gone with the rest: the target says
# nothing about its layout, so the snapshot's recorded one is used.
destroy
[ ! -e "$DEP/resources/apimanager/3scale.json" ] || fail "test setup: destroy kept the APIManager"
ok restore "$SNAP" --repo "$REPO" --config "$DEP/config.json" --dry-run --json
python3 - "$OUT" <<'PY' || fail "the plan is wrong: $(cat "$OUT")"
import json, sys
st = {s["component"]: s["plan"] for s in json.load(open(sys.argv[1]))["steps"]}
p = st["system-mysql"]
assert p["definer"].startswith("strip: "), p
assert p["tls"] == "verify-full, the Secret's CA, the Secret's client certificate", p
assert p["database"] == ("system, when missing, is created with DEFAULT CHARACTER SET utf8mb4 "
                         "COLLATE utf8mb4_unicode_ci (recorded at backup; dropped again if the "
                         "load fails)"), p
assert "over TLS as backend" in st["backend-redis"]["target"], st["backend-redis"]
assert "Sentinel group system-redis-group" in st["system-redis"]["target"], st["system-redis"]
PY

info "restore: equal, the objects the admin's, the charset kept"
ok restore "$SNAP" --repo "$REPO" --config "$DEP/config.json" --json
state "$WORK/after"
diff "$WORK/before" "$WORK/after" >&2 || fail "the restored deployment differs"
definers=$(demo_mysql "SELECT definer FROM information_schema.triggers WHERE trigger_schema='system' UNION
	SELECT definer FROM information_schema.routines WHERE routine_schema='system'")
[ "$definers" = "$MYSQL_ADMIN_USER@%" ] || fail "objects are defined by: $definers"
[ "$(demo_mysql "SELECT default_collation_name FROM information_schema.schemata WHERE schema_name='system'")" = utf8mb4_unicode_ci ] ||
	fail "the database lost its collation"

info "--undo-snapshot with external databases: taken as the Secrets' users, it undoes the restore"
demo_mysql "UPDATE accounts SET org_name = 'renamed after the restore' WHERE id = 2" ||
	fail "cannot change the system database"
demo_redis system-redis SET changed-after-restore yes >/dev/null
demo_redis backend-redis SET changed-after-restore yes >/dev/null
state "$WORK/changed"
ok restore "$SNAP" --repo "$REPO" --config "$DEP/config.json" --undo-snapshot --json
UNDO=$(json_get "$OUT" "d['undo_snapshot']")
state "$WORK/restored-again"
diff "$WORK/before" "$WORK/restored-again" >&2 || fail "the restore with --undo-snapshot differs"
ok show "$UNDO" --repo "$REPO" --json
python3 - "$OUT" <<'PY' || fail "the undo snapshot's Redis streams are not logical: $(cat "$OUT")"
import json, sys
st = {s["name"]: s["meta"] for s in json.load(open(sys.argv[1]))["streams"]}
for r in ("backend-redis.rdb", "system-redis.rdb"):
    assert st[r]["redis_mode"] == "logical", st[r]
PY
ok restore "$UNDO" --repo "$REPO" --config "$DEP/config.json" --json
state "$WORK/undone"
diff "$WORK/changed" "$WORK/undone" >&2 || fail "restoring the undo snapshot did not bring the changes back"

for pw in "$MYSQL_ADMIN_PASSWORD" "$REDIS_BACKEND_REDIS_USER_PASSWORD" "$REDIS_SYSTEM_REDIS_USER_PASSWORD" \
	"$SENTINEL_PASSWORD" "PRIVATE KEY"; do
	! grep -qaF -- "$pw" "$TRANSCRIPT" || fail "a password or key is in tsarc's output"
done
info "ok"
