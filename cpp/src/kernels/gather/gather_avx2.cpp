// Row gathers and patch rows built for avx2: the body in gather_simd_body.h over the shared
// vector vocabulary (kernels/simd_avx2.h).
#include "kernels/simd_avx2.h"
#include "kernels/gather/gather_simd_body.h"

NNFAST_DEFINE_GATHER_SIMD(avx2)
