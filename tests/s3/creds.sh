#!/usr/bin/env bash
# The S3 credential chain without long-lived keys in tsarc's environment:
# web identity (STS AssumeRoleWithWebIdentity), the container endpoint,
# EC2 instance roles (IMDSv2) and a profile's role_arn (STS AssumeRole),
# each against tests/s3/creds_double.py, which checks the requests' shape
# and hands out real temporary keys minted by the Ceph RGW (its own STS),
# so the backup after the credential step is real and RGW checks the
# session token. Then renewal before expiry, driven by the refresh margin
# (no waiting), and the errors when the chain finds nothing.
#
# Run through tests/s3/run_with_s3.sh (RGW from ci/rgw.sh, which also
# gives TSARC_TEST_CEPH_CONF for radosgw-admin). `creds.sh sts`: web
# identity, renewal and assume-role; `creds.sh platform`: the container
# endpoint and IMDSv2 (two ctest entries, so that each stays short).
PART=${1:?usage: creds.sh sts|platform}
. "$(dirname "$0")/../cli/lib.sh"

: "${TSARC_TEST_S3_URL:?run this through tests/s3/run_with_s3.sh}"
here=$(cd "$(dirname "$0")" && pwd)
if [ -z "${TSARC_TEST_CEPH_CONF:-}" ] || [ -z "${TSARC_TEST_S3_STS_GATEWAY:-}" ]; then
	[ "${TSARC_TEST_REQUIRE_S3:-}" = 1 ] &&
		fail "TSARC_TEST_CEPH_CONF / TSARC_TEST_S3_STS_GATEWAY are not set (ci/rgw.sh's env)"
	echo "skipped: no TSARC_TEST_CEPH_CONF / TSARC_TEST_S3_STS_GATEWAY (ci/rgw.sh)" >&2
	exit 77
fi
export CEPH_CONF=$TSARC_TEST_CEPH_CONF
GEN=$TSARC_GEN_DUMP
# The gateway with RGW's STS: it mints the keys and checks their tokens.
ENDPOINT=$TSARC_TEST_S3_STS_GATEWAY
BUCKET_URL="s3:$ENDPOINT/$(basename "${TSARC_TEST_S3_URL%/prefix}")"

# A user of its own, whose permanent keys only the double knows: it may
# ask RGW's STS for session tokens (a user policy, set through RGW's IAM
# API, which needs the user-policy cap).
uid="tsarc-cred-$(od -An -N4 -tx4 /dev/urandom | tr -d ' \n')"
ak="TSARCCRED$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n' | tr a-f A-F)"
sk="cred-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
radosgw-admin user create --uid="$uid" --display-name="$uid" --access-key="$ak" \
	--secret-key="$sk" >/dev/null || fail "radosgw-admin user create"
radosgw-admin caps add --uid="$uid" --caps="user-policy=*" >/dev/null ||
	fail "radosgw-admin caps add"
remove_user() { radosgw-admin user rm --uid="$uid" --purge-data >/dev/null 2>&1 || true; }
trap 'remove_user; cleanup' EXIT
DOUBLE_RGW_ACCESS_KEY=$ak DOUBLE_RGW_SECRET_KEY=$sk python3 - "$ENDPOINT" "$uid" <<'PY' ||
import json, os, sys, botocore.session, botocore.exceptions
ep, uid = sys.argv[1:3]
s = botocore.session.get_session()
kw = dict(endpoint_url=ep, region_name="us-east-1",
          aws_access_key_id=os.environ["DOUBLE_RGW_ACCESS_KEY"],
          aws_secret_access_key=os.environ["DOUBLE_RGW_SECRET_KEY"])
s.create_client("iam", **kw).put_user_policy(UserName=uid, PolicyName="sts",
    PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["sts:GetSessionToken"], "Resource": "*"}]}))
# What the test relies on: RGW refuses temporary keys without their token.
c = s.create_client("sts", **kw).get_session_token(DurationSeconds=900)["Credentials"]
bare = dict(kw, aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"])
try:
    s.create_client("s3", **bare).list_buckets()
    sys.exit("RGW accepted temporary keys without their session token")
except botocore.exceptions.ClientError:
    pass
PY
	fail "RGW's STS is not set up (ci/rgw.sh enables it)"

# tsarc sees none of the permanent keys: only what each step hands out.
clean_env() {
	local v
	for v in $(env | sed -n 's/^\(AWS_[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$v"; done
	unset TSARC_S3_STS_ENDPOINT TSARC_S3_REFRESH_MARGIN
	export AWS_SHARED_CREDENTIALS_FILE=/nonexistent/tsarc-test
	export AWS_CONFIG_FILE=/nonexistent/tsarc-test
	export AWS_EC2_METADATA_DISABLED=true
}

DPID=
DLOG=
# start_double KIND ARGS...: the double on a free port in DPORT, log in DLOG.
start_double() {
	local kind=$1
	shift
	stop_double
	DLOG=$WORK/$kind.log
	rm -f "$WORK/port" "$DLOG"
	touch "$DLOG"
	DOUBLE_RGW_ACCESS_KEY=$ak DOUBLE_RGW_SECRET_KEY=$sk DOUBLE_SOURCE_SECRET=$sk \
		python3 "$here/creds_double.py" --kind "$kind" --port-file "$WORK/port" \
		--log "$DLOG" --rgw "$ENDPOINT" "$@" &
	DPID=$!
	local i=0
	while [ ! -s "$WORK/port" ]; do
		i=$((i + 1))
		[ $i -le 100 ] && kill -0 "$DPID" 2>/dev/null || fail "creds_double.py ($kind) did not start"
		sleep 0.1
	done
	DPORT=$(cat "$WORK/port")
}
stop_double() {
	if [ -n "$DPID" ]; then
		kill "$DPID" 2>/dev/null
		wait "$DPID" 2>/dev/null
		DPID=
	fi
}

# count JQ-ish-PYTHON-EXPR: how many log entries match (`e` is one entry).
count() {
	python3 -c 'import json,sys
n = 0
for line in open(sys.argv[1]):
    e = json.loads(line)
    n += bool(eval(sys.argv[2]))
print(n)' "$DLOG" "$1"
}

# The double found no bad request, and no secret it handed out was printed.
double_clean() {
	local what=$1
	[ "$(count "'problem' in e")" = 0 ] ||
		fail "$what: the double refused requests: $(grep problem "$DLOG" | head -3)"
	if [ -s "$DLOG.secrets" ] && grep -qaFf "$DLOG.secrets" "$TRANSCRIPT"; then
		fail "$what: a temporary secret key or session token appears in tsarc's output"
	fi
}

# backup_round REPO WHAT: init, a backup and a dump, all real.
backup_round() {
	local repo=$1 what=$2
	init_repo "$repo"
	backup_gen "$repo" db.sql 1M --seed 11
	dump_cmp "$repo" "$SNAP" db.sql 1M --seed 11
	info "$what: init, backup and dump with its keys"
}

if [ "$PART" = sts ]; then
# ---- web identity (EKS IRSA, OpenShift STS mode) ----
clean_env
echo "eyJhbGciOiJSUzI1NiJ9.service-account-token-1.sig" >"$WORK/sa-token"
ROLE=arn:aws:iam::000000000000:role/tsarc-backup
start_double sts --role-arn "$ROLE" --token-file "$WORK/sa-token" --session-name tsarc-nightly
export AWS_WEB_IDENTITY_TOKEN_FILE=$WORK/sa-token AWS_ROLE_ARN=$ROLE
export AWS_ROLE_SESSION_NAME=tsarc-nightly TSARC_S3_STS_ENDPOINT=http://127.0.0.1:$DPORT
backup_round "$BUCKET_URL/webid" "web identity"
[ "$(count "e.get('action') == 'AssumeRoleWithWebIdentity'")" -ge 3 ] ||
	fail "web identity: expected an STS call per command"
double_clean "web identity"
# The kubelet rotates the token: the next command reads the new one.
echo "eyJhbGciOiJSUzI1NiJ9.service-account-token-2.sig" >"$WORK/sa-token"
ok snapshots --repo "$BUCKET_URL/webid"
expect_out "^1 snapshot" "web identity, rotated token"

# Renewal before expiry: the first three answers expire in 60 s, later
# ones in an hour; with a 600 s margin tsarc must renew at once, three
# times, in the middle of the backup, and then keep the hour-long keys.
# The margin, not a clock, decides: nothing waits.
python3 -c 'import urllib.request,sys; urllib.request.urlopen(urllib.request.Request(sys.argv[1], method="POST", data=b""))' \
	"http://127.0.0.1:$DPORT/_control/short?n=3"
before=$(count "e.get('action') == 'AssumeRoleWithWebIdentity'")
export TSARC_S3_REFRESH_MARGIN=600
backup_gen "$BUCKET_URL/webid" db.sql 2M --seed 12
unset TSARC_S3_REFRESH_MARGIN
after=$(count "e.get('action') == 'AssumeRoleWithWebIdentity'")
[ $((after - before)) = 4 ] ||
	fail "refresh: expected 4 STS calls (1 + 3 renewals of short-lived keys), got $((after - before))"
[ "$(count "e.get('life') == 60")" = 3 ] || fail "refresh: the double did not hand out 3 short-lived keys"
dump_cmp "$BUCKET_URL/webid" "$SNAP" db.sql 2M --seed 12
double_clean "refresh"
info "refresh: short-lived keys renewed 3 times within the margin, then kept"

# STS refuses (wrong role): exit 13, the message names the role, no retry storm.
export AWS_ROLE_ARN=arn:aws:iam::000000000000:role/not-this-one
n0=$(count "'problem' in e")
t snapshots --repo "$BUCKET_URL/webid"
expect_rc 13 "web identity refused"
expect_err "AssumeRoleWithWebIdentity.*not-this-one" "web identity refused"
[ $(($(count "'problem' in e") - n0)) = 1 ] || fail "a refused STS call was retried"
stop_double

# ---- a profile's role_arn + source_profile (STS AssumeRole) ----
clean_env
start_double sts --role-arn "$ROLE" --source-key "$ak"
cat >"$WORK/credentials" <<CRED
[base]
aws_access_key_id = $ak
aws_secret_access_key = $sk
CRED
cat >"$WORK/config" <<CONF
[profile backup]
role_arn = $ROLE
source_profile = base
region = us-east-1
CONF
export AWS_SHARED_CREDENTIALS_FILE=$WORK/credentials AWS_CONFIG_FILE=$WORK/config
export AWS_PROFILE=backup TSARC_S3_STS_ENDPOINT=http://127.0.0.1:$DPORT
backup_round "$BUCKET_URL/role" "assume role"
[ "$(count "e.get('action') == 'AssumeRole'")" -ge 3 ] || fail "assume role: no AssumeRole per command"
double_clean "assume role"
grep -qaF -- "$sk" "$TRANSCRIPT" && fail "the source profile's secret was printed"
# The double does check the signature: a wrong source secret is refused.
sed -i "s|^aws_secret_access_key = .*|aws_secret_access_key = not-$sk|" "$WORK/credentials"
t snapshots --repo "$BUCKET_URL/role"
expect_rc 13 "assume role with a wrong source secret"
[ "$(count "'signature does not verify' in e.get('problem', '')")" = 1 ] ||
	fail "assume role: the double did not catch a wrong signature"
stop_double

fi

if [ "$PART" = platform ]; then
# ---- container endpoint (ECS, EKS Pod Identity) ----
clean_env
echo "pod-identity-token-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')" >"$WORK/pod-token"
start_double container --auth-token-file "$WORK/pod-token"
export AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:$DPORT/v1/credentials
export AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=$WORK/pod-token
backup_round "$BUCKET_URL/container" "container endpoint"
[ "$(count "e.get('kind') == 'container' and 'key' in e")" -ge 3 ] ||
	fail "container: expected a credentials call per command"
double_clean "container"
grep -qaF -- "$(cat "$WORK/pod-token")" "$TRANSCRIPT" && fail "the container token was printed"
# Without the token the double refuses: exit 13.
unset AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE
t snapshots --repo "$BUCKET_URL/container"
expect_rc 13 "container without its token"
# A plain-http endpoint off the machine is refused before any request.
export AWS_CONTAINER_CREDENTIALS_FULL_URI=http://192.0.2.1/creds
t snapshots --repo "$BUCKET_URL/container"
expect_rc 2 "container endpoint off the machine"
expect_err "FULL_URI must be https" "container endpoint off the machine"
stop_double

# ---- EC2 instance role, IMDSv2 ----
clean_env
start_double imds
unset AWS_EC2_METADATA_DISABLED
export AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:$DPORT
backup_round "$BUCKET_URL/imds" "instance role"
[ "$(count "e.get('step') == 'token'")" -ge 3 ] || fail "imds: no token PUT per command"
[ "$(count "e.get('step') == 'credentials'")" -ge 3 ] || fail "imds: no credentials per command"
double_clean "instance role"
# AWS_EC2_METADATA_DISABLED: nothing is asked, and the error says what was tried.
export AWS_EC2_METADATA_DISABLED=true
n0=$(wc -l <"$DLOG")
t snapshots --repo "$BUCKET_URL/imds"
expect_rc 2 "no credentials anywhere"
expect_err "no S3 credentials.*AWS_WEB_IDENTITY_TOKEN_FILE.*AWS_EC2_METADATA_DISABLED" "no credentials anywhere"
[ "$(wc -l <"$DLOG")" = "$n0" ] || fail "AWS_EC2_METADATA_DISABLED=true, yet the metadata service was asked"
stop_double
# Nothing answers (the hop limit seen from a container): fast, and said so.
unset AWS_EC2_METADATA_DISABLED
export AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:9
t snapshots --repo "$BUCKET_URL/imds"
expect_rc 2 "no metadata service"
expect_err "hop limit" "no metadata service"
# The PUT options are checked at open, before anything is asked.
t snapshots --repo "$BUCKET_URL/imds" --s3-storage-class GLACIER
expect_rc 2 "--s3-storage-class GLACIER"
expect_err "GLACIER cannot be read back" "--s3-storage-class GLACIER"
t snapshots --repo "$BUCKET_URL/imds" --s3-sse AES256 --s3-sse-kms-key-id k1
expect_rc 2 "--s3-sse-kms-key-id without aws:kms"
expect_err "not aws:kms" "--s3-sse-kms-key-id without aws:kms"

fi

finish "$PART"
