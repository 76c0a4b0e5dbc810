#!/usr/bin/env bash
# Repository format 2 (packs + index): round trip; the same stream again
# stores nothing; a stream with 1% of its lines edited stores little; far
# fewer objects than chunks; check --read-data passes. Then damage, each on
# a fresh copy: a truncated pack, two packs swapped, a pack deleted, the
# index deleted: check names the pack or the index (exit 3), dump fails
# with a message naming the chunk and its pack, never with wrong bytes;
# 'repair index' rebuilds the index from the packs (prune refuses to run
# without it). A damaged index object that this host's index cache holds
# intact is damaged for this host too (backup, dump, prune). A format-1
# repository refuses 'repair index'.
. "$(dirname "$0")/lib.sh"

R=$WORK/repo
init_repo "$R" --format 2 --pack-size 262144 --chunk-min 16384 --chunk-avg 65536 --chunk-max 262144
"$GEN" 6M --random-every 5 >"$WORK/a.sql" || fail "the generator failed"
"$GEN" 6M --random-every 5 --mutate 1 >"$WORK/b.sql" || fail "the generator failed"
BYTES=$(stat -c %s "$WORK/a.sql")

t_in "$WORK/a.sql" backup --repo "$R" --stdin --name a.sql --json
expect_rc 0 "first backup"
CHUNKS=$(json_get "$OUT" "d['new_chunks']")
FIRST=$(json_get "$OUT" "d['snapshot_id']")
PACKS=$(find "$R/data" -type f | wc -l)
[ "$(find "$R/index" -type f | wc -l)" -eq 1 ] || fail "the first backup wrote $(find "$R/index" -type f | wc -l) index objects, want 1"
[ "$PACKS" -ge 2 ] && [ "$PACKS" -lt "$CHUNKS" ] || fail "$CHUNKS chunks went into $PACKS packs"
info "$CHUNKS chunks in $PACKS packs"
# Object names are random: none is a chunk id of the stream.
dump_cmp_file "$R" latest a.sql "$WORK/a.sql"

t_in "$WORK/a.sql" backup --repo "$R" --stdin --name a.sql --json
expect_rc 0 "the same stream again"
[ "$(json_get "$OUT" "d['new_chunks']")" -eq 0 ] || fail "the same stream stored $(json_get "$OUT" "d['new_chunks']") chunks again"
[ "$(find "$R/data" -type f | wc -l)" -eq "$PACKS" ] || fail "the same stream wrote a pack"

t_in "$WORK/b.sql" backup --repo "$R" --stdin --name b.sql --json
expect_rc 0 "the edited stream"
NEW=$(json_get "$OUT" "d['new_bytes']")
[ "$NEW" -lt $((BYTES / 2)) ] || fail "1% of the lines edited stored $NEW of $BYTES bytes again"
dump_cmp_file "$R" latest b.sql "$WORK/b.sql"
ok check --repo "$R" --read-data --json
[ "$(json_get "$OUT" "d['packs_unindexed']")" -eq 0 ] || fail "check counts packs in no index"
[ "$(json_get "$OUT" "d['chunks_read']")" -ge "$CHUNKS" ] || fail "check --read-data read too few chunks"

# fresh NAME: a copy of the repository to damage.
fresh() {
	rm -rf "$WORK/$1"
	cp -r "$R" "$WORK/$1"
	D=$WORK/$1
}
# The pack holding the most bytes, and another.
big_packs() { find "$1/data" -type f -printf '%s %p\n' | sort -rn | head -2 | cut -d' ' -f2; }
# expect_dump_fails REPO SNAP NAME WORDS...: dump fails with exit 3 and each word in the message.
expect_dump_fails() {
	local repo=$1 snap=$2 name=$3 w
	shift 3
	RC=0
	"$TSARC" dump --repo "$repo" "$snap" "$name" >"$WORK/dumped" 2>"$ERR" || RC=$?
	sanitizer_check "$RC" "$ERR" "tsarc dump"
	[ "$RC" -eq 3 ] || fail "dump of a damaged repository: exit $RC, want 3"
	for w in "$@"; do
		grep -q -- "$w" "$ERR" || fail "the dump error does not say '$w': $(cat "$ERR")"
	done
	! cmp -s "$WORK/dumped" "$WORK/$name" || fail "the dump wrote the whole stream anyway"
}

# A truncated pack: check names it, dump names the chunk and the pack.
fresh trunc
P=$(big_packs "$D" | head -1)
# A snapshot that needs nothing of that pack, which must come through.
head -c 600000 /dev/urandom >"$WORK/c.bin"
t_in "$WORK/c.bin" backup --repo "$D" --stdin --name c.bin --json
expect_rc 0 "a backup of other data"
OTHER=$(json_get "$OUT" "d['snapshot_id']")
truncate -s $(($(stat -c %s "$P") / 2)) "$P"
t check --repo "$D"
expect_rc 3 "check with a truncated pack"
grep -q "damaged pack $(basename "$P" | cut -c1-16)" "$OUT" || fail "check does not name the truncated pack: $(cat "$OUT")"
expect_dump_fails "$D" "$FIRST" a.sql "$(basename "$P" | cut -c1-16)"
# Before the repair the index still places each chunk: those before the
# cut read (not missing), those past it are damaged, as the repair finds.
t check --repo "$D" --json
expect_rc 3 "check --json with a truncated pack"
[ "$(json_get "$OUT" "d['chunks_missing']")" -eq 0 ] || fail "check calls the truncated pack's chunks missing: $(head -c 1500 "$OUT")"
TORN=$(json_get "$OUT" "d['chunks_damaged']")
INPACK=$(json_get "$OUT" "d['chunks_in_damaged_packs']")
t repair index --repo "$D" --json
[ "$RC" -eq 3 ] || fail "repair index with a damaged pack: exit $RC, want 3"
[ "$(json_get "$OUT" "d['packs_damaged']")" -eq 1 ] || fail "repair index does not count the damaged pack"
[ "$(json_get "$OUT" "d['damaged_chunks_dropped']")" -gt 0 ] || fail "repair index kept the chunks past the truncation"
[ "$(json_get "$OUT" "d['damaged_chunks_dropped']")" -eq "$TORN" ] && [ "$(json_get "$OUT" "d['damaged_chunks_kept']")" -eq "$INPACK" ] ||
	fail "check said $INPACK chunks of the truncated pack read and $TORN do not, repair index kept $(json_get "$OUT" "d['damaged_chunks_kept']") and dropped $(json_get "$OUT" "d['damaged_chunks_dropped']")"
# What the truncation left is copied; the snapshots check names need what
# is lost: once they are forgotten, prune deletes the pack and check is
# clean. Before, the pack stayed indexed and check failed for ever.
[ "$(json_get "$OUT" "d['packs_written']")" -ge 1 ] ||
	fail "repair index copied nothing of the truncated pack: $(cat "$OUT")"
t check --repo "$D" --json
expect_rc 3 "check after repair: the chunks of the truncated pack are gone"
grep -q "in no pack" "$OUT" || fail "check after repair does not say the chunks are in no pack"
LOST=$(json_get "$OUT" "' '.join(sorted({p['snapshot'] for p in d['problems'] if p['what'] == 'stream'}))")
[ -n "$LOST" ] || fail "check names no snapshot that needs the lost chunks: $(head -c 2000 "$OUT")"
case " $LOST " in *" $OTHER "*) fail "check names the snapshot that needs nothing of the truncated pack" ;; esac
# shellcheck disable=SC2086 # the ids, one word each
ok forget --repo "$D" $LOST
ok prune --repo "$D"
[ ! -e "$P" ] || fail "the truncated pack is still stored after prune"
ok check --repo "$D"
dump_cmp_file "$D" "$OTHER" c.bin "$WORK/c.bin"

# Two packs swapped: neither table of contents authenticates under the other's name.
fresh swap
set -- $(big_packs "$D")
mv "$1" "$WORK/tmp-pack"
mv "$2" "$1"
mv "$WORK/tmp-pack" "$2"
t check --repo "$D" --read-data
expect_rc 3 "check with two packs swapped"
grep -q "another pack's name" "$OUT" || fail "check does not say the pack is under another name: $(cat "$OUT")"
expect_dump_fails "$D" "$FIRST" a.sql "pack"
# repair index cannot make a swapped pack good: both are left out.
t repair index --repo "$D" --json
expect_rc 3 "repair index with swapped packs"
[ "$(json_get "$OUT" "d['packs_damaged']")" -eq 2 ] || fail "repair index took a swapped pack"

# A pack whose table of contents is damaged (a byte of its tag flipped),
# its chunks intact: the old index still finds them and every snapshot
# restores. repair index must not lose that: it copies the chunks the old
# index places there that still authenticate into new packs, and reports
# the pack (exit 3); the pack is then in no index, check (--read-data too)
# is clean, and prune deletes it. At first repair left the pack out, and
# the snapshots no longer restored; then it kept the pack's entries, and
# check reported the pack and its chunks after every repair and prune
# (--max-unused 0 too): a nightly check failed for ever.
fresh badtoc
t check --repo "$D" --json
STORED=$(json_get "$OUT" "d['chunks_stored']")
P=$(big_packs "$D" | head -1)
flip_byte "$P" -8
t check --repo "$D"
expect_rc 3 "check with a damaged table of contents"
grep -q "damaged pack $(basename "$P" | cut -c1-16)" "$OUT" || fail "check does not name the pack whose table of contents is damaged: $(cat "$OUT")"
# Its chunks are not missing: the index places them and each authenticates
# there (the dump below reads them). check says so, with counts that add
# up; before, it called each a "missing chunk" and its streams incomplete.
grep -q "damaged pack $(basename "$P" | cut -c1-16): .*still read.*repair index" "$OUT" ||
	fail "check does not say the damaged pack's chunks still read: $(cat "$OUT")"
! grep -q "^missing chunk\|^incomplete stream" "$OUT" ||
	fail "check calls the damaged pack's chunks missing: $(head -c 1500 "$OUT")"
t check --repo "$D" --json
expect_rc 3 "check --json with a damaged table of contents"
[ "$(json_get "$OUT" "d['chunks_missing']")" -eq 0 ] || fail "check --json counts the damaged pack's chunks missing"
[ "$(json_get "$OUT" "d['chunks_stored']")" -eq "$STORED" ] || fail "check --json stores $(json_get "$OUT" "d['chunks_stored']") chunks, $STORED before the damage"
INPACK=$(json_get "$OUT" "d['chunks_in_damaged_packs']")
[ "$INPACK" -gt 0 ] || fail "check --json counts no chunk that only the damaged pack holds: $(head -c 1500 "$OUT")"
[ "$(json_get "$OUT" "len([p for p in d['problems'] if p['what'] != 'pack'])")" -eq 0 ] ||
	fail "check --json reports more than the damaged pack: $(head -c 1500 "$OUT")"
dump_cmp_file "$D" "$FIRST" a.sql "$WORK/a.sql"
t repair index --repo "$D" --json
expect_rc 3 "repair index with a damaged table of contents"
[ "$(json_get "$OUT" "d['packs_damaged']")" -eq 1 ] || fail "repair index does not count the pack whose table of contents is damaged"
[ "$(json_get "$OUT" "d['damaged_chunks_kept']")" -gt 0 ] || fail "repair index kept none of the damaged pack's chunks"
[ "$(json_get "$OUT" "d['damaged_chunks_dropped']")" -eq 0 ] || fail "repair index dropped intact chunks"
[ "$(json_get "$OUT" "d['damaged_chunks_kept']")" -eq "$INPACK" ] ||
	fail "repair index kept $(json_get "$OUT" "d['damaged_chunks_kept']") chunks of the damaged pack, check said $INPACK still read"
[ "$(json_get "$OUT" "d['packs_written']")" -ge 1 ] || fail "repair index copied the damaged pack's chunks into no new pack"
dump_cmp_file "$D" "$FIRST" a.sql "$WORK/a.sql"
dump_cmp_file "$D" latest b.sql "$WORK/b.sql"
t check --repo "$D" --read-data --json
[ "$RC" -eq 0 ] || fail "check --read-data after repair of a damaged table of contents: exit $RC: $(head -c 1500 "$OUT")"
[ "$(json_get "$OUT" "d['packs_unindexed']")" -eq 1 ] || fail "the damaged pack is not the one pack in no index"
# repair index again before the prune: the damaged pack is in no index and
# nothing of it is needed (check is clean), so it is no failure: named,
# left for prune, exit 0. Before, it failed again (exit 3, "1 damaged pack
# found: ... 0 ... copied into new packs, 0 do not and are lost").
t repair index --repo "$D" --json
expect_rc 0 "repair index again, the damaged pack in no index"
[ "$(json_get "$OUT" "d['packs_damaged']")" -eq 0 ] || fail "repair index again counts the unindexed pack damaged: $(cat "$OUT")"
[ "$(json_get "$OUT" "d['packs_damaged_unindexed']")" -eq 1 ] || fail "repair index again does not count the unindexed damaged pack: $(cat "$OUT")"
[ "$(json_get "$OUT" "d['packs_written']")" -eq 0 ] || fail "repair index again copied something"
t repair index --repo "$D"
expect_rc 0 "repair index again (text)"
grep -q "pack $(basename "$P" | cut -c1-16): .*no index names it.*prune" "$ERR" ||
	fail "repair index again does not say the damaged pack is in no index and left for prune: $(cat "$ERR")"
ok check --repo "$D"
ok prune --repo "$D" --json
[ "$(json_get "$OUT" "d['packs_unindexed']")" -eq 1 ] || fail "prune did not delete the damaged pack: $(cat "$OUT")"
[ ! -e "$P" ] || fail "the damaged pack is still stored after prune"
ok check --repo "$D"

# A pack deleted.
fresh gone
P=$(big_packs "$D" | head -1)
rm "$P"
t check --repo "$D"
expect_rc 3 "check with a pack missing"
grep -q "^missing pack $(basename "$P" | cut -c1-16): .*missing from the store" "$OUT" ||
	fail "check does not say the pack is missing: $(cat "$OUT")"
expect_dump_fails "$D" "$FIRST" a.sql "$(basename "$P" | cut -c1-16)" "missing"

# The index deleted: reads say so, the next backup stores everything again
# (it cannot know what the packs hold), repair index brings it all back.
fresh noindex
rm "$D"/index/*
expect_dump_fails "$D" "$FIRST" a.sql "in no index" "repair index"
# prune must not take the packs for a killed run's (in no index, so
# deleted): it stops, and every pack stays for repair index.
N=$(find "$D/data" -type f | wc -l)
t prune --repo "$D"
expect_rc 3 "prune without an index"
grep -q "in no index" "$ERR" || fail "prune without an index does not say why: $(cat "$ERR")"
[ "$(find "$D/data" -type f | wc -l)" -eq "$N" ] || fail "prune without an index deleted packs"
t check --repo "$D"
expect_rc 3 "check without an index"
t_in "$WORK/a.sql" backup --repo "$D" --stdin --name a.sql --json
expect_rc 0 "a backup without an index"
[ "$(json_get "$OUT" "d['new_chunks']")" -eq "$CHUNKS" ] || fail "a backup without an index stored $(json_get "$OUT" "d['new_chunks']") chunks, want $CHUNKS"
ok repair index --repo "$D" --json
[ "$(json_get "$OUT" "d['packs_damaged']")" -eq 0 ] || fail "repair index found damage"
ok check --repo "$D" --read-data
dump_cmp_file "$D" "$FIRST" a.sql "$WORK/a.sql"

# A damaged index object: check names it; repair replaces it.
fresh badindex
I=$(find "$D/index" -type f | head -1)
# A restore on this host puts every index object in its cache.
dump_cmp_file "$D" "$FIRST" a.sql "$WORK/a.sql"
[ -f "$(echo "$XDG_CACHE_HOME"/tsarc/*/index/"$(basename "$I")")" ] || fail "the cache does not hold index object $(basename "$I")"
flip_byte "$I" 40
t check --repo "$D"
expect_rc 3 "check with a damaged index object"
grep -q "damaged index $(basename "$I" | cut -c1-16)" "$OUT" || fail "check does not name the damaged index: $(cat "$OUT")"
# This host's cache (XDG_CACHE_HOME, shared with $R: the same repository
# id) holds that object intact; it vouches for nothing the store does not
# hold. A backup stores again the chunks only the damaged object lists, so
# a host with another cache restores it, and prune refuses, as it does on
# a host without the cache. Before, the backup stored nothing new (its
# snapshot "in no index" elsewhere) and prune exited 0.
t_in "$WORK/a.sql" backup --repo "$D" --stdin --name a.sql --json
expect_rc 0 "a backup beside a damaged index object"
[ "$(json_get "$OUT" "d['new_chunks']")" -eq "$CHUNKS" ] || fail "a backup beside a damaged index object stored $(json_get "$OUT" "d['new_chunks']") chunks, want $CHUNKS"
AGAIN=$(json_get "$OUT" "d['snapshot_id']")
(
	export XDG_CACHE_HOME=$WORK/.cache-elsewhere
	dump_cmp_file "$D" "$AGAIN" a.sql "$WORK/a.sql"
	[ -d "$XDG_CACHE_HOME/tsarc" ] || fail "the other cache was not used"
) || fail "a host with another cache cannot restore the backup made beside the damage"
t prune --repo "$D"
expect_rc 3 "prune with a damaged index object"
grep -q "repair index" "$ERR" || fail "prune with a damaged index object does not say what to do: $(cat "$ERR")"
ok repair index --repo "$D"
ok check --repo "$D" --read-data

# Every pack lost from a repository of small chunks: the JSON report lists
# 1000 problems of a kind and counts the rest in problems_omitted (listing
# each would take gigabytes at millions of chunks); the counts are all
# there, and the text report still names every chunk.
init_repo "$WORK/lost" --format 2 --pack-size 262144 --chunk-min 1024 --chunk-avg 2048 --chunk-max 8192
head -c 6000000 /dev/urandom >"$WORK/random"
t_in "$WORK/random" backup --repo "$WORK/lost" --stdin --name r --json
expect_rc 0 "backup of small chunks"
N=$(json_get "$OUT" "d['new_chunks']")
[ "$N" -gt 1500 ] || fail "want more than 1500 chunks, got $N"
find "$WORK/lost/data" -type f -delete
t check --repo "$WORK/lost" --json
expect_rc 3 "check --json of a repository without its packs"
[ "$(json_get "$OUT" "d['chunks_missing']")" -eq "$N" ] || fail "check --json counts $(json_get "$OUT" "d['chunks_missing']") missing chunks, want $N"
[ "$(json_get "$OUT" "len([p for p in d['problems'] if p['what'] == 'chunk'])")" -eq 1000 ] ||
	fail "check --json lists $(json_get "$OUT" "len([p for p in d['problems'] if p['what'] == 'chunk'])") chunk problems, want 1000"
[ "$(json_get "$OUT" "d['problems_omitted']['chunk']")" -eq $((N - 1000)) ] ||
	fail "check --json omits $(json_get "$OUT" "d['problems_omitted'].get('chunk')") chunk problems, want $((N - 1000))"
[ "$(json_get "$OUT" "len([p for p in d['problems'] if p['what'] == 'stream'])")" -eq 1 ] ||
	fail "check --json does not name the broken stream: $(head -c 2000 "$OUT")"
t check --repo "$WORK/lost"
expect_rc 3 "check of a repository without its packs"
# A chunk missing is said to be missing, not damaged (another problem,
# another remedy), as --json's error (ENOTFOUND) says; before, the text
# said "damaged chunk" for each.
[ "$(grep -c '^missing chunk' "$OUT")" -eq "$N" ] || fail "the text report names $(grep -c '^missing chunk' "$OUT") missing chunks, want $N"
! grep -q '^damaged' "$OUT" || fail "the text report calls missing data damaged: $(grep -m3 '^damaged' "$OUT")"

# Format 1 has no index to repair.
init_repo "$WORK/v1" --format 1
t repair index --repo "$WORK/v1"
expect_rc 1 "repair index on format 1"
grep -q "format 1" "$ERR" || fail "repair index on format 1: $(cat "$ERR")"
t init --repo "$WORK/v3" --format 3
expect_rc 2 "init --format 3"

finish "round trip, dedup and damage on format 2"
