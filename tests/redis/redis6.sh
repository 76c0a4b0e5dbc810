#!/usr/bin/env bash
# Redis 6 (Debian 11's 6.0, in the root filesystem of
# TSARC_TEST_REDIS6_ROOT, made by ci/test.sh): the managed Redis 6 of
# today's 3scale (Azure Cache for Redis 6, an ElastiCache 6) as a restore
# target, and the in-pod Redis 6 of 3scale before 2.16 as a source. Its
# DUMP payloads are RDB version 9 and it takes no newer one: a Valkey 8's
# and a Redis 7.0's backups go into it with their payloads rewritten to 9
# (payload.h: listpack hashes, sorted sets and lists as ziplists, streams
# in Redis 6's layout), logical and RDB (through this host's
# valkey-server and redis-server 7.0, whose payloads are 11 and 10); a
# backup with a function library, which Redis 6 does not have, is refused
# by the plan, logical and RDB (the plan reads the RDB through a private
# server as the step does), the target untouched; so is the RDB as a
# deployment's second Redis step, the first's target untouched too.
# Redis 6's own backups, logical and RDB, go into a Redis 6 (its RDB
# through this host's redis-server 7.0, whose payloads are rewritten back
# to 9) and into a Valkey 8. Every
# restore is compared key by key (keys_dump, in what both versions show
# alike: KEYS_DUMP_ACROSS) and by the key counts of the check after the
# load, and its digest: into a Redis 6, which has no PEXPIRETIME, with
# each key's expiry as whether it expires (the values all compared).
# The plan of an RDB swap into the Redis 6 on this host asks whether it
# reads the backup's RDB version, and refuses a Valkey 8's.
. "$(dirname "$0")/lib.sh"

need_root TSARC_TEST_REDIS6_ROOT
command -v valkey-server >/dev/null || {
	[ "${TSARC_TEST_REQUIRE_SERVICES:-0}" = 1 ] && fail "valkey-server is not installed (bash ci/deps.sh)"
	echo "SKIP: valkey-server is not installed (bash ci/deps.sh)"
	exit 77
}
tsarc_repo
# redis-server 6 of the root, as if installed here.
root_tools "$WORK/r6bin" "$TSARC_TEST_REDIS6_ROOT" redis-server
"$WORK/r6bin/redis-server" --version | grep -q ' v=6\.0\.' || fail "the root's redis-server is not Redis 6.0"

REDIS_SERVER=$WORK/r6bin/redis-server REDIS_SERVER_6=1 redis_up r6src
REDIS_SERVER=$WORK/r6bin/redis-server REDIS_SERVER_6=1 redis_up r6dst
REDIS_SERVER=valkey-server redis_up vsrc
REDIS_SERVER=valkey-server redis_up vdst
redis_up rsrc
fill "$PORT_R6SRC" nofunctions
fill "$PORT_VSRC" nofunctions
fill "$PORT_RSRC"
export KEYS_DUMP_ACROSS=1
keys_dump "$PORT_R6SRC" > "$WORK/r6src.keys"
keys_dump "$PORT_VSRC" > "$WORK/vsrc.keys"

deployment() { redis_deployment "$1" "redis://127.0.0.1:$2/0" "$3" "$4"; }
deployment r6src-user "$PORT_R6SRC" backup "$USER_PW"
deployment r6src-admin "$PORT_R6SRC" default "$ADMIN_PW"
deployment vsrc-user "$PORT_VSRC" backup "$USER_PW"
deployment vsrc-admin "$PORT_VSRC" default "$ADMIN_PW"
deployment rsrc-user "$PORT_RSRC" backup "$USER_PW"
deployment r6dst "$PORT_R6DST" restorer "$USER_PW"
deployment vdst "$PORT_VDST" restorer "$USER_PW"

info "backups: Redis 6 and Valkey 8, logical and RDB; Redis 7.0 with a function library"
R6_LOGICAL=$(backup_id "$WORK/r6src-user/config.json" r6l) || exit 1
R6_RDB=$(backup_id "$WORK/r6src-admin/config.json" r6r) || exit 1
V_LOGICAL=$(backup_id "$WORK/vsrc-user/config.json" vl) || exit 1
V_RDB=$(backup_id "$WORK/vsrc-admin/config.json" vr) || exit 1
R_FUNCTIONS=$(backup_id "$WORK/rsrc-user/config.json" rf) || exit 1
for snap in "$R6_LOGICAL:9" "$R6_RDB:9" "$V_LOGICAL:11" "$V_RDB:11"; do
	v=$(stream_meta "${snap%:*}" backend-redis.rdb redis_payload_version)
	[ "$v" = "${snap#*:}" ] || fail "snapshot ${snap%:*} records redis_payload_version $v, not ${snap#*:}"
done
# A Valkey 8's payloads can all go to Redis 6; a function library cannot.
[ "$(stream_meta "$V_LOGICAL" backend-redis.rdb redis_payload_floor)" = 9 ] ||
	fail "Valkey logical: redis_payload_floor is not 9"
[ "$(stream_meta "$R_FUNCTIONS" backend-redis.rdb redis_payload_floor)" = 10 ] ||
	fail "Redis 7.0 with functions: redis_payload_floor is not 10"

# restored SNAP SRC_KEYS WHAT TARGET PORT [VERSION]: SNAP restored into
# the deployment TARGET as restored_into does; into a Redis 6, which has
# no PEXPIRETIME, the digest compares each key's expiry as whether it
# expires. VERSION: its payloads were rewritten to that version.
restored() {
	restored_into "$1" "$2" "$3" "$4" "$5"
	if [ "$4" = r6dst ]; then
		grep -q "expiries compared as whether each key expires: the target has no PEXPIRETIME" \
			"$WORK/restore.json" || fail "$3: the report: $(cat "$WORK/restore.json")"
	fi
	if [ -n "${6:-}" ]; then
		grep -q "payloads\? of RDB version [0-9]* rewritten to version $6, which the target takes" \
			"$WORK/restore.json" || fail "$3: not rewritten to $6: $(cat "$WORK/restore.json")"
	fi
}

info "Valkey 8 into Redis 6: its payloads (11) rewritten to 9, logical and RDB"
restored "$V_LOGICAL" "$WORK/vsrc.keys" "Valkey logical into Redis 6" r6dst "$PORT_R6DST" 9
restored "$V_RDB" "$WORK/vsrc.keys" "Valkey RDB into Redis 6" r6dst "$PORT_R6DST" 9
grep -q "private redis-server" "$WORK/restore.json" || fail "not the private server: $(cat "$WORK/restore.json")"

info "Redis 6 into Redis 6: logical as it is; the RDB through this host's Redis 7.0, rewritten back to 9"
restored "$R6_LOGICAL" "$WORK/r6src.keys" "Redis 6 logical into Redis 6" r6dst "$PORT_R6DST"
restored "$R6_RDB" "$WORK/r6src.keys" "Redis 6 RDB into Redis 6" r6dst "$PORT_R6DST" 9

info "Redis 6 into Valkey 8: logical and RDB"
restored "$R6_LOGICAL" "$WORK/r6src.keys" "Redis 6 logical into Valkey 8" vdst "$PORT_VDST"
restored "$R6_RDB" "$WORK/r6src.keys" "Redis 6 RDB into Valkey 8" vdst "$PORT_VDST"

info "a function library into Redis 6: refused by the plan, logical and RDB; the target untouched"
deployment rsrc-admin "$PORT_RSRC" default "$ADMIN_PW"
R_FUNCTIONS_RDB=$(backup_id "$WORK/rsrc-admin/config.json" rfr) || exit 1
keys_dump "$PORT_R6DST" > "$WORK/r6dst.before"
FUNCTIONS_PLAN="function library (FUNCTION, which Redis 6 does not have).*cannot be below version 10"
plan_refused "$R_FUNCTIONS" "$WORK/r6dst/config.json" "$FUNCTIONS_PLAN" "functions into Redis 6"
FUNCTIONS_RUN="the function libraries: a library of functions (FUNCTION, which Redis 6 does not have) cannot be below version 10"
for snap in "$R_FUNCTIONS:$FUNCTIONS_PLAN" "$R_FUNCTIONS_RDB:$FUNCTIONS_RUN"; do
	"$TSARC" restore "${snap%%:*}" --config "$WORK/r6dst/config.json" --repo "$REPO" \
		> "$WORK/functions.out" 2> "$WORK/functions.err" && fail "functions $snap: restored into Redis 6"
	grep -q "${snap#*:}.*nothing was written" "$WORK/functions.err" ||
		fail "functions into Redis 6 $snap: the run: $(cat "$WORK/functions.err")"
	keys_dump "$PORT_R6DST" > "$WORK/r6dst.after"
	diff -q "$WORK/r6dst.before" "$WORK/r6dst.after" >/dev/null ||
		fail "functions into Redis 6 $snap: the target was touched"
done

info "that RDB as a deployment's second Redis step, after one that writes: refused by the plan, neither target touched"
# backend-redis (order 70: a Valkey 8's RDB into the Valkey 8 vdst, which
# takes it as it is) goes before system-redis (80: the RDB with the
# function library into Redis 6). The plan reads the second's RDB whole
# (the private server the step loads it in) before the first step writes.
# Before, the plan admitted the restore: the first step replaced vdst,
# then the second refused the library.
# pair NAME BACKEND SYSTEM: $WORK/NAME, the deployment with the
# backend-redis of $WORK/BACKEND and the system-redis of $WORK/SYSTEM.
pair() {
	mkdir -p "$WORK/$1/secret"
	cp "$WORK/$2/secret/backend-redis.json" "$WORK/$3/secret/system-redis.json" "$WORK/$1/secret/"
	python3 - "$WORK/$1" "$WORK/$2/config.json" "$WORK/$3/config.json" <<'PY'
import json, sys
d, backend, system = sys.argv[1:]
conf = json.load(open(backend))
conf["components"].update(json.load(open(system))["components"])
conf["transport"]["resources_dir"] = d
json.dump(conf, open(d + "/config.json", "w"))
PY
}
system_redis_deployment rsrc-system "redis://127.0.0.1:$PORT_RSRC/0" default "$ADMIN_PW"
system_redis_deployment r6dst-system "redis://127.0.0.1:$PORT_R6DST/0" restorer "$USER_PW"
pair pair-src vsrc-admin rsrc-system
pair pair-dst vdst r6dst-system
PAIR_RDB=$(backup_id "$WORK/pair-src/config.json" pair) || exit 1
rcli "$PORT_VDST" FLUSHALL >/dev/null
rcli "$PORT_VDST" SET other:key 1 >/dev/null
keys_dump "$PORT_VDST" > "$WORK/vdst.before"
PAIR_REFUSED="component 'system-redis': .*$FUNCTIONS_RUN.*nothing was written"
rc=0
"$TSARC" restore "$PAIR_RDB" --config "$WORK/pair-dst/config.json" --repo "$REPO" \
	> "$WORK/pair.out" 2> "$WORK/pair.err" || rc=$?
[ "$rc" -ne 0 ] || fail "the pair: restored, a function library into Redis 6"
grep -q "$PAIR_REFUSED" "$WORK/pair.err" || fail "the pair: the run: $(cat "$WORK/pair.err")"
keys_dump "$PORT_VDST" > "$WORK/vdst.after"
diff -q "$WORK/vdst.before" "$WORK/vdst.after" >/dev/null ||
	fail "the pair: backend-redis's target (the first step) was written before system-redis's refusal (exit $rc): $(cat "$WORK/pair.err")"
keys_dump "$PORT_R6DST" > "$WORK/r6dst.after"
diff -q "$WORK/r6dst.before" "$WORK/r6dst.after" >/dev/null || fail "the pair: system-redis's target was touched"
plan_refused "$PAIR_RDB" "$WORK/pair-dst/config.json" "$PAIR_REFUSED" "the pair"
[ -z "$(ls -A "$WORK/tmp")" ] || fail "the pair: the plan left files in TMPDIR: $(ls -la "$WORK/tmp")"

info "Valkey 8's RDB swapped into the Redis 6 on this host: refused by the plan, which asks the server"
# The swap restarts the server on the backup's RDB, which a Redis 6
# cannot load (11): its redis-check-rdb would refuse it at the step, after
# the steps before it had written. Before, the plan admitted it.
redis_deployment r6swap "redis://127.0.0.1:$PORT_R6DST/0" default "$ADMIN_PW" \
	"{\"mode\": \"rdb\", \"restore\": {\"action\": \"redis-rdb\", \"order\": 70, \"config_file\": \"$WORK/redis-r6dst/redis.conf\"}}"
plan_refused "$V_RDB" "$WORK/r6swap/config.json" \
	"the backup's RDB is version 11, and Redis at 127.0.0.1:$PORT_R6DST reads RDB files and payloads of RDB version 9 at most.*nothing was restored" \
	"Valkey 8's RDB swapped into Redis 6"
"$TSARC" restore "$R6_RDB" --config "$WORK/r6swap/config.json" --repo "$REPO" --dry-run --json \
	> "$WORK/plan.json" 2> "$WORK/plan.err" || fail "Redis 6's RDB swapped into Redis 6: the plan: $(cat "$WORK/plan.err")"
grep -q "version 9, which Redis 6\.0\.[0-9]* at 127.0.0.1:$PORT_R6DST reads" "$WORK/plan.json" ||
	fail "Redis 6's RDB swapped into Redis 6: the plan does not say the server reads it: $(cat "$WORK/plan.json")"

grep -q -e "$USER_PW" -e "$ADMIN_PW" "$WORK"/*.err "$WORK"/*.json && fail "a password was printed"
info "ok"
