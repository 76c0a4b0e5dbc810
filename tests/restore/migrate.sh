#!/usr/bin/env bash
# Migration: back up the demo deployment, restore it into a second "cluster"
# (empty MariaDB, PostgreSQL and two Redis servers on other ports, its own
# resources directory and system-storage tree) with --rewrite-domain and
# --skip-endpoint-secrets, as the 3scale operator does when the target's
# databases differ. Proven: databases, Redis and files equal the source's;
# THREESCALE_SUPERDOMAIN and the APIManager's wildcardDomain carry the new
# domain; accounts.domain / accounts.self_domain carry it and no old-domain
# value remains there; the target's own endpoint Secrets are kept; the
# source deployment is untouched.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

OLD=example.com
NEW=apis.dr-cluster.test

backup_demo
SRC=$DEP
# The source lives on after the backup: a table written since is in no
# snapshot, so a restore that reached the source would drop it.
mysql_q "$MYSQL_PORT" "$MYSQL_ROOT_PASSWORD" system -e \
	"CREATE TABLE written_after_the_backup (id INT PRIMARY KEY); INSERT INTO written_after_the_backup VALUES (1)" ||
	fail "cannot write into the source"
state "$WORK/source.before"

info "the target cluster: empty servers on other ports"
T=$WORK/dep2
svc=$T/services
mkdir -p "$svc"
bash "$SERVICES" start-mysql "$svc/m" >"$WORK/t-m.log" 2>&1 &
pm=$!
bash "$SERVICES" start-postgres "$svc/p" >"$WORK/t-p.log" 2>&1 &
pp=$!
bash "$SERVICES" start-redis "$svc/r1" backend-redis "$(head -c 12 /dev/urandom | base64 | tr -d '/+=')" \
	>"$WORK/t-r1.log" 2>&1 &
pr1=$!
bash "$SERVICES" start-redis "$svc/r2" system-redis >"$WORK/t-r2.log" 2>&1 &
pr2=$!
for p in $pm $pp $pr1 $pr2; do wait "$p" || { cat "$WORK"/t-*.log >&2; fail "a target server did not start"; }; done
# One env and one stop directory, as deployment.sh lays them out.
cat "$svc"/m/env "$svc"/p/env "$svc"/r1/env "$svc"/r2/env > "$svc/env"
for d in m p r1 r2; do
	for f in "$svc/$d"/*/server.pid; do
		sub=$(basename "$(dirname "$f")")
		ln -s "$svc/$d/$sub" "$svc/$sub"
	done
done
T_ZYNC_PW=$(head -c 12 /dev/urandom | base64 | tr -d '/+=')
printf 'ZYNC_DB_PASSWORD=%s\n' "$T_ZYNC_PW" >> "$svc/env"
chmod 600 "$svc/env"
ln -s services/env "$T/env"
. "$T/env"
[ "$MYSQL_PORT" != "$(. "$SRC/env"; echo "$MYSQL_PORT")" ] || fail "test setup: same MySQL port"
# What the target's operator created before the restore: the zync role and
# its empty database (the zync-database pod does that from the zync Secret).
PGPASSWORD=$PG_PASSWORD psql -qX -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres \
	>/dev/null <<SQL || fail "cannot create the target's zync database"
CREATE ROLE zync LOGIN PASSWORD '$T_ZYNC_PW';
CREATE DATABASE zync_production OWNER zync;
SQL
# The target's endpoint Secrets (system-database, backend-redis,
# system-redis, system-memcache) say where ITS databases are: generated with
# the target's ports and passwords, and nothing else is kept.
export MYSQL_ROOT_PASSWORD MYSQL_PORT PG_PORT REDIS_BACKEND_REDIS_PORT REDIS_BACKEND_REDIS_PASSWORD \
	REDIS_SYSTEM_REDIS_PORT REDIS_BACKEND_REDIS_DIR REDIS_SYSTEM_REDIS_DIR
ZYNC_DB_PASSWORD=$T_ZYNC_PW python3 "$TOP/ci/demo/make_deployment.py" "$T" --namespace 3scale-dr >/dev/null ||
	fail "cannot generate the target's resources"
rm -f "$T"/*.sql "$T"/*.resp
rm -rf "${T:?}/system-storage" && mkdir "$T/system-storage"
find "$T/resources" -type f ! -name system-database.json ! -name backend-redis.json \
	! -name system-redis.json ! -name system-memcache.json -delete
(cd "$T/resources" && find . -type f | sort) > "$WORK/target-resources"
[ "$(wc -l < "$WORK/target-resources")" = 4 ] || fail "test setup: target resources"
cp -r "$T/resources/secret" "$WORK/target-secrets"
# zync-database: the target has no zync Secret, and the restored one keeps
# none of the source's endpoint (its DATABASE_URL names the source's
# server): the target's address and password are given in the
# configuration.
( umask 077; printf '%s\n' "$T_ZYNC_PW" > "$WORK/zync-password" )
python3 - "$T/config.json" "$WORK/target.json" "$PG_PORT" "$WORK/zync-password" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["post_restore"] = []
z = c["components"]["zync-database"]
z.update({"host": "127.0.0.1", "port": int(sys.argv[3]), "user": "zync", "database": "zync_production",
          "password_file": sys.argv[4]})
json.dump(c, open(sys.argv[2], "w"), indent=2)
PY

T_MYSQL_PORT=$(. "$T/env"; echo "$MYSQL_PORT")
T_MYSQL_PW=$(. "$T/env"; echo "$MYSQL_ROOT_PASSWORD")
S_MYSQL_PORT=$(. "$SRC/env"; echo "$MYSQL_PORT")

info "a migration WITHOUT --skip-endpoint-secrets never touches the source database"
# The snapshot's system-database Secret names the SOURCE's MariaDB (and its
# password); the target's own Secret names the target's. The Secrets step
# applies the snapshot's copy first: the system-mysql step must still load
# into the target, resolved from the target's Secret as it was before the
# restore, never "clean" (DROP every table of) the source.
ok restore "$SNAP" --repo "$REPO" --config "$WORK/target.json" --only secrets,system-mysql --dry-run
expect_err "-> mysql root@127\.0\.0\.1:$T_MYSQL_PORT/system" "the dry run prints the target's endpoint"
expect_err "endpoint from the target's Secret system-database" "the dry run says where the endpoint came from"
expect_err "snapshot's source: .*127\.0\.0\.1:$S_MYSQL_PORT/system" "the dry run prints the source's endpoint"
ok restore "$SNAP" --repo "$REPO" --config "$WORK/target.json" --only secrets,system-mysql --dry-run --json
python3 - "$OUT" "$T_MYSQL_PORT" "$S_MYSQL_PORT" <<'PY' || fail "the plan does not name both endpoints"
import json, sys
d = json.load(open(sys.argv[1]))
tport, sport = int(sys.argv[2]), int(sys.argv[3])
assert d["migration"] is True, d.get("migration")
m = {s["component"]: s for s in d["steps"]}["system-mysql"]
e, src = m["plan"]["endpoint"], m["plan"]["snapshot_source"]
assert (e["host"], e["port"], e["database"], e["user"]) == ("127.0.0.1", tport, "system", "root"), e
assert e["from"].startswith("the target's Secret system-database"), e
assert (src["host"], src["port"], src["database"]) == ("127.0.0.1", sport, "system"), src
assert "password" not in json.dumps(d).lower().replace("password_", ""), "a password field is printed"
# Without --skip-endpoint-secrets the snapshot's system-database replaces the target's: said.
assert any(w.startswith("Secret system-database is replaced") for w in d["warnings"]), d["warnings"]
PY
ok restore "$SNAP" --repo "$REPO" --config "$WORK/target.json" --only secrets,system-mysql --json
state "$WORK/source.mid"
diff "$WORK/source.before" "$WORK/source.mid" >&2 || fail "the migration wiped or changed the source database"
n=$(mysql_q "$T_MYSQL_PORT" "$T_MYSQL_PW" system -e "SELECT COUNT(*) FROM accounts")
[ "${n:-0}" -gt 50 ] || fail "the target's database did not get the data ($n accounts)"
python3 - "$OUT" "$T_MYSQL_PORT" <<'PY' || fail "the report does not name the endpoint used"
import json, sys
d = json.load(open(sys.argv[1]))
m = {s["component"]: s for s in d["steps"]}["system-mysql"]
assert m["status"] == "applied" and m["endpoint"]["port"] == int(sys.argv[2]), m
PY
# Back to the target's own endpoint Secrets only, for what follows.
rm -f "$T/resources/secret/"*.json && cp "$WORK/target-secrets/"*.json "$T/resources/secret/"

info "a migration target equal to the snapshot's source is refused without --allow-source-target"
cp "$SRC/resources/secret/system-database.json" "$T/resources/secret/system-database.json"
t restore "$SNAP" --repo "$REPO" --config "$WORK/target.json" --only secrets,system-mysql --dry-run
expect_rc 2 "a target equal to the source"
expect_err "system-mysql.*is the snapshot's source.*--allow-source-target" "the refusal names the component and the flag"
t restore "$SNAP" --repo "$REPO" --config "$WORK/target.json" --only secrets,system-mysql
expect_rc 2 "a target equal to the source, not a dry run"
state "$WORK/source.mid"
diff "$WORK/source.before" "$WORK/source.mid" >&2 || fail "a refused restore changed the source"
ok restore "$SNAP" --repo "$REPO" --config "$WORK/target.json" --only secrets,system-mysql --dry-run \
	--allow-source-target
expect_err "127\.0\.0\.1:$S_MYSQL_PORT/system" "the allowed plan names the source's endpoint as the target"
cp "$WORK/target-secrets/system-database.json" "$T/resources/secret/system-database.json"
# The source's own configuration with a domain rewrite is a migration into
# the source itself: every endpoint is the source's.
t restore "$SNAP" --repo "$REPO" --config "$WORK/config.json" --rewrite-domain "$OLD=$NEW" --dry-run
expect_rc 2 "a domain rewrite into the source"
expect_err "is the snapshot's source" "the rewrite into the source is refused"

info "dry run of the migration: the plan names the rewrite, touches nothing"
ok restore "$SNAP" --repo "$REPO" --config "$WORK/target.json" --dry-run --json \
	--rewrite-domain "$OLD=$NEW" --skip-endpoint-secrets
python3 - "$OUT" <<'PY' || fail "the migration plan is wrong"
import json, sys
d = json.load(open(sys.argv[1]))
st = {s["component"]: s for s in d["steps"]}
assert set(st["secrets"]["plan"]["left_out"]) == {"system-database", "backend-redis", "system-redis",
                                                  "system-memcache"}, st["secrets"]["plan"]
assert st["system-mysql"]["plan"]["domain_rewrite"] == ["accounts.domain", "accounts.self_domain"]
PY
[ -z "$(ls "$T/system-storage")" ] || fail "--dry-run wrote files"

info "restore into the target with --rewrite-domain $OLD=$NEW --skip-endpoint-secrets"
ok restore "$SNAP" --repo "$REPO" --config "$WORK/target.json" --json \
	--rewrite-domain "$OLD=$NEW" --skip-endpoint-secrets
cp "$OUT" "$WORK/restore.json"
[ "$(json_get "$WORK/restore.json" "sorted({s['status'] for s in d['steps']})")" = "['applied']" ] ||
	fail "not every step applied"

info "databases, Redis and files equal the source's"
DEP=$T state "$WORK/target.after"
. "$SRC/env"
# The sections that a migration must carry over unchanged.
for s in zync backend-redis system-redis system-storage; do
	diff <(section "$WORK/source.before" "$s") <(section "$WORK/target.after" "$s") >&2 ||
		fail "$s differs between the source and the target"
done
# system: every table but accounts has the same checksum and row count,
# the same triggers and routines; accounts differs in its domain columns only.
diff <(section "$WORK/source.before" system | grep -v '^system.accounts\|^accounts \|written_after_the_backup') \
	<(section "$WORK/target.after" system | grep -v '^system.accounts\|^accounts ') >&2 ||
	fail "the system database differs beyond the accounts table"
mysql_q "$MYSQL_PORT" "$MYSQL_ROOT_PASSWORD" system -e "SELECT * FROM accounts ORDER BY id" > "$WORK/acc.src"
mysql_q "$T_MYSQL_PORT" "$T_MYSQL_PW" system -e "SELECT * FROM accounts ORDER BY id" > "$WORK/acc.dst"
cols=$(mysql_q "$T_MYSQL_PORT" "$T_MYSQL_PW" -e \
	"SELECT GROUP_CONCAT(column_name ORDER BY ordinal_position) FROM information_schema.columns WHERE table_schema='system' AND table_name='accounts'")
python3 - "$WORK/acc.src" "$WORK/acc.dst" "$cols" "$OLD" "$NEW" <<'PY' || fail "accounts was not rewritten as it should be"
import re, sys
src, dst = [[l.rstrip("\n").split("\t") for l in open(p)] for p in sys.argv[1:3]]
cols = sys.argv[3].split(",")
old, new = sys.argv[4], sys.argv[5]
dom = {cols.index("domain"), cols.index("self_domain")}
assert len(src) == len(dst) and len(src) > 50, (len(src), len(dst))
pat = re.compile(r"(^|\.)" + re.escape(old) + r"$")
rewritten = 0
for a, b in zip(src, dst):
    for i, (x, y) in enumerate(zip(a, b)):
        if i in dom:
            want = pat.sub(lambda m: m.group(1) + new, x)
            assert y == want, (cols[i], x, y)
            rewritten += x != y
        else:
            assert x == y, (cols[i], x, y)
assert rewritten == 8, rewritten  # master + 3 providers, domain and self_domain
PY
domains_rewritten "$T_MYSQL_PORT" "$T_MYSQL_PW" ""

info "ConfigMaps and the APIManager carry the new domain; endpoint Secrets are the target's"
python3 - "$T/resources" "$SRC/resources" "$WORK/target-secrets" "$OLD" "$NEW" <<'PY' || fail "the restored resources are wrong"
import json, os, sys
tgt, src, tsec, old, new = sys.argv[1:]
load = lambda *p: json.load(open(os.path.join(*p)))
env = load(tgt, "configmap", "system-environment.json")
assert env["data"]["THREESCALE_SUPERDOMAIN"] == new, env["data"]
apim = load(tgt, "apimanager", "3scale.json")
assert apim["spec"]["wildcardDomain"] == new, apim["spec"]
# Nothing else of the ConfigMaps changed; and no old domain anywhere in them.
for fn in os.listdir(os.path.join(src, "configmap")):
    a, b = load(src, "configmap", fn)["data"], load(tgt, "configmap", fn)["data"]
    for k in a:
        assert b[k] == a[k].replace(old, new) if k == "THREESCALE_SUPERDOMAIN" else b[k] == a[k], (fn, k)
    assert old not in json.dumps(b), fn
endpoint = {"system-database", "backend-redis", "system-redis", "system-memcache"}
for fn in os.listdir(os.path.join(src, "secret")):
    name = fn[:-5]
    b = load(tgt, "secret", fn)
    if name in endpoint:
        assert b == load(tsec, fn), name + " was replaced"
    elif name == "zync":
        # Its database's URL and password are an endpoint: the target had
        # no zync Secret, so they are left out, never the source's.
        a = dict(load(src, "secret", fn)["data"])
        for k in ("DATABASE_URL", "ZYNC_DATABASE_PASSWORD"):
            assert k in a and k not in b["data"], (name, k)
            del a[k]
        assert b["data"] == a, name
    else:
        assert b["data"] == load(src, "secret", fn)["data"], name
PY

info "the same migration again (as after an interruption): planned from the configuration"
# The zync Secret the first run created has no DATABASE_URL (the target had
# none); the configuration names zync's server. Before, the plan stopped
# at the Secret ("Secret zync has no key DATABASE_URL"): the documented
# command could not run twice.
# The plan as people read it (text): it names the keys --skip-endpoint-secrets
# keeps, as docs/config.md says (before, --json only).
ok restore "$SNAP" --repo "$REPO" --config "$WORK/target.json" --dry-run \
	--rewrite-domain "$OLD=$NEW" --skip-endpoint-secrets
grep -q '^      endpoint from the configuration (host, port, user, database, password_file): the target.s Secret zync has no key DATABASE_URL$' "$ERR" ||
	fail "the second run's plan does not say where zync's endpoint comes from: $(cat "$ERR")"
grep -q '^      zync keeps the target.s endpoint keys (left out where it has none): DATABASE_URL ZYNC_DATABASE_PASSWORD' "$ERR" ||
	fail "the plan does not name the endpoint keys kept: $(cat "$ERR")"

info "the run's text report names the endpoint keys kept, as its plan does"
ok restore "$SNAP" --repo "$REPO" --config "$WORK/target.json" --only secrets \
	--rewrite-domain "$OLD=$NEW" --skip-endpoint-secrets
grep -q '^      zync kept the target.s endpoint keys (left out where it had none): DATABASE_URL ZYNC_DATABASE_PASSWORD' "$ERR" ||
	fail "the run's report does not name the endpoint keys kept: $(cat "$ERR")"

# The in-place plan of the target's own snapshot ($OUT: restore --dry-run
# --json) writes zync where its backup read it: the configuration's server.
inplace_plan_as_backup() {
	python3 - "$OUT" "$T_PG_PORT" <<'PY2' || fail "$1"
import json, sys
d = json.load(open(sys.argv[1]))
p = {s["component"]: s for s in d["steps"]}["zync-database"]["plan"]
e, src = p["endpoint"], p["snapshot_source"]
assert d["in_place"] is True and e["from"].startswith("the configuration ("), (d["in_place"], e)
assert (e["host"], e["port"], e["database"]) == (src["host"], src["port"], src["database"]) == \
    ("127.0.0.1", int(sys.argv[2]), "zync_production"), (e, src)
PY2
}

info "the target's own backup: zync from the configuration, as its restore writes it"
# The zync Secret the migration created has no DATABASE_URL; the
# configuration names zync's server, where the restore wrote (above).
# Before, the target's backup failed on the Secret ("Secret zync has no
# key DATABASE_URL") until the operator filled it.
T_PG_PORT=$(. "$T/env"; echo "$PG_PORT")
# Of zync-database alone: the rest is read as it was before.
python3 - "$WORK/target.json" "$WORK/target-zync.json" <<'PY2'
import json, sys
c = json.load(open(sys.argv[1]))
for n in ("secrets", "configmaps", "apimanager", "system-mysql", "system-storage", "backend-redis",
          "system-redis"):
    c["components"].setdefault(n, {})["enabled"] = False
json.dump(c, open(sys.argv[2], "w"), indent=2)
PY2
ok backup --repo "$REPO" --config "$WORK/target-zync.json" --json
BSNAP=$(json_get "$OUT" "d['snapshot_id']")
ok show "$BSNAP" --repo "$REPO" --json
python3 - "$OUT" "$T_PG_PORT" <<'PY2' || fail "the target's backup did not read zync where the restore wrote"
import json, sys
st = {s["name"]: s["meta"] for s in json.load(open(sys.argv[1]))["streams"]}
assert list(st) == ["zync-database.sql"], list(st)
m = st["zync-database.sql"]
assert (m["db_host"], m["db_port"], m["db_user"], m["database"]) == \
    ("127.0.0.1", int(sys.argv[2]), "zync", "zync_production"), m
assert m["endpoint_from"] == ("the configuration (host, port, user, database, password_file): "
                              "Secret zync has no key DATABASE_URL"), m
PY2
# Its restore (in place) resolves zync the same way: one database.
ok restore "$BSNAP" --repo "$REPO" --config "$WORK/target-zync.json" --dry-run --json
inplace_plan_as_backup "the target's restore plan differs from its backup"

info "no zync Secret at all: the backup reads the configuration's server, as the restore writes"
# The same rule as a Secret without DATABASE_URL: the configuration names
# zync's server. Before, the backup failed on the missing Secret though a
# restore of the same configuration writes into that server.
mv "$T/resources/secret/zync.json" "$WORK/zync-secret.json"
ok backup --repo "$REPO" --config "$WORK/target-zync.json" --json
BSNAP=$(json_get "$OUT" "d['snapshot_id']")
ok show "$BSNAP" --repo "$REPO" --json
python3 - "$OUT" "$T_PG_PORT" <<'PY2' || fail "the backup without a zync Secret did not read the configuration's server"
import json, sys
m = {s["name"]: s["meta"] for s in json.load(open(sys.argv[1]))["streams"]}["zync-database.sql"]
assert (m["db_host"], m["db_port"], m["db_user"], m["database"]) == \
    ("127.0.0.1", int(sys.argv[2]), "zync", "zync_production"), m
assert m["endpoint_from"] == ("the configuration (host, port, user, database, password_file): "
                              "there is no Secret zync"), m
PY2
ok restore "$BSNAP" --repo "$REPO" --config "$WORK/target-zync.json" --dry-run --json
inplace_plan_as_backup "the restore plan without a zync Secret differs from its backup"
# Without a server in the configuration, the backup refuses, naming the
# Secret and what to give, and writes no snapshot.
python3 - "$WORK/target-zync.json" "$WORK/target-zync-nohost.json" <<'PY2'
import json, sys
c = json.load(open(sys.argv[1]))
for k in ("host", "port"):
    c["components"]["zync-database"].pop(k)
json.dump(c, open(sys.argv[2], "w"), indent=2)
PY2
t backup --repo "$REPO" --config "$WORK/target-zync-nohost.json"
[ "$RC" -ne 0 ] || fail "a backup without the zync Secret and without its server in the configuration succeeded"
expect_err "there is no Secret zync to say where the database is: create it, or give the database's host \(or socket\)" \
	"the refusal without a Secret names it and the way out"
mv "$WORK/zync-secret.json" "$T/resources/secret/zync.json"

info "the source deployment is untouched"
state "$WORK/source.after"
diff "$WORK/source.before" "$WORK/source.after" >&2 || fail "the migration changed the source deployment"
for secret in "$MYSQL_ROOT_PASSWORD" "$T_MYSQL_PW" "$T_ZYNC_PW"; do
	! grep -qF "$secret" "$WORK/restore.json" "$ERR" || fail "a password is in the output"
done
info "OK"
