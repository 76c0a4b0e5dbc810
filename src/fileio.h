#ifndef TSARC_FILEIO_H
#define TSARC_FILEIO_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * File plumbing every part of tsarc needs, written once: a write(2) is
 * allowed to write less than asked and to be interrupted, a file read
 * whole must have a ceiling, and a file that must never be seen half
 * written (an object, a configuration, a journal) is written under a
 * temporary name nobody can plant beforehand, synced, then renamed.
 */

/* Writes all `len` bytes to fd, again after EINTR and short writes:
 * 0, or -1 with errno set (the caller names what it was writing). */
int tsarc_write_all(int fd, const void *buf, size_t len);
/* The same at offset `at` (pwrite(2)): the file offset does not move. */
int tsarc_pwrite_all(int fd, const void *buf, size_t len, off_t at);

/* Reads exactly `len` bytes at offset `at` (pread(2)), again after EINTR
 * and short reads: 0, or -1 with errno set (ENODATA: the file is shorter). */
int tsarc_pread_all(int fd, void *buf, size_t len, off_t at);

/* Widens a pipe's buffer to 1 MiB (the default ceiling for unprivileged
 * processes) when fd is a pipe, so a fast producer or consumer costs far
 * fewer system calls and context switches than with 64 KiB. Best effort:
 * not a pipe, or a lower ceiling, leaves it as it was. */
void tsarc_pipe_grow(int fd);

/* The folder for scratch space: $TMPDIR, else /tmp. */
const char *tsarc_tmp_dir(void);
/* Scratch space: an unlinked file in TMPDIR (else /tmp), made with
 * O_TMPFILE where the filesystem has it, mode 0600. Nobody else can open
 * it, and it vanishes with its last descriptor, also after a crash.
 * The descriptor (close-on-exec), or -1 with errno set. */
int tsarc_scratch_file(void);
/* The same, except that a store on the same filesystem may give it a name
 * (linkat of /proc/self/fd/N, which O_EXCL would forbid): a pack's bytes
 * then become its object without being copied (fs store, put_file). */
int tsarc_scratch_file_linkable(void);

/* The names of the entries of the folder open on `dfd` (not "." and
 * ".."), sorted by strcmp (a walk in the same order each time), each and
 * the array malloc'd; `dfd` stays open and its position is not used. */
int tsarc_list_folder(int dfd, char ***out, size_t *count);
/* Frees what tsarc_list_folder gave (names may be NULL). */
void tsarc_list_folder_free(char **names, size_t n);

/* The TSARC_E* code for an errno of a file operation (ENOENT: ENOTFOUND,
 * EACCES: EACCESS, ...; EIO for anything without a better code). */
int tsarc_errno_code(int err);

/* Reads a whole file (at most `max` bytes, else TSARC_ETOOLARGE),
 * NUL-terminated; `*len_out` (may be NULL) gets its length. A missing
 * file (ENOENT, or ENOTDIR: a path through a file) is TSARC_ENOTFOUND. */
int tsarc_read_file(const char *path, size_t max, char **out, size_t *len_out);
/* The same for a file only this user may have written: a symlink, a
 * FIFO, another owner's file or one writable by others is TSARC_EUNSAFE
 * (it may have been planted to be trusted). */
int tsarc_read_private_file(const char *path, size_t max, char **out, size_t *len_out);
/* A file that holds a secret (a password file, user:password), the one
 * reader of them all: read as tsarc_read_file reads (no stdio buffer
 * holds a copy, every buffer it outgrew wiped), and a NUL byte refused
 * (no client can be given one; the secret would end there). Any refusal
 * is TSARC_ECONFIG (TSARC_ENOMEM aside), its message naming `what` (the
 * setting that named the file), the path and what is wrong: read's
 * reason for a folder ("cannot read password file F: Is a directory") or
 * an unreadable file, never an empty secret; a file over `max` bytes is
 * refused, not cut. The caller wipes
 * the result (tsarc_secure_free of *len_out + 1 bytes). */
int tsarc_read_secret_file(const char *what, const char *path, size_t max, char **out,
	size_t *len_out);

/*
 * A file written under a temporary name in its final folder and put in
 * place only when complete and synced: a reader or a crash never sees
 * half of it. The name is `prefix` followed by 24 random hex digits, and
 * it is created with O_EXCL|O_NOFOLLOW, so nothing planted there in
 * advance (a symlink to /etc/shadow, say) is ever written through.
 */
typedef struct tsarc_tmpfile {
	int dirfd;         /* the folder, or AT_FDCWD with a path in `name` */
	int fd;            /* the open file (mode 0600), -1 once closed */
	const char *where; /* the folder, for messages (NULL: `name` is a path) */
	char name[PATH_MAX];
} tsarc_tmpfile;

/* Flags of tsarc_tmpfile_commit. */
#define TSARC_TMPFILE_CREATE_ONLY 1u /* link: TSARC_EEXISTS if the name exists */
#define TSARC_TMPFILE_SYNC_DIR 2u    /* fsync the folder: the rename survives a crash */

/* Creates the temporary file `prefix`XXXX in dirfd. `where` names the
 * folder in messages (NULL when prefix is a whole path and dirfd is
 * AT_FDCWD); the caller keeps it alive until commit or discard. */
int tsarc_tmpfile_open(tsarc_tmpfile *t, int dirfd, const char *where, const char *prefix);
/* Appends to the temporary file. */
int tsarc_tmpfile_write(tsarc_tmpfile *t, const void *data, size_t len);
/* Appends the first `len` bytes of the file `fd` (the kernel copies them,
 * copy_file_range, where it can; fd's own offset is not used). */
int tsarc_tmpfile_copy_from(tsarc_tmpfile *t, int fd, uint64_t len);
/* Syncs and closes the file, then renames it to `name` (relative to
 * dirfd), or links it there with TSARC_TMPFILE_CREATE_ONLY. On failure
 * the temporary file is removed: either way `t` is finished. */
int tsarc_tmpfile_commit(tsarc_tmpfile *t, const char *name, unsigned flags);
/* Closes and removes the temporary file (a failure path); sets no error,
 * so the one being reported stays. */
void tsarc_tmpfile_discard(tsarc_tmpfile *t);

/*
 * Replaces (or creates) file `name` in the folder open as `dirfd`, also in
 * folders that others may write (/etc/redis is the redis group's, a
 * resources_dir may be shared): the content goes to a temporary file as
 * above, which takes the owner, group and mode of the file it replaces
 * when `keep_attrs` (else, and when there is none, `mode` and our owner:
 * for copies of secrets, whoever made the old one), is fsynced and renamed
 * over `name`; then the folder is fsynced. `name` must be a plain file
 * name and, when it exists, a regular file: a symlink there is
 * TSARC_EUNSAFE, neither followed nor replaced. `where` names the folder
 * in messages.
 */
int tsarc_replace_file_at(int dirfd, const char *where, const char *name, const void *data,
	size_t len, mode_t mode, int keep_attrs);
/* The same for a path; its folder is opened O_DIRECTORY|O_NOFOLLOW. */
int tsarc_replace_file(const char *path, const void *data, size_t len, mode_t mode,
	int keep_attrs);

#endif
