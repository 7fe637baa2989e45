/* utf8.c: a strict UTF-8 decoder and a small, table-driven classification of
 * code points. The tables cover the scripts and punctuation blocks that matter
 * for word counting; everything else above U+007F counts as a letter, which is
 * the right guess for the scripts that are left.
 *
 * SPDX-License-Identifier: MIT
 * Copyright (c) the slim authors
 */
#include <string.h>

#include "textstats.h"

uint32_t utf8_decode(const char *s, size_t len, size_t *pos) {
    const unsigned char *p = (const unsigned char *)s + *pos;
    size_t left = len - *pos;
    uint32_t cp;
    size_t need;
    size_t i;
    uint32_t min;

    if (p[0] < 0x80) {
        *pos += 1;
        return p[0];
    }
    if (p[0] >= 0xC2 && p[0] <= 0xDF) {
        need = 1;
        cp = p[0] & 0x1F;
        min = 0x80;
    } else if (p[0] >= 0xE0 && p[0] <= 0xEF) {
        need = 2;
        cp = p[0] & 0x0F;
        min = 0x800;
    } else if (p[0] >= 0xF0 && p[0] <= 0xF4) {
        need = 3;
        cp = p[0] & 0x07;
        min = 0x10000;
    } else {
        *pos += 1; /* a continuation byte, an overlong lead or 0xF5..0xFF */
        return UTF8_INVALID;
    }
    if (left <= need) {
        *pos += 1;
        return UTF8_INVALID;
    }
    for (i = 1; i <= need; i++) {
        if ((p[i] & 0xC0) != 0x80) {
            *pos += 1;
            return UTF8_INVALID;
        }
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        *pos += 1;
        return UTF8_INVALID;
    }
    *pos += need + 1;
    return cp;
}

size_t utf8_encode(uint32_t cp, char out[4]) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

typedef struct {
    uint32_t first;
    uint32_t last;
    unsigned char cls;
} Range;

/* Sorted, non-overlapping ranges above U+007F. Code points in no range are
 * letters. */
static const Range RANGES[] = {
    {0x0080, 0x009F, CC_CONTROL},
    {0x00A0, 0x00A0, CC_SPACE},
    {0x00A1, 0x00A1, CC_PUNCT},
    {0x00A2, 0x00A6, CC_SYMBOL},
    {0x00A7, 0x00A7, CC_PUNCT},
    {0x00A8, 0x00A9, CC_SYMBOL},
    {0x00AA, 0x00AA, CC_LETTER},
    {0x00AB, 0x00AB, CC_PUNCT},
    {0x00AC, 0x00AC, CC_SYMBOL},
    {0x00AD, 0x00AD, CC_CONTROL},
    {0x00AE, 0x00B1, CC_SYMBOL},
    {0x00B2, 0x00B3, CC_DIGIT},
    {0x00B4, 0x00B4, CC_SYMBOL},
    {0x00B5, 0x00B5, CC_LETTER},
    {0x00B6, 0x00B7, CC_PUNCT},
    {0x00B8, 0x00B8, CC_SYMBOL},
    {0x00B9, 0x00B9, CC_DIGIT},
    {0x00BA, 0x00BA, CC_LETTER},
    {0x00BB, 0x00BB, CC_PUNCT},
    {0x00BC, 0x00BE, CC_SYMBOL},
    {0x00BF, 0x00BF, CC_PUNCT},
    {0x00D7, 0x00D7, CC_SYMBOL},
    {0x00F7, 0x00F7, CC_SYMBOL},
    {0x02C2, 0x02C5, CC_SYMBOL},
    {0x02D2, 0x02DF, CC_SYMBOL},
    {0x037E, 0x037E, CC_PUNCT},
    {0x0387, 0x0387, CC_PUNCT},
    {0x055A, 0x055F, CC_PUNCT},
    {0x0589, 0x058A, CC_PUNCT},
    {0x05BE, 0x05BE, CC_PUNCT},
    {0x05C0, 0x05C0, CC_PUNCT},
    {0x05C3, 0x05C3, CC_PUNCT},
    {0x05F3, 0x05F4, CC_PUNCT},
    {0x0600, 0x0605, CC_CONTROL},
    {0x0609, 0x060D, CC_PUNCT},
    {0x061B, 0x061B, CC_PUNCT},
    {0x061D, 0x061F, CC_PUNCT},
    {0x0660, 0x0669, CC_DIGIT},
    {0x066A, 0x066D, CC_PUNCT},
    {0x06D4, 0x06D4, CC_PUNCT},
    {0x06F0, 0x06F9, CC_DIGIT},
    {0x0964, 0x0965, CC_PUNCT},
    {0x0966, 0x096F, CC_DIGIT},
    {0x0970, 0x0970, CC_PUNCT},
    {0x0E3F, 0x0E3F, CC_SYMBOL},
    {0x0E50, 0x0E59, CC_DIGIT},
    {0x1100, 0x11FF, CC_IDEOGRAPH},
    {0x1680, 0x1680, CC_SPACE},
    {0x2000, 0x200B, CC_SPACE},
    {0x200C, 0x200F, CC_CONTROL},
    {0x2010, 0x2027, CC_PUNCT},
    {0x2028, 0x2029, CC_NEWLINE},
    {0x202A, 0x202E, CC_CONTROL},
    {0x202F, 0x202F, CC_SPACE},
    {0x2030, 0x205E, CC_PUNCT},
    {0x205F, 0x205F, CC_SPACE},
    {0x2060, 0x206F, CC_CONTROL},
    {0x2070, 0x2079, CC_DIGIT},
    {0x207A, 0x207C, CC_SYMBOL},
    {0x207D, 0x207E, CC_PUNCT},
    {0x2080, 0x2089, CC_DIGIT},
    {0x208A, 0x208C, CC_SYMBOL},
    {0x208D, 0x208E, CC_PUNCT},
    {0x20A0, 0x20CF, CC_SYMBOL},
    {0x20D0, 0x20FF, CC_LETTER},
    {0x2100, 0x214F, CC_SYMBOL},
    {0x2150, 0x218F, CC_DIGIT},
    {0x2190, 0x2307, CC_SYMBOL},
    {0x2308, 0x230B, CC_PUNCT},
    {0x230C, 0x2328, CC_SYMBOL},
    {0x2329, 0x232A, CC_PUNCT},
    {0x232B, 0x245F, CC_SYMBOL},
    {0x2460, 0x24FF, CC_DIGIT},
    {0x2500, 0x2767, CC_SYMBOL},
    {0x2768, 0x2775, CC_PUNCT},
    {0x2776, 0x2793, CC_DIGIT},
    {0x2794, 0x27C4, CC_SYMBOL},
    {0x27C5, 0x27C6, CC_PUNCT},
    {0x27C7, 0x27E5, CC_SYMBOL},
    {0x27E6, 0x27EF, CC_PUNCT},
    {0x27F0, 0x2982, CC_SYMBOL},
    {0x2983, 0x2998, CC_PUNCT},
    {0x2999, 0x29D7, CC_SYMBOL},
    {0x29D8, 0x29DB, CC_PUNCT},
    {0x29DC, 0x29FB, CC_SYMBOL},
    {0x29FC, 0x29FD, CC_PUNCT},
    {0x29FE, 0x2BFF, CC_SYMBOL},
    {0x2E00, 0x2E7F, CC_PUNCT},
    {0x2E80, 0x2FDF, CC_IDEOGRAPH},
    {0x3000, 0x3000, CC_SPACE},
    {0x3001, 0x3003, CC_PUNCT},
    {0x3004, 0x3004, CC_SYMBOL},
    {0x3005, 0x3007, CC_IDEOGRAPH},
    {0x3008, 0x3011, CC_PUNCT},
    {0x3012, 0x3013, CC_SYMBOL},
    {0x3014, 0x301F, CC_PUNCT},
    {0x3020, 0x3020, CC_SYMBOL},
    {0x3021, 0x3029, CC_DIGIT},
    {0x3030, 0x3030, CC_PUNCT},
    {0x3040, 0x309F, CC_IDEOGRAPH},
    {0x30A0, 0x30A0, CC_PUNCT},
    {0x30A1, 0x30FA, CC_IDEOGRAPH},
    {0x30FB, 0x30FB, CC_PUNCT},
    {0x30FC, 0x30FF, CC_IDEOGRAPH},
    {0x3130, 0x318F, CC_IDEOGRAPH},
    {0x3400, 0x4DBF, CC_IDEOGRAPH},
    {0x4DC0, 0x4DFF, CC_SYMBOL},
    {0x4E00, 0x9FFF, CC_IDEOGRAPH},
    {0xAC00, 0xD7AF, CC_IDEOGRAPH},
    {0xE000, 0xF8FF, CC_SYMBOL},
    {0xF900, 0xFAFF, CC_IDEOGRAPH},
    {0xFD3E, 0xFD3F, CC_PUNCT},
    {0xFE00, 0xFE0F, CC_CONTROL},
    {0xFE10, 0xFE19, CC_PUNCT},
    {0xFE30, 0xFE4F, CC_PUNCT},
    {0xFE50, 0xFE6B, CC_PUNCT},
    {0xFEFF, 0xFEFF, CC_CONTROL},
    {0xFF01, 0xFF03, CC_PUNCT},
    {0xFF04, 0xFF04, CC_SYMBOL},
    {0xFF05, 0xFF0A, CC_PUNCT},
    {0xFF0B, 0xFF0B, CC_SYMBOL},
    {0xFF0C, 0xFF0F, CC_PUNCT},
    {0xFF10, 0xFF19, CC_DIGIT},
    {0xFF1A, 0xFF1B, CC_PUNCT},
    {0xFF1C, 0xFF1E, CC_SYMBOL},
    {0xFF1F, 0xFF20, CC_PUNCT},
    {0xFF3B, 0xFF3D, CC_PUNCT},
    {0xFF3E, 0xFF3E, CC_SYMBOL},
    {0xFF3F, 0xFF3F, CC_PUNCT},
    {0xFF40, 0xFF40, CC_SYMBOL},
    {0xFF5B, 0xFF5B, CC_PUNCT},
    {0xFF5C, 0xFF5C, CC_SYMBOL},
    {0xFF5D, 0xFF5D, CC_PUNCT},
    {0xFF5E, 0xFF5E, CC_SYMBOL},
    {0xFF5F, 0xFF65, CC_PUNCT},
    {0xFF66, 0xFF9F, CC_IDEOGRAPH},
    {0xFFE0, 0xFFEE, CC_SYMBOL},
    {0xFFF0, 0xFFFF, CC_CONTROL},
    {0x1D400, 0x1D7FF, CC_LETTER},
    {0x1F000, 0x1FAFF, CC_SYMBOL},
    {0x20000, 0x3FFFF, CC_IDEOGRAPH},
    {0xE0000, 0xE007F, CC_CONTROL},
    {0xF0000, 0x10FFFF, CC_SYMBOL},
};

static CharClass ascii_class(uint32_t c) {
    if (c == '\n') return CC_NEWLINE;
    if (c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f') return CC_SPACE;
    if (c < 0x20 || c == 0x7F) return CC_CONTROL;
    if (c >= '0' && c <= '9') return CC_DIGIT;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return CC_LETTER;
    if (strchr("$+<=>^`|~", (int)c) != NULL) return CC_SYMBOL;
    return CC_PUNCT;
}

CharClass char_class(uint32_t cp) {
    size_t lo = 0;
    size_t hi = sizeof RANGES / sizeof RANGES[0];
    if (cp < 0x80) return ascii_class(cp);
    if (cp == UTF8_INVALID) return CC_CONTROL;
    while (lo < hi) { /* binary search over the sorted ranges */
        size_t mid = lo + (hi - lo) / 2;
        if (cp < RANGES[mid].first) {
            hi = mid;
        } else if (cp > RANGES[mid].last) {
            lo = mid + 1;
        } else {
            return (CharClass)RANGES[mid].cls;
        }
    }
    return CC_LETTER;
}

const char *char_class_name(CharClass cc) {
    static const char *const names[CC_COUNT] = {
        "letters", "ideographs", "digits", "spaces", "newlines", "punctuation", "symbols", "controls",
    };
    return (unsigned)cc < CC_COUNT ? names[cc] : "?";
}

/* Simple one-to-one lower-casing for the alphabets whose case pairs are regular:
 * ASCII, Latin-1, Latin Extended-A, Greek, Cyrillic and the fullwidth forms. */
uint32_t fold_case(uint32_t cp) {
    if (cp >= 'A' && cp <= 'Z') return cp + 32;
    if (cp < 0xC0) return cp;
    if (cp <= 0xDE) return cp == 0xD7 ? cp : cp + 32;
    if (cp >= 0x100 && cp <= 0x137) return cp | 1u;
    if (cp >= 0x139 && cp <= 0x148) return (cp & 1u) ? cp + 1 : cp;
    if (cp >= 0x14A && cp <= 0x177) return cp | 1u;
    if (cp == 0x178) return 0xFF;
    if (cp >= 0x179 && cp <= 0x17E) return (cp & 1u) ? cp + 1 : cp;
    if (cp >= 0x391 && cp <= 0x3AB && cp != 0x3A2) return cp + 32;
    if (cp >= 0x400 && cp <= 0x40F) return cp + 80;
    if (cp >= 0x410 && cp <= 0x42F) return cp + 32;
    if (cp >= 0x460 && cp <= 0x481) return cp | 1u;
    if (cp >= 0x48A && cp <= 0x4BF) return cp | 1u;
    if (cp >= 0xFF21 && cp <= 0xFF3A) return cp + 32;
    return cp;
}

int is_vowel_ascii(int c) {
    switch (c) {
    case 'a': case 'e': case 'i': case 'o': case 'u': case 'y':
    case 'A': case 'E': case 'I': case 'O': case 'U': case 'Y':
        return 1;
    default:
        return 0;
    }
}

int is_sentence_end(uint32_t cp) {
    switch (cp) {
    case '.': case '!': case '?':
    case 0x0589: /* Armenian full stop */
    case 0x061F: /* Arabic question mark */
    case 0x06D4: /* Arabic full stop */
    case 0x0964: case 0x0965: /* Devanagari danda */
    case 0x203C: case 0x203D: case 0x2047: case 0x2048: case 0x2049:
    case 0x3002: /* ideographic full stop */
    case 0xFF01: case 0xFF0E: case 0xFF1F: case 0xFF61:
        return 1;
    default:
        return 0;
    }
}

/* Characters that join two letters into one word: don't, well-known. */
int is_word_joiner(uint32_t cp) {
    return cp == '\'' || cp == '-' || cp == 0x2019 || cp == 0x2010 || cp == 0x2011 || cp == 0x00B7;
}
