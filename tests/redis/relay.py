#!/usr/bin/env python3
"""A TCP relay between a Redis replica and its master that the test holds.

relay.py LISTEN_PORT TARGET_PORT CONTROL_DIR: every connection to
127.0.0.1:LISTEN_PORT is relayed to 127.0.0.1:TARGET_PORT. While the file
CONTROL_DIR/hold exists, what the master sends is kept here instead of
passed on (the replica's writes to the master, its REPLCONF ACKs, still go
through): the connection stays up, so the replica says its link is up
while it falls behind. The relay says it holds by creating
CONTROL_DIR/holding once it has seen the hold file and will pass nothing
more on, and removes it once the hold file is gone and everything kept
has been passed on. CONTROL_DIR/ready is created once it listens. Only the replication link
is held (a connection whose client has sent REPLCONF or PSYNC): another
client that reaches the master through the relay (tsarc asking the
master the replica follows) is answered.

relay.py LISTEN_PORT TARGET_PORT CONTROL_DIR pending: the same, in front
of a real Redis whose lazy frees never end: what the server sends is
passed on with "lazyfree_pending_objects:0" (INFO memory) read as ":7"
(as many bytes: a bulk reply's length holds). A real Redis frees in its
own thread, at a speed no test can pin. A pattern cut between two reads
is held back until the rest comes (the server writes a reply at once) or
the link is idle.
"""
import os
import select
import socket
import sys

listen_port, target_port, ctl = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
pending = sys.argv[4:] == ["pending"]
FROM, TO = b"lazyfree_pending_objects:0", b"lazyfree_pending_objects:7"
hold_path, holding_path = os.path.join(ctl, "hold"), os.path.join(ctl, "holding")

srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", listen_port))
srv.listen(8)
open(os.path.join(ctl, "ready"), "w").close()

pairs = {}   # socket -> its peer
kept = {}    # replica-side socket -> bytes the master sent, not passed on
upstream = set()  # the sockets to the master
links = set()     # replica-side sockets of replication links
tails = {}        # pending: client-side socket -> bytes that may begin FROM


def rewritten(peer, data):
    """pending: data for peer, FROM read as TO; a tail that may begin FROM kept."""
    data = (tails.get(peer, b"") + data).replace(FROM, TO)
    keep = next((n for n in range(min(len(FROM) - 1, len(data)), 0, -1)
                 if FROM.startswith(data[-n:])), 0)
    tails[peer] = data[len(data) - keep:] if keep else b""
    return data[:len(data) - keep]


def close(s):
    p = pairs.pop(s, None)
    for x in (s, p):
        if x is None:
            continue
        pairs.pop(x, None)
        kept.pop(x, None)
        tails.pop(x, None)
        upstream.discard(x)
        links.discard(x)
        x.close()


while True:
    held = os.path.exists(hold_path)
    if held and not os.path.exists(holding_path):
        open(holding_path, "w").close()
    if not held:
        for s, data in list(kept.items()):
            if data:
                s.sendall(data)
                kept[s] = b""
        if os.path.exists(holding_path):
            os.unlink(holding_path)
    r, _, _ = select.select([srv] + list(pairs), [], [], 0.02)
    if not r:  # idle: a tail kept is no pattern's start
        for s, data in list(tails.items()):
            if data:
                s.sendall(data)
                tails[s] = b""
    for s in r:
        if s is srv:
            c, _ = srv.accept()
            u = socket.create_connection(("127.0.0.1", target_port))
            pairs[c], pairs[u] = u, c
            kept[c] = b""
            upstream.add(u)
            continue
        if s not in pairs:
            continue
        try:
            data = s.recv(65536)
        except OSError:
            data = b""
        if not data:
            close(s)
            continue
        peer = pairs[s]
        if s not in upstream and (b"REPLCONF" in data.upper() or b"PSYNC" in data.upper()):
            links.add(s)
        if pending and s in upstream:
            data = rewritten(peer, data)
        if s in upstream and peer in links and (held or kept.get(peer)):
            kept[peer] += data
        elif data:
            peer.sendall(data)
