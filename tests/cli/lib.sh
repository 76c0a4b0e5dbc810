# Helpers shared by the end-to-end CLI tests (tests/cli/*.sh); sourced, not run.
#
# Each test gets its binaries from the environment (TSARC, TSARC_GEN_DUMP,
# the kubectl double TSARC_FAKE_KUBECTL), a fresh work directory under
# ${TMPDIR:-/tmp} removed on exit, and runs tsarc
# through `t`, which records the exit code and output and fails the test on a
# crash (a signal, i.e. exit code >= 128) or on any sanitizer report.

set -u
. "${BASH_SOURCE[0]%/*}/../../ci/sleep_builtin.sh" # sourced by path: no fork for dirname

: "${TSARC:?set TSARC to the tsarc binary}"
: "${TSARC_GEN_DUMP:?set TSARC_GEN_DUMP to the tsarc-gen-dump binary}"
[ -x "$TSARC" ] || { echo "FAIL: TSARC=$TSARC is not executable" >&2; exit 1; }
[ -x "$TSARC_GEN_DUMP" ] || { echo "FAIL: TSARC_GEN_DUMP=$TSARC_GEN_DUMP is not executable" >&2; exit 1; }

# A sanitizer build must stop at its first report (UBSan is built with
# -fno-sanitize-recover, so it aborts too).
export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
# Nothing from the caller's environment may pick another repository or password.
unset TSARC_REPOSITORY TSARC_PASSWORD TSARC_PASSWORD_FILE

TEST_NAME=$(basename "$0" .sh)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tsarc-$TEST_NAME.XXXXXX") || exit 1
OUT=$WORK/.out
ERR=$WORK/.err
# The index cache of the test's repositories goes with its work directory.
export XDG_CACHE_HOME=$WORK/.cache
# Everything tsarc printed (text only), to check that no secret ever shows.
TRANSCRIPT=$WORK/.transcript
RC=0
cleanup() {
	# Kill whatever this test left running (its own background jobs only).
	local p
	for p in $(jobs -p); do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A password that cannot occur by chance, so that grepping for it is meaningful.
PASSWORD="pw-${TEST_NAME}-Xq7vL2mZ9kR4"
export TSARC_PASSWORD="$PASSWORD"
GEN=$TSARC_GEN_DUMP

fail() {
	echo "FAIL [$TEST_NAME]: $*" >&2
	if [ -s "$ERR" ]; then
		echo "--- stderr of the last tsarc command:" >&2
		head -c 4000 "$ERR" >&2
	fi
	if [ -s "$OUT" ] && grep -Iq . "$OUT"; then
		echo "--- stdout of the last tsarc command:" >&2
		head -c 4000 "$OUT" >&2
	fi
	exit 1
}

info() { echo "[$TEST_NAME] $*"; }


# Fails the test if the last command crashed or a sanitizer spoke.
# $1: exit code, $2: stderr file, $3: what ran.
sanitizer_check() {
	if [ "$1" -ge 128 ]; then
		echo "FAIL [$TEST_NAME]: '$3' died with exit code $1 (signal $(($1 - 128)))" >&2
		head -c 20000 "$2" >&2
		exit 1
	fi
	# Called after every tsarc run: one process at most (each costs ~10 ms
	# of CPU on the test machines, and the tests run tsarc thousands of
	# times): the lines go to the transcript and the reports are looked for
	# in the same pass.
	local status=0
	[ -s "$2" ] || return 0
	awk -v transcript="$TRANSCRIPT" '
		/./ { print >> transcript }
		/ERROR: (Address|Leak|Undefined|Memory|Thread)Sanitizer|runtime error:|SUMMARY: [A-Za-z]*Sanitizer/ { found = 1 }
		END { exit found ? 3 : 0 }' "$2" || status=$?
	if [ "$status" -eq 3 ]; then
		echo "FAIL [$TEST_NAME]: sanitizer report from '$3':" >&2
		head -c 20000 "$2" >&2
		exit 1
	fi
	[ "$status" -eq 0 ] || { echo "FAIL [$TEST_NAME]: cannot read the stderr of '$3' ($2)" >&2; exit 1; }
}

# Adds the last stdout to the transcript if it is text and not a large dump
# (grep -I prints nothing of a binary file).
transcript_add() {
	[ -s "$OUT" ] || return 0
	[ "$(stat -c %s "$OUT" 2>/dev/null || echo 0)" -le 1048576 ] && grep -I '' "$OUT" >>"$TRANSCRIPT" 2>/dev/null
	return 0
}

# finish: the common end of every test: the password was never printed.
finish() {
	if [ -f "$TRANSCRIPT" ] && grep -qaF -- "$PASSWORD" "$TRANSCRIPT"; then
		fail "the password appears in tsarc's output: $(grep -aF -- "$PASSWORD" "$TRANSCRIPT" | head -3)"
	fi
	info "PASS${1:+ ($1)}"
}

# t ARGS...: runs tsarc (stdin inherited), stdout -> $OUT, stderr -> $ERR, RC.
t() {
	RC=0
	"$TSARC" "$@" >"$OUT" 2>"$ERR" || RC=$?
	sanitizer_check "$RC" "$ERR" "tsarc $*"
	transcript_add
	return 0
}

# t_in FILE ARGS...: as t, stdin from FILE (or a <(...) process substitution).
t_in() {
	local in=$1
	shift
	RC=0
	"$TSARC" "$@" <"$in" >"$OUT" 2>"$ERR" || RC=$?
	sanitizer_check "$RC" "$ERR" "tsarc $*"
	transcript_add
	return 0
}

# expect_rc N WHAT: the last command must have exited with N.
expect_rc() {
	[ "$RC" -eq "$1" ] || fail "$2: expected exit code $1, got $RC"
}

# expect_err PATTERN WHAT: stderr of the last command matches (grep -E, case-insensitive).
expect_err() {
	grep -qiE -- "$1" "$ERR" || fail "$2: stderr does not match /$1/"
}

# expect_out PATTERN WHAT: stdout of the last command matches.
expect_out() {
	grep -qiE -- "$1" "$OUT" || fail "$2: stdout does not match /$1/"
}

# ok ARGS...: the tsarc command must succeed.
ok() {
	t "$@"
	[ "$RC" -eq 0 ] || fail "tsarc $* exited with $RC"
}

# json_get FILE EXPR: prints a value of the JSON document in FILE; EXPR is a
# Python expression over `d` (e.g. "d['new_bytes']"). Fails if FILE is not JSON.
json_get() {
	python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))
print(eval(sys.argv[2]))' "$1" "$2" || fail "$1 is not the JSON expected ($2)"
}

# backup_file REPO NAME FILE: backs up FILE as the stream NAME with --json,
# leaves the JSON in $WORK/backup.json and the snapshot id in SNAP.
backup_file() {
	local repo=$1 name=$2 file=$3
	t_in "$file" backup --repo "$repo" --stdin --name "$name" --json
	[ "$RC" -eq 0 ] || fail "backup of '$name' ($file) exited with $RC"
	cp "$OUT" "$WORK/backup.json"
	SNAP=$(json_get "$WORK/backup.json" "d['snapshot_id']")
	[ "${#SNAP}" -eq 64 ] || fail "backup --json gave no 64-hex snapshot id: '$SNAP'"
}

# backup_gen REPO NAME GEN-ARGS...: backup_file of the generator's output
# for GEN-ARGS.
backup_gen() {
	local repo=$1 name=$2
	shift 2
	backup_file "$repo" "$name" <("$GEN" "$@")
}

# dump_cmp REPO SNAP NAME GEN-ARGS...: dump must succeed and be byte-identical
# to the generator's output for GEN-ARGS.
dump_cmp() {
	local repo=$1 snap=$2 name=$3
	shift 3
	dump_cmp_file "$repo" "$snap" "$name" <("$GEN" "$@") "the original"
}

# dump_cmp_file REPO SNAP NAME FILE [WHAT]: dump must succeed and equal FILE
# (WHAT names it in a failure; FILE by default).
dump_cmp_file() {
	local repo=$1 snap=$2 name=$3 file=$4 what=${5:-$4} rcs
	RC=0
	"$TSARC" dump --repo "$repo" "$snap" "$name" 2>"$ERR" | cmp - "$file" >"$OUT" 2>&1
	rcs=("${PIPESTATUS[@]}")
	RC=${rcs[0]}
	# A difference first: cmp stops reading there, and dump then fails on
	# the closed pipe (exit 130).
	[ "${rcs[1]}" -eq 0 ] || fail "dump $snap $name (exit $RC) differs from $what: $(cat "$OUT")"
	sanitizer_check "$RC" "$ERR" "tsarc dump $snap $name"
	[ "$RC" -eq 0 ] || fail "dump $snap $name exited with $RC"
}

# expect_unreadable_snapshot RC REPO SNAP [RUN]: with snapshot SNAP (the
# newest, holding db.sql) unreadable, snapshots (text and --json), dump
# latest and check each fail with exit RC, never a short list or data, and
# snapshots names SNAP. RUN runs tsarc as `t` does (default: t).
expect_unreadable_snapshot() {
	local rc=$1 repo=$2 snap=$3 run=${4:-t}
	"$run" snapshots --repo "$repo"
	expect_rc "$rc" "snapshots with an unreadable snapshot"
	expect_err "snapshot ${snap:0:12} cannot be read" "snapshots names the unreadable snapshot"
	! grep -q "snapshot" "$OUT" || fail "snapshots printed a list: $(cat "$OUT")"
	"$run" snapshots --repo "$repo" --json
	expect_rc "$rc" "snapshots --json with an unreadable snapshot"
	"$run" dump --repo "$repo" latest db.sql
	expect_rc "$rc" "dump latest with an unreadable snapshot"
	[ ! -s "$OUT" ] || fail "dump latest wrote data although the newest snapshot cannot be read"
	"$run" check --repo "$repo"
	expect_rc "$rc" "check with an unreadable snapshot"
}

# flip_byte FILE OFFSET: inverts the byte at OFFSET (negative: from the end).
flip_byte() {
	python3 - "$1" "$2" <<'EOF' || fail "cannot flip a byte in $1"
import sys
path, off = sys.argv[1], int(sys.argv[2])
with open(path, 'r+b') as f:
    data = bytearray(f.read())
    if off < 0:
        off += len(data)
    data[off] ^= 0xff
    f.seek(0)
    f.write(data)
EOF
}

# init_repo PATH [INIT-OPTIONS...]
# The tests' repositories take the least scrypt memory (--kdf-memory 4): the
# suite opens repositories many thousands of times, and at the default
# (32 MiB, about 0.15 s of CPU and 8,192 page faults an open) the key
# derivation was a fifth of a CI run's CPU. The default's own keys are
# tested in test_crypto, cli_keys and the demo.
init_repo() {
	local repo=$1
	shift
	ok init --repo "$repo" --kdf-memory 4 "$@"
}

# chunk_files REPO: the chunk objects, one path a line, sorted.
chunk_files() {
	find "$1/data" -type f -name '[0-9a-f]*' | sort
}

# fake_kubectl: FAKE_KUBECTL, the kubectl TEST DOUBLE of the kube tests
# (tests/deploy/fake_kubectl.c, built with the tests: TSARC_FAKE_KUBECTL).
fake_kubectl() {
	FAKE_KUBECTL=${TSARC_FAKE_KUBECTL:?set TSARC_FAKE_KUBECTL to the fake-kubectl binary}
	[ -x "$FAKE_KUBECTL" ] || fail "TSARC_FAKE_KUBECTL=$FAKE_KUBECTL is not executable"
}
