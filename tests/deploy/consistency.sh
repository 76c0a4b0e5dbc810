#!/usr/bin/env bash
# A backup taken while writes are running is transaction-consistent: a
# writer moves money between two accounts tables (checking -> savings) in
# transactions, logging each transfer, while tsarc backs the database up.
# The restored dump must keep the invariant (the total never changes), and
# must have been taken mid-way (some transfers in it, some after it).
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

svc_start ledger mysql
PW=$MYSQL_ROOT_PASSWORD
PORT=$MYSQL_PORT
ACCOUNTS=5000
TOTAL=$((ACCOUNTS * 2 * 1000))
mysql_q "$PORT" "$PW" <<SQL || fail "cannot create the ledger"
CREATE DATABASE ledger;
USE ledger;
CREATE TABLE checking (id int PRIMARY KEY, balance bigint NOT NULL) ENGINE=InnoDB;
CREATE TABLE savings (id int PRIMARY KEY, balance bigint NOT NULL) ENGINE=InnoDB;
CREATE TABLE transfers (id bigint AUTO_INCREMENT PRIMARY KEY, src int, dst int, amount int) ENGINE=InnoDB;
-- Bulk that makes the dump take a while, so writes land during it.
CREATE TABLE history (id int PRIMARY KEY, note varchar(2000)) ENGINE=InnoDB;
INSERT INTO checking SELECT seq, 1000 FROM seq_1_to_$ACCOUNTS;
INSERT INTO savings SELECT seq, 1000 FROM seq_1_to_$ACCOUNTS;
INSERT INTO history SELECT seq, REPEAT(MD5(seq), 60) FROM seq_1_to_40000;
SQL

# 200000 transfers as one SQL stream: far more than the backup needs.
python3 - "$ACCOUNTS" > "$WORK/writer.sql" <<'PY'
import random, sys
n = int(sys.argv[1])
r = random.Random(7)
out = sys.stdout
for _ in range(200000):
    a, b, x = r.randint(1, n), r.randint(1, n), r.randint(1, 50)
    out.write(f"START TRANSACTION; UPDATE checking SET balance = balance - {x} WHERE id = {a}; "
              f"INSERT INTO transfers (src, dst, amount) VALUES ({a}, {b}, {x}); "
              f"UPDATE savings SET balance = balance + {x} WHERE id = {b}; COMMIT;\n")
PY
MYSQL_PWD=$PW mariadb --no-defaults -uroot -h127.0.0.1 -P"$PORT" ledger < "$WORK/writer.sql" &
writer=$!
count() { mysql_q "$PORT" "$PW" ledger -e "SELECT COUNT(*) FROM transfers"; }
for _ in $(seq 100); do [ "$(count)" -gt 200 ] && break; sleep 0.1; done
before=$(count)
[ "$before" -gt 0 ] || fail "the writer does not write"

export LEDGER_PW=$PW
cat > "$WORK/config.json" <<JSON
{
  "profile": "none",
  "transport": {"type": "local"},
  "components": {
    "ledger": {"kind": "mysql", "host": "127.0.0.1", "port": $PORT, "user": "root",
               "password_env": "LEDGER_PW", "database": "ledger"}
  }
}
JSON
REPO=$WORK/repo
init_repo "$REPO"
info "backup while $before transfers are done and more are running"
ok backup --repo "$REPO" --config "$WORK/config.json" --json
SNAP=$(json_get "$OUT" "d['snapshot_id']")
after=$(count)
kill -0 "$writer" 2>/dev/null || fail "the writer stopped before the backup ended: make it longer"
kill "$writer"
wait "$writer" 2>/dev/null

t dump --repo "$REPO" "$SNAP" ledger.sql
mv "$OUT" "$WORK/ledger.sql"
svc_start restored mysql
mysql_q "$MYSQL_PORT" "$MYSQL_ROOT_PASSWORD" -e "CREATE DATABASE ledger" || fail "cannot create the database"
mysql_q "$MYSQL_PORT" "$MYSQL_ROOT_PASSWORD" ledger < "$WORK/ledger.sql" || fail "the dump does not load"
read -r total moved in_dump <<<"$(mysql_q "$MYSQL_PORT" "$MYSQL_ROOT_PASSWORD" ledger -e \
	"SELECT (SELECT SUM(balance) FROM checking) + (SELECT SUM(balance) FROM savings),
	        (SELECT SUM(balance) FROM savings) - $((ACCOUNTS * 1000)) - (SELECT COALESCE(SUM(amount), 0) FROM transfers),
	        (SELECT COUNT(*) FROM transfers)")"
info "dump: $in_dump transfers (before the backup: $before, after: $after); total $total"
[ "$total" = "$TOTAL" ] || fail "the invariant is broken in the dump: total $total, expected $TOTAL"
[ "$moved" = 0 ] || fail "savings and the transfer log disagree by $moved in the dump"
[ "$in_dump" -ge "$before" ] && [ "$in_dump" -lt "$after" ] ||
	fail "the dump was not taken while writes ran ($before <= $in_dump < $after expected)"
info "OK"
