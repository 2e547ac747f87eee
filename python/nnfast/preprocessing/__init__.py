"""Data preprocessing with Keras's legacy semantics: ``text`` (Tokenizer and helpers) and
``sequence`` (pad_sequences). Hot loops run in a Cython extension (``_text_fast``)."""
from nnfast.preprocessing import sequence, text
