#!/usr/bin/env bash
# 3scale's system database is MySQL, PostgreSQL or Oracle, and the
# deployment says which: the system-database Secret's URL (mysql2://,
# postgresql://, oracle-enhanced://, as the operator itself reads it) and,
# for a database in a pod, the APIManager's spec.system.database. The
# profile's system-postgresql takes the place of system-mysql by itself
# when they say PostgreSQL, unless the configuration says "enabled" for
# either; a URL of another database than a component's kind is refused
# before any client runs, naming what to do. Proven:
#   - --print-config (no server): the decision and its reason from the
#     Secret's scheme, from the APIManager, the configuration's own
#     "enabled" kept;
#   - a backup whose Secret names an Oracle database, or a PostgreSQL one
#     given to system-mysql by the configuration: refused, no snapshot;
#   - a real PostgreSQL over verified TLS as the system database, with a
#     configuration that does not say which: backed up as
#     system-postgresql.sql and restored into another server; its plan
#     into a deployment whose Secret says MySQL refused, saying why the
#     configuration leaves system-postgresql out.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

export TSARC_PASSWORD=sql-test
res=$WORK/res

# system_config FILE RESOURCES_DIR [JSON-COMPONENTS]: the 3scale profile
# on this host, every component disabled but system-mysql and
# system-postgresql, left as the profile has them (with JSON-COMPONENTS
# merged over).
system_config() {
	python3 - "$@" <<'PY'
import json, sys
file, res = sys.argv[1:3]
over = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
names = ["secrets", "configmaps", "apimanager", "system-storage", "zync-database",
         "backend-redis", "system-redis"]
c = {"profile": "3scale", "transport": {"type": "local", "resources_dir": res},
     "components": {n: {"enabled": False} for n in names}, "post_restore": []}
c["components"].update(over)
json.dump(c, open(file, "w"), indent=2)
PY
}
# enabled FILE COMPONENT: the effective configuration's "enabled" of it.
enabled() {
	json_get "$1" "d['components']['$2'].get('enabled', True)"
}
decided() { # FILE COMPONENT FIELD
	json_get "$1" "d['decided'].get('$2', {}).get('$3')"
}

system_config "$WORK/config.json" "$res"

info "a postgresql:// URL in system-database: system-postgresql in place of system-mysql"
secret_json "$res/secret/system-database.json" system-database \
	"URL=postgresql://system:pw-not-printed@db.example.net:5432/system"
ok backup --config "$WORK/config.json" --print-config
cp "$OUT" "$WORK/p1.json"
[ "$(enabled "$WORK/p1.json" system-postgresql)" = True ] || fail "system-postgresql is not enabled"
[ "$(enabled "$WORK/p1.json" system-mysql)" = False ] || fail "system-mysql is still enabled"
[ "$(decided "$WORK/p1.json" system-postgresql enabled)" = True ] || fail "no decision for system-postgresql"
decided "$WORK/p1.json" system-postgresql why | grep -q "Secret system-database key URL is a postgresql:// URL" ||
	fail "the reason does not name the Secret's scheme: $(decided "$WORK/p1.json" system-postgresql why)"
! grep -q "pw-not-printed" "$OUT" || fail "a password from a Secret is printed"

info "a mysql2:// URL: system-mysql stays"
secret_json "$res/secret/system-database.json" system-database \
	"URL=mysql2://system:pw@db.example.net:3306/system"
ok backup --config "$WORK/config.json" --print-config
[ "$(enabled "$OUT" system-postgresql)" = False ] || fail "system-postgresql is enabled for mysql2://"
[ "$(enabled "$OUT" system-mysql)" = True ] || fail "system-mysql is not enabled for mysql2://"
decided "$OUT" system-postgresql why | grep -q "mysql2:// URL: stays system-mysql" ||
	fail "the reason does not say system-mysql stays"

info "no Secret: the APIManager's spec.system.database.postgresql"
rm -rf "$res/secret"
mkdir -p "$res/apimanager"
cat > "$res/apimanager/3scale.json" <<'JSON'
{"apiVersion": "apps.3scale.net/v1alpha1", "kind": "APIManager", "metadata": {"name": "3scale"},
 "spec": {"wildcardDomain": "example.com", "system": {"database": {"postgresql": {}}}}}
JSON
ok backup --config "$WORK/config.json" --print-config
[ "$(enabled "$OUT" system-postgresql)" = True ] || fail "spec.system.database.postgresql: not enabled"
[ "$(enabled "$OUT" system-mysql)" = False ] || fail "spec.system.database.postgresql: system-mysql enabled"
decided "$OUT" system-postgresql why | grep -q "APIManager 3scale: spec.system.database.postgresql is set" ||
	fail "the reason does not name the APIManager's field"
rm -rf "$res/apimanager"

info "the configuration's own \"enabled\" wins"
secret_json "$res/secret/system-database.json" system-database \
	"URL=postgresql://system:pw@127.0.0.1:9/system"
system_config "$WORK/given.json" "$res" '{"system-mysql": {"enabled": true, "external": true}}'
ok backup --config "$WORK/given.json" --print-config
[ "$(enabled "$OUT" system-postgresql)" = False ] || fail "system-postgresql enabled against the configuration"
[ "$(enabled "$OUT" system-mysql)" = True ] || fail "system-mysql disabled against the configuration"

info "a PostgreSQL URL given to system-mysql: refused before mysqldump runs"
REPO=$WORK/refused
init_repo "$REPO"
t backup --repo "$REPO" --config "$WORK/given.json"
[ "$RC" != 0 ] || fail "system-mysql took a postgresql:// URL"
expect_err "component 'system-mysql' \\(mysql\\): Secret system-database, key URL: its scheme postgresql:// names a PostgreSQL database, which kind mysql does not connect to \\(mysql2://, mysql://\\): a component of kind postgres does" \
	"the kind and the scheme"
! grep -q "mysqldump:" "$ERR" || fail "mysqldump ran against a PostgreSQL URL"
no_snapshot "$REPO" "a PostgreSQL URL given to system-mysql"

info "an Oracle system database: refused, naming the exec component"
secret_json "$res/secret/system-database.json" system-database \
	"URL=oracle-enhanced://system:pw@127.0.0.1:9/ORCL"
t backup --repo "$REPO" --config "$WORK/config.json"
[ "$RC" != 0 ] || fail "an Oracle URL was backed up"
expect_err "component 'system-mysql' \\(mysql\\): Secret system-database, key URL: its scheme oracle-enhanced:// names an Oracle database, which no kind connects to: back it up and restore it with an exec component" \
	"the Oracle scheme"
no_snapshot "$REPO" "an Oracle URL"

info "a real PostgreSQL as the system database, the configuration silent on which"
start_pair start-postgres-tls PG_PORT
for d in "$S" "$T"; do
	sock_psql "$d" -d postgres -c "CREATE ROLE sadmin LOGIN CREATEDB PASSWORD '$ADMIN_PW'" ||
		fail "cannot create the admin role"
done
sock_psql "$S" -d postgres -c "CREATE DATABASE system OWNER sadmin" || fail "cannot create the source database"
tls_psql "$S" "$S_PORT" sadmin system <<<"CREATE TABLE accounts (id int PRIMARY KEY, org_name text);
	INSERT INTO accounts VALUES (1, 'Provider'), (2, 'Developer');" || fail "cannot fill the source"
for side in src dst; do
	d=$S port=$S_PORT
	[ "$side" = dst ] && d=$T port=$T_PORT
	secret_json "$WORK/res-$side/secret/system-database.json" system-database \
		"URL=postgresql://sadmin:$ADMIN_PW@127.0.0.1:$port/system" \
		DATABASE_SSL_MODE=verify-full "DB_SSL_CA=@$d/tls/ca.pem" "DB_SSL_CERT=@$d/tls/client.pem" \
		"DB_SSL_KEY=@$d/tls/client.key"
	system_config "$WORK/$side.json" "$WORK/res-$side"
done
tls_backup "backup: system-postgresql.sql, no system-mysql"
python3 - "$OUT" <<'PY' || fail "the snapshot's streams are wrong"
import json, sys
names = sorted(s["name"] for s in json.load(open(sys.argv[1]))["streams"])
assert names == ["system-postgresql.sql"], names
PY
info "restore into another server: the rows back"
TMPDIR=$TLS_TMP ok restore "$SNAP" --repo "$REPO" --config "$WORK/dst.json"
src=$(sock_psql "$S" -d system -c "SELECT * FROM accounts ORDER BY id")
[ "$(sock_psql "$T" -d system -c "SELECT * FROM accounts ORDER BY id")" = "$src" ] ||
	fail "the restored rows differ"

info "into a deployment whose Secret says MySQL: refused, the refusal saying why"
secret_json "$WORK/res-my/secret/system-database.json" system-database \
	"URL=mysql2://sadmin:$ADMIN_PW@127.0.0.1:$T_PORT/system"
system_config "$WORK/my.json" "$WORK/res-my"
t restore "$SNAP" --repo "$REPO" --config "$WORK/my.json" --dry-run
[ "$RC" != 0 ] || fail "a PostgreSQL system's snapshot was planned into a MySQL one"
expect_err "the configuration does not restore its system-postgresql \\(Secret system-database key URL is a mysql2:// URL: stays system-mysql\\)" \
	"the reason the layout left system-postgresql out"
info "OK"
