/* buffer.c: growable byte buffers, allocation helpers and input reading.
 *
 * SPDX-License-Identifier: MIT
 * Copyright (c) the slim authors
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "textstats.h"

void die(const char *fmt, ...) {
    va_list ap;
    fputs("textstats: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(2);
}

void *xmalloc(size_t size) {
    void *p = malloc(size ? size : 1);
    if (p == NULL) die("out of memory (%lu bytes)", (unsigned long)size);
    return p;
}

void *xcalloc(size_t count, size_t size) {
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (p == NULL) die("out of memory (%lu x %lu bytes)", (unsigned long)count, (unsigned long)size);
    return p;
}

void *xrealloc(void *ptr, size_t size) {
    void *p = realloc(ptr, size ? size : 1);
    if (p == NULL) die("out of memory (%lu bytes)", (unsigned long)size);
    return p;
}

char *xstrndup(const char *s, size_t len) {
    char *copy = xmalloc(len + 1);
    memcpy(copy, s, len);
    copy[len] = '\0';
    return copy;
}

void buf_init(Buffer *b) {
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void buf_free(Buffer *b) {
    free(b->data);
    buf_init(b);
}

void buf_clear(Buffer *b) {
    b->len = 0;
    if (b->data) b->data[0] = '\0';
}

void buf_reserve(Buffer *b, size_t extra) {
    size_t need;
    size_t cap;
    if (extra > (size_t)-1 - b->len - 1) die("buffer too large");
    need = b->len + extra + 1; /* room for a terminating NUL */
    if (need <= b->cap) return;
    cap = b->cap ? b->cap : 64;
    while (cap < need) {
        if (cap > (size_t)-1 / 2) {
            cap = need;
            break;
        }
        cap *= 2;
    }
    b->data = xrealloc(b->data, cap);
    b->cap = cap;
}

void buf_append(Buffer *b, const char *data, size_t len) {
    buf_reserve(b, len);
    if (len) memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
}

void buf_append_str(Buffer *b, const char *s) {
    buf_append(b, s, strlen(s));
}

void buf_append_char(Buffer *b, char c) {
    buf_append(b, &c, 1);
}

void buf_printf(Buffer *b, const char *fmt, ...) {
    va_list ap;
    char probe[1];
    int n;
    va_start(ap, fmt);
    n = vsnprintf(probe, sizeof probe, fmt, ap); /* the length it needs */
    va_end(ap);
    if (n < 0) die("formatting failed");
    buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

int buf_read_stream(Buffer *b, FILE *in) {
    char chunk[16384];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, in)) > 0) buf_append(b, chunk, n);
    if (b->data == NULL) buf_reserve(b, 0), b->data[0] = '\0';
    return ferror(in) ? -1 : 0;
}

int buf_read_file(Buffer *b, const char *path) {
    FILE *in;
    int rc;
    if (strcmp(path, "-") == 0) return buf_read_stream(b, stdin);
    in = fopen(path, "rb");
    if (in == NULL) return -1;
    rc = buf_read_stream(b, in);
    if (fclose(in) != 0) rc = -1;
    return rc;
}

char *buf_steal(Buffer *b) {
    char *data;
    if (b->data == NULL) buf_reserve(b, 0), b->data[0] = '\0';
    data = b->data;
    buf_init(b);
    return data;
}
