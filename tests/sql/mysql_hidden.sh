#!/usr/bin/env bash
# A MySQL backup is of the whole database, or it fails. mysqldump sees a
# database through its user's privileges, and what the user may not see it
# leaves out without a word and exits 0: a table the user holds no
# privilege on (SHOW TABLES does not list it), the triggers of a table it
# lacks TRIGGER on (SHOW TRIGGERS does not list them), and a routine it
# holds no privilege on (SHOW PROCEDURE STATUS does not list it). A backup
# user made as many guides make one (SELECT, SHOW VIEW, EVENT) took a dump
# of 3scale's system database without its triggers, and its restore (the
# clean drops every table, the triggers with them) left the database
# without them. Proven against a real MariaDB through tsarc backup:
#   - users without TRIGGER on the database, with grants on one table only,
#     without any privilege that shows routines: refused, each naming what
#     mysqldump would leave out and what to grant, and no snapshot (before,
#     a snapshot without the trigger, the table, the procedure, exit 0);
#   - a user who may see everything, one whose TRIGGER is held through a
#     role and one without TRIGGER whose options say --skip-triggers: their
#     snapshots hold the tables, the trigger and the procedure they dump.
# Roles and PUBLIC: what counts is what mysqldump's own session holds, the
# user's grants, its default role's (enabled at login) with the roles that
# role holds, and MariaDB 10.11's grants TO PUBLIC; a role granted but not
# the default is not enabled in that session:
#   - every privilege through the default role (and a role it holds):
#     backed up, the trigger in the dump;
#   - SELECT, SHOW VIEW, EVENT through the default role, TRIGGER nowhere:
#     refused (before: no check at all once a role was enabled, a snapshot
#     without the trigger, exit 0);
#   - TRIGGER through a role granted but not the default: refused, saying
#     that a role counts as the default role (mysqldump never sets one);
#   - TRIGGER granted TO PUBLIC: backed up with the trigger (before:
#     refused, PUBLIC's grants not read).
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

export TSARC_PASSWORD=mysql-hidden
svc_start m mysql
PORT=$MYSQL_PORT
M=$WORK/svc-m
UPW="bk-$RANDOM-Qz7"
sock_mysql "$M" <<SQL || fail "cannot fill the server"
CREATE DATABASE system;
CREATE TABLE system.accounts (id INT PRIMARY KEY, tenant_id INT);
CREATE TABLE system.settings (id INT PRIMARY KEY, v TEXT);
INSERT INTO system.accounts VALUES (1, 1), (2, 1);
INSERT INTO system.settings VALUES (1, 'kept');
CREATE TRIGGER system.accounts_tenant_id BEFORE INSERT ON system.accounts FOR EACH ROW SET NEW.tenant_id = COALESCE(NEW.tenant_id, 1);
CREATE PROCEDURE system.sequence_next() SELECT 1;
CREATE USER bk_notrig@'%' IDENTIFIED BY '$UPW';
GRANT SELECT, SHOW VIEW, EVENT ON system.* TO bk_notrig@'%';
GRANT SELECT ON mysql.proc TO bk_notrig@'%';
CREATE USER bk_onetable@'%' IDENTIFIED BY '$UPW';
GRANT SELECT, TRIGGER ON system.accounts TO bk_onetable@'%';
GRANT SELECT ON mysql.proc TO bk_onetable@'%';
CREATE USER bk_noroutine@'%' IDENTIFIED BY '$UPW';
GRANT SELECT, SHOW VIEW, EVENT, TRIGGER ON system.* TO bk_noroutine@'%';
CREATE USER bk_all@'%' IDENTIFIED BY '$UPW';
GRANT SELECT, SHOW VIEW, EVENT, TRIGGER ON system.* TO bk_all@'%';
GRANT SELECT ON mysql.proc TO bk_all@'%';
CREATE ROLE bk_triggers;
GRANT TRIGGER ON system.* TO bk_triggers;
CREATE USER bk_role@'%' IDENTIFIED BY '$UPW';
GRANT SELECT, SHOW VIEW, EVENT ON system.* TO bk_role@'%';
GRANT SELECT ON mysql.proc TO bk_role@'%';
GRANT bk_triggers TO bk_role@'%';
SET DEFAULT ROLE bk_triggers FOR bk_role@'%';
CREATE ROLE bk_reader;
GRANT SELECT, SHOW VIEW, EVENT ON system.* TO bk_reader;
GRANT SELECT ON mysql.proc TO bk_reader;
CREATE ROLE bk_dumper;
GRANT bk_reader TO bk_dumper;
GRANT TRIGGER ON system.* TO bk_dumper;
CREATE USER bk_roleall@'%' IDENTIFIED BY '$UPW';
GRANT bk_dumper TO bk_roleall@'%';
SET DEFAULT ROLE bk_dumper FOR bk_roleall@'%';
CREATE USER bk_rolepart@'%' IDENTIFIED BY '$UPW';
GRANT bk_reader TO bk_rolepart@'%';
SET DEFAULT ROLE bk_reader FOR bk_rolepart@'%';
CREATE USER bk_nodefault@'%' IDENTIFIED BY '$UPW';
GRANT SELECT, SHOW VIEW, EVENT ON system.* TO bk_nodefault@'%';
GRANT SELECT ON mysql.proc TO bk_nodefault@'%';
GRANT bk_triggers TO bk_nodefault@'%';
CREATE USER bk_public@'%' IDENTIFIED BY '$UPW';
GRANT SELECT, SHOW VIEW, EVENT ON system.* TO bk_public@'%';
GRANT SELECT ON mysql.proc TO bk_public@'%';
SQL
REPO=$WORK/repo
init_repo "$REPO"
mkdir -p "$WORK/tmp"

# hidden USER WORD: refused, naming the user, WORD alone and the grants.
hidden() {
	DB_USER=$1 refused "$1: $2 hidden from mysqldump" "user $1 may not see the whole of database system: mysqldump would leave out, without an error, the $2 it holds no privilege on; grant it SELECT, SHOW VIEW, TRIGGER and EVENT on the database and, for routines, SELECT on mysql.proc" "$1" "$PORT" "$UPW"
}
hidden bk_notrig triggers
hidden bk_onetable tables
hidden bk_noroutine routines
hidden bk_rolepart triggers
hidden bk_nodefault triggers
expect_err "a role's privileges count only where it is the user's default role \\(SET DEFAULT ROLE\\)" \
	"bk_nodefault: TRIGGER through a role that is not its default"

# whole USER WHAT [COMPONENT-JSON]: backed up, the stream holds both
# tables, and the trigger and the procedure unless WHAT says which not.
whole() {
	local user=$1 what=$2 f
	info "$user: $what"
	COMP=${3:-} DB_USER=$user backup_with "$user" "$PORT" "$UPW"
	[ "$RC" = 0 ] || fail "$user: the backup failed"
	ok dump --repo "$REPO" latest system-mysql.sql
	f=$WORK/$user.sql
	cp "$OUT" "$f"
	grep -q 'CREATE TABLE `accounts`' "$f" || fail "$user: no table accounts"
	grep -q 'CREATE TABLE `settings`' "$f" || fail "$user: no table settings"
	grep -q "'kept'" "$f" || fail "$user: no rows of settings"
	grep -q 'PROCEDURE `sequence_next`' "$f" || fail "$user: no procedure"
	if [ "$what" = "without triggers" ]; then
		! grep -q 'accounts_tenant_id' "$f" || fail "$user: --skip-triggers, yet a trigger"
	else
		grep -q 'TRIGGER system.accounts_tenant_id' "$f" || fail "$user: no trigger"
	fi
}
whole bk_all "every privilege on the database"
whole bk_role "TRIGGER through its default role"
whole bk_notrig "without triggers" '{"external": true, "options": ["--skip-triggers"]}'
whole bk_roleall "every privilege through its default role and the role it holds"
# Last: every user of the server holds what PUBLIC holds.
sock_mysql "$M" -e "GRANT TRIGGER ON system.* TO PUBLIC" || fail "no GRANT ... TO PUBLIC"
whole bk_public "TRIGGER through PUBLIC"

finish
