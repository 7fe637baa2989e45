/* wordtab.c: an open-addressing hash table from byte strings to counts.
 *
 * Linear probing over a power-of-two table kept at most 70% full. Entries keep
 * the order in which their key was first seen so that equal counts sort the
 * same way on every platform (qsort is not stable; the merge sort is).
 *
 * SPDX-License-Identifier: MIT
 * Copyright (c) the slim authors
 */
#include <stdlib.h>
#include <string.h>

#include "textstats.h"

#define INITIAL_CAP 64

/* FNV-1a, 64 bits: simple, and good enough for words. */
uint64_t hash_bytes(const char *s, size_t len) {
    uint64_t h = 0xcbf29ce484222325ull;
    size_t i;
    for (i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

void wt_init(WordTable *t) {
    t->cap = INITIAL_CAP;
    t->used = 0;
    t->next_order = 0;
    t->slots = xcalloc(t->cap, sizeof *t->slots);
}

void wt_free(WordTable *t) {
    size_t i;
    if (t->slots == NULL) return;
    for (i = 0; i < t->cap; i++) free(t->slots[i].key);
    free(t->slots);
    t->slots = NULL;
    t->cap = t->used = 0;
}

static size_t probe(const WordEntry *slots, size_t cap, const char *key, size_t len, uint64_t h) {
    size_t mask = cap - 1;
    size_t i = (size_t)h & mask;
    while (slots[i].key != NULL) {
        if (slots[i].key_len == len && memcmp(slots[i].key, key, len) == 0) return i;
        i = (i + 1) & mask;
    }
    return i;
}

static void grow(WordTable *t) {
    size_t new_cap = t->cap * 2;
    WordEntry *slots = xcalloc(new_cap, sizeof *slots);
    size_t i;
    for (i = 0; i < t->cap; i++) {
        WordEntry *e = &t->slots[i];
        size_t j;
        if (e->key == NULL) continue;
        j = probe(slots, new_cap, e->key, e->key_len, hash_bytes(e->key, e->key_len));
        slots[j] = *e;
    }
    free(t->slots);
    t->slots = slots;
    t->cap = new_cap;
}

WordEntry *wt_add(WordTable *t, const char *key, size_t len, unsigned long n) {
    size_t i;
    WordEntry *e;
    if ((t->used + 1) * 10 > t->cap * 7) grow(t);
    i = probe(t->slots, t->cap, key, len, hash_bytes(key, len));
    e = &t->slots[i];
    if (e->key == NULL) {
        e->key = xstrndup(key, len);
        e->key_len = len;
        e->count = 0;
        e->first_seen = t->next_order++;
        t->used++;
    }
    e->count += n;
    return e;
}

const WordEntry *wt_find(const WordTable *t, const char *key, size_t len) {
    size_t i;
    if (t->slots == NULL) return NULL;
    i = probe(t->slots, t->cap, key, len, hash_bytes(key, len));
    return t->slots[i].key != NULL ? &t->slots[i] : NULL;
}

size_t wt_size(const WordTable *t) {
    return t->used;
}

static int by_count_then_order(const void *a, const void *b) {
    const WordEntry *x = *(const WordEntry *const *)a;
    const WordEntry *y = *(const WordEntry *const *)b;
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    if (x->first_seen != y->first_seen) return x->first_seen < y->first_seen ? -1 : 1;
    return 0;
}

WordEntry **wt_sorted(const WordTable *t, size_t *count) {
    WordEntry **list = xmalloc((t->used ? t->used : 1) * sizeof *list);
    size_t i;
    size_t n = 0;
    for (i = 0; i < t->cap; i++)
        if (t->slots[i].key != NULL) list[n++] = &t->slots[i];
    merge_sort(list, n, sizeof *list, by_count_then_order);
    *count = n;
    return list;
}
