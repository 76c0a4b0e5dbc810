#!/usr/bin/env bash
# --metrics-file: Prometheus text that prometheus_client's parser reads,
# written by rename (never a half-written file for the collector), after a
# backup, a deployment backup (per component), a failed backup (exit code
# written, last success carried over), check (errors), forget --prune
# (removed, freed bytes, repository size), restore, and a backup ended by
# SIGTERM (exit code 143); other commands refuse the option; other
# commands' samples in the same file are kept.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

R=$WORK/repo
M=$WORK/textfile/tsarc.prom
mkdir -p "$WORK/textfile"
init_repo "$R" --chunk-min 65536 --chunk-avg 131072 --chunk-max 262144

info "a backup writes the metrics"
"$GEN" 1M --seed 1 >"$WORK/a.sql"
BEFORE=$(date +%s)
t_in "$WORK/a.sql" backup --repo "$R" --stdin --name a.sql --metrics-file "$M"
expect_rc 0 "backup --metrics-file"
AFTER=$(date +%s)
L="repository='$R', command='backup'"
prom_true "$M" "s('tsarc_exit_code', $L) == 0" "exit code 0"
prom_true "$M" "$BEFORE <= s('tsarc_last_success_timestamp_seconds', $L) <= $AFTER" "success time is now"
prom_true "$M" "s('tsarc_last_run_timestamp_seconds', $L) == s('tsarc_last_success_timestamp_seconds', $L)" "run time = success time"
prom_true "$M" "s('tsarc_backup_size_bytes', $L) == $(stat -c %s "$WORK/a.sql")" "size = bytes read"
prom_true "$M" "s('tsarc_backup_new_bytes', $L) == $(stat -c %s "$WORK/a.sql")" "all bytes new"
prom_true "$M" "s('tsarc_backup_stored_bytes', $L) > 0 and s('tsarc_backup_chunks', $L) >= 2" "stored bytes and chunks"
prom_true "$M" "s('tsarc_snapshots', $L) == 1" "one snapshot"
prom_true "$M" "s('tsarc_backup_previous_size_bytes', $L) is None" "no previous snapshot yet"
prom_true "$M" "0 <= s('tsarc_duration_seconds', $L) < 60" "a duration"
grep -q '^# HELP tsarc_exit_code ' "$M" && grep -q '^# TYPE tsarc_exit_code gauge$' "$M" || fail "no HELP/TYPE lines"
SUCCESS=$(prom "$M" "s('tsarc_last_success_timestamp_seconds', $L)")
INODE=$(stat -c %i "$M")

info "a smaller second backup: the previous size is the first one's"
sleep 1 # snapshot times are whole seconds
head -c 300000 "$WORK/a.sql" >"$WORK/small.sql"
t_in "$WORK/small.sql" backup --repo "$R" --stdin --name a.sql --metrics-file "$M"
expect_rc 0 "second backup"
prom_true "$M" "s('tsarc_backup_size_bytes', $L) == 300000" "the new size"
prom_true "$M" "s('tsarc_backup_previous_size_bytes', $L) == $(stat -c %s "$WORK/a.sql")" "the previous size"
prom_true "$M" "s('tsarc_snapshots', $L) == 2" "two snapshots"
[ "$(stat -c %i "$M")" != "$INODE" ] || fail "the file was rewritten in place, not replaced by a rename"
[ -z "$(find "$WORK/textfile" -name '.*')" ] || fail "a temporary file was left: $(ls -a "$WORK/textfile")"
SUCCESS=$(prom "$M" "s('tsarc_last_success_timestamp_seconds', $L)")

info "a failed backup: exit code written, last success kept"
sleep 1
TSARC_PASSWORD=wrong-password t_in "$WORK/a.sql" backup --repo "$R" --stdin --name a.sql --metrics-file "$M"
expect_rc 12 "backup with a wrong password"
prom_true "$M" "s('tsarc_exit_code', $L) == 12" "exit code 12"
prom_true "$M" "s('tsarc_last_success_timestamp_seconds', $L) == $SUCCESS" "the last success is carried over"
prom_true "$M" "s('tsarc_last_run_timestamp_seconds', $L) > $SUCCESS" "the run time moved on"
prom_true "$M" "s('tsarc_backup_size_bytes', $L) == 300000" "the sizes stay those of the last snapshot"

info "check: clean, then a damaged chunk (exit 3, errors counted); backup samples kept"
C="repository='$R', command='check'"
t check --repo "$R" --metrics-file "$M"
expect_rc 0 "check"
prom_true "$M" "s('tsarc_exit_code', $C) == 0 and s('tsarc_check_errors', $C) == 0" "a clean check"
prom_true "$M" "s('tsarc_repository_chunks', $C) >= 2 and s('tsarc_snapshots', $C) == 2" "what check counted"
prom_true "$M" "s('tsarc_exit_code', $L) == 12 and s('tsarc_last_success_timestamp_seconds', $L) == $SUCCESS" \
	"the backup's samples are still there"
CHUNK=$(find "$R/data" -type f -name '[0-9a-f]*' | sort | head -1)
flip_byte "$CHUNK" 40
t check --repo "$R" --read-data --metrics-file "$M"
expect_rc 3 "check of a damaged chunk"
prom_true "$M" "s('tsarc_exit_code', $C) == 3 and s('tsarc_check_errors', $C) >= 1" "the damage counted"
flip_byte "$CHUNK" 40

info "forget --prune: removed snapshots, freed bytes, repository size"
F="repository='$R', command='forget'"
t forget --repo "$R" --keep-last 1 --prune --metrics-file "$M"
expect_rc 0 "forget --prune"
prom_true "$M" "s('tsarc_forget_removed_snapshots', $F) == 1 and s('tsarc_snapshots', $F) == 1" "one removed, one left"
prom_true "$M" "s('tsarc_prune_freed_bytes', $F) > 0 and s('tsarc_prune_freed_chunks', $F) >= 1" "chunks freed"
SIZE=$(find "$R/data" -type f -name '[0-9a-f]*' -printf '%s\n' | awk '{s += $1} END {print s}')
prom_true "$M" "s('tsarc_repository_size_bytes', $F) == $SIZE" "the repository size is the chunk objects' size"
t snapshots --repo "$R" --metrics-file "$M"
expect_rc 2 "snapshots --metrics-file"
expect_err "go with backup, restore, forget, prune and check" "the refusal says which commands"
t prune --repo "$R" --pushgateway-job x
expect_rc 2 "--pushgateway-job without --pushgateway"

info "a deployment backup and its restore: per component"
T=$WORK/tree
mkdir -p "$T"
head -c 150000 /dev/urandom >"$T/b.bin"
files_config "$WORK/dep.json" "$T"
"$PY" - "$WORK/dep2.json" "$T" "$WORK/missing" <<'PY'
import json, sys
json.dump({"profile": "none", "transport": {"type": "local"},
           "components": {"tree": {"kind": "files", "path": sys.argv[2], "stream": "tree.tar"},
                          "gone": {"kind": "files", "path": sys.argv[3], "stream": "gone.tar"}}},
          open(sys.argv[1], "w"))
PY
t backup --repo "$R" --config "$WORK/dep.json" --metrics-file "$M"
expect_rc 0 "deployment backup"
SNAP=$(head -1 "$OUT")
prom_true "$M" "s('tsarc_component_success', $L, component='tree') == 1" "the component succeeded"
prom_true "$M" "s('tsarc_component_size_bytes', $L, component='tree') > 150000" "the component's stream size"
prom_true "$M" "s('tsarc_component_duration_seconds', $L, component='tree') >= 0" "the component's time"
t backup --repo "$R" --config "$WORK/dep2.json" --metrics-file "$M"
[ "$RC" -ne 0 ] || fail "a backup of a missing folder succeeded"
prom_true "$M" "s('tsarc_component_success', $L, component='gone') == 0" "the failed component"
prom_true "$M" "s('tsarc_exit_code', $L) != 0" "the failed backup's exit code"
echo changed >"$T/b.bin"
RS="repository='$R', command='restore'"
t restore "$SNAP" --repo "$R" --config "$WORK/dep.json" --metrics-file "$M"
expect_rc 0 "restore"
prom_true "$M" "s('tsarc_exit_code', $RS) == 0 and s('tsarc_component_success', $RS, component='tree') == 1" "restore measured"
prom_true "$M" "s('tsarc_restore_bytes', $RS) == s('tsarc_component_size_bytes', $RS, component='tree') > 150000" "restored bytes"
[ "$(stat -c %s "$T/b.bin")" = 150000 ] || fail "the tree was not restored"

info "a backup ended by SIGTERM still writes its metrics (exit code 143)"
mkfifo "$WORK/in"
"$TSARC" backup --repo "$R" --stdin --name slow --metrics-file "$M" <"$WORK/in" 2>"$ERR" &
PID=$!
exec 7>"$WORK/in"
head -c 100000 /dev/urandom >&7
for _ in $(seq 100); do
	ls "$R/locks" 2>/dev/null | grep -q . && break
	sleep 0.1
done
kill -TERM "$PID"
RC=0
wait "$PID" || RC=$?
exec 7>&-
sanitizer_check 0 "$ERR" "backup killed by SIGTERM"
expect_rc 143 "backup ended by SIGTERM"
prom_true "$M" "s('tsarc_exit_code', $L) == 143" "exit code 143 written by the signal path"
expect_err "interrupted by SIGTERM" "the interruption is said"

info "a repository URL holding credentials: refused, and the metrics' label holds none"
# The label was the --repo text as given: a failed run wrote (and pushed)
# the credentials it was refused for.
MC=$WORK/cred.prom
for url in "s3:http://AKID:Label-Zt62@127.0.0.1:1/bucket" "https://AKID:Label-Zt62@127.0.0.1:1/bucket"; do
	rm -f "$MC"
	TSARC_REPOSITORY=$url t check --metrics-file "$MC"
	[ "$RC" -ne 0 ] || fail "credentials in the repository URL: exit 0"
	prom_true "$MC" "s('tsarc_exit_code', command='check') == $RC" "the failed run's exit code is written"
	! grep -q "Label-Zt62" "$MC" || fail "the metrics hold the credentials: $(grep -m1 "Label-Zt62" "$MC")"
done

finish
