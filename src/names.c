#include "names.h"
#include "tsarc/errors.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

const char *tsarc_name_of(const tsarc_name *table, size_t n, int value, const char *otherwise)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (table[i].value == value)
			return table[i].name;
	return otherwise;
}

int tsarc_name_find(const tsarc_name *table, size_t n, const char *name, int nocase,
	int *value)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (nocase ? !strcasecmp(name, table[i].name) : !strcmp(name, table[i].name)) {
			*value = table[i].value;
			return 1;
		}
	return 0;
}

/* The length of the UTF-8 character at `s` (its code point in *cp), or 0
 * when the bytes there are no valid one: a stray continuation byte, a lead
 * byte C0, C1 or F5..FF, a sequence cut short (the NUL ends it), an
 * overlong form, a surrogate, a code point past U+10FFFF. */
static size_t utf8_char(const unsigned char *s, uint32_t *cp)
{
	static const uint32_t min[4] = {0, 0x80, 0x800, 0x10000};
	size_t n, i;
	uint32_t c;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 1, c = s[0] & 0x1fu;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 2, c = s[0] & 0x0fu;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 3, c = s[0] & 0x07u;
	else
		return 0;
	for (i = 1; i <= n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3fu);
	}
	if (c < min[n] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n + 1;
}

static int is_control(uint32_t cp)
{
	return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f);
}

/*
 * Characters that change how the text around them reads without being
 * seen, or that are not seen at all: U+202E shows "nightly<RLO>daolpu" as
 * "nightlyupload" ("Trojan Source"), and "night<SOFT HYPHEN>ly", a tag with
 * a zero-width space, a BOM or a run of TAG characters in it looks like
 * another tag on the screen. They are Unicode's Default_Ignorable_Code_Point
 * characters (a renderer that does not know one shows nothing) without the
 * variation selectors (U+180B..U+180D, U+180F, U+FE00..U+FE0F,
 * U+E0100..U+E01EF: emoji and CJK text need them), plus the line and
 * paragraph separators U+2028, U+2029 (they break a line) and the
 * interlinear annotation controls U+FFF9..U+FFFB (they hide what they
 * enclose). Letters of real scripts are not among them. Sorted, no
 * overlaps.
 */
static const struct {
	uint32_t first, last;
} HIDDEN[] = {
	{0x00ad, 0x00ad},   /* SOFT HYPHEN: shown only where a line breaks */
	{0x034f, 0x034f},   /* COMBINING GRAPHEME JOINER: no glyph */
	{0x061c, 0x061c},   /* ARABIC LETTER MARK: a bidi mark */
	{0x115f, 0x1160},   /* HANGUL CHOSEONG/JUNGSEONG FILLER: blank */
	{0x17b4, 0x17b5},   /* KHMER VOWEL INHERENT AQ/AA: no glyph (Unicode: not to be used) */
	{0x180e, 0x180e},   /* MONGOLIAN VOWEL SEPARATOR: a format control, no glyph */
	{0x200b, 0x200f},   /* zero widths (ZWSP, ZWNJ, ZWJ), LRM, RLM */
	{0x2028, 0x202e},   /* line and paragraph separators (break lines), bidi
			     * embeddings and overrides LRE..RLO */
	{0x2060, 0x206f},   /* word joiner, invisible operators, bidi isolates
			     * LRI..PDI, deprecated format controls (and U+2065) */
	{0x3164, 0x3164},   /* HANGUL FILLER: blank */
	{0xfeff, 0xfeff},   /* ZERO WIDTH NO-BREAK SPACE, the BOM */
	{0xffa0, 0xffa0},   /* HALFWIDTH HANGUL FILLER: blank */
	{0xfff0, 0xfffb},   /* unassigned ignorables, interlinear annotation
			     * controls (they hide or move the text they enclose) */
	{0x1bca0, 0x1bca3}, /* shorthand format controls: no glyph */
	{0x1d173, 0x1d17a}, /* musical symbol format controls: no glyph */
	{0xe0000, 0xe00ff}, /* TAG characters: invisible ASCII look-alikes that
			     * smuggle text, and unassigned ignorables */
	{0xe01f0, 0xe0fff}, /* unassigned ignorables after the variation selectors */
};

static int is_hidden(uint32_t cp)
{
	size_t i;

	for (i = 0; i < sizeof(HIDDEN) / sizeof(HIDDEN[0]) && HIDDEN[i].first <= cp; i++)
		if (cp <= HIDDEN[i].last)
			return 1;
	return 0;
}

size_t tsarc_text_hidden_len(const char *s)
{
	uint32_t cp;
	size_t n = utf8_char((const unsigned char *)s, &cp);

	return n && is_hidden(cp) ? n : 0;
}

const char *tsarc_text_problem(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t cp;
	size_t n;

	if (!s)
		return "it is missing";
	while (*p) {
		if (!(n = utf8_char(p, &cp)))
			return "not valid UTF-8";
		if (is_control(cp))
			return "control characters are not allowed";
		if (is_hidden(cp))
			return "bidirectional or invisible formatting characters are not allowed";
		p += n;
	}
	return NULL;
}

const char *tsarc_text_shown(const char *s, char *out, size_t size)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0, n;
	uint32_t cp;

	/* Whole characters only, so that a shortened text is UTF-8 too. */
	while (*p && o + 8 < size) {
		if (!(n = utf8_char(p, &cp)) || is_control(cp) || is_hidden(cp)) {
			out[o++] = '?';
			p += n ? n : 1;
		} else {
			memcpy(out + o, p, n);
			o += n;
			p += n;
		}
	}
	if (*p) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}

int tsarc_text_check(int code, const char *field, const char *value)
{
	const char *problem = tsarc_text_problem(value);
	char shown[104]; /* 96 bytes of it at most, "...", the NUL */

	if (!problem)
		return 0;
	if (!value)
		return tsarc_error_set(code, "%s: %s", field, problem);
	return tsarc_error_set(code, "%s '%s': %s", field, tsarc_text_shown(value, shown,
		sizeof(shown)), problem);
}
