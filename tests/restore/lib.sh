# Helpers of the restore tests (tests/restore/*.sh); sourced, not run.
# Builds on tests/deploy/lib.sh (the demo deployment, real servers).
# shellcheck disable=SC1091
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../deploy/lib.sh"

# The deployment's own clients, either layout (demo_mysql, demo_redis).
# shellcheck source=ci/demo/clients.sh
. "$TOP/ci/demo/clients.sh"

# state FILE: everything a restore must bring back, in one comparable file,
# a "## NAME" section per store (ci/demo/clients.sh's demo_state_*, which
# the demo's fingerprint digests).
state() {
	local out=$1 r
	. "$DEP/env"
	{
		echo "## system"
		demo_state_system
		echo "## zync"
		demo_state_zync
		for r in backend-redis system-redis; do
			echo "## $r"
			demo_state_redis "$r"
		done
		echo "## system-storage"
		demo_state_files "$DEP/system-storage"
		echo "## resources"
		demo_state_resources "$DEP/resources"
	} > "$out" 2>&1
}

# section FILE NAME: the "## NAME" part of a state file.
section() { awk -v s="## $2" '/^## /{on = ($0 == s)} on' "$1"; }

# destroy: the deployment lost everything a restore brings back.
destroy() {
	. "$DEP/env"
	demo_mysql "DROP DATABASE system" "" || fail "cannot drop system"
	# zync-database starts on an empty database (the operator's emptyDir).
	PGPASSWORD=$PG_PASSWORD psql -qX -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres \
		-c "DROP DATABASE zync_production" -c "CREATE DATABASE zync_production OWNER zync" >/dev/null ||
		fail "cannot drop zync_production"
	demo_redis backend-redis FLUSHALL >/dev/null
	demo_redis system-redis FLUSHALL >/dev/null
	rm -rf "${DEP:?}/system-storage/"*
	echo junk > "$DEP/system-storage/not-in-the-backup"
	rm -f "$DEP/resources/secret/"*.json "$DEP/resources/configmap/"*.json "$DEP/resources/apimanager/"*.json
}

# no_hooks FILE: the demo config without its post_restore stand-in.
no_hooks() {
	python3 - "$DEP/config.json" "$1" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["post_restore"] = []
json.dump(c, open(sys.argv[2], "w"), indent=2)
PY
}

# backup_demo [INIT-OPTIONS...]: the demo deployment up, backed up (without
# its post_restore stand-in, $WORK/config.json) into a fresh local
# repository $REPO; the snapshot id in $SNAP.
backup_demo() {
	deploy_up 1
	export TSARC_PASSWORD=restore-test
	REPO=$WORK/repo
	init_repo "$REPO" "$@"
	no_hooks "$WORK/config.json"
	ok backup --repo "$REPO" --config "$WORK/config.json" --json
	SNAP=$(json_get "$OUT" "d['snapshot_id']")
}

# domains_rewritten PORT PASSWORD WHERE: no account of the system database
# on the MySQL at PORT carries the domain $OLD any more, and provider1's
# admin domain is provider1-admin.$NEW (rewritten WHERE, for a failure).
domains_rewritten() {
	local n
	n=$(mysql_q "$1" "$2" system -e \
		"SELECT COUNT(*) FROM accounts WHERE domain LIKE '%$OLD' OR self_domain LIKE '%$OLD'")
	[ "$n" = 0 ] || fail "$n accounts still carry the old domain$3"
	[ "$(mysql_q "$1" "$2" system -e "SELECT self_domain FROM accounts WHERE id = 2")" = \
		"provider1-admin.$NEW" ] || fail "provider1's admin domain was not rewritten$3"
}
