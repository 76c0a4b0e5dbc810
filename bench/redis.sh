#!/usr/bin/env bash
# Redis: the logical backup and restore (tsarc's client: SCAN/DUMP/
# PEXPIRETIME out, FLUSHDB + RESTORE ... REPLACE ABSTTL in, pipelined)
# next to redis-cli --rdb (SYNC) and a redis-cli --pipe replay of the same
# logical stream, on the same data in the same run; then how far a logical
# backup drifts from the source while a writer runs during the scan.
#
#   bench/redis.sh [KEYS]     (default 2000000; a release build in build/release)
#
# Prints a Markdown table (keys/s, MB/s) and the drift figures.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
keys=${1:-2000000}
tool=${TSARC_REDIS_TOOL:-$top/build/release/tests/tsarc-redis-tool}
[ -x "$tool" ] || { echo "build first: bash ci/build.sh build/release" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/tsarc-bench-redis.XXXXXX")
trap 'bash "$top/ci/services.sh" stop "$work" >/dev/null 2>&1; rm -rf "$work"' EXIT
pw=bench-$(head -c 9 /dev/urandom | base64 | tr -d '/+=')
for n in src dst pipe; do
	bash "$top/ci/services.sh" start-redis "$work" "$n" "$pw" >/dev/null
done
# The drift run's server has no password: redis-benchmark takes one only on its command line.
bash "$top/ci/services.sh" start-redis "$work" drift >/dev/null
. "$work/env"
cli() { local p=$1; shift; REDISCLI_AUTH=$pw redis-cli --no-auth-warning -p "$p" "$@"; }
dcli() { local p=$1; shift; redis-cli -p "$p" "$@"; }
now() { date +%s.%N; }
secs() { python3 -c "print(f'{$2 - $1:.2f}')"; }

# Mixed types: 50% strings, 15% hashes, 15% lists, 10% sets, 10% zsets
# (5 members each), a tenth of all keys with a TTL, in databases 0 and 1.
echo "loading $keys keys..." >&2
python3 - "$keys" <<'PY' | cli "$REDIS_SRC_PORT" --pipe >/dev/null
import sys
n = int(sys.argv[1]); out = sys.stdout.buffer
def cmd(*a):
    b = [x if isinstance(x, bytes) else str(x).encode() for x in a]
    out.write(b"*%d\r\n" % len(b) + b"".join(b"$%d\r\n%s\r\n" % (len(x), x) for x in b))
for db in (0, 1):
    cmd("SELECT", db)
    for i in range(db, n, 2):
        k = "k:%d:%d" % (db, i); t = i % 20
        if t < 10: cmd("SET", k, "value-%d-%s" % (i, "x" * (i % 40)))
        elif t < 13: cmd("HSET", k, "a", i, "b", "v%d" % i, "c", 1, "d", 2, "e", 3)
        elif t < 16: cmd("RPUSH", k, 1, 2, 3, i, "end")
        elif t < 18: cmd("SADD", k, "m1", "m2", "m3", i, "m5")
        else: cmd("ZADD", k, 1, "a", 2, "b", 3, "c", 4, "d", i, "e")
        if i % 10 == 0: cmd("EXPIRE", k, 86400)
PY
total=$(( $(cli "$REDIS_SRC_PORT" -n 0 DBSIZE) + $(cli "$REDIS_SRC_PORT" -n 1 DBSIZE) ))
src_env() { T_REDIS_HOST=127.0.0.1 T_REDIS_PORT=$1 T_REDIS_PASSWORD=$pw "$tool" "${@:2}"; }

t0=$(now); cli "$REDIS_SRC_PORT" --rdb "$work/dump.rdb" >/dev/null 2>&1; t1=$(now)
rdb_s=$(secs "$t0" "$t1"); rdb_b=$(stat -c %s "$work/dump.rdb")
t0=$(now); src_env "$REDIS_SRC_PORT" dump > "$work/stream" 2>/dev/null; t1=$(now)
dump_s=$(secs "$t0" "$t1"); stream_b=$(stat -c %s "$work/stream")
t0=$(now); src_env "$REDIS_DST_PORT" load < "$work/stream" 2> "$work/load.err"; t1=$(now)
load_s=$(secs "$t0" "$t1")
grep -q "digest of every database match" "$work/load.err" || { cat "$work/load.err" >&2; exit 1; }
t0=$(now); cli "$REDIS_PIPE_PORT" --pipe < "$work/stream" >/dev/null; t1=$(now)
pipe_s=$(secs "$t0" "$t1")
# The restore alone, without its check: the digest re-reads every key.
t0=$(now); src_env "$REDIS_DST_PORT" digest >/dev/null; t1=$(now)
verify_s=$(secs "$t0" "$t1")

row() { python3 -c "import sys; w,s,b,k=sys.argv[1],float(sys.argv[2]),int(sys.argv[3]),int(sys.argv[4]); print(f'| {w} | {s:.2f} | {k/s:,.0f} | {b/s/1e6:.1f} | {b/1e6:.1f} |')" "$@"; }
echo "Redis $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/'), $total keys, $(nproc) cores, $(date -u +%Y-%m-%d)"
echo
echo "| step | wall s | keys/s | MB/s | MB |"
echo "| --- | ---: | ---: | ---: | ---: |"
row "redis-cli --rdb (SYNC)" "$rdb_s" "$rdb_b" "$total"
row "tsarc logical backup (SCAN/DUMP/PEXPIRETIME)" "$dump_s" "$stream_b" "$total"
row "tsarc logical restore (FLUSHDB, RESTORE, check)" "$load_s" "$stream_b" "$total"
row "the check alone (digest of the target)" "$verify_s" "$stream_b" "$total"
row "redis-cli --pipe of the same stream" "$pipe_s" "$stream_b" "$total"

# Drift: 1000 counters incremented by 4 writers during a logical backup.
python3 -c "
import sys
for i in range(1000): sys.stdout.write('SET counter:%d 0\n' % i)" | dcli "$REDIS_DRIFT_PORT" >/dev/null
python3 - "$keys" <<'PY' | dcli "$REDIS_DRIFT_PORT" --pipe >/dev/null
import sys
n = int(sys.argv[1]) // 4; out = sys.stdout.buffer
for i in range(n):
    k = b"fill:%d" % i; v = b"v%d" % i
    out.write(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(k), k, len(v), v))
PY
redis-benchmark -p "$REDIS_DRIFT_PORT" -c 4 -n 100000000 -r 1000 -q \
	eval "redis.call('INCR', 'counter:' .. math.random(0, 999))" 0 >/dev/null 2>&1 &
writer=$!
sleep 1
before=$(dcli "$REDIS_DRIFT_PORT" EVAL "local s=0 for i=0,999 do s=s+tonumber(redis.call('GET','counter:'..i)) end return s" 0)
t0=$(now); T_REDIS_HOST=127.0.0.1 T_REDIS_PORT=$REDIS_DRIFT_PORT "$tool" dump > "$work/drift" 2>/dev/null; t1=$(now)
after=$(dcli "$REDIS_DRIFT_PORT" EVAL "local s=0 for i=0,999 do s=s+tonumber(redis.call('GET','counter:'..i)) end return s" 0)
kill "$writer" 2>/dev/null; wait "$writer" 2>/dev/null || true
cli "$REDIS_PIPE_PORT" FLUSHALL >/dev/null
cli "$REDIS_PIPE_PORT" --pipe < "$work/drift" >/dev/null
inside=$(cli "$REDIS_PIPE_PORT" EVAL "local s=0 for i=0,999 do s=s+tonumber(redis.call('GET','counter:'..i)) end return s" 0)
echo
echo "Drift: a logical backup of $(( keys / 4 + 1000 )) keys took $(secs "$t0" "$t1") s while 4 writers"
echo "incremented 1000 counters: $(( after - before )) increments during the backup; the backup holds"
echo "$(( inside - before )) of them (sum of counters: $before when it started, $inside in the backup,"
echo "$after when it ended). Each key is as it was when its DUMP ran, somewhere in that window."
