#!/usr/bin/env bash
# A managed MySQL, as 3scale 2.16+ uses it: TCP over TLS only with a private
# CA and client certificates (require_secure_transport=ON), an admin user
# that is not root and has no SUPER, the admin in the system-database
# Secret (URL, DATABASE_SSL_MODE, DB_SSL_CA / _CERT / _KEY as PEM contents).
# Proven:
#   - the component is external without saying so (the Secret names a host
#     that is not the in-cluster service);
#   - backup and restore connect as the Secret's user (the profile's
#     "user": "root" does not replace it) and verify the server over TLS
#     (also where DATABASE_SSL_MODE is "required" and a CA is given);
#     no PEM content is on a command line and no TLS file is left behind,
#     not even by a backup ended with SIGTERM;
#   - a dump whose trigger, view, function, procedure and event carry
#     DEFINER=`app`@`%` loads as the restoring user without SUPER: the
#     clauses are removed ("definer": "strip", the default, said in the
#     plan); with "definer": "keep" the load fails as it does without tsarc;
#   - migrated into a fresh server, the database keeps its default charset
#     and collation (utf8mb4 / utf8mb4_unicode_ci, not the profile's
#     utf8mb3_bin): a function that returns an emoji still does.
#   - a load that fails part-way into a server without the database leaves
#     none (the database the restore created is dropped again); one that
#     fails into an existing database never drops it; one whose DROP is
#     refused too says the database it created is left behind, and why.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

export TSARC_PASSWORD=sql-test
start_pair start-mysql-tls MYSQL_PORT
# What a managed service's admin has (ci/services.sh add-mysql-admin): no
# SUPER, a login with a client certificate of the private CA.
for d in "$S" "$T"; do
	MYSQL_ADMIN_PASSWORD=$ADMIN_PW bash "$SERVICES" add-mysql-admin "$d" admin3 ||
		fail "cannot create the admin of $d"
	sock_mysql "$d" -e "CREATE USER app@'%' IDENTIFIED BY 'app-pw';" || fail "cannot create app in $d"
done
grep -q SUPER <(sock_mysql "$T" -e "SHOW GRANTS FOR admin3@'%'") && fail "test setup: admin3 has SUPER"

info "the source database: utf8mb4_unicode_ci, objects defined by app@%"
sock_mysql "$S" <<'SQL' || fail "cannot fill the source"
CREATE DATABASE system CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
GRANT ALL ON system.* TO app@'%';
USE system;
CREATE TABLE accounts (id INT PRIMARY KEY, name VARCHAR(40), note TEXT, tenant_id INT);
INSERT INTO accounts VALUES (1, 'one', 'DEFINER=`root`@`localhost` stays in data', NULL),
                            (2, 'two ☃', '-- DEFINER=x@y', 7);
CREATE DEFINER=`app`@`%` TRIGGER accounts_tenant_id BEFORE INSERT ON accounts
  FOR EACH ROW SET NEW.tenant_id = COALESCE(NEW.tenant_id, NEW.id * 10);
CREATE DEFINER=`app`@`%` SQL SECURITY DEFINER VIEW named AS SELECT id, name FROM accounts;
DELIMITER ;;
CREATE DEFINER=`app`@`%` FUNCTION smile() RETURNS VARCHAR(8) DETERMINISTIC RETURN '😀';;
CREATE DEFINER=`app`@`%` PROCEDURE sp_count(OUT n INT) BEGIN SELECT COUNT(*) INTO n FROM accounts; END;;
DELIMITER ;
CREATE DEFINER=`app`@`%` EVENT nightly ON SCHEDULE EVERY 1 DAY DISABLE DO DELETE FROM accounts WHERE id < 0;
SQL
[ "$(sock_mysql "$S" system -e 'SELECT smile()')" = "😀" ] || fail "test setup: smile() on the source"

# The deployment's Secret names the admin (not root) and the TLS material.
res_s=$WORK/res-src
res_t=$WORK/res-dst
secret_json "$res_s/secret/system-database.json" system-database \
	"URL=mysql2://admin3:$ADMIN_PW@127.0.0.1:$S_PORT/system" DB_USER=app DB_PASSWORD=app-pw \
	DATABASE_SSL_MODE=verify_identity "DB_SSL_CA=@$S/tls/ca.pem" "DB_SSL_CERT=@$S/tls/client.pem" \
	"DB_SSL_KEY=@$S/tls/client.key"
secret_json "$res_t/secret/system-database.json" system-database \
	"URL=mysql2://admin3:$ADMIN_PW@127.0.0.1:$T_PORT/system" \
	DATABASE_SSL_MODE=verify_identity "DB_SSL_CA=@$T/tls/ca.pem" "DB_SSL_CERT=@$T/tls/client.pem" \
	"DB_SSL_KEY=@$T/tls/client.key"
# No "external": true: a Secret that names a host other than the in-cluster
# service makes the component external (the 2.16+ layout, layout.h).
only_config "$WORK/src.json" "$res_s" system-mysql
only_config "$WORK/dst.json" "$res_t" system-mysql
only_config "$WORK/keep.json" "$res_t" system-mysql '{"restore": {"definer": "keep"}}'
ok backup --config "$WORK/src.json" --print-config
[ "$(json_get "$OUT" "d['decided']['system-mysql']['external']")" = True ] ||
	fail "the Secret's host did not make system-mysql external"
tls_backup "backup as the Secret's admin over verified TLS"
grep -q utf8mb4_unicode_ci "$OUT" || fail "the manifest does not record the collation utf8mb4_unicode_ci"
grep -q '"db_user":[[:space:]]*"admin3"' "$OUT" || fail "the backup did not connect as the Secret's user admin3"

info "an operator's ~/.my.cnf with a password of its own: the Secret's is the one sent"
mkdir -m 700 "$WORK/home"
printf '[client]\npassword=operators-own\n' > "$WORK/home/.my.cnf"
chmod 600 "$WORK/home/.my.cnf"
HOME=$WORK/home TMPDIR=$TLS_TMP t backup --repo "$REPO" --config "$WORK/src.json"
[ "$RC" = 0 ] || { cat "$ERR" >&2; fail "~/.my.cnf's password replaced the Secret's"; }

info "DATABASE_SSL_MODE required with the Secret's CA: the server is checked against that CA"
# As libpq does when it has a root certificate: a CA is given to be used.
# The target's CA did not sign the source's certificate.
secret_json "$WORK/res-otherca/secret/system-database.json" system-database \
	"URL=mysql2://admin3:$ADMIN_PW@127.0.0.1:$S_PORT/system" DATABASE_SSL_MODE=required \
	"DB_SSL_CA=@$T/tls/ca.pem" "DB_SSL_CERT=@$S/tls/client.pem" "DB_SSL_KEY=@$S/tls/client.key"
only_config "$WORK/otherca.json" "$WORK/res-otherca" system-mysql
TMPDIR=$TLS_TMP t backup --repo "$REPO" --config "$WORK/otherca.json"
[ "$RC" != 0 ] || fail "mode required with a CA trusted a server that CA did not sign"
expect_err "certificate|SSL|TLS" "the failure is the TLS check"
[ -z "$(ls -A "$TLS_TMP")" ] || fail "TLS files left behind after a failed backup"

info "SIGTERM while the dump runs: no TLS file is left behind"
# A dump tool that says it has started (and has its TLS files) and then
# waits: the signal comes while the client holds them, whatever the load.
cat > "$WORK/slow-dump" <<SH
#!/bin/sh
[ "\$1" = --version ] && { echo "slow-dump 1"; exit 0; }
for a in "\$@"; do case \$a in --ssl-key=*) [ -f "\${a#--ssl-key=}" ] && touch "$WORK/dump-started";; esac; done
exec sleep 60
SH
chmod +x "$WORK/slow-dump"
only_config "$WORK/slow.json" "$res_s" system-mysql "{\"tool\": \"$WORK/slow-dump\"}"
TMPDIR=$TLS_TMP "$TSARC" backup --repo "$REPO" --config "$WORK/slow.json" >"$WORK/slow.out" 2>&1 &
slow=$!
for _ in $(seq 300); do [ -e "$WORK/dump-started" ] && break; sleep 0.1; done
[ -e "$WORK/dump-started" ] || { kill -9 $slow; fail "the slow dump never started with its key file"; }
[ -n "$(ls -A "$TLS_TMP")" ] || fail "test setup: no TLS files while the dump runs"
kill -TERM $slow
rc=0; wait $slow || rc=$?
[ "$rc" = 143 ] || { cat "$WORK/slow.out" >&2; fail "SIGTERM: exit $rc, not 143"; }
[ -z "$(ls -A "$TLS_TMP")" ] || fail "TLS files left behind after SIGTERM: $(ls -A "$TLS_TMP")"

info "the plan says what happens to DEFINER and with which charset the database is made"
ok restore "$SNAP" --repo "$REPO" --config "$WORK/dst.json" --dry-run
expect_err "DEFINER" "the plan names the DEFINER handling"
expect_err "utf8mb4_unicode_ci" "the plan names the collation the database is created with"
expect_err "admin3@127\.0\.0\.1:$T_PORT/system" "the plan names the target's admin"

info "\"definer\": \"keep\": the load needs SUPER and fails, the target stays without the objects"
TMPDIR=$TLS_TMP t restore "$SNAP" --repo "$REPO" --config "$WORK/keep.json"
[ "$RC" != 0 ] || fail "a DEFINER of another user loaded without SUPER"
expect_err "SUPER|SET USER|denied" "the failure is the server's privilege error"
[ -z "$(ls -A "$TLS_TMP")" ] || fail "TLS files left behind after a failed restore"
[ -z "$(sock_mysql "$T" -e "SHOW DATABASES LIKE 'system'")" ] ||
	fail "the database the failed restore created was left behind (definer keep)"

info "restore into the fresh target as admin3 (no SUPER), DEFINER stripped"
sock_mysql "$T" -e "DROP DATABASE IF EXISTS system"
TMPDIR=$TLS_TMP ok restore "$SNAP" --repo "$REPO" --config "$WORK/dst.json" --json
[ -z "$(ls -A "$TLS_TMP")" ] || fail "TLS files left behind after the restore"
got=$(sock_mysql "$T" -e "SELECT CONCAT(default_character_set_name, ' ', default_collation_name) FROM information_schema.schemata WHERE schema_name='system'")
[ "$got" = "utf8mb4 utf8mb4_unicode_ci" ] || fail "the migrated database is $got, not utf8mb4 utf8mb4_unicode_ci"
[ "$(sock_mysql "$T" system -e 'SELECT smile()')" = "😀" ] || fail "smile() lost its emoji after the migration"
sock_mysql "$T" system -e "INSERT INTO accounts (id, name) VALUES (3, 'three')" || fail "insert on the target"
[ "$(sock_mysql "$T" system -e 'SELECT tenant_id FROM accounts WHERE id=3')" = 30 ] || fail "the trigger does not run"
[ "$(sock_mysql "$T" system -e 'SELECT COUNT(*) FROM named')" = 3 ] || fail "the view does not work"
sock_mysql "$T" system -e "CALL sp_count(@n); SELECT @n" | grep -qx 3 || fail "the procedure does not work"
definers=$(sock_mysql "$T" -e "
  SELECT definer FROM information_schema.triggers WHERE trigger_schema='system' UNION
  SELECT definer FROM information_schema.views WHERE table_schema='system' UNION
  SELECT definer FROM information_schema.routines WHERE routine_schema='system' UNION
  SELECT definer FROM information_schema.events WHERE event_schema='system'")
[ "$definers" = "admin3@%" ] || fail "objects are defined by: $definers (want admin3@% only)"
src=$(sock_mysql "$S" system -e "SELECT id, name, note FROM accounts ORDER BY id")
dst=$(sock_mysql "$T" system -e "SELECT id, name, note FROM accounts WHERE id < 3 ORDER BY id")
[ "$src" = "$dst" ] || fail "the rows differ: the data's DEFINER text must not be touched"
info "a load that fails part-way: a database it created is dropped, an existing one is not"
# A view of the source selects from a table of another database, which the
# target does not have: mysqldump writes views after every table, and
# CREATE VIEW checks its tables, so the load fails at the view, after it
# created and filled the tables, wherever the chunks end.
sock_mysql "$S" <<'SQL' || fail "cannot add the cross-database view"
CREATE DATABASE audit;
CREATE TABLE audit.entries (id INT PRIMARY KEY, what TEXT);
INSERT INTO audit.entries VALUES (1, 'created');
CREATE VIEW system.zz_audit AS SELECT id, what FROM audit.entries;
SQL
TMPDIR=$TLS_TMP ok backup --repo "$REPO" --config "$WORK/src.json" --json
BADSNAP=$(json_get "$OUT" "d['snapshot_id']")
# Into the existing database: what executed stays (the tables replaced),
# and the database is there, never dropped.
TMPDIR=$TLS_TMP t restore "$BADSNAP" --repo "$REPO" --config "$WORK/dst.json"
[ "$RC" != 0 ] || fail "a view of a missing table loaded into the existing database"
expect_err "audit" "the error gives the server's reason (existing database)"
[ "$(sock_mysql "$T" -e "SHOW DATABASES LIKE 'system'")" = system ] ||
	fail "a failed restore dropped a database that existed before"
[ "$(sock_mysql "$T" system -e 'SELECT COUNT(*) FROM accounts')" = 2 ] ||
	fail "the existing database lost what the load executed"
! grep -qi "dropped" "$ERR" || fail "the error speaks of a drop of a database that existed before"
# Into a server without the database: the restore creates it, loads the
# tables, fails at the view, and drops the database it created.
sock_mysql "$T" -e "DROP DATABASE system" || fail "cannot drop the target's database"
TMPDIR=$TLS_TMP t restore "$BADSNAP" --repo "$REPO" --config "$WORK/dst.json"
[ "$RC" != 0 ] || fail "a view of a missing table loaded into a fresh server"
expect_err "audit" "the error gives the server's reason (fresh server)"
[ -z "$(sock_mysql "$T" -e "SHOW DATABASES LIKE 'system'")" ] ||
	fail "the database created by the failed restore was left behind, holding part of the dump"
expect_err "database system, created by this restore, was dropped again" \
	"the error says the created database was dropped"
[ -z "$(ls -A "$TLS_TMP")" ] || fail "TLS files left behind after the failed restores"
info "a failed load whose DROP is refused too: the error says the database is left, and why"
# Held after it created the database, before its load (pause_client), the
# restore's admin loses the DROP privilege (a policy changed meanwhile):
# the server refuses the dump's first DROP TABLE, then the DROP DATABASE
# of the database this restore created, which stays, as the error says.
pause_client mysql
echo 1 > "$WORK/pause-mysql" # the CREATE DATABASE runs, the load waits
TMPDIR=$TLS_TMP bg_t restore "$BADSNAP" --repo "$REPO" --config "$WORK/dst.json"
paused
revoked=0
[ "$(sock_mysql "$T" -e "SHOW DATABASES LIKE 'system'")" = system ] &&
	sock_mysql "$T" -e "REVOKE DROP ON *.* FROM admin3@'%'" && revoked=1
rm -f "$WORK/pause-mysql"
bg_ended
[ "$revoked" = 1 ] || fail "test setup: no database created before the load, or no REVOKE"
[ "$RC" != 0 ] || fail "a load without the DROP privilege succeeded"
[ "$(sock_mysql "$T" -e "SHOW DATABASES LIKE 'system'")" = system ] ||
	fail "the database is gone, though its DROP was refused"
expect_err "DROP command denied" "the error gives the load's own reason"
expect_err "database system, created by this restore, is left behind, with what of the load executed: dropping database system: " \
	"the error says the created database is left behind"
expect_err "Access denied for user 'admin3'@'%' to database 'system'\)$" \
	"the error gives the server's reason for refusing the DROP"
expect_err 'to remove it once nothing uses it: DROP DATABASE `system`;' \
	"the error says how to remove the database left behind"
! grep -qi "dropped again" "$ERR" || fail "the error says the database was dropped"
sock_mysql "$T" -e "GRANT DROP ON *.* TO admin3@'%'; DROP DATABASE system" ||
	fail "cannot give admin3 its DROP back"
[ -z "$(ls -A "$TLS_TMP")" ] || fail "TLS files left behind after the failed restore whose DROP was refused"
for secret in "$ADMIN_PW" "$(sed -n 2p "$S/tls/client.key")"; do
	! grep -qF -- "$secret" "$WORK/.transcript" "$OUT" "$ERR" 2>/dev/null || fail "a secret is in the output"
done
info "OK"
