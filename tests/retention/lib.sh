# Helpers shared by the retention tests (tests/retention/*.sh); sourced
# after `set -euo pipefail`, not run. `. lib.sh NAME` gives the test a work
# directory $work (removed on exit, with every job whose pid the test added
# to pids) holding the repository $work/repo, with a password of its own.
: "${TSARC:?TSARC must name the tsarc binary}" "${TSARC_GEN_DUMP:?}"
. "${BASH_SOURCE[0]%/*}/../../ci/sleep_builtin.sh" # sourced by path: no fork for dirname
work=$(mktemp -d "${TMPDIR:-/tmp}/tsarc-$1.XXXXXX")
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT
export TSARC_REPOSITORY=$work/repo TSARC_PASSWORD=$1-test-pw
fail() { echo "FAIL: $*" >&2; exit 1; }
t() { "$TSARC" "$@"; }
nlocks() { find "$work/repo/locks" -type f ! -name '.*' 2>/dev/null | wc -l; }
# Waits until at least N lock objects exist (a job has taken its lock): for
# a state, never a fixed sleep, which a busy machine may outlast.
wait_locks() {
	local i
	for ((i = 0; i < 600; i++)); do
		[ "$(nlocks)" -ge "$1" ] && return 0
		sleep 0.1
	done
	fail "no lock appeared in 60 s"
}
