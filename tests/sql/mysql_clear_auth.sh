#!/usr/bin/env bash
# The password of an external MySQL database is not handed to a server
# that asks for it in clear unless the server is verified. MariaDB's client
# (10.11) sends it as is to any server that asks with an auth switch to
# mysql_clear_password or dialog, TLS or not, checked or not: someone who
# can pass for the database host (or an endpoint a configuration names)
# would be handed it. Whatever the mode short of a verified server (none,
# disabled, preferred, TLS unchecked), the client is not given those two
# plugins, and the usual ones still log in (mysql_native_password and
# client_ed25519 here, over TCP and over the server's socket). Over TCP to
# a server not verified, caching_sha2_password and sha256_password are
# not given either: a server that switches to them and asks for full
# authentication gets the password as is (the client's default ssl is on
# even where no TLS was agreed, or TLS nobody checked) or encrypted to
# whatever public key it sends. Over this host's socket they stay (the
# double, listening there, is sent the password as a MySQL 8 server
# would be). With the server verified (required / verify_*, the Secret's
# CA) all stay allowed: managed databases' token and LDAP logins use them.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

ED_PW=$(head -c 12 /dev/urandom | base64 | tr -d '/+=')
two_mysql "INSTALL SONAME 'auth_ed25519';
	CREATE USER ed_user@'%' IDENTIFIED VIA ed25519 USING PASSWORD('$ED_PW');
	GRANT ALL ON system.* TO ed_user@'%';"
CERTS=$WORK/svc-tls/tls
N=0

# hostile_backup WHAT PLUGIN HOSTILE-ARGS -- [KEY=VALUE...]: (info WHAT) a
# backup pointed at a new hostile server that asks with PLUGIN, given the
# arguments before -- (the Secret's pairs after), stopped after it.
hostile_backup() {
	local what=$1 plugin=$2 hargs=()
	shift 2
	while [ "$1" != -- ]; do hargs+=("$1"); shift; done
	shift
	N=$((N + 1))
	info "$what"
	hostile_start "$N" --plugin "$plugin" "${hargs[@]}"
	backup_with "hostile-$N" "$HOSTILE_PORT" "$HOSTILE_PW" "$@"
	hostile_stop
}

# leak_refused WHAT PLUGIN HOSTILE-ARGS -- [KEY=VALUE...]: hostile_backup
# fails, naming PLUGIN, and the server was never sent the password.
leak_refused() {
	local what=$1 plugin=$2
	hostile_backup "$@"
	[ "$RC" != 0 ] || fail "$what: the backup went ahead"
	expect_err "$plugin could not be loaded" "$what"
	no_snapshot "$REPO" "$what"
	expect_err "whose server is not verified: refused, the password was not sent" "$what"
	[ -s "$HOSTILE_GOT" ] || fail "$what: the client never answered the hostile server"
	! hostile_got_password || fail "$what: the client sent the password in clear"
}

leak_refused "no mode, no TLS, a switch to mysql_clear_password" mysql_clear_password --
leak_refused "no mode, no TLS, a switch to dialog" dialog --
leak_refused "disabled, a switch to mysql_clear_password" mysql_clear_password -- \
	DATABASE_SSL_MODE=disabled
leak_refused "preferred, TLS with a certificate nobody checks" mysql_clear_password \
	--tls "$CERTS/server.pem" "$CERTS/server.key" -- DATABASE_SSL_MODE=preferred
leak_refused "no mode, TLS unchecked, a switch to dialog" dialog \
	--tls "$CERTS/server.pem" "$CERTS/server.key" --
# The test stops the double as soon as the backup ends, maybe while the
# double, after the client went, is still saving what it was sent: its
# record must be whole all the same.
leak_refused "no mode, no TLS, a switch to dialog, the double stopped while it saves" dialog \
	--slow-save 1 --

# sha_refused WHAT PLUGIN HOSTILE-ARGS -- [KEY=VALUE...]: hostile_backup
# with PLUGIN a SHA-256 one (caching_sha2_password: then full
# authentication) over TCP: the client does not answer the switch (no
# password as is, no key request, nothing to decrypt) nor back up, and the
# failure names PLUGIN and what such an account needs.
sha_refused() {
	local what=$1 plugin=$2
	hostile_backup "$@"
	! hostile_got_password || fail "$what: the hostile server got the password" \
		"($(tr '\n' ' ' <"$HOSTILE_GOT.steps"))"
	! hostile_did key-request || fail "$what: the client asked the hostile server for its key"
	! hostile_did answer || fail "$what: the client answered the switch to $plugin"
	[ -s "$HOSTILE_GOT" ] || fail "$what: the client never answered the hostile server"
	[ "$RC" != 0 ] || fail "$what: the backup went ahead"
	expect_err "$plugin could not be loaded" "$what"
	expect_err "the server asked for $plugin over a connection whose server is not verified: refused, the password was not sent" "$what"
	expect_err "accounts that log in with $plugin \(.*\) need a verified server: DATABASE_SSL_MODE required or verify_identity, DB_SSL_CA" "$what"
	no_snapshot "$REPO" "$what"
}

sha_refused "no mode, no TLS, caching_sha2_password full authentication (the password as is)" \
	caching_sha2_password --
sha_refused "disabled, caching_sha2_password full authentication (encrypted to the server's key)" \
	caching_sha2_password -- DATABASE_SSL_MODE=disabled
sha_refused "preferred, TLS unchecked, caching_sha2_password" caching_sha2_password \
	--tls "$CERTS/server.pem" "$CERTS/server.key" -- DATABASE_SSL_MODE=preferred
sha_refused "no mode, no TLS, sha256_password (encrypted to the server's key)" sha256_password --
sha_refused "no mode, TLS unchecked, sha256_password (the password as is)" sha256_password \
	--tls "$CERTS/server.pem" "$CERTS/server.key" --

info "the server's socket on this host, no mode: caching_sha2_password still logs in"
hostile_start sock --plugin caching_sha2_password --unix "$WORK/hostile.sock"
COMP='{"external": true, "host": "localhost", "socket": "'$WORK/hostile.sock'"}' \
	backup_with sock 1 "$HOSTILE_PW"
hostile_stop
[ "$RC" != 0 ] || fail "socket: the hostile server's refusal was not seen"
hostile_got_password || fail "socket: caching_sha2_password was not allowed over this host's socket"

info "required with the Secret's CA, the server verified: caching_sha2_password stays allowed"
hostile_start verified-sha --plugin caching_sha2_password --tls "$CERTS/server.pem" "$CERTS/server.key"
backup_with verified-sha "$HOSTILE_PORT" "$HOSTILE_PW" DATABASE_SSL_MODE=required "DB_SSL_CA=@$CERTS/ca.pem"
hostile_stop
[ "$RC" != 0 ] || fail "verified: the hostile server's refusal was not seen"
hostile_got_password || fail "verified TLS: caching_sha2_password was not allowed"

info "required with the Secret's CA, the server verified: the clear-text plugins stay allowed"
hostile_start verified --tls "$CERTS/server.pem" "$CERTS/server.key"
backup_with verified "$HOSTILE_PORT" "$HOSTILE_PW" DATABASE_SSL_MODE=required "DB_SSL_CA=@$CERTS/ca.pem"
hostile_stop
[ "$RC" != 0 ] || fail "verified: the hostile server's refusal was not seen"
hostile_got_password || fail "verified TLS: mysql_clear_password was not allowed"

info "ordinary logins still work: mysql_native_password and client_ed25519, with and without TLS"
backup_with native "$PLAIN_PORT" "$PLAIN_PW"
[ "$RC" = 0 ] || fail "no mode, mysql_native_password: $(cat "$ERR")"
DB_USER=ed_user backup_with ed "$PLAIN_PORT" "$ED_PW"
[ "$RC" = 0 ] || fail "no mode, client_ed25519: $(cat "$ERR")"
SOCK=$WORK/svc-plain/mysql/mysqld.sock
COMP='{"external": true, "host": "localhost", "socket": "'$SOCK'"}' backup_with native-sock 1 "$PLAIN_PW"
[ "$RC" = 0 ] || fail "socket, mysql_native_password: $(cat "$ERR")"
DB_USER=ed_user COMP='{"external": true, "host": "localhost", "socket": "'$SOCK'"}' \
	backup_with ed-sock 1 "$ED_PW"
[ "$RC" = 0 ] || fail "socket, client_ed25519: $(cat "$ERR")"
DB_USER=ed_user backup_with ed-tls "$TLS_PORT" "$ED_PW"
[ "$RC" = 0 ] || fail "no mode, TLS unchecked, client_ed25519: $(cat "$ERR")"
DB_USER=ed_user backup_with ed-verified "$TLS_PORT" "$ED_PW" DATABASE_SSL_MODE=verify_identity \
	"DB_SSL_CA=@$CERTS/ca.pem"
[ "$RC" = 0 ] || fail "verify_identity, client_ed25519: $(cat "$ERR")"
info "ok"
