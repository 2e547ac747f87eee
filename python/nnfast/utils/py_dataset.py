"""``PyDataset`` (Keras 3) / ``Sequence`` (tf.keras): a dataset of batches by index."""


class PyDataset:
    """Base class for datasets that return whole batches: subclass it with ``__len__``
    (number of batches) and ``__getitem__(index)`` returning ``(x, y)`` or
    ``(x, y, sample_weight)``; ``on_epoch_end`` runs after each epoch (e.g. to reshuffle).

    ``fit``/``evaluate``/``predict`` accept an instance as ``x``. ``workers``,
    ``use_multiprocessing`` and ``max_queue_size`` are accepted for compatibility; batches
    are produced in the calling thread, in order.

    Args:
        workers: accepted for compatibility: batches are produced in the training thread. Defaults
            to ``1``.
        use_multiprocessing: accepted for compatibility: no worker processes are used. Defaults to
            ``False``.
        max_queue_size: accepted for compatibility (no prefetch queue). Defaults to ``10``.

    Example:
        >>> class Batches(PyDataset):
        ...     def __init__(self, x, y, batch_size):
        ...         super().__init__()
        ...         self.x, self.y, self.batch_size = x, y, batch_size
        ...     def __len__(self):
        ...         return -(-len(self.x) // self.batch_size)
        ...     def __getitem__(self, i):
        ...         s = slice(i * self.batch_size, (i + 1) * self.batch_size)
        ...         return self.x[s], self.y[s]
    """

    def __init__(self, workers=1, use_multiprocessing=False, max_queue_size=10):
        self._workers = workers
        self._use_multiprocessing = use_multiprocessing
        self._max_queue_size = max_queue_size

    @property
    def workers(self):
        return getattr(self, "_workers", 1)

    @property
    def use_multiprocessing(self):
        return getattr(self, "_use_multiprocessing", False)

    @property
    def max_queue_size(self):
        return getattr(self, "_max_queue_size", 10)

    def __getitem__(self, index):
        raise NotImplementedError

    def __len__(self):
        raise NotImplementedError

    @property
    def num_batches(self):
        return len(self)

    def on_epoch_end(self):
        """Called at the end of every epoch."""

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]


# tf.keras's name for the same protocol.
Sequence = PyDataset
