#!/usr/bin/env bash
# A managed Redis has a fixed maxmemory (the node's size) and often an
# eviction policy. A backup whose data set does not fit it was restored
# anyway: the target emptied, then, with noeviction, the RESTOREs refused
# with OOM (the target left empty or half loaded, the backup's keys
# nowhere); with an eviction policy, the server evicted keys while the load
# ran and the check afterwards found the counts wrong, with the target's
# own data already gone. What the backup needs must be compared with what
# the target allows before anything is removed, on both online paths (the
# logical load, and the private redis-server that copies an RDB across);
# a target that fits is restored and checked. Sizes are far apart (the
# backup some 5 MB in memory, targets of 2 MB and of 256 MB): nothing depends on how
# close an estimate comes.
. "$(dirname "$0")/lib.sh"
tsarc_repo

memory_servers

redis_deployment src-logical "redis://127.0.0.1:$PORT_SRC/0" backup "$USER_PW" '{"mode": "logical"}'
S_LOG=$(backup_id "$WORK/src-logical/config.json" b-logical)
redis_deployment src-rdb "redis://127.0.0.1:$PORT_SRC/0" "" "$ADMIN_PW" '{"mode": "rdb"}'
S_RDB=$(backup_id "$WORK/src-rdb/config.json" b-rdb)
[ "$(stream_meta "$S_RDB" backend-redis.rdb redis_mode)" = rdb ] || fail "the second backup is no RDB"
[ "$(stream_meta "$S_LOG" backend-redis.rdb redis_mode)" = logical ] || fail "the first backup is not logical"
[ "$(stream_meta "$S_LOG" backend-redis.rdb redis_used_memory_dataset)" != None ] ||
	fail "the logical backup does not record the source's data set in memory"

# own PORT: the target's own keys, small, some with a TTL.
own() {
	rcli "$1" FLUSHALL >/dev/null
	for i in $(seq 10); do echo "SET dst:$i own$i"; echo "SET ttl:$i t$i EX 86400"; done |
		rcli "$1" >/dev/null
}

for t in noev lru; do
	port_var=PORT_$(printf '%s' "$t" | tr 'a-z' 'A-Z')
	port=${!port_var}
	redis_deployment "dst-$t" "redis://127.0.0.1:$port/0" restorer "$USER_PW"
	for snap in "$S_LOG" "$S_RDB"; do
		mode=$(stream_meta "$snap" backend-redis.rdb redis_mode)
		info "$t, $mode: refused before the target is emptied"
		own "$port"
		keys_dump "$port" > "$WORK/before.keys"
		RC=0
		"$TSARC" restore "$snap" --config "$WORK/dst-$t/config.json" --repo "$REPO" > "$WORK/r.out" 2> "$WORK/r.err" || RC=$?
		keys_dump "$port" > "$WORK/after.keys"
		cmp -s "$WORK/before.keys" "$WORK/after.keys" ||
			fail "the target was changed ($(grep -c . "$WORK/after.keys") keys, $(grep -c "^db0 b'big:" "$WORK/after.keys") of the backup's 1000, left of its 20): $(grep -v '^  ' "$WORK/r.err")"
		[ "$RC" -ne 0 ] || fail "a restore of 5 MB into a maxmemory of 2 MB succeeded"
		grep -q "maxmemory" "$WORK/r.err" || fail "the error does not name maxmemory: $(cat "$WORK/r.err")"
		grep -q "nothing was written" "$WORK/r.err" || fail "the error does not say nothing was written: $(cat "$WORK/r.err")"
		# The plan: a logical snapshot records what it needs, and the plan
		# refuses it as the run does; an RDB is measured by the run, and
		# the plan says how, with the target's maxmemory.
		RC=0
		n0=$(connections "$port")
		"$TSARC" restore "$snap" --config "$WORK/dst-$t/config.json" --repo "$REPO" --dry-run --json \
			> "$WORK/plan.json" 2> "$WORK/plan.err" || RC=$?
		if [ "$mode" = logical ]; then
			[ "$RC" -ne 0 ] || fail "the plan of a logical backup that does not fit was not refused: $(cat "$WORK/plan.json")"
			grep -q "maxmemory" "$WORK/plan.err" && grep -q "nothing was written" "$WORK/plan.err" ||
				fail "the plan's refusal does not name maxmemory: $(cat "$WORK/plan.err")"
			continue
		fi
		[ "$RC" -eq 0 ] || fail "plan: $(cat "$WORK/plan.err")"
		plan_connects_once "$port" "$n0" "$t, $mode: the plan (the target's identity and memory)"
		python3 - "$WORK/plan.json" <<'PY' || fail "the plan does not show the memory check: $(cat "$WORK/plan.json")"
import json, sys
p = [s for s in json.load(open(sys.argv[1]))["steps"] if s["component"] == "backend-redis"][0]["plan"]
m = p["redis_memory"]
assert "maxmemory" in m and "private redis-server" in m, m
PY
	done
done

info "a target that fits: restored and checked, on both paths"
redis_deployment dst-roomy "redis://127.0.0.1:$PORT_ROOMY/0" restorer "$USER_PW"
keys_dump "$PORT_SRC" > "$WORK/src.keys"
for snap in "$S_LOG" "$S_RDB"; do
	own "$PORT_ROOMY"
	"$TSARC" restore "$snap" --config "$WORK/dst-roomy/config.json" --repo "$REPO" > "$WORK/r.out" 2> "$WORK/r.err" ||
		fail "restore into a target that fits: $(cat "$WORK/r.err")"
	keys_dump "$PORT_ROOMY" > "$WORK/roomy.keys"
	cmp -s "$WORK/src.keys" "$WORK/roomy.keys" || fail "the target that fits does not hold the backup"
done

info "a user refused INFO (a managed Redis's ACL may be): restored on both paths, the report saying which checks were not made"
# The target's memory (INFO memory), what it evicts during the load
# (INFO stats) and its identity (INFO server's run_id, which tells two
# addresses of one server for one) cannot be read: the restore goes on,
# as into a managed Redis, the key counts and digest still compared, and
# says so. Before, the report said nothing of the evictions it had not
# counted, nor that the target was known by its address only.
echo "ACL SETUSER noinfo on >$USER_PW ~* &* +@all $ACL_DENY -info" | rcli "$PORT_ROOMY" >/dev/null ||
	fail "ACL SETUSER"
redis_deployment dst-noinfo "redis://127.0.0.1:$PORT_ROOMY/0" noinfo "$USER_PW"
for snap in "$S_LOG" "$S_RDB"; do
	own "$PORT_ROOMY"
	"$TSARC" restore "$snap" --config "$WORK/dst-noinfo/config.json" --repo "$REPO" --json \
		> "$WORK/r-noinfo.json" 2> "$WORK/r-noinfo.err" ||
		fail "restore by a user refused INFO: $(cat "$WORK/r-noinfo.err")"
	keys_dump "$PORT_ROOMY" > "$WORK/roomy.keys"
	cmp -s "$WORK/src.keys" "$WORK/roomy.keys" || fail "the target of a user refused INFO does not hold the backup"
	python3 - "$WORK/r-noinfo.json" <<'PY' || fail "the report does not say which checks were not made: $(cat "$WORK/r-noinfo.json")"
import json, sys
s = [s for s in json.load(open(sys.argv[1]))["steps"] if s["component"] == "backend-redis"][0]
assert s["detail"]["redis_memory"].startswith("not checked") and "INFO memory" in s["detail"]["redis_memory"], s
assert "evictions during the load not counted" in s["note"] and "INFO stats" in s["note"], s["note"]
assert "server_id" not in s["endpoint"] and "INFO server" in s["endpoint"]["server_id_unknown"], s["endpoint"]
PY
done

info "two components, the second too large for its target: refused before the first is written"
# backend-redis (order 70) from a small server into the roomy target,
# system-redis (order 80) from the large one into the small target: the
# snapshot records what each needs, so the plan refuses the second before
# the first step empties anything.
redis_up small
for i in $(seq 5); do echo "SET small:$i v$i"; done | rcli "$PORT_SMALL" >/dev/null
two_redis two-src 127.0.0.1 "$PORT_SMALL" 127.0.0.1 "$PORT_SRC"
S_TWO=$(backup_id "$WORK/two-src/config.json" b-two)
two_redis two-dst 127.0.0.1 "$PORT_ROOMY" 127.0.0.1 "$PORT_NOEV"
own "$PORT_ROOMY"
own "$PORT_NOEV"
keys_dump "$PORT_ROOMY" > "$WORK/roomy-before.keys"
keys_dump "$PORT_NOEV" > "$WORK/before.keys"
RC=0
"$TSARC" restore "$S_TWO" --config "$WORK/two-dst/config.json" --repo "$REPO" > "$WORK/r-two.out" 2> "$WORK/r-two.err" || RC=$?
[ "$RC" -ne 0 ] || fail "system-redis of 5 MB into a maxmemory of 2 MB was restored"
keys_dump "$PORT_ROOMY" > "$WORK/roomy-after.keys"
cmp -s "$WORK/roomy-before.keys" "$WORK/roomy-after.keys" ||
	fail "backend-redis's target was emptied and restored before system-redis was refused: $(grep -v '^  ' "$WORK/r-two.err")"
keys_dump "$PORT_NOEV" > "$WORK/after.keys"
cmp -s "$WORK/before.keys" "$WORK/after.keys" || fail "system-redis's target was changed: $(cat "$WORK/r-two.err")"
grep -q "maxmemory" "$WORK/r-two.err" || fail "the error does not name maxmemory: $(cat "$WORK/r-two.err")"
grep -q "nothing was written" "$WORK/r-two.err" || fail "the error does not say nothing was written: $(cat "$WORK/r-two.err")"

info "an older snapshot, without redis_used_memory_dataset: estimated from the stream, refused where it clearly cannot fit"
: "${TSARC_FORGE_SNAPSHOT:?set TSARC_FORGE_SNAPSHOT to the tsarc-forge-snapshot binary}"
"$TSARC" show "$S_LOG" --repo "$REPO" --json > "$WORK/s-log.json" || fail "show $S_LOG"
mapfile -t FORGE < <(python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))
s = d["streams"][0]
assert s["name"] == "backend-redis.rdb", s["name"]
m = dict(s["meta"])
del m["redis_used_memory_dataset"]
print(d["host"]); print(s["name"]); print(json.dumps(m))' "$WORK/s-log.json") || fail "the snapshot's first stream"
S_OLD=$(TSARC_REPOSITORY=$REPO "$TSARC_FORGE_SNAPSHOT" "$S_LOG" "${FORGE[0]}" older "${FORGE[1]}" \
	"${FORGE[2]}") || fail "tsarc-forge-snapshot"
[ "$(stream_meta "$S_OLD" backend-redis.rdb redis_used_memory_dataset)" = None ] || fail "the field is still there"
own "$PORT_NOEV"
keys_dump "$PORT_NOEV" > "$WORK/before.keys"
"$TSARC" restore "$S_OLD" --config "$WORK/dst-noev/config.json" --repo "$REPO" --dry-run --json \
	> "$WORK/plan-old.json" 2> "$WORK/plan-old.err" || fail "plan: $(cat "$WORK/plan-old.err")"
grep -q "older tsarc" "$WORK/plan-old.json" || fail "the plan does not say the size is estimated: $(cat "$WORK/plan-old.json")"
RC=0
"$TSARC" restore "$S_OLD" --config "$WORK/dst-noev/config.json" --repo "$REPO" > "$WORK/r-old.out" 2> "$WORK/r-old.err" || RC=$?
keys_dump "$PORT_NOEV" > "$WORK/after.keys"
cmp -s "$WORK/before.keys" "$WORK/after.keys" || fail "the target was changed: $(grep -v '^  ' "$WORK/r-old.err")"
[ "$RC" -ne 0 ] || fail "an older snapshot of 5 MB into a maxmemory of 2 MB was restored"
grep -q "estimated from the stream" "$WORK/r-old.err" || fail "the error does not say the size is estimated: $(cat "$WORK/r-old.err")"
own "$PORT_ROOMY"
"$TSARC" restore "$S_OLD" --config "$WORK/dst-roomy/config.json" --repo "$REPO" --json > "$WORK/r-old2.json" 2> "$WORK/r-old2.err" ||
	fail "restore of an older snapshot into a target that fits: $(cat "$WORK/r-old2.err")"
grep -q '"redis_memory":.*fits: .*estimated from the stream' "$WORK/r-old2.json" ||
	fail "the report does not say what the check found: $(cat "$WORK/r-old2.json")"
keys_dump "$PORT_ROOMY" > "$WORK/roomy.keys"
cmp -s "$WORK/src.keys" "$WORK/roomy.keys" || fail "the target that fits does not hold the backup"

info "a snapshot whose metadata says the backup needs nothing (forged; the older one, which the forge replaces): the stream's own size counts"
mapfile -t FORGE < <(python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))
s = d["streams"][0]
m = dict(s["meta"])
m["redis_used_memory_dataset"] = 0
print(d["host"]); print(s["name"]); print(json.dumps(m))' "$WORK/s-log.json") || fail "the snapshot's first stream"
S_ZERO=$(TSARC_REPOSITORY=$REPO "$TSARC_FORGE_SNAPSHOT" "$S_OLD" "${FORGE[0]}" zero "${FORGE[1]}" \
	"${FORGE[2]}") || fail "tsarc-forge-snapshot"
own "$PORT_NOEV"
keys_dump "$PORT_NOEV" > "$WORK/before.keys"
RC=0
"$TSARC" restore "$S_ZERO" --config "$WORK/dst-noev/config.json" --repo "$REPO" > "$WORK/r-zero.out" 2> "$WORK/r-zero.err" || RC=$?
keys_dump "$PORT_NOEV" > "$WORK/after.keys"
cmp -s "$WORK/before.keys" "$WORK/after.keys" || fail "a forged need of 0: the target was changed: $(grep -v '^  ' "$WORK/r-zero.err")"
[ "$RC" -ne 0 ] || fail "a forged need of 0: 5 MB restored into a maxmemory of 2 MB"

grep -q -e "$ADMIN_PW" -e "$USER_PW" "$WORK"/*.err "$WORK"/*.out "$WORK"/*.json && fail "a password was printed"
info "ok"
