"""Text preprocessing with Keras's legacy definitions (``keras.preprocessing.text``):
``text_to_word_sequence``, ``one_hot``, ``hashing_trick``, ``Tokenizer`` and
``tokenizer_from_json``. Results are identical to Keras's; the per-word loops run in Cython.
"""
import collections
import hashlib
import json

import numpy as np

from nnfast.preprocessing import _text_fast

DEFAULT_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'
_MODES = {"binary": 0, "count": 1, "freq": 2, "tfidf": 3}
_TABLES = {}


def _table(filters, split):
    key = (filters, split)
    table = _TABLES.get(key)
    if table is None:
        table = str.maketrans({c: split for c in filters}) if filters else {}
        if len(_TABLES) < 64:
            _TABLES[key] = table
    return table


def text_to_word_sequence(input_text, filters=DEFAULT_FILTERS, lower=True, split=" "):
    """Splits a text into words: lowercases (``lower``), turns every character of
    ``filters`` into ``split``, splits on ``split`` and drops empty strings.

    Args:
        input_text: the input text.
        filters: characters removed from the text (default: punctuation, tabs and newlines).
        lower: lowercase the text first. Defaults to ``True``.
        split: the word separator. Defaults to ``" "``.

    Example:
        >>> text_to_word_sequence("Hello, World!")
        ['hello', 'world']
    """
    return _text_fast.split_words(input_text, _table(filters, split), bool(lower), split)


def hashing_trick(text, n, hash_function=None, filters=DEFAULT_FILTERS, lower=True, split=" ",
                  analyzer=None):
    """Maps each word to ``hash_function(word) % (n - 1) + 1`` (ids in [1, n), 0 unused).

    ``hash_function`` defaults to Python's ``hash`` (randomized per process unless
    PYTHONHASHSEED is set); ``"md5"`` gives a stable hash.

    Args:
        text: the input text.
        n: the hashing space: ids fall in ``[1, n - 1]`` (0 is kept for padding).
        hash_function: None (Python's ``hash``, not stable across runs), ``"md5"``, or a callable
            from a string to an int.
        filters: characters removed from the text (default: punctuation, tabs and newlines).
        lower: lowercase the text first. Defaults to ``True``.
        split: the word separator. Defaults to ``" "``.
        analyzer: a callable splitting a text into words, used instead of
            ``filters``/``lower``/``split`` (None: those).

    Example:
        >>> keras.preprocessing.text.hashing_trick("the cat the", 20, hash_function="md5")
        [17, 4, 17]
    """
    if hash_function is None:
        hash_function = hash
    elif hash_function == "md5":
        def hash_function(w):
            return int(hashlib.md5(w.encode()).hexdigest(), 16)
    if analyzer is None:
        seq = text_to_word_sequence(text, filters=filters, lower=lower, split=split)
    else:
        seq = analyzer(text)
    return _text_fast.hash_words(list(seq), hash_function, int(n))


def one_hot(input_text, n, filters=DEFAULT_FILTERS, lower=True, split=" ", analyzer=None):
    """``hashing_trick`` with Python's ``hash``: word ids in [1, n) (Keras's legacy one_hot).

    Args:
        input_text: the input text.
        n: the hashing space: ids fall in ``[1, n - 1]``.
        filters: characters removed from the text (default: punctuation, tabs and newlines).
        lower: lowercase the text first. Defaults to ``True``.
        split: the word separator. Defaults to ``" "``.
        analyzer: a callable splitting a text into words, used instead of
            ``filters``/``lower``/``split`` (None: those).

    Example:
        >>> keras.preprocessing.text.one_hot("The cat sat", 50)[0] > 0
        True
    """
    return hashing_trick(input_text, n, hash_function=hash, filters=filters, lower=lower,
                         split=split, analyzer=analyzer)


class Tokenizer:
    """Vectorizes texts into word-id sequences or bag-of-words matrices (Keras's legacy
    ``Tokenizer``).

    Args:
        num_words: keep only ids below ``num_words`` when converting (the ``word_index``
            itself keeps every word).
        filters: characters replaced by ``split`` before splitting.
        lower: lowercase texts.
        split: the word separator.
        char_level: every character is a token.
        oov_token: if given, gets index 1 and replaces unknown words in
            ``texts_to_sequences``.
        analyzer: optional callable text -> tokens replacing the default splitting.

    ``fit_on_texts`` builds ``word_index`` by descending count (ties in first-seen order),
    starting at 1. Example:
        >>> tok = Tokenizer(num_words=100, oov_token="<oov>")
        >>> tok.fit_on_texts(["the cat", "the dog"])
        >>> tok.texts_to_sequences(["the bird"])
        [[2, 1]]
    """

    def __init__(self, num_words=None, filters=DEFAULT_FILTERS, lower=True, split=" ",
                 char_level=False, oov_token=None, analyzer=None, **kwargs):
        if "nb_words" in kwargs:
            num_words = kwargs.pop("nb_words")
        document_count = kwargs.pop("document_count", 0)
        if kwargs:
            raise TypeError("Unrecognized keyword arguments: " + str(kwargs))
        self.word_counts = collections.OrderedDict()
        self.word_docs = collections.defaultdict(int)
        self.filters = filters
        self.split = split
        self.lower = lower
        self.num_words = num_words
        self.document_count = document_count
        self.char_level = char_level
        self.oov_token = oov_token
        self.index_docs = collections.defaultdict(int)
        self.word_index = {}
        self.index_word = {}
        self.analyzer = analyzer

    def _tokens(self, text):
        if self.char_level or isinstance(text, list):
            if self.lower:
                text = [t.lower() for t in text] if isinstance(text, list) else text.lower()
            return list(text)
        if self.analyzer is None:
            return _text_fast.split_words(text, _table(self.filters, self.split),
                                          bool(self.lower), self.split)
        return list(self.analyzer(text))

    def fit_on_texts(self, texts):
        """Updates the vocabulary from a list of texts (or of token lists)."""
        seqs = []
        for text in texts:
            self.document_count += 1
            seqs.append(self._tokens(text))
        counts = dict(self.word_counts)
        docs = dict(self.word_docs)
        _text_fast.count_words(seqs, counts, docs)
        self.word_counts = collections.OrderedDict(counts)
        self.word_docs = collections.defaultdict(int, docs)
        wcounts = list(self.word_counts.items())
        wcounts.sort(key=lambda x: x[1], reverse=True)
        sorted_voc = [] if self.oov_token is None else [self.oov_token]
        sorted_voc.extend(wc[0] for wc in wcounts)
        # index 0 is reserved, never assigned to a word
        self.word_index = dict(zip(sorted_voc, range(1, len(sorted_voc) + 1)))
        self.index_word = {c: w for w, c in self.word_index.items()}
        for w, c in list(self.word_docs.items()):
            self.index_docs[self.word_index[w]] = c

    def fit_on_sequences(self, sequences):
        """Updates document counts from id sequences (needed by tfidf without texts)."""
        self.document_count += len(sequences)
        for seq in sequences:
            for i in set(seq):
                self.index_docs[i] += 1

    def texts_to_sequences(self, texts):
        """Each text as a list of word ids (unknown / >= num_words dropped or mapped to OOV)."""
        return list(self.texts_to_sequences_generator(texts))

    def texts_to_sequences_generator(self, texts):
        num_words = int(self.num_words) if self.num_words else 0
        oov_index = self.word_index.get(self.oov_token)
        oov = oov_index if self.oov_token is not None else None
        for text in texts:
            seq = self._tokens(text)
            yield _text_fast.words_to_ids(seq, self.word_index, num_words, oov)

    def sequences_to_texts(self, sequences):
        """Each id sequence back to a space-joined text (ids >= num_words dropped/OOV)."""
        return list(self.sequences_to_texts_generator(sequences))

    def sequences_to_texts_generator(self, sequences):
        num_words = self.num_words
        oov_token_index = self.word_index.get(self.oov_token)
        for seq in sequences:
            vect = []
            for num in seq:
                word = self.index_word.get(num)
                if word is not None:
                    if num_words and num >= num_words:
                        if oov_token_index is not None:
                            vect.append(self.index_word[oov_token_index])
                    else:
                        vect.append(word)
                elif self.oov_token is not None:
                    vect.append(self.index_word[oov_token_index])
            yield " ".join(vect)

    def texts_to_matrix(self, texts, mode="binary"):
        """``(len(texts), width)`` float64 matrix; modes binary, count, tfidf, freq."""
        return self.sequences_to_matrix(self.texts_to_sequences(texts), mode=mode)

    def sequences_to_matrix(self, sequences, mode="binary"):
        """Bag-of-ids matrix of width ``num_words`` (or ``len(word_index) + 1``).

        binary: 1 where an id occurs; count: occurrences; freq: count / len(sequence);
        tfidf: ``(1 + ln c) * ln(1 + docs / (1 + docs_with_id))``. Column 0 stays 0 unless
        id 0 occurs.
        """
        if not self.num_words:
            if self.word_index:
                num_words = len(self.word_index) + 1
            else:
                raise ValueError("Specify a dimension (`num_words` argument), or fit on some "
                                 "text data first.")
        else:
            num_words = self.num_words
        if mode == "tfidf" and not self.document_count:
            raise ValueError("Fit the Tokenizer on some data before using tfidf mode.")
        if mode not in _MODES:
            raise ValueError("Unknown vectorization mode:", mode)
        x = np.zeros((len(sequences), num_words))
        _text_fast.ids_to_matrix(list(sequences), x, 1 if mode == "tfidf" else _MODES[mode])
        if mode == "tfidf":
            # NOTE: NumPy's log (as Keras calls it), vectorized over the nonzero counts, so the
            # values are bit-identical to Keras's per-entry np.log.
            rows, cols = np.nonzero(x)
            docs = np.zeros(num_words)
            for j, c in self.index_docs.items():
                if 0 <= j < num_words:
                    docs[j] = c
            tf = 1 + np.log(x[rows, cols])
            idf = np.log(1 + self.document_count / (1 + docs[cols]))
            x[rows, cols] = tf * idf
        return x

    def get_config(self):
        """Keras's config: the arguments plus the fitted vocabularies as JSON strings."""
        return {
            "num_words": self.num_words,
            "filters": self.filters,
            "lower": self.lower,
            "split": self.split,
            "char_level": self.char_level,
            "oov_token": self.oov_token,
            "document_count": self.document_count,
            "word_counts": json.dumps(self.word_counts),
            "word_docs": json.dumps(self.word_docs),
            "index_docs": json.dumps(self.index_docs),
            "index_word": json.dumps(self.index_word),
            "word_index": json.dumps(self.word_index),
        }

    def to_json(self, **kwargs):
        """A JSON string Keras's ``tokenizer_from_json`` (and ours) can read."""
        return json.dumps({"class_name": type(self).__name__, "config": self.get_config()},
                          **kwargs)


def tokenizer_from_json(json_string):
    """Rebuilds a ``Tokenizer`` from ``Tokenizer.to_json()`` output.

    Args:
        json_string: the string ``Tokenizer.to_json()`` returned.

    Example:
        >>> tok = keras.preprocessing.text.Tokenizer()
        >>> tok.fit_on_texts(["the cat sat", "the dog"])
        >>> again = keras.preprocessing.text.tokenizer_from_json(tok.to_json())
        >>> again.word_index["the"]
        1
    """
    tokenizer_config = json.loads(json_string)
    config = tokenizer_config.get("config")
    word_counts = json.loads(config.pop("word_counts"))
    word_docs = json.loads(config.pop("word_docs"))
    index_docs = {int(k): v for k, v in json.loads(config.pop("index_docs")).items()}
    index_word = {int(k): v for k, v in json.loads(config.pop("index_word")).items()}
    word_index = json.loads(config.pop("word_index"))
    tokenizer = Tokenizer(**config)
    tokenizer.word_counts = word_counts
    tokenizer.word_docs = word_docs
    tokenizer.index_docs = index_docs
    tokenizer.word_index = word_index
    tokenizer.index_word = index_word
    return tokenizer
