#!/usr/bin/env bash
# A restore ended by a signal, and the run after a crash. Each scenario
# stops tsarc at a known point: a wrapper in PATH (redis-server, mysql)
# that, while a hold file exists, writes its PID to $WORK/held and blocks
# until it is killed (hold.sh); nothing depends on timing. With an undo
# snapshot a signal is rolled back: interrupt_undo.sh.
#  - SIGTERM during the Redis swap (persistence off, server stopped, the
#    start command held): exit 143, redis.conf byte for byte the original,
#    no saved copy or incoming RDB left, no lock, the held child stopped,
#    the report says what was not applied.
#  - SIGKILL at the same point (a crash): the next run finds the saved
#    original, puts it back first and ends with persistence as configured.
#  - SIGINT during the MySQL load: exit 130, nothing left (the password's
#    option file exists in memory only); into a database the restore
#    created, that database is dropped again, also when a second signal
#    ends the restore at once (the cleanup registry drops it).
#  - SIGHUP, then SIGTERM while the held child ignores SIGTERM (the restore
#    cannot stop on its own): exit 129 at once, child killed, lock removed
#    by the exit cleanup.
#  - The same two into a PostgreSQL database the restore created (the
#    real psql held in the load, connected to it, its input held): SIGINT,
#    exit 130, and SIGHUP then SIGTERM, exit 129: the database is dropped
#    again, once the load's session has ended.
#  - SIGKILL of a whole restore (--undo-snapshot) during the MySQL load:
#    the next plan and the next run say the deployment is half-restored,
#    naming the steps not applied (not those applied) and the undo snapshot
#    that holds what it replaced; after a run that finished, nothing.
#  - SIGTERM during a backup (mysqldump held): exit 143, no snapshot, no
#    file left, no lock.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

backup_demo
# shellcheck source=tests/restore/hold.sh
. "$(dirname "$0")/hold.sh"
wrapper redis-server "$REAL_REDIS_SERVER"
wrapper mysql "$REAL_MYSQL"
CONF=$REDIS_SYSTEM_REDIS_DIR/redis.conf
# Persistence on in the configuration, so that "left off" shows.
sed -i 's/^save ""$/save 900 1/' "$CONF"
grep -qx 'save 900 1' "$CONF" || fail "test setup: cannot turn RDB saves on in $CONF"
cp "$CONF" "$WORK/redis.conf.orig"

# fresh_config COMPONENT DATABASE: $WORK/fresh-COMPONENT.json, the config
# with COMPONENT loading into DATABASE, one the server does not have.
fresh_config() {
	python3 - "$WORK/config.json" "$WORK/fresh-$1.json" "$1" "$2" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["components"].setdefault(sys.argv[3], {})["database"] = sys.argv[4]
json.dump(c, open(sys.argv[2], "w"), indent=2)
PY
}

# held_in_fresh CLIENT COMPONENT DATABASE-FN: a restore of COMPONENT into
# its fresh database, held in its load: the restore looks the database up
# (a query, let through), creates it (the first CLIENT run, let through),
# and the load holds; DATABASE-FN must then name the database. The hold
# is lifted for the runs after (the DROP).
held_in_fresh() {
	echo 1 > "$WORK/hold-$1"
	CONFIG=$WORK/fresh-$2.json bg --only "$2"
	held
	[ -n "$($3)" ] || fail "test setup: $2's database was not created before the load"
	rm -f "$WORK/hold-$1"
}

# dropped_after RC WHAT DATABASE-FN: after held_in_fresh and a signal,
# tsarc ended with exit RC, its held child is gone, nothing is left, and
# the database the restore created (DATABASE-FN) is gone too.
dropped_after() {
	[ "$RC" -eq "$1" ] || fail "exit $RC after the signal ($2), want $1"
	gone "$HELD" "the held client ($2)"
	no_leftovers "$2"
	[ -z "$($3)" ] || fail "the database the interrupted restore created was left behind ($2)"
}

# hup_then_term WHAT: SIGHUP, its word in the log while tsarc stops its
# child (which ignores SIGTERM, so tsarc cannot end), then SIGTERM; ended.
hup_then_term() {
	local i
	kill -HUP "$TPID"
	for ((i = 0; i < 600; i++)); do
		grep -q "SIGHUP received" "$ERR" && break
		sleep 0.1
	done
	grep -q "SIGHUP received" "$ERR" || fail "no word of the first signal ($1)"
	kill -0 "$TPID" 2>/dev/null || fail "tsarc ended on the first signal though its child ignores SIGTERM ($1)"
	kill -TERM "$TPID"
	ended
}

info "SIGTERM during the Redis swap: configuration back, lock released, exit 143"
touch "$WORK/hold-redis-server"
bg --only system-redis
held
grep -q '^# tsarc restore: save 900 1' "$CONF" || fail "test setup: persistence is not off at the hold point"
[ -s "$CONF.tsarc-orig" ] || fail "the original configuration was not saved before the edit"
cmp -s "$CONF.tsarc-orig" "$WORK/redis.conf.orig" || fail "the saved configuration is not the original"
kill -TERM "$TPID"
ended
rm -f "$WORK/hold-redis-server"
[ "$RC" -eq 143 ] || fail "exit $RC after SIGTERM, want 143"
cmp "$CONF" "$WORK/redis.conf.orig" >&2 || fail "redis.conf is not the original after SIGTERM"
[ -e "$CONF.tsarc-orig" ] && fail "the saved copy was left behind"
ls "$REDIS_SYSTEM_REDIS_DIR" | grep -q 'tsarc-incoming' && fail "the incoming RDB was left in the data folder"
gone "$HELD" "the held redis-server start"
no_leftovers "SIGTERM"
expect_err "interrupted by SIGTERM" "the message names the signal"
expect_err "stopped at system-redis" "the message names the step"
expect_err "persistence configuration put back" "the message says the configuration is back"
expect_err "not applied:" "the message says what was not applied"
# The swap stopped the server: start it again, as an operator would.
bash "$SERVICES" restart-redis "$DEP/services/r2" system-redis || fail "cannot start system-redis again"

info "SIGKILL at the same point, then a run that undoes the earlier swap first"
touch "$WORK/hold-redis-server"
bg --only system-redis
held
kill -KILL "$TPID"
ended
rm -f "$WORK/hold-redis-server"
kill -KILL "$HELD" 2>/dev/null
grep -q '^save ""$' "$CONF" || fail "test setup: the killed run did not leave persistence off"
# Redis comes back (a service manager, a pod restart) with persistence off.
bash "$SERVICES" restart-redis "$DEP/services/r2" system-redis || fail "cannot start system-redis again"
[ "$(redis-cli -p "$REDIS_SYSTEM_REDIS_PORT" CONFIG GET save | tail -1)" = "" ] ||
	fail "test setup: Redis did not come up with persistence off"
rm -f "$REPO"/locks/*  # the killed process's lock
t restore "$SNAP" --repo "$REPO" --config "$WORK/config.json" --only system-redis --json
[ "$RC" -eq 0 ] || fail "the run after the crash failed (exit $RC)"
expect_out "earlier interrupted restore had left persistence off" "the earlier swap is undone and said so"
cmp "$CONF" "$WORK/redis.conf.orig" >&2 || fail "redis.conf is not the original after the run that followed a crash"
[ -e "$CONF.tsarc-orig" ] && fail "the saved copy was left behind"
[ "$(redis-cli -p "$REDIS_SYSTEM_REDIS_PORT" CONFIG GET save | tail -1)" = "900 1" ] ||
	fail "Redis runs without its configured persistence after the restore"
no_leftovers "the run after the crash"

info "a saved copy that tsarc did not write is not trusted"
# Someone who can write redis.conf's folder (the redis group on Debian)
# plants CONFIG.tsarc-orig as a symlink: the next run must neither read
# through it nor act on it (it could hold any file's content).
cp "$CONF" "$WORK/planted-target"
ln -s "$WORK/planted-target" "$CONF.tsarc-orig"
t restore "$SNAP" --repo "$REPO" --config "$WORK/config.json" --only system-redis --json
[ "$RC" -ne 0 ] || fail "a planted saved copy (a symlink) was trusted"
expect_err "$CONF.tsarc-orig" "the message names the planted file"
[ -L "$CONF.tsarc-orig" ] || fail "the planted symlink was acted on"
cmp "$CONF" "$WORK/redis.conf.orig" >&2 || fail "redis.conf changed after a refused saved copy"
rm -f "$CONF.tsarc-orig"
no_leftovers "a refused saved copy"

info "SIGKILL during a whole restore: the next plan and run say the deployment is half-restored"
# A kill -9 reports nothing: what says the deployment is half-restored is
# the restore state kept in it (the tsarc-restore-state ConfigMap).
touch "$WORK/hold-mysql"
bg --undo-snapshot
held
kill -KILL "$TPID"
ended
rm -f "$WORK/hold-mysql"
kill -KILL "$HELD" 2>/dev/null
rm -f "$REPO"/locks/*  # the killed process's lock
# unfinished JSON: the warning about an unfinished restore in a report, or "".
unfinished() {
	python3 -c 'import json, sys
w = [x for x in json.load(open(sys.argv[1]))["warnings"] if "did not finish" in x]
print(w[0] if w else "")' "$1"
}
t restore "$SNAP" --repo "$REPO" --config "$WORK/config.json" --dry-run --json
[ "$RC" -eq 0 ] || fail "the plan after a killed restore failed (exit $RC)"
W=$(unfinished "$OUT")
[ -n "$W" ] || fail "the plan after a killed restore does not say the deployment is half-restored: $(cat "$OUT")"
for c in system-mysql system-storage zync-database backend-redis system-redis; do
	case $W in *" $c (snapshot ${SNAP:0:10})"*) ;; *) fail "the warning does not name $c as not applied: $W" ;; esac
done
for c in secrets configmaps; do
	case $W in *" $c (snapshot"*) fail "the warning names $c, which the killed run applied: $W" ;; esac
done
UNDO=$(printf '%s' "$W" | sed -n "s/.*what the restore of snapshot ${SNAP:0:10} replaced is in undo snapshot \([0-9a-f]\{64\}\), as it was before.*/\1/p")
[ -n "$UNDO" ] || fail "the warning does not name the killed run's undo snapshot: $W"
ok show "$UNDO" --repo "$REPO" --json
[ "$(json_get "$OUT" "d['meta']['undo_of']")" = "$SNAP" ] || fail "$UNDO is no undo snapshot of $SNAP"
t restore "$SNAP" --repo "$REPO" --config "$WORK/config.json" --json
[ "$RC" -eq 0 ] || fail "the run after a killed restore failed (exit $RC)"
[ -n "$(unfinished "$OUT")" ] || fail "the run after a killed restore does not say what it found"
t restore "$SNAP" --repo "$REPO" --config "$WORK/config.json" --dry-run --json
[ "$RC" -eq 0 ] && [ -z "$(unfinished "$OUT")" ] ||
	fail "a restore that finished is still reported unfinished: $(cat "$OUT")"
no_leftovers "the run after a killed whole restore"

info "SIGINT during the MySQL load: option file removed, exit 130"
touch "$WORK/hold-mysql"
bg --only system-mysql
held
# The password's option file exists in memory only: the held mysql was
# given /dev/fd/N, and nothing of it is in TMPDIR for a signal to leave
# (its private plugin folder there holds links only, dbconn.c).
grep -q '^--defaults-file=/dev/fd/' "$WORK/held-args" ||
	fail "test setup: the held mysql has no in-memory option file"
[ -z "$(find "$TMPDIR" -mindepth 1 ! -type d ! -type l)" ] ||
	fail "files in TMPDIR while mysql runs: $(ls -R "$TMPDIR")"
kill -INT "$TPID"
ended
rm -f "$WORK/hold-mysql"
[ "$RC" -eq 130 ] || fail "exit $RC after SIGINT, want 130"
gone "$HELD" "the held mysql"
no_leftovers "SIGINT"
expect_err "interrupted by SIGINT" "the message names the signal"
expect_err "stopped at system-mysql" "the message names the step"

info "SIGINT during the MySQL load into a database the restore created: dropped again"
# The database the restore loads into is one the server does not have: the
# restore looks it up and creates it (the first mysql run let through), and
# the load is held. After the signal the load has put part of the dump in
# it, and the target had none: it is dropped.
fresh_config system-mysql system_int_fresh
fresh_db() { mysql_q "$MYSQL_PORT" "$MYSQL_ROOT_PASSWORD" -e "SHOW DATABASES LIKE 'system_int_fresh'"; }
held_in_fresh mysql system-mysql fresh_db
kill -INT "$TPID"
ended
dropped_after 130 "SIGINT into a fresh MySQL database" fresh_db
expect_err "database system_int_fresh, created by this restore, was dropped again" \
	"the error says the created database was dropped (SIGINT)"

info "SIGHUP, then SIGTERM while the child ignores SIGTERM: exit 129 at once, cleaned up"
touch "$WORK/hold-mysql"
wrapper mysql "$REAL_MYSQL" "trap '' TERM HUP INT"
bg --only system-mysql
held
hup_then_term "mysql"
rm -f "$WORK/hold-mysql"
[ "$RC" -eq 129 ] || fail "exit $RC after SIGHUP and SIGTERM, want 129"
gone "$HELD" "the mysql that ignores SIGTERM"
no_leftovers "the second signal"
expect_err "repository lock released" "the exit cleanup released the lock"

info "the same into a database the restore created: the exit cleanup drops it"
# The second signal ends the restore at once, the load never returning:
# the cleanup registry drops the database.
held_in_fresh mysql system-mysql fresh_db
hup_then_term "fresh MySQL database"
dropped_after 129 "SIGHUP and SIGTERM into a fresh MySQL database" fresh_db

info "SIGINT during the PostgreSQL load into a database the restore created: dropped again"
# As above: zync_int_fresh is not on the server; the restore looks it up
# (psql -c), creates it (the first psql run let through) and the load is
# held, connected. The load runs in one transaction: after the signal
# nothing of it is there, and the database the restore created is
# dropped again.
pg_q() {
	PGPASSWORD=$PG_PASSWORD "$REAL_PSQL" -qAtX -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" \
		-U postgres -d postgres "$@"
}
# zync's role may create databases (as a managed service's admin may).
pg_q -c "ALTER ROLE zync CREATEDB" || fail "test setup: cannot let zync create databases"
fresh_config zync-database zync_int_fresh
pg_fresh_db() { pg_q -c "SELECT datname FROM pg_database WHERE datname = 'zync_int_fresh'"; }
# The held load is the real psql, connected to the database (in its load,
# its input held): the DROP after the signal must wait for its session.
# connected: waits for that session; HELD_PSQL: that hold. The input tsarc
# sends is read to its end meanwhile (cat, holding the pipe open): else
# tsarc's write would fail (EPIPE) once psql's input is the FIFO, and
# whether it had written the whole dump before then is timing, which
# decided how the load ended (its consumer aborted, or held until the
# second signal).
HELD_PSQL="rm -f '$WORK/held-in'; mkfifo '$WORK/held-in'; sleep 100000 >'$WORK/held-in' &
	exec 3<&0; cat <&3 >/dev/null & exec '$REAL_PSQL' \"\$@\" <'$WORK/held-in' 3<&-"
connected() {
	local i
	for ((i = 0; i < 600; i++)); do
		[ "$(pg_q -c "SELECT count(*) FROM pg_stat_activity WHERE datname = 'zync_int_fresh'")" = 1 ] &&
			return 0
		sleep 0.1
	done
	fail "test setup: the held psql did not connect to zync_int_fresh"
}
wrapper psql "$REAL_PSQL" "" "$HELD_PSQL"
held_in_fresh psql zync-database pg_fresh_db
connected
kill -INT "$TPID"
ended
dropped_after 130 "SIGINT into a fresh PostgreSQL database" pg_fresh_db
expect_err "interrupted by SIGINT" "the message names the signal (PostgreSQL)"
expect_err "nothing of it was applied; database zync_int_fresh, created by this restore, was dropped again" \
	"the error says the created PostgreSQL database was dropped (SIGINT)"

info "SIGHUP, then SIGTERM while psql ignores SIGTERM, into a database the restore created: dropped"
# The second signal ends the restore at once: the exit cleanup drops it.
wrapper psql "$REAL_PSQL" "trap '' TERM HUP INT" "$HELD_PSQL"
held_in_fresh psql zync-database pg_fresh_db
connected
hup_then_term "fresh PostgreSQL database"
dropped_after 129 "SIGHUP and SIGTERM into a fresh PostgreSQL database" pg_fresh_db
expect_err "database zync_int_fresh, created by this restore: cleaned up" \
	"the exit cleanup says it dropped the PostgreSQL database"

info "SIGTERM during a backup (mysqldump held): exit 143, no snapshot, no file left, no lock"
n0=$("$TSARC" snapshots --repo "$REPO" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
# Held at the dump itself, not at the version probe before it.
wrapper mysqldump "$REAL_MYSQLDUMP" 'case "$1" in --version) exec '"$REAL_MYSQLDUMP"' "$@";; esac'
touch "$WORK/hold-mysqldump"
rm -f "$WORK/held"
"$TSARC" backup --repo "$REPO" --config "$WORK/config.json" >"$OUT" 2>"$ERR" &
TPID=$!
held
grep -q '^--defaults-file=/dev/fd/' "$WORK/held-args" ||
	fail "test setup: the held mysqldump has no in-memory option file"
kill -TERM "$TPID"
ended
rm -f "$WORK/hold-mysqldump"
[ "$RC" -eq 143 ] || fail "backup: exit $RC after SIGTERM, want 143"
gone "$HELD" "the held mysqldump"
no_leftovers "backup"
n1=$("$TSARC" snapshots --repo "$REPO" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
[ "$n1" = "$n0" ] || fail "an interrupted backup wrote a snapshot"
info "OK"
