// Dropout built for avx512: the body in dropout_simd_body.h over the shared vector vocabulary
// (kernels/simd_avx512.h), bit-identical to the reference.
#include "kernels/simd_avx512.h"
#include "kernels/dropout/dropout_simd_body.h"

NNFAST_DEFINE_DROPOUT_SIMD(avx512)
