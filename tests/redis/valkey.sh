#!/usr/bin/env bash
# Valkey 8 (the engine of today's managed Redis: its INFO says
# server_name:valkey, its RDB and DUMP payloads are version 11) as a
# backup source and a restore target, next to Redis 7.0 (version 10),
# through every path tsarc takes to a server it reaches over the network:
# a logical backup (an ACL user without SYNC) and an RDB (SYNC, and
# redis-cli --rdb on this host), restored logically and through the
# private server. Valkey 8 into Valkey 8 and Redis 7.0 into Valkey 8 are
# restored whole; Valkey 8 into Redis 7.0, which refuses version 11, is
# refused by the plan and the run before the target is touched, naming
# both versions; so is a Valkey 8 RDB where no server of this host reads
# it (the private server loads the RDB).
. "$(dirname "$0")/lib.sh"

command -v valkey-server >/dev/null || {
	[ "${TSARC_TEST_REQUIRE_SERVICES:-0}" = 1 ] && fail "valkey-server is not installed (bash ci/deps.sh)"
	echo "SKIP: valkey-server is not installed (bash ci/deps.sh)"
	exit 77
}
tsarc_repo
REDIS_SERVER=valkey-server redis_up vsrc
REDIS_SERVER=valkey-server redis_up vdst
redis_up rsrc
rcli "$PORT_VSRC" INFO server | grep -q '^server_name:valkey' || fail "vsrc is not a Valkey"
fill "$PORT_VSRC"
fill "$PORT_RSRC"
keys_dump "$PORT_VSRC" > "$WORK/vsrc.keys"
keys_dump "$PORT_RSRC" > "$WORK/rsrc.keys"

# deployment NAME PORT USER PASSWORD: the backend-redis Secret and an
# external component, "mode": "auto".
deployment() { redis_deployment "$1" "redis://127.0.0.1:$2/0" "$3" "$4"; }
deployment vsrc-user "$PORT_VSRC" backup "$USER_PW"
deployment vsrc-admin "$PORT_VSRC" default "$ADMIN_PW"
deployment rsrc-user "$PORT_RSRC" backup "$USER_PW"
deployment rsrc-admin "$PORT_RSRC" default "$ADMIN_PW"
deployment vdst "$PORT_VDST" restorer "$USER_PW"
# The Redis 7.0 target is the source, once backed up: refused, it must
# keep its keys.
deployment rdst "$PORT_RSRC" restorer "$USER_PW"

info "backups of Valkey 8 and Redis 7.0: logical (no SYNC) and RDB (SYNC)"
V_LOGICAL=$(backup_id "$WORK/vsrc-user/config.json" vl) || exit 1
V_RDB=$(backup_id "$WORK/vsrc-admin/config.json" vr) || exit 1
R_LOGICAL=$(backup_id "$WORK/rsrc-user/config.json" rl) || exit 1
R_RDB=$(backup_id "$WORK/rsrc-admin/config.json" rr) || exit 1
[ "$(stream_meta "$V_LOGICAL" backend-redis.rdb redis_mode)" = logical ] || fail "Valkey: not logical"
[ "$(stream_meta "$V_RDB" backend-redis.rdb redis_mode)" = rdb ] || fail "Valkey: not an RDB"
# The version of what each holds, which the plan asks the target about.
for snap in "$V_LOGICAL:11" "$V_RDB:11" "$R_LOGICAL:10" "$R_RDB:10"; do
	v=$(stream_meta "${snap%:*}" backend-redis.rdb redis_payload_version)
	[ "$v" = "${snap#*:}" ] || fail "snapshot ${snap%:*} records redis_payload_version $v, not ${snap#*:}"
done

# restored SNAP SRC_KEYS WHAT: SNAP restored into the Valkey 8 target,
# planned first; it then holds the source's keys (SRC_KEYS, keys_dump).
restored() {
	rcli "$PORT_VDST" FLUSHALL >/dev/null
	rcli "$PORT_VDST" SET other:key 1 >/dev/null
	"$TSARC" restore "$1" --config "$WORK/vdst/config.json" --repo "$REPO" --dry-run --json \
		> "$WORK/plan.json" 2> "$WORK/plan.err" || fail "$3: the plan: $(cat "$WORK/plan.err")"
	"$TSARC" restore "$1" --config "$WORK/vdst/config.json" --repo "$REPO" --json \
		> "$WORK/restore.json" 2> "$WORK/restore.err" ||
		fail "$3: $(cat "$WORK/restore.err") $(cat "$WORK/restore.json")"
	# Across versions the digest is not compared (the values are encoded
	# differently): the key counts are, and keys_dump compares each value.
	grep -q "key count\( and digest\)\? of every database match" "$WORK/restore.json" ||
		fail "$3: the report: $(cat "$WORK/restore.json")"
	keys_dump "$PORT_VDST" > "$WORK/dst.keys"
	diff "$2" "$WORK/dst.keys" > "$WORK/keys.diff" || fail "$3: keys differ: $(head -5 "$WORK/keys.diff")"
	[ "$(rcli "$PORT_VDST" FCALL tsarc_answer 0)" = 42 ] || fail "$3: the functions were not restored"
	[ -z "$(ls -A "$WORK/tmp")" ] || fail "$3: files left in TMPDIR: $(ls -la "$WORK/tmp")"
}
info "Valkey 8 into Valkey 8: the logical stream, the RDB through the private server"
restored "$V_LOGICAL" "$WORK/vsrc.keys" "Valkey logical into Valkey"
restored "$V_RDB" "$WORK/vsrc.keys" "Valkey RDB into Valkey"
grep -q "private redis-server" "$WORK/restore.json" || fail "not the private server: $(cat "$WORK/restore.json")"
info "redis-cli 7.0 on this host (\"tool\") reads Valkey 8's RDB, restored into Valkey 8"
redis_deployment vsrc-cli "redis://127.0.0.1:$PORT_VSRC/0" default "$ADMIN_PW" '{"tool": "redis-cli"}'
V_CLI=$(backup_id "$WORK/vsrc-cli/config.json" vc) || exit 1
restored "$V_CLI" "$WORK/vsrc.keys" "Valkey RDB by redis-cli into Valkey"
info "Redis 7.0 into Valkey 8: the logical stream, the RDB through the private server"
restored "$R_LOGICAL" "$WORK/rsrc.keys" "Redis logical into Valkey"
restored "$R_RDB" "$WORK/rsrc.keys" "Redis RDB into Valkey"

# refused SNAP WHAT: SNAP into the Redis 7.0 target is refused by the plan
# and by the run, naming the versions; the target keeps its keys.
refused() {
	plan_refused "$1" "$WORK/rdst/config.json" "version 11" "$2"
	grep -q "payloads of RDB version 10 at most" "$WORK/plan.err" || fail "$2: the plan: $(cat "$WORK/plan.err")"
	"$TSARC" restore "$1" --config "$WORK/rdst/config.json" --repo "$REPO" \
		> "$WORK/refused.out" 2> "$WORK/refused.err" && fail "$2: restored"
	grep -q "version 11.*nothing was written" "$WORK/refused.err" || fail "$2: the run: $(cat "$WORK/refused.err")"
	keys_dump "$PORT_RSRC" > "$WORK/rdst.after"
	diff -q "$WORK/rsrc.keys" "$WORK/rdst.after" >/dev/null || fail "$2: the target was touched"
}
info "Valkey 8 into Redis 7.0: refused before anything is touched"
refused "$V_LOGICAL" "Valkey logical into Redis 7.0"
refused "$V_RDB" "Valkey RDB into Redis 7.0"

info "a Valkey 8 RDB where this host has no valkey-server: refused by the plan, the target untouched"
# tsarc alone runs with a PATH whose only server is redis-server.
mkdir "$WORK/bin"
ln -s "$(command -v redis-server)" "$WORK/bin/redis-server"
keys_dump "$PORT_VDST" > "$WORK/vdst.keys"
NOLOCAL="RDB is version 11, which no Redis server of this host reads (refused by redis-server)"
PATH=$WORK/bin "$TSARC" restore "$V_RDB" --config "$WORK/vdst/config.json" --repo "$REPO" --dry-run \
	> "$WORK/nolocal-plan.out" 2> "$WORK/nolocal-plan.err" && fail "without valkey-server: the plan admits it"
grep -q "$NOLOCAL" "$WORK/nolocal-plan.err" || fail "without valkey-server: the plan: $(cat "$WORK/nolocal-plan.err")"
PATH=$WORK/bin "$TSARC" restore "$V_RDB" --config "$WORK/vdst/config.json" --repo "$REPO" \
	> "$WORK/nolocal.out" 2> "$WORK/nolocal.err" && fail "restored without valkey-server"
grep -q "$NOLOCAL" "$WORK/nolocal.err" || fail "without valkey-server: the run: $(cat "$WORK/nolocal.err")"
keys_dump "$PORT_VDST" > "$WORK/vdst.after"
diff -q "$WORK/vdst.keys" "$WORK/vdst.after" >/dev/null || fail "without valkey-server: the target was touched"

grep -q -e "$USER_PW" -e "$ADMIN_PW" "$WORK"/*.err "$WORK"/*.json && fail "a password was printed"
info "ok"
