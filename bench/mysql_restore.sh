#!/usr/bin/env bash
# MySQL restore: what the whole read of the stream before mysql starts
# costs (a MySQL load applies as it reads, so tsarc reads and checks the
# whole dump first: docs/promises.md, section 6). On one MariaDB server on
# loopback, a database of ROWS rows (~250 bytes each, with an index), then:
#   - mysqldump to a file and `mariadb < file` (the tools alone);
#   - tsarc backup of the database into a local repository;
#   - tsarc dump of its stream to /dev/null (the first pass alone: read,
#     verify, decompress, decrypt; the guard is not in it);
#   - tsarc restore of it (first pass, then the load through the guard and
#     the DEFINER filter, clean first).
# Prints a Markdown table and the first pass's share of the restore.
#
#   bench/mysql_restore.sh [ROWS]     (default 400000; a release build in build/release)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
rows=${1:-400000}
tsarc=${TSARC:-$top/build/release/tsarc}
[ -x "$tsarc" ] || { echo "build first: bash ci/build.sh build/release" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/tsarc-bench-mysql.XXXXXX")
trap 'bash "$top/ci/services.sh" stop "$work/m" >/dev/null 2>&1; rm -rf "$work"' EXIT
bash "$top/ci/services.sh" start-mysql "$work/m" >/dev/null
# shellcheck disable=SC1091
. "$work/m/env"
export TSARC_PASSWORD=bench-password
q() { MYSQL_PWD=$MYSQL_ROOT_PASSWORD mariadb --no-defaults -uroot -S "$MYSQL_SOCKET" "$@"; }
now() { date +%s.%N; }
secs() { python3 -c "print(f'{$2 - $1:.2f}')"; }

echo "loading $rows rows..." >&2
q -e "CREATE DATABASE system; CREATE TABLE system.t (id INT PRIMARY KEY, a VARCHAR(64),
	b TEXT, c INT, KEY (c))"
python3 - "$rows" <<'PY' | q system
import random, sys
n = int(sys.argv[1]); r = random.Random(1); out = sys.stdout
for start in range(0, n, 1000):
    vals = ",".join("(%d,'account-%d-%s','%s',%d)" % (i, i, "x" * (i % 20),
        "".join(r.choice("abcdefghij ") for _ in range(160)), r.randrange(1000))
        for i in range(start, min(n, start + 1000)))
    out.write("INSERT INTO t VALUES %s;\n" % vals)
PY

mkdir -p "$work/res/secret"
python3 - "$work" "$MYSQL_PORT" "$MYSQL_ROOT_PASSWORD" <<'PY'
import base64, json, os, sys
work, port, pw = sys.argv[1:4]
url = "mysql2://root:%s@127.0.0.1:%s/system" % (pw, port)
doc = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "system-database"},
       "data": {"URL": base64.b64encode(url.encode()).decode()}}
fd = os.open(work + "/res/secret/system-database.json", os.O_WRONLY | os.O_CREAT, 0o600)
os.write(fd, json.dumps(doc).encode())
os.close(fd)
names = ["secrets", "configmaps", "apimanager", "system-mysql", "system-postgresql",
         "system-storage", "zync-database", "backend-redis", "system-redis"]
c = {"profile": "3scale", "transport": {"type": "local", "resources_dir": work + "/res"},
     "components": {n: {"enabled": False} for n in names}, "post_restore": []}
c["components"]["system-mysql"] = {"enabled": True, "external": True}
json.dump(c, open(work + "/config.json", "w"))
PY

t0=$(now)
MYSQL_PWD=$MYSQL_ROOT_PASSWORD mysqldump --no-defaults -uroot -S "$MYSQL_SOCKET" \
	--single-transaction --quick system >"$work/dump.sql"
t1=$(now)
q system <"$work/dump.sql"
t2=$(now)
dump_s=$(secs "$t0" "$t1")
load_s=$(secs "$t1" "$t2")
bytes=$(stat -c %s "$work/dump.sql")
rm -f "$work/dump.sql"

"$tsarc" init --repo "$work/repo" >/dev/null 2>&1
t0=$(now)
snap=$("$tsarc" backup --repo "$work/repo" --config "$work/config.json" --json |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["snapshot_id"])')
t1=$(now)
"$tsarc" dump --repo "$work/repo" "$snap" system-mysql.sql >/dev/null
t2=$(now)
"$tsarc" restore "$snap" --repo "$work/repo" --config "$work/config.json" >/dev/null 2>&1
t3=$(now)
backup_s=$(secs "$t0" "$t1")
pass_s=$(secs "$t1" "$t2")
restore_s=$(secs "$t2" "$t3")

mb=$(python3 -c "print(f'{$bytes / 1e6:.1f}')")
echo "| what | seconds |"
echo "| --- | ---: |"
echo "| mysqldump of the database ($mb MB) | $dump_s |"
echo "| mariadb < dump (the load alone) | $load_s |"
echo "| tsarc backup | $backup_s |"
echo "| tsarc dump to /dev/null (the first pass alone) | $pass_s |"
echo "| tsarc restore (first pass, clean, load) | $restore_s |"
python3 -c "print(f'first pass: {100 * $pass_s / $restore_s:.1f}% of the restore; restore / load alone: {$restore_s / $load_s:.2f}x')"
