"""A small real dataset shipped inside the package: 1,797 handwritten digits of 8x8 pixels.

Source: the UCI ML "Optical Recognition of Handwritten Digits" data set (E. Alpaydin and
C. Kaynak, 1998; https://archive.ics.uci.edu/dataset/80), licensed CC BY 4.0, in the copy
scikit-learn distributes (``sklearn/datasets/data/digits.csv.gz``). Each pixel counts the
"on" pixels of a 4x4 block of a 32x32 bitmap, so values run 0..16.
"""
import os

import numpy as np


def load_data(test_split=0.2, seed=113):
    """Loads the embedded digits with a seeded split (no download ever).

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 images of shape (n, 8, 8) with
        values 0..16 and uint8 labels 0..9.
    """
    path = os.path.join(os.path.dirname(__file__), "data", "digits.npz")
    with np.load(path) as f:
        x, y = f["x"], f["y"]
    order = np.random.RandomState(seed).permutation(len(x))
    x, y = x[order], y[order]
    split = int(len(x) * (1 - test_split))
    return (x[:split], y[:split]), (x[split:], y[split:])
