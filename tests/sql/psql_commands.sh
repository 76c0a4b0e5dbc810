#!/usr/bin/env bash
# psql runs the backslash commands of its input (\! a shell, \o |cmd, ...):
# a restore's SQL dump comes from the snapshot, so a forged one must not
# make psql run a command on the restoring host (it could read tsarc's own
# environment: the repository password, the store's keys). Proven against
# a real PostgreSQL through tsarc restore:
#   - a stream with \! (alone, after a COPY ... TO, appended to a real
#     pg_dump) fails the restore, and the command never ran;
#   - a real pg_dump whose data holds backslashes, NULLs, quotes, a line
#     that reads \. and a plpgsql body mentioning \! restores exactly.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

export TSARC_PASSWORD=psql-commands-test
svc_start pg postgres
pgq() { PGPASSWORD=$PG_PASSWORD psql -qAtX -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres "$@"; }
pgq -d postgres -c "CREATE DATABASE zync_production" || fail "cannot create the database"
pgq -d zync_production <<'SQL' || fail "cannot fill the database"
CREATE TABLE entries (id int PRIMARY KEY, body text, j jsonb);
INSERT INTO entries VALUES
  (1, E'a\\b\tc\nd', '{"k": "v\"q"}'),
  (2, NULL, NULL),
  (3, E'\\.', '{}'),
  (4, 'it''s \! not a command', '[]');
CREATE FUNCTION shout(t text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN RETURN upper(t) || ' \! ' || E'\\'; END $$;
CREATE FUNCTION two() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN true THEN 2 END; END;
SQL
rows() { pgq -d zync_production -c "SELECT id, body, j, shout('x'), two() FROM entries ORDER BY id"; }
want=$(rows)

res=$WORK/res
secret_json "$res/secret/zync.json" zync \
	"DATABASE_URL=postgresql://postgres:$PG_PASSWORD@127.0.0.1:$PG_PORT/zync_production"
only_config "$WORK/cfg.json" "$res" zync-database '{"external": true}'
REPO=$WORK/repo
init_repo "$REPO"

info "a real pg_dump restores whole"
ok backup --repo "$REPO" --config "$WORK/cfg.json" --json
SNAP=$(json_get "$OUT" "d['snapshot_id']")
ok dump --repo "$REPO" "$SNAP" zync-database.sql
cp "$OUT" "$WORK/real.sql"
grep -q '^COPY public.entries' "$WORK/real.sql" || fail "test setup: the dump has no COPY"
pgq -d zync_production -c "DROP TABLE entries; DROP FUNCTION shout(text); DROP FUNCTION two()" ||
	fail "cannot empty the database"
ok restore "$SNAP" --repo "$REPO" --config "$WORK/cfg.json"
[ "$(rows)" = "$want" ] || fail "the restored rows differ: $(rows)"

# hostile NAME FILE: FILE as the snapshot's zync-database.sql: the restore
# fails, names the backslash command, and psql ran nothing.
hostile() {
	t backup --repo "$REPO" --stdin --name zync-database.sql --json <"$2"
	[ "$RC" -eq 0 ] || fail "$1: backup --stdin exited with $RC"
	SNAP=$(json_get "$OUT" "d['snapshot_id']")
	rm -f "$WORK/pwned"
	t restore "$SNAP" --repo "$REPO" --config "$WORK/cfg.json"
	[ ! -e "$WORK/pwned" ] || fail "$1: psql ran the stream's shell command (restore exit $RC)"
	[ "$RC" -ne 0 ] || fail "$1: the restore succeeded"
	expect_err "backslash command" "$1: the error names the backslash command"
}

printf 'SELECT 1;\n\\! touch %s/pwned\n' "$WORK" >"$WORK/h1.sql"
hostile "a shell escape" "$WORK/h1.sql"
printf 'COPY (SELECT 1) TO stdout;\n\\! touch %s/pwned\n\\.\n' "$WORK" >"$WORK/h2.sql"
hostile "a shell escape after a COPY that reads no data" "$WORK/h2.sql"
{ cat "$WORK/real.sql"; printf '\\o |touch %s/pwned\nSELECT 1;\n' "$WORK"; } >"$WORK/h3.sql"
hostile "a pipe appended to a real dump" "$WORK/h3.sql"
[ "$(rows)" = "$want" ] || fail "the rows changed: $(rows)"

info "a \\connect in a load into one database: refused, nothing of the load applied anywhere"
# psql -1 would leave the load's transaction and database with it, and run
# the rest in another session: committed, in another database.
{ cat "$WORK/real.sql"; printf '\\connect postgres\nCREATE TABLE escaped (x int);\n'; } >"$WORK/h4.sql"
pgq -d zync_production -c "DELETE FROM entries WHERE id = 4" || fail "cannot change the database"
changed=$(rows)
t backup --repo "$REPO" --stdin --name zync-database.sql --json <"$WORK/h4.sql"
[ "$RC" -eq 0 ] || fail "backup --stdin exited with $RC"
SNAP=$(json_get "$OUT" "d['snapshot_id']")
t restore "$SNAP" --repo "$REPO" --config "$WORK/cfg.json"
[ "$(pgq -d postgres -c "SELECT count(*) FROM pg_tables WHERE tablename = 'escaped'")" = 0 ] ||
	fail "what followed the \\connect ran in database postgres (restore exit $RC)"
[ "$RC" -ne 0 ] || fail "a load with a \\connect succeeded"
expect_err 'connect at byte [0-9]*, in a load into one database' "the error names the \\connect"
[ "$(rows)" = "$changed" ] || fail "part of the load was applied: $(rows)"
info "ok"
