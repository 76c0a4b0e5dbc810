#!/usr/bin/env python3
"""Checks the rendered Kubernetes manifests of deploy/kubernetes.

usage: manifests.py KUBECTL MANIFESTS_DIR BACKUP_CALLS RESTORE_CALLS S3_BACKUP_CALLS
                    S3_RESTORE_CALLS

Every kustomization under MANIFESTS_DIR is rendered with `KUBECTL
kustomize` and checked: the fields a CronJob and Job need, the
restricted security context, no fixed UID in the OpenShift overlays, the
backup Role grants no write verb, no Role lets tsarc read a Secret or
ConfigMap it does not name (get by resourceNames only, never list or
watch: the namespace's other Secrets are not tsarc's), both ServiceAccounts
may get the ConfigMap kube-root-ca.crt (the cluster's identity) and do
nothing else to it, and every kubectl
call the kube transport made in the end-to-end tests is granted to the
ServiceAccount that runs that command, object by object. The other way
round too (least privilege): every grant of a Role is needed by a call of
the command it is for (the backup Role's by the backup, the restore Role's
by the restore), verb by verb and name by name, and every grant that
Kubernetes can limit to names is (resourceNames; UNNAMEABLE lists those it
cannot, each with why). BACKUP_CALLS and
RESTORE_CALLS are lists of files separated by ':' (deploy_kube and the
backup part of restore_layout216_kube; restore_kube and its restore part),
of the {"argv", "kinds", "names", "existed"} lines tests/deploy/fake_kubectl.c
writes to FAKE_KUBE_CALLS. The map from a kubectl call to the RBAC requests
it makes is below; a call it does not know fails the test, so a new kind of
call cannot go unnoticed. S3_BACKUP_CALLS and S3_RESTORE_CALLS are those of
the 2.16 layout with the files in S3 (restore_layout216_kube_s3): granted by
the base and by overlays/external-s3, whose backup Role must grant nothing
on pods.
"""
import json
import os
import subprocess
import sys

import yaml

KUBECTL, ROOT, BACKUP_CALLS, RESTORE_CALLS, S3_BACKUP_CALLS, S3_RESTORE_CALLS = sys.argv[1:7]
WRITE_VERBS = {"create", "update", "patch", "delete", "deletecollection", "escalate", "bind",
               "impersonate"}
# kubectl resource names (as tsarc passes them) -> (API group, resource).
TYPES = {"secret": ("", "secrets"), "secrets": ("", "secrets"),
         "configmap": ("", "configmaps"), "configmaps": ("", "configmaps"),
         "pod": ("", "pods"), "pods": ("", "pods"),
         "apimanager": ("apps.3scale.net", "apimanagers"),
         "apimanagers": ("apps.3scale.net", "apimanagers"),
         "deployment": ("apps", "deployments"), "dc": ("apps.openshift.io", "deploymentconfigs"),
         "deploymentconfig": ("apps.openshift.io", "deploymentconfigs")}
KINDS = {"Secret": ("", "secrets"), "ConfigMap": ("", "configmaps"),
         "APIManager": ("apps.3scale.net", "apimanagers")}
# A rule with resourceNames authorizes only a request that names an object
# (requests_of gives the name, or None): not the create of a new object nor
# a plain list (Kubernetes RBAC knows no name for them), but a list or
# watch with the field selector metadata.name=NAME (kubectl rollout
# status) and a subresource's create (pods/exec, deploymentconfigs/
# instantiate: the object is in the path).
#
# The grants Kubernetes cannot name, each with why: any other grant with no
# resourceNames fails (a patch of every Deployment of the namespace is a
# patch of what runs as every ServiceAccount there).
UNNAMEABLE = {
    # pods are found by label, and their names change with every rollout
    ("", "pods", "list"), ("", "pods", "get"),
    # exec is authorized per pod name, which changes: a known limit (README)
    ("", "pods/exec", "create"), ("", "pods/exec", "get"),
    # the APIManager's name is the installation's: read as a list
    ("apps.3scale.net", "apimanagers", "list"), ("apps.3scale.net", "apimanagers", "get"),
    ("apps.3scale.net", "apimanagers", "patch"),
    # a create of a new object names nothing RBAC can check
    ("", "secrets", "create"), ("", "configmaps", "create"),
    ("apps.3scale.net", "apimanagers", "create"),
    # a DeploymentConfig's ReplicationControllers are named per rollout
    ("", "replicationcontrollers", "get"), ("", "replicationcontrollers", "list"),
    ("", "replicationcontrollers", "watch"),
}
# Resources whose contents are not all tsarc's: read by name only.
NAMED_ONLY = {("", "secrets"), ("", "configmaps")}
# The workloads the 3scale profile rolls out (restore.rollout, else the
# component's workload), in either style: selector_style auto tries a
# Deployment, then a DeploymentConfig (3scale 2.14), and the tests give
# each workload one style only.
with open(os.path.join(ROOT, "..", "..", "profiles", "3scale.json")) as f:
    _profile = json.load(f)
ROLLOUTS = {c["restore"].get("rollout") or c.get("workload")
            for c in _profile["components"].values()
            if "rollout" in c.get("restore", {})}
WORKLOADS = {("apps", "deployments"), ("apps.openshift.io", "deploymentconfigs"),
             ("apps.openshift.io", "deploymentconfigs/instantiate")}
# The ServiceAccount each job's command runs as: the S3 role of each is the
# one README's "S3 permissions" names (backup, and check, which reads and
# takes a lock; maintenance deletes; restore writes into the cluster).
SA_OF_COMMAND = {"backup": "tsarc-backup", "check": "tsarc-backup",
                 "forget": "tsarc-maintenance", "prune": "tsarc-maintenance",
                 "restore": "tsarc-restore"}
failures = []


def fail(msg):
    failures.append(msg)


def render(rel):
    r = subprocess.run([KUBECTL, "kustomize", os.path.join(ROOT, rel)], capture_output=True,
                       text=True)
    if r.returncode:
        sys.exit(f"kubectl kustomize {rel} failed: {r.stderr.strip()}")
    return [d for d in yaml.safe_load_all(r.stdout) if d]


def strip_globals(argv):
    out, i = [], 0
    while i < len(argv):
        if argv[i] in ("-n", "--namespace", "--context", "--kubeconfig"):
            i += 2
            continue
        if argv[i].startswith(("--namespace=", "--context=", "--kubeconfig=")):
            i += 1
            continue
        out.append(argv[i])
        i += 1
    return out


def requests_of(call):
    """The RBAC (group, resource, verb, name) requests one kubectl call
    makes (name None: no object named, a list or a create)."""
    a = strip_globals(call["argv"])
    if not a:
        return None
    if a[0] == "get":
        words = [x for x in a[1:] if not x.startswith("-")]
        # drop option values: -l SELECTOR, -o json
        for opt in ("-l", "-o", "--selector", "--output"):
            if opt in a:
                v = a[a.index(opt) + 1]
                if v in words:
                    words.remove(v)
        if not words or words[0] not in TYPES:
            return None
        g, r = TYPES[words[0]]
        return {(g, r, "get", words[1]) if len(words) > 1 else (g, r, "list", None)}
    if a[0] == "exec":
        # kubectl reads the pod, then opens pods/exec: a POST (SPDY,
        # authorized as create) or, from kubectl 1.30, a WebSocket upgrade
        # of a GET (authorized as get; API servers from 1.35 ask create too).
        pod = a[a.index("-i") + 1] if "-i" in a else None
        return {("", "pods", "get", pod), ("", "pods/exec", "create", pod),
                ("", "pods/exec", "get", pod)}
    if a[0] == "apply":
        # Client-side apply: read the object, then create it (new) or patch
        # it (there before; not recorded: either).
        if not call["kinds"] or len(call.get("names", [])) != len(call["kinds"]):
            return None
        out = set()
        existed = call.get("existed") or [None] * len(call["kinds"])
        for k, name, there in zip(call["kinds"], call["names"], existed):
            if k not in KINDS:
                return None
            g, r = KINDS[k]
            out.add((g, r, "get", name))
            if there is not True:
                out.add((g, r, "create", None))
            if there is not False:
                out.add((g, r, "patch", name))
        return out
    if a[0] == "delete":
        words = [x for x in a[1:] if not x.startswith("-")]
        if len(words) != 2 or words[0] not in TYPES:
            return None
        g, r = TYPES[words[0]]
        return {(g, r, "delete", words[1])}
    if a[0] == "rollout" and len(a) >= 3:
        kind, _, _ = a[2].partition("/")
        if kind not in TYPES:
            return None
        g, r = TYPES[kind]
        name = a[2].partition("/")[2]
        if a[1] == "restart":
            return {(g, r, "get", name), (g, r, "patch", name)}
        if a[1] == "latest":
            return {(g, r, "get", name), (g, r + "/instantiate", "create", name)}
        if a[1] == "status":
            # kubectl gets the object, then lists and watches it with the
            # field selector metadata.name=NAME: all three by its name.
            out = {(g, r, "get", name), (g, r, "list", name), (g, r, "watch", name)}
            if r == "deploymentconfigs":
                out |= {("", "replicationcontrollers", v, None) for v in ("get", "list", "watch")}
            return out
    return None


def grants(roles):
    """(group, resource, verb, names): names None for a rule without
    resourceNames (any object), else the frozenset of the names."""
    out = set()
    for role in roles:
        for rule in role.get("rules", []):
            names = rule.get("resourceNames")
            names = frozenset(names) if names else None
            for g in rule.get("apiGroups", []):
                for r in rule.get("resources", []):
                    for v in rule.get("verbs", []):
                        out.add((g, r, v, names))
    return out


def granted(req, have):
    g, r, v, name = req
    for hg, hr, hv, names in have:
        if (hg, hr, hv) != (g, r, v):
            continue
        if names is None or (name is not None and name in names):
            return True
    return False


def load_calls(paths):
    calls = []
    for path in paths.split(":"):
        with open(path) as f:
            these = [json.loads(line) for line in f if line.strip()]
        if not these:
            sys.exit(f"{path}: no kubectl call recorded (did the end-to-end test run?)")
        calls += these
    return calls


def check_pod(what, spec, fixed_uid):
    psc = spec.get("securityContext") or {}
    if psc.get("runAsNonRoot") is not True:
        fail(f"{what}: pod securityContext.runAsNonRoot is not true")
    if (psc.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
        fail(f"{what}: seccompProfile is not RuntimeDefault")
    for key in ("runAsUser", "runAsGroup", "fsGroup"):
        if fixed_uid and not isinstance(psc.get(key), int):
            fail(f"{what}: {key} not set to a number")
        if not fixed_uid and key in psc:
            fail(f"{what}: {key} set in an OpenShift overlay (the SCC assigns it)")
    if spec.get("restartPolicy") != "Never":
        fail(f"{what}: restartPolicy is not Never")
    for c in spec.get("containers", []):
        sc = c.get("securityContext") or {}
        if sc.get("allowPrivilegeEscalation") is not False:
            fail(f"{what}/{c['name']}: allowPrivilegeEscalation is not false")
        if sc.get("readOnlyRootFilesystem") is not True:
            fail(f"{what}/{c['name']}: readOnlyRootFilesystem is not true")
        if (sc.get("capabilities") or {}).get("drop") != ["ALL"]:
            fail(f"{what}/{c['name']}: capabilities are not all dropped")
        res = c.get("resources") or {}
        for part in ("requests", "limits"):
            if "memory" not in (res.get(part) or {}):
                fail(f"{what}/{c['name']}: no memory {part}")
        mounts = {m["mountPath"] for m in c.get("volumeMounts", [])}
        if "/tmp" not in mounts:
            fail(f"{what}/{c['name']}: no writable /tmp on a read-only root")
        env = {e["name"] for e in c.get("env", [])}
        for need in ("TSARC_REPOSITORY", "TSARC_PASSWORD_FILE", "TMPDIR"):
            if need not in env:
                fail(f"{what}/{c['name']}: {need} not set")
        if any("PASSWORD" in e["name"] and "value" in e and not e["name"].endswith("_FILE")
               for e in c.get("env", [])):
            fail(f"{what}/{c['name']}: a password given as a plain env value")
        if c.get("args", [""])[0] not in ("backup", "restore", "forget", "check", "prune"):
            fail(f"{what}/{c['name']}: unexpected command {c.get('args')}")


def check_workloads(docs, overlay, fixed_uid):
    sa_of = {}
    for d in docs:
        what = f"{overlay}: {d['kind']} {d['metadata']['name']}"
        if d["kind"] == "CronJob":
            s = d["spec"]
            if s.get("concurrencyPolicy") != "Forbid":
                fail(f"{what}: concurrencyPolicy is not Forbid")
            for key in ("schedule", "startingDeadlineSeconds"):
                if key not in s:
                    fail(f"{what}: no {key}")
            job = s["jobTemplate"]["spec"]
        elif d["kind"] == "Job":
            job = d["spec"]
        else:
            continue
        for key in ("backoffLimit", "activeDeadlineSeconds"):
            if key not in job:
                fail(f"{what}: no {key}")
        spec = job["template"]["spec"]
        check_pod(what, spec, fixed_uid)
        cmd = spec["containers"][0]["args"][0]
        # A SIGTERM to a restore with --undo-snapshot rolls back: the
        # kubelet's default 30 s before SIGKILL would cut that short.
        if cmd == "restore" and spec.get("terminationGracePeriodSeconds", 30) < 600:
            fail(f"{what}: a restore's pod gets under 600 s to roll back after SIGTERM")
        if cmd in ("forget", "check", "prune"):
            if spec.get("automountServiceAccountToken") is not False:
                fail(f"{what}: repository-only job mounts a Kubernetes token")
        # Every job runs as a ServiceAccount of tsarc's, never the
        # namespace's default: without a long-lived key (IRSA, OpenShift
        # STS, Pod Identity) the S3 role comes from the ServiceAccount's
        # annotation, and annotating default would give it to every pod of
        # the namespace. retention deletes, so it gets a role of its own.
        sa = spec.get("serviceAccountName")
        if sa != SA_OF_COMMAND.get(cmd):
            fail(f"{what}: runs as ServiceAccount {sa or 'default'}, not "
                 f"{SA_OF_COMMAND.get(cmd)}")
        sa_of[cmd] = sa
    return sa_of


every = sorted(os.path.relpath(d, ROOT) for d, _, files in os.walk(ROOT)
               if "kustomization.yaml" in files)
known = {"base", "restore", "monitoring", "overlays/openshift", "overlays/openshift-restore",
         "overlays/pushgateway", "overlays/external-s3"}
if set(every) != known:
    fail(f"kustomizations {every}: this test knows {sorted(known)}; say what to check of a new one")
base = render("base")
by_kind = {}
for d in base:
    by_kind.setdefault(d["kind"], {})[d["metadata"]["name"]] = d
restore_docs = render("restore")
sa_of = check_workloads(base, "base", True)
sa_of.update(check_workloads(restore_docs, "restore", True))
for overlay in ("overlays/openshift", "overlays/openshift-restore"):
    check_workloads(render(overlay), overlay, False)
push = render("overlays/pushgateway")
check_workloads(push, "overlays/pushgateway", True)
for d in push:
    if d["kind"] == "ConfigMap" and not d["data"].get("pushgateway", "").startswith("http"):
        fail("overlays/pushgateway: the ConfigMap has no pushgateway URL")
    if d["kind"] != "CronJob":
        continue
    c = d["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"] for e in c["env"]}
    args = c["args"]
    if "--pushgateway" not in args or args[args.index("--pushgateway") + 1] != "$(TSARC_PUSHGATEWAY)":
        fail(f"overlays/pushgateway: CronJob {d['metadata']['name']} does not push: {args}")
    if not {"TSARC_PUSHGATEWAY", "POD_NAMESPACE"} <= env:
        fail(f"overlays/pushgateway: CronJob {d['metadata']['name']} lacks the variables its args use")
rules = [d for d in render("monitoring") if d["kind"] == "PrometheusRule"]
if len(rules) != 1 or not any(r.get("alert") for g in rules[0]["spec"]["groups"] for r in g["rules"]):
    fail("monitoring: no PrometheusRule with alerts")
for docs in (base, restore_docs):
    for d in docs:
        if d["kind"] in ("CronJob", "Job"):
            spec = (d["spec"]["jobTemplate"]["spec"] if d["kind"] == "CronJob" else d["spec"])["template"]["spec"]
            args = spec["containers"][0]["args"]
            if args[1:3] != ["--log-format", "json"]:
                fail(f"{d['kind']} {d['metadata']['name']}: not logging JSON lines: {args}")
# The restore Job's "latest" is the newest backup of the host the nightly
# CronJob records: a repository shared by several deployments would
# otherwise give it another one's (tsarc refuses "latest" across hosts).
host_of = {}
for docs in (base, restore_docs):
    for d in docs:
        if d["kind"] in ("CronJob", "Job"):
            spec = (d["spec"]["jobTemplate"]["spec"] if d["kind"] == "CronJob" else d["spec"])["template"]["spec"]
            args = spec["containers"][0]["args"]
            if args[0] in ("backup", "restore"):
                host_of[args[0]] = args[args.index("--host") + 1] if "--host" in args else None
if not host_of.get("backup") or host_of.get("restore") != host_of["backup"]:
    fail(f"the restore Job's --host is not the backup CronJob's: {host_of}")
if sa_of.get("backup") != "tsarc-backup" or sa_of.get("restore") != "tsarc-restore":
    fail(f"service accounts of backup/restore: {sa_of}")

def sa_grants(docs):
    """The grants of the tsarc-backup and tsarc-restore ServiceAccounts."""
    roles = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Role"}
    bound = {}
    for rb in (d for d in docs if d["kind"] == "RoleBinding"):
        for s in rb["subjects"]:
            bound.setdefault(s["name"], []).append(roles[rb["roleRef"]["name"]])
    return grants(bound.get("tsarc-backup", [])), grants(bound.get("tsarc-restore", []))


def check_roles(where, backup_grants, restore_grants):
    for g, r, v, _ in sorted(backup_grants, key=str):
        if v in WRITE_VERBS and (r, v) != ("pods/exec", "create"):
            fail(f"{where}: the backup Role grants a write verb: {v} {r} ({g or 'core'})")
        if "*" in (g, r, v):
            fail(f"{where}: the backup Role grants a wildcard: {g} {r} {v}")
    for label, have in (("backup", backup_grants), ("restore", restore_grants)):
        for g, r, v, names in sorted(have, key=str):
            if (g, r) in NAMED_ONLY and v != "create" and names is None:
                fail(f"{where}: tsarc-{label} may {v} every one of the namespace's {r}: name them "
                     "(resourceNames)")


def check_cluster_identity(where, label, have):
    """The kube transport reads the ConfigMap kube-root-ca.crt (the cluster's root
    CA) to record and compare the cluster: get by name, nothing more."""
    req = ("", "configmaps", "get", "kube-root-ca.crt")
    if not granted(req, have):
        fail(f"{where}: tsarc-{label} may not get the ConfigMap kube-root-ca.crt: backups and "
             "restores would name no cluster")
    for g, r, v, names in sorted(have, key=str):
        if (g, r) == ("", "configmaps") and v != "get" and names and "kube-root-ca.crt" in names:
            fail(f"{where}: tsarc-{label} may {v} the ConfigMap kube-root-ca.crt, which is the "
                 "cluster's, not tsarc's")


def role_grants(docs, name):
    return grants([d for d in docs if d["kind"] == "Role" and d["metadata"]["name"] == name])


def check_named(where, name, have):
    """Every grant Kubernetes can name is named (UNNAMEABLE says which it
    cannot, and why)."""
    for g, r, v, names in sorted(have, key=str):
        if names is None and (g, r, v) not in UNNAMEABLE:
            fail(f"{where}: Role {name} may {v} every one of the namespace's {r} "
                 f"({g or 'core'}): name them (resourceNames)")


def check_used(where, name, label, paths, have):
    """Every grant of Role `name` is needed by a kubectl call of the command
    it is for (`label`'s calls), name by name: a verb, a resource or a name
    no call needs is reach handed to whoever gets into the pod, for
    nothing. A delete by name is needed for every name the job writes
    (patch): the restore of an undo snapshot removes what the restore it
    undoes created, whichever of them that was."""
    reqs = set()
    for call in load_calls(paths):
        reqs |= requests_of(call) or set()
    for g, r, v, names in sorted(have, key=str):
        hits = [q for q in reqs if q[:3] == (g, r, v) and (names is None or q[3] in (names or ()))]
        if not hits:
            fail(f"{where}: Role {name} grants {v} on {r} ({g or 'core'}), which no kubectl call "
                 f"of the {label} needs")
            continue
        why = [q for q in reqs if q[:2] == (g, r) and q[2] in ({v, "patch"} if v == "delete" else {v})]
        for n in sorted(names or ()):
            if (g, r) in WORKLOADS and n in ROLLOUTS:
                continue
            if not any(q[3] == n for q in why):
                fail(f"{where}: Role {name} grants {v} on {r} {n} ({g or 'core'}), which no "
                     f"kubectl call of the {label} needs")


def check_calls(where, label, paths, have):
    seen = 0
    for call in load_calls(paths):
        reqs = requests_of(call)
        if reqs is None:
            fail(f"{label}: no RBAC mapping for kubectl call {call['argv']} (kinds {call['kinds']})")
            continue
        for req in sorted((q for q in reqs if not granted(q, have)), key=str):
            fail(f"{where}: {label}: kubectl {' '.join(strip_globals(call['argv'])[:3])} needs "
                 f"{req[2]} on {req[1]} {req[3] or ''} ({req[0] or 'core'}), not granted to tsarc-{label}")
        seen += 1
    print(f"{where}: {label}: {seen} kubectl calls checked")


# Each job's ServiceAccount is there (and no other), and tsarc-maintenance
# (retention: forget and prune, the repository alone) is bound to no Role.
accounts = set(by_kind.get("ServiceAccount", {}))
if accounts != set(SA_OF_COMMAND.values()):
    fail(f"base: ServiceAccounts {sorted(accounts)}, not {sorted(set(SA_OF_COMMAND.values()))}")
for rb in by_kind.get("RoleBinding", {}).values():
    for s in rb["subjects"]:
        if s["name"] == "tsarc-maintenance":
            fail(f"base: RoleBinding {rb['metadata']['name']} gives tsarc-maintenance a Role")
backup_grants, restore_grants = sa_grants(base)
check_roles("base", backup_grants, restore_grants)
check_cluster_identity("base", "backup", backup_grants)
check_cluster_identity("base", "restore", restore_grants)
check_calls("base", "backup", BACKUP_CALLS + ":" + S3_BACKUP_CALLS, backup_grants)
check_calls("base", "restore", RESTORE_CALLS + ":" + S3_RESTORE_CALLS, restore_grants)
# Least privilege, Role by Role: the backup Role's grants are for the
# backup (the restore's ServiceAccount is bound to it too, for the reads
# they share), the restore Role's for the restore.
for role, label, paths in (("tsarc-backup", "backup", BACKUP_CALLS + ":" + S3_BACKUP_CALLS),
                           ("tsarc-restore", "restore", RESTORE_CALLS + ":" + S3_RESTORE_CALLS)):
    check_named("base", role, role_grants(base, role))
    check_used("base", role, label, paths, role_grants(base, role))

# overlays/external-s3: nothing on pods for the nightly backup.
ext = render("overlays/external-s3")
check_workloads(ext, "overlays/external-s3", True)
ext_backup, ext_restore = sa_grants(ext)
check_roles("overlays/external-s3", ext_backup, ext_restore)
check_cluster_identity("overlays/external-s3", "backup", ext_backup)
check_cluster_identity("overlays/external-s3", "restore", ext_restore)
for g, r, v, _ in sorted(ext_backup, key=str):
    if r.startswith("pods"):
        fail(f"overlays/external-s3: the backup Role grants {v} on {r}")
if not any(r == "pods/exec" for _, r, _, _ in ext_restore):
    fail("overlays/external-s3: the restore cannot run its post_restore steps (no pods/exec)")
check_calls("overlays/external-s3", "backup", S3_BACKUP_CALLS, ext_backup)
check_calls("overlays/external-s3", "restore", S3_RESTORE_CALLS, ext_restore)
for role, label, paths in (("tsarc-backup", "backup", S3_BACKUP_CALLS),
                           ("tsarc-restore", "restore", RESTORE_CALLS + ":" + S3_RESTORE_CALLS)):
    check_named("overlays/external-s3", role, role_grants(ext, role))
ext_backup_role = role_grants(ext, "tsarc-backup")
check_used("overlays/external-s3", "tsarc-backup", "backup", S3_BACKUP_CALLS, ext_backup_role)

if failures:
    for f in failures:
        print("FAIL:", f)
    sys.exit(1)
print("manifests: OK")
