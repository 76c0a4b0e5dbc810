#!/usr/bin/env python3
"""An HTTP proxy in front of an S3 server that injects the faults S3 clients
must survive: 503 SlowDown, 500 InternalError, connection resets and stalls.

    fault_proxy.py --upstream http://127.0.0.1:17480 --port-file F
                   [--listen-port 0] [--rate 0.1] [--stall 4] [--seed 1]
                   [--kinds slowdown,internal,reset,stall] [--stats-file F]
                   [--only REGEX] [--log-file F] [--hold-file F [--hold-release]]

Requests that draw no fault are forwarded byte for byte: the request line,
headers (Host included) and body reach the server exactly as the client sent
them, so SigV4 signatures stay valid. Some faults strike after the server
has executed the request (the answer is lost or replaced), which is what
makes retried conditional PUTs interesting.

With --only, faults are drawn only for requests whose "METHOD target" (e.g.
"GET /bucket/prefix/snapshots/ab12...") matches REGEX; --rate 1 then makes
exactly those requests fail every time, as a store that keeps failing on
some objects after every retry does.

With --hold-file F, a test stops its client at a request of its choosing,
not at a moment of the clock's: while F holds two lines, N and REGEX, the
Nth request since F last changed whose "METHOD target", a newline and its
body match REGEX is held (never forwarded, no answer) until the client
goes, and its request line is written to F.reached for the test, which
then kills the client there (a batch delete is told by the keys in its
body). With --hold-release the held request is forwarded instead, as any
other, once F no longer holds what it held it for (changed or removed):
the test does its part while the client waits there, then lets it go on.

With --log-file F, every request's "METHOD target" is appended to F, one a
line (opened for each request, so a test may empty F between its steps):
for tests that count the requests a command makes.

Python standard library only. Request bodies must have a Content-Length
(S3 clients send one; chunked uploads get 411 like from S3).
"""
import argparse
import json
import os
import random
import re
import socket
import socketserver
import struct
import sys
import threading
import time
import urllib.parse

MAX_HEAD = 64 * 1024

lock = threading.Lock()
stats = {"requests": 0, "forwarded": 0, "slowdown": 0, "internal": 0,
         "reset": 0, "stall": 0, "held": 0}
hold = {"spec": None, "seen": 0}
args = None
rng = None


def count(kind):
    with lock:
        stats[kind] += 1
        if args.stats_file:
            tmp = args.stats_file + ".tmp"
            with open(tmp, "w") as f:
                json.dump(stats, f)
            os.replace(tmp, args.stats_file)


def draw(request_line):
    """The fault for the next request, or None; and whether it strikes
    before or after the server has seen the request."""
    if args.only and not args.only.search(" ".join(request_line.split(" ")[:2])):
        return None, False
    with lock:
        if rng.random() >= args.rate:
            return None, False
        return rng.choice(args.kinds), rng.random() < 0.5


def to_hold(first, body):
    """Whether this request is the one --hold-file asks to hold."""
    if not args.hold_file:
        return False
    try:
        with open(args.hold_file) as f:
            spec = f.read()
    except OSError:
        return False
    lines = spec.split("\n", 1)
    if len(lines) < 2 or not lines[0].strip().isdigit():
        return False
    text = " ".join(first.split(" ")[:2]) + "\n" + body[:1 << 20].decode("latin-1")
    with lock:
        if spec != hold["spec"]:
            hold["spec"], hold["seen"] = spec, 0
        if not re.search(lines[1].strip(), text):
            return False
        hold["seen"] += 1
        if hold["seen"] != int(lines[0]):
            return False
    tmp = args.hold_file + ".reached.tmp"
    with open(tmp, "w") as f:
        f.write(" ".join(first.split(" ")[:2]) + "\n")
    os.replace(tmp, args.hold_file + ".reached")
    return True


def released():
    """Waits until --hold-file no longer holds the text the request now
    held was held for (--hold-release)."""
    with lock:
        spec = hold["spec"]
    while True:
        try:
            with open(args.hold_file) as f:
                now = f.read()
        except OSError:
            now = None
        if now != spec:
            return
        time.sleep(0.05)


class Conn:
    """A socket with a read buffer, for parsing HTTP/1.1 framing."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def fill(self):
        data = self.sock.recv(256 * 1024)
        if not data:
            raise EOFError("peer closed")
        self.buf += data

    def read_head(self):
        while b"\r\n\r\n" not in self.buf:
            if len(self.buf) > MAX_HEAD:
                raise ValueError("header too large")
            self.fill()
        i = self.buf.index(b"\r\n\r\n") + 4
        head, self.buf = self.buf[:i], self.buf[i:]
        return head

    def read_exact(self, n):
        while len(self.buf) < n:
            self.fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def read_line(self):
        while b"\r\n" not in self.buf:
            self.fill()
        i = self.buf.index(b"\r\n") + 2
        line, self.buf = self.buf[:i], self.buf[i:]
        return line


def parse_head(head):
    lines = head[:-4].split(b"\r\n")
    first = lines[0].decode("latin-1")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
    return first, headers


def error_response(status, reason, code, message, head_only, keep_alive=True):
    body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code>"
            "<Message>%s</Message><RequestId>fault-proxy</RequestId></Error>"
            % (code, message)).encode()
    head = ("HTTP/1.1 %d %s\r\nContent-Type: application/xml\r\n"
            "Content-Length: %d\r\nConnection: %s\r\n\r\n"
            % (status, reason, len(body), "keep-alive" if keep_alive else "close")).encode()
    return head if head_only else head + body


def reset(sock):
    """Closes with RST instead of FIN, as a crashed peer or middlebox does."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


def relay_response(up, client, method, partial=None):
    """Copies one response from upstream to client. With `partial`, sends
    only part of it and returns so that the caller can fail the rest.
    Returns whether the connection may carry another request."""
    while True:
        head = up.read_head()
        first, headers = parse_head(head)
        status = int(first.split(" ")[1])
        if 100 <= status < 200:
            client.sendall(head)
            continue
        break
    keep = headers.get("connection", "").lower() != "close"
    if method == "HEAD" or status in (204, 304):
        if partial:
            client.sendall(head[: len(head) // 2])
            return False
        client.sendall(head)
        return keep
    if "content-length" in headers:
        n = int(headers["content-length"])
        body = up.read_exact(n)
        data = head + body
        if partial:
            client.sendall(data[: max(1, len(data) // 2)])
            return False
        client.sendall(data)
        return keep
    if headers.get("transfer-encoding", "").lower() == "chunked":
        out = [head]
        while True:
            line = up.read_line()
            out.append(line)
            size = int(line.split(b";")[0], 16)
            if size == 0:
                while True:
                    trailer = up.read_line()
                    out.append(trailer)
                    if trailer == b"\r\n":
                        break
                break
            out.append(up.read_exact(size + 2))
        data = b"".join(out)
        if partial:
            client.sendall(data[: max(1, len(data) // 2)])
            return False
        client.sendall(data)
        return keep
    # Delimited by close: relay until the server closes.
    client.sendall(head + up.buf)
    while True:
        chunk = up.sock.recv(256 * 1024)
        if not chunk:
            return False
        client.sendall(chunk)


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        client = Conn(self.request)
        up = None
        try:
            while True:
                try:
                    head = client.read_head()
                except (EOFError, ConnectionError):
                    return
                first, headers = parse_head(head)
                method = first.split(" ")[0]
                count("requests")
                if args.log_file:
                    with lock:
                        with open(args.log_file, "a") as f:
                            f.write(" ".join(first.split(" ")[:2]) + "\n")
                if "chunked" in headers.get("transfer-encoding", "").lower():
                    self.request.sendall(error_response(
                        411, "Length Required", "MissingContentLength",
                        "chunked bodies are not accepted", method == "HEAD", False))
                    return
                body = client.read_exact(int(headers.get("content-length", "0")))
                if to_hold(first, body):
                    count("held")
                    if args.hold_release:
                        released()
                    else:
                        # Until the client is killed (its socket closes).
                        self.request.settimeout(300)
                        while self.request.recv(65536):
                            pass
                        return
                fault, after = draw(first)

                if fault in ("slowdown", "internal", "reset", "stall") and not after:
                    if fault == "slowdown":
                        count("slowdown")
                        self.request.sendall(error_response(
                            503, "Slow Down", "SlowDown",
                            "Please reduce your request rate.", method == "HEAD"))
                        continue
                    if fault == "internal":
                        count("internal")
                        self.request.sendall(error_response(
                            500, "Internal Server Error", "InternalError",
                            "We encountered an internal error. Please try again.",
                            method == "HEAD"))
                        continue
                    if fault == "reset":
                        count("reset")
                        reset(self.request)
                        return
                    count("stall")
                    time.sleep(args.stall)
                    reset(self.request)
                    return

                if up is None:
                    up = Conn(socket.create_connection((args.up_host, args.up_port)))
                up.sock.sendall(head + body)
                if fault is None:
                    count("forwarded")
                    if not relay_response(up, self.request, method):
                        return
                    continue
                # The server has executed the request; its answer is lost.
                if fault in ("slowdown", "internal"):
                    if not relay_response(up, _Sink(), method):
                        up.sock.close()
                        up = None
                    count(fault)
                    if fault == "slowdown":
                        self.request.sendall(error_response(
                            503, "Slow Down", "SlowDown",
                            "Please reduce your request rate.", method == "HEAD"))
                    else:
                        self.request.sendall(error_response(
                            500, "Internal Server Error", "InternalError",
                            "We encountered an internal error. Please try again.",
                            method == "HEAD"))
                    continue
                relay_response(up, self.request, method, partial=True)
                if fault == "reset":
                    count("reset")
                else:
                    count("stall")
                    time.sleep(args.stall)
                reset(self.request)
                return
        except (EOFError, ConnectionError, ValueError, OSError):
            return
        finally:
            if up is not None:
                up.sock.close()


class _Sink:
    """Swallows a response (an answer the client must never see)."""

    def sendall(self, data):
        pass


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def main():
    global args, rng
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--upstream", required=True, help="http://host:port of the S3 server")
    p.add_argument("--listen-port", type=int, default=0)
    p.add_argument("--port-file", help="where to write the port listened on")
    p.add_argument("--stats-file", help="JSON counts of what was done")
    p.add_argument("--rate", type=float, default=0.1, help="share of requests hit")
    p.add_argument("--stall", type=float, default=4.0, help="seconds a stall lasts")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--kinds", default="slowdown,internal,reset,stall")
    p.add_argument("--only", default=None,
                   help="regex over 'METHOD target': only matching requests draw faults")
    p.add_argument("--hold-file", default=None,
                   help="a file of N and REGEX: the Nth matching request is held")
    p.add_argument("--hold-release", action="store_true",
                   help="a held request is forwarded once the hold file changes")
    p.add_argument("--log-file", default=None,
                   help="every request's 'METHOD target' appended, one a line")
    args = p.parse_args()
    args.only = re.compile(args.only) if args.only else None
    args.kinds = [k for k in args.kinds.split(",") if k]
    for k in args.kinds:
        if k not in ("slowdown", "internal", "reset", "stall"):
            p.error("unknown fault kind %r" % k)
    u = urllib.parse.urlsplit(args.upstream)
    if u.scheme != "http" or not u.hostname:
        p.error("--upstream must be http://host:port")
    args.up_host, args.up_port = u.hostname, u.port or 80
    rng = random.Random(args.seed)

    server = Server(("127.0.0.1", args.listen_port), Handler)
    port = server.server_address[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.replace(tmp, args.port_file)
    print("fault_proxy: 127.0.0.1:%d -> %s, faults on %.0f%% of requests (%s)"
          % (port, args.upstream, args.rate * 100, ",".join(args.kinds)),
          file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
