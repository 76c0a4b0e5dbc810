# The repository contents the format-2 prune tests start from (sourced
# after lib.sh, by tests/cli/prune_pack.sh and tests/s3/object_lock_prune_kill.sh):
# eight snapshots, three streams and a 1%-edited copy of each plus two
# unrelated streams, of which the three originals and one unrelated stream
# are forgotten, so that some packs are wholly unused and others partly.

# prune_set REPO: makes them in REPO (made already). After it, SNAPS and
# NAMES hold each snapshot's id and stream name (the stream kept in
# $WORK/NAME), KEEP the indexes of the snapshots not forgotten.
prune_set() {
	local repo=$1 k
	SNAPS=()
	NAMES=()
	for k in 1 2 3; do
		prune_set_snap "$repo" "base$k" 1M --seed "$k" --random-every 5 --line-bytes 2000
		prune_set_snap "$repo" "edit$k" 1M --seed "$k" --random-every 5 --line-bytes 2000 \
			--mutate 0.3 --mutate-seed $((k + 10))
	done
	prune_set_snap "$repo" other1 512K --seed 21 --random-every 3
	prune_set_snap "$repo" other2 512K --seed 22 --random-every 3
	ok forget --repo "$repo" "${SNAPS[0]}" "${SNAPS[2]}" "${SNAPS[4]}" "${SNAPS[6]}"
	KEEP=(1 3 5 7)
}

# prune_set_snap REPO NAME GEN-ARGS...: a backup of a generated stream.
prune_set_snap() {
	local repo=$1 name=$2
	shift 2
	"$GEN" "$@" >"$WORK/$name" || fail "the generator failed"
	t_in "$WORK/$name" backup --repo "$repo" --stdin --name "$name" --json
	expect_rc 0 "backup of $name"
	SNAPS+=("$(json_get "$OUT" "d['snapshot_id']")")
	NAMES+=("$name")
}

# restores_all REPO: every kept snapshot dumps byte-identical.
restores_all() {
	local i
	for i in "${KEEP[@]}"; do dump_cmp_file "$1" "${SNAPS[$i]}" "${NAMES[$i]}" "$WORK/${NAMES[$i]}"; done
}
