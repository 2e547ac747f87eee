// The mixed_bfloat16 ops of a lowered program (ProgramOp 60-64, see nnfast/program.h): the
// rounding of a bf16-compute layer's inputs, outputs and gradients, and its bf16 GEMM and
// convolutions. Each calls the kernel the interpreted path's op calls (ops/precision.py,
// ops/nn.py Dense, ops/conv_lowp.py) with the same arguments, so both give the same bits.
#include <stdexcept>
#include <string>

#include "nnfast/conv_bf16.h"
#include "nnfast/gemm.h"
#include "nnfast/program.h"

namespace nnfast {
namespace {

Conv2DShape conv_rows(const ProgramGeometry& g, int64_t rows) {
  Conv2DShape s = g.conv;
  s.batch = rows;
  return s;
}

int64_t per_sample_in(const Conv2DShape& s) { return s.in_h * s.in_w * s.in_c; }
int64_t per_sample_out(const Conv2DShape& s) { return s.out_h * s.out_w * s.out_c; }
int64_t kernel_elements(const Conv2DShape& s) {
  return s.kernel_h * s.kernel_w * s.in_c * s.out_c;  // groups == 1 (checked when built)
}

}  // namespace

void Program::check_bf16(
    const ProgramInstruction& ins, int64_t rows,
    const std::function<void(int, int64_t, const char*, bool)>& need) const {
  const int64_t m = ins.dim_fixed[0] + ins.dim_per_row[0] * rows;
  const int64_t n = ins.dim_fixed[1] + ins.dim_per_row[1] * rows;
  const int64_t k = ins.dim_fixed[2] + ins.dim_per_row[2] * rows;
  switch (ins.op) {
    case ProgramOp::round_to_bfloat16:
      need(0, m, "source", true);
      need(1, m, "destination", true);
      return;
    case ProgramOp::gemm_bf16:
      need(0, m * k, "a", true);
      need(1, k * n, "b", true);
      need(2, m * n, "c", true);
      need(3, n, "bias", false);
      return;
    default:
      break;
  }
  const Conv2DShape c = conv_rows(geometry(ins), rows);
  if (ins.op == ProgramOp::conv2d_forward_bf16) {
    need(0, rows * per_sample_in(c), "conv input", true);
    need(1, kernel_elements(c), "conv kernel", true);
    need(2, c.out_c, "conv bias", false);
    need(3, rows * per_sample_out(c), "conv output", true);
  } else if (ins.op == ProgramOp::conv2d_backward_data_bf16) {
    need(0, rows * per_sample_out(c), "conv output gradient", true);
    need(1, kernel_elements(c), "conv kernel", true);
    need(2, rows * per_sample_in(c), "conv input gradient", true);
  } else {
    need(0, rows * per_sample_in(c), "conv input", true);
    need(1, rows * per_sample_out(c), "conv output gradient", true);
    need(2, kernel_elements(c), "conv kernel gradient", true);
    need(3, c.out_c, "conv bias gradient", false);
  }
}

void Program::execute_bf16(const ProgramInstruction& ins, const Bound* b, int64_t rows,
                           int64_t m, int64_t n, int64_t k) const {
  const ActivationParams params{ins.floats[0], ins.floats[1], ins.floats[2]};
  switch (ins.op) {
    case ProgramOp::round_to_bfloat16:
      round_to_bf16_array(b[0].f, b[1].f, m);
      break;
    case ProgramOp::gemm_bf16: {
      GemmEpilogue ep;
      ep.bias = b[3].f;
      ep.activation = static_cast<Activation>(ins.ints[2]);
      ep.params = params;
      // Leading dimensions as the binding derives them: the stored arrays' row lengths.
      gemm_bf16(ins.ints[0] ? Trans::T : Trans::N, ins.ints[1] ? Trans::T : Trans::N, m, n, k,
                1.0f, b[0].f, ins.ints[0] ? m : k, b[1].f, ins.ints[1] ? k : n, 0.0f, b[2].f, n,
                ep);
      break;
    }
    case ProgramOp::conv2d_forward_bf16:
      conv2d_forward_bf16(conv_rows(geometry(ins), rows), b[0].f, b[1].f, b[2].f,
                          static_cast<Activation>(ins.ints[1]), params, b[3].f,
                          Bf16GemmVariant::best, ins.ints[2] != 0);
      break;
    case ProgramOp::conv2d_backward_data_bf16:
      conv2d_backward_data_bf16(conv_rows(geometry(ins), rows), b[0].f, b[1].f, b[2].f,
                                Bf16GemmVariant::best, ins.ints[1] != 0);
      break;
    case ProgramOp::conv2d_backward_weights_bf16:
      conv2d_backward_weights_bf16(conv_rows(geometry(ins), rows), b[0].f, b[1].f, b[2].f,
                                   b[3].f);
      break;
    default:
      throw std::logic_error("program: op " + std::to_string(static_cast<int>(ins.op)) +
                             " is not a bf16 op");
  }
}

}  // namespace nnfast
