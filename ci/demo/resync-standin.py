#!/usr/bin/env python3
"""DEMO STAND-IN for `bundle exec rake backend:storage:enqueue_rewrite`.

The demo deployment has no system pod to run porta's rake task in. This
script does, for the demo only, what that task does: it rewrites the
service configuration that backend keeps in backend-redis db 0 from the
system database (the source of truth): services_set, service/id:{SID}/state,
metric/service_id:{SID}/id:{MID}/name, and per application
application/service_id:{SID}/id:{APP}/{state,plan_id,plan_name} and .../keys.
Usage counters (stats/...) are never touched: they exist only in backend.

  resync-standin.py ENV_FILE    (the demo's services env file: ports and
                                 passwords, read from the file, not argv)
"""
import os, shlex, subprocess, sys


def load_env(path):
    env = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if "=" in line and not line.startswith("#"):
                k, v = line.split("=", 1)
                env[k] = shlex.split(v)[0] if v else ""
    return env


def resp(*args):
    out = [f"*{len(args)}\r\n"]
    for a in args:
        b = str(a).encode()
        out.append(f"${len(b)}\r\n")
        out.append(b.decode() + "\r\n")
    return "".join(out)


env = load_env(sys.argv[1])
menv = dict(os.environ, MYSQL_PWD=env["MYSQL_ROOT_PASSWORD"])
def q(sql):
    r = subprocess.run(["mariadb", "--no-defaults", "-uroot", "-h127.0.0.1", f"-P{env['MYSQL_PORT']}",
                        "-N", "-B", "system", "-e", sql], env=menv, check=True, capture_output=True, text=True)
    return [l.split("\t") for l in r.stdout.splitlines() if l]

cmds = [resp("SELECT", 0)]
services = q("SELECT id FROM services ORDER BY id")
for (sid,) in services:
    cmds.append(resp("SADD", "services_set", sid))
    cmds.append(resp("SET", f"service/id:{sid}/state", "active"))
for mid, sid, name in q("SELECT id, service_id, system_name FROM metrics ORDER BY id"):
    cmds.append(resp("SET", f"metric/service_id:{sid}/id:{mid}/name", name))
for app, sid, plan, pname in q("SELECT c.id, c.service_id, c.plan_id, p.name FROM cinstances c "
                                "JOIN plans p ON p.id = c.plan_id ORDER BY c.id"):
    base = f"application/service_id:{sid}/id:{app}"
    cmds.append(resp("SET", f"{base}/state", "active"))
    cmds.append(resp("SET", f"{base}/plan_id", plan))
    cmds.append(resp("SET", f"{base}/plan_name", pname))
for app, sid, value in q("SELECT k.application_id, c.service_id, k.value FROM application_keys k "
                         "JOIN cinstances c ON c.id = k.application_id ORDER BY k.id"):
    cmds.append(resp("SADD", f"application/service_id:{sid}/id:{app}/keys", value))
renv = dict(os.environ, REDISCLI_AUTH=env.get("REDIS_BACKEND_REDIS_PASSWORD", ""))
subprocess.run(["redis-cli", "-p", env["REDIS_BACKEND_REDIS_PORT"], "--pipe"], input="".join(cmds).encode(),
               env=renv, check=True, stdout=subprocess.DEVNULL)
print(f"demo stand-in: rewrote {len(services)} services into backend-redis")
