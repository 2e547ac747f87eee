// AVX-512 build of the Winograd F(2x2, 3x3) and F(4x4, 3x3) tile transforms (winograd_impl.h,
// winograd_f4_impl.h, vectorised by the compiler for this file's flags).
#include "kernels/conv/conv_kernels.h"
#include "kernels/conv/winograd_f4_impl.h"
#include "kernels/conv/winograd_impl.h"

NNFAST_DEFINE_WINOGRAD(avx512)
NNFAST_DEFINE_WINOGRAD_F4(avx512)
