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

# What a restore must bring back, store by store, as text to compare: the
# tests diff it (tests/restore/lib.sh state), the demo prints a digest of it.
#   demo_state_system         the system database's character set and
#                             collation, every table's checksum and rows, the
#                             triggers' and routines' code and collations
#                             ("(no database)" without it)
#   demo_state_zync           zync_production as pg_dump writes it
#   demo_state_redis NAME     backend-redis or system-redis: DEBUG DIGEST and
#                             the keys of each database
#   demo_state_files DIR      a tree's entries (type, mode, owner, size, time,
#                             link target, link count) and its files' contents
#   demo_state_resources DIR  each Secret/ConfigMap/APIManager file's kind,
#                             data and spec; not the restore state tsarc keeps
#                             in the deployment (no restore brings it back)
demo_state_system() {
	local tables tbl
	tables=$(demo_mysql "SELECT GROUP_CONCAT(table_name ORDER BY table_name) FROM information_schema.tables WHERE table_schema='system'" "" 2>/dev/null) || true
	if [ -z "$tables" ] || [ "$tables" = NULL ]; then
		echo "(no database)"
		return 0
	fi
	demo_mysql "SELECT default_character_set_name, default_collation_name FROM information_schema.schemata WHERE schema_name='system'" ""
	demo_mysql "CHECKSUM TABLE ${tables//,/, }"
	# Every table's rows in one query (a client per table was a tenth of a
	# restore test's CPU): "TABLE ROWS" lines, in the tables' order.
	local counts=() sep=""
	for tbl in ${tables//,/ }; do
		counts+=("${sep}SELECT '$tbl', COUNT(*) FROM \`$tbl\`")
		sep="UNION ALL "
	done
	demo_mysql "${counts[*]}" | tr '\t' ' '
	demo_mysql "SELECT trigger_name, action_statement, collation_connection, database_collation
		FROM information_schema.triggers WHERE trigger_schema='system' ORDER BY 1;
		SELECT routine_name, routine_definition, collation_connection, database_collation
		FROM information_schema.routines WHERE routine_schema='system' ORDER BY 1" ""
}

demo_state_zync() {
	PGPASSWORD=$ZYNC_DB_PASSWORD pg_dump --no-password -h 127.0.0.1 -p "$PG_PORT" -U zync \
		-d zync_production | grep -v -e '^-- Dumped' -e '^.restrict' -e '^.unrestrict'
}

demo_state_redis() {
	demo_redis "$1" DEBUG DIGEST
	demo_redis "$1" INFO keyspace | grep '^db' | cut -d, -f1 | tr -d '\r'
}

demo_state_files() {
	(cd "$1" && find . -mindepth 1 -printf '%p %y %m %U %G %s %T@ %l %n\n' | sort &&
		find . -type f -print0 | sort -z | xargs -0 -r sha256sum)
}

demo_state_resources() {
	(cd "$1" && find . -type f -name '*.json' ! -name tsarc-restore-state.json | sort |
		xargs -r python3 -c 'import json, sys
for f in sys.argv[1:]:
    d = json.load(open(f))
    print(f, json.dumps({"kind": d["kind"], "data": d.get("data"), "spec": d.get("spec")}, sort_keys=True))')
}
