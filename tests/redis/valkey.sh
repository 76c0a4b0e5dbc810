#!/usr/bin/env bash
# Valkey 8 (the engine of today's managed Redis: its INFO says
# server_name:valkey, its RDB and DUMP payloads are version 11) as a
# backup source and a restore target, next to Redis 7.0 (version 10),
# through every path tsarc takes to a server it reaches over the network:
# a logical backup (an ACL user without SYNC) and an RDB (SYNC, and
# redis-cli --rdb on this host), restored logically and through the
# private server. Valkey 8 into Valkey 8 and Redis 7.0 into Valkey 8 are
# restored whole; into a Redis 7.0, which refuses version 11, Valkey 8's
# payloads are rewritten to version 10 (payload.h: its listpack sets and
# its streams of Redis 7.2's layout re-encoded). Every restore is checked
# with its digest, across versions too: what each key holds (value.h),
# however the target encodes it, is what was sent; so is one into a
# Valkey 8 whose listpack and intset limits are 1, which re-encodes every
# small hash, sorted set and set on load. A Valkey 8
# RDB where no server of this host reads it (the private server loads the
# RDB) is refused by the plan and the run before the target is touched.
# Redis 8 (in the root filesystem of TSARC_TEST_REDIS8_ROOT, Debian 13, the
# image's) writes payloads of version 12: as the first private server
# next to a valkey-server 8 (11), a Redis 7.0 RDB goes into a Valkey 8
# through the valkey-server, and into a Redis 7.0 (10) through Redis 8,
# its payloads rewritten. A Redis 8 source's backups go into a Valkey 8
# (12 rewritten to 11) and a Redis 7.0 (to 10); one holding a hash with
# field expiries, which neither has, is refused naming the key by the
# plan: for the logical backup from what it records (how far its payloads
# can be rewritten), for the RDB by reading it through a private server as
# the step does; the target untouched either way.
# Valkey 9 (in the root filesystem of TSARC_TEST_VALKEY9_ROOT, Debian sid,
# made by ci/test.sh) writes an RDB of another magic, "VALKEY080", and
# payloads of version 80: its backups are restored into a Valkey 9, through
# a private valkey-server 9 for the RDB, and into a Valkey 8 rewritten to
# version 11; its RDB where no server of this host reads it is refused,
# and swapped into a Valkey 9 (read by its valkey-check-rdb, restarted by
# its valkey-server), the plan saying the server reads version 80.
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

# A Redis 7.0 target of its own, which takes payloads of version 10 at
# most.
redis_up r70
deployment r70 "$PORT_R70" restorer "$USER_PW"

# restored SNAP SRC_KEYS WHAT [TARGET PORT]: SNAP restored into the
# deployment TARGET (the Valkey 8 target vdst) as restored_into does (the
# digest is compared across versions too: it hashes what each key holds,
# not how its server encoded it, digest.h), with its function library.
restored() {
	restored_into "$1" "$2" "$3" "${4:-vdst}" "${5:-$PORT_VDST}"
	[ "$(rcli "${5:-$PORT_VDST}" FCALL tsarc_answer 0)" = 42 ] || fail "$3: the functions were not restored"
}
info "Valkey 8 into Valkey 8: the logical stream, the RDB through the private server"
restored "$V_LOGICAL" "$WORK/vsrc.keys" "Valkey logical into Valkey"
restored "$V_RDB" "$WORK/vsrc.keys" "Valkey RDB into Valkey"
grep -q "private redis-server" "$WORK/restore.json" || fail "not the private server: $(cat "$WORK/restore.json")"
info "Valkey 8 into a Valkey 8 whose listpack and intset limits are 1: re-encoded on load, the digest compared"
REDIS_SERVER=valkey-server redis_up vlow "hash-max-listpack-entries 1" "zset-max-listpack-entries 1" \
	"set-max-listpack-entries 1" "set-max-intset-entries 1" "list-max-listpack-size 1"
deployment vlow "$PORT_VLOW" restorer "$USER_PW"
restored "$V_LOGICAL" "$WORK/vsrc.keys" "Valkey logical into a Valkey of other limits" vlow "$PORT_VLOW"
for k in hash:small:hashtable zset:small:skiplist set:ints:hashtable; do
	[ "$(rcli "$PORT_VLOW" OBJECT ENCODING "${k%:*}")" = "${k##*:}" ] ||
		fail "other limits: ${k%:*} is not re-encoded as a ${k##*:}"
done
info "redis-cli 7.0 on this host (\"tool\") reads Valkey 8's RDB, restored into Valkey 8"
redis_deployment vsrc-cli "redis://127.0.0.1:$PORT_VSRC/0" default "$ADMIN_PW" '{"tool": "redis-cli"}'
V_CLI=$(backup_id "$WORK/vsrc-cli/config.json" vc) || exit 1
restored "$V_CLI" "$WORK/vsrc.keys" "Valkey RDB by redis-cli into Valkey"
info "Redis 7.0 into Valkey 8: the logical stream, the RDB through the private server"
restored "$R_LOGICAL" "$WORK/rsrc.keys" "Redis logical into Valkey"
restored "$R_RDB" "$WORK/rsrc.keys" "Redis RDB into Valkey"

# rewritten SNAP SRC_KEYS WHAT TARGET PORT VERSION: restored as by
# `restored` (the digest compared), its payloads rewritten to VERSION,
# which the target takes.
rewritten() {
	restored "$1" "$2" "$3" "$4" "$5"
	grep -q "payloads\? of RDB version [0-9]* rewritten to version $6, which the target takes" \
		"$WORK/restore.json" || fail "$3: not rewritten to $6: $(cat "$WORK/restore.json")"
}
info "Valkey 8 into Redis 7.0: its payloads (11) rewritten to 10"
rewritten "$V_LOGICAL" "$WORK/vsrc.keys" "Valkey logical into Redis 7.0" r70 "$PORT_R70" 10
rewritten "$V_RDB" "$WORK/vsrc.keys" "Valkey RDB into Redis 7.0" r70 "$PORT_R70" 10
grep -q "private redis-server (valkey-server, whose DUMP payloads, version 11, are rewritten" \
	"$WORK/restore.json" || fail "Valkey RDB into Redis 7.0: not the private valkey-server: $(cat "$WORK/restore.json")"

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

valkey9() {
	info "Valkey 9: an RDB of magic VALKEY080 and payloads of version 80"
	# valkey-server 9 and valkey-check-rdb of the root, as if installed
	# here: the source, the private server where it is first in PATH, and
	# the swap's checker (run in the server's data folder: --here).
	root_tools "$WORK/v9bin" "$TSARC_TEST_VALKEY9_ROOT" valkey-server valkey-check-rdb:--here
	REDIS_SERVER=$WORK/v9bin/valkey-server redis_up v9
	REDIS_SERVER=$WORK/v9bin/valkey-server redis_up v9dst
	REDIS_SERVER=$WORK/v9bin/valkey-server redis_up v9swap
	rcli "$PORT_V9" INFO server | grep -q '^valkey_version:9\.' || fail "v9 is not a Valkey 9"
	fill "$PORT_V9"
	keys_dump "$PORT_V9" > "$WORK/v9.keys"
	deployment v9-user "$PORT_V9" backup "$USER_PW"
	deployment v9-admin "$PORT_V9" default "$ADMIN_PW"
	deployment v9-dst "$PORT_V9DST" restorer "$USER_PW"
	V9_LOGICAL=$(backup_id "$WORK/v9-user/config.json" v9l) || exit 1
	V9_RDB=$(backup_id "$WORK/v9-admin/config.json" v9r) || exit 1
	[ "$(stream_meta "$V9_RDB" backend-redis.rdb redis_mode)" = rdb ] || fail "Valkey 9: not an RDB"
	for snap in "$V9_LOGICAL" "$V9_RDB"; do
		v=$(stream_meta "$snap" backend-redis.rdb redis_payload_version)
		[ "$v" = 80 ] || fail "Valkey 9 snapshot $snap records redis_payload_version $v, not 80"
	done

	info "Valkey 9 into Valkey 8: its payloads (80) rewritten to 11"
	rewritten "$V9_LOGICAL" "$WORK/v9.keys" "Valkey 9 logical into Valkey 8" vdst "$PORT_VDST" 11
	PATH=$WORK/v9bin:$PATH rewritten "$V9_RDB" "$WORK/v9.keys" "Valkey 9 RDB into Valkey 8" \
		vdst "$PORT_VDST" 11

	info "a Valkey 9 RDB into a Valkey 9 where this host has no Valkey 9: refused, untouched"
	# This host's valkey-server is 8.0: it does not read the magic VALKEY.
	rcli "$PORT_V9DST" SET other:key 1 >/dev/null
	keys_dump "$PORT_V9DST" > "$WORK/v9.before"
	V9_NOLOCAL="RDB is version 80, which no Redis server of this host reads.*valkey-server 9"
	plan_refused "$V9_RDB" "$WORK/v9-dst/config.json" "$V9_NOLOCAL" "Valkey 9 RDB, no Valkey 9 here"
	"$TSARC" restore "$V9_RDB" --config "$WORK/v9-dst/config.json" --repo "$REPO" \
		> "$WORK/v9-refused.out" 2> "$WORK/v9-refused.err" && fail "Valkey 9 RDB: restored without Valkey 9"
	grep -q "$V9_NOLOCAL" "$WORK/v9-refused.err" || fail "Valkey 9 RDB: the run: $(cat "$WORK/v9-refused.err")"
	keys_dump "$PORT_V9DST" > "$WORK/v9.after"
	diff -q "$WORK/v9.before" "$WORK/v9.after" >/dev/null || fail "Valkey 9 RDB, no Valkey 9 here: the target was touched"

	info "Valkey 9 into Valkey 9: the logical stream, the RDB through a private Valkey 9"
	restored "$V9_LOGICAL" "$WORK/v9.keys" "Valkey 9 logical into Valkey 9" v9-dst "$PORT_V9DST"
	PATH=$WORK/v9bin:$PATH restored "$V9_RDB" "$WORK/v9.keys" "Valkey 9 RDB into Valkey 9" v9-dst "$PORT_V9DST"
	grep -q "private redis-server" "$WORK/restore.json" || fail "Valkey 9: not the private server: $(cat "$WORK/restore.json")"

	info "Valkey 9's RDB (VALKEY080) swapped into a Valkey 9: read by its valkey-check-rdb, restarted by its valkey-server"
	valkey_swapped "$WORK/v9bin" "$V9_RDB" "$WORK/v9.keys" v9swap 9 80
}
redis8() {
	info "Redis 8 (Debian 13's, the image's) as the private server: its payloads are version 12"
	# redis-server 8 of the root, as if installed here: the first private
	# server tried, as in the image, next to this host's valkey-server 8.0
	# (payloads of version 11); this host's redis-server 7.0 (10) left out.
	mkdir "$WORK/r8bin"
	printf '#!/bin/sh\nPATH=%s exec /bin/sh %s %s redis-server "$@"\n' "$PATH" \
		"$TOP/tests/tools/in_root.sh" "$TSARC_TEST_REDIS8_ROOT" > "$WORK/r8bin/redis-server"
	chmod +x "$WORK/r8bin/redis-server"
	ln -s "$(command -v valkey-server)" "$WORK/r8bin/valkey-server"
	"$WORK/r8bin/redis-server" --version | grep -q ' v=8\.' || fail "the root's redis-server is not Redis 8"
	# tsarc alone runs with a PATH whose only servers are these two.
	printf '#!/bin/sh\nPATH=%s exec %s "$@"\n' "$WORK/r8bin" "$TSARC" > "$WORK/tsarc-r8"
	chmod +x "$WORK/tsarc-r8"

	info "a Redis 7.0 RDB into Valkey 8 through the private server whose payloads it takes (valkey-server's 11, not Redis 8's 12)"
	TSARC=$WORK/tsarc-r8 restored "$R_RDB" "$WORK/rsrc.keys" "Redis RDB into Valkey, Redis 8 here"
	grep -q "private redis-server (valkey-server, whose DUMP payloads, version 11" "$WORK/restore.json" ||
		fail "Redis 8 here: not the private valkey-server: $(cat "$WORK/restore.json")"

	info "a Redis 7.0 RDB into Redis 7.0 where no private server writes payloads it takes: through Redis 8, rewritten to 10"
	TSARC=$WORK/tsarc-r8 rewritten "$R_RDB" "$WORK/rsrc.keys" "Redis RDB into Redis 7.0, Redis 8 here" \
		r70 "$PORT_R70" 10
	grep -q "private redis-server (redis-server, whose DUMP payloads, version 12, are rewritten" \
		"$WORK/restore.json" || fail "Redis 8 here, into Redis 7.0: not Redis 8: $(cat "$WORK/restore.json")"

	info "Redis 8 as a source: its payloads (12) rewritten to 11 for Valkey 8 and to 10 for Redis 7.0"
	REDIS_SERVER=$WORK/r8bin/redis-server redis_up r8
	fill "$PORT_R8"
	keys_dump "$PORT_R8" > "$WORK/r8.keys"
	deployment r8-user "$PORT_R8" backup "$USER_PW"
	deployment r8-admin "$PORT_R8" default "$ADMIN_PW"
	R8_LOGICAL=$(backup_id "$WORK/r8-user/config.json" r8l) || exit 1
	R8_RDB=$(backup_id "$WORK/r8-admin/config.json" r8r) || exit 1
	for snap in "$R8_LOGICAL" "$R8_RDB"; do
		v=$(stream_meta "$snap" backend-redis.rdb redis_payload_version)
		[ "$v" = 12 ] || fail "Redis 8 snapshot $snap records redis_payload_version $v, not 12"
	done
	[ "$(stream_meta "$R8_LOGICAL" backend-redis.rdb redis_payload_floor)" = 10 ] ||
		fail "Redis 8 logical: redis_payload_floor is not 10"
	rewritten "$R8_LOGICAL" "$WORK/r8.keys" "Redis 8 logical into Valkey 8" vdst "$PORT_VDST" 11
	rewritten "$R8_LOGICAL" "$WORK/r8.keys" "Redis 8 logical into Redis 7.0" r70 "$PORT_R70" 10
	TSARC=$WORK/tsarc-r8 rewritten "$R8_RDB" "$WORK/r8.keys" "Redis 8 RDB into Valkey 8" vdst "$PORT_VDST" 11
	TSARC=$WORK/tsarc-r8 rewritten "$R8_RDB" "$WORK/r8.keys" "Redis 8 RDB into Redis 7.0" r70 "$PORT_R70" 10

	info "a Redis 8 hash with field expiries, which Redis 7.0 and Valkey 8 do not have: refused, untouched"
	rcli "$PORT_R8" HSET hfe:session token abc user 7 >/dev/null
	rcli "$PORT_R8" HEXPIRE hfe:session 3600 FIELDS 1 token >/dev/null
	R8_HFE_LOGICAL=$(backup_id "$WORK/r8-user/config.json" r8hl) || exit 1
	R8_HFE_RDB=$(backup_id "$WORK/r8-admin/config.json" r8hr) || exit 1
	rcli "$PORT_R70" FLUSHALL >/dev/null
	rcli "$PORT_R70" SET other:key 1 >/dev/null
	keys_dump "$PORT_R70" > "$WORK/r70.before"
	HFE_PLAN="takes DUMP payloads of RDB version 10 at most.*cannot be below version 12.*nothing was written"
	plan_refused "$R8_HFE_LOGICAL" "$WORK/r70/config.json" "$HFE_PLAN" "Redis 8 hash with field expiries, logical"
	HFE_RUN="key 'hfe:session' of database 0: a type newer than Redis 7.2's.*cannot be below version 12.*nothing was written"
	# The RDB's by the copy's check, which reads the private server whole
	# and names the key: made by the plan too (before, by the step alone).
	TSARC=$WORK/tsarc-r8 plan_refused "$R8_HFE_RDB" "$WORK/r70/config.json" "$HFE_RUN" \
		"Redis 8 hash with field expiries, RDB"
	for snap in "$R8_HFE_LOGICAL:$HFE_PLAN" "$R8_HFE_RDB:$HFE_RUN"; do
		"$WORK/tsarc-r8" restore "${snap%%:*}" --config "$WORK/r70/config.json" --repo "$REPO" \
			> "$WORK/hfe.out" 2> "$WORK/hfe.err" && fail "Redis 8 hash with field expiries: restored into Redis 7.0"
		grep -q "${snap#*:}" "$WORK/hfe.err" || fail "Redis 8 hash with field expiries $snap: the run: $(cat "$WORK/hfe.err")"
		keys_dump "$PORT_R70" > "$WORK/r70.after"
		diff -q "$WORK/r70.before" "$WORK/r70.after" >/dev/null ||
			fail "Redis 8 hash with field expiries $snap: the target was touched"
	done
}
if [ -n "${TSARC_TEST_REDIS8_ROOT:-}" ]; then
	redis8
elif [ "${TSARC_TEST_REQUIRE_SERVICES:-0}" = 1 ]; then
	fail "TSARC_TEST_REDIS8_ROOT is not set (ci/test.sh makes the root: ci/debian-root.sh)"
else
	info "SKIP the Redis 8 part: TSARC_TEST_REDIS8_ROOT is not set (ci/test.sh makes the root)"
fi

if [ -n "${TSARC_TEST_VALKEY9_ROOT:-}" ]; then
	valkey9
elif [ "${TSARC_TEST_REQUIRE_SERVICES:-0}" = 1 ]; then
	fail "TSARC_TEST_VALKEY9_ROOT is not set (ci/test.sh makes the root: ci/debian-root.sh)"
else
	info "SKIP the Valkey 9 part: TSARC_TEST_VALKEY9_ROOT is not set (ci/test.sh makes the root)"
fi

grep -q -e "$USER_PW" -e "$ADMIN_PW" "$WORK"/*.err "$WORK"/*.json && fail "a password was printed"
info "ok"
