#!/usr/bin/env bash
# What a restore refuses or stops on: a damaged chunk with --verify-first
# (nothing written) and without (stops at the damaged stream, exit 3, a
# report of what was applied and what was not); a hostile tar (../) that
# must not touch the tree; a component named in --only that the snapshot
# does not have.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

backup_demo

info "a component named in --only that the snapshot lacks"
t restore "$SNAP" --repo "$REPO" --config "$WORK/config.json" --only system-postgresql
[ "$RC" -ne 0 ] || fail "--only system-postgresql succeeded"
expect_err "system-postgresql" "missing component"

info "a damaged chunk of zync-database.sql, with --verify-first: nothing written"
ok show --repo "$REPO" "$SNAP" --json --chunks
chunk=$(json_get "$OUT" "[s for s in d['streams'] if s['name'] == 'zync-database.sql'][0]['chunks'][0][0]")
file=$(find "$REPO/data" -name "$chunk*" | head -1)
[ -f "$file" ] || fail "chunk file of zync-database.sql not found"
flip_byte "$file" 40
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
[ -e "$DEP/resources/secret/system-app.json" ] || fail "the Secrets before the damage were not applied"

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
info "OK"
