"""Rematerialization (gradient checkpointing): ``keras.remat(f)`` keeps none of ``f``'s
intermediate results for the backward pass and recomputes them there, trading compute for
memory; values and gradients are those of ``f``."""
import functools

import numpy as np

from nnfast import ops, tree
from nnfast.backend.tape import GradientTape
from nnfast.backend.tensor import Tensor, as_array


def _differentiable(x):
    return isinstance(x, (Tensor, np.ndarray)) and np.issubdtype(
        np.asarray(as_array(x)).dtype, np.floating)


def remat(f):
    """Wraps ``f`` so that a gradient tape keeps only its inputs and outputs: the
    intermediate tensors of ``f`` are freed after the forward pass and recomputed (by
    calling ``f`` again) when gradients are taken. Outputs and gradients (for the float
    tensor arguments and the trainable Variables ``f`` reads) are unchanged.

    ``f`` must compute the same thing when called again (a dropout inside would draw new
    noise in the recomputation).

    Args:
        f: a function of tensors (other arguments are passed through unchanged).

    Returns:
        The rematerialized function.

    Example:
        >>> block = keras.remat(lambda x: ops.relu(ops.matmul(x, w)))
        >>> with keras.GradientTape() as tape:
        ...     loss = ops.sum(block(x))
    """
    if not callable(f):
        raise TypeError(f"remat expects a callable. Received: f={f!r}")

    @functools.wraps(f)
    def rematerialized(*args, **kwargs):
        positions = [i for i, a in enumerate(args) if _differentiable(a)]
        if not positions:
            return f(*args, **kwargs)

        def with_tensors(tensors):
            call_args = list(args)
            for i, t in zip(positions, tensors):
                call_args[i] = t
            return call_args

        def forward(*tensors):
            output = f(*with_tensors(tensors), **kwargs)

            def grad_fn(*upstream, variables=None):
                fresh = [ops.convert_to_tensor(np.array(as_array(t))) for t in tensors]
                sources = fresh + list(variables or [])
                with GradientTape() as tape:
                    for t in fresh:
                        tape.watch(t)
                    again = tree.flatten(f(*with_tensors(fresh), **kwargs))
                    # the vector-Jacobian product as the gradient of sum(output * upstream)
                    target = None
                    for o, u in zip(again, upstream):
                        if u is not None:
                            term = ops.sum(ops.multiply(o, u))
                            target = term if target is None else ops.add(target, term)
                grads = ([None] * len(sources) if target is None
                         else tape.gradient(target, sources))
                input_grads = grads[:len(fresh)]
                input_grads = input_grads[0] if len(fresh) == 1 else tuple(input_grads)
                if variables is None:
                    return input_grads
                return input_grads, list(grads[len(fresh):])

            return output, grad_fn

        return ops.custom_gradient(forward)(*[args[i] for i in positions])

    return rematerialized


class RematScope:
    """Keras's scope that rematerializes the layers called inside it (modes "full",
    "activations", "larger_than", "list_of_layers").

    Not implemented in nnfast: constructing it raises NotImplementedError (a scope that
    silently kept every activation would defeat its purpose). Wrap functions with
    ``keras.remat`` instead.
    """

    def __init__(self, mode="full", output_size_threshold=1024, layer_names=None):
        raise NotImplementedError(
            "keras.RematScope is not implemented in nnfast; wrap the function (or a layer's "
            "call) with keras.remat(f) to rematerialize it.")
