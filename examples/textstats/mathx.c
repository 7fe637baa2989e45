/* mathx.c: logarithm, square root, rounding and fixed-point formatting without
 * libm or printf's %f.
 *
 * Linking libm statically differs between C libraries (glibc needs -lm, musl
 * does not), and a report should not change with the libm it was linked
 * against. These routines use only IEEE-754 double arithmetic, which is exact
 * and the same everywhere, so the report's digits are too.
 *
 * SPDX-License-Identifier: MIT
 * Copyright (c) the slim authors
 */
#include <stdio.h>
#include <string.h>

#include "textstats.h"

#define LN2 0.69314718055994530942
#define SQRT2 1.41421356237309504880

/* Splits a positive finite x into m * 2^e with m in [1, 2). */
static double split_exponent(double x, int *e) {
    uint64_t bits;
    int exp;
    memcpy(&bits, &x, sizeof bits);
    exp = (int)((bits >> 52) & 0x7FF);
    if (exp == 0) { /* subnormal: scale into the normal range first */
        double m = split_exponent(x * 18014398509481984.0 /* 2^54 */, e);
        *e -= 54;
        return m;
    }
    *e = exp - 1023;
    bits = (bits & 0x000FFFFFFFFFFFFFull) | 0x3FF0000000000000ull;
    memcpy(&x, &bits, sizeof x);
    return x;
}

/* ln(m) for m in [sqrt(1/2), sqrt(2)): 2 atanh(t), t = (m-1)/(m+1), |t| < 0.172. */
static double ln_near_one(double m) {
    double t = (m - 1.0) / (m + 1.0);
    double t2 = t * t;
    double term = t;
    double sum = 0.0;
    int k;
    for (k = 1; k < 40; k += 2) {
        double add = term / k;
        sum += add;
        if (add < 1e-18 && add > -1e-18) break;
        term *= t2;
    }
    return 2.0 * sum;
}

double mx_log2(double x) {
    int e;
    double m;
    if (!(x > 0.0)) return x == 0.0 ? -1.0 / 0.0 : 0.0 / 0.0;
    if (x > 1.7976931348623157e308) return x; /* infinity */
    m = split_exponent(x, &e);
    if (m >= SQRT2) {
        m /= 2.0;
        e += 1;
    }
    return (double)e + ln_near_one(m) / LN2;
}

double mx_sqrt(double x) {
    int e;
    double m;
    double y;
    int i;
    if (x < 0.0) return 0.0 / 0.0;
    if (x == 0.0 || x > 1.7976931348623157e308) return x;
    m = split_exponent(x, &e);
    if (e % 2 != 0) { /* make the exponent even: sqrt(m * 2^e) = sqrt(m) * 2^(e/2) */
        m *= 2.0;
        e -= 1;
    }
    /* m in [1, 4): a linear first guess, then Newton, which doubles the digits */
    y = 0.5 + 0.5 * m * 0.6;
    for (i = 0; i < 8; i++) y = 0.5 * (y + m / y);
    while (e > 0) {
        y *= 2.0;
        e -= 2;
    }
    while (e < 0) {
        y *= 0.5;
        e += 2;
    }
    return y;
}

static double pow10i(int n) {
    double p = 1.0;
    while (n-- > 0) p *= 10.0;
    return p;
}

double mx_round(double x, int decimals) {
    double scale = pow10i(decimals);
    double scaled = x * scale;
    double whole;
    if (scaled > 9e18 || scaled < -9e18 || scaled != scaled) return x;
    whole = (double)(long long)(scaled + (scaled < 0 ? -0.5 : 0.5));
    return whole / scale;
}

char *mx_format(char *out, double x, int decimals) {
    unsigned long long scaled;
    unsigned long long unit;
    double scale;
    int negative = x < 0.0;
    int i;
    if (x != x) return strcpy(out, "nan");
    if (decimals < 0) decimals = 0;
    if (decimals > 9) decimals = 9;
    scale = pow10i(decimals);
    if (negative) x = -x;
    if (x * scale > 1.8e19) return strcpy(out, negative ? "-inf" : "inf");
    scaled = (unsigned long long)(x * scale + 0.5);
    for (unit = 1, i = 0; i < decimals; i++) unit *= 10;
    if (scaled == 0) negative = 0; /* no "-0.00" */
    if (decimals == 0)
        sprintf(out, "%s%llu", negative ? "-" : "", scaled);
    else
        sprintf(out, "%s%llu.%0*llu", negative ? "-" : "", scaled / unit, decimals, scaled % unit);
    return out;
}
