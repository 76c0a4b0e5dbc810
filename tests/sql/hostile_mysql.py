# A test double of a hostile MySQL server: someone on the path to the
# database (or an endpoint a configuration names) who answers the
# handshake as an ordinary server, then asks for the password in clear (an auth switch to
# mysql_clear_password, or to dialog with a password question: both make
# the client send the password itself), writes everything the client sent
# to OUT and refuses the login. With --tls CERT KEY it offers TLS first
# (a client that does not check the certificate takes it), else none.
# usage: hostile_mysql.py PORT OUT READY_FILE [--plugin NAME] [--tls CERT KEY]
import socket, ssl, struct, sys

args = sys.argv[1:]
port, out, ready = int(args[0]), args[1], args[2]
plugin, tls = "mysql_clear_password", None
rest = args[3:]
while rest:
    if rest[0] == "--plugin":
        plugin, rest = rest[1], rest[2:]
    elif rest[0] == "--tls":
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(rest[1], rest[2])
        rest = rest[3:]
    else:
        sys.exit("unknown argument " + rest[0])
# What the switch carries after the plugin's name: dialog's first question
# (4: a password question, |1: the last one).
switch_data = b"\x05Password: " if plugin == "dialog" else b""

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

    def recv_all(n):
        data = b""
        while len(data) < n:
            part = c.recv(n - len(data))
            if not part:
                raise EOFError
            data += part
        return data

    def rd():
        h = recv_all(4)
        n = h[0] | h[1] << 8 | h[2] << 16
        return h[3], recv_all(n)

    # LONG_PASSWORD, CONNECT_WITH_DB, PROTOCOL_41, SECURE_CONNECTION,
    # PLUGIN_AUTH, PLUGIN_AUTH_LENENC_CLIENT_DATA; SSL with --tls.
    caps = 0x1 | 0x8 | 0x200 | 0x8000 | 0x80000 | 0x200000 | (0x800 if tls else 0)
    scramble = b"abcdefghijklmnopqrst"
    hello = (bytes([10]) + b"5.7.44\0" + struct.pack("<I", 1) + scramble[:8] + b"\0" +
             struct.pack("<H", caps & 0xffff) + bytes([33]) + struct.pack("<H", 2) +
             struct.pack("<H", caps >> 16) + bytes([21]) + b"\0" * 10 + scramble[8:] + b"\0" +
             b"mysql_native_password\0")
    try:
        pkt(0, hello)
        seq, resp = rd()
        # A 32-byte answer with CLIENT_SSL set is an SSL request: TLS, then
        # the real answer.
        if tls and len(resp) == 32 and struct.unpack("<I", resp[:4])[0] & 0x800:
            c = tls.wrap_socket(c, server_side=True)
            seq, resp = rd()
        got += resp
        pkt(seq + 1, b"\xfe" + plugin.encode() + b"\0" + switch_data)
        seq, resp = rd()
        got += resp
        pkt(seq + 1, b"\xff" + struct.pack("<H", 1045) + b"#28000Access denied")
    except (EOFError, OSError, ssl.SSLError):
        pass
    c.close()
    with open(out, "wb") as f:
        f.write(got)
