"""Boston housing prices (Harrison & Rubinfeld, 1978): 506 samples of 13 features, target
the median home value in k$ (Keras's ``boston_housing.npz``)."""
from nnfast.datasets._housing import load_split

FILE_HASH = "f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5"


def load_data(path="boston_housing.npz", test_split=0.2, seed=113):
    """Loads the data as ``keras.datasets.boston_housing.load_data``: the file is looked
    up in ``$NNFAST_DATASETS``, then the cache, then downloaded (sha256 checked).

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: float64 arrays (404, 13), (404,), (102, 13),
        (102,) with the default split.

    Example:
        >>> (x_train, y_train), (x_test, y_test) = boston_housing.load_data()
    """
    return load_split(path, FILE_HASH, test_split, seed)
