#!/usr/bin/env bash
# A restore user that may not RESTORE: a managed Redis's ACL user is
# often "+@all -@dangerous", and RESTORE is one of @dangerous (FLUSHDB
# too, so tsarc empties the target with SCAN and DEL). The restore emptied
# the target, then the first RESTORE was refused: the target was left
# empty, the backup's keys nowhere. The user's right to RESTORE must be
# known before anything is removed, on both online paths: the logical
# load, and the private redis-server that copies an RDB into the target;
# and so must its right to read the target back for the check after the
# load (SCAN, TYPE, PEXPIRETIME or PTTL, DUMP), by the plan too.
. "$(dirname "$0")/lib.sh"
tsarc_repo

redis_up src
redis_up dst "user nodanger on >$USER_PW ~* &* +@all -@dangerous" \
	"user apponly on >$USER_PW ~app:* &* +@all -@dangerous +restore"
for i in $(seq 30); do echo "SET src:$i v$i"; done | rcli "$PORT_SRC" >/dev/null

redis_deployment src-logical "redis://127.0.0.1:$PORT_SRC/0" backup "$USER_PW" '{"mode": "logical"}'
redis_deployment dst "redis://127.0.0.1:$PORT_DST/0" nodanger "$USER_PW"
S_LOG=$(backup_id "$WORK/src-logical/config.json" b-logical)
# An RDB: SYNC as the admin (the "backup" user may not).
redis_deployment src-rdb "redis://127.0.0.1:$PORT_SRC/0" "" "$ADMIN_PW" '{"mode": "rdb"}'
S_RDB=$(backup_id "$WORK/src-rdb/config.json" b-rdb)
[ "$(stream_meta "$S_RDB" backend-redis.rdb redis_mode)" = rdb ] || fail "the second backup is no RDB"

# untouched SNAP CONFIG WHAT: the restore of SNAP into CONFIG's target,
# holding its own 10 keys, refused, naming WHAT and saying nothing was
# written, the target as it was.
untouched() {
	local rc=0
	rcli "$PORT_DST" FLUSHALL >/dev/null
	for i in $(seq 10); do echo "SET dst:$i own$i"; done | rcli "$PORT_DST" >/dev/null
	keys_dump "$PORT_DST" > "$WORK/before.keys"
	"$TSARC" restore "$1" --config "$2" --repo "$REPO" > "$WORK/r.out" 2> "$WORK/r.err" || rc=$?
	keys_dump "$PORT_DST" > "$WORK/after.keys"
	cmp -s "$WORK/before.keys" "$WORK/after.keys" ||
		fail "$3 refused: the target was changed ($(grep -c . "$WORK/after.keys") keys left of its 10): $(grep -v '^  ' "$WORK/r.err")"
	[ "$rc" -ne 0 ] || fail "a restore by a user refused $3 succeeded"
	grep -q "$3" "$WORK/r.err" || fail "the error does not name $3: $(cat "$WORK/r.err")"
	grep -q "nothing was written" "$WORK/r.err" || fail "the error does not say nothing was written: $(cat "$WORK/r.err")"
}

for snap in "$S_LOG" "$S_RDB"; do
	info "snapshot ${snap:0:10} ($(stream_meta "$snap" backend-redis.rdb redis_mode)): refused before the target is emptied"
	untouched "$snap" "$WORK/dst/config.json" RESTORE
done

info "a user whose key patterns leave out the probe's key is not refused for it"
redis_deployment dst-app "redis://127.0.0.1:$PORT_DST/0" apponly "$USER_PW"
rcli "$PORT_SRC" FLUSHALL >/dev/null
for i in $(seq 5); do echo "SET app:$i v$i"; done | rcli "$PORT_SRC" >/dev/null
S_APP=$(backup_id "$WORK/src-logical/config.json" b-app)
rcli "$PORT_DST" FLUSHALL >/dev/null
"$TSARC" restore "$S_APP" --config "$WORK/dst-app/config.json" --repo "$REPO" > "$WORK/r3.out" 2> "$WORK/r3.err" ||
	fail "restore by a user of app:* keys: $(cat "$WORK/r3.err")"
[ "$(rcli "$PORT_DST" DBSIZE)" = 5 ] || fail "the app:* keys were not restored"

# The probe asks the target whether it takes the backup's payloads with a
# RESTORE of an expired key, which writes nothing, under a name that must
# not exist there and that the user may write: tsarc:probe:restore, which
# a user of app:* keys may not, or which may exist. The target was not
# asked: a Valkey 8's payloads (version 11) were sent as they were to a
# Redis 7.0 (10 at most), and the first RESTORE failed with the target
# emptied. Now the probe asks with a key of the backup that is not there
# (app:1 as it is, or app:1:tsarc:probe where app:1 is), which the user
# must be able to write anyway, and the payloads are rewritten; where no
# name will do, or a key of the backup is not the user's, the restore is
# refused with the target untouched. No probe leaves a key behind.
# probe_names_restored SNAP CONFIG WHAT SETUP: SNAP restored into the
# target holding what SETUP (redis-cli input) writes, its payloads
# rewritten; it holds the backup's keys and nothing else then.
probe_names_restored() {
	rcli "$PORT_DST" FLUSHALL >/dev/null
	printf '%s\n' "$4" | rcli "$PORT_DST" >/dev/null
	"$TSARC" restore "$1" --config "$2" --repo "$REPO" --json > "$WORK/r-probe.json" 2> "$WORK/r-probe.err" ||
		fail "$3: $(cat "$WORK/r-probe.err")"
	grep -q "rewritten to version 10" "$WORK/r-probe.json" || fail "$3: not rewritten: $(cat "$WORK/r-probe.json")"
	keys_dump "$PORT_DST" > "$WORK/dst-probe.keys"
	diff "$WORK/vapp.keys" "$WORK/dst-probe.keys" > "$WORK/probe.diff" || fail "$3: keys differ: $(head -5 "$WORK/probe.diff")"
}
if command -v valkey-server >/dev/null; then
	REDIS_SERVER=valkey-server redis_up vsrc
	redis_deployment vsrc-logical "redis://127.0.0.1:$PORT_VSRC/0" backup "$USER_PW" '{"mode": "logical"}'
	redis_deployment vsrc-rdb "redis://127.0.0.1:$PORT_VSRC/0" "" "$ADMIN_PW" '{"mode": "rdb"}'
	redis_deployment dst-restorer "redis://127.0.0.1:$PORT_DST/0" restorer "$USER_PW"
	for i in $(seq 5); do echo "SET app:$i v$i"; done | rcli "$PORT_VSRC" >/dev/null
	rcli "$PORT_VSRC" SADD app:set a b c >/dev/null
	keys_dump "$PORT_VSRC" > "$WORK/vapp.keys"
	S_VLOG=$(backup_id "$WORK/vsrc-logical/config.json" b-vlog)
	S_VRDB=$(backup_id "$WORK/vsrc-rdb/config.json" b-vrdb)
	[ "$(stream_meta "$S_VLOG" backend-redis.rdb redis_payload_version)" = 11 ] || fail "the Valkey's payloads are not version 11"
	info "Valkey 8 into Redis 7.0 by a user of app:* keys: asked with a key of the backup, rewritten"
	probe_names_restored "$S_VLOG" "$WORK/dst-app/config.json" "a user of app:* keys" "SET app:own 1"
	probe_names_restored "$S_VLOG" "$WORK/dst-app/config.json" "a user of app:* keys, the target holding the backup's keys" \
		"$(for i in $(seq 5); do echo "SET app:$i other"; done; echo "SET app:set other")"
	probe_names_restored "$S_VLOG" "$WORK/dst-restorer/config.json" "a target holding tsarc:probe:restore" \
		"SET tsarc:probe:restore 1"
	info "the RDB, through the private server (the copy asks with a key it holds)"
	probe_names_restored "$S_VRDB" "$WORK/dst-app/config.json" "the RDB, by a user of app:* keys" "SET app:own 1"
	info "no name to ask with (each key of the backup there, with :tsarc:probe too): refused, the target untouched"
	rcli "$PORT_DST" FLUSHALL >/dev/null
	for k in app:1 app:2 app:3 app:4 app:5 app:set; do echo "SET $k own"; echo "SET $k:tsarc:probe own"; done |
		rcli "$PORT_DST" >/dev/null
	keys_dump "$PORT_DST" > "$WORK/before.keys"
	"$TSARC" restore "$S_VLOG" --config "$WORK/dst-app/config.json" --repo "$REPO" > "$WORK/r.out" 2> "$WORK/r.err" &&
		fail "a restore that could not ask the target succeeded"
	keys_dump "$PORT_DST" > "$WORK/after.keys"
	cmp -s "$WORK/before.keys" "$WORK/after.keys" || fail "a restore that could not ask the target changed it: $(cat "$WORK/r.err")"
	grep -q "cannot be asked whether it takes the backup's DUMP payloads (RDB version 11).*nothing was written. Grant the user the key tsarc:probe:restore" "$WORK/r.err" ||
		fail "the refusal does not say what to grant: $(cat "$WORK/r.err")"
	info "a backup of keys the user's patterns leave out: refused, naming a key, the target untouched"
	rcli "$PORT_DST" ACL SETUSER otheronly on ">$USER_PW" "~other:*" "&*" +@all -@dangerous +restore |
		grep -qx OK || fail "ACL SETUSER otheronly"
	redis_deployment dst-other "redis://127.0.0.1:$PORT_DST/0" otheronly "$USER_PW"
	untouched "$S_VLOG" "$WORK/dst-other/config.json" "refuses this user the backup's key 'app:"
elif [ "${TSARC_TEST_REQUIRE_SERVICES:-0}" = 1 ]; then
	fail "valkey-server is not installed (bash ci/deps.sh)"
else
	info "no valkey-server: the probe's names are not tried (bash ci/deps.sh)"
fi

info "a user who may not FUNCTION RESTORE, and a backup that holds a library: refused before the target is emptied"
# shellcheck disable=SC2086 # ACL_DENY is a list of rules
rcli "$PORT_DST" ACL SETUSER nofnrestore on ">$USER_PW" "~*" "&*" +@all $ACL_DENY "-function|restore" |
	grep -qx OK || fail "ACL SETUSER nofnrestore"
redis_deployment dst-nofn "redis://127.0.0.1:$PORT_DST/0" nofnrestore "$USER_PW"
rcli "$PORT_SRC" FUNCTION LOAD "#!lua name=srclib
redis.register_function('src_fn', function(keys, args) return 1 end)" >/dev/null ||
	fail "FUNCTION LOAD on the source"
S_FN=$(backup_id "$WORK/src-logical/config.json" b-fn)
[ "$(stream_meta "$S_FN" backend-redis.rdb redis_functions)" = saved ] || fail "the backup holds no library"
untouched "$S_FN" "$WORK/dst-nofn/config.json" "FUNCTION RESTORE"

info "the plan refuses a user who may not RESTORE too, before any step writes"
rcli "$PORT_SRC" FUNCTION DELETE srclib >/dev/null
plan_refused "$S_LOG" "$WORK/dst/config.json" "refuses RESTORE" "RESTORE refused"
grep -q "+restore" "$WORK/plan.err" || fail "the plan does not say what to grant: $(cat "$WORK/plan.err")"

# The check after the load reads the target back (SCAN, TYPE, PEXPIRETIME
# or PTTL, DUMP). A user refused one of them was found only then: the
# target emptied and loaded, the step failed. Asked before anything is
# removed now, by the plan too; a refused PEXPIRETIME alone is no refusal
# (PTTL is read instead, and the digest compares each key's expiry as
# whether it expires, saying why).
# denied USER COMMAND RULES SNAP...: each restore of SNAP by USER (ACL
# rules of a managed Redis's user, then RULES) refused by the plan and by
# the run with the target untouched, naming COMMAND and what to grant.
denied() {
	local user=$1 cmd=$2 rules=$3 snap
	shift 3
	# shellcheck disable=SC2086 # ACL_DENY and RULES are lists of rules
	rcli "$PORT_DST" ACL SETUSER "$user" reset on ">$USER_PW" "~*" "&*" +@all $ACL_DENY $rules |
		grep -qx OK || fail "ACL SETUSER $user"
	redis_deployment "dst-$user" "redis://127.0.0.1:$PORT_DST/0" "$user" "$USER_PW"
	for snap in "$@"; do
		info "a user refused $cmd, snapshot ${snap:0:10}: refused by the plan and the run, the target untouched"
		untouched "$snap" "$WORK/dst-$user/config.json" "refuses $cmd"
		plan_refused "$snap" "$WORK/dst-$user/config.json" "refuses $cmd" "$cmd refused"
		grep -q -- "+${cmd,,}" "$WORK/plan.err" || fail "the plan does not say to grant +${cmd,,}: $(cat "$WORK/plan.err")"
	done
}
rcli "$PORT_SRC" FLUSHALL >/dev/null
for i in $(seq 30); do echo "SET src:$i v$i"; done | rcli "$PORT_SRC" >/dev/null
S_LOG=$(backup_id "$WORK/src-logical/config.json" b-log2)
S_RDB=$(backup_id "$WORK/src-rdb/config.json" b-rdb2)
denied nodump DUMP -dump "$S_LOG" "$S_RDB"
denied noscan SCAN -scan "$S_LOG"
denied notype TYPE -type "$S_RDB"

info "a user refused PEXPIRETIME: restored, the digest compared with expiries as whether each key expires, and the report says the user may not run it"
# shellcheck disable=SC2086 # ACL_DENY is a list of rules
rcli "$PORT_DST" ACL SETUSER nopexp on ">$USER_PW" "~*" "&*" +@all $ACL_DENY -pexpiretime |
	grep -qx OK || fail "ACL SETUSER nopexp"
redis_deployment dst-nopexp "redis://127.0.0.1:$PORT_DST/0" nopexp "$USER_PW"
"$TSARC" restore "$S_LOG" --config "$WORK/dst-nopexp/config.json" --repo "$REPO" --json > "$WORK/r6.json" 2> "$WORK/r6.err" ||
	fail "restore by a user refused PEXPIRETIME: $(cat "$WORK/r6.err")"
[ "$(rcli "$PORT_DST" DBSIZE)" = 30 ] || fail "the backup's 30 keys were not restored"
grep -q "key count and digest of every database match (expiries compared as whether each key expires: the target's user may not run PEXPIRETIME" "$WORK/r6.json" ||
	fail "the report does not say the user may not run PEXPIRETIME: $(grep -o 'digest[^"]*' "$WORK/r6.json")"
info "a user refused PEXPIRETIME and PTTL: refused, naming PTTL"
denied nopexp PTTL "-pexpiretime -pttl" "$S_LOG"

grep -q -e "$ADMIN_PW" -e "$USER_PW" "$WORK"/*.err "$WORK"/*.out "$WORK"/*.json && fail "a password was printed"
info "ok"
