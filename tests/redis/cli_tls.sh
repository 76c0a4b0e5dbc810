#!/usr/bin/env bash
# redis-cli on this host ("tool" or "options") over TLS with the Secret's
# own CA, client certificate and key (REDIS_SSL_CA / _CERT / _KEY, PEM
# text): they reach redis-cli as private files (paths on its command line,
# never the PEM), removed once it is done. redis-cli checks the server
# certificate's chain but never its host name (a certificate for another
# name is accepted): such a connection is refused with the reason unless
# the configuration accepts the chain check alone ("tls": "verify-ca").
. "$(dirname "$0")/lib.sh"
: "${TSARC:?set TSARC to the tsarc binary}"
export TSARC_PASSWORD="repo-$TEST_NAME-Wq4"
REPO=$WORK/repo
"$TSARC" init --repo "$REPO" --kdf-memory 4 >/dev/null 2>&1 || fail "tsarc init"
mkdir -m 700 "$WORK/tmp"
export TMPDIR=$WORK/tmp

info "a private CA, a server certificate for 127.0.0.1, one for another name, a client certificate"
P=$WORK/pki
mkdir -m 700 "$P"
(
	cd "$P" || exit 1
	ec="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
	openssl req -x509 $ec -keyout ca.key -out ca.pem -days 2 -subj /CN=tsarc-test-ca
	for n in right other; do
		openssl req $ec -keyout $n.key -out $n.csr -subj /CN=$n
		[ $n = right ] && printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > $n.ext
		[ $n = other ] && printf 'subjectAltName=DNS:redis.other.invalid\n' > $n.ext
		openssl x509 -req -in $n.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out $n.pem -days 2 -extfile $n.ext
	done
	openssl req $ec -keyout client.key -out client.csr -subj /CN=tsarc-client
	openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 2
) > "$WORK/pki.log" 2>&1 || fail "openssl: $(tail -5 "$WORK/pki.log")"

for n in right other; do
	port=$(free_port)
	redis_up "$n" "tls-port $port" "tls-cert-file $P/$n.pem" "tls-key-file $P/$n.key" \
		"tls-ca-cert-file $P/ca.pem" "tls-auth-clients yes"
	eval "TLS_$n=$port"
done
fill "$PORT_RIGHT"
fill "$PORT_OTHER"

# A redis-cli that records its arguments and, for each file option, that
# the file exists and is private while it runs.
WRAP=$WORK/redis-cli-wrap
cat > "$WRAP" <<SH
#!/bin/sh
for a in "\$@"; do printf '%s\n' "\$a"; done > "$WORK/argv.\$\$"
prev=
for a in "\$@"; do
	case "\$prev" in --cacert|--cert|--key)
		[ -f "\$a" ] && stat -c '%a %n' "\$a" >> "$WORK/files.\$\$" ;;
	esac
	prev=\$a
done
exec redis-cli "\$@"
SH
chmod 755 "$WRAP"

# deployment NAME PORT COMPONENT_JSON: the backend-redis Secret with a
# rediss:// URL and REDIS_SSL_CA / _CERT / _KEY as 3scale 2.16 has them.
deployment() {
	redis_deployment "$1" "rediss://:$ADMIN_PW@127.0.0.1:$2/0" "" "" "$3"
	python3 - "$WORK/$1/secret/backend-redis.json" "$P" <<'PY'
import base64, json, sys
f, p = sys.argv[1:]
d = json.load(open(f))
for k, n in (("REDIS_SSL_CA", "ca.pem"), ("REDIS_SSL_CERT", "client.pem"), ("REDIS_SSL_KEY", "client.key")):
    d["data"][k] = base64.b64encode(open(p + "/" + n, "rb").read()).decode()
json.dump(d, open(f, "w"))
PY
}
backup() { # NAME: tsarc backup of that deployment, its stderr in $WORK/NAME.err
	rm -f "$WORK"/argv.* "$WORK"/files.*
	"$TSARC" backup --config "$WORK/$1/config.json" --repo "$REPO" --json > "$WORK/$1.out" 2> "$WORK/$1.err"
}
no_leftovers() {
	[ -z "$(ls -A "$TMPDIR")" ] || fail "left in TMPDIR: $(ls -la "$TMPDIR")"
}

info "the Secret's CA, certificate and key through private files; the chain check accepted"
deployment ca "$TLS_right" "{\"tool\": \"$WRAP\", \"tls\": \"verify-ca\"}"
backup ca || fail "redis-cli with the Secret's CA and client certificate: $(cat "$WORK/ca.err")"
argv=$(cat "$WORK"/argv.*) || fail "the wrapper did not run"
grep -q -- '--rdb' <<< "$argv" || fail "not redis-cli --rdb: $argv"
for o in --tls --cacert --cert --key; do
	grep -qx -- "$o" <<< "$argv" || fail "no $o for redis-cli: $argv"
done
grep -q "BEGIN" <<< "$argv" && fail "PEM text on redis-cli's command line"
[ "$(wc -l < "$(ls "$WORK"/files.* | head -1)")" = 3 ] || fail "files while redis-cli ran: $(cat "$WORK"/files.* 2>&1)"
awk '$1 != 600 { exit 1 }' "$WORK"/files.* || fail "files not 0600: $(cat "$WORK"/files.*)"
while read -r _ f; do
	[ -e "$f" ] && fail "$f left after the run"
	case $f in "$TMPDIR"/tsarc-tls-*) ;; *) fail "$f not in a private folder of TMPDIR" ;; esac
done < <(cat "$WORK"/files.*)
no_leftovers
snap=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["snapshot_id"])' "$WORK/ca.out") ||
	fail "no snapshot id: $(cat "$WORK/ca.out")"
"$TSARC" show "$snap" --repo "$REPO" --json > "$WORK/show.json" || fail "tsarc show"
grep -q -- '"--cacert"' "$WORK/show.json" && fail "the private files' options are in the snapshot's record"
grep -q -- '"--tls"' "$WORK/show.json" || fail "no command in the snapshot's record: $(head -c 600 "$WORK/show.json")"

info "without verify-ca: refused, saying that redis-cli does not check the host name"
deployment name "$TLS_right" "{\"tool\": \"$WRAP\"}"
backup name && fail "redis-cli's TLS without a host name check was accepted"
grep -q "does not check the server certificate's host name" "$WORK/name.err" || fail "$(cat "$WORK/name.err")"
ls "$WORK"/argv.* >/dev/null 2>&1 && fail "redis-cli ran all the same"
no_leftovers
deployment opts "$TLS_right" '{"options": ["--no-auth-warning"]}'
backup opts && fail "redis-cli (options) over TLS without a host name check was accepted"
grep -q "does not check the server certificate's host name" "$WORK/opts.err" || fail "$(cat "$WORK/opts.err")"

info "a certificate for another name: tsarc's own client refuses it; verify-ca is the chain only"
deployment native "$TLS_other" '{}'
backup native && fail "tsarc's client accepted a certificate for another name"
grep -q "not trusted" "$WORK/native.err" || fail "$(cat "$WORK/native.err")"
deployment other "$TLS_other" "{\"tool\": \"$WRAP\", \"tls\": \"verify-ca\"}"
backup other || fail "verify-ca (the chain) with a certificate for another name: $(cat "$WORK/other.err")"
no_leftovers

info "\"tls\" takes true, false or \"verify-ca\""
deployment bad "$TLS_right" '{"tool": "redis-cli", "tls": "verify-full"}'
backup bad && fail "\"tls\": \"verify-full\" was taken"
grep -q '"tls"' "$WORK/bad.err" || fail "$(cat "$WORK/bad.err")"
info "ok"
