// AVX2+FMA build of the direct depthwise, small-channel and fused conv + relu + max-pool
// kernels (the loops in depthwise_impl.h and conv_pool_impl.h, vectorised by the compiler for
// this file's flags).
#include "kernels/conv/conv_kernels.h"
#include "kernels/conv/conv_pool_impl.h"
#include "kernels/conv/depthwise_impl.h"

NNFAST_DEFINE_DEPTHWISE(avx2)
NNFAST_DEFINE_DIRECT_CONV(avx2)
NNFAST_DEFINE_CONV_POOL(avx2)
