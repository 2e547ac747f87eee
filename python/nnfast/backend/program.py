"""The CPU executor of a lowered training program (``_core.Program``, see
``cpp/include/nnfast/program.h``).

``nnfast.models.lowered`` plans the program (buffers, kernel ids, arguments) from a compiled
model; this module is the one place that hands that description to ``_core``. A device
backend would provide the same two names.
"""
import numpy as np

from nnfast import _core

# ProgramOp and ProgramBufferKind of cpp/include/nnfast/program.h, by name.
OPS = {
    "gemm": 0, "activation_forward": 1, "activation_backward": 2, "sum_over_rows": 3,
    "dropout": 4, "softmax_forward": 5, "softmax_cross_entropy_forward": 6,
    "softmax_cross_entropy_backward": 7, "categorical_crossentropy_forward": 8,
    "categorical_crossentropy_backward": 9, "binary_crossentropy_forward": 10,
    "binary_crossentropy_backward": 11, "mean_squared_error_forward": 12,
    "mean_squared_error_backward": 13, "mean_gradient": 14, "record_loss": 15,
    "count_correct": 16, "adam_update": 17, "rmsprop_update": 18, "sgd_update": 19,
    "conv2d_forward": 20, "conv2d_backward_data": 21, "conv2d_backward_weights": 22,
    "max_pool2d_forward": 23, "max_pool2d_backward": 24, "conv_relu_maxpool_forward": 25,
    "conv_relu_maxpool_backward_data": 26, "conv_relu_maxpool_backward_weights": 27,
    "relu_backward_from_output": 28,
    "dense_maybe_sparse_forward": 29, "dense_maybe_sparse_backward_weights": 30,
    # recurrent ops (cpp/src/runtime/program_rnn.cpp)
    "recurrence_forward": 40, "recurrence_backward": 41, "embedding_rows_gradient": 42,
    "adam_update_token_rows": 43, "embedding_shift_square_rows": 44,
    # graph ops of functional models (cpp/src/runtime/program_graph.cpp)
    "add": 45, "copy_columns": 46,
    # mixed_bfloat16 layers (cpp/src/runtime/program_bf16.cpp)
    "round_to_bfloat16": 60, "gemm_bf16": 61, "conv2d_forward_bf16": 62,
    "conv2d_backward_data_bf16": 63, "conv2d_backward_weights_bf16": 64,
}
# Values of one geometry row (kProgramGeometryInts): a conv's 15 then a pool's 11.
GEOMETRY_INTS = 26
BUFFER_KINDS = {"arena": 0, "external": 1, "step_input": 2, "step_target": 3,
                "step_labels": 4, "step_ids": 5}
# Values of one recurrence row (kProgramRecurrenceInts): cell, steps, input, units,
# activation, recurrent_activation, go_backwards, reset_after, vocab, then 16 buffer ids.
RECURRENCE_INTS = 25
INSTRUCTION_INTS = 17  # op, 6 buffer ids, 4 ints, (fixed, per_row) for m, n, k


def activation_needs_input(activation_id, alpha=0.0, threshold=0.0):
    """Whether an activation's gradient needs its input (not only its output).

    Args:
        activation_id: an id of ``nnfast.ops.nn.ACTIVATION_IDS``.
        alpha: the activation's alpha (relu's negative slope, elu's alpha).
        threshold: relu's threshold.

    Example:
        >>> activation_needs_input(1)  # relu: the output is enough
        False
    """
    return bool(_core.activation_needs_input(int(activation_id), float(alpha), float(threshold)))


def recurrence_workspace_size(cell, table, ids, units, reset_after):
    """Floats of workspace a training recurrence run from an embedding table takes.

    Args:
        cell: an ``_core.RnnCell`` id (0 LSTM, 1 GRU, 2 SimpleRNN).
        table: the float32 ``(vocab, features)`` embedding table.
        ids: int64 ``(batch, steps)`` token ids of the largest batch.
        units: the layer's units.
        reset_after: the GRU's reset_after (True for the other cells).

    Example:
        >>> recurrence_workspace_size(0, np.zeros((50, 8), "float32"),
        ...                           np.zeros((4, 6), "int64"), 16, True) > 0
        True
    """
    return int(_core.rnn_embedded_workspace_size(int(cell), table, ids, int(units),
                                                 bool(reset_after), True))


def csr_store_size(cols, max_density=0.05):
    """Arena floats per row and fixed of the CSR store that a Dense op whose input may be
    sparse keeps for its backward (``store_floats`` in cpp/src/runtime/program_sparse.h): an
    int64 state, int64 indptr, and int64 indices plus float32 values for
    ``int(max_density * rows * cols)`` nonzeros, bounded per row.

    Args:
        cols: the Dense input's width.
        max_density: the interpreted path's largest sparse fraction (``MAX_DENSITY``).

    Returns:
        ``(fixed, per_row)`` floats.

    Example:
        >>> csr_store_size(1600)
        (4, 242)
    """
    per_row_nonzeros = -(-int(cols) * round(max_density * 10000) // 10000)
    return 4, 2 + 3 * per_row_nonzeros


class CompiledProgram:
    """A lowered program built for the CPU: its arena is allocated once, here.

    Args:
        buffers: int64 ``(n_buffers, 4)``: kind, arena offset or external index, fixed size,
            size per row (elements).
        instructions: int64 ``(n_instructions, 17)`` rows (see ``INSTRUCTION_INTS``).
        floats: float32 ``(n_instructions, 4)``: each instruction's float arguments.
        arena_size: floats in the arena.
        max_rows: the largest batch a step may have.
        input_per_row: input values per sample.
        target_per_row: float target values per sample (0 without float targets).
        label_classes: the number of classes of int64 labels (0 without labels).
        geometries: int64 ``(n, GEOMETRY_INTS)`` conv/pool shapes the conv and pool ops name
            by row (see ``ProgramGeometry`` in program.h), or None.
        recurrences: int64 ``(n, RECURRENCE_INTS)`` recurrent layers the recurrent ops name by
            row (see ``ProgramRecurrence`` in program.h), or None.
        ids_per_row: token ids per sample when the steps' inputs are int64 token ids (a
            ``step_ids`` buffer), else 0.

    Example:
        >>> program = CompiledProgram(buffers, instructions, floats, arena_size, 32, 784, 0, 10)
        >>> done = program.run([x0, x1], None, labels, externals, lrs, 1, counters, losses,
        ...                    counts)
    """

    def __init__(self, buffers, instructions, floats, arena_size, max_rows, input_per_row,
                 target_per_row, label_classes, geometries=None, recurrences=None,
                 ids_per_row=0):
        if geometries is not None:
            geometries = np.ascontiguousarray(geometries, dtype=np.int64).reshape(
                -1, GEOMETRY_INTS)
        if recurrences is not None:
            recurrences = np.ascontiguousarray(recurrences, dtype=np.int64).reshape(
                -1, RECURRENCE_INTS)
        self._program = _core.Program(
            np.ascontiguousarray(buffers, dtype=np.int64),
            np.ascontiguousarray(instructions, dtype=np.int64).reshape(-1, INSTRUCTION_INTS),
            np.ascontiguousarray(floats, dtype=np.float32).reshape(-1, 4),
            int(arena_size), int(max_rows), int(input_per_row), int(target_per_row),
            int(label_classes), geometries, recurrences, int(ids_per_row))

    def run(self, inputs, targets, labels, externals, learning_rates, first_step, counters,
            losses, counts, source=None):
        """Runs one training step per array of ``inputs``; returns how many steps ran.

        Args:
            inputs: list of float32 C-contiguous input batches, or with ``source`` a list of
                int64 row indices into it (the program gathers each batch); int64 token id
                batches for a program built with ``ids_per_row``.
            targets: float32 targets of every step's rows, concatenated, or None.
            labels: int64 class ids of every step's rows, concatenated, or None.
            externals: the float32 arrays the program updates in place (weights, slots).
            learning_rates: float32, one per step.
            first_step: the optimizer's step number (``iterations + 1``) of the first step.
            counters: int64 dropout stream offsets, advanced in place.
            losses: float32 ``(steps, max_rows)`` receiving each step's per-sample losses.
            counts: int64 ``(steps, n_metrics)`` receiving each metric's matches per step.
            source: None, or the float32 C-contiguous array whose rows ``inputs`` index.
        """
        return self._program.run(inputs, targets, labels, externals, learning_rates,
                                 int(first_step), counters, losses, counts, source)

    def set_timing(self, on):
        """Time every kernel call from now on (``kernel_seconds``), or stop timing."""
        self._program.set_timing(bool(on))

    @property
    def kernel_seconds(self):
        """Seconds spent in kernel calls since ``set_timing(True)``."""
        return self._program.kernel_seconds

    @property
    def arena_bytes(self):
        """The size of the planned arena."""
        return self._program.arena_bytes
