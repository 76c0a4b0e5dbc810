#!/usr/bin/env bash
# Backs up the demo deployment (real MariaDB, PostgreSQL, two Redis, a file
# tree, Secrets/ConfigMaps/APIManager) with `tsarc backup --config`, then
# dumps every stream and proves it against its source:
#   - the SQL dump of system loads into a fresh MariaDB: same CHECKSUM TABLE
#     for every table, same triggers, routine, charsets and collations;
#   - the zync dump loads into a fresh database: same rows in every table;
#   - each RDB loads into a fresh redis-server: same DEBUG DIGEST;
#   - the tar extracts to the same tree (contents, modes, owners, mtimes, links);
#   - the resources equal the originals minus exactly the stripped fields.
# A second backup stores nothing new but the streams the servers change
# between dumps (deduplication). Run through
# tests/s3/run_with_s3.sh, the repository is on S3 (Ceph RGW in CI).
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

deploy_up 1
# A local repository, or (through tests/s3/run_with_s3.sh) one on a real S3.
REPO=${TSARC_TEST_S3_URL:-$WORK/repo}
init_repo "$REPO"
info "repository: $REPO"

info "print-config shows the merged profile"
ok backup --config "$DEP/config.json" --print-config
[ "$(json_get "$OUT" "d['components']['system-mysql']['container']")" = system-mysql ] ||
	fail "the effective config lost the profile's container"
[ "$(json_get "$OUT" "d['components']['system-mysql']['external']")" = True ] ||
	fail "the effective config lost the override"

info "backup of the whole deployment"
ok backup --repo "$REPO" --config "$DEP/config.json" --json --tag nightly
cp "$OUT" "$WORK/backup1.json"
SNAP=$(json_get "$WORK/backup1.json" "d['snapshot_id']")
ok show --repo "$REPO" "$SNAP" --json
cp "$OUT" "$WORK/show.json"
python3 - "$WORK/show.json" "$DEP/resources" <<'PY' || fail "the manifest does not describe the components"
import json, os, sys
d = json.load(open(sys.argv[1]))
# Every stream records the deployment it was taken from (a restore tells
# in place from a migration by it): this host and its resources_dir.
for s in d["streams"]:
    dep = s["meta"]["deployment"]
    assert dep["transport"] == "local" and dep["host"] and \
        dep["resources_dir"] == os.path.realpath(sys.argv[2]), dep
streams = {s["name"]: s for s in d["streams"]}
want = {"secrets.json": "resources", "configmaps.json": "resources", "apimanager.json": "resources",
        "system-mysql.sql": "mysql", "system-storage.tar": "files", "zync-database.sql": "postgres",
        "backend-redis.rdb": "redis", "system-redis.rdb": "redis"}
assert set(streams) == set(want), sorted(streams)
for name, kind in want.items():
    s = streams[name]
    m = s["meta"]
    assert s["kind"] == kind and m["kind"] == kind, name
    assert s["size"] > 0 and len(s["sha256"]) == 64, name
    assert m["source"]["transport"] == "local" and m["source"]["host"], name
    assert m["tool_version"], name
    assert m["duration_seconds"] >= 0 and m["exit_status"] == 0, name
    assert "order" in m["restore"], name
assert "MariaDB" in streams["system-mysql.sql"]["meta"]["tool_version"]
assert streams["system-mysql.sql"]["meta"]["database"] == "system"
assert "--single-transaction" in streams["system-mysql.sql"]["meta"]["command"]
assert streams["zync-database.sql"]["meta"]["database"] == "zync_production"
assert streams["secrets.json"]["meta"]["items"].__len__() == 13
assert len(streams["configmaps.json"]["meta"]["items"]) == 7
PY
# No credential of the deployment may be in the manifest.
for secret in "$MYSQL_ROOT_PASSWORD" "$ZYNC_DB_PASSWORD" "$REDIS_BACKEND_REDIS_PASSWORD"; do
	! grep -qF "$secret" "$WORK/show.json" || fail "a password is in the manifest"
done

dump() { # STREAM FILE
	t dump --repo "$REPO" "$SNAP" "$1"
	[ "$RC" -eq 0 ] || fail "dump of $1 exited with $RC"
	mv "$OUT" "$2"
}

info "system-mysql.sql loads into a fresh MariaDB with the same checksums"
dump system-mysql.sql "$WORK/system.sql"
svc_start fresh-mysql mysql
mysql_q "$MYSQL_PORT" "$MYSQL_ROOT_PASSWORD" -e "CREATE DATABASE system" ||
	fail "cannot create the database"
mysql_q "$MYSQL_PORT" "$MYSQL_ROOT_PASSWORD" system < "$WORK/system.sql" ||
	fail "the dump does not load"
FRESH_PORT=$MYSQL_PORT FRESH_PW=$MYSQL_ROOT_PASSWORD
. "$DEP/env"
tables=$(mysql_q "$MYSQL_PORT" "$MYSQL_ROOT_PASSWORD" -e \
	"SELECT GROUP_CONCAT(table_name ORDER BY table_name) FROM information_schema.tables WHERE table_schema='system'")
[ -n "$tables" ] || fail "no tables in the source"
q_shape="SELECT table_name, table_collation FROM information_schema.tables WHERE table_schema='system' ORDER BY 1;
SELECT trigger_name, event_manipulation, action_timing FROM information_schema.triggers WHERE trigger_schema='system' ORDER BY 1;
SELECT routine_name, routine_type FROM information_schema.routines WHERE routine_schema='system' ORDER BY 1;
SELECT table_name, column_name, character_set_name, collation_name FROM information_schema.columns WHERE table_schema='system' AND collation_name IS NOT NULL ORDER BY 1, 2;"
mysql_q "$MYSQL_PORT" "$MYSQL_ROOT_PASSWORD" system -e "CHECKSUM TABLE ${tables//,/, }; $q_shape" > "$WORK/src.sum"
mysql_q "$FRESH_PORT" "$FRESH_PW" system -e "CHECKSUM TABLE ${tables//,/, }; $q_shape" > "$WORK/dst.sum"
diff "$WORK/src.sum" "$WORK/dst.sum" >&2 || fail "the restored system database differs"
grep -q "sp_invoices_friendly_id" "$WORK/dst.sum" || fail "the stored procedure is missing"
[ "$(grep -c '_tenant_id' "$WORK/dst.sum")" -ge 13 ] || fail "triggers are missing"
grep -q "utf8mb3_bin" "$WORK/dst.sum" || fail "utf8mb3_bin collations were lost"

info "zync-database.sql loads into a fresh database with the same rows"
dump zync-database.sql "$WORK/zync.sql"
pgq() { PGPASSWORD=$PG_PASSWORD psql -qXAt -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres "$@"; }
pgq -d postgres -c "CREATE DATABASE zync_fresh OWNER zync" || fail "cannot create zync_fresh"
pgq -d zync_fresh -f "$WORK/zync.sql" >/dev/null 2>"$WORK/psql.err" || { cat "$WORK/psql.err" >&2; fail "the zync dump does not load"; }
for tbl in $(pgq -d zync_production -c "SELECT tablename FROM pg_tables WHERE schemaname='public' ORDER BY 1"); do
	a=$(pgq -d zync_production -c "SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM $tbl t")
	b=$(pgq -d zync_fresh -c "SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM $tbl t") ||
		fail "table $tbl is missing after restore"
	[ "$a" = "$b" ] || fail "table $tbl differs: $a vs $b"
done
[ "$(pgq -d zync_fresh -c "SELECT relpersistence FROM pg_class WHERE relname='que_jobs'")" = u ] ||
	fail "que_jobs is no longer UNLOGGED"

info "the RDB snapshots load into fresh Redis servers with the same DEBUG DIGEST"
dump backend-redis.rdb "$WORK/backend.rdb"
dump system-redis.rdb "$WORK/system.rdb"
[ "$(rdb_digest "$WORK/backend.rdb" fresh-backend)" = "$(redis_digest "$REDIS_BACKEND_REDIS_PORT" "$REDIS_BACKEND_REDIS_PASSWORD")" ] ||
	fail "backend-redis digest differs"
[ "$(rdb_digest "$WORK/system.rdb" fresh-system)" = "$(redis_digest "$REDIS_SYSTEM_REDIS_PORT")" ] ||
	fail "system-redis digest differs"
[ "$(REDISCLI_AUTH=$REDIS_BACKEND_REDIS_PASSWORD redis-cli -p "$REDIS_BACKEND_REDIS_PORT" --scan --pattern 'stats/*' | wc -l)" -gt 100 ] ||
	fail "the demo has no usage counters"

info "system-storage.tar extracts to the same tree"
dump system-storage.tar "$WORK/storage.tar"
mkdir "$WORK/extracted"
tar -xpf "$WORK/storage.tar" -C "$WORK/extracted" --numeric-owner || fail "the tar does not extract"
diff -r --no-dereference "$DEP/system-storage" "$WORK/extracted" >&2 || fail "file contents differ"
tree() { (cd "$1" && find . -printf '%p %y %m %U %G %s %T@ %l %n\n' | sort); }
tree "$DEP/system-storage" > "$WORK/tree.src"
tree "$WORK/extracted" > "$WORK/tree.dst"
diff "$WORK/tree.src" "$WORK/tree.dst" >&2 || fail "modes, owners, times or links differ"
grep -q ' l 777 .* 2/profiles/logos/large/logo.png' "$WORK/tree.dst" || fail "the symlink was not kept"
grep -q 'logo-hardlink.png f .* 2$' "$WORK/tree.dst" || fail "the hard link was not kept"

info "resources equal the originals minus the stripped fields"
for s in secrets configmaps apimanager; do dump "$s.json" "$WORK/$s.json"; done
python3 - "$WORK" "$DEP/resources" <<'PY' || fail "sanitized resources are wrong"
import copy, json, os, sys
work, res = sys.argv[1], sys.argv[2]
STRIP = ["ownerReferences", "selfLink", "uid", "resourceVersion", "creationTimestamp", "namespace",
         "clusterName", "generation", "managedFields", "deletionTimestamp", "deletionGracePeriodSeconds"]
def expect(doc, label_prefixes=()):
    d = copy.deepcopy(doc)
    d.pop("status", None)
    md = d["metadata"]
    for k in STRIP:
        md.pop(k, None)
    ann = md.get("annotations", {})
    ann.pop("kubectl.kubernetes.io/last-applied-configuration", None)
    if not ann:
        md.pop("annotations", None)
    labels = md.get("labels", {})
    for k in list(labels):
        if any(k.startswith(p) for p in label_prefixes):
            del labels[k]
    if "labels" in md and not labels:
        del md["labels"]
    return d
for stream, sub, prefixes in (("secrets", "secret", ()), ("configmaps", "configmap", ()),
                              ("apimanager", "apimanager", ("secret.apimanager.apps.3scale.net/",))):
    got = json.load(open(os.path.join(work, stream + ".json")))
    assert got["kind"] == "List" and got["apiVersion"] == "v1"
    items = {i["metadata"]["name"]: i for i in got["items"]}
    files = sorted(os.listdir(os.path.join(res, sub)))
    assert len(items) == len(files), (stream, sorted(items))
    for fn in files:
        orig = json.load(open(os.path.join(res, sub, fn)))
        name = orig["metadata"]["name"]
        assert items[name] == expect(orig, prefixes), (stream, name)
        md = items[name]["metadata"]
        assert "uid" not in md and "namespace" not in md and "ownerReferences" not in md
        assert md.get("annotations", {}).get("apps.3scale.net/note") == "kept"
apim = json.load(open(os.path.join(work, "apimanager.json")))["items"][0]
assert "status" not in apim and not any(k.startswith("secret.apimanager") for k in apim["metadata"]["labels"])
assert apim["spec"]["wildcardDomain"] == "example.com"
PY

info "a second backup stores nothing new but what the servers change"
# Chunks never span streams, so an unchanged stream must add nothing: the new
# bytes are at most the sizes of the streams whose bytes differ. Only these
# may differ from one dump to the next: pg_dump writes a random \restrict key
# at the top, and an RDB's header holds the time and memory use of the dump.
ok backup --repo "$REPO" --config "$DEP/config.json" --json
cp "$OUT" "$WORK/backup2.json"
SNAP2=$(json_get "$WORK/backup2.json" "d['snapshot_id']")
ok show --repo "$REPO" "$SNAP2" --json
cp "$OUT" "$WORK/show2.json"
changed=$(python3 - "$WORK/show.json" "$WORK/show2.json" "$WORK/backup2.json" <<'PY'
import json, sys
a, b, backup = (json.load(open(p)) for p in sys.argv[1:4])
first = {s["name"]: s for s in a["streams"]}
second = {s["name"]: s for s in b["streams"]}
assert set(first) == set(second), (sorted(first), sorted(second))
may_change = {"zync-database.sql", "backend-redis.rdb", "system-redis.rdb"}
changed = sorted(n for n in second if second[n]["sha256"] != first[n]["sha256"])
bound = sum(second[n]["size"] for n in changed)
if not set(changed) <= may_change or backup["new_bytes"] > bound:
    print(" ".join(changed))
PY
) || fail "could not compare the two snapshots"
if [ -n "$changed" ]; then
	for name in $changed; do
		"$TSARC" dump --repo "$REPO" "$SNAP" "$name" >"$WORK/a.$name" 2>/dev/null
		"$TSARC" dump --repo "$REPO" "$SNAP2" "$name" >"$WORK/b.$name" 2>/dev/null
		echo "--- $name changed between the two backups:" >&2
		case $name in
		*.rdb | *.tar) cmp "$WORK/a.$name" "$WORK/b.$name" >&2 ;;
		*) diff "$WORK/a.$name" "$WORK/b.$name" | head -40 >&2 ;;
		esac
	done
	cat "$WORK/backup2.json" >&2
	fail "the second backup stored more than the changed streams ($changed)"
fi
ok check --repo "$REPO" --read-data
info "OK"
