# Hold points for the restore's interruption tests (tests/restore/interrupt*.sh);
# sourced after lib.sh, not run. A wrapper in PATH (redis-server, mysql, psql...)
# that, while a hold file exists, writes its PID to $WORK/held and blocks until
# it is killed: tsarc stops at a known point, and nothing depends on timing.

# The real clients, before the wrappers come first in PATH.
REAL_REDIS_SERVER=$(command -v redis-server)
REAL_MYSQL=$(command -v mysql)
REAL_MYSQLDUMP=$(command -v mysqldump)
REAL_PSQL=$(command -v psql)
mkdir -p "$WORK/bin" "$WORK/tmp"

# wrapper NAME REAL [SHELL-PREAMBLE [HOLD]]: $WORK/bin/NAME holds while $WORK/hold-NAME exists,
# after letting through as many runs as that file says (none when empty). mysql
# and psql hold in a load only, never in a query (-e, -c): the restore's
# look-up of its database, the ones a backup (the undo snapshot's) runs
# before its dump. The held run is `sleep` unless HOLD says what it execs
# instead (its PID, in $WORK/held, the held process).
wrapper() {
	cat > "$WORK/bin/$1" <<EOF
#!/bin/sh
if [ -e "$WORK/hold-$1" ] && ! printf '%s\n' "\$@" | grep -qx -- '-[ce]'; then
	pass=\$(cat "$WORK/hold-$1")
	if [ "\${pass:-0}" -gt 0 ]; then
		echo \$((pass - 1)) > "$WORK/hold-$1"
		exec "$2" "\$@"
	fi
	${3:-}
	printf '%s\n' "\$@" > "$WORK/held-args"
	echo \$\$ > "$WORK/held.tmp" && mv "$WORK/held.tmp" "$WORK/held"
	${4:-exec sleep 100000}
fi
exec "$2" "\$@"
EOF
	chmod +x "$WORK/bin/$1"
}
export PATH="$WORK/bin:$PATH"
export TMPDIR="$WORK/tmp"

# bg ARGS...: tsarc restore in the background with SIGINT at its default
# (a script's background jobs start with it ignored), with $CONFIG (else
# $WORK/config.json); PID in TPID.
bg() {
	rm -f "$WORK/held"
	python3 -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execv(sys.argv[1], sys.argv[1:])' "$TSARC" restore "$SNAP" --repo "$REPO" --config "${CONFIG:-$WORK/config.json}" "$@" \
		>"$OUT" 2>"$ERR" &
	TPID=$!
}

# held: waits until the wrapper holds (tsarc is at the known point).
held() {
	local i
	for ((i = 0; i < 1200; i++)); do
		[ -s "$WORK/held" ] && { HELD=$(cat "$WORK/held"); return 0; }
		kill -0 "$TPID" 2>/dev/null || { wait "$TPID"; RC=$?; fail "tsarc ended (exit $RC) before the hold point"; }
		sleep 0.1
	done
	fail "the hold point was not reached in 120 s"
}

# ended: waits for tsarc, RC its exit code; no sanitizer report.
ended() {
	RC=0
	wait "$TPID" || RC=$?
	if grep -qE 'ERROR: (Address|Leak|Undefined|Memory|Thread)Sanitizer|runtime error:' "$ERR"; then
		head -c 20000 "$ERR" >&2
		fail "sanitizer report"
	fi
}

# gone PID WHAT: the process no longer exists (killed, reaped by init).
gone() {
	local i
	for ((i = 0; i < 100; i++)); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	fail "$2 (pid $1) is still running"
}

# no_leftovers WHAT: no repository lock and nothing in TMPDIR left.
no_leftovers() {
	[ -z "$(ls -A "$REPO/locks")" ] || fail "$1: a repository lock is left: $(ls "$REPO/locks")"
	[ -z "$(ls -A "$TMPDIR")" ] || fail "$1: temporary files are left: $(ls -R "$TMPDIR")"
}
