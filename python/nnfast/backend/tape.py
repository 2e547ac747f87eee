"""Reverse-mode autodiff: a tape of coarse ops.

Each op is a ``Function`` with ``forward(ctx, *arrays)`` and ``backward(ctx, grad)`` side by
side (the minitorch pattern). While a ``GradientTape`` is active, ``Function.apply`` records
one node per call whose inputs need gradients; ``GradientTape.gradient`` walks the nodes in
reverse. Built-in layers use fused ops (dense = GEMM + bias + activation), so a training
step records a few nodes per layer, not one per element.
"""
import numpy as np

# NOTE: defined before importing tensor.py, which reads it (tensor <-> tape import each other).
_tape_stack = []

from nnfast.backend.tensor import Tensor, Variable  # noqa: E402


class Context:
    """Scratch space a forward pass leaves for its backward pass."""

    # NOTE: class defaults instead of an __init__: a Context is made on every op call, and
    # a Python-level __init__ was a measurable part of a small op's overhead.
    saved = ()
    needs_input_grad = None

    def save_for_backward(self, *values):
        self.saved = values

    @property
    def recording(self):
        """True when a backward pass may follow (save what it needs)."""
        return self.needs_input_grad is not None


class Node:
    __slots__ = ("function", "ctx", "inputs", "needs", "outputs")

    def __init__(self, function, ctx, inputs, needs, outputs):
        self.function = function
        self.ctx = ctx
        self.inputs = inputs
        self.needs = needs
        self.outputs = outputs


class Function:
    """Base class of differentiable ops.

    Subclasses define ``forward(ctx, *args, **kwargs)`` returning an array (or a tuple of
    arrays) and ``backward(ctx, *output_grads)`` returning one gradient (or None) per
    positional argument. Positional arguments may be Tensors, Variables, arrays or
    constants; keyword arguments are never differentiated.
    """

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, *grads):
        raise NotImplementedError

    @classmethod
    def apply(cls, *args, **kwargs):
        # NOTE: this runs several times per training step; it is written for speed (plain
        # loops, no generator expressions, tracking tested inline).
        ctx = Context()
        if not _tape_stack:  # eager, nothing records: the shortest path
            out = cls.forward(ctx, *[a.value if isinstance(a, Tensor) else a for a in args],
                              **kwargs)
            if type(out) is tuple:
                return tuple([Tensor(o if type(o) is np.ndarray else np.asarray(o))
                              for o in out])
            return Tensor(out if type(out) is np.ndarray else np.asarray(out))
        needs = None
        values = []
        tape = _tape_stack[-1]
        flags = []
        any_needed = False
        for a in args:
            if isinstance(a, Tensor):
                values.append(a.value)
                need = a.node is not None or tape._tracks(a)
                any_needed = any_needed or need
                flags.append(need)
            else:
                values.append(a)
                flags.append(False)
        if any_needed:
            needs = tuple(flags)
        ctx.needs_input_grad = needs
        out = cls.forward(ctx, *values, **kwargs)
        if type(out) is tuple:
            outputs = tuple([Tensor(o if type(o) is np.ndarray else np.asarray(o)) for o in out])
        else:
            # NumPy ufuncs turn 0-d results into scalars: keep tensors backed by arrays.
            outputs = Tensor(out if type(out) is np.ndarray else np.asarray(out))
        if needs is not None:
            node = Node(cls, ctx, args, needs, outputs)
            if type(outputs) is tuple:
                for o in outputs:
                    o.node = node
            else:
                outputs.node = node
            tape._nodes.append(node)
        return outputs


def recording():
    """True while a GradientTape records."""
    return bool(_tape_stack)


class GradientTape:
    """Records ops for reverse-mode differentiation (like ``tf.GradientTape``).

    Trainable Variables are watched automatically; ``watch(t)`` adds any other tensor.

    Example:
        >>> with GradientTape() as tape:
        ...     y = ops.sum(ops.square(w))
        >>> (dw,) = tape.gradient(y, [w])
    """

    def __init__(self, persistent=False, watch_accessed_variables=True):
        self._nodes = []
        self._watched = set()
        self._persistent = persistent
        self._watch_variables = watch_accessed_variables

    def __enter__(self):
        _tape_stack.append(self)
        return self

    def __exit__(self, *exc):
        _tape_stack.remove(self)
        return False

    def watch(self, tensor):
        for t in tensor if isinstance(tensor, (list, tuple)) else (tensor,):
            self._watched.add(id(t))

    def _tracks(self, t):
        if t.node is not None:
            return True
        if self._watch_variables and isinstance(t, Variable) and t.trainable:
            return True
        return id(t) in self._watched

    def gradient(self, target, sources, output_gradients=None):
        """Gradients of ``target`` with respect to each of ``sources`` (None where unconnected).

        ``target`` is usually a scalar loss; for a non-scalar target the gradient of its sum
        is returned unless ``output_gradients`` is given.
        """
        single = not isinstance(sources, (list, tuple))
        sources = [sources] if single else list(sources)
        if not isinstance(target, Tensor):
            raise TypeError(f"gradient() target must be a Tensor, received {type(target).__name__}")
        seed = (np.ones_like(target.value) if output_gradients is None
                else np.asarray(output_gradients, dtype=target.value.dtype))
        grads = {id(target): seed}
        # NOTE: a source may itself be an op's output; keep its gradient instead of consuming it.
        keep = {id(s) for s in sources}
        take = lambda key: grads.get(key) if key in keep else grads.pop(key, None)  # noqa: E731
        for node in reversed(self._nodes):
            outs = node.outputs
            if isinstance(outs, tuple):
                out_grads = [take(id(o)) for o in outs]
                if all(g is None for g in out_grads):
                    continue
                in_grads = node.function.backward(node.ctx, *out_grads)
            else:
                g = take(id(outs))
                if g is None:
                    continue
                in_grads = node.function.backward(node.ctx, g)
            if not isinstance(in_grads, tuple):
                in_grads = (in_grads,)
            for inp, gi, need in zip(node.inputs, in_grads, node.needs):
                if need and gi is not None:
                    key = id(inp)
                    prev = grads.get(key)
                    grads[key] = gi if prev is None else prev + gi
        if not self._persistent:
            # NOTE: a Tensor and its Node point at each other; breaking the link here frees
            # each op's saved buffers now instead of at the next cycle collection, so
            # workspaces are reused from step to step.
            for node in self._nodes:
                node.outputs = None
                node.ctx = None
                node.inputs = None
            self._nodes = []
        result = [grads.get(id(s)) for s in sources]
        return result[0] if single else result
