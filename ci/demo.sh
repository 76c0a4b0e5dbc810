#!/usr/bin/env bash
# The main job, end to end, on an embedded default: builds tsarc, creates a
# local repository, backs up a generated mysqldump-shaped stream, lists and
# shows the snapshot, backs the same stream up again (deduplicated), dumps it
# back and proves it byte-identical, and verifies every stored chunk.
#
#   bash ci/demo.sh            # everything in a temp folder, removed at the end
#   DEMO_DIR=/some/dir DEMO_SIZE=1G bash ci/demo.sh   # keep the repository
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

bash ci/deps.sh
bash ci/build.sh build/release >/dev/null
tsarc=$top/build/release/tsarc
gen=$top/build/release/tests/tsarc-gen-dump

size=${DEMO_SIZE:-256M}
if [ -n "${DEMO_DIR:-}" ]; then
	dir=$DEMO_DIR
	mkdir -p "$dir"
else
	dir=$(mktemp -d "${TMPDIR:-/tmp}/tsarc-demo.XXXXXX")
	trap 'rm -rf "$dir"' EXIT
fi

# The password goes through a file, never on a command line.
umask 077
head -c 24 /dev/urandom | base64 > "$dir/password"
export TSARC_PASSWORD_FILE=$dir/password
export TSARC_REPOSITORY=$dir/repo

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "generate a $size mysqldump-shaped stream (system-mysql.sql)"
"$gen" "$size" --seed 2026 > "$dir/system-mysql.sql"
ls -l "$dir/system-mysql.sql"

step "tsarc init"
rm -rf "$dir/repo"
"$tsarc" init

step "tsarc backup --stdin (first: everything is new)"
"$tsarc" backup --stdin --name system-mysql.sql --kind mysql --tag demo < "$dir/system-mysql.sql"

step "tsarc backup --stdin (again: nothing new is stored)"
"$tsarc" backup --stdin --name system-mysql.sql --kind mysql --tag demo < "$dir/system-mysql.sql"

step "tsarc snapshots"
"$tsarc" snapshots

step "tsarc show latest"
"$tsarc" show latest

step "tsarc dump latest system-mysql.sql  (restored and compared)"
"$tsarc" dump latest system-mysql.sql > "$dir/restored.sql"
cmp "$dir/system-mysql.sql" "$dir/restored.sql"
echo "restored stream is byte-identical to the original ($(stat -c %s "$dir/restored.sql") bytes)"

step "tsarc check --read-data"
"$tsarc" check --read-data

step "repository on disk"
du -sh "$dir/repo"
echo "demo finished: OK"
