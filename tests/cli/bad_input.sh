#!/usr/bin/env bash
# Bad input: wrong password, no repository, init twice, garbage or truncated
# config and snapshot objects, a missing chunk, usage errors, password files.
# Every case: the documented exit code, a clear message, no crash (exit code
# < 128, no sanitizer report), and the password never printed or stored.
. "$(dirname "$0")/lib.sh"

R=$WORK/repo
init_repo "$R"
"$GEN" 3M --seed 5 >"$WORK/in.sql"
backup_file "$R" db.sql "$WORK/in.sql"

# --- wrong password: exit 12 for every command ---
for cmd in "snapshots" "show latest" "dump latest db.sql" "check" "check --read-data"; do
	TSARC_PASSWORD="not-the-password" t $cmd --repo "$R"
	expect_rc 12 "$cmd with a wrong password"
	expect_err "wrong password" "$cmd with a wrong password"
done
TSARC_PASSWORD="not-the-password" t_in "$WORK/in.sql" backup --repo "$R" --stdin --name x
expect_rc 12 "backup with a wrong password"
expect_err "wrong password" "backup with a wrong password"
[ "$(ls "$R/snapshots" | wc -l)" -eq 1 ] || fail "a backup with a wrong password wrote a snapshot"

# --- the password from a file: --password-file and TSARC_PASSWORD_FILE ---
printf '%s\n' "$PASSWORD" >"$WORK/pw"
printf 'wrong-one\n' >"$WORK/badpw"
chmod 600 "$WORK/pw" "$WORK/badpw"
TSARC_PASSWORD= t snapshots --repo "$R" --password-file "$WORK/pw"
expect_rc 0 "--password-file"
expect_out "^${SNAP:0:10} " "--password-file lists the snapshot"
TSARC_PASSWORD= TSARC_PASSWORD_FILE="$WORK/pw" t snapshots --repo "$R"
expect_rc 0 "TSARC_PASSWORD_FILE"
expect_out "^${SNAP:0:10} " "TSARC_PASSWORD_FILE lists the snapshot"
TSARC_PASSWORD_FILE="$WORK/pw" t dump --repo "$R" latest db.sql
expect_rc 0 "dump with TSARC_PASSWORD_FILE"
cmp -s "$OUT" "$WORK/in.sql" || fail "dump with TSARC_PASSWORD_FILE differs"
TSARC_PASSWORD= t snapshots --repo "$R" --password-file "$WORK/badpw"
expect_rc 12 "--password-file with a wrong password"
expect_err "wrong password" "--password-file with a wrong password"
TSARC_PASSWORD= t snapshots --repo "$R" --password-file "$WORK/no-such-file"
expect_rc 2 "--password-file that does not exist"
expect_err "password file" "a missing password file is named"
: >"$WORK/emptypw"
TSARC_PASSWORD= t snapshots --repo "$R" --password-file "$WORK/emptypw"
expect_rc 2 "an empty password file"
expect_err "empty" "an empty password file"
# No password at all and no terminal to ask on.
if command -v setsid >/dev/null; then
	RC=0
	TSARC_PASSWORD= setsid -w "$TSARC" snapshots --repo "$R" </dev/null >"$OUT" 2>"$ERR" || RC=$?
	sanitizer_check "$RC" "$ERR" "tsarc snapshots without a password"
	expect_rc 2 "no password and no terminal"
	expect_err "no password given" "no password and no terminal"
fi
# A repository created from a password file opens with the same password.
TSARC_PASSWORD= t init --repo "$WORK/fromfile" --password-file "$WORK/pw"
expect_rc 0 "init with --password-file"
t snapshots --repo "$WORK/fromfile"
expect_rc 0 "a repository made with --password-file, opened with TSARC_PASSWORD"

# --- text a snapshot records: no control characters, valid UTF-8 ---
# A tag, the host, a stream's name and kind are shown to operators later:
# one with a C0 control, DEL, a C1 control (U+009B is CSI) or invalid UTF-8
# is refused before the repository is touched (exit 2), the message names
# the field and shows the value cleaned, and no snapshot is written.
RT=$WORK/repo-text
init_repo "$RT"
# U+061C, U+200B..U+200F, U+2028..U+202E, U+2060..U+206F, U+FEFF, and the
# other invisible ones (U+00AD, U+034F, U+115F/U+1160, U+17B4/U+17B5,
# U+180E, U+3164, U+FFA0, U+FFF0..U+FFFB, U+1BCA0..U+1BCA3,
# U+1D173..U+1D17A, U+E0000..U+E00FF, U+E01F0..U+E0FFF) in UTF-8.
BIDI_BYTES=$(printf '%s' '\330\234\|\342\200[\213-\217\250-\256]\|\342\201[\240-\257]\|\357\273\277' \
	'\|\302\255\|\315\217\|\341\205[\237\240]\|\341\236[\264\265]\|\341\240\216\|\343\205\244' \
	'\|\357\276\240\|\357\277[\260-\273]\|\360\233\262[\240-\243]\|\360\235\205[\263-\272]' \
	'\|\363\240[\200-\203]\|\363\240\207[\260-\277]\|\363\240[\210-\277]')
BIDI_BYTES=$(printf "$BIDI_BYTES")
refused() { # WHAT WANT ARGS...: backup --stdin ARGS is refused, the message matching WANT
	local what=$1 want=$2
	shift 2
	t_in "$WORK/in.sql" backup --repo "$RT" --stdin "$@"
	expect_rc 2 "$what"
	expect_err "$want" "$what"
	! LC_ALL=C grep -q "$(printf '[\001-\010\013-\037\177]\|\302[\200-\237]')" "$ERR" ||
		fail "$what: the message holds a control character: $(cat -v "$ERR")"
	! LC_ALL=C grep -q "$BIDI_BYTES" "$ERR" ||
		fail "$what: the message holds a bidi or invisible character: $(cat -v "$ERR")"
	iconv -f UTF-8 -t UTF-8 "$ERR" >/dev/null 2>&1 || fail "$what: the message is not UTF-8: $(cat -v "$ERR")"
	[ -z "$(find "$RT/snapshots" "$RT/locks" -type f 2>/dev/null)" ] ||
		fail "$what: a snapshot or a lock was written"
}
refused "a tag with ESC" "tag 'nightly\?\[2J': control characters are not allowed" \
	--name x --tag ok --tag "$(printf 'nightly\033[2J')"
refused "a tag with a newline" "tag 'a\?b': control characters" --name x --tag "$(printf 'a\nb')"
refused "a tag with DEL" "tag 'a\?': control characters" --name x --tag "$(printf 'a\177')"
refused "a tag with CSI (U+009B)" "tag 'a\?\[2J': control characters" --name x \
	--tag "$(printf 'a\302\233[2J')"
refused "a tag of invalid UTF-8" "tag 'caf\?': not valid UTF-8" --name x --tag "$(printf 'caf\351')"
refused "an overlong '/' in a tag" "tag '\?\?etc': not valid UTF-8" --name x \
	--tag "$(printf '\300\257etc')"
# Nor a character that reorders or hides text (U+202E shows it reversed:
# "Trojan Source"): the tag a listing shows would not be the one matched.
refused "a tag with RLO (U+202E)" \
	"tag 'nightly\?daolpu': bidirectional or invisible formatting characters are not allowed" \
	--name x --tag "$(printf 'nightly\342\200\256daolpu')"
refused "a tag with a soft hyphen (U+00AD)" \
	"tag 'night\?ly': bidirectional or invisible formatting characters are not allowed" \
	--name x --tag "$(printf 'night\302\255ly')"
refused "a stream name with tag characters (U+E0000..)" \
	"stream name 'db\.sql\?\?': bidirectional or invisible" \
	--name "$(printf 'db.sql\363\240\201\270\363\240\201\277')"
refused "a stream name with a BOM" "stream name '\?db\.sql': bidirectional or invisible" \
	--name "$(printf '\357\273\277db.sql')"
refused "a stream name with ESC" "stream name 'db\?\[31m\.sql': control characters" \
	--name "$(printf 'db\033[31m.sql')"
refused "a stream name of invalid UTF-8" "stream name 'db\?\.sql': not valid UTF-8" \
	--name "$(printf 'db\377.sql')"
refused "a host with CR" "host 'web1\?': control characters" --name x --host "$(printf 'web1\r')"
refused "a stream kind with BEL" "stream kind 'k\?': control characters" --name x \
	--kind "$(printf 'k\007')"
# A deployment's stream names: refused when the config loads.
printf '{"profile": "none", "transport": {"type": "local"}, "components": {"a": {"kind": "exec",
 "command": ["true"], "stream": "a\\u001b]0;x\\u0007.out"}}}\n' >"$WORK/bad-stream.json"
t backup --repo "$RT" --config "$WORK/bad-stream.json"
expect_rc 2 "a config whose stream name holds control characters"
expect_err "components\.a\.stream 'a\?\]0;x\?\.out': control characters" "a config's stream name"
[ -z "$(find "$RT/snapshots" "$RT/locks" -type f 2>/dev/null)" ] ||
	fail "a config with a bad stream name wrote a snapshot or a lock"
# Text that is none of these is recorded as given: UTF-8 beyond ASCII too.
t_in "$WORK/in.sql" backup --repo "$RT" --stdin --name "données-日本.sql" --tag "café ☕" \
	--host "höst"
expect_rc 0 "a backup with UTF-8 tag, host and name"
ok show latest --repo "$RT"
expect_out "café ☕" "show lists the UTF-8 tag"
expect_out "données-日本\.sql" "show lists the UTF-8 stream name"

# --- a snapshot's words cannot drive the terminal ---
# Tags and names are whatever their writer gave (an older tsarc took any
# bytes, and a repository's writer may be hostile): such a snapshot still
# lists, shows and dumps; ESC, BEL, CR, CSI (U+009B), RLO (U+202E), a soft
# hyphen and a tag character show as '?', in the listing, in show, and in a
# message quoting one; --json escapes the controls. The same for the
# free-form details (meta) of the snapshot and its streams and a stream's
# start time (a load takes it as it is), read from the repository as well:
# show prints the stream's, forget --group-by namespace the snapshot's
# namespace.
RW=$WORK/repo-words
init_repo "$RW"
TAG=$(printf 'ok\033]0;owned\007\033[2J\r\302\233\342\200\256x\302\255\363\240\201\270')
NAME=$(printf 'db\033[31m.sql')
STREAM_META='{"source":"a\u009b2J\u202eb\u00adc","tool":"\u001b]0;x\u0007"}'
SNAP_META='{"namespace":"prod\u202e\u00adx\u009b"}'
t_in "$WORK/in.sql" backup --repo "$RW" --stdin --name db.sql
expect_rc 0 "a backup to give words to"
TSARC_REPOSITORY=$RW "$TSARC_FORGE_SNAPSHOT" "$(tail -1 "$OUT")" \
	"$(printf 'h\033[1m\302\233\342\200\256')" "$TAG" "$NAME" "$STREAM_META" "$SNAP_META" \
	"$(printf '2026\033[2J\302\233\342\200\256\302\255')" \
	>"$WORK/forged" || fail "tsarc-forge-snapshot failed"
for cmd in "snapshots" "show latest"; do
	ok $cmd --repo "$RW"
	! grep -q "$(printf '[\033\007\r]\|\302\233')" "$OUT" || fail "$cmd printed a control character"
	! LC_ALL=C grep -q "$BIDI_BYTES" "$OUT" || fail "$cmd printed U+202E: $(cat -v "$OUT")"
	grep -qF 'ok?]0;owned??[2J???x??' "$OUT" || fail "$cmd: the tag is not shown: $(cat -v "$OUT")"
done
grep -qF 'db?[31m.sql' "$OUT" || fail "show: the stream name is not shown: $(cat -v "$OUT")"
grep -qF 'start:   2026?[2J???' "$OUT" ||
	fail "show: the stream's start is not shown cleaned: $(cat -v "$OUT")"
grep -qF 'meta:    {"source":"a?2J?b?c","tool":"\u001b]0;x\u0007"}' "$OUT" ||
	fail "show: the stream's meta is not shown cleaned: $(cat -v "$OUT")"
for by in host namespace; do
	ok forget --repo "$RW" --keep-last 1 --group-by "$by" --dry-run
	! grep -q "$(printf '[\033\007\r]\|\302\233')" "$OUT" ||
		fail "forget --group-by $by printed a control character: $(cat -v "$OUT")"
	! LC_ALL=C grep -q "$BIDI_BYTES" "$OUT" ||
		fail "forget --group-by $by printed an invisible character: $(cat -v "$OUT")"
done
grep -qF 'group {"namespace":"prod??x?"}' "$OUT" ||
	fail "forget: the namespace is not shown cleaned: $(cat -v "$OUT")"
ok show latest --repo "$RW" --json
grep -qF 'ok\u001b]0;owned\u0007' "$OUT" || fail "show --json: $(cat -v "$OUT")"
# --json keeps every character as stored.
[ "$(json_get "$OUT" "(d['streams'][0]['meta']['source'], d['tags'][0][-3:])")" = \
	"('a\x9b2J\u202eb\xadc', 'x\xad\U000e0078')" ] ||
	fail "show --json changed the stream's meta or the tag: $(cat -v "$OUT")"
# A damaged stream is named as shown, never with its raw bytes.
cp -a "$RW" "$WORK/repo-words-damaged"
rm "$(find "$WORK/repo-words-damaged/data" -type f -name '[0-9a-f]*' | head -1)"
t check --repo "$WORK/repo-words-damaged"
expect_rc 3 "check of a forged snapshot whose data is missing"
! grep -q "$(printf '\033')" "$OUT" || fail "check printed a stream name's ESC: $(cat -v "$OUT")"
expect_out "stream 'db\?\[31m\.sql'" "check names the damaged stream"
# A key file's host and creation time are plain JSON anyone with write
# access to the store can change (the file stays named by its hash).
KW=$WORK/repo-words-key
cp -a "$RW" "$KW"
python3 - "$KW/keys" <<'PY' || fail "could not forge the key file"
import glob, hashlib, json, os, sys
old = glob.glob(os.path.join(sys.argv[1], '*'))[0]
d = json.load(open(old))
d['host'] = 'k\x1b[2J\u009b\u202e\u00adz'
d['created'] = '2026\x07\u2066'
text = json.dumps(d, ensure_ascii=False).encode()
os.remove(old)
open(os.path.join(sys.argv[1], hashlib.sha256(text).hexdigest()), 'wb').write(text)
PY
ok key list --repo "$KW"
! grep -q "$(printf '[\033\007\r]\|\302\233')" "$OUT" ||
	fail "key list printed a control character: $(cat -v "$OUT")"
! LC_ALL=C grep -q "$BIDI_BYTES" "$OUT" || fail "key list printed an invisible character: $(cat -v "$OUT")"
expect_out 'k\?\[2J\?\?\?z' "key list shows the key file's host cleaned"
t dump latest "$(printf 'db\033[31m.sq')" --repo "$RW"
expect_rc 1 "dump of a stream that is not there"
! grep -q "$(printf '\033')" "$ERR" || fail "an error quoting a name printed ESC: $(cat -v "$ERR")"
expect_err 'db\?\[31m\.sq' "the error names the stream"
ok dump latest "$NAME" --repo "$RW"
cmp -s "$OUT" "$WORK/in.sql" || fail "the stream of the forged snapshot does not dump as it was"

# --- no repository there ---
mkdir "$WORK/empty"
t snapshots --repo "$WORK/empty"
expect_rc 10 "an empty directory"
expect_err "no tsarc repository at" "an empty directory"
mkdir -p "$WORK/random/data" "$WORK/random/snapshots"
head -c 4096 /dev/urandom >"$WORK/random/blob"
head -c 4096 /dev/urandom >"$WORK/random/snapshots/$(printf '%064d' 0)"
for cmd in "snapshots" "check" "dump latest db.sql"; do
	t $cmd --repo "$WORK/random"
	expect_rc 10 "$cmd in a directory of random files"
	expect_err "no tsarc repository at" "$cmd in a directory of random files"
done
t_in "$WORK/in.sql" backup --repo "$WORK/random" --stdin --name x
expect_rc 10 "backup into a directory of random files"
t check --repo "$WORK/does/not/exist"
expect_rc 10 "a path that does not exist"
expect_err "no tsarc repository at" "a path that does not exist"
[ ! -e "$WORK/does" ] || fail "check created the missing repository path"
# A repository whose config is gone but whose key files are there is
# damaged, not absent: init over it would seal every later write with a
# new master key (its snapshots then unreadable), so it refuses, and no
# command advises it (tests/s3/object_lock_config.sh: the config hidden
# behind a delete marker on S3).
init_repo "$WORK/noconf"
rm "$WORK/noconf/config"
for cmd in "snapshots" "check"; do
	t $cmd --repo "$WORK/noconf"
	expect_rc 3 "$cmd in a repository without its config"
	expect_err "key files but no config" "$cmd in a repository without its config"
	! grep -qi "create one with" "$ERR" || fail "$cmd advises init over a repository: $(cat "$ERR")"
done
t init --repo "$WORK/noconf" --kdf-memory 4
[ "$RC" -ne 0 ] || fail "init over a repository without its config succeeded"
expect_err "key files but no config" "init over a repository without its config"
[ ! -e "$WORK/noconf/config" ] && [ "$(find "$WORK/noconf/keys" -type f | wc -l)" = 1 ] ||
	fail "a refused init wrote a config or a key file"
TSARC_REPOSITORY="$WORK/empty" t snapshots
expect_rc 10 "TSARC_REPOSITORY pointing to an empty directory"
t snapshots
expect_rc 2 "no repository given"
expect_err "no repository given" "no repository given"

# --- credentials put in a URL by mistake: refused, never quoted ---
# The S3 repository URL (TSARC_REPOSITORY too: not on the command line) and
# the STS endpoint of the web identity chain. Each secret below holds
# "Cred-Hk41"; none may reach the output. No server is asked: each is
# refused before any request.
for url in "s3:http://AKID:Cred-Hk41@127.0.0.1:1/bucket" \
	"s3:http://AKID:wJalr/Cred-Hk41@127.0.0.1:1/bucket" "https://AKID:Cred-Hk41@127.0.0.1:1/bucket"; do
	TSARC_REPOSITORY=$url t snapshots
	[ "$RC" -ne 0 ] || fail "credentials in the repository URL: exit 0"
done
echo web-identity-token >"$WORK/token"
for url in "http://user:Cred-Hk41@127.0.0.1:1" "ftp://user:Cred-Hk41@127.0.0.1:1" \
	"http://user:a/Cred-Hk41@127.0.0.1:1"; do
	for var in TSARC_S3_STS_ENDPOINT AWS_ENDPOINT_URL_STS; do
		(
			unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE \
				TSARC_S3_STS_ENDPOINT AWS_ENDPOINT_URL_STS
			export AWS_CONFIG_FILE=$WORK/none AWS_SHARED_CREDENTIALS_FILE=$WORK/none \
				AWS_EC2_METADATA_DISABLED=true AWS_REGION=us-east-1 \
				AWS_WEB_IDENTITY_TOKEN_FILE=$WORK/token AWS_ROLE_ARN=arn:aws:iam::1:role/r
			export "$var=$url"
			t snapshots --repo s3:http://127.0.0.1:1/bucket
			expect_rc 2 "credentials in $var"
			expect_err "STS endpoint" "credentials in $var: the refusal names it"
		) || exit 1
	done
done
# The container credentials endpoint may carry basic auth (curl sends it):
# taken, but its failure quotes it without.
(
	unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE \
		AWS_WEB_IDENTITY_TOKEN_FILE AWS_ROLE_ARN AWS_CONTAINER_CREDENTIALS_RELATIVE_URI
	export AWS_CONFIG_FILE=$WORK/none AWS_SHARED_CREDENTIALS_FILE=$WORK/none \
		AWS_EC2_METADATA_DISABLED=true \
		AWS_CONTAINER_CREDENTIALS_FULL_URI="https://user:Cred-Hk41@127.0.0.1:1/creds"
	t snapshots --repo s3:http://127.0.0.1:1/bucket
	[ "$RC" -ne 0 ] || fail "a container credentials endpoint that refuses: exit 0"
	expect_err "container credentials endpoint https://\*\*\*@127.0.0.1:1/creds" \
		"the container credentials endpoint is named"
) || exit 1
! grep -qaF "Cred-Hk41" "$TRANSCRIPT" ||
	fail "credentials in a URL were printed: $(grep -aF "Cred-Hk41" "$TRANSCRIPT" | head -3)"

# --- init twice ---
t init --repo "$R"
[ "$RC" -ne 0 ] || fail "init over an existing repository succeeded"
[ "$RC" -lt 128 ] || fail "init twice crashed"
expect_err "repository already exists" "init twice"
ok snapshots --repo "$R"
expect_out "^${SNAP:0:10} " "the repository survives a second init"

# --- damaged config ---
C=$WORK/conf
cp -a "$R" "$C"
CONF_SIZE=$(stat -c %s "$R/config")
config_case() { # WHAT: the config was just damaged; every command fails clearly
	local cmd
	for cmd in "snapshots" "check"; do
		t $cmd --repo "$C"
		[ "$RC" -ne 0 ] || fail "$cmd with $1 config succeeded"
		if ! grep -qiE "config" "$ERR"; then
			[ "$1" = "a huge" ] || fail "$cmd with $1 config: the message does not name the config"
			fail "$cmd with a config over 64 KiB: '$(head -1 "$ERR")' (exit $RC) names no object; want 'repository config ...', exit 3"
		elif [ "$RC" -ne 3 ]; then
			fail "$cmd with $1 config: exit $RC, want 3 (damaged)"
		fi
	done
	t_in "$WORK/in.sql" backup --repo "$C" --stdin --name x
	[ "$RC" -ne 0 ] || fail "backup with $1 config succeeded"
	info "$1 config: exit $RC: $(head -1 "$ERR")"
}
head -c $((CONF_SIZE / 2)) "$R/config" >"$C/config"
config_case "a truncated"
: >"$C/config"
config_case "a zero-length"
head -c "$CONF_SIZE" /dev/urandom >"$C/config"
config_case "a garbage"
head -c "$CONF_SIZE" /dev/zero >"$C/config"
config_case "an all-zero"
printf '{"version": 1, "id": "x"}' >"$C/config"
config_case "a plaintext JSON"
cp "$R/config" "$C/config"
flip_byte "$C/config" $((CONF_SIZE / 2))
config_case "a one-byte-flipped"
head -c 300000 /dev/urandom >"$C/config"
config_case "a huge"
[ "$(find "$C/snapshots" -type f | wc -l)" -eq 1 ] || fail "a backup with a damaged config wrote a snapshot"

# --- no key file / a garbage key file ---
K=$WORK/keys
cp -a "$R" "$K"
rm "$K"/keys/*
t snapshots --repo "$K"
[ "$RC" -ne 0 ] && [ "$RC" -lt 128 ] || fail "a repository without key files: exit $RC"
expect_err "no key files" "a repository without key files"
head -c 311 /dev/urandom >"$WORK/garbage-key"
GK=$(sha256sum <"$WORK/garbage-key" | cut -d' ' -f1)
cp "$WORK/garbage-key" "$K/keys/$GK"
t snapshots --repo "$K"
[ "$RC" -ne 0 ] && [ "$RC" -lt 128 ] || fail "a garbage key file (named by its hash): exit $RC"
expect_err "key file" "a garbage key file is named"
# Next to the good key file, the garbage one must not stop the repository
# from opening, but check must report it.
cp "$R"/keys/* "$K/keys/"
t snapshots --repo "$K"
expect_rc 0 "snapshots with a good and a garbage key file"
t check --repo "$K"
if [ "$RC" -eq 0 ]; then
	fail "check passes a key file of random bytes named by its own SHA-256 (keys/${GK:0:16}): it only compares hash and name, never parses the key file"
else
	expect_rc 3 "check with a garbage key file"
	expect_out "damaged key.*${GK:0:16}" "check names the garbage key file"
fi

# --- garbage snapshot objects with 64-hex names ---
G=$WORK/garbage
cp -a "$R" "$G"
SNAP_SIZE=$(stat -c %s "$R/snapshots/$SNAP")
plant() { # FILE: add it as a snapshot, under a made-up name and under its own hash
	cp "$1" "$G/snapshots/$(printf '%s' "$2" | sha256sum | cut -d' ' -f1)"
	cp "$1" "$G/snapshots/$(sha256sum <"$1" | cut -d' ' -f1)"
}
head -c 700 /dev/urandom >"$WORK/s1" && plant "$WORK/s1" random
: >"$WORK/s2" && plant "$WORK/s2" empty
head -c "$SNAP_SIZE" /dev/zero >"$WORK/s3" && plant "$WORK/s3" zeros
head -c 11 /dev/urandom >"$WORK/s4" && plant "$WORK/s4" short
head -c "$SNAP_SIZE" "$R/config" >"$WORK/s5" && plant "$WORK/s5" config # valid ciphertext, wrong kind
printf 'not a snapshot' >"$G/snapshots/README"
BAD=$(($(find "$G/snapshots" -type f | wc -l) - 2))
t snapshots --repo "$G"
expect_rc 0 "snapshots with $BAD garbage snapshot objects"
expect_out "^${SNAP:0:10} " "snapshots still lists the good snapshot"
expect_out "^1 snapshot$" "snapshots counts only the good snapshot"
[ "$(grep -c 'warning: snapshot .* cannot be read' "$ERR")" -eq "$BAD" ] ||
	fail "snapshots does not warn once for each of the $BAD garbage objects"
t snapshots --repo "$G" --json
expect_rc 0 "snapshots --json with garbage snapshot objects"
[ "$(json_get "$OUT" "len(d)")" = 1 ] || fail "snapshots --json lists more than the good snapshot"
t check --repo "$G"
expect_rc 3 "check with garbage snapshot objects"
expect_out "$BAD unreadable snapshots" "check counts the garbage snapshot objects"
t show --repo "$G" "$(sha256sum <"$WORK/s1" | cut -d' ' -f1)"
expect_rc 3 "show of a garbage snapshot"
t dump --repo "$G" "$(sha256sum <"$WORK/s2" | cut -d' ' -f1)" db.sql
expect_rc 3 "dump of a zero-length snapshot"
[ ! -s "$OUT" ] || fail "dump of a zero-length snapshot wrote data"
t dump --repo "$G" "$SNAP" db.sql
expect_rc 0 "dump of the good snapshot next to garbage ones"
cmp -s "$OUT" "$WORK/in.sql" || fail "dump of the good snapshot differs"

# --- a missing chunk (format 2: the pack of some chunks) ---
M=$WORK/missing
cp -a "$R" "$M"
CHUNK=$(basename "$(find "$M/data" -type f -name '[0-9a-f]*' | head -1)")
rm "$M/data/${CHUNK:0:2}/$CHUNK"
t dump --repo "$M" "$SNAP" db.sql
[ "$RC" -ne 0 ] && [ "$RC" -lt 128 ] || fail "dump with a missing chunk: exit $RC"
expect_err "${CHUNK:0:16}" "dump names the missing chunk or pack"
expect_err "missing" "dump says the chunk is missing"
[ "$RC" -eq 3 ] || fail "dump of a snapshot whose chunk is missing exits $RC, not 3 (damaged data found), unlike check"
t check --repo "$M"
expect_rc 3 "check with a missing chunk"
expect_out "stream 'db\.sql'.*missing" "check names the stream with the missing chunk"

# --- usage errors: exit 2 ---
usage() { # WHAT ARGS...
	local what=$1
	shift
	t "$@"
	expect_rc 2 "$what"
	[ -s "$ERR" ] || fail "$what: no message on stderr"
}
usage "backup without --stdin" backup --repo "$R" --name x
expect_err "stdin" "backup without --stdin says what is missing"
usage "backup --stdin without --name" backup --repo "$R" --stdin
usage "backup with a bad --time" backup --repo "$R" --stdin --name x --time yesterday
usage "an unknown option" snapshots --repo "$R" --no-such-option
usage "an unknown command" frobnicate
usage "no command"
usage "dump with one argument" dump --repo "$R" latest
expect_err "give a snapshot and a stream name" "dump with one argument"
usage "dump with three arguments" dump --repo "$R" latest db.sql extra
usage "show without a snapshot" show --repo "$R"
usage "check with an argument" check --repo "$R" extra
usage "check --read-data-subset 0%" check --repo "$R" --read-data-subset 0%
for bad in 3/2 5 2/0; do
	t check --repo "$R" --read-data-subset "$bad"
	if [ "$RC" -eq 0 ]; then
		fail "check --read-data-subset $bad is accepted (taken as a percentage by the '%lf%%%c' sscanf, which stops before the '%'); want exit 2"
	else
		expect_rc 2 "check --read-data-subset $bad"
	fi
done
usage "init --compression lz4" init --repo "$WORK/new" --compression lz4
usage "init --chunk-avg 1000 (not a power of two)" init --repo "$WORK/new" --chunk-avg 1000
usage "init --chunk-min above --chunk-max" init --repo "$WORK/new" --chunk-min 8388608 --chunk-max 1048576
[ ! -e "$WORK/new/config" ] || fail "init with bad options created a repository"
# --as-of is a read-only view (docs/object-lock.md): every command that
# writes to the repository, dry runs too, is refused by the options check,
# before it reads or prints anything (exit 2, naming --as-of). Before,
# forget through it printed its plan, then failed at its first write
# (exit 1). A folder has no versions: a command that only reads gets as
# far as opening it ("needs an S3 bucket"), one that writes does not.
find "$R" -type f -exec md5sum {} + | sort >"$WORK/before-as-of"
T0=2026-11-30T22:00:00Z
for cmd in "init --repo $WORK/new" "backup --stdin --name x" "forget ${SNAP:0:10}" \
	"forget --keep-last 1 --dry-run" "prune" "prune --dry-run" "unlock" "key add" \
	"key remove 0123" "key passwd" "extend-retention" "repair index" \
	"restore latest --config $WORK/none.json --undo-snapshot --dry-run"; do
	t $cmd --repo "$R" --as-of "$T0" </dev/null
	expect_rc 2 "$cmd --as-of"
	expect_err "--as-of .*read-only" "$cmd --as-of names --as-of as read-only"
	[ ! -s "$OUT" ] || fail "$cmd --as-of printed: $(head -3 "$OUT")"
done
find "$R" -type f -exec md5sum {} + | sort | diff "$WORK/before-as-of" - ||
	fail "a command refused through --as-of changed the repository"
[ ! -e "$WORK/new" ] || fail "init --as-of created a repository"
for cmd in "snapshots" "key list" "check"; do
	t $cmd --repo "$R" --as-of "$T0"
	expect_err "needs an S3 bucket" "$cmd --as-of (reads only) on a folder"
done
for cmd in init backup snapshots show dump check version; do
	t "$cmd" --help
	expect_rc 0 "$cmd --help"
	expect_out "usage: tsarc $cmd" "$cmd --help"
done

# --- no core dump while keys are in memory ---
# A crash must not write the master keys to disk: the running process has
# a core limit of 0 whatever it inherited.
hard=$(ulimit -H -c)
if [ "$hard" != 0 ]; then
	rm -f "$WORK/core.fifo"
	mkfifo "$WORK/core.fifo"
	(ulimit -S -c "$hard"; exec "$TSARC" backup --repo "$R" --stdin --name core.sql <"$WORK/core.fifo" >/dev/null 2>&1) &
	cpid=$!
	exec 7>"$WORK/core.fifo"
	core=
	for _ in $(seq 100); do
		# The subshell has become tsarc once its command line is tsarc's.
		if tr '\0' ' ' </proc/$cpid/cmdline 2>/dev/null | grep -q -- "--name core.sql"; then
			core=$(awk '/^Max core file size/ {print $5}' /proc/$cpid/limits)
			[ "$core" = 0 ] && break
		fi
		sleep 0.05
	done
	exec 7>&-
	wait "$cpid" || true
	[ "$core" = 0 ] || fail "tsarc runs with a core file limit of '$core', not 0"
fi

# --- the password is in no stored object ---
for needle in "$PASSWORD" "$(printf '%s' "$PASSWORD" | base64 | tr -d '=')"; do
	! grep -rqaF -- "$needle" "$R" "$WORK/fromfile" || fail "the password is in the repository"
done
finish
