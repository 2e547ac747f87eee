// Pooling kernels built for avx2 (loops in pool_impl.h, vectorised by the compiler for this
// file's instruction set).
#include "kernels/pool/pool_impl.h"

NNFAST_DEFINE_POOL(avx2)
