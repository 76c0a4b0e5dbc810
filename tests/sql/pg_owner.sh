#!/usr/bin/env bash
# A PostgreSQL database moved to a server that lacks the roles owning its
# objects (3scale onto another managed PostgreSQL: its user is another
# name, the source's roles were never made there). pg_dump writes
# `ALTER ... OWNER TO role;` for every object, and a GRANT for each
# privilege given to a role; psql stops at the first of them that names a
# role the target does not have, and the load (one transaction) applies
# nothing. Proven:
#   - the restore into such a server gives each object whose owner the
#     target lacks to the role the restore connects as (the Secret's user),
#     leaves out a GRANT that only gives a missing role privileges, and
#     says so in the plan and the report; the rows, the view, the sequence
#     and the function are there, owned by that role;
#   - what only looks like such a statement is not touched: a COPY data
#     line and a line of a function's body that read
#     `ALTER TABLE public.tenants OWNER TO zync;`;
#   - "owner": "keep" loads the dump as it is: the restore fails on the
#     missing role, and nothing of it applies;
#   - into a server that has the roles (the source itself), every owner
#     and grant stays as dumped.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

export TSARC_PASSWORD=sql-test
start_pair start-postgres-tls PG_PORT
sock_psql "$S" -d postgres -c "CREATE ROLE zync LOGIN CREATEDB PASSWORD '$ADMIN_PW'" \
	-c "CREATE ROLE auditor NOLOGIN" -c "CREATE ROLE reader NOLOGIN" -c "GRANT auditor TO zync" \
	-c "CREATE DATABASE zync_production OWNER zync" || fail "cannot set up the source"
sock_psql "$T" -d postgres -c "CREATE ROLE app LOGIN CREATEDB PASSWORD '$ADMIN_PW'" \
	-c "CREATE DATABASE zync_production OWNER app" || fail "cannot set up the target"
tls_psql "$S" "$S_PORT" zync zync_production <<'SQL' || fail "cannot fill the source"
CREATE TABLE tenants (id serial PRIMARY KEY, name text);
INSERT INTO tenants (name) VALUES ('one'), ('two');
CREATE TABLE notes (line text);
INSERT INTO notes VALUES ('ALTER TABLE public.tenants OWNER TO zync;');
CREATE VIEW tenant_names AS SELECT name FROM tenants;
CREATE FUNCTION tenant_count() RETURNS bigint LANGUAGE plpgsql AS $f$
BEGIN
-- a body line that reads like pg_dump's statement
ALTER TABLE public.tenants OWNER TO zync;
RETURN (SELECT count(*) FROM tenants);
END
$f$;
GRANT SELECT ON tenants TO reader;
GRANT CREATE ON SCHEMA public TO auditor;
CREATE TABLE zz_audit (id int);
ALTER TABLE zz_audit OWNER TO auditor;
SQL

res_s=$WORK/res-src
res_t=$WORK/res-dst
secret_json "$res_s/secret/zync.json" zync \
	"DATABASE_URL=postgresql://zync:$ADMIN_PW@127.0.0.1:$S_PORT/zync_production" \
	DATABASE_SSL_MODE=verify-full "DB_SSL_CA=@$S/tls/ca.pem" "DB_SSL_CERT=@$S/tls/client.pem" \
	"DB_SSL_KEY=@$S/tls/client.key"
secret_json "$res_t/secret/zync.json" zync \
	"DATABASE_URL=postgresql://app:$ADMIN_PW@127.0.0.1:$T_PORT/zync_production" \
	DATABASE_SSL_MODE=verify-full "DB_SSL_CA=@$T/tls/ca.pem" "DB_SSL_CERT=@$T/tls/client.pem" \
	"DB_SSL_KEY=@$T/tls/client.key"
only_config "$WORK/src.json" "$res_s" zync-database '{"external": true}'
only_config "$WORK/dst.json" "$res_t" zync-database '{"external": true}'
only_config "$WORK/dst-keep.json" "$res_t" zync-database '{"external": true, "restore": {"owner": "keep"}}'
tls_backup "backup as zync, the owner of the source's objects"

# owners DIR: "name kind owner" of every object of zync_production's public
# schema (relations and functions), sorted.
owners() {
	sock_psql "$1" -d zync_production -c "SELECT c.relname || ' ' || c.relkind::text || ' ' ||
		pg_get_userbyid(c.relowner) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'public' AND c.relkind IN ('r', 'v', 'S')
		UNION ALL SELECT p.proname || ' f ' || pg_get_userbyid(p.proowner) FROM pg_proc p
		JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'" | LC_ALL=C sort
}
# contents DIR: the rows, the data line and the function's body.
contents() {
	sock_psql "$1" -d zync_production -c "SELECT * FROM tenants ORDER BY id" \
		-c "SELECT * FROM notes" -c "SELECT * FROM tenant_names ORDER BY 1" \
		-c "SELECT prosrc FROM pg_proc WHERE proname = 'tenant_count'"
}
src_owners=$(owners "$S")
src_contents=$(contents "$S")

info "the plan says what becomes of owners the target lacks"
ok restore "$SNAP" --repo "$REPO" --config "$WORK/dst.json" --dry-run --json
plan=$(json_get "$OUT" "[s['plan'].get('owner') for s in d['steps'] if s['component'] == 'zync-database'][0]")
case $plan in
*"does not have"*"the role the restore connects as"*) ;;
*) fail "the plan does not say what becomes of owners the target lacks: $plan" ;;
esac

info "\"owner\": \"keep\": the missing role stops the load, nothing applies"
TMPDIR=$TLS_TMP t restore "$SNAP" --repo "$REPO" --config "$WORK/dst-keep.json"
[ "$RC" -ne 0 ] || fail "a restore with owner keep succeeded into a server without the roles"
expect_err 'does not exist' "the error gives psql's reason"
expect_err "nothing of it was applied" "the error says the database is unchanged"
[ -z "$(owners "$T")" ] || fail "the failed load left objects: $(owners "$T" | tr '\n' ' ')"

info "the restore gives the objects of missing roles to the role it connects as"
TMPDIR=$TLS_TMP ok restore "$SNAP" --repo "$REPO" --config "$WORK/dst.json" --json
want=$(sed 's/ zync$/ app/; s/ auditor$/ app/' <<<"$src_owners")
[ "$(owners "$T")" = "$want" ] ||
	fail "the owners are not the restoring role's: $(owners "$T" | tr '\n' ' '), want $(tr '\n' ' ' <<<"$want")"
[ "$(contents "$T")" = "$src_contents" ] ||
	fail "the data or the function's body changed: '$(contents "$T")', want '$src_contents'"
[ "$(sock_psql "$T" -d zync_production -c "SELECT count(*) FROM information_schema.role_table_grants WHERE grantee = 'reader'")" = 0 ] ||
	fail "a grant to the missing role reader is in the target"
detail=$(json_get "$OUT" "[s.get('detail', {}).get('owners') for s in d['steps'] if s['component'] == 'zync-database'][0]")
[ "$(json_get "$OUT" "[s['detail']['owners']['to'] for s in d['steps'] if s['component'] == 'zync-database'][0]")" = app ] ||
	fail "the report does not name the role the owners went to: $detail"
got=$(json_get "$OUT" "sorted([s['detail']['owners']['from'] for s in d['steps'] if s['component'] == 'zync-database'][0])")
[ "$got" = "['auditor', 'zync']" ] || fail "the report does not name the missing owners: $detail"
[ "$(json_get "$OUT" "[s['detail']['owners']['grants_left_out'] for s in d['steps'] if s['component'] == 'zync-database'][0]")" = 2 ] ||
	fail "the report does not count the grants left out (reader's SELECT, auditor's CREATE): $detail"
# The application, connecting as app, reads and writes its tables.
tls_psql "$T" "$T_PORT" app zync_production -c "INSERT INTO tenants (name) VALUES ('three')" \
	-c "SELECT tenant_count()" >/dev/null || fail "the restoring role cannot use the restored objects"

info "into a server that has the roles, owners and grants stay as dumped"
TMPDIR=$TLS_TMP ok restore "$SNAP" --repo "$REPO" --config "$WORK/src.json"
[ "$(owners "$S")" = "$src_owners" ] || fail "the owners changed in the source: $(owners "$S" | tr '\n' ' ')"
[ "$(contents "$S")" = "$src_contents" ] || fail "the source's data changed"
[ "$(sock_psql "$S" -d zync_production -c "SELECT privilege_type FROM information_schema.role_table_grants WHERE grantee = 'reader'")" = SELECT ] ||
	fail "the grant to reader is gone from the source"
! grep -qF -- "$ADMIN_PW" "$WORK/.transcript" "$ERR" 2>/dev/null || fail "the password is in the output"
info "OK"
