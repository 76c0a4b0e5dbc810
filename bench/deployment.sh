#!/usr/bin/env bash
# Whole-deployment backup against its producers run alone (target P8: the
# components overlap, so a whole backup costs about the slowest component,
# not the sum of all).
#
# Generates a 3scale-like deployment on loopback (ci/demo/deployment.sh;
# about 1.1 GiB in all at the default scale), then measures, each in a fresh
# repository so that nothing is deduplicated away:
#   - every producer alone, to /dev/null (the floor: the tools themselves);
#   - tsarc backing up each component alone (--config with one component);
#   - tsarc backing up the whole deployment at once (parallel 4).
# Prints the figures, the sum and the max of the single-component backups,
# and the ratio whole / max. Not part of ctest.
#
#   bash bench/deployment.sh            # BENCH_SCALE=20 BENCH_DB_FACTOR=6 by default
#   TSARC=/path/to/tsarc bash bench/deployment.sh
set -euo pipefail
calc() { awk "BEGIN { print $1 }"; }
top=$(cd "$(dirname "$0")/.." && pwd)
scale=${BENCH_SCALE:-20}
dbf=${BENCH_DB_FACTOR:-6}
tsarc=${TSARC:-$top/build/release/tsarc}
[ -x "$tsarc" ] || { bash "$top/ci/build.sh" "$top/build/release" >/dev/null; tsarc=$top/build/release/tsarc; }

work=$(mktemp -d "${TMPDIR:-/tmp}/tsarc-bench-deploy.XXXXXX")
trap 'bash "$top/ci/demo/deployment.sh" down "$work/dep" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
export TSARC_PASSWORD=bench-password

echo "generating the deployment (scale $scale, db factor $dbf)..." >&2
t0=$(date +%s.%N)
DEPLOY_DB_FACTOR=$dbf bash "$top/ci/demo/deployment.sh" up "$work/dep" "$scale" >/dev/null
printf 'generated in %.0f s\n' "$(calc "$(date +%s.%N) - $t0")" >&2
# shellcheck disable=SC1091
. "$work/dep/env"
dep=$work/dep

secs() { # CMD...: wall seconds of CMD, its stdout discarded
	local s e
	s=$(date +%s.%N)
	"$@" >/dev/null
	e=$(date +%s.%N)
	calc "$e - $s"
}

# The producers alone, as tsarc runs them (same options).
prod_mysql() { MYSQL_PWD=$MYSQL_ROOT_PASSWORD mysqldump -uroot -h127.0.0.1 -P"$MYSQL_PORT" --single-transaction \
	--routines --triggers --events --hex-blob --quick --set-charset --default-character-set=utf8mb4 system; }
prod_zync() { PGPASSWORD=$ZYNC_DB_PASSWORD pg_dump --clean --if-exists -w -U zync -h 127.0.0.1 -p "$PG_PORT" -d zync_production; }
prod_backend() { REDISCLI_AUTH=$REDIS_BACKEND_REDIS_PASSWORD redis-cli -p "$REDIS_BACKEND_REDIS_PORT" --rdb - 2>/dev/null; }
prod_system() { redis-cli -p "$REDIS_SYSTEM_REDIS_PORT" --rdb - 2>/dev/null; }
# Through cat: GNU tar writing to /dev/null itself skips reading the files.
prod_storage() { tar cf - -C "$dep/system-storage" . | cat; }
sizeof() { "$@" | wc -c; }

comps=(system-mysql zync-database backend-redis system-redis system-storage secrets configmaps apimanager)
declare -A prod=([system-mysql]=prod_mysql [zync-database]=prod_zync [backend-redis]=prod_backend
	[system-redis]=prod_system [system-storage]=prod_storage)

one_config() { # COMPONENT FILE
	python3 - "$dep/config.json" "$2" "$1" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
keep = sys.argv[3]
for name in ["secrets", "configmaps", "apimanager", "system-mysql", "system-postgresql",
             "system-storage", "zync-database", "backend-redis", "system-redis"]:
    c["components"].setdefault(name, {})["enabled"] = (name == keep)
json.dump(c, open(sys.argv[2], "w"))
PY
}

backup_secs() { # CONFIG: the best of two runs, each into a fresh repository
	local best=0 t i
	for i in 1 2; do
		rm -rf "$work/repo"
		"$tsarc" init --repo "$work/repo" -q >/dev/null
		sync
		t=$(secs "$tsarc" backup --repo "$work/repo" --config "$1" -q)
		best=$(calc "($i == 1 || $t < $best) ? $t : $best")
	done
	echo "$best"
}

printf '\n%-16s %12s %14s %14s\n' component bytes "tool alone s" "tsarc alone s"
total_bytes=0 sum=0 max=0
for c in "${comps[@]}"; do
	bytes=- talone=-
	if [ -n "${prod[$c]:-}" ]; then
		bytes=$(sizeof "${prod[$c]}")
		total_bytes=$((total_bytes + bytes))
		talone=$(secs "${prod[$c]}")
	fi
	one_config "$c" "$work/one.json"
	t=$(backup_secs "$work/one.json")
	sum=$(calc "$sum + $t")
	max=$(calc "($t > $max) ? $t : $max")
	printf '%-16s %12s %14.2f %14.2f\n' "$c" "$bytes" "${talone/-/0}" "$t"
done
whole=$(backup_secs "$dep/config.json")
printf '\nwhole deployment: %d bytes (%.2f GiB) backed up in %.2f s (%.0f MiB/s)\n' "$total_bytes" \
	"$(calc "$total_bytes / 1073741824")" "$whole" "$(calc "$total_bytes / 1048576 / $whole")"
printf 'single components: sum %.2f s, max %.2f s\n' "$sum" "$max"
printf 'whole / sum = %.2f, whole / max = %.2f\n' "$(calc "$whole / $sum")" "$(calc "$whole / $max")"
