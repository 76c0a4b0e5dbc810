#!/usr/bin/env python3
"""A TCP relay in front of a real Redis whose lazy frees never end.

pending_relay.py LISTEN_PORT TARGET_PORT READY_FILE: every connection to
127.0.0.1:LISTEN_PORT is relayed to the Redis at 127.0.0.1:TARGET_PORT,
which does all the work; only what INFO memory says of its background
frees is changed, "lazyfree_pending_objects:0" read as ":7" (as many
bytes: the bulk reply's length holds). A real Redis frees in its own
thread, at a speed no test can pin: this is a target whose frees are
still pending however long a restore waits. READY_FILE is created once
it listens. A pattern cut between two reads is held back until the rest
comes (the server writes a reply at once) or the link is idle.
"""
import select
import socket
import sys

FROM, TO = b"lazyfree_pending_objects:0", b"lazyfree_pending_objects:7"
listen_port, target_port, ready = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", listen_port))
srv.listen(16)
open(ready, "w").close()

peer, upstream, held = {}, set(), {}


def close(s):
    p = peer.pop(s, None)
    for x in (s, p):
        if x is not None:
            peer.pop(x, None)
            upstream.discard(x)
            held.pop(x, None)
            x.close()


def tail_kept(data):
    """How many of data's last bytes may begin FROM."""
    for n in range(min(len(FROM) - 1, len(data)), 0, -1):
        if FROM.startswith(data[-n:]):
            return n
    return 0


while True:
    r, _, _ = select.select([srv] + list(peer), [], [], 0.05)
    if not r:
        for s, data in list(held.items()):
            if data:
                peer[s].sendall(data)
            held[s] = b""
        continue
    for s in r:
        if s is srv:
            c, _ = srv.accept()
            u = socket.create_connection(("127.0.0.1", target_port))
            peer[c], peer[u] = u, c
            upstream.add(u)
            held[u] = b""
            continue
        if s not in peer:
            continue
        try:
            data = s.recv(65536)
        except OSError:
            data = b""
        if not data:
            close(s)
            continue
        if s in upstream:
            data = (held[s] + data).replace(FROM, TO)
            keep = tail_kept(data)
            held[s] = data[len(data) - keep:] if keep else b""
            data = data[:len(data) - keep]
        if data:
            peer[s].sendall(data)
