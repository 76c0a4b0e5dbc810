#!/usr/bin/env bash
# The kube transport, against tests/deploy/fake_kubectl.c (a TEST DOUBLE of
# kubectl/oc that runs `exec` commands on this machine, in place of the pod,
# against the real servers of the demo deployment). Exercised: pods found by
# label in both styles (deploymentConfig= of 3scale <= 2.14, deployment= of
# 2.15+), terminating pods and other namespaces skipped, containers chosen,
# --context and -n on every call, passwords taken from the pod's environment
# (never on a command line), streams identical to what the tools print, and
# the failures: a missing pod, a missing container, a one-database load
# (PostgreSQL, MySQL) that fails in the pod into a database the restore
# created (dropped again, in the pod).
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

deploy_up 1
REPO=$WORK/repo
init_repo "$REPO"
KDIR=$WORK/kube
mkdir -p "$KDIR"
cp -r "$DEP/resources" "$KDIR/resources"
export FAKE_KUBE_DIR=$KDIR FAKE_KUBE_LOG=$WORK/kubectl.log FAKE_KUBE_NAMESPACE=3scale-prod \
	FAKE_KUBE_CONTEXT=prod-cluster
# Every kubectl call also goes to FAKE_KUBE_CALLS, never truncated here:
# tests/kubernetes/manifests.py derives the RBAC the transport needs from it.
# The backups' calls and the few restores' apart (NAME.log and
# NAME-restore.log): each runs under its own ServiceAccount.
export FAKE_KUBE_CALLS=${TSARC_KUBE_CALLS:-$WORK/kubectl-calls.log}
BACKUP_CALLS=$FAKE_KUBE_CALLS
RESTORE_CALLS=${FAKE_KUBE_CALLS%.log}-restore.log
mkdir -p "$(dirname "$FAKE_KUBE_CALLS")"
: >"$BACKUP_CALLS"
: >"$RESTORE_CALLS"
# as_restore ARGS...: t, its kubectl calls recorded as a restore's.
as_restore() {
	export FAKE_KUBE_CALLS=$RESTORE_CALLS
	t "$@"
	export FAKE_KUBE_CALLS=$BACKUP_CALLS
}

# Pods as `kubectl get pods -o json` prints them. system-mysql is a 2.14
# DeploymentConfig pod (with an older one terminating, listed first), the
# others 2.15+ Deployment pods; a look-alike lives in another namespace.
python3 - "$KDIR/pods.json" <<PY
import json, sys
def pod(name, labels, containers, ns="3scale-prod", phase="Running", deleting=False):
    md = {"name": name, "namespace": ns, "labels": dict(labels, app="3scale-api-management")}
    if deleting:
        md["deletionTimestamp"] = "2026-11-23T10:00:00Z"
    return {"apiVersion": "v1", "kind": "Pod", "metadata": md,
            "spec": {"containers": [{"name": c, "env": [{"name": k, "value": v} for k, v in env.items()]}
                                    for c, env in containers.items()]},
            "status": {"phase": phase}}
items = [
    pod("system-mysql-1-old", {"deploymentConfig": "system-mysql", "deploymentconfig": "system-mysql"},
        {"system-mysql": {}}, deleting=True),
    pod("system-mysql-2-x7k2p", {"deploymentConfig": "system-mysql", "deploymentconfig": "system-mysql"},
        {"system-mysql": {"MYSQL_ROOT_PASSWORD": "$MYSQL_ROOT_PASSWORD"}}),
    pod("system-mysql-elsewhere", {"deployment": "system-mysql"}, {"system-mysql": {}}, ns="other"),
    pod("zync-database-5d9f-abcde", {"deployment": "zync-database", "threescale_component": "zync"},
        {"postgresql": {"PGHOST": "$PG_SOCKDIR", "PGPORT": "$PG_PORT", "PGUSER": "postgres"}}),
    pod("backend-redis-6c4b-qwert", {"deployment": "backend-redis"},
        {"backend-redis": {"REDIS_PASSWORD": "$REDIS_BACKEND_REDIS_PASSWORD"}}),
    pod("system-redis-7f8c-zxcvb", {"deployment": "system-redis"}, {"system-redis": {}}),
    pod("system-app-8d7e-asdfg", {"deployment": "system-app"},
        {"system-master": {}, "system-provider": {}, "system-developer": {}}),
    pod("system-app-pending", {"deployment": "system-app"}, {"system-master": {}}, phase="Pending"),
]
json.dump({"apiVersion": "v1", "kind": "List", "items": items}, open(sys.argv[1], "w"), indent=2)
PY

write_config() { # FILE EXTRA-PYTHON
	python3 - "$1" "$FAKE_KUBECTL" "$MYSQL_SOCKET" "$REDIS_BACKEND_REDIS_PORT" \
		"$REDIS_SYSTEM_REDIS_PORT" "$DEP/system-storage" "${2:-}" <<'PY'
import json, sys
path, kubectl, sock, bport, sport, storage, extra = sys.argv[1:]
c = {
  "profile": "3scale",
  "transport": {"type": "kube", "binary": kubectl, "context": "prod-cluster", "namespace": "3scale-prod",
                "pass_env": ["FAKE_KUBE_DIR", "FAKE_KUBE_LOG", "FAKE_KUBE_CALLS", "FAKE_KUBE_NAMESPACE", "FAKE_KUBE_CONTEXT"]},
  # The databases run in pods (the 2.15 layout); said, because the fake
  # cluster's Secrets name this host's loopback servers, which the profile
  # would otherwise take for external ones (layout.h).
  "components": {
    "system-mysql": {"socket": sock, "external": False},
    "zync-database": {"external": False},
    "backend-redis": {"port": int(bport), "pod_password_env": "REDIS_PASSWORD", "external": False},
    "system-redis": {"port": int(sport), "external": False},
    "system-storage": {"path": storage},
  },
}
if extra:
    exec(extra)
json.dump(c, open(path, "w"), indent=2)
PY
}

info "backup through kubectl exec"
write_config "$WORK/kube.json"
# Credentials of tsarc itself and of other components: none may reach
# kubectl (nor, through it, the pod).
printf '%s\n' "$TSARC_PASSWORD" > "$WORK/repo-password"
AWS_SECRET_ACCESS_KEY=aws-secret-never-passed AWS_SESSION_TOKEN=aws-token-never-passed \
	AWS_ACCESS_KEY_ID=aws-id-never-passed TSARC_PASSWORD_FILE=$WORK/repo-password \
	OTHER_COMPONENT_PW=other-pw-never-passed \
	ok backup --repo "$REPO" --config "$WORK/kube.json" --json
SNAP=$(json_get "$OUT" "d['snapshot_id']")
python3 - "$KDIR/env.log" "$TSARC_PASSWORD" "$WORK/repo-password" <<'PY' || fail "a credential reached kubectl"
import json, sys
envs = [json.loads(l) for l in open(sys.argv[1])]
assert envs
for env in envs:
    for name in ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ACCESS_KEY_ID", "TSARC_PASSWORD",
                 "TSARC_PASSWORD_FILE", "OTHER_COMPONENT_PW"):
        assert name not in env, name
    for value in env.values():
        assert "never-passed" not in value and sys.argv[2] not in value and sys.argv[3] not in value, value
    assert env["FAKE_KUBE_DIR"] and "PATH" in env, sorted(env)
PY

info "selectors, containers, namespace and context"
python3 - "$FAKE_KUBE_LOG" <<'PY' || fail "kubectl was not called as expected"
import json, re, sys
calls = [json.loads(l) for l in open(sys.argv[1])]
for c in calls:
    assert c[:4] == ["--context", "prod-cluster", "-n", "3scale-prod"], c
gets = [c[4:] for c in calls if c[4] == "get" and c[5] == "pods"]
sels = [g[3] for g in gets]
# 2.15+ first, then the 2.14 label for system-mysql only.
assert "deployment=system-mysql" in sels and "deploymentConfig=system-mysql" in sels, sels
assert "deploymentConfig=zync-database" not in sels, sels
execs = [c[4:] for c in calls if c[4] == "exec"]
targets = {(e[2], e[4]) for e in execs}
want = {("system-mysql-2-x7k2p", "system-mysql"), ("zync-database-5d9f-abcde", "postgresql"),
        ("backend-redis-6c4b-qwert", "backend-redis"), ("system-redis-7f8c-zxcvb", "system-redis"),
        ("system-app-8d7e-asdfg", "system-master")}
assert want <= targets, targets
for e in execs:
    assert e[:2] == ["exec", "-i"] and e[5:8] == ["--", "sh", "-c"], e
mysql = [e[8] for e in execs if e[4] == "system-mysql" and "--version" not in e[8] and
         "information_schema" not in e[8] and "SHOW GRANTS" not in e[8]][0]
# Not exec'd: the pod's shell ends the output with its end mark.
assert mysql.startswith('MYSQL_PWD="$MYSQL_ROOT_PASSWORD" \'mysqldump\''), mysql
assert re.search(r"; tsarc_s=\$\?; printf '\\n%s %s\\n' tsarc-end-[0-9a-f]{32} ", mysql), mysql
# The database's charset and collation, asked in the pod with its client.
probe = [e[8] for e in execs if e[4] == "system-mysql" and "information_schema.SCHEMATA" in e[8]]
assert probe and probe[0].startswith('MYSQL_PWD="$MYSQL_ROOT_PASSWORD" \'mysql\''), probe
# The session's grants (what the dump will see), asked the same way.
grants = [e[8] for e in execs if e[4] == "system-mysql" and "'SHOW GRANTS'" in e[8]]
assert grants and grants[0].startswith('MYSQL_PWD="$MYSQL_ROOT_PASSWORD" \'mysql\''), grants
assert any(c[4:7] == ["get", "secret", "system-seed"] for c in calls)
PY
grep -qF "$MYSQL_ROOT_PASSWORD" "$FAKE_KUBE_LOG" && fail "the MySQL password went through kubectl's command line"
grep -qF "$REDIS_BACKEND_REDIS_PASSWORD" "$FAKE_KUBE_LOG" && fail "the Redis password went through kubectl's command line"

ok show --repo "$REPO" "$SNAP" --json
python3 - "$OUT" <<'PY' || fail "the manifest does not say where the streams came from"
import json, sys
d = json.load(open(sys.argv[1]))
s = {x["name"]: x["meta"]["source"] for x in d["streams"]}
m = s["system-mysql.sql"]
assert m["transport"] == "kube" and m["pod"] == "system-mysql-2-x7k2p" and m["container"] == "system-mysql"
assert m["selector"] == "deploymentConfig=system-mysql" and m["namespace"] == "3scale-prod"
assert m["context"] == "prod-cluster"
assert s["zync-database.sql"]["selector"] == "deployment=zync-database"
assert s["system-storage.tar"]["container"] == "system-master"
# The deployment (where the resources are), with every stream; no pod in it.
for x in d["streams"]:
    assert x["meta"]["deployment"] == {"transport": "kube", "context": "prod-cluster",
                                       "namespace": "3scale-prod"}, x["meta"]["deployment"]
# A Redis in its pod records the database its Secret's URL names (system
# .../1, backend storage .../0): a restore into a Redis whose URL names
# another maps it there.
m = {x["name"]: x["meta"] for x in d["streams"]}
assert m["system-redis.rdb"].get("redis_url_db") == 1, m["system-redis.rdb"]
assert m["backend-redis.rdb"].get("redis_url_db") == 0, m["backend-redis.rdb"]
# zync's database of the pod, by the profile's name for it: one database.
assert m["zync-database.sql"].get("database") == "zync_production", m["zync-database.sql"]
PY

info "streams are what the tools print"
t dump --repo "$REPO" "$SNAP" system-mysql.sql
mv "$OUT" "$WORK/kube.sql"
MYSQL_PWD=$MYSQL_ROOT_PASSWORD mysqldump --no-defaults -uroot -S "$MYSQL_SOCKET" --single-transaction \
	--skip-dump-date --routines --triggers --events --hex-blob --quick --set-charset \
	--default-character-set=utf8mb4 system > "$WORK/direct.sql" || fail "direct mysqldump failed"
cmp -s "$WORK/kube.sql" "$WORK/direct.sql" ||
	fail "the dump through kubectl exec differs from a direct mysqldump"
grep -qE 'TRIGGER `?cinstances_tenant_id' "$WORK/kube.sql" || fail "no trigger in the dump"
t dump --repo "$REPO" "$SNAP" zync-database.sql
# The profile's database of the pod (default_database): pg_dump of it, not
# pg_dumpall of the server (a restore refuses that: tests/sql/pg_dumpall.sh).
grep -q '^CREATE TABLE' "$OUT" || fail "pg_dump in the pod did not dump zync_production's tables"
grep -q 'PostgreSQL database cluster dump' "$OUT" && fail "zync-database was dumped with pg_dumpall"
t dump --repo "$REPO" "$SNAP" backend-redis.rdb
mv "$OUT" "$WORK/backend.rdb"
[ "$(rdb_digest "$WORK/backend.rdb" fresh-backend)" = "$(redis_digest "$REDIS_BACKEND_REDIS_PORT" "$REDIS_BACKEND_REDIS_PASSWORD")" ] ||
	fail "backend-redis through kubectl exec differs"
t dump --repo "$REPO" "$SNAP" system-storage.tar
mv "$OUT" "$WORK/storage.tar"
diff <(tar -tf "$WORK/storage.tar" | sed 's|/$||' | sort) <(cd "$DEP/system-storage" && find . | sort) >&2 ||
	fail "the tar from the pod does not list the tree"

snapshots() { "$TSARC" snapshots --repo "$REPO" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }

# A backup with config CONF refused (exit 1) with ERR on stderr, and no
# snapshot written (the one of the run above stays alone).
backup_refused() { # CONF WHAT ERR
	t backup --repo "$REPO" --config "$1"
	expect_rc 1 "$2"
	expect_err "$3" "$2"
	[ "$(snapshots)" = 1 ] || fail "a snapshot was written: $2"
}

info "kubectl loses its connection and exits 0, the dump cut short: no snapshot"
# (kubernetes/kubectl#1208, #1726): the pod's shell ends the output with a
# mark only it knows, and an output without it fails the component.
write_config "$WORK/kube-cut.json" 'c["transport"]["pass_env"].append("FAKE_KUBE_EXEC_STDOUT_MAX")
for n in ("zync-database", "backend-redis", "system-redis", "system-storage"):
    c["components"][n]["enabled"] = False'
export FAKE_KUBE_EXEC_STDOUT_MAX=20000
backup_refused "$WORK/kube-cut.json" "output cut, kubectl exit 0" "before the command's end mark"
expect_err "component 'system-mysql'" "output cut, kubectl exit 0"
unset FAKE_KUBE_EXEC_STDOUT_MAX

info "a missing pod: no snapshot, the component named"
python3 - "$KDIR/pods.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["items"] = [p for p in d["items"] if not p["metadata"]["name"].startswith("system-redis")]
json.dump(d, open(sys.argv[1], "w"))
PY
backup_refused "$WORK/kube.json" "missing pod" \
	"no running pod matches deployment=system-redis or deploymentConfig=system-redis in namespace 3scale-prod"
expect_err "component 'system-redis'" "missing pod"

info "a missing container: no snapshot, the pod's containers listed"
write_config "$WORK/kube2.json" 'c["components"]["system-redis"]["enabled"] = False; c["components"]["system-mysql"]["container"] = "mysql"'
backup_refused "$WORK/kube2.json" "wrong container" \
	"component 'system-mysql': pod system-mysql-2-x7k2p has no container mysql \\(it has: system-mysql\\)"

info "selector_style deployment (2.15+ only) does not find a DeploymentConfig pod"
write_config "$WORK/kube3.json" 'c["components"]["system-redis"]["enabled"] = False; c["transport"]["selector_style"] = "deployment"'
backup_refused "$WORK/kube3.json" "deployment-only selectors" \
	"component 'system-mysql': no running pod matches deployment=system-mysql in namespace"

info "a wrong context is an error from kubectl, named"
write_config "$WORK/kube4.json" 'c["components"]["system-redis"]["enabled"] = False; c["transport"]["context"] = "staging"'
backup_refused "$WORK/kube4.json" "wrong context" 'context "staging" does not exist'

info "a load that fails in the pod into a fresh database: the database is dropped again"
# One database (pg_dump) restored in the pod into a name the server does
# not have: the restore's plan and its step ask the server's version
# (whether it takes the dump's pg_dump), the step looks the database up,
# creates it and loads into it, all in the pod; the load fails at the
# ALTER ... OWNER of a role the server no longer has ("owner": "keep": by
# default such an object would go to the restoring role, sql_pg_owner),
# and the database the restore created is dropped again.
pgs() { psql -qAtX -v ON_ERROR_STOP=1 -h "$PG_SOCKDIR" -p "$PG_PORT" -U postgres "$@"; }
pgs -d postgres -c "CREATE ROLE kube_auditor NOLOGIN" || fail "cannot create the role kube_auditor"
pgs -d zync_production -c "CREATE TABLE zz_kube_audit (id int); ALTER TABLE zz_kube_audit OWNER TO kube_auditor" ||
	fail "cannot add the audit table"
only_zync='for n in ("system-mysql", "backend-redis", "system-redis", "system-storage"):
    c["components"][n]["enabled"] = False
for n in ("secrets", "configmaps", "apimanager"):
    c["components"][n] = {"enabled": False}'
write_config "$WORK/kube-pg.json" "$only_zync"'
c["components"]["zync-database"]["database"] = "zync_production"'
ok backup --repo "$REPO" --config "$WORK/kube-pg.json" --json
PGSNAP=$(json_get "$OUT" "d['snapshot_id']")
pgs -d zync_production -c "DROP TABLE zz_kube_audit" || fail "cannot drop the audit table"
pgs -d postgres -c "DROP ROLE kube_auditor" || fail "cannot drop the role kube_auditor"
write_config "$WORK/kube-pg-fresh.json" "$only_zync"'
c["components"]["zync-database"]["database"] = "zync_kube_fresh"
c["components"]["zync-database"]["restore"] = {"owner": "keep"}'
: >"$FAKE_KUBE_LOG"
as_restore restore "$PGSNAP" --repo "$REPO" --config "$WORK/kube-pg-fresh.json" --only zync-database
[ "$RC" -ne 0 ] || fail "a restore with a missing role succeeded in the pod"
[ -z "$(pgs -d postgres -c "SELECT 1 FROM pg_database WHERE datname = 'zync_kube_fresh'")" ] ||
	fail "the database created by the failed restore in the pod was left behind"
expect_err 'role "kube_auditor" does not exist' "the error gives psql's reason (pod)"
expect_err "nothing of it was applied; database zync_kube_fresh, created by this restore, was dropped again" \
	"the error says the created database was dropped (pod)"
python3 - "$FAKE_KUBE_LOG" <<'PY' || fail "the server's version, the look-up, CREATE and DROP did not all run in the pod"
import json, sys
execs = [c[4:] for c in map(json.loads, open(sys.argv[1])) if c[4] == "exec"]
pg = [e[8] for e in execs if e[2] == "zync-database-5d9f-abcde"]
version = [e for e in pg if "SHOW server_version_num" in e]
lookup = [e for e in pg if "pg_database WHERE datname" in e]
load = [e for e in pg if "--single-transaction" in e]
admin = [e for e in pg if "--dbname=postgres" in e and e not in lookup and e not in version]
assert len(version) == 2 and len(lookup) == 1 and len(load) == 1, pg
assert len(admin) == 2, pg  # CREATE, then DROP
PY

info "an in-pod zync-database dumped whole (pg_dumpall): its zync_production part restored in the pod"
# As the profile's zync-database was backed up before it named its
# database. The restore loads zync_production's part of the dump through
# the pod's psql, framed by the size a first pass counted.
write_config "$WORK/kube-pg-all.json" "$only_zync"'
c["components"]["zync-database"]["default_database"] = ""'
ok backup --repo "$REPO" --config "$WORK/kube-pg-all.json" --json
ALLSNAP=$(json_get "$OUT" "d['snapshot_id']")
ok dump --repo "$REPO" "$ALLSNAP" zync-database.sql
grep -q 'PostgreSQL database cluster dump' "$OUT" || fail "test setup: zync-database was not dumped whole"
tables() { pgs -d zync_production -c "SELECT string_agg(tablename, ' ' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public'"; }
before=$(tables)
pgs -d zync_production -c "CREATE TABLE zz_kube_later (id int)" || fail "cannot add a table"
: >"$FAKE_KUBE_LOG"
write_config "$WORK/kube-pg-part.json" "$only_zync"'
c["components"]["zync-database"]["database"] = "zync_production"
c["post_restore"] = []'
as_restore restore "$ALLSNAP" --repo "$REPO" --config "$WORK/kube-pg-part.json" --only zync-database
[ "$RC" = 0 ] || fail "the part of zync_production was not restored in the pod: $(cat "$ERR")"
[ "$(tables)" = "$before" ] || fail "zync_production's tables are not the dump's: $(tables), want $before"
python3 - "$FAKE_KUBE_LOG" <<'PY' || fail "the load did not run in the pod, into zync_production"
import json, sys
execs = [c[4:] for c in map(json.loads, open(sys.argv[1])) if c[4] == "exec"]
pg = [e[8] for e in execs if e[2] == "zync-database-5d9f-abcde"]
load = [e for e in pg if "--single-transaction" in e]
assert len(load) == 1 and "--dbname=zync_production" in load[0], pg
PY

info "a MySQL load that fails in the pod into a fresh database: the database is dropped again"
# The dump's last statement, a view of a table in another database, fails
# once that database is gone (mysqldump writes views after every table):
# the load has created and filled the tables by then. The restore looked
# the name up and created the database in the pod, and drops it there.
mysqls() { mysql_q "$MYSQL_PORT" "$MYSQL_ROOT_PASSWORD" "$@"; }
mysqls -e "CREATE DATABASE kube_audit; CREATE TABLE kube_audit.entries (id INT);
	CREATE VIEW system.zz_kube_audit AS SELECT id FROM kube_audit.entries" ||
	fail "cannot add the cross-database view"
only_mysql='for n in ("zync-database", "backend-redis", "system-redis", "system-storage"):
    c["components"][n]["enabled"] = False
for n in ("secrets", "configmaps", "apimanager"):
    c["components"][n] = {"enabled": False}'
write_config "$WORK/kube-my.json" "$only_mysql"
ok backup --repo "$REPO" --config "$WORK/kube-my.json" --json
MYSNAP=$(json_get "$OUT" "d['snapshot_id']")
mysqls -e "DROP VIEW system.zz_kube_audit; DROP DATABASE kube_audit" || fail "cannot drop the view's database"
write_config "$WORK/kube-my-fresh.json" "$only_mysql"'
c["components"]["system-mysql"]["database"] = "system_kube_fresh"'
: >"$FAKE_KUBE_LOG"
as_restore restore "$MYSNAP" --repo "$REPO" --config "$WORK/kube-my-fresh.json" --only system-mysql
[ "$RC" -ne 0 ] || fail "a view of a missing table loaded in the pod"
[ -z "$(mysqls -e "SHOW DATABASES LIKE 'system_kube_fresh'")" ] ||
	fail "the database created by the failed MySQL restore in the pod was left behind"
expect_err "kube_audit.entries" "the error gives the server's reason (MySQL, pod)"
expect_err "database system_kube_fresh, created by this restore, was dropped again" \
	"the error says the created MySQL database was dropped (pod)"
python3 - "$FAKE_KUBE_LOG" <<'PY' || fail "the MySQL look-up, CREATE, load and DROP did not all run in the pod"
import json, sys
execs = [c[4:] for c in map(json.loads, open(sys.argv[1])) if c[4] == "exec"]
my = [e[8] for e in execs if e[2] == "system-mysql-2-x7k2p"]
lookup = [e for e in my if "information_schema.SCHEMATA" in e]
# The dump creates triggers: the session's grants and whether the server
# lets it create them (a binary log without SUPER), asked with the same
# client in the pod before anything is written, by the plan and the step.
asks = [e for e in my if "'SHOW GRANTS'" in e or "log_bin_trust_function_creators" in e]
# The character sets and collations the dump names, asked the same way
# first (one SELECT, which needs no database: the target's does not exist
# yet); before them the plan asked whether the client logs in.
names = [e for e in my if "COLLATE" in e]
login = [e for e in my if "'-e' 'SELECT 1'" in e]
fed = [e for e in my if e not in lookup + asks + names + login and "'mysql'" in e]
for e in lookup + asks + names + login:
    assert e.startswith('MYSQL_PWD="$MYSQL_ROOT_PASSWORD" \'mysql\''), my
assert len(lookup) == 1 and len(asks) == 4 and len(names) == 2 and len(login) == 1, my
assert my.index(login[0]) < my.index(names[0]) < my.index(asks[0]) < my.index(names[1]), my
assert my.index(names[1]) < my.index(asks[2]) and my.index(asks[3]) < my.index(lookup[0]), my
# CREATE, load, DROP: the same client and connection, the SQL on its stdin
# (its length in the pod's `head -c`: DROP DATABASE `system_kube_fresh`;
# is 35 bytes).
client = {e.split("} | ", 1)[1].split(" >/dev/null")[0] for e in fed}
assert len(fed) == 3 and len(client) == 1 and "head -c 35 " in fed[2], my
PY
info "OK"
