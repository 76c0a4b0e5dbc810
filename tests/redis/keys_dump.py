"""Prints every key of every database of the Redis on 127.0.0.1:PORT with
its type, absolute expiry and value, one line per key, sorted; binary-safe
(keys and values repr'd). The admin password comes from REDIS_PW.
KEYS_DUMP_ACROSS=1: what servers of every version show alike, to compare a
Redis 6 with a newer one: whether a key expires (Redis 6 has no
PEXPIRETIME, and a TTL moves while the test runs), a stream without what
Redis 7 added (its first and max deleted IDs, entries added and read, a
group's lag, a consumer's inactive and active times)."""
import os
import socket
import sys


class Redis:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.f = self.s.makefile("rb")
        self.cmd(b"AUTH", os.environ["REDIS_PW"].encode())

    def cmd(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.s.sendall(out)
        return self.read()

    def read(self):
        line = self.f.readline()[:-2]
        t, rest = line[:1], line[1:]
        if t in (b"+", b"-"):
            if t == b"-":
                raise RuntimeError(rest.decode())
            return rest
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.f.read(n + 2)[:-2]
            return data
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self.read() for _ in range(n)]
        raise RuntimeError("bad reply %r" % line)


ACROSS = os.environ.get("KEYS_DUMP_ACROSS") == "1"


def value(r, k, t):
    if t == b"string":
        return r.cmd(b"GET", k)
    if t == b"hash":
        return sorted(r.cmd(b"HGETALL", k))
    if t == b"list":
        return r.cmd(b"LRANGE", k, 0, -1)
    if t == b"set":
        return sorted(r.cmd(b"SMEMBERS", k))
    if t == b"zset":
        return r.cmd(b"ZRANGE", k, 0, -1, b"WITHSCORES")
    if t == b"stream":
        info = r.cmd(b"XINFO", b"STREAM", k, b"FULL")
        # Times of last delivery and activity are the server's clock.
        drop = (b"seen-time", b"active-time")
        if ACROSS:
            drop += (b"recorded-first-entry-id", b"max-deleted-entry-id", b"entries-added",
                     b"entries-read", b"lag", b"inactive")
        def clean(x):
            if isinstance(x, list):
                out, skip = [], False
                for i, e in enumerate(x):
                    if skip:
                        skip = False
                        continue
                    if e in drop:
                        skip = True
                        continue
                    out.append(clean(e))
                return out
            return x
        return clean(info)
    return r.cmd(b"DUMP", k)


def main():
    r = Redis(int(sys.argv[1]))
    lines = []
    dbs = int(r.cmd(b"CONFIG", b"GET", b"databases")[1])
    for db in range(dbs):
        r.cmd(b"SELECT", db)
        cursor = b"0"
        keys = set()
        while True:
            cursor, batch = r.cmd(b"SCAN", cursor, b"COUNT", 1000)
            keys.update(batch)
            if cursor == b"0":
                break
        for k in sorted(keys):
            t = r.cmd(b"TYPE", k)
            # Absolute expiry: restored exactly (RESTORE ... ABSTTL, an RDB), and
            # unlike a TTL it does not move while the test runs.
            at = (r.cmd(b"PTTL", k) > 0) if ACROSS else r.cmd(b"PEXPIRETIME", k)
            lines.append("db%d %r %s expires=%s %r" % (db, k, t.decode(), at, value(r, k, t)))
    print("\n".join(lines))


main()
