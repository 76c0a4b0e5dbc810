#!/usr/bin/env bash
# The password of an external MySQL database is not handed to a server
# that asks for it in clear unless the server is verified. MariaDB's client
# (10.11) sends it as is to any server that asks with an auth switch to
# mysql_clear_password or dialog, TLS or not, checked or not: someone who
# can pass for the database host (or an endpoint a configuration names)
# would be handed it. Whatever the mode short of a verified server (none,
# disabled, preferred, TLS unchecked), the client is not given those two
# plugins, and the usual ones still log in (mysql_native_password and
# client_ed25519 here; caching_sha2_password and sha256_password are
# linked the same way, MariaDB's server has neither). With the server
# verified (required / verify_*, the Secret's CA) the clear-text plugins
# stay allowed: managed databases' token and LDAP logins use them.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

ED_PW=$(head -c 12 /dev/urandom | base64 | tr -d '/+=')
two_mysql "INSTALL SONAME 'auth_ed25519';
	CREATE USER ed_user@'%' IDENTIFIED VIA ed25519 USING PASSWORD('$ED_PW');
	GRANT ALL ON system.* TO ed_user@'%';"
CERTS=$WORK/svc-tls/tls
N=0

# leak_refused WHAT PLUGIN HOSTILE-ARGS -- [KEY=VALUE...]: a backup pointed
# at the hostile server that asks for the password with PLUGIN fails,
# naming it, and the server was never sent the password.
leak_refused() {
	local what=$1 plugin=$2 hargs=()
	shift 2
	while [ "$1" != -- ]; do hargs+=("$1"); shift; done
	shift
	N=$((N + 1))
	hostile_start "$N" --plugin "$plugin" "${hargs[@]}"
	refused "$what" "$plugin could not be loaded" "hostile-$N" "$HOSTILE_PORT" "$HOSTILE_PW" "$@"
	hostile_stop
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
DB_USER=ed_user backup_with ed-tls "$TLS_PORT" "$ED_PW"
[ "$RC" = 0 ] || fail "no mode, TLS unchecked, client_ed25519: $(cat "$ERR")"
DB_USER=ed_user backup_with ed-verified "$TLS_PORT" "$ED_PW" DATABASE_SSL_MODE=verify_identity \
	"DB_SSL_CA=@$CERTS/ca.pem"
[ "$RC" = 0 ] || fail "verify_identity, client_ed25519: $(cat "$ERR")"
info "ok"
