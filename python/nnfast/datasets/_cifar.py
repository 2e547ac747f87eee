"""Reading the CIFAR python-pickle batches (shared by ``cifar10`` and ``cifar100``)."""
import pickle

import numpy as np


def load_batch(fpath, label_key="labels"):
    """One CIFAR batch file: ``(data (n, 3, 32, 32) uint8, labels list)``.

    The files are Python 2 pickles with byte-string keys; they hold only NumPy arrays,
    lists and numbers, so a restricted unpickler that allows nothing else reads them.
    """
    with open(fpath, "rb") as f:
        d = _RestrictedUnpickler(f, encoding="bytes").load()
    d = {(k.decode("utf8") if isinstance(k, bytes) else k): v for k, v in d.items()}
    data = np.asarray(d["data"], dtype=np.uint8)
    labels = d[label_key]
    return data.reshape(data.shape[0], 3, 32, 32), labels


_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"), ("copy_reg", "_reconstructor"),
    ("copyreg", "_reconstructor"), ("__builtin__", "object"), ("builtins", "object"),
    # Python 3 writes the raw bytes of an array in a protocol-2 pickle through this.
    ("_codecs", "encode"),
}


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"CIFAR batch files hold only arrays and lists; refusing "
                                     f"to load {module}.{name}.")


def to_channels_last(x):
    return np.ascontiguousarray(x.transpose(0, 2, 3, 1))
