"""What ``fit``/``evaluate``/``predict`` do under ``DataParallel``.

Every rank holds the global batch (the same shuffle on every rank) and computes rows
``shard_bounds(n, W, rank)`` of it. A training step:

1. forward and backward on the rank's rows (loss = mean over those rows);
2. one flat float32 buffer per rank: ``rows * gradient`` of every trainable variable,
   ``rows * value`` of every non-trainable float variable (BatchNormalization's moving
   statistics), then ``rows``, ``rows * loss`` and the per-output loss trackers' increments;
3. one ``allreduce_sum`` of that buffer (rank order), divided by the summed ``rows``: the
   gradient of the global batch's mean loss, whatever the split (uneven or a short last
   batch), identical on every rank;
4. the optimizer's update, the same on every rank; the outputs of all ranks gathered in
   rank order, so the compiled metrics are updated with the global batch on every rank and
   every rank logs the same numbers.

``evaluate`` and ``predict`` compute each rank's rows and gather the outputs in order.
The trainer calls ``train_step``/``test_step``/``predict_step`` here instead of its own.
"""
import contextlib

import numpy as np

from nnfast import callbacks as cb
from nnfast.backend.tape import GradientTape
from nnfast.backend.tensor import Tensor
from nnfast.distribution import api
from nnfast.distribution.shard import computing_rows, reducing_across_ranks
from nnfast.layers.layer import Layer
from nnfast.models import data_adapter as da


def active(model):
    """The ``DataParallel`` that ``model`` trains under, or None (no distribution, or one
    rank: then the trainer's own loop runs, unchanged)."""
    dist = getattr(model, "_strategy_distribution", None) or api.distribution()
    if dist is None or not isinstance(dist, api.DataParallel) or dist.num_replicas == 1:
        return None
    return dist


def shard_bounds(n, world_size, rank):
    """Rows ``[start, stop)`` of an ``n``-row batch that ``rank`` of ``world_size`` computes:
    consecutive blocks, the first ``n % world_size`` ranks one row longer."""
    base, extra = divmod(int(n), int(world_size))
    start = rank * base + min(rank, extra)
    return start, start + base + (1 if rank < extra else 0)


def _take_rows(data, start, stop):
    if data is None:
        return None
    if isinstance(data, list):
        return [_take_rows(v, start, stop) for v in data]
    if isinstance(data, dict):
        return {k: _take_rows(v, start, stop) for k, v in data.items()}
    return data[start:stop]


def _all_layers(model):
    seen, out, stack = set(), [], [model]
    while stack:
        layer = stack.pop()
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        out.append(layer)
        stack.extend(getattr(layer, "_layers", ()))
    return out


def _generators(model):
    """The NumPy Generators of the model's random layers, layers held inside other layers
    (in attributes, lists or dicts: RandAugment's operations, a color jitter's parts)
    included, in a fixed order."""
    found, seen, stack = [], set(), list(reversed(_all_layers(model)))
    while stack:
        layer = stack.pop()
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        rng = getattr(layer, "_rng", None)
        if isinstance(rng, np.random.Generator):
            found.append(rng)
        inner = []
        for value in vars(layer).values():
            items = value.values() if isinstance(value, dict) else \
                value if isinstance(value, (list, tuple)) else (value,)
            inner.extend(v for v in items if isinstance(v, Layer))
        stack.extend(reversed(inner))
    return found


def _synced_variables(model):
    """Non-trainable float variables (moving statistics) that a training step may change:
    averaged over the ranks after each step, weighted by rows."""
    return [v for v in model.non_trainable_weights
            if not v.trainable and np.issubdtype(v.value.dtype, np.floating)]


def _outputs_numpy(y_pred):
    if isinstance(y_pred, (list, tuple)):
        return [_outputs_numpy(p) for p in y_pred]
    if isinstance(y_pred, dict):
        return {k: _outputs_numpy(v) for k, v in y_pred.items()}
    return y_pred.value if isinstance(y_pred, Tensor) else np.asarray(y_pred)


def _concat_rows(parts):
    """The per-rank outputs (None for a rank with no rows) joined in rank order."""
    parts = [p for p in parts if p is not None]
    first = parts[0]
    if isinstance(first, dict):
        return {k: _concat_rows([p[k] for p in parts]) for k in first}
    if isinstance(first, list):
        return [_concat_rows([p[i] for p in parts]) for i in range(len(first))]
    return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)


class _StepState:
    """What one emulated rank must not leak into the next: the moving statistics, the
    dropout streams' offsets and the per-output loss trackers (only the in-process
    emulation computes several ranks in one process)."""

    def __init__(self, model, synced, trackers):
        self.values = [v.value.copy() for v in synced]
        # Counter-based random streams (Dropout, recurrent and attention dropout, cells).
        self.offsets = [(layer, name, getattr(layer, name)) for layer in _all_layers(model)
                        for name in ("_offset", "_seed_offset")
                        if isinstance(getattr(layer, name, None), int)]
        self.trackers = [(t.total, t.count) for t in trackers]
        # NumPy-Generator streams (Gaussian noise, augmentation): every MPI rank starts the
        # step from the same state, so every emulated rank does too.
        self.generators = [(g, g.bit_generator.state) for g in _generators(model)]

    def restore(self, synced, trackers):
        for v, value in zip(synced, self.values):
            np.copyto(v.value, value)
        for layer, name, offset in self.offsets:
            setattr(layer, name, offset)
        for generator, state in self.generators:
            generator.bit_generator.state = state
        for t, (total, count) in zip(trackers, self.trackers):
            t.total, t.count = total, count


def sync_start(dist, model, rng=None):
    """Rank 0's weights, optimizer state, shuffling stream and resume epoch on every rank
    (called at the start of ``fit``, after ``BackupAndRestore`` restored rank 0)."""
    comm = dist.communicator
    optimizer = getattr(model, "optimizer", None)
    state = None
    if comm.rank == 0:
        state = {"weights": model.get_weights(),
                 "optimizer": optimizer.get_weights() if optimizer is not None
                 and optimizer.built else None,
                 "rng": None if rng is None else rng.bit_generator.state,
                 # unseeded random layers: rank 0's streams, so every rank draws alike
                 "generators": [g.bit_generator.state for g in _generators(model)],
                 "initial_epoch": getattr(model, "_initial_epoch", None)}
    state = comm.bcast(state, root=0)
    if comm.rank != 0:
        model.set_weights(state["weights"])
        if state["optimizer"] is not None:
            optimizer.set_weights(state["optimizer"])
        if rng is not None and state["rng"] is not None:
            rng.bit_generator.state = state["rng"]
        for generator, generator_state in zip(_generators(model), state["generators"]):
            generator.bit_generator.state = generator_state
        model._initial_epoch = state["initial_epoch"]


def chief_callbacks(dist, callbacks):
    """The callbacks this rank runs: all on rank 0; elsewhere all but those that print or
    write files (progress bar, ModelCheckpoint, BackupAndRestore, CSVLogger, TensorBoard).
    Callbacks that decide (EarlyStopping, ReduceLROnPlateau) run everywhere and see the same
    logs, so they decide alike."""
    if dist.communicator.is_chief:
        return callbacks

    writers = (cb.ProgbarLogger, cb.ModelCheckpoint, cb.BackupAndRestore, cb.CSVLogger,
               cb.TensorBoard)
    return [c for c in (callbacks or []) if not isinstance(c, writers)]


class _Layout:
    """Offsets of the gradients, synced variables and counters in the flat buffer, and one
    buffer per local rank, kept from step to step."""

    def __init__(self, variables, synced, trackers, local_count):
        self.synced, self.trackers_list = synced, trackers
        n_trackers = len(trackers)
        self.grad_slices, pos = [], 0
        for v in variables:
            self.grad_slices.append((slice(pos, pos + v.value.size), v.value.shape))
            pos += v.value.size
        self.sync_slices = []
        for v in synced:
            self.sync_slices.append((slice(pos, pos + v.value.size), v.value.shape))
            pos += v.value.size
        self.rows, self.loss = pos, pos + 1
        self.trackers = pos + 2
        self.size = pos + 2 + 2 * n_trackers
        self.buffers = [np.zeros(self.size, np.float32) for _ in range(local_count)]


def _layout(dist, model, variables):
    """The step's buffer layout, rebuilt only when the model, its trainable variables or its
    loss trackers change."""
    trackers = list(getattr(model, "_output_loss_trackers", ()))
    key = (id(model), tuple(map(id, variables)), tuple(map(id, trackers)))
    cached = dist._step_layout
    if cached is not None and cached[0] == key:
        return cached[1]
    synchronized = [layer for layer in _all_layers(model)
                    if getattr(layer, "synchronized", False) and layer.trainable]
    if synchronized and len(dist.communicator.local_ranks) > 1:
        raise NotImplementedError(
            f"BatchNormalization(synchronized=True) under the in-process emulation of "
            f"{dist.communicator.size} ranks (layer '{synchronized[0].name}'): its ranks run "
            "one after another, so one rank's forward cannot wait for the others' batch "
            "moments. Run the ranks as MPI processes (mpirun) or use synchronized=False.")
    layout = _Layout(variables, _synced_variables(model), trackers,
                     len(dist.communicator.local_ranks))
    layout.synchronized_bn = bool(synchronized)
    dist._step_layout = (key, layout)
    return layout


@contextlib.contextmanager
def _cross_rank(comm, layout, contributes=True):
    """Synchronized batch norm's cross-rank sum for one MPI rank's step (yields whether one
    is set: only when the model has synchronized layers, and not under the in-process
    emulation, where ``_layout`` refuses them)."""
    if not layout.synchronized_bn or len(comm.local_ranks) != 1:
        yield False
        return

    def allreduce_sum(values):
        return comm.allreduce_sum([np.ascontiguousarray(values, np.float32)])

    with reducing_across_ranks(allreduce_sum, contributes):
        yield True


def train_step(dist, model, x, y, sample_weight, variables):
    """One data-parallel training step on the global batch ``(x, y, sample_weight)``.

    Returns:
        ``(loss, y_pred)``: the global batch's mean loss and every rank's outputs in rank
        order (None when the model has no compiled metrics to feed).
    """
    comm = dist.communicator
    watchdog = dist.watchdog()
    if watchdog is not None:
        watchdog.arm()
    n = da.num_samples(x)
    layout = _layout(dist, model, variables)
    synced, trackers = layout.synced, layout.trackers_list
    base_trackers = [(t.total, t.count) for t in trackers]
    local = comm.local_ranks
    saved = _StepState(model, synced, trackers) if len(local) > 1 else None
    want_outputs = model._compile_metrics_container is not None
    buffers, outputs, missing = [], [], None
    for rank, buf in zip(local, layout.buffers):
        start, stop = shard_bounds(n, comm.size, rank)
        rows = stop - start
        if saved is not None:
            saved.restore(synced, trackers)
        outputs.append(None)
        buffers.append(buf)
        if not rows:
            buf.fill(0.0)
            # A rank without rows (fewer rows than ranks) still advances its random streams
            # as the others do, on one row whose results are dropped; with synchronized
            # batch norm it also runs the backward (adding zeros to the collectives).
            with computing_rows(0, n), _cross_rank(comm, layout, False) as synced_bn:
                if synced_bn:
                    with GradientTape() as tape:
                        _, loss = model._call_and_loss(_take_rows(x, 0, 1), _take_rows(y, 0, 1),
                                                       _take_rows(sample_weight, 0, 1), True)
                    tape.gradient(loss, variables)
                else:
                    model(_take_rows(x, 0, 1), training=True)
            continue
        scale = np.float32(rows)
        xs, ys = _take_rows(x, start, stop), _take_rows(y, start, stop)
        sws = _take_rows(sample_weight, start, stop)
        with computing_rows(start, n), _cross_rank(comm, layout):
            with GradientTape() as tape:
                y_pred, loss = model._call_and_loss(xs, ys, sws, True)
            grads = tape.gradient(loss, variables)
        missing = [g is None for g in grads]
        for (where, _), g in zip(layout.grad_slices, grads):
            if g is None:
                buf[where] = 0.0
            else:
                np.multiply(np.ravel(g.value if isinstance(g, Tensor) else g), scale,
                            out=buf[where])
        for (where, _), v in zip(layout.sync_slices, synced):
            np.multiply(v.value.ravel(), scale, out=buf[where])
        buf[layout.rows] = rows
        buf[layout.loss] = float(loss.value) * rows
        for i, (t, (total, count)) in enumerate(zip(trackers, base_trackers)):
            buf[layout.trackers + 2 * i] = t.total - total
            buf[layout.trackers + 2 * i + 1] = t.count - count
        if want_outputs:
            outputs[-1] = _outputs_numpy(y_pred)
    total = comm.allreduce_sum(buffers)
    global_rows = total[layout.rows]
    for (where, _), v in zip(layout.sync_slices, synced):
        np.divide(total[where], global_rows, out=v.value.reshape(-1), casting="unsafe")
    for i, (t, (base_total, base_count)) in enumerate(zip(trackers, base_trackers)):
        t.total = base_total + float(total[layout.trackers + 2 * i])
        t.count = base_count + float(total[layout.trackers + 2 * i + 1])
    grads = [None if missing is not None and missing[i] else
             (total[where] / global_rows).reshape(shape)
             for i, (where, shape) in enumerate(layout.grad_slices)]
    model.optimizer.apply(grads, variables)
    loss = float(total[layout.loss] / global_rows)
    y_pred = _concat_rows(comm.allgather(outputs)) if want_outputs else None
    if watchdog is not None:
        watchdog.disarm()
    return loss, y_pred


def _forward_rows(dist, model, x):
    """Every rank's outputs for its rows of ``x`` (inference), gathered in rank order."""
    comm = dist.communicator
    n = da.num_samples(x)
    outputs = []
    for rank in comm.local_ranks:
        start, stop = shard_bounds(n, comm.size, rank)
        outputs.append(None if stop == start else
                       _outputs_numpy(model(_take_rows(x, start, stop), training=False)))
    return _concat_rows(comm.allgather(outputs))


def test_step(dist, model, x, y, sample_weight):
    """``evaluate``'s step: each rank's rows forward and their loss; one allreduce of
    ``rows``, ``rows * loss`` and the per-output loss trackers' increments gives the global
    batch's mean loss (penalties included) on every rank; the outputs are gathered in rank
    order for the metrics.

    Returns:
        ``(loss, y_pred)`` for the global batch.
    """
    comm = dist.communicator
    watchdog = dist.watchdog()
    if watchdog is not None:
        watchdog.arm()
    n = da.num_samples(x)
    trackers = list(getattr(model, "_output_loss_trackers", ()))
    base_trackers = [(t.total, t.count) for t in trackers]
    buffers, outputs = [], []
    for rank in comm.local_ranks:
        for t, (total, count) in zip(trackers, base_trackers):
            t.total, t.count = total, count
        start, stop = shard_bounds(n, comm.size, rank)
        rows = stop - start
        buf = np.zeros(2 + 2 * len(trackers), np.float32)
        buffers.append(buf)
        outputs.append(None)
        if not rows:
            continue
        y_pred, loss = model._call_and_loss(
            _take_rows(x, start, stop), _take_rows(y, start, stop),
            _take_rows(sample_weight, start, stop), False)
        buf[0], buf[1] = rows, float(loss.value) * rows
        for i, (t, (total, count)) in enumerate(zip(trackers, base_trackers)):
            buf[2 + 2 * i], buf[3 + 2 * i] = t.total - total, t.count - count
        outputs[-1] = _outputs_numpy(y_pred)
    total = comm.allreduce_sum(buffers)
    for i, (t, (base_total, base_count)) in enumerate(zip(trackers, base_trackers)):
        t.total = base_total + float(total[2 + 2 * i])
        t.count = base_count + float(total[3 + 2 * i])
    y_pred = _concat_rows(comm.allgather(outputs))
    if watchdog is not None:
        watchdog.disarm()
    return float(total[1] / total[0]), y_pred


def predict_step(dist, model, x):
    """``predict``'s step: each rank's rows forward, the outputs gathered in order."""
    watchdog = dist.watchdog()
    if watchdog is not None:
        watchdog.arm()
    outputs = _forward_rows(dist, model, x)
    if watchdog is not None:
        watchdog.disarm()
    return outputs


class Runner:
    """The trainer's handle on a ``DataParallel``: the step functions above bound to it."""

    def __init__(self, dist):
        self.dist = dist
        self.is_chief = dist.communicator.is_chief

    def chief_callbacks(self, callbacks):
        return chief_callbacks(self.dist, callbacks)

    def sync_start(self, model, rng=None):
        sync_start(self.dist, model, rng)
        self.dist._synced_models.add(model)

    def sync_once(self, model):
        """``sync_start`` the first time ``model`` steps under this distribution."""
        if model not in self.dist._synced_models:
            self.sync_start(model)

    def train_step(self, model, x, y, sample_weight, variables):
        return train_step(self.dist, model, x, y, sample_weight, variables)

    def test_step(self, model, x, y, sample_weight):
        return test_step(self.dist, model, x, y, sample_weight)

    def predict_step(self, model, x):
        return predict_step(self.dist, model, x)
