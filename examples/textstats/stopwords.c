/* stopwords.c: English stop words (dropped from the frequency tables with
 * --stopwords) and abbreviations (whose full stop does not end a sentence).
 * Both lists are sorted in byte order and searched by bisection; the self-test
 * checks that they stay sorted.
 *
 * SPDX-License-Identifier: MIT
 * Copyright (c) the slim authors
 */
#include <string.h>

#include "textstats.h"

static const char *const STOPWORDS[] = {
    "a",       "about",   "above",  "after",   "again",  "against", "all",     "am",
    "an",      "and",     "any",    "are",     "as",     "at",      "be",      "because",
    "been",    "before",  "being",  "below",   "between", "both",   "but",     "by",
    "can",     "could",   "did",    "do",      "does",   "doing",   "down",    "during",
    "each",    "few",     "for",    "from",    "further", "had",    "has",     "have",
    "having",  "he",      "her",    "here",    "hers",   "herself", "him",     "himself",
    "his",     "how",     "i",      "if",      "in",     "into",    "is",      "it",
    "its",     "itself",  "just",   "me",      "more",   "most",    "my",      "myself",
    "no",      "nor",     "not",    "now",     "of",     "off",     "on",      "once",
    "only",    "or",      "other",  "our",     "ours",   "ourselves", "out",   "over",
    "own",     "same",    "she",    "should",  "so",     "some",    "such",    "than",
    "that",    "the",     "their",  "theirs",  "them",   "themselves", "then", "there",
    "these",   "they",    "this",   "those",   "through", "to",     "too",     "under",
    "until",   "up",      "very",   "was",     "we",     "were",    "what",    "when",
    "where",   "which",   "while",  "who",     "whom",   "why",     "will",    "with",
    "would",   "you",     "your",   "yours",   "yourself", "yourselves",
};

/* Lower-case, without the final full stop; "e.g" is matched with its inner dot. */
static const char *const ABBREVIATIONS[] = {
    "al",   "approx", "apr",  "aug",  "ave",  "ca",   "cf",   "co",   "corp", "dec",
    "dept", "dr",     "e.g",  "eg",   "etc",  "feb",  "fig",  "gen",  "i.e",  "ie",
    "inc",  "jan",    "jr",   "jul",  "jun",  "lt",   "ltd",  "mar",  "mr",   "mrs",
    "ms",   "mt",     "no",   "nov",  "oct",  "p",    "pp",   "prof", "rev",  "sep",
    "sept", "sgt",    "sr",   "st",   "vol",  "vs",
};

static int compare_word(const char *entry, const char *word, size_t len) {
    size_t n = strlen(entry);
    int c = memcmp(entry, word, n < len ? n : len);
    if (c != 0) return c;
    return n < len ? -1 : n > len ? 1 : 0;
}

static int bisect(const char *const *list, size_t count, const char *word, size_t len) {
    size_t lo = 0;
    size_t hi = count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = compare_word(list[mid], word, len);
        if (c == 0) return 1;
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return 0;
}

static size_t lower_ascii(const char *word, size_t len, char *out, size_t cap) {
    size_t i;
    if (len >= cap) return 0;
    for (i = 0; i < len; i++) {
        char c = word[i];
        out[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
    }
    return len;
}

int is_stopword(const char *word, size_t len) {
    char low[32];
    size_t n = lower_ascii(word, len, low, sizeof low);
    return n > 0 && bisect(STOPWORDS, sizeof STOPWORDS / sizeof *STOPWORDS, low, n);
}

int is_abbreviation(const char *word, size_t len) {
    char low[16];
    size_t n = lower_ascii(word, len, low, sizeof low);
    return n > 0 && bisect(ABBREVIATIONS, sizeof ABBREVIATIONS / sizeof *ABBREVIATIONS, low, n);
}

/* For the self-test: both lists must be strictly increasing. */
int word_lists_sorted(void) {
    size_t i;
    for (i = 1; i < sizeof STOPWORDS / sizeof *STOPWORDS; i++)
        if (strcmp(STOPWORDS[i - 1], STOPWORDS[i]) >= 0) return 0;
    for (i = 1; i < sizeof ABBREVIATIONS / sizeof *ABBREVIATIONS; i++)
        if (strcmp(ABBREVIATIONS[i - 1], ABBREVIATIONS[i]) >= 0) return 0;
    return 1;
}
