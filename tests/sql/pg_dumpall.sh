#!/usr/bin/env bash
# A whole PostgreSQL server's dump (pg_dumpall, what a zync-database or
# system-postgresql component without a database backs up, as the manual
# procedure does in the pod) is not loaded by a restore: psql would run its
# DROP DATABASE of every database it holds first, then stop at DROP ROLE of
# the role it runs as (always in such a dump), and the databases would be
# gone. Proven against a real PostgreSQL, as its superuser (the pod's
# psql): the restore is refused before anything is written, the plan
# (--dry-run) refuses it too, the error says why and what to do, and the
# database and its rows are as they were.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

export TSARC_PASSWORD=pg-dumpall-test
svc_start pg postgres
pgq() { PGPASSWORD=$PG_PASSWORD psql -qAtX -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres "$@"; }
pgq -d postgres -c "CREATE ROLE zync LOGIN" || fail "cannot create the role"
pgq -d postgres -c "CREATE DATABASE zync_production OWNER zync" || fail "cannot create the database"
pgq -d zync_production -c "SET ROLE zync; CREATE TABLE tenants (id int PRIMARY KEY); INSERT INTO tenants VALUES (1), (2)" ||
	fail "cannot fill the database"

res=$WORK/res
# No database in the URL, none in the configuration (the profile's
# default_database emptied): the whole server, as the profile's in-pod
# zync-database was backed up before it had one.
secret_json "$res/secret/zync.json" zync \
	"DATABASE_URL=postgresql://postgres:$PG_PASSWORD@127.0.0.1:$PG_PORT"
only_config "$WORK/cfg.json" "$res" zync-database '{"external": true, "default_database": ""}'
REPO=$WORK/repo
init_repo "$REPO"
ok backup --repo "$REPO" --config "$WORK/cfg.json" --json
snap=$(json_get "$OUT" "d['snapshot_id']")
ok dump --repo "$REPO" "$snap" zync-database.sql
grep -q '^DROP DATABASE IF EXISTS zync_production;' "$OUT" ||
	fail "test setup: the stream is not a pg_dumpall --clean of the server"
grep -q '^DROP ROLE IF EXISTS postgres;' "$OUT" ||
	fail "test setup: the dump does not drop the role it is loaded as"
# What the restore knows it by: the tool's version the backup recorded.
ok show --repo "$REPO" "$snap" --json
json_get "$OUT" "[s['meta']['tool_version'] for s in d['streams']][0]" | grep -q '^pg_dumpall ' ||
	fail "the stream does not record pg_dumpall's version"

pgq -d zync_production -c "INSERT INTO tenants VALUES (3)" || fail "cannot change the database"
want=$(pgq -d zync_production -c "SELECT id FROM tenants ORDER BY id")

info "the plan refuses the whole server's dump"
t restore "$snap" --repo "$REPO" --config "$WORK/cfg.json" --dry-run
[ "$RC" != 0 ] || fail "the plan accepted a whole server's dump"
grep -q "whole server" "$ERR" || fail "the plan does not say why: $(cat "$ERR")"

info "the restore refuses it before anything is written"
t restore "$snap" --repo "$REPO" --config "$WORK/cfg.json"
[ "$RC" != 0 ] || fail "the restore loaded a whole server's dump"
grep -q "whole server" "$ERR" || fail "the restore does not say why: $(cat "$ERR")"
grep -q "nothing was written" "$ERR" || fail "the error does not say nothing was written: $(cat "$ERR")"
[ "$(pgq -d postgres -c "SELECT count(*) FROM pg_database WHERE datname = 'zync_production'")" = 1 ] ||
	fail "the restore dropped the database"
[ "$(pgq -d zync_production -c "SELECT id FROM tenants ORDER BY id")" = "$want" ] ||
	fail "the database changed"
info "OK"
