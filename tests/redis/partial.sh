#!/usr/bin/env bash
# A Redis restore into a server tsarc may not restart, where the target
# cannot take the whole backup: what is refused before the first write
# leaves the target exactly as it was; what fails after it is reported
# with the state the target is left in.
#
# - The backup has keys in database 15, the target has 4 databases (a
#   managed Redis often has fewer than 16, or only database 0): refused
#   before the target is emptied, for a logical stream and for an RDB
#   restored through a private redis-server; the RDB swap (a server tsarc
#   restarts) is refused before the server is stopped, which would not
#   start again with that RDB.
# - Refused after the target was emptied: a RESTORE the target's user may
#   not run (an ACL user limited to keys key:*), and a key larger than
#   the target takes (proto-max-bulk-len: the server drops the
#   connection). The error says the target was emptied, names the key
#   refused, and says how many keys were restored: exactly the target's
#   key count (replies of the commands already sent are all read), or
#   with the connection lost a range that holds it.
# - backend-redis and system-redis backed up from two servers, restored
#   into one shared server (a migration onto one managed Redis): each
#   step empties every database, so the second would erase the first;
#   refused before the first write. Both backed up from one server and
#   restored into one: allowed (each stream is that whole server).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../lib_chunk.sh"
: "${TSARC:?set TSARC to the tsarc binary}"
export TSARC_PASSWORD="repo-$TEST_NAME-Wq4"
REPO=$WORK/repo
"$TSARC" init --repo "$REPO" --kdf-memory 4 --format 1 >/dev/null 2>&1 || fail "tsarc init"

redis_up src
redis_up small "databases 4"
redis_up narrow "user narrow on >$USER_PW ~key:* &* +@all $ACL_DENY"
redis_up bulk "proto-max-bulk-len 1mb"
fill "$PORT_SRC"
# A 2 MiB value that does not compress (DUMP compresses with LZF), in
# the backup's last database: larger than bulk takes.
python3 -c 'import os, sys; sys.stdout.buffer.write(os.urandom(2 << 20))' | rcli "$PORT_SRC" -n 15 -x SET big:value >/dev/null ||
	fail "SET big:value"
mkdir -m 700 "$WORK/tmp"
export TMPDIR=$WORK/tmp

# deployment NAME PORT USER PASSWORD [MODE]: the backend-redis Secret
# as 3scale 2.16 has it, and a config using it.
deployment() {
	redis_deployment "$1" "redis://127.0.0.1:$2/0" "$3" "$4" "{\"mode\": \"${5:-auto}\"}"
}
snapshot_of() { # CONFIG OUT: backs up, prints the snapshot id
	"$TSARC" backup --config "$1" --repo "$REPO" --json > "$WORK/$2.json" 2> "$WORK/$2.err" ||
		fail "backup: $(cat "$WORK/$2.err")"
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["snapshot_id"])' "$WORK/$2.json"
}

deployment logical-src "$PORT_SRC" backup "$USER_PW"
deployment rdb-src "$PORT_SRC" default "$ADMIN_PW"
deployment small "$PORT_SMALL" restorer "$USER_PW"
S_LOGICAL=$(snapshot_of "$WORK/logical-src/config.json" b1) || exit 1
S_RDB=$(snapshot_of "$WORK/rdb-src/config.json" b2) || exit 1

for s in "logical $S_LOGICAL" "rdb $S_RDB"; do
	set -- $s
	info "$1: keys in database 15, the target has 4 databases: refused before the first write"
	rcli "$PORT_SMALL" FLUSHALL >/dev/null
	rcli "$PORT_SMALL" SET marker:kept yes >/dev/null
	rcli "$PORT_SMALL" -n 3 SET marker:db3 yes >/dev/null
	keys_dump "$PORT_SMALL" > "$WORK/before.keys"
	RC=0
	"$TSARC" restore "$2" --config "$WORK/small/config.json" --repo "$REPO" > "$WORK/r-$1.out" 2> "$WORK/r-$1.err" || RC=$?
	[ "$RC" -ne 0 ] || fail "$1: a backup with database 15 restored into a Redis with 4 databases"
	keys_dump "$PORT_SMALL" > "$WORK/after.keys"
	diff "$WORK/before.keys" "$WORK/after.keys" > "$WORK/d-$1" ||
		fail "$1: the target was changed before the restore failed ($(grep -c "^<" "$WORK/d-$1") keys gone): $(cat "$WORK/r-$1.err")"
	grep -q "database 15" "$WORK/r-$1.err" || fail "$1: the error does not name the database: $(cat "$WORK/r-$1.err")"
	grep -q "4 databases" "$WORK/r-$1.err" || fail "$1: the error does not say what the target has: $(cat "$WORK/r-$1.err")"
	grep -q "nothing was written" "$WORK/r-$1.err" || fail "$1: the error does not say the target is intact: $(cat "$WORK/r-$1.err")"
	[ -z "$(ls -A "$WORK/tmp")" ] || fail "$1: files left in TMPDIR: $(ls -la "$WORK/tmp")"
done

info "rdb swap: keys in database 15, the target has 4 databases: refused before the swap"
# The server would exit at start with the backup's RDB ("DB index is out
# of range"): the swap reads the RDB with the server's own redis-check-rdb
# first and leaves the server running, untouched.
redis_deployment swap-small "redis://127.0.0.1:$PORT_SMALL/0" default "$ADMIN_PW" \
	"{\"mode\": \"rdb\", \"restore\": {\"action\": \"redis-rdb\", \"order\": 70, \"config_file\": \"$WORK/redis-small/redis.conf\"}}"
cp "$WORK/redis-small/redis.conf" "$WORK/small-conf.before"
# swap_refused WHAT OUT [ENV...]: the RDB swap of S_RDB into the small
# server fails (stderr in $WORK/OUT.err, kept in $err) and leaves it as
# $WORK/before.keys and small-conf.before say: running, the same keys and
# configuration, nothing of tsarc's beside its data.
swap_refused() {
	local what=$1 out=$2
	shift 2
	RC=0
	env "$@" "$TSARC" restore "$S_RDB" --config "$WORK/swap-small/config.json" --repo "$REPO" \
		> "$WORK/$out.out" 2> "$WORK/$out.err" || RC=$?
	err=$(cat "$WORK/$out.err")
	[ "$RC" -ne 0 ] || fail "$what: a backup with database 15 swapped into a Redis with 4 databases"
	rcli "$PORT_SMALL" PING 2>/dev/null | grep -q PONG || fail "$what: the server is down after the refused restore: $err"
	keys_dump "$PORT_SMALL" > "$WORK/after.keys"
	diff -q "$WORK/before.keys" "$WORK/after.keys" >/dev/null || fail "$what: the target was changed: $err"
	cmp -s "$WORK/small-conf.before" "$WORK/redis-small/redis.conf" || fail "$what: the configuration was changed: $err"
	if ls "$WORK/redis-small" | grep -q -e tsarc -e -old; then fail "$what: files left beside the data: $(ls "$WORK/redis-small")"; fi
}
pid_before=$(cat "$WORK/redis-small/redis.pid")
keys_dump "$PORT_SMALL" > "$WORK/before.keys"
swap_refused swap r-swap
[ "$(cat "$WORK/redis-small/redis.pid")" = "$pid_before" ] || fail "swap: the server was restarted: $err"
grep -q "database 15" "$WORK/r-swap.err" || fail "swap: the error does not name the database: $err"
grep -q "4 databases" "$WORK/r-swap.err" || fail "swap: the error does not say what the target has: $err"
grep -q "nothing was changed" "$WORK/r-swap.err" || fail "swap: the error does not say the target is intact: $err"

info "rdb swap on a host without redis-check-rdb: the server refuses the RDB, its own state comes back"
# Nothing reads the RDB before the swap here, so the server is stopped,
# its files moved aside and the backup's RDB put in: it exits at start.
# The restore sees it exit (no wait for a server that is gone), puts its
# files and configuration back and starts it: the state before the step.
mkdir "$WORK/bin"
for f in /usr/local/bin/* /usr/bin/*; do
	[ -e "$WORK/bin/${f##*/}" ] || ln -s "$f" "$WORK/bin/${f##*/}"
done
rm -f "$WORK/bin/redis-check-rdb"
rcli "$PORT_SMALL" SAVE >/dev/null # its own dump.rdb: what must come back
keys_dump "$PORT_SMALL" > "$WORK/before.keys"
cp "$WORK/redis-small/dump.rdb" "$WORK/small-dump.before"
swap_refused "swap without redis-check-rdb" r-swap2 PATH="$WORK/bin"
cmp -s "$WORK/small-dump.before" "$WORK/redis-small/dump.rdb" || fail "swap without redis-check-rdb: dump.rdb is not the server's own: $err"
grep -q "exited while starting" "$WORK/r-swap2.err" || fail "swap without redis-check-rdb: the error does not say the server exited: $err"
grep -q "databases" "$WORK/r-swap2.err" || fail "swap without redis-check-rdb: the error does not give the server's reason: $err"
grep -q "put back" "$WORK/r-swap2.err" || fail "swap without redis-check-rdb: the error does not say the server's state was put back: $err"
info "swap without redis-check-rdb: $err"

# keys_in PORT: the number of keys of every database.
keys_in() {
	rcli "$1" INFO keyspace | tr -d '\r' | sed -n 's/^db[0-9]*:keys=\([0-9]*\),.*/\1/p' |
		awk '{ n += $1 } END { print n + 0 }'
}
deployment narrow "$PORT_NARROW" narrow "$USER_PW"
deployment bulk "$PORT_BULK" restorer "$USER_PW"

info "a RESTORE the target's user may not run: the target's state is reported exactly"
rcli "$PORT_NARROW" SET key:old 1 >/dev/null
RC=0
"$TSARC" restore "$S_LOGICAL" --config "$WORK/narrow/config.json" --repo "$REPO" > "$WORK/r-narrow.out" 2> "$WORK/r-narrow.err" || RC=$?
[ "$RC" -ne 0 ] || fail "narrow: a restore with refused keys succeeded"
err=$(cat "$WORK/r-narrow.err")
grep -q "refused RESTORE of key '.*' in database [0-9]*: NOPERM" "$WORK/r-narrow.err" ||
	fail "narrow: the error does not name the key refused: $err"
grep -q "the target was emptied" "$WORK/r-narrow.err" || fail "narrow: the error does not say the target was emptied: $err"
n=$(sed -n 's/.*then \([0-9]*\) of the backup.s [0-9]* keys were restored.*/\1/p' "$WORK/r-narrow.err")
[ -n "$n" ] || fail "narrow: the error does not say how many keys were restored: $err"
[ "$n" -eq "$(keys_in "$PORT_NARROW")" ] ||
	fail "narrow: the error says $n keys restored, the target holds $(keys_in "$PORT_NARROW"): $err"
[ "$(rcli "$PORT_NARROW" EXISTS key:old)" = 0 ] || fail "narrow: the target was not emptied"
info "narrow: $(grep "stopped at" "$WORK/r-narrow.err")"

info "a key larger than the target takes: the connection is dropped, the state is reported"
RC=0
"$TSARC" restore "$S_LOGICAL" --config "$WORK/bulk/config.json" --repo "$REPO" > "$WORK/r-bulk.out" 2> "$WORK/r-bulk.err" || RC=$?
[ "$RC" -ne 0 ] || fail "bulk: a restore with a key too large succeeded"
err=$(cat "$WORK/r-bulk.err")
grep -q "the target was emptied" "$WORK/r-bulk.err" || fail "bulk: the error does not say the target was emptied: $err"
n=$(sed -n 's/.*then \([0-9]*\) of the backup.s [0-9]* keys were restored.*/\1/p' "$WORK/r-bulk.err")
more=$(sed -n 's/.*and up to \([0-9]*\) more.*/\1/p' "$WORK/r-bulk.err")
[ -n "$n" ] || fail "bulk: the error does not say how many keys were restored: $err"
got=$(keys_in "$PORT_BULK")
[ "$got" -ge "$n" ] && [ "$got" -le $(( n + ${more:-0} )) ] ||
	fail "bulk: the error says $n keys restored (and up to ${more:-0} more), the target holds $got: $err"
[ "$(rcli "$PORT_BULK" -n 15 EXISTS big:value)" = 0 ] || fail "bulk: the big key is there"
info "bulk: $(grep "stopped at" "$WORK/r-bulk.err")"

redis_up system
redis_up shared
for i in $(seq 20); do echo "SET system:key:$i v$i"; done | rcli "$PORT_SYSTEM" -n 1 >/dev/null
two_redis two-src 127.0.0.1 "$PORT_SRC" 127.0.0.1 "$PORT_SYSTEM"
two_redis one-src 127.0.0.1 "$PORT_SRC" 127.0.0.1 "$PORT_SRC"
two_redis shared 127.0.0.1 "$PORT_SHARED" 127.0.0.1 "$PORT_SHARED"
S_TWO=$(snapshot_of "$WORK/two-src/config.json" b3) || exit 1
S_ONE=$(snapshot_of "$WORK/one-src/config.json" b4) || exit 1

info "two servers' backups into one shared server: refused before the first write"
rcli "$PORT_SHARED" -n 2 SET marker:kept yes >/dev/null
keys_dump "$PORT_SHARED" > "$WORK/shared-before.keys"
RC=0
"$TSARC" restore "$S_TWO" --config "$WORK/shared/config.json" --repo "$REPO" > "$WORK/r-shared.out" 2> "$WORK/r-shared.err" || RC=$?
err=$(cat "$WORK/r-shared.err")
[ "$RC" -ne 0 ] || fail "two servers' backups were restored into one: $(keys_in "$PORT_SHARED") keys left ($(rcli "$PORT_SHARED" INFO keyspace | tr -d '\r' | grep ^db | tr '\n' ' '))"
keys_dump "$PORT_SHARED" > "$WORK/shared-after.keys"
cmp -s "$WORK/shared-before.keys" "$WORK/shared-after.keys" || fail "the shared server was changed: $err"
grep -q "both restore into" "$WORK/r-shared.err" || fail "the error does not say why: $err"
grep -q "nothing was written" "$WORK/r-shared.err" || fail "the error does not say nothing was written: $err"

info "one server's two backups into one server: restored, the whole server as backed up"
"$TSARC" restore "$S_ONE" --config "$WORK/shared/config.json" --repo "$REPO" > "$WORK/r-one.out" 2> "$WORK/r-one.err" ||
	fail "one server's backups into one server: $(cat "$WORK/r-one.err")"
[ "$(rcli "$PORT_SHARED" -n 2 EXISTS marker:kept)" = 0 ] || fail "the shared server was not emptied"
[ "$(keys_in "$PORT_SHARED")" -eq "$(keys_in "$PORT_SRC")" ] || fail "the shared server holds $(keys_in "$PORT_SHARED") keys, the source $(keys_in "$PORT_SRC")"

grep -q -e "$USER_PW" -e "$ADMIN_PW" "$WORK"/*.err "$WORK"/*.json "$WORK"/*.out && fail "a password was printed"
info "ok"
