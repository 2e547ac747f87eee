// Bilinear resize kernels built for avx2 (loops in resize_impl.h, vectorised by the
// compiler for this file's instruction set).
#include "kernels/resize/resize_impl.h"

NNFAST_DEFINE_RESIZE(avx2)
