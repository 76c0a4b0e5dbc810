#!/usr/bin/env bash
# Repository locks against running jobs, through the tsarc binary:
#  - a backup whose lock was removed (unlock --remove-all, or a prune that
#    judged it stale by the store's clock) writes no snapshot;
#  - a prune in another pid namespace cannot take a live backup's lock for
#    a dead process's (needs root for unshare; skipped otherwise);
#  - a lock's age is the store's (file mtime), never its writer's clock;
#  - dump and forget --dry-run --prune hold a shared lock;
#  - a killed process its parent has not reaped yet (a zombie) is gone.
# Every wait is for a state (a lock file appearing), never for a time.
set -euo pipefail
: "${TSARC_FORGE_LOCK:?}"
. "$(dirname "$0")/lib.sh" locks
count() { t snapshots --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
now() { date -u +%Y-%m-%dT%H:%M:%SZ; }
# Runs a command that may fail; its exit code lands in $rc.
run_rc() { set +e; "$@"; rc=$?; set -e; }

t init -q --kdf-memory 4
"$TSARC_GEN_DUMP" 6M --seed 1 > "$work/s1"
"$TSARC_GEN_DUMP" 6M --seed 2 > "$work/s2"
first=$(t backup -q --stdin --name dump < "$work/s1")
mkfifo "$work/fifo" "$work/go"

# A backup reading from the FIFO, its lock taken and some data sent.
start_backup() {
	"$TSARC" backup -q --stdin --name "$1" < "$work/fifo" > "$work/b.id" 2> "$work/b.err" &
	bpid=$!
	pids+=("$bpid")
	exec 3> "$work/fifo"
	head -c 2000000 "$work/s2" >&3
	wait_locks 1
}
finish_backup() {
	tail -c +2000001 "$work/s2" >&3
	exec 3>&-
	run_rc wait "$bpid"
	brc=$rc
}

# --- a backup whose lock was removed by force commits nothing ---
n0=$(count)
start_backup removed
t unlock --remove-all -q >/dev/null
finish_backup
[ $brc -eq 11 ] || fail "backup after unlock --remove-all: exit $brc, want 11 ($(cat "$work/b.err"))"
grep -q "no snapshot was written" "$work/b.err" || fail "the backup does not say nothing was written: $(cat "$work/b.err")"
[ "$(count)" -eq "$n0" ] || fail "a backup without its lock wrote a snapshot"
[ "$(nlocks)" -eq 0 ] || fail "the lost lock was written back"

# --- a prune that judges a backup's lock stale (store clock) wins; the
# --- backup then commits nothing, and the repository stays whole ---
start_backup stale
touch -d '2 hours ago' "$work"/repo/locks/*
t prune -q >/dev/null || fail "prune did not take the lock the store says is 2 hours old"
finish_backup
[ $brc -eq 11 ] || fail "backup after its lock was judged stale: exit $brc, want 11 ($(cat "$work/b.err"))"
[ "$(count)" -eq "$n0" ] || fail "a backup whose lock was judged stale wrote a snapshot"
t check --read-data -q >/dev/null || fail "check after a prune beside a stale backup"

# --- another pid namespace (a container with host networking, unshare):
# --- the backup's pid means nothing there, so its lock is not stale ---
if unshare --pid --fork true 2>/dev/null; then
	start_backup other-ns
	run_rc unshare --pid --fork "$TSARC" prune > "$work/p.out" 2>&1
	[ $rc -eq 11 ] || fail "prune in another pid namespace: exit $rc, want 11 ($(cat "$work/p.out"))"
	unshare --pid --fork "$TSARC" unlock --json | python3 -c '
import json,sys; d=json.load(sys.stdin); assert d["removed"]==0 and not d["locks"][0]["stale"], d' ||
		fail "unlock in another pid namespace judged a live backup's lock stale"
	finish_backup
	[ $brc -eq 0 ] || fail "backup beside a refused prune: exit $brc ($(cat "$work/b.err"))"
	t dump "$(cat "$work/b.id")" other-ns | cmp - "$work/s2" || fail "backup beside another namespace's prune"
else
	echo "SKIP: unshare --pid needs root; the other-namespace case runs in the unit tests only"
fi

# --- the writer's clock never counts: a lock written just now by a host
# --- whose clock is years behind holds; one the store says is old does not ---
"$TSARC_FORGE_LOCK" slowclock "{\"host\":\"other-node\",\"pid\":7,\"exclusive\":true,\"time\":\"2001-01-01T00:00:00Z\"}"
run_rc t backup -q --stdin --name x < "$work/s1" > "$work/x.out" 2>&1
[ $rc -eq 11 ] || fail "backup beside a fresh exclusive lock with an old clock: exit $rc, want 11"
grep -q "other-node" "$work/x.out" || fail "the refusal does not name the holder"
"$TSARC_FORGE_LOCK" slowclock "{\"host\":\"other-node\",\"pid\":7,\"exclusive\":true,\"time\":\"$(now)\"}"
touch -d '2 hours ago' "$work/repo/locks/slowclock"
t backup -q --stdin --name x < "$work/s1" >/dev/null || fail "an exclusive lock the store says is 2 hours old still holds"
t unlock --json | python3 -c '
import json,sys; d=json.load(sys.stdin); assert d["removed"]==1 and d["locks"][0]["stale"], d' ||
	fail "unlock did not remove the lock the store says is 2 hours old"

# --- dump and forget --dry-run --prune hold a shared lock: a live
# --- exclusive lock stops them, a running backup does not ---
"$TSARC_FORGE_LOCK" prunelock "{\"host\":\"other-node\",\"pid\":8,\"exclusive\":true,\"time\":\"$(now)\"}"
run_rc t dump "$first" dump > /dev/null 2>&1
[ $rc -eq 11 ] || fail "dump beside a live exclusive lock: exit $rc, want 11"
run_rc t forget --keep-last 1 --dry-run --prune > /dev/null 2>&1
[ $rc -eq 11 ] || fail "forget --dry-run --prune beside a live exclusive lock: exit $rc, want 11"
run_rc t prune --dry-run > /dev/null 2>&1
[ $rc -eq 11 ] || fail "prune --dry-run beside a live exclusive lock: exit $rc, want 11"
rm "$work/repo/locks/prunelock"

start_backup beside-dry-run
t forget --keep-last 1 --dry-run --prune --json > "$work/dry.json" ||
	fail "forget --dry-run --prune was stopped by a running backup"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["dry_run"] and d["prune"]["dry_run"], d' "$work/dry.json" ||
	fail "forget --dry-run --prune --json"
t dump "$first" dump | cmp - "$work/s1" || fail "dump beside a running backup"
finish_backup
[ $brc -eq 0 ] || fail "backup beside a dry run: exit $brc ($(cat "$work/b.err"))"

# A dump in progress holds its lock: a prune meanwhile is refused.
before=$(nlocks)
{ "$TSARC" dump "$first" dump | { read -r _ < "$work/go"; cat > "$work/dumped"; }; } &
dpid=$!
pids+=("$dpid")
wait_locks $((before + 1))
run_rc t prune > "$work/p.out" 2>&1
[ $rc -eq 11 ] || fail "prune while a dump reads: exit $rc, want 11 ($(cat "$work/p.out"))"
echo go > "$work/go"
wait "$dpid" || fail "the dump failed"
cmp "$work/dumped" "$work/s1" || fail "dump while a prune was refused"
# --- a process killed (kill -9) and not yet reaped by its parent is gone:
# --- a zombie still answers kill(pid, 0), and a CronJob's wrapper that kills
# --- a stuck backup and then runs unlock was told the lock was live ---
python3 - "$TSARC" "$work/repo/locks" <<'PY' || fail "unlock beside a killed, unreaped backup"
import json, os, signal, subprocess, sys, time
tsarc, locks = sys.argv[1:]
r, w = os.pipe()
p = subprocess.Popen([tsarc, "backup", "-q", "--stdin", "--name", "zombie"], stdin=r,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
os.close(r)
for _ in range(600):
    if [n for n in os.listdir(locks) if not n.startswith(".")]:
        break
    time.sleep(0.1)
else:
    sys.exit("no lock appeared in 60 s")
os.kill(p.pid, signal.SIGKILL)
# Dead, and left unreaped: its state is Z until wait().
while open(f"/proc/{p.pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z":
    time.sleep(0.01)
out = subprocess.run([tsarc, "unlock", "--json"], capture_output=True, text=True)
p.wait()
os.close(w)
d = json.loads(out.stdout)
assert d["removed"] == 1 and d["locks"][0]["stale"], d
PY
[ "$(nlocks)" -eq 0 ] || fail "locks left behind: $(ls "$work/repo/locks")"
t check -q >/dev/null || fail "final check"
echo "locks: OK"
