#!/usr/bin/env bash
# The TLS mode of a MySQL Secret with MariaDB's client (10.11 here), against
# real servers: one without TLS, one with TLS only and a private CA.
# MariaDB's client takes TLS whenever the server offers it (its "ssl" is on
# by default, as libmysqlclient's PREFERRED that 3scale uses), but its
# --ssl does not require it: "required" (DATABASE_SSL_MODE, or the URL's
# ssl_mode) must never end in a connection in clear, so the client gets
# the one option that makes MariaDB's client refuse one
# (--ssl-verify-server-cert): without the Secret's CA the server is then
# checked against the system's CAs, and a private CA's server is refused
# with the reason, not used unchecked.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

two_mysql

refused "required, a server without TLS: refused, nothing in clear" "SSL is required" \
	req-plain "$PLAIN_PORT" "$PLAIN_PW" DATABASE_SSL_MODE=required
QUERY='?ssl_mode=REQUIRED' refused "the URL's ssl_mode=REQUIRED: the same" "SSL is required" \
	url-plain "$PLAIN_PORT" "$PLAIN_PW"
refused "required without the Secret's CA, a private CA's server: refused with the reason" \
	"certificate|SSL|TLS" req-tls "$TLS_PORT" "$TLS_PW" DATABASE_SSL_MODE=required

info "required, someone in between who offers no TLS and asks for the password in clear"
hostile_start fake
refused "required: the password never goes to a server without TLS" "SSL is required" \
	req-fake "$HOSTILE_PORT" "$HOSTILE_PW" DATABASE_SSL_MODE=required
hostile_stop
! hostile_got_password || fail "mode required: the client sent the password in clear"

info "required with the Secret's CA: verified TLS"
backup_with req-ca "$TLS_PORT" "$TLS_PW" DATABASE_SSL_MODE=required "DB_SSL_CA=@$WORK/svc-tls/tls/ca.pem"
[ "$RC" = 0 ] || fail "mode required with the CA: $(cat "$ERR")"

info "no mode: TLS where the server offers it (unchecked, as 3scale's client), else none"
backup_with none-tls "$TLS_PORT" "$TLS_PW"
[ "$RC" = 0 ] || fail "no mode, a server with TLS only: $(cat "$ERR")"
backup_with none-plain "$PLAIN_PORT" "$PLAIN_PW"
[ "$RC" = 0 ] || fail "no mode, a server without TLS: $(cat "$ERR")"
info "ok"
