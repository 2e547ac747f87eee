"""Optimizer updates of float64 variables (float64 models), in NumPy float64.

The fused C++ update kernels are float32-only; a float64 variable is updated here with
Keras 3's ``update_step`` formulas, every constant in float64 as Keras casts them to the
variable's dtype. Optimizers without a rule here raise ``NotImplementedError`` naming them
rather than updating a float64 model in float32.

Example:
    >>> nnfast.config.set_floatx("float64")
    >>> model.compile(optimizer="adam", loss="mse")  # Adam's float64 rule below
"""
import math

import numpy as np

from nnfast.optimizers.adagrad import Adagrad
from nnfast.optimizers.adam import Adam
from nnfast.optimizers.adamw import AdamW
from nnfast.optimizers.rmsprop import RMSprop
from nnfast.optimizers.sgd import SGD


def keras_constant(constant):
    """A hyperparameter as Keras's ``ops.cast(constant, "float64")`` gives it on TensorFlow:
    the Python float becomes a float32 tensor first, so the value is float32-rounded. (Keras
    uses this for SGD's momentum, Adam's beta powers and the weight decay; constants it
    multiplies directly stay exact.)"""
    return float(np.float32(constant))


def _sgd(opt, g, sq, var, slots, lr, step):
    if opt.momentum != 0:
        (m,) = slots
        momentum = keras_constant(opt.momentum)
        m[...] = m * momentum - g * lr
        if opt.nesterov:
            var += m * momentum - g * lr
        else:
            var += m
    else:
        var -= g * lr


def _adam(opt, g, sq, var, slots, lr, step):
    m, v = slots[:2]
    beta_1, beta_2 = keras_constant(opt.beta_1), keras_constant(opt.beta_2)
    alpha = lr * math.sqrt(1.0 - beta_2 ** step) / (1.0 - beta_1 ** step)
    # In place, in Keras's order of operations: m += (g - m) * (1 - beta_1), the same for v
    # with the squared gradient, var -= m * alpha / (sqrt(v) + epsilon).
    step_m = np.subtract(g, m)
    step_m *= 1.0 - opt.beta_1
    m += step_m
    step_v = np.subtract(sq, v, out=step_m)
    step_v *= 1.0 - opt.beta_2
    v += step_v
    if opt.amsgrad:
        v_hat = slots[2]
        np.maximum(v_hat, v, out=v_hat)
        v = v_hat
    denominator = np.sqrt(v, out=step_v)
    denominator += opt.epsilon
    delta = m * alpha
    delta /= denominator
    var -= delta


def _rmsprop(opt, g, sq, var, slots, lr, step):
    slots = list(slots)
    velocity = slots.pop(0)
    momentum = slots.pop(0) if opt.momentum > 0 else None
    average = slots.pop(0) if opt.centered else None
    velocity[...] = opt.rho * velocity + (1.0 - opt.rho) * sq
    if average is not None:
        average[...] = opt.rho * average + (1.0 - opt.rho) * g
        denominator = velocity - average * average + opt.epsilon
    else:
        denominator = velocity + opt.epsilon
    increment = lr * g / np.sqrt(denominator)
    if momentum is not None:
        momentum[...] = opt.momentum * momentum + increment
        var -= momentum
    else:
        var -= increment


def _adagrad(opt, g, sq, var, slots, lr, step):
    (accumulator,) = slots
    accumulator += sq
    var -= lr * g / np.sqrt(accumulator + opt.epsilon)


def _rules():
    return {SGD: _sgd, Adam: _adam, AdamW: _adam, RMSprop: _rmsprop, Adagrad: _adagrad}


def update(optimizer, gradient, variable, slots, learning_rate, step, scale=1.0,
           clip=(-math.inf, math.inf), decay=0.0, tokens=None):
    """One float64 step of ``optimizer``'s rule on ``variable`` (in place): the gradient
    scaled (clipnorm) and clipped (clipvalue), decoupled weight decay (``variable -= variable
    * decay * learning_rate``) first, as Keras applies them.

    Args:
        optimizer: the optimizer (its hyperparameters are read).
        gradient, variable: float64 arrays of the same shape (``variable`` is updated).
        slots: the variable's slot arrays in the optimizer's ``_slot_groups`` order.
        learning_rate, step: this step's rate and 1-based step number.
        tokens: ``(ids, rows)`` when ``gradient`` sums per-token rows (an embedding table's,
            see ``ops.embedding.TokenRowsGradient``): as Keras on TensorFlow, scaling and
            clipping apply per token and the squared gradient is the per-row sum of the
            tokens' squares.
    """
    rule = _rules().get(type(optimizer))
    if rule is None:
        raise NotImplementedError(
            f"{type(optimizer).__name__} has no float64 update in nnfast (float64 variables: "
            "SGD, Adam, AdamW, RMSprop, Adagrad). Use one of those or a float32 model.")
    g = np.asarray(gradient, dtype=np.float64)
    if tokens is not None:
        ids, rows = tokens[:2]  # float64 models keep per-token rows (no fused squares)
        rows = np.asarray(rows, dtype=np.float64).reshape(len(ids), -1)
        if scale != 1.0:
            rows = rows * scale
        if clip != (-math.inf, math.inf):
            rows = np.clip(rows, clip[0], clip[1])
        g = np.zeros(variable.shape)
        np.add.at(g, ids, rows)
        sq = np.zeros(variable.shape)
        np.add.at(sq, ids, rows * rows)
    else:
        if scale != 1.0:
            g = g * scale
        if clip != (-math.inf, math.inf):
            g = np.clip(g, clip[0], clip[1])
        sq = g * g
    if decay:
        variable -= variable * decay * float(learning_rate)
    rule(optimizer, g, sq, variable, slots, float(learning_rate), int(step))
