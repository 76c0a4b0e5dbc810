#!/usr/bin/env bash
# Redis: the logical backup and restore (tsarc's client: SCAN/DUMP/
# PEXPIRETIME out, FLUSHDB + RESTORE ... REPLACE ABSTTL in, pipelined)
# next to redis-cli --rdb (SYNC) and a redis-cli --pipe replay of the same
# logical stream, on the same data in the same run: the client alone
# (tsarc-redis-tool, stream to and from a file), and the whole of
# `tsarc backup` / `tsarc restore` of a component with "mode": "logical"
# (a local repository; the restore reads the stream twice: the check pass
# before the first write, then the load, then the digest); then how far a
# logical backup drifts from the source while a writer runs during the scan.
#
#   bench/redis.sh [KEYS]     (default 2000000; a release build in build/release)
#
# Prints a Markdown table (keys/s, MB/s) and the drift figures.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
keys=${1:-2000000}
tool=${TSARC_REDIS_TOOL:-$top/build/release/tests/tsarc-redis-tool}
tsarc=${TSARC:-$top/build/release/tsarc}
[ -x "$tool" ] && [ -x "$tsarc" ] || { echo "build first: bash ci/build.sh build/release" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/tsarc-bench-redis.XXXXXX")
trap 'bash "$top/ci/services.sh" stop "$work" >/dev/null 2>&1; rm -rf "$work"' EXIT
pw=bench-$(head -c 9 /dev/urandom | base64 | tr -d '/+=')
for n in src dst pipe whole; do
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

# The whole tool: a deployment whose backend-redis Secret names the
# source (then the target), a local repository.
export TSARC_PASSWORD=$pw
"$tsarc" init --repo "$work/repo" >/dev/null 2>&1
deployment() { # DIR PORT
	mkdir -p "$1/secret"
	python3 - "$1" "$2" <<'PY'
import base64, json, os, sys
d, port = sys.argv[1:]
b = lambda s: base64.b64encode(s.encode()).decode()
json.dump({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "backend-redis"},
           "data": {"REDIS_STORAGE_URL": b("redis://127.0.0.1:%s/0" % port),
                    "REDIS_STORAGE_PASSWORD": b(os.environ["TSARC_PASSWORD"])}},
          open(d + "/secret/backend-redis.json", "w"))
json.dump({"profile": "none", "transport": {"type": "local", "resources_dir": d},
           "components": {"backend-redis": {"kind": "redis", "external": True, "mode": "logical",
               "url_secret": {"secret": "backend-redis", "key": "REDIS_STORAGE_URL"},
               "stream": "backend-redis.rdb", "restore": {"action": "redis-rdb", "order": 70}}}},
          open(d + "/config.json", "w"))
PY
}
(umask 077; deployment "$work/dep-src" "$REDIS_SRC_PORT"; deployment "$work/dep-dst" "$REDIS_WHOLE_PORT")
t0=$(now); "$tsarc" backup --config "$work/dep-src/config.json" --repo "$work/repo" --json > "$work/b.json" 2> "$work/b.err" ||
	{ cat "$work/b.err" >&2; exit 1; }; t1=$(now)
tb_s=$(secs "$t0" "$t1")
snap=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["snapshot_id"])' "$work/b.json")
t0=$(now); "$tsarc" restore "$snap" --config "$work/dep-dst/config.json" --repo "$work/repo" > "$work/r.out" 2> "$work/r.err" ||
	{ cat "$work/r.err" >&2; exit 1; }; t1=$(now)
tr_s=$(secs "$t0" "$t1")
repo_b=$(du -sb "$work/repo" | cut -f1)

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
row "tsarc backup (logical, into a repository)" "$tb_s" "$stream_b" "$total"
row "tsarc restore (check pass, load, digest)" "$tr_s" "$stream_b" "$total"
echo
echo "Repository after the backup: $(python3 -c "print(f'{$repo_b/1e6:.1f}')") MB for a $(python3 -c "print(f'{$stream_b/1e6:.1f}')") MB stream."

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
