/* Passwords: each key file wraps the same master keys with one password,
 * so people and automation can each have their own, and one can be
 * changed or withdrawn without re-encrypting a byte of data. */
#include "cli.h"
#include "forgotten.h"
#include "lock.h"
#include "snapshot.h"
#include "tsarc/errors.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static const char KEY_HELP[] =
	"Usage: tsarc key list [options]\n"
	"       tsarc key add [--new-password-file F] [options]\n"
	"       tsarc key remove ID [options]\n"
	"       tsarc key passwd [--new-password-file F] [options]\n"
	"\n"
	"Every key file opens the repository with its own password; the data is\n"
	"encrypted once, with master keys that each key file wraps.\n"
	"  list     the key files: id, when and on which host each was made; the one\n"
	"           the given password opened is marked\n"
	"  add      a key file for a new password\n"
	"  remove   a key file (an id or a unique prefix of one from 'key list'); not\n"
	"           the one the given password opened, so one always remains; it\n"
	"           holds the repository alone, as passwd does (exit 11 while\n"
	"           another command runs). Under Object Lock it hides the key file\n"
	"           and marks it removed: it says until when the bucket keeps it, as\n"
	"           its password opens the repository as it was till then; the id\n"
	"           of a key file someone else hid ('check' names it) confirms that\n"
	"           removal\n"
	"  passwd   add a key file for the new password, then remove every key file\n"
	"           the given password opens (not only the one it opened: two may\n"
	"           hold it), so that the old password opens nothing after; another\n"
	"           password's key files stay. Refused, nothing changed, when some key\n"
	"           files cannot be tried within one open's scrypt budget\n"
	"The new password comes from --new-password-file, $TSARC_NEW_PASSWORD_FILE,\n"
	"$TSARC_NEW_PASSWORD, or a prompt on a terminal; never from the command line.\n"
	"\n"
	"Options:\n";

/* The actions that write to the repository (--as-of refuses them). */
static const char *const KEY_WRITES[] = {"add", "remove", "passwd", NULL};

/* Its state: the --new-password-file. */
static const cli_option KEY_OPTIONS[] = {
	{"new-password-file", 1, "F", "read the new password from F", CLI_STRING, 0},
	{0},
};

/* "kept_until": the date, or null when nothing is kept. */
static void add_kept_until(cJSON *doc, int64_t kept_until)
{
	char when[40];

	if (!kept_until) {
		cJSON_AddNullToObject(doc, "kept_until");
		return;
	}
	tsarc_time_format(kept_until, 0, when, sizeof(when));
	cJSON_AddStringToObject(doc, "kept_until", when);
}

/* What Object Lock keeps of the key files a change removed: their
 * versions stay, hidden, until `kept_until`, and their password opens the
 * repository as it was till then. Said to whoever removes a key file
 * because its password leaked, as forget says of a snapshot it hides. */
static void say_kept(const char *what, int64_t kept_until)
{
	char when[40];

	tsarc_time_format(kept_until, 0, when, sizeof(when));
	printf("%s: under Object Lock until %s: hidden now, marked removed, and deleted for good "
	       "by a prune after that date; until then its password still opens the repository "
	       "as it was (--as-of) for whoever can read the bucket's old versions\n", what,
		when);
}

/* Prints what a change did, human or --json: the key added, the keys
 * removed ("removed": the first, the one in use; passwd's "removed_all":
 * each; "kept_until": the date until which Object Lock keeps them hidden,
 * null when none is kept). */
static int report(const cli_common *c, const char *action, const char *added,
	char *const *removed, size_t nremoved, int64_t kept_until)
{
	char line[80];
	size_t i;

	if (c->json) {
		cJSON *doc = cJSON_CreateObject(), *all;
		cJSON_AddStringToObject(doc, "action", action);
		if (added)
			cJSON_AddStringToObject(doc, "added", added);
		if (nremoved)
			cJSON_AddStringToObject(doc, "removed", removed[0]);
		if (!strcmp(action, "passwd") && (all = cJSON_AddArrayToObject(doc, "removed_all")))
			for (i = 0; i < nremoved; i++)
				cJSON_AddItemToArray(all, cJSON_CreateString(removed[i]));
		if (strcmp(action, "add"))
			add_kept_until(doc, kept_until);
		return cli_print_json(doc);
	}
	if (added)
		printf("added key %.10s\n", added);
	for (i = 0; i < nremoved; i++)
		if (!strcmp(action, "remove") && kept_until) {
			snprintf(line, sizeof(line), "removed key %.10s", removed[i]);
			say_kept(line, kept_until);
		} else {
			printf("removed key %.10s\n", removed[i]);
		}
	if (nremoved > 1)
		printf("the old password opened %zu key files: all are removed\n", nremoved);
	if (!strcmp(action, "passwd") && kept_until)
		say_kept("the old password's key files", kept_until);
	return 0;
}

/* A key file someone else had hidden (Object Lock), whose removal the
 * operator confirmed: marked removed and kept hidden until its date, or,
 * that date passed, deleted for good at once with no mark (forgotten.h). */
static int report_confirmed(const cli_common *c, const char *name, int64_t kept_until)
{
	char line[96];

	if (c->json) {
		cJSON *doc = cJSON_CreateObject();
		cJSON_AddStringToObject(doc, "action", "remove");
		cJSON_AddStringToObject(doc, "removed", name);
		cJSON_AddBoolToObject(doc, "was_hidden", 1);
		add_kept_until(doc, kept_until);
		return cli_print_json(doc);
	}
	if (!kept_until) {
		printf("hidden key %.10s (hidden by another hand) deleted for good: its retention "
		       "date had passed\n", name);
		return 0;
	}
	snprintf(line, sizeof(line), "hidden key %.10s (hidden by another hand)", name);
	say_kept(line, kept_until);
	return 0;
}

/* Under Object Lock, a key file someone else hid (forgotten.h) is
 * missing from the list: said, as whoever checks their passwords against
 * the list must learn why one is not there. */
static int warn_hidden_keys(tsarc_repo *repo)
{
	char **names = NULL, advice[TSARC_KEY_ADVICE_MAX];
	size_t n = 0, i;
	int rc = tsarc_keys_unmarked(repo, &names, &n);

	for (i = 0; !rc && i < n; i++) {
		tsarc_key_unmarked_advice(advice, sizeof(advice), names[i]);
		cli_log(TSARC_LOG_WARN, "key_hidden", "key file %.10s is hidden behind a delete "
			"marker that tsarc's key remove did not write: not listed; %s", names[i],
			advice);
	}
	tsarc_store_names_free(names, n);
	return rc;
}

static int key_list(const cli_common *c, tsarc_repo *repo)
{
	cJSON *keys = NULL;
	const cJSON *k;
	int rc;

	if ((rc = tsarc_repo_list_keys(repo, &keys)) || (rc = warn_hidden_keys(repo))) {
		cJSON_Delete(keys);
		return rc;
	}
	if (c->json)
		return cli_print_json(keys);
	printf("%-3s%-12s %-28s %s\n", "", "ID", "CREATED", "HOST");
	cJSON_ArrayForEach(k, keys) {
		char *created = cJSON_GetStringValue(cJSON_GetObjectItem(k, "created"));
		char *host = cJSON_GetStringValue(cJSON_GetObjectItem(k, "host"));
		/* A key file's words are plain JSON anyone who can write the
		 * store may change (its name, the hash, changes with them). */
		cli_text_clean(created, 0);
		cli_text_clean(host, 0);
		printf("%-3s%-12.10s %-28s %s\n", cJSON_IsTrue(cJSON_GetObjectItem(k, "current")) ?
			"*" : "", cJSON_GetStringValue(cJSON_GetObjectItem(k, "id")),
			cJSON_IsTrue(cJSON_GetObjectItem(k, "damaged")) ? "(damaged)" :
			created ? created : "?", host ? host : "?");
	}
	cJSON_Delete(keys);
	return 0;
}

int cmd_key(int argc, char **argv)
{
	static const cli_command cmd = {"key", KEY_HELP, KEY_OPTIONS, NULL, CLI_ANY_OPERANDS,
		NULL, CLI_WRITES, KEY_WRITES, 0};
	char added[TSARC_ID_HEX_LEN + 1], removed[TSARC_ID_HEX_LEN + 1];
	const char *new_file = NULL, *sub;
	tsarc_repo *repo = NULL;
	tsarc_lock *lock = NULL;
	char *new_pw = NULL, *old_pw = NULL, **gone = NULL, *one;
	tsarc_key_removal how = {0, 0};
	int64_t kept_until = 0;
	size_t ngone = 0;
	cli_common c;
	int rc;

	if ((rc = cli_start(&cmd, argc, argv, &c, &new_file)) != CLI_GO_ON)
		return rc;
	if (optind >= argc)
		return cli_usage_error("key", "say what to do: list, add, remove ID or passwd");
	sub = argv[optind++];
	if (strcmp(sub, "list") && strcmp(sub, "add") && strcmp(sub, "remove") &&
		strcmp(sub, "passwd"))
		return cli_usage_error("key", "unknown action '%s' (list, add, remove, passwd)", sub);
	if (!strcmp(sub, "remove") && optind == argc)
		return cli_usage_error("key", "remove needs the id of a key (see 'tsarc key list')");
	if (optind + !strcmp(sub, "remove") < argc)
		return cli_usage_error("key", "unexpected argument '%s'", argv[argc - 1]);
	if (new_file && strcmp(sub, "add") && strcmp(sub, "passwd"))
		return cli_usage_error("key", "--new-password-file is for add and passwd");
	if ((rc = cli_open_repo_password(&c, &repo, !strcmp(sub, "passwd") ? &old_pw : NULL)))
		return cli_fail(rc);
	/* A removal holds the repository alone: two people each removing the
	 * other's key at once would otherwise both see their own key in
	 * place, and leave none (the removal checks its own key under it). */
	if ((!strcmp(sub, "remove") || !strcmp(sub, "passwd")) &&
		(rc = tsarc_lock_acquire(&lock, repo, 1))) {
		cli_free_password(old_pw);
		return cli_end(repo, NULL, rc);
	}
	if (!strcmp(sub, "list")) {
		rc = key_list(&c, repo);
	} else if (!strcmp(sub, "remove")) {
		one = removed;
		if (!(rc = tsarc_repo_remove_key(repo, argv[optind], removed, &how)))
			rc = how.was_hidden ? report_confirmed(&c, removed, how.kept_until) :
					      report(&c, "remove", NULL, &one, 1, how.kept_until);
	} else if ((rc = cli_get_new_password(new_file, &new_pw))) {
		/* nothing to add */
	} else if (!strcmp(sub, "add")) {
		if (!(rc = tsarc_repo_add_key(repo, new_pw, added)))
			rc = report(&c, "add", added, NULL, 0, 0);
	} else if (!(rc = tsarc_repo_change_password(repo, old_pw, new_pw, added, &gone, &ngone,
			     &kept_until))) {
		rc = report(&c, "passwd", added, gone, ngone, kept_until);
	}
	tsarc_store_names_free(gone, ngone);
	cli_free_password(old_pw);
	cli_free_password(new_pw);
	return cli_end(repo, lock, rc);
}
