// Embedding gather and its scatter-add gradient. Ids are checked on the device first (one small
// read-back), so a bad id throws before anything is written, as on the CPU.
#include "common.cuh"
#include "nnfast/cuda/kernels.h"

namespace nnfast::cuda {
namespace {

// dst[i, :] = table[ids[i], :]; one thread per output element, consecutive threads along dim.
__global__ void gather_kernel(const float* __restrict__ table, int64_t dim,
                              const int64_t* __restrict__ ids, int64_t n,
                              float* __restrict__ dst) {
  const int64_t total = n * dim;
  for (int64_t e = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; e < total;
       e += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t i = e / dim, j = e - i * dim;
    dst[e] = table[ids[i] * dim + j];
  }
}

__global__ void clear_rows_kernel(const int64_t* __restrict__ ids, int64_t n, int64_t dim,
                                  float* __restrict__ dtable) {
  const int64_t total = n * dim;
  for (int64_t e = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; e < total;
       e += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t i = e / dim, j = e - i * dim;
    dtable[ids[i] * dim + j] = 0.0f;
  }
}

__global__ void scatter_add_kernel(const float* __restrict__ ddst, const int64_t* __restrict__ ids,
                                   int64_t n, int64_t dim, float* dtable) {
  const int64_t total = n * dim;
  for (int64_t e = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; e < total;
       e += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t i = e / dim, j = e - i * dim;
    atomicAdd(dtable + ids[i] * dim + j, ddst[e]);
  }
}

void check_dims(int64_t vocab, int64_t dim, int64_t n) {
  if (vocab < 1 || dim < 1 || n < 0)
    throw std::invalid_argument("embedding: expected vocab >= 1, dim >= 1, n >= 0, received " +
                                std::to_string(vocab) + ", " + std::to_string(dim) + ", " +
                                std::to_string(n));
}

void check_ids(const int64_t* ids, int64_t n, int64_t vocab) {
  const detail::BadIndex bad = detail::first_bad_index(ids, n, vocab);
  if (bad.position >= 0)
    throw std::invalid_argument("embedding: index " + std::to_string(bad.value) +
                                " at position " + std::to_string(bad.position) +
                                " is out of range [0, " + std::to_string(vocab) + ")");
}

}  // namespace

void embedding_forward(const float* table, int64_t vocab, int64_t dim, const int64_t* ids,
                       int64_t n, float* dst) {
  check_dims(vocab, dim, n);
  check_ids(ids, n, vocab);
  if (n == 0) return;
  gather_kernel<<<detail::grid_for(n * dim), detail::kThreads>>>(table, dim, ids, n, dst);
  NNFAST_CUDA_CHECK_LAUNCH("embedding gather_kernel");
}

void embedding_backward(const float* ddst, const int64_t* ids, int64_t n, int64_t dim,
                        float* dtable, int64_t vocab, const int64_t* clear_ids,
                        int64_t n_clear) {
  check_dims(vocab, dim, n);
  if (clear_ids == nullptr) n_clear = 0;
  if (n_clear < 0)
    throw std::invalid_argument("embedding: n_clear must be >= 0, received " +
                                std::to_string(n_clear));
  check_ids(clear_ids, n_clear, vocab);
  check_ids(ids, n, vocab);
  if (n_clear > 0) {
    clear_rows_kernel<<<detail::grid_for(n_clear * dim), detail::kThreads>>>(clear_ids, n_clear,
                                                                             dim, dtable);
    NNFAST_CUDA_CHECK_LAUNCH("embedding clear_rows_kernel");
  }
  if (n == 0) return;
  scatter_add_kernel<<<detail::grid_for(n * dim), detail::kThreads>>>(ddst, ids, n, dim, dtable);
  NNFAST_CUDA_CHECK_LAUNCH("embedding scatter_add_kernel");
}

}  // namespace nnfast::cuda
