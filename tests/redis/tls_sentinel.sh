#!/usr/bin/env bash
# TLS with a private CA and client certificates (PEM text handed over in
# memory), and a real redis-sentinel in front of a master and a replica:
# the master resolved through the Sentinel (with its own password, past a
# dead Sentinel), a replica refused as a restore target, by the plan too.
. "$(dirname "$0")/lib.sh"
command -v redis-sentinel >/dev/null || {
	[ "${TSARC_TEST_REQUIRE_SERVICES:-0}" = 1 ] && fail "redis-sentinel is not installed"
	echo "SKIP: redis-sentinel is not installed (bash ci/deps.sh)"; exit 77; }

info "a private CA, a server and a client certificate"
P=$WORK/pki
mkdir -m 700 "$P"
(
	cd "$P" || exit 1
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=tsarc-test-ca
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout server.key -out server.csr -subj /CN=localhost
	printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > san.ext
	openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile san.ext
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout client.key -out client.csr -subj /CN=tsarc-client
	openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 2
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout other.key -out other.pem -days 2 -subj /CN=other-ca
) > "$WORK/pki.log" 2>&1 || fail "openssl: $(tail -5 "$WORK/pki.log")"

TLS_PORT=$(free_port)
redis_up tls "tls-port $TLS_PORT" "tls-cert-file $P/server.pem" "tls-key-file $P/server.key" \
	"tls-ca-cert-file $P/ca.pem" "tls-auth-clients yes"
redis_up plain
fill "$PORT_TLS"
keys_dump "$PORT_TLS" > "$WORK/tls.keys"

tls_user() { # TOOL_ARGS...: the ACL user over TLS with the CA and client certificate
	T_REDIS_TLS=1 T_REDIS_CA=$P/ca.pem T_REDIS_CERT=$P/client.pem T_REDIS_KEY=$P/client.key \
		as_user backup "$TLS_PORT" "$@"
}

info "backup over TLS, restore over TLS"
tls_user dump > "$WORK/stream" 2> "$WORK/dump.err" || fail "dump over TLS: $(cat "$WORK/dump.err")"
rcli "$PORT_TLS" FLUSHALL >/dev/null
rcli "$PORT_TLS" SET other 1 >/dev/null
tls_user load < "$WORK/stream" 2> "$WORK/load.err" || fail "load over TLS: $(cat "$WORK/load.err")"
grep -q "digest of every database match" "$WORK/load.err" || fail "$(cat "$WORK/load.err")"
keys_dump "$PORT_TLS" > "$WORK/tls2.keys"
diff "$WORK/tls.keys" "$WORK/tls2.keys" >/dev/null || fail "keys differ after the TLS round trip"
T_REDIS_SERVER_NAME=localhost tls_user role > "$WORK/role" 2>&1 || fail "server name localhost: $(cat "$WORK/role")"

info "TLS failures: an unknown CA, another name, no client certificate, a key that does not match"
T_REDIS_TLS=1 T_REDIS_CA=$P/other.pem as_user backup "$TLS_PORT" role 2> "$WORK/e1" && fail "an unknown CA was trusted"
grep -q "certificate is not trusted" "$WORK/e1" || fail "unknown CA: $(cat "$WORK/e1")"
T_REDIS_SERVER_NAME=redis.example.invalid tls_user role 2> "$WORK/e2" && fail "a wrong server name was accepted"
grep -q "not trusted" "$WORK/e2" || fail "wrong name: $(cat "$WORK/e2")"
T_REDIS_TLS=1 T_REDIS_CA=$P/ca.pem as_user backup "$TLS_PORT" role 2> "$WORK/e3" && fail "no client certificate was accepted"
T_REDIS_TLS=1 T_REDIS_CA=$P/ca.pem T_REDIS_CERT=$P/client.pem T_REDIS_KEY=$P/other.key as_user backup "$TLS_PORT" role 2> "$WORK/e4" &&
	fail "a key that does not match was used"
grep -q "not a PEM private key matching" "$WORK/e4" || fail "key mismatch: $(cat "$WORK/e4")"

info "redis-cli through tsarc (\"tool\"/\"options\") and a rediss:// URL: TLS, not the password in clear"
: "${TSARC:?set TSARC to the tsarc binary}"
export TSARC_PASSWORD="repo-$TEST_NAME-Wq4"
"$TSARC" init --repo "$WORK/repo" --kdf-memory 4 >/dev/null 2>&1 || fail "tsarc init"
# A listener that records what a client sends first.
LPORT=$(free_port)
python3 - "$LPORT" "$WORK/captured" <<'PY' &
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(1)
open(sys.argv[2] + ".ready", "w").close()
s.settimeout(60)
c, _ = s.accept()
c.settimeout(2)
data = b""
try:
    while len(data) < 65536:
        b = c.recv(4096)
        if not b:
            break
        data += b
except socket.timeout:
    pass
open(sys.argv[2], "wb").write(data)
PY
LISTENER=$!
# However long the listener takes to start (a loaded machine), unless it exits.
while [ ! -e "$WORK/captured.ready" ]; do
	kill -0 "$LISTENER" 2>/dev/null || fail "the listener exited before it listened"
	sleep 0.05
done
# "verify-ca": redis-cli checks the chain only, refused otherwise (cli_tls.sh).
redis_deployment listen "rediss://backup:$USER_PW@127.0.0.1:$LPORT/0" "" "" '{"tool": "redis-cli", "tls": "verify-ca"}'
"$TSARC" backup --config "$WORK/listen/config.json" --repo "$WORK/repo" > /dev/null 2> "$WORK/cli0.err" &&
	fail "a backup from a listener that is no Redis succeeded"
wait "$LISTENER"
[ -s "$WORK/captured" ] || fail "redis-cli sent nothing to the listener: $(cat "$WORK/cli0.err")"
grep -qaF -- "$USER_PW" "$WORK/captured" && fail "redis-cli sent the password in clear to a rediss:// address"
[ "$(head -c 1 "$WORK/captured" | od -An -tx1 | tr -d ' ')" = 16 ] ||
	fail "redis-cli did not start a TLS handshake: $(head -c 40 "$WORK/captured" | od -c | head -3)"
redis_deployment clitls "rediss://:$ADMIN_PW@127.0.0.1:$TLS_PORT/0" "" "" \
	"{\"tls\": \"verify-ca\", \"options\": [\"--cacert\", \"$P/ca.pem\", \"--cert\", \"$P/client.pem\", \"--key\", \"$P/client.key\"]}"
"$TSARC" backup --config "$WORK/clitls/config.json" --repo "$WORK/repo" > /dev/null 2> "$WORK/cli1.err" ||
	fail "redis-cli over the rediss:// URL's TLS: $(cat "$WORK/cli1.err")"

info "Sentinel in front of a master and a replica"
redis_up master
redis_up replica "replicaof 127.0.0.1 $PORT_MASTER" "masterauth $ADMIN_PW"
SENTINEL_MASTER_PASSWORD=$ADMIN_PW SENTINEL_PASSWORD=$SENT_PW \
	bash "$SERVICES" start-sentinel "$WORK" mymaster "$PORT_MASTER" > "$WORK/sentinel.log" 2>&1 ||
	fail "redis-sentinel: $(cat "$WORK/sentinel.log")"
SPORT=$(. "$WORK/env"; echo "$SENTINEL_PORT")
for _ in $(seq 100); do
	rcli "$PORT_REPLICA" INFO replication | grep -q "master_link_status:up" && break
	sleep 0.1
done
fill "$PORT_MASTER"

via_sentinel() { # SENTINELS TOOL_ARGS...
	local s=$1
	shift
	T_REDIS_SENTINELS=$s T_REDIS_MASTER=mymaster T_REDIS_SENTINEL_PASSWORD=$SENT_PW \
		T_REDIS_USER=backup T_REDIS_PASSWORD=$USER_PW "$TOOL" "$@"
}
dead=$(free_port)
via_sentinel "redis://127.0.0.1:$dead, redis://127.0.0.1:$SPORT" role > "$WORK/role" 2> "$WORK/role.err" ||
	fail "sentinel role: $(cat "$WORK/role.err")"
[ "$(cat "$WORK/role")" = "master 127.0.0.1:$PORT_MASTER" ] || fail "resolved $(cat "$WORK/role")"
T_REDIS_READ_REPLICA=1 via_sentinel "127.0.0.1:$SPORT" role > "$WORK/rrole" 2> "$WORK/rrole.err" ||
	fail "sentinel replica: $(cat "$WORK/rrole.err")"
[ "$(cat "$WORK/rrole")" = "slave 127.0.0.1:$PORT_REPLICA" ] || fail "a replica to read: $(cat "$WORK/rrole")"
via_sentinel "127.0.0.1:$SPORT" dump > "$WORK/sstream" 2> "$WORK/sdump.err" || fail "dump via sentinel: $(cat "$WORK/sdump.err")"
T_REDIS_SENTINELS=127.0.0.1:$SPORT T_REDIS_MASTER=mymaster T_REDIS_SENTINEL_PASSWORD=wrong \
	T_REDIS_USER=backup T_REDIS_PASSWORD=$USER_PW "$TOOL" role 2> "$WORK/e5" && fail "a wrong Sentinel password worked"
grep -q "no Sentinel of 1 gave the master of 'mymaster'" "$WORK/e5" || fail "$(cat "$WORK/e5")"
T_REDIS_SENTINELS=127.0.0.1:$SPORT T_REDIS_MASTER=nosuch T_REDIS_SENTINEL_PASSWORD=$SENT_PW \
	T_REDIS_USER=backup T_REDIS_PASSWORD=$USER_PW "$TOOL" role 2> "$WORK/e6" && fail "an unknown master group resolved"

info "a replica is refused as restore target; the master through Sentinel is not"
keys_dump "$PORT_MASTER" > "$WORK/master.before"
as_user backup "$PORT_REPLICA" load < "$WORK/sstream" 2> "$WORK/e7" && fail "a replica was restored into"
grep -q "is a replica, not a master" "$WORK/e7" || fail "$(cat "$WORK/e7")"
rcli "$PORT_MASTER" FLUSHALL >/dev/null
rcli "$PORT_MASTER" SET other 1 >/dev/null
via_sentinel "127.0.0.1:$SPORT" load < "$WORK/sstream" 2> "$WORK/sload.err" || fail "load via sentinel: $(cat "$WORK/sload.err")"
keys_dump "$PORT_MASTER" > "$WORK/master.keys"
diff "$WORK/master.before" "$WORK/master.keys" >/dev/null || fail "the master differs from the backup"

info "SENTINEL_ROLE slave through tsarc: the backup reads a replica, the restore writes the master"
# system-redis's Secret as 3scale has it behind Sentinel: the URL names
# the master group, SENTINEL_ROLE says which server the application reads.
rcli "$PORT_MASTER" WAIT 1 10000 >/dev/null
# sentinel_deployment NAME USER [HOST_PORT]: a resources folder with the
# Secret, and a config (HOST_PORT: an address in the configuration).
sentinel_deployment() {
	mkdir -p "$WORK/$1/secret"
	python3 - "$WORK/$1" "$SPORT" "$2" "$USER_PW" "$SENT_PW" "${3:-}" <<'PY'
import base64, json, sys
d, sport, user, pw, spw, hp = sys.argv[1:]
b = lambda s: base64.b64encode(s.encode()).decode()
json.dump({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "system-redis"},
           "data": {"URL": b("redis://mymaster/1"), "REDIS_USERNAME": b(user),
                    "REDIS_PASSWORD": b(pw), "SENTINEL_HOSTS": b("127.0.0.1:%s" % sport),
                    "SENTINEL_ROLE": b("slave"), "REDIS_SENTINEL_PASSWORD": b(spw)}},
          open(d + "/secret/system-redis.json", "w"))
comp = {"kind": "redis", "external": True, "url_secret": {"secret": "system-redis", "key": "URL"},
        "stream": "system-redis.rdb", "restore": {"action": "redis-rdb", "order": 80}}
if hp:
    comp["host"], comp["port"] = "127.0.0.1", int(hp)
json.dump({"profile": "none", "transport": {"type": "local", "resources_dir": d},
           "components": {"system-redis": comp}}, open(d + "/config.json", "w"))
PY
}
sentinel_deployment sread backup
"$TSARC" backup --config "$WORK/sread/config.json" --repo "$WORK/repo" --json > "$WORK/sb.json" 2> "$WORK/sb.err" ||
	fail "backup through Sentinel: $(cat "$WORK/sb.err")"
SNAP=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["snapshot_id"])' "$WORK/sb.json") || fail "no snapshot id"
"$TSARC" show "$SNAP" --repo "$WORK/repo" --json > "$WORK/sshow.json" || fail "show"
read_from=$(python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))
print([s for s in d["streams"] if s["name"] == "system-redis.rdb"][0]["meta"].get("redis_read_from"))' "$WORK/sshow.json")
[ "$read_from" = "replica 127.0.0.1:$PORT_REPLICA" ] || fail "SENTINEL_ROLE slave: read from $read_from, not the replica"
rcli "$PORT_MASTER" SET written:after 1 >/dev/null
sentinel_deployment swrite restorer
# Another resources folder: a migration, whose target (the Sentinel group's
# master) is the server the backup read (its replica): the snapshot's own
# source, refused unless --allow-source-target, by the plan and the run.
# Before, only a recorded host and port was compared, which a stream read
# through Sentinel has none of: the master was emptied and loaded.
keys_dump "$PORT_MASTER" > "$WORK/master.refused"
for dry in --dry-run ""; do
	"$TSARC" restore "$SNAP" --config "$WORK/swrite/config.json" --repo "$WORK/repo" $dry \
		> /dev/null 2> "$WORK/ssrc.err" && fail "a migration into the snapshot's own source was admitted ($dry)"
	grep -q "system-redis: .* is the snapshot's source" "$WORK/ssrc.err" || fail "$(cat "$WORK/ssrc.err")"
done
keys_dump "$PORT_MASTER" | diff "$WORK/master.refused" - >/dev/null || fail "the refused restore wrote into the master"
"$TSARC" restore "$SNAP" --config "$WORK/swrite/config.json" --repo "$WORK/repo" --allow-source-target --dry-run --json > "$WORK/splan.json" 2>&1 ||
	fail "plan: $(cat "$WORK/splan.json")"
grep -q "SENTINEL_ROLE is slave: the restore writes to the master" "$WORK/splan.json" || fail "the plan does not say where it writes: $(cat "$WORK/splan.json")"
# The source, read through the Sentinel, as the backup said it (before: "localhost").
python3 -c 'import json,sys
s = [s for s in json.load(open(sys.argv[1]))["steps"] if s["component"] == "system-redis"][0]
sys.exit(not s["plan"]["snapshot_source"]["text"].startswith("the master of Sentinel group mymaster"))' \
	"$WORK/splan.json" || fail "the plan does not name the snapshot's source: $(cat "$WORK/splan.json")"
"$TSARC" restore "$SNAP" --config "$WORK/swrite/config.json" --repo "$WORK/repo" --allow-source-target --json > "$WORK/sr.json" 2> "$WORK/sr.err" ||
	fail "restore through Sentinel: $(cat "$WORK/sr.err")"
keys_dump "$PORT_MASTER" > "$WORK/master.after"
diff "$WORK/master.before" "$WORK/master.after" >/dev/null || fail "the master differs from the backup after the restore"
info "a replica named in the configuration is refused as restore target, by the plan too"
sentinel_deployment sreplica restorer "$PORT_REPLICA"
# The plan: in a deployment restore the run finds it only at this step,
# the steps before it having replaced their targets.
"$TSARC" restore "$SNAP" --config "$WORK/sreplica/config.json" --repo "$WORK/repo" --dry-run --json \
	> "$WORK/srplan.json" 2> "$WORK/srplan.err" && fail "the plan of a restore into a replica was admitted"
grep -q "is a replica, not a master" "$WORK/srplan.err" || fail "the plan: $(cat "$WORK/srplan.err")"
"$TSARC" restore "$SNAP" --config "$WORK/sreplica/config.json" --repo "$WORK/repo" > /dev/null 2> "$WORK/srr.err" &&
	fail "a replica was restored into"
grep -q "is a replica, not a master" "$WORK/srr.err" || fail "$(cat "$WORK/srr.err")"

grep -q -e "$USER_PW" -e "$SENT_PW" -e "$ADMIN_PW" "$WORK"/*.err "$WORK"/*.json "$WORK"/e[0-9] && fail "a password was printed"
info "ok"
