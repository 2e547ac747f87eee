// Broadcast matmul: many small products over a few distinct left and right matrices
// (ops.matmul of (8, 1, 64, 96) and (12, 96, 80) stacks). Small products run on an unpacked
// register-blocked kernel (gemm_small registry: AVX-512, AVX2, scalar reference); larger
// ones on sgemm's packing driver.
#pragma once
#include <cstdint>

namespace nnfast {

// c[i] = a[a_index[i]] @ b[b_index[i]] for i < batch, where a holds a_count row-major
// (m, k) matrices back to back, b holds b_count (k, n) matrices and c holds batch (m, n)
// matrices. Indices must lie in [0, a_count) / [0, b_count) (std::invalid_argument naming
// the first one outside). Threads share the products out when each is too small to split.
void sgemm_broadcast(int64_t batch, int64_t m, int64_t n, int64_t k, const float* a,
                     int64_t a_count, const int64_t* a_index, const float* b, int64_t b_count,
                     const int64_t* b_index, float* c);

// Whether an (m, n, k) product runs on the small kernel (else on sgemm's packing driver).
bool sgemm_small_accepts(int64_t m, int64_t n, int64_t k);

// The small kernel the registry picks now, e.g. "f32_gemm_small_avx512".
const char* sgemm_small_kernel_name();

}  // namespace nnfast
