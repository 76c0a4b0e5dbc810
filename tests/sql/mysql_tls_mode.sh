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

export TSARC_PASSWORD=sql-test
svc_start plain mysql
PLAIN_PORT=$MYSQL_PORT PLAIN_PW=$MYSQL_ROOT_PASSWORD
svc_start tls mysql-tls
TLS_PORT=$MYSQL_PORT TLS_PW=$MYSQL_ROOT_PASSWORD
for d in plain tls; do
	sock_mysql "$WORK/svc-$d" -e "CREATE DATABASE system; CREATE TABLE system.t (id INT PRIMARY KEY); INSERT INTO system.t VALUES (1);" ||
		fail "cannot fill $d"
done
REPO=$WORK/repo
init_repo "$REPO"
mkdir -p "$WORK/tmp"

# backup_with NAME PORT PASSWORD [KEY=VALUE...]: a backup of system-mysql
# whose system-database Secret has URL (root on PORT, then $QUERY) and the pairs.
backup_with() {
	local name=$1 port=$2 pw=$3
	shift 3
	secret_json "$WORK/res-$name/secret/system-database.json" system-database \
		"URL=mysql2://root:$pw@127.0.0.1:$port/system${QUERY:-}" "$@"
	only_config "$WORK/$name.json" "$WORK/res-$name" system-mysql '{"external": true}'
	TMPDIR=$WORK/tmp t backup --repo "$REPO" --config "$WORK/$name.json"
	[ -z "$(ls -A "$WORK/tmp")" ] || fail "$name: TLS files left behind"
}

# refused WHAT PATTERN NAME PORT PASSWORD [KEY=VALUE...]: backup_with
# fails, stderr matching PATTERN, and no snapshot is written.
refused() {
	local what=$1 pattern=$2
	shift 2
	info "$what"
	backup_with "$@"
	[ "$RC" != 0 ] || fail "$what: the backup went ahead"
	expect_err "$pattern" "$what"
	no_snapshot "$REPO" "$what"
}

refused "required, a server without TLS: refused, nothing in clear" "SSL is required" \
	req-plain "$PLAIN_PORT" "$PLAIN_PW" DATABASE_SSL_MODE=required
QUERY='?ssl_mode=REQUIRED' refused "the URL's ssl_mode=REQUIRED: the same" "SSL is required" \
	url-plain "$PLAIN_PORT" "$PLAIN_PW"
refused "required without the Secret's CA, a private CA's server: refused with the reason" \
	"certificate|SSL|TLS" req-tls "$TLS_PORT" "$TLS_PW" DATABASE_SSL_MODE=required

info "required, someone in between who offers no TLS and asks for the password in clear"
FAKE_PORT=$(python3 "$TOP/tests/tools/free_port.py") || fail "no free port"
python3 "$(dirname "$0")/fake_mysql_clear.py" "$FAKE_PORT" "$WORK/fake.got" "$WORK/fake.ready" &
FAKE=$!
for _ in $(seq 100); do [ -e "$WORK/fake.ready" ] && break; sleep 0.05; done
FAKE_PW="clear-$RANDOM-Vb7q"
refused "required: the password never goes to a server without TLS" "SSL is required" \
	req-fake "$FAKE_PORT" "$FAKE_PW" DATABASE_SSL_MODE=required
kill "$FAKE" 2>/dev/null
wait "$FAKE" 2>/dev/null
! grep -qaF -- "$FAKE_PW" "$WORK/fake.got" 2>/dev/null ||
	fail "mode required: the client sent the password in clear"

info "required with the Secret's CA: verified TLS"
backup_with req-ca "$TLS_PORT" "$TLS_PW" DATABASE_SSL_MODE=required "DB_SSL_CA=@$WORK/svc-tls/tls/ca.pem"
[ "$RC" = 0 ] || fail "mode required with the CA: $(cat "$ERR")"

info "no mode: TLS where the server offers it (unchecked, as 3scale's client), else none"
backup_with none-tls "$TLS_PORT" "$TLS_PW"
[ "$RC" = 0 ] || fail "no mode, a server with TLS only: $(cat "$ERR")"
backup_with none-plain "$PLAIN_PORT" "$PLAIN_PW"
[ "$RC" = 0 ] || fail "no mode, a server without TLS: $(cat "$ERR")"
info "ok"
