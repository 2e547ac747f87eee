# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Hot loops of nnfast.preprocessing (text and sequence), compiled with Cython.

Each function is the inner loop of a Keras preprocessing function with identical results;
the Python wrappers in text.py / sequence.py validate arguments and fall back to plain
Python for the rare general cases (multi-dimensional samples, custom analyzers).
"""


def pad_int_sequences(list seqs, long long[:, ::1] out, Py_ssize_t maxlen, bint pad_pre,
                      bint trunc_pre):
    """Copies integer sequences into the pre-filled (n, maxlen) int64 ``out``."""
    cdef Py_ssize_t i, j, n, start, take, offset
    cdef object s
    for i in range(len(seqs)):
        s = seqs[i]
        n = len(s)
        if n == 0:
            continue
        take = n if n < maxlen else maxlen
        start = n - take if trunc_pre else 0
        offset = maxlen - take if pad_pre else 0
        if type(s) is list:
            for j in range(take):
                out[i, offset + j] = <long long>(<list>s)[start + j]
        else:
            for j in range(take):
                out[i, offset + j] = <long long>s[start + j]


def split_words(str text, dict table, bint lower, str split):
    """text_to_word_sequence: lower, map filter characters to ``split``, split, drop empties."""
    if lower:
        text = text.lower()
    if table:
        text = text.translate(table)
    return [w for w in text.split(split) if w]


def count_words(list seqs, dict word_counts, dict word_docs):
    """fit_on_texts' counting: occurrences per word (insertion-ordered) and documents per word."""
    cdef list seq
    cdef object w
    cdef set seen
    for seq in seqs:
        for w in seq:
            word_counts[w] = word_counts.get(w, 0) + 1
        seen = set(seq)
        for w in seen:
            word_docs[w] = word_docs.get(w, 0) + 1


def words_to_ids(list seq, dict word_index, Py_ssize_t num_words, object oov_index):
    """texts_to_sequences for one word list (num_words 0 means no limit)."""
    cdef list out = []
    cdef object w, i
    cdef bint has_oov = oov_index is not None
    for w in seq:
        i = word_index.get(w)
        if i is not None:
            if num_words and <Py_ssize_t>i >= num_words:
                if has_oov:
                    out.append(oov_index)
            else:
                out.append(i)
        elif has_oov:
            out.append(oov_index)
    return out


def ids_to_matrix(list sequences, double[:, ::1] x, int mode):
    """sequences_to_matrix's counting: mode 0 binary, 1 count, 2 freq (count / length).
    Ids >= width are skipped but still count in a sequence's length, as in Keras."""
    cdef Py_ssize_t i, k, j, n, width = x.shape[1]
    cdef list seq, touched
    cdef object idx
    for i in range(len(sequences)):
        seq = list(sequences[i])
        n = len(seq)
        if n == 0:
            continue
        touched = []
        for k in range(n):
            j = seq[k]
            if j < 0:
                raise ValueError(f"negative word id {j}")
            if j >= width:
                continue
            if x[i, j] == 0:
                touched.append(j)
            x[i, j] += 1
        if mode == 0:
            for idx in touched:
                x[i, <Py_ssize_t>idx] = 1
        elif mode == 2:
            for idx in touched:
                x[i, <Py_ssize_t>idx] = x[i, <Py_ssize_t>idx] / n


def hash_words(list seq, object hash_function, long long n):
    """hashing_trick's map: hash(w) % (n - 1) + 1 for each word."""
    cdef object w
    return [hash_function(w) % (n - 1) + 1 for w in seq]
