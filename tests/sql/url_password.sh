#!/usr/bin/env bash
# A Secret's database URL whose password holds '/', '?' or '#' without
# percent-encoding (mysql2://root:/pw@host/system): read as a URL, its host
# is the user and its path or query the rest of the password. That rest
# went on the dump tool's argv as the database (mysqldump's last argument,
# pg_dump's --dbname) and into the messages (a Redis URL's path "is not a
# Redis database"). Each must be refused, saying how to write the URL, with
# no part of the password on a command line or in the output. The dump
# tools are stand-ins that record their argv: nothing here needs a server.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

export TSARC_PASSWORD=url-test
REPO=$WORK/repo
init_repo "$REPO"
mkdir -p "$WORK/bin" "$WORK/tmp"
for tool in mysqldump pg_dump; do
	printf '#!/bin/sh\nprintf "%%s\\n" "$@" >> "%s/argv.txt"\nexit 2\n' "$WORK" >"$WORK/bin/$tool"
	chmod +x "$WORK/bin/$tool"
done

# leaks_none WHAT COMPONENT SECRET KEY URL: a backup of COMPONENT, on this
# host, whose Secret SECRET holds URL at KEY, is refused (exit 2, the
# message naming the encoding), and "Tail-Wq58" (the password's part
# after its '/', '?' or '#') is in neither the output nor an argv, and
# nothing is left in TMPDIR.
leaks_none() {
	local what=$1 comp=$2 secret=$3 key=$4 url=$5
	info "$what"
	rm -f "$WORK/argv.txt"
	secret_json "$WORK/res-$comp/secret/$secret.json" "$secret" "$key=$url"
	only_config "$WORK/$comp.json" "$WORK/res-$comp" "$comp" '{"external": true}'
	PATH=$WORK/bin:$PATH TMPDIR=$WORK/tmp t backup --repo "$REPO" --config "$WORK/$comp.json"
	[ -z "$(ls -A "$WORK/tmp")" ] || fail "$what: files left in TMPDIR: $(ls -A "$WORK/tmp")"
	! grep -q "Tail-Wq58" "$OUT" "$ERR" || fail "$what: the password is in the output: $(cat "$ERR")"
	[ ! -e "$WORK/argv.txt" ] || ! grep -q "Tail-Wq58" "$WORK/argv.txt" ||
		fail "$what: the password is on the command line: $(tr '\n' ' ' <"$WORK/argv.txt")"
	expect_rc 2 "$what"
	expect_err "must be percent-encoded" "$what: the refusal says how to write it"
}

leaks_none "MySQL, a password starting with '/'" system-mysql system-database URL \
	"mysql2://root:/Tail-Wq58@127.0.0.1:1/system"
leaks_none "MySQL, a password of digits, '/' and more" system-mysql system-database URL \
	"mysql2://root:12/Tail-Wq58@127.0.0.1:1/system"
leaks_none "PostgreSQL (zync), a password starting with '/'" zync-database zync DATABASE_URL \
	"postgresql://zync:/Tail-Wq58@127.0.0.1:1/zync_production"
leaks_none "PostgreSQL, a password holding '?'" zync-database zync DATABASE_URL \
	"postgresql://zync:12?Tail-Wq58@127.0.0.1:1/zync_production"
leaks_none "Redis, a password starting with '/'" system-redis system-redis URL \
	"redis://u:/Tail-Wq58@127.0.0.1:1/1"
leaks_none "Redis, a password holding '#'" system-redis system-redis URL \
	"redis://u:12#Tail-Wq58@127.0.0.1:1/1"
no_snapshot "$REPO" "refused URLs"
finish
