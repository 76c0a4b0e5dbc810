#!/usr/bin/env bash
# Failures of a deployment backup: a wrong password, a dump tool that dies
# midway, a required Secret missing, a database down, configuration
# mistakes. Each must leave no snapshot, exit non-zero and name the
# component with the tail of its tool's stderr. Also: optional resources
# that are missing are noted in the manifest, not fatal; credentials reach
# the tools through a 0600 option file or the environment, never argv, and
# the option file is gone afterwards; the repository password is not passed
# on; components run concurrently, never more than `parallel` at once.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

deploy_up 1
REPO=$WORK/repo
init_repo "$REPO"

config() { # FILE PYTHON-EDIT: the demo config, edited
	python3 - "$DEP/config.json" "$1" "${2:-}" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
exec(sys.argv[3])
json.dump(c, open(sys.argv[2], "w"), indent=2)
PY
}

# backup_fails RC CONFIG WHAT MESSAGE...: a backup with CONFIG exits RC and
# its stderr holds each MESSAGE (a regular expression).
backup_fails() {
	local rc=$1 conf=$2 what=$3 m
	shift 3
	t backup --repo "$REPO" --config "$conf"
	expect_rc "$rc" "$what"
	for m in "$@"; do expect_err "$m" "$what"; done
}

info "wrong MySQL password"
export WRONG_PW=not-the-password
config "$WORK/c1.json" 'c["components"]["system-mysql"]["password_env"] = "WRONG_PW"'
backup_fails 1 "$WORK/c1.json" "wrong password" "component 'system-mysql' \\(mysql\\): mysqldump: exited with status 2" "Access denied for user 'root'"
no_snapshot "$REPO" "wrong password"

info "wrong Redis password"
export WRONG_REDIS=nope
config "$WORK/c2.json" 'c["components"]["backend-redis"]["password_env"] = "WRONG_REDIS"'
backup_fails 1 "$WORK/c2.json" "wrong redis password" "component 'backend-redis' \\(redis\\)" "WRONGPASS|AUTH failed"
no_snapshot "$REPO" "wrong redis password"

info "an optional component that fails is left out, and the rest is saved"
config "$WORK/c2b.json" 'c["components"]["system-redis"]["password_env"] = "WRONG_REDIS"; c["components"]["system-redis"]["required"] = False'
t backup --repo "$REPO" --config "$WORK/c2b.json" --json
expect_rc 0 "optional component failing"
python3 - "$OUT" <<'PY' || fail "optional component failing: the report is not what was expected"
import json, sys
doc = json.load(open(sys.argv[1]))
comps = {c["name"]: c for c in doc["components"]}
assert comps["system-redis"]["status"] == "skipped", comps["system-redis"]
assert "system-redis" in comps["system-redis"]["error"], comps["system-redis"]
assert comps["backend-redis"]["status"] == "ok", comps["backend-redis"]
PY
"$TSARC" show --repo "$REPO" latest --json | python3 -c '
import json, sys
names = [s["name"] for s in json.load(sys.stdin)["streams"]]
assert "system-redis.rdb" not in names and "backend-redis.rdb" in names, names' ||
	fail "optional component failing: the snapshot should hold every stream but system-redis's"
"$TSARC" check --repo "$REPO" -q >/dev/null || fail "optional component failing: check"
# The cases below count on an empty repository.
"$TSARC" forget --repo "$REPO" latest -q >/dev/null || fail "optional component failing: forget"
no_snapshot "$REPO" "optional component failing: cleanup"

info "a dump tool that dies midway (and how it got its password)"
cat > "$WORK/dying-mysqldump" <<DUMPER
#!/bin/sh
# Records how it was called, streams part of a real dump, then crashes.
printf '%s\n' "\$@" > "$WORK/argv.txt"
env | grep -c '^TSARC_PASSWORD=' > "$WORK/env.count"
for a in "\$@"; do
	case \$a in --defaults-file=*) f=\${a#--defaults-file=}; echo "\$f" > "$WORK/cnf.path"; stat -L -c %a "\$f" > "$WORK/cnf.mode" ;; esac
done
mysqldump "\$@" | head -c 300000
echo "simulated crash after 300000 bytes" >&2
kill -KILL \$\$
DUMPER
chmod +x "$WORK/dying-mysqldump"
config "$WORK/c3.json" "c['components']['system-mysql']['tool'] = '$WORK/dying-mysqldump'"
backup_fails 1 "$WORK/c3.json" "dying dump tool" "component 'system-mysql' \\(mysql\\): .*dying-mysqldump: killed by signal 9" "simulated crash after 300000 bytes"
no_snapshot "$REPO" "dying dump tool"
! grep -qF "$MYSQL_ROOT_PASSWORD" "$WORK/argv.txt" || fail "the MySQL password was on the command line"
[ "$(cat "$WORK/env.count")" = 0 ] || fail "the repository password was passed to the dump tool"
# The option file exists in memory only (a memfd the tool reads as
# /dev/fd/N): nothing on disk for a crash or a SIGTERM to leave behind.
case $(cat "$WORK/cnf.path") in /dev/fd/*) ;; *) fail "the option file is on disk: $(cat "$WORK/cnf.path")" ;; esac
[ "$(cat "$WORK/cnf.mode")" = 400 ] || fail "the option file was mode $(cat "$WORK/cnf.mode"), not 400"

info "a required Secret missing"
mv "$DEP/resources/secret/system-seed.json" "$WORK/"
backup_fails 1 "$DEP/config.json" "missing secret" "component 'secrets': secret system-seed"
no_snapshot "$REPO" "missing secret"
mv "$WORK/system-seed.json" "$DEP/resources/secret/"

info "configuration mistakes are usage errors (exit 2), before anything runs"
config "$WORK/c4.json" 'c["components"]["system-mysql"]["databse"] = "system"'
backup_fails 2 "$WORK/c4.json" "unknown field" "component 'system-mysql': unknown field 'databse'"
# The objects inside a component and a hook are checked the same way: a
# misspelt key there was passed over as absent ("clen": false left the
# profile's clean load on, "aftr" ran the hook after every restore, a
# misspelt "tls" left the Secret's TLS mode and CA unused).
config "$WORK/c4r.json" 'c["components"]["system-mysql"]["restore"] = {"clen": False}'
backup_fails 2 "$WORK/c4r.json" "unknown restore field" "c4r.json: components.system-mysql.restore: unknown field 'clen'"
config "$WORK/c4h.json" 'c["post_restore"][0]["aftr"] = c["post_restore"][0].pop("after")'
backup_fails 2 "$WORK/c4h.json" "unknown hook field" "c4h.json: post_restore\\[0\\]: unknown field 'aftr'"
config "$WORK/c4u.json" 'c["components"]["system-mysql"]["url_secret"] = {"secret": "system-database", "key": "URL", "tsl": {"mode": "DATABASE_SSL_MODE"}}'
backup_fails 2 "$WORK/c4u.json" "unknown url_secret field" "c4u.json: components.system-mysql.url_secret: unknown field 'tsl'"
config "$WORK/c4t.json" 'c["components"]["system-mysql"]["url_secret"] = {"secret": "system-database", "key": "URL", "tls": {"mod": "DATABASE_SSL_MODE"}}'
backup_fails 2 "$WORK/c4t.json" "unknown url_secret.tls field" "c4t.json: components.system-mysql.url_secret.tls: unknown field 'mod'"
config "$WORK/c4s.json" 'c["components"]["system-redis"]["url_secret"] = "system-redis"'
backup_fails 2 "$WORK/c4s.json" "url_secret not an object" "c4s.json: components.system-redis.url_secret must be an object"
# A value of the wrong type, when the configuration loads: "bucket": 5 was
# taken for no bucket (the Secret's used), "options" as a string and a port
# out of range were refused only once the backup ran, after the resources.
config "$WORK/c4b.json" 'c["components"]["system-storage-s3"] = {"bucket": 5}'
backup_fails 2 "$WORK/c4b.json" "bucket not a string" "c4b.json: components.system-storage-s3.bucket must be a string"
config "$WORK/c4o.json" 'c["components"]["system-mysql"]["options"] = "--max-allowed-packet=512M"'
backup_fails 2 "$WORK/c4o.json" "options not an array" "c4o.json: components.system-mysql.options must be an array of strings"
config "$WORK/c4p.json" 'c["components"]["system-mysql"]["port"] = 70000'
backup_fails 2 "$WORK/c4p.json" "port out of range" "c4p.json: component 'system-mysql': port must be a port number"
config "$WORK/c5.json" 'c["components"]["oracle"] = {"kind": "oracle"}'
backup_fails 2 "$WORK/c5.json" "unknown kind" "components.oracle.kind must be one of"
printf '{"transport": {"type": "local"},\n "components": {' > "$WORK/c6.json"
backup_fails 2 "$WORK/c6.json" "broken JSON" "c6.json: not valid JSON \\(near line 2\\)"
config "$WORK/c7.json" 'c["components"]["system-mysql"]["password_env"] = "TSARC_TEST_UNSET_VARIABLE"'
backup_fails 2 "$WORK/c7.json" "unset password variable" "password_env names TSARC_TEST_UNSET_VARIABLE, which is not set"
# An empty variable or password file is a mistake named, never a password:
# before, an empty password_env crashed tsarc (the MySQL command was built
# from no password at all).
export TSARC_TEST_EMPTY_VARIABLE=
config "$WORK/c7e.json" 'c["components"]["system-mysql"]["password_env"] = "TSARC_TEST_EMPTY_VARIABLE"'
backup_fails 2 "$WORK/c7e.json" "empty password variable" "component 'system-mysql': password_env names TSARC_TEST_EMPTY_VARIABLE, which is empty"
: > "$WORK/empty.pw"
config "$WORK/c7f.json" 'c["components"]["system-mysql"]["password_file"] = "'"$WORK"'/empty.pw"'
backup_fails 2 "$WORK/c7f.json" "empty password file" "component 'system-mysql': password_file $WORK/empty.pw is empty"
no_snapshot "$REPO" "configuration mistakes"

info "optional resources missing are noted, not fatal; exec components run"
mv "$DEP/resources/configmap/mysql-main-conf.json" "$WORK/"
rm -rf "$DEP/resources/apimanager"
export ORACLE_PW=oracle-secret-pw
config "$WORK/c8.json" 'c["components"]["oracle-export"] = {"kind": "exec", "script": "printf \"exported with %s\\n\" \"${#ORA_PW}\"; echo done", "env": {"ORA_PW": "ORACLE_PW"}, "version_command": ["sh", "-c", "echo oracle-export 1.0"], "restore": {"order": 45, "command": ["sh", "-c", "cat > /dev/null"]}}'
ok backup --repo "$REPO" --config "$WORK/c8.json" --json
SNAP=$(json_get "$OUT" "d['snapshot_id']")
ok show --repo "$REPO" "$SNAP" --json
python3 - "$OUT" <<'PY' || fail "missing optional resources are not noted"
import json, sys
d = json.load(open(sys.argv[1]))
s = {x["name"]: x for x in d["streams"]}
assert s["configmaps.json"]["meta"]["missing_optional"] == ["mysql-main-conf"], s["configmaps.json"]["meta"]
assert "mysql-main-conf" not in s["configmaps.json"]["meta"]["items"]
assert s["apimanager.json"]["meta"]["absent"] is True
assert s["oracle-export.dump"]["meta"]["tool_version"] == "oracle-export 1.0"
PY
t dump --repo "$REPO" "$SNAP" oracle-export.dump
[ "$(cat "$OUT")" = "$(printf 'exported with 16\ndone')" ] || fail "the exec component's stream is wrong: $(cat "$OUT")"
t dump --repo "$REPO" "$SNAP" apimanager.json
[ "$(json_get "$OUT" "len(d['items'])")" = 0 ] || fail "an absent APIManager is not an empty List"

info "components run concurrently, at most 'parallel' at once"
cat > "$WORK/par.py" <<'PY'
import json, sys
n, par, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
script = ('echo "start $(date +%s.%N)" >> LOG; sleep 0.6; echo "end $(date +%s.%N)" >> LOG; '
          'head -c 100000 /dev/zero').replace("LOG", sys.argv[4])
c = {"profile": "none", "transport": {"type": "local"}, "parallel": par,
     "components": {f"job{i}": {"kind": "exec", "script": script} for i in range(n)}}
json.dump(c, open(path, "w"))
PY
peak() { # LOG: the most producers that ran at the same time
	python3 - "$1" <<'PY'
import sys
ev = sorted((float(t), 1 if k == "start" else -1) for k, t in (l.split() for l in open(sys.argv[1])))
cur = best = 0
for _, d in ev:
    cur += d
    best = max(best, cur)
print(best)
PY
}
python3 "$WORK/par.py" 5 2 "$WORK/par2.json" "$WORK/par2.log"
ok backup --repo "$REPO" --config "$WORK/par2.json"
[ "$(peak "$WORK/par2.log")" = 2 ] || fail "parallel 2 ran $(peak "$WORK/par2.log") producers at once"
python3 "$WORK/par.py" 5 5 "$WORK/par5.json" "$WORK/par5.log"
ok backup --repo "$REPO" --config "$WORK/par5.json" --parallel 3
[ "$(peak "$WORK/par5.log")" = 3 ] || fail "--parallel 3 ran $(peak "$WORK/par5.log") producers at once"

info "a database down"
kill -TERM "$(cat "$DEP/services/postgres/server.pid")"
for _ in $(seq 100); do kill -0 "$(cat "$DEP/services/postgres/server.pid")" 2>/dev/null || break; sleep 0.1; done
backup_fails 1 "$DEP/config.json" "database down" "component 'zync-database' \\(postgres\\): pg_dump: exited with status 1" "connection to server at \"127.0.0.1\", port $PG_PORT failed"
[ "$("$TSARC" snapshots --repo "$REPO" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 3 ] ||
	fail "a snapshot was written with the database down"
info "OK"
