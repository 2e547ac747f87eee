"""California housing (Pace & Barry, 1997): 20,640 districts, 8 features, target the
median house value in $ (Keras's ``california_housing.npz``)."""
from nnfast.datasets._housing import load_split

FILE_HASH = "1a2e3a52e0398de6463aebe6f4a8da34fb21fbb6b934cf88c3425e766f2a1a6f"


def load_data(version="large", path="california_housing.npz", test_split=0.2, seed=113):
    """Loads the data as ``keras.datasets.california_housing.load_data``: ``version``
    ``"large"`` (all 20,640 rows) or ``"small"`` (the first 600); the file is looked up in
    ``$NNFAST_DATASETS``, then the cache, then downloaded (sha256 checked).

    Returns:
        ``(x_train, y_train), (x_test, y_test)`` split 80/20 after a seeded permutation.

    Example:
        >>> (x_train, y_train), _ = california_housing.load_data(version="small")
    """
    if version not in ("small", "large"):
        raise ValueError("Argument `version` must be one of 'small', 'large'. "
                         f"Received: version={version}")
    return load_split(path, FILE_HASH, test_split, seed, 600 if version == "small" else None)
