#!/bin/sh
# Runs a command against the S3 server of TSARC_TEST_S3_*, with a clean AWS
# environment, a fresh bucket, and optionally the fault-injecting proxy.
#
#   run_with_s3.sh [--fault-proxy] CMD [ARGS...]
#
# In ARGS, @S3_URL@ becomes s3:ENDPOINT/tsarc-suite-RANDOM/prefix (the
# endpoint is the proxy's with --fault-proxy). Exits 77 (skip) when no S3
# server is configured, or 1 when TSARC_TEST_REQUIRE_S3=1 says there must be.
# Secrets travel in the environment only, never on a command line.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
proxy=0
if [ "${1:-}" = "--fault-proxy" ]; then
	proxy=1
	shift
fi
[ $# -ge 1 ] || { echo "usage: $0 [--fault-proxy] CMD [ARGS...]" >&2; exit 2; }

if [ -z "${TSARC_TEST_S3_ENDPOINT:-}" ] || [ -z "${TSARC_TEST_S3_ACCESS_KEY:-}" ] ||
	[ -z "${TSARC_TEST_S3_SECRET_KEY:-}" ]; then
	if [ "${TSARC_TEST_REQUIRE_S3:-}" = 1 ]; then
		echo "TSARC_TEST_REQUIRE_S3=1 but TSARC_TEST_S3_* are not set (ci/rgw.sh start DIR; . DIR/env)" >&2
		exit 1
	fi
	echo "skipped: no S3 server (set TSARC_TEST_S3_* from ci/rgw.sh)" >&2
	exit 77
fi

# A machine may carry AWS_CA_BUNDLE, AWS_PROFILE and the like: none of them
# may change what the test talks to.
for v in $(env | sed -n 's/^\(AWS_[A-Za-z0-9_]*\)=.*/\1/p'); do
	unset "$v"
done
export AWS_ACCESS_KEY_ID="$TSARC_TEST_S3_ACCESS_KEY"
export AWS_SECRET_ACCESS_KEY="$TSARC_TEST_S3_SECRET_KEY"
export AWS_SHARED_CREDENTIALS_FILE=/nonexistent/tsarc-test
export AWS_CONFIG_FILE=/nonexistent/tsarc-test
# The end of the credential chain would ask the EC2 metadata address.
export AWS_EC2_METADATA_DISABLED=true

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tsarc-s3test.XXXXXX")
proxy_pid=
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
	if [ -n "$proxy_pid" ]; then
		kill "$proxy_pid" 2>/dev/null || true
		wait "$proxy_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ $proxy -eq 1 ]; then
	python3 "$here/fault_proxy.py" --upstream "$TSARC_TEST_S3_ENDPOINT" \
		--port-file "$tmp/port" --stats-file "$tmp/stats" \
		--rate "${TSARC_TEST_FAULT_RATE:-0.1}" --stall "${TSARC_TEST_FAULT_STALL:-4}" \
		${TSARC_TEST_FAULT_SEED:+--seed "$TSARC_TEST_FAULT_SEED"} \
		${TSARC_TEST_FAULT_KINDS:+--kinds "$TSARC_TEST_FAULT_KINDS"} \
		${TSARC_TEST_FAULT_ONLY:+--only "$TSARC_TEST_FAULT_ONLY"} \
		${TSARC_TEST_HOLD:+--hold-file "$tmp/hold"} &
	proxy_pid=$!
	i=0
	while [ ! -s "$tmp/port" ]; do
		i=$((i + 1))
		if [ $i -gt 100 ] || ! kill -0 "$proxy_pid" 2>/dev/null; then
			echo "fault_proxy.py did not start" >&2
			exit 1
		fi
		sleep 0.1
	done
	port=$(cat "$tmp/port")
	export TSARC_TEST_S3_ENDPOINT="http://127.0.0.1:$port"
	# Stalls must be noticed well before the proxy's stall ends.
	export TSARC_S3_STALL_TIMEOUT="${TSARC_S3_STALL_TIMEOUT:-2}"
	export TSARC_S3_TRACE="${TSARC_S3_TRACE:-1}"
	export TSARC_TEST_EXPECT_RETRIES=1
	# TSARC_TEST_HOLD=1: the test holds requests of its choosing (the
	# proxy's --hold-file) by writing this file.
	[ -z "${TSARC_TEST_HOLD:-}" ] || export TSARC_TEST_HOLD_FILE="$tmp/hold"
fi

bucket="tsarc-suite-$(od -An -N4 -tx4 /dev/urandom | tr -d ' \n')"
export TSARC_TEST_S3_URL="s3:$TSARC_TEST_S3_ENDPOINT/$bucket/prefix"

cmd=$1
shift
n=$#
while [ $n -gt 0 ]; do
	a=$1
	shift
	[ "$a" = "@S3_URL@" ] && a=$TSARC_TEST_S3_URL
	set -- "$@" "$a"
	n=$((n - 1))
done

rc=0
"$cmd" "$@" || rc=$?
if [ -s "$tmp/stats" ]; then
	echo "fault_proxy stats: $(cat "$tmp/stats")" >&2
	if [ $rc -eq 0 ] && ! grep -q '"slowdown": [1-9]\|"internal": [1-9]\|"reset": [1-9]\|"stall": [1-9]\|"held": [1-9]' "$tmp/stats"; then
		echo "the fault proxy injected no fault: the test proved nothing" >&2
		rc=1
	fi
fi
exit $rc
