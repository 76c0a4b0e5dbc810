#!/usr/bin/env bash
# A restore the memory check admitted can still make the target evict:
# the check compares the source's data set with the target's room, and a
# target that encodes the same values less tightly (another version, or
# its own *-max-listpack-* settings) holds more. Keys the server evicts
# during the load are restored keys: the restore must fail, and say why
# (INFO stats' evicted_keys, read before the target is emptied and after
# the load), not only that a count differs.
#
# The source holds 2000 hashes of 60 fields as listpacks (some 1.5 MB);
# the target keeps every hash as a hash table (hash-max-listpack-entries
# 0: some 7 MB) under maxmemory 4mb with allkeys-lru. The check sees
# 1.6 MB needed and 3 MB of room, and admits it; the load evicts. Both
# margins are twofold: nothing depends on how close an estimate comes.
. "$(dirname "$0")/lib.sh"
tsarc_repo

redis_up src
redis_up dst "maxmemory 4mb" "maxmemory-policy allkeys-lru" "hash-max-listpack-entries 0"
python3 - <<'PY' | rcli "$PORT_SRC" --pipe >/dev/null || fail "filling the source"
import sys
for i in range(2000):
    sys.stdout.write("HSET h:%d %s\r\n" % (i, " ".join("f%d v%d" % (j, j) for j in range(60))))
PY
redis_deployment src "redis://127.0.0.1:$PORT_SRC/0" backup "$USER_PW" '{"mode": "logical"}'
SNAP=$(backup_id "$WORK/src/config.json" b1)
redis_deployment dst "redis://127.0.0.1:$PORT_DST/0" restorer "$USER_PW"

info "the check admits the restore, the target evicts during the load: refused, saying so"
RC=0
"$TSARC" restore "$SNAP" --config "$WORK/dst/config.json" --repo "$REPO" --json \
	> "$WORK/r.json" 2> "$WORK/r.err" || RC=$?
err=$(grep -v '^  ' "$WORK/r.err")
evicted=$(rcli "$PORT_DST" INFO stats | sed -n 's/^evicted_keys:\([0-9]*\).*/\1/p')
[ "$evicted" -gt 0 ] || fail "the target evicted nothing (the test's sizes are wrong): rc $RC, $err"
[ "$RC" -ne 0 ] || fail "a restore whose target evicted $evicted keys succeeded: $(cat "$WORK/r.json")"
grep -q "maxmemory" "$WORK/r.err" || fail "the error does not name maxmemory: $err"
grep -q "evicted [0-9]* keys" "$WORK/r.err" || fail "the error does not say the target evicted keys: $err"

grep -q -e "$ADMIN_PW" -e "$USER_PW" "$WORK"/r.err "$WORK"/r.json && fail "a password was printed"
info "ok"
