#!/usr/bin/env bash
# 3scale's system database on a real MySQL (not MariaDB): MySQL 9.7 of a
# root filesystem of Debian sid ($TSARC_TEST_MYSQL_ROOT, ci/debian-root.sh),
# as the external, managed MySQL of 3scale 2.16+ is, reached from this host
# with Debian 12's MariaDB clients. Both servers keep a binary log with GTIDs
# on (as RDS and Azure do); the admin logs in with caching_sha2_password
# (MySQL 9.7 has no mysql_native_password), over TLS with a client
# certificate, and holds its privileges through its default role, without
# SUPER (RDS's admin and rds_superuser_role). The Secret holds the CA and
# client certificate files MySQL made at --initialize as they are (each
# ends with a NUL byte); the server's certificate, signed with that CA,
# names 127.0.0.1 (ci/services.sh start-mysql-root). Proven, one source and
# one target started once:
#   - MySQL's files taken as they are; a CA with a NUL byte inside its text
#     refused, the error naming that key alone;
#   - backed up and restored (plan first) into the other server, the
#     database equal to the source: its rows (utf8mb4 text with 4-byte
#     characters, a BLOB) by CHECKSUM TABLE, its view, trigger, function and
#     procedure;
#   - a row longer than the target's max_allowed_packet refused before
#     anything is written;
#   - the restore of a dump with a trigger and a function as that admin,
#     while log_bin_trust_function_creators is off, is refused before
#     anything is written (the server would refuse CREATE TRIGGER, ERROR
#     1419, after the clean): MySQL's SHOW GRANTS shows the active role's
#     privileges as the user's own;
#   - restored into a MariaDB 10.11 (a move off MySQL), which lacks MySQL
#     8's default collation utf8mb4_0900_ai_ci that every table names:
#     refused by the plan (--dry-run too: the backup records the names the
#     dump uses) and the run before anything is written, naming the
#     collation;
#   - a backup user whose role lacks TRIGGER is refused (mysqldump would
#     leave the triggers out without an error);
#   - without a verified server, caching_sha2_password is refused over TCP
#     (the password not sent) and logs in over the server's Unix socket;
#   - in the pod (3scale's system-mysql, through the kubectl double), MySQL
#     9.7's own mysqldump and mysql: the dump's SQL_LOG_BIN and GTID_PURGED
#     lines are removed on the way in, into another server and into the
#     server backed up (which refuses its own GTID_PURGED), the rows go to
#     the binary log and the database equals the source.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"
# shellcheck disable=SC1091
. "$(dirname "$0")/mysql_root.sh"

need_root TSARC_TEST_MYSQL_ROOT MySQL
MYSQL_ROOT=$TSARC_TEST_MYSQL_ROOT
export TSARC_PASSWORD=mysql-server
mysql_root_pair
[ "$(tail -c1 "$TLS/ca.pem" | od -An -tx1 | tr -d ' ')" = 00 ] ||
	fail "test setup: MySQL's ca.pem does not end with a NUL byte (what the test is for)"

info "the source: 3scale's system database, shaped like 3scale's"
mysql_root_fill
secret src "$S_PORT" admin "${TLS_KEYS[@]}"
secret dst "$T_PORT" admin "${TLS_KEYS[@]}"
secret reader "$S_PORT" backup "${TLS_KEYS[@]}"

tls_backup "backup of MySQL 9.7 as RDS's admin (caching_sha2_password, a role), verified TLS"
grep -q utf8mb4_0900_ai_ci "$OUT" || fail "the manifest does not record the collation utf8mb4_0900_ai_ci"

info "a CA with a NUL byte inside its text: refused, naming the key that holds it"
{ head -c 100 "$TLS/ca.pem"; printf '\000'; tail -c +101 "$TLS/ca.pem"; } > "$WORK/ca-nul.pem"
secret nul "$S_PORT" admin DATABASE_SSL_MODE=verify_identity "DB_SSL_CA=@$WORK/ca-nul.pem"
TMPDIR=$TLS_TMP t backup --repo "$REPO" --config "$WORK/nul.json"
[ "$RC" = 2 ] || fail "a CA holding a NUL byte inside its text was taken (exit $RC)"
expect_err "^  component 'system-mysql' \(mysql\): Secret system-database, key DB_SSL_CA holds a NUL byte$" \
	"the error names the key that holds the NUL byte, and no other"

info "the restore of a dump with a trigger and a function, the target refusing them the admin: refused, nothing written"
q "$T" -e "CREATE DATABASE \`system\`; CREATE TABLE system.later (id INT); INSERT INTO system.later VALUES (1)"
TMPDIR=$TLS_TMP t restore "$SNAP" --repo "$REPO" --config "$WORK/dst.json"
[ "$RC" != 0 ] || fail "restored though the server refuses the admin CREATE TRIGGER"
[ "$(q "$T" -e 'SELECT GROUP_CONCAT(TABLE_NAME) FROM information_schema.TABLES WHERE TABLE_SCHEMA = "system"')" = later ] ||
	fail "the refused restore changed the target: $(q "$T" -e 'SELECT GROUP_CONCAT(TABLE_NAME) FROM information_schema.TABLES WHERE TABLE_SCHEMA = "system"'); $(grep -v '^  ' "$ERR" | head -3)"
expect_err "log_bin_trust_function_creators" "the refusal names the setting"
expect_err "nothing of it was written" "the refusal says the database is as it was"

info "log_bin_trust_function_creators on: planned, restored, equal to the source"
q "$T" -e "SET GLOBAL log_bin_trust_function_creators = 1; DROP DATABASE \`system\`"
TMPDIR=$TLS_TMP ok restore "$SNAP" --repo "$REPO" --config "$WORK/dst.json" --dry-run
expect_err "admin@127\.0\.0\.1:$T_PORT/system" "the plan names the target's admin"
expect_err "utf8mb4_0900_ai_ci" "the plan names the collation the database is created with"
TMPDIR=$TLS_TMP ok restore "$SNAP" --repo "$REPO" --config "$WORK/dst.json" --json
[ -z "$(ls -A "$TLS_TMP")" ] || fail "TLS files left behind after the restore"
same "restored into a server without the database"
q "$T" system -e "INSERT INTO accounts (id, name) VALUES (4, 'four')" || fail "insert on the target"
[ "$(q "$T" system -e 'SELECT tenant_id FROM accounts WHERE id = 4')" = 40 ] || fail "the trigger does not run"
info "restored over the database: equal again"
TMPDIR=$TLS_TMP ok restore "$SNAP" --repo "$REPO" --config "$WORK/dst.json"
same "restored over the database"

info "into a MariaDB 10.11, which lacks MySQL 8's collation utf8mb4_0900_ai_ci: refused, nothing written"
# A move off MySQL onto a MariaDB: the dump's every table names MySQL 8's
# default collation, which MariaDB has from 11.4.5 only.
M=$WORK/svc-maria
bash "$SERVICES" start-mysql "$M" "$ROOT_PW" >"$WORK/m.log" 2>&1 ||
	{ cat "$WORK/m.log" >&2; fail "the MariaDB target did not start"; }
M_PORT=$(. "$M/env"; echo "$MYSQL_PORT")
# qm SQL...: root of the MariaDB over its socket.
qm() { MYSQL_PWD=$ROOT_PW mariadb --no-defaults -uroot -S "$M/mysql/mysqld.sock" -N -B "$@"; }
qm <<SQL || fail "cannot prepare the MariaDB target"
CREATE DATABASE \`system\`; CREATE TABLE system.kept (id INT); INSERT INTO system.kept VALUES (1);
CREATE USER admin@'%' IDENTIFIED BY '$ADMIN_PW'; GRANT ALL ON *.* TO admin@'%';
SQL
secret_json "$WORK/res-maria/secret/system-database.json" system-database \
	"URL=mysql2://admin:$ADMIN_PW@127.0.0.1:$M_PORT/system" DATABASE_SSL_MODE=disabled
only_config "$WORK/maria.json" "$WORK/res-maria" system-mysql '{}'
# The plan refuses it (the backup recorded the names the dump uses),
# before any step of a deployment restore writes.
t restore "$SNAP" --repo "$REPO" --config "$WORK/maria.json" --dry-run
[ "$RC" != 0 ] || fail "the plan admitted a restore into a MariaDB that lacks utf8mb4_0900_ai_ci"
expect_err "the collation utf8mb4_0900_ai_ci, which the server does not have" "the plan's refusal names the collation"
t restore "$SNAP" --repo "$REPO" --config "$WORK/maria.json"
[ "$RC" != 0 ] || fail "restored into a MariaDB that lacks utf8mb4_0900_ai_ci"
MARIA_TABLES=$(qm -e 'SELECT GROUP_CONCAT(TABLE_NAME) FROM information_schema.TABLES WHERE TABLE_SCHEMA = "system"')
[ "$MARIA_TABLES" = kept ] ||
	fail "the refused restore changed the MariaDB target: tables $MARIA_TABLES; $(grep -v '^  ' "$ERR" | head -3)"
expect_err "the collation utf8mb4_0900_ai_ci, which the server does not have" "the refusal names the collation"
expect_err "nothing of it was written" "the refusal says the database is as it was"

info "a row longer than the target's max_allowed_packet: refused, nothing written"
q "$S" system -e "CREATE TABLE attachments (id INT PRIMARY KEY, body LONGBLOB);
	INSERT INTO attachments VALUES (1, REPEAT(0xab, 2097152))" || fail "cannot add the large row"
TMPDIR=$TLS_TMP ok backup --repo "$REPO" --config "$WORK/src.json" --json
BIG=$(json_get "$OUT" "d['snapshot_id']")
q "$T" -e "SET GLOBAL max_allowed_packet = 1048576"
TMPDIR=$TLS_TMP t restore "$BIG" --repo "$REPO" --config "$WORK/dst.json"
[ "$RC" != 0 ] || fail "a row longer than the target's max_allowed_packet was loaded"
expect_err "max_allowed_packet is 1048576" "the refusal names the target's limit"
same "refused for its large row"
[ -z "$(q "$T" system -e "SHOW TABLES LIKE 'attachments'")" ] || fail "the refused restore wrote the large row's table"
q "$T" -e "SET GLOBAL max_allowed_packet = 67108864"

info "a backup user whose role lacks TRIGGER: refused, mysqldump would leave the triggers out"
TMPDIR=$TLS_TMP t backup --repo "$REPO" --config "$WORK/reader.json"
[ "$RC" != 0 ] || fail "the backup of a user who may not see the triggers went ahead"
expect_err "may not see the whole of database system: mysqldump would leave out, without an error, the triggers" \
	"the refusal names the triggers"

info "without a verified server: refused over TCP, the password not sent; over the socket, logged in"
secret plain "$S_PORT" admin DATABASE_SSL_MODE=disabled
TMPDIR=$TLS_TMP t backup --repo "$REPO" --config "$WORK/plain.json"
[ "$RC" != 0 ] || fail "caching_sha2_password logged in over TCP to a server not verified"
expect_err "Plugin caching_sha2_password could not be loaded" "the client's own words"
expect_err "the password was not sent" "tsarc's reason"
q "$S" -e "CREATE USER local@localhost IDENTIFIED WITH caching_sha2_password BY '$ADMIN_PW';
	GRANT rds_superuser_role TO local@localhost; SET DEFAULT ROLE rds_superuser_role TO local@localhost"
COMP="{\"socket\": \"$S/mysql/mysqld.sock\", \"host\": \"localhost\"}" secret socket "$S_PORT" local
TMPDIR=$TLS_TMP ok backup --repo "$REPO" --config "$WORK/socket.json"
[ -z "$(ls -A "$TLS_TMP")" ] || fail "files left behind after the socket backup"
info "in the pod (3scale's system-mysql): MySQL's own mysqldump and mysql, the dump's GTID lines"
# The kubectl double runs a pod's command on this host, with the pod's
# environment: its PATH finds wrappers that run MySQL 9.7's clients from
# the root first, as the system-mysql image has its own (by their path:
# inside the root, that PATH would find the wrappers again).
mkdir -p "$WORK/podbin" "$WORK/kube/resources"
for tool in mysqldump mysql; do
	printf '#!/bin/sh\nexec sh %s %s /usr/bin/%s "$@"\n' "$TOP/tests/tools/in_root.sh" "$MYSQL_ROOT" "$tool" \
		> "$WORK/podbin/$tool"
	chmod +x "$WORK/podbin/$tool"
done
export FAKE_KUBE_DIR=$WORK/kube FAKE_KUBE_LOG=$WORK/kubectl.log FAKE_KUBE_NAMESPACE=3scale
# pod_config NAME DIR: system-mysql in its pod, the server of DIR.
pod_config() {
	python3 - "$WORK/$1.json" "$FAKE_KUBECTL" "$2/mysql/mysqld.sock" "$WORK/kube/pods.json" \
		"$WORK/podbin:$PATH" "$ROOT_PW" <<'PY2'
import json, sys
path, kubectl, sock, pods, pod_path, pw = sys.argv[1:]
pod = {"apiVersion": "v1", "kind": "Pod",
       "metadata": {"name": "system-mysql-1-abcde", "namespace": "3scale",
                    "labels": {"deployment": "system-mysql"}},
       "spec": {"containers": [{"name": "system-mysql", "env": [
           {"name": "PATH", "value": pod_path}, {"name": "MYSQL_ROOT_PASSWORD", "value": pw}]}]},
       "status": {"phase": "Running"}}
json.dump({"apiVersion": "v1", "kind": "List", "items": [pod]}, open(pods, "w"))
names = ["secrets", "configmaps", "apimanager", "system-mysql", "system-postgresql",
         "system-storage", "zync-database", "backend-redis", "system-redis"]
c = {"profile": "3scale", "post_restore": [],
     "transport": {"type": "kube", "binary": kubectl, "namespace": "3scale",
                   "pass_env": ["FAKE_KUBE_DIR", "FAKE_KUBE_LOG", "FAKE_KUBE_NAMESPACE"]},
     "components": {n: {"enabled": False} for n in names}}
c["components"]["system-mysql"] = {"enabled": True, "external": False, "socket": sock}
json.dump(c, open(path, "w"), indent=2)
PY2
}
pod_config pod-src "$S"
pod_config pod-dst "$T"
ok backup --repo "$REPO" --config "$WORK/pod-src.json" --json
PSNAP=$(json_get "$OUT" "d['snapshot_id']")
ok show --repo "$REPO" "$PSNAP" --json
grep -q '"tool_version":[[:space:]]*"mysqldump  Ver 9\.7' "$OUT" || fail "the pod's mysqldump is not MySQL 9.7's: $(grep tool_version "$OUT")"
ok dump --repo "$REPO" "$PSNAP" system-mysql.sql
for line in 'SET @@SESSION.SQL_LOG_BIN= 0;' "SET @@GLOBAL.GTID_PURGED=/\*!80000 '+'\*/ '" \
	'SET @@SESSION.SQL_LOG_BIN = @MYSQLDUMP_TEMP_LOG_BIN;'; do
	grep -q "^$line" "$OUT" || fail "MySQL's mysqldump wrote no line $line"
done
# restored_in_pod WHAT CONFIG DIR [ARGS...]: PSNAP restored through the
# pod's mysql into the server of DIR (planned first), equal to the source,
# the three statements removed and the rows in the server's binary log.
restored_in_pod() {
	local what=$1 config=$2 dir=$3 pos
	shift 3
	q "$dir" system -e "INSERT INTO settings VALUES (2, 'since the backup')"
	pos=$(q "$dir" -e 'SHOW BINARY LOG STATUS' | cut -f1,2)
	ok restore "$PSNAP" --repo "$REPO" --config "$config" --dry-run --json "$@"
	json_get "$OUT" "d['steps'][0]['plan']['binlog']" | grep -q 'SQL_LOG_BIN and GTID_PURGED .* is removed' ||
		fail "$what: the plan does not say the binary log settings are removed"
	ok restore "$PSNAP" --repo "$REPO" --config "$config" --json "$@"
	same "$what"
	[ "$(json_get "$OUT" "[s['detail']['binlog_statements_removed'] for s in d['steps'] if s['component'] == 'system-mysql'][0]")" = 3 ] ||
		fail "$what: the report does not count the 3 statements removed"
	# MySQL logs rows (binlog_format ROW): the table's map before them.
	q "$dir" -e "SHOW BINLOG EVENTS IN '${pos%%$'\t'*}' FROM ${pos#*$'\t'}" | grep -q 'table_id: [0-9]* (system\.accounts)' ||
		fail "$what: the restore's rows are not in the binary log (its replicas never see them)"
}
restored_in_pod "restored through the pod's mysql into another server" "$WORK/pod-dst.json" "$T"
restored_in_pod "restored through the pod's mysql into the server backed up" "$WORK/pod-src.json" "$S" \
	--allow-source-target

for secret in "$ADMIN_PW" "$ROOT_PW" "$(sed -n 2p "$TLS/client-key.pem")"; do
	! grep -qF -- "$secret" "$WORK/.transcript" "$OUT" "$ERR" 2>/dev/null || fail "a secret is in the output"
done
info "OK"
