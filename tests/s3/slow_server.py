#!/usr/bin/env python3
"""An S3 endpoint that never answers in time, to prove tsarc gives up.

    slow_server.py --mode stall|trickle --port-file F [--max-seconds 600]

stall:   reads each request and then stays silent, the connection open.
trickle: answers 200 with a Content-Length of 1 MB (at once to a HEAD), then
         sends the body one byte every 250 ms (4 bytes/s) for as long as
         the client listens.

Listens on 127.0.0.1 only, on a free port written to the port file; exits
after --max-seconds so that it never outlives a test. Standard library only.
"""
import argparse
import os
import socket
import socketserver
import threading
import time


HEAD = (b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n"
        b"Content-Type: application/octet-stream\r\n\r\n")


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        sock = self.request
        buf = b""
        while True:
            while b"\r\n\r\n" not in buf:
                data = sock.recv(65536)
                if not data:
                    return
                buf += data
            head, buf = buf.split(b"\r\n\r\n", 1)
            if ARGS.mode == "stall":
                # Silent until the client hangs up.
                while sock.recv(65536):
                    pass
                return
            sock.sendall(HEAD)
            if not head.startswith(b"HEAD "):
                break
        # The body, one byte at a time: a trickle well above curl's 1 byte/s
        # stall floor, which alone never ended it.
        sock.settimeout(0.25)
        while True:
            try:
                if not sock.recv(65536):
                    return
            except socket.timeout:
                pass
            try:
                sock.sendall(b"x")
            except OSError:
                return


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--mode", choices=["stall", "trickle"], required=True)
    p.add_argument("--port-file", required=True)
    p.add_argument("--max-seconds", type=float, default=600)
    ARGS = p.parse_args()
    srv = Server(("127.0.0.1", 0), Handler)
    tmp = ARGS.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.replace(tmp, ARGS.port_file)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    time.sleep(ARGS.max_seconds)


ARGS = None
if __name__ == "__main__":
    main()
