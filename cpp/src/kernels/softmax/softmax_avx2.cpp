// Softmax kernels built for avx2 (loops in softmax_impl.h, vectorised by the compiler for this
// file's instruction set).
#include "kernels/softmax/softmax_impl.h"

NNFAST_DEFINE_SOFTMAX(avx2)
