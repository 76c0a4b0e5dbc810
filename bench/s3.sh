#!/usr/bin/env bash
# tsarc vs restic vs `rclone rcat`: one deterministic mysqldump-shaped
# stream backed up to the same local Ceph RADOS Gateway, in one run, then
# read back by each. Target P7 of shared/docs/goals.md.
#
#   bench/s3.sh [SIZE]        (default SIZE 1G)
#
# BENCH_S3_TLS=1: every tool talks HTTPS to the RGW's TLS port
# (TSARC_TEST_S3_TLS_ENDPOINT, its certificate verified with
# TSARC_TEST_S3_CACERT), as a production endpoint is reached.
#
# Uses the RGW named by TSARC_TEST_S3_ENDPOINT / _ACCESS_KEY / _SECRET_KEY
# when set; otherwise starts one with ci/rgw.sh on BENCH_RGW_PORT (default
# 17580) inside the bench directory and stops it at the end.
# Environment: see bench/lib.sh (BENCH_DIR, TSARC, TSARC_GEN_DUMP, BUILD_DIR,
# BENCH_KEEP), plus RESTIC (default restic) and RCLONE (default rclone).
# Not part of ctest: timings are machine-dependent and never fail a build.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ $# -le 1 ] || { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
SIZE=${1:-1G}
RESTIC=${RESTIC:-restic}
RCLONE=${RCLONE:-rclone}
command -v "$RESTIC" >/dev/null || die "restic not found (apt-get install -y restic)"
command -v "$RCLONE" >/dev/null || die "rclone not found (apt-get install -y rclone)"
command -v jq >/dev/null || die "jq not found (apt-get install -y jq)"

bench_setup
N=$(size_bytes "$SIZE")

RGW_DIR=
finish() {
	if [ -n "$RGW_DIR" ]; then
		"$BENCH_SRC_DIR/ci/rgw.sh" stop "$RGW_DIR" || true
	fi
	if [ "${BENCH_KEEP:-0}" != 1 ]; then
		rm -rf "$BENCH_WORK"
		rmdir "$BENCH_DIR" 2>/dev/null || true
	fi
}
trap finish EXIT

if [ -z "${TSARC_TEST_S3_ENDPOINT:-}" ]; then
	RGW_DIR=$BENCH_WORK/rgw
	# Every tool's copy lives in the OSD's memory: leave room for all three.
	TSARC_RGW_MEMSTORE_BYTES=$((4 * N + 2147483648)) \
		"$BENCH_SRC_DIR/ci/rgw.sh" start "$RGW_DIR" "${BENCH_RGW_PORT:-17580}" >&2
	. "$RGW_DIR/env"
fi
EP=$TSARC_TEST_S3_ENDPOINT
CA_TSARC= CA_RESTIC= CA_RCLONE=
if [ "${BENCH_S3_TLS:-0}" = 1 ]; then
	[ -n "${TSARC_TEST_S3_TLS_ENDPOINT:-}" ] && [ -n "${TSARC_TEST_S3_CACERT:-}" ] ||
		die "BENCH_S3_TLS=1 needs TSARC_TEST_S3_TLS_ENDPOINT and TSARC_TEST_S3_CACERT"
	EP=$TSARC_TEST_S3_TLS_ENDPOINT
	# Each tool its own option: rclone's S3 library fails on AWS_CA_BUNDLE
	# beside --ca-cert.
	CA_TSARC="--cacert '$TSARC_TEST_S3_CACERT'"
	CA_RESTIC="--cacert '$TSARC_TEST_S3_CACERT'"
	CA_RCLONE="--ca-cert $TSARC_TEST_S3_CACERT"
fi

# Same credentials for all three, and nothing else from the caller's AWS setup.
for v in $(env | sed -n 's/^\(AWS_[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$v"; done
export AWS_ACCESS_KEY_ID=$TSARC_TEST_S3_ACCESS_KEY
export AWS_SECRET_ACCESS_KEY=$TSARC_TEST_S3_SECRET_KEY
export AWS_SHARED_CREDENTIALS_FILE=/nonexistent AWS_CONFIG_FILE=/nonexistent
export RCLONE_CONFIG_RGW_TYPE=s3 RCLONE_CONFIG_RGW_PROVIDER=Ceph
export RCLONE_CONFIG_RGW_ENDPOINT=$EP RCLONE_CONFIG_RGW_FORCE_PATH_STYLE=true
export RCLONE_CONFIG_RGW_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID
export RCLONE_CONFIG_RGW_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY
export RCLONE_CONFIG=$BENCH_WORK/rclone.conf
: >"$RCLONE_CONFIG"

tag=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
TS_REPO="s3:$EP/bench-tsarc-$tag/repo"
RS_REPO="s3:$EP/bench-restic-$tag/repo"
RC_DEST="rgw:bench-rclone-$tag/dump.sql"

base=$BENCH_WORK/dump.sql
echo "generating the $SIZE stream in $BENCH_WORK ..." >&2
"$TSARC_GEN_DUMP" "$SIZE" >"$base"
T() { echo "'$TIME_BIN' -v -o '$BENCH_WORK/time.$1'"; }
# The CPU seconds the S3 server (its mon, OSD and gateway: they share the
# machine's cores with the tool timed) has used so far; "-" when the bench
# did not start it. timed_s3 LABEL CMD: run_timed, and S3CPU its share.
server_cpu() {
	local f t=0
	[ -n "$RGW_DIR" ] || { echo -; return; }
	for f in "$RGW_DIR"/run/mon.pid "$RGW_DIR"/run/osd.pid "$RGW_DIR"/run/rgw.pid; do
		t=$((t + $(awk '{ print $14 + $15 }' "/proc/$(cat "$f")/stat")))
	done
	awk -v t="$t" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }'
}
timed_s3() {
	local before
	before=$(server_cpu)
	run_timed "$1" "$2"
	S3CPU=$(awk -v a="$before" -v b="$(server_cpu)" 'BEGIN { if (a == "-") print "-"; else printf "%.2f", b - a }')
}

echo "tsarc ..." >&2
# shellcheck disable=SC2086 # a list of options
eval "'$TSARC' init --repo '$TS_REPO' -q $CA_TSARC ${TSARC_INIT_OPTS:-}"
warm "$base"
timed_s3 ts "cat '$base' | $(T ts) '$TSARC' backup --repo '$TS_REPO' $CA_TSARC --stdin --name dump.sql --json -q"
ts_w=$WALL ts_r=$RSS_KB ts_c=$CPU ts_s=$S3CPU
[ "$(jnum "$BENCH_WORK/out.ts" bytes_read)" = "$N" ] || die "tsarc read the wrong number of bytes"
ts_stored=$(jnum "$BENCH_WORK/out.ts" stored_bytes)
timed_s3 tsd "$(T tsd) '$TSARC' dump --repo '$TS_REPO' $CA_TSARC latest dump.sql | cmp - '$base'"
tsd_w=$WALL tsd_r=$RSS_KB tsd_c=$CPU tsd_s=$S3CPU

echo "restic ..." >&2
RS="'$RESTIC' -r '$RS_REPO' --cache-dir '$BENCH_WORK/restic-cache' -q $CA_RESTIC"
bash -c "$RS init --repository-version 2" >/dev/null
warm "$base"
timed_s3 rs "cat '$base' | $(T rs) $RS backup --stdin --stdin-filename dump.sql"
rs_w=$WALL rs_r=$RSS_KB rs_c=$CPU rs_s=$S3CPU
timed_s3 rsd "$(T rsd) $RS dump latest dump.sql | cmp - '$base'"
rsd_w=$WALL rsd_r=$RSS_KB rsd_c=$CPU rsd_s=$S3CPU

echo "rclone ..." >&2
# shellcheck disable=SC2086 # empty or two words
"$RCLONE" $CA_RCLONE mkdir "${RC_DEST%/*}"
warm "$base"
timed_s3 rc "cat '$base' | $(T rc) '$RCLONE' $CA_RCLONE rcat '$RC_DEST'"
rc_w=$WALL rc_r=$RSS_KB rc_c=$CPU rc_s=$S3CPU
timed_s3 rcd "$(T rcd) '$RCLONE' $CA_RCLONE cat '$RC_DEST' | cmp - '$base'"
rcd_w=$WALL rcd_r=$RSS_KB rcd_c=$CPU rcd_s=$S3CPU

echo
echo "## $SIZE mysqldump-shaped stream to a local Ceph RGW ($EP), $(nproc) cores"
echo
echo "| tool | step | wall s | MB/s | peak RSS MiB | tool CPU s | S3 server CPU s |"
echo "| --- | --- | ---: | ---: | ---: | ---: | ---: |"
# row TOOL STEP WALL RSS_KB CPU S3CPU: one line of the table, for the N bytes moved.
row() { echo "| $1 | $2 | $3 | $(mbps "$N" "$3") | $(mib "$4") | $5 | $6 |"; }
row tsarc backup "$ts_w" "$ts_r" "$ts_c" "$ts_s"
row "restic 0.14" "backup --stdin" "$rs_w" "$rs_r" "$rs_c" "$rs_s"
row "rclone 1.60" rcat "$rc_w" "$rc_r" "$rc_c" "$rc_s"
row tsarc "dump (restore)" "$tsd_w" "$tsd_r" "$tsd_c" "$tsd_s"
row "restic 0.14" dump "$rsd_w" "$rsd_r" "$rsd_c" "$rsd_s"
row "rclone 1.60" cat "$rcd_w" "$rcd_r" "$rcd_c" "$rcd_s"
echo
echo "tsarc stored $(mb "$ts_stored") MB for $(mb "$N") MB; rclone stores the stream as is."
ok() { awk -v a="$1" -v b="$2" -v f="$3" 'BEGIN { print (b / a >= f) ? "PASS" : "FAIL" }'; }
echo "P7 tsarc backup vs restic: $(ratio "$rs_w" "$ts_w")x faster (target >= 2.5x): $(ok "$ts_w" "$rs_w" 2.5)"
echo "P7 tsarc backup vs rclone rcat: $(ratio "$rc_w" "$ts_w")x faster (target >= 1.3x): $(ok "$ts_w" "$rc_w" 1.3)"
if [ -n "$RGW_DIR" ]; then
	# The tool and the server share $(nproc) cores: no backup can end
	# before their CPU seconds together, spread over every core, are spent.
	echo "tsarc backup's floor on $(nproc) cores, its CPU and the server's: $(awk -v a="$ts_c" -v b="$ts_s" -v n="$(nproc)" 'BEGIN { printf "%.2f", (a + b) / n }') s"
fi
