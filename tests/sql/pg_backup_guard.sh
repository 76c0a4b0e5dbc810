#!/usr/bin/env bash
# A PostgreSQL database whose strings end in a backslash ('C:\' under
# standard_conforming_strings = on, which pg_dump writes at the top of its
# dump) backs up and restores, and the guard psql is fed through
# (psqlguard.h) still keeps a hostile dump from running a command. Proven
# against a real PostgreSQL:
#   - rows ending in a backslash and a column DEFAULT 'D:\', dumped with
#     options ["--inserts"], ["--column-inserts"] and as COPY (the
#     default): each backs up and restores the same rows and default
#     (before, the guard refused any backslash right before a quote: the
#     backup failed);
#   - a dump that turns standard_conforming_strings off where the guard
#     cannot see it (set_config) and then hides \! in a string that reads
#     differently when off: psql never runs it (the guard makes psql read
#     the statement as the dump's SET said);
#   - a dump that sets an encoding where a byte swallows the quote after it
#     (SJIS), and one that does so through set_config: psql never runs the
#     \! it would have found.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

export TSARC_PASSWORD=pg-backup-guard-test
svc_start pg postgres
pgq() { PGPASSWORD=$PG_PASSWORD psql -qAtX -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres "$@"; }
pgq -d postgres -c "CREATE DATABASE zync_production" || fail "cannot create the database"
pgq -d zync_production <<'SQL' || fail "cannot fill the database"
CREATE TABLE paths (id int PRIMARY KEY, p text, dir text DEFAULT E'D:\\');
INSERT INTO paths (id, p) VALUES (1, E'C:\\'), (2, E'a\\b'), (3, 'it''s'), (4, NULL),
  (5, E'\\.'), (6, E'\\'), (7, E'x\\\\'), (8, E'q\\'' \\! touch /nonexistent'), (9, 'Josà');
COMMENT ON COLUMN paths.p IS E'ends in \\';
SQL
[ "$(pgq -d zync_production -c "SELECT right(p, 1) || right(dir, 1) FROM paths WHERE id = 1")" = '\\' ] ||
	fail "test setup: the row and the default do not end in a backslash"
state() {
	pgq -d zync_production -c "SELECT id, coalesce(p, '<null>'), dir FROM paths ORDER BY id" &&
		pgq -d zync_production -c "SELECT pg_get_expr(adbin, adrelid) FROM pg_attrdef" &&
		pgq -d zync_production -c "SELECT col_description('paths'::regclass, 2)"
}
want=$(state)

res=$WORK/res
secret_json "$res/secret/zync.json" zync \
	"DATABASE_URL=postgresql://postgres:$PG_PASSWORD@127.0.0.1:$PG_PORT/zync_production"

# round_trip WHAT OPTIONS-JSON [COMPONENT-JSON]: backup (the component's
# "options", and what COMPONENT-JSON adds), then the database emptied,
# then restore: the same rows, default and comment.
round_trip() {
	local what=$1 opts=$2 snap
	only_config "$WORK/cfg.json" "$res" zync-database \
		"{\"external\": true, \"options\": $opts${3:+, $3}}"
	REPO=$WORK/repo-$RANDOM
	init_repo "$REPO"
	info "$what"
	ok backup --repo "$REPO" --config "$WORK/cfg.json" --json
	snap=$(json_get "$OUT" "d['snapshot_id']")
	ok dump --repo "$REPO" "$snap" zync-database.sql
	grep -q '^SET standard_conforming_strings = on;' "$OUT" || fail "$what: the dump sets no standard_conforming_strings"
	grep -qF "'D:\\'" "$OUT" || fail "$what: the dump has no 'D:\\'"
	pgq -d zync_production -c "DROP TABLE paths" || fail "cannot empty the database"
	ok restore "$snap" --repo "$REPO" --config "$WORK/cfg.json"
	[ "$(state)" = "$want" ] || fail "$what: the restored database differs: $(state)"
	LAST_REPO=$REPO
}
round_trip "rows and a DEFAULT ending in a backslash, dumped with --inserts" '["--inserts"]'
round_trip "the same, dumped with --column-inserts" '["--column-inserts"]'
round_trip "the same, dumped as COPY" '[]'
# The documented way to a pg_dump of another version ("tool":
# "/usr/lib/postgresql/17/bin/pg_dump"): a pg_dump named by its path dumps
# the database named too, not its user's default one.
mkdir -p "$WORK/pgbin"
ln -s "$(command -v pg_dump)" "$WORK/pgbin/pg_dump"
round_trip "the same, by a pg_dump named by its path (\"tool\")" '[]' "\"tool\": \"$WORK/pgbin/pg_dump\""
info "a pg_dump named by its path, and no database named: refused"
secret_json "$WORK/res-nodb/secret/zync.json" zync \
	"DATABASE_URL=postgresql://postgres:$PG_PASSWORD@127.0.0.1:$PG_PORT"
only_config "$WORK/nodb.json" "$WORK/res-nodb" zync-database \
	"{\"external\": true, \"default_database\": \"\", \"tool\": \"$WORK/pgbin/pg_dump\"}"
t backup --repo "$LAST_REPO" --config "$WORK/nodb.json"
[ "$RC" != 0 ] || fail "a pg_dump without a database to dump backed up"
expect_err "\"tool\" $WORK/pgbin/pg_dump dumps one database, and none is named" \
	"the refusal of a pg_dump without a database"

# hostile NAME: $WORK/h.sql as the snapshot's zync-database.sql, restored:
# whether it fails or not, psql ran no command.
hostile() {
	REPO=$LAST_REPO
	t backup --repo "$REPO" --stdin --name zync-database.sql --json <"$WORK/h.sql"
	[ "$RC" -eq 0 ] || fail "$1: backup --stdin exited with $RC"
	SNAP=$(json_get "$OUT" "d['snapshot_id']")
	rm -f "$WORK/pwned"
	info "$1"
	t restore "$SNAP" --repo "$REPO" --config "$WORK/cfg.json"
	[ ! -e "$WORK/pwned" ] || fail "$1: psql ran the stream's shell command (restore exit $RC)"
}
# With standard_conforming_strings off, 'a\'' is the string a' and the \!
# after it a command; with it on, the whole line is one string.
printf "SET standard_conforming_strings = on;\nSELECT pg_catalog.set_config('standard_conforming_strings', 'off', false);\nSELECT 'a\\\\'' \\\\! touch %s/pwned\n';\n" "$WORK" >"$WORK/h.sql"
grep -qF "SELECT 'a\\'' \\! touch" "$WORK/h.sql" || fail "test setup: the hostile line is not as meant"
hostile "standard_conforming_strings turned off by set_config"
[ "$RC" -eq 0 ] || fail "the set_config stream: the restore failed: $(cat "$ERR")"
# In SJIS, the byte 0x81 and the quote after it are one character (the
# command's line ends before the last quote: the shell runs it whole).
printf "SET client_encoding = 'SJIS';\nSELECT '\x81' , ' \\\\! touch %s/pwned\n';\n" "$WORK" >"$WORK/h.sql"
hostile "a quote hidden in an SJIS character"
[ "$RC" -ne 0 ] || fail "the SJIS stream: the restore succeeded"
expect_err "encoding" "the SJIS stream: the error names the encoding"
printf "SET client_encoding = 'UTF8';\nSELECT pg_catalog.set_config('client_encoding', 'SJIS', false);\nSELECT '\x81' , ' \\\\! touch %s/pwned\n';\n" "$WORK" >"$WORK/h.sql"
hostile "a quote hidden in an SJIS character, the encoding set by set_config"
info "ok"
