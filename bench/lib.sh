# Shared helpers for the bench/ scripts (sourced, not run).
#
# Environment:
#   BENCH_DIR      scratch directory (default /tmp/tsarc-bench); removed at exit
#   TSARC          tsarc binary (default: $BUILD_DIR/tsarc, else tsarc on PATH)
#   TSARC_GEN_DUMP generator binary (default: $BUILD_DIR/tsarc-gen-dump, else
#                  compiled from tests/tools/gen_dump.c into BENCH_DIR)
#   BUILD_DIR      build directory to look in (default: <repo>/build/release, as ci/build.sh makes it)
#   BENCH_KEEP=1   keep BENCH_DIR at exit
#   TSARC_INIT_OPTS options for tsarc init in stream.sh and s3.sh (e.g. "--format 2")

BENCH_SRC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_DIR=${BENCH_DIR:-/tmp/tsarc-bench}
BUILD_DIR=${BUILD_DIR:-$BENCH_SRC_DIR/build/release}
TIME_BIN=${TIME_BIN:-/usr/bin/time}

die() { echo "bench: $*" >&2; exit 1; }

bench_setup() {
	[ -x "$TIME_BIN" ] || die "$TIME_BIN (GNU time) is needed: apt-get install -y time"
	if [ -z "${TSARC:-}" ]; then
		if [ -x "$BUILD_DIR/tsarc" ]; then TSARC=$BUILD_DIR/tsarc
		elif command -v tsarc >/dev/null; then TSARC=$(command -v tsarc)
		else die "no tsarc binary: build it (Release) and set TSARC or BUILD_DIR"; fi
	fi
	[ -x "$TSARC" ] || die "TSARC=$TSARC is not executable"
	case "$BENCH_DIR" in /|"") die "refusing BENCH_DIR=$BENCH_DIR";; esac
	mkdir -p "$BENCH_DIR"
	BENCH_WORK=$(mktemp -d "$BENCH_DIR/run.XXXXXX")
	if [ "${BENCH_KEEP:-0}" != 1 ]; then
		trap 'rm -rf "$BENCH_WORK"; rmdir "$BENCH_DIR" 2>/dev/null || true' EXIT
	fi
	trap 'exit 130' INT TERM
	if [ -z "${TSARC_GEN_DUMP:-}" ]; then
		if [ -x "$BUILD_DIR/tsarc-gen-dump" ]; then TSARC_GEN_DUMP=$BUILD_DIR/tsarc-gen-dump
		else
			TSARC_GEN_DUMP=$BENCH_WORK/tsarc-gen-dump
			${CC:-cc} -O2 -o "$TSARC_GEN_DUMP" "$BENCH_SRC_DIR/tests/tools/gen_dump.c" ||
				die "cannot build the generator"
		fi
	fi
	export TSARC_PASSWORD=bench-password RESTIC_PASSWORD=bench-password
	unset TSARC_PASSWORD_FILE TSARC_REPOSITORY RESTIC_REPOSITORY RESTIC_PASSWORD_FILE
}

# size_bytes 1G -> 1073741824 (K/M/G are powers of 1024, as in the generator)
size_bytes() {
	local s=$1 n m=1
	case "$s" in
	*[kK]) m=1024; n=${s%?};;
	*[mM]) m=$((1024 * 1024)); n=${s%?};;
	*[gG]) m=$((1024 * 1024 * 1024)); n=${s%?};;
	*) n=$s;;
	esac
	echo $((n * m))
}

now() { date +%s.%N; }

# run_timed LABEL CMD: runs the shell command CMD (a pipeline in which the
# measured tool is wrapped as "$TIME_BIN -v -o $TIMEF ..."), sets WALL
# (seconds, whole pipeline), RSS_KB (peak RSS of the wrapped tool) and CPU
# (user + system seconds of the wrapped tool, all its threads).
run_timed() {
	local label=$1 cmd=$2 t0 t1
	TIMEF=$BENCH_WORK/time.$label
	# What earlier steps wrote (the generated streams, a repository) is
	# flushed first, not by the kernel during this step: the first step
	# timed after generating 2 GiB was up to 1.5x slower than alone.
	sync
	t0=$(now)
	if ! bash -o pipefail -c "$cmd" >"$BENCH_WORK/out.$label" 2>"$BENCH_WORK/err.$label"; then
		cat "$BENCH_WORK/err.$label" >&2
		die "$label failed: $cmd"
	fi
	t1=$(now)
	WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
	RSS_KB=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$TIMEF")
	CPU=$(awk -F': ' '/User time|System time/ { s += $2 } END { printf "%.2f", s }' "$TIMEF")
}

mbps() { awk -v b="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.0f", b / 1e6 / s; else print "-" }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1e6 }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", 100 * a / b; else print "-" }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
dusb() { du -sb "$1" | awk '{ print $1 }'; }
jnum() { jq -r ".$2" "$1"; }
warm() { cat "$1" >/dev/null; }
