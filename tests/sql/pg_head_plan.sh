#!/usr/bin/env bash
# The head of a newer pg_dump's dump is read by the plan, not by the step
# alone. A dump restored into a server older than its pg_dump has its head
# fitted to the server on the way (psqlhead.h): a SET to 0 of a timeout
# setting the server lacks is left out, and any other setting the server
# lacks, or that tsarc does not know, is refused. Until the head was read
# by the step, the plan and --dry-run admitted such a dump, and a
# deployment restore had written the steps before it when the step
# refused. Proven against a real PostgreSQL 15 with a test double of a
# pg_dump newer than any tsarc knows (future_pg_dump below: the host's
# pg_dump 15, its version line and head those of a "pg_dump 19"):
#   - its head holding a setting tsarc does not know: --dry-run and the
#     run are refused by the plan, naming the setting, and nothing is
#     written (the database keeps its rows);
#   - its head holding only known ones (transaction_timeout): the plan
#     admits it, saying the setting is left out, and it restores.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

export TSARC_PASSWORD=pg-head-plan-test
svc_start pg postgres
pgq() { PGPASSWORD=$PG_PASSWORD psql -qAtX -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres "$@"; }
pgq -d postgres -c "CREATE DATABASE zync_production" || fail "cannot create the database"
pgq -d zync_production -c "CREATE TABLE tenants (id int PRIMARY KEY, name text);
	INSERT INTO tenants VALUES (1, 'one'), (2, 'two')" || fail "cannot fill the database"
rows() { pgq -d zync_production -c "SELECT string_agg(id || ':' || name, ',' ORDER BY id) FROM tenants"; }

res=$WORK/res
secret_json "$res/secret/zync.json" zync \
	"DATABASE_URL=postgresql://postgres:$PG_PASSWORD@127.0.0.1:$PG_PORT/zync_production"

# future_pg_dump EXTRA-HEAD-LINE: $WORK/future/pg_dump, a test double of a
# pg_dump 19 (none exists here): its version line says 19.0; its dump is
# the host's pg_dump's, with the head's timeout settings of a pg_dump 17
# and later (transaction_timeout) and EXTRA-HEAD-LINE (if any) after them.
future_pg_dump() {
	local real
	real=$(command -v pg_dump) || fail "test setup: no pg_dump"
	mkdir -p "$WORK/future"
	cat >"$WORK/future/pg_dump" <<WRAP
#!/bin/sh
[ "\$1" = --version ] && { echo "pg_dump (PostgreSQL) 19.0"; exit 0; }
"$real" "\$@" | sed '0,/^SET idle_in_transaction_session_timeout = 0;\$/s//&\nSET transaction_timeout = 0;$1/'
WRAP
	chmod +x "$WORK/future/pg_dump"
}

# backup_future WHAT EXTRA-HEAD-LINE: a backup by future_pg_dump; SNAP.
backup_future() {
	future_pg_dump "$2"
	only_config "$WORK/cfg.json" "$res" zync-database \
		"{\"external\": true, \"tool\": \"$WORK/future/pg_dump\"}"
	info "$1"
	ok backup --repo "$REPO" --config "$WORK/cfg.json" --json
	SNAP=$(json_get "$OUT" "d['snapshot_id']")
	ok dump --repo "$REPO" "$SNAP" zync-database.sql
	grep -qx 'SET transaction_timeout = 0;' "$OUT" || fail "$1: test setup: the head has no transaction_timeout"
}

REPO=$WORK/repo
init_repo "$REPO"
want=$(rows)

backup_future "a pg_dump 19's head with a setting tsarc does not know" \
	'\nSET future_pg_dump_setting = off;'
grep -qx 'SET future_pg_dump_setting = off;' "$OUT" || fail "test setup: the head has no new setting"
pgq -d zync_production -c "UPDATE tenants SET name = 'changed'" || fail "cannot change the rows"
changed=$(rows)
t restore "$SNAP" --repo "$REPO" --config "$WORK/cfg.json" --dry-run
[ "$RC" != 0 ] || fail "--dry-run admitted a dump whose head the step refuses: $(cat "$OUT")"
expect_err "future_pg_dump_setting" "the plan's refusal names the setting"
expect_err "nothing was written" "the plan's refusal says nothing was written"
t restore "$SNAP" --repo "$REPO" --config "$WORK/cfg.json"
[ "$RC" != 0 ] || fail "the restore of a dump whose head PostgreSQL 15 refuses went ahead"
expect_err "future_pg_dump_setting" "the restore's refusal names the setting"
expect_err "nothing was written" "the restore's refusal says nothing was written"
[ "$(rows)" = "$changed" ] || fail "the refused restore changed the rows: $(rows)"

pgq -d zync_production -c "UPDATE tenants SET name = CASE id WHEN 1 THEN 'one' ELSE 'two' END" ||
	fail "cannot put the rows back"
[ "$(rows)" = "$want" ] || fail "test setup: the rows are not as they were: $(rows)"
backup_future "a pg_dump 19's head with known settings only" ""
pgq -d zync_production -c "UPDATE tenants SET name = 'changed'" || fail "cannot change the rows"
ok restore "$SNAP" --repo "$REPO" --config "$WORK/cfg.json" --dry-run --json
json_get "$OUT" "[s['plan']['server'] for s in d['steps'] if s['component'] == 'zync-database'][0]" |
	grep -q "its head's SET transaction_timeout, which 15 does not know, is left out" ||
	fail "the plan does not say the head's transaction_timeout is left out: $OUT"
ok restore "$SNAP" --repo "$REPO" --config "$WORK/cfg.json"
[ "$(rows)" = "$want" ] || fail "the restored rows differ: $(rows)"
info "ok"
