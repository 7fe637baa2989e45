/* main.c: textstats' entry point. Reads the texts given with --text, or the
 * files named on the command line, or standard input; analyses them as one
 * text; prints the report.
 *
 * Exit status: 0 ok, 1 a self-test check failed, 2 bad usage or unreadable input.
 *
 * SPDX-License-Identifier: MIT
 * Copyright (c) the slim authors
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "textstats.h"

static int self_test(const Options *opts) {
    int total = 0;
    int failed = run_self_test(opts->verbose ? stdout : stderr, &total);
    if (opts->verbose) fflush(stdout);
    printf("textstats self-test: %d of %d checks passed\n", total - failed, total);
    return failed ? 1 : 0;
}

static void analyze_buffer(Stats *s, const Buffer *b, const AnalyzeConfig *cfg) {
    analyze(s, b->data ? b->data : "", b->len, cfg);
}

/* Each input is analysed on its own (line numbers restart) but adds to the
 * same totals and tables. */
static int analyze_inputs(Stats *s, const Options *opts, const AnalyzeConfig *cfg) {
    size_t i;
    Buffer b;
    buf_init(&b);
    if (opts->text_count > 0) {
        for (i = 0; i < opts->text_count; i++)
            analyze(s, opts->texts[i], strlen(opts->texts[i]), cfg);
        return 0;
    }
    if (opts->file_count == 0) {
        if (buf_read_stream(&b, stdin) != 0) {
            fprintf(stderr, "textstats: cannot read standard input: %s\n", strerror(errno));
            buf_free(&b);
            return -1;
        }
        analyze_buffer(s, &b, cfg);
        buf_free(&b);
        return 0;
    }
    for (i = 0; i < opts->file_count; i++) {
        buf_clear(&b);
        if (buf_read_file(&b, opts->files[i]) != 0) {
            fprintf(stderr, "textstats: %s: %s\n", opts->files[i], strerror(errno));
            buf_free(&b);
            return -1;
        }
        analyze_buffer(s, &b, cfg);
    }
    buf_free(&b);
    return 0;
}

int main(int argc, char **argv) {
    Options opts;
    char err[256];
    Stats stats;
    AnalyzeConfig cfg;
    Buffer out;
    int rc = 0;

    if (parse_options(argc, argv, &opts, err, sizeof err) != 0) {
        fprintf(stderr, "textstats: %s\nTry 'textstats --help'.\n", err);
        free_options(&opts);
        return 2;
    }
    if (opts.show_help) {
        print_usage(stdout);
    } else if (opts.show_version) {
        printf("textstats %s\n", TEXTSTATS_VERSION);
    } else if (opts.self_test) {
        rc = self_test(&opts);
    } else {
        cfg.fold = opts.fold;
        cfg.stopwords = opts.stopwords;
        cfg.min_length = opts.min_length;
        stats_init(&stats);
        if (analyze_inputs(&stats, &opts, &cfg) != 0) {
            rc = 2;
        } else {
            buf_init(&out);
            report(&out, &stats, &opts);
            if (fwrite(out.data, 1, out.len, stdout) != out.len) rc = 2;
            buf_free(&out);
        }
        stats_free(&stats);
    }
    free_options(&opts);
    if (fflush(stdout) != 0) rc = 2;
    return rc;
}
