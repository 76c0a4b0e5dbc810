# A test double of a hostile MySQL server: someone on the path to the
# database (or an endpoint a configuration names) who answers the
# handshake as an ordinary server, then switches the login to a plugin that
# can give it the password, writes everything the client sent to OUT and
# refuses the login:
#  - mysql_clear_password, or dialog with a password question: the client
#    sends the password itself;
#  - caching_sha2_password: after the client's scramble the double asks
#    for "full authentication" (0x01 0x04), as a server whose cache does not
#    hold the account does; the client then sends the password as is when
#    it believes the channel secure, else asks for the server's public key;
#  - sha256_password: the client sends the password as is over TLS, else
#    asks for the public key.
# A client that asks for the key is sent the double's own (an RSA key made
# for the run, OUT.rsa); what it encrypts to it is decrypted and the
# password found there appended to OUT too. OUT.steps lists what happened,
# one word a line: answer (the client answered the switch with something),
# key-request, decrypted. With --tls CERT KEY it offers TLS first (a client
# that does not check the certificate takes it), else none. With --unix
# PATH it listens on that Unix socket instead of PORT. With --slow-save
# SECONDS each save of OUT waits that long before its record is whole, as
# a loaded machine may leave the double unscheduled there (while the test,
# its client done, stops it).
# usage: hostile_mysql.py PORT OUT READY_FILE [--plugin NAME] [--tls CERT KEY] [--unix PATH]
#                         [--slow-save SECONDS]
import os, socket, ssl, struct, subprocess, sys, time

args = sys.argv[1:]
port, out, ready = int(args[0]), args[1], args[2]
plugin, tls, unix, slow_save = "mysql_clear_password", None, None, 0.0
rest = args[3:]
while rest:
    if rest[0] == "--plugin":
        plugin, rest = rest[1], rest[2:]
    elif rest[0] == "--tls":
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(rest[1], rest[2])
        rest = rest[3:]
    elif rest[0] == "--unix":
        unix, rest = rest[1], rest[2:]
    elif rest[0] == "--slow-save":
        slow_save, rest = float(rest[1]), rest[2:]
    else:
        sys.exit("unknown argument " + rest[0])
# What the switch carries after the plugin's name: dialog's first question
# (4: a password question, |1: the last one); the SHA-256 plugins' scramble.
scramble = b"abcdefghijklmnopqrst"
sha = plugin in ("caching_sha2_password", "sha256_password")
switch_data = {"dialog": b"\x05Password: "}.get(plugin, scramble + b"\0" if sha else b"")
if sha:
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                    "rsa_keygen_bits:2048", "-out", out + ".rsa"], check=True,
                   stderr=subprocess.DEVNULL)
    pubkey = subprocess.run(["openssl", "pkey", "-in", out + ".rsa", "-pubout"], check=True,
                            stdout=subprocess.PIPE).stdout
got, steps = b"", []


def save():
    """What the client sent, and the steps, to OUT and OUT.steps: before
    the last answer too, so that a client that ends on it (and a test that
    then stops the double) finds them. Each file is written whole beside
    its name and renamed over it: the test stops the double whenever its
    client is done, maybe in the middle of a save after the last answer,
    and then finds the save before it, not a truncated file."""
    for name, data in ((out + ".steps", "".join(w + "\n" for w in steps).encode()),
                       (out, got)):
        with open(name + ".tmp", "wb") as f:
            f.write(data)
            time.sleep(slow_save)
        os.replace(name + ".tmp", name)


def decrypt(blob):
    """The password in `blob`: RSA-OAEP to the double's key of the password
    and its NUL, XORed with the scramble."""
    p = subprocess.run(["openssl", "pkeyutl", "-decrypt", "-inkey", out + ".rsa",
                        "-pkeyopt", "rsa_padding_mode:oaep"], input=blob,
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    if p.returncode != 0:
        return b""
    return bytes(b ^ scramble[i % 20] for i, b in enumerate(p.stdout)).rstrip(b"\0")


if unix:
    s = socket.socket(socket.AF_UNIX)
    s.bind(unix)
else:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
s.listen(4)
open(ready, "w").close()
s.settimeout(60)
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
        # A client that cannot load the plugin sends an empty packet.
        if resp:
            steps.append("answer")
        if plugin == "caching_sha2_password":
            # The account is not in the server's cache: full authentication.
            pkt(seq + 1, b"\x01\x04")
            seq, resp = rd()
            got += resp
        # The public key request: 0x02 (caching_sha2_password), 0x01
        # (sha256_password); the key goes in an "auth more data" packet.
        if sha and resp == (b"\x02" if plugin == "caching_sha2_password" else b"\x01"):
            steps.append("key-request")
            pkt(seq + 1, b"\x01" + pubkey)
            seq, resp = rd()
            got += resp
            pw = decrypt(resp)
            if pw:
                steps.append("decrypted")
                got += b"\n" + pw
        save()
        pkt(seq + 1, b"\xff" + struct.pack("<H", 1045) + b"#28000Access denied")
    except (EOFError, OSError, ssl.SSLError):
        pass
    c.close()
    save()
