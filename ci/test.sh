#!/usr/bin/env bash
# The test command: installs dependencies, builds tsarc twice (optimised with
# -Werror, and with AddressSanitizer + UndefinedBehaviorSanitizer), starts a
# real S3 (Ceph RADOS Gateway) on loopback, and runs every test with ctest
# in both builds, the two builds' suites at the same time (the container
# image and the .deb are built and tested in the optimised one).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

bash ci/deps.sh --with-s3 --with-image --with-valkey

# Servers newer than Debian 12's, each in a root filesystem of a newer
# Debian suite (ci/debian-root.sh), made while tsarc builds: MySQL (only
# MariaDB is in Debian 12; MySQL is in sid), Valkey 9 and PostgreSQL 18
# (sid; 18 is the newest today's managed PostgreSQL offers, 96 MB more in
# the root), and PostgreSQL 17 and Redis 8 (trixie, the image's suite),
# what 3scale's system database and today's managed databases run, with
# the image's MariaDB 11.8 clients (trixie's mariadb-client: 8 packages,
# 78 MB more in the root, made in 143 s against 139 s without) and Valkey
# 8.1 (trixie's valkey-server beside its redis-server: the current minor
# of a new managed cache's engine, 7 MB more); and Redis 6.0 (Debian 11,
# bullseye: a managed Redis 6's version, and 3scale's in-pod Redis before
# 2.16), a root of 73 MB. The tests run them with tests/tools/in_root.sh;
# TSARC_TEST_MYSQL_ROOT, TSARC_TEST_VALKEY9_ROOT and TSARC_TEST_PG18_ROOT
# (the same sid root), TSARC_TEST_PG17_ROOT, TSARC_TEST_REDIS8_ROOT,
# TSARC_TEST_MARIADB118_ROOT and TSARC_TEST_VALKEY81_ROOT (the same trixie
# root) and TSARC_TEST_REDIS6_ROOT name the roots.
work=$(mktemp -d "${TMPDIR:-/tmp}/tsarc-ci.XXXXXX")
rgw_pid=
cleanup() {
	# A start still under way is let finish, so that stop finds its daemons.
	[ -z "$rgw_pid" ] || wait "$rgw_pid" >/dev/null 2>&1 || true
	sh ci/rgw.sh stop "$work/rgw" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

# The test S3 (a Ceph RADOS Gateway, ci/rgw.sh) starts while tsarc builds:
# its start is mostly waiting on its daemons (23 s, 3 s of it CPU, on the
# loaded 2-core machine), which then idle until the tests.
sh ci/rgw.sh start "$work/rgw" >"$work/rgw.log" 2>&1 &
rgw_pid=$!

mkdir -p build/roots
root_pids=()
bash ci/debian-root.sh sid build/roots/mysql mysql-server-core mysql-client-core valkey-server \
	postgresql-18 postgresql-client-18 >build/roots/mysql.log 2>&1 &
root_pids+=($!)
bash ci/debian-root.sh trixie build/roots/postgresql-17 postgresql-17 postgresql-client-17 redis-server \
	mariadb-client valkey-server >build/roots/postgresql-17.log 2>&1 &
root_pids+=($!)
bash ci/debian-root.sh bullseye build/roots/redis-6 redis-server >build/roots/redis-6.log 2>&1 &
root_pids+=($!)

bash ci/build.sh build/release
bash ci/build.sh build/asan -DTSARC_SANITIZE=ON

for i in 0 1 2; do
	wait "${root_pids[$i]}" || {
		cat build/roots/mysql.log build/roots/postgresql-17.log build/roots/redis-6.log >&2
		echo "ci/test.sh: a test root filesystem could not be made (ci/debian-root.sh)" >&2
		exit 1
	}
done
export TSARC_TEST_MYSQL_ROOT=$top/build/roots/mysql
export TSARC_TEST_VALKEY9_ROOT=$top/build/roots/mysql
export TSARC_TEST_PG18_ROOT=$top/build/roots/mysql
export TSARC_TEST_PG17_ROOT=$top/build/roots/postgresql-17
export TSARC_TEST_REDIS8_ROOT=$top/build/roots/postgresql-17
export TSARC_TEST_MARIADB118_ROOT=$top/build/roots/postgresql-17
export TSARC_TEST_VALKEY81_ROOT=$top/build/roots/postgresql-17
export TSARC_TEST_REDIS6_ROOT=$top/build/roots/redis-6

# The tests' python3 is Debian's, the one ci/deps.sh installs with the
# modules the tests import (python3-botocore, -yaml, -prometheus-client).
# A version manager's python3 found first in PATH is a shim, a shell script
# run before the interpreter at every call (14 s against 2 s a call on a
# loaded machine), and its interpreter's site start-up may import more
# (here 65 ms a start against Debian's 7 ms): the tests start python3
# thousands of times (the kubectl double, the S3 and Redis tools, port
# reservations), 17% of a run's CPU. Debian's goes first in PATH, as
# python3 only; without it, the interpreter the shim chooses.
mkdir "$work/bin"
py=/usr/bin/python3
[ -x "$py" ] || py=$(python3 -c 'import sys; print(sys.executable)')
ln -s "$py" "$work/bin/python3"
export PATH="$work/bin:$PATH"

rgw_status=0
wait "$rgw_pid" || rgw_status=$?
rgw_pid=
cat "$work/rgw.log"
[ "$rgw_status" = 0 ] || { echo "ci/test.sh: the test S3 did not start (ci/rgw.sh)" >&2; exit 1; }
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
# do not collide. The long tests carry a COST (tests/CMakeLists.txt) so
# that ctest starts them first. The tests labelled ci_sanitized_only
# (tests/CMakeLists.txt) run in the sanitized suite only (those labelled
# ci_optimised_only in the optimised one only), which so holds
# the most test-seconds: it runs 4 tests at a time and the optimised one
# 2. The optimised suite ends some minutes first (923 s against 1260 s in
# the run of 2026-12-04), and the sanitized suite's last tests run alone.
# TSARC_CTEST_JOBS=N runs N at a time in each.
pids=()
for build in release asan; do
	only=(-LE ci_optimised_only)
	jobs=4
	[ "$build" = release ] && only=(-LE ci_sanitized_only) && jobs=2
	jobs=${TSARC_CTEST_JOBS:-$jobs}
	(cd "build/$build" && ctest -j"$jobs" "${only[@]}" --output-on-failure --timeout 900) \
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
