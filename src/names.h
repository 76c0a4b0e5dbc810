#ifndef TSARC_NAMES_H
#define TSARC_NAMES_H

#include <stddef.h>

/*
 * A table of {value, name} pairs that serves both directions: the name
 * an enum prints as, and the value a configured word parses to. Codecs,
 * TLS modes, log levels and signals each had a switch for one direction
 * and, where they parsed, a second list for the other, which could drift
 * apart. Aliases go after the spelling that is printed: the first row
 * with a value gives its name.
 */
typedef struct tsarc_name {
	int value;
	const char *name;
} tsarc_name;

#define TSARC_NAMES_COUNT(table) (sizeof(table) / sizeof((table)[0]))

/* The name of the first row with `value`; `otherwise` when none has it. */
const char *tsarc_name_of(const tsarc_name *table, size_t n, int value, const char *otherwise);

/* 1 and *value set when a row is named `name` (ignoring case when
 * `nocase`), 0 and *value untouched when none is. */
int tsarc_name_find(const tsarc_name *table, size_t n, const char *name, int nocase,
	int *value);

/*
 * Text a snapshot records for operators to read later: its tags and host,
 * its streams' names and kinds (from the command line, the library's
 * options or a deployment's config). The display cleans what it shows
 * (cli_text_clean), but a stored "nightly\x1b[2J" stays in the repository
 * for every other reader (a script, --json, an older tsarc), and a name
 * that is not UTF-8 cannot be matched or shown faithfully anywhere: such
 * text is refused where it comes in, before anything is written. Reading
 * snapshots never checks it (old ones may hold anything).
 */

/* NULL when `s` may be recorded: valid UTF-8 (no overlong forms,
 * surrogates or code points past U+10FFFF) without a C0 control, DEL, a
 * C1 control (U+0080..U+009F) or a character that reorders or hides text
 * (tsarc_text_hidden_len). Otherwise what is wrong with it, e.g.
 * "control characters are not allowed". */
const char *tsarc_text_problem(const char *s);

/* The byte length of the character at `s` when it is one that reorders or
 * hides the text around it: a bidi control (U+202A..U+202E, U+2066..U+2069,
 * LRM, RLM, ALM), U+2028/U+2029, a zero width (U+200B..U+200D), U+2060..
 * U+206F, U+FEFF, or another that shows as nothing or a blank (the soft
 * hyphen, the combining grapheme joiner, the Hangul fillers, the TAG
 * characters U+E0000..U+E007F, ...: the list in names.c, Unicode's
 * default-ignorable characters but the variation selectors); 0 for any
 * other character, invalid UTF-8 or the NUL.
 * Never reads past a NUL. The display (cli_text_clean) uses it too, for
 * snapshots written before these were refused. */
size_t tsarc_text_hidden_len(const char *s);

/* Text from elsewhere (a snapshot, a value refused) as a message may show
 * it: each control character, each reordering or hiding character and
 * each byte of invalid UTF-8 as '?' (never the raw bytes), whole
 * characters only, "..." where it is cut to fit `out` (`size` at least 9).
 * Returns `out`. */
const char *tsarc_text_shown(const char *s, char *out, size_t size);

/* 0 when `value` may be recorded; otherwise `code` with the message
 * "FIELD 'VALUE': PROBLEM", VALUE as tsarc_text_shown shows it, cut at
 * 96 bytes. `field` names what it is ("tag", "stream name", a config's
 * path). A NULL value is refused too. */
int tsarc_text_check(int code, const char *field, const char *value);

#endif
