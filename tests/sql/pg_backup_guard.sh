#!/usr/bin/env bash
# A backup never publishes a PostgreSQL dump that tsarc's own restore will
# refuse. The restore feeds psql through a guard (psqlguard.h) that also
# refuses some legitimate pg_dump output: a string literal with a
# backslash right before its closing quote ('C:\' under
# standard_conforming_strings), which pg_dump writes with --inserts and in
# schema literals. Proven against a real PostgreSQL:
#   - a row ending in a backslash dumped with options ["--inserts"]: the
#     backup fails with the guard's reason (the byte, why) and a hint, and
#     writes no snapshot (before the guard ran at backup, the backup
#     succeeded and only the restore refused it);
#   - the same database dumped as COPY (the default) backs up and
#     restores exactly;
#   - a column DEFAULT ending in a backslash (a schema literal) fails the
#     backup of a COPY dump too, no snapshot written.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

export TSARC_PASSWORD=pg-backup-guard-test
svc_start pg postgres
pgq() { PGPASSWORD=$PG_PASSWORD psql -qAtX -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres "$@"; }
pgq -d postgres -c "CREATE DATABASE zync_production" || fail "cannot create the database"
pgq -d zync_production <<'SQL' || fail "cannot fill the database"
CREATE TABLE paths (id int PRIMARY KEY, p text);
INSERT INTO paths VALUES (1, E'C:\\'), (2, E'a\\b'), (3, 'it''s'), (4, NULL), (5, E'\\.');
SQL
[ "$(pgq -d zync_production -c "SELECT right(p, 1) FROM paths WHERE id = 1")" = '\' ] ||
	fail "test setup: the row does not end in a backslash"
rows() { pgq -d zync_production -c "SELECT id, coalesce(p, '<null>') FROM paths ORDER BY id"; }
want=$(rows)

res=$WORK/res
secret_json "$res/secret/zync.json" zync \
	"DATABASE_URL=postgresql://postgres:$PG_PASSWORD@127.0.0.1:$PG_PORT/zync_production"

# refused WHAT: the backup of $WORK/cfg.json into a fresh repository fails
# with the guard's reason and the hint HINT, and writes no snapshot. On a
# backup that succeeds, what the restore then said is in the failure.
refused() {
	local what=$1 hint=$2 snap
	REPO=$WORK/repo-$RANDOM
	init_repo "$REPO"
	info "$what"
	t backup --repo "$REPO" --config "$WORK/cfg.json" --json
	if [ "$RC" -eq 0 ]; then
		snap=$(json_get "$OUT" "d['snapshot_id']")
		t restore "$snap" --repo "$REPO" --config "$WORK/cfg.json"
		fail "$what: the backup succeeded (the restore of its snapshot then exited $RC: $(cat "$ERR"))"
	fi
	expect_err "backslash before a quote in a string at byte [0-9]" "$what: the error names the byte and why"
	expect_err "restore would refuse" "$what: the error says the restore would refuse it"
	expect_err "$hint" "$what: the error gives the hint"
	no_snapshot "$REPO" "$what"
}

only_config "$WORK/cfg.json" "$res" zync-database '{"external": true, "options": ["--inserts"]}'
refused "a row ending in a backslash dumped with --inserts fails the backup" "drop --inserts"

only_config "$WORK/cfg.json" "$res" zync-database '{"external": true}'
info "the same rows dumped as COPY back up and restore exactly"
REPO=$WORK/repo
init_repo "$REPO"
ok backup --repo "$REPO" --config "$WORK/cfg.json" --json
SNAP=$(json_get "$OUT" "d['snapshot_id']")
pgq -d zync_production -c "DROP TABLE paths" || fail "cannot empty the database"
ok restore "$SNAP" --repo "$REPO" --config "$WORK/cfg.json"
[ "$(rows)" = "$want" ] || fail "the restored rows differ: $(rows)"

pgq -d zync_production -c "ALTER TABLE paths ADD COLUMN dir text DEFAULT E'D:\\\\'" ||
	fail "cannot add the default"
[ "$(pgq -d zync_production -c "SELECT right(dir, 1) FROM paths WHERE id = 1")" = '\' ] ||
	fail "test setup: the default does not end in a backslash"
refused "a DEFAULT ending in a backslash fails the backup of a COPY dump" "DEFAULT"
info "ok"
