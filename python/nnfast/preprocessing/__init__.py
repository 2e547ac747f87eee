"""Data preprocessing with Keras's semantics: ``image`` (loading, ImageDataGenerator),
``text`` (Tokenizer and helpers) and ``sequence`` (pad_sequences). The text hot loops run in
a Cython extension (``_text_fast``)."""
from nnfast.preprocessing import image, sequence, text
# Keras 3 also exports the dataset builders under keras.preprocessing.
from nnfast.utils.dataset_utils import (  # noqa: E402
    text_dataset_from_directory, timeseries_dataset_from_array)
from nnfast.utils.image_dataset import image_dataset_from_directory  # noqa: E402
