#!/usr/bin/env bash
# A signal during a Redis restore without a restart (the logical load):
# once the target was emptied, the restore cannot leave it as it was, so
# whatever ends it says so: the target emptied, how many of the backup's
# keys it holds, part of the backup.
#
# The load runs in tsarc's own process (no child to stop), so after
# SIGTERM a load that does not end within the grace period (30 s) is
# ended by the signal thread. Here the target stops answering writes
# once the load began (CLIENT PAUSE WRITE: as a large load into a slow
# or distant server), tsarc gets SIGTERM and is ended 30 s later.
# Before, all it said was "interrupted by SIGTERM; exiting": nothing
# about the target, emptied and holding part of the backup.
#
# A load that is let go again after the signal stops at it (it went on to
# the end of the stream before), and the step's error gives the exact
# count.
. "$(dirname "$0")/lib.sh"
tsarc_repo

redis_up src
redis_up dst
# Enough keys that the load is still running when the test pauses it.
python3 -c '
for i in range(200000):
    k = "key:%d" % i
    print("*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$8\r\nvalue-%02d\r" % (len(k), k, i % 100))
' | rcli "$PORT_SRC" --pipe >/dev/null || fail "fill"
redis_deployment src "redis://127.0.0.1:$PORT_SRC/0" backup "$USER_PW" '{"mode": "logical"}'
redis_deployment dst "redis://127.0.0.1:$PORT_DST/0" restorer "$USER_PW" '{"mode": "logical"}'
SNAP=$(backup_id "$WORK/src/config.json" b1) || exit 1
for i in $(seq 10); do echo "SET old:$i v$i"; done | rcli "$PORT_DST" -n 3 >/dev/null

# paused_in_load N: tsarc restores $SNAP into dst in the background (PID;
# its output in $WORK/rN.out and rN.err) and is caught in its load (the
# target's old keys gone, some of the backup's in); the target's writes
# are then paused, so the load waits on it.
paused_in_load() {
	local n
	"$TSARC" restore "$SNAP" --config "$WORK/dst/config.json" --repo "$REPO" \
		> "$WORK/r$1.out" 2> "$WORK/r$1.err" &
	PID=$!
	for _ in $(seq 600); do
		n=$(rcli "$PORT_DST" DBSIZE 2>/dev/null)
		if [ "$(rcli "$PORT_DST" -n 3 DBSIZE 2>/dev/null)" = 0 ] && [ "${n:-0}" -gt 0 ]; then
			rcli "$PORT_DST" CLIENT PAUSE 60000 WRITE >/dev/null
			return 0
		fi
		kill -0 "$PID" 2>/dev/null || break
		sleep 0.02
	done
	wait "$PID"
	fail "test setup: the load was not caught running: $(cat "$WORK/r$1.err")"
}

info "SIGTERM while the load waits on the target: the exit says the target holds part of the backup"
paused_in_load 1
kill -TERM "$PID"
RC=0
wait "$PID" || RC=$?
rcli "$PORT_DST" CLIENT UNPAUSE >/dev/null
err=$(cat "$WORK/r1.err")
[ "$RC" = 143 ] || fail "exit $RC, want 143: $err"
n=$(rcli "$PORT_DST" DBSIZE)
[ "$n" -lt 200000 ] || fail "test setup: the whole backup was restored before the signal ended tsarc"
grep -q "emptied" "$WORK/r1.err" ||
	fail "the target holds $n of the backup's 200000 keys and none of its own, and the exit does not say the target was emptied: $err"
grep -q "part of the backup" "$WORK/r1.err" || fail "the exit does not say the target holds part of the backup: $err"
grep -q "backend-redis" "$WORK/r1.err" || fail "the exit does not name the component: $err"
info "$(grep -i emptied "$WORK/r1.err" | head -2)"

info "SIGTERM while the load runs (held, then let go): it stops, and the step says exactly what the target holds"
rcli "$PORT_DST" FLUSHALL >/dev/null
for i in $(seq 10); do echo "SET old:$i v$i"; done | rcli "$PORT_DST" -n 3 >/dev/null
paused_in_load 2
# Let go once the signal is there: before the load could end, however
# fast it runs.
kill -TERM "$PID"
sleep 1
rcli "$PORT_DST" CLIENT UNPAUSE >/dev/null
started=$SECONDS
RC=0
wait "$PID" || RC=$?
err=$(cat "$WORK/r2.err")
[ "$RC" = 143 ] || fail "exit $RC, want 143: $err"
[ $((SECONDS - started)) -lt 20 ] || fail "the load went on for $((SECONDS - started)) s after SIGTERM: $err"
n=$(rcli "$PORT_DST" DBSIZE)
grep -q "stopped at backend-redis: interrupted by SIGTERM" "$WORK/r2.err" || fail "the report does not say the step was interrupted: $err"
said=$(sed -n 's/.*the target was emptied, then \([0-9]*\) of the backup.s 200000 keys were restored.*/\1/p' "$WORK/r2.err")
[ -n "$said" ] || fail "the report does not say what the target holds: $err"
[ "$said" = "$n" ] || fail "the report says $said keys restored, the target holds $n: $err"
[ "$n" -lt 200000 ] || fail "test setup: the whole backup was restored before the signal"
info "$(grep -o "the target was emptied[^;]*" "$WORK/r2.err" | head -1)"

grep -q -e "$ADMIN_PW" -e "$USER_PW" "$WORK"/*.err "$WORK"/*.out "$WORK"/*.json && fail "a password was printed"
info "ok"
