#!/usr/bin/env bash
# tsarc vs restic vs gzip/zstd on one deterministic mysqldump-shaped stream,
# local disk, same run. Targets P1-P6 of shared/docs/goals.md.
#
#   bench/stream.sh [SIZE]          full comparison (default SIZE 1G)
#   bench/stream.sh --rss [SIZES]   tsarc alone, peak RSS at 1G 2G 4G (default),
#                                   stream generated through a pipe (no big file)
#   bench/stream.sh --pairs N [SIZE] P1 and P2 only, in N alternating rounds (each:
#                                   tsarc's first backup, restic's, tsarc's second,
#                                   restic's, into new repositories); the ratio of
#                                   each round and their median
#
# Environment: see bench/lib.sh (BENCH_DIR, TSARC, TSARC_GEN_DUMP, BUILD_DIR,
# BENCH_KEEP), plus RESTIC (default restic), BENCH_ZSTD=0 to skip zstd.
# Not part of ctest: timings are machine-dependent and never fail a build.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }

rss_mode() {
	local sizes=("$@") s n repo out
	[ ${#sizes[@]} -gt 0 ] || sizes=(1G 2G 4G)
	echo "## tsarc peak RSS by stream size (generator -> pipe -> tsarc backup)"
	echo
	echo "| stream | wall s | MB/s | peak RSS MiB | chunks | stored MB |"
	echo "| --- | ---: | ---: | ---: | ---: | ---: |"
	declare -A R
	for s in "${sizes[@]}"; do
		n=$(size_bytes "$s")
		repo=$BENCH_WORK/rss-$s
		# shellcheck disable=SC2086 # a list of options
		"$TSARC" init --repo "$repo" -q ${TSARC_INIT_OPTS:-}
		run_timed "rss-$s" "'$TSARC_GEN_DUMP' $s | '$TIME_BIN' -v -o '$BENCH_WORK/time.rss-$s' '$TSARC' backup --repo '$repo' --stdin --name dump.sql --json -q"
		out=$BENCH_WORK/out.rss-$s
		[ "$(jnum "$out" bytes_read)" = "$n" ] || die "rss-$s: bytes_read mismatch"
		R[$s]=$RSS_KB
		echo "| $s | $WALL | $(mbps "$n" "$WALL") | $(mib "$RSS_KB") | $(jnum "$out" chunks) | $(mb "$(jnum "$out" stored_bytes)") |"
		rm -rf "$repo"
	done
	echo
	echo "(throughput here is bounded by the single-threaded generator sharing the 2 cores)"
	if [ -n "${R[2G]:-}" ]; then
		local v=FAIL
		[ "${R[2G]}" -le $((48 * 1024)) ] && v=PASS
		echo "P5a peak RSS, 2 GiB backup: $(mib "${R[2G]}") MiB (target <= 48 MiB): $v"
	fi
	if [ -n "${R[1G]:-}" ] && [ -n "${R[4G]:-}" ]; then
		local g v=FAIL
		g=$(awk -v a="${R[4G]}" -v b="${R[1G]}" 'BEGIN { printf "%+.1f", 100 * (a - b) / b }')
		awk -v a="${R[4G]}" -v b="${R[1G]}" 'BEGIN { exit !(a <= 1.10 * b) }' && v=PASS
		echo "P5b peak RSS 4 GiB vs 1 GiB: $(mib "${R[4G]}") vs $(mib "${R[1G]}") MiB ($g%, target <= +10%): $v"
	fi
}

# one row of the main table
row() { # tool step bytes wall rss_kb stored new cpu
	printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$1" "$2" "$4" "$(mbps "$3" "$4")" \
		"$8" "$(awk -v b="$3" -v c="$8" 'BEGIN { if (c > 0) printf "%.0f", b / 1e6 / c; else print "-" }')" \
		"$(mib "$5")" "$6" "$7"
}

# backup_step LABEL FILE REPO NEW CMD: FILE read once (into the page cache),
# then piped into the backup command CMD, timed as LABEL (run_timed; T wraps
# the tool); sets the caller's LABEL_w, LABEL_r, LABEL_c (wall s, peak RSS
# KiB, CPU s), LABEL_s (REPO's bytes after it) and LABEL_new (what `NEW
# LABEL` reads from the tool's output: the new data it stored). The caller
# declares those local: bash's scoping makes them the ones set here.
backup_step() {
	local label=$1 file=$2 repo=$3 new=$4 cmd=$5
	warm "$file"
	run_timed "$label" "cat '$file' | $(T "$label") $cmd"
	printf -v "${label}_w" %s "$WALL"
	printf -v "${label}_r" %s "$RSS_KB"
	printf -v "${label}_c" %s "$CPU"
	printf -v "${label}_s" %s "$(dusb "$repo")"
	printf -v "${label}_new" %s "$("$new" "$label")"
}

verdict() { awk -v a="$1" -v t="$2" 'BEGIN { if (a == "-" ) print "n/a"; else print (a >= t) ? "PASS" : "FAIL" }'; }

main_mode() {
	local size=${1:-1G} n base mut tr rr t
	RESTIC=${RESTIC:-restic}
	command -v "$RESTIC" >/dev/null || die "restic not found (apt-get install -y restic)"
	n=$(size_bytes "$size")
	base=$BENCH_WORK/dump.sql
	mut=$BENCH_WORK/dump-mut1.sql
	local load0; load0=$(cut -d' ' -f1-3 /proc/loadavg)
	echo "generating $size stream and a --mutate 1 variant in $BENCH_WORK ..." >&2
	"$TSARC_GEN_DUMP" "$size" >"$base"
	"$TSARC_GEN_DUMP" "$size" --mutate 1 >"$mut"
	local changed_lines
	changed_lines=$(cmp -l "$base" "$mut" 2>/dev/null | wc -l || true)

	tr=$BENCH_WORK/tsarc-repo
	rr=$BENCH_WORK/restic-repo
	T() { echo "'$TIME_BIN' -v -o '$BENCH_WORK/time.$1'"; }

	# ---- tsarc
	# shellcheck disable=SC2086 # a list of options
	"$TSARC" init --repo "$tr" -q ${TSARC_INIT_OPTS:-}
	local ts1_w ts1_r ts1_c ts1_s ts1_new ts2_w ts2_r ts2_c ts2_s ts2_new
	local tsm_w tsm_r tsm_c tsm_s tsm_new
	local TB="'$TSARC' backup --repo '$tr' --stdin --name dump.sql --json -q"
	tsnew() { jnum "$BENCH_WORK/out.$1" new_bytes; }
	backup_step ts1 "$base" "$tr" tsnew "$TB"
	backup_step ts2 "$base" "$tr" tsnew "$TB"
	run_timed tsd "$(T tsd) '$TSARC' dump --repo '$tr' latest dump.sql | cat >/dev/null"
	local tsd_w=$WALL tsd_r=$RSS_KB tsd_c=$CPU
	backup_step tsm "$mut" "$tr" tsnew "$TB"

	# ---- restic (repository v2, compression auto = its default)
	local RC="'$RESTIC' -r '$rr' --cache-dir '$BENCH_WORK/restic-cache' -q"
	bash -c "$RC init --repository-version 2" >/dev/null
	local rs1_w rs1_r rs1_c rs1_s rs1_new rs2_w rs2_r rs2_c rs2_s rs2_new
	local rsm_w rsm_r rsm_c rsm_s rsm_new
	local RB="$RC backup --stdin --stdin-filename dump.sql --json"
	rsnew() { jq -r 'select(.message_type == "summary") | .data_added' "$BENCH_WORK/out.$1"; }
	backup_step rs1 "$base" "$rr" rsnew "$RB"
	backup_step rs2 "$base" "$rr" rsnew "$RB"
	run_timed rsd "$(T rsd) $RC dump latest dump.sql | cat >/dev/null"
	local rsd_w=$WALL rsd_r=$RSS_KB rsd_c=$CPU
	backup_step rsm "$mut" "$rr" rsnew "$RB"

	# ---- gzip -6 (the seed procedure) and zstd -3 -T0
	warm "$base"
	run_timed gz "cat '$base' | $(T gz) gzip -6 > '$BENCH_WORK/dump.sql.gz'"
	local gz_w=$WALL gz_r=$RSS_KB gz_c=$CPU gz_s
	gz_s=$(stat -c %s "$BENCH_WORK/dump.sql.gz"); rm -f "$BENCH_WORK/dump.sql.gz"
	local zs_w=- zs_r=0 zs_s=0 zs_c=0
	if [ "${BENCH_ZSTD:-1}" = 1 ] && command -v zstd >/dev/null; then
		warm "$base"
		run_timed zs "cat '$base' | $(T zs) zstd -q -3 -T0 > '$BENCH_WORK/dump.sql.zst'"
		zs_w=$WALL zs_r=$RSS_KB zs_c=$CPU
		zs_s=$(stat -c %s "$BENCH_WORK/dump.sql.zst"); rm -f "$BENCH_WORK/dump.sql.zst"
	fi

	echo "## Stream benchmark: $size ($n bytes), local disk"
	echo
	echo "$("$TSARC" version 2>/dev/null | head -1)${TSARC_INIT_OPTS:+, init $TSARC_INIT_OPTS}; $("$RESTIC" version | cut -d' ' -f1-2) (repo v2, compression auto); gzip $(gzip --version | head -1 | cut -d' ' -f2); zstd $(zstd -V 2>/dev/null | grep -o 'v[0-9.]*' | head -1)"
	echo "load average at start: $load0, at end: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews wall times; CPU s is less sensitive)"
	echo "changed variant: --mutate 1 (1% of lines; $changed_lines bytes differ)"
	echo
	echo "| tool | step | wall s | MB/s | CPU s | MB per CPU s | peak RSS MiB | stored MB (repo du -sb) | new data |"
	echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
	row tsarc "first backup" "$n" "$ts1_w" "$ts1_r" "$(mb "$ts1_s")" "$(mb "$ts1_new") MB" "$ts1_c"
	row tsarc "second backup (same)" "$n" "$ts2_w" "$ts2_r" "+$(mb $((ts2_s - ts1_s)))" "$ts2_new B" "$ts2_c"
	row tsarc "dump to pipe" "$n" "$tsd_w" "$tsd_r" "" "" "$tsd_c"
	row tsarc "1%-changed backup" "$n" "$tsm_w" "$tsm_r" "+$(mb $((tsm_s - ts2_s)))" "$(mb "$tsm_new") MB ($(pct "$tsm_new" "$n")%)" "$tsm_c"
	row restic "first backup" "$n" "$rs1_w" "$rs1_r" "$(mb "$rs1_s")" "$(mb "$rs1_new") MB" "$rs1_c"
	row restic "second backup (same)" "$n" "$rs2_w" "$rs2_r" "+$(mb $((rs2_s - rs1_s)))" "$rs2_new B" "$rs2_c"
	row restic "dump to pipe" "$n" "$rsd_w" "$rsd_r" "" "" "$rsd_c"
	row restic "1%-changed backup" "$n" "$rsm_w" "$rsm_r" "+$(mb $((rsm_s - rs2_s)))" "$(mb "$rsm_new") MB ($(pct "$rsm_new" "$n")%)" "$rsm_c"
	row "gzip -6" "compress" "$n" "$gz_w" "$gz_r" "$(mb "$gz_s")" "" "$gz_c"
	[ "$zs_w" = - ] || row "zstd -3 -T0" "compress" "$n" "$zs_w" "$zs_r" "$(mb "$zs_s")" "" "$zs_c"
	echo
	echo "tsarc new data = uncompressed bytes of new chunks (new_bytes); restic new data = its summary data_added."
	echo

	local p1a p1b p2 p4 p6 cr
	p1a=$(ratio "$rs1_w" "$ts1_w"); p1b=$(ratio "$gz_w" "$ts1_w")
	p2=$(ratio "$rs2_w" "$ts2_w"); p4=$(ratio "$rsd_w" "$tsd_w")
	p6=$(awk -v a="$ts1_s" -v b="$rs1_s" 'BEGIN { printf "%.3f", a / b }'); cr=$(ratio "$n" "$ts1_s")
	echo "## Ratios against the targets (throughput ratio = inverse wall-time ratio)"
	echo
	echo "| target | measured (wall) | goal | verdict | CPU-time ratio (info) |"
	echo "| --- | ---: | ---: | --- | ---: |"
	echo "| P1 first backup vs restic | ${p1a}x | >= 2.0x | $(verdict "$p1a" 2.0) | $(ratio "$rs1_c" "$ts1_c")x |"
	echo "| P1 first backup vs gzip -6 | ${p1b}x | >= 10x | $(verdict "$p1b" 10) | $(ratio "$gz_c" "$ts1_c")x |"
	echo "| P2 second backup vs restic | ${p2}x | >= 3x | $(verdict "$p2" 3) | $(ratio "$rs2_c" "$ts2_c")x |"
	echo "| P2 new chunk bytes on second backup | $ts2_new B, repo +$((ts2_s - ts1_s)) B | 0 | $([ "$ts2_new" = 0 ] && echo PASS || echo FAIL) |"
	t=$(pct "$tsm_new" "$n")
	echo "| P3 new bytes after 1% change | $t% | <= 5% | $(awk -v a="$t" 'BEGIN { print (a <= 5) ? "PASS" : "FAIL" }') |"
	echo "| P4 dump vs restic dump | ${p4}x | >= 2x | $(verdict "$p4" 2) | $(ratio "$rsd_c" "$tsd_c")x |"
	echo "| P5 peak RSS (this $size run; see --rss) | $(mib "$ts1_r") MiB | <= 48 MiB at 2 GiB | $(awk -v k="$ts1_r" 'BEGIN { print (k <= 48 * 1024) ? "PASS (at this size)" : "FAIL" }') |"
	echo "| P6 stored size tsarc/restic | ${p6} | <= 1.00 | $(awk -v a="$p6" 'BEGIN { print (a <= 1.0) ? "PASS" : "FAIL" }') |"
	echo "| P6 compression ratio stream/stored | ${cr} | >= 3.0 | $(verdict "$cr" 3.0) |"
}

# The machine's speed drifts (the same first backup took 7.4 to 8.9 s of CPU
# within an hour on the 2-core bench machine), and the main table times each
# tool minutes apart: one run of it put P1 at 1.81x and the next rounds
# here at 1.92-2.27x. Alternating the tools round by round and taking the
# median of each round's ratio compares them under the same conditions.
# median NUMBERS...: the middle one (the mean of the two middle ones).
median() {
	printf '%s\n' "$@" | sort -g |
		awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

pairs_mode() {
	local rounds=${1:-}
	local size=${2:-1G} n base i tr rr RC
	local -a p1 p2
	[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || usage
	RESTIC=${RESTIC:-restic}
	command -v "$RESTIC" >/dev/null || die "restic not found (apt-get install -y restic)"
	n=$(size_bytes "$size")
	base=$BENCH_WORK/dump.sql
	echo "generating $size stream in $BENCH_WORK ..." >&2
	"$TSARC_GEN_DUMP" "$size" >"$base"
	T() { echo "'$TIME_BIN' -v -o '$BENCH_WORK/time.$1'"; }
	echo "## P1 and P2 in $rounds alternating rounds ($size, $(date -u '+%Y-%m-%d %H:%M UTC'), load before: $(cut -d' ' -f1-3 /proc/loadavg))"
	echo
	echo "| round | tsarc first s (CPU) | restic first s (CPU) | P1 | tsarc second s | restic second s | P2 |"
	echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
	for i in $(seq 1 "$rounds"); do
		tr=$BENCH_WORK/tsarc-repo rr=$BENCH_WORK/restic-repo
		rm -rf "$tr" "$rr" "$BENCH_WORK/restic-cache"
		# shellcheck disable=SC2086 # a list of options
		"$TSARC" init --repo "$tr" -q ${TSARC_INIT_OPTS:-}
		RC="'$RESTIC' -r '$rr' --cache-dir '$BENCH_WORK/restic-cache' -q"
		bash -c "$RC init --repository-version 2" >/dev/null
		local t1w t1c r1w r1c t2w r2w
		warm "$base"
		run_timed pt1 "cat '$base' | $(T pt1) '$TSARC' backup --repo '$tr' --stdin --name dump.sql -q"
		t1w=$WALL t1c=$CPU
		run_timed pr1 "cat '$base' | $(T pr1) $RC backup --stdin --stdin-filename dump.sql"
		r1w=$WALL r1c=$CPU
		run_timed pt2 "cat '$base' | $(T pt2) '$TSARC' backup --repo '$tr' --stdin --name dump.sql -q"
		t2w=$WALL
		run_timed pr2 "cat '$base' | $(T pr2) $RC backup --stdin --stdin-filename dump.sql"
		r2w=$WALL
		p1+=("$(ratio "$r1w" "$t1w")") p2+=("$(ratio "$r2w" "$t2w")")
		echo "| $i | $t1w ($t1c) | $r1w ($r1c) | ${p1[-1]}x | $t2w | $r2w | ${p2[-1]}x |"
	done
	local m1 m2
	m1=$(median "${p1[@]}")
	m2=$(median "${p2[@]}")
	echo
	echo "P1 first backup vs restic, median of $rounds rounds: ${m1}x (goal >= 2.0x): $(verdict "$m1" 2.0)"
	echo "P2 second backup vs restic, median of $rounds rounds: ${m2}x (goal >= 3x): $(verdict "$m2" 3)"
}

bench_setup
case "${1:-}" in
-h|--help) usage;;
--rss) shift; rss_mode "$@";;
--pairs) shift; pairs_mode "$@";;
*) main_mode "$@";;
esac
