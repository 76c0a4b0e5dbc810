#!/usr/bin/env bash
# restore --undo-snapshot on the demo deployment (real MariaDB, PostgreSQL,
# Redis): a restore that fails part-way through the system database (its
# load stops at a view whose table the target lacks, after every table was
# already replaced: MySQL's DDL commits as it goes) is rolled back, and the
# whole deployment, the Secrets applied before it included, is as it was;
# without the option the same failure leaves a database that is neither.
# A restore that succeeds names its undo snapshot, and restoring that
# undoes it; 'latest' and forget's groups pass over undo snapshots; an
# undo backup that fails stops the restore before its first write. A
# rollback after zync-database was restored (clean, the profile's) drops
# the PostgreSQL objects only the restored dump created, and gives back
# the ones its clean load dropped: zync_production is exactly as before.
# A database the target lacks is left out of the undo snapshot and
# dropped again by the rollback (before, the undo backup failed); so are
# Secrets and ConfigMaps the target lacks (a namespace emptied): removed
# again by the rollback, and by a restore of the undo snapshot later.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

step_status() { json_get "$OUT" "[s['status'] for s in d['steps'] if s['component'] == '$1'][0]"; }

deploy_up 1
export TSARC_PASSWORD=restore-test
REPO=$WORK/repo
init_repo "$REPO"
no_hooks "$WORK/config.json"

info "the snapshot: the demo, and a view of a table in another database"
demo_mysql "CREATE DATABASE reports; CREATE TABLE reports.totals (n INT);
	INSERT INTO reports.totals VALUES (42);
	CREATE VIEW system.report_totals AS SELECT n FROM reports.totals" "" ||
	fail "cannot create the view"
ok backup --repo "$REPO" --config "$WORK/config.json" --tag nightly --json
SNAP=$(json_get "$OUT" "d['snapshot_id']")
state "$WORK/state.snap"

info "the deployment changes after the backup (state B); the view's table goes"
change_deployment() {
	demo_mysql "UPDATE accounts SET org_name = 'renamed after the backup $1' WHERE id = 2" ||
		fail "cannot change the system database"
	demo_redis system-redis SET changed-after-backup "$1" >/dev/null
	echo "$1" > "$DEP/system-storage/changed-after-backup"
	# An optional ConfigMap the snapshot holds and the target lacks: the
	# restore creates it, the rollback must remove it again.
	rm -f "$DEP/resources/configmap/mysql-main-conf.json"
	python3 - "$DEP/resources/secret/system-app.json" "$1" <<'PY' || fail "cannot change a Secret"
import base64, json, sys
p = sys.argv[1]
d = json.load(open(p))
d.setdefault("data", {})["CHANGED_AFTER_BACKUP"] = base64.b64encode(sys.argv[2].encode()).decode()
json.dump(d, open(p, "w"))
PY
}
change_deployment B
demo_mysql "DROP VIEW system.report_totals; DROP DATABASE reports" "" || fail "cannot drop the view"
state "$WORK/state.B"
cmp -s "$WORK/state.snap" "$WORK/state.B" && fail "state B is the snapshot's"

info "with --undo-snapshot: the same failure is rolled back, the Secrets applied before it too"
t restore "$SNAP" --repo "$REPO" --config "$WORK/config.json" --undo-snapshot --json
[ "$RC" -ne 0 ] || fail "a restore whose view cannot be created succeeded"
[ "$(step_status secrets)" = applied ] || fail "the Secrets were not applied before the failure"
[ "$(step_status system-mysql)" = failed ] || fail "the system-mysql step is not reported failed"
[ "$(json_get "$OUT" "d['rollback']['status']")" = applied ] || fail "no rollback was reported"
[ "$(json_get "$OUT" "' '.join(d['rollback']['components'])")" = \
	"secrets configmaps apimanager system-mysql" ] ||
	fail "the rollback did not cover what was replaced: $(json_get "$OUT" "d['rollback']")"
UNDO=$(json_get "$OUT" "d['undo_snapshot']")
expect_err "rolled back: secrets,configmaps,apimanager,system-mysql restored from undo snapshot ${UNDO:0:10}" \
	"the error says it was rolled back"
expect_err "as it was before the restore" "the error says the deployment is as before"
state "$WORK/state.rolled-back"
diff "$WORK/state.B" "$WORK/state.rolled-back" >&2 || fail "the rollback did not bring state B back"

info "the undo snapshot: tagged undo, names the snapshot, holds what the restore was to replace"
cp "$OUT" "$WORK/rolled-back.json"
PLANNED=$(json_get "$WORK/rolled-back.json" "' '.join(sorted(s['component'] for s in d['steps'] if s['status'] != 'skipped'))")
ok show "$UNDO" --repo "$REPO" --json
[ "$(json_get "$OUT" "d['tags']")" = "['undo']" ] || fail "the undo snapshot is not tagged undo"
[ "$(json_get "$OUT" "d['meta']['undo_of']")" = "$SNAP" ] || fail "the undo snapshot does not name $SNAP"
[ "$(json_get "$OUT" "' '.join(sorted(s['meta']['component'] for s in d['streams']))")" = "$PLANNED" ] ||
	fail "the undo snapshot holds $(json_get "$OUT" "[s['name'] for s in d['streams']]"), not $PLANNED"

info "'latest' passes over undo snapshots; forget keeps them in a group of their own"
ok restore latest --repo "$REPO" --config "$WORK/config.json" --dry-run --json
[ "$(json_get "$OUT" "d['snapshot_id']")" = "$SNAP" ] || fail "latest named an undo snapshot"
ok forget --repo "$REPO" --keep-last 1 --dry-run --json
[ "$(json_get "$OUT" "[[k['id'] for k in g['keep']] for g in d['groups'] if not g['group'].get('undo')]")" = \
	"[['$SNAP']]" ] || fail "forget --keep-last 1 does not keep the backup: $(cat "$OUT")"
[ "$(json_get "$OUT" "[[k['id'] for k in g['keep']] for g in d['groups'] if g['group'].get('undo')]")" = \
	"[['$UNDO']]" ] || fail "forget does not keep the undo snapshot in a group of its own"
info "a --keep-tag policy that keeps no undo snapshot is refused, and says how to keep them"
t forget --repo "$REPO" --keep-tag nightly --dry-run
[ "$RC" -ne 0 ] || fail "forget --keep-tag nightly would remove every undo snapshot"
expect_err "keeps no undo snapshot" "the error does not name the undo snapshots"
expect_err "--keep-tag undo" "the error does not say how to keep them"
ok forget --repo "$REPO" --keep-tag nightly --keep-tag undo --dry-run
t forget --repo "$REPO" --keep-tag other --dry-run
[ "$RC" -ne 0 ] || fail "forget --keep-tag other would remove every snapshot"
expect_err "keeps no snapshot of group .*, nor any undo snapshot" "the error does not name both groups"
info "an undo snapshot that cannot be taken stops the restore before its first write"
demo_mysql "CREATE TABLE system.gone (n INT); CREATE VIEW system.broken AS SELECT n FROM system.gone;
	DROP TABLE system.gone" "" || fail "cannot make a view mysqldump refuses"
state "$WORK/state.B3"
t restore "$SNAP" --repo "$REPO" --config "$WORK/config.json" --undo-snapshot
[ "$RC" -ne 0 ] || fail "the restore ran without its undo snapshot"
expect_err "could not be backed up before the restore, so nothing was restored" \
	"the error says nothing was restored"
state "$WORK/state.B4"
diff "$WORK/state.B3" "$WORK/state.B4" >&2 || fail "a restore whose undo snapshot failed changed the deployment"
demo_mysql "DROP VIEW system.broken" "" || fail "cannot drop the broken view"

info "without --undo-snapshot: the load stops at the view, the tables are already replaced"
t restore "$SNAP" --repo "$REPO" --config "$WORK/config.json" --only system-mysql --json
[ "$RC" -ne 0 ] || fail "a restore whose view cannot be created succeeded"
[ "$(step_status system-mysql)" = failed ] || fail "the system-mysql step is not reported failed"
expect_err "reports" "the error names the missing table"
state "$WORK/state.half"
[ "$(section "$WORK/state.half" system)" != "$(section "$WORK/state.B" system)" ] ||
	fail "the failed load left the database as it was: the test shows nothing"
[ "$(section "$WORK/state.half" system)" != "$(section "$WORK/state.snap" system)" ] ||
	fail "the failed load left the snapshot's database"
info "the undo snapshot of the rolled-back restore puts it back"
ok restore "$UNDO" --repo "$REPO" --config "$WORK/config.json" --only system-mysql
state "$WORK/state.B5"
diff "$WORK/state.B" "$WORK/state.B5" >&2 || fail "restoring the undo snapshot did not bring state B back"

info "a rollback that fails too says so, and names the snapshot that puts things back"
# An exec component whose restore command always fails: the rollback runs
# it again and fails the same way.
python3 - "$WORK/config.json" "$WORK/blob.json" "$WORK/blob.out" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["components"]["blob"] = {"kind": "exec", "script": "seq 1 1000",
    "restore": {"order": 45, "command": ["sh", "-c", 'cat > /dev/null; echo refused >&2; exit 3']}}
json.dump(c, open(sys.argv[2], "w"), indent=2)
c["components"]["blob"]["restore"]["command"] = ["sh", "-c", 'cat > "$0"', sys.argv[3]]
c["post_restore"] = [{"command": ["sh", "-c", "echo re-sync failed; exit 4"], "after": ["blob"]}]
json.dump(c, open(sys.argv[2] + ".hook", "w"), indent=2)
PY
ok backup --repo "$REPO" --config "$WORK/blob.json" --json
BLOB=$(json_get "$OUT" "d['snapshot_id']")
t restore "$BLOB" --repo "$REPO" --config "$WORK/blob.json" --only blob --undo-snapshot --json
[ "$RC" -ne 0 ] || fail "a restore whose command fails succeeded"
[ "$(json_get "$OUT" "d['rollback']['status']")" = failed ] || fail "the failed rollback is not reported"
UNDO3=$(json_get "$OUT" "d['undo_snapshot']")
expect_err "the rollback from undo snapshot ${UNDO3:0:10} failed too" "the error says the rollback failed"
expect_err "the state before the restore is snapshot $UNDO3 \(tsarc restore $UNDO3 --only blob\)" \
	"the error names the command that puts things back"

info "a failed rollback after many steps: the whole report reaches the operator"
# Sixteen components applied before blob fails, then the rollback fails at
# blob too. Before, an error had a fixed size (1024 bytes): here the step's
# error and the rollback's were cut to nothing, their lists of what was
# applied and what not with them ("failed too: " then a line break).
python3 - "$WORK/blob.json" "$WORK/many.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
for i in range(16):
    c["components"]["applied-before-the-failure-%02d" % i] = {"kind": "exec",
        "script": "echo %d" % i, "restore": {"order": 20 + i, "command": ["sh", "-c", "cat > /dev/null"]}}
json.dump(c, open(sys.argv[2], "w"), indent=2)
PY
ONLY=$(python3 -c 'print(",".join(["applied-before-the-failure-%02d" % i for i in range(16)] + ["blob"]))')
ok backup --repo "$REPO" --config "$WORK/many.json" --json
MANY=$(json_get "$OUT" "d['snapshot_id']")
# One run, --json with --log-format json: the report's error and the log
# line, made by the same code as the text's.
t restore "$MANY" --repo "$REPO" --config "$WORK/many.json" --only "$ONLY" --undo-snapshot \
	--json --log-format json
[ "$RC" -ne 0 ] || fail "a restore whose command fails succeeded"
E=$WORK/error.many
json_get "$OUT" "d['rollback']['error']" | grep -q "^  applied: $(echo "${ONLY%,blob}" | tr , ' ')$" ||
	fail "the report's rollback error lost its list of what was applied"
json_get "$OUT" "d['error']" > "$E"
python3 - "$ERR" "$E" <<'PY' || fail "the JSON log line of the failure is not the whole error"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
want = open(sys.argv[2]).read().rstrip("\n")
sys.exit(0 if any(l["level"] == "error" and l["message"] == want for l in lines) else 1)
PY
grep -q "stopped at blob: component 'blob': sh: exited with status 3; its stderr ended with:$" "$E" &&
	grep -q "^refused$" "$E" ||
	fail "the first error does not say why blob failed: $(cat "$E")"
[ "$(grep -c "^  applied: $(echo "${ONLY%,blob}" | tr , ' ')$" "$E")" = 2 ] ||
	fail "the errors lost their lists of what was applied: $(cat "$E")"
[ "$(grep -c '^  not applied:' "$E")" = 2 ] ||
	fail "the errors lost their lists of what was not applied: $(cat "$E")"
grep -q "the rollback from undo snapshot .* failed too: restore of snapshot" "$E" ||
	fail "the rollback's error is not whole: $(cat "$E")"
grep -qE "\(tsarc restore [0-9a-f]{64} --only $ONLY\)$" "$E" ||
	fail "the error does not give the whole command that puts things back: $(cat "$E")"

info "a failed post_restore hook is not rolled back: the data was all applied"
t restore "$BLOB" --repo "$REPO" --config "$WORK/blob.json.hook" --only blob --undo-snapshot --json
[ "$RC" -ne 0 ] || fail "a restore whose hook fails succeeded"
[ "$(step_status blob)" = applied ] || fail "the blob step is not applied"
[ -s "$WORK/blob.out" ] || fail "the blob was not restored"
json_get "$OUT" "d.get('rollback')" | grep -qx None || fail "a failed hook was rolled back"
UNDO4=$(json_get "$OUT" "d['undo_snapshot']")
expect_err "the state before the restore is undo snapshot ${UNDO4:0:10}: tsarc restore $UNDO4 --only blob puts it back" \
	"the error names the undo snapshot"

info "a restore that succeeds names its undo snapshot; restoring that undoes it"
change_deployment C
state "$WORK/state.C"
demo_mysql "CREATE DATABASE reports; CREATE TABLE reports.totals (n INT);
	INSERT INTO reports.totals VALUES (42)" "" || fail "cannot create the view's table"
ok restore "$SNAP" --repo "$REPO" --config "$WORK/config.json" --undo-snapshot --json
UNDO2=$(json_get "$OUT" "d['undo_snapshot']")
[ -n "$UNDO2" ] && [ "$UNDO2" != "$UNDO" ] || fail "no new undo snapshot was named"
json_get "$OUT" "d.get('rollback')" | grep -qx None || fail "a rollback after a restore that succeeded"
state "$WORK/state.restored"
diff "$WORK/state.snap" "$WORK/state.restored" >&2 || fail "the restore did not bring the snapshot back"
demo_mysql "DROP DATABASE reports" "" || fail "cannot drop reports"
ok restore "$UNDO2" --repo "$REPO" --config "$WORK/config.json" --dry-run --json
[ "$(json_get "$OUT" "[s['plan']['removes'] for s in d['steps'] if s['component'] == 'configmaps'][0]")" = \
	"['mysql-main-conf']" ] || fail "the plan of the undo snapshot does not say it removes mysql-main-conf"
ok restore "$UNDO2" --repo "$REPO" --config "$WORK/config.json"
state "$WORK/state.undone"
diff "$WORK/state.C" "$WORK/state.undone" >&2 || fail "restoring the undo snapshot did not bring state C back"
info "an APIManager the restore created is left by the rollback, and the error says so"
rm "$DEP/resources/apimanager/3scale.json"
t restore "$SNAP" --repo "$REPO" --config "$WORK/config.json" --undo-snapshot --json
[ "$RC" -ne 0 ] || fail "a restore whose view cannot be created succeeded"
[ "$(json_get "$OUT" "d['rollback']['status']")" = applied ] || fail "no rollback was reported"
[ -f "$DEP/resources/apimanager/3scale.json" ] || fail "the rollback deleted the APIManager"
expect_err "as it was before the restore but for apimanager 3scale, which the restore created" \
	"the error does not say the APIManager is left"
[ "$(json_get "$OUT" "len([w for w in d['warnings'] if 'apimanager 3scale' in w and 'is left' in w])")" = 1 ] ||
	fail "no warning names the APIManager left: $(json_get "$OUT" "d['warnings']")"

info "a rollback drops what only the restored dump created in zync_production"
# The snapshot holds a failed upgrade's objects; the target has one of its
# own instead. zync-database is restored (its load drops every object
# first: the profile's clean), then a later step fails the first time it
# runs; the rollback's load of the undo dump must drop the snapshot's
# objects, which the undo dump does not hold, and bring the target's back.
zync_sql() {
	PGPASSWORD=$ZYNC_DB_PASSWORD psql -qAtX -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U zync \
		-d zync_production "$@"
}
zync_sql <<'SQL' || fail "cannot half-upgrade zync"
CREATE TABLE upgrade_leftover (id int PRIMARY KEY, n serial);
INSERT INTO upgrade_leftover (id) VALUES (1);
CREATE VIEW upgrade_view AS SELECT id FROM upgrade_leftover;
CREATE SEQUENCE upgrade_seq;
SQL
python3 - "$WORK/config.json" "$WORK/zync.json" "$WORK/blob.once" <<'PY2'
import json, sys
c = json.load(open(sys.argv[1]))
c["components"]["blob"] = {"kind": "exec", "script": "seq 1 1000",
    "restore": {"order": 65, "command": ["sh", "-c",
        'cat > /dev/null; [ -e "$0" ] && exit 0; : > "$0"; echo refused once >&2; exit 3',
        sys.argv[3]]}}
json.dump(c, open(sys.argv[2], "w"), indent=2)
PY2
ok backup --repo "$REPO" --config "$WORK/zync.json" --json
ZSNAP=$(json_get "$OUT" "d['snapshot_id']")
zync_sql <<'SQL' || fail "cannot change zync after the backup"
DROP VIEW upgrade_view; DROP TABLE upgrade_leftover; DROP SEQUENCE upgrade_seq;
CREATE TABLE zz_target_only (id int); INSERT INTO zz_target_only VALUES (7);
SQL
state "$WORK/state.Z"
t restore "$ZSNAP" --repo "$REPO" --config "$WORK/zync.json" --only zync-database,blob --undo-snapshot --json
[ "$RC" -ne 0 ] || fail "a restore whose blob step fails succeeded"
[ "$(step_status zync-database)" = applied ] || fail "zync-database was not restored before the failure"
[ "$(step_status blob)" = failed ] || fail "the blob step is not reported failed"
[ "$(json_get "$OUT" "d['rollback']['status']")" = applied ] || fail "no rollback was reported: $(cat "$ERR")"
expect_err "as it was before the restore" "the error says zync_production is as before"
[ -z "$(zync_sql -c "SELECT to_regclass('upgrade_leftover'), to_regclass('upgrade_view'), to_regclass('upgrade_seq')" | tr -d '|')" ] ||
	fail "the objects only the restored dump created survived the rollback"
[ "$(zync_sql -c "SELECT * FROM zz_target_only")" = 7 ] || fail "the target's own table is not back"
state "$WORK/state.Z-rolled-back"
diff "$WORK/state.Z" "$WORK/state.Z-rolled-back" >&2 || fail "the rollback did not bring zync_production back"

info "a rollback of a load that is not clean says what it leaves"
# "clean": false (a database shared with other applications): the undo
# dump's load replaces its own tables only, so a table only the restored
# dump created stays, and the error must not claim "as it was" alone.
demo_mysql "CREATE TABLE system.upgrade_leftover (id INT)" "" || fail "cannot half-upgrade system"
python3 - "$WORK/zync.json" "$WORK/unclean.json" "$WORK/blob.unclean-once" <<'PY2'
import json, sys
c = json.load(open(sys.argv[1]))
c["components"]["system-mysql"].setdefault("restore", {})["clean"] = False
c["components"]["blob"]["restore"]["command"][3] = sys.argv[3]
json.dump(c, open(sys.argv[2], "w"), indent=2)
PY2
ok backup --repo "$REPO" --config "$WORK/unclean.json" --json
USNAP=$(json_get "$OUT" "d['snapshot_id']")
demo_mysql "DROP TABLE system.upgrade_leftover" "" || fail "cannot drop the leftover table"
t restore "$USNAP" --repo "$REPO" --config "$WORK/unclean.json" --only system-mysql,blob --undo-snapshot --json
[ "$RC" -ne 0 ] || fail "a restore whose blob step fails succeeded"
[ "$(step_status system-mysql)" = applied ] || fail "system-mysql was not restored before the failure"
[ "$(json_get "$OUT" "d['rollback']['status']")" = applied ] || fail "no rollback was reported: $(cat "$ERR")"
expect_err "tables that only the restored dump of system-mysql created stay: its load is not clean" \
	"the rollback's error does not say what a load that is not clean leaves"
demo_mysql "SELECT COUNT(*) FROM system.upgrade_leftover" "" >/dev/null ||
	fail "test setup: the leftover table is gone (the load was clean?)"

info "a database the target lacks: left out of the undo snapshot, dropped again by the rollback"
# A migration onto a new external server: the target's Secret names a
# database that is not there yet, which the restore creates. Before, the
# undo backup of it failed and --undo-snapshot could not be used at all.
# system-mysql goes into system_undo_new (absent), zync-database into its
# own (present), then blob fails once: the rollback restores zync from the
# undo snapshot and drops system_undo_new; with zync's database absent
# too, both are dropped.
pg_super() {
	PGPASSWORD=$PG_PASSWORD psql -qAtX -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres \
		-d postgres "$@"
}
pg_super -c "ALTER ROLE zync CREATEDB" || fail "test setup: cannot let zync create databases"
absent_config() {
	python3 - "$WORK/zync.json" "$WORK/absent-$1.json" "$WORK/blob.absent-$1" "$2" <<'PY2'
import json, sys
c = json.load(open(sys.argv[1]))
c["components"]["system-mysql"]["database"] = "system_undo_new"
if sys.argv[4]:
    c["components"]["zync-database"]["database"] = sys.argv[4]
c["components"]["blob"]["restore"]["command"][3] = sys.argv[3]
json.dump(c, open(sys.argv[2], "w"), indent=2)
PY2
}
mysql_has() { demo_mysql "SHOW DATABASES LIKE '$1'" ""; }
pg_has() { pg_super -c "SELECT datname FROM pg_database WHERE datname = '$1'"; }
# rolled_back_after_blob CONFIG STEP WHAT: the restore of $ZSNAP with
# CONFIG (system-mysql, zync-database, blob) fails at blob after STEP was
# applied, and is rolled back (WHAT: the case, for a failure).
rolled_back_after_blob() {
	t restore "$ZSNAP" --repo "$REPO" --config "$1" \
		--only system-mysql,zync-database,blob --undo-snapshot --json
	[ "$RC" -ne 0 ] || fail "a restore whose blob step fails succeeded ($3)"
	[ "$(step_status "$2")" = applied ] || fail "$2 was not restored before the failure ($3): $(cat "$ERR")"
	[ "$(json_get "$OUT" "d['rollback']['status']")" = applied ] || fail "no rollback was reported ($3): $(cat "$ERR")"
}
[ -z "$(mysql_has system_undo_new)" ] || fail "test setup: system_undo_new exists"
absent_config mixed ""
state "$WORK/state.M"
rolled_back_after_blob "$WORK/absent-mixed.json" system-mysql "one absent"
expect_err "rolled back: zync-database,blob restored from undo snapshot [0-9a-f]{10}, database system_undo_new of system-mysql dropped \(the target did not have it before the restore\); the deployment is as it was before the restore" \
	"the error says what was restored and what dropped"
[ -z "$(mysql_has system_undo_new)" ] || fail "the database the restore created outlived the rollback"
state "$WORK/state.M-rolled-back"
diff "$WORK/state.M" "$WORK/state.M-rolled-back" >&2 || fail "the rollback did not bring zync_production back"
ok show "$(json_get "$OUT" "d['undo_snapshot']")" --repo "$REPO" --json
[ "$(json_get "$OUT" "' '.join(sorted(s['meta']['component'] for s in d['streams']))")" = "blob zync-database" ] ||
	fail "the undo snapshot holds $(json_get "$OUT" "[s['name'] for s in d['streams']]"), not blob and zync-database"

absent_config both zync_undo_new
[ -z "$(pg_has zync_undo_new)" ] || fail "test setup: zync_undo_new exists"
rolled_back_after_blob "$WORK/absent-both.json" zync-database "both absent"
expect_err "rolled back: blob restored from undo snapshot [0-9a-f]{10}, database system_undo_new of system-mysql, database zync_undo_new of zync-database dropped" \
	"the error says both were dropped"
[ -z "$(mysql_has system_undo_new)" ] || fail "system_undo_new outlived the rollback (both absent)"
[ -z "$(pg_has zync_undo_new)" ] || fail "zync_undo_new outlived the rollback"
state "$WORK/state.M2"
diff "$WORK/state.M" "$WORK/state.M2" >&2 || fail "the deployment changed (both absent)"
# The first snapshot's view fails the load itself: its step drops the
# database it created, and there is nothing more to roll back.
t restore "$SNAP" --repo "$REPO" --config "$WORK/absent-both.json" --only system-mysql --undo-snapshot
[ "$RC" -ne 0 ] || fail "a load that stops at a view succeeded (new database)"
expect_err "database system_undo_new, created by this restore, was dropped again" \
	"the step says it dropped the database it created"
grep -q "rolled back\|rolling back" "$ERR" && fail "a rollback of nothing was reported: $(cat "$ERR")"
[ -z "$(mysql_has system_undo_new)" ] || fail "system_undo_new outlived its failed load"

info "Secrets and ConfigMaps the target lacks: left out of the undo snapshot, removed again"
# A deployment that lost its Secrets and ConfigMaps (a namespace emptied by
# mistake, restored in place onto its external databases). Before, the
# undo backup failed on the first required Secret and nothing was
# restored. The restore creates them; blob fails once: the rollback
# removes them again. Then the restore succeeds, and restoring its undo
# snapshot removes them too (the state before that restore).
mkdir -p "$WORK/kept-resources"
mv "$DEP/resources/secret" "$DEP/resources/configmap" "$WORK/kept-resources/"
mkdir -p "$DEP/resources/secret" "$DEP/resources/configmap"
state "$WORK/state.E"
python3 - "$WORK/zync.json" "$WORK/emptied.json" "$WORK/blob.emptied" <<'PY2'
import json, sys
c = json.load(open(sys.argv[1]))
c["components"]["blob"]["restore"]["command"][3] = sys.argv[3]
json.dump(c, open(sys.argv[2], "w"), indent=2)
PY2
t restore "$ZSNAP" --repo "$REPO" --config "$WORK/emptied.json" --only secrets,configmaps,blob \
	--undo-snapshot --json
[ "$RC" -ne 0 ] || fail "a restore whose blob step fails succeeded (emptied)"
[ "$(step_status secrets)" = applied ] || fail "the Secrets were not restored before the failure: $(cat "$ERR")"
[ "$(json_get "$OUT" "d['rollback']['status']")" = applied ] || fail "no rollback was reported (emptied): $(cat "$ERR")"
expect_err "the deployment is as it was before the restore" "the error says the deployment is as it was (emptied)"
# Only tsarc's own record of the restore (docs/config.md) is left.
[ -z "$(find "$DEP/resources/secret" "$DEP/resources/configmap" -type f ! -name tsarc-restore-state.json)" ] ||
	fail "the Secrets or ConfigMaps the restore created outlived the rollback: $(ls "$DEP/resources"/*)"
state "$WORK/state.E-rolled-back"
diff "$WORK/state.E" "$WORK/state.E-rolled-back" >&2 || fail "the rollback did not bring the emptied deployment back"
ok restore "$ZSNAP" --repo "$REPO" --config "$WORK/emptied.json" --only secrets,configmaps,blob \
	--undo-snapshot --json
[ -s "$DEP/resources/secret/system-seed.json" ] || fail "the restore did not create system-seed"
EUNDO=$(json_get "$OUT" "d['undo_snapshot']")
ok restore "$EUNDO" --repo "$REPO" --config "$WORK/emptied.json" --only secrets,configmaps,blob --json
[ "$(json_get "$OUT" "[s['detail'].get('removed') for s in d['steps'] if s['component'] == 'secrets'][0]" | tr -d "[]' " | tr , '\n' | sort | tr '\n' ' ')" = \
	"backend-internal-api backend-listener backend-redis system-app system-database system-events-hook system-master-apicast system-memcache system-recaptcha system-redis system-seed system-smtp zync " ] ||
	fail "the undo snapshot's restore does not report the 13 Secrets removed: $(cat "$OUT")"
state "$WORK/state.E-undone"
diff "$WORK/state.E" "$WORK/state.E-undone" >&2 || fail "restoring the undo snapshot did not bring the emptied deployment back"
rm -rf "$DEP/resources/secret" "$DEP/resources/configmap"
mv "$WORK/kept-resources/secret" "$WORK/kept-resources/configmap" "$DEP/resources/"
info "OK"
