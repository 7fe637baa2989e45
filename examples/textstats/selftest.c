/* selftest.c: textstats --self-test. Every module is checked against results
 * worked out by hand; the one-line summary is the program's smoke check in
 * container images, so it also proves that the libc the image was linked
 * against (glibc, musl, static or dynamic) gives the same results.
 *
 * SPDX-License-Identifier: MIT
 * Copyright (c) the slim authors
 */
#include <stdlib.h>
#include <string.h>

#include "textstats.h"

typedef struct {
    FILE *log;
    int verbose;
    int total;
    int failed;
} Tester;

static void check(Tester *t, int ok, const char *name, int line) {
    t->total++;
    if (!ok) {
        t->failed++;
        fprintf(t->log, "FAIL %s (selftest.c:%d)\n", name, line);
    } else if (t->verbose) {
        fprintf(t->log, "ok   %s\n", name);
    }
}

#define CHECK(t, cond, name) check((t), (cond) ? 1 : 0, (name), __LINE__)

static int near(double a, double b, double eps) {
    double d = a - b;
    return d < eps && d > -eps;
}

/* Analyses text with the given settings into a fresh Stats. */
static void run(Stats *s, const char *text, int fold, int stopwords, int min_length) {
    AnalyzeConfig cfg;
    cfg.fold = fold;
    cfg.stopwords = stopwords;
    cfg.min_length = min_length;
    stats_init(s);
    analyze(s, text, strlen(text), &cfg);
}

static unsigned long count_of(const Stats *s, const char *word) {
    const WordEntry *e = wt_find(&s->words_tab, word, strlen(word));
    return e ? e->count : 0;
}

/* --- utf8.c ------------------------------------------------------------------ */

static uint32_t decode_one(const char *bytes, size_t len, size_t *pos) {
    *pos = 0;
    return utf8_decode(bytes, len, pos);
}

static void test_utf8(Tester *t) {
    size_t pos;
    char enc[4];
    static const uint32_t samples[] = {0x24, 0xA2, 0x939, 0x20AC, 0xD55C, 0x10348, 0x10FFFF};
    size_t i;
    int round_trip = 1;

    CHECK(t, decode_one("\xC3\xA9", 2, &pos) == 0xE9 && pos == 2, "utf8: two-byte sequence");
    CHECK(t, decode_one("\xF0\x9F\x98\x80", 4, &pos) == 0x1F600 && pos == 4, "utf8: four-byte sequence");
    CHECK(t, decode_one("\xC0\xAF", 2, &pos) == UTF8_INVALID && pos == 1, "utf8: overlong form rejected");
    CHECK(t, decode_one("\xED\xA0\x80", 3, &pos) == UTF8_INVALID, "utf8: surrogate rejected");
    CHECK(t, decode_one("\xE2\x82", 2, &pos) == UTF8_INVALID && pos == 1, "utf8: truncated sequence");
    CHECK(t, decode_one("\xF4\x90\x80\x80", 4, &pos) == UTF8_INVALID, "utf8: above U+10FFFF rejected");
    CHECK(t, decode_one("\x80", 1, &pos) == UTF8_INVALID, "utf8: lone continuation byte");
    for (i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        size_t n = utf8_encode(samples[i], enc);
        size_t p = 0;
        if (utf8_decode(enc, n, &p) != samples[i] || p != n) round_trip = 0;
    }
    CHECK(t, round_trip, "utf8: encode/decode round trip");
}

static void test_classes(Tester *t) {
    CHECK(t, char_class('a') == CC_LETTER && char_class('Z') == CC_LETTER, "class: ASCII letters");
    CHECK(t, char_class('7') == CC_DIGIT, "class: digit");
    CHECK(t, char_class(' ') == CC_SPACE && char_class('\t') == CC_SPACE, "class: spaces");
    CHECK(t, char_class('\n') == CC_NEWLINE, "class: newline");
    CHECK(t, char_class(',') == CC_PUNCT && char_class('$') == CC_SYMBOL, "class: punctuation and symbols");
    CHECK(t, char_class(0x4E2D) == CC_IDEOGRAPH && char_class(0x3042) == CC_IDEOGRAPH, "class: CJK and kana");
    CHECK(t, char_class(0x3002) == CC_PUNCT, "class: ideographic full stop");
    CHECK(t, char_class(0xA0) == CC_SPACE && char_class(0x3000) == CC_SPACE, "class: no-break and ideographic spaces");
    CHECK(t, char_class(0x1F600) == CC_SYMBOL, "class: emoji");
    CHECK(t, char_class(0x416) == CC_LETTER && char_class(0xE9) == CC_LETTER, "class: Cyrillic and Latin-1 letters");
    CHECK(t, char_class(0x0663) == CC_DIGIT, "class: Arabic-Indic digit");
    CHECK(t, fold_case('Q') == 'q' && fold_case('q') == 'q', "fold: ASCII");
    CHECK(t, fold_case(0xC9) == 0xE9 && fold_case(0xD7) == 0xD7, "fold: Latin-1, but not the multiplication sign");
    CHECK(t, fold_case(0x416) == 0x436 && fold_case(0x401) == 0x451, "fold: Cyrillic");
    CHECK(t, fold_case(0x39B) == 0x3BB && fold_case(0x178) == 0xFF, "fold: Greek and Y with diaeresis");
    CHECK(t, fold_case(0x141) == 0x142 && fold_case(0x142) == 0x142, "fold: Latin Extended-A odd pairs");
}

/* --- msort.c, wordtab.c ----------------------------------------------------------- */

typedef struct {
    int key;
    int order;
} Pair;

static int by_key(const void *a, const void *b) {
    const Pair *x = a;
    const Pair *y = b;
    return (x->key > y->key) - (x->key < y->key);
}

static void test_sort(Tester *t) {
    Pair items[257];
    int i;
    int sorted = 1;
    int stable = 1;
    unsigned seed = 12345;
    for (i = 0; i < 257; i++) {
        seed = seed * 1103515245u + 12345u; /* a fixed pseudo-random sequence */
        items[i].key = (int)((seed >> 16) % 13);
        items[i].order = i;
    }
    merge_sort(items, 257, sizeof items[0], by_key);
    for (i = 1; i < 257; i++) {
        if (items[i - 1].key > items[i].key) sorted = 0;
        if (items[i - 1].key == items[i].key && items[i - 1].order > items[i].order) stable = 0;
    }
    CHECK(t, sorted, "sort: 257 items in order");
    CHECK(t, stable, "sort: equal keys keep their order");
    merge_sort(items, 0, sizeof items[0], by_key); /* must not touch anything */
    CHECK(t, items[0].key == 0, "sort: empty input");
}

static void test_table(Tester *t) {
    WordTable tab;
    char word[16];
    int i;
    int found = 1;
    size_t n;
    WordEntry **list;
    wt_init(&tab);
    for (i = 0; i < 1000; i++) {
        sprintf(word, "w%d", i);
        wt_add(&tab, word, strlen(word), (unsigned long)(i % 7 + 1));
    }
    wt_add(&tab, "w5", 2, 100);
    for (i = 0; i < 1000; i++) {
        const WordEntry *e;
        sprintf(word, "w%d", i);
        e = wt_find(&tab, word, strlen(word));
        if (e == NULL || e->count != (unsigned long)(i % 7 + 1) + (i == 5 ? 100 : 0)) found = 0;
    }
    CHECK(t, wt_size(&tab) == 1000, "table: 1000 distinct keys after growing");
    CHECK(t, found, "table: every count found");
    CHECK(t, wt_find(&tab, "w1000", 5) == NULL, "table: absent key");
    list = wt_sorted(&tab, &n);
    CHECK(t, n == 1000 && strcmp(list[0]->key, "w5") == 0 && list[0]->count == 106, "table: highest count first");
    /* count 7 is i % 7 == 6: w6 was seen first, then w13 */
    CHECK(t, strcmp(list[1]->key, "w6") == 0 && strcmp(list[2]->key, "w13") == 0, "table: ties in order of first sight");
    free(list);
    wt_free(&tab);
}

/* --- mathx.c ------------------------------------------------------------------ */

static void test_math(Tester *t) {
    char out[48];
    CHECK(t, near(mx_log2(8.0), 3.0, 1e-12) && near(mx_log2(0.5), -1.0, 1e-12), "log2: powers of two");
    CHECK(t, near(mx_log2(10.0), 3.321928094887362, 1e-12), "log2: 10");
    CHECK(t, near(mx_log2(1e-300), -996.5784284662087, 1e-9), "log2: tiny numbers");
    CHECK(t, near(mx_sqrt(2.0), 1.4142135623730951, 1e-15), "sqrt: 2");
    CHECK(t, near(mx_sqrt(1e10), 1e5, 1e-9) && mx_sqrt(0.0) == 0.0, "sqrt: 1e10 and 0");
    CHECK(t, near(mx_sqrt(0.0625), 0.25, 1e-15), "sqrt: a quarter");
    CHECK(t, strcmp(mx_format(out, 3.14159, 2), "3.14") == 0, "format: two decimals");
    CHECK(t, strcmp(mx_format(out, -0.004, 2), "0.00") == 0, "format: no negative zero");
    CHECK(t, strcmp(mx_format(out, 2.5, 0), "3") == 0, "format: half away from zero");
    CHECK(t, strcmp(mx_format(out, -2.25, 1), "-2.3") == 0, "format: negative half");
    CHECK(t, strcmp(mx_format(out, 1234.5678, 3), "1234.568") == 0, "format: three decimals");
    CHECK(t, strcmp(mx_format(out, 7.0, 3), "7.000") == 0, "format: zeros kept");
    CHECK(t, near(mx_round(2.675, 1), 2.7, 1e-12), "round: one decimal");
}

/* --- syllable.c, stopwords.c ------------------------------------------------------ */

static int syl(const char *w) {
    return count_syllables(w, strlen(w));
}

static void test_words(Tester *t) {
    CHECK(t, syl("cat") == 1 && syl("the") == 1, "syllables: short words");
    CHECK(t, syl("table") == 2 && syl("make") == 1, "syllables: -le and silent e");
    CHECK(t, syl("wanted") == 2 && syl("walked") == 1, "syllables: -ed");
    CHECK(t, syl("boxes") == 2 && syl("makes") == 1, "syllables: -es");
    CHECK(t, syl("beautiful") == 3 && syl("readability") == 5, "syllables: long words");
    CHECK(t, syl("radio") == 3 && syl("yellow") == 2 && syl("play") == 1, "syllables: split vowels and y");
    CHECK(t, syl("every") == 2 && syl("people") == 2, "syllables: exceptions");
    CHECK(t, syl("Table") == 2, "syllables: upper case");
    CHECK(t, word_lists_sorted(), "word lists are sorted");
    CHECK(t, is_stopword("The", 3) && !is_stopword("zebra", 5), "stop words");
    CHECK(t, is_abbreviation("Mr", 2) && is_abbreviation("etc", 3) && !is_abbreviation("Mister", 6), "abbreviations");
}

/* --- stats.c --------------------------------------------------------------------- */

static void test_counts(Tester *t) {
    Stats s;
    run(&s, "Hello, world! This is a test.", 1, 0, 0);
    CHECK(t, s.words == 6 && s.sentences == 2, "analyze: words and sentences");
    CHECK(t, s.bytes == 29 && s.chars == 29 && s.lines == 1 && !s.final_newline, "analyze: bytes, characters, lines");
    CHECK(t, s.classes[CC_PUNCT] == 3 && s.classes[CC_SPACE] == 5, "analyze: character classes");
    stats_free(&s);

    run(&s, "Mr. Smith went to Washington. He arrived at 3.30 on Monday.", 1, 0, 0);
    CHECK(t, s.sentences == 2 && s.words == 11, "analyze: abbreviation and decimal number");
    CHECK(t, count_of(&s, "3.30") == 1, "analyze: 3.30 is one word");
    stats_free(&s);

    run(&s, "J. R. R. Tolkien wrote books.", 1, 0, 0);
    CHECK(t, s.sentences == 1 && s.words == 6, "analyze: initials do not end sentences");
    stats_free(&s);

    run(&s, "\xE4\xB8\xAD\xE6\x96\x87\xE6\xB5\x8B\xE8\xAF\x95\xE3\x80\x82\xE5\xBE\x88\xE5\xA5\xBD\xE3\x80\x82", 1, 0, 0);
    CHECK(t, s.words == 6 && s.sentences == 2 && s.chars == 8, "analyze: CJK words and full stops");
    stats_free(&s);

    run(&s, "don't stop well-known 1,000 - end", 1, 0, 0);
    CHECK(t, s.words == 5 && count_of(&s, "don't") == 1 && count_of(&s, "well-known") == 1, "analyze: joined words");
    CHECK(t, count_of(&s, "1,000") == 1, "analyze: thousands separator");
    stats_free(&s);

    run(&s, "a\xFF" "b c", 1, 0, 0);
    CHECK(t, s.invalid == 1 && s.words == 3 && s.chars == 5, "analyze: invalid byte separates words");
    stats_free(&s);

    run(&s, "Wait... what? \"Stop!\" He left.", 1, 0, 0);
    CHECK(t, s.sentences == 4, "analyze: ellipsis, question, quoted exclamation");
    stats_free(&s);

    run(&s, "Pi is 3.14. Next.", 1, 0, 0);
    CHECK(t, s.sentences == 2 && s.words == 4 && count_of(&s, "3.14") == 1, "analyze: number before full stop");
    stats_free(&s);
}

static void test_lines(Tester *t) {
    Stats s;
    run(&s, "a\r\nb \n\nc", 1, 0, 0);
    CHECK(t, s.lines == 4 && s.crlf_lines == 1 && s.empty_lines == 1, "lines: CRLF, blank, unterminated");
    CHECK(t, s.trailing_space_lines == 1 && s.longest_line == 2 && s.longest_line_no == 2, "lines: trailing space, longest");
    CHECK(t, s.paragraphs == 2 && !s.final_newline, "lines: paragraphs");
    stats_free(&s);

    run(&s, "p1 line1\np1 line2\n\n\np2\tx\n", 1, 0, 0);
    CHECK(t, s.lines == 5 && s.empty_lines == 2 && s.paragraphs == 2, "lines: two paragraphs");
    CHECK(t, s.tabs == 1 && s.final_newline && s.sentences == 2, "lines: tab, final newline, blank line ends a sentence");
    stats_free(&s);

    run(&s, "", 1, 0, 0);
    CHECK(t, s.lines == 0 && s.words == 0 && s.sentences == 0 && s.paragraphs == 0, "lines: empty text");
    stats_free(&s);
}

static void test_tables(Tester *t) {
    Stats s;
    size_t n;
    WordEntry **list;
    run(&s, "the cat and the hat and the bat", 1, 0, 0);
    list = wt_sorted(&s.words_tab, &n);
    CHECK(t, n == 5 && strcmp(list[0]->key, "the") == 0 && list[0]->count == 3, "top words: most frequent first");
    CHECK(t, strcmp(list[1]->key, "and") == 0 && strcmp(list[2]->key, "cat") == 0, "top words: ties by first sight");
    free(list);
    stats_free(&s);

    run(&s, "a b. a b", 1, 0, 0);
    CHECK(t, wt_find(&s.bigrams_tab, "a b", 3) != NULL && wt_find(&s.bigrams_tab, "a b", 3)->count == 2,
          "bigrams: counted per sentence");
    CHECK(t, wt_find(&s.bigrams_tab, "b a", 3) == NULL, "bigrams: not across sentences");
    stats_free(&s);

    run(&s, "Apple apple APPLE", 1, 0, 0);
    CHECK(t, count_of(&s, "apple") == 3, "case folding");
    stats_free(&s);
    run(&s, "Apple apple APPLE", 0, 0, 0);
    CHECK(t, wt_size(&s.words_tab) == 3, "case sensitive");
    stats_free(&s);

    run(&s, "the cat", 1, 1, 0);
    CHECK(t, s.kept_words == 1 && count_of(&s, "cat") == 1 && count_of(&s, "the") == 0, "stop words left out");
    stats_free(&s);

    run(&s, "a bb ccc dddd", 1, 0, 4);
    CHECK(t, s.kept_words == 1 && s.words == 4, "minimum length");
    stats_free(&s);

    run(&s, "a bb bb ccc abcdefghijklmnopqrstuvwxy", 1, 0, 0);
    CHECK(t, s.length_hist[1] == 1 && s.length_hist[2] == 2 && s.length_hist[3] == 1, "histogram of lengths");
    CHECK(t, s.length_hist[MAX_WORD_LEN_BUCKET] == 1 && s.longest_word_len == 25, "histogram: long words bucket");
    stats_free(&s);
}

static void test_derived(Tester *t) {
    Stats s;
    Derived d;
    run(&s, "The cat sat on the mat.", 1, 0, 0);
    derive(&s, &d);
    CHECK(t, s.syllables == 6, "readability: syllables");
    CHECK(t, near(d.flesch_reading_ease, 116.145, 1e-9), "readability: Flesch reading ease");
    CHECK(t, near(d.flesch_kincaid_grade, -1.45, 1e-9), "readability: Flesch-Kincaid grade");
    CHECK(t, near(d.type_token_ratio, 5.0 / 6.0, 1e-12) && d.hapax == 4, "readability: type-token ratio, hapax");
    stats_free(&s);

    run(&s, "abab", 1, 0, 0);
    derive(&s, &d);
    CHECK(t, near(d.entropy_bits, 1.0, 1e-12), "entropy: two equally likely bytes");
    stats_free(&s);
    run(&s, "aaaa", 1, 0, 0);
    derive(&s, &d);
    CHECK(t, near(d.entropy_bits, 0.0, 1e-12), "entropy: one byte");
    stats_free(&s);
}

/* --- options.c, report.c ---------------------------------------------------------- */

static int parse(Options *o, int argc, const char **argv) {
    char err[128];
    return parse_options(argc, (char **)argv, o, err, sizeof err);
}

static void test_options(Tester *t) {
    Options o;
    const char *good[] = {"textstats", "-n5", "--format=json", "-s", "counts,words", "-cx", "file.txt"};
    const char *bad_top[] = {"textstats", "--top", "x"};
    const char *unknown[] = {"textstats", "--bogus"};
    const char *dashes[] = {"textstats", "--", "-n"};
    const char *missing[] = {"textstats", "-t"};
    int rc = parse(&o, 7, good);
    CHECK(t, rc == 0 && o.top == 5 && o.format == FMT_JSON, "options: values");
    CHECK(t, o.sections == (SEC_COUNTS | SEC_WORDS) && !o.fold && o.stopwords, "options: sections and flags");
    CHECK(t, o.file_count == 1 && strcmp(o.files[0], "file.txt") == 0, "options: files");
    free_options(&o);
    CHECK(t, parse(&o, 3, bad_top) != 0, "options: bad count refused");
    free_options(&o);
    CHECK(t, parse(&o, 2, unknown) != 0, "options: unknown option refused");
    free_options(&o);
    CHECK(t, parse(&o, 3, dashes) == 0 && o.file_count == 1 && strcmp(o.files[0], "-n") == 0, "options: -- ends options");
    free_options(&o);
    CHECK(t, parse(&o, 2, missing) != 0, "options: missing value refused");
    free_options(&o);
}

static int contains(const Buffer *b, const char *needle) {
    return b->data != NULL && strstr(b->data, needle) != NULL;
}

static void test_report(Tester *t) {
    Stats s;
    Options o;
    Buffer out;
    const char *argv[] = {"textstats"};
    parse(&o, 1, argv);
    run(&s, "hi there, \"friend\"", 1, 0, 0);
    buf_init(&out);
    o.format = FMT_JSON;
    report(&out, &s, &o);
    CHECK(t, out.len > 2 && out.data[0] == '{' && strcmp(out.data + out.len - 2, "}\n") == 0, "report: JSON object");
    CHECK(t, contains(&out, "\"words\": 3") && contains(&out, "\"text\": \"friend\""), "report: JSON figures");
    buf_clear(&out);
    o.format = FMT_CSV;
    o.sections = SEC_COUNTS;
    report(&out, &s, &o);
    CHECK(t, strncmp(out.data, "section,key,value\ncounts,bytes,18\n", 34) == 0, "report: CSV rows");
    buf_clear(&out);
    o.format = FMT_TEXT;
    o.sections = SEC_WORDS;
    report(&out, &s, &o);
    CHECK(t, contains(&out, "top_words\n") && contains(&out, "  1. hi"), "report: text table");
    buf_free(&out);
    stats_free(&s);
    free_options(&o);
}

int run_self_test(FILE *err, int *total) {
    Tester t;
    t.log = err;
    t.verbose = err == stdout;
    t.total = 0;
    t.failed = 0;
    test_utf8(&t);
    test_classes(&t);
    test_sort(&t);
    test_table(&t);
    test_math(&t);
    test_words(&t);
    test_counts(&t);
    test_lines(&t);
    test_tables(&t);
    test_derived(&t);
    test_options(&t);
    test_report(&t);
    *total = t.total;
    return t.failed;
}
