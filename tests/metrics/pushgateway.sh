#!/usr/bin/env bash
# --pushgateway against a real prometheus-pushgateway on a free loopback
# port, with basic auth (its web config, bcrypt): what it then serves,
# parsed by prometheus_client, holds the run's samples under the grouping
# key job/instance/command; a failed backup pushes its exit code and leaves
# the last success; a check does not replace the backup's samples; wrong
# credentials are a warning that leaves the command's exit code alone; the
# credentials never appear in argv or on stderr.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

PGW=$(command -v prometheus-pushgateway) || {
	[ "${TSARC_TEST_REQUIRE_SERVICES:-0}" = 1 ] && fail "prometheus-pushgateway is not installed"
	echo "SKIP: prometheus-pushgateway is not installed (bash ci/deps.sh)"
	exit 77
}

PGW_USER=tsarc-push
PGW_PASS="push-Zx81-$RANDOM$RANDOM"
HASH=$("$PY" -W ignore -c 'import crypt, sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))' "$PGW_PASS")
printf 'basic_auth_users:\n  %s: %s\n' "$PGW_USER" "$HASH" >"$WORK/web.yml"
printf '%s:%s\n' "$PGW_USER" "$PGW_PASS" >"$WORK/push-auth"
chmod 600 "$WORK/push-auth"
printf '%s:wrong\n' "$PGW_USER" >"$WORK/bad-auth"

PORT=$(free_port)
"$PGW" --web.listen-address="127.0.0.1:$PORT" --web.config.file="$WORK/web.yml" \
	--persistence.file="$WORK/pgw.data" >"$WORK/pgw.log" 2>&1 &
PGW_PID=$!
URL=http://127.0.0.1:$PORT
for _ in $(seq 100); do
	curl -s -o /dev/null -u "$PGW_USER:$PGW_PASS" "$URL/-/ready" && break
	kill -0 "$PGW_PID" 2>/dev/null || { cat "$WORK/pgw.log" >&2; fail "the pushgateway did not start"; }
	sleep 0.1
done
# scrape FILE: what the pushgateway serves now.
scrape() { curl -sf -u "$PGW_USER:$PGW_PASS" "$URL/metrics" >"$1" || fail "cannot read $URL/metrics"; }

R=$WORK/repo
init_repo "$R"
PUSH=(--pushgateway "$URL/" --pushgateway-job nightly --pushgateway-instance 3scale-prod
	--pushgateway-auth-file "$WORK/push-auth")
G="job='nightly', instance='3scale-prod', repository='$R'"

info "a backup pushes its metrics"
"$GEN" 500K --seed 3 >"$WORK/a.sql"
t_in "$WORK/a.sql" backup --repo "$R" --stdin --name a.sql "${PUSH[@]}"
expect_rc 0 "backup --pushgateway"
! grep -q "warning\|error" "$ERR" || fail "the push said something: $(cat "$ERR")"
scrape "$WORK/s1"
prom_true "$WORK/s1" "s('tsarc_exit_code', $G, command='backup') == 0" "exit code pushed"
prom_true "$WORK/s1" "s('tsarc_backup_size_bytes', $G, command='backup') == $(stat -c %s "$WORK/a.sql")" "size pushed"
prom_true "$WORK/s1" "s('tsarc_snapshots', $G, command='backup') == 1" "snapshot count pushed"
SUCCESS=$(prom "$WORK/s1" "s('tsarc_last_success_timestamp_seconds', $G, command='backup')")
[ "$SUCCESS" != None ] || fail "no success time pushed"
curl -s -o /dev/null -w '%{http_code}' "$URL/metrics" | grep -qx 401 || fail "the pushgateway does not require auth"

info "a failed backup pushes exit code 12 and leaves the last success"
sleep 1
TSARC_PASSWORD=not-it t_in "$WORK/a.sql" backup --repo "$R" --stdin --name a.sql "${PUSH[@]}"
expect_rc 12 "backup with a wrong password"
scrape "$WORK/s2"
prom_true "$WORK/s2" "s('tsarc_exit_code', $G, command='backup') == 12" "exit code 12 pushed"
prom_true "$WORK/s2" "s('tsarc_last_success_timestamp_seconds', $G, command='backup') == $SUCCESS" "last success kept"
prom_true "$WORK/s2" "s('tsarc_last_run_timestamp_seconds', $G, command='backup') > $SUCCESS" "run time pushed"

info "a check of the same job and instance keeps the backup's samples"
t check --repo "$R" "${PUSH[@]}"
expect_rc 0 "check --pushgateway"
scrape "$WORK/s3"
prom_true "$WORK/s3" "s('tsarc_exit_code', $G, command='check') == 0 and s('tsarc_check_errors', $G, command='check') == 0" "check pushed"
prom_true "$WORK/s3" "s('tsarc_exit_code', $G, command='backup') == 12" "the backup's samples are still there"

info "wrong credentials: a warning, the backup's own exit code"
t_in "$WORK/a.sql" backup --repo "$R" --stdin --name a.sql --pushgateway "$URL" \
	--pushgateway-auth-file "$WORK/bad-auth"
expect_rc 0 "backup with a refused push"
expect_err "warning: metrics not pushed to $URL: the Pushgateway answered HTTP 401" "the refused push is named"
t_in "$WORK/a.sql" backup --repo "$R" --stdin --name a.sql --pushgateway "$URL" \
	--pushgateway-auth-file "$WORK/nonexistent"
expect_rc 0 "backup with a missing credentials file"
expect_err "metrics not pushed.*cannot read the Pushgateway credentials file" "the missing file is named"
t backup --repo "$R" --stdin --name a.sql --pushgateway "ftp://127.0.0.1:$PORT" </dev/null
expect_rc 2 "an ftp:// pushgateway"
t backup --repo "$R" --stdin --name a.sql --pushgateway "http://u:p@127.0.0.1:$PORT" </dev/null
expect_rc 2 "credentials in the pushgateway URL"
expect_err "no credentials in the URL" "the refusal says where they go"
grep -qaF -- "$PGW_PASS" "$TRANSCRIPT" && fail "the pushgateway password was printed"
# A password holding '/', '?' or '#' ended the part searched for '@' early:
# the URL was taken, curl failed on it, and the warning quoted it whole.
for sep in / '?' '#'; do
	t_in "$WORK/a.sql" backup --repo "$R" --stdin --name a.sql \
		--pushgateway "http://u:pw-Qk27${sep}tail-Vb93@127.0.0.1:$PORT"
	expect_rc 2 "credentials holding '$sep' in the pushgateway URL"
	expect_err "no credentials in the URL" "the refusal of a password holding '$sep'"
	grep -qaE -- "Qk27|Vb93" "$TRANSCRIPT" && fail "a pushgateway password holding '$sep' was printed"
done

info "the default instance is this host's name"
t_in "$WORK/a.sql" backup --repo "$R" --stdin --name a.sql --pushgateway "$URL" \
	--pushgateway-auth-file "$WORK/push-auth"
expect_rc 0 "backup with the default job and instance"
scrape "$WORK/s4"
prom_true "$WORK/s4" "s('tsarc_exit_code', job='tsarc', instance='$(hostname)', command='backup') == 0" "default grouping key"

kill "$PGW_PID"
wait "$PGW_PID" 2>/dev/null
finish
