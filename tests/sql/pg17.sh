#!/usr/bin/env bash
# PostgreSQL 17, what today's managed PostgreSQL runs, as 3scale's external
# system database, next to Debian 12's PostgreSQL 15 and its clients (the
# tsarc image has the 17 clients, Debian 13's): three servers over verified TLS with a client certificate
# (a 15 and two 17s, the 17s from the root filesystem of
# TSARC_TEST_PG17_ROOT), the 17 clients run as if installed on this host
# (wrappers first in PATH). The source's objects belong to roles the 17
# target lacks (it connects as app, another managed server's admin).
# Proven:
#   - pg_dump 15 refuses a 17 server: the backup fails before anything is
#     published, naming both versions and what to install or set;
#   - the 17 clients' backup of the 17 server is restored into the other 17
#     whole, by psql 15 (Debian 12's) and by psql 17: rows, columns,
#     defaults, sequences, indexes, constraints, views, functions and
#     triggers as the source has them, each object owned by app;
#   - a 15 server's backup is restored into the 17 whole, the plan saying
#     the 17 takes it, with the 15 clients (Debian 12's) and with the 17
#     clients: moving a database onto a newer managed server;
#   - the 17 dump into the 15 server (a dump of a 17 server: its DDL is
#     written for 17) is refused by the plan and the run, naming both
#     versions, the 15's database as it was; so it is by the plan where the
#     15 is system-postgresql in its pod (through the kubectl double,
#     tests/deploy/fake_kubectl.c, a TEST DOUBLE: the pod's psql asked,
#     as the step asks);
#   - pg_dump 17's dump of the 15 server (the image's client of
#     3scale's older server) is restored into the 15 it came from, the
#     plan saying its head's SET transaction_timeout, which 15 does not
#     know, is left out, and the report that it was; the 15 never sees
#     that line.
# shellcheck disable=SC1091
. "$(dirname "$0")/pg_lib.sh"

need_root TSARC_TEST_PG17_ROOT "PostgreSQL 17"
PG17_ROOT=$TSARC_TEST_PG17_ROOT

# The three servers at once: P15 (this host's 15), S17 and T17 (the root's).
pg_start p15 "s17:$PG17_ROOT" "t17:$PG17_ROOT"
P15=$WORK/svc-p15 S17=$WORK/svc-s17 T17=$WORK/svc-t17
pg_major_is "$S17" 17

# $WORK/pg17/bin: the root's pg_dump, pg_dumpall and psql as if installed
# here, for PATH=$PG17_BIN:$PATH.
pg_clients "$PG17_ROOT" 17
PG17_BIN=$WORK/pg17/bin

pg_fill "$S17" "$P15"
s17_print=$(fingerprint "$S17" | as_app)
p15_print=$(fingerprint "$P15" | as_app)
p15_before=$(fingerprint "$P15")
[ "$(tail -1 <<<"$s17_print")" = 300 ] || fail "test setup: the source holds no rows"

# The system-database Secret of each server; T17 connects as app, which
# has none of the source's roles, and creates the database.
pg_app "$T17"
pg_config p15 threescale
pg_config s17 threescale
pg_config t17 app

info "pg_dump 15 against the 17 server: refused, naming both versions and what to install"
backup s17
[ "$RC" != 0 ] || fail "pg_dump 15 backed up a PostgreSQL 17 server"
expect_err "PostgreSQL 17" "the error names the server's version"
expect_err "pg_dump \\(PostgreSQL\\) 15" "the error names the client's version"
expect_err "postgresql-client-17" "the error says what to install"
expect_err '"tool"' "the error says how to point tsarc at another pg_dump"
no_snapshot "$REPO" "pg_dump 15 against a 17 server"

info "the 17 clients back up the 17 server; psql 15 restores it into the other 17"
backup s17 "$PG17_BIN"
[ "$RC" = 0 ] || fail "the 17 clients' backup failed: $(cat "$ERR")"
SNAP17=$(json_get "$OUT" "d['snapshot_id']")
ok show "$SNAP17" --repo "$REPO" --json
case $(json_get "$OUT" "d['streams'][0]['meta']['tool_version']") in
"pg_dump (PostgreSQL) 17."*) ;;
*) fail "the snapshot records no pg_dump 17" ;;
esac
restore "$SNAP17" t17 "" --json
[ "$RC" = 0 ] || fail "psql 15 did not restore the 17 dump into the 17 server: $(cat "$ERR")"
[ "$(fingerprint "$T17")" = "$s17_print" ] ||
	fail "psql 15's restore differs from the source: $(diff <(echo "$s17_print") <(fingerprint "$T17"))"

info "psql 17 restores it again (clean, into the database it has)"
sock_psql "$T17" -d system -c "CREATE TABLE left_over (id int)"
restore "$SNAP17" t17 "$PG17_BIN"
[ "$RC" = 0 ] || fail "psql 17 did not restore the 17 dump: $(cat "$ERR")"
[ "$(fingerprint "$T17")" = "$s17_print" ] ||
	fail "psql 17's restore differs from the source: $(diff <(echo "$s17_print") <(fingerprint "$T17"))"

# moved_to_17 WHAT [DUMP-PATH-FIRST] [LOAD-PATH-FIRST]: the 15 server backed
# up with the clients of the first, restored into the 17 with the second's
# psql, planned first: the plan says the 17 takes the dump; SNAP15 the
# snapshot.
moved_to_17() {
	info "the 15 server moved onto the 17: $1"
	backup p15 "$2"
	[ "$RC" = 0 ] || fail "$1: the backup of the 15 server failed: $(cat "$ERR")"
	SNAP15=$(json_get "$OUT" "d['snapshot_id']")
	restore "$SNAP15" t17 "$3" --dry-run --json
	[ "$RC" = 0 ] || fail "$1: the plan failed: $(cat "$ERR")"
	case $(json_get "$OUT" "d['steps'][0]['plan'].get('server')") in
	"PostgreSQL 17 takes the dump of pg_dump (PostgreSQL) 1"[57]*) ;;
	*) fail "$1: the plan does not say the 17 server takes the dump: $(cat "$OUT")" ;;
	esac
	restore "$SNAP15" t17 "$3"
	[ "$RC" = 0 ] || fail "$1: the restore into the 17 server failed: $(cat "$ERR")"
	[ "$(fingerprint "$T17")" = "$p15_print" ] ||
		fail "$1: the 15 database differs on the 17 server: $(diff <(echo "$p15_print") <(fingerprint "$T17"))"
}
moved_to_17 "pg_dump 15 and psql 15 (Debian 12's)" "" ""
moved_to_17 "pg_dump 17 and psql 17" "$PG17_BIN" "$PG17_BIN"
SNAP15_BY17=$SNAP15

info "the 17 dump into the 15 server: refused by the plan and the run, the 15 untouched"
sock_psql "$P15" -d postgres -c "ALTER ROLE threescale SET log_statement = 'all'"
for dry in --dry-run ""; do
	restore "$SNAP17" p15 "" $dry
	[ "$RC" != 0 ] || fail "the 17 dump was admitted into the 15 server ($dry)"
	expect_err "pg_dump \\(PostgreSQL\\) 17" "the refusal names the dump's version ($dry)"
	expect_err "PostgreSQL 15" "the refusal names the target's version ($dry)"
	expect_err "dump of a PostgreSQL 17 server" "the refusal names the source's version ($dry)"
	expect_err "nothing was written" "the refusal says the target is untouched ($dry)"
done
[ "$(fingerprint "$P15")" = "$p15_before" ] || fail "the 15 server's database changed"
! grep -q 'statement: \(BEGIN\|SET transaction_timeout\|DO\)' "$P15/postgres/server.log" ||
	fail "the refused load reached the 15 server: $(grep 'statement:' "$P15/postgres/server.log" | tail -3)"

info "the 17 dump into the 15 as system-postgresql in its pod: refused by the plan, asked through the pod's psql"
KDIR=$WORK/kube
mkdir -p "$KDIR/resources"
export FAKE_KUBE_DIR=$KDIR FAKE_KUBE_LOG=$WORK/kubectl.log FAKE_KUBE_NAMESPACE=3scale
python3 - "$KDIR/pods.json" "$WORK/pod.json" "$FAKE_KUBECTL" "$PATH" "$P15/postgres/sock" "$(port "$P15")" <<'PY'
import json, sys
pods, conf, kubectl, path, sock, port = sys.argv[1:]
env = {"PATH": path, "PGHOST": sock, "PGPORT": port, "PGUSER": "postgres"}
pod = {"apiVersion": "v1", "kind": "Pod",
       "metadata": {"name": "system-postgresql-1-abcde", "namespace": "3scale",
                    "labels": {"deployment": "system-postgresql"}},
       "spec": {"containers": [{"name": "system-postgresql",
                                "env": [{"name": k, "value": v} for k, v in env.items()]}]},
       "status": {"phase": "Running"}}
json.dump({"apiVersion": "v1", "kind": "List", "items": [pod]}, open(pods, "w"))
names = ["secrets", "configmaps", "apimanager", "system-mysql", "system-storage", "zync-database",
         "backend-redis", "system-redis"]
c = {"profile": "3scale", "post_restore": [],
     "transport": {"type": "kube", "binary": kubectl, "namespace": "3scale",
                   "pass_env": ["FAKE_KUBE_DIR", "FAKE_KUBE_LOG", "FAKE_KUBE_NAMESPACE"]},
     "components": {n: {"enabled": False} for n in names}}
c["components"]["system-postgresql"] = {"enabled": True, "external": False}
json.dump(c, open(conf, "w"), indent=2)
PY
restore "$SNAP17" pod "" --dry-run
[ "$RC" != 0 ] || fail "the plan admitted the 17 dump into the 15 in its pod"
expect_err "pg_dump \\(PostgreSQL\\) 17" "the plan's refusal names the dump's version (pod)"
expect_err "PostgreSQL 15" "the plan's refusal names the target's version (pod)"
python3 - "$FAKE_KUBE_LOG" <<'PY' || fail "the plan did not ask the server's version through the pod's psql, reading only"
import json, sys
calls = [json.loads(l)[2:] for l in open(sys.argv[1])]
assert all(c[0] in ("get", "exec") for c in calls), calls
asked = [c[-1] for c in calls if c[0] == "exec"]
assert len(asked) == 1 and "'psql'" in asked[0] and "'-c' 'SHOW server_version_num'" in asked[0], asked
assert all(c[2] == "system-postgresql-1-abcde" for c in calls if c[0] == "exec"), calls
PY
[ "$(fingerprint "$P15")" = "$p15_before" ] || fail "the 15 server's database changed (pod)"

info "pg_dump 17's dump of the 15 server back into the 15: the head's SET transaction_timeout left out"
restore "$SNAP15_BY17" p15 "" --dry-run --json
[ "$RC" = 0 ] || fail "the plan of pg_dump 17's dump of a 15 into the 15 failed: $(cat "$ERR")"
case $(json_get "$OUT" "d['steps'][0]['plan'].get('server')") in
"PostgreSQL 15 takes the dump of pg_dump (PostgreSQL) 17."*" of a PostgreSQL 15 server (its head's SET transaction_timeout, which 15 does not know, is left out)") ;;
*) fail "the plan does not say the SET transaction_timeout is left out: $(cat "$OUT")" ;;
esac
sock_psql "$P15" -d system -c "DELETE FROM audits" || fail "cannot change the 15's database"
restore "$SNAP15_BY17" p15 "" --json
[ "$RC" = 0 ] || fail "pg_dump 17's dump of the 15 was not restored into the 15: $(cat "$ERR")"
[ "$(json_get "$OUT" "d['steps'][0]['detail']['settings_left_out']")" = transaction_timeout ] ||
	fail "the report does not name the setting left out: $(cat "$OUT")"
[ "$(fingerprint "$P15")" = "$p15_before" ] ||
	fail "the 15's database differs from its backup: $(diff <(echo "$p15_before") <(fingerprint "$P15"))"
! grep -q 'statement: SET transaction_timeout' "$P15/postgres/server.log" ||
	fail "the SET transaction_timeout reached the 15 server"
! grep -qF -- "$ADMIN_PW" "$WORK/.transcript" "$ERR" 2>/dev/null || fail "the password is in the output"
info "OK"
