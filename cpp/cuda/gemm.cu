// SGEMM on the device: the nnfast tiled kernel (gemm_tile.cuh) or, when built with
// NNFAST_CUBLAS, cuBLAS chosen at run time with set_gemm_backend.
#include <atomic>

#include "common.cuh"
#include "gemm_tile.cuh"
#include "nnfast/cuda/kernels.h"

#ifdef NNFAST_HAVE_CUBLAS
#include <cublas_v2.h>
#endif

namespace nnfast::cuda {
namespace {

// Row-major op(A)[row, k]: A[row, k] (k adjacent in memory) or A[k, row] (rows adjacent).
template <bool kTrans>
struct LoadA {
  static constexpr bool kFastest = !kTrans;
  const float* a;
  int64_t lda;
  __device__ __forceinline__ float operator()(int64_t row, int64_t k, int) const {
    return kTrans ? a[k * lda + row] : a[row * lda + k];
  }
};

// Row-major op(B)[k, col]: B[k, col] (columns adjacent) or B[col, k] (k adjacent).
template <bool kTrans>
struct LoadB {
  static constexpr bool kFastest = kTrans;
  const float* b;
  int64_t ldb;
  __device__ __forceinline__ float operator()(int64_t col, int64_t k, int) const {
    return kTrans ? b[col * ldb + k] : b[k * ldb + col];
  }
};

template <bool kTa, bool kTb>
void tiled(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
           int64_t ldb, const detail::TileEpilogue& ep) {
  detail::launch_tiled_sgemm(m, n, k, 1, LoadA<kTa>{a, lda}, LoadB<kTb>{b, ldb}, ep,
                             "tiled_sgemm_kernel");
}

std::atomic<int> g_backend{static_cast<int>(GemmBackend::nnfast)};

std::string dims(int64_t r, int64_t c) {
  return "(" + std::to_string(r) + ", " + std::to_string(c) + ")";
}

#ifdef NNFAST_HAVE_CUBLAS
const char* cublas_status_name(cublasStatus_t s) {
  switch (s) {
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR: return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    default: return "CUBLAS error";
  }
}

void cublas_check(cublasStatus_t s, const char* call) {
  if (s != CUBLAS_STATUS_SUCCESS)
    throw std::runtime_error(std::string("cuBLAS error in ") + call + ": " + cublas_status_name(s));
}

// NOTE: created on first use and never destroyed, like the allocator: destroying it from a
// static destructor can run after the CUDA runtime is gone.
cublasHandle_t cublas_handle() {
  static cublasHandle_t handle = [] {
    cublasHandle_t h = nullptr;
    cublas_check(cublasCreate(&h), "cublasCreate");
    // Plain FP32: no TF32 tensor-core rounding, so results compare with the CPU and nnfast.
    cublas_check(cublasSetMathMode(h, CUBLAS_DEFAULT_MATH), "cublasSetMathMode");
    return h;
  }();
  return handle;
}

// Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: swap the operands and
// keep each one's transpose flag.
void cublas_sgemm(Trans ta, Trans tb, int64_t m, int64_t n, int64_t k, float alpha,
                  const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
                  int64_t ldc) {
  const int64_t limit = 2147483647LL;
  if (m > limit || n > limit || k > limit || lda > limit || ldb > limit || ldc > limit)
    throw std::invalid_argument("sgemm (cublas): dimensions exceed 32-bit cuBLAS limits");
  cublas_check(cublasSgemm(cublas_handle(), tb == Trans::T ? CUBLAS_OP_T : CUBLAS_OP_N,
                           ta == Trans::T ? CUBLAS_OP_T : CUBLAS_OP_N, static_cast<int>(n),
                           static_cast<int>(m), static_cast<int>(k), &alpha, b,
                           static_cast<int>(ldb), a, static_cast<int>(lda), &beta, c,
                           static_cast<int>(ldc)),
               "cublasSgemm");
}
#endif

}  // namespace

bool cublas_available() {
#ifdef NNFAST_HAVE_CUBLAS
  return true;
#else
  return false;
#endif
}

void set_gemm_backend(GemmBackend backend) {
  if (backend == GemmBackend::cublas && !cublas_available())
    throw std::invalid_argument(
        "set_gemm_backend: this build has no cuBLAS (configure with NNFAST_CUBLAS=ON and a "
        "CUDA toolkit that has cuBLAS)");
  if (backend != GemmBackend::nnfast && backend != GemmBackend::cublas)
    throw std::invalid_argument("set_gemm_backend: unknown backend");
  g_backend.store(static_cast<int>(backend));
}

GemmBackend gemm_backend() { return static_cast<GemmBackend>(g_backend.load()); }

void sgemm(Trans trans_a, Trans trans_b, int64_t m, int64_t n, int64_t k, float alpha,
           const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
           int64_t ldc, const GemmEpilogue& epilogue) {
  if (m < 0 || n < 0 || k < 0)
    throw std::invalid_argument("sgemm: negative dimension m=" + std::to_string(m) +
                                " n=" + std::to_string(n) + " k=" + std::to_string(k));
  const int64_t a_cols = trans_a == Trans::N ? k : m;
  const int64_t b_cols = trans_b == Trans::N ? n : k;
  if (lda < a_cols || ldb < b_cols || ldc < n)
    throw std::invalid_argument("sgemm: leading dimension too small: lda=" + std::to_string(lda) +
                                " ldb=" + std::to_string(ldb) + " ldc=" + std::to_string(ldc) +
                                " for op(A) " + dims(m, k) + ", op(B) " + dims(k, n) + ", C " +
                                dims(m, n));
  if (epilogue.residual != nullptr && epilogue.ldr < n)
    throw std::invalid_argument("sgemm: residual row stride " + std::to_string(epilogue.ldr) +
                                " is smaller than n=" + std::to_string(n));
  if (m == 0 || n == 0) return;
  const int64_t k_used = alpha == 0.0f ? 0 : k;  // alpha == 0: A and B are not read

#ifdef NNFAST_HAVE_CUBLAS
  // cuBLAS rejects zero leading dimensions, which k == 0 produces; the tiled kernel handles it.
  if (gemm_backend() == GemmBackend::cublas && k_used > 0) {
    cublas_sgemm(trans_a, trans_b, m, n, k_used, alpha, a, lda, b, ldb, beta, c, ldc);
    detail::epilogue_rows(c, m, n, ldc, epilogue.scale, epilogue.bias, epilogue.residual,
                          epilogue.ldr, epilogue.activation, epilogue.params);
    return;
  }
#endif

  detail::TileEpilogue ep;
  ep.alpha = alpha;
  ep.beta = beta;
  ep.bias = epilogue.bias;
  ep.scale = epilogue.scale;
  ep.residual = epilogue.residual;
  ep.ldr = epilogue.ldr;
  ep.act = detail::act_params(epilogue.activation, epilogue.params);
  ep.c = c;
  ep.ldc = ldc;
  const bool ta = trans_a == Trans::T, tb = trans_b == Trans::T;
  if (!ta && !tb)
    tiled<false, false>(m, n, k_used, a, lda, b, ldb, ep);
  else if (!ta && tb)
    tiled<false, true>(m, n, k_used, a, lda, b, ldb, ep);
  else if (ta && !tb)
    tiled<true, false>(m, n, k_used, a, lda, b, ldb, ep);
  else
    tiled<true, true>(m, n, k_used, a, lda, b, ldb, ep);
}

}  // namespace nnfast::cuda
