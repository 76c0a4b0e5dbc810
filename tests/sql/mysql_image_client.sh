#!/usr/bin/env bash
# The image's MySQL clients against 3scale's external, managed MySQL: the
# tsarc image (ci/image.sh) runs Debian 13's MariaDB 11.8 clients,
# `mysqldump` and `mysql` (mariadb-client), here those of the trixie root
# filesystem ($TSARC_TEST_MARIADB118_ROOT, made by ci/test.sh) run as if
# installed on this host: tsarc finds them as the image does, by name in
# its PATH, which holds them alone. The servers are MySQL 9.7 of the sid
# root (tests/sql/mysql_root.sh): the admin logs in with
# caching_sha2_password (MySQL 9.7 has no mysql_native_password) and a
# client certificate. Proven:
#   - over verified TLS (verify_identity, the CA and client certificate in
#     the Secret): backed up by MariaDB 11.8's mysqldump, the restore
#     planned and run by its mysql into the other server, the database
#     equal to the source (rows by CHECKSUM TABLE, the routines, trigger,
#     view, charset and collation);
#   - no mode, the CA given (a CA is there to be checked against): backed
#     up and restored over the database, equal again;
#   - no mode without the CA, and "preferred" with it, the server not
#     verified: over TCP the client is not given caching_sha2_password
#     (the password not sent), so the backup fails and writes no
#     snapshot, the restore is refused by its plan (which logs in as the
#     step would) and by its run before anything is written, the target as
#     it was; each names what such an account needs (a verified server);
#   - "required" and "verify_identity" without the Secret's CA: the server
#     at 127.0.0.1 is checked against the system's CAs, which MariaDB's
#     client from 11.4 skips for 127.0.0.1 and ::1 where it is given no
#     CA: MySQL's certificate is refused, and a hostile server there
#     (tests/sql/hostile_mysql.py, asking for mysql_clear_password) is
#     not sent the password; the refusal says to give DB_SSL_CA;
#   - a backup user whose role lacks TRIGGER is refused (SHOW GRANTS as
#     MariaDB 11.8's mysql prints MySQL's).
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"
# shellcheck disable=SC1091
. "$(dirname "$0")/mysql_root.sh"

need_root TSARC_TEST_MYSQL_ROOT MySQL
need_root TSARC_TEST_MARIADB118_ROOT "MariaDB 11.8's clients" usr/bin/mariadb-dump
export TSARC_PASSWORD=mysql-image-client
mysql_root_pair
mysql_root_fill
# The admin may create the trigger and the function on the target, which
# keeps a binary log (tests/sql/mysql_server.sh proves the refusal).
q "$T" -e "SET GLOBAL log_bin_trust_function_creators = 1"

# $WORK/bin: the root's mysqldump and mysql (mariadb-dump and mariadb) as
# the image has them; tsarc runs with it as its whole PATH.
mkdir "$WORK/bin"
for tool in mysqldump mysql; do
	printf '#!/bin/sh\nPATH=/usr/sbin:/usr/bin:/sbin:/bin exec sh %s %s %s "$@"\n' \
		"$TOP/tests/tools/in_root.sh" "$TSARC_TEST_MARIADB118_ROOT" "$tool" >"$WORK/bin/$tool"
	chmod +x "$WORK/bin/$tool"
done
case $("$WORK/bin/mysqldump" --version) in
*"from 11.8."*"-MariaDB"*) ;;
*) fail "test setup: the root's mysqldump is not MariaDB 11.8's: $("$WORK/bin/mysqldump" --version)" ;;
esac
printf '#!/bin/sh\nPATH=%s exec %s "$@"\n' "$WORK/bin" "$TSARC" >"$WORK/tsarc"
chmod +x "$WORK/tsarc"
TSARC=$WORK/tsarc

secret src "$S_PORT" admin "${TLS_KEYS[@]}"
secret dst "$T_PORT" admin "${TLS_KEYS[@]}"
tls_backup "backup of MySQL 9.7 by MariaDB 11.8's mysqldump, verified TLS, caching_sha2_password"
grep -q '"tool_version":[[:space:]]*"mysqldump from 11\.8\.' "$OUT" ||
	fail "the dump is not MariaDB 11.8's: $(grep tool_version "$OUT")"

info "planned and restored by MariaDB 11.8's mysql into the other MySQL 9.7, equal to the source"
TMPDIR=$TLS_TMP ok restore "$SNAP" --repo "$REPO" --config "$WORK/dst.json" --dry-run
expect_err "admin@127\.0\.0\.1:$T_PORT/system" "the plan names the target's admin"
expect_err "tls: verify-full, the Secret's CA, the Secret's client certificate" "the plan's TLS"
TMPDIR=$TLS_TMP ok restore "$SNAP" --repo "$REPO" --config "$WORK/dst.json"
[ -z "$(ls -A "$TLS_TMP")" ] || fail "TLS files left behind after the restore"
same "restored by MariaDB 11.8's mysql"

info "no mode, the CA given: verified, backed up and restored over the database"
secret src-nomode "$S_PORT" admin "${TLS_KEYS[@]:1}"
secret dst-nomode "$T_PORT" admin "${TLS_KEYS[@]:1}"
q "$S" system -e "INSERT INTO settings VALUES (2, 'since the first backup')"
TMPDIR=$TLS_TMP ok backup --repo "$REPO" --config "$WORK/src-nomode.json" --json
SNAP=$(json_get "$OUT" "d['snapshot_id']")
TMPDIR=$TLS_TMP ok restore "$SNAP" --repo "$REPO" --config "$WORK/dst-nomode.json" --dry-run
expect_err "tls: verify-ca, the Secret's CA" "the plan's TLS"
TMPDIR=$TLS_TMP ok restore "$SNAP" --repo "$REPO" --config "$WORK/dst-nomode.json"
same "restored over the database, no mode"

# snapshots: how many the repository holds.
snapshots() { "$TSARC" snapshots --repo "$REPO" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
NSNAP=$(snapshots)
# unverified WHAT: the last command failed on caching_sha2_password, the
# password not sent, naming what such an account needs.
unverified() {
	[ "$RC" != 0 ] || fail "$1: went ahead"
	expect_err "Plugin caching_sha2_password could not be loaded" "$1: the client's words"
	expect_err "the server asked for caching_sha2_password over a connection whose server is not verified: refused, the password was not sent" \
		"$1: tsarc's reason"
	expect_err "need a verified server: DATABASE_SSL_MODE required or verify_identity, DB_SSL_CA" "$1: what to do"
}
for mode in "" preferred; do
	what="${mode:-no mode} (TLS unchecked${mode:+, the CA given})"
	keys=("${TLS_KEYS[@]:2}")
	[ -z "$mode" ] || keys=(DATABASE_SSL_MODE="$mode" "${TLS_KEYS[@]:1}")
	info "$what: caching_sha2_password refused over TCP, nothing written"
	secret "src-u$mode" "$S_PORT" admin "${keys[@]}"
	secret "dst-u$mode" "$T_PORT" admin "${keys[@]}"
	TMPDIR=$TLS_TMP t backup --repo "$REPO" --config "$WORK/src-u$mode.json"
	unverified "$what, backup"
	[ "$(snapshots)" = "$NSNAP" ] || fail "$what: a snapshot was written"
	# The plan logs in as the step would: refused there, before any step
	# of a deployment restore writes.
	TMPDIR=$TLS_TMP t restore "$SNAP" --repo "$REPO" --config "$WORK/dst-u$mode.json" --dry-run
	unverified "$what, plan"
	TMPDIR=$TLS_TMP t restore "$SNAP" --repo "$REPO" --config "$WORK/dst-u$mode.json"
	unverified "$what, restore"
	same "$what: the refused restore"
	[ -z "$(ls -A "$TLS_TMP")" ] || fail "$what: files left behind"
done

info "required, no CA in the Secret: MySQL's certificate is checked against the system's CAs, refused"
# MariaDB's client from 11.4 takes a server at 127.0.0.1 or ::1 on trust
# when it is given no CA: it logged in.
secret src-req "$S_PORT" admin DATABASE_SSL_MODE=required "${TLS_KEYS[@]:2}"
TMPDIR=$TLS_TMP t backup --repo "$REPO" --config "$WORK/src-req.json"
[ "$RC" != 0 ] || fail "required without the CA: a server whose certificate no system CA signed was taken on trust"
expect_err "TLS/SSL error: .*certificate" "the client's words"
expect_err "give the CA that signed its certificate in DB_SSL_CA" "what to do"
[ "$(snapshots)" = "$NSNAP" ] || fail "required without the CA: a snapshot was written"

info "verify_identity, no CA: a server at 127.0.0.1 that no system CA vouches for is not sent the password"
# It asks for mysql_clear_password: before, it got the password itself.
hostile_start loopback --tls "$TLS/host-cert.pem" "$TLS/host-key.pem"
ADMIN_PW=$HOSTILE_PW secret hostile "$HOSTILE_PORT" admin DATABASE_SSL_MODE=verify_identity
TMPDIR=$TLS_TMP t backup --repo "$REPO" --config "$WORK/hostile.json"
hostile_stop
[ "$RC" != 0 ] || fail "the hostile server's refusal was not seen"
! hostile_got_password || fail "verify_identity without the CA: the password was sent to a server nobody checked"
expect_err "TLS/SSL error: .*certificate" "the client's words"
expect_err "give the CA that signed its certificate in DB_SSL_CA" "what to do"

info "a backup user whose role lacks TRIGGER: refused"
secret reader "$S_PORT" backup "${TLS_KEYS[@]}"
TMPDIR=$TLS_TMP t backup --repo "$REPO" --config "$WORK/reader.json"
[ "$RC" != 0 ] || fail "the backup of a user who may not see the triggers went ahead"
expect_err "may not see the whole of database system: mysqldump would leave out, without an error, the triggers" \
	"the refusal names the triggers"
[ -z "$(ls -A "$TLS_TMP")" ] || fail "files left behind"

for secret in "$ADMIN_PW" "$ROOT_PW" "$HOSTILE_PW" "$(sed -n 2p "$TLS/client-key.pem")"; do
	! grep -qF -- "$secret" "$WORK/.transcript" "$OUT" "$ERR" 2>/dev/null || fail "a secret is in the output"
done
info "OK"
