/* report.c: the statistics as text, JSON or CSV.
 *
 * One set of emit functions writes every format, so the three always carry the
 * same figures. Decimals are written by mx_format (never printf's %f) so the
 * digits do not depend on the C library.
 *
 * SPDX-License-Identifier: MIT
 * Copyright (c) the slim authors
 */
#include <stdlib.h>
#include <string.h>

#include "textstats.h"

#define LABEL_WIDTH 30
#define BAR_WIDTH 40

typedef struct {
    Buffer *out;
    OutputFormat fmt;
    const char *section;
    int items;     /* items written in the current section */
    int sections;  /* sections written so far */
    int list;      /* the current JSON section is an array */
} Emitter;

/* --- escaping ------------------------------------------------------------------ */

static void json_string(Buffer *out, const char *s) {
    const unsigned char *p = (const unsigned char *)s;
    buf_append_char(out, '"');
    for (; *p; p++) {
        switch (*p) {
        case '"': buf_append_str(out, "\\\""); break;
        case '\\': buf_append_str(out, "\\\\"); break;
        case '\n': buf_append_str(out, "\\n"); break;
        case '\r': buf_append_str(out, "\\r"); break;
        case '\t': buf_append_str(out, "\\t"); break;
        default:
            if (*p < 0x20 || *p == 0x7F) buf_printf(out, "\\u%04x", *p);
            else buf_append_char(out, (char)*p);
        }
    }
    buf_append_char(out, '"');
}

static void csv_field(Buffer *out, const char *s) {
    if (strpbrk(s, ",\"\r\n") == NULL) {
        buf_append_str(out, s);
        return;
    }
    buf_append_char(out, '"');
    for (; *s; s++) {
        if (*s == '"') buf_append_char(out, '"');
        buf_append_char(out, *s);
    }
    buf_append_char(out, '"');
}

/* Control characters would break the text layout: show them as '?'. */
static void text_safe(Buffer *out, const char *s) {
    for (; *s; s++) buf_append_char(out, ((unsigned char)*s < 0x20 || *s == 0x7F) ? '?' : *s);
}

/* Display width in code points, for aligning columns of words. */
static size_t display_width(const char *s) {
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80) n++;
    return n;
}

/* At least one space, so that a long label never runs into its value. */
static void pad(Buffer *out, size_t used, size_t width) {
    do buf_append_char(out, ' ');
    while (++used < width);
}

/* --- sections -------------------------------------------------------------------- */

static void begin(Emitter *e, const char *section, int list) {
    e->section = section;
    e->items = 0;
    e->list = list;
    switch (e->fmt) {
    case FMT_TEXT:
        if (e->sections) buf_append_char(e->out, '\n');
        buf_printf(e->out, "%s\n", section);
        break;
    case FMT_JSON:
        buf_append_str(e->out, e->sections ? ",\n  " : "{\n  ");
        json_string(e->out, section);
        buf_append_str(e->out, list ? ": [" : ": {");
        break;
    case FMT_CSV:
        if (e->sections == 0) buf_append_str(e->out, "section,key,value\n");
        break;
    }
    e->sections++;
}

static void end(Emitter *e) {
    if (e->fmt == FMT_JSON) {
        if (e->items) buf_append_str(e->out, "\n  ");
        buf_append_char(e->out, e->list ? ']' : '}');
    }
}

static void finish(Emitter *e) {
    if (e->fmt == FMT_JSON) buf_append_str(e->out, e->sections ? "\n}\n" : "{}\n");
}

/* key: raw text; value: already formatted; quoted: a JSON string */
static void item(Emitter *e, const char *key, const char *value, int quoted) {
    switch (e->fmt) {
    case FMT_TEXT:
        buf_append_str(e->out, "  ");
        buf_append_str(e->out, key);
        pad(e->out, strlen(key), LABEL_WIDTH);
        text_safe(e->out, value);
        buf_append_char(e->out, '\n');
        break;
    case FMT_JSON:
        buf_append_str(e->out, e->items ? ",\n    " : "\n    ");
        json_string(e->out, key);
        buf_append_str(e->out, ": ");
        if (quoted) json_string(e->out, value);
        else buf_append_str(e->out, value);
        break;
    case FMT_CSV:
        csv_field(e->out, e->section);
        buf_append_char(e->out, ',');
        csv_field(e->out, key);
        buf_append_char(e->out, ',');
        csv_field(e->out, value);
        buf_append_char(e->out, '\n');
        break;
    }
    e->items++;
}

static void number(Emitter *e, const char *key, unsigned long value) {
    char text[32];
    sprintf(text, "%lu", value);
    item(e, key, text, 0);
}

static void decimal(Emitter *e, const char *key, double value, int decimals) {
    char text[48];
    item(e, key, mx_format(text, value, decimals), 0);
}

static void flag(Emitter *e, const char *key, int value) {
    if (e->fmt == FMT_TEXT) item(e, key, value ? "yes" : "no", 0);
    else item(e, key, value ? "true" : "false", 0);
}

static void string(Emitter *e, const char *key, const char *value) {
    item(e, key, value, 1);
}

/* One ranked entry: a word (or pair) with its count and share of the total. */
static void ranked(Emitter *e, int rank, const char *name, unsigned long count, unsigned long total) {
    char share[48];
    mx_format(share, total ? 100.0 * (double)count / (double)total : 0.0, 2);
    switch (e->fmt) {
    case FMT_TEXT:
        buf_printf(e->out, "  %3d. ", rank);
        text_safe(e->out, name);
        pad(e->out, display_width(name), LABEL_WIDTH - 2);
        buf_printf(e->out, "%6lu  %6s%%\n", count, share);
        break;
    case FMT_JSON:
        buf_append_str(e->out, e->items ? ",\n    {\"text\": " : "\n    {\"text\": ");
        json_string(e->out, name);
        buf_printf(e->out, ", \"count\": %lu, \"percent\": %s}", count, share);
        break;
    case FMT_CSV:
        csv_field(e->out, e->section);
        buf_append_char(e->out, ',');
        csv_field(e->out, name);
        buf_printf(e->out, ",%lu\n", count);
        break;
    }
    e->items++;
}

/* --- the sections themselves --------------------------------------------------- */

static void section_counts(Emitter *e, const Stats *s) {
    begin(e, "counts", 0);
    number(e, "bytes", s->bytes);
    number(e, "characters", s->chars);
    number(e, "invalid_utf8", s->invalid);
    number(e, "words", s->words);
    number(e, "distinct_words", (unsigned long)wt_size(&s->words_tab));
    number(e, "sentences", s->sentences);
    number(e, "paragraphs", s->paragraphs);
    number(e, "syllables", s->syllables);
    string(e, "longest_word", s->longest_word ? s->longest_word : "");
    number(e, "longest_sentence_words", s->longest_sentence);
    end(e);
}

static void section_lines(Emitter *e, const Stats *s) {
    begin(e, "lines", 0);
    number(e, "lines", s->lines);
    number(e, "blank", s->empty_lines);
    number(e, "longest", s->longest_line);
    number(e, "longest_at", s->longest_line_no);
    number(e, "crlf", s->crlf_lines);
    number(e, "trailing_space", s->trailing_space_lines);
    number(e, "tabs", s->tabs);
    flag(e, "final_newline", s->final_newline);
    end(e);
}

static void bar(Buffer *out, unsigned long value, unsigned long max) {
    unsigned long n = max ? (value * BAR_WIDTH + max - 1) / max : 0;
    unsigned long i;
    for (i = 0; i < n; i++) buf_append_char(out, '#');
}

static void section_lengths(Emitter *e, const Stats *s) {
    unsigned long max = 0;
    int i;
    char key[16];
    for (i = 1; i <= MAX_WORD_LEN_BUCKET; i++)
        if (s->length_hist[i] > max) max = s->length_hist[i];
    begin(e, "word_lengths", 0);
    for (i = 1; i <= MAX_WORD_LEN_BUCKET; i++) {
        if (s->length_hist[i] == 0) continue;
        sprintf(key, i == MAX_WORD_LEN_BUCKET ? "%d+" : "%d", i);
        if (e->fmt == FMT_TEXT) {
            buf_printf(e->out, "  %4s  %7lu  ", key, s->length_hist[i]);
            bar(e->out, s->length_hist[i], max);
            buf_append_char(e->out, '\n');
            e->items++;
        } else {
            number(e, key, s->length_hist[i]);
        }
    }
    end(e);
}

typedef struct {
    char letter;
    unsigned long count;
} LetterCount;

static int by_letter_count(const void *a, const void *b) {
    const LetterCount *x = a;
    const LetterCount *y = b;
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    return x->letter < y->letter ? -1 : x->letter > y->letter;
}

static void section_chars(Emitter *e, const Stats *s) {
    LetterCount letters[26];
    unsigned long total = 0;
    char key[32];
    int i;
    begin(e, "characters", 0);
    for (i = 0; i < CC_COUNT; i++) number(e, char_class_name((CharClass)i), s->classes[i]);
    number(e, "non_ascii", s->non_ascii);
    for (i = 0; i < 26; i++) {
        letters[i].letter = (char)('a' + i);
        letters[i].count = s->ascii_letters[i];
        total += s->ascii_letters[i];
    }
    merge_sort(letters, 26, sizeof *letters, by_letter_count);
    for (i = 0; i < 5 && letters[i].count > 0; i++) {
        char share[48];
        char value[64];
        sprintf(key, "letter_%d", i + 1);
        mx_format(share, 100.0 * (double)letters[i].count / (double)total, 2);
        sprintf(value, "%c %s%%", letters[i].letter, share);
        string(e, key, value);
    }
    end(e);
}

static void section_readability(Emitter *e, const Stats *s) {
    Derived d;
    derive(s, &d);
    begin(e, "readability", 0);
    decimal(e, "flesch_reading_ease", d.flesch_reading_ease, 2);
    decimal(e, "flesch_kincaid_grade", d.flesch_kincaid_grade, 2);
    decimal(e, "automated_readability_index", d.automated_readability, 2);
    decimal(e, "coleman_liau_index", d.coleman_liau, 2);
    decimal(e, "smog_grade", d.smog, 2);
    decimal(e, "mean_word_length", d.mean_word_length, 2);
    decimal(e, "sd_word_length", d.sd_word_length, 2);
    decimal(e, "mean_sentence_length", d.mean_sentence_length, 2);
    decimal(e, "type_token_ratio", d.type_token_ratio, 3);
    number(e, "hapax_legomena", d.hapax);
    decimal(e, "entropy_bits_per_byte", d.entropy_bits, 3);
    end(e);
}

static void section_table(Emitter *e, const char *name, const WordTable *t, unsigned long total, int top) {
    size_t n;
    size_t i;
    WordEntry **list = wt_sorted(t, &n);
    begin(e, name, 1);
    for (i = 0; i < n && (int)i < top; i++) ranked(e, (int)i + 1, list[i]->key, list[i]->count, total);
    end(e);
    free(list);
}

void report(Buffer *out, const Stats *s, const Options *opts) {
    Emitter e;
    unsigned long pairs = 0;
    size_t i;
    memset(&e, 0, sizeof e);
    e.out = out;
    e.fmt = opts->format;
    for (i = 0; i < s->bigrams_tab.cap; i++)
        if (s->bigrams_tab.slots[i].key != NULL) pairs += s->bigrams_tab.slots[i].count;
    if (opts->sections & SEC_COUNTS) section_counts(&e, s);
    if (opts->sections & SEC_LINES) section_lines(&e, s);
    if (opts->sections & SEC_LENGTHS) section_lengths(&e, s);
    if (opts->sections & SEC_CHARS) section_chars(&e, s);
    if (opts->sections & SEC_READABILITY) section_readability(&e, s);
    if (opts->sections & SEC_WORDS) section_table(&e, "top_words", &s->words_tab, s->kept_words, opts->top);
    if (opts->sections & SEC_BIGRAMS) section_table(&e, "top_bigrams", &s->bigrams_tab, pairs, opts->top);
    finish(&e);
}
