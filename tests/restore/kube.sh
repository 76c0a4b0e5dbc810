#!/usr/bin/env bash
# The kube restore, through tests/deploy/fake_kubectl.c (a TEST DOUBLE of
# kubectl/oc: `exec` runs on this machine against the demo's real servers,
# `apply` writes into its per-namespace store, a rollout of a Redis pod
# rewrites the local server's persistence lines from the redis-config
# ConfigMap and restarts it). Back up the demo, destroy it, restore with
# --target-namespace other-ns and prove: resources applied into other-ns,
# databases, files and Redis equal; the Redis swap went through redis-config
# (save lines commented out and appendonly no during the swap, the original
# kept in an annotation meanwhile, the original afterwards) with rollouts; a
# killed run's swap is undone first by the next run; no password on
# kubectl's command line. Then a
# migration through the same double: --rewrite-domain rewrites ConfigMaps,
# the APIManager and the tenant domain columns (in the pod's mysql session),
# and --skip-endpoint-secrets keeps the target's own system-database Secret.
# Last, a tar whose two links leave the tree only together is refused before
# anything reaches the pod.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

backup_demo
state "$WORK/before"
cp -r "$DEP/resources" "$WORK/resources.source"

KDIR=$WORK/kube
mkdir -p "$KDIR"
# The home namespace has the resource types (and nothing of the target).
mkdir -p "$KDIR/resources/secret" "$KDIR/resources/configmap" "$KDIR/resources/apimanager"
export FAKE_KUBE_DIR=$KDIR FAKE_KUBE_LOG=$WORK/kubectl.log FAKE_KUBE_NAMESPACE=3scale-prod \
	FAKE_KUBE_CONTEXT=dr-cluster
# Every kubectl call also goes to FAKE_KUBE_CALLS, never truncated here:
# tests/kubernetes/manifests.py derives the RBAC the transport needs from it.
export FAKE_KUBE_CALLS=${TSARC_KUBE_CALLS:-$WORK/kubectl-calls.log}
mkdir -p "$(dirname "$FAKE_KUBE_CALLS")"
: >"$FAKE_KUBE_CALLS"
# The target's pods, in other-ns: 2.15+ Deployments, except system-redis, a
# 2.14 DeploymentConfig (the restore must find both kinds to roll out).
python3 - "$KDIR/pods.json" "$DEP/services" <<PY
import json, sys
out, svc = sys.argv[1:]
def pod(name, labels, containers, annotations=None):
    md = {"name": name, "namespace": "other-ns", "labels": dict(labels, app="3scale-api-management")}
    if annotations:
        md["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "Pod", "metadata": md,
            "spec": {"containers": [{"name": c, "env": [{"name": k, "value": v} for k, v in env.items()]}
                                    for c, env in containers.items()]},
            "status": {"phase": "Running"}}
redis = lambda n: {"fake-kubectl/redis": json.dumps({"services": svc, "name": n, "config_map": "redis-config",
                                                      "key": "redis.conf"})}
items = [
    pod("system-mysql-1-abcde", {"deployment": "system-mysql"},
        {"system-mysql": {"MYSQL_ROOT_PASSWORD": "$MYSQL_ROOT_PASSWORD"}}),
    pod("zync-database-1-abcde", {"deployment": "zync-database"},
        {"postgresql": {"PGHOST": "$PG_SOCKDIR", "PGPORT": "$PG_PORT", "PGUSER": "postgres"}}),
    pod("backend-redis-1-abcde", {"deployment": "backend-redis"},
        {"backend-redis": {"REDIS_PASSWORD": "$REDIS_BACKEND_REDIS_PASSWORD"}}, redis("backend-redis")),
    pod("system-redis-2-abcde", {"deploymentConfig": "system-redis"}, {"system-redis": {}}, redis("system-redis")),
    pod("system-app-1-abcde", {"deployment": "system-app"}, {"system-master": {}}),
]
json.dump({"apiVersion": "v1", "kind": "List", "items": items}, open(out, "w"), indent=2)
PY
python3 - "$WORK/kube.json" "$FAKE_KUBECTL" "$MYSQL_SOCKET" "$REDIS_BACKEND_REDIS_PORT" \
	"$REDIS_SYSTEM_REDIS_PORT" "$DEP/system-storage" <<'PY'
import json, sys
path, kubectl, sock, bport, sport, storage = sys.argv[1:]
json.dump({
  "profile": "3scale",
  "transport": {"type": "kube", "binary": kubectl, "context": "dr-cluster", "namespace": "3scale-prod",
                "pass_env": ["FAKE_KUBE_DIR", "FAKE_KUBE_LOG", "FAKE_KUBE_CALLS", "FAKE_KUBE_NAMESPACE", "FAKE_KUBE_CONTEXT"]},
  # The databases run in pods (the 2.15 layout); said, because the fake
  # cluster's Secrets name this host's loopback servers, which the profile
  # would otherwise take for external ones (layout.h).
  "components": {
    "system-mysql": {"socket": sock, "external": False},
    "zync-database": {"database": "zync_production", "external": False},
    "backend-redis": {"port": int(bport), "pod_password_env": "REDIS_PASSWORD", "external": False},
    "system-redis": {"port": int(sport), "external": False},
    "system-storage": {"path": storage},
  },
  "post_restore": [],
}, open(path, "w"), indent=2)
PY

info "destroy, then restore through kubectl into other-ns"
destroy
t0=$(date +%s)
ok restore "$SNAP" --repo "$REPO" --config "$WORK/kube.json" --target-namespace other-ns --json
cp "$OUT" "$WORK/restore.json"
[ "$(json_get "$WORK/restore.json" "sorted({s['status'] for s in d['steps']})")" = "['applied']" ] ||
	fail "not every step applied"
info "restore took $(($(date +%s) - t0)) s"
python3 - "$WORK/restore.json" <<'PY' || fail "the report does not name the kube endpoints"
import json, sys
d = json.load(open(sys.argv[1]))
# Backed up through the local transport, restored through kubectl: another
# deployment, so a migration; every endpoint is the target's namespace.
assert d["migration"] is True and d["target_deployment"] == {"transport": "kube", "context": "dr-cluster",
                                                             "namespace": "other-ns"}, d
st = {s["component"]: s for s in d["steps"]}
assert st["secrets"]["endpoint"]["namespace"] == "other-ns", st["secrets"]
m = st["system-mysql"]["endpoint"]
assert (m["transport"], m["namespace"], m["workload"], m["container"]) == \
    ("kube", "other-ns", "system-mysql", "system-mysql"), m
assert m["from"].startswith("the configuration (socket"), m
assert m["text"].startswith("pod of system-mysql (container system-mysql) in namespace other-ns: root via socket "), m
PY

info "a selector (config.md, Example 7) is the pod the plan names, not the profile's workload"
python3 - "$WORK/kube.json" "$WORK/kube-sel.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["components"]["system-mysql"]["selector"] = "app=3scale-api-management,deployment=system-mysql"
json.dump(c, open(sys.argv[2], "w"))
PY
ok restore "$SNAP" --repo "$REPO" --config "$WORK/kube-sel.json" --target-namespace other-ns --only system-mysql --dry-run --json
python3 - "$OUT" <<'PY' || fail "the plan does not name the pod the selector finds"
import json, sys
m = {s["component"]: s for s in json.load(open(sys.argv[1]))["steps"]}["system-mysql"]["endpoint"]
assert m["selector"] == "app=3scale-api-management,deployment=system-mysql", m
assert m["text"].startswith("pod labelled app=3scale-api-management,deployment=system-mysql "
                            "(container system-mysql) in namespace other-ns: "), m
PY

info "one selector for both Redis components is one pod's server: two servers' backups into it refused"
# Both find backend-redis's pod and name its own server there (no host,
# one port); the profile's workloads beside the selector differ. They were
# taken for two servers, and the plan admitted system-redis's restore
# erasing backend-redis's (each empties the whole server).
python3 - "$WORK/kube.json" "$WORK/kube-shared.json" "$REDIS_BACKEND_REDIS_PORT" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
for r in ("backend-redis", "system-redis"):
    c["components"][r].update({"selector": "app=3scale-api-management,deployment=backend-redis",
                               "container": "backend-redis", "port": int(sys.argv[3]),
                               "pod_password_env": "REDIS_PASSWORD"})
json.dump(c, open(sys.argv[2], "w"))
PY
t restore "$SNAP" --repo "$REPO" --config "$WORK/kube-shared.json" --target-namespace other-ns \
	--only backend-redis,system-redis --dry-run
expect_rc 2 "two servers' backups into one pod's server"
expect_err "backend-redis.* and system-redis.* both restore into pod labelled app=3scale-api-management,deployment=backend-redis" \
	"two servers' backups into one pod's server"

info "databases, files and Redis equal"
state "$WORK/after"
for s in system zync backend-redis system-redis system-storage; do
	diff <(section "$WORK/before" "$s") <(section "$WORK/after" "$s") >&2 || fail "$s differs after the kube restore"
done

info "resources applied into other-ns, nothing into the home namespace"
python3 - "$KDIR" "$WORK/resources.source" <<'PY' || fail "the resources were not applied as they should be"
import json, os, sys
kdir, src = sys.argv[1:]
tgt = os.path.join(kdir, "namespaces", "other-ns", "resources")
for kind in ("secret", "configmap", "apimanager"):
    assert not os.listdir(os.path.join(kdir, "resources", kind)), kind + " went to the home namespace"
    for fn in os.listdir(os.path.join(src, kind)):
        a, b = json.load(open(os.path.join(src, kind, fn))), json.load(open(os.path.join(tgt, kind, fn)))
        assert b["metadata"]["namespace"] == "other-ns", fn
        assert a.get("data") == b.get("data") and a.get("spec") == b.get("spec"), fn
        for k in ("uid", "resourceVersion", "ownerReferences", "managedFields"):
            assert k not in b["metadata"], (fn, k)
        assert "status" not in b, fn
# The restore state is the target's too, and says nothing is left pending.
state = json.load(open(os.path.join(tgt, "configmap", "tsarc-restore-state.json")))
assert state["metadata"]["namespace"] == "other-ns" and json.loads(state["data"]["pending"]) == {}, state
PY

info "the Redis swap went through redis-config, with rollouts"
python3 - "$KDIR/rollouts.log" "$WORK/resources.source/configmap/redis-config.json" <<'PY' || fail "the Redis swap is wrong"
import json, re, sys
rolls = [json.loads(l) for l in open(sys.argv[1])]
orig = json.load(open(sys.argv[2]))["data"]["redis.conf"]
active = lambda t: [l.strip() for l in t.splitlines() if re.match(r"\s*(save|appendonly)(\s|$)", l)]
for w in ("backend-redis", "system-redis"):
    r = [x for x in rolls if x["workload"] == w]
    assert len(r) == 3, (w, len(r))
    assert all(x["namespace"] == "other-ns" for x in r)
    for x in r[:2]:  # persistence off, then the backup RDB loaded
        assert active(x["config_map"]) == ['save ""', "appendonly no"], active(x["config_map"])
        assert re.search(r"^# tsarc restore: save 900 1$", x["config_map"], re.M), x["config_map"]
        # The original rides on the ConfigMap while it is switched off.
        assert x["annotations"].get("tsarc/original-redis-config") == orig, x["annotations"]
    assert r[2]["config_map"] == orig, "persistence not back on"
    assert "tsarc/original-redis-config" not in r[2]["annotations"], r[2]["annotations"]
PY

info "a killed run's swap (persistence off, the original in the annotation) is undone first"
CM=$KDIR/namespaces/other-ns/resources/configmap/redis-config.json
python3 - "$CM" "$KDIR/rollouts.log" "$WORK/redis-config.orig" <<'PY' || fail "test setup: cannot edit redis-config"
import json, sys
cm = json.load(open(sys.argv[1]))
rolls = [json.loads(l) for l in open(sys.argv[2])]
orig = cm["data"]["redis.conf"]
cm["data"]["redis.conf"] = [r for r in rolls if r["workload"] == "system-redis"][0]["config_map"]
cm["metadata"].setdefault("annotations", {})["tsarc/original-redis-config"] = orig
json.dump(cm, open(sys.argv[1], "w"))
open(sys.argv[3], "w").write(orig)
PY
n0=$(wc -l < "$KDIR/rollouts.log")
ok restore "$SNAP" --repo "$REPO" --config "$WORK/kube.json" --target-namespace other-ns --only system-redis --json
expect_out "earlier interrupted restore had left persistence off" "the earlier swap is undone and said so"
python3 - "$CM" "$KDIR/rollouts.log" "$n0" "$WORK/redis-config.orig" <<'PY' || fail "the earlier swap was not undone"
import json, sys
cm = json.load(open(sys.argv[1]))
orig = open(sys.argv[4]).read()
assert cm["data"]["redis.conf"] == orig, cm["data"]["redis.conf"]
assert "tsarc/original-redis-config" not in (cm["metadata"].get("annotations") or {}), cm["metadata"]
r = [json.loads(l) for l in open(sys.argv[2])][int(sys.argv[3]):]
assert len(r) == 3, len(r)
assert "# tsarc restore: # tsarc restore:" not in r[0]["config_map"], "switched off twice: the off-config was taken for the original"
assert r[0]["annotations"].get("tsarc/original-redis-config") == orig
assert r[2]["config_map"] == orig
PY
grep -q '^appendonly yes' "$REDIS_SYSTEM_REDIS_DIR/redis.conf" || fail "system-redis does not run with redis-config's appendonly yes"
[ "$(redis-cli -p "$REDIS_SYSTEM_REDIS_PORT" CONFIG GET appendonly | tail -1)" = yes ] || fail "AOF is off after restore"
d1=$(redis_digest "$REDIS_BACKEND_REDIS_PORT" "$REDIS_BACKEND_REDIS_PASSWORD")
bash "$SERVICES" restart-redis "$DEP/services/r1" backend-redis || fail "cannot restart backend-redis"
[ "$(redis_digest "$REDIS_BACKEND_REDIS_PORT" "$REDIS_BACKEND_REDIS_PASSWORD")" = "$d1" ] ||
	fail "backend-redis lost data across a restart"
python3 - "$FAKE_KUBE_LOG" <<'PY' || fail "kubectl was not called as expected"
import json, sys
calls = [json.loads(l) for l in open(sys.argv[1])]
for c in calls:
    assert c[:4] == ["--context", "dr-cluster", "-n", "other-ns"], c
verbs = [c[4:6] for c in calls]
assert ["rollout", "restart"] in verbs and ["rollout", "latest"] in verbs and ["rollout", "status"] in verbs
assert ["apply", "-f"] in verbs
execs = [c[4:] for c in calls if c[4] == "exec"]
# The dump goes into mysql framed: the pod's shell stops mysql if its input
# ends before tsarc's end-of-input line (tests/deploy/kube_input.sh), and
# after mysql it writes the run's end mark with mysql's status.
assert any('| MYSQL_PWD="$MYSQL_ROOT_PASSWORD" \'mysql\'' in e[8] and
           "tsarc-end-of-input" in e[8] and ">/dev/null; tsarc_s=$?; printf" in e[8]
           for e in execs)
assert any("tar -x" in e[8] for e in execs)
PY
for secret in "$MYSQL_ROOT_PASSWORD" "$REDIS_BACKEND_REDIS_PASSWORD" "$ZYNC_DB_PASSWORD" "$PG_PASSWORD"; do
	! grep -qF "$secret" "$FAKE_KUBE_LOG" || fail "a password went through kubectl's command line"
	! grep -qF "$secret" "$WORK/restore.json" "$ERR" || fail "a password is in the output"
done

info "--undo-snapshot through kubectl: the undo backup runs in the target's pod, and undoes"
demo_mysql "UPDATE accounts SET org_name = 'renamed before the restore' WHERE id = 2" ||
	fail "cannot change the system database"
section_of_system() { state "$WORK/s.tmp"; section "$WORK/s.tmp" system; }
CHANGED=$(section_of_system)
# An optional ConfigMap and a required Secret the target lacks: the restore
# creates them, and restoring the undo snapshot deletes them again
# (kubectl delete, by name: the restore Role grants it by name only).
MAINCONF=$KDIR/namespaces/other-ns/resources/configmap/mysql-main-conf.json
RECAPTCHA=$KDIR/namespaces/other-ns/resources/secret/system-recaptcha.json
rm -f "$MAINCONF" "$RECAPTCHA"
ok restore "$SNAP" --repo "$REPO" --config "$WORK/kube.json" --target-namespace other-ns \
	--only secrets,configmaps,system-mysql --undo-snapshot --json
[ -f "$MAINCONF" ] || fail "the restore did not create mysql-main-conf"
[ -f "$RECAPTCHA" ] || fail "the restore did not create system-recaptcha"
UNDO=$(json_get "$OUT" "d['undo_snapshot']")
[ "$(section_of_system)" = "$(section "$WORK/before" system)" ] || fail "the restore with --undo-snapshot differs"
ok show "$UNDO" --repo "$REPO" --json
[ "$(json_get "$OUT" "sorted(s['meta']['source'].get('pod', '') for s in d['streams'])")" = "['', '', 'system-mysql-1-abcde']" ] ||
	fail "the undo backup did not run in the target's pod: $(json_get "$OUT" "[s['meta']['source'] for s in d['streams']]")"
[ "$(json_get "$OUT" "sorted(s['meta']['component'] for s in d['streams'])")" = "['configmaps', 'secrets', 'system-mysql']" ] ||
	fail "the undo snapshot does not hold the Secrets, the ConfigMaps and the database"
: >"$FAKE_KUBE_LOG"
ok restore "$UNDO" --repo "$REPO" --config "$WORK/kube.json" --target-namespace other-ns --json
[ "$(section_of_system)" = "$CHANGED" ] || fail "restoring the undo snapshot did not bring the change back"
[ ! -e "$MAINCONF" ] || fail "restoring the undo snapshot left mysql-main-conf, which the target did not have"
grep -qxF '["--context", "dr-cluster", "-n", "other-ns", "delete", "configmap", "mysql-main-conf", "--ignore-not-found"]' \
	"$FAKE_KUBE_LOG" || fail "mysql-main-conf was not deleted by name in other-ns: $(grep delete "$FAKE_KUBE_LOG")"
[ ! -e "$RECAPTCHA" ] || fail "restoring the undo snapshot left system-recaptcha, which the target did not have"
grep -qxF '["--context", "dr-cluster", "-n", "other-ns", "delete", "secret", "system-recaptcha", "--ignore-not-found"]' \
	"$FAKE_KUBE_LOG" || fail "system-recaptcha was not deleted by name in other-ns: $(grep delete "$FAKE_KUBE_LOG")"
ok restore "$SNAP" --repo "$REPO" --config "$WORK/kube.json" --target-namespace other-ns \
	--only secrets,configmaps,system-mysql

info "an object the API server refuses (an immutable Secret) stops the restore before anything is applied"
# The target's system-app is immutable with data of its own, which the
# snapshot's copy would change: the API server refuses that one object.
# kubectl then goes on with the List's others (exit 1), and the Secrets
# and ConfigMaps already applied would be the snapshot's next to the
# target's own: a mix. Every other Secret carries a marker an apply would
# remove.
NSDIR=$KDIR/namespaces/other-ns/resources
cp -r "$NSDIR" "$WORK/ns.before-immutable"
python3 - "$NSDIR" <<'PY' || fail "test setup: cannot mark the target's Secrets"
import base64, json, os, sys
d = os.path.join(sys.argv[1], "secret")
for fn in os.listdir(d):
    p = os.path.join(d, fn)
    s = json.load(open(p))
    if fn == "system-app.json":
        s["immutable"] = True
        s["data"]["SECRET_KEY_BASE"] = base64.b64encode(b"the target's own").decode()
    else:
        s.setdefault("data", {})["tsarc-test-marker"] = base64.b64encode(b"kept").decode()
    json.dump(s, open(p, "w"))
PY
ns_digest() { (cd "$NSDIR" && find . -type f | sort | xargs sha256sum); }
ns_digest > "$WORK/ns.digest.before"
for dry in "" --dry-run; do
	t restore "$SNAP" --repo "$REPO" --config "$WORK/kube.json" --target-namespace other-ns \
		--only secrets,configmaps,system-mysql $dry
	[ "$RC" -ne 0 ] || fail "restore${dry:+ $dry}: a List with an object the API server refuses was taken"
	ns_digest > "$WORK/ns.digest.after"
	diff "$WORK/ns.digest.before" "$WORK/ns.digest.after" >&2 ||
		fail "restore${dry:+ $dry}: objects of other-ns were changed though the API server refuses system-app: $(grep -v '^  ' "$ERR")"
	# kubectl's error holds the patch it sent, Secret values and all.
	python3 - "$WORK/resources.source/secret" "$ERR" "$OUT" <<'PY' || fail "restore${dry:+ $dry}: a Secret's value is in tsarc's output"
import json, os, sys
d, *outs = sys.argv[1:]
text = "".join(open(o, errors="replace").read() for o in outs)
for fn in os.listdir(d):
    for k, v in (json.load(open(os.path.join(d, fn))).get("data") or {}).items():
        if len(v) >= 12 and v in text:
            sys.exit(f"{fn} {k}")
PY
	expect_err 'system-app.*immutable' "restore${dry:+ $dry}: the refused Secret and the server's reason are named"
	expect_err 'nothing was written' "restore${dry:+ $dry}: the error says nothing was written"
done
grep -q -- '--dry-run=server' "$FAKE_KUBE_LOG" || fail "the List was not checked by the API server first"
rm -rf "$NSDIR" && cp -r "$WORK/ns.before-immutable" "$NSDIR"

info "a refused write of redis-config (the swap turning persistence off) shows no line of the configuration"
# A redis.conf with its requirepass; the ConfigMap immutable, so the API
# server refuses the swap's first write. kubectl's error holds the patch
# it sent: the whole redis.conf.
CMF=$NSDIR/configmap/redis-config.json
cp "$CMF" "$WORK/redis-config.keep"
python3 - "$CMF" <<'PY' || fail "test setup: cannot edit redis-config"
import json, sys
cm = json.load(open(sys.argv[1]))
cm["data"]["redis.conf"] += "\nrequirepass cm-secret-Vx81qPz\n"
cm["immutable"] = True
json.dump(cm, open(sys.argv[1], "w"))
PY
t restore "$SNAP" --repo "$REPO" --config "$WORK/kube.json" --target-namespace other-ns --only system-redis
[ "$RC" -ne 0 ] || fail "the swap went on though redis-config cannot be written"
! grep -qF "cm-secret-Vx81qPz" "$ERR" "$OUT" || fail "redis.conf's requirepass is in tsarc's output: $(grep -F cm-secret "$ERR" | head -3)"
expect_err 'redis-config.*immutable' "the refused ConfigMap and the server's reason are named"
cp "$WORK/redis-config.keep" "$CMF"

info "a migration through kubectl: --rewrite-domain and --skip-endpoint-secrets"
# other-ns now has its own database endpoint, which the migration must keep.
OLD=example.com
NEW=apis.dr-cluster.test
TSEC=$KDIR/namespaces/other-ns/resources/secret/system-database.json
python3 - "$TSEC" <<'PY' || fail "cannot set the target's own endpoint secret"
import base64, json, sys
d = json.load(open(sys.argv[1]))
d["data"]["URL"] = base64.b64encode(b"mysql2://root@target-mysql.other-ns.svc:3306/system").decode()
json.dump(d, open(sys.argv[1], "w"))
PY
cp "$TSEC" "$WORK/target-endpoint.json"
: >"$FAKE_KUBE_LOG"
ok restore "$SNAP" --repo "$REPO" --config "$WORK/kube.json" --target-namespace other-ns \
	--only secrets,configmaps,apimanager,system-mysql --rewrite-domain "$OLD=$NEW" \
	--skip-endpoint-secrets --json
cp "$OUT" "$WORK/migrate.json"
cmp -s "$TSEC" "$WORK/target-endpoint.json" || fail "--skip-endpoint-secrets replaced the target's system-database"
python3 - "$KDIR/namespaces/other-ns/resources" "$WORK/resources.source" "$OLD" "$NEW" \
	"$WORK/migrate.json" "$FAKE_KUBE_LOG" <<'PY' || fail "the kube migration is wrong"
import json, os, re, sys
tgt, src, old, new, result, log = sys.argv[1:]
load = lambda *p: json.load(open(os.path.join(*p)))
steps = {s["component"]: s["status"] for s in load(result)["steps"]}
applied = {"secrets", "configmaps", "apimanager", "system-mysql"}
assert {c for c, st in steps.items() if st == "applied"} == applied, steps
assert all(st == "skipped" for c, st in steps.items() if c not in applied), steps
assert load(tgt, "configmap", "system-environment.json")["data"]["THREESCALE_SUPERDOMAIN"] == new
assert load(tgt, "apimanager", "3scale.json")["spec"]["wildcardDomain"] == new
for fn in os.listdir(os.path.join(src, "configmap")):
    assert old not in json.dumps(load(tgt, "configmap", fn)["data"]), fn
assert load(tgt, "secret", "system-app.json")["data"] == load(src, "secret", "system-app.json")["data"]
# The domain columns were rewritten in the same mysql session, in the pod.
# The plan asked the server first, in the pod, whether it logs in, then
# for the character sets and collations the dump names and whether it lets
# the session create the dump's triggers (its grants, then the binary log
# and SUPER); the step asked the same once it had read the dump, then
# looked the database up (it exists: no CREATE). Each one mysql -e that
# only reads.
calls = [json.loads(l) for l in open(log)]
assert all(c[:4] == ["--context", "dr-cluster", "-n", "other-ns"] for c in calls)
mysql = [c for c in calls if c[4] == "exec" and "'mysql'" in c[-1]]
login = [c for c in mysql if "'-e' 'SELECT 1'" in c[-1]]
lookup = [c for c in mysql if "information_schema.SCHEMATA" in c[-1]]
names = [c for c in mysql if "COLLATE" in c[-1]]
asks = [c for c in mysql if "'SHOW GRANTS'" in c[-1] or "log_bin_trust_function_creators" in c[-1]]
assert len(login) == 1 and len(lookup) == 1 and len(names) == 2 and len(asks) == 4, mysql
assert len(mysql) == 9, mysql
order = [mysql.index(c) for c in (login[0], names[0], asks[0], asks[1], names[1], asks[2], asks[3],
                                  lookup[0])]
assert order == sorted(order), mysql
for c in login + names + asks + lookup:
    assert re.search(r"'-e' '(SELECT|SHOW|WITH) [^;]*'; tsarc_s=", c[-1]), c[-1]
PY
domains_rewritten "$MYSQL_PORT" "$MYSQL_ROOT_PASSWORD" " through the pod (kube migration)"

info "a tar whose links leave the tree only together never reaches the pod"
python3 - "$WORK/chain.tar" <<'PY'
import sys, tarfile
with tarfile.open(sys.argv[1], "w") as t:
    for name, target in (("d/l", ".."), ("x", "d/l/..")):
        i = tarfile.TarInfo(name)
        i.type, i.linkname = tarfile.SYMTYPE, target
        t.addfile(i)
PY
t_in "$WORK/chain.tar" backup --repo "$REPO" --stdin --name system-storage.tar --json
CHAIN=$(json_get "$OUT" "d['snapshot_id']")
(cd "$DEP/system-storage" && find . | sort) > "$WORK/tree.before"
: >"$FAKE_KUBE_LOG"
t restore "$CHAIN" --repo "$REPO" --config "$WORK/kube.json" --target-namespace other-ns --only system-storage
[ "$RC" -ne 0 ] || fail "the kube restore took a tar with a link out of the tree"
expect_err "system-storage.tar: refusing tar entry 'x'.*outside the tree" "the refused link is named"
! grep -q 'tar -x' "$FAKE_KUBE_LOG" || fail "the hostile tar was streamed into the pod"
(cd "$DEP/system-storage" && find . | sort) > "$WORK/tree.after"
diff "$WORK/tree.before" "$WORK/tree.after" >&2 || fail "the hostile tar changed the pod's tree"
info "OK"
