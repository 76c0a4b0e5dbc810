#!/usr/bin/env bash
# A slow S3 server must not hang a command: against an endpoint that stalls
# (accepts, reads the request, sends nothing) and one that trickles (4 bytes
# a second, forever), `tsarc snapshots` fails with exit 14 (store failing
# after retries) once the time limits of backends/stores/s3/config.h run out.
#
# The limits are shrunk through the variables the real tool honours
# (TSARC_S3_ATTEMPT_TIMEOUT, TSARC_S3_MIN_THROUGHPUT, TSARC_S3_STALL_TIMEOUT,
# TSARC_S3_RETRY_DEADLINE) so that this takes seconds; the arithmetic of the
# defaults is checked by test_s3_config. TSARC_TEST_SLOW_DEFAULTS=1 runs it
# with the defaults instead (minutes) and prints how long each took.
# Needs no S3 server: tests/s3/slow_server.py plays the slow one on 127.0.0.1.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../cli/lib.sh"

for v in $(env | sed -n 's/^\(AWS_[A-Za-z0-9_]*\)=.*/\1/p'); do
	unset "$v"
done
unset TSARC_S3_MAX_RETRIES TSARC_S3_CONNECT_TIMEOUT TSARC_S3_STALL_TIMEOUT \
	TSARC_S3_ATTEMPT_TIMEOUT TSARC_S3_MIN_THROUGHPUT TSARC_S3_RETRY_DEADLINE
export AWS_ACCESS_KEY_ID=AKSLOWTEST AWS_SECRET_ACCESS_KEY=slow-test-secret
export AWS_SHARED_CREDENTIALS_FILE=/nonexistent/tsarc-test AWS_CONFIG_FILE=/nonexistent/tsarc-test
export TSARC_S3_TRACE=1
if [ "${TSARC_TEST_SLOW_DEFAULTS:-}" = 1 ]; then
	limit=240 # the promise: within 4 minutes with the defaults
else
	# an attempt must move 1000 bytes/s after 1 s; no attempt starts, nor
	# runs, 3 s after the first started. The stall timeout (curl's "below
	# 1 byte/s") stays long, out of the way: it never ended a trickle.
	export TSARC_S3_ATTEMPT_TIMEOUT=1 TSARC_S3_MIN_THROUGHPUT=1000 \
		TSARC_S3_STALL_TIMEOUT=600 TSARC_S3_RETRY_DEADLINE=3
	limit=30 # 3 s, plus one attempt, plus room for a loaded sanitizer build
fi

for mode in stall trickle; do
	rm -f "$WORK/port"
	python3 "$here/slow_server.py" --mode "$mode" --port-file "$WORK/port" \
		--max-seconds $((limit + 120)) &
	server=$!
	i=0
	while [ ! -s "$WORK/port" ]; do
		i=$((i + 1))
		{ [ $i -le 100 ] && kill -0 "$server" 2>/dev/null; } ||
			fail "slow_server.py did not start"
		sleep 0.1
	done
	port=$(cat "$WORK/port")

	start=$(date +%s.%N)
	RC=0
	# Before the limits held inside an attempt, this hung until timeout (124).
	timeout -k 5 $((limit + 60)) "$TSARC" snapshots \
		--repo "s3:http://127.0.0.1:$port/slow-bucket/p" >"$OUT" 2>"$ERR" || RC=$?
	took=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
	sanitizer_check "$RC" "$ERR" "tsarc snapshots ($mode)"
	kill "$server" 2>/dev/null
	wait "$server" 2>/dev/null
	[ "$RC" -ne 124 ] || fail "$mode: tsarc snapshots still hung after $((limit + 60)) s"
	expect_rc 14 "$mode: tsarc snapshots against a slow server"
	expect_err "gave up after [0-9]+ attempts" "$mode: the error says it gave up"
	awk -v t="$took" -v l="$limit" 'BEGIN { exit !(t < l) }' ||
		fail "$mode: failed only after $took s (limit $limit s)"
	info "$mode: exit 14 after $took s: $(grep -a 'error:' "$ERR" | tail -1)"
done
finish
