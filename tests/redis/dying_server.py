#!/usr/bin/env python3
# A test double for redis-server, for one moment only real timing decides:
# the private server accepts a connection on its socket and then dies on
# an RDB it cannot load. A real redis-server listens before it loads, so a
# loaded machine hits this; the double makes it happen every time. It reads
# the socket and log paths from the configuration tsarc wrote, accepts one
# client, logs what a real server logs, drops the client and exits 1.
import os, re, socket, sys

conf = open(sys.argv[1]).read()
sock_path = re.search(r'^unixsocket (.+)$', conf, re.M).group(1)
log_path = re.search(r'^logfile (.+)$', conf, re.M).group(1)
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sock_path)
s.listen(1)
c, _ = s.accept()
c.recv(64)
with open(log_path, 'a') as log:
    log.write('# Short read or OOM loading DB. Unrecoverable error, aborting now.\n')
c.close()
s.close()
os.unlink(sock_path)
sys.exit(1)
