"""``Discretization``: buckets continuous values by boundaries, learned as Keras's quantiles.

``adapt`` reproduces Keras 3's approximate-quantile summary exactly: each batch is sorted
and sampled every ``len / (1 / epsilon)`` values (weights = the step), summaries are merged
by sorting and compressed by interpolating the weighted CDF at ``epsilon, 2 epsilon, ...``,
and the boundaries are the compressed summary at ``1 / num_bins`` steps, last one dropped.
"""
import numpy as np

from nnfast.backend.keras_tensor import KerasTensor
from nnfast.backend.tensor import Tensor
from nnfast.layers.categorical_encoding import check_output_mode, encode_categorical
from nnfast.layers.layer import Layer
from nnfast.layers.lookup import to_numpy


def _summarize(values, epsilon):
    values = np.sort(np.reshape(values, [-1]))
    step = max(values.size / (1.0 / epsilon), 1)
    boundaries = values[int(step - 1)::int(step)]
    return np.stack([boundaries, np.ones_like(boundaries) * step])


def _compress(summary, epsilon):
    if summary.shape[1] * epsilon < 1:
        return summary
    percents = epsilon + np.arange(0.0, 1.0, epsilon)
    cum_weights = summary[1].cumsum()
    cum_percents = cum_weights / cum_weights[-1]
    new_bins = np.interp(percents, cum_percents, summary[0])
    cum_weights = np.interp(percents, cum_percents, cum_weights)
    new_weights = cum_weights - np.concatenate((np.array([0]), cum_weights[:-1]))
    return np.stack((new_bins, new_weights)).astype("float32")


def _merge(a, b, epsilon):
    merged = np.concatenate((a, b), axis=1)
    merged = np.take(merged, np.argsort(merged[0]), axis=1)
    return _compress(merged, epsilon)


class Discretization(Layer):
    """Maps each value to the index of its bucket (``keras.layers.Discretization``).

    Args:
        bin_boundaries: sorted boundaries; bucket ``i`` holds ``b[i-1] <= x < b[i]``.
        num_bins: learn ``num_bins - 1`` boundaries with ``adapt`` instead.
        epsilon: the error tolerance of the quantile summary (Keras's default 0.01).
        output_mode: ``"int"`` (int32 indices, Keras's dtype), ``"one_hot"``,
            ``"multi_hot"`` or ``"count"``.
        sparse: not supported by nnfast (raises NotImplementedError).
        dtype: stored in the config (Keras compatibility); the output is int32 for
            ``"int"`` and float32 otherwise whatever it says.
        name: the layer's name.

    Example:
        >>> Discretization(bin_boundaries=[0., 1., 2.])(np.array([[-1.5, 1.0, 3.4, 0.5]])).numpy()
        array([[0, 2, 3, 1]], dtype=int32)
        >>> layer = Discretization(num_bins=4, epsilon=0.01)
        >>> layer.adapt(np.random.uniform(size=(1000, 1)))
    """

    def __init__(self, bin_boundaries=None, num_bins=None, epsilon=0.01, output_mode="int",
                 sparse=False, dtype=None, name=None):
        if isinstance(dtype, dict):
            dtype = None
        super().__init__(name=name, dtype=dtype)
        if sparse:
            raise NotImplementedError("Discretization(sparse=True): nnfast has no sparse "
                                      "tensors; use sparse=False.")
        output_mode = check_output_mode(output_mode, ("int", "one_hot", "multi_hot", "count"),
                                        "Discretization")
        if num_bins is not None and num_bins < 0:
            raise ValueError(f"`num_bins` must be greater than or equal to 0. Received: "
                             f"`num_bins={num_bins}`")
        if num_bins is not None and bin_boundaries is not None:
            raise ValueError(f"Both `num_bins` and `bin_boundaries` should not be set. "
                             f"Received: `num_bins={num_bins}` and "
                             f"`bin_boundaries={bin_boundaries}`")
        if num_bins is None and bin_boundaries is None:
            raise ValueError("You need to set either `num_bins` or `bin_boundaries`.")
        self.bin_boundaries = bin_boundaries
        self.num_bins = num_bins
        self.epsilon = epsilon
        self.output_mode = output_mode
        self.sparse = sparse
        self.summary = None if bin_boundaries else np.array([[], []], dtype="float32")
        self.built = True

    def adapt(self, data, steps=None):
        """Learns ``num_bins - 1`` quantile boundaries from an array or an iterable of
        batches (``steps`` limits the batches)."""
        if self.num_bins is None:
            raise ValueError("Cannot adapt a Discretization layer that has been initialized "
                             "with `bin_boundaries`, use `num_bins` instead.")
        self.reset_state()
        if isinstance(data, (np.ndarray, Tensor)):
            self.update_state(data)
        elif hasattr(data, "__iter__") and not isinstance(data, (list, tuple)):
            for i, batch in enumerate(data):
                if steps is not None and i >= steps:
                    break
                self.update_state(batch[0] if isinstance(batch, tuple) else batch)
        else:
            self.update_state(data)
        self.finalize_state()

    def update_state(self, data):
        data = np.array(to_numpy(data)).astype("float32")
        self.summary = _merge(_summarize(data, self.epsilon), self.summary, self.epsilon)

    def finalize_state(self):
        if self.num_bins is None:
            return
        self.bin_boundaries = _compress(self.summary, 1.0 / self.num_bins)[0, :-1].tolist()

    def reset_state(self):
        if self.num_bins is None:
            return
        self.summary = np.array([[], []], dtype="float32")

    def call(self, inputs):
        if self.bin_boundaries is None:
            raise ValueError("You need to either pass the `bin_boundaries` argument at "
                             "construction time or call `adapt(dataset)` before you can start "
                             "using the `Discretization` layer.")
        x = to_numpy(inputs).astype(np.float32)
        idx = np.digitize(x, np.asarray(self.bin_boundaries, dtype=np.float32))
        depth = len(self.bin_boundaries) + 1
        out = encode_categorical(idx, self.output_mode, depth)
        return Tensor(out.astype(self._output_dtype()))

    def _output_dtype(self):
        # Keras: int32 indices whatever the dtype; encodings in the compute dtype (float32
        # for compute dtypes NumPy has no type for).
        if self.output_mode == "int":
            return np.dtype("int32")
        try:
            return np.dtype(self.compute_dtype)
        except TypeError:
            return np.dtype("float32")

    def compute_output_spec(self, inputs):
        """The symbolic output for KerasTensor ``inputs``: ``compute_output_shape``'s shape
        and the dtype ``call`` returns (int32 for ``output_mode="int"``, else the compute
        dtype).

        Args:
            inputs: a KerasTensor of values to bucketize.

        Returns:
            A KerasTensor.

        Example:
            >>> layer = keras.layers.Discretization(bin_boundaries=[0.0, 1.0])
            >>> layer.compute_output_spec(keras.KerasTensor((None, 3))).dtype
            'int32'
        """
        return KerasTensor(self.compute_output_shape(inputs.shape), str(self._output_dtype()))

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if self.output_mode == "int":
            return input_shape
        depth = len(self.bin_boundaries) + 1 if self.bin_boundaries is not None \
            else self.num_bins
        if self.output_mode == "one_hot":
            if input_shape and input_shape[-1] == 1 and len(input_shape) > 1:
                return input_shape[:-1] + (depth,)
            return input_shape + (depth,)
        if input_shape and len(input_shape) >= 2:
            return (input_shape[0],) + input_shape[2:] + (depth,)
        return (depth,)

    def get_config(self):
        return {"bin_boundaries": self.bin_boundaries, "num_bins": self.num_bins,
                "epsilon": self.epsilon, "output_mode": self.output_mode,
                "sparse": self.sparse, "name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if config.get("bin_boundaries") is not None and config.get("num_bins") is not None:
            boundaries = config.pop("bin_boundaries")
            layer = cls(**config)
            layer.bin_boundaries = boundaries
            return layer
        return cls(**config)
