// Sparse-input Dense kernels built for avx2: the body in sparse_simd_body.h over the shared
// vector vocabulary (kernels/simd_avx2.h).
#include "kernels/simd_avx2.h"
#include "kernels/sparse/sparse_simd_body.h"

NNFAST_DEFINE_SPARSE_SIMD(avx2)
