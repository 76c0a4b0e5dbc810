# Helpers of the metrics and log tests (tests/metrics/*.sh); sourced, not run.
# Builds on tests/cli/lib.sh (t, ok, fail, expect_rc, json_get).
METRICS_TESTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck disable=SC1091
. "$METRICS_TESTS/../cli/lib.sh"

# Debian's python3, which has python3-prometheus-client and python3-yaml
# (a python3 earlier in PATH may not).
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
if ! "$PY" -c 'import prometheus_client, yaml' 2>/dev/null; then
	[ "${TSARC_TEST_REQUIRE_SERVICES:-0}" = 1 ] &&
		{ echo "FAIL: python3-prometheus-client or python3-yaml is not installed" >&2; exit 1; }
	echo "SKIP: python3-prometheus-client or python3-yaml is not installed (bash ci/deps.sh)"
	exit 77
fi

# prom FILE EXPR: evaluates EXPR over the samples of the Prometheus text in
# FILE, parsed by prometheus_client's parser: `s(name, **labels)` is the
# value of the one sample with that name and (at least) those labels, None
# when there is none; `n(name)` counts a family's samples. Fails when FILE
# does not parse.
prom() {
	"$PY" - "$1" "$2" <<'PY' || fail "$1 does not parse as Prometheus text, or ($2) failed"
import sys
from prometheus_client.parser import text_string_to_metric_families
text = open(sys.argv[1]).read()
samples = [x for fam in text_string_to_metric_families(text) for x in fam.samples]
def s(name, **labels):
    found = [x.value for x in samples if x.name == name and
             all(x.labels.get(k) == v for k, v in labels.items())]
    assert len(found) <= 1, f"{len(found)} samples of {name} {labels}"
    return found[0] if found else None
def n(name):
    return sum(1 for x in samples if x.name == name)
print(eval(sys.argv[2]))
PY
}

# prom_true FILE EXPR WHAT: EXPR must be True.
prom_true() {
	[ "$(prom "$1" "$2")" = True ] || fail "$3: ($2) is not true in $1: $(cat "$1")"
}

# free_port: a TCP port nothing listens on, on 127.0.0.1.
free_port() {
	"$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# files_config FILE TREE: a deployment of one file tree (local transport),
# restored by replacing the tree.
files_config() {
	"$PY" - "$1" "$2" <<'PY'
import json, sys
path, tree = sys.argv[1:]
json.dump({"profile": "none", "transport": {"type": "local"},
           "components": {"tree": {"kind": "files", "path": tree, "stream": "tree.tar",
                                   "restore": {"action": "replace-tree", "order": 1}}}},
          open(path, "w"), indent=2)
PY
}
