#!/usr/bin/env bash
# The 3scale profile knows the 2.16+ layout: a database component whose
# configuration does not say "external" is decided from the APIManager's
# spec.externalComponents (or highAvailability), else from the host in its
# Secret's URL (an in-cluster service name: in a pod; any other host:
# external), and --print-config shows each decision with its reason. No
# server is needed: print-config reads the resources only.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

res=$WORK/res
secret_json "$res/secret/system-database.json" system-database \
	"URL=mysql2://admin:pw-not-printed@mysql.rds.example.net:3306/system"
secret_json "$res/secret/zync.json" zync \
	"DATABASE_URL=postgresql://zync:pw@zync-database.3scale.svc.cluster.local:5432/zync_production"
secret_json "$res/secret/backend-redis.json" backend-redis \
	"REDIS_STORAGE_URL=redis://backend-redis:6379/0"
secret_json "$res/secret/system-redis.json" system-redis "URL=rediss://cache.example.net:6380/1"
cat > "$WORK/config.json" <<JSON
{"profile": "3scale", "transport": {"type": "local", "resources_dir": "$res"},
 "components": {"system-storage": {"path": "$WORK"}}}
JSON

decided() { # FILE COMPONENT FIELD
	json_get "$1" "d['decided']['$2']['$3']"
}

info "from the Secrets: a host that is not the in-cluster service is external"
ok backup --config "$WORK/config.json" --print-config
cp "$OUT" "$WORK/p1.json"
[ "$(decided "$WORK/p1.json" system-mysql external)" = True ] || fail "system-mysql is not external"
decided "$WORK/p1.json" system-mysql why | grep -q "names host mysql.rds.example.net, not an in-cluster" ||
	fail "system-mysql: the reason does not name the host"
[ "$(json_get "$WORK/p1.json" "d['components']['system-mysql']['external']")" = True ] ||
	fail "the effective configuration does not carry the decision"
[ "$(decided "$WORK/p1.json" zync-database external)" = False ] || fail "zync-database.3scale.svc is not in a pod"
[ "$(decided "$WORK/p1.json" backend-redis external)" = False ] || fail "backend-redis is not in a pod"
[ "$(decided "$WORK/p1.json" system-redis external)" = True ] || fail "system-redis is not external"
! grep -q "pw-not-printed" "$OUT" || fail "a password from a Secret is printed"

info "the APIManager's externalComponents wins over the Secrets"
mkdir -p "$res/apimanager"
cat > "$res/apimanager/3scale.json" <<'JSON'
{"apiVersion": "apps.3scale.net/v1alpha1", "kind": "APIManager", "metadata": {"name": "3scale"},
 "spec": {"wildcardDomain": "example.com",
          "externalComponents": {"system": {"database": false, "redis": true},
                                 "backend": {"redis": true}, "zync": {"database": true}}}}
JSON
ok backup --config "$WORK/config.json" --print-config
cp "$OUT" "$WORK/p2.json"
[ "$(decided "$WORK/p2.json" system-mysql external)" = False ] || fail "externalComponents.system.database false"
decided "$WORK/p2.json" system-mysql why | grep -q "APIManager 3scale: spec.externalComponents.system.database is false" ||
	fail "the reason does not name the APIManager field"
[ "$(decided "$WORK/p2.json" backend-redis external)" = True ] || fail "externalComponents.backend.redis true"
[ "$(decided "$WORK/p2.json" zync-database external)" = True ] || fail "externalComponents.zync.database true"

info "highAvailability (older APIManagers): system database and both Redis, zync only when asked"
cat > "$res/apimanager/3scale.json" <<'JSON'
{"apiVersion": "apps.3scale.net/v1alpha1", "kind": "APIManager", "metadata": {"name": "3scale"},
 "spec": {"wildcardDomain": "example.com", "highAvailability": {"enabled": true}}}
JSON
ok backup --config "$WORK/config.json" --print-config
cp "$OUT" "$WORK/p3.json"
[ "$(decided "$WORK/p3.json" backend-redis external)" = True ] || fail "highAvailability: backend-redis"
[ "$(decided "$WORK/p3.json" zync-database external)" = False ] || fail "highAvailability: zync without externalZyncDatabaseEnabled"

info "the configuration's own \"external\" wins"
python3 - "$WORK/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["components"]["backend-redis"] = {"external": False}
json.dump(c, open(sys.argv[1], "w"))
PY
ok backup --config "$WORK/config.json" --print-config
cp "$OUT" "$WORK/p4.json"
[ "$(decided "$WORK/p4.json" backend-redis external)" = False ] || fail "the configuration's external: false"
decided "$WORK/p4.json" backend-redis why | grep -q 'the configuration says "external": false' ||
	fail "the reason does not name the configuration"

info "nothing to read: in a pod, as before"
rm -rf "$res/apimanager" "$res/secret"
ok backup --config "$WORK/config.json" --print-config
[ "$(decided "$OUT" system-mysql external)" = False ] || fail "without Secrets system-mysql is not in a pod"
decided "$OUT" system-mysql why | grep -q "in a pod" || fail "the reason does not say in a pod"
info "OK"
