#!/usr/bin/env bash
# A 3scale-like deployment on loopback, for the demo, the tests and the
# benchmark: MariaDB with a `system` database shaped like 3scale's,
# PostgreSQL with zync_production, backend-redis (password protected) and
# system-redis, a system-storage tree, and a resources directory with the
# Secrets, ConfigMaps and APIManager as kubectl prints them.
#
#   ci/demo/deployment.sh up DIR [SCALE]   # start, fill, write DIR/config.json and DIR/env
#                                          # (DEPLOY_DB_FACTOR=N: N times the bulky system tables)
#   ci/demo/deployment.sh down DIR         # stop the servers started in DIR (by PID)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
services=$here/../services.sh

cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 up|down DIR [SCALE]" >&2; exit 2; }

case $cmd in
down)
	bash "$services" stop "$dir/services"
	exit 0
	;;
up) ;;
*) echo "$0: unknown command '$cmd'" >&2; exit 2 ;;
esac

scale=${3:-1}
mkdir -p "$dir"
svc=$dir/services
rm -f "$svc/env"
# The four servers start concurrently: each takes seconds on a busy machine.
bash "$services" start-mysql "$svc/m" &
m=$!
bash "$services" start-postgres "$svc/p" &
p=$!
bash "$services" start-redis "$svc/r1" backend-redis "$(head -c 12 /dev/urandom | base64 | tr -d '/+=')" &
r1=$!
bash "$services" start-redis "$svc/r2" system-redis &
r2=$!
status=0
for pid in $m $p $r1 $r2; do wait "$pid" || status=1; done
mkdir -p "$svc"
# One env file and one stop for all of them.
cat "$svc"/m/env "$svc"/p/env "$svc"/r1/env "$svc"/r2/env > "$svc/env" 2>/dev/null || true
for d in m p r1 r2; do
	for f in "$svc/$d"/*/server.pid; do
		[ -f "$f" ] || continue
		sub=$(basename "$(dirname "$f")")
		mkdir -p "$svc/$sub"
		[ "$svc/$d/$sub" = "$svc/$sub" ] || { rm -rf "$svc/$sub"; ln -s "$svc/$d/$sub" "$svc/$sub"; }
	done
done
[ $status -eq 0 ] || { bash "$services" stop "$svc"; exit 1; }
chmod 600 "$svc/env"
# shellcheck disable=SC1091
. "$svc/env"
ZYNC_DB_PASSWORD=$(head -c 12 /dev/urandom | base64 | tr -d '/+=')
export MYSQL_ROOT_PASSWORD MYSQL_PORT PG_PORT REDIS_BACKEND_REDIS_PORT REDIS_BACKEND_REDIS_PASSWORD \
	REDIS_SYSTEM_REDIS_PORT ZYNC_DB_PASSWORD REDIS_BACKEND_REDIS_DIR REDIS_SYSTEM_REDIS_DIR
printf 'ZYNC_DB_PASSWORD=%s\n' "$ZYNC_DB_PASSWORD" >> "$svc/env"

python3 "$here/make_deployment.py" "$dir" --scale "$scale" --db-factor "${DEPLOY_DB_FACTOR:-1}"

# system (MariaDB): schema, then rows. Passwords through the environment of
# these loader commands only (the test's own servers).
MYSQL_PWD=$MYSQL_ROOT_PASSWORD mariadb --no-defaults -uroot -h127.0.0.1 -P"$MYSQL_PORT" \
	-e "CREATE DATABASE system DEFAULT CHARACTER SET utf8mb3 COLLATE utf8mb3_bin"
MYSQL_PWD=$MYSQL_ROOT_PASSWORD mariadb --no-defaults -uroot -h127.0.0.1 -P"$MYSQL_PORT" system \
	< "$here/system-schema.sql"
MYSQL_PWD=$MYSQL_ROOT_PASSWORD mariadb --no-defaults -uroot -h127.0.0.1 -P"$MYSQL_PORT" system \
	< "$dir/system-data.sql"

# zync (PostgreSQL): its own role and database, password authentication.
PGPASSWORD=$PG_PASSWORD psql -qX -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres \
	>/dev/null <<SQL
CREATE ROLE zync LOGIN PASSWORD '$ZYNC_DB_PASSWORD';
CREATE DATABASE zync_production OWNER zync;
SQL
PGPASSWORD=$ZYNC_DB_PASSWORD psql -qX -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U zync \
	-d zync_production -f "$dir/zync.sql" >/dev/null

# Redis: protocol streams through redis-cli --pipe.
REDISCLI_AUTH=$REDIS_BACKEND_REDIS_PASSWORD redis-cli -p "$REDIS_BACKEND_REDIS_PORT" --pipe \
	< "$dir/backend-redis.resp" >/dev/null
redis-cli -p "$REDIS_SYSTEM_REDIS_PORT" --pipe < "$dir/system-redis.resp" >/dev/null
rm -f "$dir/backend-redis.resp" "$dir/system-redis.resp" "$dir/system-data.sql" "$dir/zync.sql"
ln -sf services/env "$dir/env"
