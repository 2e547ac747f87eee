# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Hot loops of the lookup layers (TextVectorization, StringLookup, Hashing), in Cython.

- ``fingerprint64``: FarmHash's Fingerprint64 (farmhashna::Hash64), the hash behind
  TensorFlow's ``tf.strings.to_hash_bucket_fast`` that Keras's ``Hashing`` and lookup layers
  use; ``siphash`` is SipHash-2-4, behind ``to_hash_bucket_strong`` (a salted ``Hashing``).
- ``lookup_padded`` / ``bincount_docs``: the token -> index loops of TextVectorization
  over lists of token lists.
"""
from libc.stdint cimport uint64_t, uint32_t, int64_t
from libc.string cimport memcpy
from libcpp.string cimport string
from libcpp.unordered_map cimport unordered_map
from cython.operator cimport dereference as deref, preincrement as inc

cdef uint64_t K0 = 0xc3a5c85c97cb3127ULL
cdef uint64_t K1 = 0xb492b66fbe98f273ULL
cdef uint64_t K2 = 0x9ae16a3b2f90404fULL


cdef inline uint64_t fetch64(const unsigned char* p) nogil:
    cdef uint64_t r
    memcpy(&r, p, 8)  # little-endian hosts (x86-64, aarch64), as FarmHash's own fetch
    return r


cdef inline uint64_t fetch32(const unsigned char* p) nogil:
    cdef uint32_t r
    memcpy(&r, p, 4)
    return r


cdef inline uint64_t rot(uint64_t v, int s) nogil:
    return v if s == 0 else (v >> s) | (v << (64 - s))


cdef inline uint64_t shift_mix(uint64_t v) nogil:
    return v ^ (v >> 47)


cdef inline uint64_t hash_len16(uint64_t u, uint64_t v, uint64_t mul) nogil:
    cdef uint64_t a = (u ^ v) * mul
    a ^= a >> 47
    cdef uint64_t b = (v ^ a) * mul
    b ^= b >> 47
    return b * mul


cdef uint64_t hash_len0to16(const unsigned char* s, size_t n) nogil:
    cdef uint64_t mul, a, b, c, d, y, z
    if n >= 8:
        mul = K2 + n * 2
        a = fetch64(s) + K2
        b = fetch64(s + n - 8)
        c = rot(b, 37) * mul + a
        d = (rot(a, 25) + b) * mul
        return hash_len16(c, d, mul)
    if n >= 4:
        mul = K2 + n * 2
        a = fetch32(s)
        return hash_len16(n + (a << 3), fetch32(s + n - 4), mul)
    if n > 0:
        a = s[0]
        b = s[n >> 1]
        c = s[n - 1]
        y = a + (b << 8)
        z = n + (c << 2)
        return shift_mix(y * K2 ^ z * K0) * K2
    return K2


cdef uint64_t hash_len17to32(const unsigned char* s, size_t n) nogil:
    cdef uint64_t mul = K2 + n * 2
    cdef uint64_t a = fetch64(s) * K1
    cdef uint64_t b = fetch64(s + 8)
    cdef uint64_t c = fetch64(s + n - 8) * mul
    cdef uint64_t d = fetch64(s + n - 16) * K2
    return hash_len16(rot(a + b, 43) + rot(c, 30) + d, a + rot(b + K2, 18) + c, mul)


cdef uint64_t hash_len33to64(const unsigned char* s, size_t n) nogil:
    cdef uint64_t mul = K2 + n * 2
    cdef uint64_t a = fetch64(s) * K2
    cdef uint64_t b = fetch64(s + 8)
    cdef uint64_t c = fetch64(s + n - 8) * mul
    cdef uint64_t d = fetch64(s + n - 16) * K2
    cdef uint64_t y = rot(a + b, 43) + rot(c, 30) + d
    cdef uint64_t z = hash_len16(y, a + rot(b + K2, 18) + c, mul)
    cdef uint64_t e = fetch64(s + 16) * mul
    cdef uint64_t f = fetch64(s + 24)
    cdef uint64_t g = (y + fetch64(s + n - 32)) * mul
    cdef uint64_t h = (z + fetch64(s + n - 24)) * mul
    return hash_len16(rot(e + f, 43) + rot(g, 30) + h, e + rot(f + a, 18) + g, mul)


cdef inline void weak32(const unsigned char* s, uint64_t a, uint64_t b,
                        uint64_t* out_first, uint64_t* out_second) noexcept nogil:
    cdef uint64_t w = fetch64(s), x = fetch64(s + 8), y = fetch64(s + 16), z = fetch64(s + 24)
    cdef uint64_t c
    a += w
    b = rot(b + a + z, 21)
    c = a
    a += x
    a += y
    b += rot(a, 44)
    out_first[0] = a + z
    out_second[0] = b + c


cdef uint64_t farm_hash64(const unsigned char* s, size_t n) nogil:
    cdef uint64_t seed = 81
    if n <= 32:
        if n <= 16:
            return hash_len0to16(s, n)
        return hash_len17to32(s, n)
    if n <= 64:
        return hash_len33to64(s, n)
    cdef uint64_t x = seed
    cdef uint64_t y = seed * K1 + 113
    cdef uint64_t z = shift_mix(y * K2 + 113) * K2
    cdef uint64_t v1 = 0, v2 = 0, w1 = 0, w2 = 0, mul, t
    x = x * K2 + fetch64(s)
    cdef const unsigned char* end = s + ((n - 1) // 64) * 64
    cdef const unsigned char* last64 = end + ((n - 1) & 63) - 63
    while True:
        x = rot(x + y + v1 + fetch64(s + 8), 37) * K1
        y = rot(y + v2 + fetch64(s + 48), 42) * K1
        x ^= w2
        y += v1 + fetch64(s + 40)
        z = rot(z + w1, 33) * K1
        weak32(s, v2 * K1, x + w1, &v1, &v2)
        weak32(s + 32, z + w2, y + fetch64(s + 16), &w1, &w2)
        t = z
        z = x
        x = t
        s += 64
        if s == end:
            break
    mul = K1 + ((z & 0xff) << 1)
    s = last64
    w1 += (n - 1) & 63
    v1 += w1
    w1 += v1
    x = rot(x + y + v1 + fetch64(s + 8), 37) * mul
    y = rot(y + v2 + fetch64(s + 48), 42) * mul
    x ^= w2 * 9
    y += v1 * 9 + fetch64(s + 40)
    z = rot(z + w1, 33) * mul
    weak32(s, v2 * mul, x + w1, &v1, &v2)
    weak32(s + 32, z + w2, y + fetch64(s + 16), &w1, &w2)
    t = z
    z = x
    x = t
    return hash_len16(hash_len16(v1, w1, mul) + shift_mix(y) * K0 + z,
                      hash_len16(v2, w2, mul) + x, mul)


cdef inline uint64_t rotl(uint64_t v, int s) nogil:
    return (v << s) | (v >> (64 - s))


cdef uint64_t sip_hash24(uint64_t k0, uint64_t k1, const unsigned char* s, size_t n) nogil:
    cdef uint64_t v0 = k0 ^ 0x736f6d6570736575ULL
    cdef uint64_t v1 = k1 ^ 0x646f72616e646f6dULL
    cdef uint64_t v2 = k0 ^ 0x6c7967656e657261ULL
    cdef uint64_t v3 = k1 ^ 0x7465646279746573ULL
    cdef size_t i, full = n - (n % 8)
    cdef uint64_t m, last
    cdef int r
    i = 0
    while i < full:
        m = fetch64(s + i)
        v3 ^= m
        for r in range(2):
            v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32)
            v2 += v3; v3 = rotl(v3, 16); v3 ^= v2
            v0 += v3; v3 = rotl(v3, 21); v3 ^= v0
            v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32)
        v0 ^= m
        i += 8
    last = (<uint64_t>(n & 0xff)) << 56
    for r in range(<int>(n % 8)):
        last |= (<uint64_t>s[full + r]) << (8 * r)
    v3 ^= last
    for r in range(2):
        v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32)
        v2 += v3; v3 = rotl(v3, 16); v3 ^= v2
        v0 += v3; v3 = rotl(v3, 21); v3 ^= v0
        v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32)
    v0 ^= last
    v2 ^= 0xff
    for r in range(4):
        v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32)
        v2 += v3; v3 = rotl(v3, 16); v3 ^= v2
        v0 += v3; v3 = rotl(v3, 21); v3 ^= v0
        v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32)
    return v0 ^ v1 ^ v2 ^ v3


def fingerprint64(bytes data):
    """FarmHash Fingerprint64 of ``data`` (an unsigned 64-bit int)."""
    return farm_hash64(<const unsigned char*>data, len(data))


def siphash(bytes data, uint64_t k0, uint64_t k1):
    """SipHash-2-4 of ``data`` with the 128-bit key ``(k0, k1)``."""
    return sip_hash24(k0, k1, <const unsigned char*>data, len(data))


def hash_buckets(list values, int64_t[::1] out, uint64_t num_buckets, object key):
    """``out[i] = hash(values[i]) % num_buckets`` for a list of bytes: Fingerprint64, or
    SipHash-2-4 when ``key`` is a ``(k0, k1)`` pair (TensorFlow's to_hash_bucket_fast /
    to_hash_bucket_strong)."""
    cdef Py_ssize_t i, n = len(values)
    cdef bytes v
    cdef bint strong = key is not None
    cdef uint64_t k0 = 0, k1 = 0
    if strong:
        k0 = <uint64_t>key[0]
        k1 = <uint64_t>key[1]
    for i in range(n):
        v = <bytes>values[i]
        if strong:
            out[i] = <int64_t>(sip_hash24(k0, k1, <const unsigned char*>v, len(v)) % num_buckets)
        else:
            out[i] = <int64_t>(farm_hash64(<const unsigned char*>v, len(v)) % num_buckets)


def lookup_padded(list docs, dict table, int64_t default, int64_t[:, ::1] out):
    """Writes each document's token indices into a zero-filled row of ``out`` (truncating
    at its width); tokens missing from ``table`` get ``default``. Returns the longest
    document's length (before truncation)."""
    cdef Py_ssize_t i, j, n, width = out.shape[1], longest = 0
    cdef list doc
    cdef object idx
    for i in range(len(docs)):
        doc = <list>docs[i]
        n = len(doc)
        if n > longest:
            longest = n
        if n > width:
            n = width
        for j in range(n):
            idx = table.get(doc[j])
            out[i, j] = default if idx is None else <int64_t>idx
    return longest


def bincount_docs(list docs, dict table, int64_t default, float[:, ::1] out, bint binary):
    """Per document, counts (or flags, when ``binary``) its token indices into ``out``'s row;
    indices outside ``[0, out.shape[1])`` are dropped, as tf.math.bincount's maxlength."""
    cdef Py_ssize_t i, j, depth = out.shape[1]
    cdef int64_t k
    cdef list doc
    cdef object idx
    for i in range(len(docs)):
        doc = <list>docs[i]
        for j in range(len(doc)):
            idx = table.get(doc[j])
            k = default if idx is None else <int64_t>idx
            if k < 0 or k >= depth:
                continue
            if binary:
                out[i, k] = 1
            else:
                out[i, k] += 1


def fingerprints(list values, uint64_t[::1] out):
    """``out[i] = Fingerprint64(values[i])`` for a list of bytes."""
    cdef Py_ssize_t i
    cdef bytes v
    for i in range(len(values)):
        v = <bytes>values[i]
        out[i] = farm_hash64(<const unsigned char*>v, len(v))


cdef inline list _tokens(object text, bint lower, object delete):
    """TextVectorization's standard path for one string: UTF-8, ASCII lowercase, drop the
    ``delete`` bytes, split on ASCII whitespace."""
    cdef bytes b = (<str>text).encode("utf-8") if type(text) is str else <bytes>text
    if lower:
        b = b.lower()
    if delete is not None:
        b = b.translate(None, delete)
    return b.split()


def tokenize_lookup_padded(list texts, bint lower, object delete, dict table, int64_t default,
                           int64_t[:, ::1] out):
    """Tokenizes each string (``_tokens``) and writes its indices into ``out``'s row
    (truncated at the width; unknown tokens get ``default``)."""
    cdef Py_ssize_t i, j, n, width = out.shape[1]
    cdef list doc
    cdef object idx
    for i in range(len(texts)):
        doc = _tokens(texts[i], lower, delete)
        n = len(doc)
        if n > width:
            n = width
        for j in range(n):
            idx = table.get(doc[j])
            out[i, j] = default if idx is None else <int64_t>idx


def tokenize_max_length(list texts, bint lower, object delete):
    """The largest token count over the strings."""
    cdef Py_ssize_t i, n, longest = 0
    for i in range(len(texts)):
        n = len(_tokens(texts[i], lower, delete))
        if n > longest:
            longest = n
    return longest


def tokenize_bincount(list texts, bint lower, object delete, dict table, int64_t default,
                      float[:, ::1] out, bint binary):
    """Tokenizes each string and counts (or flags) its indices into ``out``'s row; indices
    outside ``[0, out.shape[1])`` are dropped."""
    cdef Py_ssize_t i, j, depth = out.shape[1]
    cdef int64_t k
    cdef list doc
    cdef object idx
    for i in range(len(texts)):
        doc = _tokens(texts[i], lower, delete)
        for j in range(len(doc)):
            idx = table.get(doc[j])
            k = default if idx is None else <int64_t>idx
            if k < 0 or k >= depth:
                continue
            if binary:
                out[i, k] = 1
            else:
                out[i, k] += 1


cdef struct TokenStats:
    int64_t count       # occurrences
    int64_t documents   # documents holding the token
    int64_t last_doc    # the last document counted in ``documents``


cdef inline bint _is_space(unsigned char c) noexcept nogil:
    # Python's bytes.split() whitespace = TF's ASCII whitespace
    return c == 32 or (9 <= c <= 13)


def tokenize_count(list texts, bint lower, object delete, object counts, object doc_counts):
    """Adds the tokens of each string to the ``counts`` Counter (and, when given, each
    distinct token to ``doc_counts``). Tokens are counted in a C++ hash map keyed by their
    bytes (no Python object per token) and merged into the Counters once at the end."""
    cdef unordered_map[string, TokenStats] stats
    cdef unordered_map[string, TokenStats].iterator it
    cdef Py_ssize_t i, n, start, pos
    cdef bytes b
    cdef const unsigned char* p
    cdef string key
    cdef TokenStats* entry
    for i in range(len(texts)):
        text = texts[i]
        b = (<str>text).encode("utf-8") if type(text) is str else <bytes>text
        if lower:
            b = b.lower()
        if delete is not None:
            b = b.translate(None, delete)
        p = <const unsigned char*>b
        n = len(b)
        pos = 0
        while pos < n:
            while pos < n and _is_space(p[pos]):
                pos += 1
            if pos >= n:
                break
            start = pos
            while pos < n and not _is_space(p[pos]):
                pos += 1
            key.assign(<const char*>p + start, pos - start)
            entry = &stats[key]  # value-initialized (zeros) on first sight
            entry.count += 1
            if entry.documents == 0 or entry.last_doc != i:
                entry.documents += 1
                entry.last_doc = i
    it = stats.begin()
    while it != stats.end():
        token = <bytes>deref(it).first
        counts[token] += deref(it).second.count
        if doc_counts is not None:
            doc_counts[token] += deref(it).second.documents
        inc(it)
