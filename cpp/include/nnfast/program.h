// A lowered training program: a whole training step (forward, loss, backward, optimizer
// update, metric counts) as a flat list of kernel calls over buffers planned once.
//
// The description is device-neutral: buffers are (kind, offset or index, size) and
// instructions are (op, buffer ids, integer and float arguments, dimensions). Sizes that
// scale with the batch are `fixed + per_row * rows`, so one plan serves a short last batch.
// The CPU executor below calls the same kernels, in the same order and with the same
// arguments, as the interpreted (tape) path, so both give the same bits.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "nnfast/conv.h"
#include "nnfast/pool.h"
#include "nnfast/rnn.h"

namespace nnfast {

// Where a buffer's memory comes from.
enum class ProgramBufferKind : int32_t {
  arena = 0,        // the program's own float32 arena (activations, gradients, workspaces)
  external = 1,     // a caller's float32 array given to each run (weights, optimizer slots)
  step_input = 2,   // the current step's input batch (float32); with several model inputs
                    // each is `offset` floats per row into the step's block: the inputs lie
                    // one after another, rows x per_row each (see ProgramRun::inputs)
  step_target = 3,  // the current step's rows of the float32 targets
  step_labels = 4,  // the current step's rows of the int64 class ids
  step_ids = 5,     // the current step's int64 token ids (ProgramRun::id_inputs), per_row each
};

struct ProgramBuffer {
  ProgramBufferKind kind = ProgramBufferKind::arena;
  int64_t offset = 0;   // arena: offset in floats; external: index in the run's list
  int64_t fixed = 0;    // size in elements = fixed + per_row * rows
  int64_t per_row = 0;
};

enum class ProgramOp : int32_t {
  gemm = 0,  // c = act(op(a) @ op(b) + bias); dims m, n, k; ints: trans_a, trans_b, act, sparse check
  activation_forward = 1,           // dst = f(src); dims n
  activation_backward = 2,          // dsrc = f'(src or dst) * ddst; dims n
  sum_over_rows = 3,                // out[j] = sum_i x[i, j]; dims rows (m), cols (n)
  dropout = 4,                      // dst = mask * src / (1 - rate); dims n; (src, dst,
                                    // keep bits?): ints counter, backward, seed
  softmax_forward = 5,              // dims rows (m), cols (n)
  softmax_cross_entropy_forward = 6,
  softmax_cross_entropy_backward = 7,
  categorical_crossentropy_forward = 8,
  categorical_crossentropy_backward = 9,
  binary_crossentropy_forward = 10,
  binary_crossentropy_backward = 11,
  mean_squared_error_forward = 12,
  mean_squared_error_backward = 13,
  mean_gradient = 14,               // dst[:n] = 1 / n (the gradient of a mean)
  record_loss = 15,                 // per-row losses -> the run's losses output, row `step`
  count_correct = 16,               // one metric's matches -> the run's counts output
  adam_update = 17,
  rmsprop_update = 18,
  sgd_update = 19,
  // Convolution and pooling ops read their shapes from the program's geometry table, row
  // ints[0] (the batch is the step's rows). Buffers hold one sample per row: NHWC feature maps.
  conv2d_forward = 20,               // (src, kernel, bias?, dst); ints[1]: activation id
  conv2d_backward_data = 21,         // (ddst, kernel, dsrc)
  conv2d_backward_weights = 22,      // (src, ddst, dkernel, dbias?, relu_y?)
  max_pool2d_forward = 23,           // (src, dst, argmax: int32 in arena floats)
  max_pool2d_backward = 24,          // (ddst, argmax, dsrc, relu_y?: masks ddst where <= 0)
  conv_relu_maxpool_forward = 25,    // (src, kernel, bias?, pooled, argidx: uint8 in arena)
  conv_relu_maxpool_backward_data = 26,     // (dpooled, pooled, argidx, kernel, dsrc)
  conv_relu_maxpool_backward_weights = 27,  // (src, dpooled, pooled, argidx, dkernel, dbias?)
  relu_backward_from_output = 28,    // (y, g, dz); dims n
  // A Dense layer whose float32 input the interpreted path may take as sparse (see
  // runtime/program_sparse.h): each step decides as ops/sparse_dense.py does and runs the
  // CSR product or the GEMM. Dims m (rows), n (units), k (in_dim); ints[2]: activation.
  dense_maybe_sparse_forward = 29,           // (a, kernel, c, bias?, csr store)
  dense_maybe_sparse_backward_weights = 30,  // (a, g, dkernel, csr store)
  // Recurrent ops (program_rnn.cpp) name a row of the program's recurrence table in ints[0].
  recurrence_forward = 40,          // rnn_forward from an embedding table (training)
  recurrence_backward = 41,         // rnn_backward: weight gradients, the distinct ids' rows
  embedding_rows_gradient = 42,     // (dtable): the dense table gradient of the distinct rows
  adam_update_token_rows = 43,      // (table, momentum, velocity); floats beta_1, beta_2, eps
  embedding_shift_square_rows = 44, // (slot); floats[0]: factor (see embedding.h)
  // Graph ops of functional models (program_graph.cpp).
  add = 45,                         // (a, b, out): out = a + b; dims m elements
  copy_columns = 46,                // (src, dst): m rows of n columns; ints: src row stride,
                                    // dst row stride, src first column, dst first column
  // mixed_bfloat16 layers (program_bf16.cpp): the kernels a bf16-compute layer's ops call.
  round_to_bfloat16 = 60,            // (src, dst): dst = src rounded to bf16; dims m; dst may be src
  gemm_bf16 = 61,                    // gemm's slots and ints, op(a) and op(b) rounded to bf16
  conv2d_forward_bf16 = 62,          // conv2d_forward's slots, on the bf16 conv kernels;
                                     // ints[2]: dst rounded to bf16
  conv2d_backward_data_bf16 = 63,    // conv2d_backward_data's slots; ints[1]: dsrc rounded
  conv2d_backward_weights_bf16 = 64, // (src, ddst, dkernel, dbias?)
};

// One recurrent layer run straight from its embedding table (ops.lstm(..., input_ids=)):
// its configuration (the batch is the step's rows) and the buffer ids of its arguments
// (-1: none). distinct_ids holds int64 values in arena floats (2 per id).
struct ProgramRecurrence {
  RnnConfig config;
  int64_t vocab = 0;
  int32_t ids = -1, table = -1, kernel = -1, recurrent_kernel = -1, bias = -1, h_seq = -1,
          h_last = -1, c_last = -1, workspace = -1, dh_last = -1, dkernel = -1,
          drecurrent_kernel = -1, dbias = -1, distinct_ids = -1, d_rows = -1, d_rows_sq = -1;
};
// int64 values of one encoded recurrence row: cell, steps, input, units, activation,
// recurrent_activation, go_backwards, reset_after, vocab, then the 16 buffer ids above in order.
constexpr int kProgramRecurrenceInts = 25;

// Whether an op is one of program_bf16.cpp's, and whether it reads a conv geometry row.
inline bool program_op_is_bf16(ProgramOp op) {
  return op >= ProgramOp::round_to_bfloat16 && op <= ProgramOp::conv2d_backward_weights_bf16;
}
inline bool program_op_is_bf16_conv(ProgramOp op) {
  return op >= ProgramOp::conv2d_forward_bf16 && op <= ProgramOp::conv2d_backward_weights_bf16;
}
// Whether an encoded op number names an op of this enum (the numbers have gaps by family).
inline bool program_op_is_known(int64_t op) {
  return (op >= 0 && op <= static_cast<int64_t>(ProgramOp::dense_maybe_sparse_backward_weights)) ||
         (op >= static_cast<int64_t>(ProgramOp::recurrence_forward) &&
          op <= static_cast<int64_t>(ProgramOp::copy_columns)) ||
         (op >= static_cast<int64_t>(ProgramOp::round_to_bfloat16) &&
          op <= static_cast<int64_t>(ProgramOp::conv2d_backward_weights_bf16));
}

// One geometry row: a convolution (its batch set per step), and a pooling of its output or,
// for max_pool2d ops, of any input. The fused conv-relu-maxpool op uses both: the pool's
// out_h/out_w are the pooled sizes and its strides equal its window.
struct ProgramGeometry {
  Conv2DShape conv;
  Pool2DShape pool;
};
// int64 values of one encoded geometry row: conv in_h, in_w, in_c, out_h, out_w, out_c,
// kernel_h, kernel_w, stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left, groups;
// pool in_h, in_w, channels, out_h, out_w, pool_h, pool_w, stride_h, stride_w, pad_top, pad_left.
constexpr int kProgramGeometryInts = 26;

// Argument slots of one instruction. buffers[] holds buffer ids (-1: none).
struct ProgramInstruction {
  ProgramOp op = ProgramOp::gemm;
  int32_t buffers[6] = {-1, -1, -1, -1, -1, -1};
  int64_t ints[4] = {0, 0, 0, 0};
  float floats[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  // m, n, k: each fixed + per_row * rows.
  int64_t dim_fixed[3] = {0, 0, 0};
  int64_t dim_per_row[3] = {0, 0, 0};
};

// What one run is given: per step, the input batch and its row count; for all steps, the
// targets/labels (rows of all steps, concatenated), the external arrays, one learning rate
// per step; and where to write per-step losses and metric counts.
struct ProgramRun {
  std::vector<const float*> inputs;       // one per step (ignored when gathering)
  std::vector<const int64_t*> id_inputs;  // one per step with step_ids buffers (ids_per_row each)
  // Gathering: each step's input is rows gather_index[s][0 .. rows[s]) of gather_source
  // (gather_rows rows of input_per_row floats), copied into the program's own input buffer.
  const float* gather_source = nullptr;
  int64_t gather_rows = 0;
  std::vector<const int64_t*> gather_index;
  std::vector<int64_t> rows;              // one per step
  const float* targets = nullptr;         // sum(rows) * target_per_row floats, or null
  const int64_t* labels = nullptr;        // sum(rows) ids, or null
  std::vector<float*> externals;          // index -> array
  std::vector<int64_t> external_sizes;
  const float* learning_rates = nullptr;  // one per step
  int64_t first_step = 1;                 // the optimizer step number of step 0 (t >= 1)
  int64_t* counters = nullptr;            // dropout stream offsets, advanced in place
  int64_t n_counters = 0;
  float* losses = nullptr;                // (steps, loss_width)
  int64_t loss_width = 0;
  int64_t* counts = nullptr;              // (steps, count_width)
  int64_t count_width = 0;
};

class Program {
 public:
  // Checks every buffer and instruction reference; throws std::invalid_argument naming the
  // instruction when something is inconsistent.
  Program(std::vector<ProgramBuffer> buffers, std::vector<ProgramInstruction> instructions,
          int64_t arena_size, int64_t max_rows, int64_t input_per_row, int64_t target_per_row,
          int64_t label_classes, std::vector<ProgramGeometry> geometries = {},
          std::vector<ProgramRecurrence> recurrences = {}, int64_t ids_per_row = 0);

  // Runs the steps of `run` in order and returns how many ran: all of them, or fewer when a
  // gemm marked ints[3] (a Dense input) meets an input sparse enough that the interpreted
  // path would take its CSR product; that step is undone (its forward wrote only the arena
  // and its dropout counters are restored) and left to the caller. All sizes are checked for
  // every row count before the first kernel runs, so a bad run changes nothing.
  int64_t run(const ProgramRun& run);

  int64_t max_rows() const { return max_rows_; }
  int64_t input_per_row() const { return input_per_row_; }
  int64_t target_per_row() const { return target_per_row_; }
  int64_t ids_per_row() const { return ids_per_row_; }
  int64_t arena_bytes() const { return static_cast<int64_t>(arena_.size() * sizeof(float)); }
  int64_t instruction_count() const { return static_cast<int64_t>(instructions_.size()); }
  // Seconds spent inside kernel calls since the last reset (when timing is on).
  double kernel_seconds() const { return kernel_seconds_; }
  // The same time split by instruction (index = instruction number), for profiling a step.
  const std::vector<double>& instruction_seconds() const { return instruction_seconds_; }
  void set_timing(bool on) {
    timing_ = on;
    kernel_seconds_ = 0.0;
    instruction_seconds_.assign(instructions_.size(), 0.0);
  }

 private:
  struct Bound {
    float* f = nullptr;
    const int64_t* i = nullptr;
    int64_t size = 0;
  };
  void check_step(const ProgramRun& run, int64_t rows) const;
  const ProgramGeometry& geometry(const ProgramInstruction& ins) const {
    return geometries_[static_cast<size_t>(ins.ints[0])];
  }
  Bound bind(int32_t id, const ProgramRun& run, int64_t step, int64_t row0, int64_t rows) const;
  bool execute(const ProgramInstruction& ins, const ProgramRun& run, int64_t step, int64_t row0,
               int64_t rows, std::vector<int64_t>& draw_at);
  // Recurrent ops (program_rnn.cpp): validation at construction, size checks per row count,
  // the id range check of a run, and execution.
  void validate_recurrences();
  void check_recurrence_step(size_t index, const ProgramInstruction& ins, const ProgramRun& run,
                             int64_t rows) const;
  void check_ids(const ProgramRun& run) const;
  void execute_recurrence(const ProgramInstruction& ins, const ProgramRun& run, int64_t step,
                          int64_t row0, int64_t rows);
  // Graph ops (program_graph.cpp).
  void check_graph_step(size_t index, const ProgramInstruction& ins, const ProgramRun& run,
                        int64_t rows) const;
  void execute_graph(const ProgramInstruction& ins, const ProgramRun& run, int64_t step,
                     int64_t row0, int64_t rows) const;
  // program_bf16.cpp: the size checks and the calls of the bf16 ops. `need(slot, elements,
  // what, required)` is check_step's check of one buffer slot.
  void check_bf16(const ProgramInstruction& ins, int64_t rows,
                  const std::function<void(int, int64_t, const char*, bool)>& need) const;
  void execute_bf16(const ProgramInstruction& ins, const Bound* b, int64_t rows, int64_t m,
                    int64_t n, int64_t k) const;

  std::vector<ProgramBuffer> buffers_;
  std::vector<ProgramInstruction> instructions_;
  std::vector<ProgramGeometry> geometries_;
  std::vector<float> arena_;
  std::vector<float> gathered_;  // a gathered step's input batch
  int64_t max_rows_, input_per_row_, target_per_row_, label_classes_;
  std::vector<ProgramRecurrence> recurrences_;
  int64_t ids_per_row_ = 0;
  std::vector<int64_t> distinct_counts_;             // per recurrence: its last backward's
  std::vector<std::vector<int64_t>> gradient_rows_;  // per recurrence: rows its dtable holds
  bool timing_ = false;
  double kernel_seconds_ = 0.0;
  std::vector<double> instruction_seconds_;
};

}  // namespace nnfast
