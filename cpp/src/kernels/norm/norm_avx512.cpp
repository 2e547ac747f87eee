// Normalization kernels built for avx512 (loops in norm_impl.h, vectorised by the compiler
// for this file's instruction set).
#include "kernels/norm/norm_impl.h"

NNFAST_DEFINE_NORM(avx512)
