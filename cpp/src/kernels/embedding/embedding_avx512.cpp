// Embedding row kernels built for avx512: the body in embedding_simd_body.h over the shared
// vector vocabulary (kernels/simd_avx512.h).
#include "kernels/simd_avx512.h"
#include "kernels/embedding/embedding_simd_body.h"

NNFAST_DEFINE_EMBEDDING_SIMD(avx512)
