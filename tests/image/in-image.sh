#!/usr/bin/env bash
# Runs a command inside the image's filesystem the way a restricted pod
# would: its own mount namespace, the image's root read-only, a fresh tmpfs
# on /tmp (the only place it may write), /proc and /dev, the network of
# this host (the test servers listen on loopback), and the user given (e.g.
# an OpenShift-style arbitrary UID). The pid namespace stays the host's: a
# Redis the restore restarts must outlive the command, and the tests stop
# their servers by the pids in their pid files. No container runtime runs
# on the test machines (it cannot set up its cgroups), so this is how the
# tests use the image.
#
#   in-image.sh ROOTFS UID:GID COMMAND [ARG]...
# IMAGE_BINDS: colon-separated host folders bound at the same path inside
# (read-write), e.g. a test's work folder below /tmp.
# The command gets the image's PATH and TMPDIR/HOME=/tmp plus the TSARC_*,
# AWS_* and PG*/MYSQL*/REDIS* variables of the caller, nothing else.
set -euo pipefail
[ $# -ge 3 ] || { echo "usage: in-image.sh ROOTFS UID:GID COMMAND [ARG]..." >&2; exit 2; }
root=$(cd "$1" && pwd); user=$2; shift 2

env_args=(PATH=/usr/local/bin:/usr/bin:/bin TMPDIR=/tmp HOME=/tmp LANG=C.UTF-8)
while IFS= read -r -d '' kv; do
	case ${kv%%=*} in
	TSARC_*|AWS_*|PG*|MYSQL*|REDIS*) env_args+=("$kv") ;;
	esac
done < <(env -0)

exec unshare --mount --propagation private \
	env IMAGE_ROOT="$root" IMAGE_USER="$user" IMAGE_BINDS="${IMAGE_BINDS:-}" \
	bash -c '
set -euo pipefail
r=$IMAGE_ROOT
mount --bind "$r" "$r"
mount --rbind /proc "$r/proc"
mount --rbind /dev "$r/dev"
mount -o remount,bind,ro "$r"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$r/tmp"
IFS=: read -r -a binds <<<"$IMAGE_BINDS"
for b in "${binds[@]}"; do
	[ -n "$b" ] || continue
	case $b in /tmp/*) mkdir -p "$r$b" ;; *) [ -d "$r$b" ] || { echo "in-image.sh: $b: only folders below /tmp can be bound" >&2; exit 2; } ;; esac
	mount --bind "$b" "$r$b"
done
exec chroot --userspec="$IMAGE_USER" "$r" env -i "$@"
' in-image "${env_args[@]}" "$@"
