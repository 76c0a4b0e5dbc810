-- A 3scale-shaped `system` database (porta's schema, reduced): utf8mb3 /
-- utf8mb3_bin tables (utf8mb4_bin on a newer one), BEFORE INSERT triggers
-- named <table>_tenant_id that copy the tenant from the parent row, and the
-- stored procedure sp_invoices_friendly_id. A dump must keep all of it.
SET NAMES utf8mb4;

CREATE TABLE accounts (
  id bigint NOT NULL AUTO_INCREMENT, tenant_id bigint DEFAULT NULL,
  org_name varchar(255) NOT NULL, domain varchar(255) DEFAULT NULL,
  self_domain varchar(255) DEFAULT NULL, provider tinyint(1) DEFAULT 0,
  master tinyint(1) DEFAULT NULL, provider_account_id bigint DEFAULT NULL,
  state varchar(255) DEFAULT NULL, billing_address_name varchar(255) DEFAULT NULL,
  created_at datetime NOT NULL, updated_at datetime NOT NULL,
  PRIMARY KEY (id), KEY index_accounts_on_provider_account_id (provider_account_id),
  KEY index_accounts_on_domain (domain)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb3 COLLATE=utf8mb3_bin;

CREATE TABLE users (
  id bigint NOT NULL AUTO_INCREMENT, tenant_id bigint DEFAULT NULL, account_id bigint NOT NULL,
  username varchar(40) DEFAULT NULL, email varchar(255) DEFAULT NULL,
  crypted_password varchar(255) DEFAULT NULL, role varchar(255) DEFAULT '',
  state varchar(255) DEFAULT NULL, created_at datetime NOT NULL, updated_at datetime NOT NULL,
  PRIMARY KEY (id), KEY index_users_on_account_id (account_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb3 COLLATE=utf8mb3_bin;

CREATE TABLE services (
  id bigint NOT NULL AUTO_INCREMENT, tenant_id bigint DEFAULT NULL, account_id bigint NOT NULL,
  name varchar(255) DEFAULT '', system_name varchar(255) NOT NULL, description text,
  state varchar(255) NOT NULL, backend_version varchar(255) NOT NULL DEFAULT '1',
  deployment_option varchar(255) DEFAULT 'hosted',
  created_at datetime NOT NULL, updated_at datetime NOT NULL,
  PRIMARY KEY (id), UNIQUE KEY index_services_on_system_name (account_id, system_name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb3 COLLATE=utf8mb3_bin;

CREATE TABLE plans (
  id bigint NOT NULL AUTO_INCREMENT, tenant_id bigint DEFAULT NULL, issuer_id bigint NOT NULL,
  issuer_type varchar(255) NOT NULL, name varchar(255) DEFAULT NULL, type varchar(255) NOT NULL,
  state varchar(255) NOT NULL, cost_per_month decimal(20,4) NOT NULL DEFAULT 0.0000,
  setup_fee decimal(20,4) NOT NULL DEFAULT 0.0000, system_name varchar(255) NOT NULL,
  created_at datetime NOT NULL, updated_at datetime NOT NULL,
  PRIMARY KEY (id), KEY index_plans_on_issuer (issuer_id, issuer_type)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb3 COLLATE=utf8mb3_bin;

CREATE TABLE cinstances (
  id bigint NOT NULL AUTO_INCREMENT, tenant_id bigint DEFAULT NULL, plan_id bigint NOT NULL,
  user_account_id bigint DEFAULT NULL, user_key varchar(256) DEFAULT '',
  application_id varchar(255) DEFAULT NULL, state varchar(255) NOT NULL,
  name varchar(255) DEFAULT NULL, description text, service_id bigint DEFAULT NULL,
  type varchar(255) NOT NULL DEFAULT 'Cinstance', redirect_url text,
  created_at datetime NOT NULL, updated_at datetime NOT NULL,
  PRIMARY KEY (id), KEY index_cinstances_on_plan_id (plan_id),
  KEY index_cinstances_on_application_id (application_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb3 COLLATE=utf8mb3_bin;

CREATE TABLE application_keys (
  id bigint NOT NULL AUTO_INCREMENT, tenant_id bigint DEFAULT NULL,
  application_id bigint NOT NULL, value varchar(255) NOT NULL,
  created_at datetime NOT NULL, updated_at datetime NOT NULL,
  PRIMARY KEY (id), UNIQUE KEY index_application_keys_on_application_id_and_value (application_id, value)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb3 COLLATE=utf8mb3_bin;

CREATE TABLE metrics (
  id bigint NOT NULL AUTO_INCREMENT, tenant_id bigint DEFAULT NULL, service_id bigint DEFAULT NULL,
  system_name varchar(255) NOT NULL, description text, unit varchar(255) NOT NULL,
  friendly_name varchar(255) DEFAULT NULL, parent_id bigint DEFAULT NULL,
  owner_id bigint DEFAULT NULL, owner_type varchar(255) DEFAULT NULL,
  created_at datetime NOT NULL, updated_at datetime NOT NULL,
  PRIMARY KEY (id), KEY index_metrics_on_service_id (service_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb3 COLLATE=utf8mb3_bin;

CREATE TABLE usage_limits (
  id bigint NOT NULL AUTO_INCREMENT, tenant_id bigint DEFAULT NULL, metric_id bigint NOT NULL,
  period varchar(255) NOT NULL, value bigint NOT NULL DEFAULT 0, plan_id bigint NOT NULL,
  plan_type varchar(255) NOT NULL, created_at datetime NOT NULL, updated_at datetime NOT NULL,
  PRIMARY KEY (id), KEY index_usage_limits_on_metric_id_and_period (metric_id, period)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb3 COLLATE=utf8mb3_bin;

CREATE TABLE proxies (
  id bigint NOT NULL AUTO_INCREMENT, tenant_id bigint DEFAULT NULL, service_id bigint NOT NULL,
  endpoint varchar(255) DEFAULT NULL, api_backend varchar(255) DEFAULT NULL,
  auth_app_key varchar(255) DEFAULT 'app_key', auth_user_key varchar(255) DEFAULT 'user_key',
  sandbox_endpoint varchar(255) DEFAULT NULL, policies_config text,
  created_at datetime NOT NULL, updated_at datetime NOT NULL,
  PRIMARY KEY (id), KEY index_proxies_on_service_id (service_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb3 COLLATE=utf8mb3_bin;

CREATE TABLE proxy_rules (
  id bigint NOT NULL AUTO_INCREMENT, tenant_id bigint DEFAULT NULL, proxy_id bigint DEFAULT NULL,
  http_method varchar(255) DEFAULT NULL, pattern varchar(255) DEFAULT NULL,
  metric_id bigint DEFAULT NULL, delta int DEFAULT NULL, position int DEFAULT NULL,
  created_at datetime NOT NULL, updated_at datetime NOT NULL,
  PRIMARY KEY (id), KEY index_proxy_rules_on_proxy_id (proxy_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb3 COLLATE=utf8mb3_bin;

CREATE TABLE proxy_configs (
  id bigint NOT NULL AUTO_INCREMENT, tenant_id bigint DEFAULT NULL, proxy_id bigint NOT NULL,
  user_id bigint DEFAULT NULL, version int NOT NULL DEFAULT 0, environment varchar(255) NOT NULL,
  content mediumtext NOT NULL, hosts varchar(8192) DEFAULT NULL,
  created_at datetime NOT NULL, updated_at datetime NOT NULL,
  PRIMARY KEY (id), KEY index_proxy_configs_on_proxy_id (proxy_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb3 COLLATE=utf8mb3_bin;

CREATE TABLE backend_apis (
  id bigint NOT NULL AUTO_INCREMENT, tenant_id bigint DEFAULT NULL, account_id bigint DEFAULT NULL,
  name varchar(511) NOT NULL, system_name varchar(255) NOT NULL, description text,
  private_endpoint varchar(255) DEFAULT NULL, state varchar(255) NOT NULL DEFAULT 'published',
  created_at datetime NOT NULL, updated_at datetime NOT NULL, PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb3 COLLATE=utf8mb3_bin;

CREATE TABLE cms_templates (
  id bigint NOT NULL AUTO_INCREMENT, tenant_id bigint DEFAULT NULL, provider_id bigint NOT NULL,
  system_name varchar(255) DEFAULT NULL, published mediumtext, draft mediumtext,
  type varchar(255) DEFAULT NULL, path varchar(255) DEFAULT NULL,
  created_at datetime NOT NULL, updated_at datetime NOT NULL, PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb3 COLLATE=utf8mb3_bin;

CREATE TABLE cms_files (
  id bigint NOT NULL AUTO_INCREMENT, tenant_id bigint DEFAULT NULL, provider_id bigint NOT NULL,
  section_id bigint DEFAULT NULL, path varchar(255) DEFAULT NULL,
  attachment_file_name varchar(255) DEFAULT NULL, attachment_content_type varchar(255) DEFAULT NULL,
  attachment_file_size int DEFAULT NULL, random_secret varchar(255) DEFAULT NULL,
  created_at datetime NOT NULL, updated_at datetime NOT NULL, PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb3 COLLATE=utf8mb3_bin;

CREATE TABLE access_tokens (
  id bigint NOT NULL AUTO_INCREMENT, tenant_id bigint DEFAULT NULL, owner_id bigint NOT NULL,
  owner_type varchar(255) NOT NULL, value varchar(255) NOT NULL, name varchar(255) DEFAULT NULL,
  scopes text, permission varchar(255) DEFAULT NULL,
  created_at datetime NOT NULL, updated_at datetime NOT NULL,
  PRIMARY KEY (id), UNIQUE KEY index_access_tokens_on_value (value)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb3 COLLATE=utf8mb3_bin;

CREATE TABLE audits (
  id bigint NOT NULL AUTO_INCREMENT, tenant_id bigint DEFAULT NULL, auditable_id bigint DEFAULT NULL,
  auditable_type varchar(255) DEFAULT NULL, user_id bigint DEFAULT NULL,
  action varchar(255) DEFAULT NULL, audited_changes text, version int DEFAULT 0,
  provider_id bigint DEFAULT NULL, kind varchar(255) DEFAULT NULL, request_uuid varchar(255) DEFAULT NULL,
  created_at datetime DEFAULT NULL,
  PRIMARY KEY (id), KEY auditable_index (auditable_type, auditable_id, version)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb3 COLLATE=utf8mb3_bin;

CREATE TABLE event_store_events (
  id bigint NOT NULL AUTO_INCREMENT, tenant_id bigint DEFAULT NULL,
  stream varchar(255) NOT NULL, event_type varchar(255) NOT NULL, event_id varchar(255) NOT NULL,
  metadata text, data longtext NOT NULL, provider_id bigint DEFAULT NULL,
  created_at datetime NOT NULL,
  PRIMARY KEY (id), UNIQUE KEY index_event_store_events_on_event_id (event_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE log_entries (
  id bigint NOT NULL AUTO_INCREMENT, tenant_id bigint DEFAULT NULL, provider_id bigint DEFAULT NULL,
  buyer_id bigint DEFAULT NULL, level int DEFAULT 10, description varchar(255) DEFAULT NULL,
  created_at datetime DEFAULT NULL, updated_at datetime DEFAULT NULL, PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb3 COLLATE=utf8mb3_bin;

CREATE TABLE invoices (
  id bigint NOT NULL AUTO_INCREMENT, tenant_id bigint DEFAULT NULL, provider_account_id bigint DEFAULT NULL,
  buyer_account_id bigint DEFAULT NULL, period date DEFAULT NULL, state varchar(255) NOT NULL DEFAULT 'open',
  friendly_id varchar(255) NOT NULL DEFAULT 'fix', currency varchar(4) DEFAULT NULL,
  created_at datetime NOT NULL, updated_at datetime NOT NULL, PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb3 COLLATE=utf8mb3_bin;

CREATE TABLE invoice_counters (
  id bigint NOT NULL AUTO_INCREMENT, provider_account_id bigint NOT NULL,
  invoice_prefix varchar(255) NOT NULL, invoice_count int DEFAULT 0,
  created_at datetime NOT NULL, updated_at datetime NOT NULL,
  PRIMARY KEY (id), UNIQUE KEY index_invoice_counters_provider_prefix (provider_account_id, invoice_prefix)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb3 COLLATE=utf8mb3_bin;

CREATE TABLE line_items (
  id bigint NOT NULL AUTO_INCREMENT, tenant_id bigint DEFAULT NULL, invoice_id bigint DEFAULT NULL,
  name varchar(255) DEFAULT NULL, description varchar(255) DEFAULT NULL,
  cost decimal(20,4) NOT NULL DEFAULT 0.0000, created_at datetime DEFAULT NULL,
  updated_at datetime DEFAULT NULL, PRIMARY KEY (id), KEY index_line_items_on_invoice_id (invoice_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb3 COLLATE=utf8mb3_bin;

CREATE TABLE messages (
  id bigint NOT NULL AUTO_INCREMENT, tenant_id bigint DEFAULT NULL, sender_id bigint NOT NULL,
  subject text, body text, state varchar(255) NOT NULL, type varchar(255) DEFAULT NULL,
  created_at datetime DEFAULT NULL, updated_at datetime DEFAULT NULL, PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb3 COLLATE=utf8mb3_bin;

CREATE TABLE alerts (
  id bigint NOT NULL AUTO_INCREMENT, tenant_id bigint DEFAULT NULL, account_id bigint NOT NULL,
  timestamp datetime NOT NULL, state varchar(255) NOT NULL, cinstance_id bigint NOT NULL,
  utilization decimal(6,2) NOT NULL, level int NOT NULL, alert_id bigint NOT NULL,
  message text, created_at datetime DEFAULT NULL, updated_at datetime DEFAULT NULL,
  service_id bigint DEFAULT NULL, PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb3 COLLATE=utf8mb3_bin;

CREATE TABLE settings (
  id bigint NOT NULL AUTO_INCREMENT, tenant_id bigint DEFAULT NULL, account_id bigint DEFAULT NULL,
  bg_colour varchar(255) DEFAULT NULL, link_colour varchar(255) DEFAULT NULL,
  welcome_text text, strong_passwords_enabled tinyint(1) DEFAULT 0,
  created_at datetime DEFAULT NULL, updated_at datetime DEFAULT NULL, PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb3 COLLATE=utf8mb3_bin;

-- The tenant of a row is its provider account's: porta keeps it right with
-- BEFORE INSERT triggers (one per table, ~78 in all in the real schema).
DELIMITER ;;
CREATE TRIGGER accounts_tenant_id BEFORE INSERT ON accounts FOR EACH ROW
BEGIN
  IF NEW.tenant_id IS NULL AND NEW.provider_account_id IS NOT NULL THEN
    SET NEW.tenant_id = NEW.provider_account_id;
  END IF;
END;;
CREATE TRIGGER users_tenant_id BEFORE INSERT ON users FOR EACH ROW
BEGIN
  IF NEW.tenant_id IS NULL THEN
    SET NEW.tenant_id = (SELECT tenant_id FROM accounts WHERE id = NEW.account_id);
  END IF;
END;;
CREATE TRIGGER services_tenant_id BEFORE INSERT ON services FOR EACH ROW
BEGIN
  IF NEW.tenant_id IS NULL THEN
    SET NEW.tenant_id = (SELECT tenant_id FROM accounts WHERE id = NEW.account_id);
  END IF;
END;;
CREATE TRIGGER plans_tenant_id BEFORE INSERT ON plans FOR EACH ROW
BEGIN
  IF NEW.tenant_id IS NULL AND NEW.issuer_type = 'Service' THEN
    SET NEW.tenant_id = (SELECT tenant_id FROM services WHERE id = NEW.issuer_id);
  END IF;
END;;
CREATE TRIGGER cinstances_tenant_id BEFORE INSERT ON cinstances FOR EACH ROW
BEGIN
  IF NEW.tenant_id IS NULL THEN
    SET NEW.tenant_id = (SELECT tenant_id FROM plans WHERE id = NEW.plan_id);
  END IF;
END;;
CREATE TRIGGER application_keys_tenant_id BEFORE INSERT ON application_keys FOR EACH ROW
BEGIN
  IF NEW.tenant_id IS NULL THEN
    SET NEW.tenant_id = (SELECT tenant_id FROM cinstances WHERE id = NEW.application_id);
  END IF;
END;;
CREATE TRIGGER metrics_tenant_id BEFORE INSERT ON metrics FOR EACH ROW
BEGIN
  IF NEW.tenant_id IS NULL THEN
    SET NEW.tenant_id = (SELECT tenant_id FROM services WHERE id = NEW.service_id);
  END IF;
END;;
CREATE TRIGGER usage_limits_tenant_id BEFORE INSERT ON usage_limits FOR EACH ROW
BEGIN
  IF NEW.tenant_id IS NULL THEN
    SET NEW.tenant_id = (SELECT tenant_id FROM metrics WHERE id = NEW.metric_id);
  END IF;
END;;
CREATE TRIGGER proxies_tenant_id BEFORE INSERT ON proxies FOR EACH ROW
BEGIN
  IF NEW.tenant_id IS NULL THEN
    SET NEW.tenant_id = (SELECT tenant_id FROM services WHERE id = NEW.service_id);
  END IF;
END;;
CREATE TRIGGER proxy_configs_tenant_id BEFORE INSERT ON proxy_configs FOR EACH ROW
BEGIN
  IF NEW.tenant_id IS NULL THEN
    SET NEW.tenant_id = (SELECT tenant_id FROM proxies WHERE id = NEW.proxy_id);
  END IF;
END;;
CREATE TRIGGER cms_files_tenant_id BEFORE INSERT ON cms_files FOR EACH ROW
BEGIN
  IF NEW.tenant_id IS NULL THEN
    SET NEW.tenant_id = NEW.provider_id;
  END IF;
END;;
CREATE TRIGGER invoices_tenant_id BEFORE INSERT ON invoices FOR EACH ROW
BEGIN
  IF NEW.tenant_id IS NULL THEN
    SET NEW.tenant_id = NEW.provider_account_id;
  END IF;
END;;
CREATE TRIGGER line_items_tenant_id BEFORE INSERT ON line_items FOR EACH ROW
BEGIN
  IF NEW.tenant_id IS NULL THEN
    SET NEW.tenant_id = (SELECT tenant_id FROM invoices WHERE id = NEW.invoice_id);
  END IF;
END;;
-- Numbers an invoice within its provider and period: PREFIX-00000042.
CREATE PROCEDURE sp_invoices_friendly_id(IN invoice_id bigint, OUT out_friendly_id varchar(255))
BEGIN
  DECLARE provider bigint;
  DECLARE prefix varchar(255);
  DECLARE counter int;
  SELECT provider_account_id, DATE_FORMAT(period, '%Y-%m') INTO provider, prefix
    FROM invoices WHERE id = invoice_id;
  INSERT INTO invoice_counters (provider_account_id, invoice_prefix, invoice_count, created_at, updated_at)
    VALUES (provider, prefix, 1, NOW(), NOW())
    ON DUPLICATE KEY UPDATE invoice_count = invoice_count + 1, updated_at = NOW();
  SELECT invoice_count INTO counter FROM invoice_counters
    WHERE provider_account_id = provider AND invoice_prefix = prefix;
  SET out_friendly_id = CONCAT(prefix, '-', LPAD(counter, 8, '0'));
  UPDATE invoices SET friendly_id = out_friendly_id WHERE id = invoice_id;
END;;
DELIMITER ;
