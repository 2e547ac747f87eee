"""Data preprocessing with Keras's semantics: ``image`` (loading, ImageDataGenerator),
``text`` (Tokenizer and helpers) and ``sequence`` (pad_sequences). The text hot loops run in
a Cython extension (``_text_fast``)."""
from nnfast.preprocessing import image, sequence, text
