#!/usr/bin/env bash
# --log-format json: everything tsarc writes on stderr is one JSON object
# per line (level, time in RFC 3339 UTC, component, event, message), for a
# deployment backup with a library warning (a fifo in the tree, one whose
# name is not UTF-8), a failed backup, a check and a repair index that find
# damage (exit 3, the error the last event), and a restore; the library's
# warnings arrive as events; the human format is unchanged;
# TSARC_LOG_FORMAT does the same as the option.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

# json_lines WHAT: every line of $ERR is a JSON object with exactly the five
# fields, a known level and a UTC RFC 3339 time; prints them as one list.
json_lines() {
	"$PY" - "$ERR" >"$WORK/events.json" <<'PY' || fail "$1: stderr is not JSON lines: $(head -c 2000 "$ERR")"
import datetime, json, re, sys
events = []
for no, line in enumerate(open(sys.argv[1]), 1):
    e = json.loads(line)
    assert isinstance(e, dict), f"line {no} is not an object"
    assert sorted(e) == ["component", "event", "level", "message", "time"], f"line {no}: {sorted(e)}"
    assert e["level"] in ("debug", "info", "warn", "error"), e["level"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", e["time"]), e["time"]
    t = datetime.datetime.fromisoformat(e["time"].replace("Z", "+00:00"))
    now = datetime.datetime.now(datetime.timezone.utc)
    assert abs((now - t).total_seconds()) < 600, f"time {e['time']} is not now (UTC)"
    assert all(isinstance(e[k], str) and e[k] for k in ("component", "event")), e
    events.append(e)
assert events, "no line at all"
json.dump(events, sys.stdout)
PY
}
# has_event EXPR WHAT: some event e of the last json_lines satisfies EXPR.
has_event() {
	"$PY" -c 'import json, sys
events = json.load(open(sys.argv[1]))
sys.exit(0 if any(eval(sys.argv[2]) for e in events) else 1)' "$WORK/events.json" "$1" ||
		fail "$2: no event with ($1) in $(cat "$WORK/events.json")"
}

R=$WORK/repo
T=$WORK/tree
mkdir -p "$T/sub"
echo "hello" >"$T/a.txt"
head -c 200000 /dev/urandom >"$T/sub/b.bin"
mkfifo "$T/pipe"
# A name that is not UTF-8 (Latin-1): the JSON line must still parse.
mkfifo "$T/caf"$'\xe9'
files_config "$WORK/dep.json" "$T"

info "init, then a deployment backup whose tree holds a fifo"
t init --repo "$R" --kdf-memory 4 --log-format json
expect_rc 0 "init"
json_lines "init"
has_event "e['component'] == 'init' and e['event'] == 'created' and e['level'] == 'info'" "init says it created the repository"
t backup --repo "$R" --config "$WORK/dep.json" --log-format json
expect_rc 0 "backup --log-format json"
json_lines "backup"
has_event "e['level'] == 'warn' and e['component'] == 'files' and e['event'] == 'file_skipped' and e['message'].endswith('/pipe: skipped, a fifo is not backed up')" \
	"the library's warning about the fifo is an event"
has_event "e['event'] == 'file_skipped' and e['message'].endswith('/caf?: skipped, a fifo is not backed up')" \
	"a name that is not UTF-8 has '?' for its bad byte"
has_event "e['event'] == 'saved' and e['component'] == 'backup' and e['message'].startswith('snapshot ')" \
	"the summary is an event"
has_event "e['event'] == 'component' and 'tree' in e['message']" "the component table is events"
SNAP=$(head -1 "$OUT")
[ "${#SNAP}" -eq 64 ] || fail "stdout is not the snapshot id: $(cat "$OUT")"

info "the human format is what it was"
t backup --repo "$R" --config "$WORK/dep.json"
expect_rc 0 "backup, human format"
grep -qx "tsarc: warning: $T/pipe: skipped, a fifo is not backed up" "$ERR" ||
	fail "the human warning is not the 'tsarc: warning: ...' line"
grep -q '^snapshot [0-9a-f]\{10\} saved: ' "$ERR" || fail "the human summary line is missing"
! grep -q '^{' "$ERR" || fail "JSON in the human format"

info "a failed backup: the error is the last event"
"$PY" - "$WORK/bad.json" "$WORK/missing" <<'PY'
import json, sys
json.dump({"profile": "none", "transport": {"type": "local"},
           "components": {"gone": {"kind": "files", "path": sys.argv[2], "stream": "gone.tar"}}},
          open(sys.argv[1], "w"))
PY
TSARC_LOG_FORMAT=json t backup --repo "$R" --config "$WORK/bad.json"
[ "$RC" -ne 0 ] || fail "a backup of a missing folder succeeded"
json_lines "failed backup (TSARC_LOG_FORMAT=json)"
"$PY" -c 'import json, sys
e = json.load(open(sys.argv[1]))[-1]
assert e["level"] == "error" and e["event"] == "failed" and e["component"] == "backup", e
assert "gone" in e["message"], e' "$WORK/events.json" || fail "the last event is not the error naming the component"
t backup --repo "$R" --stdin --name x --log-format json --bogus
expect_rc 2 "an unknown option"
# getopt printed its own line ("backup: unrecognized option '--bogus'"),
# after the option was read and with TSARC_LOG_FORMAT=json alike.
json_lines "an unknown option after --log-format json"
has_event "e['event'] == 'usage' and \"'--bogus'\" in e['message']" "the unknown option is named"
TSARC_LOG_FORMAT=json t snapshots --repo "$R" --repo
expect_rc 2 "an option without its value"
json_lines "an option without its value (TSARC_LOG_FORMAT=json)"
has_event "e['event'] == 'usage' and \"'--repo'\" in e['message']" "the option without its value is named"
# A value refused (--inflight, --pushgateway*) was a text line too.
for bad in "--inflight 0" "--pushgateway-instance a/b" "--pushgateway http://u@127.0.0.1:1"; do
	# shellcheck disable=SC2086 # the option and its value
	t check --repo "$R" --log-format json $bad
	expect_rc 2 "check $bad"
	json_lines "check $bad"
	has_event "e['event'] == 'usage' and e['level'] == 'error' and '${bad%% *}' in e['message']" \
		"check $bad: the option is named"
done
t backup --repo "$R" --config "$WORK/dep.json" --log-format yaml
expect_rc 2 "--log-format yaml"
expect_err "--log-format takes human or json" "the bad format is named"

info "a restore: its progress and report are events"
rm -rf "$T"
mkdir -p "$T"
echo "other" >"$T/extra.txt"
t restore "$SNAP" --repo "$R" --config "$WORK/dep.json" --log-format json
expect_rc 0 "restore --log-format json"
json_lines "restore"
has_event "e['component'] == 'restore' and e['event'] == 'step' and 'tree' in e['message'] and 'applied' in e['message']" \
	"the restored step is an event"
[ "$(cat "$T/a.txt")" = hello ] && [ ! -e "$T/extra.txt" ] && [ "$(stat -c %s "$T/sub/b.bin")" = 200000 ] ||
	fail "the tree was not restored"
t restore "$SNAP" --repo "$R" --config "$WORK/dep.json" --dry-run --log-format json
expect_rc 0 "restore --dry-run --log-format json"
json_lines "restore --dry-run"
has_event "e['event'] == 'report' and e['message'] == 'dry run: nothing was changed'" "the dry run says so"

info "check and repair index finding damage: the error is the last event"
# A pack whose table of contents is damaged. check's report stays on
# stdout; check and repair exited 3 with nothing on stderr before, so no
# 'failed' event, as every other failing command has.
P=$(find "$R/data" -type f -printf '%s %p\n' | sort -rn | head -1 | cut -d' ' -f2)
"$PY" -c 'import sys
f = open(sys.argv[1], "r+b"); f.seek(-8, 2); b = f.read(1); f.seek(-8, 2); f.write(bytes([b[0] ^ 0xff]))' "$P"
last_failed() {
	"$PY" -c 'import json, sys
e = json.load(open(sys.argv[1]))[-1]
assert e["level"] == "error" and e["event"] == "failed" and e["component"] == sys.argv[2], e
assert sys.argv[3] in e["message"], e' "$WORK/events.json" "$1" "$2" ||
		fail "$1: the last event is not the error saying '$2': $(cat "$WORK/events.json")"
}
t check --repo "$R" --log-format json
expect_rc 3 "check of a damaged pack"
grep -q "^damaged pack $(basename "$P" | cut -c1-16)" "$OUT" ||
	fail "check's report is not on stdout: $(cat "$OUT")"
json_lines "check of a damaged pack"
last_failed check "1 damaged or missing pack"
t repair index --repo "$R" --log-format json
expect_rc 3 "repair index of a damaged pack"
json_lines "repair index of a damaged pack"
last_failed repair "1 damaged pack"
t check --repo "$R" --log-format json
expect_rc 0 "check after the repair"
[ ! -s "$ERR" ] || fail "a clean check wrote on stderr: $(cat "$ERR")"

finish
