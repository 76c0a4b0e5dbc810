#!/usr/bin/env bash
# The way to 3scale 2.16: its databases must be external, so a 2.15
# deployment (databases in pods: root, Redis read over SYNC) is backed up
# and restored into a 2.16 install beside it: the system database on a
# managed-like MariaDB (TLS, an admin without SUPER), backend-redis over
# TLS and system-redis behind a Sentinel (ACL users that may not SYNC,
# CONFIG or DEBUG), its APIManager named apimanager-sample (OperatorHub's
# default) saying so, with --skip-endpoint-secrets (the install's own
# Secrets name its databases). Proven: every store of the install equals
# the 2.15 deployment's (the system database's tables, routines and
# triggers, now the admin's; zync; both Redis; system-storage); the
# install's endpoint Secrets are its own, and so are the endpoint keys of
# Secret zync (its database's URL and password: on main the backup's, the
# install's zync left on the 2.15 deployment's database); its one
# APIManager keeps its name and external databases, its settings the
# backup's; the 2.15 deployment untouched.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"
command -v redis-sentinel >/dev/null || {
	[ "${TSARC_TEST_REQUIRE_SERVICES:-0}" = 1 ] && fail "redis-sentinel is not installed"
	echo "SKIP: redis-sentinel is not installed (bash ci/deps.sh)"; exit 77; }

backup_demo
SRC=$DEP
state "$WORK/source.before"

info "the 2.16 install beside it"
bash "$DEPLOYMENT" up "$WORK/dep216" 1 2.16 >"$WORK/up216.log" 2>&1 ||
	{ cat "$WORK/up216.log" >&2; fail "the 2.16 deployment did not start"; }
DEP=$WORK/dep216
python3 - "$DEP/resources/apimanager" <<'PY'
import json, os, sys
d = sys.argv[1]
o = json.load(open(d + "/3scale.json"))
o["metadata"]["name"] = "apimanager-sample"
o["spec"].setdefault("apicast", {})["productionSpec"] = {"replicas": 1}
json.dump(o, open(d + "/apimanager-sample.json", "w"), indent=2)
os.remove(d + "/3scale.json")
PY
python3 - "$DEP/config.json" "$WORK/config216.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["post_restore"] = []
json.dump(c, open(sys.argv[2], "w"), indent=2)
PY
cp "$DEP/resources/apimanager/apimanager-sample.json" "$WORK/apimanager.before"
state "$WORK/target.before"

info "the plan: every database external, the APIManager onto the install's"
ok restore "$SNAP" --repo "$REPO" --config "$WORK/config216.json" --skip-endpoint-secrets --dry-run --json
python3 - "$OUT" <<'PY' || fail "the plan is wrong: $(cat "$OUT")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["migration"] is True, d.get("migration")
st = {s["component"]: s["plan"] for s in d["steps"]}
assert st["system-mysql"]["definer"].startswith("strip: "), st["system-mysql"]
assert st["system-mysql"]["tls"].startswith("verify-full"), st["system-mysql"]
assert "over TLS as backend" in st["backend-redis"]["target"], st["backend-redis"]
assert "Sentinel group system-redis-group" in st["system-redis"]["target"], st["system-redis"]
assert st["apimanager"]["applied_as"] == {"3scale": "apimanager-sample"}, st["apimanager"]
assert {"DATABASE_URL", "ZYNC_DATABASE_PASSWORD"} <= set(st["secrets"]["endpoint_keys_kept"]["zync"]), st["secrets"]
PY

info "the restore: the install holds the 2.15 deployment's data"
ok restore "$SNAP" --repo "$REPO" --config "$WORK/config216.json" --skip-endpoint-secrets --json
state "$WORK/target.after"
# The database itself is the install's, and so is its default collation
# (the dump's tables carry their own, and the triggers and routines record
# the database's as they are created); everything else of every store is
# the source's.
for s in zync backend-redis system-redis system-storage; do
	diff <(section "$WORK/source.before" "$s") <(section "$WORK/target.after" "$s") >&2 ||
		fail "$s of the install is not the 2.15 deployment's"
done
[ "$(section "$WORK/target.after" system | sed -n 2p)" = "$(section "$WORK/target.before" system | sed -n 2p)" ] ||
	fail "the install's system database changed its default collation"
# (A trigger's or routine's line: name, body, client and database collation.)
without_db_collation() { section "$1" system | sed 2d | awk -F'\t' -v OFS='\t' 'NF == 4 { NF = 3 } 1'; }
diff <(without_db_collation "$WORK/source.before") <(without_db_collation "$WORK/target.after") >&2 ||
	fail "the install's system database is not the 2.15 deployment's"
definers=$(demo_mysql "SELECT definer FROM information_schema.triggers WHERE trigger_schema='system' UNION
	SELECT definer FROM information_schema.routines WHERE routine_schema='system'")
[ "$definers" = "$MYSQL_ADMIN_USER@%" ] || fail "objects are defined by: $definers"

info "the install's endpoint Secrets and its APIManager's layout are its own"
python3 - "$WORK/target.before" "$WORK/target.after" "$WORK/source.before" <<'PY' || fail "the install's resources are wrong"
import json, sys
def resources(path):
    out, on = {}, False
    for line in open(path):
        if line.startswith("## "):
            on = line.strip() == "## resources"
            continue
        if on and line.strip():
            f, doc = line.split(" ", 1)
            out[f] = json.loads(doc)
    return out
before, after, source = (resources(p) for p in sys.argv[1:])
for name in ("system-database", "backend-redis", "system-redis"):
    f = "./secret/%s.json" % name
    assert after[f] == before[f], (name, "not the install's own")
# zync's Secret is zync's settings and its database's endpoint: the
# backup's settings, the install's endpoint (else the install's zync would
# use the 2.15 deployment's database).
z, zb, zs = (d["./secret/zync.json"]["data"] for d in (after, before, source))
for k in ("DATABASE_URL", "ZYNC_DATABASE_PASSWORD"):
    assert z[k] == zb[k] != zs[k], (k, "of Secret zync is not the install's own")
for k in ("SECRET_KEY_BASE", "ZYNC_AUTHENTICATION_TOKEN"):
    assert z[k] == zs[k], (k, "of Secret zync is not the backup's")
assert [f for f in after if f.startswith("./apimanager/")] == ["./apimanager/apimanager-sample.json"], list(after)
am = after["./apimanager/apimanager-sample.json"]["spec"]
assert am["externalComponents"] == before["./apimanager/apimanager-sample.json"]["spec"]["externalComponents"], am
assert am.get("apicast", {}).get("productionSpec") == source["./apimanager/3scale.json"]["spec"].get("apicast", {}).get("productionSpec"), am
PY

info "the 2.15 deployment is untouched"
# Its state without the 2.16 install's settings (its TLS directories
# would send the 2.15 clients over TLS).
(
	for v in $(sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*\)=.*/\1/p' "$WORK/dep216/env"); do unset "$v"; done
	DEP=$SRC
	state "$WORK/source.after"
)
diff "$WORK/source.before" "$WORK/source.after" >&2 || fail "the restore changed the 2.15 deployment"
info "ok"
