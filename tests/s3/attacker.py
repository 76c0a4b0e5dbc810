#!/usr/bin/env python3
"""What someone holding the repository's own S3 credentials can try, and
what an administrator does, for tests/s3/object_lock.sh (botocore, the
reference S3 client). Credentials and endpoint come from the environment
(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, TSARC_TEST_S3_ENDPOINT), never
the command line.

  attacker.py lock-config BUCKET          Enabled / none
  attacker.py create-bucket BUCKET        a bucket without Object Lock
  attacker.py versions BUCKET PREFIX      "KEY VERSION latest|old version|marker" lines
  attacker.py unlocked BUCKET PREFIX      keys of current versions without a retention
  attacker.py retention BUCKET KEY [VER]  "MODE EPOCH" of a version (current by default)
  attacker.py retentions BUCKET PREFIX    "KEY VERSION latest|old MODE EPOCH" of every
                                          version (not markers) under PREFIX
  attacker.py delete-version BUCKET KEY VER   "ok" or the error code
  attacker.py delete BUCKET KEY           a plain DELETE: "ok" or the error code
  attacker.py overwrite BUCKET KEY        a PUT of garbage: "ok" or the error code
  attacker.py flip BUCKET KEY             a PUT of the object with its middle byte
                                          flipped (the same size): "ok" or the error code
  attacker.py overwrite-locked BUCKET KEY MODE SECONDS
                                          the same, the garbage retained in MODE
                                          (GOVERNANCE, COMPLIANCE) for SECONDS
  attacker.py shorten BUCKET KEY EPOCH    PutObjectRetention to an earlier date,
                                          no bypass: "ok" or the error code
  attacker.py expire BUCKET PREFIX SECONDS  administrator: every version's
                                          governance date to SECONDS from now,
                                          with the bypass header
  attacker.py delete-bucket BUCKET        "ok" or the error code
  attacker.py delete-objects BUCKET KEY   a DeleteObjects of KEY: "ok" or the error
                                          code (of the request, or of its entry)
  attacker.py policy BUCKET PREFIX BACKUP MAINTENANCE FILE...
                                          administrator: the bucket policy of the
                                          FILEs' json blocks naming the roles tsarc-backup
                                          and tsarc-maintenance (the first FILE's whole
                                          policy, then the statements of the others), the
                                          roles as the users BACKUP and MAINTENANCE

botocore takes 0.7 s of CPU to start and build its client, many times the
request: `attacker.py serve PORTFILE` runs the commands for one test
instead, on a loopback port it writes to PORTFILE, one connection a
command (object_lock_lib.sh's att is its client). A request is
NUL-terminated fields: the endpoint, the access key, the secret key (the
caller's environment, never a command line), the number of arguments and
the arguments; the reply is the exit status on a line, then what the
command printed. Its errors go to the server's stderr, the test's log.
"""
import contextlib
import datetime
import io
import json
import os
import re
import socket
import sys
import time
import traceback

import botocore.session
from botocore.exceptions import ClientError


def client(endpoint=None, key=None, secret=None, session=None):
    """An S3 client, of the environment's endpoint and credentials by default."""
    s = session or botocore.session.get_session()
    return s.create_client(
        "s3", endpoint_url=endpoint or os.environ["TSARC_TEST_S3_ENDPOINT"],
        region_name="us-east-1", aws_access_key_id=key or os.environ["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=secret or os.environ["AWS_SECRET_ACCESS_KEY"])


def code(e):
    return e.response.get("Error", {}).get("Code", "error")


def attempt(fn, **kw):
    try:
        fn(**kw)
        print("ok")
    except ClientError as e:
        print(code(e))


def all_versions(s3, bucket, prefix):
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
        for v in page.get("Versions", []):
            yield v["Key"], v["VersionId"], v["IsLatest"], False
        for m in page.get("DeleteMarkers", []):
            yield m["Key"], m["VersionId"], m["IsLatest"], True


BACKUP_ROLE = "arn:aws:iam::111122223333:role/tsarc-backup"
MAINTENANCE_ROLE = "arn:aws:iam::111122223333:role/tsarc-maintenance"


def policy(s3, bucket, prefix, backup, maint, *files):
    """Sets the documented bucket policy: the first file's whole policy,
    then the statements of the others, the roles as RGW users."""
    doc = None
    for f in files:
        for block in re.findall(r"```json\n(.*?)```", open(f).read(), re.S):
            if BACKUP_ROLE not in block and MAINTENANCE_ROLE not in block:
                continue
            text = (block.replace(BACKUP_ROLE, "arn:aws:iam:::user/" + backup)
                    .replace(MAINTENANCE_ROLE, "arn:aws:iam:::user/" + maint))
            part = json.loads(text.replace("BUCKET", bucket).replace("PREFIX", prefix))
            if doc is None:
                doc = part
            else:
                doc["Statement"] += part if isinstance(part, list) else [part]
    if doc is None:
        sys.exit("no bucket policy in " + " ".join(files))
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(doc))
    return len(doc["Statement"])


def run(s3, cmd, args):
    if cmd == "lock-config":
        try:
            c = s3.get_object_lock_configuration(Bucket=args[0])
            print(c["ObjectLockConfiguration"].get("ObjectLockEnabled", "none"))
        except ClientError:
            print("none")
    elif cmd == "create-bucket":
        s3.create_bucket(Bucket=args[0])
    elif cmd == "versions":
        for key, vid, latest, marker in sorted(all_versions(s3, args[0], args[1])):
            print(key, vid, "marker" if marker else ("latest" if latest else "old"))
    elif cmd == "unlocked":
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=args[0], Prefix=args[1]):
            for o in page.get("Contents", []):
                h = s3.head_object(Bucket=args[0], Key=o["Key"])
                if "ObjectLockRetainUntilDate" not in h:
                    print(o["Key"])
    elif cmd == "retention":
        kw = {"Bucket": args[0], "Key": args[1]}
        if len(args) > 2:
            kw["VersionId"] = args[2]
        h = s3.head_object(**kw)
        print(h.get("ObjectLockMode", "none"),
              int(h["ObjectLockRetainUntilDate"].timestamp()) if "ObjectLockRetainUntilDate" in h else 0)
    elif cmd == "retentions":
        for key, vid, latest, marker in sorted(all_versions(s3, args[0], args[1])):
            if marker:
                continue
            h = s3.head_object(Bucket=args[0], Key=key, VersionId=vid)
            until = h.get("ObjectLockRetainUntilDate")
            print(key, vid, "latest" if latest else "old", h.get("ObjectLockMode", "none"),
                  int(until.timestamp()) if until else 0)
    elif cmd == "delete-version":
        attempt(s3.delete_object, Bucket=args[0], Key=args[1], VersionId=args[2])
    elif cmd == "delete":
        attempt(s3.delete_object, Bucket=args[0], Key=args[1])
    elif cmd == "overwrite":
        attempt(s3.put_object, Bucket=args[0], Key=args[1], Body=b"encrypted by ransomware")
    elif cmd == "flip":
        body = bytearray(s3.get_object(Bucket=args[0], Key=args[1])["Body"].read())
        body[len(body) // 2] ^= 1
        attempt(s3.put_object, Bucket=args[0], Key=args[1], Body=bytes(body))
    elif cmd == "overwrite-locked":
        date = datetime.datetime.fromtimestamp(int(time.time()) + int(args[3]),
                                               datetime.timezone.utc)
        attempt(s3.put_object, Bucket=args[0], Key=args[1], Body=b"encrypted by ransomware",
                ObjectLockMode=args[2], ObjectLockRetainUntilDate=date)
    elif cmd == "shorten":
        h = s3.head_object(Bucket=args[0], Key=args[1])
        date = datetime.datetime.fromtimestamp(int(args[2]), datetime.timezone.utc)
        attempt(s3.put_object_retention, Bucket=args[0], Key=args[1],
                Retention={"Mode": h.get("ObjectLockMode", "COMPLIANCE"), "RetainUntilDate": date})
    elif cmd == "expire":
        date = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=int(args[2]))
        for key, vid, _, marker in list(all_versions(s3, args[0], args[1])):
            if not marker:
                s3.put_object_retention(Bucket=args[0], Key=key, VersionId=vid,
                                        BypassGovernanceRetention=True,
                                        Retention={"Mode": "GOVERNANCE", "RetainUntilDate": date})
    elif cmd == "delete-bucket":
        attempt(s3.delete_bucket, Bucket=args[0])
    elif cmd == "delete-objects":
        try:
            r = s3.delete_objects(Bucket=args[0], Delete={"Objects": [{"Key": args[1]}]})
            print(r["Errors"][0]["Code"] if r.get("Errors") else "ok")
        except ClientError as e:
            print(code(e))
    elif cmd == "policy":
        print(policy(s3, *args))
    else:
        sys.exit("unknown command " + cmd)


def read_fields(conn):
    """The NUL-terminated fields of one request."""
    data = b""
    while True:
        block = conn.recv(65536)
        if not block:
            return None
        data += block
        fields = data.split(b"\0")
        if len(fields) > 4 and len(fields) >= 5 + int(fields[3]):
            return [f.decode() for f in fields[:4 + int(fields[3])]]


def serve(portfile):
    """One botocore session for the whole test, a client per credentials."""
    session, clients = botocore.session.get_session(), {}
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    with open(portfile + ".tmp", "w") as f:
        f.write(str(srv.getsockname()[1]))
    os.replace(portfile + ".tmp", portfile)
    parent = os.getppid()
    srv.settimeout(2)
    while True:
        try:
            conn, _ = srv.accept()
        except socket.timeout:
            if os.getppid() != parent:  # the test is gone, killed before its clean-up
                return
            continue
        conn.settimeout(None)
        with conn:
            fields = read_fields(conn)
            if not fields:
                continue
            creds, argv = tuple(fields[:3]), fields[4:]
            if creds not in clients:
                clients[creds] = client(*creds, session=session)
            out, rc = io.StringIO(), 0
            try:
                with contextlib.redirect_stdout(out):
                    run(clients[creds], argv[0], argv[1:])
            except SystemExit as e:
                rc = e.code if isinstance(e.code, int) else 1
                if not isinstance(e.code, int):
                    sys.stderr.write(str(e.code) + "\n")
            except Exception:  # what a run of its own would have died of
                traceback.print_exc()
                rc = 1
            conn.sendall(f"{rc}\n{out.getvalue()}".encode())


def main():
    if sys.argv[1] == "serve":
        serve(sys.argv[2])
        return
    run(client(), sys.argv[1], sys.argv[2:])


if __name__ == "__main__":
    main()
