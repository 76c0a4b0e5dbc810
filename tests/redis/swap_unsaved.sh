#!/usr/bin/env bash
# The RDB swap of a Redis tsarc restarts (local: SHUTDOWN, start_command)
# keeps the server's own data set as it was when the swap stopped it,
# not as it was at its last save: the files it moves aside, and puts back
# when the server cannot start on the backup's RDB, are the server's
# state before the restore.
#
# The server saves by save points (save 3600 1): keys written since its
# last save are in memory only. The backup's RDB holds database 15, the
# server has 4 databases and its host no redis-check-rdb, so it exits at
# start on that RDB and the swap puts its own files back ("it runs as
# before the restore"). Before, the first restart was SHUTDOWN NOSAVE:
# what was written since the last save was gone after that put-back, and
# from the files moved aside.
. "$(dirname "$0")/lib.sh"
tsarc_repo

redis_up src
redis_up dst "databases 4" "save 3600 1"
rcli "$PORT_SRC" -n 15 SET backup:key 1 >/dev/null || fail "SET in the source"
redis_deployment src "redis://127.0.0.1:$PORT_SRC/0" default "$ADMIN_PW" '{"mode": "rdb"}'
SNAP=$(backup_id "$WORK/src/config.json" b1) || exit 1

redis_deployment dst "redis://127.0.0.1:$PORT_DST/0" default "$ADMIN_PW" \
	"{\"mode\": \"rdb\", \"restore\": {\"action\": \"redis-rdb\", \"order\": 70, \"config_file\": \"$WORK/redis-dst/redis.conf\"}}"
for i in $(seq 50); do echo "SET saved:$i v$i"; done | rcli "$PORT_DST" >/dev/null
rcli "$PORT_DST" SAVE >/dev/null || fail "SAVE"
# Written after the last save, as a running 3scale does all the time.
for i in $(seq 20); do echo "SET unsaved:$i v$i"; done | rcli "$PORT_DST" -n 2 >/dev/null
keys_dump "$PORT_DST" > "$WORK/before.keys"
cp "$WORK/redis-dst/redis.conf" "$WORK/dst-conf.before"

# A host without redis-check-rdb: nothing reads the RDB before the swap.
mkdir "$WORK/bin"
for f in /usr/local/bin/* /usr/bin/*; do
	[ -e "$WORK/bin/${f##*/}" ] || ln -s "$f" "$WORK/bin/${f##*/}"
done
rm -f "$WORK/bin/redis-check-rdb"

info "swap refused by the server at start: its own state back, with what it had not saved"
RC=0
PATH="$WORK/bin" "$TSARC" restore "$SNAP" --config "$WORK/dst/config.json" --repo "$REPO" \
	> "$WORK/r1.out" 2> "$WORK/r1.err" || RC=$?
err=$(cat "$WORK/r1.err")
[ "$RC" -ne 0 ] || fail "a backup with database 15 swapped into a Redis with 4 databases"
grep -q "put back" "$WORK/r1.err" || fail "the error does not say the server's state was put back: $err"
rcli "$PORT_DST" PING 2>/dev/null | grep -q PONG || fail "the server is down: $err"
cmp -s "$WORK/dst-conf.before" "$WORK/redis-dst/redis.conf" || fail "the configuration was changed: $err"
keys_dump "$PORT_DST" > "$WORK/after.keys"
diff "$WORK/before.keys" "$WORK/after.keys" > "$WORK/d1" ||
	fail "the server does not hold what it held before the restore ($(grep -c '^<' "$WORK/d1") keys lost, e.g. $(grep -m1 '^<' "$WORK/d1" | cut -c1-60)), while the error says: $err"
if ls "$WORK/redis-dst" | grep -q -e tsarc -e -old; then fail "files left beside the data: $(ls "$WORK/redis-dst")"; fi

grep -q -e "$ADMIN_PW" -e "$USER_PW" "$WORK"/*.err "$WORK"/*.out "$WORK"/*.json && fail "a password was printed"
info "ok"
