# A MySQL server that is none: it offers no TLS and asks the client for
# its password in clear (mysql_clear_password, first in the handshake,
# then again by an auth switch), writes what the client sent to OUT and
# refuses the login. What someone between a client and its server can do
# where the client goes on without TLS.
# usage: fake_mysql_clear.py PORT OUT READY_FILE
import socket, struct, sys

port, out, ready = int(sys.argv[1]), sys.argv[2], sys.argv[3]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port))
s.listen(4)
open(ready, "w").close()
s.settimeout(60)
got = b""
while True:
    try:
        c, _ = s.accept()
    except socket.timeout:
        break
    c.settimeout(5)

    def pkt(seq, payload):
        c.sendall(struct.pack("<I", len(payload))[:3] + bytes([seq & 255]) + payload)

    def rd():
        h = c.recv(4, socket.MSG_WAITALL)
        if len(h) < 4:
            raise EOFError
        n = h[0] | h[1] << 8 | h[2] << 16
        return h[3], c.recv(n, socket.MSG_WAITALL)

    # LONG_PASSWORD, CONNECT_WITH_DB, PROTOCOL_41, SECURE_CONNECTION,
    # PLUGIN_AUTH, PLUGIN_AUTH_LENENC_CLIENT_DATA; no SSL.
    caps = 0x1 | 0x8 | 0x200 | 0x8000 | 0x80000 | 0x200000
    scramble = b"abcdefghijklmnopqrst"
    hello = (bytes([10]) + b"5.7.44\0" + struct.pack("<I", 1) + scramble[:8] + b"\0" +
             struct.pack("<H", caps & 0xffff) + bytes([33]) + struct.pack("<H", 2) +
             struct.pack("<H", caps >> 16) + bytes([21]) + b"\0" * 10 + scramble[8:] + b"\0" +
             b"mysql_clear_password\0")
    try:
        pkt(0, hello)
        seq, resp = rd()
        got += resp
        pkt(seq + 1, b"\xfe" + b"mysql_clear_password\0")
        seq, resp = rd()
        got += resp
        pkt(seq + 1, b"\xff" + struct.pack("<H", 1045) + b"#28000Access denied")
    except (EOFError, OSError):
        pass
    c.close()
    with open(out, "wb") as f:
        f.write(got)
