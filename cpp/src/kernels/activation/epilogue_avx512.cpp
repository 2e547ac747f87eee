// Clamped epilogue built for avx512: the body in epilogue_simd_body.h over the shared vector
// vocabulary (kernels/simd_avx512.h).
#include "kernels/simd_avx512.h"
#include "kernels/activation/epilogue_simd_body.h"

NNFAST_DEFINE_CLAMP_ROWS_SIMD(avx512)
