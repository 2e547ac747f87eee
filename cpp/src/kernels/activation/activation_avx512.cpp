// Elementwise activations built for avx512: the body in activation_simd_body.h over the shared
// vector vocabulary (kernels/simd_avx512.h).
#include "kernels/simd_avx512.h"
#include "kernels/activation/activation_simd_body.h"

NNFAST_DEFINE_ACTIVATION_SIMD(avx512)
