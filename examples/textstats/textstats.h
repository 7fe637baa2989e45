/* textstats: word, line and character statistics of a text.
 *
 * Part of slim's examples: a real C program of a few thousand lines with no
 * dependencies beyond the C library, used to measure image sizes of a program
 * that is larger than hello.c. It avoids libm and locale functions so that the
 * same source links statically against glibc and musl and prints byte-for-byte
 * the same report with both.
 *
 * SPDX-License-Identifier: MIT
 * Copyright (c) the slim authors
 */
#ifndef TEXTSTATS_H
#define TEXTSTATS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define TEXTSTATS_VERSION "1.0.0"

/* ---- buffer.c: a growable byte buffer ----------------------------------- */

typedef struct {
    char *data;
    size_t len;
    size_t cap;
} Buffer;

void buf_init(Buffer *b);
void buf_free(Buffer *b);
void buf_reserve(Buffer *b, size_t extra);
void buf_append(Buffer *b, const char *data, size_t len);
void buf_append_str(Buffer *b, const char *s);
void buf_append_char(Buffer *b, char c);
void buf_printf(Buffer *b, const char *fmt, ...);
void buf_clear(Buffer *b);
int buf_read_stream(Buffer *b, FILE *in);
int buf_read_file(Buffer *b, const char *path);
char *buf_steal(Buffer *b);

void *xmalloc(size_t size);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrndup(const char *s, size_t len);
void die(const char *fmt, ...);

/* ---- utf8.c: decoding and character classes ----------------------------- */

#define UTF8_INVALID 0xFFFFFFFFu

typedef enum {
    CC_LETTER,      /* a letter of any script (alphabetic word character) */
    CC_IDEOGRAPH,   /* CJK ideographs, kana, hangul: each one is a word */
    CC_DIGIT,
    CC_SPACE,
    CC_NEWLINE,
    CC_PUNCT,
    CC_SYMBOL,
    CC_CONTROL,
    CC_COUNT
} CharClass;

/* Decodes the code point at s[*pos] (len bytes in all) and advances *pos.
 * Returns UTF8_INVALID for a malformed sequence (advancing by one byte). */
uint32_t utf8_decode(const char *s, size_t len, size_t *pos);
size_t utf8_encode(uint32_t cp, char out[4]);
CharClass char_class(uint32_t cp);
const char *char_class_name(CharClass cc);
uint32_t fold_case(uint32_t cp);
int is_vowel_ascii(int c);
int is_sentence_end(uint32_t cp);
int is_word_joiner(uint32_t cp);

/* ---- wordtab.c: a hash table of strings to counts ----------------------- */

typedef struct {
    char *key;
    size_t key_len;
    unsigned long count;
    unsigned long first_seen; /* order of first occurrence: ties sort by it */
} WordEntry;

typedef struct {
    WordEntry *slots;
    size_t cap;   /* a power of two */
    size_t used;
    unsigned long next_order;
} WordTable;

void wt_init(WordTable *t);
void wt_free(WordTable *t);
WordEntry *wt_add(WordTable *t, const char *key, size_t len, unsigned long n);
const WordEntry *wt_find(const WordTable *t, const char *key, size_t len);
size_t wt_size(const WordTable *t);
/* The entries sorted by count (descending), then first occurrence. The array
 * points into the table; free it with free(). */
WordEntry **wt_sorted(const WordTable *t, size_t *count);
uint64_t hash_bytes(const char *s, size_t len);

/* ---- msort.c: a stable merge sort --------------------------------------- */

typedef int (*CompareFn)(const void *a, const void *b);
void merge_sort(void *base, size_t count, size_t size, CompareFn cmp);

/* ---- mathx.c: the little arithmetic the report needs, without libm ------ */

double mx_log2(double x);
double mx_sqrt(double x);
double mx_round(double x, int decimals);
/* Writes x with exactly `decimals` digits after the point, rounded half away
 * from zero, into out (at least 48 bytes). Returns out. */
char *mx_format(char *out, double x, int decimals);

/* ---- syllable.c: an English syllable estimate --------------------------- */

int count_syllables(const char *word, size_t len);

/* ---- stopwords.c --------------------------------------------------------- */

int is_stopword(const char *word, size_t len);
int is_abbreviation(const char *word, size_t len);
int word_lists_sorted(void);

/* ---- options.c ----------------------------------------------------------- */

typedef enum { FMT_TEXT, FMT_JSON, FMT_CSV } OutputFormat;

enum {
    SEC_COUNTS = 1 << 0,
    SEC_LINES = 1 << 1,
    SEC_LENGTHS = 1 << 2,
    SEC_CHARS = 1 << 3,
    SEC_READABILITY = 1 << 4,
    SEC_WORDS = 1 << 5,
    SEC_BIGRAMS = 1 << 6,
    SEC_ALL = (1 << 7) - 1
};

typedef struct {
    OutputFormat format;
    unsigned sections;
    int top;
    int min_length;
    int fold;
    int stopwords;
    int verbose;
    int self_test;
    int show_help;
    int show_version;
    const char **texts;
    size_t text_count;
    const char **files;
    size_t file_count;
} Options;

/* Returns 0 on success; otherwise writes a message into err (size errlen). */
int parse_options(int argc, char **argv, Options *opts, char *err, size_t errlen);
void free_options(Options *opts);
void print_usage(FILE *out);

/* ---- stats.c: the analysis ---------------------------------------------- */

#define MAX_WORD_LEN_BUCKET 20

typedef struct {
    /* counts */
    unsigned long bytes;
    unsigned long chars;        /* code points */
    unsigned long invalid;      /* malformed UTF-8 sequences */
    unsigned long words;
    unsigned long kept_words;   /* words that passed the frequency-table filters */
    unsigned long sentences;
    unsigned long paragraphs;
    unsigned long syllables;
    unsigned long polysyllables; /* words of three syllables or more */
    unsigned long letters;       /* letters inside words */
    unsigned long long word_len_sq; /* sum of squared word lengths */
    /* lines */
    unsigned long lines;
    unsigned long empty_lines;
    unsigned long longest_line;
    unsigned long longest_line_no;
    unsigned long crlf_lines;
    unsigned long trailing_space_lines;
    unsigned long tabs;
    int final_newline;
    /* classes */
    unsigned long classes[CC_COUNT];
    unsigned long ascii_letters[26];
    unsigned long non_ascii;
    unsigned long byte_counts[256]; /* for the entropy */
    /* word lengths: [1..MAX-1] exact, [MAX] and longer */
    unsigned long length_hist[MAX_WORD_LEN_BUCKET + 1];
    unsigned long longest_word_len;
    char *longest_word;
    /* sentences */
    unsigned long longest_sentence;
    /* tables */
    WordTable words_tab;
    WordTable bigrams_tab;
} Stats;

typedef struct {
    int fold;
    int stopwords;
    int min_length;
} AnalyzeConfig;

void stats_init(Stats *s);
void stats_free(Stats *s);
void analyze(Stats *s, const char *text, size_t len, const AnalyzeConfig *cfg);

typedef struct {
    double flesch_reading_ease;
    double flesch_kincaid_grade;
    double automated_readability;
    double coleman_liau;
    double smog;
    double mean_word_length;
    double sd_word_length;
    double mean_sentence_length;
    double type_token_ratio;
    double entropy_bits;
    unsigned long hapax;
} Derived;

void derive(const Stats *s, Derived *d);

/* ---- report.c ------------------------------------------------------------ */

void report(Buffer *out, const Stats *s, const Options *opts);

/* ---- selftest.c ---------------------------------------------------------- */

/* Runs the built-in checks; prints failures to err and returns their number.
 * *total receives the number of checks. */
int run_self_test(FILE *err, int *total);

#endif
