// Sparse-input Dense kernels built for avx512: the body in sparse_simd_body.h over the shared
// vector vocabulary (kernels/simd_avx512.h).
#include "kernels/simd_avx512.h"
#include "kernels/sparse/sparse_simd_body.h"

NNFAST_DEFINE_SPARSE_SIMD(avx512)
