#!/usr/bin/env python3
"""Generates the data of a 3scale-like deployment, deterministically.

Writes into OUT:
  system-data.sql     rows for the `system` database (MariaDB, after system-schema.sql)
  zync.sql            the `zync_production` database (PostgreSQL)
  backend-redis.resp  backend-redis keys: db 0 service/application config, stats/{service:N}
                      usage counters, events, errors; db 1 resque queues (redis-cli --pipe)
  system-redis.resp   system-redis db 1: sidekiq queues, cron jobs, webhook failures
  system-storage/     CMS files, invoice PDFs and logos, modes and mtimes set
  resources/          the 13 Secrets and 7 ConfigMaps of the 3scale procedure and the
                      APIManager, as `kubectl get -o json` prints them (with the
                      server-owned metadata a backup must strip)
  config.json         a tsarc config for this deployment (local transport)

--layout 2.16: the Secrets as the 3scale 2.16 operator writes them for external
databases (TLS material as PEM contents, ACL users, Sentinel), no ConfigMaps of the
internal databases, the APIManager's externalComponents, and a config that says
nothing about where the databases are (see deployment.sh).

Scale 1 is a demo (a few MB); the benchmark asks for more (--scale 300 is about 1 GiB).
Connection details come from the environment written by ci/services.sh.
"""
import argparse, base64, hashlib, json, os, random

p = argparse.ArgumentParser()
p.add_argument("out")
p.add_argument("--scale", type=int, default=1)
p.add_argument("--namespace", default="3scale")
p.add_argument("--layout", choices=("2.15", "2.16"), default="2.15")
p.add_argument("--db-factor", type=int, default=1, help="multiplies the bulky system tables (benchmark)")
a = p.parse_args()
S = max(1, a.scale)
out = a.out
os.makedirs(out, exist_ok=True)
env = os.environ
rnd = random.Random(2026)


def w(name, text):
    with open(os.path.join(out, name), "w", encoding="utf-8") as f:
        f.write(text)


# ---------------------------------------------------------------- system (MariaDB)
# Server-side generation from MariaDB's Sequence engine (seq_1_to_N):
# fast, and deterministic (no RAND()).
napps = 200 * S
naudits = 2000 * S * a.db_factor
nconfigs = 20 * S * a.db_factor
nevents = 1000 * S
sql = f"""SET NAMES utf8mb4;
SET @now = '2026-11-20 10:00:00';
INSERT INTO accounts (id, org_name, domain, self_domain, provider, master, provider_account_id, state, created_at, updated_at)
  VALUES (1, 'Master Account', 'master.example.com', 'master.example.com', 0, 1, NULL, 'approved', @now, @now);
INSERT INTO accounts (id, tenant_id, org_name, domain, self_domain, provider, master, provider_account_id, state, created_at, updated_at)
  SELECT 1 + seq, 1 + seq, CONCAT('Provider ', seq, ' Ñandú Café'), CONCAT('provider', seq, '.example.com'),
         CONCAT('provider', seq, '-admin.example.com'), 1, 0, 1, 'approved', @now, @now FROM seq_1_to_3;
INSERT INTO accounts (org_name, provider_account_id, state, billing_address_name, created_at, updated_at)
  SELECT CONCAT('Developer ', seq, ' — Größe'), 2 + seq % 3, 'approved', CONCAT('Billing ', seq), @now, @now
  FROM seq_1_to_{50 * S};
INSERT INTO users (account_id, username, email, crypted_password, role, state, created_at, updated_at)
  SELECT id, CONCAT('user', id), CONCAT('user', id, '@example.com'), SHA2(CONCAT('pw', id), 256), 'admin', 'active', @now, @now
  FROM accounts;
INSERT INTO services (account_id, name, system_name, description, state, created_at, updated_at)
  SELECT 2 + seq % 3, CONCAT('API ', seq), CONCAT('api_', seq), REPEAT('An API of the demo. ', 10), 'incomplete', @now, @now
  FROM seq_0_to_8;
INSERT INTO plans (issuer_id, issuer_type, name, type, state, cost_per_month, system_name, created_at, updated_at)
  SELECT s.id, 'Service', CONCAT(n.name, ' plan'), 'ApplicationPlan', 'published', n.cost, LOWER(n.name), @now, @now
  FROM services s JOIN (SELECT 'Basic' AS name, 0 AS cost UNION ALL SELECT 'Premium', 99.5) n;
INSERT INTO cinstances (plan_id, user_account_id, user_key, application_id, state, name, description, service_id, created_at, updated_at)
  SELECT p.id, 5 + seq % {50 * S}, MD5(CONCAT('uk', seq)), SUBSTR(MD5(CONCAT('app', seq)), 1, 8), 'live',
         CONCAT('App ', seq), 'Generated application', p.issuer_id, @now, @now
  FROM seq_1_to_{napps} JOIN plans p ON p.id = 1 + seq % 18;
INSERT INTO application_keys (application_id, value, created_at, updated_at)
  SELECT id, MD5(CONCAT('key', id)), @now, @now FROM cinstances;
INSERT INTO metrics (service_id, system_name, unit, friendly_name, owner_id, owner_type, created_at, updated_at)
  SELECT s.id, m.name, 'hit', m.name, s.id, 'Service', @now, @now
  FROM services s JOIN (SELECT 'hits' AS name UNION ALL SELECT 'search' UNION ALL SELECT 'upload') m;
INSERT INTO usage_limits (metric_id, period, value, plan_id, plan_type, created_at, updated_at)
  SELECT m.id, 'day', 1000, p.id, 'Plan', @now, @now FROM metrics m JOIN plans p ON p.issuer_id = m.service_id;
INSERT INTO proxies (service_id, endpoint, api_backend, sandbox_endpoint, policies_config, created_at, updated_at)
  SELECT id, CONCAT('https://api-', id, '.example.com:443'), 'https://echo-api.3scale.net:443',
         CONCAT('https://api-', id, '-staging.example.com:443'), '[{{"name":"apicast","version":"builtin","configuration":{{}},"enabled":true}}]', @now, @now
  FROM services;
INSERT INTO proxy_rules (proxy_id, http_method, pattern, metric_id, delta, position, created_at, updated_at)
  SELECT p.id, 'GET', CONCAT('/v', seq, '/'), NULL, 1, seq, @now, @now FROM proxies p JOIN seq_1_to_4;
INSERT INTO proxy_configs (proxy_id, version, environment, content, hosts, created_at, updated_at)
  SELECT 1 + seq % 9, seq, IF(seq % 2, 'sandbox', 'production'),
         CONCAT('{{"proxy":{{"hosts":["api.example.com"],"policy_chain":"', REPEAT(MD5(seq), 1500 + seq % 3000), '"}}}}'),
         '["api.example.com"]', @now, @now
  FROM seq_1_to_{nconfigs};
INSERT INTO backend_apis (account_id, name, system_name, description, private_endpoint, created_at, updated_at)
  SELECT 2 + seq % 3, CONCAT('Backend ', seq), CONCAT('backend_', seq), 'A backend', 'https://echo-api.3scale.net:443', @now, @now
  FROM seq_1_to_6;
INSERT INTO cms_templates (provider_id, system_name, published, draft, type, path, created_at, updated_at)
  SELECT 2 + seq % 3, CONCAT('page_', seq), REPEAT(CONCAT('<p>Page ', seq, ' — ¡hola!</p>'), 40), NULL, 'CMS::Page', CONCAT('/page', seq), @now, @now
  FROM seq_1_to_{30 * S};
INSERT INTO cms_files (provider_id, path, attachment_file_name, attachment_content_type, attachment_file_size, random_secret, created_at, updated_at)
  SELECT 2 + seq % 3, CONCAT('/files/file', seq, '.css'), CONCAT('file', seq, '.css'), 'text/css', 1000 + seq, SUBSTR(MD5(seq), 1, 16), @now, @now
  FROM seq_1_to_{30 * S};
INSERT INTO access_tokens (owner_id, owner_type, value, name, scopes, permission, created_at, updated_at)
  SELECT id, 'User', SHA2(CONCAT('token', id), 256), 'token', '---\\n- account_management\\n', 'rw', @now, @now FROM users;
INSERT INTO audits (tenant_id, auditable_id, auditable_type, user_id, action, audited_changes, version, provider_id, kind, request_uuid, created_at)
  SELECT 2 + seq % 3, seq, 'Cinstance', 1, 'update',
         CONCAT('---\\nstate:\\n- pending\\n- live\\nnote: ', REPEAT(SHA2(seq, 256), 12)), 1, 2 + seq % 3, 'Cinstance',
         MD5(CONCAT('req', seq)), @now
  FROM seq_1_to_{naudits};
INSERT INTO event_store_events (tenant_id, stream, event_type, event_id, metadata, data, provider_id, created_at)
  SELECT 2 + seq % 3, CONCAT('Cinstance$', seq), 'Applications::ApplicationCreatedEvent', MD5(CONCAT('ev', seq)),
         '{{}}', CONCAT('{{"application":', seq, ',"note":"emoji 🚀 ok","pad":"', REPEAT('x', 400), '"}}'), 2 + seq % 3, @now
  FROM seq_1_to_{nevents};
INSERT INTO log_entries (tenant_id, provider_id, buyer_id, level, description, created_at, updated_at)
  SELECT 2 + seq % 3, 2 + seq % 3, 5 + seq % 50, 10, CONCAT('Application ', seq, ' created'), @now, @now FROM seq_1_to_{nevents};
INSERT INTO invoices (provider_account_id, buyer_account_id, period, state, currency, created_at, updated_at)
  SELECT 2 + seq % 3, 5 + seq % 50, '2026-10-01', 'paid', 'EUR', @now, @now FROM seq_1_to_{20 * S};
INSERT INTO line_items (invoice_id, name, description, cost, created_at, updated_at)
  SELECT id, 'Fixed fee', 'Premium plan', 99.5, @now, @now FROM invoices;
INSERT INTO messages (sender_id, subject, body, state, type, created_at, updated_at)
  SELECT 2 + seq % 3, CONCAT('Welcome ', seq), REPEAT('Welcome to the portal. ', 8), 'sent', 'Message', @now, @now FROM seq_1_to_{40 * S};
INSERT INTO alerts (account_id, timestamp, state, cinstance_id, utilization, level, alert_id, message, created_at, updated_at, service_id)
  SELECT 5 + seq % 50, @now, 'unread', seq, 80.5, 80, seq, 'hits per day: 805 of 1000', @now, @now, 1 + seq % 9 FROM seq_1_to_{20 * S};
INSERT INTO settings (account_id, bg_colour, link_colour, welcome_text, created_at, updated_at)
  SELECT id, '#ffffff', '#3366cc', 'Welcome!', @now, @now FROM accounts WHERE provider = 1 OR master = 1;
CALL sp_invoices_friendly_id(1, @fid);
CALL sp_invoices_friendly_id(2, @fid);
"""
w("system-data.sql", sql)

# ---------------------------------------------------------------- zync (PostgreSQL)
zync = f"""
CREATE TABLE tenants (id bigserial PRIMARY KEY, endpoint varchar NOT NULL, access_token varchar NOT NULL,
  created_at timestamp NOT NULL, updated_at timestamp NOT NULL);
CREATE TABLE models (id bigserial PRIMARY KEY, tenant_id bigint NOT NULL REFERENCES tenants(id),
  record_type varchar NOT NULL, record_id bigint NOT NULL, created_at timestamp NOT NULL, updated_at timestamp NOT NULL);
CREATE TABLE entries (id bigserial PRIMARY KEY, data jsonb, tenant_id bigint NOT NULL REFERENCES tenants(id),
  model_id bigint NOT NULL REFERENCES models(id), created_at timestamp NOT NULL, updated_at timestamp NOT NULL);
CREATE TABLE integrations (id bigserial PRIMARY KEY, configuration jsonb, type varchar NOT NULL,
  tenant_id bigint REFERENCES tenants(id), model_id bigint REFERENCES models(id), state varchar NOT NULL DEFAULT 'active',
  created_at timestamp NOT NULL, updated_at timestamp NOT NULL);
CREATE TABLE integration_states (id bigserial PRIMARY KEY, started_at timestamp, finished_at timestamp, success boolean,
  model_id bigint NOT NULL, integration_id bigint NOT NULL, tenant_id bigint, created_at timestamp NOT NULL, updated_at timestamp NOT NULL);
CREATE TABLE update_states (id bigserial PRIMARY KEY, started_at timestamp, finished_at timestamp, success boolean NOT NULL DEFAULT false,
  model_id bigint NOT NULL, created_at timestamp NOT NULL, updated_at timestamp NOT NULL);
CREATE TABLE notifications (id bigserial PRIMARY KEY, model_id bigint NOT NULL, data jsonb NOT NULL, tenant_id bigint NOT NULL,
  created_at timestamp NOT NULL, updated_at timestamp NOT NULL);
CREATE TABLE applications (id bigserial PRIMARY KEY, tenant_id bigint NOT NULL, service_id bigint, created_at timestamp NOT NULL, updated_at timestamp NOT NULL);
CREATE TABLE clients (id bigserial PRIMARY KEY, tenant_id bigint NOT NULL, client_id varchar, created_at timestamp NOT NULL, updated_at timestamp NOT NULL);
CREATE TABLE services (id bigserial PRIMARY KEY, tenant_id bigint NOT NULL, created_at timestamp NOT NULL, updated_at timestamp NOT NULL);
CREATE TABLE proxies (id bigserial PRIMARY KEY, tenant_id bigint NOT NULL, service_id bigint, created_at timestamp NOT NULL, updated_at timestamp NOT NULL);
CREATE TABLE providers (id bigserial PRIMARY KEY, tenant_id bigint NOT NULL, created_at timestamp NOT NULL, updated_at timestamp NOT NULL);
CREATE TABLE metrics (id bigserial PRIMARY KEY, tenant_id bigint NOT NULL, service_id bigint, created_at timestamp NOT NULL, updated_at timestamp NOT NULL);
CREATE TABLE usage_limits (id bigserial PRIMARY KEY, tenant_id bigint NOT NULL, metric_id bigint, plan_id bigint, created_at timestamp NOT NULL, updated_at timestamp NOT NULL);
CREATE UNLOGGED TABLE que_jobs (priority smallint NOT NULL DEFAULT 100, run_at timestamptz NOT NULL DEFAULT now(), id bigserial PRIMARY KEY,
  job_class text NOT NULL, error_count integer NOT NULL DEFAULT 0, last_error_message text, queue text NOT NULL DEFAULT 'default',
  args jsonb NOT NULL DEFAULT '[]');
CREATE UNLOGGED TABLE que_values (key text PRIMARY KEY, value jsonb NOT NULL DEFAULT '{{}}');
CREATE UNLOGGED TABLE que_lockers (pid integer PRIMARY KEY, worker_count integer NOT NULL, queues text[] NOT NULL);
CREATE TABLE message_bus (id bigserial PRIMARY KEY, channel text NOT NULL, value text NOT NULL, added_at timestamp NOT NULL DEFAULT now(),
  -- a string that ends in a backslash: the restore's psql must read it with standard_conforming_strings on
  origin text NOT NULL DEFAULT 'C:\\');
INSERT INTO tenants (id, endpoint, access_token, created_at, updated_at)
  SELECT g, 'https://provider' || g || '-admin.example.com', md5('t' || g), '2026-11-20', '2026-11-20' FROM generate_series(1, 3) g;
INSERT INTO models (tenant_id, record_type, record_id, created_at, updated_at)
  SELECT 1 + g % 3, 'Application', g, '2026-11-20', '2026-11-20' FROM generate_series(1, {200 * S}) g;
INSERT INTO entries (data, tenant_id, model_id, created_at, updated_at)
  SELECT jsonb_build_object('id', g, 'name', 'App ' || g, 'client_secret', md5('s' || g), 'redirect_url', 'https://app' || g || '.example.com/cb'),
         1 + g % 3, g, '2026-11-20', '2026-11-20' FROM generate_series(1, {200 * S}) g;
INSERT INTO integrations (configuration, type, tenant_id, state, created_at, updated_at)
  SELECT jsonb_build_object('endpoint', 'https://sso.example.com/auth/realms/r' || g), 'Integration::Keycloak', g, 'active', '2026-11-20', '2026-11-20'
  FROM generate_series(1, 3) g;
INSERT INTO applications (tenant_id, service_id, created_at, updated_at) SELECT 1 + g % 3, 1 + g % 9, '2026-11-20', '2026-11-20' FROM generate_series(1, {200 * S}) g;
INSERT INTO que_jobs (job_class, args) SELECT 'ProcessEntryJob', jsonb_build_array(g) FROM generate_series(1, 20) g;
INSERT INTO message_bus (channel, value) SELECT '/zync', 'v' || g FROM generate_series(1, 50) g;
"""
w("zync.sql", zync)


# ---------------------------------------------------------------- Redis (RESP for redis-cli --pipe)
def resp(*args):
    parts = [f"*{len(args)}\r\n"]
    for x in args:
        b = str(x)
        parts.append(f"${len(b.encode())}\r\n{b}\r\n")
    return "".join(parts)


r = [resp("SELECT", 0)]
for sid in range(1, 10):
    r.append(resp("SET", f"service/id:{sid}/provider_key", hashlib.md5(f"pk{sid % 3}".encode()).hexdigest()))
    r.append(resp("SET", f"service/id:{sid}/state", "active"))
    r.append(resp("SET", f"service/id:{sid}/referrer_filters_required", "0"))
    r.append(resp("SADD", "services_set", sid))
    for mid, name in ((3 * sid - 2, "hits"), (3 * sid - 1, "search"), (3 * sid, "upload")):
        r.append(resp("SET", f"metric/service_id:{sid}/id:{mid}/name", name))
        r.append(resp("SET", f"usage_limit/service_id:{sid}/plan_id:{2 * sid}/metric_id:{mid}/day", 1000))
for pk in range(3):
    h = hashlib.md5(f"pk{pk}".encode()).hexdigest()
    r.append(resp("SET", f"service/provider_key:{h}/id", pk + 1))
    r.append(resp("SADD", "provider_keys_set", h))
for app in range(1, 200 * S + 1):
    sid = 1 + app % 9
    base = f"application/service_id:{sid}/id:{app}"
    r.append(resp("SET", f"{base}/state", "active"))
    r.append(resp("SET", f"{base}/plan_id", 2 * sid))
    r.append(resp("SET", f"{base}/plan_name", "Premium plan"))
    r.append(resp("SADD", f"{base}/keys", hashlib.md5(f"key{app}".encode()).hexdigest()))
# Usage counters: generated by backend, the only copy in the world.
for sid in range(1, 10):
    for mid in (3 * sid - 2, 3 * sid - 1):
        for day in range(20 * S):
            ts = 20261101 + day
            r.append(resp("SET", f"stats/{{service:{sid}}}/metric:{mid}/day:{ts}", rnd.randint(0, 100000)))
            r.append(resp("SET", f"stats/{{service:{sid}}}/cinstance:{sid * 7}/metric:{mid}/day:{ts}", rnd.randint(0, 5000)))
    r.append(resp("RPUSH", f"errors/service_id:{sid}", json.dumps({"code": "user_key_invalid", "message": "user key is invalid"})))
for i in range(50):
    r.append(resp("ZADD", "events/queue", i, json.dumps({"id": i, "type": "alert", "object": {"utilization": 80}})))
# Large values: the bulk of a busy backend's memory (scaled for the benchmark).
for i in range(max(0, S - 1) * 40):
    r.append(resp("SET", f"stats/{{service:{1 + i % 9}}}/blob:{i}", hashlib.sha512(str(i).encode()).hexdigest() * 160))
r.append(resp("SELECT", 1))
for q in ("priority", "main", "stats"):
    for i in range(30):
        r.append(resp("RPUSH", f"resque:queue:{q}", json.dumps({"class": "ThreeScale::Backend::Transactor::ReportJob", "args": [i, q]})))
r.append(resp("SADD", "resque:queues", "priority", "main", "stats"))
r.append(resp("RPUSH", "resque:failed", json.dumps({"exception": "Timeout", "queue": "main"})))
w("backend-redis.resp", "".join(r))

r = [resp("SELECT", 1)]
queues = "backend_sync billing critical default deletion events low mailers priority web_hooks zync".split()
for q in queues:
    r.append(resp("SADD", "queues", q))
    for i in range(20 * S):
        r.append(resp("LPUSH", f"queue:{q}", json.dumps({"class": "SidekiqJob", "args": [i], "jid": hashlib.md5(f"{q}{i}".encode()).hexdigest()[:24], "queue": q})))
r.append(resp("HSET", "cron_job:billing", "cron", "0 8 * * *", "class", "BillingWorker"))
r.append(resp("ZADD", "schedule", 1700000000, json.dumps({"class": "ZyncWorker", "args": [1]})))
for prov in range(2, 5):
    r.append(resp("RPUSH", f"webhooks:failures:provider-{prov}", json.dumps({"url": "https://hooks.example.com", "status": 500})))
r.append(resp("SET", "lock:billing", "1"))
w("system-redis.resp", "".join(r))

# ---------------------------------------------------------------- system-storage
root = os.path.join(out, "system-storage")
t0 = 1763640000  # 2025-11-20
def put(rel, size, mode=0o644, mtime=None):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        left = size
        while left > 0:
            n = min(left, 1 << 20)
            f.write(rnd.randbytes(n))
            left -= n
    os.chmod(path, mode)
    t = mtime if mtime is not None else t0 + rnd.randint(0, 10 ** 7)
    os.utime(path, (t, t))

for prov in ("provider1", "provider2", "provider3"):
    for i in range(10 * S):
        day = 1 + i % 28
        put(f"{prov}/2025/{1 + i % 12:02d}/{day:02d}/asset{i}-{rnd.getrandbits(64):016x}.{('css', 'js', 'png', 'html')[i % 4]}",
            rnd.randint(1000, 60000 if S == 1 else 3 * 1024 * 1024))
    for inv in range(1, 3 + S):
        put(f"{prov}/invoices/{inv}/pdfs/original/invoice-{inv}.pdf", rnd.randint(20000, 80000), 0o640)
    for style in ("large", "medium", "thumb"):
        put(f"{prov}/2/profiles/logos/{style}/logo.png", rnd.randint(2000, 20000))
os.makedirs(os.path.join(root, "provider1", "empty-dir"), exist_ok=True)
os.chmod(os.path.join(root, "provider1", "empty-dir"), 0o750)
os.symlink("2/profiles/logos/large/logo.png", os.path.join(root, "provider1", "logo-latest.png"))
os.link(os.path.join(root, "provider2", "2/profiles/logos/thumb/logo.png"), os.path.join(root, "provider2", "logo-hardlink.png"))
for dirpath, dirnames, _ in os.walk(root):
    os.utime(dirpath, (t0, t0))

# ---------------------------------------------------------------- resources
ns = a.namespace
res = os.path.join(out, "resources")
uid = lambda n: hashlib.md5(n.encode()).hexdigest()
def uuid(n):
    h = uid(n)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"
apim_uid = uuid("apimanager")
owner = [{"apiVersion": "apps.3scale.net/v1alpha1", "kind": "APIManager", "name": "3scale",
          "uid": apim_uid, "controller": True, "blockOwnerDeletion": True}]
def meta(name, kind, labels=None):
    m = {"name": name, "namespace": ns, "uid": uuid(kind + name), "resourceVersion": str(100000 + len(name)),
         "creationTimestamp": "2026-11-01T08:00:00Z", "ownerReferences": owner,
         "selfLink": f"/api/v1/namespaces/{ns}/{kind.lower()}s/{name}",
         "labels": labels or {"app": "3scale-api-management", "threescale_component": name.split("-")[0]},
         "annotations": {"kubectl.kubernetes.io/last-applied-configuration": json.dumps({"kind": kind, "metadata": {"name": name}}),
                         "apps.3scale.net/note": "kept"},
         "managedFields": [{"manager": "3scale-operator", "operation": "Update", "apiVersion": "v1", "time": "2026-11-01T08:00:00Z"}]}
    return m
def b64(s):
    return base64.b64encode(s.encode()).decode()
mysql_pw = env.get("MYSQL_ROOT_PASSWORD", "")
pg_pw = env.get("ZYNC_DB_PASSWORD", "")
secrets = {
    "system-smtp": {"address": "smtp.example.com", "username": "mailer", "password": "smtp-pw", "domain": "example.com",
                    "port": "587", "authentication": "login", "openssl.verify.mode": "peer", "from_address": "noreply@example.com"},
    "system-seed": {"MASTER_DOMAIN": "master", "MASTER_ACCESS_TOKEN": hashlib.sha256(b"token1").hexdigest(), "MASTER_USER": "master",
                    "MASTER_PASSWORD": "master-pw", "ADMIN_ACCESS_TOKEN": hashlib.sha256(b"token2").hexdigest(), "ADMIN_USER": "admin",
                    "ADMIN_PASSWORD": "admin-pw", "ADMIN_EMAIL": "admin@example.com", "TENANT_NAME": "provider1"},
    "system-database": {"URL": f"mysql2://root:{mysql_pw}@127.0.0.1:{env.get('MYSQL_PORT', '3306')}/system",
                        "DB_USER": "root", "DB_PASSWORD": mysql_pw},
    "backend-internal-api": {"username": "3scale_api_user", "password": "internal-pw"},
    "system-events-hook": {"URL": "http://system-master:3000/master/events/import", "PASSWORD": "events-pw"},
    "system-app": {"SECRET_KEY_BASE": hashlib.sha512(b"skb").hexdigest(), "USER_SESSION_TTL": "1209600"},
    "system-recaptcha": {"PUBLIC_KEY": "", "PRIVATE_KEY": ""},
    "system-redis": {"URL": f"redis://127.0.0.1:{env.get('REDIS_SYSTEM_REDIS_PORT', '6379')}/1"},
    "zync": {"SECRET_KEY_BASE": hashlib.sha512(b"zync").hexdigest(),
             "DATABASE_URL": f"postgresql://zync:{pg_pw}@127.0.0.1:{env.get('PG_PORT', '5432')}/zync_production",
             "ZYNC_DATABASE_PASSWORD": pg_pw, "ZYNC_AUTHENTICATION_TOKEN": "zync-token"},
    "system-master-apicast": {"PROXY_CONFIGS_ENDPOINT": "http://master:token@system-master:3000/master/api/proxy/configs",
                              "ACCESS_TOKEN": hashlib.sha256(b"apicast").hexdigest()},
    "backend-listener": {"service_endpoint": "http://backend-listener:3000", "route_endpoint": "https://backend-3scale.example.com"},
    "backend-redis": {"REDIS_STORAGE_URL": f"redis://:{env.get('REDIS_BACKEND_REDIS_PASSWORD', '')}@127.0.0.1:{env.get('REDIS_BACKEND_REDIS_PORT', '6379')}/0",
                      "REDIS_QUEUES_URL": f"redis://:{env.get('REDIS_BACKEND_REDIS_PASSWORD', '')}@127.0.0.1:{env.get('REDIS_BACKEND_REDIS_PORT', '6379')}/1"},
    "system-memcache": {"SERVERS": "system-memcache:11211"},
}
configmaps = {
    "system-environment": {"THREESCALE_SUPERDOMAIN": "example.com", "APICAST_REGISTRY_URL": "http://apicast-staging:8090/policies",
                           "RAILS_ENV": "production", "FORCE_SSL": "true", "THREESCALE_SANDBOX_PROXY_OPENSSL_VERIFY_MODE": "VERIFY_NONE"},
    "apicast-environment": {"APICAST_MANAGEMENT_API": "status", "OPENSSL_VERIFY": "false", "APICAST_RESPONSE_CODES": "true"},
    "backend-environment": {"RACK_ENV": "production"},
    "mysql-extra-conf": {"mysql-charset.cnf": "[client]\ndefault-character-set = utf8\n"},
    "mysql-main-conf": {"my.cnf": "!include /etc/my.cnf\n!includedir /etc/my-extra.d\n"},
    "redis-config": {"redis.conf": "protected-mode no\nport 6379\nsave 900 1\nsave 300 10\nsave 60 10000\nappendonly yes\n"},
    "system": {"zync.yml": "production:\n  endpoint: 'http://zync:8080'\n", "rolling_updates.yml": "production:\n  old_charts: false\n",
               "service_discovery.yml": "production:\n  enabled: false\n"},
}

def pem(var, name):
    with open(os.path.join(env[var], name)) as f:
        return f.read()
if a.layout == "2.16":
    # The servers' own users: the MySQL admin without SUPER (ci/services.sh
    # add-mysql-admin), the Redis ACL users; TLS material as PEM contents.
    secrets["system-database"] = {
        "URL": f"mysql2://{env['MYSQL_ADMIN_USER']}:{env['MYSQL_ADMIN_PASSWORD']}@127.0.0.1:{env['MYSQL_PORT']}/system",
        "DB_USER": env["MYSQL_ADMIN_USER"], "DB_PASSWORD": env["MYSQL_ADMIN_PASSWORD"], "DB_NAME": "system",
        "DATABASE_SSL_MODE": "verify_identity", "DB_SSL_CA": pem("TLS_DIR", "ca.pem"),
        "DB_SSL_CERT": pem("TLS_DIR", "client.pem"), "DB_SSL_KEY": pem("TLS_DIR", "client.key")}
    br = {}
    for twin, db, ssl in (("STORAGE", 0, "REDIS_SSL_"), ("QUEUES", 1, "REDIS_SSL_QUEUES_")):
        br.update({f"REDIS_{twin}_URL": f"rediss://127.0.0.1:{env['REDIS_BACKEND_REDIS_PORT']}/{db}",
                   f"REDIS_{twin}_USERNAME": env["REDIS_BACKEND_REDIS_USER"],
                   f"REDIS_{twin}_PASSWORD": env["REDIS_BACKEND_REDIS_USER_PASSWORD"],
                   f"REDIS_{twin}_SENTINEL_HOSTS": "", f"REDIS_{twin}_SENTINEL_ROLE": "",
                   ssl + "CA": pem("REDIS_BACKEND_REDIS_TLS_DIR", "ca.pem"),
                   ssl + "CERT": pem("REDIS_BACKEND_REDIS_TLS_DIR", "client.pem"),
                   ssl + "KEY": pem("REDIS_BACKEND_REDIS_TLS_DIR", "client.key")})
    secrets["backend-redis"] = br
    # Behind Sentinel the URL names the master group.
    secrets["system-redis"] = {
        "URL": f"redis://{env['SENTINEL_GROUP']}/1", "REDIS_USERNAME": env["REDIS_SYSTEM_REDIS_USER"],
        "REDIS_PASSWORD": env["REDIS_SYSTEM_REDIS_USER_PASSWORD"],
        "SENTINEL_HOSTS": f"127.0.0.1:{env['SENTINEL_PORT']}", "SENTINEL_ROLE": "master",
        "REDIS_SENTINEL_PASSWORD": env["SENTINEL_PASSWORD"]}
    # From 2.16 the operator writes no configuration of internal databases.
    for name in ("mysql-extra-conf", "mysql-main-conf", "redis-config"):
        del configmaps[name]
os.makedirs(os.path.join(res, "secret"), exist_ok=True)
os.makedirs(os.path.join(res, "configmap"), exist_ok=True)
os.makedirs(os.path.join(res, "apimanager"), exist_ok=True)
for name, data in secrets.items():
    doc = {"apiVersion": "v1", "kind": "Secret", "metadata": meta(name, "Secret"), "type": "Opaque",
           "data": {k: b64(v) for k, v in data.items()}}
    with open(os.path.join(res, "secret", name + ".json"), "w") as f:
        json.dump(doc, f, indent=4)
for name, data in configmaps.items():
    doc = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta(name, "ConfigMap"), "data": data}
    with open(os.path.join(res, "configmap", name + ".json"), "w") as f:
        json.dump(doc, f, indent=4)
apim = {"apiVersion": "apps.3scale.net/v1alpha1", "kind": "APIManager",
        "metadata": {**meta("3scale", "APIManager", {"app": "3scale-api-management",
                                                     f"secret.apimanager.apps.3scale.net/{uid('s1')[:20]}": "true",
                                                     f"secret.apimanager.apps.3scale.net/{uid('s2')[:20]}": "true"}),
                     "generation": 4},
        "spec": {"wildcardDomain": "example.com", "resourceRequirementsEnabled": False,
                 "system": {"fileStorage": {"persistentVolumeClaim": {"storageClassName": "nfs"}}},
                 **({"externalComponents": {"system": {"database": True, "redis": True}, "backend": {"redis": True},
                                            "zync": {"database": True}}} if a.layout == "2.16" else {})},
        "status": {"conditions": [{"type": "Available", "status": "True"}], "deployments": {"ready": ["apicast-production"]}}}
del apim["metadata"]["ownerReferences"]
with open(os.path.join(res, "apimanager", "3scale.json"), "w") as f:
    json.dump(apim, f, indent=4)

# ---------------------------------------------------------------- config
config = {
    "profile": "3scale",
    "description": "The demo deployment on loopback: external databases found from its own Secrets (the 3scale 2.16+ way).",
    "transport": {"type": "local", "resources_dir": res},
    "components": {
        "system-mysql": {"external": True},
        "zync-database": {"external": True},
        "backend-redis": {"external": True,
                          "restore": {"config_file": os.path.join(env.get("REDIS_BACKEND_REDIS_DIR", ""), "redis.conf")}},
        "system-redis": {"external": True,
                         "restore": {"config_file": os.path.join(env.get("REDIS_SYSTEM_REDIS_DIR", ""), "redis.conf")}},
        "system-storage": {"path": root},
    },
    # The demo has no system pod to run rake in: its stand-in rebuilds the
    # backend-redis service configuration from the system database.
    "post_restore": [
        {"description": "DEMO STAND-IN for bundle exec rake backend:storage:enqueue_rewrite",
         "transport": "local", "after": ["backend-redis", "system-mysql"],
         "command": ["python3", os.path.join(os.path.dirname(os.path.abspath(__file__)), "resync-standin.py"),
                     os.path.join(out, "env")]},
    ],
}
if a.layout == "2.16":
    # Where the databases are and how to reach them: the Secrets and the
    # APIManager say, as in a real 2.16 deployment. The demo's hook stand-in
    # talks to the 2.15 servers only.
    config = {"profile": "3scale",
              "description": "The demo deployment, 3scale 2.16 layout: every database external, found from "
                             "the APIManager and the Secrets (TLS, ACL users, Sentinel).",
              "transport": {"type": "local", "resources_dir": res},
              "components": {"system-storage": {"path": root}},
              "post_restore": []}
with open(os.path.join(out, "config.json"), "w") as f:
    json.dump(config, f, indent=2)
