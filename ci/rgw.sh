#!/bin/sh
# Starts (or stops) a throw-away single-node Ceph cluster with a RADOS Gateway,
# entirely inside one directory, for tests and benchmarks.
#
#   ci/rgw.sh start DIR [PORT]   # S3 on http://127.0.0.1:PORT (default 17480),
#                                # with RGW's STS on PORT+21
#   ci/rgw.sh stop DIR
#
# After start, DIR/env holds the TSARC_TEST_S3_* variables to source.
# Needs: ceph-mon ceph-osd radosgw ceph-common uuid-runtime (Debian packages).
# The OSD keeps its data in memory (memstore): nothing survives a stop.
set -eu

usage() {
	echo "usage: $0 start DIR [PORT] | stop DIR" >&2
	exit 2
}

# Fixed test credentials: this cluster only ever listens on loopback and
# lives for one test run, so there is nothing to protect.
ACCESS_KEY=TSARCTESTACCESSKEY01
SECRET_KEY=tsarc-test-secret-key-0123456789abcdefABCD

stop() {
	dir=$1
	for name in rgw-sts rgw osd mon; do
		pidf="$dir/run/$name.pid"
		[ -f "$pidf" ] || continue
		pid=$(cat "$pidf")
		if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
			kill "$pid" 2>/dev/null || true
			i=0
			while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do
				sleep 0.1
				i=$((i + 1))
			done
			kill -9 "$pid" 2>/dev/null || true
		fi
		rm -f "$pidf"
	done
}

# Waits up to $2 tenths of a second for command $1 to succeed.
wait_for() {
	i=0
	while ! eval "$1" >/dev/null 2>&1; do
		i=$((i + 1))
		if [ $i -ge "$2" ]; then
			return 1
		fi
		sleep 0.1
	done
}

# Succeeds once something answers HTTP at $1 (any status will do).
http_ready() {
	if command -v curl >/dev/null 2>&1; then
		curl -s -o /dev/null "$1"
	else
		python3 -c 'import sys, urllib.request, urllib.error
try:
    urllib.request.urlopen(sys.argv[1], timeout=2)
except urllib.error.HTTPError:
    pass' "$1"
	fi
}

fail() {
	echo "rgw.sh: $*" >&2
	echo "rgw.sh: logs are in $DIR/log" >&2
	for f in "$DIR"/log/*.log; do
		[ -f "$f" ] || continue
		echo "--- tail of $f" >&2
		tail -n 15 "$f" >&2
	done
	stop "$DIR"
	exit 1
}

start() {
	DIR=$1
	PORT=$2
	for tool in ceph-mon ceph-osd radosgw radosgw-admin ceph ceph-authtool monmaptool uuidgen; do
		command -v "$tool" >/dev/null 2>&1 ||
			{ echo "rgw.sh: $tool not found (install ceph-mon ceph-osd radosgw ceph-common uuid-runtime)" >&2; exit 1; }
	done
	mkdir -p "$DIR"
	DIR=$(cd "$DIR" && pwd)
	stop "$DIR"
	rm -rf "$DIR/mon" "$DIR/osd" "$DIR/run" "$DIR/log" "$DIR/env"
	mkdir -p "$DIR/mon" "$DIR/osd" "$DIR/run" "$DIR/log"

	# Mon and daemon ports sit right above the S3 port so that two clusters
	# started with different ports never collide, and nothing uses Ceph's
	# well-known ports (3300, 6789, 6800+).
	MON_V2=$((PORT + 1))
	MON_V1=$((PORT + 2))
	BIND_MIN=$((PORT + 3))
	BIND_MAX=$((PORT + 19))
	TLS_PORT=$((PORT + 20))
	STS_PORT=$((PORT + 21))
	MON_ADDR="[v2:127.0.0.1:$MON_V2,v1:127.0.0.1:$MON_V1]"
	# tcp_nodelay: without it beast writes a reply's head and its body as
	# two segments under Nagle's algorithm, and the body waits for the
	# client's delayed ACK of the head (40 ms on Linux): every GET and
	# listing took 50-70 ms on loopback, 5-15 ms with it (measured
	# 2026-12-05), and the S3 tests make thousands of them.
	# TLS on a second port, with a self-signed certificate that the tests
	# pass as the CA (TSARC_TEST_S3_CACERT).
	FRONTEND="beast endpoint=127.0.0.1:$PORT tcp_nodelay=1"
	TLS_ENV=
	if command -v openssl >/dev/null 2>&1; then
		mkdir -p "$DIR/tls"
		openssl req -x509 -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
			-keyout "$DIR/tls/key.pem" -out "$DIR/tls/cert.pem" -days 7 \
			-subj /CN=127.0.0.1 -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
			>/dev/null 2>&1 || fail "openssl could not make a test certificate"
		FRONTEND="$FRONTEND ssl_endpoint=127.0.0.1:$TLS_PORT"
		FRONTEND="$FRONTEND ssl_certificate=$DIR/tls/cert.pem ssl_private_key=$DIR/tls/key.pem"
		TLS_ENV="export TSARC_TEST_S3_TLS_ENDPOINT=https://127.0.0.1:$TLS_PORT
export TSARC_TEST_S3_CACERT=$DIR/tls/cert.pem"
	fi
	FSID=$(uuidgen)
	CONF=$DIR/ceph.conf
	cat >"$CONF" <<CONF
[global]
fsid = $FSID
mon host = $MON_ADDR
mon initial members = a
auth cluster required = none
auth service required = none
auth client required = none
# Without this, radosgw loops on "get_initial_auth_request returned -13"
# when authentication is off.
ms mon client mode = crc secure
ms bind ipv6 = false
ms bind port min = $BIND_MIN
ms bind port max = $BIND_MAX
public addr = 127.0.0.1
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon allow pool size one = true
mon warn on pool no redundancy = false
osd crush chooseleaf type = 0
run dir = $DIR/run
admin socket = $DIR/run/\$name.asok
pid file = $DIR/run/\$type.pid
log file = $DIR/log/\$name.log
keyring = $DIR/keyring
mon data = $DIR/mon/\$id
osd data = $DIR/osd/\$id
mon data avail warn = 1
mon data avail crit = 0

[osd]
osd objectstore = memstore
memstore device bytes = ${TSARC_RGW_MEMSTORE_BYTES:-4294967296}
osd max object size = 1073741824

[client.rgw.a]
rgw frontends = $FRONTEND
rgw dns name = 127.0.0.1
rgw data = $DIR/run/rgw

# A second gateway on the same cluster, with RGW's own STS on
# (GetSessionToken): tests/s3/creds_double.py hands out its temporary keys
# and this gateway checks their session tokens for real. A gateway of its
# own, because STS changes what RGW answers to a wrong secret
# (AccessDenied instead of SignatureDoesNotMatch) and the other tests
# check that answer.
[client.rgw.sts]
rgw frontends = beast endpoint=127.0.0.1:$STS_PORT tcp_nodelay=1
rgw dns name = 127.0.0.1
rgw data = $DIR/run/rgw-sts
rgw s3 auth use sts = true
rgw sts key = tsarcteststskey0
CONF
	export CEPH_CONF="$CONF"

	ceph-authtool --create-keyring "$DIR/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
	monmaptool --create --fsid "$FSID" --addv a "$MON_ADDR" "$DIR/run/monmap" >/dev/null
	ceph-mon --mkfs -i a --monmap "$DIR/run/monmap" --keyring "$DIR/keyring" ||
		fail "ceph-mon --mkfs failed"
	ceph-mon -i a || fail "ceph-mon did not start"
	wait_for "ceph --connect-timeout 2 mon stat" 150 || fail "the monitor did not answer"

	OSD_UUID=$(uuidgen)
	OSD_ID=$(ceph osd new "$OSD_UUID") || fail "ceph osd new failed"
	mkdir -p "$DIR/osd/$OSD_ID"
	ceph-osd -i "$OSD_ID" --mkfs --osd-uuid "$OSD_UUID" >/dev/null 2>&1 ||
		fail "ceph-osd --mkfs failed"
	ceph-osd -i "$OSD_ID" 2>>"$DIR/log/osd-start.log" || fail "ceph-osd did not start"
	wait_for "ceph osd stat -f json | grep -q '\"num_up_osds\":1'" 300 ||
		fail "the OSD did not come up"

	mkdir -p "$DIR/run/rgw"
	radosgw -n client.rgw.a --pid-file "$DIR/run/rgw.pid" || fail "radosgw did not start"
	wait_for "http_ready http://127.0.0.1:$PORT/" 600 ||
		fail "radosgw did not answer on port $PORT"
	mkdir -p "$DIR/run/rgw-sts"
	radosgw -n client.rgw.sts --pid-file "$DIR/run/rgw-sts.pid" ||
		fail "radosgw (STS) did not start"
	wait_for "http_ready http://127.0.0.1:$STS_PORT/" 600 ||
		fail "radosgw (STS) did not answer on port $STS_PORT"

	radosgw-admin user create --uid=tsarc-test --display-name=tsarc-test \
		--access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >/dev/null ||
		fail "radosgw-admin user create failed"

	cat >"$DIR/env" <<ENV
export TSARC_TEST_S3_ENDPOINT=http://127.0.0.1:$PORT
export TSARC_TEST_S3_ACCESS_KEY=$ACCESS_KEY
export TSARC_TEST_S3_SECRET_KEY=$SECRET_KEY
export TSARC_TEST_CEPH_CONF=$CONF
export TSARC_TEST_S3_STS_GATEWAY=http://127.0.0.1:$STS_PORT
$TLS_ENV
ENV
	echo "rgw.sh: RADOS Gateway ready on http://127.0.0.1:$PORT (source $DIR/env)"
}

[ $# -ge 2 ] || usage
case $1 in
start)
	[ $# -le 3 ] || usage
	start "$2" "${3:-17480}"
	;;
stop)
	[ $# -eq 2 ] || usage
	[ -d "$2" ] || exit 0
	stop "$(cd "$2" && pwd)"
	;;
*)
	usage
	;;
esac
