#!/usr/bin/env bash
# Starts and stops real MariaDB, PostgreSQL and Redis servers for tests, the
# demo and benchmarks: on 127.0.0.1, on free ports above 10000, with every
# file (data, sockets, pid files, logs) inside one directory, and stopped by
# the PIDs recorded there, never by name, so runs never collide with each
# other or with a server somebody else started.
#
#   ci/services.sh start-mysql DIR [ROOT_PASSWORD]
#   ci/services.sh start-postgres DIR [POSTGRES_PASSWORD]
#   ci/services.sh start-mysql-tls DIR [ROOT_PASSWORD]     # TCP only over TLS
#   MYSQL_LOG_BIN=1 ci/services.sh start-mysql...      # with a binary log, as a managed one
#   ci/services.sh start-postgres-tls DIR [POSTGRES_PASSWORD]  # hostssl only
#   PG_ROOT=ROOT ci/services.sh start-postgres...   # the server of ROOT (ci/debian-root.sh)
#   ci/services.sh start-redis DIR NAME [PASSWORD]
#   ci/services.sh start-redis-managed DIR NAME USER [tls]  # what a managed Redis is
#   SENTINEL_MASTER_PASSWORD=PW [SENTINEL_PASSWORD=PW] \
#     ci/services.sh start-sentinel DIR GROUP MASTER_PORT   # a redis-sentinel in front of it
#   ci/services.sh add-mysql-admin DIR USER   # a managed MySQL's admin: no SUPER, X509 login
#   ci/services.sh start-mysql-root DIR ROOT [FROM_DIR]   # MySQL (not MariaDB) of ROOT
#   ci/services.sh redis-managed-deny      # prints the ACL rules a managed Redis's user has
#   ci/services.sh restart-redis DIR NAME   # stop by PID, start with its redis.conf
#   ci/services.sh stop DIR
#
# Each start appends shell assignments to DIR/env (mode 0600), to be sourced:
#   MYSQL_PORT MYSQL_SOCKET MYSQL_ROOT_PASSWORD
#   PG_PORT PG_SOCKDIR PG_PASSWORD
#   REDIS_<NAME>_PORT REDIS_<NAME>_PASSWORD REDIS_<NAME>_DIR  (NAME upper-cased, - becomes _)
#   TLS_DIR (the -tls variants): ca.pem, and client.pem / client.key, a client
#   certificate of the same private CA; the server's certificate names
#   localhost and 127.0.0.1.
#   start-redis-managed: REDIS_<NAME>_PORT / _PASSWORD (the admin, the
#   default user) / _DIR, REDIS_<NAME>_USER / _USER_PASSWORD (the ACL user),
#   with tls REDIS_<NAME>_TLS_DIR (a CA of its own, as TLS_DIR; the port is
#   TLS only and wants a client certificate).
#   start-sentinel: SENTINEL_PORT SENTINEL_PASSWORD.
#   add-mysql-admin: MYSQL_ADMIN_USER MYSQL_ADMIN_PASSWORD (MYSQL_ADMIN_PASSWORD
#   in the environment: that one).
#   start-mysql-root: MYSQL_PORT MYSQL_SOCKET, root without a password over the
#   socket only, MYSQL_TLS_DIR (MySQL's own ca.pem, client-cert.pem, client-key.pem).
# Passwords go through files and standard input, never on a command line.
# A Redis data directory that already holds dump.rdb is loaded at start (the
# tests use that to load a backed-up RDB into a fresh server).
set -euo pipefail
# (No dirname process: this script runs once per server started or stopped.)
case $0 in */*) . "${0%/*}/sleep_builtin.sh" ;; *) . ./sleep_builtin.sh ;; esac

die() { echo "ci/services.sh: $*" >&2; exit 1; }

# A free TCP port for a server, reserved so that tests running in parallel
# (ctest -j) never pick the same one: a port is taken by creating
# PORTS_DIR/PORT (mkdir is atomic), checked bindable on 127.0.0.1, and
# recorded in DIR/ports, which `stop` releases. Ports come from 10000 up,
# outside the kernel's ephemeral range, so that no client connection of
# this machine can take one between the check and the server's bind.
# A reservation older than a day was left by a killed run: it is dropped.
# TSARC_TEST_PORT_RANGE=LO-HI keeps the choice within LO..HI (a range a
# run was given on a machine where others use fixed ports).
PORTS_DIR=${TSARC_TEST_PORTS_DIR:-/tmp/tsarc-ports-$(id -u)}
free_port() { # DIR
	local port
	port=$(python3 - "$PORTS_DIR" "${TSARC_TEST_PORT_RANGE:-10000-65535}" <<'PY'
import os, random, socket, sys, time
d = sys.argv[1]
lo, hi = (int(x) for x in sys.argv[2].split("-"))
os.makedirs(d, mode=0o700, exist_ok=True)
with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
    elo, ehi = (int(x) for x in f.read().split())
cands = [p for p in range(lo, hi + 1) if not elo <= p <= ehi]
if not cands:
    sys.exit("no port in %d-%d outside the kernel's ephemeral range %d-%d "
             "(ip_local_port_range): set TSARC_TEST_PORT_RANGE outside it" % (lo, hi, elo, ehi))
for _ in range(2000):
    port = random.choice(cands)
    mark = os.path.join(d, str(port))
    try:
        os.mkdir(mark)
    except FileExistsError:
        try:
            if time.time() - os.stat(mark).st_mtime > 86400:
                os.rmdir(mark)
        except OSError:
            pass
        continue
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        os.rmdir(mark)
        continue
    finally:
        s.close()
    print(port)
    sys.exit(0)
sys.exit("no free port could be reserved in " + d)
PY
) || die "no free port"
	echo "$port" >>"$1/ports"
	echo "$port"
}

random_password() { head -c 18 /dev/urandom | base64 | tr -d '/+=' ; }

env_add() {
	local dir=$1
	shift
	( umask 077; printf '%s\n' "$@" >> "$dir/env" )
}

wait_for() { # SECONDS WHAT CMD...
	local secs=$1 what=$2 i
	shift 2
	for ((i = 0; i < secs * 10; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	die "$what did not come up in ${secs}s"
}

# A private CA, a server certificate for localhost / 127.0.0.1 and a client
# certificate, in DIR/tls (EC keys: quick to make).
make_tls() {
	local t=$1/tls
	[ -f "$t/ca.pem" ] && return 0
	mkdir -p "$t"
	(
		umask 077
		cd "$t"
		openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -keyout ca.key \
			-out ca.pem -days 2 -subj "/CN=tsarc test CA" 2>/dev/null
		openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -keyout server.key \
			-out server.csr -subj "/CN=localhost" 2>/dev/null
		printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > server.ext
		openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem \
			-days 2 -extfile server.ext 2>/dev/null
		openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -keyout client.key \
			-out client.csr -subj "/CN=tsarc-client" 2>/dev/null
		openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem \
			-days 2 2>/dev/null
		rm -f ./*.csr server.ext
	) || die "cannot make the test CA"
	chmod 644 "$t/ca.pem" "$t/server.pem" "$t/client.pem"
}

start_mysql() {
	local dir=$1 pw=${2:-$(random_password)} tls=${3:-} base port
	local -a tlsopt=()
	base=$dir/mysql
	# Its own temporary folder: servers of tests running at once must not
	# share /tmp, where one's temporary tables vanished under another's.
	mkdir -p "$base/tmp"
	port=$(free_port "$dir")
	if [ -n "$tls" ]; then
		make_tls "$dir"
		# TCP only over TLS; the socket (root's setup below) stays allowed.
		tlsopt=(--ssl-ca="$dir/tls/ca.pem" --ssl-cert="$dir/tls/server.pem"
			--ssl-key="$dir/tls/server.key" --require-secure-transport=ON)
	fi
	mariadb-install-db --user=root --datadir="$base/data" --tmpdir="$base/tmp" \
		--auth-root-authentication-method=normal --skip-test-db >"$base/install.log" 2>&1 || { cat "$base/install.log" >&2; die "mariadb-install-db failed"; }
	# Small buffers and no binary log: this is a test server, on a shared 2-core machine.
	# MYSQL_LOG_BIN=1: with one, as a managed MySQL keeps it for its backups
	# and replicas (what a user without SUPER may then create changes).
	local -a binlog=(--skip-log-bin)
	[ "${MYSQL_LOG_BIN:-}" != 1 ] || binlog=(--log-bin="$base/data/binlog" --server-id=1)
	mariadbd --no-defaults --user=root --datadir="$base/data" --tmpdir="$base/tmp" \
		--socket="$base/mysqld.sock" \
		--port="$port" --bind-address=127.0.0.1 --pid-file="$base/mysqld.pid" \
		--log-error="$base/error.log" --innodb-buffer-pool-size=128M \
		--innodb-log-file-size=64M --innodb-flush-log-at-trx-commit=2 "${binlog[@]}" \
		--character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci \
		--max-allowed-packet=64M "${tlsopt[@]}" </dev/null >/dev/null 2>&1 &
	echo $! > "$base/server.pid"
	wait_for 60 "MariaDB on port $port" mariadb-admin --no-defaults -S "$base/mysqld.sock" -uroot ping
	# root from the socket and from 127.0.0.1, with a password (tests use TCP).
	mariadb --no-defaults -S "$base/mysqld.sock" -uroot <<SQL
ALTER USER root@localhost IDENTIFIED BY '$pw';
CREATE USER IF NOT EXISTS root@'127.0.0.1';
ALTER USER root@'127.0.0.1' IDENTIFIED BY '$pw';
GRANT ALL PRIVILEGES ON *.* TO root@'127.0.0.1' WITH GRANT OPTION;
FLUSH PRIVILEGES;
SQL
	env_add "$dir" "MYSQL_PORT=$port" "MYSQL_SOCKET=$base/mysqld.sock" "MYSQL_ROOT_PASSWORD='$pw'"
	[ -z "$tls" ] || env_add "$dir" "TLS_DIR=$dir/tls"
}

# What a managed MySQL's admin has (RDS, Azure): everything on every database
# but SUPER; its login needs a client certificate of the server's CA. The
# anonymous users go: ''@localhost would take the admin's TCP logins.
add_mysql_admin() {
	local dir=$1 user=$2 pw=${MYSQL_ADMIN_PASSWORD:-$(random_password)} rootpw
	[ -n "$user" ] || die "add-mysql-admin needs a USER"
	rootpw=$(. "$dir/env"; echo "$MYSQL_ROOT_PASSWORD")
	MYSQL_PWD=$rootpw mariadb --no-defaults -uroot -S "$dir/mysql/mysqld.sock" <<SQL || die "cannot create $user"
DELETE FROM mysql.global_priv WHERE User = ''; FLUSH PRIVILEGES;
CREATE USER $user@'%' IDENTIFIED BY '$pw' REQUIRE X509;
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, INDEX, ALTER, CREATE TEMPORARY TABLES,
  LOCK TABLES, EXECUTE, CREATE VIEW, SHOW VIEW, CREATE ROUTINE, ALTER ROUTINE, EVENT, TRIGGER,
  REFERENCES, PROCESS, RELOAD ON *.* TO $user@'%';
SQL
	env_add "$dir" "MYSQL_ADMIN_USER=$user" "MYSQL_ADMIN_PASSWORD='$pw'"
}

# MySQL from ROOT, a root filesystem of a newer Debian (ci/debian-root.sh;
# Debian 12 has MariaDB only), run through tests/tools/in_root.sh, with a
# binary log and GTIDs on, as RDS and Azure keep them. MySQL makes its own
# CA and certificates at --initialize, and they end with a NUL byte; its
# server certificate names no host, which MariaDB's client, checking chain
# and name together, never verifies: a server certificate naming localhost
# and 127.0.0.1 is signed with MySQL's own CA (a managed one's names its
# host). --initialize takes 10 s of CPU: with FROM_DIR, the data folder
# that start made before it first ran is copied (a server UUID of its own).
start_mysql_root() {
	local dir=$1 root=$2 from=${3:-} base port
	local in_root="${0%/*}/../tests/tools/in_root.sh"
	[ -n "$root" ] || die "start-mysql-root needs a ROOT (ci/debian-root.sh)"
	base=$dir/mysql
	mkdir -p "$base/tmp"
	port=$(free_port "$dir")
	if [ -n "$from" ]; then
		cp -a "$from/mysql/initial" "$base/data" || die "cannot copy $from/mysql/initial"
		rm -f "$base/data/auto.cnf"
	else
		sh "$in_root" "$root" mysqld --no-defaults --initialize-insecure --user=root \
			--datadir="$base/data" --innodb-redo-log-capacity=8M >"$base/install.log" 2>&1 ||
			{ cat "$base/install.log" >&2; die "mysqld --initialize failed"; }
		(
			umask 077
			cd "$base/data"
			openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -keyout host-key.pem \
				-out host.csr -subj "/CN=localhost" 2>/dev/null
			printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > host.ext
			openssl x509 -req -in host.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial \
				-out host-cert.pem -days 2 -extfile host.ext 2>/dev/null
			rm -f host.csr host.ext
		) || die "cannot sign the server certificate with MySQL's CA"
		cp -a "$base/data" "$base/initial"
	fi
	sh "$in_root" "$root" mysqld --no-defaults --user=root --datadir="$base/data" \
		--tmpdir="$base/tmp" --socket="$base/mysqld.sock" --port="$port" \
		--bind-address=127.0.0.1 --mysqlx=OFF --secure-file-priv= --pid-file="$base/mysqld.pid" \
		--log-error="$base/error.log" --innodb-buffer-pool-size=64M --performance-schema=OFF \
		--innodb-flush-log-at-trx-commit=2 --log-bin=binlog --server-id=1 --gtid-mode=ON \
		--enforce-gtid-consistency=ON --max-allowed-packet=64M \
		--ssl-ca="$base/data/ca.pem" --ssl-cert="$base/data/host-cert.pem" \
		--ssl-key="$base/data/host-key.pem" \
		</dev/null >/dev/null 2>&1 &
	echo $! > "$base/server.pid"
	wait_for 60 "MySQL on port $port" mariadb-admin --no-defaults -S "$base/mysqld.sock" -uroot ping
	env_add "$dir" "MYSQL_PORT=$port" "MYSQL_SOCKET=$base/mysqld.sock" "MYSQL_TLS_DIR=$base/data"
}

start_postgres() {
	local dir=$1 pw=${2:-$(random_password)} tls=${3:-} base port bin ssl= owner=postgres
	local -a as_postgres=(runuser -u postgres --)
	# Debian keeps the server binaries out of PATH, one folder per major version.
	# PG_ROOT: the server of a newer Debian's root filesystem (ci/debian-root.sh),
	# run in it as its own postgres user (another uid than this host's).
	bin=$(cd "${PG_ROOT:-/}" && ls -d usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
	[ -x "${PG_ROOT:-}/$bin/initdb" ] || die "PostgreSQL server binaries not found (apt-get install postgresql)"
	bin=/$bin
	if [ -n "${PG_ROOT:-}" ]; then
		as_postgres=(sh "${0%/*}/../tests/tools/in_root.sh" "$PG_ROOT" "${as_postgres[@]}")
		owner=$(awk -F: '$1 == "postgres" { print $3 }' "$PG_ROOT/etc/passwd")
	fi
	base=$dir/postgres
	mkdir -p "$base/data" "$base/sock"
	port=$(free_port "$dir")
	# PostgreSQL refuses to run as root: its files belong to postgres, and
	# the directories above must be traversable for it (mktemp makes 0700).
	local up
	up=$(cd "$dir" && pwd)
	while [ "$up" != / ]; do
		[ -n "$(find "$up" -maxdepth 0 -perm -o+x)" ] || chmod o+x "$up"
		up=$(dirname "$up")
	done
	( umask 077; printf '%s\n' "$pw" > "$base/pwfile" )
	chown -R "$owner" "$base"
	"${as_postgres[@]}" "$bin/initdb" -D "$base/data" -U postgres --pwfile="$base/pwfile" \
		--auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 \
		>"$base/initdb.log" 2>&1 || { cat "$base/initdb.log" >&2; die "initdb failed"; }
	rm -f "$base/pwfile"
	if [ -n "$tls" ]; then
		make_tls "$dir"
		# The server's own copies: PostgreSQL wants its key owned by it, 0600.
		install -m 600 -o "$owner" "$dir/tls/server.key" "$base/data/server.key"
		install -m 644 -o "$owner" "$dir/tls/server.pem" "$base/data/server.pem"
		install -m 644 -o "$owner" "$dir/tls/ca.pem" "$base/data/ca.pem"
		ssl="-c ssl=on -c ssl_cert_file=server.pem -c ssl_key_file=server.key -c ssl_ca_file=ca.pem"
		# Over TCP, TLS only (hostssl) with a client certificate of the CA;
		# the socket stays for the setup.
		printf '%s\n' "local all all trust" "hostssl all all 127.0.0.1/32 scram-sha-256 clientcert=verify-ca" \
			> "$base/data/pg_hba.conf"
	fi
	"${as_postgres[@]}" "$bin/pg_ctl" -D "$base/data" -l "$base/server.log" -w -t 60 \
		-o "-p $port -k $base/sock -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off $ssl" \
		start >/dev/null || { cat "$base/server.log" >&2; die "PostgreSQL did not start"; }
	head -1 "$base/data/postmaster.pid" > "$base/server.pid"
	env_add "$dir" "PG_PORT=$port" "PG_SOCKDIR=$base/sock" "PG_PASSWORD='$pw'"
	[ -z "$tls" ] || env_add "$dir" "TLS_DIR=$dir/tls"
}

start_redis() {
	local dir=$1 name=$2 pw=${3:-} base port var line
	shift 3 || shift $#
	# Further arguments: configuration lines (ACL users, TLS); a "tls"
	# among them makes the port TLS only, with the CA of make_tls.
	local -a extra=() cli=()
	for line in "$@"; do
		if [ "$line" = tls ]; then
			make_tls "$dir"
			extra+=("tls-port PORT" "port 0" "tls-cert-file $dir/tls/server.pem"
				"tls-key-file $dir/tls/server.key" "tls-ca-cert-file $dir/tls/ca.pem"
				"tls-auth-clients yes")
			cli=(--tls --cacert "$dir/tls/ca.pem" --cert "$dir/tls/client.pem"
				--key "$dir/tls/client.key")
		else
			extra+=("$line")
		fi
	done
	[ -n "$name" ] || die "start-redis needs a NAME"
	base=$dir/redis-$name
	mkdir -p "$base"
	port=$(free_port "$dir")
	var=REDIS_$(printf '%s' "$name" | tr 'a-z-' 'A-Z_')
	# The configuration goes in a file so that a password is not in ps output.
	(
		umask 077
		{
			echo "port $port"
			echo "bind 127.0.0.1"
			echo "dir $base"
			echo "dbfilename dump.rdb"
			echo "pidfile $base/redis.pid"
			echo "logfile $base/redis.log"
			echo "daemonize yes"
			echo "save \"\""
			echo "appendonly no"
			# DEBUG DIGEST is how the tests compare two servers' data.
			echo "enable-debug-command yes"
			# Replicas (and redis-cli --rdb) get the RDB at once, not after 5 s.
			echo "repl-diskless-sync-delay 0"
			[ -z "$pw" ] || echo "requirepass $pw"
			# "tls-port PORT" comes after "port PORT": the later line wins.
			for line in "${extra[@]}"; do echo "${line//PORT/$port}"; done
		} > "$base/redis.conf"
	)
	redis-server "$base/redis.conf" || die "redis-server $name did not start"
	wait_for 30 "Redis $name on port $port" test -s "$base/redis.pid"
	cp "$base/redis.pid" "$base/server.pid"
	wait_for 30 "Redis $name on port $port" env REDISCLI_AUTH="$pw" redis-cli "${cli[@]}" -p "$port" ping
	env_add "$dir" "${var}_PORT=$port" "${var}_PASSWORD='$pw'" "${var}_DIR=$base"
	[ ${#cli[@]} = 0 ] || env_add "$dir" "${var}_TLS_DIR=$dir/tls"
}

# What a managed Redis (ElastiCache, Azure Cache, Memorystore) allows an ACL
# user: no replication, DEBUG, CONFIG, persistence or shutdown commands.
# The one list the Redis tests and the demo use.
REDIS_MANAGED_DENY="-sync -psync -debug -config -bgsave -save -shutdown -replicaof -slaveof -bgrewriteaof -failover -module -monitor"

# A Redis as a managed service has it: an admin (the default user, for the
# setup and the demo's checks) and an ACL user USER with the rules above.
start_redis_managed() {
	local dir=$1 name=$2 user=$3 tls=${4:-} upw var
	[ -n "$user" ] || die "start-redis-managed needs a USER"
	upw=$(random_password)
	var=REDIS_$(printf '%s' "$name" | tr 'a-z-' 'A-Z_')
	start_redis "$dir" "$name" "$(random_password)" \
		"user $user on >$upw ~* &* +@all $REDIS_MANAGED_DENY" $tls
	env_add "$dir" "${var}_USER=$user" "${var}_USER_PASSWORD='$upw'"
}

# A redis-sentinel watching the master on 127.0.0.1:MASTER_PORT as GROUP,
# with a password of its own; up when it names the master.
start_sentinel() {
	local dir=$1 group=$2 mport=$3 base port pw=${SENTINEL_PASSWORD:-$(random_password)}
	[ -n "$group" ] && [ -n "$mport" ] || die "start-sentinel needs GROUP and MASTER_PORT"
	command -v redis-sentinel >/dev/null || die "redis-sentinel is not installed (bash ci/deps.sh)"
	base=$dir/sentinel-$group
	mkdir -p "$base"
	port=$(free_port "$dir")
	(
		umask 077
		{
			echo "port $port"
			echo "bind 127.0.0.1"
			echo "dir $base"
			echo "daemonize yes"
			echo "pidfile $base/redis.pid"
			echo "logfile $base/redis.log"
			echo "requirepass $pw"
			echo "sentinel monitor $group 127.0.0.1 $mport 1"
			[ -z "${SENTINEL_MASTER_PASSWORD:-}" ] || echo "sentinel auth-pass $group $SENTINEL_MASTER_PASSWORD"
		} > "$base/sentinel.conf"
	)
	redis-sentinel "$base/sentinel.conf" || die "redis-sentinel $group did not start"
	wait_for 30 "Sentinel $group on port $port" test -s "$base/redis.pid"
	cp "$base/redis.pid" "$base/server.pid"
	wait_for 30 "Sentinel $group naming its master" sh -c \
		'REDISCLI_AUTH=$1 redis-cli --no-auth-warning -p "$2" SENTINEL get-master-addr-by-name "$3" | grep -qx "$4"' \
		- "$pw" "$port" "$group" "$mport"
	env_add "$dir" "SENTINEL_PORT=$port" "SENTINEL_PASSWORD='$pw'"
}

stop_pid() {
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 200; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.05
	done
	kill -KILL "$pid" 2>/dev/null || true
}

# A restore restarts Redis itself (persistence off, swap, on): the PID that
# Redis writes to its own pidfile is the live one.
restart_redis() {
	local dir=$1 name=$2 base
	base=$dir/redis-$name
	[ -f "$base/redis.conf" ] || die "no Redis $name in $dir"
	[ -f "$base/redis.pid" ] && stop_pid "$(cat "$base/redis.pid")"
	rm -f "$base/redis.pid"
	redis-server "$base/redis.conf" || die "redis-server $name did not start"
	wait_for 30 "Redis $name" test -s "$base/redis.pid"
	cp "$base/redis.pid" "$base/server.pid"
}

stop_all() {
	local dir=$1 f pid i port
	[ -d "$dir" ] || return 0
	for f in "$dir"/*/server.pid; do
		[ -f "$f" ] || continue
		pid=$(cat "$f")
		# Redis restarted by a restore has a new PID in its own pidfile.
		[ -s "$(dirname "$f")/redis.pid" ] && pid=$(cat "$(dirname "$f")/redis.pid")
		kill -TERM "$pid" 2>/dev/null || { rm -f "$f"; continue; }
		for ((i = 0; i < 200; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.05
		done
		kill -KILL "$pid" 2>/dev/null || true
		rm -f "$f"
	done
	# The servers are gone: their ports may be reserved again.
	if [ -f "$dir/ports" ]; then
		while read -r port; do
			rmdir "$PORTS_DIR/$port" 2>/dev/null || true
		done <"$dir/ports"
		rm -f "$dir/ports"
	fi
}

cmd=${1:-}
[ "$cmd" = redis-managed-deny ] && { echo "$REDIS_MANAGED_DENY"; exit 0; }
[ $# -ge 2 ] || die "usage: $0 start-mysql|start-postgres|start-redis|stop DIR [...]"
dir=$2
mkdir -p "$dir"
case $cmd in
start-mysql) start_mysql "$dir" "${3:-}" ;;
start-postgres) start_postgres "$dir" "${3:-}" ;;
start-mysql-tls) start_mysql "$dir" "${3:-}" tls ;;
start-postgres-tls) start_postgres "$dir" "${3:-}" tls ;;
start-redis) start_redis "$dir" "${3:-}" "${4:-}" ;;
start-redis-managed) start_redis_managed "$dir" "${3:-}" "${4:-}" "${5:-}" ;;
add-mysql-admin) add_mysql_admin "$dir" "${3:-}" ;;
start-mysql-root) start_mysql_root "$dir" "${3:-}" "${4:-}" ;;
start-sentinel) start_sentinel "$dir" "${3:-}" "${4:-}" ;;
restart-redis) restart_redis "$dir" "${3:-}" ;;
stop) stop_all "$dir" ;;
*) die "unknown command '$cmd'" ;;
esac
