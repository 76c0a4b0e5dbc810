#!/usr/bin/env python3
"""Test double for the credential endpoints tsarc asks: STS, the EC2
instance metadata service (IMDSv2) and the ECS/EKS container endpoint.

Usage: creds_double.py --port-file F --log F --rgw URL [options]

It checks the shape of every request (the STS parameters and signature,
the IMDSv2 session token and its TTL header, the container Authorization
header) and answers a bad one with HTTP 400, noting the problem in the
log (one JSON object a line), which the test reads. A good one gets real
temporary credentials: the double asks the Ceph RGW for them
(GetSessionToken, with the permanent keys of a user the test created), so
that the S3 requests after the credential step are real and RGW checks
their session token. The first --short answers (reset by POST
/_control/short?n=N) claim an Expiration 60 s away, the others one hour:
with a refresh margin between the two, tsarc must renew the first ones at
once and keep the later ones.

Loopback only. The permanent keys arrive in the environment
(DOUBLE_RGW_ACCESS_KEY, DOUBLE_RGW_SECRET_KEY), never on a command line.
"""
import argparse
import datetime
import hashlib
import json
import os
import re
import secrets
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ARGS = None
LOCK = threading.Lock()
STATE = {"short_left": 0, "imds_tokens": set()}
SESSION_NAME = re.compile(r"^[\w+=,.@-]{2,64}$")


def log(entry):
    with LOCK:
        with open(ARGS.log, "a") as f:
            f.write(json.dumps(entry) + "\n")


def mint():
    """Real temporary credentials from RGW, and the Expiration to claim."""
    with LOCK:
        c = STATE["sts"].get_session_token(DurationSeconds=3600)["Credentials"]
    with LOCK:
        short = STATE["short_left"] > 0
        if short:
            STATE["short_left"] -= 1
    life = 60 if short else 3600
    exp = (datetime.datetime.now(datetime.timezone.utc) +
           datetime.timedelta(seconds=life)).strftime("%Y-%m-%dT%H:%M:%SZ")
    # The test greps tsarc's output for these: none may ever show.
    with LOCK:
        with open(ARGS.log + ".secrets", "a") as f:
            f.write(c["SecretAccessKey"] + "\n" + c["SessionToken"] + "\n")
    return c, exp, life


def verify_sigv4(handler, body, secret_key):
    """Recomputes the SigV4 signature of an STS request with botocore."""
    auth = handler.headers.get("Authorization", "")
    m = re.match(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/sts/aws4_request, "
                 r"SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$", auth)
    if not m:
        return "Authorization is not a SigV4 header for sts: " + auth[:80]
    key_id, _, region, signed, sig = m.groups()
    if key_id != ARGS.source_key:
        return "AssumeRole signed with key %s, not the source profile's" % key_id
    amz_date = handler.headers.get("X-Amz-Date", "")
    headers = {h: handler.headers.get(h, "") for h in signed.split(";")}
    req = AWSRequest(method="POST", url="http://%s/" % handler.headers["Host"],
                     data=body, headers=headers)
    # botocore's own steps, at the request's date (add_auth would take
    # the clock's, which may have moved on by a second).
    signer = SigV4Auth(Credentials(key_id, secret_key), "sts", region)
    req.context["timestamp"] = amz_date
    signer._modify_request_before_signing(req)
    canonical = signer.canonical_request(req)
    want = signer.signature(signer.string_to_sign(req, canonical), req)
    if want != sig:
        return "the AssumeRole signature does not verify"
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *a):
        pass

    def reply(self, status, body, ctype="text/plain"):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def refuse(self, problem):
        log({"kind": ARGS.kind, "method": self.command, "path": self.path,
             "problem": problem})
        self.reply(400, problem)

    def body(self):
        n = int(self.headers.get("Content-Length", "0") or 0)
        return self.rfile.read(n) if n else b""

    def control(self):
        q = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
        with LOCK:
            STATE["short_left"] = int(q.get("n", ["0"])[0])
        self.reply(200, "ok")

    # ---- STS ----
    def sts(self):
        body = self.body()
        p = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode(), keep_blank_values=True).items()}
        action = p.get("Action")
        problems = []
        if self.command != "POST" or urllib.parse.urlparse(self.path).query:
            problems.append("STS parameters must come in a POST body, not the URL")
        if p.get("Version") != "2011-06-15":
            problems.append("Version is %r" % p.get("Version"))
        if p.get("RoleArn") != ARGS.role_arn:
            problems.append("RoleArn is %r" % p.get("RoleArn"))
        if not SESSION_NAME.match(p.get("RoleSessionName", "")):
            problems.append("RoleSessionName %r is not valid" % p.get("RoleSessionName"))
        if ARGS.session_name and p.get("RoleSessionName") != ARGS.session_name:
            problems.append("RoleSessionName is not %s" % ARGS.session_name)
        if action == "AssumeRoleWithWebIdentity":
            with open(ARGS.token_file) as f:
                want = f.read().strip()
            if p.get("WebIdentityToken") != want:
                problems.append("WebIdentityToken is not the token file's")
            if "Authorization" in self.headers:
                problems.append("AssumeRoleWithWebIdentity must not be signed")
        elif action == "AssumeRole":
            err = verify_sigv4(self, body, os.environ.get("DOUBLE_SOURCE_SECRET", ""))
            if err:
                problems.append(err)
        else:
            problems.append("Action is %r" % action)
        if problems:
            return self.refuse("; ".join(problems))
        c, exp, life = mint()
        log({"kind": "sts", "action": action, "session": p["RoleSessionName"],
             "key": c["AccessKeyId"], "life": life})
        self.reply(200, (
            '<%sResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><%sResult>'
            "<Credentials><AccessKeyId>%s</AccessKeyId><SecretAccessKey>%s</SecretAccessKey>"
            "<SessionToken>%s</SessionToken><Expiration>%s</Expiration></Credentials>"
            "</%sResult></%sResponse>") % (action, action, c["AccessKeyId"],
                                           c["SecretAccessKey"], c["SessionToken"], exp,
                                           action, action), "text/xml")

    # ---- IMDSv2 ----
    def imds(self):
        path = urllib.parse.urlparse(self.path).path
        if self.command == "PUT" and path == "/latest/api/token":
            ttl = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds", "")
            if not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
                return self.refuse("token PUT without a valid X-aws-ec2-metadata-token-ttl-seconds")
            tok = secrets.token_urlsafe(32)
            with LOCK:
                STATE["imds_tokens"].add(tok)
            log({"kind": "imds", "step": "token", "ttl": int(ttl)})
            return self.reply(200, tok)
        if self.command != "GET":
            return self.refuse("%s %s" % (self.command, path))
        with LOCK:
            good = self.headers.get("X-aws-ec2-metadata-token") in STATE["imds_tokens"]
        if not good:
            # IMDSv1 (no token) is what the hop limit and the v2 rule forbid.
            log({"kind": "imds", "path": path, "problem": "GET without a session token"})
            return self.reply(401, "")
        base = "/latest/meta-data/iam/security-credentials/"
        if path == base:
            log({"kind": "imds", "step": "role"})
            return self.reply(200, "tsarc-node-role")
        if path == base + "tsarc-node-role":
            c, exp, life = mint()
            log({"kind": "imds", "step": "credentials", "key": c["AccessKeyId"], "life": life})
            return self.reply(200, json.dumps({
                "Code": "Success", "LastUpdated": exp, "Type": "AWS-HMAC",
                "AccessKeyId": c["AccessKeyId"], "SecretAccessKey": c["SecretAccessKey"],
                "Token": c["SessionToken"], "Expiration": exp}), "application/json")
        return self.reply(404, "")

    # ---- container endpoint ----
    def container(self):
        if self.command != "GET":
            return self.refuse("container endpoint asked with " + self.command)
        with open(ARGS.auth_token_file) as f:
            want = f.read().strip()
        if self.headers.get("Authorization") != want:
            return self.refuse("Authorization is not the container token")
        c, exp, life = mint()
        log({"kind": "container", "path": self.path, "key": c["AccessKeyId"], "life": life})
        self.reply(200, json.dumps({
            "AccessKeyId": c["AccessKeyId"], "SecretAccessKey": c["SecretAccessKey"],
            "Token": c["SessionToken"], "Expiration": exp,
            "RoleArn": "arn:aws:iam::000000000000:role/tsarc"}), "application/json")

    def dispatch(self):
        if self.path.startswith("/_control/short"):
            self.body()
            return self.control()
        try:
            getattr(self, ARGS.kind)()
        except Exception as e:  # a broken double must fail the test, loudly
            log({"kind": ARGS.kind, "problem": "double crashed: %r" % e})
            self.reply(500, "double crashed")

    do_GET = do_PUT = do_POST = dispatch


def main():
    global ARGS
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--kind", choices=["sts", "imds", "container"], required=True)
    p.add_argument("--port-file", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--rgw", required=True, help="the RGW endpoint that mints the keys")
    p.add_argument("--role-arn")
    p.add_argument("--session-name")
    p.add_argument("--token-file", help="the web identity token tsarc must send")
    p.add_argument("--auth-token-file", help="the container token tsarc must send")
    p.add_argument("--source-key", help="the key id that must sign AssumeRole")
    ARGS = p.parse_args()
    # One client: building one loads botocore's models (about a second).
    STATE["sts"] = botocore.session.get_session().create_client(
        "sts", endpoint_url=ARGS.rgw, region_name="us-east-1",
        aws_access_key_id=os.environ["DOUBLE_RGW_ACCESS_KEY"],
        aws_secret_access_key=os.environ["DOUBLE_RGW_SECRET_KEY"])
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(ARGS.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(ARGS.port_file + ".tmp", ARGS.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
