#!/usr/bin/env bash
# What a restore refuses or stops on: a damaged chunk with --verify-first
# (nothing written) and without (stops at the damaged stream, exit 3, a
# report of what was applied and what was not); a hostile tar (../) that
# must not touch the tree; a component named in --only that the snapshot
# does not have; a store error mid-stream that is not damage (an unreadable
# chunk): the consumer is killed before its input ends, never sees a clean
# end of input, and the step is reported failed; the profile's hooks (in
# a pod) under the local transport, refused by the plan.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

# Chunk files damaged and hidden below (lib_chunk.sh); chunks of at most
# 256 KiB, so that system-mysql.sql is more than one whatever its content.
backup_demo --format 1 --chunk-min 16384 --chunk-avg 65536 --chunk-max 262144

info "a component named in --only that the snapshot lacks"
t restore "$SNAP" --repo "$REPO" --config "$WORK/config.json" --only system-postgresql
[ "$RC" -ne 0 ] || fail "--only system-postgresql succeeded"
expect_err "system-postgresql" "missing component"

info "the profile's hooks (in the system-sidekiq pod) under the local transport: refused by the plan"
# config.md's Example 4 as written (no post_restore: the profile's). The
# local transport has no pods: before, the plan showed `bundle exec rake`
# on this host, and the run failed there after every data step was applied.
python3 - "$WORK/config.json" "$WORK/profile-hooks.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
del c["post_restore"]
json.dump(c, open(sys.argv[2], "w"), indent=2)
PY
rm -f "$DEP/resources/secret/system-app.json"
t restore "$SNAP" --repo "$REPO" --config "$WORK/profile-hooks.json" --dry-run
expect_rc 2 "the plan of hooks in a pod under the local transport"
expect_err "post_restore\[0\] runs in a pod of workload system-sidekiq, which the local transport does not reach" \
	"the error names the hook and its workload"
expect_err '"post_restore": \[\]' "the error says how to turn the hooks off"
t restore "$SNAP" --repo "$REPO" --config "$WORK/profile-hooks.json" --only system-mysql
expect_rc 2 "a run of hooks in a pod under the local transport"
[ -e "$DEP/resources/secret/system-app.json" ] && fail "a Secret was written before the hooks were refused"
ok restore "$SNAP" --repo "$REPO" --config "$WORK/profile-hooks.json" --only secrets --dry-run
# The plan's text names a list only when it has something, as for "removes:"
# and "not in the snapshot:" (before, "leaves out:" stood there empty).
expect_err "^      creates: system-app$" "the plan does not say the Secret it creates"
grep -E '^ +[a-z ]+:$' "$ERR" && fail "the plan's text has an empty list"

info "a damaged chunk of zync-database.sql, with --verify-first: nothing written"
damage_chunk "$REPO" "$SNAP" zync-database.sql 0
rm -f "$DEP/resources/secret/system-app.json"
t restore "$SNAP" --repo "$REPO" --config "$WORK/config.json" --verify-first
expect_rc 3 "damaged chunk with --verify-first"
expect_err "nothing was written" "verify-first"
[ -e "$DEP/resources/secret/system-app.json" ] && fail "--verify-first wrote a Secret before finding the damage"

info "the same without --verify-first: stops at zync-database with a report"
t restore "$SNAP" --repo "$REPO" --config "$WORK/config.json"
expect_rc 3 "damaged chunk"
expect_err "stopped at zync-database" "report"
expect_err "applied: secrets configmaps apimanager system-mysql system-storage" "report of what was applied"
expect_err "not applied: backend-redis system-redis" "report of what was not applied"
expect_err "with --undo-snapshot, a restore that fails part-way is rolled back" "the hint"
[ -e "$DEP/resources/secret/system-app.json" ] || fail "the Secrets before the damage were not applied"

info "a store error mid-stream (not damage): the consumer never sees a clean end of input"
# An exec consumer that commits only at a clean end of its input: if tsarc
# closed its stdin normally after the error, blob.out would appear.
python3 - "$WORK/config.json" "$WORK/blob.json" "$WORK/blob.out" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["components"]["blob"] = {"kind": "exec", "script": "seq 1 1500000",
    "restore": {"order": 45, "command": ["sh", "-c", 'cat > "$0.part" && mv "$0.part" "$0"', sys.argv[3]]}}
json.dump(c, open(sys.argv[2], "w"), indent=2)
PY
ok backup --repo "$REPO" --config "$WORK/blob.json" --json
BLOB=$(json_get "$OUT" "d['snapshot_id']")
unreadable_last_chunk "$REPO" "$BLOB" blob.dump
t restore "$BLOB" --repo "$REPO" --config "$WORK/blob.json" --only blob --json
[ "$RC" -ne 0 ] || fail "a restore with an unreadable chunk succeeded"
[ "$RC" -ne 3 ] || fail "an I/O error was reported as damage (exit 3)"
[ -e "$WORK/blob.out" ] && fail "the consumer saw a clean end of a partial stream and committed it"
[ "$(json_get "$OUT" "[s['status'] for s in d['steps'] if s['component'] == 'blob'][0]")" = failed ] ||
	fail "the step is not reported failed"
expect_err "stopped before the end of its input" "the consumer was stopped"
info "system-mysql whose last chunk cannot be read: mysql never starts, the database untouched"
# mysql applies statements as it reads them: the stream is read whole
# (through the load's filters) before mysql is started, so neither the
# clean step (DROP of every table) nor the dump's first tables run ahead
# of a chunk that cannot be read (before, mysql had loaded up to it).
hide_chunk "$REPO" "$SNAP" system-mysql.sql -1 "$WORK/saved-chunk2"
mfile=$CHUNK_FILE
[ "$CHUNK_COUNT" -gt 1 ] || fail "test setup: system-mysql.sql is one chunk"
# A table made since the backup: the clean would drop it.
demo_mysql "CREATE TABLE since_backup (id INT)" || fail "cannot add a table to system"
state "$WORK/db.before"
t restore "$SNAP" --repo "$REPO" --config "$WORK/config.json" --only system-mysql --json
[ "$RC" -ne 0 ] && [ "$RC" -ne 3 ] || fail "an unreadable chunk of system-mysql.sql: exit $RC"
[ "$(json_get "$OUT" "[s['status'] for s in d['steps'] if s['component'] == 'system-mysql'][0]")" = failed ] ||
	fail "the system-mysql step is not reported failed"
expect_err "is not a regular file" "the error names the chunk that cannot be read"
state "$WORK/db.after"
diff "$WORK/db.before" "$WORK/db.after" >&2 || fail "a stream that could not be read changed the database"
demo_mysql "DROP TABLE since_backup" || fail "cannot drop the table again"
rmdir "$HIDDEN_CHUNK" "$mfile"
mv "$WORK/saved-chunk" "$HIDDEN_CHUNK"
mv "$WORK/saved-chunk2" "$mfile"

info "a hostile tar is refused and the tree is untouched"
python3 - "$WORK/evil.tar" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w") as t:
    for name in ("./ok.txt", "../escaped.txt"):
        data = b"x"
        i = tarfile.TarInfo(name)
        i.size = len(data)
        t.addfile(i, io.BytesIO(data))
PY
t_in "$WORK/evil.tar" backup --repo "$REPO" --stdin --name system-storage.tar --json
EVIL=$(json_get "$OUT" "d['snapshot_id']")
(cd "$DEP/system-storage" && find . | sort) > "$WORK/tree.before"
t restore "$EVIL" --repo "$REPO" --config "$WORK/config.json" --only system-storage
[ "$RC" -ne 0 ] || fail "the hostile tar was restored"
expect_err "system-storage" "hostile tar names the component"
[ -e "$DEP/escaped.txt" ] && fail "an entry escaped the tree"
(cd "$DEP/system-storage" && find . | sort) > "$WORK/tree.after"
diff "$WORK/tree.before" "$WORK/tree.after" >&2 || fail "the hostile tar changed the tree"

info "a snapshot's recipe names commands: only the target configuration's run"
# Whoever writes the repository writes the recipes a snapshot carries. One
# whose exec component restores with a command of its own, and whose
# system-mysql recipe adds client options, restored with a target config
# that gives neither: nothing of the snapshot's runs.
python3 - "$WORK/config.json" "$WORK/forger.json" "$WORK/target.json" "$WORK/pwned" <<'PY'
import json, sys
base = json.load(open(sys.argv[1]))
forged, target = json.loads(json.dumps(base)), json.loads(json.dumps(base))
forged["components"]["tool"] = {"kind": "exec", "script": "echo data",
    "restore": {"order": 45, "command": ["sh", "-c", 'touch "$0"', sys.argv[4]]}}
forged["components"]["system-mysql"]["restore"] = {"options": ["--init-command=SELECT 1/0 INTO @x"],
    "tool": "/bin/false"}
target["components"]["tool"] = {"kind": "exec", "script": "echo data"}
json.dump(forged, open(sys.argv[2], "w"), indent=2)
json.dump(target, open(sys.argv[3], "w"), indent=2)
PY
ok backup --repo "$REPO" --config "$WORK/forger.json" --json
FORGED=$(json_get "$OUT" "d['snapshot_id']")
info "a recipe missing what its step needs stops the restore before the first step"
# tool (order 45) has no restore.command in the target: the Secrets (order
# 10) must not be applied first and then the restore stop at tool.
rm -f "$DEP/resources/secret/system-app.json"
t restore "$FORGED" --repo "$REPO" --config "$WORK/target.json" --json
[ -e "$DEP/resources/secret/system-app.json" ] &&
	fail "a Secret was applied before the restore found the missing restore.command"
expect_rc 2 "a restore whose exec component has no restore.command"
expect_err "components.tool.restore.command is required" "the error names the field by its path"
t restore "$FORGED" --repo "$REPO" --config "$WORK/target.json" --dry-run
expect_rc 2 "the dry run finds the missing restore.command too"
ok restore "$FORGED" --repo "$REPO" --config "$WORK/target.json" --only secrets
[ -e "$DEP/resources/secret/system-app.json" ] || fail "the Secrets were not restored"
t restore "$FORGED" --repo "$REPO" --config "$WORK/target.json" --only tool --json
[ "$RC" -ne 0 ] || fail "an exec restore ran without a command of the target configuration"
[ -e "$WORK/pwned" ] && fail "the snapshot's restore command ran"
expect_err 'components.tool.restore.command is required' "the missing command is named"
ok restore "$FORGED" --repo "$REPO" --config "$WORK/target.json" --only system-mysql --json
[ "$(json_get "$OUT" "[s['status'] for s in d['steps'] if s['component'] == 'system-mysql'][0]")" = applied ] ||
	fail "system-mysql was not restored with the target's own tool and options"
info "OK"
