/* stats.c: one pass over the text that counts characters, words, sentences,
 * lines and paragraphs, and fills the word and bigram tables.
 *
 * Words are runs of letters and digits. An apostrophe or hyphen between two
 * letters joins them (don't, well-known); a full stop or comma between two
 * digits joins them (3.14, 1,000). Every CJK ideograph, kana or hangul
 * syllable is a word of its own. A sentence ends at . ! ? (and their
 * equivalents in other scripts) followed by white space or the end of the
 * text, unless the word before a full stop is an abbreviation or an initial;
 * a blank line ends a sentence too.
 *
 * SPDX-License-Identifier: MIT
 * Copyright (c) the slim authors
 */
#include <stdlib.h>
#include <string.h>

#include "textstats.h"

typedef struct {
    Stats *s;
    const AnalyzeConfig *cfg;
    /* the word being read */
    Buffer word;
    unsigned long word_chars;
    int in_word;
    int word_first_upper;
    int word_last_digit;
    uint32_t joiner; /* a joiner seen after a word character, 0 if none */
    /* the sentence */
    Buffer prev;         /* previous kept word, for bigrams */
    int have_prev;
    unsigned long sentence_words;
    int pending_end;     /* a terminator was seen; white space confirms it */
    int after_word;      /* nothing but terminators since the last word */
    int last_abbrev;     /* the last word was an abbreviation or an initial */
    /* the line */
    unsigned long line_no;
    unsigned long line_chars;
    int line_blank;
    int line_started;
    int in_paragraph;
    uint32_t last_cp;
    uint32_t before_last_cp;
} Scanner;

void stats_init(Stats *s) {
    memset(s, 0, sizeof *s);
    wt_init(&s->words_tab);
    wt_init(&s->bigrams_tab);
}

void stats_free(Stats *s) {
    wt_free(&s->words_tab);
    wt_free(&s->bigrams_tab);
    free(s->longest_word);
    s->longest_word = NULL;
}

static int is_word_class(CharClass cc) {
    return cc == CC_LETTER || cc == CC_DIGIT;
}

static void append_cp(Buffer *b, uint32_t cp) {
    char enc[4];
    buf_append(b, enc, utf8_encode(cp, enc));
}

/* --- sentences ------------------------------------------------------------- */

static void end_sentence(Scanner *sc) {
    if (sc->sentence_words > 0) {
        sc->s->sentences++;
        if (sc->sentence_words > sc->s->longest_sentence) sc->s->longest_sentence = sc->sentence_words;
    }
    sc->sentence_words = 0;
    sc->pending_end = 0;
    sc->have_prev = 0;
}

/* --- words ----------------------------------------------------------------- */

static int keep_word(const Scanner *sc) {
    if ((long)sc->word_chars < sc->cfg->min_length) return 0;
    if (sc->cfg->stopwords && is_stopword(sc->word.data, sc->word.len)) return 0;
    return 1;
}

static void add_bigram(Scanner *sc) {
    Buffer key;
    buf_init(&key);
    buf_append(&key, sc->prev.data, sc->prev.len);
    buf_append_char(&key, ' ');
    buf_append(&key, sc->word.data, sc->word.len);
    wt_add(&sc->s->bigrams_tab, key.data, key.len, 1);
    buf_free(&key);
}

static void count_word(Scanner *sc) {
    Stats *s = sc->s;
    unsigned long n = sc->word_chars;
    int syllables = count_syllables(sc->word.data, sc->word.len);
    s->words++;
    s->letters += n;
    s->word_len_sq += (unsigned long long)n * n;
    s->length_hist[n < MAX_WORD_LEN_BUCKET ? n : MAX_WORD_LEN_BUCKET]++;
    s->syllables += (unsigned long)syllables;
    if (syllables >= 3) s->polysyllables++;
    if (n > s->longest_word_len) {
        s->longest_word_len = n;
        free(s->longest_word);
        s->longest_word = xstrndup(sc->word.data, sc->word.len);
    }
    sc->sentence_words++;
    if (!keep_word(sc)) return;
    s->kept_words++;
    wt_add(&s->words_tab, sc->word.data, sc->word.len, 1);
    if (sc->have_prev) add_bigram(sc);
    buf_clear(&sc->prev);
    buf_append(&sc->prev, sc->word.data, sc->word.len);
    sc->have_prev = 1;
}

static void finish_word(Scanner *sc) {
    if (!sc->in_word) return;
    count_word(sc);
    sc->last_abbrev = is_abbreviation(sc->word.data, sc->word.len) ||
                      (sc->word_chars == 1 && sc->word_first_upper);
    sc->after_word = 1;
    sc->in_word = 0;
    sc->word_chars = 0;
    buf_clear(&sc->word);
}

static void word_char(Scanner *sc, uint32_t cp, CharClass cc) {
    if (!sc->in_word) {
        sc->in_word = 1;
        sc->word_first_upper = cp < 0x80 && cp >= 'A' && cp <= 'Z';
        /* a word right after a terminator means the terminator ended nothing: 3.x, a.m */
        sc->pending_end = 0;
    }
    append_cp(&sc->word, sc->cfg->fold ? fold_case(cp) : cp);
    sc->word_chars++;
    sc->word_last_digit = cc == CC_DIGIT;
}

static void ideograph(Scanner *sc, uint32_t cp) {
    finish_word(sc);
    sc->pending_end = 0;
    append_cp(&sc->word, cp);
    sc->word_chars = 1;
    sc->in_word = 1;
    sc->word_first_upper = 0;
    sc->word_last_digit = 0;
    finish_word(sc);
}

/* --- characters that are not part of a word --------------------------------- */

static int closes_quote(uint32_t cp) {
    return cp == '"' || cp == '\'' || cp == ')' || cp == ']' || cp == 0x2019 || cp == 0x201D ||
           cp == 0x00BB || cp == 0x300D || cp == 0x300F || cp == 0xFF09;
}

static int strong_terminator(uint32_t cp) {
    return cp == 0x3002 || cp == 0xFF01 || cp == 0xFF1F || cp == 0xFF61;
}

static void other_char(Scanner *sc, uint32_t cp, CharClass cc) {
    finish_word(sc);
    if (is_sentence_end(cp)) {
        int abbrev = cp == '.' && sc->after_word && sc->last_abbrev;
        if (strong_terminator(cp)) end_sentence(sc);
        else if (!abbrev) sc->pending_end = 1;
        sc->after_word = 0;
        return;
    }
    sc->after_word = 0;
    if (cc == CC_SPACE || cc == CC_NEWLINE) {
        if (sc->pending_end) end_sentence(sc);
        return;
    }
    if (sc->pending_end && closes_quote(cp)) return; /* "Stop!" she said: the quote belongs to it */
    sc->pending_end = 0;
}

/* --- lines ------------------------------------------------------------------ */

static void end_line(Scanner *sc, int terminated) {
    Stats *s = sc->s;
    unsigned long chars = sc->line_chars;
    uint32_t last = sc->last_cp;
    if (terminated && sc->last_cp == '\r') {
        s->crlf_lines++;
        chars--;
        last = sc->before_last_cp;
    }
    s->lines++;
    if (chars > 0 && (last == ' ' || last == '\t')) s->trailing_space_lines++;
    if (chars > s->longest_line) {
        s->longest_line = chars;
        s->longest_line_no = sc->line_no;
    }
    if (sc->line_blank) {
        s->empty_lines++;
        sc->in_paragraph = 0;
        end_sentence(sc); /* headings and list items end at a blank line */
    } else if (!sc->in_paragraph) {
        s->paragraphs++;
        sc->in_paragraph = 1;
    }
    sc->line_no++;
    sc->line_chars = 0;
    sc->line_blank = 1;
    sc->line_started = 0;
    sc->last_cp = sc->before_last_cp = 0;
}

static void track_line(Scanner *sc, uint32_t cp, CharClass cc) {
    if (cp == '\n') {
        end_line(sc, 1);
        return;
    }
    sc->line_started = 1;
    sc->line_chars++;
    if (cp == '\t') sc->s->tabs++;
    if (cc != CC_SPACE && cc != CC_NEWLINE && cc != CC_CONTROL) sc->line_blank = 0;
    sc->before_last_cp = sc->last_cp;
    sc->last_cp = cp;
}

/* --- the pass ---------------------------------------------------------------- */

static void resolve_joiner(Scanner *sc, CharClass next_cc) {
    uint32_t j = sc->joiner;
    int joins;
    sc->joiner = 0;
    if (sc->word_last_digit) joins = next_cc == CC_DIGIT && (j == '.' || j == ',' || j == '-');
    else joins = next_cc == CC_LETTER && is_word_joiner(j);
    if (joins) {
        append_cp(&sc->word, j);
        return;
    }
    other_char(sc, j, char_class(j));
}

static void feed(Scanner *sc, uint32_t cp) {
    CharClass cc = char_class(cp);
    Stats *s = sc->s;
    s->chars++;
    s->classes[cc]++;
    if (cp >= 0x80) s->non_ascii++;
    else if (cp >= 'a' && cp <= 'z') s->ascii_letters[cp - 'a']++;
    else if (cp >= 'A' && cp <= 'Z') s->ascii_letters[cp - 'A']++;
    track_line(sc, cp, cc);

    if (sc->joiner) resolve_joiner(sc, cc);
    if (cc == CC_IDEOGRAPH) {
        ideograph(sc, cp);
    } else if (is_word_class(cc)) {
        word_char(sc, cp, cc);
    } else if (sc->in_word && (is_word_joiner(cp) || (sc->word_last_digit && (cp == '.' || cp == ',')))) {
        sc->joiner = cp; /* decided by the next character */
    } else {
        other_char(sc, cp, cc);
    }
}

void analyze(Stats *s, const char *text, size_t len, const AnalyzeConfig *cfg) {
    Scanner sc;
    size_t pos = 0;
    size_t i;
    memset(&sc, 0, sizeof sc);
    sc.s = s;
    sc.cfg = cfg;
    sc.line_no = 1;
    sc.line_blank = 1;
    buf_init(&sc.word);
    buf_init(&sc.prev);

    s->bytes += (unsigned long)len;
    for (i = 0; i < len; i++) s->byte_counts[(unsigned char)text[i]]++;
    while (pos < len) {
        uint32_t cp = utf8_decode(text, len, &pos);
        if (cp == UTF8_INVALID) {
            s->invalid++;
            cp = 0xFFFD; /* carry on as the replacement character does */
        }
        feed(&sc, cp);
    }
    if (sc.joiner) other_char(&sc, sc.joiner, char_class(sc.joiner)), sc.joiner = 0;
    finish_word(&sc);
    if (sc.line_started) end_line(&sc, 0);
    end_sentence(&sc);
    s->final_newline = len > 0 && text[len - 1] == '\n';
    buf_free(&sc.word);
    buf_free(&sc.prev);
}

/* --- derived figures ------------------------------------------------------------ */

static double entropy(const Stats *s) {
    double h = 0.0;
    int i;
    if (s->bytes == 0) return 0.0;
    for (i = 0; i < 256; i++) {
        double p;
        if (s->byte_counts[i] == 0) continue;
        p = (double)s->byte_counts[i] / (double)s->bytes;
        h -= p * mx_log2(p);
    }
    return h;
}

static unsigned long hapax(const WordTable *t) {
    unsigned long n = 0;
    size_t i;
    for (i = 0; i < t->cap; i++)
        if (t->slots[i].key != NULL && t->slots[i].count == 1) n++;
    return n;
}

void derive(const Stats *s, Derived *d) {
    double w = (double)s->words;
    double sent = (double)(s->sentences ? s->sentences : 1);
    double per_sentence;
    double syl_per_word;
    double letters_per_word;
    double var;
    memset(d, 0, sizeof *d);
    d->entropy_bits = entropy(s);
    d->hapax = hapax(&s->words_tab);
    if (s->words == 0) return;
    per_sentence = w / sent;
    syl_per_word = (double)s->syllables / w;
    letters_per_word = (double)s->letters / w;
    d->flesch_reading_ease = 206.835 - 1.015 * per_sentence - 84.6 * syl_per_word;
    d->flesch_kincaid_grade = 0.39 * per_sentence + 11.8 * syl_per_word - 15.59;
    d->automated_readability = 4.71 * letters_per_word + 0.5 * per_sentence - 21.43;
    d->coleman_liau = 0.0588 * (letters_per_word * 100.0) - 0.296 * (sent / w * 100.0) - 15.8;
    d->smog = 1.0430 * mx_sqrt((double)s->polysyllables * 30.0 / sent) + 3.1291;
    d->mean_word_length = letters_per_word;
    var = (double)s->word_len_sq / w - letters_per_word * letters_per_word;
    d->sd_word_length = var > 0.0 ? mx_sqrt(var) : 0.0;
    d->mean_sentence_length = per_sentence;
    if (s->kept_words) d->type_token_ratio = (double)wt_size(&s->words_tab) / (double)s->kept_words;
}
