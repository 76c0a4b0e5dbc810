#define _GNU_SOURCE /* asprintf */
/*
 * The kube transport's tree restore: a files component's tar stream
 * replaces a folder in its pod. The pod's tar cannot be trusted with the
 * repository's bytes, so the stream is checked whole here first and then
 * rewritten entry by entry into the pod; a shell program on the pod's
 * side swaps the trees with the same journal as a local restore
 * (src/tree/), so either side finishes the other's interrupted
 * swap.
 */
#include "component.h"
#include "error_save.h"
#include "snapshot.h"
#include "tree_restore.h"
#include "tsarc/errors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>


/*
 * The pod's tar cannot be made to check entries before it writes them, so the whole stream is read here first (verified chunks,
 * every entry and link by the local restore's rules) and only then
 * streamed into the pod. The price is reading the stream twice; the gain
 * is that a hostile archive never reaches the pod.
 */
static int validate_tar(tsarc_repo *repo, const tsarc_stream *st, unsigned inflight,
	uint64_t *entries)
{
	int rc = tsarc_tree_check_stream(repo, st, inflight, entries);

	if (rc == TSARC_EUNSAFE || rc == TSARC_ECORRUPT)
		tsarc_error_prefix("stream %s", st->name);
	return rc;
}

/*
 * The pod's side of a tree restore: $1 the target folder, $2 the staging
 * folder, $3 the folder the old entries go to, $4 the entry that ends a
 * complete stream (random names: no archive entry can take them). The
 * same journal as a local restore (src/tree/), so an interrupted
 * swap is ended by the next restore into the volume, from either side:
 * phase 0 (extracting) is undone, phases 1 (old entries out) and 2 (new
 * entries in) are finished. tar's success is not enough to swap: tsarc
 * writes $4 only after it verified the whole stream, so a stream cut
 * between two entries (tar exits 0) leaves the old tree. The new tree is
 * synced (`sync -f`, else `sync`, where the image has it) before phase 1,
 * from which a crash of the node is finished forward.
 */
static const char TREE_SCRIPT[] =
	"set -e; d=$1; new=$2; old=$3; mark=$4; j=.tsarc-swap-journal\n"
	"mkdir -p \"$d\"; cd \"$d\"\n"
	"jw() { printf 'tsarc-swap 1\\n%s\\n%s\\n%s\\ndelete\\n' \"$1\" \"$2\" \"$3\" >\"$j.tmp\"; "
	"mv -f \"$j.tmp\" \"$j\"; }\n"
	"finish() {\n"
	"  if [ \"$1\" = 0 ]; then rm -rf \"./$2\" \"./$3\"; rm -f \"$j\"; return 0; fi\n"
	"  [ \"$1\" = 2 ] && [ ! -e \"./$2\" ] && { rm -rf \"./$3\"; rm -f \"$j\"; return 0; }\n"
	"  [ -d \"./$2\" ] || { echo \"tsarc: $d/$j names the new tree $2, which is missing\" >&2; exit 1; }\n"
	"  if [ \"$1\" = 1 ]; then\n"
	"    mkdir -p \"./$3\"\n"
	"    for e in * .[!.]* ..?*; do\n"
	"      [ -e \"$e\" ] || [ -L \"$e\" ] || continue\n"
	"      case $e in \"$2\"|\"$3\"|.tsarc-swap-journal*) continue;; esac\n"
	"      rm -rf \"./$3/$e\"; mv -f \"./$e\" \"./$3/$e\"\n"
	"    done\n"
	"    jw 2 \"$2\" \"$3\"\n"
	"  fi\n"
	"  for e in \"./$2\"/* \"./$2\"/.[!.]* \"./$2\"/..?*; do\n"
	"    [ -e \"$e\" ] || [ -L \"$e\" ] || continue\n"
	"    b=${e##*/}; rm -rf \"./$b\"; mv -f \"$e\" \"./$b\"\n"
	"  done\n"
	"  rm -rf \"./$3\" \"./$2\"; rm -f \"$j\"\n"
	"}\n"
	"if [ -e \"$j\" ] || [ -L \"$j\" ]; then\n"
	"  p=; s=; o=; x=; m=\n"
	"  [ -f \"$j\" ] && [ ! -L \"$j\" ] && { read -r m; read -r p; read -r s; read -r o; read -r x; } <\"$j\" || :\n"
	"  case \"$m|$p|$s|$o|$x\" in\n"
	"  \"tsarc-swap 1|\"[012]\"|.tsarc-restore-\"?*\"|.tsarc-old-\"?*\"|delete\") ;;\n"
	"  *) echo \"tsarc: $d/$j is not a swap journal tsarc wrote; nothing was changed\" >&2; exit 1;;\n"
	"  esac\n"
	"  case \"$s$o\" in */*) echo \"tsarc: $d/$j is not a swap journal tsarc wrote\" >&2; exit 1;; esac\n"
	"  echo \"tsarc: warning: $d: an earlier restore was interrupted; ending its swap first\" >&2\n"
	"  finish \"$p\" \"$s\" \"$o\"\n"
	"fi\n"
	"jw 0 \"$new\" \"$old\"\n"
	"mkdir -m 700 \"./$new\"\n"
	"if ! tar -x -p -f - -C \"./$new\"; then finish 0 \"$new\" \"$old\"; exit 1; fi\n"
	"if [ ! -f \"./$new/$mark\" ] || [ -L \"./$new/$mark\" ]; then\n"
	"  echo \"tsarc: the tar stream ended before tsarc verified all of it; nothing was swapped\" >&2\n"
	"  finish 0 \"$new\" \"$old\"; exit 1\n"
	"fi\n"
	"rm -f \"./$new/$mark\"\n"
	"command -v sync >/dev/null && { sync -f \"./$new\" 2>/dev/null || sync; }\n"
	"jw 1 \"$new\" \"$old\"\n"
	"finish 1 \"$new\" \"$old\"\n";

/* Random names for the pod's swap: PREFIX + the nonce of a staging name. */
static int swap_name(char *out, size_t outsz, const char *prefix)
{
	char name[64];
	int rc;

	if ((rc = tsarc_staging_name(name, sizeof(name))))
		return rc;
	if (snprintf(out, outsz, "%s%s", prefix, strchr(name + 1, '-') + 1) >= (int)outsz)
		return tsarc_error_set(TSARC_ETOOLARGE, "no room for a name");
	return 0;
}

/*
 * Into a pod: the tar is checked whole first (validate_tar), then read
 * again and rewritten entry by entry from what tsarc validated (the pod
 * never parses the repository's bytes), the completion entry last; any
 * failure while feeding kills the pod's tar before its input ends.
 */
int tsarc_kube_replace_tree(tsarc_transport *tr, tsarc_component *c, tsarc_repo *repo,
	const tsarc_stream *st, unsigned inflight, const char *path, char **note)
{
	tsarc_cmd cmd;
	tsarc_proc p;
	uint64_t entries = 0, sent = 0, skipped = 0;
	char what[400], staging[64], old[64], mark[64];
	tsarc_saved_error failed;
	int rc, prc;

	tsarc_cmd_init(&cmd);
	if ((rc = validate_tar(repo, st, inflight, &entries)) || (rc = tr->locate(tr, c)) ||
		(rc = tsarc_staging_name(staging, sizeof(staging))) ||
		(rc = swap_name(old, sizeof(old), ".tsarc-old-")) ||
		(rc = swap_name(mark, sizeof(mark), ".tsarc-complete-")) ||
		(rc = tsarc_cmd_arg(&cmd, "sh")) || (rc = tsarc_cmd_arg(&cmd, "-c")) ||
		(rc = tsarc_cmd_arg(&cmd, TREE_SCRIPT)) || (rc = tsarc_cmd_arg(&cmd, "sh")) ||
		(rc = tsarc_cmd_arg(&cmd, path)) || (rc = tsarc_cmd_arg(&cmd, staging)) ||
		(rc = tsarc_cmd_arg(&cmd, old)) || (rc = tsarc_cmd_arg(&cmd, mark))) {
		tsarc_cmd_free(&cmd);
		return rc;
	}
	snprintf(what, sizeof(what), "component '%s': tar into %s in pod %s", c->name, path,
		c->pod);
	tsarc_proc_init(&p);
	p.want_stdin = 1;
	rc = tr->spawn(tr, c, &cmd, &p);
	tsarc_cmd_free(&cmd);
	if (rc)
		return rc;
	rc = tsarc_tree_rewrite_stream(repo, st, inflight, p.in_fd, mark, &sent, &skipped);
	if (!rc && sent != entries)
		rc = tsarc_error_set(TSARC_ECORRUPT, "stream %s read %llu entries, then %llu",
			st->name, (unsigned long long)entries, (unsigned long long)sent);
	if (rc) {
		tsarc_error_save(&failed);
		tsarc_proc_kill(&p);
		prc = tsarc_proc_finish(&p, what);
		/* It had exited on its own (its script refused, say): its own
		 * error explains a broken pipe on our side. */
		if (prc && WIFEXITED(p.status)) {
			tsarc_error_forget(&failed);
			return prc;
		}
		tsarc_error_restore(&failed);
		return tsarc_error_set(rc, "%s; %s was stopped before the end of its input, so the "
			"tree was not swapped", tsarc_error_last()->message, what);
	}
	tsarc_proc_close_stdin(&p);
	if ((prc = tsarc_proc_finish(&p, what)))
		return prc;
	if (asprintf(note, "%llu entries checked, rewritten and extracted into %s in pod %s%s",
		    (unsigned long long)entries, path, c->pod, skipped ? " (fifos, sockets or devices "
		    "skipped)" : "") < 0)
		*note = NULL;
	return 0;
}
