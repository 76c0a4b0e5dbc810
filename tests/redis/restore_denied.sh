#!/usr/bin/env bash
# A restore user that may not RESTORE: a managed Redis's ACL user is
# often "+@all -@dangerous", and RESTORE is one of @dangerous (FLUSHDB
# too, so tsarc empties the target with SCAN and DEL). The restore emptied
# the target, then the first RESTORE was refused: the target was left
# empty, the backup's keys nowhere. The user's right to RESTORE must be
# known before anything is removed, on both online paths: the logical
# load, and the private redis-server that copies an RDB into the target.
. "$(dirname "$0")/lib.sh"
tsarc_repo

redis_up src
redis_up dst "user nodanger on >$USER_PW ~* &* +@all -@dangerous" \
	"user apponly on >$USER_PW ~app:* &* +@all -@dangerous +restore"
for i in $(seq 30); do echo "SET src:$i v$i"; done | rcli "$PORT_SRC" >/dev/null

redis_deployment src-logical "redis://127.0.0.1:$PORT_SRC/0" backup "$USER_PW" '{"mode": "logical"}'
redis_deployment dst "redis://127.0.0.1:$PORT_DST/0" nodanger "$USER_PW"
S_LOG=$(backup_id "$WORK/src-logical/config.json" b-logical)
# An RDB: SYNC as the admin (the "backup" user may not).
redis_deployment src-rdb "redis://127.0.0.1:$PORT_SRC/0" "" "$ADMIN_PW" '{"mode": "rdb"}'
S_RDB=$(backup_id "$WORK/src-rdb/config.json" b-rdb)
[ "$(stream_meta "$S_RDB" backend-redis.rdb redis_mode)" = rdb ] || fail "the second backup is no RDB"

for snap in "$S_LOG" "$S_RDB"; do
	info "snapshot ${snap:0:10} ($(stream_meta "$snap" backend-redis.rdb redis_mode)): refused before the target is emptied"
	rcli "$PORT_DST" FLUSHALL >/dev/null
	for i in $(seq 10); do echo "SET dst:$i own$i"; done | rcli "$PORT_DST" >/dev/null
	keys_dump "$PORT_DST" > "$WORK/before.keys"
	RC=0
	"$TSARC" restore "$snap" --config "$WORK/dst/config.json" --repo "$REPO" > "$WORK/r.out" 2> "$WORK/r.err" || RC=$?
	keys_dump "$PORT_DST" > "$WORK/after.keys"
	cmp -s "$WORK/before.keys" "$WORK/after.keys" ||
		fail "the target was changed ($(grep -c . "$WORK/after.keys") keys left of its 10, the backup's 30 not there): $(grep -v '^  ' "$WORK/r.err")"
	[ "$RC" -ne 0 ] || fail "a restore by a user who may not RESTORE succeeded"
	grep -q "RESTORE" "$WORK/r.err" || fail "the error does not name RESTORE: $(cat "$WORK/r.err")"
	grep -q "nothing was written" "$WORK/r.err" || fail "the error does not say nothing was written: $(cat "$WORK/r.err")"
done

info "a user whose key patterns leave out the probe's key is not refused for it"
redis_deployment dst-app "redis://127.0.0.1:$PORT_DST/0" apponly "$USER_PW"
rcli "$PORT_SRC" FLUSHALL >/dev/null
for i in $(seq 5); do echo "SET app:$i v$i"; done | rcli "$PORT_SRC" >/dev/null
S_APP=$(backup_id "$WORK/src-logical/config.json" b-app)
rcli "$PORT_DST" FLUSHALL >/dev/null
"$TSARC" restore "$S_APP" --config "$WORK/dst-app/config.json" --repo "$REPO" > "$WORK/r3.out" 2> "$WORK/r3.err" ||
	fail "restore by a user of app:* keys: $(cat "$WORK/r3.err")"
[ "$(rcli "$PORT_DST" DBSIZE)" = 5 ] || fail "the app:* keys were not restored"

info "a user who may not FUNCTION RESTORE, and a backup that holds a library: refused before the target is emptied"
# shellcheck disable=SC2086 # ACL_DENY is a list of rules
rcli "$PORT_DST" ACL SETUSER nofnrestore on ">$USER_PW" "~*" "&*" +@all $ACL_DENY "-function|restore" |
	grep -qx OK || fail "ACL SETUSER nofnrestore"
redis_deployment dst-nofn "redis://127.0.0.1:$PORT_DST/0" nofnrestore "$USER_PW"
rcli "$PORT_SRC" FUNCTION LOAD "#!lua name=srclib
redis.register_function('src_fn', function(keys, args) return 1 end)" >/dev/null ||
	fail "FUNCTION LOAD on the source"
S_FN=$(backup_id "$WORK/src-logical/config.json" b-fn)
[ "$(stream_meta "$S_FN" backend-redis.rdb redis_functions)" = saved ] || fail "the backup holds no library"
rcli "$PORT_DST" FLUSHALL >/dev/null
for i in $(seq 10); do echo "SET dst:$i own$i"; done | rcli "$PORT_DST" >/dev/null
keys_dump "$PORT_DST" > "$WORK/before.keys"
RC=0
"$TSARC" restore "$S_FN" --config "$WORK/dst-nofn/config.json" --repo "$REPO" > "$WORK/r4.out" 2> "$WORK/r4.err" || RC=$?
keys_dump "$PORT_DST" > "$WORK/after.keys"
cmp -s "$WORK/before.keys" "$WORK/after.keys" ||
	fail "the target was changed ($(grep -c . "$WORK/after.keys") keys left of its 10): $(grep -v '^  ' "$WORK/r4.err")"
[ "$RC" -ne 0 ] || fail "a restore of function libraries by a user who may not FUNCTION RESTORE succeeded"
grep -q "FUNCTION RESTORE" "$WORK/r4.err" || fail "the error does not name FUNCTION RESTORE: $(cat "$WORK/r4.err")"
grep -q "nothing was written" "$WORK/r4.err" || fail "the error does not say nothing was written: $(cat "$WORK/r4.err")"

grep -q -e "$ADMIN_PW" -e "$USER_PW" "$WORK"/*.err "$WORK"/*.out "$WORK"/*.json && fail "a password was printed"
info "ok"
