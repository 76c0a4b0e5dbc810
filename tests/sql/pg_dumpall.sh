#!/usr/bin/env bash
# A whole PostgreSQL server's dump (pg_dumpall, what a zync-database or
# system-postgresql component without a database backed up before the
# profile named its database, as the manual procedure does in the pod) is
# never loaded whole: psql would run its DROP DATABASE of every database
# first, then stop at DROP ROLE of the role it runs as (always in such a
# dump), and the databases would be gone. A restore loads the part of the
# target's database instead, in one transaction, as a pg_dump of it.
# Proven against a real PostgreSQL, as its superuser (the pod's psql):
# - a target that names no database: the plan and the restore refuse, and
#   nothing changes;
# - a target that names zync_production: the plan says what it loads; the
#   restore gives that database its rows and tables as they were (clean:
#   a table created since goes), the other database and the roles as they
#   are now (nothing of the cluster part runs);
# - a target whose database the dump does not hold: refused, naming the
#   databases it holds, and the target's tables as they were (its clean
#   ran in the load's transaction, which never committed).
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

export TSARC_PASSWORD=pg-dumpall-test
svc_start pg postgres
pgq() { PGPASSWORD=$PG_PASSWORD psql -qAtX -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres "$@"; }
pgq -d postgres -c "CREATE ROLE zync LOGIN" || fail "cannot create the role"
pgq -d postgres -c "CREATE DATABASE zync_production OWNER zync" || fail "cannot create the database"
pgq -d zync_production -c "SET ROLE zync; CREATE TABLE tenants (id int PRIMARY KEY, note text);
	INSERT INTO tenants VALUES (1, 'one'), (2, '-- PostgreSQL database dump complete')" ||
	fail "cannot fill the database"
# A database setting: pg_dump reconnects to the database within its part.
pgq -d postgres -c "ALTER DATABASE zync_production SET work_mem = '8MB'" ||
	fail "cannot set the database's setting"
pgq -d postgres -c "CREATE DATABASE other" || fail "cannot create the other database"
pgq -d other -c "CREATE TABLE o (x int); INSERT INTO o VALUES (7)" || fail "cannot fill the other database"

res=$WORK/res
# No database in the URL, none in the configuration (the profile's
# default_database emptied): the whole server, as the profile's in-pod
# zync-database was backed up before it had one.
secret_json "$res/secret/zync.json" zync \
	"DATABASE_URL=postgresql://postgres:$PG_PASSWORD@127.0.0.1:$PG_PORT"
only_config "$WORK/old.json" "$res" zync-database '{"external": true, "default_database": ""}'
# Today's profile: its default_database, zync_production.
only_config "$WORK/cfg.json" "$res" zync-database '{"external": true}'
REPO=$WORK/repo
init_repo "$REPO"
ok backup --repo "$REPO" --config "$WORK/old.json" --json
snap=$(json_get "$OUT" "d['snapshot_id']")
ok dump --repo "$REPO" "$snap" zync-database.sql
grep -q '^DROP DATABASE IF EXISTS zync_production;' "$OUT" ||
	fail "test setup: the stream is not a pg_dumpall --clean of the server"
grep -q '^DROP ROLE IF EXISTS postgres;' "$OUT" ||
	fail "test setup: the dump does not drop the role it is loaded as"
[ "$(grep -c '^\\connect zync_production$' "$OUT")" -ge 2 ] ||
	fail "test setup: pg_dump does not reconnect within the database's part"
# What the restore knows it by: the tool's version the backup recorded.
ok show --repo "$REPO" "$snap" --json
json_get "$OUT" "[s['meta']['tool_version'] for s in d['streams']][0]" | grep -q '^pg_dumpall ' ||
	fail "the stream does not record pg_dumpall's version"

# Since the backup: a row, a table, the other database's row, a role.
pgq -d zync_production -c "SET ROLE zync; INSERT INTO tenants VALUES (3, 'three');
	CREATE TABLE added_later (y int)" || fail "cannot change the database"
pgq -d other -c "INSERT INTO o VALUES (8)" || fail "cannot change the other database"
pgq -d postgres -c "CREATE ROLE later_role" || fail "cannot create a role"
tenants() { pgq -d zync_production -c "SELECT id || ':' || note FROM tenants ORDER BY id"; }
changed=$(tenants)

info "a target that names no database: the plan and the restore refuse"
t restore "$snap" --repo "$REPO" --config "$WORK/old.json" --dry-run
[ "$RC" != 0 ] || fail "the plan accepted a whole server's dump with no database to load"
grep -q "whole server" "$ERR" || fail "the plan does not say why: $(cat "$ERR")"
t restore "$snap" --repo "$REPO" --config "$WORK/old.json"
[ "$RC" != 0 ] || fail "the restore loaded a whole server's dump with no database named"
grep -q "names none" "$ERR" || fail "the restore does not say why: $(cat "$ERR")"
grep -q "nothing was written" "$ERR" || fail "the error does not say nothing was written: $(cat "$ERR")"
[ "$(tenants)" = "$changed" ] || fail "the database changed"

info "the plan of the part of zync_production"
ok restore "$snap" --repo "$REPO" --config "$WORK/cfg.json" --dry-run --json
json_get "$OUT" "[s['plan']['loads'] for s in d['steps'] if 'loads' in s['plan']][0]" |
	grep -q "part of database zync_production" || fail "the plan does not say what it loads: $OUT"

info "the restore loads zync_production's part and nothing else"
ok restore "$snap" --repo "$REPO" --config "$WORK/cfg.json"
[ "$(tenants)" = "1:one
2:-- PostgreSQL database dump complete" ] || fail "zync_production is not as it was: $(tenants)"
[ "$(pgq -d zync_production -c "SELECT count(*) FROM pg_tables WHERE tablename = 'added_later'")" = 0 ] ||
	fail "a table created since the backup is left (the load is clean)"
[ "$(pgq -d zync_production -c "SELECT tableowner FROM pg_tables WHERE tablename = 'tenants'")" = zync ] ||
	fail "the table's owner is not the dump's"
[ "$(pgq -d other -c "SELECT x FROM o ORDER BY x" | tr '\n' ' ')" = "7 8 " ] ||
	fail "the other database was touched"
[ "$(pgq -d postgres -c "SELECT count(*) FROM pg_roles WHERE rolname = 'later_role'")" = 1 ] ||
	fail "the cluster part ran: a role created since the backup is gone"

info "a target database the dump does not hold: refused, the target as it was"
pgq -d postgres -c "CREATE DATABASE system" || fail "cannot create the database"
pgq -d system -c "CREATE TABLE s (z int); INSERT INTO s VALUES (5)" || fail "cannot fill the database"
only_config "$WORK/sys.json" "$res" zync-database '{"external": true, "default_database": "system"}'
t restore "$snap" --repo "$REPO" --config "$WORK/sys.json"
[ "$RC" != 0 ] || fail "the restore loaded a part the dump does not hold"
grep -q "holds no database system (it holds template1, other, postgres, zync_production)" "$ERR" ||
	fail "the error does not name what the dump holds: $(cat "$ERR")"
[ "$(pgq -d system -c "SELECT z FROM s")" = 5 ] || fail "the target's table was dropped"
info "OK"
