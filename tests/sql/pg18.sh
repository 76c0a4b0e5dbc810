#!/usr/bin/env bash
# PostgreSQL 18, what today's managed PostgreSQL offers as its newest, as
# 3scale's external system database, next to the older servers a pg_dump
# 18 is pointed at too: four servers over verified TLS with a client
# certificate, two 18s (the root filesystem of TSARC_TEST_PG18_ROOT, Debian
# sid), a 17 (TSARC_TEST_PG17_ROOT, trixie: the tsarc image's clients) and
# this host's 15; the roots' clients run as if installed on this host
# (wrappers). pg_dump 18 is the component's `tool`, as the backup's refusal
# of an older pg_dump says to set it; psql is PATH's, the image's 17 or 18.
# Proven:
#   - pg_dump 17 (the image's) refuses the 18 server: the backup fails
#     before anything is published, naming both versions and `tool`;
#   - pg_dump 18's backup of the 18 server is restored into the other 18
#     whole, by psql 17 and by psql 18, each object owned by app (the
#     target's admin, which has none of the source's roles);
#   - the 18 dump into the 17 server (a downgrade) is refused by the plan
#     and the run, naming both versions, the 17's database as it was and no
#     statement of the load reaching it;
#   - pg_dump 18's dumps of the 17 and the 15 servers (a real pg_dump 18's
#     head) go back into the servers they came from, the plan saying which
#     server takes which dump: into the 17 whole, its SET
#     transaction_timeout kept; into the 15 with that line left out, which
#     the report names and the 15 never sees.
# shellcheck disable=SC1091
. "$(dirname "$0")/pg_lib.sh"

need_root TSARC_TEST_PG18_ROOT "PostgreSQL 18" usr/lib/postgresql/18/bin/initdb
need_root TSARC_TEST_PG17_ROOT "PostgreSQL 17"
PG18_ROOT=$TSARC_TEST_PG18_ROOT PG17_ROOT=$TSARC_TEST_PG17_ROOT

pg_start p15 "p17:$PG17_ROOT" "s18:$PG18_ROOT" "t18:$PG18_ROOT"
P15=$WORK/svc-p15 P17=$WORK/svc-p17 S18=$WORK/svc-s18 T18=$WORK/svc-t18
pg_major_is "$P17" 17
pg_major_is "$S18" 18
pg_clients "$PG18_ROOT" 18
pg_clients "$PG17_ROOT" 17
PG18_BIN=$WORK/pg18/bin PG17_BIN=$WORK/pg17/bin

pg_fill "$S18" "$P17" "$P15"
s18_print=$(fingerprint "$S18" | as_app)
p17_before=$(fingerprint "$P17")
p15_before=$(fingerprint "$P15")
[ "$(tail -1 <<<"$s18_print")" = 300 ] || fail "test setup: the source holds no rows"
pg_app "$T18"
pg_config s18 threescale
pg_config t18 app

info "pg_dump 17 (the image's) against the 18 server: refused, naming both versions and tool"
backup s18 "$PG17_BIN"
[ "$RC" != 0 ] || fail "pg_dump 17 backed up a PostgreSQL 18 server"
expect_err "PostgreSQL 18" "the error names the server's version"
expect_err "pg_dump \\(PostgreSQL\\) 17" "the error names the client's version"
expect_err "postgresql-client-18" "the error says what to install"
expect_err '"tool"' "the error says how to point tsarc at another pg_dump"
no_snapshot "$REPO" "pg_dump 17 against an 18 server"

# Every server backed up by pg_dump 18, the component's tool; SNAP[name]
# its snapshot.
declare -A SNAP
TOOL="{\"tool\": \"$PG18_BIN/pg_dump\"}"
for name in s18:threescale p17:threescale p15:threescale; do
	pg_config "${name%:*}" "${name#*:}" "$TOOL"
	backup "${name%:*}"
	[ "$RC" = 0 ] || fail "pg_dump 18's backup of ${name%:*} failed: $(cat "$ERR")"
	SNAP[${name%:*}]=$(json_get "$OUT" "d['snapshot_id']")
	ok show "${SNAP[${name%:*}]}" --repo "$REPO" --json
	case $(json_get "$OUT" "d['streams'][0]['meta']['tool_version']") in
	"pg_dump (PostgreSQL) 18."*) ;;
	*) fail "the snapshot of ${name%:*} records no pg_dump 18: $(cat "$OUT")" ;;
	esac
done
# From here on, the older servers log every statement of the tests' user.
for d in "$P17" "$P15"; do
	sock_psql "$d" -d postgres -c "ALTER ROLE threescale SET log_statement = 'all'"
done

info "the 18 dump into the other 18: the plan says it takes it; psql 17 (the image's) restores it"
restore "${SNAP[s18]}" t18 "$PG17_BIN" --dry-run --json
[ "$RC" = 0 ] || fail "the plan of the 18 dump into the 18 failed: $(cat "$ERR")"
server_plan_is "18 into 18" "PostgreSQL 18 takes the dump of pg_dump (PostgreSQL) 18.*"
restore "${SNAP[s18]}" t18 "$PG17_BIN"
[ "$RC" = 0 ] || fail "psql 17 did not restore the 18 dump into the 18 server: $(cat "$ERR")"
[ "$(fingerprint "$T18")" = "$s18_print" ] ||
	fail "psql 17's restore differs from the source: $(diff <(echo "$s18_print") <(fingerprint "$T18"))"

info "psql 18 restores it again (clean, into the database it has)"
sock_psql "$T18" -d system -c "CREATE TABLE left_over (id int)" -c "DELETE FROM audits"
restore "${SNAP[s18]}" t18 "$PG18_BIN"
[ "$RC" = 0 ] || fail "psql 18 did not restore the 18 dump: $(cat "$ERR")"
[ "$(fingerprint "$T18")" = "$s18_print" ] ||
	fail "psql 18's restore differs from the source: $(diff <(echo "$s18_print") <(fingerprint "$T18"))"

info "the 18 dump into the 17 server: refused by the plan and the run, the 17 untouched"
for dry in --dry-run ""; do
	restore "${SNAP[s18]}" p17 "$PG17_BIN" $dry
	[ "$RC" != 0 ] || fail "the 18 dump was admitted into the 17 server ($dry)"
	expect_err "pg_dump \\(PostgreSQL\\) 18" "the refusal names the dump's version ($dry)"
	expect_err "PostgreSQL 17" "the refusal names the target's version ($dry)"
	expect_err "dump of a PostgreSQL 18 server" "the refusal names the source's version ($dry)"
	expect_err "nothing was written" "the refusal says the target is untouched ($dry)"
done
[ "$(fingerprint "$P17")" = "$p17_before" ] || fail "the 17 server's database changed"
! grep -q 'statement: \(BEGIN\|SET \|DO\)' "$P17/postgres/server.log" ||
	fail "the refused load reached the 17 server: $(grep 'statement:' "$P17/postgres/server.log" | tail -3)"

info "pg_dump 18's dump of the 17 server back into the 17: its head taken whole"
restore "${SNAP[p17]}" p17 "$PG17_BIN" --dry-run --json
[ "$RC" = 0 ] || fail "the plan of pg_dump 18's dump of the 17 into the 17 failed: $(cat "$ERR")"
server_plan_is "18's 17 into 17" \
	"PostgreSQL 17 takes the dump of pg_dump (PostgreSQL) 18.* of a PostgreSQL 17 server"
sock_psql "$P17" -d system -c "DELETE FROM audits" || fail "cannot change the 17's database"
restore "${SNAP[p17]}" p17 "$PG17_BIN" --json
[ "$RC" = 0 ] || fail "pg_dump 18's dump of the 17 was not restored into the 17: $(cat "$ERR")"
[ "$(json_get "$OUT" "d['steps'][0].get('detail', {}).get('settings_left_out')")" = None ] ||
	fail "the report says a setting was left out of the load into the 17: $(cat "$OUT")"
[ "$(fingerprint "$P17")" = "$p17_before" ] ||
	fail "the 17's database differs from its backup: $(diff <(echo "$p17_before") <(fingerprint "$P17"))"
grep -q 'statement: SET transaction_timeout = 0;' "$P17/postgres/server.log" ||
	fail "the head's SET transaction_timeout did not reach the 17 server"

info "pg_dump 18's dump of the 15 server back into the 15: its SET transaction_timeout left out"
restore "${SNAP[p15]}" p15 "" --dry-run --json
[ "$RC" = 0 ] || fail "the plan of pg_dump 18's dump of the 15 into the 15 failed: $(cat "$ERR")"
server_plan_is "18's 15 into 15" "PostgreSQL 15 takes the dump of pg_dump (PostgreSQL) 18.* of a \
PostgreSQL 15 server (its head's SET transaction_timeout, which 15 does not know, is left out)"
sock_psql "$P15" -d system -c "DELETE FROM audits" || fail "cannot change the 15's database"
restore "${SNAP[p15]}" p15 "" --json
[ "$RC" = 0 ] || fail "pg_dump 18's dump of the 15 was not restored into the 15: $(cat "$ERR")"
[ "$(json_get "$OUT" "d['steps'][0]['detail']['settings_left_out']")" = transaction_timeout ] ||
	fail "the report does not name the setting left out: $(cat "$OUT")"
[ "$(fingerprint "$P15")" = "$p15_before" ] ||
	fail "the 15's database differs from its backup: $(diff <(echo "$p15_before") <(fingerprint "$P15"))"
grep -q 'statement: SET lock_timeout = 0;' "$P15/postgres/server.log" ||
	fail "the load's head did not reach the 15 server (its statements are not logged)"
! grep -q 'statement: SET transaction_timeout' "$P15/postgres/server.log" ||
	fail "the SET transaction_timeout reached the 15 server"
! grep -qF -- "$ADMIN_PW" "$WORK/.transcript" "$ERR" 2>/dev/null || fail "the password is in the output"
info "OK"
