"""Pure-Python copies of Keras's legacy text/sequence preprocessing algorithms
(keras.preprocessing.text / sequence as of tf.keras 2.x), used as the reference in
tests/test_text.py and as the competitor in benchmarks/bench_text.py."""
import collections
import json

import numpy as np

FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'


def text_to_word_sequence(input_text, filters=FILTERS, lower=True, split=" "):
    if lower:
        input_text = input_text.lower()
    translate_map = str.maketrans({c: split for c in filters})
    input_text = input_text.translate(translate_map)
    return [i for i in input_text.split(split) if i]


def hashing_trick(text, n, hash_function=hash, filters=FILTERS, lower=True, split=" "):
    seq = text_to_word_sequence(text, filters=filters, lower=lower, split=split)
    return [(hash_function(w) % (n - 1) + 1) for w in seq]


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre",
                  value=0.0):
    lengths = [len(x) for x in sequences]
    if maxlen is None:
        maxlen = np.max(lengths)
    x = np.full((len(sequences), maxlen), value, dtype=dtype)
    for idx, s in enumerate(sequences):
        if not len(s):
            continue
        trunc = s[-maxlen:] if truncating == "pre" else s[:maxlen]
        trunc = np.asarray(trunc, dtype=dtype)
        if padding == "post":
            x[idx, :len(trunc)] = trunc
        else:
            x[idx, -len(trunc):] = trunc
    return x


class Tokenizer:
    def __init__(self, num_words=None, filters=FILTERS, lower=True, split=" ",
                 char_level=False, oov_token=None):
        self.word_counts = collections.OrderedDict()
        self.word_docs = collections.defaultdict(int)
        self.filters, self.split, self.lower = filters, split, lower
        self.num_words, self.document_count = num_words, 0
        self.char_level, self.oov_token = char_level, oov_token
        self.index_docs = collections.defaultdict(int)
        self.word_index, self.index_word = {}, {}

    def _seq(self, text):
        if self.char_level or isinstance(text, list):
            if self.lower:
                text = [t.lower() for t in text] if isinstance(text, list) else text.lower()
            return text
        return text_to_word_sequence(text, self.filters, self.lower, self.split)

    def fit_on_texts(self, texts):
        for text in texts:
            self.document_count += 1
            seq = self._seq(text)
            for w in seq:
                if w in self.word_counts:
                    self.word_counts[w] += 1
                else:
                    self.word_counts[w] = 1
            for w in set(seq):
                self.word_docs[w] += 1
        wcounts = list(self.word_counts.items())
        wcounts.sort(key=lambda x: x[1], reverse=True)
        sorted_voc = [] if self.oov_token is None else [self.oov_token]
        sorted_voc.extend(wc[0] for wc in wcounts)
        self.word_index = dict(zip(sorted_voc, list(range(1, len(sorted_voc) + 1))))
        self.index_word = {c: w for w, c in self.word_index.items()}
        for w, c in list(self.word_docs.items()):
            self.index_docs[self.word_index[w]] = c

    def texts_to_sequences(self, texts):
        num_words = self.num_words
        oov_token_index = self.word_index.get(self.oov_token)
        out = []
        for text in texts:
            vect = []
            for w in self._seq(text):
                i = self.word_index.get(w)
                if i is not None:
                    if num_words and i >= num_words:
                        if oov_token_index is not None:
                            vect.append(oov_token_index)
                    else:
                        vect.append(i)
                elif self.oov_token is not None:
                    vect.append(oov_token_index)
            out.append(vect)
        return out

    def sequences_to_matrix(self, sequences, mode="binary"):
        num_words = self.num_words or len(self.word_index) + 1
        x = np.zeros((len(sequences), num_words))
        for i, seq in enumerate(sequences):
            if not seq:
                continue
            counts = collections.defaultdict(int)
            for j in seq:
                if j >= num_words:
                    continue
                counts[j] += 1
            for j, c in list(counts.items()):
                if mode == "count":
                    x[i][j] = c
                elif mode == "freq":
                    x[i][j] = c / len(seq)
                elif mode == "binary":
                    x[i][j] = 1
                elif mode == "tfidf":
                    tf = 1 + np.log(c)
                    idf = np.log(1 + self.document_count / (1 + self.index_docs.get(j, 0)))
                    x[i][j] = tf * idf
        return x

    def texts_to_matrix(self, texts, mode="binary"):
        return self.sequences_to_matrix(self.texts_to_sequences(texts), mode=mode)


def imdb_texts(n=None):
    """IMDB training reviews decoded back to text (words joined by spaces)."""
    from nnfast.datasets import imdb

    (x, _), _ = imdb.load_data(start_char=None, index_from=0)
    inverse = {i: w for w, i in imdb.get_word_index().items()}
    x = x if n is None else x[:n]
    return [" ".join(inverse[i] for i in seq) for seq in x]


__all__ = ["Tokenizer", "hashing_trick", "pad_sequences", "text_to_word_sequence", "imdb_texts",
           "json"]
