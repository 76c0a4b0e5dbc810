#!/usr/bin/env bash
# A restore killed with SIGKILL (the OOM killer, an evicted pod, kill -9)
# while it copies an RDB through its private redis-server: no signal
# cleanup runs, so the backup's whole data set, in plain text, must not be
# left on disk (the RDB is unlinked once the server has loaded it), and
# the next tsarc removes the dead run's folder and stops its orphaned
# redis-server, which still holds the data in memory.
. "$(dirname "$0")/lib.sh"
: "${TSARC:?set TSARC to the tsarc binary}"
export TSARC_PASSWORD="repo-$TEST_NAME-Wq4"
REPO=$WORK/repo
"$TSARC" init --repo "$REPO" --kdf-memory 4 --format 1 >/dev/null 2>&1 || fail "tsarc init"

# Processes whose working directory is under $WORK/tmp (the private
# redis-server works in its folder), by PID.
orphans() {
	local d cwd
	for d in /proc/[0-9]*; do
		cwd=$(readlink "$d/cwd" 2>/dev/null) || continue
		case $cwd in "$WORK/tmp"/*) echo "${d#/proc/}" ;; esac
	done
}
kill_orphans() {
	local p
	for p in $(orphans); do kill -KILL "$p" 2>/dev/null; done
}
trap 'kill_orphans; redis_cleanup' EXIT

redis_up src
redis_up dst
# 100k keys: the copy out of the private server takes long enough to be
# caught at work.
python3 -c '
import sys
out = sys.stdout.buffer
for i in range(100000):
    k = b"key:%d" % i
    v = b"v" * 64
    out.write(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(k), k, len(v), v))
' | REDISCLI_AUTH=$ADMIN_PW redis-cli --no-auth-warning -p "$PORT_SRC" --pipe >/dev/null ||
	fail "filling the source"
mkdir -m 700 "$WORK/tmp"
export TMPDIR=$WORK/tmp

deployment() { # NAME PORT USER PASSWORD
	redis_deployment "$1" "redis://127.0.0.1:$2/0" "$3" "$4"
}
deployment src "$PORT_SRC" default "$ADMIN_PW"
deployment dst "$PORT_DST" restorer "$USER_PW"
"$TSARC" backup --config "$WORK/src/config.json" --repo "$REPO" --json > "$WORK/b.json" 2> "$WORK/b.err" ||
	fail "backup: $(cat "$WORK/b.err")"
S=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["snapshot_id"])' "$WORK/b.json") ||
	fail "no snapshot id"

info "restore through the private redis-server, killed with SIGKILL while it copies"
"$TSARC" restore "$S" --config "$WORK/dst/config.json" --repo "$REPO" > "$WORK/r1.out" 2> "$WORK/r1.err" &
PID=$!
caught=
for _ in $(seq 3000); do
	# Keys arriving in the target: the private server has loaded the RDB.
	n=$(rcli "$PORT_DST" DBSIZE 2>/dev/null)
	if [ "${n:-0}" -gt 0 ] 2>/dev/null; then caught=1; break; fi
	kill -0 "$PID" 2>/dev/null || break
	sleep 0.01
done
kill -KILL "$PID" 2>/dev/null
wait "$PID" 2>/dev/null
[ -n "$caught" ] || fail "the restore was not caught while copying: $(cat "$WORK/r1.err")"
LEFT=$(ls -d "$WORK"/tmp/tsarc-redis-* 2>/dev/null)
[ -n "$LEFT" ] || fail "the killed restore left no folder: the test did not catch it at work"
[ -n "$(orphans)" ] || fail "no private redis-server was left running: the test did not catch it at work"
[ ! -e "$LEFT/dump.rdb" ] || fail "the killed restore left the backup's RDB on disk: $(ls -la "$LEFT")"

info "the next run removes the dead run's folder and stops its redis-server"
# And the TLS folder of a database client killed the same way (its key).
mkdir -m 700 "$WORK/tmp/tsarc-tls-dead01"
echo "-----BEGIN PRIVATE KEY-----" > "$WORK/tmp/tsarc-tls-dead01/key.pem"
"$TSARC" restore "$S" --config "$WORK/dst/config.json" --repo "$REPO" --json > "$WORK/r2.json" 2> "$WORK/r2.err" ||
	fail "restore: $(cat "$WORK/r2.err")"
[ "$(rcli "$PORT_DST" DBSIZE)" = 100000 ] || fail "the target holds $(rcli "$PORT_DST" DBSIZE) keys"
for _ in $(seq 50); do [ -z "$(orphans)" ] && break; sleep 0.1; done
[ -z "$(orphans)" ] || fail "the killed run's redis-server still runs: $(orphans)"
[ -z "$(ls -A "$WORK/tmp")" ] || fail "files left in TMPDIR: $(ls -laR "$WORK/tmp")"

info "a folder whose owner is alive is left alone"
mkdir -m 700 "$WORK/tmp/tsarc-redis-live01"
echo data > "$WORK/tmp/tsarc-redis-live01/dump.rdb"
exec 8<"$WORK/tmp/tsarc-redis-live01"
flock 8 || fail "flock"
"$TSARC" restore "$S" --config "$WORK/dst/config.json" --repo "$REPO" > /dev/null 2> "$WORK/r3.err" ||
	fail "restore: $(cat "$WORK/r3.err")"
[ -e "$WORK/tmp/tsarc-redis-live01/dump.rdb" ] || fail "a live run's folder was removed"
exec 8<&-

grep -q -e "$USER_PW" -e "$ADMIN_PW" "$WORK"/*.err "$WORK"/*.json "$WORK"/*.out && fail "a password was printed"
info "ok"
