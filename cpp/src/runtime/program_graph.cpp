// The graph ops of a lowered program: what functional models with several inputs add to a
// chain of layers. Add is ops.add's elementwise float32 sum (the same rounding as NumPy's);
// copy_columns is Concatenate's forward (each input's block of columns) and its backward
// (each input's block of the gradient, copied out as ops.concatenate's backward copies it).
#include <algorithm>
#include <stdexcept>
#include <string>

#include "nnfast/program.h"

namespace nnfast {

void Program::check_graph_step(size_t index, const ProgramInstruction& ins,
                               const ProgramRun& run, int64_t rows) const {
  const std::string at = "program instruction " + std::to_string(index) + " (op " +
                         std::to_string(static_cast<int>(ins.op)) + ")";
  const int64_t m = ins.dim_fixed[0] + ins.dim_per_row[0] * rows;
  const int64_t n = ins.dim_fixed[1] + ins.dim_per_row[1] * rows;
  auto need = [&](int slot, int64_t elements, const char* what) {
    if (ins.buffers[slot] < 0) throw std::invalid_argument(at + ": missing " + what);
    const int64_t have = bind(ins.buffers[slot], run, 0, 0, rows).size;
    if (have < elements)
      throw std::invalid_argument(at + ": " + what + " has " + std::to_string(have) +
                                  " elements, the call reads or writes " +
                                  std::to_string(elements));
  };
  if (ins.op == ProgramOp::add) {
    need(0, m, "first operand");
    need(1, m, "second operand");
    need(2, m, "sum");
    return;
  }
  const int64_t src_stride = ins.ints[0], dst_stride = ins.ints[1];
  const int64_t src_col = ins.ints[2], dst_col = ins.ints[3];
  if (n < 0 || src_col < 0 || dst_col < 0 || src_col + n > src_stride ||
      dst_col + n > dst_stride)
    throw std::invalid_argument(at + ": columns [" + std::to_string(src_col) + ", " +
                                std::to_string(src_col + n) + ") of rows of " +
                                std::to_string(src_stride) + " into columns [" +
                                std::to_string(dst_col) + ", " + std::to_string(dst_col + n) +
                                ") of rows of " + std::to_string(dst_stride) +
                                " do not fit");
  need(0, m * src_stride, "source");
  need(1, m * dst_stride, "destination");
}

void Program::execute_graph(const ProgramInstruction& ins, const ProgramRun& run, int64_t step,
                            int64_t row0, int64_t rows) const {
  const int64_t m = ins.dim_fixed[0] + ins.dim_per_row[0] * rows;
  const int64_t n = ins.dim_fixed[1] + ins.dim_per_row[1] * rows;
  const float* first = bind(ins.buffers[0], run, step, row0, rows).f;
  float* second = bind(ins.buffers[1], run, step, row0, rows).f;
  if (ins.op == ProgramOp::add) {
    float* out = bind(ins.buffers[2], run, step, row0, rows).f;
    for (int64_t j = 0; j < m; ++j) out[j] = first[j] + second[j];
    return;
  }
  // copy_columns: `first` is the source, `second` the destination
  for (int64_t r = 0; r < m; ++r)
    std::copy_n(first + r * ins.ints[0] + ins.ints[2], n, second + r * ins.ints[1] + ins.ints[3]);
}

}  // namespace nnfast
