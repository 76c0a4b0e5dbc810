#!/usr/bin/env bash
# A restore with --undo-snapshot ended by a signal: the old state, not a
# half-restored one. The whole demo deployment is restored over a changed
# one (state B: a system database row, a Secret, a file of system-storage);
# zync-database's load is held (tests/restore/hold.sh), after the Secrets,
# system-mysql and system-storage were replaced.
#  - SIGINT: what was replaced is rolled back from the undo snapshot; exit
#    130, the deployment is state B, the error says so, the held psql and
#    nothing else is left. Before, the signal stopped the restore and left
#    the snapshot's system database and Secrets in place.
#  - The rollback is not cut short by the grace period that bounds a stop
#    (30 s): held in its own load for longer, it goes on.
#  - A second signal during the rollback ends tsarc at once (exit 130, and
#    130 in its metrics), saying what it cut short and which snapshot puts
#    things back; the next plan warns that the deployment is half-restored and names the
#    step of the undo snapshot the rollback had not finished; restoring
#    that snapshot gives state B back.
#  - A signal during the rollback of a failed step (the first signal the
#    restore sees) does not stop the rollback: it goes on to the end and the
#    deployment is as it was; a second signal would end tsarc at once.
#  - SIGINT during a post_restore hook (--only secrets): rolled back as at
#    any other step. Before, it was taken for the hook's failure and the
#    snapshot's Secrets stayed.
#  - SIGINT in a restore into databases the target lacked (a migration onto
#    new servers): no undo snapshot (nothing to back up), the database the
#    restore created and loaded is dropped again by the rollback.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

backup_demo
# shellcheck source=tests/restore/hold.sh
. "$(dirname "$0")/hold.sh"

info "state B: the deployment changes after the backup"
demo_mysql "UPDATE accounts SET org_name = 'renamed after the backup' WHERE id = 2" ||
	fail "cannot change the system database"
echo B > "$DEP/system-storage/changed-after-backup"
python3 - "$DEP/resources/secret/system-app.json" <<'PY' || fail "cannot change a Secret"
import base64, json, sys
d = json.load(open(sys.argv[1]))
d.setdefault("data", {})["CHANGED_AFTER_BACKUP"] = base64.b64encode(b"B").decode()
json.dump(d, open(sys.argv[1], "w"))
PY
state "$WORK/state.B"

# held_at_zync [ARGS...]: the restore (ARGS added) held in the load of
# zync-database (the look-ups with -c pass); it has replaced the Secrets,
# system-mysql and system-storage by then.
held_at_zync() {
	touch "$WORK/hold-psql"
	bg --undo-snapshot "$@"
	held
	for c in system-mysql system-storage; do
		grep -q "$c: done" "$ERR" || fail "test setup: $c was not applied before the hold point: $(cat "$ERR")"
	done
}

info "the plan says a signal is rolled back"
t restore "$SNAP" --repo "$REPO" --config "$WORK/config.json" --undo-snapshot --dry-run
[ "$RC" -eq 0 ] || fail "the plan failed (exit $RC)"
grep -q "a failed step or a signal rolls back" "$OUT" "$ERR" || fail "the plan does not say a signal is rolled back"

info "SIGINT: rolled back, the deployment is state B, exit 130"
# The held load lifts the hold as it takes it: the rollback's own load of
# zync-database runs.
wrapper psql "$REAL_PSQL" "rm -f '$WORK/hold-psql'"
held_at_zync
kill -INT "$TPID"
ended
[ "$RC" -eq 130 ] || fail "exit $RC after SIGINT, want 130: $(cat "$ERR")"
gone "$HELD" "the held psql"
no_leftovers "SIGINT, rolled back"
expect_err "SIGINT received: rolling back secrets,configmaps,apimanager,system-mysql,system-storage,zync-database from undo snapshot" \
	"the progress says the rollback starts"
expect_err "interrupted by SIGINT" "the message names the signal"
expect_err "rolled back: secrets,configmaps,apimanager,system-mysql,system-storage,zync-database restored from undo snapshot [0-9a-f]{10}; the deployment is as it was before the restore" \
	"the error says the deployment is as it was"
state "$WORK/state.rolled-back"
diff "$WORK/state.B" "$WORK/state.rolled-back" >&2 || fail "the rollback after SIGINT did not bring state B back"
t restore "$SNAP" --repo "$REPO" --config "$WORK/config.json" --dry-run --json
[ "$RC" -eq 0 ] || fail "the plan after a rolled-back restore failed (exit $RC)"
grep -q "did not finish" "$OUT" && fail "a restore rolled back after SIGINT is reported unfinished: $(cat "$OUT")"

info "SIGINT during a post_restore hook: rolled back as at any other step"
# The hook holds once (the rollback runs it again, unheld). Before, a
# signal during a hook was taken for the hook's failure: nothing rolled
# back, the snapshot's Secrets left in place, while the same signal a
# moment earlier, between the last data step and the hook, rolled back.
python3 - "$WORK/config.json" "$WORK/hook.json" "$WORK" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
w = sys.argv[3]
c["post_restore"] = [{"transport": "local", "command": ["sh", "-c",
    f'[ -e {w}/hold-hook ] || exit 0; rm -f {w}/hold-hook; '
    f'echo $$ > {w}/held.tmp && mv {w}/held.tmp {w}/held; exec sleep 100000']}]
json.dump(c, open(sys.argv[2], "w"), indent=2)
PY
touch "$WORK/hold-hook"
CONFIG=$WORK/hook.json bg --only secrets --undo-snapshot
held
kill -INT "$TPID"
ended
[ "$RC" -eq 130 ] || fail "exit $RC after SIGINT during a hook, want 130: $(cat "$ERR")"
gone "$HELD" "the held hook"
no_leftovers "SIGINT during a hook"
expect_err "rolled back: secrets restored from undo snapshot [0-9a-f]{10}; the deployment is as it was before the restore" \
	"the error says the deployment is as it was"
# How the hook ended: killed by the stop's signal, which is no exit status
# (before: "sh exited with status -1").
expect_err "stopped at post_restore\[0\]: interrupted by SIGINT: component 'post_restore\[0\]': sh killed by signal [0-9]+ \(SIG[A-Z]+\)" \
	"the error does not say the hook was killed by a signal"
state "$WORK/state.hook-rolled-back"
diff "$WORK/state.B" "$WORK/state.hook-rolled-back" >&2 || fail "a signal during a hook left the snapshot's Secrets in place"

info "a second signal during the rollback: exit at once, the undo snapshot named"
# Both loads hold: the restore's, then the rollback's.
wrapper psql "$REAL_PSQL"
held_at_zync --metrics-file "$WORK/metrics.prom"
FIRST=$HELD
rm -f "$WORK/held"
kill -INT "$TPID"
held
[ "$HELD" != "$FIRST" ] || fail "test setup: the rollback's load is not a new psql"
grep -q "SIGINT received: rolling back" "$ERR" || fail "test setup: no rollback at the second hold point"
# Longer than the grace period after the first signal: a rollback runs
# as long as it needs.
sleep 35
kill -0 "$TPID" 2>/dev/null || { ended; fail "the rollback was ended by the grace period (exit $RC): $(cat "$ERR")"; }
kill -INT "$TPID"
ended
rm -f "$WORK/hold-psql"
[ "$RC" -eq 130 ] || fail "exit $RC after a second SIGINT, want 130"
gone "$HELD" "the rollback's held psql"
gone "$FIRST" "the restore's held psql"
[ -z "$(ls -A "$REPO/locks")" ] || fail "a repository lock is left after the second signal"
expect_err "interrupted by SIGINT, then by a second signal during the rollback from undo snapshot [0-9a-f]{10} \(tsarc restore [0-9a-f]{64} --only secrets,configmaps,apimanager,system-mysql,system-storage,zync-database puts back the state before the restore\)" \
	"the exit message says what the second signal cut short"
grep -Eq '^tsarc_exit_code\{.*command="restore".*\} 130$' "$WORK/metrics.prom" ||
	fail "the metrics do not say exit 130 after the second signal: $(grep tsarc_exit_code "$WORK/metrics.prom")"
UNDO=$(sed -n 's/.*during the rollback from undo snapshot [0-9a-f]\{10\} (tsarc restore \([0-9a-f]\{64\}\) --only.*/\1/p' "$ERR" | head -1)
t restore "$SNAP" --repo "$REPO" --config "$WORK/config.json" --dry-run --json
[ "$RC" -eq 0 ] || fail "the plan after the cut-short rollback failed (exit $RC)"
# The rollback is a restore of the undo snapshot, step by step in the
# plan's order: cut short in zync-database's load, it had put back every
# step before it, and the restore state says that one is left.
grep -q "not known to be applied: zync-database (snapshot ${UNDO:0:10})" "$OUT" ||
	fail "the next plan does not name zync-database of the undo snapshot $UNDO: $(cat "$OUT")"
info "the undo snapshot puts state B back"
ok restore "$UNDO" --repo "$REPO" --config "$WORK/config.json" \
	--only secrets,configmaps,apimanager,system-mysql,system-storage,zync-database
state "$WORK/state.undone"
diff "$WORK/state.B" "$WORK/state.undone" >&2 || fail "restoring the undo snapshot did not bring state B back"
no_leftovers "the second signal"

info "a signal during the rollback of a failed step: the rollback goes on"
# zync-database's load fails (the restore's own, the first psql past the
# look-ups), which starts the rollback; the rollback's own load of
# zync-database holds until released. A SIGINT then is the first signal the
# restore sees: before, it stopped the rollback like any restore (its load
# was killed) and left the snapshot's Secrets and system database in place.
rm -f "$WORK/psql-failed" "$WORK/release-psql"
wrapper psql "$REAL_PSQL" \
	"if [ ! -e '$WORK/psql-failed' ]; then touch '$WORK/psql-failed'; echo 'psql: failed by the test' >&2; exit 3; fi" \
	"while [ ! -e '$WORK/release-psql' ]; do sleep 0.1; done; exec '$REAL_PSQL' \"\$@\""
touch "$WORK/hold-psql"
bg --undo-snapshot
held
grep -q "rolling back secrets" "$ERR" || fail "test setup: the failed load did not start a rollback: $(cat "$ERR")"
kill -INT "$TPID"
for ((i = 0; i < 300; i++)); do
	grep -q "SIGINT received during the rollback" "$ERR" && break
	kill -0 "$TPID" 2>/dev/null || break
	sleep 0.1
done
expect_err "SIGINT received during the rollback from undo snapshot [0-9a-f]{10}: it goes on \(again to exit at once\)" \
	"the progress says the rollback goes on"
kill -0 "$HELD" 2>/dev/null || fail "the signal stopped the rollback's load"
touch "$WORK/release-psql"
ended
rm -f "$WORK/hold-psql" "$WORK/release-psql" "$WORK/psql-failed"
[ "$RC" -eq 130 ] || fail "exit $RC after SIGINT during a rollback, want 130: $(cat "$ERR")"
no_leftovers "SIGINT during the rollback of a failed step"
expect_err "stopped at zync-database: component 'zync-database': psql: exited with status 3" "the error names the failed step"
expect_err "rolled back: secrets,configmaps,apimanager,system-mysql,system-storage,zync-database restored from undo snapshot [0-9a-f]{10}; the deployment is as it was before the restore" \
	"the error says the deployment is as it was"
state "$WORK/state.rolled-back-failed"
diff "$WORK/state.B" "$WORK/state.rolled-back-failed" >&2 || fail "a signal during the rollback of a failed step left the deployment half-restored"
wrapper psql "$REAL_PSQL"

info "SIGINT into databases the target lacked: no undo snapshot, both dropped again"
# A migration onto new servers: system-mysql and zync-database each go into
# a database the target does not have. There is nothing to back up, and
# after the signal (zync-database's load held, system-mysql loaded) the
# rollback drops the database system-mysql's load created; zync-database's
# own step drops the one it created.
PG_SUPER=(env PGPASSWORD="$PG_PASSWORD" "$REAL_PSQL" -qAtX -v ON_ERROR_STOP=1 -h 127.0.0.1
	-p "$PG_PORT" -U postgres -d postgres)
"${PG_SUPER[@]}" -c "ALTER ROLE zync CREATEDB" || fail "test setup: cannot let zync create databases"
python3 - "$WORK/config.json" "$WORK/new-dbs.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["components"]["system-mysql"]["database"] = "system_int_new"
c["components"]["zync-database"]["database"] = "zync_int_new"
json.dump(c, open(sys.argv[2], "w"), indent=2)
PY
mysql_has() { mysql_q "$MYSQL_PORT" "$MYSQL_ROOT_PASSWORD" -e "SHOW DATABASES LIKE '$1'"; }
pg_has() { "${PG_SUPER[@]}" -c "SELECT datname FROM pg_database WHERE datname = '$1'"; }
state "$WORK/state.before-new"
# psql's first run past the look-ups creates zync_int_new: let through.
wrapper psql "$REAL_PSQL" "rm -f '$WORK/hold-psql'"
echo 1 > "$WORK/hold-psql"
CONFIG=$WORK/new-dbs.json bg --only system-mysql,zync-database --undo-snapshot
held
[ -n "$(mysql_has system_int_new)" ] && [ -n "$(pg_has zync_int_new)" ] ||
	fail "test setup: the databases were not created before the hold point"
kill -INT "$TPID"
ended
[ "$RC" -eq 130 ] || fail "exit $RC after SIGINT into new databases, want 130: $(cat "$ERR")"
gone "$HELD" "the held psql (new databases)"
no_leftovers "SIGINT into new databases"
expect_err "rolled back: database system_int_new of system-mysql dropped \(the target did not have it before the restore\); the deployment is as it was before the restore" \
	"the error says the new database was dropped"
[ -z "$(mysql_has system_int_new)" ] || fail "system_int_new outlived the rollback"
[ -z "$(pg_has zync_int_new)" ] || fail "zync_int_new outlived the interrupted load"
grep -q "undo snapshot [0-9a-f]" "$ERR" && fail "an undo snapshot was named with nothing to back up: $(cat "$ERR")"
state "$WORK/state.after-new"
diff "$WORK/state.before-new" "$WORK/state.after-new" >&2 || fail "the deployment changed (new databases)"
info "OK"
