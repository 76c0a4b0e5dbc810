#!/usr/bin/env bash
# A MySQL restore into a server whose max_allowed_packet is smaller than
# the dump's largest statement. mysqldump writes a row in one INSERT, and
# a row may be as large as the source server allowed (MySQL 8 and RDS: 64
# MiB by default; MariaDB: 16 MiB; a text of 3scale's CMS, an audit's
# changes; --hex-blob doubles a binary column). The target refuses a
# statement past its own limit ("Server has gone away") and mysql stops
# there: with the 3scale profile's clean every table was dropped first, the
# tables after it were gone, the step reported failed. Proven against a
# real MariaDB through tsarc restore:
#   - max_allowed_packet 16 MiB, a row of 20 MiB in the dump: refused before
#     anything is written, naming the limit and the statement's size, the
#     tables and a row written since the backup as they were (before: the
#     tables dropped, the large one empty);
#   - 64 MiB: restored, the large row whole.
# The refusal comes from the plan, before any step writes: the backup
# records the dump's longest statement ("mysql_dump"), and the plan asks
# the server's limit; a deployment restore whose secrets step runs before
# system-mysql's leaves the Secrets as they were (before: applied, then
# system-mysql's step refused).
# So is a restore whose target refuses the login (a wrong password in its
# Secret): the plan asks the server, and refuses where it refuses the login
# (before: the Secrets restored, then system-mysql's step failed).
# What the plan asks the server only reads: the server's binary log does
# not move while it asks (before, the question of the dump's character
# sets and collations was a temporary table, which MariaDB's binary log,
# in mixed format, records).
# The same for system-mysql in its pod (3scale before 2.16), through the
# kubectl double (tests/deploy/fake_kubectl.c, a TEST DOUBLE, which runs a
# pod's command on this host with the pod's environment): the plan asks the
# server through the pod's own mysql, as the step does (before: the plan
# asked nothing in a pod, and the run restored the Secrets, then
# system-mysql's step refused); a wrong MYSQL_ROOT_PASSWORD in the pod
# refuses the plan too.
# And the backup of that row: Debian's mysqldump.cnf (the tsarc image's,
# every Debian host's) gives mysqldump max_allowed_packet = 16M, and
# mysqldump's own default is 24 MiB: a larger row failed the backup
# ("Lost connection to server during query when dumping table"), every
# night, whatever the server allowed.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

export TSARC_PASSWORD=mysql-packet
# With a binary log: what the plan sends the server must leave it as it was.
MYSQL_LOG_BIN=1 svc_start m mysql
PORT=$MYSQL_PORT PW=$MYSQL_ROOT_PASSWORD
M=$WORK/svc-m
q() { sock_mysql "$M" -e "$1"; }
# binlog_at: where the server's binary log ends; unmoved AT WHAT: it still
# ends there (WHAT wrote nothing to the server).
binlog_at() { q 'SHOW MASTER STATUS' | cut -f1,2; }
unmoved() {
	[ "$(binlog_at)" = "$1" ] ||
		fail "$2 wrote to the server: $(q "SHOW BINLOG EVENTS IN '${1%%$'\t'*}' FROM ${1#*$'\t'}" | cut -c1-300)"
}
sock_mysql "$M" <<SQL || fail "cannot fill the server"
CREATE DATABASE system;
CREATE TABLE system.accounts (id INT PRIMARY KEY);
CREATE TABLE system.cms_templates (id INT PRIMARY KEY, published LONGTEXT);
CREATE TABLE system.settings (id INT PRIMARY KEY, v TEXT);
INSERT INTO system.accounts VALUES (1), (2);
INSERT INTO system.cms_templates VALUES (1, REPEAT('x', 20 * 1024 * 1024)), (2, 'small');
INSERT INTO system.settings VALUES (1, 'kept');
CREATE TRIGGER system.settings_kept BEFORE UPDATE ON system.settings FOR EACH ROW SET NEW.v = NEW.v;
SQL

REPO=$WORK/repo
init_repo "$REPO"
secret_json "$WORK/res/secret/system-database.json" system-database \
	"URL=mysql2://root:$PW@127.0.0.1:$PORT/system"
# Another Secret of the deployment, restored by the secrets step, which
# runs before system-mysql's.
secret_json "$WORK/res/secret/backend-internal-api.json" backend-internal-api \
	"username=internal" "password=before"
only_config "$WORK/root.json" "$WORK/res" system-mysql '{"external": true}'
python3 - "$WORK/root.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["components"]["secrets"] = {"enabled": True, "names": ["backend-internal-api"]}
json.dump(c, open(sys.argv[1], "w"), indent=2)
PY
ok backup --repo "$REPO" --config "$WORK/root.json" --json
SNAP=$(json_get "$OUT" "d['snapshot_id']")
ok show "$SNAP" --repo "$REPO" --json
[ "$(json_get "$OUT" "[s['meta']['mysql_dump']['longest_statement'] > 20 * 1024 * 1024 for s in d['streams'] if 'mysql_dump' in s['meta']]")" = "[True]" ] ||
	fail "the backup records no mysql_dump facts: $(cat "$OUT")"

info "max_allowed_packet smaller than the dump's largest statement: refused by the plan, nothing written"
q "SET GLOBAL max_allowed_packet = 16777216"
q "INSERT INTO system.settings VALUES (2, 'since the backup')"
secret_json "$WORK/res/secret/backend-internal-api.json" backend-internal-api \
	"username=internal" "password=after"
cp "$WORK/res/secret/backend-internal-api.json" "$WORK/secret.after"
# The plan (--dry-run) refuses it: the backup recorded the dump's longest
# statement, and the plan asks the server's limit, having asked for the
# character sets and collations the dump names: questions that only read.
at=$(binlog_at)
t restore "$SNAP" --repo "$REPO" --config "$WORK/root.json" --allow-source-target --dry-run
[ "$RC" -ne 0 ] || fail "the plan admitted a restore the server cannot take: $(cat "$OUT")"
expect_err "max_allowed_packet" "the plan's refusal names the setting"
unmoved "$at" "the plan"
t restore "$SNAP" --repo "$REPO" --config "$WORK/root.json" --allow-source-target
# Refused by the plan, before any step: the secrets step, before
# system-mysql's, did not write either (the restore did not half-apply).
cmp -s "$WORK/res/secret/backend-internal-api.json" "$WORK/secret.after" ||
	fail "the refused restore applied the secrets step before system-mysql's"
[ "$(q 'SELECT GROUP_CONCAT(v ORDER BY id) FROM system.settings' 2>&1)" = "kept,since the backup" ] ||
	fail "the refused restore changed system.settings: $(q 'SELECT GROUP_CONCAT(v ORDER BY id) FROM system.settings' 2>&1) (exit $RC): $(grep -v '^  ' "$ERR" | cut -c1-300 | head -5)"
[ "$(q 'SELECT COUNT(*) FROM system.cms_templates' 2>&1)" = 2 ] ||
	fail "the refused restore changed system.cms_templates (exit $RC)"
[ "$RC" -ne 0 ] || fail "a restore the server cannot take succeeded"
expect_err "max_allowed_packet" "the refusal names the setting"
expect_err "nothing of it was written" "the refusal says the database is as it was"

info "a wrong password in the target's Secret: refused by the plan, the Secrets step not applied either"
# The server refuses the login (ERROR 1045): the step would fail at its
# first question, after the Secrets step before it had written.
secret_json "$WORK/res/secret/system-database.json" system-database \
	"URL=mysql2://root:not-$PW@127.0.0.1:$PORT/system"
t restore "$SNAP" --repo "$REPO" --config "$WORK/root.json" --allow-source-target
[ "$RC" -ne 0 ] || fail "restored with a wrong password"
expect_err "Access denied" "the refusal quotes the server"
cmp -s "$WORK/res/secret/backend-internal-api.json" "$WORK/secret.after" ||
	fail "the restore refused for a wrong password applied the secrets step before system-mysql's"
secret_json "$WORK/res/secret/system-database.json" system-database \
	"URL=mysql2://root:$PW@127.0.0.1:$PORT/system"

info "max_allowed_packet large enough: restored, the large row whole"
q "SET GLOBAL max_allowed_packet = 67108864"
ok restore "$SNAP" --repo "$REPO" --config "$WORK/root.json" --allow-source-target
[ "$(q 'SELECT GROUP_CONCAT(v ORDER BY id) FROM system.settings')" = kept ] || fail "not restored"
[ "$(q 'SELECT LENGTH(published) FROM system.cms_templates WHERE id = 1')" = 20971520 ] ||
	fail "the large row is not whole"

info "system-mysql in its pod: the same refusal by the plan, asked through the pod's mysql"
KDIR=$WORK/kube
export FAKE_KUBE_DIR=$KDIR FAKE_KUBE_LOG=$WORK/kubectl.log FAKE_KUBE_NAMESPACE=3scale
# pod_password PASSWORD: the system-mysql pod, its MYSQL_ROOT_PASSWORD.
pod_password() {
	python3 - "$KDIR/pods.json" "$PATH" "$1" <<'PY'
import json, sys
out, path, pw = sys.argv[1:]
pod = {"apiVersion": "v1", "kind": "Pod",
       "metadata": {"name": "system-mysql-1-abcde", "namespace": "3scale",
                    "labels": {"deployment": "system-mysql"}},
       "spec": {"containers": [{"name": "system-mysql", "env": [
           {"name": "PATH", "value": path}, {"name": "MYSQL_ROOT_PASSWORD", "value": pw}]}]},
       "status": {"phase": "Running"}}
json.dump({"apiVersion": "v1", "kind": "List", "items": [pod]}, open(out, "w"))
PY
}
mkdir -p "$KDIR/resources"
pod_password "$PW"
secret_json "$KDIR/resources/secret/backend-internal-api.json" backend-internal-api \
	"username=internal" "password=before"
python3 - "$WORK/pod.json" "$FAKE_KUBECTL" "$M/mysql/mysqld.sock" <<'PY'
import json, sys
out, kubectl, sock = sys.argv[1:]
names = ["configmaps", "apimanager", "system-postgresql", "system-storage", "zync-database",
         "backend-redis", "system-redis"]
c = {"profile": "3scale", "post_restore": [],
     "transport": {"type": "kube", "binary": kubectl, "namespace": "3scale",
                   "pass_env": ["FAKE_KUBE_DIR", "FAKE_KUBE_LOG", "FAKE_KUBE_NAMESPACE"]},
     "components": {n: {"enabled": False} for n in names}}
c["components"]["secrets"] = {"names": ["backend-internal-api"]}
c["components"]["system-mysql"] = {"external": False, "socket": sock}
json.dump(c, open(out, "w"), indent=2)
PY
ok backup --repo "$REPO" --config "$WORK/pod.json" --json
PSNAP=$(json_get "$OUT" "d['snapshot_id']")
q "SET GLOBAL max_allowed_packet = 16777216"
secret_json "$KDIR/resources/secret/backend-internal-api.json" backend-internal-api \
	"username=internal" "password=after"
cp "$KDIR/resources/secret/backend-internal-api.json" "$WORK/pod-secret.after"
t restore "$PSNAP" --repo "$REPO" --config "$WORK/pod.json"
[ "$RC" -ne 0 ] || fail "a restore through the pod the server cannot take succeeded"
cmp -s "$KDIR/resources/secret/backend-internal-api.json" "$WORK/pod-secret.after" ||
	fail "the refused restore into system-mysql in its pod applied the secrets step before system-mysql's"
expect_err "max_allowed_packet" "the refusal through the pod names the setting"
t restore "$PSNAP" --repo "$REPO" --config "$WORK/pod.json" --dry-run
[ "$RC" -ne 0 ] || fail "the plan admitted a restore through the pod the server cannot take: $(cat "$OUT")"
expect_err "max_allowed_packet" "the plan's refusal through the pod names the setting"

info "system-mysql in its pod, the plan admitted: it asked every question through the pod's mysql, and wrote nothing"
q "SET GLOBAL max_allowed_packet = 67108864"
at=$(binlog_at)
: >"$FAKE_KUBE_LOG"
ok restore "$PSNAP" --repo "$REPO" --config "$WORK/pod.json" --dry-run --json
unmoved "$at" "the plan through the pod"
python3 - "$FAKE_KUBE_LOG" <<'PY' || fail "the plan did not ask its questions through the pod's mysql, reading only"
import json, re, sys
calls = [json.loads(l)[2:] for l in open(sys.argv[1])]
# Reads, the API server's dry run of the Secrets' apply, and the questions.
reads = [c for c in calls if c[0] in ("get", "exec") or c[:2] == ["apply", "--dry-run=server"]]
assert reads == calls, [c for c in calls if c not in reads]
asked = [c[-1] for c in calls if c[0] == "exec"]
assert all(c[2] == "system-mysql-1-abcde" for c in calls if c[0] == "exec"), calls
for q in ("'SELECT 1'", "COLLATE", "max_allowed_packet", "'SHOW GRANTS'", "log_bin_trust_function_creators"):
    assert [a for a in asked if q in a], (q, asked)
for a in asked:
    assert a.startswith('MYSQL_PWD="$MYSQL_ROOT_PASSWORD" \'mysql\''), a
    assert re.search(r"'-e' '(SELECT|SHOW|WITH) [^;]*'; tsarc_s=", a) and "TEMPORARY" not in a, a
PY

info "system-mysql in its pod refuses the pod's password: refused by the plan, the Secrets step not applied"
pod_password "not-$PW"
t restore "$PSNAP" --repo "$REPO" --config "$WORK/pod.json"
[ "$RC" -ne 0 ] || fail "restored through the pod with a wrong password"
cmp -s "$KDIR/resources/secret/backend-internal-api.json" "$WORK/pod-secret.after" ||
	fail "the restore refused for the pod's wrong password applied the secrets step before system-mysql's"
expect_err "Access denied" "the refusal quotes the server (pod)"
expect_err "the plan's login to the target was refused" "the plan refused it (pod)"

finish
