"""Whole training steps as one lowered program that C++ runs (issue 15).

When every layer of a compiled Sequential model is a built-in with a C++ kernel (``Dense``
with a fusable activation, ``Dropout``, ``Flatten``, channels_last ``Conv2D`` with relu or no
activation, ``MaxPooling2D``, and the ``Conv2D(relu) -> MaxPooling2D`` pair the training plan
fuses, and a first ``Embedding -> LSTM/GRU/SimpleRNN`` pair the plan fuses, run from the
table on int64 token ids), or of a functional model made of ``Dense``, ``Dropout``,
``Concatenate`` and ``Add`` steps over any number of float inputs, or one token input into
a first ``Embedding -> RNN`` step (planned from the model's ``Plan``), its loss is a built-in crossentropy or mean squared error and
its optimizer a built-in ``Adam``/``RMSprop``/``SGD`` without extras, ``fit`` lowers the
training step to a device-neutral program: buffers (arena offsets planned once for the
largest batch, external arrays for weights and optimizer slots, the step's inputs and
targets) and a list of kernel calls (forward, loss, backward, optimizer update, metric
counts). ``nnfast.backend.program`` runs it on the CPU for many steps per call with the GIL
released.

The program calls the kernels the interpreted (tape) path calls, in the same order, with
the same arguments, so both give the same weights bit for bit. Everything else (custom
layers or steps, regularizers, constraints, sample or class weights, mixed precision
other than ``mixed_bfloat16`` in Sequential models (whose layers lower to bf16 ops: see
``layer_precision``), several outputs, masks, tensors read twice, CSR inputs, data-parallel runs) keeps the
interpreted path.

Set ``NNFAST_LOWERED=0`` (or ``nnfast.models.lowered.ENABLED = False``) to turn it off.
"""
import dataclasses
import math
import os

import numpy as np

from nnfast import activations
from nnfast import losses as losses_module
from nnfast import metrics as metrics_module
from nnfast.backend.global_state import epsilon
from nnfast.backend.program import (
    BUFFER_KINDS,
    GEOMETRY_INTS,
    INSTRUCTION_INTS,
    OPS,
    RECURRENCE_INTS,
    CompiledProgram,
    activation_needs_input,
    csr_store_size,
    recurrence_workspace_size,
)
from nnfast.callbacks import History, ProgbarLogger, _overrides
from nnfast.layers.convolutional import BaseConvND, Conv2D
from nnfast.layers.core import Dense
from nnfast.layers.embedding import Embedding
from nnfast.layers.input_layer import InputLayer
from nnfast.layers.merging import Add, Concatenate
from nnfast.layers.pooling import BasePooling, MaxPooling2D
from nnfast.layers.recurrent import GRU, LSTM, SimpleRNN, _RNNBase
from nnfast.layers.regularization import Dropout
from nnfast.layers.reshaping import Flatten
from nnfast.models.data_adapter import batch_slices, take
from nnfast.ops import sparse_dense
from nnfast.ops.conv import _geometry2d, _pad_before, output_size
from nnfast.ops.embedding import _ids as embedding_ids
from nnfast.ops.nn import ACTIVATION_IDS, DEFAULT_ALPHA, _labels
from nnfast.ops.rnn import _CELL_IDS, RNN_ACTIVATION_IDS, embedded_input_pays
from nnfast.optimizers import SGD, Adam, RMSprop
from nnfast.thread_governor import GOVERNOR

ENABLED = os.environ.get("NNFAST_LOWERED", "1") != "0"

# Steps per program call when the model's steps_per_execution is 1 and no callback but the
# progress bar and History reads per-batch hooks (the bar then updates once per call).
AUTO_STEPS_PER_EXECUTION = 32

_ALIGN = 16  # arena buffers start on 64-byte boundaries
_INF = float("inf")
# The C++ program repeats ops/sparse_dense.py's test of a sparse Dense input (program.cpp).
_SPARSE_RULE = (0.05, 256, 8)
# The buffers of a recurrence row, in ProgramRecurrence's order (program.h).
RECURRENCE_BUFFERS = ("ids", "table", "kernel", "recurrent_kernel", "bias", "h_seq", "h_last",
                      "c_last", "workspace", "dh_last", "dkernel", "drecurrent_kernel", "dbias",
                      "distinct_ids", "d_rows", "d_rows_sq")
_GATES = {"lstm": 4, "gru": 3, "simple": 1}


# --- what each forward node keeps for its backward (in forward order) -------------------------
# ``flows``: some layer before the node has weights, so its input's gradient is needed.


@dataclasses.dataclass
class _DenseNode:
    """A Dense layer: input ``x``, pre-activation ``z`` (when its gradient needs it), output,
    the separate sigmoid's output, the fused activation and the gradient buffers."""

    x: object
    kernel: object
    z: object
    out: object
    separate: object
    act: int
    alpha: float
    in_dim: int
    units: int
    dk: object
    db: object
    flows: bool
    gemm: str = "gemm"  # the product's op ("gemm_bf16" for a bfloat16 layer)
    csr: object = None  # the CSR store of a dense_maybe_sparse_forward, else None


@dataclasses.dataclass
class _DropoutNode:
    """A Dropout layer drawing from stream ``counter``."""

    counter: int
    seed: int
    rate: float
    width: int
    flows: bool
    mask: object = None  # the arena buffer of the forward's keep bits


@dataclasses.dataclass
class _ConvNode:
    """A Conv2D (relu or linear) with its geometry row."""

    geometry: int
    x: object
    kernel: object
    out: object
    act: int
    dk: object
    db: object
    flows: bool
    in_width: int
    out_width: int
    bf16: bool = False  # a mixed_bfloat16 conv on the bf16 kernels (ops/conv_lowp.py)


@dataclasses.dataclass
class _ConvPoolNode:
    """The fused Conv2D(relu) -> MaxPooling2D op."""

    geometry: int
    x: object
    kernel: object
    out: object
    argidx: object
    dk: object
    db: object
    flows: bool
    in_width: int
    # a mixed_bfloat16 pair: its gradient is rounded first (ops/fused.py); the pooled width
    bf16_width: int = 0


@dataclasses.dataclass
class _PoolNode:
    """A MaxPooling2D."""

    geometry: int
    argmax: object
    in_width: int
    flows: bool
    x: object = None  # the pooled feature map (its input)
    out: object = None  # the pooled output
    out_width: int = 0


def _pool_after_relu_conv(pool, before, rounded_from):
    """Whether ``pool`` reads the output of the relu Conv2D in ``before`` (its predecessor,
    or nothing), one whose input gradient is needed: the pair whose relu mask the pool's
    backward applies (``_plan_pool_relu_backward``). A mixed_bfloat16 conv's pool reads its
    rounded copy (``rounded_from``: copy id -> source id); a positive float32 rounds to a
    positive bf16, so ``pooled > 0`` is still the conv's relu mask."""
    if not pool.flows or pool.out is None or len(before) != 1:
        return False
    conv = before[0]
    reads_conv = conv.out is pool.x or \
        (conv.bf16 and rounded_from.get(pool.x.id) == conv.out.id)
    return type(conv) is _ConvNode and conv.act != 0 and conv.flows and reads_conv


@dataclasses.dataclass
class _RecurrenceNode:
    """Embedding -> LSTM/GRU/SimpleRNN run from the table: row ``index`` of the
    description's recurrences; ``dtable``: the table's dense gradient, when the optimizer
    reads one (None for Adam's token-row update)."""

    index: int
    dtable: object


@dataclasses.dataclass
class _AddNode:
    """An Add step: each input that needs a gradient gets the output's (ops.add's backward
    hands the same array to both operands)."""

    flows: list


@dataclasses.dataclass
class _ConcatNode:
    """A Concatenate step over the feature axis: input k holds ``widths[k]`` columns."""

    widths: list
    flows: list


@dataclasses.dataclass
class _GraphNode:
    """A node of a functional model's program with the plan's tensor ids it reads and
    writes."""

    node: object
    inputs: list
    output: int


@dataclasses.dataclass
class _GraphTensor:
    """A tensor of a functional model's program: its buffer, values per row and whether
    some layer before it has weights."""

    buffer: object
    width: int
    flows: bool


@dataclasses.dataclass
class Buffer:
    """One buffer of a program: ``fixed + per_row * rows`` elements of ``kind`` memory."""

    name: str
    kind: str
    offset: int = 0  # arena: offset in floats; external: index in the run's list
    fixed: int = 0
    per_row: int = 0
    id: int = -1


@dataclasses.dataclass
class Instruction:
    """One kernel call: ``op`` on ``buffers`` with integer/float arguments and dimensions
    ``m``, ``n``, ``k``, each ``(fixed, per_row)``."""

    op: str
    buffers: tuple
    ints: tuple = ()
    floats: tuple = ()
    m: tuple = (0, 0)
    n: tuple = (0, 0)
    k: tuple = (0, 0)


@dataclasses.dataclass
class RecurrenceRow:
    """One recurrent layer of a program: ``config`` (cell, steps, input, units, activation,
    recurrent_activation, go_backwards, reset_after, vocab) and ``buffers``, a dict of
    ``RECURRENCE_BUFFERS`` names to Buffers (see ``ProgramRecurrence`` in program.h)."""

    config: tuple
    buffers: dict


class ProgramDescription:
    """A device-neutral lowered program under construction: buffers and kernel calls.

    Args:
        max_rows: the largest batch a step may have (arena buffers are sized for it).

    Example:
        >>> d = ProgramDescription(32)
        >>> x = d.buffer("x", "step_input", per_row=784)
        >>> h = d.arena("h", per_row=128)
    """

    def __init__(self, max_rows):
        self.max_rows = int(max_rows)
        self.buffers = []
        self.instructions = []
        self.externals = []  # getters of the external arrays, by index
        self.geometries = []  # conv/pool shape rows (GEOMETRY_INTS values each)
        self.recurrences = []  # a RecurrenceRow per recurrent layer
        self.arena_size = 0

    def buffer(self, name, kind, offset=0, fixed=0, per_row=0):
        """A new buffer of ``kind`` (see ``BUFFER_KINDS``) of ``fixed + per_row * rows``
        elements; returns it."""
        b = Buffer(name, kind, offset, int(fixed), int(per_row), len(self.buffers))
        self.buffers.append(b)
        return b

    def arena(self, name, per_row=0, fixed=0):
        """A new arena buffer (never shared: the arena is planned once and is small)."""
        offset = self.arena_size
        size = fixed + per_row * self.max_rows
        self.arena_size += -(-size // _ALIGN) * _ALIGN
        return self.buffer(name, "arena", offset, fixed, per_row)

    def external(self, name, getter, size):
        """An array the caller passes to every run (``getter()`` returns it)."""
        self.externals.append(getter)
        return self.buffer(name, "external", len(self.externals) - 1, size, 0)

    def geometry(self, conv=(0,) * 15, pool=(0,) * 11):
        """A new geometry row (a conv's 15 values, a pool's 11: see ``ProgramGeometry`` in
        program.h); returns its index for a conv or pool op's first integer."""
        row = tuple(int(v) for v in tuple(conv) + tuple(pool))
        if len(row) != GEOMETRY_INTS:
            raise ValueError(f"a geometry row has {GEOMETRY_INTS} values, received {len(row)}")
        self.geometries.append(row)
        return len(self.geometries) - 1

    def recurrence(self, config, buffers):
        """A new recurrence row: ``config`` (cell, steps, input, units, activation,
        recurrent_activation, go_backwards, reset_after, vocab) and ``buffers``, a dict of
        ``RECURRENCE_BUFFERS`` names to Buffers (filled in until ``encode``); returns its
        index for a recurrent op's first integer."""
        self.recurrences.append(RecurrenceRow(tuple(int(v) for v in config), buffers))
        return len(self.recurrences) - 1

    def encode_recurrences(self):
        """The recurrence rows as int64 ``(n, RECURRENCE_INTS)``, or None without any."""
        if not self.recurrences:
            return None
        rows = []
        for row in self.recurrences:
            ids = [-1 if row.buffers.get(name) is None else row.buffers[name].id
                   for name in RECURRENCE_BUFFERS]
            rows.append(row.config + tuple(ids))
        out = np.array(rows, dtype=np.int64)
        if out.shape[1] != RECURRENCE_INTS:
            raise ValueError(f"a recurrence row has {RECURRENCE_INTS} values, received "
                             f"{out.shape[1]}")
        return out

    def add(self, op, buffers, ints=(), floats=(), m=(0, 0), n=(0, 0), k=(0, 0)):
        """Appends a kernel call: ``op`` (a name of ``OPS``) on ``buffers`` (Buffer or None,
        up to 6), with up to 4 integer and 4 float arguments and dimensions m, n, k as
        ``(fixed, per_row)`` pairs (see cpp/include/nnfast/program.h for each op's slots)."""
        self.instructions.append(Instruction(op, tuple(buffers), tuple(ints), tuple(floats),
                                             m, n, k))

    def encode(self):
        """The description as the arrays ``CompiledProgram`` takes (``geometries`` holds the
        conv/pool shape rows)."""
        buffers = np.array([[BUFFER_KINDS[b.kind], b.offset, b.fixed, b.per_row]
                            for b in self.buffers], dtype=np.int64).reshape(-1, 4)
        ints = np.zeros((len(self.instructions), INSTRUCTION_INTS), dtype=np.int64)
        floats = np.zeros((len(self.instructions), 4), dtype=np.float32)
        for i, ins in enumerate(self.instructions):
            ids = [-1 if b is None else b.id for b in ins.buffers]
            ints[i, 0] = OPS[ins.op]
            ints[i, 1:7] = ids + [-1] * (6 - len(ids))
            ints[i, 7:7 + len(ins.ints)] = ins.ints
            ints[i, 11:17] = ins.m + ins.n + ins.k
            floats[i, :len(ins.floats)] = ins.floats
        return buffers, ints, floats


# --- what can be lowered ----------------------------------------------------------------------


def _layer_is_plain(layer):
    """A float32 or mixed_bfloat16 layer without regularizers, constraints or quantization."""
    if layer_precision(layer) is None:
        return False
    return getattr(layer, "activity_regularizer", None) is None and all(
        getattr(layer, attr, None) is None for attr in (
            "kernel_regularizer", "bias_regularizer", "kernel_constraint", "bias_constraint"))


def layer_precision(layer):
    """The precision a lowered layer computes in: "float32", "bfloat16" (a ``mixed_bfloat16``
    layer: float32 variables, autocast inputs, bf16 products, rounded outputs, as
    ``Layer._plan_call`` runs it) or None when the program has no route for its policy.

    Args:
        layer: a layer of the model being lowered.

    Example:
        >>> layer_precision(nnfast.layers.Dense(4, dtype="mixed_bfloat16"))
        'bfloat16'
    """
    policy = getattr(layer, "dtype_policy", None)
    if policy is None:
        return "float32"
    if getattr(policy, "quantization_mode", None):
        return None
    name = getattr(policy, "name", "float32")
    if name == "float32" or (name == "mixed_bfloat16" and
                             not getattr(layer, "_applies_dtype_policy", True)):
        return "float32"
    if name == "mixed_bfloat16" and getattr(layer, "_autocast", True):
        return "bfloat16"
    return None


def _dense_activation(layer):
    """(kind, activation id, alpha) of a Dense layer's activation: kind is "fused" (in the
    GEMM epilogue or after it, as ops.dense runs it), "softmax", "sigmoid" or None."""
    name = activations.fused_name(layer.activation)
    if name is None:
        return None, 0, 0.0
    if name in ("softmax", "sigmoid"):
        return name, ACTIVATION_IDS.get(name, 0), 0.0
    if name == "linear":
        return "fused", 0, 0.0
    if name not in ACTIVATION_IDS:
        return None, 0, 0.0
    return "fused", ACTIVATION_IDS[name], float(DEFAULT_ALPHA.get(name, 0.0))


def _loss_kind(loss_fn):
    """(kind, from_logits) for a loss ``fit`` can lower: kind is "sparse" or "categorical"
    (crossentropy), "binary" (binary crossentropy) or "mse"."""
    if not isinstance(loss_fn, losses_module.LossFunctionWrapper) or \
            type(loss_fn).__call__ is not losses_module.Loss.__call__ or \
            type(loss_fn).call is not losses_module.LossFunctionWrapper.call:
        return None
    if loss_fn.reduction not in ("sum_over_batch_size", "mean", "mean_with_sample_weight") or \
            loss_fn.dtype not in (None, "float32"):
        return None
    kwargs = dict(loss_fn._fn_kwargs)
    from_logits = bool(kwargs.pop("from_logits", False))
    if kwargs.pop("axis", -1) != -1:
        return None
    if loss_fn.fn is losses_module.sparse_categorical_crossentropy:
        if kwargs.pop("ignore_class", None) is not None:
            return None
        kind = "sparse"
    elif loss_fn.fn in (losses_module.categorical_crossentropy,
                        losses_module.binary_crossentropy):
        if kwargs.pop("label_smoothing", 0.0):
            return None
        kind = "categorical" if loss_fn.fn is losses_module.categorical_crossentropy \
            else "binary"
    elif loss_fn.fn is losses_module.mean_squared_error:
        kind = "mse"
    else:
        return None
    return (kind, from_logits) if not kwargs else None


_METRIC_KINDS = {metrics_module.sparse_categorical_accuracy: 0,
                 metrics_module.categorical_accuracy: 1, metrics_module.binary_accuracy: 2}
# The metric kind each loss kind's targets allow.
_METRIC_FOR_LOSS = {"sparse": 0, "categorical": 1, "binary": 2}


def _metric_kind(metric):
    """(kind, threshold) of an accuracy metric the program counts, or None."""
    if not isinstance(metric, metrics_module.MeanMetricWrapper) or \
            type(metric).update_state is not metrics_module.MeanMetricWrapper.update_state or \
            type(metric).result is not metrics_module.Mean.result:
        return None
    kind = _METRIC_KINDS.get(metric._fn)
    kwargs = dict(metric._fn_kwargs)
    threshold = float(kwargs.pop("threshold", 0.5)) if kind == 2 else 0.0
    return None if kind is None or kwargs else (kind, threshold)


def _optimizer_is_plain(opt):
    return (type(opt) in (Adam, RMSprop, SGD) and opt.clipnorm is None and opt.clipvalue is None
            and opt.global_clipnorm is None and not opt.weight_decay and not opt.use_ema
            and not opt.gradient_accumulation_steps and opt.loss_scale_factor is None
            and opt.built)


def steps_per_call(model, cbs):
    """Steps per program call: the model's ``steps_per_execution`` when it is more than 1;
    otherwise ``AUTO_STEPS_PER_EXECUTION`` unless a callback other than the progress bar and
    History reads per-batch hooks (then 1, so each batch gets its hooks)."""
    n = int(getattr(model, "_steps_per_execution", 1) or 1)
    if n > 1:
        return n
    for cb in cbs:
        if isinstance(cb, (ProgbarLogger, History)):
            continue
        if any(_overrides(cb, hook) for hook in ("on_train_batch_begin", "on_train_batch_end")):
            return 1
    return AUTO_STEPS_PER_EXECUTION


def lower_training(model, source, cbs):
    """A ``LoweredTraining`` for ``fit``'s array ``source``, or None when the model or the
    data needs the interpreted path. The model is built, compiled and its optimizer built."""
    if not ENABLED or (sparse_dense.MAX_DENSITY, sparse_dense.MIN_COLUMNS,
                       sparse_dense._SAMPLE_ROWS) != _SPARSE_RULE:
        return None
    from nnfast.models.functional import Functional  # (both model modules import us)
    from nnfast.models.sequential import Sequential  # noqa: PLC0415

    graph = type(model) is Functional
    xs = source.x if graph and isinstance(source.x, (list, tuple)) else [source.x]
    if source.kind != "arrays" or source.sample_weight is not None or \
            any(type(x) is not np.ndarray for x in xs) or type(source.y) is not np.ndarray:
        return None
    sequential = isinstance(model, Sequential) and type(model).call is Sequential.call and \
        type(model).__call__ is Sequential.__call__
    if not (sequential or graph) or getattr(model, "_multi", False) \
            or getattr(model, "_has_penalties", True) or not model.trainable:
        return None
    if not _optimizer_is_plain(model.optimizer):
        return None
    try:
        return LoweredTraining(model, source, steps_per_call(model, cbs))
    except _NotLowerable:
        return None


class _NotLowerable(Exception):
    """Raised while planning when some part of the model needs the interpreted path."""


class LoweredTraining:
    """A compiled model's training step lowered to a program, and the loop that runs it.

    Args:
        model: a compiled, built Sequential model whose optimizer is built.
        source: ``fit``'s array batch source.
        steps: training steps per program call.

    Raises:
        _NotLowerable: when a layer, the loss, a metric or the data needs the interpreted
            path (``lower_training`` turns it into None).

    Example:
        >>> lowered = lower_training(model, source, callbacks)   # None: interpreted
    """

    def __init__(self, model, source, steps):
        self.model = model
        self.steps = max(1, int(steps))
        self.batch_size = int(source.batch_size)
        x, y = source.x, source.y
        self.several_inputs = isinstance(x, (list, tuple))
        xs = list(x) if self.several_inputs else [x]
        if any(a.ndim < 2 or a.dtype.kind not in "biuf" for a in xs) or \
                y.dtype.kind not in "biuf":
            raise _NotLowerable
        self.input_shapes = [tuple(a.shape[1:]) for a in xs]
        self.input_shape = self.input_shapes[0]
        self.input_float32 = xs[0].dtype == np.float32
        self.token_rows = {}  # id(embedding table) -> its recurrence row
        self.token_vocab = self.token_steps = None
        loss = _loss_kind(model._loss_fn)
        if loss is None:
            raise _NotLowerable
        self.loss_kind, from_logits = loss
        if hasattr(model, "_stack"):
            self._plan(model, from_logits, y)
        else:
            self._plan_graph(model, from_logits, y)

    # --- planning ---------------------------------------------------------------------------
    def _plan(self, model, from_logits, y):
        layers = [layer for layer in model._stack if not isinstance(layer, InputLayer)]
        if not layers or type(layers[-1]) is not Dense:
            raise _NotLowerable
        d = ProgramDescription(self.batch_size)
        width = math.prod(self.input_shape)
        fused_pools, recurrences = _fused_steps(model)
        # Token ids in: the first step is an Embedding -> RNN pair run from the table.
        self.token_vocab = None
        if id(layers[0]) in recurrences:
            if len(self.input_shape) != 1:
                raise _NotLowerable
            x = d.buffer("ids", "step_ids", per_row=width)
        else:
            x = d.buffer("x", "step_input", per_row=width)
        opt = model.optimizer
        current, flows, float32 = x, False, self.input_float32
        backward = []  # what each forward node needs to run its backward, in forward order
        self.dropouts = []
        grads = {}  # id(variable) -> its gradient buffer
        y_pred = logits = None
        shape = self.input_shape  # one sample of `current`
        skip = None  # a pool (or recurrent layer) the previous fused op computed
        self._rounded = set()  # ids of buffers holding bf16 values (the tape's RoundTo outputs)
        # Ids of buffers the tape rounds (a bf16 layer's output or a bf16 Flatten's input),
        # rounded only for a next layer that needs the values: a bf16 Dense or unfused Conv2D
        # takes them unrounded (its bf16 GEMM packs x exactly as it packs x's rounded copy).
        self._pending = set()
        self._rounded_gradients = set()  # gradient buffers a bf16 conv rounded in its kernel
        self._rounded_from = {}  # id of a rounded copy -> id of the buffer it copies
        for i, layer in enumerate(layers):
            last = i == len(layers) - 1
            if layer is skip:
                continue
            bf16 = layer_precision(layer) == "bfloat16"
            if bf16 and not self.input_float32:
                raise _NotLowerable  # the tape's autocast skips non-float32 inputs
            if type(layer) is Flatten:
                if layer.data_format == "channels_first" and len(shape) > 1:
                    raise _NotLowerable
                if bf16 and current.id not in self._rounded:
                    self._pending.add(current.id)  # autocast; the flattened view stays rounded
                shape = (width,)
                continue
            takes_unrounded = bf16 and (type(layer) is Dense or (
                type(layer) is Conv2D and id(layer) not in fused_pools))
            if current.id in self._pending and not takes_unrounded:
                current = self._rounded_input(d, layer, current, width)
            if not _layer_is_plain(layer) or not layer.trainable:
                raise _NotLowerable
            if id(layer) in recurrences:
                rnn = recurrences[id(layer)]
                if i != 0 or i + 1 >= len(layers) or layers[i + 1] is not rnn or bf16 or \
                        layer_precision(rnn) != "float32":
                    raise _NotLowerable  # (bf16 recurrences: ops/rnn.py's bf16 route, taped)
                skip = rnn
                current, shape = self._plan_recurrence(d, layer, rnn, current, opt, backward,
                                                       grads)
                width, flows, float32 = shape[0], True, True
                continue
            if type(layer) in (Conv2D, MaxPooling2D):
                pool = fused_pools.get(id(layer))
                if pool is not None:
                    if i + 1 >= len(layers) or layers[i + 1] is not pool or \
                            not _layer_is_plain(pool):
                        raise _NotLowerable
                    skip = pool
                if bf16 and not takes_unrounded:  # autocast (the fused pair rounds it anyway)
                    current = self._rounded_input(d, layer, current, math.prod(shape))
                if type(layer) is Conv2D:
                    current, shape = self._plan_conv(d, layer, pool, current, shape, flows,
                                                     backward, grads, bf16)
                    flows = True
                else:
                    current, shape = self._plan_pool(d, layer, current, shape, flows, backward)
                    if bf16:  # the max of bf16 values is one of them: rounding it changes nothing
                        self._rounded.add(current.id)
                width, float32 = math.prod(shape), True
                continue
            if type(layer) is Dropout:
                current, float32 = self._plan_dropout(d, layer, current, width, flows,
                                                      backward, float32, bf16)
                continue
            if type(layer) is not Dense or not layer.built or len(self.input_shape) < 1:
                raise _NotLowerable
            if layer.kernel.value.shape[0] != width or (len(shape) > 1 and
                                                        shape != self.input_shape):
                raise _NotLowerable  # Dense over a rank > 2 input (a feature map): not lowered
            current, logits, y_pred = self._plan_dense(d, layer, current, float32, flows, last,
                                                       from_logits, backward, grads, bf16)
            width, flows, float32, shape = self.units, True, True, (self.units,)
        self._finish(d, model, opt, grads, logits, y_pred, y, backward,
                     1 if self.token_vocab is not None else math.prod(self.input_shape))

    def _finish(self, d, model, opt, grads, logits, y_pred, y, backward, input_per_row,
                plan_backward=None):
        """Loss, metrics, backward (``plan_backward(d, backward)``, by default the chain's),
        optimizer updates; then compiles the program."""
        self._plan_loss(d, logits, y_pred, y, model)
        last_node = backward[-1]
        if type(last_node) is _GraphNode:
            last_node = last_node.node
        if self.loss_on_logits and getattr(last_node, "separate", None) is not None:
            # The loss read the sigmoid's logits: the sigmoid node gets no gradient.
            last_node.separate = None
        (plan_backward or self._plan_backward)(d, backward)
        self._plan_optimizer(d, model, opt, grads)
        buffers, ints, floats = d.encode()
        self.description = d
        target_per_row = 0 if self.loss_kind == "sparse" else self.units
        tokens = self.token_vocab is not None
        self.program = CompiledProgram(buffers, ints, floats, d.arena_size, self.batch_size,
                                       input_per_row, target_per_row,
                                       self.units if self.loss_kind == "sparse" else 0,
                                       d.geometries or None, d.encode_recurrences(),
                                       self.input_shape[0] if tokens else 0)
        self.losses = np.zeros((self.steps, self.batch_size), dtype=np.float32)
        self.counts = np.zeros((self.steps, max(1, len(self.metrics))), dtype=np.int64)

    def _plan_graph(self, model, from_logits, y):
        """The program of a functional model, from its training plan (``models/plan.py``):
        Dense, Dropout, Concatenate (feature axis) and Add steps over (batch, features)
        tensors, any number of float32 inputs, one output from a last Dense. Every tensor is
        read by one step (a tensor read twice sums gradients: left to the tape)."""
        plan = model._plan
        recurrences = _fused_steps(model)[1]  # another fused step: not lowered
        first = plan.steps[0].merged if plan.steps else ()
        tokens = bool(first) and id(first[0]) in recurrences and \
            len(plan.input_ids) == 1 and plan.steps[0].inputs == plan.input_ids[0]
        if len(plan.output_ids) != 1 or not plan.steps or \
                len(plan.input_ids) != len(self.input_shapes) or \
                (not tokens and any(getattr(t, "dtype", "float32") != "float32"
                                    for t in model.inputs)) or \
                any(len(users) > 1 for users in plan.readers().values()):
            raise _NotLowerable
        d = ProgramDescription(self.batch_size)
        tensors = {}  # tensor id -> _GraphTensor
        offset = 0  # the inputs lie one after another in each step's input block
        for k, (tid, shape) in enumerate(zip(plan.input_ids, self.input_shapes)):
            if len(shape) != 1:
                raise _NotLowerable
            if tokens:  # the ids of a first Embedding -> RNN step
                tensors[tid] = _GraphTensor(d.buffer("ids", "step_ids", per_row=shape[0]),
                                            shape[0], False)
                break
            x = d.buffer(f"x{k}", "step_input", offset=offset, per_row=shape[0])
            tensors[tid] = _GraphTensor(x, shape[0], False)
            offset += shape[0]
        opt = model.optimizer
        self.dropouts, grads, nodes = [], {}, []
        logits = y_pred = None
        for i, step in enumerate(plan.steps):
            layer, last = step.layer, i == len(plan.steps) - 1
            if step.merged and tokens and i == 0:
                emb, rnn = step.merged
                if not isinstance(step.outputs, int) or step.args or step.kwargs or \
                        layer_precision(emb) != "float32" or \
                        layer_precision(rnn) != "float32" or not _layer_is_plain(emb) or \
                        not emb.trainable:
                    raise _NotLowerable
                chain = []
                out, shape = self._plan_recurrence(d, emb, rnn, tensors.pop(step.inputs).buffer,
                                                   opt, chain, grads)
                nodes += [_GraphNode(node, [step.inputs], step.outputs) for node in chain]
                tensors[step.outputs] = _GraphTensor(out, shape[0], True)
                continue
            if not isinstance(step.outputs, int) or step.args or step.kwargs or \
                    step.refs_in_args or not step.runs_own_call() or \
                    layer_precision(layer) != "float32" or not _layer_is_plain(layer) or \
                    not layer.trainable:
                raise _NotLowerable
            ids = step.input_ids()
            if any(t not in tensors for t in ids):
                raise _NotLowerable
            ins = [tensors.pop(t) for t in ids]
            if type(layer) in (Dense, Dropout) and step.single_input:
                t, chain = ins[0], []
                if type(layer) is Dropout:
                    out, _ = self._plan_dropout(d, layer, t.buffer, t.width, t.flows, chain,
                                                True)
                    width, flows = t.width, t.flows
                else:
                    if not layer.built or layer.kernel.value.shape[0] != t.width:
                        raise _NotLowerable
                    # model inputs reach Dense as float32 arrays (Functional converts them)
                    out, logits, y_pred = self._plan_dense(d, layer, t.buffer, True, t.flows,
                                                           last, from_logits, chain, grads)
                    width, flows = self.units, True
                nodes += [_GraphNode(node, ids, step.outputs) for node in chain]
            elif type(layer) in (Add, Concatenate) and len(ins) >= 2 and \
                    not step.single_input:
                out, width, node = self._plan_merge(d, layer, ins)
                flows = any(t.flows for t in ins)
                nodes.append(_GraphNode(node, ids, step.outputs))
            else:
                raise _NotLowerable
            tensors[step.outputs] = _GraphTensor(out, width, flows)
        if type(plan.steps[-1].layer) is not Dense or \
                plan.steps[-1].outputs != plan.output_ids[0]:
            raise _NotLowerable
        self._finish(d, model, opt, grads, logits, y_pred, y, nodes, 1 if tokens else offset,
                     self._plan_graph_backward)

    def _plan_merge(self, d, layer, ins):
        """Forward of an Add (pairwise, as the layer sums) or a Concatenate over the feature
        axis of the _GraphTensors ``ins``; returns (output, its width, its backward node)."""
        widths = [t.width for t in ins]
        if type(layer) is Add:
            if len(set(widths)) != 1:
                raise _NotLowerable  # broadcasting sums: left to the tape
            acc = ins[0].buffer
            for t in ins[1:]:
                out = d.arena(f"{layer.name}/output", per_row=widths[0])
                d.add("add", (acc, t.buffer, out), m=(0, widths[0]))
                acc = out
            return acc, widths[0], _AddNode([t.flows for t in ins])
        if layer.axis not in (-1, 1):
            raise _NotLowerable
        total = sum(widths)
        out = d.arena(f"{layer.name}/output", per_row=total)
        column = 0
        for t in ins:
            d.add("copy_columns", (t.buffer, out), ints=(t.width, total, 0, column),
                  m=(0, 1), n=(t.width, 0))
            column += t.width
        return out, total, _ConcatNode(widths, [t.flows for t in ins])

    def _plan_graph_backward(self, d, nodes):
        """A functional model's backward: the _GraphNodes in reverse, each from its output's
        gradient (the tape's order; every tensor has one reader, so nothing sums)."""
        grads = {nodes[-1].output: self.logits_gradient}
        for graph_node in reversed(nodes):
            g = grads.pop(graph_node.output, None)
            node = graph_node.node
            if g is None:
                continue  # nothing after it had weights... or it feeds nothing trained
            if type(node) is _DenseNode:
                dx = self._plan_dense_backward(d, node, g)
                if dx is not None:
                    grads[graph_node.inputs[0]] = dx
            elif type(node) is _DropoutNode:
                if node.flows:
                    dx = d.arena("dropout/input_gradient", per_row=node.width)
                    d.add("dropout", (g, dx, node.mask), ints=(node.counter, 1, node.seed),
                          floats=(node.rate,), m=(0, node.width))
                    grads[graph_node.inputs[0]] = dx
            elif type(node) is _RecurrenceNode:
                self._plan_recurrence_backward(d, node, g)
            elif type(node) is _AddNode:
                for tid, flows in zip(graph_node.inputs, node.flows):
                    if flows:
                        grads[tid] = g
            else:
                total, column = sum(node.widths), 0
                for tid, width, flows in zip(graph_node.inputs, node.widths, node.flows):
                    if flows:
                        dx = d.arena("concatenate/input_gradient", per_row=width)
                        d.add("copy_columns", (g, dx), ints=(total, width, column, 0),
                              m=(0, 1), n=(width, 0))
                        grads[tid] = dx
                    column += width

    def _plan_dropout(self, d, layer, current, width, flows, backward, float32, bf16=False):
        """Forward of a Dropout layer (``bf16``: a mixed_bfloat16 one, input and output
        rounded as its autocast and precision wrapper round them); returns (output, whether
        it is float32)."""
        if layer.noise_shape is not None or not 0.0 <= layer.rate < 1.0:
            raise _NotLowerable
        if layer.rate == 0.0:
            return current, float32
        if bf16:
            current = self._rounded_input(d, layer, current, width)
        out = d.arena(f"{layer.name}/output", per_row=width)
        counter = len(self.dropouts)
        self.dropouts.append(layer)
        seed = int(layer._stream_seed) & (2**64 - 1)
        seed = seed - 2**64 if seed >= 2**63 else seed  # the same 64 bits, as int64
        # The keep bits (uint8 in arena floats, one bit per element) for the backward; only
        # when a gradient flows back through the layer.
        mask = d.arena(f"{layer.name}/mask", per_row=-(-width // 32), fixed=1) if flows else None
        d.add("dropout", (current, out, mask), ints=(counter, 0, seed), floats=(layer.rate,),
              m=(0, width))
        backward.append(_DropoutNode(counter, seed, layer.rate, width, flows, mask))
        if bf16:  # the output rounded (in place: the backward never reads it)
            d.add("round_to_bfloat16", (out, out), m=(0, width))
            self._rounded.add(out.id)
        return out, True

    def _plan_dense(self, d, layer, current, float32, flows, last, from_logits, backward,
                    grads, bf16=False):
        """Forward of a Dense layer reading ``current`` (rows of ``in_dim`` values) as
        ops.dense runs it; returns (its output as the next layer reads it, and for the last
        layer what the loss and the metrics read, else None twice). Sets ``self.units``.
        ``bf16``: a mixed_bfloat16 layer, its products on ``gemm_bf16``."""
        logits = y_pred = None
        kind, act, alpha = _dense_activation(layer)
        if kind is None or (kind == "softmax" and not last) or (bf16 and kind != "fused"):
            raise _NotLowerable
        in_dim, units = layer.kernel.value.shape
        gemm = "gemm"
        if bf16:  # autocast: gemm_bf16 rounds op(a) and op(b) as RoundTo would
            float32, gemm = True, "gemm_bf16"
        kernel = d.external(f"{layer.name}/kernel", _value_of(layer.kernel), in_dim * units)
        bias = None
        if layer.bias is not None:
            bias = d.external(f"{layer.name}/bias", _value_of(layer.bias), units)
        # NOTE: the interpreted path takes a CSR product when this input is mostly zeros
        # (a float32 array only). A float32 layer's dense_maybe_sparse ops decide the same way
        # on every step and keep the CSR form for the kernel gradient; a bf16 layer's gemm
        # checks the same and hands such a step back.
        sparse_check = int(float32 and in_dim >= _SPARSE_RULE[1])
        csr, forward_op = None, gemm
        if sparse_check and gemm == "gemm":
            fixed, per_row = csr_store_size(in_dim, _SPARSE_RULE[0])
            csr = d.arena(f"{layer.name}/csr", per_row=per_row, fixed=fixed)
            forward_op, sparse_check = "dense_maybe_sparse_forward", 0
        rows = (0, 1)
        z = None
        needs_z = kind == "fused" and act != 0 and activation_needs_input(act, alpha)
        if needs_z:
            z = d.arena(f"{layer.name}/z", per_row=units)
            out = d.arena(f"{layer.name}/output", per_row=units)
            d.add(forward_op, (current, kernel, z, bias, csr), ints=(0, 0, 0, sparse_check),
                  floats=(0.0, _INF, 0.0), m=rows, n=(units, 0), k=(in_dim, 0))
            d.add("activation_forward", (z, out), ints=(act,), floats=(alpha, _INF, 0.0),
                  m=(0, units))
        else:
            out = d.arena(f"{layer.name}/output", per_row=units)
            fused = act if kind == "fused" else 0
            d.add(forward_op, (current, kernel, out, bias, csr), ints=(0, 0, fused, sparse_check),
                  floats=(alpha if fused else 0.0, _INF, 0.0), m=rows, n=(units, 0),
                  k=(in_dim, 0))
        separate = None
        if kind == "softmax":
            logits = out
            y_pred = d.arena(f"{layer.name}/softmax", per_row=units)
            d.add("softmax_forward", (out, y_pred), m=rows, n=(units, 0))
        elif kind == "sigmoid":
            separate = d.arena(f"{layer.name}/sigmoid", per_row=units)
            d.add("activation_forward", (out, separate), ints=(ACTIVATION_IDS["sigmoid"],),
                  floats=(0.0, _INF, 0.0), m=(0, units))
        dk = d.arena(f"{layer.name}/kernel_gradient", fixed=in_dim * units)
        grads[id(layer.kernel)] = dk
        db = None
        if bias is not None:
            db = d.arena(f"{layer.name}/bias_gradient", fixed=units)
            grads[id(layer.bias)] = db
        backward.append(_DenseNode(current, kernel, z, out, separate,
                                   act if kind == "fused" else 0, alpha, in_dim, units, dk,
                                   db, flows, gemm, csr))
        if bf16 and last:  # the output rounded; the backward reads the unrounded one
            out = self._rounded_input(d, layer, out, units)
        elif bf16:
            self._pending.add(out.id)
        self.units = units
        if last:
            self._last_act = act if kind == "fused" else 0
            logits, y_pred = self._plan_output(kind, from_logits, out, separate, y_pred)
        return (separate if separate is not None else out), logits, y_pred

    def _plan_conv(self, d, layer, pool, x, shape, flows, backward, grads, bf16=False):
        """Forward of a Conv2D (relu or linear) or, with ``pool``, of the fused
        Conv2D(relu) -> MaxPooling2D op the training plan runs; returns (output, shape).
        ``bf16``: a mixed_bfloat16 conv as ops/conv_lowp.py (unfused: the bf16 kernels round
        the input they are given) and ops/fused.py (the pair: its input already rounded) run
        it; the output is rounded by the unfused conv's kernel, the pair's where the next layer
        needs it (``_pending``)."""
        if type(layer).call is not BaseConvND.call or not layer.built or \
                layer.data_format != "channels_last" or layer.groups != 1 or len(shape) != 3:
            raise _NotLowerable
        act = {"relu": ACTIVATION_IDS["relu"], "linear": 0}.get(layer._kernel_activation)
        kshape = tuple(layer.kernel.value.shape)
        if act is None or kshape[2] != shape[2] or (pool is not None and act == 0):
            raise _NotLowerable
        strides, dilation = tuple(layer.strides), tuple(layer.dilation_rate)
        out_hw, pads = _geometry2d(shape[:2], kshape[:2], strides, layer.padding, dilation)
        if min(out_hw) <= 0:
            raise _NotLowerable
        out_shape = tuple(out_hw) + (kshape[3],)
        conv = shape + out_shape + kshape[:2] + strides + dilation + tuple(pads) + (1,)
        kernel = d.external(f"{layer.name}/kernel", _value_of(layer.kernel), math.prod(kshape))
        bias = None
        if layer.bias is not None:
            bias = d.external(f"{layer.name}/bias", _value_of(layer.bias), kshape[3])
        dk = d.arena(f"{layer.name}/kernel_gradient", fixed=math.prod(kshape))
        grads[id(layer.kernel)] = dk
        db = None
        if bias is not None:
            db = d.arena(f"{layer.name}/bias_gradient", fixed=kshape[3])
            grads[id(layer.bias)] = db
        in_width = math.prod(shape)
        if pool is None and bf16:
            geometry = d.geometry(conv)
            width = math.prod(out_shape)
            out = d.arena(f"{layer.name}/output", per_row=width)
            # The output rounded in the kernel, as the next layer's autocast would round it
            # (a layer that rounds its input itself gets the same bits); its backward reads
            # only the relu's sign, which rounding keeps.
            d.add("conv2d_forward_bf16", (x, kernel, bias, out), ints=(geometry, act, 1),
                  floats=(0.0, _INF, 0.0), m=(0, 1))
            backward.append(_ConvNode(geometry, x, kernel, out, act, dk, db, flows, in_width,
                                      width, bf16=True))
            self._rounded.add(out.id)
            return out, out_shape
        if pool is None:
            geometry = d.geometry(conv)
            out = d.arena(f"{layer.name}/output", per_row=math.prod(out_shape))
            d.add("conv2d_forward", (x, kernel, bias, out), ints=(geometry, act),
                  floats=(0.0, _INF, 0.0), m=(0, 1))
            backward.append(_ConvNode(geometry, x, kernel, out, act, dk, db, flows, in_width,
                                      math.prod(out_shape)))
            return out, out_shape
        if type(pool).call is not BasePooling.call or pool.padding not in ("valid", "same"):
            raise _NotLowerable
        size = tuple(pool.pool_size)
        pooled = tuple(output_size(n, k, k, 1, pool.padding) for n, k in zip(out_hw, size))
        pool_pads = tuple(_pad_before(n, k, k, 1, pool.padding) for n, k in zip(out_hw, size))
        if min(pooled) <= 0:
            raise _NotLowerable
        geometry = d.geometry(conv, out_shape + pooled + size + size + pool_pads)
        pooled_shape = pooled + (kshape[3],)
        per_row = math.prod(pooled_shape)
        out = d.arena(f"{pool.name}/output", per_row=per_row)
        argidx = d.arena(f"{pool.name}/argmax", per_row=-(-per_row // 4))  # uint8, 4 a float
        if bf16:  # the fp32 fused kernels on rounded operands (ops/fused.py), once per step
            rounded_kernel = d.arena(f"{layer.name}/rounded_kernel", fixed=math.prod(kshape))
            d.add("round_to_bfloat16", (kernel, rounded_kernel), m=(math.prod(kshape), 0))
            kernel = rounded_kernel
        d.add("conv_relu_maxpool_forward", (x, kernel, bias, out, argidx), ints=(geometry,),
              m=(0, 1))
        backward.append(_ConvPoolNode(geometry, x, kernel, out, argidx, dk, db, flows, in_width,
                                      per_row if bf16 else 0))
        if bf16:
            self._pending.add(out.id)  # the output rounded where the next layer needs it
        return out, pooled_shape

    def _rounded_input(self, d, layer, x, width):
        """``x`` (``width`` values a row) as a bf16 layer's autocast sees it: the buffer itself
        when it already holds bf16 values, else a rounded copy (``round_to_bfloat16``)."""
        if x.id in self._rounded:
            return x
        out = d.arena(f"{layer.name}/rounded", per_row=width)
        d.add("round_to_bfloat16", (x, out), m=(0, width))
        self._rounded.add(out.id)
        self._rounded_from[out.id] = x.id
        return out

    def _plan_pool(self, d, layer, x, shape, flows, backward):
        """Forward of a MaxPooling2D; returns (output, shape)."""
        if type(layer).call is not BasePooling.call or layer.data_format != "channels_last" \
                or len(shape) != 3 or layer.padding not in ("valid", "same"):
            raise _NotLowerable
        size, strides = tuple(layer.pool_size), tuple(layer.strides)
        out_hw = tuple(output_size(n, k, s, 1, layer.padding)
                       for n, k, s in zip(shape[:2], size, strides))
        pads = tuple(_pad_before(n, k, s, 1, layer.padding)
                     for n, k, s in zip(shape[:2], size, strides))
        if min(out_hw) <= 0:
            raise _NotLowerable
        geometry = d.geometry(pool=shape + out_hw + size + strides + pads)
        out_shape = out_hw + shape[2:]
        out = d.arena(f"{layer.name}/output", per_row=math.prod(out_shape))
        argmax = d.arena(f"{layer.name}/argmax", per_row=math.prod(out_shape))  # int32
        d.add("max_pool2d_forward", (x, out, argmax), ints=(geometry,), m=(0, 1))
        backward.append(_PoolNode(geometry, argmax, math.prod(shape), flows, x, out,
                                  math.prod(out_shape)))
        return out, out_shape

    def _plan_recurrence(self, d, emb, rnn, ids, opt, backward, grads):
        """Forward of the Embedding -> LSTM/GRU/SimpleRNN step the training plan fuses, as
        ``EmbeddingRecurrenceStep`` runs it in training (``ops.lstm(table, ...,
        input_ids=ids, token_squares=...)``); returns (last output, its shape)."""
        if emb.mask_zero or not emb.built or getattr(emb, "embeddings_regularizer", None) \
                is not None or getattr(emb, "embeddings_constraint", None) is not None:
            raise _NotLowerable
        if type(rnn).call is not _RNNBase.call or not rnn.built or not _layer_is_plain(rnn) \
                or not rnn.trainable or rnn.return_sequences or rnn.return_state \
                or rnn.stateful or rnn.dropout or rnn.recurrent_dropout or \
                getattr(rnn, "recurrent_regularizer", None) is not None or \
                getattr(rnn, "recurrent_constraint", None) is not None or \
                not rnn._fuses_embedding(True, opt):
            raise _NotLowerable
        # the names the layer hands ops.lstm/gru/simple_rnn (SimpleRNN: "sigmoid", unused)
        ract = rnn._ract if type(rnn) is not SimpleRNN else "sigmoid"
        acts = [RNN_ACTIVATION_IDS.get("linear" if name is None else name)
                for name in (rnn._act, ract)]
        if None in acts:
            raise _NotLowerable
        squares = opt._needs_token_rows()  # the per-token rule (Adam, RMSprop): token squares
        if squares and (type(opt) is SGD or (type(opt) is Adam and not opt.beta_2 > 0.0) or
                        (type(opt) is RMSprop and not opt.rho > 0.0)):
            raise _NotLowerable
        table_value = emb.embeddings.value
        vocab, features = table_value.shape
        if vocab > 2**24:
            # ids past 2**24 would round in a float32 model input on the tape path
            raise _NotLowerable
        steps, units, cell = self.input_shape[0], int(rnn.units), rnn._cell
        gates_units = _GATES[cell] * units
        reset_after = bool(rnn.reset_after) if type(rnn) is GRU else True
        if tuple(rnn.kernel.value.shape) != (features, gates_units):
            raise _NotLowerable
        cap = min(vocab, self.batch_size * steps)
        probe = np.zeros((self.batch_size, steps), np.int64)
        ws_size = recurrence_workspace_size(_CELL_IDS[cell], table_value, probe, units,
                                            reset_after)
        b = {"ids": ids}
        b["table"] = d.external(f"{emb.name}/embeddings", _value_of(emb.embeddings),
                                vocab * features)
        b["kernel"] = d.external(f"{rnn.name}/kernel", _value_of(rnn.kernel),
                                 features * gates_units)
        b["recurrent_kernel"] = d.external(f"{rnn.name}/recurrent_kernel",
                                           _value_of(rnn.recurrent_kernel), units * gates_units)
        if rnn.bias is not None:
            b["bias"] = d.external(f"{rnn.name}/bias", _value_of(rnn.bias),
                                   int(rnn.bias.value.size))
        b["h_seq"] = d.arena(f"{rnn.name}/sequence", per_row=steps * units)
        b["h_last"] = d.arena(f"{rnn.name}/last", per_row=units)
        if cell == "lstm":
            b["c_last"] = d.arena(f"{rnn.name}/last_cell", per_row=units)
        b["workspace"] = d.arena(f"{rnn.name}/workspace", fixed=ws_size)
        b["dkernel"] = d.arena(f"{rnn.name}/kernel_gradient", fixed=features * gates_units)
        b["drecurrent_kernel"] = d.arena(f"{rnn.name}/recurrent_kernel_gradient",
                                         fixed=units * gates_units)
        grads[id(rnn.kernel)] = b["dkernel"]
        grads[id(rnn.recurrent_kernel)] = b["drecurrent_kernel"]
        if rnn.bias is not None:
            b["dbias"] = d.arena(f"{rnn.name}/bias_gradient", fixed=int(rnn.bias.value.size))
            grads[id(rnn.bias)] = b["dbias"]
        b["distinct_ids"] = d.arena(f"{emb.name}/distinct_ids", fixed=2 * cap)  # int64
        b["d_rows"] = d.arena(f"{emb.name}/row_gradients", fixed=cap * features)
        if squares:
            b["d_rows_sq"] = d.arena(f"{emb.name}/row_squares", fixed=cap * features)
        config = (_CELL_IDS[cell], steps, features, units, acts[0], acts[1],
                  int(bool(rnn.go_backwards)), int(reset_after), vocab)
        index = d.recurrence(config, b)
        d.add("recurrence_forward", (), ints=(index,))
        # Adam applies its token-row rule without a dense gradient; the others (and AMSGrad)
        # read one.
        dtable = None
        if type(opt) is not Adam or opt.amsgrad:
            dtable = d.arena(f"{emb.name}/embeddings_gradient", fixed=vocab * features)
        grads[id(emb.embeddings)] = dtable
        self.token_rows[id(emb.embeddings)] = index
        self.token_vocab, self.token_steps = vocab, steps
        backward.append(_RecurrenceNode(index, dtable))
        return b["h_last"], (units,)

    def _plan_recurrence_backward(self, d, node, g):
        """Backward of the recurrent layer from the gradient ``g`` of its last output: the
        weights' gradients and the distinct table rows' gradients (ops/rnn.py), then the
        table's dense gradient when the optimizer reads one (``dense_rows_gradient``)."""
        d.recurrences[node.index].buffers["dh_last"] = g
        d.add("recurrence_backward", (), ints=(node.index,))
        if node.dtable is not None:
            d.add("embedding_rows_gradient", (node.dtable,), ints=(node.index,))

    def _plan_output(self, kind, from_logits, out, separate, y_pred):
        """(what the loss reads, what the metrics read) for the last Dense layer, as the
        interpreted losses choose: a softmax/sigmoid output's logits for crossentropy."""
        self.loss_on_logits = False
        self.loss_from_logits = from_logits
        if self.loss_kind in ("sparse", "categorical"):
            if kind == "softmax" and not from_logits:
                return out, y_pred
            if kind == "fused" and from_logits and self._last_act == 0:
                return out, out
            raise _NotLowerable  # crossentropy of probabilities, or logits through softmax
        if self.loss_kind == "binary":
            if kind == "sigmoid" and not from_logits:
                self.loss_on_logits = self.loss_from_logits = True
                return out, separate
            if kind == "fused":
                return out, out
            raise _NotLowerable
        if kind == "softmax":  # mse: through the output's activation
            raise _NotLowerable
        pred = separate if separate is not None else out
        return pred, pred

    def _plan_loss(self, d, logits, y_pred, y, model):
        units, rows = self.units, (0, 1)
        if self.loss_kind == "sparse":
            if y.ndim not in (1, 2) or (y.ndim == 2 and y.shape[1] != 1):
                raise _NotLowerable
            target, labels = None, d.buffer("labels", "step_labels", per_row=1)
        else:
            # Targets as the losses align them: (N,) to an (N, 1) output.
            if y.shape[1:] != (units,) and not (units == 1 and y.ndim == 1):
                raise _NotLowerable
            if self.loss_kind == "categorical" and y.dtype != np.float32:
                raise _NotLowerable  # argmax of the original dtype for categorical_accuracy
            target, labels = d.buffer("targets", "step_target", per_row=units), None
        per_sample = d.arena("loss/per_sample", per_row=1)
        self.loss_gradient = d.arena("loss/gradient", per_row=1)
        self.logits_gradient = d.arena("loss/logits_gradient", per_row=units)
        if self.loss_kind in ("sparse", "categorical"):
            probs = d.arena("loss/probabilities", per_row=units)
            d.add("softmax_cross_entropy_forward", (logits, target, labels, probs, per_sample),
                  m=rows, n=(units, 0))
            backward = ("softmax_cross_entropy_backward",
                        (probs, target, labels, self.loss_gradient, self.logits_gradient), ())
        elif self.loss_kind == "binary":
            eps = float(epsilon())
            d.add("binary_crossentropy_forward", (logits, target, per_sample),
                  ints=(int(self.loss_from_logits),), floats=(eps,), m=rows, n=(units, 0))
            backward = ("binary_crossentropy_backward",
                        (logits, target, self.loss_gradient, self.logits_gradient),
                        (int(self.loss_from_logits),), (eps,))
        else:
            d.add("mean_squared_error_forward", (logits, target, per_sample), m=rows,
                  n=(units, 0))
            backward = ("mean_squared_error_backward",
                        (logits, target, self.loss_gradient, self.logits_gradient), ())
        d.add("record_loss", (per_sample,), m=rows)
        # Metrics: the compiled ones, built now from the shapes as the first update builds them.
        self.metrics = []
        if model._compile_metrics_container is not None:
            if model._compiled_metrics is None:
                model._build_metrics(y[:1], np.zeros((1, units), dtype=np.float32))
            for column, (metric, _weighted, _output) in enumerate(model._compiled_metrics):
                found = _metric_kind(metric)
                if found is None or found[0] != _METRIC_FOR_LOSS.get(self.loss_kind) or \
                        (found[0] == 2 and (units != 1 or y.dtype.kind == "f"
                                            and y.dtype != np.float32)):
                    raise _NotLowerable
                kind, threshold = found
                self.metrics.append(metric)
                truth = (target, labels) if kind == 0 else (target, None)
                d.add("count_correct", (y_pred,) + truth, ints=(kind, column),
                      floats=(threshold,), m=rows, n=(units, 0))
        # Backward of the mean and the loss: the tape's order.
        d.add("mean_gradient", (self.loss_gradient,), m=rows)
        op, buffers, ints = backward[:3]
        d.add(op, buffers, ints=ints, floats=backward[3] if len(backward) > 3 else (), m=rows,
              n=(units, 0))

    def _plan_backward(self, d, backward):
        """The chain's backward: each node's from the last one's input gradient."""
        g = self.logits_gradient
        masked = False  # g already carries the relu mask of the conv it flows into
        nodes = backward[::-1]
        for i, node in enumerate(nodes):
            if type(node) is _DropoutNode:
                if not node.flows:
                    break  # nothing before it has weights: the tape stops here too
                dx = d.arena("dropout/input_gradient", per_row=node.width)
                d.add("dropout", (g, dx, node.mask), ints=(node.counter, 1, node.seed),
                      floats=(node.rate,), m=(0, node.width))
                g = dx
                continue
            if type(node) is _PoolNode and _pool_after_relu_conv(node, nodes[i + 1:i + 2],
                                                                self._rounded_from):
                g, masked = self._plan_pool_relu_backward(d, node, g), True
                continue
            if type(node) in (_ConvNode, _ConvPoolNode, _PoolNode):
                # A bf16 conv whose input gradient a bf16 conv-pool pair reads rounds it in
                # its kernel (the pair's RoundGradient, same bits).
                round_dx = type(node) is _ConvNode and node.bf16 and i + 1 < len(nodes) and \
                    type(nodes[i + 1]) is _ConvPoolNode and bool(nodes[i + 1].bf16_width)
                g, masked = self._plan_conv_backward(d, node, g, masked, round_dx), False
                if g is None:
                    break
                continue
            if type(node) is _RecurrenceNode:
                self._plan_recurrence_backward(d, node, g)
                break  # the first layer: the ids get no gradient
            g = self._plan_dense_backward(d, node, g)
            if g is None:
                break

    def _plan_dense_backward(self, d, node, g):
        """Backward of a Dense node (ops/nn.py Dense.backward, and the separate sigmoid's
        before it) from its output's gradient ``g``; returns the input's gradient, or None
        when nothing before the node needs one."""
        rows = (0, 1)
        x, kernel, z, out, separate = node.x, node.kernel, node.z, node.out, node.separate
        act, alpha, in_dim, units = node.act, node.alpha, node.in_dim, node.units
        dk, db, flows, gemm = node.dk, node.db, node.flows, node.gemm
        if separate is not None:  # a sigmoid after the GEMM, its own tape node
            dz = d.arena("sigmoid/input_gradient", per_row=units)
            d.add("activation_backward", (None, separate, g, dz),
                  ints=(ACTIVATION_IDS["sigmoid"],), floats=(0.0, _INF, 0.0), m=(0, units))
            g = dz
        if act != 0:
            dz = d.arena("dense/activation_gradient", per_row=units)
            d.add("activation_backward", (z, out, g, dz), ints=(act,),
                  floats=(alpha, _INF, 0.0), m=(0, units))
            g = dz
        dx = None
        if flows:
            dx = d.arena("dense/input_gradient", per_row=in_dim)
            d.add(gemm, (g, kernel, dx, None), ints=(0, 1, 0, 0), floats=(0.0, _INF, 0.0),
                  m=rows, n=(in_dim, 0), k=(units, 0))
        if node.csr is not None:  # csr_matmul_t when the forward ran sparse, else the GEMM
            d.add("dense_maybe_sparse_backward_weights", (x, g, dk, None, node.csr),
                  m=rows, n=(units, 0), k=(in_dim, 0))
        else:
            d.add(gemm, (x, g, dk, None), ints=(1, 0, 0, 0), floats=(0.0, _INF, 0.0),
                  m=(in_dim, 0), n=(units, 0), k=rows)
        if db is not None:
            d.add("sum_over_rows", (g, db), m=rows, n=(units, 0))
        return dx

    def _plan_pool_relu_backward(self, d, node, g):
        """Backward of a MaxPooling2D after a relu Conv2D, with the conv's relu mask applied
        to the pooled gradient inside the scatter (max_pool2d_backward's relu_y slot): a
        pooled value is its argmax's conv output, so ``pooled > 0`` is the mask at every
        position the scatter writes, read from the pooled maps (1/4 of the conv output at
        2x2), in one pass. The input gradient is the tape's
        ``relu_backward(max_pool_backward(g))`` bit for bit (both pick g or +0 per position,
        and overlapping windows sum the same terms in the same order)."""
        rows = (0, 1)
        dx = d.arena("pool/input_gradient", per_row=node.in_width)
        d.add("max_pool2d_backward", (g, node.argmax, dx, node.out), ints=(node.geometry,),
              m=rows)
        return dx

    def _plan_conv_backward(self, d, node, g, masked=False, round_dx=False):
        """Backward of a conv, fused conv-pool or pool node as the tape runs it (see
        ops/conv.py Conv2D, ops/fused.py Conv2DReluMaxPool, ops/pool.py Pool2D); returns the
        input's gradient, or None when nothing before the node needs one. ``masked``: ``g``
        already carries a relu conv's mask (``_plan_pool_relu_backward``); ``round_dx``: a bf16
        conv's input gradient comes out rounded to bf16."""
        rows = (0, 1)
        if type(node) is _PoolNode:
            if not node.flows:
                return None
            dx = d.arena("pool/input_gradient", per_row=node.in_width)
            d.add("max_pool2d_backward", (g, node.argmax, dx), ints=(node.geometry,), m=rows)
            return dx
        if type(node) is _ConvPoolNode:
            if node.bf16_width and g.id not in self._rounded_gradients:
                # RoundGradient: the fused op's gradient in bf16
                rounded = d.arena("conv_pool/rounded_gradient", per_row=node.bf16_width)
                d.add("round_to_bfloat16", (g, rounded), m=(0, node.bf16_width))
                g = rounded
            dx = None
            if node.flows:
                dx = d.arena("conv_pool/input_gradient", per_row=node.in_width)
                d.add("conv_relu_maxpool_backward_data",
                      (g, node.out, node.argidx, node.kernel, dx), ints=(node.geometry,), m=rows)
            d.add("conv_relu_maxpool_backward_weights",
                  (node.x, g, node.out, node.argidx, node.dk, node.db), ints=(node.geometry,),
                  m=rows)
            return dx
        geometry, x, kernel, out, act = node.geometry, node.x, node.kernel, node.out, node.act
        dk, db, flows, in_width, out_width = node.dk, node.db, node.flows, node.in_width, \
            node.out_width
        if node.bf16:
            return self._plan_conv_bf16_backward(d, node, g, masked, round_dx)
        if act != 0 and not flows:
            # A first layer: the relu mask is applied inside the weight-gradient kernel.
            d.add("conv2d_backward_weights", (x, g, dk, db, out), ints=(geometry,), m=rows)
            return None
        if act != 0 and not masked:
            dz = d.arena("conv/activation_gradient", per_row=out_width)
            d.add("relu_backward_from_output", (out, g, dz), m=rows, n=(0, out_width))
            g = dz
        dx = None
        if flows:
            dx = d.arena("conv/input_gradient", per_row=in_width)
            d.add("conv2d_backward_data", (g, kernel, dx), ints=(geometry,), m=rows)
        d.add("conv2d_backward_weights", (x, g, dk, db), ints=(geometry,), m=rows)
        return dx

    def _plan_conv_bf16_backward(self, d, node, g, masked=False, round_dx=False):
        """Backward of a mixed_bfloat16 Conv2D as ops/conv_lowp.py's Conv2DLowPrecision runs
        it: the activation's gradient rounded to bf16, then the bf16 convolutions. The
        convolutions round their operands themselves (the bias gradient too sums the rounded
        values), so the gradient goes to them unrounded: the bits of the tape's rounded copy.
        ``masked``: ``g`` already carries the relu mask (``_plan_pool_relu_backward``)."""
        rows = (0, 1)
        geometry, x, kernel, out, act = node.geometry, node.x, node.kernel, node.out, node.act
        dk, db, flows, in_width, out_width = node.dk, node.db, node.flows, node.in_width, \
            node.out_width
        dz = g
        if act != 0 and not masked:
            dz = d.arena("conv/activation_gradient", per_row=out_width)
            d.add("relu_backward_from_output", (out, g, dz), m=rows, n=(0, out_width))
        dx = None
        if flows:
            dx = d.arena("conv/input_gradient", per_row=in_width)
            d.add("conv2d_backward_data_bf16", (dz, kernel, dx), ints=(geometry, int(round_dx)),
                  m=rows)
            if round_dx:
                self._rounded_gradients.add(dx.id)
        d.add("conv2d_backward_weights_bf16", (x, dz, dk, db), ints=(geometry,), m=rows)
        return dx

    def _plan_optimizer(self, d, model, opt, grads):
        variables = model.trainable_weights
        if len(variables) != len(grads) or any(id(v) not in grads for v in variables):
            raise _NotLowerable
        if self.token_rows and any(getattr(v, "constraint", None) is not None
                                   for v in variables):
            raise _NotLowerable
        for v in variables:
            if id(v) not in opt._index:
                raise _NotLowerable
            index = opt._index[id(v)]
            n = int(v.value.size)
            w = d.external(v.path if hasattr(v, "path") else "variable", _value_of(v), n)
            g = grads[id(v)]

            def slot(name, index=index, n=n):
                return d.external(name, lambda: opt._slots[name][index], n)

            recurrence = self.token_rows.get(id(v))
            if recurrence is not None and type(opt) is Adam and not opt.amsgrad:
                # Keras's rule for a row-sliced gradient, from the rows (Adam._update_token_rows)
                d.add("adam_update_token_rows", (w, slot("momentum"), slot("velocity")),
                      ints=(recurrence,), floats=(opt.beta_1, opt.beta_2, opt.epsilon))
                continue
            if recurrence is not None and type(opt) in (Adam, RMSprop):
                # its velocity rows take the per-token squares (optimizer.decayed_square_rows)
                rho = opt.beta_2 if type(opt) is Adam else opt.rho
                factor = float(np.float32((1.0 - rho) / rho))
                d.add("embedding_shift_square_rows", (slot("velocity"),), ints=(recurrence,),
                      floats=(factor,))
            if type(opt) is Adam:
                vhat = slot("velocity_hat") if opt.amsgrad else None
                d.add("adam_update", (w, g, slot("momentum"), slot("velocity"), vhat),
                      floats=(opt.beta_1, opt.beta_2, opt.epsilon), m=(n, 0))
            elif type(opt) is RMSprop:
                mom = slot("momentum") if opt.momentum > 0 else None
                avg = slot("average_gradient") if opt.centered else None
                d.add("rmsprop_update", (w, g, slot("velocity"), mom, avg),
                      floats=(opt.rho, opt.momentum, opt.epsilon), m=(n, 0))
            else:
                mom = slot("momentum") if opt.momentum != 0 else None
                d.add("sgd_update", (w, g, mom), ints=(int(opt.nesterov),),
                      floats=(opt.momentum,), m=(n, 0))

    # --- running ----------------------------------------------------------------------------
    def run(self, batches, source=None):
        """Runs one training step per ``(x, y)`` batch; returns how many ran (the rest, from
        the first step a gemm marked with the sparse check hands back, are the caller's: a
        bf16 Dense whose input turns sparse; float32 Dense layers take their CSR product in
        the program). Updates the weights, optimizer, dropout streams, loss and metrics. With
        ``source`` (the float32 C-contiguous training inputs) each ``x`` is an int64 array of
        row indices into it and the program gathers the batch."""
        model, opt = self.model, self.model.optimizer
        inputs, ys = [], []
        for xb, yb in batches:
            if self.several_inputs:
                if len(xb) != len(self.input_shapes) or any(
                        a.shape[1:] != shape for a, shape in zip(xb, self.input_shapes)) or \
                        len(xb[0]) > self.batch_size or not len(xb[0]) or \
                        any(len(a) != len(xb[0]) for a in xb):
                    break
                # one block per step: each input's rows, one input after another
                inputs.append(np.concatenate([np.ascontiguousarray(a, dtype=np.float32).ravel()
                                              for a in xb]))
                ys.append(yb)
                continue
            if source is None and xb.shape[1:] != self.input_shape or \
                    len(xb) > self.batch_size or not len(xb):
                break
            if self.token_vocab is not None:
                ids = self._token_ids(xb)
                if ids is None:
                    break  # the interpreted step runs it (or raises what it raises)
                inputs.append(ids)
            else:
                inputs.append(xb if source is not None else
                              np.ascontiguousarray(xb, dtype=np.float32))
            ys.append(yb)
        n = len(inputs)
        if not n:
            return 0
        y = ys[0] if n == 1 else np.concatenate(ys)
        targets = labels = None
        if self.loss_kind == "sparse":
            # As the loss sees them: float32 targets, checked and made class ids. A bad label
            # hands the steps back: the interpreted steps train up to it and raise there.
            try:
                labels = _labels(np.asarray(y, dtype=np.float32), self.units)
            except ValueError:
                return 0
        else:
            targets = np.ascontiguousarray(y, dtype=np.float32)
        externals = [get() for get in self.description.externals]
        first = opt._iterations + 1
        rates = np.empty(n, dtype=np.float32)
        if callable(opt._learning_rate) or opt._keras2_decay:
            base = opt._iterations
            try:
                for s in range(n):
                    opt._iterations = base + s
                    rates[s] = opt._step_learning_rate()
            finally:
                opt._iterations = base
        else:
            rates.fill(opt._step_learning_rate())
        counters = np.array([layer._offset for layer in self.dropouts] or [0], dtype=np.int64)
        GOVERNOR.check()  # fewer threads while other processes hold the cores
        done = self.program.run(inputs, targets, labels, externals, rates, first, counters,
                                self.losses[:n], self.counts[:n], source)
        for layer, offset in zip(self.dropouts, counters):
            layer._offset = int(offset)
        opt._iterations += done
        tracker = model._loss_tracker
        for s in range(done):
            rows = len(ys[s])
            # The loss as the interpreted path logs it: Mean's float32 sum over the batch.
            loss = float(np.add.reduce(self.losses[s, :rows]) / rows)
            tracker.total += loss * rows
            tracker.count += rows
            for column, metric in enumerate(self.metrics):
                metric.total += float(self.counts[s, column])
                metric.count += rows
        return done

    def _token_ids(self, xb):
        """A batch's token ids as int64 when the interpreted step would run the recurrence
        from the table with them (``EmbeddingRecurrenceStep``), else None."""
        try:
            ids = embedding_ids(xb)
        except (TypeError, ValueError):
            return None
        if not embedded_input_pays(len(ids), self.token_steps, self.token_vocab) or \
                (ids.size and (ids.min() < 0 or ids.max() >= self.token_vocab)):
            return None
        return ids

    def train_epoch(self, source, rng, cbs, batch_logs, variables):
        """One epoch of ``fit`` over its array ``source`` (shuffled by ``rng``): ``steps``
        batches per program call, callbacks' batch hooks once per call (first and last step
        index), interpreted steps where the program hands a step back. Float32 C-contiguous
        inputs are gathered by the program itself (the same rows as ``source.epoch``)."""
        model = self.model
        rows = _gather_source(source) if self.token_vocab is None else None
        if rows is None:
            it = iter(source.epoch(rng))
        else:
            it = _row_batches(source, rng)
        step = 0
        while True:
            chunk = []
            for xb, yb, _ in it:
                chunk.append((xb, yb))
                if len(chunk) == self.steps:
                    break
            if not chunk:
                return
            cbs.on_train_batch_begin(step)
            pending, stay_interpreted = chunk, False
            while pending:
                done = 0 if stay_interpreted else self.run(pending, rows)
                if done >= len(pending):
                    break
                # Handed back: that step runs interpreted and the program takes the rest again,
                # unless it handed back its first step again (the input stays sparse: each try
                # would redo a forward pass), then the chunk's other steps run interpreted.
                stay_interpreted = stay_interpreted or (done == 0 and pending is not chunk)
                xb, yb = pending[done]
                if rows is not None:
                    xb = take(rows, xb)
                GOVERNOR.check()
                loss, y_pred = model._train_step(xb, yb, None, variables)
                model._record_step(loss, len(xb), yb, y_pred, None)
                pending = pending[done + 1:]
            step += len(chunk)
            cbs.on_train_batch_end(step - 1, model._logs() if batch_logs else None)
            if model.stop_training or len(chunk) < self.steps:
                return


def _gather_source(source):
    """The training inputs when the program can gather batches from them (a float32
    C-contiguous array: the rows it copies are the batches ``source.epoch`` would make),
    else None."""
    x = source.x
    if type(x) is np.ndarray and x.dtype == np.float32 and x.flags.c_contiguous and \
            source.sample_weight is None and source.steps is not None:
        return x
    return None


def _row_batches(source, rng):
    """``source.epoch(rng)`` with each batch's inputs as int64 row indices (the same batches,
    the same draws from ``rng``)."""
    for step, idx in enumerate(batch_slices(source.n, source.batch_size, source.shuffle, rng)):
        if step >= source.steps:
            break
        rows = np.arange(idx.start, idx.stop) if type(idx) is slice else idx
        yield np.ascontiguousarray(rows, dtype=np.int64), take(source.y, idx), None


def _fused_steps(model):
    """(id(conv) -> pool, id(embedding) -> recurrent layer) for each Conv2D -> MaxPooling2D
    and Embedding -> LSTM/GRU/SimpleRNN pair the training plan fuses (the program then runs
    the same fused kernels)."""
    plan = getattr(model, "_plan", None)
    pairs, recurrences = {}, {}
    for step in getattr(plan, "steps", ()):
        merged = getattr(step, "merged", ())
        if len(merged) == 2 and type(merged[0]) is Conv2D and type(merged[1]) is MaxPooling2D:
            pairs[id(merged[0])] = merged[1]
        elif len(merged) == 2 and type(merged[0]) is Embedding and \
                type(merged[1]) in (LSTM, GRU, SimpleRNN):
            recurrences[id(merged[0])] = merged[1]
        elif merged:
            raise _NotLowerable  # a fused step the program does not run
    return pairs, recurrences


def _value_of(variable):
    return lambda: variable.value
