// Clamped epilogue built for avx2: the body in epilogue_simd_body.h over the shared vector
// vocabulary (kernels/simd_avx2.h).
#include "kernels/simd_avx2.h"
#include "kernels/activation/epilogue_simd_body.h"

NNFAST_DEFINE_CLAMP_ROWS_SIMD(avx2)
