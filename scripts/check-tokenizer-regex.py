#!/usr/bin/env python3
"""Checks that tokenizer.json "Regex" patterns mean the same to Surfing as to the tokenizers library.

The tokenizers library compiles them with Oniguruma; Surfing runs them with QRegularExpression
(PCRE2 with UTF and UCP) after JsonPattern::fromOniguruma rewrites \\s, \\w and \\h. This script
loads both C libraries through ctypes (Debian: libonig5, libpcre2-8-0) and compares
  1. the classes, code point by code point over all of Unicode, and
  2. the Llama 3, Qwen, GPT-2 and Whitespace patterns on random strings of tricky characters.
translate() mirrors JsonPattern::fromOniguruma (tests/tokenizer/tst_tokenizer_matching pins the
C++ output). Usage: scripts/check-tokenizer-regex.py [STRINGS] ; exit 1 on any difference.
"""
import ctypes
import random
import sys

onig = ctypes.CDLL("libonig.so.5")
pcre = ctypes.CDLL("libpcre2-8.so.0")


class OnigErrorInfo(ctypes.Structure):
    _fields_ = [("enc", ctypes.c_void_p), ("par", ctypes.c_void_p), ("par_end", ctypes.c_void_p)]


class OnigRegion(ctypes.Structure):
    _fields_ = [("allocated", ctypes.c_int), ("num_regs", ctypes.c_int),
                ("beg", ctypes.POINTER(ctypes.c_int)), ("end", ctypes.POINTER(ctypes.c_int)),
                ("history_root", ctypes.c_void_p)]


UTF8 = ctypes.cast(ctypes.addressof(ctypes.c_char.in_dll(onig, "OnigEncodingUTF8")), ctypes.c_void_p)
SYNTAX = ctypes.cast(ctypes.addressof(ctypes.c_char.in_dll(onig, "OnigSyntaxOniguruma")), ctypes.c_void_p)
assert onig.onig_initialize((ctypes.c_void_p * 1)(UTF8), 1) == 0
onig.onig_region_new.restype = ctypes.POINTER(OnigRegion)
onig.onig_search.restype = ctypes.c_int
onig.onig_search.argtypes = [ctypes.c_void_p] + [ctypes.c_char_p] * 4 + [ctypes.c_void_p, ctypes.c_uint]
pcre.pcre2_compile_8.restype = ctypes.c_void_p
pcre.pcre2_compile_8.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint32, ctypes.POINTER(ctypes.c_int),
                                 ctypes.POINTER(ctypes.c_size_t), ctypes.c_void_p]
pcre.pcre2_match_data_create_from_pattern_8.restype = ctypes.c_void_p
pcre.pcre2_match_data_create_from_pattern_8.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
pcre.pcre2_match_8.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_uint32,
                               ctypes.c_void_p, ctypes.c_void_p]
pcre.pcre2_get_ovector_pointer_8.restype = ctypes.POINTER(ctypes.c_size_t)
pcre.pcre2_get_ovector_pointer_8.argtypes = [ctypes.c_void_p]
pcre.pcre2_match_data_free_8.argtypes = [ctypes.c_void_p]
PCRE2_UTF, PCRE2_UCP, PCRE2_MULTILINE = 0x00080000, 0x00020000, 0x00000400


def next_start(data, pos):
    pos += 1
    while pos < len(data) and (data[pos] & 0xC0) == 0x80:
        pos += 1
    return pos


def char_spans(data, spans):
    return [(len(data[:s].decode()), len(data[:e].decode())) for s, e in spans]


class Onig:
    def __init__(self, pattern):
        p = ctypes.create_string_buffer(pattern.encode())
        self.reg = ctypes.c_void_p()
        end = ctypes.c_char_p(ctypes.addressof(p) + len(pattern.encode()))
        assert onig.onig_new(ctypes.byref(self.reg), p, end, 0, UTF8, SYNTAX, ctypes.byref(OnigErrorInfo())) == 0

    def spans(self, text):
        data = text.encode()
        buf = ctypes.create_string_buffer(data)
        base, end = ctypes.addressof(buf), ctypes.addressof(buf) + len(data)
        region, out, pos = onig.onig_region_new(), [], 0
        while pos <= len(data):
            if onig.onig_search(self.reg, ctypes.c_char_p(base), ctypes.c_char_p(end), ctypes.c_char_p(base + pos),
                                ctypes.c_char_p(end), region, 0) < 0:
                break
            s, e = region.contents.beg[0], region.contents.end[0]
            if s == e:
                pos = next_start(data, s)
                continue
            out.append((s, e))
            pos = e
        onig.onig_region_free(region, 1)
        return char_spans(data, out)


class Pcre:
    def __init__(self, pattern):
        p = pattern.encode()
        error, offset = ctypes.c_int(), ctypes.c_size_t()
        self.code = pcre.pcre2_compile_8(p, len(p), PCRE2_UTF | PCRE2_UCP | PCRE2_MULTILINE, ctypes.byref(error),
                                         ctypes.byref(offset), None)
        assert self.code, (pattern, error.value, offset.value)
        self.match = pcre.pcre2_match_data_create_from_pattern_8(self.code, None)

    def spans(self, text):
        data, out, pos = text.encode(), [], 0
        while pos <= len(data):
            if pcre.pcre2_match_8(self.code, data, len(data), pos, 0, self.match, None) < 0:
                break
            vector = pcre.pcre2_get_ovector_pointer_8(self.match)
            s, e = vector[0], vector[1]
            if s == e:
                pos = next_start(data, s)
                continue
            out.append((s, e))
            pos = e
        return char_spans(data, out)


# Oniguruma's \w takes Latin-1's superscripts and fractions, but not inside a [...] class.
CLASSES = {"s": "\\t-\\r\\x{85}\\p{Z}", "w": "\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\xB2\\xB3\\xB9\\xBC-\\xBE", "h": "0-9a-fA-F"}
CLASSES_INSIDE = dict(CLASSES, w="\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}")


def translate(pattern):
    out, i, in_class = [], 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            n = pattern[i + 1]
            body = (CLASSES_INSIDE if in_class else CLASSES).get(n.lower())
            if body is None or (in_class and n.isupper()):
                out.append(c + n)
            elif in_class:
                out.append(body)
            else:
                out.append(("[^" if n.isupper() else "[") + body + "]")
            i += 2
            continue
        if c == "[" and in_class and pattern[i + 1:i + 2] == ":":
            end = pattern.find(":]", i + 2)
            if end > 0:
                out.append(pattern[i:end + 2])
                i = end + 2
                continue
        out.append(c)
        i += 1
        if c == "[" and not in_class:
            in_class = True
            for lead in "^]":
                if i < len(pattern) and pattern[i] == lead:
                    out.append(lead)
                    i += 1
        elif c == "]" and in_class:
            in_class = False
    return "".join(out)


LLAMA3 = ("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
          "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+")
PATTERNS = {"llama3": LLAMA3, "qwen": LLAMA3.replace("\\p{N}{1,3}", "\\p{N}"),
            "gpt2": "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
            "whitespace": "\\w+|[^\\w\\s]+", "whitespace-inverted": "\\W+|\\S+"}
ALPHABET = list("aZs tTSdDmMlLrRvVeE'1234567890.,!?-_\"#@") + [
    "  ", "\t", "\n", "\r", "\r\n", "\x0b", "\x0c", "\u00a0", "\u3000", "\u2028", "\u2029", "\u0085", "\u180e",
    "\u200b", "\u2009", "\u202f", "\u205f", "\u1680", "\ufeff", "\u200c", "\u200d", "\u0301", "\u0308", "\u20dd",
    "é", "ß", "ſ", "\u212a", "İ", "ı", "ǅ", "Ω", "ω", "ﬅ", "ﬀ", "’", "ʼ", "＇", "\u0660", "\u0967", "\u2460", "\u216b",
    "\u00b2", "½", "\u3007", "𝟘", "日", "ー", "한", "ไ", "\u0e34", "ह", "\u093f", "😀", "\U0001F3FD", "🇺", "🇸",
    "\ufe0f", "❤", "\U00010400", "\uff21", "\u02b0", "\u0345", "\u203f", "\u24b6"]


def main():
    failures = 0
    everything = "".join(chr(c) for c in range(1, 0x110000) if not 0xD800 <= c < 0xE000)
    for name in ["\\s", "\\w", "\\h", "\\d", "\\p{L}", "\\p{N}", "\\p{P}", "\\S", "\\W", "[\\w]", "[^\\w]", "[\\s]",
                 "[^\\s]", "[\\h]", "[^\\h]"]:
        o, p = Onig(name + "+"), Pcre(translate(name) + "+")
        same = o.spans(everything) == p.spans(everything)
        failures += not same
        print(f"{name}: {'same on every code point' if same else 'DIFFERENT'}")
    rng = random.Random(1)
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    texts = ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 24))) for _ in range(count)]
    for name, pattern in PATTERNS.items():
        o, p = Onig(pattern), Pcre(translate(pattern))
        bad = [t for t in texts if o.spans(t) != p.spans(t)]
        failures += len(bad)
        print(f"{name}: {len(bad)} of {count} strings split differently" + (f", e.g. {bad[0]!a}" if bad else ""))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
