#!/usr/bin/env bash
# deploy/kubernetes/monitoring/prometheusrule.yaml, evaluated by `promtool test
# rules` (Debian's prometheus package) against metrics tsarc wrote with
# --metrics-file: a backup much smaller than the one before, a failed
# backup, a repository whose backups never succeeded, a check that found
# damage; 25 and 27 hours later, the missing-backup alerts. The tool's
# timestamps are shifted so that the last run ends at promtool's time 0.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

PROMTOOL=$(command -v promtool) || {
	[ "${TSARC_TEST_REQUIRE_SERVICES:-0}" = 1 ] && fail "promtool (Debian package prometheus) is not installed"
	echo "SKIP: promtool is not installed (bash ci/deps.sh)"
	exit 77
}
RULE=$METRICS_TESTS/../../deploy/kubernetes/monitoring/prometheusrule.yaml
M=$WORK/tsarc.prom
A=$WORK/repo-a
B=$WORK/repo-b
C=$WORK/repo-never

info "metrics from real runs"
init_repo "$A" --chunk-min 65536 --chunk-avg 131072 --chunk-max 262144
init_repo "$B"
"$GEN" 1M --seed 7 >"$WORK/big.sql"
head -c 200000 "$WORK/big.sql" >"$WORK/small.sql"
t_in "$WORK/big.sql" backup --repo "$A" --stdin --name db.sql --metrics-file "$M"
expect_rc 0 "backup A"
sleep 1 # snapshot times are whole seconds
t_in "$WORK/small.sql" backup --repo "$A" --stdin --name db.sql --metrics-file "$M"
expect_rc 0 "smaller backup A"
CHUNK=$(find "$A/data" -type f -name '[0-9a-f]*' | sort | head -1)
flip_byte "$CHUNK" 40
t check --repo "$A" --read-data --metrics-file "$M"
expect_rc 3 "check A with a damaged chunk"
t_in "$WORK/small.sql" backup --repo "$B" --stdin --name db.sql --metrics-file "$M"
expect_rc 0 "backup B"
t check --repo "$B" --metrics-file "$M"
expect_rc 0 "check B"
TSARC_PASSWORD=wrong t_in "$WORK/small.sql" backup --repo "$B" --stdin --name db.sql --metrics-file "$M"
expect_rc 12 "failed backup B"
t_in "$WORK/small.sql" backup --repo "$C" --stdin --name db.sql --metrics-file "$M"
expect_rc 10 "backup into no repository"

info "promtool check rules, then promtool test rules"
"$PY" - "$RULE" "$M" "$WORK" "$A" "$B" "$C" <<'PY' || fail "cannot build the promtool test"
import sys, yaml
from prometheus_client.parser import text_string_to_metric_families
rule_path, prom_path, work, A, B, C = sys.argv[1:]
doc = yaml.safe_load(open(rule_path))
assert doc["apiVersion"] == "monitoring.coreos.com/v1" and doc["kind"] == "PrometheusRule", doc
# promtool reads plain rule groups: the PrometheusRule's spec.
yaml.safe_dump(doc["spec"], open(f"{work}/rules.yml", "w"))
rules = {r["alert"]: r for g in doc["spec"]["groups"] for r in g["rules"]}
samples = [x for fam in text_string_to_metric_families(open(prom_path).read()) for x in fam.samples]
ref = max(x.value for x in samples if x.name == "tsarc_last_run_timestamp_seconds")
series = []
for x in samples:
    v = x.value - ref if x.name.endswith("_timestamp_seconds") else x.value
    labels = ",".join(f'{k}="{val}"' for k, val in sorted(x.labels.items()))
    series.append({"series": f"{x.name}{{{labels}}}", "values": f"{v:.3f}+0x1700"})

def alert(name, repo, **extra):
    r = rules[name]
    labels = dict(repository=repo, **extra, **r["labels"])
    ann = {k: v.replace("{{ $labels.repository }}", repo) for k, v in r["annotations"].items()}
    return {"exp_labels": labels, "exp_annotations": ann}

def case(t, name, *alerts):
    return {"eval_time": t, "alertname": name, "exp_alerts": list(alerts)}

tests = [{
    "interval": "1m",
    "input_series": series,
    "alert_rule_test": [
        case("1h", "TsarcBackupMuchSmaller", alert("TsarcBackupMuchSmaller", A, command="backup")),
        case("1h", "TsarcBackupFailed", alert("TsarcBackupFailed", B), alert("TsarcBackupFailed", C)),
        case("1h", "TsarcCheckFailed", alert("TsarcCheckFailed", A)),
        case("1h", "TsarcNoRecentBackup"),
        case("25h", "TsarcNoRecentBackup"),
        case("25h", "TsarcBackupNeverSucceeded"),
        case("27h", "TsarcNoRecentBackup", alert("TsarcNoRecentBackup", A), alert("TsarcNoRecentBackup", B)),
        case("27h", "TsarcBackupNeverSucceeded", alert("TsarcBackupNeverSucceeded", C)),
    ],
}]
yaml.safe_dump({"rule_files": ["rules.yml"], "evaluation_interval": "1m", "tests": tests},
               open(f"{work}/rules_test.yml", "w"))
PY
(cd "$WORK" && "$PROMTOOL" check rules rules.yml) >"$WORK/check.log" 2>&1 ||
	{ cat "$WORK/check.log" >&2; fail "promtool check rules refused the rules"; }
(cd "$WORK" && "$PROMTOOL" test rules rules_test.yml) >"$WORK/test.log" 2>&1 ||
	{ cat "$WORK/test.log" >&2; fail "promtool test rules failed"; }
grep -q SUCCESS "$WORK/test.log" || { cat "$WORK/test.log" >&2; fail "promtool did not say SUCCESS"; }

info "the test can fail: a rule that is never true breaks it"
sed 's/< 0.5 \* tsarc_backup_previous_size_bytes/< 0.01 * tsarc_backup_previous_size_bytes/' "$WORK/rules.yml" >"$WORK/rules.broken"
mv "$WORK/rules.broken" "$WORK/rules.yml"
! (cd "$WORK" && "$PROMTOOL" test rules rules_test.yml) >"$WORK/test2.log" 2>&1 ||
	fail "promtool passed a rule that cannot fire"

finish
