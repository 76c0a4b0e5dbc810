#!/usr/bin/env bash
# The test command: installs dependencies, builds tsarc twice (optimised with
# -Werror, and with AddressSanitizer + UndefinedBehaviorSanitizer), starts a
# real S3 (Ceph RADOS Gateway) on loopback, and runs every test with ctest
# in both builds, the two builds' suites at the same time (the container
# image and the .deb are built and tested in the optimised one).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

bash ci/deps.sh --with-s3 --with-image

bash ci/build.sh build/release
bash ci/build.sh build/asan -DTSARC_SANITIZE=ON

work=$(mktemp -d "${TMPDIR:-/tmp}/tsarc-ci.XXXXXX")
cleanup() {
	sh ci/rgw.sh stop "$work/rgw" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

# python3 may be a version manager's shim, a shell script run before the
# interpreter at every call: the tests call python3 many hundreds of times (the
# kubectl double, the S3 and Redis tools), each call then costing a few
# shells more (14 s against 2 s a call on a loaded machine). The
# interpreter the shim chooses goes first in PATH, as python3 only.
mkdir "$work/bin"
ln -s "$(python3 -c 'import sys; print(sys.executable)')" "$work/bin/python3"
export PATH="$work/bin:$PATH"

sh ci/rgw.sh start "$work/rgw"
# shellcheck disable=SC1091
. "$work/rgw/env"
export TSARC_TEST_REQUIRE_S3=1 TSARC_TEST_REQUIRE_SERVICES=1
export ASAN_OPTIONS=abort_on_error=1:detect_leaks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# The index caches of the tests' repositories (one folder per repository
# id) go with the run, not into the user's ~/.cache.
export XDG_CACHE_HOME="$work/cache"

# Both builds' suites run at once, each with several tests in parallel:
# most end-to-end tests wait on servers (MariaDB, PostgreSQL, Redis, RGW)
# rather than compute, and every test has its own temporary directory,
# ports reserved through ci/services.sh and its own S3 bucket, so they
# do not collide. TSARC_CTEST_JOBS sets the tests per build; the long
# tests carry a COST (tests/CMakeLists.txt) so that ctest starts them first.
jobs=${TSARC_CTEST_JOBS:-3}
pids=()
for build in release asan; do
	(cd "build/$build" && ctest -j"$jobs" --output-on-failure --timeout 900) \
		>"$work/ctest-$build.log" 2>&1 &
	pids+=($!)
done
status=0
i=0
for build in release asan; do
	wait "${pids[$i]}" || status=1
	echo "=== ctest ($build) ==="
	cat "$work/ctest-$build.log"
	i=$((i + 1))
done
exit $status
