# Helpers for end-to-end tests that damage or hide a chunk of a repository
# on the filesystem store; sourced, not run. They need TSARC, python3 and
# the test's own fail().

# chunk_file REPO SNAP STREAM INDEX: CHUNK_FILE is the file of chunk INDEX
# (as in Python: -1 is the last) of STREAM in snapshot SNAP, CHUNK_COUNT
# the number of the stream's chunks.
chunk_file() {
	local repo=$1 snap=$2 stream=$3 index=$4 show found
	show=$(mktemp "${TMPDIR:-/tmp}/tsarc-show.XXXXXX")
	"$TSARC" show "$snap" --repo "$repo" --json --chunks > "$show" || { rm -f "$show"; fail "show --chunks $snap"; }
	found=$(python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))
c = [s for s in d["streams"] if s["name"] == sys.argv[2]][0]["chunks"]
print(len(c), c[int(sys.argv[3])][0])' "$show" "$stream" "$index")
	rm -f "$show"
	[ -n "$found" ] || fail "no chunk $index of $stream in $snap"
	CHUNK_COUNT=${found%% *}
	CHUNK_FILE=$(find "$repo/data" -name "${found#* }*" | head -1)
	[ -f "$CHUNK_FILE" ] || fail "chunk file of $stream not found"
}

# damage_chunk REPO SNAP STREAM INDEX: inverts byte 40 of that chunk's file
# (chunk_file), so that reading it fails the check of its contents.
damage_chunk() {
	chunk_file "$@"
	python3 -c 'import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(40); b = f.read(1); f.seek(40); f.write(bytes([b[0] ^ 0xff]))' "$CHUNK_FILE" ||
		fail "cannot damage $CHUNK_FILE"
}

# hide_chunk REPO SNAP STREAM INDEX SAVE: moves that chunk's file
# (chunk_file) to SAVE and puts a folder in its place: the store cannot
# read it (an I/O error, not damage).
hide_chunk() {
	chunk_file "$1" "$2" "$3" "$4"
	mv "$CHUNK_FILE" "$5" && mkdir "$CHUNK_FILE" || fail "cannot hide a chunk of $3"
}
