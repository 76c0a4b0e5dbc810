#!/usr/bin/env bash
# A MySQL restore into a server that keeps a binary log, as every managed
# MySQL and MariaDB does for its backups and replicas (RDS, Azure, a
# self-run server with replication), as a user without SUPER, as their
# admins are. Such a server refuses that user CREATE TRIGGER and CREATE
# FUNCTION (ERROR 1419) unless log_bin_trust_function_creators is on, and
# its default is off. 3scale's system database holds 78 triggers. mysql
# applies a dump as it reads it, so the load stopped at the first trigger:
# with the 3scale profile's "clean", every table of the database dropped
# first, the tables before the trigger replaced, those after it gone, and
# the restore only then failed. Proven against a real MariaDB with a binary
# log through tsarc restore:
#   - as a user with every privilege but SUPER: refused by the plan
#     (--dry-run too: the backup records the dump's triggers and functions)
#     before anything is written, naming the triggers and functions, the
#     server's setting and the way out, the database as it was (before: its
#     tables dropped);
#   - the same with log_bin_trust_function_creators on, and as a user whose
#     SUPER comes through its default role: restored, triggers and function
#     back;
#   - a dump without triggers and functions (a procedure is not refused by
#     such a server): restored by the user without SUPER.
# And a dump by MySQL 8's mysqldump of a server with GTIDs (its default
# --set-gtid-purged=AUTO; a double of it here, mysql8_dump_double.sh: no
# MySQL 8 runs here) holds SET @@SESSION.SQL_LOG_BIN= 0 and SET
# @@GLOBAL.GTID_PURGED in its head. A managed server's admin may set
# neither (ERROR 1227), no server takes GTID_PURGED of its own transactions
# again (ERROR 3546: a restore into the server backed up) and MariaDB knows
# no such variable: the load stopped there, after the clean had dropped
# every table. Where it ran, the restore was kept out of the binary log, so
# the server's replicas (and a point-in-time recovery from its log) never
# saw it. Now: restored, by the user without SUPER and by root, and the
# restore's rows are in the binary log.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

export TSARC_PASSWORD=mysql-binlog
MYSQL_LOG_BIN=1 svc_start m mysql
PORT=$MYSQL_PORT PW=$MYSQL_ROOT_PASSWORD
M=$WORK/svc-m
UPW="adm-$RANDOM-Kq4"
[ "$(sock_mysql "$M" -e 'SELECT @@log_bin, @@log_bin_trust_function_creators')" = "$(printf '1\t0')" ] ||
	fail "the server keeps no binary log, or trusts function creators"
sock_mysql "$M" <<SQL || fail "cannot fill the server"
DELETE FROM mysql.global_priv WHERE User = ''; FLUSH PRIVILEGES;
CREATE DATABASE system;
CREATE TABLE system.accounts (id INT PRIMARY KEY, tenant_id INT);
CREATE TABLE system.settings (id INT PRIMARY KEY, v TEXT);
INSERT INTO system.accounts VALUES (1, 1), (2, 1);
INSERT INTO system.settings VALUES (1, 'kept');
CREATE TRIGGER system.accounts_tenant_id BEFORE INSERT ON system.accounts FOR EACH ROW SET NEW.tenant_id = COALESCE(NEW.tenant_id, 7);
CREATE FUNCTION system.tenant_of(a INT) RETURNS INT DETERMINISTIC RETURN a;
CREATE PROCEDURE system.sequence_next() SELECT 1;
CREATE DATABASE plain;
CREATE TABLE plain.t (id INT PRIMARY KEY);
INSERT INTO plain.t VALUES (1), (2);
CREATE PROCEDURE plain.p() SELECT 1;
CREATE USER admin@'%' IDENTIFIED BY '$UPW';
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, INDEX, ALTER, CREATE TEMPORARY TABLES,
  LOCK TABLES, EXECUTE, CREATE VIEW, SHOW VIEW, CREATE ROUTINE, ALTER ROUTINE, EVENT, TRIGGER,
  REFERENCES, PROCESS, RELOAD ON *.* TO admin@'%';
CREATE ROLE dba;
GRANT SUPER ON *.* TO dba;
CREATE USER roled@'%' IDENTIFIED BY '$UPW';
GRANT ALL PRIVILEGES ON system.* TO roled@'%';
GRANT dba TO roled@'%';
SET DEFAULT ROLE dba FOR roled@'%';
SQL
q() { sock_mysql "$M" -e "$1"; }

REPO=$WORK/repo
init_repo "$REPO"
# config NAME USER DATABASE [COMPONENT-JSON]: system-mysql of this server,
# as USER, its Secret's URL naming DATABASE.
config() {
	local pw=$UPW
	[ "$2" != root ] || pw=$PW
	secret_json "$WORK/res-$1/secret/system-database.json" system-database \
		"URL=mysql2://$2:$pw@127.0.0.1:$PORT/$3"
	only_config "$WORK/$1.json" "$WORK/res-$1" system-mysql "${4:-{\"external\": true\}}"
}
config root root system
config admin admin system
config roled roled system
config plain-root root plain
config plain-admin admin plain

ok backup --repo "$REPO" --config "$WORK/root.json" --json
SNAP=$(json_get "$OUT" "d['snapshot_id']")
ok dump --repo "$REPO" "$SNAP" system-mysql.sql
grep -q 'TRIGGER system.accounts_tenant_id' "$OUT" || fail "no trigger in the dump"

info "as a user without SUPER, binary log on: refused by the plan, nothing written"
q "INSERT INTO system.settings VALUES (2, 'since the backup'); CREATE TABLE system.later (id INT)"
# The plan refuses it (the backup recorded the dump's triggers and
# functions), before any step of a deployment restore writes.
t restore "$SNAP" --repo "$REPO" --config "$WORK/admin.json" --allow-source-target --dry-run
[ "$RC" -ne 0 ] || fail "the plan admitted a restore whose trigger the server refuses: $(cat "$OUT")"
expect_err "log_bin_trust_function_creators" "the plan's refusal names the setting"
t restore "$SNAP" --repo "$REPO" --config "$WORK/admin.json" --allow-source-target
[ "$RC" -ne 0 ] || fail "the restore succeeded on a server that refuses its trigger"
[ "$(q 'SELECT GROUP_CONCAT(v ORDER BY id) FROM system.settings')" = "kept,since the backup" ] ||
	fail "the refused restore changed system.settings: $(q 'SELECT GROUP_CONCAT(v ORDER BY id) FROM system.settings' 2>&1) (exit $RC)"
[ "$(q "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'system'")" = 3 ] ||
	fail "the refused restore changed the tables of system: $(q "SELECT GROUP_CONCAT(TABLE_NAME) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'system'")"
expect_err "log_bin_trust_function_creators" "the refusal names the setting"
expect_err "1 trigger and 1 function" "the refusal counts what the server would refuse"
expect_err "admin" "the refusal names the user"
expect_err "nothing of it was written" "the refusal says the database is as it was"

info "SUPER through the default role: restored"
ok restore "$SNAP" --repo "$REPO" --config "$WORK/roled.json" --allow-source-target
[ "$(q 'SELECT GROUP_CONCAT(v ORDER BY id) FROM system.settings')" = kept ] || fail "not restored"
[ "$(q "SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = 'system'")" = 1 ] ||
	fail "the trigger is not back"

info "log_bin_trust_function_creators on: the user without SUPER restores"
q "INSERT INTO system.settings VALUES (3, 'again'); SET GLOBAL log_bin_trust_function_creators = 1"
ok restore "$SNAP" --repo "$REPO" --config "$WORK/admin.json" --allow-source-target
[ "$(q 'SELECT GROUP_CONCAT(v ORDER BY id) FROM system.settings')" = kept ] || fail "not restored"
[ "$(q "SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = 'system' AND ROUTINE_TYPE = 'FUNCTION'")" = 1 ] ||
	fail "the function is not back"
q "SET GLOBAL log_bin_trust_function_creators = 0"

info "a dump without triggers or functions: the user without SUPER restores"
ok backup --repo "$REPO" --config "$WORK/plain-root.json" --json
PSNAP=$(json_get "$OUT" "d['snapshot_id']")
q "INSERT INTO plain.t VALUES (3)"
ok restore "$PSNAP" --repo "$REPO" --config "$WORK/plain-admin.json" --allow-source-target
[ "$(q 'SELECT GROUP_CONCAT(id ORDER BY id) FROM plain.t')" = 1,2 ] || fail "plain not restored"

info "a MySQL 8 dump of a server with GTIDs: restored, and into the binary log"
DOUBLE=$(cd "$(dirname "$0")" && pwd)/mysql8_dump_double.sh
config mysql8 root system "{\"external\": true, \"tool\": \"$DOUBLE\"}"
ok backup --repo "$REPO" --config "$WORK/mysql8.json" --json
GSNAP=$(json_get "$OUT" "d['snapshot_id']")
ok dump --repo "$REPO" "$GSNAP" system-mysql.sql
for line in 'SET @@SESSION.SQL_LOG_BIN= 0;' "SET @@GLOBAL.GTID_PURGED=/\*!80000 '+'\*/ '" \
	'SET @@SESSION.SQL_LOG_BIN = @MYSQLDUMP_TEMP_LOG_BIN;' 'INSERT INTO `settings` VALUES'; do
	grep -q "^$line" "$OUT" || fail "the MySQL 8 dump has no line $line"
done
q "SET GLOBAL log_bin_trust_function_creators = 1"
for who in admin root; do
	q "INSERT INTO system.settings VALUES (4, 'since the MySQL 8 backup')"
	POS=$(q 'SHOW MASTER STATUS' | cut -f1,2)
	t restore "$GSNAP" --repo "$REPO" --config "$WORK/$who.json" --allow-source-target --json
	[ "$(q 'SELECT GROUP_CONCAT(v ORDER BY id) FROM system.settings' 2>&1)" = kept ] ||
		fail "as $who: not restored (exit $RC): system.settings holds $(q 'SELECT GROUP_CONCAT(v ORDER BY id) FROM system.settings' 2>&1); $(grep -v '^  ' "$ERR" | head -5)"
	[ "$RC" -eq 0 ] || fail "as $who: the restore failed (exit $RC)"
	[ "$(q "SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = 'system'")" = 1 ] ||
		fail "as $who: the trigger is not back"
	q "SHOW BINLOG EVENTS IN '${POS%%$'\t'*}' FROM ${POS#*$'\t'}" | grep -q 'INSERT INTO `settings` VALUES' ||
		fail "as $who: the restore's rows are not in the binary log (its replicas never see them)"
	[ "$(json_get "$OUT" "[s['detail']['binlog_statements_removed'] for s in d['steps'] if s['component'] == 'system-mysql'][0]")" = 3 ] ||
		fail "as $who: the report does not count the 3 statements removed"
done
q "SET GLOBAL log_bin_trust_function_creators = 0"

finish
