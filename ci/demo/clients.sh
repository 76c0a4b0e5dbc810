# The demo deployment's own clients, as its administrator: sourced after
# DIR/env (ci/demo/deployment.sh), for either layout. Passwords go through
# the environment of one client command, never on a command line.
#   demo_mysql SQL [DATABASE]  root over the server's socket (the 2.16 server
#                              takes TCP over TLS only); DATABASE defaults to
#                              system, "" for none; SQL "-": standard input
#   demo_redis NAME ARGS...    redis-cli as the admin of backend-redis or
#                              system-redis (NAME), over TLS where the server
#                              is TLS only
demo_mysql() {
	local -a args=()
	[ -z "${2-system}" ] || args+=("${2-system}")
	[ "$1" = - ] || args+=(-e "$1")
	MYSQL_PWD=$MYSQL_ROOT_PASSWORD mariadb --no-defaults -uroot -S "$MYSQL_SOCKET" -N -B \
		--default-character-set=utf8mb4 "${args[@]}"
}

demo_redis() {
	local var=REDIS_$(printf '%s' "$1" | tr 'a-z-' 'A-Z_') port pw tls
	local -a args=()
	shift
	port=${var}_PORT pw=${var}_PASSWORD tls=${var}_TLS_DIR
	[ -z "${!tls:-}" ] || args=(--tls --cacert "${!tls}/ca.pem" --cert "${!tls}/client.pem"
		--key "${!tls}/client.key")
	# A server without a password gets no AUTH (it would fail).
	(
		[ -z "${!pw:-}" ] || export REDISCLI_AUTH=${!pw}
		exec redis-cli --no-auth-warning "${args[@]}" -p "${!port}" "$@"
	)
}
