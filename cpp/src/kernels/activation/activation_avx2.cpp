// Elementwise activations built for avx2: the body in activation_simd_body.h over the shared
// vector vocabulary (kernels/simd_avx2.h).
#include "kernels/simd_avx2.h"
#include "kernels/activation/activation_simd_body.h"

NNFAST_DEFINE_ACTIVATION_SIMD(avx2)
