#define _GNU_SOURCE /* O_NOFOLLOW, O_DIRECTORY, renameat */

/*
 * The swap. The target is often a mounted volume, whose own folder cannot
 * be renamed, so the swap moves its entries one rename at a time, and a
 * journal in the target (written aside, fsynced, renamed) says how far it
 * got, so that whatever interrupts it, the next restore into the same
 * folder ends it the same way:
 *   phase 0  the new tree is being extracted into the staging folder:
 *            an interruption undoes it (staging deleted, the old tree was
 *            never touched);
 *   phase 1  the new tree is complete, its stream verified and its
 *            contents on disk (syncfs): the old entries are moved into
 *            the "old" folder;
 *   phase 2  the staged entries are moved into the target;
 *   then the old tree and the (empty) staging folder go, the journal last
 *            (the old tree is looked into first: one that holds a tsarc
 *            repository is kept, see keep_old_tree).
 * From phase 1 on the swap only goes forward: both trees are whole on the
 * volume (old entries in the target or the old folder, new ones in the
 * staging folder or the target) and the next run finishes the moves.
 */
#include "internal.h"
#include "crypto.h"
#include "fileio.h"
#include "log.h"
#include "tsarc/errors.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static int fsync_dir(int fd)
{
	return fsync(fd) == 0 || errno == EINVAL || errno == EROFS ? 0 : -1;
}

static int journal_write(int tfd, const char *target, const tsarc_tree_journal *j)
{
	char text[256];
	int n, rc;

	n = snprintf(text, sizeof(text), "tsarc-swap 1\n%d\n%s\n%s\n%s\n", j->phase, j->staging,
		j->old, j->keep_extras ? "keep" : "delete");
	if ((rc = tsarc_replace_file_at(tfd, target, TSARC_TREE_JOURNAL_NAME, text, (size_t)n, 0600, 0)))
		tsarc_error_prefix("writing the swap journal");
	return rc;
}

static int valid_part(const char *name, const char *prefix)
{
	return !strncmp(name, prefix, strlen(prefix)) && strlen(name) > strlen(prefix) &&
		!strchr(name, '/');
}

/* 0: no journal; 1: one, in *j; or an error (a journal tsarc cannot read). */
static int journal_read(int tfd, const char *target, tsarc_tree_journal *j)
{
	char text[512], keep[16];
	int fd = openat(tfd, TSARC_TREE_JOURNAL_NAME, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	ssize_t n;

	memset(j, 0, sizeof(*j));
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0)
		return tsarc_error_set(TSARC_EIO, "cannot read %s/%s: %s", target, TSARC_TREE_JOURNAL_NAME,
			strerror(errno));
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n < 0)
		return tsarc_error_set(TSARC_EIO, "cannot read %s/%s: %s", target, TSARC_TREE_JOURNAL_NAME,
			strerror(errno));
	text[n] = '\0';
	if (sscanf(text, "tsarc-swap 1 %d %63s %63s %15s", &j->phase, j->staging, j->old, keep) != 4 ||
		j->phase < 0 || j->phase > 2 || !valid_part(j->staging, TSARC_TREE_STAGING_PREFIX) ||
		!valid_part(j->old, TSARC_TREE_OLD_PREFIX) || (strcmp(keep, "keep") && strcmp(keep, "delete")))
		return tsarc_error_set(TSARC_ECORRUPT, "%s/%s is not a swap journal tsarc wrote; "
			"nothing was changed (look at it, then remove it)", target, TSARC_TREE_JOURNAL_NAME);
	j->keep_extras = !strcmp(keep, "keep");
	return 1;
}


/* Journal copies a killed run left before renaming one into place (and
 * the fixed-name copy of older versions). The caller holds the folder's
 * lock: no other run is writing one. */
static int remove_journal_temps(int tfd)
{
	char **names;
	size_t n, i;
	int rc;

	if ((rc = tsarc_list_folder(tfd, &names, &n)))
		return rc;
	for (i = 0; i < n; i++)
		if (!strncmp(names[i], TSARC_TREE_JOURNAL_TMP_PREFIX, strlen(TSARC_TREE_JOURNAL_TMP_PREFIX)) ||
			!strcmp(names[i], TSARC_TREE_JOURNAL_NAME ".tmp"))
			unlinkat(tfd, names[i], 0);
	tsarc_list_folder_free(names, n);
	return 0;
}

/* Renames from/name to to/name; what is in the way there (a file the
 * application made meanwhile) is deleted: the tree is being replaced. */
static int move_entry(int from, int to, const char *name)
{
	if (renameat(from, name, to, name) == 0)
		return 0;
	if (errno != EEXIST && errno != ENOTEMPTY && errno != EISDIR && errno != ENOTDIR)
		return -1;
	if (tsarc__tree_remove_at(to, name) != 0)
		return -1;
	return renameat(from, name, to, name);
}

static void step_done(const tsarc_tree_restore_options *o)
{
	if (o && o->after_step)
		o->after_step(o->after_step_arg);
}

/*
 * Before the moved-aside old tree is deleted: does it hold a tsarc
 * repository? The restore refused a target holding one when it began
 * (tsarc_tree_repository_check), but one made in the target since then
 * (while the new tree was extracted, or between an interrupted swap and
 * the run that ends it) was moved aside with the old entries, and the
 * deletion would take every snapshot in it, the restore reporting
 * success. Looked into by the same rules, at the one place where
 * something is deleted, so no window is left between the look and the
 * deletion but the rename of the folder itself, which is tsarc's.
 *
 * Such an old tree is kept whole where the swap moved it (the repository
 * is not moved out: tsarc would have to pick a place for it, and the old
 * tree already sits under a name nothing else uses), and the restore
 * says so, with a warning naming the repository and the folder, and in
 * `kept` (the folder's name) for the step's report. The restore itself
 * succeeded: the new tree is in place, and a failure here would stop a
 * deployment restore whose files were all restored. An old tree that
 * cannot be looked into is kept the same way: keeping costs room,
 * deleting what might hold a repository cannot be undone. A later
 * restore into the folder is refused while the kept tree holds the
 * repository (repofind.c looks into old-tree folders). 1 when kept.
 */
static int keep_old_tree(int tfd, const char *target, const tsarc_tree_journal *j, char *kept)
{
	char path[TSARC_TREE_PATH_MAX], *found = NULL;
	int rc;

	snprintf(path, sizeof(path), "%s/%s", target, j->old);
	rc = tsarc__tree_find_repository_at(tfd, j->old, path, &found);
	if (rc == 0)
		return 0; /* none, or no old tree (already deleted) */
	if (rc == 1)
		tsarc__log(TSARC_LOG_WARN, "tree", "old_tree_kept", "%s%s%s is a tsarc repository "
			"that was made in %s during the restore, after the restore checked the folder: "
			"the swap moved it aside with the old tree, which is kept in %s, not deleted. "
			"The new tree is in place. Move the repository out of %s, then delete %s (a "
			"restore into %s is refused while it holds the repository)", path,
			strcmp(found, ".") ? "/" : "", strcmp(found, ".") ? found : "", target, path,
			path, path, target);
	else
		tsarc__log(TSARC_LOG_WARN, "tree", "old_tree_kept", "%s: the old tree, moved aside "
			"in %s by the swap, could not be looked into for a tsarc repository (%s), so it "
			"is kept, not deleted. The new tree is in place. Delete %s once nothing in it is "
			"needed", target, path, tsarc_error_last()->message, path);
	tsarc_error_clear();
	free(found);
	if (kept)
		snprintf(kept, TSARC_TREE_KEPT_OLD_MAX, "%s", j->old);
	return 1;
}

/* Runs the journal's swap to its end (phase 0: undoes it). `kept`
 * (TSARC_TREE_KEPT_OLD_MAX bytes, may be NULL) gets the old tree's name
 * when it is kept. */
static int swap_finish(int tfd, const char *target, tsarc_tree_journal *j,
	const tsarc_tree_restore_options *o, tsarc_tree_restore_result *res, char *kept)
{
	char **names = NULL;
	size_t n = 0, i;
	int sfd = -1, ofd = -1, rc = 0;
	struct stat sb;

	if (j->phase == 0) {
		if (tsarc__tree_remove_at(tfd, j->staging) != 0 || tsarc__tree_remove_at(tfd, j->old) != 0)
			return tsarc_error_set(TSARC_EIO, "cannot remove %s/%s: %s", target, j->staging,
				strerror(errno));
		if (unlinkat(tfd, TSARC_TREE_JOURNAL_NAME, 0) != 0 && errno != ENOENT)
			return tsarc_error_set(TSARC_EIO, "cannot remove %s/%s: %s", target, TSARC_TREE_JOURNAL_NAME,
				strerror(errno));
		fsync_dir(tfd);
		return 0;
	}
	sfd = openat(tfd, j->staging, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sfd < 0 && errno == ENOENT && j->phase == 2)
		goto cleanup; /* every entry moved, the staging folder already gone */
	if (sfd < 0) {
		rc = tsarc_error_set(TSARC_ECORRUPT, "%s/%s names the new tree %s, which is missing",
			target, TSARC_TREE_JOURNAL_NAME, j->staging);
		goto done;
	}
	if (j->phase == 1) {
		if (mkdirat(tfd, j->old, 0700) != 0 && errno != EEXIST)
			goto io;
		if ((ofd = openat(tfd, j->old, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
			goto io;
		if ((rc = tsarc_list_folder(tfd, &names, &n)))
			goto done;
		for (i = 0; i < n; i++) {
			int in_new;
			if (!strcmp(names[i], j->staging) || !strcmp(names[i], j->old) ||
				tsarc_tree_reserved_name(names[i]))
				continue;
			in_new = fstatat(sfd, names[i], &sb, AT_SYMLINK_NOFOLLOW) == 0;
			if (!in_new && j->keep_extras)
				continue;
			if (move_entry(tfd, ofd, names[i]) != 0)
				goto io;
			if (!in_new && res)
				res->removed++;
			step_done(o);
		}
		tsarc_list_folder_free(names, n);
		names = NULL;
		if (fsync_dir(ofd) != 0 || fsync_dir(tfd) != 0)
			goto io;
		j->phase = 2;
		if ((rc = journal_write(tfd, target, j)))
			goto done;
		step_done(o);
	}
	if ((rc = tsarc_list_folder(sfd, &names, &n)))
		goto done;
	for (i = 0; i < n; i++) {
		if (move_entry(sfd, tfd, names[i]) != 0)
			goto io;
		step_done(o);
	}
	if (fsync_dir(tfd) != 0)
		goto io;
cleanup:
	/* The new tree is in place: the old one goes (unless it holds a
	 * repository), then the journal last, so that an interruption here is
	 * cleaned up by the next run. */
	if ((!keep_old_tree(tfd, target, j, kept) && tsarc__tree_remove_at(tfd, j->old) != 0) ||
		tsarc__tree_remove_at(tfd, j->staging) != 0)
		goto io;
	step_done(o);
	if (unlinkat(tfd, TSARC_TREE_JOURNAL_NAME, 0) != 0 || fsync_dir(tfd) != 0)
		goto io;
	goto done;
io:
	rc = tsarc_error_set(TSARC_EIO, "the swap into %s stopped: %s; the next restore into %s "
		"finishes it (%s/%s says how far it got)", target, strerror(errno), target, target,
		TSARC_TREE_JOURNAL_NAME);
done:
	tsarc_list_folder_free(names, n);
	if (sfd >= 0)
		close(sfd);
	if (ofd >= 0)
		close(ofd);
	return rc;
}

int tsarc__tree_target_open(tsarc_tree_target *t, const char *dir, const tsarc_tree_restore_options *o,
	tsarc_tree_restore_result *res)
{
	struct stat sb;
	char nonce[64];
	int rc;

	memset(res, 0, sizeof(*res));
	memset(t, 0, sizeof(*t));
	t->dir = dir;
	t->tfd = -1;
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		return tsarc_error_set(TSARC_EIO, "cannot create %s: %s", dir, strerror(errno));
	if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return tsarc_error_set(TSARC_EINVAL, "%s is not a folder", dir);
	if ((t->tfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return tsarc_error_set(TSARC_EIO, "cannot open %s: %s", dir, strerror(errno));
	/* Two restores into one folder would take each other's journal. */
	if (flock(t->tfd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK) {
		rc = tsarc_error_set(TSARC_ELOCKED, "another restore into %s is running", dir);
		goto fail;
	}
	if ((rc = remove_journal_temps(t->tfd)) || (rc = journal_read(t->tfd, dir, &t->j)) < 0)
		goto fail;
	if (rc == 1) {
		int phase = t->j.phase;
		if ((rc = swap_finish(t->tfd, dir, &t->j, o, NULL, res->kept_old)))
			goto fail;
		res->recovered = phase == 0 ? 2 : 1;
		tsarc__log(TSARC_LOG_WARN, "tree", "swap_recovered",
			"%s: an earlier restore was interrupted %s; %s", dir,
			phase == 0 ? "before its swap" : "during its swap",
			phase == 0 ? "its staging folder was removed" : "its swap was finished first");
	}
	/* A name no archive can know in advance: an entry of the staging
	 * folder's name would otherwise be deleted with it, or swapped in. */
	if ((rc = tsarc_staging_name(t->j.staging, sizeof(t->j.staging))) ||
		(rc = tsarc_staging_name(nonce, sizeof(nonce))))
		goto fail;
	snprintf(t->j.old, sizeof(t->j.old), TSARC_TREE_OLD_PREFIX "%s", nonce + strlen(TSARC_TREE_STAGING_PREFIX));
	t->j.keep_extras = o->keep_extras;
	t->j.phase = 0;
	if ((rc = journal_write(t->tfd, t->dir, &t->j)))
		goto fail;
	if (mkdirat(t->tfd, t->j.staging, 0700) != 0) {
		rc = tsarc_error_set(TSARC_EIO, "cannot create %s/%s: %s", dir, t->j.staging,
			strerror(errno));
		swap_finish(t->tfd, dir, &t->j, NULL, NULL, NULL);
		goto fail;
	}
	return 0;
fail:
	close(t->tfd);
	t->tfd = -1;
	return rc;
}

/* Undoes a restore that did not get to its swap. */
void tsarc__tree_target_discard(tsarc_tree_target *t)
{
	if (t->tfd < 0)
		return;
	t->j.phase = 0;
	swap_finish(t->tfd, t->dir, &t->j, NULL, NULL, NULL);
	close(t->tfd);
	t->tfd = -1;
}

/* The new tree is complete: swap it in, then the archive's "." attributes. */
int tsarc__tree_target_swap(tsarc_tree_target *t, const tsarc_tree_restore_options *o,
	tsarc_tree_restore_result *res)
{
	int rc;

	/* The new tree's contents on disk before the journal commits to it:
	 * from phase 1 on, a crash of the machine (not only a kill) is
	 * finished forward, and files whose data never reached the disk would
	 * be swapped in empty, the old tree deleted. One syncfs writes the
	 * whole staged tree at once. Until phase 1 is written, a failure
	 * undoes the staging: nothing of the old tree has moved. */
	if (syncfs(t->tfd) != 0) {
		rc = tsarc_error_set(TSARC_EIO, "writing the new tree of %s to disk: %s", t->dir,
			strerror(errno));
		tsarc__tree_target_discard(t);
		return rc;
	}
	t->j.phase = 1;
	if ((rc = journal_write(t->tfd, t->dir, &t->j))) {
		tsarc__tree_target_discard(t);
		return rc;
	}
	step_done(o);
	rc = swap_finish(t->tfd, t->dir, &t->j, o, res, res ? res->kept_old : NULL);
	if (rc == 0 && t->top.present) {
		struct stat now;
		if (o->restore_owner && fchown(t->tfd, t->top.uid, t->top.gid) != 0)
			rc = tsarc_error_set(TSARC_EACCESS, "cannot set the owner of %s: %s", t->dir,
				strerror(errno));
		else if (fstat(t->tfd, &now) != 0 ||
			 fchmod(t->tfd, tsarc__tree_setid_mode(t->top.mode, t->top.uid, t->top.gid,
				 &now)) != 0 ||
			 futimens(t->tfd, t->top.times) != 0)
			rc = tsarc_error_set(TSARC_EIO, "setting attributes of %s: %s", t->dir,
				strerror(errno));
	}
	close(t->tfd);
	t->tfd = -1;
	return rc;
}

int tsarc_tree_interrupted(const char *dir, int *phase, char staging[64], char old[64])
{
	tsarc_tree_journal j;
	int tfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

	if (tfd < 0)
		return tsarc_error_set(TSARC_EIO, "cannot open %s: %s", dir, strerror(errno));
	rc = journal_read(tfd, dir, &j);
	close(tfd);
	if (rc == 1) {
		*phase = j.phase;
		snprintf(staging, 64, "%s", j.staging);
		snprintf(old, 64, "%s", j.old);
	}
	return rc;
}

int tsarc_tree_swap_folder_name(const char *name)
{
	static const char *const prefixes[] = {TSARC_TREE_STAGING_PREFIX, TSARC_TREE_OLD_PREFIX};
	size_t i, digits;

	for (i = 0; i < 2; i++) {
		const char *p;
		if (strncmp(name, prefixes[i], strlen(prefixes[i])))
			continue;
		p = name + strlen(prefixes[i]);
		if (!(digits = strspn(p, "0123456789")) || p[digits] != '-')
			return 0;
		p += digits + 1;
		return strspn(p, "0123456789abcdef") == 16 && !p[16];
	}
	return 0;
}

int tsarc_staging_name(char *out, size_t outsz)
{
	uint8_t nonce[8];
	char hex[2 * sizeof(nonce) + 1];
	int rc;

	if ((rc = tsarc_random_bytes(nonce, sizeof(nonce))))
		return rc;
	tsarc_hex_encode(hex, nonce, sizeof(nonce));
	if (snprintf(out, outsz, TSARC_TREE_STAGING_PREFIX "%ld-%s", (long)getpid(), hex) >= (int)outsz)
		return tsarc_error_set(TSARC_ETOOLARGE, "no room for a staging name");
	return 0;
}
