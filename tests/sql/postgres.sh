#!/usr/bin/env bash
# A managed PostgreSQL: TCP over TLS only (hostssl, a client certificate of
# a private CA), an admin that is no superuser, named with the TLS material
# in the zync Secret (DATABASE_URL, DATABASE_SSL_MODE, DB_SSL_CA / _CERT /
# _KEY as PEM contents). Proven:
#   - backup and restore connect as the Secret's user with sslmode
#     verify-full, the CA, certificate and key in private files removed
#     after the run (none left in TMPDIR, none on a command line);
#   - the database's encoding and locale (LATIN1, C) are recorded at backup
#     and used when the restore must create the database in a fresh server;
#   - a clean restore (the profile's "clean" for zync-database) leaves the
#     dump's objects only: a table, view, materialized view, sequence,
#     partitioned or foreign table the target alone had (odd names, other
#     schemas, one that depends on a table of the dump) is dropped by the
#     database's owner, who is no superuser; an extension's view stays; with
#     "clean": false, what the dump does not hold stays;
#   - a load that fails part-way changes nothing: an existing database is
#     as it was (the objects a clean load drops first included), and one the
#     restore created is dropped again; when a session of another client
#     holds that one, the DROP is refused (not forced) and the error says
#     the database is left behind, and why.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

export TSARC_PASSWORD=sql-test
start_pair start-postgres-tls PG_PORT
for d in "$S" "$T"; do
	sock_psql "$d" -d postgres -c "CREATE ROLE zadmin LOGIN CREATEDB PASSWORD '$ADMIN_PW'" ||
		fail "cannot create the admin role"
done
sock_psql "$S" -d postgres -c "CREATE DATABASE zync_production OWNER zadmin ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0" ||
	fail "cannot create the source database"
PGPASSWORD=$ADMIN_PW psql -qAtX -v ON_ERROR_STOP=1 \
	"host=127.0.0.1 port=$S_PORT user=zadmin dbname=zync_production sslmode=verify-full sslrootcert=$S/tls/ca.pem sslcert=$S/tls/client.pem sslkey=$S/tls/client.key" <<'SQL' || fail "cannot fill the source"
CREATE TABLE tenants (id int PRIMARY KEY, name text);
INSERT INTO tenants VALUES (1, 'caf' || chr(233)), (2, 'two');
SQL
# Plain TCP is refused: the server is TLS-only, as managed ones are set up.
! PGPASSWORD=$ADMIN_PW psql -qAtX "host=127.0.0.1 port=$S_PORT user=zadmin dbname=postgres sslmode=disable" \
	-c 'SELECT 1' >/dev/null 2>&1 || fail "test setup: the server takes plain TCP"

res_s=$WORK/res-src
res_t=$WORK/res-dst
secret_json "$res_s/secret/zync.json" zync \
	"DATABASE_URL=postgresql://zadmin:$ADMIN_PW@127.0.0.1:$S_PORT/zync_production" \
	DATABASE_SSL_MODE=verify-full "DB_SSL_CA=@$S/tls/ca.pem" "DB_SSL_CERT=@$S/tls/client.pem" \
	"DB_SSL_KEY=@$S/tls/client.key"
secret_json "$res_t/secret/zync.json" zync \
	"DATABASE_URL=postgresql://zadmin:$ADMIN_PW@127.0.0.1:$T_PORT/zync_production" \
	DATABASE_SSL_MODE=verify-full "DB_SSL_CA=@$T/tls/ca.pem" "DB_SSL_CERT=@$T/tls/client.pem" \
	"DB_SSL_KEY=@$T/tls/client.key"
only_config "$WORK/src.json" "$res_s" zync-database '{"external": true}'
only_config "$WORK/dst.json" "$res_t" zync-database '{"external": true}'
tls_backup "backup as the Secret's user over verified TLS with a client certificate"
grep -q '"LATIN1"' "$OUT" || fail "the manifest does not record the encoding LATIN1"

info "a wrong password in the target's Secret: refused by the plan"
# The server refuses the login: the step would fail at its first
# question, after the steps before it in a deployment restore had written.
secret_json "$WORK/res-badpw/secret/zync.json" zync \
	"DATABASE_URL=postgresql://zadmin:not-$ADMIN_PW@127.0.0.1:$T_PORT/zync_production" \
	DATABASE_SSL_MODE=verify-full "DB_SSL_CA=@$T/tls/ca.pem" "DB_SSL_CERT=@$T/tls/client.pem" \
	"DB_SSL_KEY=@$T/tls/client.key"
only_config "$WORK/badpw.json" "$WORK/res-badpw" zync-database '{"external": true}'
TMPDIR=$TLS_TMP t restore "$SNAP" --repo "$REPO" --config "$WORK/badpw.json" --dry-run
[ "$RC" -ne 0 ] || fail "the plan admitted a restore whose login the server refuses: $(cat "$ERR")"
expect_err "password authentication failed" "the plan's refusal quotes the server"
expect_err "login to the target was refused" "the plan says what it found"

info "the plan says the database is created with its encoding and locale"
ok restore "$SNAP" --repo "$REPO" --config "$WORK/dst.json" --dry-run
expect_err "LATIN1" "the plan names the encoding"

info "restore into the fresh target: the database is created as it was"
TMPDIR=$TLS_TMP ok restore "$SNAP" --repo "$REPO" --config "$WORK/dst.json" --json
[ -z "$(ls -A "$TLS_TMP")" ] || fail "TLS files left behind after the restore"
got=$(sock_psql "$T" -d postgres -c "SELECT pg_encoding_to_char(encoding) || ' ' || datcollate || ' ' || datctype FROM pg_database WHERE datname = 'zync_production'")
[ "$got" = "LATIN1 C C" ] || fail "the restored database is '$got', not 'LATIN1 C C'"
src=$(sock_psql "$S" -d zync_production -c "SELECT * FROM tenants ORDER BY id")
dst=$(sock_psql "$T" -d zync_production -c "SELECT * FROM tenants ORDER BY id")
[ "$src" = "$dst" ] || fail "the rows differ"

info "an in-place restore into the existing database"
TMPDIR=$TLS_TMP ok restore "$SNAP" --repo "$REPO" --config "$WORK/dst.json"
[ "$(sock_psql "$T" -d zync_production -c 'SELECT COUNT(*) FROM tenants')" = 2 ] || fail "rows after the second restore"

# admin_psql DIR PORT: psql as zadmin (no superuser) over verified TLS.
admin_psql() {
	tls_psql "$1" "$2" zadmin zync_production
}
# relations DIR: every table, view, materialized view, sequence and foreign
# table of zync_production outside the system schemas, "schema.name kind".
relations() {
	sock_psql "$1" -d zync_production -c "SELECT format('%I.%I', n.nspname, c.relname) || ' ' || c.relkind::text
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND n.nspname <> 'information_schema'
		AND n.nspname NOT LIKE 'pg\_%'" | LC_ALL=C sort
}

info "with \"clean\": false, what the dump does not hold stays"
only_config "$WORK/dst-keep.json" "$res_t" zync-database '{"external": true, "restore": {"clean": false}}'
admin_psql "$T" "$T_PORT" <<<"CREATE TABLE zz_target_only (id int); INSERT INTO zz_target_only VALUES (7);" ||
	fail "cannot add the target's table"
TMPDIR=$TLS_TMP ok restore "$SNAP" --repo "$REPO" --config "$WORK/dst-keep.json"
[ "$(relations "$T")" = "$( (relations "$S"; echo "public.zz_target_only r") | LC_ALL=C sort)" ] ||
	fail "with clean false, the target's own table did not stay: $(relations "$T" | tr '\n' ' ')"

info "clean (the profile's): only the dump's objects stay, but an extension's"
# What a failed zync upgrade leaves next to an older schema_migrations,
# and more kinds of objects than it would, under names that need quoting:
# the load drops them all first, in its transaction, as zadmin (the
# database's owner, no superuser). The extension's view (pg_buffercache,
# made by the superuser) is the extension's to keep.
sock_psql "$T" -d zync_production -c "CREATE EXTENSION pg_buffercache" \
	-c "CREATE EXTENSION file_fdw" -c "CREATE SERVER files FOREIGN DATA WRAPPER file_fdw" \
	-c "CREATE FOREIGN TABLE public.\"zz foreign\" (a int) SERVER files OPTIONS (filename '/dev/null')" \
	-c "ALTER FOREIGN TABLE public.\"zz foreign\" OWNER TO zadmin" ||
	fail "cannot add the extensions and the foreign table"
admin_psql "$T" "$T_PORT" <<'SQL' || fail "cannot add the target's own objects"
CREATE SCHEMA "Up""grade";
CREATE TABLE "Up""grade"."left over" (id serial PRIMARY KEY, n int GENERATED ALWAYS AS IDENTITY);
CREATE VIEW "Up""grade".v AS SELECT id FROM "Up""grade"."left over";
CREATE MATERIALIZED VIEW mv AS SELECT count(*) FROM "Up""grade"."left over";
CREATE SEQUENCE zz_seq;
CREATE TABLE zz_parts (k int) PARTITION BY RANGE (k);
CREATE TABLE zz_part1 PARTITION OF zz_parts FOR VALUES FROM (0) TO (10);
SQL
TMPDIR=$TLS_TMP ok restore "$SNAP" --repo "$REPO" --config "$WORK/dst.json"
[ "$(relations "$T")" = "$( (relations "$S"; echo "public.pg_buffercache v") | LC_ALL=C sort)" ] ||
	fail "the clean restore left other objects than the dump's and the extension's: $(relations "$T" | tr '\n' ' ')"
src=$(sock_psql "$S" -d zync_production -c "SELECT * FROM tenants ORDER BY id")
[ "$(sock_psql "$T" -d zync_production -c "SELECT * FROM tenants ORDER BY id")" = "$src" ] ||
	fail "the rows differ after the clean restore"
ok restore "$SNAP" --repo "$REPO" --config "$WORK/dst.json" --dry-run --json
[ "$(json_get "$OUT" "[s['plan']['replaces'] for s in d['steps'] if s['component'] == 'zync-database'][0]")" = \
	"every table, view, materialized view, sequence and foreign table of the database but an extension's (it ends up with the dump's only)" ] ||
	fail "the plan does not say the database is emptied first: $(json_get "$OUT" "[s['plan'] for s in d['steps']]")"

info "clean, over objects of the target that depend on the dump's tables"
# Without clean the dump's own DROP TABLE tenants (no CASCADE) would stop
# at them, and the whole restore with it.
admin_psql "$T" "$T_PORT" <<'SQL' || fail "cannot add the target's dependent objects"
CREATE TABLE zz_upgrade (id int PRIMARY KEY, tenant_id int REFERENCES tenants (id));
CREATE VIEW zz_names AS SELECT name FROM tenants;
SQL
TMPDIR=$TLS_TMP ok restore "$SNAP" --repo "$REPO" --config "$WORK/dst.json"
[ "$(relations "$T")" = "$( (relations "$S"; echo "public.pg_buffercache v") | LC_ALL=C sort)" ] ||
	fail "the clean restore left the target's dependent objects: $(relations "$T" | tr '\n' ' ')"

info "a restore that fails part-way leaves the database as it was"
# The source now has a table owned by a role the target does not have (a
# migration onto another managed server), and the target's configuration
# says "owner": "keep" (by default such a table goes to the restoring role:
# sql_pg_owner): psql stops at its ALTER ... OWNER, after the dump's DROPs
# and CREATEs. Loaded statement by statement, the target's tables would be
# dropped and left empty; in one transaction, nothing of it stays.
only_config "$WORK/dst-owners.json" "$res_t" zync-database \
	'{"external": true, "restore": {"owner": "keep"}}'
sock_psql "$S" -d postgres -c "CREATE ROLE auditor NOLOGIN; GRANT auditor TO zadmin" ||
	fail "cannot create the role auditor"
sock_psql "$S" -d zync_production -c "GRANT CREATE ON SCHEMA public TO auditor" ||
	fail "cannot let auditor own tables"
PGPASSWORD=$ADMIN_PW psql -qAtX -v ON_ERROR_STOP=1 \
	"host=127.0.0.1 port=$S_PORT user=zadmin dbname=zync_production sslmode=verify-full sslrootcert=$S/tls/ca.pem sslcert=$S/tls/client.pem sslkey=$S/tls/client.key" <<'SQL' || fail "cannot add the audit table"
CREATE TABLE zz_audit (id int PRIMARY KEY);
ALTER TABLE zz_audit OWNER TO auditor;
SQL
TMPDIR=$TLS_TMP ok backup --repo "$REPO" --config "$WORK/src.json" --json
SNAP=$(json_get "$OUT" "d['snapshot_id']")
sock_psql "$T" -d zync_production -c "INSERT INTO tenants VALUES (3, 'target only')" ||
	fail "cannot add the target's row"
# A table only the target has: the clean load drops it first, before the
# dump's statements, and the transaction must give it back.
admin_psql "$T" "$T_PORT" <<<"CREATE TABLE zz_target_only (id int); INSERT INTO zz_target_only VALUES (7);" ||
	fail "cannot add the target's table"
before=$(sock_psql "$T" -d zync_production -c "SELECT * FROM tenants ORDER BY id; SELECT * FROM zz_target_only")
rels=$(relations "$T")
TMPDIR=$TLS_TMP t restore "$SNAP" --repo "$REPO" --config "$WORK/dst-owners.json"
[ "$RC" -ne 0 ] || fail "a restore with a missing role succeeded"
after=$(sock_psql "$T" -d zync_production -c "SELECT * FROM tenants ORDER BY id; SELECT * FROM zz_target_only" 2>&1)
[ "$before" = "$after" ] || fail "the target's tables changed under a failed restore: '$before' became '$after'"
[ "$(relations "$T")" = "$rels" ] ||
	fail "the target's objects changed under a failed clean restore: $(relations "$T" | tr '\n' ' ')"
expect_err 'role "auditor" does not exist' "the error gives psql's reason"
expect_err "nothing of it was applied" "the error says the database is unchanged"
! grep -qi "dropped" "$ERR" || fail "the error speaks of a drop of a database that existed before"
[ -z "$(ls -A "$TLS_TMP")" ] || fail "TLS files left behind after the failed restore"

info "a restore that fails part-way into a server without the database leaves none"
# The restore creates the database, then the load fails: the transaction
# leaves nothing, and the database this restore created is dropped again,
# so the target has no empty database that a later run or the
# application would take for a restored one.
sock_psql "$T" -d postgres -c "DROP DATABASE zync_production" ||
	fail "cannot drop the target's database"
TMPDIR=$TLS_TMP t restore "$SNAP" --repo "$REPO" --config "$WORK/dst-owners.json"
[ "$RC" -ne 0 ] || fail "a restore with a missing role succeeded into a fresh server"
left=$(sock_psql "$T" -d postgres -c "SELECT 1 FROM pg_database WHERE datname = 'zync_production'")
[ -z "$left" ] || fail "the database created by the failed restore was left behind"
expect_err 'role "auditor" does not exist' "the error gives psql's reason (fresh server)"
expect_err "nothing of it was applied; database zync_production, created by this restore, was dropped again" \
	"the error says the created database was dropped"
[ -z "$(ls -A "$TLS_TMP")" ] || fail "TLS files left behind after the failed restore (fresh server)"
info "a failed load whose DROP is refused too: the error says the database is left, and why"
# Held after it created the database, before its load (pause_client),
# another client connects to the new database (an application that came
# up meanwhile): the DROP after the failed load waits for sessions to end,
# then is refused, as a DROP without FORCE is; the database stays, empty.
pause_client psql
echo 1 > "$WORK/pause-psql" # the CREATE DATABASE runs, the load waits
TMPDIR=$TLS_TMP bg_t restore "$SNAP" --repo "$REPO" --config "$WORK/dst-owners.json"
paused
# The other client: a session that stays until its input ends (fd 8).
mkfifo "$WORK/session.in"
sock_psql "$T" -d zync_production <"$WORK/session.in" >/dev/null 2>&1 &
SESSION=$!
exec 8>"$WORK/session.in"
sessions() {
	sock_psql "$T" -d postgres -c "SELECT count(*) FROM pg_stat_activity WHERE datname = 'zync_production'"
}
for ((i = 0; i < 300; i++)); do
	[ "$(sessions)" = 1 ] || ! kill -0 "$SESSION" 2>/dev/null && break
	sleep 0.1
done
rm -f "$WORK/pause-psql"
bg_ended
connected=$(sessions)
exec 8>&-
wait "$SESSION"
[ "$connected" = 1 ] || fail "test setup: the other session was not connected through the restore"
[ "$RC" -ne 0 ] || fail "a restore with a missing role succeeded (DROP refused)"
left=$(sock_psql "$T" -d postgres -c "SELECT 1 FROM pg_database WHERE datname = 'zync_production'")
[ "$left" = 1 ] || fail "the database is gone, though its DROP was refused"
[ -z "$(sock_psql "$T" -d zync_production -c "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace")" ] ||
	fail "the database left behind is not empty, though its load ran in one transaction"
expect_err 'role "auditor" does not exist' "the error gives psql's reason (DROP refused)"
expect_err "nothing of it was applied; database zync_production, created by this restore, is left behind, empty: dropping database zync_production: " \
	"the error says the created database is left behind, empty"
expect_err 'database "zync_production" is being accessed by other users' \
	"the error gives the server's reason for refusing the DROP"
expect_err 'to remove it once nothing uses it: DROP DATABASE "zync_production";' \
	"the error says how to remove the database left behind"
! grep -qi "dropped again" "$ERR" || fail "the error says the database was dropped"
sock_psql "$T" -d postgres -c "DROP DATABASE zync_production" || fail "cannot drop the database left behind"
[ -z "$(ls -A "$TLS_TMP")" ] || fail "TLS files left behind after the failed restore whose DROP was refused"
! grep -qF -- "$ADMIN_PW" "$WORK/.transcript" "$ERR" 2>/dev/null || fail "the password is in the output"
info "OK"
