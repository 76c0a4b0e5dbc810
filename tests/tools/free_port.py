# Prints a free loopback port: within TSARC_TEST_PORT_RANGE=LO-HI when it
# is set (as ci/services.sh chooses), else one above 10000.
import os, random, socket, sys

r = os.environ.get("TSARC_TEST_PORT_RANGE", "")
lo, hi = (int(x) for x in r.split("-")) if r else (0, 0)
for _ in range(5000):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", random.randint(lo, hi) if r else 0))
        port = s.getsockname()[1]
    except OSError:
        continue
    finally:
        s.close()
    if r or port > 10000:
        print(port)
        sys.exit(0)
sys.exit("no free port" + (" in " + r if r else ""))
