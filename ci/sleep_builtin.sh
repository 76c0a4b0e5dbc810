# Sourced by bash scripts that poll (tests/*/lib.sh, ci/services.sh): makes
# `sleep` a bash builtin where Debian's bash-builtins is installed
# (ci/deps.sh). The polling loops of a test run sleep thousands of times,
# each time a fork and an exec otherwise, costly on the test machines.
# Without the package, /usr/bin/sleep as before.
enable -f sleep sleep 2>/dev/null || true
