#!/usr/bin/env bash
# Back up the demo deployment, destroy it (databases dropped, Redis
# flushed, files and resources deleted), restore, and prove it equal:
# CHECKSUM TABLE and row counts, the zync pg_dump, Redis DEBUG DIGEST and
# key counts per db, the file tree, the resources. system-redis runs with
# AOF on: after the restore it still does, and a restart keeps the data.
# A second restore over a half-upgraded database leaves only the dump's
# tables ("clean"). Then the re-sync hook: backend-redis service keys lost before the backup
# are rebuilt from the system database by the demo's stand-in.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

deploy_up 1
export TSARC_PASSWORD=restore-test
REPO=$WORK/repo
init_repo "$REPO"

info "system-redis with AOF on"
# On the live server first (a restart with appendonly yes and no AOF starts empty).
redis-cli -p "$REDIS_SYSTEM_REDIS_PORT" CONFIG SET appendonly yes >/dev/null
for _ in $(seq 100); do
	redis-cli -p "$REDIS_SYSTEM_REDIS_PORT" INFO persistence | grep -q 'aof_rewrite_in_progress:0' && break
	sleep 0.1
done
sed -i 's/^appendonly no/appendonly yes/' "$REDIS_SYSTEM_REDIS_DIR/redis.conf"
d0=$(redis_digest "$REDIS_SYSTEM_REDIS_PORT")
bash "$SERVICES" restart-redis "$DEP/services/r2" system-redis || fail "cannot restart system-redis"
[ "$(redis_digest "$REDIS_SYSTEM_REDIS_PORT")" = "$d0" ] || fail "test setup: system-redis lost its data"
[ "$(redis-cli -p "$REDIS_SYSTEM_REDIS_PORT" CONFIG GET appendonly | tail -1)" = yes ] || fail "AOF is not on"

no_hooks "$WORK/config.json"
ok backup --repo "$REPO" --config "$WORK/config.json" --json
SNAP=$(json_get "$OUT" "d['snapshot_id']")
state "$WORK/before"

info "dry run: the plan, and nothing touched"
destroy
state "$WORK/destroyed"
ok restore "$SNAP" --repo "$REPO" --config "$WORK/config.json" --dry-run --json
python3 - "$OUT" <<'PY' || fail "the plan is wrong"
import json, sys
d = json.load(open(sys.argv[1]))
names = [s["component"] for s in d["steps"]]
assert names == ["secrets", "configmaps", "apimanager", "system-mysql", "system-storage",
                 "zync-database", "backend-redis", "system-redis"], names
for s in d["steps"]:
    assert s["status"] == "not applied" and s["bytes"] > 0 and s["plan"]["target"], s
assert d["dry_run"] is True
# In place (the snapshot records this deployment), and the Secrets are
# gone: the endpoints come from the snapshot's Secrets, and the plan says so.
assert d["in_place"] is True and d["migration"] is False, d
st = {s["component"]: s for s in d["steps"]}
for c, secret in (("system-mysql", "system-database"), ("zync-database", "zync"),
                  ("backend-redis", "backend-redis"), ("system-redis", "system-redis")):
    e = st[c]["plan"]["endpoint"]
    assert e["from"].startswith("the snapshot's Secret %s " % secret), e
    assert e["host"] == "127.0.0.1" and e["port"] == st[c]["plan"]["snapshot_source"]["port"], e
PY
state "$WORK/after-dry-run"
diff "$WORK/destroyed" "$WORK/after-dry-run" >&2 || fail "--dry-run changed the deployment"

info "restore into the destroyed deployment"
# A local user who can write redis.conf's folder (the redis group on Debian)
# or resources_dir plants symlinks at the names the restore used to write
# its temporary files under: the (root) restore must not write through
# them, and the replaced redis.conf keeps its owner, group and mode.
echo precious > "$WORK/victim"
ln -s "$WORK/victim" "$REDIS_SYSTEM_REDIS_DIR/redis.conf.tsarc-tmp"
ln -s "$WORK/victim" "$DEP/resources/secret/.system-seed.json.tsarc-tmp"
chmod 640 "$REDIS_SYSTEM_REDIS_DIR/redis.conf"
[ "$(id -u)" = 0 ] && chown 1234:4321 "$REDIS_SYSTEM_REDIS_DIR/redis.conf"
conf_owner=$(stat -c '%u:%g %a' "$REDIS_SYSTEM_REDIS_DIR/redis.conf")
ok restore "$SNAP" --repo "$REPO" --config "$WORK/config.json" --json
[ "$(cat "$WORK/victim")" = precious ] || fail "the restore wrote through a planted symlink"
[ "$(stat -c '%u:%g %a' "$REDIS_SYSTEM_REDIS_DIR/redis.conf")" = "$conf_owner" ] ||
	fail "redis.conf lost its owner or mode: $(stat -c '%u:%g %a' "$REDIS_SYSTEM_REDIS_DIR/redis.conf"), was $conf_owner"
rm -f "$REDIS_SYSTEM_REDIS_DIR/redis.conf.tsarc-tmp" "$DEP/resources/secret/.system-seed.json.tsarc-tmp"
cp "$OUT" "$WORK/restore.json"
[ "$(json_get "$WORK/restore.json" "sorted({s['status'] for s in d['steps']})")" = "['applied']" ] ||
	fail "not every step applied"
state "$WORK/after"
diff "$WORK/before" "$WORK/after" >&2 || fail "the restored deployment differs from the backed-up one"
[ -e "$DEP/system-storage/not-in-the-backup" ] && fail "an extra file survived the tree restore"
for secret in "$MYSQL_ROOT_PASSWORD" "$ZYNC_DB_PASSWORD" "$REDIS_BACKEND_REDIS_PASSWORD"; do
	! grep -qF "$secret" "$WORK/restore.json" "$ERR" || fail "a password is in the output"
done

info "in place over a half-upgraded system database: the tables the dump lacks go"
# What a failed upgrade leaves: a new table with a foreign key into a dumped
# one, a view, a changed row. The restore must give the backup's database,
# not the backup's tables next to the upgrade's.
mysql_q "$MYSQL_PORT" "$MYSQL_ROOT_PASSWORD" system -e "
	CREATE TABLE upgrade_leftover (id INT PRIMARY KEY, account_id BIGINT,
		FOREIGN KEY (account_id) REFERENCES accounts (id)) ENGINE=InnoDB;
	INSERT INTO upgrade_leftover VALUES (1, (SELECT MIN(id) FROM accounts));
	CREATE VIEW \`odd view\` AS SELECT id FROM upgrade_leftover;
	UPDATE accounts SET org_name = 'changed by the upgrade'" || fail "cannot half-upgrade system"
ok restore "$SNAP" --repo "$REPO" --config "$WORK/config.json" --only system-mysql --dry-run --json
[ "$(json_get "$OUT" "[s['plan']['replaces'] for s in d['steps'] if s['component'] == 'system-mysql'][0]")" = \
	"every table and view of the database (it ends up with the dump's tables only)" ] ||
	fail "the plan does not say the database is emptied first"
# The Secrets are back: in place, the target's own Secret is the source of
# truth, and a target equal to the snapshot's source is the normal case.
json_get "$OUT" "[s['plan']['endpoint']['from'] for s in d['steps'] if s['component'] == 'system-mysql'][0]" |
	grep -q "^the target's Secret system-database (key URL) as it was before the restore" ||
	fail "in place, the endpoint does not come from the target's own Secret"
ok restore "$SNAP" --repo "$REPO" --config "$WORK/config.json" --only system-mysql --json
state "$WORK/after-in-place"
diff "$WORK/before" "$WORK/after-in-place" >&2 || fail "the in-place restore left the database different"

info "system-redis: AOF still on, and a restart keeps the data"
[ "$(redis-cli -p "$REDIS_SYSTEM_REDIS_PORT" CONFIG GET appendonly | tail -1)" = yes ] || fail "AOF is off after restore"
grep -q '^appendonly yes' "$REDIS_SYSTEM_REDIS_DIR/redis.conf" || fail "redis.conf lost appendonly yes"
d1=$(redis_digest "$REDIS_SYSTEM_REDIS_PORT")
bash "$SERVICES" restart-redis "$DEP/services/r2" system-redis || fail "cannot restart system-redis"
[ "$(redis_digest "$REDIS_SYSTEM_REDIS_PORT")" = "$d1" ] || fail "system-redis lost data across a restart"
ls "$REDIS_SYSTEM_REDIS_DIR" | grep -q 'appendonlydir-old\|dump.rdb-old' || fail "the old files were not kept aside"

info "re-sync hook: backend service keys rebuilt from the system database"
REDISCLI_AUTH=$REDIS_BACKEND_REDIS_PASSWORD redis-cli -p "$REDIS_BACKEND_REDIS_PORT" --scan --pattern 'service/id:*' |
	while read -r k; do REDISCLI_AUTH=$REDIS_BACKEND_REDIS_PASSWORD redis-cli -p "$REDIS_BACKEND_REDIS_PORT" DEL "$k" >/dev/null; done
REDISCLI_AUTH=$REDIS_BACKEND_REDIS_PASSWORD redis-cli -p "$REDIS_BACKEND_REDIS_PORT" DEL services_set >/dev/null
ok backup --repo "$REPO" --config "$DEP/config.json" --json
SNAP2=$(json_get "$OUT" "d['snapshot_id']")
ok restore "$SNAP2" --repo "$REPO" --config "$DEP/config.json" --only backend-redis,system-mysql --json
[ "$(json_get "$OUT" "[s['status'] for s in d['steps'] if s['component'] == 'post_restore[0]'][0]")" = applied ] ||
	fail "the re-sync hook did not run"
n=$(REDISCLI_AUTH=$REDIS_BACKEND_REDIS_PASSWORD redis-cli -p "$REDIS_BACKEND_REDIS_PORT" SCARD services_set)
m=$(mysql_q "$MYSQL_PORT" "$MYSQL_ROOT_PASSWORD" system -e "SELECT COUNT(*) FROM services")
[ "$n" = "$m" ] && [ "$n" -gt 0 ] || fail "services_set has $n members, system has $m services"
[ "$(REDISCLI_AUTH=$REDIS_BACKEND_REDIS_PASSWORD redis-cli -p "$REDIS_BACKEND_REDIS_PORT" GET service/id:1/state)" = active ] ||
	fail "service/id:1/state was not rebuilt"
info "OK"
