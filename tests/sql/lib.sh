# Helpers of the managed-database tests (tests/sql/*.sh); sourced, not run.
# Servers that behave like managed ones: TCP over TLS only with a private CA
# (ci/services.sh start-mysql-tls / start-postgres-tls), an admin user that
# is not root and has no SUPER. Setup goes through the servers' sockets.
# shellcheck disable=SC1091
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../deploy/lib.sh"

# sock_mysql DIR SQL...: root over the socket of the server in DIR.
sock_mysql() {
	local dir=$1 pw
	shift
	pw=$(. "$dir/env"; echo "$MYSQL_ROOT_PASSWORD")
	MYSQL_PWD=$pw mariadb --no-defaults -uroot -S "$dir/mysql/mysqld.sock" --default-character-set=utf8mb4 -N -B "$@"
}

# sock_psql DIR SQL-ARGS...: postgres over the socket of the server in DIR.
sock_psql() {
	local dir=$1 port
	shift
	port=$(. "$dir/env"; echo "$PG_PORT")
	psql -qAtX -v ON_ERROR_STOP=1 -h "$dir/postgres/sock" -p "$port" -U postgres "$@"
}

# tls_psql DIR PORT USER DATABASE: psql as USER (password $ADMIN_PW) over
# verified TLS with the client certificate of the server in DIR.
tls_psql() {
	PGPASSWORD=$ADMIN_PW psql -qAtX -v ON_ERROR_STOP=1 \
		"host=127.0.0.1 port=$2 user=$3 dbname=$4 sslmode=verify-full sslrootcert=$1/tls/ca.pem sslcert=$1/tls/client.pem sslkey=$1/tls/client.key"
}

# secret_json FILE NAME KEY=VALUE...: a Secret as the local transport reads
# it (resources_dir/secret/NAME.json), values base64-encoded; a value
# @PATH is the contents of PATH (PEM files).
secret_json() {
	local file=$1 name=$2
	shift 2
	python3 - "$file" "$name" "$@" <<'PY'
import base64, json, os, sys
file, name, pairs = sys.argv[1], sys.argv[2], sys.argv[3:]
data = {}
for p in pairs:
    k, v = p.split("=", 1)
    if v.startswith("@"):
        v = open(v[1:]).read()
    data[k] = base64.b64encode(v.encode()).decode()
os.makedirs(os.path.dirname(file), exist_ok=True)
doc = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
       "metadata": {"name": name, "namespace": "3scale"}, "data": data}
fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
with os.fdopen(fd, "w") as f:
    json.dump(doc, f)
PY
}

# only_config FILE RESOURCES_DIR COMPONENT [JSON-OVERRIDE]: the 3scale
# profile with every component but COMPONENT disabled, on this host.
only_config() {
	python3 - "$@" <<'PY'
import json, sys
file, res, comp = sys.argv[1:4]
over = json.loads(sys.argv[4]) if len(sys.argv) > 4 else {}
names = ["secrets", "configmaps", "apimanager", "system-mysql", "system-postgresql",
         "system-storage", "zync-database", "backend-redis", "system-redis"]
c = {"profile": "3scale", "transport": {"type": "local", "resources_dir": res},
     "components": {n: {"enabled": False} for n in names}, "post_restore": []}
c["components"][comp] = {"enabled": True, **over}
json.dump(c, open(file, "w"), indent=2)
PY
}

# need_root VAR WHAT [FILE]: the test needs the root filesystem of a newer
# Debian that VAR names (ci/debian-root.sh, made by ci/test.sh), holding
# WHAT (and FILE, a path inside it, where given: a root made before its
# package list had the package); without it the test is skipped (77), or
# fails where TSARC_TEST_REQUIRE_SERVICES=1 (CI).
need_root() {
	local root=${!1:-}
	[ -n "$root" ] && [ -e "$root/.complete" ] && { [ -z "${3:-}" ] || [ -e "$root/$3" ]; } && return 0
	[ "${TSARC_TEST_REQUIRE_SERVICES:-0}" = 1 ] &&
		fail "$1 names no root filesystem of $2${3:+ (with /$3)} (ci/debian-root.sh, made by ci/test.sh)"
	echo "SKIP: $1 names no root filesystem of $2${3:+ (with /$3)} (ci/debian-root.sh)"
	exit 77
}

# start_pair start-mysql-tls|start-postgres-tls PORT_VAR: a source server
# ($S) and a target ($T) started at once (stopped by deploy/lib.sh's trap);
# their ports (PORT_VAR of each env) in S_PORT / T_PORT, and ADMIN_PW a
# fresh password for the tests' admin user.
start_pair() {
	local how=$1 var=$2 ps pt
	S=$WORK/svc-src
	T=$WORK/svc-dst
	bash "$SERVICES" "$how" "$S" >"$WORK/s.log" 2>&1 &
	ps=$!
	bash "$SERVICES" "$how" "$T" >"$WORK/t.log" 2>&1 &
	pt=$!
	wait $ps || { cat "$WORK/s.log" >&2; fail "the source server did not start ($how)"; }
	wait $pt || { cat "$WORK/t.log" >&2; fail "the target server did not start ($how)"; }
	S_PORT=$(. "$S/env"; eval "echo \"\$$var\"")
	T_PORT=$(. "$T/env"; eval "echo \"\$$var\"")
	ADMIN_PW=$(head -c 12 /dev/urandom | base64 | tr -d '/+=')
}

# tls_backup WHAT: a new repository REPO=$WORK/repo and a backup of
# $WORK/src.json into it (info WHAT), the client's TLS files in
# TLS_TMP=$WORK/tmp and none left there after it; SNAP is the snapshot and
# $OUT its manifest (show --json), which holds no PEM.
tls_backup() {
	REPO=$WORK/repo
	init_repo "$REPO"
	TLS_TMP=$WORK/tmp
	mkdir -p "$TLS_TMP"
	info "$1"
	TMPDIR=$TLS_TMP ok backup --repo "$REPO" --config "$WORK/src.json" --json
	SNAP=$(json_get "$OUT" "d['snapshot_id']")
	[ -z "$(ls -A "$TLS_TMP")" ] || fail "TLS files left behind after the backup: $(ls -A "$TLS_TMP")"
	ok show --repo "$REPO" "$SNAP" --json
	! grep -q "BEGIN CERTIFICATE\|PRIVATE KEY" "$OUT" || fail "PEM contents in the manifest"
}

# two_mysql [SQL]: a MariaDB server without TLS (PLAIN_PORT, PLAIN_PW) and
# one with TLS only and a private CA (TLS_PORT, TLS_PW), each with a
# database `system` of one table, then SQL; an empty REPO=$WORK/repo and
# $WORK/tmp for backup_with.
two_mysql() {
	local d
	export TSARC_PASSWORD=sql-test
	svc_start plain mysql
	PLAIN_PORT=$MYSQL_PORT PLAIN_PW=$MYSQL_ROOT_PASSWORD
	svc_start tls mysql-tls
	TLS_PORT=$MYSQL_PORT TLS_PW=$MYSQL_ROOT_PASSWORD
	for d in plain tls; do
		sock_mysql "$WORK/svc-$d" -e "CREATE DATABASE system; CREATE TABLE system.t (id INT PRIMARY KEY);
			INSERT INTO system.t VALUES (1); ${1:-}" || fail "cannot fill $d"
	done
	REPO=$WORK/repo
	init_repo "$REPO"
	mkdir -p "$WORK/tmp"
}

# backup_with NAME PORT PASSWORD [KEY=VALUE...]: a backup into $REPO
# (TMPDIR $WORK/tmp) of system-mysql whose system-database Secret has URL
# ($DB_USER, else root, on PORT, then $QUERY) and the pairs; the component's
# fields are $COMP (JSON), else {"external": true}.
backup_with() {
	local name=$1 port=$2 pw=$3 comp=${COMP:-'{"external": true}'}
	shift 3
	secret_json "$WORK/res-$name/secret/system-database.json" system-database \
		"URL=mysql2://${DB_USER:-root}:$pw@127.0.0.1:$port/system${QUERY:-}" "$@"
	only_config "$WORK/$name.json" "$WORK/res-$name" system-mysql "$comp"
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

# hostile_start NAME [ARGS...]: the test double of a hostile server
# (hostile_mysql.py ARGS) on a free port, HOSTILE_PORT; HOSTILE_PW a fresh
# password to give it, HOSTILE_GOT the file of what it was sent. Waits for
# the double to say it listens, however long that takes (it makes an RSA
# key with openssl first, seconds on a loaded machine), or for it to exit.
hostile_start() {
	local name=$1
	shift
	HOSTILE_PORT=$(python3 "$TOP/tests/tools/free_port.py") || fail "no free port"
	HOSTILE_GOT=$WORK/hostile-$name.got
	HOSTILE_PW="clear-$RANDOM-Vb7q"
	rm -f "$WORK/hostile.ready"
	python3 "$TOP/tests/sql/hostile_mysql.py" "$HOSTILE_PORT" "$HOSTILE_GOT" "$WORK/hostile.ready" "$@" &
	HOSTILE=$!
	while [ ! -e "$WORK/hostile.ready" ]; do
		if ! kill -0 "$HOSTILE" 2>/dev/null; then
			local st=0
			wait "$HOSTILE" || st=$?
			fail "the hostile server exited before it listened (status $st)"
		fi
		sleep 0.05
	done
}

# hostile_stop; hostile_got_password: whether it was sent HOSTILE_PW (as
# is, or encrypted to the double's key: hostile_mysql.py decrypts it);
# hostile_did WORD: whether the double's steps hold WORD (answer,
# key-request, decrypted).
hostile_stop() {
	kill "$HOSTILE" 2>/dev/null
	wait "$HOSTILE" 2>/dev/null
	return 0
}
hostile_got_password() {
	grep -qaF -- "$HOSTILE_PW" "$HOSTILE_GOT" 2>/dev/null
}
hostile_did() {
	grep -qx -- "$1" "$HOSTILE_GOT.steps" 2>/dev/null
}

# pause_client NAME: $WORK/bin/NAME, first in PATH, runs the real NAME.
# While $WORK/pause-NAME exists, a run by tsarc (the test's own clients,
# sock_psql, pass) that is no one-line query (-e, -c: the restore's
# look-up of its database) lets through as many runs as
# that file says (the CREATE DATABASE before a load), then writes its PID
# to $WORK/paused and waits until the file is removed before it runs the
# real client: the restore stops at a known point, for as long as the
# test needs, whatever the timing. It waits on the file (not a FIFO), so
# that it ends when the test's directory goes.
pause_client() {
	local name=$1 real
	real=$(command -v "$name") || fail "test setup: no $name"
	mkdir -p "$WORK/bin"
	cat > "$WORK/bin/$name" <<WRAP
#!/bin/sh
if [ -e "$WORK/pause-$name" ] && [ "\$(cat /proc/\$PPID/comm)" = tsarc ] &&
	! printf '%s\n' "\$@" | grep -qx -- '-[ce]'; then
	pass=\$(cat "$WORK/pause-$name")
	if [ "\${pass:-0}" -gt 0 ]; then
		echo \$((pass - 1)) > "$WORK/pause-$name"
	else
		echo \$\$ > "$WORK/paused.tmp" && mv "$WORK/paused.tmp" "$WORK/paused"
		while [ -e "$WORK/pause-$name" ]; do sleep 0.1; done
	fi
fi
exec "$real" "\$@"
WRAP
	chmod +x "$WORK/bin/$name"
	case :$PATH: in *":$WORK/bin:"*) ;; *) export PATH="$WORK/bin:$PATH" ;; esac
}

# bg_t ARGS...: tsarc in the background (PID in TPID), as t; bg_ended
# waits for it (RC, no sanitizer report).
bg_t() {
	rm -f "$WORK/paused"
	"$TSARC" "$@" >"$OUT" 2>"$ERR" &
	TPID=$!
}
bg_ended() {
	RC=0
	wait "$TPID" || RC=$?
	sanitizer_check "$RC" "$ERR" "tsarc (background)"
	transcript_add
}

# paused: waits until a pause_client wrapper holds tsarc (bg_t).
paused() {
	local i
	for ((i = 0; i < 1200; i++)); do
		[ -s "$WORK/paused" ] && return 0
		kill -0 "$TPID" 2>/dev/null || { bg_ended; fail "tsarc ended (exit $RC) before the pause"; }
		sleep 0.1
	done
	fail "the pause was not reached in 120 s"
}
