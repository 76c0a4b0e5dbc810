#!/usr/bin/env bash
# A 3scale-like deployment on loopback, for the demo, the tests and the
# benchmark: MariaDB with a `system` database shaped like 3scale's,
# PostgreSQL with zync_production, backend-redis (password protected) and
# system-redis, a system-storage tree, and a resources directory with the
# Secrets, ConfigMaps and APIManager as kubectl prints them.
#
# Two layouts. 2.15: the databases as the pods had them (root, no TLS, a
# Redis tsarc may restart: the config says "external" and names redis.conf).
# 2.16: what the 3scale 2.16 operator leaves (its internal databases are
# gone): the system database on a managed-like MariaDB (TCP over TLS only,
# private CA, an admin without SUPER who logs in with a client certificate),
# backend-redis over TLS only with a private CA and system-redis behind a
# redis-sentinel, both with an ACL user that may not SYNC, CONFIG, DEBUG or
# BGSAVE; the Secrets as the 2.16 operator writes them (DB_SSL_*,
# REDIS_STORAGE_USERNAME, REDIS_SSL_*, SENTINEL_HOSTS, PEM contents), the
# APIManager's externalComponents saying which are external; the config says
# nothing of that.
#
#   ci/demo/deployment.sh up DIR [SCALE [LAYOUT]]  # start, fill, write DIR/config.json,
#                                          # DIR/env and DIR/clients.sh (LAYOUT 2.15, the
#                                          # default, or 2.16; DEPLOY_DB_FACTOR=N: N times
#                                          # the bulky system tables)
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
layout=${4:-2.15}
case $layout in 2.15|2.16) ;; *) echo "$0: unknown layout '$layout' (2.15, 2.16)" >&2; exit 2 ;; esac
mkdir -p "$dir"
svc=$dir/services
rm -f "$svc/env"
group=system-redis-group # the 2.16 system-redis's Sentinel master group
# The servers start concurrently: each takes seconds on a busy machine.
pids=()
if [ "$layout" = 2.15 ]; then
	bash "$services" start-mysql "$svc/m" & pids+=($!)
	bash "$services" start-redis "$svc/r1" backend-redis "$(head -c 12 /dev/urandom | base64 | tr -d '/+=')" & pids+=($!)
	bash "$services" start-redis "$svc/r2" system-redis & pids+=($!)
else
	bash "$services" start-mysql-tls "$svc/m" && bash "$services" add-mysql-admin "$svc/m" threescale & pids+=($!)
	bash "$services" start-redis-managed "$svc/r1" backend-redis backend tls & pids+=($!)
	(bash "$services" start-redis-managed "$svc/r2" system-redis system &&
		SENTINEL_MASTER_PASSWORD=$(. "$svc/r2/env"; echo "$REDIS_SYSTEM_REDIS_PASSWORD") \
		bash "$services" start-sentinel "$svc/r2" "$group" \
			"$(. "$svc/r2/env"; echo "$REDIS_SYSTEM_REDIS_PORT")") & pids+=($!)
fi
bash "$services" start-postgres "$svc/p" & pids+=($!)
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
mkdir -p "$svc"
# One env file and one stop for all of them.
cat "$svc"/m/env "$svc"/p/env "$svc"/r1/env "$svc"/r2/env > "$svc/env" 2>/dev/null || true
echo "DEPLOY_LAYOUT=$layout" >> "$svc/env"
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

# The 2.16 Secrets name the Sentinel's master group.
export MYSQL_SOCKET TLS_DIR MYSQL_ADMIN_USER MYSQL_ADMIN_PASSWORD REDIS_BACKEND_REDIS_USER \
	REDIS_BACKEND_REDIS_USER_PASSWORD REDIS_BACKEND_REDIS_TLS_DIR REDIS_SYSTEM_REDIS_USER \
	REDIS_SYSTEM_REDIS_USER_PASSWORD SENTINEL_PORT SENTINEL_PASSWORD SENTINEL_GROUP=$group
python3 "$here/make_deployment.py" "$dir" --scale "$scale" --db-factor "${DEPLOY_DB_FACTOR:-1}" --layout "$layout"
# shellcheck source=ci/demo/clients.sh
. "$here/clients.sh"

# system (MariaDB): schema, then rows, as root over the socket (its objects
# are defined by root@localhost: a 2.16 restore as the admin without SUPER
# must drop that DEFINER). The 2.16 database has a default charset other
# than the profile's utf8mb3_bin, which a restore must keep.
charset="utf8mb3 COLLATE utf8mb3_bin"
[ "$layout" = 2.15 ] || charset="utf8mb4 COLLATE utf8mb4_unicode_ci"
demo_mysql "CREATE DATABASE system DEFAULT CHARACTER SET $charset" ""
demo_mysql - < "$here/system-schema.sql"
demo_mysql - < "$dir/system-data.sql"

# zync (PostgreSQL): its own role and database, password authentication.
PGPASSWORD=$PG_PASSWORD psql -qX -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres \
	>/dev/null <<SQL
CREATE ROLE zync LOGIN PASSWORD '$ZYNC_DB_PASSWORD';
CREATE DATABASE zync_production OWNER zync;
SQL
PGPASSWORD=$ZYNC_DB_PASSWORD psql -qX -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U zync \
	-d zync_production -f "$dir/zync.sql" >/dev/null

# Redis: protocol streams through redis-cli --pipe.
demo_redis backend-redis --pipe < "$dir/backend-redis.resp" >/dev/null
demo_redis system-redis --pipe < "$dir/system-redis.resp" >/dev/null
rm -f "$dir/backend-redis.resp" "$dir/system-redis.resp" "$dir/system-data.sql" "$dir/zync.sql"
ln -sf services/env "$dir/env"
