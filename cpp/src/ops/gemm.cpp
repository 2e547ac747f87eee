// SGEMM driver: validates arguments, brings operands to the layout the kernel wants,
// splits rows across threads and applies the bias/activation epilogue per row block.
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/gemm/gemm_kernels.h"
#include "nnfast/gemm.h"
#include "nnfast/runtime.h"
#include "ops/parallel.h"

namespace nnfast {
namespace {

std::string dims(int64_t r, int64_t c) {
  return "(" + std::to_string(r) + ", " + std::to_string(c) + ")";
}

// Copies op(X) (rows x cols as used) into a dense row-major buffer.
std::vector<float> materialize_transposed(const float* x, int64_t ldx, int64_t rows,
                                          int64_t cols) {
  std::vector<float> out(static_cast<size_t>(rows * cols));
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) out[i * cols + j] = x[j * ldx + i];
  return out;
}

}  // namespace

const char* sgemm_kernel_name() { return "f32_gemm_nn_ref"; }

void sgemm(Trans trans_a, Trans trans_b, int64_t m, int64_t n, int64_t k, float alpha,
           const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
           int64_t ldc, const GemmEpilogue& epilogue) {
  if (m < 0 || n < 0 || k < 0)
    throw std::invalid_argument("sgemm: negative dimension m=" + std::to_string(m) +
                                " n=" + std::to_string(n) + " k=" + std::to_string(k));
  const int64_t a_cols = trans_a == Trans::N ? k : m;
  const int64_t b_cols = trans_b == Trans::N ? n : k;
  if (lda < std::max<int64_t>(a_cols, 1) || ldb < std::max<int64_t>(b_cols, 1) ||
      ldc < std::max<int64_t>(n, 1))
    throw std::invalid_argument("sgemm: leading dimension too small for A " + dims(m, k) +
                                ", B " + dims(k, n) + ", C " + dims(m, n));
  if (m == 0 || n == 0) return;

  std::vector<float> a_buf, b_buf;
  if (trans_a == Trans::T) {
    a_buf = materialize_transposed(a, lda, m, k);
    a = a_buf.data();
    lda = k;
  }
  if (trans_b == Trans::T) {
    b_buf = materialize_transposed(b, ldb, k, n);
    b = b_buf.data();
    ldb = n;
  }
  log_choice("gemm", "f32_gemm_nn_ref", "only variant");
  const bool has_epilogue = epilogue.bias != nullptr || epilogue.activation != Activation::linear;
  parallel_for_rows(m, 2 * n * k, 1 << 18, [&](int64_t i0, int64_t i1) {
    kernels::f32_gemm_nn_ref(i1 - i0, n, k, alpha, a + i0 * lda, lda, b, ldb, beta,
                             c + i0 * ldc, ldc);
    if (!has_epilogue) return;
    for (int64_t i = i0; i < i1; ++i) {
      float* ci = c + i * ldc;
      if (epilogue.bias)
        for (int64_t j = 0; j < n; ++j) ci[j] += epilogue.bias[j];
      if (epilogue.activation != Activation::linear)
        activation_forward(epilogue.activation, epilogue.params, ci, ci, n);
    }
  });
}

}  // namespace nnfast
