"""``Model``: a Layer that trains. Subclass it (``__init__`` + ``call``), or use
``Sequential``; the functional ``Model(inputs, outputs)`` form builds on the same class."""
import numpy as np

from nnfast.layers.layer import Layer, _dedupe
from nnfast.models.trainer import Trainer


class Model(Trainer, Layer):
    """A trainable stack of layers with ``compile``/``fit``/``evaluate``/``predict``.

    Subclass it with ``__init__`` (create layers) and ``call(inputs, training=None)``.
    """

    def __init__(self, *args, trainable=True, name=None, **kwargs):
        Layer.__init__(self, trainable=trainable, name=name, **kwargs)
        self._init_trainer()

    @property
    def layers(self):
        """The model's layers (for subclassed models: the layers set as attributes)."""
        return list(self._layers)

    def get_layer(self, name=None, index=None):
        """A layer by ``name`` or by ``index`` in ``layers``."""
        if index is not None:
            if index >= len(self.layers):
                raise ValueError(f"Was asked to retrieve layer at index {index} but model only "
                                 f"has {len(self.layers)} layers.")
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: {name}. Existing layers are: "
                         f"{[l.name for l in self.layers]}.")

    @property
    def weights(self):
        out = list(self._trainable_weights) + list(self._non_trainable_weights)
        for layer in self.layers:
            out.extend(layer.weights)
        return _dedupe(out)

    @property
    def trainable_weights(self):
        if not self.trainable:
            return []
        out = [w for w in self._trainable_weights if w.trainable]
        for layer in self.layers:
            out.extend(layer.trainable_weights)
        return _dedupe(out)

    @property
    def non_trainable_weights(self):
        if not self.trainable:
            return self.weights
        trainable = {id(w) for w in self.trainable_weights}
        return [w for w in self.weights if id(w) not in trainable]

    @property
    def losses(self):
        """Weight regularization penalties, then the activity penalties of the latest call."""
        out = []
        for w in self.trainable_weights:
            if w.regularizer is not None:
                out.append(w.regularizer(w))
        return out + self._all_activity_losses()

    def count_params(self):
        if not self.built:
            raise ValueError(f"You tried to call `count_params` on model '{self.name}', but the "
                             "model isn't built. Call it on data or build it first.")
        return int(sum(int(np.prod(w.shape)) for w in self.weights))

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False,
                show_trainable=False, layer_range=None):
        """Prints a table of the layers, their output shapes and parameter counts."""
        from nnfast.utils.summary_utils import print_summary

        print_summary(self, line_length=line_length, positions=positions, print_fn=print_fn,
                      show_trainable=show_trainable)

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable}
