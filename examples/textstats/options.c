/* options.c: command-line parsing, written out by hand because getopt_long is
 * not standard C. Long options take their value as `--top=5` or `--top 5`;
 * short ones as `-n5` or `-n 5`; `--` ends the options.
 *
 * SPDX-License-Identifier: MIT
 * Copyright (c) the slim authors
 */
#include <stdlib.h>
#include <string.h>

#include "textstats.h"

#define DEFAULT_TOP 10
#define MAX_TOP 100000

typedef enum {
    OPT_TEXT, OPT_TOP, OPT_FORMAT, OPT_SECTIONS, OPT_MIN_LENGTH, OPT_CASE, OPT_STOPWORDS,
    OPT_SELF_TEST, OPT_VERBOSE, OPT_HELP, OPT_VERSION
} OptionId;

typedef struct {
    OptionId id;
    char short_name;
    const char *long_name;
    int takes_value;
} OptionSpec;

static const OptionSpec SPECS[] = {
    {OPT_TEXT, 't', "text", 1},
    {OPT_TOP, 'n', "top", 1},
    {OPT_FORMAT, 'f', "format", 1},
    {OPT_SECTIONS, 's', "sections", 1},
    {OPT_MIN_LENGTH, 'm', "min-length", 1},
    {OPT_CASE, 'c', "case-sensitive", 0},
    {OPT_STOPWORDS, 'x', "stopwords", 0},
    {OPT_SELF_TEST, 0, "self-test", 0},
    {OPT_VERBOSE, 'v', "verbose", 0},
    {OPT_HELP, 'h', "help", 0},
    {OPT_VERSION, 'V', "version", 0},
};

#define SPEC_COUNT (sizeof SPECS / sizeof SPECS[0])

static const struct {
    const char *name;
    unsigned bit;
} SECTION_NAMES[] = {
    {"counts", SEC_COUNTS}, {"lines", SEC_LINES},           {"lengths", SEC_LENGTHS},
    {"chars", SEC_CHARS},   {"readability", SEC_READABILITY}, {"words", SEC_WORDS},
    {"bigrams", SEC_BIGRAMS}, {"all", SEC_ALL},
};

void print_usage(FILE *out) {
    fputs("usage: textstats [OPTIONS] [FILE...]\n"
          "Word, line and character statistics of FILEs (or standard input; - is stdin).\n"
          "\n"
          "  -t, --text STRING      analyse STRING (repeatable; files are then ignored)\n"
          "  -n, --top N            list the N most frequent words and pairs (default 10)\n"
          "  -f, --format FORMAT    text (default), json or csv\n"
          "  -s, --sections LIST    comma-separated: counts, lines, lengths, chars,\n"
          "                         readability, words, bigrams, all (default all)\n"
          "  -m, --min-length N     leave words shorter than N out of the tables\n"
          "  -c, --case-sensitive   do not fold case when counting words\n"
          "  -x, --stopwords        leave common English words out of the tables\n"
          "      --self-test        run the built-in checks and print the result\n"
          "  -v, --verbose          with --self-test: name every check\n"
          "  -h, --help             show this help\n"
          "  -V, --version          show the version\n",
          out);
}

static void set_error(char *err, size_t errlen, const char *what, const char *arg) {
    size_t n;
    if (errlen == 0) return;
    err[0] = '\0';
    strncat(err, what, errlen - 1);
    n = strlen(err);
    if (arg != NULL && n + 1 < errlen) strncat(err, arg, errlen - n - 1);
}

static int parse_count(const char *text, long max, long *out) {
    char *end;
    long v;
    if (text[0] == '\0' || text[0] == '-' || text[0] == '+') return -1;
    v = strtol(text, &end, 10);
    if (*end != '\0' || v > max) return -1;
    *out = v;
    return 0;
}

static int parse_sections(const char *list, unsigned *out) {
    unsigned bits = 0;
    const char *p = list;
    while (*p) {
        size_t len = strcspn(p, ",");
        size_t i;
        int found = 0;
        for (i = 0; i < sizeof SECTION_NAMES / sizeof SECTION_NAMES[0]; i++) {
            if (strlen(SECTION_NAMES[i].name) == len && strncmp(SECTION_NAMES[i].name, p, len) == 0) {
                bits |= SECTION_NAMES[i].bit;
                found = 1;
            }
        }
        if (!found) return -1;
        p += len;
        if (*p == ',') p++;
    }
    if (bits == 0) return -1;
    *out = bits;
    return 0;
}

static void push(const char ***list, size_t *count, const char *value) {
    *list = xrealloc((void *)*list, (*count + 1) * sizeof **list);
    (*list)[(*count)++] = value;
}

static int apply(Options *o, OptionId id, const char *value, char *err, size_t errlen) {
    long n;
    switch (id) {
    case OPT_TEXT: push(&o->texts, &o->text_count, value); break;
    case OPT_TOP:
        if (parse_count(value, MAX_TOP, &n) != 0) return set_error(err, errlen, "--top wants a count, not ", value), -1;
        o->top = (int)n;
        break;
    case OPT_FORMAT:
        if (strcmp(value, "text") == 0) o->format = FMT_TEXT;
        else if (strcmp(value, "json") == 0) o->format = FMT_JSON;
        else if (strcmp(value, "csv") == 0) o->format = FMT_CSV;
        else return set_error(err, errlen, "--format is text, json or csv, not ", value), -1;
        break;
    case OPT_SECTIONS:
        if (parse_sections(value, &o->sections) != 0)
            return set_error(err, errlen, "unknown section in ", value), -1;
        break;
    case OPT_MIN_LENGTH:
        if (parse_count(value, 1000, &n) != 0)
            return set_error(err, errlen, "--min-length wants a count, not ", value), -1;
        o->min_length = (int)n;
        break;
    case OPT_CASE: o->fold = 0; break;
    case OPT_STOPWORDS: o->stopwords = 1; break;
    case OPT_SELF_TEST: o->self_test = 1; break;
    case OPT_VERBOSE: o->verbose = 1; break;
    case OPT_HELP: o->show_help = 1; break;
    case OPT_VERSION: o->show_version = 1; break;
    }
    return 0;
}

static const OptionSpec *find_long(const char *name, size_t len) {
    size_t i;
    for (i = 0; i < SPEC_COUNT; i++)
        if (strlen(SPECS[i].long_name) == len && strncmp(SPECS[i].long_name, name, len) == 0) return &SPECS[i];
    return NULL;
}

static const OptionSpec *find_short(char c) {
    size_t i;
    for (i = 0; i < SPEC_COUNT; i++)
        if (SPECS[i].short_name == c) return &SPECS[i];
    return NULL;
}

/* --name, --name=value or --name value. Returns the number of argv words used, or -1. */
static int parse_long(int argc, char **argv, int i, Options *o, char *err, size_t errlen) {
    const char *name = argv[i] + 2;
    const char *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    const OptionSpec *spec = find_long(name, len);
    if (spec == NULL) return set_error(err, errlen, "unknown option ", argv[i]), -1;
    if (!spec->takes_value) {
        if (eq) return set_error(err, errlen, "this option takes no value: ", argv[i]), -1;
        return apply(o, spec->id, NULL, err, errlen) == 0 ? 1 : -1;
    }
    if (eq) return apply(o, spec->id, eq + 1, err, errlen) == 0 ? 1 : -1;
    if (i + 1 >= argc) return set_error(err, errlen, "missing value after ", argv[i]), -1;
    return apply(o, spec->id, argv[i + 1], err, errlen) == 0 ? 2 : -1;
}

/* -abc (flags), -n5 or -n 5. */
static int parse_short(int argc, char **argv, int i, Options *o, char *err, size_t errlen) {
    const char *p = argv[i] + 1;
    for (; *p; p++) {
        const OptionSpec *spec = find_short(*p);
        char name[3] = {'-', *p, '\0'};
        if (spec == NULL) return set_error(err, errlen, "unknown option ", name), -1;
        if (!spec->takes_value) {
            apply(o, spec->id, NULL, err, errlen);
            continue;
        }
        if (p[1] != '\0') return apply(o, spec->id, p + 1, err, errlen) == 0 ? 1 : -1;
        if (i + 1 >= argc) return set_error(err, errlen, "missing value after ", name), -1;
        return apply(o, spec->id, argv[i + 1], err, errlen) == 0 ? 2 : -1;
    }
    return 1;
}

int parse_options(int argc, char **argv, Options *opts, char *err, size_t errlen) {
    int i = 1;
    int only_files = 0;
    memset(opts, 0, sizeof *opts);
    opts->format = FMT_TEXT;
    opts->sections = SEC_ALL;
    opts->top = DEFAULT_TOP;
    opts->fold = 1;
    if (errlen) err[0] = '\0';
    while (i < argc) {
        const char *arg = argv[i];
        int used;
        if (only_files || arg[0] != '-' || strcmp(arg, "-") == 0) {
            push(&opts->files, &opts->file_count, arg);
            i++;
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            only_files = 1;
            i++;
            continue;
        }
        used = arg[1] == '-' ? parse_long(argc, argv, i, opts, err, errlen)
                             : parse_short(argc, argv, i, opts, err, errlen);
        if (used < 0) return -1;
        i += used;
    }
    return 0;
}

void free_options(Options *opts) {
    free((void *)opts->texts);
    free((void *)opts->files);
    opts->texts = opts->files = NULL;
    opts->text_count = opts->file_count = 0;
}
