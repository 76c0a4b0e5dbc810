#!/usr/bin/env bash
# README.md's least-privilege bucket policy on the Ceph RGW, read from the
# docs (with README's statement for RGW, and for `object-lock` the
# statements docs/object-lock.md adds), so that the documented policy is
# the tested one; its two roles are two RGW users. The nightly backup role
# backs up, restores, dumps, lists, checks and previews a forget, and is
# refused forget, prune and a DELETE of its own: exit 13, nothing removed.
# Maintenance forgets and prunes (and extends the retention).
#
#   roles.sh plain | object-lock
#
# Run through tests/s3/run_with_s3.sh (RGW from ci/rgw.sh, which gives
# TSARC_TEST_CEPH_CONF for radosgw-admin).
MODE=${1:?usage: roles.sh plain|object-lock}
. "$(dirname "$0")/../cli/lib.sh"

: "${TSARC_TEST_S3_URL:?run this through tests/s3/run_with_s3.sh}"
if [ -z "${TSARC_TEST_CEPH_CONF:-}" ]; then
	[ "${TSARC_TEST_REQUIRE_S3:-}" = 1 ] && fail "TSARC_TEST_CEPH_CONF is not set (ci/rgw.sh's env)"
	echo "skipped: no TSARC_TEST_CEPH_CONF (ci/rgw.sh)" >&2
	exit 77
fi
. "$(dirname "$0")/object_lock_lib.sh" # att (botocore), BUCKET
export CEPH_CONF=$TSARC_TEST_CEPH_CONF
R=$TSARC_TEST_S3_URL
PREFIX=${R##*/}
DOCS=("$(dirname "$0")/../../README.md")
INIT=()
if [ "$MODE" = object-lock ]; then
	DOCS+=("$(dirname "$0")/../../docs/object-lock.md")
	INIT=(--object-lock 1 --object-lock-mode governance)
fi
SUFFIX=$(od -An -N4 -tx4 /dev/urandom | tr -d ' \n')
ROLE_UIDS=("tsarc-backup-$SUFFIX" "tsarc-maintenance-$SUFFIX")

# The two users, with keys RGW generates (none on a command line), made
# while the owner initialises the repository.
# (Each `wait` names its processes: attacker.py serves in the background.)
MADE=()
for u in "${ROLE_UIDS[@]}"; do
	radosgw-admin user create --uid="$u" --display-name="$u" --gen-access-key --gen-secret \
		>"$WORK/$u.json" 2>"$WORK/$u.err" &
	MADE+=($!)
done
remove_users() {
	local u pids=()
	for u in "${ROLE_UIDS[@]}"; do
		radosgw-admin user rm --uid="$u" >/dev/null 2>&1 &
		pids+=($!)
	done
	wait "${pids[@]}"
}
trap 'remove_users; cleanup' EXIT
init_repo "$R" "${INIT[@]}"
wait "${MADE[@]}"
# keys_of UID: "ACCESS SECRET" of the user's JSON.
keys_of() {
	sed -n 's/^ *"access_key": "\([^"]*\)",$/\1/p; s/^ *"secret_key": "\([^"]*\)"$/\1/p' \
		"$WORK/$1.json" | paste -sd ' '
}
read -r BACKUP_AK BACKUP_SK < <(keys_of "${ROLE_UIDS[0]}")
read -r MAINT_AK MAINT_SK < <(keys_of "${ROLE_UIDS[1]}")
if [ -z "$BACKUP_SK" ] || [ -z "$MAINT_SK" ]; then
	fail "radosgw-admin user create: $(cat "$WORK"/*.err)"
fi
as_backup() { AWS_ACCESS_KEY_ID=$BACKUP_AK AWS_SECRET_ACCESS_KEY=$BACKUP_SK "$@"; }
as_maint() { AWS_ACCESS_KEY_ID=$MAINT_AK AWS_SECRET_ACCESS_KEY=$MAINT_SK "$@"; }
att policy "$BUCKET" "$PREFIX" "${ROLE_UIDS[@]}" "${DOCS[@]}" >/dev/null ||
	fail "cannot set the documented bucket policy"
# versions FILE: every version and delete marker under PREFIX/ but the
# locks', as the owner sees them.
versions() {
	att versions "$BUCKET" "$PREFIX/" >"$WORK/all" || fail "cannot list the versions"
	grep -v "^$PREFIX/locks/" "$WORK/all" >"$1"
}

# The backup role: a deployment's backup and restore (an exec component),
# a stream's backup and dump, snapshots, check, key list.
printf '{"profile": "none", "transport": {"type": "local"}, "components": {"app": {"kind": "exec",
 "command": ["sh", "-c", "printf \\"app data %%s\\\\n\\" %s"], "restore": {"order": 10,
 "command": ["sh", "-c", "cat > %s/restored"]}}}}\n' "$SUFFIX" "$WORK" >"$WORK/deploy.json"
as_backup t backup --repo "$R" --config "$WORK/deploy.json"
expect_rc 0 "the backup role's backup --config"
! grep -qi "warning" "$ERR" || fail "the backup role's backup warned: $(cat "$ERR")"
as_backup t restore latest --repo "$R" --config "$WORK/deploy.json"
expect_rc 0 "the backup role's restore"
[ "$(cat "$WORK/restored")" = "app data $SUFFIX" ] ||
	fail "the backup role's restore wrote '$(cat "$WORK/restored")'"
as_backup backup_gen "$R" role.sql 2M --seed 41
ROLE_SNAP=$SNAP
as_backup backup_gen "$R" role.sql 2M --seed 42
as_backup dump_cmp "$R" "$ROLE_SNAP" role.sql 2M --seed 41
as_backup ok snapshots --repo "$R"
expect_out "^${ROLE_SNAP:0:10} " "the backup role's snapshots"
as_backup ok check --repo "$R"
as_backup ok key list --repo "$R"
# A dry run deletes nothing, and asks the bucket whether it may retain
# what a prune removes, not the versions: refused the question, it listed
# them (exit 13, "listing versions of ... (s3:ListBucketVersions, ...").
# Under Object Lock what it would remove is retained: only hidden.
as_backup ok forget --repo "$R" --keep-last 1 --dry-run --prune --json
PREVIEWED="d['prune']['bytes_removed']"
[ "$MODE" = plain ] || PREVIEWED="d['prune']['packs_kept']['count']"
[ "$(json_get "$OUT" "$PREVIEWED")" -gt 0 ] ||
	fail "the backup role's forget --dry-run --prune previews nothing: $(cat "$OUT")"

# ... and removes nothing: forget and prune stop at their first removal
# (without Object Lock the version listing, naming its permission; under
# it the delete of a version, which counts as retained, then the plain
# DELETE that would hide it); a DELETE of its own is refused.
versions "$WORK/before"
as_backup t forget --repo "$R" "${ROLE_SNAP:0:12}"
expect_rc 13 "the backup role's forget"
as_backup t prune --repo "$R" --max-unused 0
expect_rc 13 "the backup role's prune"
if [ "$MODE" = plain ]; then
	expect_err "s3:ListBucketVersions" "the backup role's prune names the permission"
	as_backup t forget --repo "$R" "${ROLE_SNAP:0:12}"
	expect_err "s3:ListBucketVersions" "the backup role's forget names the permission"
else
	expect_err "deleting s3://$BUCKET/$PREFIX/index/.*: AccessDenied.*: s3:DeleteObject\)" \
		"the backup role's prune names the object and the permission"
	as_backup t forget --repo "$R" "${ROLE_SNAP:0:12}"
	expect_err "deleting s3://$BUCKET/$PREFIX/snapshots/$ROLE_SNAP: AccessDenied.*: s3:DeleteObject\)" \
		"the backup role's forget names the snapshot and the permission"
fi
for how in delete delete-objects; do
	got=$(as_backup att "$how" "$BUCKET" "$PREFIX/snapshots/$ROLE_SNAP")
	[ "$got" = AccessDenied ] || fail "the backup role's $how of a snapshot: $got"
done
versions "$WORK/after"
GONE=$(comm -23 "$WORK/before" "$WORK/after")
[ -z "$GONE" ] || fail "the backup role's refused commands removed: $GONE"
as_backup ok snapshots --repo "$R"
expect_out "^${ROLE_SNAP:0:10} " "the backup role's snapshot after its refused forget"

# Maintenance: forget and prune (under Object Lock only hiding what is
# retained), extend-retention.
as_maint ok forget --repo "$R" --keep-last 1 --prune --json
[ "$(json_get "$OUT" "d['removed']")" = 1 ] || fail "maintenance's forget: $(cat "$OUT")"
if [ "$MODE" = plain ]; then
	[ "$(json_get "$OUT" "d['prune']['bytes_removed']")" -gt 0 ] ||
		fail "maintenance's prune freed nothing"
else
	[ "$(json_get "$OUT" "len(d['retained'])")" = 1 ] ||
		fail "maintenance's forget did not report the snapshot retained: $(cat "$OUT")"
	as_maint ok extend-retention --repo "$R"
fi
as_maint ok check --repo "$R" --read-data
as_backup ok snapshots --repo "$R"
! grep -q "^${ROLE_SNAP:0:10} " "$OUT" || fail "maintenance's forget left ${ROLE_SNAP:0:10}"
! grep -qaF -e "$BACKUP_SK" -e "$MAINT_SK" "$TRANSCRIPT" || fail "a role's secret appears in tsarc's output"
info "PASS ($MODE)"
