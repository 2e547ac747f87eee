// Loss kernels built for avx512: the body in loss_simd_body.h over the shared vector vocabulary
// (kernels/simd_avx512.h).
#include "kernels/simd_avx512.h"
#include "kernels/loss/loss_simd_body.h"

NNFAST_DEFINE_LOSS_SIMD(avx512)
