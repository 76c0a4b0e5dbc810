# shellcheck shell=bash disable=SC2034,SC1091
# Helpers of the tests against MySQL 9.7 of the sid root filesystem
# ($TSARC_TEST_MYSQL_ROOT, ci/debian-root.sh): tests/sql/mysql_server.sh
# (Debian 12's MariaDB 10.11 clients) and tests/sql/mysql_image_client.sh
# (Debian 13's MariaDB 11.8 clients, the image's). Sourced after lib.sh,
# not run.

# mysql_root_pair: a source ($S) and a target ($T) MySQL 9.7 as the
# external, managed MySQL of 3scale 2.16+ is: a binary log with GTIDs on (as
# RDS and Azure keep), a server certificate signed with MySQL's own CA
# naming 127.0.0.1 (ci/services.sh start-mysql-root). Their ports in
# S_PORT / T_PORT, MySQL's CA and client certificate files in TLS (each
# ends with a NUL byte) and TLS_KEYS, the Secret's keys of a verified
# server (verify_identity) with them; root's password ROOT_PW (`q` logs in as root), and
# on both: RDS's admin, its privileges through its default role
# (rds_superuser_role), without SUPER, logging in with
# caching_sha2_password (MySQL 9.7 has no mysql_native_password) and a
# client certificate (REQUIRE X509), password ADMIN_PW; and `backup`,
# whose default role `reader` lacks TRIGGER.
mysql_root_pair() {
	local d
	S=$WORK/svc-src
	T=$WORK/svc-dst
	bash "$SERVICES" start-mysql-root "$S" "$TSARC_TEST_MYSQL_ROOT" >"$WORK/s.log" 2>&1 ||
		{ cat "$WORK/s.log" >&2; fail "the source MySQL did not start"; }
	bash "$SERVICES" start-mysql-root "$T" "$TSARC_TEST_MYSQL_ROOT" "$S" >"$WORK/t.log" 2>&1 ||
		{ cat "$WORK/t.log" >&2; fail "the target MySQL did not start"; }
	S_PORT=$(. "$S/env"; echo "$MYSQL_PORT")
	T_PORT=$(. "$T/env"; echo "$MYSQL_PORT")
	TLS=$(. "$S/env"; echo "$MYSQL_TLS_DIR")
	TLS_KEYS=(DATABASE_SSL_MODE=verify_identity "DB_SSL_CA=@$TLS/ca.pem" "DB_SSL_CERT=@$TLS/client-cert.pem"
		"DB_SSL_KEY=@$TLS/client-key.pem")
	ADMIN_PW="adm-$RANDOM-Xq7"
	ROOT_PW="root-$RANDOM-Wz2"
	for d in "$S" "$T"; do
		mariadb --no-defaults -uroot -S "$d/mysql/mysqld.sock" -e "ALTER USER root@localhost IDENTIFIED BY '$ROOT_PW'" ||
			fail "cannot set root's password in $d"
	done
	[ "$(q "$S" -e 'SELECT @@version LIKE "9.%", @@gtid_mode, @@log_bin')" = "$(printf '1\tON\t1')" ] ||
		fail "the source is not a MySQL 9 with GTIDs and a binary log: $(q "$S" -e 'SELECT @@version, @@gtid_mode, @@log_bin')"
	for d in "$S" "$T"; do
		q "$d" <<SQL || fail "cannot create the users of $d"
CREATE ROLE rds_superuser_role, reader;
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, RELOAD, PROCESS, REFERENCES, INDEX, ALTER,
  SHOW DATABASES, CREATE TEMPORARY TABLES, LOCK TABLES, EXECUTE, REPLICATION SLAVE,
  REPLICATION CLIENT, CREATE VIEW, SHOW VIEW, CREATE ROUTINE, ALTER ROUTINE, CREATE USER, EVENT,
  TRIGGER ON *.* TO rds_superuser_role WITH GRANT OPTION;
GRANT SELECT, SHOW VIEW, EVENT, LOCK TABLES, EXECUTE, PROCESS ON *.* TO reader;
CREATE USER admin@'%' IDENTIFIED WITH caching_sha2_password BY '$ADMIN_PW' REQUIRE X509;
GRANT rds_superuser_role TO admin@'%';
SET DEFAULT ROLE rds_superuser_role TO admin@'%';
CREATE USER backup@'%' IDENTIFIED WITH caching_sha2_password BY '$ADMIN_PW' REQUIRE X509;
GRANT reader TO backup@'%';
SET DEFAULT ROLE reader TO backup@'%';
SQL
	done
	[ "$(q "$S" -e "SELECT plugin FROM mysql.user WHERE user = 'admin'")" = caching_sha2_password ] ||
		fail "test setup: admin does not log in with caching_sha2_password"
}

# q DIR SQL...: root over the socket of the server in DIR.
q() {
	local dir=$1
	shift
	MYSQL_PWD=$ROOT_PW mariadb --no-defaults -uroot -S "$dir/mysql/mysqld.sock" \
		--default-character-set=utf8mb4 -N -B "$@"
}

# mysql_root_fill: the source's database `system`, shaped like 3scale's:
# utf8mb4 text with 4-byte characters, a BLOB, MySQL 8's default collation
# and a table of another, a trigger, a view, a function and a procedure.
mysql_root_fill() {
	q "$S" <<'SQL' || fail "cannot fill the source"
CREATE DATABASE `system` CHARACTER SET utf8mb4 COLLATE utf8mb4_0900_ai_ci;
USE `system`;
CREATE TABLE accounts (id INT PRIMARY KEY, name VARCHAR(40), logo MEDIUMBLOB, tenant_id INT);
INSERT INTO accounts VALUES (1, 'one 😀', 0x00ff10275c, NULL), (2, 'two ☃ 𝄞', NULL, 7),
  (3, 'DEFINER=`root`@`localhost`', REPEAT(0xfe, 70000), 3);
CREATE TABLE settings (id INT PRIMARY KEY, v TEXT) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
INSERT INTO settings VALUES (1, 'kept 🚀');
CREATE TRIGGER accounts_tenant_id BEFORE INSERT ON accounts
  FOR EACH ROW SET NEW.tenant_id = COALESCE(NEW.tenant_id, NEW.id * 10);
CREATE VIEW named AS SELECT id, name FROM accounts;
CREATE FUNCTION smile() RETURNS VARCHAR(8) DETERMINISTIC RETURN '😀';
CREATE PROCEDURE sp_count(OUT n INT) SELECT COUNT(*) INTO n FROM accounts;
SQL
}

# secret NAME PORT USER [KEY=VALUE...]: the system-database Secret of
# the server on PORT as USER (password ADMIN_PW) with the pairs, and
# $WORK/NAME.json, system-mysql only (its fields $COMP, JSON).
secret() {
	local name=$1 port=$2 user=$3
	shift 3
	secret_json "$WORK/res-$name/secret/system-database.json" system-database \
		"URL=mysql2://$user:$ADMIN_PW@127.0.0.1:$port/system" "$@"
	only_config "$WORK/$name.json" "$WORK/res-$name" system-mysql "${COMP:-{\}}"
}

# same WHAT: the target's database `system` equals the source's: the rows
# (CHECKSUM TABLE, the names' bytes), the function, the view, the routines,
# the trigger and the database's charset and collation.
same() {
	local d sum=() t
	for d in "$S" "$T"; do
		t=$(q "$d" system -e "CHECKSUM TABLE accounts, settings EXTENDED;
			SELECT GROUP_CONCAT(CONCAT(id, ':', HEX(name)) ORDER BY id) FROM accounts;
			SELECT smile(); SELECT COUNT(*) FROM named;
			SELECT GROUP_CONCAT(ROUTINE_NAME ORDER BY ROUTINE_NAME) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = 'system';
			SELECT GROUP_CONCAT(TRIGGER_NAME) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = 'system';
			SELECT CONCAT(DEFAULT_CHARACTER_SET_NAME, ' ', DEFAULT_COLLATION_NAME) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'system'" 2>&1)
		sum+=("$t")
	done
	[ "${sum[0]}" = "${sum[1]}" ] || fail "$1: the target differs from the source:
$(diff <(echo "${sum[0]}") <(echo "${sum[1]}"))"
}
