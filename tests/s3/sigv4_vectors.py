#!/usr/bin/env python3
"""Writes SigV4 test vectors signed by botocore, the reference implementation.

Usage: sigv4_vectors.py OUT.json

Each vector holds the request's inputs as tsarc's signer takes them (raw,
unencoded path and query) and what botocore made of them (canonical request
and Authorization header) at a pinned date. tests/s3/test_sigv4.c signs the
same inputs and compares.
"""
import datetime
import hashlib
import base64
import json
import sys
from unittest import mock
from urllib.parse import quote

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

PINNED = datetime.datetime(2026, 11, 23, 12, 34, 56)
AK = "AKIDEXAMPLE0TSARC0"
SK = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"


def md5_b64(body):
    return base64.b64encode(hashlib.md5(body).digest()).decode()


DELETE_BODY = (b'<?xml version="1.0" encoding="UTF-8"?><Delete><Quiet>true</Quiet>'
               b'<Object><Key>pre/data/ab/abcd</Key></Object></Delete>')
PUT_BODY = bytes(range(256)) * 17

CASES = [
    dict(name="get-range", method="GET", host="127.0.0.1:17480",
         path="/tsarc/repo/data/ab/ab12cd34", headers=[["Range", "bytes=100-199"]]),
    dict(name="get-suffix-range", method="GET", host="127.0.0.1:17480",
         path="/tsarc/repo/index/ff00", headers=[["Range", "bytes=4096-"]]),
    dict(name="put-body", method="PUT", host="127.0.0.1:17480",
         path="/tsarc/repo/data/00/00ff", body=PUT_BODY,
         headers=[["Content-MD5", md5_b64(PUT_BODY)]]),
    dict(name="put-create-only", method="PUT", host="s3.example.net",
         path="/bkt/locks/lock-1", body=b'{"pid":1}',
         headers=[["Content-MD5", md5_b64(b'{"pid":1}')], ["If-None-Match", "*"]]),
    dict(name="put-empty", method="PUT", host="127.0.0.1:9000", path="/newbucket",
         body=b"", headers=[["Content-MD5", md5_b64(b"")]]),
    dict(name="head", method="HEAD", host="127.0.0.1:17480", path="/tsarc/repo/config"),
    dict(name="list-first", method="GET", host="127.0.0.1:17480", path="/tsarc",
         query=[["list-type", "2"], ["prefix", "repo/snapshots/"]]),
    dict(name="list-token", method="GET", host="127.0.0.1:17480", path="/tsarc",
         query=[["prefix", "my repo/data/"], ["list-type", "2"],
                ["continuation-token", "1/ab+cd=ef/==+/gh~i_j.k-l"]]),
    dict(name="delete-objects", method="POST", host="127.0.0.1:17480", path="/tsarc",
         query=[["delete", ""]], body=DELETE_BODY,
         headers=[["Content-MD5", md5_b64(DELETE_BODY)]]),
    dict(name="delete", method="DELETE", host="127.0.0.1:17480",
         path="/tsarc/repo/snapshots/abc"),
    dict(name="session-token", method="GET", host="s3.eu-west-1.amazonaws.com",
         path="/tsarc/repo/keys/k1", region="eu-west-1",
         token="FQoGZXIvYXdzEJr//////////wEaDM+token/with=odd+chars"),
    dict(name="special-prefix", method="PUT", host="127.0.0.1:17480",
         path="/tsarc/prod backups/3scale+apim/ä ö=&?#%/snapshots/s1",
         body=b"x", headers=[["Content-MD5", md5_b64(b"x")]]),
    dict(name="special-prefix-list", method="GET", host="127.0.0.1:17480", path="/tsarc",
         query=[["list-type", "2"], ["prefix", "prod backups/3scale+apim/ä ö=&?#%/data/"],
                ["continuation-token", "a b/c"]]),
    dict(name="virtual-host", method="GET", host="mybucket.s3.us-west-2.amazonaws.com",
         path="/pre/config", region="us-west-2", scheme="https"),
    dict(name="virtual-host-root-list", method="GET",
         host="mybucket.s3.us-west-2.amazonaws.com", path="/", region="us-west-2",
         scheme="https", query=[["list-type", "2"], ["prefix", "pre/keys/"]]),
    dict(name="header-spaces", method="GET", host="127.0.0.1:17480",
         path="/tsarc/repo/config", headers=[["Range", "  bytes=0-0  "]]),
]


class Capture(S3SigV4Auth):
    """Keeps the canonical request so a mismatch can be shown in detail."""
    last = None

    def canonical_request(self, request):
        cr = super().canonical_request(request)
        Capture.last = cr
        return cr


def sign(case):
    region = case.get("region", "us-east-1")
    scheme = case.get("scheme", "http")
    body = case.get("body")
    url = "%s://%s%s" % (scheme, case["host"], quote(case["path"], safe="/~"))
    headers = {k: v for k, v in case.get("headers", [])}
    req = AWSRequest(method=case["method"], url=url, headers=headers,
                     data=body if body is not None else b"",
                     params=[(k, v) for k, v in case.get("query", [])])
    # Sign the payload hash the same way as tsarc, including over https.
    req.context["client_config"] = mock.Mock(s3={"payload_signing_enabled": True})
    creds = Credentials(AK, SK, case.get("token"))
    auth = Capture(creds, "s3", region)
    with mock.patch("botocore.auth.get_current_datetime", return_value=PINNED):
        auth.add_auth(req)
    return dict(
        name=case["name"], method=case["method"], host=case["host"],
        path=case["path"], query=case.get("query", []),
        headers=case.get("headers", []),
        body_hex=(body or b"").hex(), region=region, service="s3",
        access_key=AK, secret_key=SK, session_token=case.get("token"),
        amz_date=req.headers["X-Amz-Date"],
        payload_sha256=req.headers["X-Amz-Content-SHA256"],
        canonical_request=Capture.last,
        authorization=req.headers["Authorization"],
    )


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: sigv4_vectors.py OUT.json")
    vectors = [sign(c) for c in CASES]
    with open(sys.argv[1], "w", encoding="utf-8") as f:
        json.dump({"generator": "botocore", "vectors": vectors}, f, indent=1,
                  ensure_ascii=False)
    print("wrote %d vectors to %s" % (len(vectors), sys.argv[1]))


if __name__ == "__main__":
    main()
