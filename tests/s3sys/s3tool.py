#!/usr/bin/env python3
"""Buckets for tests/s3sys/bucket.sh, through botocore (the reference S3
client). Endpoint and keys from the environment (TSARC_TEST_S3_ENDPOINT,
AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), never the command line.

  s3tool.py fill BUCKET PREFIX   a source: odd keys, content types, user
                                 metadata, an empty object, a 12 MB one,
                                 70 small ones
  s3tool.py other BUCKET PREFIX  a target holding other objects (and one
                                 key of the source with other content)
  s3tool.py put BUCKET KEY TEXT  one object
  s3tool.py state BUCKET PREFIX  one JSON line per object under PREFIX:
                                 key (relative), content type, metadata,
                                 size and SHA-256 of the body
"""
import hashlib
import json
import os
import random
import sys
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "s3"))
from attacker import client  # noqa: E402  (the tests' one botocore client)


def bucket(s3, name):
    try:
        s3.create_bucket(Bucket=name)
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass


ODD_KEYS = [
    "logo.png", "dir/sub dir/file with spaces.txt", "ünïcödé/ключ/文件.bin",
    "a+b=c&d;e,f@g$h", "percent%20not-decoded", "../escape/../../etc/passwd",
    "/leading-slash", "double//slash", "dot/./name", "trailing/", "emoji 😀.json",
    "~tilde*star(paren)[bracket]'quote\"dq", "x" * 300 + "/long",
]


def fill(s3, b, prefix):
    bucket(s3, b)
    rnd = random.Random(7)
    for i, k in enumerate(ODD_KEYS):
        types = ["image/png", "text/plain; charset=utf-8", "application/json",
                 "application/octet-stream"]
        meta = {"owner": "tenant-%d" % i, "note": "a b  c"} if i % 2 == 0 else {}
        s3.put_object(Bucket=b, Key=prefix + k, Body=("body of %s\n" % k).encode() * (i + 1),
                      ContentType=types[i % len(types)], Metadata=meta)
    s3.put_object(Bucket=b, Key=prefix + "empty", Body=b"", ContentType="text/plain")
    # More than one batch of 64 (backup and restore copy in batches).
    with ThreadPoolExecutor(8) as ex:
        list(ex.map(lambda i: s3.put_object(
            Bucket=b, Key=prefix + "many/%03d.txt" % i, Body=b"small %d" % i,
            ContentType="text/plain", Metadata={"n": str(i)} if i % 7 == 0 else {}), range(70)))
    big = bytes(rnd.getrandbits(8) for _ in range(1 << 16)) * 192  # 12 MiB, many chunks
    s3.put_object(Bucket=b, Key=prefix + "attachments/big.bin", Body=big,
                  ContentType="application/zip", Metadata={"size-class": "large"})


def other(s3, b, prefix):
    bucket(s3, b)
    s3.put_object(Bucket=b, Key=prefix + "only-in-target.txt", Body=b"extra", Metadata={"t": "1"})
    s3.put_object(Bucket=b, Key=prefix + "zzz/last", Body=b"extra too")
    s3.put_object(Bucket=b, Key=prefix + "logo.png", Body=b"an older logo", ContentType="text/x-old")


def state(s3, b, prefix):
    def one(key):
        r = s3.get_object(Bucket=b, Key=key)
        body = r["Body"].read()
        return {"key": key[len(prefix):], "type": r.get("ContentType"),
                "meta": dict(sorted(r.get("Metadata", {}).items())), "size": len(body),
                "sha256": hashlib.sha256(body).hexdigest()}
    keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=b, Prefix=prefix)
            for o in page.get("Contents", [])]
    # RGW answers a GET in tens of milliseconds: several at once.
    with ThreadPoolExecutor(8) as ex:
        out = list(ex.map(one, keys))
    for o in sorted(out, key=lambda o: o["key"].encode()):
        print(json.dumps(o, ensure_ascii=True, sort_keys=True))


def main():
    s3 = client()
    cmd = sys.argv[1]
    if cmd == "fill":
        fill(s3, sys.argv[2], sys.argv[3])
    elif cmd == "other":
        other(s3, sys.argv[2], sys.argv[3])
    elif cmd == "put":
        bucket(s3, sys.argv[2])
        s3.put_object(Bucket=sys.argv[2], Key=sys.argv[3], Body=sys.argv[4].encode())
    elif cmd == "deny-put":
        # An explicit Deny binds the bucket's owner too: PUTs of that one
        # key get 403, every other request works.
        s3.put_bucket_policy(Bucket=sys.argv[2], Policy=json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
                "Resource": "arn:aws:s3:::%s/%s" % (sys.argv[2], sys.argv[3])}]}))
    elif cmd == "state":
        state(s3, sys.argv[2], sys.argv[3])
    else:
        sys.exit("unknown command " + cmd)


main()
