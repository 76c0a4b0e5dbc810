#!/usr/bin/env bash
# Which snapshot `tsarc restore latest` restores, when one repository holds
# the backups of several deployments (the nightly CronJob records each as
# `--host 3scale-NAMESPACE`, so staging and production can share a bucket
# and its deduplication) and snapshots that are no deployment's backup (a
# `tsarc backup --stdin` of an ad-hoc dump):
# - with the backups of two hosts, `latest` alone is refused, naming both
#   hosts and --host, and nothing is written (before: the newest snapshot of
#   any host, staging's tree restored into production's);
# - `--host NAME` picks the newest deployment backup of that host; a
#   snapshot id of another host is refused with it;
# - a later `backup --stdin` snapshot is passed over: it is no backup of a
#   deployment;
# - a repository with one host's backups restores `latest` as before;
# - a backup taken while the deployment is half-restored (a restore whose
#   step failed left it so, as its restore state says) is marked: `latest`
#   passes over it, naming it, and forget counts it in a group of its own
#   (before: the nightly backup of the half-restored deployment was the
#   `latest` that the next restore took);
# - a restore whose data steps all applied and whose post_restore hook
#   failed leaves nothing pending: the backup after it is `latest` (before:
#   marked half-restored, as was every later one until a restore ran the hook).
# Files components only: no database server is needed.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

REPO=$WORK/repo
init_repo "$REPO"

# listing DIR: every entry and every file's MD5, sorted
listing() { (cd "$1" && { find . -printf '%p %y\n'; find . -type f -exec md5sum {} +; } | LC_ALL=C sort); }

PROD=$WORK/prod
STAGING=$WORK/staging
mkdir -p "$PROD/files" "$STAGING/files"
echo "production logo" >"$PROD/files/logo.png"
echo "staging logo" >"$STAGING/files/logo.png"
echo "staging only" >"$STAGING/files/test-account.txt"
tree_config "$WORK/prod.json" "$PROD" system-storage
tree_config "$WORK/staging.json" "$STAGING" system-storage

info "production, then staging, backed up into one repository"
ok backup --repo "$REPO" --config "$WORK/prod.json" --host 3scale-prod --json
PROD_SNAP=$(json_get "$OUT" "d['snapshot_id']")
listing "$PROD" >"$WORK/prod.list"
ok backup --repo "$REPO" --config "$WORK/staging.json" --host 3scale-staging --json
STAGING_SNAP=$(json_get "$OUT" "d['snapshot_id']")

# Production breaks.
echo "broken" >"$PROD/files/logo.png"
listing "$PROD" >"$WORK/broken.list"

info "'latest' with two hosts' backups: refused, nothing written"
for dry in "" --dry-run; do
	# shellcheck disable=SC2086
	t restore latest --repo "$REPO" --config "$WORK/prod.json" $dry
	[ "$RC" -ne 0 ] || fail "restore latest $dry: two hosts' backups, and it went ahead: production's files are now: $(cd "$PROD/files" && head -- *)"
	expect_err "3scale-prod" "restore latest $dry: the hosts are named"
	expect_err "3scale-staging" "restore latest $dry: the hosts are named"
	expect_err "--host" "restore latest $dry: the way out is named"
	listing "$PROD" | cmp -s - "$WORK/broken.list" ||
		fail "restore latest $dry: refused, yet production's tree changed: $(listing "$PROD" | diff "$WORK/broken.list" - | head -5)"
done

info "an ad-hoc dump backed up later, with production's host name"
echo "select 1;" >"$WORK/adhoc.sql"
t_in "$WORK/adhoc.sql" backup --repo "$REPO" --stdin --name adhoc.sql --host 3scale-prod --json
[ "$RC" -eq 0 ] || fail "backup --stdin exited with $RC"
ADHOC_SNAP=$(json_get "$OUT" "d['snapshot_id']")

info "--host names the deployment: its newest backup, not the ad-hoc dump"
ok restore latest --repo "$REPO" --config "$WORK/prod.json" --host 3scale-prod --dry-run --json
[ "$(json_get "$OUT" "d['snapshot_id']")" = "$PROD_SNAP" ] ||
	fail "latest --host 3scale-prod named $(json_get "$OUT" "d['snapshot_id']"), not production's backup $PROD_SNAP (staging: $STAGING_SNAP, ad hoc: $ADHOC_SNAP)"
ok restore latest --repo "$REPO" --config "$WORK/prod.json" --host 3scale-prod
listing "$PROD" | cmp -s - "$WORK/prod.list" ||
	fail "production's tree is not its backup's: $(listing "$PROD" | diff "$WORK/prod.list" - | head -5)"

info "--host with another host's snapshot id: refused"
echo "broken" >"$PROD/files/logo.png"
t restore "$STAGING_SNAP" --repo "$REPO" --config "$WORK/prod.json" --host 3scale-prod
[ "$RC" -ne 0 ] || fail "a snapshot of 3scale-staging restored with --host 3scale-prod"
expect_err "3scale-staging" "the snapshot's host is named"
listing "$PROD" | cmp -s - "$WORK/broken.list" || fail "the refused restore changed production's tree"
t restore latest --repo "$REPO" --config "$WORK/prod.json" --host 3scale-nowhere
[ "$RC" -ne 0 ] || fail "latest --host of a host without backups went ahead"
expect_err "3scale-nowhere" "the host without backups is named"

info "one host's backups (and an ad-hoc dump): 'latest' alone restores them"
REPO1=$WORK/repo1
init_repo "$REPO1"
echo "production logo" >"$PROD/files/logo.png"
listing "$PROD" | cmp -s - "$WORK/prod.list" || fail "production's tree is not as at first"
ok backup --repo "$REPO1" --config "$WORK/prod.json" --host 3scale-prod --json
ONE_SNAP=$(json_get "$OUT" "d['snapshot_id']")
t_in "$WORK/adhoc.sql" backup --repo "$REPO1" --stdin --name adhoc.sql --json
[ "$RC" -eq 0 ] || fail "backup --stdin exited with $RC"
ok restore latest --repo "$REPO1" --config "$WORK/prod.json" --dry-run --json
[ "$(json_get "$OUT" "d['snapshot_id']")" = "$ONE_SNAP" ] ||
	fail "latest in a one-host repository named $(json_get "$OUT" "d['snapshot_id']"), not $ONE_SNAP"
echo "broken" >"$PROD/files/logo.png"
ok restore latest --repo "$REPO1" --config "$WORK/prod.json"
listing "$PROD" | cmp -s - "$WORK/prod.list" || fail "the one-host restore did not give the backup's tree"

info "a backup of a half-restored deployment: marked, passed over by 'latest', a group of its own"
HALF=$WORK/half
mkdir -p "$HALF/tree" "$WORK/res"
echo "tree v1" >"$HALF/tree/a.txt"
python3 - "$WORK/half.json" "$HALF/tree" "$WORK/res" <<'PY'
import json, sys
path, tree, res = sys.argv[1:]
json.dump({"profile": "none", "transport": {"type": "local", "resources_dir": res},
           "components": {
               "system-storage": {"kind": "files", "path": tree, "stream": "system-storage.tar",
                                  "restore": {"action": "replace-tree", "order": 1}},
               # The database's load fails: the restore stops after the files.
               "system-db": {"kind": "exec", "script": "printf 'db v1\\n'", "stream": "db.sql",
                             "restore": {"order": 2, "command": ["sh", "-c", "cat >/dev/null; exit 1"]}}}},
          open(path, "w"), indent=2)
PY
REPO2=$WORK/repo2
init_repo "$REPO2"
ok backup --repo "$REPO2" --config "$WORK/half.json" --host 3scale-half --json
GOOD_SNAP=$(json_get "$OUT" "d['snapshot_id']")
echo "tree v2" >"$HALF/tree/a.txt"
t restore "$GOOD_SNAP" --repo "$REPO2" --config "$WORK/half.json"
[ "$RC" -ne 0 ] || fail "the restore whose database load fails succeeded"
grep -q "system-db" "$WORK/res/configmap/tsarc-restore-state.json" ||
	fail "the failed restore left no pending step in its state"
ok backup --repo "$REPO2" --config "$WORK/half.json" --host 3scale-half --json
HALF_SNAP=$(json_get "$OUT" "d['snapshot_id']")
cp "$ERR" "$WORK/half-backup.err"
ok restore latest --repo "$REPO2" --config "$WORK/half.json" --host 3scale-half --dry-run --json
[ "$(json_get "$OUT" "d['snapshot_id']")" = "$GOOD_SNAP" ] ||
	fail "latest named $(json_get "$OUT" "d['snapshot_id']"), not the last backup of the whole deployment $GOOD_SNAP (half-restored: $HALF_SNAP)"
expect_err "${HALF_SNAP:0:10}.*half-restored" "the backup passed over is named"
grep -q "half-restored" "$WORK/half-backup.err" || fail "the backup of a half-restored deployment does not say so"
ok show "$HALF_SNAP" --repo "$REPO2" --json
[ "$(json_get "$OUT" "sorted(d['meta']['restore_pending']['steps'])")" = "['system-db']" ] ||
	fail "the backup of the half-restored deployment does not record the pending step: $(cat "$OUT")"
ok forget --repo "$REPO2" --keep-last 1 --dry-run --json
[ "$(json_get "$OUT" "d['removed']")" = 0 ] ||
	fail "forget --keep-last 1 counted the half-restored backup with the others: $(cat "$OUT")"
# An id still restores it, as any snapshot.
ok restore "$HALF_SNAP" --repo "$REPO2" --config "$WORK/half.json" --host 3scale-half --dry-run --json

info "a failed post_restore hook leaves no half-restored deployment: later backups are 'latest'"
# Every data step applied; only the re-sync failed (a hook can be run again,
# and a restore of any later backup runs it). Before, the restore state kept
# the hook pending until a restore ran it: every backup after it was marked
# half-restored and passed over by 'latest', which restored the backup of
# before, and a hook the configuration no longer had stayed pending for ever.
mkdir -p "$WORK/hooked/tree" "$WORK/hooked/res"
echo "tree v1" >"$WORK/hooked/tree/a.txt"
python3 - "$WORK/hooked.json" "$WORK/hooked" <<'PY'
import json, sys
path, d = sys.argv[1:]
json.dump({"profile": "none", "transport": {"type": "local", "resources_dir": d + "/res"},
           "components": {"system-storage": {"kind": "files", "path": d + "/tree",
                                             "stream": "system-storage.tar",
                                             "restore": {"action": "replace-tree", "order": 1}}},
           "post_restore": [{"command": ["sh", "-c", "echo re-sync failed; exit 1"]}]},
          open(path, "w"), indent=2)
PY
REPO3=$WORK/repo3
init_repo "$REPO3"
ok backup --repo "$REPO3" --config "$WORK/hooked.json" --json
echo "tree v2" >"$WORK/hooked/tree/a.txt"
t restore latest --repo "$REPO3" --config "$WORK/hooked.json"
expect_rc 1 "a restore whose hook fails"
expect_err "stopped at post_restore\[0\]" "the failed hook is named"
[ "$(cat "$WORK/hooked/tree/a.txt")" = "tree v1" ] || fail "test setup: the tree was not restored"
# And a hook an older tsarc recorded as pending (the configuration no longer has it).
python3 - "$WORK/hooked/res/configmap/tsarc-restore-state.json" <<'PY'
import json, sys
cm = json.load(open(sys.argv[1]))
p = json.loads(cm["data"]["pending"])
p["post_restore[2]"] = "0" * 64
cm["data"]["pending"] = json.dumps(p)
json.dump(cm, open(sys.argv[1], "w"))
PY
ok backup --repo "$REPO3" --config "$WORK/hooked.json" --json
AFTER_HOOK=$(json_get "$OUT" "d['snapshot_id']")
grep -q "half-restored" "$ERR" && fail "the backup after a failed hook says the deployment is half-restored: $(cat "$ERR")"
ok restore latest --repo "$REPO3" --config "$WORK/hooked.json" --dry-run --json
[ "$(json_get "$OUT" "d['snapshot_id']")" = "$AFTER_HOOK" ] ||
	fail "latest named $(json_get "$OUT" "d['snapshot_id']"), not the backup taken after the failed hook $AFTER_HOOK: $(cat "$ERR")"

finish
