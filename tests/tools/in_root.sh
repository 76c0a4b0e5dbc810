#!/bin/sh
# Runs COMMAND from the root filesystem ROOT of a newer Debian suite
# (ci/debian-root.sh: MySQL, PostgreSQL 17) as if it were installed on this
# host: in a mount namespace of its own, ROOT's /tmp is this host's /tmp (and
# TMPDIR, where it is elsewhere), so the files a test makes (data folders,
# sockets, certificates, dumps, tsarc's option files) have the same path
# inside and out. The namespace ends with the command: nothing to unmount,
# and ROOT's own /tmp is never written. Loopback and the process table are
# this host's; servers listen where tsarc reaches them. This host's /proc is
# ROOT's too: a client tsarc runs reads its in-memory option file (the
# password) as /dev/fd/N, a link to /proc/self/fd/N. COMMAND is looked up
# in ROOT's own PATH (Debian's default): this host's PATH can name folders
# under /tmp, where a test's wrapper of the same name would run again
# inside. It runs in ROOT's / (chroot(8) goes there): a test's folders
# are often private to root, and a server that drops to its own user there
# could not read its working directory. With --here, it runs in the folder
# it was started in (under /tmp or TMPDIR: the same folder inside), so
# relative paths name the same files: the Redis swap gives redis-check-rdb
# its file's name in the data folder, as a pod's server reads it.
#   sh tests/tools/in_root.sh [--here] ROOT COMMAND [ARG...]
# Needs root (unshare, chroot): the tests that use it skip without it.
set -eu
here=/
if [ "${1:-}" = --here ]; then
	here=$PWD
	shift
fi
[ $# -ge 2 ] || { echo "usage: tests/tools/in_root.sh [--here] ROOT COMMAND [ARG...]" >&2; exit 2; }
root=$(cd "$1" && pwd)
shift
[ -e "$root/.complete" ] || { echo "in_root.sh: $root is not a finished root (ci/debian-root.sh)" >&2; exit 2; }
tmp=$(cd "${TMPDIR:-/tmp}" && pwd -P)
exec unshare --mount --propagation private -- sh -c '
	root=$1 tmp=$2 here=$3
	shift 3
	mount --rbind /tmp "$root/tmp"
	mount --rbind /proc "$root/proc"
	if [ "$tmp" != /tmp ]; then
		mkdir -p "$root$tmp"
		mount --rbind "$tmp" "$root$tmp"
	fi
	case $here in /|/tmp|/tmp/*|"$tmp"|"$tmp"/*) ;; *) echo "in_root.sh: --here: $here is not under /tmp" >&2; exit 2 ;; esac
	exec chroot "$root" /bin/sh -c '\''cd "$1" && shift && exec /usr/bin/env \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"'\'' \
		in_root "$here" "$@"' \
	in_root "$root" "$tmp" "$here" "$@"
