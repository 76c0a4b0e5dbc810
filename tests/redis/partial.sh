#!/usr/bin/env bash
# A Redis restore into a server tsarc may not restart, where the target
# cannot take the whole backup: what is refused before the first write
# leaves the target exactly as it was; what fails after it is reported
# with the state the target is left in.
#
# - The backup has keys in database 15, the target has 4 databases (a
#   managed Redis often has fewer than 16, or only database 0): refused
#   before the target is emptied, for a logical stream and for an RDB
#   restored through a private redis-server.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../lib_chunk.sh"
: "${TSARC:?set TSARC to the tsarc binary}"
export TSARC_PASSWORD="repo-$TEST_NAME-Wq4"
REPO=$WORK/repo
"$TSARC" init --repo "$REPO" --format 1 >/dev/null 2>&1 || fail "tsarc init"

redis_up src
redis_up small "databases 4"
fill "$PORT_SRC"
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

grep -q -e "$USER_PW" -e "$ADMIN_PW" "$WORK"/*.err "$WORK"/*.json "$WORK"/*.out && fail "a password was printed"
info "ok"
