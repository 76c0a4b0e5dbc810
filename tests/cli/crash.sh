#!/usr/bin/env bash
# kill -9 of a backup at several moments: early, in the middle of the stream,
# while a chunk is being written, just after the end of the input, while the
# snapshot is being written. After each: no snapshot refers to missing data
# (check passes), zero or one new snapshot (one only if the input was read to
# its end, and then it restores byte-identical), a new backup of the same
# stream works and restores byte-identical. Leftover and planted `.tmp-`
# files break nothing.
#
# TSARC_TEST_CRASH_RANDOM=N adds N trials killed at random moments (R1).
# TSARC_TEST_CRASH_SEEDED=N adds N trials killed while a data object (a
# chunk, or a pack in format 2) is being written, the how-manyeth drawn
# from a fixed seed: many moments of a backup, the same ones every run.
# TSARC_TEST_CRASH_FIXED=0 leaves out the fixed trials (the seeded ones alone).
# TSARC_TEST_INIT_OPTS: options for init (e.g. "--format 2 --pack-size
# 262144": the same trials on packs, plus one killed while the index is
# being written).
. "$(dirname "$0")/lib.sh"

SIZE=${TSARC_TEST_CRASH_SIZE:-32M}
RATE=${TSARC_TEST_CRASH_RATE:-20} # MiB/s through the pacing reader
RANDOM_TRIALS=${TSARC_TEST_CRASH_RANDOM:-0}
SEEDED_TRIALS=${TSARC_TEST_CRASH_SEEDED:-0}
R=$WORK/repo
# shellcheck disable=SC2086 # a list of options
init_repo "$R" ${TSARC_TEST_INIT_OPTS:-}

# pace.py FILE MIB_PER_S EOF_MARKER: copies FILE to stdout at a steady rate,
# then creates EOF_MARKER once everything was written and stdout is closed.
cat >"$WORK/pace.py" <<'EOF'
import os, sys, time
path, rate, marker = sys.argv[1], float(sys.argv[2]) * 1048576, sys.argv[3]
t0, sent = time.monotonic(), 0
with open(path, 'rb') as f:
    while True:
        b = f.read(256 << 10)
        if not b:
            break
        try:
            sys.stdout.buffer.write(b)
            sys.stdout.buffer.flush()
        except BrokenPipeError:
            os._exit(0)  # the backup was killed
        sent += len(b)
        ahead = sent / rate - (time.monotonic() - t0)
        if ahead > 0:
            time.sleep(ahead)
try:
    sys.stdout.close()
except BrokenPipeError:
    os._exit(0)
open(marker, 'w').close()
EOF

# kill.py PID MODE ARG REPO EOF_MARKER T0: kills PID with SIGKILL
#   ARG seconds after the input ended (MODE eof), or as soon as a `.tmp-`
#   object is created under REPO/DIR, ARG being DIR or DIR@N for the Nth (MODE tmp; inotify, so the process is
#   stopped in the middle of writing that object).
# Prints what happened: "killed ..." or "missed" (PID ended first).
cat >"$WORK/kill.py" <<'EOF'
import ctypes, os, select, signal, struct, sys, time
pid, mode, arg, repo, marker = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
t0 = time.monotonic() - (time.time() - float(sys.argv[6]))  # the backup's start
def alive():
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[0] not in ('Z', 'X')
    except OSError:
        return False
def done(what):
    print(what)
    sys.exit(0)
if mode == 'tmp':
    libc = ctypes.CDLL(None, use_errno=True)
    fd = libc.inotify_init1(os.O_NONBLOCK)
    IN_CREATE = 0x100
    arg, nth = (arg.split('@') + ['1'])[:2]  # DIR@N: the Nth object created
    nth = int(nth)
    top = os.path.join(repo, arg)
    dirs = [top] + [os.path.join(top, d) for d in os.listdir(top) if os.path.isdir(os.path.join(top, d))]
    for d in dirs:
        if libc.inotify_add_watch(fd, d.encode(), IN_CREATE) < 0:
            done('cannot watch %s' % d)
    hit = None
    while hit is None:
        if not alive():
            done('missed: the backup ended first')
        if not select.select([fd], [], [], 0.01)[0]:
            continue
        buf = os.read(fd, 65536)
        i = 0
        while i < len(buf):
            wd, mask, cookie, ln = struct.unpack_from('iIII', buf, i)
            name = buf[i + 16:i + 16 + ln].rstrip(b'\0').decode()
            i += 16 + ln
            if name.startswith('.tmp-'):
                nth -= 1
                if nth == 0:
                    hit = name
                    break
    os.kill(pid, signal.SIGKILL)
    done('killed as %s/%s was being written, at %.3f s' % (arg, hit, time.monotonic() - t0))
eof_at = None
while alive():
    now = time.monotonic()
    if eof_at is None and os.path.exists(marker):
        eof_at = now
    if eof_at is not None and now - eof_at >= float(arg):
        os.kill(pid, signal.SIGKILL)
        done('killed %.3f s after the end of the input, at %.3f s' % (now - eof_at, now - t0))
    time.sleep(0.001)
done('missed: the backup ended first')
EOF

snapshot_ids() { find "$R/snapshots" -maxdepth 1 -type f -regextype posix-extended -regex '.*/[0-9a-f]{64}' -printf '%f\n' | sort; }

TRIAL=0
TMP_LEFT=0
# trial MODE ARG: one killed backup of a new stream, then the checks.
trial() {
	local mode=$1 arg=$2 before after pid rc new what
	TRIAL=$((TRIAL + 1))
	"$GEN" "$SIZE" --seed $((1000 + TRIAL)) --random-every 9 >"$WORK/s.sql" || fail "the generator failed"
	rm -f "$WORK/eof"
	before=$(snapshot_ids)
	t0=$EPOCHREALTIME
	python3 "$WORK/pace.py" "$WORK/s.sql" "$RATE" "$WORK/eof" |
		"$TSARC" backup --repo "$R" --stdin --name s.sql --json >"$WORK/trial.out" 2>"$WORK/trial.err" &
	pid=$!
	if [ "$mode" = time ]; then
		# Plain sleep: a Python start-up would blur the early moments.
		sleep "$arg"
		kill -9 "$pid" 2>/dev/null && what="killed at $arg s" || what="missed: the backup ended first"
		[ ! -e "$WORK/eof" ] || what="$what (input complete)"
	else
		what=$(python3 "$WORK/kill.py" "$pid" "$mode" "$arg" "$R" "$WORK/eof" "$t0")
	fi
	rc=0
	wait "$pid" 2>/dev/null || rc=$?
	# SIGKILL (137) or a finished backup (0); anything else is a failure.
	if [ "$rc" -ne 137 ]; then
		sanitizer_check "$rc" "$WORK/trial.err" "backup (trial $TRIAL)"
		[ "$rc" -eq 0 ] || { cp "$WORK/trial.err" "$ERR"; fail "trial $TRIAL: backup exited with $rc"; }
	fi
	after=$(snapshot_ids)
	new=$(comm -13 <(echo "$before") <(echo "$after"))
	[ -z "$(comm -23 <(echo "$before") <(echo "$after"))" ] || fail "trial $TRIAL: a snapshot disappeared"
	[ "$(echo "$new" | grep -c .)" -le 1 ] || fail "trial $TRIAL: more than one new snapshot: $new"
	if [ "$rc" -eq 0 ] && [ -z "$new" ]; then
		fail "trial $TRIAL: the backup finished but no snapshot was written"
	fi
	if [ -n "$new" ] && [ ! -e "$WORK/eof" ]; then
		fail "trial $TRIAL: a snapshot $new was written before the input ended"
	fi
	TMP_LEFT=$((TMP_LEFT + $(find "$R" -name '.tmp-*' | wc -l)))
	info "trial $TRIAL ($mode $arg): $what; exit $rc; $( [ -n "$new" ] && echo "1 new snapshot" || echo "no new snapshot"); $(find "$R" -name '.tmp-*' | wc -l) .tmp- files, $(find "$R/locks" -type f | wc -l) lock files"

	# No snapshot refers to missing or short data.
	t check --repo "$R"
	expect_rc 0 "check after trial $TRIAL ($mode $arg)"
	# A snapshot that made it must be the whole stream.
	[ -z "$new" ] || dump_cmp_file "$R" "$new" s.sql "$WORK/s.sql"
	# The same stream again (reusing what the killed run stored) works. Its
	# chunks are read back by the check --read-data at the end; here its
	# recorded SHA-256 must be the input's.
	t_in "$WORK/s.sql" backup --repo "$R" --stdin --name s.sql --json
	expect_rc 0 "backup after trial $TRIAL"
	LAST=$(json_get "$OUT" "d['snapshot_id']")
	ok show --repo "$R" "$LAST" --json
	[ "$(json_get "$OUT" "d['streams'][0]['sha256']")" = "$(sha256sum <"$WORK/s.sql" | cut -d' ' -f1)" ] ||
		fail "trial $TRIAL: the new backup's SHA-256 is not the input's"
	# Every other trial, restore it too.
	[ $((TRIAL % 2)) -eq 1 ] || dump_cmp_file "$R" "$LAST" s.sql "$WORK/s.sql"
}

if [ "${TSARC_TEST_CRASH_FIXED:-1}" = 1 ]; then
	trial time 0.2
	trial time 0.5
	trial time 1
	trial time 1.4
	trial tmp data@8           # while the 8th chunk object is being written
	trial eof 0                # the input just ended: the last chunks in flight
	trial eof 0.05
	trial tmp snapshots        # while the snapshot object is being written
	case " ${TSARC_TEST_INIT_OPTS:-} " in
	*" --format 2 "*) trial tmp index ;; # while the index object is being written
	esac
fi
i=0
while [ "$i" -lt "$RANDOM_TRIALS" ]; do
	i=$((i + 1))
	trial time "$(python3 -c 'import random; print("%.3f" % random.uniform(0.05, 2.2))')"
done
if [ "$SEEDED_TRIALS" -gt 0 ]; then
	# How many data objects a whole backup of such a stream writes: in a
	# repository of its own, unpaced.
	"$GEN" "$SIZE" --seed 999 --random-every 9 >"$WORK/s.sql" || fail "the generator failed"
	# shellcheck disable=SC2086 # a list of options
	init_repo "$WORK/count" ${TSARC_TEST_INIT_OPTS:-}
	t_in "$WORK/s.sql" backup --repo "$WORK/count" --stdin --name s.sql
	expect_rc 0 "the backup that counts data objects"
	OBJECTS=$(find "$WORK/count/data" -type f -name '[0-9a-f]*' | wc -l)
	info "a whole backup writes $OBJECTS data objects"
	for n in $(python3 -c 'import random, sys
r = random.Random(20261201)
print(" ".join(str(r.randint(1, int(sys.argv[1]))) for _ in range(int(sys.argv[2]))))' \
		"$OBJECTS" "$SEEDED_TRIALS"); do
		trial tmp "data@$n"
	done
fi
info "$TMP_LEFT .tmp- files were left by the killed backups (summed over trials)"

# Leftover temp files, planted where every kind of object lives, are ignored.
printf 'garbage' >"$R/snapshots/.tmp-planted"
printf 'garbage' >"$R/data/ab/.tmp-planted"
printf 'garbage' >"$R/keys/.tmp-planted"
printf 'garbage' >"$R/.tmp-planted"
t snapshots --repo "$R"
expect_rc 0 "snapshots with .tmp- files present"
! grep -q "warning" "$ERR" || fail "snapshots warns about a .tmp- file"
t check --repo "$R" --read-data
expect_rc 0 "check --read-data after all trials, with .tmp- files present"
t_in "$WORK/s.sql" backup --repo "$R" --stdin --name s.sql
expect_rc 0 "backup with .tmp- files present"
dump_cmp_file "$R" latest s.sql "$WORK/s.sql"

finish "$TRIAL trials"
