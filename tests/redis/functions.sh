#!/usr/bin/env bash
# The function libraries across a logical backup and restore. A backup by
# a user who may not list them records "redis_functions": "not readable"
# and holds none: its restore, by a user who may FUNCTION FLUSH, must
# leave the target's libraries as they are (the backup knows nothing of
# the source's; removing them would lose what the backup never held), and
# the report says so. A backup that read them (saved, or none) restores
# them as an RDB swap would: the target ends with the source's libraries
# only.
. "$(dirname "$0")/lib.sh"
: "${TSARC:?set TSARC to the tsarc binary}"
export TSARC_PASSWORD="repo-$TEST_NAME-Qw4"
REPO=$WORK/repo
"$TSARC" init --repo "$REPO" --kdf-memory 4 --format 1 >/dev/null 2>&1 || fail "tsarc init"

redis_up src
redis_up dst
# shellcheck disable=SC2086 # ACL_DENY is a list of rules
rcli "$PORT_SRC" ACL SETUSER nofn on ">$USER_PW" "~*" "&*" +@all $ACL_DENY -function |
	grep -qx OK || fail "ACL SETUSER nofn"
rcli "$PORT_SRC" SET src:key 1 >/dev/null
rcli "$PORT_SRC" FUNCTION LOAD "#!lua name=srclib
redis.register_function('src_fn', function(keys, args) return 1 end)" >/dev/null ||
	fail "FUNCTION LOAD on the source"

redis_deployment src-nofn "redis://127.0.0.1:$PORT_SRC/0" nofn "$USER_PW" '{"mode": "logical"}'
redis_deployment src-fn "redis://127.0.0.1:$PORT_SRC/0" backup "$USER_PW" '{"mode": "logical"}'
redis_deployment dst "redis://127.0.0.1:$PORT_DST/0" backup "$USER_PW"

# The target: a key and a library of its own.
target_reset() {
	rcli "$PORT_DST" FLUSHALL >/dev/null
	rcli "$PORT_DST" FUNCTION FLUSH >/dev/null
	rcli "$PORT_DST" SET dst:key 1 >/dev/null
	rcli "$PORT_DST" FUNCTION LOAD "#!lua name=targetlib
redis.register_function('target_fn', function(keys, args) return 7 end)" >/dev/null ||
		fail "FUNCTION LOAD on the target"
}
restore_ok() { # SNAP OUT
	"$TSARC" restore "$1" --config "$WORK/dst/config.json" --repo "$REPO" --json > "$WORK/$2.json" 2> "$WORK/$2.err" ||
		fail "restore $2: $(cat "$WORK/$2.err") $(cat "$WORK/$2.json")"
}

info "a backup by a user who may not list functions records them not readable"
S_NOFN=$(backup_id "$WORK/src-nofn/config.json" b-nofn)
[ "$(stream_meta "$S_NOFN" backend-redis.rdb redis_mode)" = logical ] || fail "not logical"
[ "$(stream_meta "$S_NOFN" backend-redis.rdb redis_functions)" = "not readable" ] ||
	fail "redis_functions: $(stream_meta "$S_NOFN" backend-redis.rdb redis_functions)"

info "its restore leaves the target's libraries as they are, and says so"
target_reset
"$TSARC" restore "$S_NOFN" --config "$WORK/dst/config.json" --repo "$REPO" --dry-run --json > "$WORK/plan.json" 2>&1 ||
	fail "plan: $(cat "$WORK/plan.json")"
grep -q "function libraries are kept" "$WORK/plan.json" || fail "the plan does not say: $(cat "$WORK/plan.json")"
restore_ok "$S_NOFN" r-nofn
[ "$(rcli "$PORT_DST" GET src:key)" = 1 ] || fail "the backup's key was not restored"
[ "$(rcli "$PORT_DST" EXISTS dst:key)" = 0 ] || fail "the target's key was kept"
[ "$(rcli "$PORT_DST" FCALL target_fn 0)" = 7 ] ||
	fail "the target's function library was removed by a backup that never read the source's: $(rcli "$PORT_DST" FUNCTION LIST | head -3)"
grep -q "function libraries left as they were" "$WORK/r-nofn.json" ||
	fail "the report does not say the libraries were kept: $(cat "$WORK/r-nofn.json")"

info "a backup that read the libraries: the target ends with the source's only"
S_FN=$(backup_id "$WORK/src-fn/config.json" b-fn)
[ "$(stream_meta "$S_FN" backend-redis.rdb redis_functions)" = saved ] ||
	fail "redis_functions: $(stream_meta "$S_FN" backend-redis.rdb redis_functions)"
target_reset
restore_ok "$S_FN" r-fn
[ "$(rcli "$PORT_DST" FCALL src_fn 0)" = 1 ] || fail "the source's library was not restored"
rcli "$PORT_DST" FUNCTION LIST | grep -qx targetlib && fail "the target's own library was kept"
grep -q "FUNCTION FLUSH (1 library)" "$WORK/r-fn.json" || fail "report: $(cat "$WORK/r-fn.json")"

info "a backup of a source without libraries (none): the target's go"
rcli "$PORT_SRC" FUNCTION FLUSH >/dev/null
S_NONE=$(backup_id "$WORK/src-fn/config.json" b-none)
[ "$(stream_meta "$S_NONE" backend-redis.rdb redis_functions)" = none ] ||
	fail "redis_functions: $(stream_meta "$S_NONE" backend-redis.rdb redis_functions)"
target_reset
restore_ok "$S_NONE" r-none
[ -z "$(rcli "$PORT_DST" FUNCTION LIST)" ] || fail "the target kept a library the source did not have"
info "an older snapshot, without redis_functions, whose stream holds a library: the plan does not say the target's are kept"
# S_FN's stream holds srclib; its metadata as an older tsarc wrote it,
# without the field: the restore reads the stream and replaces the
# target's libraries, and the plan must not say otherwise.
: "${TSARC_FORGE_SNAPSHOT:?set TSARC_FORGE_SNAPSHOT to the tsarc-forge-snapshot binary}"
"$TSARC" show "$S_FN" --repo "$REPO" --json > "$WORK/s-fn.json" || fail "show $S_FN"
mapfile -t FORGE < <(python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))
s = d["streams"][0]
assert s["name"] == "backend-redis.rdb", s["name"]
m = dict(s["meta"])
del m["redis_functions"]
print(d["host"]); print(s["name"]); print(json.dumps(m))' "$WORK/s-fn.json") || fail "the snapshot's first stream"
S_OLD=$(TSARC_REPOSITORY=$REPO "$TSARC_FORGE_SNAPSHOT" "$S_FN" "${FORGE[0]}" older "${FORGE[1]}" \
	"${FORGE[2]}") || fail "tsarc-forge-snapshot"
[ "$(stream_meta "$S_OLD" backend-redis.rdb redis_functions)" = None ] || fail "the field is still there"
target_reset
"$TSARC" restore "$S_OLD" --config "$WORK/dst/config.json" --repo "$REPO" --dry-run --json > "$WORK/plan-old.json" 2>&1 ||
	fail "plan: $(cat "$WORK/plan-old.json")"
grep -q "function libraries are kept" "$WORK/plan-old.json" &&
	fail "the plan says the target's libraries are kept, the stream holds one: $(grep -o '"redis_functions":[[:space:]]*"[^"]*"' "$WORK/plan-old.json")"
grep -q "replaced by those the stream holds" "$WORK/plan-old.json" ||
	fail "the plan does not say what becomes of the target's libraries: $(cat "$WORK/plan-old.json")"
restore_ok "$S_OLD" r-old
[ "$(rcli "$PORT_DST" FCALL src_fn 0)" = 1 ] || fail "the stream's library was not restored"
rcli "$PORT_DST" FUNCTION LIST | grep -qx targetlib && fail "the target's own library was kept"
grep -q -e "$USER_PW" -e "$ADMIN_PW" "$WORK"/*.err "$WORK"/*.json && fail "a password was printed"
info "ok"
