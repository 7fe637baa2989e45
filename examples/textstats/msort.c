/* msort.c: a stable, bottom-up merge sort over arrays of fixed-size elements.
 *
 * The report must not depend on the C library's qsort (unstable, and
 * implemented differently by glibc and musl), so ties keep their input order.
 * Runs of up to INSERTION_RUN elements are sorted by insertion first.
 *
 * SPDX-License-Identifier: MIT
 * Copyright (c) the slim authors
 */
#include <stdlib.h>
#include <string.h>

#include "textstats.h"

#define INSERTION_RUN 16

static void insertion_sort(char *base, size_t count, size_t size, CompareFn cmp, char *tmp) {
    size_t i;
    for (i = 1; i < count; i++) {
        size_t j = i;
        memcpy(tmp, base + i * size, size);
        while (j > 0 && cmp(base + (j - 1) * size, tmp) > 0) {
            memcpy(base + j * size, base + (j - 1) * size, size);
            j--;
        }
        memcpy(base + j * size, tmp, size);
    }
}

/* Merges src[lo, mid) and src[mid, hi) into dst[lo, hi). */
static void merge(const char *src, char *dst, size_t lo, size_t mid, size_t hi, size_t size,
                  CompareFn cmp) {
    size_t i = lo;
    size_t j = mid;
    size_t k = lo;
    while (i < mid && j < hi) {
        /* `<= 0` takes from the left run on ties: that is what makes it stable */
        if (cmp(src + i * size, src + j * size) <= 0) {
            memcpy(dst + k * size, src + i * size, size);
            i++;
        } else {
            memcpy(dst + k * size, src + j * size, size);
            j++;
        }
        k++;
    }
    if (i < mid) memcpy(dst + k * size, src + i * size, (mid - i) * size);
    else if (j < hi) memcpy(dst + k * size, src + j * size, (hi - j) * size);
}

void merge_sort(void *base, size_t count, size_t size, CompareFn cmp) {
    char *a = base;
    char *b;
    char *tmp;
    size_t width;
    size_t lo;
    if (count < 2) return;
    tmp = xmalloc(size);
    for (lo = 0; lo < count; lo += INSERTION_RUN) {
        size_t n = count - lo < INSERTION_RUN ? count - lo : INSERTION_RUN;
        insertion_sort(a + lo * size, n, size, cmp, tmp);
    }
    free(tmp);
    if (count <= INSERTION_RUN) return;
    b = xmalloc(count * size);
    for (width = INSERTION_RUN; width < count; width *= 2) {
        char *swap;
        for (lo = 0; lo < count; lo += 2 * width) {
            size_t mid = lo + width < count ? lo + width : count;
            size_t hi = lo + 2 * width < count ? lo + 2 * width : count;
            merge(a, b, lo, mid, hi, size, cmp);
        }
        swap = a;
        a = b;
        b = swap;
    }
    /* after an odd number of passes the sorted data sits in the scratch array */
    if (a != (char *)base) {
        memcpy(base, a, count * size);
        free(a);
    } else {
        free(b);
    }
}
