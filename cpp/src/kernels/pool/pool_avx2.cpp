// Pooling kernels built for avx2: max pooling hand-vectorised over the vector vocabulary
// (pool_simd_body.h), the other loops in pool_impl.h vectorised by the compiler for this
// file's instruction set.
#include "kernels/simd_avx2.h"
#include "kernels/pool/pool_simd_body.h"

NNFAST_DEFINE_POOL_SIMD(avx2)
