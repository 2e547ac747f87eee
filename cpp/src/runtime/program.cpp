#include "nnfast/program.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "nnfast/activation.h"
#include "nnfast/conv.h"
#include "nnfast/dropout.h"
#include "nnfast/gemm.h"
#include "nnfast/loss.h"
#include "nnfast/optimizer.h"
#include "nnfast/pool.h"
#include "nnfast/reduce.h"
#include "nnfast/softmax.h"
#include "runtime/program_sparse.h"

namespace nnfast {
namespace {

std::string where(size_t index, const ProgramInstruction& ins) {
  return "program instruction " + std::to_string(index) + " (op " +
         std::to_string(static_cast<int>(ins.op)) + ")";
}

int64_t dim(const ProgramInstruction& ins, int which, int64_t rows) {
  return ins.dim_fixed[which] + ins.dim_per_row[which] * rows;
}

// numpy.argmax's rule: the first NaN wins, else the first maximum.
int64_t argmax_row(const float* p, int64_t cols) {
  int64_t best = 0;
  for (int64_t j = 0; j < cols; ++j) {
    if (std::isnan(p[j])) return j;
    if (p[j] > p[best]) best = j;
  }
  return best;
}

constexpr int kMaxBuffers = 6;

// NOTE: mirror ops/sparse_dense.py (MAX_DENSITY, MIN_COLUMNS, _SAMPLE_ROWS): a Dense input
// whose first rows are this sparse runs a CSR product on the interpreted path, so a lowered
// program stops before such a step (the caller runs it interpreted) to keep the same bits.
constexpr double kSparseDensity = 0.05;
constexpr int64_t kSparseMinColumns = 256;
constexpr int64_t kSparseSampleRows = 8;

// Nonzero bit patterns, as sparse_rows counts them (-0.0 counts). `bf16`: of the values
// rounded to bfloat16 (a gemm_bf16 reads its input unrounded where the interpreted path
// tests the rounded copy: a tiny denormal rounds to zero).
bool would_run_sparse(const float* a, int64_t rows, int64_t cols, bool bf16) {
  if (cols < kSparseMinColumns) return false;
  const int64_t size = std::min(rows, kSparseSampleRows) * cols;
  int64_t nonzero = 0;
  for (int64_t j = 0; j < size; ++j) {
    uint32_t bits;
    std::memcpy(&bits, a + j, sizeof bits);
    if (bf16 && (bits & 0x7FFFFFFFu) <= 0x7F800000u)  // NaN stays NaN (nonzero)
      bits = (bits + 0x7FFFu + ((bits >> 16) & 1u)) & 0xFFFF0000u;
    nonzero += bits != 0;
  }
  return !(static_cast<double>(nonzero) > kSparseDensity * static_cast<double>(size));
}

// The ops whose buffer slot 2 holds int64 class ids.
bool reads_labels(ProgramOp op) {
  return op == ProgramOp::softmax_cross_entropy_forward ||
         op == ProgramOp::softmax_cross_entropy_backward ||
         op == ProgramOp::categorical_crossentropy_forward ||
         op == ProgramOp::categorical_crossentropy_backward || op == ProgramOp::count_correct;
}

bool is_recurrence_op(ProgramOp op) {
  return op >= ProgramOp::recurrence_forward && op <= ProgramOp::embedding_shift_square_rows;
}

bool uses_geometry(ProgramOp op) {
  return (op >= ProgramOp::conv2d_forward &&
          op <= ProgramOp::conv_relu_maxpool_backward_weights) ||
         program_op_is_bf16_conv(op);
}

bool is_pool_op(ProgramOp op) {
  return op == ProgramOp::max_pool2d_forward || op == ProgramOp::max_pool2d_backward;
}

bool is_conv_pool_op(ProgramOp op) {
  return op >= ProgramOp::conv_relu_maxpool_forward &&
         op <= ProgramOp::conv_relu_maxpool_backward_weights;
}

Conv2DShape conv_at(const ProgramGeometry& g, int64_t rows) {
  Conv2DShape s = g.conv;
  s.batch = rows;
  return s;
}

Pool2DShape pool_at(const ProgramGeometry& g, int64_t rows) {
  Pool2DShape s = g.pool;
  s.batch = rows;
  return s;
}

ConvPoolShape conv_pool_at(const ProgramGeometry& g, int64_t rows) {
  ConvPoolShape s;
  s.conv = conv_at(g, rows);
  s.pool_h = g.pool.pool_h;
  s.pool_w = g.pool.pool_w;
  s.pad_top = g.pool.pad_top;
  s.pad_left = g.pool.pad_left;
  s.pooled_h = g.pool.out_h;
  s.pooled_w = g.pool.out_w;
  return s;
}

// Element counts of one sample's conv input/output, the kernel and the pool's input/output.
int64_t conv_in(const Conv2DShape& s) { return s.in_h * s.in_w * s.in_c; }
int64_t conv_out(const Conv2DShape& s) { return s.out_h * s.out_w * s.out_c; }
int64_t kernel_size(const Conv2DShape& s) {
  return s.kernel_h * s.kernel_w * (s.in_c / std::max<int64_t>(s.groups, 1)) * s.out_c;
}
int64_t pool_in(const Pool2DShape& s) { return s.in_h * s.in_w * s.channels; }
int64_t pool_out(const Pool2DShape& s) { return s.out_h * s.out_w * s.channels; }
// uint8 argmax indices stored in arena floats: 4 per float.
int64_t bytes_as_floats(int64_t bytes) { return (bytes + 3) / 4; }

}  // namespace

Program::Program(std::vector<ProgramBuffer> buffers, std::vector<ProgramInstruction> instructions,
                 int64_t arena_size, int64_t max_rows, int64_t input_per_row,
                 int64_t target_per_row, int64_t label_classes,
                 std::vector<ProgramGeometry> geometries,
                 std::vector<ProgramRecurrence> recurrences, int64_t ids_per_row)
    : buffers_(std::move(buffers)),
      instructions_(std::move(instructions)),
      geometries_(std::move(geometries)),
      max_rows_(max_rows),
      input_per_row_(input_per_row),
      target_per_row_(target_per_row),
      label_classes_(label_classes),
      recurrences_(std::move(recurrences)),
      ids_per_row_(ids_per_row) {
  if (arena_size < 0 || max_rows < 1 || input_per_row < 1 || target_per_row < 0 ||
      label_classes < 0)
    throw std::invalid_argument(
        "program: expected arena_size >= 0, max_rows >= 1, input_per_row >= 1, "
        "target_per_row >= 0 and label_classes >= 0, received " + std::to_string(arena_size) +
        ", " + std::to_string(max_rows) + ", " + std::to_string(input_per_row) + ", " +
        std::to_string(target_per_row) + ", " + std::to_string(label_classes));
  for (size_t i = 0; i < buffers_.size(); ++i) {
    const ProgramBuffer& b = buffers_[i];
    const std::string name = "program buffer " + std::to_string(i);
    if (b.fixed < 0 || b.per_row < 0 || b.offset < 0)
      throw std::invalid_argument(name + ": negative offset or size");
    const int kind = static_cast<int>(b.kind);
    if (kind < 0 || kind > static_cast<int>(ProgramBufferKind::step_ids))
      throw std::invalid_argument(name + ": unknown kind " + std::to_string(kind));
    if (b.kind == ProgramBufferKind::arena && b.offset + b.fixed + b.per_row * max_rows > arena_size)
      throw std::invalid_argument(name + ": [" + std::to_string(b.offset) + ", " +
                                  std::to_string(b.offset + b.fixed + b.per_row * max_rows) +
                                  ") lies outside the arena of " + std::to_string(arena_size) +
                                  " floats");
    if (b.kind == ProgramBufferKind::external && b.per_row != 0)
      throw std::invalid_argument(name + ": an external array cannot scale with the batch");
    if (b.kind == ProgramBufferKind::step_input &&
        (b.fixed != 0 || b.per_row < 1 || b.offset + b.per_row > input_per_row))
      throw std::invalid_argument(name + ": an input of " + std::to_string(b.per_row) +
                                  " values per row at " + std::to_string(b.offset) +
                                  " lies outside the step's " + std::to_string(input_per_row) +
                                  " input values per row");
  }
  for (size_t i = 0; i < instructions_.size(); ++i) {
    const ProgramInstruction& ins = instructions_[i];
    if (!program_op_is_known(static_cast<int64_t>(ins.op)))
      throw std::invalid_argument(where(i, ins) + ": unknown op");
    if (is_recurrence_op(ins.op) &&
        (ins.ints[0] < 0 || ins.ints[0] >= static_cast<int64_t>(recurrences_.size())))
      throw std::invalid_argument(where(i, ins) + ": recurrence " + std::to_string(ins.ints[0]) +
                                  " out of range (" + std::to_string(recurrences_.size()) +
                                  " given)");
    if (uses_geometry(ins.op)) {
      if (ins.ints[0] < 0 || ins.ints[0] >= static_cast<int64_t>(geometries_.size()))
        throw std::invalid_argument(where(i, ins) + ": geometry " + std::to_string(ins.ints[0]) +
                                    " out of range (" + std::to_string(geometries_.size()) +
                                    " given)");
      const ProgramGeometry& g = geometries_[static_cast<size_t>(ins.ints[0])];
      try {
        if (is_pool_op(ins.op)) {
          pool2d_validate(pool_at(g, max_rows));
        } else if (is_conv_pool_op(ins.op)) {
          const ConvPoolShape ps = conv_pool_at(g, max_rows);
          if (g.pool.in_h != g.conv.out_h || g.pool.in_w != g.conv.out_w ||
              g.pool.channels != g.conv.out_c || g.pool.stride_h != g.pool.pool_h ||
              g.pool.stride_w != g.pool.pool_w || !conv2d_relu_maxpool_supported(ps))
            throw std::invalid_argument("the pool does not fit the conv or is not fused");
        } else {
          conv2d_validate(conv_at(g, max_rows));
          if (g.conv.groups != 1)
            throw std::invalid_argument("only groups == 1 convolutions are lowered");
        }
      } catch (const std::invalid_argument& e) {
        throw std::invalid_argument(where(i, ins) + ": " + e.what());
      }
      if ((ins.op == ProgramOp::conv2d_forward || ins.op == ProgramOp::conv2d_forward_bf16) &&
          (ins.ints[1] < 0 || ins.ints[1] > static_cast<int64_t>(Activation::mish)))
        throw std::invalid_argument(where(i, ins) + ": unknown activation id " +
                                    std::to_string(ins.ints[1]));
    }
    for (int k = 0; k < kMaxBuffers; ++k) {
      if (ins.buffers[k] < -1 || ins.buffers[k] >= static_cast<int32_t>(buffers_.size()))
        throw std::invalid_argument(where(i, ins) + ": buffer id " +
                                    std::to_string(ins.buffers[k]) + " out of range");
      // int64 buffers hold no floats: only the slots that read them as int64 may name them
      if (ins.buffers[k] < 0) continue;
      const ProgramBufferKind kind = buffers_[static_cast<size_t>(ins.buffers[k])].kind;
      if (kind == ProgramBufferKind::step_ids)
        throw std::invalid_argument(where(i, ins) + ": token ids are read by recurrences only");
      if (kind == ProgramBufferKind::step_labels && !(k == 2 && reads_labels(ins.op)))
        throw std::invalid_argument(where(i, ins) + ": labels in buffer slot " +
                                    std::to_string(k) + ", which does not read int64 labels");
    }
    for (int k = 0; k < 3; ++k)
      if (ins.dim_fixed[k] < 0 || ins.dim_per_row[k] < 0)
        throw std::invalid_argument(where(i, ins) + ": negative dimension");
    const bool act_in_2 = ins.op == ProgramOp::gemm || ins.op == ProgramOp::gemm_bf16 ||
                          ins.op == ProgramOp::dense_maybe_sparse_forward;
    const int64_t act = ins.ints[act_in_2 ? 2 : 0];
    if ((act_in_2 || ins.op == ProgramOp::activation_forward ||
         ins.op == ProgramOp::activation_backward) &&
        (act < 0 || act > static_cast<int64_t>(Activation::mish)))
      throw std::invalid_argument(where(i, ins) + ": unknown activation id " + std::to_string(act));
    if (ins.op == ProgramOp::dense_maybe_sparse_forward ||
        ins.op == ProgramOp::dense_maybe_sparse_backward_weights) {
      // The store holds int64 arrays: the program's own memory, 8-byte aligned.
      const int32_t id = ins.buffers[4];
      if (id < 0 || buffers_[static_cast<size_t>(id)].kind != ProgramBufferKind::arena ||
          buffers_[static_cast<size_t>(id)].offset % 2 != 0)
        throw std::invalid_argument(where(i, ins) + ": the CSR store must be an arena buffer "
                                    "at an even offset");
    }
    if (ins.op == ProgramOp::dropout && !(ins.floats[0] >= 0.0f && ins.floats[0] < 1.0f))
      throw std::invalid_argument(where(i, ins) + ": dropout rate must be in [0, 1), received " +
                                  std::to_string(ins.floats[0]));
  }
  validate_recurrences();
  arena_.assign(static_cast<size_t>(arena_size), 0.0f);
}

Program::Bound Program::bind(int32_t id, const ProgramRun& run, int64_t step, int64_t row0,
                             int64_t rows) const {
  Bound out;
  if (id < 0) return out;
  const ProgramBuffer& b = buffers_[static_cast<size_t>(id)];
  switch (b.kind) {
    case ProgramBufferKind::arena:
      out.f = const_cast<float*>(arena_.data()) + b.offset;
      out.size = b.fixed + b.per_row * rows;
      break;
    case ProgramBufferKind::external:
      out.f = run.externals[static_cast<size_t>(b.offset)];
      out.size = run.external_sizes[static_cast<size_t>(b.offset)];
      break;
    case ProgramBufferKind::step_input:
      out.f = const_cast<float*>(run.inputs[static_cast<size_t>(step)]) + b.offset * rows;
      out.size = rows * b.per_row;
      break;
    case ProgramBufferKind::step_target:
      out.f = const_cast<float*>(run.targets) + row0 * target_per_row_;
      out.size = run.targets ? rows * target_per_row_ : 0;
      break;
    case ProgramBufferKind::step_labels:
      out.i = run.labels ? run.labels + row0 : nullptr;
      out.size = run.labels ? rows : 0;
      break;
    case ProgramBufferKind::step_ids:
      out.i = static_cast<size_t>(step) < run.id_inputs.size()
                  ? run.id_inputs[static_cast<size_t>(step)] : nullptr;
      out.size = out.i ? rows * ids_per_row_ : 0;
      break;
  }
  return out;
}

// Every access an instruction makes, checked against its buffers' sizes for `rows` rows.
void Program::check_step(const ProgramRun& run, int64_t rows) const {
  for (size_t i = 0; i < instructions_.size(); ++i) {
    const ProgramInstruction& ins = instructions_[i];
    const int64_t m = dim(ins, 0, rows), n = dim(ins, 1, rows), k = dim(ins, 2, rows);
    auto size = [&](int slot) -> int64_t {
      const int32_t id = ins.buffers[slot];
      if (id < 0) return -1;
      const ProgramBuffer& b = buffers_[static_cast<size_t>(id)];
      switch (b.kind) {
        case ProgramBufferKind::arena: return b.fixed + b.per_row * rows;
        case ProgramBufferKind::external:
          if (b.offset >= static_cast<int64_t>(run.externals.size()))
            throw std::invalid_argument(where(i, ins) + ": external array " +
                                        std::to_string(b.offset) + " was not given");
          return run.external_sizes[static_cast<size_t>(b.offset)];
        case ProgramBufferKind::step_input: return rows * b.per_row;
        case ProgramBufferKind::step_target: return run.targets ? rows * target_per_row_ : -1;
        case ProgramBufferKind::step_labels: return run.labels ? rows : -1;
        case ProgramBufferKind::step_ids: return run.id_inputs.empty() ? -1 : rows * ids_per_row_;
      }
      return -1;
    };
    auto need = [&](int slot, int64_t elements, const char* what, bool required = true) {
      const int64_t have = size(slot);
      if (have < 0) {
        if (required)
          throw std::invalid_argument(where(i, ins) + ": missing " + what);
        return;
      }
      if (have < elements)
        throw std::invalid_argument(where(i, ins) + ": " + what + " has " +
                                    std::to_string(have) + " elements, the call reads or writes " +
                                    std::to_string(elements));
    };
    auto one_target = [&](int target_slot, int labels_slot) {
      const bool dense = size(target_slot) >= 0, sparse = size(labels_slot) >= 0;
      if (dense == sparse)
        throw std::invalid_argument(where(i, ins) + ": expected exactly one of targets or labels");
      if (dense) need(target_slot, m * n, "targets");
      if (sparse) need(labels_slot, m, "labels");
    };
    switch (ins.op) {
      case ProgramOp::gemm:
        need(0, m * k, "a");
        need(1, k * n, "b");
        need(2, m * n, "c");
        need(3, n, "bias", false);
        break;
      case ProgramOp::activation_forward:
      case ProgramOp::dropout:
        need(0, m, "source");
        need(1, m, "destination");
        if (ins.op == ProgramOp::dropout &&
            (ins.ints[0] < 0 || ins.ints[0] >= run.n_counters))
          throw std::invalid_argument(where(i, ins) + ": dropout counter " +
                                      std::to_string(ins.ints[0]) + " was not given");
        if (ins.op == ProgramOp::dropout)  // the keep bits: uint8 in arena floats, 32 per float
          need(2, (m + 31) / 32, "keep mask", false);
        break;
      case ProgramOp::activation_backward:
        // Every gradient can use the output; some also need the input.
        need(0, m, "activation input",
             activation_needs_input(static_cast<Activation>(ins.ints[0]),
                                    ActivationParams{ins.floats[0], ins.floats[1],
                                                     ins.floats[2]}));
        need(1, m, "activation output");
        need(2, m, "output gradient");
        need(3, m, "input gradient");
        break;
      case ProgramOp::sum_over_rows:
        need(0, m * n, "rows");
        need(1, n, "sums");
        break;
      case ProgramOp::softmax_forward:
        need(0, m * n, "logits");
        need(1, m * n, "probabilities");
        break;
      case ProgramOp::softmax_cross_entropy_forward:
      case ProgramOp::categorical_crossentropy_forward:
        need(0, m * n, "predictions");
        one_target(1, 2);
        if (ins.op == ProgramOp::softmax_cross_entropy_forward) {
          need(3, m * n, "probabilities");
          need(4, m, "losses");
        } else {
          need(3, m, "losses");
        }
        break;
      case ProgramOp::softmax_cross_entropy_backward:
      case ProgramOp::categorical_crossentropy_backward:
        need(0, m * n, "probabilities");
        one_target(1, 2);
        need(3, m, "loss gradient");
        need(4, m * n, "prediction gradient");
        break;
      case ProgramOp::binary_crossentropy_forward:
      case ProgramOp::mean_squared_error_forward:
        need(0, m * n, "predictions");
        need(1, m * n, "targets");
        need(2, m, "losses");
        break;
      case ProgramOp::binary_crossentropy_backward:
      case ProgramOp::mean_squared_error_backward:
        need(0, m * n, "predictions");
        need(1, m * n, "targets");
        need(2, m, "loss gradient");
        need(3, m * n, "prediction gradient");
        break;
      case ProgramOp::mean_gradient:
        need(0, m, "gradient");
        break;
      case ProgramOp::record_loss:
        need(0, m, "losses");
        if (m > run.loss_width || run.losses == nullptr)
          throw std::invalid_argument(where(i, ins) + ": the losses output holds " +
                                      std::to_string(run.loss_width) + " values per step, the "
                                      "step has " + std::to_string(m));
        break;
      case ProgramOp::count_correct:
        need(0, m * n, "predictions");
        if (ins.ints[0] == 0) {
          one_target(1, 2);
        } else if (ins.ints[0] == 1 || ins.ints[0] == 2) {
          need(1, m * n, "targets");
        } else {
          throw std::invalid_argument(where(i, ins) + ": unknown metric kind " +
                                      std::to_string(ins.ints[0]));
        }
        if (ins.ints[0] == 2 && n != 1)
          throw std::invalid_argument(where(i, ins) + ": binary accuracy needs one column");
        if (ins.ints[1] < 0 || ins.ints[1] >= run.count_width || run.counts == nullptr)
          throw std::invalid_argument(where(i, ins) + ": metric column " +
                                      std::to_string(ins.ints[1]) + " outside the counts output");
        break;
      case ProgramOp::conv2d_forward:
      case ProgramOp::conv2d_backward_data:
      case ProgramOp::conv2d_backward_weights: {
        const Conv2DShape c = conv_at(geometries_[static_cast<size_t>(ins.ints[0])], rows);
        if (ins.op == ProgramOp::conv2d_forward) {
          need(0, rows * conv_in(c), "conv input");
          need(1, kernel_size(c), "conv kernel");
          need(2, c.out_c, "conv bias", false);
          need(3, rows * conv_out(c), "conv output");
        } else if (ins.op == ProgramOp::conv2d_backward_data) {
          need(0, rows * conv_out(c), "conv output gradient");
          need(1, kernel_size(c), "conv kernel");
          need(2, rows * conv_in(c), "conv input gradient");
        } else {
          need(0, rows * conv_in(c), "conv input");
          need(1, rows * conv_out(c), "conv output gradient");
          need(2, kernel_size(c), "conv kernel gradient");
          need(3, c.out_c, "conv bias gradient", false);
          need(4, rows * conv_out(c), "conv relu output", false);
        }
        break;
      }
      case ProgramOp::max_pool2d_forward:
      case ProgramOp::max_pool2d_backward: {
        const Pool2DShape p = pool_at(geometries_[static_cast<size_t>(ins.ints[0])], rows);
        const bool fwd = ins.op == ProgramOp::max_pool2d_forward;
        need(fwd ? 0 : 2, rows * pool_in(p), fwd ? "pool input" : "pool input gradient");
        need(fwd ? 1 : 0, rows * pool_out(p), fwd ? "pool output" : "pool output gradient");
        need(fwd ? 2 : 1, rows * pool_out(p), "pool argmax");  // int32 in float slots
        if (!fwd) need(3, rows * pool_out(p), "relu output", false);
        break;
      }
      case ProgramOp::conv_relu_maxpool_forward:
      case ProgramOp::conv_relu_maxpool_backward_data:
      case ProgramOp::conv_relu_maxpool_backward_weights: {
        const ProgramGeometry& g = geometries_[static_cast<size_t>(ins.ints[0])];
        const Conv2DShape c = conv_at(g, rows);
        const int64_t pooled = rows * g.pool.out_h * g.pool.out_w * c.out_c;
        if (ins.op == ProgramOp::conv_relu_maxpool_forward) {
          need(0, rows * conv_in(c), "conv input");
          need(1, kernel_size(c), "conv kernel");
          need(2, c.out_c, "conv bias", false);
          need(3, pooled, "pooled output");
          need(4, bytes_as_floats(pooled), "pool argmax");
        } else if (ins.op == ProgramOp::conv_relu_maxpool_backward_data) {
          need(0, pooled, "pooled gradient");
          need(1, pooled, "pooled output");
          need(2, bytes_as_floats(pooled), "pool argmax");
          need(3, kernel_size(c), "conv kernel");
          need(4, rows * conv_in(c), "conv input gradient");
        } else {
          need(0, rows * conv_in(c), "conv input");
          need(1, pooled, "pooled gradient");
          need(2, pooled, "pooled output");
          need(3, bytes_as_floats(pooled), "pool argmax");
          need(4, kernel_size(c), "conv kernel gradient");
          need(5, c.out_c, "conv bias gradient", false);
        }
        break;
      }
      case ProgramOp::dense_maybe_sparse_forward:
        need(0, m * k, "a");
        need(1, k * n, "kernel");
        need(2, m * n, "c");
        need(3, n, "bias", false);
        need(4, program_sparse::store_floats(m, k), "CSR store");
        break;
      case ProgramOp::dense_maybe_sparse_backward_weights:
        need(0, m * k, "a");
        need(1, m * n, "output gradient");
        need(2, k * n, "kernel gradient");
        need(4, program_sparse::store_floats(m, k), "CSR store");
        break;
      case ProgramOp::relu_backward_from_output:
        need(0, n, "relu output");
        need(1, n, "output gradient");
        need(2, n, "input gradient");
        break;
      case ProgramOp::recurrence_forward:
      case ProgramOp::recurrence_backward:
      case ProgramOp::embedding_rows_gradient:
      case ProgramOp::adam_update_token_rows:
      case ProgramOp::embedding_shift_square_rows:
        check_recurrence_step(i, ins, run, rows);
        break;
      case ProgramOp::add:
      case ProgramOp::copy_columns:
        check_graph_step(i, ins, run, rows);
        break;
      case ProgramOp::round_to_bfloat16:
      case ProgramOp::gemm_bf16:
      case ProgramOp::conv2d_forward_bf16:
      case ProgramOp::conv2d_backward_data_bf16:
      case ProgramOp::conv2d_backward_weights_bf16:
        check_bf16(ins, rows, need);
        break;
      case ProgramOp::adam_update:
      case ProgramOp::rmsprop_update:
      case ProgramOp::sgd_update: {
        need(0, m, "variable");
        need(1, m, "gradient");
        if (ins.op == ProgramOp::adam_update) {
          need(2, m, "momentum");
          need(3, m, "velocity");
          need(4, m, "velocity_hat", false);
        } else if (ins.op == ProgramOp::rmsprop_update) {
          need(2, m, "velocity");
          need(3, m, "momentum", ins.floats[1] > 0.0f);
          need(4, m, "average_gradient", false);
        } else {
          need(2, m, "momentum", ins.floats[0] != 0.0f);
        }
        break;
      }
    }
  }
}

bool Program::execute(const ProgramInstruction& ins, const ProgramRun& run, int64_t step,
                      int64_t row0, int64_t rows, std::vector<int64_t>& draw_at) {
  const int64_t m = dim(ins, 0, rows), n = dim(ins, 1, rows), k = dim(ins, 2, rows);
  Bound b[kMaxBuffers];
  for (int s = 0; s < kMaxBuffers; ++s) b[s] = bind(ins.buffers[s], run, step, row0, rows);
  const bool any_gemm = ins.op == ProgramOp::gemm || ins.op == ProgramOp::gemm_bf16;
  if (any_gemm && ins.ints[3] && !ins.ints[0] &&
      would_run_sparse(b[0].f, m, k, ins.op == ProgramOp::gemm_bf16))
    return false;
  const ActivationParams params{ins.floats[0], ins.floats[1], ins.floats[2]};
  const auto act = static_cast<Activation>(
      ins.ints[any_gemm || ins.op == ProgramOp::dense_maybe_sparse_forward ? 2 : 0]);
  switch (ins.op) {
    case ProgramOp::gemm: {
      GemmEpilogue ep;
      ep.bias = b[3].f;
      ep.activation = act;
      ep.params = params;
      const Trans ta = ins.ints[0] ? Trans::T : Trans::N;
      const Trans tb = ins.ints[1] ? Trans::T : Trans::N;
      // Leading dimensions as the binding derives them: the stored arrays' row lengths.
      sgemm(ta, tb, m, n, k, 1.0f, b[0].f, ins.ints[0] ? m : k, b[1].f, ins.ints[1] ? k : n,
            0.0f, b[2].f, n, ep);
      break;
    }
    case ProgramOp::activation_forward:
      activation_forward(act, params, b[0].f, b[1].f, m);
      break;
    case ProgramOp::activation_backward:
      activation_backward(act, params, b[0].f, b[1].f, b[2].f, b[3].f, m);
      break;
    case ProgramOp::sum_over_rows:
      sum_over_rows(b[0].f, m, n, b[1].f, false);
      break;
    case ProgramOp::dropout: {
      const auto counter = static_cast<size_t>(ins.ints[0]);
      if (!ins.ints[1]) {  // forward draws a new stretch of the layer's stream
        draw_at[counter] = run.counters[counter];
        run.counters[counter] += m;
      }
      // With a mask slot the forward stores its keep bits and the backward applies them
      // (the interpreted path's two kernels); without, both hash (seed, counter).
      uint8_t* mask = reinterpret_cast<uint8_t*>(b[2].f);
      if (mask && !ins.ints[1])
        dropout_forward_mask(b[0].f, b[1].f, mask, m, ins.floats[0],
                             static_cast<uint64_t>(ins.ints[2]),
                             static_cast<uint64_t>(draw_at[counter]));
      else if (mask)
        dropout_backward_mask(b[0].f, mask, b[1].f, m, ins.floats[0]);
      else
        dropout_apply(b[0].f, b[1].f, m, ins.floats[0], static_cast<uint64_t>(ins.ints[2]),
                      static_cast<uint64_t>(draw_at[counter]));
      break;
    }
    case ProgramOp::softmax_forward:
      softmax_forward(b[0].f, b[1].f, m, n);
      break;
    case ProgramOp::softmax_cross_entropy_forward:
      softmax_cross_entropy_forward(b[0].f, b[1].f, b[2].i, m, n, b[3].f, b[4].f);
      break;
    case ProgramOp::softmax_cross_entropy_backward:
      softmax_cross_entropy_backward(b[0].f, b[1].f, b[2].i, b[3].f, m, n, b[4].f);
      break;
    case ProgramOp::categorical_crossentropy_forward:
      categorical_crossentropy_forward(b[0].f, b[1].f, b[2].i, m, n, ins.floats[0], b[3].f);
      break;
    case ProgramOp::categorical_crossentropy_backward:
      categorical_crossentropy_backward(b[0].f, b[1].f, b[2].i, b[3].f, m, n, ins.floats[0],
                                        b[4].f);
      break;
    case ProgramOp::binary_crossentropy_forward:
      binary_crossentropy_forward(b[0].f, b[1].f, m, n, ins.ints[0] != 0, ins.floats[0], b[2].f);
      break;
    case ProgramOp::binary_crossentropy_backward:
      binary_crossentropy_backward(b[0].f, b[1].f, b[2].f, m, n, ins.ints[0] != 0, ins.floats[0],
                                   b[3].f);
      break;
    case ProgramOp::mean_squared_error_forward:
      mean_squared_error_forward(b[0].f, b[1].f, m, n, b[2].f);
      break;
    case ProgramOp::mean_squared_error_backward:
      mean_squared_error_backward(b[0].f, b[1].f, b[2].f, m, n, b[3].f);
      break;
    case ProgramOp::mean_gradient: {
      // As the tape: the seed 1.0f divided by the count in float32.
      const float g = 1.0f / static_cast<float>(m);
      for (int64_t j = 0; j < m; ++j) b[0].f[j] = g;
      break;
    }
    case ProgramOp::record_loss:
      for (int64_t j = 0; j < m; ++j) run.losses[step * run.loss_width + j] = b[0].f[j];
      break;
    case ProgramOp::count_correct: {
      int64_t correct = 0;
      for (int64_t r = 0; r < m; ++r) {
        const float* p = b[0].f + r * n;
        if (ins.ints[0] == 0) {  // sparse: argmax(p) == label
          const int64_t want = b[2].i ? b[2].i[r] : argmax_row(b[1].f + r * n, n);
          correct += argmax_row(p, n) == want;
        } else if (ins.ints[0] == 1) {  // categorical: argmax(p) == argmax(target)
          correct += argmax_row(p, n) == argmax_row(b[1].f + r * n, n);
        } else {  // binary, one column: target == (p > threshold)
          correct += b[1].f[r] == (p[0] > ins.floats[0] ? 1.0f : 0.0f);
        }
      }
      run.counts[step * run.count_width + ins.ints[1]] = correct;
      break;
    }
    case ProgramOp::adam_update:
      adam_update(b[0].f, b[1].f, b[2].f, b[3].f, b[4].f, m, run.learning_rates[step],
                  ins.floats[0], ins.floats[1], ins.floats[2], run.first_step + step);
      break;
    case ProgramOp::rmsprop_update:
      rmsprop_update(b[0].f, b[1].f, b[2].f, b[3].f, b[4].f, m, run.learning_rates[step],
                     ins.floats[0], ins.floats[1], ins.floats[2]);
      break;
    case ProgramOp::sgd_update:
      sgd_update(b[0].f, b[1].f, b[2].f, m, run.learning_rates[step], ins.floats[0],
                 ins.ints[0] != 0);
      break;
    // The argmax buffers are arena floats holding int32 (max pool) or uint8 (fused) indices:
    // the kernels write and read them through the same reinterpretation.
    case ProgramOp::conv2d_forward:
      conv2d_forward(conv_at(geometry(ins), rows), b[0].f, b[1].f, b[2].f,
                     static_cast<Activation>(ins.ints[1]), params, b[3].f);
      break;
    case ProgramOp::conv2d_backward_data:
      conv2d_backward_data(conv_at(geometry(ins), rows), b[0].f, b[1].f, b[2].f);
      break;
    case ProgramOp::conv2d_backward_weights:
      conv2d_backward_weights(conv_at(geometry(ins), rows), b[0].f, b[1].f, b[2].f, b[3].f,
                              b[4].f);
      break;
    case ProgramOp::max_pool2d_forward:
      max_pool2d_forward(pool_at(geometry(ins), rows), b[0].f, b[1].f,
                         reinterpret_cast<int32_t*>(b[2].f));
      break;
    case ProgramOp::max_pool2d_backward:
      max_pool2d_backward(pool_at(geometry(ins), rows), b[0].f,
                          reinterpret_cast<const int32_t*>(b[1].f), b[2].f, b[3].f);
      break;
    case ProgramOp::conv_relu_maxpool_forward:
      conv2d_relu_maxpool_forward(conv_pool_at(geometry(ins), rows), b[0].f, b[1].f, b[2].f,
                                  b[3].f, reinterpret_cast<uint8_t*>(b[4].f));
      break;
    case ProgramOp::conv_relu_maxpool_backward_data:
      conv2d_relu_maxpool_backward_data(conv_pool_at(geometry(ins), rows), b[0].f, b[1].f,
                                        reinterpret_cast<const uint8_t*>(b[2].f), b[3].f,
                                        b[4].f);
      break;
    case ProgramOp::conv_relu_maxpool_backward_weights:
      conv2d_relu_maxpool_backward_weights(conv_pool_at(geometry(ins), rows), b[0].f, b[1].f,
                                           b[2].f, reinterpret_cast<const uint8_t*>(b[3].f),
                                           b[4].f, b[5].f);
      break;
    case ProgramOp::relu_backward_from_output:
      relu_backward_from_output(b[0].f, b[1].f, b[2].f, n);
      break;
    case ProgramOp::recurrence_forward:
    case ProgramOp::recurrence_backward:
    case ProgramOp::embedding_rows_gradient:
    case ProgramOp::adam_update_token_rows:
    case ProgramOp::embedding_shift_square_rows:
      execute_recurrence(ins, run, step, row0, rows);
      break;
    case ProgramOp::add:
    case ProgramOp::copy_columns:
      execute_graph(ins, run, step, row0, rows);
      break;
    case ProgramOp::round_to_bfloat16:
    case ProgramOp::gemm_bf16:
    case ProgramOp::conv2d_forward_bf16:
    case ProgramOp::conv2d_backward_data_bf16:
    case ProgramOp::conv2d_backward_weights_bf16:
      execute_bf16(ins, b, rows, m, n, k);
      break;
    case ProgramOp::dense_maybe_sparse_forward:
      program_sparse::dense_forward(b[0].f, b[1].f, b[3].f, b[2].f, b[4].f, m, n, k, act, params);
      break;
    case ProgramOp::dense_maybe_sparse_backward_weights:
      program_sparse::dense_backward_weights(b[0].f, b[1].f, b[2].f, b[4].f, m, n, k);
      break;
  }
  return true;
}

int64_t Program::run(const ProgramRun& run) {
  const size_t steps = run.inputs.size();
  if (run.rows.size() != steps)
    throw std::invalid_argument("program: " + std::to_string(steps) + " input batches but " +
                                std::to_string(run.rows.size()) + " row counts");
  if (run.externals.size() != run.external_sizes.size())
    throw std::invalid_argument("program: external arrays and sizes differ in number");
  for (const ProgramBuffer& b : buffers_)
    if (b.kind == ProgramBufferKind::external &&
        (b.offset >= static_cast<int64_t>(run.externals.size()) ||
         run.external_sizes[static_cast<size_t>(b.offset)] != b.fixed))
      throw std::invalid_argument(
          "program: external array " + std::to_string(b.offset) + " must have " +
          std::to_string(b.fixed) + " elements, received " +
          (b.offset < static_cast<int64_t>(run.externals.size())
               ? std::to_string(run.external_sizes[static_cast<size_t>(b.offset)])
               : std::string("none")));
  int64_t total_rows = 0;
  std::vector<int64_t> checked;
  for (size_t s = 0; s < steps; ++s) {
    const int64_t rows = run.rows[s];
    if (rows < 1 || rows > max_rows_)
      throw std::invalid_argument("program: step " + std::to_string(s) + " has " +
                                  std::to_string(rows) + " rows, expected 1 to " +
                                  std::to_string(max_rows_));
    total_rows += rows;
    bool seen = false;
    for (int64_t r : checked) seen |= r == rows;
    if (!seen) {
      check_step(run, rows);
      checked.push_back(rows);
    }
  }
  if (run.labels) {
    for (int64_t r = 0; r < total_rows; ++r)
      if (run.labels[r] < 0 || run.labels[r] >= label_classes_)
        throw std::invalid_argument("program: label " + std::to_string(run.labels[r]) +
                                    " outside the valid range [0, " +
                                    std::to_string(label_classes_) + ")");
  }
  check_ids(run);
  const bool gather = run.gather_source != nullptr;
  if (gather) {
    if (run.gather_index.size() != steps)
      throw std::invalid_argument("program: " + std::to_string(steps) + " steps but " +
                                  std::to_string(run.gather_index.size()) + " row index arrays");
    for (size_t s = 0; s < steps; ++s)
      for (int64_t r = 0; r < run.rows[s]; ++r) {
        const int64_t at = run.gather_index[s][r];
        if (at < 0 || at >= run.gather_rows)
          throw std::invalid_argument("program: row index " + std::to_string(at) +
                                      " outside the input's " + std::to_string(run.gather_rows) +
                                      " rows");
      }
    for (const ProgramBuffer& b : buffers_)
      if (b.kind == ProgramBufferKind::step_input &&
          (b.offset != 0 || b.per_row != input_per_row_))
        throw std::invalid_argument("program: a program with several inputs cannot gather");
    gathered_.resize(static_cast<size_t>(max_rows_ * input_per_row_));
  }
  ProgramRun gathered_run;
  if (gather) {
    gathered_run = run;
    gathered_run.inputs.assign(steps, gathered_.data());
  }
  const ProgramRun& use = gather ? gathered_run : run;
  std::vector<int64_t> draw_at(static_cast<size_t>(run.n_counters), 0);
  std::vector<int64_t> counters_at_step(static_cast<size_t>(run.n_counters));
  int64_t row0 = 0;
  for (size_t s = 0; s < steps; ++s) {
    const int64_t rows = run.rows[s];
    std::copy(run.counters, run.counters + run.n_counters, counters_at_step.begin());
    if (gather)  // the batch gather of fit, without the GIL: copies of whole rows
      for (int64_t r = 0; r < rows; ++r)
        std::copy_n(run.gather_source + run.gather_index[s][r] * input_per_row_, input_per_row_,
                    gathered_.data() + r * input_per_row_);
    for (size_t i = 0; i < instructions_.size(); ++i) {
      const ProgramInstruction& ins = instructions_[i];
      bool ran;
      if (timing_) {
        const auto t0 = std::chrono::steady_clock::now();
        ran = execute(ins, use, static_cast<int64_t>(s), row0, rows, draw_at);
        const double spent =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        kernel_seconds_ += spent;
        instruction_seconds_[i] += spent;
      } else {
        ran = execute(ins, use, static_cast<int64_t>(s), row0, rows, draw_at);
      }
      if (!ran) {  // stopped in the forward pass: nothing of this step stays
        std::copy(counters_at_step.begin(), counters_at_step.end(), run.counters);
        return static_cast<int64_t>(s);
      }
    }
    row0 += rows;
  }
  return static_cast<int64_t>(steps);
}

}  // namespace nnfast
