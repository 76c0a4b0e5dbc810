#!/usr/bin/env bash
# redis-cli on this host ("tool" or "options"; also every redis-cli of
# the RDB swap) with a Secret that names an ACL user and gives no
# password: the user named is the one that connects (AUTH user "", which
# a nopass user takes and any other refuses), never the default user in
# its place, as tsarc's own client does (redis_component).
#
# redis-cli sends AUTH only when it has a password: given --user without
# one, it stays the default user. Here the default user needs no password
# and may SYNC; the Secret names "backup" (no SYNC, and a password the
# Secret does not give). Before, the backup ran as the default user and
# succeeded, while its record says "as backup".
. "$(dirname "$0")/lib.sh"
tsarc_repo

redis_up open "user default on nopass ~* &* +@all" "user nopw on nopass ~* &* +@all"
rcli "$PORT_OPEN" SET some:key 1 >/dev/null

info "redis-cli, a user without a password in the Secret: AUTH as that user, refused"
redis_deployment nopw-user "redis://127.0.0.1:$PORT_OPEN/0" backup "" '{"tool": "redis-cli"}'
RC=0
"$TSARC" backup --config "$WORK/nopw-user/config.json" --repo "$REPO" > "$WORK/b1.out" 2> "$WORK/b1.err" || RC=$?
[ "$RC" -ne 0 ] || fail "redis-cli backed up as the default user in place of 'backup': $(cat "$WORK/b1.out")"
grep -q -i -e "WRONGPASS" -e "AUTH" "$WORK/b1.err" || fail "the error does not say AUTH was refused: $(cat "$WORK/b1.err")"

info "redis-cli, a nopass user named without a password: connects as that user"
redis_deployment nopass-user "redis://127.0.0.1:$PORT_OPEN/0" nopw "" '{"tool": "redis-cli"}'
SNAP=$(backup_id "$WORK/nopass-user/config.json" b2) || exit 1
[ -n "$SNAP" ] || fail "no snapshot"

grep -q -e "$ADMIN_PW" -e "$USER_PW" "$WORK"/*.err "$WORK"/*.out "$WORK"/*.json && fail "a password was printed"
info "ok"
