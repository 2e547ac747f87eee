#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/softmax/softmax_kernels.h"
#include "nnfast/runtime.h"
#include "nnfast/softmax.h"
#include "ops/parallel.h"
#include "runtime/dispatch.h"

namespace nnfast {
namespace {
const dispatch::Registry<kernels::SoftmaxKernels> kSoftmax{
    "softmax",
    {{Isa::avx512, "f32_softmax_avx512", &kernels::f32_softmax_avx512},
     {Isa::avx2, "f32_softmax_avx2", &kernels::f32_softmax_avx2},
     {Isa::ref, "f32_softmax_ref", &kernels::f32_softmax_ref}}};

const kernels::SoftmaxKernels& pick() { return *kSoftmax.select().fns; }
void check(int64_t rows, int64_t cols, const char* what) {
  if (rows < 0 || cols < 1)
    throw std::invalid_argument(std::string(what) + ": expected rows >= 0 and cols >= 1, got (" +
                                std::to_string(rows) + ", " + std::to_string(cols) + ")");
}
// With the vectorised kernels a thread gets at least ~0.1 ms of work (waking one costs more
// than a smaller chunk saves).
constexpr int64_t kGrain = 1 << 18;
}  // namespace

void softmax_forward(const float* src, float* dst, int64_t rows, int64_t cols) {
  check(rows, cols, "softmax");
  const kernels::SoftmaxKernels& k = pick();
  parallel_for_rows(rows, cols, kGrain, [&](int64_t r0, int64_t r1) {
    k.rows(src + r0 * cols, dst + r0 * cols, r1 - r0, cols, false);
  });
}
void log_softmax_forward(const float* src, float* dst, int64_t rows, int64_t cols) {
  check(rows, cols, "log_softmax");
  const kernels::SoftmaxKernels& k = pick();
  parallel_for_rows(rows, cols, kGrain, [&](int64_t r0, int64_t r1) {
    k.rows(src + r0 * cols, dst + r0 * cols, r1 - r0, cols, true);
  });
}
void softmax_strided(const float* src, float* dst, int64_t outer, int64_t n, int64_t inner,
                     bool log) {
  if (outer < 0 || n < 1 || inner < 1)
    throw std::invalid_argument("softmax_strided: expected outer >= 0, n >= 1, inner >= 1, got (" +
                                std::to_string(outer) + ", " + std::to_string(n) + ", " +
                                std::to_string(inner) + ")");
  const kernels::SoftmaxKernels& k = pick();
  parallel_for_rows(outer, n * inner, kGrain, [&](int64_t o0, int64_t o1) {
    std::vector<float> scratch(2 * inner);
    k.strided(src + o0 * n * inner, dst + o0 * n * inner, o1 - o0, n, inner, log, scratch.data());
  });
}
void logsumexp_rows(const float* src, float* dst, int64_t rows, int64_t cols) {
  check(rows, cols, "logsumexp");
  const kernels::SoftmaxKernels& k = pick();
  parallel_for_rows(rows, cols, kGrain, [&](int64_t r0, int64_t r1) {
    k.logsumexp_rows(src + r0 * cols, dst + r0, r1 - r0, cols);
  });
}
void softmax_backward(const float* dst, const float* ddst, float* dsrc, int64_t rows, int64_t cols) {
  check(rows, cols, "softmax_backward");
  const kernels::SoftmaxKernels& k = pick();
  parallel_for_rows(rows, cols, kGrain, [&](int64_t r0, int64_t r1) {
    k.backward_rows(dst + r0 * cols, ddst + r0 * cols, dsrc + r0 * cols, r1 - r0, cols, false);
  });
}
void log_softmax_backward(const float* dst, const float* ddst, float* dsrc, int64_t rows,
                          int64_t cols) {
  check(rows, cols, "log_softmax_backward");
  const kernels::SoftmaxKernels& k = pick();
  parallel_for_rows(rows, cols, kGrain, [&](int64_t r0, int64_t r1) {
    k.backward_rows(dst + r0 * cols, ddst + r0 * cols, dsrc + r0 * cols, r1 - r0, cols, true);
  });
}

}  // namespace nnfast
