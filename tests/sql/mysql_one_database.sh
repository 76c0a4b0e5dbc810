#!/usr/bin/env bash
# A MySQL restore writes into its target database and nowhere else. The
# mysql client runs what the stream says: a USE, a CREATE/DROP DATABASE, a
# table named `other`.`t`, a GRANT would reach past the database the
# restore was asked to replace, and report success. Proven against a real
# MariaDB through tsarc restore:
#   - a dump taken with --databases (a component's options) holds
#     CREATE DATABASE and USE of its own name: restored under another name,
#     it is refused, the database it names is left as it is and the target
#     is not even created (the stream is read whole first); under its own
#     name it restores;
#   - a stream that goes on past a real dump into another database (USE,
#     a qualified INSERT or DROP TABLE, DROP DATABASE, a GRANT, a USE in a
#     multi-statement after DELIMITER, one behind the sandbox line's
#     backslash, after `--` and a control character, after a versioned
#     comment the server skips, or in a string that SET NAMES sjis ends
#     elsewhere for the server) is refused before the
#     client gets a byte of it: the target keeps its rows (its clean did not
#     run), the other database too;
#   - a backup with --all-databases fails, and no snapshot is written.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

export TSARC_PASSWORD=mysql-one-database
svc_start m mysql
PORT=$MYSQL_PORT PW=$MYSQL_ROOT_PASSWORD
M=$WORK/svc-m
sock_mysql "$M" <<'SQL' || fail "cannot fill the server"
CREATE DATABASE system;
CREATE TABLE system.t (id INT PRIMARY KEY, note TEXT);
INSERT INTO system.t VALUES (1, 'USE other; -- DROP DATABASE other'), (2, '`other`.`o`');
CREATE TRIGGER system.t_ins BEFORE INSERT ON system.t FOR EACH ROW SET NEW.note = COALESCE(NEW.note, '');
CREATE DATABASE other;
CREATE TABLE other.o (id INT);
INSERT INTO other.o VALUES (1);
CREATE VIEW system.v AS SELECT id FROM other.o;
DELIMITER ;;
CREATE PROCEDURE system.p() BEGIN SELECT COUNT(*) FROM other.o; SELECT 'USE other;'; END;;
DELIMITER ;
SQL
rows() { sock_mysql "$M" -e "SELECT GROUP_CONCAT(id ORDER BY id) FROM $1"; }
have_db() { [ -n "$(sock_mysql "$M" -e "SHOW DATABASES LIKE '$1'")" ]; }

REPO=$WORK/repo
init_repo "$REPO"
# config NAME DATABASE [COMPONENT-JSON]: system-mysql of this server, its
# Secret's URL naming DATABASE.
config() {
	secret_json "$WORK/res-$1/secret/system-database.json" system-database \
		"URL=mysql2://root:$PW@127.0.0.1:$PORT/$2"
	only_config "$WORK/$1.json" "$WORK/res-$1" system-mysql "${3:-{\"external\": true\}}"
}
config system system
config renamed system_b
config databases system '{"external": true, "options": ["--databases"]}'
config all system '{"external": true, "options": ["--all-databases"]}'

info "a dump taken with --databases: its own name restores, another is refused"
ok backup --repo "$REPO" --config "$WORK/databases.json" --json
SNAP=$(json_get "$OUT" "d['snapshot_id']")
ok dump --repo "$REPO" "$SNAP" system-mysql.sql
grep -q '^USE `system`;' "$OUT" || fail "test setup: the dump has no USE"
sock_mysql "$M" -e "INSERT INTO system.t VALUES (3, NULL)" || fail "cannot change system"
t restore "$SNAP" --repo "$REPO" --config "$WORK/renamed.json"
[ "$(rows system.t)" = 1,2,3 ] || fail "a restore into system_b wrote database system: $(rows system.t) (exit $RC)"
[ "$RC" -ne 0 ] || fail "a dump of database system restored into system_b"
expect_err 'CREATE DATABASE `system` at byte [0-9]*.*system_b' "the error names the dump's database and the target"
! have_db system_b || fail "the refused restore left database system_b"
! grep -q "created by this restore" "$ERR" || fail "the refused restore created system_b first"
ok restore "$SNAP" --repo "$REPO" --config "$WORK/system.json" --allow-source-target
[ "$(rows system.t)" = 1,2 ] || fail "the dump did not restore into its own database: $(rows system.t)"

info "a backup of every database is refused"
t backup --repo "$REPO" --config "$WORK/all.json"
[ "$RC" -ne 0 ] || fail "a backup with --all-databases went ahead"
expect_err "USE|DATABASE" "the error names the statement"
n=$("$TSARC" snapshots --repo "$REPO" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
[ "$n" = 1 ] || fail "the refused backup wrote a snapshot ($n snapshots)"

ok backup --repo "$REPO" --config "$WORK/system.json" --json
SNAP=$(json_get "$OUT" "d['snapshot_id']")
ok dump --repo "$REPO" "$SNAP" system-mysql.sql
cp "$OUT" "$WORK/real.sql"
ok restore "$SNAP" --repo "$REPO" --config "$WORK/system.json"
[ "$(rows system.t)" = 1,2 ] || fail "a real dump did not restore: $(rows system.t)"
sock_mysql "$M" system -e "CALL p()" >/dev/null || fail "the procedure does not run"

# escape NAME TAIL PATTERN: the real dump, then TAIL, as the snapshot's
# system-mysql.sql: the restore fails naming PATTERN, and neither database
# changed (the target's clean did not run either).
escape() {
	sock_mysql "$M" -e "INSERT INTO system.t VALUES (9, 'since')" || fail "cannot change system"
	{ cat "$WORK/real.sql"; printf '%s\n' "$2"; } >"$WORK/escape.sql"
	t backup --repo "$REPO" --stdin --name system-mysql.sql --json <"$WORK/escape.sql"
	[ "$RC" -eq 0 ] || fail "$1: backup --stdin exited with $RC"
	SNAP=$(json_get "$OUT" "d['snapshot_id']")
	t restore "$SNAP" --repo "$REPO" --config "$WORK/system.json"
	[ "$(rows other.o)" = 1 ] || fail "$1: database other changed: $(rows other.o) (exit $RC)"
	[ "$(rows system.t)" = 1,2,9 ] || fail "$1: the target changed: $(rows system.t) (exit $RC)"
	have_db other || fail "$1: database other is gone"
	[ "$RC" -ne 0 ] || fail "$1: the restore succeeded"
	expect_err "$3" "$1: the error names what was refused"
	sock_mysql "$M" -e "DELETE FROM system.t WHERE id = 9" || fail "cannot change system back"
}
escape "USE" 'USE other; DELETE FROM o;' 'USE `other`|USE other'
escape "a qualified INSERT" 'INSERT INTO `other`.o VALUES (7);' 'other'
escape "a qualified DROP TABLE" 'DROP TABLE IF EXISTS t, other.o;' 'other'
escape "DROP DATABASE" '/*!40000 DROP DATABASE IF EXISTS `other` */;' 'DROP DATABASE'
escape "a GRANT" "GRANT ALL ON *.* TO 'nobody'@'%';" 'GRANT'
escape "a USE in a multi-statement" "$(printf 'DELIMITER ;;\nSET @a = 1; USE other;;\nDELETE FROM o;;')" 'USE'
escape "a USE behind a backslash" "$(printf '/*M!999999\\- x */ USE other; DELETE FROM o;')" 'backslash'
# The client ends the statement at the ';' after `--` and a control
# character; the server reads that part as a comment.
escape "a USE after -- and a control character" "$(printf 'SELECT 1 --\x01 ; USE other; DELETE FROM o;')" 'comment'
# MariaDB skips a versioned comment of a later version: the statement is
# the USE after it.
escape "a USE after a versioned comment the server skips" '/*M!999999 SELECT 1, */ USE other; DELETE FROM o;' 'USE `other`'
# In sjis the server reads 0x95 and the backslash after it as one
# character: its string ends where the client's does not, and the rest of
# the multi-statement runs (mysql's exit is 1, what ran stays).
escape "a USE hidden by SET NAMES sjis" "$(printf "SET NAMES sjis;\nDELIMITER ;;\nSELECT '\x95\\\\'; USE other; DELETE FROM o; SELECT ';;\nDELIMITER ;")" 'character set'
info "ok"
